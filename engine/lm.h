/* Internal declarations shared by the engine, the dialects and the Lua
 * bindings; the `luamig` command sees only the public headers of include/.
 * The pipeline: bindings turn Lua `op` calls into lm_op records, lm_render()
 * turns a record into statements for a dialect, and a sink runs, prints or
 * records the statements. */
#ifndef LM_H
#define LM_H

#include <stddef.h>
#include <stdio.h>

#include "luamig.h"
#include "luamig/chain.h" /* revisions, the graph, the applied state */
#include "luamig/error.h" /* setting errors */
#include "luamig/fleet.h" /* lm_run_report */
#include "luamig/util.h"  /* memory, buffers, files */

/* ---- SHA-256 --------------------------------------------------------------- */

/** Hex SHA-256 of data with CRLF and lone CR normalised to LF. */
void lm_sha256_hex_normalised(const void *data, size_t n, char out[65]);
void lm_sha256_hex(const void *data, size_t n, char out[65]);
/** A fast 256-bit checksum against damage (not forgery), as 64 hex digits. */
void lm_fast_sum_hex(const void *data, size_t n, char out[65]);
/** For tests and benchmarks: nonzero makes later hashes use the portable
 * code even where the CPU has SHA instructions. */
void lm_sha256_force_portable(int on);
/** The block code hashes would use now: "sha-ni" or "portable". */
const char *lm_sha256_impl(void);

/* ---- values and statements ------------------------------------------------- */

typedef enum lm_vtype { LM_V_NULL, LM_V_INT, LM_V_FLOAT, LM_V_TEXT, LM_V_BOOL } lm_vtype;

typedef struct lm_value {
  lm_vtype t;
  long long i; /* INT, BOOL */
  double f;    /* FLOAT */
  char *s;     /* TEXT: owned by whoever owns the value */
  size_t len;
} lm_value;

/** One SQL statement with its bound parameters. Placeholders are $1, $2, …
 * for both dialects (SQLite accepts them as numbered names). */
typedef struct lm_stmt {
  char *sql;
  lm_value *params;
  int nparams;
} lm_stmt;

typedef struct lm_stmts {
  lm_stmt *v;
  int n, cap;
} lm_stmts;

void lm_value_copy(lm_value *dst, const lm_value *src);
void lm_value_clear(lm_value *v);
/** Appends sql (taking ownership) with copies of params. */
void lm_stmts_add(lm_stmts *l, char *sql, const lm_value *params, int n);
void lm_stmts_free(lm_stmts *l);
void lm_stmt_free(lm_stmt *s);

typedef struct lua_State lua_State;

/* ---- URLs and configuration ---------------------------------------------- */

typedef struct lm_url {
  char *dialect; /* "sqlite" or "postgresql" */
  char *path;    /* sqlite: file path or ":memory:" */
  char *user, *password, *host, *port, *dbname;
  char **opt_keys, **opt_vals; /* query options */
  int nopts;
  char *masked; /* the URL as it may be shown: password replaced by *** */
} lm_url;

int lm_url_parse(lm_url **out, const char *s);
void lm_url_free(lm_url *u);
/** The whole of s taken as one URL or connection string, its secrets masked
 * (lm_url.masked). Never fails. */
char *lm_url_mask_whole(const char *s);
/** Whether c may stand in a URL scheme (letters, digits, + - .). */
int lm_url_scheme_char(int c);
/** The value of hex digit c, or -1. */
int lm_hexval(int c);

typedef struct lm_config {
  char *path; /* as given, NULL when no file */
  char *dir;  /* folder of the config file: relative paths start here */
  char *url;
  char **versions;         /* absolute-or-relative-to-cwd folder paths */
  char **versions_display; /* as written, for messages */
  int nversions;
  char *version_table;
  char *version_table_schema;
  int transaction_per_migration;
  char *lock_timeout;
  int lock_retries;
  int password_line;              /* credentials-in-config: line with a literal password */
  struct lm_fleet_entry *targets; /* SPEC §11: the `targets` list, or NULL */
  int ntargets;
  char **model; /* the model's files (SPEC §10), relative to the cwd; NULL when none */
  char **model_display;
  int nmodel;
} lm_config;

/** One entry of `targets` in luamig.lua (SPEC §11). An entry lists one
 * database (url), the schemas of one database (schemas: SQL returning schema
 * names), databases read from a directory database (query: SQL returning
 * rows of (name, url)) or SQLite files (glob, joined with the config's
 * folder). For the lists, name names the group. */
typedef enum lm_fleet_kind {
  LM_FLEET_URL,
  LM_FLEET_SCHEMAS,
  LM_FLEET_QUERY,
  LM_FLEET_GLOB
} lm_fleet_kind;
typedef struct lm_fleet_entry {
  lm_fleet_kind kind;
  char *name;
  char *url;  /* URL, SCHEMAS, QUERY */
  char *sql;  /* SCHEMAS, QUERY */
  char *glob; /* GLOB: the pattern joined with the config's folder */
  int line;   /* where the entry starts in luamig.lua, 0 when unknown */
} lm_fleet_entry;

