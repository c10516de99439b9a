/*
 * sio_swarm.c - a Socket.IO load generator: thousands of Engine.IO v4 WebSocket clients on one
 * epoll loop, written for B1 (chat fan-out) and B2 (idle connections) of BENCHMARKS.md.
 *
 * Each client: TCP connect, GET /socket.io/?EIO=4&transport=websocket with the WebSocket
 * handshake, waits for the open packet "0{...}", sends "40", waits for "40{sid}", then (fan-out
 * mode) joins a room with the event `421["join",ROOM]` and waits for its ack "431[...]". Every
 * server ping "2" is answered "3". Client frames are masked, as RFC 6455 requires.
 *
 *   fanout: N receivers join ROOM; one more client (the sender, not in the room) emits
 *           `42["to-room",ROOM,DATA]` at a set rate, DATA a string of --msg-size bytes stamped
 *           "s=<step>;t=<CLOCK_MONOTONIC ns>;" and padded. Receivers take the delivery latency
 *           of every `42["room-msg",DATA]` from the stamp. The rate is raised in steps (doubling,
 *           then a few bisections) until a step misses: p99 latency above --p99-ms, or fewer
 *           than 98% of the expected deliveries (sent x receivers) arrive within the step plus a
 *           short drain. Prints one STEP line per step and a RESULT line for the best passing
 *           step (deliveries/s measured, p50/p99).
 *   idle:   N clients connect to "/" and stay idle for --hold seconds, answering pings; prints
 *           READY when all are connected (the harness reads the server's RSS then), and DONE
 *           with the clients still connected, those dropped, and the intervals between pings.
 *
 * The server's CPU time (utime + stime from /proc/PID/stat) is sampled per step with
 * --server-pid. Loopback only: --host must be a 127.x address.
 *
 * Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o sio_swarm sio_swarm.c -lm
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "bench_common.h"

enum { ST_CONNECTING, ST_HTTP, ST_WS, ST_DEAD };
enum { PH_CONNECT, PH_STEP, PH_DRAIN, PH_QUIET, PH_HOLD, PH_DONE };

typedef struct conn {
    int fd;
    uint8_t state, sender, open, sio, joined, counted;
    uint8_t mask[4];
    uint8_t *in; /* leftover of a partial frame / HTTP head */
    uint32_t inlen, incap;
    uint8_t *out; /* bytes the socket did not take yet */
    uint32_t outlen, outoff, outcap;
    uint64_t last_ping;
} conn;

static struct {
    const char *host, *path, *room, *mode;
    int port, clients, msg_size, parallel, step_ms, refine, server_pid;
    double start_rate, max_rate, p99_ms;
    double hold_s, connect_timeout_s;
} opt = {"127.0.0.1", "/socket.io/", "bench", "fanout", 0, 1000, 100, 256, 1500, 3, 0, 50, 200000, 250, 10, 60};

static int ep;
static conn *conns; /* clients 0..N-1 receivers (or idle clients), N = sender */
static int nconns;
static uint8_t rbuf[1 << 16];
static struct sockaddr_in addr;

/* progress */
static int launched, in_flight, ready, failed, dead_after_ready;
static int phase = PH_CONNECT;
static uint64_t phase_t0, last_rx;

/* fan-out step */
static unsigned step_id;
static double rate;
static uint64_t step_sent, step_recv, step_other, step_t0, step_t1;
static long long step_cpu0, step_cpu1;
static hist lat;
static double best_rate = 0, fail_rate = 0;
static int refines_done;
static struct best {
    double rate, dps, cpu_pct;
    uint64_t p50, p99, sent, recv;
} best;
static int receivers_joined;

/* idle */
static hist ping_iv;
static uint64_t pings;

static volatile sig_atomic_t stop_flag;
static void on_sig(int s) {
    (void)s;
    stop_flag = 1;
}

static void die(const char *m) {
    fprintf(stderr, "sio_swarm: %s\n", m);
    exit(1);
}

/* ---- output ------------------------------------------------------------------------------ */
static void conn_kill(conn *c, const char *why);

static void out_push(conn *c, const uint8_t *d, size_t n) {
    if (c->outlen + n > c->outcap) {
        size_t nc = (c->outlen + n) * 2;
        uint8_t *p = realloc(c->out, nc);
        if (!p) die("out of memory");
        c->out = p;
        c->outcap = (uint32_t)nc;
    }
    memcpy(c->out + c->outlen, d, n);
    c->outlen += (uint32_t)n;
}

