/*
 * tests/plugins/fixture_needs_missing/fixture_needs_missing.c - requires a service that no plugin
 * provides: the loader must refuse the configuration, naming the service.
 */
#include <streamhub/streamhub.h>

static int nmi_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_dep nmi_requires[] = {{"fixture_nobody", 1, 0, 0}, {NULL, 0, 0, 0}};

static const sh_plugin_desc nmi_desc = {
    SH_DESC_HEADER,
    .name = "fixture_needs_missing",
    .version = "1.0.0",
    .description = "test fixture: requires a service nobody provides",
    .requires = nmi_requires,
    .init = nmi_init,
};

SH_PLUGIN_EXPORT(nmi_desc)
