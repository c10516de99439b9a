/*
 * tests/plugins/fixture_no_entry/fixture_no_entry.c - the classic mistake: the entry function is
 * written by hand without SH_PLUGIN_EXPORT, so -fvisibility=hidden keeps it out of the dynamic
 * symbol table and the .so exports no sh_plugin_entry.
 */
#include <streamhub/streamhub.h>

static int ne_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

static const sh_plugin_desc ne_desc = {
    SH_DESC_HEADER,
    .name = "fixture_no_entry",
    .version = "1.0.0",
    .description = "test fixture: no exported entry point",
    .init = ne_init,
};

const sh_plugin_desc *sh_plugin_entry(void); /* hidden: no visibility("default") */
const sh_plugin_desc *sh_plugin_entry(void) { return &ne_desc; }
