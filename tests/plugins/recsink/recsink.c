/*
 * recsink.c - a TEST-ONLY media sink that records what the pipeline hands it, per room, so that
 * tests/integration/rtmp.test.mjs can check ingest end to end. Never shipped; loaded from
 * build/test-plugins/recsink.so. Uses nothing but the SDK.
 *
 *   GET /api/test/recsink/:roomId -> {roomId, live: record|null, last: record|null,
 *                                     streams: [record, ...]}   (oldest first, at most 16)
 *                                    404 not_found when the room never had a stream
 *   GET /api/test/recsink         -> {rooms: [{roomId, userId, username, live, streams}]}
 *
 * A record: {streamId, roomId, userId, username, startedAt, endedAt, ended, endReason,
 *   tracks: [{kind, codec, extradataLen, width, height, fps, sampleRate, channels, packets,
 *             keyframes, bytes, firstDts, lastDts, firstPts, dtsMonotonic, ptsBeforeDts,
 *             avccBad, keyframeDts: [first 64]}],
 *   startedEvent, endedEvent}     (the stream.started / stream.ended bus payloads, or null)
 * dtsMonotonic: every dts >= the previous one of its track. avccBad (H.264/HEVC): packets whose
 * 4/2/1-byte NAL unit lengths (from the avcC/hvcC) do not tile the packet exactly.
 *
 * Ownership: rooms and records are kept until fini (bounded: 256 rooms, 16 records each; a live
 * record is never dropped). Loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamhub/streamhub.h>

#define MAX_TRACKS 8
#define MAX_ROOMS  256
#define MAX_RECS   16
#define MAX_KEYS   64

typedef struct rtrack {
    sh_track_kind kind;
    sh_codec codec;
    size_t extradata_len;
    int width, height, sample_rate, channels;
    double fps;
    int nls; /* NAL length size, 0 = not checked */
    uint64_t packets, keyframes, bytes, avcc_bad, pts_before_dts;
    int have;
    int monotonic;
    int64_t first_dts, last_dts, first_pts;
    int64_t keys[MAX_KEYS];
    size_t nkeys;
} rtrack;

typedef struct rec {
    int64_t stream_id, user_id;
    char room[128], username[128], reason[32];
    uint64_t started_ms, ended_ms;
    int ended;
    size_t ntracks;
    rtrack tracks[MAX_TRACKS];
    json_object *started_ev, *ended_ev; /* owned references */
    struct rec *next;                   /* newer first */
} rec;

typedef struct room {
    char id[128];
    rec *recs;
    size_t nrecs;
} room;

static const sh_host_api *H;
static sh_plugin *SELF;
static room rooms[MAX_ROOMS];
static size_t nrooms;

static const char *codec_name(sh_codec c) {
    static const char *n[] = {"", "h264", "hevc", "av1", "vp9", "aac", "opus", "mp3"};
    return (int)c >= 1 && (int)c <= 7 ? n[c] : "unknown";
}

static room *room_get(const char *id, int create) {
    for (size_t i = 0; i < nrooms; i++)
        if (strcmp(rooms[i].id, id) == 0) return &rooms[i];
    if (!create || nrooms == MAX_ROOMS) return NULL;
    room *r = &rooms[nrooms++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    return r;
}

static void rec_free(rec *x) {
    if (x->started_ev) json_object_put(x->started_ev);
    if (x->ended_ev) json_object_put(x->ended_ev);
    free(x);
}

/* ---- the stage ---------------------------------------------------------------------------- */
static void *on_start(sh_stream *st, void *ud) {
    (void)ud;
    room *r = room_get(H->stream_room(st), 1);
    if (!r) return NULL;
    rec *x = calloc(1, sizeof *x);
    if (!x) return NULL;
    x->stream_id = H->stream_id(st);
    x->user_id = H->stream_user_id(st);
    snprintf(x->room, sizeof x->room, "%s", H->stream_room(st));
    snprintf(x->username, sizeof x->username, "%s", H->stream_username(st));
    x->started_ms = H->wall_ms(SELF);
    x->ntracks = H->stream_track_count(st);
    if (x->ntracks > MAX_TRACKS) x->ntracks = MAX_TRACKS;
    for (size_t i = 0; i < x->ntracks; i++) {
        const sh_track_info *ti = H->stream_track(st, i);
        rtrack *t = &x->tracks[i];
        t->kind = ti->kind;
        t->codec = ti->codec;
        t->extradata_len = ti->extradata_len;
        t->width = ti->width;
        t->height = ti->height;
        t->fps = ti->fps;
        t->sample_rate = ti->sample_rate;
        t->channels = ti->channels;
        t->monotonic = 1;
        if (ti->codec == SH_CODEC_H264 && ti->extradata_len >= 5) t->nls = (ti->extradata[4] & 3) + 1;
        if (ti->codec == SH_CODEC_HEVC && ti->extradata_len >= 22) t->nls = (ti->extradata[21] & 3) + 1;
    }
    x->next = r->recs;
    r->recs = x;
    r->nrecs++;
    /* drop the oldest ended records beyond MAX_RECS */
    while (r->nrecs > MAX_RECS) {
        rec **pp = &r->recs, **last = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->ended) last = pp;
        if (!last) break;
        rec *old = *last;
        *last = old->next;
        rec_free(old);
        r->nrecs--;
    }
    return x;
}

