/*
 * test_redis.c - core/redis.c and core/ratelimit.c against a real Redis.
 *
 * Needs a redis-server on 127.0.0.1:$SH_TEST_REDIS_PORT (tests that need it fail, saying so, when
 * the variable is unset). The restart and AUTH tests also need $SH_TEST_REDIS_DIR and
 * $SH_TEST_REDIS_PORT2: they start and stop their own throwaway server there with tools/redis.sh
 * (run from the repository root); they are skipped when those are unset. Example:
 *
 *   tools/redis.sh start /tmp/shr 6390
 *   SH_TEST_REDIS_PORT=6390 SH_TEST_REDIS_DIR=/tmp/shr2 SH_TEST_REDIS_PORT2=6391 /tmp/test_redis
 *   tools/redis.sh stop /tmp/shr
 *
 * Every wait runs the real event loop with a deadline; alarm() is the last-resort safety net.
 */
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

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_tick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until pred(arg) holds; 0 on timeout. */
static int run_until(struct event_base *b, int (*pred)(void *), void *arg, int timeout_ms) {
    struct event *tick = event_new(b, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 5000};
    event_add(tick, &tv);
    uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
    int ok;
    while (!(ok = pred(arg)) && mono_ms() < deadline) event_base_loop(b, EVLOOP_ONCE);
    event_free(tick);
    return ok;
}

static int never(void *arg) {
    (void)arg;
    return 0;
}
static void run_for(struct event_base *b, int ms) { run_until(b, never, NULL, ms); }

static int is_set(void *p) { return *(int *)p != 0; }

static int env_port(const char *name) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : 0;
}

static int need_port(void) {
    int port = env_port("SH_TEST_REDIS_PORT");
    if (port <= 0)
        fail_msg("SH_TEST_REDIS_PORT is not set: start a Redis (tools/redis.sh start DIR PORT) and "
                 "export its port");
    return port;
}

