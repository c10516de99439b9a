/*
 * rtmp_pub.c - an RTMP publisher that replays an FLV file in real time, many at once from one
 * process (one epoll loop): B4/B5/B6 of BENCHMARKS.md.
 *
 * Per publisher: plain handshake (C0 C1 / S0 S1 S2 / C2), Set Chunk Size 4096, connect(app),
 * releaseStream + FCPublish + createStream, publish(key, "live") and, once the server answers
 * NetStream.Publish.Start, @setDataFrame onMetaData (the FLV's script tag), then every audio and
 * video tag of the FLV as one RTMP message with the tag's timestamp, sent when its time comes
 * (t0 + timestamp). With --loop the file starts again with timestamps continuing (its sequence
 * headers and metadata are sent once). Server messages are parsed as a chunk stream (chunk size
 * changes honoured) to follow the command answers; the rest is read and dropped.
 *
 *   rtmp_pub --port P --flv FILE (--key K | --keys FILE) [--count N] [--seconds S] [--loop]
 *            [--app live] [--stagger-ms MS] [--host 127.0.0.1]
 * With --keys, publisher i uses line i (mod lines) of FILE as its stream key / name.
 * Prints "PUB i start_wall_ms=T" when publisher i sends its first media (its media timestamp 0
 * is sent at wall-clock T, so a frame of timestamp ts was sent at T + ts), and a PUBDONE line.
 *
 * Loopback only. Build: gcc -O2 -std=c11 -D_GNU_SOURCE -o rtmp_pub rtmp_pub.c
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "bench_common.h"

#define CHUNK 4096
enum { S_CONNECT, S_HS, S_CONNECTING_APP, S_CREATE, S_PUBLISH, S_LIVE, S_DONE, S_FAILED };

typedef struct tag {
    uint8_t type; /* 8 audio, 9 video, 18 script */
    uint8_t seqhdr;
    uint32_t ts, off, size;
} tag;

typedef struct csin { /* the server's chunk stream state, per chunk stream id */
    uint32_t ts, len, sid, got;
    uint8_t type;
    uint8_t *buf;
    uint32_t cap;
} csin;

typedef struct pub {
    int idx, fd, state;
    const char *key;
    uint8_t *out;
    size_t outlen, outoff, outcap;
    uint8_t *in;
    size_t inlen, incap;
    uint32_t in_chunk;
    csin cs[64];
    uint32_t stream_id;
    uint64_t start_at;  /* mono ns: when to connect */
    uint64_t t0;        /* mono ns of media timestamp 0 */
    size_t next;        /* next tag */
    uint32_t loop_off;  /* added to timestamps */
    int first_pass;
    uint64_t tags, bytes, max_late_us;
} pub;

static struct {
    const char *host, *app, *flv, *key, *keys;
    int port, count, loop, stagger_ms;
    double seconds;
} opt = {"127.0.0.1", "live", NULL, NULL, NULL, 0, 1, 0, 50, 30};

static uint8_t *flv;
static size_t flvlen;
static tag *tags;
static size_t ntags;
static uint32_t duration_ms;
static int ep;
static struct sockaddr_in addr;
static volatile sig_atomic_t stop_flag;

static void on_sig(int s) {
    (void)s;
    stop_flag = 1;
}
static void die(const char *m) {
    fprintf(stderr, "rtmp_pub: %s\n", m);
    exit(1);
}

