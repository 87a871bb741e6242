/* Unit tests of the SQL renderer (engine/render.c) and the version-table
 * statements (engine/version_table.c): exact SQL text and parameters for both
 * dialects, plus a run of the SQLite output on a real in-memory database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lm.h"

#define PG (&lm_dialect_postgresql)
#define SL (&lm_dialect_sqlite)

/* ---- helpers --------------------------------------------------------------- */

static lm_op mkop(lm_op_kind kind, const char *table) {
  lm_op op;
  memset(&op, 0, sizeof op);
  op.kind = kind;
  op.table = table;
  op.nullable = -1;
  op.existing_nullable = -1;
  return op;
}

static lm_column mkcol(const char *name, const char *type) {
  lm_column c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.type = type;
  c.nullable = 1;
  c.autoincrement = -1;
  return c;
}

static lm_value vtext(const char *s) {
  lm_value v = {.t = LM_V_TEXT, .s = (char *)s, .len = strlen(s)};
  return v;
}
static lm_value vint(long long i) { return (lm_value){.t = LM_V_INT, .i = i}; }
static lm_value vfloat(double f) { return (lm_value){.t = LM_V_FLOAT, .f = f}; }
static lm_value vbool(int b) { return (lm_value){.t = LM_V_BOOL, .i = b}; }
static lm_value vnull(void) { return (lm_value){.t = LM_V_NULL}; }

static void expect_type(const lm_dialect *d, const char *in, const char *want) {
  lm_buf b;
  lm_buf_init(&b);
  lm_render_type(d, in, &b);
  char *got = lm_buf_steal(&b);
  if (strcmp(got, want)) fail_msg("%s type '%s': got '%s', want '%s'", d->name, in, got, want);
  free(got);
}

/* Renders op and compares every statement; the list ends at NULL. */
static void expect_sql_(const lm_dialect *d, const lm_op *op, const char *const *want) {
  lm_stmts out = {0};
  int rc = lm_render(d, op, &out);
  if (rc) fail_msg("%s: lm_render failed: %s", d->name, lm_error_last()->message);
  int n = 0;
  while (want[n])
    n++;
  for (int i = 0; i < out.n && i < n; i++) {
    if (strcmp(out.v[i].sql, want[i]))
      fail_msg("%s statement %d:\n got: %s\nwant: %s", d->name, i, out.v[i].sql, want[i]);
    assert_int_equal(out.v[i].nparams, 0);
  }
  if (out.n != n) fail_msg("%s: %d statements, want %d", d->name, out.n, n);
  lm_stmts_free(&out);
}
#define EXPECT_SQL(d, op, ...) expect_sql_(d, op, (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NONE(d, op) expect_sql_(d, op, (const char *const[]){NULL})

/* The error leaves out exactly as it was. */
static void expect_error(const lm_dialect *d, const lm_op *op, int code, const char *msg) {
  lm_stmts out = {0};
  lm_stmts_add(&out, lm_xstrdup("SELECT 1"), NULL, 0);
  int rc = lm_render(d, op, &out);
  assert_int_equal(rc, code);
  assert_int_equal(lm_error_code(), code);
  if (msg) assert_string_equal(lm_error_last()->message, msg);
  assert_int_equal(out.n, 1);
  assert_string_equal(out.v[0].sql, "SELECT 1");
  lm_stmts_free(&out);
  lm_error_clear();
}

static char *literal(const lm_dialect *d, lm_value v) {
  lm_buf b;
  lm_buf_init(&b);
  lm_render_literal(d, &v, &b);
  return lm_buf_steal(&b);
}

static void expect_literal(const lm_dialect *d, lm_value v, const char *want) {
  char *got = literal(d, v);
  assert_string_equal(got, want);
  free(got);
}

static void expect_inline(const lm_dialect *d, const char *sql, const lm_value *params, int n,
                          const char *want) {
  lm_stmt st = {.sql = (char *)sql, .params = (lm_value *)params, .nparams = n};
  char *got = lm_render_inline(d, &st);
  if (strcmp(got, want)) fail_msg("%s inline:\n got: %s\nwant: %s", d->name, got, want);
  free(got);
}

static void assert_text_param(const lm_value *v, const char *s) {
  assert_int_equal(v->t, LM_V_TEXT);
  assert_int_equal(v->len, strlen(s));
  assert_memory_equal(v->s, s, v->len);
}

static void assert_int_param(const lm_value *v, long long i) {
  assert_int_equal(v->t, LM_V_INT);
  assert_int_equal(v->i, i);
}

/* ---- types ------------------------------------------------------------------- */

static void test_types_table(void **state) {
  (void)state;
  static const struct {
    const char *in, *pg, *sqlite;
  } rows[] = {
      {"integer", "INTEGER", "INTEGER"},
      {"bigint", "BIGINT", "BIGINT"},
      {"smallint", "SMALLINT", "SMALLINT"},
      {"string(20)", "VARCHAR(20)", "VARCHAR(20)"},
      {"varchar(255)", "VARCHAR(255)", "VARCHAR(255)"},
      {"string", "VARCHAR", "VARCHAR"},
      {"varchar", "VARCHAR", "VARCHAR"},
      {"text", "TEXT", "TEXT"},
      {"boolean", "BOOLEAN", "BOOLEAN"},
      {"numeric(10,2)", "NUMERIC(10,2)", "NUMERIC(10,2)"},
      {"numeric", "NUMERIC", "NUMERIC"},
      {"numeric(12)", "NUMERIC(12)", "NUMERIC(12)"},
      {"float", "DOUBLE PRECISION", "REAL"},
      {"date", "DATE", "DATE"},
      {"time", "TIME", "TIME"},
      {"datetime", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME"},
      {"timestamp", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME"},
      {"timestamptz", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"datetime(timezone)", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"json", "JSONB", "JSON"},
      {"uuid", "UUID", "CHAR(36)"},
      {"binary", "BYTEA", "BLOB"},
      /* case and whitespace */
      {"String(20)", "VARCHAR(20)", "VARCHAR(20)"},
      {"  STRING ( 20 )  ", "VARCHAR(20)", "VARCHAR(20)"},
      {"numeric(10, 2)", "NUMERIC(10,2)", "NUMERIC(10,2)"},
      {"Numeric( 10 ,2 )", "NUMERIC(10,2)", "NUMERIC(10,2)"},
      {"DateTime(timezone)", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"datetime( timezone )", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"DateTime(timezone=True)", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"timestamp(timezone = false)", "TIMESTAMP WITHOUT TIME ZONE", "DATETIME"},
      {"TimestampTZ", "TIMESTAMP WITH TIME ZONE", "DATETIME"},
      {"VARCHAR", "VARCHAR", "VARCHAR"},
      {"JSON", "JSONB", "JSON"},
      {"\tBoolean\n", "BOOLEAN", "BOOLEAN"},
      /* SQLAlchemy class names */
      {"BigInteger", "BIGINT", "BIGINT"},
      {"SmallInteger", "SMALLINT", "SMALLINT"},
      {"Unicode(40)", "VARCHAR(40)", "VARCHAR(40)"},
      {"UnicodeText", "TEXT", "TEXT"},
      {"LargeBinary", "BYTEA", "BLOB"},
      /* anything else, verbatim */
      {"double precision", "double precision", "double precision"},
      {"citext", "citext", "citext"},
      {"int", "int", "int"},
      {"string(abc)", "string(abc)", "string(abc)"},
      {"string(20", "string(20", "string(20"},
      {"numeric(10,2,3)", "numeric(10,2,3)", "numeric(10,2,3)"},
      {"float(53)", "float(53)", "float(53)"},
      {"integer[]", "integer[]", "integer[]"},
      {"geometry(Point, 4326)", "geometry(Point, 4326)", "geometry(Point, 4326)"},
      {"datetime(precision)", "datetime(precision)", "datetime(precision)"},
      {"var char(20)", "var char(20)", "var char(20)"},
      {"timestamp with time zone", "timestamp with time zone", "timestamp with time zone"},
      {"", "", ""},
      {"  citext\t", "citext", "citext"},
      {" \t ", "", ""},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    expect_type(PG, rows[i].in, rows[i].pg);
    expect_type(SL, rows[i].in, rows[i].sqlite);
  }
  /* longer than any type of ours: still verbatim */
  const char *long_type = "character varying(10) collate \"some_really_long_collation_name_x\"";
  expect_type(PG, long_type, long_type);
}

static void test_op_names(void **state) {
  (void)state;
  static const char *const names[LM_OP__COUNT] = {
      "create_table",       "drop_table",
      "rename_table",       "add_column",
      "drop_column",        "alter_column",
      "create_index",       "drop_index",
      "create_primary_key", "create_unique_constraint",
      "create_foreign_key", "create_check_constraint",
      "drop_constraint",    "execute",
      "bulk_insert",        "backfill",
  };
  for (int k = 0; k < LM_OP__COUNT; k++)
    assert_string_equal(lm_op_name((lm_op_kind)k), names[k]);
  assert_string_equal(lm_op_name(LM_OP__COUNT), "unknown");
}

static void test_render_table_and_quoting(void **state) {
  (void)state;
  lm_buf b;
  lm_buf_init(&b);
  lm_render_table(&b, NULL, "users");
  lm_buf_puts(&b, " ");
  lm_render_table(&b, "", "users");
  lm_buf_puts(&b, " ");
  lm_render_table(&b, "app", "users");
  lm_buf_puts(&b, " ");
  lm_render_table(&b, "my\"schema", "we\"ird");
  assert_string_equal(b.s, "\"users\" \"users\" \"app\".\"users\" \"my\"\"schema\".\"we\"\"ird\"");
  lm_buf_free(&b);

  lm_op op = mkop(LM_OP_DROP_TABLE, "a\"; DROP TABLE users; --");
  EXPECT_SQL(PG, &op, "DROP TABLE \"a\"\"; DROP TABLE users; --\"");

  lm_column c = mkcol("na\"me", "text");
  op = mkop(LM_OP_ADD_COLUMN, "t\"1");
  op.cols = &c;
  op.ncols = 1;
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\"\"1\" ADD COLUMN \"na\"\"me\" TEXT");
}

/* ---- create_table ---------------------------------------------------------------- */

static void test_create_table_autoincrement(void **state) {
  (void)state;
  lm_column cols[2] = {mkcol("id", "integer"), mkcol("name", "string(50)")};
  cols[0].primary_key = 1;
  cols[1].nullable = 0;
  lm_op op = mkop(LM_OP_CREATE_TABLE, "users");
  op.cols = cols;
  op.ncols = 2;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"))");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"name\" VARCHAR(50) "
             "NOT NULL)");

  cols[0].autoincrement = 1;
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
             "\"name\" VARCHAR(50) NOT NULL)");
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"))");

  /* a bigint key is still a rowid alias on SQLite: the type must be INTEGER */
  cols[0].type = "BigInt";
  cols[0].autoincrement = -1;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" BIGSERIAL NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"))");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"name\" VARCHAR(50) "
             "NOT NULL)");
  cols[0].type = "smallint";
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" SMALLSERIAL NOT NULL, \"name\" VARCHAR(50) NOT "
             "NULL, PRIMARY KEY (\"id\"))");

  /* autoincrement = false: a plain key */
  cols[0].type = "integer";
  cols[0].autoincrement = 0;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"))");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"))");

  /* "auto" steps aside for a server default, as in SQLAlchemy */
  cols[0].autoincrement = -1;
  cols[0].server_default = (lm_default){.kind = LM_DEF_NUMBER, .text = "7"};
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL DEFAULT 7, \"name\" VARCHAR(50) "
             "NOT NULL, PRIMARY KEY (\"id\"))");

  /* and for a table-level foreign key that takes in the key (a one-to-one
   * table, as autogenerate writes it): its values come from the other table */
  cols[0].server_default = (lm_default){0};
  const char *fk_cols[1] = {"id"}, *fk_ref[1] = {"id"};
  lm_constraint fk = {.kind = LM_CON_FK,
                      .cols = fk_cols,
                      .ncols = 1,
                      .ref_table = "people",
                      .ref_cols = fk_ref,
                      .nref = 1};
  op.cons = &fk;
  op.ncons = 1;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"), FOREIGN KEY (\"id\") REFERENCES \"people\" (\"id\"))");
  /* unless autoincrement = true says otherwise */
  cols[0].autoincrement = 1;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"name\" VARCHAR(50) NOT NULL, "
             "PRIMARY KEY (\"id\"), FOREIGN KEY (\"id\") REFERENCES \"people\" (\"id\"))");
}

