/*
 * plugins/rtmp/conn.c - one RTMP connection: accept, socket reads and writes on the host loop
 * (host->io_watch), handshake, chunk de-framing, protocol control messages, acknowledgements,
 * timeouts, sending, closing and the deferred free.
 *
 * Input: on SH_IO_READ the socket is read into one shared 64 KiB buffer (at most
 * RTMP_READS_PER_WAKE reads per wake-up, so one busy publisher cannot starve the others; the
 * watch is level-triggered, so what is left is read on the next turn) and handed straight to the
 * handshake machine and the chunk decoder, which are incremental and bounded: nothing is ever
 * allocated from a length the peer declared before the bytes are here. The decoder stops after
 * each complete message; while a look-up runs (`paused`) reading stops and the rest of the last
 * read waits in `in`, so a publisher's commands and media are handled strictly in order.
 *
 * Output: messages are encoded into `out`; it is written when the outermost callback working on
 * the connection returns (rtmp_conn_release), directly with send(); SH_IO_WRITE is watched only
 * while bytes are left over, and dropped once they are written. Output above max_output_bytes (a
 * client that does not read) closes the connection. A connection closed after a last answer
 * (rtmp_conn_close_after_flush) discards its input, sends its output, shuts its side down and
 * closes when the peer has closed too, or after RTMP_LINGER_MS.
 *
 * Timeouts (host timers): RTMP_TIMER_DEADLINE closes a connection that has not finished the
 * handshake within handshake_timeout_ms, then one that is not publishing within
 * publish_timeout_ms; RTMP_TIMER_IDLE (armed after the handshake, checked against the time of the
 * last read, so reads cost no timer operation) ends a silent one (reason "idle_timeout").
 *
 * Ownership: a connection is owned by rtmp_g's lists; rtmp_conn_close releases everything that
 * can call back (watch, timers, socket, look-ups) at once and moves it to rtmp_g.dead, freed by a
 * 0 ms host timer. Threads: loop thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugins/rtmp/rtmp_plugin.h"

static void conn_process(rtmp_conn *c);
static void conn_settle(rtmp_conn *c);

static uint8_t rbuf[RTMP_READ_BYTES]; /* every read lands here first (loop thread only) */

static uint64_t now_ms(void) {
    return rtmp_g.host->now_ms(rtmp_g.self);
}

void rtmp_conn_hold(rtmp_conn *c) {
    c->busy++;
}

void rtmp_conn_release(rtmp_conn *c) {
    if (--c->busy == 0) conn_settle(c);
}

/* ---- freeing ------------------------------------------------------------------------------ */
static void conn_free(rtmp_conn *c) {
    free(c->hs);
    rtmp_chunk_decoder_free(c->dec);
    rtmp_ingest_reset(c);
    rtmp_buf_free(&c->in);
    rtmp_buf_free(&c->out);
    free(c);
}

void rtmp_conn_reap(void) {
    if (rtmp_g.reaper) {
        rtmp_g.host->timer_cancel(rtmp_g.reaper);
        rtmp_g.reaper = NULL;
    }
    while (rtmp_g.dead) {
        rtmp_conn *c = rtmp_g.dead;
        rtmp_g.dead = c->next;
        conn_free(c);
    }
}

static void on_reaper(void *ud) {
    (void)ud;
    rtmp_g.reaper = NULL; /* a one-shot timer that fired: never cancel it */
    rtmp_conn_reap();
}

/* ---- timers ------------------------------------------------------------------------------- */
static void on_deadline(void *ud);
static void on_start_timer(void *ud);
static void on_later(void *ud);
static void on_idle(void *ud);
static const sh_timer_cb timer_cbs[RTMP_TIMER_COUNT] = {on_deadline, on_start_timer, on_later, on_idle};

void rtmp_conn_disarm(rtmp_conn *c, int slot) {
    if (c->timers[slot]) {
        rtmp_g.host->timer_cancel(c->timers[slot]);
        c->timers[slot] = NULL;
    }
}

