/* A project: its configuration, its database URL and its loaded chain (the
 * runner that moves its database along the chain is engine/runner.c). */
#include <stdlib.h>
#include <unistd.h>

#include "lm.h"

int lm_project_open(lm_project **out, const lm_options *opts) {
  *out = NULL;
  lm_error_clear();
  lm_project *p = lm_xcalloc(1, sizeof *p);
  p->opts = *opts;
  p->out = opts->out ? opts->out : stdout;
  p->err = opts->err ? opts->err : stderr;
  lm_graph_init(&p->graph);
  int rc = 0;
  p->L = lm_lua_new();
  if (!p->L) {
    rc = LM_ENOMEM;
    goto done;
  }
  const char *cfg = opts->config_path ? opts->config_path : "luamig.lua";
  if (access(cfg, F_OK) == 0) {
    rc = lm_config_load(&p->config, p->L, cfg);
    if (rc) goto done;
  } else if (opts->config_path) {
    rc = lm_error_set(LM_ECONFIG, "config file %s not found", cfg);
    goto done;
  } else {
    rc = lm_error_set(LM_ECONFIG,
                      "no luamig.lua in the current folder: run 'luamig init' to make a project, "
                      "or pass -c FILE");
    goto done;
  }
  const char *url = opts->url;
  const char *env = getenv("DATABASE_URL");
  if (!url && env && *env) url = env;
  if (!url) url = p->config->url;
  if (url) {
    rc = lm_url_parse(&p->url, url);
    if (rc) goto done;
    p->dialect = lm_dialect_find(p->url->dialect);
  }
  if (opts->dialect) {
    const lm_dialect *d = lm_dialect_find(opts->dialect);
    if (!d) {
      rc = lm_error_set(LM_EUSAGE, "unknown dialect '%s': use sqlite or postgresql", opts->dialect);
      goto done;
    }
    p->dialect = d; /* --dialect is explicit: it wins over the URL's */
  }
  rc = lm_lua_load_revisions(p->L, p->config, &p->graph);
done:
  if (rc) {
    lm_project_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void lm_project_free(lm_project *p) {
  if (!p) return;
  lm_graph_free(&p->graph);
  lm_lua_close(p->L);
  lm_url_free(p->url);
  lm_config_free(p->config);
  free(p);
}
