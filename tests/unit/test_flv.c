/*
 * tests/unit/test_flv.c - FLV audio/video tag bodies (legacy and Enhanced RTMP), avcC with SPS
 * decoding, hvcC, AudioSpecificConfig and NAL unit length validation. The configuration records
 * come from real encoders (x264 / x265 / FFmpeg's AAC through FFmpeg 5.1); edge cases of the SPS
 * and the ASC are built bit by bit here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plugins/rtmp/flv.c"

/* ---- real configuration records ---- */

/* x264 Main 1280x720 */
static const uint8_t main720_avcc[41] = {
    0x01, 0x4d, 0x40, 0x1f, 0xff, 0xe1, 0x00, 0x19, 0x67, 0x4d, 0x40, 0x1f, 0xec, 0xa0,
    0x28, 0x02, 0xdd, 0x80, 0x88, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00, 0x00, 0x03, 0x01,
    0x90, 0x78, 0xc1, 0x8c, 0xb0, 0x01, 0x00, 0x05, 0x68, 0xeb, 0xe3, 0xcb, 0x20,
};

/* x264 High 640x360: coded 368 lines, cropped */
static const uint8_t crop360_avcc[47] = {
    0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x1a, 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40, 0xa0,
    0x2f, 0xf9, 0x70, 0x11, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00, 0x32, 0x0f, 0x16,
    0x2d, 0x96, 0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

/* x264 High 720x576 interlaced (frame_mbs_only_flag = 0) */
static const uint8_t interlaced576_avcc[45] = {
    0x01, 0x64, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x18, 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9, 0x40,
    0xb4, 0x24, 0xd8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x0f, 0x8a,
    0x14, 0xcb, 0x01, 0x00, 0x06, 0x68, 0xfb, 0xa3, 0xcb, 0x22, 0xc0, 0xfd, 0xf8, 0xf8, 0x00,
};

/* x264 High 4:4:4 Predictive 352x288 */
static const uint8_t hi444cqm_avcc[47] = {
    0x01, 0xf4, 0x00, 0x0d, 0xff, 0xe1, 0x00, 0x18, 0x67, 0xf4, 0x00, 0x0d, 0x91, 0x9b, 0x28, 0x2c,
    0x12, 0xd8, 0x08, 0x80, 0x00, 0x00, 0x03, 0x00, 0x80, 0x00, 0x00, 0x19, 0x07, 0x8a, 0x14, 0xcb,
    0x01, 0x00, 0x08, 0x68, 0xeb, 0xe3, 0xc4, 0x4c, 0x00, 0x04, 0x40, 0xff, 0xf8, 0xf8, 0x00,
};

/* x265 Main 640x360, VPS/SPS/PPS arrays (the SEI array x265 adds is cut off) */
static const uint8_t hevc360_hvcc[111] = {
    0x01, 0x01, 0x60, 0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0xf0, 0x00, 0xfc, 0xfd, 0xf8, 0xf8,
    0x00, 0x00, 0x0f, 0x03, 0x20, 0x00, 0x01, 0x00, 0x18, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0x95, 0x98, 0x09, 0x21, 0x00, 0x01, 0x00, 0x2a,
    0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x3f, 0xa0,
    0x05, 0x02, 0x01, 0x69, 0x65, 0x95, 0x9a, 0x49, 0x32, 0xbc, 0x05, 0xa0, 0x20, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00,
    0x00, 0x03, 0x03, 0x21, 0x22, 0x00, 0x01, 0x00, 0x07, 0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40,
};

/* FFmpeg AAC-LC 48 kHz stereo, with the backward-compatible SBR sync extension */
static const uint8_t aac48s_asc[5] = {
    0x11, 0x90, 0x56, 0xe5, 0x00,
};

/* FFmpeg AAC-LC 44.1 kHz mono (captured from an RTMP publish) */
static const uint8_t lc44_asc[5] = {0x12, 0x08, 0x56, 0xe5, 0x00};

/* ---- bit writer for hand-made SPS / ASC ---- */

struct bw {
    uint8_t b[512];
    size_t bits;
};

static void bw_bits(struct bw *w, uint32_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        if ((v >> i) & 1u) w->b[w->bits / 8] |= (uint8_t)(0x80u >> (w->bits % 8));
        w->bits++;
    }
}

static void bw_ue(struct bw *w, uint32_t v) {
    uint64_t x = (uint64_t)v + 1;
    int len = 0;
    while ((x >> len) > 1)
        len++;
    bw_bits(w, 0, len);
    bw_bits(w, (uint32_t)x, len + 1);
}

static void bw_se(struct bw *w, int32_t v) {
    bw_ue(w, v > 0 ? (uint32_t)(2 * v - 1) : (uint32_t)(-2 * v));
}

static size_t bw_bytes(const struct bw *w) {
    return (w->bits + 7) / 8;
}

struct sps_params {
    uint8_t profile, constraints, level;
    uint32_t sps_id, chroma, bd_luma, bd_chroma;
    bool separate_planes, scaling;
    uint32_t poc_type, poc_cycle, ref_frames;
    uint32_t w_mbs_m1, h_units_m1;
    bool frame_mbs_only, cropping;
    uint32_t crop[4];
};

