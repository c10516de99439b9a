/*
 * tests/unit/test_fakehost_contract.c - the fake host's own contract checks (sdk/fakehost), with a small
 * test-only plugin ("mini"): required settings and services, ABI refusals, registration outside
 * init and double answers, bearer tokens, clock/timers/random/Redis, transactions, Socket.IO acks
 * and binary, media filters and sinks. hello is linked in too (its sh_plugin_entry and
 * hello_on_event are used).
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

static const sh_host_api *mini_host;
static sh_plugin *mini_self;
static int mini_redis_calls;

static void mini_twice(sh_request *req, void *ud) {
    (void)ud;
    mini_host->respond_json(req, 200, json_object_new_object());
    mini_host->respond_json(req, 500, NULL); /* a bug: the second answer is reported */
}
static void mini_private(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "user", json_object_new_string(mini_host->req_username(req)));
    json_object_object_add(o, "id", json_object_new_int64(mini_host->req_user_id(req)));
    mini_host->respond_json(req, 200, o);
}
static void mini_files(sh_request *req, void *ud) {
    (void)ud;
    const char *q = mini_host->req_query(req, "q");
    char text[256];
    snprintf(text, sizeof text, "%s|%s|%s", mini_host->req_param(req, "*"), q ? q : "-", mini_host->req_path(req));
    mini_host->respond_bytes(req, 200, "text/plain", text, strlen(text));
}
static void mini_redis_cb(const sh_redis_reply *reply, void *ud) {
    (void)ud;
    assert_null(reply);
    mini_redis_calls++;
}
static int mini_timer_calls;
static void mini_timer_cb(void *ud) {
    (void)ud;
    mini_timer_calls++;
}

static sh_ack *mini_kept_ack;
static void mini_sio_later(sh_socket *sock, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)sock;
    (void)event;
    (void)ud;
    size_t len = 0;
    const void *bytes = mini_host->sio_binary_data(json_object_array_get_idx(args, 0), &len);
    assert_non_null(bytes);
    assert_int_equal(len, 3);
    assert_memory_equal(bytes, "a\0b", 3);
    mini_kept_ack = ack; /* answered later */
}

static int mini_sink_packets;
static char mini_sink_seen[64];
static sh_packet *mini_sink(void *st, sh_stream *stream, sh_packet *pkt) {
    (void)st;
    (void)stream;
    size_t len;
    const uint8_t *d = mini_host->packet_data(pkt, &len);
    size_t used = strlen(mini_sink_seen);
    snprintf(mini_sink_seen + used, sizeof mini_sink_seen - used, "%.*s", (int)len, (const char *)d);
    mini_sink_packets++;
    return NULL;
}
/* keyframes only, each replaced by a new packet "K" */
static sh_packet *mini_filter(void *st, sh_stream *stream, sh_packet *pkt) {
    (void)st;
    (void)stream;
    if (!mini_host->packet_keyframe(pkt)) return NULL;
    sh_packet_info pi = {.track = mini_host->packet_track(pkt),
                         .pts = mini_host->packet_pts(pkt),
                         .keyframe = 1,
                         .data = (const uint8_t *)"K",
                         .len = 1};
    return mini_host->packet_new(&pi);
}
static const sh_stage_ops mini_sink_ops = {.size = sizeof(sh_stage_ops), .on_packet = mini_sink};
static const sh_stage_ops mini_filter_ops = {.size = sizeof(sh_stage_ops), .on_packet = mini_filter};

