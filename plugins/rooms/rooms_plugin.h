/*
 * rooms_plugin.h - the rooms plugin's shared state and the functions its files call on each other.
 *
 * Files (one concern each):
 *   rooms.c      descriptor, settings, init/start/stop/fini, the `rooms` service (rooms.h)
 *   routes.c     REST: create, read, update, delete a room; categories; a room's past streams
 *   list.c       REST: GET /api/rooms (filters, search, keyset cursor) and its short-lived cache
 *   roomcache.c  each room's public JSON cached in process for GET /api/rooms/:roomId (short TTL,
 *                dropped on room.updated); rooms_room_changed, which publishes room.updated
 *   presence.c   viewer counting: local members per room, Redis presence (sorted sets with
 *                expiry, Lua scripts), the refresh tick, viewer counts written to the database
 *   sockets.c    Socket.IO: create-room, join-room, leave-room, disconnects; viewer-joined/left
 *   live.c       stream.started / stream.ended from the bus: stream sessions, live state,
 *                stream-started / stream-ended to the room, heartbeats, the stale-live sweep
 *   smap.c       string hash map                      (pure)
 *   rooms_util.c room ids, cursors, LIKE patterns      (pure)
 *
 * There is one instance (plugins load once); `rooms_g` points at it for the service functions and
 * is NULL after fini. Every callback that can run after fini (the core delivers database, Redis,
 * bus and Socket.IO disconnect callbacks while it tears down, after plugins' fini) first checks
 * rooms_live() and then only frees its own context. Everything here runs on the loop thread.
 */
#ifndef SH_ROOMS_PLUGIN_H
#define SH_ROOMS_PLUGIN_H

#include <stdint.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>

#include "plugins/rooms/rooms_util.h"
#include "plugins/rooms/smap.h"

#define MEMBER_MAX 48 /* "u:<user id>" or "s:<socket id>" */
/* Local bus topic after a socket joined a room to watch it: {roomId, socketId, userId, username}
 * (userId/username null when anonymous). Published on the node of the socket only. */
#define ROOMS_TOPIC_JOINED "room.joined"

/* One room as this node sees it: the sockets of this node watching it (by member: a signed-in
 * user counts once however many tabs, an anonymous viewer by socket), the last known viewer
 * count (every node's viewers with Redis, this node's without) and what was written to
 * rooms.viewer_count. Lives while it has members, a live stream here, pending operations or an
 * unwritten count. */
typedef struct pres_room {
    char id[ROOM_ID_MAX + 1];
    smap members;     /* member key -> (uintptr_t) sockets of this node */
    int64_t count;    /* last known viewer count */
    int64_t written;  /* last value written to the database, -1 = none yet */
    int64_t flushing; /* value being written, -1 = none */
    int counted;      /* `count` was obtained at least once */
    int refs;         /* pending operations holding the room */
    int live;         /* streams of this room ingested on this node */
} pres_room;

/* One stream ingested on this node, from stream.started to stream.ended. */
typedef struct live_sess live_sess;

/* The per-socket record (sio_set_data). `sock` is NULL once the socket is gone; the record is
 * freed when that happened and no operation is pending. Listed so that fini frees stragglers. */
typedef struct rsock {
    sh_socket *sock;
    int pending;
    char room[ROOM_ID_MAX + 1];  /* the room this socket watches ("" = none) */
    char owned[ROOM_ID_MAX + 1]; /* the room it opened with create-room ("" = none) */
    char member[MEMBER_MAX];     /* its presence member key */
    int64_t user_id;
    char *username;
    struct rsock *prev, *next;
} rsock;

/* An in-process cache entry of the live-rooms list (used when Redis is not configured). */
typedef struct lcache_ent {
    char *key, *body;
    size_t len;
    uint64_t expires_ms;
} lcache_ent;
#define LCACHE_MAX 64
#define RCACHE_MAX 4096 /* rooms whose JSON roomcache.c keeps at most */

typedef struct rooms_state {
    sh_plugin *self;
    const sh_host_api *h;
    int closed;   /* fini ran: callbacks only free their context */
    int stopping; /* stop ran: no more emits or bus work (the core tears Socket.IO down before fini) */
    const char *prefix;
    int64_t ttl_ms, refresh_ms, flush_ms, cache_ms, stale_ms;
    smap rooms; /* room id -> pres_room* */
    live_sess *lives;
    rsock *socks;
    lcache_ent cache[LCACHE_MAX];
    sh_timer *t_refresh, *t_flush, *t_sweep;
    int flush_busy, beat_busy, sweep_busy;
    uint64_t redis_warn_ms;
    int64_t room_cache_ms; /* roomcache.c: TTL of a room's cached JSON, 0 = off */
    smap rcache;           /* room id -> its cached JSON (roomcache.c) */
    smap rfetch;           /* room id -> the GET query under way for it (routes.c, room_fetch) */
    uint64_t rcache_gen;   /* bumped by every drop (roomcache.c) */
    sh_metric *m_viewers, *m_joins, *m_cache_hits, *m_cache_misses, *m_live;
    sh_metric *m_rcache_hits, *m_rcache_misses;
} rooms_state;

