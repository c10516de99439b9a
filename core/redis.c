/*
 * redis.c - Redis for the core (see redis.h): hiredis 0.14 async contexts driven by the libevent
 * loop through hiredis' own adapter (redisLibeventAttach).
 *
 * Structure. An sh_redis holds two `conn`s: `cmd` carries every command (and PUBLISH), `sub` is in
 * subscriber mode and carries one SUBSCRIBE for all channels anyone registered. Each conn is a
 * small state machine:
 *
 *     IDLE --attempt--> [RESOLVING] --> CONNECTING --connect + AUTH/SELECT--> READY
 *       ^                     |               |                                  |
 *       +---- back-off -------+---------------+------ lost / error / timeout ----+
 *
 * RESOLVING only happens when `host` is a name (not an IP literal or a unix socket path): it is
 * resolved with evdns, so that getaddrinfo never blocks the loop. One timer per conn serves both
 * as the connect timeout (resolve + connect + handshake, CONNECT_TIMEOUT_MS) and as the back-off
 * before the next attempt (100 ms doubling to 5 s, reset once READY). When the subscriber becomes
 * READY it re-SUBSCRIBEs every known channel in one command; messages published while it was down
 * are lost (that is pub/sub).
 *
 * libevent runs a lookup's callback even after evdns_getaddrinfo_cancel (later, with
 * EVUTIL_EAI_CANCEL) and touches the evdns_base on the way there, so the base lives in a
 * `resolver` that outlives the sh_redis until the last outstanding lookup has called back; an
 * abandoned lookup only has its conn pointer cleared. (Free the sh_redis, then let the loop run
 * once more before event_base_free, or libevent leaks a lookup still in flight.)
 *
 * Commands. sh_redis_command hands the command to hiredis with a `pending` record as privdata;
 * records are also linked in `inflight` so that sh_redis_free can answer all of them with NULL
 * before it returns. A command that cannot be sent (disconnected, bad arguments, closing) is put
 * on `failq`, delivered with NULL by a zero-delay timer: on a later loop iteration, never inside
 * sh_redis_command. The only exception to "fail when not READY" is the very first connection
 * attempt of the command conn: while it is CONNECTING (bounded by the connect timeout), commands
 * are buffered by hiredis (after AUTH/SELECT) so that start-up code need not wait for the
 * connection; if that attempt fails they get NULL like any other.
 *
 * Replies. struct sh_redis_reply is a hiredis redisReply (the struct below has it as its only
 * member; pointers are converted, never copied); it is valid during the callback only.
 *
 * Re-entrancy. User callbacks may call anything here, including sh_redis_free from inside a reply
 * or message callback. Rules that make that safe: a hiredis context found through ac->data is
 * detached (data = NULL) before it is freed, so late hiredis callbacks ignore it; the reply
 * trampoline never touches the sh_redis after calling the user; and every loop entry point that
 * calls users and then continues holds `depth` so that sh_redis_free defers the final free() to
 * the outermost release().
 *
 * Life cycle: free every sh_redis (and any sh_ratelimit using it, first) before the event_base.
 *
 * Thread: loop only. No globals.
 */
#include "core/redis.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/log.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#ifndef CONNECT_TIMEOUT_MS
#define CONNECT_TIMEOUT_MS 3000 /* resolve + connect + AUTH/SELECT; tests may define it lower */
#endif
#define RD_WHO "redis"

/* The SDK's opaque reply: exactly a hiredis reply. */
struct sh_redis_reply {
    redisReply rep;
};

enum { C_IDLE = 0, C_RESOLVING, C_CONNECTING, C_READY };

typedef struct pending pending;
struct pending {
    pending *prev, *next;
    sh_redis *r; /* NULL once detached: the callback already ran (or will never run) */
    sh_redis_cb cb;
    void *ud;
};

typedef struct resolver {
    struct evdns_base *dns;
    int outstanding; /* lookups whose callback has not run yet */
    int orphaned;    /* the sh_redis is gone: free once outstanding == 0 */
} resolver;

typedef struct conn conn;
typedef struct lookup { /* one evdns_getaddrinfo, owned by libevent until its callback */
    resolver *rs;
    conn *c; /* NULL once abandoned (timeout, free) */
} lookup;

