/*
 * hls.h - internals of the hls plugin (LL-HLS playback of live streams), shared by its files.
 *
 * Map of the plugin:
 *   hls.c      descriptor, settings, init/start/stop/fini, the room registry, the tick timer
 *              (blocked-request deadlines, grace expiry, thumbnails, viewer gauges), metrics
 *   store.c    hls_buf (reference-counted bytes served with respond_ref) and the per-room store
 *              of init sections, segments and parts, pruned to the playlist window
 *   sink.c     the media sink stage: per stream an fMP4 muxer (fmp4.h) fed the packets, cut
 *              into parts and keyframe-aligned segments reported to the room's playlist
 *              (playlist.h); codec parameters a source left out are read from the extradata
 *   serve.c    GET /hls/:roomId/... : playlist (blocking reload, delta updates), init,
 *              segments, parts (held until they exist), stats; the waiter lists
 *   thumb.c    thumbnails: latest keyframe -> decoder -> scaler -> JPEG, on a worker
 *   viewers.c  playback sessions (distinct players in the last 30 s)
 *   playlist.c, fmp4.c  the pure building blocks
 *
 * Rooms: one hls_room per room id that has or had a stream. It outlives its streams: it keeps
 * the playlist (a reconnect within grace_ms continues it after an EXT-X-DISCONTINUITY), the
 * stored bytes and the last thumbnail until grace_ms after the last stream ended, then it is
 * freed. A room is reference counted: the registry holds one reference while the room is
 * listed, each thumbnail job in flight holds one.
 *
 * Threads: everything here runs on the loop thread, except thumb.c's work function, which
 * touches only its job (and reads the immutable bytes of the packet the job references).
 */
#ifndef HLS_PLUGIN_H
#define HLS_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <streamhub/streamhub.h>

#include "plugins/hls/fmp4.h"
#include "plugins/hls/playlist.h"

#define HLS_MAX_TRACKS       8     /* stream tracks we map (the host's limit) */
#define HLS_VIEWER_WINDOW_MS 30000 /* a playback session counts this long after its last fetch */
#define HLS_TICK_MS          100   /* the plugin's housekeeping timer */

/* ---- store.c: bytes ------------------------------------------------------------------------ */

/* Immutable bytes shared by the store, the playlist cache and every response that sends them.
 * Loop thread only (the count is not atomic); freed when the last reference goes. */
typedef struct hls_buf {
    unsigned refs;
    size_t len;
    uint8_t *data; /* NULL when the bytes live in `fd` */
    int fd;        /* a memfd holding the bytes (segments: sent with sendfile), else -1 */
} hls_buf;

/* A new buffer owning `data` (malloc()ed; taken even on failure) with one reference. */
hls_buf *hls_buf_wrap(uint8_t *data, size_t len);
/* A new buffer with a copy of `data`, one reference. */
hls_buf *hls_buf_copy(const void *data, size_t len);
hls_buf *hls_buf_ref(hls_buf *b);
void hls_buf_unref(hls_buf *b);
/* Answers `req` with the buffer's bytes by reference (takes one reference for the response). */
void hls_buf_respond(sh_request *req, int status, const char *content_type, hls_buf *b);

typedef struct hls_part_rec {
    uint64_t seq, msn;
    hls_buf *buf;
} hls_part_rec;

typedef struct hls_seg_rec {
    uint64_t msn;
    uint32_t gen; /* its init section */
    hls_buf *buf;
} hls_seg_rec;

typedef struct hls_init_rec {
    uint32_t gen;
    hls_buf *buf;
} hls_init_rec;

/* What a room stores, oldest first in each array. */
typedef struct hls_store {
    hls_part_rec *parts;
    size_t nparts, partcap;
    hls_seg_rec *segs;
    size_t nsegs, segcap;
    hls_init_rec *inits;
    size_t ninits, initcap;
    size_t bytes; /* sum of the stored buffers' lengths */
} hls_store;

/* Each takes the caller's reference on `b` (released on failure too). */
int hls_store_add_part(hls_store *s, uint64_t seq, uint64_t msn, hls_buf *b);
int hls_store_add_segment(hls_store *s, uint64_t msn, uint32_t gen, hls_buf *b);
int hls_store_set_init(hls_store *s, uint32_t gen, hls_buf *b);
/* Borrowed lookups (NULL if absent). */
hls_buf *hls_store_part(const hls_store *s, uint64_t seq);
hls_buf *hls_store_segment(const hls_store *s, uint64_t msn);
hls_buf *hls_store_init(const hls_store *s, uint32_t gen);
/* Concatenates the stored parts of segment msn (seq first..first+count-1) into a new buffer:
 * written into a memfd (served with respond_file, i.e. sendfile: the large bodies go out without
 * a copy through user space, as a file server sends them), or in memory if a memfd cannot be had
 * (no fd left, or a kernel without memfd_create). */
hls_buf *hls_store_join_parts(const hls_store *s, uint64_t first_seq, unsigned count);
/* Drops what the playlist no longer needs: segments more than two before the first listed one,
 * parts of segments whose parts left the playlist more than a segment ago, init sections no
 * stored segment uses (the newest one always stays). */
void hls_store_prune(hls_store *s, const struct hls_playlist *pl);
void hls_store_clear(hls_store *s);

/* ---- viewers.c ---------------------------------------------------------------------------- */

typedef struct hls_viewers {
    uint64_t *keys; /* open addressing, 0 = empty */
    uint64_t *seen; /* last fetch, ms */
    size_t cap, n;
} hls_viewers;

/* Records a playlist fetch by session `key` (any non-empty bytes). */
void hls_viewers_touch(hls_viewers *v, const void *key, size_t len, uint64_t now_ms);
/* Forgets sessions idle for HLS_VIEWER_WINDOW_MS; returns how many remain. */
size_t hls_viewers_expire(hls_viewers *v, uint64_t now_ms);
void hls_viewers_free(hls_viewers *v);

