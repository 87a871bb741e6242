/* Existence checks behind op.has_table, op.has_column and op.has_index: the
 * catalog query is the dialect's (lm_dialect.has_sql). */
#include <string.h>

#include "lm.h"

void lm_introspect_render(const lm_dialect *d, lm_introspect kind, const char *a, const char *b,
                          lm_stmts *out) {
  const char *sql = lm_dialect_has_sql(d, (int)kind);
  lm_value v[2] = {{.t = LM_V_TEXT, .s = (char *)a, .len = strlen(a)},
                   {.t = LM_V_TEXT, .s = (char *)(b ? b : ""), .len = b ? strlen(b) : 0}};
  lm_stmts_add(out, lm_xstrdup(sql), v, kind == LM_HAS_COLUMN ? 2 : 1);
}
