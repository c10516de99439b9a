/*
 * tests/unit/test_ws_frame.c - WebSocket handshake, incremental parser and encoders
 * (core/ws_frame.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/utf8.c"
#include "core/ws_frame.c"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* Length encodings for mk_frame: minimal, or forced 16-bit / 64-bit (non-minimal allowed). */
enum { LEN_MIN, LEN_16, LEN_64 };

/* Build a masked client frame; b0 = FIN/RSV/opcode byte. Returns its size. */
static size_t mk_frame_ex(uint8_t *out, uint8_t b0, const void *payload, size_t len, int form) {
    const uint8_t *pl = payload;
    size_t o = 0, i;

    out[o++] = b0;
    if (form == LEN_MIN && len < 126) {
        out[o++] = (uint8_t)(0x80 | len);
    } else if (form != LEN_64 && len <= 0xFFFF) {
        out[o++] = 0x80 | 126;
        out[o++] = (uint8_t)(len >> 8);
        out[o++] = (uint8_t)len;
    } else {
        out[o++] = 0x80 | 127;
        for (i = 0; i < 8; i++)
            out[o++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(out + o, MASK, 4);
    o += 4;
    for (i = 0; i < len; i++)
        out[o + i] = pl[i] ^ MASK[i & 3];
    return o + len;
}

static size_t mk_frame(uint8_t *out, uint8_t b0, const void *payload, size_t len) {
    return mk_frame_ex(out, b0, payload, len, LEN_MIN);
}

#define FIN 0x80

/* What a feed produced: copies of every message, and the final status. */
typedef struct got_msg {
    uint8_t opcode;
    uint8_t *data;
    size_t len;
    uint16_t close_code;
    char reason[128];
} got_msg;

typedef struct run {
    got_msg msgs[16];
    size_t n;
    int status;
} run;

static sh_ws_parser_config cfg_max(size_t max) {
    sh_ws_parser_config c = {.max_message_size = max, .retain_buffer = 4096};
    return c;
}

/* Feed `buf` in chunks of `chunk` bytes (0 = all at once) into `p`, recording results. */
static void feed_chunks(sh_ws_parser *p, const uint8_t *buf, size_t n, size_t chunk, run *r) {
    size_t off = 0;

    r->status = SH_WS_OK;
    while (off < n) {
        size_t piece = chunk ? (n - off < chunk ? n - off : chunk) : n - off, used = 0, poff = 0;
        while (poff < piece) {
            sh_ws_message m;
            int rc = sh_ws_parser_feed(p, buf + off + poff, piece - poff, &used, &m);
            if (rc < 0) {
                r->status = rc;
                return;
            }
            assert_true(used <= piece - poff);
            poff += used;
            if (!m.ready) {
                assert_int_equal(poff, piece); /* no message: the whole piece was used */
                continue;
            }
            assert_true(r->n < 16 && m.data != NULL && m.close_reason_len < sizeof r->msgs[0].reason);
            got_msg *g = &r->msgs[r->n++];
            *g = (got_msg){.opcode = m.opcode, .len = m.len, .close_code = m.close_code, .data = malloc(m.len + 1)};
            memcpy(g->data, m.data, m.len);
            g->data[m.len] = 0;
            if (m.close_reason_len) memcpy(g->reason, m.close_reason, m.close_reason_len);
        }
        off += piece;
    }
}

static void run_free(run *r) {
    size_t i;
    for (i = 0; i < r->n; i++)
        free(r->msgs[i].data);
    memset(r, 0, sizeof *r);
}

/* Parse `buf` with a fresh parser (max message size `max`) fed in `chunk`-byte pieces. */
static void parse_all(const uint8_t *buf, size_t n, size_t max, size_t chunk, run *r) {
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(max);
    memset(r, 0, sizeof *r);
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    feed_chunks(&p, buf, n, chunk, r);
    sh_ws_parser_free(&p);
}

/* Status of parsing `buf` whole; byte at a time must give the same verdict. */
static int parse_status(const uint8_t *buf, size_t n, size_t max) {
    run r, r1;
    int st;
    parse_all(buf, n, max, 0, &r);
    parse_all(buf, n, max, 1, &r1);
    assert_int_equal(r.status, r1.status);
    st = r.status;
    run_free(&r1);
    run_free(&r);
    return st;
}

/* Build one frame (b0, payload) and check the status parsing it gives, whole and byte by byte. */
static void expect_one(uint8_t b0, const void *payload, size_t len, size_t max, int status) {
    uint8_t f[400];
    assert_true(len <= sizeof f - 14);
    assert_int_equal(parse_status(f, mk_frame(f, b0, payload, len), max), status);
}

/* ---------------------------------------------------------------- handshake */

static void test_handshake_rfc_example_accept_key(void **state) {
    char out[SH_WS_ACCEPT_LEN + 1];
    sh_ws_handshake hs = {"websocket", "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=="};
    (void)state;
    assert_int_equal(sh_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), SH_WS_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    memset(out, 0, sizeof out);
    assert_int_equal(sh_ws_handshake_accept(&hs, out), SH_WS_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_int_equal(sh_ws_handshake_http_status(SH_WS_OK), 101);
}

static void test_handshake_accepts_token_lists_any_case(void **state) {
    sh_ws_handshake hs = {"WebSocket", "keep-alive, Upgrade", " 13 ", " dGhlIHNhbXBsZSBub25jZQ== "};
    char out[SH_WS_ACCEPT_LEN + 1];
    (void)state;
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_OK);
    assert_int_equal(sh_ws_handshake_accept(&hs, out), SH_WS_OK);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    hs.connection = "UPGRADE";
    hs.upgrade = "h2c,\twebsocket";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_OK);
    hs.connection = "keep-alive,upgrade ,close";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_OK);
}

