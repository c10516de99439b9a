/*
 * fakehost.h - a fake StreamHub host for plugin unit tests, shipped with the SDK.
 *
 * It implements every function of sh_host_api in memory, with no event loop, no sockets, no
 * database and no threads, so that a plugin's unit test (cmocka or anything else) can load the
 * plugin's descriptor, run init/start/stop/fini, send it HTTP requests, script its database
 * answers, publish and inspect bus events, drive its timers on a virtual clock and read its log
 * and metrics. It depends on json-c and the SDK headers only.
 *
 * Use: compile fakehost.c into the test (a test may simply `#include "fakehost.c"` and the
 * plugin's .c files; fakehost.c includes its parts, fakehost_impl.h and fakehost_*.c, from its own
 * directory, so keep the folder together and compile fakehost.c alone), then
 *
 *     sh_fake *fh = sh_fake_new(sh_plugin_entry);         // the plugin's exported entry
 *     sh_fake_set_config(fh, "greeting", "hi");           // before init
 *     assert(sh_fake_init(fh) == SH_OK);
 *     sh_fake_start(fh);
 *     const sh_fake_response *r = sh_fake_request(fh, "GET", "/api/hello/world", NULL, NULL);
 *     assert(r->status == 200);
 *     sh_fake_free(fh);                                   // stop + fini if still needed
 *
 * One plugin per fake host (a plugin exports `sh_plugin_entry`, so two cannot be linked into one
 * test anyway); other plugins are stood in for by services the test provides
 * (sh_fake_service_add, sh_fake_auth_add).
 *
 * Behaviour follows the real host where a plugin can observe it: registration only during init
 * (else SH_ERR_STATE), config parsed and bounded per the declared settings with their defaults,
 * route matching with :params and a final "*", 404 / 405 / 401 / 503 answers, req_json and
 * json_str/json_int/json_bool with the same 400 codes and messages, callbacks of db_query, work,
 * bus_publish and redis_command never run inside the call that queued them, a request's data
 * (params, query, headers, body, JSON) is freed as soon as it is answered (so AddressSanitizer
 * reports a plugin that keeps a pointer into it), Socket.IO namespaces, events, acknowledgements,
 * rooms and identities as in the host's Socket.IO server (fake clients instead of sockets), and
 * media stages in the host's order, fed by the test acting as the source.
 *
 * Differences: Redis is always disabled (redis_enabled returns 0, commands fail with
 * SH_ERR_UNAVAILABLE and their callback runs later with a NULL reply, publish and subscribe
 * fail); the clock is virtual; work functions run on the calling thread inside sh_fake_run; HTTP
 * answers carry only the headers the plugin set (plus Allow on a 405) and HEAD keeps its body;
 * respond_ref and respond_file copy the bytes and call release at once; sockets still connected when the plugin
 * stops are disconnected (reason "server shutting down") after its stop, before its fini.
 *
 * Contract checks: what the real host refuses or what would crash it (registration outside
 * init, cfg_int on a STRING setting, answering a request or an ack twice, using a request after
 * answering it or a socket after it left, cancelling a one-shot timer that already fired or a
 * timer twice, a service not declared in `provides`, ...) is logged as an ERROR line containing
 * "[contract]" and counted: a test should end with sh_fake_violations(fh) == 0. Asking for a
 * setting the plugin did not declare aborts, as in the real host.
 *
 * Ownership: every pointer returned by an sh_fake_* function is owned by the fake host and lives
 * until sh_fake_free, unless stated otherwise (sh_fake_log: until the next log line or
 * sh_fake_log_clear). Strings and tables given to sh_fake_* are copied, except service tables
 * (borrowed: they must outlive the fake host) and json_object arguments marked "takes".
 *
 * Threading: none. The test's thread plays the loop thread: call everything from one thread.
 * Work functions given to host->work() run on that thread too (inside sh_fake_run), so the fake
 * host cannot catch a work function that touches loop-owned data; keep to the rule anyway.
 * Several fake hosts may exist at once, except that the built-in auth service
 * (sh_fake_auth_add) serves only the most recent fake host that installed it.
 */
