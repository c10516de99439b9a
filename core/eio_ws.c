/*
 * eio_ws.c - the WebSocket transport of Engine.IO: a connection taken over from libevhtp after
 * the upgrade request, served on its raw file descriptor.
 *
 * Why raw: output is the session's queue of byte ranges of shared blobs (a broadcast's bytes are
 * shared by every receiver; a room's messages of one loop turn are one slice of a shared chunk),
 * written with one writev per session per loop turn, one iovec per queue entry, and no copy or
 * allocation per delivery. Control frames (pong, close, the probe answer) and the 101 answer go
 * into a small private buffer written ahead of the queue.
 *
 * Taking over: libevhtp still touches the bufferevent after our request handler returns (it
 * drains the parsed request head), so the fd is duplicated and the bufferevent freed on a later
 * loop turn; bytes the client sent right after its request head are read from it first.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/eio_internal.h"
#include "core/log.h"

/* How long a closing connection may take to write its close frame and see the peer close in turn
 * (a peer that does not read any more would otherwise keep it, and its descriptor, forever). */
#define EIO_WS_CLOSE_GRACE_MS 2000

/* Queue entries per writev: a broadcast burst is written in one call per session (UIO_MAXIOV is
 * 1024; a room batch is one entry however many messages it carries). */
#define EIO_WS_IOV 256

/* Slot i of a session's output ring (its capacity is a power of two, see eio_server.c). */
#define QSLOT(s, i) ((s)->q[((s)->qh + (i)) & ((s)->qcap - 1)])
#define QNEXT(s, x) (((x) + 1) & ((s)->qcap - 1))

struct eio_ws {
    sh_eio_server *srv;
    sh_eio_session *s; /* NULL once detached */
    int fd;
    struct event *rev, *wev, *setup_ev, *reap_ev;
    struct bufferevent *bev; /* until the deferred set-up */
    sh_ws_parser parser;
    unsigned probing : 1, closing : 1, dead : 1, draining : 1;
    uint8_t *ctl;
    size_t ctl_len, ctl_off, ctl_cap;
    /* a session queue entry partly written when the session let go of this connection: its rest
     * is written before anything else, so that no other frame lands inside one of its frames */
    eio_qent tail; /* tail.b NULL: none */
    size_t tail_off;
    char accept[SH_WS_ACCEPT_LEN + 1];
    char remote[48];
    eio_ws *prev, *next;
};

static void ws_destroy(eio_ws *ws) {
    sh_eio_server *srv = ws->srv;
    if (ws->prev) ws->prev->next = ws->next;
    else srv->ws_all = ws->next;
    if (ws->next) ws->next->prev = ws->prev;
    if (ws->rev) event_free(ws->rev);
    if (ws->wev) event_free(ws->wev);
    if (ws->setup_ev) event_free(ws->setup_ev);
    if (ws->reap_ev) event_free(ws->reap_ev);
    if (ws->bev) bufferevent_free(ws->bev);
    if (ws->fd >= 0) close(ws->fd);
    sh_ws_parser_free(&ws->parser);
    sh_eio_blob_unref(ws->tail.b);
    free(ws->ctl);
    free(ws);
    sh_metric_add(srv->m_ws, -1);
}

static void on_reap(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ws_destroy(arg);
}

/* Stop all I/O now and free on a later loop turn (callers up the stack may still hold ws). */
static void ws_free(eio_ws *ws) {
    if (ws->dead) return;
    ws->dead = 1;
    if (ws->rev) event_del(ws->rev);
    if (ws->wev) event_del(ws->wev);
    if (ws->setup_ev) event_del(ws->setup_ev);
    if (ws->fd >= 0) {
        close(ws->fd);
        ws->fd = -1;
    }
    event_active(ws->reap_ev, 0, 0);
}