/* Writes an SPS NAL unit (header 0x67, emulation prevention applied); returns its length. */
static size_t build_sps(const struct sps_params *p, uint8_t *out) {
    struct bw w;
    size_t n, o = 0;
    int zeros = 0;
    memset(&w, 0, sizeof w);
    bw_bits(&w, p->profile, 8);
    bw_bits(&w, p->constraints, 8);
    bw_bits(&w, p->level, 8);
    bw_ue(&w, p->sps_id);
    if (high_profile(p->profile)) {
        bw_ue(&w, p->chroma);
        if (p->chroma == 3) bw_bits(&w, p->separate_planes, 1);
        bw_ue(&w, p->bd_luma);
        bw_ue(&w, p->bd_chroma);
        bw_bits(&w, 0, 1);
        bw_bits(&w, p->scaling, 1);
        if (p->scaling) {
            for (int i = 0; i < (p->chroma != 3 ? 8 : 12); i++) {
                bw_bits(&w, i != 2, 1); /* list 2 not present */
                if (i == 2) continue;
                if (i == 5) {
                    bw_se(&w, -8); /* nextScale 0 at once: "use default", list ends */
                    continue;
                }
                for (int j = 0; j < (i < 6 ? 16 : 64); j++)
                    bw_se(&w, j % 2 ? 3 : -3);
            }
        }
    }
    bw_ue(&w, 0); /* log2_max_frame_num_minus4 */
    bw_ue(&w, p->poc_type);
    if (p->poc_type == 0) {
        bw_ue(&w, 2);
    } else if (p->poc_type == 1) {
        bw_bits(&w, 0, 1);
        bw_se(&w, -5);
        bw_se(&w, 7);
        bw_ue(&w, p->poc_cycle);
        for (uint32_t i = 0; i < p->poc_cycle; i++)
            bw_se(&w, (int32_t)i - 1);
    }
    bw_ue(&w, p->ref_frames);
    bw_bits(&w, 0, 1);
    bw_ue(&w, p->w_mbs_m1);
    bw_ue(&w, p->h_units_m1);
    bw_bits(&w, p->frame_mbs_only, 1);
    if (!p->frame_mbs_only) bw_bits(&w, 1, 1);
    bw_bits(&w, 1, 1);
    bw_bits(&w, p->cropping, 1);
    if (p->cropping)
        for (int i = 0; i < 4; i++)
            bw_ue(&w, p->crop[i]);
    bw_bits(&w, 0, 1); /* vui_parameters_present_flag */
    bw_bits(&w, 1, 1); /* rbsp stop bit */
    n = bw_bytes(&w);
    out[o++] = 0x67;
    for (size_t i = 0; i < n; i++) {
        if (zeros >= 2 && w.b[i] <= 3) {
            out[o++] = 3;
            zeros = 0;
        }
        out[o++] = w.b[i];
        zeros = w.b[i] == 0 ? zeros + 1 : 0;
    }
    return o;
}

static struct sps_params hd_params(void) {
    struct sps_params p = {.profile = 100,
                           .level = 40,
                           .chroma = 1,
                           .poc_type = 0,
                           .ref_frames = 4,
                           .w_mbs_m1 = 119,
                           .h_units_m1 = 67,
                           .frame_mbs_only = true,
                           .cropping = true,
                           .crop = {0, 0, 0, 4}};
    return p;
}

static int sps_result(const struct sps_params *p, struct flv_h264_sps *s) {
    uint8_t nal[1024];
    size_t n = build_sps(p, nal);
    return flv_h264_sps_parse(nal, n, s);
}

/* ---- SPS ---- */

static void test_flv_sps_1080p_with_scaling_lists_and_poc_type_1(void **state) {
    struct sps_params p = hd_params();
    struct flv_h264_sps s;
    (void)state;
    p.scaling = true;
    p.poc_type = 1;
    p.poc_cycle = 3;
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.width, 1920);
    assert_int_equal(s.height, 1080);
    assert_int_equal(s.profile_idc, 100);
    assert_int_equal(s.level_idc, 40);
    assert_int_equal(s.chroma_format_idc, 1);
    p.chroma = 3; /* 12 scaling lists with 4:4:4 */
    p.crop[3] = 8;
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.height, 1080);
}

static void test_flv_sps_crop_units_follow_chroma_format(void **state) {
    struct sps_params p = hd_params();
    struct flv_h264_sps s;
    (void)state;
    p.chroma = 2; /* 4:2:2: CropUnitX 2, CropUnitY 1 */
    p.crop[1] = 3, p.crop[3] = 3;
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.width, 1920 - 6);
    assert_int_equal(s.height, 1088 - 3);
    p.chroma = 3, p.separate_planes = true; /* ChromaArrayType 0: units of 1 */
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.width, 1920 - 3);
    p.chroma = 1, p.separate_planes = false;
    p.frame_mbs_only = false; /* interlaced 4:2:0: CropUnitY 4, map units are field MB pairs */
    p.h_units_m1 = 33, p.crop[1] = 0, p.crop[3] = 2;
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.height, 34 * 32 - 8);
    assert_false(s.frame_mbs_only);
    p.profile = 66; /* baseline: no chroma fields, 4:2:0 implied */
    p.frame_mbs_only = true, p.h_units_m1 = 67, p.crop[3] = 4;
    assert_int_equal(sps_result(&p, &s), FLV_OK);
    assert_int_equal(s.height, 1080);
    assert_int_equal(s.bit_depth_luma, 8);
}

