/*
 * core/ws_frame.h - server side of the WebSocket protocol (RFC 6455), pure: no I/O, no sockets.
 *
 * What: three independent pieces the connection layer drives.
 *   1. Handshake helpers: check the upgrade request's header values and compute
 *      Sec-WebSocket-Accept (SHA-1 + base64 through OpenSSL libcrypto).
 *   2. An incremental frame parser for client->server traffic: feed it bytes as they arrive (any
 *      split, down to one byte at a time); it hands back whole messages (fragments reassembled,
 *      text validated as UTF-8 across fragments) and control frames (ping/pong/close, delivered
 *      at once even in the middle of a fragmented message). Any protocol violation is a negative
 *      status; sh_ws_status_close_code() gives the close code to send (1002, 1007, 1009, 1011).
 *   3. Encoders for server->client frames (never masked): a frame header written into a small
 *      caller buffer, kept separate from the payload so that a broadcast payload is encoded once
 *      and shared; and complete close / ping / pong frames.
 *
 * Ownership: the caller owns the sh_ws_parser struct (embed it anywhere) and every input buffer,
 * which is only read during the call. The parser owns its message buffer; a delivered message
 * points into parser memory, valid until the next call on that parser (feed, take, reset, free).
 * Memory: the reassembly buffer grows only as payload bytes actually arrive (never from a
 * declared length) and never beyond max_message_size.
 * Threads: no globals; a parser is used by one thread at a time (the loop thread that owns the
 * connection). The handshake and encoder functions are pure and may be called from any thread.
 */
#ifndef SH_CORE_WS_FRAME_H
#define SH_CORE_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/utf8.h"

/* Opcodes (RFC 6455 section 5.2). */
enum sh_ws_opcode {
    SH_WS_OP_CONT = 0x0,
    SH_WS_OP_TEXT = 0x1,
    SH_WS_OP_BINARY = 0x2,
    SH_WS_OP_CLOSE = 0x8,
    SH_WS_OP_PING = 0x9,
    SH_WS_OP_PONG = 0xA,
};

