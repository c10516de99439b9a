/*
 * live.c - a room's live state, driven by the media pipeline's bus events (published on the
 * node that ingests the stream, so exactly one node handles each stream):
 *
 *   stream.started {streamId, roomId, ...}  the room goes live: a streams row is opened (any
 *       stream still open in the room is closed as "replaced"), rooms.is_live and
 *       users.is_streaming are set, and the Socket.IO room gets stream-started {roomId}.
 *   stream.ended {streamId, roomId, reason}  the streams row is closed (end time, reason, peak
 *       viewers, chat messages), the room and the streamer are no longer live, and the room gets
 *       stream-ended {roomId, reason}.
 *   chat.message {roomId}  (from the chat plugin, any node) counts a message of the open stream
 *       when this node ingests it.
 *
 * Each stream is a live_sess. Its statements run one after the other (start, then end), and a
 * later stream of the same room waits until the earlier one's end is written, so the database
 * always sees start before end. The presence refresh tick calls live_heartbeat, which refreshes
 * rooms.live_seen_at of this node's live rooms and writes chat message counts; live_sweep ends
 * (reason "node_lost") live rooms that no node refreshed for live_stale_ms: the ingest node
 * crashed. Each recorded change of the live state (start, end, sweep) calls rooms_room_changed:
 * the rooms' cached JSON is dropped on every node (room.updated). Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

enum { L_WAIT, L_STARTING, L_LIVE, L_ENDING };

struct live_sess {
    char room[ROOM_ID_MAX + 1];
    int64_t core_id;   /* the core's stream id (unique on this node) */
    int64_t stream_pk; /* streams.id once recorded, else 0 */
    uint64_t started_ms, ended_ms;
    int state;
    int end_seen;
    char reason[32];
    int64_t msgs; /* chat messages not yet written */
    live_sess *next;
};

static void start_run(rooms_state *st, live_sess *ls);
static void end_run(rooms_state *st, live_sess *ls);

static live_sess *find(rooms_state *st, const char *room, int64_t core_id) {
    for (live_sess *ls = st->lives; ls; ls = ls->next)
        if (strcmp(ls->room, room) == 0 && ls->core_id == core_id) return ls;
    return NULL;
}

static void unlink_free(rooms_state *st, live_sess *ls) {
    for (live_sess **pp = &st->lives; *pp; pp = &(*pp)->next)
        if (*pp == ls) {
            *pp = ls->next;
            break;
        }
    pres_room *pr = pres_get(st, ls->room, 0);
    if (pr) {
        pr->live--;
        pres_maybe_free(st, pr);
    }
    free(ls);
}

/* After a session is gone: start the next waiting session of the same room. */
static void kick(rooms_state *st, const char *room) {
    for (live_sess *ls = st->lives; ls; ls = ls->next)
        if (strcmp(ls->room, room) == 0) {
            if (ls->state == L_WAIT) start_run(st, ls);
            return; /* the first session of the room is the one that runs */
        }
}

static void emit_room(rooms_state *st, const char *room, const char *event, const char *reason) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(room));
    if (reason) json_object_object_add(o, "reason", json_object_new_string(reason));
    rooms_emit_room(st, room, event, o);
}

static void count_live(rooms_state *st) {
    int n = 0;
    for (live_sess *ls = st->lives; ls; ls = ls->next)
        n += ls->state == L_LIVE;
    st->h->metric_set(st->m_live, n);
}

/* ---- start --------------------------------------------------------------------------------- */

