/*
 * hls/fmp4 - in-memory fragmented-MP4 muxer on top of libavformat. See fmp4.h.
 *
 * libavformat "mp4" muxer options, and why:
 *   movflags=empty_moov        ftyp+moov (no samples) written by avformat_write_header:
 *                              the init segment exists before any media and is kept
 *                              apart from the fragments.
 *            +frag_custom      fragments are cut only when we flush (av_write_frame
 *                              with NULL), never by size/duration/keyframe heuristics.
 *            +default_base_moof  tfhd uses default-base-is-moof (no absolute
 *                              base_data_offset), so every moof+mdat is position
 *                              independent: parts can be served, cached and
 *                              concatenated in any grouping (CMAF / MSE requirement).
 *            +frag_discont     each track's timeline starts at its first DTS instead
 *                              of being re-based to 0; with use_editlist=0 this keeps
 *                              absolute timestamps in tfdt (A/V offset preserved,
 *                              output DTS == input DTS rescaled) without edit lists,
 *                              which MSE players ignore. Without it a track starting
 *                              at a non-zero DTS after the moov is written is
 *                              shifted to 0 (libavformat warns "set delay_moov").
 *   use_editlist=0             see above; no elst in the moov.
 *   video_track_timescale=90000  conventional video timescale; exact for 1/1000 input.
 *   avoid_negative_ts=disabled never shift timestamps (negative input DTS is refused
 *                              instead), so output == input rescaled, always.
 * delay_moov is deliberately NOT used: it would postpone the moov to the first
 * fragment flush and re-base tracks through an edit list.
 */
#include "plugins/hls/fmp4.h"

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define FMP4_IO_BUFFER 32768
#define FMP4_MOVFLAGS "empty_moov+frag_custom+default_base_moof+frag_discont"
#ifndef FMP4_ROTATE_AFTER
#define FMP4_ROTATE_AFTER 8192 /* chunks; ~45 min of 1/3 s parts */
#endif

struct fmp4_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom;
};

struct fmp4_track {
    enum hls_fmp4_codec codec;
    AVStream *st;
    AVRational in_tb;
    AVRational out_tb;
    int nal_len_size; /* 0 for audio */
    int sample_rate;
    AVPacket *held; /* most recent packet, duration unknown */
    bool has_held;
    int64_t last_duration; /* output tb; 0 if unknown */
};

struct hls_fmp4 {
    AVFormatContext *oc; /* current libavformat muxer (replaced by rotate()) */
    AVIOContext *pb;     /* ours, shared by every context */
    struct fmp4_buf out; /* bytes produced since the last cut */
    uint8_t *init;
    size_t init_size;
    struct fmp4_track tracks[HLS_FMP4_MAX_TRACKS];
    unsigned ntracks;
    unsigned ref;
    bool failed;
    bool finished;
    bool no_rotate;
    unsigned chunks_since_open;
    unsigned rotations;
    /* current chunk */
    bool part_has_data;
    bool part_has_ref;
    bool part_independent;
    int64_t part_start;
};

/* ---- extradata validation (pure) ---- */

static unsigned rd16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

int hls_fmp4_check_avcc(const uint8_t *p, size_t n, int *nal_length_size)
{
    if (!p || n < 7 || p[0] != 1)
        return HLS_FMP4_ECODEC;
    int len_size = (p[4] & 3) + 1;
    if (len_size == 3)
        return HLS_FMP4_ECODEC;
    size_t off = 5;
    for (int kind = 0; kind < 2; kind++) { /* SPS then PPS */
        if (off >= n)
            return HLS_FMP4_ECODEC;
        unsigned count = kind == 0 ? (p[off] & 0x1f) : p[off];
        off++;
        if (count == 0)
            return HLS_FMP4_ECODEC;
        for (unsigned i = 0; i < count; i++) {
            if (n - off < 2)
                return HLS_FMP4_ECODEC;
            size_t len = rd16(p + off);
            off += 2;
            if (len == 0 || len > n - off)
                return HLS_FMP4_ECODEC;
            unsigned type = p[off] & 0x1f;
            if (type != (kind == 0 ? 7u : 8u))
                return HLS_FMP4_ECODEC;
            off += len;
        }
    }
    if (nal_length_size)
        *nal_length_size = len_size;
    return HLS_FMP4_OK;
}

