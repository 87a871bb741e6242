/* Command-line targets and FROM:TO ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lm.h"

static lm_target parse_ok(const char *s) {
  lm_target t;
  memset(&t, 0x5a, sizeof t); /* parse must not rely on a cleared struct */
  assert_int_equal(lm_target_parse(&t, s), 0);
  return t;
}

static void parse_bad(const char *s) {
  lm_target t;
  assert_int_equal(lm_target_parse(&t, s), LM_EUSAGE);
  assert_int_equal(lm_error_last()->code, LM_EUSAGE);
}

static void test_keywords(void **state) {
  (void)state;
  lm_target t = parse_ok("head");
  assert_int_equal(t.kind, LM_T_HEAD);
  assert_string_equal(t.rev, "");
  t = parse_ok("heads");
  assert_int_equal(t.kind, LM_T_HEADS);
  assert_string_equal(t.rev, "");
  t = parse_ok("base");
  assert_int_equal(t.kind, LM_T_BASE);
  assert_string_equal(t.rev, "");
  assert_int_equal(t.n, 0);
}

static void test_relative(void **state) {
  (void)state;
  lm_target t = parse_ok("+1");
  assert_int_equal(t.kind, LM_T_REL);
  assert_int_equal(t.n, 1);
  t = parse_ok("-3");
  assert_int_equal(t.kind, LM_T_REL);
  assert_int_equal(t.n, -3);
  t = parse_ok("+12");
  assert_int_equal(t.n, 12);
  t = parse_ok("+007");
  assert_int_equal(t.n, 7);
  t = parse_ok("+2147483647");
  assert_int_equal(t.n, 2147483647);
  parse_bad("+");
  parse_bad("-");
  parse_bad("+0");
  parse_bad("-0");
  parse_bad("+00");
  parse_bad("-x");
  parse_bad("+1x");
  parse_bad("+-1");
  parse_bad("++1");
  parse_bad("+ 1");
  parse_bad("+2147483648");
  parse_bad("+99999999999999999999999");
}

static void test_revision(void **state) {
  (void)state;
  lm_target t = parse_ok("9c3e5f8a1d2b");
  assert_int_equal(t.kind, LM_T_REV);
  assert_string_equal(t.rev, "9c3e5f8a1d2b");
  t = parse_ok("9c");
  assert_int_equal(t.kind, LM_T_REV);
  assert_string_equal(t.rev, "9c");
  t = parse_ok("a");
  assert_string_equal(t.rev, "a");
  t = parse_ok("Some_Rev_1");
  assert_string_equal(t.rev, "Some_Rev_1");
  t = parse_ok("abcdefghijklmnopqrstuvwxyz012345"); /* 32: the longest id */
  assert_int_equal(t.kind, LM_T_REV);
  assert_string_equal(t.rev, "abcdefghijklmnopqrstuvwxyz012345");
  parse_bad("abcdefghijklmnopqrstuvwxyz0123456");
  parse_bad("");
  parse_bad(NULL);
  parse_bad("ab cd");
  parse_bad("ab.cd");
  parse_bad("ab:cd");
  parse_bad("äb");
  parse_bad("Head ");
}

static void test_revision_relative(void **state) {
  (void)state;
  lm_target t = parse_ok("ae10+2");
  assert_int_equal(t.kind, LM_T_REV_REL);
  assert_string_equal(t.rev, "ae10");
  assert_int_equal(t.n, 2);
  t = parse_ok("ae10-1");
  assert_int_equal(t.kind, LM_T_REV_REL);
  assert_string_equal(t.rev, "ae10");
  assert_int_equal(t.n, -1);
  /* Keywords are not special before +N: the planner looks "head" up as a
   * revision name. */
  t = parse_ok("head+1");
  assert_int_equal(t.kind, LM_T_REV_REL);
  assert_string_equal(t.rev, "head");
  parse_bad("ae10+");
  parse_bad("ae10+0");
  parse_bad("ae10-x");
  parse_bad("ae10+1+2");
  parse_bad("ae10+-1");
  parse_bad("ae.10+1");
  parse_bad("abcdefghijklmnopqrstuvwxyz0123456+1");
}

