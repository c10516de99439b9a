/*
 * moderation.c - who may moderate a room, and the moderation of messages:
 *
 *   delete-message {messageId}                      (the author, the streamer or a moderator)
 *   DELETE /api/rooms/:roomId/messages/:messageId   the room gets message-deleted {messageId}
 *   clear-chat {roomId?}                            (the streamer or a moderator)
 *   DELETE /api/rooms/:roomId/messages              the room gets chat-cleared {}
 *   GET /api/rooms/:roomId/moderation-log           (the streamer) newest first; before, limit
 *
 * Deletes are soft (chat_messages.deleted); a clear moves the room's cleared_through. Each action
 * by the streamer or a moderator writes a moderation-log row in the same statement (a CTE), so
 * the record and the action cannot part. Bans and moderators are in bans.c; the context and the
 * access check shared with it are here. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/mod_ctx.h"

static const sh_host_api *H; /* for acks answered after fini */

/* ---- the context ------------------------------------------------------------------------------- */

static void mod_free(mctx *c) {
    if (c->cs && chat_live()) cs_release(c->st, c->cs);
    free(c);
}

mctx *mod_ctx_req(chat_state *st, sh_request *req) {
    mctx *c = calloc(1, sizeof *c);
    if (!c) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return NULL;
    }
    c->st = st;
    c->req = req;
    c->uid = st->h->req_user_id(req);
    const char *name = st->h->req_username(req);
    snprintf(c->uname, sizeof c->uname, "%s", name ? name : "");
    snprintf(c->uid_s, sizeof c->uid_s, "%" PRId64, c->uid);
    c->limit = 50;
    return c;
}

mctx *mod_ctx_sock(chat_state *st, sh_socket *s, sh_ack *ack) {
    csock *cs = st->h->sio_get_data(s, st->self);
    if (!cs || cs->user_id <= 0) {
        chat_count_refused(st, R_NOT_AUTHENTICATED);
        chat_sock_error(st, s, ack, 0, cs ? "not_authenticated" : "unavailable", cs ? "Sign in first." : "Try again.",
                        -1);
        return NULL;
    }
    mctx *c = calloc(1, sizeof *c);
    if (!c) {
        chat_sock_error(st, s, ack, 0, "unavailable", "Out of memory.", -1);
        return NULL;
    }
    c->st = st;
    c->ack = ack;
    c->cs = cs;
    cs_hold(cs);
    c->uid = cs->user_id;
    snprintf(c->uname, sizeof c->uname, "%s", cs->username);
    snprintf(c->uid_s, sizeof c->uid_s, "%" PRId64, c->uid);
    c->limit = 50;
    return c;
}

void mod_error(mctx *c, int status, const char *code, const char *message) {
    if (c->req)
        c->st->h->respond_error(c->req, status, code, message, NULL);
    else
        chat_sock_error(c->st, c->cs ? c->cs->sock : NULL, c->ack, 0, code, message, -1);
    mod_free(c);
}

void mod_ok(mctx *c, int status, json_object *body) {
    const sh_host_api *h = c->st->h;
    if (c->req) {
        h->respond_json(c->req, status, body);
    } else if (c->ack) {
        if (!body) {
            body = json_object_new_object();
            json_object_object_add(body, "ok", json_object_new_boolean(1));
        }
        h->sio_ack(c->ack, body);
    } else {
        json_object_put(body);
    }
    mod_free(c);
}

void mod_db_error(mctx *c, const sh_db_result *res) {
    chat_log_db(c->st, "moderation query", res);
    if (c->req) {
        c->st->h->respond_db_error(c->req, res);
        mod_free(c);
    } else {
        mod_error(c, 503, "unavailable", "The database is unavailable; try again.");
    }
}

int mod_failed(mctx *c, const sh_db_result *res) {
    if (!chat_live()) {
        if (c->ack) H->sio_ack(c->ack, NULL);
        free(c); /* the request is dropped by the core at shutdown; the socket record is gone */
        return 1;
    }
    if (c->st->h->db_status(res) != SH_OK) {
        mod_db_error(c, res);
        return 1;
    }
    return 0;
}