int hls_fmp4_check_hvcc(const uint8_t *p, size_t n, int *nal_length_size)
{
    if (!p || n < 23 || p[0] != 1)
        return HLS_FMP4_ECODEC;
    int len_size = (p[21] & 3) + 1;
    if (len_size == 3)
        return HLS_FMP4_ECODEC;
    unsigned arrays = p[22];
    size_t off = 23;
    bool vps = false, sps = false, pps = false;
    for (unsigned a = 0; a < arrays; a++) {
        if (n - off < 3)
            return HLS_FMP4_ECODEC;
        unsigned type = p[off] & 0x3f;
        unsigned count = rd16(p + off + 1);
        off += 3;
        for (unsigned i = 0; i < count; i++) {
            if (n - off < 2)
                return HLS_FMP4_ECODEC;
            size_t len = rd16(p + off);
            off += 2;
            if (len < 2 || len > n - off)
                return HLS_FMP4_ECODEC;
            if (((p[off] >> 1) & 0x3f) != type)
                return HLS_FMP4_ECODEC;
            off += len;
        }
        if (count > 0) {
            vps |= type == 32;
            sps |= type == 33;
            pps |= type == 34;
        }
    }
    if (!vps || !sps || !pps)
        return HLS_FMP4_ECODEC;
    if (nal_length_size)
        *nal_length_size = len_size;
    return HLS_FMP4_OK;
}

int hls_fmp4_check_asc(const uint8_t *p, size_t n)
{
    if (!p || n < 2)
        return HLS_FMP4_ECODEC;
    /* 5 bits audio object type (31 = escape, 6 more bits), 4 bits frequency
     * index (15 = explicit 24-bit rate), 4 bits channel configuration. */
    uint32_t bits = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                    (n > 2 ? (uint32_t)p[2] << 8 : 0) | (n > 3 ? p[3] : 0);
    size_t pos = 5;
    unsigned aot = bits >> 27;
    if (aot == 31) {
        aot = 32 + ((bits >> 21) & 0x3f);
        pos += 6;
    }
    if (aot == 0)
        return HLS_FMP4_ECODEC;
    unsigned freq = (bits >> (32 - pos - 4)) & 0xf;
    pos += 4;
    if (freq == 13 || freq == 14)
        return HLS_FMP4_ECODEC;
    if (freq == 15)
        pos += 24;
    pos += 4; /* channel configuration */
    if ((pos + 7) / 8 > n)
        return HLS_FMP4_ECODEC;
    if (freq != 15) {
        unsigned chan = (bits >> (32 - pos)) & 0xf;
        if (chan > 7 && chan < 11)
            return HLS_FMP4_ECODEC; /* reserved */
    }
    return HLS_FMP4_OK;
}

/* Length-prefixed NAL units must tile the payload exactly. */
static int check_nals(const uint8_t *p, size_t n, int len_size)
{
    size_t off = 0;
    while (off < n) {
        if (n - off < (size_t)len_size)
            return HLS_FMP4_EDATA;
        size_t len = 0;
        for (int i = 0; i < len_size; i++)
            len = len << 8 | p[off + (size_t)i];
        off += (size_t)len_size;
        if (len > n - off)
            return HLS_FMP4_EDATA;
        off += len;
    }
    return HLS_FMP4_OK;
}

/* ---- output buffer behind the AVIOContext ---- */

static int write_cb(void *opaque, uint8_t *data, int size)
{
    struct fmp4_buf *b = opaque;
    if (size <= 0)
        return 0;
    if ((size_t)size > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < (size_t)size) {
            if (cap > SIZE_MAX / 2)
                goto oom;
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d)
            goto oom;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, (size_t)size);
    b->len += (size_t)size;
    return size;
