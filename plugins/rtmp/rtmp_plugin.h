/*
 * plugins/rtmp/rtmp_plugin.h - the rtmp plugin's shared state and the functions its files call on
 * each other. The pure parsers (handshake.h, chunk.h, amf0.h, flv.h) know nothing of this.
 *
 * Files (one concern each):
 *   rtmp.c     descriptor, settings, init/start/stop/fini, the listening socket and its accept
 *              loop, per-IP blocking after failed keys, metrics, the stream-key-reset subscription
 *   conn.c     one TCP connection: socket reads and writes, handshake, chunk de-framing, protocol
 *              control messages, acknowledgements, timeouts, sending, closing, the deferred free
 *   publish.c  AMF0 commands (connect ... publish, deleteStream), the stream-key and room
 *              look-ups, refusals, @setDataFrame/onMetaData
 *   ingest.c   FLV audio/video bodies -> tracks (sequence headers) and packets: timestamps,
 *              when to start the stream, packets held until it starts, aggregate messages
 *   buf.c      the growable byte queue used for each connection's output and held input
 *
 * The loop: everything runs on the host's event loop (SDK 1.3). The listening socket and every
 * connection's socket are the plugin's own non-blocking fds, watched with host->io_watch
 * (level-triggered; SH_IO_WRITE only while output waits); timeouts are host timers. The plugin
 * has no event loop of its own and nothing here blocks.
 *
 * Ownership: one static rtmp_state (rtmp_g) for the plugin's life; open connections are owned by
 * the list rtmp_g.conns. rtmp_conn_close ends a connection at once (stream, watch, timers,
 * socket) and moves it to rtmp_g.dead, freed by a 0 ms host timer on a later loop turn: a
 * connection closed from inside one of its own callbacks stays readable until that callback has
 * returned. An asynchronous host call (auth, rooms, rate limiter) gets an rtmp_op whose `c` is
 * set to NULL when the connection goes first; the callback then only frees the op. Callbacks
 * that run on a connection bracket their work with rtmp_conn_hold/rtmp_conn_release: output is
 * written (and the watch updated) once, when the outermost one releases. Threads: everything
 * here runs on the loop thread.
 */
#ifndef STREAMHUB_RTMP_PLUGIN_H
#define STREAMHUB_RTMP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include <streamhub/auth.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>

#include "plugins/rtmp/amf0.h"
#include "plugins/rtmp/buf.h"
#include "plugins/rtmp/chunk.h"
#include "plugins/rtmp/flv.h"
#include "plugins/rtmp/handshake.h"

#define RTMP_NAME_MAX         256 /* app and stream names, bytes */
#define RTMP_USER_MAX         128 /* usernames and room ids we keep */
#define RTMP_IP_MAX           64
#define RTMP_MAX_BLOCKS       1024  /* addresses refused after too many wrong keys */
#define RTMP_EXTRADATA_MAX    65536 /* longest codec configuration record accepted */
#define RTMP_QUEUE_MAX_PKTS   1024  /* packets held before the stream starts */
#define RTMP_QUEUE_MAX_BYTES  (8u << 20)
#define RTMP_START_WAIT_MS    2000       /* a track that never announces itself is given up after this */
#define RTMP_LINGER_MS        2000       /* a refused connection's last answer gets this long to leave */
#define RTMP_PUB_STREAM_ID    1          /* the message stream createStream hands out */
#define RTMP_PREPUBLISH_BYTES (1u << 20) /* input accepted while not publishing (commands are small) */
#define RTMP_READ_BYTES       65536      /* one read from a socket */
#define RTMP_READS_PER_WAKE   4          /* reads per connection per wake-up (fairness) */
#define RTMP_ACCEPTS_PER_WAKE 64         /* connections accepted per wake-up of the listener */
#define RTMP_ACCEPT_RETRY_MS  100        /* accept paused this long when out of file descriptors */
#define RTMP_LISTEN_BACKLOG   128

typedef struct rtmp_conn rtmp_conn;

typedef struct rtmp_cfg {
    int port;
    const char *bind;
    const char *app;
    uint64_t handshake_timeout_ms, idle_timeout_ms, publish_timeout_ms;
    int max_connections;
    uint32_t max_message_bytes;
    uint32_t chunk_size; /* what we send (Set Chunk Size) */
    uint32_t ack_window; /* Window Acknowledgement Size / Set Peer Bandwidth we announce */
    int auth_fail_limit; /* 0 = no per-IP limit */
    uint64_t auth_fail_window_ms, auth_fail_delay_ms;
    size_t max_output_bytes;
} rtmp_cfg;

