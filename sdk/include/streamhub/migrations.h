/*
 * migrations.h - a plugin's migrations as one table, registered in one call from init.
 *
 * A table is {id, sql} pairs in id order ending with {NULL, NULL}. In this repository the build
 * generates it (tools/embed_sql turns plugins/<name>/migrations/NNN_name.sql into
 * `const sh_embedded_sql <name>_migrations[]`); an out-of-tree plugin can write one by hand:
 *
 *   static const sh_embedded_sql my_migrations[] = {
 *       {"001_items", "CREATE TABLE my_items (id bigserial PRIMARY KEY, name text NOT NULL);"},
 *       {NULL, NULL},
 *   };
 *   ...in init:
 *   if (sh_migrations_register(self, host, my_migrations) != SH_OK) return SH_ERR;
 *
 * ABI: header only. sh_migrations_register calls nothing but host->db_migration (ABI 1.0) and
 * host->log, so it adds no host function: SH_ABI_MAJOR / SH_ABI_MINOR do not change, and a plugin
 * that uses it loads into any 1.x host.
 */
#ifndef STREAMHUB_MIGRATIONS_H
#define STREAMHUB_MIGRATIONS_H

#include <streamhub/streamhub.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One migration: id ("001_users"; applied in id order within the plugin) and its SQL. */
typedef struct sh_embedded_sql {
    const char *id, *sql;
} sh_embedded_sql;

/* Register every migration of `table` with host->db_migration (init only), in table order. On the
 * first that fails: logs "cannot register migration <id>" (SH_LOG_ERROR) and returns that call's
 * status, registering none after it. SH_OK when all were registered. */
static inline int sh_migrations_register(sh_plugin *self, const sh_host_api *host, const sh_embedded_sql *table) {
    for (const sh_embedded_sql *m = table; m->id; m++) {
        int rc = host->db_migration(self, m->id, m->sql);
        if (rc != SH_OK) {
            host->log(self, SH_LOG_ERROR, "cannot register migration %s", m->id);
            return rc;
        }
    }
    return SH_OK;
}

#ifdef __cplusplus
}
#endif

#endif