/** Loads a config file (a Lua chunk returning a table) in L's sandbox. */
int lm_config_load(lm_config **out, lua_State *L, const char *path);
/** Defaults without a file (for --url only use). */
lm_config *lm_config_default(void);
void lm_config_free(lm_config *c);

/* ---- revisions and the graph ----------------------------------------------- */

/* lm_revision, lm_graph and their queries: include/luamig/chain.h. */
void lm_graph_init(lm_graph *g);
void lm_graph_free(lm_graph *g);
/** Takes ownership of r. */
void lm_graph_add(lm_graph *g, lm_revision *r);
void lm_revision_free(lm_revision *r);
/** SHA-256 of the file, line endings normalised; computed on first use. */
const char *lm_revision_checksum(const lm_revision *r);
/** Whether a checksum recorded in the version table matches r. */
int lm_revision_checksum_matches(const lm_revision *r, const char *sum, size_t len);
/** The checksums of a revision's text: sum covers the file and every
 * project file it requires (require "name" with a literal name, followed
 * through the modules' own requires); file is the file's alone. */
void lm_revision_sums(const char *text, size_t len, char sum[65], char file[65]);
/** The folders require() searches (the config's versions folders). */
void lm_revision_set_module_dirs(char *const *dirs, int n);
/** Resolves parents and dependencies; rejects duplicates, unknown ids and
 * cycles (LM_ELOAD naming the file). */
int lm_graph_build(lm_graph *g);

/* ---- the revision index (engine/revindex.c) ---------------------------------- */

#define LM_NOT_LOADED (-2) /* LUA_NOREF */
struct stat;
typedef struct lm_revindex lm_revindex;
/** The index of a versions folder; never NULL (an empty one when there is
 * no cache folder or file). */
lm_revindex *lm_revindex_open(const char *versions_dir);
/** The revision recorded for file `name` when st matches (without path;
 * the caller owns it, the index must be closed before it is freed). */
lm_revision *lm_revindex_get(lm_revindex *x, const char *name, const struct stat *st);
/** Whether a file with this stat may be recorded (settled, index present). */
int lm_revindex_wants(const lm_revindex *x, const struct stat *st);
/** Records r (its checksum filled in) for file name, when wanted. */
void lm_revindex_put(lm_revindex *x, const char *name, const struct stat *st, const lm_revision *r);
/** Saves the index when save is set and it changed; frees it. */
void lm_revindex_close(lm_revindex *x, int save);

/* ---- kept chunks in the mapped index file (engine/chunk_file.c) ---------------- */

/** The mapped index file (map, len): taken, unmapped when no one holds it. */
struct lm_chunk_file *lm_chunk_file_new(void *map, size_t len);
/** One more hold on f (f may be NULL); returns f. */
struct lm_chunk_file *lm_chunk_file_hold(struct lm_chunk_file *f);
/** Drops a hold on f (NULL: nothing). */
void lm_chunk_file_release(struct lm_chunk_file *f);
/** r's kept compiled chunk (*n bytes, valid until the next call), or NULL
 * when it has none or its bytes can no longer be read whole from the index
 * file (cut short in place). */
const char *lm_revision_chunk(const lm_revision *r, size_t *n);
/** The comment autogenerate writes above a column dropped and another added
 * that may be a rename (SPEC §10). */
#define LM_RENAME_MARK "-- luamig: possible rename of "
/** The line of text's first LM_RENAME_MARK, or 0. */
int lm_rename_mark_line(const char *text);
/** Runs fn(ud) with SIGBUS caught while a file mapping made by
 * lm_chunk_file_new is read: 0 when fn returned, -1 when a read past the end
 * of a file cut short in place stopped it (fn then did not finish: it must
 * keep what it has made where the caller can free it). */
int lm_map_guarded(void (*fn)(void *), void *ud);
/** Test hook: reads the index file mapped at (map, len), which it takes, as
 * lm_revindex_open reads its file (header "luamig-revindex N fuzz"); the
 * number of entries kept, or -2 when the file was cut short under the read. */
int lm_revindex_parse_map(void *map, size_t len);
/** Fuzzing hook: parses body as an index file after its header line; the
 * number of entries, or -1 when an invariant is broken. */
int lm_revindex_parse_buffer(const char *body, size_t len);

/* ---- targets ----------------------------------------------------------------- */

typedef enum lm_target_kind {
  LM_T_HEAD,   /* head */
  LM_T_HEADS,  /* heads */
  LM_T_BASE,   /* base */
  LM_T_REV,    /* a revision id or prefix */
  LM_T_REL,    /* +N or -N from the current state */
  LM_T_REV_REL /* REV+N or REV-N */
} lm_target_kind;

