/*
 * tests/unit/test_rtmp_handshake.c - RTMP server handshake: C0 version check, plain handshake
 * (S2 echoes C1), digest handshake (schema 0 and 1) checked with an independent client-side
 * implementation of the Flash scheme, FFmpeg's real C0+C1, any byte split, leftover bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/rtmp/handshake.c"

/* ---- an independent client side of the Flash handshake ---- */

static const uint8_t t_tail[32] = {0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0,
                                   0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80,
                                   0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE};
static const char t_fp_name[] = "Genuine Adobe Flash Player 001";
static const char t_fms_name[] = "Genuine Adobe Flash Media Server 001";

/* name (30 or 36 bytes) optionally followed by the 32-byte tail */
static size_t t_key(uint8_t *out, const char *name, bool full) {
    size_t n = strlen(name);
    memcpy(out, name, n);
    if (full) {
        memcpy(out + n, t_tail, 32);
        n += 32;
    }
    return n;
}

static void t_hmac(const uint8_t *key, size_t klen, const uint8_t *d, size_t len, uint8_t *out) {
    unsigned int olen = 0;
    assert_non_null(HMAC(EVP_sha256(), key, (int)klen, d, len, out, &olen));
    assert_int_equal(olen, 32);
}

static size_t t_digest_pos(const uint8_t *pkt, int schema) {
    size_t base = schema == 0 ? 772 : 8;
    return (pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3]) % 728 + base + 4;
}

/* HMAC over a 1536-byte packet without the 32 bytes at pos */
static void t_packet_hmac(const uint8_t *pkt, size_t pos, const uint8_t *key, size_t klen, uint8_t *out) {
    uint8_t tmp[1504];
    memcpy(tmp, pkt, pos);
    memcpy(tmp + pos, pkt + pos + 32, 1536 - pos - 32);
    t_hmac(key, klen, tmp, sizeof tmp, out);
}

/* Builds C0+C1 with a client digest at the given schema. */
static void t_make_digest_c0c1(uint8_t *c0c1, int schema, uint8_t seed) {
    uint8_t key[80], *c1 = c0c1 + 1;
    size_t klen = t_key(key, t_fp_name, false), pos;
    c0c1[0] = 3;
    for (size_t i = 0; i < 1536; i++)
        c1[i] = (uint8_t)(i * 7 + seed);
    memset(c1, 0, 4);
    c1[4] = 9, c1[5] = 0, c1[6] = 124, c1[7] = 2;
    pos = t_digest_pos(c1, schema);
    t_packet_hmac(c1, pos, key, klen, c1 + pos);
}

/* What a Flash-style client checks in S1 / S2; returns the S1 digest position. */
static size_t t_verify_server(const uint8_t *s0s1s2, const uint8_t *c1, int schema) {
    const uint8_t *s1 = s0s1s2 + 1, *s2 = s1 + 1536;
    uint8_t key[80], want[32], s2_key[32];
    size_t klen = t_key(key, t_fms_name, false);
    size_t pos = t_digest_pos(s1, schema), cpos = t_digest_pos(c1, schema);

    assert_int_equal(s0s1s2[0], 3);
    assert_true(s1[4] >= 3); /* clients only verify S1 when its version is >= 3 */
    t_packet_hmac(s1, pos, key, klen, want);
    assert_memory_equal(want, s1 + pos, 32);

    klen = t_key(key, t_fms_name, true);
    t_hmac(key, klen, c1 + cpos, 32, s2_key);
    t_hmac(s2_key, 32, s2, 1504, want);
    assert_memory_equal(want, s2 + 1504, 32);
    return pos;
}

/* C2 as a Flash-style player signs it. */
static void t_make_signed_c2(uint8_t *c2, const uint8_t *s1, size_t s1_pos) {
    uint8_t key[80], c2_key[32];
    size_t klen = t_key(key, t_fp_name, true);
    for (size_t i = 0; i < 1536; i++)
        c2[i] = (uint8_t)(i * 13);
    t_hmac(key, klen, s1 + s1_pos, 32, c2_key);
    t_hmac(c2_key, 32, c2, 1504, c2 + 1504);
}

