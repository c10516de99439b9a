/*
 * tests/unit/test_utf8.c - strict incremental UTF-8 validator (core/utf8.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.c"

/* Independent reference: decode each code point and check RFC 3629's rules directly. */
static bool ref_valid(const uint8_t *p, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len, k;
        uint8_t b = p[i];
        if (b < 0x80) {
            i++;
            continue;
        }
        if ((b & 0xE0) == 0xC0) {
            len = 2;
            cp = b & 0x1F;
        } else if ((b & 0xF0) == 0xE0) {
            len = 3;
            cp = b & 0x0F;
        } else if ((b & 0xF8) == 0xF0) {
            len = 4;
            cp = b & 0x07;
        } else {
            return false;
        }
        if (n - i < len) return false;
        for (k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += len;
    }
    return true;
}

/* Validate `s` split at every position into two pieces; all must agree with `expect`. */
static void check_all_splits(const uint8_t *s, size_t n, bool expect) {
    size_t cut;
    assert_int_equal(sh_utf8_valid(s, n), expect);
    for (cut = 0; cut <= n; cut++) {
        sh_utf8_state st;
        bool ok;
        sh_utf8_init(&st);
        ok = sh_utf8_feed(&st, s, cut) == SH_UTF8_OK;
        ok = sh_utf8_feed(&st, s + cut, n - cut) == SH_UTF8_OK && ok;
        ok = ok && sh_utf8_is_complete(&st);
        assert_int_equal(ok, expect);
    }
}

#define CHECK(lit, expect) check_all_splits((const uint8_t *)(lit), sizeof(lit) - 1, (expect))

static void test_utf8_accepts_ascii_and_empty(void **state) {
    (void)state;
    assert_true(sh_utf8_valid("", 0));
    assert_true(sh_utf8_valid(NULL, 0));
    CHECK("hello, world: 0123456789 abcdefghijklmnopqrstuvwxyz", true);
    CHECK("\x00\x7f", true);
}

static void test_utf8_accepts_boundary_code_points(void **state) {
    (void)state;
    CHECK("\xc2\x80", true);         /* U+0080 */
    CHECK("\xdf\xbf", true);         /* U+07FF */
    CHECK("\xe0\xa0\x80", true);     /* U+0800 */
    CHECK("\xed\x9f\xbf", true);     /* U+D7FF */
    CHECK("\xee\x80\x80", true);     /* U+E000 */
    CHECK("\xef\xbf\xbf", true);     /* U+FFFF */
    CHECK("\xf0\x90\x80\x80", true); /* U+10000 */
    CHECK("\xf4\x8f\xbf\xbf", true); /* U+10FFFF */
    CHECK("caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e", true);
}

static void test_utf8_rejects_overlong_forms(void **state) {
    (void)state;
    CHECK("\xc0\x80", false);
    CHECK("\xc0\xaf", false);
    CHECK("\xc1\xbf", false);
    CHECK("\xe0\x80\x80", false);
    CHECK("\xe0\x9f\xbf", false);
    CHECK("\xf0\x80\x80\x80", false);
    CHECK("\xf0\x8f\xbf\xbf", false);
}

static void test_utf8_rejects_surrogates(void **state) {
    (void)state;
    CHECK("\xed\xa0\x80", false);             /* U+D800 */
    CHECK("\xed\xbf\xbf", false);             /* U+DFFF */
    CHECK("\xed\xa0\xbd\xed\xb8\x80", false); /* CESU-8 pair */
}

static void test_utf8_rejects_above_max_code_point(void **state) {
    (void)state;
    CHECK("\xf4\x90\x80\x80", false); /* U+110000 */
    CHECK("\xf5\x80\x80\x80", false);
    CHECK("\xf7\xbf\xbf\xbf", false);
    CHECK("\xf8\x88\x80\x80\x80", false);
    CHECK("\xfe", false);
    CHECK("\xff", false);
}

static void test_utf8_rejects_stray_and_missing_continuations(void **state) {
    (void)state;
    CHECK("\x80", false);
    CHECK("a\xbf", false);
    CHECK("\xe2\x82", false); /* truncated at the end */
    CHECK("\xe2\x41\x82", false);
    CHECK("\xc3", false);
    CHECK("\xf0\x9f\x98", false);
    CHECK("\xc3\xa9\xa9", false);
}

static void test_utf8_truncated_message_is_ok_but_incomplete(void **state) {
    sh_utf8_state st;
    (void)state;
    sh_utf8_init(&st);
    assert_int_equal(sh_utf8_feed(&st, "\xe2\x82", 2), SH_UTF8_OK);
    assert_false(sh_utf8_is_complete(&st));
    assert_false(sh_utf8_is_invalid(&st));
    assert_int_equal(sh_utf8_feed(&st, "\xac", 1), SH_UTF8_OK);
    assert_true(sh_utf8_is_complete(&st));
}

