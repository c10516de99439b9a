/*
 * fakehost_config.c - the plugin's config section for the fake host: settings parsed, bounded and
 * defaulted with the rules of core/config.c, sh_fake_set_config, and the cfg_* functions.
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- config (the host's parsing rules) ---------------------------------------------------- */
static int parse_bool(const char *s, int *out) {
    static const char *t[] = {"true", "yes", "on", "1"}, *f[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, t[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, f[i]) == 0) return *out = 0, 0;
    }
    return -1;
}
static int parse_int(const char *s, int64_t *out) {
    if (!*s) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}
static int parse_double(const char *s, double *out) {
    if (!*s) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}
static int bounded(const sh_setting *st) {
    return st->min != 0 || st->max != 0;
}

static void cfg_clear(fake_cfg *v) {
    free(v->s);
    for (size_t i = 0; i < v->nlist; i++)
        free(v->list[i]);
    free(v->list);
    memset(v, 0, sizeof *v);
}

/* Parse `text` for setting `st` into `v` (cleared first). 0 or -1. */
static int cfg_parse(const sh_setting *st, const char *text, fake_cfg *v) {
    cfg_clear(v);
    switch (st->type) {
    case SH_CFG_BOOL:
        return parse_bool(text, &v->b);
    case SH_CFG_INT:
        if (parse_int(text, &v->i) < 0) return -1;
        return bounded(st) && ((double)v->i < st->min || (double)v->i > st->max) ? -1 : 0;
    case SH_CFG_DOUBLE:
        if (parse_double(text, &v->d) < 0) return -1;
        return bounded(st) && (v->d < st->min || v->d > st->max) ? -1 : 0;
    case SH_CFG_STRING: {
        size_t l = strlen(text);
        if (bounded(st) && ((double)l < st->min || (double)l > st->max)) return -1;
        v->s = xstrdup(text);
        return 0;
    }
    case SH_CFG_STRLIST: {
        for (const char *p = text; *text; p++) {
            const char *comma = strchr(p, ',');
            size_t l = comma ? (size_t)(comma - p) : strlen(p);
            v->list = xrealloc(v->list, (v->nlist + 2) * sizeof *v->list);
            v->list[v->nlist++] = xstrndup(p, l);
            v->list[v->nlist] = NULL;
            if (!comma) break;
            p = comma;
        }
        if (bounded(st) && ((double)v->nlist < st->min || (double)v->nlist > st->max)) return -1;
        return 0;
    }
    }
    return -1;
}

static size_t setting_index(const sh_fake *fh, const char *name) {
    for (size_t i = 0; name && i < fh->nsettings; i++)
        if (strcmp(fh->desc->settings[i].name, name) == 0) return i;
    return (size_t)-1;
}

int sh_fake_set_config(sh_fake *fh, const char *name, const char *value) {
    if (fh->initialized || fh->phase != PHASE_LOAD) return SH_ERR_STATE;
    size_t i = setting_index(fh, name);
    if (i == (size_t)-1) {
        logline(fh, SH_LOG_ERROR, "config.%s: unknown key", name ? name : "(null)");
        return SH_ERR_NOTFOUND;
    }
    const sh_setting *st = &fh->desc->settings[i];
    if (!value) {
        cfg_clear(&fh->cfg[i]);
        return SH_OK;
    }
    if (cfg_parse(st, value, &fh->cfg[i]) < 0) {
        cfg_clear(&fh->cfg[i]);
        logline(fh, SH_LOG_ERROR, "config.%s: bad value \"%s\" for a %s setting%s", st->name,
                (st->flags & SH_CFG_SECRET) ? "(secret)" : value,
                st->type == SH_CFG_BOOL     ? "boolean"
                : st->type == SH_CFG_INT    ? "integer"
                : st->type == SH_CFG_DOUBLE ? "number"
                : st->type == SH_CFG_STRING ? "string"
                                            : "string list",
                bounded(st) ? " (out of its bounds)" : "");
        return SH_ERR_INVALID;
    }
    fh->cfg[i].set = 1;
    return SH_OK;
}

/* At init: defaults for what was not set; required settings. */
static int cfg_finish(sh_fake *fh) {
    for (size_t i = 0; i < fh->nsettings; i++) {
        const sh_setting *st = &fh->desc->settings[i];
        if (fh->cfg[i].set) continue;
        if (st->flags & SH_CFG_REQUIRED) {
            logline(fh, SH_LOG_ERROR, "config.%s: missing (the setting is required)", st->name);
            return SH_ERR_INVALID;
        }
        if (st->def && cfg_parse(st, st->def, &fh->cfg[i]) < 0) {
            violation(fh, "config.%s: the declared default \"%s\" is not valid for its type and bounds", st->name,
                      st->def);
            return SH_ERR_INVALID;
        }
    }
    return SH_OK;
}

static const fake_cfg *cfg_get(sh_fake *fh, const char *name, sh_cfg_type want, const char *fn) {
    size_t i = setting_index(fh, name);
    if (i == (size_t)-1) {
        fprintf(stderr, "fakehost: %s: %s(\"%s\"): setting never declared (a bug; the real host aborts too)\n",
                pname(fh), fn, name ? name : "(null)");
        abort();
    }
    if (fh->desc->settings[i].type != want) violation(fh, "%s(\"%s\"): the setting has another type", fn, name);
    return &fh->cfg[i];
}
static int64_t api_cfg_int(sh_plugin *p, const char *n) {
    return cfg_get(p->fh, n, SH_CFG_INT, "cfg_int")->i;
}
static double api_cfg_double(sh_plugin *p, const char *n) {
    return cfg_get(p->fh, n, SH_CFG_DOUBLE, "cfg_double")->d;
}
static int api_cfg_bool(sh_plugin *p, const char *n) {
    return cfg_get(p->fh, n, SH_CFG_BOOL, "cfg_bool")->b;
}
static const char *api_cfg_str(sh_plugin *p, const char *n) {
    return cfg_get(p->fh, n, SH_CFG_STRING, "cfg_str")->s;
}
static const char *const *api_cfg_strlist(sh_plugin *p, const char *n, size_t *count) {
    const fake_cfg *v = cfg_get(p->fh, n, SH_CFG_STRLIST, "cfg_strlist");
    if (count) *count = v->nlist;
    return (const char *const *)v->list;
}
