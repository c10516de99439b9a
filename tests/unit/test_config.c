/*
 * tests/unit/test_config.c - the YAML config (core/config_yaml.c: YAML to a tree, ${ENV}
 * expansion, anchors refused; core/config.c: validation against sh_setting schemas, the core's
 * sections, the shape of `plugins:`). Every error is checked word for word where the message is
 * part of the operator's interface ("file:line: yaml.path: what was expected").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.c"
#include "core/config_yaml.c"

/* Every valid config needs database.url (required, even for --check-config). */
#define DB "database: {url: \"postgresql://u@h/db\"}\n"

static char err[2048];

static sh_config *parse(const char *yaml) {
    err[0] = '\0';
    return sh_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof err);
}

static sh_config *parse_ok(const char *yaml) {
    sh_config *c = parse(yaml);
    if (!c) print_error("unexpected config error: %s\n", err);
    assert_non_null(c);
    return c;
}

/* The config must be refused with exactly `expected`. */
static void expect_err(const char *yaml, const char *expected) {
    sh_config *c = parse(yaml);
    if (c) sh_config_free(c);
    assert_null(c);
    assert_string_equal(err, expected);
}

/* The config must be refused with a message that starts with `prefix`. */
static void expect_err_prefix(const char *yaml, const char *prefix) {
    sh_config *c = parse(yaml);
    if (c) sh_config_free(c);
    assert_null(c);
    if (strncmp(err, prefix, strlen(prefix)) != 0) print_error("got: %s\nwant prefix: %s\n", err, prefix);
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
}

static void expect_err_contains(const char *yaml, const char *part) {
    sh_config *c = parse(yaml);
    if (c) sh_config_free(c);
    assert_null(c);
    if (!strstr(err, part)) print_error("got: %s\nwant substring: %s\n", err, part);
    assert_non_null(strstr(err, part));
}

/* ---- defaults ------------------------------------------------------------------------------- */

static void test_config_minimal_file_gets_every_default(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB);
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 3000);
    assert_string_equal(sh_cfg_s(&c->server, "http_bind"), "0.0.0.0");
    assert_string_equal(sh_cfg_s(&c->server, "public_url"), "http://localhost:3000");
    assert_int_equal(sh_cfg_i(&c->server, "workers"), 0);
    assert_string_equal(sh_cfg_s(&c->server, "plugin_dir"), "build/plugins");
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), "web/dist");
    assert_int_equal(sh_csection_get(&c->server, "cors_origins")->nlist, 0);
    assert_int_equal(sh_cfg_i(&c->server, "max_body_bytes"), 1048576);
    assert_int_equal(sh_cfg_i(&c->server, "api_rate_limit"), 100);
    assert_int_equal(sh_cfg_i(&c->server, "api_rate_window_ms"), 900000);
    assert_false(sh_cfg_b(&c->server, "rate_limit_exempt_loopback"));
    assert_false(sh_cfg_b(&c->server, "trust_proxy"));
    assert_true(sh_cfg_b(&c->server, "access_log"));
    assert_int_equal(sh_cfg_i(&c->server, "shutdown_grace_ms"), 5000);
    assert_int_equal(sh_cfg_i(&c->database, "pool_size"), 4);
    assert_int_equal(sh_cfg_i(&c->database, "statement_timeout_ms"), 10000);
    assert_false(sh_cfg_b(&c->redis, "enabled"));
    assert_string_equal(sh_cfg_s(&c->redis, "host"), "127.0.0.1");
    assert_int_equal(sh_cfg_i(&c->redis, "port"), 6379);
    assert_null(sh_cfg_s(&c->redis, "password")); /* no default: absent string reads as NULL */
    assert_string_equal(sh_cfg_s(&c->redis, "prefix"), "sh:");
    assert_string_equal(sh_cfg_s(&c->log, "file"), "-");
    assert_string_equal(sh_cfg_s(&c->log, "level"), "info");
    assert_int_equal(sh_cfg_i(&c->realtime, "ping_interval_ms"), 25000);
    assert_int_equal(sh_cfg_i(&c->realtime, "output_high_water"), 4194304);
    assert_int_equal(c->nplugins, 0);
    /* given values are marked present, defaults are not */
    assert_true(sh_csection_get(&c->database, "url")->present);
    assert_false(sh_csection_get(&c->server, "http_port")->present);
    sh_config_free(c);
}

/* Each core default, written back into a file as an explicit value, gives the same value: the
 * declared defaults are valid for their own bounds. */
static void test_config_core_defaults_are_within_their_bounds(void **state) {
    (void)state;
    const sh_setting *tables[] = {sh_core_server_settings, sh_core_database_settings, sh_core_redis_settings,
                                  sh_core_log_settings, sh_core_realtime_settings};
    for (size_t t = 0; t < 5; t++)
        for (const sh_setting *st = tables[t]; st->name; st++) {
            sh_csection s;
            assert_int_equal(sh_config_section("t.yaml", NULL, "x", st, &s, err, sizeof err),
                             (st->flags & SH_CFG_REQUIRED) ? -1 : 0);
            if (!(st->flags & SH_CFG_REQUIRED)) sh_csection_free(&s);
            /* a REQUIRED setting never has a default (it would be ignored) */
            if (st->flags & SH_CFG_REQUIRED) assert_null(st->def);
        }
}

