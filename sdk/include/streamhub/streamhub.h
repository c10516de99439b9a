/*
 * streamhub.h - the StreamHub plugin SDK: the only header a plugin includes.
 *
 * A plugin is a shared object that exports exactly one symbol, `sh_plugin_entry`, a function that
 * returns a pointer to a constant descriptor (sh_plugin_desc). The host checks the descriptor's ABI
 * version and size, orders plugins by the services they provide and require, validates each
 * plugin's config section against the settings the descriptor declares, then calls
 * init(plugin, host) with a table of host functions (sh_host_api).
 *
 * Rules (see docs/PLUGINS.md for the long form):
 *   - ABI: the descriptor carries SH_ABI_MAJOR / SH_ABI_MINOR as compiled. The host refuses a
 *     plugin whose major differs, whose minor is newer than the host's, or whose descriptor size it
 *     does not know. The host API table only ever grows at its end: a plugin may test for a newer
 *     function with SH_HOST_HAS(host, fn) before calling it.
 *   - Registration (routes, events, migrations, stages, services, subscriptions) happens in init
 *     and only there; calls made later fail with SH_ERR_STATE.
 *   - Threading: every function here is called on, and calls back on, the event-loop thread, except
 *     the `work` function given to host->work(), which runs on a worker thread and may touch
 *     nothing but its own data.
 *   - Nothing may block: use host->db_query, host->redis_*, host->work, host->timer_add.
 *   - Ownership is stated on each function. json_object arguments marked "takes" are released by
 *     the host; those marked "borrowed" stay the caller's (or the host's) and must not be put.
 *   - Plugins are never unloaded while the process lives.
 */
#ifndef STREAMHUB_STREAMHUB_H
#define STREAMHUB_STREAMHUB_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SH_ABI_MAJOR 1
#define SH_ABI_MINOR 4 /* 1.0: foundation; 1.1: Socket.IO; 1.2: media pipeline; 1.3: fd watches; 1.4: file bodies */
#define SH_VERSION_STRING "0.1.0"

/* ---- status codes ------------------------------------------------------------------------- */
enum {
    SH_OK = 0,
    SH_ERR = -1,             /* generic failure; the host logged why */
    SH_ERR_INVALID = -2,     /* bad argument */
    SH_ERR_STATE = -3,       /* not allowed now (e.g. registration outside init) */
    SH_ERR_UNAVAILABLE = -4, /* a dependency (database, redis, service) is down or absent */
    SH_ERR_NOMEM = -5,
    SH_ERR_EXISTS = -6,   /* duplicate registration */
    SH_ERR_LIMIT = -7,    /* a bounded queue is full */
    SH_ERR_NOTFOUND = -8, /* no such thing */
};

/* ---- opaque handles ----------------------------------------------------------------------- */
typedef struct sh_plugin sh_plugin;       /* the host's record of one loaded plugin */
typedef struct sh_request sh_request;     /* one HTTP request, valid until answered */
typedef struct sh_db_result sh_db_result; /* one query's result, valid during its callback */
typedef struct sh_redis_reply sh_redis_reply; /* one Redis reply, valid during its callback */
typedef struct sh_timer sh_timer;
typedef struct sh_metric sh_metric;
typedef struct sh_host_api sh_host_api;
typedef struct sh_socket sh_socket; /* one Socket.IO socket (a client in one namespace) */
typedef struct sh_ack sh_ack;       /* a pending acknowledgement the client asked for */
typedef struct sh_stream sh_stream; /* one live stream: a publish session bound to a room */
typedef struct sh_packet sh_packet; /* one reference-counted media packet */
typedef struct sh_io sh_io;         /* a watch on a file descriptor, on the host's loop */

/* ---- the descriptor ----------------------------------------------------------------------- */

/* A service a plugin provides or requires: name plus version. A provider of name@M.m satisfies a
 * requirement name@M.r when r <= m. `optional` requirements order the plugins when the provider
 * is present and are not an error when it is absent. Arrays end with an entry whose name is NULL. */
typedef struct sh_dep {
    const char *name;
    int major;
    int minor;
    int optional;
} sh_dep;