static void test_utf8_invalid_state_is_sticky(void **state) {
    sh_utf8_state st;
    (void)state;
    sh_utf8_init(&st);
    assert_int_equal(sh_utf8_feed(&st, "\xff", 1), SH_UTF8_INVALID);
    assert_true(sh_utf8_is_invalid(&st));
    assert_int_equal(sh_utf8_feed(&st, "abc", 3), SH_UTF8_INVALID);
    assert_false(sh_utf8_is_complete(&st));
    sh_utf8_init(&st);
    assert_int_equal(sh_utf8_feed(&st, "abc", 3), SH_UTF8_OK);
}

static void test_utf8_byte_at_a_time_matches_one_shot(void **state) {
    static const char s[] = "ascii \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 more ascii text here!";
    sh_utf8_state st;
    size_t i;
    (void)state;
    sh_utf8_init(&st);
    for (i = 0; i < sizeof s - 1; i++)
        assert_int_equal(sh_utf8_feed(&st, s + i, 1), SH_UTF8_OK);
    assert_true(sh_utf8_is_complete(&st));
}

static void test_utf8_fast_path_finds_errors_at_every_offset(void **state) {
    uint8_t buf[40];
    size_t pos;
    (void)state;
    for (pos = 0; pos < sizeof buf; pos++) {
        memset(buf, 'a', sizeof buf);
        buf[pos] = 0x80;
        assert_false(sh_utf8_valid(buf, sizeof buf));
        buf[pos] = 0xC3; /* lead byte as last byte or followed by 'a' */
        assert_false(sh_utf8_valid(buf, sizeof buf));
        if (pos + 1 < sizeof buf) {
            buf[pos + 1] = 0xA9;
            assert_true(sh_utf8_valid(buf, sizeof buf));
        }
    }
}

static void test_utf8_all_two_byte_sequences_match_reference(void **state) {
    unsigned a, b;
    (void)state;
    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            uint8_t s[2] = {(uint8_t)a, (uint8_t)b};
            assert_int_equal(sh_utf8_valid(s, 2), ref_valid(s, 2));
            assert_int_equal(sh_utf8_valid(s, 1), ref_valid(s, 1));
        }
    }
}

static void test_utf8_three_and_four_byte_sequences_match_reference(void **state) {
    unsigned a, b, c;
    (void)state;
    for (a = 0xC0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            for (c = 0; c < 256; c++) {
                uint8_t s[4] = {(uint8_t)a, (uint8_t)b, (uint8_t)c, 0x80};
                assert_int_equal(sh_utf8_valid(s, 3), ref_valid(s, 3));
                if ((c & 0x0F) == 0) /* sample the 4th byte space */
                    assert_int_equal(sh_utf8_valid(s, 4), ref_valid(s, 4));
            }
        }
    }
}

static void test_utf8_truncate_respects_code_points(void **state) {
    static const char s[] = "a\xc3\xa9\xe2\x82\xac"; /* a é € : 1 + 2 + 3 bytes */
    (void)state;
    assert_int_equal(sh_utf8_truncate(s, 6, 10), 6);
    assert_int_equal(sh_utf8_truncate(s, 6, 6), 6);
    assert_int_equal(sh_utf8_truncate(s, 6, 5), 3);
    assert_int_equal(sh_utf8_truncate(s, 6, 4), 3);
    assert_int_equal(sh_utf8_truncate(s, 6, 3), 3);
    assert_int_equal(sh_utf8_truncate(s, 6, 2), 1);
    assert_int_equal(sh_utf8_truncate(s, 6, 1), 1);
    assert_int_equal(sh_utf8_truncate(s, 6, 0), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_accepts_ascii_and_empty),
        cmocka_unit_test(test_utf8_accepts_boundary_code_points),
        cmocka_unit_test(test_utf8_rejects_overlong_forms),
        cmocka_unit_test(test_utf8_rejects_surrogates),
        cmocka_unit_test(test_utf8_rejects_above_max_code_point),
        cmocka_unit_test(test_utf8_rejects_stray_and_missing_continuations),
        cmocka_unit_test(test_utf8_truncated_message_is_ok_but_incomplete),
        cmocka_unit_test(test_utf8_invalid_state_is_sticky),
        cmocka_unit_test(test_utf8_byte_at_a_time_matches_one_shot),
        cmocka_unit_test(test_utf8_fast_path_finds_errors_at_every_offset),
        cmocka_unit_test(test_utf8_all_two_byte_sequences_match_reference),
        cmocka_unit_test(test_utf8_three_and_four_byte_sequences_match_reference),
        cmocka_unit_test(test_utf8_truncate_respects_code_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