/* ---- FLV ----------------------------------------------------------------------------------- */
static void load_flv(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open the FLV file");
    struct stat st;
    fstat(fileno(f), &st);
    flvlen = (size_t)st.st_size;
    flv = malloc(flvlen);
    if (!flv || fread(flv, 1, flvlen, f) != flvlen) die("cannot read the FLV file");
    fclose(f);
    if (flvlen < 13 || memcmp(flv, "FLV", 3) != 0) die("not an FLV file");
    size_t off = ((size_t)flv[5] << 24 | (size_t)flv[6] << 16 | (size_t)flv[7] << 8 | flv[8]) + 4;
    size_t cap = 1024;
    tags = malloc(cap * sizeof *tags);
    uint32_t last_v = 0, prev_v = 0;
    while (off + 11 <= flvlen) {
        const uint8_t *h = flv + off;
        uint32_t size = (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
        uint32_t ts = (uint32_t)h[4] << 16 | (uint32_t)h[5] << 8 | h[6] | (uint32_t)h[7] << 24;
        if (off + 11 + size + 4 > flvlen) break;
        if (ntags == cap) tags = realloc(tags, (cap *= 2) * sizeof *tags);
        tag t = {h[0] & 0x1f, 0, ts, (uint32_t)(off + 11), size};
        const uint8_t *d = flv + off + 11;
        if (t.type == 9 && size >= 2 && (d[0] & 0x0f) == 7 && d[1] == 0) t.seqhdr = 1;       /* AVC sequence header */
        if (t.type == 8 && size >= 2 && (d[0] >> 4) == 10 && d[1] == 0) t.seqhdr = 1;        /* AAC sequence header */
        if (t.type == 18) t.seqhdr = 1;
        if (t.type == 9 && !t.seqhdr) {
            prev_v = last_v;
            last_v = ts;
        }
        if (t.type == 8 || t.type == 9 || t.type == 18) tags[ntags++] = t;
        off += 11 + size + 4;
    }
    if (!ntags) die("no tags in the FLV file");
    duration_ms = last_v + (last_v > prev_v ? last_v - prev_v : 33);
}

/* ---- output -------------------------------------------------------------------------------- */
static void fail(pub *p, const char *why);

static void out_add(pub *p, const void *d, size_t n) {
    if (p->outoff == p->outlen) p->outoff = p->outlen = 0;
    if (p->outlen + n > p->outcap) {
        size_t nc = (p->outlen + n) * 2;
        uint8_t *q = realloc(p->out, nc);
        if (!q) die("out of memory");
        p->out = q;
        p->outcap = nc;
    }
    memcpy(p->out + p->outlen, d, n);
    p->outlen += n;
}

static void flush(pub *p) {
    while (p->outoff < p->outlen) {
        ssize_t w = write(p->fd, p->out + p->outoff, p->outlen - p->outoff);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) break;
            fail(p, "write error");
            return;
        }
        p->outoff += (size_t)w;
    }
    struct epoll_event ev = {.events = EPOLLIN | (p->outoff < p->outlen ? EPOLLOUT : 0), .data.ptr = p};
    epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
}

/* One RTMP message as chunks: a type-0 chunk, then type-3 continuations. */
static void send_msg(pub *p, int csid, uint8_t type, uint32_t sid, uint32_t ts, const uint8_t *d, size_t len) {
    uint8_t h[16];
    size_t hl = 0;
    int ext = ts >= 0xffffff;
    uint32_t t3 = ext ? 0xffffff : ts;
    h[hl++] = (uint8_t)csid;
    h[hl++] = (uint8_t)(t3 >> 16);
    h[hl++] = (uint8_t)(t3 >> 8);
    h[hl++] = (uint8_t)t3;
    h[hl++] = (uint8_t)(len >> 16);
    h[hl++] = (uint8_t)(len >> 8);
    h[hl++] = (uint8_t)len;
    h[hl++] = type;
    h[hl++] = (uint8_t)sid;
    h[hl++] = (uint8_t)(sid >> 8);
    h[hl++] = (uint8_t)(sid >> 16);
    h[hl++] = (uint8_t)(sid >> 24);
    uint8_t e[4] = {(uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts};
    out_add(p, h, hl);
    if (ext) out_add(p, e, 4);
    size_t off = 0;
    while (off < len) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        if (off) {
            uint8_t c3 = (uint8_t)(0xc0 | csid);
            out_add(p, &c3, 1);
            if (ext) out_add(p, e, 4);
        }
        out_add(p, d + off, n);
        off += n;
    }
}

