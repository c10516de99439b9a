/*
 * plugins/rtmp/flv.h - FLV tag bodies carried by RTMP audio (8) and video (9) messages, and the
 * codec configuration records inside them.
 *
 * What it is: pure parsers and validators over a buffer, no allocation:
 *  - flv_video_parse(): legacy VideoTagHeader (FrameType, CodecID; for AVC the AVCPacketType and
 *    the signed 24-bit composition time) and the Enhanced RTMP ExVideoTagHeader (IsExHeader bit,
 *    PacketType SequenceStart / CodedFrames / SequenceEnd / CodedFramesX / Metadata /
 *    MPEG2TSSequenceStart, FourCC 'hvc1' 'av01' 'vp09' and 'avc1'). Per the spec, CodedFrames
 *    carries an SI24 composition time only for 'avc1' / 'hvc1'; CodedFramesX never does. Multitrack
 *    and ModEx (Enhanced RTMP v2), unknown FourCCs and reserved codec ids are FLV_ERR_UNSUPPORTED.
 *  - flv_audio_parse(): SoundFormat/rate/size/type; for AAC (10) the AACPacketType.
 *  - flv_avcc_parse(): AVCDecoderConfigurationRecord (version 1, NAL length size 1/2/4, >= 1 SPS
 *    and >= 1 PPS, every length inside the buffer) plus the first SPS decoded for profile, level,
 *    chroma format, bit depth and cropped width/height (flv_h264_sps_parse()).
 *  - flv_hvcc_parse(): HEVCDecoderConfigurationRecord (version 1, arrays inside the buffer, VPS,
 *    SPS and PPS present) with profile/tier/level.
 *  - flv_asc_parse(): AudioSpecificConfig (object type incl. escape, sampling frequency index incl.
 *    the 0xF escape with an explicit 24-bit rate, channel configuration, explicit SBR/PS).
 *  - flv_nalu_iter_* / flv_nalus_validate(): length-prefixed NAL units of a coded frame.
 * Every read is bounds-checked; anything malformed is FLV_ERR_INVALID or FLV_ERR_TRUNCATED, so
 * nothing unchecked reaches FFmpeg.
 *
 * Ownership: output structs are caller-owned; their pointers (body, sps, pps, ...) point into the
 * input buffer and live as long as it does. Threads: no globals; any thread.
 */
#ifndef STREAMHUB_RTMP_FLV_H
#define STREAMHUB_RTMP_FLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flv_status {
    FLV_OK = 0,
    FLV_ERR_ARG = -1,
    FLV_ERR_TRUNCATED = -2,   /* a header or a length runs past the buffer */
    FLV_ERR_INVALID = -3,     /* a field has a value the spec does not allow */
    FLV_ERR_UNSUPPORTED = -4, /* valid perhaps, but not something we can interpret */
};

#define FLV_FOURCC(a, b, c, d)                                                                                         \
    (((uint32_t)(uint8_t)(a) << 24) | ((uint32_t)(uint8_t)(b) << 16) | ((uint32_t)(uint8_t)(c) << 8) |                 \
     (uint32_t)(uint8_t)(d))
#define FLV_FOURCC_AVC1 FLV_FOURCC('a', 'v', 'c', '1')
#define FLV_FOURCC_HVC1 FLV_FOURCC('h', 'v', 'c', '1')
#define FLV_FOURCC_AV01 FLV_FOURCC('a', 'v', '0', '1')
#define FLV_FOURCC_VP09 FLV_FOURCC('v', 'p', '0', '9')

#define FLV_CODEC_ID_AVC     7
#define FLV_SOUND_FORMAT_AAC 10

enum flv_frame_type {
    FLV_FRAME_KEY = 1,
    FLV_FRAME_INTER = 2,
    FLV_FRAME_DISPOSABLE = 3,
    FLV_FRAME_GENERATED_KEY = 4,
    FLV_FRAME_COMMAND = 5,
};

enum flv_video_codec {
    FLV_VCODEC_H264 = 1, /* legacy CodecID 7 or FourCC 'avc1' */
    FLV_VCODEC_HEVC,     /* 'hvc1' */
    FLV_VCODEC_AV1,      /* 'av01' */
    FLV_VCODEC_VP9,      /* 'vp09' */
    FLV_VCODEC_LEGACY,   /* another legacy CodecID (2..6): see codec_id, body is raw */
};

enum flv_video_packet {
    FLV_VPKT_SEQUENCE_START = 0, /* body: decoder configuration record (avcC, hvcC, ...) */
    FLV_VPKT_CODED_FRAMES = 1,   /* body: NAL units / OBUs / frame; cts valid */
    FLV_VPKT_SEQUENCE_END = 2,
    FLV_VPKT_METADATA = 4, /* Enhanced: body is AMF0 ["colorInfo", object] */
    FLV_VPKT_MPEG2TS_SEQUENCE_START = 5,
    FLV_VPKT_COMMAND = 16, /* FrameType 5: `command` set, no media */
    FLV_VPKT_RAW = 17,     /* legacy non-AVC codec data */
};

struct flv_video {
    bool ex_header;     /* Enhanced RTMP header */
    uint8_t frame_type; /* enum flv_frame_type (meaningless for METADATA) */
    uint8_t codec_id;   /* legacy CodecID; 0 with ex_header */
    uint32_t fourcc;    /* FourCC as read (big-endian); FLV_FOURCC_AVC1 for legacy AVC */
    enum flv_video_codec codec;
    enum flv_video_packet packet;
    uint8_t wire_packet_type; /* AVCPacketType or ExHeader PacketType as sent (3 = X) */
    int32_t cts;              /* composition time offset in ms (0 when absent) */
    uint8_t command;          /* FLV_VPKT_COMMAND: 0 start seek, 1 end seek */
    const uint8_t *body;      /* points into the input; NULL when body_len == 0 */
    size_t body_len;
};

