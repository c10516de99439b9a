/*
 * tests/unit/test_fakehost_hello.c - the SDK's example plugin (sdk/examples/hello) against the
 * SDK's fake host (sdk/fakehost), and the fake host's own contract checks with a small
 * test-only plugin ("mini").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sdk/fakehost/fakehost.c"
#include "sdk/examples/hello/hello.c"

/* ---- an in-memory hello_greetings table that answers hello's two statements --------------- */
typedef struct memdb {
    char names[256][80];
    int n;
    char count[32];
} memdb;

static void memdb_answer(void *ud, const char *sql, int nparams, const char *const *params, sh_fake_db_answer *out) {
    static const char *cols[] = {"count"};
    static const char *vals[1];
    memdb *db = ud;
    if (strncmp(sql, "INSERT INTO hello_greetings", 27) == 0 && nparams == 1 && db->n < 256) {
        snprintf(db->names[db->n++], sizeof db->names[0], "%s", params[0]);
        out->affected = 1;
    } else if (strncmp(sql, "SELECT count(*) FROM hello_greetings WHERE name = $1", 52) == 0 && nparams == 1) {
        int c = 0;
        for (int i = 0; i < db->n; i++)
            c += strcmp(db->names[i], params[0]) == 0;
        snprintf(db->count, sizeof db->count, "%d", c);
        vals[0] = db->count;
        out->ncols = 1;
        out->cols = cols;
        out->nrows = 1;
        out->values = vals;
    } else {
        out->status = SH_ERR;
        out->sqlstate = "42601";
        out->error = "unexpected statement";
    }
}

typedef struct fixture {
    sh_fake *fh;
    memdb db;
} fixture;

/* A started hello with config pairs (name, value, ..., NULL) and optionally a signed-in user. */
static fixture *hello_up(const char *const *config, int with_auth) {
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fh = sh_fake_new(sh_plugin_entry);
    assert_non_null(f->fh);
    for (const char *const *c = config; c && c[0]; c += 2)
        assert_int_equal(sh_fake_set_config(f->fh, c[0], c[1]), SH_OK);
    if (with_auth) assert_int_equal(sh_fake_auth_add(f->fh, "tok-alice", 7, "alice"), SH_OK);
    sh_fake_db_set_handler(f->fh, memdb_answer, &f->db);
    assert_int_equal(sh_fake_init(f->fh), SH_OK);
    assert_int_equal(sh_fake_start(f->fh), SH_OK);
    return f;
}

static void hello_down(fixture *f) {
    int violations = sh_fake_violations(f->fh);
    if (violations) fprintf(stderr, "%s", sh_fake_log(f->fh));
    sh_fake_free(f->fh);
    free(f);
    assert_int_equal(violations, 0);
}

static int setup_default(void **state) {
    *state = hello_up(NULL, 0);
    return 0;
}
static int teardown(void **state) {
    hello_down(*state);
    return 0;
}

static const char *jstr(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}
static int64_t jint(json_object *o, const char *key) {
    json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
}

/* ---- hello ------------------------------------------------------------------------------- */
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

static void test_hello_counts_greetings_per_name_in_its_table(void **state) {
    fixture *f = *state;
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->answers, 1);
    assert_string_equal(r->content_type, "application/json; charset=utf-8");
    assert_string_equal(jstr(r->json, "hello"), "world");
    assert_string_equal(jstr(r->json, "message"), "hello, world!");
    assert_int_equal(jint(r->json, "count"), 1);
    r = sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_int_equal(jint(r->json, "count"), 2);
    r = sh_fake_request(f->fh, "GET", "/api/hello/big%20world", NULL, NULL);
    assert_string_equal(jstr(r->json, "hello"), "big world");
    assert_int_equal(jint(r->json, "count"), 1);
    /* insert, then count, with the name as a parameter (never in the SQL text) */
    assert_int_equal(sh_fake_db_query_count(f->fh), 6);
    assert_string_equal(sh_fake_db_query_sql(f->fh, 0), "INSERT INTO hello_greetings (name) VALUES ($1)");
    assert_string_equal(sh_fake_db_query_param(f->fh, 0, 0), "world");
    assert_non_null(strstr(sh_fake_db_query_sql(f->fh, 1), "count(*)"));
    assert_string_equal(sh_fake_db_query_param(f->fh, 4, 0), "big world");
    const hello_api *svc = sh_fake_service(f->fh, HELLO_SERVICE, HELLO_MAJOR);
    assert_int_equal(svc->greetings(), 3);
    double v;
    assert_int_equal(sh_fake_metric(f->fh, "hello_greetings_total", NULL, &v, NULL), SH_OK);
    assert_true(v == 3.0);
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

