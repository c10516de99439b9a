/*
 * fakehost_db.c - the database (scripted answers, a handler, the query log, migrations) and Redis (always
 * disabled: commands fail and call back with NULL later).
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- database ----------------------------------------------------------------------------- */
static int api_db_migration(sh_plugin *p, const char *id, const char *sql) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "db_migration")) return SH_ERR_STATE;
    if (!id || !*id || !sql) return SH_ERR_INVALID;
    size_t at = fh->nmigs;
    while (at > 0 && strcmp(fh->migs[at - 1].id, id) > 0)
        at--;
    for (size_t i = 0; i < fh->nmigs; i++)
        if (strcmp(fh->migs[i].id, id) == 0) return SH_ERR_EXISTS;
    GROW(fh->migs, fh->nmigs);
    memmove(&fh->migs[at + 1], &fh->migs[at], (fh->nmigs - at) * sizeof *fh->migs);
    fh->migs[at] = (fake_mig){xstrdup(id), xstrdup(sql)};
    fh->nmigs++;
    note_reg(fh, "migration %s", id);
    return SH_OK;
}

static int stmts_valid(const sh_db_stmt *stmts, int n) {
    if (!stmts || n < 1) return 0;
    for (int i = 0; i < n; i++)
        if (!stmts[i].sql || stmts[i].nparams < 0 || stmts[i].nparams > FAKE_DB_MAX_PARAMS ||
            (stmts[i].nparams > 0 && !stmts[i].params))
            return 0;
    return 1;
}

static int db_submit(sh_fake *fh, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud) {
    fake_job *j = job_push(fh, JOB_DB);
    j->db_cb = cb;
    j->ud = ud;
    j->first = fh->nqueries;
    j->down = fh->db_down;
    if (!stmts_valid(stmts, n)) return SH_ERR_INVALID; /* j->n == 0: fails with SH_ERR */
    for (int i = 0; i < n; i++) {
        fake_query q = {xstrdup(stmts[i].sql), stmts[i].nparams, xcalloc((size_t)stmts[i].nparams + 1, sizeof(char *))};
        for (int k = 0; k < q.nparams; k++)
            q.params[k] = xstrdup(stmts[i].params[k]);
        GROW(fh->queries, fh->nqueries);
        fh->queries[fh->nqueries++] = q;
    }
    j->n = n;
    return fh->db_down ? SH_ERR_UNAVAILABLE : SH_OK;
}

static int api_db_query(sh_plugin *p, const char *sql, int n, const char *const *params, sh_db_cb cb, void *ud) {
    sh_db_stmt s = {.sql = sql, .nparams = n, .params = params};
    return db_submit(p->fh, &s, 1, cb, ud);
}
static int api_db_tx(sh_plugin *p, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud) {
    return db_submit(p->fh, stmts, n, cb, ud);
}
static int api_db_available(sh_plugin *p) {
    return !p->fh->db_down;
}

static void result_clear(struct sh_db_result *r) {
    free(r->error);
    free(r->sqlstate);
    free_strv(r->cols, (size_t)r->ncols);
    free_strv(r->values, (size_t)r->ncols * (size_t)r->nrows);
    memset(r, 0, sizeof *r);
}

static void result_fill(struct sh_db_result *r, const sh_fake_db_answer *a) {
    memset(r, 0, sizeof *r);
    r->status = a->status;
    r->sqlstate = xstrdup(a->sqlstate ? a->sqlstate : "");
    r->error = xstrdup(a->error                          ? a->error
                       : a->status == SH_OK              ? ""
                       : a->status == SH_ERR_UNAVAILABLE ? "database unavailable"
                                                         : "statement failed");
    if (a->status != SH_OK) return;
    r->ncols = a->ncols > 0 ? a->ncols : 0;
    r->nrows = a->nrows > 0 && r->ncols ? a->nrows : 0;
    r->cols = xcalloc((size_t)r->ncols + 1, sizeof(char *));
    for (int c = 0; c < r->ncols; c++)
        r->cols[c] = xstrdup(a->cols && a->cols[c] ? a->cols[c] : "?column?");
    size_t nv = (size_t)r->ncols * (size_t)r->nrows;
    r->values = xcalloc(nv + 1, sizeof(char *));
    for (size_t i = 0; i < nv; i++)
        r->values[i] = a->values ? xstrdup(a->values[i]) : NULL;
    r->affected = a->affected ? a->affected : r->nrows;
}

int sh_fake_db_push(sh_fake *fh, const sh_fake_db_answer *a) {
    if (!a) return SH_ERR_INVALID;
    struct sh_db_result *r = xcalloc(1, sizeof *r);
    result_fill(r, a);
    if (fh->script_tail)
        fh->script_tail->next = r;
    else
        fh->script_head = r;
    fh->script_tail = r;
    return SH_OK;
}

int sh_fake_db_push_value(sh_fake *fh, const char *col, const char *value) {
    const char *cols[1] = {col}, *vals[1] = {value};
    sh_fake_db_answer a = {.status = SH_OK, .ncols = 1, .cols = cols, .nrows = 1, .values = vals};
    return sh_fake_db_push(fh, &a);
}

int sh_fake_db_push_error(sh_fake *fh, int status, const char *sqlstate, const char *message) {
    sh_fake_db_answer a = {.status = status == SH_OK ? SH_ERR : status, .sqlstate = sqlstate, .error = message};
    return sh_fake_db_push(fh, &a);
}

void sh_fake_db_set_handler(sh_fake *fh, sh_fake_db_fn fn, void *ud) {
    fh->db_fn = fn;
    fh->db_ud = ud;
}
void sh_fake_db_set_available(sh_fake *fh, int up) {
    fh->db_down = !up;
}

