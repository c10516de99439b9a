/*
 * service.c - the `auth` service (streamhub/auth.h) and token revocation.
 *
 * verify_token: the pure checks of tokens.c, then revocation: the local set, then (Redis
 * configured) GET <redis_prefix>revoked:<jti>. When Redis cannot answer, the local set decides
 * (fail open, logged at most once a minute) unless `revocation_fail_closed` is set, in which case
 * the caller gets SH_ERR_UNAVAILABLE (503).
 *
 * user_by_stream_key: the key's format, then a look-up by its SHA-256 (an indexed equality on
 * the hash: the key itself is never compared or sent to the database).
 *
 * Callbacks get SH_OK with the identity, SH_ERR_INVALID (bad/expired/revoked token, unknown key,
 * unknown user) or SH_ERR_UNAVAILABLE (database or, fail-closed, Redis down). Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/auth_plugin.h"
#include "plugins/auth/streamkey.h"
#include "plugins/auth/validate.h"

#define REDIS_WARN_EVERY_MS 60000

static void redis_key(const auth_state *st, const char *jti, char *out, size_t outlen) {
    snprintf(out, outlen, "%srevoked:%s", st->redis_prefix, jti);
}

static void warn_redis(auth_state *st, const char *what) {
    uint64_t now = st->host->now_ms(st->self);
    if (st->redis_warned_ms && now - st->redis_warned_ms < REDIS_WARN_EVERY_MS) return;
    st->redis_warned_ms = now ? now : 1;
    st->host->log(st->self, SH_LOG_WARN, "%s", what);
}

/* ---- verify_token ------------------------------------------------------------------------------ */

typedef struct verify_ctx {
    auth_state *st;
    sh_auth_cb cb;
    void *ud;
    auth_claims c;
} verify_ctx;

static void verify_ok(const auth_claims *c, sh_auth_cb cb, void *ud) {
    sh_identity who = {c->user_id, c->username};
    cb(SH_OK, &who, ud);
}

