/*
 * json_valid.c - see json_valid.h. A trimmed string is stored back into the object (so the
 * pointer handed out stays owned by the request's JSON tree).
 */
#include "core/json_valid.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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
            char *copy = strndup(s + a, b - a); /* set_string_len must not read its own buffer */
            if (!copy) {
                snprintf(msg, msglen, "%s could not be read.", field);
                return -1;
            }
            json_object_set_string_len(v, copy, (int)(b - a));
            free(copy);
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
    /* json-c keeps integers above INT64_MAX as uint64 and clamps get_int64: refuse, never clamp */
    int overflow = x == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX;
    if (errno || overflow || x < min || x > max) {
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

/* 1 if every integer literal outside strings fits in int64. */
static int integers_fit(const char *s, size_t len) {
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            continue;
        }
        if (c != '-' && (c < '0' || c > '9')) continue;
        size_t start = i, digits = 0;
        int neg = c == '-';
        if (neg) i++;
        while (i < len && s[i] == '0' && digits == 0 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9') i++;
        size_t dstart = i;
        while (i < len && s[i] >= '0' && s[i] <= '9') i++, digits++;
        int is_int = !(i < len && (s[i] == '.' || s[i] == 'e' || s[i] == 'E'));
        while (i < len && strchr("0123456789.eE+-", s[i])) i++;
        i--;
        (void)start;
        if (!is_int || digits < 19) continue;
        if (digits > 19) return 0;
        const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
        if (memcmp(s + dstart, lim, 19) > 0) return 0;
    }
    return 1;
}

int sh_json_parse_object(const char *body, size_t len, json_object **out, char *msg, size_t msglen) {
    *out = NULL;
    if (!len) {
        snprintf(msg, msglen, "A JSON body is required.");
        return -1;
    }
    json_tokener *tok = json_tokener_new_ex(32);
    if (!tok) {
        snprintf(msg, msglen, "Out of memory.");
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* no trailing commas, comments, 'quotes', 01 */
    json_object *o = json_tokener_parse_ex(tok, body, (int)len);
    int ok = json_tokener_get_error(tok) == json_tokener_success;
    for (size_t off = ok ? (size_t)tok->char_offset : len; ok && off < len; off++)
        if (!strchr(" \t\r\n", body[off])) ok = 0;
    json_tokener_free(tok);
    if (!ok || !o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        snprintf(msg, msglen, "The body must be a JSON object.");
        return -1;
    }
    if (!sh_json_escapes_ok(body, len)) {
        json_object_put(o);
        snprintf(msg, msglen, "The body contains a lone UTF-16 surrogate escape.");
        return -1;
    }
    if (!integers_fit(body, len)) {
        json_object_put(o);
        snprintf(msg, msglen, "A number in the body is out of range.");
        return -1;
    }
    *out = o;
    return 0;
}