/* Free a closing connection after the grace period, whatever state it is in then. */
static void arm_grace(eio_ws *ws) {
    struct timeval tv = {EIO_WS_CLOSE_GRACE_MS / 1000, (EIO_WS_CLOSE_GRACE_MS % 1000) * 1000};
    event_add(ws->reap_ev, &tv);
}

static int ctl_add(eio_ws *ws, const void *data, size_t len) {
    if (ws->ctl_off == ws->ctl_len) ws->ctl_off = ws->ctl_len = 0;
    if (ws->ctl_len + len > ws->ctl_cap) {
        size_t nc = (ws->ctl_len + len) * 2;
        if (nc > (1u << 20)) return -1; /* a peer that never reads its pongs */
        uint8_t *n = realloc(ws->ctl, nc);
        if (!n) return -1;
        ws->ctl = n;
        ws->ctl_cap = nc;
    }
    memcpy(ws->ctl + ws->ctl_len, data, len);
    ws->ctl_len += len;
    return 0;
}

/* Detach from the session: the session goes on (closing) without this transport. */
static void detach(eio_ws *ws) {
    sh_eio_session *s = ws->s;
    if (!s) return;
    if (s->ws == ws && s->upgraded && s->qn && s->qoff) { /* keep the frame on the wire whole */
        ws->tail = s->q[s->qh];
        ws->tail.b->refs++;
        ws->tail_off = s->qoff;
    }
    if (s->ws == ws) s->ws = NULL;
    if (s->probe == ws) s->probe = NULL;
    ws->s = NULL;
}

/* The peer is gone or broke the protocol: end the session (if any) and free now. */
static void ws_fail(eio_ws *ws, const char *reason) {
    sh_eio_session *s = ws->s;
    int active = s && s->ws == ws; /* a failed probe leaves the polling session alone */
    detach(ws);
    if (active && !s->closed) eio_session_close(s, reason);
    ws_free(ws);
}

/* Write what we can: the rest of a frame already partly written, control bytes, then (when
 * upgraded) the session's queue. Control bytes only ever go between whole frames. Returns -1 if
 * the connection failed (and was freed) or, closing, has written its close frame (it then only
 * drains the peer's input until EOF or the grace period). */
