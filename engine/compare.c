/* The comparison of two schema models (SPEC §10): what the model (or the
 * chain) wants against what the database has, as a list of differences,
 * each with the op records that remove it and their inverse. Types and
 * defaults are compared in canonical form (normalize.c); unnamed constraints
 * by content; renames only where the model says renamed_from. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compare.h"
#include "normalize.h"

/* ---- memory the op records point to ------------------------------------------------ */

typedef struct pool {
  void **v;
  int n, cap;
} pool;

static void *pkeep(lm_diff *df, void *p) {
  pool *pl = df->pool;
  if (!pl) pl = df->pool = lm_xcalloc(1, sizeof *pl);
  if (pl->n == pl->cap) {
    pl->cap = pl->cap ? pl->cap * 2 : 64;
    pl->v = lm_xrealloc(pl->v, (size_t)pl->cap * sizeof *pl->v);
  }
  pl->v[pl->n++] = p;
  return p;
}

static const char *P(lm_diff *df, const char *s) { return s ? pkeep(df, lm_xstrdup(s)) : NULL; }
static void *palloc(lm_diff *df, size_t n) { return pkeep(df, lm_xcalloc(1, n ? n : 1)); }

void lm_diff_free(lm_diff *df) {
  if (!df) return;
  for (int i = 0; i < df->n; i++) {
    lm_diff_item *it = &df->v[i];
    free(it->object);
    free(it->what);
    free(it->detail);
    free(it->comment);
    free(it->up);
    free(it->down);
  }
  free(df->v);
  pool *pl = df->pool;
  if (pl) {
    for (int i = 0; i < pl->n; i++)
      free(pl->v[i]);
    free(pl->v);
    free(pl);
  }
  memset(df, 0, sizeof *df);
}

static lm_diff_item *item(lm_diff *df, lm_change ch, char *object, const char *verb) {
  if (df->n == df->cap) {
    df->cap = df->cap ? df->cap * 2 : 16;
    df->v = lm_xrealloc(df->v, (size_t)df->cap * sizeof *df->v);
  }
  lm_diff_item *it = &df->v[df->n++];
  memset(it, 0, sizeof *it);
  it->change = ch;
  it->object = object;
  it->what = verb ? lm_xasprintf("%s %s", verb, object) : NULL;
  return it;
}

static lm_op *add_op(lm_op **v, int *n, lm_op_kind kind, const char *table) {
  *v = lm_xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
  lm_op *op = &(*v)[(*n)++];
  memset(op, 0, sizeof *op);
  op->kind = kind;
  op->table = table;
  op->nullable = op->existing_nullable = -1;
  return op;
}

static lm_op *up(lm_diff_item *it, lm_op_kind k, const char *t) {
  return add_op(&it->up, &it->nup, k, t);
}
static lm_op *down(lm_diff_item *it, lm_op_kind k, const char *t) {
  return add_op(&it->down, &it->ndown, k, t);
}

/* ---- facts in canonical form ------------------------------------------------------ */

static char *ntype(const lm_schema_column *c) { return lm_norm_type(c->type); }

static int same_str(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

/* The luamig type that renders as c's type on d. */
static const char *lua_type(const lm_dialect *d, const lm_schema_column *c, lm_diff *df) {
  if (c->ltype) return P(df, c->ltype);
  char *n = ntype(c);
  const char *r = NULL, *alias;
  static const char *const same[] = {"integer", "bigint", "smallint", "text", "boolean",
                                     "date",    "time",   "uuid",     NULL};
  for (int i = 0; same[i] && !r; i++)
    if (strcmp(n, same[i]) == 0) r = P(df, n);
  if (r) {
  } else if (strncmp(n, "varchar(", 8) == 0) {
    r = pkeep(df, lm_xasprintf("string%s", n + 7));
  } else if (strcmp(n, "varchar") == 0) {
    r = P(df, "string");
  } else if (strncmp(n, "numeric", 7) == 0) {
    r = P(df, n);
  } else if ((alias = lm_dialect_luamig_type(d, n))) {
    /* what this dialect alone spells so: PostgreSQL's jsonb, SQLite's blob */
    r = P(df, alias);
  } else if (strcmp(n, "timestamp") == 0) {
    r = P(df, "datetime");
  } else if (strcmp(n, "timestamptz") == 0) {
    r = P(df, "timestamptz");
  } else {
    r = P(df, c->type);
  }
  free(n);
  return r;
}

/* A column's default as the server_default a revision would write. */
static lm_default lua_default(const lm_schema_column *c, lm_diff *df) {
  lm_default v = {LM_DEF_NONE, NULL, 0};
  if (!c->def) return v;
  char *raw = lm_norm_default_raw(c->def);
  char *nt = ntype(c);
  char *lit = lm_norm_literal(raw);
  int is_bool = lm_norm_type_is(nt, "bool");
  if (!*raw || strcasecmp(raw, "null") == 0) {
  } else if (lit) {
    v.kind = LM_DEF_LITERAL;
    v.text = P(df, lit);
  } else if (strcasecmp(raw, "true") == 0 || strcasecmp(raw, "false") == 0) {
    v.kind = LM_DEF_BOOL;
    v.b = strcasecmp(raw, "true") == 0;
  } else if (is_bool && (strcmp(raw, "1") == 0 || strcmp(raw, "0") == 0)) {
    v.kind = LM_DEF_BOOL;
    v.b = raw[0] == '1';
  } else if (lm_norm_is_number(raw)) {
    v.kind = LM_DEF_NUMBER;
    v.text = P(df, raw);
  } else {
    /* an expression as written (the model) or as the catalog gives it: its
     * parentheses and casts may be what makes it valid there
     * ((now() at time zone 'utc'), now() + '1 day'::interval) */
    v.kind = LM_DEF_SQL;
    v.text = P(df, c->def);
  }
  free(lit);
  free(nt);
  free(raw);
  return v;
}

static char *ndefault(const lm_schema_column *c) {
  char *nt = ntype(c);
  char *r = lm_norm_default(c->def, nt);
  free(nt);
  return r;
}

static const char **strv(lm_diff *df, char **v, int n) {
  const char **r = palloc(df, sizeof *r * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++)
    r[i] = P(df, v[i]);
  return r;
}

/* ---- ops from a schema -------------------------------------------------------------- */

static void fill_column(const lm_dialect *d, lm_diff *df, const lm_schema_column *c,
                        lm_column *out) {
  memset(out, 0, sizeof *out);
  out->name = P(df, c->name);
  out->type = lua_type(d, c, df);
  out->nullable = !c->notnull;
  out->autoincrement = c->autoincrement;
  out->server_default = lua_default(c, df);
  out->comment = P(df, c->comment);
  out->collation = P(df, c->collation);
}

static void fill_constraint(lm_diff *df, const lm_schema_item *k, lm_constraint *out) {
  memset(out, 0, sizeof *out);
  out->kind = k->kind == LM_SCON_PK       ? LM_CON_PK
              : k->kind == LM_SCON_UNIQUE ? LM_CON_UNIQUE
              : k->kind == LM_SCON_FK     ? LM_CON_FK
                                          : LM_CON_CHECK;
  out->name = P(df, k->name);
  out->cols = strv(df, k->cols, k->ncols);
  out->ncols = k->ncols;
  if (k->kind == LM_SCON_FK) {
    out->ref_table = P(df, k->ref_table);
    out->ref_cols = strv(df, k->ref_cols, k->nref);
    out->nref = k->nref;
    out->ondelete = P(df, k->ondelete);
    out->onupdate = P(df, k->onupdate);
  }
  out->expr = P(df, k->expr);
}

static const char *con_name(lm_diff *df, const char *table, const lm_schema_item *k,
                            const lm_schema_list *list);

static int names_table(const lm_schema_table *const *v, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(v[i]->name, name) == 0) return 1;
  return 0;
}

