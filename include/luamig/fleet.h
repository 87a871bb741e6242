/* Many databases (SPEC §11): the `targets` of luamig.lua expanded into a
 * list, and one command run on each of them.
 *
 * The chain is loaded, checked and compiled once, in this process. Each
 * target then runs in a child process made with fork(): it inherits the
 * loaded chain copy-on-write, points the project at its own URL (and, for a
 * schema, its own version table and search_path) and runs the ordinary
 * single-database command, with its own connection, lock, version table,
 * checksums and transactions. It reports one result record through a pipe.
 * At most `jobs` children are alive at once, so connections and memory grow
 * with the jobs, not with the targets. */
#ifndef LUAMIG_FLEET_H
#define LUAMIG_FLEET_H

#include "luamig.h"
#include "luamig/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What one online run did, for a caller that reports many runs (the fleet).
 * Filled by upgrade, downgrade, stamp and current when lm_project.report is
 * set. before/after: the applied heads, one a line (`REV` or `REV (STEP, next:
 * NEXT)`; current also marks `(head)`), "" for none; malloc'd. */
typedef struct lm_run_report {
  char *before, *after;
  int nrevs;   /* revisions run (a multi-step revision counts once) */
  int dry_run; /* the changes were rolled back */
} lm_run_report;

/** One database of the list. The strings are borrowed from the list. */
typedef struct lm_fleet_target {
  const char *name;
  const char *group;  /* the entry's name when the entry lists many, else NULL */
  const char *url;    /* as written (it may hold a password: never print it) */
  const char *schema; /* a schema of a `schemas` entry, else NULL */
} lm_fleet_target;

/** The selected targets, in listed order. Only the strings are kept (a few
 * dozen bytes a target), never a connection. */
typedef struct lm_fleet_list {
  lm_buf arena; /* NUL-terminated strings */
  size_t *off;  /* per target: name, url, schema (SIZE_MAX: none), group */
  int n, cap;
} lm_fleet_list;

/** Expands every entry of p's `targets` (running the schemas and directory
 * queries, reading the globs), checks that the names are unique, and keeps
 * the targets any pattern selects (npatterns 0: all). A pattern selects a
 * group by its name or targets by fnmatch(3). LM_ECONFIG for a bad or empty
 * list, LM_EUSAGE for a pattern that selects nothing. */
int lm_fleet_list_load(lm_project *p, const char *const *patterns, int npatterns,
                       lm_fleet_list *out);
void lm_fleet_list_get(const lm_fleet_list *l, int i, lm_fleet_target *t);
void lm_fleet_list_free(lm_fleet_list *l);

/** Points p (in a child process) at one target. */
int lm_fleet_retarget(lm_project *p, const lm_fleet_target *t);

enum { LM_FLEET_DONE, LM_FLEET_FAILED, LM_FLEET_INTERRUPTED, LM_FLEET_NOT_STARTED };

/** What one target's run did. Valid during the done callback only. */
typedef struct lm_fleet_result {
  int index;  /* in the list */
  int status; /* LM_FLEET_… */
  int code;   /* the LM_E… code of a failure */
  lm_run_report rep;
  long long ms;
  const char *revision; /* where it failed, or NULL */
  const char *message;  /* the error, one line, passwords masked; or NULL */
  const char *output;   /* what the command wrote to stderr, masked; or NULL */
} lm_fleet_result;

/** The single-database command, run in the child. p->report is set. */
typedef int (*lm_fleet_fn)(lm_project *p, void *ud);
typedef void (*lm_fleet_done_fn)(void *ud, const lm_fleet_result *r);

typedef struct lm_fleet_options {
  int jobs;       /* children alive at once (>= 1) */
  int canary;     /* the first K targets run alone, one after another */
  int keep_going; /* start new targets after a failure */
} lm_fleet_options;

typedef struct lm_fleet_summary {
  int total, done, failed, interrupted, not_started;
} lm_fleet_summary;

/** Runs fn on every target of l; calls done (in this process) as each one
 * finishes, and once with LM_FLEET_NOT_STARTED for each target never started.
 * Returns 0 when every target succeeded, LM_EINTR after SIGINT/SIGTERM (the
 * running targets are interrupted and roll back), LM_EMIGRATE otherwise. */
int lm_fleet_run(lm_project *p, const lm_fleet_list *l, const lm_fleet_options *o, lm_fleet_fn fn,
                 void *ud, lm_fleet_done_fn done, void *done_ud, lm_fleet_summary *sum);

#ifdef __cplusplus
}
#endif
#endif