static void flush_out(conn *c) {
    while (c->outoff < c->outlen) {
        ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                return;
            }
            conn_kill(c, "write error");
            return;
        }
        c->outoff += (uint32_t)w;
    }
    c->outoff = c->outlen = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void send_raw(conn *c, const void *d, size_t n) {
    if (c->state == ST_DEAD) return;
    if (c->outlen > c->outoff) { /* keep order behind what is waiting */
        out_push(c, d, n);
        return;
    }
    const uint8_t *p = d;
    while (n) {
        ssize_t w = write(c->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            conn_kill(c, "write error");
            return;
        }
        p += w;
        n -= (size_t)w;
    }
    if (n) {
        c->outoff = c->outlen = 0;
        out_push(c, p, n);
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    }
}

static void send_text(conn *c, const char *s, size_t n) {
    uint8_t fr[4096];
    if (n + 14 > sizeof fr) die("frame too long");
    send_raw(c, fr, ws_client_frame(fr, 1, s, n, c->mask));
}

/* ---- connections ------------------------------------------------------------------------- */
static void conn_kill(conn *c, const char *why) {
    if (c->state == ST_DEAD) return;
    int was_ready = c->counted;
    if (c->state != ST_WS || !c->counted) {
        failed++;
        in_flight--;
    }
    c->state = ST_DEAD;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    c->in = c->out = NULL;
    if (was_ready) {
        dead_after_ready++;
        if (dead_after_ready <= 5) fprintf(stderr, "sio_swarm: a client was disconnected: %s\n", why);
    } else if (failed <= 5) {
        fprintf(stderr, "sio_swarm: a client failed: %s\n", why);
    }
}

