/*
 * fakehost_impl.h - the fake host's internal types, shared by fakehost.c and the parts it includes
 * (fakehost_db.c, fakehost_http.c, fakehost_sio.c, fakehost_media.c). Not a public header: tests use
 * fakehost.h. Ownership: every structure here belongs to its sh_fake and is freed by sh_fake_free.
 * Thread: the test's thread only.
 */
#ifndef SH_FAKEHOST_IMPL_H
#define SH_FAKEHOST_IMPL_H

#ifndef SH_FAKEHOST_PART
#error "compile fakehost.c, which includes this file; it is not built on its own"
#endif

#include "fakehost.h"

#include <streamhub/auth.h>
#include <unistd.h>

#define FAKE_CLOCK_START   1000000ull
#define FAKE_WALL_START    1700000000000ull
#define FAKE_RUN_MAX       1000000
#define FAKE_MAX_PARAMS    8
#define FAKE_MAX_SEGMENTS  32
#define FAKE_DB_MAX_PARAMS 65535

enum { PHASE_LOAD = 0, PHASE_INIT, PHASE_RUN, PHASE_STOP };
enum { TIMER_ACTIVE = 0, TIMER_FIRED, TIMER_CANCELLED };

struct sh_plugin {
    sh_fake *fh;
};

typedef struct fake_cfg {
    int set; /* given by sh_fake_set_config */
    int64_t i;
    double d;
    int b;
    char *s;
    char **list; /* NULL-terminated; NULL when empty */
    size_t nlist;
} fake_cfg;

typedef struct fake_route {
    char *method, *pattern;
    char **seg;
    size_t nseg;
    int literals;
    unsigned flags;
    sh_http_handler handler;
    void *ud;
} fake_route;

typedef struct fake_sub {
    char *topic;
    int prefix; /* topic ended in '*': match by prefix */
    sh_event_cb cb;
    void *ud;
} fake_sub;

typedef struct fake_service {
    char *name;
    int major, minor;
    const void *table;
} fake_service;

typedef struct fake_user {
    char *token, *name;
    int64_t id;
} fake_user;

typedef struct fake_query {
    char *sql;
    int nparams;
    char **params;
} fake_query;

struct sh_db_result {
    int status;
    char *error, *sqlstate;
    int ncols, nrows;
    char **cols;
    char **values;
    int64_t affected;
    struct sh_db_result *next; /* scripted FIFO */
};

struct sh_redis_reply {
    int never_created;
};

struct sh_timer {
    sh_fake *fh;
    uint64_t due, interval, seq;
    int repeat, state;
    sh_timer_cb cb;
    void *ud;
    struct sh_timer *next;
};

struct sh_metric {
    sh_metric_type type;
    char *name, *help, *labels;
    double value, sum;
    uint64_t count;
    struct sh_metric *next;
};

typedef struct fake_rate {
    char *key;
    uint64_t start, window, count;
    struct fake_rate *next;
} fake_rate;

typedef struct fake_event {
    char *topic;
    json_object *payload;
    unsigned flags;
} fake_event;

typedef struct fake_mig {
    char *id, *sql;
} fake_mig;

typedef enum { JOB_DB = 1, JOB_BUS, JOB_WORK, JOB_REDIS } job_kind;

typedef struct fake_job {
    job_kind kind;
    size_t first; /* JOB_DB: first statement in the query log; JOB_BUS: the event */
    int n;        /* JOB_DB: statements (0 = invalid arguments) */
    int down;     /* JOB_DB: the database was down when queued */
    sh_db_cb db_cb;
    sh_work_fn work;
    sh_done_fn done;
    sh_redis_cb redis_cb;
    void *ud;
    struct fake_job *next;
} fake_job;

typedef struct fake_hook {
    void (*fn)(void);
    void *ud;
} fake_hook;

typedef struct fake_sio_handler {
    char *event;
    sh_sio_handler fn;
    void *ud;
} fake_sio_handler;

typedef struct fake_nsp {
    char *name;
    fake_sio_handler *handlers;
    size_t nhandlers;
    fake_hook *on_connect, *on_disconnect;
    size_t nconnect, ndisconnect;
} fake_nsp;

enum { SOCK_CONNECTED = 0, SOCK_CLOSING, SOCK_GONE };

struct sh_socket {
    sh_fake *fh;
    fake_nsp *ns;
    char id[32];
    int state;
    int64_t user_id;
    char *username;
    char **rooms;
    size_t nrooms;
    void *data;
    size_t nrecv;
    char **recv_event;
    json_object **recv_args;
};

struct sh_ack {
    sh_fake_ack pub; /* first: the test sees &ack->pub */
    sh_socket *sock;
};

#define FAKE_MAX_TRACKS 8

struct sh_packet {
    uint32_t refs;
    int track;
    int64_t pts, dts;
    int keyframe;
    size_t len;
    uint8_t data[];
};

typedef struct fake_stage {
    char *name;
    sh_stage_kind kind;
    sh_stage_ops ops;
    void *ud;
} fake_stage;

struct sh_stream {
    sh_fake *fh;
    int64_t id;
    char *room, *username;
    int64_t user_id;
    sh_track_info tracks[FAKE_MAX_TRACKS];
    size_t ntracks;
    int started;
    void **states;
    size_t nstates;
    uint64_t started_ms;
    struct sh_stream *next;
};

struct sh_request {
    sh_fake *fh;
    sh_fake_response *resp;
    const fake_route *rt;
    int answered;
    char method[16];
    char *path;
    char *body;
    size_t body_len;
    size_t nparams;
    const char *pnames[FAKE_MAX_PARAMS];
    char *pvalues[FAKE_MAX_PARAMS];
    size_t nquery, nhdr;
    char **qnames, **qvalues, **hnames, **hvalues;
    char *remote, *token, *username;
    int64_t user_id;
    json_object *json;
};

struct sh_fake {
    sh_plugin self;
    const sh_plugin_desc *desc;
    sh_host_api api;
    int phase, initialized, started, violations, echo;
    char *log;
    size_t loglen, logcap;
    size_t nsettings;
    fake_cfg *cfg;
    char **regs;
    size_t nregs;
    fake_route *routes;
    size_t nroutes;
    sh_fake_response **resps;
    sh_request **reqs;
    size_t nreqs;
    fake_sub *subs;
    size_t nsubs;
    fake_service *services;
    size_t nservices;
    fake_user *users;
    size_t nusers;
    struct sh_db_result *script_head, *script_tail;
    sh_fake_db_fn db_fn;
    void *db_ud;
    int db_down;
    fake_query *queries;
    size_t nqueries;
    fake_mig *migs;
    size_t nmigs;
    fake_event *events;
    size_t nevents;
    fake_job *qhead, *qtail;
    sh_timer *timers;
    uint64_t timer_seq, now, wall_base;
    sh_metric *metrics;
    fake_rate *rates;
    uint64_t rng;
    fake_nsp **nsps;
    size_t nnsps;
    sh_socket **socks;
    size_t nsocks;
    struct sh_ack **acks;
    size_t nacks;
    char sio_error[64];
    struct pending_connect **pcs; /* kept until sh_fake_free: an auth service may answer late */
    size_t npcs;
    fake_stage *stages;
    size_t nstages;
    struct sh_stream *streams;
    int64_t next_stream_id;
};

#endif
