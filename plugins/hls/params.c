/*
 * params.c - codec parameters read from a track's extradata, for the ones a source may leave
 * out or get wrong (an RTMP publisher's onMetaData is optional and its FLV audio header says
 * 44.1 kHz for every AAC stream): picture size from the H.264 / HEVC sequence parameter set in
 * the avcC / hvcC record, sample rate and channel count from the AAC AudioSpecificConfig.
 * Pure functions over a buffer with explicit limits; no allocation. Any thread.
 */
#include <string.h>

#include "plugins/hls/params.h"

/* ---- bit reader over an RBSP (emulation prevention bytes removed on the fly) ------------- */
typedef struct bits {
    const uint8_t *p;
    size_t n;       /* bytes */
    size_t byte;    /* next byte to load */
    uint64_t cache; /* bits not consumed yet, left-aligned */
    int have;
    int zeros; /* consecutive zero bytes loaded (for 00 00 03) */
    bool raw;  /* plain bytes, not an RBSP */
    bool err;
} bits;

static void bits_init(bits *b, const uint8_t *p, size_t n) {
    memset(b, 0, sizeof *b);
    b->p = p;
    b->n = n;
}

static unsigned bit1(bits *b) {
    if (b->have == 0) {
        if (b->byte >= b->n) {
            b->err = true;
            return 0;
        }
        uint8_t c = b->p[b->byte++];
        if (!b->raw && b->zeros >= 2 && c == 3) { /* emulation prevention byte */
            b->zeros = 0;
            if (b->byte >= b->n) {
                b->err = true;
                return 0;
            }
            c = b->p[b->byte++];
        }
        b->zeros = c == 0 ? b->zeros + 1 : 0;
        b->cache = (uint64_t)c << 56;
        b->have = 8;
    }
    unsigned v = (unsigned)(b->cache >> 63);
    b->cache <<= 1;
    b->have--;
    return v;
}

static uint32_t bitsn(bits *b, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 1 | bit1(b);
    return v;
}

static uint32_t ue(bits *b) {
    int lz = 0;
    while (!bit1(b)) {
        if (b->err || ++lz > 31) {
            b->err = true;
            return 0;
        }
    }
    return lz ? ((1u << lz) - 1) + bitsn(b, lz) : 0;
}

static int32_t se(bits *b) {
    uint32_t k = ue(b);
    return k & 1 ? (int32_t)((k + 1) / 2) : -(int32_t)(k / 2);
}

static void skip_scaling_list(bits *b, int size) {
    int last = 8, next = 8;
    for (int j = 0; j < size && !b->err; j++) {
        if (next != 0) {
            int32_t delta = se(b); /* delta_scale: -128..127 (H.264 7.4.2.1.1.1); more would overflow */
            if (delta < -128 || delta > 127) {
                b->err = true;
                return;
            }
            next = (last + delta + 256) % 256;
        }
        last = next == 0 ? last : next;
    }
}

/* H.264 seq_parameter_set_rbsp (ITU-T H.264 7.3.2.1.1), NAL header byte included. */
static int h264_sps_dims(const uint8_t *p, size_t n, int *w, int *h) {
    bits b;
    bits_init(&b, p + 1, n - 1);
    unsigned profile = bitsn(&b, 8);
    bitsn(&b, 16); /* constraint flags, level */
    ue(&b);        /* seq_parameter_set_id */
    unsigned chroma = 1;
    bool separate = false;
    if (profile == 100 || profile == 110 || profile == 122 || profile == 244 || profile == 44 || profile == 83 ||
        profile == 86 || profile == 118 || profile == 128 || profile == 138 || profile == 139 || profile == 134 ||
        profile == 135) {
        chroma = ue(&b);
        if (chroma == 3) separate = bit1(&b);
        ue(&b);       /* bit_depth_luma_minus8 */
        ue(&b);       /* bit_depth_chroma_minus8 */
        bit1(&b);     /* qpprime_y_zero_transform_bypass_flag */
        if (bit1(&b)) /* seq_scaling_matrix_present_flag */
            for (int i = 0; i < (chroma != 3 ? 8 : 12) && !b.err; i++)
                if (bit1(&b)) skip_scaling_list(&b, i < 6 ? 16 : 64);
    }
    ue(&b); /* log2_max_frame_num_minus4 */
    unsigned poc = ue(&b);
    if (poc == 0) {
        ue(&b);
    } else if (poc == 1) {
        bit1(&b);
        se(&b);
        se(&b);
        unsigned cycle = ue(&b);
        if (cycle > 255) return -1;
        for (unsigned i = 0; i < cycle && !b.err; i++)
            se(&b);
    }
    ue(&b);   /* max_num_ref_frames */
    bit1(&b); /* gaps_in_frame_num_value_allowed_flag */
    uint32_t wmbs = ue(&b) + 1, hmaps = ue(&b) + 1;
    unsigned frame_mbs_only = bit1(&b);
    if (!frame_mbs_only) bit1(&b);
    bit1(&b); /* direct_8x8_inference_flag */
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (bit1(&b)) {
        cl = ue(&b);
        cr = ue(&b);
        ct = ue(&b);
        cb = ue(&b);
    }
    if (b.err || wmbs > 1024 || hmaps > 1024 || chroma > 3) return -1;
    unsigned array_type = separate ? 0 : chroma;
    unsigned cux = array_type == 0 ? 1 : (array_type == 3 ? 1 : 2);
    unsigned cuy = (array_type == 0 ? 1 : (array_type == 1 ? 2 : 1)) * (2 - frame_mbs_only);
    int64_t width = (int64_t)wmbs * 16 - (int64_t)cux * ((int64_t)cl + cr);
    int64_t height = (int64_t)(2 - frame_mbs_only) * hmaps * 16 - (int64_t)cuy * ((int64_t)ct + cb);
    if (width <= 0 || height <= 0) return -1;
    *w = (int)width;
    *h = (int)height;
    return 0;
}

