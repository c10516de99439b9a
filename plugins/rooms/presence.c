/*
 * presence.c - who watches which room, and how many they are, on one node or across many.
 *
 * Local: each pres_room keeps this node's members (a signed-in user "u:<id>" once however many
 * of its sockets watch; an anonymous socket "s:<socket id>"), with the number of local sockets
 * behind each member.
 *
 * Redis (when configured), per room:
 *   <prefix>p:<roomId>            sorted set of members scored by last-seen wall-clock ms
 *   <prefix>p:<roomId>|u:<userId> sorted set of the nodes where that user watches, same scores
 * A node adds a member when its first local socket of that member joins and removes it when the
 * last one leaves, unless the user still watches on another node (the per-user set says so). Every
 * presence_refresh_ms each node re-scores its members; members (and user nodes) not re-scored for
 * presence_ttl_ms are removed by whichever script runs next, so a crashed node's viewers age out.
 * Every change runs as one Lua script (atomic), which answers the count (ZCARD after expiry).
 * Without Redis the count is the number of local members.
 *
 * Counts are written to rooms.viewer_count (and raise streams.peak_viewers of the open stream)
 * by the flush timer, batched, only when they changed. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

#define REFRESH_CHUNK 256 /* members per refresh script */
#define FLUSH_MAX     500 /* rooms per flush statement */

static const char JOIN_LUA[] = "local cut = '(' .. ARGV[3]\n"
                               "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cut)\n"
                               "if ARGV[6] == '1' then\n"
                               "  local nk = KEYS[1] .. '|' .. ARGV[1]\n"
                               "  redis.call('ZADD', nk, ARGV[2], ARGV[4])\n"
                               "  redis.call('PEXPIRE', nk, ARGV[5])\n"
                               "end\n"
                               "local added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])\n"
                               "redis.call('PEXPIRE', KEYS[1], ARGV[5])\n"
                               "return {redis.call('ZCARD', KEYS[1]), added}\n";

static const char LEAVE_LUA[] = "local cut = '(' .. ARGV[3]\n"
                                "local gone = 1\n"
                                "if ARGV[6] == '1' then\n"
                                "  local nk = KEYS[1] .. '|' .. ARGV[1]\n"
                                "  redis.call('ZREM', nk, ARGV[4])\n"
                                "  redis.call('ZREMRANGEBYSCORE', nk, '-inf', cut)\n"
                                "  if redis.call('ZCARD', nk) > 0 then gone = 0 end\n"
                                "end\n"
                                "if gone == 1 then redis.call('ZREM', KEYS[1], ARGV[1]) end\n"
                                "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cut)\n"
                                "return {redis.call('ZCARD', KEYS[1]), gone}\n";

static const char REFRESH_LUA[] = "for i = 5, #ARGV do\n"
                                  "  local m = ARGV[i]\n"
                                  "  redis.call('ZADD', KEYS[1], ARGV[1], m)\n"
                                  "  if string.sub(m, 1, 2) == 'u:' then\n"
                                  "    local nk = KEYS[1] .. '|' .. m\n"
                                  "    redis.call('ZADD', nk, ARGV[1], ARGV[3])\n"
                                  "    redis.call('PEXPIRE', nk, ARGV[4])\n"
                                  "  end\n"
                                  "end\n"
                                  "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])\n"
                                  "if #ARGV >= 5 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end\n"
                                  "return redis.call('ZCARD', KEYS[1])\n";

static void room_key(const rooms_state *st, const char *room_id, char *out, size_t outlen) {
    snprintf(out, outlen, "%sp:%s", st->prefix, room_id);
}

/* ---- room records ---------------------------------------------------------------------------- */

pres_room *pres_get(rooms_state *st, const char *id, int create) {
    smap_slot *s = smap_find(&st->rooms, id);
    if (s) return s->val;
    if (!create || !rooms_id_valid(id)) return NULL;
    pres_room *pr = calloc(1, sizeof *pr);
    if (!pr) return NULL;
    snprintf(pr->id, sizeof pr->id, "%s", id);
    smap_init(&pr->members);
    pr->count = 0;
    pr->written = -1;
    pr->flushing = -1;
    int created;
    s = smap_upsert(&st->rooms, id, &created);
    if (!s) {
        free(pr);
        return NULL;
    }
    s->val = pr;
    return pr;
}

void pres_maybe_free(rooms_state *st, pres_room *pr) {
    if (!pr || pr->refs > 0 || pr->members.n > 0 || pr->live > 0 || pr->flushing != -1) return;
    if (pr->counted && pr->written != pr->count && !(pr->written == -1 && pr->count == 0))
        return; /* a change not written yet */
    smap_del(&st->rooms, pr->id);
    smap_free(&pr->members);
    free(pr);
}

