/*
 * db_migrate.c - sh_db_migrate of core/db.h: plugin migrations at start-up, blocking.
 *
 * One connection of its own. Under a session advisory lock (so that nodes starting together
 * serialize, and the later ones find everything applied) it creates the bookkeeping table
 * `streamhub_migrations` if missing, then runs each migration not yet recorded in a transaction
 * of its own together with its record: BEGIN; the SQL (simple protocol, so it may hold several
 * statements, but no transaction control); INSERT the record; COMMIT. The first failure is rolled
 * back and stops everything. Called before the loop runs, on the main thread.
 */
#include "core/db.h"
#include "core/log.h"

#include <stdio.h>
#include <string.h>

#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

/* pg_advisory_lock key: "SHMIGRAT" as a big-endian int64 */
#define MIGRATE_LOCK_KEY "6001131480595710292"

static void quiet_notice(void *arg, const char *message) {
    (void)arg;
    (void)message;
}

/* err = "plugin P: migration ID failed: <first line of s>" (m given) or "migrations: <s>". */
static void set_err(char *err, size_t errlen, const sh_migration *m, const char *s) {
    if (!err || errlen == 0)
        return;
    if (!s)
        s = "";
    int len = (int)strcspn(s, "\n");
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    if (m)
        snprintf(err, errlen, "plugin %s: migration %s failed: %.*s", m->plugin, m->id, len, s);
    else
        snprintf(err, errlen, "migrations: %.*s", len, s);
}

/* The primary message of a failed result, or libpq's own text. */
static const char *pg_message(PGconn *pg, const PGresult *r) {
    const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (m)
        return m;
    m = r ? PQresultErrorMessage(r) : NULL;
    return m && *m ? m : PQerrorMessage(pg);
}

/* Run a command that must succeed. 0, or -1 with err. */
static int exec_ok(PGconn *pg, const char *sql, int np, const char *const *params, PGresult **out,
                   char *err, size_t errlen) {
    PGresult *r = np ? PQexecParams(pg, sql, np, NULL, params, NULL, NULL, 0) : PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        set_err(err, errlen, NULL, pg_message(pg, r));
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

/* One migration in its own transaction. 1 applied, 0 already there, -1 failed (with err). */
static int apply_one(PGconn *pg, const sh_migration *m, char *err, size_t errlen) {
    const char *key[2] = {m->plugin, m->id};
    PGresult *r = NULL;
    if (exec_ok(pg, "SELECT 1 FROM streamhub_migrations WHERE plugin = $1 AND id = $2", 2, key, &r,
                err, errlen) < 0)
        return -1;
    int done = PQntuples(r) > 0;
    PQclear(r);
    if (done)
        return 0;
    if (exec_ok(pg, "BEGIN", 0, NULL, NULL, err, errlen) < 0)
        return -1;
    r = PQexec(pg, m->sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
        set_err(err, errlen, m,
                st == PGRES_COPY_IN || st == PGRES_COPY_OUT ? "COPY is not allowed in a migration"
                                                            : pg_message(pg, r));
        PQclear(r);
        goto rollback;
    }
    PQclear(r);
    if (PQtransactionStatus(pg) != PQTRANS_INTRANS) { /* the SQL ended our transaction */
        set_err(err, errlen, m,
                "transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed in a migration");
        goto rollback;
    }
    r = PQexecParams(pg, "INSERT INTO streamhub_migrations (plugin, id) VALUES ($1, $2)", 2, NULL,
                     key, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        set_err(err, errlen, m, pg_message(pg, r));
        PQclear(r);
        goto rollback;
    }
    PQclear(r);
    r = PQexec(pg, "COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK ||
        strcmp(PQcmdStatus(r), "COMMIT") != 0) { /* e.g. a deferred constraint */
        set_err(err, errlen, m,
                PQresultStatus(r) == PGRES_COMMAND_OK ? "COMMIT rolled back" : pg_message(pg, r));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    PQclear(PQexec(pg, "RESET ALL")); /* a plain SET in one migration must not leak into the next */
    return 1;
rollback:
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}

int sh_db_migrate(const char *conninfo, const sh_migration *list, size_t n, int *applied, char *err,
                  size_t errlen) {
    if (applied)
        *applied = 0;
    if (err && errlen)
        err[0] = '\0';
    if (!conninfo || (n && !list)) {
        set_err(err, errlen, NULL, "invalid arguments");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!list[i].plugin || !list[i].id || !list[i].sql) {
            set_err(err, errlen, NULL, "a migration lacks plugin, id or sql");
            return -1;
        }
    PGconn *pg = PQconnectdb(conninfo);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        set_err(err, errlen, NULL, pg ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        return -1;
    }
    PQsetNoticeProcessor(pg, quiet_notice, NULL);
    int rc = -1, count = 0;
    /* the lock first: concurrent CREATE TABLE IF NOT EXISTS can fail on its catalog entries */
    if (exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", 0, NULL, NULL, err, errlen) <
        0)
        goto out;
    if (exec_ok(
            pg,
            "CREATE TABLE IF NOT EXISTS streamhub_migrations (plugin text NOT NULL, id text NOT "
            "NULL, applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (plugin, id))",
            0, NULL, NULL, err, errlen) < 0)
        goto unlock;
    size_t i;
    for (i = 0; i < n; i++) {
        int r = apply_one(pg, &list[i], err, errlen);
        if (r < 0)
            break;
        if (r > 0) {
            count++;
            SH_LOG_I("db", "plugin %s: migration %s applied", list[i].plugin, list[i].id);
        }
    }
    if (i == n)
        rc = 0;
unlock:
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
out:
    PQfinish(pg); /* also releases the lock if the unlock could not run */
    if (applied)
        *applied = count;
    return rc;
}
