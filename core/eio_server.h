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
 * are shared, by reference count, by every session it is queued on. A session whose queued bytes
 * pass the output high-water mark is closed ("slow client").
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

/* A message encoded once for many sessions. data[0..hdr) is room for / holds the WebSocket
 * header; data[hdr..hdr+len) is the Engine.IO packet text ("4" + Socket.IO packet). */
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