void mod_query(mctx *c, const char *sql, int n, const char *const *params, sh_db_cb cb) {
    if (!chat_db_ok(c->st)) {
        mod_error(c, 503, c->req ? "database_unavailable" : "unavailable", "The database is unavailable.");
        return;
    }
    (void)c->st->h->db_query(c->st->self, sql, n, params, cb, c);
}

static void on_list(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    json_object *arr = json_object_new_array();
    for (int i = 0, n = h->db_nrows(res); i < n; i++) {
        json_object *o = json_tokener_parse(h->db_value(res, i, 0));
        if (o) json_object_array_add(arr, o);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, c->list_key, arr);
    mod_ok(c, 200, body);
}

void mod_query_list(mctx *c, const char *key, const char *sql, int n, const char *const *params) {
    c->list_key = key;
    mod_query(c, sql, n, params, on_list);
}

int mod_counted(mctx *c, const sh_db_result *res) {
    const char *n = c->st->h->db_value(res, 0, 0);
    return n && strcmp(n, "0") != 0;
}

int mod_sock_room(mctx *c, json_object *arg) {
    const char *room = chat_json_str(arg, "roomId");
    if (!room && c->cs && c->cs->room[0]) room = c->cs->room;
    if (!chat_room_id_valid(room)) {
        mod_error(c, 400, "invalid_room", "roomId must be a room id (or send chat-history after join-room first).");
        return -1;
    }
    snprintf(c->room, sizeof c->room, "%s", room);
    return 0;
}

/* ---- access ------------------------------------------------------------------------------------ */

static void on_access(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    if (h->db_nrows(res) < 1) {
        mod_error(c, 404, "room_not_found", "No such room.");
        return;
    }
    snprintf(c->room_pk, sizeof c->room_pk, "%s", h->db_value(res, 0, 0));
    c->owner_id = strtoll(h->db_value(res, 0, 1), NULL, 10);
    c->actor_mod = h->db_value(res, 0, 2)[0] == 't';
    int is_owner = c->uid == c->owner_id;
    if ((c->role == ROLE_STREAMER && !is_owner) || (c->role == ROLE_MOD && !is_owner && !c->actor_mod)) {
        mod_error(c, 403, "forbidden",
                  c->role == ROLE_STREAMER ? "Only the room's streamer can do this."
                                           : "Only the room's streamer and moderators can do this.");
        return;
    }
    if (c->want_target[0]) {
        const char *tid = h->db_value(res, 0, 3);
        if (!tid) {
            mod_error(c, 404, "user_not_found", "No such user.");
            return;
        }
        c->target_id = strtoll(tid, NULL, 10);
        snprintf(c->target_s, sizeof c->target_s, "%s", tid);
        snprintf(c->target_name, sizeof c->target_name, "%s", h->db_value(res, 0, 4));
        c->target_mod = h->db_value(res, 0, 5)[0] == 't';
    }
    c->next(c);
}

void mod_access(mctx *c, int role, mod_step next) {
    c->role = role;
    c->next = next;
    const char *p[3] = {c->room, c->uid_s, c->want_target[0] ? c->want_target : NULL};
    mod_query(c,
              "SELECT r.id, r.streamer_id, "
              "EXISTS (SELECT 1 FROM chat_moderators m WHERE m.room_pk = r.id AND m.user_id = $2::bigint), "
              "t.id, t.username, "
              "EXISTS (SELECT 1 FROM chat_moderators m WHERE m.room_pk = r.id AND m.user_id = t.id) "
              "FROM rooms r LEFT JOIN users t ON $3::text IS NOT NULL AND lower(t.username) = lower($3::text) "
              "WHERE r.room_id = $1",
              3, p, on_access);
}

/* ---- delete a message ---------------------------------------------------------------------------- */

static void on_deleted(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    if (mod_counted(c, res)) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "messageId", json_object_new_int64(c->message_id));
        chat_emit_room(c->st, c->room, "message-deleted", o);
    }
    if (c->req) {
        mod_ok(c, 204, NULL);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ok", json_object_new_boolean(1));
        json_object_object_add(o, "messageId", json_object_new_int64(c->message_id));
        mod_ok(c, 200, o);
    }
}