typedef struct lm_target {
  lm_target_kind kind;
  char rev[64]; /* LM_T_REV, LM_T_REV_REL (empty with a label: from its head) */
  /* LABEL@head, @heads, @base, @+N, @-N, @head+N, @head-N: the branch the
   * target is on (kinds HEAD, HEADS, BASE, REL, REV_REL); "" none */
  char label[64];
  int n; /* LM_T_REL, LM_T_REV_REL: signed */
} lm_target;

int lm_target_parse(lm_target *t, const char *s);
/** Whether t names one revision, which lm_plan_resolve_target finds: a
 * revision, REV±N, LABEL@head, LABEL@head±N. */
int lm_target_names_one(const lm_target *t);

/* ---- plans --------------------------------------------------------------------- */

/* state[i]: how many steps of revision i are applied (0 .. nsteps). */
typedef struct lm_plan_item {
  int rev;
  int step; /* index of the step that runs */
  int up;
} lm_plan_item;

typedef struct lm_plan {
  lm_plan_item *v;
  int n, cap;
} lm_plan;

/** The steps a revision runs: at least one, even if a loader left nsteps
 * at 0 (every step applied is this many in a state). */
int lm_revision_steps(const lm_revision *r);
void lm_plan_free(lm_plan *p);
/** The one revision t names (lm_target_names_one; also head), -1 for base. */
int lm_plan_resolve_target(const lm_graph *g, const int *state, const lm_target *t, int *idx);
/** The heads a head or heads target names: the chain's, or its label's
 * branch's; their number into *nheads (heads holds graph->n). */
int lm_plan_target_heads(const lm_graph *g, const lm_target *t, int *heads, int *nheads);
int lm_plan_upgrade(const lm_graph *g, const int *state, const lm_target *t,
                    const char *stop_before, lm_plan *out);
int lm_plan_downgrade(const lm_graph *g, const int *state, const lm_target *t, lm_plan *out);

/* ---- operation records ------------------------------------------------------ */

typedef enum lm_default_kind {
  LM_DEF_NONE,
  LM_DEF_LITERAL, /* a string: rendered as a quoted literal */
  LM_DEF_NUMBER,  /* text of a number */
  LM_DEF_BOOL,
  LM_DEF_SQL, /* op.sql(...) raw expression */
  LM_DEF_DROP /* server_default = false in alter_column */
} lm_default_kind;

typedef struct lm_default {
  lm_default_kind kind;
  const char *text;
  int b;
} lm_default;

typedef struct lm_column {
  const char *name;
  const char *type;
  int nullable; /* 1 default */
  int primary_key;
  int autoincrement; /* -1 auto, 0 no, 1 yes */
  int unique;
  int index;
  lm_default server_default;
  const char *comment;
  const char *ref_table, *ref_column;
  const char *ondelete, *onupdate;
  const char *collation; /* COLLATE of a text column, or NULL for the type's default */
} lm_column;

typedef enum lm_con_kind { LM_CON_PK, LM_CON_UNIQUE, LM_CON_FK, LM_CON_CHECK } lm_con_kind;

typedef struct lm_constraint {
  lm_con_kind kind;
  const char *name;
  const char **cols;
  int ncols;
  const char *ref_table;
  const char **ref_cols;
  int nref;
  const char *ondelete, *onupdate;
  const char *expr;
  int not_valid;
} lm_constraint;

typedef struct lm_insert_row {
  const char **keys; /* sorted */
  lm_value *vals;
  int n;
} lm_insert_row;

typedef enum lm_op_kind {
  LM_OP_CREATE_TABLE,
  LM_OP_DROP_TABLE,
  LM_OP_RENAME_TABLE,
  LM_OP_ADD_COLUMN,
  LM_OP_DROP_COLUMN,
  LM_OP_ALTER_COLUMN,
  LM_OP_CREATE_INDEX,
  LM_OP_DROP_INDEX,
  LM_OP_CREATE_PK,
  LM_OP_CREATE_UNIQUE,
  LM_OP_CREATE_FK,
  LM_OP_CREATE_CHECK,
  LM_OP_DROP_CONSTRAINT,
  LM_OP_EXECUTE,
  LM_OP_BULK_INSERT,
  LM_OP_BACKFILL_SQL,
  LM_OP__COUNT
} lm_op_kind;

/** A plain description of one `op` call. Strings are borrowed (they live in
 * the Lua state or an arena for as long as the record is used). */
