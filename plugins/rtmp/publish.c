/*
 * plugins/rtmp/publish.c - AMF0 commands as OBS and ffmpeg send them, and the publish flow.
 *
 *   connect        app must be the configured one; answered with Window Acknowledgement Size,
 *                  Set Peer Bandwidth, Set Chunk Size and _result NetConnection.Connect.Success
 *   releaseStream  _result        FCPublish  onFCPublish        createStream  _result 1
 *   publish        the name is the stream key: looked up with auth->user_by_stream_key (the
 *                  connection's input waits meanwhile), then the room with rooms->room_for_user
 *                  (or the username without a rooms service), then host->stream_open; answered
 *                  onStatus NetStream.Publish.Start, or NetStream.Publish.BadName (level error)
 *                  and closed. A wrong key is answered after auth_fail_delay_ms and counted per
 *                  address (host->rate_hit); over auth_fail_limit the address is refused at
 *                  accept until the window passes.
 *   FCUnpublish, deleteStream, closeStream   end the stream ("unpublished")
 *   play, play2    refused (onStatus NetStream.Play.Failed, then closed)
 *   anything else  _error when it carries a transaction id, else ignored
 *   @setDataFrame / onMetaData (data messages): width, height, frame rate, bitrates and which
 *                  tracks the encoder announces, kept for the tracks.
 * A command that is not valid AMF0 (bad marker, truncated, nested deeper than 16) closes the
 * connection. The stream key is never logged and never echoed.
 *
 * Ownership: commands are decoded into values freed before returning; look-ups carry an rtmp_op
 * (see rtmp_plugin.h). Threads: loop thread only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rtmp/rtmp_plugin.h"

#define CSID_STREAM 5 /* NetStream answers */
#define WRITER_MAX  65536

static const struct amf0_limits cmd_limits = {.max_depth = 16, .max_values = 512, .max_string = 65536};
static const struct amf0_limits data_limits = {.max_depth = 16, .max_values = 4096, .max_string = 65536};

int rtmp_name_ok(const char *s, size_t len) {
    if (!s || len == 0 || len > RTMP_NAME_MAX) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x21 || ch > 0x7E) return 0; /* NUL, controls, space, DEL, non-ASCII */
    }
    for (size_t i = 0; i + 1 < len; i++) /* no "..": covers "../", "..\" and a trailing ".." */
        if (s[i] == '.' && s[i + 1] == '.') return 0;
    return 1;
}

/* ---- asynchronous operations -------------------------------------------------------------- */
static rtmp_op *op_new(rtmp_conn *c) {
    rtmp_op *op = calloc(1, sizeof *op);
    if (op) {
        op->c = c;
        c->op = op;
    }
    return op;
}

/* The callback of `op` ran: returns its connection (NULL if it went away) and frees the op. */
static rtmp_conn *op_done(rtmp_op *op) {
    rtmp_conn *c = op->c;
    if (c && c->op == op) c->op = NULL;
    free(op);
    return c;
}

void rtmp_op_detach(rtmp_conn *c) {
    if (c->op) {
        c->op->c = NULL;
        c->op = NULL;
    }
}

/* ---- answers ------------------------------------------------------------------------------ */
static int send_status(rtmp_conn *c, const char *level, const char *code, const char *desc) {
    struct amf0_writer w;
    amf0_writer_init(&w, WRITER_MAX);
    amf0_put_command(&w, "onStatus", 0);
    amf0_put_null(&w);
    amf0_put_status(&w, level, code, desc);
    int rc = rtmp_send_amf(c, CSID_STREAM, c->pub_msid ? c->pub_msid : RTMP_PUB_STREAM_ID, &w);
    amf0_writer_free(&w);
    return rc;
}

static int send_error(rtmp_conn *c, double txid, const char *code, const char *desc) {
    struct amf0_writer w;
    amf0_writer_init(&w, WRITER_MAX);
    amf0_put_command(&w, "_error", txid);
    amf0_put_null(&w);
    amf0_put_status(&w, "error", code, desc);
    int rc = rtmp_send_amf(c, RTMP_CSID_COMMAND, 0, &w);
    amf0_writer_free(&w);
    return rc;
}