static int tiles(const uint8_t *p, size_t len, int nls) {
    size_t off = 0;
    while (off < len) {
        if (len - off < (size_t)nls) return 0;
        size_t n = 0;
        for (int i = 0; i < nls; i++)
            n = (n << 8) | p[off + (size_t)i];
        off += (size_t)nls;
        if (n > len - off) return 0;
        off += n;
    }
    return 1;
}

static sh_packet *on_packet(void *state, sh_stream *st, sh_packet *pkt) {
    (void)st;
    rec *x = state;
    if (!x) return NULL;
    int ti = H->packet_track(pkt);
    if (ti < 0 || (size_t)ti >= x->ntracks) return NULL;
    rtrack *t = &x->tracks[ti];
    size_t len = 0;
    const uint8_t *d = H->packet_data(pkt, &len);
    int64_t dts = H->packet_dts(pkt), pts = H->packet_pts(pkt);
    if (!t->have) {
        t->have = 1;
        t->first_dts = dts;
        t->first_pts = pts;
    } else if (dts < t->last_dts) {
        t->monotonic = 0;
    }
    t->last_dts = dts;
    if (pts < dts) t->pts_before_dts++;
    t->packets++;
    t->bytes += len;
    if (H->packet_keyframe(pkt)) {
        t->keyframes++;
        if (t->nkeys < MAX_KEYS) t->keys[t->nkeys++] = dts;
    }
    if (t->nls && !tiles(d, len, t->nls)) t->avcc_bad++;
    return NULL;
}

static void on_end(void *state, sh_stream *st, const char *reason) {
    (void)st;
    rec *x = state;
    if (!x) return;
    x->ended = 1;
    x->ended_ms = H->wall_ms(SELF);
    snprintf(x->reason, sizeof x->reason, "%s", reason ? reason : "");
}

/* ---- bus ---------------------------------------------------------------------------------- */
static void on_bus(const char *topic, json_object *payload, void *ud) {
    (void)ud;
    json_object *v;
    if (!payload || !json_object_object_get_ex(payload, "streamId", &v)) return;
    int64_t id = json_object_get_int64(v);
    int started = strcmp(topic, SH_TOPIC_STREAM_STARTED) == 0;
    for (size_t i = 0; i < nrooms; i++)
        for (rec *x = rooms[i].recs; x; x = x->next)
            if (x->stream_id == id) {
                json_object **slot = started ? &x->started_ev : &x->ended_ev;
                if (*slot) json_object_put(*slot);
                *slot = json_object_get(payload);
                return;
            }
}

/* ---- HTTP --------------------------------------------------------------------------------- */
static json_object *rec_json(const rec *x) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "streamId", json_object_new_int64(x->stream_id));
    json_object_object_add(o, "roomId", json_object_new_string(x->room));
    json_object_object_add(o, "userId", json_object_new_int64(x->user_id));
    json_object_object_add(o, "username", json_object_new_string(x->username));
    json_object_object_add(o, "startedAt", json_object_new_int64((int64_t)x->started_ms));
    json_object_object_add(o, "endedAt", x->ended ? json_object_new_int64((int64_t)x->ended_ms) : NULL);
    json_object_object_add(o, "ended", json_object_new_boolean(x->ended));
    json_object_object_add(o, "endReason", x->ended ? json_object_new_string(x->reason) : NULL);
    json_object *tr = json_object_new_array();
    for (size_t i = 0; i < x->ntracks; i++) {
        const rtrack *t = &x->tracks[i];
        json_object *j = json_object_new_object();
        json_object_object_add(j, "kind", json_object_new_string(t->kind == SH_TRACK_VIDEO ? "video" : "audio"));
        json_object_object_add(j, "codec", json_object_new_string(codec_name(t->codec)));
        json_object_object_add(j, "extradataLen", json_object_new_int64((int64_t)t->extradata_len));
        json_object_object_add(j, "width", json_object_new_int(t->width));
        json_object_object_add(j, "height", json_object_new_int(t->height));
        json_object_object_add(j, "fps", json_object_new_double(t->fps));
        json_object_object_add(j, "sampleRate", json_object_new_int(t->sample_rate));
        json_object_object_add(j, "channels", json_object_new_int(t->channels));
        json_object_object_add(j, "packets", json_object_new_int64((int64_t)t->packets));
        json_object_object_add(j, "keyframes", json_object_new_int64((int64_t)t->keyframes));
        json_object_object_add(j, "bytes", json_object_new_int64((int64_t)t->bytes));
        json_object_object_add(j, "firstDts", t->have ? json_object_new_int64(t->first_dts) : NULL);
        json_object_object_add(j, "lastDts", t->have ? json_object_new_int64(t->last_dts) : NULL);
        json_object_object_add(j, "firstPts", t->have ? json_object_new_int64(t->first_pts) : NULL);
        json_object_object_add(j, "dtsMonotonic", json_object_new_boolean(t->monotonic));
        json_object_object_add(j, "ptsBeforeDts", json_object_new_int64((int64_t)t->pts_before_dts));
        json_object_object_add(j, "avccBad", json_object_new_int64((int64_t)t->avcc_bad));
        json_object *keys = json_object_new_array();
        for (size_t k = 0; k < t->nkeys; k++)
            json_object_array_add(keys, json_object_new_int64(t->keys[k]));
        json_object_object_add(j, "keyframeDts", keys);
        json_object_array_add(tr, j);
    }
    json_object_object_add(o, "tracks", tr);
    json_object_object_add(o, "startedEvent", x->started_ev ? json_object_get(x->started_ev) : NULL);
    json_object_object_add(o, "endedEvent", x->ended_ev ? json_object_get(x->ended_ev) : NULL);
    return o;
}

