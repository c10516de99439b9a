/*
 * fakehost_services.c - services between plugins (with the built-in `auth` service), metrics kept in
 * memory, the rate limiter on the virtual clock, and random bytes' seed.
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- services and the built-in auth ------------------------------------------------------- */
static fake_service *find_service(const sh_fake *fh, const char *name, int major) {
    for (size_t i = 0; name && i < fh->nservices; i++)
        if (strcmp(fh->services[i].name, name) == 0 && fh->services[i].major == major) return &fh->services[i];
    return NULL;
}

static int add_service(sh_fake *fh, const char *name, int major, int minor, const void *table) {
    if (!name || !*name || !table) return SH_ERR_INVALID;
    if (find_service(fh, name, major)) return SH_ERR_EXISTS;
    GROW(fh->services, fh->nservices);
    fh->services[fh->nservices++] = (fake_service){xstrdup(name), major, minor, table};
    return SH_OK;
}

static int api_service_provide(sh_plugin *p, const char *name, int major, int minor, const void *table) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "service_provide")) return SH_ERR_STATE;
    int declared = 0;
    for (const sh_dep *d = fh->desc->provides; name && d && d->name; d++)
        if (strcmp(d->name, name) == 0 && d->major == major) declared = 1;
    if (!declared) {
        violation(fh, "service %s %d.%d is not declared in the plugin's provides list", name ? name : "(null)", major,
                  minor);
        return SH_ERR_INVALID;
    }
    int rc = add_service(fh, name, major, minor, table);
    if (rc == SH_OK) note_reg(fh, "service %s %d.%d", name, major, minor);
    return rc;
}

static const void *api_service_get(sh_plugin *p, const char *name, int major, int min_minor) {
    const fake_service *s = find_service(p->fh, name, major);
    return s && s->minor >= min_minor ? s->table : NULL;
}

int sh_fake_service_add(sh_fake *fh, const char *name, int major, int minor, const void *table) {
    return add_service(fh, name, major, minor, table);
}
const void *sh_fake_service(const sh_fake *fh, const char *name, int major) {
    const fake_service *s = find_service(fh, name, major);
    return s ? s->table : NULL;
}

static sh_fake *auth_owner; /* the fake host the built-in auth service answers for */

static void auth_answer(const fake_user *u, sh_auth_cb cb, void *ud) {
    if (!cb) return;
    if (u) {
        sh_identity who = {u->id, u->name};
        cb(SH_OK, &who, ud);
    } else {
        cb(SH_ERR_INVALID, NULL, ud);
    }
}
static const fake_user *auth_find(int by, const char *s, int64_t id) {
    for (size_t i = 0; auth_owner && i < auth_owner->nusers; i++) {
        const fake_user *u = &auth_owner->users[i];
        if ((by == 0 && s && strcmp(u->token, s) == 0) || (by == 1 && u->id == id) ||
            (by == 2 && s && strcasecmp(u->name, s) == 0))
            return u;
    }
    return NULL;
}
static void auth_verify_token(const char *token, sh_auth_cb cb, void *ud) {
    auth_answer(auth_find(0, token, 0), cb, ud);
}
static void auth_by_key(const char *key, sh_auth_cb cb, void *ud) {
    (void)key;
    auth_answer(NULL, cb, ud);
}
static void auth_by_id(int64_t id, sh_auth_cb cb, void *ud) {
    auth_answer(auth_find(1, NULL, id), cb, ud);
}
static void auth_by_name(const char *name, sh_auth_cb cb, void *ud) {
    auth_answer(auth_find(2, name, 0), cb, ud);
}
static const sh_auth_api builtin_auth = {sizeof(sh_auth_api), auth_verify_token, auth_by_key, auth_by_id, auth_by_name};

