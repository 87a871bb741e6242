/* The comparison for autogenerate (engine/compare.c) and the normalisation
 * it relies on (engine/normalize.c): the same type or default spelt the way
 * each dialect stores it must compare equal, a real difference must not, and
 * the op records come out in an order that applies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compare.h"
#include "normalize.h"

static void type_eq(const char *a, const char *b) {
  char *x = lm_norm_type(a), *y = lm_norm_type(b);
  if (strcmp(x, y) != 0) fail_msg("types '%s' (%s) and '%s' (%s) differ", a, x, b, y);
  free(x);
  free(y);
}

static void type_ne(const char *a, const char *b) {
  char *x = lm_norm_type(a), *y = lm_norm_type(b);
  if (strcmp(x, y) == 0) fail_msg("types '%s' and '%s' should differ (both %s)", a, b, x);
  free(x);
  free(y);
}

/* The model's type rendered for d against what d's catalog reports. */
static void rendered_eq(const lm_dialect *d, const char *luatype, const char *catalog) {
  lm_buf b;
  lm_buf_init(&b);
  lm_render_type(d, luatype, &b);
  type_eq(b.s, catalog);
  lm_buf_free(&b);
}

static void test_types(void **state) {
  (void)state;
  type_eq("VARCHAR(255)", "character varying(255)");
  type_eq("varchar (255)", "CHARACTER VARYING(255)");
  type_eq("INTEGER", "int4");
  type_eq("integer", "serial");
  type_eq("BIGINT", "int8");
  type_eq("bigserial", "bigint");
  type_eq("NUMERIC(10,2)", "numeric(10, 2)");
  type_eq("TIMESTAMP WITHOUT TIME ZONE", "timestamp");
  type_eq("timestamp with time zone", "TIMESTAMPTZ");
  type_eq("DATETIME", "timestamp without time zone");
  type_eq("BOOLEAN", "bool");
  type_eq("DOUBLE PRECISION", "float8");
  type_eq("timestamp(3) with time zone", "timestamptz(3)");
  type_eq("character(36)", "CHAR(36)");
  type_ne("VARCHAR(255)", "VARCHAR(100)");
  type_ne("INTEGER", "BIGINT");
  type_ne("NUMERIC(10,2)", "NUMERIC(10,3)");
  type_ne("timestamp", "timestamptz");
  type_ne("TEXT", "VARCHAR");
  /* the model's types, rendered by each dialect, against its catalog */
  rendered_eq(&lm_dialect_postgresql, "string(255)", "character varying(255)");
  rendered_eq(&lm_dialect_postgresql, "integer", "integer");
  rendered_eq(&lm_dialect_postgresql, "datetime", "timestamp without time zone");
  rendered_eq(&lm_dialect_postgresql, "timestamptz", "timestamp with time zone");
  rendered_eq(&lm_dialect_postgresql, "float", "double precision");
  rendered_eq(&lm_dialect_postgresql, "numeric(10,2)", "numeric(10,2)");
  rendered_eq(&lm_dialect_postgresql, "json", "jsonb");
  rendered_eq(&lm_dialect_postgresql, "binary", "bytea");
  rendered_eq(&lm_dialect_sqlite, "string(255)", "VARCHAR(255)");
  rendered_eq(&lm_dialect_sqlite, "timestamptz", "DATETIME");
  rendered_eq(&lm_dialect_sqlite, "uuid", "CHAR(36)");
  rendered_eq(&lm_dialect_sqlite, "float", "REAL");
}

static void def_eq(const char *a, const char *b, const char *type) {
  char *t = lm_norm_type(type);
  char *x = lm_norm_default(a, t), *y = lm_norm_default(b, t);
  if (!x || !y ? x != y : strcmp(x, y) != 0)
    fail_msg("defaults '%s' (%s) and '%s' (%s) on %s differ", a, x ? x : "none", b, y ? y : "none",
             type);
  free(x);
  free(y);
  free(t);
}

static void def_ne(const char *a, const char *b, const char *type) {
  char *t = lm_norm_type(type);
  char *x = lm_norm_default(a, t), *y = lm_norm_default(b, t);
  if (!x || !y ? x == y : strcmp(x, y) == 0)
    fail_msg("defaults '%s' and '%s' on %s should differ", a, b, type);
  free(x);
  free(y);
  free(t);
}

