/*
 * history.c - a room's recent messages, oldest first (newest last), without deleted messages
 * and without what a clear hid:
 *
 *   chat-history {roomId}  ->  chat-history {roomId, messages} (or the ack gets it)
 *   GET /api/rooms/:roomId/messages?before=<id>&limit=<1..100, 50>  ->  200 {messages}
 *
 * One query: the room (404 when absent) and, laterally, its last `limit` visible messages with
 * an id below `before`. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"

static const sh_host_api *H; /* for acks answered after fini */

#define HISTORY_SQL                                                                                                    \
    "SELECT m.id, m.user_id, m.username, m.content, " CHAT_ISO(                                                        \
        "m.created_at") " "                                                                                            \
                        "FROM rooms r LEFT JOIN chat_room_state s ON s.room_pk = r.id "                                \
                        "LEFT JOIN LATERAL (SELECT id, user_id, username, content, created_at FROM chat_messages "     \
                        "  WHERE room_pk = r.id AND NOT deleted AND id > coalesce(s.cleared_through, 0) "              \
                        "  AND id < coalesce($2::bigint, 9223372036854775807) ORDER BY id DESC LIMIT $3::int) m ON "   \
                        "true "                                                                                        \
                        "WHERE r.room_id = $1"

typedef struct hctx {
    csock *cs; /* held; NULL for REST */
    sh_ack *ack;
    sh_request *req;
    char room[CHAT_ROOM_ID_MAX + 1];
} hctx;

/* The messages of a result, newest last; NULL when the room does not exist. */
static json_object *messages_json(const sh_host_api *h, const sh_db_result *res) {
    int n = h->db_nrows(res);
    if (n < 1) return NULL;
    json_object *arr = json_object_new_array();
    for (int i = n - 1; i >= 0; i--) {
        const char *id = h->db_value(res, i, 0);
        if (!id) continue; /* the room has no messages: one row of NULLs */
        const char *uid = h->db_value(res, i, 1), *name = h->db_value(res, i, 2), *text = h->db_value(res, i, 3);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(strtoll(id, NULL, 10)));
        json_object_object_add(o, "userId", uid ? json_object_new_int64(strtoll(uid, NULL, 10)) : NULL);
        json_object_object_add(o, "username", json_object_new_string(name ? name : ""));
        json_object_object_add(o, "message", json_object_new_string(text ? text : ""));
        json_object_object_add(o, "timestamp",
                               json_object_new_string(h->db_value(res, i, 4) ? h->db_value(res, i, 4) : ""));
        json_object_array_add(arr, o);
    }
    return arr;
}

static void on_history(const sh_db_result *res, void *ud) {
    hctx *c = ud;
    if (!chat_live()) {
        if (c->ack) H->sio_ack(c->ack, NULL);
        free(c);
        return;
    }
    chat_state *st = chat_g;
    const sh_host_api *h = st->h;
    sh_socket *sock = c->cs ? c->cs->sock : NULL;
    if (h->db_status(res) != SH_OK) {
        chat_log_db(st, "history", res);
        if (c->req)
            h->respond_db_error(c->req, res);
        else
            chat_sock_error(st, sock, c->ack, 0, "unavailable", "The database is unavailable; try again.", -1);
    } else {
        json_object *msgs = messages_json(h, res);
        if (!msgs) {
            if (c->req)
                h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
            else
                chat_sock_error(st, sock, c->ack, 0, "room_not_found", "No such room.", -1);
        } else {
            json_object *o = json_object_new_object();
            if (!c->req) json_object_object_add(o, "roomId", json_object_new_string(c->room));
            json_object_object_add(o, "messages", msgs);
            if (c->req) {
                h->respond_json(c->req, 200, o);
            } else if (c->ack) {
                h->sio_ack(c->ack, o);
                h->metric_add(st->m_history, 1);
            } else if (sock && !st->stopping) {
                h->sio_emit(sock, "chat-history", o);
                h->metric_add(st->m_history, 1);
            } else {
                json_object_put(o);
            }
        }
    }
    if (c->cs) cs_release(st, c->cs);
    free(c);
}

static void history_query(chat_state *st, hctx *c, const char *before, int limit) {
    if (!chat_db_ok(st)) {
        if (c->req)
            st->h->respond_error(c->req, 503, "database_unavailable", "The database is unavailable.", NULL);
        else
            chat_sock_error(st, c->cs ? c->cs->sock : NULL, c->ack, 0, "unavailable", "The server is shutting down.",
                            -1);
        if (c->cs) cs_release(st, c->cs);
        free(c);
        return;
    }
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit);
    const char *p[3] = {c->room, before, lim};
    (void)st->h->db_query(st->self, HISTORY_SQL, 3, p, on_history, c);
}

void chat_history_send(chat_state *st, csock *cs, const char *room_id, sh_ack *ack) {
    hctx *c = calloc(1, sizeof *c);
    if (!c) {
        chat_sock_error(st, cs->sock, ack, 0, "unavailable", "Out of memory.", -1);
        return;
    }
    c->cs = cs;
    c->ack = ack;
    snprintf(c->room, sizeof c->room, "%s", room_id);
    cs_hold(cs);
    history_query(st, c, NULL, (int)st->history_size);
}

static void h_get_messages(sh_request *req, void *ud) {
    chat_state *st = ud;
    const sh_host_api *h = st->h;
    const char *room = h->req_param(req, "roomId"), *before = h->req_query(req, "before"),
               *limit = h->req_query(req, "limit");
    if (!chat_room_id_valid(room)) {
        h->respond_error(req, 404, "room_not_found", "No such room.", NULL);
        return;
    }
    int64_t b = 0, l = 50;
    if (before && *before && chat_parse_id(before, &b) < 0) {
        h->respond_error(req, 400, "invalid_field", "before must be a message id.", "before");
        return;
    }
    if (limit && (chat_parse_id(limit, &l) < 0 || l > 100)) {
        h->respond_error(req, 400, "invalid_field", "limit must be an integer from 1 to 100.", "limit");
        return;
    }
    hctx *c = calloc(1, sizeof *c);
    if (!c) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->req = req;
    snprintf(c->room, sizeof c->room, "%s", room);
    history_query(st, c, before && *before ? before : NULL, (int)l);
}

int chat_history_init(chat_state *st) {
    H = st->h;
    return st->h->http_route(st->self, "GET", "/api/rooms/:roomId/messages", 0, h_get_messages, st);
}