static const sh_setting mini_settings[] = {
    {"key", SH_CFG_STRING, NULL, 4, 64, SH_CFG_REQUIRED | SH_CFG_SECRET, "required, 4 to 64 bytes"},
    {"hosts", SH_CFG_STRLIST, "a,b", 0, 0, 0, "a list"},
    {"ratio", SH_CFG_DOUBLE, "0.5", 0, 1, 0, "a number"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};
static const sh_dep mini_requires[] = {{"auth", 1, 0, 0}, {NULL, 0, 0, 0}};

static int mini_init(sh_plugin *self, const sh_host_api *host) {
    mini_host = host;
    mini_self = self;
    host->http_route(self, "GET", "/twice", 0, mini_twice, NULL);
    host->http_route(self, "GET", "/private", SH_ROUTE_AUTH, mini_private, NULL);
    host->http_route(self, "GET", "/files/*", 0, mini_files, NULL);
    host->sio_on(self, "/", "later", mini_sio_later, NULL);
    host->media_stage(self, "count", SH_STAGE_SINK, &mini_sink_ops, NULL);
    host->media_stage(self, "keyonly", SH_STAGE_FILTER, &mini_filter_ops, NULL); /* runs first anyway */
    return SH_OK;
}

static const sh_plugin_desc mini_desc = {
    SH_DESC_HEADER,    .name = "mini", .version = "0", .settings = mini_settings, .requires = mini_requires,
    .init = mini_init,
};
static const sh_plugin_desc *mini_entry(void) {
    return &mini_desc;
}

static sh_plugin_desc newer_desc;
static const sh_plugin_desc *newer_entry(void) {
    return &newer_desc;
}

static sh_fake *mini_up(void) {
    sh_fake *fh = sh_fake_new(mini_entry);
    assert_int_equal(sh_fake_set_config(fh, "key", "s3cret"), SH_OK);
    assert_int_equal(sh_fake_auth_add(fh, "t1", 42, "carol"), SH_OK);
    assert_int_equal(sh_fake_init(fh), SH_OK);
    return fh;
}

static void test_fakehost_checks_required_settings_and_services(void **state) {
    (void)state;
    sh_fake *fh = sh_fake_new(mini_entry);
    assert_int_equal(sh_fake_set_config(fh, "ratio", "1.5"), SH_ERR_INVALID);
    assert_int_equal(sh_fake_set_config(fh, "key", "abc"), SH_ERR_INVALID); /* too short */
    assert_false(sh_fake_log_has(fh, "abc"));                               /* a secret is never logged */
    assert_true(sh_fake_log_has(fh, "(secret)"));
    assert_int_equal(sh_fake_set_config(fh, "key", "s3cret"), SH_OK);
    assert_int_equal(sh_fake_init(fh), SH_ERR_UNAVAILABLE); /* requires auth 1.0 */
    assert_true(sh_fake_log_has(fh, "requires service auth 1.0"));
    sh_fake_free(fh);
    fh = sh_fake_new(mini_entry);
    sh_fake_auth_add(fh, "t1", 42, "carol");
    assert_int_equal(sh_fake_init(fh), SH_ERR_INVALID); /* key is required */
    assert_true(sh_fake_log_has(fh, "config.key: missing"));
    sh_fake_free(fh);
    fh = mini_up();
    size_t n = 0;
    const char *const *hosts = mini_host->cfg_strlist(mini_self, "hosts", &n);
    assert_int_equal(n, 2);
    assert_string_equal(hosts[1], "b");
    assert_true(mini_host->cfg_double(mini_self, "ratio") == 0.5);
    assert_string_equal(mini_host->cfg_str(mini_self, "key"), "s3cret");
    assert_int_equal(sh_fake_violations(fh), 0);
    mini_host->cfg_int(mini_self, "key"); /* the wrong type */
    assert_int_equal(sh_fake_violations(fh), 1);
    sh_fake_free(fh);
}

static void test_fakehost_refuses_a_plugin_built_for_a_newer_sdk(void **state) {
    (void)state;
    newer_desc = mini_desc;
    newer_desc.abi_minor = SH_ABI_MINOR + 1;
    sh_fake *fh = sh_fake_new(newer_entry);
    assert_int_equal(sh_fake_init(fh), SH_ERR_INVALID);
    assert_true(sh_fake_log_has(fh, "refused: built for SDK"));
    sh_fake_free(fh);
    newer_desc = mini_desc;
    newer_desc.size = sizeof(sh_plugin_desc) + 8;
    fh = sh_fake_new(newer_entry);
    assert_int_equal(sh_fake_init(fh), SH_ERR_INVALID);
    sh_fake_free(fh);
}

static void test_fakehost_reports_registration_outside_init_and_double_answers(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    assert_int_equal(mini_host->http_route(mini_self, "GET", "/late", 0, mini_twice, NULL), SH_ERR_STATE);
    assert_int_equal(mini_host->bus_subscribe(mini_self, "x", hello_on_event, NULL), SH_ERR_STATE);
    assert_int_equal(sh_fake_violations(fh), 2);
    const sh_fake_response *r = sh_fake_request(fh, "GET", "/twice", NULL, NULL);
    assert_int_equal(r->status, 200); /* the first answer stands */
    assert_int_equal(r->answers, 2);
    assert_int_equal(sh_fake_violations(fh), 3);
    assert_true(sh_fake_log_has(fh, "[contract] respond on a request that was already answered"));
    sh_fake_free(fh);
}

static void test_fakehost_checks_bearer_tokens_on_auth_routes(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    const sh_fake_response *r = sh_fake_request(fh, "GET", "/private", NULL, NULL);
    assert_int_equal(r->status, 401);
    assert_string_equal(sh_fake_response_error(r), "unauthorized");
    r = sh_fake_request(fh, "GET", "/private", NULL, "nope");
    assert_string_equal(sh_fake_response_error(r), "invalid_token");
    r = sh_fake_request(fh, "GET", "/private", NULL, "t1");
    assert_int_equal(r->status, 200);
    assert_string_equal(jstr(r->json, "user"), "carol");
    assert_int_equal(jint(r->json, "id"), 42);
    r = sh_fake_request(fh, "GET", "/files/a/b%20c?q=x+y&z", NULL, NULL);
    assert_string_equal(r->body, "a/b c|x y|/files/a/b c");
    assert_string_equal(r->content_type, "text/plain");
    assert_int_equal(sh_fake_violations(fh), 0);
    sh_fake_free(fh);
}

static void test_fakehost_clock_timers_random_and_redis(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    const sh_host_api *h = mini_host;
    /* random: deterministic per seed */
    unsigned char a[13], b[13];
    sh_fake_seed(fh, 42);
    h->random_bytes(mini_self, a, sizeof a);
    sh_fake_seed(fh, 42);
    h->random_bytes(mini_self, b, sizeof b);
    assert_memory_equal(a, b, sizeof a);
    sh_fake_seed(fh, 43);
    h->random_bytes(mini_self, b, sizeof b);
    assert_memory_not_equal(a, b, sizeof a);
    /* clocks */
    uint64_t t0 = h->now_ms(mini_self), w0 = h->wall_ms(mini_self);
    sh_fake_advance(fh, 1234);
    assert_int_equal(h->now_ms(mini_self) - t0, 1234);
    assert_int_equal(h->wall_ms(mini_self) - w0, 1234);
    /* a one-shot timer fires once; cancelling it afterwards is reported */
    mini_timer_calls = 0;
    sh_timer *t = h->timer_add(mini_self, 10, 0, mini_timer_cb, NULL);
    sh_fake_advance(fh, 9);
    assert_int_equal(mini_timer_calls, 0);
    sh_fake_advance(fh, 1);
    assert_int_equal(mini_timer_calls, 1);
    sh_fake_advance(fh, 100);
    assert_int_equal(mini_timer_calls, 1);
    h->timer_cancel(t);
    assert_int_equal(sh_fake_violations(fh), 1);
    /* a repeating timer fires once per period, until cancelled */
    t = h->timer_add(mini_self, 100, 1, mini_timer_cb, NULL);
    sh_fake_advance(fh, 350);
    assert_int_equal(mini_timer_calls, 4);
    h->timer_cancel(t);
    sh_fake_advance(fh, 1000);
    assert_int_equal(mini_timer_calls, 4);
    assert_int_equal(sh_fake_timers_active(fh), 0);
    /* Redis is disabled: the callback still runs, later, with NULL */
    mini_redis_calls = 0;
    assert_false(h->redis_enabled(mini_self));
    const char *argv[] = {"PING"};
    assert_int_equal(h->redis_command(mini_self, mini_redis_cb, NULL, 1, argv, NULL), SH_ERR_UNAVAILABLE);
    assert_int_equal(mini_redis_calls, 0);
    sh_fake_run(fh);
    assert_int_equal(mini_redis_calls, 1);
    assert_int_equal(sh_fake_violations(fh), 1);
    /* an older host: SH_HOST_HAS turns false for what it lacks */
    assert_true(SH_HOST_HAS(h, rate_hit));
    sh_fake_set_api_size(fh, offsetof(sh_host_api, rate_hit));
    assert_false(SH_HOST_HAS(h, rate_hit));
    assert_true(SH_HOST_HAS(h, metric_free));
    sh_fake_free(fh);
}

static int tx_result_status;
static char tx_result_state[8];
static void tx_done(const sh_db_result *res, void *ud) {
    (void)ud;
    tx_result_status = mini_host->db_status(res);
    snprintf(tx_result_state, sizeof tx_result_state, "%s", mini_host->db_sqlstate(res)); /* res dies on return */
}

static void test_fakehost_db_tx_stops_at_the_first_failing_statement(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    const char *p1[] = {"x"};
    sh_db_stmt stmts[3] = {{"INSERT 1", 1, p1}, {"INSERT 2", 0, NULL}, {"INSERT 3", 0, NULL}};
    sh_fake_db_push_value(fh, "a", "1");
    sh_fake_db_push_error(fh, SH_ERR, "23505", "duplicate");
    sh_fake_db_push_value(fh, "c", "3");
    assert_int_equal(mini_host->db_tx(mini_self, stmts, 3, tx_done, NULL), SH_OK);
    assert_int_equal(tx_result_status, 0);
    sh_fake_run(fh);
    assert_int_equal(tx_result_status, SH_ERR);
    assert_string_equal(tx_result_state, "23505");
    assert_int_equal(sh_fake_db_query_count(fh), 3);
    assert_string_equal(sh_fake_db_query_param(fh, 0, 0), "x");
    assert_null(sh_fake_db_query_param(fh, 0, 1));
    /* the third scripted answer is still queued: it answers the next statement */
    tx_result_status = 99;
    mini_host->db_query(mini_self, "SELECT 3", 0, NULL, tx_done, NULL);
    sh_fake_run(fh);
    assert_int_equal(tx_result_status, SH_OK);
    /* invalid arguments fail (later) with SH_ERR */
    assert_int_equal(mini_host->db_query(mini_self, NULL, 0, NULL, tx_done, NULL), SH_ERR_INVALID);
    sh_fake_run(fh);
    assert_int_equal(tx_result_status, SH_ERR);
    sh_fake_free(fh);
}

static void test_fakehost_acks_after_disconnect_are_dropped_and_binary_round_trips(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    const sh_host_api *h = mini_host;
    sh_socket *s = sh_fake_sio_connect(fh, "/", NULL, NULL);
    assert_non_null(s);
    assert_string_equal(h->sio_id(s), "fake-sock-1");
    json_object *args = json_object_new_array();
    json_object_array_add(args, h->sio_binary_new("a\0b", 3));
    const sh_fake_ack *ack = sh_fake_sio_send_args(fh, s, "later", args, 1);
    assert_true(ack->handled);
    assert_false(ack->answered);
    /* a plain string is not binary */
    json_object *str = json_object_new_string("abc");
    size_t len = 9;
    assert_null(h->sio_binary_data(str, &len));
    assert_int_equal(len, 0);
    json_object_put(str);
    /* the socket leaves before the answer: the answer is still given, and dropped */
    sh_fake_sio_close(fh, s);
    h->sio_ack(mini_kept_ack, json_object_new_string("late"));
    assert_true(ack->answered);
    assert_true(ack->dropped);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ack->args, 0)), "late");
    assert_int_equal(sh_fake_violations(fh), 0);
    /* using the socket after it left is reported */
    assert_int_equal(h->sio_emit(s, "x", NULL), SH_ERR_STATE);
    assert_int_equal(sh_fake_violations(fh), 1);
    h->sio_ack(mini_kept_ack, NULL); /* a second answer */
    assert_int_equal(sh_fake_violations(fh), 2);
    /* room emits reach the room only, minus `except` */
    sh_socket *x = sh_fake_sio_connect(fh, "/", "t1", NULL), *y = sh_fake_sio_connect(fh, "/", NULL, NULL);
    h->sio_join(y, "r");
    h->sio_join(x, "r");
    assert_int_equal(h->sio_room_size(mini_self, "/", "r"), 2);
    assert_int_equal(h->sio_emit_room(mini_self, "/", "r", "hi", json_object_new_int(1), x), SH_OK);
    assert_int_equal(h->sio_emit_room(mini_self, "/", "user:42", "you", NULL, NULL), SH_OK);
    assert_int_equal(h->sio_emit_all(mini_self, "/", "all", NULL), SH_OK);
    assert_int_equal(h->sio_emit_room(mini_self, "/nope", "r", "hi", NULL, NULL), SH_ERR_INVALID);
    assert_int_equal(sh_fake_sio_received(x), 2); /* "you" and "all" */
    assert_string_equal(sh_fake_sio_received_event(x, 0), "you");
    assert_int_equal(sh_fake_sio_received(y), 2); /* "hi" and "all" */
    assert_int_equal(json_object_get_int(json_object_array_get_idx(sh_fake_sio_received_args(y, 0), 0)), 1);
    assert_int_equal(h->sio_leave(y, "r"), SH_OK);
    assert_int_equal(h->sio_leave(y, "r"), SH_ERR_NOTFOUND);
    h->sio_disconnect(x);
    assert_false(sh_fake_sio_connected(x));
    assert_int_equal(sh_fake_violations(fh), 2);
    sh_fake_free(fh);
}

