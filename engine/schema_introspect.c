/* Introspection: the schema model (schema.h) read from a live database,
 * through the dialect's reflection (engine/dialect/sqlite_catalog.c,
 * postgres_catalog.c). */
#include "schema.h"

/* ---- entry points --------------------------------------------------------------------- */

int lm_schema_read(const lm_dialect *d, lm_conn *c, const char *vt_schema, const char *vt_table,
                   lm_schema **out) {
  *out = NULL;
  lm_schema *s = lm_schema_new();
  const char *vt = vt_table && *vt_table ? vt_table : "luamig_version";
  int rc = lm_dialect_reflect_schema(d, c, vt_schema, vt, s);
  if (rc) {
    lm_error_prefix("cannot read the database schema");
    lm_schema_free(s);
    return rc;
  }
  lm_schema_sort(s);
  *out = s;
  return 0;
}

int lm_schema_read_url(lm_project *p, const lm_url *url, lm_schema **out) {
  *out = NULL;
  const lm_dialect *d = lm_dialect_find(url->dialect);
  if (!d) return lm_error_set(LM_ECONFIG, "no dialect for %s", url->masked);
  lm_conn *c = NULL;
  int rc = lm_dialect_open(d, &c, url);
  if (rc) return rc;
  /* a dialect without schemas has no use for the version table's */
  rc = lm_schema_read(d, c, p->config->version_table_schema, p->config->version_table, out);
  lm_dialect_close(d, c);
  return rc;
}
