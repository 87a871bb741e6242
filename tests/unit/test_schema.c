/* The schema model (engine/schema.c): rendering and the structured diff on
 * hand-made models, and SQLite introspection (engine/schema_introspect.c)
 * against a real temporary file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "schema.h"

/* users(id, name, email) with a primary key, a unique constraint, an index. */
static lm_schema *users_model(int reversed) {
  lm_schema *s = lm_schema_new();
  if (reversed) lm_schema_add_table(s, "zeta");
  lm_schema_table *t = lm_schema_add_table(s, "users");
  lm_schema_add_column(t, "id", "integer", 1, NULL);
  lm_schema_add_column(t, "name", "character varying(50)", 1, "'x'::character varying");
  lm_schema_add_column(t, "email", "text", 0, NULL);
  if (reversed) {
    lm_schema_add_index(t, "ix_users_name", "CREATE INDEX ix_users_name ON users (name)");
    lm_schema_add_index(t, "ix_users_email", "CREATE INDEX ix_users_email ON users (email)");
    lm_schema_add_constraint(t, LM_SCON_UNIQUE, "users_email_key", "UNIQUE (email)");
    lm_schema_add_constraint(t, LM_SCON_PK, "users_pkey", "PRIMARY KEY (id)");
  } else {
    lm_schema_add_constraint(t, LM_SCON_PK, "users_pkey", "PRIMARY KEY (id)");
    lm_schema_add_constraint(t, LM_SCON_UNIQUE, "users_email_key", "UNIQUE (email)");
    lm_schema_add_index(t, "ix_users_email", "CREATE INDEX ix_users_email ON users (email)");
    lm_schema_add_index(t, "ix_users_name", "CREATE INDEX ix_users_name ON users (name)");
    lm_schema_add_table(s, "zeta");
  }
  lm_schema_sort(s);
  return s;
}

static char *render(const lm_schema *s) {
  lm_buf b;
  lm_buf_init(&b);
  lm_schema_render(s, &b);
  return lm_buf_steal(&b);
}

static char *diff(const lm_schema *a, const lm_schema *b) {
  char *what = NULL;
  int r = lm_schema_diff(a, b, "after downgrade", "before the upgrade", &what);
  assert_int_equal(r, what != NULL);
  return what;
}

static void test_render_is_canonical(void **state) {
  (void)state;
  lm_schema *a = users_model(0), *b = users_model(1);
  char *ra = render(a), *rb = render(b);
  assert_string_equal(ra, rb);
  assert_string_equal(ra, "CREATE TABLE \"users\" (\n"
                          "  \"id\" integer NOT NULL,\n"
                          "  \"name\" character varying(50) NOT NULL DEFAULT 'x'::character "
                          "varying,\n"
                          "  \"email\" text,\n"
                          "  CONSTRAINT \"users_pkey\" PRIMARY KEY (id),\n"
                          "  CONSTRAINT \"users_email_key\" UNIQUE (email)\n"
                          ");\n"
                          "CREATE INDEX ix_users_email ON users (email);\n"
                          "CREATE INDEX ix_users_name ON users (name);\n"
                          "\n"
                          "CREATE TABLE \"zeta\" ();\n");
  free(ra);
  free(rb);
  lm_schema_free(a);
  lm_schema_free(b);
}

static void test_render_empty_and_comments(void **state) {
  (void)state;
  lm_schema *s = lm_schema_new();
  char *r = render(s);
  assert_string_equal(r, "-- the schema is empty\n");
  free(r);
  lm_schema_table *t = lm_schema_add_table(s, "t");
  lm_schema_column *c = lm_schema_add_column(t, "bio", "text", 0, NULL);
  c->comment = lm_xstrdup("it's free");
  lm_schema_add_object(s, LM_SOBJ_VIEW, "v", "CREATE VIEW \"v\" AS SELECT 1");
  r = render(s);
  assert_string_equal(r, "CREATE TABLE \"t\" (\n  \"bio\" text\n);\n"
                         "COMMENT ON COLUMN \"t\".\"bio\" IS 'it''s free';\n"
                         "\nCREATE VIEW \"v\" AS SELECT 1;\n");
  free(r);
  lm_schema_free(s);
}