static void test_create_table_primary_keys(void **state) {
  (void)state;
  /* composite */
  lm_column cols[3] = {mkcol("a", "integer"), mkcol("b", "string(10)"), mkcol("c", "text")};
  cols[0].primary_key = cols[1].primary_key = 1;
  lm_op op = mkop(LM_OP_CREATE_TABLE, "t");
  op.cols = cols;
  op.ncols = 3;
  const char *composite = "CREATE TABLE \"t\" (\"a\" INTEGER NOT NULL, \"b\" VARCHAR(10) NOT NULL, "
                          "\"c\" TEXT, PRIMARY KEY (\"a\", \"b\"))";
  EXPECT_SQL(PG, &op, composite);
  EXPECT_SQL(SL, &op, composite);

  /* a non-integer key */
  lm_column u[1] = {mkcol("id", "uuid")};
  u[0].primary_key = 1;
  op.cols = u;
  op.ncols = 1;
  EXPECT_SQL(PG, &op, "CREATE TABLE \"t\" (\"id\" UUID NOT NULL, PRIMARY KEY (\"id\"))");
  EXPECT_SQL(SL, &op, "CREATE TABLE \"t\" (\"id\" CHAR(36) NOT NULL, PRIMARY KEY (\"id\"))");

  /* a named op.primary_key wins over the columns' flags */
  const char *pkcols[2] = {"c", "a"};
  lm_constraint pk = {.kind = LM_CON_PK, .name = "pk_t", .cols = pkcols, .ncols = 2};
  op.cols = cols;
  op.ncols = 3;
  op.cons = &pk;
  op.ncons = 1;
  const char *named = "CREATE TABLE \"t\" (\"a\" INTEGER NOT NULL, \"b\" VARCHAR(10), \"c\" TEXT "
                      "NOT NULL, CONSTRAINT \"pk_t\" PRIMARY KEY (\"c\", \"a\"))";
  EXPECT_SQL(PG, &op, named);
  EXPECT_SQL(SL, &op, named);

  /* a named single integer key keeps its name inline on SQLite */
  lm_column id[2] = {mkcol("id", "integer"), mkcol("v", "text")};
  id[0].primary_key = 1;
  const char *idcol[1] = {"id"};
  lm_constraint pk1 = {.kind = LM_CON_PK, .name = "pk_t", .cols = idcol, .ncols = 1};
  op.cols = id;
  op.ncols = 2;
  op.cons = &pk1;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"t\" (\"id\" SERIAL NOT NULL, \"v\" TEXT, CONSTRAINT \"pk_t\" "
             "PRIMARY KEY (\"id\"))");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"t\" (\"id\" INTEGER NOT NULL CONSTRAINT \"pk_t\" PRIMARY KEY, \"v\" "
             "TEXT)");

  /* two primary keys */
  lm_constraint two[2] = {pk1, pk1};
  op.cons = two;
  op.ncons = 2;
  expect_error(PG, &op, LM_EUSAGE, "create_table \"t\" has more than one primary key");
}

static void test_create_table_columns(void **state) {
  (void)state;
  lm_column cols[8] = {
      mkcol("id", "integer"),     mkcol("status", "string(20)"), mkcol("n", "integer"),
      mkcol("active", "boolean"), mkcol("created", "datetime"),  mkcol("email", "text"),
      mkcol("org_id", "integer"), mkcol("slug", "text"),
  };
  cols[0].primary_key = 1;
  cols[1].server_default = (lm_default){.kind = LM_DEF_LITERAL, .text = "it's pending"};
  cols[1].nullable = 0;
  cols[2].server_default = (lm_default){.kind = LM_DEF_NUMBER, .text = "-1.5"};
  cols[3].server_default = (lm_default){.kind = LM_DEF_BOOL, .b = 1};
  cols[4].server_default = (lm_default){.kind = LM_DEF_SQL, .text = "CURRENT_TIMESTAMP"};
  cols[5].unique = 1;
  cols[5].comment = "the user's address";
  cols[6].ref_table = "orgs";
  cols[6].ref_column = "id";
  cols[6].ondelete = "cascade";
  cols[6].onupdate = " set   null ";
  cols[6].index = 1;
  cols[7].unique = 1;
  cols[7].index = 1;
  lm_op op = mkop(LM_OP_CREATE_TABLE, "users");
  op.cols = cols;
  op.ncols = 8;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"users\" (\"id\" SERIAL NOT NULL, \"status\" VARCHAR(20) NOT NULL "
             "DEFAULT 'it''s pending', \"n\" INTEGER DEFAULT -1.5, \"active\" BOOLEAN DEFAULT "
             "TRUE, \"created\" TIMESTAMP WITHOUT TIME ZONE DEFAULT CURRENT_TIMESTAMP, \"email\" "
             "TEXT, \"org_id\" INTEGER, \"slug\" TEXT, PRIMARY KEY (\"id\"), UNIQUE (\"email\"), "
             "FOREIGN KEY (\"org_id\") REFERENCES \"orgs\" (\"id\") ON DELETE CASCADE ON UPDATE "
             "SET NULL)",
             "CREATE INDEX \"ix_users_org_id\" ON \"users\" (\"org_id\")",
             "CREATE UNIQUE INDEX \"ix_users_slug\" ON \"users\" (\"slug\")",
             "COMMENT ON COLUMN \"users\".\"email\" IS 'the user''s address'");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"status\" VARCHAR(20) "
             "NOT NULL DEFAULT 'it''s pending', \"n\" INTEGER DEFAULT -1.5, \"active\" BOOLEAN "
             "DEFAULT 1, \"created\" DATETIME DEFAULT CURRENT_TIMESTAMP, \"email\" TEXT, "
             "\"org_id\" INTEGER, \"slug\" TEXT, UNIQUE (\"email\"), FOREIGN KEY (\"org_id\") "
             "REFERENCES \"orgs\" (\"id\") ON DELETE CASCADE ON UPDATE SET NULL)",
             "CREATE INDEX \"ix_users_org_id\" ON \"users\" (\"org_id\")",
             "CREATE UNIQUE INDEX \"ix_users_slug\" ON \"users\" (\"slug\")");
}