static int send_result(rtmp_conn *c, double txid, int with_number, double number) {
    struct amf0_writer w;
    amf0_writer_init(&w, WRITER_MAX);
    amf0_put_command(&w, "_result", txid);
    amf0_put_null(&w);
    if (with_number)
        amf0_put_number(&w, number);
    else
        amf0_put_undefined(&w);
    int rc = rtmp_send_amf(c, RTMP_CSID_COMMAND, 0, &w);
    amf0_writer_free(&w);
    return rc;
}

/* Answer onStatus `code` (level error) now, or after delay_ms, then close. */
static void refuse(rtmp_conn *c, const char *code, const char *desc, const char *reason, uint64_t delay_ms) {
    rtmp_refusal(reason);
    c->pub = RTMP_PUB_REFUSING;
    c->refuse_code = code;
    c->refuse_desc = desc;
    c->refuse_reason = reason;
    if (delay_ms) {
        rtmp_conn_pause(c);
        rtmp_conn_arm(c, RTMP_TIMER_LATER, delay_ms);
        return;
    }
    if (send_status(c, "error", code, desc) == 0) rtmp_conn_close_after_flush(c, "disconnected");
}

void rtmp_later_fired(rtmp_conn *c) {
    if (c->pub == RTMP_PUB_REFUSING && !c->dead && !c->flushing)
        if (send_status(c, "error", c->refuse_code, c->refuse_desc) == 0)
            rtmp_conn_close_after_flush(c, "disconnected");
}

/* ---- ending ------------------------------------------------------------------------------- */
void rtmp_publish_end(rtmp_conn *c, const char *reason) {
    if (c->stream) {
        sh_stream *st = c->stream;
        c->stream = NULL;
        rtmp_g.npublishers--;
        rtmp_g.host->metric_set(rtmp_g.m_publishers, (double)rtmp_g.npublishers);
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publisher %llu (%s) left room %s: %s", (unsigned long long)c->id,
                         c->username, c->room, reason);
        rtmp_g.host->stream_close(st, reason);
    }
    rtmp_ingest_reset(c);
    rtmp_conn_disarm(c, RTMP_TIMER_START);
    if (c->pub != RTMP_PUB_REFUSING) {
        c->pub = RTMP_PUB_NONE;
        c->user_id = 0;
        c->username[0] = c->room[0] = '\0';
    }
}

void rtmp_kick_user(int64_t user_id, const char *reason) {
    for (rtmp_conn *c = rtmp_g.conns, *next; c; c = next) {
        next = c->next;
        if (c->dead || c->user_id != user_id || (c->pub != RTMP_PUB_LIVE && c->pub != RTMP_PUB_ROOM)) continue;
        rtmp_conn_hold(c);
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publisher %llu (%s): stream key reset, disconnecting",
                         (unsigned long long)c->id, c->username);
        rtmp_op_detach(c);
        rtmp_publish_end(c, reason);
        if (send_status(c, "error", "NetStream.Publish.BadName", "stream key was reset") == 0)
            rtmp_conn_close_after_flush(c, reason);
        rtmp_conn_release(c);
    }
}

