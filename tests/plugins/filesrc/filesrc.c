/*
 * filesrc.c - TEST-ONLY media source: publishes a local FLV / MP4 file as a live stream through
 * the SDK's source side (stream_open / add_track / start / push / close), so that sinks (hls)
 * can be tested without an RTMP publisher. Never load it in production: it reads any path the
 * caller names.
 *
 *   POST /api/test/filesrc {roomId, path, realtime?: true, loop?: false, holdOpen?: false,
 *                           omitParams?: false, resetTimestamps?: false, maxMs?: 0}
 *       Demuxes the whole file with libavformat ON A WORKER (H.264 / HEVC / AAC tracks, avcC /
 *       hvcC / AudioSpecificConfig extradata; other tracks are skipped), then opens the stream
 *       and answers 201 {roomId, streamId, packets, durationMs, tracks}. Packets are pushed by a
 *       10 ms timer: at the pace of their DTS when realtime, else as fast as the loop allows
 *       (2000 per tick). At the end of the file: start over with timestamps continuing (loop),
 *       keep the stream open without packets (holdOpen: a stalled publisher), or close it
 *       ("unpublished"). omitParams declares tracks without width/height/sample rate/channels
 *       (as an RTMP publisher without onMetaData would). resetTimestamps makes each loop start
 *       its timestamps over (an encoder restarting its clock). maxMs stops after that much media.
 *       400 unreadable file or no usable track, 409 the room already has a live stream.
 *   POST /api/test/filesrc/stop {roomId, reason?}   closes the stream (204), 404 if none.
 *
 * Timestamps keep the file's time base (MP4: 1/timescale, FLV: 1/1000); a negative first DTS
 * (B-frames in MP4) is shifted so every DTS is >= 0, as RTMP would deliver them.
 *
 * Threads: demux_work runs on a worker and touches only its job; everything else on the loop.
 * Ownership: each source owns its packets (AVPacket) and is freed when its stream closes.
 */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamhub/streamhub.h>

#define MAX_PACKETS 200000
#define MAX_BYTES   (512u << 20)
#define TICK_MS     10
#define BURST       2000

typedef struct fs_track {
    sh_track_info info;
    uint8_t *extra;
    AVRational tb;
    int index; /* in the stream, from stream_add_track */
} fs_track;

typedef struct fs_src {
    /* request */
    sh_request *req; /* until answered */
    char *room, *path;
    bool realtime, loop, hold_open, omit, reset_ts;
    int64_t max_ms;
    /* demux result (worker) */
    char err[256];
    fs_track tracks[8];
    int ntracks;
    int map[64]; /* file stream -> our track, -1 */
    AVPacket **pkts;
    size_t npkts;
    int64_t duration_ms;
    /* live */
    sh_stream *st;
    sh_timer *timer;
    size_t next;
    uint64_t t0;
    int64_t loop_offset_ms; /* added to every DTS/PTS (in ms, rescaled per track) */
    int64_t first_ms;
    struct fs_src *link;
} fs_src;

static struct {
    sh_plugin *self;
    const sh_host_api *h;
    fs_src *srcs;
    bool stopping; /* stop ran: no new streams */
    bool finished; /* fini ran: the HTTP server may be gone, answer nothing */
} g;

static int64_t ms_of(const fs_src *s, const AVPacket *p) {
    return av_rescale_q(p->dts, s->tracks[s->map[p->stream_index]].tb, (AVRational){1, 1000});
}

static void src_free(fs_src *s) {
    for (size_t i = 0; i < s->npkts; i++)
        av_packet_free(&s->pkts[i]);
    free(s->pkts);
    for (int i = 0; i < s->ntracks; i++)
        free(s->tracks[i].extra);
    free(s->room);
    free(s->path);
    free(s);
}

static void src_unlink(fs_src *s) {
    for (fs_src **pp = &g.srcs; *pp; pp = &(*pp)->link)
        if (*pp == s) {
            *pp = s->link;
            return;
        }
}