static void test_handshake_rejects_missing_or_wrong_upgrade(void **state) {
    sh_ws_handshake hs = {NULL, "Upgrade", "13", "dGhlIHNhbXBsZSBub25jZQ=="};
    (void)state;
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_UPGRADE);
    hs.upgrade = "h2c";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_UPGRADE);
    hs.upgrade = "websockets";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_UPGRADE);
    hs.upgrade = "";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_UPGRADE);
    assert_int_equal(sh_ws_handshake_http_status(SH_WS_ERR_HS_UPGRADE), 400);
}

static void test_handshake_rejects_connection_without_upgrade_token(void **state) {
    sh_ws_handshake hs = {"websocket", NULL, "13", "dGhlIHNhbXBsZSBub25jZQ=="};
    (void)state;
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_CONNECTION);
    hs.connection = "keep-alive";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_CONNECTION);
    hs.connection = "upgraded, keep-alive";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_CONNECTION);
    hs.connection = "keep-alive upgrade";
    assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_CONNECTION);
}

static void test_handshake_rejects_version_other_than_13(void **state) {
    const char *bad[] = {NULL, "", "8", "12", "130", "1 3", "13,8", "0x0d"};
    sh_ws_handshake hs = {"websocket", "Upgrade", NULL, "dGhlIHNhbXBsZSBub25jZQ=="};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        hs.version = bad[i];
        assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_VERSION);
    }
    assert_int_equal(sh_ws_handshake_http_status(SH_WS_ERR_HS_VERSION), 426);
}

static void test_handshake_rejects_bad_keys(void **state) {
    const char *bad[] = {
        NULL,
        "",
        "dGhlIHNhbXBsZSBub25jZQ",    /* no padding */
        "dGhlIHNhbXBsZSBub25jZQ=",   /* 23 chars */
        "dGhlIHNhbXBsZSBub25jZQ===", /* 25 chars */
        "dGhlIHNhbXBsZSBub25jZ===",  /* 15 bytes */
        "dGhlIHNhbXBsZSBub25jZQ!=",  /* bad character */
        "dGhlIHNhbXBsZSBub2-jZQ==",  /* base64url alphabet */
        "dGhlIHNhbXBsZSBub25jZQAA",  /* 18 bytes, no pad */
        "dGhl IHNhbXBsZSBub25jZQ==", /* inner space */
    };
    sh_ws_handshake hs = {"websocket", "Upgrade", "13", NULL};
    char out[SH_WS_ACCEPT_LEN + 1];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        hs.key = bad[i];
        assert_int_equal(sh_ws_handshake_validate(&hs), SH_WS_ERR_HS_KEY);
        assert_int_equal(sh_ws_handshake_accept(&hs, out), SH_WS_ERR_HS_KEY);
    }
    assert_int_equal(sh_ws_accept_key(NULL, out), SH_WS_ERR_HS_KEY);
    assert_int_equal(sh_ws_handshake_validate(NULL), SH_WS_ERR_ARG);
}

/* ---------------------------------------------------------------- parser: basics */

static void test_frame_parses_rfc_masked_hello(void **state) {
    static const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    run r;
    size_t chunk;
    (void)state;
    for (chunk = 0; chunk <= sizeof f; chunk++) {
        parse_all(f, sizeof f, 1000, chunk, &r);
        assert_int_equal(r.status, SH_WS_OK);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.msgs[0].opcode, SH_WS_OP_TEXT);
        assert_int_equal(r.msgs[0].len, 5);
        assert_memory_equal(r.msgs[0].data, "Hello", 5);
        run_free(&r);
    }
}

