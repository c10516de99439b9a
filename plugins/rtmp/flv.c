/*
 * plugins/rtmp/flv.c - FLV audio/video tag bodies, avcC / hvcC / AudioSpecificConfig validation,
 * H.264 SPS decoding (see flv.h).
 *
 * The SPS and AudioSpecificConfig are read with a small MSB-first bit reader. For the SPS it
 * drops emulation prevention bytes (00 00 03) on the fly, so no unescaped copy is made. Reading
 * past the end sets a sticky flag instead of touching memory; callers check it before trusting
 * any value read.
 */
#include "flv.h"

#include <string.h>

/* ---- bit reader ---- */

struct bits {
    const uint8_t *p;
    size_t len;
    size_t pos;    /* next raw byte */
    uint8_t cur;   /* current byte */
    int left;      /* unread bits in cur */
    int zeros;     /* consecutive 0x00 bytes just read (for emulation prevention) */
    bool unescape; /* drop 0x03 after two zero bytes (H.264/HEVC RBSP) */
    bool overrun;
};

static void bits_init(struct bits *b, const uint8_t *p, size_t len, bool unescape) {
    memset(b, 0, sizeof *b);
    b->p = p;
    b->len = len;
    b->unescape = unescape;
}

static uint32_t get_bit(struct bits *b) {
    if (b->left == 0) {
        for (;;) {
            uint8_t v;
            if (b->pos >= b->len) {
                b->overrun = true;
                return 0;
            }
            v = b->p[b->pos++];
            if (b->unescape && b->zeros >= 2 && v == 0x03) {
                b->zeros = 0;
                continue;
            }
            b->zeros = v == 0 ? b->zeros + 1 : 0;
            b->cur = v;
            b->left = 8;
            break;
        }
    }
    b->left--;
    return (b->cur >> b->left) & 1u;
}

static uint32_t get_bits(struct bits *b, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 1) | get_bit(b);
    return v;
}

/* Exp-Golomb unsigned; at most 31 leading zeros (values up to 2^32 - 2). */
static uint32_t get_ue(struct bits *b) {
    int lz = 0;
    while (get_bit(b) == 0) {
        if (b->overrun || ++lz > 31) {
            b->overrun = true;
            return 0;
        }
    }
    return ((1u << lz) - 1u) + get_bits(b, lz);
}

static int32_t get_se(struct bits *b) {
    uint32_t k = get_ue(b);
    return (k & 1u) ? (int32_t)((k + 1u) / 2u) : -(int32_t)(k / 2u);
}

/* ---- helpers ---- */

