/*
 * test_chat_text.c - unit tests for the chat plugin's pure parts: message validation, emoji
 * validation, the small parsers (chat_text.c) and the hash map (chat_map.c). It belongs in
 * tests/unit/ (where `make test-unit` builds every test_*.c); it lives next to the plugin until it
 * is moved there. By hand:
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fsanitize=address,undefined -I. -Isdk/include \
 *     plugins/chat/tests/test_chat_text.c -o /tmp/test_chat_text $(pkg-config --libs cmocka) && /tmp/test_chat_text
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plugins/chat/chat_map.c"
#include "plugins/chat/chat_text.c"

static int check(const char *s, size_t max, int nl, size_t *off, size_t *len, size_t *chars) {
    return chat_text_check(s, strlen(s), max, nl, off, len, chars);
}

static void test_message_is_trimmed_and_counted_in_code_points(void **state) {
    (void)state;
    size_t off, len, chars;
    assert_int_equal(check("  h\xC3\xA9llo \xF0\x9F\x98\x80 \n", 500, 0, &off, &len, &chars), CHAT_TEXT_OK);
    assert_int_equal(off, 2);
    assert_int_equal(len, strlen("h\xC3\xA9llo \xF0\x9F\x98\x80"));
    assert_int_equal(chars, 7);
    /* no-break space and ideographic space at the ends are trimmed too */
    assert_int_equal(check("\xC2\xA0x\xE3\x80\x80", 500, 0, &off, &len, &chars), CHAT_TEXT_OK);
    assert_int_equal(len, 1);
}

static void test_message_empty_after_trimming_is_refused(void **state) {
    (void)state;
    size_t off, len, chars;
    assert_int_equal(check("", 500, 0, &off, &len, &chars), CHAT_TEXT_EMPTY);
    assert_int_equal(check(" \t\r\n ", 500, 0, &off, &len, &chars), CHAT_TEXT_EMPTY);
}