/* A foreign key of t to one of the tables later[] (made after t, or gone
 * before it: a cycle of references) is not made with t but on its own. */
static int fk_deferred(const lm_schema_table *t, const lm_schema_item *k,
                       const lm_schema_table *const *later, int nlater) {
  return k->kind == LM_SCON_FK && k->ref_table && strcmp(k->ref_table, t->name) != 0 &&
         names_table(later, nlater, k->ref_table);
}

static lm_op *create_table_op(const lm_dialect *d, lm_diff *df, lm_diff_item *it, int is_up,
                              const lm_schema_table *t, const lm_schema_table *const *later,
                              int nlater) {
  /* the model's unnamed constraints get the naming convention's names, so
   * that every later revision (and its downgrade) can name them */
  int from_model = t->ncols > 0 && t->cols[0].ltype;
  lm_op *op = is_up ? up(it, LM_OP_CREATE_TABLE, P(df, t->name))
                    : down(it, LM_OP_CREATE_TABLE, P(df, t->name));
  op->cols = palloc(df, sizeof *op->cols * (size_t)t->ncols);
  op->cons = palloc(df, sizeof *op->cons * (size_t)(t->constraints.n + 1));
  const lm_schema_item *pk = lm_schema_pk(t);
  for (int i = 0; i < t->ncols; i++) {
    lm_column *c = &op->cols[op->ncols++];
    fill_column(d, df, &t->cols[i], c);
    /* a one-column key reads best on its column */
    if (pk && pk->ncols == 1 && !pk->name && strcmp(pk->cols[0], c->name) == 0) c->primary_key = 1;
  }
  for (int i = 0; i < t->constraints.n; i++) {
    const lm_schema_item *k = &t->constraints.v[i];
    if (k->kind == LM_SCON_EXCLUDE || fk_deferred(t, k, later, nlater)) continue;
    if (k->kind == LM_SCON_PK && k->ncols == 1 && !k->name) continue;
    if (k->kind == LM_SCON_PK && k->ncols == 1) {
      /* named: still on the column when the name is the one PostgreSQL gives */
      char *dflt = lm_xasprintf("%s_pkey", t->name);
      int std = strcmp(dflt, k->name) == 0;
      free(dflt);
      if (std) {
        for (int c = 0; c < op->ncols; c++)
          if (strcmp(op->cols[c].name, k->cols[0]) == 0) op->cols[c].primary_key = 1;
        continue;
      }
    }
    lm_constraint *c = &op->cons[op->ncons++];
    fill_constraint(df, k, c);
    if (!c->name && from_model && k->kind != LM_SCON_PK)
      c->name = con_name(df, t->name, k, &t->constraints);
  }
  return op;
}

/* An index entry that is a column of t (the model's table) or of t2 (the
 * database's, whose dropped columns a downgrade adds back) is a name; any
 * other (lower(email)), and a column with a COLLATE, an operator class or
 * an order ("email" DESC NULLS LAST), is SQL, written as op.sql() and
 * rendered as it is. */
static void index_op(lm_diff *df, lm_op *op, const lm_schema_item *ix, const lm_schema_table *t,
                     const lm_schema_table *t2) {
  op->name = P(df, ix->name);
  int n = ix->ncols ? ix->ncols : 1;
  op->names = palloc(df, sizeof *op->names * (size_t)n);
  unsigned char *expr = palloc(df, (size_t)n);
  for (int i = 0; i < ix->ncols; i++) {
    int col = lm_schema_find_column(t, ix->cols[i]) || lm_schema_find_column(t2, ix->cols[i]);
    int order = ix->desc ? ix->desc[i] : 0;
    const char *opts = ix->opts ? ix->opts[i] : NULL;
    expr[i] = !col || order || opts;
    if (!expr[i]) {
      op->names[i] = P(df, ix->cols[i]);
      continue;
    }
    lm_buf b;
    lm_buf_init(&b);
    if (col) /* order, Name: still names */
      lm_buf_sql_name(&b, ix->cols[i]);
    else
      lm_buf_puts(&b, ix->cols[i]);
    if (opts) lm_buf_printf(&b, " %s", opts);
    if (order & LM_INDEX_DESC) lm_buf_puts(&b, " DESC");
    if (order & LM_INDEX_NULLS_OTHER)
      lm_buf_puts(&b, order & LM_INDEX_DESC ? " NULLS LAST" : " NULLS FIRST");
    op->names[i] = pkeep(df, lm_buf_steal(&b));
  }
  op->name_is_expr = expr;
  op->nnames = ix->ncols;
  op->unique = ix->unique;
  op->where = P(df, ix->expr);
  op->method = P(df, ix->method);
  if (ix->ninclude > 0) {
    op->include = palloc(df, sizeof *op->include * (size_t)ix->ninclude);
    for (int i = 0; i < ix->ninclude; i++)
      op->include[i] = P(df, ix->include[i]);
    op->ninclude = ix->ninclude;
  }
}

static void create_indexes(lm_diff *df, lm_diff_item *it, int is_up, const lm_schema_table *t) {
  for (int i = 0; i < t->indexes.n; i++) {
    lm_op *op = is_up ? up(it, LM_OP_CREATE_INDEX, P(df, t->name))
                      : down(it, LM_OP_CREATE_INDEX, P(df, t->name));
    index_op(df, op, &t->indexes.v[i], t, NULL);
  }
}

/* Their inverse, as Alembic writes it: each index dropped, last first, before
 * its table goes. */
static void drop_indexes(lm_diff *df, lm_diff_item *it, int is_up, const lm_schema_table *t) {
  for (int i = t->indexes.n - 1; i >= 0; i--) {
    lm_op *op = is_up ? up(it, LM_OP_DROP_INDEX, P(df, t->name))
                      : down(it, LM_OP_DROP_INDEX, P(df, t->name));
    op->name = P(df, t->indexes.v[i].name);
  }
}

/* ---- describing constraints and indexes ------------------------------------------------- */

static const char *con_word(int kind) {
  switch (kind) {
  case LM_SCON_PK: return "primary key";
  case LM_SCON_UNIQUE: return "unique constraint";
  case LM_SCON_FK: return "foreign key";
  case LM_SCON_CHECK: return "check constraint";
  }
  return "constraint";
}