typedef struct rtmp_block {
    char ip[RTMP_IP_MAX];
    uint64_t until_ms; /* host->now_ms clock */
} rtmp_block;

typedef struct rtmp_state {
    sh_plugin *self;
    const sh_host_api *host;
    const sh_auth_api *auth;   /* required service */
    const sh_rooms_api *rooms; /* optional service; NULL: the room id is the username */
    rtmp_cfg cfg;
    int listen_fd;          /* -1 when not listening */
    sh_io *listen_io;       /* the listener's watch */
    sh_timer *accept_retry; /* accept paused (out of file descriptors): resumes it */
    int running;
    int port;         /* bound */
    rtmp_conn *conns; /* open connections */
    rtmp_conn *dead;  /* closed, freed by `reaper` on a later loop turn (linked by next) */
    sh_timer *reaper; /* one-shot 0 ms timer, NULL while none is pending */
    size_t nconns, npublishers;
    uint64_t next_conn_id;
    rtmp_block blocks[RTMP_MAX_BLOCKS];
    size_t nblocks;
    sh_metric *m_conns, *m_conns_total, *m_publishers, *m_bytes_in, *m_dropped, *m_packets;
} rtmp_state;

extern rtmp_state rtmp_g;

/* ---- per connection ----------------------------------------------------------------------- */
enum rtmp_phase { RTMP_PHASE_HANDSHAKE = 0, RTMP_PHASE_CHUNKS };

enum rtmp_pub {
    RTMP_PUB_NONE = 0,
    RTMP_PUB_AUTH,     /* stream key being looked up */
    RTMP_PUB_ROOM,     /* user known, room being looked up */
    RTMP_PUB_LIVE,     /* stream open */
    RTMP_PUB_REFUSING, /* refusal pending (delayed answer, then close) */
};

typedef struct rtmp_track {
    int present; /* configuration known (sequence header, or first MP3 frame) */
    int index;   /* the stream's track index once started, -1 before / if it came too late */
    sh_codec codec;
    uint8_t *extradata; /* owned */
    size_t extradata_len;
    uint8_t nal_length_size; /* H.264 / HEVC */
    int width, height;
    int sample_rate, channels;
    int have_dts;
    int64_t last_dts;
    int warned_late, warned_bad;
} rtmp_track;

typedef struct rtmp_meta {
    int known;
    int has_video, has_audio; /* videocodecid / audiocodecid present */
    int width, height;
    double fps, video_kbps, audio_kbps;
    int sample_rate, channels;
} rtmp_meta;

typedef struct rtmp_qpkt {
    struct rtmp_qpkt *next;
    sh_track_kind kind;
    int64_t pts, dts;
    int key;
    size_t len;
    uint8_t data[];
} rtmp_qpkt;

/* A connection's timers (one-shot host timers, NULL while not armed). */
enum rtmp_timer_slot {
    RTMP_TIMER_DEADLINE = 0, /* handshake, then publish deadline */
    RTMP_TIMER_START,        /* RTMP_START_WAIT_MS after the publish was accepted */
    RTMP_TIMER_LATER,        /* delayed refusal, then linger before close */
    RTMP_TIMER_IDLE,         /* idle_timeout_ms after the last byte read (checked lazily) */
    RTMP_TIMER_COUNT
};

typedef struct rtmp_op {
    rtmp_conn *c; /* NULL once the connection is gone */
} rtmp_op;

struct rtmp_conn {
    rtmp_conn *prev, *next;
    uint64_t id;
    char ip[RTMP_IP_MAX];
    int fd;             /* the socket (owned), -1 once closed */
    sh_io *io;          /* its watch on the host loop, NULL once closed */
    unsigned io_events; /* what the watch asks for now (SH_IO_READ | SH_IO_WRITE) */
    rtmp_buf out;       /* encoded output not yet written */
    rtmp_buf in;        /* input read but not handled yet (it came while paused) */
    sh_timer *timers[RTMP_TIMER_COUNT];
    uint64_t last_rx_ms;      /* host->now_ms of the last byte read (idle timeout) */
    int busy;                 /* callbacks running on this connection (hold/release) */
    int dead;                 /* closed: no I/O, no timers; freed on a later loop turn */
    int flushing;             /* send what is queued, then close (input is discarded) */
    int wr_shut;              /* flushing and all sent: FIN sent, waiting for the peer's */
    int paused;               /* an asynchronous look-up runs: stop handling input */
    int processing;           /* input is being handled (no re-entry) */
    const char *close_reason; /* static string */
    enum rtmp_phase phase;
    struct rtmp_handshake *hs; /* during the handshake only */
    struct rtmp_chunk_decoder *dec;
    struct rtmp_chunk_encoder enc;
    uint64_t bytes_in, last_ack;
    uint64_t idle_bytes; /* bytes handled while not publishing (RTMP_PREPUBLISH_BYTES) */
    uint32_t peer_window;
    int connected; /* connect accepted */
    double object_encoding;
    int created; /* createStream answered */
    /* publishing */
    enum rtmp_pub pub;
    rtmp_op *op;
    double pub_txid;
    uint32_t pub_msid;
    const char *refuse_code, *refuse_desc, *refuse_reason; /* static strings */
    int64_t user_id;
    char username[RTMP_USER_MAX];
    char room[RTMP_USER_MAX];
    sh_stream *stream;
    int started;
    rtmp_track video, audio;
    rtmp_meta meta;
    rtmp_qpkt *qhead, *qtail;
    size_t qcount, qbytes;
    int clock_set;
    uint32_t clock32;
    int64_t clock64;
    int warned_codec;
};

