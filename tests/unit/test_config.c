/* luamig.lua parsing: defaults, every key, and each kind of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lm.h"

static char dir[] = "/tmp/lm_test_config_XXXXXX";

static char *write_config(const char *text) {
  char *path = lm_xasprintf("%s/luamig.lua", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static int load(const char *text, lm_config **c) {
  lua_State *L = lm_lua_new();
  assert_non_null(L);
  char *path = write_config(text);
  int rc = lm_config_load(c, L, path);
  free(path);
  lm_lua_close(L);
  return rc;
}

static void test_defaults(void **state) {
  (void)state;
  lm_config *c;
  assert_int_equal(load("return {}", &c), 0);
  assert_null(c->url);
  assert_string_equal(c->version_table, "luamig_version");
  assert_null(c->version_table_schema);
  assert_int_equal(c->transaction_per_migration, 1);
  assert_string_equal(c->lock_timeout, "5s");
  assert_int_equal(c->lock_retries, 3);
  assert_int_equal(c->nversions, 1);
  assert_string_equal(c->versions_display[0], "versions");
  /* relative folders start at the config file's folder */
  char *want = lm_xasprintf("%s/versions", dir);
  assert_string_equal(c->versions[0], want);
  free(want);
  lm_config_free(c);
}

static void test_every_key(void **state) {
  (void)state;
  lm_config *c;
  assert_int_equal(load("return {\n"
                        "  url = \"sqlite:///x.db\",\n"
                        "  versions = { \"a\", \"/abs/b\" },\n"
                        "  version_table = \"vt\",\n"
                        "  version_table_schema = \"meta\",\n"
                        "  transaction_per_migration = false,\n"
                        "  lock_timeout = \"250ms\",\n"
                        "  lock_retries = 0,\n"
                        "}\n",
                        &c),
                   0);
  assert_string_equal(c->url, "sqlite:///x.db");
  assert_int_equal(c->nversions, 2);
  assert_string_equal(c->versions[1], "/abs/b");
  assert_string_equal(c->versions_display[0], "a");
  assert_string_equal(c->version_table, "vt");
  assert_string_equal(c->version_table_schema, "meta");
  assert_int_equal(c->transaction_per_migration, 0);
  assert_string_equal(c->lock_timeout, "250ms");
  assert_int_equal(c->lock_retries, 0);
  lm_config_free(c);
}

static void test_versions_string_and_getenv(void **state) {
  (void)state;
  lm_config *c;
  setenv("LM_TEST_CONFIG_URL", "sqlite:///env.db", 1);
  assert_int_equal(
      load("return { versions = 'migrations', url = os.getenv('LM_TEST_CONFIG_URL') }", &c), 0);
  assert_int_equal(c->nversions, 1);
  assert_string_equal(c->versions_display[0], "migrations");
  assert_string_equal(c->url, "sqlite:///env.db");
  lm_config_free(c);
}

/* Each bad config: LM_ECONFIG, and the message names the file and, where
 * there is one, the line. */
static void expect_bad(const char *text, const char *needle, int line) {
  lm_config *c = (lm_config *)0x1;
  int rc = load(text, &c);
  assert_int_equal(rc, LM_ECONFIG);
  assert_null(c);
  const lm_error *e = lm_error_last();
  assert_non_null(e->message);
  assert_non_null(strstr(e->message, "luamig.lua"));
  if (!strstr(e->message, needle)) fail_msg("message '%s' lacks '%s'", e->message, needle);
  if (line) {
    char *at = lm_xasprintf("luamig.lua:%d:", line);
    if (!strstr(e->message, at)) fail_msg("message '%s' lacks '%s'", e->message, at);
    free(at);
  }
}

static void test_bad_configs(void **state) {
  (void)state;
  expect_bad("return {", "expected", 1);
  expect_bad("return 42", "must return a table", 0);
  expect_bad("x = 1", "must return a table", 0);
  expect_bad("error('boom')", "boom", 1);
  expect_bad("return {\n  url = 5,\n}", "url must be a string", 2);
  expect_bad("return {\n\n  urll = 'sqlite:///x.db' }", "unknown setting 'urll'", 3);
  expect_bad("return { versions = 3 }", "versions", 1);
  expect_bad("return { versions = {} }", "at least one folder", 1);
  expect_bad("return { versions = { 1 } }", "folder", 1);
  expect_bad("return { transaction_per_migration = 'yes' }", "true or false", 1);
  expect_bad("return { lock_retries = -1 }", "whole number", 1);
  expect_bad("return { lock_retries = 1.5 }", "whole number", 1);
  expect_bad("return { version_table = '' }", "must not be empty", 1);
  expect_bad("return { lock_timeout = {} }", "must be a string", 1);
  /* the sandbox: no os.execute, no io */
  expect_bad("os.execute('true') return {}", "execute", 1);
  expect_bad("io.open('/etc/passwd') return {}", "io", 1);
}

/* SPEC §11: each kind of entry, the line of each entry (strings and
 * comments holding braces do not throw the count off). */
