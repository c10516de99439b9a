/*
 * hls/playlist - Low-Latency HLS media playlist model and writer.
 *
 * What it is: a pure data structure (no I/O, no clock, no globals) describing
 * one live rendition as RFC 8216 and its LL-HLS revision
 * (draft-pantos-hls-rfc8216bis: partial segments, preload hints, blocking
 * playlist reload, playlist delta updates) require, plus the writer that
 * renders it as an m3u8 media playlist and the parser/validator for the
 * delivery directives (_HLS_msn, _HLS_part, _HLS_skip) of a playlist request.
 *
 * Model: a sliding window of complete segments (Media Sequence Number, duration,
 * program date time, discontinuity flag, init section generation, parts) and the
 * in-progress segment, which only has parts so far. The caller (the hls plugin
 * glue, which owns the fMP4 muxer and the byte storage) reports every part as
 * it is cut, closes a segment when the next one must start (at a keyframe),
 * flags discontinuities, and ends the stream. Durations are integer
 * microseconds; they are written exactly (e.g. 0.333333), so the rules checked
 * on the model hold for the printed values too.
 *
 * URIs (fixed scheme, relative to the playlist's URI):
 *   init<g>.mp4   media initialization section, g = init generation (0 first;
 *                 hls_playlist_mark_discontinuity(pl, true) starts a new one)
 *   seg<m>.m4s    complete segment with Media Sequence Number m
 *   part<n>.m4s   partial segment n, a stream-wide part counter (0 first).
 *                 Parts are numbered globally, not per segment, so the URI in
 *                 EXT-X-PRELOAD-HINT stays right whether or not the segment is
 *                 closed before that part arrives (rfc8216bis 4.4.5.3: the hinted
 *                 URI MUST match the URI later added to the playlist).
 * hls_uri_format / hls_uri_parse convert between the names and numbers.
 *
 * Rules enforced by the model: a part lasts at most PART-TARGET; a segment,
 * rounded to the nearest second, lasts at most TARGETDURATION; the window never
 * drops below three target durations (rfc8216bis 6.2.2; up to
 * HLS_PL_MAX_SEGMENTS); MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE only grow.
 * Both targets are fixed for the playlist's life (6.2.1), so configure
 * TARGETDURATION to cover the longest GOP and PART-TARGET the longest part the
 * glue will cut (e.g. 30 fps with millisecond timestamps: 10 frames can last
 * 0.334 s). Left to the caller: parts other than
 * independent or final ones should last at least 85% of PART-TARGET
 * (4.4.4.9); segments should start with an independent part; part bytes must
 * stay downloadable for three target durations after they leave the playlist
 * (6.2.2) - hls_playlist_segment reports what is still listed.
 *
 * Ownership: hls_playlist_create returns a playlist freed with
 * hls_playlist_free. hls_playlist_write returns a malloc()ed, NUL-terminated
 * buffer the caller frees with free(). No pointer passed in is retained.
 *
 * Threads: not thread-safe; call a playlist from one thread (the event loop).
 */
#ifndef HLS_PLAYLIST_H
#define HLS_PLAYLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 or one of these negative values. */
enum hls_pl_status {
    HLS_PL_OK = 0,
    HLS_PL_EINVAL = -1, /* bad argument or configuration; malformed query / URI */
    HLS_PL_ENOMEM = -2, /* allocation failed */
    HLS_PL_ERANGE = -3, /* duration would break PART-TARGET / TARGETDURATION */
    HLS_PL_ESTATE = -4, /* not allowed now (stream ended, nothing to close) */
};

#define HLS_PL_MAX_SEGMENTS 1024u /* hard cap on complete segments kept */
#define HLS_PL_MAX_PARTS 1024u    /* hard cap on parts per segment */
#define HLS_PL_MAX_TARGET_S 3600u /* largest accepted target duration */

struct hls_playlist_config {
    unsigned window_segments;   /* complete segments listed (>= 1); more are kept while
                                   the window would otherwise last < 3 target durations */
    unsigned target_duration_s; /* EXT-X-TARGETDURATION, 1..HLS_PL_MAX_TARGET_S */
    int64_t part_target_us;     /* PART-TARGET, 1000 us .. target duration */
};

