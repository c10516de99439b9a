/*
 * ratelimit.c - the core's rate limiter (see ratelimit.h): fixed windows, at most `limit` hits per
 * `window_ms` per key.
 *
 * Redis mode (an sh_redis was given and it is connected): one EVALSHA per hit of SCRIPT below,
 * which INCRs `prefix..key`, sets PEXPIRE(window) on the first hit of a window and returns
 * {count, pttl}. The hit is allowed when count <= limit; otherwise retry_after = pttl. All nodes
 * sharing the Redis share the buckets. NOSCRIPT (e.g. after a Redis restart or SCRIPT FLUSH) is
 * answered by one EVAL of the full script, which also loads it again. Any other failure (no reply:
 * Redis went down; an error reply) falls back to the local table for that hit: fail open per node,
 * never closed. The callback then runs on a later loop turn (the Redis reply).
 *
 * Local mode (no Redis, or Redis down): a hash table key -> {window start, window, count} with
 * SipHash-2-4 under a per-instance random key (keys are often client-controlled: no flooding).
 * Windows are fixed: the first hit after a window ended starts a new one. A repeating timer
 * (SWEEP_MS) frees the entries whose window ended. The table holds at most `max_entries`
 * (RL_MAX_ENTRIES) keys. When it is full, a sweep runs first (only when some window may have ended
 * since the last one: `earliest_end` is a lower bound of every entry's end); if it is still full,
 * the new key is NOT tracked and the hit is allowed (fail open; counted in `untracked` and logged
 * once per sweep period). Keys already in the table stay limited. The callback runs before
 * sh_ratelimit_hit returns.
 *
 * Life cycle: free the limiter before the sh_redis it uses. sh_ratelimit_free answers every hit
 * still waiting for Redis with allowed (fail open) before it returns; their records are freed when
 * Redis answers (or when the sh_redis is freed, which answers everything with NULL).
 *
 * Thread: loop only. No globals.
 */
#include "core/ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/log.h"

#define RL_MAX_ENTRIES 65536
#define RL_MIN_BUCKETS 64
#define SWEEP_MS 5000
#define WINDOW_MAX_MS (1ull << 40) /* ~35 years: keeps start + window far from overflow */
#define RL_WHO "ratelimit"

/* KEYS[1] = bucket, ARGV[1] = window in ms. RL_SCRIPT_SHA is its SHA1 (checked by the tests). */
#define RL_SCRIPT                                                                                 \
    "local n = redis.call('INCR', KEYS[1])\n"                                                     \
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"                                \
    "local t = redis.call('PTTL', KEYS[1])\n"                                                     \
    "if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end\n"           \
    "return {n, t}\n"
#define RL_SCRIPT_SHA "0b237291d74c8bdc2c1c76ea15fadc6033441a47"

typedef struct entry entry;
struct entry {
    entry *next;
    uint64_t hash;
    uint64_t start_ms, window_ms;
    uint64_t count;
    size_t klen;
    char key[]; /* klen bytes + NUL */
};

typedef struct hlink { /* list links, first in `hit` (the list head is a bare hlink) */
    struct hlink *prev, *next;
} hlink;

typedef struct hit hit; /* one hit waiting for Redis */
struct hit {
    hlink link; /* first member: an hlink * of a hit converts back to the hit */
    sh_ratelimit *rl; /* NULL once the limiter was freed (the hit was answered then) */
    sh_rate_cb cb;
    void *ud;
    int limit;
    int tried_eval;
    uint64_t window_ms;
    size_t klen, plen; /* full key = prefix (plen bytes) + user key */
    char key[];
};

struct sh_ratelimit {
    struct event_base *base;
    sh_redis *redis; /* borrowed, may be NULL */
    char *prefix;
    size_t plen;
    entry **buckets;
    size_t nbuckets, nentries, max_entries;
    uint64_t earliest_end; /* no entry's window ends before this (a lower bound) */
    uint64_t k0, k1;       /* SipHash key */
    struct event *sweep_ev;
    hlink inflight; /* sentinel of the hits waiting for Redis */
    unsigned long long untracked;
    int closing;
    int warned_full; /* logged "table full" since the last sweep */
};

/* ---- SipHash-2-4 ----------------------------------------------------------------------------- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                                  \
    do {                                                                                          \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);                                \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                                   \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                                   \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);                                \
    } while (0)

static uint64_t siphash24(const void *data, size_t len, uint64_t k0, uint64_t k1) {
    const unsigned char *in = data;
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = 0;
        for (int j = 0; j < 8; j++) m |= (uint64_t)in[i + j] << (8 * j);
        v3 ^= m;
        SIPROUND;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    for (size_t j = 0; j < (len & 7); j++) b |= (uint64_t)in[full + j] << (8 * j);
    v3 ^= b;
    SIPROUND;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- local table ----------------------------------------------------------------------------- */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static size_t max_buckets(const sh_ratelimit *rl) {
    size_t n = RL_MIN_BUCKETS;
    while (n < rl->max_entries && n < ((size_t)1 << 30)) n <<= 1;
    return n;
}

