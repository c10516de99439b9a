/*
 * tests/fuzz/fuzz_json_valid.c - fuzz the validation of JSON request fields (core/json_valid.c).
 *
 * Input: byte 0 picks the mode and the flags, the rest is the payload.
 *   - mode 0 (byte0 & 1 == 0): the payload is a request body, parsed by sh_json_parse_object as
 *     the server does (one object, bounded depth, integers within int64); if it is accepted, its
 *     fields "name", "bio", "raw", "n", "big" and "b" are checked with sh_json_check_str / _int /
 *     _bool under several bounds and flags.
 *   - mode 1: the payload's bytes, unchanged, are the value of field "s" (json-c does not check
 *     UTF-8, so this reaches the text rules with any bytes), checked with the flags of byte 0.
 * Checks: an accepted string is valid UTF-8 without controls per an independent reference, has
 * the code-point count within bounds, contains no NUL, is trimmed unless NOTRIM, and is what the
 * object now holds; sh_text_ok agrees with the reference on every payload; an accepted integer is
 * within bounds; an accepted bool is 0 or 1; a refusal always has a message naming the field.
 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_valid.c"
#include "core/utf8.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(c)                                                                                                    \
    do {                                                                                                               \
        if (!(c)) abort();                                                                                             \
    } while (0)

/* Reference: RFC 3629 UTF-8 with no C0 (except \n when multiline), no DEL, no C1. Sets *chars. */
static int ref_text_ok(const uint8_t *p, size_t n, int multiline, size_t *chars) {
    size_t i = 0, count = 0;
    while (i < n) {
        uint32_t cp;
        size_t len;
        uint8_t b = p[i];
        if (b < 0x80) {
            cp = b;
            len = 1;
        } else if ((b & 0xE0) == 0xC0) {
            cp = b & 0x1F;
            len = 2;
        } else if ((b & 0xF0) == 0xE0) {
            cp = b & 0x0F;
            len = 3;
        } else if ((b & 0xF8) == 0xF0) {
            cp = b & 0x07;
            len = 4;
        } else {
            return 0;
        }
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return 0;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        if ((cp < 0x20 && !(multiline && cp == '\n')) || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F)) return 0;
        i += len;
        count++;
    }
    *chars = count;
    return 1;
}

static int is_trim_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void check_str(json_object *obj, const char *field, size_t min, size_t max, unsigned flags) {
    const char *out = NULL;
    size_t len = 0;
    char msg[256];
    msg[0] = '\0';
    int rc = sh_json_check_str(obj, field, min, max, flags, &out, &len, msg, sizeof msg);
    if (rc < 0) {
        FZ_CHECK(strncmp(msg, field, strlen(field)) == 0);
        return;
    }
    if (rc == 1) {
        FZ_CHECK(flags & SH_JSON_OPTIONAL);
        FZ_CHECK(out == NULL);
        return;
    }
    FZ_CHECK(rc == 0 && out != NULL);
    FZ_CHECK(strlen(out) == len);
    size_t chars = 0;
    FZ_CHECK(ref_text_ok((const uint8_t *)out, len, (flags & SH_JSON_MULTILINE) != 0, &chars));
    FZ_CHECK(chars >= min && chars <= max);
    FZ_CHECK(sh_utf8_chars(out, len) == chars);
    if (!(flags & SH_JSON_NOTRIM) && len > 0) FZ_CHECK(!is_trim_space(out[0]) && !is_trim_space(out[len - 1]));
    json_object *v = NULL;
    FZ_CHECK(json_object_object_get_ex(obj, field, &v));
    FZ_CHECK(json_object_get_string(v) == out);
}

static void check_int(json_object *obj, const char *field, int64_t min, int64_t max, unsigned flags) {
    int64_t out = 0x5a5a;
    char msg[256];
    int rc = sh_json_check_int(obj, field, min, max, flags, &out, msg, sizeof msg);
    if (rc == 0)
        FZ_CHECK(out >= min && out <= max);
    else if (rc == 1)
        FZ_CHECK((flags & SH_JSON_OPTIONAL) && out == 0x5a5a);
    else
        FZ_CHECK(rc == -1 && strncmp(msg, field, strlen(field)) == 0 && out == 0x5a5a);
}

static void check_bool(json_object *obj, const char *field, unsigned flags) {
    int out = 7;
    char msg[256];
    int rc = sh_json_check_bool(obj, field, flags, &out, msg, sizeof msg);
    if (rc == 0)
        FZ_CHECK(out == 0 || out == 1);
    else
        FZ_CHECK(out == 7 && (rc == -1 || (rc == 1 && (flags & SH_JSON_OPTIONAL))));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 64 * 1024) return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    unsigned flags = (mode >> 1) & (SH_JSON_OPTIONAL | SH_JSON_MULTILINE | SH_JSON_NOTRIM);

    /* the text rules on the raw bytes, against the reference */
    size_t chars = 0;
    for (int ml = 0; ml < 2; ml++) {
        int ref = ref_text_ok(p, n, ml, &chars);
        FZ_CHECK(sh_text_ok((const char *)p, n, ml) == ref);
        if (ref) FZ_CHECK(sh_utf8_chars((const char *)p, n) == chars);
    }

    if (mode & 1) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "s", json_object_new_string_len((const char *)p, (int)n));
        size_t min = (mode >> 4) & 3, max = (mode & 0x40) ? 8 : 4096;
        check_str(o, "s", min, max, flags);
        json_object_put(o);
        return 0;
    }

    json_object *o = NULL;
    char msg[128];
    if (sh_json_parse_object((const char *)p, n, &o, msg, sizeof msg) < 0) {
        FZ_CHECK(o == NULL && msg[0] != '\0');
        return 0;
    }
    FZ_CHECK(o != NULL && json_object_is_type(o, json_type_object));
    check_str(o, "name", 1, 64, 0);
    check_str(o, "bio", 0, 500, SH_JSON_OPTIONAL | SH_JSON_MULTILINE);
    check_str(o, "raw", 0, 32, SH_JSON_NOTRIM | SH_JSON_OPTIONAL);
    check_str(o, "name", 3, 3, flags); /* again, after the first check stored a trimmed copy */
    check_int(o, "n", -100, 100, 0);
    check_int(o, "n", 0, 0, SH_JSON_OPTIONAL);
    check_int(o, "big", INT64_MIN, INT64_MAX, SH_JSON_OPTIONAL);
    check_bool(o, "b", 0);
    check_bool(o, "b", SH_JSON_OPTIONAL);
    json_object_put(o);
    return 0;
}
