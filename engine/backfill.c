/* Batched backfills: update the existing rows of a table a batch at a time.
 *
 * The table is walked by its primary key with keyset pagination: each batch
 * reads the next keys after the last one done (`WHERE key > $last AND (where)
 * ORDER BY key LIMIT n`), never OFFSET, so every batch costs the same however
 * far the walk has gone, and a run that stopped resumes where the `where`
 * clause says, not where a counter was.
 *
 * SQL form: one UPDATE per batch, rendered by lm_render (LM_OP_BACKFILL_SQL)
 * with the key range of the batch added to the `where`.
 * Function form: the batch's rows are read into memory (at most batch_size
 * rows), the callback computes each row's new values, and one UPDATE … FROM
 * a VALUES list per group of rows setting the same columns writes them back.
 *
 * Transactions: when the backfill is all its step does, each batch commits on
 * its own (short locks on a live table) and the runner records the step only
 * after the step function returns, so a run that stops half-way leaves the
 * step unrecorded and resumable. "All its step does" is judged when the
 * backfill starts: it is the step's first operation, in a multi-step revision
 * (the `backfill` step of expand/contract), and no outer transaction (--dry-run,
 * transaction_per_migration = false) holds the run. An operation that follows
 * it in the same step runs in a new transaction opened after the last batch
 * (lint warns backfill-in-transaction). Outside any transaction (inside
 * autocommit_block) each batch is a transaction too. Anywhere else the
 * batches run inside the step's transaction: atomic, but holding its locks
 * throughout.
 *
 * Between batches lm_interrupted is checked (and before each commit): the
 * batch under way is rolled back and the walk stops with LM_EINTR. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"

#define MAX_SET_COLS 64
/* Progress: redraws on a terminal, lines elsewhere. */
#define DRAW_EVERY_MS 100
#define LINE_EVERY_MS 5000

typedef struct tcol {
  char *name;
  char *type; /* as the dialect reads it (backfill_columns), for its writes */
} tcol;

typedef struct bfrow {
  lm_value *vals; /* nread values: the key, then the columns read */
  uint64_t mask;  /* set columns (function form), bits of job.dict */
  int first, n;   /* its entries in job.sets */
} bfrow;

typedef struct bfset {
  int col; /* index into job.dict */
  lm_value v;
} bfset;

typedef struct job job;

/* The batch's values and their text (the rows read, the values the function
 * set) live in one arena (job.mem), freed at once between batches instead of
 * one malloc and free per value. */
#define BATCH_ARENA_BLOCK (64 * 1024)

/* v with its text copied into the arena. */
static void arena_value(lm_arena *a, lm_value *dst, const lm_value *src) {
  *dst = *src;
  if (src->t == LM_V_TEXT) dst->s = lm_arena_strndup(a, src->s, src->len);
}

struct lm_backfill_row {
  job *j;
  int row; /* the row last taken by lm_backfill_next; -1 none (or interrupted) */
};

typedef struct progress {
  FILE *f;
  int on, tty, verbose;
  long long t0, last;
  long long total; /* rows the where clause matched at the start; -1 unknown */
} progress;

struct job {
  lm_run *run;
  lm_sink *s;
  const lm_dialect *d;
  const lm_backfill *bf;
  int batch_size;
  tcol *cols;
  int ncols;
  int *keys; /* indices into cols; NULL with rowid */
  int nkeys;
  const char *rowid;  /* SQLite table without a primary key: its rowid alias */
  const char **names; /* of the values read: key, then bf->columns */
  int nread;
  int dict[MAX_SET_COLS]; /* set columns met so far: indices into cols */
  int ndict;
  bfrow *rows;
  int nrows, caprows;
  bfset *sets;
  int nsets, capsets;
  lm_arena mem;   /* rows[].vals and sets[].v, with their text */
  lm_value *last; /* key of the last row of the previous batch */
  int have_last;
  long long done, written;
  int batches;
  long long longest_ms;
  progress pr;
  int own; /* each batch commits on its own */
};

