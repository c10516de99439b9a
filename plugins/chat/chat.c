/*
 * chat.c - the chat plugin: live chat of a room over Socket.IO (validated, stored in PostgreSQL,
 * broadcast to every node), history, rate limits, slow mode, followers-only mode, moderators,
 * deletes, clears, bans and timeouts with a moderation log, and reactions. Requires auth 1.0 and
 * rooms 1.0; follow 1.0 optionally (followers-only mode).
 *
 * This file: the descriptor and settings, init/start/stop/fini, the bus subscriptions that keep
 * the caches right, metrics, and the reply helpers shared by the other files (see
 * chat_plugin.h for the map). Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"
#include <streamhub/migrations.h>

extern const sh_embedded_sql chat_migrations[]; /* generated from migrations/NNN_name.sql */

chat_state *chat_g;
static chat_state g_state;

static const sh_dep requires[] = {
    {SH_AUTH_SERVICE, 1, 0, 0},
    {SH_ROOMS_SERVICE, 1, 0, 0},
    {SH_FOLLOW_SERVICE, 1, 0, 1},
    {NULL, 0, 0, 0},
};

static const sh_setting settings[] = {
    {"max_chars", SH_CFG_INT, "500", 1, 10000, 0, "longest chat message, in characters after trimming"},
    {"allow_newlines", SH_CFG_BOOL, "false", 0, 0, 0, "messages may contain line breaks (\\n)"},
    {"rate_limit", SH_CFG_INT, "5", 1, 10000, 0, "messages one user may send to one room per rate_window_ms"},
    {"rate_window_ms", SH_CFG_INT, "10000", 100, 86400000, 0, "the window of rate_limit (shared across nodes)"},
    {"reaction_limit", SH_CFG_INT, "10", 1, 10000, 0, "reactions one user may send to one room per reaction_window_ms"},
    {"reaction_window_ms", SH_CFG_INT, "10000", 100, 86400000, 0, "the window of reaction_limit"},
    {"history_size", SH_CFG_INT, "50", 0, 200, 0, "messages in chat-history (the most recent ones)"},
    {"room_cache_ms", SH_CFG_INT, "5000", 0, 600000, 0,
     "a room's modes and moderators are cached this long (dropped at once on room.updated / moderator changes)"},
    {"ban_cache_ms", SH_CFG_INT, "60000", 0, 3600000, 0,
     "ban look-ups are cached this long per node (changes reach every node at once through the cluster bus)"},
    {"follow_cache_ms", SH_CFG_INT, "60000", 0, 3600000, 0,
     "positive follow look-ups (followers-only mode) are cached this long"},
    {"socket_queue", SH_CFG_INT, "16", 1, 1000, 0,
     "messages of one socket waiting for their checks; more are refused (busy)"},
    {"room_queue", SH_CFG_INT, "5000", 10, 1000000, 0,
     "messages of one room waiting to be stored on a node; more are refused (busy)"},
    {"store_batch", SH_CFG_INT, "100", 1, 1000, 0, "messages of one room stored by one statement at most"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

const char *const chat_reason_code[R_COUNT] = {
    [R_RATE_LIMITED] = "rate_limited",
    [R_SLOW_MODE] = "slow_mode",
    [R_FOLLOWERS_ONLY] = "followers_only",
    [R_BANNED] = "banned",
    [R_NOT_AUTHENTICATED] = "not_authenticated",
    [R_INVALID_MESSAGE] = "invalid_message",
    [R_NOT_IN_ROOM] = "not_in_room",
    [R_ROOM_NOT_FOUND] = "room_not_found",
    [R_UNAVAILABLE] = "unavailable",
    [R_BUSY] = "busy",
};

/* ---- helpers ----------------------------------------------------------------------------------- */

void chat_count_refused(chat_state *st, int reason) {
    if (reason >= 0 && reason < R_COUNT && st->m_refused[reason]) st->h->metric_add(st->m_refused[reason], 1);
}

void chat_sock_error(chat_state *st, sh_socket *sock, sh_ack *ack, int emit_event, const char *code,
                     const char *message, int64_t retry_after_s) {
    if (ack) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "code", json_object_new_string(code));
        json_object_object_add(e, "message", json_object_new_string(message));
        if (retry_after_s >= 0) json_object_object_add(e, "retryAfter", json_object_new_int64(retry_after_s));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", e);
        st->h->sio_ack(ack, o);
    }
    if (sock && (emit_event || !ack) && !st->stopping && !st->closed) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "code", json_object_new_string(code));
        json_object_object_add(e, "message", json_object_new_string(message));
        if (retry_after_s >= 0) json_object_object_add(e, "retryAfter", json_object_new_int64(retry_after_s));
        st->h->sio_emit(sock, "chat-error", e);
    }
}

