/*
 * bans.c - bans, timeouts and moderators of a room:
 *
 *   GET    /api/rooms/:roomId/bans                  (streamer or moderator) active bans
 *   POST   /api/rooms/:roomId/bans                  {username, durationSeconds?, reason?}
 *   DELETE /api/rooms/:roomId/bans/:username
 *   ban-user {username, durationSeconds?, reason?, roomId?} / unban-user {username, roomId?}
 *   GET    /api/rooms/:roomId/moderators            (streamer)
 *   POST   /api/rooms/:roomId/moderators[/:username] {username}
 *   DELETE /api/rooms/:roomId/moderators/:username
 *
 * A ban without durationSeconds is permanent, with it a timeout; a new ban replaces the old one.
 * Nobody bans the streamer or themselves; only the streamer bans a moderator. After a change the
 * node updates its own ban cache at once and publishes chat.bans (every node does the same), or
 * chat.moderators (every node drops the room's cached moderators). Each change writes its
 * moderation-log row in the same statement. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/mod_ctx.h"

/* ---- argument parsing (shared by REST bodies and socket events) -------------------------------- */

/* Parse {username, durationSeconds?, reason?} into c. 0, or -1 with *field and *msg set. */
static int parse_ban(mctx *c, json_object *o, int want_duration, const char **field, const char **msg) {
    const char *name = chat_json_str(o, "username");
    if (!chat_username_valid(name)) {
        *field = "username";
        *msg = "username must be a username.";
        return -1;
    }
    snprintf(c->want_target, sizeof c->want_target, "%s", name);
    if (!want_duration) return 0;
    json_object *d = NULL;
    if (json_object_object_get_ex(o, "durationSeconds", &d) && d && !json_object_is_type(d, json_type_null)) {
        int64_t v = json_object_is_type(d, json_type_int) ? json_object_get_int64(d) : 0;
        if (v < 1 || v > BAN_MAX_SECONDS) {
            *field = "durationSeconds";
            *msg = "durationSeconds must be an integer from 1 to 31536000 (absent for a permanent ban).";
            return -1;
        }
        c->has_duration = 1;
        c->duration = v;
        snprintf(c->dur_s, sizeof c->dur_s, "%" PRId64, v);
    }
    json_object *r = NULL;
    if (json_object_object_get_ex(o, "reason", &r) && r && !json_object_is_type(r, json_type_null)) {
        size_t off = 0, len = 0, chars = 0;
        int rc = json_object_is_type(r, json_type_string)
                     ? chat_text_check(json_object_get_string(r), (size_t)json_object_get_string_len(r),
                                       REASON_MAX_CHARS, 0, &off, &len, &chars)
                     : CHAT_TEXT_BAD_UTF8;
        if (rc == CHAT_TEXT_OK) {
            memcpy(c->reason, json_object_get_string(r) + off, len);
            c->reason[len] = '\0';
        } else if (rc != CHAT_TEXT_EMPTY) {
            *field = "reason";
            *msg = "reason must be text of at most 200 characters.";
            return -1;
        }
    }
    return 0;
}

/* A statement on c's target user that writes its moderation-log row (MOD_LOG_TARGET): $1 room_pk,
 * $2 target id, $3 actor id, $4 actor name, $5 target name. */
static void target_query(mctx *c, const char *sql, sh_db_cb cb) {
    const char *p[5] = {c->room_pk, c->target_s, c->uid_s, c->uname, c->target_name};
    mod_query(c, sql, 5, p, cb);
}

/* ---- bans ---------------------------------------------------------------------------------------- */

static void publish_ban(chat_state *st, const char *room, int64_t user_id, int64_t until) {
    ban_set(st, room, user_id, until < 0 ? UINT64_MAX : (uint64_t)until);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(room));
    json_object_object_add(o, "userId", json_object_new_int64(user_id));
    json_object_object_add(o, "until", json_object_new_int64(until));
    st->h->bus_publish(st->self, CHAT_TOPIC_BANS, o, SH_BUS_CLUSTER);
}

