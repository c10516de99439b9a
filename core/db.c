/*
 * db.c - the PostgreSQL pool of core/db.h: libpq's asynchronous API driven by libevent.
 *
 * Each pool slot (conn) is a small state machine:
 *   WAIT       -- no PGconn; its timer fires the next attempt (back-off 100 ms doubling to 2 s)
 *   CONNECTING -- PQconnectStart/PQconnectPoll, driven by events on PQsocket; the same timer
 *                 bounds the attempt (connect_timeout_ms)
 *   SETUP      -- connected; "SET statement_timeout" is running (only when configured)
 *   IDLE/BUSY  -- up; BUSY while it runs one job (one statement, or a whole transaction)
 * A job is one sh_db_query or sh_db_tx with its parameters copied. Jobs wait in a bounded FIFO
 * queue until a slot is IDLE; a timer fails the oldest ones after queue_timeout_ms. A finished
 * job (with its PGresult or an error text) goes to the `done` list, and a zero-delay timer
 * delivers the callbacks on a later turn of the loop, so that no callback ever runs inside
 * sh_db_query. Refused calls go the same way: SH_ERR for bad arguments, SH_ERR_UNAVAILABLE for a
 * full queue (the call returns SH_ERR_LIMIT), a draining pool (SH_ERR_STATE) or a down one.
 * connect_timeout_ms and queue_timeout_ms of 0 mean 5 s.
 *
 * A transaction runs as BEGIN, the statements, COMMIT, one command at a time on one slot; on the
 * first failing statement it sends ROLLBACK and reports that statement's result.
 *
 * Prepared statements: each slot keeps a cache of the statements it prepared, keyed by the SQL
 * text, so that a query PostgreSQL has seen on this connection is not parsed and planned again.
 * A single sh_db_query statement that is cacheable (it starts with SELECT, INSERT, UPDATE,
 * DELETE, WITH or VALUES and has no ';' but trailing ones) runs as PQsendPrepare (name "sh_N")
 * on its first use on the slot, then PQsendQueryPrepared; later uses go straight to the prepared
 * one. Everything else stays on the unnamed path (PQsendQueryParams): transactions (BEGIN, their
 * statements, COMMIT, ROLLBACK), SET statement_timeout, DDL and anything with several statements.
 * The cache is bounded: at most SH_DB_STMT_CACHE_MAX statements are ever prepared on one
 * connection; beyond that, new statements take the unnamed path (no DEALLOCATE, no eviction, so
 * the server never holds more than the bound). A failing PREPARE is not cached and its result is
 * the job's result, which is exactly the error the unnamed path gives (both fail in Parse). A
 * reconnected slot starts with an empty cache (prepared statements live in the session).
 * PostgreSQL refuses to run a prepared statement whose result columns changed since it was
 * prepared (DDL at run time: "cached plan must not change result type", SQLSTATE 0A000): on a
 * 0A000 error from a prepared statement outside a transaction, the entry is dropped and the
 * statement runs once more on the unnamed path, whose result is the job's (a failed autocommit
 * statement changed nothing, so running it again is safe; a genuine 0A000 error just comes back
 * from the unnamed path as it would have). The next use prepares it afresh.
 *
 * Broken connections: a read error, a closed socket or a FATAL/connection-class error result
 * closes the slot, fails its job with SH_ERR_UNAVAILABLE and schedules a reconnect. While no slot
 * is up after a failure (`down`), new jobs fail at once; queued ones wait for their queue timeout.
 *
 * Ownership: the pool owns every job and PGresult; sh_db_result lives on the delivering stack
 * frame during the callback only. Thread: the loop thread only.
 */
#include "core/db.h"
#include "core/db_stmt.h"
#include "core/log.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#define WHO "db"
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_QUEUE_TIMEOUT_MS 5000
#define MAX_PARAMS 65535
#define MAX_POOL 256
#define LOST "database connection lost: "

enum { C_WAIT = 0, C_CONNECTING, C_SETUP, C_IDLE, C_BUSY };

struct sh_db_result {
    const PGresult *pg; /* NULL when the query never reached the server */
    int status;         /* SH_OK, SH_ERR or SH_ERR_UNAVAILABLE */
    const char *error;  /* "" when status is SH_OK */
    const char *sqlstate;
};

typedef struct stmt_copy {
    char *sql;
    int nparams;
    char **params; /* NULL entries are SQL NULL */
} stmt_copy;

