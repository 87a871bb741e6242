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
#define LM_DIALECT_VERSION 4
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
typedef struct lm_scratch lm_scratch;
typedef struct lm_lock lm_lock;
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
  /* the catalog gives a CHECK's expression as it was written (not rewritten
   * by the server), so comparison can tell a changed expression */
  LM_CAP_CHECK_AS_WRITTEN = 1u << 5,
};

/* A scratch database a dialect made (scratch_create) and removes
 * (scratch_drop, which frees nothing: lm_dialect_scratch_drop does). */
struct lm_scratch {
  lm_url *url;  /* where it is: connect here */
  char *name;   /* the file or database made, NULL while none is */
  lm_url *home; /* the server it was made on (NULL: a file) */
};
/* How the run lock waits (lm_dialect.lock_acquire): the caller says what it
 * wants said, the dialect says when. */
typedef struct lm_lock_wait {
  void (*waiting)(void *ud);                    /* once, before waiting for another run */
  void (*statement)(void *ud, const char *sql); /* each statement run on the run's connection */
  void *ud;
} lm_lock_wait;
/* New values for some rows of a table, found by their key (a backfill's
 * batch, function form): the rows are in key order and all set the same
 * columns. */
typedef struct lm_rows_update {
  const char *table;
  const char *const *keys;      /* the key's columns */
  const char *const *key_types; /* their types, as backfill_columns read them */
  int nkeys;
  int rowid;                    /* the key is keys[0], a rowid alias (no column, no quotes) */
  const char *const *cols;      /* the columns set */
  const char *const *col_types; /* their types */
  int ncols;
  int nrows;
  /* nrows x (nkeys + ncols): each row's key values, then its new values */
  const lm_value *const *vals;
} lm_rows_update;

/** Runs one statement for a dialect method that writes (the caller's
 * session, so that statements are traced and counted as any other). */
typedef int (*lm_stmt_fn)(void *ud, const lm_stmt *st);
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

/** What opening a URL finds (lm_dialect.database_state). */
enum lm_db_state {
  LM_DB_EXISTS = 0,   /* the database */
  LM_DB_MISSING = 1,  /* nothing: opening would create an empty one */
  LM_DB_EPHEMERAL = 2 /* a new, empty database at every open */
};

typedef struct lm_dialect lm_dialect;
struct lm_dialect {
  int version; /* LM_DIALECT_VERSION this table was written for */
  const char *name;
  unsigned caps;         /* lm_dialect_cap bits */
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
  /* the schema of c (PostgreSQL: the current schema) into out, without
   * luamig's version table vt_schema.vt_table (vt_schema NULL: any) */
  int (*reflect_schema)(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                        const char *vt_table, lm_schema *out);
  /* 1 when op may need its table read and rewritten (a move-and-copy);
   * NULL: ALTER TABLE does everything */
  int (*recreate_wanted)(const lm_op *op);
  /* reads rq->table on c and renders rq->ops as a move-and-copy, or says
   * they need none (see lm_recreate_req); runs nothing */
  int (*recreate)(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq);
  /* an empty scratch database --sql replays its script into, so that
   * recreate can read tables offline; NULL: none needed */
  int (*shadow_open)(const lm_dialect *d, lm_conn **out);
  /* printed at the top of a --sql script that has a shadow (comment lines
   * and statements, ending in a blank line); NULL: nothing */
  const char *shadow_preamble;

