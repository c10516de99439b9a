/*
 * tests/fuzz/fuzz_rtmp_chunk.c - fuzz the RTMP chunk stream de-framer and encoder.
 *
 * Input: byte 0 seeds how the rest is split into decode calls; byte 1 picks the limits (small
 * ones so that every limit is reached); the rest is the chunk stream after the handshake.
 * Checks: the same messages (digest over every field and payload) and the same final status
 * whether fed at once or in pieces; every message respects the limits; reassembly memory never
 * exceeds max_buffered; every message re-encoded with our encoder (mirroring Set Chunk Size)
 * decodes back identically. Command and media messages also go through the AMF0 and FLV
 * parsers, as the connection layer would do.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/amf0.c"
#include "plugins/rtmp/chunk.c"
#include "plugins/rtmp/flv.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

struct fz_result {
    uint64_t digest;
    size_t count;
    int status;
};

static uint64_t fz_mix(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(1099511628211);
    return h;
}

static uint64_t fz_msg_digest(uint64_t h, const struct rtmp_message *m) {
    h = fz_mix(h, &m->csid, sizeof m->csid);
    h = fz_mix(h, &m->type_id, sizeof m->type_id);
    h = fz_mix(h, &m->stream_id, sizeof m->stream_id);
    h = fz_mix(h, &m->timestamp, sizeof m->timestamp);
    h = fz_mix(h, &m->len, sizeof m->len);
    return m->len ? fz_mix(h, m->payload, m->len) : h;
}

static void fz_parse_payload(const struct rtmp_message *m) {
    if (m->type_id == RTMP_MSG_COMMAND_AMF0) {
        struct amf0_command cmd;
        if (amf0_command_decode(m->payload, m->len, NULL, &cmd) == AMF0_OK) amf0_command_clear(&cmd);
    } else if (m->type_id == RTMP_MSG_VIDEO) {
        struct flv_video v;
        struct flv_avc_config avc;
        if (flv_video_parse(m->payload, m->len, &v) == FLV_OK) {
            if (v.packet == FLV_VPKT_SEQUENCE_START && v.codec == FLV_VCODEC_H264)
                (void)flv_avcc_parse(v.body, v.body_len, &avc);
            else if (v.packet == FLV_VPKT_CODED_FRAMES)
                (void)flv_nalus_validate(v.body, v.body_len, 4, NULL);
        }
    } else if (m->type_id == RTMP_MSG_AUDIO) {
        struct flv_audio a;
        struct flv_aac_config asc;
        if (flv_audio_parse(m->payload, m->len, &a) == FLV_OK && a.packet == FLV_APKT_AAC_SEQUENCE_HEADER)
            (void)flv_asc_parse(a.body, a.body_len, &asc);
    }
}

/* Appends the message, chunked by enc, to *out. */
static void fz_encode(struct rtmp_chunk_encoder *enc, const struct rtmp_message *m, uint8_t **out, size_t *len,
                      size_t *cap) {
    size_t need = rtmp_chunk_encoded_size(enc, m), written = 0;
    FZ_CHECK(need > 0);
    if (*len + need > *cap) {
        *cap = (*len + need) * 2;
        *out = realloc(*out, *cap);
        FZ_CHECK(*out != NULL);
    }
    FZ_CHECK(rtmp_chunk_encode(enc, m, *out + *len, need, &written) == 0 && written == need);
    *len += written;
    if (m->type_id == RTMP_MSG_SET_CHUNK_SIZE) /* the peer applies it: so must we */
        FZ_CHECK(rtmp_chunk_encoder_set_chunk_size(enc, ck_be32(m->payload)) == 0);
}

static struct fz_result fz_run(const struct rtmp_chunk_limits *lim, const uint8_t *data, size_t size, uint8_t seed,
                               bool deep, uint8_t **re, size_t *re_len) {
    struct fz_result r = {UINT64_C(14695981039346656037), 0, RTMP_CHUNK_NEED_MORE};
    struct rtmp_chunk_decoder *dec = rtmp_chunk_decoder_new(lim);
    struct rtmp_chunk_encoder enc;
    uint32_t rng = seed;
    size_t off = 0, re_cap = 0;

    FZ_CHECK(dec != NULL);
    rtmp_chunk_encoder_init(&enc);
    while (off < size) {
        size_t piece = size - off, used = 0;
        struct rtmp_message m;
        int rc;
        if (seed) {
            rng = rng * 1103515245u + 12345u;
            piece = 1 + (rng >> 16) % (seed % 32 + 1) * (seed & 0x80 ? 61 : 1);
            if (piece > size - off) piece = size - off;
        }
        rc = rtmp_chunk_decode(dec, data + off, piece, &used, &m);
        FZ_CHECK(used <= piece);
        FZ_CHECK(dec->buffered <= lim->max_buffered);
        off += used;
        if (rc < 0) {
            FZ_CHECK(rtmp_chunk_decode(dec, data + off, size - off, &used, &m) == rc && !used);
            r.status = rc;
            break;
        }
        if (rc == RTMP_CHUNK_NEED_MORE) {
            FZ_CHECK(used == piece);
            continue;
        }
        FZ_CHECK(rc == RTMP_CHUNK_MESSAGE);
        FZ_CHECK(m.csid >= RTMP_CSID_MIN && m.csid <= RTMP_CSID_MAX);
        FZ_CHECK(m.len <= lim->max_message_len && (m.len == 0) == (m.payload == NULL));
        r.count++;
        r.digest = fz_msg_digest(r.digest, &m);
        if (deep) {
            fz_parse_payload(&m);
            fz_encode(&enc, &m, re, re_len, &re_cap);
        }
    }
    rtmp_chunk_decoder_free(dec);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const uint32_t msg_lens[] = {64, 4096, 8u << 20};
    static const uint32_t streams[] = {2, 8, 64};
    static const uint32_t buffered[] = {256, 65536, 16u << 20};
    struct rtmp_chunk_limits lim;
    struct fz_result whole, split, again;
    uint8_t *re = NULL;
    size_t re_len = 0;
    uint8_t seed;

    if (size < 2) return 0;
    seed = data[0];
    lim.max_message_len = msg_lens[data[1] % 3];
    lim.max_chunk_streams = streams[(data[1] / 3) % 3];
    lim.max_buffered = buffered[(data[1] / 9) % 3];
    data += 2;
    size -= 2;

    whole = fz_run(&lim, data, size, 0, true, &re, &re_len);
    split = fz_run(&lim, data, size, seed ? seed : 1, false, NULL, NULL);
    FZ_CHECK(whole.status == split.status);
    FZ_CHECK(whole.count == split.count && whole.digest == split.digest);

    /* Our own encoding of the same messages must decode to the same messages. Sequential
     * messages never need more memory than the original interleaving did. */
    again = fz_run(&lim, re, re_len, seed, false, NULL, NULL);
    FZ_CHECK(again.status == RTMP_CHUNK_NEED_MORE);
    FZ_CHECK(again.count == whole.count && again.digest == whole.digest);
    free(re);
    return 0;
}