/* A column's collation comes after its type, quoted: "C", "NOCASE",
 * "en_US.utf8" are names of the database's, whatever their case. */
static void test_column_collation(void **state) {
  (void)state;
  lm_column c = mkcol("label", "string(30)");
  c.collation = "en_US.utf8";
  c.nullable = 0;
  c.server_default = (lm_default){.kind = LM_DEF_LITERAL, .text = "x"};
  lm_op op = mkop(LM_OP_ADD_COLUMN, "t");
  op.cols = &c;
  op.ncols = 1;
  EXPECT_SQL(PG, &op,
             "ALTER TABLE \"t\" ADD COLUMN \"label\" VARCHAR(30) COLLATE \"en_US.utf8\" NOT NULL "
             "DEFAULT 'x'");
  c.collation = "NOCASE";
  op.kind = LM_OP_CREATE_TABLE;
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"t\" (\"label\" VARCHAR(30) COLLATE \"NOCASE\" NOT NULL DEFAULT 'x')");
}

static void test_defaults(void **state) {
  (void)state;
  lm_column c = mkcol("d", "text");
  lm_op op = mkop(LM_OP_ADD_COLUMN, "t");
  op.cols = &c;
  op.ncols = 1;
  /* SQLite wants an expression default in parentheses; PostgreSQL does not */
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = "datetime('now')"};
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT (datetime('now'))");
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = "now()"};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT now()");
  /* SQLite has no now(): it is CURRENT_TIMESTAMP there, however written */
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = " NOW ( ) "};
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT CURRENT_TIMESTAMP");
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT  NOW ( ) ");
  /* only the whole expression: a call inside another is left as written */
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = "now() + 1"};
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT (now() + 1)");
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = "'now()'"};
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 'now()'");
  c.server_default = (lm_default){.kind = LM_DEF_SQL, .text = "'x'"};
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 'x'");
  c.server_default = (lm_default){.kind = LM_DEF_BOOL, .b = 0};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT FALSE");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 0");
  c.server_default = (lm_default){.kind = LM_DEF_NUMBER, .text = "1e+20"};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 1e+20");
  /* a number text that is not a number is not trusted as SQL */
  c.server_default = (lm_default){.kind = LM_DEF_NUMBER, .text = "1; DROP TABLE t"};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT '1; DROP TABLE t'");
  /* literal injection stays data; backslashes use E'' on PostgreSQL */
  c.server_default = (lm_default){.kind = LM_DEF_LITERAL, .text = "O'Brien; DROP TABLE users; --"};
  EXPECT_SQL(SL, &op,
             "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 'O''Brien; DROP TABLE users; --'");
  c.server_default = (lm_default){.kind = LM_DEF_LITERAL, .text = "a\\'b"};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT E'a\\\\''b'");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT DEFAULT 'a\\''b'");
  /* a DROP marker means nothing in a column definition */
  c.server_default = (lm_default){.kind = LM_DEF_DROP};
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD COLUMN \"d\" TEXT");
}

static void test_create_table_constraints(void **state) {
  (void)state;
  lm_column cols[3] = {mkcol("id", "integer"), mkcol("a", "integer"), mkcol("b", "integer")};
  cols[0].primary_key = 1;
  const char *ab[2] = {"a", "b"};
  const char *refs[2] = {"parents.x", "parents.y"};
  const char *a[1] = {"a"};
  const char *sref[1] = {"other.users.id"};
  lm_constraint cons[5] = {
      {.kind = LM_CON_UNIQUE, .name = "uq_t_ab", .cols = ab, .ncols = 2},
      {.kind = LM_CON_FK,
       .name = "fk_t_parents",
       .cols = ab,
       .ncols = 2,
       .ref_cols = refs,
       .nref = 2,
       .ondelete = "RESTRICT",
       .onupdate = "no action"},
      {.kind = LM_CON_CHECK, .name = "ck_t_a", .expr = "a > 0 AND b <> 'x'"},
      {.kind = LM_CON_CHECK, .expr = "b IS NOT NULL"},
      {.kind = LM_CON_FK, .cols = a, .ncols = 1, .ref_cols = sref, .nref = 1},
  };
  lm_op op = mkop(LM_OP_CREATE_TABLE, "t");
  op.cols = cols;
  op.ncols = 3;
  op.cons = cons;
  op.ncons = 5;
  EXPECT_SQL(PG, &op,
             "CREATE TABLE \"t\" (\"id\" SERIAL NOT NULL, \"a\" INTEGER, \"b\" INTEGER, PRIMARY "
             "KEY (\"id\"), CONSTRAINT \"uq_t_ab\" UNIQUE (\"a\", \"b\"), CONSTRAINT "
             "\"fk_t_parents\" FOREIGN KEY (\"a\", \"b\") REFERENCES \"parents\" (\"x\", \"y\") "
             "ON DELETE RESTRICT ON UPDATE NO ACTION, CONSTRAINT \"ck_t_a\" CHECK (a > 0 AND b <> "
             "'x'), CHECK (b IS NOT NULL), FOREIGN KEY (\"a\") REFERENCES \"other\".\"users\" "
             "(\"id\"))");
  EXPECT_SQL(SL, &op,
             "CREATE TABLE \"t\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"a\" INTEGER, \"b\" "
             "INTEGER, CONSTRAINT \"uq_t_ab\" UNIQUE (\"a\", \"b\"), CONSTRAINT \"fk_t_parents\" "
             "FOREIGN KEY (\"a\", \"b\") REFERENCES \"parents\" (\"x\", \"y\") ON DELETE RESTRICT "
             "ON UPDATE NO ACTION, CONSTRAINT \"ck_t_a\" CHECK (a > 0 AND b <> 'x'), CHECK (b IS "
             "NOT NULL), FOREIGN KEY (\"a\") REFERENCES \"other\".\"users\" (\"id\"))");

  /* ref_cols naming two tables */
  const char *mixed[2] = {"parents.x", "others.y"};
  cons[1].ref_cols = mixed;
  expect_error(PG, &op, LM_EUSAGE,
               "foreign key on table \"t\" references both 'parents' and 'others'; one foreign "
               "key points at one table");
  /* a reference without a table */
  const char *bare[2] = {"x", "parents.y"};
  cons[1].ref_cols = bare;
  expect_error(SL, &op, LM_EUSAGE,
               "foreign key on table \"t\": reference 'x' is not \"table.column\"");
  /* column counts differ */
  cons[1].ref_cols = refs;
  cons[1].nref = 1;
  expect_error(PG, &op, LM_EUSAGE,
               "foreign key on table \"t\" has 2 local and 1 referenced columns");
}

static void test_invalid_fk_action(void **state) {
  (void)state;
  lm_column cols[1] = {mkcol("org_id", "integer")};
  cols[0].ref_table = "orgs";
  cols[0].ref_column = "id";
  cols[0].ondelete = "CASCADE; DROP TABLE users";
  lm_op op = mkop(LM_OP_CREATE_TABLE, "t");
  op.cols = cols;
  op.ncols = 1;
  const char *msg = "invalid ondelete value 'CASCADE; DROP TABLE users'; use CASCADE, SET NULL, "
                    "SET DEFAULT, RESTRICT or NO ACTION";
  expect_error(PG, &op, LM_EUSAGE, msg);
  expect_error(SL, &op, LM_EUSAGE, msg);

  op.kind = LM_OP_ADD_COLUMN;
  expect_error(PG, &op, LM_EUSAGE, msg);

  cols[0].ondelete = "set  default";
  cols[0].onupdate = "nothing";
  expect_error(SL, &op, LM_EUSAGE,
               "invalid onupdate value 'nothing'; use CASCADE, SET NULL, SET DEFAULT, RESTRICT "
               "or NO ACTION");

  const char *c1[1] = {"a"}, *r1[1] = {"id"};
  lm_constraint fk = {.kind = LM_CON_FK,
                      .cols = c1,
                      .ncols = 1,
                      .ref_table = "orgs",
                      .ref_cols = r1,
                      .nref = 1,
                      .ondelete = "SETNULL"};
  lm_op cf = mkop(LM_OP_CREATE_FK, "t");
  cf.name = "fk";
  cf.cons = &fk;
  cf.ncons = 1;
  expect_error(PG, &cf, LM_EUSAGE,
               "invalid ondelete value 'SETNULL'; use CASCADE, SET NULL, SET DEFAULT, RESTRICT "
               "or NO ACTION");
}