static void test_flv_sps_skips_emulation_prevention_bytes(void **state) {
    struct sps_params p = hd_params();
    struct flv_h264_sps s;
    uint8_t nal[256];
    size_t n;
    (void)state;
    p.profile = 0, p.constraints = 0, p.level = 1; /* RBSP 00 00 01 -> wire 00 00 03 01 */
    n = build_sps(&p, nal);
    assert_memory_equal(nal, "\x67\x00\x00\x03\x01", 5);
    assert_int_equal(flv_h264_sps_parse(nal, n, &s), FLV_OK);
    assert_int_equal(s.level_idc, 1);
    assert_int_equal(s.width, 1920);
    assert_int_equal(s.height, 1080);
}

static void test_flv_sps_rejects_out_of_range_fields(void **state) {
    struct sps_params p;
    struct flv_h264_sps s;
    uint8_t nal[256];
    size_t n;
    (void)state;
    p = hd_params(), p.chroma = 4;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.bd_luma = 7;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.sps_id = 32;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.poc_type = 3;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.poc_type = 1, p.poc_cycle = 256;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.ref_frames = 33;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.w_mbs_m1 = 1024;
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.crop[0] = 960; /* crops the whole width away */
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);
    p = hd_params(), p.crop[2] = 0x7FFFFFFF; /* no overflow in the crop arithmetic */
    assert_int_equal(sps_result(&p, &s), FLV_ERR_INVALID);

    p = hd_params();
    n = build_sps(&p, nal);
    nal[0] = 0x68; /* a PPS */
    assert_int_equal(flv_h264_sps_parse(nal, n, &s), FLV_ERR_INVALID);
    nal[0] = 0xE7; /* forbidden_zero_bit */
    assert_int_equal(flv_h264_sps_parse(nal, n, &s), FLV_ERR_INVALID);
    nal[0] = 0x67;
    for (size_t k = 0; k < n; k++) { /* every prefix: clean error or the same answer */
        int rc = flv_h264_sps_parse(nal, k, &s);
        assert_true(rc == FLV_ERR_TRUNCATED || (rc == FLV_OK && s.height == 1080));
    }
    assert_int_equal(flv_h264_sps_parse(nal, 6, &s), FLV_ERR_TRUNCATED);
}

static void test_flv_sps_rejects_exp_golomb_longer_than_32_bits(void **state) {
    static const uint8_t nal[] = {0x67, 0x42, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF};
    struct flv_h264_sps s;
    (void)state;
    assert_int_equal(flv_h264_sps_parse(nal, sizeof nal, &s), FLV_ERR_TRUNCATED);
}

/* ---- avcC ---- */

static void expect_avcc(const uint8_t *p, size_t len, uint8_t profile, uint32_t w, uint32_t h, uint8_t chroma,
                        bool progressive) {
    struct flv_avc_config c;
    assert_int_equal(flv_avcc_parse(p, len, &c), FLV_OK);
    assert_int_equal(c.profile_idc, profile);
    assert_int_equal(c.sps_info.profile_idc, profile);
    assert_int_equal(c.nal_length_size, 4);
    assert_int_equal(c.num_sps, 1);
    assert_int_equal(c.num_pps, 1);
    assert_int_equal(c.sps[0] & 0x1F, 7);
    assert_int_equal(c.pps[0] & 0x1F, 8);
    assert_int_equal(c.sps_info.width, w);
    assert_int_equal(c.sps_info.height, h);
    assert_int_equal(c.sps_info.chroma_format_idc, chroma);
    assert_int_equal(c.sps_info.frame_mbs_only, progressive);
}

static void test_flv_avcc_from_x264_decodes_dimensions(void **state) {
    (void)state;
    expect_avcc(main720_avcc, sizeof main720_avcc, 77, 1280, 720, 1, true);
    expect_avcc(crop360_avcc, sizeof crop360_avcc, 100, 640, 360, 1, true);
    expect_avcc(interlaced576_avcc, sizeof interlaced576_avcc, 100, 720, 576, 1, false);
    expect_avcc(hi444cqm_avcc, sizeof hi444cqm_avcc, 244, 352, 288, 3, true);
}

static void expect_avcc_error(const uint8_t *src, size_t len, size_t at, uint8_t val, int want) {
    uint8_t buf[64];
    struct flv_avc_config c;
    memcpy(buf, src, len);
    buf[at] = val;
    assert_int_equal(flv_avcc_parse(buf, len, &c), want);
}

