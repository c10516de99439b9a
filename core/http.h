/*
 * http.h - the HTTP server on libevhtp: routing, limits, security headers, CORS, the API rate
 * limit, "needs auth" routes, the access log and static files (see docs/CONFIG.md).
 *
 * Requests reach plugin handlers as sh_request (SDK); the functions behind the SDK's req_* and
 * respond_* table entries live here. Limits are enforced on the raw bytes before libevhtp's
 * parser sees them: a request head (request line + headers) is only handed over once complete,
 * within max_uri_bytes / max_header_bytes / max_headers and a head deadline (slowloris), and a
 * Content-Length over max_body_bytes is answered 413 before the body is read.
 *
 * Thread: loop only.
 */
#ifndef SH_CORE_HTTP_H
#define SH_CORE_HTTP_H

#include <stdint.h>
#include <streamhub/streamhub.h>

#include "core/host.h"

/* Create the server (routes may be added until sh_http_listen). */
sh_http *sh_http_new(sh_host *h, char *err, size_t errlen);
/* Bind and listen. The bound port is stored (useful with http_port 0). */
int sh_http_listen(sh_http *http, char *err, size_t errlen);
int sh_http_port(const sh_http *http);
/* Stop accepting new connections (drain). */
void sh_http_stop_accepting(sh_http *http);
void sh_http_free(sh_http *http);
/* Number of requests being handled (not yet answered). */
unsigned sh_http_inflight(const sh_http *http);
/* Bytes of answers queued but not yet written to clients (shutdown waits for them). */
size_t sh_http_pending_output(const sh_http *http);

/* Register a route for plugin p (NULL = the core). */
int sh_http_route(sh_http *http, sh_plugin *p, const char *method, const char *pattern, unsigned flags,
                  sh_http_handler handler, void *ud);
/* Visit routes: for --list-plugins. */
typedef void (*sh_http_route_visit)(sh_plugin *owner, const char *method, const char *pattern, unsigned flags,
                                    void *ud);
void sh_http_routes_each(const sh_http *http, sh_http_route_visit v, void *ud);

/* SDK request/response functions. */
const char *sh_req_method(sh_request *r);
const char *sh_req_path(sh_request *r);
const char *sh_req_param(sh_request *r, const char *name);
const char *sh_req_query(sh_request *r, const char *name);
const char *sh_req_header(sh_request *r, const char *name);
const void *sh_req_body(sh_request *r, size_t *len);
const char *sh_req_remote_addr(sh_request *r);
json_object *sh_req_json(sh_request *r);
int64_t sh_req_user_id(sh_request *r);
const char *sh_req_username(sh_request *r);
const char *sh_req_token(sh_request *r);
void sh_resp_header(sh_request *r, const char *name, const char *value);
void sh_respond_json(sh_request *r, int status, json_object *body);
void sh_respond_error(sh_request *r, int status, const char *code, const char *message, const char *field);
void sh_respond_bytes(sh_request *r, int status, const char *content_type, const void *data, size_t len);
void sh_respond_file(sh_request *r, int status, const char *content_type, int fd, uint64_t offset, uint64_t len,
                     void (*release)(void *ud), void *ud);
void sh_respond_ref(sh_request *r, int status, const char *content_type, const void *data, size_t len,
                    void (*release)(void *ud), void *ud);
void sh_respond_db_error(sh_request *r, const sh_db_result *res);

/* For the realtime layer (Socket.IO): hand the connection over after an upgrade. Returns the
 * bufferevent, now owned by the caller; the request is finished. NULL if it cannot. */
struct bufferevent *sh_req_take_connection(sh_request *r);

/* Static files (http_static.c): answer from web_root, with the SPA fallback. 1 if answered. */
int sh_http_static(sh_host *h, sh_request *r);

#endif