static int ws_write(eio_ws *ws) {
    if (ws->fd < 0) return 0;
    for (;;) {
        struct iovec iov[EIO_WS_IOV];
        int n = 0;
        sh_eio_session *s = ws->s && ws->s->ws == ws && ws->s->upgraded ? ws->s : NULL;
        int head_tail = ws->tail.b != NULL;                   /* the detached session's last entry */
        int head_queue = !head_tail && s && s->qn && s->qoff; /* the session's first entry, begun */
        if (head_tail) {
            iov[n++] = (struct iovec){ws->tail.b->data + ws->tail.off + ws->tail_off, ws->tail.len - ws->tail_off};
        } else if (head_queue) {
            eio_qent e = s->q[s->qh];
            iov[n++] = (struct iovec){e.b->data + e.off + s->qoff, e.len - s->qoff};
        }
        if (ws->ctl_off < ws->ctl_len) iov[n++] = (struct iovec){ws->ctl + ws->ctl_off, ws->ctl_len - ws->ctl_off};
        for (size_t i = head_queue ? 1 : 0; s && i < s->qn && n < EIO_WS_IOV; i++) {
            eio_qent e = QSLOT(s, i);
            iov[n++] = (struct iovec){e.b->data + e.off, e.len};
        }
        if (n == 0) break;
        ssize_t w = writev(ws->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(ws->wev, NULL);
                return 0;
            }
            ws_fail(ws, "transport error");
            return -1;
        }
        size_t left = (size_t)w;
        if (head_tail) {
            size_t rem = ws->tail.len - ws->tail_off;
            size_t k = left < rem ? left : rem;
            ws->tail_off += k;
            left -= k;
            if (k == rem) {
                sh_eio_blob_unref(ws->tail.b);
                ws->tail = (eio_qent){0};
                ws->tail_off = 0;
            }
        }
        /* the session's queue: a begun first entry is finished before the control bytes */
        if (head_queue && left) {
            eio_qent e = s->q[s->qh];
            size_t rem = e.len - s->qoff;
            size_t k = left < rem ? left : rem;
            s->qoff += k;
            left -= k;
            if (k == rem) {
                s->qoff = 0;
                s->qbytes -= e.len;
                s->qh = QNEXT(s, s->qh);
                s->qn--;
                sh_eio_blob_unref(e.b);
            }
        }
        size_t c = ws->ctl_len - ws->ctl_off;
        if (c) {
            size_t k = left < c ? left : c;
            ws->ctl_off += k;
            left -= k;
        }
        while (s && left && s->qn) {
            eio_qent e = s->q[s->qh];
            size_t rem = e.len - s->qoff;
            if (left < rem) {
                s->qoff += left;
                left = 0;
                break;
            }
            left -= rem;
            s->qoff = 0;
            s->qbytes -= e.len;
            s->qh = QNEXT(s, s->qh);
            s->qn--;
            sh_eio_blob_unref(e.b);
        }
        int all = !ws->tail.b && ws->ctl_off == ws->ctl_len && (!s || s->qn == 0);
        if (all) break;
        if ((size_t)w == 0) {
            event_add(ws->wev, NULL);
            return 0;
        }
    }
    if (ws->closing && !ws->tail.b && ws->ctl_off == ws->ctl_len) {
        /* close frame written: half-close, then read and discard until the peer closes too (EOF).
         * Closing the descriptor with its input unread would reset the connection, and the peer
         * would lose what we just wrote, close frame included. */
        if (!ws->draining) {
            ws->draining = 1;
            shutdown(ws->fd, SHUT_WR);
            event_add(ws->rev, NULL);
            arm_grace(ws);
        }
        return -1;
    }
    return 0;
}

void eio_ws_flush(eio_ws *ws, sh_eio_session *s) {
    (void)s;
    ws_write(ws);
}

void eio_ws_write_now(eio_ws *ws, sh_eio_blob *b) {
    if (ws->closing) return;
    if (ctl_add(ws, b->data + SH_EIO_BLOB_HDR_ROOM - b->hdr, (size_t)b->hdr + b->len) < 0) return;
    ws_write(ws);
}

void eio_ws_close(eio_ws *ws, uint16_t code, const char *reason) {
    detach(ws);
    if (ws->closing) return;
    ws->closing = 1;
    if (ws->fd < 0) { /* not set up yet: the set-up will see `closing` */
        return;
    }
    uint8_t frame[SH_WS_CONTROL_FRAME_MAX];
    size_t len = 0;
    if (sh_ws_encode_close(frame, code, reason, reason ? strlen(reason) : 0, &len) == SH_WS_OK) ctl_add(ws, frame, len);
    event_del(ws->rev);
    if (ws_write(ws) < 0) return; /* written (now draining) or failed */
    arm_grace(ws);                /* the peer is not taking the close frame yet */
}

static void protocol_close(eio_ws *ws, int status) {
    sh_eio_session *s = ws->s && ws->s->ws == ws ? ws->s : NULL;
    uint16_t code = sh_ws_status_close_code(status);
    SH_LOG_D("eio", "websocket %s: %s: closing with %u", ws->remote, sh_ws_strerror(status), code);
    detach(ws);
    if (s && !s->closed) eio_session_close(s, "transport error");
    eio_ws_close(ws, code, sh_ws_strerror(status));
}

