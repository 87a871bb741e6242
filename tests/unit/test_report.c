/* The findings formatter (engine/report.c) and the rule table: GitHub
 * workflow-command escaping, SARIF escaping, URIs and rule indexes, relative
 * paths, masked passwords. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lint.h"

__attribute__((noinline)) static char *render(const lm_lint_findings *f, lm_format fmt,
                                              const char *base, int kinds) {
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  lm_report_print(f, fmt, base, kinds, out);
  fclose(out);
  return buf;
}

static void test_format_parse(void **state) {
  (void)state;
  assert_int_equal(lm_format_parse("text"), LM_FORMAT_TEXT);
  assert_int_equal(lm_format_parse("json"), LM_FORMAT_JSON);
  assert_int_equal(lm_format_parse("github"), LM_FORMAT_GITHUB);
  assert_int_equal(lm_format_parse("sarif"), LM_FORMAT_SARIF);
  assert_int_equal(lm_format_parse("SARIF"), -1);
  assert_int_equal(lm_format_parse(""), -1);
  assert_int_equal(lm_format_parse(NULL), -1);
}

static void test_rule_table(void **state) {
  (void)state;
  int n = 0;
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++, n++) {
    assert_true(r->summary && *r->summary);
    assert_true(r->help && *r->help);
    assert_true(r->kind == LM_RULE_LINT || r->kind == LM_RULE_CHECK);
    for (const lm_lint_rule *q = lm_lint_rules; q < r; q++)
      assert_string_not_equal(q->id, r->id);
    assert_ptr_equal(lm_lint_rule_find(r->id), r);
  }
  assert_true(n >= 16);
  static const char *const spec[] = {"drop-column",
                                     "drop-table",
                                     "drop-then-add",
                                     "add-not-null-without-default",
                                     "alter-column-type",
                                     "rename-column",
                                     "rename-table",
                                     "index-not-concurrent",
                                     "set-not-null",
                                     "foreign-key-validating",
                                     "downgrade-missing",
                                     "downgrade-empty",
                                     "downgrade-not-inverse",
                                     "backfill-not-resumable",
                                     "backfill-in-transaction",
                                     "credentials-in-config"};
  for (size_t i = 0; i < sizeof spec / sizeof *spec; i++) {
    const lm_lint_rule *r = lm_lint_rule_find(spec[i]);
    assert_non_null(r);
    assert_int_equal(r->kind, LM_RULE_LINT);
  }
  assert_null(lm_lint_rule_find("no-such-rule"));
  assert_null(lm_lint_rule_find(NULL));
}

static void test_github_escaping(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "versions/a,b:c.lua", 12, LM_LINT_ERROR, "drop-then-add", "fix: it, now",
              "50%% lost\nfor good: a,b");
  lm_lint_add(&f, "", 0, LM_LINT_WARNING, "check", "", "no file");
  char *out = render(&f, LM_FORMAT_GITHUB, NULL, LM_RULE_LINT);
  assert_string_equal(out, "::error file=versions/a%2Cb%3Ac.lua,line=12,title=drop-then-add::50%25 "
                           "lost%0Afor good: a,b \xe2\x80\x94 fix: it, now\n"
                           "::warning title=check::no file\n");
  free(out);
  lm_lint_findings_free(&f);
}

static void test_sarif_escaping_and_uri(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "versions/a b%.lua", 3, LM_LINT_WARNING, "drop-column", "", "say \"hi\" \\ \x01");
  char *out = render(&f, LM_FORMAT_SARIF, NULL, LM_RULE_LINT);
  assert_non_null(strstr(out, "\"version\": \"2.1.0\""));
  assert_non_null(strstr(out, "\"text\": \"say \\\"hi\\\" \\\\ \\u0001\""));
  assert_non_null(strstr(out, "\"uri\": \"versions/a%20b%25.lua\""));
  assert_non_null(strstr(out, "\"startLine\": 3"));
  assert_non_null(strstr(out, "\"level\": \"warning\""));
  /* lint's log describes lint rules only */
  assert_null(strstr(out, "\"id\": \"multiple-heads\""));
  free(out);
  lm_lint_findings_free(&f);
}

