/*
 * plugins/rtmp/ingest.c - FLV audio/video message bodies into the media pipeline.
 *
 * Video: H.264 (legacy CodecID 7 or Enhanced 'avc1') - the AVC sequence header is validated with
 * flv_avcc_parse and becomes the track's extradata (avcC); coded frames must tile exactly into
 * length-prefixed NAL units (flv_nalus_validate) and are passed on as they are (AVCC). Enhanced
 * RTMP 'hvc1' (hvcC validated with flv_hvcc_parse, NAL units checked the same way), 'av01' (av1C)
 * and 'vp09' (vpcC) are passed through with their codec. Audio: AAC (the AudioSpecificConfig is
 * validated with flv_asc_parse and becomes the extradata; raw frames follow) and MP3. Anything
 * else is dropped and counted (rtmp_dropped_packets_total).
 *
 * Timestamps: one 64-bit clock per connection unwraps the 32-bit RTMP timestamps (a step is taken
 * as the signed 32-bit difference from the previous message, so 2^32 wraps are crossed in both
 * directions); dts is then kept non-decreasing and >= 0 per track, pts = dts + composition time
 * (never below dts). Units: ms (timebase 1/1000).
 *
 * Start: the stream is started (tracks declared, stream_start) as soon as both the video and the
 * audio configuration arrived; or when onMetaData said which tracks exist and those arrived; or at
 * the first video keyframe when no audio track was announced; or RTMP_START_WAIT_MS after the
 * publish was accepted with whatever arrived by then (audio-only and video-only streams). Packets
 * that come earlier are held (at most RTMP_QUEUE_MAX_PKTS / RTMP_QUEUE_MAX_BYTES, beyond which the
 * stream starts with what it has) and pushed in order once it starts. A track whose configuration
 * comes after the start is ignored (logged once); so is a changed configuration mid-stream.
 *
 * Ownership: a track's extradata and the held packets belong to the connection and are freed by
 * rtmp_ingest_reset. Message bodies are borrowed for the call (stream_push copies them once).
 * Threads: loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/rtmp_plugin.h"

enum start_trigger { TRIG_CONFIG, TRIG_KEYFRAME, TRIG_FORCE };

static const char *codec_name(sh_codec c) {
    switch (c) {
    case SH_CODEC_H264:
        return "h264";
    case SH_CODEC_HEVC:
        return "hevc";
    case SH_CODEC_AV1:
        return "av1";
    case SH_CODEC_VP9:
        return "vp9";
    case SH_CODEC_AAC:
        return "aac";
    case SH_CODEC_OPUS:
        return "opus";
    case SH_CODEC_MP3:
        return "mp3";
    default:
        return "?";
    }
}

int64_t rtmp_clock(rtmp_conn *c, uint32_t ts) {
    if (!c->clock_set) {
        c->clock_set = 1;
        c->clock32 = ts;
        c->clock64 = ts;
        return c->clock64;
    }
    uint32_t u = ts - c->clock32; /* modulo 2^32 */
    int64_t d = u < 0x80000000u ? (int64_t)u : (int64_t)u - 0x100000000LL;
    c->clock32 = ts;
    c->clock64 += d;
    return c->clock64;
}

static void drop(rtmp_conn *c, rtmp_track *t, const char *why) {
    rtmp_g.host->metric_add(rtmp_g.m_dropped, 1);
    int *warned = t ? &t->warned_bad : &c->warned_codec;
    if (!*warned) {
        *warned = 1;
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publisher %llu (%s): %s: dropped (further ones are only counted)",
                         (unsigned long long)c->id, c->username, why);
    }
}

/* ---- held packets ------------------------------------------------------------------------- */
static void queue_free(rtmp_conn *c) {
    for (rtmp_qpkt *q = c->qhead, *n; q; q = n) {
        n = q->next;
        free(q);
    }
    c->qhead = c->qtail = NULL;
    c->qcount = c->qbytes = 0;
}

