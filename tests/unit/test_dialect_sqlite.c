/* The SQLite connection (engine/dialect/sqlite.c) against a real file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lm.h"
#include "schema.h"
#include "recreate.h"

typedef struct fixture {
  char path[64];
  lm_conn *conn;
} fixture;

static const lm_dialect *D = &lm_dialect_sqlite;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->path, "/tmp/luamig_test_sqlite_XXXXXX");
  int fd = mkstemp(f->path);
  if (fd < 0) return -1;
  close(fd);
  char *url = lm_xasprintf("sqlite:///%s", f->path);
  lm_url *u = NULL;
  int rc = lm_url_parse(&u, url);
  free(url);
  if (rc) return -1;
  rc = D->open(&f->conn, u);
  lm_url_free(u);
  if (rc) return -1;
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

static int exec_sql(lm_conn *c, const char *sql) {
  lm_stmt s = {(char *)sql, NULL, 0};
  return D->exec(c, &s);
}

static int exec_params(lm_conn *c, const char *sql, lm_value *p, int n) {
  lm_stmt s = {(char *)sql, p, n};
  return D->exec(c, &s);
}

/* Rows collected by a query, flattened: every value copied. */
typedef struct rows {
  int nrows, ncols, stop_after;
  char names[8][32];
  lm_value v[64];
} rows;

static int collect(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  rows *r = ud;
  r->ncols = ncols;
  for (int i = 0; i < ncols && i < 8; i++)
    snprintf(r->names[i], sizeof r->names[i], "%s", names[i]);
  for (int i = 0; i < ncols; i++)
    lm_value_copy(&r->v[r->nrows * ncols + i], &vals[i]);
  r->nrows++;
  return r->stop_after && r->nrows >= r->stop_after;
}

static void rows_free(rows *r) {
  for (int i = 0; i < r->nrows * r->ncols; i++)
    lm_value_clear(&r->v[i]);
}

static int query(lm_conn *c, const char *sql, lm_value *p, int n, rows *r) {
  lm_stmt s = {(char *)sql, p, n};
  return D->query(c, &s, collect, r);
}

static lm_value vint(long long i) { return (lm_value){.t = LM_V_INT, .i = i}; }
static lm_value vfloat(double f) { return (lm_value){.t = LM_V_FLOAT, .f = f}; }
static lm_value vbool(int b) { return (lm_value){.t = LM_V_BOOL, .i = b}; }
static lm_value vnull(void) { return (lm_value){.t = LM_V_NULL}; }
static lm_value vtext(const char *s) {
  return (lm_value){.t = LM_V_TEXT, .s = (char *)s, .len = strlen(s)};
}

static void test_dialect_fields(void **state) {
  (void)state;
  assert_int_equal(D->version, LM_DIALECT_VERSION);
  assert_ptr_equal(lm_dialect_find("SQLite"), D);
  assert_string_equal(D->name, "sqlite");
  assert_true(lm_dialect_has_cap(D, LM_CAP_TRANSACTIONAL_DDL));
  assert_false(lm_dialect_has_cap(D, LM_CAP_SCHEMAS));
  assert_string_equal(D->begin_sql, "BEGIN IMMEDIATE");
  assert_ptr_equal(lm_dialect_find("sqlite"), &lm_dialect_sqlite);
  assert_ptr_equal(lm_dialect_find("postgresql"), &lm_dialect_postgresql);
  assert_ptr_equal(lm_dialect_find("postgres"), &lm_dialect_postgresql);
  assert_null(lm_dialect_find("mysql"));
  assert_null(lm_dialect_find(NULL));
}

/* A table written for an older revision of struct lm_dialect: the wrappers
 * read only the methods that revision had, and a method it lacks is "not
 * supported", said in one place. */
