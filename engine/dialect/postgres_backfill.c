/* PostgreSQL's part of a backfill (engine/backfill.c): reading a table's
 * columns and primary key, and writing a batch's new values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/session.h"

void lm_pg_backfill_columns(const char *table, lm_stmts *out) {
  lm_buf name;
  lm_buf_init(&name);
  lm_buf_ident(&name, table);
  lm_value v = {.t = LM_V_TEXT, .s = name.s, .len = name.len};
  lm_stmts_add(out,
               lm_xstrdup("SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), "
                          "coalesce((SELECT k.ord FROM unnest(i.indkey) WITH ORDINALITY AS "
                          "k(attnum, ord) "
                          "WHERE k.attnum = a.attnum), 0)::int "
                          "FROM pg_catalog.pg_attribute a "
                          "LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND "
                          "i.indisprimary "
                          "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT "
                          "a.attisdropped "
                          "ORDER BY a.attnum"),
               &v, 1);
  lm_buf_free(&name);
}

/* One value as an element of an array literal. */
static void put_element(lm_buf *b, const lm_value *v) {
  switch (v->t) {
  case LM_V_NULL: lm_buf_puts(b, "NULL"); return;
  case LM_V_INT: lm_buf_printf(b, "%lld", (long long)v->i); return;
  case LM_V_BOOL: lm_buf_puts(b, v->i ? "t" : "f"); return;
  case LM_V_FLOAT:
    if (isnan(v->f))
      lm_buf_puts(b, "NaN");
    else if (isinf(v->f))
      lm_buf_puts(b, v->f > 0 ? "Infinity" : "-Infinity");
    else
      lm_buf_printf(b, "%.17g", v->f);
    return;
  case LM_V_TEXT:
    lm_buf_putc(b, '"');
    for (size_t i = 0; i < v->len; i++) {
      if (v->s[i] == '"' || v->s[i] == '\\') lm_buf_putc(b, '\\');
      lm_buf_putc(b, v->s[i]);
    }
    lm_buf_putc(b, '"');
    return;
  }
}

/* t.key OP ($first, …): a row-value comparison for a composite key. */
static void put_key_cmp(const lm_rows_update *u, lm_buf *b, const char *op, int first) {
  int n = u->nkeys;
  if (n > 1) lm_buf_putc(b, '(');
  for (int k = 0; k < n; k++) {
    if (k) lm_buf_puts(b, ", ");
    lm_buf_ident(b, u->table);
    lm_buf_putc(b, '.');
    lm_buf_ident(b, u->keys[k]);
  }
  lm_buf_printf(b, "%s %s ", n > 1 ? ")" : "", op);
  if (n > 1) lm_buf_putc(b, '(');
  for (int k = 0; k < n; k++)
    lm_buf_printf(b, k ? ", $%d" : "$%d", first + k);
  if (n > 1) lm_buf_putc(b, ')');
}

/* The rows as
 *   UPDATE t SET c = lm_v.c … FROM unnest($1::type[], …) AS lm_v (lm_k1, …, c, …)
 *   WHERE t.k = lm_v.lm_k1 … AND t.k >= first AND t.k <= last
 * one array parameter per column, typed with the column's own type, so the
 * statement has the same few parameters whatever the batch size (a VALUES
 * list of a parameter per value cost the server time that grew with the
 * batch). The key range of the rows (they are in key order) bounds the
 * table's side of the join to the batch whatever plan is chosen. */
int lm_pg_write_rows(const lm_rows_update *u, lm_stmt_fn run, void *ud) {
  int nk = u->nkeys, nc = u->ncols;
  int per_row = nk + nc;
  lm_buf *arr = lm_xcalloc((size_t)per_row, sizeof *arr);
  for (int i = 0; i < per_row; i++) {
    lm_buf_init(&arr[i]);
    lm_buf_putc(&arr[i], '{');
  }
  for (int r = 0; r < u->nrows; r++) {
    const lm_value *const *row = u->vals + (size_t)r * (size_t)per_row;
    for (int i = 0; i < per_row; i++) {
      if (r) lm_buf_putc(&arr[i], ',');
      put_element(&arr[i], row[i]);
    }
  }
  lm_value *params = lm_xcalloc((size_t)(per_row + 2 * nk), sizeof *params);
  for (int i = 0; i < per_row; i++) {
    lm_buf_putc(&arr[i], '}');
    params[i] = (lm_value){.t = LM_V_TEXT, .s = arr[i].s, .len = arr[i].len};
  }
  const lm_value *const *first = u->vals;
  const lm_value *const *last = u->vals + (size_t)(u->nrows - 1) * (size_t)per_row;
  for (int k = 0; k < nk; k++) {
    params[per_row + k] = *first[k];
    params[per_row + nk + k] = *last[k];
  }
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  lm_buf_ident(&b, u->table);
  lm_buf_puts(&b, " SET ");
  for (int c = 0; c < nc; c++) {
    if (c) lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, u->cols[c]);
    lm_buf_puts(&b, " = lm_v.");
    lm_buf_ident(&b, u->cols[c]);
  }
  lm_buf_puts(&b, " FROM unnest(");
  for (int i = 0; i < per_row; i++) {
    const char *type = i < nk ? u->key_types[i] : u->col_types[i - nk];
    lm_buf_printf(&b, "%s$%d::%s[]", i ? ", " : "", i + 1, type && *type ? type : "text");
  }
  lm_buf_puts(&b, ") AS lm_v (");
  for (int k = 0; k < nk; k++)
    lm_buf_printf(&b, "%slm_k%d", k ? ", " : "", k + 1);
  for (int c = 0; c < nc; c++) {
    lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, u->cols[c]);
  }
  lm_buf_puts(&b, ") WHERE ");
  for (int k = 0; k < nk; k++) {
    if (k) lm_buf_puts(&b, " AND ");
    lm_buf_ident(&b, u->table);
    lm_buf_putc(&b, '.');
    lm_buf_ident(&b, u->keys[k]);
    lm_buf_printf(&b, " = lm_v.lm_k%d", k + 1);
  }
  lm_buf_puts(&b, " AND ");
  put_key_cmp(u, &b, ">=", per_row + 1);
  lm_buf_puts(&b, " AND ");
  put_key_cmp(u, &b, "<=", per_row + nk + 1);
  lm_stmt st = {b.s, params, per_row + 2 * nk};
  int rc = run(ud, &st);
  lm_buf_free(&b);
  for (int i = 0; i < per_row; i++)
    lm_buf_free(&arr[i]);
  free(arr);
  free(params);
  return rc;
}