/* ---- helpers ---- */

static int counter_random(void *ctx, uint8_t *buf, size_t len) {
    uint8_t *ctr = ctx;
    for (size_t i = 0; i < len; i++)
        buf[i] = (*ctr)++;
    return 0;
}

static int failing_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx, (void)buf, (void)len;
    return -1;
}

struct fixture {
    uint8_t ctr;
    struct rtmp_handshake hs;
};

static void setup_hs(struct fixture *f, bool plain_only) {
    struct rtmp_hs_config cfg = {
        .random = counter_random,
        .random_ctx = &f->ctr,
        .epoch = 0x01020304,
        .plain_only = plain_only,
    };
    f->ctr = 0;
    assert_int_equal(rtmp_hs_init(&f->hs, &cfg), RTMP_HS_OK);
}

static void feed_all(struct rtmp_handshake *hs, const uint8_t *p, size_t len) {
    size_t used = 0;
    assert_int_equal(rtmp_hs_feed(hs, p, len, &used), RTMP_HS_OK);
    assert_int_equal(used, len);
}

static const uint8_t *take(struct rtmp_handshake *hs) {
    size_t len = 0;
    const uint8_t *p = rtmp_hs_take_output(hs, &len);
    assert_non_null(p);
    assert_int_equal(len, RTMP_HS_OUTPUT_SIZE);
    return p;
}

/* Reads tests/fixtures/rtmp/<name>: $STREAMHUB_FIXTURES, $SH_ROOT (tools/test.sh), the current
 * directory, then relative to this source file. */
static uint8_t *load_fixture(const char *name, size_t *len) {
    char dirs[4][512], path[2600]; /* room for any dir and name: no truncation */
    const char *root = getenv("SH_ROOT"), *fix = getenv("STREAMHUB_FIXTURES"), *slash = strrchr(__FILE__, '/');
    snprintf(dirs[0], sizeof dirs[0], "%s", fix ? fix : "");
    snprintf(dirs[1], sizeof dirs[1], "%s/tests/fixtures/rtmp", root ? root : "");
    snprintf(dirs[2], sizeof dirs[2], "tests/fixtures/rtmp");
    snprintf(dirs[3], sizeof dirs[3], "%.*s../fixtures/rtmp", slash ? (int)(slash - __FILE__ + 1) : 0, __FILE__);
    for (int i = 0; i < 4; i++) {
        FILE *fp;
        long n = 0;
        snprintf(path, sizeof path, "%s/%s", dirs[i], name);
        if (dirs[i][0] == '\0' || (fp = fopen(path, "rb")) == NULL) continue;
        if (fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0) fail();
        uint8_t *buf = malloc((size_t)n);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
        fclose(fp);
        *len = (size_t)n;
        return buf;
    }
    fail_msg("fixture %s not found (run from the repository root or set STREAMHUB_FIXTURES)", name);
    return NULL;
}

/* ---- tests ---- */

static void test_hs_rejects_c0_version_other_than_3(void **state) {
    struct fixture f;
    uint8_t bad[] = {6, 0, 0, 0}; /* 6 = RTMPE */
    size_t used = 99;
    (void)state;
    setup_hs(&f, false);
    assert_int_equal(rtmp_hs_feed(&f.hs, bad, sizeof bad, &used), RTMP_HS_ERR_VERSION);
    assert_int_equal(used, 1); /* decided on the first byte, C1 never buffered */
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_FAILED);
    assert_null(rtmp_hs_take_output(&f.hs, NULL));
    assert_int_equal(rtmp_hs_feed(&f.hs, bad, 1, &used), RTMP_HS_ERR_FAILED);
    assert_string_equal(rtmp_hs_strerror(RTMP_HS_ERR_VERSION), "unsupported RTMP version in C0 (want 3)");
}

static void test_hs_rejects_c0_version_0(void **state) {
    struct fixture f;
    uint8_t bad = 0;
    size_t used;
    (void)state;
    setup_hs(&f, false);
    assert_int_equal(rtmp_hs_feed(&f.hs, &bad, 1, &used), RTMP_HS_ERR_VERSION);
}

