/* Lint rules on hand-made op records (no Lua), allow comments, the config
 * password scan, and the output formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lint.h"

/* ---- building revisions ------------------------------------------------------ */

#define MAXSTEPS 3

typedef struct fix {
  lm_lint_fn up[MAXSTEPS], down[MAXSTEPS];
  const char *steps[MAXSTEPS];
  int nsteps;
  int multistep;
} fix;

static void fix_init(fix *f, int nsteps, int multistep) {
  memset(f, 0, sizeof *f);
  f->nsteps = nsteps;
  f->multistep = multistep;
  static const char *const names[MAXSTEPS] = {"expand", "backfill", "contract"};
  for (int i = 0; i < nsteps; i++) {
    f->steps[i] = names[i];
    f->up[i].present = f->down[i].present = 1;
    f->up[i].line = 10 + i;
    f->down[i].line = 20 + i;
  }
}

static void fix_free(fix *f) {
  for (int i = 0; i < f->nsteps; i++) {
    lm_lint_fn_free(&f->up[i]);
    lm_lint_fn_free(&f->down[i]);
  }
}

static lm_op mk(lm_op_kind k, const char *table, const char *name, int line) {
  lm_op op;
  memset(&op, 0, sizeof op);
  op.kind = k;
  op.table = table;
  op.name = name;
  op.nullable = op.existing_nullable = -1;
  op.file = "versions/r.lua";
  op.line = line;
  return op;
}

static void rec(lm_lint_fn *fn, lm_op op) { lm_lint_fn_record(fn, &op); }

static lm_column col(const char *name, const char *type, int nullable) {
  lm_column c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.type = type;
  c.nullable = nullable;
  c.autoincrement = -1;
  return c;
}

static void add_column(lm_lint_fn *fn, const char *table, lm_column *c, int line) {
  lm_op op = mk(LM_OP_ADD_COLUMN, table, NULL, line);
  op.cols = c;
  op.ncols = 1;
  rec(fn, op);
}

static void create_table(lm_lint_fn *fn, const char *table, int line) {
  lm_column c = col("id", "integer", 0);
  c.primary_key = 1;
  lm_op op = mk(LM_OP_CREATE_TABLE, table, NULL, line);
  op.cols = &c;
  op.ncols = 1;
  rec(fn, op);
}

static void rename_op(lm_lint_fn *fn, lm_op_kind k, const char *table, const char *name,
                      const char *new_name, int line) {
  lm_op op = mk(k, table, name, line);
  op.new_name = new_name;
  rec(fn, op);
}

static void constraint(lm_lint_fn *fn, lm_op_kind k, const char *name, const char *table,
                       int not_valid, int line) {
  lm_constraint con;
  memset(&con, 0, sizeof con);
  con.name = name;
  con.not_valid = not_valid;
  lm_op op = mk(k, table, name, line);
  op.cons = &con;
  op.ncons = 1;
  rec(fn, op);
}

static void backfill(lm_lint_fn *fn, const char *table, const char *where, int line) {
  lm_op op = mk(LM_OP_BACKFILL_SQL, table, NULL, line);
  op.where = where;
  rec(fn, op);
}

/* The findings as "LINE:E|W:rule" in sorted order, space-separated. */
static char *run(fix *f, int pg) {
  lm_lint_rev r = {
      "r1", "versions/r.lua", f->multistep ? f->steps : NULL, f->nsteps, f->up, f->down, 0};
  lm_lint_findings out = {0};
  lm_lint_check_revision(&r, pg, &out);
  lm_lint_sort(&out);
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < out.n; i++)
    lm_buf_printf(&b, "%s%d:%c:%s", i ? " " : "", out.v[i].line,
                  out.v[i].severity == LM_LINT_ERROR ? 'E' : 'W', out.v[i].rule);
  lm_lint_findings_free(&out);
  return lm_buf_steal(&b);
}

/* The message of the first finding of rule. */
static char *message_of(fix *f, int pg, const char *rule) {
  lm_lint_rev r = {
      "r1", "versions/r.lua", f->multistep ? f->steps : NULL, f->nsteps, f->up, f->down, 0};
  lm_lint_findings out = {0};
  lm_lint_check_revision(&r, pg, &out);
  char *m = NULL;
  for (int i = 0; i < out.n && !m; i++)
    if (strcmp(out.v[i].rule, rule) == 0) m = lm_xstrdup(out.v[i].message);
  lm_lint_findings_free(&out);
  return m ? m : lm_xstrdup("(none)");
}