/* _HLS_skip directive. */
enum hls_skip {
    HLS_SKIP_NO = 0,
    HLS_SKIP_YES = 1, /* skip old segments */
    HLS_SKIP_V2 = 2,  /* also skip date ranges (there are none; answered like YES) */
};

/* Parsed delivery directives of a playlist request. */
struct hls_query {
    bool has_msn;
    uint64_t msn;
    bool has_part;
    uint64_t part;
    enum hls_skip skip;
};

/* What to do with a playlist request; values are the HTTP status to send. */
enum hls_reload {
    HLS_RELOAD_BLOCK = 0,         /* hold the request; re-check after each change.
                                     Past hls_playlist_block_timeout_us, answer 503 */
    HLS_RELOAD_READY = 200,       /* answer now with hls_playlist_write */
    HLS_RELOAD_BAD_REQUEST = 400, /* answer 400 now */
};

enum hls_uri_kind {
    HLS_URI_INIT = 1,    /* init<n>.mp4, n = init generation */
    HLS_URI_SEGMENT = 2, /* seg<n>.m4s, n = Media Sequence Number */
    HLS_URI_PART = 3,    /* part<n>.m4s, n = stream-wide part number */
};

struct hls_uri {
    enum hls_uri_kind kind;
    uint64_t n;
};

/* Position of a part: its parent segment, its index in it (0-based, the
 * _HLS_part numbering) and its stream-wide number (its URI). */
struct hls_part_ref {
    uint64_t msn;
    unsigned index;
    uint64_t seq;
};

/* A segment as the model holds it. Its parts are seq first_part_seq ..
 * first_part_seq + part_count - 1, in order; the segment's bytes are theirs
 * concatenated. */
struct hls_segment_info {
    uint64_t msn;
    int64_t duration_us; /* sum of its parts */
    int64_t pdt_ms;      /* program date time of its first sample, ms since the epoch */
    bool discontinuity;  /* EXT-X-DISCONTINUITY before it */
    bool complete;       /* false for the in-progress segment */
    bool parts_listed;   /* its EXT-X-PART tags are in the playlist */
    uint32_t init_gen;   /* its init section: init<init_gen>.mp4 */
    uint64_t first_part_seq;
    unsigned part_count;
};

struct hls_playlist;

/* Validates cfg and creates an empty playlist (first MSN 0, init generation 0). */
int hls_playlist_create(const struct hls_playlist_config *cfg, struct hls_playlist **out);

/* Frees the playlist; NULL is a no-op. */
void hls_playlist_free(struct hls_playlist *pl);

/*
 * Appends a part to the in-progress segment, opening a new segment if none is
 * in progress. pdt_ms (>= 0, ms since the epoch, UTC) is the wall-clock time of
 * the part's first sample; it becomes the segment's EXT-X-PROGRAM-DATE-TIME when
 * the part opens a segment and is ignored otherwise. ERANGE (nothing added) if
 * duration_us is not in 1..PART-TARGET, if the segment would round to more than
 * TARGETDURATION seconds, or if it already has HLS_PL_MAX_PARTS parts.
 */
int hls_playlist_add_part(struct hls_playlist *pl, int64_t duration_us, bool independent,
                          int64_t pdt_ms);

/* Closes the in-progress segment (ESTATE if it has no part) and slides the window. */
int hls_playlist_close_segment(struct hls_playlist *pl);

/*
 * The next segment to be opened gets an EXT-X-DISCONTINUITY (the in-progress
 * one if it has no part yet, otherwise the one after it); with new_init it also
 * uses a new init section generation (a new muxer's init segment).
 */
int hls_playlist_mark_discontinuity(struct hls_playlist *pl, bool new_init);

/* Ends the stream: closes the in-progress segment if it has parts; the playlist
 * then carries EXT-X-ENDLIST and no preload hint. Idempotent. */
int hls_playlist_end(struct hls_playlist *pl);

bool hls_playlist_ended(const struct hls_playlist *pl);

/*
 * Reopens an ended playlist for the next publisher session of the same
 * rendition (a reconnect within the grace period): EXT-X-ENDLIST goes, the
 * preload hint comes back, numbering (MSN, parts, discontinuity sequence, init
 * generations) continues. The caller flags the discontinuity
 * (hls_playlist_mark_discontinuity) before adding parts. This bends rfc8216bis
 * 6.2.1 (nothing may change after EXT-X-ENDLIST) on purpose: a client that saw
 * the ENDLIST stopped reloading and must load the playlist again; one that did
 * not continues across an EXT-X-DISCONTINUITY. ESTATE if the playlist has not
 * ended.
 */
