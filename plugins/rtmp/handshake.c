/*
 * plugins/rtmp/handshake.c - RTMP server handshake state machine (see handshake.h).
 *
 * Digest layout of a 1536-byte C1/S1 (Flash Player 9 style, no encryption):
 *   [0..3] time  [4..7] version  then two 764-byte blocks, "key" and "digest", in either order.
 *   A digest block starts with 4 offset bytes; the 32-byte digest sits at
 *   (sum of the 4 offset bytes) % 728 + 4 bytes into the block.
 *   schema 0: key block at 8, digest block at 772  -> offset bytes C1[772..775]
 *   schema 1: digest block at 8, key block at 772  -> offset bytes C1[8..11]
 *   The digest is HMAC-SHA256 over the 1504 other bytes, keyed with the first 30 bytes of the
 *   Flash Player key (client) or the first 36 bytes of the Flash Media Server key (server).
 */
#include "handshake.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define DIGEST_BLOCK_SPAN 728
#define FP_KEY_PARTIAL    30 /* "Genuine Adobe Flash Player 001" */
#define FMS_KEY_PARTIAL   36 /* "Genuine Adobe Flash Media Server 001" */

/* Public constants of the Flash handshake: an ASCII name followed by the same 32 bytes. */
static const uint8_t fms_key[68] = {
    'G',  'e',  'n',  'u',  'i',  'n',  'e',  ' ',  'A',  'd',  'o',  'b',  'e',  ' ',  'F',  'l',  'a',
    's',  'h',  ' ',  'M',  'e',  'd',  'i',  'a',  ' ',  'S',  'e',  'r',  'v',  'e',  'r',  ' ',  '0',
    '0',  '1',  0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E,
    0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};

static const uint8_t fp_key[62] = {
    'G',  'e',  'n',  'u',  'i',  'n',  'e',  ' ',  'A',  'd',  'o',  'b',  'e',  ' ',  'F',  'l',
    'a',  's',  'h',  ' ',  'P',  'l',  'a',  'y',  'e',  'r',  ' ',  '0',  '0',  '1',  0xF0, 0xEE,
    0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC,
    0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
};

/* Version we announce in a digest S1; the first byte must be >= 3 for clients to check it. */
static const uint8_t server_version[4] = {0x0D, 0x0E, 0x0A, 0x0D};

static uint32_t hs_get_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void hs_put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static int hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                       uint8_t out[RTMP_HS_DIGEST_SIZE]) {
    unsigned int out_len = 0;
    if (HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL || out_len != RTMP_HS_DIGEST_SIZE)
        return RTMP_HS_ERR_CRYPTO;
    return RTMP_HS_OK;
}

/* Position of the digest inside a 1536-byte packet for a schema (always <= 1536 - 32). */
static size_t digest_pos(const uint8_t *pkt, int schema) {
    size_t base = schema == 0 ? 772 : 8;
    unsigned sum = (unsigned)pkt[base] + pkt[base + 1] + pkt[base + 2] + pkt[base + 3];
    return base + 4 + sum % DIGEST_BLOCK_SPAN;
}

/* HMAC over the packet without the 32 bytes at pos. */
static int packet_digest(const uint8_t *pkt, size_t pos, const uint8_t *key, size_t key_len,
                         uint8_t out[RTMP_HS_DIGEST_SIZE]) {
    uint8_t joined[RTMP_HS_PACKET_SIZE - RTMP_HS_DIGEST_SIZE];
    memcpy(joined, pkt, pos);
    memcpy(joined + pos, pkt + pos + RTMP_HS_DIGEST_SIZE, RTMP_HS_PACKET_SIZE - pos - RTMP_HS_DIGEST_SIZE);
    return hmac_sha256(key, key_len, joined, sizeof joined, out);
}