static void test_config_empty_file_only_misses_the_database_url(void **state) {
    (void)state;
    expect_err("", "t.yaml:1: database.url: missing (expected a string of 1 to 4096 bytes)");
    expect_err("# only a comment\n", "t.yaml:1: database.url: missing (expected a string of 1 to 4096 bytes)");
}

static void test_config_null_section_and_null_value_mean_defaults(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "server:\nredis: ~\nlog: null\nrealtime:\n  ping_interval_ms:\n");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 3000);
    assert_int_equal(sh_cfg_i(&c->realtime, "ping_interval_ms"), 25000);
    sh_config_free(c);
}

static void test_config_values_are_read(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "server:\n"
                               "  http_port: 8080\n"
                               "  http_bind: 127.0.0.1\n"
                               "  web_root: ''\n"
                               "  trust_proxy: yes\n"
                               "  access_log: off\n"
                               "  cors_origins:\n"
                               "    - https://a.example\n"
                               "    - \"https://b.example\"\n"
                               "redis:\n"
                               "  enabled: true\n"
                               "  password: \"p@ss: word\"\n"
                               "log: {level: WARN, file: /var/log/sh.log}\n");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 8080);
    assert_true(sh_csection_get(&c->server, "http_port")->present);
    assert_string_equal(sh_cfg_s(&c->server, "http_bind"), "127.0.0.1");
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), ""); /* quoted empty is a value, not null */
    assert_true(sh_cfg_b(&c->server, "trust_proxy"));
    assert_false(sh_cfg_b(&c->server, "access_log"));
    const sh_cvalue *co = sh_csection_get(&c->server, "cors_origins");
    assert_int_equal(co->nlist, 2);
    assert_string_equal(co->list[0], "https://a.example");
    assert_string_equal(co->list[1], "https://b.example");
    assert_null(co->list[2]);
    assert_true(sh_cfg_b(&c->redis, "enabled"));
    assert_string_equal(sh_cfg_s(&c->redis, "password"), "p@ss: word");
    assert_string_equal(sh_cfg_s(&c->log, "level"), "WARN"); /* level names are case-insensitive */
    assert_string_equal(sh_cfg_s(&c->log, "file"), "/var/log/sh.log");
    sh_config_free(c);
}

static void test_config_load_reads_a_file_and_names_it_in_errors(void **state) {
    (void)state;
    char path[] = "/tmp/sh-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = DB "server:\n  http_port: 70000\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sh_config *c = sh_config_load(path, err, sizeof err);
    assert_null(c);
    char want[256];
    snprintf(want, sizeof want, "%s:3: server.http_port: expected an integer from 0 to 65535, got \"70000\"", path);
    assert_string_equal(err, want);
    unlink(path);
    c = sh_config_load(path, err, sizeof err);
    assert_null(c);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    assert_string_equal(err, want);
}

static void test_config_shipped_example_is_valid(void **state) {
    (void)state;
    err[0] = '\0';
    /* the shipped file takes its secrets from the environment, as `make run` provides them */
    setenv("STREAMHUB_JWT_SECRET", "0123456789abcdef0123456789abcdef0123", 0);
    sh_config *c = sh_config_load("etc/streamhub.yaml", err, sizeof err);
    if (!c && strstr(err, "cannot open")) skip(); /* run from elsewhere than the repo root */
    if (!c) print_error("%s\n", err);
    assert_non_null(c);
    sh_config_free(c);
}

/* ---- unknown, wrong, out of bounds, missing ------------------------------------------------- */

static void test_config_unknown_key_is_an_error_naming_path_line_and_known_keys(void **state) {
    (void)state;
    expect_err_prefix(DB "server:\n  http_prot: 80\n",
                      "t.yaml:3: server.http_prot: unknown key (expected one of: http_port, http_bind, public_url,");
    expect_err("database:\n  url: x\n  pool: 2\n",
               "t.yaml:3: database.pool: unknown key (expected one of: url, pool_size, queue_max, connect_timeout_ms, "
               "statement_timeout_ms, queue_timeout_ms)");
    /* an unknown key wins over a bad value elsewhere: a typo never falls back to a default */
    expect_err_prefix(DB "redis:\n  port: abc\n  hots: x\n", "t.yaml:4: redis.hots: unknown key");
}

/* The line of an unknown key is the key's own line, also when its value starts on a later line. */
static void test_config_unknown_key_with_block_value_reports_the_key_line(void **state) {
    (void)state;
    expect_err_prefix(DB "server:\n  tls:\n    cert: a.pem\n", "t.yaml:3: server.tls: unknown key");
    expect_err_prefix(DB "serverz:\n  http_port: 1\n", "t.yaml:2: serverz: unknown section");
}

static void test_config_unknown_section_is_an_error(void **state) {
    (void)state;
    expect_err(DB "hls: {segment_ms: 2000}\n",
               "t.yaml:2: hls: unknown section (expected server, database, redis, log, realtime or plugins; a plugin's "
               "settings go under its entry in plugins:)");
}

