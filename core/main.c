/*
 * main.c - the streamhub binary: arguments, start-up order, signals, shutdown.
 *
 * Start-up: config (validated) -> log -> loop, metrics, workers, Redis, rate limiter, bus, HTTP
 * server object -> plugins loaded, ordered, their config validated -> init (registration) ->
 * migrations (blocking, before serving) -> database pool -> listen -> start -> loop.
 * Shutdown (SIGINT/SIGTERM): stop accepting, stop plugins (reverse order), wait for requests
 * in flight up to server.shutdown_grace_ms, then fini and free. A second signal exits at once.
 * SIGHUP reopens the log file; SIGPIPE is ignored.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/bus.h"
#include "core/db.h"
#include "core/health.h"
#include "core/host.h"
#include "core/http.h"
#include "core/log.h"
#include "core/media.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/redis.h"
#include "core/sio_server.h"
#include "core/workers.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: streamhub [-c FILE] [--check-config] [--list-plugins] [--version] [--help]\n"
            "  -c, --config FILE  the config file (default etc/streamhub.yaml)\n"
            "  --check-config     validate the config and the plugins it lists, then exit\n"
            "  --list-plugins     load and initialise the plugins, print what each registered, exit\n"
            "  --version          print the version and the plugin SDK version\n"
            "Signals: SIGINT/SIGTERM drain and exit, SIGHUP reopens the log file.\n");
}

int sh_host_add_migration(sh_host *h, const char *plugin, const char *id, const char *sql) {
    sh_migration *nm = realloc(h->migs, (h->nmigs + 1) * sizeof *nm);
    if (!nm) return SH_ERR_NOMEM;
    h->migs = nm;
    /* keep each plugin's migrations sorted by id (plugins register in load order) */
    size_t at = h->nmigs;
    while (at > 0 && strcmp(h->migs[at - 1].plugin, plugin) == 0 && strcmp(h->migs[at - 1].id, id) > 0) at--;
    for (size_t i = at; i < h->nmigs; i++)
        if (strcmp(h->migs[i].plugin, plugin) == 0 && strcmp(h->migs[i].id, id) == 0) return SH_ERR_EXISTS;
    memmove(&h->migs[at + 1], &h->migs[at], (h->nmigs - at) * sizeof *nm);
    h->migs[at] = (sh_migration){strdup(plugin), strdup(id), strdup(sql)};
    h->nmigs++;
    return SH_OK;
}

/* Idle: no request in flight, no queued bus delivery, no query queued or running. */
static int host_idle(sh_host *h) {
    sh_db_stats st = {0};
    if (h->db) sh_db_stats_get(h->db, &st);
    return sh_http_inflight(h->http) == 0 && sh_http_pending_output(h->http) == 0 && !sh_bus_pending(h->bus) &&
           st.busy == 0 && st.queued == 0;
}

