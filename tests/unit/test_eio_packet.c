/*
 * tests/unit/test_eio_packet.c - Engine.IO v4 packet codec (core/eio_packet.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/eio_packet.c"
#include "core/utf8.c"

static const sh_eio_limits LIM = {.max_payload = 1000000, .max_packets = 100};

#define S(lit) (lit), (sizeof(lit) - 1)

static sh_eio_packet text_pkt(int type, const char *data) {
    sh_eio_packet p = {
        .type = (uint8_t)type, .binary = false, .data = (const uint8_t *)data, .len = data ? strlen(data) : 0};
    return p;
}

static int parse_payload_status(const char *body, size_t len, const sh_eio_limits *lim) {
    sh_eio_payload pl;
    int rc = sh_eio_parse_payload(body, len, lim, &pl);
    if (rc != SH_EIO_OK) {
        assert_null(pl.packets);
        assert_null(pl.storage);
        assert_int_equal(pl.count, 0);
    }
    sh_eio_payload_free(&pl);
    return rc;
}

/* ---------------------------------------------------------------- WebSocket messages */

static void test_eio_ws_parses_every_packet_type(void **state) {
    char msg[8];
    int t;
    (void)state;
    for (t = SH_EIO_OPEN; t <= SH_EIO_NOOP; t++) {
        sh_eio_packet p;
        msg[0] = (char)('0' + t);
        assert_int_equal(sh_eio_parse_ws(msg, 1, false, &p), SH_EIO_OK);
        assert_int_equal(p.type, t);
        assert_false(p.binary);
        assert_int_equal(p.len, 0);
        assert_non_null(p.data);
        memcpy(msg + 1, "xyz", 3);
        assert_int_equal(sh_eio_parse_ws(msg, 4, false, &p), SH_EIO_OK);
        assert_int_equal(p.type, t);
        assert_int_equal(p.len, 3);
        assert_memory_equal(p.data, "xyz", 3);
    }
}

static void test_eio_ws_parses_probe_and_socketio_message(void **state) {
    sh_eio_packet p;
    (void)state;
    assert_int_equal(sh_eio_parse_ws(S("2probe"), false, &p), SH_EIO_OK);
    assert_true(sh_eio_packet_is(&p, SH_EIO_PING, "probe"));
    assert_false(sh_eio_packet_is(&p, SH_EIO_PONG, "probe"));
    assert_false(sh_eio_packet_is(&p, SH_EIO_PING, "prob"));
    assert_int_equal(sh_eio_parse_ws(S("42[\"hello\"]"), false, &p), SH_EIO_OK);
    assert_int_equal(p.type, SH_EIO_MESSAGE);
    assert_int_equal(p.len, 10);
    assert_memory_equal(p.data, "2[\"hello\"]", 10);
    assert_int_equal(sh_eio_parse_ws(S("5"), false, &p), SH_EIO_OK);
    assert_true(sh_eio_packet_is(&p, SH_EIO_UPGRADE, NULL));
    assert_true(sh_eio_packet_is(&p, SH_EIO_UPGRADE, ""));
}

static void test_eio_ws_binary_message_has_no_type_prefix(void **state) {
    static const uint8_t bin[] = {0x01, 0x02, 0x03, 0x04};
    sh_eio_packet p;
    (void)state;
    assert_int_equal(sh_eio_parse_ws(bin, sizeof bin, true, &p), SH_EIO_OK);
    assert_int_equal(p.type, SH_EIO_MESSAGE);
    assert_true(p.binary);
    assert_int_equal(p.len, 4);
    assert_ptr_equal(p.data, bin);
    assert_int_equal(sh_eio_parse_ws(NULL, 0, true, &p), SH_EIO_OK); /* empty binary is fine */
    assert_int_equal(p.len, 0);
    assert_non_null(p.data);
    assert_false(sh_eio_packet_is(&p, SH_EIO_MESSAGE, ""));
}

static void test_eio_ws_rejects_empty_and_unknown_types(void **state) {
    const char *bad[] = {"7", "9x", "a", "b", "bAQID", "/", " 4", "\x00"};
    sh_eio_packet p;
    size_t i;
    (void)state;
    assert_int_equal(sh_eio_parse_ws("", 0, false, &p), SH_EIO_ERR_EMPTY);
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(sh_eio_parse_ws(bad[i], i == 7 ? 1 : strlen(bad[i]), false, &p), SH_EIO_ERR_TYPE);
}