static void test_targets(void **state) {
  (void)state;
  lm_config *c;
  assert_int_equal(load("return {\n"
                        "  targets = {\n"
                        "    { name = \"eu\", url = \"postgresql://app@db-eu/app\" }, -- {x}\n"
                        "    --[[ { not an entry } ]]\n"
                        "    { name = \"tenant_*\", url = \"postgresql://app@db/app\",\n"
                        "      schemas = \"SELECT '{'\" },\n"
                        "    { name = \"shard_*\", url = \"sqlite:///dir.db\",\n"
                        "      query = \"SELECT name, url FROM shards\" },\n"
                        "    { name = \"local_*\", glob = \"data/*.db\" },\n"
                        "  },\n"
                        "}\n",
                        &c),
                   0);
  assert_int_equal(c->ntargets, 4);
  assert_int_equal(c->targets[0].kind, LM_FLEET_URL);
  assert_string_equal(c->targets[0].name, "eu");
  assert_int_equal(c->targets[0].line, 3);
  assert_int_equal(c->targets[1].kind, LM_FLEET_SCHEMAS);
  assert_string_equal(c->targets[1].sql, "SELECT '{'");
  assert_int_equal(c->targets[1].line, 5);
  assert_int_equal(c->targets[2].kind, LM_FLEET_QUERY);
  assert_int_equal(c->targets[2].line, 7);
  assert_int_equal(c->targets[3].kind, LM_FLEET_GLOB);
  char *want = lm_xasprintf("%s/data/*.db", dir);
  assert_string_equal(c->targets[3].glob, want);
  free(want);
  assert_int_equal(c->targets[3].line, 9);
  lm_config_free(c);
}

static void test_bad_targets(void **state) {
  (void)state;
  expect_bad("return { targets = {} }", "targets is empty", 1);
  expect_bad("return {\n  targets = 'x' }", "targets must be a list", 2);
  expect_bad("return { targets = { a = {} } }", "must be a list", 1);
  expect_bad("return { targets = {\n  { name = 'a', url = 'sqlite:///a.db' },\n"
             "  { name = 'a', url = 'sqlite:///b.db' } } }",
             "targets[2]: 'a' is listed twice", 3);
  expect_bad("return { targets = {\n  { url = 'sqlite:///a.db' } } }", "has no name", 2);
  expect_bad("return { targets = {\n  { name = 'a' } } }", "'a' has no url", 2);
  expect_bad("return { targets = {\n  { name = '' , url = 'sqlite:///a.db' } } }",
             "name must not be empty", 2);
  expect_bad("return { targets = {\n  { name = 'a*', url = 'sqlite:///a.db' } } }",
             "must be printable, without blanks, '*'", 2);
  expect_bad("return { targets = {\n  { name = 'a', url = 'sqlite:///a.db', x = 1 } } }",
             "unknown key 'x'", 2);
  expect_bad("return { targets = {\n  { name = 'a', url = 'nope' } } }", "no scheme", 2);
  expect_bad("return { targets = {\n  { name = 'a', url = 5 } } }", "url must be a string", 2);
  expect_bad("return { targets = {\n  { name = 'a', glob = '*.db', query = 'q' } } }",
             "takes no url, schemas or query", 2);
  expect_bad("return { targets = {\n  { name = 's', url = 'postgresql://h/d', schemas = 'a', "
             "query = 'b' } } }",
             "both schemas and query", 2);
  expect_bad("return { targets = {\n  { name = 's', url = 'sqlite:///a.db', schemas = 'a' } } }",
             "schemas needs a PostgreSQL url", 2);
  expect_bad("return { targets = { 'sqlite:///a.db' } }", "must be a table", 1);
}

/* schema.lua beside luamig.lua is the model without a model key; the key
 * names another, and a folder called schema.lua is not a model. */
static void test_model_default(void **state) {
  (void)state;
  lm_config *c;
  assert_int_equal(load("return {}", &c), 0);
  assert_int_equal(c->nmodel, 0);
  lm_config_free(c);
  char *schema = lm_xasprintf("%s/schema.lua", dir);
  assert_int_equal(mkdir(schema, 0700), 0);
  assert_int_equal(load("return {}", &c), 0);
  assert_int_equal(c->nmodel, 0);
  lm_config_free(c);
  assert_int_equal(rmdir(schema), 0);
  FILE *f = fopen(schema, "w");
  assert_non_null(f);
  fclose(f);
  assert_int_equal(load("return {}", &c), 0);
  assert_int_equal(c->nmodel, 1);
  assert_string_equal(c->model[0], schema);
  assert_string_equal(c->model_display[0], "schema.lua");
  lm_config_free(c);
  assert_int_equal(load("return { model = { \"a.lua\", \"b.lua\" } }", &c), 0);
  assert_int_equal(c->nmodel, 2);
  assert_string_equal(c->model_display[1], "b.lua");
  lm_config_free(c);
  unlink(schema);
  free(schema);
}

static void test_missing_file(void **state) {
  (void)state;
  lua_State *L = lm_lua_new();
  lm_config *c;
  assert_int_equal(lm_config_load(&c, L, "/nonexistent/luamig.lua"), LM_ECONFIG);
  assert_non_null(strstr(lm_error_last()->message, "/nonexistent/luamig.lua"));
  lm_lua_close(L);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char *path = lm_xasprintf("%s/luamig.lua", dir);
  unlink(path);
  free(path);
  rmdir(dir);
  lm_error_clear();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_every_key),
      cmocka_unit_test(test_versions_string_and_getenv),
      cmocka_unit_test(test_bad_configs),
      cmocka_unit_test(test_targets),
      cmocka_unit_test(test_bad_targets),
      cmocka_unit_test(test_model_default),
      cmocka_unit_test(test_missing_file),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
