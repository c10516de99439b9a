/*
 * tests/unit/test_rtmp_chunk.c - RTMP chunk stream de-framer, encoder and control payloads.
 * Chunks are written by hand here (independently of the encoder) to reach every header type,
 * csid form, extended-timestamp case and error; every decode runs whole, byte at a time and in
 * odd splits. A real FFmpeg publish session (tests/fixtures/rtmp/ffmpeg_publish.bin) checks the
 * whole path, including a type-3 continuation carrying an extended timestamp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/rtmp/chunk.c"
#include "plugins/rtmp/flv.c"

/* ---- hand-written chunks ---- */

struct wbuf {
    uint8_t *b;
    size_t n, cap;
};

static void w_bytes(struct wbuf *w, const void *p, size_t n) {
    if (w->n + n > w->cap) {
        w->cap = (w->n + n) * 2 + 64;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void w8(struct wbuf *w, uint32_t v) {
    uint8_t b = (uint8_t)v;
    w_bytes(w, &b, 1);
}

static void w_be(struct wbuf *w, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; i--)
        w8(w, v >> (8 * i));
}

static void w_basic(struct wbuf *w, int fmt, uint32_t csid) {
    if (csid < 64) {
        w8(w, (uint32_t)(fmt << 6) | csid);
    } else if (csid < 320) {
        w8(w, (uint32_t)(fmt << 6));
        w8(w, csid - 64);
    } else {
        w8(w, (uint32_t)(fmt << 6) | 1);
        w8(w, (csid - 64) & 0xFF);
        w8(w, (csid - 64) >> 8);
    }
}

/* type 0; ts >= 0xFFFFFF goes to the extended field */
static void w_t0(struct wbuf *w, uint32_t csid, uint32_t ts, uint32_t len, uint8_t type, uint32_t sid) {
    w_basic(w, 0, csid);
    w_be(w, ts >= 0xFFFFFF ? 0xFFFFFF : ts, 3);
    w_be(w, len, 3);
    w8(w, type);
    for (int i = 0; i < 4; i++)
        w8(w, sid >> (8 * i)); /* little-endian */
    if (ts >= 0xFFFFFF) w_be(w, ts, 4);
}

/* type 1 (len/type given) or type 2 (len == UINT32_MAX): a delta, extended when >= 0xFFFFFF */
static void w_t12(struct wbuf *w, uint32_t csid, uint32_t delta, uint32_t len, uint8_t type) {
    w_basic(w, len == UINT32_MAX ? 2 : 1, csid);
    w_be(w, delta >= 0xFFFFFF ? 0xFFFFFF : delta, 3);
    if (len != UINT32_MAX) w_be(w, len, 3), w8(w, type);
    if (delta >= 0xFFFFFF) w_be(w, delta, 4);
}
#define w_t1(w, csid, delta, len, type) w_t12(w, csid, delta, len, type)
#define w_t2(w, csid, delta)            w_t12(w, csid, delta, UINT32_MAX, 0)

/* type 3; ext != 0 appends an extended timestamp */
static void w_t3(struct wbuf *w, uint32_t csid, uint32_t ext) {
    w_basic(w, 3, csid);
    if (ext) w_be(w, ext, 4);
}

static void w_pattern(struct wbuf *w, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        w8(w, (uint32_t)(i * 3 + seed));
}

static bool is_pattern(const uint8_t *p, size_t n, uint8_t seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(i * 3 + seed)) return false;
    return true;
}

/* ---- decoding driver ---- */

struct got {
    struct rtmp_message m;
    uint8_t *copy;
};

struct run {
    struct got msgs[64];
    int n;
    int rc; /* last status: NEED_MORE or an error */
};

static void run_free(struct run *r) {
    for (int i = 0; i < r->n; i++)
        free(r->msgs[i].copy);
    memset(r, 0, sizeof *r);
}

/* Feeds p in slices of `step` bytes (0 = all at once); collects messages until an error. */
static int feed(struct rtmp_chunk_decoder *d, const uint8_t *p, size_t len, size_t step, struct run *r) {
    size_t off = 0;
    r->rc = RTMP_CHUNK_NEED_MORE;
    while (off < len) {
        size_t slice = step == 0 || len - off < step ? len - off : step, done = 0;
        while (done < slice) {
            struct rtmp_message m;
            size_t used = 0;
            int rc = rtmp_chunk_decode(d, p + off + done, slice - done, &used, &m);
            done += used;
            if (rc < 0) {
                r->rc = rc;
                return rc;
            }
            if (rc == RTMP_CHUNK_MESSAGE) {
                assert_true(r->n < 64);
                r->msgs[r->n].m = m;
                r->msgs[r->n].copy = m.len ? malloc(m.len) : NULL;
                if (m.len) memcpy(r->msgs[r->n].copy, m.payload, m.len);
                r->n++;
            } else {
                assert_int_equal(used, slice - (done - used));
            }
        }
        off += slice;
    }
    return r->rc;
}

