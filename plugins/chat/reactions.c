/*
 * reactions.c - send-reaction {emoji, roomId?} (ack optional): a signed-in member of the room
 * sends one emoji (chat_emoji_valid); unless banned there or over reaction_limit per
 * reaction_window_ms (rate_hit, shared by the nodes), the room gets reaction {emoji, userId} on
 * every node. Nothing is stored. Refusals: chat-error (and ack {error}) with not_authenticated,
 * invalid_reaction, not_in_room, banned, rate_limited. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"

static const sh_host_api *H; /* for acks answered after fini */

typedef struct react {
    csock *cs; /* held */
    sh_ack *ack;
    int64_t user_id;
    char room[CHAT_ROOM_ID_MAX + 1];
    char emoji[CHAT_EMOJI_MAX_BYTES + 1];
} react;

static int react_closed(react *r) {
    if (chat_live()) return 0;
    if (r->ack) H->sio_ack(r->ack, NULL);
    free(r);
    return 1;
}

static void react_refuse(chat_state *st, react *r, int reason, const char *message, int64_t retry_s) {
    chat_count_refused(st, reason);
    chat_sock_error(st, r->cs->sock, r->ack, 1, chat_reason_code[reason], message, retry_s);
    cs_release(st, r->cs);
    free(r);
}

static void on_react_rate(int allowed, uint64_t retry_ms, void *ud) {
    react *r = ud;
    if (react_closed(r)) return;
    chat_state *st = chat_g;
    if (!allowed) {
        int64_t s = (int64_t)((retry_ms + 999) / 1000);
        react_refuse(st, r, R_RATE_LIMITED, "You are sending reactions too fast.", s < 1 ? 1 : s);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "emoji", json_object_new_string(r->emoji));
    json_object_object_add(o, "userId", json_object_new_int64(r->user_id));
    chat_emit_room(st, r->room, "reaction", o);
    st->h->metric_add(st->m_reactions, 1);
    if (r->ack) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "ok", json_object_new_boolean(1));
        st->h->sio_ack(r->ack, a);
    }
    cs_release(st, r->cs);
    free(r);
}

static void on_react_ban(int status, uint64_t until_ms, void *ud) {
    react *r = ud;
    if (react_closed(r)) return;
    chat_state *st = chat_g;
    if (status != SH_OK) {
        react_refuse(st, r, R_UNAVAILABLE, "The database is unavailable; try again.", -1);
        return;
    }
    uint64_t now = st->h->wall_ms(st->self);
    if (until_ms > now) {
        react_refuse(st, r, R_BANNED, "You are banned from this chat.",
                     until_ms == UINT64_MAX ? -1 : (int64_t)((until_ms - now + 999) / 1000));
        return;
    }
    char key[128];
    snprintf(key, sizeof key, "chat:r:%s:%" PRId64, r->room, r->user_id);
    st->h->rate_hit(st->self, key, (int)st->reaction_limit, (uint64_t)st->reaction_window_ms, on_react_rate, r);
}

static void h_send_reaction(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    chat_state *st = ud;
    csock *cs = st->h->sio_get_data(s, st->self);
    if (!cs || cs->user_id <= 0) {
        chat_count_refused(st, R_NOT_AUTHENTICATED);
        chat_sock_error(st, s, ack, 1, "not_authenticated", "Sign in to react.", -1);
        return;
    }
    json_object *arg = json_object_array_get_idx(args, 0), *v = NULL;
    if (arg && json_object_is_type(arg, json_type_object))
        json_object_object_get_ex(arg, "emoji", &v);
    else
        v = arg;
    if (!v || !json_object_is_type(v, json_type_string) ||
        !chat_emoji_valid(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
        chat_count_refused(st, R_INVALID_MESSAGE);
        chat_sock_error(st, s, ack, 1, "invalid_reaction", "emoji must be exactly one emoji.", -1);
        return;
    }
    int why = R_NOT_IN_ROOM;
    const char *room = chat_event_room(st, cs, arg && json_object_is_type(arg, json_type_object) ? arg : NULL, &why);
    if (!room) {
        chat_count_refused(st, why);
        chat_sock_error(st, s, ack, 1, chat_reason_code[why], "Join the room first.", -1);
        return;
    }
    react *r = calloc(1, sizeof *r);
    if (!r) {
        chat_sock_error(st, s, ack, 1, "unavailable", "Out of memory.", -1);
        return;
    }
    r->cs = cs;
    cs_hold(cs);
    r->ack = ack;
    r->user_id = cs->user_id;
    snprintf(r->room, sizeof r->room, "%s", room);
    memcpy(r->emoji, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    ban_check(st, r->room, r->user_id, on_react_ban, r);
}

int chat_reactions_init(chat_state *st) {
    H = st->h;
    return st->h->sio_on(st->self, CHAT_NSP, "send-reaction", h_send_reaction, st);
}
