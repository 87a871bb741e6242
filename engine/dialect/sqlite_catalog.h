/* SQLite's catalog (engine/dialect/sqlite_catalog.c): the one reader of
 * SQLite's tables, for the schema model and for move-and-copy. */
#ifndef LM_SQLITE_CATALOG_H
#define LM_SQLITE_CATALOG_H

#include "schema.h"

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
  char **ref_cols; /* FK: referenced columns, unquoted; none for the table's key */
  int nref_cols;
  /* FK: the ON DELETE / ON UPDATE action in capitals, one space between
   * words ("SET NULL"); NULL when the clause has none */
  char *on_delete, *on_update;
  char *expr; /* CHECK, GENERATED: the expression; DEFAULT: the value */
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

/** What SQLite's ALTER TABLE ADD COLUMN makes of a column default. */
typedef enum lm_sqlite_default_class {
  LM_SQLITE_DEFAULT_EXPR, /* not a constant: ADD COLUMN refuses it on a table with rows */
  LM_SQLITE_DEFAULT_NULL, /* a constant NULL: refused with NOT NULL on a table with rows */
  LM_SQLITE_DEFAULT_CONST /* a constant other than NULL: ADD COLUMN takes it */
} lm_sqlite_default_class;

/** The class of sql, a default as written after DEFAULT in a column
 * definition (without the parentheses that make an expression of it). A
 * constant is what SQLite evaluates without running the expression: a
 * literal (number, string, blob, NULL, TRUE, FALSE, a bare word, which
 * SQLite reads as a string), signed, in parentheses or CAST; anything
 * else (CURRENT_TIMESTAMP, a function, an operator, COLLATE) is EXPR. */
lm_sqlite_default_class lm_sqlite_default_class_of(const char *sql);

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

/** SQLite compares identifiers without regard to ASCII case. */
int lm_sqlite_ieq(const char *a, const char *b);

/* ---- the schema model ------------------------------------------------------------ */

/** lm_dialect.reflect_schema of SQLite. */
int lm_sqlite_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                             const char *vt_table, lm_schema *out);

#endif
