/*
 * tests/unit/test_loader.c - the plugin loader (core/plugin_loader.c) with the fixture plugins of
 * tests/plugins/ (built into $SH_BUILD/test-plugins/, SH_BUILD defaulting to "build").
 *
 * Two levels:
 *   - in process: sh_plugins_load() on a parsed config, checking every refusal's exact message,
 *     the dependency order and the plugin's config validation (no init: that needs the whole host);
 *   - the binary: $SH_BUILD/streamhub --check-config / --list-plugins on generated YAML files,
 *     checking the exit status and that a refusal is ONE line on stderr naming the plugin and what
 *     to do. --check-config needs no database (the URL given points nowhere).
 * Tests whose inputs were not built (no fixture .so, no server binary) are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.c"
#include "core/config_yaml.c"
#include "core/log.c"
#include "core/plugin_loader.c"

#define DIRLEN 1024
static char build[DIRLEN - 64];
static char tpdir[DIRLEN];  /* $SH_BUILD/test-plugins */
static char server[DIRLEN]; /* $SH_BUILD/streamhub */
static char tmpdir[64];     /* private scratch directory (0700) */
static char err[4096];

/* ---- helpers ---------------------------------------------------------------------------------- */

static int exists(const char *p) {
    return access(p, F_OK) == 0;
}

static void so_path(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s.so", tpdir, name);
}

/* Skip the test unless every fixture named exists. */
static void need(const char *name) {
    char p[PATH_MAX];
    so_path(p, sizeof p, name);
    if (!exists(p)) {
        print_message("skipped: %s not built (make test-plugins)\n", p);
        skip();
    }
}

static void real_of(const char *name, char *out) {
    char p[PATH_MAX];
    so_path(p, sizeof p, name);
    assert_non_null(realpath(p, out));
}

/* A config whose plugin_dir is the fixtures' directory; `plugins` is the YAML of the list. */
static void make_yaml(char *out, size_t len, const char *plugins) {
    snprintf(out, len,
             "server:\n  plugin_dir: \"%s\"\n"
             "database:\n  url: \"postgresql://nobody@127.0.0.1:1/none\"\n"
             "plugins:\n%s",
             tpdir, plugins);
}

static sh_host host;

/* Parse the config and run the loader in process. Returns sh_plugins_load's status. */
static int load(const char *plugins) {
    static char yaml[8192];
    make_yaml(yaml, sizeof yaml, plugins);
    memset(&host, 0, sizeof host);
    err[0] = '\0';
    host.cfg = sh_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof err);
    if (!host.cfg) print_error("config: %s\n", err);
    assert_non_null(host.cfg);
    return sh_plugins_load(&host, err, sizeof err);
}

static void unload(void) {
    sh_plugins_fini(&host);
    sh_config_free(host.cfg);
    memset(&host, 0, sizeof host);
}

static void expect_load_err(const char *plugins, const char *want) {
    int rc = load(plugins);
    unload();
    if (rc == 0 || strcmp(err, want) != 0) print_error("got:  %s\nwant: %s\n", rc == 0 ? "(loaded)" : err, want);
    assert_int_equal(rc, -1);
    assert_string_equal(err, want);
}

static int setup_all(void **state) {
    (void)state;
    const char *b = getenv("SH_BUILD");
    snprintf(build, sizeof build, "%s", b && *b ? b : "build");
    snprintf(tpdir, sizeof tpdir, "%s/test-plugins", build);
    snprintf(server, sizeof server, "%s/streamhub", build);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/sh-test-loader-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    sh_log_set_level(SH_LL_ERROR);
    return 0;
}

static int teardown_all(void **state) {
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s 2>/dev/null; rm -rf %s", tmpdir, tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Copy a fixture into the scratch directory (as `dst` inside subdirectory `sub`) with `mode`. */
static void copy_fixture(const char *name, const char *sub, int dirmode, const char *dst, int mode, char *out) {
    char src[PATH_MAX], dir[DIRLEN];
    so_path(src, sizeof src, name);
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, sub);
    mkdir(dir, 0700);
    assert_int_equal(chmod(dir, (mode_t)dirmode), 0);
    snprintf(out, PATH_MAX, "%s/%s", dir, dst);
    FILE *in = fopen(src, "rb"), *o = fopen(out, "wb");
    assert_non_null(in);
    assert_non_null(o);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, o), n);
    fclose(in);
    fclose(o);
    assert_int_equal(chmod(out, (mode_t)mode), 0);
}

