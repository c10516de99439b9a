/*
 * hello.c - the example plugin of the StreamHub SDK, built out of tree with nothing but
 * `pkg-config --cflags streamhub-sdk` (see Makefile). It shows every kind of registration the
 * SDK 1.2 has:
 *
 *   config settings   greeting (string, default "hello"), max_name_chars, announce, report_ms
 *   HTTP routes       GET  /api/hello/:name  -> {"hello": name, "message": "hi, name!", "count": N}
 *                     POST /api/hello        -> the same from a JSON body, optional sign-in,
 *                                               rate-limited, "shout" upper-cases on a worker
 *                     GET  /api/hello-stats  -> what this node counted
 *   a migration       001_greetings creates hello_greetings; N counts the rows for a name
 *   bus subscriptions "hello.*" (its own events) and "stream.started"
 *   Socket.IO (1.1)   namespace /hello: event "greet" [name] answered through its ack, every
 *                     socket joins room "greeters" and is sent "welcome"; each greeting (from
 *                     any node) is broadcast to the room as "greeted"
 *   a media stage (1.2) sink "hello-meter": counts the packets and bytes of every live stream
 *                     sink "hello-keyframes": counts the video keyframes of each room's latest
 *                     stream; GET /api/hello/keyframes -> {"<roomId>": count, ...}
 *   a service         "hello" 1.0 (hello.h), and an optional requirement on "auth" 1.0
 *   metrics, a timer  hello_greetings_total, hello_events_total, hello_uptime_seconds
 *
 * Functions newer than SDK 1.0 are used only when SH_HOST_HAS says the host has them.
 *
 * Ownership: the plugin's state is one static struct (a plugin is loaded once per process); the
 * config strings are the host's and live forever; each request in flight owns one hello_job,
 * freed when the request is answered (or the Socket.IO ack sent); each socket carries one
 * hello_client, freed in the disconnect callback; each live stream one hello_meter, freed in the
 * stage's on_end. Threading: everything runs on the loop thread except
 * hello_shout_work, which runs on a worker and touches only its own job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamhub/auth.h>
#include <streamhub/migrations.h>
#include <streamhub/streamhub.h>

#include "hello.h"

/* ---- state -------------------------------------------------------------------------------- */
typedef struct hello_state {
    sh_plugin *self;
    const sh_host_api *host;
    const char *greeting; /* config: the host's string, lives for the process */
    size_t max_name_chars;
    int announce;
    uint64_t report_ms;
    uint64_t started_ms;
    uint64_t greetings, events, streams;
    int realtime; /* the host has Socket.IO (SDK 1.1) */
    int media;    /* the host has the media pipeline (SDK 1.2) */
    uint64_t live_streams, packets, bytes;
    sh_metric *m_greetings, *m_events, *m_uptime;
    sh_timer *report;
} hello_state;

#define HELLO_NSP  "/hello"
#define HELLO_ROOM "greeters"

static hello_state hello;