/* Handle one complete message or control frame. Returns -1 when ws is gone or closing. */
static int on_frame(eio_ws *ws, const sh_ws_message *m) {
    uint8_t frame[SH_WS_CONTROL_FRAME_MAX];
    size_t len;
    switch (m->opcode) {
    case SH_WS_OP_PING:
        if (sh_ws_encode_pong(frame, m->data, m->len, &len) == SH_WS_OK && ctl_add(ws, frame, len) == 0)
            return ws_write(ws);
        return 0;
    case SH_WS_OP_PONG: return 0;
    case SH_WS_OP_CLOSE: {
        sh_eio_session *s = ws->s && ws->s->ws == ws ? ws->s : NULL;
        detach(ws);
        if (s && !s->closed) eio_session_close(s, "transport close");
        eio_ws_close(ws, m->close_code ? m->close_code : 1000, NULL);
        return -1;
    }
    default: break;
    }
    sh_eio_packet p;
    if (sh_eio_parse_ws(m->data, m->len, m->opcode == SH_WS_OP_BINARY, &p) != SH_EIO_OK) {
        sh_eio_session *s = ws->s && ws->s->ws == ws ? ws->s : NULL;
        detach(ws);
        if (s && !s->closed) eio_session_close(s, "parse error");
        eio_ws_close(ws, 1003, "bad Engine.IO packet");
        return -1;
    }
    sh_eio_session *s = ws->s;
    if (!s) return -1;
    if (ws->probing) {
        if (p.type == SH_EIO_PING && p.len == 5 && memcmp(p.data, "probe", 5) == 0) {
            sh_eio_blob *b = sh_eio_blob_raw("3probe", 6, false);
            if (b) {
                eio_ws_write_now(ws, b);
                sh_eio_blob_unref(b);
            }
            /* the client sends "5" only once its pending poll returns: end that poll now (as the
             * reference server's noop does) instead of at the next message or ping */
            eio_answer_poll(s, "6");
            return ws->closing ? -1 : 0;
        }
        if (p.type == SH_EIO_UPGRADE) {
            ws->probing = 0;
            s->probe = NULL;
            s->ws = ws;
            s->upgraded = 1;
            eio_answer_poll(s, "6"); /* release the pending GET */
            return ws_write(ws);     /* and send what was queued meanwhile */
        }
        return 0; /* nothing else is expected during the probe */
    }
    if (eio_handle_packet(s, &p) < 0) return -1;
    return 0;
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    (void)what;
    eio_ws *ws = arg;
    uint8_t buf[16384];
    if (ws->draining) { /* closed on our side: discard input until the peer closes */
        for (int rounds = 0; rounds < 16; rounds++) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n > 0) continue;
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            ws_free(ws);
            return;
        }
        return;
    }
    for (int rounds = 0; rounds < 4; rounds++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            ws_fail(ws, "transport error");
            return;
        }
        if (n == 0) {
            ws_fail(ws, "transport close");
            return;
        }
        size_t off = 0;
        while (off < (size_t)n) {
            size_t used;
            sh_ws_message m;
            int rc = sh_ws_parser_feed(&ws->parser, buf + off, (size_t)n - off, &used, &m);
            if (rc < 0) {
                protocol_close(ws, rc);
                return;
            }
            off += used;
            if (m.ready && on_frame(ws, &m) < 0) return;
            if (ws->closing || ws->dead) return;
        }
        if ((size_t)n < sizeof buf) return;
    }
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    ws_write(arg);
}

