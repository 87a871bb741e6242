/* The schema of a database as a plain, deterministic model: what `luamig
 * schema` prints and what `luamig check --roundtrip` compares. Introspection
 * (schema_introspect.c) fills the model from sqlite_master and the pragmas,
 * or from pg_catalog; everything else here is pure, so the rendering and the
 * diff are unit-tested on hand-made models. */
#ifndef LM_SCHEMA_H
#define LM_SCHEMA_H

#include "lm.h"
#include "luamig/schema.h"

typedef struct lm_schema_column {
  char *name;
  char *type;    /* as the database reports it, normalised */
  int notnull;   /* NOT NULL */
  char *def;     /* DEFAULT expression, or NULL */
  char *extra;   /* identity or generated clause, or NULL */
  char *comment; /* column comment (PostgreSQL), or NULL */
  /* structured facts for the comparison (compare.c) */
  int pk;             /* part of the primary key */
  char *ltype;        /* the model's luamig type as written; NULL when read from a database */
  char *renamed_from; /* the model's renamed_from, or NULL */
  int autoincrement;  /* the model's autoincrement option: -1 unset, 0, 1 */
  char *collation;    /* COLLATE other than the type's default, or NULL (not compared) */
} lm_schema_column;

/* Constraint kinds, in the order they are printed. */
typedef enum lm_schema_con_kind {
  LM_SCON_PK,
  LM_SCON_UNIQUE,
  LM_SCON_FK,
  LM_SCON_CHECK,
  LM_SCON_EXCLUDE
} lm_schema_con_kind;

/* Kinds of the objects that belong to no table. */
typedef enum lm_schema_obj_kind {
  LM_SOBJ_VIEW,
  LM_SOBJ_MATVIEW,
  LM_SOBJ_SEQUENCE,
  LM_SOBJ_TYPE
} lm_schema_obj_kind;

/** A constraint, index, trigger or free-standing object: a name and its
 * canonical definition. Two items are equal when both are. */
typedef struct lm_schema_item {
  char *name; /* NULL for an unnamed SQLite constraint */
  char *def;  /* constraint body ("UNIQUE (a)"), or the whole CREATE statement */
  int kind;   /* lm_schema_con_kind or lm_schema_obj_kind; 0 for indexes and triggers */
  /* structured facts for the comparison (compare.c), filled by both readers
   * and the model: constraint or index columns (an index entry may be an
   * expression), desc per index column, the referenced table and columns
   * and the actions of a foreign key (NULL for NO ACTION), the expression
   * of a CHECK or the WHERE of a partial index, unique for an index */
  char **cols;
  int *desc;   /* per index entry: LM_INDEX_DESC | LM_INDEX_NULLS_OTHER */
  char **opts; /* per index entry: COLLATE / operator class (canonical), or NULL */
  int ncols;
  char *ref_table;
  char **ref_cols;
  int nref;
  char *ondelete, *onupdate;
  char *expr;
  int unique;
  /* a CHECK's expr, or a partial index's WHERE, as the database rewrites it
   * (lm_project_canonical_checks), for comparison with the catalog's text;
   * expr stays what was written */
  char *expr_db;
  /* an index's access method other than the default (gin, gist, ...), or
   * NULL */
  char *method;
  /* an index's non-key columns (INCLUDE), in order */
  char **include;
  int ninclude;
} lm_schema_item;

typedef struct lm_schema_list {
  lm_schema_item *v;
  int n, cap;
} lm_schema_list;

typedef struct lm_schema_table {
  char *name;
  lm_schema_column *cols; /* ordinal order */
  int ncols, capcols;
  lm_schema_list constraints, indexes, triggers;
  char *renamed_from; /* the model's renamed_from, or NULL */
  char *file;         /* the model: where the table is declared */
  int line;
} lm_schema_table;

typedef struct lm_schema {
  lm_schema_table **tables;
  int ntables, cap;
  lm_schema_list objects; /* views, sequences, types */
} lm_schema;

/* ---- building (introspection and tests) ------------------------------------ */

