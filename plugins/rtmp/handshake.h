/*
 * plugins/rtmp/handshake.h - RTMP server handshake (C0/C1 -> S0/S1/S2 -> C2), pure state machine.
 *
 * What it is: the server side of the RTMP handshake as a byte-driven state machine with no I/O.
 * The connection layer feeds whatever bytes the socket produced (any split, down to one byte at
 * a time), sends whatever output the machine produces, and hands the bytes that follow C2 (the
 * first chunks of the chunk stream, often in the same read) to the chunk de-framer.
 *
 *   client                              server (this module)
 *   C0 (1 byte, must be 3) + C1 (1536) ->   validates C0 at once, buffers C1
 *                                       <-  S0 + S1 + S2 (3073 bytes, produced together)
 *   C2 (1536)                           ->  consumed, then state DONE
 *
 * Two flavours, chosen from C1 automatically:
 *  - plain (RTMP 1.0 spec; OBS/librtmp): C1's version field is zero or carries no digest.
 *    S1 = our time, four zero bytes, random; S2 = C1 echoed byte for byte.
 *  - digest ("complex", Flash Player 9+ / FFmpeg's native client): C1 carries an HMAC-SHA256
 *    digest keyed with "Genuine Adobe Flash Player 001" at a position given by schema 0
 *    (offset bytes at 772..775) or schema 1 (offset bytes at 8..11). We answer with S1 holding a
 *    digest keyed with "Genuine Adobe Flash Media Server 001" at the same schema, and S2 whose
 *    last 32 bytes are HMAC(HMAC(FMS full key, client digest), S2[0..1504)), which is what such
 *    clients verify.
 * C2 is never a reason to fail (clients disagree on what they put there); whether it matched
 * what the scheme predicts is reported by rtmp_hs_c2_verified() for logging only.
 *
 * Ownership: struct rtmp_handshake is caller-owned storage (about 4.6 KB, no heap inside); call
 * rtmp_hs_init() before use; nothing to free. Output pointers point into the struct.
 * Threads: one handshake belongs to one connection; call it from that connection's thread (the
 * event loop). No globals; the only shared data are const key tables. Uses OpenSSL's HMAC().
 */
#ifndef STREAMHUB_RTMP_HANDSHAKE_H
#define STREAMHUB_RTMP_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTMP_HS_VERSION     3                             /* the only C0/S0 value we accept and send */
#define RTMP_HS_PACKET_SIZE 1536                          /* C1, C2, S1, S2 */
#define RTMP_HS_DIGEST_SIZE 32                            /* HMAC-SHA256 */
#define RTMP_HS_OUTPUT_SIZE (1 + 2 * RTMP_HS_PACKET_SIZE) /* S0 + S1 + S2 */

/* Fills buf with len random bytes; returns 0 on success, non-zero on failure. Called only from
 * rtmp_hs_feed(), with ctx as given in the config. Production: RAND_bytes(); tests: a counter. */
typedef int (*rtmp_hs_random_fn)(void *ctx, uint8_t *buf, size_t len);

struct rtmp_hs_config {
    rtmp_hs_random_fn random; /* required */
    void *random_ctx;         /* passed to random, not owned */
    uint32_t epoch;           /* our "time" field in S1 (e.g. server uptime in ms) */
    bool plain_only;          /* true: never answer with a digest (always the plain handshake) */
};

enum rtmp_hs_status {
    RTMP_HS_OK = 0,
    RTMP_HS_ERR_ARG = -1,     /* NULL pointer or missing random function */
    RTMP_HS_ERR_VERSION = -2, /* C0 was not 3: close the connection */
    RTMP_HS_ERR_RANDOM = -3,  /* the random source failed */
    RTMP_HS_ERR_CRYPTO = -4,  /* HMAC failed */
    RTMP_HS_ERR_FAILED = -5,  /* fed again after an earlier error */
};

enum rtmp_hs_state {
    RTMP_HS_STATE_WAIT_C0C1 = 0, /* nothing or part of C0+C1 received */
    RTMP_HS_STATE_WAIT_C2,       /* S0S1S2 produced; waiting for C2 */
    RTMP_HS_STATE_DONE,          /* handshake complete; further bytes belong to the chunk stream */
    RTMP_HS_STATE_FAILED,
};

/* Which answer was chosen from C1 (valid once the state has left WAIT_C0C1). */
enum rtmp_hs_scheme {
    RTMP_HS_SCHEME_PLAIN = -1,
    RTMP_HS_SCHEME_DIGEST0 = 0, /* digest block second (offset bytes at C1[772..775]) */
    RTMP_HS_SCHEME_DIGEST1 = 1, /* digest block first (offset bytes at C1[8..11]) */
};

/* Caller-owned; treat the fields as private. */
struct rtmp_handshake {
    enum rtmp_hs_state state;
    int error; /* first error, sticky */
    enum rtmp_hs_scheme scheme;
    struct rtmp_hs_config cfg;
    size_t have;                         /* bytes of the packet being received */
    uint8_t in[1 + RTMP_HS_PACKET_SIZE]; /* C0+C1, later reused for C2 */
    uint8_t out[RTMP_HS_OUTPUT_SIZE];    /* S0+S1+S2 */
    size_t out_len;                      /* bytes of out not yet taken by the caller */
    uint8_t c1_digest[RTMP_HS_DIGEST_SIZE];
    uint8_t s1_digest[RTMP_HS_DIGEST_SIZE];
    uint32_t peer_epoch;
    uint32_t peer_version;
    bool c2_verified;
};

/* Prepares hs for a new connection; copies cfg. Returns RTMP_HS_OK or RTMP_HS_ERR_ARG. */
int rtmp_hs_init(struct rtmp_handshake *hs, const struct rtmp_hs_config *cfg);

/* Feeds received bytes. Consumes at most up to the end of C2: *consumed (required) says how many
 * bytes of data were used; any rest belongs to the chunk stream. Returns RTMP_HS_OK (check
 * rtmp_hs_state() and rtmp_hs_take_output()) or a negative enum rtmp_hs_status; an error is
 * sticky (later calls return RTMP_HS_ERR_FAILED) and means: close the connection.
 * data is only read during the call. */
int rtmp_hs_feed(struct rtmp_handshake *hs, const uint8_t *data, size_t len, size_t *consumed);

/* Returns the bytes to send (S0+S1+S2) once, then NULL/0 until there is new output. The pointer
 * points into hs and stays valid as long as hs does; it is never rewritten. */
const uint8_t *rtmp_hs_take_output(struct rtmp_handshake *hs, size_t *len);

/* Current state. */
enum rtmp_hs_state rtmp_hs_state(const struct rtmp_handshake *hs);

/* The scheme chosen from C1 (PLAIN before C1 is complete). */
enum rtmp_hs_scheme rtmp_hs_scheme(const struct rtmp_handshake *hs);

/* Client's C1 time and version fields (big-endian as sent; 0 before C1 is complete). */
void rtmp_hs_peer_info(const struct rtmp_handshake *hs, uint32_t *epoch, uint32_t *version);

/* After DONE: whether C2 was what a client would send: an echo of S1 (plain, and FFmpeg when
 * publishing) or, after a digest handshake, a packet signed with HMAC(Flash Player full key,
 * our S1 digest) (Flash-style players, FFmpeg when playing). Informational only. */
bool rtmp_hs_c2_verified(const struct rtmp_handshake *hs);

/* Static string for an enum rtmp_hs_status value. */
const char *rtmp_hs_strerror(int status);

#endif
