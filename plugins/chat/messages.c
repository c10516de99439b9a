/*
 * messages.c - chat-message: from the event to the stored, broadcast message.
 *
 *   chat-message {message, roomId?}  (ack optional)
 *
 * 1. At once: the socket is signed in, the text passes chat_text_check, the socket is in the
 *    room (the roomId given, else its chat room). Refused: chat-error + ack {error}.
 * 2. Per socket, one message at a time in the order sent (so one sender's messages keep their
 *    order whatever each check costs): the room's info (cached: owner, moderators, modes), the
 *    ban cache, the rate limit (rate_hit, shared by the nodes through Redis), followers-only
 *    (follow service, cached), slow mode (rate_hit with a limit of 1 per N seconds, last so that
 *    it is only spent on a message that will be stored). The owner and moderators skip the modes.
 * 3. Per room, a FIFO storage queue: one INSERT statement in flight per room (so ids follow the
 *    queue's order), taking up to store_batch queued messages at once. Rooms never wait on each
 *    other (the database pool runs several rooms' statements at once).
 * 4. Stored: new-message {id, userId, username, message, timestamp} to the room on every node
 *    (sio_emit_room encodes it once), then the sender's ack {id}; chat.message on the bus.
 *    Storage failed: the ack gets {error: unavailable}: an acknowledged message is never lost.
 *
 * Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/chat/chat_plugin.h"

static const sh_host_api *H; /* for acks answered after fini */

static void cs_pump(chat_state *st, csock *cs);

void cmsg_free(cmsg *m) {
    if (!m) return;
    free(m->text);
    free(m);
}

/* The end of a message on the live path: free it and release its socket record. */
static void msg_done(chat_state *st, cmsg *m) {
    csock *cs = m->cs;
    cmsg_free(m);
    if (cs) cs_release(st, cs);
}

/* After fini: only answer the ack and free the message (the socket record is gone). */
static void msg_drop_closed(cmsg *m) {
    if (m->ack) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "code", json_object_new_string("unavailable"));
        json_object_object_add(e, "message", json_object_new_string("The server is shutting down."));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "error", e);
        H->sio_ack(m->ack, o);
    }
    cmsg_free(m);
}

static void msg_refuse(chat_state *st, cmsg *m, int reason, const char *message, int64_t retry_s) {
    chat_count_refused(st, reason);
    const char *code = reason == R_BUSY ? "rate_limited" : chat_reason_code[reason];
    if (reason == R_BUSY && retry_s < 0) retry_s = 1;
    chat_sock_error(st, m->cs ? m->cs->sock : NULL, m->ack, 1, code, message, retry_s);
    m->ack = NULL;
    msg_done(st, m);
}

void cs_drop_queue(chat_state *st, csock *cs, const char *code) {
    (void)code;
    while (cs->qhead) {
        cmsg *m = cs->qhead;
        cs->qhead = m->next;
        cs->qlen--;
        m->cs = NULL; /* the caller is freeing the record */
        if (chat_live()) {
            chat_count_refused(st, R_UNAVAILABLE);
            chat_sock_error(st, NULL, m->ack, 0, "unavailable", "The server is shutting down.", -1);
            cmsg_free(m);
        } else {
            msg_drop_closed(m);
        }
    }
    cs->qtail = NULL;
}

void croom_drop_queue(chat_state *st, croom *cr) {
    (void)st;
    while (cr->qhead) {
        cmsg *m = cr->qhead;
        cr->qhead = m->next;
        m->cs = NULL;
        msg_drop_closed(m);
    }
    cr->qtail = NULL;
    cr->qlen = 0;
}

static int64_t ceil_s(uint64_t ms) {
    int64_t s = (int64_t)((ms + 999) / 1000);
    return s < 1 ? 1 : s;
}

/* ---- storage ----------------------------------------------------------------------------------- */

typedef struct batch {
    char room[CHAT_ROOM_ID_MAX + 1];
    cmsg *head; /* the messages of the statement, in queue order */
    size_t n;
} batch;

