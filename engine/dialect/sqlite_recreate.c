/* Move-and-copy of SQLite tables: see sqlite_recreate.h.
 *
 * SQLite keeps a table's definition only as the text of its CREATE TABLE;
 * CHECK constraints and constraint names exist nowhere else. So the new
 * definition is made from the old text: columns and constraints that do not
 * change are kept exactly as written (collations, generated columns, ON
 * CONFLICT clauses, AUTOINCREMENT, comments…), and only what an operation
 * touches is rewritten. The text is read by SQLite's catalog
 * (sqlite_catalog.c), and what it reads is checked against
 * pragma_table_xinfo, so a definition it would misread is refused rather than
 * rewritten wrongly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "sqlite_recreate.h"

#define TMP_PREFIX "_luamig_tmp_"

/* Locale-independent: a user's LC_CTYPE must not change how SQL is read. */
static int c_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* ---- the working copy of a table ---------------------------------------------- */

/* A column of the new table: where it comes from and its constraints. */
typedef struct wcol {
  const lm_rc_column *src; /* its definition (old, or parsed from a new one) */
  int old;                 /* it exists in the old table: its rows are copied */
  int generated;
  const lm_rc_clause **cl; /* current column constraints */
  int ncl, capcl;
  const char *type;
  int changed;      /* its text must be rebuilt from the parts */
  int type_changed; /* the copy casts it */
} wcol;

/* A table constraint, or a constraint written inside a column. */
typedef struct wcon {
  const lm_rc_clause *cl;
  wcol *owner;           /* NULL: a table constraint */
  const char *col;       /* the owner's column name */
  const char *autoindex; /* the index SQLite made for it (UNIQUE, PRIMARY KEY) */
  int keep;
} wcon;

typedef struct widx {
  const char *name;
  const char *sql; /* NULL: made by a constraint, not re-created */
  int unique;
  const char *const *cols;
  int ncols;
  int keep;
} widx;

typedef struct rctx {
  const lm_dialect *d;
  const lm_rc_table *t;
  const lm_op *const *ops;
  int nops;
  const lm_op *op; /* the one being applied, for error locations */
  void **mem;      /* everything allocated here, freed at the end */
  int nmem, capmem;
  lm_rc_create **parsed;
  int nparsed, capparsed;
  wcol **cols;
  int ncols, capcols;
  wcon *cons;
  int ncons, capcons;
  widx *idx;
  int nidx, capidx;
} rctx;

static void *keep_mem(rctx *x, void *p) {
  LM_GROW(x->mem, x->nmem, x->capmem);
  x->mem[x->nmem++] = p;
  return p;
}

static char *keep_str(rctx *x, char *s) { return keep_mem(x, s); }

static void ctx_free(rctx *x) {
  for (int i = 0; i < x->nmem; i++)
    free(x->mem[i]);
  free(x->mem);
  for (int i = 0; i < x->nparsed; i++) {
    lm_rc_create_free(x->parsed[i]);
    free(x->parsed[i]);
  }
  free(x->parsed);
  for (int i = 0; i < x->ncols; i++) {
    free(x->cols[i]->cl);
    free(x->cols[i]);
  }
  free(x->cols);
  free(x->cons);
  free(x->idx);
}

/* An error about the operation being applied, located at its call. */
static int op_fail(rctx *x, int code, const char *fmt, ...) LM_PRINTF(3, 4);
static int op_fail(rctx *x, int code, const char *fmt, ...) {
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  lm_error_set(code, "%s: %s", x->op ? lm_op_name(x->op->kind) : "move-and-copy", buf);
  if (x->op && x->op->file) lm_error_set_location(x->op->file, x->op->line);
  return code;
}

static void cl_push(wcol *c, const lm_rc_clause *cl, int at) {
  LM_GROW(c->cl, c->ncl, c->capcl);
  if (at < 0 || at > c->ncl) at = c->ncl;
  memmove(&c->cl[at + 1], &c->cl[at], sizeof *c->cl * (size_t)(c->ncl - at));
  c->cl[at] = cl;
  c->ncl++;
}

static void cl_remove(wcol *c, int at) {
  memmove(&c->cl[at], &c->cl[at + 1], sizeof *c->cl * (size_t)(c->ncl - at - 1));
  c->ncl--;
  c->changed = 1;
}

static wcol *add_wcol(rctx *x, const lm_rc_column *src, int old, int generated) {
  wcol *c = lm_xcalloc(1, sizeof *c);
  c->src = src;
  c->old = old;
  c->generated = generated;
  c->type = src->type;
  for (int k = 0; k < src->nclauses; k++)
    cl_push(c, &src->clauses[k], -1);
  LM_GROW(x->cols, x->ncols, x->capcols);
  x->cols[x->ncols++] = c;
  return c;
}

static void add_wcon(rctx *x, const lm_rc_clause *cl, wcol *owner) {
  LM_GROW(x->cons, x->ncons, x->capcons);
  wcon *w = &x->cons[x->ncons++];
  memset(w, 0, sizeof *w);
  w->cl = cl;
  w->owner = owner;
  w->col = owner ? owner->src->name : NULL;
  w->keep = 1;
}

/* Parses a piece of a CREATE TABLE written here ("CREATE TABLE x (…)"). */
static lm_rc_create *parse_piece(rctx *x, const char *items) {
  char *sql = lm_xasprintf("CREATE TABLE x (%s)", items);
  lm_rc_create *c = lm_xcalloc(1, sizeof *c);
  int rc = lm_rc_parse_create(sql, c);
  free(sql);
  if (rc) {
    free(c);
    return NULL;
  }
  LM_GROW(x->parsed, x->nparsed, x->capparsed);
  x->parsed[x->nparsed++] = c;
  return c;
}