static void test_flv_avcc_rejects_invalid_records(void **state) {
    const uint8_t *a = main720_avcc;
    const size_t n = sizeof main720_avcc;
    struct flv_avc_config c;
    (void)state;
    expect_avcc_error(a, n, 0, 0, FLV_ERR_INVALID);       /* configurationVersion 0 */
    expect_avcc_error(a, n, 4, 0xFE, FLV_ERR_INVALID);    /* lengthSizeMinusOne 2 */
    expect_avcc_error(a, n, 5, 0xE0, FLV_ERR_INVALID);    /* no SPS */
    expect_avcc_error(a, n, 7, 0x40, FLV_ERR_TRUNCATED);  /* SPS length past the end */
    expect_avcc_error(a, n, 7, 0x02, FLV_ERR_INVALID);    /* SPS shorter than its header */
    expect_avcc_error(a, n, 8, 0x68, FLV_ERR_INVALID);    /* "SPS" that is a PPS */
    expect_avcc_error(a, n, 33, 0x00, FLV_ERR_INVALID);   /* no PPS */
    expect_avcc_error(a, n, 35, 0x09, FLV_ERR_TRUNCATED); /* PPS length past the end */
    expect_avcc_error(a, n, 36, 0x67, FLV_ERR_INVALID);   /* "PPS" that is an SPS */
    expect_avcc_error(a, n, 12, 0x00, FLV_ERR_INVALID);   /* SPS body garbage */
    for (size_t k = 0; k < n; k++)
        assert_int_not_equal(flv_avcc_parse(a, k, &c), FLV_OK);
    assert_int_equal(flv_avcc_parse(NULL, 0, &c), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_avcc_parse(a, n, NULL), FLV_ERR_ARG);
}

static void test_flv_avcc_accepts_short_nal_lengths_and_several_sets(void **state) {
    uint8_t buf[128], *q = buf;
    struct flv_avc_config c;
    const uint8_t *sps = main720_avcc + 8, *pps = main720_avcc + 36;
    (void)state;
    *q++ = 1, *q++ = 77, *q++ = 0x40, *q++ = 31, *q++ = 0xFD; /* NAL lengths of 2 bytes */
    *q++ = 0xE2;
    for (int i = 0; i < 2; i++) {
        *q++ = 0, *q++ = 25;
        memcpy(q, sps, 25);
        q += 25;
    }
    *q++ = 2;
    for (int i = 0; i < 2; i++) {
        *q++ = 0, *q++ = 5;
        memcpy(q, pps, 5);
        q += 5;
    }
    assert_int_equal(flv_avcc_parse(buf, (size_t)(q - buf), &c), FLV_OK);
    assert_int_equal(c.nal_length_size, 2);
    assert_int_equal(c.num_sps, 2);
    assert_int_equal(c.num_pps, 2);
    buf[4] = 0xFC;
    assert_int_equal(flv_avcc_parse(buf, (size_t)(q - buf), &c), FLV_OK);
    assert_int_equal(c.nal_length_size, 1);
}

/* ---- hvcC ---- */

static void test_flv_hvcc_from_x265(void **state) {
    struct flv_hevc_config c;
    (void)state;
    assert_int_equal(flv_hvcc_parse(hevc360_hvcc, sizeof hevc360_hvcc, &c), FLV_OK);
    assert_int_equal(c.profile_idc, 1); /* Main */
    assert_int_equal(c.tier_flag, 0);
    assert_int_equal(c.level_idc, 63); /* 2.1 */
    assert_int_equal(c.chroma_format_idc, 1);
    assert_int_equal(c.bit_depth_luma, 8);
    assert_int_equal(c.nal_length_size, 4);
    assert_int_equal(c.num_arrays, 3);
    assert_int_equal(c.num_vps, 1);
    assert_int_equal(c.num_sps, 1);
    assert_int_equal(c.num_pps, 1);
}

static void test_flv_hvcc_rejects_invalid_records(void **state) {
    uint8_t b[sizeof hevc360_hvcc];
    struct flv_hevc_config c;
    (void)state;
#define HVCC_CASE(at, val, want)                                                                                       \
    do {                                                                                                               \
        memcpy(b, hevc360_hvcc, sizeof b);                                                                             \
        b[at] = (val);                                                                                                 \
        assert_int_equal(flv_hvcc_parse(b, sizeof b, &c), want);                                                       \
    } while (0)
    HVCC_CASE(0, 0, FLV_ERR_INVALID);       /* configurationVersion */
    HVCC_CASE(21, 0x0E, FLV_ERR_INVALID);   /* lengthSizeMinusOne 2 */
    HVCC_CASE(22, 2, FLV_ERR_INVALID);      /* only VPS and SPS: no PPS */
    HVCC_CASE(22, 4, FLV_ERR_TRUNCATED);    /* an array beyond the end */
    HVCC_CASE(25, 2, FLV_ERR_TRUNCATED);    /* two VPS announced, one present */
    HVCC_CASE(27, 0xFF, FLV_ERR_TRUNCATED); /* VPS length past the end */
    HVCC_CASE(28, 0x42, FLV_ERR_INVALID);   /* VPS array holding an SPS NAL */
#undef HVCC_CASE
    for (size_t k = 0; k < sizeof hevc360_hvcc; k++)
        assert_int_not_equal(flv_hvcc_parse(hevc360_hvcc, k, &c), FLV_OK);
}

/* ---- video tags ---- */