static void on_banned(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    if (h->db_nrows(res) < 1) {
        mod_error(c, 404, "room_not_found", "No such room.");
        return;
    }
    int64_t until = strtoll(h->db_value(res, 0, 2), NULL, 10);
    publish_ban(c->st, c->room, c->target_id, until);
    json_object *ban = json_object_new_object();
    json_object_object_add(ban, "userId", json_object_new_int64(c->target_id));
    json_object_object_add(ban, "username", json_object_new_string(c->target_name));
    json_object_object_add(ban, "reason", json_object_new_string(c->reason));
    json_object_object_add(ban, "createdAt", json_object_new_string(h->db_value(res, 0, 0)));
    const char *exp = h->db_value(res, 0, 1);
    json_object_object_add(ban, "expiresAt", exp ? json_object_new_string(exp) : NULL);
    json_object *by = json_object_new_object();
    json_object_object_add(by, "id", json_object_new_int64(c->uid));
    json_object_object_add(by, "username", json_object_new_string(c->uname));
    json_object_object_add(ban, "bannedBy", by);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "ban", ban);
    mod_ok(c, 201, body);
}

static void ban_user(mctx *c) {
    if (c->target_id == c->uid) {
        mod_error(c, 400, "cannot_target_self", "You cannot ban yourself.");
        return;
    }
    if (c->target_id == c->owner_id) {
        mod_error(c, 400, "cannot_ban_streamer", "The room's streamer cannot be banned.");
        return;
    }
    if (c->target_mod && c->uid != c->owner_id) {
        mod_error(c, 403, "forbidden", "Only the streamer can ban a moderator.");
        return;
    }
    const char *p[7] = {
        c->room_pk, c->target_s, c->uid_s, c->uname, c->target_name, c->reason, c->has_duration ? c->dur_s : NULL};
    mod_query(c,
              "WITH b AS (INSERT INTO chat_bans (room_pk, user_id, banned_by, reason, expires_at) "
              "  VALUES ($1::bigint, $2::bigint, $3::bigint, $6, "
              "    CASE WHEN $7::bigint IS NULL THEN NULL ELSE now() + make_interval(secs => $7::bigint) END) "
              "  ON CONFLICT (room_pk, user_id) DO UPDATE SET banned_by = EXCLUDED.banned_by, "
              "    reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, created_at = now() "
              "  RETURNING created_at, expires_at), "
              "l AS (INSERT INTO chat_moderation_log (room_pk, actor_id, actor_name, action, target_id, target_name, "
              "  reason, duration_seconds) SELECT $1::bigint, $3::bigint, $4, "
              "  CASE WHEN $7::bigint IS NULL THEN 'ban' ELSE 'timeout' END, $2::bigint, $5, $6, $7::bigint FROM b) "
              "SELECT " CHAT_ISO("created_at") ", " CHAT_ISO(
                  "expires_at") ", "
                                "CASE WHEN expires_at IS NULL THEN -1 ELSE (extract(epoch FROM expires_at) * "
                                "1000)::bigint END FROM b",
              7, p, on_banned);
}

static void on_unbanned(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    publish_ban(c->st, c->room, c->target_id, 0);
    mod_ok(c, c->req ? 204 : 200, NULL);
}

static void unban_user(mctx *c) {
    /* clang-format off */
    target_query(c,
                 "WITH d AS (DELETE FROM chat_bans WHERE room_pk = $1::bigint AND user_id = $2::bigint "
                 "  RETURNING (expires_at IS NULL OR expires_at > now()) AS active), "
                 MOD_LOG_TARGET("unban", "d WHERE d.active")
                 "SELECT count(*) FROM d",
                 on_unbanned);
    /* clang-format on */
}

static void list_bans(mctx *c) {
    const char *p[1] = {c->room_pk};
    mod_query_list(
        c, "bans",
        "SELECT json_build_object('userId', b.user_id, 'username', u.username, 'reason', b.reason, "
        "'createdAt', " CHAT_ISO("b.created_at") ", 'expiresAt', " CHAT_ISO(
            "b.expires_at") ", "
                            "'bannedBy', CASE WHEN bu.id IS NULL THEN NULL "
                            "  ELSE json_build_object('id', bu.id, 'username', bu.username) END)::text "
                            "FROM chat_bans b JOIN users u ON u.id = b.user_id LEFT JOIN users bu ON bu.id = "
                            "b.banned_by "
                            "WHERE b.room_pk = $1::bigint AND (b.expires_at IS NULL OR b.expires_at > now()) "
                            "ORDER BY b.created_at DESC LIMIT 1000",
        1, p);
}