static int same_cols(char *const *a, int na, const char *const *b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (!lm_sqlite_ieq(a[i], b[i])) return 0;
  return 1;
}

/* Which automatic index belongs to which UNIQUE / PRIMARY KEY constraint:
 * they have the same columns. */
static void match_autoindexes(rctx *x) {
  for (int i = 0; i < x->t->nidx; i++) {
    const lm_rc_index *ix = &x->t->idx[i];
    if (ix->sql) continue;
    for (int k = 0; k < x->ncons; k++) {
      wcon *w = &x->cons[k];
      if (w->autoindex || (w->cl->kind != LM_RC_UNIQUE && w->cl->kind != LM_RC_PK)) continue;
      const char *one[1] = {w->col};
      int ok = w->owner
                   ? same_cols((char *const *)one, 1, (const char *const *)ix->cols, ix->ncols)
                   : same_cols(w->cl->cols, w->cl->ncols, (const char *const *)ix->cols, ix->ncols);
      if (ok && ((w->cl->kind == LM_RC_PK) == !strcmp(ix->origin, "pk"))) {
        w->autoindex = ix->name;
        break;
      }
    }
  }
}

static void ctx_init(rctx *x, const lm_dialect *d, const lm_rc_table *t, const lm_op *const *ops,
                     int n) {
  memset(x, 0, sizeof *x);
  x->d = d;
  x->t = t;
  x->ops = ops;
  x->nops = n;
  for (int i = 0; i < t->def.ncols; i++) {
    wcol *c = add_wcol(x, &t->def.cols[i], 1, t->generated ? t->generated[i] : 0);
    for (int k = 0; k < c->ncl; k++) {
      lm_rc_kind kind = c->cl[k]->kind;
      if (kind == LM_RC_PK || kind == LM_RC_UNIQUE || kind == LM_RC_CHECK || kind == LM_RC_FK)
        add_wcon(x, c->cl[k], c);
    }
  }
  for (int i = 0; i < t->def.ncons; i++)
    add_wcon(x, &t->def.cons[i], NULL);
  match_autoindexes(x);
  for (int i = 0; i < t->nidx; i++) {
    const lm_rc_index *ix = &t->idx[i];
    LM_GROW(x->idx, x->nidx, x->capidx);
    x->idx[x->nidx++] =
        (widx){ix->name, ix->sql, ix->unique, (const char *const *)ix->cols, ix->ncols, 1};
  }
}

/* The column named name: its current name, or an old name that a rename of
 * the same batch (already done) replaced. */
static wcol *find_col(rctx *x, const char *name) {
  for (int pass = 0; pass < 8 && name; pass++) {
    for (int i = 0; i < x->ncols; i++)
      if (lm_sqlite_ieq(x->cols[i]->src->name, name)) return x->cols[i];
    const char *next = NULL;
    for (int k = 0; k < x->nops && !next; k++) {
      const lm_op *o = x->ops[k];
      if (o->kind == LM_OP_ALTER_COLUMN && o->new_name && lm_sqlite_ieq(o->name, name))
        next = o->new_name;
    }
    name = next;
  }
  return NULL;
}

static char *column_names(rctx *x) {
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < x->ncols; i++) {
    if (i) lm_buf_puts(&b, ", ");
    lm_buf_puts(&b, x->cols[i]->src->name);
  }
  return keep_str(x, lm_buf_steal(&b));
}

static int need_col(rctx *x, const char *name, wcol **out) {
  *out = find_col(x, name);
  if (*out) return 0;
  return op_fail(x, LM_EMIGRATE, "table \"%s\" has no column \"%s\" (its columns: %s)", x->t->name,
                 name, column_names(x));
}

static lm_rc_clause *new_clause(rctx *x, lm_rc_kind kind, char *text, char *expr) {
  lm_rc_clause *cl = keep_mem(x, lm_xcalloc(1, sizeof *cl));
  cl->kind = kind;
  cl->text = keep_str(x, text);
  cl->expr = expr ? keep_str(x, expr) : NULL;
  return cl;
}

/* ---- applying one operation ------------------------------------------------------ */

static int apply_alter(rctx *x, const lm_op *op) {
  wcol *c;
  int rc = need_col(x, op->name, &c);
  if (rc) return rc;
  if (op->type) {
    lm_buf b;
    lm_buf_init(&b);
    lm_render_type(x->d, op->type, &b);
    c->type = keep_str(x, lm_buf_steal(&b));
    c->changed = c->type_changed = 1;
  }
  if (op->nullable != -1) {
    for (int k = c->ncl - 1; k >= 0; k--)
      if (c->cl[k]->kind == LM_RC_NOTNULL || c->cl[k]->kind == LM_RC_NULL) cl_remove(c, k);
    /* where create_table writes it: right after the type */
    if (!op->nullable) cl_push(c, new_clause(x, LM_RC_NOTNULL, lm_xstrdup("NOT NULL"), NULL), 0);
    c->changed = 1;
  }
  if (op->server_default.kind != LM_DEF_NONE) {
    int at = -1;
    for (int k = c->ncl - 1; k >= 0; k--)
      if (c->cl[k]->kind == LM_RC_DEFAULT) cl_remove(c, k), at = k;
    if (op->server_default.kind != LM_DEF_DROP) {
      lm_buf v;
      lm_buf_init(&v);
      lm_render_default_ddl(x->d, &op->server_default, &v);
      char *val = lm_buf_steal(&v);
      char *text = lm_xasprintf("DEFAULT %s", val);
      if (at < 0) { /* after NOT NULL, as create_table writes it */
        at = 0;
        while (at < c->ncl && (c->cl[at]->kind == LM_RC_NOTNULL || c->cl[at]->kind == LM_RC_NULL))
          at++;
      }
      cl_push(c, new_clause(x, LM_RC_DEFAULT, text, val), at);
    }
    c->changed = 1;
  }
  return 0;
}