/* ---- worker: demux everything ------------------------------------------------------------ */
static void demux_work(void *ud) {
    fs_src *s = ud;
    AVFormatContext *ic = NULL;
    if (avformat_open_input(&ic, s->path, NULL, NULL) < 0) {
        snprintf(s->err, sizeof s->err, "cannot open %s", s->path);
        return;
    }
    if (avformat_find_stream_info(ic, NULL) < 0) {
        snprintf(s->err, sizeof s->err, "cannot read stream info");
        goto out;
    }
    for (unsigned i = 0; i < ic->nb_streams && i < 64; i++) {
        s->map[i] = -1;
        AVCodecParameters *p = ic->streams[i]->codecpar;
        sh_codec c = p->codec_id == AV_CODEC_ID_H264   ? SH_CODEC_H264
                     : p->codec_id == AV_CODEC_ID_HEVC ? SH_CODEC_HEVC
                     : p->codec_id == AV_CODEC_ID_AAC  ? SH_CODEC_AAC
                                                       : 0;
        if (!c || s->ntracks >= 8 || p->extradata_size <= 0) continue;
        fs_track *t = &s->tracks[s->ntracks];
        t->extra = malloc((size_t)p->extradata_size);
        if (!t->extra) continue;
        memcpy(t->extra, p->extradata, (size_t)p->extradata_size);
        t->tb = ic->streams[i]->time_base;
        t->info = (sh_track_info){
            .size = sizeof(sh_track_info),
            .kind = c == SH_CODEC_AAC ? SH_TRACK_AUDIO : SH_TRACK_VIDEO,
            .codec = c,
            .extradata = t->extra,
            .extradata_len = (size_t)p->extradata_size,
            .timebase_num = (uint32_t)t->tb.num,
            .timebase_den = (uint32_t)t->tb.den,
            .width = s->omit ? 0 : p->width,
            .height = s->omit ? 0 : p->height,
            .fps = s->omit ? 0 : av_q2d(ic->streams[i]->avg_frame_rate),
            .sample_rate = s->omit ? 0 : p->sample_rate,
            .channels = s->omit ? 0 : p->ch_layout.nb_channels,
            .bitrate = p->bit_rate,
        };
        s->map[i] = s->ntracks++;
    }
    if (!s->ntracks) {
        snprintf(s->err, sizeof s->err, "no H.264, HEVC or AAC track");
        goto out;
    }
    size_t cap = 0, bytes = 0;
    for (;;) {
        AVPacket *p = av_packet_alloc();
        if (!p) break;
        if (av_read_frame(ic, p) < 0) {
            av_packet_free(&p);
            break;
        }
        if ((unsigned)p->stream_index >= 64 || s->map[p->stream_index] < 0 || p->dts == AV_NOPTS_VALUE ||
            s->npkts >= MAX_PACKETS || bytes > MAX_BYTES) {
            av_packet_free(&p);
            continue;
        }
        if (p->pts == AV_NOPTS_VALUE) p->pts = p->dts;
        if (s->npkts == cap) {
            cap = cap ? cap * 2 : 1024;
            AVPacket **np = realloc(s->pkts, cap * sizeof *np);
            if (!np) {
                av_packet_free(&p);
                break;
            }
            s->pkts = np;
        }
        bytes += (size_t)p->size;
        s->pkts[s->npkts++] = p;
    }
    /* shift so that no DTS is negative (MP4 with B-frames starts below 0) */
    int64_t min_us = 0, max_ms = 0;
    for (size_t i = 0; i < s->npkts; i++) {
        AVRational tb = s->tracks[s->map[s->pkts[i]->stream_index]].tb;
        int64_t us = av_rescale_q(s->pkts[i]->dts, tb, (AVRational){1, 1000000});
        if (us < min_us) min_us = us;
    }
    for (size_t i = 0; i < s->npkts; i++) {
        AVPacket *p = s->pkts[i];
        AVRational tb = s->tracks[s->map[p->stream_index]].tb;
        if (min_us < 0) {
            int64_t shift = av_rescale_q_rnd(-min_us, (AVRational){1, 1000000}, tb, AV_ROUND_UP);
            p->dts += shift;
            p->pts += shift;
        }
        int64_t ms = ms_of(s, p);
        if (ms > max_ms) max_ms = ms;
    }
    s->duration_ms = max_ms + 33;
    s->first_ms = s->npkts ? ms_of(s, s->pkts[0]) : 0;
    if (!s->npkts) snprintf(s->err, sizeof s->err, "no packets");
out:
    avformat_close_input(&ic);
}