/* A TCP port on 127.0.0.1 that nothing listens on. */
static int dead_port(void) {
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
static const char *key_in(char *buf, const char *name) {
    snprintf(buf, 128, "shtest:%d:%s", (int)getpid(), name);
    return buf;
}
#define key(name) key_in((char[128]){0}, name)
static int redis_up(void *arg) {
    sh_redis_stats st;
    sh_redis_stats_get(arg, &st);
    return st.connected && st.subscriber_connected;
}
static int redis_down(void *arg) {
    sh_redis_stats st;
    sh_redis_stats_get(arg, &st);
    return !st.connected && !st.subscriber_connected;
}

static sh_redis *open_redis_cfg(struct event_base *b, int port, const char *password, int db) {
    sh_redis_config cfg = {.host = "127.0.0.1", .port = port, .password = password, .db = db};
    sh_redis *r = sh_redis_new(b, &cfg);
    assert_non_null(r);
    return r;
}

static sh_redis *open_redis(struct event_base *b, int port) {
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

static void on_cap(const sh_redis_reply *rep, void *ud) {
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

static int cap_called(void *arg) { return ((cap *)arg)->called > 0; }

/* Send argv (NUL-terminated strings) and wait for the reply. */
static void cmdv(struct event_base *b, sh_redis *r, cap *c, int argc, const char *const *argv) {
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
static void wait_numsub(struct event_base *b, sh_redis *r, const char *ch, long long n) {
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

static void on_msg(const char *channel, const char *data, size_t len, void *ud) {
    inbox *in = ud;
    in->n++;
    snprintf(in->chan, sizeof in->chan, "%s", channel);
    memset(in->data, 0, sizeof in->data);
    memcpy(in->data, data, len < sizeof in->data - 1 ? len : sizeof in->data - 1);
    in->len = len;
}
static int inbox_got(void *arg) { return ((inbox *)arg)->n > 0; }

/* A rate limiter answer. */
typedef struct verdict {
    int called, allowed;
    uint64_t retry;
} verdict;
static void on_verdict(int allowed, uint64_t retry_after_ms, void *ud) {
    verdict *v = ud;
    v->called++;
    v->allowed = allowed;
    v->retry = retry_after_ms;
}
static int verdict_called(void *arg) { return ((verdict *)arg)->called > 0; }

static void hit_and_wait(struct event_base *b, sh_ratelimit *rl, const char *k, int limit, uint64_t win,
                         verdict *v) {
    memset(v, 0, sizeof *v);
    sh_ratelimit_hit(rl, k, limit, win, on_verdict, v);
    if (!run_until(b, verdict_called, v, WAIT_MS)) fail_msg("no rate limit answer for %s", k);
    assert_int_equal(v->called, 1);
}

static int script(const char *verb, const char *dir, int port) {
    char cmd[512];
    if (access("tools/redis.sh", X_OK) != 0)
        fail_msg("run the tests from the repository root (tools/redis.sh not found)");
    if (port) snprintf(cmd, sizeof cmd, "tools/redis.sh %s '%s' %d", verb, dir, port);
    else snprintf(cmd, sizeof cmd, "tools/redis.sh %s '%s'", verb, dir);
    return system(cmd);
}

/* ---- reply accessors, hash (no server needed) ------------------------------------------------- */

static void test_reply_accessors_are_null_safe(void **state) {
    (void)state;
    size_t len = 99;
    assert_int_equal(sh_redis_reply_type(NULL), 0);
    assert_int_equal(sh_redis_reply_int(NULL), 0);
    assert_null(sh_redis_reply_str(NULL, &len));
    assert_int_equal(len, 0);
    assert_null(sh_redis_reply_str(NULL, NULL));
    assert_int_equal(sh_redis_reply_count(NULL), 0);
    assert_null(sh_redis_reply_elem(NULL, 0));

    redisReply i = {.type = REDIS_REPLY_INTEGER, .integer = 42};
    const sh_redis_reply *ri = (const sh_redis_reply *)(const void *)&i;
    assert_int_equal(sh_redis_reply_type(ri), SH_REDIS_INTEGER);
    assert_int_equal(sh_redis_reply_int(ri), 42);
    assert_null(sh_redis_reply_str(ri, &len)); /* not a string */
    assert_int_equal(sh_redis_reply_count(ri), 0);
    assert_null(sh_redis_reply_elem(ri, 0)); /* not an array */
}

static void test_siphash_matches_reference_vectors(void **state) {
    (void)state;
    /* From the SipHash paper / reference implementation: key 00..0f. */
    uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    unsigned char msg[15];
    for (int i = 0; i < 15; i++) msg[i] = (unsigned char)i;
    assert_true(siphash24(msg, 0, k0, k1) == 0x726fdb47dd0e0e31ull);
    assert_true(siphash24(msg, 15, k0, k1) == 0xa129ca6149be45e5ull);
}

/* ---- commands -------------------------------------------------------------------------------- */

static void test_redis_set_get_incr_nil_and_error_replies(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    cap c;

    CMD(b, r, &c, "SET", key("a"), "hello");
    assert_int_equal(c.type, SH_REDIS_STATUS);
    assert_int_equal(c.len, 2);
    assert_memory_equal(c.str, "OK", 2);

    CMD(b, r, &c, "GET", key("a"));
    assert_int_equal(c.type, SH_REDIS_STRING);
    assert_int_equal(c.len, 5);
    assert_memory_equal(c.str, "hello", 5);

    CMD(b, r, &c, "DEL", key("n"));
    CMD(b, r, &c, "INCR", key("n"));
    assert_int_equal(c.type, SH_REDIS_INTEGER);
    assert_int_equal(c.integer, 1);
    CMD(b, r, &c, "INCRBY", key("n"), "41");
    assert_int_equal(c.integer, 42);

    CMD(b, r, &c, "GET", key("missing"));
    assert_int_equal(c.type, SH_REDIS_NIL);
    assert_false(c.was_null);
    assert_int_equal(c.len, 0);

    CMD(b, r, &c, "INCR", key("a")); /* not an integer */
    assert_int_equal(c.type, SH_REDIS_ERROR);
    assert_true(c.len > 0);
    CMD(b, r, &c, "NO-SUCH-COMMAND");
    assert_int_equal(c.type, SH_REDIS_ERROR);

    sh_redis_stats st;
    sh_redis_stats_get(r, &st);
    assert_int_equal(st.connected, 1);
    assert_int_equal(st.subscriber_connected, 1);
    assert_true(st.commands >= 8);
    assert_true(st.errors >= 2);
    assert_int_equal(st.reconnects, 0);

    sh_redis_free(r);
    event_base_free(b);
}

static void test_redis_array_reply_elements(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    cap c;

    CMD(b, r, &c, "DEL", key("list"));
    CMD(b, r, &c, "RPUSH", key("list"), "x", "yy", "zzz");
    assert_int_equal(c.integer, 3);
    CMD(b, r, &c, "LRANGE", key("list"), "0", "-1");
    assert_int_equal(c.type, SH_REDIS_ARRAY);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.etype[0], SH_REDIS_STRING);
    assert_string_equal(c.estr[0], "x");
    assert_string_equal(c.estr[1], "yy");
    assert_string_equal(c.estr[2], "zzz");

    /* Mixed array: MGET with a missing key gives a NIL element. */
    CMD(b, r, &c, "SET", key("m1"), "v1");
    CMD(b, r, &c, "MGET", key("m1"), key("missing"));
    assert_int_equal(c.count, 2);
    assert_int_equal(c.etype[0], SH_REDIS_STRING);
    assert_int_equal(c.etype[1], SH_REDIS_NIL);

    /* Empty array. */
    CMD(b, r, &c, "LRANGE", key("nolist"), "0", "-1");
    assert_int_equal(c.type, SH_REDIS_ARRAY);
    assert_int_equal(c.count, 0);

    sh_redis_free(r);
    event_base_free(b);
}

static void on_check_elem_range(const sh_redis_reply *rep, void *ud) {
    int *ok = ud;
    *ok = sh_redis_reply_count(rep) == 2 && sh_redis_reply_elem(rep, 1) != NULL &&
          sh_redis_reply_elem(rep, 2) == NULL && sh_redis_reply_elem(rep, (size_t)-1) == NULL ? 1 : -1;
}

static void test_redis_reply_elem_out_of_range_is_null(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    int ok = 0;
    const char *argv[] = {"MGET", key("a"), key("b")};
    assert_int_equal(sh_redis_command(r, on_check_elem_range, &ok, 3, argv, NULL), SH_OK);
    assert_true(run_until(b, is_set, &ok, WAIT_MS));
    assert_int_equal(ok, 1);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_redis_binary_safe_values_with_nul(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    static const char val[] = {'a', '\0', 'b', '\r', '\n', '\0', (char)0xff};
    const char *argv[] = {"SET", key("bin"), val};
    size_t lens[] = {3, strlen(key("bin")), sizeof val};
    cap c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sh_redis_command(r, on_cap, &c, 3, argv, lens), SH_OK);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_int_equal(c.type, SH_REDIS_STATUS);

    CMD(b, r, &c, "STRLEN", key("bin"));
    assert_int_equal(c.integer, (long long)sizeof val);
    CMD(b, r, &c, "GET", key("bin"));
    assert_int_equal(c.type, SH_REDIS_STRING);
    assert_int_equal(c.len, sizeof val);
    assert_memory_equal(c.str, val, sizeof val);

    /* A key with a NUL in it too. */
    static const char k2[] = {'s', 'h', 't', 'e', 's', 't', ':', 'k', '\0', 'x'};
    const char *argv2[] = {"SET", k2, "v"};
    size_t lens2[] = {3, sizeof k2, 1};
    memset(&c, 0, sizeof c);
    assert_int_equal(sh_redis_command(r, on_cap, &c, 3, argv2, lens2), SH_OK);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    const char *argv3[] = {"GET", "shtest:k"}; /* the prefix up to NUL is another key */
    memset(&c, 0, sizeof c);
    assert_int_equal(sh_redis_command(r, on_cap, &c, 2, argv3, NULL), SH_OK);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_int_equal(c.type, SH_REDIS_NIL);

    sh_redis_free(r);
    event_base_free(b);
}

static void test_redis_select_db_is_applied(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r0 = open_redis(b, port);
    sh_redis *r3 = open_redis_cfg(b, port, NULL, 3);
    assert_true(run_until(b, redis_up, r3, WAIT_MS));
    cap c;
    CMD(b, r3, &c, "SET", key("db"), "in3");
    CMD(b, r0, &c, "GET", key("db"));
    assert_int_equal(c.type, SH_REDIS_NIL);
    CMD(b, r3, &c, "GET", key("db"));
    assert_string_equal(c.str, "in3");
    CMD(b, r3, &c, "DEL", key("db"));
    sh_redis_free(r3);
    sh_redis_free(r0);
    event_base_free(b);
}

static void test_redis_command_before_first_connect_is_sent_when_up(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis_cfg(b, port, NULL, 0);
    assert_false(sh_redis_connected(r));
    cap c;
    memset(&c, 0, sizeof c);
    const char *argv[] = {"PING"};
    assert_int_equal(sh_redis_command(r, on_cap, &c, 1, argv, NULL), SH_OK);
    assert_int_equal(c.called, 0);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_int_equal(c.type, SH_REDIS_STATUS);
    assert_string_equal(c.str, "PONG");
    sh_redis_free(r);
    event_base_free(b);
}

static int first_attempt_failed(void *arg) {
    sh_redis *r = arg;
    return r->cmd.failed && r->sub.failed;
}

static void test_redis_command_while_disconnected_fails_on_a_later_turn(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    int port = dead_port();
    sh_redis *r = open_redis_cfg(b, port, NULL, 0);
    /* Even the first, buffered attempt answers NULL once refused. */
    cap c0;
    memset(&c0, 0, sizeof c0);
    const char *argv[] = {"PING"};
    sh_redis_command(r, on_cap, &c0, 1, argv, NULL);
    assert_int_equal(c0.called, 0);
    assert_true(run_until(b, first_attempt_failed, r, WAIT_MS));
    assert_true(run_until(b, cap_called, &c0, WAIT_MS));
    assert_true(c0.was_null);

    cap c;
    memset(&c, 0, sizeof c);
    assert_int_equal(sh_redis_command(r, on_cap, &c, 1, argv, NULL), SH_ERR_UNAVAILABLE);
    assert_int_equal(c.called, 0); /* never inside sh_redis_command */
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_int_equal(c.called, 1);
    assert_true(c.was_null);
    assert_int_equal(c.type, 0);

    /* Bad arguments: an error status, and the callback still runs later with NULL. */
    memset(&c, 0, sizeof c);
    assert_int_equal(sh_redis_command(r, on_cap, &c, 0, argv, NULL), SH_ERR_INVALID);
    assert_int_equal(c.called, 0);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_true(c.was_null);

    /* PUBLISH without a connection is refused. */
    assert_int_equal(sh_redis_publish(r, "ch", "x", 1), SH_ERR_UNAVAILABLE);
    sh_redis_stats st;
    sh_redis_stats_get(r, &st);
    assert_int_equal(st.connected, 0);
    assert_true(st.errors >= 3);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_redis_new_rejects_bad_config(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_redis_config cfg = {.host = "127.0.0.1", .port = 0};
    assert_null(sh_redis_new(b, &cfg));
    cfg.port = 70000;
    assert_null(sh_redis_new(b, &cfg));
    cfg.host = "";
    cfg.port = 6379;
    assert_null(sh_redis_new(b, &cfg));
    assert_null(sh_redis_new(NULL, &cfg));
    assert_null(sh_redis_new(b, NULL));
    event_base_free(b);
}

static void test_redis_host_name_is_resolved_without_blocking(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis_config cfg = {.host = "localhost", .port = port};
    sh_redis *r = sh_redis_new(b, &cfg);
    assert_non_null(r);
    assert_non_null(r->rs); /* the evdns path */
    assert_true(run_until(b, redis_up, r, WAIT_MS));
    cap c;
    CMD(b, r, &c, "PING");
    assert_string_equal(c.str, "PONG");
    sh_redis_free(r);
    event_base_free(b);
}

/* A server that accepts (the kernel completes the handshake) and never answers a byte. */
static int mute_server(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_redis_handshake_that_never_answers_times_out(void **state) {
    (void)state;
    int port;
    int lfd = mute_server(&port);
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis_cfg(b, port, "pw", 0); /* AUTH is sent, never answered */
    cap c;
    memset(&c, 0, sizeof c);
    const char *argv[] = {"PING"};
    assert_int_equal(sh_redis_command(r, on_cap, &c, 1, argv, NULL), SH_OK); /* buffered: first attempt */
    run_for(b, 100);
    assert_int_equal(c.called, 0);
    assert_false(sh_redis_connected(r));
    assert_true(run_until(b, cap_called, &c, CONNECT_TIMEOUT_MS + 1000)); /* timed out: NULL */
    assert_true(c.was_null);
    assert_true(r->cmd.failed);
    assert_int_equal(r->cmd.state == C_READY, 0);
    sh_redis_free(r);
    event_base_free(b);
    close(lfd);
}

static void test_redis_free_while_resolving_a_host_name(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_redis_config cfg = {.host = "redis.invalid", .port = 6379};
    /* Freed at once: the lookup is in flight and gets cancelled. */
    sh_redis *r = sh_redis_new(b, &cfg);
    assert_non_null(r);
    assert_non_null(r->rs);
    assert_int_equal(r->cmd.state, C_RESOLVING);
    assert_non_null(r->cmd.lk);
    sh_redis_free(r);
    run_for(b, 20);
    /* Freed later: the lookup has failed (or not) by then; a command is answered either way. */
    r = sh_redis_new(b, &cfg);
    assert_non_null(r);
    run_for(b, 20);
    cap c;
    memset(&c, 0, sizeof c);
    const char *argv[] = {"PING"};
    sh_redis_command(r, on_cap, &c, 1, argv, NULL);
    sh_redis_free(r); /* cancels the lookup (or the back-off) */
    assert_int_equal(c.called, 1);
    assert_true(c.was_null);
    run_for(b, 20);
    event_base_free(b);
}

/* ---- free and re-entrancy -------------------------------------------------------------------- */

static void test_redis_free_answers_pending_commands_with_null(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    cap c[4];
    memset(c, 0, sizeof c);
    const char *argv[] = {"PING"};
    for (int i = 0; i < 3; i++) assert_int_equal(sh_redis_command(r, on_cap, &c[i], 1, argv, NULL), SH_OK);
    assert_int_equal(sh_redis_command(r, on_cap, &c[3], 0, argv, NULL), SH_ERR_INVALID); /* queued failure */
    sh_redis_free(r);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c[i].called, 1);
        assert_true(c[i].was_null);
    }
    run_for(b, 20); /* nothing left behind fires */
    event_base_free(b);
}

typedef struct freer {
    sh_redis *r;
    int called;
    int got_reply;
} freer;

static void on_reply_then_free(const sh_redis_reply *rep, void *ud) {
    freer *f = ud;
    f->called++;
    f->got_reply = rep != NULL;
    sh_redis_free(f->r);
}

static void test_redis_free_from_inside_a_reply_callback(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    freer f = {r, 0, 0};
    cap later;
    memset(&later, 0, sizeof later);
    const char *argv[] = {"PING"};
    assert_int_equal(sh_redis_command(r, on_reply_then_free, &f, 1, argv, NULL), SH_OK);
    assert_int_equal(sh_redis_command(r, on_cap, &later, 1, argv, NULL), SH_OK);
    assert_true(run_until(b, is_set, &f.called, WAIT_MS));
    assert_int_equal(f.called, 1);
    assert_true(f.got_reply);
    /* The other command was answered with NULL before sh_redis_free returned. */
    assert_int_equal(later.called, 1);
    assert_true(later.was_null);
    run_for(b, 50);
    assert_int_equal(later.called, 1);
    event_base_free(b);
}

typedef struct msg_freer {
    sh_redis *r;
    int calls;
} msg_freer;
static void on_msg_then_free(const char *channel, const char *data, size_t len, void *ud) {
    (void)channel;
    (void)data;
    (void)len;
    msg_freer *m = ud;
    m->calls++;
    sh_redis_free(m->r);
}

static void test_redis_free_from_inside_a_message_callback(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r1 = open_redis(b, port);
    sh_redis *r2 = open_redis(b, port);
    const char *ch = key("freech");
    msg_freer m1 = {r1, 0}, m2 = {r1, 0};
    /* Two callbacks: the first frees, the second must then not be called. */
    assert_int_equal(sh_redis_subscribe(r1, ch, on_msg_then_free, &m1), SH_OK);
    assert_int_equal(sh_redis_subscribe(r1, ch, on_msg_then_free, &m2), SH_OK);
    wait_numsub(b, r2, ch, 1);
    assert_int_equal(sh_redis_publish(r2, ch, "bye", 3), SH_OK);
    assert_true(run_until(b, is_set, &m1.calls, WAIT_MS));
    run_for(b, 50);
    assert_int_equal(m1.calls, 1);
    assert_int_equal(m2.calls, 0);
    sh_redis_free(r2);
    event_base_free(b);
}

/* ---- pub/sub --------------------------------------------------------------------------------- */

static int two_got(void *arg) {
    inbox *in = arg;
    return in[0].n > 0 && in[1].n > 0;
}

static void test_redis_pubsub_between_two_instances(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *sub = open_redis(b, port);
    sh_redis *pub = open_redis(b, port);
    const char *ch = key("chat");
    char other[128];
    snprintf(other, sizeof other, "%s", key("other"));
    inbox in[3];
    memset(in, 0, sizeof in);
    assert_int_equal(sh_redis_subscribe(sub, ch, on_msg, &in[0]), SH_OK);
    assert_int_equal(sh_redis_subscribe(sub, ch, on_msg, &in[1]), SH_OK); /* same channel, 2nd cb */
    assert_int_equal(sh_redis_subscribe(sub, other, on_msg, &in[2]), SH_OK);
    assert_int_equal(sh_redis_subscribe(sub, NULL, on_msg, &in[2]), SH_ERR_INVALID);
    wait_numsub(b, pub, ch, 1); /* one connection, however many callbacks */
    wait_numsub(b, pub, other, 1);

    static const char payload[] = {'h', 'i', '\0', '!'};
    assert_int_equal(sh_redis_publish(pub, ch, payload, sizeof payload), SH_OK);
    assert_true(run_until(b, two_got, in, WAIT_MS));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(in[i].n, 1);
        assert_string_equal(in[i].chan, ch);
        assert_int_equal(in[i].len, sizeof payload);
        assert_memory_equal(in[i].data, payload, sizeof payload);
    }
    run_for(b, 30);
    assert_int_equal(in[2].n, 0); /* other channel: nothing */

    assert_int_equal(sh_redis_publish(pub, other, "o", 1), SH_OK);
    assert_true(run_until(b, inbox_got, &in[2], WAIT_MS));
    assert_int_equal(in[0].n, 1);

    sh_redis_stats st;
    sh_redis_stats_get(sub, &st);
    assert_int_equal(st.messages, 2);
    sh_redis_free(pub);
    sh_redis_free(sub);
    event_base_free(b);
}

static int three_got(void *arg) {
    inbox *in = arg;
    return in[0].n > 0 && in[1].n > 0 && in[2].n > 0;
}

static void test_redis_subscriptions_made_before_connecting_are_sent_once_up(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *sub = open_redis_cfg(b, port, NULL, 0);
    assert_false(sh_redis_connected(sub)); /* not up yet: these go in the first SUBSCRIBE */
    char c1[128], c2[128], c3[128];
    key_in(c1, "early1");
    key_in(c2, "early2");
    key_in(c3, "early3");
    inbox in[3];
    memset(in, 0, sizeof in);
    assert_int_equal(sh_redis_subscribe(sub, c1, on_msg, &in[0]), SH_OK);
    assert_int_equal(sh_redis_subscribe(sub, c2, on_msg, &in[1]), SH_OK);
    assert_int_equal(sh_redis_subscribe(sub, c3, on_msg, &in[2]), SH_OK);
    sh_redis *pub = open_redis(b, port);
    assert_true(run_until(b, redis_up, sub, WAIT_MS));
    wait_numsub(b, pub, c1, 1); /* one SUBSCRIBE with all three */
    wait_numsub(b, pub, c2, 1);
    wait_numsub(b, pub, c3, 1);
    assert_int_equal(sh_redis_publish(pub, c1, "1", 1), SH_OK);
    assert_int_equal(sh_redis_publish(pub, c2, "2", 1), SH_OK);
    assert_int_equal(sh_redis_publish(pub, c3, "3", 1), SH_OK);
    assert_true(run_until(b, three_got, in, WAIT_MS));
    assert_string_equal(in[0].data, "1");
    assert_string_equal(in[1].data, "2");
    assert_string_equal(in[2].data, "3");
    assert_string_equal(in[2].chan, c3);
    sh_redis_free(pub);
    sh_redis_free(sub);
    event_base_free(b);
}

/* ---- restart --------------------------------------------------------------------------------- */

typedef struct throwaway {
    const char *dir;
    int port;
} throwaway;

static int throwaway_setup(void **state) {
    throwaway *t = calloc(1, sizeof *t);
    if (!t) return -1;
    t->dir = getenv("SH_TEST_REDIS_DIR");
    t->port = env_port("SH_TEST_REDIS_PORT2");
    *state = t;
    return 0;
}
static int throwaway_teardown(void **state) {
    throwaway *t = *state;
    if (t->dir && *t->dir && t->port > 0) script("stop", t->dir, 0);
    free(t);
    return 0;
}
static throwaway *need_throwaway(void **state) {
    throwaway *t = *state;
    if (!t->dir || !*t->dir || t->port <= 0) {
        print_message("SH_TEST_REDIS_DIR / SH_TEST_REDIS_PORT2 unset: skipped\n");
        skip();
    }
    if (script("start", t->dir, t->port) != 0) fail_msg("tools/redis.sh start %s %d failed", t->dir, t->port);
    return t;
}

static void test_redis_reconnects_after_restart_and_resubscribes(void **state) {
    throwaway *t = need_throwaway(state);
    struct event_base *b = event_base_new();
    sh_redis *sub = open_redis(b, t->port);
    sh_redis *pub = open_redis(b, t->port);
    sh_ratelimit *rl = sh_ratelimit_new(b, sub, "shtest:rl:");
    assert_non_null(rl);
    const char *ch = key("restart");
    inbox in;
    memset(&in, 0, sizeof in);
    assert_int_equal(sh_redis_subscribe(sub, ch, on_msg, &in), SH_OK);
    wait_numsub(b, pub, ch, 1);
    assert_int_equal(sh_redis_publish(pub, ch, "before", 6), SH_OK);
    assert_true(run_until(b, inbox_got, &in, WAIT_MS));
    assert_memory_equal(in.data, "before", 6);

    /* Outage. */
    assert_int_equal(script("stop", t->dir, 0), 0);
    assert_true(run_until(b, redis_down, sub, WAIT_MS));
    assert_true(run_until(b, redis_down, pub, WAIT_MS));
    cap c;
    memset(&c, 0, sizeof c);
    const char *argv[] = {"PING"};
    assert_int_equal(sh_redis_command(sub, on_cap, &c, 1, argv, NULL), SH_ERR_UNAVAILABLE);
    assert_int_equal(c.called, 0);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_true(c.was_null);
    /* The rate limiter counts locally meanwhile, answering at once. */
    verdict v;
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "outage", 1, 60000, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_true(v.allowed);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "outage", 1, 60000, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_false(v.allowed);
    run_for(b, 300); /* a few back-off rounds */

    /* Back. */
    assert_int_equal(script("start", t->dir, t->port), 0);
    assert_true(run_until(b, redis_up, sub, 15000));
    assert_true(run_until(b, redis_up, pub, 15000));
    CMD(b, sub, &c, "PING");
    assert_string_equal(c.str, "PONG");
    wait_numsub(b, pub, ch, 1); /* re-subscribed by itself */
    memset(&in, 0, sizeof in);
    assert_int_equal(sh_redis_publish(pub, ch, "after", 5), SH_OK);
    assert_true(run_until(b, inbox_got, &in, WAIT_MS));
    assert_int_equal(in.len, 5);
    assert_memory_equal(in.data, "after", 5);

    sh_redis_stats st;
    sh_redis_stats_get(sub, &st);
    assert_int_equal(st.connected, 1);
    assert_int_equal(st.subscriber_connected, 1);
    assert_int_equal(st.reconnects, 2); /* both connections, once each */
    assert_true(st.errors >= 1);

    /* Back in Redis mode: a fresh key there. */
    hit_and_wait(b, rl, key("after-restart"), 1, 60000, &v);
    assert_true(v.allowed);
    CMD(b, sub, &c, "EXISTS", "shtest:rl:outage"); /* the outage counted locally only */
    assert_int_equal(c.integer, 0);

    sh_ratelimit_free(rl);
    sh_redis_free(pub);
    sh_redis_free(sub);
    event_base_free(b);
}

static void test_redis_auth_is_sent_and_a_wrong_password_never_connects(void **state) {
    throwaway *t = need_throwaway(state);
    struct event_base *b = event_base_new();
    sh_redis *admin = open_redis(b, t->port);
    cap c;
    CMD(b, admin, &c, "CONFIG", "SET", "requirepass", "s3cret");
    assert_int_equal(c.type, SH_REDIS_STATUS);

    sh_redis *good = open_redis_cfg(b, t->port, "s3cret", 2);
    assert_true(run_until(b, redis_up, good, WAIT_MS));
    CMD(b, good, &c, "SET", key("auth"), "ok");
    assert_int_equal(c.type, SH_REDIS_STATUS);
    CMD(b, good, &c, "CLIENT", "INFO"); /* db=2 proves SELECT ran after AUTH */
    assert_non_null(strstr(c.str, "db=2"));

    sh_redis *bad = open_redis_cfg(b, t->port, "wrong", 0);
    run_for(b, 400);
    assert_false(sh_redis_connected(bad));
    memset(&c, 0, sizeof c);
    const char *argv[] = {"PING"};
    assert_int_equal(sh_redis_command(bad, on_cap, &c, 1, argv, NULL), SH_ERR_UNAVAILABLE);
    assert_true(run_until(b, cap_called, &c, WAIT_MS));
    assert_true(c.was_null);

    CMD(b, good, &c, "CONFIG", "SET", "requirepass", "");
    sh_redis_free(bad);
    sh_redis_free(good);
    sh_redis_free(admin);
    event_base_free(b);
}

/* ---- rate limiter: Redis mode ---------------------------------------------------------------- */

static void test_ratelimit_script_sha_matches_script(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    cap c;
    CMD(b, r, &c, "SCRIPT", "LOAD", RL_SCRIPT);
    assert_int_equal(c.type, SH_REDIS_STRING);
    assert_string_equal(c.str, RL_SCRIPT_SHA);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_redis_is_shared_between_two_nodes(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r1 = open_redis(b, port), *r2 = open_redis(b, port);
    sh_ratelimit *n1 = sh_ratelimit_new(b, r1, "shtest:rl:");
    sh_ratelimit *n2 = sh_ratelimit_new(b, r2, "shtest:rl:");
    assert_non_null(n1);
    assert_non_null(n2);
    char k[128];
    snprintf(k, sizeof k, "%s", key("login:1.2.3.4"));
    verdict v;
    int allowed = 0;
    for (int i = 0; i < 5; i++) {
        hit_and_wait(b, i % 2 ? n2 : n1, k, 5, 10000, &v);
        allowed += v.allowed;
        assert_int_equal(v.retry, 0);
    }
    assert_int_equal(allowed, 5);
    hit_and_wait(b, n1, k, 5, 10000, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 10000);
    hit_and_wait(b, n2, k, 5, 10000, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0);

    /* It lives in Redis, under the prefix, with the window as TTL. */
    char rk[256];
    snprintf(rk, sizeof rk, "shtest:rl:%s", k);
    cap c;
    CMD(b, r1, &c, "GET", rk);
    assert_string_equal(c.str, "7");
    CMD(b, r1, &c, "PTTL", rk);
    assert_true(c.integer > 0 && c.integer <= 10000);
    /* Nothing went to the local tables. */
    assert_int_equal(n1->nentries, 0);
    assert_int_equal(n2->nentries, 0);

    sh_ratelimit_free(n2);
    sh_ratelimit_free(n1);
    sh_redis_free(r2);
    sh_redis_free(r1);
    event_base_free(b);
}

static void test_ratelimit_redis_window_expires(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    char k[128];
    snprintf(k, sizeof k, "%s", key("short"));
    verdict v;
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 200);
    run_for(b, 250);
    hit_and_wait(b, rl, k, 1, 200, &v);
    assert_true(v.allowed);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_redis_reloads_script_after_flush(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    cap c;
    CMD(b, r, &c, "SCRIPT", "FLUSH");
    char k[128];
    snprintf(k, sizeof k, "%s", key("flush"));
    verdict v;
    hit_and_wait(b, rl, k, 2, 10000, &v); /* NOSCRIPT, then EVAL */
    assert_true(v.allowed);
    CMD(b, r, &c, "SCRIPT", "EXISTS", RL_SCRIPT_SHA);
    assert_int_equal(c.count, 1);
    assert_int_equal(c.eint[0], 1); /* EVAL cached it again */
    hit_and_wait(b, rl, k, 2, 10000, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 2, 10000, &v);
    assert_false(v.allowed);
    assert_int_equal(rl->nentries, 0); /* all counted in Redis */
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_wrong_type_key_falls_back_to_local(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    char k[128], rk[256];
    snprintf(k, sizeof k, "%s", key("wrongtype"));
    snprintf(rk, sizeof rk, "shtest:rl:%s", k);
    cap c;
    CMD(b, r, &c, "DEL", rk);
    CMD(b, r, &c, "RPUSH", rk, "x"); /* INCR on a list: an error reply */
    verdict v;
    hit_and_wait(b, rl, k, 1, 10000, &v);
    assert_true(v.allowed);
    hit_and_wait(b, rl, k, 1, 10000, &v);
    assert_false(v.allowed); /* counted in the local table */
    assert_int_equal(rl->nentries, 1);
    CMD(b, r, &c, "DEL", rk);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_free_answers_hits_waiting_for_redis(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, key("inflight"), 0, 10000, on_verdict, &v); /* limit 0: Redis would refuse */
    assert_int_equal(v.called, 0);                                    /* waiting for Redis */
    sh_ratelimit_free(rl);
    assert_int_equal(v.called, 1);
    assert_true(v.allowed); /* fail open */
    cap c;
    CMD(b, r, &c, "PING"); /* the script reply arrives and frees its record */
    assert_int_equal(v.called, 1);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_hit_in_flight_when_redis_goes_away_counts_locally(void **state) {
    (void)state;
    int port = need_port();
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis(b, port);
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, key("gone"), 0, 10000, on_verdict, &v);
    assert_int_equal(v.called, 0);
    sh_redis_free(r); /* the reply becomes NULL: counted locally instead */
    rl->redis = NULL; /* (normally the limiter is freed first) */
    assert_int_equal(v.called, 1);
    assert_false(v.allowed); /* limit 0, local table */
    assert_true(v.retry > 0 && v.retry <= 10000);
    assert_int_equal(rl->nentries, 1);
    sh_ratelimit_free(rl);
    event_base_free(b);
}

/* ---- rate limiter: local mode ---------------------------------------------------------------- */

static void test_ratelimit_local_limit_and_window_expiry(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "x:");
    verdict v;
    for (int i = 0; i < 3; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
        assert_int_equal(v.called, 1); /* synchronous */
        assert_true(v.allowed);
        assert_int_equal(v.retry, 0);
    }
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_false(v.allowed);
    assert_true(v.retry > 0 && v.retry <= 200);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:2", 3, 200, on_verdict, &v); /* keys are independent */
    assert_true(v.allowed);

    run_for(b, 250);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 3, 200, on_verdict, &v);
    assert_true(v.allowed); /* a new window */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "ip:1", 0, 200, on_verdict, &v);
    assert_false(v.allowed); /* limit 0 refuses everything */
    sh_ratelimit_hit(rl, "ip:1", 3, 200, NULL, NULL); /* no callback: counted, fine */
    sh_ratelimit_free(rl);
    event_base_free(b);
}

static void test_ratelimit_falls_back_to_local_when_redis_down(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_redis *r = open_redis_cfg(b, dead_port(), NULL, 0);
    assert_true(run_until(b, first_attempt_failed, r, WAIT_MS));
    sh_ratelimit *rl = sh_ratelimit_new(b, r, "shtest:rl:");
    verdict v;
    for (int i = 0; i < 2; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "k", 2, 10000, on_verdict, &v);
        assert_int_equal(v.called, 1); /* answered at once, from the local table */
        assert_true(v.allowed);
    }
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "k", 2, 10000, on_verdict, &v);
    assert_int_equal(v.called, 1);
    assert_false(v.allowed);
    assert_true(v.retry > 9000 && v.retry <= 10000);
    sh_ratelimit_free(rl);
    sh_redis_free(r);
    event_base_free(b);
}