static void add_index_sql(rctx *x, const char *name, const char *sql, int unique) {
  LM_GROW(x->idx, x->nidx, x->capidx);
  x->idx[x->nidx++] = (widx){name, sql, unique, NULL, 0, 1};
}

static widx *find_index(rctx *x, const char *name) {
  for (int i = 0; i < x->nidx; i++)
    if (x->idx[i].keep && x->idx[i].sql && lm_sqlite_ieq(x->idx[i].name, name)) return &x->idx[i];
  return NULL;
}

static int apply_create_index(rctx *x, const lm_op *op) {
  if (op->if_not_exists && op->name && find_index(x, op->name)) return 0;
  lm_stmts l = {0};
  lm_op copy = *op;
  copy.table = x->t->name;
  int rc = lm_render(x->d, &copy, &l);
  if (rc) return rc;
  for (int i = 0; i < l.n; i++)
    add_index_sql(x, op->name ? keep_str(x, lm_xstrdup(op->name)) : "",
                  keep_str(x, lm_xstrdup(l.v[i].sql)), op->unique);
  lm_stmts_free(&l);
  return 0;
}

static char *index_names(rctx *x) {
  lm_buf b;
  lm_buf_init(&b);
  int n = 0;
  for (int i = 0; i < x->nidx; i++) {
    if (!x->idx[i].keep || !x->idx[i].sql) continue;
    if (n++) lm_buf_puts(&b, ", ");
    lm_buf_puts(&b, x->idx[i].name);
  }
  if (!n) lm_buf_puts(&b, "none");
  return keep_str(x, lm_buf_steal(&b));
}

static int apply_drop_index(rctx *x, const lm_op *op) {
  widx *ix = find_index(x, op->name);
  if (ix) {
    ix->keep = 0;
    return 0;
  }
  if (op->if_exists) return 0;
  return op_fail(x, LM_EMIGRATE, "table \"%s\" has no index \"%s\" (its indexes: %s)", x->t->name,
                 op->name, index_names(x));
}