/* ---- the descriptor's tables -------------------------------------------------------------- */
static const sh_setting hello_settings[] = {
    {"greeting", SH_CFG_STRING, "hello", 1, 64, 0, "the word the plugin greets with"},
    {"max_name_chars", SH_CFG_INT, "64", 1, 256, 0, "longest name accepted, in characters"},
    {"announce", SH_CFG_BOOL, "true", 0, 0, 0, "publish hello.greeted on the event bus for each greeting"},
    {"report_ms", SH_CFG_INT, "60000", 100, 86400000, 0, "how often the uptime gauge is updated"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static const sh_dep hello_provides[] = {
    {HELLO_SERVICE, HELLO_MAJOR, HELLO_MINOR, 0},
    {NULL, 0, 0, 0},
};

/* Optional: when an auth plugin is listed, load after it (POST /api/hello then knows who signs
 * in); without one, the plugin still works and everybody is anonymous. */
static const sh_dep hello_requires[] = {
    {SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0, 1},
    {NULL, 0, 0, 0},
};

/* The schema's migration. In-tree plugins keep migrations in migrations/NNN_name.sql (the build
 * embeds them); an out-of-tree plugin can simply keep the SQL in a string. */
/* clang-format off */
static const char hello_migration_001[] =
    "CREATE TABLE hello_greetings (\n"
    "    id bigserial PRIMARY KEY,\n"
    "    name text NOT NULL,\n"
    "    greeted_at timestamptz NOT NULL DEFAULT now()\n"
    ");\n"
    "CREATE INDEX hello_greetings_name_idx ON hello_greetings (name);\n";
/* clang-format on */

/* All of them, in id order, registered in init with sh_migrations_register (streamhub/migrations.h). */
static const sh_embedded_sql hello_migrations[] = {
    {"001_greetings", hello_migration_001},
    {NULL, NULL},
};

/* ---- the service -------------------------------------------------------------------------- */
static uint64_t hello_svc_greetings(void) {
    return hello.greetings;
}
static uint64_t hello_svc_events(void) {
    return hello.events;
}

static const hello_api hello_service = {
    .size = sizeof(hello_api),
    .greetings = hello_svc_greetings,
    .events = hello_svc_events,
};

/* ---- helpers ------------------------------------------------------------------------------ */
static char *hello_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Characters (code points) in `s` if it is valid UTF-8 without control characters, else -1. */
static long hello_text_chars(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    long chars = 0;
    while (*p) {
        unsigned char c = p[0], lo = 0x80, hi = 0xBF;
        int need = -1;                        /* continuation bytes that follow */
        if (c >= 0x20 && c < 0x7F) need = 0;  /* ASCII, without C0 controls and DEL */
        if (c >= 0xC2 && c <= 0xDF) need = 1; /* 0x80..0xC1 lead nothing */
        if (c >= 0xE0 && c <= 0xEF) need = 2;
        if (c >= 0xF0 && c <= 0xF4) need = 3; /* 0xF5.. would be above U+10FFFF */
        if (need < 0) return -1;
        if (c == 0xC2) lo = 0xA0; /* U+0080..U+009F are C1 controls */
        if (c == 0xE0) lo = 0xA0; /* no overlong forms */
        if (c == 0xF0) lo = 0x90; /* no overlong forms */
        if (c == 0xED) hi = 0x9F; /* no surrogates */
        if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
        for (int k = 1; k <= need; k++, lo = 0x80, hi = 0xBF)
            if (p[k] < lo || p[k] > hi) return -1; /* this also stops at the terminating NUL */
        p += need + 1;
        chars++;
    }
    return chars;
}

/* ---- one greeting: insert, count, answer -------------------------------------------------- */
typedef struct hello_job {
    sh_request *req; /* valid until answered; NULL for a Socket.IO greeting */
    sh_ack *ack;     /* the Socket.IO acknowledgement to answer, or NULL */
    char *name;      /* owned */
    char *from;      /* owned; the signed-in user, or NULL */
    int status;      /* 200 for GET, 201 for POST */
} hello_job;

/* `from` (the signed-in user or NULL) is copied. */
static hello_job *hello_job_new(sh_request *req, sh_ack *ack, const char *name, const char *from, int status) {
    hello_job *job = calloc(1, sizeof *job);
    if (!job) return NULL;
    job->req = req;
    job->ack = ack;
    job->status = status;
    job->name = hello_strdup(name);
    job->from = from ? hello_strdup(from) : NULL;
    if (!job->name || (from && !job->from)) {
        free(job->name);
        free(job->from);
        free(job);
        return NULL;
    }
    return job;
}

static void hello_job_free(hello_job *job) {
    free(job->name);
    free(job->from);
    free(job);
}

/* Answer a failed query: 503/500 over HTTP, {"error":{"code"}} through a Socket.IO ack. */
static void hello_fail(hello_job *job, const sh_db_result *res) {
    const sh_host_api *h = hello.host;
    if (job->req) {
        h->respond_db_error(job->req, res);
    } else if (job->ack) {
        json_object *e = json_object_new_object(), *o = json_object_new_object();
        json_object_object_add(
            e, "code",
            json_object_new_string(h->db_status(res) == SH_ERR_UNAVAILABLE ? "database_unavailable" : "internal"));
        json_object_object_add(o, "error", e);
        h->sio_ack(job->ack, o); /* takes o; one argument */
    }
    hello_job_free(job);
}

static void hello_on_counted(const sh_db_result *res, void *ud) {
    hello_job *job = ud;
    const sh_host_api *h = hello.host;
    if (h->db_status(res) != SH_OK || h->db_nrows(res) != 1) {
        hello_fail(job, res);
        return;
    }
    long long count = strtoll(h->db_value(res, 0, 0), NULL, 10);
    char message[512];
    snprintf(message, sizeof message, "%s, %s!", hello.greeting, job->name);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "hello", json_object_new_string(job->name));
    json_object_object_add(body, "message", json_object_new_string(message));
    json_object_object_add(body, "count", json_object_new_int64(count));
    if (job->from) json_object_object_add(body, "from", json_object_new_string(job->from));
    if (job->req)
        h->respond_json(job->req, job->status, body); /* takes body; job->req is gone after this */
    else if (job->ack)
        h->sio_ack(job->ack, body); /* takes body; sent even if the socket left meanwhile (then dropped) */
    else
        json_object_put(body);
    hello.greetings++;
    h->metric_add(hello.m_greetings, 1);
    if (hello.announce) {
        json_object *ev = json_object_new_object();
        json_object_object_add(ev, "name", json_object_new_string(job->name));
        json_object_object_add(ev, "count", json_object_new_int64(count));
        h->bus_publish(hello.self, "hello.greeted", ev, 0); /* takes ev */
    }
    hello_job_free(job);
}

static void hello_on_inserted(const sh_db_result *res, void *ud) {
    hello_job *job = ud;
    const sh_host_api *h = hello.host;
    if (h->db_status(res) != SH_OK) {
        h->log(hello.self, SH_LOG_WARN, "insert failed: %s", h->db_error(res));
        hello_fail(job, res);
        return;
    }
    const char *params[1] = {job->name};
    /* The callback runs even when db_query returns an error (with an error result). */
    (void)h->db_query(hello.self, "SELECT count(*) FROM hello_greetings WHERE name = $1", 1, params, hello_on_counted,
                      job);
}

static void hello_store(hello_job *job) {
    const char *params[1] = {job->name};
    (void)hello.host->db_query(hello.self, "INSERT INTO hello_greetings (name) VALUES ($1)", 1, params,
                               hello_on_inserted, job);
}

/* ---- GET /api/hello/:name ----------------------------------------------------------------- */
static void hello_get(sh_request *req, void *ud) {
    (void)ud;
    const sh_host_api *h = hello.host;
    const char *name = h->req_param(req, "name"); /* decoded; borrowed from req */
    long chars = hello_text_chars(name);
    if (chars < 1 || (size_t)chars > hello.max_name_chars) {
        char msg[128];
        snprintf(msg, sizeof msg, "name must be 1 to %zu characters of text.", hello.max_name_chars);
        h->respond_error(req, 400, "invalid_field", msg, "name");
        return;
    }
    hello_job *job = hello_job_new(req, NULL, name, NULL, 200);
    if (!job) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    hello_store(job);
}

/* ---- POST /api/hello {"name": "...", "shout": false} -------------------------------------- */
static void hello_shout_work(void *ud) { /* on a worker thread: only the job's own bytes */
    hello_job *job = ud;
    for (char *p = job->name; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
}

static void hello_shout_done(void *ud) { /* back on the loop */
    hello_store(ud);
}

static void hello_post_allowed(int allowed, uint64_t retry_after_ms, void *ud) {
    sh_request *req = ud;
    const sh_host_api *h = hello.host;
    if (!allowed) {
        char secs[32];
        snprintf(secs, sizeof secs, "%llu", (unsigned long long)((retry_after_ms + 999) / 1000));
        h->resp_header(req, "Retry-After", secs);
        h->respond_error(req, 429, "rate_limited", "Too many greetings; slow down.", NULL);
        return;
    }
    json_object *body = h->req_json(req); /* borrowed; NULL = the host answered 400 */
    if (!body) return;
    const char *name;
    int shout = 0;
    if (h->json_str(req, body, "name", 1, hello.max_name_chars, 0, &name) < 0) return;
    if (h->json_bool(req, body, "shout", SH_JSON_OPTIONAL, &shout) < 0) return;
    hello_job *job = hello_job_new(req, NULL, name, h->req_username(req), 201);
    if (!job) {
        h->respond_error(req, 500, "internal", "Out of memory.", NULL);
        return;
    }
    if (!shout) {
        hello_store(job);
    } else if (h->work(hello.self, hello_shout_work, hello_shout_done, job) != SH_OK) {
        h->respond_error(req, 503, "busy", "The server is busy; try again shortly.", NULL);
        hello_job_free(job);
    }
}

static void hello_post(sh_request *req, void *ud) {
    (void)ud;
    /* 30 greetings a minute per address; the answer may come before rate_hit returns. */
    hello.host->rate_hit(hello.self, hello.host->req_remote_addr(req), 30, 60000, hello_post_allowed, req);
}

/* ---- GET /api/hello-stats ----------------------------------------------------------------- */
static void hello_stats(sh_request *req, void *ud) {
    (void)ud;
    const sh_host_api *h = hello.host;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "greeting", json_object_new_string(hello.greeting));
    json_object_object_add(o, "greetings", json_object_new_int64((int64_t)hello.greetings));
    json_object_object_add(o, "events", json_object_new_int64((int64_t)hello.events));
    json_object_object_add(o, "streamsStarted", json_object_new_int64((int64_t)hello.streams));
    size_t sockets = hello.realtime ? h->sio_room_size(hello.self, HELLO_NSP, HELLO_ROOM) : 0;
    json_object_object_add(o, "sockets", json_object_new_int64((int64_t)sockets));
    json_object *media = json_object_new_object();
    json_object_object_add(media, "liveStreams", json_object_new_int64((int64_t)hello.live_streams));
    json_object_object_add(media, "packets", json_object_new_int64((int64_t)hello.packets));
    json_object_object_add(media, "bytes", json_object_new_int64((int64_t)hello.bytes));
    json_object_object_add(o, "media", media);
    json_object_object_add(o, "uptimeMs", json_object_new_int64((int64_t)(h->now_ms(hello.self) - hello.started_ms)));
    h->respond_json(req, 200, o);
}

/* ---- the event bus and the timer ---------------------------------------------------------- */
static void hello_on_event(const char *topic, json_object *payload, void *ud) {
    (void)ud;
    hello.events++;
    hello.host->metric_add(hello.m_events, 1);
    /* payload is borrowed: emit takes a reference, so give it one of its own */
    if (hello.realtime && strcmp(topic, "hello.greeted") == 0)
        hello.host->sio_emit_room(hello.self, HELLO_NSP, HELLO_ROOM, "greeted", json_object_get(payload), NULL);
}

static void hello_on_stream(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)payload;
    (void)ud;
    hello.streams++;
}

