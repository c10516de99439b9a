/*
 * sio_batch.c - room batches of the Socket.IO server (see sio_internal.h for the structures).
 *
 * Room batches: a room (or whole-namespace) emit does not touch the members. Its frames (the
 * packet text, then one per binary attachment, WebSocket-framed) are appended to the *open batch*:
 * a byte range of an append-only chunk (sh_eio_chunk_new), O(1) per message. The batch is sealed
 * (its range queued on every member as one slice, sh_eio_send_slice: one queue entry and one
 * iovec per member) at the end of the loop turn (the Engine.IO flush pass calls on_flush), so a
 * turn with m messages for a room costs O(members), not O(m x members). There is at most one open
 * batch per server, which keeps every socket's order the emit order:
 *   - an emit to another target (room or namespace) seals the open batch first, then opens its own;
 *   - anything queued outside the batch to a session with a socket in its target (send_packet:
 *     direct emits, acks, CONNECT replies and errors, DISCONNECT; the Engine.IO close packet via
 *     before_close) seals it first;
 *   - joining or leaving the target room, a socket of the target namespace connecting, and a
 *     socket of the target leaving seal it first (members are taken when sealing);
 *   - an emit with an excepted socket seals it and delivers the old way (one shared blob per
 *     frame queued on each member but the excepted one).
 * The chunk is shared by the batches of one turn (a new one when full, grown in place while no
 * slice points into it); the server drops its reference after the turn's seal, the members' slices
 * keep it alive until written. It is trimmed to its used size before that seal when it can be, so
 * that a slow client holding a slice does not hold much more memory than the slice's bytes (which
 * count towards its high-water mark).
 */
#include <stdint.h>
#include <string.h>

#include "core/sio_internal.h"

#define BATCH_CHUNK_MIN 2048  /* a turn's first chunk, at least (grown by doubling) */
#define BATCH_CHUNK_MAX 65536 /* a full chunk: a new one (unless one packet needs more) */

/* Queue the open batch's frames on every member of its target (one slice each) and close it. */
void sio_batch_seal(sh_sio_server *srv) {
    sio_batch *b = &srv->batch;
    if (!b->ns) return;
    sh_eio_blob *chunk = b->chunk;
    uint32_t off = b->start, len = chunk->len - b->start;
    sh_room *r = b->room;
    nsp *ns = b->ns;
    b->ns = NULL;
    b->room = NULL;
    b->start = chunk->len;
    if (r) {
        for (size_t i = 0; i < r->n; i++) {
            sh_socket *s = r->members[i];
            if (!s->closing) sh_eio_send_slice(s->es, chunk, off, len);
        }
    } else {
        for (sh_socket *s = ns->head; s; s = s->next)
            if (!s->closing) sh_eio_send_slice(s->es, chunk, off, len);
    }
}

/* 1 if socket s is in the open batch's target. */
int sio_batch_has_socket(const sio_batch *b, const sh_socket *s) {
    if (!b->ns || s->ns != b->ns) return 0;
    if (!b->room) return 1;
    for (size_t i = 0; i < s->nrooms; i++)
        if (s->rooms[i].room == b->room) return 1;
    return 0;
}

/* Before queueing anything to c's session outside the batch: seal it if c is a member. */
void sio_batch_seal_for(sio_conn *c) {
    sio_batch *b = &c->srv->batch;
    if (!b->ns) return;
    for (size_t i = 0; i < c->nsocks; i++)
        if (sio_batch_has_socket(b, c->socks[i])) {
            sio_batch_seal(c->srv);
            return;
        }
}

/* Room for `need` more bytes in the chunk: grown in place if no slice points into it yet, else a
 * new chunk (the open batch is sealed first: its frames are in the old one). -1 if out of memory. */
static int batch_reserve(sh_sio_server *srv, size_t need) {
    sio_batch *b = &srv->batch;
    if (b->chunk && b->chunk->len + need <= b->cap) return 0;
    if (b->chunk && b->chunk->len + need <= BATCH_CHUNK_MAX && b->chunk->refs == 1) {
        size_t nc = b->cap * 2 > BATCH_CHUNK_MAX ? BATCH_CHUNK_MAX : b->cap * 2;
        if (nc < b->chunk->len + need) nc = b->chunk->len + need;
        sh_eio_blob *g = sh_eio_chunk_grow(b->chunk, nc);
        if (g) {
            b->chunk = g;
            b->cap = nc;
            return 0;
        }
    }
    size_t nc = b->chunk ? b->cap * 2 : b->hint;
    if (nc < BATCH_CHUNK_MIN) nc = BATCH_CHUNK_MIN;
    if (nc > BATCH_CHUNK_MAX) nc = BATCH_CHUNK_MAX;
    if (nc < need) nc = need;
    if (need > UINT32_MAX / 2) return -1;
    sh_eio_blob *n = sh_eio_chunk_new(nc);
    if (!n) return -1;
    sio_batch_seal(srv);
    sh_eio_blob_unref(b->chunk);
    b->chunk = n;
    b->cap = nc;
    b->start = 0;
    return 0;
}

/* Append one packet (text, then its binary attachments; borrowed) to the batch for (ns, r),
 * opening it (and sealing another target's) if needed. -1 if out of memory (nothing appended). */
int sio_batch_add(sh_sio_server *srv, nsp *ns, sh_room *r, const char *pkt, size_t len, const sh_sio_buffer *att,
                  size_t natt) {
    sio_batch *b = &srv->batch;
    if (b->ns && (b->ns != ns || b->room != r)) sio_batch_seal(srv);
    size_t need = sh_eio_frame_size(len, false);
    for (size_t i = 0; i < natt; i++)
        need += sh_eio_frame_size(att[i].len, true);
    if (batch_reserve(srv, need) < 0) return -1;
    if (!b->ns) { /* open: sealed by the flush pass at the end of this turn, if not before */
        b->ns = ns;
        b->room = r;
        b->start = b->chunk->len;
        sh_eio_request_flush(srv->eio);
    }
    uint8_t *p = b->chunk->data + b->chunk->len;
    sh_eio_frame_write(p, pkt, len, false);
    p += sh_eio_frame_size(len, false);
    for (size_t i = 0; i < natt; i++) {
        sh_eio_frame_write(p, att[i].data, att[i].len, true);
        p += sh_eio_frame_size(att[i].len, true);
    }
    b->chunk->len += (uint32_t)need;
    return 0;
}

/* The flush pass (end of the loop turn): seal the open batch and let go of the turn's chunk. */
void sio_batch_flush(void *ud) {
    sh_sio_server *srv = ud;
    sio_batch *b = &srv->batch;
    if (!b->chunk) return;
    /* no slice points into the chunk yet (the usual case: one batch per turn): trim it to its use,
     * so that a slow member's slice does not hold on to unused bytes */
    if (b->ns && b->chunk->refs == 1 && b->cap - b->chunk->len >= 1024) {
        sh_eio_blob *g = sh_eio_chunk_grow(b->chunk, b->chunk->len);
        if (g) {
            b->chunk = g;
            b->cap = g->len;
        }
    }
    b->hint = (size_t)b->chunk->len * 2;
    sio_batch_seal(srv);
    sh_eio_blob_unref(b->chunk);
    b->chunk = NULL;
    b->cap = 0;
    b->start = 0;
}
