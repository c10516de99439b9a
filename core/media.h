/*
 * media.h - the media pipeline: streams (one publish session bound to a room), their tracks,
 * reference-counted packets, and the stages (filters, then sinks) that see every stream.
 *
 * A source opens a stream, declares tracks, starts it, pushes packets and closes it. Each
 * packet's data is copied once when pushed; every stage shares that copy (fan-out by reference).
 * Start and end are published on the event bus (stream.started / stream.ended). One live stream
 * per room on a node. Thread: loop only.
 */
#ifndef SH_CORE_MEDIA_H
#define SH_CORE_MEDIA_H

#include "core/host.h"

typedef struct sh_media sh_media;

sh_media *sh_media_new(sh_host *h);
/* Close every live stream (reason "shutdown") and free. */
void sh_media_close_all(sh_media *m);
void sh_media_free(sh_media *m);
size_t sh_media_stream_count(const sh_media *m);

int sh_media_stage(sh_media *m, sh_plugin *p, const char *name, sh_stage_kind kind, const sh_stage_ops *ops, void *ud);
sh_stream *sh_stream_open(sh_media *m, sh_plugin *src, const char *room_id, int64_t user_id, const char *username);
int sh_stream_add_track(sh_stream *st, const sh_track_info *info);
int sh_stream_start(sh_stream *st);
int sh_stream_push(sh_stream *st, const sh_packet_info *pi);
void sh_stream_close(sh_stream *st, const char *reason);
int64_t sh_stream_id(sh_stream *st);
const char *sh_stream_room(sh_stream *st);
int64_t sh_stream_user_id(sh_stream *st);
const char *sh_stream_username(sh_stream *st);
size_t sh_stream_track_count(sh_stream *st);
const sh_track_info *sh_stream_track(sh_stream *st, size_t i);
uint64_t sh_stream_started_ms(sh_stream *st);
sh_stream *sh_stream_find(sh_media *m, const char *room_id);

int sh_packet_track(const sh_packet *p);
int64_t sh_packet_pts(const sh_packet *p);
int64_t sh_packet_dts(const sh_packet *p);
int sh_packet_keyframe(const sh_packet *p);
const uint8_t *sh_packet_data(const sh_packet *p, size_t *len);
sh_packet *sh_packet_ref(sh_packet *p);
void sh_packet_unref(sh_packet *p);
sh_packet *sh_packet_new(const sh_packet_info *info);

#endif