void pres_free_all(rooms_state *st) {
    size_t pos = 0;
    for (smap_slot *s; (s = smap_next(&st->rooms, &pos));) {
        pres_room *pr = s->val;
        smap_free(&pr->members);
        free(pr);
    }
    smap_free(&st->rooms);
}

/* ---- join / leave ---------------------------------------------------------------------------- */

typedef struct pres_op {
    rooms_state *st;
    pres_room *pr;
    pres_cb cb;
    void *ud;
    int add;
} pres_op;

static void on_script(const sh_redis_reply *r, void *ud) {
    pres_op *op = ud;
    if (!rooms_live()) {
        op->cb(NULL, NULL, -1, 0, op->ud); /* lets the caller free its context */
        free(op);
        return;
    }
    rooms_state *st = op->st;
    const sh_host_api *h = st->h;
    pres_room *pr = op->pr;
    int64_t count;
    int changed;
    if (r && h->redis_reply_type(r) == SH_REDIS_ARRAY && h->redis_reply_count(r) == 2 &&
        h->redis_reply_type(h->redis_reply_elem(r, 0)) == SH_REDIS_INTEGER) {
        count = h->redis_reply_int(h->redis_reply_elem(r, 0));
        changed = h->redis_reply_int(h->redis_reply_elem(r, 1)) != 0;
    } else {
        rooms_redis_warn(st, op->add ? "join" : "leave");
        count = (int64_t)pr->members.n;
        changed = 1;
    }
    pr->count = count;
    pr->counted = 1;
    pr->refs--;
    op->cb(st, pr, count, changed, op->ud);
    pres_maybe_free(st, pr);
    free(op);
}

static int run_script(rooms_state *st, pres_room *pr, const char *member, int add, pres_cb cb, void *ud) {
    const sh_host_api *h = st->h;
    char key[160], now[24], cut[24], pexp[24];
    room_key(st, pr->id, key, sizeof key);
    uint64_t wall = h->wall_ms(st->self);
    snprintf(now, sizeof now, "%" PRIu64, wall);
    snprintf(cut, sizeof cut, "%" PRIu64, wall - (uint64_t)st->ttl_ms);
    snprintf(pexp, sizeof pexp, "%" PRId64, st->ttl_ms * 2);
    pres_op *op = calloc(1, sizeof *op);
    if (!op) return -1;
    *op = (pres_op){st, pr, cb, ud, add};
    const char *argv[] = {"EVAL", add ? JOIN_LUA : LEAVE_LUA,  "1", key, member, now, cut, h->node_id(st->self),
                          pexp,   member[0] == 'u' ? "1" : "0"};
    pr->refs++;
    if (h->redis_command(st->self, on_script, op, (int)(sizeof argv / sizeof *argv), argv, NULL) == SH_ERR_NOMEM) {
        pr->refs--;
        free(op);
        return -1;
    }
    return 0;
}

void pres_add(rooms_state *st, pres_room *pr, const char *member, pres_cb cb, void *ud) {
    int created;
    smap_slot *s = smap_upsert(&pr->members, member, &created);
    if (!s) {
        cb(st, pr, pr->count, 0, ud);
        pres_maybe_free(st, pr);
        return;
    }
    uintptr_t n = (uintptr_t)s->val + 1;
    s->val = (void *)n;
    st->h->metric_add(st->m_viewers, 1);
    if (n == 1 && st->h->redis_enabled(st->self) && run_script(st, pr, member, 1, cb, ud) == 0) return;
    /* another local tab of a member (or no Redis): every local member counts, so the count is at
     * least their number (the first tab's script may still be on its way) */
    if (n == 1 || !st->h->redis_enabled(st->self) || pr->count < (int64_t)pr->members.n)
        pr->count = (int64_t)pr->members.n;
    pr->counted = 1;
    cb(st, pr, pr->count, n == 1, ud);
}

void pres_remove(rooms_state *st, pres_room *pr, const char *member, pres_cb cb, void *ud) {
    smap_slot *s = smap_find(&pr->members, member);
    if (!s) {
        cb(st, pr, pr->count, 0, ud);
        pres_maybe_free(st, pr);
        return;
    }
    uintptr_t n = (uintptr_t)s->val - 1;
    st->h->metric_add(st->m_viewers, -1);
    if (n > 0) {
        s->val = (void *)n;
        cb(st, pr, pr->count, 0, ud);
        return;
    }
    smap_del(&pr->members, member);
    if (st->h->redis_enabled(st->self) && run_script(st, pr, member, 0, cb, ud) == 0) return;
    pr->count = (int64_t)pr->members.n;
    cb(st, pr, pr->count, 1, ud);
    pres_maybe_free(st, pr);
}

/* ---- counting for readers -------------------------------------------------------------------- */

typedef struct count_op {
    pres_count_cb cb;
    void *ud;
} count_op;

