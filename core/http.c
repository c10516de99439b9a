/*
 * http.c - the HTTP server (see http.h).
 *
 * Flow of one request:
 *   bytes -> guard_read (limits on the raw head, head deadline) -> libevhtp parser ->
 *   on_request: CORS preflight, routing (404/405), then for /api the rate limit, then for
 *   auth routes the token check through the `auth` service, then the plugin's handler. Each
 *   step may complete later (Redis, auth); the evhtp request is paused meanwhile. The handler
 *   answers through respond_*, which adds the security headers, logs the access line and
 *   sends. If the client vanished meanwhile, the answer is dropped and the sh_request freed.
 */
#include "core/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <evhtp/evhtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/http_router.h"
#include "core/json_valid.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"

typedef struct route_rec {
    sh_plugin *owner;
    unsigned flags;
    sh_http_handler handler;
    void *ud;
    char *method, *pattern;
} route_rec;

struct sh_http {
    sh_host *host;
    evhtp_t *htp;
    sh_router *router;
    route_rec **routes;
    size_t nroutes;
    int port;
    unsigned inflight;
    size_t max_uri, max_header, max_headers, max_body;
    uint64_t head_timeout_ms;
    int access_log, trust_proxy, exempt_loopback;
    int64_t api_limit, api_window_ms;
    const char *const *cors;
    size_t ncors;
    sh_metric *m_status[6];
    sh_metric *m_duration;
    struct conn_guard *conns; /* open connections */
    sh_request *cur; /* the request whose evhtp callback is running */
    int cur_answered;
};

typedef struct qcache {
    char *name, *value;
    struct qcache *next;
} qcache;

struct sh_request {
    sh_http *http;
    evhtp_request_t *ev; /* NULL once the client is gone */
    const route_rec *route;
    sh_route_match match;
    char method[16];
    char *path;
    char remote[INET6_ADDRSTRLEN];
    int paused, is_api, is_head;
    json_object *json;
    int64_t user_id;
    char *username, *token;
    qcache *q;
    uint64_t start_ms;
    const char *origin_ok; /* the allowed Origin, echoed */
};

/* ---- connection guard: limits on the raw request head ----------------------------------- */
typedef struct conn_guard {
    sh_http *http;
    evhtp_connection_t *c;
    bufferevent_data_cb orig_read;
    void *orig_arg;
    int in_head;
    int in_body; /* head accepted, request not dispatched yet: the body has its own deadline */
    struct event *deadline, *kick;
    struct conn_guard *prev, *next; /* every open connection, to close them at shutdown */
} conn_guard;

static const char *status_text(int s) {
    switch (s) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static void guard_close_cb(struct bufferevent *bev, void *arg) {
    conn_guard *g = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) evhtp_connection_free(g->c);
}

static void guard_event_cb(struct bufferevent *bev, short what, void *arg) {
    (void)bev;
    (void)what;
    conn_guard *g = arg;
    evhtp_connection_free(g->c);
}

/* Answer a limit violation with a complete response and close once it is written. */
static void guard_reject(conn_guard *g, int status, const char *code, const char *message) {
    struct bufferevent *bev = evhtp_connection_get_bev(g->c);
    char body[256];
    int blen = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code, message);
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                        "Connection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                        "Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n\r\n%s",
                        status, status_text(status), blen, body);
    if (g->http->access_log) SH_LOG_I("http", "- - %d (refused before parsing: %s)", status, code);
    sh_metric_add(g->http->m_status[status / 100], 1);
    g->in_head = 0;
    if (g->deadline) event_del(g->deadline);
    bufferevent_disable(bev, EV_READ);
    bufferevent_setcb(bev, NULL, guard_close_cb, guard_event_cb, g);
    bufferevent_enable(bev, EV_WRITE);
}

