/* The one way generic code calls a dialect (the registry that finds one by
 * name is registry.c).
 *
 * Every call into a dialect goes through a wrapper here: a method the
 * dialect does not have (NULL, or added in a revision of struct lm_dialect
 * newer than the dialect's `version`) is reported as "not supported" in one
 * place, or, for the hooks where nothing is a fine answer, skipped. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lm.h"
#include "recreate.h"
#include "schema.h"

/* The revision of struct lm_dialect in which each method appeared; a method
 * is read only from a dialect written for that revision or later. */
#define LM_SINCE(m)                                                                                \
  (offsetof(lm_dialect, m) < offsetof(lm_dialect, table_exists_sql)         ? 1                    \
   : offsetof(lm_dialect, m) < offsetof(lm_dialect, canonical_check)        ? 2                    \
   : offsetof(lm_dialect, m) < offsetof(lm_dialect, type_change_needs_cast) ? 3                    \
                                                                            : 4)
#define LM_METHOD(d, m) ((d)->version >= LM_SINCE(m) ? (d)->m : NULL)

int lm_dialect_unsupported(const lm_dialect *d, const char *what) {
  return lm_error_set(LM_ENOTSUP, "%s is not supported on %s", what, d->name);
}

int lm_dialect_has_cap(const lm_dialect *d, unsigned cap) { return d && (d->caps & cap) == cap; }

int lm_dialect_open(const lm_dialect *d, lm_conn **out, const lm_url *url) {
  *out = NULL;
  if (!LM_METHOD(d, open)) return lm_dialect_unsupported(d, "connecting");
  int rc = d->open(out, url);
  /* Ctrl-C stops the statement running on it (engine/interrupt.c) */
  if (!rc && LM_METHOD(d, cancel)) lm_interrupt_watch(d->cancel, *out);
  return rc;
}

void lm_dialect_close(const lm_dialect *d, lm_conn *c) {
  if (!c) return;
  lm_interrupt_unwatch(c); /* before it goes: a signal may come meanwhile */
  if (LM_METHOD(d, close)) d->close(c);
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

/* Rendering has no "not supported" of its own beyond `render`: a field left
 * out means standard SQL (render_common.c), so a new dialect renders
 * something plausible from its first line. */
#define LM_RENDER_FIELD(d, f, none) ((d)->version >= LM_SINCE(f) ? (d)->f : (none))

const char *lm_dialect_display_name(const lm_dialect *d) {
  const char *n = LM_RENDER_FIELD(d, display_name, NULL);
  return n ? n : d->name;
}

int lm_dialect_render(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  if (!LM_METHOD(d, render)) return lm_dialect_unsupported(d, "rendering operations");
  return d->render(d, op, out);
}

int lm_dialect_literal(const lm_dialect *d, const lm_value *v, lm_buf *b) {
  if (!LM_METHOD(d, literal)) return 0; /* standard SQL */
  d->literal(d, v, b);
  return 1;
}

int lm_dialect_default_needs_parens(const lm_dialect *d, const char *expr) {
  return LM_METHOD(d, default_needs_parens) ? d->default_needs_parens(expr) : 0;
}

/* What key turns into in a list of pairs ending at {NULL}. */
static const char *pair_lookup(const struct lm_type_pair *pairs, const char *key) {
  for (; pairs && pairs->from; pairs++)
    if (strcmp(pairs->from, key) == 0) return pairs->to;
  return NULL;
}

/* expr equals word, case and blanks outside quotes aside (no quotes in
 * the words looked up). */
static int same_words(const char *expr, const char *word) {
  for (;;) {
    while (*expr == ' ' || *expr == '\t' || *expr == '\n' || *expr == '\r')
      expr++;
    while (*word == ' ')
      word++;
    if (!*expr || !*word) return !*expr && !*word;
    if ((*expr | 0x20) != (*word | 0x20) || *expr == '\'') return 0;
    expr++, word++;
  }
}

int lm_dialect_type_change_needs_cast(const lm_dialect *d, const char *from, const char *to) {
  int (*f)(const char *, const char *) = LM_METHOD(d, type_change_needs_cast);
  return f && from && to && f(from, to);
}

const char *lm_dialect_sql_spelling(const lm_dialect *d, const char *expr) {
  const struct lm_type_pair *p = LM_METHOD(d, sql_spellings);
  for (; p && p->from; p++)
    if (same_words(expr, p->from)) return p->to;
  return expr;
}

const char *lm_dialect_type_name(const lm_dialect *d, const char *luamig_type) {
  return pair_lookup(LM_METHOD(d, type_names), luamig_type);
}

static int knows_type(const lm_dialect *d, const char *base) {
  const char *const *list = LM_METHOD(d, known_types);
  for (; list && *list; list++)
    if (strcmp(*list, base) == 0) return 1;
  return 0;
}

int lm_dialect_knows_type(const lm_dialect *d, const char *base) { return knows_type(d, base); }

const char *lm_dialect_luamig_type(const lm_dialect *d, const char *reflected) {
  return pair_lookup(LM_METHOD(d, reflected_types), reflected);
}

const char *lm_dialect_auto_type(const lm_dialect *d, int family) {
  const char *t = NULL;
  if (family >= 0 && family < 3 && d->version >= LM_SINCE(auto_types)) t = d->auto_types[family];
  return t ? t : "INTEGER";
}

const char *lm_dialect_autoincrement(const lm_dialect *d) { return LM_METHOD(d, autoincrement); }

int lm_dialect_render_flag(const lm_dialect *d, unsigned flag) {
  return (LM_RENDER_FIELD(d, render_flags, 0u) & flag) == flag;
}

unsigned lm_dialect_lexis(const lm_dialect *d) { return LM_RENDER_FIELD(d, lexis, 0u); }

const char *lm_dialect_has_sql(const lm_dialect *d, int kind) {
  if (kind < 0 || kind >= 3 || d->version < LM_SINCE(has_sql)) return NULL;
  return d->has_sql[kind];
}

/* ---- reflection and move-and-copy ----------------------------------------- */

int lm_dialect_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                              const char *vt_table, lm_schema *out) {
  if (!LM_METHOD(d, reflect_schema)) return lm_dialect_unsupported(d, "reading the schema");
  return d->reflect_schema(d, c, vt_schema, vt_table, out);
}