typedef enum sh_cfg_type {
    SH_CFG_BOOL = 1,
    SH_CFG_INT,     /* int64; min/max are inclusive bounds */
    SH_CFG_DOUBLE,  /* min/max are inclusive bounds */
    SH_CFG_STRING,  /* min/max bound the length in bytes */
    SH_CFG_STRLIST, /* a YAML sequence of strings; min/max bound the count */
} sh_cfg_type;

#define SH_CFG_REQUIRED 0x1u /* the key must be present (def is ignored) */
#define SH_CFG_SECRET 0x2u   /* never printed in logs or --check-config output */

/* One setting of a plugin's config section. Arrays end with an entry whose name is NULL.
 * `def` is the default written as it would be in YAML ("10", "true", "abc"); NULL = no default
 * (an absent STRING reads as NULL, an absent number as 0). For STRLIST the default is a
 * comma-separated list. */
typedef struct sh_setting {
    const char *name;
    sh_cfg_type type;
    const char *def;
    double min;
    double max;
    unsigned flags;
    const char *help;
} sh_setting;

typedef struct sh_plugin_desc {
    uint32_t abi_major;  /* SH_ABI_MAJOR when built */
    uint32_t abi_minor;  /* SH_ABI_MINOR when built */
    uint32_t size;       /* sizeof(sh_plugin_desc) when built */
    const char *name;    /* unique, [a-z0-9_-]+, also the name of its config section */
    const char *version; /* the plugin's own version, free form ("1.2.0") */
    const char *description;
    const sh_dep *provides; /* may be NULL */
    const sh_dep *requires; /* may be NULL */
    const sh_setting *settings; /* may be NULL (then the section must be empty) */
    /* Register everything here. Return SH_OK, or an error after host->log(ERROR) saying why:
     * start-up stops. `host` stays valid for the life of the process. */
    int (*init)(sh_plugin *self, const sh_host_api *host);
    /* The loop is about to run: connections may arrive after this. May be NULL. */
    int (*start)(sh_plugin *self);
    /* Shutdown began: stop accepting, finish or cancel work. Called in reverse load order. */
    void (*stop)(sh_plugin *self);
    /* Free what init allocated. Called in reverse load order after every stop. */
    void (*fini)(sh_plugin *self);
} sh_plugin_desc;

#define SH_PLUGIN_ENTRY_SYMBOL "sh_plugin_entry"
typedef const sh_plugin_desc *(*sh_plugin_entry_fn)(void);

/* Fill in the version fields: `static const sh_plugin_desc desc = { SH_DESC_HEADER, .name = ... };` */
#define SH_DESC_HEADER .abi_major = SH_ABI_MAJOR, .abi_minor = SH_ABI_MINOR, .size = sizeof(sh_plugin_desc)

/* Export the entry point for `desc`. Build plugins with -fvisibility=hidden: this is then the only
 * exported symbol. */
#define SH_PLUGIN_EXPORT(desc)                                                                    \
    __attribute__((visibility("default"))) const sh_plugin_desc *sh_plugin_entry(void);          \
    __attribute__((visibility("default"))) const sh_plugin_desc *sh_plugin_entry(void) {         \
        return &(desc);                                                                           \
    }

/* ---- callbacks ---------------------------------------------------------------------------- */
typedef enum sh_log_level { SH_LOG_DEBUG = 0, SH_LOG_INFO, SH_LOG_WARN, SH_LOG_ERROR } sh_log_level;

/* An HTTP handler. It must answer `req` exactly once, now or later (keep the pointer; it stays
 * valid until answered, even if the client goes away, in which case the answer is dropped). */
typedef void (*sh_http_handler)(sh_request *req, void *ud);

/* A query's result: `res` is valid only during the call. Always called exactly once, on the
 * loop, never from inside db_query itself. */
typedef void (*sh_db_cb)(const sh_db_result *res, void *ud);

/* A Redis reply: `reply` is NULL when Redis is disabled, disconnected or the command failed to
 * send; valid only during the call. */
