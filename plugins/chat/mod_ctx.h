/*
 * mod_ctx.h - the context of one moderation operation (moderation.c, bans.c), which may come from
 * a REST request or a socket event: both answer through mod_error / mod_ok.
 *
 * A context is a chain of asynchronous steps; it is freed when the operation is answered. It
 * holds its socket record (cs) while in flight. Loop thread.
 */
#ifndef SH_CHAT_MOD_CTX_H
#define SH_CHAT_MOD_CTX_H

#include "plugins/chat/chat_plugin.h"

#define ROLE_STREAMER    1 /* the room's owner only */
#define ROLE_MOD         2 /* the owner or one of the room's moderators */
#define REASON_MAX_CHARS 200
#define BAN_MAX_SECONDS  31536000 /* a timeout of at most a year; no duration = permanent */

/* The CTE "l" of a statement on a target user (bans.c's target_query: $1 room_pk, $2 target id,
 * $3 actor id, $4 actor name, $5 target name): the moderation-log row of `action` by the actor on
 * the target, written once per row of `from` (a CTE name, optionally with a WHERE). */
#define MOD_LOG_TARGET(action, from)                                                                                   \
    "l AS (INSERT INTO chat_moderation_log (room_pk, actor_id, actor_name, action, target_id, target_name) "           \
    "  SELECT $1::bigint, $3::bigint, $4, '" action "', $2::bigint, $5 FROM " from ") "

typedef struct mctx mctx;
typedef void (*mod_step)(mctx *c);

struct mctx {
    chat_state *st;
    sh_request *req; /* REST, or a socket event: */
    sh_ack *ack;
    csock *cs; /* held */
    int64_t uid;
    char uid_s[24];
    char uname[UNAME_MAX + 1];
    char room[CHAT_ROOM_ID_MAX + 1];
    /* from the access check */
    char room_pk[24];
    int64_t owner_id;
    int actor_mod;
    char want_target[UNAME_MAX + 1]; /* username to resolve ("" = none) */
    int64_t target_id;
    char target_s[24];
    char target_name[UNAME_MAX + 1];
    int target_mod;
    /* operation arguments */
    int64_t message_id;
    char msg_s[24];
    int has_duration;
    int64_t duration;
    char dur_s[24];
    char reason[REASON_MAX_CHARS * 4 + 1];
    const char *before; /* borrowed from the request */
    int limit;
    int role;
    mod_step next;
    const char *list_key; /* mod_query_list: the answer's array */
};

/* A context for a REST request (signed in) or a socket event; NULL after answering (out of
 * memory, or an anonymous socket: not_authenticated). */
mctx *mod_ctx_req(chat_state *st, sh_request *req);
mctx *mod_ctx_sock(chat_state *st, sh_socket *s, sh_ack *ack);
/* Answer and free. mod_error: REST status + code; a socket gets ack {error} or chat-error.
 * mod_ok: REST status with body (NULL = no body); a socket's ack gets body or {ok:true}. */
void mod_error(mctx *c, int status, const char *code, const char *message);
void mod_ok(mctx *c, int status, json_object *body);
/* The database failed: 503/500 or {error: unavailable}. */
void mod_db_error(mctx *c, const sh_db_result *res);
/* Start of every callback: 1 when c was answered/freed (plugin closed, or the query failed). */
int mod_failed(mctx *c, const sh_db_result *res);
/* Check the room exists and the caller has `role` (and resolve want_target), then c->next(c). */
void mod_access(mctx *c, int role, mod_step next);
/* db_query for a context (the callback always runs). */
void mod_query(mctx *c, const char *sql, int n, const char *const *params, sh_db_cb cb);
/* A query whose rows are one JSON text each (unparsable ones are skipped): answers 200
 * {key: [row, ...]} through mod_ok. key must outlive the query (a literal). */
void mod_query_list(mctx *c, const char *key, const char *sql, int n, const char *const *params);
/* In a callback: the first value of the answer (a count) is there and not 0. */
int mod_counted(mctx *c, const sh_db_result *res);
/* The room of a socket event ({roomId} or the socket's chat room) into c->room: 0, or -1 after
 * answering. */
int mod_sock_room(mctx *c, json_object *arg);

int chat_bans_init(chat_state *st);

#endif