/* ---- the publish flow --------------------------------------------------------------------- */
static void go_live(rtmp_conn *c, const char *room_id) {
    if (!room_id || !*room_id || strlen(room_id) >= sizeof c->room) {
        refuse(c, "NetStream.Publish.Failed", "no room for this streamer", "unavailable", 0);
        return;
    }
    sh_stream *st = rtmp_g.host->stream_open(rtmp_g.self, room_id, c->user_id, c->username);
    if (!st) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publish from %s refused: room %s is already live", c->ip, room_id);
        refuse(c, "NetStream.Publish.BadName", "already publishing", "already_publishing", 0);
        return;
    }
    snprintf(c->room, sizeof c->room, "%s", room_id);
    c->stream = st;
    c->pub = RTMP_PUB_LIVE;
    c->idle_bytes = 0;
    rtmp_g.npublishers++;
    rtmp_g.host->metric_set(rtmp_g.m_publishers, (double)rtmp_g.npublishers);
    rtmp_conn_disarm(c, RTMP_TIMER_DEADLINE);
    uint8_t b[RTMP_UC_MAX_LEN];
    struct rtmp_user_control uc = {.event = RTMP_UC_STREAM_BEGIN, .value = c->pub_msid};
    size_t n = rtmp_uc_put(b, &uc);
    if (rtmp_send(c, RTMP_CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, 0, b, n) != 0) return;
    if (send_status(c, "status", "NetStream.Publish.Start", "Publishing.") != 0) return;
    rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publisher %llu from %s: user %lld (%s) live in room %s (stream %lld)",
                     (unsigned long long)c->id, c->ip, (long long)c->user_id, c->username, c->room,
                     (long long)rtmp_g.host->stream_id(st));
    rtmp_ingest_begin(c);
    rtmp_conn_resume(c);
}

static void on_room(int status, const sh_room_info *room, void *ud) {
    rtmp_conn *c = op_done(ud);
    if (!c) return;
    rtmp_conn_hold(c);
    if (c->pub == RTMP_PUB_ROOM && !c->dead) {
        if (status == SH_OK && room)
            go_live(c, room->room_id);
        else
            refuse(c, "NetStream.Publish.Failed", "rooms are unavailable, try again", "unavailable", 0);
    }
    rtmp_conn_release(c);
}

static void on_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    rtmp_conn *c = op_done(ud);
    if (!c || allowed) return;
    if (!rtmp_ip_blocked(c->ip))
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "too many wrong stream keys from %s: refused for %llu s", c->ip,
                         (unsigned long long)((retry_after_ms + 999) / 1000));
    rtmp_ip_block(c->ip, retry_after_ms);
}

static void on_auth(int status, const sh_identity *who, void *ud) {
    rtmp_conn *c = op_done(ud);
    if (!c) return;
    rtmp_conn_hold(c);
    if (c->pub != RTMP_PUB_AUTH || c->dead) goto out;
    if (status == SH_ERR_INVALID || (status == SH_OK && (!who || who->user_id <= 0))) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publish from %s refused: wrong stream key", c->ip);
        if (rtmp_g.cfg.auth_fail_limit > 0) {
            char key[RTMP_IP_MAX + 8];
            snprintf(key, sizeof key, "fail:%s", c->ip);
            rtmp_op *op = op_new(c);
            if (op)
                rtmp_g.host->rate_hit(rtmp_g.self, key, rtmp_g.cfg.auth_fail_limit, rtmp_g.cfg.auth_fail_window_ms,
                                      on_rate, op);
        }
        if (!c->dead)
            refuse(c, "NetStream.Publish.BadName", "invalid stream key", "bad_key", rtmp_g.cfg.auth_fail_delay_ms);
        goto out;
    }
    if (status != SH_OK) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "publish from %s refused: stream keys unavailable (status %d)",
                         c->ip, status);
        refuse(c, "NetStream.Publish.Failed", "stream keys are unavailable, try again", "unavailable", 0);
        goto out;
    }
    for (rtmp_conn *o = rtmp_g.conns; o; o = o->next)
        if (o != c && !o->dead && o->user_id == who->user_id && (o->pub == RTMP_PUB_ROOM || o->pub == RTMP_PUB_LIVE)) {
            rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publish from %s refused: user %lld is already publishing",
                             c->ip, (long long)who->user_id);
            refuse(c, "NetStream.Publish.BadName", "already publishing", "already_publishing", 0);
            goto out;
        }
    const char *uname = who->username ? who->username : "";
    if (strlen(uname) >= sizeof c->username) {
        refuse(c, "NetStream.Publish.Failed", "username too long", "unavailable", 0);
        goto out;
    }
    c->user_id = who->user_id;
    snprintf(c->username, sizeof c->username, "%s", uname);
    if (rtmp_g.rooms) {
        c->pub = RTMP_PUB_ROOM;
        rtmp_op *op = op_new(c);
        if (!op) {
            rtmp_conn_close(c, "disconnected");
            goto out;
        }
        rtmp_g.rooms->room_for_user(c->user_id, c->username, on_room, op);
    } else {
        go_live(c, c->username);
    }