/* Check the head held in `in`. Returns 1 = complete and fine, 0 = need more, -1 = rejected. */
static int guard_check(conn_guard *g, struct evbuffer *in) {
    sh_http *http = g->http;
    size_t len = evbuffer_get_length(in);
    size_t limit = http->max_uri + 32 + (http->max_header + 2) * http->max_headers;
    size_t look = len < limit + 4 ? len : limit + 4;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)look);
    if (!p) return 0;
    size_t i = 0;
    /* request line (tolerate leading CRLFs between pipelined requests) */
    while (i < look && (p[i] == '\r' || p[i] == '\n')) i++;
    const char *nl = memchr(p + i, '\n', look - i);
    size_t line_len = nl ? (size_t)(nl - (p + i)) : look - i;
    if (line_len > http->max_uri + 32) {
        guard_reject(g, 414, "uri_too_long", "The request URI is too long.");
        return -1;
    }
    if (!nl) return 0;
    {
        /* "METHOD SP target SP HTTP/1.x": anything else would be dropped by libevhtp unanswered */
        const char *rl = p + i;
        size_t m = 0, ll = line_len && rl[line_len - 1] == '\r' ? line_len - 1 : line_len;
        while (m < ll && rl[m] >= 'A' && rl[m] <= 'Z') m++;
        const char *sp2 = m && m < ll && rl[m] == ' ' ? memchr(rl + m + 1, ' ', ll - m - 1) : NULL;
        if (!sp2 || sp2 == rl + m + 1 || (size_t)(rl + ll - (sp2 + 1)) != 8 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
            guard_reject(g, 400, "bad_request", "Malformed request line.");
            return -1;
        }
    }
    i += line_len + 1;
    size_t nheaders = 0;
    int64_t content_length = -1;
    int n_cl = 0, has_te = 0, te_chunked_only = 1;
    for (;;) {
        if (i >= look) {
            if (len > limit) {
                guard_reject(g, 431, "headers_too_large", "The request headers are too large.");
                return -1;
            }
            return 0;
        }
        nl = memchr(p + i, '\n', look - i);
        size_t hl = nl ? (size_t)(nl - (p + i)) : look - i;
        if (hl > http->max_header) {
            guard_reject(g, 431, "headers_too_large", "A request header is too large.");
            return -1;
        }
        if (!nl) return 0;
        if (hl == 0 || (hl == 1 && p[i] == '\r')) break; /* end of head */
        if (++nheaders > http->max_headers) {
            guard_reject(g, 431, "headers_too_large", "Too many request headers.");
            return -1;
        }
        /* heads that let a proxy and us disagree about where a request ends are refused:
         * whitespace before the colon, two Content-Lengths, Content-Length with
         * Transfer-Encoding, a transfer coding other than chunked */
        const char *colon = memchr(p + i, ':', hl);
        if (!colon || colon == p + i || colon[-1] == ' ' || colon[-1] == '\t') {
            guard_reject(g, 400, "bad_request", "Malformed request header.");
            return -1;
        }
        if (hl > 18 && strncasecmp(p + i, "transfer-encoding:", 18) == 0) {
            has_te = 1;
            const char *v = p + i + 18, *end = p + i + hl;
            while (v < end && (*v == ' ' || *v == '\t')) v++;
            while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
            if ((size_t)(end - v) != 7 || strncasecmp(v, "chunked", 7) != 0) te_chunked_only = 0;
        }
        if (hl > 15 && strncasecmp(p + i, "content-length:", 15) == 0) {
            n_cl++;
            char num[32];
            size_t nlen = hl - 15 < sizeof num - 1 ? hl - 15 : sizeof num - 1;
            memcpy(num, p + i + 15, nlen);
            num[nlen] = '\0';
            char *end, *q = num;
            while (*q == ' ' || *q == '\t') q++;
            errno = 0;
            long long v = strtoll(q, &end, 10);
            while (*end == ' ' || *end == '\t' || *end == '\r') end++;
            if (q[0] < '0' || q[0] > '9' || *end) {
                guard_reject(g, 400, "bad_request", "Malformed Content-Length.");
                return -1;
            }
            content_length = errno ? INT64_MAX : v;
        }
        i += hl + 1;
    }
    if (n_cl > 1 || (n_cl && has_te) || (has_te && !te_chunked_only)) {
        guard_reject(g, 400, "bad_request", "Conflicting or unsupported message framing.");
        return -1;
    }
    if (content_length > (int64_t)http->max_body) {
        guard_reject(g, 413, "payload_too_large", "The request body is too large.");
        return -1;
    }
    return 1;
}

static conn_guard *guard_of(evhtp_connection_t *c) {
    evhtp_hooks_t *hooks = evhtp_connection_get_hooks(c);
    return hooks ? hooks->on_connection_fini_arg : NULL;
}

static void guard_read_g(struct bufferevent *bev, conn_guard *g) {
    if (g->in_head) {
        int r = guard_check(g, bufferevent_get_input(bev));
        if (r <= 0) return;
        g->in_head = 0;
        g->in_body = 1; /* the body gets a deadline of its own (a trickled body is a slowloris too) */
        struct timeval tv = {(time_t)(g->http->head_timeout_ms / 1000),
                             (suseconds_t)(g->http->head_timeout_ms % 1000) * 1000};
        event_add(g->deadline, &tv);
    }
    g->orig_read(bev, g->orig_arg); /* may free the connection, and g with it */
}

static void guard_read(struct bufferevent *bev, void *arg) {
    conn_guard *g = guard_of(arg);
    if (g)
        guard_read_g(bev, g);
}