/* ---- other operations -------------------------------------------------------------- */

static void test_drop_rename_table(void **state) {
  (void)state;
  lm_op op = mkop(LM_OP_DROP_TABLE, "users");
  EXPECT_SQL(PG, &op, "DROP TABLE \"users\"");
  EXPECT_SQL(SL, &op, "DROP TABLE \"users\"");
  op = mkop(LM_OP_RENAME_TABLE, "users");
  op.new_name = "people";
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" RENAME TO \"people\"");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"users\" RENAME TO \"people\"");
}

static void test_add_drop_column(void **state) {
  (void)state;
  lm_column c = mkcol("phone_number", "string(20)");
  lm_op op = mkop(LM_OP_ADD_COLUMN, "users");
  op.cols = &c;
  op.ncols = 1;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" ADD COLUMN \"phone_number\" VARCHAR(20)");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"users\" ADD COLUMN \"phone_number\" VARCHAR(20)");

  /* NOT NULL without a default: rendered; the database says what is wrong */
  c.nullable = 0;
  EXPECT_SQL(SL, &op, "ALTER TABLE \"users\" ADD COLUMN \"phone_number\" VARCHAR(20) NOT NULL");

  c = mkcol("org_id", "integer");
  c.ref_table = "orgs";
  c.ref_column = "id";
  c.ondelete = "Set Null";
  c.index = 1;
  c.comment = "owning org";
  EXPECT_SQL(PG, &op,
             "ALTER TABLE \"users\" ADD COLUMN \"org_id\" INTEGER REFERENCES \"orgs\" (\"id\") ON "
             "DELETE SET NULL",
             "CREATE INDEX \"ix_users_org_id\" ON \"users\" (\"org_id\")",
             "COMMENT ON COLUMN \"users\".\"org_id\" IS 'owning org'");
  EXPECT_SQL(SL, &op,
             "ALTER TABLE \"users\" ADD COLUMN \"org_id\" INTEGER REFERENCES \"orgs\" (\"id\") ON "
             "DELETE SET NULL",
             "CREATE INDEX \"ix_users_org_id\" ON \"users\" (\"org_id\")");

  /* unique: inline on PostgreSQL; SQLite's ADD COLUMN refuses UNIQUE */
  c = mkcol("email", "text");
  c.unique = 1;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" ADD COLUMN \"email\" TEXT UNIQUE");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"users\" ADD COLUMN \"email\" TEXT",
             "CREATE UNIQUE INDEX \"uq_users_email\" ON \"users\" (\"email\")");
  c.index = 1;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" ADD COLUMN \"email\" TEXT",
             "CREATE UNIQUE INDEX \"ix_users_email\" ON \"users\" (\"email\")");

  /* a key column: inline */
  c = mkcol("id", "bigint");
  c.primary_key = 1;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" ADD COLUMN \"id\" BIGSERIAL NOT NULL PRIMARY KEY");

  op.ncols = 0;
  expect_error(PG, &op, LM_EUSAGE, "add_column on table \"users\" needs exactly one column");

  op = mkop(LM_OP_DROP_COLUMN, "users");
  op.name = "phone_number";
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" DROP COLUMN \"phone_number\"");
  EXPECT_SQL(SL, &op, "ALTER TABLE \"users\" DROP COLUMN \"phone_number\"");
}

static void test_alter_column(void **state) {
  (void)state;
  lm_op op = mkop(LM_OP_ALTER_COLUMN, "users");
  op.name = "age";
  op.type = "bigint";
  op.using_expr = "age::bigint";
  op.nullable = 0;
  op.server_default = (lm_default){.kind = LM_DEF_NUMBER, .text = "0"};
  op.has_comment = 1;
  op.comment = "years";
  op.new_name = "age_years";
  EXPECT_SQL(PG, &op, "ALTER TABLE \"users\" ALTER COLUMN \"age\" TYPE BIGINT USING age::bigint",
             "ALTER TABLE \"users\" ALTER COLUMN \"age\" SET NOT NULL",
             "ALTER TABLE \"users\" ALTER COLUMN \"age\" SET DEFAULT 0",
             "COMMENT ON COLUMN \"users\".\"age\" IS 'years'",
             "ALTER TABLE \"users\" RENAME COLUMN \"age\" TO \"age_years\"");
  expect_error(SL, &op, LM_ENOTSUP,
               "alter_column changing a column's type, nullability or default is not supported "
               "on SQLite yet (move-and-copy is planned); table \"users\", column \"age\"");

  lm_op o2 = mkop(LM_OP_ALTER_COLUMN, "users");
  o2.name = "age";
  o2.nullable = 1;
  EXPECT_SQL(PG, &o2, "ALTER TABLE \"users\" ALTER COLUMN \"age\" DROP NOT NULL");
  expect_error(SL, &o2, LM_ENOTSUP, NULL);
  o2.nullable = -1;
  o2.server_default.kind = LM_DEF_DROP;
  EXPECT_SQL(PG, &o2, "ALTER TABLE \"users\" ALTER COLUMN \"age\" DROP DEFAULT");
  expect_error(SL, &o2, LM_ENOTSUP, NULL);
  o2.server_default = (lm_default){.kind = LM_DEF_LITERAL, .text = "n/a"};
  EXPECT_SQL(PG, &o2, "ALTER TABLE \"users\" ALTER COLUMN \"age\" SET DEFAULT 'n/a'");
  o2.server_default.kind = LM_DEF_NONE;
  o2.type = "String(5)";
  EXPECT_SQL(PG, &o2, "ALTER TABLE \"users\" ALTER COLUMN \"age\" TYPE VARCHAR(5)");
  expect_error(SL, &o2, LM_ENOTSUP, NULL);

  /* comment removed; SQLite ignores comments */
  lm_op o3 = mkop(LM_OP_ALTER_COLUMN, "users");
  o3.name = "age";
  o3.has_comment = 1;
  EXPECT_SQL(PG, &o3, "COMMENT ON COLUMN \"users\".\"age\" IS NULL");
  EXPECT_NONE(SL, &o3);
  o3.new_name = "years";
  EXPECT_SQL(SL, &o3, "ALTER TABLE \"users\" RENAME COLUMN \"age\" TO \"years\"");

  lm_op o4 = mkop(LM_OP_ALTER_COLUMN, "users");
  o4.name = "age";
  o4.using_expr = "age::int";
  expect_error(PG, &o4, LM_EUSAGE,
               "alter_column on table \"users\", column \"age\": postgresql_using needs a new "
               "type");
}