#ifndef STREAMHUB_FAKEHOST_H
#define STREAMHUB_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <streamhub/streamhub.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sh_fake sh_fake;

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* A fake host for the plugin whose entry function is `entry` (pass the plugin's sh_plugin_entry,
 * linked into the test). NULL if entry is NULL, returns no descriptor, or memory runs out. */
sh_fake *sh_fake_new(sh_plugin_entry_fn entry);
/* Stop (and drain) and fini the plugin if that was not done, drop whatever is still queued
 * (those callbacks never run), free everything. NULL is fine. */
void sh_fake_free(sh_fake *fh);
/* Check the descriptor as the loader does (ABI major/minor, size, name, init), apply defaults,
 * check required settings and required services, then call init. SH_OK, or the error (the
 * reason is in the log). Once only. */
int sh_fake_init(sh_fake *fh);
/* Call start (if any). The plugin must be initialised. */
int sh_fake_start(sh_fake *fh);
/* Call stop (if started), then drain: sh_fake_run until idle, as the host does before fini. */
void sh_fake_stop(sh_fake *fh);
/* Call fini (if initialised); calls sh_fake_stop first if the plugin is still started. */
void sh_fake_fini(sh_fake *fh);
/* The table handed to the plugin, and the plugin's handle: to call host functions from a test
 * as if it were the plugin. Both live until sh_fake_free. */
const sh_host_api *sh_fake_api(sh_fake *fh);
sh_plugin *sh_fake_plugin(sh_fake *fh);
/* Pretend to be an older host: host->size becomes `size` (so SH_HOST_HAS is false for later
 * functions). Before init. */
void sh_fake_set_api_size(sh_fake *fh, size_t size);
/* Contract violations so far (each one is also an ERROR line with "[contract]" in the log). */
int sh_fake_violations(const sh_fake *fh);

/* ---- config ------------------------------------------------------------------------------- */

/* Set a setting of the plugin's section, written as in YAML ("10", "true", "abc"; a STRLIST as
 * "a,b,c"), before init. Parsed and bounded as the host does: SH_ERR_NOTFOUND for a name the
 * plugin did not declare, SH_ERR_INVALID for a bad value (the reason is in the log),
 * SH_ERR_STATE after init. Unset settings take their declared default. */
int sh_fake_set_config(sh_fake *fh, const char *name, const char *value);

/* ---- log ---------------------------------------------------------------------------------- */

/* Everything logged so far, one line each: "LEVEL plugin: message\n" (LEVEL is DEBUG, INFO, WARN
 * or ERROR). Never NULL. Valid until the next line is logged or sh_fake_log_clear. */
const char *sh_fake_log(const sh_fake *fh);
/* 1 if some line contains `needle`. */
int sh_fake_log_has(const sh_fake *fh, const char *needle);
void sh_fake_log_clear(sh_fake *fh);
/* Also print each line to stderr (default: on when the environment has SH_FAKE_LOG set). */
void sh_fake_log_echo(sh_fake *fh, int on);

/* ---- registrations ------------------------------------------------------------------------ */

/* What the plugin registered, one line each, as `streamhub --list-plugins` prints them:
 * "route GET /api/x", "route POST /api/y (auth)", "migration 001_users", "subscription stream.*",
 * "service hello 1.0". */
size_t sh_fake_registration_count(const sh_fake *fh);
const char *sh_fake_registration(const sh_fake *fh, size_t i); /* NULL past the end */
/* 1 if a registration line equals `line`. */
int sh_fake_registered(const sh_fake *fh, const char *line);

/* ---- HTTP --------------------------------------------------------------------------------- */

