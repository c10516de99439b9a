/*
 * sockets.c - the rooms plugin's Socket.IO events (namespace "/"):
 *
 *   create-room {roomId}  the room's streamer opens it: the socket joins the Socket.IO room (to
 *                         get the room's events) without counting as a viewer. Owner only.
 *   join-room {roomId}    the socket joins the Socket.IO room named by the roomId (leaving the
 *                         room it watched before) and counts as a viewer; the room gets
 *                         viewer-joined {userId, username, viewerCount} when the viewer is new
 *                         (not another tab of a user already watching).
 *   leave-room            leaves; the room gets viewer-left when the viewer is gone. A
 *                         disconnect does the same.
 *
 * Each event may carry an ack: answered {ok:true, roomId, viewerCount} or
 * {error:{code, message}}; without an ack, errors are emitted to the socket as
 * room-error {code, message}. Codes: invalid_room, room_not_found, not_authenticated, forbidden,
 * unavailable.
 *
 * After each accepted join-room, the local bus gets ROOMS_TOPIC_JOINED ("room.joined") {roomId,
 * socketId, userId, username}: the hook for the chat plugin's chat-history (one Socket.IO handler
 * per event: chat cannot also handle join-room).
 *
 * A socket's record (rsock, via sio_set_data) remembers the room it watches and its presence
 * member. Database checks are asynchronous: the socket may be gone when they answer (rsock.sock
 * is then NULL and the record waits for its pending operations). Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

static const sh_host_api *H; /* for acks answered after fini (they only free themselves then) */

/* ---- socket records ---------------------------------------------------------------------- */

static rsock *rs_get(rooms_state *st, sh_socket *s, int create) {
    rsock *rs = st->h->sio_get_data(s, st->self);
    if (rs || !create) return rs;
    rs = calloc(1, sizeof *rs);
    if (!rs) return NULL;
    rs->sock = s;
    rs->user_id = st->h->sio_user_id(s);
    const char *name = st->h->sio_username(s);
    if (rs->user_id > 0 && name && !(rs->username = strdup(name))) {
        free(rs);
        return NULL;
    }
    if (rs->user_id > 0)
        snprintf(rs->member, sizeof rs->member, "u:%lld", (long long)rs->user_id);
    else
        snprintf(rs->member, sizeof rs->member, "s:%s", st->h->sio_id(s));
    rs->next = st->socks;
    if (st->socks) st->socks->prev = rs;
    st->socks = rs;
    st->h->sio_set_data(s, st->self, rs);
    return rs;
}

static void rs_free(rooms_state *st, rsock *rs) {
    if (rs->prev)
        rs->prev->next = rs->next;
    else
        st->socks = rs->next;
    if (rs->next) rs->next->prev = rs->prev;
    free(rs->username);
    free(rs);
}

static void rs_release(rooms_state *st, rsock *rs) {
    if (!rs->sock && rs->pending == 0) rs_free(st, rs);
}

void rooms_sockets_free_all(rooms_state *st) {
    while (st->socks)
        rs_free(st, st->socks);
}

/* ---- answers --------------------------------------------------------------------------------- */

static void reply_err(rooms_state *st, sh_socket *s, sh_ack *ack, const char *code, const char *message) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    if (ack) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", e);
        st->h->sio_ack(ack, o);
    } else if (s) {
        st->h->sio_emit(s, "room-error", e);
    } else {
        json_object_put(e);
    }
}

static void reply_ok(rooms_state *st, sh_ack *ack, const char *room_id, int64_t count) {
    if (!ack) return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    json_object_object_add(o, "roomId", json_object_new_string(room_id));
    if (count >= 0) json_object_object_add(o, "viewerCount", json_object_new_int64(count));
    st->h->sio_ack(ack, o);
}

static json_object *viewer_json(int64_t user_id, const char *username, int64_t count) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "userId", user_id > 0 ? json_object_new_int64(user_id) : NULL);
    json_object_object_add(o, "username", user_id > 0 && username ? json_object_new_string(username) : NULL);
    json_object_object_add(o, "viewerCount", json_object_new_int64(count < 0 ? 0 : count));
    return o;
}

/* The room id of an event: {roomId} or a bare string. NULL when missing or not an id. */
static const char *arg_room(json_object *args) {
    json_object *a = json_object_array_get_idx(args, 0), *v = NULL;
    if (a && json_object_is_type(a, json_type_object))
        json_object_object_get_ex(a, "roomId", &v);
    else
        v = a;
    if (!v || !json_object_is_type(v, json_type_string)) return NULL;
    const char *id = json_object_get_string(v);
    return rooms_id_valid(id) ? id : NULL;
}

/* ---- leave ------------------------------------------------------------------------------------ */

typedef struct leave_ctx {
    int64_t user_id;
    char *username;
    char room[ROOM_ID_MAX + 1];
} leave_ctx;

static void on_left(rooms_state *st, pres_room *pr, int64_t count, int changed, void *ud) {
    (void)pr;
    leave_ctx *c = ud;
    if (st && changed) rooms_emit_room(st, c->room, "viewer-left", viewer_json(c->user_id, c->username, count));
    free(c->username);
    free(c);
}

