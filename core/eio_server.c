/*
 * eio_server.c - the Engine.IO v4 server (see eio_server.h): sessions, their output queues and
 * the loop-turn flush, heartbeats, HTTP long-polling. The WebSocket connection itself (raw fd,
 * RFC 6455 frames) is in eio_ws.c.
 *
 * Output queue: a ring of (blob, off, len) entries, each whole WebSocket frames as they go on the
 * wire (one blob's frame, or a slice of a chunk carrying a room's messages of one loop turn). The
 * flush pass (flush_cb, once per loop turn with output) first lets the owner of batched output
 * queue it (on_flush), then writes every dirty session: one writev per WebSocket session, or the
 * answer to a pending long-poll GET, built by unpacking the queued frames into a payload.
 */
#include "core/eio_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "core/http.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"

/* ---- blobs ------------------------------------------------------------------------------- */
sh_eio_blob *sh_eio_blob_raw(const void *pkt, size_t len, bool binary) {
    sh_eio_blob *b = malloc(sizeof *b + SH_EIO_BLOB_HDR_ROOM + len);
    if (!b) return NULL;
    b->refs = 1;
    b->len = (uint32_t)len;
    b->binary = binary;
    uint8_t hdr[SH_WS_HEADER_MAX];
    size_t hl = sh_ws_encode_header(hdr, binary ? SH_WS_OP_BINARY : SH_WS_OP_TEXT, true, len);
    b->hdr = (uint8_t)hl;
    memcpy(b->data + SH_EIO_BLOB_HDR_ROOM - hl, hdr, hl);
    if (len) memcpy(b->data + SH_EIO_BLOB_HDR_ROOM, pkt, len);
    return b;
}

sh_eio_blob *sh_eio_blob_new(const void *msg, size_t len, bool binary) {
    if (binary) return sh_eio_blob_raw(msg, len, true);
    sh_eio_blob *b = malloc(sizeof *b + SH_EIO_BLOB_HDR_ROOM + len + 1);
    if (!b) return NULL;
    b->refs = 1;
    b->len = (uint32_t)(len + 1);
    b->binary = 0;
    uint8_t hdr[SH_WS_HEADER_MAX];
    size_t hl = sh_ws_encode_header(hdr, SH_WS_OP_TEXT, true, len + 1);
    b->hdr = (uint8_t)hl;
    memcpy(b->data + SH_EIO_BLOB_HDR_ROOM - hl, hdr, hl);
    b->data[SH_EIO_BLOB_HDR_ROOM] = '4';
    if (len) memcpy(b->data + SH_EIO_BLOB_HDR_ROOM + 1, msg, len);
    return b;
}

void sh_eio_blob_unref(sh_eio_blob *b) {
    if (b && --b->refs == 0) free(b);
}

sh_eio_blob *sh_eio_chunk_new(size_t cap) {
    sh_eio_blob *b = malloc(sizeof *b + cap);
    if (!b) return NULL;
    *b = (sh_eio_blob){.refs = 1};
    return b;
}

sh_eio_blob *sh_eio_chunk_grow(sh_eio_blob *chunk, size_t cap) {
    if (chunk->refs != 1 || cap < chunk->len) return NULL; /* slices point into it */
    return realloc(chunk, sizeof *chunk + cap);
}

size_t sh_eio_frame_size(size_t len, bool binary) {
    size_t pl = binary ? len : len + 1;
    return (pl < 126 ? 2 : pl < 65536 ? 4 : 10) + pl;
}

void sh_eio_frame_write(uint8_t *dst, const void *msg, size_t len, bool binary) {
    size_t hl = sh_ws_encode_header(dst, binary ? SH_WS_OP_BINARY : SH_WS_OP_TEXT, true, binary ? len : len + 1);
    if (!binary) dst[hl++] = '4';
    if (len) memcpy(dst + hl, msg, len);
}

/* The frame at p (one written by us: unmasked, whole) as an Engine.IO packet; its size, or 0 if
 * it is not a complete frame of a message within avail bytes. */