static void conn_start(conn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket() failed (descriptor limit?)");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (getrandom(c->mask, 4, 0) != 4) memcpy(c->mask, "\x5a\x11\xc3\x7e", 4);
    c->state = ST_CONNECTING;
    in_flight++;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        conn_kill(c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void mark_ready(conn *c) {
    if (c->counted) return;
    c->counted = 1;
    in_flight--;
    ready++;
    if (!c->sender && c->joined) receivers_joined++;
}

static void on_connected(conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        conn_kill(c, strerror(err));
        return;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     opt.path, opt.host, opt.port);
    c->state = ST_HTTP;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    send_raw(c, req, (size_t)n);
}

/* A delivery: DATA begins "s=<step>;t=<ns>;". */
static void on_delivery(const uint8_t *p, size_t n, uint64_t now) {
    const uint8_t *e = p + n;
    const uint8_t *s = memmem(p, n, "s=", 2);
    if (!s) return;
    s += 2;
    unsigned sid = 0;
    while (s < e && *s >= '0' && *s <= '9') sid = sid * 10 + (unsigned)(*s++ - '0');
    if (s + 3 > e || s[0] != ';' || s[1] != 't' || s[2] != '=') return;
    s += 3;
    uint64_t t = 0;
    while (s < e && *s >= '0' && *s <= '9') t = t * 10 + (uint64_t)(*s++ - '0');
    last_rx = now;
    if (sid != step_id || (phase != PH_STEP && phase != PH_DRAIN)) {
        step_other++;
        return;
    }
    step_recv++;
    hist_add(&lat, now > t ? (now - t) / 1000 : 0);
}

static void on_text(conn *c, const uint8_t *p, size_t n, uint64_t now) {
    if (n == 0) return;
    switch (p[0]) {
    case '0': /* Engine.IO open */
        c->open = 1;
        send_text(c, "40", 2);
        return;
    case '2': /* ping */
        send_text(c, "3", 1);
        if (c->last_ping && phase == PH_HOLD) {
            hist_add(&ping_iv, (now - c->last_ping) / 1000);
            pings++;
        }
        c->last_ping = now;
        return;
    case '1': conn_kill(c, "Engine.IO close packet"); return;
    case '4': break;
    default: return;
    }
    if (n < 2) return;
    switch (p[1]) {
    case '0': /* Socket.IO CONNECT answered */
        if (c->sio) return;
        c->sio = 1;
        if (c->sender || strcmp(opt.mode, "idle") == 0) {
            mark_ready(c);
        } else {
            char j[1200];
            int k = snprintf(j, sizeof j, "421[\"join\",\"%s\"]", opt.room);
            send_text(c, j, (size_t)k);
        }
        return;
    case '3': /* an ack: the join's */
        if (!c->joined && n >= 3 && p[2] == '1') {
            c->joined = 1;
            mark_ready(c);
        }
        return;
    case '2':
        if (n > 15 && memcmp(p, "42[\"room-msg\"", 13) == 0) on_delivery(p + 13, n - 13, now);
        return;
    case '1': conn_kill(c, "Socket.IO disconnect"); return;
    case '4': conn_kill(c, "Socket.IO connect error"); return;
    default: return;
    }
}

/* Parse as many frames as buf[0..len) holds; returns bytes used, -1 if the conn died. */
static long parse_frames(conn *c, const uint8_t *buf, size_t len, uint64_t now) {
    size_t off = 0;
    while (off < len) {
        int op;
        const uint8_t *pl;
        size_t plen;
        long used = ws_server_frame(buf + off, len - off, &op, &pl, &plen);
        if (used < 0) {
            conn_kill(c, "bad frame from the server");
            return -1;
        }
        if (used == 0) break;
        off += (size_t)used;
        if (op == 1) on_text(c, pl, plen, now);
        else if (op == 8) {
            conn_kill(c, "WebSocket close");
            return -1;
        } else if (op == 9) {
            uint8_t fr[160];
            if (plen <= 125) send_raw(c, fr, ws_client_frame(fr, 10, pl, plen, c->mask));
        }
        if (c->state == ST_DEAD) return -1;
    }
    return (long)off;
}

static void keep_rest(conn *c, const uint8_t *p, size_t n) {
    if (n > c->incap) {
        uint8_t *q = realloc(c->in, n);
        if (!q) die("out of memory");
        c->in = q;
        c->incap = (uint32_t)n;
    }
    memmove(c->in, p, n);
    c->inlen = (uint32_t)n;
}

static void on_readable(conn *c, uint64_t now) {
    size_t have = c->inlen;
    if (have) memcpy(rbuf, c->in, have);
    ssize_t r = read(c->fd, rbuf + have, sizeof rbuf - have);
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        conn_kill(c, strerror(errno));
        return;
    }
    if (r == 0) {
        conn_kill(c, "connection closed by the server");
        return;
    }
    size_t len = have + (size_t)r, off = 0;
    if (c->state == ST_HTTP) {
        uint8_t *e = memmem(rbuf, len, "\r\n\r\n", 4);
        if (!e) {
            if (len > 8192) conn_kill(c, "HTTP answer too long");
            else keep_rest(c, rbuf, len);
            return;
        }
        if (len < 12 || memcmp(rbuf + 9, "101", 3) != 0) {
            char line[80];
            size_t l = (size_t)(e - rbuf) < sizeof line - 1 ? (size_t)(e - rbuf) : sizeof line - 1;
            memcpy(line, rbuf, l);
            line[l] = '\0';
            char *nl = strchr(line, '\r');
            if (nl) *nl = '\0';
            conn_kill(c, line);
            return;
        }
        c->state = ST_WS;
        off = (size_t)(e + 4 - rbuf);
    }
    long used = parse_frames(c, rbuf + off, len - off, now);
    if (used < 0) return;
    off += (size_t)used;
    if (off < len) {
        if (len - off > sizeof rbuf / 2) { /* a frame larger than we expect: grow past rbuf */
            conn_kill(c, "frame too large");
            return;
        }
        keep_rest(c, rbuf + off, len - off);
    } else {
        c->inlen = 0;
    }
}

/* ---- fan-out steps ----------------------------------------------------------------------- */
static void sender_tick(uint64_t now) {
    conn *s = &conns[opt.clients];
    if (s->state != ST_WS) return;
    double due = rate * (double)(now - step_t0) / 1e9;
    uint64_t want = (uint64_t)due;
    if (want <= step_sent) return;
    if (s->outlen - s->outoff > (1u << 20)) return; /* the server is not reading: do not pile up */
    static uint8_t batch[1 << 18];
    size_t bl = 0;
    char msg[4096];
    while (step_sent < want && bl + (size_t)opt.msg_size + 200 < sizeof batch) {
        char data[2048];
        int k = snprintf(data, sizeof data, "s=%u;t=%llu;", step_id, (unsigned long long)mono_ns());
        while (k < opt.msg_size) data[k++] = 'x';
        data[k] = '\0';
        int m = snprintf(msg, sizeof msg, "42[\"to-room\",\"%s\",\"%s\"]", opt.room, data);
        bl += ws_client_frame(batch + bl, 1, msg, (size_t)m, s->mask);
        step_sent++;
    }
    send_raw(s, batch, bl);
}