static void test_hello_rejects_names_that_are_too_long_or_not_text(void **state) {
    (void)state;
    static const char *cfg[] = {"max_name_chars", "5", NULL};
    fixture *f = hello_up(cfg, 0);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello/abcdef", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(sh_fake_response_error(r), "invalid_field");
    assert_string_equal(sh_fake_response_field(r), "name");
    r = sh_fake_request(f->fh, "GET", "/api/hello/a%01b", NULL, NULL); /* a control character */
    assert_int_equal(r->status, 400);
    r = sh_fake_request(f->fh, "GET", "/api/hello/%FFab", NULL, NULL); /* not UTF-8 */
    assert_int_equal(r->status, 400);
    r = sh_fake_request(f->fh, "GET", "/api/hello/%ED%A0%80", NULL, NULL); /* a surrogate */
    assert_int_equal(r->status, 400);
    assert_int_equal(sh_fake_db_query_count(f->fh), 0);
    r = sh_fake_request(f->fh, "GET", "/api/hello/%C3%A9t%C3%A9s", NULL, NULL); /* "étés": 4 characters */
    assert_int_equal(r->status, 200);
    assert_string_equal(jstr(r->json, "hello"), "\xC3\xA9t\xC3\xA9s");
    hello_down(f);
}

static void test_hello_answers_503_when_the_database_is_down(void **state) {
    fixture *f = *state;
    sh_fake_db_set_available(f->fh, 0);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_int_equal(r->status, 503);
    assert_string_equal(sh_fake_response_error(r), "database_unavailable");
    assert_int_equal(sh_fake_published_count(f->fh), 0);
}

static void test_hello_answers_500_when_the_insert_fails(void **state) {
    fixture *f = *state;
    assert_int_equal(sh_fake_db_push_error(f->fh, SH_ERR, "23514", "check violation"), SH_OK);
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello/world", NULL, NULL);
    assert_int_equal(r->status, 500);
    assert_string_equal(sh_fake_response_error(r), "internal");
    assert_true(sh_fake_log_has(f->fh, "WARN hello: insert failed: check violation"));
    assert_int_equal(sh_fake_db_query_count(f->fh), 1); /* no count after a failed insert */
}

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

static void test_hello_post_validates_its_json_body(void **state) {
    fixture *f = *state;
    const sh_fake_response *r = sh_fake_request(f->fh, "POST", "/api/hello", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(sh_fake_response_error(r), "invalid_json");
    r = sh_fake_request(f->fh, "POST", "/api/hello", "[1]", NULL);
    assert_string_equal(sh_fake_response_error(r), "invalid_json");
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\": \"x\"} trailing", NULL);
    assert_string_equal(sh_fake_response_error(r), "invalid_json");
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\": 5}", NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(sh_fake_response_error(r), "invalid_field");
    assert_string_equal(sh_fake_response_field(r), "name");
    json_object *e = json_object_object_get(r->json, "error");
    assert_string_equal(jstr(e, "message"), "name must be a string.");
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\": \"   \"}", NULL);
    assert_string_equal(jstr(json_object_object_get(r->json, "error"), "message"), "name must be 1 to 64 characters.");
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\": \"x\", \"shout\": \"yes\"}", NULL);
    assert_string_equal(sh_fake_response_field(r), "shout");
    assert_int_equal(sh_fake_db_query_count(f->fh), 0);
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\": \"  bob \"}\n", NULL);
    assert_int_equal(r->status, 201);
    assert_string_equal(jstr(r->json, "hello"), "bob"); /* trimmed by json_str */
    assert_null(jstr(r->json, "from"));
}