static void test_flv_legacy_avc_packets(void **state) {
    uint8_t buf[64];
    struct flv_video v;
    (void)state;
    buf[0] = 0x17, buf[1] = 0, buf[2] = buf[3] = buf[4] = 0;
    memcpy(buf + 5, main720_avcc, sizeof main720_avcc);
    assert_int_equal(flv_video_parse(buf, 5 + sizeof main720_avcc, &v), FLV_OK);
    assert_false(v.ex_header);
    assert_int_equal(v.codec, FLV_VCODEC_H264);
    assert_int_equal(v.fourcc, FLV_FOURCC_AVC1);
    assert_int_equal(v.frame_type, FLV_FRAME_KEY);
    assert_int_equal(v.packet, FLV_VPKT_SEQUENCE_START);
    assert_ptr_equal(v.body, buf + 5);
    assert_int_equal(v.body_len, sizeof main720_avcc);

    memcpy(buf, "\x27\x01\xFF\xFF\xF6\x00\x00\x00\x01\x41", 10);
    assert_int_equal(flv_video_parse(buf, 10, &v), FLV_OK);
    assert_int_equal(v.frame_type, FLV_FRAME_INTER);
    assert_int_equal(v.packet, FLV_VPKT_CODED_FRAMES);
    assert_int_equal(v.cts, -10);
    assert_int_equal(v.body_len, 5);
    memcpy(buf, "\x17\x01\x7F\xFF\xFF", 5);
    assert_int_equal(flv_video_parse(buf, 5, &v), FLV_OK);
    assert_int_equal(v.cts, 8388607);
    assert_null(v.body);
    memcpy(buf, "\x17\x01\x80\x00\x00", 5);
    assert_int_equal(flv_video_parse(buf, 5, &v), FLV_OK);
    assert_int_equal(v.cts, -8388608);
    memcpy(buf, "\x17\x02\x00\x00\x00", 5);
    assert_int_equal(flv_video_parse(buf, 5, &v), FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_SEQUENCE_END);
}

static void test_flv_legacy_video_errors_and_other_codecs(void **state) {
    struct flv_video v;
    (void)state;
    assert_int_equal(flv_video_parse((const uint8_t *)"\x17\x03\0\0\0", 5, &v), FLV_ERR_INVALID);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x17\x01\0", 3, &v), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x17\x00\0\0\0", 5, &v),
                     FLV_ERR_TRUNCATED); /* sequence header without a record */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x07\x01\0\0\0", 5, &v), FLV_ERR_INVALID);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x67\x01\0\0\0", 5, &v), FLV_ERR_INVALID);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x1C\x01\0\0\0", 5, &v),
                     FLV_ERR_UNSUPPORTED); /* the unofficial CodecID 12 */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x11", 1, &v), FLV_ERR_UNSUPPORTED);
    assert_int_equal(flv_video_parse(NULL, 0, &v), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_video_parse(NULL, 1, &v), FLV_ERR_ARG);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x24\xAB\xCD", 3, &v), FLV_OK);
    assert_int_equal(v.codec, FLV_VCODEC_LEGACY);
    assert_int_equal(v.codec_id, 4); /* VP6 */
    assert_int_equal(v.packet, FLV_VPKT_RAW);
    assert_int_equal(v.body_len, 2);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x57\x01", 2, &v), FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_COMMAND);
    assert_int_equal(v.command, 1);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x57", 1, &v), FLV_ERR_TRUNCATED);
    /* found by fuzzing: a command frame still needs a known CodecID */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x51\x00", 2, &v), FLV_ERR_UNSUPPORTED);
}

static void test_flv_enhanced_hvc1_sequence_start_and_frames(void **state) {
    uint8_t buf[256];
    struct flv_video v;
    struct flv_hevc_config c;
    (void)state;
    buf[0] = 0x90; /* IsExHeader | key frame, PacketType SequenceStart */
    memcpy(buf + 1, "hvc1", 4);
    memcpy(buf + 5, hevc360_hvcc, sizeof hevc360_hvcc);
    assert_int_equal(flv_video_parse(buf, 5 + sizeof hevc360_hvcc, &v), FLV_OK);
    assert_true(v.ex_header);
    assert_int_equal(v.codec, FLV_VCODEC_HEVC);
    assert_int_equal(v.fourcc, FLV_FOURCC_HVC1);
    assert_int_equal(v.frame_type, FLV_FRAME_KEY);
    assert_int_equal(v.packet, FLV_VPKT_SEQUENCE_START);
    assert_int_equal(flv_hvcc_parse(v.body, v.body_len, &c), FLV_OK);

    memcpy(buf, "\x91hvc1\xFF\xFF\xF6\x00\x00\x00\x02\x26\x01", 14); /* CodedFrames: SI24 */
    assert_int_equal(flv_video_parse(buf, 14, &v), FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_CODED_FRAMES);
    assert_int_equal(v.wire_packet_type, 1);
    assert_int_equal(v.cts, -10);
    assert_ptr_equal(v.body, buf + 8);
    assert_int_equal(flv_nalus_validate(v.body, v.body_len, c.nal_length_size, NULL), FLV_OK);

    memcpy(buf, "\xA3hvc1\x00\x00\x00\x02\x02\x01", 11); /* CodedFramesX: no SI24 */
    assert_int_equal(flv_video_parse(buf, 11, &v), FLV_OK);
    assert_int_equal(v.frame_type, FLV_FRAME_INTER);
    assert_int_equal(v.packet, FLV_VPKT_CODED_FRAMES);
    assert_int_equal(v.wire_packet_type, 3);
    assert_int_equal(v.cts, 0);
    assert_ptr_equal(v.body, buf + 5);

    assert_int_equal(flv_video_parse((const uint8_t *)"\x92hvc1", 5, &v), FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_SEQUENCE_END);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x91hvc1\x00\x00", 7, &v), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x90hvc1", 5, &v), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x90hv", 3, &v), FLV_ERR_TRUNCATED);
}