static void test_diff_equal(void **state) {
  (void)state;
  lm_schema *a = users_model(0), *b = users_model(1);
  assert_null(diff(a, b));
  lm_schema_free(a);
  lm_schema_free(b);
}

static void test_diff_tables(void **state) {
  (void)state;
  lm_schema *a = users_model(0), *b = users_model(0);
  lm_schema_add_table(b, "leftover");
  char *w = diff(a, b);
  assert_string_equal(w, "table leftover is present after downgrade but not before the upgrade");
  free(w);
  w = diff(b, a);
  assert_string_equal(w,
                      "table leftover is missing after downgrade (it exists before the upgrade)");
  free(w);
  lm_schema_free(a);
  lm_schema_free(b);
}

static void test_diff_columns(void **state) {
  (void)state;
  lm_schema *a = users_model(0), *b = users_model(0);
  lm_schema_add_column(lm_schema_find_table(b, "users"), "phone_number", "text", 0, NULL);
  char *w = diff(a, b);
  assert_string_equal(w, "table users: column phone_number is present after downgrade but not "
                         "before the upgrade");
  free(w);
  w = diff(b, a);
  assert_string_equal(w, "table users: column phone_number is missing after downgrade (it exists "
                         "before the upgrade)");
  free(w);
  lm_schema_free(b);

  /* a column that changed: both definitions are shown */
  b = users_model(0);
  lm_schema_table *t = lm_schema_find_table(b, "users");
  t->cols[2].notnull = 1;
  w = diff(a, b);
  assert_non_null(w);
  assert_string_equal(w, "table users: column email differs after downgrade: \"email\" text NOT "
                         "NULL; before the upgrade: \"email\" text");
  free(w);
  lm_schema_free(b);

  /* a default that changed */
  b = users_model(0);
  t = lm_schema_find_table(b, "users");
  free(t->cols[1].def);
  t->cols[1].def = NULL;
  w = diff(a, b);
  assert_non_null(strstr(w, "column name differs"));
  free(w);
  lm_schema_free(b);
  lm_schema_free(a);
}

static void test_diff_ignores_column_order(void **state) {
  (void)state;
  lm_schema *a = lm_schema_new(), *b = lm_schema_new();
  lm_schema_table *ta = lm_schema_add_table(a, "t"), *tb = lm_schema_add_table(b, "t");
  lm_schema_add_column(ta, "a", "int", 0, NULL);
  lm_schema_add_column(ta, "b", "int", 0, NULL);
  lm_schema_add_column(tb, "b", "int", 0, NULL);
  lm_schema_add_column(tb, "a", "int", 0, NULL);
  assert_null(diff(a, b));
  lm_schema_free(a);
  lm_schema_free(b);
}

static void test_diff_constraints_and_indexes(void **state) {
  (void)state;
  lm_schema *a = users_model(0), *b = users_model(0);
  lm_schema_table *t = lm_schema_find_table(b, "users");
  free(t->indexes.v[1].def);
  t->indexes.v[1].def = lm_xstrdup("CREATE UNIQUE INDEX ix_users_name ON users (name)");
  char *w = diff(a, b);
  assert_string_equal(w, "table users: index ix_users_name differs after downgrade: CREATE UNIQUE "
                         "INDEX ix_users_name ON users (name); before the upgrade: CREATE INDEX "
                         "ix_users_name ON users (name)");
  free(w);
  lm_schema_free(b);

  b = users_model(0);
  t = lm_schema_find_table(b, "users");
  lm_schema_add_index(t, "ix_extra", "CREATE INDEX ix_extra ON users (id)");
  lm_schema_sort(b);
  w = diff(a, b);
  assert_string_equal(
      w, "table users: index ix_extra is present after downgrade but not before the upgrade");
  free(w);
  lm_schema_free(b);

  b = users_model(0);
  t = lm_schema_find_table(b, "users");
  free(t->constraints.v[1].def);
  t->constraints.v[1].def = lm_xstrdup("UNIQUE (email, name)");
  w = diff(a, b);
  assert_non_null(w);
  assert_non_null(strstr(w,
                         "table users: constraint users_email_key (unique constraint) differs "
                         "after downgrade: CONSTRAINT \"users_email_key\" UNIQUE (email, name)"));
  free(w);
  lm_schema_free(b);
  lm_schema_free(a);
}