/* ---- the table: columns and primary key -------------------------------------- */

typedef struct intro {
  job *j;
  int *keypos; /* per column: position in the primary key, 1-based; 0 none */
  int cap;
} intro;

static int intro_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  intro *in = ud;
  job *j = in->j;
  if (n < 3 || v[0].t != LM_V_TEXT) return 0;
  if (j->ncols == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 16;
    j->cols = lm_xrealloc(j->cols, (size_t)in->cap * sizeof *j->cols);
    in->keypos = lm_xrealloc(in->keypos, (size_t)in->cap * sizeof *in->keypos);
  }
  tcol *c = &j->cols[j->ncols];
  c->name = lm_xstrndup(v[0].s, v[0].len);
  c->type = v[1].t == LM_V_TEXT ? lm_xstrndup(v[1].s, v[1].len) : lm_xstrdup("");
  in->keypos[j->ncols] = v[2].t == LM_V_INT ? (int)v[2].i : 0;
  j->ncols++;
  return 0;
}

static int find_col(const job *j, const char *name) {
  for (int i = 0; i < j->ncols; i++)
    if (strcmp(j->cols[i].name, name) == 0) return i;
  return -1;
}

/* The rowid aliases of the dialect, for a message: "rowid, _rowid_ and oid". */
static void put_aliases(lm_buf *b, const char *const *aliases) {
  for (int k = 0; aliases[k]; k++) {
    if (k) lm_buf_puts(b, aliases[k + 1] ? ", " : " and ");
    lm_buf_puts(b, aliases[k]);
  }
}

/* Reads the table's columns and primary key (the dialect's
 * backfill_columns); a table without one is walked by a rowid alias where
 * the dialect has one. */
static int introspect(job *j) {
  const char *table = j->bf->table;
  lm_stmts l = {0};
  intro in = {j, NULL, 0};
  int rc = lm_dialect_backfill_columns(j->d, table, &l);
  if (!rc) rc = j->s->query(j->s, &l.v[0], intro_row, &in);
  lm_stmts_free(&l);
  if (!rc && j->ncols == 0) rc = lm_error_set(LM_EMIGRATE, "op.backfill: no table \"%s\"", table);
  if (!rc) {
    j->keys = lm_xcalloc((size_t)j->ncols, sizeof *j->keys);
    for (int pos = 1; pos <= j->ncols; pos++)
      for (int i = 0; i < j->ncols; i++)
        if (in.keypos[i] == pos) j->keys[j->nkeys++] = i;
    const char *const *aliases = lm_dialect_rowid_aliases(j->d);
    if (j->nkeys == 0 && !aliases) {
      rc = lm_error_set(LM_EMIGRATE,
                        "op.backfill: table \"%s\" has no primary key to walk it by; add one "
                        "first",
                        table);
    } else if (j->nkeys == 0) {
      /* the first rowid alias no real column hides */
      for (int k = 0; aliases[k] && !j->rowid; k++)
        if (find_col(j, aliases[k]) < 0) j->rowid = aliases[k];
      if (!j->rowid) {
        lm_buf names;
        lm_buf_init(&names);
        put_aliases(&names, aliases);
        rc = lm_error_set(LM_EMIGRATE,
                          "op.backfill: table \"%s\" has no primary key and its rowid is "
                          "hidden by columns named %s",
                          table, names.s);
        lm_buf_free(&names);
      }
    }
  }
  free(in.keypos);
  return rc;
}

static int check_columns(job *j, const char *const *names, int n, const char *what) {
  for (int i = 0; i < n; i++)
    if (find_col(j, names[i]) < 0)
      return lm_error_set(LM_EMIGRATE, "op.backfill: %s \"%s\" is not a column of table \"%s\"",
                          what, names[i], j->bf->table);
  return 0;
}

/* ---- SQL pieces --------------------------------------------------------------------- */

static int nkey(const job *j) { return j->rowid ? 1 : j->nkeys; }

static const char *key_name(const job *j, int k) {
  return j->rowid ? j->rowid : j->cols[j->keys[k]].name;
}

