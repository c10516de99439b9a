/*
 * tests/plugins/fixture_consumer/fixture_consumer.c - requires fixture_ok_svc 1.1 (so it must be
 * initialised after fixture_ok whatever the config order) and, optionally, a service nobody
 * provides. GET /fixture/consumer answers {"answer": <fixture_ok_svc's answer()>}.
 */
#include <streamhub/streamhub.h>

typedef struct fixture_ok_svc {
    size_t size;
    int (*answer)(void);
} fixture_ok_svc;

static const sh_host_api *co_host;
static const fixture_ok_svc *co_svc;

static void co_get(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "answer", json_object_new_int(co_svc->answer()));
    co_host->respond_json(req, 200, o);
}

static int co_init(sh_plugin *self, const sh_host_api *host) {
    co_host = host;
    co_svc = host->service_get(self, "fixture_ok_svc", 1, 1);
    if (!co_svc || co_svc->size < sizeof *co_svc) {
        host->log(self, SH_LOG_ERROR, "fixture_ok_svc 1.1 is not available at init: wrong load order");
        return SH_ERR;
    }
    if (host->service_get(self, "fixture_nobody", 1, 0) != NULL) return SH_ERR;
    return host->http_route(self, "GET", "/fixture/consumer", 0, co_get, NULL);
}

static const sh_dep co_requires[] = {{"fixture_ok_svc", 1, 1, 0}, {"fixture_nobody", 1, 0, 1}, {NULL, 0, 0, 0}};

static const sh_plugin_desc co_desc = {
    SH_DESC_HEADER,
    .name = "fixture_consumer",
    .version = "1.0.0",
    .description = "test fixture: uses fixture_ok's service",
    .requires = co_requires,
    .init = co_init,
};

SH_PLUGIN_EXPORT(co_desc)