/* ---- running the binary ----------------------------------------------------------------------- */

typedef struct run_result {
    int status; /* exit status, or 128 + signal */
    char out[16384];
    char err[16384];
    int err_lines;
    char last_err_line[4096];
} run_result;

static void need_server(void) {
    if (access(server, X_OK) != 0) {
        print_message("skipped: %s not built (make server)\n", server);
        skip();
    }
}

static void slurp(const char *path, char *buf, size_t len) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f) fclose(f);
}

/* Write `yaml` to a file and run `streamhub -c FILE flag`. */
static void run(const char *yaml, const char *flag, run_result *r) {
    static int seq;
    char cfg[PATH_MAX], outp[PATH_MAX], errp[PATH_MAX];
    snprintf(cfg, sizeof cfg, "%s/config-%d.yaml", tmpdir, ++seq);
    snprintf(outp, sizeof outp, "%s/out-%d.txt", tmpdir, seq);
    snprintf(errp, sizeof errp, "%s/err-%d.txt", tmpdir, seq);
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(outp, "w", stdout) || !freopen(errp, "w", stderr)) _exit(126);
        execl(server, "streamhub", "-c", cfg, flag, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(outp, r->out, sizeof r->out);
    slurp(errp, r->err, sizeof r->err);
    r->err_lines = 0;
    r->last_err_line[0] = '\0';
    for (const char *p = r->err; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        snprintf(r->last_err_line, sizeof r->last_err_line, "%.*s", (int)l, p);
        r->err_lines++;
        p += l + (nl ? 1 : 0);
    }
}

/* A refusal: status `want_status`, exactly one line on stderr, starting with `prefix` and
 * containing `hint` (what to do). */
static void expect_refusal(const char *plugins, const char *flag, int want_status, const char *prefix,
                           const char *hint) {
    static char yaml[8192];
    static run_result r;
    make_yaml(yaml, sizeof yaml, plugins);
    run(yaml, flag, &r);
    if (r.status != want_status || r.err_lines != 1 || strncmp(r.err, prefix, strlen(prefix)) != 0 ||
        !strstr(r.err, hint))
        print_error("status %d, stderr (%d lines):\n%s\nwant status %d, one line starting \"%s\" containing \"%s\"\n",
                    r.status, r.err_lines, r.err, want_status, prefix, hint);
    assert_int_equal(r.status, want_status);
    assert_int_equal(r.err_lines, 1);
    assert_true(strncmp(r.err, prefix, strlen(prefix)) == 0);
    assert_non_null(strstr(r.err, hint));
    assert_string_equal(r.out, ""); /* nothing claims success */
}

/* ---- in process: what loads --------------------------------------------------------------------- */

static void test_loader_loads_a_good_plugin_and_validates_its_config(void **state) {
    (void)state;
    need("fixture_ok");
    assert_int_equal(load("  - name: fixture_ok\n    config:\n      greeting: hi there\n"), 0);
    assert_int_equal(host.nplugins, 1);
    sh_plugin *p = host.plugins[0];
    assert_string_equal(p->name, "fixture_ok");
    assert_string_equal(p->desc->version, "1.0.0");
    char real[PATH_MAX];
    real_of("fixture_ok", real);
    assert_string_equal(p->path, real);
    assert_string_equal(sh_cfg_s(&p->cfg, "greeting"), "hi there");
    assert_int_equal(sh_cfg_i(&p->cfg, "count"), 1); /* the declared default */
    assert_string_equal(p->cfg.path, "plugins[0].config");
    assert_ptr_equal(p->pcfg, &host.cfg->plugins[0]);
    assert_int_equal(p->initialized, 0); /* load never runs init */
    unload();
}

