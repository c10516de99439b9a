/*
 * notify.c - notifications.
 *
 * Fan-out: on "stream.started" (published on the node that ingests the stream, so one node does
 * this per stream) the room is looked up through the `rooms` service, then ONE statement stores a
 * "stream-started" notification {roomId, title, streamer} for every follower of the room's
 * streamer (INSERT ... SELECT ... RETURNING id, user_id). The `notification {id, type, data}`
 * events are then emitted to each follower's private Socket.IO room "user:<id>" (which reaches
 * every node through Redis) in batches of fanout_batch, one batch per timer turn, so that a
 * streamer with many followers never holds the loop.
 *
 *   GET  /api/notifications (auth)       {notifications:[{id, type, createdAt, read, data}],
 *                                         unread, nextCursor}, newest first (limit, cursor)
 *   POST /api/notifications/read (auth)  {ids:[...]} or {all:true}; 204
 *
 * Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/follow/follow_plugin.h"

#define IDS_MAX 1000

struct fanout {
    follow_state *st;
    int64_t *ids, *users;
    size_t n, next;
    json_object *data; /* shared by every event (reference per emit) */
    sh_timer *timer;
    fanout *next_f;
};

static void fanout_free(follow_state *st, fanout *f) {
    for (fanout **pp = &st->fanouts; *pp; pp = &(*pp)->next_f)
        if (*pp == f) {
            *pp = f->next_f;
            break;
        }
    if (f->timer) st->h->timer_cancel(f->timer);
    json_object_put(f->data);
    free(f->ids);
    free(f->users);
    free(f);
}

void follow_notify_stop(follow_state *st) {
    while (st->fanouts)
        fanout_free(st, st->fanouts);
}

static void fanout_batch(void *ud) {
    fanout *f = ud;
    follow_state *st = f->st;
    if (!follow_live() || st->stopping) return;
    size_t end = f->next + (size_t)st->batch < f->n ? f->next + (size_t)st->batch : f->n;
    for (; f->next < end; f->next++) {
        char room[40];
        snprintf(room, sizeof room, "user:%" PRId64, f->users[f->next]);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(f->ids[f->next]));
        json_object_object_add(o, "type", json_object_new_string("stream-started"));
        json_object_object_add(o, "data", json_object_get(f->data));
        st->h->sio_emit_room(st->self, "/", room, "notification", o, NULL);
    }
    /* done: free it (cancelling the repeating timer from inside its callback is allowed); without a
     * timer the caller frees it */
    if (f->next >= f->n && f->timer) fanout_free(st, f);
}

static void on_stored(const sh_db_result *res, void *ud) {
    char *room = ud;
    if (!follow_live()) {
        free(room);
        return;
    }
    follow_state *st = follow_g;
    const sh_host_api *h = st->h;
    if (st->stopping) { /* stored; the events are not sent while the server shuts down */
        free(room);
        return;
    }
    if (h->db_status(res) != SH_OK) {
        h->log(st->self, SH_LOG_ERROR, "stream-started notifications for room %s not stored: %s", room,
               h->db_error(res));
        free(room);
        return;
    }
    int n = h->db_nrows(res);
    free(room);
    if (n < 1) return; /* nobody follows this streamer */
    fanout *f = calloc(1, sizeof *f);
    if (f) {
        f->st = st;
        f->ids = calloc((size_t)n, sizeof *f->ids);
        f->users = calloc((size_t)n, sizeof *f->users);
    }
    json_object *data = NULL;
    for (int i = 0; i < n && !data; i++)
        data = json_tokener_parse(h->db_value(res, i, 2) ? h->db_value(res, i, 2) : "");
    if (!f || !f->ids || !f->users || !data) {
        h->log(st->self, SH_LOG_ERROR, "out of memory: %d stored notifications not emitted", n);
        json_object_put(data);
        if (f) {
            free(f->ids);
            free(f->users);
        }
        free(f);
        return;
    }
    f->data = data;
    for (int i = 0; i < n; i++) {
        f->ids[i] = strtoll(h->db_value(res, i, 0), NULL, 10);
        f->users[i] = strtoll(h->db_value(res, i, 1), NULL, 10);
    }
    f->n = (size_t)n;
    h->metric_add(st->m_notified, n);
    f->next_f = st->fanouts;
    st->fanouts = f;
    if (f->n > (size_t)st->batch) { /* the rest on the timer */
        f->timer = h->timer_add(st->self, (uint64_t)st->interval_ms, 1, fanout_batch, f);
        if (!f->timer)
            h->log(st->self, SH_LOG_ERROR, "no timer: only %lld notifications emitted", (long long)st->batch);
    }
    sh_timer *timer = f->timer;
    fanout_batch(f); /* the first batch now (frees f when it was the last, with a timer) */
    if (!timer) fanout_free(st, f);
}

