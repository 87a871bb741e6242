/* Unit tests of SQLite move-and-copy (engine/recreate.c): the CREATE TABLE
 * reader, the decision of which operations need a move-and-copy, and the pure
 * renderer (exact statements), plus reflection and a run of the rendered
 * statements on a real in-memory database. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialect/sqlite_recreate.h"

#define SL (&lm_dialect_sqlite)

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

/* ---- the CREATE TABLE reader ------------------------------------------------- */

static void test_parse_columns_and_constraints(void **state) {
  (void)state;
  lm_rc_create c;
  const char *sql =
      "CREATE TABLE \"my \"\"t\"\"\" (\n"
      "  id INTEGER PRIMARY KEY AUTOINCREMENT, -- the key\n"
      "  [name] VARCHAR (20, 2) NOT NULL DEFAULT 'a,b' COLLATE NOCASE,\n"
      "  `score` DOUBLE PRECISION CONSTRAINT ck_score CHECK (score > (0)) DEFAULT -1,\n"
      "  owner INT REFERENCES users(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED NOT "
      "NULL,\n"
      "  total AS (score * 2) STORED,\n"
      "  plain,\n"
      "  CONSTRAINT pk2 UNIQUE (name COLLATE NOCASE, \"score\") ON CONFLICT REPLACE\n"
      "  CHECK (length(name) > 0),\n"
      "  FOREIGN KEY (owner, plain) REFERENCES users (id, x) MATCH FULL\n"
      ") WITHOUT ROWID;";
  assert_int_equal(lm_rc_parse_create(sql, &c), 0);
  assert_string_equal(c.table, "my \"t\"");
  assert_int_equal(c.ncols, 6);
  assert_string_equal(c.cols[0].name, "id");
  assert_string_equal(c.cols[0].type, "INTEGER");
  assert_int_equal(c.cols[0].nclauses, 1);
  assert_int_equal(c.cols[0].clauses[0].kind, LM_RC_PK);
  assert_int_equal(c.cols[0].clauses[0].autoincrement, 1);
  assert_string_equal(c.cols[0].text, "id INTEGER PRIMARY KEY AUTOINCREMENT");

  assert_string_equal(c.cols[1].name, "name");
  assert_string_equal(c.cols[1].name_sql, "[name]");
  assert_string_equal(c.cols[1].type, "VARCHAR (20, 2)");
  assert_int_equal(c.cols[1].nclauses, 3);
  assert_int_equal(c.cols[1].clauses[0].kind, LM_RC_NOTNULL);
  assert_int_equal(c.cols[1].clauses[1].kind, LM_RC_DEFAULT);
  assert_string_equal(c.cols[1].clauses[1].expr, "'a,b'");
  assert_int_equal(c.cols[1].clauses[2].kind, LM_RC_COLLATE);
  assert_string_equal(c.cols[1].clauses[2].expr, "NOCASE");

  assert_string_equal(c.cols[2].name, "score");
  assert_string_equal(c.cols[2].type, "DOUBLE PRECISION");
  assert_int_equal(c.cols[2].nclauses, 2);
  assert_int_equal(c.cols[2].clauses[0].kind, LM_RC_CHECK);
  assert_string_equal(c.cols[2].clauses[0].name, "ck_score");
  assert_string_equal(c.cols[2].clauses[0].expr, "score > (0)");
  assert_string_equal(c.cols[2].clauses[0].text, "CONSTRAINT ck_score CHECK (score > (0))");
  assert_string_equal(c.cols[2].clauses[1].text, "DEFAULT -1");

  assert_int_equal(c.cols[3].nclauses, 2);
  assert_int_equal(c.cols[3].clauses[0].kind, LM_RC_FK);
  assert_string_equal(c.cols[3].clauses[0].ref_table, "users");
  assert_string_equal(c.cols[3].clauses[0].text,
                      "REFERENCES users(id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED");
  assert_int_equal(c.cols[3].clauses[0].nref_cols, 1);
  assert_string_equal(c.cols[3].clauses[0].ref_cols[0], "id");
  assert_string_equal(c.cols[3].clauses[0].on_delete, "SET NULL");
  assert_null(c.cols[3].clauses[0].on_update);
  assert_int_equal(c.cols[3].clauses[1].kind, LM_RC_NOTNULL);

  assert_int_equal(c.cols[4].clauses[0].kind, LM_RC_GENERATED);
  assert_string_equal(c.cols[4].clauses[0].expr, "score * 2");
  assert_string_equal(c.cols[5].type, "");
  assert_int_equal(c.cols[5].nclauses, 0);

  /* two table constraints without a comma between them, then a third */
  assert_int_equal(c.ncons, 3);
  assert_int_equal(c.cons[0].kind, LM_RC_UNIQUE);
  assert_string_equal(c.cons[0].name, "pk2");
  assert_int_equal(c.cons[0].ncols, 2);
  assert_string_equal(c.cons[0].cols[0], "name");
  assert_string_equal(c.cons[0].cols[1], "score");
  assert_string_equal(c.cons[0].text,
                      "CONSTRAINT pk2 UNIQUE (name COLLATE NOCASE, \"score\") ON CONFLICT REPLACE");
  assert_int_equal(c.cons[1].kind, LM_RC_CHECK);
  assert_null(c.cons[1].name);
  assert_string_equal(c.cons[1].expr, "length(name) > 0");
  assert_int_equal(c.cons[2].kind, LM_RC_FK);
  assert_int_equal(c.cons[2].ncols, 2);
  assert_string_equal(c.cons[2].ref_table, "users");
  assert_int_equal(c.cons[2].nref_cols, 2);
  assert_string_equal(c.cons[2].ref_cols[0], "id");
  assert_string_equal(c.cons[2].ref_cols[1], "x");
  assert_null(c.cons[2].on_delete);
  assert_string_equal(c.options, "WITHOUT ROWID");
  lm_rc_create_free(&c);
}