void rtmp_conn_arm(rtmp_conn *c, int slot, uint64_t ms) {
    rtmp_conn_disarm(c, slot);
    if (c->dead) return;
    c->timers[slot] = rtmp_g.host->timer_add(rtmp_g.self, ms, 0, timer_cbs[slot], c);
    if (!c->timers[slot]) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "connection %llu from %s: cannot add a timer: closed",
                         (unsigned long long)c->id, c->ip);
        rtmp_conn_close(c, "disconnected");
    }
}

/* ---- closing ------------------------------------------------------------------------------ */
void rtmp_conn_close(rtmp_conn *c, const char *reason) {
    if (c->dead) return;
    c->dead = 1;
    c->close_reason = reason;
    rtmp_publish_end(c, reason);
    rtmp_op_detach(c);
    for (int i = 0; i < RTMP_TIMER_COUNT; i++)
        rtmp_conn_disarm(c, i);
    if (c->io) rtmp_g.host->io_close(c->io); /* safe inside its own callback */
    c->io = NULL;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        rtmp_g.conns = c->next;
    if (c->next) c->next->prev = c->prev;
    rtmp_g.nconns--;
    if (rtmp_g.m_conns) rtmp_g.host->metric_set(rtmp_g.m_conns, (double)rtmp_g.nconns);
    /* callers up the stack may still read c: the memory goes on a later loop turn */
    c->prev = NULL;
    c->next = rtmp_g.dead;
    rtmp_g.dead = c;
    if (!rtmp_g.reaper && rtmp_g.running) rtmp_g.reaper = rtmp_g.host->timer_add(rtmp_g.self, 0, 0, on_reaper, NULL);
}

void rtmp_conn_close_after_flush(rtmp_conn *c, const char *reason) {
    if (c->dead || c->flushing) return;
    c->flushing = 1;
    c->close_reason = reason;
    rtmp_publish_end(c, reason);
    rtmp_conn_disarm(c, RTMP_TIMER_DEADLINE);
    rtmp_conn_disarm(c, RTMP_TIMER_IDLE);
    rtmp_conn_arm(c, RTMP_TIMER_LATER, RTMP_LINGER_MS);
    if (c->busy == 0) conn_settle(c);
}

static void on_later(void *ud) {
    rtmp_conn *c = ud;
    c->timers[RTMP_TIMER_LATER] = NULL; /* fired: never cancel it */
    rtmp_conn_hold(c);
    if (c->flushing)
        rtmp_conn_close(c, c->close_reason ? c->close_reason : "disconnected");
    else
        rtmp_later_fired(c);
    rtmp_conn_release(c);
}

/* ---- output ------------------------------------------------------------------------------- */
/* Writes what `out` holds until the socket would block. Closes c on a write error. */
static void conn_flush(rtmp_conn *c) {
    while (!c->dead && c->out.len > 0) {
        ssize_t n = send(c->fd, rtmp_buf_data(&c->out), c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            rtmp_buf_consume(&c->out, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        } else {
            rtmp_conn_close(c, "disconnected");
            return;
        }
    }
    if (!c->dead && c->flushing && c->out.len == 0 && !c->wr_shut) {
        /* all sent: our FIN follows it; the peer's FIN (or the linger timer) ends the connection */
        c->wr_shut = 1;
        if (shutdown(c->fd, SHUT_WR) != 0) rtmp_conn_close(c, c->close_reason ? c->close_reason : "disconnected");
    }
}

/* Write queued output, then watch what the connection needs now: input unless paused (a
 * flushing connection reads to discard and to see the peer's FIN), output while some is left. */
static void conn_settle(rtmp_conn *c) {
    if (c->dead) return;
    conn_flush(c);
    if (c->dead) return;
    unsigned want = (!c->paused || c->flushing ? SH_IO_READ : 0) | (c->out.len ? SH_IO_WRITE : 0);
    if (want == c->io_events) return;
    if (rtmp_g.host->io_set(c->io, want) != SH_OK) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "connection %llu from %s: cannot update its watch: closed",
                         (unsigned long long)c->id, c->ip);
        rtmp_conn_close(c, "disconnected");
        return;
    }
    c->io_events = want;
}