void chat_emit_room(chat_state *st, const char *room, const char *event, json_object *data) {
    if (st->stopping || st->closed) {
        json_object_put(data);
        return;
    }
    st->h->sio_emit_room(st->self, CHAT_NSP, room, event, data, NULL);
}

int chat_db_ok(chat_state *st) {
    return !st->stopping || st->h->db_available(st->self);
}

void chat_log_db(chat_state *st, const char *what, const sh_db_result *res) {
    if (st->h->db_status(res) != SH_ERR_UNAVAILABLE)
        st->h->log(st->self, SH_LOG_ERROR, "%s failed: %s", what, st->h->db_error(res));
}

const char *chat_json_str(json_object *o, const char *key) {
    json_object *v = NULL;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

json_object *chat_arg_obj(json_object *args) {
    json_object *a = args ? json_object_array_get_idx(args, 0) : NULL;
    return a && json_object_is_type(a, json_type_object) ? a : NULL;
}

/* ---- bus --------------------------------------------------------------------------------------- */

static void on_room_updated(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!chat_live()) return;
    const char *room = chat_json_str(payload, "roomId");
    if (room) croom_invalidate(chat_g, room);
}

static void on_moderators(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!chat_live()) return;
    const char *room = chat_json_str(payload, "roomId");
    if (room) croom_invalidate(chat_g, room);
}

static void on_bans(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    if (!chat_live()) return;
    const char *room = chat_json_str(payload, "roomId");
    json_object *u = NULL, *until = NULL;
    if (!room || !json_object_object_get_ex(payload, "userId", &u) ||
        !json_object_object_get_ex(payload, "until", &until))
        return;
    int64_t uid = json_object_get_int64(u), t = json_object_get_int64(until);
    if (uid <= 0) return;
    ban_set(chat_g, room, uid, t < 0 ? UINT64_MAX : (uint64_t)t);
}

/* ---- lifecycle --------------------------------------------------------------------------------- */