static void test_config_wrong_type_is_an_error(void **state) {
    (void)state;
    expect_err(DB "server:\n  http_port: abc\n",
               "t.yaml:3: server.http_port: expected an integer from 0 to 65535, got \"abc\"");
    expect_err(DB "server:\n  http_port: 80.5\n",
               "t.yaml:3: server.http_port: expected an integer from 0 to 65535, got \"80.5\"");
    expect_err(DB "server:\n  http_port: [80]\n",
               "t.yaml:3: server.http_port: expected an integer from 0 to 65535, got a list");
    expect_err(DB "server:\n  http_bind: {a: 1}\n",
               "t.yaml:3: server.http_bind: expected a string of 1 to 255 bytes, got a map");
    expect_err(DB "server:\n  trust_proxy: maybe\n",
               "t.yaml:3: server.trust_proxy: expected a boolean (true/false), got \"maybe\"");
    expect_err(DB "server:\n  cors_origins: https://a.example\n",
               "t.yaml:3: server.cors_origins: expected a list of 0 to 256 strings");
    expect_err(DB "server:\n  cors_origins: [a, [b]]\n", "t.yaml:3: server.cors_origins[1]: expected a string");
    expect_err(DB "server: 5\n", "t.yaml:2: server: expected a map of settings");
    expect_err(DB "log: [a]\n", "t.yaml:2: log: expected a map of settings");
}

static void test_config_booleans_accept_the_yaml_spellings(void **state) {
    (void)state;
    static const char *yes[] = {"true", "True", "TRUE", "yes", "on", "1", "\"true\""};
    static const char *no[] = {"false", "False", "no", "off", "0", "'off'"};
    char buf[256];
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        snprintf(buf, sizeof buf, DB "server: {trust_proxy: %s}\n", yes[i]);
        sh_config *c = parse_ok(buf);
        assert_true(sh_cfg_b(&c->server, "trust_proxy"));
        sh_config_free(c);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        snprintf(buf, sizeof buf, DB "server: {access_log: %s}\n", no[i]);
        sh_config *c = parse_ok(buf);
        assert_false(sh_cfg_b(&c->server, "access_log"));
        sh_config_free(c);
    }
    expect_err_prefix(DB "server: {access_log: 2}\n", "t.yaml:2: server.access_log: expected a boolean");
    expect_err_prefix(DB "server: {access_log: y}\n", "t.yaml:2: server.access_log: expected a boolean");
}

static void test_config_integer_bounds_are_inclusive(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "server: {http_port: 0, max_body_bytes: 1024, max_headers: 10000}\n");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 0);
    assert_int_equal(sh_cfg_i(&c->server, "max_body_bytes"), 1024);
    assert_int_equal(sh_cfg_i(&c->server, "max_headers"), 10000);
    sh_config_free(c);
    c = parse_ok(DB "server: {http_port: 65535}\n");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 65535);
    sh_config_free(c);
    expect_err(DB "server: {http_port: 65536}\n",
               "t.yaml:2: server.http_port: expected an integer from 0 to 65535, got \"65536\"");
    expect_err(DB "server: {http_port: -1}\n",
               "t.yaml:2: server.http_port: expected an integer from 0 to 65535, got \"-1\"");
    expect_err(DB "server:\n  max_body_bytes: 1023\n",
               "t.yaml:3: server.max_body_bytes: expected an integer from 1024 to 1073741824, got \"1023\"");
    expect_err(DB "realtime:\n  max_connections: 0\n",
               "t.yaml:3: realtime.max_connections: expected an integer from 1 to 10000000, got \"0\"");
    /* beyond int64, and hex/exponent forms, are not integers */
    expect_err(DB "server: {workers: 99999999999999999999}\n",
               "t.yaml:2: server.workers: expected an integer from 0 to 256, got \"99999999999999999999\"");
    expect_err_prefix(DB "server: {workers: 0x10}\n", "t.yaml:2: server.workers: expected an integer");
    expect_err_prefix(DB "server: {workers: 1e2}\n", "t.yaml:2: server.workers: expected an integer");
    expect_err_prefix(DB "server: {workers: ''}\n", "t.yaml:2: server.workers: expected an integer");
}

static void test_config_string_length_bounds_are_bytes(void **state) {
    (void)state;
    char buf[512], s65[66];
    memset(s65, 'p', 65);
    s65[65] = '\0';
    expect_err(DB "server: {http_bind: ''}\n",
               "t.yaml:2: server.http_bind: expected a string of 1 to 255 bytes, got \"\"");
    snprintf(buf, sizeof buf, DB "redis: {prefix: %s}\n", s65);
    char want[256];
    snprintf(want, sizeof want, "t.yaml:2: redis.prefix: expected a string of 0 to 64 bytes, got \"%.60s\"", s65);
    expect_err(buf, want); /* the value is cut at 60 bytes in the message */
    s65[64] = '\0';
    snprintf(buf, sizeof buf, DB "redis: {prefix: %s}\n", s65);
    sh_config *c = parse_ok(buf);
    assert_int_equal(strlen(sh_cfg_s(&c->redis, "prefix")), 64);
    sh_config_free(c);
    /* "é" is 2 bytes: 16 of them are 32 bytes, over log.level's 16 */
    expect_err_prefix(DB "log: {level: \"éééééééééééééééé\"}\n",
                      "t.yaml:2: log.level: expected a string of 1 to 16 bytes");
}

static void test_config_secrets_are_never_echoed(void **state) {
    (void)state;
    static char buf[8192];
    char pw[1100];
    memset(pw, 's', sizeof pw - 1);
    pw[sizeof pw - 1] = '\0';
    snprintf(buf, sizeof buf, DB "redis:\n  password: %s\n", pw);
    expect_err(buf, "t.yaml:3: redis.password: expected a string of 0 to 1024 bytes, got \"(secret)\"");
    char url[4200] = "postgresql://u:";
    memset(url + strlen(url), 'x', 4100);
    url[4115] = '\0';
    snprintf(buf, sizeof buf, "database:\n  url: %s\n", url);
    expect_err(buf, "t.yaml:2: database.url: expected a string of 1 to 4096 bytes, got \"(secret)\"");
}

