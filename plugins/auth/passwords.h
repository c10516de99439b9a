/*
 * passwords.h - bcrypt password hashes (libxcrypt "$2b$") for the auth plugin.
 *
 * Two layers:
 *   - pure, blocking functions (pw_setting, pw_hash, pw_verify, pw_ct_streq, pw_hash_cost): any
 *     thread, no globals; pw_hash and pw_verify burn ~2^cost bcrypt rounds and must therefore
 *     only ever run on a worker thread (or in a unit test);
 *   - asynchronous wrappers (auth_pw_hash_async, auth_pw_verify_async) that copy the password,
 *     run the pure function through host->work and call back on the loop. Loop thread only.
 *
 * Passwords never appear in logs; every copy is wiped (explicit_bzero) once used.
 */
#ifndef SH_AUTH_PASSWORDS_H
#define SH_AUTH_PASSWORDS_H

#include <stddef.h>
#include <streamhub/streamhub.h>

#define PW_HASH_LEN    60 /* "$2b$12$" + 22 salt + 31 hash characters */
#define PW_SETTING_LEN 29 /* "$2b$12$" + 22 salt characters */
#define PW_SETTING_MAX 64 /* a comfortable buffer for a setting */
#define PW_COST_MIN    4  /* what libxcrypt accepts; the plugin's config demands >= 10 */
#define PW_COST_MAX    31

/* Make a "$2b$<cost>$<salt>" setting from 16 random bytes into out (>= PW_SETTING_LEN + 1 bytes).
 * 0, or -1 (bad cost or libxcrypt refused). */
int pw_setting(unsigned cost, const unsigned char rnd[16], char *out, size_t outlen);
/* Hash pw (len bytes, no NUL, <= 72) with `setting`; out gets PW_HASH_LEN chars + NUL
 * (outlen >= PW_HASH_LEN + 1). 0 or -1. Blocking (worker thread). */
int pw_hash(const char *pw, size_t len, const char *setting, char *out, size_t outlen);
/* 1 when pw matches the stored "$2b$" hash, 0 otherwise (including a malformed stored hash).
 * The comparison is constant-time in the hash contents. Blocking (worker thread). */
int pw_verify(const char *pw, size_t len, const char *stored);
/* Constant-time equality of two NUL-terminated strings of the same length (time depends only on
 * the lengths). 1 if equal. */
int pw_ct_streq(const char *a, const char *b);
/* The cost encoded in a "$2b$NN$..." hash or setting, or -1. */
int pw_hash_cost(const char *hash);
/* A well-formed hash of cost `cost` that no password matches: a fresh setting followed by 31
 * characters; pw_verify against it costs as much as against a real hash. 0 or -1. */
int pw_dummy_hash(unsigned cost, const unsigned char rnd[16], char *out, size_t outlen);

/* ---- asynchronous (loop thread) ------------------------------------------------------------- */

/* hash: NUL-terminated, borrowed for the call; NULL when hashing failed. */
typedef void (*auth_pw_hash_cb)(const char *hash, void *ud);
/* status: 1 match, 0 no match, -1 could not run (queue full, out of memory). */
typedef void (*auth_pw_verify_cb)(int status, void *ud);

/* Hash on the worker pool with cost `cost`. The password is copied. Returns SH_OK (cb will run
 * on the loop later) or an error (cb will not run). */
int auth_pw_hash_async(sh_plugin *self, const sh_host_api *host, unsigned cost, const char *pw, size_t len,
                       auth_pw_hash_cb cb, void *ud);
/* Verify on the worker pool against `stored` (copied). With stored == NULL (unknown user) or
 * force_fail, verify against `dummy` instead and always answer 0: the same work either way.
 * Returns SH_OK (cb will run later) or an error (cb will not run). */
int auth_pw_verify_async(sh_plugin *self, const sh_host_api *host, const char *pw, size_t len, const char *stored,
                         const char *dummy, auth_pw_verify_cb cb, void *ud);

#endif