static void step_begin(double r) {
    rate = r;
    step_id++;
    step_sent = step_recv = step_other = 0;
    hist_reset(&lat);
    step_t0 = mono_ns();
    step_cpu0 = opt.server_pid ? proc_cpu_ticks(opt.server_pid) : -1;
    phase = PH_STEP;
}

static double next_rate(int pass, double r) {
    if (pass) {
        best_rate = r;
    } else {
        fail_rate = r;
    }
    if (fail_rate == 0) return r * 2 <= opt.max_rate ? r * 2 : 0;
    if (best_rate == 0) { /* the first step failed: go down */
        double lower = r / 2;
        return lower >= 1 && refines_done++ < 4 ? lower : 0;
    }
    if (refines_done++ >= opt.refine) return 0;
    return sqrt(best_rate * fail_rate);
}

static void step_end(uint64_t now) {
    double dur = (double)(step_t1 - step_t0) / 1e9;
    uint64_t expected = step_sent * (uint64_t)receivers_joined;
    uint64_t p50 = hist_q(&lat, 0.50), p99 = hist_q(&lat, 0.99);
    double dps = (double)step_recv / dur;
    double cpu = -1;
    if (step_cpu0 >= 0 && step_cpu1 >= 0) cpu = 100.0 * (double)(step_cpu1 - step_cpu0) / (double)sysconf(_SC_CLK_TCK) / dur;
    int pass = p99 <= (uint64_t)(opt.p99_ms * 1000) && step_recv >= expected * 98 / 100 && expected > 0 &&
               dead_after_ready == 0;
    printf("STEP rate=%.1f sent=%llu expected=%llu received=%llu dur_ms=%.0f deliveries_per_s=%.0f p50_us=%llu "
           "p99_us=%llu max_us=%llu server_cpu_pct=%.0f dropped=%d pass=%d\n",
           rate, (unsigned long long)step_sent, (unsigned long long)expected, (unsigned long long)step_recv, dur * 1000,
           dps, (unsigned long long)p50, (unsigned long long)p99, (unsigned long long)lat.max_us, cpu, dead_after_ready,
           pass);
    fflush(stdout);
    if (pass && dps > best.dps) best = (struct best){rate, dps, cpu, p50, p99, step_sent, step_recv};
    double nr = dead_after_ready ? 0 : next_rate(pass, rate);
    if (nr <= 0) {
        phase = PH_DONE;
        return;
    }
    rate = nr;
    phase = PH_QUIET; /* let a backlog drain before the next step */
    phase_t0 = now;
}

/* ---- main -------------------------------------------------------------------------------- */
static void usage(void) {
    fprintf(stderr,
            "usage: sio_swarm --port P [--mode fanout|idle] [--clients N] [--room R] [--msg-size B]\n"
            "       [--start-rate R] [--max-rate R] [--step-ms MS] [--refine K] [--p99-ms MS]\n"
            "       [--hold S] [--parallel K] [--server-pid PID] [--host 127.0.0.1] [--path /socket.io/]\n");
    exit(2);
}