#define EXPECT(f, pg, want)                                                                        \
  do {                                                                                             \
    char *got_ = run(f, pg);                                                                       \
    assert_string_equal(got_, want);                                                               \
    free(got_);                                                                                    \
  } while (0)

#define EXPECT_MSG_HAS(f, pg, rule, text)                                                          \
  do {                                                                                             \
    char *m_ = message_of(f, pg, rule);                                                            \
    if (!strstr(m_, text)) fail_msg("message of %s: '%s' lacks '%s'", rule, m_, text);             \
    free(m_);                                                                                      \
  } while (0)

/* ---- record copies -------------------------------------------------------------- */

static void test_record_copies_strings(void **state) {
  (void)state;
  lm_lint_fn fn = {0};
  char table[] = "users", name[] = "email", file[] = "versions/x.lua";
  lm_op op = mk(LM_OP_ALTER_COLUMN, table, name, 7);
  op.file = file;
  op.type = "text";
  op.nullable = 0;
  rec(&fn, op);
  /* the Lua strings die after the call: the copy must not point at them */
  memset(table, 'x', sizeof table - 1);
  memset(name, 'x', sizeof name - 1);
  memset(file, 'x', sizeof file - 1);
  assert_int_equal(fn.n, 1);
  assert_string_equal(fn.ops[0].table, "users");
  assert_string_equal(fn.ops[0].name, "email");
  assert_string_equal(fn.ops[0].file, "versions/x.lua");
  assert_string_equal(fn.ops[0].type, "text");
  assert_int_equal(fn.ops[0].nullable, 0);
  assert_int_equal(fn.ops[0].line, 7);
  lm_lint_fn_free(&fn);
}

/* ---- data loss -------------------------------------------------------------------- */

static void test_drop_column_and_table(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  rec(&f.up[0], mk(LM_OP_DROP_COLUMN, "users", "bio", 2));
  rec(&f.up[0], mk(LM_OP_DROP_TABLE, "legacy", NULL, 3));
  create_table(&f.down[0], "legacy", 21);
  lm_column c = col("bio", "text", 1);
  add_column(&f.down[0], "users", &c, 22);
  EXPECT(&f, 1, "2:W:drop-column 3:W:drop-table");
  EXPECT(&f, 0, "2:W:drop-column 3:W:drop-table");
  fix_free(&f);
}

static void test_drops_in_downgrade_are_fine(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "t", 2);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "t", NULL, 21));
  EXPECT(&f, 1, "");
  fix_free(&f);
}

static void test_drop_then_add(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  rec(&f.up[0], mk(LM_OP_DROP_COLUMN, "users", "username", 2));
  lm_column c = col("login", "text", 1);
  add_column(&f.up[0], "users", &c, 3);
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "login", 21));
  lm_column c2 = col("username", "text", 1);
  add_column(&f.down[0], "users", &c2, 22);
  EXPECT(&f, 1, "2:W:drop-column 2:E:drop-then-add");
  EXPECT_MSG_HAS(&f, 1, "drop-then-add", "\"username\" is dropped and \"login\" added (line 3)");
  fix_free(&f);
}

static void test_drop_then_add_other_table_or_order(void **state) {
  (void)state;
  fix f;
  /* add before drop (expand/contract) and a drop on another table: no error */
  fix_init(&f, 2, 1);
  lm_column c = col("login", "text", 1);
  add_column(&f.up[0], "users", &c, 2);
  rec(&f.up[0], mk(LM_OP_DROP_COLUMN, "orders", "note", 3));
  rec(&f.up[1], mk(LM_OP_DROP_COLUMN, "users", "username", 4));
  lm_column c2 = col("note", "text", 1);
  add_column(&f.down[0], "orders", &c2, 20);
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "login", 21));
  lm_column c3 = col("username", "text", 1);
  add_column(&f.down[1], "users", &c3, 22);
  EXPECT(&f, 1, "3:W:drop-column 4:W:drop-column");
  fix_free(&f);
}

static void test_drop_then_add_across_steps(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 2, 1);
  rec(&f.up[0], mk(LM_OP_DROP_COLUMN, "users", "age", 2));
  lm_column c = col("age", "text", 1);
  add_column(&f.up[1], "users", &c, 5);
  rec(&f.down[1], mk(LM_OP_DROP_COLUMN, "users", "age", 21));
  lm_column c2 = col("age", "integer", 1);
  add_column(&f.down[0], "users", &c2, 20);
  EXPECT(&f, 0, "2:W:drop-column 2:E:drop-then-add");
  EXPECT_MSG_HAS(&f, 0, "drop-then-add", "dropped and added again (line 5)");
  fix_free(&f);
}