extern rooms_state *rooms_g;

/* 1 while the plugin is initialised and not finished (callbacks may use the host). */
static inline int rooms_live(void) {
    return rooms_g && !rooms_g->closed;
}

/* rooms.c ------------------------------------------------------------------------------------ */
extern const sh_rooms_api rooms_service;
/* Log a failed query (not when it is only "database unavailable") and answer 503/500. */
void rooms_respond_db(rooms_state *st, sh_request *req, const sh_db_result *res);
/* A fresh public room id. 0 or -1. */
int rooms_new_id(rooms_state *st, char out[ROOM_ID_LEN + 1]);
/* Emit `event` (takes `data`) to the Socket.IO room `room` of "/" on every node; dropped once the
 * plugin is stopping. */
void rooms_emit_room(rooms_state *st, const char *room, const char *event, json_object *data);
/* Parse a room_json column into an object (new reference), or NULL. */
json_object *rooms_parse_json(const char *text);
/* Throttled warning when Redis could not be used (falls back to this node's view). */
void rooms_redis_warn(rooms_state *st, const char *what);

/* routes.c / list.c -------------------------------------------------------------------------- */
int rooms_routes(rooms_state *st);
int rooms_list_routes(rooms_state *st);
/* The `limit` query parameter (1..100, default `def`); -1 after answering 400. */
int rooms_query_limit(rooms_state *st, sh_request *req, int def);
void rooms_cache_free(rooms_state *st);

/* roomcache.c -------------------------------------------------------------------------------- */
/* Subscribe to room.updated; the cache starts empty. SH_OK or an error. */
int rooms_rcache_init(rooms_state *st);
/* The cached room_json of `room` (borrowed until the next cache call), or NULL (absent, expired,
 * caching off). */
const char *rooms_rcache_get(rooms_state *st, const char *room);
/* Take before the query whose result goes to rooms_rcache_put. */
uint64_t rooms_rcache_gen(const rooms_state *st);
/* Cache `json` for `room` unless a drop happened since `gen` was taken. */
void rooms_rcache_put(rooms_state *st, const char *room, const char *json, uint64_t gen);
/* Drop the entry of `room` (NULL: every entry) on this node. */
void rooms_rcache_drop(rooms_state *st, const char *room);
void rooms_rcache_free(rooms_state *st);
/* The room's public JSON changed (deleted: it is gone): drop it here and publish room.updated
 * {roomId[, deleted]} on every node (not once the plugin is stopping). */
void rooms_room_changed(rooms_state *st, const char *room, int deleted);

/* presence.c --------------------------------------------------------------------------------- */
/* The room record for `id`, created when `create` (NULL if absent or out of memory). */
pres_room *pres_get(rooms_state *st, const char *id, int create);
/* Free the room if nothing holds it any more. */
void pres_maybe_free(rooms_state *st, pres_room *pr);
/* count: the viewer count after the change; changed: 1 when the member was added to (removed
 * from) the room's viewers (0: another tab or node of the same user still counts). */
typedef void (*pres_cb)(rooms_state *st, pres_room *pr, int64_t count, int changed, void *ud);
/* Count one more (one fewer) local socket of `member`. The callback runs later with Redis, at
 * once without. While it is pending the room is held. */
void pres_add(rooms_state *st, pres_room *pr, const char *member, pres_cb cb, void *ud);
void pres_remove(rooms_state *st, pres_room *pr, const char *member, pres_cb cb, void *ud);
/* The current viewer count of a room (Redis ZCOUNT, or this node's members). cb(count, ud);
 * count -1 when Redis failed (callers then use the database value). */
typedef void (*pres_count_cb)(int64_t count, void *ud);
void pres_count(rooms_state *st, const char *room_id, pres_count_cb cb, void *ud);
void pres_tick(void *ud);  /* refresh timer: re-score local members, recount */
void pres_flush(void *ud); /* flush timer: changed counts -> rooms.viewer_count, streams.peak_viewers */
void pres_free_all(rooms_state *st);

/* sockets.c ---------------------------------------------------------------------------------- */
int rooms_sockets_init(rooms_state *st);
void rooms_sockets_free_all(rooms_state *st);

/* live.c ------------------------------------------------------------------------------------- */
int rooms_live_init(rooms_state *st);
void live_heartbeat(rooms_state *st); /* called by the refresh tick */
void live_sweep(void *ud);            /* sweep timer */
void live_stop(rooms_state *st);      /* shutdown: record the end of this node's streams now */
void live_free_all(rooms_state *st);

#endif