static void guard_deadline(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn_guard *g = arg;
    if (!g->in_head && !g->in_body) return;
    struct bufferevent *bev = evhtp_connection_get_bev(g->c);
    if (g->in_body) {
        g->in_body = 0;
        guard_reject(g, 408, "request_timeout", "The request body did not arrive in time.");
        return;
    }
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
        guard_reject(g, 408, "request_timeout", "The request head did not arrive in time.");
    else
        evhtp_connection_free(g->c);
}

static void guard_kick(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    conn_guard *g = arg;
    struct bufferevent *bev = evhtp_connection_get_bev(g->c);
    if (bev && evbuffer_get_length(bufferevent_get_input(bev)) > 0) guard_read_g(bev, g);
}

static evhtp_res guard_conn_fini(evhtp_connection_t *c, void *arg) {
    (void)c;
    conn_guard *g = arg;
    if (g->prev) g->prev->next = g->next;
    else g->http->conns = g->next;
    if (g->next) g->next->prev = g->prev;
    event_free(g->deadline);
    event_free(g->kick);
    free(g);
    return EVHTP_RES_OK;
}

static void guard_arm(conn_guard *g) {
    g->in_head = 1;
    struct timeval tv = {(time_t)(g->http->head_timeout_ms / 1000), (suseconds_t)(g->http->head_timeout_ms % 1000) * 1000};
    event_add(g->deadline, &tv);
}

static evhtp_res on_post_accept(evhtp_connection_t *c, void *arg) {
    sh_http *http = arg;
    conn_guard *g = calloc(1, sizeof *g);
    if (!g) return EVHTP_RES_ERROR;
    g->http = http;
    g->c = c;
    struct bufferevent *bev = evhtp_connection_get_bev(c);
    bufferevent_event_cb ecb;
    bufferevent_data_cb wcb;
    bufferevent_getcb(bev, &g->orig_read, &wcb, &ecb, &g->orig_arg);
    g->deadline = evtimer_new(http->host->base, guard_deadline, g);
    g->kick = event_new(http->host->base, -1, 0, guard_kick, g);
    if (!g->deadline || !g->kick || !g->orig_read) {
        if (g->deadline) event_free(g->deadline);
        if (g->kick) event_free(g->kick);
        free(g);
        return EVHTP_RES_ERROR;
    }
    /* libevent gives one arg to all three callbacks and libevhtp's take the connection, so ours
     * gets the connection too and finds g through the connection's fini hook argument. */
    evhtp_connection_set_hook(c, evhtp_hook_on_connection_fini, (evhtp_hook)guard_conn_fini, g);
    bufferevent_setcb(bev, guard_read, wcb, ecb, g->orig_arg);
    /* libevent writes at most 16 KiB per callback by default: a 600 KB segment took 36 writes */
    bufferevent_set_max_single_write(bev, 1 << 20);
    g->next = http->conns;
    if (http->conns) http->conns->prev = g;
    http->conns = g;
    guard_arm(g);
    return EVHTP_RES_OK;
}

/* ---- requests ------------------------------------------------------------------------------ */
static void request_free(sh_request *r) {
    sh_route_match_clear(&r->match);
    if (r->json) json_object_put(r->json);
    for (qcache *q = r->q, *n; q; q = n) {
        n = q->next;
        free(q->name);
        free(q->value);
        free(q);
    }
    free(r->path);
    free(r->username);
    free(r->token);
    free(r);
}

static evhtp_res on_request_fini(evhtp_request_t *ev, void *arg) {
    (void)ev;
    sh_request *r = arg;
    r->ev = NULL; /* the client is gone: the answer, when it comes, is dropped */
    return EVHTP_RES_OK;
}

static void add_header(sh_request *r, const char *k, const char *v) {
    evhtp_headers_add_header(r->ev->headers_out, evhtp_header_new(k, v, 1, 1));
}

static int has_out_header(sh_request *r, const char *k) { return evhtp_header_find(r->ev->headers_out, k) != NULL; }

