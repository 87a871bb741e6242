/* What the catalog readers of the dialects share (engine/dialect/catalog.c):
 * query results kept as strings, and the normalisation of SQL text. */
#ifndef LM_DIALECT_CATALOG_H
#define LM_DIALECT_CATALOG_H

#include "schema.h"

/** Makes room for one more element of v (n used of cap). */
#define LM_GROW(v, n, cap)                                                                         \
  do {                                                                                             \
    if ((n) >= (cap)) {                                                                            \
      (cap) = (cap) ? 2 * (cap) : 8;                                                               \
      (v) = lm_xrealloc((v), sizeof *(v) * (size_t)(cap));                                         \
    }                                                                                              \
  } while (0)

/** Every row of a query, as strings (NULL for SQL NULL). */
typedef struct lm_rows {
  int ncols, n, cap;
  char **cells; /* n * ncols */
} lm_rows;

/** Runs sql (with one optional text parameter $1) through d's own query
 * method (a dialect reads its own catalog) and keeps every row. */
int lm_rows_query(const lm_dialect *d, lm_conn *c, const char *sql, const char *param,
                  lm_rows *out);
void lm_rows_free(lm_rows *r);
/** The cell, or NULL (SQL NULL, or a column the rows do not have). */
const char *lm_rows_cell(const lm_rows *r, int row, int col);
/** The cell as an integer (0 for NULL). */
int lm_rows_int(const lm_rows *r, int row, int col);

/** Index just past the quoted run starting at s[i] (quote char s[i],
 * doubled to escape; '[' closes with ']'). */
size_t lm_sql_skip_quoted(const char *s, size_t n, size_t i);
/** Comments out, whitespace runs to one space, none just inside parentheses
 * or before a comma, no trailing semicolon: two spellings of the same
 * definition compare equal, and the text prints on one line. */
char *lm_catalog_norm_sql(const char *s, size_t n);
/** The columns of a primary key know they are part of it. */
void lm_catalog_mark_pk(lm_schema_table *t, const lm_schema_item *pk);

#endif