static void test_loader_resolves_an_explicit_path(void **state) {
    (void)state;
    need("fixture_ok");
    char yaml[PATH_MAX + 64], so[PATH_MAX];
    so_path(so, sizeof so, "fixture_ok");
    snprintf(yaml, sizeof yaml, "  - path: \"%s\"\n", so); /* the name comes from the file name */
    assert_int_equal(load(yaml), 0);
    assert_string_equal(host.plugins[0]->name, "fixture_ok");
    unload();
}

static void test_loader_orders_plugins_by_requires(void **state) {
    (void)state;
    need("fixture_ok");
    need("fixture_consumer");
    need("fixture_old_minor");
    /* the consumer is listed first but needs fixture_ok's service */
    assert_int_equal(load("  - fixture_consumer\n  - fixture_old_minor\n  - fixture_ok\n"), 0);
    assert_int_equal(host.nplugins, 3);
    assert_string_equal(host.plugins[0]->name, "fixture_old_minor"); /* ready first, config order kept */
    assert_string_equal(host.plugins[1]->name, "fixture_ok");
    assert_string_equal(host.plugins[2]->name, "fixture_consumer");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(host.plugins[i]->index, i);
    unload();
    /* independent plugins keep the config order */
    assert_int_equal(load("  - fixture_ok\n  - fixture_old_minor\n"), 0);
    assert_string_equal(host.plugins[0]->name, "fixture_ok");
    assert_string_equal(host.plugins[1]->name, "fixture_old_minor");
    unload();
}

/* The rule: a plugin whose ABI minor is <= the host's loads. fixture_old_minor is built against
 * the frozen SDK 1.0 header (tests/plugins/fixture_old_minor/sdk-1.0/), the host is newer. */
static void test_loader_loads_a_plugin_built_for_an_older_minor(void **state) {
    (void)state;
    need("fixture_old_minor");
    assert_int_equal(load("  - fixture_old_minor\n"), 0);
    const sh_plugin_desc *d = host.plugins[0]->desc;
    assert_int_equal(d->abi_major, SH_ABI_MAJOR);
    assert_int_equal(d->abi_minor, 0);
    assert_true(d->abi_minor <= SH_ABI_MINOR);
#if SH_ABI_MINOR == 0
    print_message("note: the host is at minor 0, so this only checks minor == host minor\n");
#endif
    assert_int_equal(d->size, sizeof(sh_plugin_desc)); /* the descriptor did not change in 1.x so far */
    unload();
}

/* SH_HOST_HAS, the way a plugin probes for a function added after the minor it targets: a host
 * table smaller than the current one (an older host) does not have the later functions. */
static void stub_log(sh_plugin *self, sh_log_level level, const char *fmt, ...) {
    (void)self;
    (void)level;
    (void)fmt;
}
static void stub_rate_hit(sh_plugin *self, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb, void *ud) {
    (void)self;
    (void)key;
    (void)limit;
    (void)window_ms;
    (void)cb;
    (void)ud;
}

static void test_loader_host_has_checks_the_table_size(void **state) {
    (void)state;
    static sh_host_api api;
    memset(&api, 0, sizeof api);
    api.log = stub_log;
    api.rate_hit = stub_rate_hit;
    api.size = sizeof api;
    assert_true(SH_HOST_HAS(&api, log));
    assert_true(SH_HOST_HAS(&api, rate_hit));
    assert_false(SH_HOST_HAS(&api, cfg_int)); /* in the table but NULL */
    /* a host table that ends just before rate_hit (an older host) */
    api.size = offsetof(sh_host_api, rate_hit);
    assert_false(SH_HOST_HAS(&api, rate_hit));
    assert_true(SH_HOST_HAS(&api, log));
    api.size = offsetof(sh_host_api, rate_hit) + sizeof api.rate_hit;
    assert_true(SH_HOST_HAS(&api, rate_hit));
    api.size = sizeof(size_t);
    assert_false(SH_HOST_HAS(&api, log));
}