typedef void (*sh_redis_cb)(const sh_redis_reply *reply, void *ud);
typedef void (*sh_redis_msg_cb)(const char *channel, const char *data, size_t len, void *ud);

/* An event-bus delivery. `payload` is borrowed (valid during the call; json_object_get to keep). */
typedef void (*sh_event_cb)(const char *topic, json_object *payload, void *ud);

typedef void (*sh_timer_cb)(void *ud);
typedef void (*sh_work_fn)(void *ud); /* runs on a worker thread */
typedef void (*sh_done_fn)(void *ud); /* runs on the loop after the work function returned */

/* Rate limiter answer: allowed != 0, or retry_after_ms until the next attempt may pass. */
typedef void (*sh_rate_cb)(int allowed, uint64_t retry_after_ms, void *ud);

/* A Socket.IO event from a client. `args` is the JSON array of the event's arguments (the name
 * removed; binary attachments appear as the host's binary objects); borrowed. `ack` is non-NULL
 * when the client asked for an acknowledgement: answer it exactly once with sio_ack, now or later
 * (even after the socket is gone: the answer is then dropped; an ack never answered leaks). */
typedef void (*sh_sio_handler)(sh_socket *sock, const char *event, json_object *args, sh_ack *ack, void *ud);
/* A socket connected to a namespace (identity already checked: sio_user_id). `auth` is the
 * handshake's auth payload (borrowed; may be NULL). */
typedef void (*sh_sio_connect_cb)(sh_socket *sock, json_object *auth, void *ud);
/* A socket is leaving (client disconnect, transport closed, server close). Still usable for
 * reading its rooms and user during the call; emits to it are dropped. */
typedef void (*sh_sio_disconnect_cb)(sh_socket *sock, const char *reason, void *ud);

/* ---- media -------------------------------------------------------------------------------- */
typedef enum sh_track_kind { SH_TRACK_VIDEO = 1, SH_TRACK_AUDIO = 2 } sh_track_kind;
typedef enum sh_codec {
    SH_CODEC_H264 = 1, /* extradata: avcC (AVCDecoderConfigurationRecord); packets: AVCC length-prefixed */
    SH_CODEC_HEVC,     /* extradata: hvcC; packets: length-prefixed */
    SH_CODEC_AV1,      /* extradata: av1C */
    SH_CODEC_VP9,      /* extradata: vpcC */
    SH_CODEC_AAC,      /* extradata: AudioSpecificConfig; packets: raw AAC frames */
    SH_CODEC_OPUS,
    SH_CODEC_MP3,
} sh_codec;

/* A track's description. The host copies it (and the extradata) in stream_add_track. */
typedef struct sh_track_info {
    uint32_t size; /* sizeof(sh_track_info) */
    sh_track_kind kind;
    sh_codec codec;
    const uint8_t *extradata;
    size_t extradata_len;
    uint32_t timebase_num, timebase_den; /* of pts/dts, e.g. 1/1000 for RTMP */
    int width, height;                   /* video, 0 if unknown */
    double fps;                          /* video, 0 if unknown */
    int sample_rate, channels;           /* audio */
    int64_t bitrate;                     /* bits/s, 0 if unknown */
} sh_track_info;

/* A packet pushed by a source (data copied once into a shared packet). */
typedef struct sh_packet_info {
    int track; /* index from stream_add_track */
    int64_t pts, dts;
    int keyframe;
    const uint8_t *data;
    size_t len;
} sh_packet_info;

typedef enum sh_stage_kind { SH_STAGE_SINK = 1, SH_STAGE_FILTER = 2 } sh_stage_kind;

/* Callbacks of a media stage, called on the loop for every stream. `state` is what on_start
 * returned for that stream (NULL is fine). A filter's on_packet returns the packet to pass on
 * (the same one, or a new one it made; the host takes that reference) or NULL to drop it; a
 * sink's return value is ignored (return NULL). Packets are borrowed: packet_ref to keep one.
 * Work that decodes or encodes must go to workers (host->work); remuxing may run here. */