/* What tells foreign keys on one column apart: their referenced columns
 * (none written: the referenced table's key) and their actions, in
 * capitals as the foreign_key_list pragma spells them; the last of two
 * ON DELETE clauses is the one SQLite keeps. */
static void test_parse_foreign_key_actions(void **state) {
  (void)state;
  lm_rc_create c;
  const char *sql = "CREATE TABLE m (u INT REFERENCES \"Users\" on update no  action on delete "
                    "restrict on delete cascade, v INT,"
                    " CONSTRAINT fk1 FOREIGN KEY (u, v) REFERENCES t ( a COLLATE nocase, [b] )"
                    " ON UPDATE SET DEFAULT MATCH SIMPLE NOT DEFERRABLE,"
                    " FOREIGN KEY (v) REFERENCES t)";
  assert_int_equal(lm_rc_parse_create(sql, &c), 0);
  const lm_rc_clause *a = &c.cols[0].clauses[0];
  assert_int_equal(a->kind, LM_RC_FK);
  assert_string_equal(a->ref_table, "Users");
  assert_int_equal(a->nref_cols, 0);
  assert_null(a->ref_cols);
  assert_string_equal(a->on_update, "NO ACTION");
  assert_string_equal(a->on_delete, "CASCADE");
  assert_int_equal(c.ncons, 2);
  assert_string_equal(c.cons[0].name, "fk1");
  assert_int_equal(c.cons[0].nref_cols, 2);
  assert_string_equal(c.cons[0].ref_cols[0], "a");
  assert_string_equal(c.cons[0].ref_cols[1], "b");
  assert_string_equal(c.cons[0].on_update, "SET DEFAULT");
  assert_null(c.cons[0].on_delete);
  assert_int_equal(c.cons[1].nref_cols, 0);
  assert_null(c.cons[1].on_update);
  lm_rc_create_free(&c);
}