static void hello_on_report(void *ud) {
    (void)ud;
    uint64_t up = hello.host->now_ms(hello.self) - hello.started_ms;
    hello.host->metric_set(hello.m_uptime, (double)up / 1000.0);
}

/* ---- Socket.IO (SDK 1.1): namespace /hello ------------------------------------------------ */
typedef struct hello_client {
    uint64_t greeted; /* greetings this socket asked for */
} hello_client;

static void hello_sio_connect(sh_socket *sock, json_object *auth, void *ud) {
    (void)auth; /* the handshake's payload, borrowed; the host already checked auth.token */
    (void)ud;
    const sh_host_api *h = hello.host;
    h->sio_set_data(sock, hello.self, calloc(1, sizeof(hello_client))); /* freed on disconnect */
    h->sio_join(sock, HELLO_ROOM);
    const char *user = h->sio_username(sock);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "greeting", json_object_new_string(hello.greeting));
    json_object_object_add(o, "user", user ? json_object_new_string(user) : NULL);
    h->sio_emit(sock, "welcome", o); /* takes o */
}

static void hello_sio_disconnect(sh_socket *sock, const char *reason, void *ud) {
    (void)reason;
    (void)ud;
    free(hello.host->sio_get_data(sock, hello.self));
}

/* "greet" [name] with an ack: answered {"hello","message","count"} or {"error":{...}}. */
static void hello_sio_greet(sh_socket *sock, const char *event, json_object *args, sh_ack *ack, void *ud) {
    (void)event;
    (void)ud;
    const sh_host_api *h = hello.host;
    json_object *arg = json_object_array_get_idx(args, 0); /* args: borrowed */
    const char *name = json_object_is_type(arg, json_type_string) ? json_object_get_string(arg) : NULL;
    long chars = name && strlen(name) == (size_t)json_object_get_string_len(arg) ? hello_text_chars(name) : -1;
    if (chars < 1 || (size_t)chars > hello.max_name_chars) {
        json_object *e = json_object_new_object(), *o = json_object_new_object();
        json_object_object_add(e, "code", json_object_new_string("invalid_field"));
        json_object_object_add(e, "field", json_object_new_string("name"));
        json_object_object_add(o, "error", e);
        if (ack)
            h->sio_ack(ack, o);
        else
            json_object_put(o);
        return;
    }
    hello_client *c = h->sio_get_data(sock, hello.self);
    if (c) c->greeted++;
    hello_job *job = hello_job_new(NULL, ack, name, h->sio_username(sock), 0);
    if (!job) {
        if (ack) h->sio_ack(ack, NULL);
        return;
    }
    hello_store(job);
}