int sh_fake_auth_add(sh_fake *fh, const char *token, int64_t user_id, const char *username) {
    if (!token || !username || user_id <= 0) return SH_ERR_INVALID;
    const fake_service *s = find_service(fh, SH_AUTH_SERVICE, SH_AUTH_MAJOR);
    if (!s)
        add_service(fh, SH_AUTH_SERVICE, SH_AUTH_MAJOR, SH_AUTH_MINOR, &builtin_auth);
    else if (s->table != &builtin_auth)
        return SH_ERR_EXISTS; /* the test provides its own */
    auth_owner = fh;
    GROW(fh->users, fh->nusers);
    fh->users[fh->nusers++] = (fake_user){xstrdup(token), xstrdup(username), user_id};
    return SH_OK;
}

/* ---- metrics and rate limiting ------------------------------------------------------------ */
static int metric_name_ok(const char *s) {
    if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == ':'))
            return 0;
    return 1;
}

static sh_metric *api_metric_new(sh_plugin *p, sh_metric_type type, const char *name, const char *help,
                                 const char *labels) {
    sh_fake *fh = p->fh;
    if (!metric_name_ok(name) || type < SH_METRIC_COUNTER || type > SH_METRIC_HISTOGRAM) return NULL;
    if (!labels) labels = "";
    for (sh_metric *m = fh->metrics; m; m = m->next) {
        if (strcmp(m->name, name) != 0) continue;
        if (m->type != type) return NULL;
        if (strcmp(m->labels, labels) == 0) return m;
    }
    sh_metric *m = xcalloc(1, sizeof *m);
    m->type = type;
    m->name = xstrdup(name);
    m->help = xstrdup(help ? help : "");
    m->labels = xstrdup(labels);
    m->next = fh->metrics;
    fh->metrics = m;
    return m;
}
static void api_metric_add(sh_metric *m, double v) {
    if (m && m->type != SH_METRIC_HISTOGRAM) m->value += v;
}
static void api_metric_set(sh_metric *m, double v) {
    if (m && m->type == SH_METRIC_GAUGE) m->value = v;
}
static void api_metric_observe(sh_metric *m, double v) {
    if (m && m->type == SH_METRIC_HISTOGRAM) m->sum += v, m->count++;
}
static void metric_destroy(sh_metric *m) {
    free(m->name);
    free(m->help);
    free(m->labels);
    free(m);
}
/* The SDK's metric_free has no plugin argument: find the owner through the plugin of the one
 * fake host that made it (kept in a list of live fake hosts). */
static sh_fake **live_fakes;
static size_t nlive_fakes;
static void api_metric_free(sh_metric *m) {
    if (!m) return;
    for (size_t k = 0; k < nlive_fakes; k++)
        for (sh_metric **pp = &live_fakes[k]->metrics; *pp; pp = &(*pp)->next)
            if (*pp == m) {
                *pp = m->next;
                metric_destroy(m);
                return;
            }
}

int sh_fake_metric(const sh_fake *fh, const char *name, const char *labels, double *value, uint64_t *count) {
    if (!labels) labels = "";
    for (const sh_metric *m = fh->metrics; name && m; m = m->next)
        if (strcmp(m->name, name) == 0 && strcmp(m->labels, labels) == 0) {
            if (value) *value = m->type == SH_METRIC_HISTOGRAM ? m->sum : m->value;
            if (count) *count = m->count;
            return SH_OK;
        }
    return SH_ERR_NOTFOUND;
}

static void api_rate_hit(sh_plugin *p, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb, void *ud) {
    sh_fake *fh = p->fh;
    char k[512];
    snprintf(k, sizeof k, "%s:%s", pname(fh), key ? key : "");
    if (window_ms == 0) window_ms = 1;
    fake_rate *e = fh->rates;
    while (e && strcmp(e->key, k) != 0)
        e = e->next;
    if (!e) {
        e = xcalloc(1, sizeof *e);
        e->key = xstrdup(k);
        e->start = fh->now;
        e->window = window_ms;
        e->next = fh->rates;
        fh->rates = e;
    } else if (fh->now >= e->start + e->window) {
        e->start = fh->now;
        e->window = window_ms;
        e->count = 0;
    }
    e->count++;
    int allowed = limit >= 0 && e->count <= (uint64_t)limit;
    if (cb) cb(allowed, allowed ? 0 : e->start + e->window - fh->now, ud);
}

void sh_fake_seed(sh_fake *fh, uint64_t seed) {
    fh->rng = seed;
}