/* ---- rooms -------------------------------------------------------------------------------- */

typedef struct hls_waiter hls_waiter;

typedef struct hls_room {
    char *id;
    unsigned refs;
    bool listed; /* in the registry */
    struct hls_room *next;

    struct hls_playlist *pl; /* created when the first stream starts; kept across reconnects */
    hls_store store;
    hls_buf *pl_cache[3]; /* rendered playlist per hls_skip, NULL = stale */

    /* the live stream (sink.c) */
    sh_stream *st; /* NULL when no stream is live */
    bool live;     /* muxing: a stream is live and its muxer works */
    bool in_live_gauge;
    struct hls_fmp4 *mux;
    int track_map[HLS_MAX_TRACKS]; /* stream track -> muxer track, -1 = ignored */
    unsigned ref_track;            /* muxer's reference track */
    bool ref_is_video;
    bool has_video;
    bool started;                        /* first video keyframe (or first packet, audio only) seen */
    int64_t ref_num, ref_den;            /* muxer time base of the reference track */
    int64_t last_ref_dts_us;             /* input dts of the last reference packet, us */
    int64_t last_dts_us[HLS_MAX_TRACKS]; /* per stream track, input dts in us; INT64_MIN: none yet */
    int64_t ref_interval_us;             /* last reference packet interval */
    int64_t seg_us;                      /* duration of the parts of the in-progress segment */
    int64_t anchor_us;                   /* muxer dts (us) of the first reference sample */
    int64_t anchor_wall_ms;              /* wall clock when it arrived */
    int64_t track_tb_num[HLS_MAX_TRACKS], track_tb_den[HLS_MAX_TRACKS];
    uint64_t dropped; /* packets refused by the muxer */

    /* blocked requests (serve.c) */
    hls_waiter *waiters;

    /* lifetime */
    uint64_t streams;     /* streams seen */
    uint64_t started_ms;  /* wall clock of the current/last stream's start */
    uint64_t ended_ms;    /* wall clock of the last end, 0 while live */
    uint64_t grace_until; /* monotonic; 0 while a stream is live */
    uint64_t parts_total;

    /* thumbnails (thumb.c) */
    sh_packet *key_pkt; /* latest video keyframe, a reference */
    bool key_new;       /* not thumbnailed yet */
    int key_codec;      /* SH_CODEC_H264 / SH_CODEC_HEVC, 0 = no video */
    uint8_t *key_extra; /* the video track's extradata (copy) */
    size_t key_extra_len;
    uint64_t next_thumb_ms; /* monotonic */
    bool thumb_busy;
    hls_buf *thumb;
    int thumb_w, thumb_h;
    uint64_t thumb_at; /* wall clock */

    /* playback sessions */
    hls_viewers viewers;
    size_t viewer_count;
    sh_metric *m_viewers;
} hls_room;

/* ---- plugin state (hls.c) ----------------------------------------------------------------- */

typedef struct hls_ctx {
    sh_plugin *self;
    const sh_host_api *h;
    /* config */
    int64_t segment_ms, part_ms, grace_ms, thumb_interval_ms, max_blocking;
    int thumb_width;
    unsigned window_segments;
    unsigned target_s; /* EXT-X-TARGETDURATION */
    /* state */
    hls_room *rooms;
    size_t nrooms;
    size_t nwaiters;
    sh_timer *tick;
    uint64_t last_viewer_sweep;
    bool stopping;
    bool finished; /* fini ran: completions only free */
    /* metrics */
    sh_metric *m_rooms, *m_live, *m_blocked, *m_parts, *m_segments, *m_bytes_out, *m_reqs_timeout, *m_thumbs,
        *m_thumb_fail, *m_stored;
} hls_ctx;

extern hls_ctx hls_g;

#define HLS_LOG(level, ...) hls_g.h->log(hls_g.self, level, __VA_ARGS__)

hls_room *hls_room_find(const char *id);
/* Finds or creates (and lists) the room; NULL on allocation failure. */
hls_room *hls_room_get(const char *id);
void hls_room_ref(hls_room *r);
void hls_room_unref(hls_room *r);
/* The playlist changed: drop the rendered copies, prune the store, wake blocked requests. */
void hls_room_changed(hls_room *r);
/* Renders (or reuses) the playlist for `skip`; a new reference, NULL on failure. */
hls_buf *hls_room_playlist(hls_room *r, enum hls_skip skip);
/* Starts the grace period (the stream ended or HLS stopped muxing it). */
void hls_room_begin_grace(hls_room *r);
void hls_update_stored_gauge(void);

/* ---- sink.c ------------------------------------------------------------------------------- */
extern const sh_stage_ops hls_sink_ops;

/* ---- serve.c ------------------------------------------------------------------------------ */
int hls_serve_register(void);
/* Answers the room's blocked requests whose condition now holds (or can never hold). */
void hls_waiters_wake(hls_room *r);
/* Answers blocked requests past their deadline (503). */
void hls_waiters_expire(hls_room *r, uint64_t now_ms);
/* Answers every blocked request of the room now (shutdown / room freed). */
void hls_waiters_flush(hls_room *r);

/* ---- thumb.c ------------------------------------------------------------------------------ */
/* Keeps `pkt` (a video keyframe) as the next thumbnail's source. */
void hls_thumb_keyframe(hls_room *r, sh_packet *pkt);
/* Starts a thumbnail job when one is due. */
void hls_thumb_tick(hls_room *r, uint64_t now_ms);
void hls_thumb_release(hls_room *r); /* drops the keyframe and thumbnail */

#endif