enum { P_NONE = 0, P_PARSE, P_EXEC }; /* job.prep: unnamed, PREPARE running, prepared running */

typedef struct job {
    struct job *next;
    int is_tx;
    int prep;        /* single statement: P_NONE, P_PARSE or P_EXEC on the current slot */
    int unnamed;     /* run on the unnamed path only (retry after a changed result type) */
    char pname[16];  /* the prepared statement's name while prep != P_NONE */
    int nstmts;
    stmt_copy *stmts;
    sh_db_cb cb;
    void *ud;
    uint64_t enq_ms;
    int step;         /* tx: 0 BEGIN, 1..n statements, n+1 COMMIT */
    int rolling_back; /* tx: ROLLBACK is running */
    PGresult *keep;   /* tx: the last statement's result, or the failing one */
    /* outcome, once finished */
    int status;
    PGresult *res;
    char *err; /* our own error text when `res` has none */
} job;

typedef struct jobq {
    job *head, *tail;
    int n;
} jobq;

typedef struct conn {
    sh_db *db;
    int idx;
    int state;
    PGconn *pg;
    struct event *rev, *wev; /* on PQsocket: read (always while connected), write (to flush) */
    struct event *timer;     /* WAIT: next attempt; CONNECTING/SETUP: attempt timeout */
    int backoff_ms;
    int ever_up;
    int fail_logged; /* one log line per outage, not one per attempt */
    int flushing;
    job *job;
    PGresult *cur; /* the result of the command being read */
    sh_db_pstmts stmts; /* what this session prepared (db_stmt.h) */
} conn;

