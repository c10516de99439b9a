/*
 * fakehost.c - the fake StreamHub host for plugin unit tests (see fakehost.h).
 *
 * One sh_fake holds the plugin, its config, what it registered and everything in flight. The
 * "loop" is a FIFO of jobs (database answers, bus deliveries, work, Redis failures) that
 * sh_fake_run drains, plus a list of timers on a virtual clock. Requests are answered into
 * sh_fake_response records owned by the fake host; a request's own data (params, body, JSON,
 * headers) is freed the moment it is answered, like in the real host, while its shell stays so
 * that a second answer is reported instead of corrupting memory.
 *
 * This file holds the helpers, the log, the clock, the job queue, the bus, timers and work, the
 * table and the lifecycle; it #includes the other concerns, one file each, so that the whole fake
 * host stays one translation unit (compile or #include fakehost.c alone): fakehost_impl.h (types),
 * fakehost_config.c, fakehost_db.c, fakehost_services.c, fakehost_http.c, fakehost_sio.c,
 * fakehost_media.c.
 *
 * Out of memory aborts: this is a test tool, and a test that runs out of memory cannot go on.
 */
#define SH_FAKEHOST_PART 1
#include "fakehost_impl.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- small helpers ------------------------------------------------------------------------ */
static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "fakehost: out of memory\n");
        abort();
    }
    return q;
}
static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "fakehost: out of memory\n");
        abort();
    }
    return p;
}
static char *xstrndup(const char *s, size_t n) {
    char *d = xrealloc(NULL, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
static char *xstrdup(const char *s) {
    return s ? xstrndup(s, strlen(s)) : NULL;
}
#define GROW(arr, n) ((arr) = xrealloc((arr), ((n) + 1) * sizeof *(arr)))

static void free_strv(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

static const char *pname(const sh_fake *fh) {
    return fh->desc && fh->desc->name ? fh->desc->name : "plugin";
}

/* ---- log ---------------------------------------------------------------------------------- */
static void log_append(sh_fake *fh, const char *s, size_t n) {
    if (fh->loglen + n + 1 > fh->logcap) {
        fh->logcap = (fh->loglen + n + 1) * 2;
        fh->log = xrealloc(fh->log, fh->logcap);
    }
    memcpy(fh->log + fh->loglen, s, n);
    fh->loglen += n;
    fh->log[fh->loglen] = '\0';
}

static void vlogline(sh_fake *fh, sh_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void vlogline(sh_fake *fh, sh_log_level level, const char *fmt, va_list ap) {
    static const char *names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    char msg[2048], line[2200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int n = snprintf(line, sizeof line, "%s %s: %s\n", (unsigned)level <= SH_LOG_ERROR ? names[level] : "?", pname(fh),
                     msg);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    log_append(fh, line, len);
    if (fh->echo) fputs(line, stderr);
}

static void logline(sh_fake *fh, sh_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logline(sh_fake *fh, sh_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlogline(fh, level, fmt, ap);
    va_end(ap);
}

static void violation(sh_fake *fh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(sh_fake *fh, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fh->violations++;
    logline(fh, SH_LOG_ERROR, "[contract] %s", msg);
}

static void note_reg(sh_fake *fh, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note_reg(sh_fake *fh, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    GROW(fh->regs, fh->nregs);
    fh->regs[fh->nregs++] = xstrdup(line);
}

static int in_init(sh_fake *fh, const char *what) {
    if (fh->phase == PHASE_INIT) return 1;
    violation(fh, "%s is only allowed during init", what);
    return 0;
}

/* ---- process ------------------------------------------------------------------------------ */
static void api_log(sh_plugin *p, sh_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void api_log(sh_plugin *p, sh_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlogline(p->fh, level, fmt, ap);
    va_end(ap);
}
static const char *api_node_id(sh_plugin *p) {
    (void)p;
    return "f4ce00000000f4ce";
}
static const char *api_version(sh_plugin *p) {
    (void)p;
    return SH_VERSION_STRING;
}
static uint64_t api_now_ms(sh_plugin *p) {
    return p->fh->now;
}
static uint64_t api_wall_ms(sh_plugin *p) {
    return p->fh->wall_base + (p->fh->now - FAKE_CLOCK_START);
}

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static int api_random_bytes(sh_plugin *p, void *buf, size_t len) {
    unsigned char *o = buf;
    while (len) {
        uint64_t x = splitmix64(&p->fh->rng);
        size_t k = len < 8 ? len : 8;
        memcpy(o, &x, k);
        o += k;
        len -= k;
    }
    return SH_OK;
}

/* ---- config: fakehost_config.c ---------------------------------------------------------- */
#include "fakehost_config.c"

/* ---- the job queue ------------------------------------------------------------------------ */
static fake_job *job_push(sh_fake *fh, job_kind kind) {
    fake_job *j = xcalloc(1, sizeof *j);
    j->kind = kind;
    if (fh->qtail)
        fh->qtail->next = j;
    else
        fh->qhead = j;
    fh->qtail = j;
    return j;
}

/* ---- event bus ---------------------------------------------------------------------------- */
static int api_bus_subscribe(sh_plugin *p, const char *topic, sh_event_cb cb, void *ud) {
    sh_fake *fh = p->fh;
    if (!in_init(fh, "bus_subscribe")) return SH_ERR_STATE;
    if (!topic || !*topic || !cb) return SH_ERR_INVALID;
    size_t tl = strlen(topic);
    fake_sub s = {.prefix = topic[tl - 1] == '*', .cb = cb, .ud = ud};
    s.topic = xstrndup(topic, s.prefix ? tl - 1 : tl);
    GROW(fh->subs, fh->nsubs);
    fh->subs[fh->nsubs++] = s;
    note_reg(fh, "subscription %s", topic);
    return SH_OK;
}

static int publish(sh_fake *fh, const char *topic, json_object *payload, unsigned flags) {
    if (!topic || !*topic) {
        json_object_put(payload);
        return SH_ERR_INVALID;
    }
    if (!payload) payload = json_object_new_object();
    GROW(fh->events, fh->nevents);
    fh->events[fh->nevents] = (fake_event){xstrdup(topic), payload, flags};
    fake_job *j = job_push(fh, JOB_BUS);
    j->first = fh->nevents++;
    return SH_OK;
}
static int api_bus_publish(sh_plugin *p, const char *topic, json_object *payload, unsigned flags) {
    return publish(p->fh, topic, payload, flags);
}
int sh_fake_publish(sh_fake *fh, const char *topic, json_object *payload) {
    return publish(fh, topic, payload, 0);
}

static int run_bus_job(sh_fake *fh, fake_job *j) {
    int ran = 0;
    /* a copy of the payload reference: the event record stays readable by the test */
    json_object *payload = json_object_get(fh->events[j->first].payload);
    char *topic = xstrdup(fh->events[j->first].topic);
    for (size_t i = 0; i < fh->nsubs; i++) {
        const fake_sub *s = &fh->subs[i];
        if (s->prefix ? strncmp(topic, s->topic, strlen(s->topic)) == 0 : strcmp(topic, s->topic) == 0) {
            s->cb(topic, payload, s->ud);
            ran++;
        }
    }
    json_object_put(payload);
    free(topic);
    return ran;
}

size_t sh_fake_published_count(const sh_fake *fh) {
    return fh->nevents;
}
const char *sh_fake_published_topic(const sh_fake *fh, size_t i) {
    return i < fh->nevents ? fh->events[i].topic : NULL;
}
json_object *sh_fake_published_payload(const sh_fake *fh, size_t i) {
    return i < fh->nevents ? fh->events[i].payload : NULL;
}
unsigned sh_fake_published_flags(const sh_fake *fh, size_t i) {
    return i < fh->nevents ? fh->events[i].flags : 0;
}

/* ---- the database and Redis: fakehost_db.c ------------------------------------------------ */
#include "fakehost_db.c"

/* ---- timers and work ---------------------------------------------------------------------- */
static sh_timer *api_timer_add(sh_plugin *p, uint64_t ms, int repeat, sh_timer_cb cb, void *ud) {
    sh_fake *fh = p->fh;
    if (!cb) return NULL;
    sh_timer *t = xcalloc(1, sizeof *t);
    t->fh = fh;
    t->interval = repeat && ms == 0 ? 1 : ms; /* a 0 ms repeating timer would never let time pass */
    t->due = fh->now + ms;
    t->repeat = repeat;
    t->cb = cb;
    t->ud = ud;
    t->seq = fh->timer_seq++;
    t->next = fh->timers;
    fh->timers = t;
    return t;
}

static void api_timer_cancel(sh_timer *t) {
    if (!t) return;
    if (t->state == TIMER_FIRED)
        violation(t->fh, "timer_cancel on a one-shot timer that already fired (freed memory in the real host)");
    else if (t->state == TIMER_CANCELLED)
        violation(t->fh, "timer_cancel on a timer that was already cancelled (freed memory in the real host)");
    t->state = TIMER_CANCELLED;
}

/* The active timer due first at or before `limit` (ties: the one added first). */
static sh_timer *next_due(sh_fake *fh, uint64_t limit) {
    sh_timer *best = NULL;
    for (sh_timer *t = fh->timers; t; t = t->next)
        if (t->state == TIMER_ACTIVE && t->due <= limit &&
            (!best || t->due < best->due || (t->due == best->due && t->seq < best->seq)))
            best = t;
    return best;
}

static void fire(sh_timer *t) {
    if (t->repeat)
        t->due += t->interval;
    else
        t->state = TIMER_FIRED;
    t->cb(t->ud);
}

size_t sh_fake_timers_active(const sh_fake *fh) {
    size_t n = 0;
    for (const sh_timer *t = fh->timers; t; t = t->next)
        n += t->state == TIMER_ACTIVE;
    return n;
}

static int api_work(sh_plugin *p, sh_work_fn work, sh_done_fn done, void *ud) {
    if (!work) return SH_ERR_INVALID;
    fake_job *j = job_push(p->fh, JOB_WORK);
    j->work = work;
    j->done = done;
    j->ud = ud;
    return SH_OK;
}

int sh_fake_run(sh_fake *fh) {
    int ran = 0;
    for (long steps = 0;; steps++) {
        if (steps >= FAKE_RUN_MAX) {
            violation(fh, "sh_fake_run: still busy after %d steps (a callback that queues itself forever?)",
                      FAKE_RUN_MAX);
            break;
        }
        fake_job *j = fh->qhead;
        if (j) {
            fh->qhead = j->next;
            if (!fh->qhead) fh->qtail = NULL;
            switch (j->kind) {
            case JOB_DB:
                run_db_job(fh, j), ran++;
                break;
            case JOB_BUS:
                ran += run_bus_job(fh, j);
                break;
            case JOB_WORK:
                j->work(j->ud);
                if (j->done) j->done(j->ud);
                ran++;
                break;
            case JOB_REDIS:
                if (j->redis_cb) j->redis_cb(NULL, j->ud), ran++;
                break;
            }
            free(j);
            continue;
        }
        sh_timer *t = next_due(fh, fh->now);
        if (!t) break;
        fire(t);
        ran++;
    }
    return ran;
}

void sh_fake_advance(sh_fake *fh, uint64_t ms) {
    uint64_t target = fh->now + ms;
    sh_fake_run(fh);
    for (sh_timer *t; (t = next_due(fh, target));) {
        if (t->due > fh->now) fh->now = t->due;
        fire(t);
        sh_fake_run(fh);
    }
    fh->now = target;
    sh_fake_run(fh);
}

uint64_t sh_fake_now(const sh_fake *fh) {
    return fh->now;
}
void sh_fake_set_wall(sh_fake *fh, uint64_t wall_ms) {
    fh->wall_base = wall_ms - (fh->now - FAKE_CLOCK_START);
}

/* ---- services, auth, metrics, rate limiting: fakehost_services.c ------------------------- */
#include "fakehost_services.c"

/* ---- HTTP, Socket.IO, media: fakehost_http.c, fakehost_sio.c, fakehost_media.c ----------- */
#include "fakehost_http.c"
#include "fakehost_sio.c"
#include "fakehost_media.c"

/* ---- the table and the lifecycle ---------------------------------------------------------- */
static void fill_api(sh_host_api *a) {
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
    a->req_method = api_req_method;
    a->req_path = api_req_path;
    a->req_param = api_req_param;
    a->req_query = api_req_query;
    a->req_header = api_req_header;
    a->req_body = api_req_body;
    a->req_remote_addr = api_req_remote_addr;
    a->req_json = api_req_json;
    a->req_user_id = api_req_user_id;
    a->req_username = api_req_username;
    a->req_token = api_req_token;
    a->resp_header = api_resp_header;
    a->respond_json = api_respond_json;
    a->respond_error = api_respond_error;
    a->respond_bytes = api_respond_bytes;
    a->respond_ref = api_respond_ref;
    a->respond_file = api_respond_file;
    a->respond_db_error = api_respond_db_error;
    a->json_str = api_json_str;
    a->json_int = api_json_int;
    a->json_bool = api_json_bool;
    a->db_migration = api_db_migration;
    a->db_query = api_db_query;
    a->db_tx = api_db_tx;
    a->db_status = api_db_status;
    a->db_error = api_db_error;
    a->db_sqlstate = api_db_sqlstate;
    a->db_nrows = api_db_nrows;
    a->db_ncols = api_db_ncols;
    a->db_value = api_db_value;
    a->db_col = api_db_col;
    a->db_affected = api_db_affected;
    a->db_available = api_db_available;
    a->redis_enabled = api_redis_enabled;
    a->redis_command = api_redis_command;
    a->redis_reply_type = api_redis_reply_type;
    a->redis_reply_int = api_redis_reply_int;
    a->redis_reply_str = api_redis_reply_str;
    a->redis_reply_count = api_redis_reply_count;
    a->redis_reply_elem = api_redis_reply_elem;
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
    a->metric_add = api_metric_add;
    a->metric_set = api_metric_set;
    a->metric_observe = api_metric_observe;
    a->metric_free = api_metric_free;
    a->rate_hit = api_rate_hit;
    a->sio_namespace = api_sio_namespace;
    a->sio_on = api_sio_on;
    a->sio_on_connect = api_sio_on_connect;
    a->sio_on_disconnect = api_sio_on_disconnect;
    a->sio_ack = api_sio_ack;
    a->sio_emit = api_sio_emit;
    a->sio_emit_room = api_sio_emit_room;
    a->sio_emit_all = api_sio_emit_all;
    a->sio_join = api_sio_join;
    a->sio_leave = api_sio_leave;
    a->sio_in_room = api_sio_in_room;
    a->sio_room_size = api_sio_room_size;
    a->sio_id = api_sio_id;
    a->sio_user_id = api_sio_user_id;
    a->sio_username = api_sio_username;
    a->sio_remote_addr = api_sio_remote_addr;
    a->sio_nsp = api_sio_nsp;
    a->sio_set_data = api_sio_set_data;
    a->sio_get_data = api_sio_get_data;
    a->sio_disconnect = api_sio_disconnect;
    a->sio_binary_new = api_sio_binary_new;
    a->sio_binary_data = api_sio_binary_data;
    a->sio_emit_args = api_sio_emit_args;
    a->media_stage = api_media_stage;
    a->stream_open = api_stream_open;
    a->stream_add_track = api_stream_add_track;
    a->stream_start = api_stream_start;
    a->stream_push = api_stream_push;
    a->stream_close = api_stream_close;
    a->stream_id = api_stream_id;
    a->stream_room = api_stream_room;
    a->stream_user_id = api_stream_user_id;
    a->stream_username = api_stream_username;
    a->stream_track_count = api_stream_track_count;
    a->stream_track = api_stream_track;
    a->stream_started_ms = api_stream_started_ms;
    a->stream_find = api_stream_find;
    a->packet_track = api_packet_track;
    a->packet_pts = api_packet_pts;
    a->packet_dts = api_packet_dts;
    a->packet_keyframe = api_packet_keyframe;
    a->packet_data = api_packet_data;
    a->packet_ref = api_packet_ref;
    a->packet_unref = api_packet_unref;
    a->packet_new = api_packet_new;
}

sh_fake *sh_fake_new(sh_plugin_entry_fn entry) {
    const sh_plugin_desc *d = entry ? entry() : NULL;
    if (!d) return NULL;
    sh_fake *fh = xcalloc(1, sizeof *fh);
    fh->self.fh = fh;
    fh->desc = d;
    fill_api(&fh->api);
    fh->now = FAKE_CLOCK_START;
    fh->wall_base = FAKE_WALL_START;
    fh->rng = 1;
    fh->next_stream_id = 1;
    fh->echo = getenv("SH_FAKE_LOG") != NULL;
    while (d->settings && d->settings[fh->nsettings].name)
        fh->nsettings++;
    fh->cfg = xcalloc(fh->nsettings + 1, sizeof *fh->cfg);
    fh->log = xstrdup("");
    fh->logcap = 1;
    ensure_nsp(fh, "/");
    GROW(live_fakes, nlive_fakes);
    live_fakes[nlive_fakes++] = fh;
    return fh;
}

int sh_fake_init(sh_fake *fh) {
    const sh_plugin_desc *d = fh->desc;
    if (fh->initialized || fh->phase != PHASE_LOAD) return SH_ERR_STATE;
    if (d->abi_major != SH_ABI_MAJOR || d->abi_minor > SH_ABI_MINOR) {
        logline(fh, SH_LOG_ERROR, "refused: built for SDK %u.%u, this host provides %d.%d", d->abi_major, d->abi_minor,
                SH_ABI_MAJOR, SH_ABI_MINOR);
        return SH_ERR_INVALID;
    }
    if (d->size != sizeof(sh_plugin_desc)) {
        logline(fh, SH_LOG_ERROR, "refused: a descriptor of %u bytes, which SDK %d.%d does not know", d->size,
                SH_ABI_MAJOR, SH_ABI_MINOR);
        return SH_ERR_INVALID;
    }
    const char *n = d->name;
    int name_ok = n && *n && strlen(n) <= 64;
    for (; name_ok && *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_' || *n == '-')) name_ok = 0;
    if (!name_ok || !d->init) {
        logline(fh, SH_LOG_ERROR, "refused: %s", !name_ok ? "the name must be [a-z0-9_-]+" : "no init function");
        return SH_ERR_INVALID;
    }
    for (const sh_dep *r = d->requires; r && r->name; r++) {
        const fake_service *s = find_service(fh, r->name, r->major);
        if (!r->optional && (!s || s->minor < r->minor)) {
            logline(fh, SH_LOG_ERROR,
                    "requires service %s %d.%d, which nothing provides (sh_fake_service_add it before init)", r->name,
                    r->major, r->minor);
            return SH_ERR_UNAVAILABLE;
        }
    }
    int rc = cfg_finish(fh);
    if (rc != SH_OK) return rc;
    fh->phase = PHASE_INIT;
    rc = d->init(&fh->self, &fh->api);
    fh->phase = PHASE_LOAD;
    if (rc != SH_OK) {
        logline(fh, SH_LOG_ERROR, "init failed (status %d)", rc);
        return rc;
    }
    fh->initialized = 1;
    return SH_OK;
}

int sh_fake_start(sh_fake *fh) {
    if (!fh->initialized || fh->started) {
        violation(fh, "sh_fake_start: the plugin is %s", fh->started ? "already started" : "not initialised");
        return SH_ERR_STATE;
    }
    fh->phase = PHASE_RUN;
    int rc = fh->desc->start ? fh->desc->start(&fh->self) : SH_OK;
    if (rc == SH_OK) fh->started = 1;
    return rc;
}

void sh_fake_stop(sh_fake *fh) {
    if (!fh->started) return;
    fh->phase = PHASE_STOP;
    while (fh->streams)
        api_stream_close(fh->streams, "shutdown"); /* as the host: before stop */
    if (fh->desc->stop) fh->desc->stop(&fh->self);
    fh->started = 0;
    for (size_t i = 0; i < fh->nsocks; i++)
        if (fh->socks[i]->state == SOCK_CONNECTED) sock_remove(fh->socks[i], "server shutting down");
    sh_fake_run(fh);
}

void sh_fake_fini(sh_fake *fh) {
    sh_fake_stop(fh);
    while (fh->streams)
        api_stream_close(fh->streams, "shutdown"); /* opened without a start */
    sh_fake_run(fh);
    if (!fh->initialized) return;
    if (fh->desc->fini) fh->desc->fini(&fh->self);
    fh->initialized = 0;
    fh->phase = PHASE_STOP;
}

const sh_host_api *sh_fake_api(sh_fake *fh) {
    return &fh->api;
}
sh_plugin *sh_fake_plugin(sh_fake *fh) {
    return &fh->self;
}
void sh_fake_set_api_size(sh_fake *fh, size_t size) {
    fh->api.size = size;
}
int sh_fake_violations(const sh_fake *fh) {
    return fh->violations;
}
const char *sh_fake_log(const sh_fake *fh) {
    return fh->log;
}
int sh_fake_log_has(const sh_fake *fh, const char *needle) {
    return needle && strstr(fh->log, needle) != NULL;
}
void sh_fake_log_clear(sh_fake *fh) {
    fh->loglen = 0;
    fh->log[0] = '\0';
}
void sh_fake_log_echo(sh_fake *fh, int on) {
    fh->echo = on;
}
size_t sh_fake_registration_count(const sh_fake *fh) {
    return fh->nregs;
}
const char *sh_fake_registration(const sh_fake *fh, size_t i) {
    return i < fh->nregs ? fh->regs[i] : NULL;
}
int sh_fake_registered(const sh_fake *fh, const char *line) {
    for (size_t i = 0; line && i < fh->nregs; i++)
        if (strcmp(fh->regs[i], line) == 0) return 1;
    return 0;
}

void sh_fake_free(sh_fake *fh) {
    if (!fh) return;
    sh_fake_fini(fh);
    size_t dropped = 0;
    for (fake_job *j = fh->qhead, *n; j; j = n, dropped++) {
        n = j->next;
        free(j);
    }
    if (dropped && fh->echo) fprintf(stderr, "fakehost: %zu queued callbacks dropped at sh_fake_free\n", dropped);
    for (size_t i = 0; i < nlive_fakes; i++)
        if (live_fakes[i] == fh) live_fakes[i] = live_fakes[--nlive_fakes];
    if (!nlive_fakes) {
        free(live_fakes);
        live_fakes = NULL;
    }
    if (auth_owner == fh) auth_owner = NULL;
    for (size_t i = 0; i < fh->nsettings; i++)
        cfg_clear(&fh->cfg[i]);
    free(fh->cfg);
    free_strv(fh->regs, fh->nregs);
    for (size_t i = 0; i < fh->nroutes; i++) {
        free(fh->routes[i].method);
        free(fh->routes[i].pattern);
        free_strv(fh->routes[i].seg, fh->routes[i].nseg);
    }
    free(fh->routes);
    for (size_t i = 0; i < fh->nreqs; i++) {
        sh_fake_response *o = fh->resps[i];
        request_release(fh->reqs[i]);
        free(fh->reqs[i]);
        free((char *)o->content_type);
        free((char *)o->body);
        if (o->json) json_object_put(o->json);
        free_strv(o->header_names, o->nheaders);
        free_strv(o->header_values, o->nheaders);
        free(o);
    }
    free(fh->resps);
    free(fh->reqs);
    for (size_t i = 0; i < fh->nsubs; i++)
        free(fh->subs[i].topic);
    free(fh->subs);
    for (size_t i = 0; i < fh->nservices; i++)
        free(fh->services[i].name);
    free(fh->services);
    for (size_t i = 0; i < fh->nusers; i++) {
        free(fh->users[i].token);
        free(fh->users[i].name);
    }
    free(fh->users);
    for (struct sh_db_result *s = fh->script_head, *n; s; s = n) {
        n = s->next;
        result_clear(s);
        free(s);
    }
    for (size_t i = 0; i < fh->nqueries; i++) {
        free(fh->queries[i].sql);
        free_strv(fh->queries[i].params, (size_t)fh->queries[i].nparams);
    }
    free(fh->queries);
    for (size_t i = 0; i < fh->nmigs; i++) {
        free(fh->migs[i].id);
        free(fh->migs[i].sql);
    }
    free(fh->migs);
    for (size_t i = 0; i < fh->nevents; i++) {
        free(fh->events[i].topic);
        json_object_put(fh->events[i].payload);
    }
    free(fh->events);
    for (sh_timer *t = fh->timers, *n; t; t = n) {
        n = t->next;
        free(t);
    }
    for (sh_metric *m = fh->metrics, *n; m; m = n) {
        n = m->next;
        metric_destroy(m);
    }
    for (fake_rate *e = fh->rates, *n; e; e = n) {
        n = e->next;
        free(e->key);
        free(e);
    }
    for (size_t i = 0; i < fh->nsocks; i++) {
        sh_socket *so = fh->socks[i];
        free_strv(so->rooms, so->nrooms);
        free(so->username);
        free_strv(so->recv_event, so->nrecv);
        for (size_t k = 0; k < so->nrecv; k++)
            json_object_put(so->recv_args[k]);
        free(so->recv_args);
        free(so);
    }
    free(fh->socks);
    for (size_t i = 0; i < fh->npcs; i++) {
        json_object_put(fh->pcs[i]->auth);
        free(fh->pcs[i]);
    }
    free(fh->pcs);
    for (size_t i = 0; i < fh->nacks; i++) {
        json_object_put(fh->acks[i]->pub.args);
        free(fh->acks[i]);
    }
    free(fh->acks);
    for (size_t i = 0; i < fh->nnsps; i++) {
        fake_nsp *ns = fh->nsps[i];
        for (size_t k = 0; k < ns->nhandlers; k++)
            free(ns->handlers[k].event);
        free(ns->handlers);
        free(ns->on_connect);
        free(ns->on_disconnect);
        free(ns->name);
        free(ns);
    }
    free(fh->nsps);
    for (size_t i = 0; i < fh->nstages; i++)
        free(fh->stages[i].name);
    free(fh->stages);
    free(fh->log);
    free(fh);
}
