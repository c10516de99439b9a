/*
 * config.c - validation of the parsed YAML tree against declared settings, the core's own
 * schemas, and the shape of the `plugins:` list (see config.h).
 */
#include "core/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

sh_cnode *sh_yaml_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void sh_cnode_free(sh_cnode *n);

/* ---- the core's schemas -------------------------------------------------------------------- */
const sh_setting sh_core_server_settings[] = {
    {"http_port", SH_CFG_INT, "3000", 0, 65535, 0, "HTTP port for the app, REST, Socket.IO, HLS (0 = any free port)"},
    {"http_bind", SH_CFG_STRING, "0.0.0.0", 1, 255, 0, "address to listen on"},
    {"public_url", SH_CFG_STRING, "http://localhost:3000", 1, 1024, 0, "how browsers reach this server"},
    {"workers", SH_CFG_INT, "0", 0, 256, 0, "worker threads (0 = one per CPU this process may use, at least 2)"},
    {"worker_nice", SH_CFG_INT, "10", 0, 19, 0, "niceness of worker threads above the event loop's (0 = same priority)"},
    {"plugin_dir", SH_CFG_STRING, "build/plugins", 1, 4096, 0, "where plugin names are resolved"},
    {"web_root", SH_CFG_STRING, "web/dist", 0, 4096, 0, "static files of the web app (empty = none)"},
    {"cors_origins", SH_CFG_STRLIST, "", 0, 256, 0, "origins allowed to call the API with credentials"},
    {"max_body_bytes", SH_CFG_INT, "1048576", 1024, 1073741824, 0, "largest request body (413 beyond)"},
    {"max_uri_bytes", SH_CFG_INT, "4096", 256, 8000, 0, "longest request URI (414 beyond; libevhtp parses at most 8 KiB)"},
    {"max_header_bytes", SH_CFG_INT, "8000", 1024, 8000, 0, "largest single header line (431 beyond; libevhtp parses at most 8 KiB)"},
    {"max_headers", SH_CFG_INT, "100", 8, 10000, 0, "most headers in one request (431 beyond)"},
    {"read_timeout_ms", SH_CFG_INT, "15000", 100, 3600000, 0, "a client that sends nothing this long is closed"},
    {"write_timeout_ms", SH_CFG_INT, "30000", 100, 3600000, 0, "a client that reads nothing this long is closed"},
    {"max_keepalive_requests", SH_CFG_INT, "1000", 1, 10000000, 0, "requests per keep-alive connection"},
    {"api_rate_limit", SH_CFG_INT, "100", 0, 100000000, 0, "requests per window per IP on /api (0 = off)"},
    {"api_rate_window_ms", SH_CFG_INT, "900000", 1000, 86400000, 0, "window of api_rate_limit"},
    {"rate_limit_exempt_loopback", SH_CFG_BOOL, "false", 0, 0, 0, "exempt 127.0.0.1/::1 from IP limits (tests, benchmarks)"},
    {"trust_proxy", SH_CFG_BOOL, "false", 0, 0, 0, "take the client address from X-Forwarded-For"},
    {"access_log", SH_CFG_BOOL, "true", 0, 0, 0, "one log line per HTTP request"},
    {"shutdown_grace_ms", SH_CFG_INT, "5000", 0, 600000, 0, "how long SIGTERM waits for work in flight"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

const sh_setting sh_core_database_settings[] = {
    {"url", SH_CFG_STRING, NULL, 1, 4096, SH_CFG_REQUIRED | SH_CFG_SECRET, "libpq connection URI"},
    {"pool_size", SH_CFG_INT, "4", 1, 256, 0, "connections per node"},
    {"queue_max", SH_CFG_INT, "10000", 1, 10000000, 0, "queries waiting for a connection, at most"},
    {"connect_timeout_ms", SH_CFG_INT, "3000", 100, 600000, 0, "one connection attempt"},
    {"statement_timeout_ms", SH_CFG_INT, "10000", 0, 3600000, 0, "0 = none"},
    {"queue_timeout_ms", SH_CFG_INT, "2000", 10, 600000, 0, "a query waiting longer for a connection fails (503)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

const sh_setting sh_core_redis_settings[] = {
    {"enabled", SH_CFG_BOOL, "false", 0, 0, 0, "use Redis (needed for several nodes)"},
    {"host", SH_CFG_STRING, "127.0.0.1", 1, 4096, 0, "host, or a unix socket path"},
    {"port", SH_CFG_INT, "6379", 1, 65535, 0, NULL},
    {"password", SH_CFG_STRING, NULL, 0, 1024, SH_CFG_SECRET, NULL},
    {"db", SH_CFG_INT, "0", 0, 1024, 0, NULL},
    {"prefix", SH_CFG_STRING, "sh:", 0, 64, 0, "prefix of every key and channel"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

const sh_setting sh_core_log_settings[] = {
    {"file", SH_CFG_STRING, "-", 1, 4096, 0, "log file (- = stderr); reopened on SIGHUP"},
    {"level", SH_CFG_STRING, "info", 1, 16, 0, "debug, info, warn or error"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

const sh_setting sh_core_realtime_settings[] = {
    {"ping_interval_ms", SH_CFG_INT, "25000", 50, 3600000, 0, "Engine.IO pingInterval"},
    {"ping_timeout_ms", SH_CFG_INT, "20000", 50, 3600000, 0, "Engine.IO pingTimeout"},
    {"max_payload", SH_CFG_INT, "1000000", 1024, 104857600, 0, "largest Engine.IO payload / WebSocket message"},
    {"connect_timeout_ms", SH_CFG_INT, "45000", 100, 600000, 0, "Socket.IO CONNECT deadline"},
    {"connections_per_ip_per_minute", SH_CFG_INT, "10", 0, 1000000, 0, "new connections per IP per minute (0 = off)"},
    {"max_connections", SH_CFG_INT, "100000", 1, 10000000, 0, "global connection cap"},
    {"packets_per_second", SH_CFG_INT, "50", 1, 1000000, 0, "per-socket packet rate"},
    {"output_high_water", SH_CFG_INT, "4194304", 4096, 1073741824, 0, "bytes queued to a client before it is dropped"},
    {"verify_tokens", SH_CFG_BOOL, "true", 0, 0, 0,
     "check the `token` of the CONNECT auth payload through the auth service (false: test-only conformance mode)"},
    {"conformance_echo_path", SH_CFG_STRING, NULL, 0, 256, 0,
     "test only: a raw Engine.IO echo endpoint (e.g. /engine.io/) for the public protocol test suites"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* ---- helpers ----------------------------------------------------------------------------- */
static const char *type_name(sh_cfg_type t) {
    switch (t) {
    case SH_CFG_BOOL: return "a boolean (true/false)";
    case SH_CFG_INT: return "an integer";
    case SH_CFG_DOUBLE: return "a number";
    case SH_CFG_STRING: return "a string";
    case SH_CFG_STRLIST: return "a list of strings";
    }
    return "?";
}

static int is_null(const sh_cnode *n) {
    return n && n->type == SH_CN_SCALAR && n->plain &&
           (!n->scalar[0] || strcmp(n->scalar, "~") == 0 || strcasecmp(n->scalar, "null") == 0);
}

static int parse_bool(const char *s, int *out) {
    static const char *t[] = {"true", "yes", "on", "1"}, *f[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, f[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int parse_int(const char *s, int64_t *out) {
    if (!*s || !(*s == '-' || (*s >= '0' && *s <= '9'))) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out) {
    if (!*s || !(*s == '-' || *s == '.' || (*s >= '0' && *s <= '9'))) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static void bounds_text(const sh_setting *st, char *buf, size_t len) {
    if (st->min == 0 && st->max == 0) {
        snprintf(buf, len, "%s", type_name(st->type));
        return;
    }
    switch (st->type) {
    case SH_CFG_INT: snprintf(buf, len, "an integer from %.0f to %.0f", st->min, st->max); break;
    case SH_CFG_DOUBLE: snprintf(buf, len, "a number from %g to %g", st->min, st->max); break;
    case SH_CFG_STRING: snprintf(buf, len, "a string of %.0f to %.0f bytes", st->min, st->max); break;
    case SH_CFG_STRLIST: snprintf(buf, len, "a list of %.0f to %.0f strings", st->min, st->max); break;
    default: snprintf(buf, len, "%s", type_name(st->type));
    }
}

static int value_from_text(const sh_setting *st, const char *text, sh_cvalue *v) {
    switch (st->type) {
    case SH_CFG_BOOL: return parse_bool(text, &v->b);
    case SH_CFG_INT:
        if (parse_int(text, &v->i) < 0) return -1;
        if ((st->min != 0 || st->max != 0) && ((double)v->i < st->min || (double)v->i > st->max)) return -1;
        return 0;
    case SH_CFG_DOUBLE:
        if (parse_double(text, &v->d) < 0) return -1;
        if ((st->min != 0 || st->max != 0) && (v->d < st->min || v->d > st->max)) return -1;
        return 0;
    case SH_CFG_STRING: {
        size_t l = strlen(text);
        if ((st->min != 0 || st->max != 0) && ((double)l < st->min || (double)l > st->max)) return -1;
        v->s = text;
        return 0;
    }
    case SH_CFG_STRLIST: return -1;
    }
    return -1;
}

static void free_list(sh_cvalue *v) {
    if (v->list) {
        for (size_t i = 0; i < v->nlist; i++) free((char *)v->list[i]);
        free(v->list);
    }
    v->list = NULL;
    v->nlist = 0;
}

static int list_from_csv(const char *csv, sh_cvalue *v) {
    v->list = NULL;
    v->nlist = 0;
    if (!csv || !*csv) return 0;
    const char *p = csv;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        const char **nl = realloc(v->list, (v->nlist + 2) * sizeof *nl);
        if (!nl) return -1;
        v->list = nl;
        v->list[v->nlist] = strndup(p, l);
        if (!v->list[v->nlist]) return -1;
        v->nlist++;
        v->list[v->nlist] = NULL;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

int sh_config_section(const char *file, const sh_cnode *node, const char *path, const sh_setting *schema,
                      sh_csection *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    out->schema = schema;
    out->path = strdup(path);
    while (schema && schema[out->n].name) out->n++;
    out->vals = calloc(out->n + 1, sizeof *out->vals);
    if (!out->vals || !out->path) goto nomem;
    if (node && is_null(node)) node = NULL;
    if (node && node->type != SH_CN_MAP) {
        snprintf(err, errlen, "%s:%d: %s: expected a map of settings", file, node->line, path);
        goto fail;
    }
    /* unknown keys first: a typo must never silently fall back to a default */
    for (size_t k = 0; node && k < node->n; k++) {
        size_t i;
        for (i = 0; i < out->n; i++)
            if (strcmp(schema[i].name, node->keys[k]) == 0) break;
        if (i == out->n) {
            char known[1024] = "";
            size_t kl = 0;
            for (size_t j = 0; j < out->n && kl < sizeof known - 64; j++)
                kl += (size_t)snprintf(known + kl, sizeof known - kl, "%s%s", j ? ", " : "", schema[j].name);
            int kl2 = node->key_lines ? node->key_lines[k] : node->items[k]->line;
            if (out->n)
                snprintf(err, errlen, "%s:%d: %s.%s: unknown key (expected one of: %s)", file, kl2, path, node->keys[k],
                         known);
            else
                snprintf(err, errlen, "%s:%d: %s.%s: unknown key (expected nothing: this section takes no settings)", file, kl2, path,
                         node->keys[k]);
            goto fail;
        }
    }
    for (size_t i = 0; i < out->n; i++) {
        const sh_setting *st = &schema[i];
        sh_cvalue *v = &out->vals[i];
        const sh_cnode *vn = NULL;
        for (size_t k = 0; node && k < node->n; k++)
            if (strcmp(node->keys[k], st->name) == 0) vn = node->items[k];
        char want[128];
        bounds_text(st, want, sizeof want);
        if (vn && !is_null(vn)) {
            v->present = 1;
            if (st->type == SH_CFG_STRLIST) {
                if (vn->type != SH_CN_SEQ) {
                    snprintf(err, errlen, "%s:%d: %s.%s: expected %s", file, vn->line, path, st->name, want);
                    goto fail;
                }
                v->list = calloc(vn->n + 1, sizeof *v->list);
                if (!v->list) goto nomem;
                for (size_t j = 0; j < vn->n; j++) {
                    if (vn->items[j]->type != SH_CN_SCALAR || is_null(vn->items[j])) {
                        snprintf(err, errlen, "%s:%d: %s.%s[%zu]: expected a string", file, vn->items[j]->line, path,
                                 st->name, j);
                        goto fail;
                    }
                    v->list[v->nlist++] = strdup(vn->items[j]->scalar);
                }
                if ((st->min != 0 || st->max != 0) && ((double)v->nlist < st->min || (double)v->nlist > st->max)) {
                    snprintf(err, errlen, "%s:%d: %s.%s: expected %s, got %zu", file, vn->line, path, st->name, want,
                             v->nlist);
                    goto fail;
                }
                continue;
            }
            if (vn->type != SH_CN_SCALAR || value_from_text(st, vn->scalar, v) < 0) {
                snprintf(err, errlen, "%s:%d: %s.%s: expected %s, got %s%.60s%s", file, vn->line, path, st->name, want,
                         vn->type == SH_CN_SCALAR ? "\"" : "", vn->type == SH_CN_SCALAR
                             ? ((st->flags & SH_CFG_SECRET) ? "(secret)" : vn->scalar)
                             : (vn->type == SH_CN_MAP ? "a map" : "a list"),
                         vn->type == SH_CN_SCALAR ? "\"" : "");
                goto fail;
            }
        } else if (st->flags & SH_CFG_REQUIRED) {
            snprintf(err, errlen, "%s:%d: %s.%s: missing (expected %s)", file, node ? node->line : 1, path, st->name,
                     want);
            goto fail;
        } else if (st->type == SH_CFG_STRLIST) {
            if (list_from_csv(st->def, v) < 0) goto nomem;
        } else if (st->def) {
            if (value_from_text(st, st->def, v) < 0) {
                snprintf(err, errlen, "%s: %s.%s: the declared default \"%s\" is not %s (a bug in the plugin)", file,
                         path, st->name, st->def, want);
                goto fail;
            }
        }
    }
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory", file);
fail:
    sh_csection_free(out);
    return -1;
}

void sh_csection_free(sh_csection *s) {
    for (size_t i = 0; s->vals && i < s->n; i++) free_list(&s->vals[i]);
    free(s->vals);
    free(s->path);
    memset(s, 0, sizeof *s);
}

int sh_csection_find(const sh_csection *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->schema[i].name, name) == 0) return (int)i;
    return -1;
}

const sh_cvalue *sh_csection_get(const sh_csection *s, const char *name) {
    int i = sh_csection_find(s, name);
    if (i < 0) {
        fprintf(stderr, "streamhub: setting \"%s\" of section %s was never declared (a bug)\n", name,
                s->path ? s->path : "?");
        abort();
    }
    return &s->vals[i];
}

int64_t sh_cfg_i(const sh_csection *s, const char *name) { return sh_csection_get(s, name)->i; }
double sh_cfg_d(const sh_csection *s, const char *name) { return sh_csection_get(s, name)->d; }
int sh_cfg_b(const sh_csection *s, const char *name) { return sh_csection_get(s, name)->b; }
const char *sh_cfg_s(const sh_csection *s, const char *name) { return sh_csection_get(s, name)->s; }

/* ---- whole file -------------------------------------------------------------------------- */
static const sh_cnode *map_get(const sh_cnode *m, const char *key) {
    for (size_t i = 0; m && m->type == SH_CN_MAP && i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0) return m->items[i];
    return NULL;
}

static int valid_plugin_name(const char *s) {
    if (!*s || strlen(s) > 64) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-')) return 0;
    return 1;
}

static int parse_plugins(sh_config *cfg, const sh_cnode *list, char *err, size_t errlen) {
    if (!list || is_null(list)) return 0;
    if (list->type != SH_CN_SEQ) {
        snprintf(err, errlen, "%s:%d: plugins: expected a list of plugin names or {name, path, config} maps", cfg->file,
                 list->line);
        return -1;
    }
    cfg->plugins = calloc(list->n + 1, sizeof *cfg->plugins);
    if (!cfg->plugins) return -1;
    for (size_t i = 0; i < list->n; i++) {
        const sh_cnode *it = list->items[i];
        sh_plugin_cfg *pc = &cfg->plugins[cfg->nplugins++];
        char yp[64];
        snprintf(yp, sizeof yp, "plugins[%zu]", i);
        pc->yaml_path = strdup(yp);
        pc->line = it->line;
        if (it->type == SH_CN_SCALAR) {
            pc->name = strdup(it->scalar);
        } else if (it->type == SH_CN_MAP) {
            for (size_t k = 0; k < it->n; k++) {
                const char *key = it->keys[k];
                if (strcmp(key, "name") && strcmp(key, "path") && strcmp(key, "config")) {
                    snprintf(err, errlen, "%s:%d: %s.%s: unknown key (expected name, path or config)", cfg->file,
                             it->items[k]->line, yp, key);
                    return -1;
                }
            }
            const sh_cnode *n = map_get(it, "name"), *p = map_get(it, "path");
            if ((n && n->type != SH_CN_SCALAR) || (p && p->type != SH_CN_SCALAR)) {
                snprintf(err, errlen, "%s:%d: %s: name and path must be strings", cfg->file, it->line, yp);
                return -1;
            }
            if (n) pc->name = strdup(n->scalar);
            if (p && p->scalar[0]) pc->path = strdup(p->scalar);
            pc->conf = map_get(it, "config");
            if (!pc->name && pc->path) {
                /* derive the name from the file name: ".../libhello.so" or ".../hello.so" -> hello */
                const char *b = strrchr(pc->path, '/');
                b = b ? b + 1 : pc->path;
                if (strncmp(b, "lib", 3) == 0) b += 3;
                size_t l = strcspn(b, ".");
                pc->name = strndup(b, l);
            }
        } else {
            snprintf(err, errlen, "%s:%d: %s: expected a plugin name or a {name, path, config} map", cfg->file,
                     it->line, yp);
            return -1;
        }
        if (!pc->name || !valid_plugin_name(pc->name)) {
            snprintf(err, errlen, "%s:%d: %s.name: expected a plugin name of [a-z0-9_-], got \"%s\"", cfg->file,
                     it->line, yp, pc->name ? pc->name : "");
            return -1;
        }
        for (size_t j = 0; j + 1 < cfg->nplugins; j++)
            if (strcmp(cfg->plugins[j].name, pc->name) == 0) {
                snprintf(err, errlen, "%s:%d: %s: plugin \"%s\" is listed twice (also %s)", cfg->file, it->line, yp,
                         pc->name, cfg->plugins[j].yaml_path);
                return -1;
            }
    }
    return 0;
}

sh_config *sh_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen) {
    sh_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->file = strdup(name);
    cfg->root = sh_yaml_parse(name, text, len, err, errlen);
    if (!cfg->root) goto fail;
    static const char *sections[] = {"server", "database", "redis", "log", "realtime", "plugins"};
    for (size_t k = 0; k < cfg->root->n; k++) {
        size_t i;
        for (i = 0; i < sizeof sections / sizeof *sections; i++)
            if (strcmp(cfg->root->keys[k], sections[i]) == 0) break;
        if (i == sizeof sections / sizeof *sections) {
            snprintf(err, errlen,
                     "%s:%d: %s: unknown section (expected server, database, redis, log, realtime or plugins; a "
                     "plugin's settings go under its entry in plugins:)",
                     name, cfg->root->key_lines ? cfg->root->key_lines[k] : cfg->root->items[k]->line,
                     cfg->root->keys[k]);
            goto fail;
        }
    }
    if (sh_config_section(name, map_get(cfg->root, "server"), "server", sh_core_server_settings, &cfg->server, err,
                          errlen) < 0 ||
        sh_config_section(name, map_get(cfg->root, "database"), "database", sh_core_database_settings, &cfg->database,
                          err, errlen) < 0 ||
        sh_config_section(name, map_get(cfg->root, "redis"), "redis", sh_core_redis_settings, &cfg->redis, err,
                          errlen) < 0 ||
        sh_config_section(name, map_get(cfg->root, "log"), "log", sh_core_log_settings, &cfg->log, err, errlen) < 0 ||
        sh_config_section(name, map_get(cfg->root, "realtime"), "realtime", sh_core_realtime_settings, &cfg->realtime,
                          err, errlen) < 0)
        goto fail;
    {
        const char *lv = sh_cfg_s(&cfg->log, "level");
        static const char *ok[] = {"debug", "info", "warn", "error"};
        int found = 0;
        for (int i = 0; i < 4; i++) found |= strcasecmp(lv, ok[i]) == 0;
        if (!found) {
            const sh_cnode *ln = map_get(map_get(cfg->root, "log"), "level");
            snprintf(err, errlen, "%s:%d: log.level: expected debug, info, warn or error, got \"%s\"", name,
                     ln ? ln->line : 1, lv);
            goto fail;
        }
    }
    if (parse_plugins(cfg, map_get(cfg->root, "plugins"), err, errlen) < 0) goto fail;
    return cfg;
fail:
    sh_config_free(cfg);
    return NULL;
}

sh_config *sh_config_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) break;
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
        if (len == cap) {
            if (cap >= (16u << 20)) {
                snprintf(err, errlen, "%s: larger than 16 MiB", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    sh_config *cfg = sh_config_parse(path, buf, len, err, errlen);
    free(buf);
    return cfg;
}

void sh_config_free(sh_config *cfg) {
    if (!cfg) return;
    sh_csection_free(&cfg->server);
    sh_csection_free(&cfg->database);
    sh_csection_free(&cfg->redis);
    sh_csection_free(&cfg->log);
    sh_csection_free(&cfg->realtime);
    for (size_t i = 0; i < cfg->nplugins; i++) {
        free(cfg->plugins[i].name);
        free(cfg->plugins[i].path);
        free(cfg->plugins[i].yaml_path);
    }
    free(cfg->plugins);
    sh_cnode_free(cfg->root);
    free(cfg->file);
    free(cfg);
}
