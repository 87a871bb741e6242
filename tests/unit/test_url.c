/* Database URL parsing and password masking (engine/url.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dlfcn.h>
#include <stdio.h>

#include "lm.h"

static lm_url *parse_ok(const char *s) {
  lm_url *u = NULL;
  int rc = lm_url_parse(&u, s);
  if (rc != 0) fail_msg("lm_url_parse(%s) failed: %s", s, lm_error_last()->message);
  assert_non_null(u);
  return u;
}

/* Parses a URL that must be rejected with LM_ECONFIG; the message must
 * contain `want` and must not contain `secret` (when given). */
static void parse_bad(const char *s, const char *want, const char *secret) {
  lm_url *u = (lm_url *)1;
  int rc = lm_url_parse(&u, s);
  assert_int_equal(rc, LM_ECONFIG);
  assert_null(u);
  const lm_error *e = lm_error_last();
  assert_int_equal(e->code, LM_ECONFIG);
  assert_non_null(e->message);
  if (want && !strstr(e->message, want))
    fail_msg("message for %s lacks '%s': %s", s, want, e->message);
  if (secret && strstr(e->message, secret))
    fail_msg("message for %s shows the password: %s", s, e->message);
}

static const char *opt(const lm_url *u, const char *k) {
  for (int i = 0; i < u->nopts; i++)
    if (strcmp(u->opt_keys[i], k) == 0) return u->opt_vals[i];
  return NULL;
}

static void expect_mask(const char *in, const char *want) {
  char *m = lm_url_mask(in);
  assert_string_equal(m, want);
  free(m);
}

/* ---- SQLite ---- */

static void test_sqlite_relative(void **state) {
  (void)state;
  lm_url *u = parse_ok("sqlite:///relative/path.db");
  assert_string_equal(u->dialect, "sqlite");
  assert_string_equal(u->path, "relative/path.db");
  assert_null(u->host);
  assert_null(u->password);
  assert_int_equal(u->nopts, 0);
  assert_string_equal(u->masked, "sqlite:///relative/path.db");
  lm_url_free(u);
}

static void test_sqlite_absolute(void **state) {
  (void)state;
  lm_url *u = parse_ok("sqlite:////abs/path.db");
  assert_string_equal(u->path, "/abs/path.db");
  lm_url_free(u);
}

static void test_sqlite_memory(void **state) {
  (void)state;
  lm_url *u = parse_ok("sqlite:///:memory:");
  assert_string_equal(u->path, ":memory:");
  lm_url_free(u);
  u = parse_ok("sqlite://");
  assert_string_equal(u->dialect, "sqlite");
  assert_string_equal(u->path, ":memory:");
  lm_url_free(u);
}

static void test_sqlite_driver_and_case(void **state) {
  (void)state;
  lm_url *u = parse_ok("sqlite+pysqlite:///app.db");
  assert_string_equal(u->dialect, "sqlite");
  assert_string_equal(u->path, "app.db");
  lm_url_free(u);
  u = parse_ok("SQLite:///App.db");
  assert_string_equal(u->dialect, "sqlite");
  assert_string_equal(u->path, "App.db");
  lm_url_free(u);
}

static void test_sqlite_query_and_decoding(void **state) {
  (void)state;
  lm_url *u = parse_ok("sqlite:///my%20dir/app.db?mode=ro&cache=shared&flag");
  assert_string_equal(u->path, "my dir/app.db");
  assert_int_equal(u->nopts, 3);
  assert_string_equal(u->opt_keys[0], "mode");
  assert_string_equal(u->opt_vals[0], "ro");
  assert_string_equal(opt(u, "cache"), "shared");
  assert_string_equal(opt(u, "flag"), "");
  lm_url_free(u);
  u = parse_ok("sqlite://?mode=memory");
  assert_string_equal(u->path, ":memory:");
  assert_string_equal(opt(u, "mode"), "memory");
  lm_url_free(u);
}

static void test_whitespace_trimmed(void **state) {
  (void)state;
  lm_url *u = parse_ok("  sqlite:///app.db\n");
  assert_string_equal(u->path, "app.db");
  assert_string_equal(u->masked, "sqlite:///app.db");
  lm_url_free(u);
}

/* ---- PostgreSQL ---- */