static void drain_check(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    sh_host *h = arg;
    static uint64_t started;
    if (!started) started = sh_now_ms();
    uint64_t grace = (uint64_t)sh_cfg_i(&h->cfg->server, "shutdown_grace_ms");
    if (host_idle(h) || sh_now_ms() - started >= grace) {
        if (!host_idle(h))
            SH_LOG_W("core", "shutdown grace over with work left (%u requests in flight)", sh_http_inflight(h->http));
        event_base_loopexit(h->base, NULL);
        return;
    }
    struct timeval tv = {0, 20000};
    event_add(h->drain_timer, &tv);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg) {
    (void)what;
    sh_host *h = arg;
    if (h->phase == SH_PHASE_STOP) {
        SH_LOG_W("core", "second signal: exiting now");
        event_base_loopbreak(h->base);
        return;
    }
    SH_LOG_I("core", "%s: draining (stop accepting, finish requests in flight)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    h->phase = SH_PHASE_STOP;
    sh_http_stop_accepting(h->http);
    /* plugins stop in reverse load order (sources end their own streams); then the host ends any
     * stream left, so publishers' viewers get stream-ended and HLS its ENDLIST. The loop keeps
     * running until the bus, the database and requests in flight are idle (or the grace ends). */
    sh_plugins_stop(h);
    sh_media_close_all(h->media);
    h->drain_timer = evtimer_new(h->base, drain_check, h);
    struct timeval tv = {0, 0};
    event_add(h->drain_timer, &tv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg) {
    (void)sig;
    (void)what;
    (void)arg;
    sh_log_reopen();
    SH_LOG_I("core", "SIGHUP: log reopened");
}

static void host_free(sh_host *h) {
    /* Everything that can still call back into a plugin finishes first, plugins' fini after:
     * streams end (stages' on_end), sockets disconnect (disconnect hooks), queued bus events are
     * delivered, workers finish (done callbacks), pending queries and Redis commands fail
     * (their callbacks run). */
    sh_media_close_all(h->media);
    sh_sio_server_free(h->sio);
    h->sio = NULL;
    if (h->bus) sh_bus_flush(h->bus);
    sh_workers_free(h->workers);
    h->workers = NULL;
    /* the limiter answers waiting hits "allowed" and Redis fails pending commands: their
     * callbacks may still query the database, so both go before it */
    sh_ratelimit_free(h->rl);
    h->rl = NULL;
    /* the bus keeps its own pointer to the connection: a database callback that runs after this
     * (a chat message stored during the drain) may still publish to the cluster */
    if (h->bus) sh_bus_detach_redis(h->bus);
    if (h->redis) sh_redis_free(h->redis);
    h->redis = NULL;
    if (h->bus) sh_bus_flush(h->bus);
    if (h->db) sh_db_free(h->db);
    h->db = NULL;
    /* callbacks deferred to the loop (failures of calls made while tearing down) still run */
    for (int i = 0; i < 8; i++) event_base_loop(h->base, EVLOOP_NONBLOCK);
    if (h->bus) sh_bus_flush(h->bus);
    sh_plugins_fini(h);
    sh_media_free(h->media);
    if (h->drain_timer) event_free(h->drain_timer);
    if (h->sig_int) event_free(h->sig_int);
    if (h->sig_term) event_free(h->sig_term);
    if (h->sig_hup) event_free(h->sig_hup);
    sh_http_free(h->http);
    sh_bus_free(h->bus);
    for (size_t i = 0; i < h->nmigs; i++) {
        free((char *)h->migs[i].plugin);
        free((char *)h->migs[i].id);
        free((char *)h->migs[i].sql);
    }
    free(h->migs);
    for (size_t i = 0; i < h->nservices; i++) free(h->services[i].name);
    free(h->services);
    sh_metrics_free(h->metrics);
    if (h->base) event_base_free(h->base);
    sh_config_free(h->cfg);
}

int main(int argc, char **argv) {
    const char *config_path = "etc/streamhub.yaml";
    int check = 0, list = 0;
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'k'},
        {"list-plugins", no_argument, NULL, 'l'}, {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "c:hv", opts, NULL)) != -1) {
        switch (o) {
        case 'c': config_path = optarg; break;
        case 'k': check = 1; break;
        case 'l': list = 1; break;
        case 'v': printf("streamhub %s (plugin SDK %d.%d)\n", SH_VERSION_STRING, SH_ABI_MAJOR, SH_ABI_MINOR); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "streamhub: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Every connection, held HLS segment (a memfd) and database/Redis link is a descriptor: take
     * the hard limit the operator allows (systemd LimitNOFILE=, ulimit -Hn) rather than the
     * 1024 soft default, which 1,000 viewers would exhaust. */
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
        nofile.rlim_cur = nofile.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &nofile);
    }

    static sh_host host;
    sh_host *h = &host;
    char err[2048];
    h->config_path = config_path;
    h->check_only = check || list;
    h->cfg = sh_config_load(config_path, err, sizeof err);
    if (!h->cfg) {
        fprintf(stderr, "streamhub: %s\n", err);
        return 2;
    }
    if (!h->check_only && sh_log_open(sh_cfg_s(&h->cfg->log, "file"), sh_log_level_from_name(sh_cfg_s(&h->cfg->log, "level"))) < 0) {
        fprintf(stderr, "streamhub: cannot open log file %s\n", sh_cfg_s(&h->cfg->log, "file"));
        sh_config_free(h->cfg);
        return 2;
    }
    if (h->check_only) sh_log_set_level(SH_LL_WARN);
    h->start_ms = sh_now_ms();
    unsigned char rnd[8];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) memset(rnd, 0x5a, sizeof rnd);
    for (int i = 0; i < 8; i++) snprintf(h->node_id + 2 * i, 3, "%02x", rnd[i]);
    h->core_plugin.host = h;
    h->core_plugin.name = "core";
    sh_host_api_fill(&h->api);
    h->base = event_base_new();
    h->metrics = sh_metrics_new();
    int rc = 1;
    if (!h->base || !h->metrics) goto out;
    if (!h->check_only) {
        int threads = (int)sh_cfg_i(&h->cfg->server, "workers");
        if (threads == 0) threads = sh_workers_default_threads();
        h->workers = sh_workers_new(h->base, threads, 100000, (int)sh_cfg_i(&h->cfg->server, "worker_nice"));
        if (sh_cfg_b(&h->cfg->redis, "enabled")) {
            sh_redis_config rc2 = {sh_cfg_s(&h->cfg->redis, "host"), (int)sh_cfg_i(&h->cfg->redis, "port"),
                                   sh_cfg_s(&h->cfg->redis, "password"), (int)sh_cfg_i(&h->cfg->redis, "db")};
            h->redis = sh_redis_new(h->base, &rc2);
        }
    }
    const char *prefix = sh_cfg_s(&h->cfg->redis, "prefix");
    char rlprefix[96];
    snprintf(rlprefix, sizeof rlprefix, "%srl:", prefix ? prefix : "");
    h->rl = sh_ratelimit_new(h->base, h->redis, rlprefix);
    h->bus = sh_bus_new(h->base, h->redis, prefix, h->node_id);
    h->http = sh_http_new(h, err, sizeof err);
    if (h->http) h->sio = sh_sio_server_new(h, err, sizeof err);
    h->media = sh_media_new(h);
    if (!h->http || !h->bus || !h->rl || !h->sio || !h->media) {
        fprintf(stderr, "streamhub: cannot start: %s\n", err);
        goto out;
    }
    if (sh_plugins_load(h, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        goto out;
    }
    if (check) {
        printf("%s: OK (%zu plugins: ", config_path, h->nplugins);
        for (size_t i = 0; i < h->nplugins; i++) printf("%s%s", i ? ", " : "", h->plugins[i]->name);
        printf(")\n");
        rc = 0;
        goto out;
    }
    if (sh_health_routes(h) < 0 || sh_plugins_init(h, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        goto out;
    }
    if (list) {
        sh_plugins_list(h, stdout);
        rc = 0;
        goto out;
    }
    const sh_csection *dbc = &h->cfg->database;
    int applied = 0;
    if (sh_db_migrate(sh_cfg_s(dbc, "url"), h->migs, h->nmigs, &applied, err, sizeof err) < 0) {
        SH_LOG_E("core", "%s", err);
        fprintf(stderr, "streamhub: %s\n", err);
        goto out;
    }
    SH_LOG_I("core", "migrations: %d applied, %zu known", applied, h->nmigs);
    sh_db_config dcfg = {sh_cfg_s(dbc, "url"), (int)sh_cfg_i(dbc, "pool_size"), (int)sh_cfg_i(dbc, "queue_max"),
                         (int)sh_cfg_i(dbc, "connect_timeout_ms"), (int)sh_cfg_i(dbc, "statement_timeout_ms"),
                         (int)sh_cfg_i(dbc, "queue_timeout_ms")};
    h->db = sh_db_new(h->base, &dcfg);
    if (!h->db) {
        fprintf(stderr, "streamhub: bad database config\n");
        goto out;
    }
    if (sh_sio_server_start(h->sio, err, sizeof err) < 0 || sh_http_listen(h->http, err, sizeof err) < 0) {
        SH_LOG_E("core", "%s", err);
        fprintf(stderr, "streamhub: %s\n", err);
        goto out;
    }
    h->phase = SH_PHASE_RUN;
    if (sh_plugins_start(h, err, sizeof err) < 0) {
        fprintf(stderr, "streamhub: %s\n", err);
        goto out;
    }
    h->sig_int = evsignal_new(h->base, SIGINT, on_stop_signal, h);
    h->sig_term = evsignal_new(h->base, SIGTERM, on_stop_signal, h);
    h->sig_hup = evsignal_new(h->base, SIGHUP, on_hup, h);
    event_add(h->sig_int, NULL);
    event_add(h->sig_term, NULL);
    event_add(h->sig_hup, NULL);
    SH_LOG_I("core", "streamhub %s node %s listening on http://%s:%d (%zu plugins)", SH_VERSION_STRING, h->node_id,
             sh_cfg_s(&h->cfg->server, "http_bind"), sh_http_port(h->http), h->nplugins);
    const char *logfile = sh_cfg_s(&h->cfg->log, "file");
    if (logfile && strcmp(logfile, "-") != 0)
        fprintf(stderr, "streamhub: listening on http://%s:%d (log: %s)\n", sh_cfg_s(&h->cfg->server, "http_bind"),
                sh_http_port(h->http), logfile);
    event_base_dispatch(h->base);
    SH_LOG_I("core", "stopped");
    rc = 0;
out:
    if (h->phase != SH_PHASE_STOP) sh_plugins_stop(h);
    host_free(h);
    return rc;
}
