/* Sinks: what happens to rendered statements. Online they run on the
 * connection; under --sql they are printed with their parameters inlined as
 * literals. Both receive exactly the same statements. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lm.h"
#include "recreate.h"

static void trace(lm_sink *s, const char *sql) {
  if (s->trace) fprintf(s->trace, "luamig: sql: %s\n", sql);
}

static int online_exec(lm_sink *s, const lm_stmt *st) {
  trace(s, st->sql);
  return lm_dialect_exec(s->d, s->conn, st);
}

static int online_query(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud) {
  trace(s, st->sql);
  return lm_dialect_query(s->d, s->conn, st, fn, ud);
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
  if ((s->fk.full || s->fk.n > 0) && lm_dialect_checks_commit(s->d)) {
    int rc = lm_dialect_before_commit(s->d, s->conn, s->fk.full ? NULL : &s->fk);
    if (rc) {
      /* the transaction cannot commit; a caller may not roll it back */
      lm_sink_touch_clear(s);
      return rc;
    }
  }
  lm_sink_touch_clear(s);
  int rc = online_simple(s, "COMMIT");
  s->in_tx = 0;
  return rc;
}

static int online_rollback(lm_sink *s) {
  if (s->outer_tx) return 0;
  lm_sink_touch_clear(s);
  if (!s->in_tx) return 0;
  s->in_tx = 0;
  lm_stmt st = {"ROLLBACK", NULL, 0};
  trace(s, st.sql);
  /* a failing ROLLBACK must not replace the error that caused it */
  if (lm_error_code()) {
    lm_error_saved *saved = lm_error_save();
    lm_dialect_exec(s->d, s->conn, &st);
    lm_error_restore(saved);
    return 0;
  }
  return lm_dialect_exec(s->d, s->conn, &st);
}

static void online_comment(lm_sink *s, const char *text) {
  LM_UNUSED(s);
  LM_UNUSED(text);
}

/* ---- streaming, batches, autocommit ---------------------------------------------
 *
 * What op.rows, op.backfill and op.autocommit_block ask of a sink: online
 * they reach the database through the dialect; the record sink (lint,
 * plans) and the print sink (--sql) read no rows. */

static int online_cursor_open(lm_sink *s, const lm_stmt *st, lm_sink_cursor *out) {
  out->d = s->d;
  out->cur = NULL;
  trace(s, st->sql);
  return lm_dialect_cursor_open(s->d, s->conn, st, &out->cur);
}

static int no_rows_cursor_open(lm_sink *s, const lm_stmt *st, lm_sink_cursor *out) {
  LM_UNUSED(st);
  out->d = s->d;
  out->cur = NULL;
  return 0;
}

int lm_sink_cursor_next(lm_sink_cursor *c, int *ncols, const char *const **names,
                        const lm_value **vals) {
  if (!c->cur) return 0;
  return lm_dialect_cursor_next(c->d, c->cur, ncols, names, vals);
}

void lm_sink_cursor_close(lm_sink_cursor *c) {
  lm_cursor *cur = c->cur;
  c->cur = NULL;
  lm_dialect_cursor_close(c->d, cur);
}

static int run_stmt(void *ud, const lm_stmt *st) {
  lm_sink *s = ud;
  return s->exec(s, st);
}

static int sink_write_rows(lm_sink *s, const lm_rows_update *u) {
  return lm_dialect_write_rows(s->d, u, run_stmt, s);
}

static int online_backfill(lm_sink *s, const lm_op *op, int (*walk)(void *ud), void *ud) {
  LM_UNUSED(s), LM_UNUSED(op);
  return walk(ud);
}

static int print_backfill(lm_sink *s, const lm_op *op, int (*walk)(void *ud), void *ud) {
  LM_UNUSED(walk), LM_UNUSED(ud);
  if (op->nset == 0)
    return lm_error_set(LM_EOFFLINE,
                        "op.backfill needs a live database; it is not available with --sql");
  return lm_sink_op(s, op);
}

static int record_backfill(lm_sink *s, const lm_op *op, int (*walk)(void *ud), void *ud) {
  LM_UNUSED(walk), LM_UNUSED(ud);
  return lm_sink_op(s, op);
}

static void no_autocommit_begin(lm_sink *s, const char *file, int line) {
  LM_UNUSED(s), LM_UNUSED(file), LM_UNUSED(line);
}

static void no_autocommit_end(lm_sink *s) { LM_UNUSED(s); }

static void record_autocommit_begin(lm_sink *s, const char *file, int line) {
  if (s->on_autocommit) s->on_autocommit(s->op_ud, file, line, 1);
}

static void record_autocommit_end(lm_sink *s) {
  if (s->on_autocommit) s->on_autocommit(s->op_ud, NULL, 0, 0);
}

