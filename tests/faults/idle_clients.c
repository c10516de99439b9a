/*
 * tests/faults/idle_clients.c - many idle Socket.IO clients over raw WebSocket, cheaply: one
 * process, one epoll loop, a few hundred bytes per connection. Built and run by
 * idle_10k.test.mjs (cc -O2, no project headers).
 *
 *   idle_clients PORT COUNT HOLD_MS
 *
 * Opens COUNT connections to 127.0.0.1:PORT (at most 256 handshakes in progress at once), upgrades
 * each to WebSocket on /socket.io/?EIO=4&transport=websocket, answers the Engine.IO open packet
 * with a Socket.IO CONNECT ("40"), and from then on only answers pings ("2" -> "3") and counts what
 * arrives. Once every connection is connected (or failed) it prints "ready", then holds them for
 * HOLD_MS, printing one stats line per second:
 *   stats connected=N failed=N closed=N pings=N msgs=N min_pings=N
 * (closed: connections the server closed after CONNECT; msgs: "42" events; min_pings: the fewest
 * pings any live connection has answered). Then it closes every connection and prints "done".
 * Exit status 0, or 2 on a usage or set-up error. Loopback only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { S_CONNECTING, S_HTTP, S_OPEN, S_CONNECTED, S_CLOSED, S_FAILED };

typedef struct client {
    int fd;
    int state;
    unsigned pings;
    unsigned char *buf; /* bytes received and not parsed yet */
    size_t len, cap;
} client;

static client *cl;
static int ep, port, count;
static long n_connected, n_failed, n_closed, n_pings, n_msgs, in_progress, next_to_open;

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drop(client *c, int state) {
    if (c->fd >= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    if (c->state == S_CONNECTED) { /* the server closed a connected client */
        n_connected--;
        n_closed++;
    } else if (c->state < S_CONNECTED) { /* never got as far as CONNECT */
        n_failed++;
        in_progress--;
    }
    c->state = state;
    free(c->buf);
    c->buf = NULL;
    c->len = c->cap = 0;
}

/* A masked client text frame. */
static void send_text(client *c, const char *s) {
    size_t n = strlen(s);
    unsigned char f[2 + 4 + 64];
    if (n > 64) return;
    f[0] = 0x81;
    f[1] = (unsigned char)(0x80 | n);
    uint32_t key = (uint32_t)rand();
    memcpy(f + 2, &key, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (unsigned char)s[i] ^ f[2 + (i & 3)];
    if (write(c->fd, f, 6 + n) != (ssize_t)(6 + n)) drop(c, S_CLOSED);
}

static void on_text(client *c, const unsigned char *p, size_t n) {
    if (n >= 1 && p[0] == '0' && c->state == S_OPEN) {
        send_text(c, "40");
    } else if (n >= 2 && p[0] == '4' && p[1] == '0' && c->state == S_OPEN) {
        c->state = S_CONNECTED;
        n_connected++;
        in_progress--;
    } else if (n == 1 && p[0] == '2') {
        send_text(c, "3");
        c->pings++;
        n_pings++;
    } else if (n >= 2 && p[0] == '4' && p[1] == '2') {
        n_msgs++;
    }
}

/* Parse whole server frames (unmasked) out of c->buf. */
static void parse(client *c) {
    size_t off = 0;
    if (c->state == S_HTTP) {
        unsigned char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!end) return;
        if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
            drop(c, S_FAILED);
            return;
        }
        c->state = S_OPEN;
        off = (size_t)(end - c->buf) + 4;
    }
    while (c->fd >= 0 && c->len - off >= 2) {
        const unsigned char *h = c->buf + off;
        uint64_t plen = h[1] & 0x7f;
        size_t hl = 2;
        if (plen == 126) {
            if (c->len - off < 4) break;
            plen = (uint64_t)h[2] << 8 | h[3];
            hl = 4;
        } else if (plen == 127) {
            if (c->len - off < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | h[2 + i];
            hl = 10;
        }
        if (c->len - off - hl < plen) break;
        int op = h[0] & 0x0f;
        if (op == 8) {
            drop(c, S_CLOSED);
            return;
        }
        if (op == 1) on_text(c, h + hl, (size_t)plen);
        off += hl + (size_t)plen;
    }
    if (c->fd >= 0 && off) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

static void on_readable(client *c) {
    for (;;) {
        if (c->cap - c->len < 4096) {
            size_t cap = c->cap ? c->cap * 2 : 8192;
            unsigned char *b = realloc(c->buf, cap);
            if (!b) {
                drop(c, S_FAILED);
                return;
            }
            c->buf = b;
            c->cap = cap;
        }
        ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0) {
            drop(c, S_CLOSED);
            return;
        }
        if (errno == EAGAIN || errno == EINTR) break;
        drop(c, S_CLOSED);
        return;
    }
    parse(c);
    if (c->fd >= 0 && c->cap > 65536 && c->len < 4096) { /* give big buffers back */
        unsigned char *b = realloc(c->buf, 8192);
        if (b) c->buf = b, c->cap = 8192;
    }
}

static void open_one(long i) {
    client *c = &cl[i];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    in_progress++;
    c->state = S_CONNECTING;
    if (c->fd < 0) {
        perror("socket");
        drop(c, S_FAILED);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS) {
        drop(c, S_FAILED);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void on_writable(client *c, long i) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        drop(c, S_FAILED);
        return;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     port);
    if (write(c->fd, req, (size_t)n) != n) {
        drop(c, S_FAILED);
        return;
    }
    c->state = S_HTTP;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void pump(int timeout_ms) {
    struct epoll_event evs[512];
    int n = epoll_wait(ep, evs, 512, timeout_ms);
    for (int k = 0; k < n; k++) {
        long i = (long)evs[k].data.u64;
        client *c = &cl[i];
        if (c->fd < 0) continue;
        if (c->state == S_CONNECTING) {
            if (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_writable(c, i);
        } else if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
            on_readable(c);
        }
    }
}

static void stats(void) {
    unsigned min = ~0u;
    for (long i = 0; i < count; i++)
        if (cl[i].state == S_CONNECTED && cl[i].pings < min) min = cl[i].pings;
    printf("stats connected=%ld failed=%ld closed=%ld pings=%ld msgs=%ld min_pings=%u\n", n_connected, n_failed,
           n_closed, n_pings, n_msgs, min == ~0u ? 0 : min);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT COUNT HOLD_MS\n", argv[0]);
        return 2;
    }
    port = atoi(argv[1]);
    count = atoi(argv[2]);
    long hold = atol(argv[3]);
    cl = calloc((size_t)count, sizeof *cl);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cl || ep < 0 || port <= 0 || count <= 0) return 2;
    for (long i = 0; i < count; i++)
        cl[i].fd = -1;
    srand((unsigned)getpid());
    uint64_t t0 = now_ms(), last = t0;
    while (n_connected + n_failed + n_closed < count) {
        while (next_to_open < count && in_progress < 256)
            open_one(next_to_open++);
        pump(50);
        if (now_ms() - last >= 1000) {
            stats();
            last = now_ms();
        }
        if (now_ms() - t0 > 120000) break;
    }
    printf("ready after %llu ms\n", (unsigned long long)(now_ms() - t0));
    stats();
    uint64_t until = now_ms() + (uint64_t)hold;
    last = now_ms();
    while (now_ms() < until) {
        pump(100);
        if (now_ms() - last >= 1000) {
            stats();
            last = now_ms();
        }
    }
    stats();
    for (long i = 0; i < count; i++)
        if (cl[i].fd >= 0) close(cl[i].fd);
    printf("done\n");
    fflush(stdout);
    return 0;
}