static void test_defaults(void **state) {
  (void)state;
  /* PostgreSQL's catalog against the model's rendering */
  def_eq("'pending'::character varying", "'pending'", "varchar(20)");
  def_eq("('pending'::text)::character varying", "'pending'", "varchar(20)");
  def_eq("true", "TRUE", "boolean");
  def_eq("false", "FALSE", "boolean");
  def_eq("now()", "CURRENT_TIMESTAMP", "timestamptz");
  def_eq("CURRENT_TIMESTAMP", "now()", "timestamp");
  def_eq("0", "0", "integer");
  def_eq("'-1'::integer", "-1", "integer");
  def_eq("0.0", "0", "numeric(10,2)");
  def_eq("'{}'::jsonb", "'{}'", "jsonb");
  def_eq("''::character varying", "''", "varchar(50)");
  def_eq("'it''s'::text", "'it''s'", "text");
  def_eq(NULL, "NULL", "text");
  def_eq("NULL::character varying", NULL, "varchar");
  /* SQLite keeps the text as written, booleans as 1 and 0 */
  def_eq("1", "true", "BOOLEAN");
  def_eq("0", "false", "BOOLEAN");
  def_eq("'t'", "1", "boolean");
  def_eq("(CURRENT_TIMESTAMP)", "now()", "DATETIME");
  def_eq("('pending')", "'pending'", "VARCHAR(20)");
  /* PostgreSQL's escape strings (the model's rendering of a backslash)
   * against its catalog's standard strings */
  def_eq("'a\\b'::character varying", "E'a\\\\b'", "varchar(20)");
  def_eq("'it''s \\'::text", "E'it''s \\\\'", "text");
  def_eq("'tab\there'", "E'tab\\there'", "text");
  def_eq("'A\\x'", "e'\\x41\\\\x'", "text");
  def_eq("'é'", "E'\\u00e9'", "text");
  def_ne("'a\\b'", "E'a\\b'", "text");
  /* real differences */
  def_ne("'pending'", "'paid'", "varchar(20)");
  def_ne("'1'", "1", "text");
  def_ne("true", "false", "boolean");
  def_ne("0", "1", "integer");
  def_ne("'a'", NULL, "text");
  def_ne("lower('A')", "upper('A')", "text");
  /* a cast inside an expression is no cast of the whole default: the
   * expression is not its first literal */
  def_ne("('x'::text || 'y'::text)", "'x'", "text");
  def_ne("('2020-01-01'::date + 1)", "'2020-01-01'", "date");
  def_eq("('2020-01-01'::date + 1)", "'2020-01-01'::date + 1", "date");
  def_eq("'(1,2)'::numeric(10,2)", "'(1,2)'", "numeric(10,2)");
  def_eq("'{a}'::character varying[]", "'{a}'", "varchar(5)[]");
}

static void expr_eq(const char *a, const char *b) {
  char *x = lm_norm_expr(a), *y = lm_norm_expr(b);
  if (strcmp(x, y) != 0) fail_msg("expressions '%s' (%s) and '%s' (%s) differ", a, x, b, y);
  free(x);
  free(y);
}

static void test_expressions(void **state) {
  (void)state;
  expr_eq("status <> 'done'", "((status)::text <> 'done'::text)");
  expr_eq("status IN ('pending','paid')",
          "((status)::text = ANY ((ARRAY['pending'::character varying, 'paid'::character "
          "varying])::text[]))");
  expr_eq("total >= 0", "(total >= (0)::numeric)");
  expr_eq("a != b", "a <> b");
  expr_eq("\"email\" IS NOT NULL", "Email is not null");
  expr_eq("path <> E'C:\\\\tmp'", "((path)::text <> 'C:\\tmp'::text)");
  expr_eq("code <> e'it\\'s'", "code <> 'it''s'");
  /* as PostgreSQL gives them back: LIKE as ~~, a typed literal as a cast */
  expr_eq("n > 0 AND s LIKE 'x%'", "((n > 0) AND ((s)::text ~~ 'x%'::text))");
  expr_eq("s NOT ILIKE 'a'", "((s)::text !~~* 'a'::text)");
  expr_eq("now() + interval '1 day'", "(now() + '1 day'::interval)");
  expr_eq("d > DATE '2020-01-01'", "(d > '2020-01-01'::date)");
  /* a negative number as PostgreSQL keeps it */
  expr_eq("n > -1", "(n > '-1'::integer)");
  expr_eq("s <> '-1'", "((s)::text <> '-1'::text)");
  /* BETWEEN as PostgreSQL keeps it */
  char *x, *y;
  expr_eq("n BETWEEN 1 AND 5", "((n >= 1) AND (n <= 5))");
  expr_eq("n NOT BETWEEN 1 AND 5", "((n < 1) OR (n > 5))");
  expr_eq("a = 1 AND n BETWEEN -1 AND 5 OR b",
          "(((a = 1) AND (n >= '-1'::integer) AND (n <= 5)) OR b)");
  expr_eq("\"N\" between 'a' and 'b'",
          "((\"N\")::text >= 'a'::text) AND ((\"N\")::text <= 'b'::text)");
  x = lm_norm_expr("n BETWEEN 1 AND 5");
  y = lm_norm_expr("n >= 1 AND n <= 6");
  assert_string_not_equal(x, y);
  free(x);
  free(y);
  /* a term that is not one name or value stays as written */
  x = lm_norm_expr("lower(s) BETWEEN 'a' AND 'b'");
  assert_string_equal(x, "lower s between 'a' and 'b'");
  free(x);
  x = lm_norm_expr("status = 'A'");
  y = lm_norm_expr("status = 'a'");
  assert_string_not_equal(x, y); /* strings keep their case */
  free(x);
  free(y);
}

