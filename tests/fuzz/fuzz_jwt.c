/*
 * tests/fuzz/fuzz_jwt.c - fuzz the auth plugin's bearer-token handling (plugins/auth/tokens.c:
 * our size/shape/header checks, libjwt 1.10.2's decoding and signature check, our claim checks)
 * with a fixed 44-byte secret, issuer/audience "streamhub", lifetime 7 days, clock NOW.
 *
 * Input: byte 0 picks the mode, the rest is its input.
 *   - mode 0: the bytes (cut at the first NUL, as a C string) are a token, verified as is.
 *   - mode 1: the bytes are "HEADER-JSON\nPAYLOAD-JSON" (no newline: the payload alone under
 *     {"alg":"HS256","typ":"JWT"}); byte 1 picks the signature: HMAC-SHA256/384/512 with the
 *     right key, HMAC-SHA256 with a wrong key, an empty or a junk signature. The token is
 *     base64url-encoded and signed here, so the fuzzer reaches the claim checks behind the
 *     signature.
 *   - mode 2: the bytes are a username, a user id and a clock offset: a token is issued, must
 *     verify with the same claims, must be refused once expired, and must be refused after one
 *     character of its header or payload is changed (byte 1 picks which and to what).
 * Checks: no crash, leak or read past the input (exact-size copies); verification returns one of
 * the AUTH_TOK_* codes; an accepted token had a header that decodes to exactly alg HS256 (typ
 * absent or "JWT") and an HMAC-SHA256 signature under the right key, and its claims are within
 * their rules (positive id, valid username, 32 hex digits of jti, iat <= now + leeway,
 * iat < exp <= iat + lifetime + leeway, now < exp).
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/auth/tokens.c"
#include "plugins/auth/validate.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

#define FZ_NOW    1700000000LL
#define FZ_SECRET "test-secret-0123456789abcdef0123456789abcdef"
#define FZ_TTL    604800

static const auth_token_cfg FZ_CFG = {(const unsigned char *)FZ_SECRET, sizeof FZ_SECRET - 1, "streamhub", "streamhub",
                                      FZ_TTL};

/* ---- helpers ------------------------------------------------------------------------------------ */

static char *fz_b64u(const uint8_t *in, size_t len) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(len * 4 / 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    FZ_CHECK(out != NULL);
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits) out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = 0;
    return out;
}

static int fz_rc_known(int rc) {
    return rc <= AUTH_TOK_OK && rc >= AUTH_TOK_CONFIG;
}

/* Verify a NUL-terminated token from an exact-size heap copy; check what an accepted one holds. */
static int fz_verify(const char *tok, int64_t now) {
    size_t n = strlen(tok);
    char *copy = malloc(n + 1);
    auth_claims c;
    FZ_CHECK(copy != NULL);
    memcpy(copy, tok, n + 1);
    memset(&c, 0x5a, sizeof c);
    int rc = auth_token_verify(&FZ_CFG, copy, now, &c);
    FZ_CHECK(fz_rc_known(rc));
    FZ_CHECK(auth_token_strerror(rc) != NULL);
    if (rc == AUTH_TOK_OK) {
        FZ_CHECK(n <= AUTH_TOKEN_MAX);
        FZ_CHECK(c.user_id > 0);
        FZ_CHECK(memchr(c.username, 0, sizeof c.username) != NULL);
        FZ_CHECK(authv_username(c.username, strlen(c.username)) == AUTHV_OK);
        FZ_CHECK(strlen(c.jti) == AUTH_JTI_HEX && authv_jti(c.jti, AUTH_JTI_HEX) == AUTHV_OK);
        FZ_CHECK(c.iat > 0 && c.iat <= now + AUTH_LEEWAY_S);
        FZ_CHECK(c.exp > c.iat && c.exp - c.iat <= FZ_TTL + AUTH_LEEWAY_S && now < c.exp);
    }
    free(copy);
    return rc;
}

/* base64url(header) "." base64url(payload) "." signature, the signature picked by `how`. */
static char *fz_forge(const uint8_t *h, size_t hn, const uint8_t *p, size_t pn, uint8_t how) {
    char *hb = fz_b64u(h, hn), *pb = fz_b64u(p, pn);
    size_t sn = strlen(hb) + strlen(pb) + 2;
    char *signing = malloc(sn);
    FZ_CHECK(signing != NULL);
    snprintf(signing, sn, "%s.%s", hb, pb);
    const EVP_MD *md = NULL;
    const char *key = FZ_SECRET;
    char *sig = NULL;
    switch (how % 6) {
    case 0:
        md = EVP_sha256();
        break;
    case 1:
        md = EVP_sha384();
        break;
    case 2:
        md = EVP_sha512();
        break;
    case 3:
        md = EVP_sha256();
        key = "another-secret-0123456789abcdef0123456789abc";
        break;
    case 4:
        sig = strdup("");
        break;
    default:
        sig = strdup("c2lnbmF0dXJl");
        break;
    }
    if (md) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned maclen = 0;
        FZ_CHECK(HMAC(md, key, (int)strlen(key), (const unsigned char *)signing, strlen(signing), mac, &maclen));
        sig = fz_b64u(mac, maclen);
    }
    FZ_CHECK(sig != NULL);
    size_t tn = strlen(signing) + strlen(sig) + 2;
    char *tok = malloc(tn);
    FZ_CHECK(tok != NULL);
    snprintf(tok, tn, "%s.%s", signing, sig);
    free(hb);
    free(pb);
    free(signing);
    free(sig);
    return tok;
}

