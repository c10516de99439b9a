/*
 * routes_users.c - GET /api/users/:username (public profile), PATCH /api/users/me,
 * GET /api/users/me/stream-key, POST /api/users/me/stream-key/reset (see docs/API.md).
 *
 * The public profile selects only public columns (never the e-mail address or anything about the
 * stream key). Stream keys are answered with Cache-Control: no-store and never logged; a reset
 * replaces hash and sealed key in one UPDATE (the old key stops matching at once) and publishes
 * SH_TOPIC_STREAM_KEY_RESET {"userId"} to every node so that a live publisher is dropped.
 * Loop thread.
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/auth_plugin.h"
#include "plugins/auth/streamkey.h"
#include "plugins/auth/validate.h"

typedef struct user_ctx {
    auth_state *st;
    sh_request *req;
    char key[SK_KEY_LEN + 1]; /* reset: the new plain key, until answered */
    int64_t user_id;
} user_ctx;

static user_ctx *ctx_new(auth_state *st, sh_request *req) {
    user_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        st->host->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return NULL;
    }
    c->st = st;
    c->req = req;
    c->user_id = st->host->req_user_id(req);
    return c;
}

static void ctx_free(user_ctx *c) {
    explicit_bzero(c, sizeof *c);
    free(c);
}

static void respond_user(auth_state *st, sh_request *req, const sh_db_result *res, int with_email) {
    const sh_host_api *h = st->host;
    if (h->db_status(res) != SH_OK) {
        auth_respond_db(st, req, res);
    } else if (h->db_nrows(res) != 1) {
        h->respond_error(req, 404, "user_not_found", "No such user.", NULL);
    } else {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "user", auth_user_json(h, res, 0, with_email));
        if (with_email) h->resp_header(req, "Cache-Control", "no-store");
        h->respond_json(req, 200, o);
    }
}

/* ---- GET /api/users/:username ------------------------------------------------------------------ */

static void on_profile(const sh_db_result *res, void *ud) {
    user_ctx *c = ud;
    respond_user(c->st, c->req, res, 0);
    ctx_free(c);
}

static void h_profile(sh_request *req, void *ud) {
    auth_state *st = ud;
    const char *name = st->host->req_param(req, "username");
    if (!name || authv_username(name, strlen(name)) != AUTHV_OK) {
        st->host->respond_error(req, 404, "user_not_found", "No such user.", NULL);
        return;
    }
    user_ctx *c = ctx_new(st, req);
    if (!c) return;
    const char *params[1] = {name};
    if (auth_db(st, req, "SELECT " AUTH_PUBLIC_COLS " FROM users WHERE lower(username) = lower($1)", 1, params,
                on_profile, c) < 0)
        ctx_free(c);
}

/* ---- PATCH /api/users/me ----------------------------------------------------------------------- */

static void on_patched(const sh_db_result *res, void *ud) {
    user_ctx *c = ud;
    respond_user(c->st, c->req, res, 1);
    ctx_free(c);
}

static void h_patch_me(sh_request *req, void *ud) {
    auth_state *st = ud;
    const sh_host_api *h = st->host;
    json_object *body = h->req_json(req);
    if (!body) return;
    const char *display = NULL, *bio = NULL, *avatar = NULL;
    if (h->json_str(req, body, "displayName", 1, AUTH_DISPLAY_NAME_MAX, SH_JSON_OPTIONAL, &display) < 0) return;
    if (h->json_str(req, body, "bio", 0, AUTH_BIO_MAX, SH_JSON_OPTIONAL | SH_JSON_MULTILINE, &bio) < 0) return;
    if (h->json_str(req, body, "avatarUrl", 0, AUTH_AVATAR_URL_MAX, SH_JSON_OPTIONAL, &avatar) < 0) return;
    if (avatar && authv_avatar_url(avatar, strlen(avatar)) != AUTHV_OK) {
        h->respond_error(req, 400, "invalid_field", authv_message("avatarUrl", AUTHV_BAD_FORMAT), "avatarUrl");
        return;
    }
    user_ctx *c = ctx_new(st, req);
    if (!c) return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->user_id);
    const char *params[4] = {id, display, bio, avatar};
    if (auth_db(st, req,
                "UPDATE users SET display_name = COALESCE($2, display_name), bio = COALESCE($3, bio), "
                "avatar_url = CASE WHEN $4::text IS NULL THEN avatar_url WHEN $4::text = '' THEN NULL "
                "ELSE $4::text END WHERE id = $1 RETURNING " AUTH_SELF_COLS,
                4, params, on_patched, c) < 0)
        ctx_free(c);
}