out:
    rtmp_conn_release(c);
}

static int cmd_publish(rtmp_conn *c, const struct amf0_command *cmd, uint32_t msid) {
    uint32_t nlen = 0;
    const char *name = cmd->argc >= 1 ? amf0_get_string(&cmd->args[0], &nlen) : NULL;
    if (c->pub != RTMP_PUB_NONE) {
        if (c->pub == RTMP_PUB_LIVE)
            send_error(c, cmd->transaction_id, "NetStream.Publish.BadName", "already publishing");
        return 0;
    }
    c->pub_msid = msid ? msid : RTMP_PUB_STREAM_ID;
    c->pub_txid = cmd->transaction_id;
    if (!c->connected) {
        refuse(c, "NetStream.Publish.BadName", "connect first", "protocol", 0);
        return -1;
    }
    if (!name || !rtmp_name_ok(name, nlen)) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "publish from %s refused: invalid stream name (%u bytes)", c->ip,
                         nlen);
        refuse(c, "NetStream.Publish.BadName", "invalid stream name", "bad_name", 0);
        return -1;
    }
    char key[RTMP_NAME_MAX + 1];
    size_t klen = strcspn(name, "?"); /* "KEY?param=..." as some tools send it */
    memcpy(key, name, klen);
    key[klen] = '\0';
    if (klen == 0) {
        refuse(c, "NetStream.Publish.BadName", "invalid stream name", "bad_name", 0);
        return -1;
    }
    c->pub = RTMP_PUB_AUTH;
    rtmp_op *op = op_new(c);
    if (!op) {
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    rtmp_conn_pause(c);
    rtmp_g.auth->user_by_stream_key(key, on_auth, op); /* may answer before it returns */
    explicit_bzero(key, sizeof key);
    return 0;
}

/* ---- connect ------------------------------------------------------------------------------ */
static int cmd_connect(rtmp_conn *c, const struct amf0_command *cmd) {
    if (c->connected) return send_error(c, cmd->transaction_id, "NetConnection.Call.Failed", "already connected");
    uint32_t alen = 0;
    const char *app = amf0_get_string(amf0_object_get(cmd->object, "app"), &alen);
    char a[RTMP_NAME_MAX + 1] = "";
    if (app && rtmp_name_ok(app, alen)) {
        size_t n = strcspn(app, "?");
        memcpy(a, app, n);
        a[n] = '\0';
        while (n > 0 && a[n - 1] == '/')
            a[--n] = '\0';
    }
    if (strcmp(a, rtmp_g.cfg.app) != 0) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connect from %s refused: unknown application", c->ip);
        rtmp_refusal("bad_app");
        if (send_error(c, cmd->transaction_id, "NetConnection.Connect.Rejected", "unknown application") == 0)
            rtmp_conn_close_after_flush(c, "disconnected");
        return -1;
    }
    double enc = 0;
    amf0_get_number(amf0_object_get(cmd->object, "objectEncoding"), &enc);
    c->object_encoding = 0; /* we speak AMF0 only, whatever was asked */
    uint8_t bw[RTMP_PCM_PEER_BW_LEN];
    rtmp_pcm_put_peer_bw(bw, rtmp_g.cfg.ack_window, RTMP_PEER_BW_DYNAMIC);
    if (rtmp_send_u32(c, RTMP_MSG_WINDOW_ACK_SIZE, rtmp_g.cfg.ack_window) != 0 ||
        rtmp_send(c, RTMP_CSID_CONTROL, RTMP_MSG_SET_PEER_BANDWIDTH, 0, 0, bw, sizeof bw) != 0 ||
        rtmp_send_u32(c, RTMP_MSG_SET_CHUNK_SIZE, rtmp_g.cfg.chunk_size) != 0)
        return -1;
    rtmp_chunk_encoder_set_chunk_size(&c->enc, rtmp_g.cfg.chunk_size);

    struct amf0_writer w;
    amf0_writer_init(&w, WRITER_MAX);
    amf0_put_command(&w, "_result", cmd->transaction_id);
    amf0_put_object_begin(&w);
    amf0_put_prop_cstr(&w, "fmsVer", "FMS/3,0,1,123");
    amf0_put_prop_number(&w, "capabilities", 31);
    amf0_put_prop_number(&w, "mode", 1);
    amf0_put_object_end(&w);
    amf0_put_object_begin(&w);
    amf0_put_prop_cstr(&w, "level", "status");
    amf0_put_prop_cstr(&w, "code", "NetConnection.Connect.Success");
    amf0_put_prop_cstr(&w, "description", "Connection succeeded.");
    amf0_put_prop_number(&w, "objectEncoding", c->object_encoding);
    amf0_put_object_end(&w);
    int rc = rtmp_send_amf(c, RTMP_CSID_COMMAND, 0, &w);
    amf0_writer_free(&w);
    if (rc == 0) c->connected = 1;
    return rc;
}

