/*
 * sink.c - the hls media sink stage. Per live stream: an fMP4 muxer (fmp4.h) over the stream's
 * first H.264/HEVC track and first AAC track (others are ignored), fed every packet as it comes
 * (remuxing only: no decoding, so it runs on the loop), cut into LL-HLS parts and segments that
 * go to the room's playlist (playlist.h) and store (store.c).
 *
 * Cutting, on each packet of the reference track (video, else audio), right after writing it
 * (fmp4.h: a cut ends the chunk right before the newest packet):
 *   - a video keyframe once the in-progress segment lasts at least 90% of segment_ms (without
 *     video: the audio frame after which one more would pass segment_ms): cut, the chunk is the
 *     segment's last part, close the segment: segments start on keyframes;
 *   - else when one more frame interval would make the part longer than PART-TARGET (part_ms):
 *     cut, the chunk is a part;
 *   - a segment that would outgrow TARGETDURATION (a GOP much longer than segment_ms) is closed
 *     after a part anyway: playable, but that next segment does not start on a keyframe.
 * Parts timed longer than PART-TARGET (a gap in the input) are listed as PART-TARGET long.
 *
 * Timing: EXT-X-PROGRAM-DATE-TIME of a part = wall clock when the stream's first reference
 * sample arrived + its media time since then. Sessions: a muxer lives from the first keyframe
 * to the stream's end; a timestamp jump (any track backwards by > 1 s, the reference track
 * forwards by > 10 s: a publisher restarting its clock) ends it and starts a new one after an EXT-X-DISCONTINUITY with
 * a new init section, as does the next stream in the same room (a reconnect within grace_ms).
 *
 * Ownership: the stage state of a stream is its room (hls.h), which outlives it. Loop thread.
 */
#include <libavutil/mathematics.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/hls.h"
#include "plugins/hls/params.h"

#define US           1000000
#define JUMP_BACK_US (1 * US)
#define JUMP_FWD_US  (10 * US)

static int64_t part_target_us(void) {
    return hls_g.part_ms * 1000;
}
static int64_t seg_limit_us(void) {
    return (int64_t)hls_g.target_s * US + US / 2;
} /* exclusive */

static int64_t to_us(int64_t v, int64_t num, int64_t den) {
    return av_rescale(v, num * US, den);
}

/* ---- muxer sessions ------------------------------------------------------------------------ */

/* Builds the muxer's track list from the stream's tracks; fills r->track_map. */
static size_t map_tracks(hls_room *r, struct hls_fmp4_track *out) {
    const sh_host_api *h = hls_g.h;
    size_t n = 0, count = h->stream_track_count(r->st);
    bool video = false, audio = false;
    r->has_video = false;
    r->key_codec = 0;
    for (size_t i = 0; i < HLS_MAX_TRACKS; i++)
        r->track_map[i] = -1;
    for (size_t i = 0; i < count && i < HLS_MAX_TRACKS; i++) {
        const sh_track_info *t = h->stream_track(r->st, i);
        struct hls_fmp4_track ft = {.extradata = t->extradata,
                                    .extradata_size = t->extradata_len,
                                    .time_base = {(int)t->timebase_num, (int)t->timebase_den}};
        if ((t->codec == SH_CODEC_H264 || t->codec == SH_CODEC_HEVC) && !video) {
            ft.codec = t->codec == SH_CODEC_H264 ? HLS_FMP4_H264 : HLS_FMP4_HEVC;
            int w = 0, hh = 0;
            int ok = t->codec == SH_CODEC_H264 ? hls_h264_dims(t->extradata, t->extradata_len, &w, &hh)
                                               : hls_hevc_dims(t->extradata, t->extradata_len, &w, &hh);
            ft.width = ok == 0 ? w : t->width;
            ft.height = ok == 0 ? hh : t->height;
            video = true;
            r->has_video = true;
            r->key_codec = t->codec;
            free(r->key_extra);
            r->key_extra = NULL;
            r->key_extra_len = 0;
            if (t->extradata_len && (r->key_extra = malloc(t->extradata_len))) {
                memcpy(r->key_extra, t->extradata, t->extradata_len);
                r->key_extra_len = t->extradata_len;
            }
        } else if (t->codec == SH_CODEC_AAC && !audio) {
            ft.codec = HLS_FMP4_AAC;
            int rate = 0, ch = 0;
            if (hls_asc_info(t->extradata, t->extradata_len, &rate, &ch) == 0) {
                ft.sample_rate = rate;
                ft.channels = ch ? ch : (t->channels > 0 ? t->channels : 2);
            } else {
                ft.sample_rate = t->sample_rate;
                ft.channels = t->channels;
            }
            audio = true;
        } else {
            continue;
        }
        if (n >= HLS_FMP4_MAX_TRACKS) break;
        r->track_map[i] = (int)n;
        r->track_tb_num[i] = t->timebase_num;
        r->track_tb_den[i] = t->timebase_den;
        out[n++] = ft;
    }
    return n;
}