/* Constant-time enough for a handshake; avoids memcmp's early exit anyway. */
static bool digest_equal(const uint8_t *a, const uint8_t *b) {
    uint8_t diff = 0;
    for (size_t i = 0; i < RTMP_HS_DIGEST_SIZE; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}

/* Looks for a valid client digest in C1; sets hs->scheme and hs->c1_digest. */
static int find_client_digest(struct rtmp_handshake *hs, const uint8_t *c1) {
    hs->scheme = RTMP_HS_SCHEME_PLAIN;
    if (hs->cfg.plain_only || hs_get_be32(c1 + 4) == 0) return RTMP_HS_OK;
    for (int schema = 0; schema <= 1; schema++) {
        uint8_t want[RTMP_HS_DIGEST_SIZE];
        size_t pos = digest_pos(c1, schema);
        int rc = packet_digest(c1, pos, fp_key, FP_KEY_PARTIAL, want);
        if (rc != RTMP_HS_OK) return rc;
        if (digest_equal(want, c1 + pos)) {
            hs->scheme = schema == 0 ? RTMP_HS_SCHEME_DIGEST0 : RTMP_HS_SCHEME_DIGEST1;
            memcpy(hs->c1_digest, c1 + pos, RTMP_HS_DIGEST_SIZE);
            return RTMP_HS_OK;
        }
    }
    return RTMP_HS_OK;
}

static int fill_random(struct rtmp_handshake *hs, uint8_t *buf, size_t len) {
    return hs->cfg.random(hs->cfg.random_ctx, buf, len) == 0 ? RTMP_HS_OK : RTMP_HS_ERR_RANDOM;
}

/* Builds S0+S1+S2 into hs->out from the complete C0+C1 in hs->in. */
static int build_response(struct rtmp_handshake *hs) {
    const uint8_t *c1 = hs->in + 1;
    uint8_t *s1 = hs->out + 1;
    uint8_t *s2 = s1 + RTMP_HS_PACKET_SIZE;
    int rc;

    hs->peer_epoch = hs_get_be32(c1);
    hs->peer_version = hs_get_be32(c1 + 4);
    if ((rc = find_client_digest(hs, c1)) != RTMP_HS_OK) return rc;

    hs->out[0] = RTMP_HS_VERSION;
    hs_put_be32(s1, hs->cfg.epoch);
    if ((rc = fill_random(hs, s1 + 8, RTMP_HS_PACKET_SIZE - 8)) != RTMP_HS_OK) return rc;

    if (hs->scheme == RTMP_HS_SCHEME_PLAIN) {
        memset(s1 + 4, 0, 4);
        memcpy(s2, c1, RTMP_HS_PACKET_SIZE);
    } else {
        uint8_t s2_key[RTMP_HS_DIGEST_SIZE];
        size_t pos;
        memcpy(s1 + 4, server_version, 4);
        pos = digest_pos(s1, (int)hs->scheme);
        if ((rc = packet_digest(s1, pos, fms_key, FMS_KEY_PARTIAL, hs->s1_digest)) != RTMP_HS_OK) return rc;
        memcpy(s1 + pos, hs->s1_digest, RTMP_HS_DIGEST_SIZE);

        if ((rc = fill_random(hs, s2, RTMP_HS_PACKET_SIZE)) != RTMP_HS_OK) return rc;
        rc = hmac_sha256(fms_key, sizeof fms_key, hs->c1_digest, RTMP_HS_DIGEST_SIZE, s2_key);
        if (rc != RTMP_HS_OK) return rc;
        rc = hmac_sha256(s2_key, sizeof s2_key, s2, RTMP_HS_PACKET_SIZE - RTMP_HS_DIGEST_SIZE,
                         s2 + RTMP_HS_PACKET_SIZE - RTMP_HS_DIGEST_SIZE);
        if (rc != RTMP_HS_OK) return rc;
    }
    hs->out_len = RTMP_HS_OUTPUT_SIZE;
    return RTMP_HS_OK;
}

/* C2 in hs->in[0..1536): informational check only. */
static void check_c2(struct rtmp_handshake *hs) {
    const uint8_t *c2 = hs->in;
    const uint8_t *s1 = hs->out + 1;

    /* An echo of S1 is what the plain scheme asks for, and what FFmpeg sends when publishing
     * even after a digest handshake. */
    hs->c2_verified = memcmp(c2, s1, RTMP_HS_PACKET_SIZE) == 0;
    if (!hs->c2_verified && hs->scheme != RTMP_HS_SCHEME_PLAIN) {
        uint8_t key[RTMP_HS_DIGEST_SIZE], sig[RTMP_HS_DIGEST_SIZE];
        const size_t body = RTMP_HS_PACKET_SIZE - RTMP_HS_DIGEST_SIZE;
        hs->c2_verified = hmac_sha256(fp_key, sizeof fp_key, hs->s1_digest, RTMP_HS_DIGEST_SIZE, key) == 0 &&
                          hmac_sha256(key, sizeof key, c2, body, sig) == 0 && digest_equal(sig, c2 + body);
    }
}

int rtmp_hs_init(struct rtmp_handshake *hs, const struct rtmp_hs_config *cfg) {
    if (hs == NULL || cfg == NULL || cfg->random == NULL) return RTMP_HS_ERR_ARG;
    memset(hs, 0, sizeof *hs);
    hs->cfg = *cfg;
    hs->state = RTMP_HS_STATE_WAIT_C0C1;
    hs->scheme = RTMP_HS_SCHEME_PLAIN;
    return RTMP_HS_OK;
}

static int hs_fail(struct rtmp_handshake *hs, int rc) {
    hs->state = RTMP_HS_STATE_FAILED;
    hs->error = rc;
    hs->out_len = 0;
    return rc;
}

int rtmp_hs_feed(struct rtmp_handshake *hs, const uint8_t *data, size_t len, size_t *consumed) {
    size_t used = 0;

    if (consumed == NULL) return RTMP_HS_ERR_ARG;
    *consumed = 0;
    if (hs == NULL || (data == NULL && len > 0)) return RTMP_HS_ERR_ARG;
    if (hs->state == RTMP_HS_STATE_FAILED) return RTMP_HS_ERR_FAILED;

    while (used < len && hs->state != RTMP_HS_STATE_DONE) {
        size_t need, n;
        if (hs->state == RTMP_HS_STATE_WAIT_C0C1) {
            if (hs->have == 0) {
                /* C0 decides at once: no point buffering C1 for a wrong version. */
                if (data[used] != RTMP_HS_VERSION) {
                    *consumed = used + 1;
                    return hs_fail(hs, RTMP_HS_ERR_VERSION);
                }
            }
            need = 1 + RTMP_HS_PACKET_SIZE - hs->have;
        } else {
            need = RTMP_HS_PACKET_SIZE - hs->have;
        }
        n = len - used < need ? len - used : need;
        memcpy(hs->in + hs->have, data + used, n);
        hs->have += n;
        used += n;
        if (n < need) break;

        if (hs->state == RTMP_HS_STATE_WAIT_C0C1) {
            int rc = build_response(hs);
            if (rc != RTMP_HS_OK) {
                *consumed = used;
                return hs_fail(hs, rc);
            }
            hs->state = RTMP_HS_STATE_WAIT_C2;
        } else {
            check_c2(hs);
            hs->state = RTMP_HS_STATE_DONE;
        }
        hs->have = 0;
    }
    *consumed = used;
    return RTMP_HS_OK;
}

const uint8_t *rtmp_hs_take_output(struct rtmp_handshake *hs, size_t *len) {
    const uint8_t *p = NULL;
    size_t n = 0;
    if (hs != NULL && hs->out_len > 0) {
        p = hs->out;
        n = hs->out_len;
        hs->out_len = 0;
    }
    if (len != NULL) *len = n;
    return p;
}

enum rtmp_hs_state rtmp_hs_state(const struct rtmp_handshake *hs) {
    return hs->state;
}

enum rtmp_hs_scheme rtmp_hs_scheme(const struct rtmp_handshake *hs) {
    return hs->scheme;
}

void rtmp_hs_peer_info(const struct rtmp_handshake *hs, uint32_t *epoch, uint32_t *version) {
    if (epoch != NULL) *epoch = hs->peer_epoch;
    if (version != NULL) *version = hs->peer_version;
}

bool rtmp_hs_c2_verified(const struct rtmp_handshake *hs) {
    return hs->state == RTMP_HS_STATE_DONE && hs->c2_verified;
}

const char *rtmp_hs_strerror(int status) {
    switch (status) {
    case RTMP_HS_OK:
        return "ok";
    case RTMP_HS_ERR_ARG:
        return "invalid argument";
    case RTMP_HS_ERR_VERSION:
        return "unsupported RTMP version in C0 (want 3)";
    case RTMP_HS_ERR_RANDOM:
        return "random source failed";
    case RTMP_HS_ERR_CRYPTO:
        return "HMAC-SHA256 failed";
    case RTMP_HS_ERR_FAILED:
        return "handshake already failed";
    default:
        return "unknown handshake error";
    }
}
