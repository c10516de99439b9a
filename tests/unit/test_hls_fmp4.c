/*
 * Unit tests for plugins/hls/fmp4.c, the in-memory fragmented-MP4 muxer.
 *
 * The group set-up renders a short H.264 + AAC FLV (what an RTMP publisher
 * sends) with the ffmpeg CLI into /tmp, and an HEVC + AAC MP4 when libx265 is
 * available. The tests demux those with libavformat (that is only the test's
 * input: the muxer itself never opens anything), feed the packets to the muxer,
 * cut parts every ~1/3 s and segments at the 2 s keyframes, then write init +
 * segment(s) to temporary files and read them back with libavformat.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* Swap the libavformat context every 4 chunks (at the next keyframe) instead of
 * every 8192, so every test below also runs across context rotations. */
#define FMP4_ROTATE_AFTER 4
#include "plugins/hls/fmp4.c"

#include <libavcodec/avcodec.h>
#include <stdio.h>
#include <unistd.h>

#define MAX_PACKETS 4096
#define MAX_CHUNKS 256

struct fixture {
    char flv[64];  /* H.264 + AAC, FLV (1/1000 time base, AVCC, avcC) */
    char hevc[64]; /* HEVC + AAC, MP4; empty if libx265 is missing */
    char out[64];  /* scratch file for read-back */
};

/* Every input packet, in demux order. */
struct input {
    struct hls_fmp4_track tracks[HLS_FMP4_MAX_TRACKS];
    uint8_t *extradata[HLS_FMP4_MAX_TRACKS];
    unsigned ntracks;
    AVPacket *pkts[MAX_PACKETS];
    unsigned npkts;
    unsigned per_track[HLS_FMP4_MAX_TRACKS];
};

struct chunk {
    uint8_t *data;
    size_t size;
    int64_t start, duration, duration_us;
    bool independent;
    bool opens_segment;
};

struct output {
    const uint8_t *init;
    size_t init_size;
    struct chunk chunks[MAX_CHUNKS];
    unsigned nchunks;
};

/* ---- set-up ---- */

static int group_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->flv, sizeof(f->flv), "/tmp/hls_fmp4_%ld.flv", (long)getpid());
    snprintf(f->hevc, sizeof(f->hevc), "/tmp/hls_fmp4_%ld_hevc.mp4", (long)getpid());
    snprintf(f->out, sizeof(f->out), "/tmp/hls_fmp4_%ld_out.mp4", (long)getpid());
    char cmd[512];
    snprintf(
        cmd, sizeof(cmd),
        "ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=30 "
        "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 4 -c:v libx264 -g 60 -pix_fmt yuv420p "
        "-c:a aac -f flv %s",
        f->flv);
    if (system(cmd) != 0) {
        free(f);
        return -1;
    }
    snprintf(
        cmd, sizeof(cmd),
        "ffmpeg -nostdin -hide_banner -loglevel quiet -y -f lavfi -i testsrc=size=320x240:rate=30 "
        "-f lavfi -i sine -t 2 -c:v libx265 -x265-params log-level=none:keyint=30 -tag:v hvc1 "
        "-c:a aac %s",
        f->hevc);
    if (system(cmd) != 0)
        f->hevc[0] = '\0';
    *state = f;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->flv);
    if (f->hevc[0])
        unlink(f->hevc);
    unlink(f->out);
    free(f);
    return 0;
}

