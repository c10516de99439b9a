/*
 * tokens.h - the auth plugin's bearer tokens: HS256 JWTs through libjwt 1.10.2.
 *
 * A token carries iss, aud, sub (the user id, a decimal string), username, iat, exp and jti (128
 * random bits as 32 hex digits, the handle for revocation). Verification is ours, not libjwt's:
 *   - size (<= AUTH_TOKEN_MAX bytes) and shape (three base64url parts, a non-empty signature)
 *     are checked before anything is decoded;
 *   - libjwt checks the signature with our key, but it trusts the header's alg, so the alg must be
 *     HS256 (alg "none", HS384/512, RS*, ES* are all refused);
 *   - the header is also read by us first: it must be {"alg":"HS256"} (typ absent or "JWT");
 *   - iss and aud must equal the configured ones (aud a string, not a list); sub must be a
 *     positive decimal id; username a valid username; jti 32 lowercase hex digits;
 *     iat <= now + leeway; exp > now; iat < exp <= iat + the configured lifetime (+ leeway).
 * Revocation (the jti) is checked by the caller (revoke.h).
 *
 * Pure: the key and clock come in as arguments; no globals, any thread (libjwt allocates).
 */
#ifndef SH_AUTH_TOKENS_H
#define SH_AUTH_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_MAX  4096 /* bytes; anything longer is refused unread */
#define AUTH_SECRET_MIN 32   /* bytes of HS256 key, at least */
#define AUTH_JTI_HEX    32
#define AUTH_LEEWAY_S   60 /* clock skew allowed on iat */

typedef struct auth_token_cfg {
    const unsigned char *key; /* borrowed; >= AUTH_SECRET_MIN bytes */
    size_t keylen;
    const char *issuer;   /* borrowed */
    const char *audience; /* borrowed */
    int64_t ttl_s;        /* lifetime of issued tokens */
} auth_token_cfg;

typedef struct auth_claims {
    int64_t user_id;
    char username[32];
    char jti[AUTH_JTI_HEX + 1];
    int64_t iat, exp;
} auth_claims;

enum {
    AUTH_TOK_OK = 0,
    AUTH_TOK_EMPTY = -1,
    AUTH_TOK_TOO_LONG = -2,
    AUTH_TOK_MALFORMED = -3, /* not three base64url parts, or libjwt could not parse it */
    AUTH_TOK_BAD_SIGNATURE = -4,
    AUTH_TOK_BAD_ALG = -5,
    AUTH_TOK_BAD_ISS = -6,
    AUTH_TOK_BAD_AUD = -7,
    AUTH_TOK_BAD_SUB = -8,
    AUTH_TOK_BAD_IAT = -9,
    AUTH_TOK_EXPIRED = -10,
    AUTH_TOK_BAD_EXP = -11,
    AUTH_TOK_BAD_JTI = -12,
    AUTH_TOK_BAD_USERNAME = -13,
    AUTH_TOK_CONFIG = -14, /* the key is too short (never sign or accept anything then) */
};

/* Issue a token for (user_id, username) at `now_s` (Unix seconds) with jti from 16 random bytes.
 * Returns a malloc'd string (the caller frees it), or NULL. Fills *out (may be NULL). */
char *auth_token_issue(const auth_token_cfg *cfg, int64_t user_id, const char *username,
                       const unsigned char jti_rand[16], int64_t now_s, auth_claims *out);

/* Verify `token` (NUL-terminated, any length) at `now_s`. AUTH_TOK_OK with *out filled, or the
 * first check that failed. */
int auth_token_verify(const auth_token_cfg *cfg, const char *token, int64_t now_s, auth_claims *out);

/* A short name for an AUTH_TOK_* code, for debug logs (never log the token itself). */
const char *auth_token_strerror(int code);

#endif
