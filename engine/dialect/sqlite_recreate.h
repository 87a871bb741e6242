/* Move-and-copy of SQLite tables (SPEC §4, batch_alter_table).
 *
 * What SQLite's ALTER TABLE cannot do (change a column's type, nullability or
 * default; add or drop a constraint; add a column that is a primary key, has
 * a default that is not a constant, or is NOT NULL without a default; drop a
 * column that an index or a constraint uses) is done the way SQLite's own
 * documentation describes: a new table with the new definition, every row
 * copied into it, the old table dropped, the new one renamed, and the
 * indexes and triggers re-created.
 *
 * The table is read by SQLite's catalog (sqlite_catalog.h: the CREATE TABLE
 * parser and the reflection of a table); here is the decision and a pure
 * renderer that turns the reflected table plus a list of op records into
 * statements. The sink runs them (lm_recreate_ops, engine/sink.c), reaching
 * this through the dialect table's recreate entry: nothing here runs a
 * statement. */
#ifndef LM_SQLITE_RECREATE_H
#define LM_SQLITE_RECREATE_H

#include "recreate.h"
#include "sqlite_catalog.h"

/* ---- deciding and rendering ------------------------------------------------ */

/** 1 when op on t needs a move-and-copy on SQLite (ALTER TABLE cannot do it). */
int lm_rc_needs(const lm_rc_table *t, const lm_op *op);
/** Renders one move-and-copy of t applying ops in order. Pure: no I/O. A
 * renamed column (alter_column new_column_name) must already be renamed in t;
 * ops may still name it by its old name. All or nothing, like lm_render. */
int lm_rc_render(const lm_dialect *d, const lm_rc_table *t, const lm_op *const *ops, int n,
                 lm_stmts *out);

/* ---- the dialect's entries ----------------------------------------------------- */

/** lm_dialect.recreate_wanted: op may need a move-and-copy. */
int lm_sqlite_recreate_wanted(const lm_op *op);
/** lm_dialect.recreate: reads rq->table on c and renders rq->ops. */
int lm_sqlite_recreate(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq);
/** lm_dialect.shadow_open: an empty in-memory database. */
int lm_sqlite_shadow_open(const lm_dialect *d, lm_conn **out);

#endif