static void on_zcount(const sh_redis_reply *r, void *ud) {
    count_op *op = ud;
    int64_t n = -1;
    if (rooms_live() && r && rooms_g->h->redis_reply_type(r) == SH_REDIS_INTEGER)
        n = rooms_g->h->redis_reply_int(r);
    else if (rooms_live())
        rooms_redis_warn(rooms_g, "count");
    op->cb(n, op->ud);
    free(op);
}

void pres_count(rooms_state *st, const char *room_id, pres_count_cb cb, void *ud) {
    if (!st->h->redis_enabled(st->self)) {
        pres_room *pr = pres_get(st, room_id, 0);
        cb(pr ? (int64_t)pr->members.n : 0, ud);
        return;
    }
    count_op *op = calloc(1, sizeof *op);
    if (!op) {
        cb(-1, ud);
        return;
    }
    op->cb = cb;
    op->ud = ud;
    char key[160], cut[24];
    room_key(st, room_id, key, sizeof key);
    snprintf(cut, sizeof cut, "%" PRIu64, st->h->wall_ms(st->self) - (uint64_t)st->ttl_ms);
    const char *argv[] = {"ZCOUNT", key, cut, "+inf"};
    if (st->h->redis_command(st->self, on_zcount, op, 4, argv, NULL) == SH_ERR_NOMEM) {
        free(op);
        cb(-1, ud);
    }
}

/* ---- the refresh tick -------------------------------------------------------------------------- */

typedef struct refresh_op {
    char id[ROOM_ID_MAX + 1];
    int last; /* the room's last chunk: its answer is the count */
} refresh_op;

static void on_refresh(const sh_redis_reply *r, void *ud) {
    refresh_op *op = ud;
    if (rooms_live()) {
        rooms_state *st = rooms_g;
        pres_room *pr = pres_get(st, op->id, 0);
        if (pr) {
            pr->refs--;
            if (op->last && r && st->h->redis_reply_type(r) == SH_REDIS_INTEGER) {
                pr->count = st->h->redis_reply_int(r);
                pr->counted = 1;
            } else if (op->last && !r) {
                rooms_redis_warn(st, "refresh");
            }
            pres_maybe_free(st, pr);
        }
    }
    free(op);
}

/* One refresh script for members[from, to) of the room (none: only expire and count).
 * ARGV[1..4] = now, cutoff, node id, key expiry; ARGV[5..] = members. */
static void refresh_chunk(rooms_state *st, pres_room *pr, const char **members, size_t from, size_t to, int last,
                          const char *key, const char *now, const char *cut, const char *pexp) {
    size_t n = to - from;
    const char **a = calloc(8 + n, sizeof *a);
    refresh_op *op = calloc(1, sizeof *op);
    if (!a || !op) {
        free(a);
        free(op);
        return;
    }
    snprintf(op->id, sizeof op->id, "%s", pr->id);
    op->last = last;
    a[0] = "EVAL";
    a[1] = REFRESH_LUA;
    a[2] = "1";
    a[3] = key;
    a[4] = now;
    a[5] = cut;
    a[6] = st->h->node_id(st->self);
    a[7] = pexp;
    for (size_t i = 0; i < n; i++)
        a[8 + i] = members[from + i];
    pr->refs++;
    if (st->h->redis_command(st->self, on_refresh, op, (int)(8 + n), a, NULL) == SH_ERR_NOMEM) {
        pr->refs--;
        free(op);
    }
    free(a);
}

static void refresh_room(rooms_state *st, pres_room *pr) {
    const sh_host_api *h = st->h;
    if (!h->redis_enabled(st->self)) {
        pr->count = (int64_t)pr->members.n;
        pr->counted = 1;
        return;
    }
    char key[160], now[24], cut[24], pexp[24];
    room_key(st, pr->id, key, sizeof key);
    uint64_t wall = h->wall_ms(st->self);
    snprintf(now, sizeof now, "%" PRIu64, wall);
    snprintf(cut, sizeof cut, "%" PRIu64, wall - (uint64_t)st->ttl_ms);
    snprintf(pexp, sizeof pexp, "%" PRId64, st->ttl_ms * 2);
    size_t n = pr->members.n, k = 0, pos = 0;
    const char **members = n ? calloc(n, sizeof *members) : NULL;
    if (n && !members) return;
    for (smap_slot *s; (s = smap_next(&pr->members, &pos)) && k < n;)
        members[k++] = s->key;
    if (k == 0) {
        refresh_chunk(st, pr, members, 0, 0, 1, key, now, cut, pexp);
    } else {
        for (size_t from = 0; from < k; from += REFRESH_CHUNK) {
            size_t to = from + REFRESH_CHUNK < k ? from + REFRESH_CHUNK : k;
            refresh_chunk(st, pr, members, from, to, to == k, key, now, cut, pexp);
        }
    }
    free(members);
}