/* ---- stream key -------------------------------------------------------------------------------- */

static void respond_key_json(auth_state *st, sh_request *req, json_object *o) {
    st->host->resp_header(req, "Cache-Control", "no-store");
    st->host->respond_json(req, 200, o);
}

static void on_stream_key(const sh_db_result *res, void *ud) {
    user_ctx *c = ud;
    auth_state *st = c->st;
    const sh_host_api *h = st->host;
    if (h->db_status(res) != SH_OK) {
        auth_respond_db(st, c->req, res);
    } else if (h->db_nrows(res) != 1) {
        h->respond_error(c->req, 401, "invalid_token", "This account no longer exists.", NULL);
    } else {
        json_object *o = auth_stream_key_json(st, h->db_value(res, 0, 0), h->db_value(res, 0, 1));
        if (o) {
            respond_key_json(st, c->req, o);
        } else {
            h->log(st->self, SH_LOG_WARN,
                   "user %lld: the stored stream key cannot be opened (was the sealing secret changed?)",
                   (long long)c->user_id);
            h->respond_error(c->req, 409, "stream_key_unavailable",
                             "The stored stream key cannot be shown; reset it to get a new one.", NULL);
        }
    }
    ctx_free(c);
}

static void h_stream_key(sh_request *req, void *ud) {
    auth_state *st = ud;
    user_ctx *c = ctx_new(st, req);
    if (!c) return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)c->user_id);
    const char *params[1] = {id};
    if (auth_db(st, req, "SELECT stream_key_enc, stream_key_hash FROM users WHERE id = $1", 1, params, on_stream_key,
                c) < 0)
        ctx_free(c);
}

static void on_stream_key_reset(const sh_db_result *res, void *ud) {
    user_ctx *c = ud;
    auth_state *st = c->st;
    const sh_host_api *h = st->host;
    if (h->db_status(res) != SH_OK) {
        auth_respond_db(st, c->req, res);
    } else if (h->db_nrows(res) != 1) {
        h->respond_error(c->req, 401, "invalid_token", "This account no longer exists.", NULL);
    } else {
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "userId", json_object_new_int64(c->user_id));
        if (h->bus_publish(st->self, SH_TOPIC_STREAM_KEY_RESET, ev, SH_BUS_CLUSTER) != SH_OK)
            h->log(st->self, SH_LOG_WARN, "user %lld: could not announce a stream key reset", (long long)c->user_id);
        h->log(st->self, SH_LOG_INFO, "user %lld reset their stream key", (long long)c->user_id);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "streamKey", json_object_new_string(c->key));
        json_object_object_add(o, "rtmpUrl", json_object_new_string(st->rtmp_url));
        respond_key_json(st, c->req, o);
    }
    ctx_free(c);
}

static void h_stream_key_reset(sh_request *req, void *ud) {
    auth_state *st = ud;
    user_ctx *c = ctx_new(st, req);
    if (!c) return;
    char hash[SK_HASH_HEX + 1], sealed[SK_SEAL_MAX], id[24];
    if (auth_new_stream_key(st, c->key, hash, sealed) < 0) {
        st->host->respond_error(req, 500, "internal", "Something went wrong; try again.", NULL);
        ctx_free(c);
        return;
    }
    snprintf(id, sizeof id, "%lld", (long long)c->user_id);
    const char *params[3] = {id, hash, sealed};
    if (auth_db(st, req, "UPDATE users SET stream_key_hash = $2, stream_key_enc = $3 WHERE id = $1 RETURNING id", 3,
                params, on_stream_key_reset, c) < 0)
        ctx_free(c);
}

int auth_routes_users(auth_state *st) {
    const sh_host_api *h = st->host;
    if (h->http_route(st->self, "GET", "/api/users/:username", 0, h_profile, st) != SH_OK ||
        h->http_route(st->self, "PATCH", "/api/users/me", SH_ROUTE_AUTH, h_patch_me, st) != SH_OK ||
        h->http_route(st->self, "GET", "/api/users/me/stream-key", SH_ROUTE_AUTH, h_stream_key, st) != SH_OK ||
        h->http_route(st->self, "POST", "/api/users/me/stream-key/reset", SH_ROUTE_AUTH, h_stream_key_reset, st) !=
            SH_OK)
        return SH_ERR;
    return SH_OK;
}