/* ---- NOT NULL ------------------------------------------------------------------------ */

static void test_add_not_null_without_default(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_column bad = col("age", "integer", 0);
  lm_column with_default = col("n", "integer", 0);
  with_default.server_default.kind = LM_DEF_NUMBER;
  with_default.server_default.text = "0";
  lm_column serial = col("id2", "integer", 0);
  serial.primary_key = 1;
  lm_column text_pk = col("code", "text", 0);
  text_pk.primary_key = 1;
  add_column(&f.up[0], "users", &bad, 2);
  add_column(&f.up[0], "users", &with_default, 3);
  add_column(&f.up[0], "users", &serial, 4);
  add_column(&f.up[0], "users", &text_pk, 5);
  /* a table made in the same revision has no rows and no old code */
  create_table(&f.up[0], "pets", 6);
  lm_column kind = col("kind", "text", 0);
  add_column(&f.up[0], "pets", &kind, 7);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "pets", NULL, 20));
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "code", 21));
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "id2", 22));
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "n", 23));
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "age", 24));
  EXPECT(&f, 1, "2:E:add-not-null-without-default 5:E:add-not-null-without-default");
  fix_free(&f);
}

static void test_create_table_not_null_is_fine(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_column cols[2] = {col("id", "integer", 0), col("name", "text", 0)};
  lm_op op = mk(LM_OP_CREATE_TABLE, "t", NULL, 2);
  op.cols = cols;
  op.ncols = 2;
  rec(&f.up[0], op);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "t", NULL, 20));
  EXPECT(&f, 1, "");
  fix_free(&f);
}

/* ---- alter, rename, locks ----------------------------------------------------------- */

static void test_alter_and_rename(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_op type = mk(LM_OP_ALTER_COLUMN, "orders", "total", 2);
  type.type = "numeric(12,2)";
  rec(&f.up[0], type);
  rename_op(&f.up[0], LM_OP_ALTER_COLUMN, "users", "name", "full_name", 3);
  rename_op(&f.up[0], LM_OP_RENAME_TABLE, "orders", NULL, "purchases", 4);
  lm_op nn = mk(LM_OP_ALTER_COLUMN, "users", "email", 5);
  nn.nullable = 0;
  rec(&f.up[0], nn);
  lm_op other = mk(LM_OP_ALTER_COLUMN, "users", "bio", 6);
  other.has_comment = 1;
  other.comment = "x";
  rec(&f.up[0], other);
  rec(&f.down[0], mk(LM_OP_ALTER_COLUMN, "users", "bio", 20));
  lm_op nn_back = mk(LM_OP_ALTER_COLUMN, "users", "email", 21);
  nn_back.nullable = 1;
  rec(&f.down[0], nn_back);
  rename_op(&f.down[0], LM_OP_RENAME_TABLE, "purchases", NULL, "orders", 22);
  rename_op(&f.down[0], LM_OP_ALTER_COLUMN, "users", "full_name", "name", 23);
  rec(&f.down[0], mk(LM_OP_ALTER_COLUMN, "orders", "total", 24));
  EXPECT(&f, 1, "2:W:alter-column-type 3:W:rename-column 4:W:rename-table 5:W:set-not-null");
  /* set-not-null is PostgreSQL's */
  EXPECT(&f, 0, "2:W:alter-column-type 3:W:rename-column 4:W:rename-table");
  fix_free(&f);
}

static void test_changes_to_a_new_table_are_fine(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "tmp", 2);
  rename_op(&f.up[0], LM_OP_RENAME_TABLE, "tmp", NULL, "things", 3);
  lm_op type = mk(LM_OP_ALTER_COLUMN, "things", "id", 4);
  type.type = "bigint";
  type.nullable = 0;
  rec(&f.up[0], type);
  lm_op ix = mk(LM_OP_CREATE_INDEX, "things", "ix_things", 5);
  rec(&f.up[0], ix);
  constraint(&f.up[0], LM_OP_CREATE_FK, "fk_things", "things", 0, 6);
  /* no rows yet: dropping and re-adding loses nothing */
  rec(&f.up[0], mk(LM_OP_DROP_COLUMN, "things", "x", 7));
  lm_column y = col("y", "text", 0);
  add_column(&f.up[0], "things", &y, 8);
  create_table(&f.up[0], "scratch", 9);
  rec(&f.up[0], mk(LM_OP_DROP_TABLE, "scratch", NULL, 10));
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "things", NULL, 20));
  EXPECT(&f, 1, "");
  fix_free(&f);
}