struct conn {
    sh_redis *r;
    const char *name; /* "command" or "subscriber", for logs */
    int is_sub;
    int state;
    redisAsyncContext *ac; /* ac->data == this conn while attached */
    struct event *timer;   /* connect timeout while connecting, back-off while IDLE */
    lookup *lk; /* the lookup in flight while RESOLVING */
    struct evdns_getaddrinfo_request *dns_req;
    int backoff_ms;
    int handshake_left; /* AUTH/SELECT replies still expected before READY */
    int was_ready;      /* has been READY at least once */
    int resub_pending;  /* subscriber: a SUBSCRIBE could not be queued; retried by the timer */
    int failed;         /* an attempt failed since the last READY (or since the start) */
};

typedef struct sub_entry {
    sh_redis_msg_cb cb;
    void *ud;
} sub_entry;

typedef struct channel {
    char *name;
    sub_entry *subs;
    size_t nsubs, cap;
} channel;

struct sh_redis {
    struct event_base *base;
    resolver *rs; /* only when the host is a name */
    char *host;
    char *where; /* "host:port" or the socket path, for logs */
    char *password;
    int port, db, is_unix;
    conn cmd, sub;
    pending inflight; /* sentinel: commands handed to hiredis */
    pending failq;    /* sentinel: commands to answer with NULL on a later turn */
    struct event *fail_ev;
    channel *chans;
    size_t nchans, capchans;
    sh_redis_stats st; /* connected fields are computed in sh_redis_stats_get */
    int depth, closing;
};

/* ---- small helpers ------------------------------------------------------------------------ */

