/*
 * db_test_helpers.h - what test_db.c and test_db_prepared.c share: the core files under test (with
 * a log stub where log.c is missing), a connection of the test's own to the SH_TEST_PG server,
 * result captures, waits on the real event loop with deadlines, pool set-up, and the check every
 * binary runs first (db_test_start). Included by exactly one translation unit per binary.
 */
#ifndef SH_DB_TEST_HELPERS_H
#define SH_DB_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/db.c"
#include "core/db_stmt.c"
#include "core/db_migrate.c"
#if __has_include("core/log.c")
#include "core/log.c"
#else
int sh_log_open(const char *path, int min_level) {
    (void)path;
    (void)min_level;
    return 0;
}
int sh_log_level_from_name(const char *name) {
    (void)name;
    return -1;
}
void sh_vlogf(int level, const char *who, const char *fmt, va_list ap) {
    if (level < SH_LL_WARN)
        return;
    fprintf(stderr, "%s: ", who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}
void sh_logf(int level, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sh_vlogf(level, who, fmt, ap);
    va_end(ap);
}
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------------------ */

static inline const char *pg_url(void) { return getenv("SH_TEST_PG"); }

/* A name unique to this process and moment, for tables and plugins. */
static inline const char *uniq(char *buf, size_t len, const char *prefix) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(buf, len, "%s_%d_%lld%09ld", prefix, (int)getpid(), (long long)ts.tv_sec % 100000,
             (long)ts.tv_nsec);
    return buf;
}

static inline void quiet(void *arg, const char *msg) {
    (void)arg;
    (void)msg;
}

static inline PGconn *pg_open(void) {
    PGconn *c = PQconnectdb(pg_url());
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("cannot connect to SH_TEST_PG: %s", PQerrorMessage(c));
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* Run SQL on a blocking connection of the test's own; returns the first cell as a long (-1 if
 * NULL or no row). */
static inline long pg_sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline long pg_sql(const char *fmt, ...) {
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGconn *c = pg_open();
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    long v = -1;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}

typedef struct rec {
    int called;
    int status;
    char sqlstate[8];
    char error[256];
    int nrows, ncols;
    char vals[4][64];
    int nulls[4];
    int64_t affected;
    int col_b;
    uint64_t at_ms;
    int *counter; /* optional: incremented on each call */
} rec;

static inline void rec_cb(const sh_db_result *res, void *ud) {
    rec *r = ud;
    r->called++;
    r->status = sh_db_res_status(res);
    snprintf(r->sqlstate, sizeof r->sqlstate, "%s", sh_db_res_sqlstate(res));
    snprintf(r->error, sizeof r->error, "%s", sh_db_res_error(res));
    r->nrows = sh_db_res_nrows(res);
    r->ncols = sh_db_res_ncols(res);
    for (int i = 0; i < 4; i++) {
        const char *v = sh_db_res_value(res, 0, i);
        r->nulls[i] = v == NULL;
        snprintf(r->vals[i], sizeof r->vals[i], "%s", v ? v : "");
    }
    r->affected = sh_db_res_affected(res);
    r->col_b = sh_db_res_col(res, "b");
    r->at_ms = now_ms();
    if (r->counter)
        (*r->counter)++;
}

static inline void tick_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until done(arg) or timeout_ms; returns done(arg). */
static inline int run_until(struct event_base *base, int (*done)(const void *), const void *arg,
                     int timeout_ms) {
    struct event *tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
    struct timeval tv = {0, 5000};
    event_add(tick, &tv);
    uint64_t end = now_ms() + (uint64_t)timeout_ms;
    int ok;
    while (!(ok = done(arg)) && now_ms() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static inline int never(const void *arg) {
    (void)arg;
    return 0;
}

static inline void run_for(struct event_base *base, int ms) { run_until(base, never, NULL, ms); }

static inline int rec_called(const void *arg) { return ((const rec *)arg)->called > 0; }

typedef struct count_goal {
    const int *n;
    int target;
} count_goal;

static inline int count_reached(const void *arg) {
    const count_goal *g = arg;
    return *g->n >= g->target;
}

static inline int run_count(struct event_base *base, const int *n, int target, int timeout_ms) {
    count_goal g = {n, target};
    return run_until(base, count_reached, &g, timeout_ms);
}

typedef struct up_goal {
    const sh_db *db;
    int up;
} up_goal;

static inline int pool_up(const void *arg) {
    const up_goal *g = arg;
    sh_db_stats st;
    sh_db_stats_get(g->db, &st);
    return st.connections_up >= g->up;
}

static inline int pool_down(const void *arg) { return !sh_db_available(arg); }

static inline sh_db *mkdb(struct event_base *base, const char *conninfo, int pool, int queue_max,
                   int stmt_timeout_ms, int queue_timeout_ms) {
    sh_db_config cfg = {.conninfo = conninfo,
                        .pool_size = pool,
                        .queue_max = queue_max,
                        .connect_timeout_ms = 2000,
                        .statement_timeout_ms = stmt_timeout_ms,
                        .queue_timeout_ms = queue_timeout_ms};
    sh_db *db = sh_db_new(base, &cfg);
    assert_non_null(db);
    return db;
}

/* A pool whose `pool` connections are all up. */
static inline sh_db *mkdb_up(struct event_base *base, int pool, int queue_max, int stmt_timeout_ms) {
    sh_db *db = mkdb(base, pg_url(), pool, queue_max, stmt_timeout_ms, 5000);
    up_goal g = {db, pool};
    if (!run_until(base, pool_up, &g, 5000))
        fail_msg("the pool did not connect to SH_TEST_PG within 5 s");
    return db;
}

/* Query until one succeeds (after an outage); returns the milliseconds it took, or -1. */
static inline int query_until_ok(struct event_base *base, sh_db *db, int timeout_ms) {
    uint64_t t0 = now_ms();
    while (now_ms() - t0 < (uint64_t)timeout_ms) {
        rec r = {0};
        sh_db_query(db, "SELECT 1", 0, NULL, rec_cb, &r);
        if (!run_until(base, rec_called, &r, 5000))
            fail_msg("a query callback never ran");
        if (r.status == SH_OK)
            return (int)(now_ms() - t0);
        run_for(base, 50);
    }
    return -1;
}

static inline int setup(void **state) {
    struct event_base *base = event_base_new();
    assert_non_null(base);
    *state = base;
    return 0;
}

static inline int teardown(void **state) {
    event_base_free(*state);
    return 0;
}


/* SH_TEST_PG set and reachable (else a message and 1), logging set up (SH_TEST_LOG=debug to
 * watch the pool). */
static inline int db_test_start(const char *name) {
    if (!pg_url() || !*pg_url()) {
        fprintf(stderr, "%s: SH_TEST_PG is not set. Start a server with\n"
                        "  tools/pg.sh start /tmp/pgtest 25432\n"
                        "and set SH_TEST_PG to the conninfo it prints.\n",
                name);
        return 1;
    }
    PGconn *c = PQconnectdb(pg_url());
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "%s: cannot connect to SH_TEST_PG: %s", name, PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    PQfinish(c);
    const char *lv = getenv("SH_TEST_LOG"); /* e.g. "debug" to watch the pool */
    int level = lv ? sh_log_level_from_name(lv) : -1;
    sh_log_open(NULL, level >= 0 ? level : SH_LL_ERROR + 1); /* silent unless asked */
    return 0;
}

#endif
