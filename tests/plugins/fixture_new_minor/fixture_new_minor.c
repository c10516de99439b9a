/*
 * tests/plugins/fixture_new_minor/fixture_new_minor.c - built for a newer SDK minor than the host
 * provides: the loader must refuse it (it may call host functions the host does not have).
 */
#include <streamhub/streamhub.h>

static int nm_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_plugin_desc nm_desc = {
    .abi_major = SH_ABI_MAJOR,
    .abi_minor = SH_ABI_MINOR + 1,
    .size = sizeof(sh_plugin_desc),
    .name = "fixture_new_minor",
    .version = "1.0.0",
    .description = "test fixture: newer ABI minor than the host",
    .init = nm_init,
};

SH_PLUGIN_EXPORT(nm_desc)