struct sh_db {
    struct event_base *base;
    char *conninfo;
    sh_db_config cfg;
    conn *conns;
    jobq queue, done;
    struct event *deliver_ev, *qtimer;
    int up, busy;
    int down;       /* no slot up since a failure: new jobs fail at once */
    int draining;   /* sh_db_drain was called */
    int closing;    /* sh_db_free is running */
    int delivering; /* callbacks are running */
    int free_asked; /* sh_db_free was called from a callback */
    sh_db_stats st; /* the counters; the gauges are filled in by sh_db_stats_get */
};

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval ms_tv(uint64_t ms) {
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* The first line of a libpq message, without "ERROR:  " style prefixes or trailing space.
 * Returns a malloc'd string (NULL only when out of memory). */
static char *first_line(const char *prefix, const char *s) {
    if (!s)
        s = "";
    size_t len = strcspn(s, "\n");
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    size_t plen = prefix ? strlen(prefix) : 0;
    char *out = malloc(plen + len + 1);
    if (!out)
        return NULL;
    if (plen)
        memcpy(out, prefix, plen);
    memcpy(out + plen, s, len);
    out[plen + len] = '\0';
    return out;
}

static void q_push(jobq *q, job *j) {
    j->next = NULL;
    if (q->tail)
        q->tail->next = j;
    else
        q->head = j;
    q->tail = j;
    q->n++;
}

static void q_push_front(jobq *q, job *j) {
    j->next = q->head;
    q->head = j;
    if (!q->tail)
        q->tail = j;
    q->n++;
}

static job *q_pop(jobq *q) {
    job *j = q->head;
    if (!j)
        return NULL;
    q->head = j->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    j->next = NULL;
    return j;
}

/* ---- jobs --------------------------------------------------------------------------------- */

static void job_free(job *j) {
    if (!j)
        return;
    for (int i = 0; i < j->nstmts && j->stmts; i++) {
        stmt_copy *s = &j->stmts[i];
        for (int k = 0; k < s->nparams && s->params; k++)
            free(s->params[k]);
        free(s->params);
        free(s->sql);
    }
    free(j->stmts);
    PQclear(j->keep);
    PQclear(j->res);
    free(j->err);
    free(j);
}

static int stmts_valid(const sh_db_stmt *stmts, int n) {
    if (!stmts || n < 1)
        return 0;
    for (int i = 0; i < n; i++)
        if (!stmts[i].sql || stmts[i].nparams < 0 || stmts[i].nparams > MAX_PARAMS ||
            (stmts[i].nparams > 0 && !stmts[i].params))
            return 0;
    return 1;
}

/* A job with copies of `stmts` (valid), or with none (stmts NULL). NULL when out of memory. */
static job *job_new(const sh_db_stmt *stmts, int n, int is_tx, sh_db_cb cb, void *ud) {
    job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->is_tx = is_tx;
    j->cb = cb;
    j->ud = ud;
    if (!stmts)
        return j;
    j->stmts = calloc((size_t)n, sizeof *j->stmts);
    if (!j->stmts)
        goto fail;
    j->nstmts = n;
    for (int i = 0; i < n; i++) {
        stmt_copy *s = &j->stmts[i];
        if (!(s->sql = strdup(stmts[i].sql)))
            goto fail;
        if (stmts[i].nparams == 0)
            continue;
        if (!(s->params = calloc((size_t)stmts[i].nparams, sizeof *s->params)))
            goto fail;
        s->nparams = stmts[i].nparams;
        for (int k = 0; k < s->nparams; k++)
            if (stmts[i].params[k] && !(s->params[k] = strdup(stmts[i].params[k])))
                goto fail;
    }
    return j;
fail:
    job_free(j);
    return NULL;
}

/* The job is over: queue it for delivery (takes `res`; `msg` is copied). */
static void finish(sh_db *db, job *j, int status, PGresult *res, const char *msg) {
    if (j->res != res)
        PQclear(j->res);
    j->status = status;
    j->res = res;
    free(j->err);
    j->err = msg ? first_line(NULL, msg) : NULL;
    if (status == SH_ERR)
        db->st.errors++;
    else if (status == SH_ERR_UNAVAILABLE)
        db->st.unavailable++;
    q_push(&db->done, j);
    /* a zero timer, not event_active: the loop polls sockets and timers before delivering,
     * so a callback that retries at once cannot starve the reconnection */
    static const struct timeval zero = {0, 0};
    if (db->deliver_ev)
        evtimer_add(db->deliver_ev, &zero);
}

static void run_callback(job *j) {
    if (!j->cb)
        return;
    sh_db_result r = {.pg = j->res, .status = j->status, .error = "", .sqlstate = ""};
    if (j->res) {
        const char *st = PQresultErrorField(j->res, PG_DIAG_SQLSTATE);
        const char *pm = PQresultErrorField(j->res, PG_DIAG_MESSAGE_PRIMARY);
        if (st)
            r.sqlstate = st;
        if (j->status != SH_OK && pm)
            r.error = pm;
    }
    /* our own text first for unavailability ("connection lost: ..."), the server's for errors */
    if (j->err && j->status != SH_OK && (j->status == SH_ERR_UNAVAILABLE || !r.error[0]))
        r.error = j->err;
    if (j->status != SH_OK && !r.error[0])
        r.error = j->status == SH_ERR_UNAVAILABLE ? "database unavailable" : "database error";
    j->cb(&r, j->ud);
}

static void destroy(sh_db *db);

static void deliver_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_db *db = arg;
    jobq batch = db->done; /* callbacks queued by these callbacks wait for the next turn */
    db->done = (jobq){0};
    db->delivering = 1;
    job *j;
    while (!db->free_asked && (j = q_pop(&batch))) {
        run_callback(j);
        job_free(j);
    }
    db->delivering = 0;
    if (db->free_asked) { /* undelivered ones first, then the newer ones */
        while ((j = q_pop(&db->done)))
            q_push(&batch, j);
        db->done = batch;
        destroy(db);
    }
}

/* ---- the queue timer ---------------------------------------------------------------------- */

static void arm_qtimer(sh_db *db) {
    if (!db->queue.head) {
        evtimer_del(db->qtimer);
        return;
    }
    uint64_t due = db->queue.head->enq_ms + (uint64_t)db->cfg.queue_timeout_ms, now = now_ms();
    struct timeval tv = ms_tv(due > now ? due - now : 0);
    evtimer_add(db->qtimer, &tv);
}

static void qtimer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_db *db = arg;
    uint64_t now = now_ms();
    while (db->queue.head && db->queue.head->enq_ms + (uint64_t)db->cfg.queue_timeout_ms <= now)
        finish(db, q_pop(&db->queue), SH_ERR_UNAVAILABLE, NULL,
               "timed out waiting for a database connection");
    arm_qtimer(db);
}

/* ---- connections -------------------------------------------------------------------------- */

static void conn_io_cb(evutil_socket_t fd, short what, void *arg);
static void pump(sh_db *db);