static void test_label_head(void **state) {
  (void)state;
  lm_target t = parse_ok("feature@head");
  assert_int_equal(t.kind, LM_T_HEAD);
  assert_string_equal(t.label, "feature");
  assert_string_equal(t.rev, "");
  assert_true(lm_target_names_one(&t));
  t = parse_ok("feature-x.2@head");
  assert_int_equal(t.kind, LM_T_HEAD);
  assert_string_equal(t.label, "feature-x.2");
  t = parse_ok("ae10@head");
  assert_string_equal(t.label, "ae10");
  /* the rest of Alembic's branch forms */
  t = parse_ok("feature@heads");
  assert_int_equal(t.kind, LM_T_HEADS);
  assert_string_equal(t.label, "feature");
  assert_false(lm_target_names_one(&t));
  t = parse_ok("feature@base");
  assert_int_equal(t.kind, LM_T_BASE);
  assert_string_equal(t.label, "feature");
  t = parse_ok("feature@+2");
  assert_int_equal(t.kind, LM_T_REL);
  assert_int_equal(t.n, 2);
  assert_string_equal(t.label, "feature");
  t = parse_ok("feature@-1");
  assert_int_equal(t.kind, LM_T_REL);
  assert_int_equal(t.n, -1);
  t = parse_ok("feature@head-3");
  assert_int_equal(t.kind, LM_T_REV_REL);
  assert_int_equal(t.n, -3);
  assert_string_equal(t.rev, "");
  assert_string_equal(t.label, "feature");
  assert_true(lm_target_names_one(&t));
  t = parse_ok("feature@head+1");
  assert_int_equal(t.kind, LM_T_REV_REL);
  assert_int_equal(t.n, 1);
  /* and no others */
  t = parse_ok("head");
  assert_string_equal(t.label, "");
  parse_bad("@head");
  parse_bad("feature@");
  parse_bad("feature@current");
  parse_bad("feature@+0");
  parse_bad("feature@-");
  parse_bad("feature@head-");
  parse_bad("feature@heads-1");
  parse_bad("feature@base+1");
  parse_bad("feature@ae10");
  parse_bad("fea ture@head");
  parse_bad("a@b@head");
  parse_bad("feat+1@head");
  char longlabel[80];
  memset(longlabel, 'l', 64);
  strcpy(longlabel + 64, "@head");
  parse_bad(longlabel);
  longlabel[63] = 0;
  t = parse_ok(strcat(longlabel, "@head"));
  assert_int_equal(strlen(t.label), 63);
}

static void test_error_message(void **state) {
  (void)state;
  parse_bad("+0");
  assert_string_equal(lm_error_last()->message,
                      "invalid target '+0': use head, heads, base, current, a revision id or "
                      "prefix, +N, -N, REV+N, REV-N (REV may be head, current or base), "
                      "LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, LABEL@-N or LABEL@head-N");
}

static void split_ok(const char *s, const char *from, const char *to) {
  char f[33], t[33];
  memset(f, 'x', sizeof f);
  memset(t, 'x', sizeof t);
  assert_int_equal(lm_range_split(s, f, sizeof f, t, sizeof t), 0);
  assert_string_equal(f, from);
  assert_string_equal(t, to);
}

static void split_bad(const char *s) {
  char f[33], t[33];
  assert_int_equal(lm_range_split(s, f, sizeof f, t, sizeof t), LM_EUSAGE);
  assert_int_equal(lm_error_last()->code, LM_EUSAGE);
}

static void test_range(void **state) {
  (void)state;
  split_ok("base:head", "base", "head");
  split_ok("ae10:9c3e", "ae10", "9c3e");
  split_ok("head", "", "head");
  split_ok(":head", "", "head");
  split_ok("ae10:+2", "ae10", "+2");
  split_ok("abcdefghijklmnopqrstuvwxyz012345:abcdefghijklmnopqrstuvwxyz012345",
           "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345");
  /* open ranges, as history -r takes them */
  split_ok("ae10:", "ae10", "");
  split_ok(":", "", "");
  split_bad("");
  split_bad(NULL);
  split_bad("a:b:c");
  split_bad("a::b");
  split_bad("abcdefghijklmnopqrstuvwxyz0123456:head");
  split_bad("head:abcdefghijklmnopqrstuvwxyz0123456");
  split_bad("abcdefghijklmnopqrstuvwxyz0123456");
  assert_string_equal(lm_error_last()->message,
                      "invalid range 'abcdefghijklmnopqrstuvwxyz0123456': use FROM:TO, for "
                      "example base:head");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keywords),   cmocka_unit_test(test_relative),
      cmocka_unit_test(test_revision),   cmocka_unit_test(test_revision_relative),
      cmocka_unit_test(test_label_head), cmocka_unit_test(test_error_message),
      cmocka_unit_test(test_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