static void test_frame_rejects_unmasked_client_frame(void **state) {
    static const uint8_t f[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    (void)state;
    assert_int_equal(parse_status(f, sizeof f, 1000), SH_WS_ERR_PROTOCOL);
    assert_int_equal(sh_ws_status_close_code(SH_WS_ERR_PROTOCOL), 1002);
}

static void test_frame_rejects_rsv_bits(void **state) {
    uint8_t rsv;
    (void)state;
    for (rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
        expect_one(FIN | rsv | SH_WS_OP_TEXT, "x", 1, 1000, SH_WS_ERR_PROTOCOL);
        expect_one(FIN | rsv | SH_WS_OP_PING, "", 0, 1000, SH_WS_ERR_PROTOCOL);
    }
}

static void test_frame_rejects_unknown_opcodes(void **state) {
    static const uint8_t ops[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof ops; i++)
        expect_one(FIN | ops[i], "ab", 2, 1000, SH_WS_ERR_PROTOCOL);
}

static void test_frame_rejects_oversized_or_fragmented_control(void **state) {
    uint8_t f[300], pl[200];
    size_t n;
    (void)state;
    memset(pl, 'p', sizeof pl);
    expect_one(FIN | SH_WS_OP_PING, pl, 126, 1000, SH_WS_ERR_PROTOCOL);
    n = mk_frame_ex(f, FIN | SH_WS_OP_PONG, pl, 10, LEN_16); /* even a small one in 16-bit form */
    assert_int_equal(parse_status(f, n, 1000), SH_WS_ERR_PROTOCOL);
    expect_one(SH_WS_OP_PING, pl, 1, 1000, SH_WS_ERR_PROTOCOL); /* FIN clear */
    expect_one(SH_WS_OP_CLOSE, "\x03\xe8", 2, 1000, SH_WS_ERR_PROTOCOL);
    expect_one(FIN | SH_WS_OP_PING, pl, 125, 1000, SH_WS_OK); /* 125 is fine */
}

static void test_frame_rejects_continuation_without_start(void **state) {
    (void)state;
    expect_one(FIN | SH_WS_OP_CONT, "abc", 3, 1000, SH_WS_ERR_PROTOCOL);
    expect_one(SH_WS_OP_CONT, "abc", 3, 1000, SH_WS_ERR_PROTOCOL);
}

static void test_frame_rejects_new_data_frame_inside_fragmented_message(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, SH_WS_OP_TEXT, "abc", 3);
    (void)state;
    n += mk_frame(f + n, FIN | SH_WS_OP_TEXT, "def", 3);
    assert_int_equal(parse_status(f, n, 1000), SH_WS_ERR_PROTOCOL);
    n = mk_frame(f, SH_WS_OP_BINARY, "abc", 3);
    n += mk_frame(f + n, SH_WS_OP_BINARY, "def", 3);
    assert_int_equal(parse_status(f, n, 1000), SH_WS_ERR_PROTOCOL);
}

static void test_frame_rejects_64bit_length_with_msb_set(void **state) {
    static const uint8_t f[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    (void)state;
    assert_int_equal(parse_status(f, sizeof f, SIZE_MAX), SH_WS_ERR_PROTOCOL);
}

static void test_frame_accepts_non_minimal_lengths(void **state) {
    uint8_t f[64];
    size_t n = mk_frame_ex(f, FIN | SH_WS_OP_TEXT, "hello", 5, LEN_16);
    run r;
    (void)state;
    n += mk_frame_ex(f + n, FIN | SH_WS_OP_BINARY, "world", 5, LEN_64);
    parse_all(f, n, 1000, 1, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.msgs[0].data, "hello", 5);
    assert_int_equal(r.msgs[1].opcode, SH_WS_OP_BINARY);
    assert_memory_equal(r.msgs[1].data, "world", 5);
    run_free(&r);
}

static void test_frame_parses_16_and_64_bit_lengths(void **state) {
    size_t sizes[] = {125, 126, 127, 300, 65535, 65536, 70000};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t len = sizes[i], n;
        uint8_t *pl = malloc(len), *f = malloc(len + 14);
        run r;
        for (j = 0; j < len; j++)
            pl[j] = (uint8_t)(j * 7);
        n = mk_frame(f, FIN | SH_WS_OP_BINARY, pl, len);
        parse_all(f, n, 100000, 997, &r);
        assert_int_equal(r.status, SH_WS_OK);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.msgs[0].len, len);
        assert_memory_equal(r.msgs[0].data, pl, len);
        run_free(&r);
        free(pl);
        free(f);
    }
}