typedef struct lm_op {
  lm_op_kind kind;
  const char *table;
  const char *name;     /* index, constraint or column name */
  const char *new_name; /* rename_table, alter_column new_column_name */
  lm_column *cols;      /* create_table, add_column (1) */
  int ncols;
  lm_constraint *cons; /* create_table constraints; create_* (1) */
  int ncons;
  const char **names; /* index columns */
  int nnames;
  /* per names[i]: 1 when it is an op.sql() expression (lower(email), name
   * DESC) written as is; NULL or 0: a column name, always quoted */
  const unsigned char *name_is_expr;
  /* alter_column */
  const char *type, *existing_type, *using_expr;
  int nullable, existing_nullable; /* -1 unset */
  lm_default server_default;
  const char *comment;
  int has_comment;
  /* indexes */
  int unique, concurrently, if_exists, if_not_exists;
  const char *where;
  /* drop_constraint */
  const char *constraint_type;
  /* execute */
  const char *sql;
  lm_value *params;
  int nparams;
  /* bulk_insert */
  lm_insert_row *rows;
  int nrows;
  /* backfill (SQL form): set columns and expressions */
  const char **set_cols;
  lm_default *set_vals;
  int nset;
  /* where the call was made */
  const char *file;
  int line;
  /* create_index: the index's access method (Alembic's postgresql_using:
   * gin, gist, brin, hash), only where the dialect has them; NULL for the
   * default */
  const char *method;
  /* create_index: the columns a covering index carries beside its key
   * (Alembic's postgresql_include), only where the dialect has them */
  const char **include;
  int ninclude;
} lm_op;

const char *lm_op_name(lm_op_kind k);

/* ---- dialects --------------------------------------------------------------- */

/* The dialect table and its types (include/luamig/sys/dialect.h). */
#include "luamig/sys/dialect.h"

extern const lm_dialect lm_dialect_sqlite;
extern const lm_dialect lm_dialect_postgresql;
/** The dialect a URL scheme or --dialect names (NULL when none, or when its
 * table is of a revision this build does not read). */
const lm_dialect *lm_dialect_find(const char *name);
/* Checked calls into a dialect (engine/dialect/dialect.c): a method the
 * dialect lacks gives LM_ENOTSUP "… is not supported on <dialect>". */
int lm_dialect_unsupported(const lm_dialect *d, const char *what);
/** Whether d (may be NULL: no) has every capability of cap. */
int lm_dialect_has_cap(const lm_dialect *d, unsigned cap);
/** The first registered dialect with every capability of cap, or NULL. */
const lm_dialect *lm_dialect_with_cap(unsigned cap);
/** The dialect used when nothing names one: the embedded database, needing no server. */
const lm_dialect *lm_dialect_default(void);
int lm_dialect_open(const lm_dialect *d, lm_conn **out, const lm_url *url);
void lm_dialect_close(const lm_dialect *d, lm_conn *c);
int lm_dialect_exec(const lm_dialect *d, lm_conn *c, const lm_stmt *s);
int lm_dialect_query(const lm_dialect *d, lm_conn *c, const lm_stmt *s, lm_row_fn fn, void *ud);
/** Whether the dialect streams rows (cursor_*). */
int lm_dialect_can_stream(const lm_dialect *d);
int lm_dialect_cursor_open(const lm_dialect *d, lm_conn *c, const lm_stmt *s, lm_cursor **out);
int lm_dialect_cursor_next(const lm_dialect *d, lm_cursor *cur, int *ncols,
                           const char *const **names, const lm_value **vals);
void lm_dialect_cursor_close(const lm_dialect *d, lm_cursor *cur);
/** Whether the dialect checks anything before COMMIT (before_commit). */
int lm_dialect_checks_commit(const lm_dialect *d);
int lm_dialect_before_commit(const lm_dialect *d, lm_conn *c, const lm_fk_scope *scope);
const char *lm_dialect_table_exists_sql(const lm_dialect *d);

/** Renders a type name of SPEC §4 for the dialect into b. */
void lm_render_type(const lm_dialect *d, const char *type, lm_buf *b);
/** Whether type is a luamig type (SPEC §4) or one dialect d knows; NULL d:
 * any registered dialect. */
int lm_type_known(const lm_dialect *d, const char *type);
/** Renders one operation into statements. LM_ENOTSUP when the dialect cannot
 * do it. Pure: no I/O. */
int lm_render(const lm_dialect *d, const lm_op *op, lm_stmts *out);
/** Writes a value as a safely quoted SQL literal. */
void lm_render_literal(const lm_dialect *d, const lm_value *v, lm_buf *b);
/** Replaces the $N (and, on SQLite, ?) placeholders outside quotes and
 * comments with literals, for --sql. */
char *lm_render_inline(const lm_dialect *d, const lm_stmt *s);
/** Appends the author's SQL fragment sql (a default, a CHECK, an index
 * entry, a WHERE) where more SQL follows it: a fragment ending in a --
 * comment gets a line break, or the comment would swallow the rest. */
void lm_render_put_sql(const lm_dialect *d, lm_buf *b, const char *sql);
/** Whether sql[0..n) ends inside a -- comment, in the dialect's lexis. */
int lm_render_ends_in_comment(const lm_dialect *d, const char *sql, size_t n);
/** op's column (create_table, add_column) called name, or NULL. */
const lm_column *lm_op_find_column(const lm_op *op, const char *name);
/** Whether v is a foreign key action (CASCADE, SET NULL, SET DEFAULT,
 * RESTRICT, NO ACTION; case and blanks aside). */
int lm_fk_action_valid(const char *v);
/** Quoted, optionally schema-qualified table name. */
void lm_render_table(lm_buf *b, const char *schema, const char *table);