static void load_input(const char *path, struct input *in)
{
    memset(in, 0, sizeof(*in));
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    assert_true(ic->nb_streams >= 1 && ic->nb_streams <= HLS_FMP4_MAX_TRACKS);
    in->ntracks = ic->nb_streams;
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVStream *st = ic->streams[i];
        const AVCodecParameters *p = st->codecpar;
        in->extradata[i] = malloc((size_t)p->extradata_size);
        assert_non_null(in->extradata[i]);
        memcpy(in->extradata[i], p->extradata, (size_t)p->extradata_size);
        in->tracks[i] = (struct hls_fmp4_track){
            .codec = p->codec_id == AV_CODEC_ID_H264   ? HLS_FMP4_H264
                     : p->codec_id == AV_CODEC_ID_HEVC ? HLS_FMP4_HEVC
                                                       : HLS_FMP4_AAC,
            .extradata = in->extradata[i],
            .extradata_size = (size_t)p->extradata_size,
            .time_base = {st->time_base.num, st->time_base.den},
            .width = p->width,
            .height = p->height,
            .sample_rate = p->sample_rate,
            .channels = p->ch_layout.nb_channels,
        };
    }
    for (;;) {
        AVPacket *pkt = av_packet_alloc();
        assert_non_null(pkt);
        if (av_read_frame(ic, pkt) < 0) {
            av_packet_free(&pkt);
            break;
        }
        assert_true(in->npkts < MAX_PACKETS);
        in->per_track[pkt->stream_index]++;
        in->pkts[in->npkts++] = pkt;
    }
    /* MP4 input with B-frames starts at a negative DTS; RTMP never does, and the
     * muxer refuses it: shift everything by one common offset, as the glue would */
    int64_t min_us = 0;
    for (unsigned i = 0; i < in->npkts; i++) {
        AVRational tb = ic->streams[in->pkts[i]->stream_index]->time_base;
        int64_t us = av_rescale_q(in->pkts[i]->dts, tb, (AVRational){1, 1000000});
        min_us = us < min_us ? us : min_us;
    }
    for (unsigned i = 0; min_us < 0 && i < in->npkts; i++) {
        AVRational tb = ic->streams[in->pkts[i]->stream_index]->time_base;
        int64_t shift = av_rescale_q_rnd(-min_us, (AVRational){1, 1000000}, tb, AV_ROUND_UP);
        in->pkts[i]->dts += shift;
        in->pkts[i]->pts += shift;
    }
    avformat_close_input(&ic);
}

static void free_input(struct input *in)
{
    for (unsigned i = 0; i < in->npkts; i++)
        av_packet_free(&in->pkts[i]);
    for (unsigned i = 0; i < in->ntracks; i++)
        free(in->extradata[i]);
}

static void free_output(struct output *o)
{
    for (unsigned i = 0; i < o->nchunks; i++)
        free(o->chunks[i].data);
}

static struct hls_fmp4_packet to_packet(const AVPacket *p)
{
    return (struct hls_fmp4_packet){
        .track = (unsigned)p->stream_index,
        .pts = p->pts,
        .dts = p->dts,
        .keyframe = (p->flags & AV_PKT_FLAG_KEY) != 0,
        .data = p->data,
        .size = (size_t)p->size,
    };
}

static void keep_chunk(struct output *o, const struct hls_fmp4_chunk *c, bool opens_segment)
{
    assert_true(o->nchunks < MAX_CHUNKS);
    o->chunks[o->nchunks++] = (struct chunk){
        c->data, c->size, c->start, c->duration, c->duration_us, c->independent, opens_segment};
}

/*
 * Feeds every packet; on the reference track cuts a part once ~0.33 s is
 * pending, and a segment at each keyframe after the first (the GOP is 2 s).
 * The glue will do the same with the playlist's part target.
 */
static void mux_all(struct hls_fmp4 *m, const struct input *in, struct output *o, int64_t part_us)
{
    memset(o, 0, sizeof(*o));
    hls_fmp4_init_segment(m, &o->init, &o->init_size);
    unsigned ref = hls_fmp4_reference_track(m);
    struct hls_fmp4_rational tb = hls_fmp4_time_base(m, ref);
    int64_t part = av_rescale_q(part_us, (AVRational){1, 1000000}, (AVRational){tb.num, tb.den});
    bool next_opens_segment = true, seen_key = false;
    for (unsigned i = 0; i < in->npkts; i++) {
        struct hls_fmp4_packet p = to_packet(in->pkts[i]);
        assert_int_equal(hls_fmp4_write(m, &p), HLS_FMP4_OK);
        if (p.track != ref)
            continue;
        bool video = in->tracks[ref].codec != HLS_FMP4_AAC;
        bool segment_start = video && p.keyframe && seen_key;
        seen_key |= video && p.keyframe;
        if (segment_start || hls_fmp4_pending_duration(m) >= part) {
            struct hls_fmp4_chunk c;
            assert_int_equal(hls_fmp4_cut(m, &c), HLS_FMP4_OK);
            assert_true(c.size > 0);
            keep_chunk(o, &c, next_opens_segment);
            next_opens_segment = segment_start;
        }
    }
    struct hls_fmp4_chunk c;
    assert_int_equal(hls_fmp4_finish(m, &c), HLS_FMP4_OK);
    if (c.size)
        keep_chunk(o, &c, next_opens_segment);
}