int rtmp_send(rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts, const uint8_t *p, size_t len) {
    if (c->dead || c->wr_shut) return -1;
    if (len > RTMP_MESSAGE_LEN_MAX) return -1;
    struct rtmp_message m = {
        .csid = csid, .type_id = type, .stream_id = msid, .timestamp = ts, .len = (uint32_t)len, .payload = p};
    size_t need = rtmp_chunk_encoded_size(&c->enc, &m), written = 0;
    uint8_t *dst = need ? rtmp_buf_reserve(&c->out, need) : NULL;
    if (!dst || rtmp_chunk_encode(&c->enc, &m, dst, need, &written) != 0) {
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    rtmp_buf_commit(&c->out, written);
    if (c->out.len > rtmp_g.cfg.max_output_bytes) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "connection %llu from %s does not read: dropped",
                         (unsigned long long)c->id, c->ip);
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    if (c->busy == 0) conn_settle(c); /* not inside a callback on c: write now */
    return c->dead ? -1 : 0;
}

int rtmp_send_u32(rtmp_conn *c, uint8_t type, uint32_t v) {
    uint8_t b[RTMP_PCM_U32_LEN];
    rtmp_pcm_put_u32(b, v);
    return rtmp_send(c, RTMP_CSID_CONTROL, type, 0, 0, b, sizeof b);
}

int rtmp_send_amf(rtmp_conn *c, uint32_t csid, uint32_t msid, struct amf0_writer *w) {
    if (w->error) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot build an AMF0 answer: %s", amf0_strerror(w->error));
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    return rtmp_send(c, csid, RTMP_MSG_COMMAND_AMF0, msid, 0, w->data, w->len);
}

/* ---- pausing while a look-up runs --------------------------------------------------------- */
void rtmp_conn_pause(rtmp_conn *c) {
    c->paused = 1;
    if (c->busy == 0) conn_settle(c);
}

void rtmp_conn_resume(rtmp_conn *c) {
    if (c->dead || c->flushing || !c->paused) return;
    c->paused = 0;
    c->last_rx_ms = now_ms();  /* the idle clock did not run while paused */
    if (c->processing) return; /* answered synchronously: the running loop carries on */
    rtmp_conn_hold(c);
    conn_process(c); /* input that arrived with the command that paused us */
    rtmp_conn_release(c);
}

/* ---- protocol control messages ------------------------------------------------------------ */
static int on_control(rtmp_conn *c, const struct rtmp_message *m) {
    switch (m->type_id) {
    case RTMP_MSG_SET_CHUNK_SIZE: /* applied by the decoder (0 and > 2^24 already refused) */
    case RTMP_MSG_ABORT:
    case RTMP_MSG_ACK:
    case RTMP_MSG_SET_PEER_BANDWIDTH:
        return 0;
    case RTMP_MSG_WINDOW_ACK_SIZE: {
        uint32_t w;
        if (rtmp_pcm_get_u32(m->payload, m->len, &w) == 0 && w > 0) c->peer_window = w;
        return 0;
    }
    case RTMP_MSG_USER_CONTROL: {
        struct rtmp_user_control uc;
        if (rtmp_uc_get(m->payload, m->len, &uc) == 0 && uc.event == RTMP_UC_PING_REQUEST) {
            uint8_t b[RTMP_UC_MAX_LEN];
            struct rtmp_user_control pong = {.event = RTMP_UC_PING_RESPONSE, .value = uc.value};
            size_t n = rtmp_uc_put(b, &pong);
            return rtmp_send(c, RTMP_CSID_CONTROL, RTMP_MSG_USER_CONTROL, 0, 0, b, n);
        }
        return 0;
    }
    default:
        return 0;
    }
}

