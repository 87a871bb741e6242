/* The scan that keeps transaction-control statements out of op.execute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lm.h"

static const char *found(const char *sql) {
  const char *what = NULL;
  int r = lm_sql_transaction_control(sql, strlen(sql), &what);
  assert_int_equal(r, what != NULL);
  return what ? what : "";
}

static void test_refused(void **state) {
  (void)state;
  assert_string_equal(found("COMMIT"), "COMMIT");
  assert_string_equal(found("  commit;"), "COMMIT");
  assert_string_equal(found("Rollback"), "ROLLBACK");
  assert_string_equal(found("BEGIN TRANSACTION"), "BEGIN");
  assert_string_equal(found("end"), "END");
  assert_string_equal(found("abort"), "ABORT");
  assert_string_equal(found("SAVEPOINT a"), "SAVEPOINT");
  assert_string_equal(found("release savepoint a"), "RELEASE");
  assert_string_equal(found("start transaction"), "START TRANSACTION");
  assert_string_equal(found("START\n  TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
                      "START TRANSACTION");
  assert_string_equal(found("PREPARE TRANSACTION 'x'"), "PREPARE TRANSACTION");
  /* after comments and blanks */
  assert_string_equal(found("-- note\n/* a /* nested */ comment */ COMMIT"), "COMMIT");
  /* any statement of several */
  assert_string_equal(found("UPDATE t SET a = 1; COMMIT; UPDATE t SET b = 2"), "COMMIT");
  assert_string_equal(found("UPDATE t SET a = 'x;y'; rollback"), "ROLLBACK");
  assert_string_equal(found("SELECT 1;;\n\tEND;"), "END");
}

static void test_allowed(void **state) {
  (void)state;
  assert_string_equal(found("UPDATE acct SET balance = balance + 10"), "");
  assert_string_equal(found("SELECT 'COMMIT; ROLLBACK'"), "");
  assert_string_equal(found("SELECT \"commit\" FROM t"), "");
  assert_string_equal(found("-- COMMIT\nSELECT 1"), "");
  assert_string_equal(found("/* ROLLBACK; */ SELECT 1"), "");
  assert_string_equal(found("UPDATE t SET endpoint = 1; SELECT begin_at FROM t"), "");
  assert_string_equal(found("PREPARE q AS SELECT 1"), "");
  assert_string_equal(found("CREATE INDEX ix ON t (a); START_x"), "");
  /* bodies that hold semicolons and BEGIN/END */
  assert_string_equal(found("DO $$ BEGIN PERFORM 1; COMMIT; END $$"), "");
  assert_string_equal(found("CREATE FUNCTION f() RETURNS int AS $body$ BEGIN RETURN 1; END "
                            "$body$ LANGUAGE plpgsql; SELECT f()"),
                      "");
  assert_string_equal(found("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET a = CASE WHEN "
                            "new.a THEN 1 ELSE 2 END; DELETE FROM u; END; SELECT 1"),
                      "");
  assert_string_equal(found("CREATE RULE r AS ON INSERT TO t DO (INSERT INTO u VALUES (1); "
                            "INSERT INTO u VALUES (2))"),
                      "");
  assert_string_equal(found(""), "");
  assert_string_equal(found("   -- only a comment"), "");
  /* a trigger body ends: what follows is a statement again */
  assert_string_equal(found("CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; COMMIT"),
                      "COMMIT");
}

static int rows_only(const char *sql) { return lm_sql_writes_rows_only(sql, strlen(sql)); }

/* What --sql leaves out of its in-memory schema: statements that only
 * write rows. */
static void test_rows_only(void **state) {
  (void)state;
  assert_true(rows_only("INSERT INTO t VALUES (1)"));
  assert_true(rows_only("  -- rows\n update t set a = 1; delete from t where a = 2;"));
  assert_true(rows_only("REPLACE INTO t VALUES (1)"));
  assert_true(rows_only("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE "
                        "x < 10) INSERT INTO t SELECT x FROM n"));
  assert_true(rows_only("with a as (select 1), b as (select 2) delete from t"));
  assert_true(rows_only("INSERT INTO t VALUES ('CREATE TABLE x (a int); ')"));
  /* anything else runs */
  assert_false(rows_only(""));
  assert_false(rows_only("-- nothing"));
  assert_false(rows_only("CREATE TABLE t (a int)"));
  assert_false(rows_only("INSERT INTO t VALUES (1); CREATE INDEX ix ON t (a)"));
  assert_false(rows_only("CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET a = 1; END"));
  assert_false(rows_only("SELECT set_config('a', 'b', false)"));
  assert_false(rows_only("WITH a AS (SELECT 1) SELECT * FROM a"));
  assert_false(rows_only("WITH x AS (INSERT INTO t VALUES (1) RETURNING a) SELECT * FROM x"));
  assert_false(rows_only("ALTER TABLE t ADD COLUMN b int"));
  assert_false(rows_only("PRAGMA foreign_key_check"));
}

static void test_bounds(void **state) {
  (void)state;
  /* the scan stops at len, even inside a quote or a comment */
  const char *what;
  assert_int_equal(lm_sql_transaction_control("SELECT 'abc", 11, &what), 0);
  assert_int_equal(lm_sql_transaction_control("/* open", 7, &what), 0);
  assert_int_equal(lm_sql_transaction_control("$a$ x", 5, &what), 0);
  assert_int_equal(lm_sql_transaction_control("COMMIT", 3, &what), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_allowed),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_rows_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