/* ---- in process: refusals ------------------------------------------------------------------- */

static void test_loader_refuses_a_wrong_major(void **state) {
    (void)state;
    need("fixture_bad_major");
    char real[PATH_MAX], want[2 * PATH_MAX];
    real_of("fixture_bad_major", real);
    snprintf(want, sizeof want,
             "plugin fixture_bad_major: incompatible ABI: %s was built for SDK %d.0, this host provides %d.%d; rebuild "
             "it against SDK %d.x",
             real, SH_ABI_MAJOR + 1, SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR);
    expect_load_err("  - fixture_bad_major\n", want);
}

static void test_loader_refuses_a_newer_minor(void **state) {
    (void)state;
    need("fixture_new_minor");
    char real[PATH_MAX], want[2 * PATH_MAX];
    real_of("fixture_new_minor", real);
    snprintf(want, sizeof want,
             "plugin fixture_new_minor: %s needs SDK %d.%d but this host provides %d.%d; upgrade StreamHub or rebuild "
             "the plugin against SDK %d.%d",
             real, SH_ABI_MAJOR, SH_ABI_MINOR + 1, SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR, SH_ABI_MINOR);
    expect_load_err("  - fixture_new_minor\n", want);
}

static void test_loader_refuses_an_unknown_descriptor_size(void **state) {
    (void)state;
    need("fixture_bad_size");
    char real[PATH_MAX], want[2 * PATH_MAX];
    real_of("fixture_bad_size", real);
    snprintf(want, sizeof want,
             "plugin fixture_bad_size: %s has a descriptor of %zu bytes, which SDK %d.%d does not know; rebuild it "
             "against SDK %d.%d",
             real, sizeof(sh_plugin_desc) + 2 * sizeof(void *), SH_ABI_MAJOR, SH_ABI_MINOR, SH_ABI_MAJOR, SH_ABI_MINOR);
    expect_load_err("  - fixture_bad_size\n", want);
}

static void test_loader_refuses_a_library_without_the_entry_symbol(void **state) {
    (void)state;
    need("fixture_no_entry");
    char real[PATH_MAX], want[2 * PATH_MAX];
    real_of("fixture_no_entry", real);
    snprintf(want, sizeof want,
             "plugin fixture_no_entry: %s does not export sh_plugin_entry(): not a StreamHub plugin (declare it with "
             "SH_PLUGIN_EXPORT)",
             real);
    expect_load_err("  - fixture_no_entry\n", want);
}

static void test_loader_refuses_a_missing_file(void **state) {
    (void)state;
    char want[2 * PATH_MAX];
    snprintf(want, sizeof want,
             "plugin fixture_not_built: %s/fixture_not_built.so not found (No such file or directory); build it "
             "(make) or give its path in plugins[1].path",
             tpdir);
    need("fixture_ok");
    expect_load_err("  - fixture_ok\n  - fixture_not_built\n", want);
}