static void test_parse_strings_and_comments(void **state) {
  (void)state;
  lm_rc_create c;
  /* commas and parentheses inside strings, quoted names and comments do not
   * split anything */
  const char *sql = "CREATE TABLE IF NOT EXISTS main.t (a TEXT DEFAULT 'x, (y' /* b, c */,"
                    " \"b,c\" TEXT CHECK (\"b,c\" <> ')'), d BLOB DEFAULT x'00ff')";
  assert_int_equal(lm_rc_parse_create(sql, &c), 0);
  assert_string_equal(c.table, "t");
  assert_int_equal(c.ncols, 3);
  assert_string_equal(c.cols[0].clauses[0].expr, "'x, (y'");
  assert_string_equal(c.cols[1].name, "b,c");
  assert_string_equal(c.cols[1].clauses[0].expr, "\"b,c\" <> ')'");
  assert_string_equal(c.cols[2].clauses[0].expr, "x'00ff'");
  assert_string_equal(c.options, "");
  lm_rc_create_free(&c);
}

static void test_parse_errors(void **state) {
  (void)state;
  lm_rc_create c;
  assert_int_equal(lm_rc_parse_create("CREATE TABLE t AS SELECT 1", &c), LM_EMIGRATE);
  assert_non_null(strstr(lm_error_last()->message, "AS SELECT is not supported"));
  assert_int_equal(lm_rc_parse_create("CREATE TABLE t (a INT CHECK a > 0)", &c), LM_EMIGRATE);
  assert_non_null(strstr(lm_error_last()->message, "expected ( after CHECK"));
  assert_int_equal(lm_rc_parse_create("CREATE TABLE t (a INT, )", &c), LM_EMIGRATE);
  assert_int_equal(lm_rc_parse_create("CREATE TABLE t (a INT", &c), LM_EMIGRATE);
  lm_error_clear();
}

static void test_mentions(void **state) {
  (void)state;
  const char *ix = "CREATE INDEX \"code\" ON items (lower(\"Code\")) WHERE note <> 'legacy'";
  assert_true(lm_rc_mentions(ix, "code"));
  assert_true(lm_rc_mentions(ix, "NOTE"));
  /* a string is not a name, and the index's own name is not a use */
  assert_false(lm_rc_mentions(ix, "legacy"));
  assert_false(lm_rc_mentions("CREATE INDEX code ON t (a)", "code"));
  assert_true(lm_rc_mentions("(new.qty > 0)", "qty"));
}

/* ---- deciding ----------------------------------------------------------------- */

static lm_rc_table *table(const char *sql) {
  lm_rc_table *t = NULL;
  assert_int_equal(lm_rc_table_from_sql(sql, &t), 0);
  return t;
}

static void add_index(lm_rc_table *t, const char *name, const char *sql, const char *col) {
  t->idx = lm_xrealloc(t->idx, sizeof *t->idx * (size_t)(t->nidx + 1));
  lm_rc_index *x = &t->idx[t->nidx++];
  memset(x, 0, sizeof *x);
  x->name = lm_xstrdup(name);
  x->sql = sql ? lm_xstrdup(sql) : NULL;
  x->unique = !sql;
  strcpy(x->origin, sql ? "c" : "u");
  x->cols = lm_xcalloc(1, sizeof *x->cols);
  x->cols[0] = lm_xstrdup(col);
  x->ncols = 1;
}

static void test_needs(void **state) {
  (void)state;
  lm_rc_table *t = table("CREATE TABLE \"t\" (\"id\" INTEGER PRIMARY KEY, \"a\" TEXT, \"b\" TEXT, "
                         "\"c\" TEXT UNIQUE, \"d\" INT, CHECK (d > 0))");
  add_index(t, "ix_t_a", "CREATE INDEX \"ix_t_a\" ON \"t\" (\"a\")", "a");
  lm_op op = mkop(LM_OP_DROP_COLUMN, "t");
  op.name = "a";
  assert_true(lm_rc_needs(t, &op)); /* indexed */
  op.name = "b";
  assert_false(lm_rc_needs(t, &op)); /* plain ALTER TABLE DROP COLUMN */
  op.name = "c";
  assert_true(lm_rc_needs(t, &op)); /* UNIQUE */
  op.name = "d";
  assert_true(lm_rc_needs(t, &op)); /* named in a CHECK */
  op.name = "id";
  assert_true(lm_rc_needs(t, &op)); /* the primary key */
  lm_op alter = mkop(LM_OP_ALTER_COLUMN, "t");
  alter.name = "a";
  alter.new_name = "z";
  assert_false(lm_rc_needs(t, &alter)); /* RENAME COLUMN */
  alter.nullable = 0;
  assert_true(lm_rc_needs(t, &alter));
  lm_op chk = mkop(LM_OP_CREATE_CHECK, "t");
  assert_true(lm_rc_needs(t, &chk));
  lm_op ix = mkop(LM_OP_CREATE_INDEX, "t");
  assert_false(lm_rc_needs(t, &ix));
  lm_rc_table_free(t);
}