/* The dialect's rendering fields (include/luamig/sys/dialect.h), read only
 * through these (engine/dialect/dialect.c). */
const char *lm_dialect_display_name(const lm_dialect *d);
int lm_dialect_render(const lm_dialect *d, const lm_op *op, lm_stmts *out);
/** Writes v as d's literal; 0 (nothing written) when d writes standard SQL. */
int lm_dialect_literal(const lm_dialect *d, const lm_value *v, lm_buf *b);
int lm_dialect_default_needs_parens(const lm_dialect *d, const char *expr);
/** How d spells the raw SQL value expr (an op.sql() default or set value):
 * expr itself unless d spells that whole expression its own way. */
const char *lm_dialect_sql_spelling(const lm_dialect *d, const char *expr);
/** Whether a column's type change from `from` to `to` (normalised) needs
 * its conversion written out (type_change_needs_cast; 0 without it). */
int lm_dialect_type_change_needs_cast(const lm_dialect *d, const char *from, const char *to);
/** d's spelling of a luamig type name (normalised, no arguments), or NULL. */
const char *lm_dialect_type_name(const lm_dialect *d, const char *luamig_type);
/** Whether d (NULL: any registered dialect) knows base as a type of its own. */
int lm_dialect_knows_type(const lm_dialect *d, const char *base); /* d not NULL */
/** The luamig type a type reflected from d reads back as, when only d spells
 * it so; else NULL. */
const char *lm_dialect_luamig_type(const lm_dialect *d, const char *reflected);
/** The type of a self-numbered key: family 0 integer, 1 bigint, 2 smallint. */
const char *lm_dialect_auto_type(const lm_dialect *d, int family);
const char *lm_dialect_autoincrement(const lm_dialect *d);
int lm_dialect_render_flag(const lm_dialect *d, unsigned flag);
unsigned lm_dialect_lexis(const lm_dialect *d);
/** The existence query for an lm_introspect kind, or NULL. */
const char *lm_dialect_has_sql(const lm_dialect *d, int kind);

typedef enum lm_introspect { LM_HAS_TABLE, LM_HAS_COLUMN, LM_HAS_INDEX } lm_introspect;
/** A query returning a row when the table / column (a.b) / index a exists in
 * the current schema. */
void lm_introspect_render(const lm_dialect *d, lm_introspect kind, const char *a, const char *b,
                          lm_stmts *out);

/* ---- version table ----------------------------------------------------------- */

typedef struct lm_vt {
  const lm_dialect *d;
  const char *schema;
  const char *table;
} lm_vt;

void lm_vt_create(const lm_vt *vt, lm_stmts *out);
void lm_vt_exists_query(const lm_vt *vt, lm_stmts *out);
/** One row when the version table has a "revision" column (a luamig version table). */
void lm_vt_has_revision_query(const lm_vt *vt, lm_stmts *out);
void lm_vt_select(const lm_vt *vt, lm_stmts *out);
void lm_vt_insert(const lm_vt *vt, const char *rev, const char *step, const char *checksum,
                  long long ms, lm_stmts *out);
void lm_vt_update(const lm_vt *vt, const char *rev, const char *step, const char *checksum,
                  long long ms, lm_stmts *out);
void lm_vt_delete(const lm_vt *vt, const char *rev, lm_stmts *out);
void lm_vt_delete_all(const lm_vt *vt, lm_stmts *out);
/** Re-records one applied revision's checksum, nothing else. */
void lm_vt_set_checksum(const lm_vt *vt, const char *rev, const char *checksum, lm_stmts *out);
/* The journal beside the version table (engine/version_table.c, engine/journal.c). */
void lm_vt_journal_create(const lm_vt *vt, lm_stmts *out);
void lm_vt_journal_exists_query(const lm_vt *vt, lm_stmts *out);
void lm_vt_journal_select(const lm_vt *vt, lm_stmts *out);
/** insert: a new row; otherwise an UPDATE of rev's row. started <= 0: NULL. */
void lm_vt_journal_write(const lm_vt *vt, int insert, const char *rev, const char *direction,
                         const char *step, long long done, long long started,
                         const char *fingerprint, lm_stmts *out);
/** rev NULL: every row. */
void lm_vt_journal_delete(const lm_vt *vt, const char *rev, lm_stmts *out);
void lm_vt_journal_drop(const lm_vt *vt, lm_stmts *out);
/* The dialect's part of them (engine/dialect/dialect.c, "the runner"): the
 * SQL a dialect leaves NULL is standard SQL. */
const char *lm_dialect_vt_timestamp_sql(const lm_dialect *d);
const char *lm_dialect_vt_now_sql(const lm_dialect *d);
const char *lm_dialect_vt_exists_sql(const lm_dialect *d);
const char *lm_dialect_vt_revision_column_sql(const lm_dialect *d);
/** NULL when the dialect cannot tell whether an index is usable. */
const char *lm_dialect_index_valid_sql(const lm_dialect *d);
/** 1 when opening url would make a new, empty database (a read-only look
 * must not open it). */
