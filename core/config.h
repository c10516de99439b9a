/*
 * config.h - the YAML config: parsed by libyaml into a tree, ${ENV_VAR} expanded, validated
 * against declared settings (sh_setting, the SDK's schema type) before any plugin's init.
 *
 * Errors name the YAML path and what was expected, e.g.
 *   "etc/streamhub.yaml:12: server.http_port: expected an integer from 1 to 65535, got \"abc\"".
 *
 * ${NAME} is replaced by the environment variable NAME (an error if unset); ${NAME:-default} uses
 * `default` when NAME is unset or empty. Expansion happens in scalar values only, once.
 *
 * The tree and every value live until sh_config_free. Thread: loop (start-up) only.
 */
#ifndef SH_CORE_CONFIG_H
#define SH_CORE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <streamhub/streamhub.h>

typedef enum { SH_CN_SCALAR = 1, SH_CN_MAP, SH_CN_SEQ } sh_cnode_type;

typedef struct sh_cnode {
    sh_cnode_type type;
    int line;
    char *scalar;            /* SH_CN_SCALAR: expanded value */
    int plain;               /* scalar was unquoted (so "null"/"~" mean null) */
    size_t n;                /* map: pairs; seq: items */
    char **keys;             /* map keys */
    int *key_lines;          /* map: the line of each key */
    struct sh_cnode **items; /* map values / seq items */
} sh_cnode;

/* The validated values of one section, indexed like its schema. */
typedef struct sh_cvalue {
    int present; /* given in the file (else the default) */
    int64_t i;
    double d;
    int b;
    const char *s;
    const char **list;
    size_t nlist;
} sh_cvalue;

typedef struct sh_csection {
    const sh_setting *schema;
    size_t n;
    sh_cvalue *vals;
    char *path; /* YAML path of the section, e.g. "plugins[2].config" */
} sh_csection;

typedef struct sh_plugin_cfg {
    char *name;           /* as written, or derived from the path's file name */
    char *path;           /* NULL = resolve name in server.plugin_dir */
    const sh_cnode *conf; /* the `config:` map, or NULL */
    int line;
    char *yaml_path;      /* "plugins[2]" */
} sh_plugin_cfg;

typedef struct sh_config {
    char *file;
    sh_cnode *root;
    sh_csection server, database, redis, log, realtime;
    sh_plugin_cfg *plugins;
    size_t nplugins;
} sh_config;

/* Parse, expand and validate the core sections and the plugin list's shape. NULL on error
 * with a one-line message in err. */
sh_config *sh_config_load(const char *path, char *err, size_t errlen);
/* Parse YAML text (for tests and fuzzing); `name` is used in messages. */
sh_config *sh_config_parse(const char *name, const char *text, size_t len, char *err, size_t errlen);
void sh_config_free(sh_config *cfg);

/* Validate `node` (a map or NULL = empty) against `schema` into `out` (freed by
 * sh_csection_free). `path` names the section in messages. 0 or -1 with err. */
int sh_config_section(const char *file, const sh_cnode *node, const char *path, const sh_setting *schema,
                      sh_csection *out, char *err, size_t errlen);
void sh_csection_free(sh_csection *s);
/* Index of `name` in the section's schema, or -1. */
int sh_csection_find(const sh_csection *s, const char *name);
const sh_cvalue *sh_csection_get(const sh_csection *s, const char *name); /* aborts if undeclared */
int64_t sh_cfg_i(const sh_csection *s, const char *name);
double sh_cfg_d(const sh_csection *s, const char *name);
int sh_cfg_b(const sh_csection *s, const char *name);
const char *sh_cfg_s(const sh_csection *s, const char *name);

/* The core's own schemas (exported for --help and docs). */
extern const sh_setting sh_core_server_settings[];
extern const sh_setting sh_core_database_settings[];
extern const sh_setting sh_core_redis_settings[];
extern const sh_setting sh_core_log_settings[];
extern const sh_setting sh_core_realtime_settings[];

#endif
