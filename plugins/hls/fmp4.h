/*
 * hls/fmp4 - in-memory fragmented-MP4 (CMAF-style) muxer for LL-HLS.
 *
 * What it is: a thin wrapper around libavformat's "mp4" muxer in fragmented mode
 * that writes into memory through a custom AVIOContext. No file, URL or socket is
 * ever opened. It turns the tracks and packets of one live stream (as the rtmp
 * plugin hands them over: H.264 or HEVC in length-prefixed AVCC form with avcC /
 * hvcC extradata, AAC raw frames with an AudioSpecificConfig) into
 *   - one initialization segment (ftyp + moov), available right after creation,
 *   - a sequence of "chunks", each one or more moof + mdat pairs, produced every
 *     time the caller cuts (hls_fmp4_cut). A chunk is an LL-HLS partial segment;
 *     a media segment is the byte concatenation of its parts. init + any run of
 *     consecutive chunks is a valid fragmented MP4 (hls.js / ffmpeg can play it).
 *
 * Timing model: libavformat needs each sample's duration when the sample is
 * written, but a live source only knows it once the next packet of the same
 * track arrives. The muxer therefore holds back the most recent packet of every
 * track; its duration becomes next.dts - dts when its successor arrives. A cut
 * emits every sample written so far EXCEPT those held-back packets, which open
 * the next chunk. So: to start a new part (or segment) with packet P, write P,
 * then call hls_fmp4_cut() - the chunk it returns ends right before P. Output
 * timestamps are exactly the input timestamps rescaled to the muxer's per-track
 * time base (hls_fmp4_time_base): never shifted, continuous from chunk to
 * chunk, DTS strictly increasing per track; tracks keep their relative offsets
 * (no per-track re-basing, no edit lists). Input DTS must be >= 0.
 *
 * Long streams: libavformat records every fragment it writes, so the muxer
 * swaps in a fresh libavformat context at a segment boundary every few
 * thousand chunks, which bounds memory. The init segment stays byte-identical
 * (checked; if it ever differed, the swap is abandoned); only the moof
 * sequence numbers restart at 1 in the segment after the swap.
 *
 * Durations are measured on the reference track (the first video track, else
 * track 0): a chunk's duration is the reference-track time from its first
 * sample to the first sample of the next chunk.
 *
 * Typical use by the glue, per packet P on the reference track (after
 * hls_fmp4_write(P); d = hls_fmp4_pending_duration(), the length the part would
 * have if cut now):
 *   - P is a keyframe and the segment is long enough: hls_fmp4_cut(), add the
 *     chunk as the segment's last part, close the segment (next part starts at P);
 *   - else if d plus one more frame interval would exceed PART-TARGET:
 *     hls_fmp4_cut() and add the chunk as a part.
 * Start feeding at a keyframe so that the first chunk is independent.
 *
 * Ownership: hls_fmp4_create returns a muxer the caller frees with
 * hls_fmp4_free. Extradata and packet data are copied; the caller keeps its
 * buffers. Chunk data returned by hls_fmp4_cut / hls_fmp4_finish is malloc()ed
 * and owned by the caller (free()). The init segment stays owned by the muxer.
 *
 * Threads: a muxer is not thread-safe; use each instance from one thread (the
 * event loop) at a time. Distinct instances are independent. The module has
 * no global state (it does not touch av_log settings either).
 */
#ifndef HLS_FMP4_H
#define HLS_FMP4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes: 0 or one of these negative values. */
enum hls_fmp4_status {
    HLS_FMP4_OK = 0,
    HLS_FMP4_EINVAL = -1, /* bad argument (NULL, track index, time base, size) */
    HLS_FMP4_ENOMEM = -2, /* allocation failed */
    HLS_FMP4_ECODEC = -3, /* missing/malformed extradata or bad codec parameters */
    HLS_FMP4_EDATA = -4,  /* packet payload malformed (NAL lengths overrun) */
    HLS_FMP4_ETS = -5,    /* DTS negative or not strictly increasing on its track, or PTS < DTS */
    HLS_FMP4_ESTATE = -6, /* muxer already finished or failed earlier */
    HLS_FMP4_EMUX = -7,   /* libavformat reported an error */
};

enum hls_fmp4_codec {
    HLS_FMP4_H264 = 1, /* extradata: avcC (AVCDecoderConfigurationRecord) */
    HLS_FMP4_HEVC = 2, /* extradata: hvcC (HEVCDecoderConfigurationRecord), sample entry 'hvc1' */
    HLS_FMP4_AAC = 3,  /* extradata: AudioSpecificConfig */
};

#define HLS_FMP4_MAX_TRACKS 4

struct hls_fmp4_rational {
    int num;
    int den;
};