/* The key as a column list. */
static void put_key(const job *j, lm_buf *b) {
  for (int k = 0; k < nkey(j); k++) {
    if (k) lm_buf_puts(b, ", ");
    if (j->rowid)
      lm_buf_puts(b, j->rowid);
    else
      lm_buf_ident(b, key_name(j, k));
  }
}

/* key OP ($first, …): a row-value comparison for a composite key. */
static void put_key_cmp(const job *j, lm_buf *b, const char *op, int first) {
  int n = nkey(j);
  if (n > 1) lm_buf_putc(b, '(');
  put_key(j, b);
  lm_buf_printf(b, "%s %s ", n > 1 ? ")" : "", op);
  if (n > 1) lm_buf_putc(b, '(');
  for (int k = 0; k < n; k++)
    lm_buf_printf(b, k ? ", $%d" : "$%d", first + k);
  if (n > 1) lm_buf_putc(b, ')');
}

/* (where): the author's condition, as a whole */
static void put_cond(const job *j, lm_buf *b) {
  lm_buf_putc(b, '(');
  lm_render_put_sql(j->d, b, j->bf->where);
  lm_buf_putc(b, ')');
}

static void put_where(const job *j, lm_buf *b) {
  lm_buf_puts(b, " WHERE ");
  if (j->have_last) {
    put_key_cmp(j, b, ">", 1);
    if (j->bf->where) lm_buf_puts(b, " AND ");
  }
  if (j->bf->where) put_cond(j, b);
}

/* ---- reading a batch ------------------------------------------------------------------ */

static void clear_batch(job *j) {
  lm_arena_free(&j->mem);
  j->nrows = 0;
  j->nsets = 0;
}

static int batch_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  job *j = ud;
  if (j->nrows == j->caprows) {
    j->caprows = j->caprows ? j->caprows * 2 : 64;
    j->rows = lm_xrealloc(j->rows, (size_t)j->caprows * sizeof *j->rows);
  }
  bfrow *row = &j->rows[j->nrows++];
  memset(row, 0, sizeof *row);
  row->vals = lm_arena_alloc(&j->mem, (size_t)j->nread * sizeof *row->vals);
  for (int i = 0; i < j->nread && i < n; i++)
    arena_value(&j->mem, &row->vals[i], &v[i]);
  return 0;
}

/* The next batch: at most batch_size rows after the last key, in key order. */
static int read_batch(job *j) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "SELECT ");
  put_key(j, &b);
  for (int i = 0; i < j->bf->ncolumns; i++) {
    lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, j->bf->columns[i]);
  }
  lm_buf_puts(&b, " FROM ");
  lm_buf_ident(&b, j->bf->table);
  if (j->have_last || j->bf->where) put_where(j, &b);
  lm_buf_puts(&b, " ORDER BY ");
  put_key(j, &b);
  lm_buf_printf(&b, " LIMIT %d", j->batch_size);
  lm_stmt st = {b.s, j->last, j->have_last ? nkey(j) : 0};
  int rc = j->s->query(j->s, &st, batch_row, j);
  lm_buf_free(&b);
  return rc;
}

/* ---- writing a batch ------------------------------------------------------------------- */