/* ---- loop: pushing ------------------------------------------------------------------------ */
static void src_close(fs_src *s, const char *reason) {
    if (s->timer) g.h->timer_cancel(s->timer);
    s->timer = NULL;
    if (s->st && g.h->stream_find(g.self, s->room) == s->st) g.h->stream_close(s->st, reason);
    s->st = NULL;
    src_unlink(s);
    src_free(s);
}

static int push_one(fs_src *s, const AVPacket *p) {
    const fs_track *t = &s->tracks[s->map[p->stream_index]];
    int64_t off = s->loop_offset_ms ? av_rescale_q(s->loop_offset_ms, (AVRational){1, 1000}, t->tb) : 0;
    sh_packet_info pi = {
        .track = t->index,
        .pts = p->pts + off,
        .dts = p->dts + off,
        .keyframe = (p->flags & AV_PKT_FLAG_KEY) != 0,
        .data = p->data,
        .len = (size_t)p->size,
    };
    return g.h->stream_push(s->st, &pi);
}

static void on_tick(void *ud) {
    fs_src *s = ud;
    const sh_host_api *h = g.h;
    if (h->stream_find(g.self, s->room) != s->st) { /* closed by the host (shutdown, replaced) */
        s->st = NULL;
        src_close(s, NULL);
        return;
    }
    int64_t elapsed = (int64_t)(h->now_ms(g.self) - s->t0);
    for (int n = 0; n < BURST || s->realtime; n++) {
        if (s->next >= s->npkts) {
            if (s->loop && (!s->max_ms || s->loop_offset_ms + s->duration_ms < s->max_ms)) {
                s->loop_offset_ms += s->duration_ms;
                s->next = 0;
                if (s->reset_ts) { /* an encoder whose clock starts over: timestamps jump back */
                    s->t0 += (uint64_t)s->duration_ms;
                    elapsed -= s->duration_ms;
                    s->loop_offset_ms = 0;
                }
                continue;
            }
            if (s->hold_open) {
                h->timer_cancel(s->timer);
                s->timer = NULL;
                return;
            }
            src_close(s, "unpublished");
            return;
        }
        const AVPacket *p = s->pkts[s->next];
        int64_t at = ms_of(s, p) + s->loop_offset_ms - s->first_ms;
        if (s->max_ms && at >= s->max_ms) {
            s->next = s->npkts;
            s->loop = false;
            continue;
        }
        if (s->realtime && at > elapsed) return;
        push_one(s, p);
        s->next++;
    }
}

static void demux_done(void *ud) {
    fs_src *s = ud;
    const sh_host_api *h = g.h;
    sh_request *req = s->req;
    s->req = NULL;
    if (g.stopping) { /* a demux that finished during shutdown (done callbacks may even run after fini) */
        if (!g.finished) h->respond_error(req, 503, "shutting_down", "The server is stopping.", NULL);
        src_free(s);
        return;
    }
    if (s->err[0]) {
        h->respond_error(req, 400, "bad_file", s->err, "path");
        src_free(s);
        return;
    }
    s->st = h->stream_open(g.self, s->room, 0, "filesrc");
    if (!s->st) {
        h->respond_error(req, 409, "room_busy", "This room already has a live stream.", "roomId");
        src_free(s);
        return;
    }
    json_object *tracks = json_object_new_array();
    for (int i = 0; i < s->ntracks; i++) {
        s->tracks[i].index = h->stream_add_track(s->st, &s->tracks[i].info);
        json_object *t = json_object_new_object();
        json_object_object_add(t, "codec",
                               json_object_new_string(s->tracks[i].info.codec == SH_CODEC_H264   ? "h264"
                                                      : s->tracks[i].info.codec == SH_CODEC_HEVC ? "hevc"
                                                                                                 : "aac"));
        char tb[32];
        snprintf(tb, sizeof tb, "%u/%u", s->tracks[i].info.timebase_num, s->tracks[i].info.timebase_den);
        json_object_object_add(t, "timebase", json_object_new_string(tb));
        json_object_array_add(tracks, t);
    }
    h->stream_start(s->st);
    s->t0 = h->now_ms(g.self);
    s->link = g.srcs;
    g.srcs = s;
    s->timer = h->timer_add(g.self, TICK_MS, 1, on_tick, s);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(s->room));
    json_object_object_add(o, "streamId", json_object_new_int64(h->stream_id(s->st)));
    json_object_object_add(o, "packets", json_object_new_int64((int64_t)s->npkts));
    json_object_object_add(o, "durationMs", json_object_new_int64(s->duration_ms));
    json_object_object_add(o, "tracks", tracks);
    h->respond_json(req, 201, o);
}

