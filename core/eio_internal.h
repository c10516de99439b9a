/*
 * eio_internal.h - what eio_server.c (sessions, polling) and eio_ws.c (WebSocket connections)
 * share. Not for other modules: they use eio_server.h. Thread: loop only.
 */
#ifndef SH_CORE_EIO_INTERNAL_H
#define SH_CORE_EIO_INTERNAL_H

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "core/eio_packet.h"
#include "core/eio_server.h"
#include "core/metrics.h"
#include "core/ws_frame.h"

#define EIO_BUCKETS 4096 /* session hash table (power of two) */

typedef struct eio_ws eio_ws;

/* One output queue entry: bytes [off, off + len) of b->data, whole WebSocket frames ready for the
 * wire: the one frame of an ordinary blob, or a slice of a batch chunk (several frames back to
 * back, see sh_eio_send_slice). Polling unpacks the frames back into Engine.IO packets. */
typedef struct eio_qent {
    sh_eio_blob *b;
    uint32_t off, len;
} eio_qent;

struct sh_eio_session {
    sh_eio_server *srv;
    char sid[24];
    char remote[48];
    unsigned closed : 1, upgraded : 1, awaiting_pong : 1, overflow : 1, dirty : 1;
    sh_eio_session *hnext, *dnext, *deadnext;
    /* output queue: a ring of entries (slices of shared blobs); qoff = bytes of the first entry
     * already written; qbytes = bytes of every entry still queued (entry lengths, not blob sizes) */
    eio_qent *q;
    size_t qh, qn, qcap, qbytes, qoff;
    sh_request *poll; /* the pending long-poll GET */
    eio_ws *ws;       /* the WebSocket transport, once upgraded (or from the start) */
    eio_ws *probe;    /* a WebSocket being probed for the upgrade */
    struct event *ping_ev;
    double tokens;
    uint64_t last_refill;
    void *data;
};

struct sh_eio_server {
    sh_host *h;
    struct event_base *base;
    sh_eio_config cfg;
    sh_eio_callbacks cb;
    void *ud;
    sh_eio_session *buckets[EIO_BUCKETS];
    size_t count;
    sh_eio_session *dirty;
    sh_eio_session *dead; /* closed, freed on the next flush pass */
    struct event *flush_ev;
    unsigned flush_pending : 1; /* flush_ev is active (cleared when the pass starts) */
    eio_ws *ws_all; /* every WebSocket connection, for shutdown */
    sh_metric *m_sessions, *m_ws;
};

sh_eio_blob *sh_eio_blob_raw(const void *pkt, size_t len, bool binary);
sh_eio_session *eio_find(sh_eio_server *srv, const char *sid);
sh_eio_session *eio_session_new(sh_eio_server *srv, const char *remote);
void eio_session_close(sh_eio_session *s, const char *reason);
int eio_send_packet(sh_eio_session *s, const char *pkt);
int eio_handle_packet(sh_eio_session *s, const sh_eio_packet *p);
void eio_got_pong(sh_eio_session *s);
int eio_open_packet(sh_eio_server *srv, sh_eio_session *s, int with_upgrades, char **out, size_t *len);
void eio_answer_poll(sh_eio_session *s, const char *text);

/* eio_ws.c: start serving a WebSocket on `bev` (taken over from libevhtp) after the 101 answer.
 * s = the session it probes for (polling -> websocket upgrade), or NULL for a new session. */
int eio_ws_start(sh_eio_server *srv, struct bufferevent *bev, const char *accept_key, sh_eio_session *s,
                 const char *remote);
/* Send a close frame, stop reading, free once written (or at once if the peer is gone). The
 * session is detached first: nothing calls back into it. */
void eio_ws_close(eio_ws *ws, uint16_t code, const char *reason);
/* Write the session's queue (one writev, as much as the socket takes). */
void eio_ws_flush(eio_ws *ws, sh_eio_session *s);
/* Write one blob ahead of the queue (probe answers, close packets). */
void eio_ws_write_now(eio_ws *ws, sh_eio_blob *b);
void eio_ws_free_all(sh_eio_server *srv);

#endif
