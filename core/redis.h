/*
 * redis.h - Redis for the core: hiredis async on the loop (its libevent adapter), with one
 * command connection and one pub/sub connection, both reconnecting with back-off (100 ms doubling
 * to 5 s) after a failure or a server restart; subscriptions are restored after a reconnect.
 *
 * Commands sent while disconnected fail at once (callback with reply NULL). Thread: loop only.
 */
#ifndef SH_CORE_REDIS_H
#define SH_CORE_REDIS_H

#include <event2/event.h>
#include <streamhub/streamhub.h>

typedef struct sh_redis sh_redis;

typedef struct sh_redis_config {
    const char *host; /* or a unix socket path when it starts with '/' */
    int port;
    const char *password; /* NULL = none */
    int db;               /* SELECT n */
} sh_redis_config;

sh_redis *sh_redis_new(struct event_base *base, const sh_redis_config *cfg);
void sh_redis_free(sh_redis *r);
int sh_redis_connected(const sh_redis *r);
/* cb may be NULL; argv copied. Returns SH_OK, or an error (cb then runs with NULL, later). */
int sh_redis_command(sh_redis *r, sh_redis_cb cb, void *ud, int argc, const char *const *argv,
                     const size_t *argvlen);
/* Several callbacks may subscribe to one channel; each is called for each message. */
int sh_redis_subscribe(sh_redis *r, const char *channel, sh_redis_msg_cb cb, void *ud);
int sh_redis_publish(sh_redis *r, const char *channel, const void *data, size_t len);

typedef struct sh_redis_stats {
    int connected, subscriber_connected;
    unsigned long long commands, errors, reconnects, messages;
} sh_redis_stats;
void sh_redis_stats_get(const sh_redis *r, sh_redis_stats *out);

/* Reply accessors (the SDK's redis_reply_* functions); NULL-safe. */
int sh_redis_reply_type(const sh_redis_reply *r);
long long sh_redis_reply_int(const sh_redis_reply *r);
const char *sh_redis_reply_str(const sh_redis_reply *r, size_t *len);
size_t sh_redis_reply_count(const sh_redis_reply *r);
const sh_redis_reply *sh_redis_reply_elem(const sh_redis_reply *r, size_t i);

#endif