lm_schema *lm_schema_new(void);
/** Adds an empty table; the pointer stays valid until lm_schema_free. */
lm_schema_table *lm_schema_add_table(lm_schema *s, const char *name);
/** A deep copy of s. */
lm_schema *lm_schema_copy(const lm_schema *s);
/** The table of that name, or NULL. */
lm_schema_table *lm_schema_find_table(const lm_schema *s, const char *name);
/** t's column called name (exactly), or NULL; a NULL t: NULL. */
lm_schema_column *lm_schema_find_column(const lm_schema_table *t, const char *name);
/** The table's primary key among its constraints, or NULL. */
const lm_schema_item *lm_schema_pk(const lm_schema_table *t);
/** Removes a table / a column (nothing when there is none). */
void lm_schema_drop_table(lm_schema *s, const char *name);
void lm_schema_drop_column(lm_schema_table *t, const char *name);
/** Appends a column (strings copied; def may be NULL). */
lm_schema_column *lm_schema_add_column(lm_schema_table *t, const char *name, const char *type,
                                       int notnull, const char *def);
/** Adds a constraint; the item may be completed (structured facts) until the
 * next item is added to the same table. */
lm_schema_item *lm_schema_add_constraint(lm_schema_table *t, lm_schema_con_kind kind,
                                         const char *name, const char *def);
/** def: the whole CREATE INDEX statement, without a semicolon. */
lm_schema_item *lm_schema_add_index(lm_schema_table *t, const char *name, const char *def);
/** Frees what an item holds (the item itself is in its list) and zeroes it. */
void lm_schema_item_clear(lm_schema_item *it);
/** Appends a column (desc: index order) to an item's column list. */
void lm_schema_item_add_col(lm_schema_item *it, const char *col, int desc);
/** Sets an index's INCLUDE columns (copied; replaces any). */
void lm_schema_item_set_include(lm_schema_item *it, const char *const *cols, int n);
/** Appends an index entry: key (a column, or an expression), its COLLATE
 * / operator class text (canonical, or NULL) and order (LM_INDEX_*). */
void lm_schema_item_add_index_part(lm_schema_item *it, const char *key, const char *opts,
                                   int order);
/** Appends an index entry from its text (`email varchar_pattern_ops`,
 * `"Name" DESC`, `lower(email)`); a name of one of t's columns is that
 * column, whatever it holds (t may be NULL). */
void lm_schema_item_add_index_col(const lm_schema_table *t, lm_schema_item *it, const char *entry);
/** Appends a referenced column of a foreign key. */
void lm_schema_item_add_ref(lm_schema_item *it, const char *col);
/** Appends a string of cells joined by \x1f (as the catalog queries give
 * them) as columns (ref = 0) or referenced columns (ref = 1). */
void lm_schema_item_add_joined(lm_schema_item *it, const char *joined, int ref);
void lm_schema_add_trigger(lm_schema_table *t, const char *name, const char *def);
void lm_schema_add_object(lm_schema *s, lm_schema_obj_kind kind, const char *name, const char *def);
/** Puts tables, constraints, indexes, triggers and objects in their canonical
 * order (columns keep their ordinal order). */
void lm_schema_sort(lm_schema *s);

/* ---- using ----------------------------------------------------------------- */

/** Compares two models and describes the first difference in *what (NULL
 * when equal; free it). `when` says when `actual` was taken and `ref` when
 * `expected` was ("after downgrade", "before the upgrade"): the message reads
 * "table users: column phone is present after downgrade but not before the
 * upgrade". NULL labels mean "in the second schema" / "in the first". Column
 * order does not count: a column dropped and added back lands at the end,
 * and nothing that names its columns can tell. Returns 1 when they differ. */
int lm_schema_diff(const lm_schema *expected, const lm_schema *actual, const char *when,
                   const char *ref, char **what);

/* ---- introspection ---------------------------------------------------------- */

/** Reads the schema of the connected database (PostgreSQL: the current
 * schema) without the version table vt_schema.vt_table (luamig's own). */
int lm_schema_read(const lm_dialect *d, lm_conn *c, const char *vt_schema, const char *vt_table,
                   lm_schema **out);

/** 1 when d's catalog rewrites CHECK expressions and can say how. */
int lm_dialect_rewrites_checks(const lm_dialect *d);
/** A CHECK's expression as d's catalog would give it back (*out NULL when
 * the dialect keeps the text as written; LM_* on an error, e.g. an
 * expression the table cannot hold). */
int lm_dialect_canonical_check(const lm_dialect *d, lm_conn *c, const char *table, const char *expr,
                               char **out);
/** The dialect's reflect_schema (engine/dialect/dialect.c): out must be
 * empty; it is filled but not sorted. */
int lm_dialect_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                              const char *vt_table, lm_schema *out);

/** Opens url, reads its schema with p's version table left out, closes. */
int lm_schema_read_url(lm_project *p, const lm_url *url, lm_schema **out);

#endif
