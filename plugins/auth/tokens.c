/*
 * tokens.c - see tokens.h.
 */
#include "plugins/auth/tokens.h"

#include <errno.h>
#include <json-c/json.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/validate.h"

const char *auth_token_strerror(int code) {
    switch (code) {
    case AUTH_TOK_OK:
        return "ok";
    case AUTH_TOK_EMPTY:
        return "empty";
    case AUTH_TOK_TOO_LONG:
        return "too long";
    case AUTH_TOK_MALFORMED:
        return "malformed";
    case AUTH_TOK_BAD_SIGNATURE:
        return "bad signature";
    case AUTH_TOK_BAD_ALG:
        return "algorithm not HS256";
    case AUTH_TOK_BAD_ISS:
        return "wrong issuer";
    case AUTH_TOK_BAD_AUD:
        return "wrong audience";
    case AUTH_TOK_BAD_SUB:
        return "bad subject";
    case AUTH_TOK_BAD_IAT:
        return "bad issued-at";
    case AUTH_TOK_EXPIRED:
        return "expired";
    case AUTH_TOK_BAD_EXP:
        return "bad expiry";
    case AUTH_TOK_BAD_JTI:
        return "bad token id";
    case AUTH_TOK_BAD_USERNAME:
        return "bad username";
    case AUTH_TOK_CONFIG:
        return "key too short";
    default:
        return "unknown";
    }
}

static int cfg_ok(const auth_token_cfg *cfg) {
    return cfg && cfg->key && cfg->keylen >= AUTH_SECRET_MIN && cfg->issuer && cfg->audience && cfg->ttl_s > 0;
}

char *auth_token_issue(const auth_token_cfg *cfg, int64_t user_id, const char *username,
                       const unsigned char jti_rand[16], int64_t now_s, auth_claims *out) {
    if (!cfg_ok(cfg) || user_id <= 0 || !username || authv_username(username, strlen(username)) != AUTHV_OK ||
        !jti_rand)
        return NULL;
    auth_claims c = {.user_id = user_id, .iat = now_s, .exp = now_s + cfg->ttl_s};
    snprintf(c.username, sizeof c.username, "%s", username);
    for (int i = 0; i < 16; i++)
        snprintf(c.jti + 2 * i, 3, "%02x", jti_rand[i]);
    char sub[24];
    snprintf(sub, sizeof sub, "%lld", (long long)user_id);

    jwt_t *jwt = NULL;
    char *tok = NULL;
    if (jwt_new(&jwt) != 0) return NULL;
    if (jwt_add_grant(jwt, "iss", cfg->issuer) || jwt_add_grant(jwt, "aud", cfg->audience) ||
        jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "username", c.username) ||
        jwt_add_grant_int(jwt, "iat", (long)c.iat) || jwt_add_grant_int(jwt, "exp", (long)c.exp) ||
        jwt_add_grant(jwt, "jti", c.jti) || jwt_set_alg(jwt, JWT_ALG_HS256, cfg->key, (int)cfg->keylen))
        goto out;
    tok = jwt_encode_str(jwt);
    if (tok && out) *out = c;
out:
    jwt_free(jwt);
    return tok;
}

/* ---- our own look at the header, before libjwt ------------------------------------------------- */

static int b64url_val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

/* Decode unpadded base64url (len chars) into out (>= len*3/4 + 1 bytes). Returns bytes or -1. */
static long b64url_decode(const char *in, size_t len, unsigned char *out) {
    if (len % 4 == 1) return -1;
    unsigned acc = 0;
    int bits = 0;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_val((unsigned char)in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return n;
}

/* 0 if the header (base64url, hlen chars) is exactly an HS256 JWT header. */
static int header_check(const char *h, size_t hlen) {
    unsigned char buf[AUTH_TOKEN_MAX];
    long n = b64url_decode(h, hlen, buf);
    if (n <= 0) return AUTH_TOK_MALFORMED;
    json_tokener *tk = json_tokener_new_ex(4);
    if (!tk) return AUTH_TOK_MALFORMED;
    json_object *o = json_tokener_parse_ex(tk, (const char *)buf, (int)n);
    int good = json_tokener_get_error(tk) == json_tokener_success && tk->char_offset == (int)n;
    json_tokener_free(tk);
    int rc = AUTH_TOK_MALFORMED;
    json_object *alg = NULL, *typ = NULL;
    if (!good || !o || !json_object_is_type(o, json_type_object)) goto out;
    if (!json_object_object_get_ex(o, "alg", &alg) || !json_object_is_type(alg, json_type_string)) goto out;
    if (strcmp(json_object_get_string(alg), "HS256") != 0) {
        rc = AUTH_TOK_BAD_ALG;
        goto out;
    }
    if (json_object_object_get_ex(o, "typ", &typ) &&
        (!json_object_is_type(typ, json_type_string) || strcmp(json_object_get_string(typ), "JWT") != 0))
        goto out;
    rc = AUTH_TOK_OK;
out:
    json_object_put(o);
    return rc;
}

/* Shape: [A-Za-z0-9_-]+ '.' [A-Za-z0-9_-]+ '.' [A-Za-z0-9_-]+ ; sets the header length. */
static int shape_check(const char *t, size_t len, size_t *hlen) {
    size_t dots[2], nd = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] == '.') {
            if (nd == 2) return AUTH_TOK_MALFORMED;
            dots[nd++] = i;
        } else if (b64url_val((unsigned char)t[i]) < 0) {
            return AUTH_TOK_MALFORMED;
        }
    }
    if (nd != 2 || dots[0] == 0 || dots[1] == dots[0] + 1) return AUTH_TOK_MALFORMED;
    if (dots[1] + 1 == len) return AUTH_TOK_BAD_SIGNATURE; /* an empty signature: "alg none" style */
    *hlen = dots[0];
    return AUTH_TOK_OK;
}

