/*
 * follow_plugin.h - the follow plugin's shared state and the functions its files call on each
 * other.
 *
 * Files:
 *   follow.c   descriptor, settings, init/start/stop/fini, the `follow` service (follow.h),
 *              small helpers (cursors, usernames, limits)
 *   routes.c   POST/DELETE /api/users/:username/follow, GET .../followers, .../following,
 *              GET /api/users/me/following/live
 *   notify.c   notifications: the stream.started fan-out (stored in one INSERT ... SELECT, then
 *              emitted in batches on timers), GET /api/notifications, POST /api/notifications/read
 *
 * One instance; `follow_g` is NULL after fini. Callbacks that can run after fini (the core
 * delivers database and bus callbacks while it tears down) check follow_live() and then only free
 * their own context. Loop thread.
 */
#ifndef SH_FOLLOW_PLUGIN_H
#define SH_FOLLOW_PLUGIN_H

#include <stdint.h>
#include <streamhub/follow.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>

#define FOLLOW_CURSOR_MAX 48

typedef struct fanout fanout;

typedef struct follow_state {
    sh_plugin *self;
    const sh_host_api *h;
    const sh_rooms_api *rooms;
    int closed;
    int stopping; /* stop ran: no more fan-outs */
    int64_t batch, interval_ms;
    fanout *fanouts; /* notification emits in progress */
    sh_metric *m_follows, *m_unfollows, *m_notified;
} follow_state;

extern follow_state *follow_g;

static inline int follow_live(void) {
    return follow_g && !follow_g->closed;
}

/* follow.c ---------------------------------------------------------------------------------- */
extern const sh_follow_api follow_service;
void follow_respond_db(follow_state *st, sh_request *req, const sh_db_result *res);
/* An opaque cursor for an id (base64url of "<tag>:<id>"); decode: 0 or -1. */
void follow_cursor_encode(char tag, int64_t id, char out[FOLLOW_CURSOR_MAX]);
int follow_cursor_decode(const char *s, char tag, int64_t *id);
/* 1 if `s` may be a username (3..30 of A-Z a-z 0-9 _). */
int follow_username_ok(const char *s);
/* Query parameters `limit` (1..100, default def) and `cursor` (tag); 0, or -1 after 400.
 * *before = 0 when there is no cursor. */
int follow_page_params(follow_state *st, sh_request *req, char tag, int def, int *limit, int64_t *before);
/* A page answer: {<key>: [rows' JSON column `col`], nextCursor}, where the query fetched limit+1
 * rows with the keyset id in column `idcol` (rows whose `col` is NULL are skipped). */
json_object *follow_page_json(follow_state *st, const sh_db_result *res, const char *key, int col, int idcol, int limit,
                              char tag);

/* routes.c / notify.c -------------------------------------------------------------------------- */
int follow_routes(follow_state *st);
int follow_notify_init(follow_state *st);
void follow_notify_stop(follow_state *st);

#endif