oom:
    b->oom = true;
    return AVERROR(ENOMEM);
}

static void buf_take(struct fmp4_buf *b, uint8_t **data, size_t *size)
{
    if (b->len == 0) {
        *data = NULL;
        *size = 0;
        return;
    }
    *data = b->data;
    *size = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
}

static int av_status(const struct hls_fmp4 *m, int err)
{
    if (err == AVERROR(ENOMEM) || m->out.oom)
        return HLS_FMP4_ENOMEM;
    return HLS_FMP4_EMUX;
}

/* ---- creation ---- */

static int check_track(const struct hls_fmp4_track *t, int *nal_len_size)
{
    if (t->time_base.num <= 0 || t->time_base.den <= 0)
        return HLS_FMP4_EINVAL;
    if (t->extradata_size > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE)
        return HLS_FMP4_ECODEC;
    *nal_len_size = 0;
    switch (t->codec) {
    case HLS_FMP4_H264:
    case HLS_FMP4_HEVC:
        if (t->width <= 0 || t->height <= 0)
            return HLS_FMP4_ECODEC;
        return t->codec == HLS_FMP4_H264
                   ? hls_fmp4_check_avcc(t->extradata, t->extradata_size, nal_len_size)
                   : hls_fmp4_check_hvcc(t->extradata, t->extradata_size, nal_len_size);
    case HLS_FMP4_AAC:
        if (t->sample_rate <= 0 || t->channels <= 0 || t->channels > 64)
            return HLS_FMP4_ECODEC;
        return hls_fmp4_check_asc(t->extradata, t->extradata_size);
    }
    return HLS_FMP4_ECODEC;
}

static int add_stream(struct hls_fmp4 *m, unsigned i, const struct hls_fmp4_track *t,
                      int nal_len_size)
{
    struct fmp4_track *tr = &m->tracks[i];
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st)
        return HLS_FMP4_ENOMEM;
    AVCodecParameters *par = st->codecpar;
    par->extradata = av_mallocz(t->extradata_size + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata)
        return HLS_FMP4_ENOMEM;
    memcpy(par->extradata, t->extradata, t->extradata_size);
    par->extradata_size = (int)t->extradata_size;
    if (t->codec == HLS_FMP4_AAC) {
        par->codec_type = AVMEDIA_TYPE_AUDIO;
        par->codec_id = AV_CODEC_ID_AAC;
        par->sample_rate = t->sample_rate;
        par->frame_size = 1024;
        av_channel_layout_default(&par->ch_layout, t->channels);
    } else {
        par->codec_type = AVMEDIA_TYPE_VIDEO;
        par->codec_id = t->codec == HLS_FMP4_H264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC;
        if (t->codec == HLS_FMP4_HEVC)
            par->codec_tag = MKTAG('h', 'v', 'c', '1');
        par->width = t->width;
        par->height = t->height;
    }
    st->time_base = (AVRational){t->time_base.num, t->time_base.den};
    tr->codec = t->codec;
    tr->st = st;
    tr->in_tb = st->time_base;
    tr->nal_len_size = nal_len_size;
    tr->sample_rate = t->sample_rate;
    tr->held = av_packet_alloc();
    return tr->held ? HLS_FMP4_OK : HLS_FMP4_ENOMEM;
}

/* A fresh "mp4" muxer context writing to our AVIOContext. */
static AVFormatContext *new_context(struct hls_fmp4 *m)
{
    AVFormatContext *oc = NULL;
    if (avformat_alloc_output_context2(&oc, NULL, "mp4", NULL) < 0)
        return NULL;
    oc->pb = m->pb;
    oc->flags |= AVFMT_FLAG_CUSTOM_IO; /* the context never opens nor closes I/O */
    return oc;
}

