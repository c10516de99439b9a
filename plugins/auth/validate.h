/*
 * validate.h - the auth plugin's pure field checks: usernames, e-mail addresses, avatar URLs,
 * passwords, stream keys and token ids. No I/O, no globals, no allocation; every function takes a
 * buffer and its length (the bytes need not be NUL-terminated) and may be called on any thread.
 *
 * Text fields also go through host->json_str first (valid UTF-8, no control characters, length
 * in characters); these functions add the format rules of each field.
 */
#ifndef SH_AUTH_VALIDATE_H
#define SH_AUTH_VALIDATE_H

#include <stddef.h>

#define AUTH_USERNAME_MIN     3
#define AUTH_USERNAME_MAX     30
#define AUTH_EMAIL_MAX        254
#define AUTH_DISPLAY_NAME_MAX 50
#define AUTH_BIO_MAX          500
#define AUTH_AVATAR_URL_MAX   2048
#define AUTH_PASSWORD_MIN     8
#define AUTH_PASSWORD_MAX     72 /* bcrypt only reads 72 bytes: longer is refused, never truncated */

enum {
    AUTHV_OK = 0,
    AUTHV_EMPTY = -1,
    AUTHV_TOO_SHORT = -2,
    AUTHV_TOO_LONG = -3,
    AUTHV_BAD_CHAR = -4, /* a byte not allowed in this field (for passwords: NUL) */
    AUTHV_BAD_FORMAT = -5,
};

/* 3..30 of [A-Za-z0-9_]. */
int authv_username(const char *s, size_t len);
/* A practical subset of RFC 5321 addresses: local@domain, <= 254 bytes, local part <= 64 bytes of
 * atext and dots (no leading, trailing or double dot), domain of >= 2 dot-separated labels of
 * [A-Za-z0-9-] (no label starting or ending with '-', each <= 63), the last one >= 2 letters. */
int authv_email(const char *s, size_t len);
/* Empty (= no avatar), or "https://" + host + optional path, <= 2048 bytes of printable ASCII
 * without white space, quotes, '<', '>', '\\', '^', '`', '{', '|', '}'. */
int authv_avatar_url(const char *s, size_t len);
/* A password to set: 8..72 bytes, no NUL. */
int authv_password_new(const char *s, size_t len);
/* A password to check at login: 1..72 bytes, no NUL (the minimum may have changed since). */
int authv_password_login(const char *s, size_t len);
/* A stream key as this plugin makes them: "live_" + 40 lowercase hex digits. */
int authv_stream_key(const char *s, size_t len);
/* A token id: 32 lowercase hex digits. */
int authv_jti(const char *s, size_t len);
/* A decimal user id: 1..19 digits, no sign, no leading zero, fits int64 and > 0. Stores it. */
int authv_user_id(const char *s, size_t len, long long *out);

/* A short human sentence for an AUTHV_* code of `field` (static storage). */
const char *authv_message(const char *field, int code);

#endif