static void test_pg_full(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://alice:s3cret@db.example.com:6543/shop?sslmode=require"
                       "&connect_timeout=10");
  assert_string_equal(u->dialect, "postgresql");
  assert_null(u->path);
  assert_string_equal(u->user, "alice");
  assert_string_equal(u->password, "s3cret");
  assert_string_equal(u->host, "db.example.com");
  assert_string_equal(u->port, "6543");
  assert_string_equal(u->dbname, "shop");
  assert_int_equal(u->nopts, 2);
  assert_string_equal(u->opt_keys[0], "sslmode");
  assert_string_equal(u->opt_vals[0], "require");
  assert_string_equal(u->opt_keys[1], "connect_timeout");
  assert_string_equal(u->opt_vals[1], "10");
  assert_string_equal(u->masked, "postgresql://alice:***@db.example.com:6543/shop?sslmode=require"
                                 "&connect_timeout=10");
  lm_url_free(u);
}

static void test_pg_scheme_variants(void **state) {
  (void)state;
  const char *urls[] = {"postgres://u@h/d", "postgresql+psycopg2://u@h/d",
                        "postgresql+asyncpg://u@h/d", "POSTGRESQL://u@h/d"};
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    lm_url *u = parse_ok(urls[i]);
    assert_string_equal(u->dialect, "postgresql");
    assert_string_equal(u->user, "u");
    assert_string_equal(u->host, "h");
    assert_string_equal(u->dbname, "d");
    assert_null(u->password);
    assert_string_equal(u->masked, urls[i]);
    lm_url_free(u);
  }
}

static void test_pg_optional_parts(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql:///db");
  assert_null(u->user);
  assert_null(u->password);
  assert_null(u->host);
  assert_null(u->port);
  assert_string_equal(u->dbname, "db");
  lm_url_free(u);

  u = parse_ok("postgresql://host/db");
  assert_null(u->user);
  assert_string_equal(u->host, "host");
  assert_string_equal(u->dbname, "db");
  lm_url_free(u);

  u = parse_ok("postgresql://user@host");
  assert_string_equal(u->user, "user");
  assert_string_equal(u->host, "host");
  assert_null(u->dbname);
  assert_null(u->port);
  lm_url_free(u);

  u = parse_ok("postgresql://");
  assert_string_equal(u->dialect, "postgresql");
  assert_null(u->host);
  assert_null(u->dbname);
  lm_url_free(u);

  u = parse_ok("postgresql://host:5432");
  assert_string_equal(u->host, "host");
  assert_string_equal(u->port, "5432");
  lm_url_free(u);

  u = parse_ok("postgresql://:5433/db");
  assert_null(u->host);
  assert_string_equal(u->port, "5433");
  lm_url_free(u);

  /* an empty password is no password */
  u = parse_ok("postgresql://user:@host/db");
  assert_string_equal(u->user, "user");
  assert_null(u->password);
  lm_url_free(u);
}

static void test_pg_socket_dir_option(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://user:pw@/db?host=/var/run/postgresql");
  assert_null(u->host);
  assert_string_equal(u->user, "user");
  assert_string_equal(u->password, "pw");
  assert_string_equal(u->dbname, "db");
  assert_string_equal(opt(u, "host"), "/var/run/postgresql");
  assert_string_equal(u->masked, "postgresql://user:***@/db?host=/var/run/postgresql");
  lm_url_free(u);

  u = parse_ok("postgresql://%2Fvar%2Frun%2Fpostgresql/db");
  assert_string_equal(u->host, "/var/run/postgresql");
  lm_url_free(u);
}

static void test_pg_percent_decoding(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://j%C3%BCrgen%20x:p%40ss%3Aw%2Fo%25rd@h%2Dost/my%20db"
                       "?application_name=a%26b&options=-c%20search_path%3Dapp");
  assert_string_equal(u->user, "j\xc3\xbcrgen x");
  assert_string_equal(u->password, "p@ss:w/o%rd");
  assert_string_equal(u->host, "h-ost");
  assert_string_equal(u->dbname, "my db");
  assert_string_equal(opt(u, "application_name"), "a&b");
  assert_string_equal(opt(u, "options"), "-c search_path=app");
  assert_string_equal(u->masked, "postgresql://j%C3%BCrgen%20x:***@h%2Dost/my%20db"
                                 "?application_name=a%26b&options=-c%20search_path%3Dapp");
  lm_url_free(u);
}

