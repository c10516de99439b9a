/*
 * routes.c - follows (see docs/API.md, "Follows and notifications"):
 *
 *   POST   /api/users/:username/follow (auth)   204, idempotent; 400 cannot_follow_self; 404
 *   DELETE /api/users/:username/follow (auth)   204, idempotent; 404
 *   GET    /api/users/:username/followers       {users, nextCursor}, newest follow first
 *   GET    /api/users/:username/following       {users, nextCursor}
 *   GET    /api/users/me/following/live (auth)  {rooms}: live rooms of the users the caller follows
 *
 * Exact counts under concurrency: one transaction first locks both users rows in id order
 * (SELECT ... ORDER BY id FOR NO KEY UPDATE: concurrent (un)follows touching the same users queue
 * up instead of deadlocking), then one statement inserts (deletes) the follow row and moves
 * follower_count / following_count only when a row really was inserted (deleted). A rare
 * deadlock or serialization failure is retried. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/follow/follow_plugin.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* a user (public form) plus followedAt, as JSON text; `u` = users, `f` = follows */
#define USER_JSON                                                                                                      \
    "json_build_object('id', u.id, 'username', u.username, 'displayName', u.display_name, 'avatarUrl', "               \
    "NULLIF(u.avatar_url, ''), 'bio', u.bio, 'isStreaming', u.is_streaming, 'followerCount', u.follower_count, "       \
    "'followingCount', u.following_count, 'createdAt', " TS("u.created_at") ", 'followedAt', " TS(                     \
        "f.created_at") ")::text"

typedef struct fctx {
    follow_state *st;
    sh_request *req;
    char uid[24];
    char name[32];
    int follow; /* 1 follow, 0 unfollow */
    int attempts;
    int limit;
} fctx;

static fctx *ctx_new(follow_state *st, sh_request *req) {
    fctx *c = calloc(1, sizeof *c);
    if (!c) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return NULL;
    }
    c->st = st;
    c->req = req;
    snprintf(c->uid, sizeof c->uid, "%" PRId64, st->h->req_user_id(req));
    return c;
}

/* ---- follow / unfollow ---------------------------------------------------------------------- */

static void change_run(fctx *c);

static void on_changed(const sh_db_result *res, void *ud) {
    fctx *c = ud;
    if (!follow_live()) {
        free(c);
        return;
    }
    follow_state *st = c->st;
    const sh_host_api *h = st->h;
    if (h->db_status(res) == SH_ERR) {
        const char *state = h->db_sqlstate(res);
        if ((strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0) && ++c->attempts < 5) {
            change_run(c);
            return;
        }
        if (strcmp(state, "23503") == 0) { /* the caller's account is gone */
            h->respond_error(c->req, 401, "invalid_token", "The account no longer exists.", NULL);
            free(c);
            return;
        }
    }
    if (h->db_status(res) != SH_OK) {
        follow_respond_db(st, c->req, res);
    } else if (h->db_nrows(res) < 1 || !h->db_value(res, 0, 0)) {
        h->respond_error(c->req, 404, "user_not_found", "No such user.", NULL);
    } else if (c->follow && strcmp(h->db_value(res, 0, 0), c->uid) == 0) {
        h->respond_error(c->req, 400, "cannot_follow_self", "You cannot follow yourself.", NULL);
    } else {
        if (strtoll(h->db_value(res, 0, 1), NULL, 10) > 0)
            h->metric_add(c->follow ? st->m_follows : st->m_unfollows, 1);
        h->respond_json(c->req, 204, NULL);
    }
    free(c);
}