int lm_dialect_creates_on_open(const lm_dialect *d, const lm_url *url);
/** The kind of server scratch databases are made on, for messages; NULL
 * when they need none (then url may be NULL for scratch_create). */
const char *lm_dialect_scratch_server(const lm_dialect *d);
/** Makes an empty scratch database beside url's, with schema in it (NULL:
 * none); always pair with lm_dialect_scratch_drop, which also frees sc. */
int lm_dialect_scratch_create(const lm_dialect *d, const lm_url *url, const char *schema,
                              lm_scratch *out);
int lm_dialect_scratch_drop(const lm_dialect *d, lm_scratch *sc);

/* ---- sinks ---------------------------------------------------------------------- */

/* The dialect's session methods (engine/dialect/dialect.c): reading a
 * table's columns and key for a backfill, and writing its rows. */
int lm_dialect_backfill_columns(const lm_dialect *d, const char *table, lm_stmts *out);
/** NULL when a table without a primary key cannot be walked. */
const char *const *lm_dialect_rowid_aliases(const lm_dialect *d);
int lm_dialect_write_rows(const lm_dialect *d, const lm_rows_update *u, lm_stmt_fn run, void *ud);

/** Rows a sink streams (op.rows), read with lm_sink_cursor_next and closed
 * with lm_sink_cursor_close. It does not refer to its sink. */
typedef struct lm_sink_cursor {
  const lm_dialect *d;
  lm_cursor *cur; /* NULL: no (more) rows */
} lm_sink_cursor;

/** Where rendered statements go: executed online, printed for --sql. */
/* ---- statements set aside (engine/stmt_log.c) ------------------------------ */

/** Statements kept in order in a file in memory, to be run later. */
typedef struct lm_stmt_log {
  FILE *f;
  long n;  /* statements added since the last replay */
  int bad; /* errno of a failed write: the replay fails */
} lm_stmt_log;

/** An empty log: 0, or -1 (errno set) when there is no file to hold it. */
int lm_stmt_log_open(lm_stmt_log *g);
/** Appends a copy of st. */
void lm_stmt_log_add(lm_stmt_log *g, const lm_stmt *st);
/** Calls fn with each statement added since the last replay, in order
 * (valid during the call only), up to the first that returns nonzero, and
 * empties the log: fn's result, or LM_EIO when the log cannot be read. */
int lm_stmt_log_replay(lm_stmt_log *g, int (*fn)(void *ud, const lm_stmt *st), void *ud);
void lm_stmt_log_close(lm_stmt_log *g);

typedef struct lm_sink lm_sink;
struct lm_sink {
  int (*exec)(lm_sink *s, const lm_stmt *st);
  /* NULL for the print sink; the replay sink reads its shadow */
  int (*query)(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud);
  /* op.has_*: a query of the schema alone. Online the database answers, the
   * replay sink's shadow answers (it holds the schema the chain made), the
   * record sink finds nothing; NULL for the print sink */
  int (*inspect)(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud);
  /* op.query, op.rows and op.scalar fail although query is set: the replay
   * sink's rows are only those the chain made, not the database's */
  int refuse_reads;
  int (*begin)(lm_sink *s);
  int (*commit)(lm_sink *s);
  int (*rollback)(lm_sink *s);
  void (*comment)(lm_sink *s, const char *text);
  /* op.rows: online, the dialect's cursor; the record and print sinks
   * yield no rows */
  int (*cursor_open)(lm_sink *s, const lm_stmt *st, lm_sink_cursor *out);
  /* a backfill's batch of rows, function form (the dialect renders it) */
  int (*write_rows)(lm_sink *s, const lm_rows_update *u);
  /* op.backfill, as the LM_OP_BACKFILL_SQL record op (nset 0 and names =
   * the columns read, for the function form): online the sink calls
   * walk(ud), which reads and writes the table batch by batch; the record
   * sink records op, the print sink prints its UPDATE (the function form
   * fails there: it needs the rows) */
  int (*backfill)(lm_sink *s, const lm_op *op, int (*walk)(void *ud), void *ud);
  /* op.autocommit_block starts at file:line, and ends */
  void (*autocommit_begin)(lm_sink *s, const char *file, int line);
  void (*autocommit_end)(lm_sink *s);
  /* batch_alter_table gathers its ops into one move-and-copy (dialects
   * without ALTER COLUMN, when statements are rendered) */
  int batch_collects;
  const lm_dialect *d;
  lm_conn *conn;
  FILE *out;   /* print sink */
  FILE *trace; /* -v: statements echoed here */
  int in_tx;
  int outer_tx; /* dry-run or one transaction: begin/commit are no-ops */
  /* record sink: every op record goes here first; nothing is rendered */
  int (*on_op)(void *ud, const lm_op *op);
  void *op_ud;
  /* record sink: op.autocommit_block starts (begin 1) or ends at file:line (lint) */
  void (*on_autocommit)(void *ud, const char *file, int line, int begin);
  /* the database that move-and-copy reflects tables from: the connection
   * online, an in-memory shadow replaying the script under --sql */
  lm_conn *shadow;
  /* --sql: statements not yet replayed on the shadow (replayed only when a
   * move-and-copy must read it, since most scripts never need it) */
  lm_stmt_log *shadow_pending;
  /* --sql FROM:TO: why there is no shadow although the dialect wants one
   * (the revisions up to FROM could not be replayed); a move-and-copy
   * fails with it */
  const char *shadow_lost;
  /* what the open transaction changed: the dialect checks the foreign keys
   * of those tables before COMMIT (online sinks only) */
  lm_fk_scope fk;
};

