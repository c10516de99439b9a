/*
 * ratelimit.h - the core's rate limiter: at most N hits per window per key.
 *
 * Without Redis, an in-process table (bounded; old windows swept by a timer). With Redis, one
 * atomic script per hit (INCR + PEXPIRE on first hit, returning count and PTTL) so that every
 * node shares the same buckets; if Redis is configured but down, it falls back to the local table
 * (fail open per node, never fail closed on an outage). Thread: loop only.
 */
#ifndef SH_CORE_RATELIMIT_H
#define SH_CORE_RATELIMIT_H

#include <event2/event.h>
#include <stdint.h>
#include <streamhub/streamhub.h>
#include "core/redis.h"

typedef struct sh_ratelimit sh_ratelimit;

/* redis may be NULL. `prefix` namespaces keys in Redis (e.g. "sh:rl:"). */
sh_ratelimit *sh_ratelimit_new(struct event_base *base, sh_redis *redis, const char *prefix);
void sh_ratelimit_free(sh_ratelimit *rl);
/* cb(allowed, retry_after_ms, ud); may run before this returns (local table). */
void sh_ratelimit_hit(sh_ratelimit *rl, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb,
                      void *ud);

#endif
