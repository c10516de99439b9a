/*
 * rooms_util.c - see rooms_util.h.
 */
#include "plugins/rooms/rooms_util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char B62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int rooms_id_make(const unsigned char *rnd, size_t n, char out[ROOM_ID_LEN + 1]) {
    size_t k = 0;
    for (size_t i = 0; i < n && k < ROOM_ID_LEN; i++)
        if (rnd[i] < 248) out[k++] = B62[rnd[i] % 62];
    out[k] = '\0';
    return k == ROOM_ID_LEN ? 0 : -1;
}

int rooms_id_valid(const char *s) {
    if (!s) return 0;
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return 0;
        if (n >= ROOM_ID_MAX) return 0;
    }
    return n > 0;
}

static int b64u_val(char c) {
    const char *p = c ? strchr(B64U, c) : NULL;
    return p ? (int)(p - B64U) : -1;
}

int rooms_cursor_encode(char tag, const int64_t *v, size_t n, char *out, size_t outlen) {
    char plain[CURSOR_VALUES * 21 + 4];
    size_t len = 0;
    if (n > CURSOR_VALUES) return -1;
    plain[len++] = tag;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(plain + len, sizeof plain - len, ":%" PRId64, v[i]);
    size_t need = (len * 4 + 2) / 3 + 1;
    if (need > outlen) return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | (unsigned char)plain[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = B64U[(acc >> bits) & 63];
        }
    }
    if (bits) out[o++] = B64U[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return 0;
}

int rooms_cursor_decode(const char *s, char tag, int64_t *v, size_t want) {
    char plain[CURSOR_VALUES * 21 + 4];
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (!s || !*s || want > CURSOR_VALUES || strlen(s) >= CURSOR_MAX) return -1;
    for (; *s; s++) {
        int d = b64u_val(*s);
        if (d < 0) return -1;
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len + 1 >= sizeof plain) return -1;
            plain[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || (acc & ((1u << bits) - 1u))) return -1; /* not canonical base64url */
    plain[len] = '\0';
    if (len < 1 || plain[0] != tag) return -1;
    const char *p = plain + 1;
    for (size_t i = 0; i < want; i++) {
        if (*p != ':') return -1;
        p++;
        if (!((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9'))) return -1;
        char *end;
        errno = 0;
        long long x = strtoll(p, &end, 10);
        if (errno || end == p) return -1;
        v[i] = (int64_t)x;
        p = end;
    }
    return *p == '\0' ? 0 : -1;
}

int rooms_like_pattern(const char *q, char *out, size_t outlen) {
    size_t o = 0;
    if (outlen < 3) return -1;
    out[o++] = '%';
    for (; *q; q++) {
        if (*q == '\\' || *q == '%' || *q == '_') {
            if (o + 1 >= outlen) return -1;
            out[o++] = '\\';
        }
        if (o + 1 >= outlen) return -1;
        out[o++] = *q;
    }
    if (o + 2 > outlen) return -1;
    out[o++] = '%';
    out[o] = '\0';
    return 0;
}