int hls_h264_dims(const uint8_t *avcc, size_t n, int *w, int *h) {
    /* version, profile, compat, level, length size, then the SPS count and the first SPS */
    if (!avcc || n < 8 || avcc[0] != 1 || (avcc[5] & 0x1f) == 0) return -1;
    size_t len = (size_t)avcc[6] << 8 | avcc[7];
    if (len < 4 || len > n - 8 || (avcc[8] & 0x1f) != 7) return -1;
    return h264_sps_dims(avcc + 8, len, w, h);
}

/* profile_tier_level(1, max_sub_layers_minus1) (ITU-T H.265 7.3.3) */
static void hevc_skip_ptl(bits *b, unsigned max_sub_layers_minus1) {
    bitsn(b, 32); /* general profile space, tier, idc, 32 compatibility flags: 2+1+5+... */
    bitsn(b, 32);
    bitsn(b, 24); /* ... 4 flags + 43 reserved + 1 = 48 bits after the flags; 96 bits in all */
    bitsn(b, 8);  /* general_level_idc */
    bool prof[8] = {false}, lev[8] = {false};
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        prof[i] = bit1(b);
        lev[i] = bit1(b);
    }
    if (max_sub_layers_minus1 > 0)
        for (unsigned i = max_sub_layers_minus1; i < 8; i++)
            bitsn(b, 2);
    for (unsigned i = 0; i < max_sub_layers_minus1; i++) {
        if (prof[i]) {
            bitsn(b, 32);
            bitsn(b, 32);
            bitsn(b, 24);
        }
        if (lev[i]) bitsn(b, 8);
    }
}

static int hevc_sps_dims(const uint8_t *p, size_t n, int *w, int *h) {
    if (n < 3) return -1;
    bits b;
    bits_init(&b, p + 2, n - 2); /* two-byte NAL header */
    bitsn(&b, 4);                /* sps_video_parameter_set_id */
    unsigned msl = bitsn(&b, 3); /* sps_max_sub_layers_minus1 */
    bit1(&b);                    /* sps_temporal_id_nesting_flag */
    if (msl > 6) return -1;
    hevc_skip_ptl(&b, msl);
    ue(&b); /* sps_seq_parameter_set_id */
    unsigned chroma = ue(&b);
    if (chroma == 3) bit1(&b);
    uint32_t width = ue(&b), height = ue(&b);
    uint32_t cl = 0, cr = 0, ct = 0, cb = 0;
    if (bit1(&b)) { /* conformance_window_flag */
        cl = ue(&b);
        cr = ue(&b);
        ct = ue(&b);
        cb = ue(&b);
    }
    if (b.err || chroma > 3 || width == 0 || height == 0 || width > 16888 || height > 16888) return -1;
    unsigned sw = chroma == 1 || chroma == 2 ? 2 : 1, sh = chroma == 1 ? 2 : 1;
    int64_t fw = (int64_t)width - (int64_t)sw * ((int64_t)cl + cr);
    int64_t fh = (int64_t)height - (int64_t)sh * ((int64_t)ct + cb);
    if (fw <= 0 || fh <= 0) return -1;
    *w = (int)fw;
    *h = (int)fh;
    return 0;
}

int hls_hevc_dims(const uint8_t *p, size_t n, int *w, int *h) {
    if (!p || n < 23 || p[0] != 1) return -1;
    unsigned arrays = p[22];
    size_t off = 23;
    for (unsigned a = 0; a < arrays; a++) {
        if (n - off < 3) return -1;
        unsigned type = p[off] & 0x3f, count = (unsigned)p[off + 1] << 8 | p[off + 2];
        off += 3;
        for (unsigned i = 0; i < count; i++) {
            if (n - off < 2) return -1;
            size_t len = (size_t)p[off] << 8 | p[off + 1];
            off += 2;
            if (len > n - off) return -1;
            if (type == 33) return hevc_sps_dims(p + off, len, w, h);
            off += len;
        }
    }
    return -1;
}

int hls_asc_info(const uint8_t *p, size_t n, int *sample_rate, int *channels) {
    static const int rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                  22050, 16000, 12000, 11025, 8000,  7350};
    if (!p || n < 2) return -1;
    bits b;
    bits_init(&b, p, n);
    b.raw = true;
    unsigned aot = bitsn(&b, 5);
    if (aot == 31) aot = 32 + bitsn(&b, 6);
    unsigned idx = bitsn(&b, 4);
    int rate = idx == 15 ? (int)bitsn(&b, 24) : (idx < 13 ? rates[idx] : 0);
    unsigned chan = bitsn(&b, 4);
    if (b.err || aot == 0 || rate <= 0) return -1;
    static const int chans[8] = {0, 1, 2, 3, 4, 5, 6, 8};
    *sample_rate = rate;
    *channels = chan < 8 ? chans[chan] : 0; /* 0: defined by a program config element */
    return 0;
}
