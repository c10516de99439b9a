/*
 * media.c - see media.h. Streams are few (tens per node), kept in a list; stages in an array
 * in registration order, filters before sinks. Each stream keeps one state pointer per stage.
 */
#include "core/media.h"

#include <stdlib.h>
#include <string.h>

#include "core/bus.h"
#include "core/log.h"
#include "core/metrics.h"

#define MAX_TRACKS 8

struct sh_packet {
    uint32_t refs;
    int track;
    int64_t pts, dts;
    int keyframe;
    size_t len;
    uint8_t data[];
};

typedef struct stage {
    sh_plugin *owner;
    char *name;
    sh_stage_kind kind;
    sh_stage_ops ops;
    void *ud;
} stage;

struct sh_stream {
    sh_media *m;
    int64_t id;
    char *room, *username;
    int64_t user_id;
    sh_plugin *source;
    sh_track_info tracks[MAX_TRACKS];
    size_t ntracks;
    int started;
    void **states;
    size_t nstates;
    uint64_t started_ms;
    sh_stream *next;
};

struct sh_media {
    sh_host *h;
    stage *stages;
    size_t nstages;
    sh_stream *streams;
    size_t nstreams;
    int64_t next_id;
    sh_metric *m_streams, *m_packets, *m_bytes;
};

static const char *codec_name(sh_codec c) {
    static const char *n[] = {"", "h264", "hevc", "av1", "vp9", "aac", "opus", "mp3"};
    return (int)c >= 1 && (int)c <= 7 ? n[c] : "unknown";
}

sh_media *sh_media_new(sh_host *h) {
    sh_media *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->h = h;
    m->next_id = 1;
    m->m_streams = sh_metrics_get(h->metrics, SH_METRIC_GAUGE, "streamhub_media_streams", "Live streams on this node", NULL);
    m->m_packets = sh_metrics_get(h->metrics, SH_METRIC_COUNTER, "streamhub_media_packets_total", "Media packets pushed", NULL);
    m->m_bytes = sh_metrics_get(h->metrics, SH_METRIC_COUNTER, "streamhub_media_bytes_total", "Media bytes pushed", NULL);
    return m;
}

size_t sh_media_stream_count(const sh_media *m) { return m ? m->nstreams : 0; }

int sh_media_stage(sh_media *m, sh_plugin *p, const char *name, sh_stage_kind kind, const sh_stage_ops *ops, void *ud) {
    if (!name || !ops || ops->size < offsetof(sh_stage_ops, on_end) + sizeof ops->on_end ||
        (kind != SH_STAGE_SINK && kind != SH_STAGE_FILTER))
        return SH_ERR_INVALID;
    stage *ns = realloc(m->stages, (m->nstages + 1) * sizeof *ns);
    if (!ns) return SH_ERR_NOMEM;
    m->stages = ns;
    /* filters go before every sink, each kind in registration order */
    size_t at = m->nstages;
    if (kind == SH_STAGE_FILTER)
        while (at > 0 && m->stages[at - 1].kind == SH_STAGE_SINK) at--;
    memmove(&m->stages[at + 1], &m->stages[at], (m->nstages - at) * sizeof *ns);
    m->stages[at] = (stage){p, strdup(name), kind, {0}, ud};
    memcpy(&m->stages[at].ops, ops, ops->size < sizeof(sh_stage_ops) ? ops->size : sizeof(sh_stage_ops));
    m->nstages++;
    return SH_OK;
}

sh_stream *sh_stream_find(sh_media *m, const char *room_id) {
    for (sh_stream *s = m->streams; s && room_id; s = s->next)
        if (strcmp(s->room, room_id) == 0) return s;
    return NULL;
}

