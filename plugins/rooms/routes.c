/*
 * routes.c - the rooms REST routes other than the list (see docs/API.md, "Rooms and streams"):
 *
 *   POST   /api/rooms (auth)                create the caller's room; 409 room_exists
 *   GET    /api/rooms/:roomId               one room, with its current viewer count
 *   PATCH  /api/rooms/:roomId (auth, owner) title, description, category, slow mode,
 *                                           followers-only; publishes room.updated (cluster)
 *   DELETE /api/rooms/:roomId (auth, owner) 204; 409 room_live while a stream is live
 *   GET    /api/categories                  categories with their live room counts
 *   GET    /api/rooms/:roomId/streams       past streams, newest first (limit, cursor)
 *
 * A room's JSON comes from the rooms_public view (one definition for every answer); GET and
 * PATCH replace its viewerCount with the live count (presence.c). GET reads the JSON from the
 * room cache (roomcache.c) when it is there, else stores what it read; PATCH and DELETE drop it
 * on every node (rooms_room_changed). Handlers are chains of asynchronous steps over one
 * context, freed when the request is answered. Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

#define TITLE_MAX             140
#define DESCRIPTION_MAX       2000
#define SLOW_MAX              3600
#define FOLLOWERS_MINUTES_MAX 129600 /* 90 days */
#define CATEGORY_LOOKUP       "SELECT id FROM categories WHERE lower(id) = lower($1) OR lower(name) = lower($1) LIMIT 1"

typedef struct rctx {
    rooms_state *st;
    sh_request *req;
    int64_t uid;
    char uid_s[24];
    char room[ROOM_ID_MAX + 1];
    int attempts;
    int status;        /* of the final answer */
    struct rctx *next; /* GET: the next request waiting for the same room_fetch */
    /* create / patch fields (strings borrowed from the request body) */
    const char *title, *description, *category;
    int cat_given, cat_null;
    char category_id[64];
    int64_t slow, fo_minutes;
    int slow_given, fo_given, fo_minutes_given, fo;
} rctx;

static rctx *ctx_new(rooms_state *st, sh_request *req) {
    rctx *c = calloc(1, sizeof *c);
    if (!c) {
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return NULL;
    }
    c->st = st;
    c->req = req;
    c->uid = st->h->req_user_id(req);
    snprintf(c->uid_s, sizeof c->uid_s, "%lld", (long long)c->uid);
    c->status = 200;
    return c;
}

/* db_query for a context: 0, or -1 after answering 500 and freeing `c` (out of memory). */
static int ctx_db(rctx *c, const char *sql, int n, const char *const *params, sh_db_cb cb) {
    if (c->st->h->db_query(c->st->self, sql, n, params, cb, c) != SH_ERR_NOMEM) return 0;
    c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
    free(c);
    return -1;
}

/* Common start of a callback: 1 when the plugin is gone (c freed) or the query failed (answered,
 * c freed); 0 to go on. */
static int ctx_failed(rctx *c, const sh_db_result *res) {
    if (!rooms_live()) {
        free(c);
        return 1;
    }
    if (c->st->h->db_status(res) != SH_OK) {
        rooms_respond_db(c->st, c->req, res);
        free(c);
        return 1;
    }
    return 0;
}

static const char *room_param(rooms_state *st, sh_request *req) {
    const char *id = st->h->req_param(req, "roomId");
    if (rooms_id_valid(id)) return id;
    st->h->respond_error(req, 404, "room_not_found", "No such room.", NULL);
    return NULL;
}

/* ---- answering with a room ----------------------------------------------------------------------- */

typedef struct room_answer {
    rooms_state *st;
    sh_request *req;
    int status;
    json_object *room;
} room_answer;

static void on_live_count(int64_t count, void *ud) {
    room_answer *a = ud;
    if (count >= 0) json_object_object_add(a->room, "viewerCount", json_object_new_int64(count));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "room", a->room);
    a->st->h->respond_json(a->req, a->status, o);
    free(a);
}

