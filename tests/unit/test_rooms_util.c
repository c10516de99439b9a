/*
 * test_rooms_util.c - unit tests for the rooms plugin's pure parts: the string map (smap.c) and
 * room ids, cursors and LIKE patterns (rooms_util.c). It belongs in tests/unit/ (where `make
 * test-unit` builds every test_*.c); it lives next to the plugin until it is moved there. By hand:
 *   gcc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -fsanitize=address,undefined -I. -Isdk/include \
 *     plugins/rooms/tests/test_rooms_util.c -o /tmp/test_rooms_util $(pkg-config --libs cmocka) && /tmp/test_rooms_util
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "plugins/rooms/rooms_util.c"
#include "plugins/rooms/smap.c"

static void test_room_id_is_twelve_base62_characters(void **state) {
    (void)state;
    unsigned char rnd[ROOM_ID_RANDOM];
    for (size_t i = 0; i < sizeof rnd; i++) rnd[i] = (unsigned char)(i * 37 + 11);
    char id[ROOM_ID_LEN + 1];
    assert_int_equal(rooms_id_make(rnd, sizeof rnd, id), 0);
    assert_int_equal(strlen(id), ROOM_ID_LEN);
    assert_true(rooms_id_valid(id));
}

static void test_room_id_skips_biased_bytes_and_fails_when_they_run_out(void **state) {
    (void)state;
    unsigned char rnd[ROOM_ID_RANDOM];
    memset(rnd, 250, sizeof rnd); /* every byte >= 248: rejected */
    char id[ROOM_ID_LEN + 1];
    assert_int_equal(rooms_id_make(rnd, sizeof rnd, id), -1);
    rnd[3] = 0;
    for (int i = 10; i < 21; i++) rnd[i] = 61;
    assert_int_equal(rooms_id_make(rnd, sizeof rnd, id), 0);
    assert_string_equal(id, "0zzzzzzzzzzz");
}

static void test_room_id_valid_rejects_everything_but_letters_and_digits(void **state) {
    (void)state;
    assert_true(rooms_id_valid("aZ09"));
    assert_false(rooms_id_valid(""));
    assert_false(rooms_id_valid(NULL));
    assert_false(rooms_id_valid("../x"));
    assert_false(rooms_id_valid("user:1"));
    assert_false(rooms_id_valid("abc def"));
    assert_false(rooms_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */
    assert_true(rooms_id_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));   /* 32 */
}

static void test_cursor_round_trips_and_rejects_other_tags_arity_and_garbage(void **state) {
    (void)state;
    int64_t in[3] = {1, 12345, INT64_MAX}, out[3] = {0};
    char cur[CURSOR_MAX];
    assert_int_equal(rooms_cursor_encode('r', in, 3, cur, sizeof cur), 0);
    assert_int_equal(rooms_cursor_decode(cur, 'r', out, 3), 0);
    assert_memory_equal(in, out, sizeof in);
    assert_int_equal(rooms_cursor_decode(cur, 's', out, 3), -1);
    assert_int_equal(rooms_cursor_decode(cur, 'r', out, 2), -1);
    assert_int_equal(rooms_cursor_decode("", 'r', out, 1), -1);
    assert_int_equal(rooms_cursor_decode("!!!", 'r', out, 1), -1);
    assert_int_equal(rooms_cursor_decode("cjox", 'r', out, 1), 0); /* "r:1" */
    assert_int_equal(out[0], 1);
    assert_int_equal(rooms_cursor_decode("cjox0", 'r', out, 1), -1); /* trailing bits: "r:1" + garbage */
    char big[200];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(rooms_cursor_decode(big, 'r', out, 1), -1);
    assert_int_equal(rooms_cursor_encode('r', in, 3, cur, 8), -1);
}

static void test_like_pattern_escapes_wildcards_and_backslash(void **state) {
    (void)state;
    char p[64];
    assert_int_equal(rooms_like_pattern("100% a_b\\c", p, sizeof p), 0);
    assert_string_equal(p, "%100\\% a\\_b\\\\c%");
    assert_int_equal(rooms_like_pattern("", p, sizeof p), 0);
    assert_string_equal(p, "%%");
    assert_int_equal(rooms_like_pattern("abcdef", p, 8), -1);
    assert_int_equal(rooms_like_pattern("abcde", p, 8), 0);
}

static void test_smap_inserts_finds_deletes_and_grows(void **state) {
    (void)state;
    smap m;
    smap_init(&m);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        int created;
        smap_slot *s = smap_upsert(&m, key, &created);
        assert_non_null(s);
        assert_true(created);
        s->val = (void *)(uintptr_t)(i + 1);
    }
    assert_int_equal(m.n, 1000);
    for (int i = 0; i < 1000; i += 2) {
        snprintf(key, sizeof key, "k%d", i);
        assert_ptr_equal(smap_del(&m, key), (void *)(uintptr_t)(i + 1));
    }
    assert_int_equal(m.n, 500);
    for (int i = 0; i < 1000; i++) { /* backward-shift deletion keeps every other key reachable */
        snprintf(key, sizeof key, "k%d", i);
        smap_slot *s = smap_find(&m, key);
        if (i % 2) {
            assert_non_null(s);
            assert_ptr_equal(s->val, (void *)(uintptr_t)(i + 1));
        } else {
            assert_null(s);
        }
    }
    size_t pos = 0, seen = 0;
    while (smap_next(&m, &pos)) seen++;
    assert_int_equal(seen, 500);
    int created;
    assert_non_null(smap_upsert(&m, "k1", &created));
    assert_false(created);
    assert_null(smap_del(&m, "absent"));
    smap_free(&m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_room_id_is_twelve_base62_characters),
        cmocka_unit_test(test_room_id_skips_biased_bytes_and_fails_when_they_run_out),
        cmocka_unit_test(test_room_id_valid_rejects_everything_but_letters_and_digits),
        cmocka_unit_test(test_cursor_round_trips_and_rejects_other_tags_arity_and_garbage),
        cmocka_unit_test(test_like_pattern_escapes_wildcards_and_backslash),
        cmocka_unit_test(test_smap_inserts_finds_deletes_and_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
