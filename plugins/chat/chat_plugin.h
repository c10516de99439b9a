/*
 * chat_plugin.h - the chat plugin's shared state and the functions its files call on each other.
 *
 * Files (one concern each):
 *   chat.c        descriptor, settings, init/start/stop/fini, bus subscriptions, metrics, replies
 *   sockets.c     per-socket records (connect/disconnect), the socket's chat room, chat-history
 *                 (on the rooms plugin's "room.joined", and on request)
 *   messages.c    chat-message: per-socket check pipeline, per-room storage queues (batched
 *                 inserts, one statement in flight per room), new-message broadcast
 *   cache.c       per-node caches: room modes and moderators (rooms->room_info + a query), bans
 *                 (invalidated by a cluster bus event), follows
 *   history.c     history queries: chat-history and GET /api/rooms/:roomId/messages
 *   moderation.c  access checks, delete-message, clear-chat, bans, moderators, moderation log
 *                 (REST and socket events)
 *   reactions.c   send-reaction
 *   chat_text.c   message and emoji validation (pure)
 *   chat_map.c    string hash map (pure)
 *
 * There is one instance (plugins load once); `chat_g` points at it and is NULL after fini.
 * Teardown: the core answers pending queries, rate-limit hits and Redis commands after the loop
 * stopped (the rate limiter after the database pool is gone): continuations then must not start
 * new queries (chat_db_ok) but answer "unavailable" at once. Any callback arriving after fini
 * first checks chat_live() and then only answers its acks and frees its own context (never a
 * record fini freed). Everything runs on the loop thread.
 *
 * Ownership of a chat message (cmsg) in flight: exactly one of its socket's queue, its room's
 * waiters or storage queue, a storage batch, or the asynchronous check it waits on.
 */
#ifndef SH_CHAT_PLUGIN_H
#define SH_CHAT_PLUGIN_H

#include <stdint.h>
#include <streamhub/auth.h>
#include <streamhub/follow.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>

#include "plugins/chat/chat_map.h"
#include "plugins/chat/chat_text.h"

#define CHAT_NSP  "/"
#define SID_MAX   64
#define UNAME_MAX 32 /* usernames are at most 30 characters */

/* Bus topics of this plugin (all published with SH_BUS_CLUSTER). */
#define CHAT_TOPIC_MESSAGE    "chat.message"    /* {roomId, messageId}: rooms counts it per stream */
#define CHAT_TOPIC_BANS       "chat.bans"       /* {roomId, userId, until}: until ms, 0 = unbanned, -1 = permanent */
#define CHAT_TOPIC_MODERATORS "chat.moderators" /* {roomId}: the room's moderators changed */
/* Published by the rooms plugin (locally) after each accepted join-room: the history goes out then. */
#define CHAT_TOPIC_ROOM_JOINED "room.joined" /* {roomId, socketId, userId, username} */

typedef struct cmsg cmsg;
typedef struct croom croom;

/* One socket of "/" on this node (created on connect). `sock` is NULL once it disconnected; the
 * record is freed when that happened and nothing holds it (refs). */
typedef struct csock {
    sh_socket *sock;
    char sid[SID_MAX];
    int64_t user_id;
    char username[UNAME_MAX + 1];
    char room[CHAT_ROOM_ID_MAX + 1]; /* its chat room: set by chat-history / room.joined */
    cmsg *qhead, *qtail;             /* messages waiting for their checks, in the order sent */
    int qlen;
    int busy;    /* the head of the queue is being checked */
    int pumping; /* inside cs_pump (checks may answer synchronously) */
    int refs;    /* operations in flight holding this record */
    struct csock *prev, *next;
} csock;

/* A chat message from the moment it passed validation until it is answered. */
struct cmsg {
    cmsg *next;
    csock *cs; /* holds a ref; NULL after fini */
    sh_ack *ack;
    int64_t user_id;
    char username[UNAME_MAX + 1];
    char room[CHAT_ROOM_ID_MAX + 1];
    char *text; /* trimmed, NUL-terminated copy */
    size_t len;
    int priv;         /* the room's owner or a moderator: exempt from the room's modes */
    int64_t owner_id; /* the room's streamer */
    int slow, fo, fo_minutes;
    uint64_t t0_ms; /* when it arrived (latency metric) */
};

/* A waiter for a room's info (modes and moderators). */
typedef void (*croom_cb)(croom *cr, int status, void *ud);
typedef struct cwait {
    croom_cb cb;
    void *ud;
    struct cwait *next;
} cwait;

/* One room as this node's chat sees it: cached modes and moderators, and the storage queue. */
struct croom {
    char id[CHAT_ROOM_ID_MAX + 1];
    int loading;        /* a load is in flight */
    int loaded;         /* the fields below are valid (until stale) */
    uint64_t loaded_ms; /* monotonic */
    unsigned gen;       /* bumped on room.updated / chat.moderators: a load in flight is stale */
    int64_t owner_id;
    int slow, fo, fo_minutes;
    int64_t *mods;
    size_t nmods;
    cwait *waiters, *waiters_tail;
    cmsg *qhead, *qtail; /* messages waiting to be stored, in order */
    size_t qlen;
    int inflight;     /* a storage batch is in flight */
    uint64_t used_ms; /* last use (sweep) */
};