/* Answer {room} from a room_json text, with the live viewer count. Frees c. */
static void answer_room(rctx *c, const char *room_json) {
    rooms_state *st = c->st;
    json_object *room = rooms_parse_json(room_json);
    room_answer *a = room ? calloc(1, sizeof *a) : NULL;
    if (!a) {
        json_object_put(room);
        st->h->respond_error(c->req, 500, "internal", "Cannot build the room.", NULL);
        free(c);
        return;
    }
    *a = (room_answer){st, c->req, c->status, room};
    json_object *id = NULL;
    json_object_object_get_ex(room, "id", &id);
    const char *rid = id ? json_object_get_string(id) : NULL;
    free(c);
    if (rooms_id_valid(rid))
        pres_count(st, rid, on_live_count, a);
    else
        on_live_count(-1, a);
}

static void on_room_row(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (ctx_failed(c, res)) return;
    if (c->st->h->db_nrows(res) < 1) {
        c->st->h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
        free(c);
        return;
    }
    answer_room(c, c->st->h->db_value(res, 0, 0));
}

#define ROOM_SELECT "SELECT room_json FROM rooms_public WHERE room_id = $1"

static void select_room(rctx *c) {
    const char *p[1] = {c->room};
    ctx_db(c, ROOM_SELECT, 1, p, on_room_row);
}

/* ---- field validation (create and patch) ----------------------------------------------------------- */

/* Read the body's fields into c; 0, or -1 when answered 400. patch: every field optional. */
static int read_fields(rctx *c, json_object *body, int patch) {
    const sh_host_api *h = c->st->h;
    sh_request *req = c->req;
    if (h->json_str(req, body, "title", 1, TITLE_MAX, patch ? SH_JSON_OPTIONAL : 0, &c->title) < 0) return -1;
    if (h->json_str(req, body, "description", 0, DESCRIPTION_MAX, SH_JSON_OPTIONAL | SH_JSON_MULTILINE,
                    &c->description) < 0)
        return -1;
    json_object *cat = NULL;
    if (json_object_object_get_ex(body, "category", &cat)) {
        c->cat_given = 1;
        if (!cat || (json_object_is_type(cat, json_type_string) && json_object_get_string_len(cat) == 0)) {
            c->cat_null = 1;
        } else {
            int rc = h->json_str(req, body, "category", 1, 50, 0, &c->category);
            if (rc < 0) return -1;
        }
    }
    if (!patch) return 0;
    int rc = h->json_int(req, body, "slowModeSeconds", 0, SLOW_MAX, SH_JSON_OPTIONAL, &c->slow);
    if (rc < 0) return -1;
    c->slow_given = rc == 0;
    rc = h->json_bool(req, body, "followersOnly", SH_JSON_OPTIONAL, &c->fo);
    if (rc < 0) return -1;
    c->fo_given = rc == 0;
    rc = h->json_int(req, body, "followersOnlyMinutes", 0, FOLLOWERS_MINUTES_MAX, SH_JSON_OPTIONAL, &c->fo_minutes);
    if (rc < 0) return -1;
    c->fo_minutes_given = rc == 0;
    return 0;
}

/* Resolve c->category (an id or a name, any case) into c->category_id, then call next(c).
 * Unknown: 400 invalid_field category. */
typedef void (*step_fn)(rctx *c);
typedef struct cat_step {
    rctx *c;
    step_fn next;
} cat_step;

static void on_category(const sh_db_result *res, void *ud) {
    cat_step *cs = ud;
    rctx *c = cs->c;
    step_fn next = cs->next;
    free(cs);
    if (ctx_failed(c, res)) return;
    if (c->st->h->db_nrows(res) < 1) {
        c->st->h->respond_error(c->req, 400, "invalid_field", "Unknown category (see GET /api/categories).",
                                "category");
        free(c);
        return;
    }
    snprintf(c->category_id, sizeof c->category_id, "%s", c->st->h->db_value(res, 0, 0));
    next(c);
}

