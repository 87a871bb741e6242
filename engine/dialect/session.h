/* The dialects' session methods that live in files of their own
 * (sqlite_backfill.c, postgres_backfill.c), for their dialect tables. */
#ifndef LM_DIALECT_SESSION_H
#define LM_DIALECT_SESSION_H

#include "lm.h"

void lm_sqlite_backfill_columns(const char *table, lm_stmts *out);
int lm_sqlite_write_rows(const lm_rows_update *u, lm_stmt_fn run, void *ud);
/* the SQL function lm_sqlite_write_rows uses, on a new connection */
struct sqlite3;
int lm_sqlite_backfill_functions(struct sqlite3 *db);
extern const char *const lm_sqlite_rowid_aliases[];

void lm_pg_backfill_columns(const char *table, lm_stmts *out);
int lm_pg_write_rows(const lm_rows_update *u, lm_stmt_fn run, void *ud);

#endif