static void room_flush(chat_state *st, croom *cr);

static json_object *message_json(const cmsg *m, int64_t id, const char *ts) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(id));
    json_object_object_add(o, "userId", json_object_new_int64(m->user_id));
    json_object_object_add(o, "username", json_object_new_string(m->username));
    json_object_object_add(o, "message", json_object_new_string_len(m->text, (int)m->len));
    json_object_object_add(o, "timestamp", json_object_new_string(ts ? ts : ""));
    return o;
}

static void on_stored(const sh_db_result *res, void *ud) {
    batch *b = ud;
    if (!chat_live()) {
        while (b->head) {
            cmsg *m = b->head;
            b->head = m->next;
            msg_drop_closed(m);
        }
        free(b);
        return;
    }
    chat_state *st = chat_g;
    const sh_host_api *h = st->h;
    int status = h->db_status(res);
    int rows = status == SH_OK ? h->db_nrows(res) : 0;
    uint64_t now = h->now_ms(st->self);
    if (status != SH_OK) chat_log_db(st, "storing chat messages", res);
    if (status == SH_OK && rows != 0 && (size_t)rows != b->n)
        h->log(st->self, SH_LOG_ERROR, "stored %d chat messages of %zu", rows, b->n);
    size_t i = 0;
    while (b->head) {
        cmsg *m = b->head;
        b->head = m->next;
        m->next = NULL;
        if (status == SH_OK && (size_t)rows == b->n) {
            const char *ids = h->db_value(res, (int)i, 0), *ts = h->db_value(res, (int)i, 1);
            int64_t id = ids ? strtoll(ids, NULL, 10) : 0;
            chat_emit_room(st, m->room, "new-message", message_json(m, id, ts));
            if (m->ack) {
                json_object *a = json_object_new_object();
                json_object_object_add(a, "id", json_object_new_int64(id));
                h->sio_ack(m->ack, a);
                m->ack = NULL;
            }
            json_object *ev = json_object_new_object();
            json_object_object_add(ev, "roomId", json_object_new_string(m->room));
            json_object_object_add(ev, "messageId", json_object_new_int64(id));
            h->bus_publish(st->self, CHAT_TOPIC_MESSAGE, ev, SH_BUS_CLUSTER);
            h->metric_add(st->m_stored, 1);
            h->metric_observe(st->m_store_seconds, (double)(now - m->t0_ms) / 1000.0);
            msg_done(st, m);
        } else if (status == SH_OK && rows == 0) {
            msg_refuse(st, m, R_ROOM_NOT_FOUND, "This room no longer exists.", -1);
        } else {
            msg_refuse(st, m, R_UNAVAILABLE, "The message could not be stored; try again.", -1);
        }
        i++;
    }
    croom *cr = croom_get(st, b->room, 0);
    free(b);
    if (cr) {
        cr->inflight = 0;
        room_flush(st, cr);
    }
}

#define STORE_SQL                                                                                                      \
    "WITH r AS (SELECT id FROM rooms WHERE room_id = $1), "                                                            \
    "ins AS (INSERT INTO chat_messages (room_pk, user_id, username, content) "                                         \
    "SELECT r.id, (t.e->>'u')::bigint, t.e->>'n', t.e->>'m' "                                                          \
    "FROM r, json_array_elements($2::json) WITH ORDINALITY AS t(e, ord) ORDER BY t.ord "                               \
    "RETURNING id, created_at) "                                                                                       \
    "SELECT id, " CHAT_ISO("created_at") " FROM ins ORDER BY id"