static void put_cols(lm_buf *b, char **v, int n) {
  for (int i = 0; i < n; i++)
    lm_buf_printf(b, "%s%s", i ? ", " : "", v[i]);
}

static char *con_object(const char *table, const lm_schema_item *k) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, con_word(k->kind));
  if (k->kind == LM_SCON_PK) {
    lm_buf_printf(&b, " on '%s' (", table);
    put_cols(&b, k->cols, k->ncols);
    lm_buf_putc(&b, ')');
    return lm_buf_steal(&b);
  }
  if (k->name) {
    lm_buf_printf(&b, " '%s' on '%s'", k->name, table);
    return lm_buf_steal(&b);
  }
  lm_buf_printf(&b, " on '%s' ", table);
  if (k->kind == LM_SCON_CHECK) {
    lm_buf_printf(&b, "(%s)", k->expr ? k->expr : "");
  } else {
    lm_buf_putc(&b, '(');
    put_cols(&b, k->cols, k->ncols);
    lm_buf_putc(&b, ')');
    if (k->kind == LM_SCON_FK) {
      lm_buf_printf(&b, " -> %s (", k->ref_table ? k->ref_table : "?");
      put_cols(&b, k->ref_cols, k->nref);
      lm_buf_putc(&b, ')');
    }
  }
  return lm_buf_steal(&b);
}

/* ---- matching constraints and indexes ------------------------------------------------- */

static int same_cols(char **a, int na, char **b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0) return 0;
  return 1;
}

/* Unique columns as a set: (a, b) and (b, a) enforce the same thing. */
static int same_col_set(char **a, int na, char **b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++) {
    int found = 0;
    for (int j = 0; j < nb && !found; j++)
      found = strcmp(a[i], b[j]) == 0;
    if (!found) return 0;
  }
  return 1;
}

/* Same target: columns and referenced table; referenced columns when both
 * know them (SQLite may leave them implicit: the referenced key). */
static int fk_same_target(const lm_schema_item *a, const lm_schema_item *b) {
  if (!same_cols(a->cols, a->ncols, b->cols, b->ncols) || !same_str(a->ref_table, b->ref_table))
    return 0;
  return !a->nref || !b->nref || same_cols(a->ref_cols, a->nref, b->ref_cols, b->nref);
}

static int fk_same_actions(const lm_schema_item *a, const lm_schema_item *b) {
  return same_str(a->ondelete, b->ondelete) && same_str(a->onupdate, b->onupdate);
}

/* Whether a wanted CHECK's text can be held against the catalog's: where the
 * catalog keeps the text as written, or the database rewrote the wanted one
 * as its catalog does (expr_db, lm_project_canonical_checks). Otherwise a
 * named check is compared by its name only. */
static int check_text_comparable(const lm_schema_item *w, int checks_as_written) {
  return checks_as_written || w->expr_db;
}

static int con_same_content(const lm_schema_item *w, const lm_schema_item *h) {
  if (w->kind != h->kind) return 0;
  switch (w->kind) {
  case LM_SCON_PK: return same_cols(w->cols, w->ncols, h->cols, h->ncols);
  case LM_SCON_UNIQUE: return same_col_set(w->cols, w->ncols, h->cols, h->ncols);
  case LM_SCON_FK: return fk_same_target(w, h) && fk_same_actions(w, h);
  case LM_SCON_CHECK: return lm_expr_same(w->expr_db ? w->expr_db : w->expr, h->expr);
  }
  return 0;
}

static int index_col_same(const char *a, const char *b) {
  if (strcmp(a, b) == 0) return 1;
  return lm_expr_same(a, b);
}

static int index_same(const lm_schema_item *w, const lm_schema_item *h) {
  if (w->unique != h->unique || w->ncols != h->ncols) return 0;
  if (strcasecmp(w->method ? w->method : "", h->method ? h->method : "") != 0) return 0;
  if (w->ninclude != h->ninclude) return 0;
  for (int i = 0; i < w->ninclude; i++)
    if (strcmp(w->include[i], h->include[i]) != 0) return 0;
  for (int i = 0; i < w->ncols; i++) {
    if (!index_col_same(w->cols[i], h->cols[i])) return 0;
    if ((w->desc ? w->desc[i] : 0) != (h->desc ? h->desc[i] : 0)) return 0;
    const char *wo = w->opts ? w->opts[i] : NULL, *ho = h->opts ? h->opts[i] : NULL;
    if (strcasecmp(wo ? wo : "", ho ? ho : "") != 0) return 0;
  }
  return lm_expr_same(w->expr_db ? w->expr_db : w->expr, h->expr);
}

typedef struct table_pair {
  const lm_schema_table *w, *h;
  const char *name; /* the name after renames: w's */
  /* matched[i] for w's constraints: index into h's constraints, or -1 */
  int *con_match, *h_con_used;
  int *ix_match, *h_ix_used;
  int *col_match, *h_col_used; /* columns */
} table_pair;

static void match_constraints(table_pair *tp) {
  const lm_schema_list *W = &tp->w->constraints, *H = &tp->h->constraints;
  tp->con_match = lm_xcalloc((size_t)W->n + 1, sizeof(int));
  tp->h_con_used = lm_xcalloc((size_t)H->n + 1, sizeof(int));
  tp->ix_match = lm_xcalloc((size_t)tp->w->indexes.n + 1, sizeof(int));
  tp->h_ix_used = lm_xcalloc((size_t)tp->h->indexes.n + 1, sizeof(int));
  for (int i = 0; i < W->n; i++)
    tp->con_match[i] = -1;
  for (int i = 0; i < tp->w->indexes.n; i++)
    tp->ix_match[i] = -1;
  /* the primary key: one per table, whatever its name */
  for (int i = 0; i < W->n; i++) {
    if (W->v[i].kind != LM_SCON_PK) continue;
    for (int j = 0; j < H->n; j++)
      if (H->v[j].kind == LM_SCON_PK) tp->con_match[i] = j, tp->h_con_used[j] = 1;
  }
  /* by name */
  for (int i = 0; i < W->n; i++) {
    const lm_schema_item *w = &W->v[i];
    if (tp->con_match[i] >= 0 || !w->name) continue;
    for (int j = 0; j < H->n; j++) {
      const lm_schema_item *h = &H->v[j];
      if (tp->h_con_used[j] || h->kind != w->kind || !same_str(h->name, w->name)) continue;
      tp->con_match[i] = j, tp->h_con_used[j] = 1;
      break;
    }
  }
  /* by content: an unnamed constraint, or one the database named itself */
  for (int i = 0; i < W->n; i++) {
    const lm_schema_item *w = &W->v[i];
    if (tp->con_match[i] >= 0) continue;
    for (int j = 0; j < H->n; j++) {
      const lm_schema_item *h = &H->v[j];
      if (tp->h_con_used[j] || !con_same_content(w, h)) continue;
      if (w->name && h->name) continue; /* both named, differently: not the same */
      tp->con_match[i] = j, tp->h_con_used[j] = 1;
      break;
    }
  }
  /* an unnamed CHECK: PostgreSQL rewrites expressions (IN becomes = ANY,
   * casts appear), so a check the database named on its own stands for the
   * model's unnamed one, in order */
  for (int i = 0; i < W->n; i++) {
    const lm_schema_item *w = &W->v[i];
    if (tp->con_match[i] >= 0 || w->kind != LM_SCON_CHECK || w->name) continue;
    for (int j = 0; j < H->n; j++) {
      const lm_schema_item *h = &H->v[j];
      if (tp->h_con_used[j] || h->kind != LM_SCON_CHECK) continue;
      int claimed = 0;
      for (int k = 0; k < W->n && !claimed; k++)
        claimed = W->v[k].name && h->name && strcmp(W->v[k].name, h->name) == 0;
      if (claimed) continue;
      tp->con_match[i] = j, tp->h_con_used[j] = 1;
      break;
    }
  }
  /* indexes by name */
  const lm_schema_list *WI = &tp->w->indexes, *HI = &tp->h->indexes;
  for (int i = 0; i < WI->n; i++)
    for (int j = 0; j < HI->n; j++)
      if (!tp->h_ix_used[j] && same_str(WI->v[i].name, HI->v[j].name)) {
        tp->ix_match[i] = j, tp->h_ix_used[j] = 1;
        break;
      }
  /* a unique constraint kept as a unique index (SQLite's ADD COLUMN … UNIQUE) */
  for (int i = 0; i < W->n; i++) {
    const lm_schema_item *w = &W->v[i];
    if (tp->con_match[i] >= 0 || w->kind != LM_SCON_UNIQUE) continue;
    for (int j = 0; j < HI->n; j++) {
      const lm_schema_item *h = &HI->v[j];
      if (tp->h_ix_used[j] || !h->unique || h->expr ||
          !same_col_set(w->cols, w->ncols, h->cols, h->ncols))
        continue;
      tp->h_ix_used[j] = 1;
      tp->con_match[i] = -2; /* satisfied */
      break;
    }
  }
}

