/*
 * fanout_ceiling.c - what this machine can do at most for B1's fan-out: deliveries per second to
 * N loopback TCP sockets with one writev per socket per batch and no other work.
 *
 *   serve [--port P]   an ideal, minimal Socket.IO fan-out server for the very same swarm and
 *                      procedure as B1 (bench/tools/sio_swarm.c): the WebSocket handshake, the
 *                      open packet, "40" -> "40{sid}", "join" -> ack, and `42["to-room",R,DATA]`
 *                      -> `42["room-msg",DATA]` to every member. Everything a loop turn read is
 *                      sent as ONE contiguous batch with one writev per member socket, and
 *                      nothing else is done per delivery (no JSON parser, no allocation, no
 *                      queue). The swarm's RESULT against it is "the ceiling" B1 is divided by:
 *                      same sockets, same latency rule, same load generator.
 *   raw [--clients N] [--batch B[,B...]] [--seconds S] [--frame-bytes F] [--reader-cpu C]
 *                      the bare kernel figure, for orientation: a writer (this process) and a
 *                      reader (a forked child, pinned to C) on N loopback TCP connections; the
 *                      writer sends B frames of F bytes per writev to each socket in turn, as
 *                      fast as it can, for S seconds; the reader drains with epoll. Prints the
 *                      deliveries/s the reader received for each B.
 *
 * Loopback only. Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o fanout_ceiling fanout_ceiling.c -lcrypto
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "bench_common.h"

static void die(const char *m) {
    fprintf(stderr, "fanout_ceiling: %s (%s)\n", m, strerror(errno));
    exit(1);
}

static int listen_on(int port, int *bound) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0) die("bind/listen");
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    *bound = ntohs(a.sin_port);
    return fd;
}

/* ================================ serve ===================================================== */
typedef struct sconn {
    int fd;
    int ws, member, closed;
    uint8_t *in;
    size_t inlen, incap;
    uint8_t *back; /* what the socket did not take: written before the next batch */
    size_t backlen, backoff, backcap;
    struct sconn *next_member;
} sconn;

static int ep;
static uint8_t *batch;
static size_t batchlen, batchcap;
static sconn *members;

static void grow(uint8_t **b, size_t *cap, size_t need) {
    if (need <= *cap) return;
    size_t nc = need * 2;
    uint8_t *p = realloc(*b, nc);
    if (!p) die("out of memory");
    *b = p;
    *cap = nc;
}

static size_t ws_header(uint8_t *h, size_t len) {
    h[0] = 0x81;
    if (len < 126) {
        h[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        return 4;
    }
    h[1] = 127;
    for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)len >> (8 * (7 - i)));
    return 10;
}

static void sconn_close(sconn *c) {
    if (c->closed) return;
    c->closed = 1;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

/* Write the backlog; 0 when it is empty afterwards. */
static int write_back(sconn *c) {
    while (c->backoff < c->backlen) {
        ssize_t w = write(c->fd, c->back + c->backoff, c->backlen - c->backoff);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return 1;
            sconn_close(c);
            return 1;
        }
        c->backoff += (size_t)w;
    }
    c->backoff = c->backlen = 0;
    return 0;
}

