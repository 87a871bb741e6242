/* lint: the rules of SPEC §8 on the chain or on the named revisions. */
#include "cli.h"
#include "luamig/lint.h"

int cmd_lint(cli *c) {
  lm_project *p;
  int rc = cli_open(c, &p);
  if (rc) return rc;
  int nerrors = 0, nwarnings = 0;
  rc = lm_lint(p, c->pos, c->npos, c->format, stdout, &nerrors, &nwarnings);
  lm_project_free(p);
  if (rc) return rc;
  /* The findings are on stdout already; the summary is the one error line
   * main prints, so a failing lint says why it failed and nothing else. */
  if (nerrors)
    return lm_error_set(LM_ECHECK, "lint: %d error%s, %d warning%s", nerrors,
                        nerrors == 1 ? "" : "s", nwarnings, nwarnings == 1 ? "" : "s");
  if (!c->quiet)
    fprintf(stderr, "lint: 0 errors, %d warning%s\n", nwarnings, nwarnings == 1 ? "" : "s");
  return 0;
}