sh_stream *sh_stream_open(sh_media *m, sh_plugin *src, const char *room_id, int64_t user_id, const char *username) {
    if (!room_id || !*room_id || sh_stream_find(m, room_id)) return NULL;
    sh_stream *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->m = m;
    st->id = m->next_id++;
    st->room = strdup(room_id);
    st->username = strdup(username ? username : "");
    st->user_id = user_id;
    st->source = src;
    st->states = calloc(m->nstages + 1, sizeof *st->states);
    st->nstates = m->nstages;
    if (!st->room || !st->username || !st->states) {
        free(st->room);
        free(st->username);
        free(st->states);
        free(st);
        return NULL;
    }
    st->next = m->streams;
    m->streams = st;
    m->nstreams++;
    sh_metric_set(m->m_streams, (double)m->nstreams);
    return st;
}

int sh_stream_add_track(sh_stream *st, const sh_track_info *info) {
    if (!st || st->started || !info || st->ntracks >= MAX_TRACKS) return SH_ERR_STATE;
    sh_track_info *t = &st->tracks[st->ntracks];
    memset(t, 0, sizeof *t);
    memcpy(t, info, info->size < sizeof *t ? info->size : sizeof *t);
    t->size = sizeof *t;
    if (info->extradata_len) {
        uint8_t *e = malloc(info->extradata_len);
        if (!e) return SH_ERR_NOMEM;
        memcpy(e, info->extradata, info->extradata_len);
        t->extradata = e;
    } else {
        t->extradata = NULL;
    }
    if (!t->timebase_den) {
        t->timebase_num = 1;
        t->timebase_den = 1000;
    }
    return (int)st->ntracks++;
}

int sh_stream_start(sh_stream *st) {
    if (!st || st->started) return SH_ERR_STATE;
    sh_media *m = st->m;
    st->started = 1;
    st->started_ms = sh_wall_ms();
    for (size_t i = 0; i < m->nstages && i < st->nstates; i++)
        st->states[i] = m->stages[i].ops.on_start ? m->stages[i].ops.on_start(st, m->stages[i].ud) : NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "streamId", json_object_new_int64(st->id));
    json_object_object_add(o, "roomId", json_object_new_string(st->room));
    json_object_object_add(o, "userId", json_object_new_int64(st->user_id));
    json_object_object_add(o, "username", json_object_new_string(st->username));
    json_object_object_add(o, "startedAt", json_object_new_int64((int64_t)st->started_ms));
    json_object *tracks = json_object_new_array();
    for (size_t i = 0; i < st->ntracks; i++) {
        const sh_track_info *t = &st->tracks[i];
        json_object *jt = json_object_new_object();
        json_object_object_add(jt, "kind", json_object_new_string(t->kind == SH_TRACK_VIDEO ? "video" : "audio"));
        json_object_object_add(jt, "codec", json_object_new_string(codec_name(t->codec)));
        if (t->kind == SH_TRACK_VIDEO) {
            json_object_object_add(jt, "width", json_object_new_int(t->width));
            json_object_object_add(jt, "height", json_object_new_int(t->height));
            json_object_object_add(jt, "fps", json_object_new_double(t->fps));
        } else {
            json_object_object_add(jt, "sampleRate", json_object_new_int(t->sample_rate));
            json_object_object_add(jt, "channels", json_object_new_int(t->channels));
        }
        json_object_array_add(tracks, jt);
    }
    json_object_object_add(o, "tracks", tracks);
    sh_bus_publish(m->h->bus, SH_TOPIC_STREAM_STARTED, o, 0);
    SH_LOG_I("media", "stream %lld started in room %s by %s (%zu tracks)", (long long)st->id, st->room, st->username,
             st->ntracks);
    return SH_OK;
}

sh_packet *sh_packet_new(const sh_packet_info *pi) {
    sh_packet *p = malloc(sizeof *p + pi->len);
    if (!p) return NULL;
    p->refs = 1;
    p->track = pi->track;
    p->pts = pi->pts;
    p->dts = pi->dts;
    p->keyframe = pi->keyframe;
    p->len = pi->len;
    if (pi->len) memcpy(p->data, pi->data, pi->len);
    return p;
}