void lm_sink_online(lm_sink *s, const lm_dialect *d, lm_conn *c);
void lm_sink_print(lm_sink *s, const lm_dialect *d, FILE *out);
/** The sink that brings --sql FROM:TO's shadow to FROM: the revisions run on
 * shadow as online on an empty database (statements through pending),
 * nothing is printed. op.has_* and op.backfill work on the shadow; op.query &
 * co. fail with LM_EOFFLINE (refuse_reads). */
void lm_sink_replay(lm_sink *s, const lm_dialect *d, lm_conn *shadow, lm_stmt_log *pending);
/** A sink for lint and plans: each op record goes to fn (records are only
 * valid during the call); statements are dropped; queries return no rows. */
void lm_sink_record(lm_sink *s, const lm_dialect *d, int (*fn)(void *ud, const lm_op *op),
                    void *ud);
/** The next row of a cursor: 1 with a row (borrowed until the next call),
 * 0 at the end, or a negative LM_E code. */
int lm_sink_cursor_next(lm_sink_cursor *c, int *ncols, const char *const **names,
                        const lm_value **vals);
void lm_sink_cursor_close(lm_sink_cursor *c);
/** Renders op and sends every statement to the sink. */
int lm_sink_op(lm_sink *s, const lm_op *op);
int lm_sink_stmts(lm_sink *s, const lm_stmts *l);
/** Brings s->shadow up to date with the statements sent so far. */
int lm_sink_shadow_sync(lm_sink *s);
/** Notes that the open transaction changed table (LM_FK_* bits); a NULL
 * table means unknown tables, and the whole database is checked. */
void lm_sink_touch(lm_sink *s, const char *table, int what);
/** Notes that rows of table had these columns updated in place. */
void lm_sink_touch_cols(lm_sink *s, const char *table, const char *const *cols, int n);
/** Notes what an op record changes. */
void lm_sink_touch_op(lm_sink *s, const lm_op *op);
/** Forgets what the transaction changed (and frees it). */
void lm_sink_touch_clear(lm_sink *s);

/* ---- the Lua side (bindings/) ---------------------------------------------------- */

typedef struct lm_run lm_run;

/** A sandboxed Lua state with the `op` and `context` globals. */
lua_State *lm_lua_new(void);
void lm_lua_close(lua_State *L);
/** Loads every revision file of the config's folders into g; revisions
 * found unchanged in the revision index are not compiled until needed. */
int lm_lua_load_revisions(lua_State *L, const lm_config *c, lm_graph *g);
/** Compiles and runs the file of a revision whose fields came from the
 * revision index (nothing to do for others). LM_ELOAD when the file no
 * longer has the recorded checksum. */
int lm_lua_revision_load(lua_State *L, lm_revision *r);
/** Drops the compiled file of a revision whose checksum is known, so the
 * garbage collector can take it; lm_lua_revision_load compiles it again. */
void lm_lua_revision_unload(lua_State *L, lm_revision *r);
/** Sets context.x, dialect, offline. */
/** The dialect name lm_lua_set_context gave the run, or NULL. */
const char *lm_lua_context_dialect(lua_State *L);
void lm_lua_set_context(lua_State *L, const char *dialect, int offline, const char *const *x,
                        int nx);
/** Calls upgrade/downgrade (or step up/down) of a revision with the run's
 * sink receiving every op. */
int lm_lua_call_step(lua_State *L, lm_run *run, const lm_revision *r, int step, int up);

/* ---- the run -------------------------------------------------------------------- */

struct lm_run {
  lm_project *p;
  lm_sink *sink;
  const lm_dialect *d;
  int offline;
  const lm_revision *rev; /* running now */
  const char *step_name;
  int nops;                   /* op records emitted so far by the running step */
  struct lm_journal *journal; /* progress outside the step's transaction, or NULL */
};

/* ---- the runner's calls into the dialect (engine/dialect/dialect.c) ------------- */

/** The run lock (lm_dialect.lock_acquire); LM_ENOTSUP when the dialect has
 * none. *held, also on failure, goes to lm_dialect_lock_release. */
int lm_dialect_lock_acquire(const lm_dialect *d, lm_conn *c, const lm_url *url, long long key,
                            const lm_lock_wait *w, lm_lock **held);