typedef struct chat_state {
    sh_plugin *self;
    const sh_host_api *h;
    const sh_auth_api *auth;
    const sh_rooms_api *rooms;
    const sh_follow_api *follow; /* may be NULL (follow is optional) */
    int closed;                  /* fini ran */
    int stopping;                /* stop ran: no more emits */
    /* settings */
    int64_t max_chars, rate_limit, rate_window_ms, reaction_limit, reaction_window_ms, history_size;
    int64_t room_cache_ms, ban_cache_ms, follow_cache_ms, socket_queue, room_queue, store_batch;
    int allow_newlines;
    /* tables */
    cmap rooms_map; /* room id -> croom* */
    cmap socks_map; /* socket id -> csock* */
    cmap bans;      /* "<room>/<user id>" -> bentry* */
    cmap follows;   /* "<user id>/<streamer id>" -> fentry* */
    unsigned ban_gen;
    csock *socks; /* every record, including disconnected ones still held */
    sh_timer *t_sweep;
    /* metrics */
    sh_metric *m_stored, *m_reactions, *m_store_seconds, *m_history;
    sh_metric *m_refused[12];
} chat_state;

extern chat_state *chat_g;

static inline int chat_live(void) {
    return chat_g && !chat_g->closed;
}

/* ---- chat.c ---------------------------------------------------------------------------------- */
/* Refusal reasons (metric label, chat-error code). */
enum {
    R_RATE_LIMITED,
    R_SLOW_MODE,
    R_FOLLOWERS_ONLY,
    R_BANNED,
    R_NOT_AUTHENTICATED,
    R_INVALID_MESSAGE,
    R_NOT_IN_ROOM,
    R_ROOM_NOT_FOUND,
    R_UNAVAILABLE,
    R_BUSY,
    R_COUNT
};
extern const char *const chat_reason_code[R_COUNT];
void chat_count_refused(chat_state *st, int reason);

/* Answer a socket-originated operation: with `ack` {error:{code, message, retryAfter?}} and, when
 * `emit_event` or there is no ack, the event chat-error {code, message, retryAfter?} to `sock`
 * (may be NULL: gone). retry_after_s < 0 = none. */
void chat_sock_error(chat_state *st, sh_socket *sock, sh_ack *ack, int emit_event, const char *code,
                     const char *message, int64_t retry_after_s);
/* Emit to a Socket.IO room on every node (takes data); dropped once stopping. */
void chat_emit_room(chat_state *st, const char *room, const char *event, json_object *data);
/* 0 when a query issued now might never be answered: stop ran and the database pool is gone (the
 * core answers pending rate-limit hits and Redis commands while it tears down, after the pool
 * and the loop stopped: a db_query from there would never call back). Callers then answer
 * "unavailable" at once. */
int chat_db_ok(chat_state *st);
/* Log a failed query unless it is only "database unavailable". */
void chat_log_db(chat_state *st, const char *what, const sh_db_result *res);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" of a timestamptz column, for SQL. */
#define CHAT_ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* The string of a JSON value when it is a string, else NULL. */
const char *chat_json_str(json_object *o, const char *key);
/* The first argument of an event when it is an object, else NULL. */
json_object *chat_arg_obj(json_object *args);

/* ---- sockets.c ------------------------------------------------------------------------------- */
int chat_sockets_init(chat_state *st);
void cs_hold(csock *cs);
void cs_release(chat_state *st, csock *cs);
void chat_sockets_free_all(chat_state *st);
/* The room an event is about: {roomId} when given (must be a room id), else the socket's chat
 * room; and the socket must be in that Socket.IO room. NULL (and *why set to a reason) if none. */
const char *chat_event_room(chat_state *st, csock *cs, json_object *arg, int *why);

/* ---- messages.c ------------------------------------------------------------------------------ */
int chat_messages_init(chat_state *st);
/* Refuse and free every message still queued on a socket (fini / a freed record). */
void cs_drop_queue(chat_state *st, csock *cs, const char *code);
/* Refuse and free a room's queued messages (fini). */
void croom_drop_queue(chat_state *st, croom *cr);
void cmsg_free(cmsg *m);

/* ---- cache.c --------------------------------------------------------------------------------- */
/* The record of `room_id`, created when `create`. NULL when absent (or out of memory). */
croom *croom_get(chat_state *st, const char *room_id, int create);
/* Call cb(cr, status, ud) with the room's info fresh enough: now when cached, else after a load.
 * status SH_OK, SH_ERR_NOTFOUND or SH_ERR_UNAVAILABLE. May call back before it returns. */
void croom_with_info(chat_state *st, croom *cr, croom_cb cb, void *ud);
int croom_is_mod(const croom *cr, int64_t user_id);
/* Drop the cached info of a room (room.updated, chat.moderators). */
void croom_invalidate(chat_state *st, const char *room_id);
/* Ban state of (room, user): cb(status, until_ms, ud) with until_ms 0 = not banned, UINT64_MAX =
 * permanent, else the wall-clock end of a timeout. May call back before it returns. */
typedef void (*ban_cb)(int status, uint64_t until_ms, void *ud);
void ban_check(chat_state *st, const char *room_id, int64_t user_id, ban_cb cb, void *ud);
/* A ban changed (from the bus, or just now on this node): set the cache entry. */
void ban_set(chat_state *st, const char *room_id, int64_t user_id, uint64_t until_ms);
/* follows_since with a cache of positive answers. */
void follow_check(chat_state *st, int64_t user_id, int64_t streamer_id, sh_follow_cb cb, void *ud);
/* The sweep timer: expired cache entries and idle rooms. */
void chat_cache_sweep(void *ud);
void chat_cache_free_all(chat_state *st);

/* ---- history.c ------------------------------------------------------------------------------- */
int chat_history_init(chat_state *st);
/* Send chat-history {roomId, messages} to the socket (and answer ack with the same, if given). */
void chat_history_send(chat_state *st, csock *cs, const char *room_id, sh_ack *ack);

/* ---- moderation.c / reactions.c ------------------------------------------------------------- */
int chat_moderation_init(chat_state *st);
int chat_reactions_init(chat_state *st);

#endif
