/*
 * migok.c - test-only plugin with two migrations (registered out of order on purpose: the host
 * applies a plugin's migrations sorted by id) and GET /api/migok counting rows of its table.
 */
#include <stdlib.h>
#include <streamhub/streamhub.h>

static const sh_host_api *host;
static sh_plugin *self;

static void on_count(const sh_db_result *res, void *ud) {
    sh_request *r = ud;
    if (host->db_status(res) != SH_OK) {
        host->respond_db_error(r, res);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "rows", json_object_new_int(atoi(host->db_value(res, 0, 0))));
    host->respond_json(r, 200, o);
}

static void count(sh_request *r, void *ud) {
    (void)ud;
    host->db_query(self, "SELECT count(*) FROM migok_items", 0, NULL, on_count, r);
}

static int init(sh_plugin *p, const sh_host_api *h) {
    host = h;
    self = p;
    if (h->db_migration(p, "002_seed", "INSERT INTO migok_items (name) VALUES ('a'), ('b');") != SH_OK) return SH_ERR;
    if (h->db_migration(p, "001_items", "CREATE TABLE migok_items (id serial PRIMARY KEY, name text NOT NULL);") != SH_OK)
        return SH_ERR;
    return h->http_route(p, "GET", "/api/migok", 0, count, NULL);
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER, .name = "migok", .version = "1.0.0", .description = "test only: two migrations", .init = init,
};
SH_PLUGIN_EXPORT(desc)
