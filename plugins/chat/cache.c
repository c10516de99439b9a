/*
 * cache.c - the chat plugin's per-node caches:
 *
 *   rooms    room id -> croom: owner and modes (rooms->room_info) and moderators (a query),
 *            reloaded after room_cache_ms and dropped at once on room.updated (the rooms plugin,
 *            every node) and chat.moderators (this plugin, every node). A load answers every
 *            message that waited for it; a load overtaken by an invalidation is done again.
 *   bans     "<room>/<user>" -> until (0 = not banned, UINT64_MAX = permanent, else the end of
 *            a timeout, wall-clock ms), for ban_cache_ms; chat.bans (every node) sets entries
 *            directly, so a ban reaches every node at once. A look-up that an update overtook
 *            is repeated (ban_gen), so a stale "not banned" never lands in the cache.
 *   follows  "<user>/<streamer>" -> since ms, positive answers only, for follow_cache_ms.
 *
 * The sweep timer frees expired entries and idle rooms (no waiters, no queued or in-flight
 * messages). Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"

#define CACHE_MAX_ENTRIES 200000 /* per table: beyond it, answers are used without being cached */
#define ROOM_IDLE_MS      60000

typedef struct centry {
    uint64_t value;   /* until (bans) or since (follows) */
    uint64_t fetched; /* monotonic ms */
} centry;

/* ---- rooms ------------------------------------------------------------------------------------- */

croom *croom_get(chat_state *st, const char *room_id, int create) {
    croom *cr = cmap_get(&st->rooms_map, room_id);
    if (!cr && create) {
        cr = calloc(1, sizeof *cr);
        if (!cr) return NULL;
        snprintf(cr->id, sizeof cr->id, "%s", room_id);
        if (cmap_put(&st->rooms_map, cr->id, cr) < 0) {
            free(cr);
            return NULL;
        }
    }
    if (cr) cr->used_ms = st->h->now_ms(st->self);
    return cr;
}

int croom_is_mod(const croom *cr, int64_t user_id) {
    for (size_t i = 0; i < cr->nmods; i++)
        if (cr->mods[i] == user_id) return 1;
    return 0;
}

void croom_invalidate(chat_state *st, const char *room_id) {
    croom *cr = cmap_get(&st->rooms_map, room_id);
    if (!cr) return;
    cr->gen++;
    cr->loaded = 0;
}

typedef struct rload {
    char room[CHAT_ROOM_ID_MAX + 1];
    unsigned gen;
    int attempts;
    int pending; /* answers still to come (room info, moderators) */
    int info_status, mods_status;
    int64_t owner_id;
    int slow, fo, fo_minutes;
    int64_t *mods;
    size_t nmods;
} rload;

static void load_start(chat_state *st, croom *cr, rload *l);

static void load_finish(rload *l) {
    if (!chat_live()) { /* fini answered the waiters */
        free(l->mods);
        free(l);
        return;
    }
    chat_state *st = chat_g;
    croom *cr = croom_get(st, l->room, 0);
    if (!cr) { /* cannot happen: a loading room is never swept */
        free(l->mods);
        free(l);
        return;
    }
    int status = SH_OK;
    if (l->info_status == SH_ERR_NOTFOUND)
        status = SH_ERR_NOTFOUND;
    else if (l->info_status != SH_OK || l->mods_status != SH_OK)
        status = SH_ERR_UNAVAILABLE;
    if (status == SH_OK && l->gen != cr->gen && l->attempts < 3 && chat_db_ok(st)) { /* overtaken by an update: again */
        free(l->mods);
        l->mods = NULL;
        l->nmods = 0;
        load_start(st, cr, l);
        return;
    }
    if (status == SH_OK) {
        free(cr->mods);
        cr->mods = l->mods;
        cr->nmods = l->nmods;
        l->mods = NULL;
        cr->owner_id = l->owner_id;
        cr->slow = l->slow;
        cr->fo = l->fo;
        cr->fo_minutes = l->fo_minutes;
        cr->loaded = l->gen == cr->gen && st->room_cache_ms > 0;
        cr->loaded_ms = st->h->now_ms(st->self);
    }
    cr->loading = 0;
    free(l->mods);
    free(l);
    cwait *w = cr->waiters;
    cr->waiters = cr->waiters_tail = NULL;
    while (w) {
        cwait *next = w->next;
        w->cb(cr, status, w->ud);
        free(w);
        w = next;
    }
}