static void test_diff_unnamed_constraints(void **state) {
  (void)state;
  lm_schema *a = lm_schema_new(), *b = lm_schema_new();
  lm_schema_table *ta = lm_schema_add_table(a, "t"), *tb = lm_schema_add_table(b, "t");
  lm_schema_add_constraint(ta, LM_SCON_CHECK, NULL, "CHECK (a > 0)");
  lm_schema_add_constraint(ta, LM_SCON_UNIQUE, NULL, "UNIQUE (\"a\")");
  lm_schema_add_constraint(tb, LM_SCON_UNIQUE, NULL, "UNIQUE (\"a\")");
  lm_schema_add_constraint(tb, LM_SCON_CHECK, NULL, "CHECK (a > 0)");
  lm_schema_sort(a);
  lm_schema_sort(b);
  assert_null(diff(a, b));
  lm_schema_add_constraint(tb, LM_SCON_CHECK, NULL, "CHECK (a < 9)");
  char *w = diff(a, b);
  assert_string_equal(w, "table t: constraint CHECK (a < 9) is present after downgrade but not "
                         "before the upgrade");
  free(w);
  lm_schema_free(a);
  lm_schema_free(b);
}

static void test_diff_first_difference_and_labels(void **state) {
  (void)state;
  lm_schema *a = lm_schema_new(), *b = lm_schema_new();
  lm_schema_add_table(a, "b_table");
  lm_schema_add_table(b, "c_table");
  lm_schema_add_table(b, "a_table");
  lm_schema_add_table(b, "b_table");
  char *what = NULL;
  /* a_table comes first by name, whatever the insertion order */
  assert_int_equal(lm_schema_diff(a, b, NULL, NULL, &what), 1);
  assert_string_equal(what, "table a_table is present in the second schema but not in the first");
  free(what);
  lm_schema_add_object(a, LM_SOBJ_SEQUENCE, "s", "CREATE SEQUENCE \"s\"");
  lm_schema_add_table(a, "a_table");
  lm_schema_add_table(a, "c_table");
  assert_int_equal(lm_schema_diff(a, b, NULL, NULL, &what), 1);
  assert_string_equal(what, "sequence s is missing in the second schema (it exists in the first)");
  free(what);
  lm_schema_free(a);
  lm_schema_free(b);
}

/* ---- SQLite introspection --------------------------------------------------------------- */

typedef struct fixture {
  char path[64];
  lm_conn *conn;
} fixture;

static const lm_dialect *D = &lm_dialect_sqlite;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->path, "/tmp/luamig_test_schema_XXXXXX");
  int fd = mkstemp(f->path);
  if (fd < 0) return -1;
  close(fd);
  lm_url u = {0};
  u.dialect = "sqlite";
  u.path = f->path;
  if (D->open(&f->conn, &u)) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  D->close(f->conn);
  unlink(f->path);
  free(f);
  lm_error_clear();
  return 0;
}

static void exec_sql(lm_conn *c, const char *sql) {
  lm_stmt s = {(char *)sql, NULL, 0};
  assert_int_equal(D->exec(c, &s), 0);
}

static char *read_render(lm_conn *c) {
  lm_schema *s = NULL;
  assert_int_equal(lm_schema_read(D, c, NULL, "luamig_version", &s), 0);
  char *r = render(s);
  lm_schema_free(s);
  return r;
}