/* Which of h's columns each of w's is: the same name, or the renamed_from
 * the model declares. */
static void match_columns(table_pair *tp) {
  tp->col_match = lm_xcalloc((size_t)tp->w->ncols + 1, sizeof(int));
  tp->h_col_used = lm_xcalloc((size_t)tp->h->ncols + 1, sizeof(int));
  for (int c = 0; c < tp->w->ncols; c++) {
    tp->col_match[c] = -1;
    for (int k = 0; k < tp->h->ncols; k++)
      if (!tp->h_col_used[k] && strcmp(tp->w->cols[c].name, tp->h->cols[k].name) == 0) {
        tp->col_match[c] = k, tp->h_col_used[k] = 1;
        break;
      }
  }
  for (int c = 0; c < tp->w->ncols; c++) {
    const char *from = tp->w->cols[c].renamed_from;
    if (tp->col_match[c] >= 0 || !from) continue;
    for (int k = 0; k < tp->h->ncols; k++)
      if (!tp->h_col_used[k] && strcmp(from, tp->h->cols[k].name) == 0) {
        tp->col_match[c] = k, tp->h_col_used[k] = 1;
        break;
      }
  }
}

/* The name column col of tp's table in the database has after the renames. */
static const char *col_after(const table_pair *tp, const char *col) {
  for (int c = 0; c < tp->w->ncols; c++) {
    int k = tp->col_match[c];
    if (k >= 0 && strcmp(tp->h->cols[k].name, col) == 0) return tp->w->cols[c].name;
  }
  return col;
}

static void set_name(char **s, const char *v) {
  if (!*s || strcmp(*s, v) == 0) return;
  free(*s);
  *s = lm_xstrdup(v);
}

/* Both databases carry a table's constraints and indexes, and the foreign
 * keys that reference it, through a rename of the table or a column. So the
 * database's constraints and indexes are read in the names they have after
 * the model's renames: a renamed column's index is the model's index, not
 * one dropped and one made, and what is dropped and made again is made in
 * the names of the moment the operation runs (after the renames in
 * upgrade(), before their inverse in downgrade()). Expressions (CHECK,
 * WHERE, index expressions) name the renamed columns by their new names, as
 * the database rewrites them. */
static void set_expr(char **s, const char *const *from, const char *const *to, int nr) {
  char *r = lm_norm_rename_columns(*s, from, to, nr);
  if (r) free(*s), *s = r;
}

static void follow_renames(lm_schema *have, table_pair *pairs, int np) {
  for (int i = 0; i < np; i++) {
    table_pair *tp = &pairs[i];
    lm_schema_table *h = (lm_schema_table *)tp->h;
    /* the column renames of this table, for its expressions */
    const char **from = lm_xcalloc((size_t)tp->w->ncols + 1, sizeof *from);
    const char **to = lm_xcalloc((size_t)tp->w->ncols + 1, sizeof *to);
    int nr = 0;
    for (int c = 0; c < tp->w->ncols; c++) {
      int k = tp->col_match[c];
      if (k >= 0 && strcmp(h->cols[k].name, tp->w->cols[c].name) != 0)
        from[nr] = h->cols[k].name, to[nr++] = tp->w->cols[c].name;
    }
    lm_schema_list *lists[] = {&h->constraints, &h->indexes};
    for (int l = 0; l < 2; l++)
      for (int j = 0; j < lists[l]->n; j++) {
        lm_schema_item *it = &lists[l]->v[j];
        for (int c = 0; c < it->ncols; c++) {
          const char *after = col_after(tp, it->cols[c]);
          if (after != it->cols[c])
            set_name(&it->cols[c], after);
          else
            set_expr(&it->cols[c], from, to, nr);
        }
        set_expr(&it->expr, from, to, nr);
        set_expr(&it->expr_db, from, to, nr);
      }
    free(from);
    free(to);
  }
  for (int t = 0; t < have->ntables; t++) {
    lm_schema_list *K = &have->tables[t]->constraints;
    for (int j = 0; j < K->n; j++) {
      lm_schema_item *fk = &K->v[j];
      if (fk->kind != LM_SCON_FK || !fk->ref_table) continue;
      const table_pair *to = NULL;
      for (int i = 0; i < np && !to; i++)
        if (strcmp(pairs[i].h->name, fk->ref_table) == 0) to = &pairs[i];
      if (!to) continue;
      for (int c = 0; c < fk->nref; c++)
        set_name(&fk->ref_cols[c], col_after(to, fk->ref_cols[c]));
      set_name(&fk->ref_table, to->w->name);
    }
  }
}

static void pair_free(table_pair *tp) {
  free(tp->con_match);
  free(tp->h_con_used);
  free(tp->ix_match);
  free(tp->h_ix_used);
  free(tp->col_match);
  free(tp->h_col_used);
}

/* ---- the operations of one constraint ----------------------------------------------------- */

static const char *con_type_word(int kind) {
  switch (kind) {
  case LM_SCON_PK: return "primary";
  case LM_SCON_UNIQUE: return "unique";
  case LM_SCON_FK: return "foreignkey";
  }
  return "check";
}

