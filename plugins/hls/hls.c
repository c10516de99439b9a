/*
 * hls.c - the hls plugin: LL-HLS playback (fMP4 / CMAF parts) of every live stream, served from
 * memory by the core's HTTP server. See hls.h for the map of the files and the room model.
 *
 * This file: the descriptor and its settings, init (config, the sink stage, routes, metrics),
 * start (the housekeeping tick), stop and fini, and the room registry: a list of rooms (tens per
 * node), each freed grace_ms after its last stream ended. The tick (every HLS_TICK_MS) answers
 * blocked requests past their deadline, starts due thumbnails, frees rooms whose grace is over
 * and, once a second, expires playback sessions and sets the per-room viewer gauges.
 * Loop thread.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/hls/hls.h"

hls_ctx hls_g;

static const sh_setting hls_settings[] = {
    {"segment_ms", SH_CFG_INT, "2000", 500, 30000, 0,
     "segment duration: a segment ends on the first keyframe after 90% of it (EXT-X-TARGETDURATION is "
     "this rounded up to seconds, plus 1 s for longer GOPs)"},
    {"part_ms", SH_CFG_INT, "333", 100, 5000, 0,
     "partial segment duration (PART-TARGET); players hold back 3 parts behind live"},
    {"window_segments", SH_CFG_INT, "12", 3, 1000, 0,
     "complete segments listed in the playlist (more while the window is under 3 target durations)"},
    {"grace_ms", SH_CFG_INT, "30000", 0, 86400000, 0,
     "after a stream ends: the playlist (with EXT-X-ENDLIST) and thumbnail stay this long; a reconnect "
     "within it continues the same playlist after an EXT-X-DISCONTINUITY"},
    {"thumbnail_interval_ms", SH_CFG_INT, "10000", 0, 3600000, 0,
     "how often a thumbnail is made from the latest keyframe (0 = never)"},
    {"thumbnail_width", SH_CFG_INT, "640", 16, 3840, 0, "thumbnail width in pixels (height keeps the aspect)"},
    {"max_blocking_requests", SH_CFG_INT, "10000", 0, 1000000, 0,
     "blocking playlist / part requests held at once on this node (503 beyond)"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* ---- rooms -------------------------------------------------------------------------------- */

hls_room *hls_room_find(const char *id) {
    for (hls_room *r = hls_g.rooms; r; r = r->next)
        if (strcmp(r->id, id) == 0) return r;
    return NULL;
}

/* Prometheus label value: backslash, quote and newline escaped. */
static void label_escape(char *out, size_t cap, const char *in) {
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') out[o++] = '\\';
        if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
            continue;
        }
        out[o++] = *in;
    }
    out[o] = '\0';
}

hls_room *hls_room_get(const char *id) {
    hls_room *r = hls_room_find(id);
    if (r) return r;
    r = calloc(1, sizeof *r);
    if (!r || !(r->id = strdup(id))) {
        free(r);
        return NULL;
    }
    r->refs = 1;
    r->listed = true;
    char esc[300], labels[320];
    label_escape(esc, sizeof esc, id);
    snprintf(labels, sizeof labels, "room=\"%s\"", esc);
    r->m_viewers = hls_g.h->metric_new(hls_g.self, SH_METRIC_GAUGE, "streamhub_hls_viewers",
                                       "HLS playback sessions (distinct players in the last 30 s) per room", labels);
    if (r->m_viewers) hls_g.h->metric_set(r->m_viewers, 0);
    r->next = hls_g.rooms;
    hls_g.rooms = r;
    hls_g.nrooms++;
    hls_g.h->metric_set(hls_g.m_rooms, (double)hls_g.nrooms);
    return r;
}

void hls_room_ref(hls_room *r) {
    r->refs++;
}

static void room_free(hls_room *r) {
    hls_store_clear(&r->store);
    for (int i = 0; i < 3; i++)
        hls_buf_unref(r->pl_cache[i]);
    hls_playlist_free(r->pl);
    hls_fmp4_free(r->mux);
    hls_thumb_release(r);
    hls_viewers_free(&r->viewers);
    free(r->id);
    free(r);
    malloc_trim(0); /* a room held megabytes: give them back to the system */
}