/* Common headers, access log, metrics; send; free. `body_len` is for the log. */
static void finish(sh_request *r, int status, size_t body_len) {
    sh_http *http = r->http;
    if (r->ev) {
        add_header(r, "X-Content-Type-Options", "nosniff");
        add_header(r, "Referrer-Policy", "no-referrer");
        if (!has_out_header(r, "X-Frame-Options")) add_header(r, "X-Frame-Options", "DENY");
        if (r->is_api && !has_out_header(r, "Cache-Control")) add_header(r, "Cache-Control", "no-store");
        evhtp_connection_t *conn = r->ev->conn;
        if (conn && http->htp && http->htp->max_keepalive_requests &&
            conn->num_requests + 1 >= http->htp->max_keepalive_requests && !has_out_header(r, "Connection"))
            add_header(r, "Connection", "close"); /* libevhtp closes after this one: say so */
        if (r->origin_ok && !has_out_header(r, "Access-Control-Allow-Origin")) {
            add_header(r, "Access-Control-Allow-Origin", r->origin_ok);
            add_header(r, "Access-Control-Allow-Credentials", "true");
            add_header(r, "Vary", "Origin");
        }
        if (r->is_head) {
            char cl[32];
            snprintf(cl, sizeof cl, "%zu", evbuffer_get_length(r->ev->buffer_out));
            if (!has_out_header(r, "Content-Length")) add_header(r, "Content-Length", cl);
            evbuffer_drain(r->ev->buffer_out, evbuffer_get_length(r->ev->buffer_out));
        }
        evhtp_request_unset_hook(r->ev, evhtp_hook_on_request_fini);
        evhtp_send_reply(r->ev, (evhtp_res)status);
        if (r->paused) evhtp_request_resume(r->ev);
    }
    if (http->cur == r) http->cur_answered = 1;
    uint64_t ms = sh_now_ms() - r->start_ms;
    if (http->access_log)
        SH_LOG_I("http", "%s %s %s %d %zu %llums%s", r->remote, r->method, r->path ? r->path : "-", status, body_len,
                 (unsigned long long)ms, r->ev ? "" : " (client gone)");
    sh_metric_add(http->m_status[status / 100 < 6 ? status / 100 : 5], 1);
    sh_metric_observe(http->m_duration, (double)ms / 1000.0);
    http->inflight--;
    request_free(r);
}

void sh_respond_bytes(sh_request *r, int status, const char *content_type, const void *data, size_t len) {
    if (r->ev) {
        if (content_type) add_header(r, "Content-Type", content_type);
        if (len) evbuffer_add(r->ev->buffer_out, data, len);
    }
    finish(r, status, len);
}

typedef struct ref_release {
    void (*release)(void *);
    void *ud;
} ref_release;

static void ref_cleanup(const void *data, size_t len, void *extra) {
    (void)data;
    (void)len;
    ref_release *rr = extra;
    rr->release(rr->ud);
    free(rr);
}

void sh_respond_ref(sh_request *r, int status, const char *content_type, const void *data, size_t len,
                    void (*release)(void *ud), void *ud) {
    ref_release *rr = release ? malloc(sizeof *rr) : NULL;
    if (rr) {
        rr->release = release;
        rr->ud = ud;
    }
    if (r->ev && len && !r->is_head) {
        if (content_type) add_header(r, "Content-Type", content_type);
        if (evbuffer_add_reference(r->ev->buffer_out, data, len, rr ? ref_cleanup : NULL, rr) == 0) {
            finish(r, status, len);
            return;
        }
    }
    if (r->ev && r->is_head) {
        char cl[32];
        snprintf(cl, sizeof cl, "%zu", len);
        if (content_type) add_header(r, "Content-Type", content_type);
        add_header(r, "Content-Length", cl);
    }
    if (rr) ref_cleanup(data, len, rr);
    finish(r, status, len);
}

typedef struct file_release {
    void (*release)(void *);
    void *ud;
} file_release;

static void file_cleanup(struct evbuffer_file_segment const *seg, int flags, void *arg) {
    (void)seg;
    (void)flags;
    file_release *fr = arg;
    fr->release(fr->ud);
    free(fr);
}

/* The body is a range of a file, sent with sendfile(2) (no copy through user space) where libevent
 * can, else mapped or read. libevent picks sendfile only for a segment added to a buffer flagged
 * EVBUFFER_FLAG_DRAINS_TO_FD, and keeps that mode when libevhtp moves the chain into the
 * connection's output; the segment holds no copy of the fd: release runs once the last byte left
 * (or the connection is gone), and only then may the plugin close it. */
