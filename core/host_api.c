/*
 * host_api.c - the sh_host_api table handed to plugins: thin wrappers from the SDK's calls
 * (which name the calling plugin) to the core modules, with the registration-phase checks.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/host.h"
#include "core/http.h"
#include "core/json_valid.h"
#include "core/log.h"
#include "core/media.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/redis.h"
#include "core/sio_packet.h"
#include "core/sio_server.h"
#include "core/workers.h"

uint64_t sh_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sh_wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sh_plugin_note(sh_plugin *p, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **nl = realloc(p->reg_lines, (p->nreg_lines + 1) * sizeof *nl);
    if (!nl) return;
    p->reg_lines = nl;
    p->reg_lines[p->nreg_lines] = strdup(line);
    if (p->reg_lines[p->nreg_lines]) p->nreg_lines++;
}

static int in_init(sh_plugin *p, const char *what) {
    if (p->host->phase == SH_PHASE_INIT) return 1;
    SH_LOG_E(p->name, "%s is only allowed during init (a bug in the plugin)", what);
    return 0;
}

const sh_auth_api *sh_host_auth(sh_host *h) {
    for (size_t i = 0; i < h->nservices; i++)
        if (strcmp(h->services[i].name, SH_AUTH_SERVICE) == 0 && h->services[i].major == SH_AUTH_MAJOR)
            return h->services[i].table;
    return NULL;
}

/* ---- process ------------------------------------------------------------------------------ */
static void api_log(sh_plugin *p, sh_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sh_vlogf((int)level, p->name, fmt, ap);
    va_end(ap);
}
static const char *api_node_id(sh_plugin *p) { return p->host->node_id; }
static const char *api_version(sh_plugin *p) {
    (void)p;
    return SH_VERSION_STRING;
}
static uint64_t api_now_ms(sh_plugin *p) {
    (void)p;
    return sh_now_ms();
}
static uint64_t api_wall_ms(sh_plugin *p) {
    (void)p;
    return sh_wall_ms();
}
static int api_random_bytes(sh_plugin *p, void *buf, size_t len) {
    (void)p;
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom((char *)buf + got, len - got, 0);
        if (n < 0) return SH_ERR;
        got += (size_t)n;
    }
    return SH_OK;
}

/* ---- config ------------------------------------------------------------------------------- */
static int64_t api_cfg_int(sh_plugin *p, const char *n) { return sh_cfg_i(&p->cfg, n); }
static double api_cfg_double(sh_plugin *p, const char *n) { return sh_cfg_d(&p->cfg, n); }
static int api_cfg_bool(sh_plugin *p, const char *n) { return sh_cfg_b(&p->cfg, n); }
static const char *api_cfg_str(sh_plugin *p, const char *n) { return sh_cfg_s(&p->cfg, n); }
static const char *const *api_cfg_strlist(sh_plugin *p, const char *n, size_t *count) {
    const sh_cvalue *v = sh_csection_get(&p->cfg, n);
    if (count) *count = v->nlist;
    return v->list;
}

/* ---- HTTP --------------------------------------------------------------------------------- */
static int api_http_route(sh_plugin *p, const char *method, const char *pattern, unsigned flags,
                          sh_http_handler handler, void *ud) {
    if (!in_init(p, "http_route")) return SH_ERR_STATE;
    int rc = sh_http_route(p->host->http, p, method, pattern, flags, handler, ud);
    if (rc == SH_OK) {
        p->reg.routes++;
        sh_plugin_note(p, "route %s %s%s", method, pattern,
                       (flags & SH_ROUTE_AUTH) ? " (auth)" : (flags & SH_ROUTE_AUTH_OPT) ? " (auth optional)" : "");
    }
    return rc;
}