/* SQL form: the batch's key range added to the where, through the renderer. */
static int write_sql_batch(job *j) {
  const lm_backfill *bf = j->bf;
  int n = nkey(j);
  lm_buf w;
  lm_buf_init(&w);
  if (bf->where) {
    put_cond(j, &w);
    lm_buf_puts(&w, " AND ");
  }
  int np = 0;
  lm_value *params = lm_xcalloc((size_t)(2 * n), sizeof *params);
  if (j->have_last) {
    put_key_cmp(j, &w, ">", 1);
    lm_buf_puts(&w, " AND ");
    for (int k = 0; k < n; k++)
      params[np++] = j->last[k];
  }
  put_key_cmp(j, &w, "<=", np + 1);
  for (int k = 0; k < n; k++)
    params[np++] = j->rows[j->nrows - 1].vals[k];
  lm_op op = {.kind = LM_OP_BACKFILL_SQL,
              .table = bf->table,
              .set_cols = bf->set_cols,
              .set_vals = bf->set_vals,
              .nset = bf->nset,
              .where = w.s};
  lm_stmts l = {0};
  int rc = lm_render(j->d, &op, &l);
  for (int i = 0; i < l.n && !rc; i++) {
    lm_stmt st = {l.v[i].sql, params, np};
    rc = j->s->exec(j->s, &st);
  }
  lm_stmts_free(&l);
  free(params);
  lm_buf_free(&w);
  if (!rc) j->written += j->nrows;
  /* for the foreign-key check before COMMIT (SQLite) */
  lm_sink_touch_cols(j->s, bf->table, bf->set_cols, bf->nset);
  return rc;
}

static int set_value(const job *j, const bfrow *row, int col, const lm_value **out) {
  for (int i = row->first; i < row->first + row->n; i++)
    if (j->sets[i].col == col) {
      *out = &j->sets[i].v;
      return 1;
    }
  return 0;
}

/* Function form: the rows of a group (all set the columns of mask m), as
 * the dialect writes them (write_rows). */
static int write_group(job *j, uint64_t m, const int *rows, int nrows) {
  const char *cols[MAX_SET_COLS], *col_types[MAX_SET_COLS];
  int dcols[MAX_SET_COLS], nc = 0;
  for (int d = 0; d < j->ndict; d++)
    if (m & ((uint64_t)1 << d)) {
      dcols[nc] = d;
      cols[nc] = j->cols[j->dict[d]].name;
      col_types[nc++] = j->cols[j->dict[d]].type;
    }
  int nk = nkey(j), per_row = nk + nc;
  const char **keys = lm_xcalloc((size_t)nk, sizeof *keys);
  const char **key_types = lm_xcalloc((size_t)nk, sizeof *key_types);
  for (int k = 0; k < nk; k++) {
    keys[k] = key_name(j, k);
    key_types[k] = j->rowid ? "" : j->cols[j->keys[k]].type;
  }
  const lm_value **vals = lm_xcalloc((size_t)nrows * (size_t)per_row, sizeof *vals);
  for (int r = 0; r < nrows; r++) {
    const bfrow *row = &j->rows[rows[r]];
    const lm_value **out = vals + (size_t)r * (size_t)per_row;
    for (int k = 0; k < nk; k++)
      out[k] = &row->vals[k];
    for (int c = 0; c < nc; c++)
      set_value(j, row, dcols[c], &out[nk + c]);
  }
  lm_rows_update u = {.table = j->bf->table,
                      .keys = keys,
                      .key_types = key_types,
                      .nkeys = nk,
                      .rowid = j->rowid != NULL,
                      .cols = cols,
                      .col_types = col_types,
                      .ncols = nc,
                      .nrows = nrows,
                      .vals = vals};
  int rc = j->s->write_rows(j->s, &u);
  if (!rc) j->written += nrows;
  free(vals);
  free(keys);
  free(key_types);
  return rc;
}

static int write_fn_batch(job *j) {
  int *group = lm_xcalloc((size_t)j->nrows, sizeof *group);
  char *done = lm_xcalloc((size_t)j->nrows, 1);
  int rc = 0;
  for (int r = 0; r < j->nrows && !rc; r++) {
    if (done[r] || j->rows[r].mask == 0) continue;
    uint64_t m = j->rows[r].mask;
    int n = 0;
    for (int q = r; q < j->nrows; q++)
      if (!done[q] && j->rows[q].mask == m) {
        group[n++] = q;
        done[q] = 1;
      }
    rc = write_group(j, m, group, n);
  }
  free(group);
  free(done);
  /* for the foreign-key check before COMMIT (SQLite) */
  for (int d = 0; d < j->ndict; d++) {
    const char *name = j->cols[j->dict[d]].name;
    lm_sink_touch_cols(j->s, j->bf->table, &name, 1);
  }
  return rc;
}

