/*
 * auth_plugin.h - the auth plugin's shared state and the functions its files call on each other.
 *
 * Files (one concern each):
 *   auth.c            descriptor, settings, init/start/stop/fini, route and service registration
 *   routes_account.c  POST /api/auth/register, /login, /logout; GET /api/auth/me
 *   routes_users.c    GET /api/users/:username, PATCH /api/users/me, the stream-key routes
 *   service.c         the `auth` service table (verify_token, user_by_*), token revocation
 *   users.c           SQL column lists and user rows -> JSON; small response helpers
 *   passwords.c       bcrypt on the worker pool          (pure core + async wrappers)
 *   tokens.c          HS256 JWT issue/verify              (pure)
 *   streamkey.c       stream key make/hash/seal           (pure)
 *   revoke.c          the in-process revoked-jti set      (pure)
 *   validate.c        field rules                         (pure)
 *
 * There is exactly one instance (plugins are loaded once); `auth_g` points at it for the service
 * functions, whose signatures carry no plugin handle. Everything here runs on the loop thread.
 * Secrets (jwt_secret, the sealing key, stream keys, passwords, tokens) are never logged.
 */
#ifndef SH_AUTH_PLUGIN_H
#define SH_AUTH_PLUGIN_H

#include <stdint.h>
#include <streamhub/auth.h>
#include <streamhub/streamhub.h>

#include "plugins/auth/passwords.h"
#include "plugins/auth/revoke.h"
#include "plugins/auth/tokens.h"

typedef struct auth_state {
    sh_plugin *self;
    const sh_host_api *host;
    auth_token_cfg tok; /* key borrowed from the config (lives for the process) */
    unsigned char seal_key[32];
    unsigned bcrypt_cost;
    char dummy_hash[PW_HASH_LEN + 1]; /* verified against for unknown users */
    int login_ip_limit, login_account_limit, register_ip_limit;
    uint64_t login_window_ms, register_window_ms;
    int exempt_loopback;
    int revocation_fail_closed;
    const char *rtmp_url;
    const char *redis_prefix;
    auth_revset *revoked;
    sh_timer *sweep_timer;
    uint64_t redis_warned_ms; /* last "revocation check fell back" warning (throttled) */
    sh_metric *m_login_ok, *m_login_fail, *m_login_limited, *m_register_ok, *m_register_limited;
} auth_state;

extern auth_state *auth_g;

/* users.c ------------------------------------------------------------------------------------- */
/* The columns selected for a user: PUBLIC (any caller) and SELF (adds the e-mail address). */
#define AUTH_CREATED_AT "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS created_at"
#define AUTH_PUBLIC_COLS                                                                                               \
    "id, username, display_name, avatar_url, bio, is_streaming, follower_count, following_count, " AUTH_CREATED_AT
#define AUTH_SELF_COLS AUTH_PUBLIC_COLS ", email"

/* Row `row` of `res` as a user object (new reference). with_email: include "email" (only ever
 * for the user themself). NULL on out of memory. */
json_object *auth_user_json(const sh_host_api *host, const sh_db_result *res, int row, int with_email);
/* Unix seconds (wall clock). */
int64_t auth_now_s(const auth_state *st);
/* 429 rate_limited with Retry-After (seconds, rounded up, >= 1). */
void auth_respond_limited(const auth_state *st, sh_request *req, uint64_t retry_after_ms);
/* Answer a failed query: 503/500 via the host. */
void auth_respond_db(const auth_state *st, sh_request *req, const sh_db_result *res);
/* host->db_query for a request: 0 when cb will run; -1 when it will not (out of memory: then
 * 500 was answered and the caller frees its context). */
int auth_db(const auth_state *st, sh_request *req, const char *sql, int n, const char *const *params, sh_db_cb cb,
            void *ctx);
/* 1 when the request's client address is loopback and the plugin exempts loopback. */
int auth_ip_exempt(const auth_state *st, sh_request *req);
/* Issue a token for the user (fresh jti). malloc'd, or NULL. */
char *auth_issue_token(auth_state *st, int64_t user_id, const char *username);
/* {streamKey, rtmpUrl} from a sealed key and its hash; NULL when it cannot be opened. */
json_object *auth_stream_key_json(const auth_state *st, const char *sealed, const char *hash);
/* Make a fresh key: plain (>= SK_KEY_LEN+1), hash (>= SK_HASH_HEX+1), sealed (>= SK_SEAL_MAX).
 * 0 or -1. */
int auth_new_stream_key(auth_state *st, char *plain, char *hash, char *sealed);

/* routes_account.c / routes_users.c ----------------------------------------------------------- */
int auth_routes_account(auth_state *st);
int auth_routes_users(auth_state *st);

/* service.c ----------------------------------------------------------------------------------- */
extern const sh_auth_api auth_service;
/* Revoke a verified token's jti everywhere (local set + Redis when enabled). cb(status): SH_OK,
 * or SH_ERR_UNAVAILABLE when it could not be recorded anywhere. cb may run before this returns. */
typedef void (*auth_revoke_cb)(int status, void *ud);
void auth_revoke(auth_state *st, const auth_claims *c, auth_revoke_cb cb, void *ud);

#endif