void hls_room_unref(hls_room *r) {
    if (r && --r->refs == 0) room_free(r);
}

/* Takes the room out of the registry (answering its blocked requests) and drops that reference. */
static void room_unlist(hls_room *r) {
    if (!r->listed) return;
    for (hls_room **pp = &hls_g.rooms; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    r->listed = false;
    hls_g.nrooms--;
    if (r->pl) hls_waiters_flush(r);
    hls_g.h->metric_free(r->m_viewers);
    r->m_viewers = NULL;
    if (r->key_pkt) hls_g.h->packet_unref(r->key_pkt);
    r->key_pkt = NULL;
    hls_g.h->metric_set(hls_g.m_rooms, (double)hls_g.nrooms);
    hls_room_unref(r);
}

void hls_room_changed(hls_room *r) {
    for (int i = 0; i < 3; i++) {
        hls_buf_unref(r->pl_cache[i]);
        r->pl_cache[i] = NULL;
    }
    if (!r->pl) return;
    hls_store_prune(&r->store, r->pl);
    hls_waiters_wake(r);
}

hls_buf *hls_room_playlist(hls_room *r, enum hls_skip skip) {
    int i = skip == HLS_SKIP_YES ? 1 : skip == HLS_SKIP_V2 ? 2 : 0;
    if (!r->pl_cache[i]) {
        char *text;
        size_t len;
        if (hls_playlist_write(r->pl, skip, &text, &len) != HLS_PL_OK) return NULL;
        r->pl_cache[i] = hls_buf_wrap((uint8_t *)text, len);
        if (!r->pl_cache[i]) return NULL;
    }
    return hls_buf_ref(r->pl_cache[i]);
}

void hls_room_begin_grace(hls_room *r) {
    r->ended_ms = hls_g.h->wall_ms(hls_g.self);
    r->grace_until = hls_g.h->now_ms(hls_g.self) + (uint64_t)hls_g.grace_ms;
    if (!r->grace_until) r->grace_until = 1;
}

void hls_update_stored_gauge(void) {
    double bytes = 0;
    for (hls_room *r = hls_g.rooms; r; r = r->next)
        bytes += (double)r->store.bytes;
    hls_g.h->metric_set(hls_g.m_stored, bytes);
}

/* ---- housekeeping ------------------------------------------------------------------------- */

static void on_tick(void *ud) {
    (void)ud;
    const sh_host_api *h = hls_g.h;
    uint64_t now = h->now_ms(hls_g.self);
    bool sweep = now - hls_g.last_viewer_sweep >= 1000;
    if (sweep) hls_g.last_viewer_sweep = now;
    for (hls_room *r = hls_g.rooms, *next; r; r = next) {
        next = r->next;
        if (r->waiters) hls_waiters_expire(r, now);
        hls_thumb_tick(r, now);
        if (sweep) {
            size_t n = hls_viewers_expire(&r->viewers, now);
            h->metric_set(r->m_viewers, (double)n);
            r->viewer_count = n;
        }
        if (!r->st && r->grace_until && now >= r->grace_until) {
            HLS_LOG(SH_LOG_INFO, "room %s: grace period over: playlist and media freed", r->id);
            room_unlist(r);
        }
    }
    if (sweep) hls_update_stored_gauge();
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static int hls_init(sh_plugin *self, const sh_host_api *host) {
    memset(&hls_g, 0, sizeof hls_g);
    hls_g.self = self;
    hls_g.h = host;
    if (!SH_HOST_HAS(host, media_stage) || !SH_HOST_HAS(host, packet_new)) {
        host->log(self, SH_LOG_ERROR, "this host has no media pipeline (SDK 1.2 needed)");
        return SH_ERR;
    }
    hls_g.segment_ms = host->cfg_int(self, "segment_ms");
    hls_g.part_ms = host->cfg_int(self, "part_ms");
    hls_g.window_segments = (unsigned)host->cfg_int(self, "window_segments");
    hls_g.grace_ms = host->cfg_int(self, "grace_ms");
    hls_g.thumb_interval_ms = host->cfg_int(self, "thumbnail_interval_ms");
    hls_g.thumb_width = (int)host->cfg_int(self, "thumbnail_width");
    hls_g.max_blocking = host->cfg_int(self, "max_blocking_requests");
    hls_g.target_s = (unsigned)((hls_g.segment_ms + 999) / 1000) + 1;
    if (hls_g.part_ms > hls_g.segment_ms) {
        host->log(self, SH_LOG_ERROR, "part_ms (%lld) must not exceed segment_ms (%lld)", (long long)hls_g.part_ms,
                  (long long)hls_g.segment_ms);
        return SH_ERR;
    }
    int rc = host->media_stage(self, "hls", SH_STAGE_SINK, &hls_sink_ops, NULL);
    if (rc == SH_OK) rc = hls_serve_register();
    if (rc != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the stage or routes (%d)", rc);
        return rc;
    }
    hls_g.m_rooms = host->metric_new(self, SH_METRIC_GAUGE, "streamhub_hls_rooms",
                                     "Rooms with an HLS playlist (live or in their grace period)", NULL);
    hls_g.m_live =
        host->metric_new(self, SH_METRIC_GAUGE, "streamhub_hls_live_streams", "Streams being muxed to HLS", NULL);
    hls_g.m_blocked = host->metric_new(self, SH_METRIC_GAUGE, "streamhub_hls_blocked_requests",
                                       "Blocking playlist / part requests being held", NULL);
    hls_g.m_parts =
        host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_parts_total", "Partial segments cut", NULL);
    hls_g.m_segments =
        host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_segments_total", "Segments completed", NULL);
    hls_g.m_bytes_out = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_sent_bytes_total",
                                         "Playlist, media and thumbnail bytes answered", NULL);
    hls_g.m_reqs_timeout = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_block_timeouts_total",
                                            "Blocked requests answered 503 after three target durations", NULL);
    hls_g.m_thumbs =
        host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_thumbnails_total", "Thumbnails made", NULL);
    hls_g.m_thumb_fail = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_hls_thumbnail_failures_total",
                                          "Keyframes that gave no thumbnail", NULL);
    hls_g.m_stored = host->metric_new(self, SH_METRIC_GAUGE, "streamhub_hls_stored_bytes",
                                      "Init sections, segments and parts held in memory", NULL);
    return SH_OK;
}