enum flv_audio_packet {
    FLV_APKT_AAC_SEQUENCE_HEADER = 0, /* body: AudioSpecificConfig */
    FLV_APKT_AAC_RAW = 1,             /* body: one raw AAC frame */
    FLV_APKT_RAW = 2,                 /* another sound format: body is its data */
};

struct flv_audio {
    uint8_t sound_format; /* 10 = AAC, 2 = MP3, ... */
    uint8_t sound_rate;   /* 0..3 = 5.5 / 11 / 22 / 44 kHz (as sent; AAC ignores it) */
    uint8_t sound_size;   /* 0 = 8-bit, 1 = 16-bit */
    uint8_t sound_type;   /* 0 = mono, 1 = stereo */
    enum flv_audio_packet packet;
    const uint8_t *body; /* points into the input; NULL when body_len == 0 */
    size_t body_len;
};

struct flv_h264_sps {
    uint8_t profile_idc;
    uint8_t constraint_flags; /* constraint_set0..5 flags byte */
    uint8_t level_idc;        /* e.g. 31 = level 3.1 */
    uint8_t sps_id;
    uint8_t chroma_format_idc; /* 0..3 (1 = 4:2:0) */
    uint8_t bit_depth_luma;    /* 8..14 */
    uint8_t bit_depth_chroma;
    bool frame_mbs_only;
    uint32_t width; /* luma samples after cropping */
    uint32_t height;
};

struct flv_avc_config {
    uint8_t profile_idc; /* from the record header */
    uint8_t profile_compat;
    uint8_t level_idc;
    uint8_t nal_length_size; /* 1, 2 or 4 */
    uint8_t num_sps;
    uint8_t num_pps;
    const uint8_t *sps; /* first SPS NAL unit (with its header byte); points into input */
    uint16_t sps_len;
    const uint8_t *pps; /* first PPS NAL unit */
    uint16_t pps_len;
    struct flv_h264_sps sps_info; /* decoded first SPS */
};

struct flv_hevc_config {
    uint8_t profile_space;
    uint8_t tier_flag;
    uint8_t profile_idc;
    uint8_t level_idc; /* 30 x level, e.g. 93 = level 3.1 */
    uint8_t chroma_format_idc;
    uint8_t bit_depth_luma;
    uint8_t bit_depth_chroma;
    uint8_t nal_length_size; /* 1, 2 or 4 */
    uint8_t num_arrays;
    uint16_t num_vps, num_sps, num_pps;
};

struct flv_aac_config {
    uint8_t object_type;      /* audioObjectType; with explicit SBR/PS the core type (2 = LC) */
    uint8_t sampling_index;   /* 0..12, or 15 when the rate was sent explicitly */
    uint32_t sample_rate;     /* Hz (core rate) */
    uint8_t channel_config;   /* 0 = program config element, 1..7, 11..14 */
    uint8_t channels;         /* derived from channel_config (0 when it is 0) */
    bool sbr;                 /* explicit SBR (HE-AAC) signalled: object type 5 or 29 */
    bool ps;                  /* explicit PS (HE-AAC v2): object type 29 */
    uint32_t ext_sample_rate; /* SBR output rate when sbr, else 0 */
    bool adts_compatible;     /* ADTS can carry it (MPEG-TS / HLS): object type 1..4, a
                                 sampling index 0..12, channel_config 1..7 */
};

struct flv_nalu_iter {
    const uint8_t *p;
    size_t len;
    size_t pos;
    uint8_t length_size;
};

/* Parses a video message payload. Returns FLV_OK or a negative enum flv_status. */
int flv_video_parse(const uint8_t *p, size_t len, struct flv_video *out);

/* Parses an audio message payload. Returns FLV_OK or a negative enum flv_status. */
int flv_audio_parse(const uint8_t *p, size_t len, struct flv_audio *out);

/* Validates an avcC record and decodes its first SPS. Returns FLV_OK or a negative status. */
int flv_avcc_parse(const uint8_t *p, size_t len, struct flv_avc_config *out);

/* Decodes an H.264 SPS NAL unit (starting with its NAL header byte, emulation prevention bytes
 * still in). Returns FLV_OK or a negative status. */
int flv_h264_sps_parse(const uint8_t *nal, size_t len, struct flv_h264_sps *out);

/* Validates an hvcC record. Returns FLV_OK or a negative status. */
int flv_hvcc_parse(const uint8_t *p, size_t len, struct flv_hevc_config *out);

/* Validates an AudioSpecificConfig. Returns FLV_OK or a negative status. */
int flv_asc_parse(const uint8_t *p, size_t len, struct flv_aac_config *out);

/* Iterates the length-prefixed NAL units of a coded frame; length_size is 1, 2 or 4 (from the
 * configuration record). The iterator points into p, which must outlive it. */
void flv_nalu_iter_init(struct flv_nalu_iter *it, const uint8_t *p, size_t len, uint8_t length_size);

/* Next NAL unit: returns 1 with *nal / *nal_len set (pointing into the buffer; a zero-length
 * unit gives nal_len 0), 0 at the end, or a negative status (FLV_ERR_TRUNCATED when a length runs
 * past the buffer, FLV_ERR_ARG for a bad length_size). */
int flv_nalu_next(struct flv_nalu_iter *it, const uint8_t **nal, size_t *nal_len);

/* Checks that the NAL units tile the payload exactly; *count (may be NULL) gets their number.
 * Returns FLV_OK or a negative status. */
int flv_nalus_validate(const uint8_t *p, size_t len, uint8_t length_size, uint32_t *count);

/* Static string for an enum flv_status value. */
const char *flv_strerror(int status);

#endif
