/* The luamig command: shared declarations of its command files. */
#ifndef LM_CLI_H
#define LM_CLI_H

#include "lm.h"

#define CLI_MAX_POS 16
#define CLI_MAX_X 64

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
  int sql, dry_run, ignore_checksums, splice;
  int roundtrip;                           /* check --roundtrip */
  int autogenerate, offline, drift, model; /* SPEC §10 */
  const char *scratch_url;
} cli;

typedef struct command {
  const char *name;
  int (*run)(cli *c);
  const char *usage;
  const char *summary;
  const char *help;
  const char *options; /* the command's own options, space separated */
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

/** Writes s as a JSON string. */
void cli_json_str(FILE *out, const char *s);

#endif