static size_t frame_packet(const uint8_t *p, size_t avail, sh_eio_packet *pk) {
    if (avail < 2) return 0;
    size_t hl = 2, pl = p[1] & 0x7f;
    if (pl == 126) {
        hl = 4;
        pl = avail < 4 ? 0 : (size_t)p[2] << 8 | p[3];
    } else if (pl == 127) {
        hl = 10;
        pl = 0;
        for (size_t i = 0; i < 8 && avail >= 10; i++) pl = pl << 8 | p[2 + i];
    }
    if (avail < hl || pl > avail - hl) return 0;
    const uint8_t *d = p + hl;
    if ((p[0] & 0x0f) == SH_WS_OP_BINARY)
        *pk = (sh_eio_packet){SH_EIO_MESSAGE, true, d, pl};
    else if (pl > 0)
        *pk = (sh_eio_packet){(uint8_t)(d[0] - '0'), false, d + 1, pl - 1};
    else
        return 0;
    return hl + pl;
}

/* ---- sessions ------------------------------------------------------------------------------ */
/* The output queue is a ring whose capacity is a power of two (8, then doubled): slot i of the
 * queue is q[(qh + i) & (qcap - 1)] (a mask, not a division: this runs once per entry). */
#define QSLOT(s, i) ((s)->q[((s)->qh + (i)) & ((s)->qcap - 1)])