static void test_indexes(void **state) {
  (void)state;
  const char *cols[3] = {"email", "lower(name)", "created_at DESC"};
  lm_op op = mkop(LM_OP_CREATE_INDEX, "users");
  op.name = "ix_users_email";
  op.names = cols;
  op.nnames = 1;
  EXPECT_SQL(PG, &op, "CREATE INDEX \"ix_users_email\" ON \"users\" (\"email\")");
  EXPECT_SQL(SL, &op, "CREATE INDEX \"ix_users_email\" ON \"users\" (\"email\")");
  /* expressions come marked (op.sql() in a revision); names never run */
  static const unsigned char exprs[3] = {0, 1, 1};
  op.name_is_expr = exprs;
  op.nnames = 3;
  op.unique = 1;
  op.concurrently = 1;
  op.if_not_exists = 1;
  op.where = "deleted_at IS NULL";
  EXPECT_SQL(PG, &op,
             "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"ix_users_email\" ON \"users\" "
             "(\"email\", lower(name), created_at DESC) WHERE deleted_at IS NULL");
  EXPECT_SQL(SL, &op,
             "CREATE UNIQUE INDEX IF NOT EXISTS \"ix_users_email\" ON \"users\" (\"email\", "
             "lower(name), created_at DESC) WHERE deleted_at IS NULL");
  /* an access method (postgresql_using; the binding keeps it on PostgreSQL
   * only) comes after the table */
  lm_op g = mkop(LM_OP_CREATE_INDEX, "docs");
  g.name = "ix_docs_body";
  g.names = cols;
  g.nnames = 1;
  g.method = "gin";
  EXPECT_SQL(PG, &g, "CREATE INDEX \"ix_docs_body\" ON \"docs\" USING gin (\"email\")");
  /* a covering index's INCLUDE columns (postgresql_include): after the key,
   * before the WHERE */
  const char *inc[] = {"name", "Created At"};
  g.method = NULL;
  g.include = inc;
  g.ninclude = 2;
  g.where = "deleted_at IS NULL";
  EXPECT_SQL(PG, &g,
             "CREATE INDEX \"ix_docs_body\" ON \"docs\" (\"email\") INCLUDE (\"name\", "
             "\"Created At\") WHERE deleted_at IS NULL");

  /* an entry or a WHERE ending in a -- comment: a line break keeps the
   * rest of the statement out of the comment; one in a string is no comment */
  const char *noted[2] = {"lower(name) -- folded", "note || '--'"};
  lm_op c = mkop(LM_OP_CREATE_INDEX, "users");
  c.name = "ix_c";
  c.names = noted;
  c.nnames = 2;
  c.name_is_expr = exprs + 1;
  c.where = "deleted_at IS NULL -- live /* rows */";
  EXPECT_SQL(PG, &c,
             "CREATE INDEX \"ix_c\" ON \"users\" (lower(name) -- folded\n, note || '--') WHERE "
             "deleted_at IS NULL -- live /* rows */\n");
  c.where = "a = '-- x' /* -- */";
  EXPECT_SQL(SL, &c,
             "CREATE INDEX \"ix_c\" ON \"users\" (lower(name) -- folded\n, note || '--') WHERE a "
             "= '-- x' /* -- */");

  /* unmarked, the same text is a column name: quoted, whatever it holds */
  const char *odd[2] = {"first name", "id); DROP TABLE victim; --"};
  lm_op q = mkop(LM_OP_CREATE_INDEX, "users");
  q.name = "ix_q";
  q.names = odd;
  q.nnames = 2;
  EXPECT_SQL(PG, &q,
             "CREATE INDEX \"ix_q\" ON \"users\" (\"first name\", \"id); DROP TABLE victim; --\")");
  EXPECT_SQL(SL, &q,
             "CREATE INDEX \"ix_q\" ON \"users\" (\"first name\", \"id); DROP TABLE victim; --\")");

  lm_op d = mkop(LM_OP_DROP_INDEX, NULL);
  d.name = "ix_users_email";
  EXPECT_SQL(PG, &d, "DROP INDEX \"ix_users_email\"");
  EXPECT_SQL(SL, &d, "DROP INDEX \"ix_users_email\"");
  d.concurrently = 1;
  d.if_exists = 1;
  EXPECT_SQL(PG, &d, "DROP INDEX CONCURRENTLY IF EXISTS \"ix_users_email\"");
  EXPECT_SQL(SL, &d, "DROP INDEX IF EXISTS \"ix_users_email\"");
}

static void test_constraint_ops(void **state) {
  (void)state;
  const char *ab[2] = {"a", "b"};
  const char *xy[2] = {"x", "y"};
  lm_constraint pk = {.kind = LM_CON_PK, .cols = ab, .ncols = 2};
  lm_op op = mkop(LM_OP_CREATE_PK, "t");
  op.name = "pk_t";
  op.cons = &pk;
  op.ncons = 1;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD CONSTRAINT \"pk_t\" PRIMARY KEY (\"a\", \"b\")");
  expect_error(SL, &op, LM_ENOTSUP,
               "create_primary_key is not supported on SQLite yet (move-and-copy is planned)");

  lm_constraint uq = {.kind = LM_CON_UNIQUE, .cols = ab, .ncols = 2};
  op.kind = LM_OP_CREATE_UNIQUE;
  op.name = "uq_t";
  op.cons = &uq;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD CONSTRAINT \"uq_t\" UNIQUE (\"a\", \"b\")");
  expect_error(SL, &op, LM_ENOTSUP,
               "create_unique_constraint is not supported on SQLite yet (move-and-copy is "
               "planned)");

  lm_constraint fk = {.kind = LM_CON_FK,
                      .cols = ab,
                      .ncols = 2,
                      .ref_table = "p",
                      .ref_cols = xy,
                      .nref = 2,
                      .ondelete = "cascade",
                      .not_valid = 1};
  op.kind = LM_OP_CREATE_FK;
  op.name = "fk_t_p";
  op.cons = &fk;
  EXPECT_SQL(PG, &op,
             "ALTER TABLE \"t\" ADD CONSTRAINT \"fk_t_p\" FOREIGN KEY (\"a\", \"b\") REFERENCES "
             "\"p\" (\"x\", \"y\") ON DELETE CASCADE NOT VALID");
  expect_error(SL, &op, LM_ENOTSUP,
               "create_foreign_key is not supported on SQLite yet (move-and-copy is planned)");
  fk.not_valid = 0;
  fk.ondelete = NULL;
  fk.onupdate = "restrict";
  EXPECT_SQL(PG, &op,
             "ALTER TABLE \"t\" ADD CONSTRAINT \"fk_t_p\" FOREIGN KEY (\"a\", \"b\") REFERENCES "
             "\"p\" (\"x\", \"y\") ON UPDATE RESTRICT");

  lm_constraint ck = {.kind = LM_CON_CHECK, .expr = "a < b", .not_valid = 1};
  op.kind = LM_OP_CREATE_CHECK;
  op.name = "ck_t";
  op.cons = &ck;
  EXPECT_SQL(PG, &op, "ALTER TABLE \"t\" ADD CONSTRAINT \"ck_t\" CHECK (a < b) NOT VALID");
  expect_error(SL, &op, LM_ENOTSUP,
               "create_check_constraint is not supported on SQLite yet (move-and-copy is "
               "planned)");
  op.ncons = 0;
  expect_error(PG, &op, LM_EUSAGE, "create_check_constraint on table \"t\" has no constraint");

  lm_op dc = mkop(LM_OP_DROP_CONSTRAINT, "t");
  dc.name = "ck_t";
  dc.constraint_type = "check";
  EXPECT_SQL(PG, &dc, "ALTER TABLE \"t\" DROP CONSTRAINT \"ck_t\"");
  expect_error(SL, &dc, LM_ENOTSUP,
               "drop_constraint is not supported on SQLite yet (move-and-copy is planned)");
}

static void test_execute(void **state) {
  (void)state;
  lm_value params[3] = {vtext("O'Brien"), vint(42), vnull()};
  lm_op op = mkop(LM_OP_EXECUTE, NULL);
  op.sql = "UPDATE users SET name = $1 WHERE id = $2 AND x IS $3";
  op.params = params;
  op.nparams = 3;
  lm_stmts out = {0};
  assert_int_equal(lm_render(SL, &op, &out), 0);
  assert_int_equal(out.n, 1);
  assert_string_equal(out.v[0].sql, op.sql);
  assert_ptr_not_equal(out.v[0].sql, op.sql);
  assert_int_equal(out.v[0].nparams, 3);
  assert_text_param(&out.v[0].params[0], "O'Brien");
  assert_ptr_not_equal(out.v[0].params[0].s, params[0].s);
  assert_int_param(&out.v[0].params[1], 42);
  assert_int_equal(out.v[0].params[2].t, LM_V_NULL);
  lm_stmts_free(&out);

  op.params = NULL;
  op.nparams = 0;
  op.sql = "CREATE EXTENSION IF NOT EXISTS citext";
  EXPECT_SQL(PG, &op, "CREATE EXTENSION IF NOT EXISTS citext");
  op.sql = NULL;
  expect_error(PG, &op, LM_EUSAGE, "execute: missing SQL text");
}

static void test_bulk_insert(void **state) {
  (void)state;
  const char *k_ab[2] = {"a", "b"}, *k_a[1] = {"a"};
  lm_value v1[2] = {vint(1), vtext("x")}, v2[2] = {vint(2), vnull()}, v3[1] = {vint(3)},
           v4[2] = {vfloat(0.5), vbool(1)};
  lm_insert_row rows[5] = {
      {.keys = k_ab, .vals = v1, .n = 2},   {.keys = k_ab, .vals = v2, .n = 2},
      {.keys = k_a, .vals = v3, .n = 1},    {.keys = k_ab, .vals = v4, .n = 2},
      {.keys = NULL, .vals = NULL, .n = 0},
  };
  lm_op op = mkop(LM_OP_BULK_INSERT, "t");
  op.rows = rows;
  op.nrows = 5;
  lm_stmts out = {0};
  assert_int_equal(lm_render(PG, &op, &out), 0);
  assert_int_equal(out.n, 4);
  assert_string_equal(out.v[0].sql, "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, $4)");
  assert_int_equal(out.v[0].nparams, 4);
  assert_int_param(&out.v[0].params[0], 1);
  assert_text_param(&out.v[0].params[1], "x");
  assert_int_param(&out.v[0].params[2], 2);
  assert_int_equal(out.v[0].params[3].t, LM_V_NULL);
  assert_string_equal(out.v[1].sql, "INSERT INTO \"t\" (\"a\") VALUES ($1)");
  assert_int_equal(out.v[1].nparams, 1);
  assert_int_param(&out.v[1].params[0], 3);
  assert_string_equal(out.v[2].sql, "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2)");
  assert_int_equal(out.v[2].params[0].t, LM_V_FLOAT);
  assert_true(out.v[2].params[0].f == 0.5);
  assert_int_equal(out.v[2].params[1].t, LM_V_BOOL);
  assert_string_equal(out.v[3].sql, "INSERT INTO \"t\" DEFAULT VALUES");
  assert_int_equal(out.v[3].nparams, 0);
  lm_stmts_free(&out);

  op.nrows = 0;
  EXPECT_NONE(SL, &op);
}

