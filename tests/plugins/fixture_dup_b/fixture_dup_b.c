/*
 * tests/plugins/fixture_dup_b/fixture_dup_b.c - one of two different .so files whose descriptors
 * both call themselves "fixture_dup" (as two builds of one plugin would, e.g. an old copy left in
 * another directory). Listing both must be refused, whatever names the config gives them.
 */
#include <streamhub/streamhub.h>

static int dup_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_plugin_desc dup_desc = {
    SH_DESC_HEADER,
    .name = "fixture_dup",
    .version = "2.0.0",
    .description = "test fixture: build b of the plugin fixture_dup",
    .init = dup_init,
};

SH_PLUGIN_EXPORT(dup_desc)