/* The answer to statement `qi` into `out`. */
static void db_answer(sh_fake *fh, size_t qi, int down, struct sh_db_result *out) {
    struct sh_db_result *s = fh->script_head;
    if (down) {
        sh_fake_db_answer a = {.status = SH_ERR_UNAVAILABLE};
        result_fill(out, &a);
    } else if (s) {
        fh->script_head = s->next;
        if (!fh->script_head) fh->script_tail = NULL;
        *out = *s;
        out->next = NULL;
        free(s);
    } else if (fh->db_fn) {
        sh_fake_db_answer a = {.status = SH_OK};
        const fake_query *q = &fh->queries[qi];
        fh->db_fn(fh->db_ud, q->sql, q->nparams, (const char *const *)q->params, &a);
        result_fill(out, &a);
    } else {
        sh_fake_db_answer a = {.status = SH_ERR_UNAVAILABLE,
                               .error = "no database in the fake host (script answers or set a handler)"};
        result_fill(out, &a);
    }
}

static void run_db_job(sh_fake *fh, fake_job *j) {
    struct sh_db_result res = {0};
    if (j->n == 0) {
        sh_fake_db_answer a = {.status = SH_ERR, .error = "invalid query arguments"};
        result_fill(&res, &a);
    }
    for (int i = 0; i < j->n; i++) {
        result_clear(&res);
        db_answer(fh, j->first + (size_t)i, j->down || fh->db_down, &res);
        if (res.status != SH_OK) break;
    }
    if (j->db_cb) j->db_cb(&res, j->ud);
    result_clear(&res);
}

static int api_db_status(const sh_db_result *r) {
    return r ? r->status : SH_ERR_UNAVAILABLE;
}
static const char *api_db_error(const sh_db_result *r) {
    return r ? r->error : "no database configured";
}
static const char *api_db_sqlstate(const sh_db_result *r) {
    return r ? r->sqlstate : "";
}
static int api_db_nrows(const sh_db_result *r) {
    return r && r->status == SH_OK ? r->nrows : 0;
}
static int api_db_ncols(const sh_db_result *r) {
    return r && r->status == SH_OK ? r->ncols : 0;
}
static const char *api_db_value(const sh_db_result *r, int row, int col) {
    if (!r || r->status != SH_OK || row < 0 || col < 0 || row >= r->nrows || col >= r->ncols) return NULL;
    return r->values[(size_t)row * (size_t)r->ncols + (size_t)col];
}
static int api_db_col(const sh_db_result *r, const char *name) {
    for (int i = 0; r && r->status == SH_OK && name && i < r->ncols; i++)
        if (strcmp(r->cols[i], name) == 0) return i;
    return -1;
}
static int64_t api_db_affected(const sh_db_result *r) {
    return r && r->status == SH_OK ? r->affected : 0;
}

size_t sh_fake_db_query_count(const sh_fake *fh) {
    return fh->nqueries;
}
const char *sh_fake_db_query_sql(const sh_fake *fh, size_t i) {
    return i < fh->nqueries ? fh->queries[i].sql : NULL;
}
int sh_fake_db_query_nparams(const sh_fake *fh, size_t i) {
    return i < fh->nqueries ? fh->queries[i].nparams : -1;
}
const char *sh_fake_db_query_param(const sh_fake *fh, size_t i, int j) {
    return i < fh->nqueries && j >= 0 && j < fh->queries[i].nparams ? fh->queries[i].params[j] : NULL;
}
size_t sh_fake_migration_count(const sh_fake *fh) {
    return fh->nmigs;
}
const char *sh_fake_migration_id(const sh_fake *fh, size_t i) {
    return i < fh->nmigs ? fh->migs[i].id : NULL;
}
const char *sh_fake_migration_sql(const sh_fake *fh, size_t i) {
    return i < fh->nmigs ? fh->migs[i].sql : NULL;
}

/* ---- Redis: always disabled --------------------------------------------------------------- */
static int api_redis_enabled(sh_plugin *p) {
    (void)p;
    return 0;
}
static int api_redis_command(sh_plugin *p, sh_redis_cb cb, void *ud, int argc, const char *const *argv,
                             const size_t *argvlen) {
    (void)argc;
    (void)argv;
    (void)argvlen;
    fake_job *j = job_push(p->fh, JOB_REDIS);
    j->redis_cb = cb;
    j->ud = ud;
    return SH_ERR_UNAVAILABLE;
}
static int api_redis_reply_type(const sh_redis_reply *r) {
    (void)r;
    return 0;
}
static long long api_redis_reply_int(const sh_redis_reply *r) {
    (void)r;
    return 0;
}
static const char *api_redis_reply_str(const sh_redis_reply *r, size_t *len) {
    (void)r;
    if (len) *len = 0;
    return NULL;
}
static size_t api_redis_reply_count(const sh_redis_reply *r) {
    (void)r;
    return 0;
}
static const sh_redis_reply *api_redis_reply_elem(const sh_redis_reply *r, size_t i) {
    (void)r;
    (void)i;
    return NULL;
}
static int api_redis_subscribe(sh_plugin *p, const char *ch, sh_redis_msg_cb cb, void *ud) {
    (void)p;
    (void)ch;
    (void)cb;
    (void)ud;
    return SH_ERR_UNAVAILABLE;
}
static int api_redis_publish(sh_plugin *p, const char *ch, const void *data, size_t len) {
    (void)p;
    (void)ch;
    (void)data;
    (void)len;
    return SH_ERR_UNAVAILABLE;
}