/* ---- AMF0 ---------------------------------------------------------------------------------- */
typedef struct abuf {
    uint8_t b[2048];
    size_t n;
} abuf;
static void a_str(abuf *a, const char *s) {
    size_t l = strlen(s);
    a->b[a->n++] = 2;
    a->b[a->n++] = (uint8_t)(l >> 8);
    a->b[a->n++] = (uint8_t)l;
    memcpy(a->b + a->n, s, l);
    a->n += l;
}
static void a_num(abuf *a, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    a->b[a->n++] = 0;
    for (int i = 7; i >= 0; i--) a->b[a->n++] = (uint8_t)(u >> (8 * i));
}
static void a_null(abuf *a) { a->b[a->n++] = 5; }
static void a_key(abuf *a, const char *k) {
    size_t l = strlen(k);
    a->b[a->n++] = (uint8_t)(l >> 8);
    a->b[a->n++] = (uint8_t)l;
    memcpy(a->b + a->n, k, l);
    a->n += l;
}
static void a_end(abuf *a) {
    a->b[a->n++] = 0;
    a->b[a->n++] = 0;
    a->b[a->n++] = 9;
}

static void cmd(pub *p, const char *name, double tx, const char *arg, uint32_t sid, int csid) {
    abuf a = {.n = 0};
    a_str(&a, name);
    a_num(&a, tx);
    a_null(&a);
    if (arg) a_str(&a, arg);
    if (strcmp(name, "publish") == 0) a_str(&a, "live");
    send_msg(p, csid, 20, sid, 0, a.b, a.n);
}

static void send_connect(pub *p) {
    uint8_t scs[4] = {0, 0, CHUNK >> 8, CHUNK & 0xff};
    send_msg(p, 2, 1, 0, 0, scs, 4);
    abuf a = {.n = 0};
    char tc[256];
    snprintf(tc, sizeof tc, "rtmp://%s:%d/%s", opt.host, opt.port, opt.app);
    a_str(&a, "connect");
    a_num(&a, 1);
    a.b[a.n++] = 3; /* object */
    a_key(&a, "app");
    a_str(&a, opt.app);
    a_key(&a, "type");
    a_str(&a, "nonprivate");
    a_key(&a, "flashVer");
    a_str(&a, "FMLE/3.0 (compatible; streamhub-bench)");
    a_key(&a, "tcUrl");
    a_str(&a, tc);
    a_end(&a);
    send_msg(p, 3, 20, 0, 0, a.b, a.n);
}

/* ---- the server's messages ----------------------------------------------------------------- */
static double amf_num_at(const uint8_t *d, size_t n, size_t *off) {
    if (*off + 9 > n || d[*off] != 0) return -1;
    uint64_t u = 0;
    for (int i = 1; i <= 8; i++) u = (u << 8) | d[*off + (size_t)i];
    *off += 9;
    double v;
    memcpy(&v, &u, 8);
    return v;
}

