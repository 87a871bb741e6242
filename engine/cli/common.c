/* Helpers shared by the command files. */
#include <string.h>

#include "cli.h"

int cli_open(cli *c, lm_project **p) {
  lm_options o;
  memset(&o, 0, sizeof o);
  o.config_path = c->config;
  o.url = c->url;
  o.dialect = c->dialect;
  o.x = c->x;
  o.nx = c->nx;
  o.quiet = c->quiet;
  o.verbose = c->verbose;
  o.echo_sql = c->echo_sql || c->verbose > 1;
  return lm_project_open(p, &o);
}

int cli_args(cli *c, int min, int max) {
  if (c->npos < min)
    return lm_error_set(LM_EUSAGE, "'%s' needs %s argument%s; usage: %s", c->command,
                        min == 1 ? "an" : "more", min == 1 ? "" : "s", c->cmd->usage);
  if (c->npos > max)
    return lm_error_set(LM_EUSAGE, "unexpected argument '%s'; usage: %s", c->pos[max],
                        c->cmd->usage);
  return 0;
}

void cli_json_str(FILE *out, const char *s) { lm_json_str(out, s); }