static const size_t steps[] = {0, 1, 2, 3, 7, 128, 129, 1000};

/* Decodes with every split in `steps`, checks all agree, returns the whole-buffer run. */
static void feed_all_splits(const struct rtmp_chunk_limits *lim, const uint8_t *p, size_t len, struct run *out) {
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        struct run r = {0};
        struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(lim);
        assert_non_null(d);
        feed(d, p, len, steps[s], &r);
        if (s == 0) {
            *out = r;
        } else {
            assert_int_equal(r.rc, out->rc);
            assert_int_equal(r.n, out->n);
            for (int i = 0; i < r.n; i++) {
                assert_int_equal(r.msgs[i].m.csid, out->msgs[i].m.csid);
                assert_int_equal(r.msgs[i].m.timestamp, out->msgs[i].m.timestamp);
                assert_int_equal(r.msgs[i].m.len, out->msgs[i].m.len);
                if (r.msgs[i].m.len) assert_memory_equal(r.msgs[i].copy, out->msgs[i].copy, r.msgs[i].m.len);
            }
            run_free(&r);
        }
        rtmp_chunk_decoder_free(d);
    }
}

static void expect_msg(const struct got *g, uint32_t csid, uint8_t type, uint32_t sid, uint32_t ts, uint32_t len) {
    assert_int_equal(g->m.csid, csid);
    assert_int_equal(g->m.type_id, type);
    assert_int_equal(g->m.stream_id, sid);
    assert_int_equal(g->m.timestamp, ts);
    assert_int_equal(g->m.len, len);
}

static void expect_run(const struct run *r, int rc, int n) {
    assert_int_equal(r->rc, rc);
    assert_int_equal(r->n, n);
}

static void done(struct run *r, struct wbuf *w) {
    run_free(r);
    free(w->b);
    memset(w, 0, sizeof *w);
}

/* ---- tests: basic framing ---- */

static void test_chunk_single_type0_message(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 3, 1000, 20, RTMP_MSG_COMMAND_AMF0, 0x01020304);
    w_pattern(&w, 20, 1);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 1);
    expect_msg(&r.msgs[0], 3, 20, 0x01020304, 1000, 20);
    assert_true(is_pattern(r.msgs[0].copy, 20, 1));
    done(&r, &w);
}

static void test_chunk_message_continues_in_type3_chunks(void **state) {
    struct wbuf w = {0}, body = {0};
    struct run r;
    (void)state;
    w_pattern(&body, 300, 5);
    w_t0(&w, 4, 0, 300, RTMP_MSG_VIDEO, 1);
    w_bytes(&w, body.b, 128);
    w_t3(&w, 4, 0);
    w_bytes(&w, body.b + 128, 128);
    w_t3(&w, 4, 0);
    w_bytes(&w, body.b + 256, 44);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 1);
    expect_msg(&r.msgs[0], 4, 9, 1, 0, 300);
    assert_true(is_pattern(r.msgs[0].copy, 300, 5));
    done(&r, &w);
    free(body.b);
}

static void test_chunk_two_and_three_byte_csids(void **state) {
    static const uint32_t ids[] = {2, 63, 64, 65, 319, 320, 321, 1000, 65599};
    struct wbuf w = {0};
    struct run r;
    (void)state;
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        w_t0(&w, ids[i], (uint32_t)i, 200, RTMP_MSG_AUDIO, 1);
        w_pattern(&w, 128, (uint8_t)i);
        w_t3(&w, ids[i], 0); /* continuation uses the same 1/2/3-byte form */
        for (size_t k = 128; k < 200; k++)
            w8(&w, (uint32_t)(k * 3 + i));
    }
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 9);
    for (int i = 0; i < 9; i++) {
        expect_msg(&r.msgs[i], ids[i], 8, 1, (uint32_t)i, 200);
        assert_true(is_pattern(r.msgs[i].copy, 200, (uint8_t)i));
    }
    done(&r, &w);
}

static void test_chunk_type1_type2_type3_timestamp_deltas(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 6, 1000, 4, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 4, 0);
    w_t1(&w, 6, 40, 6, RTMP_MSG_AUDIO); /* new length and type */
    w_pattern(&w, 6, 1);
    w_t2(&w, 6, 33); /* same length/type, new delta */
    w_pattern(&w, 6, 2);
    w_t3(&w, 6, 0); /* new message: everything repeated, delta 33 again */
    w_pattern(&w, 6, 3);
    w_t3(&w, 6, 0);
    w_pattern(&w, 6, 4);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 5);
    expect_msg(&r.msgs[0], 6, 9, 1, 1000, 4);
    expect_msg(&r.msgs[1], 6, 8, 1, 1040, 6);
    expect_msg(&r.msgs[2], 6, 8, 1, 1073, 6);
    expect_msg(&r.msgs[3], 6, 8, 1, 1106, 6);
    expect_msg(&r.msgs[4], 6, 8, 1, 1139, 6);
    assert_true(is_pattern(r.msgs[4].copy, 6, 4));
    done(&r, &w);
}