static void test_dialect_versions(void **state) {
  (void)state;
  lm_dialect old = lm_dialect_sqlite;
  old.version = 1;
  lm_conn *c = NULL;
  lm_url *u = NULL;
  assert_int_equal(lm_url_parse(&u, "sqlite:///:memory:"), 0);
  assert_int_equal(lm_dialect_open(&old, &c, u), 0); /* a version 1 method */
  assert_null(lm_dialect_table_exists_sql(&old));    /* version 2 fields are not read */
  assert_false(lm_dialect_can_recreate(&old));
  lm_op op = {.kind = LM_OP_DROP_TABLE, .table = "t"};
  lm_stmts out = {0};
  assert_int_equal(lm_dialect_render(&old, &op, &out), LM_ENOTSUP);
  assert_non_null(
      strstr(lm_error_last()->message, "rendering operations is not supported on sqlite"));
  assert_int_equal(out.n, 0);
  lm_error_clear();
  lm_dialect_close(&old, c);
  /* a version 3 method (canonical_check) of a table written for version 2 */
  lm_dialect pg2 = lm_dialect_postgresql;
  pg2.version = 2;
  assert_true(lm_dialect_rewrites_checks(&lm_dialect_postgresql));
  assert_false(lm_dialect_rewrites_checks(&pg2));
  assert_false(lm_dialect_rewrites_checks(&lm_dialect_sqlite));
  /* a version 4 method (type_change_needs_cast) of a table written for version 3 */
  lm_dialect pg3 = lm_dialect_postgresql;
  pg3.version = 3;
  assert_true(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "text", "jsonb"));
  assert_false(lm_dialect_type_change_needs_cast(&pg3, "text", "jsonb"));
  assert_true(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "varchar(10)", "integer"));
  assert_true(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "integer", "boolean"));
  assert_false(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "integer", "bigint"));
  assert_false(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "jsonb", "text"));
  assert_false(lm_dialect_type_change_needs_cast(&lm_dialect_postgresql, "text", "varchar(20)"));
  assert_false(lm_dialect_type_change_needs_cast(&lm_dialect_sqlite, "text", "integer"));
  /* the same table at this build's revision has them */
  assert_non_null(lm_dialect_table_exists_sql(&lm_dialect_sqlite));
  assert_int_equal(lm_dialect_render(&lm_dialect_sqlite, &op, &out), 0);
  assert_int_equal(out.n, 1);
  lm_stmts_free(&out);
  lm_url_free(u);
}

static void test_exec_multi_statement(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "-- a script\n"
                                     "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT);\n"
                                     "INSERT INTO t (name) VALUES ('a');  ;\n"
                                     "/* comment */ INSERT INTO t (name) VALUES ('b');\n"
                                     "SELECT * FROM t;\n"
                                     "-- trailing comment only\n  \n"),
                   0);
  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT id, name FROM t ORDER BY id", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 2);
  assert_int_equal(r.ncols, 2);
  assert_string_equal(r.names[0], "id");
  assert_string_equal(r.names[1], "name");
  assert_int_equal(r.v[0].t, LM_V_INT);
  assert_int_equal(r.v[0].i, 1);
  assert_string_equal(r.v[3].s, "b");
  rows_free(&r);
  /* empty and comment-only texts are no-ops */
  assert_int_equal(exec_sql(f->conn, ""), 0);
  assert_int_equal(exec_sql(f->conn, "  -- nothing\n/* at all */"), 0);
}

/* Foreign keys are not enforced while migrating (a move-and-copy drops
 * referenced tables); before_commit checks them instead. */
static void test_foreign_keys_checked_before_commit(void **state) {
  fixture *f = *state;
  rows r = {0};
  assert_int_equal(query(f->conn, "PRAGMA foreign_keys", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 1);
  assert_int_equal(r.v[0].i, 0);
  rows_free(&r);
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                                     "CREATE TABLE c (pid INTEGER REFERENCES p(id))"),
                   0);
  assert_int_equal(D->before_commit(f->conn, NULL), 0);
  assert_int_equal(exec_sql(f->conn, "INSERT INTO c VALUES (42)"), 0);
  assert_int_equal(D->before_commit(f->conn, NULL), LM_EDB);
  const char *m = lm_error_last()->message;
  assert_non_null(strstr(m, "table \"c\" rowid 1 has no parent row in \"p\""));
  assert_int_equal(exec_sql(f->conn, "INSERT INTO p VALUES (42)"), 0);
  assert_int_equal(D->before_commit(f->conn, NULL), 0);
}

