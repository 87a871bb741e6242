/* Move-and-copy of SQLite tables (SPEC §4, batch_alter_table).
 *
 * What SQLite's ALTER TABLE cannot do (change a column's type, nullability or
 * default; add or drop a constraint; drop a column that an index or a
 * constraint uses) is done the way SQLite's own documentation describes: a new
 * table with the new definition, every row copied into it, the old table
 * dropped, the new one renamed, and the indexes and triggers re-created.
 *
 * Three parts: a reader of SQLite's CREATE TABLE text (the only place where
 * CHECK constraints and constraint names are kept), the reflection of a table
 * through the dialect's query method, and a pure renderer that turns the
 * reflected table plus a list of op records into statements. The sink runs
 * them (lm_recreate_ops, engine/sink.c) through the dialect table's
 * recreate entry: nothing here runs a statement. */
#ifndef LM_SQLITE_RECREATE_H
#define LM_SQLITE_RECREATE_H

#include "recreate.h"

/* ---- reading CREATE TABLE ------------------------------------------------ */

typedef enum lm_rc_kind {
  LM_RC_PK,
  LM_RC_UNIQUE,
  LM_RC_CHECK,
  LM_RC_FK,
  /* column constraints only */
  LM_RC_NOTNULL,
  LM_RC_NULL,
  LM_RC_DEFAULT,
  LM_RC_COLLATE,
  LM_RC_GENERATED
} lm_rc_kind;

/** One column constraint or one table constraint, as written. */
typedef struct lm_rc_clause {
  lm_rc_kind kind;
  char *name;  /* CONSTRAINT name, unquoted; NULL when anonymous */
  char *text;  /* the whole clause, CONSTRAINT name included */
  char **cols; /* table PK, UNIQUE, FK: local columns, unquoted */
  int ncols;
  char *ref_table; /* FK: referenced table, unquoted */
  char *expr;      /* CHECK, GENERATED: the expression; DEFAULT: the value */
  int autoincrement;
} lm_rc_clause;

typedef struct lm_rc_column {
  char *name;     /* unquoted */
  char *name_sql; /* as written */
  char *type;     /* declared type as written, "" when none */
  char *text;     /* the whole definition as written */
  lm_rc_clause *clauses;
  int nclauses;
} lm_rc_column;

typedef struct lm_rc_create {
  char *table; /* unquoted */
  lm_rc_column *cols;
  int ncols;
  lm_rc_clause *cons; /* table constraints */
  int ncons;
  char *options; /* what follows the closing parenthesis (WITHOUT ROWID, STRICT) */
} lm_rc_create;

/** Splits a CREATE TABLE statement into column definitions and table
 * constraints. LM_EUSAGE naming the place when the text is not understood. */
int lm_rc_parse_create(const char *sql, lm_rc_create *out);
void lm_rc_create_free(lm_rc_create *c);
/** 1 when ident appears as an identifier (not inside a string) in sql at or
 * after its first opening parenthesis. Case-insensitive, quotes removed. */
int lm_rc_mentions(const char *sql, const char *ident);

/* ---- a reflected table ------------------------------------------------- */

typedef struct lm_rc_index {
  char *name;
  char *sql; /* NULL for the indexes SQLite makes for UNIQUE and PRIMARY KEY */
  int unique;
  char origin[4]; /* "c" CREATE INDEX, "u" UNIQUE, "pk" PRIMARY KEY */
  int partial;
  char **cols; /* key columns; "" for an expression */
  int ncols;
} lm_rc_index;

typedef struct lm_rc_trigger {
  char *name, *sql;
} lm_rc_trigger;

/** A foreign key of another table that points at this one. */
typedef struct lm_rc_fk_in {
  char *table;
  char *from;
  char *to; /* "" when it names the primary key implicitly */
} lm_rc_fk_in;

typedef struct lm_rc_table {
  char *name; /* as sqlite_master spells it */
  char *sql;
  lm_rc_create def;
  int *generated; /* per column of def: 1 for a generated column (not copied) */
  lm_rc_index *idx;
  int nidx;
  lm_rc_trigger *trg;
  int ntrg;
  lm_rc_fk_in *fkin;
  int nfkin;
} lm_rc_table;

/** Reads table through d->query on c. */
int lm_rc_reflect(const lm_dialect *d, lm_conn *c, const char *table, lm_rc_table **out);
/** A table from its CREATE TABLE text alone (no indexes or triggers): for
 * tests, and the base that reflection fills in. */
int lm_rc_table_from_sql(const char *sql, lm_rc_table **out);
void lm_rc_table_free(lm_rc_table *t);

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
int lm_sqlite_recreate(lm_conn *c, lm_recreate_req *rq);
/** lm_dialect.shadow_open: an empty in-memory database. */
int lm_sqlite_shadow_open(lm_conn **out);

#endif
