/*
 * bench_common.h - small helpers shared by the C load generators in bench/tools (header only):
 * clocks, a latency histogram with percentiles, /proc readings of another process, and the
 * client side of WebSocket framing (RFC 6455: masked client frames, unmasked server frames).
 * Single-threaded programs only.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

static inline void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static inline int set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* ---- latency histogram: 10 us buckets up to 5 s, then one overflow bucket ------------------ */
#define HIST_BUCKET_US 10
#define HIST_N 500000
typedef struct hist {
    uint32_t *b;
    uint64_t n, over;
    uint64_t max_us;
} hist;

static inline void hist_init(hist *h) {
    h->b = calloc(HIST_N, sizeof *h->b);
    if (!h->b) abort();
    h->n = h->over = h->max_us = 0;
}
static inline void hist_reset(hist *h) {
    memset(h->b, 0, HIST_N * sizeof *h->b);
    h->n = h->over = h->max_us = 0;
}
static inline void hist_add(hist *h, uint64_t us) {
    uint64_t k = us / HIST_BUCKET_US;
    if (k >= HIST_N) h->over++;
    else h->b[k]++;
    h->n++;
    if (us > h->max_us) h->max_us = us;
}
/* The q-quantile (0..1) in microseconds (upper edge of its bucket); 0 when empty. */
static inline uint64_t hist_q(const hist *h, double q) {
    if (!h->n) return 0;
    uint64_t want = (uint64_t)(q * (double)h->n);
    if (want >= h->n) want = h->n - 1;
    uint64_t acc = 0;
    for (uint64_t k = 0; k < HIST_N; k++) {
        acc += h->b[k];
        if (acc > want) return (k + 1) * HIST_BUCKET_US;
    }
    return h->max_us;
}

/* ---- another process, from /proc ----------------------------------------------------------- */
/* utime + stime of PID in clock ticks, or -1. */
static inline long long proc_cpu_ticks(int pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p) return -1;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (long long)(ut + st);
}

/* ---- WebSocket client framing -------------------------------------------------------------- */
/* A masked client frame (FIN, opcode) carrying payload[0..len) into out (room: len + 14). */
static inline size_t ws_client_frame(uint8_t *out, int opcode, const void *payload, size_t len, const uint8_t mask[4]) {
    size_t o = 0;
    out[o++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[o++] = (uint8_t)(0x80 | len);
    } else if (len < 65536) {
        out[o++] = 0x80 | 126;
        out[o++] = (uint8_t)(len >> 8);
        out[o++] = (uint8_t)len;
    } else {
        out[o++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--) out[o++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(out + o, mask, 4);
    o += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++) out[o + i] = p[i] ^ mask[i & 3];
    return o + len;
}

/* Parse one unmasked server frame at buf[0..len). Returns bytes used (0: incomplete), sets
 * opcode / payload / plen; -1 on a masked or oversized frame. */
static inline long ws_server_frame(const uint8_t *buf, size_t len, int *opcode, const uint8_t **payload, size_t *plen) {
    if (len < 2) return 0;
    if (buf[1] & 0x80) return -1;
    uint64_t pl = buf[1] & 0x7f;
    size_t h = 2;
    if (pl == 126) {
        if (len < 4) return 0;
        pl = ((uint64_t)buf[2] << 8) | buf[3];
        h = 4;
    } else if (pl == 127) {
        if (len < 10) return 0;
        pl = 0;
        for (int i = 0; i < 8; i++) pl = (pl << 8) | buf[2 + i];
        h = 10;
        if (pl > (64u << 20)) return -1;
    }
    if (len < h + pl) return 0;
    *opcode = buf[0] & 0x0f;
    *payload = buf + h;
    *plen = (size_t)pl;
    return (long)(h + pl);
}

static inline int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#endif