static void on_command(pub *p, const uint8_t *d, size_t n) {
    if (n < 3 || d[0] != 2) return;
    size_t l = (size_t)d[1] << 8 | d[2];
    if (3 + l > n) return;
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)(l < 63 ? l : 63), (const char *)d + 3);
    size_t off = 3 + l;
    double tx = amf_num_at(d, n, &off);
    if (strcmp(name, "_result") == 0) {
        if (tx == 1 && p->state == S_CONNECTING_APP) {
            cmd(p, "releaseStream", 2, p->key, 0, 3);
            cmd(p, "FCPublish", 3, p->key, 0, 3);
            cmd(p, "createStream", 4, NULL, 0, 3);
            p->state = S_CREATE;
        } else if (tx == 4 && p->state == S_CREATE) {
            /* command object (null), then the stream id */
            if (off < n && d[off] == 5) off++;
            double sid = amf_num_at(d, n, &off);
            p->stream_id = sid > 0 ? (uint32_t)sid : 1;
            cmd(p, "publish", 5, p->key, p->stream_id, 8);
            p->state = S_PUBLISH;
        }
    } else if (strcmp(name, "_error") == 0) {
        fail(p, "the server answered _error");
    } else if (strcmp(name, "onStatus") == 0) {
        if (memmem(d, n, "NetStream.Publish.Start", 23)) {
            if (p->state == S_PUBLISH) {
                p->state = S_LIVE;
                p->t0 = mono_ns();
                p->next = 0;
                printf("PUB %d start_wall_ms=%llu loop_ms=%u\n", p->idx, (unsigned long long)wall_ms(), duration_ms);
                fflush(stdout);
            }
        } else if (memmem(d, n, "error", 5) || memmem(d, n, "Error", 5) || memmem(d, n, "BadName", 7) ||
                   memmem(d, n, "Failed", 6)) {
            fail(p, "the server refused the publish (onStatus error)");
        }
    }
}

static void on_message(pub *p, uint8_t type, const uint8_t *d, size_t n) {
    if (type == 1 && n >= 4) {
        uint32_t cs = ((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]) & 0x7fffffff;
        if (cs >= 1 && cs <= 0xffffff) p->in_chunk = cs;
    } else if (type == 20) {
        on_command(p, d, n);
    }
}

/* Parse the server's chunk stream in p->in; keeps any incomplete chunk. */
static void parse_chunks(pub *p) {
    size_t off = 0;
    for (;;) {
        const uint8_t *b = p->in + off;
        size_t av = p->inlen - off;
        if (av < 1) break;
        int fmt = b[0] >> 6;
        uint32_t csid = b[0] & 0x3f;
        size_t h = 1;
        if (csid == 0) {
            if (av < 2) break;
            csid = 64u + b[1];
            h = 2;
        } else if (csid == 1) {
            if (av < 3) break;
            csid = 64u + b[1] + 256u * b[2];
            h = 3;
        }
        static const size_t mh[4] = {11, 7, 3, 0};
        if (av < h + mh[fmt]) break;
        csin *c = &p->cs[csid % 64];
        const uint8_t *m = b + h;
        size_t hh = h + mh[fmt];
        if (fmt <= 2 && ((uint32_t)m[0] << 16 | (uint32_t)m[1] << 8 | m[2]) == 0xffffff) hh += 4;
        else if (fmt == 3 && c->ts >= 0xffffff) hh += 4;
        if (av < hh) break;
        int starting = c->got == 0 || c->got >= c->len || fmt <= 2;
        uint32_t len = fmt <= 1 ? ((uint32_t)m[3] << 16 | (uint32_t)m[4] << 8 | m[5]) : c->len;
        uint32_t got = starting ? 0 : c->got;
        uint32_t take = len - got;
        if (take > p->in_chunk) take = p->in_chunk;
        if (av < hh + take) break;
        /* the whole chunk is here: commit */
        if (fmt <= 2) c->ts = (uint32_t)m[0] << 16 | (uint32_t)m[1] << 8 | m[2];
        if (fmt <= 1) {
            c->len = len;
            c->type = m[6];
        }
        if (fmt == 0) c->sid = (uint32_t)m[7] | (uint32_t)m[8] << 8 | (uint32_t)m[9] << 16 | (uint32_t)m[10] << 24;
        if (c->len > (4u << 20)) {
            fail(p, "message too long from the server");
            return;
        }
        if (c->cap < c->len) {
            c->buf = realloc(c->buf, c->len);
            c->cap = c->len;
        }
        c->got = got;
        if (take) memcpy(c->buf + c->got, b + hh, take);
        c->got += take;
        off += hh + take;
        if (c->got >= c->len) {
            on_message(p, c->type, c->buf, c->len);
            if (p->state == S_FAILED) return;
        }
    }
    memmove(p->in, p->in + off, p->inlen - off);
    p->inlen -= off;
}