static void test_ratelimit_local_table_full_allows_untracked_keys_and_sweeps(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "");
    rl->max_entries = 4;
    verdict v;
    char k[16];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof k, "k%d", i);
        sh_ratelimit_hit(rl, k, 1, 100, on_verdict, &v);
    }
    assert_int_equal(rl->nentries, 4);
    /* Full: a new key is allowed but not tracked, however often it comes. */
    for (int i = 0; i < 3; i++) {
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
        assert_true(v.allowed);
    }
    assert_int_equal(rl->untracked, 3);
    assert_int_equal(rl->nentries, 4);
    /* Known keys are still limited. */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "k0", 1, 100, on_verdict, &v);
    assert_false(v.allowed);

    run_for(b, 150);
    /* Windows ended: the next new key sweeps them away and is tracked. */
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
    assert_true(v.allowed);
    assert_int_equal(rl->nentries, 1);
    memset(&v, 0, sizeof v);
    sh_ratelimit_hit(rl, "new", 1, 100, on_verdict, &v);
    assert_false(v.allowed);

    /* The periodic sweep frees ended windows. */
    sweep(rl, now_ms() + 1000);
    assert_int_equal(rl->nentries, 0);
    assert_true(rl->earliest_end == UINT64_MAX);
    sh_ratelimit_free(rl);
    event_base_free(b);
}

