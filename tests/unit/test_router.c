/*
 * tests/unit/test_router.c - method + path-pattern routing (core/http_router.c): literals,
 * :params (percent-decoded), a final "*", precedence, 405 + Allow (with HEAD), malformed paths,
 * "//" and trailing slashes, and refused patterns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/http_router.c"

static char err[256];

/* Route user data: small distinct tags. */
static int R_ROOMS, R_ROOM, R_ROOM_MINE, R_ROOM_POST, R_STATIC, R_ROOT, R_MSG, R_DEL, R_FILES;

static int setup(void **state) {
    sh_router *r = sh_router_new();
    assert_non_null(r);
    assert_int_equal(sh_router_add(r, "GET", "/", &R_ROOT, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms", &R_ROOMS, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "POST", "/api/rooms", &R_ROOM_POST, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/:roomId", &R_ROOM, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/mine", &R_ROOM_MINE, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "DELETE", "/api/rooms/:roomId", &R_DEL, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/:roomId/messages/:msgId", &R_MSG, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/hls/*", &R_STATIC, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "PUT", "/files/:dir/*", &R_FILES, err, sizeof err), 0);
    *state = r;
    return 0;
}

static int teardown(void **state) {
    sh_router_free(*state);
    return 0;
}

static int match(sh_router *r, const char *method, const char *path, sh_route_match *m, char *allow) {
    return sh_router_match(r, method, path, m, allow, allow ? 128 : 0);
}

static const char *param(const sh_route_match *m, const char *name) {
    for (size_t i = 0; i < m->nparams; i++)
        if (strcmp(m->names[i], name) == 0) return m->values[i];
    return NULL;
}

/* ---- matching --------------------------------------------------------------------------------- */

static void test_router_literal_route_matches_exactly(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/api/rooms", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOMS);
    assert_int_equal(m.nparams, 0);
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "POST", "/api/rooms", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOM_POST);
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "GET", "/", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOT);
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "GET", "/api", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "GET", "/api/roomsx", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "GET", "/API/rooms", &m, NULL), SH_ROUTE_NONE); /* case-sensitive */
    assert_null(m.route_ud);
}

static void test_router_params_are_captured_and_percent_decoded(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/api/rooms/abc%20d%C3%A9", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOM);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "roomId");
    assert_string_equal(m.values[0], "abc d\xC3\xA9");
    sh_route_match_clear(&m);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match(r, "GET", "/api/rooms/r1/messages/%2F..%2F", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_MSG);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(param(&m, "roomId"), "r1");
    assert_string_equal(param(&m, "msgId"), "/../"); /* decoded after splitting: one segment */
    sh_route_match_clear(&m);
    /* '+' is not a space in a path */
    assert_int_equal(match(r, "GET", "/api/rooms/a+b", &m, NULL), SH_ROUTE_FOUND);
    assert_string_equal(param(&m, "roomId"), "a+b");
    sh_route_match_clear(&m);
}