static void on_info(int status, const sh_room_info *room, void *ud) {
    rload *l = ud;
    l->info_status = status;
    if (status == SH_OK && room) {
        l->owner_id = room->owner_id;
        l->slow = room->slow_mode_seconds;
        l->fo = room->followers_only;
        l->fo_minutes = room->followers_only_minutes;
    }
    if (--l->pending == 0) load_finish(l);
}

static void on_mods(const sh_db_result *res, void *ud) {
    rload *l = ud;
    if (chat_live()) {
        const sh_host_api *h = chat_g->h;
        l->mods_status = h->db_status(res);
        if (l->mods_status == SH_OK) {
            int n = h->db_nrows(res);
            l->mods = n > 0 ? calloc((size_t)n, sizeof *l->mods) : NULL;
            if (n > 0 && !l->mods) {
                l->mods_status = SH_ERR_NOMEM;
            } else {
                for (int i = 0; i < n; i++) {
                    const char *v = h->db_value(res, i, 0);
                    l->mods[i] = v ? strtoll(v, NULL, 10) : 0;
                }
                l->nmods = (size_t)(n > 0 ? n : 0);
            }
        } else {
            chat_log_db(chat_g, "loading moderators", res);
        }
    } else {
        l->mods_status = SH_ERR_UNAVAILABLE;
    }
    if (--l->pending == 0) load_finish(l);
}

static void load_start(chat_state *st, croom *cr, rload *l) {
    l->gen = cr->gen;
    l->attempts++;
    l->pending = 2;
    l->info_status = l->mods_status = SH_ERR_UNAVAILABLE;
    const char *p[1] = {l->room};
    /* the moderators' query first: its callback always comes later, so the room info answering
     * at once cannot finish the load while the query is still being queued */
    (void)st->h->db_query(
        st->self, "SELECT m.user_id FROM chat_moderators m JOIN rooms r ON r.id = m.room_pk WHERE r.room_id = $1", 1, p,
        on_mods, l);
    st->rooms->room_info(l->room, on_info, l);
}

void croom_with_info(chat_state *st, croom *cr, croom_cb cb, void *ud) {
    uint64_t now = st->h->now_ms(st->self);
    if (cr->loaded && now - cr->loaded_ms < (uint64_t)st->room_cache_ms) {
        cb(cr, SH_OK, ud);
        return;
    }
    cwait *w = chat_db_ok(st) ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        cb(cr, SH_ERR_UNAVAILABLE, ud);
        return;
    }
    w->cb = cb;
    w->ud = ud;
    if (cr->waiters_tail)
        cr->waiters_tail->next = w;
    else
        cr->waiters = w;
    cr->waiters_tail = w;
    if (cr->loading) return;
    rload *l = calloc(1, sizeof *l);
    if (!l) {
        cr->waiters = cr->waiters_tail = NULL;
        free(w);
        cb(cr, SH_ERR_UNAVAILABLE, ud);
        return;
    }
    snprintf(l->room, sizeof l->room, "%s", cr->id);
    cr->loading = 1;
    load_start(st, cr, l);
}

/* ---- bans -------------------------------------------------------------------------------------- */

static void ban_key(char *out, size_t n, const char *room_id, int64_t user_id) {
    snprintf(out, n, "%s/%" PRId64, room_id, user_id);
}

static void cache_put(chat_state *st, cmap *m, const char *key, uint64_t value) {
    centry *e = cmap_get(m, key);
    if (!e) {
        if (m->n >= CACHE_MAX_ENTRIES || !(e = calloc(1, sizeof *e))) return;
        if (cmap_put(m, key, e) < 0) {
            free(e);
            return;
        }
    }
    e->value = value;
    e->fetched = st->h->now_ms(st->self);
}