static void on_readable(pub *p) {
    if (p->inlen + 65536 > p->incap) {
        p->incap = p->inlen + 65536;
        p->in = realloc(p->in, p->incap);
    }
    ssize_t r = read(p->fd, p->in + p->inlen, 65536);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        fail(p, r == 0 ? "connection closed by the server" : strerror(errno));
        return;
    }
    p->inlen += (size_t)r;
    if (p->state == S_HS) {
        if (p->inlen < 1 + 1536 * 2) return;
        if (p->in[0] != 3) {
            fail(p, "bad S0");
            return;
        }
        out_add(p, p->in + 1, 1536); /* C2 = S1 */
        size_t used = 1 + 1536 * 2;
        memmove(p->in, p->in + used, p->inlen - used);
        p->inlen -= used;
        send_connect(p);
        p->state = S_CONNECTING_APP;
    }
    if (p->state >= S_CONNECTING_APP && p->state <= S_LIVE) parse_chunks(p);
    if (p->state != S_FAILED) flush(p);
}

static int nfailed, nlive_ever;
static void fail(pub *p, const char *why) {
    if (p->state == S_FAILED || p->state == S_DONE) return;
    fprintf(stderr, "rtmp_pub: publisher %d: %s\n", p->idx, why);
    p->state = S_FAILED;
    nfailed++;
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
}