/* ---- moderators ------------------------------------------------------------------------------------ */

static void publish_moderators(chat_state *st, const char *room) {
    croom_invalidate(st, room);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(room));
    st->h->bus_publish(st->self, CHAT_TOPIC_MODERATORS, o, SH_BUS_CLUSTER);
}

static void on_mod_added(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    if (h->db_nrows(res) < 1) { /* removed again meanwhile, or the room went away */
        mod_error(c, 409, "conflict", "The moderator list changed meanwhile; try again.");
        return;
    }
    int created = strcmp(h->db_value(res, 0, 0), "1") == 0;
    if (created) publish_moderators(c->st, c->room);
    json_object *m = json_object_new_object();
    json_object_object_add(m, "id", json_object_new_int64(c->target_id));
    json_object_object_add(m, "username", json_object_new_string(c->target_name));
    json_object_object_add(m, "addedAt", json_object_new_string(h->db_value(res, 0, 1)));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "moderator", m);
    mod_ok(c, created ? 201 : 200, body);
}

static void add_moderator(mctx *c) {
    if (c->target_id == c->owner_id) {
        mod_error(c, 400, "cannot_target_self", "The streamer moderates their room already.");
        return;
    }
    /* clang-format off */
    target_query(c,
                 "WITH i AS (INSERT INTO chat_moderators (room_pk, user_id, added_by) "
                 "  VALUES ($1::bigint, $2::bigint, $3::bigint) ON CONFLICT DO NOTHING RETURNING created_at), "
                 MOD_LOG_TARGET("add_moderator", "i")
                 "SELECT 1, " CHAT_ISO("created_at") " FROM i "
                 "UNION ALL SELECT 0, " CHAT_ISO("created_at") " FROM chat_moderators "
                 "  WHERE room_pk = $1::bigint AND user_id = $2::bigint AND NOT EXISTS (SELECT 1 FROM i)",
                 on_mod_added);
    /* clang-format on */
}

static void on_mod_removed(const sh_db_result *res, void *ud) {
    mctx *c = ud;
    if (mod_failed(c, res)) return;
    if (mod_counted(c, res)) publish_moderators(c->st, c->room);
    mod_ok(c, 204, NULL);
}

static void remove_moderator(mctx *c) {
    /* clang-format off */
    target_query(c,
                 "WITH d AS (DELETE FROM chat_moderators WHERE room_pk = $1::bigint AND user_id = $2::bigint "
                 "  RETURNING user_id), "
                 MOD_LOG_TARGET("remove_moderator", "d")
                 "SELECT count(*) FROM d",
                 on_mod_removed);
    /* clang-format on */
}

static void list_moderators(mctx *c) {
    const char *p[1] = {c->room_pk};
    mod_query_list(
        c, "moderators",
        "SELECT json_build_object('id', u.id, 'username', u.username, "
        "'addedAt', " CHAT_ISO(
            "m.created_at") ")::text "
                            "FROM chat_moderators m JOIN users u ON u.id = m.user_id WHERE m.room_pk = $1::bigint "
                            "ORDER BY m.created_at, u.id",
        1, p);
}

/* ---- REST ------------------------------------------------------------------------------------------ */

/* A context for /api/rooms/:roomId/... with an optional :username; NULL after answering. */
static mctx *rest_ctx(chat_state *st, sh_request *req) {
    const char *room = st->h->req_param(req, "roomId"), *name = st->h->req_param(req, "username");
    if (!chat_room_id_valid(room)) {
        st->h->respond_error(req, 404, "room_not_found", "No such room.", NULL);
        return NULL;
    }
    if (name && !chat_username_valid(name)) {
        st->h->respond_error(req, 404, "user_not_found", "No such user.", NULL);
        return NULL;
    }
    mctx *c = mod_ctx_req(st, req);
    if (!c) return NULL;
    snprintf(c->room, sizeof c->room, "%s", room);
    if (name) snprintf(c->want_target, sizeof c->want_target, "%s", name);
    return c;
}

static void r_list_bans(sh_request *req, void *ud) {
    mctx *c = rest_ctx(ud, req);
    if (c) mod_access(c, ROLE_MOD, list_bans);
}

