/*
 * tests/unit/test_fakehost_hello_routes.c - hello's HTTP routes against the fake host: GET and POST greetings,
 * their statements on an in-memory table, validation, database failures, the rate limit, 404/405.
 * Shared set-up: fakehost_hello_fixture.h.
 */
#include "tests/unit/fakehost_hello_fixture.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_counts_greetings_per_name_in_its_table, setup_default, teardown),
        cmocka_unit_test(test_hello_rejects_names_that_are_too_long_or_not_text),
        cmocka_unit_test_setup_teardown(test_hello_answers_503_when_the_database_is_down, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_answers_500_when_the_insert_fails, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_post_validates_its_json_body, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_post_shouts_on_a_worker, setup_default, teardown),
        cmocka_unit_test(test_hello_post_names_the_signed_in_user),
        cmocka_unit_test_setup_teardown(test_hello_post_is_rate_limited_until_the_window_ends, setup_default, teardown),
        cmocka_unit_test_setup_teardown(test_hello_routes_answer_404_and_405_like_the_host, setup_default, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