static int json_fail(sh_request *r, const char *field, const char *msg) {
    sh_respond_error(r, 400, "invalid_field", msg, field);
    return -1;
}
static int api_json_str(sh_request *r, json_object *o, const char *field, size_t min, size_t max, unsigned flags,
                        const char **out) {
    char msg[256];
    int rc = sh_json_check_str(o, field, min, max, flags, out, NULL, msg, sizeof msg);
    return rc < 0 ? json_fail(r, field, msg) : rc;
}
static int api_json_int(sh_request *r, json_object *o, const char *field, int64_t min, int64_t max, unsigned flags,
                        int64_t *out) {
    char msg[256];
    int rc = sh_json_check_int(o, field, min, max, flags, out, msg, sizeof msg);
    return rc < 0 ? json_fail(r, field, msg) : rc;
}
static int api_json_bool(sh_request *r, json_object *o, const char *field, unsigned flags, int *out) {
    char msg[256];
    int rc = sh_json_check_bool(o, field, flags, out, msg, sizeof msg);
    return rc < 0 ? json_fail(r, field, msg) : rc;
}

/* ---- database ----------------------------------------------------------------------------- */
typedef struct mig_rec {
    char *plugin, *id, *sql;
} mig_rec;

static int api_db_migration(sh_plugin *p, const char *id, const char *sql) {
    if (!in_init(p, "db_migration")) return SH_ERR_STATE;
    if (!id || !*id || !sql) return SH_ERR_INVALID;
    sh_plugin_note(p, "migration %s", id);
    p->reg.migrations++;
    return sh_host_add_migration(p->host, p->name, id, sql);
}

static void fail_later_cb(evutil_socket_t fd, short what, void *arg);
typedef struct fail_later {
    sh_db_cb cb;
    void *ud;
    struct event *ev;
} fail_later;

static int api_db_query(sh_plugin *p, const char *sql, int n, const char *const *params, sh_db_cb cb, void *ud) {
    if (!p->host->db) {
        fail_later *fl = calloc(1, sizeof *fl);
        if (!fl) return SH_ERR_NOMEM;
        fl->cb = cb;
        fl->ud = ud;
        fl->ev = event_new(p->host->base, -1, 0, fail_later_cb, fl);
        event_active(fl->ev, 0, 0);
        return SH_ERR_UNAVAILABLE;
    }
    return sh_db_query(p->host->db, sql, n, params, cb, ud);
}
static int api_db_tx(sh_plugin *p, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud) {
    if (!p->host->db) return api_db_query(p, "", 0, NULL, cb, ud);
    return sh_db_tx(p->host->db, stmts, n, cb, ud);
}
static int api_db_available(sh_plugin *p) { return p->host->db && sh_db_available(p->host->db); }

/* A result standing for "no database configured". */
struct sh_db_result;
static void fail_later_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    fail_later *fl = arg;
    if (fl->cb) fl->cb(NULL, fl->ud);
    event_free(fl->ev);
    free(fl);
}
static int res_status(const sh_db_result *r) { return r ? sh_db_res_status(r) : SH_ERR_UNAVAILABLE; }
static const char *res_error(const sh_db_result *r) { return r ? sh_db_res_error(r) : "no database configured"; }
static const char *res_sqlstate(const sh_db_result *r) { return r ? sh_db_res_sqlstate(r) : ""; }
static int res_nrows(const sh_db_result *r) { return r ? sh_db_res_nrows(r) : 0; }
static int res_ncols(const sh_db_result *r) { return r ? sh_db_res_ncols(r) : 0; }
static const char *res_value(const sh_db_result *r, int row, int col) { return r ? sh_db_res_value(r, row, col) : NULL; }
static int res_col(const sh_db_result *r, const char *name) { return r ? sh_db_res_col(r, name) : -1; }
static int64_t res_affected(const sh_db_result *r) { return r ? sh_db_res_affected(r) : 0; }

/* ---- Redis -------------------------------------------------------------------------------- */
static int api_redis_enabled(sh_plugin *p) { return p->host->redis != NULL; }
typedef struct redis_absent {
    sh_redis_cb cb;
    void *ud;
    struct event *ev;
} redis_absent;

static void redis_absent_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    redis_absent *ra = arg;
    ra->cb(NULL, ra->ud);
    event_free(ra->ev);
    free(ra);
}