static int on_message(rtmp_conn *c, const struct rtmp_message *m) {
    switch (m->type_id) {
    case RTMP_MSG_AUDIO:
    case RTMP_MSG_VIDEO:
        return rtmp_on_media(c, m->type_id, m->timestamp, m->payload, m->len);
    case RTMP_MSG_AGGREGATE:
        return rtmp_on_aggregate(c, m);
    case RTMP_MSG_COMMAND_AMF0:
    case RTMP_MSG_COMMAND_AMF3:
        return rtmp_on_command(c, m);
    case RTMP_MSG_DATA_AMF0:
    case RTMP_MSG_DATA_AMF3:
        return rtmp_on_data(c, m);
    case RTMP_MSG_SHARED_OBJECT_AMF0:
    case RTMP_MSG_SHARED_OBJECT_AMF3:
        return 0;
    default:
        return on_control(c, m);
    }
}

/* ---- input -------------------------------------------------------------------------------- */
static void handshake_done(rtmp_conn *c) {
    free(c->hs);
    c->hs = NULL;
    c->phase = RTMP_PHASE_CHUNKS;
    c->last_rx_ms = now_ms();
    rtmp_conn_arm(c, RTMP_TIMER_DEADLINE, rtmp_g.cfg.publish_timeout_ms);
    rtmp_conn_arm(c, RTMP_TIMER_IDLE, rtmp_g.cfg.idle_timeout_ms);
}

/* Feeds one segment; returns the bytes used. Stops early when the connection is closed or paused. */
static size_t feed(rtmp_conn *c, const uint8_t *p, size_t len) {
    size_t pos = 0;
    if (c->phase == RTMP_PHASE_HANDSHAKE) {
        size_t used = 0;
        int rc = rtmp_hs_feed(c->hs, p, len, &used);
        if (rc != RTMP_HS_OK) {
            rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "handshake from %s refused: %s", c->ip, rtmp_hs_strerror(rc));
            rtmp_refusal("handshake");
            rtmp_conn_close(c, "disconnected");
            return len;
        }
        size_t olen = 0;
        const uint8_t *out = rtmp_hs_take_output(c->hs, &olen);
        if (out && olen && rtmp_buf_append(&c->out, out, olen) != 0) {
            rtmp_conn_close(c, "disconnected");
            return len;
        }
        pos = used;
        if (rtmp_hs_state(c->hs) == RTMP_HS_STATE_DONE) handshake_done(c);
    }
    while (pos < len && c->phase == RTMP_PHASE_CHUNKS && !c->dead && !c->paused && !c->flushing) {
        struct rtmp_message m;
        size_t used = 0;
        int rc = rtmp_chunk_decode(c->dec, p + pos, len - pos, &used, &m);
        pos += used;
        if (rc < 0) {
            rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connection %llu from %s closed: %s", (unsigned long long)c->id,
                             c->ip, rtmp_chunk_strerror(rc));
            rtmp_refusal(rc == RTMP_CHUNK_ERR_TOO_LONG     ? "message_too_long"
                         : rc == RTMP_CHUNK_ERR_CHUNK_SIZE ? "chunk_size"
                                                           : "protocol");
            rtmp_conn_close(c, "disconnected");
            return len;
        }
        if (rc == RTMP_CHUNK_MESSAGE) on_message(c, &m);
        if (used == 0 && rc != RTMP_CHUNK_MESSAGE) break;
    }
    return pos;
}

static void send_ack_if_due(rtmp_conn *c) {
    uint32_t window = c->peer_window ? c->peer_window : rtmp_g.cfg.ack_window;
    if (c->phase != RTMP_PHASE_CHUNKS || c->bytes_in - c->last_ack < window) return;
    c->last_ack = c->bytes_in;
    rtmp_send_u32(c, RTMP_MSG_ACK, (uint32_t)c->bytes_in); /* sequence number wraps like the spec's */
}

/* Handles p[0..len) as far as the connection lets it (not closed, paused or flushing); returns
 * the bytes used. The caller sets c->processing. */