static void test_chunk_type3_after_type0_reuses_timestamp_field(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 5, 20, 2, RTMP_MSG_AUDIO, 1);
    w_pattern(&w, 2, 0);
    w_t3(&w, 5, 0); /* as FFmpeg/SRS read it: the type-0 field becomes the delta */
    w_pattern(&w, 2, 0);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 2);
    assert_int_equal(r.msgs[1].m.timestamp, 40);
    done(&r, &w);
}

static void test_chunk_zero_length_message(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 3, 7, 0, RTMP_MSG_AUDIO, 1);
    w_t0(&w, 3, 8, 1, RTMP_MSG_AUDIO, 1);
    w8(&w, 0xAA);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 2);
    expect_msg(&r.msgs[0], 3, 8, 1, 7, 0);
    assert_null(r.msgs[0].m.payload);
    expect_msg(&r.msgs[1], 3, 8, 1, 8, 1);
    done(&r, &w);
}

/* ---- extended timestamps and wrap ---- */

static void test_chunk_extended_timestamp_type0_and_type3_continuation(void **state) {
    struct wbuf w = {0};
    struct run r;
    const uint32_t ts = 0x12345678;
    (void)state;
    w_t0(&w, 6, ts, 300, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 128, 9);
    w_t3(&w, 6, ts); /* FFmpeg and OBS repeat the extended timestamp here */
    for (size_t k = 128; k < 256; k++)
        w8(&w, (uint32_t)(k * 3 + 9));
    w_t3(&w, 6, ts);
    for (size_t k = 256; k < 300; k++)
        w8(&w, (uint32_t)(k * 3 + 9));
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 1);
    expect_msg(&r.msgs[0], 6, 9, 1, ts, 300);
    assert_true(is_pattern(r.msgs[0].copy, 300, 9));
    run_free(&r);
    w.n = 0;
    w_t0(&w, 6, 0xFFFFFF, 1, RTMP_MSG_VIDEO, 1); /* exactly 0xFFFFFF is already extended */
    w8(&w, 1);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 1);
    assert_int_equal(r.msgs[0].m.timestamp, 0xFFFFFF);
    done(&r, &w);
}

static void test_chunk_extended_delta_on_type1_and_type3_new_message(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 7, 100, 1, RTMP_MSG_AUDIO, 1);
    w8(&w, 1);
    w_t1(&w, 7, 0x01000000, 1, RTMP_MSG_AUDIO); /* delta needs the extended field */
    w8(&w, 2);
    w_t3(&w, 7, 0x01000000); /* new message, extended delta repeated */
    w8(&w, 3);
    w_t2(&w, 7, 5); /* back to a small delta: no extended field any more */
    w8(&w, 4);
    w_t3(&w, 7, 0);
    w8(&w, 5);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 5);
    assert_int_equal(r.msgs[1].m.timestamp, 100 + 0x01000000);
    assert_int_equal(r.msgs[2].m.timestamp, 100 + 0x02000000);
    assert_int_equal(r.msgs[3].m.timestamp, 105 + 0x02000000);
    assert_int_equal(r.msgs[4].m.timestamp, 110 + 0x02000000);
    assert_int_equal(r.msgs[4].copy[0], 5);
    done(&r, &w);
}

static void test_chunk_timestamp_wraps_at_2_pow_32(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 4, 0xFFFFFFF0u, 1, RTMP_MSG_AUDIO, 1);
    w8(&w, 0);
    w_t2(&w, 4, 0x20);
    w8(&w, 1);
    w_t3(&w, 4, 0);
    w8(&w, 2);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 3);
    assert_int_equal(r.msgs[0].m.timestamp, 0xFFFFFFF0u);
    assert_int_equal(r.msgs[1].m.timestamp, 0x10); /* modulo 2^32 */
    assert_int_equal(r.msgs[2].m.timestamp, 0x30);
    done(&r, &w);
}

/* ---- interleaving, chunk size, abort ---- */