/* Writes oc's header (ftyp + moov) into m->out. */
static int write_header(struct hls_fmp4 *m, AVFormatContext *oc)
{
    AVDictionary *opts = NULL;
    if (av_dict_set(&opts, "movflags", FMP4_MOVFLAGS, 0) < 0 ||
        av_dict_set(&opts, "use_editlist", "0", 0) < 0 ||
        av_dict_set(&opts, "video_track_timescale", "90000", 0) < 0 ||
        av_dict_set(&opts, "avoid_negative_ts", "disabled", 0) < 0) {
        av_dict_free(&opts);
        return HLS_FMP4_ENOMEM;
    }
    int err = avformat_write_header(oc, &opts);
    int unused = av_dict_count(opts);
    av_dict_free(&opts);
    if (err < 0)
        return av_status(m, err);
    if (unused)
        return HLS_FMP4_EMUX; /* an option was not recognised */
    avio_flush(m->pb);
    if (m->pb->error < 0 || m->out.len == 0)
        return av_status(m, m->pb->error);
    return HLS_FMP4_OK;
}

int hls_fmp4_create(const struct hls_fmp4_track *tracks, size_t n, struct hls_fmp4 **out)
{
    if (!tracks || !out || n == 0 || n > HLS_FMP4_MAX_TRACKS)
        return HLS_FMP4_EINVAL;
    *out = NULL;
    int nal_sizes[HLS_FMP4_MAX_TRACKS];
    for (size_t i = 0; i < n; i++) {
        int rc = check_track(&tracks[i], &nal_sizes[i]);
        if (rc < 0)
            return rc;
    }

    int rc = HLS_FMP4_ENOMEM;
    struct hls_fmp4 *m = calloc(1, sizeof(*m));
    if (!m)
        return HLS_FMP4_ENOMEM;
    m->ntracks = (unsigned)n;
    uint8_t *iobuf = av_malloc(FMP4_IO_BUFFER);
    if (!iobuf)
        goto fail;
    m->pb = avio_alloc_context(iobuf, FMP4_IO_BUFFER, 1, &m->out, NULL, write_cb, NULL);
    if (!m->pb) {
        av_free(iobuf);
        goto fail;
    }
    m->oc = new_context(m);
    if (!m->oc)
        goto fail;

    m->ref = UINT_MAX;
    for (unsigned i = 0; i < m->ntracks; i++) {
        rc = add_stream(m, i, &tracks[i], nal_sizes[i]);
        if (rc < 0)
            goto fail;
        if (m->ref == UINT_MAX && tracks[i].codec != HLS_FMP4_AAC)
            m->ref = i;
    }
    if (m->ref == UINT_MAX)
        m->ref = 0;

    rc = write_header(m, m->oc);
    if (rc < 0)
        goto fail;
    buf_take(&m->out, &m->init, &m->init_size);
    for (unsigned i = 0; i < m->ntracks; i++)
        m->tracks[i].out_tb = m->tracks[i].st->time_base;
    *out = m;
    return HLS_FMP4_OK;
fail:
    hls_fmp4_free(m);
    return rc;
}

/*
 * libavformat keeps a record of every fragment it wrote (for an mfra index we
 * never write), growing by ~40 bytes per track per part. To keep a long live
 * stream bounded, the muxer context is replaced by a fresh one at a segment
 * boundary every FMP4_ROTATE_AFTER chunks. The fresh context must write a
 * byte-identical init segment (it does: same parameters, no timestamps in the
 * moov); only the moof sequence numbers restart. If the init differed, the old
 * context is kept and rotation is not tried again.
 */
