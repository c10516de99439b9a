/*
 * bus.h - the in-process event bus: publish a JSON payload on a topic, subscribers of the topic
 * (or of a "prefix.*") get it on a later loop turn, in publish order. With Redis, a cluster
 * publish is also sent on the channel "<prefix>bus" and delivered by every other node (a node
 * ignores its own messages). Thread: loop only.
 */
#ifndef SH_CORE_BUS_H
#define SH_CORE_BUS_H

#include <event2/event.h>
#include <streamhub/streamhub.h>

#include "core/redis.h"

typedef struct sh_bus sh_bus;

sh_bus *sh_bus_new(struct event_base *base, sh_redis *redis, const char *redis_prefix, const char *node_id);
void sh_bus_free(sh_bus *b);
int sh_bus_subscribe(sh_bus *b, const char *who, const char *topic, sh_event_cb cb, void *ud);
/* Takes payload (NULL = {}). */
int sh_bus_publish(sh_bus *b, const char *topic, json_object *payload, unsigned flags);
/* 1 if deliveries are queued. */
int sh_bus_pending(const sh_bus *b);
/* Deliver everything queued now (shutdown). */
void sh_bus_flush(sh_bus *b);
/* Forget the Redis connection (about to be freed at shutdown): cluster publishes from then on
 * are delivered on this node only. */
void sh_bus_detach_redis(sh_bus *b);

#endif