int main(int argc, char **argv) {
    static const struct option lo[] = {
        {"host", 1, 0, 'h'},        {"port", 1, 0, 'p'},     {"path", 1, 0, 'P'},     {"mode", 1, 0, 'm'},
        {"clients", 1, 0, 'n'},     {"room", 1, 0, 'r'},     {"msg-size", 1, 0, 's'}, {"start-rate", 1, 0, 'a'},
        {"max-rate", 1, 0, 'M'},    {"step-ms", 1, 0, 'd'},  {"refine", 1, 0, 'k'},   {"p99-ms", 1, 0, 'q'},
        {"hold", 1, 0, 'H'},        {"parallel", 1, 0, 'j'}, {"server-pid", 1, 0, 'S'}, {"connect-timeout", 1, 0, 'T'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'P': opt.path = optarg; break;
        case 'm': opt.mode = optarg; break;
        case 'n': opt.clients = atoi(optarg); break;
        case 'r': opt.room = optarg; break;
        case 's': opt.msg_size = atoi(optarg); break;
        case 'a': opt.start_rate = atof(optarg); break;
        case 'M': opt.max_rate = atof(optarg); break;
        case 'd': opt.step_ms = atoi(optarg); break;
        case 'k': opt.refine = atoi(optarg); break;
        case 'q': opt.p99_ms = atof(optarg); break;
        case 'H': opt.hold_s = atof(optarg); break;
        case 'j': opt.parallel = atoi(optarg); break;
        case 'S': opt.server_pid = atoi(optarg); break;
        case 'T': opt.connect_timeout_s = atof(optarg); break;
        default: usage();
        }
    }
    int idle = strcmp(opt.mode, "idle") == 0;
    if (!opt.port || opt.clients < 1 || (!idle && strcmp(opt.mode, "fanout") != 0) || opt.msg_size < 40 ||
        opt.msg_size > 1800 || strlen(opt.room) > 1000)
        usage();
    if (strncmp(opt.host, "127.", 4) != 0) die("--host must be a loopback (127.x) address");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    setvbuf(stdout, NULL, _IOLBF, 0);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) die("bad --host");
    ep = epoll_create1(EPOLL_CLOEXEC);
    nconns = opt.clients + (idle ? 0 : 1);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) die("out of memory");
    conns[opt.clients < nconns ? opt.clients : 0].sender = !idle;
    hist_init(&lat);
    hist_init(&ping_iv);

    struct epoll_event evs[1024];
    phase_t0 = mono_ns();
    uint64_t connect_deadline = phase_t0 + (uint64_t)(opt.connect_timeout_s * 1e9);
    while (!stop_flag && phase != PH_DONE) {
        /* launch connections, at most `parallel` handshakes at once */
        while (phase == PH_CONNECT && launched < nconns && in_flight < opt.parallel) conn_start(&conns[launched++]);
        int timeout = phase == PH_STEP ? 1 : 20;
        int n = epoll_wait(ep, evs, 1024, timeout);
        if (n < 0 && errno != EINTR) die("epoll_wait failed");
        uint64_t now = mono_ns();
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c->state == ST_DEAD) continue;
            if (c->state == ST_CONNECTING) {
                on_connected(c);
                continue;
            }
            if (evs[i].events & EPOLLOUT) flush_out(c);
            if (c->state != ST_DEAD && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) on_readable(c, now);
        }
        now = mono_ns();
        switch (phase) {
        case PH_CONNECT:
            if (ready + failed >= nconns || now > connect_deadline) {
                printf("READY clients=%d connected=%d failed=%d seconds=%.2f\n", nconns, ready, failed,
                       (double)(now - phase_t0) / 1e9);
                if (idle) {
                    phase = PH_HOLD;
                    phase_t0 = now;
                } else if (conns[opt.clients].state != ST_WS || !conns[opt.clients].counted || receivers_joined == 0) {
                    die("the sender or the receivers could not connect");
                } else {
                    phase = PH_QUIET;
                    rate = opt.start_rate;
                    phase_t0 = now;
                }
            }
            break;
        case PH_QUIET: /* no stray deliveries for 300 ms (5 s at most), then the next step */
            if ((now - last_rx > 300000000ull && now - phase_t0 > 300000000ull) || now - phase_t0 > 5000000000ull)
                step_begin(rate);
            break;
        case PH_STEP:
            sender_tick(now);
            if (now - step_t0 >= (uint64_t)opt.step_ms * 1000000ull) {
                step_t1 = now;
                step_cpu1 = opt.server_pid ? proc_cpu_ticks(opt.server_pid) : -1;
                phase = PH_DRAIN;
                phase_t0 = now;
            }
            break;
        case PH_DRAIN: {
            uint64_t expected = step_sent * (uint64_t)receivers_joined;
            uint64_t limit = (uint64_t)(opt.p99_ms * 1e6) + 250000000ull;
            if (step_recv >= expected || now - phase_t0 > limit) step_end(now);
            break;
        }
        case PH_HOLD:
            if (now - phase_t0 >= (uint64_t)(opt.hold_s * 1e9)) phase = PH_DONE;
            break;
        default: break;
        }
    }
    if (idle) {
        printf("DONE connected=%d dropped=%d pings=%llu ping_interval_p50_ms=%.1f ping_interval_p99_ms=%.1f "
               "ping_interval_max_ms=%.1f\n",
               ready - dead_after_ready, dead_after_ready, (unsigned long long)pings, hist_q(&ping_iv, 0.5) / 1000.0,
               hist_q(&ping_iv, 0.99) / 1000.0, ping_iv.max_us / 1000.0);
    } else {
        printf("RESULT receivers=%d best_rate=%.1f deliveries_per_s=%.0f p50_us=%llu p99_us=%llu server_cpu_pct=%.0f "
               "dropped=%d\n",
               receivers_joined, best.rate, best.dps, (unsigned long long)best.p50, (unsigned long long)best.p99,
               best.cpu_pct, dead_after_ready);
    }
    return 0;
}
