/*
 * core/utf8.c - strict incremental UTF-8 validator. See core/utf8.h.
 */
#include "core/utf8.h"

#include <string.h>

#define UTF8_BAD 0xFFu

void sh_utf8_init(sh_utf8_state *st) {
    st->need = 0;
    st->lo = 0x80;
    st->hi = 0xBF;
}

/* Classify a lead byte: how many continuation bytes follow and the range of the first one. */
static int utf8_lead(uint8_t c, sh_utf8_state *st) {
    st->lo = 0x80;
    st->hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        st->need = 1;
    } else if (c == 0xE0) {
        st->need = 2;
        st->lo = 0xA0; /* no overlongs */
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        st->need = 2;
    } else if (c == 0xED) {
        st->need = 2;
        st->hi = 0x9F; /* no surrogates U+D800..U+DFFF */
    } else if (c == 0xF0) {
        st->need = 3;
        st->lo = 0x90; /* no overlongs */
    } else if (c >= 0xF1 && c <= 0xF3) {
        st->need = 3;
    } else if (c == 0xF4) {
        st->need = 3;
        st->hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return SH_UTF8_INVALID; /* 80..C1 (stray continuation, overlong 2-byte), F5..FF */
    }
    return SH_UTF8_OK;
}

int sh_utf8_feed(sh_utf8_state *st, const void *data, size_t len) {
    const uint8_t *p = data;
    size_t i = 0;

    if (st->need == UTF8_BAD) return SH_UTF8_INVALID;
    while (i < len) {
        uint8_t c = p[i];
        if (st->need == 0) {
            /* Fast path: skip runs of ASCII eight bytes at a time. */
            while (len - i >= 8) {
                uint64_t w;
                memcpy(&w, p + i, sizeof w);
                if (w & UINT64_C(0x8080808080808080)) break;
                i += 8;
            }
            if (i == len) break;
            c = p[i];
            if (c < 0x80) {
                i++;
                continue;
            }
            if (utf8_lead(c, st) != SH_UTF8_OK) goto fail;
        } else {
            if (c < st->lo || c > st->hi) goto fail;
            st->need--;
            st->lo = 0x80;
            st->hi = 0xBF;
        }
        i++;
    }
    return SH_UTF8_OK;
fail:
    st->need = UTF8_BAD;
    return SH_UTF8_INVALID;
}

bool sh_utf8_is_complete(const sh_utf8_state *st) {
    return st->need == 0;
}

bool sh_utf8_is_invalid(const sh_utf8_state *st) {
    return st->need == UTF8_BAD;
}

bool sh_utf8_valid(const void *data, size_t len) {
    sh_utf8_state st;
    sh_utf8_init(&st);
    return sh_utf8_feed(&st, data, len) == SH_UTF8_OK && sh_utf8_is_complete(&st);
}

size_t sh_utf8_truncate(const void *data, size_t len, size_t max_len) {
    const uint8_t *p = data;
    size_t n;

    if (len <= max_len) return len;
    n = max_len;
    /* Step back over continuation bytes so that p[n] starts a code point. */
    while (n > 0 && (p[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int hex4(const char *s, size_t len, size_t i, unsigned *out) {
    if (i + 4 > len) return 0;
    unsigned v = 0;
    for (size_t k = 0; k < 4; k++) {
        char c = s[i + k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

bool sh_json_escapes_ok(const char *s, size_t len) {
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!in_str) {
            if (c == '"') in_str = 1;
            continue;
        }
        if (c == '"') {
            in_str = 0;
            continue;
        }
        if (c != '\\' || i + 1 >= len) continue;
        if (s[i + 1] != 'u') {
            i++;
            continue;
        }
        unsigned u;
        if (!hex4(s, len, i + 2, &u)) return true; /* malformed: the JSON parser refuses it */
        i += 5;
        if (u >= 0xDC00 && u <= 0xDFFF) return false; /* low surrogate alone */
        if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo;
            if (i + 2 >= len || s[i + 1] != '\\' || s[i + 2] != 'u' || !hex4(s, len, i + 3, &lo) || lo < 0xDC00 ||
                lo > 0xDFFF)
                return false;
            i += 6;
        }
    }
    return true;
}