static int queue_add(rtmp_conn *c, sh_track_kind kind, int64_t pts, int64_t dts, int key, const uint8_t *d,
                     size_t len) {
    rtmp_qpkt *q = malloc(sizeof *q + len);
    if (!q) return -1;
    q->next = NULL;
    q->kind = kind;
    q->pts = pts;
    q->dts = dts;
    q->key = key;
    q->len = len;
    if (len) memcpy(q->data, d, len);
    if (c->qtail)
        c->qtail->next = q;
    else
        c->qhead = q;
    c->qtail = q;
    c->qcount++;
    c->qbytes += len;
    return 0;
}

void rtmp_ingest_reset(rtmp_conn *c) {
    queue_free(c);
    free(c->video.extradata);
    free(c->audio.extradata);
    memset(&c->video, 0, sizeof c->video);
    memset(&c->audio, 0, sizeof c->audio);
    memset(&c->meta, 0, sizeof c->meta);
    c->video.index = c->audio.index = -1;
    c->started = 0;
    c->clock_set = 0;
    c->clock32 = 0;
    c->clock64 = 0;
}

/* ---- pushing ------------------------------------------------------------------------------ */
static void push(rtmp_conn *c, rtmp_track *t, int64_t pts, int64_t dts, int key, const uint8_t *d, size_t len) {
    if (t->index < 0) {
        rtmp_g.host->metric_add(rtmp_g.m_dropped, 1);
        return;
    }
    sh_packet_info pi = {.track = t->index, .pts = pts, .dts = dts, .keyframe = key, .data = d, .len = len};
    if (rtmp_g.host->stream_push(c->stream, &pi) == SH_OK)
        rtmp_g.host->metric_add(rtmp_g.m_packets, 1);
    else
        rtmp_g.host->metric_add(rtmp_g.m_dropped, 1);
}

static int add_track(rtmp_conn *c, rtmp_track *t, sh_track_kind kind) {
    const rtmp_meta *mt = &c->meta;
    sh_track_info ti;
    memset(&ti, 0, sizeof ti);
    ti.size = sizeof ti;
    ti.kind = kind;
    ti.codec = t->codec;
    ti.extradata = t->extradata;
    ti.extradata_len = t->extradata_len;
    ti.timebase_num = 1;
    ti.timebase_den = 1000;
    if (kind == SH_TRACK_VIDEO) {
        ti.width = t->width ? t->width : mt->width;
        ti.height = t->height ? t->height : mt->height;
        ti.fps = mt->fps;
        ti.bitrate = (int64_t)(mt->video_kbps * 1000.0);
    } else {
        ti.sample_rate = t->sample_rate ? t->sample_rate : mt->sample_rate;
        ti.channels = t->channels ? t->channels : mt->channels;
        ti.bitrate = (int64_t)(mt->audio_kbps * 1000.0);
    }
    int idx = rtmp_g.host->stream_add_track(c->stream, &ti);
    t->index = idx >= 0 ? idx : -1;
    return idx;
}

static void do_start(rtmp_conn *c) {
    if (c->video.present) add_track(c, &c->video, SH_TRACK_VIDEO);
    if (c->audio.present) add_track(c, &c->audio, SH_TRACK_AUDIO);
    if ((c->video.index < 0 && c->audio.index < 0) || rtmp_g.host->stream_start(c->stream) != SH_OK) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "publisher %llu (%s): the stream could not start",
                         (unsigned long long)c->id, c->username);
        rtmp_conn_close(c, "disconnected");
        return;
    }
    c->started = 1;
    rtmp_conn_disarm(c, RTMP_TIMER_START);
    const sh_track_info *v = c->video.index >= 0 ? rtmp_g.host->stream_track(c->stream, (size_t)c->video.index) : NULL;
    const sh_track_info *a = c->audio.index >= 0 ? rtmp_g.host->stream_track(c->stream, (size_t)c->audio.index) : NULL;
    char vdesc[96] = "none", adesc[96] = "none";
    if (v) snprintf(vdesc, sizeof vdesc, "%s %dx%d %.3g fps", codec_name(v->codec), v->width, v->height, v->fps);
    if (a) snprintf(adesc, sizeof adesc, "%s %d Hz %d ch", codec_name(a->codec), a->sample_rate, a->channels);
    rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "stream %lld in room %s started: video %s, audio %s",
                     (long long)rtmp_g.host->stream_id(c->stream), c->room, vdesc, adesc);
    rtmp_qpkt *q = c->qhead;
    c->qhead = c->qtail = NULL;
    c->qcount = c->qbytes = 0;
    while (q) {
        rtmp_qpkt *n = q->next;
        if (c->stream && !c->dead)
            push(c, q->kind == SH_TRACK_VIDEO ? &c->video : &c->audio, q->pts, q->dts, q->key, q->data, q->len);
        free(q);
        q = n;
    }
}