/* ---- read-back ---- */

struct readback {
    unsigned count[HLS_FMP4_MAX_TRACKS];
    unsigned total;
    int64_t first_dts[HLS_FMP4_MAX_TRACKS];
    bool first_video_key;
    bool seen_video;
    int64_t dts[MAX_PACKETS];
    int64_t pts[MAX_PACKETS];
    int stream[MAX_PACKETS];
};

static void write_file(const char *path, const struct output *o, unsigned from, unsigned to)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(o->init, 1, o->init_size, fp), o->init_size);
    for (unsigned i = from; i < to; i++)
        assert_int_equal(fwrite(o->chunks[i].data, 1, o->chunks[i].size, fp), o->chunks[i].size);
    assert_int_equal(fclose(fp), 0);
}

/*
 * Decodes every packet of init + chunks [from, to) with libavcodec, decoder
 * errors fatal (AV_EF_EXPLODE): the range must start at a keyframe. Returns
 * the number of decoded frames per stream in frames[].
 */
static void decode_all(const char *path, const struct output *o, unsigned from, unsigned to,
                       unsigned *frames)
{
    write_file(path, o, from, to);
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    assert_true(avformat_find_stream_info(ic, NULL) >= 0);
    AVCodecContext *dec[HLS_FMP4_MAX_TRACKS] = {0};
    assert_true(ic->nb_streams <= HLS_FMP4_MAX_TRACKS);
    for (unsigned i = 0; i < ic->nb_streams; i++) {
        const AVCodec *codec = avcodec_find_decoder(ic->streams[i]->codecpar->codec_id);
        assert_non_null(codec);
        dec[i] = avcodec_alloc_context3(codec);
        assert_non_null(dec[i]);
        assert_true(avcodec_parameters_to_context(dec[i], ic->streams[i]->codecpar) >= 0);
        dec[i]->err_recognition = AV_EF_EXPLODE;
        assert_int_equal(avcodec_open2(dec[i], codec, NULL), 0);
        frames[i] = 0;
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    assert_true(pkt && frame);
    for (bool eof = false; !eof;) {
        eof = av_read_frame(ic, pkt) < 0;
        for (unsigned i = 0; i < ic->nb_streams; i++) {
            if (!eof && (unsigned)pkt->stream_index != i)
                continue;
            assert_int_equal(avcodec_send_packet(dec[i], eof ? NULL : pkt), 0);
            int rc;
            while ((rc = avcodec_receive_frame(dec[i], frame)) == 0) {
                assert_false(frame->decode_error_flags);
                frames[i]++;
            }
            assert_true(rc == AVERROR(EAGAIN) || rc == AVERROR_EOF);
        }
        av_packet_unref(pkt);
    }
    for (unsigned i = 0; i < ic->nb_streams; i++)
        avcodec_free_context(&dec[i]);
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avformat_close_input(&ic);
}

/* Writes init + chunks [from, to) to the scratch file and reads it back:
 * no errors, DTS strictly increasing per stream, packets recorded. */
static void read_back(const char *path, const struct output *o, unsigned from, unsigned to,
                      struct readback *rb)
{
    write_file(path, o, from, to);
    AVFormatContext *ic = NULL;
    assert_int_equal(avformat_open_input(&ic, path, NULL, NULL), 0);
    memset(rb, 0, sizeof(*rb));
    AVPacket *pkt = av_packet_alloc();
    assert_non_null(pkt);
    int64_t last[HLS_FMP4_MAX_TRACKS];
    int err;
    while ((err = av_read_frame(ic, pkt)) >= 0) {
        int s = pkt->stream_index;
        assert_true(s >= 0 && s < HLS_FMP4_MAX_TRACKS);
        assert_true(pkt->dts != AV_NOPTS_VALUE && pkt->pts >= pkt->dts);
        assert_false(pkt->flags & AV_PKT_FLAG_CORRUPT);
        if (rb->count[s] == 0)
            rb->first_dts[s] = pkt->dts;
        else
            assert_true(pkt->dts > last[s]);
        last[s] = pkt->dts;
        if (ic->streams[s]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO && !rb->seen_video) {
            rb->seen_video = true;
            rb->first_video_key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        }
        assert_true(rb->total < MAX_PACKETS);
        rb->dts[rb->total] = pkt->dts;
        rb->pts[rb->total] = pkt->pts;
        rb->stream[rb->total] = s;
        rb->count[s]++;
        rb->total++;
        av_packet_unref(pkt);
    }
    assert_int_equal(err, AVERROR_EOF);
    av_packet_free(&pkt);
    avformat_close_input(&ic);
}

/* Top-level ISO BMFF boxes of buf; returns how many, types in types[]. */
static unsigned boxes(const uint8_t *buf, size_t n, char types[][5], unsigned max)
{
    size_t off = 0;
    unsigned k = 0;
    while (off < n) {
        assert_true(n - off >= 8);
        size_t size = (size_t)buf[off] << 24 | (size_t)buf[off + 1] << 16 |
                      (size_t)buf[off + 2] << 8 | buf[off + 3];
        assert_true(size >= 8 && size <= n - off);
        assert_true(k < max);
        memcpy(types[k], buf + off + 4, 4);
        types[k][4] = '\0';
        k++;
        off += size;
    }
    return k;
}

/* ---- tests ---- */

static void test_fmp4_segments_of_parts_play_back(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    assert_int_equal(in.ntracks, 2);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(in.tracks, in.ntracks, &m), HLS_FMP4_OK);
    assert_int_equal(hls_fmp4_reference_track(m), 0);
    struct output o;
    mux_all(m, &in, &o, 330000);

    /* segments: runs of chunks starting at opens_segment; each is the
     * concatenation of its parts and plays on its own after the init segment */
    unsigned nsegs = 0, total = 0, count[HLS_FMP4_MAX_TRACKS] = {0};
    for (unsigned i = 0; i < o.nchunks;) {
        assert_true(o.chunks[i].opens_segment);
        unsigned j = i + 1;
        while (j < o.nchunks && !o.chunks[j].opens_segment)
            j++;
        assert_true(o.chunks[i].independent);
        struct readback rb;
        read_back(f->out, &o, i, j, &rb);
        assert_true(rb.seen_video);
        assert_true(rb.first_video_key);
        unsigned frames[HLS_FMP4_MAX_TRACKS];
        decode_all(f->out, &o, i, j, frames);
        for (unsigned t = 0; t < in.ntracks; t++) {
            assert_int_equal(frames[t], rb.count[t]); /* every sample decodes */
            count[t] += rb.count[t];
        }
        total += rb.total;
        /* parts are ~1/3 s, all but the segment's first are not independent here */
        int64_t seg_us = 0;
        for (unsigned k = i; k < j; k++) {
            assert_true(o.chunks[k].duration_us > 0 && o.chunks[k].duration_us <= 334000);
            if (k > i)
                assert_false(o.chunks[k].independent);
            seg_us += o.chunks[k].duration_us;
        }
        if (j < o.nchunks) /* full GOP: 2 s */
            assert_true(seg_us > 1960000 && seg_us < 2040000);
        nsegs++;
        i = j;
    }
    assert_int_equal(nsegs, 2);
    assert_true(o.nchunks >= 12);
    assert_int_equal(m->rotations, 1); /* at the second segment; output still continuous */
    assert_int_equal(total, in.npkts); /* packet count matches the input */
    for (unsigned t = 0; t < in.ntracks; t++)
        assert_int_equal(count[t], in.per_track[t]);

    /* the whole stream: output timestamps are the input's, rescaled */
    struct readback rb;
    read_back(f->out, &o, 0, o.nchunks, &rb);
    assert_int_equal(rb.total, in.npkts);
    unsigned frames[HLS_FMP4_MAX_TRACKS];
    decode_all(f->out, &o, 0, o.nchunks, frames);
    for (unsigned t = 0; t < in.ntracks; t++)
        assert_int_equal(frames[t], in.per_track[t]);
    unsigned seen[HLS_FMP4_MAX_TRACKS] = {0};
    AVPacket *by_track[HLS_FMP4_MAX_TRACKS][MAX_PACKETS / 2];
    for (unsigned i = 0; i < in.npkts; i++) {
        unsigned t = (unsigned)in.pkts[i]->stream_index;
        by_track[t][seen[t]++] = in.pkts[i];
    }
    memset(seen, 0, sizeof(seen));
    for (unsigned i = 0; i < rb.total; i++) {
        unsigned t = (unsigned)rb.stream[i];
        const AVPacket *src = by_track[t][seen[t]++];
        struct hls_fmp4_rational tb = hls_fmp4_time_base(m, t);
        AVRational in_tb = {in.tracks[t].time_base.num, in.tracks[t].time_base.den};
        assert_int_equal(rb.dts[i], av_rescale_q(src->dts, in_tb, (AVRational){tb.num, tb.den}));
        assert_int_equal(rb.pts[i], av_rescale_q(src->pts, in_tb, (AVRational){tb.num, tb.den}));
    }
    /* chunk timing is contiguous on the reference track */
    for (unsigned i = 1; i < o.nchunks; i++)
        assert_int_equal(o.chunks[i].start, o.chunks[i - 1].start + o.chunks[i - 1].duration);
    assert_int_equal(o.chunks[0].start, rb.first_dts[0]);

    free_output(&o);
    hls_fmp4_free(m);
    free_input(&in);
}