static void on_room(int status, const sh_room_info *room, void *ud) {
    char *room_id = ud;
    if (!follow_live() || follow_g->stopping || status != SH_OK) {
        if (follow_live() && status != SH_ERR_NOTFOUND)
            follow_g->h->log(follow_g->self, SH_LOG_ERROR, "room %s unavailable: followers not notified", room_id);
        free(room_id);
        return;
    }
    follow_state *st = follow_g;
    char owner[24];
    snprintf(owner, sizeof owner, "%" PRId64, room->owner_id);
    const char *p[3] = {owner, room->room_id, room->title ? room->title : ""};
    if (st->h->db_query(st->self,
                        "WITH d AS (SELECT jsonb_build_object('roomId', $2::text, 'title', $3::text, 'streamer', "
                        "jsonb_build_object('id', u.id, 'username', u.username, 'displayName', u.display_name, "
                        "'avatarUrl', NULLIF(u.avatar_url, ''))) AS data FROM users u WHERE u.id = $1::bigint), "
                        "ins AS (INSERT INTO notifications (user_id, type, data) "
                        "SELECT f.follower_id, 'stream-started', d.data FROM follows f, d "
                        "WHERE f.following_id = $1::bigint RETURNING id, user_id) "
                        "SELECT ins.id, ins.user_id, CASE WHEN row_number() OVER () = 1 "
                        "THEN (SELECT data::text FROM d) END AS data FROM ins",
                        3, p, on_stored, room_id) == SH_ERR_NOMEM) {
        st->h->log(st->self, SH_LOG_ERROR, "out of memory: followers of room %s not notified", room_id);
        free(room_id);
    }
}

static void on_started(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    follow_state *st = ud;
    if (!follow_live() || st->stopping) return;
    json_object *room = NULL;
    if (!json_object_object_get_ex(payload, "roomId", &room) || !json_object_is_type(room, json_type_string)) return;
    char *room_id = strdup(json_object_get_string(room));
    if (!room_id) return;
    st->rooms->room_info(room_id, on_room, room_id);
}

/* ---- GET /api/notifications ------------------------------------------------------------------------ */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef struct nctx {
    follow_state *st;
    sh_request *req;
    int limit;
} nctx;

static void on_list(const sh_db_result *res, void *ud) {
    nctx *c = ud;
    if (!follow_live()) {
        free(c);
        return;
    }
    const sh_host_api *h = c->st->h;
    if (h->db_status(res) != SH_OK) {
        follow_respond_db(c->st, c->req, res);
        free(c);
        return;
    }
    json_object *out = follow_page_json(c->st, res, "notifications", 1, 0, c->limit, 'n');
    const char *unread = h->db_nrows(res) > 0 ? h->db_value(res, 0, 2) : "0";
    json_object_object_add(out, "unread", json_object_new_int64(unread ? strtoll(unread, NULL, 10) : 0));
    h->respond_json(c->req, 200, out);
    free(c);
}

