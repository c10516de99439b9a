/*
 * test_db.c - core/db.c and core/db_migrate.c against a real PostgreSQL: queries, transactions, the
 * pool's life, migrations, outages (the prepared-statement cache: test_db_prepared.c; shared
 * helpers: db_test_helpers.h).
 *
 * Needs SH_TEST_PG (a conninfo, e.g. the output of `tools/pg.sh start /tmp/pgtest 25432`); without
 * it every test fails. The server-restart test also needs SH_TEST_PG_DIR and SH_TEST_PG_PORT (a
 * throwaway server that the test stops and starts with tools/pg.sh; run from the repository root)
 * and is skipped without them. Each test runs a real event_base until its callbacks fire, with a
 * safety timeout. Build (from the repository root):
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fsanitize=address,undefined -I. \
 *     -Isdk/include tests/integration/test_db.c -o /tmp/test_db \
 *     $(pkg-config --libs cmocka libpq libevent json-c) -lpthread
 */
#include "tests/integration/db_test_helpers.h"

/* ---- queries ------------------------------------------------------------------------------ */

static void test_query_returns_params_and_nulls_later_on_the_loop(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb(base, pg_url(), 2, 16, 0, 5000); /* queued while connecting */
    const char *params[] = {"41", NULL, "x'y\"z"};
    rec r = {0};
    assert_int_equal(sh_db_query(db,
                                 "SELECT $1::int + 1 AS a, $2::text AS b, $3::text AS c, "
                                 "NULL::int AS d",
                                 3, params, rec_cb, &r),
                     SH_OK);
    assert_int_equal(r.called, 0); /* never inside sh_db_query */
    assert_true(run_until(base, rec_called, &r, 5000));
    assert_int_equal(r.called, 1);
    assert_int_equal(r.status, SH_OK);
    assert_string_equal(r.error, "");
    assert_string_equal(r.sqlstate, "");
    assert_int_equal(r.nrows, 1);
    assert_int_equal(r.ncols, 4);
    assert_string_equal(r.vals[0], "42");
    assert_true(r.nulls[1]);
    assert_string_equal(r.vals[2], "x'y\"z");
    assert_true(r.nulls[3]);
    assert_int_equal(r.col_b, 1);
    assert_int_equal(r.affected, 1);

    /* callbacks run once only */
    run_for(base, 50);
    assert_int_equal(r.called, 1);
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.queries, 1);
    assert_int_equal(st.errors, 0);
    assert_int_equal(st.connections_up, 2);
    sh_db_free(db);
}

static void test_unique_violation_reports_sqlstate_23505(void **state) {
    struct event_base *base = *state;
    char t[64];
    uniq(t, sizeof t, "t_uniq");
    pg_sql("CREATE TABLE %s (id int PRIMARY KEY, name text)", t);
    sh_db *db = mkdb_up(base, 1, 16, 0);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO %s (id, name) VALUES ($1, $2)", t);
    const char *p[] = {"1", "alice"};
    rec a = {0}, b = {0};
    assert_int_equal(sh_db_query(db, sql, 2, p, rec_cb, &a), SH_OK);
    assert_int_equal(sh_db_query(db, sql, 2, p, rec_cb, &b), SH_OK);
    assert_true(run_until(base, rec_called, &b, 5000));
    assert_int_equal(a.status, SH_OK);
    assert_int_equal(a.affected, 1);
    assert_int_equal(b.status, SH_ERR);
    assert_string_equal(b.sqlstate, "23505");
    assert_non_null(strstr(b.error, "duplicate key"));
    assert_int_equal(b.nrows, 0);
    assert_true(b.nulls[0]);

    /* a syntax error is an error too, and the connection stays usable */
    rec c = {0}, d = {0};
    sh_db_query(db, "SELEC 1", 0, NULL, rec_cb, &c);
    sh_db_query(db, "SELECT 7", 0, NULL, rec_cb, &d);
    assert_true(run_until(base, rec_called, &d, 5000));
    assert_int_equal(c.status, SH_ERR);
    assert_string_equal(c.sqlstate, "42601");
    assert_int_equal(d.status, SH_OK);
    assert_string_equal(d.vals[0], "7");
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.errors, 2);
    sh_db_free(db);
    pg_sql("DROP TABLE %s", t);
}

