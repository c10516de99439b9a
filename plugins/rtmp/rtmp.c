/*
 * plugins/rtmp/rtmp.c - the rtmp plugin: RTMP ingest (OBS, ffmpeg) into the media pipeline.
 *
 * This file: the descriptor and settings, init/start/stop/fini, the listening socket (the
 * plugin's own, non-blocking, watched on the host loop with host->io_watch; up to
 * RTMP_ACCEPTS_PER_WAKE connections accepted per wake-up), the table of addresses refused after
 * too many wrong stream keys, metrics, and the stream-key-reset subscription. Connections,
 * commands and media live in conn.c, publish.c and ingest.c.
 *
 * Ownership: rtmp_g is the plugin's only state; the listening socket and its watch are created
 * in start and released in stop (fini if stop never ran), with every connection. Threads: loop
 * thread only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plugins/rtmp/rtmp_plugin.h"

rtmp_state rtmp_g;

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

/* ---- the listener ------------------------------------------------------------------------- */
static void on_listen_io(int fd, unsigned events, void *ud);

static void on_accept_retry(void *ud) {
    (void)ud;
    rtmp_g.accept_retry = NULL; /* a one-shot timer that fired: never cancel it */
    if (rtmp_g.running && rtmp_g.listen_io && rtmp_g.host->io_set(rtmp_g.listen_io, SH_IO_READ) != SH_OK)
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot watch the listening socket again: no new connections");
}

/* accept failed for want of resources (file descriptors, memory): the listener would be ready
 * again at once, so it is left alone for RTMP_ACCEPT_RETRY_MS. */
static void accept_failed(int err) {
    static uint64_t warned;
    uint64_t now = rtmp_g.host->now_ms(rtmp_g.self);
    if (!warned || now - warned > 10000) {
        warned = now;
        rtmp_g.host->log(rtmp_g.self, SH_LOG_WARN, "accept failed: %s", strerror(err));
    }
    if (rtmp_g.accept_retry) return;
    rtmp_g.accept_retry = rtmp_g.host->timer_add(rtmp_g.self, RTMP_ACCEPT_RETRY_MS, 0, on_accept_retry, NULL);
    if (rtmp_g.accept_retry) rtmp_g.host->io_set(rtmp_g.listen_io, 0);
}

static void on_listen_io(int fd, unsigned events, void *ud) {
    (void)events;
    (void)ud;
    for (int i = 0; i < RTMP_ACCEPTS_PER_WAKE && rtmp_g.running; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd >= 0) {
            rtmp_conn_accept(cfd, (struct sockaddr *)&ss, sslen);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return;
        case EINTR:
        case ECONNABORTED: /* the peer gave up while queued, and errors accept(2) says to retry on */
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM: /* firewall */
            continue;
        default: /* EMFILE, ENFILE, ENOBUFS, ENOMEM */
            accept_failed(errno);
            return;
        }
    }
}

static void listen_close(void) {
    if (rtmp_g.accept_retry) {
        rtmp_g.host->timer_cancel(rtmp_g.accept_retry);
        rtmp_g.accept_retry = NULL;
    }
    if (rtmp_g.listen_io) rtmp_g.host->io_close(rtmp_g.listen_io);
    rtmp_g.listen_io = NULL;
    if (rtmp_g.listen_fd >= 0) close(rtmp_g.listen_fd);
    rtmp_g.listen_fd = -1;
}

static int listen_now(void) {
    char addr[128];
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *bind_addr = rtmp_g.cfg.bind;
    int v6 = strchr(bind_addr, ':') != NULL;
    memset(&ss, 0, sizeof ss);
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)rtmp_g.cfg.port);
        sslen = (socklen_t)sizeof *s6;
        snprintf(addr, sizeof addr, "[%s]:%d", bind_addr, rtmp_g.cfg.port);
        if (inet_pton(AF_INET6, bind_addr, &s6->sin6_addr) != 1) sslen = 0;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)rtmp_g.cfg.port);
        sslen = (socklen_t)sizeof *s4;
        snprintf(addr, sizeof addr, "%s:%d", bind_addr, rtmp_g.cfg.port);
        if (inet_pton(AF_INET, bind_addr, &s4->sin_addr) != 1) sslen = 0;
    }
    if (!sslen) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "bad bind address \"%s\" (a numeric IPv4 or IPv6 address)",
                         bind_addr);
        return SH_ERR_INVALID;
    }
    int one = 1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, RTMP_LISTEN_BACKLOG) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot listen on %s: %s", addr, strerror(err));
        return SH_ERR;
    }
    rtmp_g.listen_fd = fd;
    rtmp_g.listen_io = rtmp_g.host->io_watch(rtmp_g.self, fd, SH_IO_READ, on_listen_io, NULL);
    if (!rtmp_g.listen_io) {
        rtmp_g.host->log(rtmp_g.self, SH_LOG_ERROR, "cannot watch the listening socket on %s", addr);
        listen_close();
        return SH_ERR;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    rtmp_g.port = rtmp_g.cfg.port;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
        rtmp_g.port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                                  : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    if (v6)
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "listening on rtmp://[%s]:%d/%s", bind_addr, rtmp_g.port,
                         rtmp_g.cfg.app);
    else
        rtmp_g.host->log(rtmp_g.self, SH_LOG_INFO, "listening on rtmp://%s:%d/%s", bind_addr, rtmp_g.port,
                         rtmp_g.cfg.app);
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
    rtmp_g.listen_fd = -1;
    if (!SH_HOST_HAS(host, stream_open) || !SH_HOST_HAS(host, io_close)) {
        host->log(self, SH_LOG_ERROR, "this host has no media pipeline or no fd watches (SDK 1.3 needed)");
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
    int rc = listen_now();
    if (rc != SH_OK) return rc;
    rtmp_g.running = 1;
    return SH_OK;
}

/* Called before the host ends leftover streams: every publisher's stream ends here, "shutdown". */
static void rtmp_stop(sh_plugin *self) {
    (void)self;
    rtmp_g.running = 0;
    listen_close();
    while (rtmp_g.conns)
        rtmp_conn_close(rtmp_g.conns, "shutdown"); /* unlinks it */
    rtmp_conn_reap(); /* no callback of ours is on the stack: free now, the loop may not turn again */
}

static void rtmp_fini(sh_plugin *self) {
    (void)self;
    if (rtmp_g.host) { /* stop was not called (start failed half-way): release what is left */
        listen_close();
        while (rtmp_g.conns)
            rtmp_conn_close(rtmp_g.conns, "shutdown");
        rtmp_conn_reap();
    }
    memset(&rtmp_g, 0, sizeof rtmp_g);
    rtmp_g.listen_fd = -1;
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