static void rotate(struct hls_fmp4 *m)
{
    m->chunks_since_open = 0;
    AVFormatContext *oc = new_context(m);
    if (!oc)
        return;
    AVStream *streams[HLS_FMP4_MAX_TRACKS];
    bool same = true;
    for (unsigned i = 0; i < m->ntracks && same; i++) {
        streams[i] = avformat_new_stream(oc, NULL);
        same = streams[i] &&
               avcodec_parameters_copy(streams[i]->codecpar, m->tracks[i].st->codecpar) >= 0;
        if (same)
            streams[i]->time_base = m->tracks[i].in_tb;
    }
    size_t before = m->out.len; /* 0: called right after a chunk was taken */
    same = same && write_header(m, oc) == HLS_FMP4_OK;
    avio_flush(m->pb); /* nothing of the new header may linger in the AVIO buffer */
    same = same && m->out.len - before == m->init_size &&
           memcmp(m->out.data + before, m->init, m->init_size) == 0;
    for (unsigned i = 0; i < m->ntracks && same; i++)
        same = av_cmp_q(streams[i]->time_base, m->tracks[i].out_tb) == 0;
    m->out.len = before;
    m->pb->error = 0;
    m->out.oom = false;
    if (!same) {
        avformat_free_context(oc);
        m->no_rotate = true;
        return;
    }
    avformat_free_context(m->oc);
    m->oc = oc;
    for (unsigned i = 0; i < m->ntracks; i++)
        m->tracks[i].st = streams[i];
    m->rotations++;
}

void hls_fmp4_free(struct hls_fmp4 *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->ntracks; i++)
        av_packet_free(&m->tracks[i].held);
    avformat_free_context(m->oc); /* runs the muxer's deinit; pb is ours (CUSTOM_IO) */
    if (m->pb) {
        av_freep(&m->pb->buffer);
        avio_context_free(&m->pb);
    }
    free(m->out.data);
    free(m->init);
    free(m);
}

void hls_fmp4_init_segment(const struct hls_fmp4 *m, const uint8_t **data, size_t *size)
{
    *data = m ? m->init : NULL;
    *size = m ? m->init_size : 0;
}

struct hls_fmp4_rational hls_fmp4_time_base(const struct hls_fmp4 *m, unsigned track)
{
    if (!m || track >= m->ntracks || track >= HLS_FMP4_MAX_TRACKS)
        return (struct hls_fmp4_rational){0, 1};
    return (struct hls_fmp4_rational){m->tracks[track].out_tb.num, m->tracks[track].out_tb.den};
}

unsigned hls_fmp4_reference_track(const struct hls_fmp4 *m)
{
    return m ? m->ref : 0;
}

/* ---- packets ---- */

/* Hands the held packet of track tr (duration now set) to libavformat. */
static int release_held(struct hls_fmp4 *m, unsigned t)
{
    struct fmp4_track *tr = &m->tracks[t];
    AVPacket *pkt = tr->held;
    if (t == m->ref && !m->part_has_ref) {
        m->part_has_ref = true;
        m->part_start = pkt->dts;
        m->part_independent = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
    }
    m->part_has_data = true;
    tr->last_duration = pkt->duration;
    int err = av_write_frame(m->oc, pkt);
    av_packet_unref(pkt);
    tr->has_held = false;
    if (err < 0) {
        m->failed = true;
        return av_status(m, err);
    }
    return HLS_FMP4_OK;
}

int hls_fmp4_write(struct hls_fmp4 *m, const struct hls_fmp4_packet *in)
{
    if (!m || !in || in->track >= m->ntracks || in->track >= HLS_FMP4_MAX_TRACKS || !in->data ||
        in->size == 0 || in->size > (size_t)(INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE))
        return HLS_FMP4_EINVAL;
    if (m->failed || m->finished)
        return HLS_FMP4_ESTATE;
    struct fmp4_track *tr = &m->tracks[in->track];
    if (tr->nal_len_size) {
        int rc = check_nals(in->data, in->size, tr->nal_len_size);
        if (rc < 0)
            return rc;
    }
    if (in->dts < 0 || in->pts < in->dts)
        return HLS_FMP4_ETS;
    int64_t dts = av_rescale_q(in->dts, tr->in_tb, tr->out_tb);
    int64_t pts = av_rescale_q(in->pts, tr->in_tb, tr->out_tb);
    if (tr->has_held && dts <= tr->held->dts)
        return HLS_FMP4_ETS;

    if (tr->has_held) {
        tr->held->duration = dts - tr->held->dts;
        int rc = release_held(m, in->track);
        if (rc < 0)
            return rc;
    }
    AVPacket *p = tr->held;
    if (av_new_packet(p, (int)in->size) < 0) {
        m->failed = true; /* the previous packet is out, this one is lost */
        return HLS_FMP4_ENOMEM;
    }
    memcpy(p->data, in->data, in->size);
    p->stream_index = (int)in->track;
    p->dts = dts;
    p->pts = pts;
    p->duration = 0;
    p->time_base = tr->out_tb;
    if (in->keyframe || tr->codec == HLS_FMP4_AAC)
        p->flags |= AV_PKT_FLAG_KEY;
    tr->has_held = true;
    return HLS_FMP4_OK;
}

