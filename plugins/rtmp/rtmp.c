/*
 * plugins/rtmp/rtmp.c - the rtmp plugin: RTMP ingest (OBS, ffmpeg) into the media pipeline.
 *
 * This file: the descriptor and settings, init/start/stop/fini, the TCP listener, the pump that
 * turns the plugin's private event base from a host timer (see rtmp_plugin.h for why), the table
 * of addresses refused after too many wrong stream keys, metrics, and the stream-key-reset
 * subscription. Connections, commands and media live in conn.c, publish.c and ingest.c.
 *
 * Ownership: rtmp_g is the plugin's only state; the private base, the listener and the pump timer
 * are created in start and released in stop/fini. Threads: loop thread only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "plugins/rtmp/rtmp_plugin.h"

rtmp_state rtmp_g;

#define IDLE_POLL_MS 25 /* pump interval while no connection is open */

static const sh_setting rtmp_settings[] = {
    {"port", SH_CFG_INT, "1935", 0, 65535, 0, "TCP port of the RTMP ingest (0 = any free port, logged)"},
    {"bind", SH_CFG_STRING, "0.0.0.0", 1, 64, 0, "address to listen on (\"::\" for IPv6)"},
    {"app", SH_CFG_STRING, "live", 1, 64, 0, "the only application name accepted (rtmp://HOST:PORT/APP)"},
    {"handshake_timeout_ms", SH_CFG_INT, "5000", 100, 60000, 0,
     "a connection must finish the RTMP handshake within this"},
    {"publish_timeout_ms", SH_CFG_INT, "15000", 500, 300000, 0,
     "a connection must be publishing within this after the handshake"},
    {"idle_timeout_ms", SH_CFG_INT, "10000", 200, 600000, 0, "a connection that sends nothing for this long is closed"},
    {"max_connections", SH_CFG_INT, "256", 1, 100000, 0, "concurrent RTMP connections (more are closed at once)"},
    {"max_message_bytes", SH_CFG_INT, "8388608", 65536, 16777215, 0,
     "longest RTMP message accepted (a video frame; the connection is closed beyond)"},
    {"chunk_size", SH_CFG_INT, "4096", 128, 65536, 0, "chunk size announced to and used towards clients"},
    {"ack_window", SH_CFG_INT, "2500000", 4096, 1000000000, 0, "window acknowledgement size announced to clients"},
    {"auth_fail_limit", SH_CFG_INT, "5", 0, 1000000, 0,
     "wrong stream keys per address per window before the address is refused (0 = no limit)"},
    {"auth_fail_window_ms", SH_CFG_INT, "60000", 1000, 86400000, 0, "window of auth_fail_limit"},
    {"auth_fail_delay_ms", SH_CFG_INT, "1000", 0, 10000, 0, "a wrong stream key is answered after this delay"},
    {"poll_ms", SH_CFG_INT, "2", 1, 50, 0, "how often open connections are serviced (SDK 1.2 has no fd watching)"},
    {"max_output_bytes", SH_CFG_INT, "1048576", 65536, 67108864, 0,
     "bytes queued towards a client that does not read before it is dropped"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static const sh_dep rtmp_requires[] = {
    {SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0, 0},
    {SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, 0, 1}, /* optional: without it the room id is the username */
    {NULL, 0, 0, 0},
};

/* ---- metrics ------------------------------------------------------------------------------ */
void rtmp_refusal(const char *reason) {
    char labels[96];
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason);
    sh_metric *m = rtmp_g.host->metric_new(rtmp_g.self, SH_METRIC_COUNTER, "rtmp_refusals_total",
                                           "RTMP connections or publish attempts refused, by reason", labels);
    if (m) rtmp_g.host->metric_add(m, 1);
}

/* ---- addresses refused after too many wrong keys ------------------------------------------ */
static void blocks_expire(uint64_t now) {
    size_t j = 0;
    for (size_t i = 0; i < rtmp_g.nblocks; i++)
        if (rtmp_g.blocks[i].until_ms > now) rtmp_g.blocks[j++] = rtmp_g.blocks[i];
    rtmp_g.nblocks = j;
}

int rtmp_ip_blocked(const char *ip) {
    uint64_t now = rtmp_g.host->now_ms(rtmp_g.self);
    blocks_expire(now);
    for (size_t i = 0; i < rtmp_g.nblocks; i++)
        if (strcmp(rtmp_g.blocks[i].ip, ip) == 0) return 1;
    return 0;
}

void rtmp_ip_block(const char *ip, uint64_t ms) {
    uint64_t now = rtmp_g.host->now_ms(rtmp_g.self), until = now + (ms ? ms : 1000);
    blocks_expire(now);
    for (size_t i = 0; i < rtmp_g.nblocks; i++)
        if (strcmp(rtmp_g.blocks[i].ip, ip) == 0) {
            if (rtmp_g.blocks[i].until_ms < until) rtmp_g.blocks[i].until_ms = until;
            return;
        }
    size_t at = rtmp_g.nblocks;
    if (at == RTMP_MAX_BLOCKS) { /* full: replace the entry that expires first */
        at = 0;
        for (size_t i = 1; i < rtmp_g.nblocks; i++)
            if (rtmp_g.blocks[i].until_ms < rtmp_g.blocks[at].until_ms) at = i;
    } else {
        rtmp_g.nblocks++;
    }
    snprintf(rtmp_g.blocks[at].ip, sizeof rtmp_g.blocks[at].ip, "%s", ip);
    rtmp_g.blocks[at].until_ms = until;
}

/* ---- the pump ----------------------------------------------------------------------------- */
static void pump_schedule(uint64_t ms);

static void pump_fire(void *ud) {
    (void)ud;
    rtmp_g.pump = NULL; /* a one-shot timer that fired: never cancel it */
    if (!rtmp_g.running) return;
    event_base_loop(rtmp_g.base, EVLOOP_NONBLOCK);
    if (rtmp_g.running) pump_schedule(rtmp_g.nconns ? rtmp_g.cfg.poll_ms : IDLE_POLL_MS);
}

static void pump_schedule(uint64_t ms) {
    if (rtmp_g.pump || !rtmp_g.running) return;
    rtmp_g.pump = rtmp_g.host->timer_add(rtmp_g.self, ms, 0, pump_fire, NULL);
    if (!rtmp_g.pump) rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot add the pump timer");
}

/* Something happened outside the pump (e.g. an answer was queued): turn the base soon. */
void rtmp_kick(void) {
    if (!rtmp_g.running) return;
    if (rtmp_g.pump) {
        rtmp_g.host->timer_cancel(rtmp_g.pump);
        rtmp_g.pump = NULL;
    }
    pump_schedule(1);
}

/* ---- the listener ------------------------------------------------------------------------- */
static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *ud) {
    (void)l;
    (void)ud;
    rtmp_conn_accept(fd, sa, salen);
}