/* One answer. Everything is owned by the fake host and lives until sh_fake_free; the fields
 * fill in when the plugin answers (status stays 0 while the request is unanswered). */
typedef struct sh_fake_response {
    int status;               /* 0 = not answered yet */
    const char *content_type; /* NULL if none */
    const char *body;         /* the bytes, NUL-terminated; "" when there is no body */
    size_t body_len;
    json_object *json; /* the body parsed as JSON; NULL if none or not JSON */
    size_t nheaders;   /* headers set with resp_header (and Allow on a 405) */
    char **header_names;
    char **header_values;
    int answers; /* how often the plugin answered (more than 1 is a bug) */
} sh_fake_response;

/* A request in full. Unset fields take their defaults. */
typedef struct sh_fake_req {
    const char *method;         /* "GET" */
    const char *path;           /* "/api/x?a=1" (raw: percent-encoded; a query is allowed) */
    const void *body;           /* NULL = none */
    size_t body_len;            /* 0 with a body = strlen(body) */
    const char *bearer;         /* sent as "Authorization: Bearer <bearer>"; NULL = none */
    const char *const *headers; /* extra headers: name, value, name, value, ..., NULL */
    const char *remote_addr;    /* "127.0.0.1" */
    int no_run;                 /* 1: do not call sh_fake_run after the handler returned */
} sh_fake_req;

/* Send a request: route it (404 not_found, 405 method_not_allowed + Allow, 400 bad_path), check
 * the bearer token on SH_ROUTE_AUTH / SH_ROUTE_AUTH_OPT routes through the `auth` service (401
 * unauthorized / invalid_token, 503 auth_unavailable), call the handler, then sh_fake_run until
 * idle (so database answers, work and bus deliveries happen). `body` is raw text (usually JSON;
 * with a body, Content-Type is application/json), NULL for none. Never NULL (the response may be
 * unanswered: status 0, e.g. when the plugin waits for a timer). */
const sh_fake_response *sh_fake_request(sh_fake *fh, const char *method, const char *path, const char *body,
                                        const char *bearer);
const sh_fake_response *sh_fake_request_ex(sh_fake *fh, const sh_fake_req *req);
/* A response header (case-insensitive), NULL if not set. */
const char *sh_fake_response_header(const sh_fake_response *r, const char *name);
/* From an error answer {"error":{"code","message","field"}}: the code / the field, else NULL. */
const char *sh_fake_response_error(const sh_fake_response *r);
const char *sh_fake_response_field(const sh_fake_response *r);

/* ---- services and auth -------------------------------------------------------------------- */

/* Provide a service as if another plugin did (before init, so that `requires` are met).
 * `table` is borrowed: it must outlive the fake host. SH_ERR_EXISTS if name@major exists. */
int sh_fake_service_add(sh_fake *fh, const char *name, int major, int minor, const void *table);
/* The table the plugin (or the test) provides as name@major, NULL if none. */
const void *sh_fake_service(const sh_fake *fh, const char *name, int major);
/* A user the built-in `auth` 1.0 service knows: `token` verifies as user_id/username, and
 * user_by_id / user_by_name find it. The built-in service is installed on first use (unless the
 * test already provided `auth` 1.x) and serves the most recent fake host that installed it.
 * Unknown tokens, keys and users answer SH_ERR_INVALID. */
int sh_fake_auth_add(sh_fake *fh, const char *token, int64_t user_id, const char *username);

/* ---- database ----------------------------------------------------------------------------- */

/* One scripted answer to one statement. Everything is copied. */
typedef struct sh_fake_db_answer {
    int status;           /* SH_OK, SH_ERR (statement failed) or SH_ERR_UNAVAILABLE */
    const char *error;    /* the message for db_error; NULL = a generic one on failure */
    const char *sqlstate; /* e.g. "23505"; NULL = "" */
    int ncols;
    const char *const *cols; /* ncols column names */
    int nrows;
    const char *const *values; /* nrows * ncols, row after row; NULL entries are SQL NULL */
    int64_t affected;          /* db_affected; 0 with rows reads as nrows (like "SELECT n") */
} sh_fake_db_answer;