/* The methods every kind of sink has alike. */
static void sink_init(lm_sink *s, const lm_dialect *d) {
  memset(s, 0, sizeof *s);
  s->d = d;
  s->write_rows = sink_write_rows;
  s->cursor_open = no_rows_cursor_open;
  s->autocommit_begin = no_autocommit_begin;
  s->autocommit_end = no_autocommit_end;
  /* without ALTER COLUMN, batch_alter_table is one move-and-copy */
  s->batch_collects = !lm_dialect_has_cap(d, LM_CAP_ALTER_COLUMN);
}

void lm_sink_online(lm_sink *s, const lm_dialect *d, lm_conn *c) {
  sink_init(s, d);
  s->cursor_open = online_cursor_open;
  s->backfill = online_backfill;
  s->exec = online_exec;
  s->query = online_query;
  s->inspect = online_query;
  s->begin = online_begin;
  s->commit = online_commit;
  s->rollback = online_rollback;
  s->comment = online_comment;
  s->d = d;
  s->conn = c;
  s->shadow = c;
}

/* Every statement of a print sink also runs on the shadow, when there is
 * one, so that move-and-copy can read the tables the script has made so far;
 * the replay sink (out NULL) only runs them there. */
static int shadow_exec(lm_sink *s, const lm_stmt *st) {
  int rc = lm_dialect_exec(s->d, s->shadow, st);
  if (rc)
    lm_error_prefix("--sql replays its script on an empty in-memory database to render "
                    "move-and-copy, and a statement failed there");
  return rc;
}

static int replay_one(void *s, const lm_stmt *st) { return shadow_exec(s, st); }

int lm_sink_shadow_sync(lm_sink *s) {
  if (!s->shadow_pending || !s->shadow) return 0;
  return lm_stmt_log_replay(s->shadow_pending, replay_one, s);
}

/* ---- move-and-copy -------------------------------------------------------------
 *
 * The dialect reads the table from the shadow and says what to run; the
 * sink brings the shadow up to date first, notes what the copy touches for
 * the foreign-key check, and runs the statements. */

static int run_plain(lm_sink *s, const lm_op *op) {
  lm_stmts l = {0};
  int rc = lm_render(s->d, op, &l);
  if (!rc) rc = lm_sink_stmts(s, &l);
  lm_stmts_free(&l);
  return rc;
}

static int located(const lm_op *op, int rc) {
  if (rc && op && op->file && !lm_error_last()->file) lm_error_set_location(op->file, op->line);
  return rc;
}

/* Runs the column renames of a move-and-copy: the k-th statement renames
 * for the k-th op that renames a column. */
static int run_renames(lm_sink *s, const lm_op *const *ops, int n, const lm_stmts *l) {
  int rc = 0, k = 0;
  for (int i = 0; i < n && k < l->n && !rc; i++) {
    if (ops[i]->kind != LM_OP_ALTER_COLUMN || !ops[i]->new_name) continue;
    rc = located(ops[i], s->exec(s, &l->v[k++]));
  }
  return rc;
}

int lm_recreate_ops(lm_sink *s, const char *table, const lm_op *const *ops, int n,
                    lm_recreate_mode mode) {
  int rc = 0;
  int maybe = mode == LM_RECREATE_ALWAYS;
  const lm_op *wants = n ? ops[0] : NULL;
  for (int i = n - 1; i >= 0; i--) {
    if (lm_dialect_recreate_wanted(s->d, ops[i])) maybe = 1, wants = ops[i];
    lm_sink_touch_op(s, ops[i]);
  }
  if (!s->shadow && s->shadow_lost && maybe && lm_dialect_can_recreate(s->d))
    return located(wants, lm_error_set(LM_EOFFLINE,
                                       "%s on table \"%s\" may need a move-and-copy, which reads "
                                       "the table as it is at FROM, but the revisions up to FROM "
                                       "could not be replayed into the in-memory schema: %s; a "
                                       "revision up to FROM can skip its reads under --sql with "
                                       "`if not context.offline then ... end`",
                                       wants ? lm_op_name(wants->kind) : "batch_alter_table", table,
                                       s->shadow_lost));
  if (!s->shadow || !lm_dialect_can_recreate(s->d) || !maybe) {
    for (int i = 0; i < n && !rc; i++)
      rc = located(ops[i], run_plain(s, ops[i]));
    return rc;
  }
  /* a copy runs with foreign keys unenforced: check its rows and the
   * tables referencing it before COMMIT */
  lm_sink_touch(s, table, LM_FK_OWN | LM_FK_REFERENCED);
  lm_stmts l = {0};
  lm_recreate_req rq = {.table = table, .ops = ops, .n = n, .mode = (int)mode, .stmts = &l};
  rc = located(n ? ops[0] : NULL, lm_sink_shadow_sync(s));
  if (!rc) rc = lm_dialect_recreate(s->d, s->shadow, &rq);
  if (!rc && rq.again) {
    rc = run_renames(s, ops, n, &l);
    lm_stmts_free(&l);
    rq.again = 0;
    rq.renamed = 1;
    if (!rc) rc = lm_sink_shadow_sync(s);
    if (!rc) rc = lm_dialect_recreate(s->d, s->shadow, &rq);
  }
  if (!rc && rq.plain) {
    for (int i = 0; i < n && !rc; i++)
      rc = located(ops[i], run_plain(s, ops[i]));
  } else {
    for (int i = 0; i < l.n && !rc; i++) {
      rc = s->exec(s, &l.v[i]);
      if (rc) {
        lm_error_prefix("move-and-copy of table \"%s\"", rq.name ? rq.name : table);
        /* the statement names the failing op's line best through the first op */
        located(n ? ops[0] : NULL, rc);
      }
    }
  }
  lm_stmts_free(&l);
  free(rq.name);
  return rc;
}

