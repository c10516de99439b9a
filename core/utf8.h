/*
 * core/utf8.h - strict UTF-8 validation (RFC 3629), incremental and one-shot.
 *
 * What: a byte-at-a-time state machine that accepts exactly the well-formed UTF-8 of RFC 3629
 * (Unicode table 3-7): it rejects overlong forms (C0, C1, E0 80..9F, F0 80..8F), UTF-16 surrogates
 * (ED A0..BF), code points above U+10FFFF (F4 90.., F5..FF) and stray continuation bytes. Because
 * the whole state is a small value type, a message split into any number of pieces (WebSocket
 * fragments, partial reads) can be validated piece by piece and the verdict is the same as for the
 * concatenation.
 *
 * Ownership: no allocation; the caller owns the state struct and the bytes.
 * Threads: pure functions over caller memory; any thread may call them on its own state.
 */
#ifndef SH_CORE_UTF8_H
#define SH_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes (0 / negative, per module convention). */
enum sh_utf8_status {
    SH_UTF8_OK = 0,       /* every byte so far is part of well-formed UTF-8 */
    SH_UTF8_INVALID = -1, /* an ill-formed sequence was seen; the state stays invalid */
};

/*
 * Validator state. Treat as opaque; zero it with sh_utf8_init(). `need` is the number of
 * continuation bytes still expected, `lo`/`hi` the allowed range of the next one; need == 0xFF
 * marks a state that has seen invalid input.
 */
typedef struct sh_utf8_state {
    uint8_t need;
    uint8_t lo;
    uint8_t hi;
} sh_utf8_state;

/* Reset `st` to the start state (at a code point boundary, nothing invalid seen). */
void sh_utf8_init(sh_utf8_state *st);

/*
 * Feed `len` bytes at `data` (may be NULL when len == 0). Returns SH_UTF8_OK if no ill-formed
 * sequence has been seen yet (a code point may still be open: see sh_utf8_is_complete), or
 * SH_UTF8_INVALID as soon as one is, and for every later call. `data` is only read during the call.
 */
int sh_utf8_feed(sh_utf8_state *st, const void *data, size_t len);

/* True if the input so far is valid and ends on a code point boundary (a whole message is valid). */
bool sh_utf8_is_complete(const sh_utf8_state *st);

/* True if the state has seen an ill-formed sequence. */
bool sh_utf8_is_invalid(const sh_utf8_state *st);

/* One-shot: true if `len` bytes at `data` are complete, well-formed UTF-8 (len 0 is valid). */
bool sh_utf8_valid(const void *data, size_t len);

/*
 * Largest prefix length <= max_len of the valid UTF-8 string `data` (len bytes) that does not cut
 * a code point in half. Used to truncate text (e.g. a close reason) safely. If `data` is not valid
 * UTF-8 the result is still <= max_len but may end inside an ill-formed sequence.
 */
size_t sh_utf8_truncate(const void *data, size_t len, size_t max_len);

/*
 * JSON text: true unless a \uXXXX escape encodes a lone UTF-16 surrogate (a high surrogate not
 * followed by a low one, or a low one on its own). json-c turns those into U+FFFD silently, so
 * text would be stored changed; callers refuse such documents instead. Escapes are only looked
 * for inside strings. Pure; any thread.
 */
bool sh_json_escapes_ok(const char *s, size_t len);

#endif /* SH_CORE_UTF8_H */