static void test_hs_init_requires_random_source(void **state) {
    struct rtmp_handshake hs;
    struct rtmp_hs_config cfg = {0};
    size_t used;
    (void)state;
    assert_int_equal(rtmp_hs_init(&hs, &cfg), RTMP_HS_ERR_ARG);
    assert_int_equal(rtmp_hs_init(NULL, &cfg), RTMP_HS_ERR_ARG);
    assert_int_equal(rtmp_hs_init(&hs, NULL), RTMP_HS_ERR_ARG);
    assert_int_equal(rtmp_hs_feed(NULL, NULL, 0, &used), RTMP_HS_ERR_ARG);
}

static void test_hs_plain_s2_echoes_c1_and_completes(void **state) {
    struct fixture f;
    uint8_t c0c1[1537], c2[1536];
    const uint8_t *out;
    (void)state;
    setup_hs(&f, false);
    c0c1[0] = 3;
    for (int i = 1; i < 1537; i++)
        c0c1[i] = (uint8_t)(i * 31);
    memset(c0c1 + 5, 0, 4); /* version 0: the plain handshake (OBS / librtmp) */
    feed_all(&f.hs, c0c1, sizeof c0c1);
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_WAIT_C2);
    assert_int_equal(rtmp_hs_scheme(&f.hs), RTMP_HS_SCHEME_PLAIN);
    out = take(&f.hs);
    assert_int_equal(out[0], 3);
    assert_int_equal(hs_get_be32(out + 1), 0x01020304); /* our epoch */
    assert_int_equal(hs_get_be32(out + 5), 0);          /* zero field */
    for (int i = 9; i < 1537; i++)
        assert_int_equal(out[i], (uint8_t)(i - 9));  /* random source, in order */
    assert_memory_equal(out + 1537, c0c1 + 1, 1536); /* S2 == C1 */
    assert_null(rtmp_hs_take_output(&f.hs, NULL));   /* taken once */

    memcpy(c2, out + 1, 1536);
    feed_all(&f.hs, c2, sizeof c2);
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_DONE);
    assert_true(rtmp_hs_c2_verified(&f.hs));
}

static void test_hs_plain_when_c1_version_set_but_no_digest(void **state) {
    struct fixture f;
    uint8_t c0c1[1537];
    uint32_t epoch, version;
    (void)state;
    setup_hs(&f, false);
    c0c1[0] = 3;
    for (int i = 1; i < 1537; i++)
        c0c1[i] = (uint8_t)(i ^ 0x5A);
    feed_all(&f.hs, c0c1, sizeof c0c1);
    assert_int_equal(rtmp_hs_scheme(&f.hs), RTMP_HS_SCHEME_PLAIN);
    assert_memory_equal(take(&f.hs) + 1537, c0c1 + 1, 1536);
    rtmp_hs_peer_info(&f.hs, &epoch, &version);
    assert_int_equal(epoch, hs_get_be32(c0c1 + 1));
    assert_int_equal(version, hs_get_be32(c0c1 + 5));
}

static void run_digest(int schema) {
    struct fixture f;
    uint8_t c0c1[1537], c2[1536];
    const uint8_t *out;
    size_t s1_pos;

    setup_hs(&f, false);
    t_make_digest_c0c1(c0c1, schema, (uint8_t)(schema + 1));
    feed_all(&f.hs, c0c1, sizeof c0c1);
    assert_int_equal(rtmp_hs_scheme(&f.hs), schema);
    out = take(&f.hs);
    s1_pos = t_verify_server(out, c0c1 + 1, schema);
    assert_int_equal(hs_get_be32(out + 1), 0x01020304);
    t_make_signed_c2(c2, out + 1, s1_pos);
    feed_all(&f.hs, c2, sizeof c2);
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_DONE);
    assert_true(rtmp_hs_c2_verified(&f.hs));
}

static void test_hs_digest_schema0_answered_with_server_digest(void **state) {
    (void)state;
    run_digest(0);
}

static void test_hs_digest_schema1_answered_with_server_digest(void **state) {
    (void)state;
    run_digest(1);
}

