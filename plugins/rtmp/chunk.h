/*
 * plugins/rtmp/chunk.h - RTMP chunk stream: incremental de-framer, encoder, control payloads.
 *
 * What it is: the layer between the handshake and the messages (RTMP 1.0 spec, section 5.3).
 *  - Decoder: feed it the bytes that follow C2, in any split; it hands back complete messages
 *    {csid, type id, message stream id, timestamp, payload}. It handles 1-, 2- and 3-byte basic
 *    headers (csid 2..65599), message header types 0-3, extended timestamps (also on type-3
 *    chunks, both continuations and new messages, as FFmpeg and OBS send them), timestamp deltas
 *    with 32-bit wrap, and interleaved chunk streams. It applies Set Chunk Size (type 1) and Abort
 *    (type 2) itself, then still returns them. Limits (all in struct rtmp_chunk_limits): longest
 *    message, number of chunk streams, and total reassembly memory. Reassembly buffers grow only
 *    as payload bytes arrive; a declared message length never causes an allocation by itself.
 *  - Encoder: turns an outgoing message into chunks (type 0 first chunk, type 3 continuations,
 *    extended timestamp when >= 0xFFFFFF), honouring our outgoing chunk size. Stateless apart
 *    from the chunk size, so any message may be sent on any csid at any time.
 *  - Protocol control / User Control payload builders and parsers (4-, 5-, 6- and 10-byte bodies).
 *
 * Timestamps: rtmp_message.timestamp is the message's absolute RTMP timestamp, 32 bits, computed
 * modulo 2^32 (type 0 gives it; types 1/2/3 add their delta with unsigned wrap). A type-3 chunk
 * that starts a new message reuses the previous header's timestamp field as its delta (for a
 * preceding type 0 that is the absolute value, as FFmpeg and SRS do). Unwrapping into a 64-bit
 * monotonic clock is the caller's job (e.g. add 2^32 when a value drops by more than 2^31).
 *
 * Ownership: a decoder is created by rtmp_chunk_decoder_new() and freed by
 * rtmp_chunk_decoder_free(); it owns every payload it returns (valid until the next call on that
 * decoder) unless the caller takes one with rtmp_chunk_take_payload(). The encoder is a small
 * caller-owned struct without heap memory. Threads: one decoder/encoder per connection, used
 * from that connection's thread only. No globals.
 */
#ifndef STREAMHUB_RTMP_CHUNK_H
#define STREAMHUB_RTMP_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMP_CHUNK_SIZE_DEFAULT 128u
#define RTMP_CHUNK_SIZE_MAX     0xFFFFFFu /* largest Set Chunk Size we accept or send */
#define RTMP_CSID_MIN           2u        /* 0 and 1 only select the 2- and 3-byte forms */
#define RTMP_CSID_MAX           65599u    /* 64 + 255 + 255 * 256 */
#define RTMP_CSID_CONTROL       2u        /* protocol control messages */
#define RTMP_CSID_COMMAND       3u        /* usual csid for NetConnection commands */
#define RTMP_MESSAGE_LEN_MAX    0xFFFFFFu /* 24-bit length field */

enum rtmp_msg_type {
    RTMP_MSG_SET_CHUNK_SIZE = 1,
    RTMP_MSG_ABORT = 2,
    RTMP_MSG_ACK = 3,
    RTMP_MSG_USER_CONTROL = 4,
    RTMP_MSG_WINDOW_ACK_SIZE = 5,
    RTMP_MSG_SET_PEER_BANDWIDTH = 6,
    RTMP_MSG_AUDIO = 8,
    RTMP_MSG_VIDEO = 9,
    RTMP_MSG_DATA_AMF3 = 15,
    RTMP_MSG_SHARED_OBJECT_AMF3 = 16,
    RTMP_MSG_COMMAND_AMF3 = 17,
    RTMP_MSG_DATA_AMF0 = 18,
    RTMP_MSG_SHARED_OBJECT_AMF0 = 19,
    RTMP_MSG_COMMAND_AMF0 = 20,
    RTMP_MSG_AGGREGATE = 22,
};