static void on_start_done(const sh_db_result *res, void *ud) {
    if (!rooms_live()) return; /* the session was freed with the plugin */
    rooms_state *st = rooms_g;
    live_sess *ls = ud;
    const sh_host_api *h = st->h;
    if (h->db_status(res) != SH_OK) {
        h->log(st->self, SH_LOG_ERROR, "stream %lld in room %s: not recorded as live: %s", (long long)ls->core_id,
               ls->room, h->db_error(res));
    } else if (h->db_nrows(res) < 1) {
        h->log(st->self, SH_LOG_WARN, "stream %lld started in room %s, which does not exist", (long long)ls->core_id,
               ls->room);
    } else {
        const char *v = h->db_value(res, 0, 0);
        ls->stream_pk = v ? strtoll(v, NULL, 10) : 0;
        rooms_room_changed(st, ls->room, 0); /* isLive, startedAt, the URLs: cached JSON is stale */
    }
    ls->state = L_LIVE;
    count_live(st);
    emit_room(st, ls->room, "stream-started", NULL);
    if (ls->end_seen) end_run(st, ls);
}

static void start_run(rooms_state *st, live_sess *ls) {
    ls->state = L_STARTING;
    char started[24], peak[24];
    snprintf(started, sizeof started, "%" PRIu64, ls->started_ms);
    pres_room *pr = pres_get(st, ls->room, 0);
    snprintf(peak, sizeof peak, "%" PRId64, pr && pr->counted ? pr->count : 0);
    const char *p1[1] = {ls->room};
    const char *p3[4] = {ls->room, started, st->h->node_id(st->self), peak};
    sh_db_stmt stmts[3] = {
        {"SELECT id FROM rooms WHERE room_id = $1 FOR NO KEY UPDATE", 1, p1},
        {"UPDATE streams SET ended_at = now(), end_reason = 'replaced' "
         "WHERE room_pk = (SELECT id FROM rooms WHERE room_id = $1) AND ended_at IS NULL",
         1, p1},
        {"WITH r AS (UPDATE rooms SET is_live = true, started_at = to_timestamp($2::bigint / 1000.0), ended_at = NULL, "
         "live_seen_at = now(), updated_at = now() WHERE room_id = $1 RETURNING id, streamer_id, viewer_count), "
         "u AS (UPDATE users SET is_streaming = true FROM r WHERE users.id = r.streamer_id) "
         "INSERT INTO streams (room_pk, node_id, started_at, peak_viewers) "
         "SELECT id, $3, to_timestamp($2::bigint / 1000.0), GREATEST($4::int, viewer_count) FROM r RETURNING id",
         4, p3},
    };
    if (st->h->db_tx(st->self, stmts, 3, on_start_done, ls) == SH_ERR_NOMEM) {
        st->h->log(st->self, SH_LOG_ERROR, "out of memory recording stream in room %s", ls->room);
        ls->state = L_LIVE;
        emit_room(st, ls->room, "stream-started", NULL);
        if (ls->end_seen) end_run(st, ls);
    }
}

static void on_started(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!rooms_live() || rooms_g->stopping) return;
    rooms_state *st = rooms_g;
    json_object *room = NULL, *sid = NULL, *at = NULL;
    json_object_object_get_ex(payload, "roomId", &room);
    json_object_object_get_ex(payload, "streamId", &sid);
    json_object_object_get_ex(payload, "startedAt", &at);
    const char *room_id = room && json_object_is_type(room, json_type_string) ? json_object_get_string(room) : NULL;
    if (!rooms_id_valid(room_id)) {
        st->h->log(st->self, SH_LOG_WARN, "stream.started without a valid roomId: ignored");
        return;
    }
    live_sess *ls = calloc(1, sizeof *ls);
    pres_room *pr = pres_get(st, room_id, 1);
    if (!ls || !pr) {
        free(ls);
        st->h->log(st->self, SH_LOG_ERROR, "out of memory: stream in room %s not tracked", room_id);
        return;
    }
    snprintf(ls->room, sizeof ls->room, "%s", room_id);
    ls->core_id = sid ? json_object_get_int64(sid) : 0;
    ls->started_ms =
        at && json_object_get_int64(at) > 0 ? (uint64_t)json_object_get_int64(at) : st->h->wall_ms(st->self);
    ls->state = L_WAIT;
    pr->live++;
    int first = 1;
    live_sess **pp = &st->lives;
    for (; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->room, room_id) == 0) first = 0;
    *pp = ls; /* appended: sessions of a room run in arrival order */
    if (first) start_run(st, ls);
}