void ban_set(chat_state *st, const char *room_id, int64_t user_id, uint64_t until_ms) {
    char key[64];
    ban_key(key, sizeof key, room_id, user_id);
    st->ban_gen++;
    if (st->ban_cache_ms > 0)
        cache_put(st, &st->bans, key, until_ms);
    else
        free(cmap_del(&st->bans, key));
}

typedef struct bload {
    char room[CHAT_ROOM_ID_MAX + 1];
    char uid[24];
    int64_t user_id;
    unsigned gen;
    int attempts;
    ban_cb cb;
    void *ud;
} bload;

static void ban_query(chat_state *st, bload *b);

static void on_ban_row(const sh_db_result *res, void *ud) {
    bload *b = ud;
    if (!chat_live()) {
        b->cb(SH_ERR_UNAVAILABLE, 0, b->ud);
        free(b);
        return;
    }
    chat_state *st = chat_g;
    const sh_host_api *h = st->h;
    if (h->db_status(res) != SH_OK) {
        chat_log_db(st, "ban look-up", res);
        b->cb(SH_ERR_UNAVAILABLE, 0, b->ud);
        free(b);
        return;
    }
    uint64_t until = 0;
    if (h->db_nrows(res) > 0) {
        long long v = strtoll(h->db_value(res, 0, 0), NULL, 10);
        until = v < 0 ? UINT64_MAX : (uint64_t)v;
    }
    if (b->gen != st->ban_gen && b->attempts < 3 && chat_db_ok(st)) { /* a ban changed meanwhile: look again */
        ban_query(st, b);
        return;
    }
    if (b->gen == st->ban_gen && st->ban_cache_ms > 0) {
        char key[64];
        ban_key(key, sizeof key, b->room, b->user_id);
        cache_put(st, &st->bans, key, until);
    }
    b->cb(SH_OK, until, b->ud);
    free(b);
}

static void ban_query(chat_state *st, bload *b) {
    b->gen = st->ban_gen;
    b->attempts++;
    const char *p[2] = {b->room, b->uid};
    (void)st->h->db_query(st->self,
                          "SELECT CASE WHEN b.expires_at IS NULL THEN -1 "
                          "ELSE (extract(epoch FROM b.expires_at) * 1000)::bigint END "
                          "FROM chat_bans b JOIN rooms r ON r.id = b.room_pk "
                          "WHERE r.room_id = $1 AND b.user_id = $2::bigint "
                          "AND (b.expires_at IS NULL OR b.expires_at > now())",
                          2, p, on_ban_row, b);
}

void ban_check(chat_state *st, const char *room_id, int64_t user_id, ban_cb cb, void *ud) {
    char key[64];
    ban_key(key, sizeof key, room_id, user_id);
    centry *e = cmap_get(&st->bans, key);
    if (e && st->h->now_ms(st->self) - e->fetched < (uint64_t)st->ban_cache_ms) {
        cb(SH_OK, e->value, ud);
        return;
    }
    bload *b = chat_db_ok(st) ? calloc(1, sizeof *b) : NULL;
    if (!b) {
        cb(SH_ERR_UNAVAILABLE, 0, ud);
        return;
    }
    snprintf(b->room, sizeof b->room, "%s", room_id);
    snprintf(b->uid, sizeof b->uid, "%" PRId64, user_id);
    b->user_id = user_id;
    b->cb = cb;
    b->ud = ud;
    ban_query(st, b);
}

/* ---- follows ----------------------------------------------------------------------------------- */

typedef struct fload {
    char key[48];
    sh_follow_cb cb;
    void *ud;
} fload;

static void on_follows_since(int status, uint64_t since_ms, void *ud) {
    fload *f = ud;
    if (chat_live() && status == SH_OK && since_ms > 0 && chat_g->follow_cache_ms > 0)
        cache_put(chat_g, &chat_g->follows, f->key, since_ms);
    f->cb(status, since_ms, f->ud);
    free(f);
}

