/*
 * rooms.h - the `rooms` service (1.x), provided by the rooms plugin.
 *
 * Ingest uses it to find the room a publishing user streams into (every streamer has exactly one
 * room; it is created on the first publish if the streamer never made one). Chat uses it for a
 * room's owner and modes. Get it with host->service_get(self, SH_ROOMS_SERVICE, 1, 0).
 * Callbacks run on the loop exactly once; strings and structs handed to them are borrowed.
 */
#ifndef STREAMHUB_ROOMS_H
#define STREAMHUB_ROOMS_H

#include <stddef.h>
#include <stdint.h>

#define SH_ROOMS_SERVICE "rooms"
#define SH_ROOMS_MAJOR 1
#define SH_ROOMS_MINOR 0

/* Published on the bus (SH_BUS_CLUSTER) when a room's settings change: {roomId}. */
#define SH_TOPIC_ROOM_UPDATED "room.updated"

typedef struct sh_room_info {
    const char *room_id;    /* public id */
    int64_t owner_id;
    const char *owner_name;
    const char *title;
    int is_live;
    int slow_mode_seconds;  /* 0 = off */
    int followers_only;     /* 0 = off */
    int followers_only_minutes; /* followed for at least this long (0 = any follower) */
} sh_room_info;

/* status: SH_OK, SH_ERR_NOTFOUND, SH_ERR_UNAVAILABLE (database down). */
typedef void (*sh_room_info_cb)(int status, const sh_room_info *room, void *ud);

typedef struct sh_rooms_api {
    size_t size;
    /* The room of a user, created if missing (title "<username>'s stream"). */
    void (*room_for_user)(int64_t user_id, const char *username, sh_room_info_cb cb, void *ud);
    /* A room by public id. */
    void (*room_info)(const char *room_id, sh_room_info_cb cb, void *ud);
} sh_rooms_api;

#endif