static void test_chunk_interleaved_chunk_streams(void **state) {
    struct wbuf w = {0}, a = {0}, v = {0};
    struct run r;
    (void)state;
    w_pattern(&v, 300, 1);
    w_pattern(&a, 200, 2);
    w_t0(&w, 6, 40, 300, RTMP_MSG_VIDEO, 1);
    w_bytes(&w, v.b, 128);
    w_t0(&w, 4, 41, 200, RTMP_MSG_AUDIO, 1);
    w_bytes(&w, a.b, 128);
    w_t3(&w, 6, 0);
    w_bytes(&w, v.b + 128, 128);
    w_t3(&w, 4, 0);
    w_bytes(&w, a.b + 128, 72); /* audio completes first */
    w_t3(&w, 6, 0);
    w_bytes(&w, v.b + 256, 44);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 2);
    expect_msg(&r.msgs[0], 4, 8, 1, 41, 200);
    expect_msg(&r.msgs[1], 6, 9, 1, 40, 300);
    assert_true(is_pattern(r.msgs[0].copy, 200, 2));
    assert_true(is_pattern(r.msgs[1].copy, 300, 1));
    run_free(&r);
    free(w.b), free(a.b), free(v.b);
}

static void add_set_chunk_size(struct wbuf *w, uint32_t size) {
    w_t0(w, 2, 0, 4, RTMP_MSG_SET_CHUNK_SIZE, 0);
    w_be(w, size, 4);
}

static void test_chunk_set_chunk_size_is_applied(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    add_set_chunk_size(&w, 4096);
    w_t0(&w, 6, 0, 5000, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 4096, 3);
    w_t3(&w, 6, 0);
    for (size_t k = 4096; k < 5000; k++)
        w8(&w, (uint32_t)(k * 3 + 3));
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 2);
    expect_msg(&r.msgs[0], 2, 1, 0, 0, 4); /* still returned to the caller */
    assert_true(is_pattern(r.msgs[1].copy, 5000, 3));
    done(&r, &w);
}

static void test_chunk_set_chunk_size_largest_is_accepted(void **state) {
    struct wbuf w = {0};
    struct run r = {0};
    struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(NULL);
    (void)state;
    add_set_chunk_size(&w, 0xFFFFFF);
    assert_int_equal(feed(d, w.b, w.n, 0, &r), RTMP_CHUNK_NEED_MORE);
    assert_int_equal(rtmp_chunk_decoder_chunk_size(d), 0xFFFFFF);
    run_free(&r);
    rtmp_chunk_decoder_free(d);
    free(w.b);
}

static void expect_chunk_size_rejected(uint32_t size, uint32_t len, int want) {
    struct wbuf w = {0};
    struct run r;
    w_t0(&w, 2, 0, len, RTMP_MSG_SET_CHUNK_SIZE, 0);
    w_be(&w, size, (int)len);
    feed_all_splits(NULL, w.b, w.n, &r);
    assert_int_equal(r.rc, want);
    done(&r, &w);
}

static void test_chunk_rejects_bad_set_chunk_size(void **state) {
    (void)state;
    expect_chunk_size_rejected(0, 4, RTMP_CHUNK_ERR_CHUNK_SIZE);
    expect_chunk_size_rejected(0x1000000, 4, RTMP_CHUNK_ERR_CHUNK_SIZE);
    expect_chunk_size_rejected(0x80000080u, 4, RTMP_CHUNK_ERR_CHUNK_SIZE); /* MSB set */
    expect_chunk_size_rejected(0x7FFFFFFFu, 4, RTMP_CHUNK_ERR_CHUNK_SIZE);
    expect_chunk_size_rejected(4096, 3, RTMP_CHUNK_ERR_PROTOCOL); /* short body */
}

static void test_chunk_abort_discards_partial_message(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 6, 0, 300, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 128, 0);
    w_t0(&w, 2, 0, 4, RTMP_MSG_ABORT, 0);
    w_be(&w, 6, 4);
    w_t0(&w, 6, 50, 3, RTMP_MSG_VIDEO, 1); /* a type 0 is legal again after the abort */
    w_pattern(&w, 3, 7);
    feed_all_splits(NULL, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 2);
    expect_msg(&r.msgs[0], 2, RTMP_MSG_ABORT, 0, 0, 4);
    expect_msg(&r.msgs[1], 6, 9, 1, 50, 3);
    assert_true(is_pattern(r.msgs[1].copy, 3, 7));
    done(&r, &w);
}

/* ---- limits and errors ---- */

static void test_chunk_rejects_message_over_limit_without_allocating(void **state) {
    struct wbuf w = {0};
    struct run r = {0};
    struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(NULL);
    (void)state;
    w_t0(&w, 6, 0, (8u << 20) + 1, RTMP_MSG_VIDEO, 1);
    assert_int_equal(feed(d, w.b, w.n, 0, &r), RTMP_CHUNK_ERR_TOO_LONG);
    assert_int_equal(d->buffered, 0);
    run_free(&r);
    rtmp_chunk_decoder_free(d);
    free(w.b);
}

