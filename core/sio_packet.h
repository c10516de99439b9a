/*
 * core/sio_packet.h - Socket.IO protocol v5 packet codec (the default socket.io-parser format),
 * pure: no I/O, no sockets.
 *
 * Wire format (the data of an Engine.IO `message` packet):
 *     <type>[<attachments>-][/<namespace>,][<ack id>][<JSON>]
 * Types: 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK.
 * The namespace is "/" when absent and is only written when it is not "/". The JSON payload is
 * parsed with json-c and must match the type:
 *     CONNECT        optional object              no ack id
 *     DISCONNECT     none                         no ack id
 *     EVENT, BINARY_EVENT  non-empty array whose first element is the event name (a string)
 *     ACK, BINARY_ACK      array (may be empty)  ack id required
 *     CONNECT_ERROR  object                       no ack id
 * Binary attachments travel as separate Engine.IO binary messages after the packet; in the JSON
 * they are replaced by {"_placeholder":true,"num":k}. sh_sio_reconstruct() puts the buffers back,
 * sh_sio_deconstruct() takes them out for sending.
 *
 * Binary values in json-c: a json string object holding the raw bytes (json_object_get_string_len
 * gives the length; the bytes may contain NUL) tagged with this module's userdata marker. Create
 * them with sh_sio_binary_new(), test with sh_sio_is_binary(), read with sh_sio_binary_data().
 * json_object_deep_copy() and json_object_set_userdata()/set_serializer() drop the tag. Serialising
 * a tree that still contains binary values is refused by sh_sio_encode() (deconstruct first).
 *
 * Ownership: a parsed sh_sio_packet owns `nsp` (malloc'd) and one reference to `data`; release
 * both with sh_sio_packet_clear() or take them (set the field to NULL) first. Other pointers are
 * borrowed for the duration of the call unless stated otherwise.
 * Threads: no globals with mutable state; functions may be called from any thread on distinct
 * objects (json-c objects are not thread-safe to share while being modified).
 */
#ifndef SH_CORE_SIO_PACKET_H
#define SH_CORE_SIO_PACKET_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sh_sio_type {
    SH_SIO_CONNECT = 0,
    SH_SIO_DISCONNECT = 1,
    SH_SIO_EVENT = 2,
    SH_SIO_ACK = 3,
    SH_SIO_CONNECT_ERROR = 4,
    SH_SIO_BINARY_EVENT = 5,
    SH_SIO_BINARY_ACK = 6,
};

enum sh_sio_status {
    SH_SIO_OK = 0,
    SH_SIO_ERR_EMPTY = -1,        /* empty packet */
    SH_SIO_ERR_TYPE = -2,         /* unknown packet type */
    SH_SIO_ERR_ATTACHMENTS = -3,  /* bad or too large attachment count ("5-", "5x-", "599-") */
    SH_SIO_ERR_NAMESPACE = -4,    /* bad namespace (too long, control characters, ",") */
    SH_SIO_ERR_ACK_ID = -5,       /* bad ack id (overflow, missing on ACK, present on CONNECT..) */
    SH_SIO_ERR_JSON = -6,         /* payload is not one JSON object/array, or trailing garbage */
    SH_SIO_ERR_PAYLOAD = -7,      /* JSON of the wrong shape for the type ("42{}", "41[]") */
    SH_SIO_ERR_UTF8 = -8,         /* packet text is not valid UTF-8 */
    SH_SIO_ERR_TOO_BIG = -9,      /* packet longer than max_packet_len */
    SH_SIO_ERR_PLACEHOLDER = -10, /* reconstruct: placeholder out of range, duplicate or missing */
    SH_SIO_ERR_NOMEM = -11,
    SH_SIO_ERR_ARG = -12, /* invalid argument */
};

/* Limits for sh_sio_parse(). Start from sh_sio_config_default(). */
typedef struct sh_sio_config {
    size_t max_packet_len;      /* max bytes of one packet's text (default 1000000) */
    size_t max_attachments;     /* max binary attachments of one packet (default 10) */
    size_t max_namespace_len;   /* max bytes of a namespace, '/' included (default 256) */
    int max_json_depth;         /* json-c nesting limit, 1..SH_SIO_MAX_DEPTH (default 32) */
    bool allow_reserved_events; /* accept EVENTs named connect, disconnect, ... (default false) */
} sh_sio_config;

#define SH_SIO_MAX_DEPTH 256 /* hard limit of nesting for parsing and tree walks */

/* A packet. From sh_sio_parse(): owns nsp and data (see top). */
typedef struct sh_sio_packet {
    int type;           /* enum sh_sio_type */
    char *nsp;          /* namespace, NUL-terminated, "/" by default; never NULL after a parse */
    int64_t ack_id;     /* >= 0, or -1 when absent */
    size_t attachments; /* number of binary attachments announced (BINARY_* types only) */
    json_object *data;  /* payload or NULL */
} sh_sio_packet;