static void maybe_start(rtmp_conn *c, enum start_trigger trig) {
    if (!c->stream || c->started || c->dead) return;
    int v = c->video.present, a = c->audio.present;
    const rtmp_meta *mt = &c->meta;
    if (!v && !a) return;
    int go = (v && a) || trig == TRIG_FORCE || (mt->known && (v || !mt->has_video) && (a || !mt->has_audio)) ||
             (trig == TRIG_KEYFRAME && v && !(mt->known && mt->has_audio));
    if (go) do_start(c);
}

void rtmp_ingest_begin(rtmp_conn *c) {
    rtmp_ingest_reset(c);
    rtmp_conn_arm(c, RTMP_TIMER_START, RTMP_START_WAIT_MS);
}

void rtmp_ingest_start_fired(rtmp_conn *c) {
    if (!c->stream || c->started || c->dead) return;
    maybe_start(c, TRIG_FORCE);
    if (!c->started && !c->dead) rtmp_conn_arm(c, RTMP_TIMER_START, RTMP_START_WAIT_MS); /* nothing yet: wait on */
}

/* A packet in order of arrival: timestamps made monotonic for its track, then pushed or held. */
static void emit(rtmp_conn *c, rtmp_track *t, sh_track_kind kind, int64_t pts, int64_t dts, int key, const uint8_t *d,
                 size_t len) {
    if (dts < 0) dts = 0;
    if (t->have_dts && dts < t->last_dts) dts = t->last_dts;
    if (pts < dts) pts = dts;
    t->have_dts = 1;
    t->last_dts = dts;
    if (!c->started) {
        if (kind == SH_TRACK_VIDEO && key) maybe_start(c, TRIG_KEYFRAME);
        if (!c->started && (c->qcount >= RTMP_QUEUE_MAX_PKTS || c->qbytes + len > RTMP_QUEUE_MAX_BYTES))
            maybe_start(c, TRIG_FORCE);
        if (c->dead || !c->stream) return;
        if (!c->started) {
            if (queue_add(c, kind, pts, dts, key, d, len) != 0) drop(c, t, "out of memory holding packets");
            return;
        }
    }
    push(c, t, pts, dts, key, d, len);
}

/* Stores a track's configuration. Returns 1 when it is new, 0 when ignored (repeat, late or
 * changed after the start), -1 on error. */
static int set_config(rtmp_conn *c, rtmp_track *t, sh_codec codec, const uint8_t *ed, size_t len) {
    if (len > RTMP_EXTRADATA_MAX) return -1;
    if (t->present && t->codec == codec && t->extradata_len == len && (len == 0 || memcmp(t->extradata, ed, len) == 0))
        return 0; /* the same again (OBS repeats it) */
    if (c->started) {
        if (!t->warned_late) {
            t->warned_late = 1;
            rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN,
                             "publisher %llu (%s): %s configuration after the stream started: ignored",
                             (unsigned long long)c->id, c->username, t == &c->video ? "video" : "audio");
        }
        return 0;
    }
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy) return -1;
        memcpy(copy, ed, len);
    }
    free(t->extradata);
    t->extradata = copy;
    t->extradata_len = len;
    t->codec = codec;
    t->present = 1;
    return 1;
}