int lm_backfill_row_set(lm_backfill_row *r, const char *col, const lm_value *v) {
  job *j = r->j;
  if (r->row < 0 || r->row >= j->nrows)
    return lm_error_set(LM_EMIGRATE, "op.backfill: a value set outside a row");
  /* the columns set so far first: a function sets the same few columns in
   * every row, and the table may have many */
  int d = 0;
  while (d < j->ndict && strcmp(j->cols[j->dict[d]].name, col) != 0)
    d++;
  int c = d < j->ndict ? j->dict[d] : find_col(j, col);
  if (c < 0)
    return lm_error_set(LM_EMIGRATE,
                        "op.backfill: the function returned \"%s\", which is not a column of "
                        "table \"%s\"",
                        col, j->bf->table);
  if (d == j->ndict) {
    if (j->ndict == MAX_SET_COLS)
      return lm_error_set(LM_EMIGRATE, "op.backfill: the function sets more than %d columns",
                          MAX_SET_COLS);
    j->dict[j->ndict++] = c;
  }
  bfrow *row = &j->rows[r->row];
  uint64_t bit = (uint64_t)1 << d;
  if (row->mask & bit) {
    for (int i = row->first; i < row->first + row->n; i++)
      if (j->sets[i].col == d) arena_value(&j->mem, &j->sets[i].v, v);
    return 0;
  }
  if (j->nsets == j->capsets) {
    j->capsets = j->capsets ? j->capsets * 2 : 256;
    j->sets = lm_xrealloc(j->sets, (size_t)j->capsets * sizeof *j->sets);
  }
  bfset *s = &j->sets[j->nsets++];
  s->col = d;
  arena_value(&j->mem, &s->v, v);
  row->mask |= bit;
  row->n++;
  return 0;
}

/* ---- progress ---------------------------------------------------------------------------- */

static int count_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  if (n > 0 && v[0].t == LM_V_INT) *(long long *)ud = v[0].i;
  if (n > 0 && v[0].t == LM_V_TEXT) *(long long *)ud = strtoll(v[0].s, NULL, 10);
  return 1;
}

/* The rows left to do: the bar's 100 %. */
static int count_rows(job *j) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "SELECT count(*) FROM ");
  lm_buf_ident(&b, j->bf->table);
  if (j->bf->where) {
    lm_buf_puts(&b, " WHERE ");
    put_cond(j, &b);
  }
  lm_stmt st = {b.s, NULL, 0};
  j->pr.total = -1;
  int rc = j->s->query(j->s, &st, count_row, &j->pr.total);
  lm_buf_free(&b);
  return rc;
}

static void fmt_duration(char *out, size_t n, long long s) {
  if (s >= 3600)
    snprintf(out, n, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(out, n, "%lld:%02lld", s / 60, s % 60);
}

static void draw(job *j, int final) {
  progress *p = &j->pr;
  long long now = lm_now_ms();
  if (!final && now - p->last < (p->tty ? DRAW_EVERY_MS : LINE_EVERY_MS)) return;
  p->last = now;
  long long ms = now - p->t0;
  long long rate = ms > 0 ? j->done * 1000 / ms : 0;
  long long total = p->total >= j->done ? p->total : j->done;
  int pct = total > 0 ? (int)(j->done * 100 / total) : 100;
  char left[32] = "?";
  if (rate > 0) fmt_duration(left, sizeof left, (total - j->done) / rate);
  if (p->tty) {
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++)
      bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    fprintf(p->f, "\r\033[Kbackfill %s [%s] %lld/%lld %3d%%  %lld rows/s  %s left", j->bf->table,
            bar, j->done, total, pct, rate, left);
  } else if (!final) {
    fprintf(p->f, "luamig: backfill %s: %lld of %lld rows (%d%%), %lld rows/s, %s left\n",
            j->bf->table, j->done, total, pct, rate, left);
  }
  fflush(p->f);
}