static void notice_cb(void *arg, const char *message) {
    conn *c = arg;
    char *line = first_line(NULL, message);
    SH_LOG_D(WHO, "connection %d: %s", c->idx, line ? line : "notice");
    free(line);
}

static void conn_unwatch(conn *c) {
    if (c->rev)
        event_free(c->rev);
    if (c->wev)
        event_free(c->wev);
    c->rev = c->wev = NULL;
}

static void conn_close(conn *c) {
    sh_db_stmts_clear(&c->stmts); /* prepared statements live in the session */
    conn_unwatch(c);
    if (c->timer)
        evtimer_del(c->timer);
    PQclear(c->cur);
    c->cur = NULL;
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
    c->flushing = 0;
}

/* (Re)create the socket events; during the connection handshake libpq may change sockets. */
static int conn_watch(conn *c, short what) {
    evutil_socket_t fd = PQsocket(c->pg);
    if (fd < 0)
        return -1;
    conn_unwatch(c);
    c->rev = event_new(c->db->base, fd, EV_READ | EV_PERSIST, conn_io_cb, c);
    c->wev = event_new(c->db->base, fd, EV_WRITE | EV_PERSIST, conn_io_cb, c);
    if (!c->rev || !c->wev)
        return -1;
    if ((what & EV_READ) && event_add(c->rev, NULL) < 0)
        return -1;
    if ((what & EV_WRITE) && event_add(c->wev, NULL) < 0)
        return -1;
    return 0;
}

/* The slot failed or broke: fail its job (unavailable; takes `res`), close, schedule a retry. */
static void conn_fail(conn *c, PGresult *res, const char *why) {
    sh_db *db = c->db;
    char *msg = first_line(LOST, why && *why ? why : "unknown error");
    const char *reason = msg ? msg + sizeof LOST - 1 : "out of memory";
    int was_up = c->state == C_IDLE || c->state == C_BUSY;
    if (c->job) {
        job *j = c->job;
        c->job = NULL;
        db->busy--;
        PQclear(j->keep);
        j->keep = NULL;
        finish(db, j, SH_ERR_UNAVAILABLE, res, msg ? msg : "database connection lost");
    } else {
        PQclear(res);
    }
    conn_close(c);
    if (was_up) {
        db->up--;
        SH_LOG_W(WHO, "connection %d lost: %s", c->idx, reason);
    } else if (!c->fail_logged) {
        SH_LOG_W(WHO, "connection %d failed: %s", c->idx, reason);
    }
    c->fail_logged = 1;
    free(msg);
    if (db->up == 0)
        db->down = 1;
    c->state = C_WAIT;
    if (db->closing)
        return;
    struct timeval tv = ms_tv((uint64_t)c->backoff_ms);
    evtimer_add(c->timer, &tv);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

static void conn_up(conn *c) {
    sh_db *db = c->db;
    evtimer_del(c->timer);
    c->state = C_IDLE;
    db->up++;
    db->down = 0;
    if (c->ever_up || c->fail_logged) {
        if (c->ever_up)
            db->st.reconnects++;
        SH_LOG_I(WHO, "connection %d up", c->idx);
    }
    c->ever_up = 1;
    c->fail_logged = 0;
    c->backoff_ms = BACKOFF_MIN_MS;
    pump(db);
}

/* Flush what libpq buffered; watch for writability while some remains. -1 on failure. */
static int conn_flush(conn *c) {
    int r = PQflush(c->pg);
    if (r < 0)
        return -1;
    if (r > 0 && !c->flushing && event_add(c->wev, NULL) < 0)
        return -1;
    if (r == 0 && c->flushing)
        event_del(c->wev);
    c->flushing = r > 0;
    return 0;
}

static void conn_connected(conn *c) {
    if (PQsetnonblocking(c->pg, 1) != 0 || conn_watch(c, EV_READ) < 0) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    if (c->db->cfg.statement_timeout_ms <= 0) {
        conn_up(c);
        return;
    }
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", c->db->cfg.statement_timeout_ms);
    c->state = C_SETUP;
    if (!PQsendQuery(c->pg, sql) || conn_flush(c) < 0)
        conn_fail(c, NULL, PQerrorMessage(c->pg));
}

static void conn_poll(conn *c) {
    PostgresPollingStatusType p = PQconnectPoll(c->pg);
    if (p == PGRES_POLLING_OK)
        conn_connected(c);
    else if (p == PGRES_POLLING_FAILED)
        conn_fail(c, NULL, PQerrorMessage(c->pg));
    else if (conn_watch(c, p == PGRES_POLLING_READING ? EV_READ : EV_WRITE) < 0)
        conn_fail(c, NULL, "cannot watch the connection socket");
}

static void conn_connect(conn *c) {
    c->state = C_CONNECTING;
    c->pg = PQconnectStart(c->db->conninfo);
    if (!c->pg) {
        conn_fail(c, NULL, "out of memory");
        return;
    }
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    PQsetNoticeProcessor(c->pg, notice_cb, c);
    struct timeval tv = ms_tv((uint64_t)c->db->cfg.connect_timeout_ms);
    evtimer_add(c->timer, &tv);
    if (conn_watch(c, EV_WRITE) < 0) /* as if PQconnectPoll had said WRITING */
        conn_fail(c, NULL, "cannot watch the connection socket");
}

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn *c = arg;
    if (c->state == C_WAIT)
        conn_connect(c);
    else if (c->state == C_CONNECTING || c->state == C_SETUP)
        conn_fail(c, NULL, "connection attempt timed out");
}