static void start(pub *p) {
    p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(p->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    p->in_chunk = 128;
    if (connect(p->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        fail(p, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = p};
    epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
    uint8_t c01[1 + 1536];
    c01[0] = 3;
    memset(c01 + 1, 0, 8);
    if (getrandom(c01 + 9, 1528, 0) != 1528) memset(c01 + 9, 0x5a, 1528);
    out_add(p, c01, sizeof c01);
    p->state = S_HS;
}

/* Send every tag that is due; returns ns until the next one (or a large value). */
static uint64_t pump(pub *p, uint64_t now) {
    if (p->state != S_LIVE) return 1000000000ull;
    for (;;) {
        if (p->next >= ntags) {
            if (!opt.loop) return 1000000000ull;
            p->next = 0;
            p->loop_off += duration_ms;
            p->first_pass = 0;
        }
        tag *t = &tags[p->next];
        if (t->seqhdr && !p->first_pass) {
            p->next++;
            continue;
        }
        uint32_t ts = t->ts + p->loop_off;
        uint64_t due = p->t0 + (uint64_t)ts * 1000000ull;
        if (t->type == 18) due = p->t0;
        if (due > now) return due - now;
        uint64_t late = (now - due) / 1000;
        if (late > p->max_late_us) p->max_late_us = late;
        if (t->type == 18) { /* @setDataFrame + the FLV's onMetaData */
            uint8_t *m = malloc(t->size + 16);
            size_t mn = 0;
            m[mn++] = 2;
            m[mn++] = 0;
            m[mn++] = 13;
            memcpy(m + mn, "@setDataFrame", 13);
            mn += 13;
            memcpy(m + mn, flv + t->off, t->size);
            mn += t->size;
            send_msg(p, 4, 18, p->stream_id, 0, m, mn);
            free(m);
        } else {
            send_msg(p, t->type == 8 ? 4 : 6, t->type, p->stream_id, ts, flv + t->off, t->size);
            p->tags++;
            p->bytes += t->size;
        }
        p->next++;
        if (p->outlen - p->outoff > (8u << 20)) return 1000000ull; /* the server is not reading */
    }
}

int main(int argc, char **argv) {
    static const struct option lo[] = {{"host", 1, 0, 'h'},  {"port", 1, 0, 'p'},       {"app", 1, 0, 'a'},
                                       {"flv", 1, 0, 'f'},   {"key", 1, 0, 'k'},        {"keys", 1, 0, 'K'},
                                       {"count", 1, 0, 'n'}, {"seconds", 1, 0, 's'},    {"loop", 0, 0, 'l'},
                                       {"stagger-ms", 1, 0, 'g'}, {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (ch) {
        case 'h': opt.host = optarg; break;
        case 'p': opt.port = atoi(optarg); break;
        case 'a': opt.app = optarg; break;
        case 'f': opt.flv = optarg; break;
        case 'k': opt.key = optarg; break;
        case 'K': opt.keys = optarg; break;
        case 'n': opt.count = atoi(optarg); break;
        case 's': opt.seconds = atof(optarg); break;
        case 'l': opt.loop = 1; break;
        case 'g': opt.stagger_ms = atoi(optarg); break;
        default: die("bad option (see the header of rtmp_pub.c)");
        }
    }
    if (!opt.port || !opt.flv || (!opt.key && !opt.keys) || opt.count < 1) die("need --port, --flv and --key or --keys");
    if (strncmp(opt.host, "127.", 4) != 0) die("--host must be a loopback (127.x) address");
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    load_flv(opt.flv);
    char **keys = NULL;
    int nkeys = 0;
    if (opt.keys) {
        FILE *f = fopen(opt.keys, "r");
        if (!f) die("cannot open --keys");
        char line[512];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (!line[0]) continue;
            keys = realloc(keys, (size_t)(nkeys + 1) * sizeof *keys);
            keys[nkeys++] = strdup(line);
        }
        fclose(f);
        if (!nkeys) die("--keys file is empty");
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)opt.port);
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) die("bad --host");
    ep = epoll_create1(EPOLL_CLOEXEC);
    pub *ps = calloc((size_t)opt.count, sizeof *ps);
    uint64_t t_start = mono_ns();
    for (int i = 0; i < opt.count; i++) {
        ps[i].idx = i;
        ps[i].key = keys ? keys[i % nkeys] : opt.key;
        ps[i].state = S_CONNECT;
        ps[i].first_pass = 1;
        ps[i].start_at = t_start + (uint64_t)i * (uint64_t)opt.stagger_ms * 1000000ull;
    }
    uint64_t end = t_start + (uint64_t)(opt.seconds * 1e9);
    struct epoll_event evs[256];
    while (!stop_flag) {
        uint64_t now = mono_ns();
        if (now >= end) break;
        uint64_t wait = end - now;
        for (int i = 0; i < opt.count; i++) {
            pub *p = &ps[i];
            if (p->state == S_CONNECT) {
                if (now >= p->start_at) start(p);
                else if (p->start_at - now < wait) wait = p->start_at - now;
            }
            if (p->state == S_LIVE) {
                uint64_t w = pump(p, now);
                if (p->outoff < p->outlen) flush(p);
                if (w < wait) wait = w;
            }
        }
        int ms = (int)((wait + 999999) / 1000000);
        int n = epoll_wait(ep, evs, 256, ms);
        for (int i = 0; i < n; i++) {
            pub *p = evs[i].data.ptr;
            if (p->state == S_FAILED) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(p);
            if (p->state != S_FAILED && (evs[i].events & EPOLLOUT)) flush(p);
        }
    }
    uint64_t tags_sent = 0, bytes = 0, late = 0;
    int live = 0;
    for (int i = 0; i < opt.count; i++) {
        if (ps[i].state == S_LIVE) live++;
        tags_sent += ps[i].tags;
        bytes += ps[i].bytes;
        if (ps[i].max_late_us > late) late = ps[i].max_late_us;
        if (ps[i].state != S_FAILED) close(ps[i].fd);
    }
    (void)nlive_ever;
    printf("PUBDONE publishers=%d live_at_end=%d failed=%d tags=%llu media_bytes=%llu max_late_ms=%.1f\n", opt.count,
           live, nfailed, (unsigned long long)tags_sent, (unsigned long long)bytes, late / 1000.0);
    return live == opt.count ? 0 : 1;
}