static void test_fakehost_runs_filters_before_sinks_and_hands_packets_over(void **state) {
    (void)state;
    sh_fake *fh = mini_up();
    const sh_host_api *h = mini_host;
    assert_true(sh_fake_registered(fh, "media stage keyonly (filter)"));
    sh_stream *st = h->stream_open(mini_self, "r", 1, "u");
    sh_track_info a = {
        .size = sizeof a, .kind = SH_TRACK_AUDIO, .codec = SH_CODEC_AAC, .sample_rate = 48000, .channels = 2};
    assert_int_equal(h->stream_add_track(st, &a), 0);
    sh_packet_info pi = {.track = 0, .data = (const uint8_t *)"x", .len = 1};
    assert_int_equal(h->stream_push(st, &pi), SH_ERR_STATE); /* not started */
    assert_int_equal(h->stream_start(st), SH_OK);
    assert_int_equal(h->stream_track(st, 0)->timebase_den, 1000); /* defaulted */
    mini_sink_packets = 0;
    mini_sink_seen[0] = '\0';
    for (int i = 0; i < 4; i++) {
        pi.keyframe = i % 2 == 0;
        assert_int_equal(h->stream_push(st, &pi), SH_OK);
    }
    pi.track = 3;
    assert_int_equal(h->stream_push(st, &pi), SH_ERR_INVALID);
    assert_int_equal(mini_sink_packets, 2);
    assert_string_equal(mini_sink_seen, "KK");
    assert_ptr_equal(h->stream_find(mini_self, "r"), st);
    sh_fake_free(fh); /* closes the stream ("shutdown"); packets all released (ASan checks) */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fakehost_checks_required_settings_and_services),
        cmocka_unit_test(test_fakehost_refuses_a_plugin_built_for_a_newer_sdk),
        cmocka_unit_test(test_fakehost_reports_registration_outside_init_and_double_answers),
        cmocka_unit_test(test_fakehost_checks_bearer_tokens_on_auth_routes),
        cmocka_unit_test(test_fakehost_clock_timers_random_and_redis),
        cmocka_unit_test(test_fakehost_db_tx_stops_at_the_first_failing_statement),
        cmocka_unit_test(test_fakehost_acks_after_disconnect_are_dropped_and_binary_round_trips),
        cmocka_unit_test(test_fakehost_runs_filters_before_sinks_and_hands_packets_over),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