static void test_hs_digest_c2_echo_of_s1_is_accepted(void **state) {
    /* FFmpeg, when publishing, echoes S1 as C2 even after a digest handshake. */
    struct fixture f;
    uint8_t c0c1[1537];
    const uint8_t *out;
    (void)state;
    setup_hs(&f, false);
    t_make_digest_c0c1(c0c1, 1, 9);
    feed_all(&f.hs, c0c1, sizeof c0c1);
    out = take(&f.hs);
    feed_all(&f.hs, out + 1, 1536);
    assert_true(rtmp_hs_c2_verified(&f.hs));
}

static void test_hs_garbage_c2_still_completes_unverified(void **state) {
    struct fixture f;
    uint8_t c0c1[1537], c2[1536];
    (void)state;
    setup_hs(&f, false);
    t_make_digest_c0c1(c0c1, 0, 3);
    feed_all(&f.hs, c0c1, sizeof c0c1);
    (void)take(&f.hs);
    memset(c2, 0xEE, sizeof c2);
    feed_all(&f.hs, c2, sizeof c2);
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_DONE);
    assert_false(rtmp_hs_c2_verified(&f.hs));
}

static void test_hs_wrong_digest_key_falls_back_to_plain(void **state) {
    struct fixture f;
    uint8_t c0c1[1537];
    (void)state;
    setup_hs(&f, false);
    t_make_digest_c0c1(c0c1, 1, 4);
    c0c1[1 + t_digest_pos(c0c1 + 1, 1)] ^= 0x01; /* break the digest */
    feed_all(&f.hs, c0c1, sizeof c0c1);
    assert_int_equal(rtmp_hs_scheme(&f.hs), RTMP_HS_SCHEME_PLAIN);
    assert_memory_equal(take(&f.hs) + 1537, c0c1 + 1, 1536);
}

static void test_hs_plain_only_config_ignores_digest(void **state) {
    struct fixture f;
    uint8_t c0c1[1537];
    (void)state;
    setup_hs(&f, true);
    t_make_digest_c0c1(c0c1, 0, 5);
    feed_all(&f.hs, c0c1, sizeof c0c1);
    assert_int_equal(rtmp_hs_scheme(&f.hs), RTMP_HS_SCHEME_PLAIN);
}

static void test_hs_ffmpeg_c0c1_is_digest_schema1(void **state) {
    /* Captured from FFmpeg 5.1's native RTMP client (tests/fixtures/rtmp/ffmpeg_c0c1.bin). */
    struct fixture f;
    size_t len = 0;
    uint8_t *c0c1 = load_fixture("ffmpeg_c0c1.bin", &len);
    const uint8_t *out;
    uint32_t version;
    (void)state;
    assert_int_equal(len, 1537);
    setup_hs(&f, false);
    feed_all(&f.hs, c0c1, len);
    assert_int_equal(rtmp_hs_scheme(&f.hs), RTMP_HS_SCHEME_DIGEST1);
    rtmp_hs_peer_info(&f.hs, NULL, &version);
    assert_int_equal(version, 0x09007c02); /* 9.0.124.2 */
    out = take(&f.hs);
    (void)t_verify_server(out, c0c1 + 1, 1);
    free(c0c1);
}

static void test_hs_byte_at_a_time_gives_same_output(void **state) {
    struct fixture a, b;
    uint8_t c0c1[1537];
    size_t used;
    const uint8_t *oa, *ob = NULL;
    (void)state;
    setup_hs(&a, false);
    setup_hs(&b, false);
    t_make_digest_c0c1(c0c1, 0, 7);
    feed_all(&a.hs, c0c1, sizeof c0c1);
    oa = take(&a.hs);
    for (size_t i = 0; i < sizeof c0c1; i++) {
        assert_int_equal(rtmp_hs_feed(&b.hs, c0c1 + i, 1, &used), RTMP_HS_OK);
        assert_int_equal(used, 1);
        if (i + 1 < sizeof c0c1)
            assert_null(rtmp_hs_take_output(&b.hs, NULL));
        else
            ob = take(&b.hs);
    }
    assert_memory_equal(oa, ob, RTMP_HS_OUTPUT_SIZE);
    for (size_t i = 0; i < 1536; i++) {
        assert_int_equal(rtmp_hs_state(&b.hs), RTMP_HS_STATE_WAIT_C2);
        assert_int_equal(rtmp_hs_feed(&b.hs, ob + 1 + i, 1, &used), RTMP_HS_OK);
    }
    assert_int_equal(rtmp_hs_state(&b.hs), RTMP_HS_STATE_DONE);
}

