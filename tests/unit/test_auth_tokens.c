/*
 * test_auth_tokens.c - the auth plugin's pure parts: JWT issue/verify (claims, alg pinning,
 * expiry, issuer, audience, size), the revoked-jti set, bcrypt hashing and password rules, field
 * validation and stream keys. No host: these files take their keys and clocks as arguments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "plugins/auth/passwords.c"
#include "plugins/auth/revoke.c"
#include "plugins/auth/streamkey.c"
#include "plugins/auth/tokens.c"
#include "plugins/auth/validate.c"

#define NOW    1700000000LL
#define SECRET "test-secret-0123456789abcdef0123456789abcdef"

static const auth_token_cfg CFG = {(const unsigned char *)SECRET, sizeof SECRET - 1, "streamhub", "streamhub", 604800};
static const unsigned char JTI[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

/* ---- helpers: hand-made tokens ---------------------------------------------------------------- */

static char *t_b64u(const void *data, size_t len) {
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    char *out = malloc(len * 4 / 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
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

/* header.payload.signature with the signature made by `md` (NULL: empty signature) under key. */
static char *forge(const char *header, const char *payload, const EVP_MD *md, const char *key) {
    char *h = t_b64u(header, strlen(header)), *p = t_b64u(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2;
    char *signing = malloc(n);
    snprintf(signing, n, "%s.%s", h, p);
    char *sig = strdup("");
    if (md) {
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned maclen = 0;
        HMAC(md, key, (int)strlen(key), (unsigned char *)signing, strlen(signing), mac, &maclen);
        free(sig);
        sig = t_b64u(mac, maclen);
    }
    size_t tn = strlen(signing) + strlen(sig) + 2;
    char *tok = malloc(tn);
    snprintf(tok, tn, "%s.%s", signing, sig);
    free(h);
    free(p);
    free(signing);
    free(sig);
    return tok;
}

/* A payload with every claim right, some overridable. */
static char *payload(const char *iss, const char *aud, const char *sub, long long iat, long long exp, const char *jti) {
    char *out = malloc(1024);
    snprintf(out, 1024,
             "{\"iss\":\"%s\",\"aud\":%s,\"sub\":%s,\"username\":\"alice\",\"iat\":%lld,\"exp\":%lld,\"jti\":\"%s\"}",
             iss, aud, sub, iat, exp, jti);
    return out;
}

#define GOOD_JTI  "0102030405060708090a0b0c0d0e0f10"
#define HS256_HDR "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static int verify_forged(const char *header, const char *pl, const EVP_MD *md, const char *key) {
    char *t = forge(header, pl, md, key);
    int rc = auth_token_verify(&CFG, t, NOW, NULL);
    free(t);
    return rc;
}

static char *good_payload(void) {
    return payload("streamhub", "\"streamhub\"", "\"42\"", NOW - 10, NOW + 3600, GOOD_JTI);
}

/* ---- tokens ------------------------------------------------------------------------------------ */

static void test_token_roundtrip_carries_claims(void **s) {
    (void)s;
    auth_claims made, got;
    char *t = auth_token_issue(&CFG, 42, "alice", JTI, NOW, &made);
    assert_non_null(t);
    assert_int_equal(auth_token_verify(&CFG, t, NOW + 5, &got), AUTH_TOK_OK);
    assert_int_equal(got.user_id, 42);
    assert_string_equal(got.username, "alice");
    assert_string_equal(got.jti, GOOD_JTI);
    assert_int_equal(got.iat, NOW);
    assert_int_equal(got.exp, NOW + 604800);
    assert_memory_equal(&made, &got, sizeof made);
    free(t);
}

static void test_token_forged_hs256_with_right_claims_is_accepted(void **s) {
    (void)s; /* the forging helper itself is right: the refusals below are about what they change */
    char *pl = good_payload();
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    assert_int_equal(verify_forged("{\"alg\":\"HS256\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    free(pl);
}

static void test_token_rejects_alg_none(void **s) {
    (void)s;
    char *pl = good_payload();
    assert_int_not_equal(verify_forged("{\"alg\":\"none\",\"typ\":\"JWT\"}", pl, NULL, SECRET), AUTH_TOK_OK);
    /* none with some signature bytes */
    assert_int_equal(verify_forged("{\"alg\":\"none\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_ALG);
    assert_int_equal(verify_forged("{\"alg\":\"None\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_ALG);
    free(pl);
}

static void test_token_rejects_hs384_and_hs512_even_with_the_right_key(void **s) {
    (void)s;
    char *pl = good_payload();
    assert_int_equal(verify_forged("{\"alg\":\"HS384\",\"typ\":\"JWT\"}", pl, EVP_sha384(), SECRET), AUTH_TOK_BAD_ALG);
    assert_int_equal(verify_forged("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", pl, EVP_sha512(), SECRET), AUTH_TOK_BAD_ALG);
    free(pl);
}

static void test_token_rejects_rs256_and_es256_headers(void **s) {
    (void)s;
    char *pl = good_payload();
    /* the classic confusion: RS256 header, HMAC signature keyed with a "public key" (our secret) */
    assert_int_equal(verify_forged("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_ALG);
    assert_int_equal(verify_forged("{\"alg\":\"ES256\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_ALG);
    free(pl);
}

static void test_token_rejects_bad_headers(void **s) {
    (void)s;
    char *pl = good_payload();
    assert_int_not_equal(verify_forged("{\"typ\":\"JWT\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    assert_int_not_equal(verify_forged("{\"alg\":\"HS256\",\"typ\":\"JWE\"}", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    assert_int_not_equal(verify_forged("{\"alg\":256}", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    assert_int_not_equal(verify_forged("[\"HS256\"]", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    assert_int_not_equal(verify_forged("{\"alg\":\"HS256\"} x", pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    free(pl);
}

static void test_token_rejects_altered_or_trimmed_signature(void **s) {
    (void)s;
    char *t = auth_token_issue(&CFG, 42, "alice", JTI, NOW, NULL);
    size_t n = strlen(t);
    char *c = strdup(t);
    c[n - 2] = c[n - 2] == 'A' ? 'B' : 'A'; /* altered */
    assert_int_equal(auth_token_verify(&CFG, c, NOW, NULL), AUTH_TOK_BAD_SIGNATURE);
    strcpy(c, t);
    c[n - 4] = '\0'; /* trimmed */
    assert_int_not_equal(auth_token_verify(&CFG, c, NOW, NULL), AUTH_TOK_OK);
    strcpy(c, t);
    *strrchr(c, '.') = '\0'; /* no signature part at all */
    assert_int_equal(auth_token_verify(&CFG, c, NOW, NULL), AUTH_TOK_MALFORMED);
    strcpy(c, t);
    strrchr(c, '.')[1] = '\0'; /* empty signature */
    assert_int_equal(auth_token_verify(&CFG, c, NOW, NULL), AUTH_TOK_BAD_SIGNATURE);
    free(c);
    free(t);
}

static void test_token_rejects_altered_payload(void **s) {
    (void)s;
    char *t = auth_token_issue(&CFG, 42, "alice", JTI, NOW, NULL);
    char *pl = payload("streamhub", "\"streamhub\"", "\"1\"", NOW, NOW + 604800, GOOD_JTI);
    char *p64 = t_b64u(pl, strlen(pl));
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    size_t n = (size_t)(d1 - t) + 1 + strlen(p64) + strlen(d2) + 1;
    char *x = malloc(n);
    snprintf(x, n, "%.*s.%s%s", (int)(d1 - t), t, p64, d2);
    assert_int_equal(auth_token_verify(&CFG, x, NOW, NULL), AUTH_TOK_BAD_SIGNATURE);
    free(x);
    free(p64);
    free(pl);
    free(t);
}

static void test_token_rejects_wrong_key(void **s) {
    (void)s;
    char *pl = good_payload();
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), "another-secret-0123456789abcdef0123456789"),
                     AUTH_TOK_BAD_SIGNATURE);
    free(pl);
}

static void test_token_expiry(void **s) {
    (void)s;
    char *t = auth_token_issue(&CFG, 7, "bob_7", JTI, NOW, NULL);
    assert_int_equal(auth_token_verify(&CFG, t, NOW + 604799, NULL), AUTH_TOK_OK);
    assert_int_equal(auth_token_verify(&CFG, t, NOW + 604800, NULL), AUTH_TOK_EXPIRED);
    assert_int_equal(auth_token_verify(&CFG, t, NOW + 10 * 604800, NULL), AUTH_TOK_EXPIRED);
    free(t);
    char *pl = payload("streamhub", "\"streamhub\"", "\"42\"", NOW - 7200, NOW - 1, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_EXPIRED);
    free(pl);
}

static void test_token_rejects_bad_iat_and_exp(void **s) {
    (void)s;
    char *pl;
    /* issued in the future (beyond the leeway) */
    pl = payload("streamhub", "\"streamhub\"", "\"42\"", NOW + 3600, NOW + 7200, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_IAT);
    free(pl);
    /* a lifetime longer than the configured one */
    pl = payload("streamhub", "\"streamhub\"", "\"42\"", NOW, NOW + 10 * 604800, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_EXP);
    free(pl);
    /* exp before iat */
    pl = payload("streamhub", "\"streamhub\"", "\"42\"", NOW, NOW - 5, GOOD_JTI);
    assert_int_not_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_OK);
    free(pl);
    /* exp as a string, exp missing, iat missing */
    assert_int_not_equal(
        verify_forged(HS256_HDR,
                      "{\"iss\":\"streamhub\",\"aud\":\"streamhub\",\"sub\":\"42\",\"username\":\"alice\","
                      "\"iat\":1699999990,\"exp\":\"1800000000\",\"jti\":\"" GOOD_JTI "\"}",
                      EVP_sha256(), SECRET),
        AUTH_TOK_OK);
    assert_int_equal(verify_forged(HS256_HDR,
                                   "{\"iss\":\"streamhub\",\"aud\":\"streamhub\",\"sub\":\"42\",\"username\":\"alice\","
                                   "\"iat\":1699999990,\"jti\":\"" GOOD_JTI "\"}",
                                   EVP_sha256(), SECRET),
                     AUTH_TOK_BAD_EXP);
    assert_int_equal(verify_forged(HS256_HDR,
                                   "{\"iss\":\"streamhub\",\"aud\":\"streamhub\",\"sub\":\"42\",\"username\":\"alice\","
                                   "\"exp\":1700003600,\"jti\":\"" GOOD_JTI "\"}",
                                   EVP_sha256(), SECRET),
                     AUTH_TOK_BAD_IAT);
}

static void test_token_rejects_wrong_audience(void **s) {
    (void)s;
    char *pl = payload("streamhub", "\"someone-else\"", "\"42\"", NOW, NOW + 60, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_AUD);
    free(pl);
    pl = payload("streamhub", "[\"streamhub\"]", "\"42\"", NOW, NOW + 60, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_AUD);
    free(pl);
    /* a token made for another audience with the same key */
    auth_token_cfg other = CFG;
    other.audience = "admin";
    char *t = auth_token_issue(&other, 42, "alice", JTI, NOW, NULL);
    assert_int_equal(auth_token_verify(&CFG, t, NOW, NULL), AUTH_TOK_BAD_AUD);
    free(t);
}

static void test_token_rejects_wrong_issuer(void **s) {
    (void)s;
    char *pl = payload("evil", "\"streamhub\"", "\"42\"", NOW, NOW + 60, GOOD_JTI);
    assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_ISS);
    free(pl);
    auth_token_cfg other = CFG;
    other.issuer = "other-node";
    char *t = auth_token_issue(&other, 42, "alice", JTI, NOW, NULL);
    assert_int_equal(auth_token_verify(&CFG, t, NOW, NULL), AUTH_TOK_BAD_ISS);
    free(t);
}

static void test_token_rejects_bad_subject_and_jti(void **s) {
    (void)s;
    const char *subs[] = {"\"0\"", "\"-1\"", "\"abc\"", "42", "\"042\"", "\"99999999999999999999\"", "null"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        char *pl = payload("streamhub", "\"streamhub\"", subs[i], NOW, NOW + 60, GOOD_JTI);
        assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_SUB);
        free(pl);
    }
    const char *jtis[] = {"", "abc", "0102030405060708090A0B0C0D0E0F10", "0102030405060708090a0b0c0d0e0f1"};
    for (size_t i = 0; i < sizeof jtis / sizeof *jtis; i++) {
        char *pl = payload("streamhub", "\"streamhub\"", "\"42\"", NOW, NOW + 60, jtis[i]);
        assert_int_equal(verify_forged(HS256_HDR, pl, EVP_sha256(), SECRET), AUTH_TOK_BAD_JTI);
        free(pl);
    }
}

static void test_token_rejects_oversized_and_garbage(void **s) {
    (void)s;
    size_t big = 1 << 20;
    char *g = malloc(big + 1);
    memset(g, 'A', big);
    g[big] = 0;
    assert_int_equal(auth_token_verify(&CFG, g, NOW, NULL), AUTH_TOK_TOO_LONG);
    g[AUTH_TOKEN_MAX + 1] = 0;
    assert_int_equal(auth_token_verify(&CFG, g, NOW, NULL), AUTH_TOK_TOO_LONG);
    free(g);
    const char *bad[] = {"",     "abc",     "a.b",          "a.b.c.d",         "..",         "a..c",
                         ".b.c", "a b.c.d", "eyJ%.eyJ.sig", "\xff\xfe.\x01.z", "!!!.???.***"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(auth_token_verify(&CFG, bad[i], NOW, NULL), AUTH_TOK_OK);
    assert_int_equal(auth_token_verify(&CFG, NULL, NOW, NULL), AUTH_TOK_EMPTY);
}

static void test_token_refuses_short_key(void **s) {
    (void)s;
    auth_token_cfg weak = CFG;
    weak.key = (const unsigned char *)"short";
    weak.keylen = 5;
    assert_null(auth_token_issue(&weak, 1, "alice", JTI, NOW, NULL));
    char *t = auth_token_issue(&CFG, 1, "alice", JTI, NOW, NULL);
    assert_int_equal(auth_token_verify(&weak, t, NOW, NULL), AUTH_TOK_CONFIG);
    weak.keylen = 0;
    assert_int_equal(auth_token_verify(&weak, t, NOW, NULL), AUTH_TOK_CONFIG);
    free(t);
}

static void test_token_issue_refuses_bad_identity(void **s) {
    (void)s;
    assert_null(auth_token_issue(&CFG, 0, "alice", JTI, NOW, NULL));
    assert_null(auth_token_issue(&CFG, 1, "a", JTI, NOW, NULL));
    assert_null(auth_token_issue(&CFG, 1, "bad name", JTI, NOW, NULL));
}

/* ---- revoked token ids ------------------------------------------------------------------------- */

static void test_revoked_jti_is_refused_until_expiry(void **s) {
    (void)s;
    auth_revset *rs = auth_revset_new(4);
    assert_non_null(rs);
    auth_claims c;
    char *t = auth_token_issue(&CFG, 42, "alice", JTI, NOW, &c);
    assert_int_equal(auth_revset_has(rs, c.jti, NOW), 0);
    assert_int_equal(auth_revset_add(rs, c.jti, c.exp, NOW), 0);
    assert_int_equal(auth_revset_has(rs, c.jti, NOW), 1);
    assert_int_equal(auth_revset_has(rs, c.jti, c.exp - 1), 1);
    assert_int_equal(auth_revset_has(rs, c.jti, c.exp), 0); /* the token is expired by then anyway */
    assert_int_equal(auth_revset_has(rs, "ffffffffffffffffffffffffffffffff", NOW), 0);
    assert_int_equal(auth_revset_sweep(rs, NOW), 0);
    assert_int_equal(auth_revset_sweep(rs, c.exp), 1);
    assert_int_equal(auth_revset_count(rs), 0);
    free(t);
    auth_revset_free(rs);
}

static void test_revoked_set_is_bounded_and_sweeps_when_full(void **s) {
    (void)s;
    auth_revset *rs = auth_revset_new(3);
    char j[33];
    for (int i = 0; i < 3; i++) {
        snprintf(j, sizeof j, "%032x", i + 1);
        assert_int_equal(auth_revset_add(rs, j, NOW + 10 + i, NOW), 0);
    }
    assert_int_equal(auth_revset_add(rs, j, NOW + 100, NOW), 0); /* the same jti again: no new entry */
    assert_int_equal(auth_revset_count(rs), 3);
    snprintf(j, sizeof j, "%032x", 99);
    assert_int_equal(auth_revset_add(rs, j, NOW + 100, NOW), -1);     /* full */
    assert_int_equal(auth_revset_add(rs, j, NOW + 100, NOW + 10), 0); /* one expired: swept, room */
    assert_int_equal(auth_revset_has(rs, j, NOW + 10), 1);
    assert_int_equal(auth_revset_add(rs, "not-a-jti", NOW + 100, NOW), -1);
    assert_int_equal(auth_revset_add(rs, j, NOW - 1, NOW), 0); /* already expired: nothing to do */
    auth_revset_free(rs);
    /* growth past the initial buckets */
    rs = auth_revset_new(5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(j, sizeof j, "%032x", i);
        assert_int_equal(auth_revset_add(rs, j, NOW + 1 + i % 7, NOW), 0);
    }
    snprintf(j, sizeof j, "%032x", 4321);
    assert_int_equal(auth_revset_has(rs, j, NOW), 1);
    assert_int_equal(auth_revset_sweep(rs, NOW + 100), 5000);
    auth_revset_free(rs);
}

/* ---- passwords --------------------------------------------------------------------------------- */

static void test_password_length_rules(void **s) {
    (void)s;
    char p[100];
    memset(p, 'x', sizeof p);
    assert_int_equal(authv_password_new(p, 0), AUTHV_EMPTY);
    assert_int_equal(authv_password_new(p, 7), AUTHV_TOO_SHORT);
    assert_int_equal(authv_password_new(p, 8), AUTHV_OK);
    assert_int_equal(authv_password_new(p, 72), AUTHV_OK);
    assert_int_equal(authv_password_new(p, 73), AUTHV_TOO_LONG);
    assert_int_equal(authv_password_login(p, 1), AUTHV_OK);
    assert_int_equal(authv_password_login(p, 73), AUTHV_TOO_LONG);
    p[3] = '\0';
    assert_int_equal(authv_password_new(p, 10), AUTHV_BAD_CHAR);
    assert_int_equal(authv_password_login(p, 10), AUTHV_BAD_CHAR);
}

static void test_bcrypt_hash_and_verify(void **s) {
    (void)s;
    unsigned char rnd[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    char setting[PW_SETTING_MAX], hash[PW_HASH_LEN + 1];
    assert_int_equal(pw_setting(4, rnd, setting, sizeof setting), 0);
    assert_int_equal(strncmp(setting, "$2b$04$", 7), 0);
    assert_int_equal(pw_hash("correct horse", 13, setting, hash, sizeof hash), 0);
    assert_int_equal(strlen(hash), PW_HASH_LEN);
    assert_int_equal(strncmp(hash, setting, 29), 0);
    assert_int_equal(pw_hash_cost(hash), 4);
    assert_int_equal(pw_verify("correct horse", 13, hash), 1);
    assert_int_equal(pw_verify("correct horsE", 13, hash), 0);
    assert_int_equal(pw_verify("correct hors", 12, hash), 0);
    assert_int_equal(pw_verify("correct horse ", 14, hash), 0);
    /* malformed stored values never match */
    assert_int_equal(pw_verify("correct horse", 13, ""), 0);
    assert_int_equal(pw_verify("correct horse", 13, "*0"), 0);
    char alt[PW_HASH_LEN + 1];
    strcpy(alt, hash);
    alt[2] = 'a'; /* $2a$ */
    assert_int_equal(pw_verify("correct horse", 13, alt), 0);
    strcpy(alt, hash);
    alt[PW_HASH_LEN - 1] = alt[PW_HASH_LEN - 1] == 'a' ? 'b' : 'a';
    assert_int_equal(pw_verify("correct horse", 13, alt), 0);
}

static void test_bcrypt_refuses_what_it_would_truncate(void **s) {
    (void)s;
    unsigned char rnd[16] = {0};
    char setting[PW_SETTING_MAX], hash[PW_HASH_LEN + 1];
    char p72[73], p73[74];
    memset(p72, 'y', 72);
    p72[72] = 0;
    memset(p73, 'y', 73);
    p73[73] = 0;
    assert_int_equal(pw_setting(4, rnd, setting, sizeof setting), 0);
    assert_int_equal(pw_hash(p72, 72, setting, hash, sizeof hash), 0);
    assert_int_equal(pw_verify(p72, 72, hash), 1);
    /* bcrypt would ignore the 73rd byte: we refuse instead of matching */
    assert_int_equal(pw_hash(p73, 73, setting, hash, sizeof hash), -1);
    assert_int_equal(pw_verify(p73, 73, hash), 0);
    /* the last byte of 72 counts */
    char q[73];
    memcpy(q, p72, 73);
    q[71] = 'z';
    assert_int_equal(pw_hash(p72, 72, setting, hash, sizeof hash), 0);
    assert_int_equal(pw_verify(q, 72, hash), 0);
    /* an embedded NUL is refused, not cut */
    assert_int_equal(pw_hash("abc\0defgh", 9, setting, hash, sizeof hash), -1);
}

static void test_bcrypt_settings_and_dummy(void **s) {
    (void)s;
    unsigned char rnd[16] = {1};
    char setting[PW_SETTING_MAX], dummy[PW_HASH_LEN + 1];
    assert_int_equal(pw_setting(3, rnd, setting, sizeof setting), -1);
    assert_int_equal(pw_setting(32, rnd, setting, sizeof setting), -1);
    assert_int_equal(pw_setting(12, rnd, setting, sizeof setting), 0);
    assert_int_equal(pw_hash_cost(setting), 12);
    assert_int_equal(pw_dummy_hash(12, rnd, dummy, sizeof dummy), 0);
    assert_int_equal(strlen(dummy), PW_HASH_LEN);
    assert_int_equal(pw_hash_cost(dummy), 12);
    assert_int_equal(pw_dummy_hash(5, rnd, dummy, sizeof dummy), 0);
    assert_int_equal(pw_verify("anything", 8, dummy), 0);
    assert_int_equal(pw_hash_cost("$2y$10$abc"), -1);
}

static void test_constant_time_string_compare(void **s) {
    (void)s;
    assert_int_equal(pw_ct_streq("abc", "abc"), 1);
    assert_int_equal(pw_ct_streq("abc", "abd"), 0);
    assert_int_equal(pw_ct_streq("abc", "ab"), 0);
    assert_int_equal(pw_ct_streq("", ""), 1);
}

/* ---- validation -------------------------------------------------------------------------------- */

#define V(fn, str) fn(str, strlen(str))

static void test_username_rules(void **s) {
    (void)s;
    assert_int_equal(V(authv_username, "abc"), AUTHV_OK);
    assert_int_equal(V(authv_username, "Alice_99"), AUTHV_OK);
    assert_int_equal(V(authv_username, "a23456789012345678901234567890"), AUTHV_OK);
    assert_int_equal(V(authv_username, "a234567890123456789012345678901"), AUTHV_TOO_LONG);
    assert_int_equal(V(authv_username, "ab"), AUTHV_TOO_SHORT);
    assert_int_equal(V(authv_username, ""), AUTHV_EMPTY);
    assert_int_equal(V(authv_username, "bob smith"), AUTHV_BAD_CHAR);
    assert_int_equal(V(authv_username, "bob-smith"), AUTHV_BAD_CHAR);
    assert_int_equal(V(authv_username, "al'; DROP"), AUTHV_BAD_CHAR);
    assert_int_equal(V(authv_username, "\xc3\xa9t\xc3\xa9"), AUTHV_BAD_CHAR);
    assert_int_equal(authv_username("abc\0def", 7), AUTHV_BAD_CHAR);
}

static void test_email_rules(void **s) {
    (void)s;
    assert_int_equal(V(authv_email, "a@b.co"), AUTHV_OK);
    assert_int_equal(V(authv_email, "first.last+tag@mail.example.org"), AUTHV_OK);
    assert_int_equal(V(authv_email, "x@sub-domain.example.com"), AUTHV_OK);
    const char *bad[] = {"",        "plain",   "@b.co",         "a@",        "a@b",
                         "a@b.c",   "a@.b.co", "a@b..co",       "a@-b.co",   "a@b-.co",
                         ".a@b.co", "a.@b.co", "a..b@b.co",     "a b@b.co",  "a@b.co ",
                         "a@@b.co", "a@b.c0",  "<script>@x.io", "a\"b@x.io", "a@b_c.io"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(V(authv_email, bad[i]), AUTHV_OK);
    char long_mail[300];
    memset(long_mail, 'a', sizeof long_mail);
    memcpy(long_mail + 250, "@b.co", 6);
    assert_int_equal(V(authv_email, long_mail), AUTHV_TOO_LONG);
    /* local part over 64 */
    char l65[80];
    memset(l65, 'a', 65);
    strcpy(l65 + 65, "@b.co");
    assert_int_not_equal(V(authv_email, l65), AUTHV_OK);
}

static void test_avatar_url_rules(void **s) {
    (void)s;
    assert_int_equal(V(authv_avatar_url, ""), AUTHV_OK);
    assert_int_equal(V(authv_avatar_url, "https://cdn.example.com/a.png"), AUTHV_OK);
    assert_int_equal(V(authv_avatar_url, "https://cdn.example.com:8443/a.png?x=1#y"), AUTHV_OK);
    assert_int_equal(V(authv_avatar_url, "HTTPS://EXAMPLE.COM"), AUTHV_OK);
    const char *bad[] = {"http://example.com/a.png",
                         "javascript:alert(1)",
                         "https://",
                         "https:///x",
                         "https://user@evil.com/",
                         "https://exa mple.com",
                         "https://x.com/\"onerror=",
                         "https://x.com/<script>",
                         "//x.com/a.png",
                         "data:image/png;base64,AAAA",
                         "ftp://x.com"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_not_equal(V(authv_avatar_url, bad[i]), AUTHV_OK);
    char big[2100] = "https://x.com/";
    memset(big + 14, 'a', 2040);
    big[2054] = 0;
    assert_int_equal(V(authv_avatar_url, big), AUTHV_TOO_LONG);
}

static void test_user_id_and_jti_rules(void **s) {
    (void)s;
    long long v = 0;
    assert_int_equal(authv_user_id("1", 1, &v), AUTHV_OK);
    assert_int_equal(v, 1);
    assert_int_equal(authv_user_id("9223372036854775807", 19, &v), AUTHV_OK);
    assert_int_equal(authv_user_id("9223372036854775808", 19, &v), AUTHV_BAD_FORMAT);
    assert_int_not_equal(authv_user_id("0", 1, &v), AUTHV_OK);
    assert_int_not_equal(authv_user_id("-5", 2, &v), AUTHV_OK);
    assert_int_not_equal(authv_user_id("1e3", 3, &v), AUTHV_OK);
    assert_int_equal(V(authv_jti, "0123456789abcdef0123456789abcdef"), AUTHV_OK);
    assert_int_not_equal(V(authv_jti, "0123456789ABCDEF0123456789abcdef"), AUTHV_OK);
}

/* ---- stream keys ------------------------------------------------------------------------------- */

static void test_stream_key_format_and_hash(void **s) {
    (void)s;
    unsigned char r1[SK_RAND_BYTES], r2[SK_RAND_BYTES];
    memset(r1, 0xab, sizeof r1);
    memset(r2, 0xab, sizeof r2);
    r2[19] = 0xac;
    char k1[SK_KEY_LEN + 1], k2[SK_KEY_LEN + 1], h[SK_HASH_HEX + 1];
    sk_make(r1, k1);
    sk_make(r2, k2);
    assert_int_equal(strlen(k1), SK_KEY_LEN);
    assert_int_equal(V(authv_stream_key, k1), AUTHV_OK);
    assert_string_not_equal(k1, k2);
    assert_int_not_equal(V(authv_stream_key, "live_short"), AUTHV_OK);
    assert_int_not_equal(V(authv_stream_key, "LIVE_abababababababababababababababababababab"), AUTHV_OK);
    assert_int_equal(sk_hash("abc", 3, h), 0);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_stream_key_seal_roundtrip_and_tamper(void **s) {
    (void)s;
    unsigned char key[32], other[32], nonce[12] = {7};
    assert_int_equal(sk_derive((const unsigned char *)SECRET, strlen(SECRET), key), 0);
    assert_int_equal(sk_derive((const unsigned char *)"x-" SECRET, strlen(SECRET) + 2, other), 0);
    const char *plain = "live_0123456789abcdef0123456789abcdef01234567";
    char hash[SK_HASH_HEX + 1], sealed[SK_SEAL_MAX], out[SK_KEY_LEN + 1];
    sk_hash(plain, strlen(plain), hash);
    assert_int_equal(sk_seal(key, nonce, plain, hash, sealed, sizeof sealed), 0);
    assert_null(strstr(sealed, "0123456789abcdef"));
    assert_int_equal(sk_open(key, sealed, hash, out, sizeof out), 0);
    assert_string_equal(out, plain);
    assert_int_equal(sk_open(other, sealed, hash, out, sizeof out), -1);
    assert_int_equal(sk_open(key, sealed, "0000", out, sizeof out), -1);
    char t[SK_SEAL_MAX];
    strcpy(t, sealed);
    t[10] = t[10] == 'A' ? 'B' : 'A';
    assert_int_equal(sk_open(key, t, hash, out, sizeof out), -1);
    assert_int_equal(sk_open(key, "v1.", hash, out, sizeof out), -1);
    assert_int_equal(sk_open(key, "v2.AAAA", hash, out, sizeof out), -1);
    assert_int_equal(sk_open(key, "v1.!!!!", hash, out, sizeof out), -1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_roundtrip_carries_claims),
        cmocka_unit_test(test_token_forged_hs256_with_right_claims_is_accepted),
        cmocka_unit_test(test_token_rejects_alg_none),
        cmocka_unit_test(test_token_rejects_hs384_and_hs512_even_with_the_right_key),
        cmocka_unit_test(test_token_rejects_rs256_and_es256_headers),
        cmocka_unit_test(test_token_rejects_bad_headers),
        cmocka_unit_test(test_token_rejects_altered_or_trimmed_signature),
        cmocka_unit_test(test_token_rejects_altered_payload),
        cmocka_unit_test(test_token_rejects_wrong_key),
        cmocka_unit_test(test_token_expiry),
        cmocka_unit_test(test_token_rejects_bad_iat_and_exp),
        cmocka_unit_test(test_token_rejects_wrong_audience),
        cmocka_unit_test(test_token_rejects_wrong_issuer),
        cmocka_unit_test(test_token_rejects_bad_subject_and_jti),
        cmocka_unit_test(test_token_rejects_oversized_and_garbage),
        cmocka_unit_test(test_token_refuses_short_key),
        cmocka_unit_test(test_token_issue_refuses_bad_identity),
        cmocka_unit_test(test_revoked_jti_is_refused_until_expiry),
        cmocka_unit_test(test_revoked_set_is_bounded_and_sweeps_when_full),
        cmocka_unit_test(test_password_length_rules),
        cmocka_unit_test(test_bcrypt_hash_and_verify),
        cmocka_unit_test(test_bcrypt_refuses_what_it_would_truncate),
        cmocka_unit_test(test_bcrypt_settings_and_dummy),
        cmocka_unit_test(test_constant_time_string_compare),
        cmocka_unit_test(test_username_rules),
        cmocka_unit_test(test_email_rules),
        cmocka_unit_test(test_avatar_url_rules),
        cmocka_unit_test(test_user_id_and_jti_rules),
        cmocka_unit_test(test_stream_key_format_and_hash),
        cmocka_unit_test(test_stream_key_seal_roundtrip_and_tamper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