typedef struct burst {
    int order;     /* callbacks so far */
    int idx[200];  /* query index, in callback order */
    long pid[200]; /* backend pid, in callback order */
    int ok;
} burst;

typedef struct burst_one {
    burst *b;
    int i;
} burst_one;

static void burst_cb(const sh_db_result *res, void *ud) {
    burst_one *o = ud;
    burst *b = o->b;
    if (sh_db_res_status(res) == SH_OK && atoi(sh_db_res_value(res, 0, 0)) == o->i)
        b->ok++;
    b->idx[b->order] = o->i;
    b->pid[b->order] = sh_db_res_value(res, 0, 1) ? atol(sh_db_res_value(res, 0, 1)) : -1;
    b->order++;
}

static void test_burst_of_200_over_4_connections_answered_in_order_per_connection(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 4, 1000, 0);
    burst *b = calloc(1, sizeof *b);
    burst_one one[200];
    char num[200][8];
    for (int i = 0; i < 200; i++) {
        one[i] = (burst_one){b, i};
        snprintf(num[i], sizeof num[i], "%d", i);
        const char *p[] = {num[i]};
        assert_int_equal(
            sh_db_query(db, "SELECT $1::int, pg_backend_pid()", 1, p, burst_cb, &one[i]), SH_OK);
    }
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.busy, 4);
    assert_int_equal(st.queued, 196);
    assert_true(run_count(base, &b->order, 200, 10000));
    assert_int_equal(b->ok, 200);
    long pids[4] = {0};
    int last[4] = {-1, -1, -1, -1}, npids = 0;
    for (int k = 0; k < 200; k++) {
        int p = 0;
        while (p < npids && pids[p] != b->pid[k])
            p++;
        assert_true(p < 4);
        if (p == npids)
            pids[npids++] = b->pid[k];
        assert_true(b->idx[k] > last[p]); /* in submission order on each connection */
        last[p] = b->idx[k];
    }
    assert_int_equal(npids, 4);
    sh_db_stats_get(db, &st);
    assert_int_equal(st.queries, 200);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.busy, 0);
    free(b);
    sh_db_free(db);
}

static void test_full_queue_returns_limit_and_still_calls_back(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 3, 0);
    rec r[6] = {{0}};
    int n = 0, rc = SH_OK;
    for (n = 0; n < 6; n++) {
        rc = sh_db_query(db, "SELECT pg_sleep(0.05)", 0, NULL, rec_cb, &r[n]);
        if (rc != SH_OK)
            break;
    }
    assert_int_equal(n, 4); /* one running + queue_max queued */
    assert_int_equal(rc, SH_ERR_LIMIT);
    assert_int_equal(r[4].called, 0);
    assert_true(run_until(base, rec_called, &r[4], 1000));
    assert_int_equal(r[4].status, SH_ERR_UNAVAILABLE);
    assert_string_equal(r[4].error, "database queue full");
    assert_true(run_until(base, rec_called, &r[3], 5000));
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].status, SH_OK);
    }
    sh_db_free(db);
}