/* A callback that answers statements: fills `out` (zeroed = SH_OK, no rows) for `sql` and its
 * params; whatever `out` points to must stay valid until the callback returns (it is copied).
 * Called when the answer is delivered (in sh_fake_run), in query order. */
typedef void (*sh_fake_db_fn)(void *ud, const char *sql, int nparams, const char *const *params,
                              sh_fake_db_answer *out);

/* Answers are taken, one per statement, first from the scripted FIFO (sh_fake_db_push*), then
 * from the handler; with neither, or while the database is set unavailable, a statement fails
 * with SH_ERR_UNAVAILABLE. A db_tx consumes one answer per statement and stops at the first
 * failing one (its callback gets that result, else the last statement's). */
int sh_fake_db_push(sh_fake *fh, const sh_fake_db_answer *a);
int sh_fake_db_push_value(sh_fake *fh, const char *col, const char *value); /* one row, one column */
int sh_fake_db_push_error(sh_fake *fh, int status, const char *sqlstate, const char *message);
void sh_fake_db_set_handler(sh_fake *fh, sh_fake_db_fn fn, void *ud);
/* Up (default) or down: down, db_available answers 0 and every statement fails unavailable. */
void sh_fake_db_set_available(sh_fake *fh, int up);
/* Every statement the plugin sent (db_tx statements one by one), in order. */
size_t sh_fake_db_query_count(const sh_fake *fh);
const char *sh_fake_db_query_sql(const sh_fake *fh, size_t i); /* NULL past the end */
int sh_fake_db_query_nparams(const sh_fake *fh, size_t i);
const char *sh_fake_db_query_param(const sh_fake *fh, size_t i, int j); /* NULL: SQL NULL or out of range */
/* Migrations registered, sorted by id as the host applies them. */
size_t sh_fake_migration_count(const sh_fake *fh);
const char *sh_fake_migration_id(const sh_fake *fh, size_t i);
const char *sh_fake_migration_sql(const sh_fake *fh, size_t i);

/* ---- event bus ---------------------------------------------------------------------------- */

/* Publish as another plugin would (takes `payload`; NULL = {}). Delivered by sh_fake_run. */
int sh_fake_publish(sh_fake *fh, const char *topic, json_object *payload);
/* Every event published (by the plugin or the test), in order; payloads borrowed. */
size_t sh_fake_published_count(const sh_fake *fh);
const char *sh_fake_published_topic(const sh_fake *fh, size_t i);
json_object *sh_fake_published_payload(const sh_fake *fh, size_t i);
unsigned sh_fake_published_flags(const sh_fake *fh, size_t i);

/* ---- Socket.IO (SDK 1.1) ------------------------------------------------------------------ */

/* The fake clients' side of the plugin's namespaces. A socket (sh_socket, the SDK's handle) is
 * owned by the fake host and stays readable by the test until sh_fake_free, also after it
 * disconnected; the plugin may use it only until its disconnect callbacks returned (later use
 * is a contract violation). Everything a socket was sent is recorded on it. */

/* One event sent by a fake client, and the plugin's acknowledgement if one was asked for. */
typedef struct sh_fake_ack {
    int handled;       /* a handler of the plugin ran for the event */
    int answered;      /* the plugin called sio_ack */
    int dropped;       /* ... after the socket had gone (the client never sees it) */
    json_object *args; /* the ack's arguments (always a JSON array); NULL until answered */
} sh_fake_ack;

