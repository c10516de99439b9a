/*
 * core/eio_packet.h - Engine.IO protocol v4 packet codec, pure: no I/O, no sockets.
 *
 * What: parse and encode Engine.IO v4 packets for both transports.
 *   - WebSocket: one packet per WebSocket message. A text message is "<type digit><data>"; a
 *     binary message is a binary `message` packet with no type prefix.
 *   - HTTP long-polling: a payload is packets joined by the record separator 0x1e; a binary packet
 *     is 'b' followed by the standard, padded base64 of its bytes (always a `message`).
 *   - The `open` packet's handshake JSON, keys in the order the reference server uses.
 * Packet types: 0 open, 1 close, 2 ping, 3 pong, 4 message, 5 upgrade, 6 noop. The codec does not
 * judge which side may send which type, or what the data of a ping means (e.g. "probe"): the
 * connection layer does.
 *
 * Ownership: stated per function. sh_eio_packet never owns its data; a parsed polling payload
 * owns one block holding every packet's bytes; encoders return malloc'd buffers the caller frees.
 * Threads: no globals; every function is pure and may be called from any thread.
 */
#ifndef SH_CORE_EIO_PACKET_H
#define SH_CORE_EIO_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sh_eio_type {
    SH_EIO_OPEN = 0,
    SH_EIO_CLOSE = 1,
    SH_EIO_PING = 2,
    SH_EIO_PONG = 3,
    SH_EIO_MESSAGE = 4,
    SH_EIO_UPGRADE = 5,
    SH_EIO_NOOP = 6,
};

enum sh_eio_status {
    SH_EIO_OK = 0,
    SH_EIO_ERR_EMPTY = -1,     /* empty packet (empty message, empty body, "\x1e\x1e") */
    SH_EIO_ERR_TYPE = -2,      /* unknown packet type character */
    SH_EIO_ERR_BASE64 = -3,    /* 'b' packet whose base64 is malformed */
    SH_EIO_ERR_TOO_BIG = -4,   /* payload over max_payload bytes */
    SH_EIO_ERR_TOO_MANY = -5,  /* more than max_packets packets in one payload */
    SH_EIO_ERR_UTF8 = -6,      /* polling payload is not valid UTF-8 */
    SH_EIO_ERR_NOMEM = -7,     /* allocation failed */
    SH_EIO_ERR_ARG = -8,       /* invalid argument to an encoder */
    SH_EIO_ERR_SEPARATOR = -9, /* text data holds 0x1e: cannot be sent in a polling payload */
};

/* One packet. `data` is borrowed (see each function); it is not NUL-terminated. */
typedef struct sh_eio_packet {
    uint8_t type;        /* enum sh_eio_type */
    bool binary;         /* binary data (only with SH_EIO_MESSAGE) */
    const uint8_t *data; /* packet data, without the type character; never NULL after a parse */
    size_t len;
} sh_eio_packet;

typedef struct sh_eio_limits {
    size_t max_payload; /* max bytes of one polling body (the handshake's maxPayload), > 0 */
    size_t max_packets; /* max packets in one polling body, > 0 */
} sh_eio_limits;

/* A parsed polling payload. Owns `packets` and `storage` (packet data points into storage). */
typedef struct sh_eio_payload {
    sh_eio_packet *packets;
    size_t count;
    uint8_t *storage;
} sh_eio_payload;

/* Handshake values for the open packet. Strings borrowed, NUL-terminated, valid UTF-8. */
typedef struct sh_eio_open {
    const char *sid;             /* session id, non-empty */
    const char *const *upgrades; /* e.g. {"websocket"}; may be NULL when n_upgrades == 0 */
    size_t n_upgrades;           /* 0 when the transport already is websocket */
    uint32_t ping_interval;      /* ms, e.g. 25000 */
    uint32_t ping_timeout;       /* ms, e.g. 20000 */
    uint64_t max_payload;        /* bytes, e.g. 1000000 */
} sh_eio_open;

/*
 * Parse one packet from a WebSocket message (already validated UTF-8 by the WebSocket layer when
 * is_binary is false). Binary: a `message` with binary = true and all bytes as data (may be
 * empty). Text: the first byte is the type digit, the rest is data. out->data points into `msg`
 * (borrowed: valid as long as msg is). Returns 0, SH_EIO_ERR_EMPTY or SH_EIO_ERR_TYPE.
 */
int sh_eio_parse_ws(const void *msg, size_t len, bool is_binary, sh_eio_packet *out);

/*
 * Parse an HTTP long-polling body (text, UTF-8): packets separated by 0x1e, "b<base64>" for
 * binary messages. On success *out owns every packet's data (copied or decoded; `body` may be
 * freed afterwards): release it with sh_eio_payload_free(). On failure *out is left empty.
 * Returns 0 or SH_EIO_ERR_TOO_BIG / _TOO_MANY / _UTF8 / _EMPTY / _TYPE / _BASE64 / _NOMEM / _ARG.
 */
int sh_eio_parse_payload(const void *body, size_t len, const sh_eio_limits *lim, sh_eio_payload *out);

/* Free what sh_eio_parse_payload() allocated and zero *pl. NULL and empty payloads are fine. */
void sh_eio_payload_free(sh_eio_payload *pl);

/*
 * Encode `n` >= 1 packets (borrowed) as one polling body, joined by 0x1e, binary packets as
 * "b" + base64. *out (malloc'd, caller frees; NUL-terminated for convenience, *out_len excludes
 * the NUL). Returns 0, SH_EIO_ERR_ARG (bad type, binary non-message, n == 0),
 * SH_EIO_ERR_SEPARATOR (text data contains 0x1e) or SH_EIO_ERR_NOMEM.
 */
int sh_eio_encode_payload(const sh_eio_packet *pkts, size_t n, uint8_t **out, size_t *out_len);

/*
 * Encode one packet as a WebSocket message: text "<type digit><data>", or the raw bytes for a
 * binary message (*is_binary tells which frame opcode to use). *out is malloc'd (caller frees,
 * NUL-terminated, may be a 1-byte block for an empty binary message). Returns 0 or
 * SH_EIO_ERR_ARG / SH_EIO_ERR_NOMEM.
 */
int sh_eio_encode_ws(const sh_eio_packet *pkt, uint8_t **out, size_t *out_len, bool *is_binary);

/*
 * Encode the open packet's data exactly as
 * {"sid":"...","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}
 * (strings JSON-escaped; no leading '0': send it as the data of an SH_EIO_OPEN packet).
 * *out is malloc'd and NUL-terminated (caller frees). Returns 0, SH_EIO_ERR_ARG (NULL/empty
 * sid, NULL upgrade), SH_EIO_ERR_UTF8 (a string not UTF-8) or SH_EIO_ERR_NOMEM.
 */
int sh_eio_encode_open(const sh_eio_open *o, char **out, size_t *out_len);

/* The wire character of a packet type ('0'..'6'), or 0 if `type` is not one. */
char sh_eio_type_char(int type);

/* True if `pkt` is a text packet of `type` whose data equals the NUL-terminated `data`
 * (e.g. sh_eio_packet_is(p, SH_EIO_PING, "probe")). */
bool sh_eio_packet_is(const sh_eio_packet *pkt, int type, const char *data);

/* Short English description of a status, for logs. Never NULL. */
const char *sh_eio_strerror(int status);

#endif /* SH_CORE_EIO_PACKET_H */