static void test_fmp4_every_part_plays_after_the_init_segment(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(in.tracks, in.ntracks, &m), HLS_FMP4_OK);
    struct output o;
    mux_all(m, &in, &o, 330000);
    unsigned total = 0;
    for (unsigned i = 0; i < o.nchunks; i++) {
        char types[64][5];
        unsigned n = boxes(o.chunks[i].data, o.chunks[i].size, types, 64);
        assert_true(n >= 2 && n % 2 == 0);
        for (unsigned k = 0; k < n; k += 2) {
            assert_string_equal(types[k], "moof");
            assert_string_equal(types[k + 1], "mdat");
        }
        struct readback rb;
        read_back(f->out, &o, i, i + 1, &rb);
        assert_true(rb.total > 0);
        assert_true(rb.seen_video);
        assert_int_equal(rb.first_video_key, o.chunks[i].independent);
        struct hls_fmp4_rational tb = hls_fmp4_time_base(m, 0);
        assert_int_equal(rb.first_dts[0], o.chunks[i].start); /* tfdt honoured */
        assert_int_equal(
            av_rescale_q(o.chunks[i].duration, (AVRational){tb.num, tb.den}, (AVRational){1, 1000}),
            (o.chunks[i].duration_us + 500) / 1000);
        total += rb.total;
    }
    assert_int_equal(total, in.npkts);
    free_output(&o);
    hls_fmp4_free(m);
    free_input(&in);
}