/* Creates the muxer for r->st and stores its init section under the generation the next
 * segment will use. */
static int mux_open(hls_room *r) {
    struct hls_fmp4_track tracks[HLS_FMP4_MAX_TRACKS];
    size_t n = map_tracks(r, tracks);
    if (n == 0) {
        HLS_LOG(SH_LOG_WARN, "room %s: no H.264, HEVC or AAC track: not served over HLS", r->id);
        return -1;
    }
    int rc = hls_fmp4_create(tracks, n, &r->mux);
    if (rc < 0) {
        HLS_LOG(SH_LOG_WARN, "room %s: cannot mux this stream (fmp4 status %d: bad codec parameters?)", r->id, rc);
        return -1;
    }
    const uint8_t *init;
    size_t init_len;
    hls_fmp4_init_segment(r->mux, &init, &init_len);
    hls_buf *b = hls_buf_copy(init, init_len);
    if (!b || hls_store_set_init(&r->store, hls_playlist_init_gen(r->pl), b) < 0) {
        hls_fmp4_free(r->mux);
        r->mux = NULL;
        return -1;
    }
    r->ref_track = hls_fmp4_reference_track(r->mux);
    struct hls_fmp4_rational tb = hls_fmp4_time_base(r->mux, r->ref_track);
    r->ref_num = tb.num;
    r->ref_den = tb.den;
    r->ref_is_video = r->has_video;
    r->started = false;
    r->seg_us = 0;
    r->last_ref_dts_us = INT64_MIN;
    for (int i = 0; i < HLS_MAX_TRACKS; i++)
        r->last_dts_us[i] = INT64_MIN;
    r->ref_interval_us = r->has_video ? US / 30 : 23220;
    r->live = true;
    return 0;
}

/* Closes the in-progress segment: the playlist's, and its bytes joined from its parts. */
static void close_segment(hls_room *r) {
    uint64_t msn = hls_playlist_next_msn(r->pl);
    struct hls_segment_info si;
    if (hls_playlist_segment(r->pl, msn, &si) != HLS_PL_OK || si.complete) return; /* no part */
    if (hls_playlist_close_segment(r->pl) != HLS_PL_OK) return;
    hls_buf *b = hls_store_join_parts(&r->store, si.first_part_seq, si.part_count);
    if (b)
        hls_store_add_segment(&r->store, msn, si.init_gen, b);
    else
        HLS_LOG(SH_LOG_WARN, "room %s: segment %llu has no bytes (out of memory)", r->id, (unsigned long long)msn);
    r->seg_us = 0;
    hls_g.h->metric_add(hls_g.m_segments, 1);
}

/* Adds a cut chunk as the next part (taking its bytes); closes the segment after it when
 * `last` or when the next part might not fit the target duration. */
static void add_chunk(hls_room *r, struct hls_fmp4_chunk *c, bool last) {
    int64_t dur = c->duration_us;
    if (dur < 1) dur = 1;
    if (dur > part_target_us()) dur = part_target_us();
    int64_t start_us = to_us(c->start, r->ref_num, r->ref_den);
    int64_t pdt = r->anchor_wall_ms + (start_us - r->anchor_us) / 1000;
    if (pdt < 0) pdt = 0;
    int rc = hls_playlist_add_part(r->pl, dur, c->independent, pdt);
    if (rc == HLS_PL_ERANGE && r->seg_us > 0) { /* the segment is full: this part opens the next */
        close_segment(r);
        rc = hls_playlist_add_part(r->pl, dur, c->independent, pdt);
    }
    if (rc != HLS_PL_OK) {
        HLS_LOG(SH_LOG_WARN, "room %s: part refused by the playlist (status %d)", r->id, rc);
        free(c->data);
        return;
    }
    struct hls_part_ref next;
    hls_playlist_next_part(r->pl, &next); /* the one after ours */
    hls_buf *b = hls_buf_wrap(c->data, c->size);
    c->data = NULL;
    if (b) hls_store_add_part(&r->store, next.seq - 1, hls_playlist_next_msn(r->pl), b);
    r->seg_us += dur;
    r->parts_total++;
    hls_g.h->metric_add(hls_g.m_parts, 1);
    if (last || r->seg_us + part_target_us() >= seg_limit_us()) close_segment(r);
}

