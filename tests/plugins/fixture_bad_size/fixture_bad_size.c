/*
 * tests/plugins/fixture_bad_size/fixture_bad_size.c - a descriptor whose declared size matches no
 * SDK version the host knows: the loader must refuse it before reading past what it knows.
 */
#include <streamhub/streamhub.h>

static int bs_init(sh_plugin *self, const sh_host_api *host) {
    (void)self;
    (void)host;
    return SH_OK;
}

/* the descriptor followed by room for the fields a size mismatch would imply */
static const struct {
    sh_plugin_desc d;
    void *more[2];
} bs_desc = {
    .d =
        {
            .abi_major = SH_ABI_MAJOR,
            .abi_minor = SH_ABI_MINOR,
            .size = sizeof(sh_plugin_desc) + 2 * sizeof(void *),
            .name = "fixture_bad_size",
            .version = "1.0.0",
            .description = "test fixture: unknown descriptor size",
            .init = bs_init,
        },
};

SH_PLUGIN_EXPORT(bs_desc.d)