static int api_redis_command(sh_plugin *p, sh_redis_cb cb, void *ud, int argc, const char *const *argv,
                             const size_t *argvlen) {
    if (!p->host->redis) { /* as documented: the callback still runs, later, with NULL */
        redis_absent *ra = cb ? calloc(1, sizeof *ra) : NULL;
        if (ra) {
            ra->cb = cb;
            ra->ud = ud;
            ra->ev = event_new(p->host->base, -1, 0, redis_absent_cb, ra);
            if (ra->ev) event_active(ra->ev, 0, 0);
            else free(ra);
        }
        return SH_ERR_UNAVAILABLE;
    }
    return sh_redis_command(p->host->redis, cb, ud, argc, argv, argvlen);
}
static int api_redis_subscribe(sh_plugin *p, const char *ch, sh_redis_msg_cb cb, void *ud) {
    if (!p->host->redis) return SH_ERR_UNAVAILABLE;
    p->reg.subscriptions++;
    return sh_redis_subscribe(p->host->redis, ch, cb, ud);
}
static int api_redis_publish(sh_plugin *p, const char *ch, const void *data, size_t len) {
    if (!p->host->redis) return SH_ERR_UNAVAILABLE;
    return sh_redis_publish(p->host->redis, ch, data, len);
}

/* ---- bus ---------------------------------------------------------------------------------- */
static int api_bus_subscribe(sh_plugin *p, const char *topic, sh_event_cb cb, void *ud) {
    if (!in_init(p, "bus_subscribe")) return SH_ERR_STATE;
    int rc = sh_bus_subscribe(p->host->bus, p->name, topic, cb, ud);
    if (rc == SH_OK) {
        p->reg.subscriptions++;
        sh_plugin_note(p, "subscription %s", topic);
    }
    return rc;
}
static int api_bus_publish(sh_plugin *p, const char *topic, json_object *payload, unsigned flags) {
    return sh_bus_publish(p->host->bus, topic, payload, flags);
}

/* ---- timers and workers ------------------------------------------------------------------- */
struct sh_timer {
    struct event *ev;
    sh_timer_cb cb;
    void *ud;
    int repeat;
};

static void timer_fire(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_timer *t = arg;
    int repeat = t->repeat;
    sh_timer_cb cb = t->cb;
    void *ud = t->ud;
    if (!repeat) {
        event_free(t->ev);
        free(t);
    }
    cb(ud);
}

static sh_timer *api_timer_add(sh_plugin *p, uint64_t ms, int repeat, sh_timer_cb cb, void *ud) {
    sh_timer *t = calloc(1, sizeof *t);
    if (!t || !cb) {
        free(t);
        return NULL;
    }
    t->cb = cb;
    t->ud = ud;
    t->repeat = repeat;
    t->ev = event_new(p->host->base, -1, repeat ? EV_PERSIST : 0, timer_fire, t);
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    if (!t->ev || event_add(t->ev, &tv) < 0) {
        if (t->ev) event_free(t->ev);
        free(t);
        return NULL;
    }
    return t;
}

static void api_timer_cancel(sh_timer *t) {
    if (!t) return;
    event_free(t->ev);
    free(t);
}

static int api_work(sh_plugin *p, sh_work_fn work, sh_done_fn done, void *ud) {
    return sh_workers_submit(p->host->workers, work, done, ud);
}

/* ---- services ----------------------------------------------------------------------------- */
static int api_service_provide(sh_plugin *p, const char *name, int major, int minor, const void *table) {
    if (!in_init(p, "service_provide")) return SH_ERR_STATE;
    int declared = 0;
    for (const sh_dep *d = p->desc->provides; d && d->name; d++)
        if (strcmp(d->name, name) == 0 && d->major == major) declared = 1;
    if (!declared) {
        SH_LOG_E(p->name, "service %s %d.%d is not declared in the plugin's provides list", name, major, minor);
        return SH_ERR_INVALID;
    }
    sh_host *h = p->host;
    for (size_t i = 0; i < h->nservices; i++)
        if (strcmp(h->services[i].name, name) == 0 && h->services[i].major == major) return SH_ERR_EXISTS;
    sh_service_rec *ns = realloc(h->services, (h->nservices + 1) * sizeof *ns);
    if (!ns) return SH_ERR_NOMEM;
    h->services = ns;
    h->services[h->nservices++] = (sh_service_rec){strdup(name), major, minor, table, p};
    p->reg.services++;
    sh_plugin_note(p, "service %s %d.%d", name, major, minor);
    return SH_OK;
}