/* Did a prepared statement fail because it cannot run as prepared (its result type changed)?
 * Only outside a transaction, where running it again is harmless. */
static int res_replan(const conn *c, const job *j, const PGresult *r) {
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return j->prep == P_EXEC && !j->unnamed && st && strcmp(st, "0A000") == 0 &&
           PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}

/* ---- running jobs ------------------------------------------------------------------------- */

/* Send a single statement (not a transaction's): the prepared one when this slot has it, a
 * PREPARE when it may be cached and the bound allows, else the unnamed path. */
static int send_single(conn *c) {
    job *j = c->job;
    const stmt_copy *s = &j->stmts[0];
    const char *const *params = (const char *const *)s->params;
    int rc;
    if (j->prep == P_PARSE) { /* the PREPARE succeeded: run it */
        j->prep = P_EXEC;
        rc = PQsendQueryPrepared(c->pg, j->pname, s->nparams, params, NULL, NULL, 0);
    } else {
        const char *name = j->unnamed ? NULL : sh_db_stmts_find(&c->stmts, s->sql);
        if (name) {
            j->prep = P_EXEC;
            snprintf(j->pname, sizeof j->pname, "%s", name);
            rc = PQsendQueryPrepared(c->pg, j->pname, s->nparams, params, NULL, NULL, 0);
        } else if (!j->unnamed && c->stmts.prepared < SH_DB_STMT_CACHE_MAX && sh_db_sql_cacheable(s->sql)) {
            j->prep = P_PARSE;
            snprintf(j->pname, sizeof j->pname, "sh_%d", c->stmts.prepared + 1);
            rc = PQsendPrepare(c->pg, j->pname, s->sql, s->nparams, NULL);
        } else {
            j->prep = P_NONE;
            rc = PQsendQueryParams(c->pg, s->sql, s->nparams, NULL, params, NULL, NULL, 0);
        }
    }
    if (!rc)
        return -1;
    return conn_flush(c);
}

/* Send the job's current command. 0, or -1 when libpq refused it (see PQerrorMessage). */
static int send_step(conn *c) {
    job *j = c->job;
    const char *sql;
    int np = 0;
    const char *const *params = NULL;
    if (!j->is_tx)
        return send_single(c);
    if (j->rolling_back) {
        sql = "ROLLBACK";
    } else if (j->step == 0) {
        sql = "BEGIN";
    } else if (j->step > j->nstmts) {
        sql = "COMMIT";
    } else {
        const stmt_copy *s = &j->stmts[j->step - 1];
        sql = s->sql;
        np = s->nparams;
        params = (const char *const *)s->params;
    }
    if (!PQsendQueryParams(c->pg, sql, np, NULL, params, NULL, NULL, 0))
        return -1;
    return conn_flush(c);
}

/* The slot's job is over with `status` (takes `res`); the slot becomes idle. */
static void job_done(conn *c, int status, PGresult *res) {
    job *j = c->job;
    c->job = NULL;
    c->state = C_IDLE;
    c->db->busy--;
    finish(c->db, j, status, res, NULL);
}