static uint64_t hash_sid(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

sh_eio_session *eio_find(sh_eio_server *srv, const char *sid) {
    if (!sid) return NULL;
    for (sh_eio_session *s = srv->buckets[hash_sid(sid) & (EIO_BUCKETS - 1)]; s; s = s->hnext)
        if (strcmp(s->sid, sid) == 0) return s;
    return NULL;
}

static void table_remove(sh_eio_server *srv, sh_eio_session *s) {
    sh_eio_session **pp = &srv->buckets[hash_sid(s->sid) & (EIO_BUCKETS - 1)];
    while (*pp && *pp != s) pp = &(*pp)->hnext;
    if (*pp) *pp = s->hnext;
}

static void ping_cb(evutil_socket_t fd, short what, void *arg);

sh_eio_session *eio_session_new(sh_eio_server *srv, const char *remote) {
    sh_eio_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->srv = srv;
    unsigned char rnd[15];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return free(s), NULL;
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (size_t i = 0; i < sizeof rnd; i++) {
        acc = (acc << 8) | rnd[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s->sid[n++] = b64[(acc >> bits) & 63];
        }
    }
    s->sid[n] = '\0';
    snprintf(s->remote, sizeof s->remote, "%s", remote ? remote : "-");
    s->ping_ev = evtimer_new(srv->base, ping_cb, s);
    if (!s->ping_ev) return free(s), NULL;
    struct timeval tv = {srv->cfg.ping_interval_ms / 1000, (suseconds_t)(srv->cfg.ping_interval_ms % 1000) * 1000};
    evtimer_add(s->ping_ev, &tv);
    s->tokens = srv->cfg.packets_per_second * 2.0;
    s->last_refill = sh_now_ms();
    size_t k = hash_sid(s->sid) & (EIO_BUCKETS - 1);
    s->hnext = srv->buckets[k];
    srv->buckets[k] = s;
    srv->count++;
    sh_metric_set(srv->m_sessions, (double)srv->count);
    return s;
}

static void outq_clear(sh_eio_session *s) {
    for (size_t i = 0; i < s->qn; i++) sh_eio_blob_unref(QSLOT(s, i).b);
    free(s->q);
    s->q = NULL;
    s->qn = s->qh = s->qcap = 0;
    s->qbytes = 0;
    s->qoff = 0;
}

/* Finally free a session whose on_close already ran and whose transports are gone. */
static void session_destroy(sh_eio_session *s) {
    outq_clear(s);
    if (s->ping_ev) event_free(s->ping_ev);
    free(s);
}

static void dirty_remove(sh_eio_server *srv, sh_eio_session *s) {
    if (!s->dirty) return;
    for (sh_eio_session **pp = &srv->dirty; *pp; pp = &(*pp)->dnext)
        if (*pp == s) {
            *pp = s->dnext;
            break;
        }
    s->dirty = 0;
}

void eio_session_close(sh_eio_session *s, const char *reason) {
    if (s->closed) return;
    sh_eio_server *srv = s->srv;
    s->closed = 1;
    table_remove(srv, s);
    srv->count--;
    sh_metric_set(srv->m_sessions, (double)srv->count);
    evtimer_del(s->ping_ev);
    dirty_remove(srv, s);
    srv->cb.on_close(s, reason, srv->ud);
    if (s->poll) { /* a pending GET learns that the session closed */
        sh_request *r = s->poll;
        s->poll = NULL;
        sh_respond_bytes(r, 200, "text/plain; charset=UTF-8", "1", 1);
    }
    if (s->ws) eio_ws_close(s->ws, 1000, NULL); /* detaches and frees the ws later */
    if (s->probe) eio_ws_close(s->probe, 1000, NULL);
    s->ws = s->probe = NULL;
    /* freed on the next flush pass: callers up the stack may still look at s->closed */
    s->deadnext = srv->dead;
    srv->dead = s;
    sh_eio_request_flush(srv);
}

void sh_eio_close(sh_eio_session *s, const char *reason) {
    if (!s || s->closed) return;
    /* what the layer above still owes the session (batched output) goes first */
    if (s->srv->cb.before_close) s->srv->cb.before_close(s, s->srv->ud);
    if (s->closed) return;
    /* tell the client: a close packet on WebSocket, after what is already queued (polling
     * learns it on its next GET) */
    if (s->ws && eio_send_packet(s, "1") == SH_OK) eio_ws_flush(s->ws, s);
    SH_LOG_D("eio", "closing session %s: %s", s->sid, reason);
    eio_session_close(s, reason);
}

/* ---- output ------------------------------------------------------------------------------- */
void sh_eio_request_flush(sh_eio_server *srv) {
    /* one event_active per loop turn, not per session: flush_cb clears the flag when it starts */
    if (srv->flush_pending) return;
    srv->flush_pending = 1;
    event_active(srv->flush_ev, 0, 0);
}

static void mark_dirty(sh_eio_session *s) {
    sh_eio_server *srv = s->srv;
    if (s->dirty) return;
    s->dirty = 1;
    sh_eio_request_flush(srv);
    s->dnext = srv->dirty;
    srv->dirty = s;
}

int sh_eio_send_slice(sh_eio_session *s, sh_eio_blob *b, uint32_t off, uint32_t len) {
    if (!s || s->closed || !b) return SH_ERR_STATE;
    if (s->qn) { /* right after the last entry's bytes in the same blob (a chunk): one entry */
        eio_qent *last = &QSLOT(s, s->qn - 1);
        if (last->b == b && last->off + last->len == off) {
            last->len += len;
            s->qbytes += len;
            if (s->qbytes > s->srv->cfg.high_water) s->overflow = 1;
            mark_dirty(s);
            return SH_OK;
        }
    }
    /* A session still holding earlier output (slow, or polling between requests) gets its own
     * copy of a small slice of a shared chunk: otherwise each such slice would keep a whole chunk
     * (up to 64 KiB, shared by the turn's other batches) alive while only the slice's bytes count
     * towards its high-water mark, and a slow client in a quiet room could pin far more memory
     * than it is charged for. Sessions that keep up (nothing queued at the seal) share the chunk. */
    if (s->qn && b->hdr == 0 && b->len > 2 * (size_t)len) {
        sh_eio_blob *c = sh_eio_chunk_new(len);
        if (c) {
            memcpy(c->data, b->data + off, len);
            c->len = len;
            int rc = sh_eio_send_slice(s, c, 0, len);
            sh_eio_blob_unref(c);
            return rc;
        }
    }
    if (s->qn == s->qcap) {
        size_t nc = s->qcap ? s->qcap * 2 : 8;
        eio_qent *nq = malloc(nc * sizeof *nq);
        if (!nq) return SH_ERR_NOMEM;
        for (size_t i = 0; i < s->qn; i++) nq[i] = QSLOT(s, i);
        free(s->q);
        s->q = nq;
        s->qh = 0;
        s->qcap = nc;
    }
    b->refs++;
    QSLOT(s, s->qn) = (eio_qent){b, off, len};
    s->qn++;
    s->qbytes += len;
    /* over the high-water mark: the flush pass writes, then drops the session if it is still
     * over (not inside a broadcast loop) */
    if (s->qbytes > s->srv->cfg.high_water) s->overflow = 1;
    mark_dirty(s);
    return SH_OK;
}

int sh_eio_send_blob(sh_eio_session *s, sh_eio_blob *b) {
    if (!b) return SH_ERR_STATE;
    return sh_eio_send_slice(s, b, (uint32_t)(SH_EIO_BLOB_HDR_ROOM - b->hdr), (uint32_t)b->hdr + b->len);
}

int sh_eio_send(sh_eio_session *s, const void *data, size_t len, bool binary) {
    sh_eio_blob *b = sh_eio_blob_new(data, len, binary);
    if (!b) return SH_ERR_NOMEM;
    int rc = sh_eio_send_blob(s, b);
    sh_eio_blob_unref(b);
    return rc;
}

int eio_send_packet(sh_eio_session *s, const char *pkt) {
    sh_eio_blob *b = sh_eio_blob_raw(pkt, strlen(pkt), false);
    if (!b) return SH_ERR_NOMEM;
    int rc = sh_eio_send_blob(s, b);
    sh_eio_blob_unref(b);
    return rc;
}

/* Answer the pending long-poll GET with everything queued: the frames of every entry (a slice
 * carries several) unpacked into one payload. */
static void flush_poll(sh_eio_session *s) {
    if (!s->poll || s->qn == 0) return;
    size_t npk = 0, cap = s->qn;
    sh_eio_packet *pk = malloc(cap * sizeof *pk);
    if (!pk) return;
    for (size_t i = 0; i < s->qn; i++) {
        eio_qent e = QSLOT(s, i);
        const uint8_t *p = e.b->data + e.off;
        size_t left = e.len, used;
        sh_eio_packet one;
        while (left && (used = frame_packet(p, left, &one)) > 0) {
            if (npk == cap) {
                sh_eio_packet *n = realloc(pk, cap * 2 * sizeof *pk);
                if (!n) {
                    free(pk);
                    return;
                }
                pk = n;
                cap *= 2;
            }
            pk[npk++] = one;
            p += used;
            left -= used;
        }
    }
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = sh_eio_encode_payload(pk, npk, &out, &len);
    free(pk);
    sh_request *r = s->poll;
    s->poll = NULL;
    if (rc != SH_EIO_OK) {
        sh_respond_bytes(r, 500, "text/plain; charset=UTF-8", "encode error", 12);
        return;
    }
    outq_clear(s);
    sh_respond_ref(r, 200, "text/plain; charset=UTF-8", out, len, free, out);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_eio_server *srv = arg;
    /* batched output (a room's messages of this turn) joins the queues first; a flush requested
     * from here on (a write failing, a session closing) is another pass */
    if (srv->cb.on_flush) srv->cb.on_flush(srv->ud);
    srv->flush_pending = 0;
    sh_eio_session *list = srv->dirty;
    srv->dirty = NULL;
    while (list) {
        sh_eio_session *s = list;
        list = s->dnext;
        s->dirty = 0;
        s->dnext = NULL;
        if (s->closed) continue;
        if (s->ws && s->upgraded)
            eio_ws_flush(s->ws, s);
        else
            flush_poll(s);
        /* judged after writing: only what the client did not take counts (a burst queued in one
         * loop turn for a client that reads is not "slow") */
        if (s->overflow && !s->closed) {
            if (s->qbytes > srv->cfg.high_water) {
                SH_LOG_W("eio", "session %s (%s): %zu bytes still queued after a write, over the high-water mark: "
                         "dropping a slow client", s->sid, s->remote, s->qbytes);
                sh_eio_close(s, "slow client: output buffer over the high-water mark");
            } else {
                s->overflow = 0;
            }
        }
    }
    while (srv->dead) {
        sh_eio_session *s = srv->dead;
        srv->dead = s->deadnext;
        session_destroy(s);
    }
}

/* ---- heartbeat and rate ------------------------------------------------------------------- */
static void ping_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_eio_session *s = arg;
    sh_eio_server *srv = s->srv;
    if (s->awaiting_pong) {
        sh_eio_close(s, "ping timeout");
        return;
    }
    s->awaiting_pong = 1;
    eio_send_packet(s, "2");
    struct timeval tv = {srv->cfg.ping_timeout_ms / 1000, (suseconds_t)(srv->cfg.ping_timeout_ms % 1000) * 1000};
    evtimer_add(s->ping_ev, &tv);
}