static void test_frame_delivers_empty_messages_and_fragments(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, FIN | SH_WS_OP_TEXT, "", 0);
    run r;
    (void)state;
    n += mk_frame(f + n, SH_WS_OP_BINARY, "", 0);
    n += mk_frame(f + n, SH_WS_OP_CONT, "", 0);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "", 0);
    parse_all(f, n, 10, 0, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.msgs[0].opcode, SH_WS_OP_TEXT);
    assert_int_equal(r.msgs[0].len, 0);
    assert_int_equal(r.msgs[1].opcode, SH_WS_OP_BINARY);
    assert_int_equal(r.msgs[1].len, 0);
    run_free(&r);
}

/* ---------------------------------------------------------------- fragmentation */

static void test_frame_reassembles_fragments_with_controls_in_between(void **state) {
    uint8_t f[256];
    size_t n = 0, chunk;
    run r;
    (void)state;
    n += mk_frame(f + n, SH_WS_OP_TEXT, "Hel", 3);
    n += mk_frame(f + n, FIN | SH_WS_OP_PING, "p1", 2);
    n += mk_frame(f + n, SH_WS_OP_CONT, "lo, ", 4);
    n += mk_frame(f + n, FIN | SH_WS_OP_PONG, "", 0);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "w\xc3\xb6rld", 6);
    n += mk_frame(f + n, FIN | SH_WS_OP_BINARY, "\x00\xff", 2);
    n += mk_frame(f + n, FIN | SH_WS_OP_CLOSE,
                  "\x03\xe8"
                  "bye",
                  5);
    for (chunk = 0; chunk <= n; chunk++) {
        parse_all(f, n, 1000, chunk, &r);
        assert_int_equal(r.status, SH_WS_OK);
        assert_int_equal(r.n, 5);
        assert_int_equal(r.msgs[0].opcode, SH_WS_OP_PING);
        assert_memory_equal(r.msgs[0].data, "p1", 2);
        assert_int_equal(r.msgs[1].opcode, SH_WS_OP_PONG);
        assert_int_equal(r.msgs[1].len, 0);
        assert_int_equal(r.msgs[2].opcode, SH_WS_OP_TEXT);
        assert_int_equal(r.msgs[2].len, 13);
        assert_memory_equal(r.msgs[2].data, "Hello, w\xc3\xb6rld", 13);
        assert_int_equal(r.msgs[3].opcode, SH_WS_OP_BINARY);
        assert_memory_equal(r.msgs[3].data, "\x00\xff", 2);
        assert_int_equal(r.msgs[4].opcode, SH_WS_OP_CLOSE);
        assert_int_equal(r.msgs[4].close_code, 1000);
        assert_string_equal(r.msgs[4].reason, "bye");
        run_free(&r);
    }
}

static void test_frame_close_inside_fragmented_message_is_delivered(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, SH_WS_OP_TEXT, "abc", 3);
    run r;
    (void)state;
    n += mk_frame(f + n, FIN | SH_WS_OP_CLOSE, "\x03\xe9", 2);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "def", 3); /* after close: ignored */
    parse_all(f, n, 1000, 1, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.msgs[0].opcode, SH_WS_OP_CLOSE);
    assert_int_equal(r.msgs[0].close_code, 1001);
    run_free(&r);
}

static void test_frame_in_message_reports_open_fragmented_message(void **state) {
    uint8_t f[64];
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(100);
    sh_ws_message m;
    size_t n = mk_frame(f, SH_WS_OP_BINARY, "ab", 2), used;
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_false(sh_ws_parser_in_message(&p));
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_int_equal(used, n);
    assert_false(m.ready);
    assert_true(sh_ws_parser_in_message(&p));
    n = mk_frame(f, FIN | SH_WS_OP_CONT, "cd", 2);
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    assert_false(sh_ws_parser_in_message(&p));
    assert_memory_equal(m.data, "abcd", 4);
    sh_ws_parser_free(&p);
}

/* ---------------------------------------------------------------- limits */

