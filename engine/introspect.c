/* Existence checks behind op.has_table, op.has_column and op.has_index. */
#include <string.h>

#include "lm.h"

void lm_introspect_render(const lm_dialect *d, lm_introspect kind, const char *a, const char *b,
                          lm_stmts *out) {
  static const char *const sql[2][3] = {
      {"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
       "SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
       "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = $1"},
      {"SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1",
       "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND "
       "table_name = $1 AND column_name = $2",
       "SELECT 1 FROM pg_catalog.pg_indexes WHERE schemaname = current_schema() AND indexname = "
       "$1"}};
  lm_value v[2] = {{.t = LM_V_TEXT, .s = (char *)a, .len = strlen(a)},
                   {.t = LM_V_TEXT, .s = (char *)(b ? b : ""), .len = b ? strlen(b) : 0}};
  lm_stmts_add(out, lm_xstrdup(sql[d->id == LM_POSTGRESQL][kind]), v,
               kind == LM_HAS_COLUMN ? 2 : 1);
}
