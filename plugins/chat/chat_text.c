/*
 * chat_text.c - pure text checks for chat messages and reactions (see chat_text.h).
 */
#include "plugins/chat/chat_text.h"

#include <string.h>

/* Decode one code point of strict UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF)
 * at s[*i]; advance *i. -1 when ill-formed. */
static int32_t utf8_next(const unsigned char *s, size_t len, size_t *i) {
    size_t p = *i;
    unsigned char c = s[p];
    int32_t cp;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        *i = p + 1;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    if (len - p - 1 < need) return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char b = s[p + k];
        if (b < lo || b > hi) return -1;
        lo = 0x80;
        hi = 0xBF;
        cp = (cp << 6) | (b & 0x3F);
    }
    *i = p + 1 + need;
    return cp;
}

static int is_space(int32_t c) {
    return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_control(int32_t c) {
    return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

int chat_text_check(const char *str, size_t len, size_t max_chars, int allow_newlines, size_t *off, size_t *out_len,
                    size_t *chars) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, start = 0, end = 0, n = 0;
    int seen = 0;
    if (!str) return CHAT_TEXT_EMPTY;
    /* More bytes than max_chars 4-byte characters plus generous white space cannot fit: refuse
     * without decoding megabytes. */
    if (max_chars < ((size_t)-1) / 8 && len > max_chars * 4 + 4096) return CHAT_TEXT_TOO_LONG;
    /* First pass: well-formed, no control characters other than white space ones, and where the
     * text without its surrounding white space starts and ends. */
    while (i < len) {
        size_t at = i;
        int32_t c = utf8_next(s, len, &i);
        if (c < 0 || c == 0xFFFD) return CHAT_TEXT_BAD_UTF8;
        if (is_space(c)) continue;
        if (is_control(c)) return CHAT_TEXT_CONTROL;
        if (!seen) start = at;
        seen = 1;
        end = i;
    }
    if (!seen) return CHAT_TEXT_EMPTY;
    /* Second pass over the trimmed text: count, and check the white space inside it. */
    for (i = start; i < end;) {
        int32_t c = utf8_next(s, end, &i);
        if (c < 0) return CHAT_TEXT_BAD_UTF8; /* cannot happen: validated above */
        if (c == '\n') {
            if (!allow_newlines) return CHAT_TEXT_CONTROL;
        } else if (is_control(c)) {
            return CHAT_TEXT_CONTROL; /* \t \r \v \f U+0085 inside the text */
        }
        if (++n > max_chars) return CHAT_TEXT_TOO_LONG;
    }
    *off = start;
    *out_len = end - start;
    *chars = n;
    return CHAT_TEXT_OK;
}

/* ---- emoji ---------------------------------------------------------------------------------- */

typedef struct range {
    int32_t lo, hi;
} range;

/* Pictographs and symbols shown as emoji by default (no VS16 needed). */
static const range EMOJI_BASE[] = {
    {0x231A, 0x231B},   {0x23E9, 0x23EC},   {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},
    {0x2600, 0x27BF},   {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x1F004, 0x1F004},
    {0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F201, 0x1F201}, {0x1F21A, 0x1F21A},
    {0x1F22F, 0x1F22F}, {0x1F232, 0x1F236}, {0x1F238, 0x1F23A}, {0x1F250, 0x1F251}, {0x1F300, 0x1F3FA},
    {0x1F400, 0x1F64F}, {0x1F680, 0x1F6FF}, {0x1F7E0, 0x1F7EB}, {0x1F7F0, 0x1F7F0}, {0x1F90C, 0x1F9FF},
    {0x1FA70, 0x1FAFF},
};

/* Symbols that are text by default: an emoji only with VS16 after them. */
static const range EMOJI_VS16[] = {
    {0x00A9, 0x00A9},   {0x00AE, 0x00AE},   {0x203C, 0x203C},   {0x2049, 0x2049},   {0x2122, 0x2122}, {0x2139, 0x2139},
    {0x2194, 0x2199},   {0x21A9, 0x21AA},   {0x2328, 0x2328},   {0x23CF, 0x23CF},   {0x23ED, 0x23EF}, {0x23F1, 0x23F2},
    {0x23F8, 0x23FA},   {0x24C2, 0x24C2},   {0x25AA, 0x25AB},   {0x25B6, 0x25B6},   {0x25C0, 0x25C0}, {0x25FB, 0x25FC},
    {0x2934, 0x2935},   {0x2B05, 0x2B07},   {0x3030, 0x3030},   {0x303D, 0x303D},   {0x3297, 0x3297}, {0x3299, 0x3299},
    {0x1F170, 0x1F171}, {0x1F17E, 0x1F17F}, {0x1F202, 0x1F202}, {0x1F237, 0x1F237},
};

static int in_ranges(const range *r, size_t n, int32_t c) {
    for (size_t i = 0; i < n; i++)
        if (c >= r[i].lo && c <= r[i].hi) return 1;
    return 0;
}

#define VS16         0xFE0F
#define ZWJ          0x200D
#define KEYCAP       0x20E3
#define IS_SKIN(c)   ((c) >= 0x1F3FB && (c) <= 0x1F3FF)
#define IS_RI(c)     ((c) >= 0x1F1E6 && (c) <= 0x1F1FF)
#define IS_TAG(c)    ((c) >= 0xE0020 && (c) <= 0xE007E)
#define TAG_END      0xE007F
#define BLACK_FLAG   0x1F3F4
#define MAX_CPS      16
#define MAX_ELEMENTS 8

/* One element at cp[*k]; advances *k. 0 or -1. `alone` = the element may not be ZWJ-joined. */
static int emoji_element(const int32_t *cp, size_t n, size_t *k, int *alone) {
    size_t i = *k;
    int32_t c = cp[i];
    *alone = 0;
    if (IS_RI(c)) { /* a flag: exactly two regional indicators */
        if (i + 1 >= n || !IS_RI(cp[i + 1])) return -1;
        *k = i + 2;
        *alone = 1;
        return 0;
    }
    if ((c >= '0' && c <= '9') || c == '#' || c == '*') { /* keycap */
        i++;
        if (i < n && cp[i] == VS16) i++;
        if (i >= n || cp[i] != KEYCAP) return -1;
        *k = i + 1;
        *alone = 1;
        return 0;
    }
    if (c == BLACK_FLAG && i + 1 < n && IS_TAG(cp[i + 1])) { /* tag sequence (subdivision flags) */
        size_t tags = 0;
        for (i++; i < n && IS_TAG(cp[i]); i++)
            tags++;
        if (tags > 8 || i >= n || cp[i] != TAG_END) return -1;
        *k = i + 1;
        *alone = 1;
        return 0;
    }
    int base = in_ranges(EMOJI_BASE, sizeof EMOJI_BASE / sizeof EMOJI_BASE[0], c) && !IS_SKIN(c);
    int needs_vs = !base && in_ranges(EMOJI_VS16, sizeof EMOJI_VS16 / sizeof EMOJI_VS16[0], c);
    if (!base && !needs_vs) return -1;
    i++;
    int vs = 0, skin = 0;
    while (i < n && (cp[i] == VS16 || IS_SKIN(cp[i]))) {
        if (cp[i] == VS16) {
            if (vs++) return -1;
        } else {
            if (skin++ || needs_vs) return -1;
        }
        i++;
    }
    if (needs_vs && !vs) return -1;
    *k = i;
    return 0;
}

int chat_emoji_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    int32_t cp[MAX_CPS];
    size_t n = 0, i = 0;
    if (!str || len == 0 || len > CHAT_EMOJI_MAX_BYTES) return 0;
    while (i < len) {
        int32_t c = utf8_next(s, len, &i);
        if (c < 0 || n >= MAX_CPS) return 0;
        cp[n++] = c;
    }
    size_t k = 0, elements = 0;
    for (;;) {
        int alone;
        if (k >= n || emoji_element(cp, n, &k, &alone) < 0) return 0;
        elements++;
        if (k == n) return 1;
        if (alone || cp[k] != ZWJ || elements >= MAX_ELEMENTS) return 0;
        k++; /* the ZWJ: another element must follow */
    }
}

/* ---- small parsers ---------------------------------------------------------------------------- */

int chat_username_valid(const char *s) {
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 30 || !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'))
            return 0;
    }
    return n >= 3;
}

int chat_room_id_valid(const char *s) {
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= CHAT_ROOM_ID_MAX || !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return 0;
    }
    return n >= 1;
}

int chat_parse_id(const char *s, int64_t *out) {
    uint64_t v = 0;
    size_t n = 0;
    if (!s || s[0] < '1' || s[0] > '9') return -1;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 19) return -1;
        v = v * 10 + (uint64_t)(s[n] - '0');
    }
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = (int64_t)v;
    return 0;
}
