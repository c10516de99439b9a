/*
 * chat_text.h - the chat plugin's pure text checks: chat messages (strict UTF-8, no control
 * characters, trimmed, counted in code points) and reactions (exactly one emoji grapheme from a
 * small allowlist), plus the few small parsers the plugin's events share (usernames, ids).
 *
 * No I/O, no globals, no allocation: functions over caller buffers with explicit lengths. Nothing
 * is rendered or escaped here: a message is stored and sent exactly as it arrived (minus the
 * trimmed white space); JSON encoding is json-c's job. Any thread.
 */
#ifndef SH_CHAT_TEXT_H
#define SH_CHAT_TEXT_H

#include <stddef.h>
#include <stdint.h>

enum {
    CHAT_TEXT_OK = 0,
    CHAT_TEXT_EMPTY = -1,    /* nothing left after trimming */
    CHAT_TEXT_TOO_LONG = -2, /* more than max_chars code points after trimming */
    CHAT_TEXT_BAD_UTF8 = -3, /* ill-formed UTF-8, or U+FFFD (what a broken encoding, or a lone UTF-16
                                surrogate escape in the JSON, turned into) */
    CHAT_TEXT_CONTROL = -4,  /* a control character (C0, DEL, C1), or a line break when not allowed */
};

/* Check a chat message of `len` bytes. White space (Unicode White_Space) at both ends is trimmed:
 * on CHAT_TEXT_OK, *off and *out_len give the trimmed part (a slice of `s`) and *chars its length
 * in code points (1..max_chars). Line breaks (\n) inside are allowed only with `allow_newlines`;
 * \r, \t and every other control character never are. Returns a CHAT_TEXT_* status. */
int chat_text_check(const char *s, size_t len, size_t max_chars, int allow_newlines, size_t *off, size_t *out_len,
                    size_t *chars);

/* 1 if `s` (`len` bytes) is exactly one emoji grapheme: a pictograph or symbol from the
 * allowlist, optionally followed by VS16 (U+FE0F) and/or a skin tone (U+1F3FB..U+1F3FF), several
 * such joined by ZWJ (U+200D), a flag (two regional indicators), a keycap ([0-9#*] U+FE0F?
 * U+20E3) or a tag sequence (U+1F3F4 + tags + U+E007F). Text, several emoji and stray modifiers
 * are refused. At most CHAT_EMOJI_MAX_BYTES bytes. */
#define CHAT_EMOJI_MAX_BYTES 64
int chat_emoji_valid(const char *s, size_t len);

/* 1 if `s` is a username as auth defines them: 3..30 of [A-Za-z0-9_]. */
int chat_username_valid(const char *s);

/* 1 if `s` may be a room id: 1..32 of [A-Za-z0-9]. */
#define CHAT_ROOM_ID_MAX 32
int chat_room_id_valid(const char *s);

/* Parse a positive decimal id (1..2^63-1, no sign, no leading zeros, no spaces). 0 or -1. */
int chat_parse_id(const char *s, int64_t *out);

#endif
