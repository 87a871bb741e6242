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
typedef struct lm_schema lm_schema;

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

/* A move-and-copy asked of a dialect (lm_dialect.recreate): the sink fills
 * the inputs and an empty stmts, the dialect reads the table on the
 * connection it is given and says what to run. */
typedef struct lm_recreate_req {
  const char *table;       /* the table every op is on */
  const lm_op *const *ops; /* applied in order */
  int n;
  int mode;        /* lm_recreate_mode (engine/recreate.h) */
  int renamed;     /* 1: asked again after the renames of `again` ran */
  int plain;       /* out: nothing needs a copy: each op runs as lm_render renders it */
  int again;       /* out: stmts rename columns, the k-th for the k-th op that renames
                    * one; run them, bring the connection up to date, ask again */
  lm_stmts *stmts; /* out: the statements to run, in order */
  char *name;      /* out: the table as the database spells it (messages); caller frees */
} lm_recreate_req;

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

  /* ---- reflection and move-and-copy (version 2) ---- */
  /* the schema of c (PostgreSQL: the current schema) into out, without
   * luamig's version table vt_schema.vt_table (vt_schema NULL: any) */
  int (*reflect_schema)(lm_conn *c, const char *vt_schema, const char *vt_table, lm_schema *out);
  /* 1 when op may need its table read and rewritten (a move-and-copy);
   * NULL: ALTER TABLE does everything */
  int (*recreate_wanted)(const lm_op *op);
  /* reads rq->table on c and renders rq->ops as a move-and-copy, or says
   * they need none (see lm_recreate_req); runs nothing */
  int (*recreate)(lm_conn *c, lm_recreate_req *rq);
  /* an empty scratch database --sql replays its script into, so that
   * recreate can read tables offline; NULL: none needed */
  int (*shadow_open)(lm_conn **out);

  /* ---- the runner: version table, run lock, cancelling (version 2) ---- */

  /* ---- sessions: streaming, batches, autocommit (version 2) ---- */

  /* ---- end of version 2 ---- */
};

#endif