/* 1201 rows of 2 columns: 500 + 500 + 201. 1000 rows of 100 columns: at most
 * 30000 parameters, so 300 + 300 + 300 + 100. */
static void test_bulk_insert_limits(void **state) {
  (void)state;
  enum { NKEYS = 100, NROWS = 1201 };
  const char *keys[NKEYS];
  char names[NKEYS][16];
  for (int i = 0; i < NKEYS; i++) {
    snprintf(names[i], sizeof names[i], "c%03d", i);
    keys[i] = names[i];
  }
  lm_value *vals = lm_xcalloc((size_t)NROWS * NKEYS, sizeof *vals);
  for (int i = 0; i < NROWS * NKEYS; i++)
    vals[i] = vint(i);
  lm_insert_row *rows = lm_xcalloc(NROWS, sizeof *rows);
  for (int r = 0; r < NROWS; r++)
    rows[r] = (lm_insert_row){keys, vals + r * NKEYS, 2};
  lm_op op = mkop(LM_OP_BULK_INSERT, "t");
  op.rows = rows;
  op.nrows = NROWS;
  lm_stmts out = {0};
  assert_int_equal(lm_render(SL, &op, &out), 0);
  assert_int_equal(out.n, 3);
  assert_int_equal(out.v[0].nparams, 1000);
  assert_int_equal(out.v[1].nparams, 1000);
  assert_int_equal(out.v[2].nparams, 402);
  assert_non_null(strstr(out.v[0].sql, "($999, $1000)"));
  assert_null(strstr(out.v[0].sql, "$1001"));
  /* the second statement starts where the first stopped and renumbers */
  assert_int_param(&out.v[1].params[0], 500 * NKEYS);
  assert_int_param(&out.v[2].params[401], 1200 * NKEYS + 1);
  lm_stmts_free(&out);

  for (int r = 0; r < NROWS; r++)
    rows[r].n = NKEYS;
  op.nrows = 1000;
  assert_int_equal(lm_render(PG, &op, &out), 0);
  assert_int_equal(out.n, 4);
  assert_int_equal(out.v[0].nparams, 30000);
  assert_int_equal(out.v[3].nparams, 10000);
  assert_int_param(&out.v[3].params[9999], 1000 * NKEYS - 1);
  lm_stmts_free(&out);
  free(rows);
  free(vals);
}

static void test_backfill(void **state) {
  (void)state;
  const char *cols[4] = {"first_name", "note", "score", "flag"};
  lm_default vals[4] = {
      {.kind = LM_DEF_SQL, .text = "split_part(username, '_', 1)"},
      {.kind = LM_DEF_LITERAL, .text = "it's"},
      {.kind = LM_DEF_NUMBER, .text = "2.5"},
      {.kind = LM_DEF_BOOL, .b = 1},
  };
  lm_op op = mkop(LM_OP_BACKFILL_SQL, "users");
  op.set_cols = cols;
  op.set_vals = vals;
  op.nset = 4;
  op.where = "first_name IS NULL";
  EXPECT_SQL(PG, &op,
             "UPDATE \"users\" SET \"first_name\" = split_part(username, '_', 1), \"note\" = "
             "'it''s', \"score\" = 2.5, \"flag\" = TRUE WHERE first_name IS NULL");
  /* no parentheses: this is an expression, not a column DEFAULT */
  EXPECT_SQL(SL, &op,
             "UPDATE \"users\" SET \"first_name\" = split_part(username, '_', 1), \"note\" = "
             "'it''s', \"score\" = 2.5, \"flag\" = 1 WHERE first_name IS NULL");
  op.where = NULL;
  op.nset = 1;
  EXPECT_SQL(SL, &op, "UPDATE \"users\" SET \"first_name\" = split_part(username, '_', 1)");
  op.nset = 0;
  expect_error(SL, &op, LM_EUSAGE, "backfill of table \"users\" sets no column");
}

static void test_missing_fields(void **state) {
  (void)state;
  lm_op op = mkop(LM_OP_DROP_TABLE, NULL);
  expect_error(PG, &op, LM_EUSAGE, "drop_table: missing table name");
  op = mkop(LM_OP_RENAME_TABLE, "a");
  expect_error(PG, &op, LM_EUSAGE, "rename_table: missing new table name");
  op = mkop(LM_OP_DROP_INDEX, NULL);
  expect_error(SL, &op, LM_EUSAGE, "drop_index: missing index name");
  op = mkop(LM_OP_ALTER_COLUMN, "t");
  expect_error(SL, &op, LM_EUSAGE, "alter_column: missing column name");
  lm_column c = mkcol(NULL, "text");
  op = mkop(LM_OP_CREATE_TABLE, "t");
  op.cols = &c;
  op.ncols = 1;
  expect_error(PG, &op, LM_EUSAGE, "a column of table \"t\" has no name");
  op = mkop(LM_OP__COUNT, "t");
  expect_error(PG, &op, LM_EUSAGE, "unknown operation 16");
}

/* ---- literals and --sql ------------------------------------------------------------ */

static void test_literals(void **state) {
  (void)state;
  expect_literal(PG, vnull(), "NULL");
  expect_literal(SL, vnull(), "NULL");
  expect_literal(PG, vint(-9223372036854775807LL - 1), "-9223372036854775808");
  expect_literal(SL, vint(42), "42");
  expect_literal(PG, vbool(1), "TRUE");
  expect_literal(PG, vbool(0), "FALSE");
  expect_literal(SL, vbool(1), "1");
  expect_literal(SL, vbool(0), "0");
  expect_literal(PG, vtext(""), "''");
  expect_literal(PG, vtext("O'Brien; DROP TABLE users; --"), "'O''Brien; DROP TABLE users; --'");
  expect_literal(SL, vtext("O'Brien; DROP TABLE users; --"), "'O''Brien; DROP TABLE users; --'");
  expect_literal(SL, vtext("''"), "''''''");
  /* a backslash cannot escape the closing quote on PostgreSQL, whatever
   * standard_conforming_strings says */
  expect_literal(PG, vtext("x\\"), "E'x\\\\'");
  expect_literal(PG, vtext("\\'; DROP TABLE t; --"), "E'\\\\''; DROP TABLE t; --'");
  expect_literal(SL, vtext("x\\"), "'x\\'");
  expect_literal(SL, vtext("é\n\"x\""), "'é\n\"x\"'");
  /* the length counts, not the NUL */
  lm_value nul = {.t = LM_V_TEXT, .s = "a\0b", .len = 3};
  expect_literal(SL, nul, "CAST(X'610062' AS TEXT)");
  expect_literal(PG, nul, "convert_from(decode('610062', 'hex'), 'UTF8')");
  lm_value part = {.t = LM_V_TEXT, .s = "abc", .len = 2};
  expect_literal(SL, part, "'ab'");

  expect_literal(PG, vfloat(0.1), "0.1");
  expect_literal(PG, vfloat(1.0), "1.0");
  expect_literal(SL, vfloat(-0.0), "-0.0");
  expect_literal(SL, vfloat(-2.5), "-2.5");
  expect_literal(PG, vfloat(1e300), "1e+300");
  expect_literal(PG, vfloat(123456789.0), "123456789.0");
  expect_literal(PG, vfloat(1.0 / 3.0), "0.3333333333333333");
  expect_literal(PG, vfloat(5e-324), "5e-324");
  expect_literal(PG, vfloat(NAN), "'NaN'");
  expect_literal(PG, vfloat(INFINITY), "'Infinity'");
  expect_literal(PG, vfloat(-INFINITY), "'-Infinity'");
  expect_literal(SL, vfloat(NAN), "NULL");
  expect_literal(SL, vfloat(INFINITY), "9e999");
  expect_literal(SL, vfloat(-INFINITY), "-9e999");
  /* every double reads back exactly */
  double samples[] = {0.1, 2.0 / 3.0, 1e-7, 123.456, 9007199254740993.0, 1.7976931348623157e308};
  for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
    char *s = literal(PG, vfloat(samples[i]));
    assert_true(strtod(s, NULL) == samples[i]);
    free(s);
  }
}

