/*
 * roomcache.c - the in-process cache of each room's public JSON (the room_json column of the
 * rooms_public view) for GET /api/rooms/:roomId, so that a read of a popular room needs no
 * database query: only its viewer count from presence, added per request as without the cache.
 *
 * An entry lives room_cache_ms (0 = no cache) and is dropped at once when the room changes:
 *   - PATCH and DELETE (routes.c) and the live state (live.c: go-live, end, the stale-live
 *     sweep) call rooms_room_changed, which drops the entry on this node and publishes
 *     room.updated {roomId} with SH_BUS_CLUSTER; every node (this one too) drops its entry when
 *     that arrives (with Redis; without it there is only this node);
 *   - changes that publish nothing (the streamer's display name or avatar in the auth plugin, a
 *     category's name, the viewer_count column, which the answer shows only when presence cannot
 *     be counted) show after room_cache_ms at most.
 * A read that started before a drop must not put the old row back: rooms_rcache_gen() is taken
 * before the query and rooms_rcache_put stores only if no drop happened meanwhile (one counter
 * for all rooms: drops are rare, a refused store only costs the next read a query). GETs that
 * miss share one query per room (routes.c, st->rfetch); a drop detaches that query too.
 *
 * At most RCACHE_MAX rooms are kept: a store into a full cache first removes the expired
 * entries, then, if none was, one entry (the first in table order). Not-found rooms are not
 * cached. Loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

typedef struct rcache_ent {
    char *json;
    uint64_t expires_ms;
} rcache_ent;

static void ent_free(rcache_ent *e) {
    if (!e) return;
    free(e->json);
    free(e);
}

const char *rooms_rcache_get(rooms_state *st, const char *room) {
    if (st->room_cache_ms <= 0) return NULL;
    smap_slot *s = smap_find(&st->rcache, room);
    rcache_ent *e = s ? s->val : NULL;
    if (!e) {
        st->h->metric_add(st->m_rcache_misses, 1);
        return NULL;
    }
    if (e->expires_ms <= st->h->now_ms(st->self)) {
        ent_free(smap_del(&st->rcache, room));
        st->h->metric_add(st->m_rcache_misses, 1);
        return NULL;
    }
    st->h->metric_add(st->m_rcache_hits, 1);
    return e->json;
}

uint64_t rooms_rcache_gen(const rooms_state *st) {
    return st->rcache_gen;
}

/* Make room for one more entry. */
static void rcache_shrink(rooms_state *st) {
    uint64_t now = st->h->now_ms(st->self);
    char *drop[64];
    for (;;) { /* expired ones, 64 at a time (no deletes while iterating) */
        size_t pos = 0, n = 0;
        smap_slot *s;
        while (n < 64 && (s = smap_next(&st->rcache, &pos)))
            if (((rcache_ent *)s->val)->expires_ms <= now) drop[n++] = s->key;
        for (size_t i = 0; i < n; i++) { /* the key belongs to the map: copy before deleting */
            char key[ROOM_ID_MAX + 1];
            strncpy(key, drop[i], sizeof key - 1);
            key[sizeof key - 1] = '\0';
            ent_free(smap_del(&st->rcache, key));
        }
        if (n < 64) break;
    }
    if (st->rcache.n < RCACHE_MAX) return;
    size_t pos = 0;
    smap_slot *s = smap_next(&st->rcache, &pos);
    if (!s) return;
    char key[ROOM_ID_MAX + 1];
    strncpy(key, s->key, sizeof key - 1);
    key[sizeof key - 1] = '\0';
    ent_free(smap_del(&st->rcache, key));
}

void rooms_rcache_put(rooms_state *st, const char *room, const char *json, uint64_t gen) {
    if (st->room_cache_ms <= 0 || !json || gen != st->rcache_gen || strlen(room) > ROOM_ID_MAX) return;
    if (!smap_find(&st->rcache, room) && st->rcache.n >= RCACHE_MAX) rcache_shrink(st);
    rcache_ent *e = calloc(1, sizeof *e);
    if (!e || !(e->json = strdup(json))) {
        ent_free(e);
        return;
    }
    e->expires_ms = st->h->now_ms(st->self) + (uint64_t)st->room_cache_ms;
    int created = 0;
    smap_slot *s = smap_upsert(&st->rcache, room, &created);
    if (!s) {
        ent_free(e);
        return;
    }
    if (!created) ent_free(s->val);
    s->val = e;
}

void rooms_rcache_drop(rooms_state *st, const char *room) {
    st->rcache_gen++;
    if (room) {
        ent_free(smap_del(&st->rcache, room));
        smap_del(&st->rfetch, room); /* a read under way finishes detached (its callback owns it) */
    } else {
        rooms_rcache_free(st);
    }
}

void rooms_rcache_free(rooms_state *st) {
    size_t pos = 0;
    smap_slot *s;
    while ((s = smap_next(&st->rcache, &pos)))
        ent_free(s->val);
    smap_free(&st->rcache);
    smap_free(&st->rfetch); /* the room_fetch records belong to their queries' callbacks */
}

void rooms_room_changed(rooms_state *st, const char *room, int deleted) {
    rooms_rcache_drop(st, room);
    if (st->stopping || st->closed) return; /* the other nodes' entries expire */
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(room));
    if (deleted) json_object_object_add(o, "deleted", json_object_new_boolean(1));
    st->h->bus_publish(st->self, SH_TOPIC_ROOM_UPDATED, o, SH_BUS_CLUSTER);
}

static void on_room_updated(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!rooms_live()) return;
    json_object *room = NULL;
    json_object_object_get_ex(payload, "roomId", &room);
    const char *id = room && json_object_is_type(room, json_type_string) ? json_object_get_string(room) : NULL;
    rooms_rcache_drop(rooms_g, rooms_id_valid(id) ? id : NULL); /* no valid id: drop them all */
}

int rooms_rcache_init(rooms_state *st) {
    smap_init(&st->rcache);
    smap_init(&st->rfetch);
    return st->h->bus_subscribe(st->self, SH_TOPIC_ROOM_UPDATED, on_room_updated, st);
}