void sh_respond_file(sh_request *r, int status, const char *content_type, int fd, uint64_t offset, uint64_t len,
                     void (*release)(void *ud), void *ud) {
    file_release *fr = release ? malloc(sizeof *fr) : NULL;
    if (release && !fr) {
        release(ud);
        sh_respond_error(r, 500, "internal", "Out of memory.", NULL);
        return;
    }
    if (fr) *fr = (file_release){release, ud};
    if (r->ev && len && !r->is_head && fd >= 0 && offset <= INT64_MAX && len <= INT64_MAX - offset) {
        struct evbuffer_file_segment *seg = evbuffer_file_segment_new(fd, (ev_off_t)offset, (ev_off_t)len, 0);
        if (seg) {
            if (fr) evbuffer_file_segment_add_cleanup_cb(seg, file_cleanup, fr);
            evbuffer_set_flags(r->ev->buffer_out, EVBUFFER_FLAG_DRAINS_TO_FD);
            int rc = evbuffer_add_file_segment(r->ev->buffer_out, seg, 0, (ev_off_t)len);
            evbuffer_file_segment_free(seg); /* the buffer's chain holds its own reference */
            if (rc == 0) {
                if (content_type) add_header(r, "Content-Type", content_type);
                finish(r, status, (size_t)len);
            } else { /* the cleanup ran when the segment was freed */
                sh_respond_error(r, 500, "internal", "Cannot send the file.", NULL);
            }
            return;
        }
    }
    if (r->ev && r->is_head) {
        char cl[32];
        snprintf(cl, sizeof cl, "%llu", (unsigned long long)len);
        if (content_type) add_header(r, "Content-Type", content_type);
        add_header(r, "Content-Length", cl);
    }
    if (fr) file_cleanup(NULL, 0, fr);
    if (r->ev && !r->is_head && len && fd >= 0)
        sh_respond_error(r, 500, "internal", "Cannot send the file.", NULL);
    else
        finish(r, status, (size_t)len);
}

void sh_respond_json(sh_request *r, int status, json_object *body) {
    if (!body) {
        finish(r, status, 0);
        return;
    }
    size_t len;
    const char *s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    sh_respond_bytes(r, status, "application/json; charset=utf-8", s, len);
    json_object_put(body);
}

void sh_respond_error(sh_request *r, int status, const char *code, const char *message, const char *field) {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code ? code : "error"));
    json_object_object_add(e, "message", json_object_new_string(message ? message : status_text(status)));
    if (field) json_object_object_add(e, "field", json_object_new_string(field));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", e);
    sh_respond_json(r, status, o);
}

void sh_respond_db_error(sh_request *r, const sh_db_result *res) {
    if (!res || r->http->host->api.db_status(res) == SH_ERR_UNAVAILABLE)
        sh_respond_error(r, 503, "database_unavailable", "The database is unavailable; try again shortly.", NULL);
    else
        sh_respond_error(r, 500, "internal", "Internal error.", NULL);
}

void sh_resp_header(sh_request *r, const char *name, const char *value) {
    if (r->ev && name && value) add_header(r, name, value);
}

const char *sh_req_method(sh_request *r) { return r->method; }
const char *sh_req_path(sh_request *r) { return r->path; }
const char *sh_req_remote_addr(sh_request *r) { return r->remote; }
int64_t sh_req_user_id(sh_request *r) { return r->user_id; }
const char *sh_req_username(sh_request *r) { return r->username; }
const char *sh_req_token(sh_request *r) { return r->token; }

const char *sh_req_param(sh_request *r, const char *name) {
    for (size_t i = 0; i < r->match.nparams; i++)
        if (strcmp(r->match.names[i], name) == 0) return r->match.values[i];
    return NULL;
}

const char *sh_req_header(sh_request *r, const char *name) {
    return r->ev ? evhtp_header_find(r->ev->headers_in, name) : NULL;
}

const char *sh_req_query(sh_request *r, const char *name) {
    for (qcache *q = r->q; q; q = q->next)
        if (strcmp(q->name, name) == 0) return q->value;
    if (!r->ev || !r->ev->uri || !r->ev->uri->query) return NULL;
    const char *raw = evhtp_kv_find(r->ev->uri->query, name);
    if (!raw) return NULL;
    char *tmp = strdup(raw);
    if (!tmp) return NULL;
    for (char *p = tmp; *p; p++)
        if (*p == '+') *p = ' ';
    char *dec = sh_url_decode(tmp, strlen(tmp));
    free(tmp);
    if (!dec) return NULL;
    qcache *q = calloc(1, sizeof *q);
    if (!q) {
        free(dec);
        return NULL;
    }
    q->name = strdup(name);
    q->value = dec;
    q->next = r->q;
    r->q = q;
    return dec;
}

const void *sh_req_body(sh_request *r, size_t *len) {
    if (!r->ev) {
        *len = 0;
        return "";
    }
    *len = evbuffer_get_length(r->ev->buffer_in);
    return *len ? evbuffer_pullup(r->ev->buffer_in, -1) : (const void *)"";
}

json_object *sh_req_json(sh_request *r) {
    if (r->json) return r->json;
    size_t len;
    const char *body = sh_req_body(r, &len);
    char msg[128];
    if (sh_json_parse_object(body, len, &r->json, msg, sizeof msg) < 0) {
        sh_respond_error(r, 400, "invalid_json", msg, NULL);
        return NULL;
    }
    return r->json;
}