static void test_frame_rejects_single_frame_over_max_before_payload_arrives(void **state) {
    uint8_t hdr[14] = {0x82, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}; /* 1 GiB declared */
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(1 << 20);
    sh_ws_message m;
    size_t used;
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_int_equal(sh_ws_parser_feed(&p, hdr, sizeof hdr, &used, &m), SH_WS_ERR_TOO_BIG);
    assert_int_equal(sh_ws_status_close_code(SH_WS_ERR_TOO_BIG), 1009);
    assert_null(p.buf); /* nothing allocated from the declared length */
    /* the error is sticky */
    assert_int_equal(sh_ws_parser_feed(&p, hdr, 1, &used, &m), SH_WS_ERR_TOO_BIG);
    sh_ws_parser_free(&p);
}

static void test_frame_rejects_fragments_summing_over_max(void **state) {
    uint8_t f[256], pl[128];
    size_t n;
    (void)state;
    memset(pl, 'x', sizeof pl);
    n = mk_frame(f, SH_WS_OP_TEXT, pl, 60);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, pl, 41);
    assert_int_equal(parse_status(f, n, 100), SH_WS_ERR_TOO_BIG);
    n = mk_frame(f, SH_WS_OP_TEXT, pl, 60);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, pl, 40); /* exactly the max */
    assert_int_equal(parse_status(f, n, 100), SH_WS_OK);
    expect_one(FIN | SH_WS_OP_BINARY, pl, 100, 100, SH_WS_OK);
    expect_one(FIN | SH_WS_OP_BINARY, pl, 101, 100, SH_WS_ERR_TOO_BIG);
}

static void test_frame_buffer_grows_only_as_bytes_arrive(void **state) {
    uint8_t hdr[14] = {0x82, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0, 1, 2, 3, 4}; /* 1 MiB declared */
    uint8_t chunk[100] = {0};
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(4 << 20);
    sh_ws_message m;
    size_t used;
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_int_equal(sh_ws_parser_feed(&p, hdr, sizeof hdr, &used, &m), SH_WS_OK);
    assert_int_equal(p.buf_cap, 0);
    assert_int_equal(sh_ws_parser_feed(&p, chunk, sizeof chunk, &used, &m), SH_WS_OK);
    assert_true(p.buf_cap >= 100 && p.buf_cap <= 256);
    assert_int_equal(sh_ws_parser_feed(&p, chunk, sizeof chunk, &used, &m), SH_WS_OK);
    assert_true(p.buf_cap <= 512);
    sh_ws_parser_free(&p);
}

static void test_frame_init_rejects_zero_max(void **state) {
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(0);
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_ERR_ARG);
    assert_int_equal(sh_ws_parser_init(&p, NULL), SH_WS_ERR_ARG);
}

/* ---------------------------------------------------------------- UTF-8 */

static void test_frame_rejects_invalid_utf8_text(void **state) {
    (void)state;
    expect_one(FIN | SH_WS_OP_TEXT, "ab\xc0\xaf", 4, 1000, SH_WS_ERR_UTF8);
    assert_int_equal(sh_ws_status_close_code(SH_WS_ERR_UTF8), 1007);
    expect_one(FIN | SH_WS_OP_TEXT, "\xed\xa0\x80", 3, 1000, SH_WS_ERR_UTF8);
    expect_one(FIN | SH_WS_OP_BINARY, "ab\xc0\xaf", 4, 1000, SH_WS_OK); /* binary: anything goes */
}

static void test_frame_validates_utf8_across_fragments(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, SH_WS_OP_TEXT, "a\xe2\x82", 3); /* euro sign split */
    run r;
    (void)state;
    n += mk_frame(f + n, FIN | SH_WS_OP_PING, "", 0);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "\xac!", 2);
    parse_all(f, n, 1000, 1, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.msgs[1].data, "a\xe2\x82\xac!", 5);
    run_free(&r);
    /* the message ends inside a code point */
    n = mk_frame(f, SH_WS_OP_TEXT, "a", 1);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "\xe2\x82", 2);
    assert_int_equal(parse_status(f, n, 1000), SH_WS_ERR_UTF8);
    /* the split code point is bad in the second half */
    n = mk_frame(f, SH_WS_OP_TEXT, "\xe2", 1);
    n += mk_frame(f + n, FIN | SH_WS_OP_CONT, "\x28\xa1", 2);
    assert_int_equal(parse_status(f, n, 1000), SH_WS_ERR_UTF8);
}

static void test_frame_fails_fast_on_invalid_utf8_in_first_fragment(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, SH_WS_OP_TEXT, "ok\xff", 3), used;
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(1000);
    sh_ws_message m;
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    /* no final fragment ever arrives: the error is reported anyway */
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_ERR_UTF8);
    sh_ws_parser_free(&p);
}

/* ---------------------------------------------------------------- close frames */

