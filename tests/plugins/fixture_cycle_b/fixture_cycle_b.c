/*
 * tests/plugins/fixture_cycle_b/fixture_cycle_b.c - provides fixture_svc_b and requires
 * fixture_svc_a, which fixture_cycle_a provides while requiring this one's: a dependency cycle.
 */
#include <streamhub/streamhub.h>

static int cy_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_dep cy_provides[] = {{"fixture_svc_b", 1, 0, 0}, {NULL, 0, 0, 0}};
static const sh_dep cy_requires[] = {{"fixture_svc_a", 1, 0, 0}, {NULL, 0, 0, 0}};

static const sh_plugin_desc cy_desc = {
    SH_DESC_HEADER,
    .name = "fixture_cycle_b",
    .version = "1.0.0",
    .description = "test fixture: half of a dependency cycle",
    .provides = cy_provides,
    .requires = cy_requires,
    .init = cy_init,
};

SH_PLUGIN_EXPORT(cy_desc)