static void test_pg_plus_is_literal(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://h/d?application_name=a+b");
  assert_string_equal(opt(u, "application_name"), "a+b");
  lm_url_free(u);
}

static void test_pg_raw_at_in_password(void **state) {
  (void)state;
  /* the credentials end at the last '@' of the authority */
  lm_url *u = parse_ok("postgresql://user:p@ss@host/db");
  assert_string_equal(u->user, "user");
  assert_string_equal(u->password, "p@ss");
  assert_string_equal(u->host, "host");
  assert_string_equal(u->masked, "postgresql://user:***@host/db");
  lm_url_free(u);
}

static void test_pg_ipv6(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://u:pw@[::1]:5433/db");
  assert_string_equal(u->host, "::1");
  assert_string_equal(u->port, "5433");
  assert_string_equal(u->masked, "postgresql://u:***@[::1]:5433/db");
  lm_url_free(u);

  u = parse_ok("postgresql://[2001:db8::7]/db");
  assert_string_equal(u->host, "2001:db8::7");
  assert_null(u->port);
  assert_string_equal(u->masked, "postgresql://[2001:db8::7]/db");
  lm_url_free(u);

  u = parse_ok("postgresql://[fe80::1%25eth0]:5432");
  assert_string_equal(u->host, "fe80::1%eth0");
  assert_null(u->dbname);
  lm_url_free(u);
}

static void test_pg_multi_host(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://u@h1:5432,h2,[::1]:5434/db?target_session_attrs=read-write");
  assert_string_equal(u->host, "h1,h2,::1");
  assert_string_equal(u->port, "5432,,5434");
  assert_string_equal(opt(u, "target_session_attrs"), "read-write");
  lm_url_free(u);
}

/* ---- errors ---- */

static void test_err_empty(void **state) {
  (void)state;
  parse_bad("", "empty database URL", NULL);
  parse_bad("   \n", "empty database URL", NULL);
  parse_bad(NULL, "empty database URL", NULL);
}

static void test_err_unknown_scheme(void **state) {
  (void)state;
  parse_bad("mysql://root:hunter2@localhost/app", "unsupported database URL scheme 'mysql'",
            "hunter2");
  parse_bad("mysql://root:hunter2@localhost/app", "mysql://root:***@localhost/app", NULL);
  parse_bad("mysql://root:hunter2@localhost/app", "use sqlite:/// or postgresql://", NULL);
  parse_bad("mysql+pymysql://h/app", "'mysql+pymysql'", NULL);
  parse_bad("sqlite3:///x.db", "'sqlite3'", NULL);
}

static void test_err_missing_separator(void **state) {
  (void)state;
  parse_bad("app.db", "did you mean sqlite:///app.db", NULL);
  parse_bad("postgresql:/host/db", "no scheme://", NULL);
  parse_bad("sqlite:app.db", "no scheme://", NULL);
  parse_bad("host=localhost user=u password=hunter2", "key=value", "hunter2");
  parse_bad("://host/db", "no scheme://", NULL);
}

static void test_err_bad_percent(void **state) {
  (void)state;
  parse_bad("postgresql://u:hun%zzter2@h/db", "bad percent-escape in the password", "hun");
  parse_bad("postgresql://u:hunter%2@h/db", "password", "hunter");
  parse_bad("postgresql://u:hunter2@h/d%zzb", "'%zz' in the database name", "hunter2");
  parse_bad("postgresql://u:hunter2@h/d%zzb", "postgresql://u:***@h/d%zzb", NULL);
  parse_bad("postgresql://u%4@h/db", "user name", NULL);
  parse_bad("postgresql://h%g1/db", "host", NULL);
  parse_bad("postgresql://h/db?sslmode=re%qquire", "option 'sslmode'", NULL);
  parse_bad("postgresql://h/db?password=hun%zzter2", "option 'password'", "hun");
  parse_bad("sqlite:///100%.db", "path", NULL);
  parse_bad("postgresql://u:hunter2@h/d%00b", "database name", "hunter2");
}

