/*
 * streamsim.c - test-only plugin: simulated publishers, driving the core's real media path (the
 * one the rtmp plugin uses) so that stream.started / stream.ended are published by the host.
 *
 *   POST   /api/test/streams {roomId, userId, username}
 *          stream_open + one H.264 track (a small avcC) + stream_start;
 *          201 {streamId, roomId}; 409 stream_exists when the room is already live on this node.
 *          Without roomId, the room comes from the `rooms` service (room_for_user: created if the
 *          user has none), as ingest does; 404 when there is no such user, 503 without the service.
 *   DELETE /api/test/streams/:roomId
 *          stream_close(st, "unpublished") (or the `reason` query parameter); 204; 404 if none.
 *
 * Not in the default config; never load it in production (no authentication).
 */
#include <stdio.h>
#include <streamhub/rooms.h>
#include <streamhub/streamhub.h>
#include <string.h>

static const sh_host_api *host;
static sh_plugin *self;
static const sh_rooms_api *rooms;

/* avcC: version 1, profile 66 (baseline), level 30, 4-byte lengths, one 9-byte SPS, one PPS. */
static const uint8_t AVCC[] = {0x01, 0x42, 0x00, 0x1e, 0xff, 0xe1, 0x00, 0x09, 0x67, 0x42, 0x00, 0x1e,
                               0x95, 0xa8, 0x28, 0x0f, 0x64, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};

static void start(sh_request *req, const char *room, int64_t user_id, const char *username) {
    sh_stream *st = host->stream_open(self, room, user_id, username ? username : "");
    if (!st) {
        host->respond_error(req, 409, "stream_exists", "The room already has a live stream on this node.", NULL);
        return;
    }
    sh_track_info t = {
        .size = sizeof t,
        .kind = SH_TRACK_VIDEO,
        .codec = SH_CODEC_H264,
        .extradata = AVCC,
        .extradata_len = sizeof AVCC,
        .timebase_num = 1,
        .timebase_den = 1000,
        .width = 320,
        .height = 240,
        .fps = 30,
    };
    if (host->stream_add_track(st, &t) < 0 || host->stream_start(st) != SH_OK) {
        host->stream_close(st, "error");
        host->respond_error(req, 500, "internal", "Cannot start the stream.", NULL);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "streamId", json_object_new_int64(host->stream_id(st)));
    json_object_object_add(o, "roomId", json_object_new_string(room));
    host->respond_json(req, 201, o);
}

static void on_room(int status, const sh_room_info *room, void *ud) {
    sh_request *req = ud;
    if (status == SH_OK)
        start(req, room->room_id, room->owner_id, room->owner_name);
    else if (status == SH_ERR_NOTFOUND)
        host->respond_error(req, 404, "not_found", "No such user.", NULL);
    else
        host->respond_error(req, 503, "rooms_unavailable", "The rooms service could not answer.", NULL);
}

static void h_start(sh_request *req, void *ud) {
    (void)ud;
    json_object *body = host->req_json(req);
    if (!body) return;
    const char *room = NULL, *username = NULL;
    int64_t user_id = 0;
    int rc = host->json_str(req, body, "roomId", 1, 64, SH_JSON_OPTIONAL, &room);
    if (rc < 0 || host->json_int(req, body, "userId", 0, INT64_MAX, SH_JSON_OPTIONAL, &user_id) < 0 ||
        host->json_str(req, body, "username", 0, 64, SH_JSON_OPTIONAL, &username) < 0)
        return;
    if (room) {
        start(req, room, user_id, username);
    } else if (!rooms) {
        host->respond_error(req, 503, "rooms_unavailable", "No rooms service: send roomId.", NULL);
    } else {
        rooms->room_for_user(user_id, username, on_room, req);
    }
}

static void h_stop(sh_request *req, void *ud) {
    (void)ud;
    sh_stream *st = host->stream_find(self, host->req_param(req, "roomId"));
    if (!st) {
        host->respond_error(req, 404, "not_found", "No live stream in that room on this node.", NULL);
        return;
    }
    const char *reason = host->req_query(req, "reason");
    host->stream_close(st, reason && *reason ? reason : "unpublished");
    host->respond_json(req, 204, NULL);
}

static int init(sh_plugin *p, const sh_host_api *h) {
    host = h;
    self = p;
    if (!SH_HOST_HAS(h, stream_find)) {
        h->log(p, SH_LOG_ERROR, "needs SDK 1.2 (media pipeline)");
        return SH_ERR;
    }
    rooms = h->service_get(p, SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, 0); /* optional */
    if (h->http_route(p, "POST", "/api/test/streams", 0, h_start, NULL) != SH_OK ||
        h->http_route(p, "DELETE", "/api/test/streams/:roomId", 0, h_stop, NULL) != SH_OK)
        return SH_ERR;
    return SH_OK;
}

static const sh_dep requires[] = {{SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, 0, 1}, {NULL, 0, 0, 0}};

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "streamsim",
    .version = "1.0.0",
    .description = "test only: simulated publishers through the core's media path",
    .requires = requires,
    .init = init,
};
SH_PLUGIN_EXPORT(desc)