static void test_frame_parses_close_codes_and_reason(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, FIN | SH_WS_OP_CLOSE, "", 0);
    run r;
    (void)state;
    parse_all(f, n, 1000, 0, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.msgs[0].opcode, SH_WS_OP_CLOSE);
    assert_int_equal(r.msgs[0].close_code, 0);
    run_free(&r);
    n = mk_frame(f, FIN | SH_WS_OP_CLOSE, "\x0f\xa0g\xc3\xa9nial", 9); /* 4000, "genial" */
    parse_all(f, n, 1000, 1, &r);
    assert_int_equal(r.status, SH_WS_OK);
    assert_int_equal(r.msgs[0].close_code, 4000);
    assert_string_equal(r.msgs[0].reason, "g\xc3\xa9nial");
    run_free(&r);
}

static void test_frame_rejects_invalid_close_codes(void **state) {
    static const uint16_t bad[] = {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535};
    static const uint16_t good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                    1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    uint8_t pl[2];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof *bad; i++) {
        pl[0] = (uint8_t)(bad[i] >> 8);
        pl[1] = (uint8_t)bad[i];
        expect_one(FIN | SH_WS_OP_CLOSE, pl, 2, 1000, SH_WS_ERR_PROTOCOL);
        assert_false(sh_ws_close_code_is_valid(bad[i]));
    }
    for (i = 0; i < sizeof good / sizeof *good; i++) {
        pl[0] = (uint8_t)(good[i] >> 8);
        pl[1] = (uint8_t)good[i];
        expect_one(FIN | SH_WS_OP_CLOSE, pl, 2, 1000, SH_WS_OK);
        assert_true(sh_ws_close_code_is_valid(good[i]));
    }
}

static void test_frame_rejects_close_payload_of_one_byte(void **state) {
    (void)state;
    expect_one(FIN | SH_WS_OP_CLOSE, "\x03", 1, 1000, SH_WS_ERR_PROTOCOL);
}

static void test_frame_rejects_close_reason_with_invalid_utf8(void **state) {
    (void)state;
    expect_one(FIN | SH_WS_OP_CLOSE, "\x03\xe8\xff", 3, 1000, SH_WS_ERR_UTF8);
    expect_one(FIN | SH_WS_OP_CLOSE, "\x03\xe8\xe2\x82", 4, 1000, SH_WS_ERR_UTF8); /* truncated */
}

static void test_frame_ignores_bytes_after_close(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, FIN | SH_WS_OP_CLOSE, "\x03\xe8", 2), used, total;
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(100);
    sh_ws_message m;
    (void)state;
    total = n + 5;
    memcpy(f + n, "\x81\x00zzz", 5); /* garbage, even an unmasked frame */
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_int_equal(sh_ws_parser_feed(&p, f, total, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    assert_int_equal(used, n);
    assert_int_equal(sh_ws_parser_feed(&p, f + n, total - n, &used, &m), SH_WS_OK);
    assert_false(m.ready);
    assert_int_equal(used, total - n);
    sh_ws_parser_free(&p);
}

/* ---------------------------------------------------------------- misc parser API */

static void test_frame_take_message_transfers_ownership(void **state) {
    uint8_t f[64];
    size_t n = mk_frame(f, FIN | SH_WS_OP_BINARY, "payload", 7), used, len;
    sh_ws_parser p;
    sh_ws_parser_config c = cfg_max(100);
    sh_ws_message m;
    uint8_t *b;
    (void)state;
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_null(sh_ws_parser_take_message(&p, &len));
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    b = sh_ws_parser_take_message(&p, &len);
    assert_non_null(b);
    assert_int_equal(len, 7);
    assert_memory_equal(b, "payload", 7);
    assert_null(sh_ws_parser_take_message(&p, &len)); /* only once */
    /* the parser goes on with a fresh buffer */
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    assert_memory_equal(m.data, "payload", 7);
    free(b);
    sh_ws_parser_free(&p);
}

static void test_frame_large_buffer_is_not_retained(void **state) {
    uint8_t *f = malloc(10000 + 14), pl[10000];
    size_t n, used;
    sh_ws_parser p;
    sh_ws_parser_config c = {.max_message_size = 20000, .retain_buffer = 1024};
    sh_ws_message m;
    (void)state;
    memset(pl, 'z', sizeof pl);
    n = mk_frame(f, FIN | SH_WS_OP_BINARY, pl, sizeof pl);
    assert_int_equal(sh_ws_parser_init(&p, &c), SH_WS_OK);
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    n = mk_frame(f, FIN | SH_WS_OP_BINARY, pl, 10);
    assert_int_equal(sh_ws_parser_feed(&p, f, n, &used, &m), SH_WS_OK);
    assert_true(m.ready);
    assert_true(p.buf_cap <= 1024);
    sh_ws_parser_free(&p);
    free(f);
}

static void test_frame_strerror_and_close_code_mapping(void **state) {
    int st;
    (void)state;
    for (st = 1; st >= -11; st--) /* every status, and unknown ones */
        assert_non_null(sh_ws_strerror(st));
    assert_int_equal(sh_ws_status_close_code(SH_WS_OK), 1000);
    assert_int_equal(sh_ws_status_close_code(SH_WS_ERR_NOMEM), 1011);
    assert_int_equal(sh_ws_handshake_http_status(SH_WS_ERR_CRYPTO), 500);
}

/* ---------------------------------------------------------------- encoders */

static void test_encode_header_lengths(void **state) {
    uint8_t h[SH_WS_HEADER_MAX];
    (void)state;
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_TEXT, true, 0), 2);
    assert_memory_equal(h, "\x81\x00", 2);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_BINARY, true, 125), 2);
    assert_memory_equal(h, "\x82\x7d", 2);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_TEXT, false, 126), 4);
    assert_memory_equal(h, "\x01\x7e\x00\x7e", 4);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_TEXT, true, 65535), 4);
    assert_memory_equal(h, "\x81\x7e\xff\xff", 4);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_CONT, true, 65536), 10);
    assert_memory_equal(h, "\x80\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_BINARY, true, UINT64_C(1) << 62), 10);
}