static void conn_start(conn *c, job *j) {
    sh_db *db = c->db;
    c->job = j;
    c->state = C_BUSY;
    db->busy++;
    j->step = 0;
    j->prep = P_NONE; /* a prepared statement is this slot's: look it up again */
    if (send_step(c) == 0)
        return;
    c->job = NULL;
    db->busy--;
    if (PQstatus(c->pg) == CONNECTION_BAD) { /* nothing reached the server: another slot may */
        q_push_front(&db->queue, j);
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    c->state = C_IDLE;
    finish(db, j, SH_ERR, NULL, PQerrorMessage(c->pg));
}

/* Start queued jobs on idle slots. */
static void pump(sh_db *db) {
    for (int i = 0; i < db->cfg.pool_size && !db->closing; i++) {
        conn *c = &db->conns[i];
        /* a job that fails to start leaves the slot idle (or closed): try the next one */
        while (c->state == C_IDLE && db->queue.head)
            conn_start(c, q_pop(&db->queue));
    }
    arm_qtimer(db);
}

static int res_ok(const PGresult *r) {
    ExecStatusType st = PQresultStatus(r);
    return r && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY);
}

/* Does this error mean the connection is gone (the server is shutting down, the backend was
 * terminated, a connection exception) rather than that the statement failed? */
static int res_fatal(const conn *c, const PGresult *r) {
    if (PQstatus(c->pg) == CONNECTION_BAD)
        return 1;
    if (!r || res_ok(r))
        return 0;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0))
        return 1;
    return st && (strncmp(st, "08", 2) == 0 || strncmp(st, "57P", 3) == 0);
}

/* One command of the slot's job completed with `r` (taken). -1 when the slot was closed. */
static int step_done(conn *c, PGresult *r) {
    job *j = c->job;
    if (c->state == C_SETUP) {
        if (!res_ok(r)) {
            char *msg = first_line("SET statement_timeout: ", PQresultErrorMessage(r));
            conn_fail(c, r, msg ? msg : "SET statement_timeout failed");
            free(msg);
            return -1;
        }
        PQclear(r);
        conn_up(c);
        return 0;
    }
    if (res_fatal(c, r)) {
        const char *pm = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        conn_fail(c, r, pm ? pm : r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
        return -1;
    }
    int ok = res_ok(r);
    if (!j->is_tx) {
        if (j->prep == P_PARSE && ok) { /* prepared: cache it, then run it */
            c->db->st.prepares++;
            sh_db_stmts_add(&c->stmts, j->stmts[0].sql, j->pname);
            PQclear(r);
            if (send_single(c) < 0) {
                conn_fail(c, NULL, PQerrorMessage(c->pg));
                return -1;
            }
            return 0;
        }
        if (!ok && res_replan(c, j, r)) { /* drop the entry, run it once more unprepared */
            sh_db_stmts_drop(&c->stmts, j->pname);
            PQclear(r);
            j->unnamed = 1;
            j->prep = P_NONE;
            if (send_single(c) < 0) {
                conn_fail(c, NULL, PQerrorMessage(c->pg));
                return -1;
            }
            return 0;
        }
        if (ok && j->prep == P_EXEC)
            c->db->st.prepared_runs++;
        job_done(c, ok ? SH_OK : SH_ERR, r); /* a failed PREPARE reports its error as is */
        return 0;
    }
    if (j->rolling_back) {
        PQclear(r);
        PGresult *keep = j->keep;
        j->keep = NULL;
        job_done(c, SH_ERR, keep);
        if (!ok) /* the transaction state is unknown: start afresh */
            conn_fail(c, NULL, "ROLLBACK failed");
        return ok ? 0 : -1;
    }
    if (j->step == 0 || j->step > j->nstmts) { /* BEGIN or COMMIT */
        if (!ok) {
            job_done(c, SH_ERR, r);
            return 0;
        }
        PQclear(r);
        if (j->step > j->nstmts) {
            PGresult *keep = j->keep;
            j->keep = NULL;
            job_done(c, SH_OK, keep);
            return 0;
        }
    } else {
        PQclear(j->keep);
        j->keep = r;
        if (!ok)
            j->rolling_back = 1;
    }
    if (!j->rolling_back)
        j->step++;
    if (send_step(c) < 0) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return -1;
    }
    return 0;
}