/* A constraint the database has and the model does not. Its name is the
 * database's; an unnamed SQLite constraint gets one it never had, which
 * move-and-copy finds by content. */
static lm_op *drop_con_op(lm_diff *df, lm_op *op, const lm_schema_item *k) {
  op->name = P(df, k->name);
  op->constraint_type = con_type_word(k->kind);
  return op;
}

/* The name of a constraint for the ops that need one: its own, or for an
 * unnamed one the naming convention's, which an unnamed SQLite constraint
 * also answers to in move-and-copy (pk_t, uq_t_a_b, fk_t_a_ref, ck_t_N). */
static const char *con_name(lm_diff *df, const char *table, const lm_schema_item *k,
                            const lm_schema_list *list) {
  if (k->name) return P(df, k->name);
  lm_buf b;
  lm_buf_init(&b);
  switch (k->kind) {
  case LM_SCON_PK: lm_buf_printf(&b, "pk_%s", table); break;
  case LM_SCON_UNIQUE:
    lm_buf_printf(&b, "uq_%s", table);
    for (int i = 0; i < k->ncols; i++)
      lm_buf_printf(&b, "_%s", k->cols[i]);
    break;
  case LM_SCON_FK:
    lm_buf_printf(&b, "fk_%s_%s_%s", table, k->ncols ? k->cols[0] : "",
                  k->ref_table ? k->ref_table : "");
    break;
  default: {
    int nth = 0;
    for (int i = 0; list && i < list->n; i++) {
      if (list->v[i].kind == LM_SCON_CHECK && !list->v[i].name) nth++;
      if (&list->v[i] == k) break;
    }
    lm_buf_printf(&b, "ck_%s_%d", table, nth ? nth : 1);
  }
  }
  return pkeep(df, lm_buf_steal(&b));
}

static void create_con_op(lm_diff *df, lm_op *op, const char *table, const lm_schema_item *k,
                          const lm_schema_list *list) {
  op->kind = k->kind == LM_SCON_PK       ? LM_OP_CREATE_PK
             : k->kind == LM_SCON_UNIQUE ? LM_OP_CREATE_UNIQUE
             : k->kind == LM_SCON_FK     ? LM_OP_CREATE_FK
                                         : LM_OP_CREATE_CHECK;
  op->cons = palloc(df, sizeof *op->cons);
  op->ncons = 1;
  fill_constraint(df, k, &op->cons[0]);
  op->name = con_name(df, table, k, list);
  op->cons[0].name = op->name;
}

static void drop_constraint_item(lm_diff *df, const char *table, const lm_schema_item *h,
                                 const lm_schema_list *list) {
  lm_diff_item *it = item(df, LM_CH_REMOVED, con_object(table, h), "removed");
  lm_op *op = down(it, LM_OP_CREATE_CHECK, P(df, table));
  create_con_op(df, op, table, h, list);
  lm_op *dr = drop_con_op(df, up(it, LM_OP_DROP_CONSTRAINT, P(df, table)), h);
  dr->name = op->name;
  /* a primary key the database holds without a name (SQLite) is dropped by
   * the convention's name and made again without one, as it was */
  if (h->kind == LM_SCON_PK && !h->name) op->name = op->cons[0].name = NULL;
}

/* Whether an op (other than self) of diff df makes (drop 0) or drops
 * (drop 1) the constraint name of table. */
static int diff_names(const lm_diff *df, const lm_op *self, const char *table, const char *name,
                      int drop) {
  for (int i = 0; i < df->n; i++)
    for (int j = 0; j < df->v[i].nup; j++) {
      const lm_op *o = &df->v[i].up[j];
      if (o != self && o->kind == (drop ? LM_OP_DROP_CONSTRAINT : LM_OP_CREATE_CHECK) && o->name &&
          o->table && strcmp(o->table, table) == 0 && strcmp(o->name, name) == 0)
        return 1;
    }
  return 0;
}

/* Whether name is a constraint name of table already: one of have's (by
 * name, or the name an unnamed one answers to) that this diff does not
 * drop, one of list's own, or one a constraint made earlier in this diff
 * was given. */
static int con_name_taken(const lm_diff *df, const lm_op *self, const char *table,
                          const lm_schema_list *have, const lm_schema_list *list,
                          const char *name) {
  for (int pass = 0; pass < 2; pass++) {
    const lm_schema_list *l = pass ? list : have;
    int nth = 0;
    for (int i = 0; l && i < l->n; i++) {
      const lm_schema_item *k = &l->v[i];
      int hit = k->name && strcmp(k->name, name) == 0;
      if (pass == 0 && !k->name && k->kind == LM_SCON_CHECK) {
        char *answers = lm_xasprintf("ck_%s_%d", table, ++nth);
        hit = strcmp(answers, name) == 0;
        free(answers);
      }
      if (hit && (pass == 1 || !diff_names(df, self, table, name, 1))) return 1;
    }
  }
  return diff_names(df, self, table, name, 0);
}

/* have: the database's constraints of the table (NULL for a new table),
 * whose names an unnamed new check's must not take: ck_t_N counts on from
 * the model's position until the name is free */
static void create_constraint_item(lm_diff *df, const char *table, const lm_schema_item *w,
                                   const lm_schema_list *list, const lm_schema_list *have) {
  lm_diff_item *it = item(df, LM_CH_ADDED, con_object(table, w), "added");
  lm_op *op = up(it, LM_OP_CREATE_CHECK, P(df, table));
  create_con_op(df, op, table, w, list);
  if (!w->name && w->kind == LM_SCON_CHECK && have) {
    int n = 0;
    sscanf(op->name + strlen(table) + 4, "%d", &n); /* ck_<table>_<n> */
    while (con_name_taken(df, op, table, have, list, op->name)) {
      char *nm = lm_xasprintf("ck_%s_%d", table, ++n);
      op->name = pkeep(df, nm);
      op->cons[0].name = op->name;
    }
  }
  lm_op *dn = down(it, LM_OP_DROP_CONSTRAINT, P(df, table));
  dn->name = op->name;
  dn->constraint_type = con_type_word(w->kind);
}

static char *index_object(const lm_schema_item *ix) { return lm_xasprintf("index '%s'", ix->name); }

/* t: the table in the names after the renames (the model's); t2 the
 * database's */
static void drop_index_item(lm_diff *df, const lm_schema_table *t, const lm_schema_table *t2,
                            const lm_schema_item *h) {
  const char *table = t->name;
  lm_diff_item *it = item(df, LM_CH_REMOVED, index_object(h), "removed");
  lm_op *op = up(it, LM_OP_DROP_INDEX, P(df, table));
  op->name = P(df, h->name);
  index_op(df, down(it, LM_OP_CREATE_INDEX, P(df, table)), h, t, t2);
}

static void create_index_item(lm_diff *df, const lm_schema_table *t, const lm_schema_table *t2,
                              const lm_schema_item *w) {
  const char *table = t->name;
  lm_diff_item *it = item(df, LM_CH_ADDED, index_object(w), "added");
  index_op(df, up(it, LM_OP_CREATE_INDEX, P(df, table)), w, t, t2);
  lm_op *op = down(it, LM_OP_DROP_INDEX, P(df, table));
  op->name = P(df, w->name);
}