/* ---- a media sink (SDK 1.2): counts what every live stream carries ------------------------- */
typedef struct hello_meter {
    uint64_t packets, bytes, keyframes;
} hello_meter;

static void *hello_meter_start(sh_stream *st, void *ud) {
    (void)st;
    (void)ud;
    hello.live_streams++;
    return calloc(1, sizeof(hello_meter)); /* this stream's state; NULL (no memory) is tolerated */
}

static sh_packet *hello_meter_packet(void *state, sh_stream *st, sh_packet *pkt) {
    (void)st;
    hello_meter *m = state;
    size_t len = 0;
    hello.host->packet_data(pkt, &len); /* borrowed: packet_ref to keep it past this call */
    hello.packets++;
    hello.bytes += len;
    if (m) {
        m->packets++;
        m->bytes += len;
        m->keyframes += hello.host->packet_keyframe(pkt) != 0;
    }
    return NULL; /* a sink's return value is ignored */
}

static void hello_meter_end(void *state, sh_stream *st, const char *reason) {
    hello_meter *m = state;
    const sh_host_api *h = hello.host;
    if (m)
        h->log(hello.self, SH_LOG_INFO, "stream %lld in room %s ended (%s): %llu packets, %llu bytes, %llu keyframes",
               (long long)h->stream_id(st), h->stream_room(st), reason, (unsigned long long)m->packets,
               (unsigned long long)m->bytes, (unsigned long long)m->keyframes);
    hello.live_streams--;
    free(m);
}

