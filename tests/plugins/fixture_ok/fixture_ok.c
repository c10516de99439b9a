/*
 * tests/plugins/fixture_ok/fixture_ok.c - a well-formed test plugin: settings, a service, routes.
 *
 *   GET  /fixture/ok               {"plugin":"fixture_ok","greeting":<config greeting>,"count":<config count>}
 *   GET  /fixture/ok/echo/:value   {"value": <the decoded :value>}
 *   POST /fixture/ok/echo          body {"name": 1..20 chars, "n"?: 0..100, "flag"?: bool} echoed back
 * Provides the service fixture_ok_svc 1.2 (a table whose first field is its size).
 */
#include <streamhub/streamhub.h>

typedef struct fixture_ok_svc {
    size_t size;
    int (*answer)(void);
} fixture_ok_svc;

static sh_plugin *ok_self;
static const sh_host_api *ok_host;

static int ok_answer(void) { return 42; }
static const fixture_ok_svc ok_svc = {sizeof(fixture_ok_svc), ok_answer};

static void ok_get(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "plugin", json_object_new_string("fixture_ok"));
    json_object_object_add(o, "greeting", json_object_new_string(ok_host->cfg_str(ok_self, "greeting")));
    json_object_object_add(o, "count", json_object_new_int64(ok_host->cfg_int(ok_self, "count")));
    ok_host->respond_json(req, 200, o);
}

static void ok_echo_param(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "value", json_object_new_string(ok_host->req_param(req, "value")));
    ok_host->respond_json(req, 200, o);
}

static void ok_echo_body(sh_request *req, void *ud) {
    (void)ud;
    json_object *body = ok_host->req_json(req);
    if (!body) return;
    const char *name;
    int64_t n = -1;
    int flag = -1;
    if (ok_host->json_str(req, body, "name", 1, 20, 0, &name) < 0) return;
    if (ok_host->json_int(req, body, "n", 0, 100, SH_JSON_OPTIONAL, &n) < 0) return;
    if (ok_host->json_bool(req, body, "flag", SH_JSON_OPTIONAL, &flag) < 0) return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "n", json_object_new_int64(n));
    json_object_object_add(o, "flag", json_object_new_int(flag));
    ok_host->respond_json(req, 200, o);
}

static int ok_init(sh_plugin *self, const sh_host_api *host) {
    ok_self = self;
    ok_host = host;
    if (host->http_route(self, "GET", "/fixture/ok", 0, ok_get, NULL) != SH_OK ||
        host->http_route(self, "GET", "/fixture/ok/echo/:value", 0, ok_echo_param, NULL) != SH_OK ||
        host->http_route(self, "POST", "/fixture/ok/echo", 0, ok_echo_body, NULL) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot register the routes");
        return SH_ERR;
    }
    if (host->service_provide(self, "fixture_ok_svc", 1, 2, &ok_svc) != SH_OK) {
        host->log(self, SH_LOG_ERROR, "cannot provide fixture_ok_svc");
        return SH_ERR;
    }
    return SH_OK;
}

static const sh_dep ok_provides[] = {{"fixture_ok_svc", 1, 2, 0}, {NULL, 0, 0, 0}};

static const sh_setting ok_settings[] = {
    {"greeting", SH_CFG_STRING, "hello", 1, 64, 0, "what GET /fixture/ok says"},
    {"count", SH_CFG_INT, "1", 0, 100, 0, "a number echoed by GET /fixture/ok"},
    {NULL, 0, NULL, 0, 0, 0, NULL},
};

static const sh_plugin_desc ok_desc = {
    SH_DESC_HEADER,
    .name = "fixture_ok",
    .version = "1.0.0",
    .description = "test fixture: a well-formed plugin",
    .provides = ok_provides,
    .settings = ok_settings,
    .init = ok_init,
};

SH_PLUGIN_EXPORT(ok_desc)
