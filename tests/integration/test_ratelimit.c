/*
 * test_ratelimit.c - core/ratelimit.c against a real Redis (shared buckets across two limiters,
 * window expiry, script reload, fallback to the local table) and in local mode.
 *
 * Needs a redis-server on 127.0.0.1:$SH_TEST_REDIS_PORT, as test_redis.c does.
 */
#include "tests/integration/redis_test_helpers.h"

/* ---- rate limiter: Redis mode ---------------------------------------------------------------- */

static void test_ratelimit_script_sha_matches_script(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    cap c;
    CMD(b, r, &c, "SCRIPT", "LOAD", RL_SCRIPT);
    assert_int_equal(c.type, SH_REDIS_STRING);
    assert_string_equal(c.str, RL_SCRIPT_SHA);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_redis_is_shared_between_two_nodes(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r1 = open_redis(b, port), *r2 = open_redis(b, port);
    sh_ratelimit *n1 = sh_ratelimit_new(b, r1, "shtest:rl:");
    sh_ratelimit *n2 = sh_ratelimit_new(b, r2, "shtest:rl:");
    assert_non_null(n1);
    assert_non_null(n2);
    char k[128];
    snprintf(k, sizeof k, "%s", key("login:1.2.3.4"));
    verdict v;
    int allowed = 0;
    for (int i = 0; i < 5; i++) {
        hit_and_wait(b, i % 2 ? n2 : n1, k, 5, 10000, &v);
        allowed += v.allowed;
        assert_int_equal(v.retry, 0);
    }
    assert_int_equal(allowed, 5);
    hit_and_wait(b, n1, k, 5, 10000, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 10000);
    hit_and_wait(b, n2, k, 5, 10000, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0);

    /* It lives in Redis, under the prefix, with the window as TTL. */
    char rk[256];
    snprintf(rk, sizeof rk, "shtest:rl:%s", k);
    cap c;
    CMD(b, r1, &c, "GET", rk);
    assert_string_equal(c.str, "7");
    CMD(b, r1, &c, "PTTL", rk);
    assert_true(c.integer > 0 && c.integer <= 10000);
    /* Nothing went to the local tables. */
    assert_int_equal(n1->nentries, 0);
    assert_int_equal(n2->nentries, 0);

    sh_ratelimit_free(n2);
    sh_ratelimit_free(n1);
    sh_redis_free(r2);
    sh_redis_free(r1);
    event_base_free(b);
}

static void test_ratelimit_redis_window_expires(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    char k[128];
    snprintf(k, sizeof k, "%s", key("short"));
    verdict v;
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 200);
    run_for(b, 250);
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_true(v.allowed);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_redis_reloads_script_after_flush(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    cap c;
    CMD(b, r, &c, "SCRIPT", "FLUSH");
    char k[128];
    snprintf(k, sizeof k, "%s", key("flush"));
    verdict v;
    hit_and_wait(b, rl, k, 2, 10000, &v); /* NOSCRIPT, then EVAL */
    assert_true(v.allowed);
    CMD(b, r, &c, "SCRIPT", "EXISTS", RL_SCRIPT_SHA);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.eint[0], 1); /* EVAL cached it again */
    hit_and_wait(b, rl, k, 2, 10000, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 2, 10000, &v);
    assert_false(v.allowed);
    assert_int_equal(rl->nentries, 0); /* all counted in Redis */
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_wrong_type_key_falls_back_to_local(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    char k[128], rk[256];
    snprintf(k, sizeof k, "%s", key("wrongtype"));
    snprintf(rk, sizeof rk, "shtest:rl:%s", k);
    cap c;
    CMD(b, r, &c, "DEL", rk);
    CMD(b, r, &c, "RPUSH", rk, "x"); /* INCR on a list: an error reply */
    verdict v;
    hit_and_wait(b, rl, k, 1, 10000, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 1, 10000, &v);
    assert_false(v.allowed); /* counted in the local table */
    assert_int_equal(rl->nentries, 1);
    CMD(b, r, &c, "DEL", rk);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_free_answers_hits_waiting_for_redis(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, key("inflight"), 0, 10000, on_verdict, &v); /* limit 0: Redis would refuse */
    assert_int_equal(v.called, 0);                                    /* waiting for Redis */
    sh_ratelimit_free(rl);
    assert_int_equal(v.called, 1);
    assert_true(v.allowed); /* fail open */
    cap c;
    CMD(b, r, &c, "PING"); /* the script reply arrives and frees its record */
    assert_int_equal(v.called, 1);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_hit_in_flight_when_redis_goes_away_counts_locally(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, key("gone"), 0, 10000, on_verdict, &v);
    assert_int_equal(v.called, 0);
    sh_redis_free(r); /* the reply becomes NULL: counted locally instead */
    rl->redis = NULL; /* (normally the limiter is freed first) */
    assert_int_equal(v.called, 1);
    assert_false(v.allowed); /* limit 0, local table */
    assert_true(v.retry > 0 && v.retry <= 10000);
    assert_int_equal(rl->nentries, 1);
    sh_ratelimit_free(rl);
    event_base_free(b);
}

/* ---- rate limiter: local mode ---------------------------------------------------------------- */

static void test_ratelimit_local_limit_and_window_expiry(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "x:");
    verdict v;
    for (int i = 0; i < 3; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
        assert_int_equal(v.called, 1); /* synchronous */
        assert_true(v.allowed);
        assert_int_equal(v.retry, 0);
    }
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 200);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:2", 3, 200, on_verdict, &v); /* keys are independent */
    assert_true(v.allowed);

    run_for(b, 250);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
    assert_true(v.allowed); /* a new window */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 0, 200, on_verdict, &v);
    assert_false(v.allowed); /* limit 0 refuses everything */
    sh_ratelimit_hit(rl, "ip:1", 3, 200, NULL, NULL); /* no callback: counted, fine */
    sh_ratelimit_free(rl);
    event_base_free(b);
}

