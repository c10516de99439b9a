/*
 * tests/fuzz/fuzz_hls_params.c - fuzz the hls plugin's codec-parameter readers (plugins/hls/
 * params.c): the picture size from an H.264 avcC / HEVC hvcC record's first SPS (emulation
 * prevention bytes, scaling lists, PTL sub-layers, cropping) and the sample rate and channel count
 * of an AAC AudioSpecificConfig.
 *
 * Input: byte 0 picks the reader (avcC, hvcC, ASC, or a bare H.264 SPS NAL wrapped into an avcC
 * here); the rest is its input, copied to an exact-size buffer so that reads past it are caught.
 * Checks: a refusal leaves the outputs untouched; an accepted picture is positive and within the
 * format's bounds (H.264: 16384 x 32768, HEVC: 16888 x 16888); an accepted ASC has a positive rate
 * below 2^24 and 0..8 channels. Differential, against the RTMP plugin's validator
 * (plugins/rtmp/flv.c), which is what lets a record through to the HLS muxer: an avcC the
 * validator accepts is read by HLS with the same picture size, and an ASC it accepts is read with
 * the same (core) sample rate and the same channel count (HLS may answer 0 = "not in the ASC" for
 * the channel configurations it leaves to the track info).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/flv.c"

/* params.c has its own bit reader under names flv.c uses too */
#define bits              hlsp_bits
#define bits_init         hlsp_bits_init
#define skip_scaling_list hlsp_skip_scaling_list
#include "plugins/hls/params.c"
#undef bits
#undef bits_init
#undef skip_scaling_list

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

#define SENTINEL (-12345)

static void fz_avcc(const uint8_t *p, size_t n) {
    int w = SENTINEL, h = SENTINEL;
    int rc = hls_h264_dims(p, n, &w, &h);
    FZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        FZ_CHECK(w == SENTINEL && h == SENTINEL);
    } else {
        FZ_CHECK(w > 0 && w <= 16384 && h > 0 && h <= 32768);
    }
    struct flv_avc_config c;
    if (flv_avcc_parse(p, n, &c) == FLV_OK) {
        FZ_CHECK(rc == 0);
        FZ_CHECK((uint32_t)w == c.sps_info.width && (uint32_t)h == c.sps_info.height);
    }
}

static void fz_hvcc(const uint8_t *p, size_t n) {
    int w = SENTINEL, h = SENTINEL;
    int rc = hls_hevc_dims(p, n, &w, &h);
    FZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0)
        FZ_CHECK(w == SENTINEL && h == SENTINEL);
    else
        FZ_CHECK(w > 0 && w <= 16888 && h > 0 && h <= 16888);
    struct flv_hevc_config c;
    (void)flv_hvcc_parse(p, n, &c); /* no SPS reading there: nothing to compare */
}

static void fz_asc(const uint8_t *p, size_t n) {
    int rate = SENTINEL, ch = SENTINEL;
    int rc = hls_asc_info(p, n, &rate, &ch);
    FZ_CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        FZ_CHECK(rate == SENTINEL && ch == SENTINEL);
    } else {
        FZ_CHECK(rate > 0 && rate < (1 << 24) && ch >= 0 && ch <= 8);
    }
    struct flv_aac_config c;
    if (flv_asc_parse(p, n, &c) == FLV_OK) {
        FZ_CHECK(rc == 0);
        FZ_CHECK((uint32_t)rate == c.sample_rate);
        FZ_CHECK((uint32_t)ch == c.channels || ch == 0);
    }
}

/* A bare SPS NAL unit (as an encoder emits it) wrapped into a minimal avcC with one PPS. */
static void fz_sps(const uint8_t *sps, size_t n) {
    if (n > 0xffff) return;
    size_t len = 8 + n + 3 + 2;
    uint8_t *a = malloc(len);
    FZ_CHECK(a != NULL);
    a[0] = 1;
    a[1] = n > 1 ? sps[1] : 0x64;
    a[2] = n > 2 ? sps[2] : 0;
    a[3] = n > 3 ? sps[3] : 0x1f;
    a[4] = 0xff;
    a[5] = 0xe1;
    a[6] = (uint8_t)(n >> 8);
    a[7] = (uint8_t)n;
    if (n) memcpy(a + 8, sps, n);
    a[8 + n] = 1;
    a[9 + n] = 0;
    a[10 + n] = 2;
    a[11 + n] = 0x68;
    a[12 + n] = 0xce;
    fz_avcc(a, len);
    free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1); /* exact-size copy: reads past the end are caught */
    FZ_CHECK(p != NULL);
    memcpy(p, data + 1, n);
    switch (data[0] % 4) {
    case 0:
        fz_avcc(p, n);
        break;
    case 1:
        fz_hvcc(p, n);
        break;
    case 2:
        fz_asc(p, n);
        break;
    default:
        fz_sps(p, n);
        break;
    }
    /* every reader refuses NULL and empty input without touching the outputs */
    int a = SENTINEL, b = SENTINEL;
    FZ_CHECK(hls_h264_dims(NULL, n, &a, &b) == -1 && hls_hevc_dims(NULL, n, &a, &b) == -1 &&
             hls_asc_info(NULL, n, &a, &b) == -1 && hls_h264_dims(p, 0, &a, &b) == -1 &&
             hls_hevc_dims(p, 0, &a, &b) == -1 && hls_asc_info(p, 0, &a, &b) == -1);
    FZ_CHECK(a == SENTINEL && b == SENTINEL);
    free(p);
    return 0;
}
