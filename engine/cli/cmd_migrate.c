/* upgrade, downgrade, stamp, current. */
#include <string.h>

#include "cli.h"

static int migrate(cli *c, int up) {
  if (cli_fleet_wanted(c)) return cli_fleet_migrate(c);
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  if (c->dry_run && c->sql)
    return lm_error_set(LM_EUSAGE, "--dry-run and --sql exclude each other");
  if (c->stop_before && !up)
    return lm_error_set(LM_EUSAGE, "--stop-before applies to upgrade only");
  if (c->dialect && !c->sql) return lm_error_set(LM_EUSAGE, "--dialect applies only with --sql");
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  lm_run_options o = {c->sql, c->dry_run, c->stop_before, c->ignore_checksums};
  rc = up ? lm_upgrade(p, c->pos[0], &o) : lm_downgrade(p, c->pos[0], &o);
  lm_project_free(p);
  return rc;
}

int cmd_upgrade(cli *c) { return migrate(c, 1); }
int cmd_downgrade(cli *c) { return migrate(c, 0); }

int cmd_stamp(cli *c) {
  if (cli_fleet_wanted(c)) return cli_fleet_migrate(c);
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  rc = lm_stamp(p, c->pos[0]);
  if (!rc && !c->quiet) printf("Stamped %s\n", c->pos[0]);
  lm_project_free(p);
  return rc;
}

int cmd_current(cli *c) {
  if (cli_fleet_wanted(c)) return cli_fleet_migrate(c);
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  rc = lm_current(p, c->json);
  lm_project_free(p);
  return rc;
}
