/* SQLite's part of a backfill (engine/backfill.c): reading a table's columns
 * and key, and writing a batch's new values. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "dialect/session.h"

void lm_sqlite_backfill_columns(const char *table, lm_stmts *out) {
  lm_value v = {.t = LM_V_TEXT, .s = (char *)table, .len = strlen(table)};
  lm_stmts_add(out, lm_xstrdup("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid"), &v,
               1);
}

/* A table without a primary key is walked by its rowid, under the first of
 * these names that no column hides. */
const char *const lm_sqlite_rowid_aliases[] = {"rowid", "_rowid_", "oid", NULL};

/* ---- a batch's rows as one UPDATE over its key range ---------------------- */

/* The rows the statement running now writes (this thread's connection runs
 * one at a time), and where the last lookup found its row: the UPDATE
 * visits them in key order, so the next one is almost always next. */
static _Thread_local struct {
  const lm_rows_update *u;
  int hint;
} writing;

/* The row of u whose (single, integer) key is key, or -1. */
static int row_of_key(const lm_rows_update *u, int *hint, sqlite3_int64 key) {
  size_t per = (size_t)(u->nkeys + u->ncols);
  int h = *hint;
  for (int r = h; r < u->nrows && r <= h + 1; r++)
    if (u->vals[(size_t)r * per]->i == key) return *hint = r;
  int lo = 0, hi = u->nrows - 1;
  while (lo <= hi) {
    int mid = lo + (hi - lo) / 2;
    long long k = u->vals[(size_t)mid * per]->i;
    if (k == key) return *hint = mid;
    if (k < key)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -1;
}

/* luamig_backfill_value(key, i): the new value of the i-th column set for
 * the row whose key is key; with i = -1, whether that row is one of the
 * batch's. Only while write_rows runs its statement. */
static void backfill_value(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  const lm_rows_update *u = writing.u;
  if (!u) {
    sqlite3_result_error(ctx, "luamig_backfill_value is luamig's own, for its backfill", -1);
    return;
  }
  int i = sqlite3_value_int(argv[1]);
  int r = sqlite3_value_type(argv[0]) == SQLITE_INTEGER
              ? row_of_key(u, &writing.hint, sqlite3_value_int64(argv[0]))
              : -1;
  if (i < 0) {
    sqlite3_result_int(ctx, r >= 0);
    return;
  }
  if (r < 0 || i >= u->ncols) {
    sqlite3_result_error(ctx, "luamig_backfill_value: no such row or column in the batch", -1);
    return;
  }
  const lm_value *v =
      u->vals[(size_t)r * (size_t)(u->nkeys + u->ncols) + (size_t)u->nkeys + (size_t)i];
  switch (v->t) {
  case LM_V_INT: sqlite3_result_int64(ctx, (sqlite3_int64)v->i); break;
  case LM_V_FLOAT: sqlite3_result_double(ctx, v->f); break;
  case LM_V_BOOL: sqlite3_result_int(ctx, v->i != 0); break;
  case LM_V_TEXT:
    /* the batch's values outlive the statement, which is reset before
     * write_rows returns */
    sqlite3_result_text64(ctx, v->s ? v->s : "", v->s ? (sqlite3_uint64)v->len : 0, SQLITE_STATIC,
                          SQLITE_UTF8);
    break;
  default: sqlite3_result_null(ctx); break;
  }
}

int lm_sqlite_backfill_functions(sqlite3 *db) {
  return sqlite3_create_function_v2(db, "luamig_backfill_value", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                    NULL, backfill_value, NULL, NULL, NULL);
}

/* A batch whose keys are one integer column, rising, filling at least half
 * of their range: one UPDATE over the range writes it, walking the table in
 * key order instead of looking each row up. */
static int dense_range(const lm_rows_update *u, long long *first, long long *last) {
  if (u->nkeys != 1 || u->nrows < 2) return 0;
  for (int c = 0; c < u->ncols; c++)
    if (strcasecmp(u->cols[c], u->keys[0]) == 0) return 0;
  size_t per = (size_t)(u->nkeys + u->ncols);
  long long prev = 0;
  for (int r = 0; r < u->nrows; r++) {
    const lm_value *k = u->vals[(size_t)r * per];
    if (k->t != LM_V_INT || (r > 0 && k->i <= prev)) return 0;
    prev = k->i;
  }
  *first = u->vals[0]->i;
  *last = prev;
  return (unsigned long long)*last - (unsigned long long)*first < 2 * (unsigned long long)u->nrows;
}

static void put_key_col(const lm_rows_update *u, lm_buf *b, int k) {
  if (u->rowid)
    lm_buf_puts(b, u->keys[k]);
  else
    lm_buf_ident(b, u->keys[k]);
}

/* UPDATE t SET c = luamig_backfill_value(key, 0), … WHERE key >= first AND
 * key <= last AND luamig_backfill_value(key, -1): the rows of the range that
 * are not the batch's (left out by the where, skipped by the function, or
 * setting other columns) are read and left alone. The text is the same for
 * every batch that sets these columns, so the statement stays prepared. */
static int write_range(const lm_rows_update *u, long long first, long long last, lm_stmt_fn run,
                       void *ud) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  lm_buf_ident(&b, u->table);
  lm_buf_puts(&b, " SET ");
  for (int c = 0; c < u->ncols; c++) {
    if (c) lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, u->cols[c]);
    lm_buf_puts(&b, " = luamig_backfill_value(");
    put_key_col(u, &b, 0);
    lm_buf_printf(&b, ", %d)", c);
  }
  lm_buf_puts(&b, " WHERE ");
  put_key_col(u, &b, 0);
  lm_buf_puts(&b, " >= $1 AND ");
  put_key_col(u, &b, 0);
  lm_buf_puts(&b, " <= $2 AND luamig_backfill_value(");
  put_key_col(u, &b, 0);
  lm_buf_puts(&b, ", -1)");
  lm_value range[2] = {{.t = LM_V_INT, .i = first}, {.t = LM_V_INT, .i = last}};
  lm_stmt st = {b.s, range, 2};
  writing.u = u;
  writing.hint = 0;
  int rc = run(ud, &st);
  writing.u = NULL;
  lm_buf_free(&b);
  return rc;
}

/* A dense batch as one UPDATE over its range (write_range); any other as
 * one UPDATE of each row by its key, the same text for every row, so that
 * the connection binds each row's values to the one statement it keeps
 * prepared. (A multi-row VALUES list costs SQLite time per row that grows
 * with the number of rows to compile it: 20 us a row at 10,000 rows. Row by
 * row, each statement looks its row up and runs on its own: 200,000 rows in
 * batches of 500 took 0.61 s against 0.54 s over ranges.) */
int lm_sqlite_write_rows(const lm_rows_update *u, lm_stmt_fn run, void *ud) {
  long long first, last;
  if (dense_range(u, &first, &last)) return write_range(u, first, last, run, ud);
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