static void h_room(sh_request *req, void *ud) {
    (void)ud;
    room *r = room_get(H->req_param(req, "roomId"), 0);
    if (!r) {
        H->respond_error(req, 404, "not_found", "no stream seen in this room", NULL);
        return;
    }
    const rec *live = NULL, *last = NULL;
    for (const rec *x = r->recs; x; x = x->next) {
        if (!x->ended && !live) live = x;
        if (x->ended && !last) last = x;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(r->id));
    json_object_object_add(o, "live", live ? rec_json(live) : NULL);
    json_object_object_add(o, "last", last ? rec_json(last) : NULL);
    json_object *all = json_object_new_array();
    size_t n = 0;
    for (const rec *x = r->recs; x; x = x->next)
        n++;
    for (size_t i = n; i-- > 0;) { /* oldest first */
        const rec *x = r->recs;
        for (size_t k = 0; k < i; k++)
            x = x->next;
        json_object_array_add(all, rec_json(x));
    }
    json_object_object_add(o, "streams", all);
    H->respond_json(req, 200, o);
}

static void h_rooms(sh_request *req, void *ud) {
    (void)ud;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < nrooms; i++) {
        const rec *x = rooms[i].recs;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "roomId", json_object_new_string(rooms[i].id));
        json_object_object_add(o, "userId", json_object_new_int64(x ? x->user_id : 0));
        json_object_object_add(o, "username", json_object_new_string(x ? x->username : ""));
        json_object_object_add(o, "live", json_object_new_boolean(x && !x->ended));
        json_object_object_add(o, "streams", json_object_new_int64((int64_t)rooms[i].nrecs));
        json_object_array_add(arr, o);
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "rooms", arr);
    H->respond_json(req, 200, o);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */
static int init(sh_plugin *self, const sh_host_api *host) {
    H = host;
    SELF = self;
    nrooms = 0;
    if (!SH_HOST_HAS(host, media_stage)) {
        host->log(self, SH_LOG_ERROR, "needs SDK 1.2 (media)");
        return SH_ERR_UNAVAILABLE;
    }
    static const sh_stage_ops ops = {sizeof(sh_stage_ops), on_start, on_packet, on_end};
    if (host->media_stage(self, "recsink", SH_STAGE_SINK, &ops, NULL) != SH_OK ||
        host->http_route(self, "GET", "/api/test/recsink/:roomId", 0, h_room, NULL) != SH_OK ||
        host->http_route(self, "GET", "/api/test/recsink", 0, h_rooms, NULL) != SH_OK ||
        host->bus_subscribe(self, SH_TOPIC_STREAM_STARTED, on_bus, NULL) != SH_OK ||
        host->bus_subscribe(self, SH_TOPIC_STREAM_ENDED, on_bus, NULL) != SH_OK)
        return SH_ERR;
    return SH_OK;
}

static void fini(sh_plugin *self) {
    (void)self;
    for (size_t i = 0; i < nrooms; i++)
        for (rec *x = rooms[i].recs, *n; x; x = n) {
            n = x->next;
            rec_free(x);
        }
    nrooms = 0;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,     .name = "recsink",
    .version = "0.0.1", .description = "test only: records what a media sink receives, per room",
    .init = init,       .fini = fini,
};

SH_PLUGIN_EXPORT(desc)