/* rtmp.c */
void rtmp_refusal(const char *reason); /* counts rtmp_refusals_total{reason} */
int rtmp_ip_blocked(const char *ip);
void rtmp_ip_block(const char *ip, uint64_t ms);

/* conn.c */
/* A connection was accepted: takes `fd` (non-blocking; closed here if refused). */
void rtmp_conn_accept(int fd, const struct sockaddr *sa, socklen_t salen);
/* Bracket work on c from a callback; the outermost release writes queued output and updates the
 * watch. c stays valid memory until the loop turn ends, even if it was closed meanwhile. */
void rtmp_conn_hold(rtmp_conn *c);
void rtmp_conn_release(rtmp_conn *c);
/* End the connection now: the stream (if any) ends with `reason` (static string), the socket is
 * closed, the memory freed on a later loop turn. */
void rtmp_conn_close(rtmp_conn *c, const char *reason);
/* Stop handling input, send what is queued, then close with `reason` (after the peer closed its
 * side too, or at the latest RTMP_LINGER_MS later). */
void rtmp_conn_close_after_flush(rtmp_conn *c, const char *reason);
void rtmp_conn_pause(rtmp_conn *c);
void rtmp_conn_resume(rtmp_conn *c); /* also handles input that waited */
/* (Re)arm timer `slot` (enum rtmp_timer_slot) for ms; when the host cannot add it, c is closed. */
void rtmp_conn_arm(rtmp_conn *c, int slot, uint64_t ms);
void rtmp_conn_disarm(rtmp_conn *c, int slot);
/* Free every closed connection now (plugin stop). */
void rtmp_conn_reap(void);
/* Encode and queue one message. Returns 0, or -1 when the connection was closed (output over
 * its limit or out of memory) or its output side is already shut. */
int rtmp_send(rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts, const uint8_t *p, size_t len);
int rtmp_send_u32(rtmp_conn *c, uint8_t type, uint32_t v);
int rtmp_send_amf(rtmp_conn *c, uint32_t csid, uint32_t msid, struct amf0_writer *w);

/* publish.c */
/* Command (types 17, 20) and data (15, 18) messages. Return 0, or -1 after closing c. */
int rtmp_on_command(rtmp_conn *c, const struct rtmp_message *m);
int rtmp_on_data(rtmp_conn *c, const struct rtmp_message *m);
/* End the publish session (if any): the stream closes with `reason`. */
void rtmp_publish_end(rtmp_conn *c, const char *reason);
/* Close every live publisher of `user_id` (key reset). */
void rtmp_kick_user(int64_t user_id, const char *reason);
void rtmp_op_detach(rtmp_conn *c);
void rtmp_later_fired(rtmp_conn *c); /* RTMP_TIMER_LATER fired (not flushing) */
/* Validates an app or stream name: 1..256 bytes of printable ASCII without "../" or NUL. */
int rtmp_name_ok(const char *s, size_t len);

/* ingest.c */
int rtmp_on_media(rtmp_conn *c, uint8_t type, uint32_t timestamp, const uint8_t *p, size_t len);
int rtmp_on_aggregate(rtmp_conn *c, const struct rtmp_message *m);
void rtmp_ingest_begin(rtmp_conn *c); /* publish accepted: arm the start timer */
void rtmp_ingest_start_fired(rtmp_conn *c);
void rtmp_ingest_reset(rtmp_conn *c); /* free tracks and held packets */
/* Unwraps a 32-bit RTMP timestamp into the connection's 64-bit clock (ms). */
int64_t rtmp_clock(rtmp_conn *c, uint32_t ts);

#endif
