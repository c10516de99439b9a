/*
 * list.c - GET /api/rooms: rooms in list order (live first, then most viewers, then newest id),
 * filtered by `live`, `category` (id or name), `q` (title, streamer username or display name),
 * `limit` (1..100, default 20), paged by an opaque keyset `cursor`.
 *
 * Keyset paging: the cursor holds the last row's sort key (is_live, viewer_count, id) and the next
 * page starts strictly after it, so rooms created or deleted meanwhile never shift the pages
 * (no duplicates, no gaps); a room whose own sort key changes between two pages (it went live, or
 * its viewer count changed) may move across the boundary, as in any live ordering.
 *
 * Answers with live=true are cached for live_cache_ms, keyed by the whole normalised query: in
 * Redis (SET PX, shared by the nodes) when configured, else in a small in-process table. Loop
 * thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/rooms/rooms_plugin.h"

#define Q_MAX_BYTES 400 /* 100 characters of up to 4 bytes */
#define Q_MAX_CHARS 100

typedef struct list_ctx {
    rooms_state *st;
    sh_request *req;
    int limit;
    char *cache_key; /* NULL: not cached */
} list_ctx;

static void ctx_free(list_ctx *c) {
    free(c->cache_key);
    free(c);
}

/* Valid UTF-8 without control characters, at most Q_MAX_CHARS code points. */
static int text_ok(const char *s) {
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!n || (n == 1 && (c < 0x20 || c == 0x7f))) return 0;
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80) return 0;
        if (n == 2 && c < 0xc2) return 0; /* overlong */
        p += n;
        if (++chars > Q_MAX_CHARS) return 0;
    }
    return 1;
}

/* ---- the in-process cache ------------------------------------------------------------------------ */

static lcache_ent *lcache_find(rooms_state *st, const char *key) {
    uint64_t now = st->h->now_ms(st->self);
    for (int i = 0; i < LCACHE_MAX; i++)
        if (st->cache[i].key && strcmp(st->cache[i].key, key) == 0)
            return st->cache[i].expires_ms > now ? &st->cache[i] : NULL;
    return NULL;
}

static void lcache_put(rooms_state *st, const char *key, const char *body, size_t len) {
    uint64_t now = st->h->now_ms(st->self);
    lcache_ent *slot = NULL;
    for (int i = 0; i < LCACHE_MAX && !slot; i++)
        if (st->cache[i].key && strcmp(st->cache[i].key, key) == 0) slot = &st->cache[i];
    for (int i = 0; i < LCACHE_MAX && !slot; i++)
        if (!st->cache[i].key || st->cache[i].expires_ms <= now) slot = &st->cache[i];
    if (!slot) { /* full of fresh entries: replace the one expiring first */
        slot = &st->cache[0];
        for (int i = 1; i < LCACHE_MAX; i++)
            if (st->cache[i].expires_ms < slot->expires_ms) slot = &st->cache[i];
    }
    char *k = strdup(key), *b = malloc(len + 1);
    if (!k || !b) {
        free(k);
        free(b);
        return;
    }
    memcpy(b, body, len);
    b[len] = '\0';
    free(slot->key);
    free(slot->body);
    *slot = (lcache_ent){k, b, len, now + (uint64_t)st->cache_ms};
}

void rooms_cache_free(rooms_state *st) {
    for (int i = 0; i < LCACHE_MAX; i++) {
        free(st->cache[i].key);
        free(st->cache[i].body);
        st->cache[i] = (lcache_ent){0};
    }
}

/* ---- the query ------------------------------------------------------------------------------------ */

