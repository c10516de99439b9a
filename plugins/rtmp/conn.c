/*
 * plugins/rtmp/conn.c - one RTMP connection: accept, bufferevent callbacks, handshake, chunk
 * de-framing, protocol control messages, acknowledgements, timeouts, sending and closing.
 *
 * Input is handled straight from the bufferevent's input buffer, one contiguous segment at a time:
 * the handshake machine and the chunk decoder are incremental and bounded, so nothing is ever
 * allocated from a length the peer declared before the bytes are here. The decoder stops after
 * each complete message; while a look-up runs (`paused`) the remaining input stays in the buffer
 * and reading is disabled, so a publisher's commands and media are handled strictly in order.
 *
 * Timeouts: `deadline` closes a connection that has not finished the handshake within
 * handshake_timeout_ms, then one that is not publishing within publish_timeout_ms; the
 * bufferevent's read timeout (idle_timeout_ms, armed after the handshake) ends a silent one
 * (reason "idle_timeout"). Output above max_output_bytes (a client that does not read) closes it.
 *
 * Ownership: a connection is owned by rtmp_g's list; rtmp_conn_close marks it dead and frees it
 * at once, or when the last running callback releases it. Threads: loop thread only.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "plugins/rtmp/rtmp_plugin.h"

static void conn_free(rtmp_conn *c);
static void conn_process(rtmp_conn *c);

void rtmp_timer_arm(struct event *ev, uint64_t ms) {
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    if (ev) evtimer_add(ev, &tv);
}

void rtmp_conn_hold(rtmp_conn *c) {
    c->busy++;
}

void rtmp_conn_release(rtmp_conn *c) {
    if (--c->busy == 0 && c->dead) conn_free(c);
}

/* ---- closing ------------------------------------------------------------------------------ */
void rtmp_conn_close(rtmp_conn *c, const char *reason) {
    if (c->dead) return;
    c->dead = 1;
    c->close_reason = reason;
    rtmp_publish_end(c, reason);
    rtmp_op_detach(c);
    if (c->bev) bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    if (c->busy == 0) conn_free(c);
}

static void on_linger(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    rtmp_conn *c = arg;
    rtmp_conn_hold(c);
    if (c->flushing)
        rtmp_conn_close(c, c->close_reason ? c->close_reason : "disconnected");
    else
        rtmp_later_fired(c);
    rtmp_conn_release(c);
}

void rtmp_conn_close_after_flush(rtmp_conn *c, const char *reason) {
    if (c->dead || c->flushing) return;
    c->flushing = 1;
    c->close_reason = reason;
    rtmp_publish_end(c, reason);
    if (!c->bev || evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        rtmp_conn_close(c, reason);
        return;
    }
    bufferevent_disable(c->bev, EV_READ);
    event_del(c->later);
    rtmp_timer_arm(c->later, RTMP_LINGER_MS);
    rtmp_kick();
}

static void conn_free(rtmp_conn *c) {
    rtmp_publish_end(c, c->close_reason ? c->close_reason : "disconnected");
    rtmp_op_detach(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        rtmp_g.conns = c->next;
    if (c->next) c->next->prev = c->prev;
    rtmp_g.nconns--;
    if (rtmp_g.m_conns) rtmp_g.host->metric_set(rtmp_g.m_conns, (double)rtmp_g.nconns);
    if (c->bev) bufferevent_free(c->bev); /* closes the socket */
    if (c->deadline) event_free(c->deadline);
    if (c->start_timer) event_free(c->start_timer);
    if (c->later) event_free(c->later);
    free(c->hs);
    rtmp_chunk_decoder_free(c->dec);
    rtmp_ingest_reset(c);
    free(c);
}

/* ---- sending ------------------------------------------------------------------------------ */
int rtmp_send(rtmp_conn *c, uint32_t csid, uint8_t type, uint32_t msid, uint32_t ts, const uint8_t *p, size_t len) {
    if (c->dead || !c->bev) return -1;
    if (len > RTMP_MESSAGE_LEN_MAX) return -1;
    struct rtmp_message m = {
        .csid = csid, .type_id = type, .stream_id = msid, .timestamp = ts, .len = (uint32_t)len, .payload = p};
    size_t need = rtmp_chunk_encoded_size(&c->enc, &m), written = 0;
    uint8_t stackbuf[2048], *buf = need <= sizeof stackbuf ? stackbuf : malloc(need);
    if (!need || !buf) {
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    int rc = rtmp_chunk_encode(&c->enc, &m, buf, need, &written);
    if (rc == 0) rc = bufferevent_write(c->bev, buf, written);
    if (buf != stackbuf) free(buf);
    if (rc != 0) {
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > rtmp_g.cfg.max_output_bytes) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "connection %llu from %s does not read: dropped",
                         (unsigned long long)c->id, c->ip);
        rtmp_conn_close(c, "disconnected");
        return -1;
    }
    return 0;
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
    if (c->bev) bufferevent_disable(c->bev, EV_READ);
}