static void test_index_not_concurrent(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  rec(&f.up[0], mk(LM_OP_CREATE_INDEX, "users", "ix_a", 2));
  lm_op conc = mk(LM_OP_CREATE_INDEX, "users", "ix_b", 3);
  conc.concurrently = 1;
  rec(&f.up[0], conc);
  rec(&f.down[0], mk(LM_OP_DROP_INDEX, NULL, "ix_b", 20));
  rec(&f.down[0], mk(LM_OP_DROP_INDEX, NULL, "ix_a", 21));
  EXPECT(&f, 1, "2:W:index-not-concurrent");
  EXPECT(&f, 0, "");
  fix_free(&f);
}

static void test_foreign_key_validating(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  constraint(&f.up[0], LM_OP_CREATE_FK, "fk_a", "orders", 0, 2);
  constraint(&f.up[0], LM_OP_CREATE_CHECK, "ck_a", "orders", 0, 3);
  constraint(&f.up[0], LM_OP_CREATE_FK, "fk_b", "orders", 1, 4);
  constraint(&f.up[0], LM_OP_CREATE_CHECK, "ck_b", "orders", 1, 5);
  constraint(&f.up[0], LM_OP_CREATE_UNIQUE, "uq_a", "orders", 0, 6);
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "orders", "uq_a", 20));
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "orders", "ck_b", 21));
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "orders", "fk_b", 22));
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "orders", "ck_a", 23));
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "orders", "fk_a", 24));
  EXPECT(&f, 1, "2:W:foreign-key-validating 3:W:foreign-key-validating");
  EXPECT(&f, 0, "2:W:foreign-key-validating 3:W:foreign-key-validating");
  EXPECT_MSG_HAS(&f, 1, "foreign-key-validating", "foreign key \"fk_a\" on \"orders\"");
  fix_free(&f);
}

/* ---- downgrades ------------------------------------------------------------------------ */

static void test_downgrade_missing(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "t", 2);
  f.down[0].present = 0;
  EXPECT(&f, 1, "10:E:downgrade-missing");
  fix_free(&f);

  fix_init(&f, 2, 1);
  create_table(&f.up[0], "t", 2);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "t", NULL, 20));
  rec(&f.up[1], mk(LM_OP_DROP_COLUMN, "u", "c", 3));
  f.down[1].present = 0;
  EXPECT(&f, 1, "3:W:drop-column 11:E:downgrade-missing");
  EXPECT_MSG_HAS(&f, 1, "downgrade-missing", "step 'backfill' has no down function");
  fix_free(&f);
}

static void test_downgrade_empty(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_column c = col("bio", "text", 1);
  add_column(&f.up[0], "users", &c, 2);
  EXPECT(&f, 1, "20:E:downgrade-empty");
  fix_free(&f);

  /* nothing up, nothing down: a merge revision */
  fix_init(&f, 1, 0);
  EXPECT(&f, 1, "");
  fix_free(&f);

  /* a backfill step needs no down */
  fix_init(&f, 1, 1);
  backfill(&f.up[0], "users", "x IS NULL", 2);
  EXPECT(&f, 1, "");
  fix_free(&f);

  /* a function that failed half-way is not judged on what it recorded */
  fix_init(&f, 1, 0);
  add_column(&f.up[0], "users", &c, 2);
  f.down[0].failed = 1;
  EXPECT(&f, 1, "");
  fix_free(&f);
}

static void test_inverse_ok(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  rename_op(&f.up[0], LM_OP_RENAME_TABLE, "a", NULL, "b", 2);
  rename_op(&f.up[0], LM_OP_ALTER_COLUMN, "b", "x", "y", 3);
  constraint(&f.up[0], LM_OP_CREATE_UNIQUE, "uq", "b", 0, 4);
  lm_op ex = mk(LM_OP_EXECUTE, NULL, NULL, 5);
  ex.sql = "UPDATE b SET y = 1";
  rec(&f.up[0], ex);
  rec(&f.up[0], mk(LM_OP_DROP_CONSTRAINT, "b", "ck_old", 6));
  rec(&f.up[0], mk(LM_OP_DROP_INDEX, NULL, "ix_old", 7));
  lm_op ix = mk(LM_OP_CREATE_INDEX, "b", "ix_old", 20);
  rec(&f.down[0], ix);
  constraint(&f.down[0], LM_OP_CREATE_CHECK, "ck_old", "b", 1, 21);
  rec(&f.down[0], mk(LM_OP_DROP_CONSTRAINT, "b", "uq", 22));
  rename_op(&f.down[0], LM_OP_ALTER_COLUMN, "b", "y", "x", 23);
  rename_op(&f.down[0], LM_OP_RENAME_TABLE, "b", NULL, "a", 24);
  EXPECT(&f, 0, "2:W:rename-table 3:W:rename-column");
  fix_free(&f);
}