static void test_flv_enhanced_av1_vp9_avc1_and_metadata(void **state) {
    struct flv_video v;
    (void)state;
    assert_int_equal(flv_video_parse((const uint8_t *)"\x91"
                                                      "av01\x12\x00",
                                     7, &v),
                     FLV_OK);
    assert_int_equal(v.codec, FLV_VCODEC_AV1);
    assert_int_equal(v.body_len, 2); /* no composition time for AV1 */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x90vp09\x01\x02", 7, &v), FLV_OK);
    assert_int_equal(v.codec, FLV_VCODEC_VP9);
    assert_int_equal(v.packet, FLV_VPKT_SEQUENCE_START);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x95"
                                                      "av01\x80",
                                     6, &v),
                     FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_MPEG2TS_SEQUENCE_START);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x91"
                                                      "avc1\x00\x00\x50\x01",
                                     9, &v),
                     FLV_OK);
    assert_int_equal(v.codec, FLV_VCODEC_H264);
    assert_int_equal(v.cts, 80);
    /* Metadata ignores FrameType, even the reserved 0 */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x84hvc1\x02\x00\x09", 8, &v), FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_METADATA);
    assert_int_equal(v.body_len, 3);
    /* command frames: a UI8 after the FourCC (and after SI24 for CodedFrames of hvc1) */
    assert_int_equal(flv_video_parse((const uint8_t *)"\xD0"
                                                      "av01\x01",
                                     6, &v),
                     FLV_OK);
    assert_int_equal(v.packet, FLV_VPKT_COMMAND);
    assert_int_equal(v.command, 1);
    assert_int_equal(flv_video_parse((const uint8_t *)"\xD1hvc1\x00\x00\x00\x00", 9, &v), FLV_OK);
    assert_int_equal(v.command, 0);
    assert_int_equal(flv_video_parse((const uint8_t *)"\xD0"
                                                      "av01",
                                     5, &v),
                     FLV_ERR_TRUNCATED);
}

static void test_flv_enhanced_refuses_what_it_cannot_interpret(void **state) {
    struct flv_video v;
    (void)state;
    assert_int_equal(flv_video_parse((const uint8_t *)"\x96hvc1\x00", 6, &v), FLV_ERR_UNSUPPORTED); /* Multitrack */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x97hvc1\x00", 6, &v), FLV_ERR_UNSUPPORTED); /* ModEx */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x9Fhvc1\x00", 6, &v), FLV_ERR_UNSUPPORTED);
    assert_int_equal(flv_video_parse((const uint8_t *)"\x91vvc1\x00\x00\x00", 8, &v),
                     FLV_ERR_UNSUPPORTED); /* unknown FourCC */
    assert_int_equal(flv_video_parse((const uint8_t *)"\x81hvc1\x00\x00\x00", 8, &v),
                     FLV_ERR_INVALID); /* FrameType 0 */
    assert_int_equal(flv_video_parse((const uint8_t *)"\xE1hvc1\x00\x00\x00", 8, &v),
                     FLV_ERR_INVALID); /* FrameType 6 */
}

/* ---- audio tags ---- */

static void test_flv_audio_aac_and_other_formats(void **state) {
    uint8_t buf[16];
    struct flv_audio a;
    (void)state;
    buf[0] = 0xAF, buf[1] = 0x00;
    memcpy(buf + 2, lc44_asc, 5);
    assert_int_equal(flv_audio_parse(buf, 7, &a), FLV_OK);
    assert_int_equal(a.sound_format, FLV_SOUND_FORMAT_AAC);
    assert_int_equal(a.sound_rate, 3);
    assert_int_equal(a.sound_size, 1);
    assert_int_equal(a.sound_type, 1);
    assert_int_equal(a.packet, FLV_APKT_AAC_SEQUENCE_HEADER);
    assert_int_equal(a.body_len, 5);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xAF\x01\x21\x10", 4, &a), FLV_OK);
    assert_int_equal(a.packet, FLV_APKT_AAC_RAW);
    assert_int_equal(a.body_len, 2);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xAF\x01", 2, &a), FLV_OK);
    assert_int_equal(a.body_len, 0);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xAF\x02\x00", 3, &a), FLV_ERR_INVALID);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xAF", 1, &a), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xAF\x00", 2, &a), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\x2F\xFF\xFB", 3, &a), FLV_OK);
    assert_int_equal(a.sound_format, 2); /* MP3 */
    assert_int_equal(a.packet, FLV_APKT_RAW);
    assert_int_equal(a.body_len, 2);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\x9F\x00", 2, &a), FLV_ERR_UNSUPPORTED);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xC2\x00", 2, &a), FLV_ERR_UNSUPPORTED);
    assert_int_equal(flv_audio_parse((const uint8_t *)"\xD2\x00", 2, &a), FLV_ERR_UNSUPPORTED);
    assert_int_equal(flv_audio_parse(NULL, 0, &a), FLV_ERR_TRUNCATED);
}