static void test_invalid_arguments_fail_later_with_an_error(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb(base, pg_url(), 1, 4, 0, 5000);
    rec a = {0}, b = {0}, c = {0};
    assert_int_equal(sh_db_query(db, NULL, 0, NULL, rec_cb, &a), SH_ERR_INVALID);
    assert_int_equal(sh_db_query(db, "SELECT $1", 1, NULL, rec_cb, &b), SH_ERR_INVALID);
    assert_int_equal(sh_db_tx(db, NULL, 0, rec_cb, &c), SH_ERR_INVALID);
    assert_int_equal(a.called + b.called + c.called, 0);
    assert_true(run_until(base, rec_called, &c, 1000));
    assert_int_equal(a.status, SH_ERR);
    assert_int_equal(b.status, SH_ERR);
    assert_int_equal(c.status, SH_ERR);
    assert_null(sh_db_new(base, &(sh_db_config){.conninfo = "host='unterminated", .pool_size = 1}));
    assert_null(sh_db_new(base, &(sh_db_config){.conninfo = pg_url(), .pool_size = 0}));
    sh_db_free(db);
}

static void test_statement_timeout_cancels_a_long_query(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 4, 100);
    rec a = {0}, b = {0};
    sh_db_query(db, "SELECT pg_sleep(3)", 0, NULL, rec_cb, &a);
    sh_db_query(db, "SELECT current_setting('statement_timeout')", 0, NULL, rec_cb, &b);
    assert_true(run_until(base, rec_called, &b, 2000));
    assert_int_equal(a.status, SH_ERR);
    assert_string_equal(a.sqlstate, "57014");
    assert_int_equal(b.status, SH_OK);
    assert_string_equal(b.vals[0], "100ms");
    assert_true(sh_db_available(db));
    sh_db_free(db);
}

/* ---- transactions ------------------------------------------------------------------------- */

static void test_tx_commits_every_statement_and_returns_the_last_result(void **state) {
    struct event_base *base = *state;
    char t[64], s1[128], s2[128];
    uniq(t, sizeof t, "t_txok");
    pg_sql("CREATE TABLE %s (id int PRIMARY KEY)", t);
    snprintf(s1, sizeof s1, "INSERT INTO %s VALUES ($1)", t);
    snprintf(s2, sizeof s2, "SELECT count(*), sum(id) FROM %s", t);
    sh_db *db = mkdb_up(base, 1, 4, 0);
    const char *p1[] = {"1"}, *p2[] = {"2"};
    sh_db_stmt st[] = {{s1, 1, p1}, {s1, 1, p2}, {s2, 0, NULL}};
    rec r = {0};
    assert_int_equal(sh_db_tx(db, st, 3, rec_cb, &r), SH_OK);
    assert_int_equal(r.called, 0);
    assert_true(run_until(base, rec_called, &r, 5000));
    assert_int_equal(r.status, SH_OK);
    assert_string_equal(r.vals[0], "2");
    assert_string_equal(r.vals[1], "3");
    assert_int_equal(pg_sql("SELECT count(*) FROM %s", t), 2);
    sh_db_free(db);
    pg_sql("DROP TABLE %s", t);
}

static void test_tx_rolls_back_everything_on_the_first_failure(void **state) {
    struct event_base *base = *state;
    char t[64], s1[128], s2[128];
    uniq(t, sizeof t, "t_txbad");
    pg_sql("CREATE TABLE %s (id int PRIMARY KEY)", t);
    snprintf(s1, sizeof s1, "INSERT INTO %s VALUES ($1)", t);
    snprintf(s2, sizeof s2, "INSERT INTO %s VALUES (100)", t);
    sh_db *db = mkdb_up(base, 1, 4, 0);
    const char *p1[] = {"1"}, *p2[] = {"2"};
    /* the third fails (duplicate); the fourth must never run */
    sh_db_stmt st[] = {{s1, 1, p1}, {s1, 1, p2}, {s1, 1, p1}, {s2, 0, NULL}};
    rec r = {0}, after = {0};
    assert_int_equal(sh_db_tx(db, st, 4, rec_cb, &r), SH_OK);
    sh_db_query(db, "SELECT txid_current_if_assigned() IS NULL", 0, NULL, rec_cb, &after);
    assert_true(run_until(base, rec_called, &after, 5000));
    assert_int_equal(r.status, SH_ERR);
    assert_string_equal(r.sqlstate, "23505");
    assert_int_equal(pg_sql("SELECT count(*) FROM %s", t), 0);
    /* the same connection runs the next query outside any transaction */
    assert_int_equal(after.status, SH_OK);
    assert_string_equal(after.vals[0], "t");
    sh_db_free(db);
    pg_sql("DROP TABLE %s", t);
}