static void rename_eq(const char *expr, const char *from, const char *to, const char *want) {
  char *got = lm_norm_rename_column(expr, from, to);
  if (!want)
    assert_null(got);
  else
    assert_string_equal(got, want);
  free(got);
}

/* A renamed column in a CHECK, a WHERE or an index expression, as the
 * database rewrites it. */
static void test_rename_in_expressions(void **state) {
  (void)state;
  rename_eq("status IN ('a','b')", "status", "state", "\"state\" IN ('a','b')");
  rename_eq("\"status\" <> 'status' AND Status > 0", "status", "state",
            "\"state\" <> 'status' AND \"state\" > 0");
  rename_eq("lower(status)", "status", "state", "lower(\"state\")");
  /* a function of that name, a longer word, a string, a comment: untouched */
  rename_eq("status (1) + statuses + 'status' -- status\n", "status", "state", NULL);
  rename_eq("E'it\\'s status' || x", "status", "state", NULL);
  rename_eq("orders.status = 1", "status", "state", "orders.\"state\" = 1");
  /* a quoted name is exact */
  rename_eq("\"Status\" = 1", "status", "state", NULL);
  rename_eq("\"Status\" = 1", "Status", "st\"x", "\"st\"\"x\" = 1");
  rename_eq("1e5 > status2", "e5", "x", NULL);
  rename_eq(NULL, "a", "b", NULL);
  /* a name written bare or quoted into generated SQL */
  assert_false(lm_sql_name_needs_quotes("email"));
  assert_false(lm_sql_name_needs_quotes("orders"));
  assert_true(lm_sql_name_needs_quotes("order"));
  assert_true(lm_sql_name_needs_quotes("all"));
  assert_true(lm_sql_name_needs_quotes("with"));
  assert_true(lm_sql_name_needs_quotes("Name"));
  assert_true(lm_sql_name_needs_quotes("first name"));
  assert_true(lm_sql_name_needs_quotes("1st"));
  /* two at once: a swap stays a swap */
  const char *from[] = {"a", "b"}, *to[] = {"b", "a"};
  char *got = lm_norm_rename_columns("a < b", from, to, 2);
  assert_string_equal(got, "\"b\" < \"a\"");
  free(got);
}

static void entry_eq(const char *entry, const char *key, const char *opts, int order) {
  char *k, *o;
  int ord;
  lm_norm_index_entry(entry, &k, &o, &ord);
  assert_string_equal(k, key);
  if (opts)
    assert_string_equal(o, opts);
  else
    assert_null(o);
  assert_int_equal(ord, order);
  free(k);
  free(o);
}

static void def_opts_eq(const char *def, int col, const char *opts) {
  char *o[8];
  lm_norm_index_def_opts(def, o, 8);
  if (opts)
    assert_string_equal(o[col], opts);
  else
    assert_null(o[col]);
  for (int i = 0; i < 8; i++)
    free(o[i]);
}

static void test_index_entries(void **state) {
  (void)state;
  const int D = LM_INDEX_DESC, N = LM_INDEX_NULLS_OTHER;
  entry_eq("email", "email", NULL, 0);
  entry_eq("email ASC", "email", NULL, 0);
  entry_eq("\"Name\" DESC", "Name", NULL, D);
  entry_eq("email varchar_pattern_ops", "email", "varchar_pattern_ops", 0);
  entry_eq("email VARCHAR_PATTERN_OPS", "email", "varchar_pattern_ops", 0);
  /* NULLS as the order's default is no option */
  entry_eq("created_at DESC NULLS FIRST", "created_at", NULL, D);
  entry_eq("created_at DESC NULLS LAST", "created_at", NULL, D | N);
  entry_eq("created_at NULLS LAST", "created_at", NULL, 0);
  entry_eq("created_at asc nulls first", "created_at", NULL, N);
  entry_eq("name COLLATE \"C\"", "name", "COLLATE \"C\"", 0);
  entry_eq("email COLLATE NOCASE DESC", "email", "COLLATE nocase", D);
  entry_eq("name COLLATE \"C\" text_pattern_ops DESC", "name", "COLLATE \"C\" text_pattern_ops", D);
  entry_eq("lower(email) text_pattern_ops", "lower(email)", "text_pattern_ops", 0);
  entry_eq("(a || b) DESC", "(a || b)", NULL, D);
  /* an operator class follows a whole key only: these are expressions */
  entry_eq("a + b", "a + b", NULL, 0);
  entry_eq("a || b DESC", "a || b", NULL, D);
  entry_eq("a and b", "a and b", NULL, 0);
  entry_eq("DESC", "DESC", NULL, 0);
  entry_eq("", "", NULL, 0);
  /* what pg_get_indexdef shows of each key column */
  const char *def = "CREATE INDEX ix ON public.users USING btree (email varchar_pattern_ops, "
                    "created_at DESC NULLS LAST, (lower((email)::text)) text_pattern_ops, "
                    "name COLLATE \"C\", \"Odd, name\") INCLUDE (id) WHERE (id > 0)";
  def_opts_eq(def, 0, "varchar_pattern_ops");
  def_opts_eq(def, 1, NULL);
  def_opts_eq(def, 2, "text_pattern_ops");
  def_opts_eq(def, 3, "COLLATE \"C\"");
  def_opts_eq(def, 4, NULL);
  def_opts_eq(def, 5, NULL);
  def_opts_eq("CREATE INDEX ix ON t (a)", 0, NULL);
}