static void test_ratelimit_local_table_grows_and_stays_consistent(void **state) {
    (void)state;
    struct event_base *b = event_base_new();
    sh_ratelimit *rl = sh_ratelimit_new(b, NULL, "");
    verdict v;
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "user:%d", i);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
    }
    assert_int_equal(rl->nentries, 5000);
    assert_true(rl->nbuckets >= 4096);
    for (int i = 0; i < 5000; i += 499) {
        snprintf(k, sizeof k, "user:%d", i);
        memset(&v, 0, sizeof v);
        sh_ratelimit_hit(rl, k, 2, 60000, on_verdict, &v);
        assert_false(v.allowed); /* third hit of each */
    }
    sh_ratelimit_free(rl);
    event_base_free(b);
}

int main(void) {
    alarm(180); /* last-resort safety net: every wait has its own deadline */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reply_accessors_are_null_safe),
        cmocka_unit_test(test_siphash_matches_reference_vectors),
        cmocka_unit_test(test_redis_new_rejects_bad_config),
        cmocka_unit_test(test_redis_set_get_incr_nil_and_error_replies),
        cmocka_unit_test(test_redis_array_reply_elements),
        cmocka_unit_test(test_redis_reply_elem_out_of_range_is_null),
        cmocka_unit_test(test_redis_binary_safe_values_with_nul),
        cmocka_unit_test(test_redis_select_db_is_applied),
        cmocka_unit_test(test_redis_command_before_first_connect_is_sent_when_up),
        cmocka_unit_test(test_redis_command_while_disconnected_fails_on_a_later_turn),
        cmocka_unit_test(test_redis_host_name_is_resolved_without_blocking),
        cmocka_unit_test(test_redis_handshake_that_never_answers_times_out),
        cmocka_unit_test(test_redis_free_while_resolving_a_host_name),
        cmocka_unit_test(test_redis_free_answers_pending_commands_with_null),
        cmocka_unit_test(test_redis_free_from_inside_a_reply_callback),
        cmocka_unit_test(test_redis_free_from_inside_a_message_callback),
        cmocka_unit_test(test_redis_pubsub_between_two_instances),
        cmocka_unit_test(test_redis_subscriptions_made_before_connecting_are_sent_once_up),
        cmocka_unit_test_setup_teardown(test_redis_reconnects_after_restart_and_resubscribes, throwaway_setup,
                                        throwaway_teardown),
        cmocka_unit_test_setup_teardown(test_redis_auth_is_sent_and_a_wrong_password_never_connects,
                                        throwaway_setup, throwaway_teardown),
        cmocka_unit_test(test_ratelimit_script_sha_matches_script),
        cmocka_unit_test(test_ratelimit_redis_is_shared_between_two_nodes),
        cmocka_unit_test(test_ratelimit_redis_window_expires),
        cmocka_unit_test(test_ratelimit_redis_reloads_script_after_flush),
        cmocka_unit_test(test_ratelimit_wrong_type_key_falls_back_to_local),
        cmocka_unit_test(test_ratelimit_free_answers_hits_waiting_for_redis),
        cmocka_unit_test(test_ratelimit_hit_in_flight_when_redis_goes_away_counts_locally),
        cmocka_unit_test(test_ratelimit_local_limit_and_window_expiry),
        cmocka_unit_test(test_ratelimit_falls_back_to_local_when_redis_down),
        cmocka_unit_test(test_ratelimit_local_table_full_allows_untracked_keys_and_sweeps),
        cmocka_unit_test(test_ratelimit_local_table_grows_and_stays_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