void eio_got_pong(sh_eio_session *s) {
    if (!s->awaiting_pong) return;
    s->awaiting_pong = 0;
    sh_eio_server *srv = s->srv;
    struct timeval tv = {srv->cfg.ping_interval_ms / 1000, (suseconds_t)(srv->cfg.ping_interval_ms % 1000) * 1000};
    evtimer_add(s->ping_ev, &tv);
}

/* 0 if the session may send one more packet now. */
static int rate_take(sh_eio_session *s) {
    uint64_t now = sh_now_ms();
    double rate = s->srv->cfg.packets_per_second;
    s->tokens += (double)(now - s->last_refill) * rate / 1000.0;
    if (s->tokens > rate * 2) s->tokens = rate * 2;
    s->last_refill = now;
    if (s->tokens < 1) return -1;
    s->tokens -= 1;
    return 0;
}

/* One inbound packet from either transport. Returns -1 if the session was closed. */
int eio_handle_packet(sh_eio_session *s, const sh_eio_packet *p) {
    switch (p->type) {
    case SH_EIO_MESSAGE:
        if (rate_take(s) < 0) {
            sh_eio_close(s, "rate limit: too many packets");
            return -1;
        }
        s->srv->cb.on_message(s, (const char *)p->data, p->len, p->binary, s->srv->ud);
        return s->closed ? -1 : 0;
    case SH_EIO_PONG: eio_got_pong(s); return 0;
    case SH_EIO_CLOSE: eio_session_close(s, "client close"); return -1;
    case SH_EIO_NOOP: return 0;
    default:
        sh_eio_close(s, "protocol error: unexpected packet type");
        return -1;
    }
}