/* Read every complete result; start the next command or job as each one ends. */
static void conn_read(conn *c) {
    PGnotify *n;
    while ((n = PQnotifies(c->pg)))
        PQfreemem(n);
    if (PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    while (c->state == C_BUSY || c->state == C_SETUP) {
        if (PQisBusy(c->pg))
            return;
        PGresult *r = PQgetResult(c->pg);
        if (r) {
            ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                PQclear(r);
                job *j = c->job;
                if (j) {
                    c->job = NULL;
                    c->db->busy--;
                    finish(c->db, j, SH_ERR, NULL, "COPY is not supported by the pool");
                }
                conn_fail(c, NULL, "COPY is not supported by the pool");
                return;
            }
            /* keep the first error, else the last result */
            if (!c->cur || res_ok(c->cur)) {
                PQclear(c->cur);
                c->cur = r;
            } else {
                PQclear(r);
            }
            continue;
        }
        r = c->cur;
        c->cur = NULL;
        if (step_done(c, r) < 0)
            return;
        if (c->state == C_IDLE)
            pump(c->db);
    }
}

static void conn_io_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    conn *c = arg;
    if (c->state == C_CONNECTING) {
        conn_poll(c);
        return;
    }
    if ((what & EV_READ) && !PQconsumeInput(c->pg)) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    if (c->flushing && conn_flush(c) < 0) {
        conn_fail(c, NULL, PQerrorMessage(c->pg));
        return;
    }
    conn_read(c);
}

/* ---- the pool ----------------------------------------------------------------------------- */

sh_db *sh_db_new(struct event_base *base, const sh_db_config *cfg) {
    if (!base || !cfg || !cfg->conninfo || cfg->pool_size < 1 || cfg->pool_size > MAX_POOL ||
        cfg->queue_max < 0 || cfg->connect_timeout_ms < 0 || cfg->statement_timeout_ms < 0 ||
        cfg->queue_timeout_ms < 0)
        return NULL;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(cfg->conninfo, &perr);
    if (!opts) {
        char *line = first_line(NULL, perr ? perr : "out of memory");
        SH_LOG_E(WHO, "bad connection string: %s", line ? line : "?");
        free(line);
        PQfreemem(perr);
        return NULL;
    }
    PQconninfoFree(opts);

    sh_db *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    db->base = base;
    db->cfg = *cfg;
    if (db->cfg.connect_timeout_ms == 0)
        db->cfg.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (db->cfg.queue_timeout_ms == 0)
        db->cfg.queue_timeout_ms = DEFAULT_QUEUE_TIMEOUT_MS;
    db->conninfo = strdup(cfg->conninfo);
    db->cfg.conninfo = db->conninfo;
    db->conns = calloc((size_t)cfg->pool_size, sizeof *db->conns);
    db->deliver_ev = evtimer_new(base, deliver_cb, db);
    db->qtimer = evtimer_new(base, qtimer_cb, db);
    if (!db->conninfo || !db->conns || !db->deliver_ev || !db->qtimer)
        goto fail;
    for (int i = 0; i < cfg->pool_size; i++) {
        conn *c = &db->conns[i];
        c->db = db;
        c->idx = i;
        c->backoff_ms = BACKOFF_MIN_MS;
        if (!(c->timer = evtimer_new(base, conn_timer_cb, c)))
            goto fail;
    }
    for (int i = 0; i < cfg->pool_size; i++)
        conn_connect(&db->conns[i]);
    return db;
fail:
    db->closing = 1;
    destroy(db);
    return NULL;
}

static void destroy(sh_db *db) {
    db->closing = 1;
    db->delivering = 1;
    for (int i = 0; db->conns && i < db->cfg.pool_size; i++) {
        conn *c = &db->conns[i];
        if (c->job) {
            finish(db, c->job, SH_ERR_UNAVAILABLE, NULL, "database pool closed");
            c->job = NULL;
        }
        conn_close(c);
        if (c->timer)
            event_free(c->timer);
    }
    job *j;
    while ((j = q_pop(&db->queue)))
        finish(db, j, SH_ERR_UNAVAILABLE, NULL, "database pool closed");
    while ((j = q_pop(&db->done))) { /* callbacks may add more (they fail at once) */
        run_callback(j);
        job_free(j);
    }
    if (db->deliver_ev)
        event_free(db->deliver_ev);
    if (db->qtimer)
        event_free(db->qtimer);
    free(db->conns);
    free(db->conninfo);
    free(db);
}

