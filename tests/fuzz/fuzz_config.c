/*
 * tests/fuzz/fuzz_config.c - fuzz the YAML config: sh_config_parse() on arbitrary bytes (libyaml
 * events to a tree, ${ENV} expansion, the core's schemas, the plugins: list), then every plugin
 * entry's config: section against a schema with one setting of each type.
 *
 * Checks: a refused config always says why, starting with the file name; an accepted one holds
 * only values within their declared bounds, non-NULL strings where a default exists, lists of
 * the counted length, and plugin entries with valid, distinct names. Environment variables used by
 * the seeds: SH_FUZZ_SET=value, SH_FUZZ_NUM=8080, SH_FUZZ_EMPTY="" and SH_FUZZ_UNSET (unset).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.c"
#include "core/config_yaml.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

static const sh_setting fz_schema[] = {
    {"n", SH_CFG_INT, "5", -10, 10, 0, NULL},
    {"free", SH_CFG_INT, NULL, 0, 0, 0, NULL},
    {"d", SH_CFG_DOUBLE, "0.5", 0, 1, 0, NULL},
    {"s", SH_CFG_STRING, "abc", 1, 8, 0, NULL},
    {"secret", SH_CFG_STRING, NULL, 0, 32, SH_CFG_SECRET, NULL},
    {"list", SH_CFG_STRLIST, "a,b", 0, 4, 0, NULL},
    {"b", SH_CFG_BOOL, "false", 0, 0, 0, NULL},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static int has_bounds(const sh_setting *st) {
    return st->min != 0 || st->max != 0;
}

/* Every value of a validated section respects its setting. */
static void check_section(const sh_csection *s) {
    FZ_CHECK(s->path != NULL);
    for (size_t i = 0; i < s->n; i++) {
        const sh_setting *st = &s->schema[i];
        const sh_cvalue *v = &s->vals[i];
        switch (st->type) {
        case SH_CFG_INT:
            if (has_bounds(st) && (v->present || st->def)) FZ_CHECK((double)v->i >= st->min && (double)v->i <= st->max);
            break;
        case SH_CFG_DOUBLE:
            if (has_bounds(st) && (v->present || st->def)) FZ_CHECK(v->d >= st->min && v->d <= st->max);
            break;
        case SH_CFG_STRING:
            if (v->present || st->def) {
                FZ_CHECK(v->s != NULL);
                size_t l = strlen(v->s);
                if (has_bounds(st)) FZ_CHECK((double)l >= st->min && (double)l <= st->max);
            } else {
                FZ_CHECK(v->s == NULL);
            }
            break;
        case SH_CFG_STRLIST:
            if (has_bounds(st) && v->present) FZ_CHECK((double)v->nlist >= st->min && (double)v->nlist <= st->max);
            for (size_t j = 0; j < v->nlist; j++)
                FZ_CHECK(v->list[j] != NULL);
            break;
        case SH_CFG_BOOL:
            FZ_CHECK(v->b == 0 || v->b == 1);
            break;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int env_ready;
    if (!env_ready) {
        setenv("SH_FUZZ_SET", "value", 1);
        setenv("SH_FUZZ_NUM", "8080", 1);
        setenv("SH_FUZZ_EMPTY", "", 1);
        unsetenv("SH_FUZZ_UNSET");
        env_ready = 1;
    }
    if (size > 256 * 1024) return 0;
    char err[1024];
    err[0] = '\0';
    sh_config *cfg = sh_config_parse("fuzz.yaml", (const char *)data, size, err, sizeof err);
    if (!cfg) {
        FZ_CHECK(err[0] != '\0');
        FZ_CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
        return 0;
    }
    FZ_CHECK(cfg->root && cfg->root->type == SH_CN_MAP);
    check_section(&cfg->server);
    check_section(&cfg->database);
    check_section(&cfg->redis);
    check_section(&cfg->log);
    check_section(&cfg->realtime);
    FZ_CHECK(sh_cfg_s(&cfg->database, "url") != NULL); /* required */
    for (size_t i = 0; i < cfg->nplugins; i++) {
        const sh_plugin_cfg *pc = &cfg->plugins[i];
        FZ_CHECK(pc->name && pc->yaml_path && valid_plugin_name(pc->name));
        for (size_t j = 0; j < i; j++)
            FZ_CHECK(strcmp(cfg->plugins[j].name, pc->name) != 0);
        char path[96];
        snprintf(path, sizeof path, "%s.config", pc->yaml_path);
        sh_csection s;
        err[0] = '\0';
        if (sh_config_section(cfg->file, pc->conf, path, fz_schema, &s, err, sizeof err) == 0) {
            check_section(&s);
            sh_csection_free(&s);
        } else {
            FZ_CHECK(strncmp(err, "fuzz.yaml", 9) == 0);
        }
    }
    sh_config_free(cfg);
    return 0;
}
