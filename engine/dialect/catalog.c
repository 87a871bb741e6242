/* What the catalog readers of the dialects (sqlite_catalog.c,
 * postgres_catalog.c) share: query results as strings, and the one
 * normalisation of SQL text that makes two spellings of a definition equal. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"

/* ---- query results as strings --------------------------------------------------- */

static int collect(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  LM_UNUSED(names);
  lm_rows *r = ud;
  if (r->n == 0 && r->cap == 0) r->ncols = ncols;
  if (ncols != r->ncols) return 0;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 16;
    r->cells = lm_xrealloc(r->cells, (size_t)r->cap * (size_t)(ncols ? ncols : 1) * sizeof(char *));
  }
  char **row = r->cells + (size_t)r->n * (size_t)ncols;
  for (int i = 0; i < ncols; i++) {
    const lm_value *v = &vals[i];
    switch (v->t) {
    case LM_V_NULL: row[i] = NULL; break;
    case LM_V_INT: row[i] = lm_xasprintf("%lld", v->i); break;
    case LM_V_BOOL: row[i] = lm_xstrdup(v->i ? "1" : "0"); break;
    case LM_V_FLOAT: row[i] = lm_xasprintf("%.17g", v->f); break;
    case LM_V_TEXT: row[i] = lm_xstrndup(v->s ? v->s : "", v->s ? v->len : 0); break;
    }
  }
  r->n++;
  return 0;
}

void lm_rows_free(lm_rows *r) {
  for (size_t i = 0; i < (size_t)r->n * (size_t)r->ncols; i++)
    free(r->cells[i]);
  free(r->cells);
  memset(r, 0, sizeof *r);
}

const char *lm_rows_cell(const lm_rows *r, int row, int col) {
  return col < r->ncols ? r->cells[(size_t)row * (size_t)r->ncols + (size_t)col] : NULL;
}

int lm_rows_int(const lm_rows *r, int row, int col) {
  const char *s = lm_rows_cell(r, row, col);
  return s ? atoi(s) : 0;
}

/* Runs sql (with one optional text parameter) and keeps every row. */
int lm_rows_query(const lm_dialect *d, lm_conn *c, const char *sql, const char *param,
                  lm_rows *out) {
  memset(out, 0, sizeof *out);
  lm_value v = {.t = LM_V_TEXT, .s = (char *)param, .len = param ? strlen(param) : 0};
  lm_stmt st = {(char *)sql, param ? &v : NULL, param ? 1 : 0};
  int rc = d->query(c, &st, collect, out);
  if (rc) lm_rows_free(out);
  return rc;
}

/* ---- SQL text ---------------------------------------------------------------------- */

/* Index just past the quoted run starting at s[i] (quote char s[i], doubled
 * to escape; '[' closes with ']'). */
size_t lm_sql_skip_quoted(const char *s, size_t n, size_t i) {
  char close = s[i] == '[' ? ']' : s[i];
  for (i++; i < n; i++) {
    if (s[i] != close) continue;
    if (close != ']' && i + 1 < n && s[i + 1] == close) {
      i++;
      continue;
    }
    return i + 1;
  }
  return n;
}

/* Comments out, whitespace runs to one space, none just inside parentheses
 * or before a comma, no trailing semicolon: two spellings of the same
 * definition compare equal, and the text prints on one line. */
char *lm_catalog_norm_sql(const char *s, size_t n) {
  lm_buf b;
  lm_buf_init(&b);
  int space = 0;
  size_t i = 0;
  while (i < n) {
    char ch = s[i];
    if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n')
        i++;
      space = 1;
      continue;
    }
    if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
      const char *e = NULL;
      for (size_t k = i + 2; k + 1 < n; k++)
        if (s[k] == '*' && s[k + 1] == '/') {
          e = s + k;
          break;
        }
      i = e ? (size_t)(e - s) + 2 : n;
      space = 1;
      continue;
    }
    if (isspace((unsigned char)ch)) {
      space = 1;
      i++;
      continue;
    }
    if (space && b.len > 0 && b.s[b.len - 1] != '(' && ch != ')' && ch != ',') lm_buf_putc(&b, ' ');
    space = 0;
    if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
      size_t e = lm_sql_skip_quoted(s, n, i);
      lm_buf_put(&b, s + i, e - i);
      i = e;
      continue;
    }
    lm_buf_putc(&b, ch);
    i++;
  }
  while (b.len > 0 && (b.s[b.len - 1] == ';' || b.s[b.len - 1] == ' '))
    b.s[--b.len] = 0;
  return lm_buf_steal(&b);
}

/* The columns of a primary key know they are part of it. */
void lm_catalog_mark_pk(lm_schema_table *t, const lm_schema_item *pk) {
  for (int i = 0; i < pk->ncols; i++)
    for (int j = 0; j < t->ncols; j++)
      if (strcmp(t->cols[j].name, pk->cols[i]) == 0) t->cols[j].pk = 1;
}
