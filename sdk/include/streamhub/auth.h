/*
 * auth.h - the `auth` service (version 1.x) that the auth plugin provides.
 *
 * The host uses it for SH_ROUTE_AUTH routes and Socket.IO identity; other plugins use it to look
 * up users and stream keys. Get it with
 *     const sh_auth_api *auth = host->service_get(self, SH_AUTH_SERVICE, 1, 0);
 * and check `auth->size` before calling a function added in a later minor version.
 *
 * All functions are called on the loop and call back on the loop, exactly once, possibly before
 * they return (e.g. a token that fails its signature check). Strings handed to a callback are
 * borrowed for the duration of the call.
 */
#ifndef STREAMHUB_AUTH_H
#define STREAMHUB_AUTH_H

#include <stdint.h>
#include <stddef.h>

#define SH_AUTH_SERVICE "auth"
#define SH_AUTH_MAJOR 1
#define SH_AUTH_MINOR 0

/* Published on the event bus (with SH_BUS_CLUSTER) when a user's stream key is reset:
 * payload {"userId": <int>}. A publisher using the old key must be disconnected. */
#define SH_TOPIC_STREAM_KEY_RESET "auth.stream_key_reset"

typedef struct sh_identity {
    int64_t user_id; /* 0 = nobody */
    const char *username;
} sh_identity;

/* status: SH_OK with `who` filled; SH_ERR_INVALID for a bad/expired/revoked token or unknown
 * key; SH_ERR_UNAVAILABLE when the database is down. */
typedef void (*sh_auth_cb)(int status, const sh_identity *who, void *ud);

typedef struct sh_auth_api {
    size_t size;
    /* Verify a bearer token (signature, alg, exp, iss, aud, revocation). */
    void (*verify_token)(const char *token, sh_auth_cb cb, void *ud);
    /* Look up the user that owns a stream key (constant-time on the key's hash). */
    void (*user_by_stream_key)(const char *stream_key, sh_auth_cb cb, void *ud);
    /* Look up a user by id or by username (case-insensitive). */
    void (*user_by_id)(int64_t user_id, sh_auth_cb cb, void *ud);
    void (*user_by_name)(const char *username, sh_auth_cb cb, void *ud);
} sh_auth_api;

#endif