struct bufferevent *sh_req_take_connection(sh_request *r) {
    if (!r->ev) return NULL;
    evhtp_connection_t *c = evhtp_request_get_connection(r->ev);
    evhtp_request_unset_hook(r->ev, evhtp_hook_on_request_fini);
    conn_guard *g = guard_of(c);
    if (g) guard_conn_fini(c, g); /* take_ownership drops the fini hook that would free it */
    struct bufferevent *bev = evhtp_connection_take_ownership(c);
    r->ev = NULL;
    if (r->http->cur == r) r->http->cur_answered = 1;
    r->http->inflight--;
    request_free(r);
    return bev;
}

/* ---- dispatch ---------------------------------------------------------------------------- */
static void dispatch(sh_request *r) { r->route->handler(r, r->route->ud); }

static void on_auth(int status, const sh_identity *who, void *ud) {
    sh_request *r = ud;
    if (status == SH_OK && who && who->user_id > 0) {
        r->user_id = who->user_id;
        r->username = strdup(who->username ? who->username : "");
        dispatch(r);
    } else if (status == SH_ERR_UNAVAILABLE) {
        sh_respond_error(r, 503, "auth_unavailable", "Sign-in cannot be checked right now; try again shortly.", NULL);
    } else if (r->route->flags & SH_ROUTE_AUTH) {
        sh_respond_error(r, 401, "invalid_token", "The token is invalid or expired; sign in again.", NULL);
    } else {
        dispatch(r); /* optional auth: a bad token means anonymous */
    }
}

static void step_auth(sh_request *r) {
    unsigned flags = r->route->flags;
    if (!(flags & (SH_ROUTE_AUTH | SH_ROUTE_AUTH_OPT))) {
        dispatch(r);
        return;
    }
    const char *h = sh_req_header(r, "Authorization");
    if (h && strncasecmp(h, "Bearer ", 7) == 0 && h[7]) r->token = strdup(h + 7);
    const sh_auth_api *auth = sh_host_auth(r->http->host);
    if (!r->token) {
        if (flags & SH_ROUTE_AUTH)
            sh_respond_error(r, 401, "unauthorized", "Sign in first (Authorization: Bearer <token>).", NULL);
        else
            dispatch(r);
        return;
    }
    if (!auth) {
        sh_respond_error(r, 503, "auth_unavailable", "No auth plugin is loaded.", NULL);
        return;
    }
    auth->verify_token(r->token, on_auth, r);
}

static void on_rate(int allowed, uint64_t retry_after_ms, void *ud) {
    sh_request *r = ud;
    if (allowed) {
        step_auth(r);
        return;
    }
    char ra[32];
    snprintf(ra, sizeof ra, "%llu", (unsigned long long)((retry_after_ms + 999) / 1000));
    sh_resp_header(r, "Retry-After", ra);
    sh_respond_error(r, 429, "rate_limited", "Too many requests; slow down.", NULL);
}

static int is_loopback(const char *ip) { return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0; }

static const char *origin_allowed(sh_http *http, const char *origin) {
    for (size_t i = 0; origin && i < http->ncors; i++)
        if (strcmp(http->cors[i], "*") == 0 || strcasecmp(http->cors[i], origin) == 0) return origin;
    return NULL;
}

static void fill_remote(sh_request *r, evhtp_request_t *ev) {
    strcpy(r->remote, "-");
    struct sockaddr *sa = ev->conn ? ev->conn->saddr : NULL;
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, r->remote, sizeof r->remote);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, r->remote, sizeof r->remote);
    if (r->http->trust_proxy) {
        /* the rightmost entry is the one our proxy appended; the others are the client's word */
        const char *xff = evhtp_header_find(ev->headers_in, "X-Forwarded-For");
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ') last++;
            size_t l = strcspn(last, " ");
            if (l > 0 && l < sizeof r->remote) {
                memcpy(r->remote, last, l);
                r->remote[l] = '\0';
            }
        }
    }
}

