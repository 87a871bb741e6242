/* Lint (SPEC §8): each revision's functions run against a recording sink, the
 * op records are copied into plain arrays, and the rules run on those arrays.
 * The rules never see Lua, so they are tested with hand-made op lists. */
#ifndef LM_LINT_H
#define LM_LINT_H

#include <stdio.h>

#include "lm.h"

typedef enum lm_lint_severity { LM_LINT_WARNING, LM_LINT_ERROR } lm_lint_severity;

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
} lm_lint_rev;

typedef struct lm_lint_finding {
  char *file;
  int line;
  lm_lint_severity severity;
  const char *rule; /* static */
  char *message, *hint;
  int seq; /* order of discovery: keeps the sort stable */
} lm_lint_finding;

typedef struct lm_lint_findings {
  lm_lint_finding *v;
  int n, cap;
} lm_lint_findings;

/** Lints the named revisions (ids, prefixes or labels; all of them in
 * topological order when nrevs is 0) of an opened project without touching a
 * database, and prints the findings to out (text or a JSON array). Counts go
 * to nerrors / nwarnings. Returns 0 even when findings are errors: the caller
 * decides the exit code; an unknown revision name is LM_EUSAGE. */
int lm_lint(lm_project *p, const char *const *revs, int nrevs, int json, FILE *out, int *nerrors,
            int *nwarnings);

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
/** Adds a finding (copies the strings). */
void lm_lint_add(lm_lint_findings *f, const char *file, int line, lm_lint_severity sev,
                 const char *rule, const char *hint, const char *fmt, ...) LM_PRINTF(7, 8);
/** Sorts by file, then line, then discovery order; drops exact duplicates. */
void lm_lint_sort(lm_lint_findings *f);
void lm_lint_print(const lm_lint_findings *f, int json, FILE *out);
void lm_lint_findings_free(lm_lint_findings *f);

#endif