static void test_err_bad_port(void **state) {
  (void)state;
  parse_bad("postgresql://u:hunter2@h:abc/db", "bad port 'abc'", "hunter2");
  parse_bad("postgresql://u:hunter2@h:70000/db", "bad port '70000'", "hunter2");
  parse_bad("postgresql://h:0/db", "bad port '0'", NULL);
  parse_bad("postgresql://h:-1/db", "bad port", NULL);
  parse_bad("postgresql://h:99999999999999999999999/db", "bad port", NULL);
  parse_bad("postgresql://[::1]:x/db", "bad port 'x'", NULL);
  /* a raw '/' in the password cuts the authority short: the rest of the
   * password must not come out as the "port" */
  parse_bad("postgresql://u:topsecret/word@h/db", "percent-encoded", "topsecret");
  parse_bad("postgresql://u:topsecret/qqzz@h/db", "bad port", "qqzz");
  parse_bad("postgresql://u:topsecret?word@h/db", "bad port", "topsecret");
  /* and with a raw '@' before it too: no part of the password is shown */
  parse_bad("postgresql://u:Zq@9x/Secret@h:1/db", "percent-encode", "9x/Secret");
  parse_bad("postgresql://u:ab@cd:ef/gh@h:1/db", "percent", "cd:ef/gh");
  char *m = lm_url_mask("postgresql://u:Pw@Ho?st@h:1/db");
  assert_string_equal(m, "postgresql://u:***@h:1/db");
  free(m);
  /* but an '@' in a well-formed query of a plain URL is a value */
  m = lm_url_mask("postgresql://u:pw@h:1/db?application_name=a@b");
  assert_string_equal(m, "postgresql://u:***@h:1/db?application_name=a@b");
  free(m);
}

static void test_err_bad_host(void **state) {
  (void)state;
  parse_bad("postgresql://[::1/db", "unclosed '['", NULL);
  parse_bad("postgresql://[::1]x/db", "after ']'", NULL);
}

static void test_err_sqlite_host(void **state) {
  (void)state;
  parse_bad("sqlite://host/x.db", "has a host part", NULL);
  parse_bad("sqlite://u:hunter2@host/x.db", "sqlite://u:***@host/x.db", "hunter2");
}

static void test_err_sqlite_empty_path(void **state) {
  (void)state;
  parse_bad("sqlite:///", "empty SQLite path", NULL);
  parse_bad("sqlite:///?mode=ro", "empty SQLite path", NULL);
}

static void test_err_empty_option_name(void **state) {
  (void)state;
  parse_bad("postgresql://h/db?=x", "empty option name", NULL);
}

/* ---- masking ---- */

static void test_mask_url(void **state) {
  (void)state;
  expect_mask("postgresql://user:pass@host/db", "postgresql://user:***@host/db");
  expect_mask("postgresql://user@host/db", "postgresql://user@host/db");
  expect_mask("postgresql://host:5432/db", "postgresql://host:5432/db");
  expect_mask("sqlite:///app.db", "sqlite:///app.db");
  expect_mask("postgresql://user:p%40ss%3A@host/db", "postgresql://user:***@host/db");
  expect_mask("postgresql://user:p@ss@host/db", "postgresql://user:***@host/db");
  expect_mask("postgresql://user:a/b@host/db", "postgresql://user:***@host/db");
  expect_mask("postgresql://[::1]:5432/db?application_name=a@b",
              "postgresql://[::1]:5432/db?application_name=a@b");
  expect_mask("postgresql://h1:1,h2:2/db?x=a@b", "postgresql://h1:1,h2:2/db?x=a@b");
  expect_mask("postgresql://user:@host/db", "postgresql://user:@host/db");
}

static void test_mask_in_text(void **state) {
  (void)state;
  expect_mask("cannot connect to postgresql://u:pw1@h/db: refused; also "
              "redis://x:pw2@cache:6379 and ftp://a:pw3@b",
              "cannot connect to postgresql://u:***@h/db: refused; also "
              "redis://x:***@cache:6379 and ftp://a:***@b");
  expect_mask("url 'postgresql://u:pw@h/db' failed", "url 'postgresql://u:***@h/db' failed");
  expect_mask("", "");
  expect_mask("no secrets here: a:b@c", "no secrets here: a:b@c");
  char *m = lm_url_mask(NULL);
  assert_string_equal(m, "");
  free(m);
}