static const sh_stage_ops hello_meter_ops = {
    .size = sizeof(sh_stage_ops),
    .on_start = hello_meter_start,
    .on_packet = hello_meter_packet,
    .on_end = hello_meter_end,
};

/* ---- a second sink (SDK 1.2): video keyframes per room ------------------------------------ */
#define HELLO_KF_ROOMS 64 /* rooms remembered; then the slot of an ended stream is reused */

typedef struct hello_kf {
    char room[128];
    uint64_t keyframes; /* of the room's latest stream, live or ended */
    int live;
} hello_kf;

static hello_kf hello_kfs[HELLO_KF_ROOMS];
static size_t hello_nkfs;

/* The stream's state is its room's slot (none: a full table, or a second stream of a live room). */
static void *hello_kf_start(sh_stream *st, void *ud) {
    (void)ud;
    const char *room = hello.host->stream_room(st); /* borrowed while the stream lives */
    hello_kf *k = NULL;
    for (size_t i = 0; i < hello_nkfs && !k; i++)
        if (strcmp(hello_kfs[i].room, room) == 0) k = &hello_kfs[i];
    if (!k && hello_nkfs < HELLO_KF_ROOMS) k = &hello_kfs[hello_nkfs++];
    for (size_t i = 0; i < hello_nkfs && !k; i++)
        if (!hello_kfs[i].live) k = &hello_kfs[i];
    if (!k || k->live) return NULL;
    snprintf(k->room, sizeof k->room, "%s", room);
    k->keyframes = 0;
    k->live = 1;
    return k;
}