static int hls_start(sh_plugin *self) {
    hls_g.tick = hls_g.h->timer_add(self, HLS_TICK_MS, 1, on_tick, NULL);
    return hls_g.tick ? SH_OK : SH_ERR;
}

static void hls_stop(sh_plugin *self) {
    (void)self;
    /* New requests are no longer held. Held ones stay: the sources end their streams during the
     * drain (the host ends any left right after every plugin's stop), and each stream's end adds
     * EXT-X-ENDLIST and answers its waiters, so players learn that the stream ended. */
    hls_g.stopping = true;
    if (hls_g.tick) hls_g.h->timer_cancel(hls_g.tick);
    hls_g.tick = NULL;
}

static void hls_fini(sh_plugin *self) {
    (void)self;
    hls_g.stopping = true;
    hls_g.finished = true;
    while (hls_g.rooms)
        room_unlist(hls_g.rooms); /* rooms with a thumbnail job go with it */
}

static const sh_plugin_desc hls_desc = {
    SH_DESC_HEADER,
    .name = "hls",
    .version = "1.0.0",
    .description = "LL-HLS playback (fMP4 parts, blocking reload, delta updates) and thumbnails of live streams",
    .settings = hls_settings,
    .init = hls_init,
    .start = hls_start,
    .stop = hls_stop,
    .fini = hls_fini,
};

SH_PLUGIN_EXPORT(hls_desc)