static void test_bind_dollar(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE v (i INTEGER, f REAL, s TEXT, b BOOLEAN, n)"),
                   0);
  lm_value p[] = {vint(-9007199254740993LL), vfloat(2.5), vtext("it's \xc3\xa9"), vbool(1),
                  vnull()};
  assert_int_equal(exec_params(f->conn, "INSERT INTO v VALUES ($1, $2, $3, $4, $5)", p, 5), 0);
  /* out of order and repeated */
  lm_value q[] = {vtext("second"), vint(7)};
  assert_int_equal(exec_params(f->conn, "INSERT INTO v (i, s, f) VALUES ($2, $1, $2)", q, 2), 0);

  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT i, f, s, b, n FROM v ORDER BY rowid", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 2);
  assert_int_equal(r.v[0].t, LM_V_INT);
  assert_true(r.v[0].i == -9007199254740993LL);
  assert_int_equal(r.v[1].t, LM_V_FLOAT);
  assert_true(r.v[1].f == 2.5);
  assert_int_equal(r.v[2].t, LM_V_TEXT);
  assert_string_equal(r.v[2].s, "it's \xc3\xa9");
  assert_int_equal(r.v[2].len, 7);
  assert_int_equal(r.v[3].t, LM_V_INT); /* SQLite has no boolean storage */
  assert_int_equal(r.v[3].i, 1);
  assert_int_equal(r.v[4].t, LM_V_NULL);
  assert_int_equal(r.v[5].i, 7);
  assert_int_equal(r.v[6].t, LM_V_FLOAT); /* REAL affinity */
  assert_true(r.v[6].f == 7.0);
  assert_string_equal(r.v[7].s, "second");
  assert_int_equal(r.v[8].t, LM_V_NULL);
  rows_free(&r);
}

static void test_bind_question(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE q (a, b, c)"), 0);
  lm_value p[] = {vint(1), vtext("x"), vbool(0)};
  assert_int_equal(exec_params(f->conn, "INSERT INTO q VALUES (?, ?, ?)", p, 3), 0);
  lm_value p2[] = {vint(2), vtext("y"), vfloat(-0.25)};
  assert_int_equal(exec_params(f->conn, "INSERT INTO q VALUES (?3, ?1, ?2)", p2, 3), 0);

  rows r = {0};
  lm_value k[] = {vint(0)};
  assert_int_equal(query(f->conn, "SELECT a, b, c FROM q WHERE a >= ? ORDER BY rowid", k, 1, &r),
                   0);
  assert_int_equal(r.nrows, 1);
  assert_int_equal(r.v[0].t, LM_V_INT);
  assert_int_equal(r.v[0].i, 1);
  assert_string_equal(r.v[1].s, "x");
  assert_int_equal(r.v[2].i, 0);
  rows_free(&r);

  memset(&r, 0, sizeof r);
  assert_int_equal(
      query(f->conn, "SELECT a, b, c FROM q WHERE rowid = ?", (lm_value[]){vint(2)}, 1, &r), 0);
  assert_int_equal(r.nrows, 1);
  assert_int_equal(r.v[0].t, LM_V_FLOAT);
  assert_true(r.v[0].f == -0.25);
  assert_int_equal(r.v[1].t, LM_V_INT);
  assert_int_equal(r.v[1].i, 2);
  assert_string_equal(r.v[2].s, "y");
  rows_free(&r);
}

