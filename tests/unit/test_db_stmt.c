/*
 * tests/unit/test_db_stmt.c - the prepared-statement bookkeeping (core/db_stmt.c): which SQL may
 * be prepared, lookups by SQL text, the per-session count that bounds PREPAREs (dropped entries
 * still count), and clearing when the session ends. The statements themselves run against a real
 * PostgreSQL in tests/integration/test_db.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/db_stmt.c"

static void single_queries_and_dml_may_be_prepared_the_rest_may_not(void **state) {
    (void)state;
    assert_true(sh_db_sql_cacheable("SELECT 1"));
    assert_true(sh_db_sql_cacheable("  select room_json FROM rooms_public WHERE room_id = $1;"));
    assert_true(sh_db_sql_cacheable("(SELECT 1) UNION (SELECT 2)"));
    assert_true(sh_db_sql_cacheable("WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d"));
    assert_true(sh_db_sql_cacheable("INSERT INTO t VALUES ($1)"));
    assert_true(sh_db_sql_cacheable("update t set a = 1"));
    assert_true(sh_db_sql_cacheable("DELETE FROM t"));
    assert_false(sh_db_sql_cacheable("BEGIN"));
    assert_false(sh_db_sql_cacheable("SET statement_timeout = 5000"));
    assert_false(sh_db_sql_cacheable("CREATE TABLE t (a int)"));
    assert_false(sh_db_sql_cacheable("SELECT 1; SELECT 2"));
    assert_false(sh_db_sql_cacheable("SELECTX 1"));
    assert_false(sh_db_sql_cacheable(""));
}

static void recorded_statements_are_found_by_their_text_until_dropped_or_cleared(void **state) {
    (void)state;
    sh_db_pstmts c = {0};
    assert_null(sh_db_stmts_find(&c, "SELECT 1"));
    sh_db_stmts_add(&c, "SELECT 1", "sh_1");
    sh_db_stmts_add(&c, "SELECT 2", "sh_2");
    assert_string_equal(sh_db_stmts_find(&c, "SELECT 1"), "sh_1");
    assert_string_equal(sh_db_stmts_find(&c, "SELECT 2"), "sh_2");
    assert_null(sh_db_stmts_find(&c, "SELECT 1 "));
    sh_db_stmts_drop(&c, "sh_1");
    assert_null(sh_db_stmts_find(&c, "SELECT 1"));
    assert_int_equal(c.prepared, 2); /* a dropped statement still counts towards the bound */
    sh_db_stmts_add(&c, "SELECT 1", "sh_3"); /* its slot is reused */
    assert_string_equal(sh_db_stmts_find(&c, "SELECT 1"), "sh_3");
    sh_db_stmts_clear(&c);
    assert_null(sh_db_stmts_find(&c, "SELECT 2"));
    assert_int_equal(c.prepared, 0);
    sh_db_stmts_clear(&c); /* twice is fine */
}

static void a_full_table_records_nothing_more_but_keeps_counting(void **state) {
    (void)state;
    sh_db_pstmts c = {0};
    char sql[64], name[16];
    for (int i = 0; i < SH_DB_STMT_CACHE_MAX + 5; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        snprintf(name, sizeof name, "sh_%d", i + 1);
        sh_db_stmts_add(&c, sql, name);
    }
    assert_int_equal(c.prepared, SH_DB_STMT_CACHE_MAX + 5);
    assert_string_equal(sh_db_stmts_find(&c, "SELECT 0"), "sh_1");
    snprintf(sql, sizeof sql, "SELECT %d", SH_DB_STMT_CACHE_MAX - 1);
    assert_non_null(sh_db_stmts_find(&c, sql));
    snprintf(sql, sizeof sql, "SELECT %d", SH_DB_STMT_CACHE_MAX);
    assert_null(sh_db_stmts_find(&c, sql));
    sh_db_stmts_clear(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(single_queries_and_dml_may_be_prepared_the_rest_may_not),
        cmocka_unit_test(recorded_statements_are_found_by_their_text_until_dropped_or_cleared),
        cmocka_unit_test(a_full_table_records_nothing_more_but_keeps_counting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