static void list_init(pending *s) { s->prev = s->next = s; }
static int list_empty(const pending *s) { return s->next == s; }
static void list_push(pending *s, pending *p) {
    p->prev = s->prev;
    p->next = s;
    s->prev->next = p;
    s->prev = p;
}
static void list_unlink(pending *p) {
    p->prev->next = p->next;
    p->next->prev = p->prev;
    p->prev = p->next = p;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void destroy(sh_redis *r);

static void hold(sh_redis *r) { r->depth++; }
/* After release() the caller must not touch r: it may be gone. */
static void release(sh_redis *r) {
    if (--r->depth == 0 && r->closing) destroy(r);
}

static void arm(struct event *ev, int ms) {
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

/* ---- failing commands later ----------------------------------------------------------------- */

static void fail_later(sh_redis *r, pending *p) {
    p->r = NULL;
    list_push(&r->failq, p);
    if (!r->closing) arm(r->fail_ev, 0);
}

static void on_fail_ev(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_redis *r = arg;
    /* Only those queued before this turn: a callback that retries at once lands in the next. */
    size_t n = 0;
    for (pending *p = r->failq.next; p != &r->failq; p = p->next) n++;
    hold(r);
    while (n-- > 0 && !r->closing && !list_empty(&r->failq)) {
        pending *p = r->failq.next;
        list_unlink(p);
        sh_redis_cb cb = p->cb;
        void *ud = p->ud;
        free(p);
        if (cb) cb(NULL, ud);
    }
    release(r);
}

/* Answer every in-flight and queued command with NULL, until none is left (callbacks may add). */
static void drain(sh_redis *r) {
    for (;;) {
        pending *p;
        if (!list_empty(&r->inflight)) {
            p = r->inflight.next;
            list_unlink(p);
            sh_redis_cb cb = p->cb;
            void *ud = p->ud;
            p->r = NULL; /* hiredis still owns the record and frees it via on_reply */
            p->cb = NULL;
            r->st.errors++;
            if (cb) cb(NULL, ud);
        } else if (!list_empty(&r->failq)) {
            p = r->failq.next;
            list_unlink(p);
            sh_redis_cb cb = p->cb;
            void *ud = p->ud;
            free(p);
            if (cb) cb(NULL, ud);
        } else {
            return;
        }
    }
}

/* ---- connection state machine ---------------------------------------------------------------- */

/* An attempt failed: at `level` the first time after being up (or at start), at debug while the
 * retries keep failing, so that an outage logs one line per connection, not one per attempt. */
static void log_failure(const conn *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void log_failure(const conn *c, int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sh_vlogf(c->failed ? SH_LL_DEBUG : level, RD_WHO, fmt, ap);
    va_end(ap);
}

static void attempt(conn *c);
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata);

static void resolver_release(resolver *rs) {
    if (rs->orphaned && rs->outstanding == 0) {
        evdns_base_free(rs->dns, 0);
        free(rs);
    }
}

/* Forget the lookup in flight, if any: its callback will find no conn (the cancel only hurries it). */
static void abandon_lookup(conn *c) {
    if (!c->lk) return;
    struct evdns_getaddrinfo_request *req = c->dns_req;
    c->lk->c = NULL;
    c->lk = NULL;
    c->dns_req = NULL;
    if (req) evdns_getaddrinfo_cancel(req);
}

/* The attempt failed or the connection was lost: wait, then try again. */
static void schedule_retry(conn *c) {
    c->state = C_IDLE;
    c->failed = 1;
    arm(c->timer, c->backoff_ms);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Abandon the current attempt (timeout, handshake error). May run user callbacks (NULL replies of
 * commands buffered on the context): callers must not touch anything after it without holding. */
static void drop(conn *c) {
    redisAsyncContext *ac = c->ac;
    c->ac = NULL;
    abandon_lookup(c);
    schedule_retry(c);
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac); /* deferred by hiredis when inside one of its callbacks */
    }
}

static int resubscribe_all(conn *c) {
    sh_redis *r = c->r;
    if (r->nchans == 0) return 0;
    const char **argv = malloc((r->nchans + 1) * sizeof *argv);
    if (!argv) return -1;
    argv[0] = "SUBSCRIBE";
    for (size_t i = 0; i < r->nchans; i++) argv[i + 1] = r->chans[i].name;
    int rc = redisAsyncCommandArgv(c->ac, on_sub_reply, NULL, (int)r->nchans + 1, argv, NULL);
    free(argv);
    return rc == REDIS_OK ? 0 : -1;
}

static void become_ready(conn *c) {
    sh_redis *r = c->r;
    c->state = C_READY;
    c->failed = 0;
    c->backoff_ms = BACKOFF_MIN_MS;
    evtimer_del(c->timer);
    if (c->was_ready) {
        r->st.reconnects++;
        SH_LOG_I(RD_WHO, "%s connection re-established", c->name);
    } else {
        SH_LOG_I(RD_WHO, "%s connection up (%s)", c->name, r->where);
    }
    c->was_ready = 1;
    c->resub_pending = 0;
    /* Never drop() here: on_connect runs outside hiredis' callback guard, so freeing the context
     * now would pull it from under hiredis. Retry the SUBSCRIBE from the timer instead. */
    if (c->is_sub && resubscribe_all(c) != 0) {
        SH_LOG_E(RD_WHO, "cannot queue SUBSCRIBE; retrying");
        c->resub_pending = 1;
        arm(c->timer, BACKOFF_MIN_MS);
    }
}

static void on_connect(const redisAsyncContext *cac, int status) {
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac; /* it is ours; hiredis passes const */
    conn *c = ac->data;
    if (!c) return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns (and answers its commands with NULL). */
        log_failure(c, SH_LL_WARN, "%s connect to %s failed: %s (retrying with back-off)", c->name,
                    c->r->where, ac->errstr);
        ac->data = NULL;
        c->ac = NULL;
        schedule_retry(c);
        return;
    }
    redisEnableKeepAlive(&ac->c);
    if (c->handshake_left == 0) become_ready(c);
}

static void on_disconnect(const redisAsyncContext *cac, int status) {
    (void)status;
    redisAsyncContext *ac = (redisAsyncContext *)(uintptr_t)cac;
    conn *c = ac->data;
    if (!c) return;
    /* Pending commands were already answered with NULL by hiredis; it frees ac after this. */
    ac->data = NULL;
    c->ac = NULL;
    const char *why = ac->errstr[0] ? ac->errstr : "closed";
    if (c->state == C_READY) SH_LOG_W(RD_WHO, "%s connection to %s lost: %s", c->name, c->r->where, why);
    else SH_LOG_D(RD_WHO, "%s connection to %s closed during the handshake: %s", c->name, c->r->where, why);
    schedule_retry(c);
}