/* Start the next statement of a room when none is in flight. */
static void room_flush(chat_state *st, croom *cr) {
    if (cr->inflight || !cr->qhead) return;
    if (!chat_db_ok(st)) { /* shutting down and the pool is gone: these can no longer be stored */
        while (cr->qhead) {
            cmsg *m = cr->qhead;
            cr->qhead = m->next;
            cr->qlen--;
            msg_refuse(st, m, R_UNAVAILABLE, "The server is shutting down.", -1);
        }
        cr->qtail = NULL;
        return;
    }
    batch *b = calloc(1, sizeof *b);
    json_object *arr = json_object_new_array();
    if (!b || !arr) {
        free(b);
        json_object_put(arr);
        return; /* out of memory: the next message (or sweep) retries */
    }
    snprintf(b->room, sizeof b->room, "%s", cr->id);
    cmsg **tail = &b->head;
    while (cr->qhead && b->n < (size_t)st->store_batch) {
        cmsg *m = cr->qhead;
        cr->qhead = m->next;
        cr->qlen--;
        m->next = NULL;
        *tail = m;
        tail = &m->next;
        b->n++;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "u", json_object_new_int64(m->user_id));
        json_object_object_add(o, "n", json_object_new_string(m->username));
        json_object_object_add(o, "m", json_object_new_string_len(m->text, (int)m->len));
        json_object_array_add(arr, o);
    }
    if (!cr->qhead) cr->qtail = NULL;
    const char *params[2] = {
        b->room, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)};
    cr->inflight = 1;
    cr->used_ms = st->h->now_ms(st->self);
    /* the callback runs in every case (with an error result when the query could not be queued) */
    (void)st->h->db_query(st->self, STORE_SQL, 2, params, on_stored, b);
    json_object_put(arr);
}

static void room_enqueue(chat_state *st, cmsg *m) {
    croom *cr = croom_get(st, m->room, 1);
    if (!cr) {
        msg_refuse(st, m, R_UNAVAILABLE, "Out of memory.", -1);
        return;
    }
    if (cr->qlen >= (size_t)st->room_queue) {
        msg_refuse(st, m, R_BUSY, "The room's chat is too busy; try again.", 1);
        return;
    }
    m->next = NULL;
    if (cr->qtail)
        cr->qtail->next = m;
    else
        cr->qhead = m;
    cr->qtail = m;
    cr->qlen++;
    room_flush(st, cr);
}

/* ---- the checks ---------------------------------------------------------------------------------- */

/* The head message of its socket finished its checks: enqueue it for storage (reason < 0) or
 * refuse it; then the socket's next message may start. */
static void check_done(chat_state *st, cmsg *m, int reason, const char *message, int64_t retry_s) {
    csock *cs = m->cs;
    cs_hold(cs);
    if (reason < 0)
        room_enqueue(st, m);
    else
        msg_refuse(st, m, reason, message, retry_s);
    cs->busy = 0;
    cs_pump(st, cs);
    cs_release(st, cs);
}

/* Start of a check's callback: the plugin's state, or NULL after dropping m (the plugin closed). */
static chat_state *check_live(cmsg *m) {
    if (chat_live()) return chat_g;
    msg_drop_closed(m);
    return NULL;
}

/* A lookup of a check failed (status != SH_OK): refuse m as unavailable. 1 when m was refused. */
static int check_failed(chat_state *st, cmsg *m, int status) {
    if (status == SH_OK) return 0;
    check_done(st, m, R_UNAVAILABLE, "The database is unavailable; try again.", -1);
    return 1;
}

static void on_slow(int allowed, uint64_t retry_ms, void *ud) {
    cmsg *m = ud;
    chat_state *st = check_live(m);
    if (!st) return;
    if (!allowed) {
        char msg[96];
        snprintf(msg, sizeof msg, "Slow mode: one message every %d seconds.", m->slow);
        check_done(st, m, R_SLOW_MODE, msg, ceil_s(retry_ms));
    } else {
        check_done(st, m, -1, NULL, -1);
    }
}