static void test_chunk_buffer_grows_with_bytes_not_declared_length(void **state) {
    struct wbuf w = {0};
    struct run r = {0};
    struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(NULL);
    (void)state;
    w_t0(&w, 6, 0, 8u << 20, RTMP_MSG_VIDEO, 1); /* declares 8 MiB */
    assert_int_equal(feed(d, w.b, w.n, 0, &r), RTMP_CHUNK_NEED_MORE);
    assert_int_equal(d->buffered, 0);
    w.n = 0;
    w_pattern(&w, 100, 0);
    assert_int_equal(feed(d, w.b, w.n, 0, &r), RTMP_CHUNK_NEED_MORE);
    assert_true(d->buffered <= 128);
    run_free(&r);
    rtmp_chunk_decoder_free(d);
    free(w.b);
}

static void test_chunk_rejects_total_buffer_over_limit(void **state) {
    struct rtmp_chunk_limits lim = {.max_message_len = 4096, .max_chunk_streams = 8, .max_buffered = 1000};
    struct wbuf w = {0};
    struct run r;
    (void)state;
    for (uint32_t cs = 3; cs < 8; cs++) { /* five partial messages of 4096 bytes */
        w_t0(&w, cs, 0, 4096, RTMP_MSG_VIDEO, 1);
        w_pattern(&w, 128, 0);
    }
    for (uint32_t cs = 3; cs < 8; cs++) {
        w_t3(&w, cs, 0);
        w_pattern(&w, 128, 0);
    }
    feed_all_splits(&lim, w.b, w.n, &r);
    assert_int_equal(r.rc, RTMP_CHUNK_ERR_MEMORY_LIMIT);
    done(&r, &w);
}

static void test_chunk_rejects_unknown_chunk_stream_for_types_1_2_3(void **state) {
    (void)state;
    for (int fmt = 1; fmt <= 3; fmt++) {
        struct wbuf w = {0};
        struct run r;
        if (fmt == 1)
            w_t1(&w, 9, 0, 1, RTMP_MSG_AUDIO);
        else if (fmt == 2)
            w_t2(&w, 9, 0);
        else
            w_t3(&w, 9, 0);
        w8(&w, 0);
        feed_all_splits(NULL, w.b, w.n, &r);
        assert_int_equal(r.rc, RTMP_CHUNK_ERR_UNKNOWN_STREAM);
        assert_int_equal(r.n, 0);
        run_free(&r);
        free(w.b);
    }
}

static void test_chunk_rejects_too_many_chunk_streams(void **state) {
    struct rtmp_chunk_limits lim;
    struct wbuf w = {0};
    struct run r;
    (void)state;
    rtmp_chunk_limits_default(&lim);
    lim.max_chunk_streams = 4;
    for (uint32_t cs = 3; cs < 8; cs++) {
        w_t0(&w, cs, 0, 1, RTMP_MSG_AUDIO, 1);
        w8(&w, 0);
    }
    feed_all_splits(&lim, w.b, w.n, &r);
    expect_run(&r, RTMP_CHUNK_ERR_TOO_MANY_STREAMS, 4);
    done(&r, &w);
}

static void test_chunk_rejects_new_header_in_the_middle_of_a_message(void **state) {
    struct wbuf w = {0};
    struct run r;
    (void)state;
    w_t0(&w, 6, 0, 300, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 128, 0);
    w_t1(&w, 6, 10, 5, RTMP_MSG_VIDEO);
    w_pattern(&w, 5, 0);
    feed_all_splits(NULL, w.b, w.n, &r);
    assert_int_equal(r.rc, RTMP_CHUNK_ERR_PROTOCOL);
    done(&r, &w);
}

static void test_chunk_errors_are_sticky(void **state) {
    struct wbuf w = {0};
    struct run r = {0};
    struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(NULL);
    struct rtmp_message m;
    size_t used = 7;
    (void)state;
    w_t3(&w, 3, 0);
    assert_int_equal(feed(d, w.b, w.n, 0, &r), RTMP_CHUNK_ERR_UNKNOWN_STREAM);
    w.n = 0;
    w_t0(&w, 3, 0, 1, RTMP_MSG_AUDIO, 1);
    w8(&w, 1);
    assert_int_equal(rtmp_chunk_decode(d, w.b, w.n, &used, &m), RTMP_CHUNK_ERR_UNKNOWN_STREAM);
    assert_int_equal(used, 0);
    assert_string_equal(rtmp_chunk_strerror(RTMP_CHUNK_ERR_UNKNOWN_STREAM),
                        "type 1/2/3 chunk on a chunk stream that was never opened");
    run_free(&r);
    rtmp_chunk_decoder_free(d);
    free(w.b);
}

