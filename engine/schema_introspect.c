/* Introspection: the schema model (schema.h) read from a live database,
 * through the dialect's reflection (engine/dialect/sqlite_catalog.c,
 * postgres_catalog.c). */
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
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
  /* Alembic's version table, left in place by stamp --from-alembic, is a
   * version table too: no part of the schema that luamig compares or shows */
  const lm_schema_table *a = lm_schema_find_table(s, "alembic_version");
  if (a && a->ncols == 1 && strcmp(a->cols[0].name, "version_num") == 0)
    lm_schema_drop_table(s, "alembic_version");
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

/* ---- CHECK expressions as the database writes them ------------------------------- */

static const lm_schema_item *named_check(const lm_schema_table *t, const char *name) {
  for (int i = 0; t && i < t->constraints.n; i++) {
    const lm_schema_item *it = &t->constraints.v[i];
    if (it->kind == LM_SCON_CHECK && it->name && it->expr && strcmp(it->name, name) == 0) return it;
  }
  return NULL;
}

/* w->expr_db: w->expr as the database writes it, on table (its connection
 * *c opened on first use); an expression the table cannot hold is left as
 * written. */
static int canonical_expr(const lm_dialect *d, const lm_url *url, lm_conn **c, const char *table,
                          lm_schema_item *w) {
  int rc = *c ? 0 : lm_dialect_open(d, c, url);
  if (rc) return rc;
  char *canon = NULL;
  if (lm_dialect_canonical_check(d, *c, table, w->expr, &canon)) {
    lm_error_clear();
    return 0;
  }
  if (canon) {
    free(w->expr_db);
    w->expr_db = canon;
  }
  return 0;
}

int lm_project_canonical_checks(lm_project *p, lm_schema *want, const lm_schema *have) {
  const lm_url *url = p->url;
  const lm_dialect *d = url ? lm_dialect_find(url->dialect) : NULL;
  if (!d || !lm_dialect_rewrites_checks(d)) return 0;
  lm_conn *c = NULL;
  int rc = 0;
  for (int i = 0; i < want->ntables && !rc; i++) {
    lm_schema_table *tw = want->tables[i];
    const lm_schema_table *th = lm_schema_find_table(have, tw->name);
    for (int j = 0; th && j < tw->constraints.n && !rc; j++) {
      lm_schema_item *w = &tw->constraints.v[j];
      if (w->kind != LM_SCON_CHECK || !w->expr) continue;
      if (w->name) {
        const lm_schema_item *h = named_check(th, w->name);
        if (!h || lm_expr_same(w->expr, h->expr)) continue;
      } else {
        /* unnamed: the comparison pairs it with a check the database named,
         * by content or in order, so its text as the database would write
         * it is what tells a changed one from the same */
        int same = 0;
        for (int k = 0; k < th->constraints.n && !same; k++)
          same = th->constraints.v[k].kind == LM_SCON_CHECK &&
                 lm_expr_same(w->expr, th->constraints.v[k].expr);
        if (same) continue;
      }
      rc = canonical_expr(d, url, &c, tw->name, w); /* one it cannot hold: compared by name */
    }
    /* a partial index's WHERE is rewritten as a CHECK is (BETWEEN, a date
     * compared with a timestamp column): the same index's, once it differs */
    for (int j = 0; th && j < tw->indexes.n && !rc; j++) {
      lm_schema_item *w = &tw->indexes.v[j];
      const lm_schema_item *h = NULL;
      for (int k = 0; w->expr && w->name && k < th->indexes.n && !h; k++)
        if (th->indexes.v[k].name && strcmp(th->indexes.v[k].name, w->name) == 0)
          h = &th->indexes.v[k];
      if (!h || !h->expr || lm_expr_same(w->expr, h->expr)) continue;
      rc = canonical_expr(d, url, &c, tw->name, w);
    }
  }
  if (c) lm_dialect_close(d, c);
  return rc;
}
