/*
 * serve.c - HTTP for the hls plugin, all from memory:
 *   GET /hls/:roomId/index.m3u8      the LL-HLS media playlist; _HLS_msn / _HLS_part block
 *                                    until that part exists (rfc8216bis 6.2.5.2), _HLS_skip=YES
 *                                    (or v2) asks for a delta update; `_sid` names the player's
 *                                    playback session (viewers.c)
 *   GET /hls/:roomId/init<g>.mp4     init sections, seg<msn>.m4s segments, part<n>.m4s parts;
 *                                    the part the playlist's preload hint names (and the next
 *                                    few) and the in-progress segment are held until they exist
 *   GET /hls/:roomId/thumbnail.jpg   the newest thumbnail (thumb.c)
 *   GET /hls/:roomId/stats           {roomId, live, viewers, latestMsn, latestPart, ...}
 * Every answer carries `Access-Control-Allow-Origin: *`; playlists `Cache-Control: max-age=1`,
 * media `public, max-age=31536000, immutable` (a URI never names other bytes within a room's
 * life), thumbnails and stats short or no caching. Bytes go out by reference (respond_ref) with
 * a reference on the buffer: no copy per request.
 *
 * Blocked requests: an hls_waiter per request keeps the sh_request (valid until answered, even
 * if the client left) in its room's list; no thread, no timer per waiter. hls_room_changed
 * (every part, segment, end) re-checks the room's list; the plugin's tick answers those past
 * their deadline (three target durations) with 503. At most max_blocking_requests are held at
 * once (503 beyond). Loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/hls.h"

#define CT_PLAYLIST    "application/vnd.apple.mpegurl"
#define CT_MP4         "video/mp4"
#define CACHE_PLAYLIST "max-age=1"
#define CACHE_MEDIA    "public, max-age=31536000, immutable"
#define CACHE_THUMB    "max-age=2"
#define CACHE_NONE     "no-cache"
#define SID_MAX        128

typedef enum { W_PLAYLIST = 1, W_PART, W_SEGMENT } waiter_kind;

struct hls_waiter {
    sh_request *req;
    waiter_kind kind;
    struct hls_query q;   /* W_PLAYLIST: what the client asked (skip is used to answer) */
    struct hls_query eff; /* W_PLAYLIST: the condition waited for */
    uint64_t n;           /* W_PART: part number; W_SEGMENT: MSN */
    uint64_t deadline_ms;
    hls_waiter *next;
};

static void headers(sh_request *req, const char *cache) {
    hls_g.h->resp_header(req, "Access-Control-Allow-Origin", "*");
    hls_g.h->resp_header(req, "Cache-Control", cache);
}

static void not_found(sh_request *req, const char *what) {
    headers(req, CACHE_NONE);
    hls_g.h->respond_error(req, 404, "not_found", what, NULL);
}

static void unavailable(sh_request *req, const char *code, const char *what) {
    headers(req, CACHE_NONE);
    hls_g.h->resp_header(req, "Retry-After", "1");
    hls_g.h->respond_error(req, 503, code, what, NULL);
}

static void send_playlist(sh_request *req, hls_room *r, enum hls_skip skip) {
    hls_buf *b = hls_room_playlist(r, skip);
    if (!b) {
        unavailable(req, "out_of_memory", "The playlist cannot be rendered right now.");
        return;
    }
    headers(req, CACHE_PLAYLIST);
    hls_buf_respond(req, 200, CT_PLAYLIST, b);
    hls_buf_unref(b);
}

static void send_media(sh_request *req, hls_buf *b) {
    headers(req, CACHE_MEDIA);
    hls_buf_respond(req, 200, CT_MP4, b);
}

/* Is the stream still producing (so a missing part or segment may still come)? */
static bool producing(const hls_room *r) {
    return r->live && r->pl && !hls_playlist_ended(r->pl);
}

/* Parts past the preload hint that may be asked for ahead (the Advance Part Limit). */
static uint64_t part_advance(void) {
    int64_t pt = hls_g.part_ms * 1000;
    return pt < 1000000 ? (uint64_t)(3000000 / pt) : 3;
}

/* ---- waiters ------------------------------------------------------------------------------ */

