/*
 * users.c - user rows to JSON, and the small helpers shared by the route files (see
 * auth_plugin.h). Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/auth_plugin.h"
#include "plugins/auth/streamkey.h"

static const char *col(const sh_host_api *h, const sh_db_result *res, int row, const char *name) {
    int c = h->db_col(res, name);
    return c < 0 ? NULL : h->db_value(res, row, c);
}

static void put_str(json_object *o, const char *key, const char *v, int null_if_empty) {
    if (!v || (null_if_empty && !*v))
        json_object_object_add(o, key, NULL);
    else
        json_object_object_add(o, key, json_object_new_string(v));
}

static void put_int(json_object *o, const char *key, const char *v) {
    json_object_object_add(o, key, json_object_new_int64(v ? strtoll(v, NULL, 10) : 0));
}

json_object *auth_user_json(const sh_host_api *h, const sh_db_result *res, int row, int with_email) {
    json_object *u = json_object_new_object();
    if (!u) return NULL;
    put_int(u, "id", col(h, res, row, "id"));
    put_str(u, "username", col(h, res, row, "username"), 0);
    if (with_email) put_str(u, "email", col(h, res, row, "email"), 0);
    put_str(u, "displayName", col(h, res, row, "display_name"), 0);
    put_str(u, "avatarUrl", col(h, res, row, "avatar_url"), 1);
    put_str(u, "bio", col(h, res, row, "bio"), 0);
    const char *live = col(h, res, row, "is_streaming");
    json_object_object_add(u, "isStreaming", json_object_new_boolean(live && live[0] == 't'));
    put_int(u, "followerCount", col(h, res, row, "follower_count"));
    put_int(u, "followingCount", col(h, res, row, "following_count"));
    put_str(u, "createdAt", col(h, res, row, "created_at"), 0);
    return u;
}

int64_t auth_now_s(const auth_state *st) {
    return (int64_t)(st->host->wall_ms(st->self) / 1000u);
}

void auth_respond_limited(const auth_state *st, sh_request *req, uint64_t retry_after_ms) {
    char ra[24];
    uint64_t s = (retry_after_ms + 999) / 1000;
    snprintf(ra, sizeof ra, "%llu", (unsigned long long)(s ? s : 1));
    st->host->resp_header(req, "Retry-After", ra);
    st->host->respond_error(req, 429, "rate_limited", "Too many attempts; try again later.", NULL);
}

void auth_respond_db(const auth_state *st, sh_request *req, const sh_db_result *res) {
    if (st->host->db_status(res) != SH_ERR_UNAVAILABLE)
        st->host->log(st->self, SH_LOG_ERROR, "query failed: %s", st->host->db_error(res));
    st->host->respond_db_error(req, res);
}

int auth_db(const auth_state *st, sh_request *req, const char *sql, int n, const char *const *params, sh_db_cb cb,
            void *ctx) {
    if (st->host->db_query(st->self, sql, n, params, cb, ctx) != SH_ERR_NOMEM) return 0;
    st->host->respond_error(req, 500, "internal", "Out of memory.", NULL);
    return -1;
}

int auth_ip_exempt(const auth_state *st, sh_request *req) {
    if (!st->exempt_loopback) return 0;
    const char *ip = st->host->req_remote_addr(req);
    return ip && (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0);
}

char *auth_issue_token(auth_state *st, int64_t user_id, const char *username) {
    unsigned char jti[16];
    if (st->host->random_bytes(st->self, jti, sizeof jti) != SH_OK) return NULL;
    return auth_token_issue(&st->tok, user_id, username, jti, auth_now_s(st), NULL);
}

json_object *auth_stream_key_json(const auth_state *st, const char *sealed, const char *hash) {
    char plain[SK_KEY_LEN + 1];
    if (!sealed || !hash || sk_open(st->seal_key, sealed, hash, plain, sizeof plain) < 0) return NULL;
    json_object *o = json_object_new_object();
    if (o) {
        json_object_object_add(o, "streamKey", json_object_new_string(plain));
        json_object_object_add(o, "rtmpUrl", json_object_new_string(st->rtmp_url));
    }
    explicit_bzero(plain, sizeof plain);
    return o;
}

int auth_new_stream_key(auth_state *st, char *plain, char *hash, char *sealed) {
    unsigned char rnd[SK_RAND_BYTES], nonce[12];
    int rc = -1;
    if (st->host->random_bytes(st->self, rnd, sizeof rnd) != SH_OK ||
        st->host->random_bytes(st->self, nonce, sizeof nonce) != SH_OK)
        goto out;
    sk_make(rnd, plain);
    if (sk_hash(plain, SK_KEY_LEN, hash) < 0 || sk_seal(st->seal_key, nonce, plain, hash, sealed, SK_SEAL_MAX) < 0)
        goto out;
    rc = 0;
out:
    explicit_bzero(rnd, sizeof rnd);
    return rc;
}