/* ---- the comparison ---------------------------------------------------------------- */

static lm_schema_column *col(lm_schema_table *t, const char *name, const char *type, int notnull,
                             const char *def) {
  return lm_schema_add_column(t, name, type, notnull, def);
}

static void pk(lm_schema_table *t, const char *c) {
  lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_PK, NULL, "");
  lm_schema_item_add_col(it, c, 0);
  for (int i = 0; i < t->ncols; i++)
    if (!strcmp(t->cols[i].name, c)) t->cols[i].pk = 1;
}

static void fk(lm_schema_table *t, const char *name, const char *c, const char *rt,
               const char *rc) {
  lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_FK, name, "");
  lm_schema_item_add_col(it, c, 0);
  it->ref_table = lm_xstrdup(rt);
  lm_schema_item_add_ref(it, rc);
}

/* The model: users, orders → users; types as the model renders them. */
static lm_schema *model(int with_orders) {
  lm_schema *s = lm_schema_new();
  lm_schema_table *u = lm_schema_add_table(s, "users");
  col(u, "id", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
  col(u, "email", "VARCHAR(255)", 1, NULL)->ltype = lm_xstrdup("string(255)");
  col(u, "active", "BOOLEAN", 1, "TRUE")->ltype = lm_xstrdup("boolean");
  pk(u, "id");
  if (with_orders) {
    lm_schema_table *o = lm_schema_add_table(s, "orders");
    col(o, "id", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
    col(o, "user_id", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
    col(o, "status", "VARCHAR(20)", 1, "'pending'")->ltype = lm_xstrdup("string(20)");
    pk(o, "id");
    fk(o, NULL, "user_id", "users", "id");
  }
  lm_schema_sort(s);
  return s;
}

/* The same as PostgreSQL's catalog reads it. */
static lm_schema *pg_database(int with_orders) {
  lm_schema *s = lm_schema_new();
  lm_schema_table *u = lm_schema_add_table(s, "users");
  col(u, "id", "serial", 1, NULL);
  col(u, "email", "character varying(255)", 1, NULL);
  col(u, "active", "boolean", 1, "true");
  pk(u, "id");
  if (with_orders) {
    lm_schema_table *o = lm_schema_add_table(s, "orders");
    col(o, "id", "serial", 1, NULL);
    col(o, "user_id", "integer", 1, NULL);
    col(o, "status", "character varying(20)", 1, "'pending'::character varying");
    pk(o, "id");
    fk(o, "orders_user_id_fkey", "user_id", "users", "id");
  }
  lm_schema_sort(s);
  return s;
}

static void test_equal_schemas(void **state) {
  (void)state;
  lm_schema *m = model(1), *db = pg_database(1);
  lm_diff diff;
  assert_int_equal(lm_compare(&lm_dialect_postgresql, m, db, &diff), 0);
  for (int i = 0; i < diff.n; i++)
    print_message("unexpected: %s\n", diff.v[i].what);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_added_table_order(void **state) {
  (void)state;
  lm_schema *m = model(1), *empty = lm_schema_new();
  lm_schema_table *ot = lm_schema_find_table(m, "orders");
  lm_schema_item_add_col(lm_schema_add_index(ot, "ix_orders_status", ""), "status", 0);
  lm_schema_item_add_col(lm_schema_add_index(ot, "ix_orders_user", ""), "user_id", 0);
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, empty, &diff);
  assert_int_equal(diff.n, 2);
  /* users is referenced by orders: created first */
  assert_string_equal(diff.v[0].what, "added table 'users'");
  assert_string_equal(diff.v[1].what, "added table 'orders'");
  char *fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.create_table(\"orders\""));
  assert_non_null(strstr(fns, "op.foreign_key({ \"user_id\" }, { \"users.id\" }"));
  /* downgrade drops orders before users */
  const char *d = strstr(fns, "function downgrade()");
  assert_non_null(d);
  assert_true(strstr(d, "op.drop_table(\"orders\")") < strstr(d, "op.drop_table(\"users\")"));
  /* as Alembic writes it: the table's indexes dropped, last first, before it */
  const char *dx1 = strstr(d, "op.drop_index(\"ix_orders_user\", { table_name = \"orders\" })");
  const char *dx2 = strstr(d, "op.drop_index(\"ix_orders_status\", { table_name = \"orders\" })");
  assert_non_null(dx1);
  assert_non_null(dx2);
  assert_true(dx1 < dx2 && dx2 < strstr(d, "op.drop_table(\"orders\")"));
  free(fns);
  lm_diff_free(&diff);
  /* and the other way: dropped, referencing table first, its indexes before
   * it; the downgrade makes them again after it */
  lm_compare(&lm_dialect_postgresql, empty, m, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed table 'orders'");
  assert_string_equal(diff.v[1].what, "removed table 'users'");
  fns = lm_lua_write_functions(&diff);
  d = strstr(fns, "function downgrade()");
  dx1 = strstr(fns, "op.drop_index(\"ix_orders_user\", { table_name = \"orders\" })");
  dx2 = strstr(fns, "op.drop_index(\"ix_orders_status\", { table_name = \"orders\" })");
  assert_non_null(dx1);
  assert_non_null(dx2);
  assert_true(dx1 < dx2 && dx2 < strstr(fns, "op.drop_table(\"orders\")"));
  assert_true(strstr(d, "op.create_table(\"orders\"") <
              strstr(d, "op.create_index(\"ix_orders_status\""));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(empty);
}

static void test_column_changes(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_table *u = lm_schema_find_table(m, "users");
  free(u->cols[1].type);
  u->cols[1].type = lm_xstrdup("VARCHAR(320)");
  free(u->cols[1].ltype);
  u->cols[1].ltype = lm_xstrdup("string(320)");
  u->cols[2].notnull = 0;
  col(u, "nickname", "VARCHAR(50)", 0, NULL)->ltype = lm_xstrdup("string(50)");
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 3);
  assert_string_equal(diff.v[0].what,
                      "type change from character varying(255) to VARCHAR(320) on 'users.email'");
  assert_string_equal(diff.v[1].what, "NULL on column 'users.active'");
  assert_string_equal(diff.v[2].what, "added column 'users.nickname'");
  char *fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.alter_column(\"users\", \"email\", { type = \"string(320)\", "
                              "existing_type = \"string(255)\""));
  assert_non_null(strstr(fns, "op.add_column(\"users\", op.column(\"nickname\", \"string(50)\"))"));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_renames(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_table *u = lm_schema_find_table(m, "users");
  free(u->cols[1].name);
  u->cols[1].name = lm_xstrdup("mail");
  /* without renamed_from: a drop and an add, with the comment */
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed column 'users.email'");
  assert_non_null(diff.v[0].comment);
  assert_non_null(strstr(diff.v[0].comment, "possible rename of users.email -> users.mail: add "
                                            "renamed_from = \"email\" to the model"));
  assert_string_equal(diff.v[1].what, "added column 'users.mail'");
  lm_diff_free(&diff);
  /* with it: a rename */
  u->cols[1].renamed_from = lm_xstrdup("email");
  free(u->name);
  u->name = lm_xstrdup("members");
  u->renamed_from = lm_xstrdup("users");
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "renamed table 'users' -> 'members'");
  assert_string_equal(diff.v[1].what, "renamed column 'members.email' -> 'members.mail'");
  char *fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.rename_table(\"users\", \"members\")"));
  assert_non_null(strstr(fns, "op.alter_column(\"members\", \"email\", { new_column_name = "
                              "\"mail\" })"));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

/* An index's access method counts: another method is the index dropped and
 * made again; btree is the default, in any case. */
static void test_index_method(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_item *w = lm_schema_add_index(lm_schema_find_table(m, "users"), "ix_users_email", "");
  lm_schema_item_add_col(w, "email", 0);
  w->method = lm_xstrdup("gin");
  lm_schema_item *h = lm_schema_add_index(lm_schema_find_table(db, "users"), "ix_users_email", "");
  lm_schema_item_add_col(h, "email", 0);
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed index 'ix_users_email'");
  assert_string_equal(diff.v[1].what, "added index 'ix_users_email'");
  char *fns = lm_lua_write_functions(&diff);
  const char *d = strstr(fns, "function downgrade()");
  const char *made = strstr(fns, "op.create_index(\"ix_users_email\", \"users\", { \"email\" }, "
                                 "{ postgresql_using = \"gin\" })");
  assert_non_null(made);
  assert_true(made < d);
  assert_non_null(strstr(d, "op.create_index(\"ix_users_email\", \"users\", { \"email\" })\n"));
  free(fns);
  lm_diff_free(&diff);
  /* the same method, however spelled: nothing */
  free(h->method);
  h->method = lm_xstrdup("gin");
  free(w->method);
  w->method = lm_xstrdup("GIN");
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

/* A covering index's INCLUDE columns count, in order: others are the index
 * dropped and made again, written with postgresql_include both ways. */
static void test_index_include(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_item *w = lm_schema_add_index(lm_schema_find_table(m, "users"), "ix_users_email", "");
  lm_schema_item_add_col(w, "email", 0);
  const char *wi[] = {"name", "id"};
  lm_schema_item_set_include(w, wi, 2);
  lm_schema_item *h = lm_schema_add_index(lm_schema_find_table(db, "users"), "ix_users_email", "");
  lm_schema_item_add_col(h, "email", 0);
  const char *hi[] = {"id", "name"};
  lm_schema_item_set_include(h, hi, 2);
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed index 'ix_users_email'");
  assert_string_equal(diff.v[1].what, "added index 'ix_users_email'");
  char *fns = lm_lua_write_functions(&diff);
  const char *d = strstr(fns, "function downgrade()");
  const char *made = strstr(fns, "op.create_index(\"ix_users_email\", \"users\", { \"email\" }, "
                                 "{ postgresql_include = { \"name\", \"id\" } })");
  assert_non_null(made);
  assert_true(made < d);
  assert_non_null(strstr(d, "op.create_index(\"ix_users_email\", \"users\", { \"email\" }, "
                            "{ postgresql_include = { \"id\", \"name\" } })"));
  free(fns);
  lm_diff_free(&diff);
  /* none against some: a difference; the same list: nothing */
  lm_schema_item_set_include(h, NULL, 0);
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  lm_diff_free(&diff);
  lm_schema_item_set_include(h, wi, 2);
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

/* A constraint or index goes with its columns and table through a rename:
 * the model's, in the new names, is the database's. */
static void test_renames_carry_constraints(void **state) {
  (void)state;
  lm_schema *m = model(1), *db = pg_database(1);
  lm_schema_item *ix = lm_schema_add_index(lm_schema_find_table(db, "users"), "ix_users_email", "");
  lm_schema_item_add_col(ix, "email", 0);
  lm_schema_table *u = lm_schema_find_table(m, "users");
  free(u->name);
  u->name = lm_xstrdup("members");
  u->renamed_from = lm_xstrdup("users");
  free(u->cols[1].name);
  u->cols[1].name = lm_xstrdup("mail");
  u->cols[1].renamed_from = lm_xstrdup("email");
  ix = lm_schema_add_index(u, "ix_users_email", "");
  lm_schema_item_add_col(ix, "mail", 0);
  lm_schema_table *o = lm_schema_find_table(m, "orders");
  lm_schema_item *k = &o->constraints.v[1];
  assert_int_equal(k->kind, LM_SCON_FK);
  free(k->ref_table);
  k->ref_table = lm_xstrdup("members");
  lm_schema_sort(m);
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  for (int i = 0; i < diff.n; i++)
    print_message("found: %s\n", diff.v[i].what);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "renamed table 'users' -> 'members'");
  assert_string_equal(diff.v[1].what, "renamed column 'members.email' -> 'members.mail'");
  lm_diff_free(&diff);
  /* the foreign key changes too: the downgrade makes the old one again
   * while its table still has the new name */
  k->ondelete = lm_xstrdup("CASCADE");
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 4);
  char *fns = lm_lua_write_functions(&diff);
  const char *d = strstr(fns, "function downgrade()");
  assert_non_null(d);
  const char *mk =
      strstr(d, "op.create_foreign_key(\"orders_user_id_fkey\", \"orders\", \"members\"");
  const char *back = strstr(d, "op.rename_table(\"members\", \"users\")");
  if (!mk || !back || mk > back) fail_msg("downgrade:\n%s", d);
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_constraints_by_content(void **state) {
  (void)state;
  lm_schema *m = model(1), *db = pg_database(1);
  /* an action on the model's unnamed foreign key: the database's must go */
  lm_schema_table *o = lm_schema_find_table(m, "orders");
  for (int i = 0; i < o->constraints.n; i++)
    if (o->constraints.v[i].kind == LM_SCON_FK)
      o->constraints.v[i].ondelete = lm_xstrdup("CASCADE");
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed foreign key 'orders_user_id_fkey' on 'orders'");
  assert_string_equal(diff.v[1].what, "added foreign key on 'orders' (user_id) -> users (id)");
  char *fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.drop_constraint(\"orders_user_id_fkey\", \"orders\", { type_ = "
                              "\"foreignkey\" })"));
  assert_non_null(strstr(fns,
                         "op.create_foreign_key(\"fk_orders_user_id_users\", \"orders\", "
                         "\"users\", { \"user_id\" }, { \"id\" }, { ondelete = \"CASCADE\" })"));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void named_check(lm_schema_table *t, const char *name, const char *expr) {
  lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_CHECK, name, "");
  it->expr = lm_xstrdup(expr);
}

/* A named CHECK whose text differs: a change where the catalog keeps the
 * text (SQLite) or where the database rewrote the model's (expr_db); on
 * PostgreSQL without expr_db the texts are not comparable (IN against
 * = ANY (ARRAY[...])): compared by name. */
static void test_named_checks(void **state) {
  (void)state;
  lm_schema *m = model(1), *db = pg_database(1);
  named_check(lm_schema_find_table(m, "orders"), "ck_status", "status IN ('a','b','c')");
  named_check(lm_schema_find_table(db, "orders"), "ck_status",
              "((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character "
              "varying])::text[]))");
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);

  lm_schema_item *w = &lm_schema_find_table(m, "orders")->constraints.v[2];
  assert_string_equal(w->name, "ck_status");
  w->expr_db = lm_xstrdup("((status)::text = ANY ((ARRAY['a'::character varying, 'b'::character "
                          "varying, 'c'::character varying])::text[]))");
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "removed check constraint 'ck_status' on 'orders'");
  assert_string_equal(diff.v[1].what, "added check constraint 'ck_status' on 'orders'");
  char *fns = lm_lua_write_functions(&diff); /* the model's text, not the rewrite */
  assert_non_null(strstr(fns, "\"status IN ('a','b','c')\""));
  free(fns);
  lm_diff_free(&diff);

  /* the same rewrite as the database's: no change */
  free(w->expr_db);
  w->expr_db = lm_xstrdup(lm_schema_find_table(db, "orders")->constraints.v[2].expr);
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);

  /* SQLite keeps the text: compared as written */
  m = model(0);
  db = model(0);
  named_check(lm_schema_find_table(m, "users"), "ck_email", "length(email) > 3");
  named_check(lm_schema_find_table(db, "users"), "ck_email", "length(email)  >  3");
  lm_compare(&lm_dialect_sqlite, m, db, &diff);
  assert_int_equal(diff.n, 0);
  lm_diff_free(&diff);
  free(lm_schema_find_table(m, "users")->constraints.v[1].expr);
  lm_schema_find_table(m, "users")->constraints.v[1].expr = lm_xstrdup("length(email) > 5");
  lm_compare(&lm_dialect_sqlite, m, db, &diff);
  assert_int_equal(diff.n, 2);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_indexes(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_item *ix = lm_schema_add_index(lm_schema_find_table(m, "users"), "ix_active", "");
  lm_schema_item_add_col(ix, "email", 0);
  ix->expr = lm_xstrdup("active");
  ix = lm_schema_add_index(lm_schema_find_table(db, "users"), "ix_active", "");
  lm_schema_item_add_col(ix, "email", 0);
  ix->expr = lm_xstrdup("active");
  ix = lm_schema_add_index(lm_schema_find_table(db, "users"), "ix_tmp", "");
  lm_schema_item_add_col(ix, "email", 1);
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 1);
  assert_string_equal(diff.v[0].what, "removed index 'ix_tmp'");
  assert_int_equal(diff.v[0].change, LM_CH_REMOVED);
  char *fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.drop_index(\"ix_tmp\", { table_name = \"users\" })"));
  /* a descending column is SQL: "email DESC" would be one quoted name */
  assert_non_null(
      strstr(fns, "op.create_index(\"ix_tmp\", \"users\", { op.sql(\"email DESC\") })"));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