/* AUTH and SELECT replies. */
static void on_handshake(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)privdata;
    conn *c = ac->data;
    redisReply *x = reply;
    if (!c || !x) return; /* detached, or the connection died (on_connect/on_disconnect handle it) */
    if (x->type == REDIS_REPLY_ERROR) {
        log_failure(c, SH_LL_ERROR, "%s handshake refused: %s (check the password and db; retrying)", c->name,
                    x->str);
        sh_redis *r = c->r;
        hold(r);
        drop(c);
        release(r);
        return;
    }
    if (--c->handshake_left == 0 && (ac->c.flags & REDIS_CONNECTED)) become_ready(c);
}

static void open_ctx(conn *c, const char *addr) {
    sh_redis *r = c->r;
    redisAsyncContext *ac = r->is_unix ? redisAsyncConnectUnix(r->host) : redisAsyncConnect(addr, r->port);
    if (!ac || ac->err) {
        log_failure(c, SH_LL_WARN, "%s connect to %s failed: %s (retrying with back-off)", c->name, r->where,
                    ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    c->ac = ac;
    c->state = C_CONNECTING;
    c->handshake_left = 0;
    /* Queued before anything else, so they precede buffered user commands. */
    if (r->password) {
        const char *argv[2] = {"AUTH", r->password};
        if (redisAsyncCommandArgv(ac, on_handshake, NULL, 2, argv, NULL) != REDIS_OK) goto fail;
        c->handshake_left++;
    }
    if (!c->is_sub && r->db != 0) {
        char num[16];
        snprintf(num, sizeof num, "%d", r->db);
        const char *argv[2] = {"SELECT", num};
        if (redisAsyncCommandArgv(ac, on_handshake, NULL, 2, argv, NULL) != REDIS_OK) goto fail;
        c->handshake_left++;
    }
    return;
fail:
    SH_LOG_E(RD_WHO, "%s: cannot queue the handshake", c->name);
    drop(c); /* nothing user-visible is queued yet: no callbacks run */
}

static void on_resolved(int result, struct evutil_addrinfo *res, void *arg) {
    lookup *lk = arg;
    resolver *rs = lk->rs;
    conn *c = lk->c;
    free(lk);
    rs->outstanding--;
    if (!c) { /* abandoned (cancelled or not): the conn has moved on, or is gone */
        if (res) evutil_freeaddrinfo(res);
        resolver_release(rs); /* nothing of libevent's touches the base after this callback */
        return;
    }
    c->lk = NULL;
    c->dns_req = NULL;
    /* hiredis takes one address: the first IPv4 one, else the first IPv6 one. */
    char ip[INET6_ADDRSTRLEN] = "";
    for (int pass = 0; pass < 2 && !ip[0]; pass++) {
        for (const struct evutil_addrinfo *ai = res; ai && !ip[0]; ai = ai->ai_next) {
            const void *sa = ai->ai_addr;
            if (pass == 0 && ai->ai_family == AF_INET)
                evutil_inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
            else if (pass == 1 && ai->ai_family == AF_INET6)
                evutil_inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
        }
    }
    if (res) evutil_freeaddrinfo(res);
    if (result != 0 || !ip[0]) {
        log_failure(c, SH_LL_WARN, "%s: cannot resolve %s: %s (retrying with back-off)", c->name, c->r->host,
                    result ? evutil_gai_strerror(result) : "no IPv4 or IPv6 address");
        schedule_retry(c);
        return;
    }
    open_ctx(c, ip);
}

static void attempt(conn *c) {
    sh_redis *r = c->r;
    arm(c->timer, CONNECT_TIMEOUT_MS);
    if (!r->rs) {
        open_ctx(c, r->host);
        return;
    }
    lookup *lk = malloc(sizeof *lk);
    if (!lk) {
        schedule_retry(c);
        return;
    }
    lk->rs = r->rs;
    lk->c = c;
    r->rs->outstanding++;
    struct evutil_addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    c->state = C_RESOLVING;
    c->lk = lk;
    c->dns_req = NULL;
    /* May call back before returning (hosts file, failure); it then returns NULL. */
    struct evdns_getaddrinfo_request *req =
        evdns_getaddrinfo(r->rs->dns, r->host, NULL, &hints, on_resolved, lk);
    if (c->state == C_RESOLVING) c->dns_req = req; /* still in flight */
}

static void on_timer(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn *c = arg;
    sh_redis *r = c->r;
    if (c->state == C_IDLE) {
        attempt(c);
    } else if (c->state == C_RESOLVING || c->state == C_CONNECTING) {
        log_failure(c, SH_LL_WARN, "%s connect to %s timed out after %d ms (retrying with back-off)", c->name,
                    r->where, CONNECT_TIMEOUT_MS);
        hold(r);
        drop(c); /* may answer buffered commands with NULL */
        release(r);
    } else if (c->state == C_READY && c->resub_pending) {
        if (resubscribe_all(c) == 0) c->resub_pending = 0;
        else arm(c->timer, BACKOFF_MAX_MS);
    }
}

/* ---- pub/sub --------------------------------------------------------------------------------- */

static channel *find_channel(sh_redis *r, const char *name, size_t len, size_t *idx) {
    for (size_t i = 0; i < r->nchans; i++) {
        if (strlen(r->chans[i].name) == len && memcmp(r->chans[i].name, name, len) == 0) {
            if (idx) *idx = i;
            return &r->chans[i];
        }
    }
    return NULL;
}

/* Every reply on the subscriber: subscribe confirmations and messages (NULL when it dies). */
static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)privdata;
    conn *c = ac->data;
    const redisReply *x = reply;
    if (!c || !x) return;
    if (x->type != REDIS_REPLY_ARRAY || x->elements != 3) return;
    const redisReply *kind = x->element[0], *chan = x->element[1], *data = x->element[2];
    if (kind->type != REDIS_REPLY_STRING || kind->len != 7 || memcmp(kind->str, "message", 7) != 0) return;
    if (chan->type != REDIS_REPLY_STRING || data->type != REDIS_REPLY_STRING) return;
    sh_redis *r = c->r;
    r->st.messages++;
    size_t ci;
    if (!find_channel(r, chan->str, chan->len, &ci)) return;
    hold(r);
    /* By index: a callback may subscribe more (realloc). Stop if one of them frees r. */
    for (size_t i = 0; !r->closing && i < r->chans[ci].nsubs; i++) {
        sub_entry e = r->chans[ci].subs[i];
        e.cb(r->chans[ci].name, data->str, data->len, e.ud);
    }
    release(r);
}

