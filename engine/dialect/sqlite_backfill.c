/* SQLite's part of a backfill (engine/backfill.c): reading a table's columns
 * and key, and writing a batch's new values. */
#include <stdlib.h>
#include <string.h>

#include "dialect/session.h"

void lm_sqlite_backfill_columns(const char *table, lm_stmts *out) {
  lm_value v = {.t = LM_V_TEXT, .s = (char *)table, .len = strlen(table)};
  lm_stmts_add(out, lm_xstrdup("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid"), &v,
               1);
}

/* A table without a primary key is walked by its rowid, under the first of
 * these names that no column hides. */
const char *const lm_sqlite_rowid_aliases[] = {"rowid", "_rowid_", "oid", NULL};

static void put_key_col(const lm_rows_update *u, lm_buf *b, int k) {
  if (u->rowid)
    lm_buf_puts(b, u->keys[k]);
  else
    lm_buf_ident(b, u->keys[k]);
}

/* One UPDATE of the row by its key, the same text for every row, so that the
 * connection binds each row's values to the one statement it keeps
 * prepared. (A multi-row VALUES list costs SQLite time per row that grows
 * with the number of rows to compile it: 20 us a row at 10,000 rows.) */
int lm_sqlite_write_rows(const lm_rows_update *u, lm_stmt_fn run, void *ud) {
  int nk = u->nkeys, nc = u->ncols;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  lm_buf_ident(&b, u->table);
  lm_buf_puts(&b, " SET ");
  for (int c = 0; c < nc; c++) {
    if (c) lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, u->cols[c]);
    lm_buf_puts(&b, " = ?");
  }
  lm_buf_puts(&b, " WHERE ");
  for (int k = 0; k < nk; k++) {
    if (k) lm_buf_puts(&b, " AND ");
    put_key_col(u, &b, k);
    lm_buf_puts(&b, " = ?");
  }
  lm_value *params = lm_xcalloc((size_t)(nc + nk), sizeof *params);
  int rc = 0;
  for (int r = 0; r < u->nrows && !rc; r++) {
    const lm_value *const *row = u->vals + (size_t)r * (size_t)(nk + nc);
    for (int c = 0; c < nc; c++)
      params[c] = *row[nk + c];
    for (int k = 0; k < nk; k++)
      params[nc + k] = *row[k];
    lm_stmt st = {b.s, params, nc + nk};
    rc = run(ud, &st);
  }
  free(params);
  lm_buf_free(&b);
  return rc;
}