static void test_mask_key_value(void **state) {
  (void)state;
  expect_mask("host=h password=hunter2 user=u", "host=h password=*** user=u");
  /* libpq reads a query value to the next '&', newlines included */
  expect_mask("postgresql://h/db?password=\nQa\nQQb", "postgresql://h/db?password=***");
  expect_mask("postgresql://u:p@h/postgresql://h/db?password=\nQa\nQQbd",
              "postgresql://u:***@h/postgresql://h/db?password=***");
  expect_mask("host=h password = 'hun ter\\'2' user=u", "host=h password = *** user=u");
  expect_mask("PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql");
  expect_mask("postgresql://h/db?password=hunter2&sslmode=require",
              "postgresql://h/db?password=***&sslmode=require");
  expect_mask("password_hash=abc", "password_hash=abc");
  expect_mask("the password is wrong", "the password is wrong");
  expect_mask("password=", "password=");
}

static void test_masked_field_query_password(void **state) {
  (void)state;
  lm_url *u = parse_ok("postgresql://u@h/db?password=hunter2");
  assert_string_equal(opt(u, "password"), "hunter2");
  assert_string_equal(u->masked, "postgresql://u@h/db?password=***");
  lm_url_free(u);
}

/* ---- against libpq's own parser ---- */

/* libpq-fe.h's PQconninfoOption, declared here: libpq is loaded with
 * dlopen as luamig does, and the test skips when it is not installed. */
typedef struct pq_opt {
  char *keyword, *envvar, *compiled, *val, *label, *dispchar;
  int dispsize;
} pq_opt;
typedef pq_opt *(*conninfo_parse_fn)(const char *, char **);
typedef void (*conninfo_free_fn)(pq_opt *);
typedef void (*pq_freemem_fn)(void *);

static size_t count_in(const char *hay, const char *needle) {
  size_t n = 0, len = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)); p += len)
    n++;
  return n;
}

/* Every value libpq reads as a password (dispchar "*": password,
 * sslpassword) must be gone from the masked form: fewer raw occurrences
 * than in the URL (the rest are user or host names holding the same text),
 * none when the URL held it only percent-encoded. */
static void check_secret(const char *url, const char *masked, const char *pw) {
  size_t in_url = count_in(url, pw), in_masked = count_in(masked, pw);
  if (in_url ? in_masked >= in_url : in_masked > 0)
    fail_msg("password '%s' of %s shows in its masked form %s", pw, url, masked);
}

static void check_against_libpq(conninfo_parse_fn parse, conninfo_free_fn pfree,
                                pq_freemem_fn freemem, const char *url, int *accepted) {
  char *err = NULL;
  pq_opt *opts = parse(url, &err);
  if (!opts) {
    if (err) freemem(err);
    return;
  }
  (*accepted)++;
  char *text_mask = lm_url_mask(url);
  lm_url *u = NULL;
  if (lm_url_parse(&u, url) != 0) u = NULL;
  /* a failed parse shows the URL as lm_url_parse masked it */
  const char *err_text = u ? NULL : lm_error_last()->message;
  for (pq_opt *o = opts; o->keyword; o++) {
    if (!o->val || !o->val[0] || !o->dispchar || strcmp(o->dispchar, "*") != 0) continue;
    /* the secret pieces hold "QQ": other values (a password "password"
     * from the pieces that spell keys) cannot be told from other text */
    if (!strstr(o->val, "QQ")) continue;
    check_secret(url, text_mask, o->val);
    if (u) check_secret(url, u->masked, o->val);
    if (err_text) check_secret(url, err_text, o->val);
  }
  lm_url_free(u);
  lm_error_clear();
  free(text_mask);
  pfree(opts);
}

