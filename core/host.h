/*
 * host.h - the host process: one event loop and everything hanging off it.
 *
 * sh_host is created by main, owns the config, the plugins, the HTTP server, the database pool,
 * Redis, the worker pool, the event bus, the metrics registry and the rate limiter. Every field
 * is touched on the loop thread only (workers talk back through sh_workers' completion queue).
 */
#ifndef SH_CORE_HOST_H
#define SH_CORE_HOST_H

#include <event2/event.h>
#include <stdint.h>
#include <streamhub/streamhub.h>
#include <streamhub/auth.h>

#include <stdio.h>

#include "core/config.h"
#include "core/db.h"

typedef struct sh_http sh_http;
typedef struct sh_redis sh_redis;
typedef struct sh_ratelimit sh_ratelimit;
typedef struct sh_workers sh_workers;
typedef struct sh_bus sh_bus;
typedef struct sh_metrics sh_metrics;
typedef struct sh_sio_server sh_sio_server;
typedef struct sh_media sh_media;
typedef struct sh_host sh_host;

enum { SH_PHASE_LOAD = 0, SH_PHASE_INIT, SH_PHASE_RUN, SH_PHASE_STOP };

typedef struct sh_service_rec {
    char *name;
    int major, minor;
    const void *table;
    sh_plugin *owner;
} sh_service_rec;

/* What a plugin registered, for --list-plugins. */
typedef struct sh_reg_counts {
    int routes, events, migrations, stages, services, subscriptions, timers;
} sh_reg_counts;

struct sh_plugin {
    sh_host *host;
    const sh_plugin_desc *desc;
    char *name;
    char *path;
    const sh_plugin_cfg *pcfg;
    sh_csection cfg;
    size_t index; /* position in load order */
    int initialized, started;
    sh_reg_counts reg;
    char **reg_lines; /* "route GET /api/x", "migration 001_users", ... */
    size_t nreg_lines;
};

struct sh_host {
    struct event_base *base;
    sh_config *cfg;
    const char *config_path;
    int phase;
    char node_id[17];
    uint64_t start_ms;
    sh_plugin **plugins; /* in dependency (load) order */
    size_t nplugins;
    sh_plugin core_plugin; /* stands for the host itself in host->api calls */
    sh_service_rec *services;
    size_t nservices;
    sh_http *http;
    sh_db *db;
    sh_redis *redis;
    sh_ratelimit *rl;
    sh_workers *workers;
    sh_bus *bus;
    sh_metrics *metrics;
    sh_sio_server *sio;
    sh_media *media;
    sh_host_api api;
    struct sh_migration *migs; /* registered by plugins during init, in load order */
    size_t nmigs;
    int check_only; /* --check-config / --list-plugins: no servers, no database */
    int exit_code;
    struct event *sig_int, *sig_term, *sig_hup, *drain_timer;
};

/* host_api.c */
void sh_host_api_fill(sh_host_api *api);
void sh_plugin_note(sh_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const sh_auth_api *sh_host_auth(sh_host *h);
uint64_t sh_now_ms(void);
uint64_t sh_wall_ms(void);

/* migrations registered by plugins, applied by main before start (host.c). */
int sh_host_add_migration(sh_host *h, const char *plugin, const char *id, const char *sql);

/* plugin_loader.c: load, check, order, validate config (no init). 0 or -1 (printed). */
int sh_plugins_load(sh_host *h, char *err, size_t errlen);
int sh_plugins_init(sh_host *h, char *err, size_t errlen);
int sh_plugins_start(sh_host *h, char *err, size_t errlen);
void sh_plugins_stop(sh_host *h);
void sh_plugins_fini(sh_host *h);
void sh_plugins_list(sh_host *h, FILE *out);

#endif