static void on_rows(const sh_db_result *res, void *ud) {
    list_ctx *c = ud;
    if (!rooms_live()) {
        ctx_free(c);
        return;
    }
    rooms_state *st = c->st;
    const sh_host_api *h = st->h;
    if (h->db_status(res) != SH_OK) {
        rooms_respond_db(st, c->req, res);
        ctx_free(c);
        return;
    }
    int n = h->db_nrows(res), shown = n < c->limit ? n : c->limit;
    json_object *arr = json_object_new_array();
    for (int i = 0; i < shown; i++) {
        json_object *room = rooms_parse_json(h->db_value(res, i, 3));
        if (room) json_object_array_add(arr, room);
    }
    json_object *out = json_object_new_object();
    json_object_object_add(out, "rooms", arr);
    char cur[CURSOR_MAX];
    if (n > c->limit) {
        int64_t key[3] = {h->db_value(res, shown - 1, 1)[0] == 't', strtoll(h->db_value(res, shown - 1, 2), NULL, 10),
                          strtoll(h->db_value(res, shown - 1, 0), NULL, 10)};
        if (rooms_cursor_encode('r', key, 3, cur, sizeof cur) == 0)
            json_object_object_add(out, "nextCursor", json_object_new_string(cur));
        else
            json_object_object_add(out, "nextCursor", NULL);
    } else {
        json_object_object_add(out, "nextCursor", NULL);
    }
    size_t len;
    const char *body = json_object_to_json_string_length(out, JSON_C_TO_STRING_PLAIN, &len);
    h->respond_bytes(c->req, 200, "application/json", body, len);
    if (c->cache_key) {
        st->h->metric_add(st->m_cache_misses, 1);
        if (h->redis_enabled(st->self)) {
            char px[24];
            snprintf(px, sizeof px, "%" PRId64, st->cache_ms);
            const char *argv[5] = {"SET", c->cache_key, body, "PX", px};
            size_t lens[5] = {3, strlen(c->cache_key), len, 2, strlen(px)};
            h->redis_command(st->self, NULL, NULL, 5, argv, lens);
        } else {
            lcache_put(st, c->cache_key, body, len);
        }
    }
    json_object_put(out);
    ctx_free(c);
}

typedef struct list_query {
    int live; /* -1 any, 0 offline, 1 live */
    const char *category;
    char pattern[Q_MAX_BYTES * 2 + 4];
    int has_q;
    int has_cursor;
    int64_t cur[3];
} list_query;

static void run_query(list_ctx *c, const list_query *q) {
    rooms_state *st = c->st;
    char sql[1536], b0[24], b1[24], b2[24], lim[24];
    const char *p[8];
    int np = 0;
    size_t len = (size_t)snprintf(sql, sizeof sql, "%s",
                                  "SELECT pk, is_live, viewer_count, room_json FROM rooms_public WHERE true");
    if (q->live == 1) len += (size_t)snprintf(sql + len, sizeof sql - len, "%s", " AND is_live");
    if (q->live == 0) len += (size_t)snprintf(sql + len, sizeof sql - len, "%s", " AND NOT is_live");
    if (q->category) {
        p[np++] = q->category;
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                " AND category_id = (SELECT id FROM categories WHERE lower(id) = lower($%d) "
                                "OR lower(name) = lower($%d) LIMIT 1)",
                                np, np);
    }
    if (q->has_q) {
        p[np++] = q->pattern;
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                " AND (title ILIKE $%d ESCAPE '\\' OR username ILIKE $%d ESCAPE '\\' "
                                "OR display_name ILIKE $%d ESCAPE '\\')",
                                np, np, np);
    }
    if (q->has_cursor) {
        snprintf(b0, sizeof b0, "%s", q->cur[0] ? "t" : "f");
        snprintf(b1, sizeof b1, "%" PRId64, q->cur[1]);
        snprintf(b2, sizeof b2, "%" PRId64, q->cur[2]);
        p[np++] = b0;
        p[np++] = b1;
        p[np++] = b2;
        len += (size_t)snprintf(sql + len, sizeof sql - len,
                                " AND (is_live, viewer_count, pk) < ($%d::boolean, $%d::int, $%d::bigint)", np - 2,
                                np - 1, np);
    }
    snprintf(lim, sizeof lim, "%d", c->limit + 1);
    p[np++] = lim;
    snprintf(sql + len, sizeof sql - len, " ORDER BY is_live DESC, viewer_count DESC, pk DESC LIMIT $%d::int", np);
    if (st->h->db_query(st->self, sql, np, p, on_rows, c) == SH_ERR_NOMEM) {
        st->h->respond_error(c->req, 500, "internal", "Out of memory.", NULL);
        ctx_free(c);
    }
}

/* ---- the cache in Redis --------------------------------------------------------------------------- */

typedef struct cached_ctx {
    list_ctx *c;
    list_query q;
} cached_ctx;

