/*
 * follow.c - the follow plugin: follows between users (with exact follower / following counts),
 * stored notifications and their real-time delivery; provides the `follow` service
 * (streamhub/follow.h) that chat uses for followers-only mode.
 *
 * This file: descriptor, settings, init/start/stop/fini, the service and the helpers shared by
 * routes.c and notify.c. Loop thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/follow/follow_plugin.h"
#include <streamhub/auth.h>
#include <streamhub/migrations.h>

extern const sh_embedded_sql follow_migrations[];

follow_state *follow_g;
static follow_state g_state;

static const sh_dep provides[] = {{SH_FOLLOW_SERVICE, SH_FOLLOW_MAJOR, SH_FOLLOW_MINOR, 0}, {NULL, 0, 0, 0}};
static const sh_dep requires[] = {{SH_AUTH_SERVICE, 1, 0, 0}, {SH_ROOMS_SERVICE, 1, 0, 0}, {NULL, 0, 0, 0}};

static const sh_setting settings[] = {
    {"fanout_batch", SH_CFG_INT, "500", 1, 100000, 0,
     "notification events emitted per loop turn when a streamer with many followers goes live"},
    {"fanout_interval_ms", SH_CFG_INT, "5", 0, 10000, 0, "pause between two notification batches"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

/* ---- helpers ------------------------------------------------------------------------------- */

void follow_respond_db(follow_state *st, sh_request *req, const sh_db_result *res) {
    if (st->h->db_status(res) != SH_ERR_UNAVAILABLE)
        st->h->log(st->self, SH_LOG_ERROR, "query failed: %s", st->h->db_error(res));
    st->h->respond_db_error(req, res);
}

static const char B64U[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void follow_cursor_encode(char tag, int64_t id, char out[FOLLOW_CURSOR_MAX]) {
    char plain[32];
    int len = snprintf(plain, sizeof plain, "%c:%" PRId64, tag, id);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < len; i++) {
        acc = (acc << 8) | (unsigned char)plain[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = B64U[(acc >> bits) & 63];
        }
    }
    if (bits) out[o++] = B64U[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

int follow_cursor_decode(const char *s, char tag, int64_t *id) {
    char plain[40];
    size_t len = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (!s || strlen(s) >= FOLLOW_CURSOR_MAX) return -1;
    for (; *s; s++) {
        const char *p = strchr(B64U, *s);
        if (!p) return -1;
        acc = (acc << 6) | (uint32_t)(p - B64U);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len + 1 >= sizeof plain) return -1;
            plain[len++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6 || (acc & ((1u << bits) - 1u))) return -1; /* not canonical base64url */
    plain[len] = '\0';
    if (len < 3 || plain[0] != tag || plain[1] != ':' || plain[2] < '1' || plain[2] > '9') return -1;
    char *end;
    errno = 0;
    long long v = strtoll(plain + 2, &end, 10);
    if (errno || *end || v <= 0) return -1;
    *id = (int64_t)v;
    return 0;
}

int follow_username_ok(const char *s) {
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') || n >= 30)
            return 0;
    }
    return n >= 3;
}

int follow_page_params(follow_state *st, sh_request *req, char tag, int def, int *limit, int64_t *before) {
    const char *l = st->h->req_query(req, "limit"), *c = st->h->req_query(req, "cursor");
    *limit = def;
    *before = 0;
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > 100) {
            st->h->respond_error(req, 400, "invalid_field", "limit must be an integer from 1 to 100.", "limit");
            return -1;
        }
        *limit = (int)v;
    }
    if (c && *c && follow_cursor_decode(c, tag, before) < 0) {
        st->h->respond_error(req, 400, "invalid_field", "Bad cursor.", "cursor");
        return -1;
    }
    return 0;
}

json_object *follow_page_json(follow_state *st, const sh_db_result *res, const char *key, int col, int idcol, int limit,
                              char tag) {
    const sh_host_api *h = st->h;
    json_object *arr = json_object_new_array(), *out = json_object_new_object();
    int n = h->db_nrows(res), shown = 0;
    int64_t last = 0;
    for (int i = 0; i < n && shown < limit; i++) {
        const char *text = h->db_value(res, i, col);
        if (!text) continue;
        json_object *o = json_tokener_parse(text);
        if (!o) continue;
        json_object_array_add(arr, o);
        last = strtoll(h->db_value(res, i, idcol), NULL, 10);
        shown++;
    }
    json_object_object_add(out, key, arr);
    int more = 0;
    for (int i = 0, seen = 0; i < n; i++)
        if (h->db_value(res, i, col) && ++seen > limit) more = 1;
    if (more && last > 0) {
        char cur[FOLLOW_CURSOR_MAX];
        follow_cursor_encode(tag, last, cur);
        json_object_object_add(out, "nextCursor", json_object_new_string(cur));
    } else {
        json_object_object_add(out, "nextCursor", NULL);
    }
    return out;
}

