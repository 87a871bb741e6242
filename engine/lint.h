/* Lint (SPEC §8): each revision's functions run against a recording sink, the
 * op records are copied into plain arrays, and the rules run on those arrays.
 * The rules never see Lua, so they are tested with hand-made op lists. */
#ifndef LM_LINT_H
#define LM_LINT_H

#include <stdio.h>

#include "lm.h"
#include "luamig/lint.h"

/** A column of create_table / add_column, as far as the rules need it. */
typedef struct lm_lint_column {
  char *name, *type;
  int nullable, primary_key, autoincrement; /* autoincrement: -1 auto, 0, 1 */
  int has_default;                          /* a server_default is given */
} lm_lint_column;

/** A deep copy of one lm_op record: it outlives the Lua call that made it. */
typedef struct lm_lint_op {
  lm_op_kind kind;
  char *table, *name, *new_name; /* name: column, index or constraint */
  char *type;                    /* alter_column: the new type */
  char *where;                   /* backfill (and create_index) where clause */
  lm_lint_column *cols;
  int ncols;
  int nullable; /* alter_column: -1 unset, 0 NOT NULL, 1 NULL */
  int concurrently, not_valid;
  char *file;
  int line;
} lm_lint_op;

/** What one function (an upgrade, a downgrade, a step's up or down) did. */
typedef struct lm_lint_fn {
  lm_lint_op *ops;
  int n, cap;
  int present; /* the function exists */
  int line;    /* where it is defined, 0 when unknown */
  int failed;  /* a Lua error stopped it: ops is a prefix */
  /* op.autocommit_block calls that commit operations made before them in
   * the same function (ops-before-autocommit) */
  struct lm_lint_block {
    char *file;
    int line;
    int nbefore; /* operations the block's start commits */
  } * blocks;
  int nblocks;
  int block_end; /* fn->n when the last block ended, -1 inside one */
} lm_lint_fn;

/** op.autocommit_block starts (begin 1) or ends (0) at file:line in fn. */
void lm_lint_fn_autocommit(lm_lint_fn *fn, const char *file, int line, int begin);

/** One revision as lint sees it: up[i] / down[i] for each step (one step for
 * a plain upgrade/downgrade revision). */
typedef struct lm_lint_rev {
  const char *id, *path;
  const char *const *step_names; /* NULL for a plain revision */
  int nsteps;
  lm_lint_fn *up, *down;
  const lm_dialect *dialect; /* whose types count as known; NULL: every dialect's */
} lm_lint_rev;

/** The file name as shown in github and sarif output: relative to base when
 * it lies below it. Free the result. */
char *lm_report_relpath(const char *base, const char *file);

/** LM_ECHECK when an upgrade plan would run a revision autogenerate marked
 * with a possible rename whose drop-then-add error lint still reports: the
 * generated pair would drop the column's data. Runs nothing on a database. */
int lm_lint_refuse_marked(lm_project *p, const lm_plan *plan);

/* ---- the pieces, exposed for the unit tests --------------------------------- */

/** The op kinds that are a backfill. The hook for new backfill kinds. */
int lm_lint_is_backfill(lm_op_kind k);
/** Appends a deep copy of op to fn. */
void lm_lint_fn_record(lm_lint_fn *fn, const lm_op *op);
void lm_lint_fn_free(lm_lint_fn *fn);
/** Applies every revision rule of SPEC §8 to r. postgres: the PostgreSQL-only
 * rules apply too. */
void lm_lint_check_revision(const lm_lint_rev *r, int postgres, lm_lint_findings *out);
/** The line of luamig.lua text holding a URL with a literal password, or 0. */
int lm_lint_password_line(const char *text);
/** Whether `-- luamig: allow RULE` silences rule at line of this file text:
 * on the comment lines just above line, on line itself, or in the header. */
int lm_lint_allowed(const char *text, int line, const char *rule);
/** The dialect a rule concerns when it concerns only one ("postgresql"), or NULL. */
const char *lm_lint_rule_dialect(const char *rule);
/** Sorts by file, then line, then discovery order; drops exact duplicates. */
void lm_lint_sort(lm_lint_findings *f);
void lm_lint_print(const lm_lint_findings *f, int json, FILE *out);
/** Appends a copy of every finding of from to to (keeping their order). */
void lm_lint_findings_append(lm_lint_findings *to, const lm_lint_findings *from);

#endif