static void h_list(sh_request *req, void *ud) {
    follow_state *st = ud;
    int limit;
    int64_t before;
    if (follow_page_params(st, req, 'n', 20, &limit, &before) < 0) return;
    nctx *c = calloc(1, sizeof *c);
    if (!c) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->st = st;
    c->req = req;
    c->limit = limit;
    char uid[24], b[24], l[24];
    snprintf(uid, sizeof uid, "%" PRId64, st->h->req_user_id(req));
    snprintf(b, sizeof b, "%" PRId64, before);
    snprintf(l, sizeof l, "%d", limit + 1);
    const char *p[3] = {uid, before ? b : NULL, l};
    if (st->h->db_query(
            st->self,
            "SELECT n.id, CASE WHEN n.id IS NOT NULL THEN json_build_object('id', n.id, 'type', n.type, "
            "'createdAt', " TS(
                "n.created_at") ", 'read', n.read, 'data', n.data)::text END, c.unread "
                                "FROM (SELECT count(*) AS unread FROM notifications WHERE user_id = $1::bigint AND NOT "
                                "read) c "
                                "LEFT JOIN LATERAL (SELECT * FROM notifications WHERE user_id = $1::bigint "
                                "AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3::int) n ON true "
                                "ORDER BY n.id DESC NULLS LAST",
            3, p, on_list, c) == SH_ERR_NOMEM) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

/* ---- POST /api/notifications/read ------------------------------------------------------------------ */

static void on_read(const sh_db_result *res, void *ud) {
    nctx *c = ud;
    if (!follow_live()) {
        free(c);
        return;
    }
    if (c->st->h->db_status(res) != SH_OK)
        follow_respond_db(c->st, c->req, res);
    else
        c->st->h->respond_json(c->req, 204, NULL);
    free(c);
}

static void h_read(sh_request *req, void *ud) {
    follow_state *st = ud;
    const sh_host_api *h = st->h;
    json_object *body = h->req_json(req);
    if (!body) return;
    int all = 0;
    int rc = h->json_bool(req, body, "all", SH_JSON_OPTIONAL, &all);
    if (rc < 0) return;
    char *ids = NULL;
    if (!all) {
        json_object *arr = NULL;
        if (!json_object_object_get_ex(body, "ids", &arr) || !json_object_is_type(arr, json_type_array) ||
            json_object_array_length(arr) < 1 || json_object_array_length(arr) > IDS_MAX) {
            h->respond_error(req, 400, "invalid_field",
                             "Send ids (an array of 1 to 1000 notification ids) or all: true.", "ids");
            return;
        }
        size_t n = json_object_array_length(arr), len = 0;
        ids = malloc(n * 21 + 3);
        if (!ids) {
            h->respond_error(req, 500, "internal", "Out of memory.", NULL);
            return;
        }
        ids[len++] = '{';
        for (size_t i = 0; i < n; i++) {
            json_object *v = json_object_array_get_idx(arr, i);
            int64_t id = v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
            if (id <= 0 || id == INT64_MAX) {
                free(ids);
                h->respond_error(req, 400, "invalid_field", "ids must be positive integers.", "ids");
                return;
            }
            len += (size_t)sprintf(ids + len, "%s%" PRId64, i ? "," : "", id);
        }
        ids[len++] = '}';
        ids[len] = '\0';
    }
    nctx *c = calloc(1, sizeof *c);
    if (!c) {
        free(ids);
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->st = st;
    c->req = req;
    char uid[24];
    snprintf(uid, sizeof uid, "%" PRId64, h->req_user_id(req));
    const char *p[2] = {uid, ids};
    rc = all ? h->db_query(st->self, "UPDATE notifications SET read = true WHERE user_id = $1::bigint AND NOT read", 1,
                           p, on_read, c)
             : h->db_query(st->self,
                           "UPDATE notifications SET read = true WHERE user_id = $1::bigint AND NOT read "
                           "AND id = ANY($2::bigint[])",
                           2, p, on_read, c);
    free(ids);
    if (rc == SH_ERR_NOMEM) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

int follow_notify_init(follow_state *st) {
    const sh_host_api *h = st->h;
    if (h->bus_subscribe(st->self, SH_TOPIC_STREAM_STARTED, on_started, st) != SH_OK ||
        h->http_route(st->self, "GET", "/api/notifications", SH_ROUTE_AUTH, h_list, st) != SH_OK ||
        h->http_route(st->self, "POST", "/api/notifications/read", SH_ROUTE_AUTH, h_read, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