static size_t consume(rtmp_conn *c, const uint8_t *p, size_t len) {
    size_t done = 0;
    while (done < len && !c->dead && !c->paused && !c->flushing) {
        size_t used = feed(c, p + done, len - done);
        if (c->dead) break;
        done += used;
        c->bytes_in += used;
        if (c->pub != RTMP_PUB_LIVE && (c->idle_bytes += used) > RTMP_PREPUBLISH_BYTES) {
            /* nobody sends that much before publishing: keeps unauthenticated memory small */
            rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO,
                             "connection %llu from %s sent %llu bytes without publishing: closed",
                             (unsigned long long)c->id, c->ip, (unsigned long long)c->idle_bytes);
            rtmp_refusal("protocol");
            rtmp_conn_close(c, "disconnected");
            break;
        }
        send_ack_if_due(c);
        if (used == 0) break;
    }
    if (done) rtmp_g.host->metric_add(rtmp_g.m_bytes_in, (double)done);
    return done;
}

/* Input held in `in` (it came while paused). */
static void conn_process(rtmp_conn *c) {
    if (c->processing || c->in.len == 0) return;
    c->processing = 1;
    size_t used = consume(c, rtmp_buf_data(&c->in), c->in.len);
    if (!c->dead) rtmp_buf_consume(&c->in, used);
    c->processing = 0;
}

/* Bytes just read, in order after anything held. */
static void conn_input(rtmp_conn *c, const uint8_t *p, size_t n) {
    if (c->in.len) { /* cannot happen while reading is on; kept for order's sake */
        if (rtmp_buf_append(&c->in, p, n) != 0) {
            rtmp_conn_close(c, "disconnected");
            return;
        }
        conn_process(c);
        return;
    }
    c->processing = 1;
    size_t used = consume(c, p, n);
    c->processing = 0;
    if (!c->dead && !c->flushing && used < n && rtmp_buf_append(&c->in, p + used, n - used) != 0)
        rtmp_conn_close(c, "disconnected");
}

static void conn_read(rtmp_conn *c) {
    for (int i = 0; i < RTMP_READS_PER_WAKE; i++) {
        if (c->dead || (c->paused && !c->flushing)) return;
        ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
        if (n > 0) {
            if (!c->flushing) { /* a flushing connection only waits for the peer's FIN */
                c->last_rx_ms = now_ms();
                conn_input(c, rbuf, (size_t)n);
            }
            if ((size_t)n < sizeof rbuf) return; /* drained, most likely: the watch says if not */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        /* end of stream or error: bytes that came with the FIN (e.g. FCUnpublish + deleteStream)
         * were handled above */
        rtmp_conn_close(c, c->flushing && c->close_reason ? c->close_reason : "disconnected");
        return;
    }
}

static void on_io(int fd, unsigned events, void *ud) {
    (void)fd;
    rtmp_conn *c = ud;
    if (c->dead) return;
    rtmp_conn_hold(c);
    if (events & SH_IO_WRITE) conn_flush(c);
    if (events & SH_IO_READ) conn_read(c);
    rtmp_conn_release(c); /* writes what the input produced, updates the watch */
}

/* ---- timeouts ----------------------------------------------------------------------------- */
static void on_idle(void *ud) {
    rtmp_conn *c = ud;
    c->timers[RTMP_TIMER_IDLE] = NULL; /* fired: never cancel it */
    uint64_t idle = rtmp_g.cfg.idle_timeout_ms, now = now_ms();
    if (c->paused || c->flushing) { /* not reading: the clock restarts when reading does */
        rtmp_conn_arm(c, RTMP_TIMER_IDLE, idle);
        return;
    }
    uint64_t since = now >= c->last_rx_ms ? now - c->last_rx_ms : 0;
    if (since < idle) { /* read meanwhile: wait for the rest */
        rtmp_conn_arm(c, RTMP_TIMER_IDLE, idle - since);
        return;
    }
    rtmp_conn_hold(c);
    rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connection %llu from %s idle for %llu ms: closed",
                     (unsigned long long)c->id, c->ip, (unsigned long long)idle);
    rtmp_conn_close(c, "idle_timeout");
    rtmp_conn_release(c);
}