int sh_redis_subscribe(sh_redis *r, const char *channel_name, sh_redis_msg_cb cb, void *ud) {
    if (!r || !channel_name || !*channel_name || !cb) return SH_ERR_INVALID;
    if (r->closing) return SH_ERR_STATE;
    channel *ch = find_channel(r, channel_name, strlen(channel_name), NULL);
    if (ch) { /* known channel: Redis already has (or will get) its SUBSCRIBE */
        if (ch->nsubs == ch->cap) {
            size_t ncap = ch->cap * 2;
            sub_entry *n = realloc(ch->subs, ncap * sizeof *n);
            if (!n) return SH_ERR_NOMEM;
            ch->subs = n;
            ch->cap = ncap;
        }
        ch->subs[ch->nsubs++] = (sub_entry){cb, ud};
        return SH_OK;
    }
    /* A new channel: everything allocated before it is added, so NOMEM leaves no trace. */
    if (r->nchans == r->capchans) {
        size_t ncap = r->capchans ? r->capchans * 2 : 8;
        channel *n = realloc(r->chans, ncap * sizeof *n);
        if (!n) return SH_ERR_NOMEM;
        r->chans = n;
        r->capchans = ncap;
    }
    char *name = dup_str(channel_name);
    sub_entry *subs = malloc(4 * sizeof *subs);
    if (!name || !subs) {
        free(name);
        free(subs);
        return SH_ERR_NOMEM;
    }
    subs[0] = (sub_entry){cb, ud};
    r->chans[r->nchans++] = (channel){.name = name, .subs = subs, .nsubs = 1, .cap = 4};
    if (r->sub.state == C_READY) { /* otherwise the next READY subscribes everything */
        const char *argv[2] = {"SUBSCRIBE", channel_name};
        if (redisAsyncCommandArgv(r->sub.ac, on_sub_reply, NULL, 2, argv, NULL) != REDIS_OK) {
            /* The context is dying (then the reconnect covers it) or out of memory: retry. */
            r->sub.resub_pending = 1;
            arm(r->sub.timer, BACKOFF_MIN_MS);
        }
    }
    return SH_OK;
}

