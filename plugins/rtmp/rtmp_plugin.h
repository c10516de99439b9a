/*
 * plugins/rtmp/rtmp_plugin.h - the rtmp plugin's shared state and the functions its files call on
 * each other. The pure parsers (handshake.h, chunk.h, amf0.h, flv.h) know nothing of this.
 *
 * Files (one concern each):
 *   rtmp.c     descriptor, settings, init/start/stop/fini, the listener, the loop pump (below),
 *              per-IP blocking after failed keys, metrics, the stream-key-reset subscription
 *   conn.c     one TCP connection: bufferevent callbacks, handshake, chunk de-framing, protocol
 *              control messages, acknowledgements, timeouts, sending, closing
 *   publish.c  AMF0 commands (connect ... publish, deleteStream), the stream-key and room
 *              look-ups, refusals, @setDataFrame/onMetaData
 *   ingest.c   FLV audio/video bodies -> tracks (sequence headers) and packets: timestamps,
 *              when to start the stream, packets held until it starts, aggregate messages
 *
 * The loop: the SDK (1.2) gives a plugin no access to the host's event_base and no way to watch a
 * file descriptor, so the plugin runs a private libevent base (listener, bufferevents, timers) and
 * turns it with event_base_loop(EVLOOP_NONBLOCK) from a host timer every `poll_ms` (less often
 * when no connection is open). Everything still runs on the loop thread and nothing blocks. See
 * the report of this SDK gap in docs/STREAMING.md (operators' section).
 *
 * Ownership: one static rtmp_state (rtmp_g) for the plugin's life; connections are owned by the
 * list in rtmp_g and freed by rtmp_conn_close (deferred while a callback is running on them:
 * rtmp_conn_hold/rtmp_conn_release). An asynchronous host call (auth, rooms, rate limiter) gets an
 * rtmp_op whose `c` is set to NULL when the connection goes first; the callback then only frees
 * the op. Threads: everything here runs on the loop thread.
 */
#ifndef STREAMHUB_RTMP_PLUGIN_H
#define STREAMHUB_RTMP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <streamhub/auth.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>

#include "plugins/rtmp/amf0.h"
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
    uint64_t poll_ms;
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
    struct event_base *base; /* private (see the header comment) */
    struct evconnlistener *listener;
    sh_timer *pump; /* one-shot host timer, NULL while none is pending */
    int running;
    int port; /* bound */
    rtmp_conn *conns;
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

typedef struct rtmp_op {
    rtmp_conn *c; /* NULL once the connection is gone */
} rtmp_op;

struct rtmp_conn {
    rtmp_conn *prev, *next;
    uint64_t id;
    char ip[RTMP_IP_MAX];
    struct bufferevent *bev;
    struct event *deadline;    /* handshake, then publish deadline */
    struct event *start_timer; /* RTMP_START_WAIT_MS after the publish was accepted */
    struct event *later;       /* delayed refusal, then linger before close */
    int busy;                  /* callbacks running on this connection */
    int dead;                  /* closed; freed when busy drops to 0 */
    int flushing;              /* close once the output is sent */
    int paused;                /* an asynchronous look-up runs: stop handling input */
    int processing;            /* conn_process is on the stack (no re-entry) */
    const char *close_reason;  /* static string */
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
void rtmp_kick(void); /* more input may be waiting: pump soon */

/* conn.c */
void rtmp_conn_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen);
void rtmp_conn_hold(rtmp_conn *c);
void rtmp_conn_release(rtmp_conn *c); /* may free c */
/* End the connection now: the stream (if any) ends with `reason` (static string). */
void rtmp_conn_close(rtmp_conn *c, const char *reason);
/* Stop reading, send what is queued (at most RTMP_LINGER_MS), then close with `reason`. */
void rtmp_conn_close_after_flush(rtmp_conn *c, const char *reason);
void rtmp_conn_pause(rtmp_conn *c);
void rtmp_conn_resume(rtmp_conn *c); /* also handles input that waited */
/* Encode and queue one message. Returns 0, or -1 when the connection was closed (output over
 * its limit or out of memory). */
int rtmp_send(rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts, const uint8_t *p, size_t len);
int rtmp_send_u32(rtmp_conn *c, uint8_t type, uint32_t v);
int rtmp_send_amf(rtmp_conn *c, uint32_t csid, uint32_t msid, struct amf0_writer *w);
/* Arm `ev` (an evtimer of the private base) for ms. */
void rtmp_timer_arm(struct event *ev, uint64_t ms);

/* publish.c */
/* Command (types 17, 20) and data (15, 18) messages. Return 0, or -1 after closing c. */
int rtmp_on_command(rtmp_conn *c, const struct rtmp_message *m);
int rtmp_on_data(rtmp_conn *c, const struct rtmp_message *m);
/* End the publish session (if any): the stream closes with `reason`. */
void rtmp_publish_end(rtmp_conn *c, const char *reason);
/* Close every live publisher of `user_id` (key reset). */
void rtmp_kick_user(int64_t user_id, const char *reason);
void rtmp_op_detach(rtmp_conn *c);
void rtmp_later_fired(rtmp_conn *c); /* c->later fired */
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