static void on_deadline(void *ud) {
    rtmp_conn *c = ud;
    c->timers[RTMP_TIMER_DEADLINE] = NULL; /* fired: never cancel it */
    rtmp_conn_hold(c);
    if (c->phase == RTMP_PHASE_HANDSHAKE) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "handshake from %s not finished in %llu ms: closed", c->ip,
                         (unsigned long long)rtmp_g.cfg.handshake_timeout_ms);
        rtmp_refusal("handshake_timeout");
        rtmp_conn_close(c, "disconnected");
    } else if (c->pub != RTMP_PUB_LIVE) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connection %llu from %s not publishing after %llu ms: closed",
                         (unsigned long long)c->id, c->ip, (unsigned long long)rtmp_g.cfg.publish_timeout_ms);
        rtmp_refusal("publish_timeout");
        rtmp_conn_close(c, "disconnected");
    }
    rtmp_conn_release(c);
}

static void on_start_timer(void *ud) {
    rtmp_conn *c = ud;
    c->timers[RTMP_TIMER_START] = NULL; /* fired: never cancel it */
    rtmp_conn_hold(c);
    rtmp_ingest_start_fired(c);
    rtmp_conn_release(c);
}

/* ---- accept ------------------------------------------------------------------------------- */
static int hs_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    return rtmp_g.host->random_bytes(rtmp_g.self, buf, len) == SH_OK ? 0 : -1;
}

void rtmp_conn_accept(int fd, const struct sockaddr *sa, socklen_t salen) {
    char ip[RTMP_IP_MAX] = "?";
    (void)salen;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    if (rtmp_ip_blocked(ip)) {
        rtmp_refusal("rate_limited");
        close(fd);
        return;
    }
    if (rtmp_g.nconns >= (size_t)rtmp_g.cfg.max_connections) {
        static uint64_t warned;
        uint64_t now = now_ms();
        if (!warned || now - warned > 10000) {
            warned = now;
            rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "%d connections open: refusing more",
                             rtmp_g.cfg.max_connections);
        }
        rtmp_refusal("max_connections");
        close(fd);
        return;
    }
    rtmp_conn *c = calloc(1, sizeof *c);
    struct rtmp_chunk_limits lim;
    rtmp_chunk_limits_default(&lim);
    lim.max_message_len = rtmp_g.cfg.max_message_bytes;
    uint64_t buffered = 2ull * rtmp_g.cfg.max_message_bytes + (1u << 20);
    lim.max_buffered = buffered > 0x7FFFFFFFu ? 0x7FFFFFFFu : (uint32_t)buffered;
    struct rtmp_hs_config hc = {
        .random = hs_random, .random_ctx = NULL, .epoch = (uint32_t)now_ms(), .plain_only = false};
    if (c) {
        c->fd = fd;
        c->hs = malloc(sizeof *c->hs);
        c->dec = rtmp_chunk_decoder_new(&lim);
        c->io = rtmp_g.host->io_watch(rtmp_g.self, fd, SH_IO_READ, on_io, c);
    }
    if (!c || !c->hs || !c->dec || !c->io || rtmp_hs_init(c->hs, &hc) != RTMP_HS_OK) {
        if (c) {
            if (c->io) rtmp_g.host->io_close(c->io);
            free(c->hs);
            rtmp_chunk_decoder_free(c->dec);
            free(c);
        }
        close(fd);
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "out of memory accepting a connection");
        return;
    }
    c->io_events = SH_IO_READ;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->id = ++rtmp_g.next_conn_id;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    c->video.index = c->audio.index = -1;
    rtmp_chunk_encoder_init(&c->enc);
    c->next = rtmp_g.conns;
    if (rtmp_g.conns) rtmp_g.conns->prev = c;
    rtmp_g.conns = c;
    rtmp_g.nconns++;
    rtmp_g.host->metric_set(rtmp_g.m_conns, (double)rtmp_g.nconns);
    rtmp_g.host->metric_add(rtmp_g.m_conns_total, 1);
    rtmp_conn_arm(c, RTMP_TIMER_DEADLINE, rtmp_g.cfg.handshake_timeout_ms); /* closes c if it cannot */
}