/* ---- routes ------------------------------------------------------------------------------- */
static void on_start_route(sh_request *req, void *ud) {
    (void)ud;
    const sh_host_api *h = g.h;
    json_object *body = h->req_json(req);
    if (!body) return;
    const char *room, *path;
    int realtime = 1, loop = 0, hold = 0, omit = 0, reset = 0;
    int64_t max_ms = 0;
    if (h->json_str(req, body, "roomId", 1, 128, 0, &room) < 0 ||
        h->json_str(req, body, "path", 1, 4096, 0, &path) < 0 ||
        h->json_bool(req, body, "realtime", SH_JSON_OPTIONAL, &realtime) < 0 ||
        h->json_bool(req, body, "loop", SH_JSON_OPTIONAL, &loop) < 0 ||
        h->json_bool(req, body, "holdOpen", SH_JSON_OPTIONAL, &hold) < 0 ||
        h->json_bool(req, body, "omitParams", SH_JSON_OPTIONAL, &omit) < 0 ||
        h->json_bool(req, body, "resetTimestamps", SH_JSON_OPTIONAL, &reset) < 0 ||
        h->json_int(req, body, "maxMs", 0, INT64_C(86400000), SH_JSON_OPTIONAL, &max_ms) < 0)
        return;
    if (h->stream_find(g.self, room)) {
        h->respond_error(req, 409, "room_busy", "This room already has a live stream.", "roomId");
        return;
    }
    fs_src *s = calloc(1, sizeof *s);
    if (!s || !(s->room = strdup(room)) || !(s->path = strdup(path))) {
        if (s) src_free(s);
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    s->req = req;
    s->realtime = realtime;
    s->loop = loop;
    s->hold_open = hold;
    s->omit = omit;
    s->reset_ts = reset;
    s->max_ms = max_ms;
    if (h->work(g.self, demux_work, demux_done, s) != SH_OK) {
        src_free(s);
        h->respond_error(req, 503, "busy", "The worker queue is full.", NULL);
    }
}

static void on_stop_route(sh_request *req, void *ud) {
    (void)ud;
    const sh_host_api *h = g.h;
    json_object *body = h->req_json(req);
    if (!body) return;
    const char *room, *reason = "unpublished";
    if (h->json_str(req, body, "roomId", 1, 128, 0, &room) < 0 ||
        h->json_str(req, body, "reason", 1, 64, SH_JSON_OPTIONAL, &reason) < 0)
        return;
    for (fs_src *s = g.srcs; s; s = s->link)
        if (strcmp(s->room, room) == 0) {
            src_close(s, reason);
            h->respond_json(req, 204, NULL);
            return;
        }
    h->respond_error(req, 404, "not_found", "No file stream in this room.", "roomId");
}

static int fs_init(sh_plugin *self, const sh_host_api *host) {
    g.self = self;
    g.h = host;
    if (!SH_HOST_HAS(host, stream_open)) {
        host->log(self, SH_LOG_ERROR, "the host has no media pipeline");
        return SH_ERR;
    }
    int rc = host->http_route(self, "POST", "/api/test/filesrc", 0, on_start_route, NULL);
    if (rc == SH_OK) rc = host->http_route(self, "POST", "/api/test/filesrc/stop", 0, on_stop_route, NULL);
    return rc;
}

/* The host closed every stream before calling stop (sh_media_close_all): forget them. */
static void fs_stop(sh_plugin *self) {
    (void)self;
    g.stopping = true;
    while (g.srcs) {
        fs_src *s = g.srcs;
        if (g.h->stream_find(g.self, s->room) != s->st) s->st = NULL;
        src_close(s, "shutdown");
    }
}

static void fs_fini(sh_plugin *self) {
    (void)self;
    g.finished = true;
}

static const sh_plugin_desc fs_desc = {
    SH_DESC_HEADER,     .name = "filesrc",
    .version = "0.1.0", .description = "TEST ONLY: publish a local media file as a live stream",
    .init = fs_init,    .stop = fs_stop,
    .fini = fs_fini,
};

SH_PLUGIN_EXPORT(fs_desc)