static int chat_init(sh_plugin *self, const sh_host_api *h) {
    chat_state *st = &g_state;
    memset(st, 0, sizeof *st);
    st->self = self;
    st->h = h;
    if (!SH_HOST_HAS(h, sio_emit_args)) {
        h->log(self, SH_LOG_ERROR, "the host has no Socket.IO (SDK 1.1 needed)");
        return SH_ERR;
    }
    st->auth = h->service_get(self, SH_AUTH_SERVICE, 1, 0);
    st->rooms = h->service_get(self, SH_ROOMS_SERVICE, 1, 0);
    st->follow = h->service_get(self, SH_FOLLOW_SERVICE, 1, 0);
    if (!st->auth || !st->rooms) {
        h->log(self, SH_LOG_ERROR, "the auth and rooms services are required");
        return SH_ERR;
    }
    if (!st->follow)
        h->log(self, SH_LOG_WARN,
               "no follow service: rooms in followers-only mode accept only their streamer and moderators");
    st->max_chars = h->cfg_int(self, "max_chars");
    st->allow_newlines = h->cfg_bool(self, "allow_newlines");
    st->rate_limit = h->cfg_int(self, "rate_limit");
    st->rate_window_ms = h->cfg_int(self, "rate_window_ms");
    st->reaction_limit = h->cfg_int(self, "reaction_limit");
    st->reaction_window_ms = h->cfg_int(self, "reaction_window_ms");
    st->history_size = h->cfg_int(self, "history_size");
    st->room_cache_ms = h->cfg_int(self, "room_cache_ms");
    st->ban_cache_ms = h->cfg_int(self, "ban_cache_ms");
    st->follow_cache_ms = h->cfg_int(self, "follow_cache_ms");
    st->socket_queue = h->cfg_int(self, "socket_queue");
    st->room_queue = h->cfg_int(self, "room_queue");
    st->store_batch = h->cfg_int(self, "store_batch");

    uint64_t k[8];
    if (h->random_bytes(self, k, sizeof k) != SH_OK) {
        h->log(self, SH_LOG_ERROR, "no random bytes for the hash keys");
        return SH_ERR;
    }
    cmap_init(&st->rooms_map, k[0], k[1]);
    cmap_init(&st->socks_map, k[2], k[3]);
    cmap_init(&st->bans, k[4], k[5]);
    cmap_init(&st->follows, k[6], k[7]);

    if (sh_migrations_register(self, h, chat_migrations) != SH_OK) return SH_ERR;
    st->m_stored = h->metric_new(self, SH_METRIC_COUNTER, "chat_messages_stored_total", "Chat messages stored", NULL);
    st->m_reactions = h->metric_new(self, SH_METRIC_COUNTER, "chat_reactions_total", "Reactions sent to rooms", NULL);
    st->m_history =
        h->metric_new(self, SH_METRIC_COUNTER, "chat_history_sent_total", "chat-history answers sent", NULL);
    st->m_store_seconds = h->metric_new(self, SH_METRIC_HISTOGRAM, "chat_store_seconds",
                                        "Time from a chat message's arrival to its storage (acknowledgement)", NULL);
    for (int i = 0; i < R_COUNT; i++) {
        char labels[64];
        snprintf(labels, sizeof labels, "reason=\"%s\"", chat_reason_code[i]);
        st->m_refused[i] = h->metric_new(self, SH_METRIC_COUNTER, "chat_messages_refused_total",
                                         "Chat messages and reactions refused, by reason", labels);
    }
    int rc;
    if ((rc = h->bus_subscribe(self, SH_TOPIC_ROOM_UPDATED, on_room_updated, st)) != SH_OK ||
        (rc = h->bus_subscribe(self, CHAT_TOPIC_MODERATORS, on_moderators, st)) != SH_OK ||
        (rc = h->bus_subscribe(self, CHAT_TOPIC_BANS, on_bans, st)) != SH_OK || (rc = chat_sockets_init(st)) != SH_OK ||
        (rc = chat_messages_init(st)) != SH_OK || (rc = chat_history_init(st)) != SH_OK ||
        (rc = chat_moderation_init(st)) != SH_OK || (rc = chat_reactions_init(st)) != SH_OK) {
        h->log(self, SH_LOG_ERROR, "registration failed (status %d)", rc);
        return rc ? rc : SH_ERR;
    }
    chat_g = st;
    h->log(self, SH_LOG_INFO,
           "%" PRId64 " messages / %" PRId64 " ms per user and room, up to %" PRId64 " characters, history %" PRId64,
           st->rate_limit, st->rate_window_ms, st->max_chars, st->history_size);
    return SH_OK;
}

static int chat_start(sh_plugin *self) {
    chat_state *st = &g_state;
    st->t_sweep = st->h->timer_add(self, 5000, 1, chat_cache_sweep, st);
    if (!st->t_sweep) {
        st->h->log(self, SH_LOG_ERROR, "cannot start the sweep timer");
        return SH_ERR;
    }
    return SH_OK;
}

static void chat_stop(sh_plugin *self) {
    (void)self;
    chat_state *st = &g_state;
    if (st->t_sweep) st->h->timer_cancel(st->t_sweep);
    st->t_sweep = NULL;
    st->stopping = 1;
}

static void chat_fini(sh_plugin *self) {
    (void)self;
    chat_state *st = &g_state;
    if (!chat_g) return; /* init failed */
    st->closed = 1;
    chat_sockets_free_all(st); /* answers the acks of queued messages */
    chat_cache_free_all(st);   /* rooms (their queued messages), bans, follows */
    chat_g = NULL;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "chat",
    .version = "1.0.0",
    .description = "live chat: messages, history, rate limits, slow and followers-only modes, moderation, reactions",
    .provides = NULL,
    .requires = requires,
    .settings = settings,
    .init = chat_init,
    .start = chat_start,
    .stop = chat_stop,
    .fini = chat_fini,
};

SH_PLUGIN_EXPORT(desc)