static const void *api_service_get(sh_plugin *p, const char *name, int major, int min_minor) {
    sh_host *h = p->host;
    for (size_t i = 0; i < h->nservices; i++)
        if (strcmp(h->services[i].name, name) == 0 && h->services[i].major == major && h->services[i].minor >= min_minor)
            return h->services[i].table;
    return NULL;
}

/* ---- metrics and rate limiting ------------------------------------------------------------ */
static sh_metric *api_metric_new(sh_plugin *p, sh_metric_type t, const char *name, const char *help,
                                 const char *labels) {
    return sh_metrics_get(p->host->metrics, t, name, help, labels);
}

static void api_rate_hit(sh_plugin *p, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb, void *ud) {
    char k[512];
    snprintf(k, sizeof k, "%s:%s", p->name, key);
    sh_ratelimit_hit(p->host->rl, k, limit, window_ms, cb, ud);
}

/* ---- realtime ----------------------------------------------------------------------------- */
static int api_sio_namespace(sh_plugin *p, const char *nsp) {
    if (!in_init(p, "sio_namespace")) return SH_ERR_STATE;
    int rc = sh_sio_namespace(p->host->sio, nsp);
    if (rc == SH_OK) sh_plugin_note(p, "namespace %s", nsp);
    return rc;
}
static int api_sio_on(sh_plugin *p, const char *nsp, const char *event, sh_sio_handler h, void *ud) {
    if (!in_init(p, "sio_on")) return SH_ERR_STATE;
    int rc = sh_sio_on(p->host->sio, p, nsp, event, h, ud);
    if (rc == SH_OK) {
        p->reg.events++;
        sh_plugin_note(p, "socket event %s %s", nsp, event);
    }
    return rc;
}
static int api_sio_on_connect(sh_plugin *p, const char *nsp, sh_sio_connect_cb cb, void *ud) {
    if (!in_init(p, "sio_on_connect")) return SH_ERR_STATE;
    return sh_sio_on_connect(p->host->sio, p, nsp, cb, ud);
}
static int api_sio_on_disconnect(sh_plugin *p, const char *nsp, sh_sio_disconnect_cb cb, void *ud) {
    if (!in_init(p, "sio_on_disconnect")) return SH_ERR_STATE;
    return sh_sio_on_disconnect(p->host->sio, p, nsp, cb, ud);
}
static int api_sio_emit_room(sh_plugin *p, const char *nsp, const char *room, const char *event, json_object *data,
                             sh_socket *except) {
    if (!room || !p->host->sio) { /* no room, or Socket.IO already gone at shutdown */
        json_object_put(data);
        return SH_ERR_INVALID;
    }
    return sh_sio_emit_room(p->host->sio, nsp, room, event, data, except);
}
static int api_sio_emit_all(sh_plugin *p, const char *nsp, const char *event, json_object *data) {
    if (!p->host->sio) {
        json_object_put(data);
        return SH_ERR_STATE;
    }
    return sh_sio_emit_room(p->host->sio, nsp, NULL, event, data, NULL);
}
static size_t api_sio_room_size(sh_plugin *p, const char *nsp, const char *room) {
    if (!p->host->sio) return 0;
    return sh_sio_room_size(p->host->sio, nsp, room);
}
static const void *api_sio_binary_data(json_object *v, size_t *len) { return sh_sio_binary_data(v, len); }

/* ---- file descriptors ----------------------------------------------------------------------- */
struct sh_io {
    struct event *ev;
    sh_host *h;
    int fd;
    unsigned events;
    sh_io_cb cb;
    void *ud;
};