static void test_hs_stops_at_end_of_c2_leaving_chunk_bytes(void **state) {
    struct fixture f;
    uint8_t buf[1537 + 1536 + 10];
    size_t used = 0;
    const uint8_t *out;
    (void)state;
    setup_hs(&f, false);
    memset(buf, 0, sizeof buf);
    buf[0] = 3;
    assert_int_equal(rtmp_hs_feed(&f.hs, buf, 1537 + 100, &used), RTMP_HS_OK);
    assert_int_equal(used, 1537 + 100); /* C1 complete, 100 bytes of C2 */
    out = take(&f.hs);
    memcpy(buf, out + 1, 1536);
    memset(buf + 1536, 0xAB, 10); /* first chunk-stream bytes, same read */
    assert_int_equal(rtmp_hs_feed(&f.hs, buf + 100, 1436 + 10, &used), RTMP_HS_OK);
    assert_int_equal(used, 1436);
    assert_int_equal(rtmp_hs_state(&f.hs), RTMP_HS_STATE_DONE);
    assert_int_equal(rtmp_hs_feed(&f.hs, buf, 10, &used), RTMP_HS_OK);
    assert_int_equal(used, 0); /* DONE consumes nothing */
}

static void test_hs_random_failure_is_an_error(void **state) {
    struct rtmp_handshake hs;
    struct rtmp_hs_config cfg = {.random = failing_random};
    uint8_t c0c1[1537] = {3};
    size_t used;
    (void)state;
    assert_int_equal(rtmp_hs_init(&hs, &cfg), RTMP_HS_OK);
    assert_int_equal(rtmp_hs_feed(&hs, c0c1, sizeof c0c1, &used), RTMP_HS_ERR_RANDOM);
    assert_int_equal(rtmp_hs_state(&hs), RTMP_HS_STATE_FAILED);
    assert_null(rtmp_hs_take_output(&hs, NULL));
}

static void test_hs_same_random_gives_same_answer(void **state) {
    struct fixture a, b;
    uint8_t c0c1[1537];
    (void)state;
    t_make_digest_c0c1(c0c1, 1, 2);
    setup_hs(&a, false);
    setup_hs(&b, false);
    feed_all(&a.hs, c0c1, sizeof c0c1);
    feed_all(&b.hs, c0c1, sizeof c0c1);
    assert_memory_equal(take(&a.hs), take(&b.hs), RTMP_HS_OUTPUT_SIZE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hs_rejects_c0_version_other_than_3),
        cmocka_unit_test(test_hs_rejects_c0_version_0),
        cmocka_unit_test(test_hs_init_requires_random_source),
        cmocka_unit_test(test_hs_plain_s2_echoes_c1_and_completes),
        cmocka_unit_test(test_hs_plain_when_c1_version_set_but_no_digest),
        cmocka_unit_test(test_hs_digest_schema0_answered_with_server_digest),
        cmocka_unit_test(test_hs_digest_schema1_answered_with_server_digest),
        cmocka_unit_test(test_hs_digest_c2_echo_of_s1_is_accepted),
        cmocka_unit_test(test_hs_garbage_c2_still_completes_unverified),
        cmocka_unit_test(test_hs_wrong_digest_key_falls_back_to_plain),
        cmocka_unit_test(test_hs_plain_only_config_ignores_digest),
        cmocka_unit_test(test_hs_ffmpeg_c0c1_is_digest_schema1),
        cmocka_unit_test(test_hs_byte_at_a_time_gives_same_output),
        cmocka_unit_test(test_hs_stops_at_end_of_c2_leaving_chunk_bytes),
        cmocka_unit_test(test_hs_random_failure_is_an_error),
        cmocka_unit_test(test_hs_same_random_gives_same_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