static void on_request(evhtp_request_t *ev, void *arg) {
    sh_http *http = arg;
    evhtp_connection_t *c = evhtp_request_get_connection(ev);
    conn_guard *g = c ? guard_of(c) : NULL;
    if (g) {
        /* dispatched: the body deadline is over; the next request's head is checked again */
        g->in_body = 0;
        event_del(g->deadline);
        g->in_head = 1;
    }
    sh_request *r = calloc(1, sizeof *r);
    if (!r) {
        evhtp_send_reply(ev, EVHTP_RES_SERVERR);
        return;
    }
    r->http = http;
    r->ev = ev;
    r->start_ms = sh_now_ms();
    http->inflight++;
    http->cur = r;
    http->cur_answered = 0;
    snprintf(r->method, sizeof r->method, "%s", htparser_get_methodstr_m(evhtp_request_get_method(ev)));
    r->is_head = strcmp(r->method, "HEAD") == 0;
    fill_remote(r, ev);
    evhtp_request_set_hook(ev, evhtp_hook_on_request_fini, (evhtp_hook)on_request_fini, r);
    const char *raw = ev->uri && ev->uri->path && ev->uri->path->full ? ev->uri->path->full : "/";
    r->path = sh_url_decode(raw, strlen(raw));
    r->is_api = strncmp(raw, "/api/", 5) == 0 || strcmp(raw, "/api") == 0;
    r->origin_ok = origin_allowed(http, evhtp_header_find(ev->headers_in, "Origin"));
    if (!r->path) {
        r->path = strdup(raw);
        sh_respond_error(r, 400, "bad_path", "The request path is malformed.", NULL);
        goto out;
    }
    const char *origin = evhtp_header_find(ev->headers_in, "Origin");
    if (strcmp(r->method, "OPTIONS") == 0 && origin && evhtp_header_find(ev->headers_in, "Access-Control-Request-Method")) {
        if (!r->origin_ok) {
            sh_respond_error(r, 403, "origin_not_allowed", "This origin may not call the API.", NULL);
            goto out;
        }
        add_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        add_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        add_header(r, "Access-Control-Max-Age", "600");
        finish(r, 204, 0);
        goto out;
    }
    char allow[256];
    int m = sh_router_match(http->router, r->method, raw, &r->match, allow, sizeof allow);
    if (m == SH_ROUTE_FOUND) {
        r->route = r->match.route_ud;
        if (r->is_api && http->api_limit > 0 && !(http->exempt_loopback && is_loopback(r->remote))) {
            char key[96];
            snprintf(key, sizeof key, "api:%s", r->remote);
            sh_ratelimit_hit(http->host->rl, key, (int)http->api_limit, (uint64_t)http->api_window_ms, on_rate, r);
        } else {
            step_auth(r);
        }
    } else if (m == SH_ROUTE_METHOD) {
        add_header(r, "Allow", allow);
        sh_respond_error(r, 405, "method_not_allowed", "This method is not allowed here.", NULL);
    } else if (m == SH_ROUTE_BADPATH) {
        sh_respond_error(r, 400, "bad_path", "The request path is malformed.", NULL);
    } else if (!r->is_api && (strcmp(r->method, "GET") == 0 || r->is_head) && sh_http_static(http->host, r)) {
        /* answered */
    } else {
        sh_respond_error(r, 404, "not_found", "Nothing here.", NULL);
    }
out:
    /* r is freed if it was answered; if not, it is still in flight: pause the evhtp request. */
    if (http->cur == r && !http->cur_answered) {
        r->paused = 1;
        evhtp_request_pause(ev);
    }
    http->cur = NULL;
}

/* ---- server -------------------------------------------------------------------------------- */
sh_http *sh_http_new(sh_host *h, char *err, size_t errlen) {
    sh_http *http = calloc(1, sizeof *http);
    if (!http) return NULL;
    const sh_csection *s = &h->cfg->server;
    http->host = h;
    http->router = sh_router_new();
    http->max_uri = (size_t)sh_cfg_i(s, "max_uri_bytes");
    http->max_header = (size_t)sh_cfg_i(s, "max_header_bytes");
    http->max_headers = (size_t)sh_cfg_i(s, "max_headers");
    http->max_body = (size_t)sh_cfg_i(s, "max_body_bytes");
    http->head_timeout_ms = (uint64_t)sh_cfg_i(s, "read_timeout_ms");
    http->access_log = sh_cfg_b(s, "access_log");
    http->trust_proxy = sh_cfg_b(s, "trust_proxy");
    http->exempt_loopback = sh_cfg_b(s, "rate_limit_exempt_loopback");
    http->api_limit = sh_cfg_i(s, "api_rate_limit");
    http->api_window_ms = sh_cfg_i(s, "api_rate_window_ms");
    const sh_cvalue *cors = sh_csection_get(s, "cors_origins");
    http->cors = cors->list;
    http->ncors = cors->nlist;
    static const char *classes[] = {"1xx", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i < 6; i++) {
        char l[32];
        snprintf(l, sizeof l, "code=\"%s\"", classes[i]);
        http->m_status[i] = sh_metrics_get(h->metrics, SH_METRIC_COUNTER, "streamhub_http_requests_total",
                                           "HTTP requests answered, by status class", l);
    }
    http->m_status[0] = http->m_status[1];
    http->m_duration = sh_metrics_get(h->metrics, SH_METRIC_HISTOGRAM, "streamhub_http_request_duration_seconds",
                                      "Time from request to answer", NULL);
    if (!http->router) {
        snprintf(err, errlen, "out of memory");
        free(http);
        return NULL;
    }
    return http;
}