/* Close codes used by this module (RFC 6455 section 7.4.1). */
enum sh_ws_close_code {
    SH_WS_CLOSE_NORMAL = 1000,
    SH_WS_CLOSE_GOING_AWAY = 1001,
    SH_WS_CLOSE_PROTOCOL_ERROR = 1002,
    SH_WS_CLOSE_UNSUPPORTED = 1003,
    SH_WS_CLOSE_NO_STATUS = 1005, /* never sent: "the close frame had no code" */
    SH_WS_CLOSE_INVALID_DATA = 1007,
    SH_WS_CLOSE_POLICY = 1008,
    SH_WS_CLOSE_TOO_BIG = 1009,
    SH_WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* Status codes: 0 success, negative errors. */
enum sh_ws_status {
    SH_WS_OK = 0,
    SH_WS_ERR_PROTOCOL = -1,      /* protocol violation: close 1002 */
    SH_WS_ERR_TOO_BIG = -2,       /* message over max_message_size: close 1009 */
    SH_WS_ERR_UTF8 = -3,          /* invalid UTF-8 in a text message or close reason: close 1007 */
    SH_WS_ERR_NOMEM = -4,         /* allocation failed: close 1011 */
    SH_WS_ERR_ARG = -5,           /* bad argument (encoders, config) */
    SH_WS_ERR_HS_UPGRADE = -6,    /* handshake: Upgrade lacks the "websocket" token (400) */
    SH_WS_ERR_HS_CONNECTION = -7, /* handshake: Connection lacks the "upgrade" token (400) */
    SH_WS_ERR_HS_VERSION = -8,    /* handshake: Sec-WebSocket-Version != 13 (426 + version header) */
    SH_WS_ERR_HS_KEY = -9,        /* handshake: Sec-WebSocket-Key not base64 of 16 bytes (400) */
    SH_WS_ERR_CRYPTO = -10,       /* libcrypto failed computing the accept key (500) */
};

#define SH_WS_CONTROL_MAX       125 /* max payload of a control frame */
#define SH_WS_CLOSE_REASON_MAX  123 /* max close reason bytes (125 - 2 for the code) */
#define SH_WS_HEADER_MAX        10  /* max server frame header (unmasked) */
#define SH_WS_CONTROL_FRAME_MAX 127 /* max complete server control frame: 2 + 125 */
#define SH_WS_ACCEPT_LEN        28  /* strlen of a Sec-WebSocket-Accept value */

/* ---------------------------------------------------------------- handshake */

/*
 * Header values of an upgrade request, as NUL-terminated strings (NULL = header absent). If a
 * header occurs several times, the HTTP layer joins the values with ", " first. Method (GET),
 * HTTP version, Host and Origin are checked by the HTTP layer, not here. Borrowed, read only.
 */
typedef struct sh_ws_handshake {
    const char *upgrade;    /* Upgrade: token list, must contain "websocket" (any case) */
    const char *connection; /* Connection: token list, must contain "upgrade" (any case) */
    const char *version;    /* Sec-WebSocket-Version: must be "13" */
    const char *key;        /* Sec-WebSocket-Key: base64 of 16 bytes (24 chars, "==" ending) */
} sh_ws_handshake;

/* Check the four values (optional whitespace around them is ignored). 0 or SH_WS_ERR_HS_*. */
int sh_ws_handshake_validate(const sh_ws_handshake *req);

/*
 * Compute Sec-WebSocket-Accept = base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
 * into `out` (SH_WS_ACCEPT_LEN chars + NUL). `key` is used as given after trimming optional
 * whitespace. Returns 0, SH_WS_ERR_HS_KEY if key is NULL/too long, or SH_WS_ERR_CRYPTO.
 */
int sh_ws_accept_key(const char *key, char out[SH_WS_ACCEPT_LEN + 1]);

/* sh_ws_handshake_validate(), then sh_ws_accept_key() on req->key. 0 or a negative status. */
int sh_ws_handshake_accept(const sh_ws_handshake *req, char out[SH_WS_ACCEPT_LEN + 1]);

/* HTTP status to answer a failed handshake with: 426 for SH_WS_ERR_HS_VERSION (send
 * "Sec-WebSocket-Version: 13" with it), 500 for SH_WS_ERR_CRYPTO, 400 otherwise, 101 for 0. */
int sh_ws_handshake_http_status(int status);

/* ---------------------------------------------------------------- parser */

typedef struct sh_ws_parser_config {
    /* Max bytes of one data message, summed over its fragments (> 0). A frame whose declared
     * length would go past it fails at once with SH_WS_ERR_TOO_BIG, before its payload arrives. */
    size_t max_message_size;
    /* Reassembly buffer capacity kept between messages (bigger buffers are freed). 0 = free. */
    size_t retain_buffer;
} sh_ws_parser_config;

/* A delivered message or control frame. All pointers point into the parser (see top). */
typedef struct sh_ws_message {
    bool ready;          /* false: nothing complete yet, the other fields are zero */
    uint8_t opcode;      /* SH_WS_OP_TEXT, _BINARY (whole message), _CLOSE, _PING or _PONG */
    const uint8_t *data; /* unmasked payload (for CLOSE: the raw payload, code included) */
    size_t len;
    uint16_t close_code;      /* CLOSE: the code, or 0 if the frame carried none (1005) */
    const char *close_reason; /* CLOSE: the reason, valid UTF-8, not NUL-terminated */
    size_t close_reason_len;
} sh_ws_message;

/* Parser state. Embed it; treat every field as private. */
typedef struct sh_ws_parser {
    sh_ws_parser_config cfg;
    int state;            /* internal enum */
    int error;            /* sticky status after a failure (0 otherwise) */
    bool closed;          /* a close frame was delivered: later bytes are ignored */
    bool release_pending; /* a data message was delivered: drop it on the next call */
    uint8_t hdr[14];      /* header bytes collected so far */
    uint8_t hdr_len;
    uint8_t hdr_need;
    uint8_t opcode; /* current frame */
    bool fin;
    uint8_t mask[4];
    uint64_t frame_len;
    uint64_t frame_pos;
    bool in_message; /* a fragmented data message is open */
    uint8_t msg_opcode;
    uint8_t *buf; /* reassembly buffer for data messages */
    size_t buf_len;
    size_t buf_cap;
    sh_utf8_state utf8;
    uint8_t ctrl[SH_WS_CONTROL_MAX]; /* payload of the current control frame */
} sh_ws_parser;

/* Initialise `p` with a copy of `cfg`. Returns 0 or SH_WS_ERR_ARG (NULL, max size 0). Allocates
 * nothing; sh_ws_parser_free() must still be called when done. */
int sh_ws_parser_init(sh_ws_parser *p, const sh_ws_parser_config *cfg);

/* Release the parser's buffer. `p` may be re-initialised afterwards. */
void sh_ws_parser_free(sh_ws_parser *p);

/*
 * Feed up to `len` bytes. Parses until one message / control frame completes (then stops, with
 * msg->ready set) or the input is used up. `*consumed` (never NULL) receives the number of bytes
 * used; call again with the rest. Typical loop:
 *
 *     while (off < n) {
 *         size_t used; sh_ws_message m;
 *         int rc = sh_ws_parser_feed(p, buf + off, n - off, &used, &m);
 *         if (rc < 0) { send_close(sh_ws_status_close_code(rc)); break; }
 *         off += used;
 *         if (m.ready) handle(&m);   (m is valid until the next call on p)
 *     }
 *
 * Returns 0 or SH_WS_ERR_PROTOCOL / _TOO_BIG / _UTF8 / _NOMEM. After an error the parser is dead
 * and returns the same status again. After a CLOSE frame is delivered, further bytes are consumed
 * and ignored. `data` may be NULL when len == 0.
 */
int sh_ws_parser_feed(sh_ws_parser *p, const void *data, size_t len, size_t *consumed, sh_ws_message *msg);

/*
 * Take ownership of the data message just delivered (TEXT/BINARY only, right after the feed call
 * that delivered it) instead of copying it: returns a malloc'd buffer (free() it) and its length
 * in *len, or NULL if there is nothing to take (a zero-length message also gives NULL).
 */
uint8_t *sh_ws_parser_take_message(sh_ws_parser *p, size_t *len);

/* True between the first fragment of a fragmented message and its final fragment. */
bool sh_ws_parser_in_message(const sh_ws_parser *p);

/* Close code to send for a parser status: 1002, 1009, 1007, 1011; 1000 for 0. */
uint16_t sh_ws_status_close_code(int status);

/* Short English description of a status, for logs. Never NULL. */
const char *sh_ws_strerror(int status);

/* True if `code` may appear in a close frame on the wire: 1000-1003, 1007-1014, 3000-4999. */
bool sh_ws_close_code_is_valid(uint16_t code);

/* ---------------------------------------------------------------- encoders (server -> client) */

/*
 * Write an unmasked frame header for `opcode` with FIN = `fin` and `payload_len` into `out`;
 * returns its length (2, 4 or 10), or 0 if the arguments are invalid (unknown opcode, control
 * frame longer than 125 or not FIN, length >= 2^63). The payload is sent after it unchanged.
 */
size_t sh_ws_encode_header(uint8_t out[SH_WS_HEADER_MAX], uint8_t opcode, bool fin, uint64_t payload_len);

/*
 * Write a complete close frame into `out`: code (omitted if 0, i.e. an empty close payload) and
 * reason (valid UTF-8, cut at a code point boundary to SH_WS_CLOSE_REASON_MAX bytes; may be NULL
 * when reason_len == 0). Returns 0 and the frame length in *out_len, or SH_WS_ERR_ARG (a code
 * that may not be sent, a reason without a code) or SH_WS_ERR_UTF8 (reason not UTF-8).
 */
int sh_ws_encode_close(uint8_t out[SH_WS_CONTROL_FRAME_MAX], uint16_t code, const char *reason, size_t reason_len,
                       size_t *out_len);

/* Write a complete ping / pong frame with `len` <= 125 payload bytes (NULL ok when len == 0).
 * Returns 0 and the frame length in *out_len, or SH_WS_ERR_ARG. */
int sh_ws_encode_ping(uint8_t out[SH_WS_CONTROL_FRAME_MAX], const void *payload, size_t len, size_t *out_len);
int sh_ws_encode_pong(uint8_t out[SH_WS_CONTROL_FRAME_MAX], const void *payload, size_t len, size_t *out_len);

#endif /* SH_CORE_WS_FRAME_H */