  /* ---- the runner: version table, run lock, cancelling (version 2) ---- */
  /* The version table and its journal (engine/version_table.c); a field
   * left NULL means the standard SQL the wrappers give. */
  /* the type and default of a "when" column (applied_at, updated_at) */
  const char *vt_timestamp_sql;
  /* the current time, as precise as the database keeps it, in an UPDATE */
  const char *vt_now_sql;
  /* one row when the table $1 exists; with LM_CAP_SCHEMAS in the schema $2
   * (NULL: the current one), which is bound only then */
  const char *vt_exists_sql;
  /* one row when the table $1 (schema $2, as above) has a column "revision" */
  const char *vt_revision_column_sql;
  /* one row when an index named $1 is visible, its first column true when
   * the index is usable (NULL: the journal cannot tell, and does not ask) */
  const char *index_valid_sql;
  /* what opening url finds (lm_db_state): the database, nothing (it would
   * be created: a command that only reads must not open it), or a new
   * database at every open (SQLite's :memory:); NULL: always the database */
  int (*database_state)(const lm_url *url);
  /* Scratch databases (check --roundtrip, --drift, autogenerate): the kind
   * of server they are made on, for messages (NULL: none is needed, the
   * url passed to scratch_create may be NULL) */
  const char *scratch_server;
  /* makes an empty scratch database beside url's, with the schema `schema`
   * in it when not NULL; on failure out records what was made so far */
  int (*scratch_create)(const lm_url *url, const char *schema, lm_scratch *out);
  /* removes it (only what sc records); on failure the error says what stays */
  int (*scratch_drop)(lm_scratch *sc);

  /* the run lock: one luamig run per database at a time, taken on c (the
   * run's connection to url's database) and held until lock_release and c's
   * close. key names the version table. While another run holds it, it
   * calls w->waiting once and waits; lm_interrupted ends the wait with an
   * error. *held (also on failure) goes to lock_release. */
  int (*lock_acquire)(lm_conn *c, const lm_url *url, long long key, const lm_lock_wait *w,
                      lm_lock **held);
  void (*lock_release)(lm_lock *held);
  /* one row, one text column: the schema that unqualified names resolve
   * to (the lock key's); NULL: the dialect has no schemas */
  const char *current_schema_sql;
  /* appends the statement that bounds a migration's waits for table locks
   * (config lock_timeout, a literal); NULL: no such setting, it is ignored */
  void (*lock_timeout_sql)(lm_buf *out, const char *timeout);
  /* the SQLSTATE of a statement that timed out waiting for a table lock
   * (retried lock_retries times); NULL: never */
  const char *lock_timeout_sqlstate;
  /* rows (pid bigint, mode, relation, query) of the other sessions that
   * hold table locks, named when the retries are spent; NULL: unknown */
  const char *lock_holders_sql;
  /* stops the statement running on c; called from a signal handler, so
   * async-signal-safe (whatever it needs is made when c opens) */
  void (*cancel)(lm_conn *c);

  /* ---- sessions: streaming, batches, autocommit (version 2) ---- */
  /* the one statement (into out) whose rows are the columns of table, in
   * order: (name, type, position in the primary key or 0) */
  void (*backfill_columns)(const char *table, lm_stmts *out);
  /* what a table without a primary key is walked by: the first of these
   * (NULL-ended) that no column hides; NULL: it cannot be walked */
  const char *const *rowid_aliases;
  /* writes u's new values, each statement through run(ud, …) */
  int (*write_rows)(const lm_rows_update *u, lm_stmt_fn run, void *ud);

  /* ---- end of version 2 ---- */

  /* ---- comparison (version 3) ---- */
  /* the expression of a CHECK on table as the catalog would give it back
   * (into *out, malloc'd), for a server that rewrites expressions; runs
   * nothing that lasts. NULL: the catalog keeps the text as written, or
   * nothing can be said */
  int (*canonical_check)(const lm_dialect *d, lm_conn *c, const char *table, const char *expr,
                         char **out);
  /* {expression, this dialect's spelling}, ending at {NULL}: an op.sql()
   * value (a column default, a backfill's set) that is the whole expression
   * `from` (case and blanks aside) is written as `to` — SQLite has no now(),
   * as SQLAlchemy writes func.now() as CURRENT_TIMESTAMP there. NULL: as written */
  const struct lm_type_pair *sql_spellings;

  /* ---- end of version 3 ---- */

  /* ---- comparison (version 4) ---- */
  /* whether changing a column's type from `from` to `to` (normalised types,
   * lm_norm_type) needs the conversion written out (PostgreSQL: ALTER …
   * TYPE to USING col::to, where no assignment cast exists: text to jsonb,
   * to integer, to uuid); autogenerate then writes postgresql_using. NULL:
   * never (SQLite copies the rows into the new table, converting) */
  int (*type_change_needs_cast)(const char *from, const char *to);

  /* ---- end of version 4 ---- */
};

#endif