static void keep_back(sconn *c, const uint8_t *d, size_t n) {
    if (c->backoff == c->backlen) c->backoff = c->backlen = 0;
    grow(&c->back, &c->backcap, c->backlen + n);
    memcpy(c->back + c->backlen, d, n);
    c->backlen += n;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_now(sconn *c, const void *d, size_t n) {
    if (c->backlen > c->backoff) {
        keep_back(c, d, n);
        return;
    }
    ssize_t w = write(c->fd, d, n);
    if (w < 0) w = errno == EAGAIN ? 0 : -1;
    if (w < 0) {
        sconn_close(c);
        return;
    }
    if ((size_t)w < n) keep_back(c, (const uint8_t *)d + w, n - (size_t)w);
}

static void send_text(sconn *c, const char *s) {
    uint8_t f[1200];
    size_t n = strlen(s), h = ws_header(f, n);
    memcpy(f + h, s, n);
    send_now(c, f, h + n);
}

static void on_message(sconn *c, const uint8_t *p, size_t n) {
    if (n == 2 && memcmp(p, "40", 2) == 0) {
        send_text(c, "40{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\"}");
    } else if (n > 10 && memcmp(p, "421[\"join\"", 10) == 0) {
        if (!c->member) {
            c->member = 1;
            c->next_member = members;
            members = c;
        }
        send_text(c, "431[true]");
    } else if (n > 14 && memcmp(p, "42[\"to-room\",\"", 14) == 0) {
        /* 42["to-room","ROOM","DATA"] -> 42["room-msg","DATA"] */
        const uint8_t *r = memchr(p + 14, '"', n - 14); /* end of ROOM */
        if (!r || (size_t)(p + n - r) < 5) return;
        const uint8_t *data = r + 2; /* at the opening quote of DATA */
        size_t dl = (size_t)(p + n - data) - 1; /* without the closing ] */
        size_t plen = 14 + dl + 1;              /* 42["room-msg", DATA ] */
        grow(&batch, &batchcap, batchlen + plen + 10);
        batchlen += ws_header(batch + batchlen, plen);
        memcpy(batch + batchlen, "42[\"room-msg\",", 14);
        memcpy(batch + batchlen + 14, data, dl);
        batch[batchlen + 14 + dl] = ']';
        batchlen += plen;
    }
}

static void on_http(sconn *c) {
    uint8_t *e = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!e) return;
    const char *k = memmem(c->in, c->inlen, "Sec-WebSocket-Key: ", 19);
    if (!k) {
        sconn_close(c);
        return;
    }
    k += 19;
    const char *ke = memchr(k, '\r', (size_t)((const char *)e - k + 1));
    if (!ke || ke - k > 64) {
        sconn_close(c);
        return;
    }
    char buf[128];
    int bl = snprintf(buf, sizeof buf, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)(ke - k), k);
    unsigned char dg[SHA_DIGEST_LENGTH];
    SHA1((unsigned char *)buf, (size_t)bl, dg);
    char acc[64];
    EVP_EncodeBlock((unsigned char *)acc, dg, SHA_DIGEST_LENGTH);
    char resp[512];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n",
                      acc);
    send_now(c, resp, (size_t)rl);
    send_text(c, "0{\"sid\":\"AAAAAAAAAAAAAAAAAAAA\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,"
                 "\"maxPayload\":1000000}");
    size_t used = (size_t)(e + 4 - c->in);
    memmove(c->in, c->in + used, c->inlen - used);
    c->inlen -= used;
    c->ws = 1;
}

static void on_frames(sconn *c) {
    size_t off = 0;
    while (c->inlen - off >= 6) {
        uint8_t *b = c->in + off;
        size_t avail = c->inlen - off;
        int op = b[0] & 15;
        uint64_t len = b[1] & 127;
        size_t h = 2;
        if (len == 126) {
            len = ((uint64_t)b[2] << 8) | b[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = (len << 8) | b[2 + i];
            h = 10;
        }
        if (!(b[1] & 0x80) || len > (1u << 20)) {
            sconn_close(c);
            return;
        }
        if (avail < h + 4 + len) break;
        uint8_t *m = b + h, *p = b + h + 4;
        for (uint64_t i = 0; i < len; i++) p[i] ^= m[i & 3];
        if (op == 8) {
            sconn_close(c);
            return;
        }
        if (op == 1) on_message(c, p, (size_t)len);
        off += h + 4 + (size_t)len;
    }
    memmove(c->in, c->in + off, c->inlen - off);
    c->inlen -= off;
}

static void on_read(sconn *c) {
    grow(&c->in, &c->incap, c->inlen + 65536);
    ssize_t r = read(c->fd, c->in + c->inlen, 65536);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        sconn_close(c);
        return;
    }
    c->inlen += (size_t)r;
    if (!c->ws) on_http(c);
    if (c->ws && !c->closed) on_frames(c);
}

