/**
 * Lint and check findings (SPEC §8): the rules, the findings a run collects
 * and the one formatter of them (text, JSON, GitHub workflow commands,
 * SARIF). A client lints a project with lm_lint() or lm_lint_collect(), adds
 * findings of its own with lm_lint_add() and prints them all with
 * lm_report_print().
 */
#ifndef LUAMIG_LINT_H
#define LUAMIG_LINT_H

#include <stdio.h>

#include "luamig.h"
#include "luamig/util.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/** Adds a finding (copies the strings). */
void lm_lint_add(lm_lint_findings *f, const char *file, int line, lm_lint_severity sev,
                 const char *rule, const char *hint, const char *fmt, ...) LM_PRINTF(7, 8);
void lm_lint_findings_free(lm_lint_findings *f);

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

#ifdef __cplusplus
}
#endif
#endif
