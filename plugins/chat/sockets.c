/*
 * sockets.c - the chat plugin's per-socket records and the socket's chat room.
 *
 * Every socket of "/" gets a record on connect (sio_set_data; also in a map by socket id, for bus
 * events that name a socket). The rooms plugin handles join-room (one handler per event) and
 * keeps which room a socket watches to itself, so the chat learns a socket's room from:
 *   - room.joined {roomId, socketId, ...}, which rooms publishes on the local bus after each
 *     accepted join-room: the room becomes the socket's chat room and the socket gets
 *     chat-history {roomId, messages} unasked (room.left {roomId, socketId} is handled too, should
 *     rooms ever publish it);
 *   - chat-history {roomId} (ack optional), which a client may send at any time: it sets the
 *     socket's chat room and answers chat-history {roomId, messages};
 *   - or the event itself: chat-message, send-reaction and clear-chat accept {roomId}.
 * Whichever it is, every write checks that the socket is in that Socket.IO room (sio_in_room),
 * i.e. that join-room (or create-room) succeeded and it did not leave since.
 *
 * Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"

void cs_hold(csock *cs) {
    cs->refs++;
}

static void cs_free(chat_state *st, csock *cs) {
    if (cs->prev)
        cs->prev->next = cs->next;
    else
        st->socks = cs->next;
    if (cs->next) cs->next->prev = cs->prev;
    free(cs);
}

void cs_release(chat_state *st, csock *cs) {
    if (--cs->refs > 0) return;
    cs_drop_queue(st, cs, "unavailable"); /* empty by then: every queued message holds a ref */
    cs_free(st, cs);
}

void chat_sockets_free_all(chat_state *st) {
    while (st->socks) {
        csock *cs = st->socks;
        cs_drop_queue(st, cs, "unavailable");
        cs_free(st, cs);
    }
    cmap_free(&st->socks_map);
}

const char *chat_event_room(chat_state *st, csock *cs, json_object *arg, int *why) {
    json_object *v = NULL;
    const char *room = NULL;
    if (arg && json_object_object_get_ex(arg, "roomId", &v) && v && !json_object_is_type(v, json_type_null)) {
        room = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!chat_room_id_valid(room)) {
            *why = R_ROOM_NOT_FOUND;
            return NULL;
        }
    } else {
        room = cs->room[0] ? cs->room : NULL;
    }
    if (!room || !cs->sock || st->h->sio_in_room(cs->sock, room) != 1) {
        *why = R_NOT_IN_ROOM;
        return NULL;
    }
    return room;
}

/* ---- connect / disconnect ------------------------------------------------------------------------ */

static void on_connect(sh_socket *s, json_object *auth, void *ud) {
    (void)auth;
    chat_state *st = ud;
    if (!chat_live()) return;
    csock *cs = calloc(1, sizeof *cs);
    if (!cs) return; /* its chat events then answer "unavailable" */
    cs->sock = s;
    cs->refs = 1; /* the socket's own */
    snprintf(cs->sid, sizeof cs->sid, "%s", st->h->sio_id(s));
    cs->user_id = st->h->sio_user_id(s);
    const char *name = st->h->sio_username(s);
    if (cs->user_id > 0 && name) snprintf(cs->username, sizeof cs->username, "%s", name);
    if (cmap_put(&st->socks_map, cs->sid, cs) < 0) {
        free(cs);
        return;
    }
    cs->next = st->socks;
    if (st->socks) st->socks->prev = cs;
    st->socks = cs;
    st->h->sio_set_data(s, st->self, cs);
}

static void on_disconnect(sh_socket *s, const char *reason, void *ud) {
    (void)reason;
    chat_state *st = ud;
    if (!chat_live()) return; /* after fini the records are gone */
    csock *cs = st->h->sio_get_data(s, st->self);
    if (!cs) return;
    st->h->sio_set_data(s, st->self, NULL);
    if (cmap_get(&st->socks_map, cs->sid) == cs) cmap_del(&st->socks_map, cs->sid);
    cs->sock = NULL; /* its queued messages still get stored (their acks are dropped) */
    cs_release(st, cs);
}

/* ---- chat-history ------------------------------------------------------------------------------------ */

static void h_chat_history(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    chat_state *st = ud;
    csock *cs = st->h->sio_get_data(s, st->self);
    json_object *a = json_object_array_get_idx(args, 0), *v = NULL;
    if (a && json_object_is_type(a, json_type_object))
        json_object_object_get_ex(a, "roomId", &v);
    else
        v = a;
    const char *room = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
    if (!room && cs && cs->room[0]) room = cs->room; /* no roomId: the socket's chat room */
    if (!chat_room_id_valid(room)) {
        chat_sock_error(st, s, ack, 0, "invalid_room", "roomId must be a room id.", -1);
        return;
    }
    if (!cs) {
        chat_sock_error(st, s, ack, 0, "unavailable", "Try again.", -1);
        return;
    }
    if (room != cs->room) snprintf(cs->room, sizeof cs->room, "%s", room);
    chat_history_send(st, cs, cs->room, ack);
}

/* ---- room.joined / room.left (when the rooms plugin publishes them) ----------------------------- */

static csock *bus_socket(chat_state *st, json_object *payload, const char **room) {
    const char *sid = chat_json_str(payload, "socketId");
    *room = chat_json_str(payload, "roomId");
    if (!sid || !chat_room_id_valid(*room)) return NULL;
    csock *cs = cmap_get(&st->socks_map, sid);
    return cs && cs->sock ? cs : NULL;
}

static void on_room_joined(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    chat_state *st = ud;
    if (!chat_live() || st->stopping) return;
    const char *room;
    csock *cs = bus_socket(st, payload, &room);
    if (!cs) return;
    snprintf(cs->room, sizeof cs->room, "%s", room);
    if (st->history_size > 0) chat_history_send(st, cs, cs->room, NULL);
}

static void on_room_left(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    chat_state *st = ud;
    if (!chat_live()) return;
    const char *room;
    csock *cs = bus_socket(st, payload, &room);
    if (cs && strcmp(cs->room, room) == 0) cs->room[0] = '\0';
}

int chat_sockets_init(chat_state *st) {
    const sh_host_api *h = st->h;
    int rc;
    if ((rc = h->sio_on_connect(st->self, CHAT_NSP, on_connect, st)) != SH_OK ||
        (rc = h->sio_on_disconnect(st->self, CHAT_NSP, on_disconnect, st)) != SH_OK ||
        (rc = h->sio_on(st->self, CHAT_NSP, "chat-history", h_chat_history, st)) != SH_OK ||
        (rc = h->bus_subscribe(st->self, CHAT_TOPIC_ROOM_JOINED, on_room_joined, st)) != SH_OK ||
        (rc = h->bus_subscribe(st->self, "room.left", on_room_left, st)) != SH_OK)
        return rc;
    return SH_OK;
}
