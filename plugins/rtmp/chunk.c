/*
 * plugins/rtmp/chunk.c - RTMP chunk stream de-framer and encoder (see chunk.h).
 *
 * Decoder structure: one `struct cstream` per chunk stream id seen (created by a type-0 header,
 * looked up by every other header), holding the last header values and the reassembly buffer
 * of the message in progress. The byte-level parser has two phases:
 *   header:  collect 1-3 basic-header bytes, 0/3/7/11 message-header bytes and, when the
 *            timestamp field is 0xFFFFFF (or, for type 3, when the stream's last header used one),
 *            4 extended-timestamp bytes, into dec->hdr; then apply them to the stream.
 *   payload: copy up to min(chunk size, bytes left in the message) into the stream's buffer.
 * Buffers grow to the next power of two of the bytes actually received (capped at the declared
 * message length), and their total capacity is charged against limits.max_buffered.
 */
#include "chunk.h"

#include <stdlib.h>
#include <string.h>

#define HDR_MAX      18 /* 3 basic + 11 message + 4 extended timestamp */
#define TS_EXTENDED  0xFFFFFFu
#define SHRINK_SLACK 4096u

struct cstream {
    uint32_t csid;
    uint32_t timestamp; /* absolute timestamp of the current / last message */
    uint32_t ts_field;  /* last timestamp field (absolute for type 0, delta otherwise) */
    uint32_t msg_len;
    uint32_t stream_id;
    uint8_t type_id;
    bool ext_ts;      /* the last type 0/1/2 header carried an extended timestamp */
    bool in_progress; /* a message has started and is not complete */
    uint32_t received;
    uint8_t *buf;
    uint32_t cap;
};

struct rtmp_chunk_decoder {
    struct rtmp_chunk_limits lim;
    uint32_t chunk_size;
    struct cstream *streams;
    uint32_t nstreams;
    uint32_t streams_cap;
    uint64_t buffered; /* sum of cstream.cap */
    int error;         /* sticky first error */

    /* parser state */
    bool in_payload;
    bool ext_decided;
    uint8_t fmt;
    uint8_t basic_len;
    uint8_t hdr_have;
    uint8_t hdr_need;
    uint8_t hdr[HDR_MAX];
    uint32_t cur;        /* index of the stream of the chunk being parsed */
    uint32_t chunk_left; /* payload bytes left in the current chunk */

    bool last_valid; /* a message was returned by the latest call */
    uint32_t last;   /* its stream index */
};

static const uint8_t msg_header_len[4] = {11, 7, 3, 0};

static uint32_t ck_be24(const uint8_t *p) {
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

static uint32_t ck_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ck_be24(p + 1);
}

