/* Statements set aside for the --sql shadow database (engine/stmt_log.c):
 * they come back in order, with their parameters exact, only once, and a
 * replay stops at the first statement that fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lm.h"

typedef struct seen {
  lm_buf text; /* each statement and its parameters, as read back */
  int n, fail_at;
} seen;

static int collect(void *ud, const lm_stmt *st) {
  seen *s = ud;
  lm_buf_printf(&s->text, "[%s|%d", st->sql, st->nparams);
  for (int k = 0; k < st->nparams; k++) {
    const lm_value *v = &st->params[k];
    switch (v->t) {
    case LM_V_NULL: lm_buf_puts(&s->text, "|null"); break;
    case LM_V_INT: lm_buf_printf(&s->text, "|i%lld", v->i); break;
    case LM_V_BOOL: lm_buf_printf(&s->text, "|b%lld", v->i); break;
    case LM_V_FLOAT: lm_buf_printf(&s->text, "|f%a", v->f); break;
    case LM_V_TEXT:
      lm_buf_printf(&s->text, "|t%zu:", v->len);
      lm_buf_put(&s->text, v->s, v->len);
      assert_int_equal(v->s[v->len], 0); /* still a C string */
      break;
    }
  }
  lm_buf_putc(&s->text, ']');
  return ++s->n == s->fail_at ? LM_EMIGRATE : 0;
}

static void test_replay_in_order_once(void **state) {
  (void)state;
  lm_stmt_log g;
  assert_int_equal(lm_stmt_log_open(&g), 0);
  char text[] = "it's\0binary";
  lm_value p[5] = {{.t = LM_V_INT, .i = -42},
                   {.t = LM_V_FLOAT, .f = 0.1},
                   {.t = LM_V_TEXT, .s = text, .len = sizeof text - 1},
                   {.t = LM_V_NULL},
                   {.t = LM_V_BOOL, .i = 1}};
  lm_stmt a = {"CREATE TABLE t (a INTEGER)", NULL, 0};
  lm_stmt b = {"INSERT INTO t VALUES ($1, $2, $3, $4, $5)", p, 5};
  lm_stmt c = {"", NULL, 0};
  lm_stmt_log_add(&g, &a);
  lm_stmt_log_add(&g, &b);
  lm_stmt_log_add(&g, &c);
  seen s = {.fail_at = -1};
  lm_buf_init(&s.text);
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), 0);
  const char want[] = "[CREATE TABLE t (a INTEGER)|0][INSERT INTO t VALUES ($1, $2, $3, $4, $5)|5"
                      "|i-42|f0x1.999999999999ap-4|t11:it's\0binary|null|b1][|0]";
  assert_int_equal(s.text.len, sizeof want - 1);
  assert_memory_equal(s.text.s, want, sizeof want - 1);
  assert_int_equal(s.n, 3);
  /* replayed once: a second replay has nothing */
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), 0);
  assert_int_equal(s.n, 3);
  /* what comes after is replayed alone, from the start of the emptied log */
  lm_stmt_log_add(&g, &a);
  lm_buf_free(&s.text);
  lm_buf_init(&s.text);
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), 0);
  assert_string_equal(s.text.s, "[CREATE TABLE t (a INTEGER)|0]");
  lm_buf_free(&s.text);
  lm_stmt_log_close(&g);
}

static void test_replay_stops_at_failure(void **state) {
  (void)state;
  lm_stmt_log g;
  assert_int_equal(lm_stmt_log_open(&g), 0);
  char sql[3][8] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++) {
    lm_stmt st = {sql[i], NULL, 0};
    lm_stmt_log_add(&g, &st);
  }
  seen s = {.fail_at = 2};
  lm_buf_init(&s.text);
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), LM_EMIGRATE);
  assert_string_equal(s.text.s, "[one|0][two|0]");
  /* the rest is dropped with the failed replay */
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), 0);
  assert_int_equal(s.n, 2);
  lm_buf_free(&s.text);
  lm_stmt_log_close(&g);
}

/* Many statements, past any buffer: all of them, in order. */
static void test_replay_many(void **state) {
  (void)state;
  lm_stmt_log g;
  assert_int_equal(lm_stmt_log_open(&g), 0);
  char sql[64];
  for (int i = 0; i < 20000; i++) {
    snprintf(sql, sizeof sql, "S%d", i);
    lm_value v = {.t = LM_V_INT, .i = i};
    lm_stmt st = {sql, &v, 1};
    lm_stmt_log_add(&g, &st);
  }
  seen s = {.fail_at = -1};
  lm_buf_init(&s.text);
  assert_int_equal(lm_stmt_log_replay(&g, collect, &s), 0);
  assert_int_equal(s.n, 20000);
  assert_non_null(strstr(s.text.s, "[S0|1|i0][S1|1|i1]"));
  assert_non_null(strstr(s.text.s, "[S19999|1|i19999]"));
  lm_buf_free(&s.text);
  lm_stmt_log_close(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_replay_in_order_once),
      cmocka_unit_test(test_replay_stops_at_failure),
      cmocka_unit_test(test_replay_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