/* ---------------------------------------------------------------- polling payloads */

static void test_eio_payload_parses_spec_example(void **state) {
    sh_eio_payload pl;
    (void)state;
    assert_int_equal(sh_eio_parse_payload(S("4hello\x1e"
                                            "2\x1e"
                                            "4world"),
                                          &LIM, &pl),
                     SH_EIO_OK);
    assert_int_equal(pl.count, 3);
    assert_int_equal(pl.packets[0].type, SH_EIO_MESSAGE);
    assert_memory_equal(pl.packets[0].data, "hello", 5);
    assert_int_equal(pl.packets[1].type, SH_EIO_PING);
    assert_int_equal(pl.packets[1].len, 0);
    assert_int_equal(pl.packets[2].len, 5);
    assert_memory_equal(pl.packets[2].data, "world", 5);
    sh_eio_payload_free(&pl);
    assert_null(pl.packets);
}

static void test_eio_payload_decodes_base64_binary(void **state) {
    sh_eio_payload pl;
    (void)state;
    assert_int_equal(sh_eio_parse_payload(S("4hello\x1e"
                                            "bAQIDBA=="),
                                          &LIM, &pl),
                     SH_EIO_OK);
    assert_int_equal(pl.count, 2);
    assert_true(pl.packets[1].binary);
    assert_int_equal(pl.packets[1].type, SH_EIO_MESSAGE);
    assert_int_equal(pl.packets[1].len, 4);
    assert_memory_equal(pl.packets[1].data, "\x01\x02\x03\x04", 4);
    sh_eio_payload_free(&pl);
    assert_int_equal(sh_eio_parse_payload(S("b"), &LIM, &pl), SH_EIO_OK);
    assert_true(pl.packets[0].binary);
    assert_int_equal(pl.packets[0].len, 0);
    sh_eio_payload_free(&pl);
}

static void test_eio_payload_decodes_base64_of_every_tail_length(void **state) {
    sh_eio_payload pl;
    (void)state;
    assert_int_equal(sh_eio_parse_payload(S("bAQ==\x1e"
                                            "bAQI=\x1e"
                                            "bAQIDBA==\x1e"
                                            "b/+8="),
                                          &LIM, &pl),
                     SH_EIO_OK);
    assert_int_equal(pl.count, 4);
    assert_int_equal(pl.packets[0].len, 1);
    assert_memory_equal(pl.packets[0].data, "\x01", 1);
    assert_int_equal(pl.packets[1].len, 2);
    assert_memory_equal(pl.packets[1].data, "\x01\x02", 2);
    assert_int_equal(pl.packets[2].len, 4);
    assert_int_equal(pl.packets[3].len, 2);
    assert_memory_equal(pl.packets[3].data, "\xff\xef", 2);
    sh_eio_payload_free(&pl);
}

static void test_eio_payload_rejects_malformed_base64(void **state) {
    const char *bad[] = {
        "bA",    "bAQ",       "bAQI",  "bAQ=",  "bA===", "b====", "bAQ=D",
        "b!!!!", "bAQ==AQ==", "bAQJ=", "bAR==", "b-_8=", "bAQ =", "b=AQI",
    };
    size_t i;
    (void)state;
    /* wrong length, misplaced or extra padding, non-zero unused bits, other alphabets */
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse_payload_status(bad[i], strlen(bad[i]), &LIM), SH_EIO_ERR_BASE64);
}

static void test_eio_payload_rejects_empty_packets(void **state) {
    const char *bad[] = {"\x1e", "4a\x1e",
                         "\x1e"
                         "4a",
                         "4a\x1e\x1e"
                         "4b",
                         "\x1e\x1e"};
    size_t i;
    (void)state;
    assert_int_equal(parse_payload_status("", 0, &LIM), SH_EIO_ERR_EMPTY);
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse_payload_status(bad[i], strlen(bad[i]), &LIM), SH_EIO_ERR_EMPTY);
}