static void verify_fallback(auth_state *st, const auth_claims *c, sh_auth_cb cb, void *ud) {
    if (st->revocation_fail_closed) {
        warn_redis(st, "cannot check token revocation (Redis unavailable): refusing tokens (revocation_fail_closed)");
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    warn_redis(st, "cannot check token revocation in Redis; using this node's list only until it is back");
    verify_ok(c, cb, ud);
}

static void on_revoked_get(const sh_redis_reply *r, void *ud) {
    verify_ctx *v = ud;
    auth_state *st = v->st;
    int t = r ? st->host->redis_reply_type(r) : 0;
    if (t == SH_REDIS_NIL) {
        verify_ok(&v->c, v->cb, v->ud);
    } else if (t == SH_REDIS_STRING) {
        /* remember it here too: later checks on this node need no round trip */
        auth_revset_add(st->revoked, v->c.jti, v->c.exp, auth_now_s(st));
        v->cb(SH_ERR_INVALID, NULL, v->ud);
    } else {
        verify_fallback(st, &v->c, v->cb, v->ud);
    }
    free(v);
}

static void svc_verify_token(const char *token, sh_auth_cb cb, void *ud) {
    auth_state *st = auth_g;
    if (!st) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    auth_claims c;
    int64_t now = auth_now_s(st);
    int rc = auth_token_verify(&st->tok, token, now, &c);
    if (rc != AUTH_TOK_OK) {
        st->host->log(st->self, SH_LOG_DEBUG, "token refused: %s", auth_token_strerror(rc));
        cb(SH_ERR_INVALID, NULL, ud);
        return;
    }
    if (auth_revset_has(st->revoked, c.jti, now)) {
        cb(SH_ERR_INVALID, NULL, ud);
        return;
    }
    if (!st->host->redis_enabled(st->self)) {
        verify_ok(&c, cb, ud);
        return;
    }
    verify_ctx *v = malloc(sizeof *v);
    if (!v) {
        verify_fallback(st, &c, cb, ud);
        return;
    }
    v->st = st;
    v->cb = cb;
    v->ud = ud;
    v->c = c;
    char key[160];
    redis_key(st, c.jti, key, sizeof key);
    const char *argv[2] = {"GET", key};
    size_t lens[2] = {3, strlen(key)};
    if (st->host->redis_command(st->self, on_revoked_get, v, 2, argv, lens) == SH_ERR_NOMEM) {
        free(v);
        verify_fallback(st, &c, cb, ud);
    }
}

/* ---- revocation (logout) ----------------------------------------------------------------------- */

typedef struct revoke_ctx {
    auth_state *st;
    auth_revoke_cb cb;
    void *ud;
    int local_ok;
} revoke_ctx;

static void on_revoke_set(const sh_redis_reply *r, void *ud) {
    revoke_ctx *x = ud;
    auth_state *st = x->st;
    int t = r ? st->host->redis_reply_type(r) : 0;
    int status = SH_OK;
    if (t != SH_REDIS_STATUS) {
        warn_redis(st, "a logout could not be shared through Redis: the token is refused on this node only");
        if (!x->local_ok) status = SH_ERR_UNAVAILABLE;
    }
    x->cb(status, x->ud);
    free(x);
}

void auth_revoke(auth_state *st, const auth_claims *c, auth_revoke_cb cb, void *ud) {
    int64_t now = auth_now_s(st);
    int local_ok = auth_revset_add(st->revoked, c->jti, c->exp, now) == 0;
    if (!st->host->redis_enabled(st->self) || c->exp <= now) {
        cb(local_ok ? SH_OK : SH_ERR_UNAVAILABLE, ud);
        return;
    }
    revoke_ctx *x = malloc(sizeof *x);
    if (!x) {
        cb(local_ok ? SH_OK : SH_ERR_UNAVAILABLE, ud);
        return;
    }
    *x = (revoke_ctx){st, cb, ud, local_ok};
    char key[160], px[24];
    redis_key(st, c->jti, key, sizeof key);
    /* until the token's own expiry (+1 s of slack for clock skew between nodes) */
    uint64_t ms = (uint64_t)(c->exp - now + 1) * 1000u;
    snprintf(px, sizeof px, "%llu", (unsigned long long)ms);
    const char *argv[5] = {"SET", key, "1", "PX", px};
    size_t lens[5] = {3, strlen(key), 1, 2, strlen(px)};
    if (st->host->redis_command(st->self, on_revoke_set, x, 5, argv, lens) == SH_ERR_NOMEM) {
        free(x);
        cb(local_ok ? SH_OK : SH_ERR_UNAVAILABLE, ud);
    }
}

/* ---- look-ups ---------------------------------------------------------------------------------- */

typedef struct lookup_ctx {
    auth_state *st;
    sh_auth_cb cb;
    void *ud;
} lookup_ctx;

static void on_lookup(const sh_db_result *res, void *ud) {
    lookup_ctx *l = ud;
    const sh_host_api *h = l->st->host;
    int status = h->db_status(res);
    if (status != SH_OK) {
        if (status != SH_ERR_UNAVAILABLE)
            h->log(l->st->self, SH_LOG_ERROR, "user look-up failed: %s", h->db_error(res));
        l->cb(SH_ERR_UNAVAILABLE, NULL, l->ud);
    } else if (h->db_nrows(res) < 1) {
        l->cb(SH_ERR_INVALID, NULL, l->ud);
    } else {
        const char *id = h->db_value(res, 0, 0), *name = h->db_value(res, 0, 1);
        sh_identity who = {id ? strtoll(id, NULL, 10) : 0, name};
        l->cb(who.user_id > 0 ? SH_OK : SH_ERR_INVALID, who.user_id > 0 ? &who : NULL, l->ud);
    }
    free(l);
}

static void lookup(const char *sql, const char *param, sh_auth_cb cb, void *ud) {
    auth_state *st = auth_g;
    if (!st) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    lookup_ctx *l = malloc(sizeof *l);
    if (!l) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    *l = (lookup_ctx){st, cb, ud};
    const char *params[1] = {param};
    if (st->host->db_query(st->self, sql, 1, params, on_lookup, l) == SH_ERR_NOMEM) {
        free(l);
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
    }
}

static void svc_user_by_stream_key(const char *key, sh_auth_cb cb, void *ud) {
    char hash[SK_HASH_HEX + 1];
    if (!key || authv_stream_key(key, strnlen(key, 64)) != AUTHV_OK || sk_hash(key, strlen(key), hash) < 0) {
        cb(SH_ERR_INVALID, NULL, ud);
        return;
    }
    lookup("SELECT id, username FROM users WHERE stream_key_hash = $1", hash, cb, ud);
}

static void svc_user_by_id(int64_t user_id, sh_auth_cb cb, void *ud) {
    if (user_id <= 0) {
        cb(SH_ERR_INVALID, NULL, ud);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)user_id);
    lookup("SELECT id, username FROM users WHERE id = $1", id, cb, ud);
}

static void svc_user_by_name(const char *username, sh_auth_cb cb, void *ud) {
    if (!username || authv_username(username, strnlen(username, 64)) != AUTHV_OK) {
        cb(SH_ERR_INVALID, NULL, ud);
        return;
    }
    lookup("SELECT id, username FROM users WHERE lower(username) = lower($1)", username, cb, ud);
}

const sh_auth_api auth_service = {
    .size = sizeof(sh_auth_api),
    .verify_token = svc_verify_token,
    .user_by_stream_key = svc_user_by_stream_key,
    .user_by_id = svc_user_by_id,
    .user_by_name = svc_user_by_name,
};
