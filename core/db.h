/*
 * db.h - PostgreSQL for the core: an asynchronous pool on the event loop, and migrations.
 *
 * The pool keeps `pool_size` libpq connections in non-blocking mode, each watched by a libevent
 * event on its socket. Queries queue (bounded) until a connection is free; results are delivered
 * on the loop through sh_db_cb (SDK type) with an sh_db_result that lives during the callback.
 * When the server is down, queued and new queries fail quickly with SH_ERR_UNAVAILABLE (the
 * caller answers 503) and the pool reconnects by itself with back-off; nothing hangs. A query
 * that is running when its connection breaks fails with SH_ERR_UNAVAILABLE too.
 *
 * Single statements (sh_db_query) that are plain queries or DML are prepared on their first use on
 * each connection and run prepared afterwards (a per-connection cache keyed by the SQL text, at
 * most SH_DB_STMT_CACHE_MAX statements per connection; see db.c). Results and errors are the same
 * as without the cache. Transactions and anything else run unprepared.
 *
 * Migrations run before the loop starts, on one blocking connection of their own, under a
 * PostgreSQL advisory lock so that nodes starting together do not race.
 *
 * Thread: the loop thread only.
 */
#ifndef SH_CORE_DB_H
#define SH_CORE_DB_H

#include <event2/event.h>
#include <stddef.h>
#include <streamhub/streamhub.h>

typedef struct sh_db sh_db;

/* Statements prepared on one connection at most; beyond, new ones run unprepared. */
#define SH_DB_STMT_CACHE_MAX 128

typedef struct sh_db_config {
    const char *conninfo;      /* libpq connection string or URI (copied) */
    int pool_size;             /* connections, >= 1 */
    int queue_max;             /* queued queries at most; beyond, SH_ERR_LIMIT */
    int connect_timeout_ms;    /* one connection attempt */
    int statement_timeout_ms;  /* SET statement_timeout on each connection; 0 = none */
    int queue_timeout_ms;      /* a query waiting longer than this for a connection fails (unavailable) */
} sh_db_config;

/* Create the pool and start connecting (non-blocking). NULL on bad config. */
sh_db *sh_db_new(struct event_base *base, const sh_db_config *cfg);
/* Fail every pending query (callbacks run, with SH_ERR_UNAVAILABLE), close, free. */
void sh_db_free(sh_db *db);
/* Stop taking new queries; queued ones still run. */
void sh_db_drain(sh_db *db);
/* 1 if at least one connection is up. */
int sh_db_available(const sh_db *db);
/* Counters for /metrics and /health. */
typedef struct sh_db_stats {
    int connections_up, busy, queued;
    unsigned long long queries, errors, unavailable, reconnects;
    unsigned long long prepares;      /* statements prepared (a connection's first use of each) */
    unsigned long long prepared_runs; /* successful runs of an already prepared statement */
} sh_db_stats;
void sh_db_stats_get(const sh_db *db, sh_db_stats *out);

/* One statement: params are copied; callback runs later on the loop, exactly once (even when
 * this returns an error status: then it is scheduled with an error result). */
int sh_db_query(sh_db *db, const char *sql, int nparams, const char *const *params, sh_db_cb cb,
                void *ud);
/* BEGIN; stmts...; COMMIT on one connection. The callback gets the last statement's result, or
 * the first failing statement's (after ROLLBACK). */
int sh_db_tx(sh_db *db, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud);

/* Result accessors (the SDK's db_* functions). */
int sh_db_res_status(const sh_db_result *res);
const char *sh_db_res_error(const sh_db_result *res);
const char *sh_db_res_sqlstate(const sh_db_result *res);
int sh_db_res_nrows(const sh_db_result *res);
int sh_db_res_ncols(const sh_db_result *res);
const char *sh_db_res_value(const sh_db_result *res, int row, int col);
int sh_db_res_col(const sh_db_result *res, const char *name);
int64_t sh_db_res_affected(const sh_db_result *res);

/* Migrations: applied in array order (the caller orders plugins by dependency and each plugin's
 * migrations by id). Each pending one runs in its own transaction together with its record in
 * table `streamhub_migrations (plugin, id, applied_at)`; applied ones are skipped. On failure,
 * returns -1 with `err` = "plugin P: migration ID failed: <PostgreSQL message>" and applies
 * nothing more. Blocking: call before the loop runs. `applied` (may be NULL) counts what ran. */
typedef struct sh_migration {
    const char *plugin;
    const char *id;
    const char *sql;
} sh_migration;
int sh_db_migrate(const char *conninfo, const sh_migration *list, size_t n, int *applied, char *err,
                  size_t errlen);

#endif