static _Noreturn void serve(int port) {
    int bound;
    int lfd = listen_on(port, &bound);
    set_nonblock(lfd);
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
    printf("listening on http://127.0.0.1:%d\n", bound);
    fflush(stdout);
    struct epoll_event evs[1024];
    for (;;) {
        int n = epoll_wait(ep, evs, 1024, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            sconn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    sconn *nc = calloc(1, sizeof *nc);
                    if (!nc) die("out of memory");
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            if (c->closed) continue;
            if (evs[i].events & EPOLLOUT) {
                if (write_back(c) == 0 && !c->closed) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (!c->closed && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_read(c);
        }
        /* the loop turn's batch: one write per member socket */
        if (batchlen) {
            for (sconn **pp = &members; *pp;) {
                sconn *m = *pp;
                if (m->closed) { /* unlink; closed connections are not freed (a benchmark) */
                    *pp = m->next_member;
                    continue;
                }
                send_now(m, batch, batchlen);
                pp = &m->next_member;
            }
            batchlen = 0;
        }
    }
}

/* ================================ raw ======================================================= */
static int raw(int n, const char *batches, double seconds, int frame_bytes, int reader_cpu) {
    int bound;
    int lfd = listen_on(0, &bound);
    int *cli = calloc((size_t)n, sizeof *cli), *srv = calloc((size_t)n, sizeof *srv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)bound)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        cli[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (cli[i] < 0 || connect(cli[i], (struct sockaddr *)&a, sizeof a) < 0) die("connect");
        srv[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (srv[i] < 0) die("accept");
        int one = 1;
        setsockopt(srv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        set_nonblock(srv[i]);
        set_nonblock(cli[i]);
    }
    uint8_t *frame = malloc((size_t)frame_bytes);
    memset(frame, 'x', (size_t)frame_bytes);
    frame[0] = 0x81;
    frame[1] = (uint8_t)(frame_bytes - 2 < 126 ? frame_bytes - 2 : 126);
    char list[256];
    snprintf(list, sizeof list, "%s", batches);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int b = atoi(tok);
        if (b < 1 || b > 1024) continue;
        int pfd[2], go[2];
        if (pipe(pfd) < 0 || pipe(go) < 0) die("pipe");
        pid_t pid = fork();
        if (pid == 0) { /* reader */
            if (reader_cpu >= 0) {
                cpu_set_t cs;
                CPU_ZERO(&cs);
                CPU_SET(reader_cpu, &cs);
                sched_setaffinity(0, sizeof cs, &cs);
            }
            int e = epoll_create1(0);
            for (int i = 0; i < n; i++) {
                struct epoll_event ev = {.events = EPOLLIN, .data.fd = cli[i]};
                epoll_ctl(e, EPOLL_CTL_ADD, cli[i], &ev);
            }
            static uint8_t buf[1 << 16];
            struct epoll_event evs[1024];
            uint64_t t0 = mono_ns(), w0 = t0 + 300000000ull, w1 = w0 + (uint64_t)(seconds * 1e9);
            unsigned long long bytes = 0;
            char c = 1;
            if (write(go[1], &c, 1) != 1) _exit(1);
            for (;;) {
                int k = epoll_wait(e, evs, 1024, 10);
                uint64_t now = mono_ns();
                if (now >= w1) break;
                for (int i = 0; i < k; i++) {
                    ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
                    if (r > 0 && now >= w0) bytes += (unsigned long long)r;
                }
            }
            if (write(pfd[1], &bytes, sizeof bytes) != sizeof bytes) _exit(1);
            _exit(0);
        }
        char c;
        if (read(go[0], &c, 1) != 1) die("reader did not start");
        struct iovec *iov = malloc((size_t)b * sizeof *iov);
        for (int k = 0; k < b; k++) iov[k] = (struct iovec){frame, (size_t)frame_bytes};
        uint64_t end = mono_ns() + (uint64_t)((seconds + 0.6) * 1e9);
        unsigned long long writes = 0;
        /* (partial writes leave a frame cut: the reader only counts bytes, so that is fine) */
        while (mono_ns() < end) {
            for (int i = 0; i < n; i++) {
                if (writev(srv[i], iov, b) > 0) writes++;
            }
        }
        unsigned long long bytes = 0;
        if (read(pfd[0], &bytes, sizeof bytes) != sizeof bytes) die("reader result");
        waitpid(pid, NULL, 0);
        /* drain what is left so the next batch size starts clean */
        static uint8_t sink[1 << 16];
        for (int i = 0; i < n; i++)
            while (read(cli[i], sink, sizeof sink) > 0) {
            }
        printf("RAW clients=%d batch=%d frame_bytes=%d deliveries_per_s=%.0f writes_per_s=%.0f\n", n, b, frame_bytes,
               (double)bytes / frame_bytes / seconds, (double)writes / (seconds + 0.6));
        fflush(stdout);
        free(iov);
        close(pfd[0]);
        close(pfd[1]);
        close(go[0]);
        close(go[1]);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: fanout_ceiling serve [--port P] | raw [--clients N] [--batch 1,8] [--seconds S] "
                        "[--frame-bytes F] [--reader-cpu C]\n");
        return 2;
    }
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int port = 0, n = 1000, fb = 119, rc = -1;
    double secs = 2;
    const char *batches = "1,8";
    static const struct option lo[] = {{"port", 1, 0, 'p'},        {"clients", 1, 0, 'n'}, {"batch", 1, 0, 'b'},
                                       {"seconds", 1, 0, 's'},     {"frame-bytes", 1, 0, 'f'},
                                       {"reader-cpu", 1, 0, 'c'},  {0, 0, 0, 0}};
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'p': port = atoi(optarg); break;
        case 'n': n = atoi(optarg); break;
        case 'b': batches = optarg; break;
        case 's': secs = atof(optarg); break;
        case 'f': fb = atoi(optarg); break;
        case 'c': rc = atoi(optarg); break;
        default: return 2;
        }
    }
    if (strcmp(argv[1], "serve") == 0) serve(port);
    if (strcmp(argv[1], "raw") == 0) {
        if (fb < 8 || fb > 127 || n < 1) {
            fprintf(stderr, "fanout_ceiling: --frame-bytes 8..127, --clients >= 1\n");
            return 2;
        }
        return raw(n, batches, secs, fb, rc);
    }
    fprintf(stderr, "fanout_ceiling: unknown mode %s\n", argv[1]);
    return 2;
}