static sh_packet *hello_kf_packet(void *state, sh_stream *st, sh_packet *pkt) {
    hello_kf *k = state;
    const sh_host_api *h = hello.host;
    if (k && h->packet_keyframe(pkt)) { /* audio frames are all "key": count the video track's only */
        const sh_track_info *t = h->stream_track(st, (size_t)h->packet_track(pkt));
        if (t && t->kind == SH_TRACK_VIDEO) k->keyframes++;
    }
    return NULL;
}

static void hello_kf_end(void *state, sh_stream *st, const char *reason) {
    (void)st;
    (void)reason;
    hello_kf *k = state;
    if (k) k->live = 0; /* the count stays until the room streams again */
}

static const sh_stage_ops hello_kf_ops = {
    .size = sizeof(sh_stage_ops),
    .on_start = hello_kf_start,
    .on_packet = hello_kf_packet,
    .on_end = hello_kf_end,
};

/* GET /api/hello/keyframes -> {"<roomId>": keyframes, ...} (a literal segment wins over :name) */
static void hello_keyframes(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < hello_nkfs; i++)
        json_object_object_add(o, hello_kfs[i].room, json_object_new_int64((int64_t)hello_kfs[i].keyframes));
    hello.host->respond_json(req, 200, o);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */
static int hello_init(sh_plugin *self, const sh_host_api *host) {
    memset(&hello, 0, sizeof hello);
    hello.self = self;
    hello.host = host;

    /* Config: validated by the host against hello_settings; read it once, here. */
    hello.greeting = host->cfg_str(self, "greeting");
    hello.max_name_chars = (size_t)host->cfg_int(self, "max_name_chars");
    hello.announce = host->cfg_bool(self, "announce");
    hello.report_ms = (uint64_t)host->cfg_int(self, "report_ms");

    /* Registration: only here. Each call fails with SH_ERR_STATE anywhere else. */
    int rc;
    if ((rc = sh_migrations_register(self, host, hello_migrations)) != SH_OK ||
        (rc = host->http_route(self, "GET", "/api/hello/:name", 0, hello_get, NULL)) != SH_OK ||
        (rc = host->http_route(self, "POST", "/api/hello", SH_ROUTE_AUTH_OPT, hello_post, NULL)) != SH_OK ||
        (rc = host->http_route(self, "GET", "/api/hello-stats", 0, hello_stats, NULL)) != SH_OK ||
        (rc = host->bus_subscribe(self, "hello.*", hello_on_event, NULL)) != SH_OK ||
        (rc = host->bus_subscribe(self, "stream.started", hello_on_stream, NULL)) != SH_OK ||
        (rc = host->service_provide(self, HELLO_SERVICE, HELLO_MAJOR, HELLO_MINOR, &hello_service)) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "registration failed (status %d)", rc);
        return rc;
    }

    /* Socket.IO came with SDK 1.1, media stages with 1.2. A plugin built against 1.2 only loads
     * into a 1.2 host, so both are true here; this is how a plugin tests for a function newer
     * than the SDK version it declares (and the fake host can pretend to be older:
     * sh_fake_set_api_size). */
    hello.realtime = SH_HOST_HAS(host, sio_on);
    if (hello.realtime && ((rc = host->sio_namespace(self, HELLO_NSP)) != SH_OK ||
                           (rc = host->sio_on(self, HELLO_NSP, "greet", hello_sio_greet, NULL)) != SH_OK ||
                           (rc = host->sio_on_connect(self, HELLO_NSP, hello_sio_connect, NULL)) != SH_OK ||
                           (rc = host->sio_on_disconnect(self, HELLO_NSP, hello_sio_disconnect, NULL)) != SH_OK)) {
        host->log(self, SH_LOG_ERROR, "Socket.IO registration failed (status %d)", rc);
        return rc;
    }

    hello.media = SH_HOST_HAS(host, media_stage);
    if (hello.media && (rc = host->media_stage(self, "hello-meter", SH_STAGE_SINK, &hello_meter_ops, NULL)) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "media stage registration failed (status %d)", rc);
        return rc;
    }
    hello_nkfs = 0;
    if (hello.media &&
        ((rc = host->media_stage(self, "hello-keyframes", SH_STAGE_SINK, &hello_kf_ops, NULL)) != SH_OK ||
         (rc = host->http_route(self, "GET", "/api/hello/keyframes", 0, hello_keyframes, NULL)) != SH_OK)) {
        host->log(self, SH_LOG_ERROR, "keyframe counter registration failed (status %d)", rc);
        return rc;
    }

    hello.m_greetings = host->metric_new(self, SH_METRIC_COUNTER, "hello_greetings_total", "Greetings answered", NULL);
    hello.m_events = host->metric_new(self, SH_METRIC_COUNTER, "hello_events_total", "hello.* bus events seen", NULL);
    hello.m_uptime =
        host->metric_new(self, SH_METRIC_GAUGE, "hello_uptime_seconds", "Seconds since hello started", NULL);

    if (host->service_get(self, SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0) == NULL)
        host->log(self, SH_LOG_INFO, "no auth service: POST /api/hello greets anonymously");
    host->log(self, SH_LOG_INFO, "ready: greeting \"%s\"", hello.greeting);
    return SH_OK;
}

static int hello_start(sh_plugin *self) {
    hello.started_ms = hello.host->now_ms(self);
    hello.report = hello.host->timer_add(self, hello.report_ms, 1, hello_on_report, NULL);
    return hello.report ? SH_OK : SH_ERR;
}

static void hello_stop(sh_plugin *self) {
    (void)self;
    hello.host->timer_cancel(hello.report); /* a repeating timer: ours to cancel */
    hello.report = NULL;
}

static void hello_fini(sh_plugin *self) {
    (void)self;
    memset(&hello, 0, sizeof hello); /* nothing allocated outlives a request */
    hello_nkfs = 0;
}

static const sh_plugin_desc hello_desc = {
    SH_DESC_HEADER,
    .name = "hello",
    .version = "1.0.0",
    .description = "example plugin: greets, counts greetings in PostgreSQL, listens to the bus",
    .provides = hello_provides,
    .requires = hello_requires,
    .settings = hello_settings,
    .init = hello_init,
    .start = hello_start,
    .stop = hello_stop,
    .fini = hello_fini,
};

SH_PLUGIN_EXPORT(hello_desc)