static void test_inverse_wrong_order(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_column c = col("phone", "text", 1);
  add_column(&f.up[0], "users", &c, 2);
  rec(&f.up[0], mk(LM_OP_CREATE_INDEX, "users", "ix_phone", 3));
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "phone", 20));
  rec(&f.down[0], mk(LM_OP_DROP_INDEX, "users", "ix_phone", 21));
  EXPECT(&f, 0, "20:W:downgrade-not-inverse");
  EXPECT_MSG_HAS(&f, 0, "downgrade-not-inverse",
                 "should undo line 3 first: expected op.drop_index(\"ix_phone\"), found "
                 "op.drop_column(\"users\", \"phone\")");
  fix_free(&f);
}

static void test_inverse_missing_and_wrong(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "a", 2);
  create_table(&f.up[0], "b", 3);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "b", NULL, 21));
  EXPECT(&f, 0, "20:W:downgrade-not-inverse");
  EXPECT_MSG_HAS(&f, 0, "downgrade-not-inverse", "never undoes op.create_table(\"a\", ...)");
  fix_free(&f);

  /* a downgrade op that undoes nothing */
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "a", 2);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "a", NULL, 21));
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "zzz", NULL, 22));
  EXPECT(&f, 0, "22:W:downgrade-not-inverse");
  EXPECT_MSG_HAS(&f, 0, "downgrade-not-inverse", "which undoes no operation of the upgrade");
  fix_free(&f);

  /* the wrong column */
  fix_init(&f, 1, 0);
  lm_column c = col("a", "text", 1);
  add_column(&f.up[0], "t", &c, 2);
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "t", "b", 21));
  EXPECT(&f, 0, "21:W:downgrade-not-inverse");
  fix_free(&f);
}

static void test_inverse_tolerance(void **state) {
  (void)state;
  fix f;
  /* dropping a created table undoes the indexes, constraints and renames on
   * it; an explicit drop_index before it is redundant, not wrong */
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "tmp", 2);
  rec(&f.up[0], mk(LM_OP_CREATE_INDEX, "tmp", "ix_tmp", 3));
  constraint(&f.up[0], LM_OP_CREATE_FK, "fk_tmp", "tmp", 0, 4);
  rename_op(&f.up[0], LM_OP_RENAME_TABLE, "tmp", NULL, "final", 5);
  rec(&f.down[0], mk(LM_OP_DROP_INDEX, "final", "ix_tmp", 20));
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "final", NULL, 21));
  EXPECT(&f, 1, "");
  fix_free(&f);

  /* raw SQL in the downgrade may undo what lint cannot see */
  fix_init(&f, 1, 0);
  create_table(&f.up[0], "a", 2);
  create_table(&f.up[0], "b", 3);
  lm_op ex = mk(LM_OP_EXECUTE, NULL, NULL, 20);
  rec(&f.down[0], ex);
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "a", NULL, 21));
  EXPECT(&f, 1, "");
  fix_free(&f);

  /* raw SQL in the upgrade may have made what the downgrade drops */
  fix_init(&f, 1, 0);
  rec(&f.up[0], mk(LM_OP_EXECUTE, NULL, NULL, 2));
  rec(&f.down[0], mk(LM_OP_DROP_TABLE, "made_by_sql", NULL, 20));
  EXPECT(&f, 1, "");
  fix_free(&f);
}

static void test_inverse_per_step(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 2, 1);
  lm_column c = col("first", "text", 1);
  add_column(&f.up[0], "users", &c, 2);
  rec(&f.up[1], mk(LM_OP_DROP_COLUMN, "users", "name", 3));
  /* each step's down undoes that step's up */
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "first", 20));
  lm_column c2 = col("name", "text", 1);
  add_column(&f.down[1], "users", &c2, 21);
  EXPECT(&f, 1, "3:W:drop-column");
  fix_free(&f);
}

/* ---- backfills ---------------------------------------------------------------------- */