static int get_int(jwt_t *jwt, const char *name, int64_t *out) {
    errno = 0;
    long v = jwt_get_grant_int(jwt, name);
    if (errno != 0) return -1;
    *out = (int64_t)v;
    return 0;
}

int auth_token_verify(const auth_token_cfg *cfg, const char *token, int64_t now_s, auth_claims *out) {
    if (!cfg_ok(cfg)) return AUTH_TOK_CONFIG;
    if (!token || !*token) return AUTH_TOK_EMPTY;
    size_t len = strnlen(token, AUTH_TOKEN_MAX + 1);
    if (len > AUTH_TOKEN_MAX) return AUTH_TOK_TOO_LONG;
    size_t hlen = 0;
    int rc = shape_check(token, len, &hlen);
    if (rc != AUTH_TOK_OK) return rc;
    if ((rc = header_check(token, hlen)) != AUTH_TOK_OK) return rc;

    jwt_t *jwt = NULL;
    if (jwt_decode(&jwt, token, cfg->key, (int)cfg->keylen) != 0 || !jwt) {
        jwt_free(jwt);
        return AUTH_TOK_BAD_SIGNATURE;
    }
    auth_claims c;
    memset(&c, 0, sizeof c);
    const char *s;
    if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
        rc = AUTH_TOK_BAD_ALG;
        goto out;
    }
    if (!(s = jwt_get_grant(jwt, "iss")) || strcmp(s, cfg->issuer) != 0) {
        rc = AUTH_TOK_BAD_ISS;
        goto out;
    }
    if (!(s = jwt_get_grant(jwt, "aud")) || strcmp(s, cfg->audience) != 0) {
        rc = AUTH_TOK_BAD_AUD;
        goto out;
    }
    long long uid = 0;
    if (!(s = jwt_get_grant(jwt, "sub")) || authv_user_id(s, strlen(s), &uid) != AUTHV_OK) {
        rc = AUTH_TOK_BAD_SUB;
        goto out;
    }
    c.user_id = (int64_t)uid;
    if (!(s = jwt_get_grant(jwt, "username")) || authv_username(s, strlen(s)) != AUTHV_OK) {
        rc = AUTH_TOK_BAD_USERNAME;
        goto out;
    }
    snprintf(c.username, sizeof c.username, "%s", s);
    if (!(s = jwt_get_grant(jwt, "jti")) || authv_jti(s, strlen(s)) != AUTHV_OK) {
        rc = AUTH_TOK_BAD_JTI;
        goto out;
    }
    memcpy(c.jti, s, AUTH_JTI_HEX + 1);
    if (get_int(jwt, "iat", &c.iat) < 0 || c.iat <= 0 || c.iat > now_s + AUTH_LEEWAY_S) {
        rc = AUTH_TOK_BAD_IAT;
        goto out;
    }
    if (get_int(jwt, "exp", &c.exp) < 0 || c.exp <= c.iat || c.exp - c.iat > cfg->ttl_s + AUTH_LEEWAY_S) {
        rc = AUTH_TOK_BAD_EXP;
        goto out;
    }
    if (now_s >= c.exp) {
        rc = AUTH_TOK_EXPIRED;
        goto out;
    }
    rc = AUTH_TOK_OK;
    if (out) *out = c;
out:
    jwt_free(jwt);
    return rc;
}
