/*
 * tests/plugins/fixture_old_minor/fixture_old_minor.c - a plugin built against an OLDER SDK minor
 * than the host's: it is compiled with the frozen ABI 1.0 header in sdk-1.0/ (never the current
 * one), so its descriptor says 1.0 and it knows only the 1.0 host table. The rule under test:
 * a plugin whose minor is <= the host's loads, and the host table it gets is at least as large
 * as the one it was built for (the table only grows at its end).
 *
 *   GET /fixture/old  {"plugin":"fixture_old_minor","abi_minor":0,"host_table_bytes":N,
 *                      "plugin_table_bytes":M,"has_rate_hit":true,"version":"<host version>"}
 */
#include "sdk-1.0/streamhub/streamhub.h"

#if SH_ABI_MAJOR != 1 || SH_ABI_MINOR != 0
#error "fixture_old_minor must be built against the frozen SDK 1.0 header"
#endif

static sh_plugin *om_self;
static const sh_host_api *om_host;

static void om_get(sh_request *req, void *ud) {
    (void)ud;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "plugin", json_object_new_string("fixture_old_minor"));
    json_object_object_add(o, "abi_minor", json_object_new_int(SH_ABI_MINOR));
    json_object_object_add(o, "host_table_bytes", json_object_new_int64((int64_t)om_host->size));
    json_object_object_add(o, "plugin_table_bytes", json_object_new_int64((int64_t)sizeof(sh_host_api)));
    json_object_object_add(o, "has_rate_hit", json_object_new_boolean(SH_HOST_HAS(om_host, rate_hit)));
    json_object_object_add(o, "version", json_object_new_string(om_host->version(om_self)));
    om_host->respond_json(req, 200, o);
}

static int om_init(sh_plugin *self, const sh_host_api *host) {
    om_self = self;
    om_host = host;
    /* the last function of 1.0 must be there: the host table can only be larger than ours */
    if (host->size < sizeof(sh_host_api) || !SH_HOST_HAS(host, rate_hit)) {
        host->log(self, SH_LOG_ERROR, "the host table (%zu bytes) is smaller than SDK 1.0's (%zu)", host->size,
                  sizeof(sh_host_api));
        return SH_ERR;
    }
    return host->http_route(self, "GET", "/fixture/old", 0, om_get, NULL);
}

static const sh_plugin_desc om_desc = {
    SH_DESC_HEADER,
    .name = "fixture_old_minor",
    .version = "0.9.0",
    .description = "test fixture: built against SDK 1.0",
    .init = om_init,
};

SH_PLUGIN_EXPORT(om_desc)