static void test_encode_header_rejects_invalid_arguments(void **state) {
    uint8_t h[SH_WS_HEADER_MAX];
    (void)state;
    assert_int_equal(sh_ws_encode_header(h, 3, true, 1), 0);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_PING, true, 126), 0);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_PING, false, 1), 0);
    assert_int_equal(sh_ws_encode_header(h, SH_WS_OP_BINARY, true, UINT64_C(1) << 63), 0);
}

static void test_encode_close_ping_pong(void **state) {
    uint8_t f[SH_WS_CONTROL_FRAME_MAX];
    size_t n;
    (void)state;
    assert_int_equal(sh_ws_encode_close(f, 1000, "bye", 3, &n), SH_WS_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(f,
                        "\x88\x05\x03\xe8"
                        "bye",
                        7);
    assert_int_equal(sh_ws_encode_close(f, 0, NULL, 0, &n), SH_WS_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(f, "\x88\x00", 2);
    assert_int_equal(sh_ws_encode_close(f, 1009, NULL, 0, &n), SH_WS_OK);
    assert_memory_equal(f, "\x88\x02\x03\xf1", 4);
    assert_int_equal(sh_ws_encode_ping(f, "hi", 2, &n), SH_WS_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(f, "\x89\x02hi", 4);
    assert_int_equal(sh_ws_encode_pong(f, NULL, 0, &n), SH_WS_OK);
    assert_memory_equal(f, "\x8a\x00", 2);
}

static void test_encode_close_rejects_bad_code_or_reason(void **state) {
    uint8_t f[SH_WS_CONTROL_FRAME_MAX], big[200];
    size_t n;
    (void)state;
    memset(big, 'a', sizeof big);
    assert_int_equal(sh_ws_encode_close(f, 1005, NULL, 0, &n), SH_WS_ERR_ARG);
    assert_int_equal(sh_ws_encode_close(f, 1006, NULL, 0, &n), SH_WS_ERR_ARG);
    assert_int_equal(sh_ws_encode_close(f, 0, "x", 1, &n), SH_WS_ERR_ARG);
    assert_int_equal(sh_ws_encode_close(f, 1000, "\xff", 1, &n), SH_WS_ERR_UTF8);
    assert_int_equal(sh_ws_encode_ping(f, big, 126, &n), SH_WS_ERR_ARG);
    assert_int_equal(sh_ws_encode_pong(f, NULL, 3, &n), SH_WS_ERR_ARG);
}

static void test_encode_close_truncates_reason_at_code_point(void **state) {
    char reason[200];
    uint8_t f[SH_WS_CONTROL_FRAME_MAX];
    size_t n, i;
    (void)state;
    /* 122 ASCII bytes then a 2-byte character straddling byte 123 */
    memset(reason, 'r', 122);
    memcpy(reason + 122, "\xc3\xa9zz", 4);
    assert_int_equal(sh_ws_encode_close(f, 1000, reason, 126, &n), SH_WS_OK);
    assert_int_equal(n, 4 + 122);
    assert_int_equal(f[1], 124);
    memset(reason, 'a', sizeof reason);
    assert_int_equal(sh_ws_encode_close(f, 1000, reason, sizeof reason, &n), SH_WS_OK);
    assert_int_equal(n, 127);
    for (i = 4; i < n; i++)
        assert_int_equal(f[i], 'a');
}

/* Server-encoded frames, masked as a client would, parse back to the same message. */
static void test_encode_round_trips_through_parser(void **state) {
    static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 100000};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t len = sizes[i], h, n;
        uint8_t hdr[SH_WS_HEADER_MAX], *pl = malloc(len + 1), *f = malloc(len + 14);
        run r;
        for (j = 0; j < len; j++)
            pl[j] = (uint8_t)('a' + j % 26);
        h = sh_ws_encode_header(hdr, SH_WS_OP_TEXT, true, len);
        assert_true(h > 0);
        /* insert the mask bit and key after the header, then mask the payload */
        memcpy(f, hdr, h);
        f[1] |= 0x80;
        memcpy(f + h, MASK, 4);
        for (j = 0; j < len; j++)
            f[h + 4 + j] = pl[j] ^ MASK[j & 3];
        n = h + 4 + len;
        parse_all(f, n, 200000, 4096, &r);
        assert_int_equal(r.status, SH_WS_OK);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.msgs[0].len, len);
        if (len) assert_memory_equal(r.msgs[0].data, pl, len);
        run_free(&r);
        free(pl);
        free(f);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_rfc_example_accept_key),
        cmocka_unit_test(test_handshake_accepts_token_lists_any_case),
        cmocka_unit_test(test_handshake_rejects_missing_or_wrong_upgrade),
        cmocka_unit_test(test_handshake_rejects_connection_without_upgrade_token),
        cmocka_unit_test(test_handshake_rejects_version_other_than_13),
        cmocka_unit_test(test_handshake_rejects_bad_keys),
        cmocka_unit_test(test_frame_parses_rfc_masked_hello),
        cmocka_unit_test(test_frame_rejects_unmasked_client_frame),
        cmocka_unit_test(test_frame_rejects_rsv_bits),
        cmocka_unit_test(test_frame_rejects_unknown_opcodes),
        cmocka_unit_test(test_frame_rejects_oversized_or_fragmented_control),
        cmocka_unit_test(test_frame_rejects_continuation_without_start),
        cmocka_unit_test(test_frame_rejects_new_data_frame_inside_fragmented_message),
        cmocka_unit_test(test_frame_rejects_64bit_length_with_msb_set),
        cmocka_unit_test(test_frame_accepts_non_minimal_lengths),
        cmocka_unit_test(test_frame_parses_16_and_64_bit_lengths),
        cmocka_unit_test(test_frame_delivers_empty_messages_and_fragments),
        cmocka_unit_test(test_frame_reassembles_fragments_with_controls_in_between),
        cmocka_unit_test(test_frame_close_inside_fragmented_message_is_delivered),
        cmocka_unit_test(test_frame_in_message_reports_open_fragmented_message),
        cmocka_unit_test(test_frame_rejects_single_frame_over_max_before_payload_arrives),
        cmocka_unit_test(test_frame_rejects_fragments_summing_over_max),
        cmocka_unit_test(test_frame_buffer_grows_only_as_bytes_arrive),
        cmocka_unit_test(test_frame_init_rejects_zero_max),
        cmocka_unit_test(test_frame_rejects_invalid_utf8_text),
        cmocka_unit_test(test_frame_validates_utf8_across_fragments),
        cmocka_unit_test(test_frame_fails_fast_on_invalid_utf8_in_first_fragment),
        cmocka_unit_test(test_frame_parses_close_codes_and_reason),
        cmocka_unit_test(test_frame_rejects_invalid_close_codes),
        cmocka_unit_test(test_frame_rejects_close_payload_of_one_byte),
        cmocka_unit_test(test_frame_rejects_close_reason_with_invalid_utf8),
        cmocka_unit_test(test_frame_ignores_bytes_after_close),
        cmocka_unit_test(test_frame_take_message_transfers_ownership),
        cmocka_unit_test(test_frame_large_buffer_is_not_retained),
        cmocka_unit_test(test_frame_strerror_and_close_code_mapping),
        cmocka_unit_test(test_encode_header_lengths),
        cmocka_unit_test(test_encode_header_rejects_invalid_arguments),
        cmocka_unit_test(test_encode_close_ping_pong),
        cmocka_unit_test(test_encode_close_rejects_bad_code_or_reason),
        cmocka_unit_test(test_encode_close_truncates_reason_at_code_point),
        cmocka_unit_test(test_encode_round_trips_through_parser),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