static void test_hello_post_shouts_on_a_worker(void **state) {
    fixture *f = *state;
    sh_fake_req req = {
        .method = "POST", .path = "/api/hello", .body = "{\"name\":\"Bob\",\"shout\":true}", .no_run = 1};
    const sh_fake_response *r = sh_fake_request_ex(f->fh, &req);
    assert_int_equal(r->status, 0); /* the work is queued, nothing answered yet */
    assert_int_equal(sh_fake_db_query_count(f->fh), 0);
    assert_true(sh_fake_run(f->fh) >= 3); /* work + done, insert, count */
    assert_int_equal(r->status, 201);
    assert_string_equal(jstr(r->json, "hello"), "BOB");
}

static void test_hello_post_names_the_signed_in_user(void **state) {
    (void)state;
    fixture *f = hello_up(NULL, 1);
    assert_false(sh_fake_log_has(f->fh, "no auth service"));
    const sh_fake_response *r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"bob\"}", "tok-alice");
    assert_int_equal(r->status, 201);
    assert_string_equal(jstr(r->json, "from"), "alice");
    /* an optional-auth route treats a bad token as anonymous */
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"bob\"}", "bad-token");
    assert_int_equal(r->status, 201);
    assert_null(jstr(r->json, "from"));
    assert_int_equal(jint(r->json, "count"), 2);
    hello_down(f);
}

static void test_hello_post_is_rate_limited_until_the_window_ends(void **state) {
    fixture *f = *state;
    const sh_fake_response *r = NULL;
    for (int i = 0; i < 30; i++) {
        r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"bob\"}", NULL);
        assert_int_equal(r->status, 201);
    }
    r = sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"bob\"}", NULL);
    assert_int_equal(r->status, 429);
    assert_string_equal(sh_fake_response_error(r), "rate_limited");
    assert_string_equal(sh_fake_response_header(r, "retry-after"), "60");
    sh_fake_req other = {
        .method = "POST", .path = "/api/hello", .body = "{\"name\":\"bob\"}", .remote_addr = "10.0.0.2"};
    assert_int_equal(sh_fake_request_ex(f->fh, &other)->status, 201); /* per address */
    sh_fake_advance(f->fh, 59000);
    assert_string_equal(
        sh_fake_response_header(sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"b\"}", NULL), "Retry-After"),
        "1");
    sh_fake_advance(f->fh, 1000);
    assert_int_equal(sh_fake_request(f->fh, "POST", "/api/hello", "{\"name\":\"bob\"}", NULL)->status, 201);
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

static void test_hello_routes_answer_404_and_405_like_the_host(void **state) {
    fixture *f = *state;
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello", NULL, NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(sh_fake_response_header(r, "Allow"), "POST");
    r = sh_fake_request(f->fh, "DELETE", "/api/hello/x", NULL, NULL);
    assert_int_equal(r->status, 405);
    assert_string_equal(sh_fake_response_header(r, "Allow"), "GET, HEAD");
    r = sh_fake_request(f->fh, "GET", "/api/hello/x/y", NULL, NULL);
    assert_int_equal(r->status, 404);
    assert_string_equal(sh_fake_response_error(r), "not_found");
    r = sh_fake_request(f->fh, "GET", "/api/hello/a%zz", NULL, NULL);
    assert_int_equal(r->status, 400);
    assert_string_equal(sh_fake_response_error(r), "bad_path");
}

/* ---- hello over Socket.IO ------------------------------------------------------------------ */
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

/* ---- hello's media sink ---------------------------------------------------------------------- */
static void push(const sh_host_api *h, sh_stream *st, int64_t pts, int key, size_t len) {
    static const uint8_t bytes[256];
    sh_packet_info pi = {.track = 0, .pts = pts, .dts = pts, .keyframe = key, .data = bytes, .len = len};
    assert_int_equal(h->stream_push(st, &pi), SH_OK);
}