static void waiter_hold(hls_room *r, sh_request *req, waiter_kind kind, const struct hls_query *q,
                        const struct hls_query *eff, uint64_t n) {
    const sh_host_api *h = hls_g.h;
    if (hls_g.stopping || hls_g.nwaiters >= (size_t)hls_g.max_blocking) {
        unavailable(req, "too_many_blocking_requests", "Too many requests are waiting; retry shortly.");
        return;
    }
    hls_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        unavailable(req, "out_of_memory", "Out of memory.");
        return;
    }
    w->req = req;
    w->kind = kind;
    if (q) w->q = *q;
    if (eff) w->eff = *eff;
    w->n = n;
    w->deadline_ms = h->now_ms(hls_g.self) + (uint64_t)(hls_playlist_block_timeout_us(r->pl) / 1000);
    w->next = r->waiters;
    r->waiters = w;
    hls_g.nwaiters++;
    h->metric_set(hls_g.m_blocked, (double)hls_g.nwaiters);
}

static void waiter_done(hls_waiter **pp) {
    hls_waiter *w = *pp;
    *pp = w->next;
    free(w);
    hls_g.nwaiters--;
    hls_g.h->metric_set(hls_g.m_blocked, (double)hls_g.nwaiters);
}

/* Answers w if its condition holds, or can no longer hold. Returns true when answered. */
static bool waiter_try(hls_room *r, hls_waiter *w, bool flush) {
    switch (w->kind) {
    case W_PLAYLIST: {
        enum hls_reload st = hls_playlist_reload_state(r->pl, &w->eff);
        if (st == HLS_RELOAD_BLOCK && !flush && producing(r)) return false;
        if (st == HLS_RELOAD_BAD_REQUEST) {
            headers(w->req, CACHE_NONE);
            hls_g.h->respond_error(w->req, 400, "bad_request", "_HLS_msn / _HLS_part out of range.", NULL);
        } else {
            send_playlist(w->req, r, w->q.skip);
        }
        return true;
    }
    case W_PART:
    case W_SEGMENT: {
        hls_buf *b = w->kind == W_PART ? hls_store_part(&r->store, w->n) : hls_store_segment(&r->store, w->n);
        if (b) {
            send_media(w->req, b);
            return true;
        }
        struct hls_part_ref nx;
        hls_playlist_next_part(r->pl, &nx);
        bool past = w->kind == W_PART ? w->n < nx.seq : w->n < hls_playlist_next_msn(r->pl);
        if (!flush && !past && producing(r)) return false;
        not_found(w->req, past ? "That part or segment is gone." : "The stream ended before it was produced.");
        return true;
    }
    }
    return true;
}

void hls_waiters_wake(hls_room *r) {
    for (hls_waiter **pp = &r->waiters; *pp;) {
        if (waiter_try(r, *pp, false))
            waiter_done(pp);
        else
            pp = &(*pp)->next;
    }
}

void hls_waiters_expire(hls_room *r, uint64_t now_ms) {
    for (hls_waiter **pp = &r->waiters; *pp;) {
        hls_waiter *w = *pp;
        if (now_ms < w->deadline_ms) {
            pp = &w->next;
            continue;
        }
        unavailable(w->req, "timeout",
                    w->kind == W_PLAYLIST ? "The requested part did not arrive in time."
                                          : "The requested media did not arrive in time.");
        hls_g.h->metric_add(hls_g.m_reqs_timeout, 1);
        waiter_done(pp);
    }
}

void hls_waiters_flush(hls_room *r) {
    while (r->waiters) {
        waiter_try(r, r->waiters, true);
        waiter_done(&r->waiters);
    }
}

/* ---- handlers ----------------------------------------------------------------------------- */

/* The room named by the route, or NULL after answering 404. */
static hls_room *room_of(sh_request *req) {
    const char *id = hls_g.h->req_param(req, "roomId");
    hls_room *r = id ? hls_room_find(id) : NULL;
    if (!r || !r->pl) {
        not_found(req, "No stream in this room.");
        return NULL;
    }
    return r;
}