static const char USERS_POSTS[] =
    "CREATE TABLE luamig_version (revision TEXT PRIMARY KEY);"
    "CREATE TABLE \"users\" (\"id\" INTEGER NOT NULL PRIMARY KEY, \"name\" varchar (50) NOT NULL,"
    " \"email\" VARCHAR(120) UNIQUE, \"status\" VARCHAR(20) DEFAULT ('pending'),"
    " CONSTRAINT \"ck_name\" CHECK (length(name)   > 0));"
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL"
    " CONSTRAINT fk_posts_user REFERENCES users (id) ON DELETE CASCADE, title TEXT,"
    " CHECK (title <> ''), CONSTRAINT uq_posts UNIQUE (user_id, title));"
    "CREATE INDEX ix_posts_title ON posts (title DESC) WHERE title IS NOT NULL;"
    "CREATE UNIQUE INDEX ux_users_lower ON users (lower(email), name);"
    "CREATE TRIGGER trg_users AFTER INSERT ON users BEGIN\n  SELECT 1;\nEND;"
    "CREATE VIEW v_users AS SELECT id FROM users;";

static void test_sqlite_read(void **state) {
  fixture *f = *state;
  exec_sql(f->conn, USERS_POSTS);
  char *r = read_render(f->conn);
  assert_string_equal(
      r, "CREATE TABLE \"posts\" (\n"
         "  \"id\" INTEGER,\n"
         "  \"user_id\" INTEGER NOT NULL,\n"
         "  \"title\" TEXT,\n"
         "  PRIMARY KEY (\"id\"),\n"
         "  CONSTRAINT \"uq_posts\" UNIQUE (\"user_id\", \"title\"),\n"
         "  CONSTRAINT \"fk_posts_user\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") "
         "ON DELETE CASCADE,\n"
         "  CHECK (title <> '')\n"
         ");\n"
         "CREATE INDEX \"ix_posts_title\" ON \"posts\" (\"title\" DESC) WHERE title IS NOT NULL;\n"
         "\n"
         "CREATE TABLE \"users\" (\n"
         "  \"id\" INTEGER NOT NULL,\n"
         "  \"name\" VARCHAR(50) NOT NULL,\n"
         "  \"email\" VARCHAR(120),\n"
         "  \"status\" VARCHAR(20) DEFAULT 'pending',\n"
         "  PRIMARY KEY (\"id\"),\n"
         "  UNIQUE (\"email\"),\n"
         "  CONSTRAINT \"ck_name\" CHECK (length(name) > 0)\n"
         ");\n"
         "CREATE UNIQUE INDEX \"ux_users_lower\" ON \"users\" (lower(email), \"name\");\n"
         "CREATE TRIGGER trg_users AFTER INSERT ON users BEGIN SELECT 1; END;\n"
         "\n"
         "CREATE VIEW v_users AS SELECT id FROM users;\n");
  free(r);
}

/* The same schema written differently (a table rebuilt by move-and-copy
 * gets new text) reads the same. */
static void test_sqlite_spelling_does_not_matter(void **state) {
  fixture *f = *state;
  exec_sql(f->conn, USERS_POSTS);
  lm_schema *a = NULL, *b = NULL;
  assert_int_equal(lm_schema_read(D, f->conn, NULL, "luamig_version", &a), 0);
  exec_sql(f->conn,
           "PRAGMA foreign_keys = OFF; DROP VIEW v_users;"
           "CREATE TABLE users_new (id integer not null, name VARCHAR(50) not null,"
           " email varchar(120), status varchar(20) default 'pending',"
           " primary key (id), unique (email), constraint ck_name check (length(name) > 0));"
           "INSERT INTO users_new SELECT * FROM users; DROP TABLE users;"
           "ALTER TABLE users_new RENAME TO users;"
           "CREATE UNIQUE INDEX ux_users_lower ON users (lower(email), name);"
           "CREATE TRIGGER trg_users AFTER INSERT ON users BEGIN SELECT 1; END;"
           "CREATE VIEW v_users AS SELECT id FROM users;");
  assert_int_equal(lm_schema_read(D, f->conn, NULL, "luamig_version", &b), 0);
  char *w = diff(a, b);
  assert_null(w);
  /* and a leaky change is seen */
  exec_sql(f->conn, "CREATE INDEX ix_leak ON users (name)");
  lm_schema_free(b);
  assert_int_equal(lm_schema_read(D, f->conn, NULL, "luamig_version", &b), 0);
  w = diff(a, b);
  assert_string_equal(
      w, "table users: index ix_leak is present after downgrade but not before the upgrade");
  free(w);
  lm_schema_free(a);
  lm_schema_free(b);
}