static void test_text_with_nul_and_blob(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE bl (x)"), 0);
  lm_value p = {.t = LM_V_TEXT, .s = "a\0b", .len = 3};
  assert_int_equal(exec_params(f->conn, "INSERT INTO bl VALUES ($1)", &p, 1), 0);
  assert_int_equal(exec_sql(f->conn, "INSERT INTO bl VALUES (x'414243')"), 0);
  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT x, length(x) AS l FROM bl ORDER BY rowid", NULL, 0, &r),
                   0);
  assert_int_equal(r.nrows, 2);
  assert_int_equal(r.v[0].t, LM_V_TEXT);
  assert_int_equal(r.v[0].len, 3);
  assert_memory_equal(r.v[0].s, "a\0b", 3);
  assert_int_equal(r.v[2].t, LM_V_TEXT);
  assert_int_equal(r.v[2].len, 3);
  assert_string_equal(r.v[2].s, "ABC");
  assert_string_equal(r.names[1], "l");
  rows_free(&r);
}

static void test_query_stops(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE n (i INTEGER);"
                                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
                                     "FROM c WHERE x < 1000) INSERT INTO n SELECT x FROM c"),
                   0);
  rows r = {.stop_after = 3};
  assert_int_equal(query(f->conn, "SELECT i FROM n ORDER BY i", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 3);
  assert_int_equal(r.v[2].i, 3);
  rows_free(&r);
  /* the connection is usable and the statement is finalised: DDL works */
  assert_int_equal(exec_sql(f->conn, "DROP TABLE n"), 0);
}

static int fail_cb(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  (void)ud, (void)ncols, (void)names, (void)vals;
  return lm_error_set(LM_ECHECK, "callback failed");
}

static void test_query_callback_error(void **state) {
  fixture *f = *state;
  lm_stmt s = {"SELECT 1", NULL, 0};
  assert_int_equal(D->query(f->conn, &s, fail_cb, NULL), LM_ECHECK);
  assert_string_equal(lm_error_last()->message, "callback failed");
}

static void test_query_no_rows_and_write(void **state) {
  fixture *f = *state;
  rows r = {0};
  assert_int_equal(query(f->conn, "CREATE TABLE w (a)", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 0);
  assert_int_equal(query(f->conn, "SELECT a FROM w", NULL, 0, &r), 0);
  assert_int_equal(r.nrows, 0);
}

static void test_transactions(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE tx (a)"), 0);
  assert_int_equal(exec_sql(f->conn, D->begin_sql), 0);
  assert_int_equal(exec_sql(f->conn, "INSERT INTO tx VALUES (1)"), 0);
  assert_int_equal(exec_sql(f->conn, "ROLLBACK"), 0);
  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT count(*) FROM tx", NULL, 0, &r), 0);
  assert_int_equal(r.v[0].i, 0);
  rows_free(&r);
}

static void test_error_syntax(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE ok1 (a); CREATE TABLE oops (a,,b)"), LM_EDB);
  const lm_error *e = lm_error_last();
  assert_int_equal(e->code, LM_EDB);
  assert_non_null(strstr(e->message, "syntax error"));
  assert_non_null(e->statement);
  assert_string_equal(e->statement, "CREATE TABLE oops (a,,b)");
  assert_non_null(e->db_message);
  assert_string_equal(e->db_message, e->message);
  assert_null(e->sqlstate);
}

static void test_error_runtime_names_failing_statement(void **state) {
  fixture *f = *state;
  assert_int_equal(exec_sql(f->conn, "CREATE TABLE u (a UNIQUE);\n"
                                     "INSERT INTO u VALUES (1);\n"
                                     "INSERT INTO u VALUES (1);\n"
                                     "INSERT INTO u VALUES (2);"),
                   LM_EDB);
  const lm_error *e = lm_error_last();
  assert_non_null(strstr(e->message, "UNIQUE constraint failed"));
  assert_string_equal(e->statement, "INSERT INTO u VALUES (1);");
  assert_non_null(strstr(e->db_message, "UNIQUE"));
  /* the statements before the failure ran; the one after did not */
  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT count(*) FROM u", NULL, 0, &r), 0);
  assert_int_equal(r.v[0].i, 1);
  rows_free(&r);
}

static void test_error_with_params(void **state) {
  fixture *f = *state;
  lm_value p[] = {vint(1)};
  assert_int_equal(exec_params(f->conn, "INSERT INTO missing VALUES ($1)", p, 1), LM_EDB);
  const lm_error *e = lm_error_last();
  assert_non_null(strstr(e->message, "no such table: missing"));
  assert_string_equal(e->statement, "INSERT INTO missing VALUES ($1)");
  assert_non_null(e->db_message);

  rows r = {0};
  assert_int_equal(query(f->conn, "SELECT * FROM missing WHERE a = $1", p, 1, &r), LM_EDB);
  assert_string_equal(lm_error_last()->statement, "SELECT * FROM missing WHERE a = $1");
}

static void test_error_param_count(void **state) {
  fixture *f = *state;
  lm_value p[] = {vint(1), vint(2)};
  assert_int_equal(exec_params(f->conn, "SELECT $1", p, 2), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "$2"));
  assert_int_equal(exec_params(f->conn, "SELECT $1, $2, $3", p, 2), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "$3"));
  assert_string_equal(lm_error_last()->statement, "SELECT $1, $2, $3");
  assert_int_equal(exec_params(f->conn, "SELECT ?, ?, ?", p, 2), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "placeholder"));
  assert_int_equal(exec_params(f->conn, "SELECT $1; SELECT 2", p, 1), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "single statement"));
  /* trailing blanks and comments are fine */
  assert_int_equal(exec_params(f->conn, "SELECT $1; -- done\n", p, 1), 0);
}