static void test_config_missing_required_names_the_section_line(void **state) {
    (void)state;
    expect_err("database:\n  pool_size: 2\n", "t.yaml:2: database.url: missing (expected a string of 1 to 4096 bytes)");
    expect_err("server: {http_port: 1}\n", "t.yaml:1: database.url: missing (expected a string of 1 to 4096 bytes)");
    expect_err("database:\n  url: ~\n", "t.yaml:2: database.url: missing (expected a string of 1 to 4096 bytes)");
}

static void test_config_log_level_must_be_known(void **state) {
    (void)state;
    expect_err(DB "log:\n  level: verbose\n",
               "t.yaml:3: log.level: expected debug, info, warn or error, got \"verbose\"");
    static const char *ok[] = {"debug", "info", "warn", "error", "Error"};
    char buf[128];
    for (size_t i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, DB "log: {level: %s}\n", ok[i]);
        sh_config *c = parse_ok(buf);
        sh_config_free(c);
    }
}

/* ---- YAML structure ------------------------------------------------------------------------- */

static void test_config_duplicate_key_is_an_error(void **state) {
    (void)state;
    expect_err(DB "server:\n  http_port: 1\n  http_port: 2\n", "t.yaml:4: duplicate key \"http_port\"");
    expect_err(DB "server: {}\n" DB, "t.yaml:3: duplicate key \"database\"");
    expect_err(DB "plugins:\n  - name: a\n    name: b\n", "t.yaml:4: duplicate key \"name\"");
}

static void test_config_anchors_and_aliases_are_refused(void **state) {
    (void)state;
    expect_err(DB "server: &s\n  http_port: 1\n", "t.yaml:2: anchors are not supported");
    expect_err(DB "server:\n  http_bind: &b 127.0.0.1\n", "t.yaml:3: anchors are not supported");
    expect_err(DB "server:\n  cors_origins: &l [a]\n", "t.yaml:3: anchors are not supported");
    expect_err(DB "server:\n  http_bind: *b\n", "t.yaml:3: aliases are not supported");
    /* a merge key is an alias too */
    expect_err(DB "server:\n  <<: *defaults\n", "t.yaml:3: aliases are not supported");
    /* billion laughs: refused at the first anchor, nothing is expanded */
    expect_err("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", "t.yaml:1: anchors are not supported");
}

static void test_config_nesting_depth_is_bounded(void **state) {
    (void)state;
    char buf[512] = DB "plugins:\n  - name: p\n    config:\n      k: ";
    for (int i = 0; i < 20; i++)
        strcat(buf, "[");
    for (int i = 0; i < 20; i++)
        strcat(buf, "]");
    strcat(buf, "\n");
    expect_err_contains(buf, "nesting deeper than 16 levels");
    /* the same inside a flow sequence at the top level of a section value */
    char buf2[256] = DB "server: {cors_origins: ";
    for (int i = 0; i < 40; i++)
        strcat(buf2, "[");
    expect_err_prefix(buf2, "t.yaml:2: ");
}

static void test_config_top_level_must_be_a_map(void **state) {
    (void)state;
    expect_err("- server\n- database\n", "t.yaml:1: the top level must be a map (server:, database:, plugins: ...)");
    expect_err("just text\n", "t.yaml:1: the top level must be a map (server:, database:, plugins: ...)");
}

static void test_config_syntax_error_names_the_line(void **state) {
    (void)state;
    expect_err_prefix(DB "server:\n  http_port: [1,\n", "t.yaml:4: YAML syntax error: ");
    expect_err_prefix(DB "server:\n  http_port: 1\n bad indent: 2\n", "t.yaml:4: YAML syntax error: ");
    expect_err_prefix(DB "server: {http_bind: \"unterminated}\n", "t.yaml:");
    expect_err_prefix("\t" DB, "t.yaml:1: YAML syntax error: ");
}

static void test_config_keys_must_be_scalars_and_values_without_nul(void **state) {
    (void)state;
    expect_err(DB "? [a, b]\n: 1\n", "t.yaml:2: map keys must be plain strings");
    expect_err(DB "server: {http_bind: \"a\\0b\"}\n", "t.yaml:2: value too long or contains NUL");
}

/* A second YAML document in the file would be silently ignored: it must be an error instead. */
static void test_config_second_document_is_an_error(void **state) {
    (void)state;
    expect_err(DB "---\nserver: {http_port: nope}\n", "t.yaml:2: a second YAML document; the config is one document");
    expect_err("---\n" DB "...\n---\n" DB, "t.yaml:4: a second YAML document; the config is one document");
    /* one document with explicit markers is fine */
    sh_config *c = parse_ok("%YAML 1.1\n---\n" DB "...\n");
    sh_config_free(c);
    /* and what follows the document is still parsed: a syntax error there is reported */
    expect_err_prefix(DB "...\n]\n", "t.yaml:");
}

/* ---- ${ENV} --------------------------------------------------------------------------------- */