static void test_inline(void **state) {
  (void)state;
  lm_value p[3] = {vtext("O'Brien"), vint(7), vnull()};
  /* no parameters: a plain copy, even of $1 */
  expect_inline(PG, "SELECT $1", NULL, 0, "SELECT $1");
  expect_inline(PG, "UPDATE t SET a = $1, b = $2 WHERE c IS $3", p, 3,
                "UPDATE t SET a = 'O''Brien', b = 7 WHERE c IS NULL");
  expect_inline(SL, "UPDATE t SET a = $1, b = $2 WHERE c IS $3", p, 3,
                "UPDATE t SET a = 'O''Brien', b = 7 WHERE c IS NULL");
  expect_inline(PG, "SELECT $2, $1, $2", p, 3, "SELECT 7, 'O''Brien', 7");
  /* not placeholders: in strings, identifiers, comments, dollar quotes, names */
  expect_inline(PG, "SELECT '$1', \"$1\", $1 -- $2\n, $2 /* $1 /* $2 */ $1 */, $2", p, 3,
                "SELECT '$1', \"$1\", 'O''Brien' -- $2\n, 7 /* $1 /* $2 */ $1 */, 7");
  expect_inline(PG, "SELECT 'it''s $1', $2", p, 3, "SELECT 'it''s $1', 7");
  expect_inline(PG, "SELECT E'\\' $1', $2", p, 3, "SELECT E'\\' $1', 7");
  expect_inline(PG, "DO $$ BEGIN PERFORM $1; END $$; SELECT $2", p, 3,
                "DO $$ BEGIN PERFORM $1; END $$; SELECT 7");
  expect_inline(PG, "SELECT $fn$ $1 $x$ $fn$, $1", p, 3, "SELECT $fn$ $1 $x$ $fn$, 'O''Brien'");
  expect_inline(PG, "SELECT foo$1, a$2b, $2", p, 3, "SELECT foo$1, a$2b, 7");
  /* out of range stays for the database to report */
  expect_inline(PG, "SELECT $4, $0, $2", p, 3, "SELECT $4, $0, 7");
  /* jsonb's ? operator is not a placeholder on PostgreSQL */
  expect_inline(PG, "SELECT data ? 'k', $2", p, 3, "SELECT data ? 'k', 7");
  /* unterminated quotes and comments are copied as they are */
  expect_inline(PG, "SELECT $2, 'abc $1", p, 3, "SELECT 7, 'abc $1");
  expect_inline(PG, "SELECT $2 /* $1", p, 3, "SELECT 7 /* $1");
  expect_inline(PG, "SELECT $2, $q$ $1", p, 3, "SELECT 7, $q$ $1");

  /* SQLite: ?, ?N, and its own quoting */
  expect_inline(SL, "INSERT INTO t VALUES (?, ?, ?)", p, 3,
                "INSERT INTO t VALUES ('O''Brien', 7, NULL)");
  expect_inline(SL, "SELECT ?2, ?, ?1", p, 3, "SELECT 7, NULL, 'O''Brien'");
  expect_inline(SL, "SELECT '?', \"?\", `?`, [?], ? -- ?\n/* ? */ , ?", p, 3,
                "SELECT '?', \"?\", `?`, [?], 'O''Brien' -- ?\n/* ? */ , 7");
  /* SQLite has no dollar quotes or nested comments */
  expect_inline(SL, "SELECT $$ ? $$", p, 3, "SELECT $$ 'O''Brien' $$");
  expect_inline(SL, "SELECT /* /* */ ?", p, 3, "SELECT /* /* */ 'O''Brien'");
  expect_inline(SL, "SELECT ?, ?, ?, ?", p, 3, "SELECT 'O''Brien', 7, NULL, ?");
  /* E'' is PostgreSQL only: on SQLite the backslash is an ordinary char */
  expect_inline(SL, "SELECT E'\\', ?", p, 3, "SELECT E'\\', 'O''Brien'");
}

/* The SQLite output is valid SQLite: run it, binding $N by name. */
static void run_sqlite(sqlite3 *db, const lm_stmts *l) {
  for (int i = 0; i < l->n; i++) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, l->v[i].sql, -1, &st, NULL) != SQLITE_OK)
      fail_msg("prepare %s: %s", l->v[i].sql, sqlite3_errmsg(db));
    for (int k = 0; k < l->v[i].nparams; k++) {
      char name[16];
      snprintf(name, sizeof name, "$%d", k + 1);
      int idx = sqlite3_bind_parameter_index(st, name);
      assert_true(idx > 0);
      const lm_value *v = &l->v[i].params[k];
      switch (v->t) {
      case LM_V_NULL: sqlite3_bind_null(st, idx); break;
      case LM_V_INT:
      case LM_V_BOOL: sqlite3_bind_int64(st, idx, v->i); break;
      case LM_V_FLOAT: sqlite3_bind_double(st, idx, v->f); break;
      case LM_V_TEXT: sqlite3_bind_text(st, idx, v->s, (int)v->len, SQLITE_TRANSIENT); break;
      }
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) fail_msg("step %s: %s", l->v[i].sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
  }
}

static void render_into(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  if (lm_render(d, op, out)) fail_msg("render: %s", lm_error_last()->message);
}

static void test_sqlite_executes(void **state) {
  (void)state;
  sqlite3 *db;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  lm_stmts out = {0};

  lm_column cols[5] = {mkcol("id", "integer"), mkcol("name", "string(50)"),
                       mkcol("created", "datetime"), mkcol("ratio", "float"),
                       mkcol("we\"ird", "json")};
  cols[0].primary_key = 1;
  cols[1].nullable = 0;
  cols[1].unique = 1;
  /* (a fragment's closing -- comment leaves the rest of the statement be) */
  cols[2].server_default = (lm_default){.kind = LM_DEF_SQL, .text = "datetime('now') -- now"};
  cols[3].index = 1;
  lm_constraint ck = {.kind = LM_CON_CHECK, .name = "ck", .expr = "length(name) > 0 -- named"};
  lm_op ct = mkop(LM_OP_CREATE_TABLE, "users");
  ct.cols = cols;
  ct.ncols = 5;
  ct.cons = &ck;
  ct.ncons = 1;
  render_into(SL, &ct, &out);

  lm_column ref = mkcol("parent_id", "integer");
  ref.ref_table = "users";
  ref.ref_column = "id";
  ref.ondelete = "cascade";
  ref.unique = 1;
  lm_op ac = mkop(LM_OP_ADD_COLUMN, "users");
  ac.cols = &ref;
  ac.ncols = 1;
  render_into(SL, &ac, &out);

  const char *keys[2] = {"name", "ratio"};
  lm_value v1[2] = {vtext("O'Brien; DROP TABLE users; --"), vfloat(0.25)};
  lm_value v2[2] = {vtext("b"), vnull()};
  lm_insert_row rows[2] = {{keys, v1, 2}, {keys, v2, 2}};
  lm_op bi = mkop(LM_OP_BULK_INSERT, "users");
  bi.rows = rows;
  bi.nrows = 2;
  render_into(SL, &bi, &out);

  const char *scols[1] = {"ratio"};
  lm_default svals[1] = {{.kind = LM_DEF_NUMBER, .text = "1.5"}};
  lm_op bf = mkop(LM_OP_BACKFILL_SQL, "users");
  bf.set_cols = scols;
  bf.set_vals = svals;
  bf.nset = 1;
  bf.where = "ratio IS NULL";
  render_into(SL, &bf, &out);

  lm_op rc = mkop(LM_OP_ALTER_COLUMN, "users");
  rc.name = "name";
  rc.new_name = "full_name";
  render_into(SL, &rc, &out);
  lm_op rt = mkop(LM_OP_RENAME_TABLE, "users");
  rt.new_name = "people";
  render_into(SL, &rt, &out);
  run_sqlite(db, &out);
  lm_stmts_free(&out);

  /* rowid alias, the injected text stayed data, backfill ran */
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT id, full_name, ratio FROM people ORDER BY id", -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 1);
  assert_string_equal((const char *)sqlite3_column_text(st, 1), "O'Brien; DROP TABLE users; --");
  assert_true(sqlite3_column_double(st, 2) == 0.25);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 2);
  assert_true(sqlite3_column_double(st, 2) == 1.5);
  sqlite3_finalize(st);

  /* --sql output of an execute with ? runs too */
  lm_value p[2] = {vtext("it's"), vfloat(INFINITY)};
  lm_stmt ex = {
      .sql = "INSERT INTO people (full_name, ratio) VALUES (?, ?)", .params = p, .nparams = 2};
  char *sql = lm_render_inline(SL, &ex);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  free(sql);
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT ratio FROM people WHERE full_name = 'it''s'", -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_true(isinf(sqlite3_column_double(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* ---- the version table -------------------------------------------------------------- */

static void expect_stmt(const lm_stmts *l, int i, const char *sql, int nparams) {
  assert_true(i < l->n);
  assert_string_equal(l->v[i].sql, sql);
  assert_int_equal(l->v[i].nparams, nparams);
}