static void test_mask_against_libpq(void **state) {
  (void)state;
  void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!h) skip();
  conninfo_parse_fn parse = (conninfo_parse_fn)dlsym(h, "PQconninfoParse");
  conninfo_free_fn pfree = (conninfo_free_fn)dlsym(h, "PQconninfoFree");
  pq_freemem_fn freemem = (pq_freemem_fn)dlsym(h, "PQfreemem");
  assert_non_null(parse);
  assert_non_null(pfree);
  assert_non_null(freemem);
  static const char *const fixed[] = {
      "postgresql://u:QQa QQb@h:5432/db",
      "postgresql://u:QQa?QQb@h/db",
      "postgresql://u:QQa@QQb@h/db",
      "postgresql://u:QQa:QQb@h/db",
      "postgresql://u:QQa\tQQb@h/db",
      "postgresql://u:QQa\nQQb@h/db",
      "postgresql://u:QQa\x01QQb@h/db",
      "postgresql://h/db?pass%77ord=QQa",
      "postgresql://h/db?%70assword=QQa&sslmode=disable",
      "postgresql://h/db?sslpassword=QQa&password=QQb",
      "postgresql://h/db?password=QQa QQb",
      "postgresql://h/db?password=QQa#QQb",
      "postgresql://u:QQa#QQb@h/db?password=QQc",
      "postgres://u:QQa%20QQb@[::1]:5432/db",
      "postgresql://u:QQa,QQb@h1,h2/db",
  };
  int accepted = 0;
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
    check_against_libpq(parse, pfree, freemem, fixed[i], &accepted);
  /* and random URLs built from the pieces that make URLs odd */
  static const char *const pieces[] = {
      "u",        ":",          "@",          "/",           "?",   "&",    "=",
      "password", "pass%77ord", "%70assword", "sslpassword", "h",   "5432", "QQx",
      "QQy",      "QQz",        " ",          "\t",          "%41", "#",    ",",
      "[::1]",    "db",         "%zz",        "\x01",        "\n",  "'",    "\"",
      ";",        "QQ%20QQ",    "%2F",        "%40",         "%3F", "+",    "\x1b[1m"};
  const size_t npieces = sizeof pieces / sizeof *pieces;
  unsigned long long x = 0x9e3779b97f4a7c15ULL;
  char url[512];
  for (int iter = 0; iter < 30000; iter++) {
    size_t len =
        (size_t)snprintf(url, sizeof url, "%s", iter & 1 ? "postgresql://" : "postgres://");
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int n = 2 + (int)(x % 14);
    for (int k = 0; k < n; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      len += (size_t)snprintf(url + len, sizeof url - len, "%s", pieces[x % npieces]);
    }
    check_against_libpq(parse, pfree, freemem, url, &accepted);
  }
  /* the comparison means something only if libpq accepted many of them */
  if (accepted < 5000) fail_msg("libpq accepted only %d of the URLs", accepted);
  dlclose(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sqlite_relative),
      cmocka_unit_test(test_sqlite_absolute),
      cmocka_unit_test(test_sqlite_memory),
      cmocka_unit_test(test_sqlite_driver_and_case),
      cmocka_unit_test(test_sqlite_query_and_decoding),
      cmocka_unit_test(test_whitespace_trimmed),
      cmocka_unit_test(test_pg_full),
      cmocka_unit_test(test_pg_scheme_variants),
      cmocka_unit_test(test_pg_optional_parts),
      cmocka_unit_test(test_pg_socket_dir_option),
      cmocka_unit_test(test_pg_percent_decoding),
      cmocka_unit_test(test_pg_plus_is_literal),
      cmocka_unit_test(test_pg_raw_at_in_password),
      cmocka_unit_test(test_pg_ipv6),
      cmocka_unit_test(test_pg_multi_host),
      cmocka_unit_test(test_err_empty),
      cmocka_unit_test(test_err_unknown_scheme),
      cmocka_unit_test(test_err_missing_separator),
      cmocka_unit_test(test_err_bad_percent),
      cmocka_unit_test(test_err_bad_port),
      cmocka_unit_test(test_err_bad_host),
      cmocka_unit_test(test_err_sqlite_host),
      cmocka_unit_test(test_err_sqlite_empty_path),
      cmocka_unit_test(test_err_empty_option_name),
      cmocka_unit_test(test_mask_url),
      cmocka_unit_test(test_mask_in_text),
      cmocka_unit_test(test_mask_key_value),
      cmocka_unit_test(test_mask_against_libpq),
      cmocka_unit_test(test_masked_field_query_password),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  lm_error_clear();
  return rc;
}