static void test_config_env_set_is_expanded(void **state) {
    (void)state;
    setenv("SH_TCFG_PORT", "8081", 1);
    setenv("SH_TCFG_HOST", "db.internal", 1);
    setenv("SH_TCFG_PW", "s3cr3t", 1);
    sh_config *c = parse_ok("database:\n  url: \"postgresql://app:${SH_TCFG_PW}@${SH_TCFG_HOST}:5432/x\"\n"
                            "server:\n  http_port: ${SH_TCFG_PORT}\n  cors_origins: [\"https://${SH_TCFG_HOST}\"]\n");
    assert_string_equal(sh_cfg_s(&c->database, "url"), "postgresql://app:s3cr3t@db.internal:5432/x");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 8081);
    assert_string_equal(sh_csection_get(&c->server, "cors_origins")->list[0], "https://db.internal");
    sh_config_free(c);
    unsetenv("SH_TCFG_PORT");
    unsetenv("SH_TCFG_HOST");
    unsetenv("SH_TCFG_PW");
}

static void test_config_env_unset_is_an_error_with_a_hint(void **state) {
    (void)state;
    unsetenv("SH_TCFG_NOPE");
    expect_err(DB "server:\n  public_url: ${SH_TCFG_NOPE}\n",
               "t.yaml:3: environment variable SH_TCFG_NOPE is not set (write ${SH_TCFG_NOPE:-default} for a default)");
}

static void test_config_env_default_used_when_unset_or_empty(void **state) {
    (void)state;
    unsetenv("SH_TCFG_UNSET");
    setenv("SH_TCFG_EMPTY", "", 1);
    setenv("SH_TCFG_SET", "9000", 1);
    sh_config *c = parse_ok(DB "server:\n  http_port: ${SH_TCFG_UNSET:-3001}\n  workers: ${SH_TCFG_EMPTY:-3}\n"
                               "  max_headers: ${SH_TCFG_SET:-50}\n  public_url: ${SH_TCFG_UNSET:-http://h:1/a-b}\n"
                               "log:\n  file: ${SH_TCFG_UNSET:--}\n");
    assert_int_equal(sh_cfg_i(&c->server, "http_port"), 3001);
    assert_int_equal(sh_cfg_i(&c->server, "workers"), 3);
    assert_int_equal(sh_cfg_i(&c->server, "max_headers"), 9000);
    assert_string_equal(sh_cfg_s(&c->server, "public_url"), "http://h:1/a-b");
    assert_string_equal(sh_cfg_s(&c->log, "file"), "-");
    sh_config_free(c);
    /* an empty default: ${X:-} */
    c = parse_ok(DB "server:\n  web_root: \"${SH_TCFG_UNSET:-}\"\n");
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), "");
    sh_config_free(c);
    unsetenv("SH_TCFG_EMPTY");
    unsetenv("SH_TCFG_SET");
}

static void test_config_env_set_but_empty_gives_empty_string(void **state) {
    (void)state;
    setenv("SH_TCFG_EMPTY", "", 1);
    sh_config *c = parse_ok(DB "server:\n  web_root: \"${SH_TCFG_EMPTY}\"\n");
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), "");
    sh_config_free(c);
    /* an empty value where a non-empty one is needed is a plain bounds error */
    expect_err(DB "server:\n  http_bind: \"${SH_TCFG_EMPTY}\"\n",
               "t.yaml:3: server.http_bind: expected a string of 1 to 255 bytes, got \"\"");
    unsetenv("SH_TCFG_EMPTY");
}

/* Whether a value is null (= use the default) is decided by what the file says, not by what a
 * variable expands to: `web_root: ${WEB_ROOT}` with WEB_ROOT="" means "no web root", and a
 * password that happens to be "null" stays a password. */
static void test_config_env_expanding_to_empty_or_null_is_not_a_yaml_null(void **state) {
    (void)state;
    setenv("SH_TCFG_EMPTY", "", 1);
    setenv("SH_TCFG_NULLWORD", "null", 1);
    sh_config *c = parse_ok(DB "server:\n  web_root: ${SH_TCFG_EMPTY}\nredis:\n  password: ${SH_TCFG_NULLWORD}\n");
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), "");
    assert_non_null(sh_cfg_s(&c->redis, "password"));
    assert_string_equal(sh_cfg_s(&c->redis, "password"), "null");
    sh_config_free(c);
    unsetenv("SH_TCFG_EMPTY");
    unsetenv("SH_TCFG_NULLWORD");
}

static void test_config_env_is_expanded_once_and_only_in_values(void **state) {
    (void)state;
    setenv("SH_TCFG_INNER", "${SH_TCFG_OTHER}", 1);
    unsetenv("SH_TCFG_OTHER");
    sh_config *c = parse_ok(DB "server:\n  public_url: \"x${SH_TCFG_INNER}y\"\n  web_root: $HOME/a\n");
    assert_string_equal(sh_cfg_s(&c->server, "public_url"), "x${SH_TCFG_OTHER}y"); /* not expanded again */
    assert_string_equal(sh_cfg_s(&c->server, "web_root"), "$HOME/a");              /* only ${...} */
    sh_config_free(c);
    /* keys are not expanded */
    setenv("SH_TCFG_KEY", "http_port", 1);
    expect_err_prefix(DB "server:\n  ${SH_TCFG_KEY}: 1\n", "t.yaml:3: server.${SH_TCFG_KEY}: unknown key");
    unsetenv("SH_TCFG_KEY");
    unsetenv("SH_TCFG_INNER");
}