/* Ends the muxer session: the held-back samples become the last part, the segment closes. */
static void mux_close(hls_room *r) {
    if (!r->mux) return;
    struct hls_fmp4_chunk c;
    if (r->live && r->started && hls_fmp4_finish(r->mux, &c) == HLS_FMP4_OK && c.size) add_chunk(r, &c, true);
    close_segment(r);
    hls_fmp4_free(r->mux);
    r->mux = NULL;
    r->live = false;
}

/* The muxer failed (out of memory, libavformat error): stop serving this stream; the
 * playlist ends now (players stop), the room's grace starts when the stream ends. */
static void mux_fail(hls_room *r, int rc) {
    HLS_LOG(SH_LOG_ERROR, "room %s: muxer failed (status %d); HLS stops for this stream", r->id, rc);
    close_segment(r);
    hls_fmp4_free(r->mux);
    r->mux = NULL;
    r->live = false;
    hls_playlist_end(r->pl);
    hls_room_changed(r);
}

/* A timestamp discontinuity: new muxer session after an EXT-X-DISCONTINUITY. */
static void mux_restart(hls_room *r) {
    HLS_LOG(SH_LOG_INFO, "room %s: timestamp jump: new segment after a discontinuity", r->id);
    mux_close(r);
    hls_playlist_mark_discontinuity(r->pl, true);
    if (mux_open(r) < 0) {
        hls_playlist_end(r->pl);
        r->live = false;
    }
    hls_room_changed(r);
}

static void cut(hls_room *r, bool segment_end) {
    struct hls_fmp4_chunk c;
    int rc = hls_fmp4_cut(r->mux, &c);
    if (rc < 0) {
        mux_fail(r, rc);
        return;
    }
    if (c.size == 0) return;
    add_chunk(r, &c, segment_end);
    hls_room_changed(r);
}

/* ---- the stage ---------------------------------------------------------------------------- */

static void *sink_start(sh_stream *st, void *ud) {
    (void)ud;
    const sh_host_api *h = hls_g.h;
    hls_room *r = hls_room_get(h->stream_room(st));
    if (!r) {
        HLS_LOG(SH_LOG_ERROR, "out of memory for room %s", h->stream_room(st));
        return NULL;
    }
    if (r->st) { /* cannot happen: one stream per room */
        HLS_LOG(SH_LOG_ERROR, "room %s already has a stream", r->id);
        return NULL;
    }
    if (!r->pl) {
        struct hls_playlist_config cfg = {hls_g.window_segments, hls_g.target_s, part_target_us()};
        if (hls_playlist_create(&cfg, &r->pl) != HLS_PL_OK) {
            HLS_LOG(SH_LOG_ERROR, "room %s: cannot create the playlist", r->id);
            hls_room_begin_grace(r);
            return NULL;
        }
    } else {
        /* a reconnect within the grace period: the same playlist goes on */
        if (hls_playlist_ended(r->pl)) hls_playlist_resume(r->pl);
        struct hls_part_ref nx;
        hls_playlist_next_part(r->pl, &nx);
        if (nx.seq > 0) hls_playlist_mark_discontinuity(r->pl, true);
    }
    r->st = st;
    r->grace_until = 0;
    r->ended_ms = 0;
    r->started_ms = h->wall_ms(hls_g.self);
    r->streams++;
    r->dropped = 0;
    if (mux_open(r) < 0) {
        hls_playlist_end(r->pl); /* nothing to serve; the stream goes on without HLS */
        hls_room_changed(r);
        return r;
    }
    hls_room_changed(r);
    h->metric_add(hls_g.m_live, 1);
    r->in_live_gauge = true;
    HLS_LOG(SH_LOG_INFO, "room %s: HLS started (stream %lld, target %us, part %lldms)", r->id,
            (long long)h->stream_id(st), hls_g.target_s, (long long)hls_g.part_ms);
    return r;
}

