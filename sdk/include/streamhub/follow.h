/*
 * follow.h - the `follow` service (1.x), provided by the follow plugin. Chat uses it for
 * followers-only mode. Get it with host->service_get(self, SH_FOLLOW_SERVICE, 1, 0).
 */
#ifndef STREAMHUB_FOLLOW_H
#define STREAMHUB_FOLLOW_H

#include <stdint.h>

#define SH_FOLLOW_SERVICE "follow"
#define SH_FOLLOW_MAJOR 1
#define SH_FOLLOW_MINOR 0

/* status SH_OK with since_ms = when the follow began (wall clock ms), or 0 when not following;
 * SH_ERR_UNAVAILABLE when the database is down. */
typedef void (*sh_follow_cb)(int status, uint64_t since_ms, void *ud);

typedef struct sh_follow_api {
    size_t size;
    void (*follows_since)(int64_t follower_id, int64_t streamer_id, sh_follow_cb cb, void *ud);
} sh_follow_api;

#endif