static uint32_t rd16(const uint8_t *p) {
    return ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t rd32(const uint8_t *p) {
    return (rd16(p) << 16) | rd16(p + 2);
}

static int32_t si24(const uint8_t *p) {
    uint32_t v = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
    return (v & 0x800000u) ? (int32_t)v - 0x1000000 : (int32_t)v;
}

static void set_body(const uint8_t *p, size_t len, size_t off, const uint8_t **body, size_t *body_len) {
    *body_len = len - off;
    *body = *body_len ? p + off : NULL;
}

/* ---- video ---- */

static int parse_ex_video(const uint8_t *p, size_t len, struct flv_video *v) {
    size_t off = 5;
    bool has_cts;

    v->ex_header = true;
    v->frame_type = (p[0] >> 4) & 0x07;
    v->wire_packet_type = p[0] & 0x0F;
    if (v->wire_packet_type > 5) return FLV_ERR_UNSUPPORTED; /* Multitrack, ModEx (v2) and reserved types */
    if (len < 5) return FLV_ERR_TRUNCATED;
    v->fourcc = rd32(p + 1);
    if (v->fourcc == FLV_FOURCC_AVC1)
        v->codec = FLV_VCODEC_H264;
    else if (v->fourcc == FLV_FOURCC_HVC1)
        v->codec = FLV_VCODEC_HEVC;
    else if (v->fourcc == FLV_FOURCC_AV01)
        v->codec = FLV_VCODEC_AV1;
    else if (v->fourcc == FLV_FOURCC_VP09)
        v->codec = FLV_VCODEC_VP9;
    else
        return FLV_ERR_UNSUPPORTED;

    if (v->wire_packet_type == 4) { /* Metadata: FrameType is ignored */
        v->packet = FLV_VPKT_METADATA;
        set_body(p, len, off, &v->body, &v->body_len);
        return FLV_OK;
    }
    if (v->frame_type < FLV_FRAME_KEY || v->frame_type > FLV_FRAME_COMMAND) return FLV_ERR_INVALID;

    has_cts = v->wire_packet_type == 1 && v->codec != FLV_VCODEC_AV1 && v->codec != FLV_VCODEC_VP9;
    if (has_cts) {
        if (len < off + 3) return FLV_ERR_TRUNCATED;
        v->cts = si24(p + off);
        off += 3;
    }
    if (v->frame_type == FLV_FRAME_COMMAND) {
        if (len < off + 1) return FLV_ERR_TRUNCATED;
        v->packet = FLV_VPKT_COMMAND;
        v->command = p[off];
        return FLV_OK;
    }
    switch (v->wire_packet_type) {
    case 0:
        v->packet = FLV_VPKT_SEQUENCE_START;
        break;
    case 1:
    case 3: /* CodedFramesX: composition time implied 0 */
        v->packet = FLV_VPKT_CODED_FRAMES;
        break;
    case 2:
        v->packet = FLV_VPKT_SEQUENCE_END;
        break;
    default:
        v->packet = FLV_VPKT_MPEG2TS_SEQUENCE_START;
        break;
    }
    set_body(p, len, off, &v->body, &v->body_len);
    if ((v->packet == FLV_VPKT_SEQUENCE_START || v->packet == FLV_VPKT_MPEG2TS_SEQUENCE_START) && v->body_len == 0)
        return FLV_ERR_TRUNCATED;
    return FLV_OK;
}

static int parse_legacy_video(const uint8_t *p, size_t len, struct flv_video *v) {
    v->frame_type = p[0] >> 4;
    v->codec_id = p[0] & 0x0F;
    if (v->codec_id == FLV_CODEC_ID_AVC) {
        v->codec = FLV_VCODEC_H264;
        v->fourcc = FLV_FOURCC_AVC1;
    } else if (v->codec_id >= 2 && v->codec_id <= 6) {
        v->codec = FLV_VCODEC_LEGACY;
    } else {
        return FLV_ERR_UNSUPPORTED; /* reserved ids, including the unofficial 12 = HEVC */
    }
    if (v->frame_type < FLV_FRAME_KEY || v->frame_type > FLV_FRAME_COMMAND) return FLV_ERR_INVALID;
    if (v->frame_type == FLV_FRAME_COMMAND) { /* a UI8 command instead of video data */
        if (len < 2) return FLV_ERR_TRUNCATED;
        v->packet = FLV_VPKT_COMMAND;
        v->command = p[1];
        return FLV_OK;
    }
    if (v->codec == FLV_VCODEC_LEGACY) {
        v->packet = FLV_VPKT_RAW;
        set_body(p, len, 1, &v->body, &v->body_len);
        return FLV_OK;
    }
    if (len < 5) return FLV_ERR_TRUNCATED;
    if (p[1] > 2) return FLV_ERR_INVALID;
    v->wire_packet_type = p[1];
    v->packet = (enum flv_video_packet)p[1]; /* 0, 1, 2 map one to one */
    v->cts = si24(p + 2);
    set_body(p, len, 5, &v->body, &v->body_len);
    if (v->packet == FLV_VPKT_SEQUENCE_START && v->body_len == 0) return FLV_ERR_TRUNCATED;
    return FLV_OK;
}

int flv_video_parse(const uint8_t *p, size_t len, struct flv_video *out) {
    struct flv_video v;
    int rc;

    if (out == NULL || (p == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 1) return FLV_ERR_TRUNCATED;
    memset(&v, 0, sizeof v);
    rc = (p[0] & 0x80) ? parse_ex_video(p, len, &v) : parse_legacy_video(p, len, &v);
    if (rc == FLV_OK) *out = v;
    return rc;
}

/* ---- audio ---- */

int flv_audio_parse(const uint8_t *p, size_t len, struct flv_audio *out) {
    struct flv_audio a;

    if (out == NULL || (p == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 1) return FLV_ERR_TRUNCATED;
    memset(&a, 0, sizeof a);
    a.sound_format = p[0] >> 4;
    a.sound_rate = (p[0] >> 2) & 3;
    a.sound_size = (p[0] >> 1) & 1;
    a.sound_type = p[0] & 1;
    if (a.sound_format == 9 || a.sound_format == 12 || a.sound_format == 13)
        return FLV_ERR_UNSUPPORTED; /* 9 = Enhanced RTMP v2 ExAudioTagHeader; 12, 13 reserved */
    if (a.sound_format == FLV_SOUND_FORMAT_AAC) {
        if (len < 2) return FLV_ERR_TRUNCATED;
        if (p[1] > 1) return FLV_ERR_INVALID;
        a.packet = (enum flv_audio_packet)p[1];
        set_body(p, len, 2, &a.body, &a.body_len);
        if (a.packet == FLV_APKT_AAC_SEQUENCE_HEADER && a.body_len == 0) return FLV_ERR_TRUNCATED;
    } else {
        a.packet = FLV_APKT_RAW;
        set_body(p, len, 1, &a.body, &a.body_len);
    }
    *out = a;
    return FLV_OK;
}

/* ---- H.264 SPS ---- */

static bool high_profile(uint8_t profile) {
    switch (profile) {
    case 100:
    case 110:
    case 122:
    case 244:
    case 44:
    case 83:
    case 86:
    case 118:
    case 128:
    case 138:
    case 139:
    case 134:
    case 135:
        return true;
    default:
        return false;
    }
}

static void skip_scaling_list(struct bits *b, int size) {
    int last = 8, next = 8;
    for (int j = 0; j < size && !b->overrun; j++) {
        if (next != 0) {
            int32_t delta = get_se(b);
            if (delta < -128 || delta > 127) {
                b->overrun = true; /* out of range: treat as malformed */
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

int flv_h264_sps_parse(const uint8_t *nal, size_t len, struct flv_h264_sps *out) {
    struct flv_h264_sps s;
    struct bits b;
    uint32_t v, poc_type, w_mbs, h_units, crop[4] = {0, 0, 0, 0};
    uint32_t sub_w = 2, sub_h = 2, chroma_array_type;
    bool separate_planes = false;
    uint64_t width, height, unit_x, unit_y;

    if (out == NULL || (nal == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 4) return FLV_ERR_TRUNCATED;
    if ((nal[0] & 0x80) != 0 || (nal[0] & 0x1F) != 7) return FLV_ERR_INVALID; /* forbidden bit, or not an SPS */
    memset(&s, 0, sizeof s);
    bits_init(&b, nal + 1, len - 1, true);
    s.profile_idc = (uint8_t)get_bits(&b, 8);
    s.constraint_flags = (uint8_t)get_bits(&b, 8);
    s.level_idc = (uint8_t)get_bits(&b, 8);
    if ((v = get_ue(&b)) > 31) return FLV_ERR_INVALID;
    s.sps_id = (uint8_t)v;
    s.chroma_format_idc = 1;
    s.bit_depth_luma = s.bit_depth_chroma = 8;
    if (high_profile(s.profile_idc)) {
        if ((v = get_ue(&b)) > 3) return FLV_ERR_INVALID;
        s.chroma_format_idc = (uint8_t)v;
        if (v == 3) separate_planes = get_bit(&b) != 0;
        if ((v = get_ue(&b)) > 6) return FLV_ERR_INVALID;
        s.bit_depth_luma = (uint8_t)(8 + v);
        if ((v = get_ue(&b)) > 6) return FLV_ERR_INVALID;
        s.bit_depth_chroma = (uint8_t)(8 + v);
        get_bit(&b);       /* qpprime_y_zero_transform_bypass_flag */
        if (get_bit(&b)) { /* seq_scaling_matrix_present_flag */
            int lists = s.chroma_format_idc != 3 ? 8 : 12;
            for (int i = 0; i < lists && !b.overrun; i++)
                if (get_bit(&b)) skip_scaling_list(&b, i < 6 ? 16 : 64);
        }
    }
    if (get_ue(&b) > 12) /* log2_max_frame_num_minus4 */
        return FLV_ERR_INVALID;
    if ((poc_type = get_ue(&b)) > 2) return FLV_ERR_INVALID;
    if (poc_type == 0) {
        if (get_ue(&b) > 12) /* log2_max_pic_order_cnt_lsb_minus4 */
            return FLV_ERR_INVALID;
    } else if (poc_type == 1) {
        uint32_t cycle;
        get_bit(&b); /* delta_pic_order_always_zero_flag */
        get_se(&b);  /* offset_for_non_ref_pic */
        get_se(&b);  /* offset_for_top_to_bottom_field */
        if ((cycle = get_ue(&b)) > 255) return FLV_ERR_INVALID;
        for (uint32_t i = 0; i < cycle && !b.overrun; i++)
            get_se(&b);
    }
    if (get_ue(&b) > 32) /* max_num_ref_frames */
        return FLV_ERR_INVALID;
    get_bit(&b); /* gaps_in_frame_num_value_allowed_flag */
    w_mbs = get_ue(&b);
    h_units = get_ue(&b);
    if (w_mbs > 1023 || h_units > 1023) /* 16384 samples: far above any level's limit */
        return FLV_ERR_INVALID;
    s.frame_mbs_only = get_bit(&b) != 0;
    if (!s.frame_mbs_only) get_bit(&b); /* mb_adaptive_frame_field_flag */
    get_bit(&b);                        /* direct_8x8_inference_flag */
    if (get_bit(&b))                    /* frame_cropping_flag */
        for (int i = 0; i < 4; i++)
            crop[i] = get_ue(&b);
    if (b.overrun) return FLV_ERR_TRUNCATED;

    chroma_array_type = separate_planes ? 0 : s.chroma_format_idc;
    if (s.chroma_format_idc == 2)
        sub_h = 1;
    else if (s.chroma_format_idc == 3)
        sub_w = sub_h = 1;
    unit_x = chroma_array_type == 0 ? 1 : sub_w;
    unit_y = (chroma_array_type == 0 ? 1 : sub_h) * (s.frame_mbs_only ? 1 : 2);
    width = (uint64_t)(w_mbs + 1) * 16;
    height = (uint64_t)(h_units + 1) * 16 * (s.frame_mbs_only ? 1 : 2);
    if (((uint64_t)crop[0] + crop[1]) * unit_x >= width || ((uint64_t)crop[2] + crop[3]) * unit_y >= height)
        return FLV_ERR_INVALID;
    s.width = (uint32_t)(width - ((uint64_t)crop[0] + crop[1]) * unit_x);
    s.height = (uint32_t)(height - ((uint64_t)crop[2] + crop[3]) * unit_y);
    *out = s;
    return FLV_OK;
}

/* ---- avcC ---- */

int flv_avcc_parse(const uint8_t *p, size_t len, struct flv_avc_config *out) {
    struct flv_avc_config c;
    size_t off;
    int rc;

    if (out == NULL || (p == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 7) return FLV_ERR_TRUNCATED;
    memset(&c, 0, sizeof c);
    if (p[0] != 1) return FLV_ERR_INVALID; /* configurationVersion */
    c.profile_idc = p[1];
    c.profile_compat = p[2];
    c.level_idc = p[3];
    c.nal_length_size = (uint8_t)((p[4] & 3) + 1);
    if (c.nal_length_size == 3) return FLV_ERR_INVALID;
    c.num_sps = p[5] & 0x1F;
    if (c.num_sps == 0) return FLV_ERR_INVALID;
    off = 6;
    for (unsigned i = 0; i < c.num_sps; i++) {
        uint32_t n;
        if (len - off < 2) return FLV_ERR_TRUNCATED;
        n = rd16(p + off);
        off += 2;
        if (len - off < n) return FLV_ERR_TRUNCATED;
        if (n < 4 || (p[off] & 0x1F) != 7) return FLV_ERR_INVALID;
        if (i == 0) {
            c.sps = p + off;
            c.sps_len = (uint16_t)n;
        }
        off += n;
    }
    if (len - off < 1) return FLV_ERR_TRUNCATED;
    c.num_pps = p[off++];
    if (c.num_pps == 0) return FLV_ERR_INVALID;
    for (unsigned i = 0; i < c.num_pps; i++) {
        uint32_t n;
        if (len - off < 2) return FLV_ERR_TRUNCATED;
        n = rd16(p + off);
        off += 2;
        if (len - off < n) return FLV_ERR_TRUNCATED;
        if (n < 1 || (p[off] & 0x1F) != 8) return FLV_ERR_INVALID;
        if (i == 0) {
            c.pps = p + off;
            c.pps_len = (uint16_t)n;
        }
        off += n;
    }
    /* Trailing bytes (the high-profile chroma / bit-depth extension) are allowed. */
    if ((rc = flv_h264_sps_parse(c.sps, c.sps_len, &c.sps_info)) != FLV_OK)
        return rc == FLV_ERR_TRUNCATED ? FLV_ERR_INVALID : rc; /* SPS shorter than it claims */
    *out = c;
    return FLV_OK;
}

/* ---- hvcC ---- */

int flv_hvcc_parse(const uint8_t *p, size_t len, struct flv_hevc_config *out) {
    struct flv_hevc_config c;
    size_t off = 23;

    if (out == NULL || (p == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 23) return FLV_ERR_TRUNCATED;
    memset(&c, 0, sizeof c);
    if (p[0] != 1) return FLV_ERR_INVALID;
    c.profile_space = p[1] >> 6;
    c.tier_flag = (p[1] >> 5) & 1;
    c.profile_idc = p[1] & 0x1F;
    c.level_idc = p[12];
    c.chroma_format_idc = p[16] & 3;
    c.bit_depth_luma = (uint8_t)(8 + (p[17] & 7));
    c.bit_depth_chroma = (uint8_t)(8 + (p[18] & 7));
    c.nal_length_size = (uint8_t)((p[21] & 3) + 1);
    if (c.nal_length_size == 3) return FLV_ERR_INVALID;
    c.num_arrays = p[22];
    for (unsigned a = 0; a < c.num_arrays; a++) {
        uint8_t type;
        uint32_t nalus;
        if (len - off < 3) return FLV_ERR_TRUNCATED;
        type = p[off] & 0x3F;
        nalus = rd16(p + off + 1);
        off += 3;
        for (uint32_t i = 0; i < nalus; i++) {
            uint32_t n;
            if (len - off < 2) return FLV_ERR_TRUNCATED;
            n = rd16(p + off);
            off += 2;
            if (len - off < n) return FLV_ERR_TRUNCATED;
            if (n < 2 || ((p[off] >> 1) & 0x3F) != type)
                return FLV_ERR_INVALID; /* NAL header must match the array's type */
            off += n;
        }
        if (type == 32)
            c.num_vps = (uint16_t)(c.num_vps + nalus);
        else if (type == 33)
            c.num_sps = (uint16_t)(c.num_sps + nalus);
        else if (type == 34)
            c.num_pps = (uint16_t)(c.num_pps + nalus);
    }
    if (c.num_vps == 0 || c.num_sps == 0 || c.num_pps == 0) return FLV_ERR_INVALID;
    *out = c;
    return FLV_OK;
}

/* ---- AudioSpecificConfig ---- */

static const uint32_t aac_rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                       22050, 16000, 12000, 11025, 8000,  7350};
/* Channels per channelConfiguration; 0 marks reserved values (8..10, 15). */
static const uint8_t aac_channels[16] = {0, 1, 2, 3, 4, 5, 6, 8, 0, 0, 0, 7, 8, 24, 8, 0};

static uint8_t read_aot(struct bits *b) {
    uint32_t aot = get_bits(b, 5);
    if (aot == 31) aot = 32 + get_bits(b, 6);
    return (uint8_t)aot;
}

/* Sampling frequency index (+ explicit 24-bit rate for 0xF); returns 0 on a bad index. */
static uint32_t read_rate(struct bits *b, uint8_t *index) {
    uint32_t idx = get_bits(b, 4);
    *index = (uint8_t)idx;
    if (idx == 0xF) return get_bits(b, 24);
    return idx < 13 ? aac_rates[idx] : 0;
}

int flv_asc_parse(const uint8_t *p, size_t len, struct flv_aac_config *out) {
    struct flv_aac_config c;
    struct bits b;

    if (out == NULL || (p == NULL && len > 0)) return FLV_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < 2) return FLV_ERR_TRUNCATED;
    memset(&c, 0, sizeof c);
    bits_init(&b, p, len, false);
    c.object_type = read_aot(&b);
    c.sample_rate = read_rate(&b, &c.sampling_index);
    c.channel_config = (uint8_t)get_bits(&b, 4);
    if (c.object_type == 5 || c.object_type == 29) {
        uint8_t ext_index;
        c.sbr = true;
        c.ps = c.object_type == 29;
        c.ext_sample_rate = read_rate(&b, &ext_index);
        if (c.ext_sample_rate == 0 && !b.overrun) return FLV_ERR_INVALID;
        c.object_type = read_aot(&b);
        if (c.object_type == 5 || c.object_type == 29) return FLV_ERR_INVALID;
    }
    if (b.overrun) return FLV_ERR_TRUNCATED;
    if (c.object_type == 0 || c.sample_rate == 0)
        return FLV_ERR_INVALID; /* null object type, reserved index 13/14, or rate 0 */
    if (c.channel_config != 0 && aac_channels[c.channel_config] == 0) return FLV_ERR_INVALID;
    c.channels = aac_channels[c.channel_config];
    c.adts_compatible = c.object_type >= 1 && c.object_type <= 4 && c.sampling_index < 13 && c.channel_config >= 1 &&
                        c.channel_config <= 7;
    *out = c;
    return FLV_OK;
}

/* ---- NAL units ---- */

void flv_nalu_iter_init(struct flv_nalu_iter *it, const uint8_t *p, size_t len, uint8_t length_size) {
    it->p = p;
    it->len = p != NULL ? len : 0;
    it->pos = 0;
    it->length_size = length_size;
}

int flv_nalu_next(struct flv_nalu_iter *it, const uint8_t **nal, size_t *nal_len) {
    size_t n = 0;
    uint8_t ls = it->length_size;

    if (ls != 1 && ls != 2 && ls != 4) return FLV_ERR_ARG;
    if (it->pos == it->len) return 0;
    if (it->len - it->pos < ls) return FLV_ERR_TRUNCATED;
    for (uint8_t i = 0; i < ls; i++)
        n = (n << 8) | it->p[it->pos + i];
    if (it->len - it->pos - ls < n) return FLV_ERR_TRUNCATED;
    it->pos += ls;
    if (nal != NULL) *nal = it->p + it->pos;
    if (nal_len != NULL) *nal_len = n;
    it->pos += n;
    return 1;
}

int flv_nalus_validate(const uint8_t *p, size_t len, uint8_t length_size, uint32_t *count) {
    struct flv_nalu_iter it;
    uint32_t n = 0;
    int rc;

    if (count != NULL) *count = 0;
    if (p == NULL && len > 0) return FLV_ERR_ARG;
    flv_nalu_iter_init(&it, p, len, length_size);
    while ((rc = flv_nalu_next(&it, NULL, NULL)) == 1)
        n++;
    if (rc < 0) return rc;
    if (count != NULL) *count = n;
    return FLV_OK;
}

const char *flv_strerror(int status) {
    switch (status) {
    case FLV_OK:
        return "ok";
    case FLV_ERR_ARG:
        return "invalid argument";
    case FLV_ERR_TRUNCATED:
        return "FLV data truncated";
    case FLV_ERR_INVALID:
        return "invalid FLV / codec configuration data";
    case FLV_ERR_UNSUPPORTED:
        return "unsupported codec or packet type";
    default:
        return "unknown FLV error";
    }
}