static void test_backfill_rules(void **state) {
  (void)state;
  fix f;
  fix_init(&f, 1, 0);
  lm_column c = col("first", "text", 1);
  add_column(&f.up[0], "users", &c, 2);
  backfill(&f.up[0], "users", NULL, 3);
  backfill(&f.up[0], "users", "  ", 4);
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "first", 20));
  EXPECT(&f, 0,
         "3:W:backfill-not-resumable 3:W:backfill-in-transaction 4:W:backfill-not-resumable "
         "4:W:backfill-in-transaction");
  EXPECT_MSG_HAS(&f, 0, "backfill-in-transaction", "shares its function with 2 other operations");
  fix_free(&f);

  fix_init(&f, 2, 1);
  add_column(&f.up[0], "users", &c, 2);
  backfill(&f.up[1], "users", "first IS NULL", 3);
  rec(&f.down[0], mk(LM_OP_DROP_COLUMN, "users", "first", 20));
  EXPECT(&f, 0, "");
  fix_free(&f);
}

static void test_backfill_hook(void **state) {
  (void)state;
  assert_true(lm_lint_is_backfill(LM_OP_BACKFILL_SQL));
  assert_false(lm_lint_is_backfill(LM_OP_EXECUTE));
  assert_false(lm_lint_is_backfill(LM_OP_BULK_INSERT));
}

/* ---- luamig.lua -------------------------------------------------------------------------- */

static void test_password_line(void **state) {
  (void)state;
  assert_int_equal(lm_lint_password_line("return {\n  url = \"postgresql://app:pw@db/app\",\n}\n"),
                   2);
  assert_int_equal(lm_lint_password_line("return { url = 'postgres://u:p@h:5432/d' }"), 1);
  assert_int_equal(
      lm_lint_password_line("-- x\n\nreturn { url = \"postgresql+psycopg2://u:secret@h/d\" }"), 3);
  /* no password, a masked one, a port without user info, env vars */
  assert_int_equal(lm_lint_password_line("return { url = \"postgresql://app@db/app\" }"), 0);
  assert_int_equal(lm_lint_password_line("return { url = \"postgresql://app:***@db/app\" }"), 0);
  assert_int_equal(lm_lint_password_line("return { url = \"postgresql://db:5432/app\" }"), 0);
  assert_int_equal(lm_lint_password_line("return { url = \"sqlite:///app.db\" }"), 0);
  assert_int_equal(lm_lint_password_line("return { url = os.getenv(\"DATABASE_URL\") }"), 0);
  assert_int_equal(lm_lint_password_line("return { url = \"postgresql://app:@db/app\" }"), 0);
  /* a password containing '@' */
  assert_int_equal(lm_lint_password_line("return { url = \"postgresql://a:p@ss@db/app\" }"), 1);
}

/* ---- allow comments ------------------------------------------------------------------ */

static void test_allow_line_before(void **state) {
  (void)state;
  const char *t = "revision = \"x\"\n"                                    /* 1 */
                  "function upgrade()\n"                                  /* 2 */
                  "  -- luamig: allow drop-column\n"                      /* 3 */
                  "  op.drop_column(\"u\", \"a\")\n"                      /* 4 */
                  "  op.drop_column(\"u\", \"b\")\n"                      /* 5 */
                  "  -- why: moved to archive\n"                          /* 6 */
                  "  --luamig: allow a-rule,drop-table rename-table\n"    /* 7 */
                  "  -- more words\n"                                     /* 8 */
                  "  op.drop_table(\"t\")\n"                              /* 9 */
                  "\n"                                                    /* 10 */
                  "  op.drop_table(\"t2\") -- luamig: allow drop-table\n" /* 11 */
                  "  -- luamig: allow drop-table\n"                       /* 12 */
                  "\n"                                                    /* 13 */
                  "  op.drop_table(\"t3\")\n"                             /* 14 */
                  "end\n";
  assert_true(lm_lint_allowed(t, 4, "drop-column"));
  assert_false(lm_lint_allowed(t, 4, "drop-table"));
  assert_false(lm_lint_allowed(t, 5, "drop-column"));
  assert_true(lm_lint_allowed(t, 9, "drop-table"));
  assert_true(lm_lint_allowed(t, 9, "rename-table"));
  assert_true(lm_lint_allowed(t, 9, "a-rule"));
  assert_false(lm_lint_allowed(t, 9, "drop"));
  assert_true(lm_lint_allowed(t, 11, "drop-table"));
  /* a blank line breaks the link */
  assert_false(lm_lint_allowed(t, 14, "drop-table"));
  assert_false(lm_lint_allowed(t, 99, "drop-table"));
  assert_false(lm_lint_allowed(NULL, 1, "drop-table"));
}

