/*
 * test_db_prepared.c - core/db.c's prepared-statement cache against a real PostgreSQL: a statement
 * is prepared once per connection and then run prepared, errors are the same prepared or not, the
 * bound, a reconnected connection, and a changed result type. Needs SH_TEST_PG, as test_db.c.
 */
#include "tests/integration/db_test_helpers.h"

/* ---- prepared statements ------------------------------------------------------------------ */

/* Run one query on the pool and wait for its callback. */
static void query_wait(struct event_base *base, sh_db *db, const char *sql, int n, const char *const *p,
                       rec *r) {
    memset(r, 0, sizeof *r);
    sh_db_query(db, sql, n, p, rec_cb, r);
    if (!run_until(base, rec_called, r, 5000))
        fail_msg("the callback of %s never ran", sql);
}

static void tx_wait(struct event_base *base, sh_db *db, const char *sql, int n, const char *const *p,
                    rec *r) {
    memset(r, 0, sizeof *r);
    sh_db_stmt s = {.sql = sql, .nparams = n, .params = p};
    sh_db_tx(db, &s, 1, rec_cb, r);
    if (!run_until(base, rec_called, r, 5000))
        fail_msg("the callback of the transaction %s never ran", sql);
}

/* The pool's own session's prepared statements (pg_prepared_statements is per session). */
static long session_prepared(struct event_base *base, sh_db *db) {
    rec r;
    query_wait(base, db, "SELECT count(*) FROM pg_prepared_statements", 0, NULL, &r);
    assert_int_equal(r.status, SH_OK);
    return atol(r.vals[0]);
}

static void test_same_statement_twice_is_prepared_once_and_runs_prepared(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 16, 0);
    const char *sql = "SELECT $1::int * 2 AS a, $2::text AS b";
    const char *p1[] = {"20", "x"}, *p2[] = {"21", NULL};
    rec a, b;
    query_wait(base, db, sql, 2, p1, &a);
    query_wait(base, db, sql, 2, p2, &b);
    assert_int_equal(a.status, SH_OK);
    assert_string_equal(a.vals[0], "40");
    assert_string_equal(a.vals[1], "x");
    assert_int_equal(b.status, SH_OK);
    assert_string_equal(b.vals[0], "42");
    assert_true(b.nulls[1]);
    assert_int_equal(b.col_b, 1);
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepares, 1);
    assert_int_equal(st.prepared_runs, 2);
    /* the server holds it under our name: one statement, plus the count query itself */
    assert_int_equal(session_prepared(base, db), 2);
    rec n;
    query_wait(base, db, "SELECT name FROM pg_prepared_statements WHERE statement = $1", 1,
               (const char *const[]){sql}, &n);
    assert_int_equal(n.nrows, 1);
    assert_string_equal(n.vals[0], "sh_1");

    /* transactions, SET and multi-statement SQL stay unprepared */
    rec t;
    tx_wait(base, db, "SELECT $1::int + 1", 1, (const char *const[]){"1"}, &t);
    assert_int_equal(t.status, SH_OK);
    assert_string_equal(t.vals[0], "2");
    query_wait(base, db, "SET application_name = 'sh_test'", 0, NULL, &t);
    assert_int_equal(t.status, SH_OK);
    query_wait(base, db, "  select 5;  ", 0, NULL, &t); /* a trailing ';' is fine */
    assert_int_equal(t.status, SH_OK);
    assert_string_equal(t.vals[0], "5");
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepares, 4); /* sql, the two pg_prepared_statements queries, select 5 */
    sh_db_free(db);
}

static void test_failing_statement_reports_the_same_error_prepared_or_not(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 16, 0);
    const char *sql = "SELECT a FROM sh_no_such_table WHERE a = $1";
    const char *p[] = {"1"};
    rec prep1, prep2, plain;
    query_wait(base, db, sql, 1, p, &prep1);
    query_wait(base, db, sql, 1, p, &prep2);
    tx_wait(base, db, sql, 1, p, &plain); /* the unnamed path, as before the cache */
    assert_int_equal(plain.status, SH_ERR);
    assert_string_equal(plain.sqlstate, "42P01");
    for (int i = 0; i < 2; i++) {
        const rec *r = i ? &prep2 : &prep1;
        assert_int_equal(r->status, SH_ERR);
        assert_string_equal(r->sqlstate, plain.sqlstate);
        assert_string_equal(r->error, plain.error);
        assert_int_equal(r->nrows, 0);
    }
    /* several statements in one: refused as before (not prepared: same message) */
    rec multi;
    query_wait(base, db, "SELECT 1; SELECT 2", 0, NULL, &multi);
    assert_int_equal(multi.status, SH_ERR);
    assert_string_equal(multi.sqlstate, "42601");
    /* an error at run time from a prepared statement is the statement's error */
    rec z1, z2;
    query_wait(base, db, "SELECT 1 / $1::int", 1, (const char *const[]){"1"}, &z1);
    query_wait(base, db, "SELECT 1 / $1::int", 1, (const char *const[]){"0"}, &z2);
    assert_int_equal(z1.status, SH_OK);
    assert_int_equal(z2.status, SH_ERR);
    assert_string_equal(z2.sqlstate, "22012");
    assert_string_equal(z2.error, "division by zero");
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepares, 1); /* only the division; failed PREPAREs are not cached */
    assert_int_equal(st.unavailable, 0);
    assert_int_equal(st.connections_up, 1);
    rec ok;
    query_wait(base, db, "SELECT 7", 0, NULL, &ok);
    assert_string_equal(ok.vals[0], "7");
    sh_db_free(db);
}

