/* The model and autogenerate (SPEC §10): the model loaded into the schema
 * model (bindings/model.c), the comparison of two schemas into op records
 * (compare.c), and the writer of op records as Lua (lua_writer.c). */
#ifndef LM_COMPARE_H
#define LM_COMPARE_H

#include "luamig/compare.h"
#include "schema.h"

/* ---- op records applied to a schema (schema_apply.c) --------------------------------- */

/** Adds the table a create_table record describes, types and defaults
 * rendered for d. */
lm_schema_table *lm_schema_apply_create_table(lm_schema *s, const lm_dialect *d, const lm_op *op);
/** Applies one op record; *untracked counts op.execute calls (raw SQL cannot
 * be followed). LM_EMIGRATE naming the op's file and line when it names
 * something the schema lacks. */
int lm_schema_apply(lm_schema *s, const lm_dialect *d, const lm_op *op, int *untracked);
/** The schema p's chain produces at its heads, by applying every upgrade's
 * op records in memory (no database); warns on p->err about op.execute. */
int lm_chain_schema_memory(lm_project *p, const lm_dialect *d, lm_schema **out);
/** The same for the revisions state lists (state[i]: steps applied of
 * p->graph.revs[i]), only when memory gives what a database would: no
 * op.execute, no read of data (context.offline is false, as in a real run).
 * Otherwise *out is NULL, *why (malloc'd) says why not, and the return is 0
 * (LM_EINTR when interrupted). */
int lm_chain_schema_memory_exact(lm_project *p, const lm_dialect *d, const int *state,
                                 lm_schema **out, char **why);

/* ---- writing Lua ------------------------------------------------------------------ */

/** Appends one op record as the `op.X(...)` call a person would write, with
 * indent before each line, and a newline. */
void lm_lua_write_op(lm_buf *b, const lm_op *op, const char *indent);

/* ---- ops from a schema ------------------------------------------------------------- */

#endif
