/*
 * tests/plugins/fixture_init_fail/fixture_init_fail.c - loads fine, then its init logs why it
 * cannot run and fails: start-up (and --list-plugins) must stop with a line naming it.
 */
#include <streamhub/streamhub.h>

static int if_init(sh_plugin *self, const sh_host_api *host) {
    host->log(self, SH_LOG_ERROR, "cannot start: fixture_init_fail always fails in init");
    return SH_ERR_UNAVAILABLE;
}

static const sh_plugin_desc if_desc = {
    SH_DESC_HEADER,
    .name = "fixture_init_fail",
    .version = "1.0.0",
    .description = "test fixture: init fails",
    .init = if_init,
};

SH_PLUGIN_EXPORT(if_desc)
