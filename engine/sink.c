/* Sinks: what happens to rendered statements. Online they run on the
 * connection; under --sql they are printed with their parameters inlined as
 * literals. Both receive exactly the same statements. */
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "recreate.h"

static void trace(lm_sink *s, const char *sql) {
  if (s->trace) fprintf(s->trace, "luamig: sql: %s\n", sql);
}

static int online_exec(lm_sink *s, const lm_stmt *st) {
  trace(s, st->sql);
  return s->d->exec(s->conn, st);
}

static int online_query(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud) {
  trace(s, st->sql);
  return s->d->query(s->conn, st, fn, ud);
}

static int online_simple(lm_sink *s, const char *sql) {
  lm_stmt st = {(char *)sql, NULL, 0};
  return online_exec(s, &st);
}

static int online_begin(lm_sink *s) {
  if (s->outer_tx) return 0;
  int rc = online_simple(s, s->d->begin_sql);
  if (!rc) s->in_tx = 1;
  return rc;
}

static int online_commit(lm_sink *s) {
  if (s->outer_tx) return 0;
  if (s->fk_check && s->d->before_commit) {
    int rc = s->d->before_commit(s->conn);
    if (rc) return rc;
  }
  s->fk_check = 0;
  int rc = online_simple(s, "COMMIT");
  s->in_tx = 0;
  return rc;
}

static int online_rollback(lm_sink *s) {
  if (s->outer_tx || !s->in_tx) return 0;
  s->in_tx = 0;
  s->fk_check = 0;
  lm_stmt st = {"ROLLBACK", NULL, 0};
  trace(s, st.sql);
  /* a failing ROLLBACK must not replace the error that caused it */
  if (lm_error_code()) {
    lm_error_saved *saved = lm_error_save();
    s->d->exec(s->conn, &st);
    lm_error_restore(saved);
    return 0;
  }
  return s->d->exec(s->conn, &st);
}

static void online_comment(lm_sink *s, const char *text) {
  LM_UNUSED(s);
  LM_UNUSED(text);
}

void lm_sink_online(lm_sink *s, const lm_dialect *d, lm_conn *c) {
  memset(s, 0, sizeof *s);
  s->exec = online_exec;
  s->query = online_query;
  s->begin = online_begin;
  s->commit = online_commit;
  s->rollback = online_rollback;
  s->comment = online_comment;
  s->d = d;
  s->conn = c;
  s->shadow = c;
}

/* out may be NULL: a silent print sink only replays into its shadow (the
 * revisions before FROM of --sql FROM:TO). Every statement also runs on the
 * shadow, when there is one, so that move-and-copy can read the tables the
 * script has made so far. */
static int shadow_exec(lm_sink *s, const lm_stmt *st) {
  int rc = s->d->exec(s->shadow, st);
  if (rc)
    lm_error_prefix("--sql replays its script on an empty in-memory database to render "
                    "move-and-copy, and a statement failed there");
  return rc;
}

int lm_sink_shadow_sync(lm_sink *s) {
  lm_stmts *l = s->shadow_pending;
  if (!l || !s->shadow) return 0;
  int rc = 0;
  for (int i = 0; i < l->n && !rc; i++)
    rc = shadow_exec(s, &l->v[i]);
  lm_stmts_free(l);
  return rc;
}

static int print_exec(lm_sink *s, const lm_stmt *st) {
  if (s->shadow && s->shadow_pending)
    lm_stmts_add(s->shadow_pending, lm_xstrdup(st->sql), st->params, st->nparams);
  else if (s->shadow) {
    int rc = shadow_exec(s, st);
    if (rc) return rc;
  }
  if (!s->out) return 0;
  char *sql = lm_render_inline(s->d, st);
  size_t n = strlen(sql);
  while (n > 0 && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t'))
    n--;
  fwrite(sql, 1, n, s->out);
  /* a last line with a -- comment would swallow the terminator */
  const char *last = sql + n;
  while (last > sql && last[-1] != '\n')
    last--;
  const char *dash = strstr(last, "--");
  int ends = n > 0 && sql[n - 1] == ';' && !(dash && dash < sql + n);
  fputs(ends ? "\n\n" : dash && dash < sql + n ? "\n;\n\n" : ";\n\n", s->out);
  free(sql);
  return 0;
}

static int print_begin(lm_sink *s) {
  if (s->outer_tx) return 0;
  if (s->out) fputs("BEGIN;\n\n", s->out);
  s->in_tx = 1;
  return 0;
}

static int print_commit(lm_sink *s) {
  if (s->outer_tx) return 0;
  if (s->out) fputs("COMMIT;\n\n", s->out);
  s->in_tx = 0;
  return 0;
}

static int print_rollback(lm_sink *s) {
  s->in_tx = 0;
  return 0;
}

/* A comment is one line whatever the text holds (a revision's message, step
 * name, id): a line break in it would turn the rest into SQL. */
static void print_comment(lm_sink *s, const char *text) {
  if (!s->out) return;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_put_printable(&b, text);
  fprintf(s->out, "-- %s\n\n", b.s ? b.s : "");
  lm_buf_free(&b);
}

void lm_sink_print(lm_sink *s, const lm_dialect *d, FILE *out) {
  memset(s, 0, sizeof *s);
  s->exec = print_exec;
  s->query = NULL;
  s->begin = print_begin;
  s->commit = print_commit;
  s->rollback = print_rollback;
  s->comment = print_comment;
  s->d = d;
  s->out = out;
}

static int record_exec(lm_sink *s, const lm_stmt *st) {
  LM_UNUSED(s), LM_UNUSED(st);
  return 0;
}

static int record_query(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud) {
  LM_UNUSED(s), LM_UNUSED(st), LM_UNUSED(fn), LM_UNUSED(ud);
  return 0;
}

static int record_tx(lm_sink *s) {
  LM_UNUSED(s);
  return 0;
}

static void record_comment(lm_sink *s, const char *text) { LM_UNUSED(s), LM_UNUSED(text); }

void lm_sink_record(lm_sink *s, const lm_dialect *d, int (*fn)(void *ud, const lm_op *op),
                    void *ud) {
  memset(s, 0, sizeof *s);
  s->exec = record_exec;
  s->query = record_query;
  s->begin = record_tx;
  s->commit = record_tx;
  s->rollback = record_tx;
  s->comment = record_comment;
  s->d = d;
  s->on_op = fn;
  s->op_ud = ud;
}

int lm_sink_stmts(lm_sink *s, const lm_stmts *l) {
  for (int i = 0; i < l->n; i++) {
    int rc = s->exec(s, &l->v[i]);
    if (rc) return rc;
  }
  return 0;
}

int lm_sink_op(lm_sink *s, const lm_op *op) {
  if (s->on_op) return s->on_op(s->op_ud, op);
  /* Foreign keys are not enforced while SQLite migrates, so a transaction
   * that changed anything is checked before COMMIT. Backfill batches are
   * exempt: they commit one by one, and a full check per batch would cost
   * a scan of every child table each time. */
  if (op->kind != LM_OP_BACKFILL_SQL) s->fk_check = 1;
  /* SQLite: what ALTER TABLE cannot do becomes a move-and-copy. */
  if (lm_recreate_wanted(s, op)) return lm_recreate_ops(s, op->table, &op, 1, LM_RECREATE_AUTO);
  lm_stmts l = {0};
  int rc = lm_render(s->d, op, &l);
  if (!rc) rc = lm_sink_stmts(s, &l);
  lm_stmts_free(&l);
  return rc;
}