/* ---- columns ------------------------------------------------------------------------------ */

static char *col_object(const char *table, const char *col) {
  return lm_xasprintf("column '%s.%s'", table, col);
}

static void add_column_item(const lm_dialect *d, lm_diff *df, const char *table,
                            const lm_schema_column *c) {
  lm_diff_item *it = item(df, LM_CH_ADDED, col_object(table, c->name), "added");
  lm_op *op = up(it, LM_OP_ADD_COLUMN, P(df, table));
  op->cols = palloc(df, sizeof *op->cols);
  op->ncols = 1;
  fill_column(d, df, c, &op->cols[0]);
  lm_op *dn = down(it, LM_OP_DROP_COLUMN, P(df, table));
  dn->name = P(df, c->name);
}

static void drop_column_item(const lm_dialect *d, lm_diff *df, const char *table,
                             const lm_schema_column *c) {
  lm_diff_item *it = item(df, LM_CH_REMOVED, col_object(table, c->name), "removed");
  lm_op *op = up(it, LM_OP_DROP_COLUMN, P(df, table));
  op->name = P(df, c->name);
  lm_op *dn = down(it, LM_OP_ADD_COLUMN, P(df, table));
  dn->cols = palloc(df, sizeof *dn->cols);
  dn->ncols = 1;
  fill_column(d, df, c, &dn->cols[0]);
}

static char *show_default(const char *def) { return lm_xstrdup(def ? def : "no default"); }

/* Whether column name (in the names after the renames) is in t's primary key. */
static int in_pk(const lm_schema_table *t, const char *name, int alone) {
  const lm_schema_item *pk = lm_schema_pk(t);
  if (!pk || (alone && pk->ncols != 1)) return 0;
  for (int i = 0; i < pk->ncols; i++)
    if (strcmp(pk->cols[i], name) == 0) return 1;
  return 0;
}

/* The type a column is compared by: the table's single integer key column
 * by the type d gives a key it numbers itself (SQLite's rowid is INTEGER
 * whatever the model says; PostgreSQL's serials keep their width). */
static char *cmp_type(const lm_dialect *d, const lm_schema_table *t, const lm_schema_column *c,
                      const char *name) {
  char *n = ntype(c);
  if (!in_pk(t, name, 1)) return n;
  static const char *const family[] = {"integer", "bigint", "smallint"};
  for (int i = 0; i < 3; i++)
    if (strcmp(n, family[i]) == 0) {
      free(n);
      return lm_norm_type(lm_dialect_auto_type(d, i));
    }
  return n;
}

/* A primary key's columns are NOT NULL in the model's meaning, and luamig
 * writes NOT NULL on each. A catalog may not say so: SQLite's reports the
 * NOT NULL a table was declared with, and `id INTEGER PRIMARY KEY` (the
 * rowid, which cannot be NULL) or an older key column declared without it
 * reads as nullable. Such a key is compared as the NOT NULL key it stands
 * for, so that schema --model round-trips. */
static int cmp_notnull(const lm_schema_table *t, const lm_schema_column *c, const char *name) {
  return c->notnull || in_pk(t, name, 0);
}

/* "col"::to where the dialect cannot change the column's type from `from`
 * to `to` without the conversion written out (postgresql_using), or NULL. */
static const char *using_cast(const lm_dialect *d, lm_diff *df, const char *col, const char *from,
                              const char *to) {
  if (!lm_dialect_type_change_needs_cast(d, from, to)) return NULL;
  static const char *const serials[][2] = {
      {"serial", "integer"}, {"bigserial", "bigint"}, {"smallserial", "smallint"}};
  for (size_t i = 0; i < sizeof serials / sizeof *serials; i++)
    if (strcmp(to, serials[i][0]) == 0) to = serials[i][1]; /* a key's: the type it numbers */
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_sql_name(&b, col);
  lm_buf_printf(&b, "::%s", to);
  return pkeep(df, lm_buf_steal(&b));
}

/* op: an alter_column of column name's default to that of col (NULL: the
 * default dropped), the column then of type_of's type. */
static void default_op(const lm_dialect *d, lm_diff *df, lm_op *op, const char *name,
                       const lm_schema_column *col, const lm_schema_column *type_of) {
  op->name = P(df, name);
  if (col) op->server_default = lua_default(col, df);
  if (op->server_default.kind == LM_DEF_NONE) op->server_default.kind = LM_DEF_DROP;
  op->existing_type = lua_type(d, type_of, df);
}

