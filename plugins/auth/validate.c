/*
 * validate.c - see validate.h. Pure byte-level checks.
 */
#include "plugins/auth/validate.h"

#include <string.h>
#include <strings.h>

static int is_alnum(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
static int is_alpha(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
static int is_lhex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int authv_username(const char *s, size_t len) {
    if (!s || len == 0) return AUTHV_EMPTY;
    if (len < AUTH_USERNAME_MIN) return AUTHV_TOO_SHORT;
    if (len > AUTH_USERNAME_MAX) return AUTHV_TOO_LONG;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum((unsigned char)s[i]) && s[i] != '_') return AUTHV_BAD_CHAR;
    return AUTHV_OK;
}

/* RFC 5322 atext, without the characters that only cause trouble downstream. */
static int is_atext(unsigned char c) {
    return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int authv_email(const char *s, size_t len) {
    if (!s || len == 0) return AUTHV_EMPTY;
    if (len > AUTH_EMAIL_MAX) return AUTHV_TOO_LONG;
    const char *at = memchr(s, '@', len);
    if (!at) return AUTHV_BAD_FORMAT;
    size_t llen = (size_t)(at - s), dlen = len - llen - 1;
    if (llen == 0 || llen > 64 || dlen == 0) return AUTHV_BAD_FORMAT;
    /* local part: atext and single inner dots */
    if (s[0] == '.' || s[llen - 1] == '.') return AUTHV_BAD_FORMAT;
    for (size_t i = 0; i < llen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (s[i + 1] == '.') return AUTHV_BAD_FORMAT;
        } else if (!is_atext(c)) {
            return AUTHV_BAD_CHAR;
        }
    }
    /* domain: labels of [A-Za-z0-9-], at least two, the last alphabetic and >= 2 long */
    const char *d = at + 1;
    size_t labels = 0, start = 0;
    for (size_t i = 0; i <= dlen; i++) {
        if (i == dlen || d[i] == '.') {
            size_t l = i - start;
            if (l == 0 || l > 63) return AUTHV_BAD_FORMAT;
            if (d[start] == '-' || d[i - 1] == '-') return AUTHV_BAD_FORMAT;
            labels++;
            if (i == dlen) {
                if (l < 2) return AUTHV_BAD_FORMAT;
                for (size_t k = start; k < i; k++)
                    if (!is_alpha((unsigned char)d[k])) return AUTHV_BAD_FORMAT;
            }
            start = i + 1;
        } else if (!is_alnum((unsigned char)d[i]) && d[i] != '-') {
            return AUTHV_BAD_CHAR;
        }
    }
    return labels >= 2 ? AUTHV_OK : AUTHV_BAD_FORMAT;
}

int authv_avatar_url(const char *s, size_t len) {
    if (!s || len == 0) return AUTHV_OK; /* empty = no avatar */
    if (len > AUTH_AVATAR_URL_MAX) return AUTHV_TOO_LONG;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c)) return AUTHV_BAD_CHAR;
    }
    if (len < 9 || strncasecmp(s, "https://", 8) != 0) return AUTHV_BAD_FORMAT;
    /* a host: at least one character before the path, query or fragment, no user info */
    size_t h = 8, e = h;
    while (e < len && s[e] != '/' && s[e] != '?' && s[e] != '#')
        e++;
    if (e == h) return AUTHV_BAD_FORMAT;
    if (memchr(s + h, '@', e - h)) return AUTHV_BAD_FORMAT;
    for (size_t i = h; i < e; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && !strchr(".-:[]", c)) return AUTHV_BAD_FORMAT;
    }
    return AUTHV_OK;
}

static int password_check(const char *s, size_t len, size_t min) {
    if (!s || len == 0) return AUTHV_EMPTY;
    if (len < min) return AUTHV_TOO_SHORT;
    if (len > AUTH_PASSWORD_MAX) return AUTHV_TOO_LONG;
    if (memchr(s, '\0', len)) return AUTHV_BAD_CHAR;
    return AUTHV_OK;
}

int authv_password_new(const char *s, size_t len) {
    return password_check(s, len, AUTH_PASSWORD_MIN);
}
int authv_password_login(const char *s, size_t len) {
    return password_check(s, len, 1);
}

int authv_stream_key(const char *s, size_t len) {
    if (!s || len == 0) return AUTHV_EMPTY;
    if (len != 45 || memcmp(s, "live_", 5) != 0) return AUTHV_BAD_FORMAT;
    for (size_t i = 5; i < len; i++)
        if (!is_lhex((unsigned char)s[i])) return AUTHV_BAD_CHAR;
    return AUTHV_OK;
}

int authv_jti(const char *s, size_t len) {
    if (!s || len != 32) return AUTHV_BAD_FORMAT;
    for (size_t i = 0; i < len; i++)
        if (!is_lhex((unsigned char)s[i])) return AUTHV_BAD_CHAR;
    return AUTHV_OK;
}

int authv_user_id(const char *s, size_t len, long long *out) {
    if (!s || len == 0) return AUTHV_EMPTY;
    if (len > 19 || s[0] == '0') return AUTHV_BAD_FORMAT;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return AUTHV_BAD_CHAR;
        v = v * 10u + (unsigned)(s[i] - '0');
    }
    if (v > 9223372036854775807ull) return AUTHV_BAD_FORMAT;
    if (out) *out = (long long)v;
    return AUTHV_OK;
}

const char *authv_message(const char *field, int code) {
    if (!field) return "Invalid value.";
    if (strcmp(field, "username") == 0) return "username must be 3 to 30 characters: letters, digits or underscores.";
    if (strcmp(field, "email") == 0) return "email must be a valid e-mail address of at most 254 characters.";
    if (strcmp(field, "avatarUrl") == 0)
        return "avatarUrl must be an https:// URL of at most 2048 characters, or empty.";
    if (strcmp(field, "password") == 0) {
        switch (code) {
        case AUTHV_EMPTY:
            return "password is required.";
        case AUTHV_TOO_SHORT:
            return "password must be at least 8 bytes.";
        case AUTHV_TOO_LONG:
            return "password must be at most 72 bytes.";
        case AUTHV_BAD_CHAR:
            return "password must not contain NUL characters.";
        default:
            return "password is not acceptable.";
        }
    }
    return "Invalid value.";
}