/* ---- end ------------------------------------------------------------------------------------ */

static void on_end_done(const sh_db_result *res, void *ud) {
    if (!rooms_live()) return;
    rooms_state *st = rooms_g;
    live_sess *ls = ud;
    if (st->h->db_status(res) != SH_OK)
        st->h->log(st->self, SH_LOG_ERROR, "stream %lld in room %s: end not recorded (the sweep will): %s",
                   (long long)ls->core_id, ls->room, st->h->db_error(res));
    else
        rooms_room_changed(st, ls->room, 0);
    emit_room(st, ls->room, "stream-ended", ls->reason);
    char room[ROOM_ID_MAX + 1];
    snprintf(room, sizeof room, "%s", ls->room);
    unlink_free(st, ls);
    count_live(st);
    kick(st, room);
}

static void end_run(rooms_state *st, live_sess *ls) {
    ls->state = L_ENDING;
    char ended[24], reason[32], msgs[24], peak[24], pk[24];
    snprintf(ended, sizeof ended, "%" PRIu64, ls->ended_ms);
    snprintf(reason, sizeof reason, "%s", ls->reason);
    snprintf(msgs, sizeof msgs, "%" PRId64, ls->msgs);
    pres_room *pr = pres_get(st, ls->room, 0);
    snprintf(peak, sizeof peak, "%" PRId64, pr && pr->counted ? pr->count : 0);
    snprintf(pk, sizeof pk, "%" PRId64, ls->stream_pk);
    ls->msgs = 0;
    const char *p1[1] = {ls->room};
    const char *p6[6] = {ls->room, ended, reason, msgs, peak, pk};
    sh_db_stmt stmts[2] = {
        {"SELECT id FROM rooms WHERE room_id = $1 FOR NO KEY UPDATE", 1, p1},
        {"WITH s AS (UPDATE streams SET ended_at = to_timestamp($2::bigint / 1000.0), end_reason = $3, "
         "messages = messages + $4::int, peak_viewers = GREATEST(peak_viewers, $5::int) "
         "WHERE room_pk = (SELECT id FROM rooms WHERE room_id = $1) AND ended_at IS NULL "
         "AND ($6::bigint = 0 OR id = $6::bigint) RETURNING room_pk), "
         "r AS (UPDATE rooms SET is_live = false, ended_at = to_timestamp($2::bigint / 1000.0), updated_at = now() "
         "WHERE room_id = $1 AND (EXISTS (SELECT 1 FROM s) OR $6::bigint = 0) RETURNING id, streamer_id), "
         "u AS (UPDATE users SET is_streaming = false FROM r WHERE users.id = r.streamer_id) "
         "SELECT (SELECT count(*) FROM r) AS ended",
         6, p6},
    };
    if (st->h->db_tx(st->self, stmts, 2, on_end_done, ls) == SH_ERR_NOMEM) {
        emit_room(st, ls->room, "stream-ended", ls->reason);
        char room[ROOM_ID_MAX + 1];
        snprintf(room, sizeof room, "%s", ls->room);
        unlink_free(st, ls);
        kick(st, room);
    }
}

static void on_ended(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!rooms_live() || rooms_g->stopping) return;
    rooms_state *st = rooms_g;
    json_object *room = NULL, *sid = NULL, *reason = NULL, *at = NULL;
    json_object_object_get_ex(payload, "roomId", &room);
    json_object_object_get_ex(payload, "streamId", &sid);
    json_object_object_get_ex(payload, "reason", &reason);
    json_object_object_get_ex(payload, "endedAt", &at);
    const char *room_id = room && json_object_is_type(room, json_type_string) ? json_object_get_string(room) : NULL;
    if (!rooms_id_valid(room_id)) return;
    live_sess *ls = find(st, room_id, sid ? json_object_get_int64(sid) : 0);
    if (!ls) {
        st->h->log(st->self, SH_LOG_WARN, "stream.ended for room %s without its stream.started: ignored", room_id);
        return;
    }
    if (ls->end_seen) return;
    ls->end_seen = 1;
    const char *r = reason && json_object_is_type(reason, json_type_string) ? json_object_get_string(reason) : NULL;
    snprintf(ls->reason, sizeof ls->reason, "%s", r && *r ? r : "unpublished");
    ls->ended_ms = at && json_object_get_int64(at) > 0 ? (uint64_t)json_object_get_int64(at) : st->h->wall_ms(st->self);
    if (ls->state == L_LIVE) end_run(st, ls);
    /* L_WAIT / L_STARTING: end_run follows the start */
}