/* Type, nullability and default of a column both sides have. */
static void compare_column(const lm_dialect *d, lm_diff *df, const table_pair *tp,
                           const lm_schema_column *w, const lm_schema_column *h) {
  const char *table = tp->name;
  /* h's constraints are in the names after the renames (follow_renames): w's */
  char *tw = cmp_type(d, tp->w, w, w->name), *th = cmp_type(d, tp->h, h, w->name);
  int nw = cmp_notnull(tp->w, w, w->name), nh = cmp_notnull(tp->h, h, w->name);
  char *dw = ndefault(w), *dh = ndefault(h);
  /* altered in place (PostgreSQL), a type change leaves a default that may
   * not cast to the new type in the way: it is dropped before the type
   * changes and set after (the new one going up, the old one coming down) */
  int defaults_around =
      strcmp(tw, th) != 0 && (dw || dh) && lm_dialect_has_cap(d, LM_CAP_ALTER_COLUMN);
  if (strcmp(tw, th) != 0) {
    lm_diff_item *it = item(df, LM_CH_CHANGED, col_object(table, w->name), NULL);
    it->what =
        lm_xasprintf("type change from %s to %s on '%s.%s'", h->type, w->type, table, w->name);
    it->detail = lm_xasprintf("type %s, not %s", w->type, h->type);
    if (defaults_around && dh)
      default_op(d, df, up(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, NULL, h);
    if (defaults_around && dw)
      default_op(d, df, down(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, NULL, w);
    lm_op *op = up(it, LM_OP_ALTER_COLUMN, P(df, table));
    op->name = P(df, w->name);
    op->type = lua_type(d, w, df);
    op->existing_type = lua_type(d, h, df);
    op->existing_nullable = !h->notnull;
    op->using_expr = using_cast(d, df, w->name, th, tw);
    lm_op *dn = down(it, LM_OP_ALTER_COLUMN, P(df, table));
    dn->name = op->name;
    dn->type = op->existing_type;
    dn->existing_type = op->type;
    dn->existing_nullable = !h->notnull;
    dn->using_expr = using_cast(d, df, w->name, tw, th);
    if (defaults_around && dw)
      default_op(d, df, up(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, w, w);
    if (defaults_around && dh)
      default_op(d, df, down(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, h, h);
  }
  if (nw != nh) {
    lm_diff_item *it = item(df, LM_CH_CHANGED, col_object(table, w->name), NULL);
    it->what = lm_xasprintf("%s on column '%s.%s'", nw ? "NOT NULL" : "NULL", table, w->name);
    it->detail = lm_xstrdup(nw ? "NOT NULL, not nullable" : "nullable, not NOT NULL");
    lm_op *op = up(it, LM_OP_ALTER_COLUMN, P(df, table));
    op->name = P(df, w->name);
    op->nullable = !nw;
    op->existing_type = lua_type(d, h, df);
    lm_op *dn = down(it, LM_OP_ALTER_COLUMN, P(df, table));
    dn->name = op->name;
    dn->nullable = !nh;
    dn->existing_type = op->existing_type;
  }
  if (!same_str(dw, dh)) {
    lm_diff_item *it = item(df, LM_CH_CHANGED, col_object(table, w->name), NULL);
    it->what = lm_xasprintf("%s server default on column '%s.%s'",
                            !dh   ? "added"
                            : !dw ? "removed"
                                  : "changed",
                            table, w->name);
    char *sw = show_default(w->def), *sh = show_default(h->def);
    it->detail = lm_xasprintf("default %s, not %s", sw, sh);
    free(sw);
    free(sh);
    /* with defaults_around, the type change's operations make it */
    if (!defaults_around) {
      default_op(d, df, up(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, w, h);
      default_op(d, df, down(it, LM_OP_ALTER_COLUMN, P(df, table)), w->name, h, h);
    }
  }
  free(dw);
  free(dh);
  free(tw);
  free(th);
}

/* ---- tables in dependency order ---------------------------------------------------------- */

/* Orders tables so that each comes after the tables it references (among
 * those in the list); cycles keep their given order. */
static void order_by_refs(const lm_schema_table **v, int n) {
  const lm_schema_table **out = lm_xcalloc((size_t)n + 1, sizeof *out);
  char *done = lm_xcalloc((size_t)n + 1, 1);
  int k = 0;
  while (k < n) {
    int progress = 0;
    for (int i = 0; i < n; i++) {
      if (done[i]) continue;
      int ready = 1;
      for (int c = 0; c < v[i]->constraints.n && ready; c++) {
        const lm_schema_item *fk = &v[i]->constraints.v[c];
        if (fk->kind != LM_SCON_FK || !fk->ref_table || strcmp(fk->ref_table, v[i]->name) == 0)
          continue;
        for (int j = 0; j < n; j++)
          if (!done[j] && j != i && strcmp(v[j]->name, fk->ref_table) == 0) ready = 0;
      }
      if (ready) out[k++] = v[i], done[i] = 1, progress = 1;
    }
    if (!progress)
      for (int i = 0; i < n; i++)
        if (!done[i]) {
          out[k++] = v[i], done[i] = 1;
          break;
        }
  }
  memcpy(v, out, sizeof *v * (size_t)n);
  free(out);
  free(done);
}

/* Tables that go (have's tables nothing of want pairs with): those
 * referencing others first. They go after the foreign keys of the tables
 * that stay and before those tables' other constraints, indexes and
 * columns, which a foreign key of theirs may need (a unique constraint it
 * references; PostgreSQL refuses to drop that first); the downgrade makes
 * them again after those are back. */
static void drop_going_tables(const lm_dialect *d, lm_diff *df, const lm_schema *have,
                              const int *h_used, int nh) {
  const lm_schema_table **dropped = lm_xcalloc((size_t)nh + 1, sizeof *dropped);
  int ndropped = 0;
  for (int j = 0; j < nh; j++)
    if (!h_used[j]) dropped[ndropped++] = have->tables[j];
  order_by_refs(dropped, ndropped);
  /* a cycle of references is broken before its tables go (and made again
   * once the downgrade has made them both) */
  for (int i = 0; i < ndropped; i++)
    for (int c = 0; c < dropped[i]->constraints.n; c++)
      if (fk_deferred(dropped[i], &dropped[i]->constraints.v[c], dropped + i + 1, ndropped - i - 1))
        drop_constraint_item(df, dropped[i]->name, &dropped[i]->constraints.v[c],
                             &dropped[i]->constraints);
  for (int i = ndropped - 1; i >= 0; i--) {
    const lm_schema_table *t = dropped[i];
    lm_diff_item *it = item(df, LM_CH_REMOVED, lm_xasprintf("table '%s'", t->name), "removed");
    drop_indexes(df, it, 1, t);
    up(it, LM_OP_DROP_TABLE, P(df, t->name));
    create_table_op(d, df, it, 0, t, dropped + i + 1, ndropped - i - 1);
    create_indexes(df, it, 0, t);
  }
  free(dropped);
}

/* ---- the comparison ------------------------------------------------------------------------ */

int lm_compare(const lm_dialect *d, const lm_schema *want, const lm_schema *have_db, lm_diff *out) {
  memset(out, 0, sizeof *out);
  /* a copy: follow_renames rewrites its constraints and indexes */
  lm_schema *have = lm_schema_copy(have_db);
  lm_diff *df = out;
  /* a named CHECK whose expression changed is dropped and made again, where
   * its text is comparable (check_text_comparable) */
  int checks_as_written = lm_dialect_has_cap(d, LM_CAP_CHECK_AS_WRITTEN);
  int nw = want->ntables, nh = have->ntables;
  table_pair *pairs = lm_xcalloc((size_t)nw + 1, sizeof *pairs);
  int np = 0;
  int *h_used = lm_xcalloc((size_t)nh + 1, sizeof(int));
  const lm_schema_table **created = lm_xcalloc((size_t)nw + 1, sizeof *created);
  int ncreated = 0;
  /* tables: by name, then renamed_from */
  int *w_pair = lm_xcalloc((size_t)nw + 1, sizeof(int));
  for (int i = 0; i < nw; i++) {
    w_pair[i] = -1;
    for (int j = 0; j < nh; j++)
      if (!h_used[j] && strcmp(want->tables[i]->name, have->tables[j]->name) == 0) {
        w_pair[i] = j, h_used[j] = 1;
        break;
      }
  }
  for (int i = 0; i < nw; i++) {
    const char *from = want->tables[i]->renamed_from;
    if (w_pair[i] >= 0 || !from) continue;
    for (int j = 0; j < nh; j++)
      if (!h_used[j] && strcmp(from, have->tables[j]->name) == 0) {
        w_pair[i] = j, h_used[j] = 1;
        break;
      }
  }
  for (int i = 0; i < nw; i++) {
    if (w_pair[i] < 0) {
      created[ncreated++] = want->tables[i];
      continue;
    }
    table_pair *tp = &pairs[np++];
    tp->w = want->tables[i];
    tp->h = have->tables[w_pair[i]];
    tp->name = tp->w->name;
    match_columns(tp);
  }
  free(w_pair);
  follow_renames(have, pairs, np);
  for (int i = 0; i < np; i++)
    match_constraints(&pairs[i]);

  /* 1. table renames */
  for (int i = 0; i < np; i++) {
    table_pair *tp = &pairs[i];
    if (strcmp(tp->w->name, tp->h->name) == 0) continue;
    lm_diff_item *it = item(df, LM_CH_RENAMED, lm_xasprintf("table '%s'", tp->h->name), NULL);
    it->what = lm_xasprintf("renamed table '%s' -> '%s'", tp->h->name, tp->w->name);
    lm_op *op = up(it, LM_OP_RENAME_TABLE, P(df, tp->h->name));
    op->new_name = P(df, tp->w->name);
    lm_op *dn = down(it, LM_OP_RENAME_TABLE, P(df, tp->w->name));
    dn->new_name = P(df, tp->h->name);
  }
  /* 2. column renames */
  for (int i = 0; i < np; i++) {
    table_pair *tp = &pairs[i];
    for (int c = 0; c < tp->w->ncols; c++) {
      int k = tp->col_match[c];
      if (k < 0 || strcmp(tp->w->cols[c].name, tp->h->cols[k].name) == 0) continue;
      const char *from = tp->h->cols[k].name;
      lm_diff_item *it = item(df, LM_CH_RENAMED, col_object(tp->name, from), NULL);
      it->what = lm_xasprintf("renamed column '%s.%s' -> '%s.%s'", tp->name, from, tp->name,
                              tp->w->cols[c].name);
      lm_op *op = up(it, LM_OP_ALTER_COLUMN, P(df, tp->name));
      op->name = P(df, from);
      op->new_name = P(df, tp->w->cols[c].name);
      lm_op *dn = down(it, LM_OP_ALTER_COLUMN, P(df, tp->name));
      dn->name = op->new_name;
      dn->new_name = op->name;
    }
  }
  /* 3. constraints and indexes that go: foreign keys first, then (4) the
   * tables that go, then the rest */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) drop_going_tables(d, df, have, h_used, nh);
    for (int i = 0; i < np; i++) {
      table_pair *tp = &pairs[i];
      const lm_schema_list *H = &tp->h->constraints;
      for (int j = 0; j < H->n; j++) {
        const lm_schema_item *h = &H->v[j];
        if ((h->kind == LM_SCON_FK) != (pass == 0) || h->kind == LM_SCON_EXCLUDE) continue;
        int gone = !tp->h_con_used[j];
        for (int k = 0; k < tp->w->constraints.n && !gone; k++)
          if (tp->con_match[k] == j && !con_same_content(&tp->w->constraints.v[k], h) &&
              !(h->kind == LM_SCON_CHECK &&
                !check_text_comparable(&tp->w->constraints.v[k], checks_as_written)))
            gone = 1;
        if (gone) drop_constraint_item(df, tp->name, h, H);
      }
      if (pass == 0) continue;
      const lm_schema_list *HI = &tp->h->indexes;
      for (int j = 0; j < HI->n; j++) {
        int gone = !tp->h_ix_used[j];
        for (int k = 0; k < tp->w->indexes.n && !gone; k++)
          if (tp->ix_match[k] == j && !index_same(&tp->w->indexes.v[k], &HI->v[j])) gone = 1;
        if (gone) drop_index_item(df, tp->w, tp->h, &HI->v[j]);
      }
    }
  }
  /* 5. columns added and changed; a drop and an add of the same type side by
   * side with the possible-rename comment */
  for (int i = 0; i < np; i++) {
    table_pair *tp = &pairs[i];
    int *paired = lm_xcalloc((size_t)tp->h->ncols + 1, sizeof(int));
    for (int c = 0; c < tp->w->ncols; c++) {
      const lm_schema_column *w = &tp->w->cols[c];
      if (tp->col_match[c] >= 0) {
        compare_column(d, df, tp, w, &tp->h->cols[tp->col_match[c]]);
        continue;
      }
      int cand = -1;
      char *tw = ntype(w);
      for (int k = 0; k < tp->h->ncols && cand < 0; k++) {
        if (tp->h_col_used[k] || paired[k]) continue;
        char *th = ntype(&tp->h->cols[k]);
        if (strcmp(tw, th) == 0) cand = k;
        free(th);
      }
      free(tw);
      if (cand >= 0) {
        const lm_schema_column *h = &tp->h->cols[cand];
        paired[cand] = 1;
        drop_column_item(d, df, tp->name, h);
        df->v[df->n - 1].comment =
            lm_xasprintf(LM_RENAME_MARK "%s.%s -> %s.%s: add renamed_from = \"%s\" to the model "
                                        "to keep the data",
                         tp->name, h->name, tp->name, w->name, h->name);
      }
      add_column_item(d, df, tp->name, w);
    }
    /* 6. columns that go */
    for (int k = 0; k < tp->h->ncols; k++)
      if (!tp->h_col_used[k] && !paired[k]) drop_column_item(d, df, tp->name, &tp->h->cols[k]);
    free(paired);
  }
  /* 7. constraints and indexes that come, then (8) new tables (whose
   * foreign keys may need the columns and unique constraints that came),
   * then foreign keys */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      /* 8. new tables, referenced ones first */
      order_by_refs(created, ncreated);
      for (int i = 0; i < ncreated; i++) {
        const lm_schema_table *t = created[i];
        lm_diff_item *it = item(df, LM_CH_ADDED, lm_xasprintf("table '%s'", t->name), "added");
        create_table_op(d, df, it, 1, t, created + i + 1, ncreated - i - 1);
        create_indexes(df, it, 1, t);
        drop_indexes(df, it, 0, t);
        down(it, LM_OP_DROP_TABLE, P(df, t->name));
      }
      /* the references of a cycle, once both tables are there (the downgrade
       * drops them before either table) */
      for (int i = 0; i < ncreated; i++)
        for (int c = 0; c < created[i]->constraints.n; c++)
          if (fk_deferred(created[i], &created[i]->constraints.v[c], created + i + 1,
                          ncreated - i - 1))
            create_constraint_item(df, created[i]->name, &created[i]->constraints.v[c],
                                   &created[i]->constraints, NULL);
    }
    for (int i = 0; i < np; i++) {
      table_pair *tp = &pairs[i];
      const lm_schema_list *W = &tp->w->constraints;
      for (int k = 0; k < W->n; k++) {
        const lm_schema_item *w = &W->v[k];
        if ((w->kind == LM_SCON_FK) != (pass == 1)) continue;
        int j = tp->con_match[k];
        if (j == -2) continue;
        if (j >= 0 && (con_same_content(w, &tp->h->constraints.v[j]) ||
                       (w->kind == LM_SCON_CHECK && !check_text_comparable(w, checks_as_written))))
          continue;
        create_constraint_item(df, tp->name, w, W, &tp->h->constraints);
      }
      if (pass == 1) continue;
      const lm_schema_list *WI = &tp->w->indexes;
      for (int k = 0; k < WI->n; k++) {
        int j = tp->ix_match[k];
        if (j >= 0 && index_same(&WI->v[k], &tp->h->indexes.v[j])) continue;
        create_index_item(df, tp->w, tp->h, &WI->v[k]);
      }
    }
  }
  for (int i = 0; i < np; i++)
    pair_free(&pairs[i]);
  free(pairs);
  free(h_used);
  free(created);
  lm_schema_free(have);
  return 0;
}