/* ---- the `follow` service ---------------------------------------------------------------------- */

typedef struct since_ctx {
    sh_follow_cb cb;
    void *ud;
} since_ctx;

static void on_since(const sh_db_result *res, void *ud) {
    since_ctx *c = ud;
    if (!follow_live() || follow_g->h->db_status(res) != SH_OK) {
        if (follow_live() && follow_g->h->db_status(res) == SH_ERR)
            follow_g->h->log(follow_g->self, SH_LOG_ERROR, "follows_since failed: %s", follow_g->h->db_error(res));
        c->cb(SH_ERR_UNAVAILABLE, 0, c->ud);
    } else if (follow_g->h->db_nrows(res) < 1) {
        c->cb(SH_OK, 0, c->ud);
    } else {
        long long ms = strtoll(follow_g->h->db_value(res, 0, 0), NULL, 10);
        c->cb(SH_OK, ms > 0 ? (uint64_t)ms : 1, c->ud);
    }
    free(c);
}

static void svc_follows_since(int64_t follower_id, int64_t streamer_id, sh_follow_cb cb, void *ud) {
    if (!cb) return;
    since_ctx *c = follow_live() ? calloc(1, sizeof *c) : NULL;
    if (!c) {
        cb(SH_ERR_UNAVAILABLE, 0, ud);
        return;
    }
    c->cb = cb;
    c->ud = ud;
    char a[24], b[24];
    snprintf(a, sizeof a, "%" PRId64, follower_id);
    snprintf(b, sizeof b, "%" PRId64, streamer_id);
    const char *p[2] = {a, b};
    if (follow_g->h->db_query(follow_g->self,
                              "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM follows "
                              "WHERE follower_id = $1::bigint AND following_id = $2::bigint",
                              2, p, on_since, c) == SH_ERR_NOMEM) {
        free(c);
        cb(SH_ERR_UNAVAILABLE, 0, ud);
    }
}

const sh_follow_api follow_service = {
    .size = sizeof(sh_follow_api),
    .follows_since = svc_follows_since,
};

/* ---- life cycle ---------------------------------------------------------------------------------- */

static int follow_init(sh_plugin *self, const sh_host_api *host) {
    follow_state *st = &g_state;
    memset(st, 0, sizeof *st);
    st->self = self;
    st->h = host;
    st->batch = host->cfg_int(self, "fanout_batch");
    st->interval_ms = host->cfg_int(self, "fanout_interval_ms");
    st->rooms = host->service_get(self, SH_ROOMS_SERVICE, SH_ROOMS_MAJOR, 0);
    if (!st->rooms) {
        host->log(self, SH_LOG_ERROR, "the rooms service (1.x) is not provided: load the rooms plugin");
        return SH_ERR;
    }
    if (sh_migrations_register(self, host, follow_migrations) != SH_OK) return SH_ERR;
    if (follow_routes(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the HTTP routes");
        return SH_ERR;
    }
    if (follow_notify_init(st) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the notification routes and subscriptions");
        return SH_ERR;
    }
    if (host->service_provide(self, SH_FOLLOW_SERVICE, SH_FOLLOW_MAJOR, SH_FOLLOW_MINOR, &follow_service) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot provide the follow service");
        return SH_ERR;
    }
    const char *name = "streamhub_follow_changes_total", *help = "Follow changes, by kind";
    st->m_follows = host->metric_new(self, SH_METRIC_COUNTER, name, help, "kind=\"follow\"");
    st->m_unfollows = host->metric_new(self, SH_METRIC_COUNTER, name, help, "kind=\"unfollow\"");
    st->m_notified = host->metric_new(self, SH_METRIC_COUNTER, "streamhub_follow_notifications_total",
                                      "Notifications stored (and emitted to their users)", NULL);
    follow_g = st;
    return SH_OK;
}

static void follow_stop(sh_plugin *self) {
    (void)self;
    g_state.stopping = 1;
    follow_notify_stop(&g_state);
}

static void follow_fini(sh_plugin *self) {
    (void)self;
    g_state.closed = 1;
    follow_notify_stop(&g_state);
    follow_g = NULL;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,       .name = "follow",
    .version = "1.0.0",   .description = "follows, follower counts and notifications; provides the follow service",
    .provides = provides, .requires = requires,
    .settings = settings, .init = follow_init,
    .stop = follow_stop,  .fini = follow_fini,
};

SH_PLUGIN_EXPORT(desc)