static void on_chat_message(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!rooms_live() || rooms_g->stopping) return;
    json_object *room = NULL;
    if (!json_object_object_get_ex(payload, "roomId", &room) || !json_object_is_type(room, json_type_string)) return;
    const char *room_id = json_object_get_string(room);
    for (live_sess *ls = rooms_g->lives; ls; ls = ls->next)
        if (strcmp(ls->room, room_id) == 0 && (ls->state == L_LIVE || ls->state == L_STARTING) && !ls->end_seen) {
            ls->msgs++;
            return;
        }
}

/* ---- heartbeat and sweep ---------------------------------------------------------------------- */

static void on_beat(const sh_db_result *res, void *ud) {
    (void)ud;
    if (!rooms_live()) return;
    rooms_state *st = rooms_g;
    st->beat_busy = 0;
    if (st->h->db_status(res) == SH_ERR)
        st->h->log(st->self, SH_LOG_WARN, "live heartbeat failed: %s", st->h->db_error(res));
}

/* Append "<sep><text>" to a growing buffer; -1 on out of memory. */
static int append(char **buf, size_t *len, size_t *cap, const char *text) {
    size_t n = strlen(text);
    if (*len + n + 2 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 256) + n;
        char *nb = realloc(*buf, nc);
        if (!nb) return -1;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
    return 0;
}