/* ALTER TABLE ADD COLUMN takes a constant default only (SQLite's
 * sqlite3ValueFromExpr), and NOT NULL only with a default other than NULL. */
static void test_default_class(void **state) {
  (void)state;
  const char *consts[] = {"0",
                          "-1",
                          "+1",
                          "(0)",
                          "(- -1)",
                          "1e5",
                          "0x10",
                          "'x'",
                          "('x')",
                          "X'00'",
                          "TRUE",
                          "(false)",
                          "abc",
                          "\"abc\"",
                          "(CAST(1 AS TEXT))",
                          "CAST('1' AS VARCHAR(10))",
                          "(- 'a')",
                          "-- c\n 'x' /* c */",
                          NULL};
  for (int i = 0; consts[i]; i++)
    if (lm_sqlite_default_class_of(consts[i]) != LM_SQLITE_DEFAULT_CONST)
      fail_msg("%s: should be a constant", consts[i]);
  const char *nulls[] = {"NULL", "(null)", "-NULL", "CAST(NULL AS INT)", NULL};
  for (int i = 0; nulls[i]; i++)
    if (lm_sqlite_default_class_of(nulls[i]) != LM_SQLITE_DEFAULT_NULL)
      fail_msg("%s: should be NULL", nulls[i]);
  const char *exprs[] = {"CURRENT_TIMESTAMP",
                         "(current_date)",
                         "current_time",
                         "(1+1)",
                         "datetime('now')",
                         "(datetime('now'))",
                         "'a' || 'b'",
                         "(abc)",
                         "'a' COLLATE nocase",
                         "-abc",
                         "CAST(1 AS)",
                         "CAST(1 AS TEXT",
                         "(1",
                         "",
                         "1 2",
                         "random()",
                         NULL};
  for (int i = 0; exprs[i]; i++)
    if (lm_sqlite_default_class_of(exprs[i]) != LM_SQLITE_DEFAULT_EXPR)
      fail_msg("%s: should be an expression", exprs[i]);
  assert_int_equal(lm_sqlite_default_class_of(NULL), LM_SQLITE_DEFAULT_EXPR);
}

static void test_add_column_needs(void **state) {
  (void)state;
  lm_column c = mkcol("n", "datetime");
  lm_op op = mkop(LM_OP_ADD_COLUMN, "t");
  op.cols = &c;
  op.ncols = 1;
  assert_false(lm_rc_needs(NULL, &op)); /* plain ADD COLUMN */
  c.server_default = (lm_default){LM_DEF_SQL, "CURRENT_TIMESTAMP", 0};
  assert_true(lm_rc_needs(NULL, &op));
  assert_true(lm_sqlite_recreate_wanted(&op));
  c.server_default = (lm_default){LM_DEF_SQL, "(datetime('now'))", 0};
  assert_true(lm_rc_needs(NULL, &op));
  c.server_default = (lm_default){LM_DEF_SQL, "'2024-01-01'", 0};
  assert_false(lm_rc_needs(NULL, &op));
  c.server_default = (lm_default){LM_DEF_LITERAL, "CURRENT_TIMESTAMP", 0}; /* a string */
  assert_false(lm_rc_needs(NULL, &op));
  c.nullable = 0;
  assert_false(lm_rc_needs(NULL, &op)); /* NOT NULL with a default */
  c.server_default = (lm_default){LM_DEF_SQL, "NULL", 0};
  assert_true(lm_rc_needs(NULL, &op)); /* NOT NULL DEFAULT NULL */
  c.server_default = (lm_default){LM_DEF_NONE, NULL, 0};
  assert_true(lm_rc_needs(NULL, &op)); /* NOT NULL without a default */
  c.nullable = 1;
  c.server_default = (lm_default){LM_DEF_SQL, "NULL", 0};
  assert_false(lm_rc_needs(NULL, &op));
  c.server_default = (lm_default){LM_DEF_NUMBER, "0", 0};
  c.unique = 1; /* a unique index after the ADD COLUMN */
  assert_false(lm_rc_needs(NULL, &op));
  c.ref_table = "users.id"; /* foreign keys are off while luamig migrates */
  assert_false(lm_rc_needs(NULL, &op));
  c.primary_key = 1;
  assert_true(lm_rc_needs(NULL, &op));
}