static void io_fire(evutil_socket_t fd, short what, void *arg) {
    sh_io *io = arg;
    unsigned ev = ((what & EV_READ) ? SH_IO_READ : 0) | ((what & EV_WRITE) ? SH_IO_WRITE : 0);
    io->cb((int)fd, ev, io->ud);
}

/* (Re)arm the one event of a watch with new interest: no allocation per change. */
static int io_arm(sh_io *io, unsigned events) {
    if (io->ev) event_del(io->ev);
    if (!events) {
        io->events = 0;
        return SH_OK;
    }
    short what = (short)(EV_PERSIST | ((events & SH_IO_READ) ? EV_READ : 0) | ((events & SH_IO_WRITE) ? EV_WRITE : 0));
    if (!io->ev) {
        io->ev = event_new(io->h->base, io->fd, what, io_fire, io);
        if (!io->ev) return SH_ERR_NOMEM;
    } else if (event_assign(io->ev, io->h->base, io->fd, what, io_fire, io) < 0) {
        return SH_ERR;
    }
    if (event_add(io->ev, NULL) < 0) return SH_ERR;
    io->events = events; /* only once armed: a failed change is retried by the next io_set */
    return SH_OK;
}

static sh_io *api_io_watch(sh_plugin *p, int fd, unsigned events, sh_io_cb cb, void *ud) {
    if (fd < 0 || !cb) return NULL;
    sh_io *io = calloc(1, sizeof *io);
    if (!io) return NULL;
    *io = (sh_io){NULL, p->host, fd, 0, cb, ud};
    if (io_arm(io, events) != SH_OK) {
        if (io->ev) event_free(io->ev);
        free(io);
        return NULL;
    }
    return io;
}

static int api_io_set(sh_io *io, unsigned events) {
    if (!io) return SH_ERR_INVALID;
    if (events == io->events) return SH_OK;
    return io_arm(io, events);
}

static void api_io_close(sh_io *io) {
    if (!io) return;
    if (io->ev) {
        event_del(io->ev);
        event_free(io->ev); /* libevent allows freeing an event from inside its own callback */
    }
    free(io);
}

/* ---- media -------------------------------------------------------------------------------- */
static int api_media_stage(sh_plugin *p, const char *name, sh_stage_kind kind, const sh_stage_ops *ops, void *ud) {
    if (!in_init(p, "media_stage")) return SH_ERR_STATE;
    int rc = sh_media_stage(p->host->media, p, name, kind, ops, ud);
    if (rc == SH_OK) {
        p->reg.stages++;
        sh_plugin_note(p, "media stage %s (%s)", name, kind == SH_STAGE_FILTER ? "filter" : "sink");
    }
    return rc;
}
static sh_stream *api_stream_open(sh_plugin *p, const char *room, int64_t user_id, const char *username) {
    return sh_stream_open(p->host->media, p, room, user_id, username);
}
static sh_stream *api_stream_find(sh_plugin *p, const char *room) { return sh_stream_find(p->host->media, room); }