enum rtmp_chunk_status {
    RTMP_CHUNK_NEED_MORE = 0, /* all input consumed, no complete message yet */
    RTMP_CHUNK_MESSAGE = 1,   /* *msg holds a complete message */
    RTMP_CHUNK_ERR_ARG = -1,  /* NULL pointer, bad csid/length/chunk size argument */
    RTMP_CHUNK_ERR_NOMEM = -2,
    RTMP_CHUNK_ERR_UNKNOWN_STREAM = -3,   /* type 1/2/3 header on a chunk stream never opened */
    RTMP_CHUNK_ERR_TOO_LONG = -4,         /* message length above limits.max_message_len */
    RTMP_CHUNK_ERR_TOO_MANY_STREAMS = -5, /* more chunk streams than limits.max_chunk_streams */
    RTMP_CHUNK_ERR_CHUNK_SIZE = -6,       /* Set Chunk Size of 0, > 0xFFFFFF, or MSB set */
    RTMP_CHUNK_ERR_PROTOCOL = -7,         /* new message header mid-message, short control message */
    RTMP_CHUNK_ERR_MEMORY_LIMIT = -8,     /* reassembly buffers would exceed limits.max_buffered */
    RTMP_CHUNK_ERR_NO_SPACE = -9,         /* encoder: output buffer too small */
};

/* Decoder limits; every field must be non-zero. */
struct rtmp_chunk_limits {
    uint32_t max_message_len;   /* longest message accepted (default 8 MiB, at most 0xFFFFFF) */
    uint32_t max_chunk_streams; /* distinct chunk stream ids a connection may use (default 64) */
    uint32_t max_buffered;      /* sum of reassembly buffer capacities (default 16 MiB) */
};

/* A complete message (decoder output) or a message to send (encoder input). */
struct rtmp_message {
    uint32_t csid;          /* chunk stream id, 2..65599 */
    uint8_t type_id;        /* enum rtmp_msg_type */
    uint32_t stream_id;     /* message stream id (little-endian on the wire; host order here) */
    uint32_t timestamp;     /* absolute, modulo 2^32 (see the header comment) */
    uint32_t len;           /* payload length */
    const uint8_t *payload; /* decoder: owned by the decoder (NULL when len == 0) */
};

struct rtmp_chunk_decoder; /* opaque */

/* Fills *lim with the defaults named above. */
void rtmp_chunk_limits_default(struct rtmp_chunk_limits *lim);

/* Creates a decoder (incoming chunk size 128). lim is copied; NULL means the defaults. Returns
 * NULL if out of memory or a limit is 0 / max_message_len > 0xFFFFFF. Free with
 * rtmp_chunk_decoder_free(). */
struct rtmp_chunk_decoder *rtmp_chunk_decoder_new(const struct rtmp_chunk_limits *lim);

/* Frees the decoder and every buffer it still owns (NULL is fine). */
void rtmp_chunk_decoder_free(struct rtmp_chunk_decoder *dec);

/* Feeds bytes. Stops after the first complete message: returns RTMP_CHUNK_MESSAGE with *msg
 * filled and *consumed telling how many bytes were used (call again with the rest), or
 * RTMP_CHUNK_NEED_MORE after consuming everything, or a negative enum rtmp_chunk_status (sticky:
 * later calls return it again; close the connection). msg->payload stays valid until the next
 * call on dec or rtmp_chunk_decoder_free(). data is only read during the call. */
int rtmp_chunk_decode(struct rtmp_chunk_decoder *dec, const uint8_t *data, size_t len, size_t *consumed,
                      struct rtmp_message *msg);

/* Takes ownership of the payload of the message just returned (must be called before the next
 * rtmp_chunk_decode()); the caller frees it with free(). Returns NULL if msg is not the last
 * message returned or has no payload. Saves a copy for media messages. */
uint8_t *rtmp_chunk_take_payload(struct rtmp_chunk_decoder *dec, const struct rtmp_message *msg);

/* Current incoming chunk size (changed by Set Chunk Size messages). */
uint32_t rtmp_chunk_decoder_chunk_size(const struct rtmp_chunk_decoder *dec);

/* Static string for an enum rtmp_chunk_status value. */
const char *rtmp_chunk_strerror(int status);

/* ---- encoder ---- */

struct rtmp_chunk_encoder {
    uint32_t chunk_size; /* outgoing chunk size; change with rtmp_chunk_encoder_set_chunk_size() */
};

/* Initialises e with the default chunk size of 128. */
void rtmp_chunk_encoder_init(struct rtmp_chunk_encoder *e);