static void touch_viewer(hls_room *r, sh_request *req) {
    const sh_host_api *h = hls_g.h;
    char key[512];
    const char *sid = h->req_query(req, "_sid");
    int n;
    if (sid && *sid && strlen(sid) <= SID_MAX) {
        n = snprintf(key, sizeof key, "s\n%s", sid);
    } else {
        const char *ua = h->req_header(req, "User-Agent");
        n = snprintf(key, sizeof key, "a\n%s\n%s", h->req_remote_addr(req), ua ? ua : "");
    }
    if (n > 0)
        hls_viewers_touch(&r->viewers, key, (size_t)n < sizeof key ? (size_t)n : sizeof key - 1, h->now_ms(hls_g.self));
}

/* Rebuilds the delivery directives as a query string for hls_query_parse (the SDK gives
 * decoded values by name, not the raw query). */
static int read_query(sh_request *req, struct hls_query *q) {
    static const char *const names[] = {"_HLS_msn", "_HLS_part", "_HLS_skip"};
    char qs[160];
    size_t len = 0;
    for (size_t i = 0; i < 3; i++) {
        const char *v = hls_g.h->req_query(req, names[i]);
        if (!v) continue;
        if (strlen(v) > 24) return -1;
        int n = snprintf(qs + len, sizeof qs - len, "%s%s=%s", len ? "&" : "", names[i], v);
        if (n < 0 || (size_t)n >= sizeof qs - len) return -1;
        len += (size_t)n;
    }
    return hls_query_parse(qs, len, q) == HLS_PL_OK ? 0 : -1;
}

static void on_playlist(sh_request *req, void *ud) {
    (void)ud;
    hls_room *r = room_of(req);
    if (!r) return;
    struct hls_query q;
    if (read_query(req, &q) < 0) {
        headers(req, CACHE_NONE);
        hls_g.h->respond_error(req, 400, "bad_request", "Malformed _HLS_msn / _HLS_part / _HLS_skip.", NULL);
        return;
    }
    touch_viewer(r, req);
    struct hls_query eff = q;
    struct hls_part_ref nx;
    hls_playlist_next_part(r->pl, &nx);
    if (!eff.has_msn && nx.seq == 0) { /* nothing yet: wait for the first part */
        eff.has_msn = eff.has_part = true;
        eff.msn = nx.msn;
        eff.part = 0;
    }
    enum hls_reload st = hls_playlist_reload_state(r->pl, &eff);
    if (st == HLS_RELOAD_BAD_REQUEST) {
        headers(req, CACHE_NONE);
        hls_g.h->respond_error(req, 400, "bad_request", "_HLS_msn / _HLS_part is too far ahead of the playlist.", NULL);
    } else if (st == HLS_RELOAD_READY || !producing(r) || hls_g.stopping) {
        send_playlist(req, r, q.skip);
    } else {
        waiter_hold(r, req, W_PLAYLIST, &q, &eff, 0);
    }
}

static void on_file(sh_request *req, void *ud) {
    (void)ud;
    const char *file = hls_g.h->req_param(req, "file");
    struct hls_uri u;
    if (!file || hls_uri_parse(file, strlen(file), &u) != HLS_PL_OK) {
        not_found(req, "No such file.");
        return;
    }
    hls_room *r = room_of(req);
    if (!r) return;
    hls_buf *b = NULL;
    switch (u.kind) {
    case HLS_URI_INIT:
        b = hls_store_init(&r->store, (uint32_t)u.n);
        break;
    case HLS_URI_SEGMENT:
        b = hls_store_segment(&r->store, u.n);
        if (!b && producing(r) && u.n >= hls_playlist_next_msn(r->pl) && u.n <= hls_playlist_next_msn(r->pl) + 1) {
            waiter_hold(r, req, W_SEGMENT, NULL, NULL, u.n);
            return;
        }
        break;
    case HLS_URI_PART: {
        b = hls_store_part(&r->store, u.n);
        struct hls_part_ref nx;
        hls_playlist_next_part(r->pl, &nx);
        if (!b && producing(r) && u.n >= nx.seq && u.n - nx.seq <= part_advance()) {
            waiter_hold(r, req, W_PART, NULL, NULL, u.n);
            return;
        }
        break;
    }
    }
    if (b)
        send_media(req, b);
    else
        not_found(req, "No such part, segment or init section (any more).");
}