static sh_packet *sink_packet(void *state, sh_stream *st, sh_packet *pkt) {
    (void)st;
    hls_room *r = state;
    const sh_host_api *h = hls_g.h;
    if (!r || !r->live || !r->mux) return NULL;
    int t = h->packet_track(pkt);
    if (t < 0 || t >= HLS_MAX_TRACKS || r->track_map[t] < 0) return NULL;
    unsigned mt = (unsigned)r->track_map[t];
    bool is_ref = mt == r->ref_track;
    bool video = is_ref && r->ref_is_video;
    bool key = h->packet_keyframe(pkt) != 0 || (is_ref && !r->ref_is_video); /* audio: every frame */
    if (!r->started) {
        if (!is_ref || (video && !key)) return NULL; /* start on a reference keyframe */
    }
    int64_t dts = h->packet_dts(pkt), pts = h->packet_pts(pkt);
    size_t len;
    const uint8_t *data = h->packet_data(pkt, &len);
    if (dts < 0 || len == 0) {
        r->dropped++;
        return NULL;
    }
    if (pts < dts) pts = dts;
    int64_t dts_us = to_us(dts, r->track_tb_num[t], r->track_tb_den[t]);
    if (r->started && r->last_dts_us[t] != INT64_MIN) {
        int64_t jump = dts_us - r->last_dts_us[t];
        if (jump < -JUMP_BACK_US || (is_ref && jump > JUMP_FWD_US)) {
            mux_restart(r);
            if (!r->live || !is_ref || !key) return NULL; /* the new session starts on a keyframe */
        }
    }
    struct hls_fmp4_packet p = {.track = mt, .pts = pts, .dts = dts, .keyframe = key, .data = data, .size = len};
    int rc = hls_fmp4_write(r->mux, &p);
    if (rc == HLS_FMP4_EINVAL || rc == HLS_FMP4_EDATA || rc == HLS_FMP4_ETS) {
        if (r->dropped++ == 0)
            HLS_LOG(SH_LOG_WARN, "room %s: packet refused by the muxer (status %d); dropping such packets", r->id, rc);
        return NULL;
    }
    if (rc < 0) {
        mux_fail(r, rc);
        return NULL;
    }
    r->last_dts_us[t] = dts_us;
    if (!r->started) {
        r->started = true;
        r->anchor_us = dts_us;
        r->anchor_wall_ms = (int64_t)h->wall_ms(hls_g.self);
    }
    if (video && key) hls_thumb_keyframe(r, pkt);
    if (!is_ref) return NULL;

    if (r->last_ref_dts_us != INT64_MIN) {
        int64_t iv = dts_us - r->last_ref_dts_us;
        if (iv > 0 && iv < US) r->ref_interval_us = iv;
    }
    r->last_ref_dts_us = dts_us;
    int64_t d_us = to_us(hls_fmp4_pending_duration(r->mux), r->ref_num, r->ref_den);
    if (d_us <= 0) return NULL;
    /* video: the first keyframe after 90% of segment_ms; audio (every frame is a sync sample):
     * the last frame that keeps the segment within segment_ms */
    bool boundary = r->ref_is_video ? key && r->seg_us + d_us >= hls_g.segment_ms * 900
                                    : r->seg_us + d_us + r->ref_interval_us > hls_g.segment_ms * 1000;
    if (boundary)
        cut(r, true);
    else if (d_us + r->ref_interval_us > part_target_us())
        cut(r, false);
    return NULL;
}

static void sink_end(void *state, sh_stream *st, const char *reason) {
    (void)st;
    hls_room *r = state;
    if (!r) return;
    mux_close(r);
    if (r->pl) hls_playlist_end(r->pl);
    r->st = NULL;
    r->live = false;
    if (r->key_pkt) {
        hls_g.h->packet_unref(r->key_pkt);
        r->key_pkt = NULL;
    }
    if (r->in_live_gauge) hls_g.h->metric_add(hls_g.m_live, -1);
    r->in_live_gauge = false;
    HLS_LOG(SH_LOG_INFO, "room %s: stream ended (%s): EXT-X-ENDLIST; kept %lld ms", r->id, reason ? reason : "-",
            (long long)hls_g.grace_ms);
    hls_room_begin_grace(r);
    hls_room_changed(r);
}

const sh_stage_ops hls_sink_ops = {
    .size = sizeof(sh_stage_ops),
    .on_start = sink_start,
    .on_packet = sink_packet,
    .on_end = sink_end,
};
