/* upgrade, downgrade, stamp, current. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int migrate(cli *c, int up) {
  if (cli_fleet_wanted(c)) return cli_fleet_migrate(c);
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  if (c->json) return lm_error_set(LM_EUSAGE, "--json goes with --all or --target");
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
  if (c->purge && (c->checksums_only || c->from_alembic))
    return lm_error_set(LM_EUSAGE, "--purge stamps a TARGET; it does not go with %s",
                        c->checksums_only ? "--checksums-only" : "--from-alembic");
  if (c->checksums_only && c->from_alembic)
    return lm_error_set(LM_EUSAGE, "--checksums-only and --from-alembic exclude each other");
  if (cli_fleet_wanted(c)) return cli_fleet_migrate(c);
  int rc = cli_args(c, c->from_alembic ? 0 : 1, c->from_alembic ? 0 : 1);
  if (rc) return rc;
  if (c->json) return lm_error_set(LM_EUSAGE, "--json goes with --all or --target");
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  if (c->checksums_only) {
    char id[64];
    rc = lm_stamp_checksums(p, c->pos[0], id, sizeof id);
    if (!rc && !c->quiet) printf("Re-recorded the checksum of %s\n", id);
    lm_project_free(p);
    return rc;
  }
  if (c->from_alembic) {
    char *revs = NULL;
    rc = lm_stamp_from_alembic(p, &revs);
    if (!rc && !c->quiet) {
      if (revs)
        printf("Stamped %s (from alembic_version)\n", revs);
      else
        printf("Nothing to stamp: luamig's version table is already at or past the revision of "
               "alembic_version\n");
    }
    free(revs);
    lm_project_free(p);
    return rc;
  }
  rc = c->purge ? lm_stamp_purge(p, c->pos[0]) : lm_stamp(p, c->pos[0]);
  if (!rc && !c->quiet) {
    /* the full id of what a prefix, a label or head named */
    int idx;
    if (lm_plan_resolve(lm_project_graph(p), NULL, c->pos[0], &idx) == 0 && idx >= 0)
      printf("Stamped %s\n", lm_project_graph(p)->revs[idx]->id);
    else
      printf("Stamped %s\n", c->pos[0]);
    lm_error_clear();
  }
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