/* Deferred set-up: libevhtp is done with the bufferevent now. */
static void on_setup(evutil_socket_t fd0, short what, void *arg) {
    (void)fd0;
    (void)what;
    eio_ws *ws = arg;
    sh_eio_server *srv = ws->srv;
    int fd = dup(bufferevent_getfd(ws->bev));
    struct evbuffer *in = bufferevent_get_input(ws->bev);
    size_t early = evbuffer_get_length(in);
    uint8_t *early_bytes = early ? malloc(early) : NULL;
    if (early_bytes) evbuffer_remove(in, early_bytes, early);
    bufferevent_free(ws->bev);
    ws->bev = NULL;
    if (fd < 0 || evutil_make_socket_nonblocking(fd) < 0) {
        free(early_bytes);
        if (fd >= 0) close(fd);
        ws_fail(ws, "transport error");
        return;
    }
    ws->fd = fd;
    ws->rev = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_read, ws);
    ws->wev = event_new(srv->base, fd, EV_WRITE, on_writable, ws);
    if (!ws->rev || !ws->wev) {
        free(early_bytes);
        ws_fail(ws, "out of memory");
        return;
    }
    char head[256];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n",
                      ws->accept);
    ctl_add(ws, head, (size_t)hl);
    if (ws->closing) { /* the session went away while we were setting up */
        free(early_bytes);
        ws->closing = 0;
        eio_ws_close(ws, 1001, "session closed");
        return;
    }
    if (!ws->s) { /* a new session straight on WebSocket */
        sh_eio_session *s = eio_session_new(srv, ws->remote);
        char *open;
        size_t len;
        if (!s || eio_open_packet(srv, s, 0, &open, &len) < 0) {
            free(early_bytes);
            if (s) eio_session_close(s, "out of memory");
            ws_fail(ws, "out of memory");
            return;
        }
        ws->s = s;
        s->ws = ws;
        s->upgraded = 1;
        sh_eio_blob *b = sh_eio_blob_raw(open, len, false);
        free(open);
        if (b) {
            ctl_add(ws, b->data + SH_EIO_BLOB_HDR_ROOM - b->hdr, (size_t)b->hdr + b->len);
            sh_eio_blob_unref(b);
        }
        event_add(ws->rev, NULL);
        if (ws_write(ws) < 0) {
            free(early_bytes);
            return;
        }
        srv->cb.on_open(s, srv->ud);
    } else {
        event_add(ws->rev, NULL);
        if (ws_write(ws) < 0) {
            free(early_bytes);
            return;
        }
    }
    /* bytes that arrived with the request head */
    size_t off = 0;
    while (early_bytes && off < early && !ws->closing && !ws->dead) {
        size_t used;
        sh_ws_message m;
        int rc = sh_ws_parser_feed(&ws->parser, early_bytes + off, early - off, &used, &m);
        if (rc < 0) {
            protocol_close(ws, rc);
            break;
        }
        off += used;
        if (m.ready && on_frame(ws, &m) < 0) break;
    }
    free(early_bytes);
}

int eio_ws_start(sh_eio_server *srv, struct bufferevent *bev, const char *accept_key, sh_eio_session *s,
                 const char *remote) {
    eio_ws *ws = calloc(1, sizeof *ws);
    if (!ws) {
        bufferevent_free(bev);
        return SH_ERR_NOMEM;
    }
    ws->srv = srv;
    ws->fd = -1;
    ws->bev = bev;
    snprintf(ws->accept, sizeof ws->accept, "%s", accept_key);
    snprintf(ws->remote, sizeof ws->remote, "%s", remote ? remote : "-");
    sh_ws_parser_config pc = {srv->cfg.max_payload, 4096};
    sh_ws_parser_init(&ws->parser, &pc);
    ws->next = srv->ws_all;
    if (srv->ws_all) srv->ws_all->prev = ws;
    srv->ws_all = ws;
    sh_metric_add(srv->m_ws, 1);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    if (s) {
        ws->s = s;
        ws->probing = 1;
        s->probe = ws;
    }
    ws->setup_ev = event_new(srv->base, -1, 0, on_setup, ws);
    ws->reap_ev = event_new(srv->base, -1, 0, on_reap, ws);
    if (!ws->setup_ev || !ws->reap_ev) {
        detach(ws);
        ws_destroy(ws);
        return SH_ERR_NOMEM;
    }
    event_active(ws->setup_ev, 0, 0);
    return SH_OK;
}

void eio_ws_free_all(sh_eio_server *srv) {
    while (srv->ws_all) {
        eio_ws *ws = srv->ws_all;
        detach(ws);
        ws_destroy(ws);
    }
}