static void test_loader_refuses_a_file_that_is_not_a_shared_object(void **state) {
    (void)state;
    char p[PATH_MAX], yaml[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/notelf", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/notelf/text.so", tmpdir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("not an ELF file\n", f);
    fclose(f);
    chmod(p, 0644);
    snprintf(yaml, sizeof yaml, "  - {name: text, path: \"%s\"}\n", p);
    load(yaml);
    unload();
    char prefix[2 * PATH_MAX];
    snprintf(prefix, sizeof prefix, "plugin text: cannot load %s: ", p);
    assert_true(strncmp(err, prefix, strlen(prefix)) == 0);
}

static void test_loader_refuses_a_missing_dependency(void **state) {
    (void)state;
    need("fixture_needs_missing");
    expect_load_err("  - fixture_needs_missing\n",
                    "plugin fixture_needs_missing: requires service fixture_nobody 1.0, which no listed plugin "
                    "provides; add the plugin that provides it to plugins: (usually \"fixture_nobody\")");
    /* a dependency whose provider exists but is not listed */
    need("fixture_consumer");
    expect_load_err("  - fixture_consumer\n",
                    "plugin fixture_consumer: requires service fixture_ok_svc 1.1, which no listed plugin provides; "
                    "add the plugin that provides it to plugins: (usually \"fixture_ok_svc\")");
}

static void test_loader_refuses_a_dependency_cycle(void **state) {
    (void)state;
    need("fixture_cycle_a");
    need("fixture_cycle_b");
    need("fixture_ok");
    expect_load_err("  - fixture_ok\n  - fixture_cycle_a\n  - fixture_cycle_b\n",
                    "plugins fixture_cycle_a, fixture_cycle_b: their requires form a dependency cycle; remove one of "
                    "them");
}

/* Two different files whose descriptors have the same name. Listing both under that name is the
 * config's "listed twice"; listing them under other names is a name mismatch. Either way, one
 * process never holds two plugins of one name. */
static void test_loader_refuses_two_files_with_the_same_plugin_name(void **state) {
    (void)state;
    need("fixture_dup_a");
    need("fixture_dup_b");
    char a[PATH_MAX], b[PATH_MAX], ra[PATH_MAX], yaml[3 * PATH_MAX], want[2 * PATH_MAX];
    so_path(a, sizeof a, "fixture_dup_a");
    so_path(b, sizeof b, "fixture_dup_b");
    real_of("fixture_dup_a", ra);
    /* under the names the config derives from the file names */
    snprintf(yaml, sizeof yaml, "  - path: \"%s\"\n  - path: \"%s\"\n", a, b);
    snprintf(want, sizeof want,
             "plugin fixture_dup_a: %s calls itself \"fixture_dup\"; use that name in plugins[0].name", ra);
    expect_load_err(yaml, want);
    /* under the descriptors' name: refused by the config before anything is loaded */
    snprintf(yaml, sizeof yaml,
             "server: {plugin_dir: \"%s\"}\ndatabase: {url: x}\nplugins:\n  - {name: fixture_dup, path: \"%s\"}\n"
             "  - {name: fixture_dup, path: \"%s\"}\n",
             tpdir, a, b);
    sh_config *c = sh_config_parse("t.yaml", yaml, strlen(yaml), err, sizeof err);
    assert_null(c);
    assert_string_equal(err, "t.yaml:5: plugins[1]: plugin \"fixture_dup\" is listed twice (also plugins[0])");
}

/* The loader's own guard (behind the config's): the same descriptor name loaded a second time. */
static void test_loader_refuses_a_name_loaded_twice(void **state) {
    (void)state;
    need("fixture_ok");
    assert_int_equal(load("  - fixture_ok\n"), 0);
    char real[PATH_MAX], want[3 * PATH_MAX];
    real_of("fixture_ok", real);
    assert_int_equal(load_one(&host, &host.cfg->plugins[0], err, sizeof err), -1);
    snprintf(want, sizeof want, "plugin fixture_ok: loaded twice (%s and %s); list it once", real, real);
    assert_string_equal(err, want);
    assert_int_equal(host.nplugins, 1);
    unload();
}

static void test_loader_refuses_group_or_world_writable_files_and_directories(void **state) {
    (void)state;
    need("fixture_ok");
    char p[PATH_MAX], yaml[PATH_MAX + 64], want[3 * PATH_MAX];
    copy_fixture("fixture_ok", "gw", 0700, "fixture_ok.so", 0664, p);
    snprintf(yaml, sizeof yaml, "  - path: \"%s\"\n", p);
    snprintf(want, sizeof want,
             "plugin fixture_ok: refused: %s is writable by its group (anyone who can write there could run code as "
             "this server); fix with chmod go-w",
             p);
    expect_load_err(yaml, want);
    copy_fixture("fixture_ok", "ww", 0700, "fixture_ok.so", 0646, p);
    snprintf(yaml, sizeof yaml, "  - path: \"%s\"\n", p);
    snprintf(want, sizeof want,
             "plugin fixture_ok: refused: %s is writable by everyone (anyone who can write there could run code as "
             "this server); fix with chmod go-w",
             p);
    expect_load_err(yaml, want);
    /* a safe file in a directory anyone can write to (and so replace the file) */
    copy_fixture("fixture_ok", "wdir", 0777, "fixture_ok.so", 0755, p);
    snprintf(yaml, sizeof yaml, "  - path: \"%s\"\n", p);
    snprintf(want, sizeof want,
             "plugin fixture_ok: refused: %s/wdir is writable by everyone (anyone who can write there could run code "
             "as this server); fix with chmod go-w",
             tmpdir);
    expect_load_err(yaml, want);
    /* the same file once fixed loads */
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/wdir", tmpdir);
    chmod(d, 0755);
    assert_int_equal(load(yaml), 0);
    unload();
}

static void test_loader_validates_the_plugin_config_section(void **state) {
    (void)state;
    need("fixture_ok");
    expect_load_err("  - name: fixture_ok\n    config:\n      count: 101\n",
                    "t.yaml:8: plugins[0].config.count: expected an integer from 0 to 100, got \"101\"");
    expect_load_err("  - name: fixture_ok\n    config:\n      colour: red\n",
                    "t.yaml:8: plugins[0].config.colour: unknown key (expected one of: greeting, count)");
    need("fixture_old_minor"); /* declares no settings */
    assert_int_equal(load("  - name: fixture_old_minor\n    config: {x: 1}\n"), -1);
    unload();
    assert_true(strncmp(err, "t.yaml:7: plugins[0].config.x: unknown key (expected ", 53) == 0);
    assert_non_null(strstr(err, "this section takes no settings)"));
}

/* ---- the binary ------------------------------------------------------------------------------ */

static void test_check_config_ok_prints_the_plugins_in_load_order(void **state) {
    (void)state;
    need_server();
    need("fixture_ok");
    need("fixture_consumer");
    static char yaml[8192];
    static run_result r;
    make_yaml(yaml, sizeof yaml, "  - fixture_consumer\n  - fixture_ok\n");
    run(yaml, "--check-config", &r);
    if (r.status != 0) print_error("%s", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    assert_non_null(strstr(r.out, ": OK (2 plugins: fixture_ok, fixture_consumer)\n"));
}

static void test_check_config_needs_no_database(void **state) {
    (void)state;
    need_server();
    static run_result r;
    run("database: {url: \"postgresql://nobody@127.0.0.1:1/none?connect_timeout=1\"}\n", "--check-config", &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, ": OK (0 plugins: )"));
}

static void test_check_config_refuses_each_bad_plugin_with_one_line(void **state) {
    (void)state;
    need_server();
    static const struct {
        const char *fixture;
        const char *hint;
    } cases[] = {
        {"fixture_bad_major", "rebuild it against SDK"},
        {"fixture_new_minor", "upgrade StreamHub or rebuild the plugin"},
        {"fixture_bad_size", "rebuild it against SDK"},
        {"fixture_no_entry", "declare it with SH_PLUGIN_EXPORT"},
        {"fixture_needs_missing", "add the plugin that provides it to plugins:"},
        {"fixture_not_built", "build it (make) or give its path in plugins[0].path"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char plugins[128], prefix[128];
        if (strcmp(cases[i].fixture, "fixture_not_built") != 0) need(cases[i].fixture);
        snprintf(plugins, sizeof plugins, "  - %s\n", cases[i].fixture);
        snprintf(prefix, sizeof prefix, "streamhub: plugin %s: ", cases[i].fixture);
        expect_refusal(plugins, "--check-config", 1, prefix, cases[i].hint);
        expect_refusal(plugins, "--list-plugins", 1, prefix, cases[i].hint);
    }
}

static void test_check_config_refuses_a_cycle_with_one_line(void **state) {
    (void)state;
    need_server();
    need("fixture_cycle_a");
    need("fixture_cycle_b");
    expect_refusal("  - fixture_cycle_b\n  - fixture_cycle_a\n", "--check-config", 1,
                   "streamhub: plugins fixture_cycle_b, fixture_cycle_a: their requires form a dependency cycle",
                   "remove one of them");
}

static void test_check_config_refuses_duplicate_names_with_one_line(void **state) {
    (void)state;
    need_server();
    need("fixture_dup_a");
    need("fixture_dup_b");
    char a[PATH_MAX], b[PATH_MAX], plugins[3 * PATH_MAX];
    so_path(a, sizeof a, "fixture_dup_a");
    so_path(b, sizeof b, "fixture_dup_b");
    snprintf(plugins, sizeof plugins, "  - {name: fixture_dup, path: \"%s\"}\n  - {name: fixture_dup, path: \"%s\"}\n",
             a, b);
    expect_refusal(plugins, "--check-config", 2,
                   "streamhub: ", ": plugins[1]: plugin \"fixture_dup\" is listed twice (also plugins[0])");
    snprintf(plugins, sizeof plugins, "  - path: \"%s\"\n  - path: \"%s\"\n", a, b);
    expect_refusal(plugins, "--check-config", 1, "streamhub: plugin fixture_dup_a: ",
                   "calls itself \"fixture_dup\"; use that name in plugins[0].name");
}

static void test_check_config_refuses_writable_plugin_files(void **state) {
    (void)state;
    need_server();
    need("fixture_ok");
    char p[PATH_MAX], plugins[PATH_MAX + 64];
    copy_fixture("fixture_ok", "bin-gw", 0700, "fixture_ok.so", 0664, p);
    snprintf(plugins, sizeof plugins, "  - path: \"%s\"\n", p);
    expect_refusal(plugins, "--check-config", 1, "streamhub: plugin fixture_ok: refused: ", "fix with chmod go-w");
    copy_fixture("fixture_ok", "bin-ww", 0700, "fixture_ok.so", 0666, p);
    snprintf(plugins, sizeof plugins, "  - path: \"%s\"\n", p);
    expect_refusal(plugins, "--check-config", 1, "streamhub: plugin fixture_ok: refused: ", "is writable by everyone");
}

static void test_check_config_reports_a_bad_plugin_setting_with_its_yaml_path(void **state) {
    (void)state;
    need_server();
    need("fixture_ok");
    expect_refusal("  - name: fixture_ok\n    config: {greeting: \"\"}\n", "--check-config", 1,
                   "streamhub: ", ":7: plugins[0].config.greeting: expected a string of 1 to 64 bytes, got \"\"");
}

static void test_check_config_reports_config_errors_with_status_2(void **state) {
    (void)state;
    need_server();
    static run_result r;
    run("server:\n  http_port: 99999\ndatabase: {url: x}\n", "--check-config", &r);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.err_lines, 1);
    assert_non_null(strstr(r.err, ":2: server.http_port: expected an integer from 0 to 65535, got \"99999\"\n"));
    assert_true(strncmp(r.err, "streamhub: ", 11) == 0);
    run("database: {url: x}\n", "--no-such-flag", &r);
    assert_int_equal(r.status, 2);
}

/* Init failures are only seen when plugins are initialised: --list-plugins (and start-up). The
 * plugin's own error comes first, then one line from the host naming it. */
static void test_list_plugins_reports_an_init_failure(void **state) {
    (void)state;
    need_server();
    need("fixture_init_fail");
    need("fixture_ok");
    static char yaml[8192];
    static run_result r;
    make_yaml(yaml, sizeof yaml, "  - fixture_ok\n  - fixture_init_fail\n");
    run(yaml, "--list-plugins", &r);
    assert_int_equal(r.status, 1);
    assert_string_equal(r.out, "");
    assert_int_equal(r.err_lines, 2);
    assert_non_null(strstr(r.err, "ERROR fixture_init_fail: cannot start: fixture_init_fail always fails in init\n"));
    assert_string_equal(r.last_err_line, "streamhub: plugin fixture_init_fail: init failed (status -4; see the lines "
                                         "above); fix its config or remove it from plugins:");
    /* --check-config loads and validates but does not run init */
    run(yaml, "--check-config", &r);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "OK (2 plugins: fixture_ok, fixture_init_fail)"));
}

