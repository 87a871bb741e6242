/**
 * The dialect table: everything luamig does differently per database.
 *
 * A dialect is one `lm_dialect` value (engine/dialect/<name>.c and its
 * siblings). Generic code never asks which database it talks to: it calls
 * the checked wrappers of engine/dialect/dialect.c, which report a missing
 * method as "not supported" in one place. `version` says which revision of
 * this table the dialect was written for; a method added in a later revision
 * is read only when `version` is at least that revision (as SQLite reads its
 * VFS methods by iVersion). See engine/dialect/README.md for what a new
 * dialect implements.
 */
#ifndef LUAMIG_SYS_DIALECT_H
#define LUAMIG_SYS_DIALECT_H

#include <stddef.h>

/** The revision of struct lm_dialect this build reads. */
#define LM_DIALECT_VERSION 2
/** The oldest revision it still accepts. */
#define LM_DIALECT_VERSION_MIN 2

typedef struct lm_url lm_url;
typedef struct lm_stmt lm_stmt;
typedef struct lm_stmts lm_stmts;
typedef struct lm_value lm_value;
typedef struct lm_buf lm_buf;
typedef struct lm_op lm_op;
typedef struct lm_conn lm_conn;
typedef struct lm_cursor lm_cursor;

/** Row callback: return non-zero to stop. names/vals are borrowed. */
typedef int (*lm_row_fn)(void *ud, int ncols, const char *const *names, const lm_value *vals);

/* What a transaction changed, for the foreign-key check before its COMMIT
 * (SQLite migrates with foreign keys unenforced). Per table: */
enum {
  LM_FK_OWN = 1,       /* rows came in or its own foreign keys changed: check its rows */
  LM_FK_REFERENCED = 2 /* rows or keys may have gone: check the tables that reference it */
};
typedef struct lm_fk_touch {
  char *table;
  int what;    /* LM_FK_OWN | LM_FK_REFERENCED */
  char **cols; /* columns updated in place: the dialect decides from them */
  int ncols;
} lm_fk_touch;
typedef struct lm_fk_scope {
  int full; /* something changed tables nobody named (op.execute): check all */
  lm_fk_touch *v;
  int n, cap;
} lm_fk_scope;

/** What a dialect can do (lm_dialect.caps). */
enum lm_dialect_cap {
  LM_CAP_TRANSACTIONAL_DDL = 1u << 0, /* DDL commits and rolls back with the transaction */
  LM_CAP_ADVISORY_LOCK = 1u << 1,     /* a server-side run lock (else the database file's) */
  LM_CAP_CONCURRENT_INDEX = 1u << 2,  /* CREATE INDEX CONCURRENTLY outside a transaction */
  LM_CAP_SCHEMAS = 1u << 3,           /* tables live in named schemas */
  LM_CAP_ALTER_COLUMN = 1u << 4,      /* ALTER COLUMN in place (else move-and-copy) */
};

typedef struct lm_dialect lm_dialect;
struct lm_dialect {
  int version; /* LM_DIALECT_VERSION this table was written for */
  const char *name;
  unsigned caps;         /* lm_dialect_cap bits */
  int id;                /* TRANSITIONAL: being removed, read by nothing new */
  const char *begin_sql; /* how a migration transaction starts */

  /* ---- connection (version 1) ---- */
  int (*open)(lm_conn **out, const lm_url *url);
  void (*close)(lm_conn *c);
  int (*exec)(lm_conn *c, const lm_stmt *s);
  int (*query)(lm_conn *c, const lm_stmt *s, lm_row_fn fn, void *ud);
  /* streamed reading for op.rows and backfills (pull, one row at a time):
   * next returns 1 with a row (borrowed until the next call), 0 at the end,
   * or a negative LM_E… code */
  int (*cursor_open)(lm_conn *c, const lm_stmt *s, lm_cursor **out);
  int (*cursor_next)(lm_cursor *cur, int *ncols, const char *const **names, const lm_value **vals);
  void (*cursor_close)(lm_cursor *cur);
  /* checks run before a migration's COMMIT (SQLite: foreign_key_check) of
   * what scope says the transaction changed; NULL scope: everything */
  int (*before_commit)(lm_conn *c, const lm_fk_scope *scope);

  /* ---- catalog questions (version 2) ---- */
  /* one row when a table named $1 is visible (SQLite: in the main
   * database; PostgreSQL: on the search path) */
  const char *table_exists_sql;

  /* ---- rendering (version 2) ---- */
  /* what messages call the dialect ("PostgreSQL"); NULL: name */
  const char *display_name;
  /* renders one op record, its names already checked, into out: refuses
   * (LM_ENOTSUP) what the dialect cannot do and hands the rest to
   * lm_render_common_op() (engine/render_common.h), which asks the fields
   * below for every detail */
  int (*render)(const lm_dialect *d, const lm_op *op, lm_stmts *out);
  /* writes v as an SQL literal (NULL and integers included), falling back
   * on lm_render_literal_sql() for what it spells the standard way; NULL:
   * standard SQL throughout */
  void (*literal)(const lm_dialect *d, const lm_value *v, lm_buf *b);
  /* whether a column DEFAULT written as SQL must be parenthesised; NULL: never */
  int (*default_needs_parens)(const char *expr);
  /* SPEC §4 types as this dialect spells them: {luamig name, SQL spelling},
   * ending at {NULL}; one missing here takes its standard SQL spelling
   * (engine/render_common.c), or, having none, is written verbatim */
  const struct lm_type_pair { const char *from, *to; } * type_names;
  /* base names (lower case, no arguments or []) of the dialect's own types,
   * which lint accepts; NULL-terminated */
  const char *const *known_types;
  /* {reflected spelling, luamig name}, ending at {NULL}: how a reflected
   * type that this dialect alone spells so reads back as a luamig type */
  const struct lm_type_pair *reflected_types;
  /* the type of a single integer key the database numbers itself, for
   * integer, bigint and smallint keys */
  const char *auto_types[3];
  /* what follows PRIMARY KEY of such a key when autoincrement = true; NULL: nothing */
  const char *autoincrement;
  /* LM_RENDER_* bits */
  unsigned render_flags;
#define LM_RENDER_INLINE_AUTO_PK 1u /* create_table keeps the numbered key in its column */
#define LM_RENDER_ADD_UNIQUE 2u     /* ADD COLUMN takes UNIQUE (else a uq_ unique index) */
#define LM_RENDER_COMMENTS 4u       /* COMMENT ON COLUMN (else comments are left out) */
  /* LM_LEX_* bits: the SQL syntax that --sql must step over to find placeholders */
  unsigned lexis;
#define LM_LEX_E_STRINGS 1u       /* E'...' with backslash escapes */
#define LM_LEX_DOLLAR_QUOTES 2u   /* $$...$$ and $tag$...$tag$ */
#define LM_LEX_NESTED_COMMENTS 4u /* block comments nest */
#define LM_LEX_BACKTICKS 8u       /* `name` */
#define LM_LEX_BRACKETS 16u       /* [name] */
#define LM_LEX_QMARK 32u          /* ? and ?N placeholders, besides $N */
  /* one row when op.has_table ($1), op.has_column ($1 table, $2 column) or
   * op.has_index ($1) finds its object in the current schema; required */
  const char *has_sql[3];

  /* ---- reflection and move-and-copy (version 2) ---- */

  /* ---- the runner: version table, run lock, cancelling (version 2) ---- */

  /* ---- sessions: streaming, batches, autocommit (version 2) ---- */

  /* ---- end of version 2 ---- */
};

#endif
