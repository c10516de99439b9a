/*
 * test_redis.c - core/redis.c against a real Redis (the rate limiter is in test_ratelimit.c).
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
#include "tests/integration/redis_test_helpers.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