static void step_slow(chat_state *st, cmsg *m) {
    if (m->slow <= 0 || m->priv) {
        check_done(st, m, -1, NULL, -1);
        return;
    }
    char key[128];
    snprintf(key, sizeof key, "chat:s:%s:%" PRId64, m->room, m->user_id);
    st->h->rate_hit(st->self, key, 1, (uint64_t)m->slow * 1000u, on_slow, m);
}

static void on_follow(int status, uint64_t since_ms, void *ud) {
    cmsg *m = ud;
    chat_state *st = check_live(m);
    if (!st || check_failed(st, m, status)) return;
    if (since_ms == 0) {
        check_done(st, m, R_FOLLOWERS_ONLY, "This chat is for followers only.", -1);
        return;
    }
    uint64_t need = since_ms + (uint64_t)m->fo_minutes * 60000u, now = st->h->wall_ms(st->self);
    if (m->fo_minutes > 0 && need > now) {
        char msg[128];
        snprintf(msg, sizeof msg, "This chat is for followers of at least %d minutes.", m->fo_minutes);
        check_done(st, m, R_FOLLOWERS_ONLY, msg, ceil_s(need - now));
        return;
    }
    step_slow(st, m);
}

static void on_rate(int allowed, uint64_t retry_ms, void *ud) {
    cmsg *m = ud;
    chat_state *st = check_live(m);
    if (!st) return;
    if (!allowed) {
        check_done(st, m, R_RATE_LIMITED, "You are sending messages too fast.", ceil_s(retry_ms));
        return;
    }
    if (m->fo && !m->priv) {
        if (!st->follow) {
            check_done(st, m, R_FOLLOWERS_ONLY, "This chat is for followers only.", -1);
            return;
        }
        follow_check(st, m->user_id, m->owner_id, on_follow, m);
        return;
    }
    step_slow(st, m);
}

static void on_ban(int status, uint64_t until_ms, void *ud) {
    cmsg *m = ud;
    chat_state *st = check_live(m);
    if (!st || check_failed(st, m, status)) return;
    uint64_t now = st->h->wall_ms(st->self);
    if (until_ms == UINT64_MAX) {
        check_done(st, m, R_BANNED, "You are banned from this chat.", -1);
        return;
    }
    if (until_ms > now) {
        check_done(st, m, R_BANNED, "You are timed out in this chat.", ceil_s(until_ms - now));
        return;
    }
    char key[128];
    snprintf(key, sizeof key, "chat:m:%s:%" PRId64, m->room, m->user_id);
    st->h->rate_hit(st->self, key, (int)st->rate_limit, (uint64_t)st->rate_window_ms, on_rate, m);
}

static void on_room_info(croom *cr, int status, void *ud) {
    cmsg *m = ud;
    chat_state *st = check_live(m);
    if (!st) return;
    if (status == SH_ERR_NOTFOUND) {
        check_done(st, m, R_ROOM_NOT_FOUND, "No such room.", -1);
        return;
    }
    if (check_failed(st, m, status)) return;
    m->owner_id = cr->owner_id;
    m->priv = m->user_id == cr->owner_id || croom_is_mod(cr, m->user_id);
    m->slow = cr->slow;
    m->fo = cr->fo;
    m->fo_minutes = cr->fo_minutes;
    ban_check(st, m->room, m->user_id, on_ban, m);
}

static void msg_start(chat_state *st, cmsg *m) {
    croom *cr = croom_get(st, m->room, 1);
    if (!cr) {
        check_done(st, m, R_UNAVAILABLE, "Out of memory.", -1);
        return;
    }
    croom_with_info(st, cr, on_room_info, m);
}

/* Start the socket's queued messages one after the other. Checks may finish before they return
 * (cached answers): check_done then calls back here, and the loop below goes on. */
static void cs_pump(chat_state *st, csock *cs) {
    if (cs->pumping) return;
    cs->pumping = 1;
    cs_hold(cs);
    while (!cs->busy && cs->qhead && chat_live()) {
        cmsg *m = cs->qhead;
        cs->qhead = m->next;
        if (!cs->qhead) cs->qtail = NULL;
        cs->qlen--;
        m->next = NULL;
        cs->busy = 1;
        msg_start(st, m);
    }
    cs->pumping = 0;
    cs_release(st, cs);
}