/* autogenerate's possible-rename mark: the line of the first one */
static void test_rename_mark_line(void **state) {
  (void)state;
  assert_int_equal(lm_rename_mark_line(NULL), 0);
  assert_int_equal(lm_rename_mark_line("function upgrade()\n  op.drop_column(\"t\", \"a\")\nend\n"),
                   0);
  assert_int_equal(lm_rename_mark_line("-- luamig: possible rename of t.a -> t.b: ...\n"), 1);
  assert_int_equal(lm_rename_mark_line("x\n\nfunction upgrade()\n  " LM_RENAME_MARK
                                       "t.a -> t.b\n  " LM_RENAME_MARK "t.c -> t.d\n"),
                   4);
  /* another comment is not the mark */
  assert_int_equal(lm_rename_mark_line("-- luamig: allow drop-then-add\n"), 0);
}

static void test_allow_header(void **state) {
  (void)state;
  const char *block = "--[[ drop the old columns\n"
                      "\n"
                      "Revision ID: x\n"
                      "-- luamig: allow drop-column\n"
                      "luamig: allow drop-table\n"
                      "]]\n"
                      "revision = \"x\"\n"
                      "-- luamig: allow rename-table\n"
                      "function upgrade() end\n";
  assert_true(lm_lint_allowed(block, 30, "drop-column"));
  assert_true(lm_lint_allowed(block, 30, "drop-table"));
  assert_false(lm_lint_allowed(block, 30, "rename-table"));

  const char *dashes = "#!/usr/bin/env lua\n"
                       "-- header\n"
                       "-- luamig: allow drop-table, drop-column\n"
                       "\n"
                       "revision = \"x\"\n";
  assert_true(lm_lint_allowed(dashes, 30, "drop-table"));
  assert_true(lm_lint_allowed(dashes, 30, "drop-column"));

  const char *level = "--[==[ a ]] inside\n-- luamig: allow drop-table\n]==]\nrevision = 1\n";
  assert_true(lm_lint_allowed(level, 30, "drop-table"));

  const char *one_line = "--[[ luamig: allow drop-table ]]\nrevision = 1\n";
  assert_true(lm_lint_allowed(one_line, 30, "drop-table"));

  const char *code_after = "--[[ x ]] revision = 1\n-- luamig: allow drop-table\nx = 1\n";
  assert_false(lm_lint_allowed(code_after, 30, "drop-table"));

  const char *unclosed = "--[[ luamig: allow drop-table\n";
  assert_true(lm_lint_allowed(unclosed, 30, "drop-table"));
}

/* ---- sorting and printing ------------------------------------------------------------ */

static void test_sort_and_print(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "versions/b.lua", 3, LM_LINT_WARNING, "drop-table", "hint b", "msg %d", 1);
  lm_lint_add(&f, "versions/a.lua", 9, LM_LINT_ERROR, "drop-then-add", "hint a", "msg \"q\"");
  lm_lint_add(&f, "versions/a.lua", 2, LM_LINT_WARNING, "drop-column", "", "msg x");
  lm_lint_add(&f, "versions/a.lua", 9, LM_LINT_ERROR, "drop-then-add", "hint a", "msg \"q\"");
  lm_lint_sort(&f);
  assert_int_equal(f.n, 3);

  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  lm_lint_print(&f, 0, out);
  fclose(out);
  assert_string_equal(buf, "versions/a.lua:2: warning [drop-column] msg x\n"
                           "versions/a.lua:9: error [drop-then-add] msg \"q\" \xe2\x80\x94 hint a\n"
                           "versions/b.lua:3: warning [drop-table] msg 1 \xe2\x80\x94 hint b\n");
  free(buf);

  out = open_memstream(&buf, &len);
  lm_lint_print(&f, 1, out);
  fclose(out);
  assert_string_equal(
      buf, "[\n"
           "  {\"file\": \"versions/a.lua\", \"line\": 2, \"severity\": \"warning\", \"rule\": "
           "\"drop-column\", \"message\": \"msg x\", \"hint\": \"\"},\n"
           "  {\"file\": \"versions/a.lua\", \"line\": 9, \"severity\": \"error\", \"rule\": "
           "\"drop-then-add\", \"message\": \"msg \\\"q\\\"\", \"hint\": \"hint a\"},\n"
           "  {\"file\": \"versions/b.lua\", \"line\": 3, \"severity\": \"warning\", \"rule\": "
           "\"drop-table\", \"message\": \"msg 1\", \"hint\": \"hint b\"}\n"
           "]\n");
  free(buf);
  lm_lint_findings_free(&f);

  out = open_memstream(&buf, &len);
  lm_lint_print(&f, 1, out);
  fclose(out);
  assert_string_equal(buf, "[]\n");
  free(buf);
}

