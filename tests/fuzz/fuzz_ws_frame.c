/*
 * tests/fuzz/fuzz_ws_frame.c - fuzz the WebSocket frame parser, encoders and handshake helpers.
 *
 * Input: byte 0 seeds how the rest is split into feed calls, byte 1 picks max_message_size,
 * the rest is client->server bytes. Checks: the parser gives the same messages and status
 * whether fed at once or in pieces; delivered messages respect the limits and invariants (text
 * is UTF-8, close codes valid, control payloads <= 125); delivered data messages re-encoded as
 * server frames (then masked) parse back identically.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.c"
#include "core/ws_frame.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

typedef struct fz_result {
    uint64_t digest; /* over every delivered message */
    size_t count;
    int status;
} fz_result;

static uint64_t fz_mix(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    return h;
}

static void fz_check_message(const sh_ws_message *m, size_t max) {
    FZ_CHECK(m->data != NULL);
    switch (m->opcode) {
    case SH_WS_OP_TEXT:
        FZ_CHECK(sh_utf8_valid(m->data, m->len));
        /* fall through */
    case SH_WS_OP_BINARY:
        FZ_CHECK(m->len <= max);
        break;
    case SH_WS_OP_CLOSE:
        FZ_CHECK(m->len <= SH_WS_CONTROL_MAX && m->len != 1);
        FZ_CHECK(m->len == 0 ? m->close_code == 0 : sh_ws_close_code_is_valid(m->close_code));
        FZ_CHECK(sh_utf8_valid(m->close_reason, m->close_reason_len));
        break;
    case SH_WS_OP_PING:
    case SH_WS_OP_PONG:
        FZ_CHECK(m->len <= SH_WS_CONTROL_MAX);
        break;
    default:
        abort();
    }
}

/* Re-encode a delivered data message as a server frame, mask it, parse it back. */
static void fz_round_trip(const sh_ws_message *m) {
    static const uint8_t mask[4] = {0xa1, 0x02, 0x7f, 0xc3};
    uint8_t hdr[SH_WS_HEADER_MAX], *f;
    size_t h, i, used;
    sh_ws_parser p;
    sh_ws_parser_config c = {.max_message_size = m->len ? m->len : 1, .retain_buffer = 0};
    sh_ws_message out;

    if (m->opcode != SH_WS_OP_TEXT && m->opcode != SH_WS_OP_BINARY) return;
    h = sh_ws_encode_header(hdr, m->opcode, true, m->len);
    FZ_CHECK(h >= 2);
    f = malloc(h + 4 + m->len);
    FZ_CHECK(f != NULL);
    memcpy(f, hdr, h);
    f[1] |= 0x80;
    memcpy(f + h, mask, 4);
    for (i = 0; i < m->len; i++)
        f[h + 4 + i] = m->data[i] ^ mask[i & 3];
    FZ_CHECK(sh_ws_parser_init(&p, &c) == SH_WS_OK);
    FZ_CHECK(sh_ws_parser_feed(&p, f, h + 4 + m->len, &used, &out) == SH_WS_OK);
    FZ_CHECK(out.ready && used == h + 4 + m->len && out.opcode == m->opcode);
    FZ_CHECK(out.len == m->len && (m->len == 0 || memcmp(out.data, m->data, m->len) == 0));
    sh_ws_parser_free(&p);
    free(f);
}

/* Feed `data` in pieces whose sizes come from `seed` (0 = all at once). */
static fz_result fz_run(const uint8_t *data, size_t size, size_t max, uint8_t seed, bool deep) {
    sh_ws_parser p;
    sh_ws_parser_config c = {.max_message_size = max, .retain_buffer = 512};
    fz_result r = {UINT64_C(14695981039346656037), 0, SH_WS_OK};
    uint32_t rng = seed;
    size_t off = 0;

    FZ_CHECK(sh_ws_parser_init(&p, &c) == SH_WS_OK);
    while (off < size) {
        size_t piece = size - off, used;
        sh_ws_message m;
        int rc;
        if (seed) {
            rng = rng * 1103515245u + 12345u;
            piece = 1 + (rng >> 16) % (seed % 16 + 1);
            if (piece > size - off) piece = size - off;
        }
        rc = sh_ws_parser_feed(&p, data + off, piece, &used, &m);
        if (rc < 0) {
            FZ_CHECK(!m.ready);
            FZ_CHECK(sh_ws_parser_feed(&p, data + off, piece, &used, &m) == rc); /* sticky */
            r.status = rc;
            break;
        }
        FZ_CHECK(used <= piece);
        FZ_CHECK(m.ready || used == piece);
        off += used;
        if (m.ready) {
            fz_check_message(&m, max);
            r.count++;
            r.digest = fz_mix(r.digest, &m.opcode, 1);
            r.digest = fz_mix(r.digest, &m.len, sizeof m.len);
            r.digest = fz_mix(r.digest, m.data, m.len);
            r.digest = fz_mix(r.digest, &m.close_code, sizeof m.close_code);
            if (deep) fz_round_trip(&m);
        }
    }
    sh_ws_parser_free(&p);
    return r;
}

static void fz_handshake(const uint8_t *data, size_t size) {
    char key[80], out[SH_WS_ACCEPT_LEN + 1];
    size_t n = size < sizeof key - 1 ? size : sizeof key - 1;
    sh_ws_handshake hs = {key, key, key, key};
    int rc;

    memcpy(key, data, n);
    key[n] = '\0';
    rc = sh_ws_handshake_validate(&hs);
    FZ_CHECK(rc <= 0);
    hs.upgrade = "websocket";
    hs.connection = "Upgrade";
    hs.version = "13";
    rc = sh_ws_handshake_accept(&hs, out); /* the fuzzed key against valid other headers */
    FZ_CHECK(rc == SH_WS_OK ? n >= 24 && strlen(out) == SH_WS_ACCEPT_LEN : rc == SH_WS_ERR_HS_KEY);
    rc = sh_ws_accept_key(key, out);
    if (rc == SH_WS_OK) FZ_CHECK(strlen(out) == SH_WS_ACCEPT_LEN);
}

static void fz_encoders(const uint8_t *data, size_t size) {
    uint8_t f[SH_WS_CONTROL_FRAME_MAX];
    size_t n, len = size > 200 ? 200 : size;
    uint16_t code = (uint16_t)(data[0] << 8 | data[1]);

    if (sh_ws_encode_close(f, code, (const char *)data + 2, len - 2, &n) == SH_WS_OK) {
        FZ_CHECK(n <= SH_WS_CONTROL_FRAME_MAX && f[0] == 0x88 && f[1] == n - 2);
        FZ_CHECK(sh_utf8_valid(f + 4, n > 4 ? n - 4 : 0));
    }
    if (sh_ws_encode_ping(f, data, len, &n) == SH_WS_OK) FZ_CHECK(len <= SH_WS_CONTROL_MAX && n == len + 2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const size_t maxes[] = {1, 16, 125, 126, 1000, 65535, 65536, 1 << 20};
    fz_result whole, split;
    size_t max;
    uint8_t seed;

    if (size < 2) return 0;
    seed = data[0];
    max = maxes[data[1] % (sizeof maxes / sizeof *maxes)];
    fz_handshake(data + 2, size - 2);
    fz_encoders(data, size);
    data += 2;
    size -= 2;
    whole = fz_run(data, size, max, 0, true);
    split = fz_run(data, size, max, seed ? seed : 1, false);
    FZ_CHECK(whole.status == split.status);
    FZ_CHECK(whole.count == split.count);
    FZ_CHECK(whole.digest == split.digest);
    return 0;
}