int sh_http_listen(sh_http *http, char *err, size_t errlen) {
    sh_host *h = http->host;
    const sh_csection *s = &h->cfg->server;
    http->htp = evhtp_new(h->base, NULL);
    if (!http->htp) {
        snprintf(err, errlen, "cannot create the HTTP server");
        return -1;
    }
    evhtp_set_gencb(http->htp, on_request, http);
    evhtp_set_post_accept_cb(http->htp, on_post_accept, http);
    evhtp_set_max_body_size(http->htp, (uint64_t)http->max_body + 1);
    evhtp_set_max_keepalive_requests(http->htp, (uint64_t)sh_cfg_i(s, "max_keepalive_requests"));
    int64_t rt = sh_cfg_i(s, "read_timeout_ms"), wt = sh_cfg_i(s, "write_timeout_ms");
    struct timeval r = {(time_t)(rt / 1000), (suseconds_t)(rt % 1000) * 1000};
    struct timeval w = {(time_t)(wt / 1000), (suseconds_t)(wt % 1000) * 1000};
    evhtp_set_timeouts(http->htp, &r, &w);
    http->htp->flags |= EVHTP_FLAG_ENABLE_REUSEPORT | EVHTP_FLAG_ENABLE_NODELAY;
    http->htp->flags &= (uint16_t)~EVHTP_FLAG_ENABLE_100_CONT;
    const char *bind = sh_cfg_s(s, "http_bind");
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%s", strchr(bind, ':') ? "ipv6" : "ipv4", bind);
    int port = (int)sh_cfg_i(s, "http_port");
    if (evhtp_bind_socket(http->htp, addr, (uint16_t)port, 1024) < 0) {
        snprintf(err, errlen, "cannot listen on %s port %d: %s (is another server running there?)", bind, port,
                 strerror(errno));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evconnlistener_get_fd(http->htp->server);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        http->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

int sh_http_port(const sh_http *http) { return http->port; }
unsigned sh_http_inflight(const sh_http *http) { return http->inflight; }

size_t sh_http_pending_output(const sh_http *http) {
    size_t n = 0;
    for (const conn_guard *g = http->conns; g; g = g->next) {
        struct bufferevent *bev = evhtp_connection_get_bev(g->c);
        if (bev) n += evbuffer_get_length(bufferevent_get_output(bev));
    }
    return n;
}

void sh_http_stop_accepting(sh_http *http) {
    if (http->htp && http->htp->server) evconnlistener_disable(http->htp->server);
}

void sh_http_free(sh_http *http) {
    if (!http) return;
    /* close keep-alive and in-flight connections: their fini hook unlinks and frees each guard */
    while (http->conns) evhtp_connection_free(http->conns->c);
    if (http->htp) {
        evhtp_unbind_socket(http->htp);
        evhtp_free(http->htp);
    }
    for (size_t i = 0; i < http->nroutes; i++) {
        free(http->routes[i]->method);
        free(http->routes[i]->pattern);
        free(http->routes[i]);
    }
    free(http->routes);
    sh_router_free(http->router);
    free(http);
}

int sh_http_route(sh_http *http, sh_plugin *p, const char *method, const char *pattern, unsigned flags,
                  sh_http_handler handler, void *ud) {
    if (!handler || !method || !pattern) return SH_ERR_INVALID;
    route_rec *rr = calloc(1, sizeof *rr);
    route_rec **nr = realloc(http->routes, (http->nroutes + 1) * sizeof *nr);
    if (!rr || !nr) {
        free(rr);
        if (nr) http->routes = nr;
        return SH_ERR_NOMEM;
    }
    http->routes = nr;
    rr->owner = p;
    rr->flags = flags;
    rr->handler = handler;
    rr->ud = ud;
    rr->method = strdup(method);
    rr->pattern = strdup(pattern);
    char err[256];
    if (sh_router_add(http->router, method, pattern, rr, err, sizeof err) < 0) {
        SH_LOG_E(p ? p->name : "core", "%s", err);
        free(rr->method);
        free(rr->pattern);
        free(rr);
        return strstr(err, "already") ? SH_ERR_EXISTS : SH_ERR_INVALID;
    }
    http->routes[http->nroutes++] = rr;
    return SH_OK;
}

void sh_http_routes_each(const sh_http *http, sh_http_route_visit v, void *ud) {
    for (size_t i = 0; i < http->nroutes; i++)
        v(http->routes[i]->owner, http->routes[i]->method, http->routes[i]->pattern, http->routes[i]->flags, ud);
}