/* One input track. Every field is read during hls_fmp4_create only. */
struct hls_fmp4_track {
    enum hls_fmp4_codec codec;
    const uint8_t *extradata; /* required; copied */
    size_t extradata_size;
    struct hls_fmp4_rational time_base; /* unit of pts/dts given to hls_fmp4_write, e.g. 1/1000 */
    int width, height;                  /* video: > 0 */
    int sample_rate, channels;          /* audio: > 0 */
};

/* One input packet; data is borrowed for the duration of the call. */
struct hls_fmp4_packet {
    unsigned track;   /* index into the track array given to hls_fmp4_create */
    int64_t pts, dts; /* in the track's time base; 0 <= dts <= pts */
    bool keyframe;    /* ignored for audio (every AAC frame is a sync sample) */
    const uint8_t *
        data; /* video: length-prefixed NAL units (sizes per avcC/hvcC); audio: one raw AAC frame */
    size_t size;
};

/* Output of a cut. */
struct hls_fmp4_chunk {
    uint8_t *data; /* moof+mdat bytes; malloc()ed, caller frees; NULL when size == 0 */
    size_t size;
    int64_t start;       /* reference-track DTS of the chunk's first sample, muxer time base */
    int64_t duration;    /* reference-track duration, muxer time base (0 if no reference sample) */
    int64_t duration_us; /* same in microseconds (computed from rescaled end points: sums do not
                            drift) */
    bool independent;    /* first reference-track sample is a keyframe (always true for audio) */
};

struct hls_fmp4;

/*
 * Creates a muxer for n (1..HLS_FMP4_MAX_TRACKS) tracks and writes the init
 * segment. Refuses (HLS_FMP4_ECODEC) a track whose extradata is missing or not a
 * well-formed avcC / hvcC / AudioSpecificConfig, or whose dimensions / sample
 * rate / channel count are not positive. On success *out owns a new muxer.
 */
int hls_fmp4_create(const struct hls_fmp4_track *tracks, size_t n, struct hls_fmp4 **out);

/* Frees the muxer and everything it owns; NULL is a no-op. */
void hls_fmp4_free(struct hls_fmp4 *m);

/* The init segment (ftyp + moov). The pointer stays valid until hls_fmp4_free. */
void hls_fmp4_init_segment(const struct hls_fmp4 *m, const uint8_t **data, size_t *size);

/* Time base of a track's timestamps in the output (e.g. 1/90000 for video,
 * 1/sample_rate for audio). {0, 1} for an invalid index. */
struct hls_fmp4_rational hls_fmp4_time_base(const struct hls_fmp4 *m, unsigned track);

/* Index of the reference track (first video track, else 0). */
unsigned hls_fmp4_reference_track(const struct hls_fmp4 *m);

/*
 * Queues a packet (copied). The previous packet of the same track is handed to
 * libavformat now that its duration is known. Errors: EINVAL (bad track, empty
 * or oversized payload), EDATA (NAL lengths overrun the payload), ETS (DTS
 * negative or not strictly after the previous packet of the track, or PTS <
 * DTS), ESTATE (after finish or a failure), EMUX. After EINVAL, EDATA and ETS
 * nothing was queued and the muxer stays usable; after ENOMEM or EMUX it is
 * failed (ESTATE from then on) and should be freed.
 */
int hls_fmp4_write(struct hls_fmp4 *m, const struct hls_fmp4_packet *pkt);

/*
 * Reference-track duration (muxer time base) of what a cut would emit now,
 * i.e. from the first pending reference sample to the most recently written
 * reference packet. 0 if none. Use it to decide when to cut.
 */
int64_t hls_fmp4_pending_duration(const struct hls_fmp4 *m);

/*
 * Ends the current chunk right before the most recently written packet of each
 * track and returns its bytes in *out (out->size == 0 when nothing is pending).
 * Call it right after writing the packet that must begin the next part; to start
 * a segment, that packet should be a video keyframe.
 */
int hls_fmp4_cut(struct hls_fmp4 *m, struct hls_fmp4_chunk *out);

/*
 * End of stream: emits everything, including the held-back packets (their
 * duration is estimated from the track's previous packet interval, or one AAC
 * frame / one 30 fps frame if there was none). Afterwards only hls_fmp4_free
 * and the accessors may be called.
 */
int hls_fmp4_finish(struct hls_fmp4 *m, struct hls_fmp4_chunk *out);

/* Pure validators, exposed for the glue and for fuzzing: 0 or HLS_FMP4_ECODEC.
 * On success *nal_length_size (may be NULL) receives the NAL length field size. */
int hls_fmp4_check_avcc(const uint8_t *p, size_t n, int *nal_length_size);
int hls_fmp4_check_hvcc(const uint8_t *p, size_t n, int *nal_length_size);
int hls_fmp4_check_asc(const uint8_t *p, size_t n);

#endif /* HLS_FMP4_H */