static void test_chunk_decoder_rejects_bad_limits_and_arguments(void **state) {
    struct rtmp_chunk_limits lim;
    struct rtmp_chunk_decoder *d;
    struct rtmp_message m;
    size_t used;
    (void)state;
    rtmp_chunk_limits_default(&lim);
    lim.max_message_len = 0x1000000;
    assert_null(rtmp_chunk_decoder_new(&lim));
    rtmp_chunk_limits_default(&lim);
    lim.max_chunk_streams = 0;
    assert_null(rtmp_chunk_decoder_new(&lim));
    d = rtmp_chunk_decoder_new(NULL);
    assert_int_equal(rtmp_chunk_decode(d, NULL, 1, &used, &m), RTMP_CHUNK_ERR_ARG);
    assert_int_equal(rtmp_chunk_decode(d, NULL, 0, &used, &m), RTMP_CHUNK_NEED_MORE);
    assert_int_equal(rtmp_chunk_decode(d, NULL, 0, NULL, &m), RTMP_CHUNK_ERR_ARG);
    rtmp_chunk_decoder_free(d);
    rtmp_chunk_decoder_free(NULL);
}

static void test_chunk_take_payload_transfers_ownership(void **state) {
    struct wbuf w = {0};
    struct rtmp_chunk_decoder *d = rtmp_chunk_decoder_new(NULL);
    struct rtmp_message m;
    size_t used;
    uint8_t *p;
    (void)state;
    w_t0(&w, 6, 0, 100, RTMP_MSG_VIDEO, 1);
    w_pattern(&w, 100, 4);
    w_t0(&w, 6, 1, 0, RTMP_MSG_VIDEO, 1); /* next: empty message on the same stream */
    assert_int_equal(rtmp_chunk_decode(d, w.b, w.n, &used, &m), RTMP_CHUNK_MESSAGE);
    p = rtmp_chunk_take_payload(d, &m);
    assert_non_null(p);
    assert_null(rtmp_chunk_take_payload(d, &m)); /* only once */
    assert_int_equal(d->buffered, 0);
    assert_int_equal(rtmp_chunk_decode(d, w.b + used, w.n - used, &used, &m), RTMP_CHUNK_MESSAGE);
    assert_null(rtmp_chunk_take_payload(d, &m)); /* no payload */
    assert_true(is_pattern(p, 100, 4));
    free(p);
    rtmp_chunk_decoder_free(d);
    free(w.b);
}

/* ---- a real FFmpeg publish session ---- */

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

static void test_chunk_decodes_ffmpeg_publish_session(void **state) {
    /* FFmpeg 5.1 publishing 640x480 H.264 + AAC with -output_ts_offset 16800: the first key
     * frame (5962 bytes, chunk size 4096) has a type-1 header with an extended timestamp and a
     * type-3 continuation that repeats it. */
    size_t len = 0;
    uint8_t *p = load_fixture("ffmpeg_publish.bin", &len);
    struct run r;
    uint32_t nals = 0;
    (void)state;
    feed_all_splits(NULL, p, len, &r);
    expect_run(&r, RTMP_CHUNK_NEED_MORE, 11);
    expect_msg(&r.msgs[0], 3, RTMP_MSG_COMMAND_AMF0, 0, 0, 140); /* connect, 2 chunks */
    expect_msg(&r.msgs[1], 2, RTMP_MSG_SET_CHUNK_SIZE, 0, 0, 4);
    expect_msg(&r.msgs[5], 8, RTMP_MSG_COMMAND_AMF0, 1, 0, 31); /* publish */
    expect_msg(&r.msgs[6], 4, RTMP_MSG_DATA_AMF0, 1, 0, 309);   /* @setDataFrame */
    expect_msg(&r.msgs[7], 6, RTMP_MSG_VIDEO, 1, 0, 51);        /* avcC */
    expect_msg(&r.msgs[8], 4, RTMP_MSG_AUDIO, 1, 0, 7);         /* ASC */
    expect_msg(&r.msgs[9], 6, RTMP_MSG_VIDEO, 1, 16799920, 5962);
    expect_msg(&r.msgs[10], 6, RTMP_MSG_VIDEO, 1, 16799960, 573);

    assert_memory_equal(r.msgs[0].copy,
                        "\x02\x00\x07"
                        "connect",
                        10);
    assert_memory_equal(r.msgs[7].copy, "\x17\x00\x00\x00\x00\x01\x64", 7); /* AVC sequence header, avcC */
    assert_memory_equal(r.msgs[9].copy, "\x17\x01\x00\x00\x50", 5);         /* key frame, cts 80 */
    assert_int_equal(flv_nalus_validate(r.msgs[9].copy + 5, 5962 - 5, 4, &nals), FLV_OK);
    assert_int_equal(nals, 2);
    run_free(&r);
    free(p);
}

/* ---- encoder ---- */