/* Sets the outgoing chunk size (1..0xFFFFFF). Call it right after encoding the Set Chunk Size
 * message that announces it. Returns 0 or RTMP_CHUNK_ERR_CHUNK_SIZE. */
int rtmp_chunk_encoder_set_chunk_size(struct rtmp_chunk_encoder *e, uint32_t size);

/* Exact number of bytes rtmp_chunk_encode() writes for msg (0 if msg is invalid). */
size_t rtmp_chunk_encoded_size(const struct rtmp_chunk_encoder *e, const struct rtmp_message *msg);

/* Encodes msg (csid 2..65599, len <= 0xFFFFFF, payload readable for len bytes) into out.
 * Writes *written bytes; returns 0, RTMP_CHUNK_ERR_ARG or RTMP_CHUNK_ERR_NO_SPACE (nothing
 * useful written). out is caller-owned. */
int rtmp_chunk_encode(const struct rtmp_chunk_encoder *e, const struct rtmp_message *msg, uint8_t *out, size_t out_cap,
                      size_t *written);

/* Encodes a protocol control message: csid 2, message stream 0, timestamp 0. Same contract as
 * rtmp_chunk_encode(). */
int rtmp_chunk_encode_control(const struct rtmp_chunk_encoder *e, uint8_t type_id, const uint8_t *payload, uint32_t len,
                              uint8_t *out, size_t out_cap, size_t *written);

/* ---- protocol control and User Control payloads ---- */

#define RTMP_PCM_U32_LEN     4  /* Set Chunk Size, Abort, Acknowledgement, Window Ack Size */
#define RTMP_PCM_PEER_BW_LEN 5  /* Set Peer Bandwidth */
#define RTMP_UC_MAX_LEN      10 /* longest User Control body we build (Set Buffer Length) */

enum rtmp_peer_bw_limit { RTMP_PEER_BW_HARD = 0, RTMP_PEER_BW_SOFT = 1, RTMP_PEER_BW_DYNAMIC = 2 };

enum rtmp_uc_event {
    RTMP_UC_STREAM_BEGIN = 0,
    RTMP_UC_STREAM_EOF = 1,
    RTMP_UC_STREAM_DRY = 2,
    RTMP_UC_SET_BUFFER_LENGTH = 3, /* value = stream id, value2 = buffer length in ms */
    RTMP_UC_STREAM_IS_RECORDED = 4,
    RTMP_UC_PING_REQUEST = 6,  /* value = timestamp */
    RTMP_UC_PING_RESPONSE = 7, /* value = the timestamp from the request */
};

struct rtmp_user_control {
    uint16_t event;  /* enum rtmp_uc_event, or another value seen on the wire */
    uint32_t value;  /* stream id or timestamp; 0 if the body had no room for it */
    uint32_t value2; /* Set Buffer Length only */
};

/* Writes a 4-byte big-endian body (Set Chunk Size, Abort, Acknowledgement, Window Ack Size). */
void rtmp_pcm_put_u32(uint8_t out[RTMP_PCM_U32_LEN], uint32_t value);

/* Writes a Set Peer Bandwidth body: window size then limit type. */
void rtmp_pcm_put_peer_bw(uint8_t out[RTMP_PCM_PEER_BW_LEN], uint32_t window, uint8_t limit);

/* Reads a 4-byte body; returns 0 or RTMP_CHUNK_ERR_PROTOCOL if len < 4. */
int rtmp_pcm_get_u32(const uint8_t *p, size_t len, uint32_t *value);

/* Reads a Set Peer Bandwidth body; returns 0 or RTMP_CHUNK_ERR_PROTOCOL if len < 5. */
int rtmp_pcm_get_peer_bw(const uint8_t *p, size_t len, uint32_t *window, uint8_t *limit);

/* Writes a User Control body (6 bytes, 10 for Set Buffer Length) into out; returns its length. */
size_t rtmp_uc_put(uint8_t out[RTMP_UC_MAX_LEN], const struct rtmp_user_control *uc);

/* Parses a User Control body. Known events must carry their full body (6 bytes, 10 for Set
 * Buffer Length); unknown events need 2 bytes and get value from the next 4 if present.
 * Returns 0 or RTMP_CHUNK_ERR_PROTOCOL. */
int rtmp_uc_get(const uint8_t *p, size_t len, struct rtmp_user_control *uc);

#endif