static void change_run(fctx *c) {
    const char *p[2] = {c->uid, c->name};
    sh_db_stmt stmts[2] = {
        {"SELECT id FROM users WHERE id = $1::bigint OR lower(username) = lower($2) ORDER BY id FOR NO KEY UPDATE", 2,
         p},
        {c->follow
             ? "WITH t AS (SELECT id FROM users WHERE lower(username) = lower($2)), "
               "ins AS (INSERT INTO follows (follower_id, following_id) SELECT $1::bigint, t.id FROM t "
               "WHERE t.id <> $1::bigint ON CONFLICT (follower_id, following_id) DO NOTHING RETURNING following_id), "
               "a AS (UPDATE users SET follower_count = follower_count + 1 WHERE id IN (SELECT following_id FROM "
               "ins)), "
               "b AS (UPDATE users SET following_count = following_count + 1 "
               "WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM ins)) "
               "SELECT (SELECT id FROM t) AS target, (SELECT count(*) FROM ins) AS changed"
             : "WITH t AS (SELECT id FROM users WHERE lower(username) = lower($2)), "
               "del AS (DELETE FROM follows WHERE follower_id = $1::bigint AND following_id IN (SELECT id FROM t) "
               "RETURNING following_id), "
               "a AS (UPDATE users SET follower_count = follower_count - 1 WHERE id IN (SELECT following_id FROM "
               "del)), "
               "b AS (UPDATE users SET following_count = following_count - 1 "
               "WHERE id = $1::bigint AND EXISTS (SELECT 1 FROM del)) "
               "SELECT (SELECT id FROM t) AS target, (SELECT count(*) FROM del) AS changed",
         2, p},
    };
    if (c->st->h->db_tx(c->st->self, stmts, 2, on_changed, c) == SH_ERR_NOMEM) {
        c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

static void h_change(sh_request *req, follow_state *st, int follow) {
    const char *name = st->h->req_param(req, "username");
    if (!follow_username_ok(name)) {
        st->h->respond_error(req, 404, "user_not_found", "No such user.", NULL);
        return;
    }
    fctx *c = ctx_new(st, req);
    if (!c) return;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->follow = follow;
    change_run(c);
}

static void h_follow(sh_request *req, void *ud) {
    h_change(req, ud, 1);
}
static void h_unfollow(sh_request *req, void *ud) {
    h_change(req, ud, 0);
}

/* ---- followers / following --------------------------------------------------------------------- */

static void on_list(const sh_db_result *res, void *ud) {
    fctx *c = ud;
    if (!follow_live()) {
        free(c);
        return;
    }
    const sh_host_api *h = c->st->h;
    if (h->db_status(res) != SH_OK) {
        follow_respond_db(c->st, c->req, res);
    } else if (h->db_nrows(res) < 1) {
        h->respond_error(c->req, 404, "user_not_found", "No such user.", NULL);
    } else {
        h->respond_json(c->req, 200, follow_page_json(c->st, res, "users", 1, 0, c->limit, 'f'));
    }
    free(c);
}

static void h_list(sh_request *req, follow_state *st, int followers) {
    const char *name = st->h->req_param(req, "username");
    if (!follow_username_ok(name)) {
        st->h->respond_error(req, 404, "user_not_found", "No such user.", NULL);
        return;
    }
    int limit;
    int64_t before;
    if (follow_page_params(st, req, 'f', 20, &limit, &before) < 0) return;
    fctx *c = ctx_new(st, req);
    if (!c) return;
    c->limit = limit;
    char b[24], l[24];
    snprintf(b, sizeof b, "%" PRId64, before);
    snprintf(l, sizeof l, "%d", limit + 1);
    const char *p[3] = {name, before ? b : NULL, l};
    const char *sql = followers
                          ? "SELECT x.fid, x.user_json FROM (SELECT id FROM users WHERE lower(username) = lower($1)) t "
                            "LEFT JOIN LATERAL (SELECT f.id AS fid, " USER_JSON " AS user_json FROM follows f "
                            "JOIN users u ON u.id = f.follower_id WHERE f.following_id = t.id "
                            "AND ($2::bigint IS NULL OR f.id < $2::bigint) ORDER BY f.id DESC LIMIT $3::int) x ON true "
                            "ORDER BY x.fid DESC NULLS LAST"
                          : "SELECT x.fid, x.user_json FROM (SELECT id FROM users WHERE lower(username) = lower($1)) t "
                            "LEFT JOIN LATERAL (SELECT f.id AS fid, " USER_JSON " AS user_json FROM follows f "
                            "JOIN users u ON u.id = f.following_id WHERE f.follower_id = t.id "
                            "AND ($2::bigint IS NULL OR f.id < $2::bigint) ORDER BY f.id DESC LIMIT $3::int) x ON true "
                            "ORDER BY x.fid DESC NULLS LAST";
    if (st->h->db_query(st->self, sql, 3, p, on_list, c) == SH_ERR_NOMEM) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

static void h_followers(sh_request *req, void *ud) {
    h_list(req, ud, 1);
}
static void h_following(sh_request *req, void *ud) {
    h_list(req, ud, 0);
}

/* ---- live rooms of followed streamers ---------------------------------------------------------- */

static void on_live(const sh_db_result *res, void *ud) {
    fctx *c = ud;
    if (!follow_live()) {
        free(c);
        return;
    }
    const sh_host_api *h = c->st->h;
    if (h->db_status(res) != SH_OK) {
        follow_respond_db(c->st, c->req, res);
    } else {
        json_object *arr = json_object_new_array();
        for (int i = 0; i < h->db_nrows(res); i++) {
            json_object *o = json_tokener_parse(h->db_value(res, i, 0));
            if (o) json_object_array_add(arr, o);
        }
        json_object *out = json_object_new_object();
        json_object_object_add(out, "rooms", arr);
        h->respond_json(c->req, 200, out);
    }
    free(c);
}

/* rooms_public is the rooms plugin's read interface (a view it owns; see its migration). */
static void h_following_live(sh_request *req, void *ud) {
    follow_state *st = ud;
    fctx *c = ctx_new(st, req);
    if (!c) return;
    const char *p[1] = {c->uid};
    if (st->h->db_query(st->self,
                        "SELECT rp.room_json FROM follows f JOIN rooms_public rp ON rp.streamer_id = f.following_id "
                        "WHERE f.follower_id = $1::bigint AND rp.is_live "
                        "ORDER BY rp.viewer_count DESC, rp.pk DESC LIMIT 200",
                        1, p, on_live, c) == SH_ERR_NOMEM) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

int follow_routes(follow_state *st) {
    const sh_host_api *h = st->h;
    sh_plugin *p = st->self;
    if (h->http_route(p, "POST", "/api/users/:username/follow", SH_ROUTE_AUTH, h_follow, st) != SH_OK ||
        h->http_route(p, "DELETE", "/api/users/:username/follow", SH_ROUTE_AUTH, h_unfollow, st) != SH_OK ||
        h->http_route(p, "GET", "/api/users/:username/followers", 0, h_followers, st) != SH_OK ||
        h->http_route(p, "GET", "/api/users/:username/following", 0, h_following, st) != SH_OK ||
        h->http_route(p, "GET", "/api/users/me/following/live", SH_ROUTE_AUTH, h_following_live, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
