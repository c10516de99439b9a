/*
 * fakehost_media.c - the media pipeline for the fake host: stages (filters before sinks), streams,
 * reference-counted packets, stream.started / stream.ended, with the rules of core/media.c.
 *
 * Part of the fake host (fakehost.h): fakehost.c #includes it, so that the whole fake host is one
 * translation unit whose internals stay static. Not compiled on its own.
 */
#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

/* ---- media pipeline (the host's media rules) ---------------------------------------------- */
static const char *codec_name(sh_codec c) {
    static const char *n[] = {"", "h264", "hevc", "av1", "vp9", "aac", "opus", "mp3"};
    return (int)c >= 1 && (int)c <= 7 ? n[c] : "unknown";
}

static int api_media_stage(sh_plugin *p, const char *name, sh_stage_kind kind, const sh_stage_ops *ops, void *ud) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "media_stage")) return SH_ERR_STATE;
    if (!name || !ops || ops->size < offsetof(sh_stage_ops, on_end) + sizeof ops->on_end ||
        (kind != SH_STAGE_SINK && kind != SH_STAGE_FILTER))
        return SH_ERR_INVALID;
    GROW(fh->stages, fh->nstages);
    size_t at = fh->nstages; /* filters go before every sink, each kind in registration order */
    if (kind == SH_STAGE_FILTER)
        while (at > 0 && fh->stages[at - 1].kind == SH_STAGE_SINK)
            at--;
    memmove(&fh->stages[at + 1], &fh->stages[at], (fh->nstages - at) * sizeof *fh->stages);
    fh->stages[at] = (fake_stage){xstrdup(name), kind, {0}, ud};
    memcpy(&fh->stages[at].ops, ops, ops->size < sizeof(sh_stage_ops) ? ops->size : sizeof(sh_stage_ops));
    fh->nstages++;
    note_reg(fh, "media stage %s (%s)", name, kind == SH_STAGE_FILTER ? "filter" : "sink");
    return SH_OK;
}

static sh_stream *api_stream_find(sh_plugin *p, const char *room_id) {
    for (sh_stream *st = p->fh->streams; st && room_id; st = st->next)
        if (strcmp(st->room, room_id) == 0) return st;
    return NULL;
}

static sh_stream *api_stream_open(sh_plugin *p, const char *room_id, int64_t user_id, const char *username) {
    sh_fake *fh = p->fh;
    if (!room_id || !*room_id || api_stream_find(p, room_id)) return NULL;
    sh_stream *st = xcalloc(1, sizeof *st);
    st->fh = fh;
    st->id = fh->next_stream_id++;
    st->room = xstrdup(room_id);
    st->username = xstrdup(username ? username : "");
    st->user_id = user_id;
    st->states = xcalloc(fh->nstages + 1, sizeof *st->states);
    st->nstates = fh->nstages;
    st->next = fh->streams;
    fh->streams = st;
    return st;
}

static int api_stream_add_track(sh_stream *st, const sh_track_info *info) {
    if (!st || st->started || !info || st->ntracks >= FAKE_MAX_TRACKS) return SH_ERR_STATE;
    sh_track_info *t = &st->tracks[st->ntracks];
    memset(t, 0, sizeof *t);
    memcpy(t, info, info->size < sizeof *t ? info->size : sizeof *t);
    t->size = sizeof *t;
    t->extradata = NULL;
    if (info->extradata_len) {
        uint8_t *e = xrealloc(NULL, info->extradata_len);
        memcpy(e, info->extradata, info->extradata_len);
        t->extradata = e;
    }
    if (!t->timebase_den) {
        t->timebase_num = 1;
        t->timebase_den = 1000;
    }
    return (int)st->ntracks++;
}

static int api_stream_start(sh_stream *st) {
    if (!st || st->started) return SH_ERR_STATE;
    sh_fake *fh = st->fh;
    st->started = 1;
    st->started_ms = api_wall_ms(&fh->self);
    for (size_t i = 0; i < fh->nstages && i < st->nstates; i++)
        st->states[i] = fh->stages[i].ops.on_start ? fh->stages[i].ops.on_start(st, fh->stages[i].ud) : NULL;
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
    publish(fh, SH_TOPIC_STREAM_STARTED, o, 0);
    return SH_OK;
}

