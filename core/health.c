/*
 * health.c - the core's own routes: GET /health (JSON, 503 when the database is down) and
 * GET /metrics (Prometheus text; core gauges refreshed at each scrape).
 */
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "core/health.h"
#include "core/http.h"
#include "core/metrics.h"
#include "core/redis.h"
#include "core/workers.h"

static void health(sh_request *r, void *ud) {
    sh_host *h = ud;
    int db_ok = h->db && sh_db_available(h->db);
    json_object *o = json_object_new_object();
    int redis_down = h->redis && !sh_redis_connected(h->redis);
    json_object_object_add(o, "status", json_object_new_string(db_ok && !redis_down ? "ok" : "degraded"));
    json_object_object_add(o, "uptime", json_object_new_int64((int64_t)((sh_now_ms() - h->start_ms) / 1000)));
    json_object_object_add(o, "node", json_object_new_string(h->node_id));
    json_object_object_add(o, "version", json_object_new_string(SH_VERSION_STRING));
    json_object *db = json_object_new_object();
    json_object_object_add(db, "ok", json_object_new_boolean(db_ok));
    json_object_object_add(o, "database", db);
    if (h->redis) {
        json_object *rd = json_object_new_object();
        json_object_object_add(rd, "ok", json_object_new_boolean(!redis_down));
        json_object_object_add(o, "redis", rd);
    } else {
        json_object_object_add(o, "redis", json_object_new_string("disabled"));
    }
    json_object *pl = json_object_new_array();
    for (size_t i = 0; i < h->nplugins; i++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "name", json_object_new_string(h->plugins[i]->name));
        json_object_object_add(p, "version", json_object_new_string(h->plugins[i]->desc->version ? h->plugins[i]->desc->version : ""));
        json_object_array_add(pl, p);
    }
    json_object_object_add(o, "plugins", pl);
    sh_resp_header(r, "Cache-Control", "no-store");
    sh_respond_json(r, db_ok ? 200 : 503, o);
}

static void gauge(sh_host *h, const char *name, const char *help, double v) {
    sh_metric_set(sh_metrics_get(h->metrics, SH_METRIC_GAUGE, name, help, NULL), v);
}

static void metrics(sh_request *r, void *ud) {
    sh_host *h = ud;
    gauge(h, "streamhub_uptime_seconds", "Seconds since start", (double)(sh_now_ms() - h->start_ms) / 1000.0);
    gauge(h, "streamhub_http_inflight_requests", "Requests being handled", (double)sh_http_inflight(h->http));
    gauge(h, "streamhub_worker_jobs_pending", "Jobs queued or running on the worker pool",
          h->workers ? (double)sh_workers_pending(h->workers) : 0);
    if (h->db) {
        sh_db_stats st;
        sh_db_stats_get(h->db, &st);
        gauge(h, "streamhub_db_connections_up", "PostgreSQL connections up", st.connections_up);
        gauge(h, "streamhub_db_queries_queued", "Queries waiting for a connection", st.queued);
        gauge(h, "streamhub_db_queries_total", "Queries run", (double)st.queries);
        gauge(h, "streamhub_db_errors_total", "Queries failed", (double)st.errors);
        gauge(h, "streamhub_db_reconnects_total", "Reconnections", (double)st.reconnects);
        gauge(h, "streamhub_db_prepares_total", "Statements prepared (first use on a connection)",
              (double)st.prepares);
        gauge(h, "streamhub_db_prepared_runs_total", "Queries run as a prepared statement", (double)st.prepared_runs);
    }
    if (h->redis) {
        sh_redis_stats st;
        sh_redis_stats_get(h->redis, &st);
        gauge(h, "streamhub_redis_connected", "1 when the Redis command connection is up", st.connected);
        gauge(h, "streamhub_redis_reconnects_total", "Redis reconnections", (double)st.reconnects);
    }
    size_t len;
    char *text = sh_metrics_render(h->metrics, &len);
    sh_resp_header(r, "Cache-Control", "no-store");
    sh_respond_ref(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, free, text);
}

int sh_health_routes(sh_host *h) {
    if (sh_http_route(h->http, NULL, "GET", "/health", 0, health, h) != SH_OK) return -1;
    if (sh_http_route(h->http, NULL, "GET", "/metrics", 0, metrics, h) != SH_OK) return -1;
    return 0;
}
