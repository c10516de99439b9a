/*
 * db_stmt.c - see db_stmt.h. A fixed table of SH_DB_STMT_CACHE_MAX entries searched linearly,
 * FNV-1a hash first: at most 128 entries, compared by hash before the text.
 */
#include "core/db_stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static uint32_t sql_hash(const char *s) { /* FNV-1a */
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int sh_db_sql_cacheable(const char *sql) {
    static const char *const kw[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES"};
    const char *p = sql + strspn(sql, " \t\r\n(");
    size_t n = 0;
    while ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= 'a' && p[n] <= 'z'))
        n++;
    int ok = 0;
    for (size_t i = 0; i < sizeof kw / sizeof kw[0] && !ok; i++)
        ok = strlen(kw[i]) == n && strncasecmp(p, kw[i], n) == 0;
    const char *semi = strchr(p, ';');
    return ok && (!semi || semi[strspn(semi, "; \t\r\n")] == '\0');
}

const char *sh_db_stmts_find(const sh_db_pstmts *c, const char *sql) {
    if (!c->ents) return NULL;
    uint32_t hash = sql_hash(sql);
    for (int i = 0; i < SH_DB_STMT_CACHE_MAX; i++)
        if (c->ents[i].sql && c->ents[i].hash == hash && strcmp(c->ents[i].sql, sql) == 0) return c->ents[i].name;
    return NULL;
}

void sh_db_stmts_add(sh_db_pstmts *c, const char *sql, const char *name) {
    c->prepared++;
    if (!c->ents && !(c->ents = calloc(SH_DB_STMT_CACHE_MAX, sizeof *c->ents))) return;
    for (int i = 0; i < SH_DB_STMT_CACHE_MAX; i++) {
        sh_db_pstmt *p = &c->ents[i];
        if (p->sql) continue;
        if (!(p->sql = strdup(sql))) return;
        p->hash = sql_hash(sql);
        snprintf(p->name, sizeof p->name, "%s", name);
        return;
    }
}

void sh_db_stmts_drop(sh_db_pstmts *c, const char *name) {
    for (int i = 0; c->ents && i < SH_DB_STMT_CACHE_MAX; i++) {
        sh_db_pstmt *p = &c->ents[i];
        if (p->sql && strcmp(p->name, name) == 0) {
            free(p->sql);
            p->sql = NULL;
            return;
        }
    }
}

void sh_db_stmts_clear(sh_db_pstmts *c) {
    for (int i = 0; c->ents && i < SH_DB_STMT_CACHE_MAX; i++)
        free(c->ents[i].sql);
    free(c->ents);
    c->ents = NULL;
    c->prepared = 0;
}