static void test_hello_meter_counts_the_packets_of_live_streams(void **state) {
    fixture *f = *state;
    const sh_host_api *h = sh_fake_api(f->fh);
    sh_plugin *src = sh_fake_plugin(f->fh); /* the test plays the source (an rtmp plugin's part) */
    sh_stream *st = h->stream_open(src, "room1", 5, "streamer");
    assert_non_null(st);
    assert_null(h->stream_open(src, "room1", 6, "other")); /* one publisher per room */
    sh_track_info v = {
        .size = sizeof v, .kind = SH_TRACK_VIDEO, .codec = SH_CODEC_H264, .width = 1280, .height = 720, .fps = 30};
    assert_int_equal(h->stream_add_track(st, &v), 0);
    assert_int_equal(h->stream_start(st), SH_OK);
    assert_int_equal(h->stream_add_track(st, &v), SH_ERR_STATE); /* tracks are fixed once started */
    push(h, st, 0, 1, 100);
    push(h, st, 33, 0, 100);
    push(h, st, 66, 0, 50);
    sh_fake_run(f->fh); /* deliver "stream.started" */
    const sh_fake_response *r = sh_fake_request(f->fh, "GET", "/api/hello-stats", NULL, NULL);
    json_object *media = json_object_object_get(r->json, "media");
    assert_int_equal(jint(media, "liveStreams"), 1);
    assert_int_equal(jint(media, "packets"), 3);
    assert_int_equal(jint(media, "bytes"), 250);
    assert_int_equal(jint(r->json, "streamsStarted"), 1);
    assert_string_equal(sh_fake_published_topic(f->fh, 0), "stream.started");
    json_object *tracks = json_object_object_get(sh_fake_published_payload(f->fh, 0), "tracks");
    assert_string_equal(jstr(json_object_array_get_idx(tracks, 0), "codec"), "h264");
    h->stream_close(st, NULL);
    assert_true(
        sh_fake_log_has(f->fh, "stream 1 in room room1 ended (unpublished): 3 packets, 250 bytes, 1 keyframes"));
    assert_string_equal(sh_fake_published_topic(f->fh, 1), "stream.ended");
    assert_string_equal(jstr(sh_fake_published_payload(f->fh, 1), "reason"), "unpublished");
    assert_int_equal(sh_fake_streams_live(f->fh), 0);
    /* a stream still live when the server stops ends with "shutdown" (its meter is freed) */
    st = h->stream_open(src, "room2", 5, "streamer");
    h->stream_add_track(st, &v);
    h->stream_start(st);
    sh_fake_stop(f->fh);
    assert_true(sh_fake_log_has(f->fh, "room room2 ended (shutdown)"));
    assert_int_equal(sh_fake_streams_live(f->fh), 0);
}

/* ---- the fake host's own contract ---------------------------------------------------------- */
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
        cmocka_unit_test_setup_teardown(test_hello_registers_every_kind_of_registration, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_counts_greetings_per_name_in_its_table, setup_default, teardown),
        cmocka_unit_test(test_hello_greets_with_the_configured_word),
        cmocka_unit_test(test_hello_config_is_validated_against_its_settings),
        cmocka_unit_test(test_hello_rejects_names_that_are_too_long_or_not_text),
        cmocka_unit_test_setup_teardown(test_hello_answers_503_when_the_database_is_down, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_answers_500_when_the_insert_fails, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_publishes_greetings_and_counts_bus_events, setup_default, teardown),
        cmocka_unit_test(test_hello_publishes_nothing_when_announce_is_off),
        cmocka_unit_test_setup_teardown(test_hello_post_validates_its_json_body, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_post_shouts_on_a_worker, setup_default, teardown),
        cmocka_unit_test(test_hello_post_names_the_signed_in_user),
        cmocka_unit_test_setup_teardown(test_hello_post_is_rate_limited_until_the_window_ends, setup_default, teardown),
        cmocka_unit_test(test_hello_timer_updates_the_uptime_gauge_until_stopped),
        cmocka_unit_test_setup_teardown(test_hello_routes_answer_404_and_405_like_the_host, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_socket_greet_is_answered_through_its_ack_and_broadcast,
                                        setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_socket_greet_rejects_a_bad_name, setup_default, teardown),
        cmocka_unit_test(test_hello_socket_identity_comes_from_the_auth_token),
        cmocka_unit_test(test_hello_runs_without_socketio_on_an_older_host),
        cmocka_unit_test_setup_teardown(test_hello_meter_counts_the_packets_of_live_streams, setup_default, teardown),
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
