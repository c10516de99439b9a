/*
 * db_stmt.h - the prepared-statement cache of one database connection (see "Prepared statements"
 * in db.c): which statements the session has prepared, keyed by their SQL text, and which SQL may
 * be prepared at all. Pure bookkeeping: no libpq here. Loop thread.
 */
#ifndef SH_CORE_DB_STMT_H
#define SH_CORE_DB_STMT_H

#include <stdint.h>

#include "core/db.h"

typedef struct sh_db_pstmt {
    char *sql; /* NULL = free entry */
    uint32_t hash;
    char name[16];
} sh_db_pstmt;

typedef struct sh_db_pstmts {
    sh_db_pstmt *ents; /* SH_DB_STMT_CACHE_MAX entries once the first statement is recorded */
    int prepared;      /* statements prepared in this session (dropped entries still count) */
} sh_db_pstmts;

/* May this statement be prepared? A single DML/query statement: it starts (after blanks) with
 * SELECT, INSERT, UPDATE, DELETE, WITH or VALUES and has no ';' other than trailing ones (a ';'
 * inside a literal makes it merely uncached). Everything else keeps the unnamed path. */
int sh_db_sql_cacheable(const char *sql);
/* The name `sql` was prepared under in this session, or NULL. */
const char *sh_db_stmts_find(const sh_db_pstmts *c, const char *sql);
/* Record `name` as prepared for `sql` and count it (out of memory: counted, not recorded). */
void sh_db_stmts_add(sh_db_pstmts *c, const char *sql, const char *name);
/* Forget the statement prepared as `name` (it still counts towards the bound). */
void sh_db_stmts_drop(sh_db_pstmts *c, const char *name);
/* The session ended: forget everything. */
void sh_db_stmts_clear(sh_db_pstmts *c);

#endif