static void test_config_env_bad_syntax_is_an_error(void **state) {
    (void)state;
    expect_err(DB "server:\n  public_url: \"${SH_TCFG_X\"\n", "t.yaml:3: unterminated ${ in \"${SH_TCFG_X\"");
    expect_err(DB "server:\n  public_url: \"${}\"\n", "t.yaml:3: bad variable name in \"${}\"");
    expect_err(DB "server:\n  public_url: \"${:-x}\"\n", "t.yaml:3: bad variable name in \"${:-x}\"");
    expect_err(DB "server:\n  public_url: \"${A-B}\"\n", "t.yaml:3: bad variable name \"A-B\"");
    expect_err(DB "server:\n  public_url: \"${A B}\"\n", "t.yaml:3: bad variable name \"A B\"");
    char buf[600] = DB "server:\n  public_url: \"${";
    for (int i = 0; i < 300; i++)
        strcat(buf, "A");
    strcat(buf, "}\"\n");
    expect_err_prefix(buf, "t.yaml:3: bad variable name in ");
}

static void test_config_env_default_may_contain_colons_and_dollars(void **state) {
    (void)state;
    unsetenv("SH_TCFG_UNSET");
    sh_config *c = parse_ok(DB "server:\n  public_url: \"${SH_TCFG_UNSET:-https://h:8443/$x}\"\n");
    assert_string_equal(sh_cfg_s(&c->server, "public_url"), "https://h:8443/$x");
    sh_config_free(c);
    /* `:` without `-` is part of the name, which makes it invalid */
    expect_err(DB "server:\n  public_url: \"${SH_TCFG_UNSET:x}\"\n", "t.yaml:3: bad variable name \"SH_TCFG_UNSET:x\"");
}

/* ---- plugin sections (sh_config_section with a plugin's schema) ----------------------------- */

static const sh_setting plugin_schema[] = {
    {"segment_ms", SH_CFG_INT, "2000", 100, 60000, 0, "segment length"},
    {"ratio", SH_CFG_DOUBLE, "0.5", 0, 1, 0, NULL},
    {"title", SH_CFG_STRING, NULL, 0, 0, 0, NULL},
    {"key", SH_CFG_STRING, NULL, 8, 64, SH_CFG_REQUIRED | SH_CFG_SECRET, NULL},
    {"tags", SH_CFG_STRLIST, "a,b,c", 0, 3, 0, NULL},
    {"on", SH_CFG_BOOL, "true", 0, 0, 0, NULL},
    {"big", SH_CFG_INT, NULL, 0, 0, 0, "no bounds"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* Validate the config: of the first plugin of `yaml` against plugin_schema. */
static int plugin_section(const char *yaml, sh_config **cfgp, sh_csection *out) {
    sh_config *c = parse_ok(yaml);
    assert_true(c->nplugins >= 1);
    *cfgp = c;
    char path[64];
    snprintf(path, sizeof path, "%s.config", c->plugins[0].yaml_path);
    return sh_config_section(c->file, c->plugins[0].conf, path, plugin_schema, out, err, sizeof err);
}

static void test_config_plugin_section_defaults_and_values(void **state) {
    (void)state;
    sh_config *c;
    sh_csection s;
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config:\n      key: 0123456789\n"
                                       "      ratio: 1e-1\n      big: -9223372036854775808\n",
                                    &c, &s),
                     0);
    assert_int_equal(sh_cfg_i(&s, "segment_ms"), 2000);
    assert_true(sh_cfg_d(&s, "ratio") > 0.0999 && sh_cfg_d(&s, "ratio") < 0.1001);
    assert_null(sh_cfg_s(&s, "title"));
    assert_string_equal(sh_cfg_s(&s, "key"), "0123456789");
    assert_true(sh_cfg_b(&s, "on"));
    assert_int_equal(sh_cfg_i(&s, "big"), INT64_MIN);
    const sh_cvalue *tags = sh_csection_get(&s, "tags");
    assert_false(tags->present);
    assert_int_equal(tags->nlist, 3); /* STRLIST default: comma-separated */
    assert_string_equal(tags->list[0], "a");
    assert_string_equal(tags->list[2], "c");
    assert_int_equal(sh_csection_find(&s, "tags"), 4);
    assert_int_equal(sh_csection_find(&s, "nope"), -1);
    assert_string_equal(s.path, "plugins[0].config");
    sh_csection_free(&s);
    sh_config_free(c);
}

static void test_config_plugin_section_errors_name_the_plugin_entry(void **state) {
    (void)state;
    sh_config *c;
    sh_csection s;
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config:\n      segment_ms: 50\n", &c, &s), -1);
    assert_string_equal(err,
                        "t.yaml:5: plugins[0].config.segment_ms: expected an integer from 100 to 60000, got \"50\"");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: {}\n", &c, &s), -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.key: missing (expected a string of 8 to 64 bytes)");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n", &c, &s), -1); /* no config: at all */
    assert_string_equal(err, "t.yaml:1: plugins[0].config.key: missing (expected a string of 8 to 64 bytes)");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: {key: short}\n", &c, &s), -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.key: expected a string of 8 to 64 bytes, got \"(secret)\"");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: {key: 0123456789, ratio: 1.5}\n", &c, &s),
                     -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.ratio: expected a number from 0 to 1, got \"1.5\"");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: {key: 0123456789, ratio: nan}\n", &c, &s),
                     -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.ratio: expected a number from 0 to 1, got \"nan\"");
    sh_config_free(c);
    assert_int_equal(
        plugin_section(DB "plugins:\n  - name: p\n    config: {key: 0123456789, tags: [a, b, c, d]}\n", &c, &s), -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.tags: expected a list of 0 to 3 strings, got 4");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: [key]\n", &c, &s), -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config: expected a map of settings");
    sh_config_free(c);
    assert_int_equal(plugin_section(DB "plugins:\n  - name: p\n    config: {key: 0123456789, colour: red}\n", &c, &s),
                     -1);
    assert_string_equal(err, "t.yaml:4: plugins[0].config.colour: unknown key (expected one of: segment_ms, ratio, "
                             "title, key, tags, on, big)");
    sh_config_free(c);
}