typedef struct sh_stage_ops {
    size_t size; /* sizeof(sh_stage_ops) */
    void *(*on_start)(sh_stream *st, void *ud);
    sh_packet *(*on_packet)(void *state, sh_stream *st, sh_packet *pkt);
    void (*on_end)(void *state, sh_stream *st, const char *reason);
} sh_stage_ops;

/* Topics the host publishes on the event bus for every stream:
 *   "stream.started" {streamId, roomId, userId, username, startedAt, tracks:[{kind, codec, width,
 *                     height, fps, sampleRate, channels}]}
 *   "stream.ended"   {streamId, roomId, userId, username, reason, endedAt}
 * reason: "unpublished", "disconnected", "idle_timeout", "key_reset", "replaced", "shutdown". */
#define SH_TOPIC_STREAM_STARTED "stream.started"
#define SH_TOPIC_STREAM_ENDED "stream.ended"

/* A file descriptor became readable and/or writable (events: SH_IO_READ | SH_IO_WRITE). */
typedef void (*sh_io_cb)(int fd, unsigned events, void *ud);
#define SH_IO_READ 0x1u
#define SH_IO_WRITE 0x2u

/* ---- constants for the table -------------------------------------------------------------- */
#define SH_ROUTE_AUTH 0x1u     /* needs `Authorization: Bearer`; 401 without a valid token */
#define SH_ROUTE_AUTH_OPT 0x2u /* a valid token is used when present; anonymous otherwise */

#define SH_JSON_OPTIONAL 0x1u  /* absent (or null) is fine: the out value is left untouched */
#define SH_JSON_MULTILINE 0x2u /* strings may contain \n (other control characters never) */
#define SH_JSON_NOTRIM 0x4u    /* keep leading/trailing white space (trimmed by default) */

#define SH_BUS_CLUSTER 0x1u /* also deliver on every other node sharing this Redis */

typedef enum sh_metric_type { SH_METRIC_COUNTER = 1, SH_METRIC_GAUGE, SH_METRIC_HISTOGRAM } sh_metric_type;

typedef enum sh_redis_type {
    SH_REDIS_STRING = 1,
    SH_REDIS_ARRAY = 2,
    SH_REDIS_INTEGER = 3,
    SH_REDIS_NIL = 4,
    SH_REDIS_STATUS = 5,
    SH_REDIS_ERROR = 6,
} sh_redis_type;

/* One statement of a transaction (db_tx). */
typedef struct sh_db_stmt {
    const char *sql;
    int nparams;
    const char *const *params; /* NULL entries are SQL NULL */
} sh_db_stmt;

/* ---- the host API table ------------------------------------------------------------------- */

/* True when the host's table is large enough to contain `fn` (for functions added in a later
 * minor version than the plugin was written for). */
#define SH_HOST_HAS(host, fn)                                                                     \
    ((host)->size >= offsetof(sh_host_api, fn) + sizeof((host)->fn) && (host)->fn != NULL)

struct sh_host_api {
    size_t size; /* sizeof(sh_host_api) of the host: only ever grows */