/* ---- AudioSpecificConfig ---- */

static int asc_of(struct bw *w, struct flv_aac_config *c) {
    return flv_asc_parse(w->b, bw_bytes(w) < 2 ? 2 : bw_bytes(w), c);
}

static void test_flv_asc_from_ffmpeg(void **state) {
    struct flv_aac_config c;
    (void)state;
    assert_int_equal(flv_asc_parse(lc44_asc, sizeof lc44_asc, &c), FLV_OK);
    assert_int_equal(c.object_type, 2);
    assert_int_equal(c.sampling_index, 4);
    assert_int_equal(c.sample_rate, 44100);
    assert_int_equal(c.channel_config, 1);
    assert_int_equal(c.channels, 1);
    assert_false(c.sbr);
    assert_true(c.adts_compatible);
    assert_int_equal(flv_asc_parse(aac48s_asc, sizeof aac48s_asc, &c), FLV_OK);
    assert_int_equal(c.sample_rate, 48000);
    assert_int_equal(c.channels, 2);
    assert_int_equal(flv_asc_parse((const uint8_t *)"\x12\x10", 2, &c), FLV_OK); /* bare */
}

static void test_flv_asc_escapes_and_explicit_sbr_ps(void **state) {
    struct bw w;
    struct flv_aac_config c;
    (void)state;
    memset(&w, 0, sizeof w); /* explicit rate: index 15 + 24 bits */
    bw_bits(&w, 2, 5), bw_bits(&w, 15, 4), bw_bits(&w, 80000, 24), bw_bits(&w, 2, 4);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_int_equal(c.sampling_index, 15);
    assert_int_equal(c.sample_rate, 80000);
    assert_false(c.adts_compatible);
    memset(&w, 0, sizeof w); /* object type escape: 31 + 6 bits -> 42 */
    bw_bits(&w, 31, 5), bw_bits(&w, 10, 6), bw_bits(&w, 4, 4), bw_bits(&w, 2, 4);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_int_equal(c.object_type, 42);
    assert_int_equal(c.sample_rate, 44100);
    memset(&w, 0, sizeof w); /* HE-AAC: SBR, 24 kHz core, 48 kHz output, LC core */
    bw_bits(&w, 5, 5), bw_bits(&w, 6, 4), bw_bits(&w, 2, 4), bw_bits(&w, 3, 4), bw_bits(&w, 2, 5);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_true(c.sbr);
    assert_false(c.ps);
    assert_int_equal(c.object_type, 2);
    assert_int_equal(c.sample_rate, 24000);
    assert_int_equal(c.ext_sample_rate, 48000);
    memset(&w, 0, sizeof w); /* HE-AAC v2: PS */
    bw_bits(&w, 29, 5), bw_bits(&w, 6, 4), bw_bits(&w, 1, 4), bw_bits(&w, 3, 4), bw_bits(&w, 2, 5);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_true(c.ps);
    assert_true(c.sbr);
    memset(&w, 0, sizeof w); /* channel configuration 0: layout in a PCE, accepted */
    bw_bits(&w, 2, 5), bw_bits(&w, 3, 4), bw_bits(&w, 0, 4);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_int_equal(c.channels, 0);
    assert_false(c.adts_compatible);
    memset(&w, 0, sizeof w); /* 7.1 via channel configuration 12 */
    bw_bits(&w, 2, 5), bw_bits(&w, 3, 4), bw_bits(&w, 12, 4);
    assert_int_equal(asc_of(&w, &c), FLV_OK);
    assert_int_equal(c.channels, 8);
}

static void expect_asc_error(uint32_t aot, uint32_t idx, uint32_t rate, uint32_t chan, int want) {
    struct bw w;
    struct flv_aac_config c;
    memset(&w, 0, sizeof w);
    bw_bits(&w, aot, 5);
    bw_bits(&w, idx, 4);
    if (idx == 15) bw_bits(&w, rate, 24);
    bw_bits(&w, chan, 4);
    assert_int_equal(asc_of(&w, &c), want);
}

static void test_flv_asc_rejects_invalid_configs(void **state) {
    struct flv_aac_config c;
    struct bw w;
    (void)state;
    expect_asc_error(0, 4, 0, 2, FLV_ERR_INVALID);  /* null object type */
    expect_asc_error(2, 13, 0, 2, FLV_ERR_INVALID); /* reserved index */
    expect_asc_error(2, 14, 0, 2, FLV_ERR_INVALID);
    expect_asc_error(2, 15, 0, 2, FLV_ERR_INVALID); /* explicit rate of 0 */
    for (uint32_t ch = 8; ch <= 10; ch++)
        expect_asc_error(2, 4, 0, ch, FLV_ERR_INVALID);
    expect_asc_error(2, 4, 0, 15, FLV_ERR_INVALID);
    assert_int_equal(flv_asc_parse((const uint8_t *)"\x12", 1, &c), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_asc_parse((const uint8_t *)"\x17\x80", 2, &c),
                     FLV_ERR_TRUNCATED); /* index 15 but no 24-bit rate */
    memset(&w, 0, sizeof w);             /* SBR with a reserved extension index */
    bw_bits(&w, 5, 5), bw_bits(&w, 6, 4), bw_bits(&w, 2, 4), bw_bits(&w, 13, 4), bw_bits(&w, 2, 5);
    assert_int_equal(asc_of(&w, &c), FLV_ERR_INVALID);
    memset(&w, 0, sizeof w); /* SBR wrapping SBR */
    bw_bits(&w, 5, 5), bw_bits(&w, 6, 4), bw_bits(&w, 2, 4), bw_bits(&w, 3, 4), bw_bits(&w, 5, 5);
    assert_int_equal(asc_of(&w, &c), FLV_ERR_INVALID);
}