int64_t hls_fmp4_pending_duration(const struct hls_fmp4 *m)
{
    if (!m || !m->part_has_ref || !m->tracks[m->ref].has_held)
        return 0;
    return m->tracks[m->ref].held->dts - m->part_start;
}

/* Flushes the fragment libavformat holds and moves the bytes into *out. */
static int emit_chunk(struct hls_fmp4 *m, int64_t end, struct hls_fmp4_chunk *out)
{
    memset(out, 0, sizeof(*out));
    if (!m->part_has_data)
        return HLS_FMP4_OK;
    int err = av_write_frame(m->oc, NULL);
    if (err >= 0) {
        avio_flush(m->pb);
        err = m->pb->error;
    }
    if (err < 0) {
        m->failed = true;
        return av_status(m, err);
    }
    buf_take(&m->out, &out->data, &out->size);
    if (m->part_has_ref) {
        AVRational us = {1, 1000000};
        AVRational tb = m->tracks[m->ref].out_tb;
        out->start = m->part_start;
        out->duration = end - m->part_start;
        out->duration_us = av_rescale_q(end, tb, us) - av_rescale_q(m->part_start, tb, us);
        out->independent = m->part_independent;
    }
    m->part_has_data = false;
    m->part_has_ref = false;
    return HLS_FMP4_OK;
}

int hls_fmp4_cut(struct hls_fmp4 *m, struct hls_fmp4_chunk *out)
{
    if (!m || !out)
        return HLS_FMP4_EINVAL;
    memset(out, 0, sizeof(*out));
    if (m->failed || m->finished)
        return HLS_FMP4_ESTATE;
    struct fmp4_track *ref = &m->tracks[m->ref];
    int64_t end = ref->has_held ? ref->held->dts : m->part_start;
    int rc = emit_chunk(m, end, out);
    if (rc < 0 || out->size == 0)
        return rc;
    /* rotate only where the next chunk starts a segment (reference keyframe) */
    if (++m->chunks_since_open >= FMP4_ROTATE_AFTER && !m->no_rotate && ref->has_held &&
        (ref->held->flags & AV_PKT_FLAG_KEY))
        rotate(m);
    return HLS_FMP4_OK;
}

static int64_t guess_duration(const struct fmp4_track *tr)
{
    if (tr->last_duration > 0)
        return tr->last_duration;
    if (tr->codec == HLS_FMP4_AAC)
        return av_rescale_q(1024, (AVRational){1, tr->sample_rate}, tr->out_tb);
    int64_t d = av_rescale_q(1, (AVRational){1, 30}, tr->out_tb);
    return d > 0 ? d : 1;
}

int hls_fmp4_finish(struct hls_fmp4 *m, struct hls_fmp4_chunk *out)
{
    if (!m || !out)
        return HLS_FMP4_EINVAL;
    memset(out, 0, sizeof(*out));
    if (m->failed || m->finished)
        return HLS_FMP4_ESTATE;
    int64_t end = m->part_start;
    for (unsigned i = 0; i < m->ntracks; i++) {
        struct fmp4_track *tr = &m->tracks[i];
        if (!tr->has_held)
            continue;
        tr->held->duration = guess_duration(tr);
        if (i == m->ref)
            end = tr->held->dts + tr->held->duration;
        int rc = release_held(m, i);
        if (rc < 0)
            return rc;
    }
    int rc = emit_chunk(m, end, out);
    m->finished = true;
    return rc;
}
