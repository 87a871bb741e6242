/* The registry of dialects and the one way generic code calls them.
 *
 * Every call into a dialect goes through a wrapper here: a method the
 * dialect does not have (NULL, or added in a revision of struct lm_dialect
 * newer than the dialect's `version`) is reported as "not supported" in one
 * place, or, for the hooks where nothing is a fine answer, skipped. */
#include <stddef.h>
#include <strings.h>

#include "lm.h"
#include "recreate.h"
#include "schema.h"

/* The revision of struct lm_dialect in which each method appeared; a method
 * is read only from a dialect written for that revision or later. */
#define LM_SINCE(m) (offsetof(lm_dialect, m) < offsetof(lm_dialect, table_exists_sql) ? 1 : 2)
#define LM_METHOD(d, m) ((d)->version >= LM_SINCE(m) ? (d)->m : NULL)

static const lm_dialect *const registry[] = {&lm_dialect_sqlite, &lm_dialect_postgresql};

static int usable(const lm_dialect *d) {
  return d->version >= LM_DIALECT_VERSION_MIN && d->version <= LM_DIALECT_VERSION;
}

const lm_dialect *lm_dialect_find(const char *name) {
  if (!name) return NULL;
  if (strcasecmp(name, "postgres") == 0) name = "postgresql";
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcasecmp(name, registry[i]->name) == 0) return usable(registry[i]) ? registry[i] : NULL;
  return NULL;
}

int lm_dialect_unsupported(const lm_dialect *d, const char *what) {
  return lm_error_set(LM_ENOTSUP, "%s is not supported on %s", what, d->name);
}

int lm_dialect_has_cap(const lm_dialect *d, unsigned cap) { return (d->caps & cap) == cap; }

int lm_dialect_open(const lm_dialect *d, lm_conn **out, const lm_url *url) {
  *out = NULL;
  if (!LM_METHOD(d, open)) return lm_dialect_unsupported(d, "connecting");
  return d->open(out, url);
}

void lm_dialect_close(const lm_dialect *d, lm_conn *c) {
  if (c && LM_METHOD(d, close)) d->close(c);
}

int lm_dialect_exec(const lm_dialect *d, lm_conn *c, const lm_stmt *s) {
  if (!LM_METHOD(d, exec)) return lm_dialect_unsupported(d, "running a statement");
  return d->exec(c, s);
}

int lm_dialect_query(const lm_dialect *d, lm_conn *c, const lm_stmt *s, lm_row_fn fn, void *ud) {
  if (!LM_METHOD(d, query)) return lm_dialect_unsupported(d, "reading rows");
  return d->query(c, s, fn, ud);
}

int lm_dialect_can_stream(const lm_dialect *d) {
  return LM_METHOD(d, cursor_open) && LM_METHOD(d, cursor_next) && LM_METHOD(d, cursor_close);
}

int lm_dialect_cursor_open(const lm_dialect *d, lm_conn *c, const lm_stmt *s, lm_cursor **out) {
  *out = NULL;
  if (!lm_dialect_can_stream(d)) return lm_dialect_unsupported(d, "streaming rows");
  return d->cursor_open(c, s, out);
}

int lm_dialect_cursor_next(const lm_dialect *d, lm_cursor *cur, int *ncols,
                           const char *const **names, const lm_value **vals) {
  return d->cursor_next(cur, ncols, names, vals);
}

void lm_dialect_cursor_close(const lm_dialect *d, lm_cursor *cur) {
  if (cur) d->cursor_close(cur);
}

int lm_dialect_checks_commit(const lm_dialect *d) { return LM_METHOD(d, before_commit) != NULL; }

int lm_dialect_before_commit(const lm_dialect *d, lm_conn *c, const lm_fk_scope *scope) {
  if (!LM_METHOD(d, before_commit)) return 0; /* nothing to check */
  return d->before_commit(c, scope);
}

const char *lm_dialect_table_exists_sql(const lm_dialect *d) {
  return LM_METHOD(d, table_exists_sql);
}

/* ---- rendering ---------------------------------------------------------- */

/* ---- reflection and move-and-copy ----------------------------------------- */

int lm_dialect_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                              const char *vt_table, lm_schema *out) {
  if (!LM_METHOD(d, reflect_schema)) return lm_dialect_unsupported(d, "reading the schema");
  return d->reflect_schema(c, vt_schema, vt_table, out);
}

int lm_dialect_recreate_wanted(const lm_dialect *d, const lm_op *op) {
  return LM_METHOD(d, recreate_wanted) ? d->recreate_wanted(op) : 0;
}

int lm_dialect_can_recreate(const lm_dialect *d) {
  return LM_METHOD(d, recreate_wanted) && LM_METHOD(d, recreate) && LM_METHOD(d, query);
}

int lm_dialect_recreate(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq) {
  if (!lm_dialect_can_recreate(d)) return lm_dialect_unsupported(d, "move-and-copy");
  return d->recreate(c, rq);
}

int lm_dialect_shadow_open(const lm_dialect *d, lm_conn **out) {
  *out = NULL;
  return LM_METHOD(d, shadow_open) ? d->shadow_open(out) : 0;
}

/* ---- the runner: version table, run lock, cancelling ---------------------- */

/* ---- sessions: streaming, batches, autocommit ----------------------------- */

/* ---- end ---------------------------------------------------------------- */