void sh_db_free(sh_db *db) {
    if (!db || db->closing)
        return;
    if (db->delivering) { /* inside one of our callbacks: finish when it returns */
        db->free_asked = 1;
        return;
    }
    destroy(db);
}

void sh_db_drain(sh_db *db) {
    if (db)
        db->draining = 1;
}

int sh_db_available(const sh_db *db) { return db && db->up > 0; }

void sh_db_stats_get(const sh_db *db, sh_db_stats *out) {
    if (!out)
        return;
    *out = db ? db->st : (sh_db_stats){0};
    out->connections_up = db ? db->up : 0;
    out->busy = db ? db->busy : 0;
    out->queued = db ? db->queue.n : 0;
}

static int submit(sh_db *db, const sh_db_stmt *stmts, int n, int is_tx, sh_db_cb cb, void *ud) {
    if (!db)
        return SH_ERR_INVALID;
    db->st.queries++;
    int valid = stmts_valid(stmts, n);
    job *j = job_new(valid ? stmts : NULL, n, is_tx, cb, ud);
    if (!j && valid)
        j = job_new(NULL, 0, is_tx, cb, ud);
    if (!j) {
        SH_LOG_E(WHO, "out of memory: a query's callback is lost");
        return SH_ERR_NOMEM;
    }
    if (!j->stmts) {
        finish(db, j, SH_ERR, NULL, valid ? "out of memory" : "invalid query arguments");
        return valid ? SH_ERR_NOMEM : SH_ERR_INVALID;
    }
    if (db->closing || db->draining) {
        finish(db, j, SH_ERR_UNAVAILABLE, NULL, "database pool is shutting down");
        return SH_ERR_STATE;
    }
    if (db->down) {
        finish(db, j, SH_ERR_UNAVAILABLE, NULL, "database unavailable");
        return SH_ERR_UNAVAILABLE;
    }
    int idle = 0;
    for (int i = 0; i < db->cfg.pool_size && !idle; i++)
        idle = db->conns[i].state == C_IDLE;
    if (!idle && db->queue.n >= db->cfg.queue_max) {
        finish(db, j, SH_ERR_UNAVAILABLE, NULL, "database queue full");
        return SH_ERR_LIMIT;
    }
    j->enq_ms = now_ms();
    q_push(&db->queue, j);
    pump(db);
    return SH_OK;
}

int sh_db_query(sh_db *db, const char *sql, int nparams, const char *const *params, sh_db_cb cb,
                void *ud) {
    sh_db_stmt s = {.sql = sql, .nparams = nparams, .params = params};
    return submit(db, &s, 1, 0, cb, ud);
}

int sh_db_tx(sh_db *db, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud) {
    return submit(db, stmts, n, 1, cb, ud);
}

/* ---- results ------------------------------------------------------------------------------ */

int sh_db_res_status(const sh_db_result *res) { return res ? res->status : SH_ERR_INVALID; }

const char *sh_db_res_error(const sh_db_result *res) { return res ? res->error : ""; }

const char *sh_db_res_sqlstate(const sh_db_result *res) { return res ? res->sqlstate : ""; }

/* The rows of a successful result; NULL otherwise (libpq's accessors accept NULL). */
static PGresult *rows(const sh_db_result *res) {
    return res && res->status == SH_OK ? (PGresult *)res->pg : NULL;
}

int sh_db_res_nrows(const sh_db_result *res) { return PQntuples(rows(res)); }

int sh_db_res_ncols(const sh_db_result *res) { return PQnfields(rows(res)); }

const char *sh_db_res_value(const sh_db_result *res, int row, int col) {
    PGresult *r = rows(res);
    if (!r || row < 0 || col < 0 || row >= PQntuples(r) || col >= PQnfields(r) ||
        PQgetisnull(r, row, col))
        return NULL;
    return PQgetvalue(r, row, col);
}

int sh_db_res_col(const sh_db_result *res, const char *name) {
    PGresult *r = rows(res);
    /* exact names (PQfnumber would fold unquoted ones to lower case) */
    for (int i = 0, n = PQnfields(r); name && i < n; i++)
        if (strcmp(PQfname(r, i), name) == 0)
            return i;
    return -1;
}

int64_t sh_db_res_affected(const sh_db_result *res) {
    return strtoll(PQcmdTuples(rows(res)), NULL, 10);
}