void pres_tick(void *ud) {
    rooms_state *st = ud;
    if (!rooms_live()) return;
    /* collect first: refreshing without Redis may free nothing, but GC below deletes */
    size_t n = st->rooms.n, k = 0, pos = 0;
    pres_room **all = n ? calloc(n, sizeof *all) : NULL;
    if (n && !all) return;
    for (smap_slot *s; (s = smap_next(&st->rooms, &pos)) && k < n;)
        all[k++] = s->val;
    for (size_t i = 0; i < k; i++) {
        if (all[i]->members.n > 0 || all[i]->live > 0) refresh_room(st, all[i]);
    }
    for (size_t i = 0; i < k; i++)
        pres_maybe_free(st, all[i]);
    free(all);
    live_heartbeat(st);
}

/* ---- the flush timer ---------------------------------------------------------------------------- */

typedef struct flush_op {
    size_t n;
    char (*ids)[ROOM_ID_MAX + 1];
} flush_op;

static void on_flush(const sh_db_result *res, void *ud) {
    flush_op *op = ud;
    if (rooms_live()) {
        rooms_state *st = rooms_g;
        int ok = st->h->db_status(res) == SH_OK;
        if (!ok && st->h->db_status(res) != SH_ERR_UNAVAILABLE)
            st->h->log(st->self, SH_LOG_WARN, "viewer counts not written (retried): %s", st->h->db_error(res));
        st->flush_busy = 0;
        for (size_t i = 0; i < op->n; i++) {
            pres_room *pr = pres_get(st, op->ids[i], 0);
            if (!pr) continue;
            if (ok) pr->written = pr->flushing;
            pr->flushing = -1;
            pr->refs--;
            pres_maybe_free(st, pr);
        }
    }
    free(op->ids);
    free(op);
}

void pres_flush(void *ud) {
    rooms_state *st = ud;
    if (!rooms_live() || st->flush_busy || !st->rooms.n) return;
    size_t cap = st->rooms.n < FLUSH_MAX ? st->rooms.n : FLUSH_MAX;
    flush_op *op = calloc(1, sizeof *op);
    char *ids = calloc(cap * (ROOM_ID_MAX + 1) + 3, 1), *counts = calloc(cap * 22 + 3, 1);
    if (op) op->ids = calloc(cap, sizeof *op->ids);
    if (!op || !op->ids || !ids || !counts) goto fail;
    size_t pos = 0, il = 0, cl = 0;
    ids[il++] = '{';
    counts[cl++] = '{';
    for (smap_slot *s; (s = smap_next(&st->rooms, &pos)) && op->n < cap;) {
        pres_room *pr = s->val;
        if (!pr->counted || pr->flushing != -1 || pr->written == pr->count) continue;
        if (pr->written == -1 && pr->count == 0 && pr->members.n == 0 && !pr->live) {
            pr->written = 0; /* nothing was ever seen here: nothing to write */
            continue;
        }
        pr->flushing = pr->count;
        pr->refs++;
        snprintf(op->ids[op->n], sizeof op->ids[0], "%s", pr->id);
        il += (size_t)sprintf(ids + il, "%s%s", op->n ? "," : "", pr->id);
        cl += (size_t)sprintf(counts + cl, "%s%" PRId64, op->n ? "," : "", pr->count);
        op->n++;
    }
    if (!op->n) goto fail;
    ids[il++] = '}';
    ids[il] = '\0';
    counts[cl++] = '}';
    counts[cl] = '\0';
    const char *p[2] = {ids, counts};
    sh_db_stmt stmts[3] = {
        {"SELECT 1 FROM rooms WHERE room_id = ANY($1::text[]) AND $2::int[] IS NOT NULL ORDER BY id FOR NO KEY UPDATE",
         2, p},
        {"UPDATE rooms r SET viewer_count = v.c FROM unnest($1::text[], $2::int[]) AS v(id, c) "
         "WHERE r.room_id = v.id AND r.viewer_count <> v.c",
         2, p},
        {"UPDATE streams s SET peak_viewers = v.c FROM unnest($1::text[], $2::int[]) AS v(id, c), rooms r "
         "WHERE r.room_id = v.id AND s.room_pk = r.id AND s.ended_at IS NULL AND s.peak_viewers < v.c",
         2, p},
    };
    st->flush_busy = 1;
    if (st->h->db_tx(st->self, stmts, 3, on_flush, op) == SH_ERR_NOMEM) {
        st->flush_busy = 0;
        for (size_t i = 0; i < op->n; i++) {
            pres_room *pr = pres_get(st, op->ids[i], 0);
            if (pr) {
                pr->flushing = -1;
                pr->refs--;
            }
        }
        goto fail;
    }
    free(ids);
    free(counts);
    return;
fail:
    if (op) free(op->ids);
    free(op);
    free(ids);
    free(counts);
}
