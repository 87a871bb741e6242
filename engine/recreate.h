/* batch_alter_table and move-and-copy, as generic code sees them.
 *
 * What SQLite's ALTER TABLE cannot do is done by a move-and-copy of the
 * table (engine/dialect/sqlite_recreate.c). The sink decides nothing about
 * it: it asks the dialect (recreate_wanted) whether an operation may need
 * its table read first, brings its shadow up to date, and lets the dialect
 * read the table and turn the operations into statements (recreate), which
 * it then runs. A dialect without those entries renders every operation on
 * its own. */
#ifndef LM_RECREATE_H
#define LM_RECREATE_H

#include "lm.h"

typedef enum lm_recreate_mode {
  LM_RECREATE_AUTO,   /* move-and-copy only when an operation needs it */
  LM_RECREATE_ALWAYS, /* always one move-and-copy */
  LM_RECREATE_NEVER   /* plain ALTERs; an operation that needs more is an error */
} lm_recreate_mode;

/** Runs ops (all on table) on the sink (engine/sink.c): one move-and-copy
 * when the dialect, the mode and the operations call for it, plain
 * statements otherwise. */
int lm_recreate_ops(lm_sink *s, const char *table, const lm_op *const *ops, int n,
                    lm_recreate_mode mode);

/* ---- the dialect's entries (engine/dialect/dialect.c) ------------------------ */

/** 1 when op may need its table read and rewritten (a move-and-copy). */
int lm_dialect_recreate_wanted(const lm_dialect *d, const lm_op *op);
/** Whether the dialect reads and rewrites tables (recreate). */
int lm_dialect_can_recreate(const lm_dialect *d);
/** The dialect's recreate (see lm_recreate_req). */
int lm_dialect_recreate(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq);
/** An empty scratch database that --sql replays its script into, so that
 * recreate can read tables offline; *out stays NULL (and 0 is returned) for
 * a dialect that needs none. */
int lm_dialect_shadow_open(const lm_dialect *d, lm_conn **out);
/** What a --sql script with a shadow starts with (NULL: nothing). */
const char *lm_dialect_shadow_preamble(const lm_dialect *d);

/* ---- op records kept beyond their call (batch_alter_table, op_batch.c) ------ */

typedef struct lm_rc_batch lm_rc_batch;

lm_rc_batch *lm_rc_batch_new(void);
void lm_rc_batch_free(lm_rc_batch *b);
/** Adds a deep copy of op. */
void lm_rc_batch_add(lm_rc_batch *b, const lm_op *op);
int lm_rc_batch_count(const lm_rc_batch *b);
/** The records, in the order they were added (valid until the next add). */
const lm_op *const *lm_rc_batch_ops(lm_rc_batch *b);

/* ---- pieces of the renderer (engine/render.c) used by move-and-copy ---------- */

/** A column definition as CREATE TABLE would write it. */
int lm_render_column_sql(const lm_dialect *d, const lm_column *c, const char *table, lm_buf *b);
/** [CONSTRAINT "name"] followed by the constraint's body. */
int lm_render_constraint_sql(const lm_dialect *d, lm_con_kind kind, const lm_constraint *c,
                             const char *name, const char *table, lm_buf *b);
/** A server default as it follows DEFAULT in a column definition. */
void lm_render_default_ddl(const lm_dialect *d, const lm_default *v, lm_buf *b);

#endif