static void test_eio_payload_rejects_unknown_type(void **state) {
    (void)state;
    assert_int_equal(parse_payload_status(S("4a\x1e"
                                            "7"),
                                          &LIM),
                     SH_EIO_ERR_TYPE);
    assert_int_equal(parse_payload_status(S("x"), &LIM), SH_EIO_ERR_TYPE);
    assert_int_equal(parse_payload_status(S("B"), &LIM), SH_EIO_ERR_TYPE);
}

static void test_eio_payload_enforces_size_and_count_limits(void **state) {
    sh_eio_limits lim = {.max_payload = 10, .max_packets = 3};
    (void)state;
    assert_int_equal(parse_payload_status(S("4123456789"), &lim), SH_EIO_OK);
    assert_int_equal(parse_payload_status(S("41234567890"), &lim), SH_EIO_ERR_TOO_BIG);
    assert_int_equal(parse_payload_status(S("2\x1e"
                                            "2\x1e"
                                            "2"),
                                          &lim),
                     SH_EIO_OK);
    assert_int_equal(parse_payload_status(S("2\x1e"
                                            "2\x1e"
                                            "2\x1e"
                                            "2"),
                                          &lim),
                     SH_EIO_ERR_TOO_MANY);
    lim.max_packets = 0;
    assert_int_equal(parse_payload_status(S("2"), &lim), SH_EIO_ERR_ARG);
    assert_int_equal(parse_payload_status(S("2"), NULL), SH_EIO_ERR_ARG);
}

static void test_eio_payload_rejects_invalid_utf8(void **state) {
    (void)state;
    assert_int_equal(parse_payload_status(S("4caf\xc3\xa9"), &LIM), SH_EIO_OK);
    assert_int_equal(parse_payload_status(S("4\xff"), &LIM), SH_EIO_ERR_UTF8);
    assert_int_equal(parse_payload_status(S("4\xed\xa0\x80"), &LIM), SH_EIO_ERR_UTF8);
}

static void test_eio_payload_owns_its_data_after_body_is_freed(void **state) {
    char *body = strdup("42[\"a\"]\x1e"
                        "bAQID");
    sh_eio_payload pl;
    (void)state;
    assert_int_equal(sh_eio_parse_payload(body, strlen(body), &LIM, &pl), SH_EIO_OK);
    free(body);
    assert_int_equal(pl.count, 2);
    assert_memory_equal(pl.packets[0].data, "2[\"a\"]", 6);
    assert_memory_equal(pl.packets[1].data, "\x01\x02\x03", 3);
    sh_eio_payload_free(&pl);
    sh_eio_payload_free(&pl); /* idempotent */
    sh_eio_payload_free(NULL);
}

/* ---------------------------------------------------------------- encoding */

static void test_eio_encode_payload_joins_with_separator(void **state) {
    sh_eio_packet pk[3] = {text_pkt(SH_EIO_MESSAGE, "hello"), text_pkt(SH_EIO_PING, NULL),
                           text_pkt(SH_EIO_MESSAGE, "world")};
    uint8_t *out;
    size_t len;
    (void)state;
    assert_int_equal(sh_eio_encode_payload(pk, 3, &out, &len), SH_EIO_OK);
    assert_int_equal(len, 15);
    assert_memory_equal(out,
                        "4hello\x1e"
                        "2\x1e"
                        "4world",
                        15);
    assert_int_equal(out[len], 0);
    free(out);
    assert_int_equal(sh_eio_encode_payload(pk + 1, 1, &out, &len), SH_EIO_OK);
    assert_string_equal((char *)out, "2");
    free(out);
}

static void test_eio_encode_payload_base64_encodes_binary(void **state) {
    static const struct {
        const char *bytes;
        size_t n;
        const char *b64;
    } v[] = {{"", 0, "b"},
             {"\x01", 1, "bAQ=="},
             {"\x01\x02", 2, "bAQI="},
             {"\x01\x02\x03", 3, "bAQID"},
             {"\x01\x02\x03\x04", 4, "bAQIDBA=="},
             {"\xff\xef\xbe", 3, "b/+++"}};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof v / sizeof *v; i++) {
        sh_eio_packet p = {.type = SH_EIO_MESSAGE, .binary = true, .data = (const uint8_t *)v[i].bytes, .len = v[i].n};
        uint8_t *out;
        size_t len;
        assert_int_equal(sh_eio_encode_payload(&p, 1, &out, &len), SH_EIO_OK);
        assert_string_equal((char *)out, v[i].b64);
        assert_int_equal(len, strlen(v[i].b64));
        free(out);
    }
}