static void on_message_row(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    if (h->db_nrows(res) < 1 || (c->req && strcmp(h->db_value(res, 0, 0), c->room) != 0)) {
        mod_error(c, 404, "message_not_found", "No such message.");
        return;
    }
    snprintf(c->room, sizeof c->room, "%s", h->db_value(res, 0, 0));
    const char *author = h->db_value(res, 0, 1);
    int own = author && strtoll(author, NULL, 10) == c->uid;
    int owner = strtoll(h->db_value(res, 0, 2), NULL, 10) == c->uid;
    int mod = h->db_value(res, 0, 3)[0] == 't';
    snprintf(c->room_pk, sizeof c->room_pk, "%s", h->db_value(res, 0, 4));
    if (!own && !owner && !mod) {
        mod_error(c, 403, "forbidden", "Only the author, the streamer and moderators can delete a message.");
        return;
    }
    const char *p[5] = {c->msg_s, c->uid_s, c->uname, c->room_pk, own ? "false" : "true"};
    mod_query(c,
              "WITH u AS (UPDATE chat_messages SET deleted = true, deleted_at = now(), deleted_by = $2::bigint "
              "  WHERE id = $1::bigint AND NOT deleted RETURNING user_id, username), "
              "l AS (INSERT INTO chat_moderation_log (room_pk, actor_id, actor_name, action, target_id, target_name, "
              "  message_id) SELECT $4::bigint, $2::bigint, $3, 'delete_message', u.user_id, u.username, $1::bigint "
              "  FROM u WHERE $5::boolean) "
              "SELECT count(*) FROM u",
              5, p, on_deleted);
}

static void delete_message(mctx *c) {
    const char *p[2] = {c->msg_s, c->uid_s};
    mod_query(c,
              "SELECT r.room_id, m.user_id, r.streamer_id, "
              "EXISTS (SELECT 1 FROM chat_moderators x WHERE x.room_pk = r.id AND x.user_id = $2::bigint), r.id "
              "FROM chat_messages m JOIN rooms r ON r.id = m.room_pk WHERE m.id = $1::bigint",
              2, p, on_message_row);
}

static int64_t json_id(json_object *v) {
    if (!v) return 0;
    if (json_object_is_type(v, json_type_int)) return json_object_get_int64(v);
    int64_t id = 0;
    if (json_object_is_type(v, json_type_string) && chat_parse_id(json_object_get_string(v), &id) == 0) return id;
    return 0;
}

static void h_delete_message(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    chat_state *st = ud;
    mctx *c = mod_ctx_sock(st, s, ack);
    if (!c) return;
    json_object *a = json_object_array_get_idx(args, 0), *v = NULL;
    if (a && json_object_is_type(a, json_type_object))
        json_object_object_get_ex(a, "messageId", &v);
    else
        v = a;
    c->message_id = json_id(v);
    if (c->message_id <= 0) {
        mod_error(c, 400, "invalid_message_id", "messageId must be a message id.");
        return;
    }
    snprintf(c->msg_s, sizeof c->msg_s, "%" PRId64, c->message_id);
    delete_message(c);
}