static void on_thumbnail(sh_request *req, void *ud) {
    (void)ud;
    const char *id = hls_g.h->req_param(req, "roomId");
    hls_room *r = id ? hls_room_find(id) : NULL;
    if (!r || !r->thumb) {
        not_found(req, "No thumbnail for this room (yet).");
        return;
    }
    headers(req, CACHE_THUMB);
    hls_buf_respond(req, 200, "image/jpeg", r->thumb);
}

static void on_stats(sh_request *req, void *ud) {
    (void)ud;
    const sh_host_api *h = hls_g.h;
    hls_room *r = room_of(req);
    if (!r) return;
    r->viewer_count = hls_viewers_expire(&r->viewers, h->now_ms(hls_g.self));
    uint64_t next = hls_playlist_next_msn(r->pl);
    struct hls_segment_info si;
    bool open = hls_playlist_segment(r->pl, next, &si) == HLS_PL_OK;
    bool have = open || (next > 0 && hls_playlist_segment(r->pl, next - 1, &si) == HLS_PL_OK);
    struct hls_part_ref nx;
    hls_playlist_next_part(r->pl, &nx);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "roomId", json_object_new_string(r->id));
    json_object_object_add(o, "live", json_object_new_boolean(producing(r)));
    json_object_object_add(o, "ended", json_object_new_boolean(hls_playlist_ended(r->pl)));
    json_object_object_add(o, "viewers", json_object_new_int64((int64_t)r->viewer_count));
    json_object_object_add(o, "latestMsn", have ? json_object_new_int64((int64_t)si.msn) : NULL);
    json_object_object_add(o, "latestPart", have ? json_object_new_int64((int64_t)si.part_count - 1) : NULL);
    json_object_object_add(o, "firstMsn", json_object_new_int64((int64_t)hls_playlist_first_msn(r->pl)));
    json_object_object_add(o, "nextPartUri", json_object_new_int64((int64_t)nx.seq));
    json_object_object_add(o, "targetDuration", json_object_new_int((int)hls_g.target_s));
    json_object_object_add(o, "partTargetMs", json_object_new_int64(hls_g.part_ms));
    json_object_object_add(o, "streams", json_object_new_int64((int64_t)r->streams));
    json_object_object_add(o, "startedAt", json_object_new_int64((int64_t)r->started_ms));
    json_object_object_add(o, "endedAt", r->ended_ms ? json_object_new_int64((int64_t)r->ended_ms) : NULL);
    json_object_object_add(o, "storedBytes", json_object_new_int64((int64_t)r->store.bytes));
    json_object_object_add(o, "parts", json_object_new_int64((int64_t)r->parts_total));
    json_object_object_add(o, "droppedPackets", json_object_new_int64((int64_t)r->dropped));
    size_t held = 0;
    for (hls_waiter *w = r->waiters; w; w = w->next)
        held++;
    json_object_object_add(o, "blockedRequests", json_object_new_int64((int64_t)held));
    if (r->thumb) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "width", json_object_new_int(r->thumb_w));
        json_object_object_add(t, "height", json_object_new_int(r->thumb_h));
        json_object_object_add(t, "updatedAt", json_object_new_int64((int64_t)r->thumb_at));
        json_object_object_add(o, "thumbnail", t);
    } else {
        json_object_object_add(o, "thumbnail", NULL);
    }
    headers(req, "no-store");
    h->respond_json(req, 200, o);
}

int hls_serve_register(void) {
    const sh_host_api *h = hls_g.h;
    sh_plugin *p = hls_g.self;
    int rc = h->http_route(p, "GET", "/hls/:roomId/index.m3u8", 0, on_playlist, NULL);
    if (rc == SH_OK) rc = h->http_route(p, "GET", "/hls/:roomId/thumbnail.jpg", 0, on_thumbnail, NULL);
    if (rc == SH_OK) rc = h->http_route(p, "GET", "/hls/:roomId/stats", 0, on_stats, NULL);
    if (rc == SH_OK) rc = h->http_route(p, "GET", "/hls/:roomId/:file", 0, on_file, NULL);
    return rc;
}