/* alter_column reads server_default = false as "drop the default": the
 * literal false is written so that it cannot be read that way. */
/* A single integer key is compared by the type the dialect gives a key it
 * numbers itself: on SQLite the rowid's INTEGER. */
static void test_integer_key_types(void **state) {
  (void)state;
  lm_schema *m = lm_schema_new(), *db = lm_schema_new();
  lm_schema_table *t = lm_schema_add_table(m, "a");
  col(t, "id", "BIGINT", 1, NULL)->ltype = lm_xstrdup("bigint");
  col(t, "n", "BIGINT", 0, NULL)->ltype = lm_xstrdup("bigint");
  pk(t, "id");
  t = lm_schema_add_table(db, "a");
  col(t, "id", "INTEGER", 1, NULL);
  col(t, "n", "INTEGER", 0, NULL);
  pk(t, "id");
  lm_diff diff;
  lm_compare(&lm_dialect_sqlite, m, db, &diff);
  assert_int_equal(diff.n, 1); /* n: not a key */
  assert_string_equal(diff.v[0].what, "type change from INTEGER to BIGINT on 'a.n'");
  lm_diff_free(&diff);
  /* PostgreSQL's bigserial is a bigint: the width counts */
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 2);
  assert_string_equal(diff.v[0].what, "type change from INTEGER to BIGINT on 'a.id'");
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