static void on_accept_error(struct evconnlistener *l, void *ud) {
    (void)l;
    (void)ud;
    static uint64_t warned;
    uint64_t now = rtmp_g.host->now_ms(rtmp_g.self);
    int err = EVUTIL_SOCKET_ERROR();
    if (!warned || now - warned > 10000) {
        warned = now;
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "accept failed: %s", evutil_socket_error_to_string(err));
    }
}

static int listen_now(void) {
    char addr[128];
    struct sockaddr_storage ss;
    int sslen;
    const char *bind = rtmp_g.cfg.bind;
    memset(&ss, 0, sizeof ss);
    if (strchr(bind, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)rtmp_g.cfg.port);
        sslen = (int)sizeof *s6;
        snprintf(addr, sizeof addr, "[%s]:%d", bind, rtmp_g.cfg.port);
        if (inet_pton(AF_INET6, bind, &s6->sin6_addr) != 1) sslen = 0;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)rtmp_g.cfg.port);
        sslen = (int)sizeof *s4;
        snprintf(addr, sizeof addr, "%s:%d", bind, rtmp_g.cfg.port);
        if (inet_pton(AF_INET, bind, &s4->sin_addr) != 1) sslen = 0;
    }
    if (!sslen) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "bad bind address \"%s\" (a numeric IPv4 or IPv6 address)", bind);
        return SH_ERR_INVALID;
    }
    rtmp_g.listener = evconnlistener_new_bind(rtmp_g.base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
                                              128, (struct sockaddr *)&ss, sslen);
    if (!rtmp_g.listener) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot listen on %s: %s", addr,
                         evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return SH_ERR;
    }
    evconnlistener_set_error_cb(rtmp_g.listener, on_accept_error);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    rtmp_g.port = rtmp_g.cfg.port;
    if (getsockname(evconnlistener_get_fd(rtmp_g.listener), (struct sockaddr *)&bound, &blen) == 0)
        rtmp_g.port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                  : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    if (strchr(bind, ':'))
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "listening on rtmp://[%s]:%d/%s", bind, rtmp_g.port, rtmp_g.cfg.app);
    else
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "listening on rtmp://%s:%d/%s", bind, rtmp_g.port, rtmp_g.cfg.app);
    return SH_OK;
}