static int apply_add_column(rctx *x, const lm_op *op) {
  if (op->ncols != 1)
    return op_fail(x, LM_EMIGRATE, "add_column on table \"%s\" needs exactly one column",
                   x->t->name);
  const lm_column *col = &op->cols[0];
  if (col->name && find_col(x, col->name))
    return op_fail(x, LM_EMIGRATE, "table \"%s\" already has a column \"%s\"", x->t->name,
                   col->name);
  lm_buf b;
  lm_buf_init(&b);
  int rc = lm_render_column_sql(x->d, col, x->t->name, &b);
  if (rc) {
    lm_buf_free(&b);
    return rc;
  }
  lm_rc_create *piece = parse_piece(x, b.s);
  lm_buf_free(&b);
  if (!piece) return op_fail(x, LM_EMIGRATE, "cannot read back column \"%s\"", col->name);
  wcol *c = add_wcol(x, &piece->cols[0], 0, 0);
  for (int k = 0; k < c->ncl; k++) {
    lm_rc_kind kind = c->cl[k]->kind;
    if (kind == LM_RC_PK || kind == LM_RC_UNIQUE || kind == LM_RC_CHECK || kind == LM_RC_FK)
      add_wcon(x, c->cl[k], c);
  }
  /* The same indexes as a plain add_column on SQLite (render.c): index, and a
   * unique column as a unique index, since ADD COLUMN refuses UNIQUE. */
  if (col->index || col->unique) {
    const char *prefix = col->index ? "ix" : "uq";
    char *name = keep_str(x, lm_xasprintf("%s_%s_%s", prefix, x->t->name, col->name));
    lm_buf s;
    lm_buf_init(&s);
    lm_buf_puts(&s, col->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    lm_buf_ident(&s, name);
    lm_buf_puts(&s, " ON ");
    lm_buf_ident(&s, x->t->name);
    lm_buf_puts(&s, " (");
    lm_buf_ident(&s, col->name);
    lm_buf_putc(&s, ')');
    add_index_sql(x, name, keep_str(x, lm_buf_steal(&s)), col->unique);
  }
  return 0;
}

/* A foreign key of another table that names the column, or names no
 * column and so means the primary key, which the column is part of. */
static int fk_in_uses(const lm_rc_create *def, const lm_rc_fk_in *f, const char *col) {
  if (*f->to) return lm_sqlite_ieq(f->to, col);
  for (int i = 0; i < def->ncols; i++)
    for (int k = 0; k < def->cols[i].nclauses; k++)
      if (def->cols[i].clauses[k].kind == LM_RC_PK && lm_sqlite_ieq(def->cols[i].name, col))
        return 1;
  for (int i = 0; i < def->ncons; i++)
    if (def->cons[i].kind == LM_RC_PK)
      for (int k = 0; k < def->cons[i].ncols; k++)
        if (lm_sqlite_ieq(def->cons[i].cols[k], col)) return 1;
  return 0;
}

static int index_uses(const widx *ix, const char *col) {
  for (int k = 0; k < ix->ncols; k++)
    if (lm_sqlite_ieq(ix->cols[k], col)) return 1;
  return ix->sql && lm_rc_mentions(ix->sql, col);
}

static int clause_uses(const lm_rc_clause *cl, const char *col) {
  for (int k = 0; k < cl->ncols; k++)
    if (lm_sqlite_ieq(cl->cols[k], col)) return 1;
  if (cl->kind == LM_RC_CHECK || cl->kind == LM_RC_GENERATED) {
    char *sql = lm_xasprintf("(%s)", cl->expr ? cl->expr : "");
    int used = lm_rc_mentions(sql, col);
    free(sql);
    return used;
  }
  return 0;
}

static int apply_drop_column(rctx *x, const lm_op *op) {
  wcol *c;
  int rc = need_col(x, op->name, &c);
  if (rc) return rc;
  const char *name = c->src->name;
  for (int i = 0; i < x->t->nfkin; i++) {
    const lm_rc_fk_in *f = &x->t->fkin[i];
    if (fk_in_uses(&x->t->def, f, name))
      return op_fail(x, LM_EMIGRATE,
                     "column \"%s\" of table \"%s\" is referenced by a foreign key of table "
                     "\"%s\" (column %s); drop that foreign key first",
                     name, x->t->name, f->table, f->from);
  }
  for (int i = 0; i < x->t->ntrg; i++)
    if (lm_rc_mentions(x->t->trg[i].sql, name))
      return op_fail(x, LM_EMIGRATE,
                     "trigger \"%s\" on table \"%s\" uses column \"%s\"; drop the trigger first "
                     "(op.execute('DROP TRIGGER …')) and create it again without the column",
                     x->t->trg[i].name, x->t->name, name);
  /* As PostgreSQL's DROP COLUMN: the indexes and constraints that use the
   * column go with it. */
  for (int i = 0; i < x->nidx; i++)
    if (x->idx[i].keep && index_uses(&x->idx[i], name)) x->idx[i].keep = 0;
  for (int i = 0; i < x->ncons; i++) {
    wcon *w = &x->cons[i];
    if (!w->keep) continue;
    if (w->owner == c || clause_uses(w->cl, name)) {
      w->keep = 0;
      if (w->owner && w->owner != c)
        for (int k = 0; k < w->owner->ncl; k++)
          if (w->owner->cl[k] == w->cl) cl_remove(w->owner, k);
    }
  }
  int at = 0;
  while (x->cols[at] != c)
    at++;
  free(c->cl);
  free(c);
  memmove(&x->cols[at], &x->cols[at + 1], sizeof *x->cols * (size_t)(x->ncols - at - 1));
  x->ncols--;
  return 0;
}

static const char *kind_word(lm_rc_kind k) {
  switch (k) {
  case LM_RC_PK: return "PRIMARY KEY";
  case LM_RC_UNIQUE: return "UNIQUE";
  case LM_RC_CHECK: return "CHECK";
  case LM_RC_FK: return "FOREIGN KEY";
  default: return "constraint";
  }
}

/* The names an unnamed constraint answers to: the index SQLite made for it,
 * and the names of Alembic's usual naming convention. */
static int names_of(rctx *x, const wcon *w, const char **names, int max) {
  int n = 0;
  const lm_rc_clause *cl = w->cl;
  if (cl->name) names[n++] = cl->name;
  if (w->autoindex && n < max) names[n++] = w->autoindex;
  if (cl->name) return n;
  const char *t = x->t->name;
  const char *c0 = w->owner ? w->col : cl->ncols ? cl->cols[0] : "";
  switch (cl->kind) {
  case LM_RC_PK:
    if (n < max) names[n++] = keep_str(x, lm_xasprintf("pk_%s", t));
    break;
  case LM_RC_UNIQUE:
    if (n < max) names[n++] = keep_str(x, lm_xasprintf("uq_%s_%s", t, c0));
    if (!w->owner && cl->ncols > 1 && n < max) {
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_printf(&b, "uq_%s", t);
      for (int k = 0; k < cl->ncols; k++)
        lm_buf_printf(&b, "_%s", cl->cols[k]);
      names[n++] = keep_str(x, lm_buf_steal(&b));
    }
    break;
  case LM_RC_FK:
    if (n < max)
      names[n++] =
          keep_str(x, lm_xasprintf("fk_%s_%s_%s", t, c0, cl->ref_table ? cl->ref_table : ""));
    break;
  case LM_RC_CHECK: {
    int nth = 0;
    for (int i = 0; i < x->ncons; i++) {
      if (x->cons[i].cl->kind == LM_RC_CHECK && !x->cons[i].cl->name) nth++;
      if (&x->cons[i] == w) break;
    }
    if (n < max) names[n++] = keep_str(x, lm_xasprintf("ck_%s_%d", t, nth));
    break;
  }
  default: break;
  }
  return n;
}

static lm_rc_kind type_kind(const char *type_, int *any) {
  *any = !type_;
  if (!type_) return LM_RC_CHECK;
  if (!strcmp(type_, "foreignkey")) return LM_RC_FK;
  if (!strcmp(type_, "unique")) return LM_RC_UNIQUE;
  if (!strcmp(type_, "primary")) return LM_RC_PK;
  return LM_RC_CHECK;
}

static char *constraint_list(rctx *x) {
  lm_buf b;
  lm_buf_init(&b);
  int n = 0;
  for (int i = 0; i < x->ncons; i++) {
    const wcon *w = &x->cons[i];
    if (!w->keep) continue;
    const char *names[4];
    int nn = names_of(x, w, names, 4);
    lm_buf_puts(&b, n++ ? "; " : "");
    lm_buf_puts(&b, kind_word(w->cl->kind));
    for (int k = 0; k < nn; k++)
      lm_buf_printf(&b, "%s%s", k ? " or " : " ", names[k]);
    if (!w->cl->name) lm_buf_puts(&b, " (unnamed)");
    if (w->owner) lm_buf_printf(&b, " on column %s", w->col);
    if (w->cl->kind == LM_RC_CHECK) lm_buf_printf(&b, ": CHECK (%s)", w->cl->expr);
  }
  for (int i = 0; i < x->nidx; i++)
    if (x->idx[i].keep && x->idx[i].sql && x->idx[i].unique)
      lm_buf_printf(&b, "%sunique index %s", n++ ? "; " : "", x->idx[i].name);
  if (!n) lm_buf_puts(&b, "none");
  return keep_str(x, lm_buf_steal(&b));
}

static int apply_drop_constraint(rctx *x, const lm_op *op) {
  int any;
  lm_rc_kind want = type_kind(op->constraint_type, &any);
  wcon *hit = NULL;
  /* an explicit name first, then the names an unnamed constraint answers to */
  for (int pass = 0; pass < 2 && !hit; pass++) {
    for (int i = 0; i < x->ncons && !hit; i++) {
      wcon *w = &x->cons[i];
      if (!w->keep || (!any && w->cl->kind != want)) continue;
      const char *names[4];
      int nn = pass == 0 ? (w->cl->name ? 1 : 0) : names_of(x, w, names, 4);
      if (pass == 0) names[0] = w->cl->name;
      for (int k = 0; k < nn && !hit; k++)
        if (lm_sqlite_ieq(names[k], op->name)) hit = w;
    }
  }
  if (hit) {
    hit->keep = 0;
    if (hit->owner)
      for (int k = 0; k < hit->owner->ncl; k++)
        if (hit->owner->cl[k] == hit->cl) cl_remove(hit->owner, k);
    return 0;
  }
  /* On SQLite a unique constraint added by add_column is a unique index. */
  widx *ix = find_index(x, op->name);
  if (ix && ix->unique && (any || want == LM_RC_UNIQUE)) {
    ix->keep = 0;
    return 0;
  }
  return op_fail(x, LM_EMIGRATE, "table \"%s\" has no %s%s named \"%s\"; it has: %s", x->t->name,
                 any ? "constraint" : kind_word(want), any ? "" : " constraint", op->name,
                 constraint_list(x));
}

static int apply_add_constraint(rctx *x, const lm_op *op) {
  if (op->ncons < 1)
    return op_fail(x, LM_EMIGRATE, "no constraint given for table \"%s\"", x->t->name);
  const lm_constraint *c = &op->cons[0];
  lm_con_kind kind = op->kind == LM_OP_CREATE_PK       ? LM_CON_PK
                     : op->kind == LM_OP_CREATE_UNIQUE ? LM_CON_UNIQUE
                     : op->kind == LM_OP_CREATE_FK     ? LM_CON_FK
                                                       : LM_CON_CHECK;
  for (int i = 0; i < c->ncols; i++) {
    wcol *col;
    int rc = need_col(x, c->cols[i], &col);
    if (rc) return rc;
  }
  if (kind == LM_CON_PK)
    for (int i = 0; i < x->ncons; i++)
      if (x->cons[i].keep && x->cons[i].cl->kind == LM_RC_PK) {
        const char *names[4];
        names_of(x, &x->cons[i], names, 4);
        return op_fail(x, LM_EMIGRATE,
                       "table \"%s\" already has a primary key (%s); drop it first with "
                       "drop_constraint",
                       x->t->name, names[0]);
      }
  /* a name another constraint of the table has (as PostgreSQL refuses it) */
  const char *nm = op->name ? op->name : c->name;
  for (int i = 0; nm && i < x->ncons; i++)
    if (x->cons[i].keep && x->cons[i].cl->name && lm_sqlite_ieq(x->cons[i].cl->name, nm))
      return op_fail(x, LM_EMIGRATE, "table \"%s\" already has a constraint named \"%s\"",
                     x->t->name, nm);
  /* Columns are written with their current names: an old name of a column
   * renamed in the same batch still finds it. */
  lm_constraint cc = *c;
  const char **cols = keep_mem(x, lm_xcalloc((size_t)c->ncols + 1, sizeof *cols));
  for (int i = 0; i < c->ncols; i++)
    cols[i] = find_col(x, c->cols[i])->src->name;
  cc.cols = cols;
  lm_buf b;
  lm_buf_init(&b);
  int rc = lm_render_constraint_sql(x->d, kind, &cc, op->name ? op->name : c->name, x->t->name, &b);
  if (rc) {
    lm_buf_free(&b);
    return rc;
  }
  char *items = lm_xasprintf("x, %s", b.s);
  lm_buf_free(&b);
  lm_rc_create *piece = parse_piece(x, items);
  free(items);
  if (!piece || piece->ncons != 1)
    return op_fail(x, LM_EMIGRATE, "cannot read back the new constraint of table \"%s\"",
                   x->t->name);
  add_wcon(x, &piece->cons[0], NULL);
  return 0;
}

static int apply(rctx *x, const lm_op *op) {
  x->op = op;
  switch (op->kind) {
  case LM_OP_ALTER_COLUMN: return apply_alter(x, op);
  case LM_OP_ADD_COLUMN: return apply_add_column(x, op);
  case LM_OP_DROP_COLUMN: return apply_drop_column(x, op);
  case LM_OP_CREATE_INDEX: return apply_create_index(x, op);
  case LM_OP_DROP_INDEX: return apply_drop_index(x, op);
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK: return apply_add_constraint(x, op);
  case LM_OP_DROP_CONSTRAINT: return apply_drop_constraint(x, op);
  default: break;
  }
  return op_fail(x, LM_EMIGRATE, "cannot be part of a move-and-copy of table \"%s\"", x->t->name);
}

/* ---- the statements ---------------------------------------------------------------- */

/* SQLite's type affinity (datatype3 §3.1) of a declared type. */
typedef enum affinity { AFF_INTEGER, AFF_TEXT, AFF_BLOB, AFF_REAL, AFF_NUMERIC } affinity;

static int has_word(const char *type, const char *w) {
  size_t n = strlen(w);
  for (const char *p = type; *p; p++) {
    size_t k = 0;
    while (k < n && p[k] && c_lower((unsigned char)p[k]) == c_lower((unsigned char)w[k]))
      k++;
    if (k == n) return 1;
  }
  return 0;
}

static affinity type_affinity(const char *type) {
  if (has_word(type, "int")) return AFF_INTEGER;
  if (has_word(type, "char") || has_word(type, "clob") || has_word(type, "text")) return AFF_TEXT;
  if (!*type || has_word(type, "blob")) return AFF_BLOB;
  if (has_word(type, "real") || has_word(type, "floa") || has_word(type, "doub")) return AFF_REAL;
  return AFF_NUMERIC;
}

static void put_column_text(lm_buf *b, const wcol *c) {
  if (!c->changed) {
    lm_buf_puts(b, c->src->text);
    return;
  }
  lm_buf_puts(b, c->src->name_sql);
  if (c->type && *c->type) {
    lm_buf_putc(b, ' ');
    lm_buf_puts(b, c->type);
  }
  for (int k = 0; k < c->ncl; k++) {
    lm_buf_putc(b, ' ');
    lm_buf_puts(b, c->cl[k]->text);
  }
}

static int col_autoincrement(const wcol *c) {
  for (int k = 0; k < c->ncl; k++)
    if (c->cl[k]->autoincrement) return 1;
  return 0;
}

static void emit_sql(lm_stmts *out, char *sql) { lm_stmts_add(out, sql, NULL, 0); }

static void put_copy_expr(lm_buf *b, const wcol *c) {
  /* CAST where the type changes, so the values take the new type as
   * PostgreSQL's ALTER COLUMN TYPE would convert them (and a value that a new
   * CHECK then refuses fails the copy). Not for NUMERIC and BLOB affinity:
   * CAST('2024-01-02' AS NUMERIC) is 2024, while storing into the column
   * keeps the text; the column's affinity converts what converts losslessly. */
  affinity a = type_affinity(c->type ? c->type : "");
  if (c->type_changed && (a == AFF_INTEGER || a == AFF_TEXT || a == AFF_REAL)) {
    lm_buf_puts(b, "CAST(");
    lm_buf_ident(b, c->src->name);
    lm_buf_puts(b, " AS ");
    lm_buf_puts(b, c->type);
    lm_buf_putc(b, ')');
  } else {
    lm_buf_ident(b, c->src->name);
  }
}

static int emit_all(rctx *x, lm_stmts *out) {
  const lm_rc_table *t = x->t;
  if (x->ncols == 0)
    return op_fail(x, LM_EMIGRATE, "table \"%s\" would be left without a column", t->name);
  char *tmp = keep_str(x, lm_xasprintf(TMP_PREFIX "%s", t->name));
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TABLE ");
  lm_buf_ident(&b, tmp);
  lm_buf_puts(&b, " (");
  int items = 0, autoinc_new = 0, autoinc_old = 0;
  for (int i = 0; i < x->ncols; i++) {
    if (items++) lm_buf_puts(&b, ", ");
    put_column_text(&b, x->cols[i]);
    autoinc_new |= col_autoincrement(x->cols[i]);
  }
  for (int i = 0; i < x->ncons; i++) {
    if (x->cons[i].owner || !x->cons[i].keep) continue;
    if (items++) lm_buf_puts(&b, ", ");
    lm_buf_puts(&b, x->cons[i].cl->text);
  }
  lm_buf_putc(&b, ')');
  if (t->def.options && *t->def.options) {
    lm_buf_putc(&b, ' ');
    lm_buf_puts(&b, t->def.options);
  }
  emit_sql(out, lm_buf_steal(&b));
  for (int i = 0; i < t->def.ncols; i++)
    for (int k = 0; k < t->def.cols[i].nclauses; k++)
      autoinc_old |= t->def.cols[i].clauses[k].autoincrement;

  /* Every row, in rowid order; generated columns compute themselves. */
  lm_buf cols, vals;
  lm_buf_init(&cols);
  lm_buf_init(&vals);
  int ncopy = 0;
  for (int i = 0; i < x->ncols; i++) {
    const wcol *c = x->cols[i];
    if (!c->old || c->generated) continue;
    if (ncopy++) {
      lm_buf_puts(&cols, ", ");
      lm_buf_puts(&vals, ", ");
    }
    lm_buf_ident(&cols, c->src->name);
    put_copy_expr(&vals, c);
  }
  if (ncopy == 0) {
    lm_buf_free(&cols);
    lm_buf_free(&vals);
    return op_fail(x, LM_EMIGRATE,
                   "no column of table \"%s\" would remain to carry its rows into the new table",
                   t->name);
  }
  lm_buf_init(&b);
  lm_buf_puts(&b, "INSERT INTO ");
  lm_buf_ident(&b, tmp);
  lm_buf_printf(&b, " (%s) SELECT %s FROM ", cols.s, vals.s);
  lm_buf_ident(&b, t->name);
  lm_buf_free(&cols);
  lm_buf_free(&vals);
  emit_sql(out, lm_buf_steal(&b));

  if (autoinc_new && autoinc_old) {
    /* AUTOINCREMENT never hands out a number twice: the new table starts
     * where the old one's counter stood, not at its largest remaining id.
     * DROP TABLE deletes the old counter; RENAME carries the new one. */
    lm_buf q, tq;
    lm_buf_init(&q);
    lm_buf_init(&tq);
    lm_buf_literal(&q, tmp, strlen(tmp));
    lm_buf_literal(&tq, t->name, strlen(t->name));
    emit_sql(out, lm_xasprintf("INSERT INTO sqlite_sequence (name, seq) SELECT %s, seq FROM "
                               "sqlite_sequence WHERE name = %s AND NOT EXISTS (SELECT 1 FROM "
                               "sqlite_sequence WHERE name = %s)",
                               q.s, tq.s, q.s));
    emit_sql(out, lm_xasprintf("UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT "
                               "seq FROM sqlite_sequence WHERE name = %s), 0)) WHERE name = %s",
                               tq.s, q.s));
    lm_buf_free(&q);
    lm_buf_free(&tq);
  }

  lm_buf_init(&b);
  lm_buf_puts(&b, "DROP TABLE ");
  lm_buf_ident(&b, t->name);
  emit_sql(out, lm_buf_steal(&b));
  /* Views and triggers of other tables that name the table are left
   * dangling by the DROP until the RENAME; since SQLite 3.26 the RENAME
   * checks the whole schema and refuses ("error in view v: no such table").
   * The legacy behaviour renames without that check, and it has nothing else
   * to rewrite here: everything names the table by its final name. */
  emit_sql(out, lm_xstrdup("PRAGMA legacy_alter_table = ON"));
  lm_buf_init(&b);
  lm_buf_puts(&b, "ALTER TABLE ");
  lm_buf_ident(&b, tmp);
  lm_buf_puts(&b, " RENAME TO ");
  lm_buf_ident(&b, t->name);
  emit_sql(out, lm_buf_steal(&b));
  emit_sql(out, lm_xstrdup("PRAGMA legacy_alter_table = OFF"));

  /* After the copy: building an index once is cheaper than keeping it up to
   * date row by row, and the old ones' names are free again. */
  for (int i = 0; i < x->nidx; i++)
    if (x->idx[i].keep && x->idx[i].sql) emit_sql(out, lm_xstrdup(x->idx[i].sql));
  for (int i = 0; i < t->ntrg; i++)
    emit_sql(out, lm_xstrdup(t->trg[i].sql));
  return 0;
}

int lm_rc_render(const lm_dialect *d, const lm_rc_table *t, const lm_op *const *ops, int n,
                 lm_stmts *out) {
  rctx x;
  ctx_init(&x, d, t, ops, n);
  int n0 = out->n;
  int rc = 0;
  for (int i = 0; i < n && !rc; i++)
    rc = apply(&x, ops[i]);
  x.op = NULL;
  if (!rc) rc = emit_all(&x, out);
  if (rc)
    while (out->n > n0)
      lm_stmt_free(&out->v[--out->n]);
  ctx_free(&x);
  return rc;
}

/* ---- deciding ------------------------------------------------------------------------ */

static int drop_needs(const lm_rc_table *t, const char *name) {
  int col = -1;
  for (int i = 0; i < t->def.ncols; i++)
    if (lm_sqlite_ieq(t->def.cols[i].name, name)) col = i;
  if (col < 0) return 0; /* the plain DROP COLUMN reports it */
  for (int i = 0; i < t->nidx; i++) {
    widx w = {
        t->idx[i].name, t->idx[i].sql, 0, (const char *const *)t->idx[i].cols, t->idx[i].ncols, 1};
    if (index_uses(&w, name)) return 1;
  }
  for (int i = 0; i < t->def.ncons; i++)
    if (clause_uses(&t->def.cons[i], name)) return 1;
  for (int i = 0; i < t->def.ncols; i++)
    for (int k = 0; k < t->def.cols[i].nclauses; k++) {
      const lm_rc_clause *cl = &t->def.cols[i].clauses[k];
      if (i == col && (cl->kind == LM_RC_PK || cl->kind == LM_RC_UNIQUE || cl->kind == LM_RC_FK))
        return 1;
      if (i != col && clause_uses(cl, name)) return 1;
    }
  for (int i = 0; i < t->nfkin; i++)
    if (fk_in_uses(&t->def, &t->fkin[i], name)) return 1;
  for (int i = 0; i < t->ntrg; i++)
    if (lm_rc_mentions(t->trg[i].sql, name)) return 1;
  return 0;
}

/* What ALTER TABLE ADD COLUMN refuses (SQLite's lang_altertable, "ALTER
 * TABLE ADD COLUMN"): a PRIMARY KEY; a default that is not a constant
 * (CURRENT_TIMESTAMP, an expression in parentheses); NOT NULL without a
 * default other than NULL. Recent SQLite refuses the last two only on a
 * table with rows, which --sql cannot know: they are copied on an empty one
 * too, where the copy costs nothing. The copy gives the existing rows the
 * default evaluated then, as PostgreSQL's ADD COLUMN does for now().
 * ADD COLUMN takes the rest as luamig writes it: a UNIQUE column comes with
 * a unique index (render_common.c), a REFERENCES column with a default is
 * refused only while foreign keys are enforced, which luamig turns off (and
 * a --sql script's preamble too), and luamig adds no STORED column. */
static int add_column_needs(const lm_column *c) {
  if (c->primary_key) return 1;
  const lm_default *v = &c->server_default;
  lm_sqlite_default_class k = v->kind == LM_DEF_NONE || v->kind == LM_DEF_DROP
                                  ? LM_SQLITE_DEFAULT_NULL
                              : v->kind == LM_DEF_SQL ? lm_sqlite_default_class_of(v->text)
                                                      : LM_SQLITE_DEFAULT_CONST;
  return k == LM_SQLITE_DEFAULT_EXPR || (!c->nullable && k == LM_SQLITE_DEFAULT_NULL);
}

/* Needs a move-and-copy whatever the table looks like. */
static int always_needs(const lm_op *op) {
  switch (op->kind) {
  case LM_OP_ALTER_COLUMN:
    return op->type || op->nullable != -1 || op->server_default.kind != LM_DEF_NONE;
  case LM_OP_ADD_COLUMN: return op->ncols == 1 && add_column_needs(&op->cols[0]);
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
  case LM_OP_DROP_CONSTRAINT: return 1;
  default: return 0;
  }
}

int lm_rc_needs(const lm_rc_table *t, const lm_op *op) {
  if (always_needs(op)) return 1;
  return op->kind == LM_OP_DROP_COLUMN && t && op->name && drop_needs(t, op->name);
}

/* ---- the dialect's entries (lm_dialect.recreate_wanted, recreate, shadow_open) ---- */

int lm_sqlite_recreate_wanted(const lm_op *op) {
  return always_needs(op) || op->kind == LM_OP_DROP_COLUMN;
}

static int located(const lm_op *op, int rc) {
  if (rc && op && op->file && !lm_error_last()->file) lm_error_set_location(op->file, op->line);
  return rc;
}

/* Renames first, by SQLite itself: RENAME COLUMN rewrites every index,
 * trigger, view, CHECK and foreign key (of any table) that names the
 * column, which copying the text could not. The caller runs them and asks
 * again; the table is then read anew. */
static void put_renames(const lm_rc_table *t, const lm_recreate_req *rq) {
  for (int i = 0; i < rq->n; i++) {
    const lm_op *o = rq->ops[i];
    if (o->kind != LM_OP_ALTER_COLUMN || !o->new_name) continue;
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "ALTER TABLE ");
    lm_buf_ident(&b, t->name);
    lm_buf_puts(&b, " RENAME COLUMN ");
    lm_buf_ident(&b, o->name);
    lm_buf_puts(&b, " TO ");
    lm_buf_ident(&b, o->new_name);
    emit_sql(rq->stmts, lm_buf_steal(&b));
  }
}

