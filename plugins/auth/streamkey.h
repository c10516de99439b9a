/*
 * streamkey.h - stream keys: making them, hashing them for look-up, and sealing them at rest.
 *
 * A key is "live_" + 40 lowercase hex digits (160 random bits from host->random_bytes). The
 * users table keeps two things per key:
 *   - stream_key_hash: hex SHA-256 of the key, unique-indexed: the look-up for RTMP ingest;
 *   - stream_key_enc: the key sealed with AES-256-GCM under a key derived (HMAC-SHA256) from the
 *     `stream_key_secret` setting or, when unset, from `jwt_secret`, bound to the hash as AAD:
 *     "v1." + base64url(12-byte nonce | ciphertext | 16-byte tag). Only its owner ever sees
 *     the plain key (GET /api/users/me/stream-key); a database dump alone does not reveal it.
 *
 * Pure: keys and randomness come in as arguments; no globals, any thread. Keys are never logged.
 */
#ifndef SH_AUTH_STREAMKEY_H
#define SH_AUTH_STREAMKEY_H

#include <stddef.h>

#define SK_RAND_BYTES 20
#define SK_KEY_LEN    45 /* "live_" + 40 */
#define SK_HASH_HEX   64
#define SK_SEAL_MAX   128 /* "v1." + base64url(12 + 45 + 16 = 73 bytes) = 3 + 98 */

/* out >= SK_KEY_LEN + 1. */
void sk_make(const unsigned char rnd[SK_RAND_BYTES], char *out);
/* Hex SHA-256 of s (len bytes) into out (>= SK_HASH_HEX + 1). 0 or -1. */
int sk_hash(const char *s, size_t len, char *out);
/* Derive the 32-byte sealing key from a secret. 0 or -1. */
int sk_derive(const unsigned char *secret, size_t secretlen, unsigned char key[32]);
/* Seal `plain` (NUL-terminated, <= SK_KEY_LEN) with aad (NUL-terminated) and a 12-byte nonce
 * into out (>= SK_SEAL_MAX). 0 or -1. */
int sk_seal(const unsigned char key[32], const unsigned char nonce[12], const char *plain, const char *aad, char *out,
            size_t outlen);
/* Open what sk_seal made; plain gets the key + NUL (outlen >= SK_KEY_LEN + 1). 0, or -1 when the
 * value was not sealed under this key and aad (or is malformed). */
int sk_open(const unsigned char key[32], const char *sealed, const char *aad, char *plain, size_t outlen);

#endif