static int cmd_unpublish(rtmp_conn *c, const struct amf0_command *cmd, int fc) {
    int was_live = c->stream != NULL;
    if (c->pub == RTMP_PUB_LIVE) rtmp_publish_end(c, "unpublished");
    if (fc) {
        struct amf0_writer w;
        amf0_writer_init(&w, WRITER_MAX);
        amf0_put_command(&w, "onFCUnpublish", 0);
        amf0_put_null(&w);
        amf0_put_status(&w, "status", "NetStream.Unpublish.Success", "FCUnpublish");
        int rc = rtmp_send_amf(c, RTMP_CSID_COMMAND, 0, &w);
        amf0_writer_free(&w);
        if (rc != 0) return -1;
    } else if (was_live) {
        if (send_status(c, "status", "NetStream.Unpublish.Success", "Stopped publishing.") != 0) return -1;
    }
    (void)cmd;
    return 0;
}

int rtmp_on_command(rtmp_conn *c, const struct rtmp_message *m) {
    const uint8_t *p = m->payload;
    size_t len = m->len;
    if (m->type_id == RTMP_MSG_COMMAND_AMF3 && len > 0 && p[0] == 0) { /* AMF3 command: format byte, then AMF0 */
        p++;
        len--;
    }
    struct amf0_command cmd;
    int rc = amf0_command_decode(p, len, &cmd_limits, &cmd);
    if (rc != AMF0_OK) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connection %llu from %s closed: bad command (%s)",
                         (unsigned long long)c->id, c->ip, amf0_strerror(rc));
        rtmp_refusal("bad_amf");
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    const char *n = strlen(cmd.name) == cmd.name_len ? cmd.name : "";
    double tx = cmd.transaction_id;
    rc = 0;
    if (strcmp(n, "connect") == 0) {
        rc = cmd_connect(c, &cmd);
    } else if (!c->connected) {
        /* nothing but connect before connect */
        if (tx != 0) rc = send_error(c, tx, "NetConnection.Call.Failed", "connect first");
    } else if (strcmp(n, "releaseStream") == 0) {
        if (tx != 0) rc = send_result(c, tx, 0, 0);
    } else if (strcmp(n, "FCPublish") == 0) {
        struct amf0_writer w;
        amf0_writer_init(&w, WRITER_MAX);
        amf0_put_command(&w, "onFCPublish", 0);
        amf0_put_null(&w);
        amf0_put_status(&w, "status", "NetStream.Publish.Start", "FCPublish");
        rc = rtmp_send_amf(c, RTMP_CSID_COMMAND, 0, &w);
        amf0_writer_free(&w);
    } else if (strcmp(n, "createStream") == 0) {
        c->created = 1;
        rc = send_result(c, tx, 1, RTMP_PUB_STREAM_ID);
    } else if (strcmp(n, "publish") == 0) {
        rc = cmd_publish(c, &cmd, m->stream_id);
    } else if (strcmp(n, "FCUnpublish") == 0) {
        rc = cmd_unpublish(c, &cmd, 1);
    } else if (strcmp(n, "deleteStream") == 0 || strcmp(n, "closeStream") == 0) {
        rc = cmd_unpublish(c, &cmd, 0);
    } else if (strcmp(n, "play") == 0 || strcmp(n, "play2") == 0) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "play from %s refused: no RTMP playback", c->ip);
        c->pub_msid = m->stream_id;
        rtmp_refusal("play");
        if (send_status(c, "error", "NetStream.Play.Failed", "playback is not served over RTMP; use HLS") == 0)
            rtmp_conn_close_after_flush(c, "disconnected");
        rc = -1;
    } else if (strcmp(n, "_result") == 0 || strcmp(n, "_error") == 0 || strcmp(n, "onStatus") == 0 ||
               strcmp(n, "onBWDone") == 0) {
        rc = 0; /* answers to nothing we asked */
    } else if (tx != 0) {
        rc = send_error(c, tx, "NetConnection.Call.Failed", "unknown command");
    }
    amf0_command_clear(&cmd);
    return rc;
}