int lm_sqlite_recreate(const lm_dialect *d, lm_conn *c, lm_recreate_req *rq) {
  const lm_op *first = rq->n ? rq->ops[0] : NULL;
  lm_rc_table *t = NULL;
  int rc = lm_rc_reflect(d, c, rq->table, &t);
  if (rc) return rq->renamed ? rc : located(first, rc);
  if (!rq->renamed) {
    int need = rq->mode == LM_RECREATE_ALWAYS;
    for (int i = 0; i < rq->n && !rc; i++) {
      if (!lm_rc_needs(t, rq->ops[i])) continue;
      need = 1;
      if (rq->mode == LM_RECREATE_NEVER)
        rc = located(rq->ops[i],
                     lm_error_set(LM_EMIGRATE,
                                  "%s on table \"%s\" needs a move-and-copy of the table on "
                                  "SQLite, and batch_alter_table was given recreate = \"never\"",
                                  lm_op_name(rq->ops[i]->kind), t->name));
    }
    if (!rc && !need) rq->plain = 1;
    if (!rc && need) put_renames(t, rq);
    if (rc || rq->plain || rq->stmts->n > 0) {
      rq->again = !rc && rq->stmts->n > 0;
      lm_rc_table_free(t);
      return rc;
    }
  }
  rq->name = lm_xstrdup(t->name);
  rc = lm_rc_render(d, t, rq->ops, rq->n, rq->stmts);
  lm_rc_table_free(t);
  return rc;
}

int lm_sqlite_shadow_open(const lm_dialect *d, lm_conn **out) {
  lm_url *u = NULL;
  *out = NULL;
  int rc = lm_url_parse(&u, "sqlite:///:memory:");
  /* through the wrapper: Ctrl-C reaches it as any connection */
  if (!rc) rc = lm_dialect_open(d, out, u);
  lm_url_free(u);
  return rc;
}
