/* The project as the public headers show it (include/luamig/project.h,
 * chain.h, schema.h): small readers over struct lm_project, so that a client
 * never needs the engine's internal declarations. */
#include "lm.h"
#include "luamig/project.h"
#include "luamig/schema.h"
#include "schema.h"

const lm_graph *lm_project_graph(const lm_project *p) { return &p->graph; }

const char *lm_project_config_path(const lm_project *p) {
  return p->config ? p->config->path : NULL;
}

const char *lm_project_dir(const lm_project *p) { return p->config ? p->config->dir : NULL; }

const char *lm_project_versions_dir(const lm_project *p) {
  return p->config && p->config->nversions ? p->config->versions[0] : NULL;
}

int lm_project_versions_count(const lm_project *p) { return p->config ? p->config->nversions : 0; }

const char *lm_project_versions_dir_at(const lm_project *p, int i) {
  return p->config && i >= 0 && i < p->config->nversions ? p->config->versions[i] : NULL;
}

int lm_project_has_model(const lm_project *p) { return p->config && p->config->nmodel > 0; }

const char *lm_project_url(const lm_project *p) { return p->url ? p->url->masked : NULL; }

const lm_dialect *lm_project_dialect(const lm_project *p) { return p->dialect; }

FILE *lm_project_out(const lm_project *p) { return p->out; }

int lm_project_schema(lm_project *p, lm_schema **out) { return lm_schema_read_url(p, p->url, out); }

const lm_dialect *lm_dialect_named(const char *name) { return lm_dialect_find(name); }

int lm_url_dialect(const char *url, const lm_dialect **d) {
  *d = NULL;
  lm_url *u = NULL;
  int rc = lm_url_parse(&u, url);
  if (rc) return rc;
  *d = lm_dialect_find(u->dialect);
  lm_url_free(u);
  return 0;
}
