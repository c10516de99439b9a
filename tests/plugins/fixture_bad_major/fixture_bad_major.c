/*
 * tests/plugins/fixture_bad_major/fixture_bad_major.c - claims an SDK major the host does not
 * have (as a plugin built for a future, incompatible SDK would): the loader must refuse it.
 */
#include <streamhub/streamhub.h>

static int bm_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_plugin_desc bm_desc = {
    .abi_major = SH_ABI_MAJOR + 1,
    .abi_minor = 0,
    .size = sizeof(sh_plugin_desc),
    .name = "fixture_bad_major",
    .version = "1.0.0",
    .description = "test fixture: wrong ABI major",
    .init = bm_init,
};

SH_PLUGIN_EXPORT(bm_desc)