static void test_ratelimit_falls_back_to_local_when_redis_down(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis_cfg(b, dead_port(), NULL, 0);
    assert_true(run_until(b, first_attempt_failed, r, WAIT_MS));
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    for (int i = 0; i < 2; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "k", 2, 10000, on_verdict, &v);
        assert_int_equal(v.called, 1); /* answered at once, from the local table */
        assert_true(v.allowed);
    }
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "k", 2, 10000, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_false(v.allowed);
    assert_true(v.retry > 9000 && v.retry <= 10000);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_local_table_full_allows_untracked_keys_and_sweeps(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "");
    rl->max_entries = 4;
    verdict v;
    char k[16];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "k%d", i);
        sh_ratelimit_hit(rl, k, 1, 100, on_verdict, &v);
    }
    assert_int_equal(rl->nentries, 4);
    /* Full: a new key is allowed but not tracked, however often it comes. */
    for (int i = 0; i < 3; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
        assert_true(v.allowed);
    }
    assert_int_equal(rl->untracked, 3);
    assert_int_equal(rl->nentries, 4);
    /* Known keys are still limited. */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "k0", 1, 100, on_verdict, &v);
    assert_false(v.allowed);

    run_for(b, 150);
    /* Windows ended: the next new key sweeps them away and is tracked. */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
    assert_true(v.allowed);
    assert_int_equal(rl->nentries, 1);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
    assert_false(v.allowed);

    /* The periodic sweep frees ended windows. */
    sweep(rl, now_ms() + 1000);
    assert_int_equal(rl->nentries, 0);
    assert_true(rl->earliest_end == UINT64_MAX);
    sh_ratelimit_free(rl);
    event_base_free(b);
}

static void test_ratelimit_local_table_grows_and_stays_consistent(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "");
    verdict v;
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "user:%d", i);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
    }
    assert_int_equal(rl->nentries, 5000);
    assert_true(rl->nbuckets >= 4096);
    for (int i = 0; i < 5000; i += 499) {
        snprintf(k, sizeof k, "user:%d", i);
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
        assert_false(v.allowed); /* third hit of each */
    }
    sh_ratelimit_free(rl);
    event_base_free(b);
}

int main(void) {
    alarm(180); /* last-resort safety net: every wait has its own deadline */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ratelimit_script_sha_matches_script),
        cmocka_unit_test(test_ratelimit_redis_is_shared_between_two_nodes),
        cmocka_unit_test(test_ratelimit_redis_window_expires),
        cmocka_unit_test(test_ratelimit_redis_reloads_script_after_flush),
        cmocka_unit_test(test_ratelimit_wrong_type_key_falls_back_to_local),
        cmocka_unit_test(test_ratelimit_free_answers_hits_waiting_for_redis),
        cmocka_unit_test(test_ratelimit_hit_in_flight_when_redis_goes_away_counts_locally),
        cmocka_unit_test(test_ratelimit_local_limit_and_window_expiry),
        cmocka_unit_test(test_ratelimit_falls_back_to_local_when_redis_down),
        cmocka_unit_test(test_ratelimit_local_table_full_allows_untracked_keys_and_sweeps),
        cmocka_unit_test(test_ratelimit_local_table_grows_and_stays_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