/* ---- stream key reset: drop the user's live publisher ------------------------------------- */
static void on_key_reset(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    json_object *v;
    if (!rtmp_g.running || !payload || !json_object_object_get_ex(payload, "userId", &v)) return;
    int64_t uid = json_object_get_int64(v);
    if (uid > 0) rtmp_kick_user(uid, "key_reset");
}

/* ---- lifecycle ---------------------------------------------------------------------------- */
static int rtmp_init(sh_plugin *self, const sh_host_api *host) {
    memset(&rtmp_g, 0, sizeof rtmp_g);
    rtmp_g.self = self;
    rtmp_g.host = host;
    if (!SH_HOST_HAS(host, stream_open)) {
        host->log(self, SH_LOG_ERROR, "this host has no media pipeline (SDK 1.2 needed)");
        return SH_ERR_UNAVAILABLE;
    }
    rtmp_cfg *c = &rtmp_g.cfg;
    c->port = (int)host->cfg_int(self, "port");
    c->bind = host->cfg_str(self, "bind");
    c->app = host->cfg_str(self, "app");
    c->handshake_timeout_ms = (uint64_t)host->cfg_int(self, "handshake_timeout_ms");
    c->publish_timeout_ms = (uint64_t)host->cfg_int(self, "publish_timeout_ms");
    c->idle_timeout_ms = (uint64_t)host->cfg_int(self, "idle_timeout_ms");
    c->max_connections = (int)host->cfg_int(self, "max_connections");
    c->max_message_bytes = (uint32_t)host->cfg_int(self, "max_message_bytes");
    c->chunk_size = (uint32_t)host->cfg_int(self, "chunk_size");
    c->ack_window = (uint32_t)host->cfg_int(self, "ack_window");
    c->auth_fail_limit = (int)host->cfg_int(self, "auth_fail_limit");
    c->auth_fail_window_ms = (uint64_t)host->cfg_int(self, "auth_fail_window_ms");
    c->auth_fail_delay_ms = (uint64_t)host->cfg_int(self, "auth_fail_delay_ms");
    c->poll_ms = (uint64_t)host->cfg_int(self, "poll_ms");
    c->max_output_bytes = (size_t)host->cfg_int(self, "max_output_bytes");
    if (!rtmp_name_ok(c->app, strlen(c->app)) || strchr(c->app, '/') || strchr(c->app, '?')) {
        host->log(self, SH_LOG_ERROR, "app \"%s\" must be printable ASCII without '/', '?' or \"../\"", c->app);
        return SH_ERR_INVALID;
    }

    rtmp_g.auth = host->service_get(self, SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0);
    if (!rtmp_g.auth || rtmp_g.auth->size < offsetof(sh_auth_api, user_by_stream_key) + sizeof(void *)) {
        host->log(self, SH_LOG_ERROR, "the auth service (stream keys) is missing");
        return SH_ERR_UNAVAILABLE;
    }
    rtmp_g.rooms = host->service_get(self, SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, 0);
    if (rtmp_g.rooms && rtmp_g.rooms->size < offsetof(sh_rooms_api, room_for_user) + sizeof(void *))
        rtmp_g.rooms = NULL;

    int rc = host->bus_subscribe(self, SH_TOPIC_STREAM_KEY_RESET, on_key_reset, NULL);
    if (rc != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot subscribe to %s (status %d)", SH_TOPIC_STREAM_KEY_RESET, rc);
        return rc;
    }
    rtmp_g.m_conns = host->metric_new(self, SH_METRIC_GAUGE, "rtmp_connections", "Open RTMP connections", NULL);
    rtmp_g.m_conns_total =
        host->metric_new(self, SH_METRIC_COUNTER, "rtmp_connections_total", "RTMP connections accepted", NULL);
    rtmp_g.m_publishers =
        host->metric_new(self, SH_METRIC_GAUGE, "rtmp_publishers", "RTMP connections publishing a stream", NULL);
    rtmp_g.m_bytes_in =
        host->metric_new(self, SH_METRIC_COUNTER, "rtmp_bytes_in_total", "Bytes received over RTMP", NULL);
    rtmp_g.m_packets =
        host->metric_new(self, SH_METRIC_COUNTER, "rtmp_packets_total", "Media packets passed to the pipeline", NULL);
    rtmp_g.m_dropped = host->metric_new(self, SH_METRIC_COUNTER, "rtmp_dropped_packets_total",
                                        "Media messages dropped (malformed, unsupported, no configuration)", NULL);
    host->log(self, SH_LOG_INFO, "ready: app \"%s\", rooms %s", c->app,
              rtmp_g.rooms ? "from the rooms service" : "named after the streamer (no rooms service)");
    return SH_OK;
}