int hls_playlist_resume(struct hls_playlist *pl);

/* Media Sequence Number of the first listed segment (EXT-X-MEDIA-SEQUENCE). */
uint64_t hls_playlist_first_msn(const struct hls_playlist *pl);

/* Media Sequence Number of the in-progress (next) segment. */
uint64_t hls_playlist_next_msn(const struct hls_playlist *pl);

/* Init generation the next opened segment will use. */
uint32_t hls_playlist_init_gen(const struct hls_playlist *pl);

/* Information on segment msn, listed or in progress; EINVAL if not in the model. */
int hls_playlist_segment(const struct hls_playlist *pl, uint64_t msn, struct hls_segment_info *out);

/*
 * Blocking-reload predicate: does the playlist contain part `part` of segment
 * `msn`, or anything later? A part index past the last part of a complete
 * segment means part 0 of the following segment (rfc8216bis 6.2.5.2);
 * segments that slid out of the window count as present.
 */
bool hls_playlist_has_part(const struct hls_playlist *pl, uint64_t msn, uint64_t part);

/* The part the next hls_playlist_add_part will create, assuming the in-progress
 * segment is not closed first (if it is, msn is one more and index 0; seq, and
 * so the URI, is the same either way). This is what EXT-X-PRELOAD-HINT names. */
void hls_playlist_next_part(const struct hls_playlist *pl, struct hls_part_ref *out);

/*
 * Renders the playlist into a new NUL-terminated buffer (*out, caller free()s;
 * *out_len excludes the NUL). skip != HLS_SKIP_NO asks for a Playlist Delta
 * Update: segments whose end is more than CAN-SKIP-UNTIL (6 target durations)
 * before the end of the playlist are replaced by EXT-X-SKIP. Ignored once the
 * stream has ended (rfc8216bis 6.2.5.1); a delta with nothing to skip is
 * written as the full playlist. EXT-X-VERSION is 6 (EXT-X-MAP), 9 with EXT-X-SKIP.
 */
int hls_playlist_write(const struct hls_playlist *pl, enum hls_skip skip, char **out,
                       size_t *out_len);

/*
 * Parses the query component of a playlist request (the bytes after '?', not
 * NUL-terminated, len may be 0) for the delivery directives. Other parameters
 * are ignored; an unknown _HLS_skip value is ignored (no delta). EINVAL - answer
 * 400 - for a malformed or repeated _HLS_msn / _HLS_part (decimal-integer,
 * 0..2^64-1) and for _HLS_part without _HLS_msn (rfc8216bis 6.2.5.2).
 * Names and values are compared as sent (no percent-decoding).
 */
int hls_query_parse(const char *query, size_t len, struct hls_query *out);

/*
 * Applies rfc8216bis 6.2.5.2 to a parsed query against the current playlist:
 * READY with no _HLS_msn or once the stream ended (directives are then ignored);
 * BAD_REQUEST for _HLS_part without _HLS_msn, for an _HLS_msn more than two past
 * the last complete segment, or an _HLS_part beyond the last part by more than
 * the Advance Part Limit (3 / PART-TARGET parts if PART-TARGET < 1 s, else 3);
 * otherwise READY once the segment (msn alone: complete) or part exists
 * (hls_playlist_has_part), else BLOCK.
 */
enum hls_reload hls_playlist_reload_state(const struct hls_playlist *pl, const struct hls_query *q);

/* How long a blocked request may wait before the 503 (three target durations). */
int64_t hls_playlist_block_timeout_us(const struct hls_playlist *pl);

/* Writes the URI of u into buf (NUL-terminated); returns its length, or EINVAL
 * if u is invalid or cap is too small (32 bytes always suffice). */
int hls_uri_format(const struct hls_uri *u, char *buf, size_t cap);

/* Parses a URI of the scheme above (the last path component, exact match,
 * canonical decimal without leading zeros); EINVAL otherwise. */
int hls_uri_parse(const char *s, size_t len, struct hls_uri *out);

#endif /* HLS_PLAYLIST_H */