/* The shadow holds the schema a move-and-copy reads, not rows: a statement
 * that only writes rows (the chain's data, the version table's) is not run
 * there. Its tables stay empty, so every later statement that runs there
 * (a NOT NULL or CHECK copy, a backfill, which walks none) still can. */
static int print_exec(lm_sink *s, const lm_stmt *st) {
  int schema = s->shadow && !(st->sql && lm_sql_writes_rows_only(st->sql, strlen(st->sql)));
  if (schema && s->shadow_pending)
    lm_stmt_log_add(s->shadow_pending, st);
  else if (schema) {
    int rc = shadow_exec(s, st);
    if (rc) return rc;
  }
  if (!s->out) return 0;
  char *sql = lm_render_inline(s->d, st);
  size_t n = strlen(sql);
  while (n > 0 && (sql[n - 1] == ' ' || sql[n - 1] == '\n' || sql[n - 1] == '\t'))
    n--;
  fwrite(sql, 1, n, s->out);
  /* a closing -- comment would swallow the terminator */
  int comment = lm_render_ends_in_comment(s->d, sql, n);
  int ends = n > 0 && sql[n - 1] == ';' && !comment;
  fputs(ends ? "\n\n" : comment ? "\n;\n\n" : ";\n\n", s->out);
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
  sink_init(s, d);
  s->backfill = print_backfill;
  s->exec = print_exec;
  s->query = NULL;
  s->begin = print_begin;
  s->commit = print_commit;
  s->rollback = print_rollback;
  s->comment = print_comment;
  s->d = d;
  s->out = out;
}

/* ---- the replay of --sql FROM:TO ---------------------------------------------
 *
 * The revisions up to FROM run into the shadow only, for the schema at FROM
 * that a move-and-copy in the printed range reads. They run there as online
 * on an empty database, their statements that only write rows left out
 * (print_exec), so that the shadow stays a database the printed statements
 * can run on: its tables stay empty, a backfill walks no rows, op.has_*
 * asks the shadow's schema. A revision's own reads are refused: their answer, from
 * rows that are not the database's, could change what the replay makes. */

static int replay_query(lm_sink *s, const lm_stmt *st, lm_row_fn fn, void *ud) {
  int rc = lm_sink_shadow_sync(s);
  return rc ? rc : lm_dialect_query(s->d, s->shadow, st, fn, ud);
}

void lm_sink_replay(lm_sink *s, const lm_dialect *d, lm_conn *shadow, lm_stmt_log *pending) {
  lm_sink_print(s, d, NULL);
  s->backfill = online_backfill;
  s->query = replay_query;
  s->inspect = replay_query;
  s->refuse_reads = 1;
  s->shadow = shadow;
  s->shadow_pending = pending;
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
  sink_init(s, d);
  s->backfill = record_backfill;
  s->autocommit_begin = record_autocommit_begin;
  s->autocommit_end = record_autocommit_end;
  s->batch_collects = 0; /* records each op of the batch */
  s->exec = record_exec;
  s->query = record_query;
  s->inspect = record_query;
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

/* ---- what a transaction changed ------------------------------------------------
 *
 * Foreign keys are not enforced while SQLite migrates (a move-and-copy drops
 * tables others reference), so before COMMIT the dialect checks them, but
 * only where the transaction could have broken one: the rows of a table
 * that gained rows or foreign keys, and the tables referencing one that lost
 * rows or keys. A transaction that only added tables, columns or indexes
 * without foreign keys, or updated columns no foreign key involves, checks
 * nothing; a statement whose tables are unknown (op.execute) checks the
 * whole database, as every transaction used to. */

static int tracks(const lm_sink *s) {
  return s->commit == online_commit && lm_dialect_checks_commit(s->d);
}

static lm_fk_touch *touch_entry(lm_sink *s, const char *table) {
  lm_fk_scope *f = &s->fk;
  for (int i = 0; i < f->n; i++)
    if (strcasecmp(f->v[i].table, table) == 0) return &f->v[i];
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 8;
    f->v = lm_xrealloc(f->v, (size_t)f->cap * sizeof *f->v);
  }
  lm_fk_touch *t = &f->v[f->n++];
  memset(t, 0, sizeof *t);
  t->table = lm_xstrdup(table);
  return t;
}

