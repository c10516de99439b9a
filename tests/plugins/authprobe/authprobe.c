/*
 * authprobe.c - a test-only plugin that exposes the `auth` service (streamhub/auth.h) over HTTP
 * so that tests/integration/auth.test.mjs can drive it like another plugin would (RTMP ingest
 * checking a stream key, a plugin looking users up), and records the stream-key-reset events it
 * receives on the bus. Never shipped; loaded from build/test-plugins/authprobe.so.
 *
 *   POST /api/test/authprobe/stream-key   {streamKey}  -> user_by_stream_key
 *   POST /api/test/authprobe/verify       {token}      -> verify_token
 *   GET  /api/test/authprobe/users/id/:id              -> user_by_id
 *   GET  /api/test/authprobe/users/name/:username      -> user_by_name
 *   GET  /api/test/authprobe/resets                    -> {resets:[userId...]} seen on the bus
 * Each look-up answers 200 {userId, username}, 404 {error:{code:"not_found"}} for
 * SH_ERR_INVALID, or 503 for SH_ERR_UNAVAILABLE. Loop thread.
 */
#include <stdlib.h>
#include <string.h>
#include <streamhub/auth.h>
#include <streamhub/streamhub.h>

static const sh_host_api *H;
static sh_plugin *SELF;
static const sh_auth_api *AUTH;
static json_object *resets; /* array of user ids */

static void answer(int status, const sh_identity *who, void *ud) {
    sh_request *req = ud;
    if (status == SH_OK && who) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "userId", json_object_new_int64(who->user_id));
        json_object_object_add(o, "username", json_object_new_string(who->username ? who->username : ""));
        H->respond_json(req, 200, o);
    } else if (status == SH_ERR_UNAVAILABLE) {
        H->respond_error(req, 503, "unavailable", "auth service unavailable", NULL);
    } else {
        H->respond_error(req, 404, "not_found", "no match", NULL);
    }
}

static void h_stream_key(sh_request *req, void *ud) {
    (void)ud;
    json_object *body = H->req_json(req);
    if (!body) return;
    const char *key;
    if (H->json_str(req, body, "streamKey", 0, 10000, SH_JSON_NOTRIM, &key) < 0) return;
    AUTH->user_by_stream_key(key, answer, req);
}

static void h_verify(sh_request *req, void *ud) {
    (void)ud;
    json_object *body = H->req_json(req);
    if (!body) return;
    json_object *t = NULL;
    if (!json_object_object_get_ex(body, "token", &t) || !json_object_is_type(t, json_type_string)) {
        H->respond_error(req, 400, "invalid_field", "token is required", "token");
        return;
    }
    AUTH->verify_token(json_object_get_string(t), answer, req);
}

static void h_by_id(sh_request *req, void *ud) {
    (void)ud;
    const char *id = H->req_param(req, "id");
    AUTH->user_by_id(id ? strtoll(id, NULL, 10) : 0, answer, req);
}

static void h_by_name(sh_request *req, void *ud) {
    (void)ud;
    AUTH->user_by_name(H->req_param(req, "username"), answer, req);
}

static void h_resets(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "resets", json_object_get(resets));
    H->respond_json(req, 200, o);
}

static void on_reset(const char *topic, json_object *payload, void *ud) {
    (void)topic;
    (void)ud;
    json_object *id = NULL;
    if (json_object_object_get_ex(payload, "userId", &id))
        json_object_array_add(resets, json_object_new_int64(json_object_get_int64(id)));
}

static int init(sh_plugin *self, const sh_host_api *host) {
    H = host;
    SELF = self;
    AUTH = host->service_get(self, SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0);
    if (!AUTH) {
        host->log(self, SH_LOG_ERROR, "no auth service");
        return SH_ERR;
    }
    resets = json_object_new_array();
    if (host->http_route(self, "POST", "/api/test/authprobe/stream-key", 0, h_stream_key, NULL) != SH_OK ||
        host->http_route(self, "POST", "/api/test/authprobe/verify", 0, h_verify, NULL) != SH_OK ||
        host->http_route(self, "GET", "/api/test/authprobe/users/id/:id", 0, h_by_id, NULL) != SH_OK ||
        host->http_route(self, "GET", "/api/test/authprobe/users/name/:username", 0, h_by_name, NULL) != SH_OK ||
        host->http_route(self, "GET", "/api/test/authprobe/resets", 0, h_resets, NULL) != SH_OK ||
        host->bus_subscribe(self, SH_TOPIC_STREAM_KEY_RESET, on_reset, NULL) != SH_OK)
        return SH_ERR;
    return SH_OK;
}

static void fini(sh_plugin *self) {
    (void)self;
    json_object_put(resets);
    resets = NULL;
}

static const sh_dep requires[] = {{SH_AUTH_SERVICE, SH_AUTH_MAJOR, 0, 0}, {NULL, 0, 0, 0}};

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,       .name = "authprobe",
    .version = "0.0.1",   .description = "test-only: the auth service over HTTP",
    .requires = requires, .init = init,
    .fini = fini,
};

SH_PLUGIN_EXPORT(desc)