/* Connect a client to namespace `nsp` ("/" always exists), as socket.io-client does with
 * `auth: {token}`: token NULL = anonymous; `auth_json` = other auth payload members as JSON
 * object text, or NULL. The token is checked through the `auth` service like the host does;
 * connect callbacks run, then sh_fake_run. Returns the socket, or NULL with the reason (the
 * CONNECT_ERROR message: "Invalid namespace", "invalid_token", "auth_unavailable") in
 * sh_fake_sio_error. The socket id is "fake-sock-N". */
sh_socket *sh_fake_sio_connect(sh_fake *fh, const char *nsp, const char *token, const char *auth_json);
const char *sh_fake_sio_error(const sh_fake *fh);
/* The client emits `event` with `args_json` (a JSON array of arguments as text; NULL = none),
 * asking for an acknowledgement when want_ack; then sh_fake_run. Never NULL. An event without a
 * handler (or on a disconnected socket) is ignored, as in the host: handled == 0. */
const sh_fake_ack *sh_fake_sio_send(sh_fake *fh, sh_socket *sock, const char *event, const char *args_json,
                                    int want_ack);
/* The same with the arguments as a JSON array (takes `args`; may contain binary values made by
 * the table's sio_binary_new). */
const sh_fake_ack *sh_fake_sio_send_args(sh_fake *fh, sh_socket *sock, const char *event, json_object *args,
                                         int want_ack);
/* The client disconnects (disconnect callbacks run with "client namespace disconnect"). */
void sh_fake_sio_close(sh_fake *fh, sh_socket *sock);
/* 1 while connected; 0 once disconnected by either side. */
int sh_fake_sio_connected(const sh_socket *sock);
/* What the client received, in order: count, and each event's name and arguments (a JSON
 * array; borrowed). Server emits, room and namespace emits land here; acks do not. */
size_t sh_fake_sio_received(const sh_socket *sock);
const char *sh_fake_sio_received_event(const sh_socket *sock, size_t i);
json_object *sh_fake_sio_received_args(const sh_socket *sock, size_t i);

/* ---- media pipeline (SDK 1.2) ------------------------------------------------------------- */

/* The test plays the source through the table itself (api->stream_open(sh_fake_plugin(fh), ...),
 * stream_add_track, stream_start, stream_push, stream_close): stages run as in the host, filters
 * first, packets shared by reference, "stream.started" / "stream.ended" published on the bus.
 * Live streams are closed with reason "shutdown" before the plugin's stop (sh_fake_stop). */
size_t sh_fake_streams_live(const sh_fake *fh);

/* ---- the loop, the clock, timers ---------------------------------------------------------- */

/* Deliver what is queued (database answers, bus events, work + done, Redis failures) in FIFO
 * order and fire timers that are due, until nothing is left. Returns how many callbacks ran. */
int sh_fake_run(sh_fake *fh);
/* Move the virtual clock forward by `ms`, firing due timers in time order (the clock reads each
 * timer's due time while it fires), with sh_fake_run after each. */
void sh_fake_advance(sh_fake *fh, uint64_t ms);
/* The virtual monotonic clock (starts at 1000000) and wall clock (starts at
 * 1700000000000 = 2023-11-14T22:13:20Z; both move with sh_fake_advance). */
uint64_t sh_fake_now(const sh_fake *fh);
void sh_fake_set_wall(sh_fake *fh, uint64_t wall_ms);
/* Timers added and not yet fired (one-shot) or cancelled. */
size_t sh_fake_timers_active(const sh_fake *fh);

/* ---- metrics and random bytes ------------------------------------------------------------- */

/* A metric's current value (counter, gauge; the sum for a histogram) and, for a histogram, its
 * count of observations. labels NULL = "". SH_OK, or SH_ERR_NOTFOUND. */
int sh_fake_metric(const sh_fake *fh, const char *name, const char *labels, double *value, uint64_t *count);
/* Restart random_bytes' deterministic stream (splitmix64) from `seed` (default 1). */
void sh_fake_seed(sh_fake *fh, uint64_t seed);

#ifdef __cplusplus
}
#endif
#endif
