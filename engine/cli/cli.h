/* The luamig command: shared declarations of its command files. */
#ifndef LM_CLI_H
#define LM_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "luamig.h"
#include "luamig/chain.h"
#include "luamig/error.h"
#include "luamig/project.h"
#include "luamig/util.h"

#define CLI_MAX_POS 16
#define CLI_MAX_X 64
#define CLI_MAX_TARGETS 64

/* The parsed command line. */
typedef struct cli {
  const char *command;
  const char *pos[CLI_MAX_POS];
  int npos;
  /* global */
  const char *config, *url, *dialect;
  const char *x[CLI_MAX_X];
  int nx;
  int quiet, verbose, json;
  /* per command */
  const char *message, *rev_id, *head, *depends_on, *branch_label, *steps, *stop_before, *range;
  const char *depends[CLI_MAX_POS]; /* --depends-on, repeatable (as Alembic's) */
  int ndepends, nbranch_labels;     /* nbranch_labels: how often --branch-label came */
  int sql, dry_run, ignore_checksums, splice;
  int roundtrip;                                  /* check --roundtrip */
  int checksums_only, indicate_current, echo_sql; /* stamp, history -i, --echo-sql */
  int from_alembic;                               /* stamp --from-alembic */
  int purge;                                      /* stamp --purge */
  const char *format_name;                        /* --format as given */
  int format; /* lint, check: an lm_format; --json is LM_FORMAT_JSON */
  /* many databases (SPEC §11): --all, --target (repeatable), --jobs, --canary, --keep-going */
  int all, keep_going;
  const char *target, *jobs, *canary;
  const char *targets[CLI_MAX_TARGETS];
  int ntargets;
  int autogenerate, offline, drift, model; /* SPEC §10 */
  const char *scratch_url;
  /* set by main before a command runs */
  const struct command *cmd;      /* the command running */
  const struct command *commands; /* the command table, ended by a NULL name */
} cli;

typedef struct command {
  const char *name;
  int (*run)(cli *c);
  const char *usage;
  const char *summary;
  const char *help;
  const char *options; /* the command's own options, space separated */
  const char *example; /* one or more example command lines (may be NULL) */
  const char *exits;   /* what each exit code means for this command (may be NULL) */
} command;

const command *cli_find(const char *name);
void cli_print_help(FILE *out, const command *cmd);
/** Opens the project for commands that need one; prints nothing. */
int cli_open(cli *c, lm_project **p);
/** Requires exactly n positional arguments (min..max). */
int cli_args(cli *c, int min, int max);

int cmd_init(cli *c);
int cmd_revision(cli *c);
int cmd_merge(cli *c);
int cmd_upgrade(cli *c);
int cmd_downgrade(cli *c);
int cmd_stamp(cli *c);
int cmd_current(cli *c);
int cmd_history(cli *c);
int cmd_heads(cli *c);
int cmd_branches(cli *c);
int cmd_show(cli *c);
int cmd_check(cli *c);
int cmd_schema(cli *c);
int cmd_lint(cli *c);
int cmd_import(cli *c);
int cmd_completion(cli *c);
/** Hidden helpers of the generated completion scripts and man page. */
int cli_complete(cli *c);
int cli_man(cli *c);
int cli_rules(cli *c);

/** The hidden commands (__complete, __man, __rules), or NULL. */
const command *cli_find_hidden(const char *name);
/** One option of the command line: names, whether it takes a value. */
typedef struct cli_option {
  const char *shortname, *longname;
  int has_arg;
  size_t field; /* offset of a const char* or int in cli */
} cli_option;
/** Every option, ended by an entry whose longname is NULL. */
extern const cli_option *const cli_options;
/** The options every command takes (space separated), and the global help. */
extern const char *const cli_global_options;
extern const char *const cli_global_help;

/** The editor files `luamig init` writes: .luarc.json and types/luamig.lua. */
extern const char cli_luarc_json[];
extern const char cli_luamig_meta[];

/** Whether --all or --target asks for the command on many databases. */
int cli_fleet_wanted(const cli *c);
/** Runs a migrating command (upgrade, downgrade, stamp, current) on each
 * selected target of luamig.lua (SPEC §11). */
int cli_fleet_migrate(cli *c);
/** The same for any single-database command: fn runs once per target, in a
 * process of its own, on p (opened here when NULL) pointed at that target;
 * it returns 0 or an LM_E… code with the error set. Each target's line
 * reads `NAME: ok` or `NAME: failed: MESSAGE`; what fn writes to stderr is
 * shown under the line as `  NAME: ...`. This is where `check --drift
 * --all` plugs in: the chain-level checks run once, then
 *   cli_fleet_each(c, p, drift_one, &checker)
 * with drift_one comparing one target's live schema with the chain. */
int cli_fleet_each(cli *c, lm_project *p, int (*fn)(lm_project *p, void *ud), void *ud);

/** Writes s as a JSON string. */
void cli_json_str(FILE *out, const char *s);

#endif
