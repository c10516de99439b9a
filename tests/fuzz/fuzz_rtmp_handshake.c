/*
 * tests/fuzz/fuzz_rtmp_handshake.c - fuzz the RTMP server handshake state machine.
 *
 * Input: byte 0 seeds how the rest is split into feed calls; byte 1 holds flags: bit 0 =
 * plain_only, bit 1 = sign C1 with a valid client digest first (so the digest answer is reached
 * with fuzzed content), bit 2 = schema for that digest; the rest is client bytes (C0 C1 C2 ...).
 * Checks: the machine ends in the same state with the same output and consumption whether fed
 * at once or in pieces; it consumes at most 3073 bytes and exactly that when DONE; the output
 * is S0 = 3 plus 3072 bytes; a plain answer echoes C1 in S2, a digest answer carries a valid S1
 * digest and S2 signature.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/handshake.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

struct fz_result {
    int status;
    enum rtmp_hs_state state;
    enum rtmp_hs_scheme scheme;
    size_t consumed;
    size_t out_len;
    uint8_t out[RTMP_HS_OUTPUT_SIZE];
};

static int fz_random(void *ctx, uint8_t *buf, size_t len) {
    uint32_t *s = ctx;
    for (size_t i = 0; i < len; i++) {
        *s = *s * 1103515245u + 12345u;
        buf[i] = (uint8_t)(*s >> 16);
    }
    return 0;
}

static void fz_run(const uint8_t *data, size_t size, bool plain_only, uint8_t seed, struct fz_result *r) {
    struct rtmp_handshake hs;
    uint32_t rnd = 42, rng = seed;
    struct rtmp_hs_config cfg = {.random = fz_random, .random_ctx = &rnd, .epoch = 7, .plain_only = plain_only};
    size_t off = 0;

    memset(r, 0, sizeof *r);
    FZ_CHECK(rtmp_hs_init(&hs, &cfg) == RTMP_HS_OK);
    while (off < size) {
        size_t piece = size - off, used = 0, n = 0;
        const uint8_t *o;
        int rc;
        if (seed) {
            rng = rng * 1103515245u + 12345u;
            piece = 1 + (rng >> 16) % (seed % 64 + 1) * (seed & 0x80 ? 37 : 1);
            if (piece > size - off) piece = size - off;
        }
        rc = rtmp_hs_feed(&hs, data + off, piece, &used);
        FZ_CHECK(used <= piece);
        off += used;
        r->consumed += used;
        o = rtmp_hs_take_output(&hs, &n);
        if (o != NULL) {
            FZ_CHECK(r->out_len == 0 && n == RTMP_HS_OUTPUT_SIZE);
            memcpy(r->out, o, n);
            r->out_len = n;
        }
        if (rc != RTMP_HS_OK) {
            FZ_CHECK(rtmp_hs_feed(&hs, data + off, size - off, &used) == RTMP_HS_ERR_FAILED);
            r->status = rc;
            break;
        }
        if (rtmp_hs_state(&hs) == RTMP_HS_STATE_DONE) {
            FZ_CHECK(rtmp_hs_feed(&hs, data + off, size - off, &used) == RTMP_HS_OK && used == 0);
            break;
        }
        FZ_CHECK(used == piece);
    }
    r->state = rtmp_hs_state(&hs);
    r->scheme = rtmp_hs_scheme(&hs);
}

static void fz_check_answer(const struct fz_result *r, const uint8_t *c1) {
    const uint8_t *s1 = r->out + 1, *s2 = s1 + RTMP_HS_PACKET_SIZE;
    uint8_t want[RTMP_HS_DIGEST_SIZE], key[RTMP_HS_DIGEST_SIZE];
    size_t pos;

    FZ_CHECK(r->out[0] == RTMP_HS_VERSION && hs_get_be32(s1) == 7);
    if (r->scheme == RTMP_HS_SCHEME_PLAIN) {
        FZ_CHECK(memcmp(s2, c1, RTMP_HS_PACKET_SIZE) == 0);
        return;
    }
    pos = digest_pos(s1, (int)r->scheme);
    FZ_CHECK(packet_digest(s1, pos, fms_key, FMS_KEY_PARTIAL, want) == RTMP_HS_OK);
    FZ_CHECK(memcmp(want, s1 + pos, RTMP_HS_DIGEST_SIZE) == 0);
    pos = digest_pos(c1, (int)r->scheme);
    FZ_CHECK(hmac_sha256(fms_key, sizeof fms_key, c1 + pos, RTMP_HS_DIGEST_SIZE, key) == 0);
    FZ_CHECK(hmac_sha256(key, sizeof key, s2, 1504, want) == 0);
    FZ_CHECK(memcmp(want, s2 + 1504, RTMP_HS_DIGEST_SIZE) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct fz_result *whole, *split;
    uint8_t *buf, flags, seed;

    if (size < 2) return 0;
    seed = data[0];
    flags = data[1];
    data += 2;
    size -= 2;
    buf = malloc(size ? size : 1);
    whole = malloc(sizeof *whole);
    split = malloc(sizeof *split);
    FZ_CHECK(buf && whole && split);
    memcpy(buf, data, size);
    if ((flags & 2) && size >= 1 + RTMP_HS_PACKET_SIZE) {
        /* give C1 a valid client digest so that the digest answer is exercised */
        uint8_t *c1 = buf + 1;
        size_t pos;
        int schema = (flags >> 2) & 1;
        if (hs_get_be32(c1 + 4) == 0) c1[4] = 9;
        pos = digest_pos(c1, schema);
        FZ_CHECK(packet_digest(c1, pos, fp_key, FP_KEY_PARTIAL, c1 + pos) == RTMP_HS_OK);
    }

    fz_run(buf, size, flags & 1, 0, whole);
    fz_run(buf, size, flags & 1, seed ? seed : 1, split);
    FZ_CHECK(whole->status == split->status && whole->state == split->state);
    FZ_CHECK(whole->consumed == split->consumed && whole->out_len == split->out_len);
    FZ_CHECK(memcmp(whole->out, split->out, whole->out_len) == 0);
    FZ_CHECK(whole->consumed <= 1 + 2 * RTMP_HS_PACKET_SIZE);
    if (whole->state == RTMP_HS_STATE_DONE) FZ_CHECK(whole->consumed == 1 + 2 * RTMP_HS_PACKET_SIZE);
    if (size > 0 && buf[0] != RTMP_HS_VERSION) FZ_CHECK(whole->status == RTMP_HS_ERR_VERSION && whole->consumed == 1);
    if (whole->out_len > 0) {
        FZ_CHECK(whole->consumed >= 1 + RTMP_HS_PACKET_SIZE);
        fz_check_answer(whole, buf + 1);
        if ((flags & 3) == 2) FZ_CHECK(whole->scheme != RTMP_HS_SCHEME_PLAIN);
        if (flags & 1) FZ_CHECK(whole->scheme == RTMP_HS_SCHEME_PLAIN);
    }
    free(buf);
    free(whole);
    free(split);
    return 0;
}