static void r_delete_message(sh_request *req, void *ud) {
    chat_state *st = ud;
    const char *room = st->h->req_param(req, "roomId"), *id = st->h->req_param(req, "messageId");
    int64_t mid = 0;
    if (!chat_room_id_valid(room) || chat_parse_id(id, &mid) < 0) {
        st->h->respond_error(req, 404, "message_not_found", "No such message.", NULL);
        return;
    }
    mctx *c = mod_ctx_req(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", room);
    c->message_id = mid;
    snprintf(c->msg_s, sizeof c->msg_s, "%" PRId64, mid);
    delete_message(c);
}

/* ---- clear --------------------------------------------------------------------------------------- */

static void on_cleared(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    chat_emit_room(c->st, c->room, "chat-cleared", json_object_new_object());
    mod_ok(c, c->req ? 204 : 200, NULL);
}

static void clear_chat(mctx *c) {
    const char *p[3] = {c->room_pk, c->uid_s, c->uname};
    mod_query(c,
              "WITH c AS (INSERT INTO chat_room_state (room_pk, cleared_through, cleared_at) "
              "  SELECT $1::bigint, coalesce(max(id), 0), now() FROM chat_messages WHERE room_pk = $1::bigint "
              "  ON CONFLICT (room_pk) DO UPDATE SET cleared_through = "
              "    GREATEST(chat_room_state.cleared_through, EXCLUDED.cleared_through), cleared_at = now() "
              "  RETURNING cleared_through), "
              "l AS (INSERT INTO chat_moderation_log (room_pk, actor_id, actor_name, action) "
              "  SELECT $1::bigint, $2::bigint, $3, 'clear_chat' FROM c) "
              "SELECT cleared_through FROM c",
              3, p, on_cleared);
}

static void h_clear_chat(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    chat_state *st = ud;
    mctx *c = mod_ctx_sock(st, s, ack);
    if (!c || mod_sock_room(c, chat_arg_obj(args)) < 0) return;
    mod_access(c, ROLE_MOD, clear_chat);
}

static void r_clear_chat(sh_request *req, void *ud) {
    chat_state *st = ud;
    const char *room = st->h->req_param(req, "roomId");
    if (!chat_room_id_valid(room)) {
        st->h->respond_error(req, 404, "room_not_found", "No such room.", NULL);
        return;
    }
    mctx *c = mod_ctx_req(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", room);
    mod_access(c, ROLE_MOD, clear_chat);
}

/* ---- the moderation log ----------------------------------------------------------------------------- */

static void list_log(mctx *c) {
    char lim[16];
    snprintf(lim, sizeof lim, "%d", c->limit);
    const char *p[3] = {c->room_pk, c->before, lim};
    mod_query_list(
        c, "entries",
        "SELECT json_build_object('id', id, 'action', action, "
        "'actor', json_build_object('id', actor_id, 'username', actor_name), "
        "'target', CASE WHEN target_name IS NULL THEN NULL "
        "  ELSE json_build_object('id', target_id, 'username', target_name) END, "
        "'messageId', message_id, 'reason', reason, 'durationSeconds', duration_seconds, "
        "'createdAt', " CHAT_ISO(
            "created_at") ")::text "
                          "FROM chat_moderation_log WHERE room_pk = $1::bigint "
                          "AND id < coalesce($2::bigint, 9223372036854775807) ORDER BY id DESC LIMIT $3::int",
        3, p);
}

static void r_moderation_log(sh_request *req, void *ud) {
    chat_state *st = ud;
    const sh_host_api *h = st->h;
    const char *room = h->req_param(req, "roomId"), *before = h->req_query(req, "before"),
               *limit = h->req_query(req, "limit");
    int64_t b = 0, l = 50;
    if (!chat_room_id_valid(room)) {
        h->respond_error(req, 404, "room_not_found", "No such room.", NULL);
        return;
    }
    if (before && *before && chat_parse_id(before, &b) < 0) {
        h->respond_error(req, 400, "invalid_field", "before must be an entry id.", "before");
        return;
    }
    if (limit && (chat_parse_id(limit, &l) < 0 || l > 100)) {
        h->respond_error(req, 400, "invalid_field", "limit must be an integer from 1 to 100.", "limit");
        return;
    }
    mctx *c = mod_ctx_req(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", room);
    c->before = before && *before ? before : NULL;
    c->limit = (int)l;
    mod_access(c, ROLE_STREAMER, list_log);
}

int chat_moderation_init(chat_state *st) {
    const sh_host_api *h = st->h;
    H = h;
    int rc;
    if ((rc = h->sio_on(st->self, CHAT_NSP, "delete-message", h_delete_message, st)) != SH_OK ||
        (rc = h->sio_on(st->self, CHAT_NSP, "clear-chat", h_clear_chat, st)) != SH_OK ||
        (rc = h->http_route(st->self, "DELETE", "/api/rooms/:roomId/messages/:messageId", SH_ROUTE_AUTH,
                            r_delete_message, st)) != SH_OK ||
        (rc = h->http_route(st->self, "DELETE", "/api/rooms/:roomId/messages", SH_ROUTE_AUTH, r_clear_chat, st)) !=
            SH_OK ||
        (rc = h->http_route(st->self, "GET", "/api/rooms/:roomId/moderation-log", SH_ROUTE_AUTH, r_moderation_log,
                            st)) != SH_OK)
        return rc;
    return chat_bans_init(st);
}