static void test_config_section_without_settings_must_be_empty(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "plugins:\n  - name: p\n    config: {a: 1}\n  - name: q\n    config: {}\n");
    sh_csection s;
    assert_int_equal(sh_config_section(c->file, c->plugins[0].conf, "plugins[0].config", NULL, &s, err, sizeof err),
                     -1);
    assert_true(strncmp(err, "t.yaml:4: plugins[0].config.a: unknown key (expected ", 53) == 0);
    assert_non_null(strstr(err, "this section takes no settings)"));
    assert_int_equal(sh_config_section(c->file, c->plugins[1].conf, "plugins[1].config", NULL, &s, err, sizeof err), 0);
    assert_int_equal(s.n, 0);
    sh_csection_free(&s);
    sh_config_free(c);
}

static void test_config_bad_declared_default_is_reported_as_a_plugin_bug(void **state) {
    (void)state;
    static const sh_setting bad[] = {
        {"n", SH_CFG_INT, "ten", 0, 100, 0, NULL},
        {NULL, 0, NULL, 0, 0, 0, NULL},
    };
    sh_csection s;
    assert_int_equal(sh_config_section("t.yaml", NULL, "plugins[3].config", bad, &s, err, sizeof err), -1);
    assert_string_equal(err,
                        "t.yaml: plugins[3].config.n: the declared default \"ten\" is not an integer from 0 to 100 "
                        "(a bug in the plugin)");
}

/* ---- plugins: list shapes ------------------------------------------------------------------- */

static void test_config_plugins_as_names(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "plugins:\n  - auth\n  - rooms\n  - chat_2-x\n");
    assert_int_equal(c->nplugins, 3);
    assert_string_equal(c->plugins[0].name, "auth");
    assert_null(c->plugins[0].path);
    assert_null(c->plugins[0].conf);
    assert_string_equal(c->plugins[0].yaml_path, "plugins[0]");
    assert_int_equal(c->plugins[0].line, 3);
    assert_string_equal(c->plugins[2].name, "chat_2-x");
    assert_string_equal(c->plugins[2].yaml_path, "plugins[2]");
    assert_int_equal(c->plugins[2].line, 5);
    sh_config_free(c);
    c = parse_ok(DB "plugins: [a, b]\n");
    assert_int_equal(c->nplugins, 2);
    sh_config_free(c);
    c = parse_ok(DB "plugins: []\n");
    assert_int_equal(c->nplugins, 0);
    sh_config_free(c);
    c = parse_ok(DB "plugins:\n");
    assert_int_equal(c->nplugins, 0);
    sh_config_free(c);
}

static void test_config_plugins_as_maps(void **state) {
    (void)state;
    sh_config *c = parse_ok(DB "plugins:\n"
                               "  - name: hls\n"
                               "    config:\n"
                               "      segment_ms: 2000\n"
                               "  - {name: x, path: /opt/sh/x.so}\n"
                               "  - path: /opt/sh/libhello.so\n"
                               "  - path: plugins/greet.v2.so\n"
                               "  - {name: y, path: ''}\n");
    assert_int_equal(c->nplugins, 5);
    assert_string_equal(c->plugins[0].name, "hls");
    assert_non_null(c->plugins[0].conf);
    assert_int_equal(c->plugins[0].conf->type, SH_CN_MAP);
    assert_string_equal(c->plugins[1].name, "x");
    assert_string_equal(c->plugins[1].path, "/opt/sh/x.so");
    assert_string_equal(c->plugins[2].name, "hello"); /* derived: lib prefix and extension dropped */
    assert_string_equal(c->plugins[2].path, "/opt/sh/libhello.so");
    assert_string_equal(c->plugins[3].name, "greet");
    assert_string_equal(c->plugins[4].name, "y");
    assert_null(c->plugins[4].path); /* empty path = resolve the name in plugin_dir */
    sh_config_free(c);
}

