/*
 * streamkey.c - see streamkey.h. OpenSSL's EVP for SHA-256, HMAC and AES-256-GCM.
 */
#include "plugins/auth/streamkey.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define SEAL_PREFIX  "v1."
#define NONCE_LEN    12
#define TAG_LEN      16
#define DERIVE_LABEL "streamhub auth: stream key sealing v1"

static const char hexd[] = "0123456789abcdef";

void sk_make(const unsigned char rnd[SK_RAND_BYTES], char *out) {
    memcpy(out, "live_", 5);
    for (int i = 0; i < SK_RAND_BYTES; i++) {
        out[5 + 2 * i] = hexd[rnd[i] >> 4];
        out[6 + 2 * i] = hexd[rnd[i] & 15];
    }
    out[SK_KEY_LEN] = '\0';
}

int sk_hash(const char *s, size_t len, char *out) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!s || EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) return -1;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hexd[md[i] >> 4];
        out[2 * i + 1] = hexd[md[i] & 15];
    }
    out[SK_HASH_HEX] = '\0';
    return 0;
}

int sk_derive(const unsigned char *secret, size_t secretlen, unsigned char key[32]) {
    unsigned int n = 0;
    if (!secret || !secretlen ||
        !HMAC(EVP_sha256(), secret, (int)secretlen, (const unsigned char *)DERIVE_LABEL, strlen(DERIVE_LABEL), key,
              &n) ||
        n != 32)
        return -1;
    return 0;
}

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64u_encode(const unsigned char *in, size_t len, char *out) {
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64u[(acc >> bits) & 63];
        }
        acc &= (1u << bits) - 1;
    }
    if (bits > 0) out[o++] = b64u[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return o;
}

static long b64u_decode(const char *in, size_t len, unsigned char *out, size_t outlen) {
    unsigned acc = 0;
    int bits = 0;
    size_t n = 0;
    if (len % 4 == 1) return -1;
    for (size_t i = 0; i < len; i++) {
        const char *p = in[i] ? strchr(b64u, in[i]) : NULL;
        if (!p) return -1;
        acc = (acc << 6) | (unsigned)(p - b64u);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= outlen) return -1;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (long)n;
}

int sk_seal(const unsigned char key[32], const unsigned char nonce[12], const char *plain, const char *aad, char *out,
            size_t outlen) {
    size_t plen = plain ? strlen(plain) : 0;
    if (!plain || !aad || plen == 0 || plen > SK_KEY_LEN || outlen < SK_SEAL_MAX) return -1;
    unsigned char buf[NONCE_LEN + SK_KEY_LEN + TAG_LEN];
    int rc = -1, n = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return -1;
    memcpy(buf, nonce, NONCE_LEN);
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_EncryptUpdate(ctx, buf + NONCE_LEN, &n, (const unsigned char *)plain, (int)plen) != 1 || n != (int)plen ||
        EVP_EncryptFinal_ex(ctx, buf + NONCE_LEN + n, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, buf + NONCE_LEN + plen) != 1)
        goto out;
    memcpy(out, SEAL_PREFIX, 3);
    b64u_encode(buf, NONCE_LEN + plen + TAG_LEN, out + 3);
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

int sk_open(const unsigned char key[32], const char *sealed, const char *aad, char *plain, size_t outlen) {
    if (!sealed || !aad || outlen < SK_KEY_LEN + 1 || strncmp(sealed, SEAL_PREFIX, 3) != 0) return -1;
    size_t slen = strnlen(sealed, SK_SEAL_MAX);
    if (slen >= SK_SEAL_MAX) return -1;
    unsigned char buf[NONCE_LEN + SK_KEY_LEN + TAG_LEN];
    long n = b64u_decode(sealed + 3, slen - 3, buf, sizeof buf);
    if (n < NONCE_LEN + TAG_LEN + 1) return -1;
    int clen = (int)n - NONCE_LEN - TAG_LEN, m = 0, rc = -1;
    unsigned char pt[SK_KEY_LEN];
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return -1;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, buf) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &m, (const unsigned char *)aad, (int)strlen(aad)) != 1 ||
        EVP_DecryptUpdate(ctx, pt, &m, buf + NONCE_LEN, clen) != 1 || m != clen ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, buf + NONCE_LEN + clen) != 1 ||
        EVP_DecryptFinal_ex(ctx, pt + m, &m) != 1)
        goto out;
    memcpy(plain, pt, (size_t)clen);
    plain[clen] = '\0';
    if (strlen(plain) != (size_t)clen) { /* a NUL inside: not one of ours */
        plain[0] = '\0';
        goto out;
    }
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(pt, sizeof pt);
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}