int sh_stream_push(sh_stream *st, const sh_packet_info *pi) {
    if (!st || !st->started) return SH_ERR_STATE;
    if (!pi || pi->track < 0 || (size_t)pi->track >= st->ntracks || (pi->len && !pi->data)) return SH_ERR_INVALID;
    sh_media *m = st->m;
    sh_packet *p = sh_packet_new(pi);
    if (!p) return SH_ERR_NOMEM;
    sh_metric_add(m->m_packets, 1);
    sh_metric_add(m->m_bytes, (double)pi->len);
    for (size_t i = 0; i < m->nstages && i < st->nstates && p; i++) {
        stage *sg = &m->stages[i];
        if (!sg->ops.on_packet) continue;
        if (sg->kind == SH_STAGE_FILTER) {
            sh_packet *out = sg->ops.on_packet(st->states[i], st, p);
            if (out != p) sh_packet_unref(p);
            p = out;
        } else {
            sg->ops.on_packet(st->states[i], st, p);
        }
    }
    sh_packet_unref(p);
    return SH_OK;
}

void sh_stream_close(sh_stream *st, const char *reason) {
    if (!st) return;
    sh_media *m = st->m;
    if (!reason) reason = "unpublished";
    if (st->started) {
        for (size_t i = m->nstages; i-- > 0;)
            if (i < st->nstates && m->stages[i].ops.on_end) m->stages[i].ops.on_end(st->states[i], st, reason);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "streamId", json_object_new_int64(st->id));
        json_object_object_add(o, "roomId", json_object_new_string(st->room));
        json_object_object_add(o, "userId", json_object_new_int64(st->user_id));
        json_object_object_add(o, "username", json_object_new_string(st->username));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_object_add(o, "endedAt", json_object_new_int64((int64_t)sh_wall_ms()));
        sh_bus_publish(m->h->bus, SH_TOPIC_STREAM_ENDED, o, 0);
        SH_LOG_I("media", "stream %lld in room %s ended: %s", (long long)st->id, st->room, reason);
    }
    for (sh_stream **pp = &m->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    m->nstreams--;
    sh_metric_set(m->m_streams, (double)m->nstreams);
    for (size_t i = 0; i < st->ntracks; i++) free((void *)st->tracks[i].extradata);
    free(st->states);
    free(st->room);
    free(st->username);
    free(st);
}

void sh_media_close_all(sh_media *m) {
    while (m && m->streams) sh_stream_close(m->streams, "shutdown");
}

void sh_media_free(sh_media *m) {
    if (!m) return;
    sh_media_close_all(m);
    for (size_t i = 0; i < m->nstages; i++) free(m->stages[i].name);
    free(m->stages);
    free(m);
}

int64_t sh_stream_id(sh_stream *st) { return st->id; }
const char *sh_stream_room(sh_stream *st) { return st->room; }
int64_t sh_stream_user_id(sh_stream *st) { return st->user_id; }
const char *sh_stream_username(sh_stream *st) { return st->username; }
size_t sh_stream_track_count(sh_stream *st) { return st->ntracks; }
const sh_track_info *sh_stream_track(sh_stream *st, size_t i) { return i < st->ntracks ? &st->tracks[i] : NULL; }
uint64_t sh_stream_started_ms(sh_stream *st) { return st->started_ms; }
int sh_packet_track(const sh_packet *p) { return p->track; }
int64_t sh_packet_pts(const sh_packet *p) { return p->pts; }
int64_t sh_packet_dts(const sh_packet *p) { return p->dts; }
int sh_packet_keyframe(const sh_packet *p) { return p->keyframe; }
const uint8_t *sh_packet_data(const sh_packet *p, size_t *len) {
    if (len) *len = p->len;
    return p->data;
}
sh_packet *sh_packet_ref(sh_packet *p) {
    if (p) p->refs++;
    return p;
}
void sh_packet_unref(sh_packet *p) {
    if (p && --p->refs == 0) free(p);
}