static void test_eio_encode_payload_rejects_bad_packets(void **state) {
    sh_eio_packet p = text_pkt(SH_EIO_MESSAGE, "a\x1e"
                                               "b");
    uint8_t *out = (uint8_t *)"x";
    size_t len;
    (void)state;
    assert_int_equal(sh_eio_encode_payload(&p, 1, &out, &len), SH_EIO_ERR_SEPARATOR);
    assert_null(out);
    p = text_pkt(7, "a");
    assert_int_equal(sh_eio_encode_payload(&p, 1, &out, &len), SH_EIO_ERR_ARG);
    p = text_pkt(SH_EIO_PING, "a");
    p.binary = true;
    assert_int_equal(sh_eio_encode_payload(&p, 1, &out, &len), SH_EIO_ERR_ARG);
    assert_int_equal(sh_eio_encode_payload(&p, 0, &out, &len), SH_EIO_ERR_ARG);
    p = text_pkt(SH_EIO_MESSAGE, NULL);
    p.len = 3;
    assert_int_equal(sh_eio_encode_payload(&p, 1, &out, &len), SH_EIO_ERR_ARG);
}

static void test_eio_encode_ws_text_and_binary(void **state) {
    sh_eio_packet p = text_pkt(SH_EIO_PONG, "probe");
    uint8_t *out;
    size_t len;
    bool bin = true;
    (void)state;
    assert_int_equal(sh_eio_encode_ws(&p, &out, &len, &bin), SH_EIO_OK);
    assert_false(bin);
    assert_int_equal(len, 6);
    assert_string_equal((char *)out, "3probe");
    free(out);
    p.type = SH_EIO_MESSAGE;
    p.binary = true;
    p.data = (const uint8_t *)"\x00\x01";
    p.len = 2;
    assert_int_equal(sh_eio_encode_ws(&p, &out, &len, &bin), SH_EIO_OK);
    assert_true(bin);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "\x00\x01", 2);
    free(out);
    p.type = SH_EIO_NOOP;
    assert_int_equal(sh_eio_encode_ws(&p, &out, &len, &bin), SH_EIO_ERR_ARG);
}

static void test_eio_encode_open_exact_json(void **state) {
    const char *ups[] = {"websocket"};
    sh_eio_open o = {.sid = "lv_VI97HAXpY6yYWAAAC",
                     .upgrades = ups,
                     .n_upgrades = 1,
                     .ping_interval = 25000,
                     .ping_timeout = 20000,
                     .max_payload = 1000000};
    char *out;
    size_t len;
    (void)state;
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_OK);
    assert_string_equal(out, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],"
                             "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}");
    assert_int_equal(len, strlen(out));
    free(out);
    o.n_upgrades = 0;
    o.upgrades = NULL;
    o.ping_interval = 300;
    o.ping_timeout = 200;
    o.max_payload = UINT64_C(18446744073709551615);
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_OK);
    assert_string_equal(out, "{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[],"
                             "\"pingInterval\":300,\"pingTimeout\":200,"
                             "\"maxPayload\":18446744073709551615}");
    free(out);
}

static void test_eio_encode_open_escapes_and_validates_strings(void **state) {
    const char *ups[] = {"web\"socket", "a\\b"};
    sh_eio_open o = {
        .sid = "s\x01\"id", .upgrades = ups, .n_upgrades = 2, .ping_interval = 1, .ping_timeout = 2, .max_payload = 3};
    char *out;
    size_t len;
    (void)state;
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_OK);
    assert_string_equal(out, "{\"sid\":\"s\\u0001\\\"id\",\"upgrades\":[\"web\\\"socket\",\"a\\\\b\"],"
                             "\"pingInterval\":1,\"pingTimeout\":2,\"maxPayload\":3}");
    free(out);
    o.sid = "\xff";
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_ERR_UTF8);
    o.sid = "";
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_ERR_ARG);
    o.sid = NULL;
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_ERR_ARG);
    o.sid = "ok";
    o.upgrades = NULL;
    assert_int_equal(sh_eio_encode_open(&o, &out, &len), SH_EIO_ERR_ARG);
    assert_int_equal(sh_eio_encode_open(NULL, &out, &len), SH_EIO_ERR_ARG);
}