static sh_packet *api_packet_new(const sh_packet_info *pi) {
    if (!pi || (pi->len && !pi->data)) return NULL;
    sh_packet *pk = xrealloc(NULL, sizeof *pk + pi->len);
    pk->refs = 1;
    pk->track = pi->track;
    pk->pts = pi->pts;
    pk->dts = pi->dts;
    pk->keyframe = pi->keyframe;
    pk->len = pi->len;
    if (pi->len) memcpy(pk->data, pi->data, pi->len);
    return pk;
}
static sh_packet *api_packet_ref(sh_packet *pk) {
    if (pk) pk->refs++;
    return pk;
}
static void api_packet_unref(sh_packet *pk) {
    if (pk && --pk->refs == 0) free(pk);
}

static int api_stream_push(sh_stream *st, const sh_packet_info *pi) {
    if (!st || !st->started) return SH_ERR_STATE;
    if (!pi || pi->track < 0 || (size_t)pi->track >= st->ntracks || (pi->len && !pi->data)) return SH_ERR_INVALID;
    sh_fake *fh = st->fh;
    sh_packet *pk = api_packet_new(pi);
    for (size_t i = 0; i < fh->nstages && i < st->nstates && pk; i++) {
        const fake_stage *sg = &fh->stages[i];
        if (!sg->ops.on_packet) continue;
        if (sg->kind == SH_STAGE_FILTER) {
            sh_packet *out = sg->ops.on_packet(st->states[i], st, pk);
            if (out != pk) api_packet_unref(pk);
            pk = out;
        } else {
            sg->ops.on_packet(st->states[i], st, pk);
        }
    }
    api_packet_unref(pk);
    return SH_OK;
}

static void api_stream_close(sh_stream *st, const char *reason) {
    if (!st) return;
    sh_fake *fh = st->fh;
    if (!reason) reason = "unpublished";
    if (st->started) {
        for (size_t i = fh->nstages; i-- > 0;)
            if (i < st->nstates && fh->stages[i].ops.on_end) fh->stages[i].ops.on_end(st->states[i], st, reason);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "streamId", json_object_new_int64(st->id));
        json_object_object_add(o, "roomId", json_object_new_string(st->room));
        json_object_object_add(o, "userId", json_object_new_int64(st->user_id));
        json_object_object_add(o, "username", json_object_new_string(st->username));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        json_object_object_add(o, "endedAt", json_object_new_int64((int64_t)api_wall_ms(&fh->self)));
        publish(fh, SH_TOPIC_STREAM_ENDED, o, 0);
    }
    for (sh_stream **pp = &fh->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    for (size_t i = 0; i < st->ntracks; i++)
        free((void *)st->tracks[i].extradata);
    free(st->states);
    free(st->room);
    free(st->username);
    free(st);
}

static int64_t api_stream_id(sh_stream *st) {
    return st->id;
}
static const char *api_stream_room(sh_stream *st) {
    return st->room;
}
static int64_t api_stream_user_id(sh_stream *st) {
    return st->user_id;
}
static const char *api_stream_username(sh_stream *st) {
    return st->username;
}
static size_t api_stream_track_count(sh_stream *st) {
    return st->ntracks;
}
static const sh_track_info *api_stream_track(sh_stream *st, size_t i) {
    return i < st->ntracks ? &st->tracks[i] : NULL;
}
static uint64_t api_stream_started_ms(sh_stream *st) {
    return st->started_ms;
}
static int api_packet_track(const sh_packet *pk) {
    return pk->track;
}
static int64_t api_packet_pts(const sh_packet *pk) {
    return pk->pts;
}
static int64_t api_packet_dts(const sh_packet *pk) {
    return pk->dts;
}
static int api_packet_keyframe(const sh_packet *pk) {
    return pk->keyframe;
}
static const uint8_t *api_packet_data(const sh_packet *pk, size_t *len) {
    if (len) *len = pk->len;
    return pk->data;
}

size_t sh_fake_streams_live(const sh_fake *fh) {
    size_t n = 0;
    for (const sh_stream *st = fh->streams; st; st = st->next)
        n++;
    return n;
}