void lm_dialect_lock_release(const lm_dialect *d, lm_lock *held);
/** NULL when the dialect has no schemas. */
const char *lm_dialect_current_schema_sql(const lm_dialect *d);
/** Appends the statement that sets lock_timeout to out and returns 1, or
 * returns 0 when the dialect has no such setting. */
int lm_dialect_lock_timeout_sql(const lm_dialect *d, lm_buf *out, const char *timeout);
/** NULL when no error is a lock timeout. */
const char *lm_dialect_lock_timeout_sqlstate(const lm_dialect *d);
/** NULL when the dialect cannot say who holds table locks. */
const char *lm_dialect_lock_holders_sql(const lm_dialect *d);
/** An LM_ECONFIG error when url's database does not exist and opening it
 * would create it; 0 otherwise. */
int lm_dialect_must_exist(const lm_dialect *d, const lm_url *url);

/* ---- the journal of committed progress (engine/journal.c) ------------------------ */

/** One item (a revision's step, one direction) as it runs: which of its
 * operations are committed. Values ending in _c are committed, _p are what
 * the open transaction holds. */
typedef struct lm_journal {
  lm_sink *sink;
  const lm_vt *vt;
  const lm_revision *r;
  const char *direction; /* "upgrade" / "downgrade" */
  const char *step;      /* the step's name, NULL for a plain revision */
  int table_c, table_p;  /* the journal table exists */
  int row_c, row_p;      /* the item has a journal row */
  long long done_c, done_p;
  long long started;      /* an operation was running outside a transaction */
  char fingerprint_c[17]; /* of the operations 1..done_c */
  char expect[17];        /* fingerprint a resumed run must reproduce at done_c */
  long long resume_done;  /* done_c when the item started (skip up to here) */
  char where_c[256];      /* file:line of the last committed operation */
  /* this call of the step function */
  long long n;                  /* operations seen */
  unsigned long long h;         /* fingerprint of operations 1..n */
  char where[256];              /* file:line of operation n */
  unsigned long long pending_h; /* … once operation n + 1 has run */
  int autocommit;               /* inside op.autocommit_block */
} lm_journal;

/** Before operation `kind` (an op name: "create_index", …; file/line where it
 * was called) of the running step: *skip is set when a resumed run already
 * committed it. 0 or an LM_E code. */
int lm_journal_op(lm_run *run, const char *kind, const char *table, const char *name,
                  const char *sql, const char *file, int line, int *skip);
/** After the operation has run. */
int lm_journal_op_done(lm_run *run);
/** op.autocommit_block: commits what ran before (with the journal), and
 * begins again after. */
int lm_journal_block_begin(lm_run *run);
int lm_journal_block_end(lm_run *run);
/** The runner's transaction ended: keep (commit) or drop (rollback) the
 * pending state. */
void lm_journal_committed(lm_journal *j);
void lm_journal_rolled_back(lm_journal *j);
/** Whether sql holds a transaction-control statement (BEGIN, COMMIT,
 * ROLLBACK, END, SAVEPOINT, RELEASE, START TRANSACTION, ABORT, PREPARE
 * TRANSACTION) at the start of any of its statements; *what gets its keyword
 * (static). Quotes, comments, dollar quotes and BEGIN … END bodies of CREATE
 * statements are skipped. */
int lm_sql_transaction_control(const char *sql, size_t len, const char **what);
/** 1 when the SQL text's statements (one or more) all only write rows:
 * INSERT, UPDATE, DELETE, REPLACE or MERGE, each perhaps after WITH; 0 for
 * anything else (DDL, a SELECT, an empty text). */
int lm_sql_writes_rows_only(const char *sql, size_t len);

/* The project (lm_run_report: include/luamig/fleet.h). */
struct lm_project {
  lm_options opts;
  lm_config *config;
  lm_url *url; /* may be NULL when only --dialect is known */
  const lm_dialect *dialect;
  lua_State *L;
  lm_graph graph;
  FILE *out, *err;
  lm_run_report *report; /* NULL, or where the run says what it did */
};

/* ---- interruption (engine/interrupt.c) ----------------------------------------- */

#include <signal.h>
extern volatile sig_atomic_t lm_interrupted;
/** What lm_interrupt() stops: the statement running on each connection
 * watched, with its dialect's cancel method (lm_dialect_open watches every
 * connection and lm_dialect_close forgets it). The newest wins the last of
 * a few slots. */
void lm_interrupt_watch(void (*cancel)(lm_conn *c), lm_conn *c);
void lm_interrupt_unwatch(lm_conn *c);
/** fn also runs on lm_interrupt(), async-signal-safe: the Lua side makes
 * running code raise "interrupted" there. */
void lm_interrupt_hook(void (*fn)(void));

/* ---- utilities --------------------------------------------------------------- */

int lm_read_file_max(const char *path, char **data, size_t *len, size_t max);
/** Where the Lua code of a source file starts: past a UTF-8 BOM and a
 * first line starting with '#' (not past its newline: lines keep their
 * numbers). */
size_t lm_source_start(const char *text, size_t len);
long long lm_now_ms(void);

#endif
