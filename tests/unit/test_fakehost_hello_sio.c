/*
 * tests/unit/test_fakehost_hello_sio.c - hello over Socket.IO in the fake host: greet answered through its
 * ack and broadcast, bad names, identity from the auth token, and no Socket.IO on an older host.
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

static void test_hello_socket_greet_is_answered_through_its_ack_and_broadcast(void **state) {
    fixture *f = *state;
    sh_socket *a = sh_fake_sio_connect(f->fh, "/hello", NULL, NULL);
    sh_socket *b = sh_fake_sio_connect(f->fh, "/hello", NULL, NULL);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(sh_fake_sio_received(a), 1);
    assert_string_equal(sh_fake_sio_received_event(a, 0), "welcome");
    json_object *w = json_object_array_get_idx(sh_fake_sio_received_args(a, 0), 0);
    assert_string_equal(jstr(w, "greeting"), "hello");
    assert_null(jstr(w, "user"));
    const sh_fake_ack *ack = sh_fake_sio_send(f->fh, a, "greet", "[\"world\"]", 1);
    assert_true(ack->handled);
    assert_true(ack->answered);
    json_object *reply = json_object_array_get_idx(ack->args, 0);
    assert_string_equal(jstr(reply, "hello"), "world");
    assert_int_equal(jint(reply, "count"), 1);
    /* both sockets of the room hear about it (through the bus) */
    assert_int_equal(sh_fake_sio_received(b), 2);
    assert_string_equal(sh_fake_sio_received_event(b, 1), "greeted");
    assert_string_equal(jstr(json_object_array_get_idx(sh_fake_sio_received_args(b, 1), 0), "name"), "world");
    assert_string_equal(sh_fake_sio_received_event(a, 1), "greeted");
    /* an HTTP greeting reaches the sockets as well */
    sh_fake_request(f->fh, "GET", "/api/hello/web", NULL, NULL);
    assert_int_equal(sh_fake_sio_received(a), 3);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    assert_int_equal(jint(r->json, "sockets"), 2);
    sh_fake_sio_close(f->fh, a);
    assert_false(sh_fake_sio_connected(a));
    r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    assert_int_equal(jint(r->json, "sockets"), 1);
    sh_fake_request(f->fh, "GET", "/api/hello/again", NULL, NULL);
    assert_int_equal(sh_fake_sio_received(a), 3); /* gone: nothing more */
}

static void test_hello_socket_greet_rejects_a_bad_name(void **state) {
    fixture *f = *state;
    sh_socket *a = sh_fake_sio_connect(f->fh, "/hello", NULL, NULL);
    const sh_fake_ack *ack = sh_fake_sio_send(f->fh, a, "greet", "[42]", 1);
    assert_true(ack->answered);
    json_object *e = json_object_object_get(json_object_array_get_idx(ack->args, 0), "error");
    assert_string_equal(jstr(e, "code"), "invalid_field");
    assert_string_equal(jstr(e, "field"), "name");
    ack = sh_fake_sio_send(f->fh, a, "greet", "[]", 1);
    assert_true(ack->answered);
    ack = sh_fake_sio_send(f->fh, a, "no-such-event", "[1]", 1); /* ignored, as in the host */
    assert_false(ack->handled);
    assert_false(ack->answered);
    /* without an ack the greeting still happens */
    ack = sh_fake_sio_send(f->fh, a, "greet", "[\"quiet\"]", 0);
    assert_true(ack->handled);
    assert_false(ack->answered);
    assert_int_equal(sh_fake_db_query_count(f->fh), 2);
    sh_fake_db_set_available(f->fh, 0);
    ack = sh_fake_sio_send(f->fh, a, "greet", "[\"down\"]", 1);
    e = json_object_object_get(json_object_array_get_idx(ack->args, 0), "error");
    assert_string_equal(jstr(e, "code"), "database_unavailable");
}

static void test_hello_socket_identity_comes_from_the_auth_token(void **state) {
    (void)state;
    fixture *f = hello_up(NULL, 1);
    sh_socket *s = sh_fake_sio_connect(f->fh, "/hello", "tok-alice", NULL);
    assert_non_null(s);
    const sh_host_api *h = sh_fake_api(f->fh);
    assert_int_equal(h->sio_user_id(s), 7);
    assert_true(h->sio_in_room(s, "user:7"));
    assert_true(h->sio_in_room(s, "greeters"));
    assert_string_equal(jstr(json_object_array_get_idx(sh_fake_sio_received_args(s, 0), 0), "user"), "alice");
    const sh_fake_ack *ack = sh_fake_sio_send(f->fh, s, "greet", "[\"bob\"]", 1);
    assert_string_equal(jstr(json_object_array_get_idx(ack->args, 0), "from"), "alice");
    assert_null(sh_fake_sio_connect(f->fh, "/hello", "bad-token", NULL));
    assert_string_equal(sh_fake_sio_error(f->fh), "invalid_token");
    assert_null(sh_fake_sio_connect(f->fh, "/nope", NULL, NULL));
    assert_string_equal(sh_fake_sio_error(f->fh), "Invalid namespace");
    /* stopping disconnects the sockets that are left (their per-socket data is freed: no leak) */
    sh_fake_stop(f->fh);
    assert_false(sh_fake_sio_connected(s));
    hello_down(f);
}

static void test_hello_runs_without_socketio_on_an_older_host(void **state) {
    (void)state;
    fixture *f = calloc(1, sizeof *f);
    f->fh = sh_fake_new(sh_plugin_entry);
    sh_fake_set_api_size(f->fh, offsetof(sh_host_api, sio_namespace)); /* a 1.0 table */
    sh_fake_db_set_handler(f->fh, memdb_answer, &f->db);
    assert_int_equal(sh_fake_init(f->fh), SH_OK);
    assert_int_equal(sh_fake_start(f->fh), SH_OK);
    assert_false(sh_fake_registered(f->fh, "namespace /hello"));
    assert_false(sh_fake_registered(f->fh, "media stage hello-meter (sink)"));
    assert_int_equal(sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL)->status, 200);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    assert_int_equal(jint(r->json, "sockets"), 0);
    assert_null(sh_fake_sio_connect(f->fh, "/hello", NULL, NULL));
    hello_down(f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_socket_greet_is_answered_through_its_ack_and_broadcast,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_socket_greet_rejects_a_bad_name, setup_default, teardown),
        cmocka_unit_test(test_hello_socket_identity_comes_from_the_auth_token),
        cmocka_unit_test(test_hello_runs_without_socketio_on_an_older_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