void rtmp_conn_resume(rtmp_conn *c) {
    if (c->dead || c->flushing || !c->paused) return;
    c->paused = 0;
    if (c->processing) { /* answered synchronously: the running loop carries on */
        if (c->bev) bufferevent_enable(c->bev, EV_READ);
        return;
    }
    rtmp_conn_hold(c);
    conn_process(c); /* input that arrived with the command that paused us */
    if (!c->dead && !c->paused && !c->flushing && c->bev) bufferevent_enable(c->bev, EV_READ);
    rtmp_conn_release(c);
    rtmp_kick();
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
    event_del(c->deadline);
    rtmp_timer_arm(c->deadline, rtmp_g.cfg.publish_timeout_ms);
    struct timeval idle = {(time_t)(rtmp_g.cfg.idle_timeout_ms / 1000),
                           (suseconds_t)((rtmp_g.cfg.idle_timeout_ms % 1000) * 1000)};
    bufferevent_set_timeouts(c->bev, &idle, NULL);
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
        if (out && olen && bufferevent_write(c->bev, out, olen) != 0) {
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

static void conn_process(rtmp_conn *c) {
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint64_t total = 0;
    if (c->processing) return;
    c->processing = 1;
    while (!c->dead && !c->paused && !c->flushing && evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1 || v.iov_len == 0) break;
        size_t used = feed(c, v.iov_base, v.iov_len);
        if (c->dead) break;
        evbuffer_drain(in, used);
        total += used;
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
    c->processing = 0;
    if (total) {
        rtmp_g.host->metric_add(rtmp_g.m_bytes_in, (double)total);
    }
}

static void on_read(struct bufferevent *bev, void *arg) {
    (void)bev;
    rtmp_conn *c = arg;
    rtmp_conn_hold(c);
    conn_process(c);
    rtmp_conn_release(c);
}

static void on_write(struct bufferevent *bev, void *arg) {
    (void)bev;
    rtmp_conn *c = arg;
    if (c->flushing && !c->dead) {
        rtmp_conn_hold(c);
        rtmp_conn_close(c, c->close_reason ? c->close_reason : "disconnected");
        rtmp_conn_release(c);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    rtmp_conn *c = arg;
    rtmp_conn_hold(c);
    if (what & BEV_EVENT_TIMEOUT) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "connection %llu from %s idle for %llu ms: closed",
                         (unsigned long long)c->id, c->ip, (unsigned long long)rtmp_g.cfg.idle_timeout_ms);
        rtmp_conn_close(c, "idle_timeout");
    } else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* bytes that came with the FIN (e.g. FCUnpublish + deleteStream) are still handled */
        if ((what & BEV_EVENT_EOF) && !c->paused) conn_process(c);
        rtmp_conn_close(c, "disconnected");
    }
    rtmp_conn_release(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    rtmp_conn *c = arg;
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

static void on_start_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    rtmp_conn *c = arg;
    rtmp_conn_hold(c);
    rtmp_ingest_start_fired(c);
    rtmp_conn_release(c);
}

/* ---- accept ------------------------------------------------------------------------------- */
static int hs_random(void *ctx, uint8_t *buf, size_t len) {
    (void)ctx;
    return rtmp_g.host->random_bytes(rtmp_g.self, buf, len) == SH_OK ? 0 : -1;
}

void rtmp_conn_accept(evutil_socket_t fd, const struct sockaddr *sa, int salen) {
    char ip[RTMP_IP_MAX] = "?";
    (void)salen;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
    if (rtmp_ip_blocked(ip)) {
        rtmp_refusal("rate_limited");
        evutil_closesocket(fd);
        return;
    }
    if (rtmp_g.nconns >= (size_t)rtmp_g.cfg.max_connections) {
        static uint64_t warned;
        uint64_t now = rtmp_g.host->now_ms(rtmp_g.self);
        if (!warned || now - warned > 10000) {
            warned = now;
            rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "%d connections open: refusing more",
                             rtmp_g.cfg.max_connections);
        }
        rtmp_refusal("max_connections");
        evutil_closesocket(fd);
        return;
    }
    rtmp_conn *c = calloc(1, sizeof *c);
    struct rtmp_chunk_limits lim;
    rtmp_chunk_limits_default(&lim);
    lim.max_message_len = rtmp_g.cfg.max_message_bytes;
    uint64_t buffered = 2ull * rtmp_g.cfg.max_message_bytes + (1u << 20);
    lim.max_buffered = buffered > 0x7FFFFFFFu ? 0x7FFFFFFFu : (uint32_t)buffered;
    struct rtmp_hs_config hc = {.random = hs_random,
                                .random_ctx = NULL,
                                .epoch = (uint32_t)rtmp_g.host->now_ms(rtmp_g.self),
                                .plain_only = false};
    if (c) {
        c->hs = malloc(sizeof *c->hs);
        c->dec = rtmp_chunk_decoder_new(&lim);
        c->bev = bufferevent_socket_new(rtmp_g.base, fd, BEV_OPT_CLOSE_ON_FREE);
        c->deadline = evtimer_new(rtmp_g.base, on_deadline, c);
        c->start_timer = evtimer_new(rtmp_g.base, on_start_timer, c);
        c->later = evtimer_new(rtmp_g.base, on_linger, c);
    }
    if (!c || !c->hs || !c->dec || !c->bev || !c->deadline || !c->start_timer || !c->later ||
        rtmp_hs_init(c->hs, &hc) != RTMP_HS_OK) {
        if (c) {
            if (c->bev)
                bufferevent_free(c->bev);
            else
                evutil_closesocket(fd);
            if (c->deadline) event_free(c->deadline);
            if (c->start_timer) event_free(c->start_timer);
            if (c->later) event_free(c->later);
            free(c->hs);
            rtmp_chunk_decoder_free(c->dec);
            free(c);
        } else {
            evutil_closesocket(fd);
        }
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "out of memory accepting a connection");
        return;
    }
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
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_set_max_single_read(c->bev, 256 * 1024);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    rtmp_timer_arm(c->deadline, rtmp_g.cfg.handshake_timeout_ms);
}