static void r_ban(sh_request *req, void *ud) {
    chat_state *st = ud;
    json_object *body = st->h->req_json(req);
    if (!body) return;
    mctx *c = rest_ctx(st, req);
    if (!c) return;
    const char *field = NULL, *msg = NULL;
    if (parse_ban(c, body, 1, &field, &msg) < 0) {
        st->h->respond_error(req, 400, "invalid_field", msg, field);
        free(c);
        return;
    }
    mod_access(c, ROLE_MOD, ban_user);
}

static void r_unban(sh_request *req, void *ud) {
    mctx *c = rest_ctx(ud, req);
    if (c) mod_access(c, ROLE_MOD, unban_user);
}

static void r_list_moderators(sh_request *req, void *ud) {
    mctx *c = rest_ctx(ud, req);
    if (c) mod_access(c, ROLE_STREAMER, list_moderators);
}

static void r_add_moderator(sh_request *req, void *ud) {
    chat_state *st = ud;
    mctx *c = rest_ctx(st, req);
    if (!c) return;
    if (!c->want_target[0]) { /* POST .../moderators with {username} */
        json_object *body = st->h->req_json(req);
        if (!body) {
            free(c);
            return;
        }
        const char *field = NULL, *msg = NULL;
        if (parse_ban(c, body, 0, &field, &msg) < 0) {
            st->h->respond_error(req, 400, "invalid_field", msg, field);
            free(c);
            return;
        }
    }
    mod_access(c, ROLE_STREAMER, add_moderator);
}

static void r_remove_moderator(sh_request *req, void *ud) {
    mctx *c = rest_ctx(ud, req);
    if (c) mod_access(c, ROLE_STREAMER, remove_moderator);
}

/* ---- socket events ----------------------------------------------------------------------------------- */

static void sock_ban(sh_socket *s, json_object *args, sh_ack *ack, chat_state *st, int ban) {
    mctx *c = mod_ctx_sock(st, s, ack);
    json_object *arg = chat_arg_obj(args);
    if (!c || mod_sock_room(c, arg) < 0) return;
    const char *field = NULL, *msg = NULL;
    if (parse_ban(c, arg, ban, &field, &msg) < 0) {
        mod_error(c, 400, "invalid_field", msg);
        return;
    }
    mod_access(c, ROLE_MOD, ban ? ban_user : unban_user);
}

static void h_ban_user(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    sock_ban(s, args, ack, ud, 1);
}

static void h_unban_user(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    sock_ban(s, args, ack, ud, 0);
}

int chat_bans_init(chat_state *st) {
    const sh_host_api *h = st->h;
    int rc;
    if ((rc = h->http_route(st->self, "GET", "/api/rooms/:roomId/bans", SH_ROUTE_AUTH, r_list_bans, st)) != SH_OK ||
        (rc = h->http_route(st->self, "POST", "/api/rooms/:roomId/bans", SH_ROUTE_AUTH, r_ban, st)) != SH_OK ||
        (rc = h->http_route(st->self, "DELETE", "/api/rooms/:roomId/bans/:username", SH_ROUTE_AUTH, r_unban, st)) !=
            SH_OK ||
        (rc = h->http_route(st->self, "GET", "/api/rooms/:roomId/moderators", SH_ROUTE_AUTH, r_list_moderators, st)) !=
            SH_OK ||
        (rc = h->http_route(st->self, "POST", "/api/rooms/:roomId/moderators", SH_ROUTE_AUTH, r_add_moderator, st)) !=
            SH_OK ||
        (rc = h->http_route(st->self, "POST", "/api/rooms/:roomId/moderators/:username", SH_ROUTE_AUTH, r_add_moderator,
                            st)) != SH_OK ||
        (rc = h->http_route(st->self, "DELETE", "/api/rooms/:roomId/moderators/:username", SH_ROUTE_AUTH,
                            r_remove_moderator, st)) != SH_OK ||
        (rc = h->sio_on(st->self, CHAT_NSP, "ban-user", h_ban_user, st)) != SH_OK ||
        (rc = h->sio_on(st->self, CHAT_NSP, "unban-user", h_unban_user, st)) != SH_OK)
        return rc;
    return SH_OK;
}
