/*
 * tests/unit/test_json_valid.c - validation of JSON request fields (core/json_valid.c), the code
 * behind host->json_str / json_int / json_bool: UTF-8 and control characters, trimming, lengths
 * in code points, integer bounds, types, optional fields, and the messages a client sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/json_valid.c"
#include "core/utf8.c"

static char msg[256];

/* An object {"f": <string of len bytes>} built without the tokener, so any bytes can go in. */
static json_object *obj_with_bytes(const char *s, size_t len) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "f", json_object_new_string_len(s, (int)len));
    return o;
}

static json_object *parse(const char *text) {
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

/* Check field "f" of `o` as a string; returns the status and copies the value to `got`. */
static int check_str(json_object *o, size_t min, size_t max, unsigned flags, char *got, size_t *got_len) {
    const char *out = "untouched";
    size_t len = 12345;
    msg[0] = '\0';
    int rc = sh_json_check_str(o, "f", min, max, flags, &out, &len, msg, sizeof msg);
    if (got) snprintf(got, 256, "%s", out);
    if (got_len) *got_len = len;
    return rc;
}

static int bytes_ok(const char *s, size_t len, unsigned flags) {
    json_object *o = obj_with_bytes(s, len);
    int rc = check_str(o, 0, 1000, flags, NULL, NULL);
    json_object_put(o);
    return rc;
}

/* ---- text rules ----------------------------------------------------------------------------- */

static void test_json_str_accepts_valid_utf8(void **state) {
    (void)state;
    assert_int_equal(bytes_ok("hello", 5, 0), 0);
    assert_int_equal(bytes_ok("h\xC3\xA9llo", 6, 0), 0);          /* é */
    assert_int_equal(bytes_ok("\xE2\x82\xAC", 3, 0), 0);          /* € */
    assert_int_equal(bytes_ok("\xF0\x9F\x8E\xA5 live", 9, 0), 0); /* 🎥 */
    assert_int_equal(bytes_ok("\xC2\xA0nbsp\xC2\xA0", 8, 0), 0);  /* U+00A0 is not a control */
    assert_int_equal(bytes_ok("\xF4\x8F\xBF\xBF", 4, 0), 0);      /* U+10FFFF */
    assert_int_equal(bytes_ok("", 0, 0), 0);
}

static void test_json_str_rejects_invalid_utf8(void **state) {
    (void)state;
    static const struct {
        const char *s;
        size_t len;
    } bad[] = {
        {"\xC3", 1},             /* truncated */
        {"a\xE2\x82", 3},        /* truncated 3-byte */
        {"\x80", 1},             /* stray continuation */
        {"\xC0\x80", 2},         /* overlong NUL */
        {"\xC1\xBF", 2},         /* overlong */
        {"\xE0\x80\xAF", 3},     /* overlong '/' */
        {"\xED\xA0\x80", 3},     /* surrogate U+D800 */
        {"\xF4\x90\x80\x80", 4}, /* above U+10FFFF */
        {"\xF5\x80\x80\x80", 4},
        {"\xFF", 1},
        {"ok\xFE", 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(bytes_ok(bad[i].s, bad[i].len, 0), -1);
        assert_string_equal(msg, "f must be valid UTF-8 text without control characters.");
        assert_int_equal(bytes_ok(bad[i].s, bad[i].len, SH_JSON_NOTRIM | SH_JSON_MULTILINE), -1);
    }
}

static void test_json_str_rejects_control_characters(void **state) {
    (void)state;
    for (int c = 0; c < 0x20; c++) {
        char s[3] = {'a', (char)c, 'b'};
        if (c == '\n') continue;
        assert_int_equal(bytes_ok(s, 3, 0), -1);
        assert_int_equal(bytes_ok(s, 3, SH_JSON_MULTILINE), -1); /* only \n is ever allowed */
    }
    assert_int_equal(bytes_ok("a\x7F"
                              "b",
                              3, 0),
                     -1);                         /* DEL */
    assert_int_equal(bytes_ok("a\0b", 3, 0), -1); /* embedded NUL (JSON "\u0000") */
    json_object *o = parse("{\"f\": \"a\\u0000b\"}");
    assert_int_equal(check_str(o, 0, 10, 0, NULL, NULL), -1);
    json_object_put(o);
}

static void test_json_str_rejects_c1_controls(void **state) {
    (void)state;
    assert_int_equal(bytes_ok("a\xC2\x80"
                              "b",
                              4, 0),
                     -1);                             /* U+0080 */
    assert_int_equal(bytes_ok("\xC2\x85", 2, 0), -1); /* NEL */
    assert_int_equal(bytes_ok("\xC2\x9F", 2, SH_JSON_MULTILINE), -1);
    assert_int_equal(bytes_ok("\xC2\x9B[2J", 5, 0), -1); /* CSI: terminal escapes */
    assert_int_equal(bytes_ok("\xC2\xA1", 2, 0), 0);     /* U+00A1 is text */
    json_object *o = parse("{\"f\": \"x\\u0085y\"}");    /* the same through the tokener */
    assert_int_equal(check_str(o, 0, 10, 0, NULL, NULL), -1);
    json_object_put(o);
}

static void test_json_str_newline_only_with_multiline(void **state) {
    (void)state;
    assert_int_equal(bytes_ok("line1\nline2", 11, 0), -1);
    assert_string_equal(msg, "f must be valid UTF-8 text without control characters.");
    assert_int_equal(bytes_ok("line1\nline2", 11, SH_JSON_MULTILINE), 0);
    assert_int_equal(bytes_ok("line1\r\nline2", 12, SH_JSON_MULTILINE), -1); /* CR never */
    /* a trailing newline is a control character first, not white space to trim */
    assert_int_equal(bytes_ok("title\n", 6, 0), -1);
}

/* ---- trimming and lengths ------------------------------------------------------------------- */

/* Trimming stores the trimmed string back into the request's JSON object. Each case runs in a
 * child process, so that a sanitizer abort inside the code under test fails that test alone
 * instead of ending the whole binary. A case returns 0, or the line of the first failed check. */
#define CHECK(c)                                                                                                       \
    do {                                                                                                               \
        if (!(c)) {                                                                                                    \
            fprintf(stderr, "check failed at line %d: %s\n", __LINE__, #c);                                            \
            return __LINE__;                                                                                           \
        }                                                                                                              \
    } while (0)

static void run_isolated(int (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fn() == 0 ? 0 : 1); /* _exit: no leak check of the parent's heap copy */
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st)) print_error("the case died with signal %d\n", WTERMSIG(st));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int trim_case(const char *json, size_t min, size_t max, unsigned flags, const char *want) {
    json_object *o = json_tokener_parse(json);
    CHECK(o != NULL);
    const char *out = NULL;
    size_t len = 0;
    CHECK(sh_json_check_str(o, "f", min, max, flags, &out, &len, msg, sizeof msg) == 0);
    CHECK(strcmp(out, want) == 0);
    CHECK(len == strlen(want));
    /* stored back: the object now holds the trimmed string (the pointer handed out lives there) */
    json_object *f = NULL;
    CHECK(json_object_object_get_ex(o, "f", &f));
    CHECK(strcmp(json_object_get_string(f), want) == 0);
    CHECK((size_t)json_object_get_string_len(f) == strlen(want));
    CHECK(out == json_object_get_string(f));
    json_object_put(o);
    return 0;
}

static int trim_leading_and_trailing(void) {
    return trim_case("{\"f\": \"   Hello world  \"}", 1, 20, 0, "Hello world");
}
static int trim_leading_only(void) {
    return trim_case("{\"f\": \" x\"}", 1, 20, 0, "x");
}
static int trim_trailing_only(void) {
    return trim_case("{\"f\": \"x \"}", 1, 20, 0, "x");
}
static int trim_multiline_newlines(void) {
    return trim_case("{\"f\": \"\\n  para one\\n\\npara two \\n\\n\"}", 1, 100, SH_JSON_MULTILINE,
                     "para one\n\npara two");
}
/* the spaces trimmed do not count in the length */
static int trim_then_count(void) {
    return trim_case("{\"f\": \"  abc  \"}", 3, 3, 0, "abc");
}
static int trim_long_value(void) {
    static char json[700], want[520];
    memset(want, 'w', 500);
    want[500] = '\0';
    snprintf(json, sizeof json, "{\"f\": \"%40s%s%40s\"}", "", want, "");
    return trim_case(json, 500, 500, 0, want);
}

static void test_json_str_trims_leading_and_trailing_spaces(void **state) {
    (void)state;
    run_isolated(trim_leading_and_trailing);
}
static void test_json_str_trims_leading_spaces(void **state) {
    (void)state;
    run_isolated(trim_leading_only);
}
static void test_json_str_trims_trailing_spaces(void **state) {
    (void)state;
    run_isolated(trim_trailing_only);
}
static void test_json_str_trims_newlines_when_multiline(void **state) {
    (void)state;
    run_isolated(trim_multiline_newlines);
}
static void test_json_str_length_is_counted_after_trimming(void **state) {
    (void)state;
    run_isolated(trim_then_count);
}
static void test_json_str_trims_a_long_value(void **state) {
    (void)state;
    run_isolated(trim_long_value);
}

static void test_json_str_notrim_keeps_spaces(void **state) {
    (void)state;
    json_object *o = parse("{\"f\": \"  pass word  \"}");
    char got[256];
    size_t len;
    assert_int_equal(check_str(o, 1, 20, SH_JSON_NOTRIM, got, &len), 0);
    assert_string_equal(got, "  pass word  ");
    assert_int_equal(len, 13);
    json_object_put(o);
    o = parse("{\"f\": \"  abc  \"}");
    assert_int_equal(check_str(o, 7, 7, SH_JSON_NOTRIM, got, NULL), 0);
    json_object_put(o);
}

static void test_json_str_blank_is_empty_after_trimming(void **state) {
    (void)state;
    json_object *o = parse("{\"f\": \"     \"}");
    assert_int_equal(check_str(o, 1, 50, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be 1 to 50 characters.");
    json_object_put(o);
    o = parse("{\"f\": \"     \"}");
    char got[256];
    assert_int_equal(check_str(o, 0, 50, 0, got, NULL), 0);
    assert_string_equal(got, "");
    json_object_put(o);
}

static void test_json_str_lengths_are_code_points(void **state) {
    (void)state;
    char got[256];
    /* 5 code points, 10 bytes */
    json_object *o = obj_with_bytes("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 10);
    assert_int_equal(check_str(o, 5, 5, 0, got, NULL), 0);
    json_object_put(o);
    o = obj_with_bytes("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 10);
    assert_int_equal(check_str(o, 1, 4, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be 1 to 4 characters.");
    json_object_put(o);
    /* emoji: 1 code point each (4 bytes); a combining accent is a code point of its own */
    o = obj_with_bytes("\xF0\x9F\x8E\xA5\xF0\x9F\x8E\xA5", 8);
    assert_int_equal(check_str(o, 2, 2, 0, NULL, NULL), 0);
    json_object_put(o);
    o = obj_with_bytes("e\xCC\x81", 3); /* e + U+0301 */
    assert_int_equal(check_str(o, 2, 2, 0, NULL, NULL), 0);
    json_object_put(o);
    assert_int_equal(sh_utf8_chars("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x8E\xA5", 10), 4);
    assert_int_equal(sh_utf8_chars("", 0), 0);
}

static void test_json_str_length_messages(void **state) {
    (void)state;
    json_object *o = parse("{\"f\": \"abcdef\"}");
    assert_int_equal(check_str(o, 0, 5, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be at most 5 characters.");
    assert_int_equal(check_str(o, 2, 5, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be 2 to 5 characters.");
    assert_int_equal(check_str(o, 4, 4, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be 4 characters.");
    assert_int_equal(check_str(o, 7, 9, 0, NULL, NULL), -1);
    assert_string_equal(msg, "f must be 7 to 9 characters.");
    assert_int_equal(check_str(o, 6, 6, 0, NULL, NULL), 0);
    json_object_put(o);
}

/* ---- types, absence ------------------------------------------------------------------------- */

static void test_json_str_wrong_type(void **state) {
    (void)state;
    static const char *docs[] = {"{\"f\": 5}", "{\"f\": true}", "{\"f\": [\"a\"]}", "{\"f\": {\"a\": 1}}",
                                 "{\"f\": 1.5}"};
    for (size_t i = 0; i < 5; i++) {
        json_object *o = parse(docs[i]);
        assert_int_equal(check_str(o, 0, 10, SH_JSON_OPTIONAL, NULL, NULL), -1);
        assert_string_equal(msg, "f must be a string.");
        json_object_put(o);
    }
}

static void test_json_optional_absent_or_null_leaves_out_untouched(void **state) {
    (void)state;
    static const char *docs[] = {"{}", "{\"f\": null}", "{\"g\": \"x\"}"};
    for (size_t i = 0; i < 3; i++) {
        json_object *o = parse(docs[i]);
        char got[256];
        size_t len;
        assert_int_equal(check_str(o, 1, 10, SH_JSON_OPTIONAL, got, &len), 1);
        assert_string_equal(got, "untouched");
        assert_int_equal(len, 12345);
        int64_t n = 42;
        assert_int_equal(sh_json_check_int(o, "f", 0, 10, SH_JSON_OPTIONAL, &n, msg, sizeof msg), 1);
        assert_int_equal(n, 42);
        int b = 7;
        assert_int_equal(sh_json_check_bool(o, "f", SH_JSON_OPTIONAL, &b, msg, sizeof msg), 1);
        assert_int_equal(b, 7);
        /* and without OPTIONAL: required */
        assert_int_equal(check_str(o, 1, 10, 0, NULL, NULL), -1);
        assert_string_equal(msg, "f is required.");
        assert_int_equal(sh_json_check_int(o, "f", 0, 10, 0, &n, msg, sizeof msg), -1);
        assert_string_equal(msg, "f is required.");
        assert_int_equal(sh_json_check_bool(o, "f", 0, &b, msg, sizeof msg), -1);
        assert_string_equal(msg, "f is required.");
        json_object_put(o);
    }
    /* no object at all, or not an object */
    int64_t n = 1;
    assert_int_equal(sh_json_check_int(NULL, "f", 0, 10, SH_JSON_OPTIONAL, &n, msg, sizeof msg), 1);
    json_object *arr = parse("[1, 2]");
    assert_int_equal(sh_json_check_int(arr, "f", 0, 10, 0, &n, msg, sizeof msg), -1);
    assert_string_equal(msg, "f is required.");
    json_object_put(arr);
}

static void test_json_int_bounds_are_inclusive(void **state) {
    (void)state;
    json_object *o = parse("{\"lo\": -5, \"hi\": 10, \"mid\": 0, \"over\": 11, \"under\": -6}");
    int64_t n = 0;
    assert_int_equal(sh_json_check_int(o, "lo", -5, 10, 0, &n, msg, sizeof msg), 0);
    assert_int_equal(n, -5);
    assert_int_equal(sh_json_check_int(o, "hi", -5, 10, 0, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 10);
    assert_int_equal(sh_json_check_int(o, "mid", -5, 10, 0, &n, msg, sizeof msg), 0);
    assert_int_equal(n, 0);
    n = 99;
    assert_int_equal(sh_json_check_int(o, "over", -5, 10, 0, &n, msg, sizeof msg), -1);
    assert_string_equal(msg, "over must be from -5 to 10.");
    assert_int_equal(n, 99);
    assert_int_equal(sh_json_check_int(o, "under", -5, 10, 0, &n, msg, sizeof msg), -1);
    assert_string_equal(msg, "under must be from -5 to 10.");
    json_object_put(o);
    o = parse("{\"max\": 9223372036854775807, \"min\": -9223372036854775808}");
    assert_int_equal(sh_json_check_int(o, "max", INT64_MIN, INT64_MAX, 0, &n, msg, sizeof msg), 0);
    assert_true(n == INT64_MAX);
    assert_int_equal(sh_json_check_int(o, "min", INT64_MIN, INT64_MAX, 0, &n, msg, sizeof msg), 0);
    assert_true(n == INT64_MIN);
    json_object_put(o);
}

/* json-c saturates integers beyond int64 to INT64_MAX / INT64_MIN. Above: json-c still holds the
 * value as uint64, so the check itself refuses it. Below INT64_MIN nothing is left to tell it from
 * INT64_MIN: request bodies are screened as text by sh_json_parse_object (next tests). */
static void test_json_int_above_int64_is_refused_not_clamped(void **state) {
    (void)state;
    json_object *o = parse("{\"big\": 99999999999999999999, \"u\": 9223372036854775808, "
                           "\"umax\": 18446744073709551615, \"max\": 9223372036854775807}");
    int64_t n = 0;
    assert_int_equal(sh_json_check_int(o, "big", 0, 1000, 0, &n, msg, sizeof msg), -1);
    assert_int_equal(sh_json_check_int(o, "big", INT64_MIN, INT64_MAX, 0, &n, msg, sizeof msg), -1);
    assert_string_equal(msg, "big must be from -9223372036854775808 to 9223372036854775807.");
    assert_int_equal(sh_json_check_int(o, "u", 0, INT64_MAX, 0, &n, msg, sizeof msg), -1);
    assert_int_equal(sh_json_check_int(o, "umax", INT64_MIN, INT64_MAX, 0, &n, msg, sizeof msg), -1);
    assert_int_equal(n, 0);
    assert_int_equal(sh_json_check_int(o, "max", 0, INT64_MAX, 0, &n, msg, sizeof msg), 0);
    assert_true(n == INT64_MAX);
    json_object_put(o);
}

/* ---- request bodies (sh_json_parse_object) -------------------------------------------------- */

static int parse_body(const char *body, size_t len) {
    json_object *o = (json_object *)&msg; /* must be reset to NULL on failure */
    msg[0] = '\0';
    int rc = sh_json_parse_object(body, len, &o, msg, sizeof msg);
    if (rc == 0) {
        assert_non_null(o);
        assert_true(json_object_is_type(o, json_type_object));
        json_object_put(o);
    } else {
        assert_null(o);
        assert_true(msg[0] != '\0');
    }
    return rc;
}
#define BODY(s) parse_body(s, sizeof(s) - 1)

static void test_json_body_must_be_one_object(void **state) {
    (void)state;
    assert_int_equal(BODY("{}"), 0);
    assert_int_equal(BODY(" \n{\"a\": [1, {\"b\": null}]}\r\n\t "), 0);
    assert_int_equal(BODY(""), -1);
    assert_string_equal(msg, "A JSON body is required.");
    assert_int_equal(BODY("[1]"), -1);
    assert_string_equal(msg, "The body must be a JSON object.");
    assert_int_equal(BODY("\"text\""), -1);
    assert_int_equal(BODY("null"), -1);
    assert_int_equal(BODY("{"), -1);
    assert_int_equal(BODY("{} x"), -1);               /* something after the object */
    assert_int_equal(BODY("{\"a\":1}{\"b\":2}"), -1); /* two objects */
    assert_int_equal(BODY("not json"), -1);
    /* the length is what counts, not a terminating NUL */
    assert_int_equal(parse_body("{\"a\":1}garbage", 7), 0);
}

/* Bodies are JSON (RFC 8259), not json-c's lenient dialect: no trailing commas, single quotes,
 * comments, leading zeros or "tRuE" (json_tokener_set_flags(tok, JSON_TOKENER_STRICT)). */
static void test_json_body_is_strict_json(void **state) {
    (void)state;
    assert_int_equal(BODY("{\"a\":1,}"), -1);
    assert_int_equal(BODY("{\"a\":[1,2,]}"), -1);
    assert_int_equal(BODY("{'a':'b'}"), -1);
    assert_int_equal(BODY("{\"a\":1 /* comment */}"), -1);
    assert_int_equal(BODY("{\"a\":01}"), -1);
    assert_int_equal(BODY("{\"a\":tRuE}"), -1);
}

static void test_json_body_nesting_is_bounded(void **state) {
    (void)state;
    char deep[200] = "";
    for (int i = 0; i < 31; i++)
        strcat(deep, "{\"a\":");
    strcat(deep, "1");
    for (int i = 0; i < 31; i++)
        strcat(deep, "}");
    assert_int_equal(parse_body(deep, strlen(deep)), 0);
    char deeper[8192] = "";
    for (int i = 0; i < 200; i++)
        strcat(deeper, "{\"a\":");
    strcat(deeper, "1");
    for (int i = 0; i < 200; i++)
        strcat(deeper, "}");
    assert_int_equal(parse_body(deeper, strlen(deeper)), -1);
}

static void test_json_body_refuses_integers_outside_int64(void **state) {
    (void)state;
    assert_int_equal(BODY("{\"n\": 9223372036854775807}"), 0);
    assert_int_equal(BODY("{\"n\": -9223372036854775808}"), 0);
    assert_int_equal(BODY("{\"n\": 9223372036854775808}"), -1);
    assert_string_equal(msg, "A number in the body is out of range.");
    assert_int_equal(BODY("{\"n\": -9223372036854775809}"), -1);
    assert_int_equal(BODY("{\"n\": -99999999999999999999}"), -1);
    assert_int_equal(BODY("{\"a\": [1, 2, {\"n\": 123456789012345678901234567890}]}"), -1);
    /* not integers: decimals and exponents are json-c doubles, checked as such later */
    assert_int_equal(BODY("{\"n\": 99999999999999999999.5}"), 0);
    assert_int_equal(BODY("{\"n\": 1e300}"), 0);
    /* digits inside strings (also after an escaped quote) are text */
    assert_int_equal(BODY("{\"n\": \"99999999999999999999\"}"), 0);
    assert_int_equal(BODY("{\"n\": \"a\\\"99999999999999999999\"}"), 0);
    assert_int_equal(BODY("{\"99999999999999999999\": 1}"), 0);
}

static void test_json_int_wrong_types(void **state) {
    (void)state;
    static const char *docs[] = {"{\"n\": 1.0}",  "{\"n\": 1e2}", "{\"n\": \"5\"}",
                                 "{\"n\": true}", "{\"n\": [1]}", "{\"n\": {}}"};
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        json_object *o = parse(docs[i]);
        int64_t n = 3;
        assert_int_equal(sh_json_check_int(o, "n", INT64_MIN, INT64_MAX, SH_JSON_OPTIONAL, &n, msg, sizeof msg), -1);
        assert_string_equal(msg, "n must be an integer.");
        assert_int_equal(n, 3);
        json_object_put(o);
    }
}

static void test_json_bool_accepts_only_json_booleans(void **state) {
    (void)state;
    json_object *o = parse("{\"t\": true, \"f\": false, \"one\": 1, \"s\": \"true\", \"z\": 0}");
    int b = -1;
    assert_int_equal(sh_json_check_bool(o, "t", 0, &b, msg, sizeof msg), 0);
    assert_int_equal(b, 1);
    assert_int_equal(sh_json_check_bool(o, "f", 0, &b, msg, sizeof msg), 0);
    assert_int_equal(b, 0);
    b = 5;
    assert_int_equal(sh_json_check_bool(o, "one", 0, &b, msg, sizeof msg), -1);
    assert_string_equal(msg, "one must be true or false.");
    assert_int_equal(sh_json_check_bool(o, "s", SH_JSON_OPTIONAL, &b, msg, sizeof msg), -1);
    assert_string_equal(msg, "s must be true or false.");
    assert_int_equal(sh_json_check_bool(o, "z", 0, &b, msg, sizeof msg), -1);
    assert_int_equal(b, 5);
    json_object_put(o);
}

static void test_json_messages_are_truncated_to_the_buffer(void **state) {
    (void)state;
    json_object *o = parse("{}");
    char small[8];
    memset(small, 'Z', sizeof small);
    int64_t n;
    assert_int_equal(sh_json_check_int(o, "a_long_field_name", 0, 1, 0, &n, small, 6), -1);
    assert_string_equal(small, "a_lon");
    assert_int_equal(small[6], 'Z');
    json_object_put(o);
}

static void test_text_ok_directly(void **state) {
    (void)state;
    assert_int_equal(sh_text_ok("abc", 3, 0), 1);
    assert_int_equal(sh_text_ok("a\nb", 3, 0), 0);
    assert_int_equal(sh_text_ok("a\nb", 3, 1), 1);
    assert_int_equal(sh_text_ok("a\tb", 3, 1), 0);
    assert_int_equal(sh_text_ok("\xC2", 1, 0), 0); /* C2 at the very end: invalid, not a C1 check past the end */
    assert_int_equal(sh_text_ok("", 0, 0), 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_accepts_valid_utf8),
        cmocka_unit_test(test_json_str_rejects_invalid_utf8),
        cmocka_unit_test(test_json_str_rejects_control_characters),
        cmocka_unit_test(test_json_str_rejects_c1_controls),
        cmocka_unit_test(test_json_str_newline_only_with_multiline),
        cmocka_unit_test(test_json_str_trims_leading_and_trailing_spaces),
        cmocka_unit_test(test_json_str_trims_leading_spaces),
        cmocka_unit_test(test_json_str_trims_trailing_spaces),
        cmocka_unit_test(test_json_str_trims_newlines_when_multiline),
        cmocka_unit_test(test_json_str_length_is_counted_after_trimming),
        cmocka_unit_test(test_json_str_trims_a_long_value),
        cmocka_unit_test(test_json_str_notrim_keeps_spaces),
        cmocka_unit_test(test_json_str_blank_is_empty_after_trimming),
        cmocka_unit_test(test_json_str_lengths_are_code_points),
        cmocka_unit_test(test_json_str_length_messages),
        cmocka_unit_test(test_json_str_wrong_type),
        cmocka_unit_test(test_json_optional_absent_or_null_leaves_out_untouched),
        cmocka_unit_test(test_json_int_bounds_are_inclusive),
        cmocka_unit_test(test_json_int_above_int64_is_refused_not_clamped),
        cmocka_unit_test(test_json_body_must_be_one_object),
        cmocka_unit_test(test_json_body_is_strict_json),
        cmocka_unit_test(test_json_body_nesting_is_bounded),
        cmocka_unit_test(test_json_body_refuses_integers_outside_int64),
        cmocka_unit_test(test_json_int_wrong_types),
        cmocka_unit_test(test_json_bool_accepts_only_json_booleans),
        cmocka_unit_test(test_json_messages_are_truncated_to_the_buffer),
        cmocka_unit_test(test_text_ok_directly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