/* Stop watching the current room (the socket may be disconnecting). */
static void leave_current(rooms_state *st, rsock *rs) {
    if (!rs->room[0]) return;
    if (rs->sock && strcmp(rs->room, rs->owned) != 0) st->h->sio_leave(rs->sock, rs->room);
    pres_room *pr = pres_get(st, rs->room, 0);
    leave_ctx *c = pr ? calloc(1, sizeof *c) : NULL;
    if (c) {
        c->user_id = rs->user_id;
        c->username = rs->username ? strdup(rs->username) : NULL;
        snprintf(c->room, sizeof c->room, "%s", rs->room);
        rs->room[0] = '\0';
        pres_remove(st, pr, rs->member, on_left, c);
    } else {
        rs->room[0] = '\0';
    }
}

/* ---- join ------------------------------------------------------------------------------------- */

typedef struct join_ctx {
    rsock *rs;
    sh_ack *ack;
    int create; /* create-room (owner check) rather than join-room */
    char room[ROOM_ID_MAX + 1];
} join_ctx;

static void on_joined(rooms_state *st, pres_room *pr, int64_t count, int changed, void *ud) {
    (void)pr;
    join_ctx *c = ud;
    if (!st) { /* after fini */
        if (c->ack) H->sio_ack(c->ack, NULL);
        free(c);
        return;
    }
    rsock *rs = c->rs;
    if (changed) rooms_emit_room(st, c->room, "viewer-joined", viewer_json(rs->user_id, rs->username, count));
    if (rs->sock && !st->stopping && strcmp(rs->room, c->room) == 0) { /* for chat (chat-history) */
        json_object *o = json_object_new_object();
        json_object_object_add(o, "roomId", json_object_new_string(c->room));
        json_object_object_add(o, "socketId", json_object_new_string(st->h->sio_id(rs->sock)));
        json_object_object_add(o, "userId", rs->user_id > 0 ? json_object_new_int64(rs->user_id) : NULL);
        json_object_object_add(o, "username",
                               rs->user_id > 0 && rs->username ? json_object_new_string(rs->username) : NULL);
        st->h->bus_publish(st->self, ROOMS_TOPIC_JOINED, o, 0);
    }
    if (c->ack) {
        if (rs->sock)
            reply_ok(st, c->ack, c->room, count);
        else
            st->h->sio_ack(c->ack, NULL);
    }
    rs->pending--;
    rs_release(st, rs);
    free(c);
}

/* The room exists: watch it. Takes `c`. */
static void join_now(rooms_state *st, join_ctx *c) {
    rsock *rs = c->rs;
    if (rs->room[0]) leave_current(st, rs);
    pres_room *pr = pres_get(st, c->room, 1);
    if (!pr || st->h->sio_join(rs->sock, c->room) != SH_OK) {
        reply_err(st, rs->sock, c->ack, "unavailable", "Out of memory.");
        rs->pending--;
        free(c);
        return;
    }
    snprintf(rs->room, sizeof rs->room, "%s", c->room);
    st->h->metric_add(st->m_joins, 1);
    pres_add(st, pr, rs->member, on_joined, c);
}

static void on_checked(const sh_db_result *res, void *ud) {
    join_ctx *c = ud;
    if (!rooms_live()) {
        if (c->ack) H->sio_ack(c->ack, NULL);
        free(c);
        return;
    }
    rooms_state *st = rooms_g;
    const sh_host_api *h = st->h;
    rsock *rs = c->rs;
    if (!rs->sock) {
        if (c->ack) h->sio_ack(c->ack, NULL);
    } else if (h->db_status(res) != SH_OK) {
        if (h->db_status(res) != SH_ERR_UNAVAILABLE)
            h->log(st->self, SH_LOG_ERROR, "room check failed: %s", h->db_error(res));
        reply_err(st, rs->sock, c->ack, "unavailable", "The database is unavailable; try again.");
    } else if (h->db_nrows(res) < 1) {
        reply_err(st, rs->sock, c->ack, "room_not_found", "No such room.");
    } else if (c->create) {
        const char *owner = h->db_value(res, 0, 0);
        if (!owner || strtoll(owner, NULL, 10) != rs->user_id) {
            reply_err(st, rs->sock, c->ack, "forbidden", "Only the room's streamer can open it.");
        } else if (h->sio_join(rs->sock, c->room) != SH_OK) {
            reply_err(st, rs->sock, c->ack, "unavailable", "Out of memory.");
        } else {
            if (rs->owned[0] && strcmp(rs->owned, c->room) != 0 && strcmp(rs->room, rs->owned) != 0)
                h->sio_leave(rs->sock, rs->owned);
            snprintf(rs->owned, sizeof rs->owned, "%s", c->room);
            /* the streamer's socket is in the room too (not counted as a viewer): tell chat, which
             * then sends the history and accepts chat-message without a roomId */
            json_object *o = json_object_new_object();
            json_object_object_add(o, "roomId", json_object_new_string(c->room));
            json_object_object_add(o, "socketId", json_object_new_string(h->sio_id(rs->sock)));
            json_object_object_add(o, "userId", json_object_new_int64(rs->user_id));
            json_object_object_add(o, "username", rs->username ? json_object_new_string(rs->username) : NULL);
            h->bus_publish(st->self, ROOMS_TOPIC_JOINED, o, 0);
            pres_room *pr = pres_get(st, c->room, 0);
            reply_ok(st, c->ack, c->room, pr && pr->counted ? pr->count : -1);
        }
    } else {
        join_now(st, c); /* takes c and the pending count */
        return;
    }
    rs->pending--;
    rs_release(st, rs);
    free(c);
}

