/*
 * redis_test_helpers.h - what test_redis.c and test_ratelimit.c share: the core files under test,
 * a log stub, waits on the real event loop with deadlines, reply/message/verdict captures, and
 * tools/redis.sh for throwaway servers. Included by exactly one translation unit per binary.
 */
#ifndef SH_REDIS_TEST_HELPERS_H
#define SH_REDIS_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#define CONNECT_TIMEOUT_MS 300 /* so that the timeout test is quick */
#include "core/ratelimit.c"
#include "core/redis.c"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- log stub (the tests do not need core/log.c; SH_TEST_LOG=1 prints) ------------------------ */

void sh_vlogf(int level, const char *who, const char *fmt, va_list ap) {
    if (!getenv("SH_TEST_LOG")) return;
    fprintf(stderr, "[log %d] %s: ", level, who);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}
void sh_logf(int level, const char *who, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sh_vlogf(level, who, fmt, ap);
    va_end(ap);
}

/* ---- helpers --------------------------------------------------------------------------------- */

#define WAIT_MS 5000

static inline uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until pred(arg) holds; 0 on timeout. */
static inline int run_until(struct event_base *b, int (*pred)(void *), void *arg, int timeout_ms) {
    struct event *tick = event_new(b, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 5000};
    event_add(tick, &tv);
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    int ok;
    while (!(ok = pred(arg)) && mono_ms() < deadline) event_base_loop(b, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static inline int never(void *arg) {
    (void)arg;
    return 0;
}
static inline void run_for(struct event_base *b, int ms) { run_until(b, never, NULL, ms); }

static inline int is_set(void *p) { return *(int *)p != 0; }

static inline int env_port(const char *name) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : 0;
}

static inline int need_port(void) {
    int port = env_port("SH_TEST_REDIS_PORT");
    if (port <= 0)
        fail_msg("SH_TEST_REDIS_PORT is not set: start a Redis (tools/redis.sh start DIR PORT) and "
                 "export its port");
    return port;
}

/* A TCP port on 127.0.0.1 that nothing listens on. */
static inline int dead_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A key unique to this run; lives as long as the enclosing block. */
static inline const char *key_in(char *buf, const char *name) {
    snprintf(buf, 128, "shtest:%d:%s", (int)getpid(), name);
    return buf;
}
#define key(name) key_in((char[128]){0}, name)
static inline int redis_up(void *arg) {
    sh_redis_stats st;
    sh_redis_stats_get(arg, &st);
    return st.connected && st.subscriber_connected;
}
static inline int redis_down(void *arg) {
    sh_redis_stats st;
    sh_redis_stats_get(arg, &st);
    return !st.connected && !st.subscriber_connected;
}

static inline sh_redis *open_redis_cfg(struct event_base *b, int port, const char *password, int db) {
    sh_redis_config cfg = {.host = "127.0.0.1", .port = port, .password = password, .db = db};
    sh_redis *r = sh_redis_new(b, &cfg);
    assert_non_null(r);
    return r;
}

static inline sh_redis *open_redis(struct event_base *b, int port) {
    sh_redis *r = open_redis_cfg(b, port, NULL, 0);
    if (!run_until(b, redis_up, r, WAIT_MS)) fail_msg("no connection to Redis on 127.0.0.1:%d", port);
    return r;
}

/* One captured reply (copied: the reply dies with the callback). */
typedef struct cap {
    int called, was_null, type;
    long long integer;
    char str[256];
    size_t len;
    size_t count;
    int etype[4];
    char estr[4][64];
    long long eint[4];
} cap;

static inline void on_cap(const sh_redis_reply *rep, void *ud) {
    cap *c = ud;
    c->called++;
    c->was_null = rep == NULL;
    c->type = sh_redis_reply_type(rep);
    c->integer = sh_redis_reply_int(rep);
    size_t len;
    const char *s = sh_redis_reply_str(rep, &len);
    if (s) { /* truncated, always NUL-terminated (c was zeroed) */
        c->len = len;
        memcpy(c->str, s, len < sizeof c->str - 1 ? len : sizeof c->str - 1);
    }
    c->count = sh_redis_reply_count(rep);
    for (size_t i = 0; i < c->count && i < 4; i++) {
        const sh_redis_reply *e = sh_redis_reply_elem(rep, i);
        c->etype[i] = sh_redis_reply_type(e);
        c->eint[i] = sh_redis_reply_int(e);
        const char *es = sh_redis_reply_str(e, &len);
        if (es) snprintf(c->estr[i], sizeof c->estr[i], "%.*s", (int)len, es);
    }
}

static inline int cap_called(void *arg) { return ((cap *)arg)->called > 0; }

/* Send argv (NUL-terminated strings) and wait for the reply. */
static inline void cmdv(struct event_base *b, sh_redis *r, cap *c, int argc, const char *const *argv) {
    memset(c, 0, sizeof *c);
    assert_int_equal(sh_redis_command(r, on_cap, c, argc, argv, NULL), SH_OK);
    if (!run_until(b, cap_called, c, WAIT_MS)) fail_msg("no reply to %s", argv[0]);
}
#define CMD(b, r, c, ...)                                                                         \
    do {                                                                                          \
        const char *argv_[] = {__VA_ARGS__};                                                      \
        cmdv(b, r, c, (int)(sizeof argv_ / sizeof *argv_), argv_);                                \
    } while (0)

/* Wait until Redis reports `n` subscribers on channel (the SUBSCRIBE went through). */
static inline void wait_numsub(struct event_base *b, sh_redis *r, const char *ch, long long n) {
    uint64_t deadline = mono_ms() + WAIT_MS;
    cap c;
    do {
        CMD(b, r, &c, "PUBSUB", "NUMSUB", ch);
        if (c.count == 2 && c.eint[1] == n) return;
        run_for(b, 10);
    } while (mono_ms() < deadline);
    fail_msg("channel %s never reached %lld subscribers", ch, n);
}

/* Messages received by one subscriber callback. */
typedef struct inbox {
    int n;
    char chan[64];
    char data[64];
    size_t len;
} inbox;

static inline void on_msg(const char *channel, const char *data, size_t len, void *ud) {
    inbox *in = ud;
    in->n++;
    snprintf(in->chan, sizeof in->chan, "%s", channel);
    memset(in->data, 0, sizeof in->data);
    memcpy(in->data, data, len < sizeof in->data - 1 ? len : sizeof in->data - 1);
    in->len = len;
}
static inline int inbox_got(void *arg) { return ((inbox *)arg)->n > 0; }

/* A rate limiter answer. */
typedef struct verdict {
    int called, allowed;
    uint64_t retry;
} verdict;
static inline void on_verdict(int allowed, uint64_t retry_after_ms, void *ud) {
    verdict *v = ud;
    v->called++;
    v->allowed = allowed;
    v->retry = retry_after_ms;
}
static inline int verdict_called(void *arg) { return ((verdict *)arg)->called > 0; }

static inline void hit_and_wait(struct event_base *b, sh_ratelimit *rl, const char *k, int limit, uint64_t win,
                         verdict *v) {
    memset(v, 0, sizeof *v);
    sh_ratelimit_hit(rl, k, limit, win, on_verdict, v);
    if (!run_until(b, verdict_called, v, WAIT_MS)) fail_msg("no rate limit answer for %s", k);
    assert_int_equal(v->called, 1);
}

static inline int script(const char *verb, const char *dir, int port) {
    char cmd[512];
    if (access("tools/redis.sh", X_OK) != 0)
        fail_msg("run the tests from the repository root (tools/redis.sh not found)");
    if (port) snprintf(cmd, sizeof cmd, "tools/redis.sh %s '%s' %d", verb, dir, port);
    else snprintf(cmd, sizeof cmd, "tools/redis.sh %s '%s'", verb, dir);
    return system(cmd);
}


/* Both connections of `arg` (an sh_redis) have failed their first attempt. */
static inline int first_attempt_failed(void *arg) {
    sh_redis *r = arg;
    return r->cmd.failed && r->sub.failed;
}

#endif