static void batch_done(job *j, int rows, long long ms) {
  j->batches++;
  j->done += rows;
  if (ms > j->longest_ms) j->longest_ms = ms;
  progress *p = &j->pr;
  if (p->verbose) {
    if (p->tty) fputs("\r\033[K", p->f);
    fprintf(p->f, "luamig: backfill %s: batch %d: %d rows in %lld ms\n", j->bf->table, j->batches,
            rows, ms);
  }
  if (p->on) draw(j, 0);
}

static void finish(job *j) {
  progress *p = &j->pr;
  if (!p->on) return;
  if (p->tty) fputs("\r\033[K", p->f);
  long long ms = lm_now_ms() - p->t0;
  fprintf(p->f, "luamig: backfill %s: %lld rows", j->bf->table, j->done);
  if (j->bf->fn) fprintf(p->f, " read, %lld updated,", j->written);
  fprintf(p->f, " in %d batch%s, %lld.%03lld s (longest batch %lld ms)\n", j->batches,
          j->batches == 1 ? "" : "es", ms / 1000, ms % 1000, j->longest_ms);
  fflush(p->f);
}

/* ---- the walk ------------------------------------------------------------------------------ */

/* "id" = 12 (or ("a", "b") = (1, 'x')), for messages. */
static char *describe_key(const job *j, const lm_value *key) {
  lm_buf b;
  lm_buf_init(&b);
  int n = nkey(j);
  if (n > 1) lm_buf_putc(&b, '(');
  put_key(j, &b);
  lm_buf_puts(&b, n > 1 ? ") = (" : " = ");
  for (int k = 0; k < n; k++) {
    if (k) lm_buf_puts(&b, ", ");
    lm_render_literal(j->d, &key[k], &b);
  }
  if (n > 1) lm_buf_putc(&b, ')');
  return lm_buf_steal(&b);
}

static int interrupted(void) { return lm_error_set(LM_EINTR, "interrupted"); }

int lm_backfill_next(lm_backfill_row *b, int *ncols, const char *const **names,
                     const lm_value **vals) {
  job *j = b->j;
  if (lm_interrupted) {
    b->row = -1; /* the batch failed as a whole, not at a row */
    return interrupted();
  }
  if (b->row + 1 >= j->nrows) return 0;
  bfrow *row = &j->rows[++b->row];
  row->first = j->nsets;
  *ncols = j->nread;
  *names = j->names;
  *vals = row->vals;
  return 1;
}

static int compute_rows(job *j, int *failed_row) {
  lm_backfill_row b = {j, -1};
  int rc = j->bf->fn(j->bf->ud, &b);
  if (rc) *failed_row = b.row;
  return rc;
}

static int run_batch(job *j, int own, int *failed_row) {
  lm_sink *s = j->s;
  int rc = own ? s->begin(s) : 0;
  if (!rc) rc = read_batch(j);
  if (!rc && j->nrows > 0) {
    if (j->bf->fn) {
      rc = compute_rows(j, failed_row);
      if (!rc) rc = write_fn_batch(j);
    } else {
      rc = write_sql_batch(j);
    }
  }
  if (!rc && lm_interrupted) rc = interrupted();
  if (own) {
    if (rc)
      s->rollback(s);
    else
      rc = s->commit(s);
  }
  return rc;
}

/* The error says where the walk stopped and, when batches have committed,
 * that they stay and a new run resumes after them. */
static void explain_failure(job *j, int own, int failed_row) {
  if (lm_interrupted) interrupted();
  char *at = NULL;
  if (failed_row >= 0)
    at = describe_key(j, j->rows[failed_row].vals);
  else if (j->have_last)
    at = describe_key(j, j->last);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_printf(&b, "backfill of \"%s\" stopped", j->bf->table);
  if (failed_row >= 0)
    lm_buf_printf(&b, " at the row %s", at);
  else if (at)
    lm_buf_printf(&b, " in the batch after %s", at);
  if (own && j->batches > 0)
    lm_buf_printf(&b, " (%lld rows in %d committed batch%s stay done; running again resumes)",
                  j->done, j->batches, j->batches == 1 ? "" : "es");
  lm_error_prefix("%s", b.s);
  lm_buf_free(&b);
  free(at);
}

