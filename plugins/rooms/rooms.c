/*
 * rooms.c - the rooms plugin: streamers' rooms (channels), their streams (live sessions), viewer
 * presence and counts across nodes, the live-rooms list; provides the `rooms` service
 * (streamhub/rooms.h) that ingest and chat use.
 *
 * This file: the descriptor and its settings, init (config -> rooms_state, migrations, routes,
 * Socket.IO handlers, bus subscriptions, service, metrics), start (timers), stop, fini, and the
 * service functions. See rooms_plugin.h for the map of the other files. Loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"
#include <streamhub/auth.h>
#include <streamhub/migrations.h>

extern const sh_embedded_sql rooms_migrations[]; /* generated from migrations/NNN_name.sql */

rooms_state *rooms_g;
static rooms_state g_state;

static const sh_dep provides[] = {{SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, SH_ROOMS_MINOR, 0}, {NULL, 0, 0, 0}};
static const sh_dep requires[] = {{SH_AUTH_SERVICE, 1, 0, 0}, {NULL, 0, 0, 0}};

static const sh_setting settings[] = {
    {"redis_prefix", SH_CFG_STRING, "sh:rooms:", 0, 64, 0,
     "prefix of this plugin's Redis keys (presence, list cache); nodes of one cluster share it"},
    {"presence_ttl_ms", SH_CFG_INT, "30000", 3000, 600000, 0,
     "a viewer not re-confirmed by its node for this long stops counting (a crashed node's viewers age out)"},
    {"presence_refresh_ms", SH_CFG_INT, "10000", 200, 300000, 0,
     "how often a node re-confirms its viewers and recounts (less than presence_ttl_ms / 2)"},
    {"count_flush_ms", SH_CFG_INT, "1000", 50, 60000, 0,
     "changed viewer counts are written to the database (list order, peak viewers) this often"},
    {"live_cache_ms", SH_CFG_INT, "3000", 0, 60000, 0,
     "GET /api/rooms?live=true answers are cached this long (Redis when configured, else in-process; 0 = off)"},
    {"room_cache_ms", SH_CFG_INT, "2000", 0, 60000, 0,
     "a room's JSON for GET /api/rooms/:roomId is cached in process this long (dropped at once on room.updated; "
     "the viewer count is always current; 0 = off)"},
    {"live_stale_ms", SH_CFG_INT, "60000", 2000, 3600000, 0,
     "a live room whose ingest node stopped confirming it for this long is ended (reason node_lost)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* ---- helpers shared by the files ---------------------------------------------------------- */

void rooms_respond_db(rooms_state *st, sh_request *req, const sh_db_result *res) {
    if (st->h->db_status(res) != SH_ERR_UNAVAILABLE)
        st->h->log(st->self, SH_LOG_ERROR, "query failed: %s", st->h->db_error(res));
    st->h->respond_db_error(req, res);
}

int rooms_new_id(rooms_state *st, char out[ROOM_ID_LEN + 1]) {
    unsigned char rnd[ROOM_ID_RANDOM];
    for (int attempt = 0; attempt < 4; attempt++) {
        if (st->h->random_bytes(st->self, rnd, sizeof rnd) != SH_OK) return -1;
        if (rooms_id_make(rnd, sizeof rnd, out) == 0) return 0;
    }
    return -1;
}

void rooms_emit_room(rooms_state *st, const char *room, const char *event, json_object *data) {
    if (st->stopping || st->closed) {
        json_object_put(data);
        return;
    }
    st->h->sio_emit_room(st->self, "/", room, event, data, NULL);
}

json_object *rooms_parse_json(const char *text) {
    if (!text) return NULL;
    json_object *o = json_tokener_parse(text);
    if (o && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

void rooms_redis_warn(rooms_state *st, const char *what) {
    uint64_t now = st->h->now_ms(st->self);
    if (st->redis_warn_ms && now - st->redis_warn_ms < 30000) return;
    st->redis_warn_ms = now ? now : 1;
    st->h->log(st->self, SH_LOG_WARN, "Redis unavailable (%s): viewer counts fall back to this node's view", what);
}

/* ---- the `rooms` service ------------------------------------------------------------------- */

#define INFO_COLS                                                                                                      \
    "r.room_id, r.streamer_id, u.username, r.title, r.is_live, r.slow_mode_seconds, r.followers_only, "                \
    "r.followers_only_minutes"

typedef struct svc_ctx {
    sh_room_info_cb cb;
    void *ud;
    int64_t user_id;
    int attempts;
    char room_id[ROOM_ID_MAX + 1];
} svc_ctx;

static void svc_answer(svc_ctx *c, const sh_db_result *res) {
    const sh_host_api *h = rooms_g->h;
    int status = h->db_status(res);
    if (status != SH_OK) {
        if (status != SH_ERR_UNAVAILABLE)
            h->log(rooms_g->self, SH_LOG_ERROR, "room query failed: %s", h->db_error(res));
        c->cb(SH_ERR_UNAVAILABLE, NULL, c->ud);
        return;
    }
    if (h->db_nrows(res) < 1) {
        c->cb(SH_ERR_NOTFOUND, NULL, c->ud);
        return;
    }
    const char *v[8];
    for (int i = 0; i < 8; i++)
        v[i] = h->db_value(res, 0, i);
    sh_room_info info = {
        .room_id = v[0],
        .owner_id = v[1] ? strtoll(v[1], NULL, 10) : 0,
        .owner_name = v[2],
        .title = v[3],
        .is_live = v[4] && v[4][0] == 't',
        .slow_mode_seconds = v[5] ? atoi(v[5]) : 0,
        .followers_only = v[6] && v[6][0] == 't',
        .followers_only_minutes = v[7] ? atoi(v[7]) : 0,
    };
    c->cb(SH_OK, &info, c->ud);
}

static void on_info(const sh_db_result *res, void *ud) {
    svc_ctx *c = ud;
    if (!rooms_live())
        c->cb(SH_ERR_UNAVAILABLE, NULL, c->ud);
    else
        svc_answer(c, res);
    free(c);
}

static void on_info_later(void *ud) {
    svc_ctx *c = ud;
    c->cb(rooms_live() ? SH_ERR_NOTFOUND : SH_ERR_UNAVAILABLE, NULL, c->ud);
    free(c);
}

static void svc_room_info(const char *room_id, sh_room_info_cb cb, void *ud) {
    if (!cb) return;
    if (!rooms_live()) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    rooms_state *st = rooms_g;
    svc_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    c->cb = cb;
    c->ud = ud;
    if (!rooms_id_valid(room_id)) { /* answered later all the same: callers expect no re-entry */
        if (!st->h->timer_add(st->self, 0, 0, on_info_later, c)) {
            free(c);
            cb(SH_ERR_NOTFOUND, NULL, ud);
        }
        return;
    }
    snprintf(c->room_id, sizeof c->room_id, "%s", room_id);
    const char *params[1] = {c->room_id};
    if (st->h->db_query(st->self,
                        "SELECT " INFO_COLS " FROM rooms r JOIN users u ON u.id = r.streamer_id WHERE r.room_id = $1",
                        1, params, on_info, c) == SH_ERR_NOMEM) {
        free(c);
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
    }
}

static void for_user_run(svc_ctx *c);

static void on_for_user(const sh_db_result *res, void *ud) {
    svc_ctx *c = ud;
    if (!rooms_live()) {
        c->cb(SH_ERR_UNAVAILABLE, NULL, c->ud);
    } else if (rooms_g->h->db_status(res) == SH_OK && rooms_g->h->db_nrows(res) < 1 && ++c->attempts < 3) {
        for_user_run(c); /* the new id collided with another room's (or the user does not exist) */
        return;
    } else {
        svc_answer(c, res);
    }
    free(c);
}

/* INSERT the room unless the user has one (any unique conflict: nothing inserted), then read it. */
static void for_user_run(svc_ctx *c) {
    rooms_state *st = rooms_g;
    char uid[24];
    snprintf(uid, sizeof uid, "%lld", (long long)c->user_id);
    if (rooms_new_id(st, c->room_id) < 0) {
        c->cb(SH_ERR_UNAVAILABLE, NULL, c->ud);
        free(c);
        return;
    }
    const char *p_ins[2] = {uid, c->room_id};
    const char *p_sel[1] = {uid};
    sh_db_stmt stmts[2] = {
        {"INSERT INTO rooms (room_id, streamer_id, title) "
         "SELECT $2, u.id, left(u.username || '''s stream', 140) FROM users u "
         "WHERE u.id = $1::bigint AND NOT EXISTS (SELECT 1 FROM rooms WHERE streamer_id = $1::bigint) "
         "ON CONFLICT DO NOTHING",
         2, p_ins},
        {"SELECT " INFO_COLS " FROM rooms r JOIN users u ON u.id = r.streamer_id WHERE r.streamer_id = $1::bigint", 1,
         p_sel},
    };
    if (st->h->db_tx(st->self, stmts, 2, on_for_user, c) == SH_ERR_NOMEM) {
        c->cb(SH_ERR_UNAVAILABLE, NULL, c->ud);
        free(c);
    }
}

static void svc_room_for_user(int64_t user_id, const char *username, sh_room_info_cb cb, void *ud) {
    (void)username; /* the title is made from the stored username */
    if (!cb) return;
    svc_ctx *c = rooms_live() ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        cb(SH_ERR_UNAVAILABLE, NULL, ud);
        return;
    }
    c->cb = cb;
    c->ud = ud;
    c->user_id = user_id;
    for_user_run(c);
}

const sh_rooms_api rooms_service = {
    .size = sizeof(sh_rooms_api),
    .room_for_user = svc_room_for_user,
    .room_info = svc_room_info,
};

/* ---- life cycle ----------------------------------------------------------------------------- */

static int rooms_init(sh_plugin *self, const sh_host_api *host) {
    rooms_state *st = &g_state;
    memset(st, 0, sizeof *st);
    st->self = self;
    st->h = host;
    if (!SH_HOST_HAS(host, stream_find)) {
        host->log(self, SH_LOG_ERROR, "this host is older than SDK 1.2 (media pipeline): rebuild against it");
        return SH_ERR;
    }
    st->prefix = host->cfg_str(self, "redis_prefix");
    if (!st->prefix) st->prefix = "";
    st->ttl_ms = host->cfg_int(self, "presence_ttl_ms");
    st->refresh_ms = host->cfg_int(self, "presence_refresh_ms");
    st->flush_ms = host->cfg_int(self, "count_flush_ms");
    st->cache_ms = host->cfg_int(self, "live_cache_ms");
    st->stale_ms = host->cfg_int(self, "live_stale_ms");
    st->room_cache_ms = host->cfg_int(self, "room_cache_ms");
    if (st->refresh_ms * 2 > st->ttl_ms) {
        host->log(self, SH_LOG_ERROR, "presence_refresh_ms (%lld) must be at most half of presence_ttl_ms (%lld)",
                  (long long)st->refresh_ms, (long long)st->ttl_ms);
        return SH_ERR;
    }
    if (st->stale_ms < st->refresh_ms * 3) {
        host->log(self, SH_LOG_ERROR, "live_stale_ms (%lld) must be at least 3 x presence_refresh_ms (%lld)",
                  (long long)st->stale_ms, (long long)st->refresh_ms);
        return SH_ERR;
    }
    smap_init(&st->rooms);
    if (sh_migrations_register(self, host, rooms_migrations) != SH_OK) return SH_ERR;
    if (rooms_routes(st) != SH_OK || rooms_list_routes(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the HTTP routes");
        return SH_ERR;
    }
    if (rooms_sockets_init(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the Socket.IO handlers");
        return SH_ERR;
    }
    if (rooms_live_init(st) != SH_OK || rooms_rcache_init(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot subscribe to the stream and room events");
        return SH_ERR;
    }
    if (host->service_provide(self, SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, SH_ROOMS_MINOR, &rooms_service) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot provide the rooms service");
        return SH_ERR;
    }
    st->m_viewers = host->metric_new(self, SH_METRIC_GAUGE, "streamhub_rooms_local_viewers",
                                     "Viewer sockets in rooms on this node", NULL);
    st->m_joins =
        host->metric_new(self, SH_METRIC_COUNTER, "streamhub_rooms_joins_total", "join-room events accepted", NULL);
    st->m_cache_hits = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_rooms_list_cache_total",
                                        "Live-rooms list answers, by cache result", "result=\"hit\"");
    st->m_cache_misses = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_rooms_list_cache_total",
                                          "Live-rooms list answers, by cache result", "result=\"miss\"");
    st->m_rcache_hits = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_rooms_room_cache_total",
                                         "GET /api/rooms/:roomId reads of the room cache, by result", "result=\"hit\"");
    st->m_rcache_misses =
        host->metric_new(self, SH_METRIC_COUNTER, "streamhub_rooms_room_cache_total",
                         "GET /api/rooms/:roomId reads of the room cache, by result", "result=\"miss\"");
    st->m_live = host->metric_new(self, SH_METRIC_GAUGE, "streamhub_rooms_live_local",
                                  "Live streams ingested on this node, as the rooms plugin tracks them", NULL);
    rooms_g = st;
    host->log(self, SH_LOG_INFO,
              "ready: presence %s (ttl %lld ms, refresh %lld ms), live list cache %lld ms, room cache %lld ms",
              host->redis_enabled(self) ? "in Redis" : "in-process (single node)", (long long)st->ttl_ms,
              (long long)st->refresh_ms, (long long)st->cache_ms, (long long)st->room_cache_ms);
    return SH_OK;
}

static int rooms_start(sh_plugin *self) {
    rooms_state *st = &g_state;
    st->t_refresh = st->h->timer_add(self, (uint64_t)st->refresh_ms, 1, pres_tick, st);
    st->t_flush = st->h->timer_add(self, (uint64_t)st->flush_ms, 1, pres_flush, st);
    st->t_sweep = st->h->timer_add(self, (uint64_t)st->stale_ms / 2, 1, live_sweep, st);
    if (!st->t_refresh || !st->t_flush || !st->t_sweep) {
        st->h->log(self, SH_LOG_ERROR, "cannot start the timers");
        return SH_ERR;
    }
    return SH_OK;
}

static void rooms_stop(sh_plugin *self) {
    (void)self;
    rooms_state *st = &g_state;
    sh_timer **ts[3] = {&st->t_refresh, &st->t_flush, &st->t_sweep};
    for (int i = 0; i < 3; i++) {
        if (*ts[i]) st->h->timer_cancel(*ts[i]);
        *ts[i] = NULL;
    }
    if (rooms_live()) live_stop(st);
    st->stopping = 1;
}

static void rooms_fini(sh_plugin *self) {
    (void)self;
    rooms_state *st = &g_state;
    st->closed = 1;
    rooms_sockets_free_all(st);
    live_free_all(st);
    pres_free_all(st);
    rooms_cache_free(st);
    rooms_rcache_free(st);
    rooms_g = NULL;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "rooms",
    .version = "1.0.0",
    .description = "streamers' rooms, streams, viewer presence and counts; provides the rooms service",
    .provides = provides,
    .requires = requires,
    .settings = settings,
    .init = rooms_init,
    .start = rooms_start,
    .stop = rooms_stop,
    .fini = rooms_fini,
};

SH_PLUGIN_EXPORT(desc)