/* ---- rendering ------------------------------------------------------------------ */

static char *joined(const lm_stmts *l) {
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < l->n; i++) {
    lm_buf_puts(&b, l->v[i].sql);
    lm_buf_puts(&b, ";\n");
  }
  return lm_buf_steal(&b);
}

static void expect_render(lm_rc_table *t, const lm_op *const *ops, int n, const char *want) {
  lm_stmts l = {0};
  int rc = lm_rc_render(SL, t, ops, n, &l);
  if (rc) fail_msg("render failed: %s", lm_error_last()->message);
  char *got = joined(&l);
  if (strcmp(got, want)) fail_msg("got:\n%s\nwant:\n%s", got, want);
  free(got);
  lm_stmts_free(&l);
}

static void test_render_alter_type(void **state) {
  (void)state;
  lm_rc_table *t = table("CREATE TABLE \"t\" (\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
                         "\"qty\" TEXT DEFAULT '0' COLLATE NOCASE, \"d\" TEXT, "
                         "CONSTRAINT \"ck\" CHECK (qty <> ''))");
  add_index(t, "ix_t_qty", "CREATE INDEX \"ix_t_qty\" ON \"t\" (\"qty\") WHERE qty > 0", "qty");
  t->trg = lm_xcalloc(1, sizeof *t->trg);
  t->trg[0].name = lm_xstrdup("tr");
  t->trg[0].sql = lm_xstrdup("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END");
  t->ntrg = 1;
  lm_op op = mkop(LM_OP_ALTER_COLUMN, "t");
  op.name = "qty";
  op.type = "integer";
  op.nullable = 0;
  const lm_op *ops[] = {&op};
  expect_render(
      t, ops, 1,
      "CREATE TABLE \"_luamig_tmp_t\" (\"id\" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, "
      "\"qty\" INTEGER NOT NULL DEFAULT '0' COLLATE NOCASE, \"d\" TEXT, "
      "CONSTRAINT \"ck\" CHECK (qty <> ''));\n"
      "INSERT INTO \"_luamig_tmp_t\" (\"id\", \"qty\", \"d\") SELECT \"id\", CAST(\"qty\" AS "
      "INTEGER), \"d\" FROM \"t\";\n"
      "INSERT INTO sqlite_sequence (name, seq) SELECT '_luamig_tmp_t', seq FROM sqlite_sequence "
      "WHERE name = 't' AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = "
      "'_luamig_tmp_t');\n"
      "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence WHERE "
      "name = 't'), 0)) WHERE name = '_luamig_tmp_t';\n"
      "DROP TABLE \"t\";\n"
      "PRAGMA legacy_alter_table = ON;\n"
      "ALTER TABLE \"_luamig_tmp_t\" RENAME TO \"t\";\n"
      "PRAGMA legacy_alter_table = OFF;\n"
      "CREATE INDEX \"ix_t_qty\" ON \"t\" (\"qty\") WHERE qty > 0;\n"
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END;\n");
  lm_rc_table_free(t);
}

static void test_render_no_cast_for_numeric(void **state) {
  (void)state;
  /* CAST('2024-01-02' AS NUMERIC) would be 2024: the column's affinity
   * converts instead */
  lm_rc_table *t = table("CREATE TABLE t (a TEXT, b TEXT)");
  lm_op op = mkop(LM_OP_ALTER_COLUMN, "t");
  op.name = "a";
  op.type = "datetime";
  const lm_op *ops[] = {&op};
  expect_render(t, ops, 1,
                "CREATE TABLE \"_luamig_tmp_t\" (a DATETIME, b TEXT);\n"
                "INSERT INTO \"_luamig_tmp_t\" (\"a\", \"b\") SELECT \"a\", \"b\" FROM \"t\";\n"
                "DROP TABLE \"t\";\n"
                "PRAGMA legacy_alter_table = ON;\n"
                "ALTER TABLE \"_luamig_tmp_t\" RENAME TO \"t\";\n"
                "PRAGMA legacy_alter_table = OFF;\n");
  lm_rc_table_free(t);
}

static void test_render_batch(void **state) {
  (void)state;
  lm_rc_table *t = table("CREATE TABLE \"t\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"a\" TEXT, "
                         "\"b\" TEXT DEFAULT 'x', \"c\" TEXT UNIQUE, CHECK (c <> b))");
  add_index(t, "ix_t_b", "CREATE INDEX \"ix_t_b\" ON \"t\" (\"b\", \"a\")", "b");
  add_index(t, "sqlite_autoindex_t_1", NULL, "c");
  lm_column col = mkcol("e", "string(5)");
  col.nullable = 0;
  col.server_default = (lm_default){LM_DEF_LITERAL, "z", 0};
  col.index = 1;
  lm_op add = mkop(LM_OP_ADD_COLUMN, "t");
  add.cols = &col;
  add.ncols = 1;
  lm_op drop = mkop(LM_OP_DROP_COLUMN, "t");
  drop.name = "b"; /* its index and the CHECK naming it go too */
  lm_op def = mkop(LM_OP_ALTER_COLUMN, "t");
  def.name = "a";
  def.server_default = (lm_default){LM_DEF_NUMBER, "7", 0};
  const char *fkcols[] = {"a"}, *refcols[] = {"id"};
  lm_constraint fk = {.kind = LM_CON_FK,
                      .name = "fk_t_a",
                      .cols = fkcols,
                      .ncols = 1,
                      .ref_table = "p",
                      .ref_cols = refcols,
                      .nref = 1,
                      .ondelete = "cascade"};
  lm_op addfk = mkop(LM_OP_CREATE_FK, "t");
  addfk.name = "fk_t_a";
  addfk.cons = &fk;
  addfk.ncons = 1;
  lm_op dropuq = mkop(LM_OP_DROP_CONSTRAINT, "t");
  dropuq.name = "uq_t_c"; /* unnamed: found by the naming convention */
  const lm_op *ops[] = {&add, &drop, &def, &addfk, &dropuq};
  expect_render(t, ops, 5,
                "CREATE TABLE \"_luamig_tmp_t\" (\"id\" INTEGER NOT NULL PRIMARY KEY, "
                "\"a\" TEXT DEFAULT 7, \"c\" TEXT, \"e\" VARCHAR(5) NOT NULL DEFAULT 'z', "
                "CONSTRAINT \"fk_t_a\" FOREIGN KEY (\"a\") REFERENCES \"p\" (\"id\") ON DELETE "
                "CASCADE);\n"
                "INSERT INTO \"_luamig_tmp_t\" (\"id\", \"a\", \"c\") SELECT \"id\", \"a\", \"c\" "
                "FROM \"t\";\n"
                "DROP TABLE \"t\";\n"
                "PRAGMA legacy_alter_table = ON;\n"
                "ALTER TABLE \"_luamig_tmp_t\" RENAME TO \"t\";\n"
                "PRAGMA legacy_alter_table = OFF;\n"
                "CREATE INDEX \"ix_t_e\" ON \"t\" (\"e\");\n");
  lm_rc_table_free(t);
}

static void test_render_errors(void **state) {
  (void)state;
  lm_rc_table *t = table("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT CONSTRAINT ck_a CHECK "
                         "(a <> ''), CHECK (id > 0))");
  lm_op op = mkop(LM_OP_DROP_CONSTRAINT, "t");
  op.name = "nope";
  op.file = "versions/x.lua";
  op.line = 12;
  const lm_op *ops[] = {&op};
  lm_stmts l = {0};
  assert_int_equal(lm_rc_render(SL, t, ops, 1, &l), LM_EMIGRATE);
  assert_int_equal(l.n, 0);
  const lm_error *e = lm_error_last();
  assert_non_null(strstr(e->message, "table \"t\" has no constraint named \"nope\"; it has: "));
  assert_non_null(strstr(e->message, "CHECK ck_a on column a: CHECK (a <> '')"));
  assert_non_null(strstr(e->message, "CHECK ck_t_1 (unnamed): CHECK (id > 0)"));
  assert_non_null(strstr(e->message, "PRIMARY KEY pk_t (unnamed) on column id"));
  assert_string_equal(e->file, "versions/x.lua");
  assert_int_equal(e->line, 12);

  lm_op alter = mkop(LM_OP_ALTER_COLUMN, "t");
  alter.name = "zz";
  alter.nullable = 0;
  const lm_op *ops2[] = {&alter};
  assert_int_equal(lm_rc_render(SL, t, ops2, 1, &l), LM_EMIGRATE);
  assert_non_null(strstr(lm_error_last()->message, "has no column \"zz\" (its columns: id, a)"));

  lm_op pk = mkop(LM_OP_CREATE_PK, "t");
  const char *cols[] = {"a"};
  lm_constraint c = {.kind = LM_CON_PK, .name = "pk2", .cols = cols, .ncols = 1};
  pk.name = "pk2";
  pk.cons = &c;
  pk.ncons = 1;
  const lm_op *ops3[] = {&pk};
  assert_int_equal(lm_rc_render(SL, t, ops3, 1, &l), LM_EMIGRATE);
  assert_non_null(strstr(lm_error_last()->message, "already has a primary key (pk_t)"));
  lm_rc_table_free(t);
  lm_error_clear();
}

/* ---- reflection and a real run ------------------------------------------------------- */

static int exec_sql(lm_conn *c, const char *sql) {
  lm_stmt s = {(char *)sql, NULL, 0};
  return SL->exec(c, &s);
}

static int count_row(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  (void)ncols, (void)names;
  *(long long *)ud = vals[0].i;
  return 0;
}

static long long scalar(lm_conn *c, const char *sql) {
  long long v = -1;
  lm_stmt s = {(char *)sql, NULL, 0};
  assert_int_equal(SL->query(c, &s, count_row, &v), 0);
  return v;
}

static void test_reflect_and_run(void **state) {
  (void)state;
  lm_conn *c = NULL;
  assert_int_equal(lm_sqlite_shadow_open(&lm_dialect_sqlite, &c), 0);
  assert_int_equal(
      exec_sql(c,
               "CREATE TABLE p (id INTEGER PRIMARY KEY);"
               "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, pid INT REFERENCES p(id), "
               "a TEXT UNIQUE, b TEXT, CONSTRAINT ck_b CHECK (b <> 'bad'));"
               "CREATE INDEX ix_t_b ON t (b) WHERE b IS NOT NULL;"
               "CREATE TABLE k (tid INT REFERENCES t(id));"
               "CREATE VIEW v AS SELECT a FROM t;"
               "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO p VALUES (new.id + 100); END;"
               "INSERT INTO p VALUES (1);"
               "INSERT INTO t (pid, a, b) VALUES (1, 'x', '5'), (1, 'y', NULL), (NULL, 'z', '7');"
               "DELETE FROM t WHERE id = 3;"
               "INSERT INTO k VALUES (1), (2);"),
      0);
  lm_rc_table *t = NULL;
  assert_int_equal(lm_rc_reflect(SL, c, "T", &t), 0);
  assert_string_equal(t->name, "t");
  assert_int_equal(t->def.ncols, 4);
  assert_int_equal(t->nidx, 2); /* ix_t_b and the UNIQUE's automatic index */
  assert_int_equal(t->ntrg, 1);
  assert_int_equal(t->nfkin, 1);
  assert_string_equal(t->fkin[0].table, "k");

  lm_op op = mkop(LM_OP_ALTER_COLUMN, "t");
  op.name = "b";
  op.type = "integer";
  lm_op drop = mkop(LM_OP_DROP_CONSTRAINT, "t");
  drop.name = "sqlite_autoindex_t_1"; /* the UNIQUE on a, by its index's name */
  const lm_op *ops[] = {&op, &drop};
  lm_stmts l = {0};
  assert_int_equal(lm_rc_render(SL, t, ops, 2, &l), 0);
  assert_int_equal(exec_sql(c, "BEGIN"), 0);
  for (int i = 0; i < l.n; i++)
    assert_int_equal(SL->exec(c, &l.v[i]), 0);
  assert_int_equal(SL->before_commit(c, NULL), 0);
  assert_int_equal(exec_sql(c, "COMMIT"), 0);
  lm_stmts_free(&l);
  lm_rc_table_free(t);

  assert_int_equal(scalar(c, "SELECT count(*) FROM t"), 2);
  assert_int_equal(scalar(c, "SELECT count(*) FROM t WHERE typeof(b) = 'integer'"), 1);
  assert_int_equal(scalar(c, "SELECT seq FROM sqlite_sequence WHERE name = 't'"), 3);
  assert_int_equal(scalar(c, "SELECT count(*) FROM sqlite_master WHERE name = 'ix_t_b'"), 1);
  assert_int_equal(scalar(c, "SELECT count(*) FROM sqlite_master WHERE name = 'tr'"), 1);
  assert_int_equal(scalar(c, "SELECT count(*) FROM pragma_index_list('t')"), 1);
  assert_int_equal(scalar(c, "SELECT count(*) FROM v"), 2);
  /* a new row continues after the counter, not after the largest id */
  assert_int_equal(exec_sql(c, "INSERT INTO t (a) VALUES ('n')"), 0);
  assert_int_equal(scalar(c, "SELECT max(id) FROM t"), 4);
  SL->close(c);
}

static void test_batch_copies(void **state) {
  (void)state;
  lm_rc_batch *b = lm_rc_batch_new();
  char name[] = "col", table[] = "tab", type[] = "integer";
  lm_column col = mkcol(name, type);
  lm_op op = mkop(LM_OP_ADD_COLUMN, table);
  op.cols = &col;
  op.ncols = 1;
  lm_rc_batch_add(b, &op);
  /* the originals go away: the copies stay */
  strcpy(name, "xxx"), strcpy(table, "yyy"), strcpy(type, "zzzzzzz");
  const lm_op *const *ops = lm_rc_batch_ops(b);
  assert_int_equal(lm_rc_batch_count(b), 1);
  assert_string_equal(ops[0]->table, "tab");
  assert_string_equal(ops[0]->cols[0].name, "col");
  assert_string_equal(ops[0]->cols[0].type, "integer");
  lm_rc_batch_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_columns_and_constraints),
      cmocka_unit_test(test_parse_foreign_key_actions),
      cmocka_unit_test(test_parse_strings_and_comments),
      cmocka_unit_test(test_parse_errors),
      cmocka_unit_test(test_mentions),
      cmocka_unit_test(test_needs),
      cmocka_unit_test(test_default_class),
      cmocka_unit_test(test_add_column_needs),
      cmocka_unit_test(test_render_alter_type),
      cmocka_unit_test(test_render_no_cast_for_numeric),
      cmocka_unit_test(test_render_batch),
      cmocka_unit_test(test_render_errors),
      cmocka_unit_test(test_reflect_and_run),
      cmocka_unit_test(test_batch_copies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