static uint32_t ck_le32(const uint8_t *p) {
    return p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void ck_put_be24(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

static void ck_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    ck_put_be24(p + 1, v);
}

static void ck_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void rtmp_chunk_limits_default(struct rtmp_chunk_limits *lim) {
    lim->max_message_len = 8u << 20;
    lim->max_chunk_streams = 64;
    lim->max_buffered = 16u << 20;
}

struct rtmp_chunk_decoder *rtmp_chunk_decoder_new(const struct rtmp_chunk_limits *lim) {
    struct rtmp_chunk_limits l;
    struct rtmp_chunk_decoder *dec;

    if (lim != NULL)
        l = *lim;
    else
        rtmp_chunk_limits_default(&l);
    if (l.max_message_len == 0 || l.max_message_len > RTMP_MESSAGE_LEN_MAX || l.max_chunk_streams == 0 ||
        l.max_buffered == 0)
        return NULL;
    dec = calloc(1, sizeof *dec);
    if (dec == NULL) return NULL;
    dec->lim = l;
    dec->chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
    return dec;
}

void rtmp_chunk_decoder_free(struct rtmp_chunk_decoder *dec) {
    if (dec == NULL) return;
    for (uint32_t i = 0; i < dec->nstreams; i++)
        free(dec->streams[i].buf);
    free(dec->streams);
    free(dec);
}

uint32_t rtmp_chunk_decoder_chunk_size(const struct rtmp_chunk_decoder *dec) {
    return dec->chunk_size;
}

static struct cstream *find_stream(struct rtmp_chunk_decoder *dec, uint32_t csid, uint32_t *idx) {
    for (uint32_t i = 0; i < dec->nstreams; i++) {
        if (dec->streams[i].csid == csid) {
            if (idx != NULL) *idx = i;
            return &dec->streams[i];
        }
    }
    return NULL;
}

static int add_stream(struct rtmp_chunk_decoder *dec, uint32_t csid, uint32_t *idx) {
    if (dec->nstreams >= dec->lim.max_chunk_streams) return RTMP_CHUNK_ERR_TOO_MANY_STREAMS;
    if (dec->nstreams == dec->streams_cap) {
        uint32_t ncap = dec->streams_cap ? dec->streams_cap * 2 : 4;
        struct cstream *ns;
        if (ncap > dec->lim.max_chunk_streams) ncap = dec->lim.max_chunk_streams;
        ns = realloc(dec->streams, (size_t)ncap * sizeof *ns);
        if (ns == NULL) return RTMP_CHUNK_ERR_NOMEM;
        dec->streams = ns;
        dec->streams_cap = ncap;
    }
    memset(&dec->streams[dec->nstreams], 0, sizeof dec->streams[0]);
    dec->streams[dec->nstreams].csid = csid;
    *idx = dec->nstreams++;
    return 0;
}

/* Makes room for `need` bytes in cs->buf (need <= cs->msg_len). The capacity is a function of
 * the largest `need` so far (next power of two from 64, capped at the message length), so memory
 * use - and whether max_buffered is hit - does not depend on how the input was split into reads. */
static int ck_reserve(struct rtmp_chunk_decoder *dec, struct cstream *cs, uint32_t need) {
    uint64_t ncap = 64;
    uint8_t *nb;

    if (need <= cs->cap) return 0;
    while (ncap < need)
        ncap <<= 1;
    if (ncap > cs->msg_len) ncap = cs->msg_len;
    if (dec->buffered - cs->cap + ncap > dec->lim.max_buffered) return RTMP_CHUNK_ERR_MEMORY_LIMIT;
    nb = realloc(cs->buf, (size_t)ncap);
    if (nb == NULL) return RTMP_CHUNK_ERR_NOMEM;
    dec->buffered = dec->buffered - cs->cap + ncap;
    cs->buf = nb;
    cs->cap = (uint32_t)ncap;
    return 0;
}

/* Basic header complete (and message header bytes collected): find or open the stream and
 * decide whether an extended timestamp follows. */
static int resolve_stream(struct rtmp_chunk_decoder *dec, bool *ext) {
    uint32_t csid, idx = 0;
    uint8_t c = dec->hdr[0] & 0x3F;
    struct cstream *cs;

    if (c == 0)
        csid = 64u + dec->hdr[1];
    else if (c == 1)
        csid = 64u + dec->hdr[1] + 256u * dec->hdr[2];
    else
        csid = c;

    cs = find_stream(dec, csid, &idx);
    if (cs == NULL) {
        int rc;
        if (dec->fmt != 0) return RTMP_CHUNK_ERR_UNKNOWN_STREAM;
        if ((rc = add_stream(dec, csid, &idx)) != 0) return rc;
        cs = &dec->streams[idx];
    }
    dec->cur = idx;
    if (dec->fmt == 3)
        *ext = cs->ext_ts;
    else
        *ext = ck_be24(dec->hdr + dec->basic_len) == TS_EXTENDED;
    return 0;
}

/* All header bytes are in dec->hdr: update the stream. Returns 0 or an error. */
static int apply_header(struct rtmp_chunk_decoder *dec) {
    struct cstream *cs = &dec->streams[dec->cur];
    const uint8_t *h = dec->hdr + dec->basic_len;
    bool ext = dec->hdr_need == dec->basic_len + msg_header_len[dec->fmt] + 4;
    uint32_t ext_val = ext ? ck_be32(dec->hdr + dec->hdr_need - 4) : 0;
    uint32_t field;

    if (dec->fmt != 3 && cs->in_progress)
        return RTMP_CHUNK_ERR_PROTOCOL; /* a new message header before the last one finished */

    if (dec->fmt != 3) {
        field = ext ? ext_val : ck_be24(h);
        cs->ext_ts = ext;
        cs->ts_field = field;
        if (dec->fmt == 0)
            cs->timestamp = field;
        else
            cs->timestamp += field; /* unsigned: wraps modulo 2^32 */
        if (dec->fmt <= 1) {
            cs->msg_len = ck_be24(h + 3);
            cs->type_id = h[6];
        }
        if (dec->fmt == 0) cs->stream_id = ck_le32(h + 7);
    } else if (!cs->in_progress) {
        /* Type 3 starting a new message: same header, previous timestamp field as delta. */
        if (ext) cs->ts_field = ext_val;
        cs->timestamp += cs->ts_field;
    } /* else: continuation; an extended timestamp repeats the first chunk's and is ignored */

    if (!cs->in_progress) {
        if (cs->msg_len > dec->lim.max_message_len) return RTMP_CHUNK_ERR_TOO_LONG;
        cs->in_progress = true;
        cs->received = 0;
    }
    dec->chunk_left = cs->msg_len - cs->received;
    if (dec->chunk_left > dec->chunk_size) dec->chunk_left = dec->chunk_size;
    return 0;
}

/* The stream's message is complete: fill *msg and apply Set Chunk Size / Abort. */
static int complete(struct rtmp_chunk_decoder *dec, struct rtmp_message *msg) {
    struct cstream *cs = &dec->streams[dec->cur];
    uint32_t v;

    msg->csid = cs->csid;
    msg->type_id = cs->type_id;
    msg->stream_id = cs->stream_id;
    msg->timestamp = cs->timestamp;
    msg->len = cs->msg_len;
    msg->payload = cs->msg_len ? cs->buf : NULL;
    cs->in_progress = false;
    cs->received = 0;
    dec->last_valid = true;
    dec->last = dec->cur;

    if (msg->type_id == RTMP_MSG_SET_CHUNK_SIZE) {
        if (msg->len < 4) return RTMP_CHUNK_ERR_PROTOCOL;
        v = ck_be32(msg->payload);
        if (v == 0 || v > RTMP_CHUNK_SIZE_MAX) /* also rejects a set MSB */
            return RTMP_CHUNK_ERR_CHUNK_SIZE;
        dec->chunk_size = v;
    } else if (msg->type_id == RTMP_MSG_ABORT) {
        struct cstream *target;
        if (msg->len < 4) return RTMP_CHUNK_ERR_PROTOCOL;
        target = find_stream(dec, ck_be32(msg->payload), NULL);
        if (target != NULL) {
            target->in_progress = false;
            target->received = 0;
        }
    }
    return RTMP_CHUNK_MESSAGE;
}

static int ck_fail(struct rtmp_chunk_decoder *dec, int rc) {
    dec->error = rc;
    dec->last_valid = false;
    return rc;
}

int rtmp_chunk_decode(struct rtmp_chunk_decoder *dec, const uint8_t *data, size_t len, size_t *consumed,
                      struct rtmp_message *msg) {
    size_t pos = 0;
    int rc;

    if (consumed == NULL) return RTMP_CHUNK_ERR_ARG;
    *consumed = 0;
    if (dec == NULL || msg == NULL || (data == NULL && len > 0)) return RTMP_CHUNK_ERR_ARG;
    if (dec->error != 0) return dec->error;
    dec->last_valid = false;

    while (pos < len) {
        if (!dec->in_payload) {
            uint8_t b = data[pos++];
            dec->hdr[dec->hdr_have++] = b;
            if (dec->hdr_have == 1) {
                uint8_t c = b & 0x3F;
                dec->fmt = b >> 6;
                dec->basic_len = c == 0 ? 2 : c == 1 ? 3 : 1;
                dec->hdr_need = (uint8_t)(dec->basic_len + msg_header_len[dec->fmt]);
                dec->ext_decided = false;
            }
            if (dec->hdr_have < dec->hdr_need) continue;
            if (!dec->ext_decided) {
                bool ext = false;
                if ((rc = resolve_stream(dec, &ext)) != 0) goto fail;
                dec->ext_decided = true;
                if (ext) {
                    dec->hdr_need += 4;
                    continue;
                }
            }
            if ((rc = apply_header(dec)) != 0) goto fail;
            dec->hdr_have = 0;
            dec->in_payload = true;
        } else {
            struct cstream *cs = &dec->streams[dec->cur];
            size_t n = len - pos;
            if (n > dec->chunk_left) n = dec->chunk_left;
            if (n > 0) {
                if ((rc = ck_reserve(dec, cs, cs->received + (uint32_t)n)) != 0) goto fail;
                memcpy(cs->buf + cs->received, data + pos, n);
                cs->received += (uint32_t)n;
                dec->chunk_left -= (uint32_t)n;
                pos += n;
            }
        }
        /* A chunk ends when its payload is in (immediately for an empty message). */
        if (dec->in_payload && dec->chunk_left == 0) {
            struct cstream *cs = &dec->streams[dec->cur];
            dec->in_payload = false;
            if (cs->received == cs->msg_len) {
                *consumed = pos;
                rc = complete(dec, msg);
                if (rc < 0) return ck_fail(dec, rc);
                return rc;
            }
        }
    }
    *consumed = pos;
    return RTMP_CHUNK_NEED_MORE;

fail:
    *consumed = pos;
    return ck_fail(dec, rc);
}

uint8_t *rtmp_chunk_take_payload(struct rtmp_chunk_decoder *dec, const struct rtmp_message *msg) {
    struct cstream *cs;
    uint8_t *p;

    if (dec == NULL || msg == NULL || !dec->last_valid || msg->payload == NULL) return NULL;
    cs = &dec->streams[dec->last];
    if (cs->buf != msg->payload) return NULL;
    p = cs->buf;
    if (cs->cap - msg->len > SHRINK_SLACK) {
        uint8_t *q = realloc(p, msg->len);
        if (q != NULL) p = q;
    }
    dec->buffered -= cs->cap;
    cs->buf = NULL;
    cs->cap = 0;
    dec->last_valid = false;
    return p;
}

const char *rtmp_chunk_strerror(int status) {
    switch (status) {
    case RTMP_CHUNK_NEED_MORE:
        return "need more data";
    case RTMP_CHUNK_MESSAGE:
        return "message complete";
    case RTMP_CHUNK_ERR_ARG:
        return "invalid argument";
    case RTMP_CHUNK_ERR_NOMEM:
        return "out of memory";
    case RTMP_CHUNK_ERR_UNKNOWN_STREAM:
        return "type 1/2/3 chunk on a chunk stream that was never opened";
    case RTMP_CHUNK_ERR_TOO_LONG:
        return "message longer than the configured maximum";
    case RTMP_CHUNK_ERR_TOO_MANY_STREAMS:
        return "too many chunk streams";
    case RTMP_CHUNK_ERR_CHUNK_SIZE:
        return "invalid chunk size (must be 1..16777215)";
    case RTMP_CHUNK_ERR_PROTOCOL:
        return "chunk stream protocol violation";
    case RTMP_CHUNK_ERR_MEMORY_LIMIT:
        return "reassembly memory limit reached";
    case RTMP_CHUNK_ERR_NO_SPACE:
        return "output buffer too small";
    default:
        return "unknown chunk stream error";
    }
}

/* ---- encoder ---- */

void rtmp_chunk_encoder_init(struct rtmp_chunk_encoder *e) {
    e->chunk_size = RTMP_CHUNK_SIZE_DEFAULT;
}

int rtmp_chunk_encoder_set_chunk_size(struct rtmp_chunk_encoder *e, uint32_t size) {
    if (size == 0 || size > RTMP_CHUNK_SIZE_MAX) return RTMP_CHUNK_ERR_CHUNK_SIZE;
    e->chunk_size = size;
    return 0;
}

static size_t basic_header_len(uint32_t csid) {
    return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

static size_t put_basic_header(uint8_t *p, uint8_t fmt, uint32_t csid) {
    if (csid < 64) {
        p[0] = (uint8_t)(((uint32_t)fmt << 6) | csid);
        return 1;
    }
    if (csid < 320) {
        p[0] = (uint8_t)(fmt << 6);
        p[1] = (uint8_t)(csid - 64);
        return 2;
    }
    p[0] = (uint8_t)((fmt << 6) | 1);
    p[1] = (uint8_t)((csid - 64) & 0xFF);
    p[2] = (uint8_t)((csid - 64) >> 8);
    return 3;
}

static bool message_ok(const struct rtmp_chunk_encoder *e, const struct rtmp_message *m) {
    return e != NULL && m != NULL && m->csid >= RTMP_CSID_MIN && m->csid <= RTMP_CSID_MAX &&
           m->len <= RTMP_MESSAGE_LEN_MAX && (m->payload != NULL || m->len == 0) && e->chunk_size >= 1 &&
           e->chunk_size <= RTMP_CHUNK_SIZE_MAX;
}

size_t rtmp_chunk_encoded_size(const struct rtmp_chunk_encoder *e, const struct rtmp_message *msg) {
    size_t chunks, bh, ext;

    if (!message_ok(e, msg)) return 0;
    chunks = msg->len == 0 ? 1 : ((size_t)msg->len + e->chunk_size - 1) / e->chunk_size;
    bh = basic_header_len(msg->csid);
    ext = msg->timestamp >= TS_EXTENDED ? 4 : 0;
    return bh + 11 + ext + (chunks - 1) * (bh + ext) + msg->len;
}

int rtmp_chunk_encode(const struct rtmp_chunk_encoder *e, const struct rtmp_message *msg, uint8_t *out, size_t out_cap,
                      size_t *written) {
    size_t need, pos = 0, sent = 0;
    bool ext;

    if (written != NULL) *written = 0;
    if (written == NULL || out == NULL || !message_ok(e, msg)) return RTMP_CHUNK_ERR_ARG;
    need = rtmp_chunk_encoded_size(e, msg);
    if (need > out_cap) return RTMP_CHUNK_ERR_NO_SPACE;
    ext = msg->timestamp >= TS_EXTENDED;

    pos += put_basic_header(out + pos, 0, msg->csid);
    ck_put_be24(out + pos, ext ? TS_EXTENDED : msg->timestamp);
    ck_put_be24(out + pos + 3, msg->len);
    out[pos + 6] = msg->type_id;
    ck_put_le32(out + pos + 7, msg->stream_id);
    pos += 11;
    for (;;) {
        size_t n = msg->len - sent;
        if (ext) {
            ck_put_be32(out + pos, msg->timestamp);
            pos += 4;
        }
        if (n > e->chunk_size) n = e->chunk_size;
        if (n > 0) memcpy(out + pos, msg->payload + sent, n);
        pos += n;
        sent += n;
        if (sent >= msg->len) break;
        pos += put_basic_header(out + pos, 3, msg->csid);
    }
    *written = pos;
    return 0;
}

int rtmp_chunk_encode_control(const struct rtmp_chunk_encoder *e, uint8_t type_id, const uint8_t *payload, uint32_t len,
                              uint8_t *out, size_t out_cap, size_t *written) {
    struct rtmp_message m = {
        .csid = RTMP_CSID_CONTROL,
        .type_id = type_id,
        .stream_id = 0,
        .timestamp = 0,
        .len = len,
        .payload = payload,
    };
    return rtmp_chunk_encode(e, &m, out, out_cap, written);
}

/* ---- protocol control and User Control payloads ---- */

void rtmp_pcm_put_u32(uint8_t out[RTMP_PCM_U32_LEN], uint32_t value) {
    ck_put_be32(out, value);
}

void rtmp_pcm_put_peer_bw(uint8_t out[RTMP_PCM_PEER_BW_LEN], uint32_t window, uint8_t limit) {
    ck_put_be32(out, window);
    out[4] = limit;
}

int rtmp_pcm_get_u32(const uint8_t *p, size_t len, uint32_t *value) {
    if (p == NULL || value == NULL || len < RTMP_PCM_U32_LEN) return RTMP_CHUNK_ERR_PROTOCOL;
    *value = ck_be32(p);
    return 0;
}

int rtmp_pcm_get_peer_bw(const uint8_t *p, size_t len, uint32_t *window, uint8_t *limit) {
    if (p == NULL || window == NULL || limit == NULL || len < RTMP_PCM_PEER_BW_LEN) return RTMP_CHUNK_ERR_PROTOCOL;
    *window = ck_be32(p);
    *limit = p[4];
    return 0;
}

size_t rtmp_uc_put(uint8_t out[RTMP_UC_MAX_LEN], const struct rtmp_user_control *uc) {
    out[0] = (uint8_t)(uc->event >> 8);
    out[1] = (uint8_t)uc->event;
    ck_put_be32(out + 2, uc->value);
    if (uc->event == RTMP_UC_SET_BUFFER_LENGTH) {
        ck_put_be32(out + 6, uc->value2);
        return 10;
    }
    return 6;
}

int rtmp_uc_get(const uint8_t *p, size_t len, struct rtmp_user_control *uc) {
    if (p == NULL || uc == NULL || len < 2) return RTMP_CHUNK_ERR_PROTOCOL;
    memset(uc, 0, sizeof *uc);
    uc->event = (uint16_t)((p[0] << 8) | p[1]);
    switch (uc->event) {
    case RTMP_UC_SET_BUFFER_LENGTH:
        if (len < 10) return RTMP_CHUNK_ERR_PROTOCOL;
        uc->value2 = ck_be32(p + 6);
        break;
    case RTMP_UC_STREAM_BEGIN:
    case RTMP_UC_STREAM_EOF:
    case RTMP_UC_STREAM_DRY:
    case RTMP_UC_STREAM_IS_RECORDED:
    case RTMP_UC_PING_REQUEST:
    case RTMP_UC_PING_RESPONSE:
        if (len < 6) return RTMP_CHUNK_ERR_PROTOCOL;
        break;
    default:
        break;
    }
    if (len >= 6) uc->value = ck_be32(p + 2);
    return 0;
}
