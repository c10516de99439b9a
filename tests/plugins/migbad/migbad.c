/*
 * migbad.c - test-only plugin whose second migration fails half way (the first statement of it
 * would succeed): start-up must stop naming the plugin, the migration and PostgreSQL's message,
 * and nothing of the failing migration may remain.
 */
#include <streamhub/streamhub.h>

static int init(sh_plugin *p, const sh_host_api *h) {
    if (h->db_migration(p, "001_ok", "CREATE TABLE migbad_ok (id int);") != SH_OK) return SH_ERR;
    return h->db_migration(p, "002_broken",
                           "CREATE TABLE migbad_half (id int); INSERT INTO migbad_no_such_table VALUES (1);");
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER, .name = "migbad", .version = "1.0.0", .description = "test only: a failing migration", .init = init,
};
SH_PLUGIN_EXPORT(desc)