static void test_fmp4_init_segment_is_ftyp_and_moov_only(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(in.tracks, in.ntracks, &m), HLS_FMP4_OK);
    const uint8_t *init;
    size_t size;
    hls_fmp4_init_segment(m, &init, &size);
    char types[8][5];
    assert_int_equal(boxes(init, size, types, 8), 2);
    assert_string_equal(types[0], "ftyp");
    assert_string_equal(types[1], "moov");
    assert_non_null(memmem(init, size, "mvex", 4)); /* fragmented */
    assert_non_null(memmem(init, size, "avcC", 4));
    assert_non_null(memmem(init, size, "esds", 4));
    assert_null(memmem(init, size, "elst", 4)); /* no edit list */
    struct hls_fmp4_rational v = hls_fmp4_time_base(m, 0), a = hls_fmp4_time_base(m, 1);
    assert_int_equal(v.num, 1);
    assert_int_equal(v.den, 90000);
    assert_int_equal(a.num, 1);
    assert_int_equal(a.den, 44100);
    assert_int_equal(hls_fmp4_time_base(m, 7).num, 0);
    /* nothing pending yet: an empty chunk */
    struct hls_fmp4_chunk c;
    assert_int_equal(hls_fmp4_cut(m, &c), HLS_FMP4_OK);
    assert_int_equal(c.size, 0);
    assert_null(c.data);
    hls_fmp4_free(m);
    free_input(&in);
}

