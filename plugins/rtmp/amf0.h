/*
 * plugins/rtmp/amf0.h - AMF0 decoder (to a small value tree) and encoder (a byte writer).
 *
 * What it is: the Action Message Format v0 used by RTMP command (type 20) and data (type 18)
 * messages. The decoder turns a buffer into `struct amf0_value` trees with explicit limits
 * (nesting depth, number of values, string length); the encoder appends AMF0 to a growable,
 * size-capped `struct amf0_writer` and is shaped for building `_result`, `onStatus` and
 * `onBWDone` answers. amf0_command_decode() splits a command message into name, transaction
 * id, command object and remaining arguments.
 *
 * Accepted markers: number, boolean, string, object, null, undefined, ECMA array, strict array,
 * date, long string (object end only inside objects / ECMA arrays). Rejected: reference,
 * movieclip, recordset, unsupported, XML document, typed object, AVM+ (AMF0_ERR_UNSUPPORTED) and
 * anything above 0x11 (AMF0_ERR_MARKER). A length that runs past the buffer is AMF0_ERR_TRUNCATED;
 * nothing is allocated from a declared length or count before the bytes are known to be there.
 * For AMF3 command messages (type 17) skip the leading 0x00 format byte before decoding.
 *
 * Ownership: a decoded value owns all memory below it (strings, properties, items); release it
 * with amf0_value_clear() (or amf0_command_clear() / amf0_values_free()). Strings are stored
 * with their length and a terminating NUL; they may contain NUL bytes themselves, so compare
 * strlen(s) with the length before treating one as a C string. A writer owns its buffer until
 * amf0_writer_free(). Threads: no globals; values and writers belong to the caller's thread.
 */
#ifndef STREAMHUB_RTMP_AMF0_H
#define STREAMHUB_RTMP_AMF0_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum amf0_type {
    AMF0_NUMBER = 0x00,
    AMF0_BOOLEAN = 0x01,
    AMF0_STRING = 0x02,
    AMF0_OBJECT = 0x03,
    AMF0_MOVIECLIP = 0x04, /* reserved, rejected */
    AMF0_NULL = 0x05,
    AMF0_UNDEFINED = 0x06,
    AMF0_REFERENCE = 0x07, /* rejected */
    AMF0_ECMA_ARRAY = 0x08,
    AMF0_OBJECT_END = 0x09,
    AMF0_STRICT_ARRAY = 0x0A,
    AMF0_DATE = 0x0B,
    AMF0_LONG_STRING = 0x0C,
    AMF0_UNSUPPORTED = 0x0D, /* rejected, as are 0x0E..0x11 */
    AMF0_RECORDSET = 0x0E,
    AMF0_XML_DOCUMENT = 0x0F,
    AMF0_TYPED_OBJECT = 0x10,
    AMF0_AVMPLUS = 0x11,
};

enum amf0_status {
    AMF0_OK = 0,
    AMF0_ERR_ARG = -1,
    AMF0_ERR_TRUNCATED = -2,   /* a value or length runs past the end of the buffer */
    AMF0_ERR_MARKER = -3,      /* unknown type marker */
    AMF0_ERR_UNSUPPORTED = -4, /* known marker we refuse (reference, typed object, AVM+, ...) */
    AMF0_ERR_DEPTH = -5,       /* nesting deeper than limits.max_depth */
    AMF0_ERR_LIMIT = -6,       /* too many values, or a string longer than limits.max_string */
    AMF0_ERR_INVALID = -7,     /* malformed: stray object end, empty key, bad command layout */
    AMF0_ERR_NOMEM = -8,
    AMF0_ERR_TOO_BIG = -9, /* writer: output would exceed its max_len */
};

#define AMF0_DEPTH_CAP 256 /* max_depth is clamped to this so recursion stays shallow */

struct amf0_limits {
    uint32_t max_depth;  /* most containers nested in one another (default 32; a lone
                            object is depth 1) */
    uint32_t max_values; /* values per decode call, counting nested ones and keys' values
                            (default 4096) */
    uint32_t max_string; /* longest string or key in bytes (default 1 MiB) */
};

struct amf0_prop;

struct amf0_value {
    enum amf0_type type; /* one of the accepted markers above */
    union {
        double number; /* AMF0_NUMBER */
        bool boolean;  /* AMF0_BOOLEAN */
        struct {
            char *ptr; /* NUL-terminated copy, owned */
            uint32_t len;
        } string; /* AMF0_STRING, AMF0_LONG_STRING */
        struct {
            struct amf0_prop *props; /* owned, in wire order */
            uint32_t count;
            uint32_t ecma_count; /* ECMA array: the count field as sent (not trusted) */
        } object;                /* AMF0_OBJECT, AMF0_ECMA_ARRAY */
        struct {
            struct amf0_value *items; /* owned */
            uint32_t count;
        } array; /* AMF0_STRICT_ARRAY */
        struct {
            double ms;  /* milliseconds since the epoch, UTC */
            int16_t tz; /* time-zone field as sent (should be 0) */
        } date;         /* AMF0_DATE */
    } u;
};

struct amf0_prop {
    char *key; /* NUL-terminated copy, owned; never empty */
    uint16_t key_len;
    struct amf0_value value;
};