/* ---- pool lifecycle ----------------------------------------------------------------------- */

static void test_drain_refuses_new_queries_but_runs_queued_ones(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 4, 0);
    rec a = {0}, b = {0}, c = {0};
    sh_db_query(db, "SELECT pg_sleep(0.05)", 0, NULL, rec_cb, &a);
    sh_db_query(db, "SELECT 2", 0, NULL, rec_cb, &b);
    sh_db_drain(db);
    assert_int_equal(sh_db_query(db, "SELECT 3", 0, NULL, rec_cb, &c), SH_ERR_STATE);
    assert_int_equal(c.called, 0);
    assert_true(run_until(base, rec_called, &b, 5000));
    assert_int_equal(a.status, SH_OK);
    assert_int_equal(b.status, SH_OK);
    assert_int_equal(c.called, 1);
    assert_int_equal(c.status, SH_ERR_UNAVAILABLE);
    sh_db_free(db);
}

static void free_from_cb(const sh_db_result *res, void *ud) {
    sh_db **db = ud;
    (void)res;
    sh_db_free(*db);
    *db = NULL;
}

static void test_free_fails_pending_queries_with_unavailable(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 4, 0);
    rec r[3] = {{0}};
    sh_db_query(db, "SELECT pg_sleep(2)", 0, NULL, rec_cb, &r[0]);
    sh_db_query(db, "SELECT 1", 0, NULL, rec_cb, &r[1]);
    sh_db_query(db, "SELECT 2", 0, NULL, rec_cb, &r[2]);
    sh_db_free(db);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].called, 1);
        assert_int_equal(r[i].status, SH_ERR_UNAVAILABLE);
    }

    /* freeing from inside a callback: the others still get exactly one call */
    db = mkdb_up(base, 1, 4, 0);
    rec x = {0}, y = {0};
    sh_db_query(db, "SELECT 1", 0, NULL, free_from_cb, &db);
    sh_db_query(db, "SELECT 2", 0, NULL, rec_cb, &x);
    sh_db_query(db, "SELECT pg_sleep(2)", 0, NULL, rec_cb, &y);
    assert_true(run_until(base, rec_called, &y, 3000));
    assert_null(db);
    assert_int_equal(x.called, 1);
    assert_int_equal(y.called, 1);
    assert_int_equal(y.status, SH_ERR_UNAVAILABLE);
}

/* A TCP port that accepts connections (the kernel does) but never answers. */
static int silent_listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_unreachable_server_fails_queued_after_timeout_and_new_at_once(void **state) {
    struct event_base *base = *state;
    int port, lfd = silent_listener(&port);
    char ci[128];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=x user=x sslmode=disable", port);
    sh_db_config cfg = {.conninfo = ci,
                        .pool_size = 2,
                        .queue_max = 8,
                        .connect_timeout_ms = 600,
                        .queue_timeout_ms = 200};
    sh_db *db = sh_db_new(base, &cfg);
    assert_non_null(db);
    rec q = {0};
    uint64_t t0 = now_ms();
    assert_int_equal(sh_db_query(db, "SELECT 1", 0, NULL, rec_cb, &q), SH_OK); /* queued */
    assert_true(run_until(base, rec_called, &q, 2000));
    assert_int_equal(q.status, SH_ERR_UNAVAILABLE);
    assert_in_range(q.at_ms - t0, 150, 1000);
    assert_false(sh_db_available(db));

    /* after the attempts timed out the pool is down: new queries fail at once, later */
    assert_true(run_until(base, pool_down, db, 2000));
    run_for(base, 600);
    rec n = {0};
    t0 = now_ms();
    assert_int_equal(sh_db_query(db, "SELECT 1", 0, NULL, rec_cb, &n), SH_ERR_UNAVAILABLE);
    assert_int_equal(n.called, 0);
    assert_true(run_until(base, rec_called, &n, 1000));
    assert_int_equal(n.status, SH_ERR_UNAVAILABLE);
    assert_in_range(n.at_ms - t0, 0, 250);
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.unavailable, 2);
    assert_int_equal(st.connections_up, 0);
    sh_db_free(db);
    close(lfd);
}