/* ---- the event ------------------------------------------------------------------------------------- */

static void refuse_now(chat_state *st, sh_socket *s, sh_ack *ack, int reason, const char *message) {
    chat_count_refused(st, reason);
    chat_sock_error(st, s, ack, 1, chat_reason_code[reason], message, -1);
}

static void h_chat_message(sh_socket *s, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    chat_state *st = ud;
    const sh_host_api *h = st->h;
    csock *cs = h->sio_get_data(s, st->self);
    if (!cs) {
        refuse_now(st, s, ack, R_UNAVAILABLE, "Try again.");
        return;
    }
    if (cs->user_id <= 0) {
        refuse_now(st, s, ack, R_NOT_AUTHENTICATED, "Sign in to chat.");
        return;
    }
    json_object *arg = json_object_array_get_idx(args, 0), *v = NULL;
    if (arg && json_object_is_type(arg, json_type_object))
        json_object_object_get_ex(arg, "message", &v);
    else
        v = arg;
    if (!v || !json_object_is_type(v, json_type_string)) {
        refuse_now(st, s, ack, R_INVALID_MESSAGE, "message must be a string.");
        return;
    }
    size_t off = 0, len = 0, chars = 0;
    int rc = chat_text_check(json_object_get_string(v), (size_t)json_object_get_string_len(v), (size_t)st->max_chars,
                             st->allow_newlines, &off, &len, &chars);
    if (rc != CHAT_TEXT_OK) {
        char msg[128];
        if (rc == CHAT_TEXT_EMPTY || rc == CHAT_TEXT_TOO_LONG)
            snprintf(msg, sizeof msg, "A message is 1 to %" PRId64 " characters.", st->max_chars);
        else if (rc == CHAT_TEXT_BAD_UTF8)
            snprintf(msg, sizeof msg, "The message is not valid text (UTF-8).");
        else
            snprintf(msg, sizeof msg, "The message contains control characters%s.",
                     st->allow_newlines ? "" : " or line breaks");
        refuse_now(st, s, ack, R_INVALID_MESSAGE, msg);
        return;
    }
    int why = R_NOT_IN_ROOM;
    const char *room = chat_event_room(st, cs, arg && json_object_is_type(arg, json_type_object) ? arg : NULL, &why);
    if (!room) {
        refuse_now(st, s, ack, why,
                   why == R_NOT_IN_ROOM ? "Join the room first (join-room, then chat-history)." : "Bad roomId.");
        return;
    }
    if (cs->qlen >= st->socket_queue) {
        chat_count_refused(st, R_BUSY);
        chat_sock_error(st, s, ack, 1, "rate_limited", "Too many messages waiting; slow down.", 1);
        return;
    }
    cmsg *m = calloc(1, sizeof *m);
    char *text = m ? malloc(len + 1) : NULL;
    if (!text) {
        free(m);
        refuse_now(st, s, ack, R_UNAVAILABLE, "Out of memory.");
        return;
    }
    memcpy(text, json_object_get_string(v) + off, len);
    text[len] = '\0';
    m->text = text;
    m->len = len;
    m->cs = cs;
    m->ack = ack;
    m->user_id = cs->user_id;
    snprintf(m->username, sizeof m->username, "%s", cs->username);
    snprintf(m->room, sizeof m->room, "%s", room);
    m->t0_ms = h->now_ms(st->self);
    cs_hold(cs);
    if (cs->qtail)
        cs->qtail->next = m;
    else
        cs->qhead = m;
    cs->qtail = m;
    cs->qlen++;
    cs_pump(st, cs);
}

int chat_messages_init(chat_state *st) {
    H = st->h;
    return st->h->sio_on(st->self, CHAT_NSP, "chat-message", h_chat_message, st);
}
