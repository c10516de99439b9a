/*
 * json_valid.c - see json_valid.h. A trimmed string is stored back into the object (so the
 * pointer handed out stays owned by the request's JSON tree).
 */
#include "core/json_valid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <streamhub/streamhub.h>

#include "core/utf8.h"

size_t sh_utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

int sh_text_ok(const char *s, size_t len, int multiline) {
    if (!sh_utf8_valid(s, len)) return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && !(multiline && c == '\n')) return 0;
        if (c == 0x7F) return 0;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F */
        if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9F) return 0;
    }
    return 1;
}

static json_object *field_of(json_object *obj, const char *field, unsigned flags, int *absent) {
    json_object *v = NULL;
    *absent = !obj || !json_object_object_get_ex(obj, field, &v) || v == NULL;
    (void)flags;
    return v;
}

int sh_json_check_str(json_object *obj, const char *field, size_t min_chars, size_t max_chars, unsigned flags,
                      const char **out, size_t *out_len, char *msg, size_t msglen) {
    int absent;
    json_object *v = field_of(obj, field, flags, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, msglen, "%s is required.", field);
        return -1;
    }
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(msg, msglen, "%s must be a string.", field);
        return -1;
    }
    const char *s = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    if (memchr(s, '\0', len) || !sh_text_ok(s, len, (flags & SH_JSON_MULTILINE) != 0)) {
        snprintf(msg, msglen, "%s must be valid UTF-8 text without control characters.", field);
        return -1;
    }
    if (!(flags & SH_JSON_NOTRIM)) {
        size_t a = 0, b = len;
        while (a < b && strchr(" \t\n\r", s[a])) a++;
        while (b > a && strchr(" \t\n\r", s[b - 1])) b--;
        if (a != 0 || b != len) {
            json_object_set_string_len(v, s + a, (int)(b - a));
            s = json_object_get_string(v);
            len = b - a;
        }
    }
    size_t chars = sh_utf8_chars(s, len);
    if (chars < min_chars || chars > max_chars) {
        if (min_chars == max_chars)
            snprintf(msg, msglen, "%s must be %zu characters.", field, min_chars);
        else if (min_chars > 0)
            snprintf(msg, msglen, "%s must be %zu to %zu characters.", field, min_chars, max_chars);
        else
            snprintf(msg, msglen, "%s must be at most %zu characters.", field, max_chars);
        return -1;
    }
    *out = s;
    if (out_len) *out_len = len;
    return 0;
}

int sh_json_check_int(json_object *obj, const char *field, int64_t min, int64_t max, unsigned flags, int64_t *out,
                      char *msg, size_t msglen) {
    int absent;
    json_object *v = field_of(obj, field, flags, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, msglen, "%s is required.", field);
        return -1;
    }
    if (!json_object_is_type(v, json_type_int)) {
        snprintf(msg, msglen, "%s must be an integer.", field);
        return -1;
    }
    errno = 0;
    int64_t x = json_object_get_int64(v);
    if (errno || x < min || x > max) {
        snprintf(msg, msglen, "%s must be from %lld to %lld.", field, (long long)min, (long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

int sh_json_check_bool(json_object *obj, const char *field, unsigned flags, int *out, char *msg, size_t msglen) {
    int absent;
    json_object *v = field_of(obj, field, flags, &absent);
    if (absent) {
        if (flags & SH_JSON_OPTIONAL) return 1;
        snprintf(msg, msglen, "%s is required.", field);
        return -1;
    }
    if (!json_object_is_type(v, json_type_boolean)) {
        snprintf(msg, msglen, "%s must be true or false.", field);
        return -1;
    }
    *out = json_object_get_boolean(v);
    return 0;
}
