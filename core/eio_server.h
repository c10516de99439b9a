/*
 * eio_server.h - the Engine.IO v4 server: sessions over HTTP long-polling and WebSocket, the
 * upgrade between them, heartbeats, and connection limits. The Socket.IO layer (sio_server.c)
 * sits on top and sees only sessions and messages.
 *
 * Endpoint: GET/POST <path> (default "/socket.io/") on the core HTTP server, with the query
 * `EIO=4&transport=polling|websocket[&sid=...]`. A WebSocket upgrade takes the connection over
 * from libevhtp (raw fd, our own reads and writes: see ws_conn in eio_server.c).
 *
 * Output: every message for a session goes into its queue; queues are flushed once per loop
 * turn, with one writev per WebSocket session carrying every frame queued for it. A broadcast is
 * encoded once into an sh_eio_blob (WebSocket frame header + Engine.IO packet text) whose bytes
 * are shared, by reference count, by every session it is queued on. A queue entry is a byte range
 * of a blob: its one frame, or a *slice* of a chunk (sh_eio_chunk_new), an append-only blob of
 * frames back to back that the Socket.IO layer fills with a room's messages of one loop turn and
 * then queues on every member as one slice (one iovec per member per turn, whatever the number of
 * messages). Long-polling sessions get the same queue; their answer unpacks the frames. A session
 * whose queued bytes (slice lengths) pass the output high-water mark is closed ("slow client").
 *
 * Lifetime: a session lives from on_open until on_close returns; do not keep the pointer after.
 * Thread: loop only.
 */
#ifndef SH_CORE_EIO_SERVER_H
#define SH_CORE_EIO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/host.h"

typedef struct sh_eio_server sh_eio_server;
typedef struct sh_eio_session sh_eio_session;

/* A message encoded once for many sessions: data[0..SH_EIO_BLOB_HDR_ROOM) is room for the WebSocket
 * header (its last `hdr` bytes hold it); then `len` bytes of Engine.IO packet text ("4" + Socket.IO
 * packet) or binary data. A chunk (sh_eio_chunk_new) is a blob with hdr 0 whose data[0..len) are
 * whole frames back to back (len = bytes used so far, only ever appended to). */
typedef struct sh_eio_blob {
    uint32_t refs;
    uint32_t len;  /* Engine.IO packet bytes */
    uint8_t hdr;   /* WebSocket header bytes, written at data + SH_EIO_BLOB_HDR_ROOM - hdr */
    uint8_t binary;
    uint8_t data[]; /* SH_EIO_BLOB_HDR_ROOM bytes of header room, then the packet */
} sh_eio_blob;
#define SH_EIO_BLOB_HDR_ROOM 10

typedef struct sh_eio_config {
    const char *path;          /* "/socket.io/" */
    uint32_t ping_interval_ms; /* 25000 */
    uint32_t ping_timeout_ms;  /* 20000 */
    size_t max_payload;        /* 1000000: polling body and WebSocket message limit */
    uint32_t conn_per_ip_per_min; /* 0 = no limit */
    int exempt_loopback;
    size_t max_connections;
    size_t high_water;         /* queued output bytes before a session is dropped */
    uint32_t packets_per_second; /* per-session inbound message rate */
    const char *const *origins; /* allowed Origin values (NULL-terminated list, "*" = any) */
    size_t norigins;
} sh_eio_config;

typedef struct sh_eio_callbacks {
    /* A new session completed its handshake. */
    void (*on_open)(sh_eio_session *s, void *ud);
    /* One Engine.IO message packet's data (text without the "4", or binary). Borrowed. */
    void (*on_message)(sh_eio_session *s, const char *data, size_t len, bool binary, void *ud);
    /* The session is gone (client close, transport error, ping timeout, server close). */
    void (*on_close)(sh_eio_session *s, const char *reason, void *ud);
    /* Optional: a flush pass starts (once per loop turn with output, after sh_eio_request_flush):
     * queue what was held back for batching now; it is written in this pass. */
    void (*on_flush)(void *ud);
    /* Optional: sh_eio_close is about to queue the close packet: queue what the session is still
     * owed first (it would be lost after). */
    void (*before_close)(sh_eio_session *s, void *ud);
} sh_eio_callbacks;

/* Create and register the HTTP routes. NULL on error (err says why). */
sh_eio_server *sh_eio_server_new(sh_host *h, const sh_eio_config *cfg, const sh_eio_callbacks *cb, void *ud,
                                 char *err, size_t errlen);
/* Close every session (on_close runs for each) and free. */
void sh_eio_server_free(sh_eio_server *srv);
size_t sh_eio_server_count(const sh_eio_server *srv);

/* Queue a message (text: the Socket.IO packet; copied). SH_OK or an error (session closing). */
int sh_eio_send(sh_eio_session *s, const void *data, size_t len, bool binary);
/* Queue a shared blob (a reference is taken). */
int sh_eio_send_blob(sh_eio_session *s, sh_eio_blob *b);
/* A blob holding "4" + msg (text) or the raw bytes (binary), ready for WebSocket and polling. */
sh_eio_blob *sh_eio_blob_new(const void *msg, size_t len, bool binary);
void sh_eio_blob_unref(sh_eio_blob *b);

/* Chunks and slices (room batches, see above). A chunk holds `cap` bytes (the caller keeps cap);
 * sh_eio_chunk_grow reallocates it (only while nothing else holds a reference: refs == 1; NULL on
 * failure, the chunk unchanged). The frame of a message (text: "4" + msg, as sh_eio_blob_new) is
 * sh_eio_frame_size bytes, written by sh_eio_frame_write. */
sh_eio_blob *sh_eio_chunk_new(size_t cap);
sh_eio_blob *sh_eio_chunk_grow(sh_eio_blob *chunk, size_t cap);
size_t sh_eio_frame_size(size_t len, bool binary);
void sh_eio_frame_write(uint8_t *dst, const void *msg, size_t len, bool binary);
/* Queue bytes [off, off + len) of b->data, whole frames (a reference is taken). */
int sh_eio_send_slice(sh_eio_session *s, sh_eio_blob *b, uint32_t off, uint32_t len);
/* Make sure a flush pass (on_flush, then the writes) runs at the end of this loop turn. */
void sh_eio_request_flush(sh_eio_server *srv);

/* Close a session (sends a close packet where the transport allows); on_close runs later. */
void sh_eio_close(sh_eio_session *s, const char *reason);

const char *sh_eio_session_id(const sh_eio_session *s);
/* 1 once the session is closing (its memory stays valid until the end of this loop turn). */
int sh_eio_session_closed(const sh_eio_session *s);
const char *sh_eio_session_remote(const sh_eio_session *s);
const char *sh_eio_session_transport(const sh_eio_session *s); /* "polling" or "websocket" */
void sh_eio_session_set_data(sh_eio_session *s, void *data);
void *sh_eio_session_data(const sh_eio_session *s);

#endif
