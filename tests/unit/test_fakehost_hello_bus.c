/*
 * tests/unit/test_fakehost_hello_bus.c - hello on the event bus of the fake host: the greetings it
 * publishes (unless announce is off) and the events of other plugins it counts.
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

static void test_hello_publishes_greetings_and_counts_bus_events(void **state) {
    fixture *f = *state;
    sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_int_equal(sh_fake_published_count(f->fh), 1);
    assert_string_equal(sh_fake_published_topic(f->fh, 0), "hello.greeted");
    assert_string_equal(jstr(sh_fake_published_payload(f->fh, 0), "name"), "world");
    assert_int_equal(jint(sh_fake_published_payload(f->fh, 0), "count"), 1);
    /* other plugins' events: hello.* and stream.started count, stream.ended does not */
    sh_fake_publish(f->fh, "hello.other", NULL);
    sh_fake_publish(f->fh, "stream.started", json_object_new_object());
    sh_fake_publish(f->fh, "stream.ended", NULL);
    sh_fake_publish(f->fh, "hellox", NULL);
    sh_fake_run(f->fh);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    assert_int_equal(jint(r->json, "events"), 2);
    assert_int_equal(jint(r->json, "streamsStarted"), 1);
    double v;
    assert_int_equal(sh_fake_metric(f->fh, "hello_events_total", "", &v, NULL), SH_OK);
    assert_true(v == 2.0);
}

static void test_hello_publishes_nothing_when_announce_is_off(void **state) {
    (void)state;
    static const char *cfg[] = {"announce", "false", NULL};
    fixture *f = hello_up(cfg, 0);
    assert_int_equal(sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL)->status, 200);
    assert_int_equal(sh_fake_published_count(f->fh), 0);
    hello_down(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_publishes_greetings_and_counts_bus_events, setup_default, teardown),
        cmocka_unit_test(test_hello_publishes_nothing_when_announce_is_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