static void test_list_plugins_shows_what_each_plugin_registered(void **state) {
    (void)state;
    need_server();
    need("fixture_ok");
    need("fixture_consumer");
    need("fixture_old_minor");
    static char yaml[8192];
    static run_result r;
    make_yaml(yaml, sizeof yaml, "  - fixture_consumer\n  - fixture_ok\n  - fixture_old_minor\n");
    run(yaml, "--list-plugins", &r);
    if (r.status != 0) print_error("%s", r.err);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.err, "");
    char sdk[128];
    snprintf(sdk, sizeof sdk, "fixture_ok 1.0.0 (SDK %d.%d) - test fixture: a well-formed plugin\n", SH_ABI_MAJOR,
             SH_ABI_MINOR);
    const char *ok = strstr(r.out, sdk);
    const char *co = strstr(r.out, "fixture_consumer 1.0.0");
    const char *old = strstr(r.out, "fixture_old_minor 0.9.0 (SDK 1.0) - test fixture: built against SDK 1.0\n");
    assert_non_null(ok);
    assert_non_null(co);
    assert_non_null(old);
    assert_true(ok < co); /* load order: the provider first */
    assert_non_null(strstr(r.out, "  provides fixture_ok_svc 1.2\n"));
    assert_non_null(strstr(r.out, "  requires fixture_ok_svc 1.1\n"));
    assert_non_null(strstr(r.out, "  requires fixture_nobody 1.0 (optional)\n"));
    assert_non_null(strstr(r.out, "    route GET /fixture/ok\n"));
    assert_non_null(strstr(r.out, "    route GET /fixture/ok/echo/:value\n"));
    assert_non_null(strstr(r.out, "    route POST /fixture/ok/echo\n"));
    assert_non_null(strstr(r.out, "    route GET /fixture/consumer\n"));
    assert_non_null(strstr(r.out, "    route GET /fixture/old\n")); /* the 1.0 plugin initialised */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loader_loads_a_good_plugin_and_validates_its_config),
        cmocka_unit_test(test_loader_resolves_an_explicit_path),
        cmocka_unit_test(test_loader_orders_plugins_by_requires),
        cmocka_unit_test(test_loader_loads_a_plugin_built_for_an_older_minor),
        cmocka_unit_test(test_loader_host_has_checks_the_table_size),
        cmocka_unit_test(test_loader_refuses_a_wrong_major),
        cmocka_unit_test(test_loader_refuses_a_newer_minor),
        cmocka_unit_test(test_loader_refuses_an_unknown_descriptor_size),
        cmocka_unit_test(test_loader_refuses_a_library_without_the_entry_symbol),
        cmocka_unit_test(test_loader_refuses_a_missing_file),
        cmocka_unit_test(test_loader_refuses_a_file_that_is_not_a_shared_object),
        cmocka_unit_test(test_loader_refuses_a_missing_dependency),
        cmocka_unit_test(test_loader_refuses_a_dependency_cycle),
        cmocka_unit_test(test_loader_refuses_two_files_with_the_same_plugin_name),
        cmocka_unit_test(test_loader_refuses_a_name_loaded_twice),
        cmocka_unit_test(test_loader_refuses_group_or_world_writable_files_and_directories),
        cmocka_unit_test(test_loader_validates_the_plugin_config_section),
        cmocka_unit_test(test_check_config_ok_prints_the_plugins_in_load_order),
        cmocka_unit_test(test_check_config_needs_no_database),
        cmocka_unit_test(test_check_config_refuses_each_bad_plugin_with_one_line),
        cmocka_unit_test(test_check_config_refuses_a_cycle_with_one_line),
        cmocka_unit_test(test_check_config_refuses_duplicate_names_with_one_line),
        cmocka_unit_test(test_check_config_refuses_writable_plugin_files),
        cmocka_unit_test(test_check_config_reports_a_bad_plugin_setting_with_its_yaml_path),
        cmocka_unit_test(test_check_config_reports_config_errors_with_status_2),
        cmocka_unit_test(test_list_plugins_reports_an_init_failure),
        cmocka_unit_test(test_list_plugins_shows_what_each_plugin_registered),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