/* ---- NAL units ---- */

static void test_flv_nalus_tile_the_payload(void **state) {
    static const uint8_t four[] = {0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x06, 0, 0, 0, 0};
    static const uint8_t two[] = {0, 2, 0x65, 0x88, 0, 1, 0x41};
    static const uint8_t one[] = {2, 0x65, 0x88, 1, 0x41};
    struct flv_nalu_iter it;
    const uint8_t *nal;
    size_t len;
    uint32_t n = 0;
    (void)state;
    assert_int_equal(flv_nalus_validate(four, sizeof four, 4, &n), FLV_OK);
    assert_int_equal(n, 3); /* the last one is empty */
    flv_nalu_iter_init(&it, four, sizeof four, 4);
    assert_int_equal(flv_nalu_next(&it, &nal, &len), 1);
    assert_int_equal(nal[0] & 0x1F, 5); /* IDR slice */
    assert_int_equal(len, 2);
    assert_int_equal(flv_nalu_next(&it, &nal, &len), 1);
    assert_int_equal(nal[0] & 0x1F, 6); /* SEI */
    assert_int_equal(flv_nalu_next(&it, &nal, &len), 1);
    assert_int_equal(len, 0);
    assert_int_equal(flv_nalu_next(&it, &nal, &len), 0);
    assert_int_equal(flv_nalus_validate(two, sizeof two, 2, &n), FLV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(flv_nalus_validate(one, sizeof one, 1, &n), FLV_OK);
    assert_int_equal(n, 2);
    assert_int_equal(flv_nalus_validate(NULL, 0, 4, &n), FLV_OK);
    assert_int_equal(n, 0);
}

static void test_flv_nalus_reject_lengths_outside_the_payload(void **state) {
    static const uint8_t past[] = {0, 0, 0, 5, 0x65, 0x88};
    static const uint8_t partial_prefix[] = {0, 0, 0, 2, 0x65, 0x88, 0, 0};
    static const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x65};
    uint32_t n = 7;
    (void)state;
    assert_int_equal(flv_nalus_validate(past, sizeof past, 4, &n), FLV_ERR_TRUNCATED);
    assert_int_equal(n, 0);
    assert_int_equal(flv_nalus_validate(partial_prefix, sizeof partial_prefix, 4, &n), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_nalus_validate(huge, sizeof huge, 4, &n), FLV_ERR_TRUNCATED);
    assert_int_equal(flv_nalus_validate(past, sizeof past, 3, &n), FLV_ERR_ARG);
    assert_int_equal(flv_nalus_validate(past, sizeof past, 0, &n), FLV_ERR_ARG);
    assert_string_equal(flv_strerror(FLV_ERR_TRUNCATED), "FLV data truncated");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flv_sps_1080p_with_scaling_lists_and_poc_type_1),
        cmocka_unit_test(test_flv_sps_crop_units_follow_chroma_format),
        cmocka_unit_test(test_flv_sps_skips_emulation_prevention_bytes),
        cmocka_unit_test(test_flv_sps_rejects_out_of_range_fields),
        cmocka_unit_test(test_flv_sps_rejects_exp_golomb_longer_than_32_bits),
        cmocka_unit_test(test_flv_avcc_from_x264_decodes_dimensions),
        cmocka_unit_test(test_flv_avcc_rejects_invalid_records),
        cmocka_unit_test(test_flv_avcc_accepts_short_nal_lengths_and_several_sets),
        cmocka_unit_test(test_flv_hvcc_from_x265),
        cmocka_unit_test(test_flv_hvcc_rejects_invalid_records),
        cmocka_unit_test(test_flv_legacy_avc_packets),
        cmocka_unit_test(test_flv_legacy_video_errors_and_other_codecs),
        cmocka_unit_test(test_flv_enhanced_hvc1_sequence_start_and_frames),
        cmocka_unit_test(test_flv_enhanced_av1_vp9_avc1_and_metadata),
        cmocka_unit_test(test_flv_enhanced_refuses_what_it_cannot_interpret),
        cmocka_unit_test(test_flv_audio_aac_and_other_formats),
        cmocka_unit_test(test_flv_asc_from_ffmpeg),
        cmocka_unit_test(test_flv_asc_escapes_and_explicit_sbr_ps),
        cmocka_unit_test(test_flv_asc_rejects_invalid_configs),
        cmocka_unit_test(test_flv_nalus_tile_the_payload),
        cmocka_unit_test(test_flv_nalus_reject_lengths_outside_the_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