/* ---- migrations --------------------------------------------------------------------------- */

static void test_migrations_apply_once(void **state) {
    (void)state;
    char plugin[64], sql1[512], sql2[256];
    uniq(plugin, sizeof plugin, "p_once");
    snprintf(sql1, sizeof sql1,
             "CREATE TABLE %s_items (id int PRIMARY KEY);\n"
             "INSERT INTO %s_items VALUES (1), (2);",
             plugin, plugin);
    snprintf(sql2, sizeof sql2, "ALTER TABLE %s_items ADD COLUMN name text NOT NULL DEFAULT 'x'",
             plugin);
    sh_migration list[] = {{plugin, "001_items", sql1}, {plugin, "002_name", sql2}};
    char err[512] = "junk";
    int applied = -1;
    assert_int_equal(sh_db_migrate(pg_url(), list, 2, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 2);
    assert_string_equal(err, "");
    assert_int_equal(pg_sql("SELECT count(*) FROM %s_items WHERE name = 'x'", plugin), 2);
    assert_int_equal(sh_db_migrate(pg_url(), list, 2, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 0);
    assert_int_equal(
        pg_sql("SELECT count(*) FROM streamhub_migrations WHERE plugin = '%s'", plugin), 2);
    /* a new one later is applied alone */
    sh_migration more[] = {list[0], list[1], {plugin, "003_more", "SELECT 1"}};
    assert_int_equal(sh_db_migrate(pg_url(), more, 3, &applied, err, sizeof err), 0);
    assert_int_equal(applied, 1);
    pg_sql("DROP TABLE %s_items", plugin);
    pg_sql("DELETE FROM streamhub_migrations WHERE plugin = '%s'", plugin);
}

static void test_failing_migration_stops_and_leaves_nothing_half_applied(void **state) {
    (void)state;
    char plugin[64], sql1[256], sql2[256], sql3[256], want[512];
    uniq(plugin, sizeof plugin, "p_fail");
    snprintf(sql1, sizeof sql1, "CREATE TABLE %s_a (id int)", plugin);
    snprintf(sql2, sizeof sql2, "CREATE TABLE %s_b (id int); INSERT INTO %s_missing VALUES (1);",
             plugin, plugin);
    snprintf(sql3, sizeof sql3, "CREATE TABLE %s_c (id int)", plugin);
    sh_migration list[] = {
        {plugin, "001_a", sql1}, {plugin, "002_b", sql2}, {plugin, "003_c", sql3}};
    char err[512];
    int applied = -1;
    assert_int_equal(sh_db_migrate(pg_url(), list, 3, &applied, err, sizeof err), -1);
    assert_int_equal(applied, 1);
    snprintf(want, sizeof want,
             "plugin %s: migration 002_b failed: relation \"%s_missing\" does not exist", plugin,
             plugin);
    assert_string_equal(err, want);
    assert_int_equal(pg_sql("SELECT count(*) FROM pg_tables WHERE tablename = '%s_a'", plugin), 1);
    assert_int_equal(pg_sql("SELECT count(*) FROM pg_tables WHERE tablename = '%s_b'", plugin), 0);
    assert_int_equal(pg_sql("SELECT count(*) FROM pg_tables WHERE tablename = '%s_c'", plugin), 0);
    assert_int_equal(
        pg_sql("SELECT count(*) FROM streamhub_migrations WHERE plugin = '%s'", plugin), 1);
    /* transaction control inside a migration is refused */
    sh_migration tc[] = {{plugin, "004_tc", "COMMIT"}};
    assert_int_equal(sh_db_migrate(pg_url(), tc, 1, &applied, err, sizeof err), -1);
    assert_non_null(strstr(err, "migration 004_tc failed: "));
    /* no server: a clear error */
    assert_int_equal(sh_db_migrate("host=127.0.0.1 port=1 connect_timeout=2", list, 1, &applied,
                                   err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "migrations: "));
    pg_sql("DROP TABLE %s_a", plugin);
    pg_sql("DELETE FROM streamhub_migrations WHERE plugin = '%s'", plugin);
}

typedef struct migr_arg {
    const sh_migration *list;
    size_t n;
    int rc, applied;
    char err[512];
} migr_arg;

static void *migrate_thread(void *p) {
    migr_arg *a = p;
    a->rc = sh_db_migrate(pg_url(), a->list, a->n, &a->applied, a->err, sizeof a->err);
    return NULL;
}

static void test_two_migrators_at_once_apply_each_migration_once(void **state) {
    (void)state;
    char plugin[64], sql[3][256];
    uniq(plugin, sizeof plugin, "p_race");
    sh_migration list[3];
    static const char *const ids[] = {"001", "002", "003"};
    for (int i = 0; i < 3; i++) {
        /* not idempotent: running one twice would fail */
        snprintf(sql[i], sizeof sql[i], "SELECT pg_sleep(0.1); CREATE TABLE %s_%d (id int);",
                 plugin, i);
        list[i] = (sh_migration){plugin, ids[i], sql[i]};
    }
    migr_arg a = {.list = list, .n = 3}, b = {.list = list, .n = 3};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, migrate_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, migrate_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    if (a.rc || b.rc)
        fail_msg("migrators failed: [%s] [%s]", a.err, b.err);
    assert_int_equal(a.applied + b.applied, 3);
    assert_true(a.applied == 0 || b.applied == 0); /* the second one waited, then saw all */
    assert_int_equal(
        pg_sql("SELECT count(*) FROM streamhub_migrations WHERE plugin = '%s'", plugin), 3);
    for (int i = 0; i < 3; i++)
        pg_sql("DROP TABLE %s_%d", plugin, i);
    pg_sql("DELETE FROM streamhub_migrations WHERE plugin = '%s'", plugin);
}

/* ---- outages ------------------------------------------------------------------------------ */

static void test_backends_terminated_by_the_server_then_queries_recover(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 2, 16, 0);
    rec busy = {0};
    sh_db_query(db, "SELECT pg_sleep(10)", 0, NULL, rec_cb, &busy);
    run_for(base, 100);
    assert_int_equal(busy.called, 0);
    long n = pg_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
                    "pg_backend_pid() AND datname = current_database() AND backend_type = 'client "
                    "backend'");
    assert_true(n >= 2);
    assert_true(run_until(base, rec_called, &busy, 3000));
    assert_int_equal(busy.status, SH_ERR_UNAVAILABLE);
    assert_non_null(strstr(busy.error, "connection"));
    int ms = query_until_ok(base, db, 5000);
    assert_in_range(ms, 0, 5000);
    up_goal g = {db, 2};
    assert_true(run_until(base, pool_up, &g, 5000));
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.reconnects, 2);
    assert_true(st.unavailable >= 1);
    sh_db_free(db);
}