static void roundtrip(uint32_t chunk_size, uint32_t csid, uint32_t ts, uint32_t len) {
    struct rtmp_chunk_encoder e;
    struct wbuf body = {0}, w = {0};
    struct rtmp_message m;
    struct run r;
    size_t need, written = 0;

    rtmp_chunk_encoder_init(&e);
    w_pattern(&body, len, (uint8_t)csid);
    m = (struct rtmp_message){
        .csid = csid, .type_id = RTMP_MSG_VIDEO, .stream_id = 77, .timestamp = ts, .len = len, .payload = body.b};
    if (chunk_size != 128) {
        uint8_t pl[4], out[64];
        rtmp_pcm_put_u32(pl, chunk_size);
        assert_int_equal(rtmp_chunk_encode_control(&e, RTMP_MSG_SET_CHUNK_SIZE, pl, 4, out, sizeof out, &written), 0);
        w_bytes(&w, out, written);
        assert_int_equal(rtmp_chunk_encoder_set_chunk_size(&e, chunk_size), 0);
    }
    need = rtmp_chunk_encoded_size(&e, &m);
    assert_true(need > 0);
    w.b = realloc(w.b, w.n + need);
    assert_int_equal(rtmp_chunk_encode(&e, &m, w.b + w.n, need - 1, &written), RTMP_CHUNK_ERR_NO_SPACE);
    assert_int_equal(rtmp_chunk_encode(&e, &m, w.b + w.n, need, &written), 0);
    assert_int_equal(written, need);
    w.n += written;
    feed_all_splits(NULL, w.b, w.n, &r);
    assert_int_equal(r.rc, RTMP_CHUNK_NEED_MORE);
    assert_int_equal(r.n, chunk_size != 128 ? 2 : 1);
    expect_msg(&r.msgs[r.n - 1], csid, RTMP_MSG_VIDEO, 77, ts, len);
    if (len) assert_true(is_pattern(r.msgs[r.n - 1].copy, len, (uint8_t)csid));
    done(&r, &w);
    free(body.b);
}

static void test_chunk_encoder_roundtrips_through_decoder(void **state) {
    static const uint32_t sizes[] = {0, 1, 127, 128, 129, 256, 1000, 5000};
    static const uint32_t ids[] = {2, 3, 63, 64, 319, 320, 65599};
    static const uint32_t tss[] = {0, 1000, 0xFFFFFE, 0xFFFFFF, 0x01000000, 0xFFFFFFFFu};
    static const uint32_t chunk_sizes[] = {128, 1, 60, 4096, 0xFFFFFF};
    (void)state;
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < 7; i++)
            for (size_t t = 0; t < 6; t++)
                for (size_t s = 0; s < 8; s++)
                    if (chunk_sizes[c] != 1 || sizes[s] <= 256) roundtrip(chunk_sizes[c], ids[i], tss[t], sizes[s]);
}

static void test_chunk_encoder_writes_extended_timestamp_on_every_chunk(void **state) {
    struct rtmp_chunk_encoder e;
    uint8_t payload[200] = {0}, out[512];
    struct rtmp_message m = {
        .csid = 6, .type_id = 9, .stream_id = 1, .timestamp = 0x01020304, .len = 200, .payload = payload};
    size_t written;
    static const uint8_t head[] = {0x06, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0xC8, 0x09,
                                   0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04};
    static const uint8_t cont[] = {0xC6, 0x01, 0x02, 0x03, 0x04};
    (void)state;
    rtmp_chunk_encoder_init(&e);
    assert_int_equal(rtmp_chunk_encode(&e, &m, out, sizeof out, &written), 0);
    assert_int_equal(written, 16 + 128 + 5 + 72);
    assert_memory_equal(out, head, sizeof head);
    assert_memory_equal(out + 16 + 128, cont, sizeof cont);
}

static void test_chunk_encoder_rejects_bad_arguments(void **state) {
    struct rtmp_chunk_encoder e;
    uint8_t out[64];
    size_t written;
    struct rtmp_message m = {.csid = 1, .len = 0};
    (void)state;
    rtmp_chunk_encoder_init(&e);
    assert_int_equal(rtmp_chunk_encode(&e, &m, out, sizeof out, &written), RTMP_CHUNK_ERR_ARG);
    m.csid = 65600;
    assert_int_equal(rtmp_chunk_encoded_size(&e, &m), 0);
    m.csid = 3;
    m.len = 5; /* payload NULL */
    assert_int_equal(rtmp_chunk_encode(&e, &m, out, sizeof out, &written), RTMP_CHUNK_ERR_ARG);
    assert_int_equal(rtmp_chunk_encoder_set_chunk_size(&e, 0), RTMP_CHUNK_ERR_CHUNK_SIZE);
    assert_int_equal(rtmp_chunk_encoder_set_chunk_size(&e, 0x1000000), RTMP_CHUNK_ERR_CHUNK_SIZE);
    assert_int_equal(e.chunk_size, 128);
}

/* ---- control payloads ---- */