int lm_dialect_rewrites_checks(const lm_dialect *d) {
  return LM_METHOD(d, canonical_check) != NULL;
}

int lm_dialect_canonical_check(const lm_dialect *d, lm_conn *c, const char *table, const char *expr,
                               char **out) {
  *out = NULL;
  if (!LM_METHOD(d, canonical_check)) return 0;
  return d->canonical_check(d, c, table, expr, out);
}

int lm_dialect_recreate_wanted(const lm_dialect *d, const lm_op *op) {
  return LM_METHOD(d, recreate_wanted) ? d->recreate_wanted(op) : 0;
}

int lm_dialect_can_recreate(const lm_dialect *d) {
  return LM_METHOD(d, recreate_wanted) && LM_METHOD(d, recreate) && LM_METHOD(d, query);
}

int lm_dialect_recreate(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq) {
  if (!lm_dialect_can_recreate(d)) return lm_dialect_unsupported(d, "move-and-copy");
  return d->recreate(d, c, rq);
}

int lm_dialect_shadow_open(const lm_dialect *d, lm_conn **out) {
  *out = NULL;
  return LM_METHOD(d, shadow_open) ? d->shadow_open(d, out) : 0;
}

const char *lm_dialect_shadow_preamble(const lm_dialect *d) {
  return LM_METHOD(d, shadow_preamble);
}

/* ---- the runner: version table, run lock, cancelling ---------------------- */

const char *lm_dialect_vt_timestamp_sql(const lm_dialect *d) {
  const char *s = LM_METHOD(d, vt_timestamp_sql);
  return s ? s : "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP";
}

const char *lm_dialect_vt_now_sql(const lm_dialect *d) {
  const char *s = LM_METHOD(d, vt_now_sql);
  return s ? s : "CURRENT_TIMESTAMP";
}

const char *lm_dialect_vt_exists_sql(const lm_dialect *d) {
  const char *s = LM_METHOD(d, vt_exists_sql);
  if (s) return s;
  return lm_dialect_has_cap(d, LM_CAP_SCHEMAS)
             ? "SELECT 1 FROM information_schema.tables WHERE table_name = $1 AND "
               "table_schema = COALESCE($2, CURRENT_SCHEMA)"
             : "SELECT 1 FROM information_schema.tables WHERE table_name = $1";
}