static void grow(sh_ratelimit *rl) {
    size_t nb = rl->nbuckets * 2;
    entry **b = calloc(nb, sizeof *b);
    if (!b) return; /* keep the longer chains */
    for (size_t i = 0; i < rl->nbuckets; i++) {
        entry *e = rl->buckets[i];
        while (e) {
            entry *next = e->next;
            size_t j = (size_t)(e->hash & (nb - 1));
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(rl->buckets);
    rl->buckets = b;
    rl->nbuckets = nb;
}

/* Free every entry whose window has ended; recompute earliest_end. */
static void sweep(sh_ratelimit *rl, uint64_t now) {
    uint64_t earliest = UINT64_MAX;
    for (size_t i = 0; i < rl->nbuckets; i++) {
        entry **pp = &rl->buckets[i];
        while (*pp) {
            entry *e = *pp;
            uint64_t end = e->start_ms + e->window_ms;
            if (now >= end) {
                *pp = e->next;
                free(e);
                rl->nentries--;
            } else {
                if (end < earliest) earliest = end;
                pp = &e->next;
            }
        }
    }
    rl->earliest_end = earliest;
    rl->warned_full = 0;
}

static void on_sweep(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_ratelimit *rl = arg;
    sweep(rl, now_ms());
}

/* Count one hit for key in the local table and answer. */
static void local_hit(sh_ratelimit *rl, const char *key, size_t klen, int limit, uint64_t window_ms,
                      sh_rate_cb cb, void *ud) {
    uint64_t now = now_ms();
    uint64_t h = siphash24(key, klen, rl->k0, rl->k1);
    entry *e = rl->buckets[h & (rl->nbuckets - 1)];
    while (e && !(e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)) e = e->next;
    if (e && now >= e->start_ms + e->window_ms) { /* that window is over: a new one starts */
        e->start_ms = now;
        e->window_ms = window_ms;
        e->count = 0;
        if (now + window_ms < rl->earliest_end) rl->earliest_end = now + window_ms;
    }
    if (!e) {
        if (rl->nentries >= rl->max_entries && now >= rl->earliest_end) sweep(rl, now);
        if (rl->nentries >= rl->max_entries || !(e = malloc(sizeof *e + klen + 1))) {
            /* Full (or out of memory): do not track this key, let the hit through. */
            rl->untracked++;
            if (!rl->warned_full) {
                rl->warned_full = 1;
                SH_LOG_W(RL_WHO, "local table full (%zu keys): new keys are not limited until windows end",
                         rl->nentries);
            }
            if (cb) cb(1, 0, ud);
            return;
        }
        e->hash = h;
        e->klen = klen;
        memcpy(e->key, key, klen);
        e->key[klen] = '\0';
        e->start_ms = now;
        e->window_ms = window_ms;
        e->count = 0;
        size_t i = (size_t)(h & (rl->nbuckets - 1));
        e->next = rl->buckets[i];
        rl->buckets[i] = e;
        rl->nentries++;
        if (now + window_ms < rl->earliest_end) rl->earliest_end = now + window_ms;
        if (rl->nentries > rl->nbuckets && rl->nbuckets < max_buckets(rl)) grow(rl);
    }
    if (e->count < UINT64_MAX) e->count++;
    int allowed = limit >= 0 && e->count <= (uint64_t)limit;
    uint64_t retry = allowed ? 0 : e->start_ms + e->window_ms - now;
    if (cb) cb(allowed, retry, ud);
}

/* ---- Redis mode ------------------------------------------------------------------------------ */

static int send_script(hit *h, int full_script);

static void hit_unlink(hit *h) {
    hlink *l = &h->link;
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

static void on_script_reply(const sh_redis_reply *reply, void *ud) {
    hit *h = ud;
    sh_ratelimit *rl = h->rl;
    if (!rl) { /* the limiter is gone; the hit was answered then */
        free(h);
        return;
    }
    if (sh_redis_reply_type(reply) == SH_REDIS_ERROR && !h->tried_eval) {
        size_t len;
        const char *msg = sh_redis_reply_str(reply, &len);
        if (len >= 8 && memcmp(msg, "NOSCRIPT", 8) == 0) {
            h->tried_eval = 1;
            /* On failure its callback (this function) runs later with NULL, except on NOMEM. */
            if (send_script(h, 1) != SH_ERR_NOMEM) return;
        }
    }
    hit_unlink(h);
    sh_rate_cb cb = h->cb;
    void *cb_ud = h->ud;
    const sh_redis_reply *n = sh_redis_reply_elem(reply, 0), *t = sh_redis_reply_elem(reply, 1);
    if (sh_redis_reply_count(reply) == 2 && sh_redis_reply_type(n) == SH_REDIS_INTEGER &&
        sh_redis_reply_type(t) == SH_REDIS_INTEGER) {
        long long count = sh_redis_reply_int(n), pttl = sh_redis_reply_int(t);
        int limit = h->limit;
        free(h);
        int allowed = count <= limit;
        if (cb) cb(allowed, allowed ? 0 : (pttl > 0 ? (uint64_t)pttl : 1), cb_ud);
        return;
    }
    if (reply) {
        size_t len;
        const char *msg = sh_redis_reply_str(reply, &len);
        SH_LOG_W(RL_WHO, "unexpected reply from Redis (%.*s); counting locally", (int)(len > 200 ? 200 : len),
                 msg ? msg : "not {count, pttl}");
    }
    local_hit(rl, h->key + h->plen, h->klen - h->plen, h->limit, h->window_ms, cb, cb_ud);
    free(h);
}

static int send_script(hit *h, int full_script) {
    char win[24];
    snprintf(win, sizeof win, "%llu", (unsigned long long)h->window_ms);
    const char *argv[5] = {full_script ? "EVAL" : "EVALSHA", full_script ? RL_SCRIPT : RL_SCRIPT_SHA, "1",
                           h->key, win};
    size_t lens[5] = {strlen(argv[0]), strlen(argv[1]), 1, h->klen, strlen(win)};
    return sh_redis_command(h->rl->redis, on_script_reply, h, 5, argv, lens);
}

void sh_ratelimit_hit(sh_ratelimit *rl, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb,
                      void *ud) {
    if (!rl || !key || rl->closing) {
        if (cb) cb(1, 0, ud); /* a programming error (or a hit from a callback run by free) */
        return;
    }
    if (window_ms == 0) window_ms = 1;
    if (window_ms > WINDOW_MAX_MS) window_ms = WINDOW_MAX_MS;
    size_t klen = strlen(key);
    if (rl->redis && sh_redis_connected(rl->redis)) {
        hit *h = malloc(sizeof *h + rl->plen + klen + 1);
        if (h) {
            h->rl = rl;
            h->cb = cb;
            h->ud = ud;
            h->limit = limit;
            h->tried_eval = 0;
            h->window_ms = window_ms;
            h->plen = rl->plen;
            h->klen = rl->plen + klen;
            memcpy(h->key, rl->prefix, rl->plen);
            memcpy(h->key + rl->plen, key, klen + 1);
            h->link.next = &rl->inflight;
            h->link.prev = rl->inflight.prev;
            rl->inflight.prev->next = &h->link;
            rl->inflight.prev = &h->link;
            /* The callback runs later either way (NULL reply -> local). Not SH_ERR_NOMEM here:
             * sh_redis_command only skips the callback when it cannot allocate its record. */
            if (send_script(h, 0) != SH_ERR_NOMEM) return;
            hit_unlink(h);
            free(h);
        }
    }
    local_hit(rl, key, klen, limit, window_ms, cb, ud);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

sh_ratelimit *sh_ratelimit_new(struct event_base *base, sh_redis *redis, const char *prefix) {
    if (!base) return NULL;
    if (!prefix) prefix = "";
    sh_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->base = base;
    rl->redis = redis;
    rl->plen = strlen(prefix);
    rl->max_entries = RL_MAX_ENTRIES;
    rl->earliest_end = UINT64_MAX;
    rl->inflight.prev = rl->inflight.next = &rl->inflight;
    if (!(rl->prefix = malloc(rl->plen + 1))) goto fail;
    memcpy(rl->prefix, prefix, rl->plen + 1);
    rl->nbuckets = RL_MIN_BUCKETS;
    if (!(rl->buckets = calloc(rl->nbuckets, sizeof *rl->buckets))) goto fail;
    uint64_t k[2];
    if (getrandom(k, sizeof k, GRND_NONBLOCK) != (ssize_t)sizeof k) {
        /* No entropy yet (early boot): still per-process and unpredictable enough for a hash. */
        k[0] = now_ms() ^ (uint64_t)(uintptr_t)rl;
        k[1] = (uint64_t)clock() ^ ((uint64_t)(uintptr_t)&k << 17);
    }
    rl->k0 = k[0];
    rl->k1 = k[1];
    if (!(rl->sweep_ev = event_new(base, -1, EV_PERSIST, on_sweep, rl))) goto fail;
    struct timeval tv = {SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000};
    if (event_add(rl->sweep_ev, &tv) != 0) goto fail;
    return rl;
fail:
    sh_ratelimit_free(rl);
    return NULL;
}

void sh_ratelimit_free(sh_ratelimit *rl) {
    if (!rl || rl->closing) return;
    rl->closing = 1;
    /* Answer the hits still waiting for Redis (fail open); Redis frees their records later. */
    while (rl->inflight.next != &rl->inflight) {
        hit *h = (hit *)(void *)rl->inflight.next;
        hit_unlink(h);
        h->rl = NULL;
        sh_rate_cb cb = h->cb;
        h->cb = NULL;
        if (cb) cb(1, 0, h->ud);
    }
    if (rl->sweep_ev) event_free(rl->sweep_ev);
    if (rl->buckets) {
        for (size_t i = 0; i < rl->nbuckets; i++) {
            entry *e = rl->buckets[i];
            while (e) {
                entry *next = e->next;
                free(e);
                e = next;
            }
        }
        free(rl->buckets);
    }
    free(rl->prefix);
    free(rl);
}