static void test_fmp4_audio_only_parts_are_independent(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(&in.tracks[1], 1, &m), HLS_FMP4_OK);
    assert_int_equal(hls_fmp4_reference_track(m), 0);
    struct input audio = in;
    audio.npkts = 0;
    for (unsigned i = 0; i < in.npkts; i++)
        if (in.pkts[i]->stream_index == 1) {
            audio.pkts[audio.npkts] = in.pkts[i];
            audio.pkts[audio.npkts]->stream_index = 0;
            audio.npkts++;
        }
    audio.ntracks = 1;
    audio.tracks[0] = in.tracks[1];
    struct output o;
    mux_all(m, &audio, &o, 300000);
    assert_true(o.nchunks >= 10);
    for (unsigned i = 0; i < o.nchunks; i++)
        assert_true(o.chunks[i].independent);
    struct readback rb;
    read_back(f->out, &o, 0, o.nchunks, &rb);
    assert_int_equal(rb.total, audio.npkts);
    for (unsigned i = 0; i < in.npkts; i++)
        if (in.pkts[i]->stream_index == 0)
            in.pkts[i]->stream_index = 1; /* restore (shared packets) */
    free_output(&o);
    hls_fmp4_free(m);
    free_input(&in);
}

static void test_fmp4_hevc_passes_hvcc_through(void **state)
{
    struct fixture *f = *state;
    if (!f->hevc[0])
        skip();
    struct input in;
    load_input(f->hevc, &in);
    assert_int_equal(in.tracks[0].codec, HLS_FMP4_HEVC);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(in.tracks, in.ntracks, &m), HLS_FMP4_OK);
    struct output o;
    mux_all(m, &in, &o, 330000);
    assert_non_null(memmem(o.init, o.init_size, "hvc1", 4));
    assert_non_null(memmem(o.init, o.init_size, "hvcC", 4));
    struct readback rb;
    read_back(f->out, &o, 0, o.nchunks, &rb);
    assert_int_equal(rb.total, in.npkts);
    assert_true(rb.first_video_key);
    unsigned frames[HLS_FMP4_MAX_TRACKS];
    decode_all(f->out, &o, 0, o.nchunks, frames);
    assert_int_equal(frames[0], in.per_track[0]);
    free_output(&o);
    hls_fmp4_free(m);
    free_input(&in);
}

static int create_with(const struct input *in, unsigned t, const uint8_t *ed, size_t n)
{
    struct hls_fmp4_track tracks[HLS_FMP4_MAX_TRACKS];
    memcpy(tracks, in->tracks, sizeof(tracks));
    tracks[t].extradata = ed;
    tracks[t].extradata_size = n;
    struct hls_fmp4 *m = NULL;
    int rc = hls_fmp4_create(tracks, in->ntracks, &m);
    assert_true(rc == HLS_FMP4_OK ? m != NULL : m == NULL);
    hls_fmp4_free(m);
    return rc;
}