/* ---- commands -------------------------------------------------------------------------------- */

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    pending *p = privdata;
    const redisReply *x = reply;
    sh_redis_cb cb = p->cb;
    void *ud = p->ud;
    if (p->r) {
        list_unlink(p);
        if (!x || x->type == REDIS_REPLY_ERROR) p->r->st.errors++;
    }
    free(p);
    /* Nothing below touches the sh_redis: the callback may free it. */
    if (cb) cb((const sh_redis_reply *)(const void *)x, ud);
}

static int can_send(const conn *c) {
    if (!c->ac) return 0;
    if (c->state == C_READY) return 1;
    /* First attempt ever: let hiredis buffer (bounded by the connect timeout). */
    return c->state == C_CONNECTING && !c->was_ready && !c->failed;
}

int sh_redis_command(sh_redis *r, sh_redis_cb cb, void *ud, int argc, const char *const *argv,
                     const size_t *argvlen) {
    if (!r) return SH_ERR_INVALID;
    pending *p = calloc(1, sizeof *p);
    if (!p) return SH_ERR_NOMEM; /* the one case where cb is not called */
    p->prev = p->next = p;
    p->cb = cb;
    p->ud = ud;
    int st = SH_OK;
    if (r->closing) st = SH_ERR_STATE;
    else if (argc <= 0 || !argv) st = SH_ERR_INVALID;
    else {
        for (int i = 0; i < argc; i++)
            if (!argv[i]) st = SH_ERR_INVALID;
    }
    if (st == SH_OK && !can_send(&r->cmd)) st = SH_ERR_UNAVAILABLE;
    if (st == SH_OK) {
        p->r = r;
        list_push(&r->inflight, p);
        /* hiredis takes `const char **`; it does not write through it. */
        const char **hargv = (const char **)(uintptr_t)argv;
        if (redisAsyncCommandArgv(r->cmd.ac, on_reply, p, argc, hargv, argvlen) == REDIS_OK) {
            r->st.commands++;
            return SH_OK;
        }
        list_unlink(p);
        st = SH_ERR_UNAVAILABLE; /* context dying (or out of memory formatting) */
    }
    r->st.errors++;
    fail_later(r, p);
    return st;
}