static void test_config_plugins_bad_shapes_are_errors(void **state) {
    (void)state;
    expect_err(DB "plugins: auth\n", "t.yaml:2: plugins: expected a list of plugin names or {name, path, config} maps");
    expect_err(DB "plugins: {auth: {}}\n",
               "t.yaml:2: plugins: expected a list of plugin names or {name, path, config} maps");
    expect_err(DB "plugins:\n  - [auth]\n",
               "t.yaml:3: plugins[0]: expected a plugin name or a {name, path, config} map");
    expect_err(DB "plugins:\n  - a\n  - name: b\n    settings: {}\n",
               "t.yaml:5: plugins[1].settings: unknown key (expected name, path or config)");
    expect_err(DB "plugins:\n  - name: [b]\n", "t.yaml:3: plugins[0]: name and path must be strings");
    expect_err(DB "plugins:\n  - {name: b, path: {a: 1}}\n", "t.yaml:3: plugins[0]: name and path must be strings");
    expect_err(DB "plugins:\n  - config: {a: 1}\n",
               "t.yaml:3: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"\"");
    expect_err(DB "plugins:\n  - Auth\n",
               "t.yaml:3: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"Auth\"");
    expect_err(DB "plugins:\n  - ../evil\n",
               "t.yaml:3: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"../evil\"");
    expect_err(DB "plugins:\n  - \"\"\n", "t.yaml:3: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"\"");
    expect_err(DB "plugins:\n  - path: /opt/sh/My.Plugin.so\n",
               "t.yaml:3: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"My\"");
    char buf[256], name[66];
    memset(name, 'a', 65);
    name[65] = '\0';
    snprintf(buf, sizeof buf, DB "plugins: [%s]\n", name);
    expect_err_prefix(buf, "t.yaml:2: plugins[0].name: expected a plugin name of [a-z0-9_-], got \"aaaa");
    name[64] = '\0';
    snprintf(buf, sizeof buf, DB "plugins: [%s]\n", name);
    sh_config *c = parse_ok(buf); /* 64 is the longest */
    sh_config_free(c);
}

static void test_config_plugin_listed_twice_is_an_error(void **state) {
    (void)state;
    expect_err(DB "plugins:\n  - a\n  - b\n  - a\n",
               "t.yaml:5: plugins[2]: plugin \"a\" is listed twice (also plugins[0])");
    expect_err(DB "plugins:\n  - a\n  - {name: a, path: /x/other.so}\n",
               "t.yaml:4: plugins[1]: plugin \"a\" is listed twice (also plugins[0])");
    /* also when one of the names is derived from a path */
    expect_err(DB "plugins:\n  - path: /x/liba.so\n  - a\n",
               "t.yaml:4: plugins[1]: plugin \"a\" is listed twice (also plugins[0])");
    expect_err(DB "plugins:\n  - path: /x/a.so\n  - path: /y/a.so\n",
               "t.yaml:4: plugins[1]: plugin \"a\" is listed twice (also plugins[0])");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_minimal_file_gets_every_default),
        cmocka_unit_test(test_config_core_defaults_are_within_their_bounds),
        cmocka_unit_test(test_config_empty_file_only_misses_the_database_url),
        cmocka_unit_test(test_config_null_section_and_null_value_mean_defaults),
        cmocka_unit_test(test_config_values_are_read),
        cmocka_unit_test(test_config_load_reads_a_file_and_names_it_in_errors),
        cmocka_unit_test(test_config_shipped_example_is_valid),
        cmocka_unit_test(test_config_unknown_key_is_an_error_naming_path_line_and_known_keys),
        cmocka_unit_test(test_config_unknown_key_with_block_value_reports_the_key_line),
        cmocka_unit_test(test_config_unknown_section_is_an_error),
        cmocka_unit_test(test_config_wrong_type_is_an_error),
        cmocka_unit_test(test_config_booleans_accept_the_yaml_spellings),
        cmocka_unit_test(test_config_integer_bounds_are_inclusive),
        cmocka_unit_test(test_config_string_length_bounds_are_bytes),
        cmocka_unit_test(test_config_secrets_are_never_echoed),
        cmocka_unit_test(test_config_missing_required_names_the_section_line),
        cmocka_unit_test(test_config_log_level_must_be_known),
        cmocka_unit_test(test_config_duplicate_key_is_an_error),
        cmocka_unit_test(test_config_anchors_and_aliases_are_refused),
        cmocka_unit_test(test_config_nesting_depth_is_bounded),
        cmocka_unit_test(test_config_top_level_must_be_a_map),
        cmocka_unit_test(test_config_syntax_error_names_the_line),
        cmocka_unit_test(test_config_keys_must_be_scalars_and_values_without_nul),
        cmocka_unit_test(test_config_second_document_is_an_error),
        cmocka_unit_test(test_config_env_set_is_expanded),
        cmocka_unit_test(test_config_env_unset_is_an_error_with_a_hint),
        cmocka_unit_test(test_config_env_default_used_when_unset_or_empty),
        cmocka_unit_test(test_config_env_set_but_empty_gives_empty_string),
        cmocka_unit_test(test_config_env_expanding_to_empty_or_null_is_not_a_yaml_null),
        cmocka_unit_test(test_config_env_is_expanded_once_and_only_in_values),
        cmocka_unit_test(test_config_env_bad_syntax_is_an_error),
        cmocka_unit_test(test_config_env_default_may_contain_colons_and_dollars),
        cmocka_unit_test(test_config_plugin_section_defaults_and_values),
        cmocka_unit_test(test_config_plugin_section_errors_name_the_plugin_entry),
        cmocka_unit_test(test_config_section_without_settings_must_be_empty),
        cmocka_unit_test(test_config_bad_declared_default_is_reported_as_a_plugin_bug),
        cmocka_unit_test(test_config_plugins_as_names),
        cmocka_unit_test(test_config_plugins_as_maps),
        cmocka_unit_test(test_config_plugins_bad_shapes_are_errors),
        cmocka_unit_test(test_config_plugin_listed_twice_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