static void test_fmp4_refuses_tracks_with_bad_or_missing_extradata(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    const uint8_t *avcc = in.tracks[0].extradata, *asc = in.tracks[1].extradata;
    size_t avcc_n = in.tracks[0].extradata_size, asc_n = in.tracks[1].extradata_size;
    uint8_t buf[256];
    assert_true(avcc_n <= sizeof(buf));

    assert_int_equal(create_with(&in, 0, avcc, avcc_n), HLS_FMP4_OK);
    assert_int_equal(create_with(&in, 0, NULL, 0), HLS_FMP4_ECODEC);
    assert_int_equal(create_with(&in, 1, NULL, 0), HLS_FMP4_ECODEC);
    /* Annex B start code instead of an avcC */
    static const uint8_t annexb[] = {0, 0, 0, 1, 0x67, 0x64, 0, 0x1e, 0xac};
    assert_int_equal(create_with(&in, 0, annexb, sizeof(annexb)), HLS_FMP4_ECODEC);
    /* avcC: wrong version, truncated, SPS length overrunning, no PPS, 3-byte lengths */
    memcpy(buf, avcc, avcc_n);
    buf[0] = 0;
    assert_int_equal(create_with(&in, 0, buf, avcc_n), HLS_FMP4_ECODEC);
    assert_int_equal(create_with(&in, 0, avcc, avcc_n - 8), HLS_FMP4_ECODEC); /* into the PPS */
    memcpy(buf, avcc, avcc_n);
    buf[6] = 0xff;
    assert_int_equal(create_with(&in, 0, buf, avcc_n), HLS_FMP4_ECODEC);
    size_t sps_len = (size_t)avcc[6] << 8 | avcc[7];
    memcpy(buf, avcc, 8 + sps_len);
    buf[8 + sps_len] = 0; /* zero PPS */
    assert_int_equal(create_with(&in, 0, buf, 9 + sps_len), HLS_FMP4_ECODEC);
    memcpy(buf, avcc, avcc_n);
    buf[4] = 0xfe; /* lengthSizeMinusOne = 2 */
    assert_int_equal(create_with(&in, 0, buf, avcc_n), HLS_FMP4_ECODEC);
    /* AudioSpecificConfig: one byte, object type 0, reserved frequency index */
    assert_int_equal(create_with(&in, 1, asc, 1), HLS_FMP4_ECODEC);
    static const uint8_t aot0[] = {0x01, 0x10};
    assert_int_equal(create_with(&in, 1, aot0, sizeof(aot0)), HLS_FMP4_ECODEC);
    static const uint8_t freq13[] = {0x16, 0x88};
    assert_int_equal(create_with(&in, 1, freq13, sizeof(freq13)), HLS_FMP4_ECODEC);
    static const uint8_t explicit_short[] = {0x17, 0x80, 0x00};
    assert_int_equal(create_with(&in, 1, explicit_short, sizeof(explicit_short)), HLS_FMP4_ECODEC);
    assert_int_equal(create_with(&in, 1, asc, asc_n), HLS_FMP4_OK);
    /* hvcC for an H.264 track, truncated hvcC, hvcC without a VPS */
    struct hls_fmp4_track t = in.tracks[0];
    t.codec = HLS_FMP4_HEVC;
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(&t, 1, &m), HLS_FMP4_ECODEC);
    uint8_t hvcc[23 + 3 + 2 + 3] = {1};
    hvcc[22] = 1;  /* one array */
    hvcc[23] = 33; /* SPS only */
    hvcc[25] = 1;  /* one NAL */
    hvcc[27] = 3;  /* 3 bytes */
    hvcc[28] = 33 << 1;
    assert_int_equal(hls_fmp4_check_hvcc(hvcc, sizeof(hvcc), NULL), HLS_FMP4_ECODEC);
    assert_int_equal(hls_fmp4_check_hvcc(hvcc, 20, NULL), HLS_FMP4_ECODEC);
    /* codec parameters */
    t = in.tracks[0];
    t.width = 0;
    assert_int_equal(hls_fmp4_create(&t, 1, &m), HLS_FMP4_ECODEC);
    t = in.tracks[1];
    t.sample_rate = 0;
    assert_int_equal(hls_fmp4_create(&t, 1, &m), HLS_FMP4_ECODEC);
    t = in.tracks[1];
    t.time_base.den = 0;
    assert_int_equal(hls_fmp4_create(&t, 1, &m), HLS_FMP4_EINVAL);
    assert_int_equal(hls_fmp4_create(in.tracks, 0, &m), HLS_FMP4_EINVAL);
    assert_int_equal(hls_fmp4_create(in.tracks, HLS_FMP4_MAX_TRACKS + 1, &m), HLS_FMP4_EINVAL);
    assert_null(m);
    free_input(&in);
}