static void test_eio_payload_round_trips_random_packets(void **state) {
    uint32_t seed = 12345;
    int iter;
    (void)state;
    for (iter = 0; iter < 500; iter++) {
        sh_eio_packet pk[8];
        uint8_t bufs[8][40];
        size_t n = 1 + iter % 8, i, j, len;
        uint8_t *out;
        sh_eio_payload pl;
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            pk[i].binary = (seed >> 16) & 1;
            pk[i].type = pk[i].binary ? SH_EIO_MESSAGE : (uint8_t)((seed >> 8) % 7);
            pk[i].len = (seed >> 20) % 40;
            for (j = 0; j < pk[i].len; j++) {
                seed = seed * 1103515245 + 12345;
                bufs[i][j] = pk[i].binary ? (uint8_t)(seed >> 16) : (uint8_t)(' ' + (seed >> 16) % 95);
            }
            pk[i].data = bufs[i];
        }
        assert_int_equal(sh_eio_encode_payload(pk, n, &out, &len), SH_EIO_OK);
        assert_int_equal(sh_eio_parse_payload(out, len, &LIM, &pl), SH_EIO_OK);
        assert_int_equal(pl.count, n);
        for (i = 0; i < n; i++) {
            assert_int_equal(pl.packets[i].type, pk[i].type);
            assert_int_equal(pl.packets[i].binary, pk[i].binary);
            assert_int_equal(pl.packets[i].len, pk[i].len);
            if (pk[i].len) assert_memory_equal(pl.packets[i].data, pk[i].data, pk[i].len);
        }
        sh_eio_payload_free(&pl);
        free(out);
    }
}

static void test_eio_type_char_and_strerror(void **state) {
    int st;
    (void)state;
    assert_int_equal(sh_eio_type_char(SH_EIO_OPEN), '0');
    assert_int_equal(sh_eio_type_char(SH_EIO_NOOP), '6');
    assert_int_equal(sh_eio_type_char(7), 0);
    assert_int_equal(sh_eio_type_char(-1), 0);
    for (st = 0; st >= -10; st--)
        assert_non_null(sh_eio_strerror(st));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eio_ws_parses_every_packet_type),
        cmocka_unit_test(test_eio_ws_parses_probe_and_socketio_message),
        cmocka_unit_test(test_eio_ws_binary_message_has_no_type_prefix),
        cmocka_unit_test(test_eio_ws_rejects_empty_and_unknown_types),
        cmocka_unit_test(test_eio_payload_parses_spec_example),
        cmocka_unit_test(test_eio_payload_decodes_base64_binary),
        cmocka_unit_test(test_eio_payload_decodes_base64_of_every_tail_length),
        cmocka_unit_test(test_eio_payload_rejects_malformed_base64),
        cmocka_unit_test(test_eio_payload_rejects_empty_packets),
        cmocka_unit_test(test_eio_payload_rejects_unknown_type),
        cmocka_unit_test(test_eio_payload_enforces_size_and_count_limits),
        cmocka_unit_test(test_eio_payload_rejects_invalid_utf8),
        cmocka_unit_test(test_eio_payload_owns_its_data_after_body_is_freed),
        cmocka_unit_test(test_eio_encode_payload_joins_with_separator),
        cmocka_unit_test(test_eio_encode_payload_base64_encodes_binary),
        cmocka_unit_test(test_eio_encode_payload_rejects_bad_packets),
        cmocka_unit_test(test_eio_encode_ws_text_and_binary),
        cmocka_unit_test(test_eio_encode_open_exact_json),
        cmocka_unit_test(test_eio_encode_open_escapes_and_validates_strings),
        cmocka_unit_test(test_eio_payload_round_trips_random_packets),
        cmocka_unit_test(test_eio_type_char_and_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