/* ---- HTTP: handshake and long-polling ------------------------------------------------------ */
static void eio_error(sh_request *r, int status, int code, const char *message) {
    char body[160];
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}", code, message);
    sh_respond_bytes(r, status, "application/json", body, (size_t)n);
}

int eio_open_packet(sh_eio_server *srv, sh_eio_session *s, int with_upgrades, char **out, size_t *len) {
    static const char *const upgrades[] = {"websocket"};
    sh_eio_open o = {s->sid, upgrades, with_upgrades ? 1 : 0, srv->cfg.ping_interval_ms, srv->cfg.ping_timeout_ms,
                     srv->cfg.max_payload};
    char *data;
    size_t dlen;
    if (sh_eio_encode_open(&o, &data, &dlen) != SH_EIO_OK) return -1;
    *out = malloc(dlen + 2);
    if (!*out) return free(data), -1;
    (*out)[0] = '0';
    memcpy(*out + 1, data, dlen + 1);
    *len = dlen + 1;
    free(data);
    return 0;
}

void eio_answer_poll(sh_eio_session *s, const char *text) {
    if (!s->poll) return;
    sh_request *r = s->poll;
    s->poll = NULL;
    sh_respond_bytes(r, 200, "text/plain; charset=UTF-8", text, strlen(text));
}

static int origin_ok(sh_eio_server *srv, sh_request *r) {
    const char *origin = sh_req_header(r, "Origin");
    if (!origin) return 1; /* not a browser */
    for (size_t i = 0; i < srv->cfg.norigins; i++)
        if (strcmp(srv->cfg.origins[i], "*") == 0 || strcasecmp(srv->cfg.origins[i], origin) == 0) return 1;
    /* same origin: the page was served by us */
    const char *host = sh_req_header(r, "Host");
    const char *o = strstr(origin, "://");
    return host && o && strcasecmp(o + 3, host) == 0;
}

typedef struct hs_pending {
    sh_eio_server *srv;
    sh_request *r;
    int websocket;
} hs_pending;

static void new_polling_session(sh_eio_server *srv, sh_request *r) {
    sh_eio_session *s = eio_session_new(srv, sh_req_remote_addr(r));
    char *open;
    size_t len;
    if (!s || eio_open_packet(srv, s, 1, &open, &len) < 0) {
        if (s) eio_session_close(s, "out of memory");
        eio_error(r, 500, 0, "Internal error");
        return;
    }
    sh_respond_ref(r, 200, "text/plain; charset=UTF-8", open, len, free, open);
    srv->cb.on_open(s, srv->ud);
}