static void job_free(job *j) {
  clear_batch(j);
  for (int i = 0; i < j->ncols; i++) {
    free(j->cols[i].name);
    free(j->cols[i].type);
  }
  free(j->cols);
  free(j->keys);
  free(j->names);
  free(j->rows);
  free(j->sets);
  if (j->last)
    for (int k = 0; k < nkey(j); k++)
      lm_value_clear(&j->last[k]);
  free(j->last);
}

static int walk(job *j) {
  int own = j->own;
  lm_sink *s = j->s;
  const lm_backfill *bf = j->bf;
  int rc = introspect(j);
  if (!rc) rc = check_columns(j, bf->set_cols, bf->nset, "set");
  if (!rc) rc = check_columns(j, bf->columns, bf->ncolumns, "columns entry");
  if (rc) return rc;
  int nk = nkey(j);
  j->nread = nk + bf->ncolumns;
  j->names = lm_xcalloc((size_t)j->nread, sizeof *j->names);
  for (int k = 0; k < nk; k++)
    j->names[k] = key_name(j, k);
  for (int i = 0; i < bf->ncolumns; i++)
    j->names[nk + i] = bf->columns[i];
  j->last = lm_xcalloc((size_t)nk, sizeof *j->last);

  lm_project *p = j->run->p;
  j->pr.f = p->err;
  j->pr.on = !p->opts.quiet && !j->run->offline; /* offline: the replay of --sql FROM:TO */
  j->pr.verbose = p->opts.verbose;
  j->pr.tty = j->pr.on && isatty(fileno(p->err));
  j->pr.t0 = j->pr.last = lm_now_ms();
  if (j->pr.on) rc = count_rows(j);
  if (rc) return rc;

  int reopen = own && s->in_tx;
  if (reopen) rc = s->commit(s);
  while (!rc) {
    if (lm_interrupted) {
      rc = interrupted();
      break;
    }
    int failed_row = -1;
    long long t0 = lm_now_ms();
    rc = run_batch(j, own, &failed_row);
    if (rc) {
      explain_failure(j, own, failed_row);
      break;
    }
    int n = j->nrows;
    if (n > 0) {
      for (int k = 0; k < nk; k++) {
        lm_value_clear(&j->last[k]);
        lm_value_copy(&j->last[k], &j->rows[n - 1].vals[k]);
      }
      j->have_last = 1;
      batch_done(j, n, lm_now_ms() - t0);
    }
    clear_batch(j);
    if (n < j->batch_size) break;
  }
  if (!rc)
    finish(j);
  else if (j->pr.tty)
    fputs("\r\033[K", j->pr.f);
  if (!rc && reopen) rc = s->begin(s);
  return rc;
}

static int walk_job(void *ud) { return walk(ud); }

int lm_backfill_run(lm_run *run, const lm_backfill *bf, const char *file, int line) {
  lm_sink *s = run->sink;
  int first_op = run->nops == 0;
  run->nops++;
  /* what the record sink (lint) and --sql take: one record */
  lm_op op = {.kind = LM_OP_BACKFILL_SQL,
              .table = bf->table,
              .where = bf->where,
              .set_cols = bf->set_cols,
              .set_vals = bf->set_vals,
              .nset = bf->nset,
              .names = bf->columns,
              .nnames = bf->ncolumns,
              .file = file,
              .line = line};
  job j;
  memset(&j, 0, sizeof j);
  j.mem.block = BATCH_ARENA_BLOCK;
  j.run = run;
  j.s = s;
  j.d = s->d;
  j.bf = bf;
  j.batch_size = bf->batch_size > 0 ? bf->batch_size : LM_BACKFILL_BATCH_SIZE;
  j.own = !s->outer_tx && (!s->in_tx || (first_op && run->rev && run->rev->multistep));
  int rc = s->backfill(s, &op, walk_job, &j);
  job_free(&j);
  return rc;
}
