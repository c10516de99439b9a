/*
 * rooms_util.h - the rooms plugin's pure helpers: public room ids, opaque keyset cursors and
 * LIKE patterns for search. No I/O, no globals, no allocation. Any thread.
 */
#ifndef SH_ROOMS_UTIL_H
#define SH_ROOMS_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ROOM_ID_LEN    12 /* a new room's public id: 12 base62 characters (~71 bits) */
#define ROOM_ID_MAX    32 /* ids accepted on input (letters and digits only) */
#define ROOM_ID_RANDOM 48 /* random bytes rooms_id_make wants (rejection sampling) */
#define CURSOR_MAX     96 /* an encoded cursor, NUL included, fits in this */
#define CURSOR_VALUES  3

/* A room id from `n` random bytes (unbiased: bytes >= 248 are skipped). 0, or -1 when the bytes
 * ran out before ROOM_ID_LEN characters (practically never with ROOM_ID_RANDOM bytes). */
int rooms_id_make(const unsigned char *rnd, size_t n, char out[ROOM_ID_LEN + 1]);
/* 1 if `s` may be a room id: 1..ROOM_ID_MAX of [A-Za-z0-9]. */
int rooms_id_valid(const char *s);

/* An opaque cursor: tag letter plus up to CURSOR_VALUES integers, base64url-encoded.
 * encode: 0, or -1 when out is too small. decode: 0 with `n` values (exactly `want`), -1 when the
 * text is not a cursor of that tag and arity. */
int rooms_cursor_encode(char tag, const int64_t *v, size_t n, char *out, size_t outlen);
int rooms_cursor_decode(const char *s, char tag, int64_t *v, size_t want);

/* "%<q with \ % _ escaped by \>%" for ILIKE ... ESCAPE '\'. 0, or -1 when out is too small. */
int rooms_like_pattern(const char *q, char *out, size_t outlen);

#endif