void follow_check(chat_state *st, int64_t user_id, int64_t streamer_id, sh_follow_cb cb, void *ud) {
    char key[48];
    snprintf(key, sizeof key, "%" PRId64 "/%" PRId64, user_id, streamer_id);
    centry *e = cmap_get(&st->follows, key);
    if (e && st->h->now_ms(st->self) - e->fetched < (uint64_t)st->follow_cache_ms) {
        cb(SH_OK, e->value, ud);
        return;
    }
    fload *f = chat_db_ok(st) ? calloc(1, sizeof *f) : NULL;
    if (!f || !st->follow) {
        free(f);
        cb(SH_ERR_UNAVAILABLE, 0, ud);
        return;
    }
    snprintf(f->key, sizeof f->key, "%s", key);
    f->cb = cb;
    f->ud = ud;
    st->follow->follows_since(user_id, streamer_id, on_follows_since, f);
}

/* ---- sweep and teardown ------------------------------------------------------------------------ */

static void sweep_entries(chat_state *st, cmap *m, uint64_t max_age, uint64_t now) {
    size_t pos = 0, n = 0;
    char **dead = m->n ? calloc(m->n, sizeof *dead) : NULL;
    if (!dead) return;
    for (cmap_slot *s; (s = cmap_next(m, &pos));) {
        centry *e = s->val;
        if (now - e->fetched >= max_age) dead[n++] = strdup(s->key);
    }
    for (size_t i = 0; i < n; i++) {
        if (dead[i]) free(cmap_del(m, dead[i]));
        free(dead[i]);
    }
    free(dead);
    (void)st;
}

static void croom_free(croom *cr) {
    free(cr->mods);
    free(cr);
}

void chat_cache_sweep(void *ud) {
    chat_state *st = ud;
    if (!chat_live()) return;
    uint64_t now = st->h->now_ms(st->self);
    sweep_entries(st, &st->bans, (uint64_t)st->ban_cache_ms, now);
    sweep_entries(st, &st->follows, (uint64_t)st->follow_cache_ms, now);
    uint64_t idle = (uint64_t)st->room_cache_ms > ROOM_IDLE_MS ? (uint64_t)st->room_cache_ms : ROOM_IDLE_MS;
    size_t pos = 0, n = 0;
    croom **dead = st->rooms_map.n ? calloc(st->rooms_map.n, sizeof *dead) : NULL;
    if (!dead) return;
    for (cmap_slot *s; (s = cmap_next(&st->rooms_map, &pos));) {
        croom *cr = s->val;
        if (!cr->loading && !cr->waiters && !cr->qhead && !cr->inflight && now - cr->used_ms >= idle) dead[n++] = cr;
    }
    for (size_t i = 0; i < n; i++) {
        cmap_del(&st->rooms_map, dead[i]->id);
        croom_free(dead[i]);
    }
    free(dead);
}

void chat_cache_free_all(chat_state *st) {
    size_t pos = 0;
    for (cmap_slot *s; (s = cmap_next(&st->rooms_map, &pos));) {
        croom *cr = s->val;
        cwait *w = cr->waiters;
        cr->waiters = cr->waiters_tail = NULL;
        while (w) { /* the plugin is closed: each waiter only answers and frees itself */
            cwait *next = w->next;
            w->cb(cr, SH_ERR_UNAVAILABLE, w->ud);
            free(w);
            w = next;
        }
        croom_drop_queue(st, cr);
        croom_free(cr);
    }
    cmap_free(&st->rooms_map);
    pos = 0;
    for (cmap_slot *s; (s = cmap_next(&st->bans, &pos));)
        free(s->val);
    cmap_free(&st->bans);
    pos = 0;
    for (cmap_slot *s; (s = cmap_next(&st->follows, &pos));)
        free(s->val);
    cmap_free(&st->follows);
}