static void test_chunk_control_payload_helpers(void **state) {
    uint8_t b[10];
    uint32_t v, win;
    uint8_t lim;
    struct rtmp_user_control uc;
    static const uint8_t begin[] = {0, 0, 0, 0, 0, 1};
    static const uint8_t setbuf[] = {0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8};
    (void)state;
    rtmp_pcm_put_u32(b, 2500000);
    assert_int_equal(rtmp_pcm_get_u32(b, 4, &v), 0);
    assert_int_equal(v, 2500000);
    assert_int_equal(rtmp_pcm_get_u32(b, 3, &v), RTMP_CHUNK_ERR_PROTOCOL);
    rtmp_pcm_put_peer_bw(b, 5000000, RTMP_PEER_BW_DYNAMIC);
    assert_int_equal(rtmp_pcm_get_peer_bw(b, 5, &win, &lim), 0);
    assert_int_equal(win, 5000000);
    assert_int_equal(lim, 2);
    assert_int_equal(rtmp_pcm_get_peer_bw(b, 4, &win, &lim), RTMP_CHUNK_ERR_PROTOCOL);

    uc = (struct rtmp_user_control){.event = RTMP_UC_STREAM_BEGIN, .value = 1};
    assert_int_equal(rtmp_uc_put(b, &uc), 6);
    assert_memory_equal(b, begin, 6);
    uc = (struct rtmp_user_control){.event = RTMP_UC_SET_BUFFER_LENGTH, .value = 1, .value2 = 3000};
    assert_int_equal(rtmp_uc_put(b, &uc), 10);
    assert_memory_equal(b, setbuf, 10);
    assert_int_equal(rtmp_uc_get(setbuf, 10, &uc), 0);
    assert_int_equal(uc.event, 3);
    assert_int_equal(uc.value, 1);
    assert_int_equal(uc.value2, 3000);
    assert_int_equal(rtmp_uc_get(setbuf, 6, &uc), RTMP_CHUNK_ERR_PROTOCOL);
    uc = (struct rtmp_user_control){.event = RTMP_UC_PING_REQUEST, .value = 123456};
    rtmp_uc_put(b, &uc);
    assert_int_equal(rtmp_uc_get(b, 6, &uc), 0);
    assert_int_equal(uc.event, RTMP_UC_PING_REQUEST);
    assert_int_equal(uc.value, 123456);
    assert_int_equal(rtmp_uc_get(b, 5, &uc), RTMP_CHUNK_ERR_PROTOCOL);
    b[1] = 0x20; /* an event we don't know, body of 2 bytes: accepted */
    assert_int_equal(rtmp_uc_get(b, 2, &uc), 0);
    assert_int_equal(uc.event, 0x20);
    assert_int_equal(rtmp_uc_get(b, 1, &uc), RTMP_CHUNK_ERR_PROTOCOL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_single_type0_message),
        cmocka_unit_test(test_chunk_message_continues_in_type3_chunks),
        cmocka_unit_test(test_chunk_two_and_three_byte_csids),
        cmocka_unit_test(test_chunk_type1_type2_type3_timestamp_deltas),
        cmocka_unit_test(test_chunk_type3_after_type0_reuses_timestamp_field),
        cmocka_unit_test(test_chunk_zero_length_message),
        cmocka_unit_test(test_chunk_extended_timestamp_type0_and_type3_continuation),
        cmocka_unit_test(test_chunk_extended_delta_on_type1_and_type3_new_message),
        cmocka_unit_test(test_chunk_timestamp_wraps_at_2_pow_32),
        cmocka_unit_test(test_chunk_interleaved_chunk_streams),
        cmocka_unit_test(test_chunk_set_chunk_size_is_applied),
        cmocka_unit_test(test_chunk_set_chunk_size_largest_is_accepted),
        cmocka_unit_test(test_chunk_rejects_bad_set_chunk_size),
        cmocka_unit_test(test_chunk_abort_discards_partial_message),
        cmocka_unit_test(test_chunk_rejects_message_over_limit_without_allocating),
        cmocka_unit_test(test_chunk_buffer_grows_with_bytes_not_declared_length),
        cmocka_unit_test(test_chunk_rejects_total_buffer_over_limit),
        cmocka_unit_test(test_chunk_rejects_unknown_chunk_stream_for_types_1_2_3),
        cmocka_unit_test(test_chunk_rejects_too_many_chunk_streams),
        cmocka_unit_test(test_chunk_rejects_new_header_in_the_middle_of_a_message),
        cmocka_unit_test(test_chunk_errors_are_sticky),
        cmocka_unit_test(test_chunk_decoder_rejects_bad_limits_and_arguments),
        cmocka_unit_test(test_chunk_take_payload_transfers_ownership),
        cmocka_unit_test(test_chunk_decodes_ffmpeg_publish_session),
        cmocka_unit_test(test_chunk_encoder_roundtrips_through_decoder),
        cmocka_unit_test(test_chunk_encoder_writes_extended_timestamp_on_every_chunk),
        cmocka_unit_test(test_chunk_encoder_rejects_bad_arguments),
        cmocka_unit_test(test_chunk_control_payload_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