/* ---- modes -------------------------------------------------------------------------------------- */

static void fz_raw(const uint8_t *p, size_t n) {
    char *s = malloc(n + 1); /* exact size: a read past the terminator is caught */
    FZ_CHECK(s != NULL);
    memcpy(s, p, n);
    s[n] = 0;
    fz_verify(s, FZ_NOW);
    free(s);
}

static void fz_forged(const uint8_t *p, size_t n) {
    static const char def_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    if (n < 1) return;
    uint8_t how = p[0];
    p++;
    n--;
    const uint8_t *nl = memchr(p, '\n', n);
    const uint8_t *h = (const uint8_t *)def_hdr, *pl = p;
    size_t hn = sizeof def_hdr - 1, pn = n;
    if (nl) {
        h = p;
        hn = (size_t)(nl - p);
        pl = nl + 1;
        pn = n - hn - 1;
    }
    char *tok = fz_forge(h, hn, pl, pn, how);
    int rc = fz_verify(tok, FZ_NOW);
    if (rc == AUTH_TOK_OK) {
        /* only HS256 under the right key gets in ... */
        FZ_CHECK(how % 6 == 0);
        /* ... with a header that is exactly {"alg":"HS256"} (typ absent or "JWT") */
        json_tokener *tk = json_tokener_new_ex(4);
        FZ_CHECK(tk != NULL);
        json_object *o = json_tokener_parse_ex(tk, (const char *)h, (int)hn);
        FZ_CHECK(o && json_object_is_type(o, json_type_object));
        json_object *alg = NULL, *typ = NULL;
        FZ_CHECK(json_object_object_get_ex(o, "alg", &alg) && json_object_is_type(alg, json_type_string) &&
                 strcmp(json_object_get_string(alg), "HS256") == 0);
        FZ_CHECK(!json_object_object_get_ex(o, "typ", &typ) ||
                 (json_object_is_type(typ, json_type_string) && strcmp(json_object_get_string(typ), "JWT") == 0));
        json_object_put(o);
        json_tokener_free(tk);
        /* and the same token is refused after its lifetime */
        FZ_CHECK(fz_verify(tok, FZ_NOW + FZ_TTL + AUTH_LEEWAY_S + 1) != AUTH_TOK_OK);
    }
    free(tok);
}

static void fz_issue(const uint8_t *p, size_t n) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (n < 11) return;
    uint8_t edit = p[0];
    int64_t uid = 0;
    for (int i = 0; i < 8; i++)
        uid = (int64_t)((uint64_t)uid << 8 | p[1 + i]);
    int64_t skew = (int8_t)p[9]; /* the verifier's clock, seconds after issue */
    unsigned char jti[16];
    for (int i = 0; i < 16; i++)
        jti[i] = (unsigned char)(p[10] * 31 + i);
    char user[40];
    size_t un = n - 11 < sizeof user - 1 ? n - 11 : sizeof user - 1;
    memcpy(user, p + 11, un);
    user[un] = 0;

    auth_claims made;
    memset(&made, 0, sizeof made);
    char *tok = auth_token_issue(&FZ_CFG, uid, user, jti, FZ_NOW, &made);
    if (!tok) {
        FZ_CHECK(uid <= 0 || authv_username(user, strlen(user)) != AUTHV_OK);
        return;
    }
    FZ_CHECK(uid > 0 && authv_username(user, strlen(user)) == AUTHV_OK);
    auth_claims got;
    FZ_CHECK(auth_token_verify(&FZ_CFG, tok, FZ_NOW + (skew < 0 ? 0 : skew), &got) == AUTH_TOK_OK);
    FZ_CHECK(memcmp(&got, &made, sizeof got) == 0 && got.user_id == uid && strcmp(got.username, user) == 0);
    FZ_CHECK(auth_token_verify(&FZ_CFG, tok, FZ_NOW + FZ_TTL, NULL) == AUTH_TOK_EXPIRED);
    FZ_CHECK(auth_token_verify(&FZ_CFG, tok, FZ_NOW - AUTH_LEEWAY_S - 1, NULL) == AUTH_TOK_BAD_IAT);

    /* one character of the signed part changed: never accepted */
    size_t signed_len = (size_t)(strrchr(tok, '.') - tok);
    size_t at = (size_t)edit * 7 % signed_len;
    if (tok[at] != '.') {
        char was = tok[at];
        char now = b64[(strchr(b64, was) - b64 + 1 + edit % 63) % 64];
        tok[at] = now;
        int rc = fz_verify(tok, FZ_NOW);
        FZ_CHECK(rc != AUTH_TOK_OK);
        tok[at] = was;
    }
    free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1); /* exact-size copy: reads past the end are caught */
    FZ_CHECK(p != NULL);
    memcpy(p, data + 1, n);
    switch (data[0] % 3) {
    case 0:
        fz_raw(p, n);
        break;
    case 1:
        fz_forged(p, n);
        break;
    default:
        fz_issue(p, n);
        break;
    }
    free(p);
    return 0;
}