/* ---- video -------------------------------------------------------------------------------- */
static sh_codec video_codec(enum flv_video_codec v) {
    switch (v) {
    case FLV_VCODEC_H264:
        return SH_CODEC_H264;
    case FLV_VCODEC_HEVC:
        return SH_CODEC_HEVC;
    case FLV_VCODEC_AV1:
        return SH_CODEC_AV1;
    case FLV_VCODEC_VP9:
        return SH_CODEC_VP9;
    default:
        return (sh_codec)0;
    }
}

static void video_config(rtmp_conn *c, const struct flv_video *v) {
    rtmp_track *t = &c->video;
    sh_codec codec = video_codec(v->codec);
    uint8_t nls = 0;
    int w = 0, h = 0;
    if (v->codec == FLV_VCODEC_H264) {
        struct flv_avc_config ac;
        if (flv_avcc_parse(v->body, v->body_len, &ac) != FLV_OK) {
            drop(c, t, "invalid AVC sequence header (avcC)");
            return;
        }
        nls = ac.nal_length_size;
        w = (int)ac.sps_info.width;
        h = (int)ac.sps_info.height;
    } else if (v->codec == FLV_VCODEC_HEVC) {
        struct flv_hevc_config hc;
        if (flv_hvcc_parse(v->body, v->body_len, &hc) != FLV_OK) {
            drop(c, t, "invalid HEVC sequence header (hvcC)");
            return;
        }
        nls = hc.nal_length_size;
    } else if (v->codec == FLV_VCODEC_AV1) {
        if (v->body_len < 4 || v->body[0] != 0x81) { /* av1C: marker 1, version 1 */
            drop(c, t, "invalid AV1 sequence header (av1C)");
            return;
        }
    } else if (v->codec == FLV_VCODEC_VP9) {
        if (v->body_len < 8 || v->body[0] != 1) { /* vpcC: version 1 full box payload */
            drop(c, t, "invalid VP9 sequence header (vpcC)");
            return;
        }
    } else {
        drop(c, NULL, "unsupported video codec");
        return;
    }
    int rc = set_config(c, t, codec, v->body, v->body_len);
    if (rc < 0) {
        drop(c, t, "video configuration too large");
        return;
    }
    if (rc > 0) {
        t->nal_length_size = nls;
        t->width = w;
        t->height = h;
    }
    maybe_start(c, TRIG_CONFIG);
}

static void video_frame(rtmp_conn *c, const struct flv_video *v, int64_t dts) {
    rtmp_track *t = &c->video;
    if (!t->present) {
        drop(c, t, "video before its sequence header");
        return;
    }
    if (video_codec(v->codec) != t->codec) {
        drop(c, t, "video of another codec than its sequence header");
        return;
    }
    if (v->body_len == 0) return; /* an empty frame carries nothing */
    if ((t->codec == SH_CODEC_H264 || t->codec == SH_CODEC_HEVC) &&
        flv_nalus_validate(v->body, v->body_len, t->nal_length_size, NULL) != FLV_OK) {
        drop(c, t, "video frame whose NAL unit lengths do not add up");
        return;
    }
    emit(c, t, SH_TRACK_VIDEO, dts + v->cts, dts, v->frame_type == FLV_FRAME_KEY, v->body, v->body_len);
}

static void video_msg(rtmp_conn *c, const uint8_t *p, size_t len, int64_t dts) {
    struct flv_video v;
    int rc = flv_video_parse(p, len, &v);
    if (rc != FLV_OK) {
        drop(c, rc == FLV_ERR_UNSUPPORTED ? NULL : &c->video,
             rc == FLV_ERR_UNSUPPORTED ? "unsupported video codec or packet type" : "malformed video tag");
        return;
    }
    switch (v.packet) {
    case FLV_VPKT_SEQUENCE_START:
        video_config(c, &v);
        break;
    case FLV_VPKT_CODED_FRAMES:
        video_frame(c, &v, dts);
        break;
    case FLV_VPKT_RAW:
        drop(c, NULL, "unsupported legacy video codec");
        break;
    default: /* sequence end, metadata, command frames, MPEG-2 TS sequence start */
        break;
    }
}