const char *lm_dialect_vt_revision_column_sql(const lm_dialect *d) {
  const char *s = LM_METHOD(d, vt_revision_column_sql);
  if (s) return s;
  return lm_dialect_has_cap(d, LM_CAP_SCHEMAS)
             ? "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND "
               "table_schema = COALESCE($2, CURRENT_SCHEMA) AND column_name = 'revision'"
             : "SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND "
               "column_name = 'revision'";
}

const char *lm_dialect_index_valid_sql(const lm_dialect *d) {
  return LM_METHOD(d, index_valid_sql);
}

static int db_state(const lm_dialect *d, const lm_url *url) {
  int (*m)(const lm_url *) = LM_METHOD(d, database_state);
  return m ? m(url) : LM_DB_EXISTS;
}

int lm_dialect_creates_on_open(const lm_dialect *d, const lm_url *url) {
  return db_state(d, url) != LM_DB_EXISTS;
}

const char *lm_dialect_scratch_server(const lm_dialect *d) { return LM_METHOD(d, scratch_server); }

int lm_dialect_scratch_create(const lm_dialect *d, const lm_url *url, const char *schema,
                              lm_scratch *out) {
  memset(out, 0, sizeof *out);
  if (!LM_METHOD(d, scratch_create)) return lm_dialect_unsupported(d, "a scratch database");
  return d->scratch_create(url, schema, out);
}

int lm_dialect_scratch_drop(const lm_dialect *d, lm_scratch *sc) {
  int rc = 0;
  if (sc->name && LM_METHOD(d, scratch_drop)) rc = d->scratch_drop(sc);
  lm_url_free(sc->url);
  lm_url_free(sc->home);
  free(sc->name);
  memset(sc, 0, sizeof *sc);
  return rc;
}

int lm_dialect_lock_acquire(const lm_dialect *d, lm_conn *c, const lm_url *url, long long key,
                            const lm_lock_wait *w, lm_lock **held) {
  *held = NULL;
  if (!LM_METHOD(d, lock_acquire) || !LM_METHOD(d, lock_release))
    return lm_dialect_unsupported(d, "a run lock");
  return d->lock_acquire(c, url, key, w, held);
}

void lm_dialect_lock_release(const lm_dialect *d, lm_lock *held) {
  if (held && LM_METHOD(d, lock_release)) d->lock_release(held);
}

const char *lm_dialect_current_schema_sql(const lm_dialect *d) {
  return LM_METHOD(d, current_schema_sql);
}

int lm_dialect_lock_timeout_sql(const lm_dialect *d, lm_buf *out, const char *timeout) {
  if (!LM_METHOD(d, lock_timeout_sql)) return 0; /* no such setting */
  d->lock_timeout_sql(out, timeout);
  return 1;
}

const char *lm_dialect_lock_timeout_sqlstate(const lm_dialect *d) {
  return LM_METHOD(d, lock_timeout_sqlstate);
}

const char *lm_dialect_lock_holders_sql(const lm_dialect *d) {
  return LM_METHOD(d, lock_holders_sql);
}

int lm_dialect_must_exist(const lm_dialect *d, const lm_url *url) {
  if (db_state(d, url) != LM_DB_MISSING) return 0;
  return lm_error_set(LM_ECONFIG,
                      "the %s database %s does not exist (nothing has been migrated there; "
                      "'luamig upgrade' creates it)",
                      lm_dialect_display_name(d), url->path ? url->path : url->masked);
}

/* ---- sessions: streaming, batches, autocommit ----------------------------- */

int lm_dialect_backfill_columns(const lm_dialect *d, const char *table, lm_stmts *out) {
  if (!LM_METHOD(d, backfill_columns)) return lm_dialect_unsupported(d, "op.backfill");
  d->backfill_columns(table, out);
  return 0;
}

const char *const *lm_dialect_rowid_aliases(const lm_dialect *d) {
  return LM_METHOD(d, rowid_aliases);
}

int lm_dialect_write_rows(const lm_dialect *d, const lm_rows_update *u, lm_stmt_fn run, void *ud) {
  if (!LM_METHOD(d, write_rows)) return lm_dialect_unsupported(d, "op.backfill with a function");
  return d->write_rows(u, run, ud);
}

/* ---- end ---------------------------------------------------------------- */