static void resolve_category(rctx *c, step_fn next) {
    if (!c->category) {
        next(c);
        return;
    }
    cat_step *cs = calloc(1, sizeof *cs);
    if (!cs) {
        c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        free(c);
        return;
    }
    cs->c = c;
    cs->next = next;
    const char *p[1] = {c->category};
    if (c->st->h->db_query(c->st->self, CATEGORY_LOOKUP, 1, p, on_category, cs) == SH_ERR_NOMEM) {
        free(cs);
        c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

/* ---- POST /api/rooms ------------------------------------------------------------------------------ */

static void create_insert(rctx *c);

static void on_created(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (!rooms_live()) {
        free(c);
        return;
    }
    const sh_host_api *h = c->st->h;
    if (h->db_status(res) == SH_ERR && strcmp(h->db_sqlstate(res), "23505") == 0 && ++c->attempts < 4) {
        create_insert(c); /* the new public id collided with another room's */
        return;
    }
    if (h->db_status(res) == SH_ERR && strcmp(h->db_sqlstate(res), "23503") == 0) {
        h->respond_error(c->req, 401, "invalid_token", "The account no longer exists.", NULL);
        free(c);
        return;
    }
    if (ctx_failed(c, res)) return;
    if (h->db_nrows(res) < 1) {
        h->respond_error(c->req, 409, "room_exists", "You already have a room.", NULL);
        free(c);
        return;
    }
    c->status = 201;
    select_room(c);
}

static void create_insert(rctx *c) {
    if (rooms_new_id(c->st, c->room) < 0) {
        c->st->h->respond_error(c->req, 500, "internal", "No random bytes.", NULL);
        free(c);
        return;
    }
    const char *p[5] = {c->room, c->uid_s, c->title, c->description ? c->description : "",
                        c->category_id[0] ? c->category_id : NULL};
    ctx_db(c,
           "INSERT INTO rooms (room_id, streamer_id, title, description, category_id) "
           "VALUES ($1, $2::bigint, $3, $4, $5) ON CONFLICT (streamer_id) DO NOTHING RETURNING room_id",
           5, p, on_created);
}

static void h_create(sh_request *req, void *ud) {
    rooms_state *st = ud;
    json_object *body = st->h->req_json(req);
    if (!body) return;
    rctx *c = ctx_new(st, req);
    if (!c) return;
    if (read_fields(c, body, 0) < 0) {
        free(c);
        return;
    }
    resolve_category(c, create_insert);
}

/* ---- GET /api/rooms/:roomId ------------------------------------------------------------------------- */

/* With the room cache on, the GETs of one room that miss the cache share one query (single
 * flight: when a popular room's entry expires, one query runs, not one per request waiting):
 * st->rfetch maps the room to the room_fetch under way, whose requests are all answered with its
 * row, which is then cached unless the room changed meanwhile. A change detaches the room_fetch
 * from the map (rooms_rcache_drop), so that later GETs read afresh; the requests already waiting
 * came before the change and get the row read for them, as they would have without the cache. */
typedef struct room_fetch {
    char room[ROOM_ID_MAX + 1];
    uint64_t gen;       /* the room cache's generation when the query was sent */
    rctx *first, *last; /* the waiting requests, in arrival order */
} room_fetch;

static void on_fetched(const sh_db_result *res, void *ud) {
    room_fetch *f = ud;
    rctx *c = f->first, *next;
    if (!rooms_live()) {
        for (; c; c = next) {
            next = c->next;
            free(c);
        }
        free(f);
        return;
    }
    rooms_state *st = rooms_g;
    const sh_host_api *h = st->h;
    smap_slot *s = smap_find(&st->rfetch, f->room);
    if (s && s->val == f) smap_del(&st->rfetch, f->room);
    int ok = h->db_status(res) == SH_OK;
    const char *json = ok && h->db_nrows(res) > 0 ? h->db_value(res, 0, 0) : NULL;
    if (json) rooms_rcache_put(st, f->room, json, f->gen);
    for (int first = 1; c; c = next, first = 0) {
        next = c->next;
        if (json) {
            answer_room(c, json); /* frees c */
            continue;
        }
        if (!ok && first)
            rooms_respond_db(st, c->req, res); /* logs the failure once */
        else if (!ok)
            h->respond_db_error(c->req, res);
        else
            h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
        free(c);
    }
    free(f);
}

static void h_get(sh_request *req, void *ud) {
    rooms_state *st = ud;
    const char *id = room_param(st, req);
    if (!id) return;
    rctx *c = ctx_new(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", id);
    const char *cached = rooms_rcache_get(st, c->room);
    if (cached) {
        answer_room(c, cached); /* parses it before anything can drop the entry */
        return;
    }
    if (st->room_cache_ms <= 0) {
        select_room(c);
        return;
    }
    smap_slot *s = smap_find(&st->rfetch, c->room);
    if (s) { /* a query for this room is under way: wait for its row */
        room_fetch *f = s->val;
        f->last->next = c;
        f->last = c;
        return;
    }
    int created = 0;
    room_fetch *f = calloc(1, sizeof *f);
    s = f ? smap_upsert(&st->rfetch, c->room, &created) : NULL;
    if (!s) { /* out of memory: a query of its own */
        free(f);
        select_room(c);
        return;
    }
    snprintf(f->room, sizeof f->room, "%s", c->room);
    f->gen = rooms_rcache_gen(st);
    f->first = f->last = c;
    s->val = f;
    const char *p[1] = {f->room};
    if (st->h->db_query(st->self, ROOM_SELECT, 1, p, on_fetched, f) == SH_ERR_NOMEM) {
        smap_del(&st->rfetch, f->room);
        free(f);
        st->h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

/* ---- ownership ------------------------------------------------------------------------------------- */

/* SELECT the room's owner and live flag; on_owner answers 404/403 or calls c's next step. */
typedef struct own_step {
    rctx *c;
    step_fn next;
    int refuse_live;
} own_step;

static void on_owner(const sh_db_result *res, void *ud) {
    own_step *os = ud;
    rctx *c = os->c;
    step_fn next = os->next;
    int refuse_live = os->refuse_live;
    free(os);
    if (ctx_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    if (h->db_nrows(res) < 1) {
        h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
    } else if (strtoll(h->db_value(res, 0, 0), NULL, 10) != c->uid) {
        h->respond_error(c->req, 403, "forbidden", "Only the room's streamer can do this.", NULL);
    } else if (refuse_live && h->db_value(res, 0, 1)[0] == 't') {
        h->respond_error(c->req, 409, "room_live", "The room is live; end the stream first.", NULL);
    } else {
        next(c);
        return;
    }
    free(c);
}

static void check_owner(rctx *c, int refuse_live, step_fn next) {
    own_step *os = calloc(1, sizeof *os);
    if (!os) {
        c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        free(c);
        return;
    }
    *os = (own_step){c, next, refuse_live};
    const char *p[1] = {c->room};
    if (c->st->h->db_query(c->st->self, "SELECT streamer_id, is_live FROM rooms WHERE room_id = $1", 1, p, on_owner,
                           os) == SH_ERR_NOMEM) {
        free(os);
        c->st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        free(c);
    }
}

/* ---- PATCH /api/rooms/:roomId ------------------------------------------------------------------------ */

static void on_patched(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (ctx_failed(c, res)) return;
    if (c->st->h->db_affected(res) < 1) { /* deleted or given away meanwhile */
        c->st->h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
        free(c);
        return;
    }
    rooms_room_changed(c->st, c->room, 0);
    select_room(c);
}

static void patch_update(rctx *c) {
    char slow[24], fom[24];
    snprintf(slow, sizeof slow, "%" PRId64, c->slow);
    snprintf(fom, sizeof fom, "%" PRId64, c->fo_minutes);
    const char *p[9] = {
        c->room,
        c->uid_s,
        c->title,
        c->description,
        c->cat_given ? "t" : "f",
        c->cat_given && !c->cat_null ? c->category_id : NULL,
        c->slow_given ? slow : NULL,
        c->fo_given ? (c->fo ? "t" : "f") : NULL,
        c->fo_minutes_given ? fom : NULL,
    };
    ctx_db(c,
           "UPDATE rooms SET title = COALESCE($3, title), description = COALESCE($4, description), "
           "category_id = CASE WHEN $5::boolean THEN $6 ELSE category_id END, "
           "slow_mode_seconds = COALESCE($7::int, slow_mode_seconds), "
           "followers_only = COALESCE($8::boolean, followers_only), "
           "followers_only_minutes = COALESCE($9::int, followers_only_minutes), updated_at = now() "
           "WHERE room_id = $1 AND streamer_id = $2::bigint",
           9, p, on_patched);
}

static void patch_after_owner(rctx *c) {
    resolve_category(c, patch_update);
}

static void h_patch(sh_request *req, void *ud) {
    rooms_state *st = ud;
    const char *id = room_param(st, req);
    if (!id) return;
    json_object *body = st->h->req_json(req);
    if (!body) return;
    rctx *c = ctx_new(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", id);
    if (read_fields(c, body, 1) < 0) {
        free(c);
        return;
    }
    check_owner(c, 0, patch_after_owner);
}

/* ---- DELETE /api/rooms/:roomId ----------------------------------------------------------------------- */

static void on_deleted(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (ctx_failed(c, res)) return;
    if (c->st->h->db_affected(res) < 1) {
        c->st->h->respond_error(c->req, 409, "room_live", "The room went live meanwhile; end the stream first.", NULL);
    } else {
        rooms_room_changed(c->st, c->room, 1);
        c->st->h->respond_json(c->req, 204, NULL);
    }
    free(c);
}

static void delete_room(rctx *c) {
    const char *p[2] = {c->room, c->uid_s};
    ctx_db(c, "DELETE FROM rooms WHERE room_id = $1 AND streamer_id = $2::bigint AND NOT is_live", 2, p, on_deleted);
}

static void h_delete(sh_request *req, void *ud) {
    rooms_state *st = ud;
    const char *id = room_param(st, req);
    if (!id) return;
    rctx *c = ctx_new(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", id);
    check_owner(c, 1, delete_room);
}

/* ---- GET /api/categories ---------------------------------------------------------------------------- */

static void on_categories(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (ctx_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    json_object *arr = json_object_new_array();
    for (int i = 0; i < h->db_nrows(res); i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(h->db_value(res, i, 0)));
        json_object_object_add(o, "name", json_object_new_string(h->db_value(res, i, 1)));
        json_object_object_add(o, "liveCount", json_object_new_int64(strtoll(h->db_value(res, i, 2), NULL, 10)));
        json_object_array_add(arr, o);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "categories", arr);
    h->respond_json(c->req, 200, out);
    free(c);
}

static void h_categories(sh_request *req, void *ud) {
    rctx *c = ctx_new(ud, req);
    if (!c) return;
    ctx_db(c,
           "SELECT c.id, c.name, count(r.id) AS live FROM categories c "
           "LEFT JOIN rooms r ON r.category_id = c.id AND r.is_live "
           "GROUP BY c.id, c.name, c.position ORDER BY c.position, c.name",
           0, NULL, on_categories);
}

/* ---- GET /api/rooms/:roomId/streams ------------------------------------------------------------------ */

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static void on_streams(const sh_db_result *res, void *ud) {
    rctx *c = ud;
    if (ctx_failed(c, res)) return;
    const sh_host_api *h = c->st->h;
    int n = h->db_nrows(res);
    if (n < 1) {
        h->respond_error(c->req, 404, "room_not_found", "No such room.", NULL);
        free(c);
        return;
    }
    json_object *arr = json_object_new_array();
    int64_t last = 0;
    int shown = 0;
    for (int i = 0; i < n; i++) {
        const char *id = h->db_value(res, i, 0);
        if (!id) continue;               /* the room has no (more) streams */
        if (shown == c->attempts) break; /* attempts holds the page size here */
        json_object *o = json_object_new_object();
        last = strtoll(id, NULL, 10);
        json_object_object_add(o, "id", json_object_new_int64(last));
        json_object_object_add(o, "startedAt", json_object_new_string(h->db_value(res, i, 1)));
        const char *ended = h->db_value(res, i, 2);
        json_object_object_add(o, "endedAt", ended ? json_object_new_string(ended) : NULL);
        json_object_object_add(o, "peakViewers", json_object_new_int64(strtoll(h->db_value(res, i, 3), NULL, 10)));
        json_object_object_add(o, "messages", json_object_new_int64(strtoll(h->db_value(res, i, 4), NULL, 10)));
        json_object_array_add(arr, o);
        shown++;
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "streams", arr);
    char cur[CURSOR_MAX];
    int more = shown == c->attempts && n > shown;
    if (more && rooms_cursor_encode('s', &last, 1, cur, sizeof cur) == 0)
        json_object_object_add(out, "nextCursor", json_object_new_string(cur));
    else
        json_object_object_add(out, "nextCursor", NULL);
    h->respond_json(c->req, 200, out);
    free(c);
}

int rooms_query_limit(rooms_state *st, sh_request *req, int def) {
    const char *s = st->h->req_query(req, "limit");
    if (!s) return def;
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 100) {
        st->h->respond_error(req, 400, "invalid_field", "limit must be an integer from 1 to 100.", "limit");
        return -1;
    }
    return (int)v;
}

static void h_streams(sh_request *req, void *ud) {
    rooms_state *st = ud;
    const char *id = room_param(st, req);
    if (!id) return;
    int limit = rooms_query_limit(st, req, 20);
    if (limit < 0) return;
    const char *cursor = st->h->req_query(req, "cursor");
    int64_t before = 0;
    if (cursor && *cursor && rooms_cursor_decode(cursor, 's', &before, 1) < 0) {
        st->h->respond_error(req, 400, "invalid_field", "Bad cursor.", "cursor");
        return;
    }
    rctx *c = ctx_new(st, req);
    if (!c) return;
    snprintf(c->room, sizeof c->room, "%s", id);
    c->attempts = limit;
    char b[24], l[24];
    snprintf(b, sizeof b, "%" PRId64, before);
    snprintf(l, sizeof l, "%d", limit + 1);
    const char *p[3] = {c->room, before > 0 ? b : NULL, l};
    ctx_db(c,
           "SELECT s.id, " TS("s.started_at") ", " TS(
               "s.ended_at") ", s.peak_viewers, s.messages "
                             "FROM (SELECT id FROM rooms WHERE room_id = $1) rm LEFT JOIN LATERAL ("
                             "SELECT * FROM streams WHERE room_pk = rm.id AND ended_at IS NOT NULL "
                             "AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3::int) s ON true "
                             "ORDER BY s.id DESC",
           3, p, on_streams);
}

int rooms_routes(rooms_state *st) {
    const sh_host_api *h = st->h;
    sh_plugin *p = st->self;
    if (h->http_route(p, "POST", "/api/rooms", SH_ROUTE_AUTH, h_create, st) != SH_OK ||
        h->http_route(p, "GET", "/api/rooms/:roomId", 0, h_get, st) != SH_OK ||
        h->http_route(p, "PATCH", "/api/rooms/:roomId", SH_ROUTE_AUTH, h_patch, st) != SH_OK ||
        h->http_route(p, "DELETE", "/api/rooms/:roomId", SH_ROUTE_AUTH, h_delete, st) != SH_OK ||
        h->http_route(p, "GET", "/api/categories", 0, h_categories, st) != SH_OK ||
        h->http_route(p, "GET", "/api/rooms/:roomId/streams", 0, h_streams, st) != SH_OK)
        return SH_ERR;
    return SH_OK;
}
