/*
 * tests/unit/test_fakehost_hello_lifecycle.c - hello's life in the fake host: what init registers, its config
 * settings (validated, then used), and its timer until stop.
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

static void test_hello_registers_every_kind_of_registration(void **state) {
    fixture *f = *state;
    static const char *want[] = {
        "migration 001_greetings",
        "route GET /api/hello/:name",
        "route POST /api/hello (auth optional)",
        "route GET /api/hello-stats",
        "subscription hello.*",
        "subscription stream.started",
        "service hello 1.0",
        "namespace /hello",
        "socket event /hello greet",
        "media stage hello-meter (sink)",
        "media stage hello-keyframes (sink)",
        "route GET /api/hello/keyframes",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        assert_true(sh_fake_registered(f->fh, want[i]));
    assert_int_equal(sh_fake_registration_count(f->fh), sizeof want / sizeof *want);
    assert_int_equal(sh_fake_migration_count(f->fh), 1);
    assert_string_equal(sh_fake_migration_id(f->fh, 0), "001_greetings");
    assert_non_null(strstr(sh_fake_migration_sql(f->fh, 0), "CREATE TABLE hello_greetings"));
    const hello_api *svc = sh_fake_service(f->fh, HELLO_SERVICE, HELLO_MAJOR);
    assert_non_null(svc);
    assert_int_equal(svc->size, sizeof(hello_api));
    assert_int_equal(svc->greetings(), 0);
    assert_true(sh_fake_log_has(f->fh, "INFO hello: ready: greeting \"hello\""));
    assert_true(sh_fake_log_has(f->fh, "no auth service"));
    assert_int_equal(sh_fake_timers_active(f->fh), 1);
}

static void test_hello_greets_with_the_configured_word(void **state) {
    (void)state;
    static const char *cfg[] = {"greeting", "hi", NULL};
    fixture *f = hello_up(cfg, 0);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_string_equal(jstr(r->json, "message"), "hi, world!");
    r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_string_equal(jstr(r->json, "greeting"), "hi");
    assert_int_equal(jint(r->json, "greetings"), 1);
    hello_down(f);
}

static void test_hello_config_is_validated_against_its_settings(void **state) {
    (void)state;
    sh_fake *fh = sh_fake_new(sh_plugin_entry);
    assert_int_equal(sh_fake_set_config(fh, "greeting", ""), SH_ERR_INVALID); /* 1 to 64 bytes */
    assert_int_equal(sh_fake_set_config(fh, "max_name_chars", "0"), SH_ERR_INVALID);
    assert_int_equal(sh_fake_set_config(fh, "max_name_chars", "12abc"), SH_ERR_INVALID);
    assert_int_equal(sh_fake_set_config(fh, "announce", "maybe"), SH_ERR_INVALID);
    assert_int_equal(sh_fake_set_config(fh, "announce", "off"), SH_OK);
    assert_int_equal(sh_fake_set_config(fh, "greting", "hi"), SH_ERR_NOTFOUND);
    assert_true(sh_fake_log_has(fh, "config.greeting: bad value"));
    assert_int_equal(sh_fake_init(fh), SH_OK);
    assert_int_equal(sh_fake_set_config(fh, "greeting", "late"), SH_ERR_STATE);
    assert_int_equal(sh_fake_violations(fh), 0);
    sh_fake_free(fh);
}

static void test_hello_timer_updates_the_uptime_gauge_until_stopped(void **state) {
    (void)state;
    static const char *cfg[] = {"report_ms", "1000", NULL};
    fixture *f = hello_up(cfg, 0);
    double v = -1;
    assert_int_equal(sh_fake_metric(f->fh, "hello_uptime_seconds", NULL, &v, NULL), SH_OK);
    assert_true(v == 0.0);
    sh_fake_advance(f->fh, 999);
    sh_fake_metric(f->fh, "hello_uptime_seconds", NULL, &v, NULL);
    assert_true(v == 0.0);
    sh_fake_advance(f->fh, 4001);
    sh_fake_metric(f->fh, "hello_uptime_seconds", NULL, &v, NULL);
    assert_true(v == 5.0);
    sh_fake_stop(f->fh);
    assert_int_equal(sh_fake_timers_active(f->fh), 0);
    sh_fake_advance(f->fh, 10000);
    sh_fake_metric(f->fh, "hello_uptime_seconds", NULL, &v, NULL);
    assert_true(v == 5.0);
    hello_down(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_registers_every_kind_of_registration, setup_default, teardown),
        cmocka_unit_test(test_hello_greets_with_the_configured_word),
        cmocka_unit_test(test_hello_config_is_validated_against_its_settings),
        cmocka_unit_test(test_hello_timer_updates_the_uptime_gauge_until_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