void lm_sink_touch(lm_sink *s, const char *table, int what) {
  if (!tracks(s) || !what) return;
  if (!table)
    s->fk.full = 1;
  else
    touch_entry(s, table)->what |= what;
}

void lm_sink_touch_cols(lm_sink *s, const char *table, const char *const *cols, int n) {
  if (!tracks(s) || n <= 0) return;
  if (!table) {
    s->fk.full = 1;
    return;
  }
  lm_fk_touch *t = touch_entry(s, table);
  for (int i = 0; i < n; i++) {
    int seen = 0;
    for (int k = 0; k < t->ncols && !seen; k++)
      seen = strcasecmp(t->cols[k], cols[i]) == 0;
    if (seen) continue;
    t->cols = lm_xrealloc(t->cols, (size_t)(t->ncols + 1) * sizeof *t->cols);
    t->cols[t->ncols++] = lm_xstrdup(cols[i]);
  }
}

void lm_sink_touch_clear(lm_sink *s) {
  lm_fk_scope *f = &s->fk;
  for (int i = 0; i < f->n; i++) {
    free(f->v[i].table);
    for (int k = 0; k < f->v[i].ncols; k++)
      free(f->v[i].cols[k]);
    free(f->v[i].cols);
  }
  free(f->v);
  memset(f, 0, sizeof *f);
}

static int has_fk(const lm_op *op) {
  for (int i = 0; i < op->ncols; i++)
    if (op->cols[i].ref_table) return 1;
  for (int i = 0; i < op->ncons; i++)
    if (op->cons[i].kind == LM_CON_FK) return 1;
  return 0;
}

void lm_sink_touch_op(lm_sink *s, const lm_op *op) {
  if (!tracks(s)) return;
  const int both = LM_FK_OWN | LM_FK_REFERENCED;
  switch (op->kind) {
  /* a new table: its own rows (none yet, unless inserted later) and keys;
   * it cannot take a parent row from anyone */
  case LM_OP_CREATE_TABLE: lm_sink_touch(s, op->table, has_fk(op) ? LM_FK_OWN : 0); break;
  case LM_OP_BULK_INSERT: lm_sink_touch(s, op->table, LM_FK_OWN); break;
  case LM_OP_ADD_COLUMN: lm_sink_touch(s, op->table, has_fk(op) ? LM_FK_OWN : 0); break;
  case LM_OP_CREATE_FK: lm_sink_touch(s, op->table, LM_FK_OWN); break;
  case LM_OP_DROP_TABLE: lm_sink_touch(s, op->table, LM_FK_REFERENCED); break;
  /* SQLite rewrites the references to a renamed table; the new name may
   * have been referenced already */
  case LM_OP_RENAME_TABLE: lm_sink_touch(s, op->new_name ? op->new_name : NULL, both); break;
  case LM_OP_DROP_COLUMN:
  case LM_OP_ALTER_COLUMN:
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_DROP_CONSTRAINT: lm_sink_touch(s, op->table, both); break;
  /* a unique index a foreign key needs may go */
  case LM_OP_DROP_INDEX: lm_sink_touch(s, op->table, LM_FK_REFERENCED); break;
  case LM_OP_CREATE_INDEX:
  case LM_OP_CREATE_CHECK: break;
  /* batches record their own columns (engine/backfill.c) */
  case LM_OP_BACKFILL_SQL: lm_sink_touch_cols(s, op->table, op->set_cols, op->nset); break;
  case LM_OP_EXECUTE:
  default: lm_sink_touch(s, NULL, LM_FK_OWN); break;
  }
}

int lm_sink_op(lm_sink *s, const lm_op *op) {
  if (s->on_op) return s->on_op(s->op_ud, op);
  lm_sink_touch_op(s, op);
  /* what ALTER TABLE cannot do becomes a move-and-copy (SQLite) */
  if (op->table && (s->shadow || s->shadow_lost) && lm_dialect_recreate_wanted(s->d, op) &&
      lm_dialect_can_recreate(s->d))
    return lm_recreate_ops(s, op->table, &op, 1, LM_RECREATE_AUTO);
  lm_stmts l = {0};
  int rc = lm_render(s->d, op, &l);
  if (!rc) rc = lm_sink_stmts(s, &l);
  lm_stmts_free(&l);
  return rc;
}