static int rtmp_start(sh_plugin *self) {
    (void)self;
    rtmp_g.base = event_base_new();
    if (!rtmp_g.base) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot create an event base");
        return SH_ERR_NOMEM;
    }
    int rc = listen_now();
    if (rc != SH_OK) return rc;
    rtmp_g.running = 1;
    pump_schedule(IDLE_POLL_MS);
    return SH_OK;
}

static void rtmp_stop(sh_plugin *self) {
    (void)self;
    rtmp_g.running = 0;
    if (rtmp_g.pump) {
        rtmp_g.host->timer_cancel(rtmp_g.pump);
        rtmp_g.pump = NULL;
    }
    if (rtmp_g.listener) {
        evconnlistener_free(rtmp_g.listener);
        rtmp_g.listener = NULL;
    }
    /* The host ends every stream itself at shutdown ("shutdown"): on SIGTERM/SIGINT before it
     * calls stop (the handles are already freed here), otherwise when it frees the pipeline after
     * fini. So the streams are forgotten, never closed, from here on. */
    for (rtmp_conn *c = rtmp_g.conns; c; c = c->next)
        if (c->stream) {
            c->stream = NULL;
            rtmp_g.npublishers--;
        }
    while (rtmp_g.conns) {
        rtmp_conn *c = rtmp_g.conns;
        c->busy = 0; /* no callback of ours is on the stack at shutdown */
        rtmp_conn_close(c, "shutdown");
        if (rtmp_g.conns == c) break; /* cannot happen: close frees when not busy */
    }
    if (rtmp_g.base) event_base_loop(rtmp_g.base, EVLOOP_NONBLOCK); /* let closing sockets go */
}

static void rtmp_fini(sh_plugin *self) {
    (void)self;
    if (rtmp_g.base) event_base_free(rtmp_g.base);
    rtmp_g.base = NULL;
    memset(&rtmp_g, 0, sizeof rtmp_g);
}

static const sh_plugin_desc rtmp_desc = {
    SH_DESC_HEADER,
    .name = "rtmp",
    .version = "1.0.0",
    .description = "RTMP ingest (OBS, ffmpeg): stream keys, H.264/HEVC/AV1/VP9 + AAC into the media pipeline",
    .provides = NULL,
    .requires = rtmp_requires,
    .settings = rtmp_settings,
    .init = rtmp_init,
    .start = rtmp_start,
    .stop = rtmp_stop,
    .fini = rtmp_fini,
};

SH_PLUGIN_EXPORT(rtmp_desc)