/* ---- @setDataFrame / onMetaData ----------------------------------------------------------- */
static double num(const struct amf0_value *obj, const char *key, double def) {
    double v;
    return amf0_get_number(amf0_object_get(obj, key), &v) && v == v && v >= 0 && v < 1e9 ? v : def;
}

static void take_meta(rtmp_conn *c, const struct amf0_value *o) {
    rtmp_meta *mt = &c->meta;
    mt->known = 1;
    mt->has_video = amf0_object_get(o, "videocodecid") != NULL;
    mt->has_audio = amf0_object_get(o, "audiocodecid") != NULL;
    mt->width = (int)num(o, "width", 0);
    mt->height = (int)num(o, "height", 0);
    mt->fps = num(o, "framerate", num(o, "videoframerate", num(o, "fps", 0)));
    mt->video_kbps = num(o, "videodatarate", 0);
    mt->audio_kbps = num(o, "audiodatarate", 0);
    mt->sample_rate = (int)num(o, "audiosamplerate", 0);
    mt->channels = (int)num(o, "audiochannels", 0);
    bool stereo;
    if (!mt->channels && amf0_get_bool(amf0_object_get(o, "stereo"), &stereo)) mt->channels = stereo ? 2 : 1;
}

int rtmp_on_data(rtmp_conn *c, const struct rtmp_message *m) {
    const uint8_t *p = m->payload;
    size_t len = m->len;
    if (m->type_id == RTMP_MSG_DATA_AMF3 && len > 0 && p[0] == 0) {
        p++;
        len--;
    }
    struct amf0_value *vals = NULL;
    uint32_t n = 0;
    if (amf0_decode_all(p, len, &data_limits, &vals, &n) != AMF0_OK) {
        rtmp_g.host->metric_add(rtmp_g.m_dropped, 1);
        return 0; /* metadata is optional: a bad one is ignored */
    }
    uint32_t i = 0;
    const char *s = n > 0 ? amf0_get_string(&vals[0], NULL) : NULL;
    if (s && strcmp(s, "@setDataFrame") == 0) s = ++i < n ? amf0_get_string(&vals[i], NULL) : NULL;
    if (s && strcmp(s, "onMetaData") == 0 && i + 1 < n && !c->started &&
        (vals[i + 1].type == AMF0_OBJECT || vals[i + 1].type == AMF0_ECMA_ARRAY))
        take_meta(c, &vals[i + 1]);
    amf0_values_free(vals, n);
    return 0;
}
