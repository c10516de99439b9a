/*
 * json_valid.h - validation of fields in JSON request bodies, pure (no I/O).
 *
 * The SDK's json_str / json_int / json_bool wrap these and answer 400 on failure. Text rules:
 * valid UTF-8 (json-c does not check), no control characters (C0, DEL, C1; \n only with
 * SH_JSON_MULTILINE), trimmed unless SH_JSON_NOTRIM, length in code points.
 */
#ifndef SH_CORE_JSON_VALID_H
#define SH_CORE_JSON_VALID_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

/* Each returns 0 (ok, *out set), 1 (optional and absent) or -1 with a human message in msg. */
int sh_json_check_str(json_object *obj, const char *field, size_t min_chars, size_t max_chars, unsigned flags,
                      const char **out, size_t *out_len, char *msg, size_t msglen);
int sh_json_check_int(json_object *obj, const char *field, int64_t min, int64_t max, unsigned flags, int64_t *out,
                      char *msg, size_t msglen);
int sh_json_check_bool(json_object *obj, const char *field, unsigned flags, int *out, char *msg, size_t msglen);
/* Parse a request body that must be one JSON object (depth <= 32, nothing but white space after
 * it). Integer literals outside int64 are refused here, because json-c saturates them silently
 * (so a parsed -99999999999999999999 cannot be told from INT64_MIN). 0 with *out (caller puts),
 * or -1 with a message. */
int sh_json_parse_object(const char *body, size_t len, json_object **out, char *msg, size_t msglen);
/* 1 if `s` (len bytes) is valid UTF-8 without control characters (\n allowed if multiline). */
int sh_text_ok(const char *s, size_t len, int multiline);
/* Code points in valid UTF-8. */
size_t sh_utf8_chars(const char *s, size_t len);

#endif