/* Foreign keys on one column, told apart by their actions and targets:
 * each keeps the name written on it (foreign_key_list reports them
 * unnamed, the last written first). */
static void test_sqlite_foreign_keys_on_one_column(void **state) {
  fixture *f = *state;
  exec_sql(f->conn,
           "CREATE TABLE users (id INTEGER PRIMARY KEY, alt INT UNIQUE);"
           "CREATE TABLE members (id INTEGER PRIMARY KEY,"
           " user_id INT CONSTRAINT fk_col REFERENCES users ON DELETE SET NULL,"
           " CONSTRAINT fk_m_user FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,"
           " CONSTRAINT fk_m_user2 FOREIGN KEY (user_id) REFERENCES users(id),"
           " FOREIGN KEY (user_id) REFERENCES users(alt) ON UPDATE CASCADE,"
           " CONSTRAINT fk_alt FOREIGN KEY (\"USER_ID\") REFERENCES Users(ALT) on update cascade)");
  char *r = read_render(f->conn);
  assert_string_equal(
      r,
      "CREATE TABLE \"members\" (\n"
      "  \"id\" INTEGER,\n"
      "  \"user_id\" INT,\n"
      "  PRIMARY KEY (\"id\"),\n"
      "  FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"alt\") ON UPDATE CASCADE,\n"
      "  CONSTRAINT \"fk_alt\" FOREIGN KEY (\"user_id\") REFERENCES \"Users\" (\"ALT\") ON UPDATE "
      "CASCADE,\n"
      "  CONSTRAINT \"fk_col\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" ON DELETE SET NULL,\n"
      "  CONSTRAINT \"fk_m_user\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\") ON "
      "DELETE "
      "CASCADE,\n"
      "  CONSTRAINT \"fk_m_user2\" FOREIGN KEY (\"user_id\") REFERENCES \"users\" (\"id\")\n"
      ");\n"
      "\n"
      "CREATE TABLE \"users\" (\n"
      "  \"id\" INTEGER,\n"
      "  \"alt\" INT,\n"
      "  PRIMARY KEY (\"id\"),\n"
      "  UNIQUE (\"alt\")\n"
      ");\n");
  free(r);
}

static void test_sqlite_version_table_left_out(void **state) {
  fixture *f = *state;
  exec_sql(f->conn, "CREATE TABLE luamig_version (revision TEXT PRIMARY KEY)");
  char *r = read_render(f->conn);
  assert_string_equal(r, "-- the schema is empty\n");
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render_is_canonical),
      cmocka_unit_test(test_render_empty_and_comments),
      cmocka_unit_test(test_diff_equal),
      cmocka_unit_test(test_diff_tables),
      cmocka_unit_test(test_diff_columns),
      cmocka_unit_test(test_diff_ignores_column_order),
      cmocka_unit_test(test_diff_constraints_and_indexes),
      cmocka_unit_test(test_diff_unnamed_constraints),
      cmocka_unit_test(test_diff_first_difference_and_labels),
      cmocka_unit_test_setup_teardown(test_sqlite_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_spelling_does_not_matter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_foreign_keys_on_one_column, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_version_table_left_out, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