/* Resubmits at once on every failure, as an impatient plugin might. */
typedef struct retrier {
    sh_db *db;
    int tries, done;
} retrier;

static void retry_cb(const sh_db_result *res, void *ud) {
    retrier *r = ud;
    r->tries++;
    if (sh_db_res_status(res) == SH_OK)
        r->done = 1;
    else
        sh_db_query(r->db, "SELECT 1", 0, NULL, retry_cb, r);
}

static int retrier_done(const void *arg) { return ((const retrier *)arg)->done; }

/* tools/pg.sh, from $SH_ROOT (set by tools/test.sh) or the current directory. */
static const char *pg_script(char *buf, size_t len) {
    const char *root = getenv("SH_ROOT");
    snprintf(buf, len, "%s%stools/pg.sh", root ? root : "", root ? "/" : "");
    return buf;
}

static int pg_tool(const char *cmd, const char *dir, const char *port) {
    char script[512], line[2048];
    snprintf(line, sizeof line, "'%s' %s '%s' %s >/dev/null", pg_script(script, sizeof script), cmd,
             dir, port ? port : "");
    return system(line);
}

static void test_server_stopped_queries_fail_fast_then_succeed_after_restart(void **state) {
    struct event_base *base = *state;
    const char *dir = getenv("SH_TEST_PG_DIR"), *port = getenv("SH_TEST_PG_PORT");
    if (!dir || !port || !*dir || !*port) {
        print_message("      (SH_TEST_PG_DIR/SH_TEST_PG_PORT unset: skipped)\n");
        skip();
    }
    char script[512];
    if (access(pg_script(script, sizeof script), X_OK) != 0)
        fail_msg("%s not found: run from the repository root or set SH_ROOT", script);
    assert_int_equal(pg_tool("start", dir, port), 0);
    char ci[256];
    snprintf(ci, sizeof ci, "postgresql://postgres@127.0.0.1:%s/streamhub", port);
    sh_db *db = mkdb(base, ci, 2, 16, 0, 500);
    up_goal g = {db, 2};
    assert_true(run_until(base, pool_up, &g, 5000));
    assert_in_range(query_until_ok(base, db, 1000), 0, 1000);

    assert_int_equal(pg_tool("stop", dir, NULL), 0);
    assert_true(run_until(base, pool_down, db, 3000));
    for (int i = 0; i < 5; i++) { /* through several back-off steps */
        rec r = {0};
        uint64_t t0 = now_ms();
        assert_int_equal(sh_db_query(db, "SELECT 1", 0, NULL, rec_cb, &r), SH_ERR_UNAVAILABLE);
        assert_true(run_until(base, rec_called, &r, 1000));
        assert_int_equal(r.status, SH_ERR_UNAVAILABLE);
        assert_in_range(r.at_ms - t0, 0, 250);
        run_for(base, 200);
    }

    /* a callback that retries at once must not starve the reconnection */
    retrier rt = {.db = db};
    sh_db_query(db, "SELECT 1", 0, NULL, retry_cb, &rt);
    assert_int_equal(pg_tool("start", dir, port), 0);
    assert_true(run_until(base, retrier_done, &rt, 10000));
    assert_true(rt.tries > 1);
    assert_true(run_until(base, pool_up, &g, 5000));
    assert_in_range(query_until_ok(base, db, 1000), 0, 1000);
    sh_db_free(db);
    assert_int_equal(pg_tool("stop", dir, NULL), 0);
}

int main(void) {
    if (db_test_start("test_db")) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_query_returns_params_and_nulls_later_on_the_loop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unique_violation_reports_sqlstate_23505, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_burst_of_200_over_4_connections_answered_in_order_per_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_queue_returns_limit_and_still_calls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_invalid_arguments_fail_later_with_an_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_statement_timeout_cancels_a_long_query, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_tx_commits_every_statement_and_returns_the_last_result,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_rolls_back_everything_on_the_first_failure, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_drain_refuses_new_queries_but_runs_queued_ones, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_free_fails_pending_queries_with_unavailable, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_unreachable_server_fails_queued_after_timeout_and_new_at_once, setup, teardown),
        cmocka_unit_test(test_migrations_apply_once),
        cmocka_unit_test(test_failing_migration_stops_and_leaves_nothing_half_applied),
        cmocka_unit_test(test_two_migrators_at_once_apply_each_migration_once),
        cmocka_unit_test_setup_teardown(test_backends_terminated_by_the_server_then_queries_recover,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_server_stopped_queries_fail_fast_then_succeed_after_restart, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