/* A decoded command message (type 20): name, transaction id, command object, arguments. */
struct amf0_command {
    const char *name; /* points into values[0] */
    uint32_t name_len;
    double transaction_id;           /* values[1] */
    const struct amf0_value *object; /* values[2] (often an object or null), NULL if absent */
    const struct amf0_value *args;   /* values[3..], argc of them (NULL if none) */
    uint32_t argc;
    struct amf0_value *values; /* owned storage for everything above */
    uint32_t count;
};

/* Fills *lim with the defaults named above. */
void amf0_limits_default(struct amf0_limits *lim);

/* Decodes one value from buf. On success *out owns its memory (amf0_value_clear()) and
 * *consumed (may be NULL) is the number of bytes used. On error *out is left empty
 * (type AMF0_NULL). lim NULL means the defaults. */
int amf0_decode(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_value *out,
                size_t *consumed);

/* Decodes consecutive values until the buffer ends (a data message such as @setDataFrame /
 * onMetaData). On success *values (free with amf0_values_free()) holds *count values; an
 * empty buffer gives count 0 and values NULL. The value budget covers the whole buffer. */
int amf0_decode_all(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_value **values,
                    uint32_t *count);

/* Decodes a command message payload: a string name, a number transaction id, then optionally
 * the command object and arguments. On success *cmd owns its values (amf0_command_clear()).
 * AMF0_ERR_INVALID if the first two values are missing or of the wrong type. */
int amf0_command_decode(const uint8_t *buf, size_t len, const struct amf0_limits *lim, struct amf0_command *cmd);

/* Releases what a value owns and leaves it as AMF0_NULL (NULL is fine). */
void amf0_value_clear(struct amf0_value *v);

/* Releases an array from amf0_decode_all() (NULL is fine). */
void amf0_values_free(struct amf0_value *values, uint32_t count);

/* Releases a command and zeroes it (NULL is fine). */
void amf0_command_clear(struct amf0_command *cmd);

/* Property of an object or ECMA array by exact key (first match); NULL if absent or v is
 * another type. The result points into v. */
const struct amf0_value *amf0_object_get(const struct amf0_value *v, const char *key);

/* String contents of a (long) string value, NULL for other types; *len (may be NULL) gets the
 * length. The result points into v. */
const char *amf0_get_string(const struct amf0_value *v, uint32_t *len);

/* True and *out set if v is a number. */
bool amf0_get_number(const struct amf0_value *v, double *out);

/* True and *out set if v is a boolean. */
bool amf0_get_bool(const struct amf0_value *v, bool *out);

/* Static string for an enum amf0_status value. */
const char *amf0_strerror(int status);

/* ---- encoder ---- */

/* Growable output buffer. Errors are sticky: after the first failure every amf0_put_* call
 * returns the same error and writes nothing, so a caller may check only the last result. */
struct amf0_writer {
    uint8_t *data; /* owned; len bytes valid */
    size_t len;
    size_t cap;
    size_t max_len; /* hard cap on len */
    int error;
};

/* Starts an empty writer that never grows beyond max_len bytes. No allocation yet. */
void amf0_writer_init(struct amf0_writer *w, size_t max_len);

/* Frees the buffer and empties the writer (it can be reused after amf0_writer_init()). */
void amf0_writer_free(struct amf0_writer *w);

/* Drops the contents and the sticky error, keeping the buffer. */
void amf0_writer_reset(struct amf0_writer *w);

int amf0_put_number(struct amf0_writer *w, double v);
int amf0_put_bool(struct amf0_writer *w, bool v);
/* String of len bytes: string marker if len <= 65535, long string otherwise. */
int amf0_put_string(struct amf0_writer *w, const char *s, size_t len);
/* NUL-terminated string. */
int amf0_put_cstr(struct amf0_writer *w, const char *s);
int amf0_put_null(struct amf0_writer *w);
int amf0_put_undefined(struct amf0_writer *w);
/* Containers: begin, then amf0_put_key() + a value per property, then amf0_put_object_end()
 * (object and ECMA array) - or exactly count values for a strict array (no end marker). */
int amf0_put_object_begin(struct amf0_writer *w);
int amf0_put_ecma_begin(struct amf0_writer *w, uint32_t count);
int amf0_put_strict_array_begin(struct amf0_writer *w, uint32_t count);
/* Property name (1..65535 bytes; AMF0_ERR_ARG otherwise). */
int amf0_put_key(struct amf0_writer *w, const char *key);
int amf0_put_object_end(struct amf0_writer *w);
/* key + value shorthands. */
int amf0_put_prop_number(struct amf0_writer *w, const char *key, double v);
int amf0_put_prop_bool(struct amf0_writer *w, const char *key, bool v);
int amf0_put_prop_cstr(struct amf0_writer *w, const char *key, const char *s);
int amf0_put_prop_null(struct amf0_writer *w, const char *key);
/* Command header: name string then transaction id number. */
int amf0_put_command(struct amf0_writer *w, const char *name, double transaction_id);
/* A whole status object {level, code, description} (onStatus and _result info objects).
 * description may be NULL (then omitted). */
int amf0_put_status(struct amf0_writer *w, const char *level, const char *code, const char *description);
/* Re-encodes a decoded (or hand-built) value; markers are kept (a long string stays long).
 * Nesting beyond AMF0_DEPTH_CAP is AMF0_ERR_DEPTH. */
int amf0_put_value(struct amf0_writer *w, const struct amf0_value *v);

#endif