static void start_websocket(sh_eio_server *srv, sh_request *r, sh_eio_session *s) {
    sh_ws_handshake hs = {sh_req_header(r, "Upgrade"), sh_req_header(r, "Connection"),
                          sh_req_header(r, "Sec-WebSocket-Version"), sh_req_header(r, "Sec-WebSocket-Key")};
    char accept[SH_WS_ACCEPT_LEN + 1];
    int rc = sh_ws_handshake_accept(&hs, accept);
    if (rc != SH_WS_OK) {
        int st = sh_ws_handshake_http_status(rc);
        if (st == 426) sh_resp_header(r, "Sec-WebSocket-Version", "13");
        eio_error(r, st, 3, sh_ws_strerror(rc));
        return;
    }
    char remote[48];
    snprintf(remote, sizeof remote, "%s", sh_req_remote_addr(r));
    struct bufferevent *bev = sh_req_take_connection(r);
    if (!bev) return;
    eio_ws_start(srv, bev, accept, s, remote);
}

static void on_conn_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    hs_pending *hp = ud;
    sh_eio_server *srv = hp->srv;
    sh_request *r = hp->r;
    int ws = hp->websocket;
    free(hp);
    if (!allowed) {
        char ra[32];
        snprintf(ra, sizeof ra, "%llu", (unsigned long long)((retry_after_ms + 999) / 1000));
        sh_resp_header(r, "Retry-After", ra);
        eio_error(r, 429, 0, "Too many connections from this address");
        return;
    }
    if (ws)
        start_websocket(srv, r, NULL);
    else
        new_polling_session(srv, r);
}

static void handshake(sh_eio_server *srv, sh_request *r, int websocket) {
    if (srv->count >= srv->cfg.max_connections) {
        eio_error(r, 503, 0, "Server full");
        return;
    }
    hs_pending *hp = malloc(sizeof *hp);
    if (!hp) {
        eio_error(r, 500, 0, "Internal error");
        return;
    }
    *hp = (hs_pending){srv, r, websocket};
    const char *ip = sh_req_remote_addr(r);
    int loop = strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
    if (srv->cfg.conn_per_ip_per_min == 0 || (srv->cfg.exempt_loopback && loop)) {
        on_conn_rate(1, 0, hp);
        return;
    }
    char key[96];
    snprintf(key, sizeof key, "eio:%s", ip);
    sh_ratelimit_hit(srv->h->rl, key, (int)srv->cfg.conn_per_ip_per_min, 60000, on_conn_rate, hp);
}

static void handle_post(sh_eio_server *srv, sh_request *r, sh_eio_session *s) {
    size_t len;
    const void *body = sh_req_body(r, &len);
    sh_eio_limits lim = {srv->cfg.max_payload, 1000};
    sh_eio_payload pl;
    int rc = sh_eio_parse_payload(body, len, &lim, &pl);
    if (rc != SH_EIO_OK) {
        eio_error(r, rc == SH_EIO_ERR_TOO_BIG ? 413 : 400, 3, "Bad request");
        sh_eio_close(s, "parse error: bad polling payload");
        return;
    }
    for (size_t i = 0; i < pl.count; i++)
        if (eio_handle_packet(s, &pl.packets[i]) < 0) break;
    sh_eio_payload_free(&pl);
    sh_respond_bytes(r, 200, "text/html", "ok", 2);
}

