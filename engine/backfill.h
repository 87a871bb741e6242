/* Batched backfills (op.backfill): the engine side. The Lua bindings
 * (bindings/backfill.c) turn the call into an lm_backfill; lm_backfill_run
 * walks the table by primary key in batches and writes the new values. */
#ifndef LM_BACKFILL_H
#define LM_BACKFILL_H

#include "lm.h"

#define LM_BACKFILL_BATCH_SIZE 1000

/** A batch being computed by the function form: see lm_backfill_next and
 * lm_backfill_row_set. */
typedef struct lm_backfill_row lm_backfill_row;

/** The function form's callback, once per batch (one call into the
 * bindings, one protected Lua call, for all its rows): it takes the rows in
 * order with lm_backfill_next and records each row's new values with
 * lm_backfill_row_set (none: the row is left alone). Returns 0, or a
 * negative LM_E… code with the error set; the row taken last is the one
 * that failed. */
typedef int (*lm_backfill_fn)(void *ud, lm_backfill_row *batch);

typedef struct lm_backfill {
  const char *table;
  const char *where; /* SQL condition of the rows still to do, or NULL */
  int batch_size;    /* rows per batch; <= 0 means LM_BACKFILL_BATCH_SIZE */
  /* SQL form: SET col = value, rendered by lm_render (LM_OP_BACKFILL_SQL) */
  const char **set_cols;
  lm_default *set_vals;
  int nset;
  /* function form: the columns read, and the callback */
  const char **columns;
  int ncolumns;
  lm_backfill_fn fn;
  void *ud;
} lm_backfill;

/** The batch's next row: 1 with *names and *vals the row (primary key columns,
 * then the columns asked for; *ncols of them, borrowed until the batch
 * ends), 0 after the last row, or LM_EINTR (error set) when interrupted. */
int lm_backfill_next(lm_backfill_row *batch, int *ncols, const char *const **names,
                     const lm_value **vals);

/** Sets column col of the row last taken to a copy of v. */
int lm_backfill_row_set(lm_backfill_row *batch, const char *col, const lm_value *v);

/** Runs a backfill in the running step. Online it walks the table by primary
 * key (keyset pagination) in batches; each batch commits on its own when the
 * backfill is all its step does (the first operation of a step of a
 * multi-step revision, or outside any transaction), otherwise the batches run
 * inside the step's transaction. Offline the SQL form is one UPDATE and the
 * function form fails with LM_EOFFLINE; a record sink receives one
 * LM_OP_BACKFILL_SQL record (nset 0 and names = columns for the function
 * form). file/line locate the call for the record. */
int lm_backfill_run(lm_run *run, const lm_backfill *bf, const char *file, int line);

#endif