int sh_redis_publish(sh_redis *r, const char *channel_name, const void *data, size_t len) {
    if (!r || !channel_name || (!data && len)) return SH_ERR_INVALID;
    const char *argv[3] = {"PUBLISH", channel_name, data ? (const char *)data : ""};
    size_t lens[3] = {7, strlen(channel_name), len};
    return sh_redis_command(r, NULL, NULL, 3, argv, lens);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int is_ip_literal(const char *s) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int conn_init(sh_redis *r, conn *c, int is_sub) {
    c->r = r;
    c->is_sub = is_sub;
    c->name = is_sub ? "subscriber" : "command";
    c->backoff_ms = BACKOFF_MIN_MS;
    c->timer = evtimer_new(r->base, on_timer, c);
    return c->timer ? 0 : -1;
}

sh_redis *sh_redis_new(struct event_base *base, const sh_redis_config *cfg) {
    if (!base || !cfg || !cfg->host || !*cfg->host || cfg->db < 0) return NULL;
    int is_unix = cfg->host[0] == '/';
    if (!is_unix && (cfg->port <= 0 || cfg->port > 65535)) return NULL;
    sh_redis *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->base = base;
    r->port = cfg->port;
    r->db = cfg->db;
    r->is_unix = is_unix;
    list_init(&r->inflight);
    list_init(&r->failq);
    if (!(r->host = dup_str(cfg->host))) goto fail;
    size_t wlen = strlen(cfg->host) + 16;
    if (!(r->where = malloc(wlen))) goto fail;
    if (is_unix) snprintf(r->where, wlen, "%s", cfg->host);
    else snprintf(r->where, wlen, "%s:%d", cfg->host, cfg->port);
    if (cfg->password && !(r->password = dup_str(cfg->password))) goto fail;
    if (!(r->fail_ev = evtimer_new(base, on_fail_ev, r))) goto fail;
    if (conn_init(r, &r->cmd, 0) != 0 || conn_init(r, &r->sub, 1) != 0) goto fail;
    if (!is_unix && !is_ip_literal(r->host)) {
        /* Reads /etc/resolv.conf once, here; lookups are then asynchronous. */
        if (!(r->rs = calloc(1, sizeof *r->rs))) goto fail;
        r->rs->dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
        if (!r->rs->dns) {
            SH_LOG_E(RD_WHO, "cannot set up the asynchronous resolver for %s", r->host);
            free(r->rs);
            r->rs = NULL;
            goto fail;
        }
    }
    attempt(&r->cmd);
    attempt(&r->sub);
    return r;
fail:
    r->closing = 1;
    destroy(r);
    return NULL;
}

static void conn_detach(conn *c, redisAsyncContext **acp) {
    abandon_lookup(c);
    *acp = c->ac;
    c->ac = NULL;
    c->state = C_IDLE;
    if (*acp) (*acp)->data = NULL;
    if (c->timer) evtimer_del(c->timer);
}

void sh_redis_free(sh_redis *r) {
    if (!r || r->closing) return;
    r->closing = 1;
    hold(r);
    redisAsyncContext *a1, *a2;
    conn_detach(&r->cmd, &a1);
    conn_detach(&r->sub, &a2);
    if (r->fail_ev) evtimer_del(r->fail_ev);
    /* Answers their commands with NULL now, unless we are inside one of their callbacks (then
     * hiredis frees later and drain() answers them here; the late trampolines only free). */
    if (a1) redisAsyncFree(a1);
    if (a2) redisAsyncFree(a2);
    drain(r);
    release(r);
}

static void destroy(sh_redis *r) {
    drain(r); /* anything queued by callbacks while closing */
    if (r->cmd.timer) event_free(r->cmd.timer);
    if (r->sub.timer) event_free(r->sub.timer);
    if (r->fail_ev) event_free(r->fail_ev);
    if (r->rs) { /* freed now, or by the last outstanding lookup's callback */
        r->rs->orphaned = 1;
        resolver_release(r->rs);
    }
    for (size_t i = 0; i < r->nchans; i++) {
        free(r->chans[i].name);
        free(r->chans[i].subs);
    }
    free(r->chans);
    free(r->host);
    free(r->where);
    if (r->password) {
        volatile char *pw = r->password;
        while (*pw) *pw++ = 0;
        free(r->password);
    }
    free(r);
}

int sh_redis_connected(const sh_redis *r) { return r && !r->closing && r->cmd.state == C_READY; }

void sh_redis_stats_get(const sh_redis *r, sh_redis_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!r) return;
    *out = r->st;
    out->connected = r->cmd.state == C_READY;
    out->subscriber_connected = r->sub.state == C_READY;
}

/* ---- reply accessors (NULL-safe) ------------------------------------------------------------- */

static const redisReply *rep(const sh_redis_reply *r) { return r ? &r->rep : NULL; }

int sh_redis_reply_type(const sh_redis_reply *r) {
    const redisReply *x = rep(r);
    if (!x) return 0;
    switch (x->type) {
    case REDIS_REPLY_STRING: return SH_REDIS_STRING;
    case REDIS_REPLY_ARRAY: return SH_REDIS_ARRAY;
    case REDIS_REPLY_INTEGER: return SH_REDIS_INTEGER;
    case REDIS_REPLY_NIL: return SH_REDIS_NIL;
    case REDIS_REPLY_STATUS: return SH_REDIS_STATUS;
    case REDIS_REPLY_ERROR: return SH_REDIS_ERROR;
    default: return 0;
    }
}

long long sh_redis_reply_int(const sh_redis_reply *r) {
    const redisReply *x = rep(r);
    return x && x->type == REDIS_REPLY_INTEGER ? x->integer : 0;
}

const char *sh_redis_reply_str(const sh_redis_reply *r, size_t *len) {
    const redisReply *x = rep(r);
    if (x && (x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS ||
              x->type == REDIS_REPLY_ERROR)) {
        if (len) *len = x->len;
        return x->str;
    }
    if (len) *len = 0;
    return NULL;
}

size_t sh_redis_reply_count(const sh_redis_reply *r) {
    const redisReply *x = rep(r);
    return x && x->type == REDIS_REPLY_ARRAY ? x->elements : 0;
}

const sh_redis_reply *sh_redis_reply_elem(const sh_redis_reply *r, size_t i) {
    const redisReply *x = rep(r);
    if (!x || x->type != REDIS_REPLY_ARRAY || i >= x->elements) return NULL;
    return (const sh_redis_reply *)(const void *)x->element[i];
}