/* A primary key's columns are NOT NULL in the model's meaning, whatever
 * SQLite's catalog says of `id INTEGER PRIMARY KEY` or PRIMARY KEY (a, b). */
static void test_key_columns_not_null(void **state) {
  (void)state;
  lm_schema *m = lm_schema_new(), *db = lm_schema_new();
  lm_schema_table *t = lm_schema_add_table(m, "link");
  col(t, "a", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
  col(t, "b", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
  col(t, "c", "INTEGER", 1, NULL)->ltype = lm_xstrdup("integer");
  lm_schema_item *k = lm_schema_add_constraint(t, LM_SCON_PK, NULL, "");
  lm_schema_item_add_col(k, "a", 0);
  lm_schema_item_add_col(k, "b", 0);
  t = lm_schema_add_table(db, "link");
  col(t, "a", "INTEGER", 0, NULL);
  col(t, "b", "INTEGER", 0, NULL);
  col(t, "c", "INTEGER", 0, NULL);
  k = lm_schema_add_constraint(t, LM_SCON_PK, NULL, "");
  lm_schema_item_add_col(k, "a", 0);
  lm_schema_item_add_col(k, "b", 0);
  lm_diff diff;
  lm_compare(&lm_dialect_sqlite, m, db, &diff);
  assert_int_equal(diff.n, 1); /* c: not a key column */
  assert_string_equal(diff.v[0].what, "NOT NULL on column 'link.c'");
  lm_diff_free(&diff);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_false_default(void **state) {
  (void)state;
  lm_schema *m = model(0), *db = pg_database(0);
  lm_schema_table *u = lm_schema_find_table(m, "users");
  free(u->cols[2].def);
  u->cols[2].def = lm_xstrdup("FALSE");
  lm_diff diff;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 1);
  assert_string_equal(diff.v[0].what, "changed server default on column 'users.active'");
  char *fns = lm_lua_write_functions(&diff);
  const char *d = strstr(fns, "function downgrade()");
  assert_non_null(d);
  const char *want = "op.alter_column(\"users\", \"active\", { server_default = op.sql(\"false\")";
  const char *at = strstr(fns, want);
  if (!at || at > d) fail_msg("upgrade:\n%s", fns);
  assert_non_null(strstr(d, "{ server_default = true,"));
  free(fns);
  lm_diff_free(&diff);
  /* from no default: the downgrade drops it */
  free(lm_schema_find_table(db, "users")->cols[2].def);
  lm_schema_find_table(db, "users")->cols[2].def = NULL;
  lm_compare(&lm_dialect_postgresql, m, db, &diff);
  assert_int_equal(diff.n, 1);
  fns = lm_lua_write_functions(&diff);
  d = strstr(fns, "function downgrade()");
  assert_non_null(strstr(fns, want));
  assert_non_null(strstr(d, "{ server_default = false,"));
  free(fns);
  lm_diff_free(&diff);
  /* in a column (create_table, add_column) false is the literal */
  lm_schema *empty = lm_schema_new();
  lm_compare(&lm_dialect_postgresql, m, empty, &diff);
  fns = lm_lua_write_functions(&diff);
  assert_non_null(strstr(fns, "op.column(\"active\", \"boolean\", { nullable = false, "
                              "server_default = false })"));
  free(fns);
  lm_diff_free(&diff);
  lm_schema_free(empty);
  lm_schema_free(m);
  lm_schema_free(db);
}

static void test_model_writer(void **state) {
  (void)state;
  lm_schema *db = pg_database(1);
  char *text = lm_lua_write_model(&lm_dialect_postgresql, db);
  assert_non_null(strstr(text, "table(\"users\",\n  column(\"id\", \"integer\", { primary_key = "
                               "true }),"));
  assert_non_null(strstr(text, "column(\"active\", \"boolean\", { nullable = false, "
                               "server_default = true })"));
  assert_non_null(strstr(text, "column(\"status\", \"string(20)\", { nullable = false, "
                               "server_default = \"pending\" })"));
  assert_non_null(strstr(text, "foreign_key({ \"user_id\" }, { \"users.id\" }, { name = "
                               "\"orders_user_id_fkey\" })"));
  assert_null(strstr(text, "op."));
  free(text);
  lm_schema_free(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_expressions),
      cmocka_unit_test(test_rename_in_expressions),
      cmocka_unit_test(test_index_entries),
      cmocka_unit_test(test_equal_schemas),
      cmocka_unit_test(test_added_table_order),
      cmocka_unit_test(test_column_changes),
      cmocka_unit_test(test_renames),
      cmocka_unit_test(test_renames_carry_constraints),
      cmocka_unit_test(test_index_method),
      cmocka_unit_test(test_index_include),
      cmocka_unit_test(test_constraints_by_content),
      cmocka_unit_test(test_named_checks),
      cmocka_unit_test(test_indexes),
      cmocka_unit_test(test_integer_key_types),
      cmocka_unit_test(test_key_columns_not_null),
      cmocka_unit_test(test_false_default),
      cmocka_unit_test(test_model_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