/* ---- audio -------------------------------------------------------------------------------- */
static void audio_msg(rtmp_conn *c, const uint8_t *p, size_t len, int64_t dts) {
    static const int mp3_rates[4] = {5512, 11025, 22050, 44100};
    rtmp_track *t = &c->audio;
    struct flv_audio a;
    if (flv_audio_parse(p, len, &a) != FLV_OK) {
        drop(c, t, "malformed or unsupported audio tag");
        return;
    }
    if (a.sound_format == FLV_SOUND_FORMAT_AAC) {
        if (a.packet == FLV_APKT_AAC_SEQUENCE_HEADER) {
            struct flv_aac_config ac;
            if (flv_asc_parse(a.body, a.body_len, &ac) != FLV_OK) {
                drop(c, t, "invalid AudioSpecificConfig");
                return;
            }
            int rc = set_config(c, t, SH_CODEC_AAC, a.body, a.body_len);
            if (rc > 0) {
                t->sample_rate = (int)(ac.sbr && ac.ext_sample_rate ? ac.ext_sample_rate : ac.sample_rate);
                t->channels = ac.channels ? ac.channels : a.sound_type + 1;
            }
            maybe_start(c, TRIG_CONFIG);
            return;
        }
        if (!t->present || t->codec != SH_CODEC_AAC) {
            drop(c, t, "AAC before its AudioSpecificConfig");
            return;
        }
        if (a.body_len == 0) return;
        emit(c, t, SH_TRACK_AUDIO, dts, dts, 1, a.body, a.body_len);
    } else if (a.sound_format == 2) { /* MP3: no configuration record, the tag header says it */
        if (!t->present) {
            if (set_config(c, t, SH_CODEC_MP3, NULL, 0) > 0) {
                t->sample_rate = mp3_rates[a.sound_rate & 3];
                t->channels = a.sound_type + 1;
            }
            maybe_start(c, TRIG_CONFIG);
        }
        if (!t->present || t->codec != SH_CODEC_MP3) {
            drop(c, t, "audio of another codec than announced");
            return;
        }
        if (a.body_len == 0) return;
        emit(c, t, SH_TRACK_AUDIO, dts, dts, 1, a.body, a.body_len);
    } else {
        drop(c, NULL, "unsupported audio format (only AAC and MP3)");
    }
}

int rtmp_on_media(rtmp_conn *c, uint8_t type, uint32_t timestamp, const uint8_t *p, size_t len) {
    if (!c->stream || c->pub != RTMP_PUB_LIVE) return 0; /* not publishing: ignored */
    int64_t dts = rtmp_clock(c, timestamp);
    if (type == RTMP_MSG_AUDIO)
        audio_msg(c, p, len, dts);
    else
        video_msg(c, p, len, dts);
    return c->dead ? -1 : 0;
}

/* Aggregate message (type 22): FLV tags back to back (11-byte header, body, 4-byte back
 * pointer); their timestamps are relative to the first one, which the message's own replaces. */
int rtmp_on_aggregate(rtmp_conn *c, const struct rtmp_message *m) {
    const uint8_t *p = m->payload;
    size_t len = m->len, off = 0;
    int have_first = 0;
    uint32_t first = 0;
    while (len - off >= 11 && !c->dead) {
        uint8_t type = p[off] & 0x1F;
        size_t size = ((size_t)p[off + 1] << 16) | ((size_t)p[off + 2] << 8) | p[off + 3];
        uint32_t ts =
            ((uint32_t)p[off + 7] << 24) | ((uint32_t)p[off + 4] << 16) | ((uint32_t)p[off + 5] << 8) | p[off + 6];
        if (size > len - off - 11) {
            drop(c, NULL, "truncated aggregate message");
            break;
        }
        if (!have_first) {
            have_first = 1;
            first = ts;
        }
        if (type == RTMP_MSG_AUDIO || type == RTMP_MSG_VIDEO)
            rtmp_on_media(c, type, m->timestamp + (ts - first), p + off + 11, size);
        off += 11 + size;
        if (len - off < 4) break;
        off += 4;
    }
    return c->dead ? -1 : 0;
}