static void test_fmp4_refuses_bad_packets_and_stays_usable(void **state)
{
    struct fixture *f = *state;
    struct input in;
    load_input(f->flv, &in);
    struct hls_fmp4 *m = NULL;
    assert_int_equal(hls_fmp4_create(in.tracks, in.ntracks, &m), HLS_FMP4_OK);
    unsigned v[3], k = 0;
    for (unsigned i = 0; i < in.npkts && k < 3; i++)
        if (in.pkts[i]->stream_index == 0)
            v[k++] = i;
    struct hls_fmp4_packet p0 = to_packet(in.pkts[v[0]]), p1 = to_packet(in.pkts[v[1]]);
    assert_int_equal(hls_fmp4_write(m, &p0), HLS_FMP4_OK);
    /* same DTS again, then an earlier one */
    assert_int_equal(hls_fmp4_write(m, &p0), HLS_FMP4_ETS);
    struct hls_fmp4_packet back = p1;
    back.dts = p0.dts - 1;
    back.pts = p0.dts - 1;
    assert_int_equal(hls_fmp4_write(m, &back), HLS_FMP4_ETS);
    /* negative DTS */
    struct hls_fmp4_packet neg = p1;
    neg.dts = -1;
    assert_int_equal(hls_fmp4_write(m, &neg), HLS_FMP4_ETS);
    /* PTS before DTS */
    struct hls_fmp4_packet early = p1;
    early.pts = early.dts - 1;
    assert_int_equal(hls_fmp4_write(m, &early), HLS_FMP4_ETS);
    /* NAL length overrunning the payload */
    uint8_t bad[8] = {0, 0, 0, 9, 0x41, 1, 2, 3};
    struct hls_fmp4_packet nal = p1;
    nal.data = bad;
    nal.size = sizeof(bad);
    assert_int_equal(hls_fmp4_write(m, &nal), HLS_FMP4_EDATA);
    nal.size = 3; /* shorter than one length field */
    assert_int_equal(hls_fmp4_write(m, &nal), HLS_FMP4_EDATA);
    struct hls_fmp4_packet empty = p1;
    empty.size = 0;
    assert_int_equal(hls_fmp4_write(m, &empty), HLS_FMP4_EINVAL);
    struct hls_fmp4_packet wrong = p1;
    wrong.track = 5;
    assert_int_equal(hls_fmp4_write(m, &wrong), HLS_FMP4_EINVAL);
    /* still usable */
    assert_int_equal(hls_fmp4_write(m, &p1), HLS_FMP4_OK);
    assert_true(hls_fmp4_pending_duration(m) > 0);
    struct hls_fmp4_chunk c;
    assert_int_equal(hls_fmp4_cut(m, &c), HLS_FMP4_OK);
    assert_true(c.size > 0);
    assert_true(c.independent);
    assert_int_equal(c.duration,
                     av_rescale_q(p1.dts - p0.dts, (AVRational){1, 1000}, (AVRational){1, 90000}));
    free(c.data);
    assert_int_equal(hls_fmp4_finish(m, &c), HLS_FMP4_OK);
    assert_true(c.size > 0);
    assert_true(c.duration > 0); /* estimated from the previous interval */
    free(c.data);
    assert_int_equal(hls_fmp4_write(m, &p1), HLS_FMP4_ESTATE);
    assert_int_equal(hls_fmp4_cut(m, &c), HLS_FMP4_ESTATE);
    assert_int_equal(hls_fmp4_finish(m, &c), HLS_FMP4_ESTATE);
    hls_fmp4_free(m);
    hls_fmp4_free(NULL);
    free_input(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fmp4_segments_of_parts_play_back),
        cmocka_unit_test(test_fmp4_every_part_plays_after_the_init_segment),
        cmocka_unit_test(test_fmp4_init_segment_is_ftyp_and_moov_only),
        cmocka_unit_test(test_fmp4_audio_only_parts_are_independent),
        cmocka_unit_test(test_fmp4_hevc_passes_hvcc_through),
        cmocka_unit_test(test_fmp4_refuses_tracks_with_bad_or_missing_extradata),
        cmocka_unit_test(test_fmp4_refuses_bad_packets_and_stays_usable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
