/* PostgreSQL's rendering (postgres_render.c), for its dialect table (postgres.c). */
#ifndef LUAMIG_POSTGRES_RENDER_H
#define LUAMIG_POSTGRES_RENDER_H

#include "lm.h"

int lm_pg_render(const lm_dialect *d, const lm_op *op, lm_stmts *out);
void lm_pg_literal(const lm_dialect *d, const lm_value *v, lm_buf *b);
extern const struct lm_type_pair lm_pg_type_names[];
extern const char *const lm_pg_known_types[];
extern const struct lm_type_pair lm_pg_reflected_types[];

#endif
