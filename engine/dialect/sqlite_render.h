/* SQLite's rendering (sqlite_render.c), for its dialect table (sqlite.c). */
#ifndef LUAMIG_SQLITE_RENDER_H
#define LUAMIG_SQLITE_RENDER_H

#include "lm.h"

int lm_sqlite_render(const lm_dialect *d, const lm_op *op, lm_stmts *out);
void lm_sqlite_literal(const lm_dialect *d, const lm_value *v, lm_buf *b);
int lm_sqlite_default_needs_parens(const char *expr);
extern const struct lm_type_pair lm_sqlite_type_names[];
extern const struct lm_type_pair lm_sqlite_sql_spellings[];
extern const char *const lm_sqlite_known_types[];
extern const struct lm_type_pair lm_sqlite_reflected_types[];

#endif