static void handle(sh_request *r, void *ud) {
    sh_eio_server *srv = ud;
    const char *eio = sh_req_query(r, "EIO");
    const char *transport = sh_req_query(r, "transport");
    const char *sid = sh_req_query(r, "sid");
    int is_get = strcmp(sh_req_method(r), "GET") == 0;
    if (!eio || strcmp(eio, "4") != 0) {
        eio_error(r, 400, 5, "Unsupported protocol version");
        return;
    }
    if (!transport || (strcmp(transport, "polling") != 0 && strcmp(transport, "websocket") != 0)) {
        eio_error(r, 400, 0, "Transport unknown");
        return;
    }
    if (!origin_ok(srv, r)) {
        eio_error(r, 403, 4, "Forbidden origin");
        return;
    }
    int websocket = transport[0] == 'w';
    sh_eio_session *s = NULL;
    if (sid) {
        s = eio_find(srv, sid);
        if (!s) {
            eio_error(r, 400, 1, "Session ID unknown");
            return;
        }
    }
    if (websocket) {
        if (!is_get) {
            eio_error(r, 400, 3, "Bad request");
        } else if (!s) {
            handshake(srv, r, 1);
        } else if (s->upgraded || s->probe || s->ws) {
            eio_error(r, 400, 3, "Bad request: already upgraded");
        } else {
            start_websocket(srv, r, s);
        }
        return;
    }
    if (!s) {
        if (is_get)
            handshake(srv, r, 0);
        else
            eio_error(r, 400, 1, "Session ID unknown");
        return;
    }
    if (s->upgraded) {
        eio_error(r, 400, 3, "Bad request: the session was upgraded to websocket");
        return;
    }
    if (!is_get) {
        handle_post(srv, r, s);
        return;
    }
    if (s->poll) {
        eio_error(r, 400, 3, "Bad request: overlapping polling requests");
        sh_eio_close(s, "protocol error: overlapping GET");
        return;
    }
    s->poll = r;
    if (s->qn)
        flush_poll(s);
    else if (s->probe) /* upgrading: the client waits for this poll to return before it sends "5" */
        eio_answer_poll(s, "6");
}

/* ---- server -------------------------------------------------------------------------------- */
sh_eio_server *sh_eio_server_new(sh_host *h, const sh_eio_config *cfg, const sh_eio_callbacks *cb, void *ud,
                                 char *err, size_t errlen) {
    sh_eio_server *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->h = h;
    srv->base = h->base;
    srv->cfg = *cfg;
    srv->cb = *cb;
    srv->ud = ud;
    srv->flush_ev = event_new(h->base, -1, 0, flush_cb, srv);
    srv->m_sessions = sh_metrics_get(h->metrics, SH_METRIC_GAUGE, "streamhub_eio_sessions", "Engine.IO sessions", NULL);
    srv->m_ws = sh_metrics_get(h->metrics, SH_METRIC_GAUGE, "streamhub_eio_websockets", "WebSocket connections", NULL);
    char path[256];
    snprintf(path, sizeof path, "%s", cfg->path);
    size_t pl = strlen(path);
    if (!srv->flush_ev || sh_http_route(h->http, NULL, "GET", path, 0, handle, srv) != SH_OK ||
        sh_http_route(h->http, NULL, "POST", path, 0, handle, srv) != SH_OK) {
        snprintf(err, errlen, "cannot register the Engine.IO endpoint %s", path);
        if (srv->flush_ev) event_free(srv->flush_ev);
        free(srv);
        return NULL;
    }
    if (pl > 1 && path[pl - 1] == '/') { /* also without the trailing slash */
        path[pl - 1] = '\0';
        sh_http_route(h->http, NULL, "GET", path, 0, handle, srv);
        sh_http_route(h->http, NULL, "POST", path, 0, handle, srv);
    }
    return srv;
}

void sh_eio_server_free(sh_eio_server *srv) {
    if (!srv) return;
    for (size_t i = 0; i < EIO_BUCKETS; i++)
        while (srv->buckets[i]) sh_eio_close(srv->buckets[i], "server shutting down");
    eio_ws_free_all(srv);
    while (srv->dead) {
        sh_eio_session *s = srv->dead;
        srv->dead = s->deadnext;
        session_destroy(s);
    }
    event_free(srv->flush_ev);
    free(srv);
}

size_t sh_eio_server_count(const sh_eio_server *srv) { return srv ? srv->count : 0; }
const char *sh_eio_session_id(const sh_eio_session *s) { return s->sid; }
int sh_eio_session_closed(const sh_eio_session *s) { return s->closed; }
const char *sh_eio_session_remote(const sh_eio_session *s) { return s->remote; }
const char *sh_eio_session_transport(const sh_eio_session *s) { return s->upgraded ? "websocket" : "polling"; }
void sh_eio_session_set_data(sh_eio_session *s, void *data) { s->data = data; }
void *sh_eio_session_data(const sh_eio_session *s) { return s->data; }