static void test_version_table_pg(void **state) {
  (void)state;
  lm_vt vt = {.d = PG, .schema = "ops", .table = "luamig_version"};
  lm_stmts out = {0};
  lm_vt_create(&vt, &out);
  lm_vt_exists_query(&vt, &out);
  lm_vt_select(&vt, &out);
  lm_vt_insert(&vt, "9c3e5f8a1d2b", NULL, "abc", 12, &out);
  lm_vt_update(&vt, "9c3e5f8a1d2b", "backfill", "def", 34, &out);
  lm_vt_delete(&vt, "9c3e5f8a1d2b", &out);
  lm_vt_delete_all(&vt, &out);
  assert_int_equal(out.n, 7);
  expect_stmt(&out, 0,
              "CREATE TABLE IF NOT EXISTS \"ops\".\"luamig_version\" (\"revision\" VARCHAR(32) "
              "NOT NULL PRIMARY KEY, \"step\" VARCHAR(255) NULL, \"checksum\" VARCHAR(64) NOT "
              "NULL, \"applied_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp(), "
              "\"execution_ms\" BIGINT NOT NULL DEFAULT 0)",
              0);
  expect_stmt(&out, 1,
              "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = "
              "c.relnamespace WHERE c.relkind IN ('r', 'p') AND c.relname = $1 AND n.nspname = "
              "COALESCE($2, current_schema())",
              2);
  assert_text_param(&out.v[1].params[0], "luamig_version");
  assert_text_param(&out.v[1].params[1], "ops");
  expect_stmt(&out, 2,
              "SELECT \"revision\", \"step\", \"checksum\" FROM \"ops\".\"luamig_version\" ORDER "
              "BY \"applied_at\", \"revision\"",
              0);
  expect_stmt(&out, 3,
              "INSERT INTO \"ops\".\"luamig_version\" (\"revision\", \"step\", \"checksum\", "
              "\"execution_ms\") VALUES ($1, $2, $3, $4)",
              4);
  assert_text_param(&out.v[3].params[0], "9c3e5f8a1d2b");
  assert_int_equal(out.v[3].params[1].t, LM_V_NULL);
  assert_text_param(&out.v[3].params[2], "abc");
  assert_int_param(&out.v[3].params[3], 12);
  expect_stmt(&out, 4,
              "UPDATE \"ops\".\"luamig_version\" SET \"step\" = $1, \"checksum\" = $2, "
              "\"execution_ms\" = $3, \"applied_at\" = clock_timestamp() WHERE \"revision\" = $4",
              4);
  assert_text_param(&out.v[4].params[0], "backfill");
  assert_text_param(&out.v[4].params[1], "def");
  assert_int_param(&out.v[4].params[2], 34);
  assert_text_param(&out.v[4].params[3], "9c3e5f8a1d2b");
  expect_stmt(&out, 5, "DELETE FROM \"ops\".\"luamig_version\" WHERE \"revision\" = $1", 1);
  assert_text_param(&out.v[5].params[0], "9c3e5f8a1d2b");
  expect_stmt(&out, 6, "DELETE FROM \"ops\".\"luamig_version\"", 0);
  lm_stmts_free(&out);

  /* no schema: the NULL parameter picks current_schema() */
  lm_vt plain = {.d = PG, .schema = NULL, .table = "my\"vt"};
  lm_vt_exists_query(&plain, &out);
  lm_vt_delete_all(&plain, &out);
  assert_int_equal(out.v[0].params[1].t, LM_V_NULL);
  assert_text_param(&out.v[0].params[0], "my\"vt");
  expect_stmt(&out, 1, "DELETE FROM \"my\"\"vt\"", 0);
  lm_stmts_free(&out);
}

/* A dialect that leaves the version table's SQL out gets standard SQL, with
 * the schema parameter only where tables live in schemas. */
static void test_version_table_defaults(void **state) {
  (void)state;
  lm_dialect bare = lm_dialect_postgresql;
  bare.vt_timestamp_sql = bare.vt_now_sql = NULL;
  bare.vt_exists_sql = bare.vt_revision_column_sql = NULL;
  lm_vt vt = {.d = &bare, .schema = "ops", .table = "v"};
  lm_stmts out = {0};
  lm_vt_create(&vt, &out);
  lm_vt_exists_query(&vt, &out);
  lm_vt_has_revision_query(&vt, &out);
  lm_vt_update(&vt, "r", NULL, "c", 1, &out);
  expect_stmt(&out, 0,
              "CREATE TABLE IF NOT EXISTS \"ops\".\"v\" (\"revision\" VARCHAR(32) NOT NULL "
              "PRIMARY KEY, \"step\" VARCHAR(255) NULL, \"checksum\" VARCHAR(64) NOT NULL, "
              "\"applied_at\" TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, \"execution_ms\" "
              "BIGINT NOT NULL DEFAULT 0)",
              0);
  expect_stmt(&out, 1,
              "SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND table_schema = "
              "COALESCE($2, CURRENT_SCHEMA)",
              2);
  expect_stmt(&out, 2,
              "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND table_schema = "
              "COALESCE($2, CURRENT_SCHEMA) AND column_name = 'revision'",
              2);
  expect_stmt(&out, 3,
              "UPDATE \"ops\".\"v\" SET \"step\" = $1, \"checksum\" = $2, \"execution_ms\" = $3, "
              "\"applied_at\" = CURRENT_TIMESTAMP WHERE \"revision\" = $4",
              4);
  lm_stmts_free(&out);
  bare.caps &= ~(unsigned)LM_CAP_SCHEMAS;
  lm_vt_exists_query(&vt, &out);
  lm_vt_delete_all(&vt, &out);
  expect_stmt(&out, 0, "SELECT 1 FROM information_schema.tables WHERE table_name = $1", 1);
  expect_stmt(&out, 1, "DELETE FROM \"v\"", 0);
  lm_stmts_free(&out);
}

static void test_version_table_sqlite(void **state) {
  (void)state;
  /* the schema is a PostgreSQL setting; SQLite ignores it */
  lm_vt vt = {.d = SL, .schema = "ops", .table = "luamig_version"};
  lm_stmts out = {0};
  lm_vt_create(&vt, &out);
  lm_vt_exists_query(&vt, &out);
  expect_stmt(&out, 0,
              "CREATE TABLE IF NOT EXISTS \"luamig_version\" (\"revision\" VARCHAR(32) NOT NULL "
              "PRIMARY KEY, \"step\" VARCHAR(255) NULL, \"checksum\" VARCHAR(64) NOT NULL, "
              "\"applied_at\" TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')), "
              "\"execution_ms\" BIGINT NOT NULL DEFAULT 0)",
              0);
  expect_stmt(&out, 1, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", 1);
  assert_text_param(&out.v[1].params[0], "luamig_version");

  /* and they all run, in order */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  lm_vt_insert(&vt, "aaa", "expand", "c1", 5, &out);
  lm_vt_insert(&vt, "bbb", NULL, "c2", 6, &out);
  lm_vt_update(&vt, "aaa", NULL, "c3", 7, &out);
  lm_vt_delete(&vt, "bbb", &out);
  lm_vt_select(&vt, &out);
  expect_stmt(&out, 6,
              "SELECT \"revision\", \"step\", \"checksum\" FROM \"luamig_version\" ORDER BY "
              "\"applied_at\", \"revision\"",
              0);
  run_sqlite(db, &out);
  lm_stmts_free(&out);
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT revision, step, checksum, execution_ms FROM luamig_version",
                         -1, &st, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "aaa");
  assert_int_equal(sqlite3_column_type(st, 1), SQLITE_NULL);
  assert_string_equal((const char *)sqlite3_column_text(st, 2), "c3");
  assert_int_equal(sqlite3_column_int(st, 3), 7);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  lm_vt_delete_all(&vt, &out);
  run_sqlite(db, &out);
  lm_stmts_free(&out);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types_table),
      cmocka_unit_test(test_op_names),
      cmocka_unit_test(test_render_table_and_quoting),
      cmocka_unit_test(test_create_table_autoincrement),
      cmocka_unit_test(test_create_table_primary_keys),
      cmocka_unit_test(test_create_table_columns),
      cmocka_unit_test(test_column_collation),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_create_table_constraints),
      cmocka_unit_test(test_invalid_fk_action),
      cmocka_unit_test(test_drop_rename_table),
      cmocka_unit_test(test_add_drop_column),
      cmocka_unit_test(test_alter_column),
      cmocka_unit_test(test_indexes),
      cmocka_unit_test(test_constraint_ops),
      cmocka_unit_test(test_execute),
      cmocka_unit_test(test_bulk_insert),
      cmocka_unit_test(test_bulk_insert_limits),
      cmocka_unit_test(test_backfill),
      cmocka_unit_test(test_missing_fields),
      cmocka_unit_test(test_literals),
      cmocka_unit_test(test_inline),
      cmocka_unit_test(test_sqlite_executes),
      cmocka_unit_test(test_version_table_pg),
      cmocka_unit_test(test_version_table_sqlite),
      cmocka_unit_test(test_version_table_defaults),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