static void test_statements_beyond_the_cache_bound_still_work(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 16, 0);
    int n = SH_DB_STMT_CACHE_MAX + 20;
    for (int i = 0; i < n; i++) {
        char sql[64], want[16];
        snprintf(sql, sizeof sql, "SELECT %d + $1::int", i);
        snprintf(want, sizeof want, "%d", i + 1);
        rec r;
        query_wait(base, db, sql, 1, (const char *const[]){"1"}, &r);
        assert_int_equal(r.status, SH_OK);
        assert_string_equal(r.vals[0], want);
    }
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepares, SH_DB_STMT_CACHE_MAX);
    assert_int_equal(session_prepared(base, db), SH_DB_STMT_CACHE_MAX); /* never more */
    /* the first ones are still prepared, the last ones run unnamed, both correct */
    rec first, last;
    query_wait(base, db, "SELECT 0 + $1::int", 1, (const char *const[]){"5"}, &first);
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT %d + $1::int", n - 1);
    query_wait(base, db, sql, 1, (const char *const[]){"5"}, &last);
    assert_string_equal(first.vals[0], "5");
    assert_int_equal(atoi(last.vals[0]), n + 4);
    unsigned long long runs = st.prepared_runs;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepared_runs, runs + 1);
    assert_int_equal(st.prepares, SH_DB_STMT_CACHE_MAX);
    sh_db_free(db);
}

static void test_reconnected_connection_prepares_again(void **state) {
    struct event_base *base = *state;
    sh_db *db = mkdb_up(base, 1, 16, 0);
    const char *sql = "SELECT $1::int + 100";
    rec r;
    query_wait(base, db, sql, 1, (const char *const[]){"1"}, &r);
    assert_string_equal(r.vals[0], "101");
    long n = pg_sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
                    "pg_backend_pid() AND datname = current_database() AND backend_type = 'client "
                    "backend'");
    assert_true(n >= 1);
    assert_in_range(query_until_ok(base, db, 5000), 0, 5000);
    up_goal g = {db, 1};
    assert_true(run_until(base, pool_up, &g, 5000));
    query_wait(base, db, sql, 1, (const char *const[]){"2"}, &r);
    assert_int_equal(r.status, SH_OK);
    assert_string_equal(r.vals[0], "102");
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.reconnects, 1);
    /* before: sql; after: "SELECT 1" of query_until_ok (its first try may have been the one
     * that found the connection gone), sql again on the new session */
    assert_in_range(st.prepares, 3, 4);
    sh_db_free(db);
}

static void test_changed_result_type_drops_the_statement_and_runs_it_again(void **state) {
    struct event_base *base = *state;
    char t[64], sql[128];
    uniq(t, sizeof t, "t_replan");
    pg_sql("CREATE TABLE %s (a int)", t);
    pg_sql("INSERT INTO %s VALUES (1)", t);
    sh_db *db = mkdb_up(base, 1, 16, 0);
    snprintf(sql, sizeof sql, "SELECT * FROM %s", t);
    rec r;
    query_wait(base, db, sql, 0, NULL, &r);
    assert_int_equal(r.status, SH_OK);
    assert_int_equal(r.ncols, 1);
    pg_sql("ALTER TABLE %s ADD COLUMN b text DEFAULT 'bee'", t);
    query_wait(base, db, sql, 0, NULL, &r); /* prepared: 0A000, then again unnamed */
    assert_int_equal(r.status, SH_OK);
    assert_int_equal(r.ncols, 2);
    assert_string_equal(r.vals[1], "bee");
    query_wait(base, db, sql, 0, NULL, &r); /* prepared afresh */
    assert_int_equal(r.status, SH_OK);
    assert_int_equal(r.ncols, 2);
    sh_db_stats st;
    sh_db_stats_get(db, &st);
    assert_int_equal(st.prepares, 2);
    assert_int_equal(st.errors, 0);
    sh_db_free(db);
    pg_sql("DROP TABLE %s", t);
}

int main(void) {
    if (db_test_start("test_db_prepared")) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_statement_twice_is_prepared_once_and_runs_prepared,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_statement_reports_the_same_error_prepared_or_not,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_statements_beyond_the_cache_bound_still_work, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reconnected_connection_prepares_again, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_changed_result_type_drops_the_statement_and_runs_it_again, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