static void test_open_errors(void **state) {
  (void)state;
  lm_url u = {.dialect = "sqlite", .path = "/nonexistent-dir/sub/x.db"};
  lm_conn *c = (lm_conn *)1;
  assert_int_equal(D->open(&c, &u), LM_EDB);
  assert_null(c);
  const char *m = lm_error_last()->message;
  assert_non_null(strstr(m, "cannot open SQLite database /nonexistent-dir/sub/x.db: "));

  /* a file that is not a database is caught at open */
  char path[] = "/tmp/luamig_test_notdb_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char junk[] = "this is certainly not an SQLite database file, just some text....."
                      "...................................................................";
  assert_int_equal(write(fd, junk, sizeof junk), sizeof junk);
  close(fd);
  u.path = path;
  assert_int_equal(D->open(&c, &u), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "not a database"));
  unlink(path);
}

static void test_open_memory_and_options(void **state) {
  (void)state;
  lm_url *u = NULL;
  assert_int_equal(lm_url_parse(&u, "sqlite://"), 0);
  lm_conn *c = NULL;
  assert_int_equal(D->open(&c, u), 0);
  lm_url_free(u);
  assert_int_equal(exec_sql(c, "CREATE TABLE m (a); INSERT INTO m VALUES (1)"), 0);
  D->close(c);

  /* query options become URI parameters: mode=ro refuses writes */
  char path[] = "/tmp/luamig_test_ro_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  char *url = lm_xasprintf("sqlite:///%s?mode=ro", path);
  assert_int_equal(lm_url_parse(&u, url), 0);
  free(url);
  assert_int_equal(D->open(&c, u), 0);
  lm_url_free(u);
  assert_int_equal(exec_sql(c, "CREATE TABLE r (a)"), LM_EDB);
  assert_non_null(strstr(lm_error_last()->message, "readonly"));
  D->close(c);
  unlink(path);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dialect_fields),
      cmocka_unit_test(test_dialect_versions),
      T(test_exec_multi_statement),
      T(test_foreign_keys_checked_before_commit),
      T(test_bind_dollar),
      T(test_bind_question),
      T(test_text_with_nul_and_blob),
      T(test_query_stops),
      T(test_query_callback_error),
      T(test_query_no_rows_and_write),
      T(test_transactions),
      T(test_error_syntax),
      T(test_error_runtime_names_failing_statement),
      T(test_error_with_params),
      T(test_error_param_count),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_open_memory_and_options),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  lm_error_clear();
  return rc;
}