static void test_print_masks_passwords(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "versions/a.lua", 1, LM_LINT_ERROR, "lint-failed", "",
              "cannot reach postgresql://u:topsecret@h/db");
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  lm_lint_print(&f, 0, out);
  fclose(out);
  assert_null(strstr(buf, "topsecret"));
  free(buf);
  lm_lint_findings_free(&f);
}

/* unknown-type: SPEC section 4's types and each dialect's own pass; a misspelling
 * does not. */
static void test_type_known(void **state) {
  (void)state;
  const char *both[] = {"integer",      "string(20)",
                        "String( 20 )", "numeric(10,2)",
                        "timestamptz",  "datetime(timezone)",
                        "json",         "uuid",
                        "binary",       "BigInteger",
                        "real",         "double precision",
                        "decimal(5,2)", "int",
                        "char(3)",      NULL};
  for (int i = 0; both[i]; i++) {
    assert_true(lm_type_known(NULL, both[i]));
    assert_true(lm_type_known(&lm_dialect_postgresql, both[i]));
    assert_true(lm_type_known(&lm_dialect_sqlite, both[i]));
  }
  const char *pg[] = {"inet",
                      "tsvector",
                      "int4range",
                      "citext",
                      "jsonb",
                      "text[]",
                      "integer[]",
                      "timestamp(3) with time zone",
                      "character varying(40)",
                      "bit varying(8)",
                      "interval",
                      NULL};
  for (int i = 0; pg[i]; i++) {
    assert_true(lm_type_known(NULL, pg[i]));
    assert_true(lm_type_known(&lm_dialect_postgresql, pg[i]));
  }
  assert_false(lm_type_known(&lm_dialect_sqlite, "inet"));
  assert_false(lm_type_known(&lm_dialect_sqlite, "tsvector"));
  assert_true(lm_type_known(&lm_dialect_sqlite, "clob"));
  assert_true(lm_type_known(&lm_dialect_postgresql, "public.mood")); /* the user's own type */
  assert_true(lm_type_known(NULL, "\"Mood\""));
  const char *bad[] = {"strng(20)", "intger", "varchr(5)", "timestampz", "jsn", NULL};
  for (int i = 0; bad[i]; i++)
    assert_false(lm_type_known(NULL, bad[i]));
  assert_string_equal(lm_lint_rule_dialect("index-not-concurrent"), "postgresql");
  assert_string_equal(lm_lint_rule_dialect("set-not-null"), "postgresql");
  assert_null(lm_lint_rule_dialect("drop-column"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_copies_strings),
      cmocka_unit_test(test_drop_column_and_table),
      cmocka_unit_test(test_drops_in_downgrade_are_fine),
      cmocka_unit_test(test_drop_then_add),
      cmocka_unit_test(test_drop_then_add_other_table_or_order),
      cmocka_unit_test(test_drop_then_add_across_steps),
      cmocka_unit_test(test_add_not_null_without_default),
      cmocka_unit_test(test_create_table_not_null_is_fine),
      cmocka_unit_test(test_alter_and_rename),
      cmocka_unit_test(test_changes_to_a_new_table_are_fine),
      cmocka_unit_test(test_index_not_concurrent),
      cmocka_unit_test(test_foreign_key_validating),
      cmocka_unit_test(test_downgrade_missing),
      cmocka_unit_test(test_downgrade_empty),
      cmocka_unit_test(test_inverse_ok),
      cmocka_unit_test(test_inverse_wrong_order),
      cmocka_unit_test(test_inverse_missing_and_wrong),
      cmocka_unit_test(test_inverse_tolerance),
      cmocka_unit_test(test_inverse_per_step),
      cmocka_unit_test(test_backfill_rules),
      cmocka_unit_test(test_backfill_hook),
      cmocka_unit_test(test_password_line),
      cmocka_unit_test(test_allow_line_before),
      cmocka_unit_test(test_allow_header),
      cmocka_unit_test(test_rename_mark_line),
      cmocka_unit_test(test_sort_and_print),
      cmocka_unit_test(test_print_masks_passwords),
      cmocka_unit_test(test_type_known),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