/* An attachment given to sh_sio_reconstruct(): borrowed bytes, copied into the tree. */
typedef struct sh_sio_buffer {
    const void *data;
    size_t len;
} sh_sio_buffer;

/* Fill *cfg with the defaults listed in sh_sio_config. */
void sh_sio_config_default(sh_sio_config *cfg);

/*
 * Parse one packet from `text` (len bytes, need not be NUL-terminated; borrowed). On success *out
 * owns a fresh nsp and data reference (sh_sio_packet_clear() them); on failure *out is empty
 * (nsp NULL, data NULL, ack_id -1). Returns 0 or a negative SH_SIO_ERR_*. Rules beyond the table
 * at the top: the whole text must be UTF-8; attachment counts and ack ids are plain decimal
 * (ack ids up to INT64_MAX, at most 19 digits); a namespace runs from '/' to the first ',' or,
 * as the reference parser and its test suite allow ("40/custom"), to the end of the text, and
 * holds no control characters; the JSON is exactly one array or object (JSON whitespace may
 * follow, nothing else), numbers must follow the JSON grammar (NaN, Infinity, "1." refused);
 * an event name holds no NUL and, unless cfg->allow_reserved_events, is not one of connect,
 * connect_error, disconnect, disconnecting, newListener, removeListener. Placeholders are not
 * checked here: see sh_sio_reconstruct().
 */
int sh_sio_parse(const char *text, size_t len, const sh_sio_config *cfg, sh_sio_packet *out);

/* Free pkt->nsp, drop the reference to pkt->data and reset the struct (ack_id -1). NULL ok. */
void sh_sio_packet_clear(sh_sio_packet *pkt);

/* Event name of an EVENT / BINARY_EVENT packet (first array element), or NULL. Borrowed from
 * pkt->data. */
const char *sh_sio_event_name(const sh_sio_packet *pkt);

/*
 * Encode a packet: `type`; `nsp` (NULL or "/" for the main namespace, otherwise must start with
 * '/' and contain no ','); `ack_id` (-1 for none); `attachments` (BINARY_* types only, else 0);
 * `data` (NULL for none; borrowed; serialised compactly with JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE; must not contain binary values). *out is malloc'd and
 * NUL-terminated (caller frees). Returns 0, SH_SIO_ERR_ARG or SH_SIO_ERR_NOMEM.
 */
int sh_sio_encode(int type, const char *nsp, int64_t ack_id, size_t attachments, json_object *data, char **out,
                  size_t *out_len);

/* sh_sio_encode() with the fields of `pkt`. */
int sh_sio_encode_packet(const sh_sio_packet *pkt, char **out, size_t *out_len);

/*
 * Replace the placeholders in pkt->data (a BINARY_EVENT or BINARY_ACK whose pkt->attachments
 * == n) by binary values holding copies of bufs[0..n-1]. Every index 0..n-1 must be used by
 * exactly one placeholder {"_placeholder":true,"num":k} (k an integer); otherwise the tree is
 * left unchanged and SH_SIO_ERR_PLACEHOLDER is returned. `bufs` is borrowed. The packet type is
 * kept. Returns 0, SH_SIO_ERR_PLACEHOLDER, SH_SIO_ERR_ARG or SH_SIO_ERR_NOMEM.
 */
int sh_sio_reconstruct(sh_sio_packet *pkt, const sh_sio_buffer *bufs, size_t n);

/*
 * Reverse of reconstruct, for sending: replace each binary value inside `data` (modified in
 * place; `data` itself must not be binary) by {"_placeholder":true,"num":k}, k in depth-first
 * order, and store the binary values in attachments[0..*n-1] (the caller owns one reference to
 * each: json_object_put() them after sending their bytes). If there are more than `max`, nothing
 * is changed and SH_SIO_ERR_ATTACHMENTS is returned. With *n > 0 send the packet as
 * BINARY_EVENT / BINARY_ACK with *n attachments. Returns 0 or a negative SH_SIO_ERR_*.
 */
int sh_sio_deconstruct(json_object *data, json_object **attachments, size_t max, size_t *n);

/* New binary value holding a copy of `len` bytes (data may be NULL when len == 0). The caller
 * owns the returned reference. NULL on allocation failure or len > INT_MAX. */
json_object *sh_sio_binary_new(const void *data, size_t len);

/* True if `o` is a binary value made by this module. NULL gives false. */
bool sh_sio_is_binary(json_object *o);

/* Bytes of a binary value (borrowed from `o`) and their count in *len; NULL if not binary. */
const uint8_t *sh_sio_binary_data(json_object *o, size_t *len);

/* Short English description of a status, for logs. Never NULL. */
const char *sh_sio_strerror(int status);

#endif /* SH_CORE_SIO_PACKET_H */