    /* -- 1.0: process ------------------------------------------------------------------- */
    /* printf-style line to the log, prefixed with the plugin's name. */
    void (*log)(sh_plugin *self, sh_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    /* This node's id (random per process start, 16 hex chars); borrowed, lives forever. */
    const char *(*node_id)(sh_plugin *self);
    /* The host's version string, e.g. "0.1.0"; borrowed, lives forever. */
    const char *(*version)(sh_plugin *self);
    /* Monotonic milliseconds (CLOCK_MONOTONIC), and wall-clock milliseconds since the epoch. */
    uint64_t (*now_ms)(sh_plugin *self);
    uint64_t (*wall_ms)(sh_plugin *self);
    /* Fill `buf` with cryptographically secure random bytes from the OS. */
    int (*random_bytes)(sh_plugin *self, void *buf, size_t len);

    /* -- 1.0: config (the plugin's own section, validated against desc->settings) --------- */
    /* Values live for the life of the process. Asking for a name the plugin did not declare
     * aborts (a programming error). */
    int64_t (*cfg_int)(sh_plugin *self, const char *name);
    double (*cfg_double)(sh_plugin *self, const char *name);
    int (*cfg_bool)(sh_plugin *self, const char *name);
    const char *(*cfg_str)(sh_plugin *self, const char *name); /* NULL if absent, no default */
    const char *const *(*cfg_strlist)(sh_plugin *self, const char *name, size_t *count);

    /* -- 1.0: HTTP ------------------------------------------------------------------------ */
    /* Register `handler` for `method` ("GET", "POST", ...) and `pattern` ("/api/rooms/:roomId";
     * a final "*" segment matches any rest, readable as the param "*"). init only. */
    int (*http_route)(sh_plugin *self, const char *method, const char *pattern, unsigned flags,
                      sh_http_handler handler, void *ud);
    /* Request accessors: strings are borrowed and live until the request is answered. */
    const char *(*req_method)(sh_request *req);
    const char *(*req_path)(sh_request *req);                       /* decoded, no query */
    const char *(*req_param)(sh_request *req, const char *name);    /* a :param, decoded */
    const char *(*req_query)(sh_request *req, const char *name);    /* NULL if absent */
    const char *(*req_header)(sh_request *req, const char *name);   /* case-insensitive */
    const void *(*req_body)(sh_request *req, size_t *len);
    const char *(*req_remote_addr)(sh_request *req);                /* "127.0.0.1" */
    /* The body as a JSON object (borrowed, owned by the request). If the body is missing, not
     * JSON or not an object, the host has already answered 400 `invalid_json` and this returns
     * NULL: the handler just returns. */
    json_object *(*req_json)(sh_request *req);
    /* The signed-in user on SH_ROUTE_AUTH / SH_ROUTE_AUTH_OPT routes: id 0 and NULL name if none. */
    int64_t (*req_user_id)(sh_request *req);
    const char *(*req_username)(sh_request *req);
    /* The bearer token as sent (borrowed), NULL if none. */
    const char *(*req_token)(sh_request *req);
    /* Add a response header (copied) before answering. */
    void (*resp_header)(sh_request *req, const char *name, const char *value);
    /* Answer with JSON (takes `body`; NULL = no body, e.g. 204). Finishes the request. */
    void (*respond_json)(sh_request *req, int status, json_object *body);
    /* Answer {"error":{"code","message"[,"field"]}} with `status`. Finishes the request. */
    void (*respond_error)(sh_request *req, int status, const char *code, const char *message,
                          const char *field);
    /* Answer raw bytes (copied). Finishes the request. */
    void (*respond_bytes)(sh_request *req, int status, const char *content_type, const void *data,
                          size_t len);
    /* Answer bytes by reference, without copying: `release(ud)` runs once the bytes are sent or
     * the connection is gone. Finishes the request. */
    void (*respond_ref)(sh_request *req, int status, const char *content_type, const void *data,
                        size_t len, void (*release)(void *ud), void *ud);
    /* Answer 503 `database_unavailable` or 500 `internal` for a failed query result. */
    void (*respond_db_error)(sh_request *req, const sh_db_result *res);

    /* JSON field validation for request bodies. On a bad value they answer 400 (code
     * `invalid_field`, naming the field) and return -1: the handler just returns. They return 0
     * with the value stored, or 1 when an optional field is absent (out untouched). Strings are
     * valid UTF-8 without control characters, trimmed unless SH_JSON_NOTRIM, lengths counted in
     * characters (code points) after trimming; *out is borrowed from the request. */
    int (*json_str)(sh_request *req, json_object *obj, const char *field, size_t min_chars,
                    size_t max_chars, unsigned flags, const char **out);
    int (*json_int)(sh_request *req, json_object *obj, const char *field, int64_t min, int64_t max,
                    unsigned flags, int64_t *out);
    int (*json_bool)(sh_request *req, json_object *obj, const char *field, unsigned flags, int *out);

    /* -- 1.0: database (PostgreSQL) ---------------------------------------------------------- */
    /* Register a migration (init only). `id` orders a plugin's migrations ("001_users"), and is
     * recorded once applied; `sql` is copied. Each runs in its own transaction at start-up. */
    int (*db_migration)(sh_plugin *self, const char *id, const char *sql);
    /* Run one parameterised statement ($1..$n; params are text, NULL = SQL NULL; copied). The
     * callback always runs later on the loop. Returns SH_ERR_LIMIT when the queue is full (the
     * callback still runs, with an error result). */
    int (*db_query)(sh_plugin *self, const char *sql, int nparams, const char *const *params,
                    sh_db_cb cb, void *ud);
    /* Run `n` statements in one transaction on one connection; the callback gets the last
     * statement's result, or the first failing one's (the transaction is then rolled back). */
    int (*db_tx)(sh_plugin *self, const sh_db_stmt *stmts, int n, sh_db_cb cb, void *ud);
    /* Result accessors. status: SH_OK, SH_ERR_UNAVAILABLE (no connection: answer 503) or SH_ERR
     * (the statement failed: see error and sqlstate, e.g. "23505" unique violation). */
    int (*db_status)(const sh_db_result *res);
    const char *(*db_error)(const sh_db_result *res);
    const char *(*db_sqlstate)(const sh_db_result *res); /* "" if none */
    int (*db_nrows)(const sh_db_result *res);
    int (*db_ncols)(const sh_db_result *res);
    const char *(*db_value)(const sh_db_result *res, int row, int col); /* NULL for SQL NULL */
    int (*db_col)(const sh_db_result *res, const char *name); /* column index or -1 */
    int64_t (*db_affected)(const sh_db_result *res);           /* rows affected */
    int (*db_available)(sh_plugin *self);

    /* -- 1.0: Redis (optional in config) -------------------------------------------------- */
    int (*redis_enabled)(sh_plugin *self);
    /* A command as argv (binary-safe; copied). cb may be NULL. */
    int (*redis_command)(sh_plugin *self, sh_redis_cb cb, void *ud, int argc, const char *const *argv,
                         const size_t *argvlen);
    int (*redis_reply_type)(const sh_redis_reply *r);
    long long (*redis_reply_int)(const sh_redis_reply *r);
    const char *(*redis_reply_str)(const sh_redis_reply *r, size_t *len);
    size_t (*redis_reply_count)(const sh_redis_reply *r);
    const sh_redis_reply *(*redis_reply_elem)(const sh_redis_reply *r, size_t i);
    /* Subscribe to a channel (kept across reconnects; init or later). */
    int (*redis_subscribe)(sh_plugin *self, const char *channel, sh_redis_msg_cb cb, void *ud);
    int (*redis_publish)(sh_plugin *self, const char *channel, const void *data, size_t len);

    /* -- 1.0: event bus ------------------------------------------------------------------- */
    /* Subscribe to a topic ("stream.started") or a prefix ("stream.*"). */
    int (*bus_subscribe)(sh_plugin *self, const char *topic, sh_event_cb cb, void *ud);
    /* Publish (takes `payload`); delivered on a later loop turn, in publish order. With
     * SH_BUS_CLUSTER and Redis configured, also delivered on every other node. */
    int (*bus_publish)(sh_plugin *self, const char *topic, json_object *payload, unsigned flags);

    /* -- 1.0: timers and workers ---------------------------------------------------------- */
    /* Call cb after ms (and every ms if repeat). The timer lives until cancelled (repeat) or
     * fired (one-shot: do not cancel it after it fired). */
    sh_timer *(*timer_add)(sh_plugin *self, uint64_t ms, int repeat, sh_timer_cb cb, void *ud);
    void (*timer_cancel)(sh_timer *timer);
    /* Run work(ud) on a worker thread, then done(ud) on the loop. SH_ERR_LIMIT if the queue is
     * full (nothing will run). */
    int (*work)(sh_plugin *self, sh_work_fn work, sh_done_fn done, void *ud);

    /* -- 1.0: services between plugins --------------------------------------------------- */
    /* Provide a named, versioned table (must be declared in desc->provides). `table` is
     * borrowed and must live as long as the process; its first field should be its size. */
    int (*service_provide)(sh_plugin *self, const char *name, int major, int minor, const void *table);
    /* The provider's table if name@major with minor >= min_minor is provided, else NULL. */
    const void *(*service_get)(sh_plugin *self, const char *name, int major, int min_minor);

    /* -- 1.0: metrics (Prometheus text on /metrics) --------------------------------------- */
    /* `labels` like `room="abc"` or NULL. Same name + labels returns the same metric. */
    sh_metric *(*metric_new)(sh_plugin *self, sh_metric_type type, const char *name, const char *help,
                             const char *labels);
    void (*metric_add)(sh_metric *m, double v);     /* counter or gauge */
    void (*metric_set)(sh_metric *m, double v);     /* gauge */
    void (*metric_observe)(sh_metric *m, double v); /* histogram, seconds-scale buckets */
    void (*metric_free)(sh_metric *m);              /* e.g. a per-stream gauge when it ends */

    /* -- 1.0: rate limiting (shared across nodes through Redis when configured) ------------ */
    /* At most `limit` hits per `window_ms` for `key`. cb may run before this returns. */
    void (*rate_hit)(sh_plugin *self, const char *key, int limit, uint64_t window_ms, sh_rate_cb cb,
                     void *ud);

    /* -- 1.1: realtime (Socket.IO v5 over Engine.IO v4) ---------------------------------- */
    /* Every socket is also in a room named by its id (sio_id), so a plugin can reach one socket
     * on any node with sio_emit_room. */
    /* Make a namespace exist ("/" always does). init only. */
    int (*sio_namespace)(sh_plugin *self, const char *nsp);
    /* Handle `event` in `nsp`. init only. Several plugins may handle the same event: each is
     * called in load order; only the first gets the ack handle (the others get NULL). */
    int (*sio_on)(sh_plugin *self, const char *nsp, const char *event, sh_sio_handler handler, void *ud);
    int (*sio_on_connect)(sh_plugin *self, const char *nsp, sh_sio_connect_cb cb, void *ud);
    int (*sio_on_disconnect)(sh_plugin *self, const char *nsp, sh_sio_disconnect_cb cb, void *ud);
    /* Answer an acknowledgement with `args` (takes; a JSON array of arguments, or any other value
     * sent as the single argument; NULL = no arguments). Releases `ack`. */
    void (*sio_ack)(sh_ack *ack, json_object *args);
    /* Emit to one socket (takes `data`: one argument, or NULL). */
    int (*sio_emit)(sh_socket *sock, const char *event, json_object *data);
    /* Emit to every socket in `room` of `nsp`, on every node, except `except` (may be NULL).
     * The packet is encoded once and its bytes shared. Takes `data`. */
    int (*sio_emit_room)(sh_plugin *self, const char *nsp, const char *room, const char *event, json_object *data,
                         sh_socket *except);
    /* Emit to every socket of `nsp` on every node. Takes `data`. */
    int (*sio_emit_all)(sh_plugin *self, const char *nsp, const char *event, json_object *data);
    int (*sio_join)(sh_socket *sock, const char *room);
    int (*sio_leave)(sh_socket *sock, const char *room);
    int (*sio_in_room)(sh_socket *sock, const char *room);
    /* Sockets in `room` of `nsp` on this node. */
    size_t (*sio_room_size)(sh_plugin *self, const char *nsp, const char *room);
    /* The socket's id (borrowed), user (0/NULL when anonymous), address and namespace. Each
     * signed-in user's sockets are in the room "user:<id>". */
    const char *(*sio_id)(sh_socket *sock);
    int64_t (*sio_user_id)(sh_socket *sock);
    const char *(*sio_username)(sh_socket *sock);
    const char *(*sio_remote_addr)(sh_socket *sock);
    const char *(*sio_nsp)(sh_socket *sock);
    /* One pointer of per-plugin data on each socket (the plugin frees it in its disconnect cb). */
    void (*sio_set_data)(sh_socket *sock, sh_plugin *self, void *data);
    void *(*sio_get_data)(sh_socket *sock, sh_plugin *self);
    /* Disconnect the socket from its namespace (the client gets a DISCONNECT packet). */
    void (*sio_disconnect)(sh_socket *sock);
    /* Binary values for event arguments: a json-c object carrying bytes (copied). */
    json_object *(*sio_binary_new)(const void *data, size_t len);
    const void *(*sio_binary_data)(json_object *value, size_t *len); /* NULL if not binary */
    /* Emit to one socket with several arguments: `args` is a JSON array (takes). */
    int (*sio_emit_args)(sh_socket *sock, const char *event, json_object *args);

    /* -- 1.2: media pipeline ------------------------------------------------------------- */
    /* Register a stage (init only). Stages see streams in registration order (filters first). */
    int (*media_stage)(sh_plugin *self, const char *name, sh_stage_kind kind, const sh_stage_ops *ops, void *ud);
    /* Source side. Open a stream for `room_id` (the room's public id) published by a user.
     * NULL if that room already has a live stream (one publisher per room). */
    sh_stream *(*stream_open)(sh_plugin *self, const char *room_id, int64_t user_id, const char *username);
    /* Declare a track before stream_start; returns its index or a negative status. */
    int (*stream_add_track)(sh_stream *st, const sh_track_info *info);
    /* Tracks are complete: stages get on_start, "stream.started" is published. */
    int (*stream_start)(sh_stream *st);
    /* Push one packet (data copied once; every stage shares that copy). */
    int (*stream_push)(sh_stream *st, const sh_packet_info *pkt);
    /* End the stream: stages get on_end, "stream.ended" is published, `st` is freed. */
    void (*stream_close)(sh_stream *st, const char *reason);
    /* Stream accessors (valid while the stream lives; strings borrowed). */
    int64_t (*stream_id)(sh_stream *st);
    const char *(*stream_room)(sh_stream *st);
    int64_t (*stream_user_id)(sh_stream *st);
    const char *(*stream_username)(sh_stream *st);
    size_t (*stream_track_count)(sh_stream *st);
    const sh_track_info *(*stream_track)(sh_stream *st, size_t i);
    uint64_t (*stream_started_ms)(sh_stream *st); /* wall clock */
    /* Find a live stream on this node by room id (NULL if none). */
    sh_stream *(*stream_find)(sh_plugin *self, const char *room_id);
    /* Packet accessors and references. */
    int (*packet_track)(const sh_packet *pkt);
    int64_t (*packet_pts)(const sh_packet *pkt);
    int64_t (*packet_dts)(const sh_packet *pkt);
    int (*packet_keyframe)(const sh_packet *pkt);
    const uint8_t *(*packet_data)(const sh_packet *pkt, size_t *len);
    sh_packet *(*packet_ref)(sh_packet *pkt);
    void (*packet_unref)(sh_packet *pkt);
    /* A new packet (for filters), data copied. */
    sh_packet *(*packet_new)(const sh_packet_info *info);

    /* -- 1.3: file descriptors on the host's loop (for plugins that run their own protocol) - */
    /* Watch `fd` (non-blocking, the plugin's own) for `events`; cb runs on the loop each time it
     * is ready (level-triggered) until io_close. NULL on error. */
    sh_io *(*io_watch)(sh_plugin *self, int fd, unsigned events, sh_io_cb cb, void *ud);
    /* Change what is watched (0 = nothing for now). */
    int (*io_set)(sh_io *io, unsigned events);
    /* Stop watching and free the watch (the fd is not closed). Safe inside its own callback. */
    void (*io_close)(sh_io *io);

    /* -- 1.4: file bodies ---------------------------------------------------------------- */
    /* Answer with `len` bytes of the file `fd` from `offset` (a regular file or a memfd the
     * plugin owns), sent with sendfile(2) where the platform allows: no copy through user space,
     * for large immutable bodies (media segments). The fd must stay open and those bytes
     * unchanged until release(ud) runs (after the last byte is sent or the client is gone; on
     * every path, errors included, exactly once); the host never closes it. HEAD gets the
     * headers and Content-Length only. */
    void (*respond_file)(sh_request *req, int status, const char *content_type, int fd, uint64_t offset,
                         uint64_t len, void (*release)(void *ud), void *ud);
};

#ifdef __cplusplus
}
#endif
#endif