/* '{a,b,c}' of this node's live rooms (every session not yet ended); NULL on out of memory. */
static char *live_room_array(rooms_state *st, int only_live) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int n = 0;
    if (append(&buf, &len, &cap, "{") < 0) return NULL;
    for (live_sess *ls = st->lives; ls; ls = ls->next) {
        if (only_live && ls->state != L_LIVE) continue;
        if ((n++ && append(&buf, &len, &cap, ",") < 0) || append(&buf, &len, &cap, ls->room) < 0) {
            free(buf);
            return NULL;
        }
    }
    if (append(&buf, &len, &cap, "}") < 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void live_heartbeat(rooms_state *st) {
    if (st->beat_busy || !st->lives) return;
    char *rooms = live_room_array(st, 1);
    char *ids = NULL, *deltas = NULL;
    size_t il = 0, ic = 0, dl = 0, dc = 0;
    int n = 0, ok = rooms && append(&ids, &il, &ic, "{") == 0 && append(&deltas, &dl, &dc, "{") == 0;
    for (live_sess *ls = st->lives; ok && ls; ls = ls->next) {
        if (ls->state != L_LIVE || !ls->stream_pk || !ls->msgs) continue;
        char a[24], b[24];
        snprintf(a, sizeof a, "%s%" PRId64, n ? "," : "", ls->stream_pk);
        snprintf(b, sizeof b, "%s%" PRId64, n ? "," : "", ls->msgs);
        ok = append(&ids, &il, &ic, a) == 0 && append(&deltas, &dl, &dc, b) == 0;
        if (ok) ls->msgs = 0; /* written now (lost if the statement fails: a count, not data) */
        n++;
    }
    ok = ok && append(&ids, &il, &ic, "}") == 0 && append(&deltas, &dl, &dc, "}") == 0;
    if (ok && strcmp(rooms, "{}") != 0) {
        const char *p1[1] = {rooms};
        const char *p2[2] = {ids, deltas};
        sh_db_stmt stmts[3] = {
            {"SELECT 1 FROM rooms WHERE room_id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE", 1, p1},
            {"UPDATE rooms SET live_seen_at = now() WHERE room_id = ANY($1::text[]) AND is_live", 1, p1},
            {"UPDATE streams s SET messages = s.messages + v.d FROM unnest($1::bigint[], $2::int[]) AS v(id, d) "
             "WHERE s.id = v.id",
             2, p2},
        };
        st->beat_busy = 1;
        if (st->h->db_tx(st->self, stmts, n ? 3 : 2, on_beat, NULL) == SH_ERR_NOMEM) st->beat_busy = 0;
    }
    free(rooms);
    free(ids);
    free(deltas);
}

static void on_swept(const sh_db_result *res, void *ud) {
    (void)ud;
    if (!rooms_live()) return;
    rooms_state *st = rooms_g;
    const sh_host_api *h = st->h;
    st->sweep_busy = 0;
    if (h->db_status(res) != SH_OK) {
        if (h->db_status(res) == SH_ERR) h->log(st->self, SH_LOG_WARN, "live sweep failed: %s", h->db_error(res));
        return;
    }
    for (int i = 0; i < h->db_nrows(res); i++) {
        const char *room = h->db_value(res, i, 0);
        if (!room) continue;
        h->log(st->self, SH_LOG_WARN, "room %s was live on a node that stopped answering: ended (node_lost)", room);
        rooms_room_changed(st, room, 0);
        emit_room(st, room, "stream-ended", "node_lost");
    }
}

void live_sweep(void *ud) {
    rooms_state *st = ud;
    if (!rooms_live() || st->sweep_busy) return;
    char *mine = live_room_array(st, 0);
    if (!mine) return;
    char stale[24];
    snprintf(stale, sizeof stale, "%" PRId64, st->stale_ms);
    const char *p[2] = {stale, mine};
    st->sweep_busy = 1;
    if (st->h->db_query(
            st->self,
            "WITH r AS (UPDATE rooms SET is_live = false, ended_at = now(), updated_at = now() "
            "WHERE is_live AND (live_seen_at IS NULL OR live_seen_at < now() - $1::bigint * interval '1 millisecond') "
            "AND room_id <> ALL($2::text[]) RETURNING id, room_id, streamer_id), "
            "s AS (UPDATE streams SET ended_at = now(), end_reason = 'node_lost' FROM r "
            "WHERE streams.room_pk = r.id AND streams.ended_at IS NULL), "
            "u AS (UPDATE users SET is_streaming = false FROM r WHERE users.id = r.streamer_id) "
            "SELECT room_id FROM r",
            2, p, on_swept, NULL) == SH_ERR_NOMEM)
        st->sweep_busy = 0;
    free(mine);
}

void live_stop(rooms_state *st) {
    /* On SIGTERM the core closes every stream before it stops the plugins, but stream.ended is only
     * delivered on a later loop turn, after the database stopped taking new statements. Record the
     * ends now, while it still does. */
    uint64_t now = st->h->wall_ms(st->self);
    for (live_sess *ls = st->lives, *next; ls; ls = next) {
        next = ls->next;
        if (ls->end_seen) continue;
        ls->end_seen = 1;
        snprintf(ls->reason, sizeof ls->reason, "%s", "shutdown");
        ls->ended_ms = now;
        if (ls->state == L_LIVE || ls->state == L_STARTING) /* now: Socket.IO goes before the database answers */
            emit_room(st, ls->room, "stream-ended", ls->reason);
        if (ls->state == L_LIVE) end_run(st, ls);
    }
}

void live_free_all(rooms_state *st) {
    while (st->lives) {
        live_sess *ls = st->lives;
        st->lives = ls->next;
        free(ls);
    }
}

int rooms_live_init(rooms_state *st) {
    const sh_host_api *h = st->h;
    if (h->bus_subscribe(st->self, SH_TOPIC_STREAM_STARTED, on_started, st) != SH_OK ||
        h->bus_subscribe(st->self, SH_TOPIC_STREAM_ENDED, on_ended, st) != SH_OK ||
        h->bus_subscribe(st->self, "chat.message", on_chat_message, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