static void on_cached(const sh_redis_reply *r, void *ud) {
    cached_ctx *cc = ud;
    list_ctx *c = cc->c;
    if (!rooms_live()) {
        /* the request is still answered by the host at shutdown; nothing to do here */
        ctx_free(c);
        free(cc);
        return;
    }
    const sh_host_api *h = c->st->h;
    size_t len = 0;
    const char *body = r && h->redis_reply_type(r) == SH_REDIS_STRING ? h->redis_reply_str(r, &len) : NULL;
    if (body && len) {
        h->metric_add(c->st->m_cache_hits, 1);
        h->respond_bytes(c->req, 200, "application/json", body, len);
        ctx_free(c);
    } else {
        if (!r) rooms_redis_warn(c->st, "list cache");
        run_query(c, &cc->q);
    }
    free(cc);
}

/* ---- the handler ----------------------------------------------------------------------------------- */

static void h_list(sh_request *req, void *ud) {
    rooms_state *st = ud;
    const sh_host_api *h = st->h;
    list_query q = {.live = -1};
    const char *live = h->req_query(req, "live");
    if (live && *live) {
        if (strcmp(live, "true") == 0 || strcmp(live, "1") == 0)
            q.live = 1;
        else if (strcmp(live, "false") == 0 || strcmp(live, "0") == 0)
            q.live = 0;
        else {
            h->respond_error(req, 400, "invalid_field", "live must be true or false.", "live");
            return;
        }
    }
    const char *cat = h->req_query(req, "category");
    if (cat && *cat) {
        if (strlen(cat) > 200 || !text_ok(cat)) {
            h->respond_error(req, 400, "invalid_field", "category must be a category id or name.", "category");
            return;
        }
        q.category = cat;
    }
    const char *text = h->req_query(req, "q");
    if (text && *text) {
        if (strlen(text) > Q_MAX_BYTES || !text_ok(text) || rooms_like_pattern(text, q.pattern, sizeof q.pattern) < 0) {
            h->respond_error(req, 400, "invalid_field", "q must be text of at most 100 characters.", "q");
            return;
        }
        q.has_q = 1;
    }
    int limit = rooms_query_limit(st, req, 20);
    if (limit < 0) return;
    const char *cursor = h->req_query(req, "cursor");
    if (cursor && *cursor) {
        if (rooms_cursor_decode(cursor, 'r', q.cur, 3) < 0 || (q.cur[0] != 0 && q.cur[0] != 1)) {
            h->respond_error(req, 400, "invalid_field", "Bad cursor.", "cursor");
            return;
        }
        q.has_cursor = 1;
    }
    list_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    c->st = st;
    c->req = req;
    c->limit = limit;
    if (q.live == 1 && st->cache_ms > 0) {
        size_t klen = strlen(st->prefix) + (cat ? strlen(cat) : 0) + (text ? strlen(text) : 0) +
                      (cursor ? strlen(cursor) : 0) + 64;
        c->cache_key = malloc(klen);
        if (c->cache_key) {
            int n = snprintf(c->cache_key, klen, "%slc:%d|", st->prefix, limit);
            for (const char *k = q.category ? q.category : ""; *k && (size_t)n + 1 < klen; k++) /* any case */
                c->cache_key[n++] = (*k >= 'A' && *k <= 'Z') ? (char)(*k - 'A' + 'a') : *k;
            snprintf(c->cache_key + n, klen - (size_t)n, "|%s|%s", q.has_cursor ? cursor : "", q.has_q ? text : "");
        }
    }
    if (c->cache_key && h->redis_enabled(st->self)) {
        cached_ctx *cc = calloc(1, sizeof *cc);
        if (cc) {
            cc->c = c;
            cc->q = q;
            const char *argv[2] = {"GET", c->cache_key};
            if (h->redis_command(st->self, on_cached, cc, 2, argv, NULL) != SH_ERR_NOMEM) return;
            free(cc);
        }
    } else if (c->cache_key) {
        lcache_ent *e = lcache_find(st, c->cache_key);
        if (e) {
            h->metric_add(st->m_cache_hits, 1);
            h->respond_bytes(req, 200, "application/json", e->body, e->len);
            ctx_free(c);
            return;
        }
    }
    run_query(c, &q);
}

int rooms_list_routes(rooms_state *st) {
    return st->h->http_route(st->self, "GET", "/api/rooms", 0, h_list, st) == SH_OK ? SH_OK : SH_ERR;
}
