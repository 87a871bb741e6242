/* Lint (SPEC §8): each revision's functions run against a recording sink, the
 * op records are copied into plain arrays, and the rules run on those arrays.
 * The rules never see Lua, so they are tested with hand-made op lists. */
#ifndef LM_LINT_H
#define LM_LINT_H

#include <stdio.h>

#include "lm.h"

/** Where the tool's documentation lives (SARIF's informationUri). */
#ifndef LUAMIG_HOMEPAGE
#define LUAMIG_HOMEPAGE "https://github.com/luamig/luamig"
#endif

typedef enum lm_lint_severity { LM_LINT_WARNING, LM_LINT_ERROR } lm_lint_severity;

/** Who reports a rule: lint (and check, which runs lint), or check alone. */
enum { LM_RULE_LINT = 1, LM_RULE_CHECK = 2 };

/** One rule: the id findings carry, its usual level, a one-line summary and
 * the help text (SARIF's rules, `luamig __rules`, the man page). */
typedef struct lm_lint_rule {
  const char *id;
  lm_lint_severity level;
  int kind; /* LM_RULE_LINT or LM_RULE_CHECK */
  const char *summary, *help;
} lm_lint_rule;

/** Every rule, ended by an entry whose id is NULL. */
extern const lm_lint_rule lm_lint_rules[];
const lm_lint_rule *lm_lint_rule_find(const char *id);

/** Output formats of lint and check (`--format`); TEXT and JSON are 0 and 1
 * so a `json` flag passes as a format. */
typedef enum lm_format {
  LM_FORMAT_TEXT,
  LM_FORMAT_JSON,
  LM_FORMAT_GITHUB,
  LM_FORMAT_SARIF
} lm_format;
/** Parses text|json|github|sarif; -1 for anything else. */
int lm_format_parse(const char *s);

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

typedef struct lm_lint_finding {
  char *file;
  int line;
  lm_lint_severity severity;
  const char *rule; /* static */
  char *message, *hint;
  int seq;             /* order of discovery: keeps the sort stable */
  const char *dialect; /* static: the one dialect the rule concerns, or NULL */
} lm_lint_finding;

typedef struct lm_lint_findings {
  lm_lint_finding *v;
  int n, cap;
} lm_lint_findings;

/** Lints the named revisions (ids, prefixes or labels; all of them in
 * topological order when nrevs is 0) of an opened project without touching a
 * database, and prints the findings to out in format (an lm_format; 0 text,
 * 1 a JSON array). Counts go to nerrors / nwarnings. Returns 0 even when
 * findings are errors: the caller decides the exit code; an unknown revision
 * name is LM_EUSAGE. */
int lm_lint(lm_project *p, const char *const *revs, int nrevs, int format, FILE *out, int *nerrors,
            int *nwarnings);
/** The same, without printing: the findings, allowed ones removed, sorted,
 * appended to out. */
int lm_lint_collect(lm_project *p, const char *const *revs, int nrevs, lm_lint_findings *out,
                    int *nerrors, int *nwarnings);

/** The one formatter of findings, for lint and check: text lines, a JSON
 * array, GitHub workflow commands or a SARIF 2.1.0 log. base: the project
 * folder; file names are shown relative to it in github and sarif output.
 * kinds: the LM_RULE_* bits whose rules a SARIF log describes. */
void lm_report_print(const lm_lint_findings *f, lm_format format, const char *base, int kinds,
                     FILE *out);
/** The file name as shown in github and sarif output: relative to base when
 * it lies below it. Free the result. */
char *lm_report_relpath(const char *base, const char *file);

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
/** Adds a finding (copies the strings). */
void lm_lint_add(lm_lint_findings *f, const char *file, int line, lm_lint_severity sev,
                 const char *rule, const char *hint, const char *fmt, ...) LM_PRINTF(7, 8);
/** Sorts by file, then line, then discovery order; drops exact duplicates. */
void lm_lint_sort(lm_lint_findings *f);
void lm_lint_print(const lm_lint_findings *f, int json, FILE *out);
/** Appends a copy of every finding of from to to (keeping their order). */
void lm_lint_findings_append(lm_lint_findings *to, const lm_lint_findings *from);
void lm_lint_findings_free(lm_lint_findings *f);

#endif