/* The index of "id": "ID" among the log's rules. */
static int rule_position(const char *log, const char *id) {
  char want[128];
  snprintf(want, sizeof want, "{\"id\": \"%s\"", id);
  int k = 0;
  for (const char *p = log; (p = strstr(p, "{\"id\": \"")); p++, k++)
    if (strncmp(p, want, strlen(want)) == 0) return k;
  return -1;
}

static void test_sarif_rule_index(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "a.lua", 1, LM_LINT_ERROR, "checksum-mismatch", "", "m1");
  lm_lint_add(&f, "a.lua", 2, LM_LINT_ERROR, "zz-new-rule", "", "m2");
  lm_lint_add(&f, "a.lua", 3, LM_LINT_WARNING, "zz-new-rule", "", "m3");
  char *out = render(&f, LM_FORMAT_SARIF, NULL, LM_RULE_LINT | LM_RULE_CHECK);
  int cm = rule_position(out, "checksum-mismatch"), zz = rule_position(out, "zz-new-rule");
  assert_true(cm >= 0);
  assert_true(zz > cm);
  /* a rule missing from the table still gets exactly one descriptor */
  const char *first = strstr(out, "{\"id\": \"zz-new-rule\"");
  assert_non_null(first);
  assert_null(strstr(first + 1, "{\"id\": \"zz-new-rule\""));
  char want[96];
  snprintf(want, sizeof want, "\"ruleId\": \"checksum-mismatch\", \"ruleIndex\": %d,", cm);
  assert_non_null(strstr(out, want));
  snprintf(want, sizeof want, "\"ruleId\": \"zz-new-rule\", \"ruleIndex\": %d,", zz);
  assert_non_null(strstr(out, want));
  free(out);
  lm_lint_findings_free(&f);
}

static void test_passwords_masked(void **state) {
  (void)state;
  lm_lint_findings f = {0};
  lm_lint_add(&f, "luamig.lua", 1, LM_LINT_ERROR, "check", "",
              "cannot connect to postgresql://app:s3cret@db/app");
  for (int fmt = LM_FORMAT_TEXT; fmt <= LM_FORMAT_SARIF; fmt++) {
    char *out = render(&f, (lm_format)fmt, NULL, LM_RULE_CHECK);
    assert_null(strstr(out, "s3cret"));
    assert_non_null(strstr(out, "postgresql://app:***@db/app"));
    free(out);
  }
  lm_lint_findings_free(&f);
}

static void test_relpath(void **state) {
  (void)state;
  char dir[] = "/tmp/lm_report_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *versions = lm_xasprintf("%s/versions", dir);
  char *file = lm_xasprintf("%s/versions/a.lua", dir);
  assert_int_equal(mkdir(versions, 0755), 0);
  FILE *fp = fopen(file, "w");
  assert_non_null(fp);
  fclose(fp);
  char *r = lm_report_relpath(dir, file);
  assert_string_equal(r, "versions/a.lua");
  free(r);
  r = lm_report_relpath(versions, file);
  assert_string_equal(r, "a.lua");
  free(r);
  /* outside the base, or no base: as given, without a leading ./ */
  r = lm_report_relpath(versions, dir);
  assert_string_equal(r, dir);
  free(r);
  r = lm_report_relpath(NULL, "./versions/a.lua");
  assert_string_equal(r, "versions/a.lua");
  free(r);
  unlink(file);
  rmdir(versions);
  rmdir(dir);
  free(file);
  free(versions);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_parse),     cmocka_unit_test(test_rule_table),
      cmocka_unit_test(test_github_escaping),  cmocka_unit_test(test_sarif_escaping_and_uri),
      cmocka_unit_test(test_sarif_rule_index), cmocka_unit_test(test_passwords_masked),
      cmocka_unit_test(test_relpath),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
