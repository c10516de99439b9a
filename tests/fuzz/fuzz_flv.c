/*
 * tests/fuzz/fuzz_flv.c - fuzz the FLV tag body parsers and the codec configuration validators.
 *
 * Input: byte 0 picks the parser (video tag, audio tag, avcC, hvcC, AudioSpecificConfig, H.264
 * SPS, NAL units with a length size from byte 0); the rest is its input. Checks: returned bodies
 * lie inside the input; on success the decoded fields are in their documented ranges (frame and
 * packet types, NAL length sizes 1/2/4, non-zero picture sizes, rates, channel counts); a parsed
 * video or audio tag's configuration record goes through its validator as the plugin would do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/flv.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

static void fz_in_input(const uint8_t *body, size_t body_len, const uint8_t *p, size_t len) {
    if (body_len == 0) {
        FZ_CHECK(body == NULL);
        return;
    }
    FZ_CHECK(body >= p && body_len <= len && (size_t)(body - p) <= len - body_len);
}

static void fz_check_sps(const struct flv_h264_sps *s) {
    FZ_CHECK(s->width > 0 && s->width <= 16384 && s->height > 0 && s->height <= 32768);
    FZ_CHECK(s->chroma_format_idc <= 3 && s->sps_id <= 31);
    FZ_CHECK(s->bit_depth_luma >= 8 && s->bit_depth_luma <= 14);
}

static void fz_avcc(const uint8_t *p, size_t len) {
    struct flv_avc_config c;
    if (flv_avcc_parse(p, len, &c) != FLV_OK) return;
    FZ_CHECK(c.nal_length_size == 1 || c.nal_length_size == 2 || c.nal_length_size == 4);
    FZ_CHECK(c.num_sps >= 1 && c.num_pps >= 1);
    fz_in_input(c.sps, c.sps_len, p, len);
    fz_in_input(c.pps, c.pps_len, p, len);
    FZ_CHECK((c.sps[0] & 0x1F) == 7 && (c.pps[0] & 0x1F) == 8);
    fz_check_sps(&c.sps_info);
}

static void fz_hvcc(const uint8_t *p, size_t len) {
    struct flv_hevc_config c;
    if (flv_hvcc_parse(p, len, &c) != FLV_OK) return;
    FZ_CHECK(c.nal_length_size == 1 || c.nal_length_size == 2 || c.nal_length_size == 4);
    FZ_CHECK(c.num_vps >= 1 && c.num_sps >= 1 && c.num_pps >= 1);
}

static void fz_asc(const uint8_t *p, size_t len) {
    struct flv_aac_config c;
    if (flv_asc_parse(p, len, &c) != FLV_OK) return;
    FZ_CHECK(c.object_type != 0 && c.object_type != 5 && c.object_type != 29);
    FZ_CHECK(c.sample_rate > 0 && c.sample_rate < (1u << 24));
    FZ_CHECK(c.sampling_index <= 12 || c.sampling_index == 15);
    FZ_CHECK(c.channel_config <= 14 && (c.channel_config == 0) == (c.channels == 0));
    FZ_CHECK(!c.ps || c.sbr);
    FZ_CHECK(!c.adts_compatible || (c.object_type <= 4 && c.channels >= 1));
}

static void fz_nalus(const uint8_t *p, size_t len, uint8_t ls) {
    struct flv_nalu_iter it;
    const uint8_t *nal;
    size_t nal_len, total = 0;
    uint32_t count = 0, seen = 0;
    int rc, vrc = flv_nalus_validate(p, len, ls, &count);

    flv_nalu_iter_init(&it, p, len, ls);
    while ((rc = flv_nalu_next(&it, &nal, &nal_len)) == 1) {
        fz_in_input(nal_len ? nal : NULL, nal_len, p, len);
        total += ls + nal_len;
        seen++;
    }
    FZ_CHECK(rc == vrc && (rc < 0 || (seen == count && total == len)));
}

static void fz_video(const uint8_t *p, size_t len) {
    struct flv_video v;
    if (flv_video_parse(p, len, &v) != FLV_OK) return;
    fz_in_input(v.body, v.body_len, p, len);
    FZ_CHECK(v.cts >= -8388608 && v.cts <= 8388607);
    if (v.packet != FLV_VPKT_METADATA) FZ_CHECK(v.frame_type >= FLV_FRAME_KEY && v.frame_type <= FLV_FRAME_COMMAND);
    if (v.packet == FLV_VPKT_COMMAND) FZ_CHECK(v.body == NULL);
    if (v.packet == FLV_VPKT_SEQUENCE_START) {
        FZ_CHECK(v.body_len > 0);
        if (v.codec == FLV_VCODEC_H264)
            fz_avcc(v.body, v.body_len);
        else if (v.codec == FLV_VCODEC_HEVC)
            fz_hvcc(v.body, v.body_len);
    } else if (v.packet == FLV_VPKT_CODED_FRAMES && (v.codec == FLV_VCODEC_H264 || v.codec == FLV_VCODEC_HEVC)) {
        fz_nalus(v.body, v.body_len, 4);
    }
    if (v.codec == FLV_VCODEC_LEGACY) FZ_CHECK(v.codec_id >= 2 && v.codec_id <= 6);
}

static void fz_audio(const uint8_t *p, size_t len) {
    struct flv_audio a;
    if (flv_audio_parse(p, len, &a) != FLV_OK) return;
    fz_in_input(a.body, a.body_len, p, len);
    FZ_CHECK(a.sound_format != 9 && a.sound_format != 12 && a.sound_format != 13);
    if (a.sound_format == FLV_SOUND_FORMAT_AAC) FZ_CHECK(a.packet <= FLV_APKT_AAC_RAW);
    if (a.packet == FLV_APKT_AAC_SEQUENCE_HEADER) fz_asc(a.body, a.body_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint8_t length_sizes[] = {1, 2, 4, 3};
    uint8_t sel;
    uint8_t *p;

    if (size < 1) return 0;
    sel = data[0];
    size--;
    p = malloc(size ? size : 1); /* exact-size copy: reads past the end are caught */
    FZ_CHECK(p != NULL);
    memcpy(p, data + 1, size);
    switch (sel % 7) {
    case 0:
        fz_video(p, size);
        break;
    case 1:
        fz_audio(p, size);
        break;
    case 2:
        fz_avcc(p, size);
        break;
    case 3:
        fz_hvcc(p, size);
        break;
    case 4:
        fz_asc(p, size);
        break;
    case 5: {
        struct flv_h264_sps s;
        if (flv_h264_sps_parse(p, size, &s) == FLV_OK) fz_check_sps(&s);
        break;
    }
    default:
        fz_nalus(p, size, length_sizes[(sel / 7) % 4]);
        break;
    }
    free(p);
    return 0;
}