/* Check the room exists (and its owner, for create-room), then go on in on_checked. */
static void check_room(rooms_state *st, rsock *rs, const char *room, sh_ack *ack, int create) {
    join_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        reply_err(st, rs->sock, ack, "unavailable", "Out of memory.");
        return;
    }
    c->rs = rs;
    c->ack = ack;
    c->create = create;
    snprintf(c->room, sizeof c->room, "%s", room);
    rs->pending++;
    const char *params[1] = {c->room};
    if (st->h->db_query(st->self, "SELECT streamer_id FROM rooms WHERE room_id = $1", 1, params, on_checked, c) ==
        SH_ERR_NOMEM) {
        rs->pending--;
        reply_err(st, rs->sock, ack, "unavailable", "Out of memory.");
        free(c);
    }
}

/* ---- handlers --------------------------------------------------------------------------------- */

static void h_join_room(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    rooms_state *st = ud;
    const char *room = arg_room(args);
    if (!room) {
        reply_err(st, s, ack, "invalid_room", "roomId must be a room id.");
        return;
    }
    rsock *rs = rs_get(st, s, 1);
    if (!rs) {
        reply_err(st, s, ack, "unavailable", "Out of memory.");
        return;
    }
    if (strcmp(rs->room, room) == 0) { /* already watching it */
        pres_room *pr = pres_get(st, room, 0);
        reply_ok(st, ack, room, pr ? pr->count : -1);
        return;
    }
    pres_room *pr = pres_get(st, room, 0);
    if (pr) { /* known here: someone on this node watches it, so it exists */
        join_ctx *c = calloc(1, sizeof *c);
        if (!c) {
            reply_err(st, s, ack, "unavailable", "Out of memory.");
            return;
        }
        c->rs = rs;
        c->ack = ack;
        snprintf(c->room, sizeof c->room, "%s", room);
        rs->pending++;
        join_now(st, c);
        return;
    }
    check_room(st, rs, room, ack, 0);
}

static void h_create_room(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    rooms_state *st = ud;
    if (st->h->sio_user_id(s) <= 0) {
        reply_err(st, s, ack, "not_authenticated", "Sign in to open your room.");
        return;
    }
    const char *room = arg_room(args);
    if (!room) {
        reply_err(st, s, ack, "invalid_room", "roomId must be a room id.");
        return;
    }
    rsock *rs = rs_get(st, s, 1);
    if (!rs) {
        reply_err(st, s, ack, "unavailable", "Out of memory.");
        return;
    }
    check_room(st, rs, room, ack, 1);
}

static void h_leave_room(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)args;
    rooms_state *st = ud;
    rsock *rs = rs_get(st, s, 0);
    char room[ROOM_ID_MAX + 1] = "";
    if (rs && rs->room[0]) {
        snprintf(room, sizeof room, "%s", rs->room);
        leave_current(st, rs);
    }
    if (rs && rs->owned[0]) { /* and the room it opened */
        st->h->sio_leave(s, rs->owned);
        if (!room[0]) snprintf(room, sizeof room, "%s", rs->owned);
        rs->owned[0] = '\0';
    }
    if (ack) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(1));
        json_object_object_add(o, "roomId", room[0] ? json_object_new_string(room) : NULL);
        st->h->sio_ack(ack, o);
    }
}

static void on_disconnect(sh_socket *s, const char *reason, void *ud) {
    (void)reason;
    (void)ud;
    if (!rooms_live()) return; /* after fini: the records were freed with the plugin */
    rooms_state *st = rooms_g;
    rsock *rs = rs_get(st, s, 0);
    if (!rs) return;
    leave_current(st, rs);
    rs->sock = NULL;
    st->h->sio_set_data(s, st->self, NULL);
    rs_release(st, rs);
}

int rooms_sockets_init(rooms_state *st) {
    const sh_host_api *h = st->h;
    H = h;
    if (h->sio_on(st->self, "/", "join-room", h_join_room, st) != SH_OK ||
        h->sio_on(st->self, "/", "create-room", h_create_room, st) != SH_OK ||
        h->sio_on(st->self, "/", "leave-room", h_leave_room, st) != SH_OK ||
        h->sio_on_disconnect(st->self, "/", on_disconnect, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
