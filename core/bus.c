/*
 * bus.c - see bus.h. A FIFO of pending deliveries drained by one libevent event made active
 * on publish; each delivery goes to every matching subscriber in subscription order.
 */
#include "core/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

typedef struct sub {
    char *who, *topic;
    int prefix; /* topic ends in ".*": match by prefix (the part before '*') */
    sh_event_cb cb;
    void *ud;
} sub;

typedef struct pending {
    char *topic;
    json_object *payload;
    struct pending *next;
} pending;

struct sh_bus {
    struct event_base *base;
    sh_redis *redis;
    char channel[96];
    char node_id[32];
    sub *subs;
    size_t nsubs;
    pending *head, *tail;
    struct event *ev;
};

static void deliver(sh_bus *b, pending *p) {
    for (size_t i = 0; i < b->nsubs; i++) {
        sub *s = &b->subs[i];
        int match = s->prefix ? strncmp(p->topic, s->topic, strlen(s->topic)) == 0 : strcmp(p->topic, s->topic) == 0;
        if (match) s->cb(p->topic, p->payload, s->ud);
    }
}

int sh_bus_pending(const sh_bus *b) { return b && b->head != NULL; }

void sh_bus_flush(sh_bus *b) {
    while (b->head) {
        pending *p = b->head;
        b->head = p->next;
        if (!b->head) b->tail = NULL;
        deliver(b, p);
        json_object_put(p->payload);
        free(p->topic);
        free(p);
    }
}

static void on_drain(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_bus_flush(arg);
}

static int enqueue(sh_bus *b, const char *topic, json_object *payload) {
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->topic = strdup(topic))) {
        free(p);
        json_object_put(payload);
        return SH_ERR_NOMEM;
    }
    p->payload = payload;
    if (b->tail)
        b->tail->next = p;
    else
        b->head = p;
    b->tail = p;
    event_active(b->ev, 0, 0);
    return SH_OK;
}

static void on_redis_msg(const char *channel, const char *data, size_t len, void *ud) {
    (void)channel;
    sh_bus *b = ud;
    json_tokener *tok = json_tokener_new_ex(64);
    json_object *o = tok ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
    if (tok) json_tokener_free(tok);
    json_object *node, *topic, *payload;
    if (o && json_object_object_get_ex(o, "node", &node) && json_object_object_get_ex(o, "topic", &topic) &&
        json_object_object_get_ex(o, "payload", &payload) && json_object_is_type(topic, json_type_string)) {
        if (strcmp(json_object_get_string(node), b->node_id) != 0)
            enqueue(b, json_object_get_string(topic), json_object_get(payload));
    } else {
        SH_LOG_W("bus", "ignored a malformed cluster message (%zu bytes)", len);
    }
    json_object_put(o);
}

sh_bus *sh_bus_new(struct event_base *base, sh_redis *redis, const char *redis_prefix, const char *node_id) {
    sh_bus *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->base = base;
    b->redis = redis;
    snprintf(b->channel, sizeof b->channel, "%sbus", redis_prefix ? redis_prefix : "");
    snprintf(b->node_id, sizeof b->node_id, "%s", node_id);
    b->ev = event_new(base, -1, 0, on_drain, b);
    if (!b->ev) {
        free(b);
        return NULL;
    }
    if (redis) sh_redis_subscribe(redis, b->channel, on_redis_msg, b);
    return b;
}

void sh_bus_detach_redis(sh_bus *b) {
    if (b) b->redis = NULL;
}

void sh_bus_free(sh_bus *b) {
    if (!b) return;
    for (pending *p = b->head, *n; p; p = n) {
        n = p->next;
        json_object_put(p->payload);
        free(p->topic);
        free(p);
    }
    for (size_t i = 0; i < b->nsubs; i++) {
        free(b->subs[i].who);
        free(b->subs[i].topic);
    }
    free(b->subs);
    event_free(b->ev);
    free(b);
}

int sh_bus_subscribe(sh_bus *b, const char *who, const char *topic, sh_event_cb cb, void *ud) {
    if (!topic || !*topic || !cb) return SH_ERR_INVALID;
    sub *ns = realloc(b->subs, (b->nsubs + 1) * sizeof *ns);
    if (!ns) return SH_ERR_NOMEM;
    b->subs = ns;
    sub *s = &b->subs[b->nsubs];
    size_t tl = strlen(topic);
    s->prefix = tl >= 1 && topic[tl - 1] == '*';
    s->topic = s->prefix ? strndup(topic, tl - 1) : strdup(topic);
    s->who = strdup(who ? who : "core");
    s->cb = cb;
    s->ud = ud;
    if (!s->topic || !s->who) {
        free(s->topic);
        free(s->who);
        return SH_ERR_NOMEM;
    }
    b->nsubs++;
    return SH_OK;
}

int sh_bus_publish(sh_bus *b, const char *topic, json_object *payload, unsigned flags) {
    if (!topic || !*topic) {
        json_object_put(payload);
        return SH_ERR_INVALID;
    }
    if (!payload) payload = json_object_new_object();
    if ((flags & SH_BUS_CLUSTER) && b->redis) {
        json_object *env = json_object_new_object();
        json_object_object_add(env, "node", json_object_new_string(b->node_id));
        json_object_object_add(env, "topic", json_object_new_string(topic));
        json_object_object_add(env, "payload", json_object_get(payload));
        size_t len;
        const char *s = json_object_to_json_string_length(env, JSON_C_TO_STRING_PLAIN, &len);
        sh_redis_publish(b->redis, b->channel, s, len);
        json_object_put(env);
    }
    return enqueue(b, topic, payload);
}