void sh_host_api_fill(sh_host_api *a) {
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->log = api_log;
    a->node_id = api_node_id;
    a->version = api_version;
    a->now_ms = api_now_ms;
    a->wall_ms = api_wall_ms;
    a->random_bytes = api_random_bytes;
    a->cfg_int = api_cfg_int;
    a->cfg_double = api_cfg_double;
    a->cfg_bool = api_cfg_bool;
    a->cfg_str = api_cfg_str;
    a->cfg_strlist = api_cfg_strlist;
    a->http_route = api_http_route;
    a->req_method = sh_req_method;
    a->req_path = sh_req_path;
    a->req_param = sh_req_param;
    a->req_query = sh_req_query;
    a->req_header = sh_req_header;
    a->req_body = sh_req_body;
    a->req_remote_addr = sh_req_remote_addr;
    a->req_json = sh_req_json;
    a->req_user_id = sh_req_user_id;
    a->req_username = sh_req_username;
    a->req_token = sh_req_token;
    a->resp_header = sh_resp_header;
    a->respond_json = sh_respond_json;
    a->respond_error = sh_respond_error;
    a->respond_bytes = sh_respond_bytes;
    a->respond_ref = sh_respond_ref;
    a->respond_db_error = sh_respond_db_error;
    a->json_str = api_json_str;
    a->json_int = api_json_int;
    a->json_bool = api_json_bool;
    a->db_migration = api_db_migration;
    a->db_query = api_db_query;
    a->db_tx = api_db_tx;
    a->db_status = res_status;
    a->db_error = res_error;
    a->db_sqlstate = res_sqlstate;
    a->db_nrows = res_nrows;
    a->db_ncols = res_ncols;
    a->db_value = res_value;
    a->db_col = res_col;
    a->db_affected = res_affected;
    a->db_available = api_db_available;
    a->redis_enabled = api_redis_enabled;
    a->redis_command = api_redis_command;
    a->redis_reply_type = sh_redis_reply_type;
    a->redis_reply_int = sh_redis_reply_int;
    a->redis_reply_str = sh_redis_reply_str;
    a->redis_reply_count = sh_redis_reply_count;
    a->redis_reply_elem = sh_redis_reply_elem;
    a->redis_subscribe = api_redis_subscribe;
    a->redis_publish = api_redis_publish;
    a->bus_subscribe = api_bus_subscribe;
    a->bus_publish = api_bus_publish;
    a->timer_add = api_timer_add;
    a->timer_cancel = api_timer_cancel;
    a->work = api_work;
    a->service_provide = api_service_provide;
    a->service_get = api_service_get;
    a->metric_new = api_metric_new;
    a->metric_add = sh_metric_add;
    a->metric_set = sh_metric_set;
    a->metric_observe = sh_metric_observe;
    a->metric_free = sh_metric_free;
    a->rate_hit = api_rate_hit;
    a->sio_namespace = api_sio_namespace;
    a->sio_on = api_sio_on;
    a->sio_on_connect = api_sio_on_connect;
    a->sio_on_disconnect = api_sio_on_disconnect;
    a->sio_ack = sh_sio_ack;
    a->sio_emit = sh_sio_emit;
    a->sio_emit_room = api_sio_emit_room;
    a->sio_emit_all = api_sio_emit_all;
    a->sio_join = sh_sio_join;
    a->sio_leave = sh_sio_leave;
    a->sio_in_room = sh_sio_in_room;
    a->sio_room_size = api_sio_room_size;
    a->sio_id = sh_sio_id;
    a->sio_user_id = sh_sio_user_id;
    a->sio_username = sh_sio_username;
    a->sio_remote_addr = sh_sio_remote_addr;
    a->sio_nsp = sh_sio_nsp;
    a->sio_set_data = sh_sio_set_data;
    a->sio_get_data = sh_sio_get_data;
    a->sio_disconnect = sh_sio_disconnect;
    a->sio_binary_new = sh_sio_binary_new;
    a->sio_binary_data = api_sio_binary_data;
    a->sio_emit_args = sh_sio_emit_args;
    a->media_stage = api_media_stage;
    a->stream_open = api_stream_open;
    a->stream_add_track = sh_stream_add_track;
    a->stream_start = sh_stream_start;
    a->stream_push = sh_stream_push;
    a->stream_close = sh_stream_close;
    a->stream_id = sh_stream_id;
    a->stream_room = sh_stream_room;
    a->stream_user_id = sh_stream_user_id;
    a->stream_username = sh_stream_username;
    a->stream_track_count = sh_stream_track_count;
    a->stream_track = sh_stream_track;
    a->stream_started_ms = sh_stream_started_ms;
    a->stream_find = api_stream_find;
    a->packet_track = sh_packet_track;
    a->packet_pts = sh_packet_pts;
    a->packet_dts = sh_packet_dts;
    a->packet_keyframe = sh_packet_keyframe;
    a->packet_data = sh_packet_data;
    a->packet_ref = sh_packet_ref;
    a->packet_unref = sh_packet_unref;
    a->packet_new = sh_packet_new;
    a->io_watch = api_io_watch;
    a->io_set = api_io_set;
    a->io_close = api_io_close;
    a->respond_file = sh_respond_file;
}