static void test_router_literal_beats_param_whatever_the_order(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    /* /api/rooms/:roomId was registered before /api/rooms/mine */
    assert_int_equal(match(r, "GET", "/api/rooms/mine", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOM_MINE);
    assert_int_equal(m.nparams, 0);
    sh_route_match_clear(&m);
    /* ... and the other way round */
    sh_router *r2 = sh_router_new();
    int a, b, c;
    assert_int_equal(sh_router_add(r2, "GET", "/x/lit/y", &a, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r2, "GET", "/x/:p/y", &b, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r2, "GET", "/x/*", &c, err, sizeof err), 0);
    assert_int_equal(match(r2, "GET", "/x/lit/y", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &a);
    sh_route_match_clear(&m);
    assert_int_equal(match(r2, "GET", "/x/other/y", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &b);
    sh_route_match_clear(&m);
    assert_int_equal(match(r2, "GET", "/x/other/z", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &c);
    assert_string_equal(param(&m, "*"), "other/z");
    sh_route_match_clear(&m);
    sh_router_free(r2);
}

static void test_router_equal_literals_first_registered_wins(void **state) {
    (void)state;
    sh_router *r = sh_router_new();
    int a, b;
    assert_int_equal(sh_router_add(r, "GET", "/a/:x/c", &a, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/a/b/:y", &b, err, sizeof err), 0);
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/a/b/c", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &a);
    sh_route_match_clear(&m);
    sh_router_free(r);
}

static void test_router_star_matches_the_rest_even_empty(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/hls/room1/index.m3u8", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_STATIC);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(m.names[0], "*");
    assert_string_equal(m.values[0], "room1/index.m3u8");
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "GET", "/hls/a%20b/c%2Fd", &m, NULL), SH_ROUTE_FOUND);
    assert_string_equal(param(&m, "*"), "a b/c/d");
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "GET", "/hls/", &m, NULL), SH_ROUTE_FOUND);
    assert_string_equal(param(&m, "*"), "");
    sh_route_match_clear(&m);
    assert_int_equal(match(r, "GET", "/hls", &m, NULL), SH_ROUTE_FOUND);
    assert_string_equal(param(&m, "*"), "");
    sh_route_match_clear(&m);
    /* params before the star */
    assert_int_equal(match(r, "PUT", "/files/d%31/x/y/z", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_FILES);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(param(&m, "dir"), "d1");
    assert_string_equal(param(&m, "*"), "x/y/z");
    sh_route_match_clear(&m);
}

/* ---- 405 and Allow -------------------------------------------------------------------------- */

static void test_router_wrong_method_gives_405_with_allow_including_head(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    char allow[128];
    assert_int_equal(match(r, "PUT", "/api/rooms", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "GET, POST, HEAD");
    assert_null(m.route_ud);
    assert_int_equal(match(r, "POST", "/api/rooms/r1", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "GET, DELETE, HEAD");
    /* only a non-GET route: no HEAD */
    assert_int_equal(match(r, "GET", "/files/a/b", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "PUT");
    /* /api/rooms/mine matches both GET routes and the DELETE :roomId one: each method once */
    assert_int_equal(match(r, "PATCH", "/api/rooms/mine", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "GET, DELETE, HEAD");
}

static void test_router_head_matches_get_routes(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "HEAD", "/api/rooms/r9", &m, NULL), SH_ROUTE_FOUND);
    assert_ptr_equal(m.route_ud, &R_ROOM);
    assert_string_equal(param(&m, "roomId"), "r9");
    sh_route_match_clear(&m);
    char allow[128];
    assert_int_equal(match(r, "HEAD", "/files/a/b", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "PUT");
}

static void test_router_explicit_head_route_is_listed_once(void **state) {
    (void)state;
    sh_router *r = sh_router_new();
    int a, b;
    assert_int_equal(sh_router_add(r, "GET", "/x", &a, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "HEAD", "/x", &b, err, sizeof err), 0);
    sh_route_match m;
    assert_int_equal(match(r, "HEAD", "/x", &m, NULL), SH_ROUTE_FOUND);
    sh_route_match_clear(&m);
    char allow[128];
    assert_int_equal(match(r, "POST", "/x", &m, allow), SH_ROUTE_METHOD);
    assert_string_equal(allow, "GET, HEAD");
    sh_router_free(r);
}

static void test_router_allow_is_truncated_safely(void **state) {
    (void)state;
    sh_router *r = sh_router_new();
    static const char *methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND", "MKCOL"};
    int ud;
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(sh_router_add(r, methods[i], "/x", &ud, err, sizeof err), 0);
    char allow[12];
    memset(allow, 'Z', sizeof allow);
    sh_route_match m;
    assert_int_equal(sh_router_match(r, "TRACE", "/x", &m, allow, 10), SH_ROUTE_METHOD);
    assert_true(strlen(allow) < 10);
    assert_int_equal(allow[10], 'Z'); /* nothing written past allowlen */
    assert_int_equal(allow[11], 'Z');
    assert_int_equal(sh_router_match(r, "TRACE", "/x", &m, NULL, 0), SH_ROUTE_METHOD);
    sh_router_free(r);
}

/* ---- malformed paths, "//", trailing "/" ---------------------------------------------------- */

static void test_router_bad_percent_encoding_in_a_param_is_badpath(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/api/rooms/a%zz", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(m.nparams, 0);
    assert_null(m.route_ud);
    assert_int_equal(match(r, "GET", "/api/rooms/a%2", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(match(r, "GET", "/api/rooms/a%", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(match(r, "GET", "/api/rooms/a%00b", &m, NULL), SH_ROUTE_BADPATH); /* no NUL */
    assert_int_equal(match(r, "GET", "/hls/x/%G1", &m, NULL), SH_ROUTE_BADPATH);
    /* the second of two params: the first one's decoded value is not leaked */
    assert_int_equal(match(r, "GET", "/api/rooms/ok%20/messages/%x", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(m.nparams, 0);
}

static void test_router_path_must_be_absolute(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    assert_int_equal(match(r, "GET", "", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(match(r, "GET", "api/rooms", &m, NULL), SH_ROUTE_BADPATH);
    assert_int_equal(match(r, "GET", "*", &m, NULL), SH_ROUTE_BADPATH);
}

static void test_router_too_many_segments_is_badpath(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    char path[256] = "";
    for (int i = 0; i < SH_ROUTER_MAX_SEGMENTS; i++)
        strcat(path, "/a");
    assert_int_equal(match(r, "GET", path, &m, NULL), SH_ROUTE_NONE);
    strcat(path, "/a");
    assert_int_equal(match(r, "GET", path, &m, NULL), SH_ROUTE_BADPATH);
}

static void test_router_double_slash_and_trailing_slash_do_not_match(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    /* an empty segment never matches a literal nor a :param */
    assert_int_equal(match(r, "GET", "/api//rooms", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "GET", "//api/rooms", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "GET", "/api/rooms//messages/1", &m, NULL), SH_ROUTE_NONE);
    /* a trailing slash is one more (empty) segment: /api/rooms/ is neither /api/rooms nor :roomId */
    assert_int_equal(match(r, "GET", "/api/rooms/", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "DELETE", "/api/rooms/", &m, NULL), SH_ROUTE_NONE);
    assert_int_equal(match(r, "GET", "/api/rooms/r1/", &m, NULL), SH_ROUTE_NONE);
    /* under a star, empty segments are kept in the rest */
    assert_int_equal(match(r, "GET", "/hls//a//", &m, NULL), SH_ROUTE_FOUND);
    assert_string_equal(param(&m, "*"), "/a//");
    sh_route_match_clear(&m);
}

static void test_router_encoded_slash_does_not_split_or_match_literals(void **state) {
    sh_router *r = *state;
    sh_route_match m;
    /* "%2F" is decoded inside one segment, never used to split */
    assert_int_equal(match(r, "GET", "/api%2Frooms", &m, NULL), SH_ROUTE_NONE);
    /* literals are compared before decoding: an encoded literal is not that literal */
    assert_int_equal(match(r, "GET", "/api/r%6Foms", &m, NULL), SH_ROUTE_NONE);
}

/* ---- registration ----------------------------------------------------------------------------- */

static void test_router_duplicate_route_is_refused(void **state) {
    sh_router *r = *state;
    int ud;
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/:roomId", &ud, err, sizeof err), -1);
    assert_string_equal(err, "route GET /api/rooms/:roomId is already registered");
    assert_int_equal(sh_router_add(r, "GET", "/hls/*", &ud, err, sizeof err), -1);
    /* the same pattern with another method is a different route */
    assert_int_equal(sh_router_add(r, "PUT", "/hls/*", &ud, err, sizeof err), 0);
    assert_int_equal(sh_router_count(r), 10);
    const char *method, *pattern;
    void *u;
    sh_router_get(r, 9, &method, &pattern, &u);
    assert_string_equal(method, "PUT");
    assert_string_equal(pattern, "/hls/*");
    assert_ptr_equal(u, &ud);
}

/* A route that differs only in its param names can never be reached: it is a duplicate too. */
static void test_router_same_shape_with_other_param_names_is_refused(void **state) {
    sh_router *r = *state;
    int ud;
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/:id", &ud, err, sizeof err), -1);
    assert_string_equal(err, "route GET /api/rooms/:id is already registered (as /api/rooms/:roomId)");
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/:a/messages/:b", &ud, err, sizeof err), -1);
    /* a literal where the other has a param is another shape (the literal wins when both match) */
    assert_int_equal(sh_router_add(r, "GET", "/api/rooms/r1/messages/:m", &ud, err, sizeof err), 0);
    /* and the same shape with another method is another route */
    assert_int_equal(sh_router_add(r, "PATCH", "/api/rooms/:id", &ud, err, sizeof err), 0);
}

static void test_router_bad_patterns_are_refused(void **state) {
    (void)state;
    sh_router *r = sh_router_new();
    int ud;
    assert_int_equal(sh_router_add(r, "GET", "api/x", &ud, err, sizeof err), -1);
    assert_string_equal(err, "bad route pattern \"api/x\" (it must start with '/')");
    assert_int_equal(sh_router_add(r, "GET", "", &ud, err, sizeof err), -1);
    assert_int_equal(sh_router_add(r, "GET", NULL, &ud, err, sizeof err), -1);
    assert_string_equal(err, "bad route pattern \"\" (it must start with '/')");
    assert_int_equal(sh_router_add(r, "", "/x", &ud, err, sizeof err), -1);
    assert_int_equal(sh_router_add(r, NULL, "/x", &ud, err, sizeof err), -1);
    assert_int_equal(sh_router_add(r, "GET", "/a/:/b", &ud, err, sizeof err), -1);
    assert_string_equal(err, "bad route pattern \"/a/:/b\": empty or too many :params");
    assert_int_equal(sh_router_add(r, "GET", "/a/*/b", &ud, err, sizeof err), -1);
    assert_string_equal(err, "bad route pattern \"/a/*/b\": '*' must be the last segment");
    assert_int_equal(sh_router_add(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h", &ud, err, sizeof err), 0);
    assert_int_equal(sh_router_add(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/:i", &ud, err, sizeof err), -1);
    assert_int_equal(sh_router_add(r, "GET", "/:a/:b/:c/:d/:e/:f/:g/:h/*", &ud, err, sizeof err), -1);
    assert_int_equal(sh_router_count(r), 1);
    sh_route_match m;
    assert_int_equal(match(r, "GET", "/1/2/3/4/5/6/7/8", &m, NULL), SH_ROUTE_FOUND);
    assert_int_equal(m.nparams, 8);
    assert_string_equal(param(&m, "h"), "8");
    sh_route_match_clear(&m);
    sh_router_free(r);
}

static void test_router_url_decode(void **state) {
    (void)state;
    char *s = sh_url_decode("a%41%7e%7E", 10);
    assert_string_equal(s, "aA~~");
    free(s);
    s = sh_url_decode("abc", 2); /* explicit length */
    assert_string_equal(s, "ab");
    free(s);
    s = sh_url_decode("", 0);
    assert_string_equal(s, "");
    free(s);
    assert_null(sh_url_decode("%", 1));
    assert_null(sh_url_decode("%4", 2));
    assert_null(sh_url_decode("%4g", 3));
    assert_null(sh_url_decode("%00", 3));
    assert_null(sh_url_decode("a\0b", 3));
    /* invalid UTF-8 is the caller's business, not the decoder's */
    s = sh_url_decode("%FF", 3);
    assert_int_equal((unsigned char)s[0], 0xFF);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_router_literal_route_matches_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_params_are_captured_and_percent_decoded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_literal_beats_param_whatever_the_order, setup, teardown),
        cmocka_unit_test(test_router_equal_literals_first_registered_wins),
        cmocka_unit_test_setup_teardown(test_router_star_matches_the_rest_even_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_wrong_method_gives_405_with_allow_including_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_head_matches_get_routes, setup, teardown),
        cmocka_unit_test(test_router_explicit_head_route_is_listed_once),
        cmocka_unit_test(test_router_allow_is_truncated_safely),
        cmocka_unit_test_setup_teardown(test_router_bad_percent_encoding_in_a_param_is_badpath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_path_must_be_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_too_many_segments_is_badpath, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_double_slash_and_trailing_slash_do_not_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_encoded_slash_does_not_split_or_match_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_duplicate_route_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_same_shape_with_other_param_names_is_refused, setup, teardown),
        cmocka_unit_test(test_router_bad_patterns_are_refused),
        cmocka_unit_test(test_router_url_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
