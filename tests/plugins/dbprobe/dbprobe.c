/*
 * dbprobe.c - test-only plugin: GET /api/dbprobe runs `SELECT 1` on the database pool and
 * answers 200 {"one":1}, or 503 database_unavailable while the database is down. Used by the
 * HTTP integration tests for outages and recovery. Also POST /api/dbprobe/echo, which answers
 * the validated body field `text` (1..20 characters) as data.
 */
#include <stdlib.h>
#include <streamhub/streamhub.h>

static const sh_host_api *host;
static sh_plugin *self;

static void on_row(const sh_db_result *res, void *ud) {
    sh_request *r = ud;
    if (host->db_status(res) != SH_OK) {
        host->respond_db_error(r, res);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "one", json_object_new_int(atoi(host->db_value(res, 0, 0))));
    host->respond_json(r, 200, o);
}

static void probe(sh_request *r, void *ud) {
    (void)ud;
    host->db_query(self, "SELECT 1", 0, NULL, on_row, r);
}

static void echo(sh_request *r, void *ud) {
    (void)ud;
    json_object *body = host->req_json(r);
    if (!body) return;
    const char *text;
    if (host->json_str(r, body, "text", 1, 20, 0, &text) < 0) return;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "text", json_object_new_string(text));
    host->respond_json(r, 200, o);
}

static int init(sh_plugin *p, const sh_host_api *h) {
    host = h;
    self = p;
    if (h->http_route(p, "GET", "/api/dbprobe", 0, probe, NULL) != SH_OK) return SH_ERR;
    if (h->http_route(p, "POST", "/api/dbprobe/echo", 0, echo, NULL) != SH_OK) return SH_ERR;
    return SH_OK;
}

static const sh_plugin_desc desc = {
    SH_DESC_HEADER,
    .name = "dbprobe",
    .version = "1.0.0",
    .description = "test only: a route that queries the database",
    .init = init,
};
SH_PLUGIN_EXPORT(desc)