static void test_message_length_limit_is_in_characters(void **state) {
    (void)state;
    size_t off, len, chars;
    assert_int_equal(check("abc", 3, 0, &off, &len, &chars), CHAT_TEXT_OK);
    assert_int_equal(check("abcd", 3, 0, &off, &len, &chars), CHAT_TEXT_TOO_LONG);
    /* three 4-byte characters are three characters */
    assert_int_equal(check("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 3, 0, &off, &len, &chars), CHAT_TEXT_OK);
    char *big = malloc(10001);
    memset(big, 'a', 10000);
    big[10000] = '\0';
    assert_int_equal(check(big, 500, 0, &off, &len, &chars), CHAT_TEXT_TOO_LONG);
    free(big);
}

static void test_message_refuses_control_characters_and_newlines_unless_allowed(void **state) {
    (void)state;
    size_t off, len, chars;
    assert_int_equal(check("a\nb", 500, 0, &off, &len, &chars), CHAT_TEXT_CONTROL);
    assert_int_equal(check("a\nb", 500, 1, &off, &len, &chars), CHAT_TEXT_OK);
    assert_int_equal(check("a\rb", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);
    assert_int_equal(check("a\tb", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);
    assert_int_equal(check("a\x1b[31mb", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);
    assert_int_equal(check("a\x7f", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);
    assert_int_equal(check("a\xC2\x85z", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL); /* U+0085 inside */
    assert_int_equal(check("a\xC2\x9B", 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);  /* C1 CSI */
    assert_int_equal(chat_text_check("a\0b", 3, 500, 1, &off, &len, &chars), CHAT_TEXT_CONTROL);
}

static void test_message_refuses_ill_formed_utf8_and_replacement_character(void **state) {
    (void)state;
    size_t off, len, chars;
    const char *bad[] = {
        "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80",
        "a\xC3",    "\xFF",         "\xEF\xBF\xBD" /* U+FFFD: a lone surrogate escape becomes this in json-c */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(check(bad[i], 500, 1, &off, &len, &chars), CHAT_TEXT_BAD_UTF8);
}

static void test_message_keeps_markup_separators_and_bidi_unchanged(void **state) {
    (void)state;
    size_t off, len, chars;
    const char *ok[] = {"<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                        "a\xE2\x80\xA8"
                        "b",
                        "\xE2\x80\xAE"
                        "evil"
                        "\xE2\x80\xAC",
                        "'; DROP TABLE chat_messages; --"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(check(ok[i], 500, 0, &off, &len, &chars), CHAT_TEXT_OK);
        assert_int_equal(off, 0);
        assert_int_equal(len, strlen(ok[i]));
    }
}

static int emoji(const char *s) {
    return chat_emoji_valid(s, strlen(s));
}

static void test_emoji_accepts_single_graphemes(void **state) {
    (void)state;
    assert_true(emoji("\xF0\x9F\x98\x80"));                                         /* grinning face */
    assert_true(emoji("\xE2\x9D\xA4\xEF\xB8\x8F"));                                 /* red heart + VS16 */
    assert_true(emoji("\xE2\x9D\xA4"));                                             /* heart without VS16 */
    assert_true(emoji("\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"));                         /* thumbs up, skin tone */
    assert_true(emoji("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"));             /* woman technologist (ZWJ) */
    assert_true(emoji("\xF0\x9F\x8F\xB3\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x8C\x88")); /* rainbow flag */
    assert_true(emoji("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"));                         /* flag FR */
    assert_true(emoji("1\xEF\xB8\x8F\xE2\x83\xA3"));                                /* keycap 1 */
    assert_true(emoji("\xC2\xA9\xEF\xB8\x8F"));                                     /* (c) + VS16 */
    assert_true(emoji("\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xB3\xF3\xA0\x81\xA3\xF3\xA0\x81"
                      "\xB4\xF3\xA0\x81\xBF")); /* flag of Scotland (tags) */
}

static void test_emoji_refuses_text_and_sequences_of_several(void **state) {
    (void)state;
    assert_false(emoji(""));
    assert_false(emoji("a"));
    assert_false(emoji("1"));
    assert_false(emoji(":)"));
    assert_false(emoji("\xC2\xA9"));                         /* (c) without VS16 is text */
    assert_false(emoji("\xF0\x9F\x98\x80\xF0\x9F\x98\x80")); /* two emoji */
    assert_false(emoji("\xF0\x9F\x98\x80"
                       "a"));                                                                /* emoji + text */
    assert_false(emoji("\xF0\x9F\x98\x80\xE2\x80\x8D"));                                     /* dangling ZWJ */
    assert_false(emoji("\xF0\x9F\x8F\xBD"));                                                 /* a skin tone alone */
    assert_false(emoji("\xF0\x9F\x87\xAB"));                                                 /* half a flag */
    assert_false(emoji("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7")); /* two flags */
    assert_false(emoji("\xEF\xB8\x8F"));                                                     /* VS16 alone */
    assert_false(emoji("\xED\xA0\xBD\xED\xB8\x80"));                                         /* CESU-8 surrogates */
    assert_false(emoji("<script>"));
}

static void test_parsers(void **state) {
    (void)state;
    int64_t v;
    assert_int_equal(chat_parse_id("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(chat_parse_id("9223372036854775807", &v), 0);
    assert_int_equal(chat_parse_id("9223372036854775808", &v), -1);
    assert_int_equal(chat_parse_id("0", &v), -1);
    assert_int_equal(chat_parse_id("012", &v), -1);
    assert_int_equal(chat_parse_id("-1", &v), -1);
    assert_int_equal(chat_parse_id("1 ", &v), -1);
    assert_true(chat_username_valid("abc_12"));
    assert_false(chat_username_valid("ab"));
    assert_false(chat_username_valid("a-b-c"));
    assert_true(chat_room_id_valid("AbC123"));
    assert_false(chat_room_id_valid("a/b"));
    assert_false(chat_room_id_valid(""));
}

static void test_map_put_get_delete_keeps_every_other_key(void **state) {
    (void)state;
    cmap m;
    cmap_init(&m, 1, 2);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(cmap_put(&m, key, (void *)(intptr_t)(i + 1)), 0);
    }
    assert_int_equal(m.n, 2000);
    for (int i = 0; i < 2000; i += 3) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ptr_equal(cmap_del(&m, key), (void *)(intptr_t)(i + 1));
    }
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        void *v = cmap_get(&m, key);
        if (i % 3 == 0)
            assert_null(v);
        else
            assert_ptr_equal(v, (void *)(intptr_t)(i + 1));
    }
    size_t pos = 0, seen = 0;
    while (cmap_next(&m, &pos))
        seen++;
    assert_int_equal(seen, m.n);
    cmap_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_is_trimmed_and_counted_in_code_points),
        cmocka_unit_test(test_message_empty_after_trimming_is_refused),
        cmocka_unit_test(test_message_length_limit_is_in_characters),
        cmocka_unit_test(test_message_refuses_control_characters_and_newlines_unless_allowed),
        cmocka_unit_test(test_message_refuses_ill_formed_utf8_and_replacement_character),
        cmocka_unit_test(test_message_keeps_markup_separators_and_bidi_unchanged),
        cmocka_unit_test(test_emoji_accepts_single_graphemes),
        cmocka_unit_test(test_emoji_refuses_text_and_sequences_of_several),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_map_put_get_delete_keeps_every_other_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
