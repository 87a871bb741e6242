/* The schema model: building, canonical order, rendering as SQL and the
 * structured diff. No I/O here (introspection is in schema_introspect.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"
#include "schema.h"

/* ---- building ------------------------------------------------------------------ */

lm_schema *lm_schema_new(void) { return lm_xcalloc(1, sizeof(lm_schema)); }

static void free_strv(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void lm_schema_item_clear(lm_schema_item *it) {
  free(it->name);
  free(it->def);
  if (it->opts) free_strv(it->opts, it->ncols);
  free_strv(it->cols, it->ncols);
  free(it->desc);
  free(it->ref_table);
  free_strv(it->ref_cols, it->nref);
  free(it->ondelete);
  free(it->onupdate);
  free(it->expr);
  free(it->expr_db);
  free(it->method);
  free_strv(it->include, it->ninclude);
  memset(it, 0, sizeof *it);
}

static void list_free(lm_schema_list *l) {
  for (int i = 0; i < l->n; i++)
    lm_schema_item_clear(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static void table_free(lm_schema_table *t) {
  for (int i = 0; i < t->ncols; i++) {
    lm_schema_column *c = &t->cols[i];
    free(c->name);
    free(c->type);
    free(c->def);
    free(c->extra);
    free(c->comment);
    free(c->ltype);
    free(c->renamed_from);
    free(c->collation);
  }
  free(t->cols);
  list_free(&t->constraints);
  list_free(&t->indexes);
  list_free(&t->triggers);
  free(t->name);
  free(t->renamed_from);
  free(t->file);
  free(t);
}

void lm_schema_free(lm_schema *s) {
  if (!s) return;
  for (int i = 0; i < s->ntables; i++)
    table_free(s->tables[i]);
  free(s->tables);
  list_free(&s->objects);
  free(s);
}

lm_schema_table *lm_schema_add_table(lm_schema *s, const char *name) {
  if (s->ntables == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->tables = lm_xrealloc(s->tables, (size_t)s->cap * sizeof *s->tables);
  }
  lm_schema_table *t = lm_xcalloc(1, sizeof *t);
  t->name = lm_xstrdup(name);
  s->tables[s->ntables++] = t;
  return t;
}

void lm_schema_drop_table(lm_schema *s, const char *name) {
  for (int i = 0; i < s->ntables; i++)
    if (strcmp(s->tables[i]->name, name) == 0) {
      table_free(s->tables[i]);
      memmove(&s->tables[i], &s->tables[i + 1], sizeof *s->tables * (size_t)(s->ntables - i - 1));
      s->ntables--;
      return;
    }
}

void lm_schema_drop_column(lm_schema_table *t, const char *name) {
  for (int i = 0; i < t->ncols; i++) {
    lm_schema_column *c = &t->cols[i];
    if (strcmp(c->name, name) != 0) continue;
    free(c->name);
    free(c->type);
    free(c->def);
    free(c->extra);
    free(c->comment);
    free(c->ltype);
    free(c->renamed_from);
    free(c->collation);
    memmove(c, c + 1, sizeof *c * (size_t)(t->ncols - i - 1));
    t->ncols--;
    return;
  }
}

static char **copy_strv(char *const *v, int n) {
  if (!v) return NULL;
  char **r = lm_xcalloc((size_t)n + 1, sizeof *r);
  for (int i = 0; i < n; i++)
    r[i] = lm_xstrdup(v[i]);
  return r;
}

static void copy_list(lm_schema_list *to, const lm_schema_list *from) {
  to->n = to->cap = from->n;
  to->v = from->n ? lm_xcalloc((size_t)from->n, sizeof *to->v) : NULL;
  for (int i = 0; i < from->n; i++) {
    const lm_schema_item *f = &from->v[i];
    lm_schema_item *t = &to->v[i];
    *t = *f;
    t->name = lm_xstrdup(f->name);
    t->def = lm_xstrdup(f->def);
    t->cols = copy_strv(f->cols, f->ncols);
    t->opts = copy_strv(f->opts, f->ncols);
    t->desc = NULL;
    if (f->desc) {
      t->desc = lm_xcalloc((size_t)f->ncols + 1, sizeof *t->desc);
      memcpy(t->desc, f->desc, sizeof *t->desc * (size_t)f->ncols);
    }
    t->ref_table = lm_xstrdup(f->ref_table);
    t->ref_cols = copy_strv(f->ref_cols, f->nref);
    t->ondelete = lm_xstrdup(f->ondelete);
    t->onupdate = lm_xstrdup(f->onupdate);
    t->expr = lm_xstrdup(f->expr);
    t->expr_db = lm_xstrdup(f->expr_db);
    t->method = lm_xstrdup(f->method);
    t->include = copy_strv(f->include, f->ninclude);
  }
}

lm_schema *lm_schema_copy(const lm_schema *s) {
  lm_schema *r = lm_schema_new();
  for (int i = 0; i < s->ntables; i++) {
    const lm_schema_table *f = s->tables[i];
    lm_schema_table *t = lm_schema_add_table(r, f->name);
    for (int c = 0; c < f->ncols; c++) {
      const lm_schema_column *fc = &f->cols[c];
      lm_schema_column *tc = lm_schema_add_column(t, fc->name, fc->type, fc->notnull, fc->def);
      tc->extra = lm_xstrdup(fc->extra);
      tc->comment = lm_xstrdup(fc->comment);
      tc->pk = fc->pk;
      tc->ltype = lm_xstrdup(fc->ltype);
      tc->renamed_from = lm_xstrdup(fc->renamed_from);
      tc->autoincrement = fc->autoincrement;
      tc->collation = lm_xstrdup(fc->collation);
    }
    copy_list(&t->constraints, &f->constraints);
    copy_list(&t->indexes, &f->indexes);
    copy_list(&t->triggers, &f->triggers);
    t->renamed_from = lm_xstrdup(f->renamed_from);
    t->file = lm_xstrdup(f->file);
    t->line = f->line;
  }
  copy_list(&r->objects, &s->objects);
  return r;
}

lm_schema_table *lm_schema_find_table(const lm_schema *s, const char *name) {
  for (int i = 0; i < s->ntables; i++)
    if (strcmp(s->tables[i]->name, name) == 0) return s->tables[i];
  return NULL;
}

const lm_schema_item *lm_schema_pk(const lm_schema_table *t) {
  for (int i = 0; i < t->constraints.n; i++)
    if (t->constraints.v[i].kind == LM_SCON_PK) return &t->constraints.v[i];
  return NULL;
}

lm_schema_column *lm_schema_find_column(const lm_schema_table *t, const char *name) {
  for (int i = 0; t && i < t->ncols; i++)
    if (strcmp(t->cols[i].name, name) == 0) return &t->cols[i];
  return NULL;
}

lm_schema_column *lm_schema_add_column(lm_schema_table *t, const char *name, const char *type,
                                       int notnull, const char *def) {
  if (t->ncols == t->capcols) {
    t->capcols = t->capcols ? t->capcols * 2 : 8;
    t->cols = lm_xrealloc(t->cols, (size_t)t->capcols * sizeof *t->cols);
  }
  lm_schema_column *c = &t->cols[t->ncols++];
  memset(c, 0, sizeof *c);
  c->name = lm_xstrdup(name);
  c->type = lm_xstrdup(type ? type : "");
  c->notnull = notnull != 0;
  c->def = lm_xstrdup(def);
  c->autoincrement = -1;
  return c;
}

static lm_schema_item *list_add(lm_schema_list *l, int kind, const char *name, const char *def) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = lm_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
  }
  lm_schema_item *it = &l->v[l->n++];
  memset(it, 0, sizeof *it);
  it->name = lm_xstrdup(name);
  it->def = lm_xstrdup(def ? def : "");
  it->kind = kind;
  return it;
}

lm_schema_item *lm_schema_add_constraint(lm_schema_table *t, lm_schema_con_kind kind,
                                         const char *name, const char *def) {
  return list_add(&t->constraints, (int)kind, name, def);
}

lm_schema_item *lm_schema_add_index(lm_schema_table *t, const char *name, const char *def) {
  return list_add(&t->indexes, 0, name, def);
}

void lm_schema_item_add_index_part(lm_schema_item *it, const char *key, const char *opts,
                                   int order) {
  it->cols = lm_xrealloc(it->cols, (size_t)(it->ncols + 1) * sizeof *it->cols);
  it->desc = lm_xrealloc(it->desc, (size_t)(it->ncols + 1) * sizeof *it->desc);
  it->opts = lm_xrealloc(it->opts, (size_t)(it->ncols + 1) * sizeof *it->opts);
  it->cols[it->ncols] = lm_xstrdup(key ? key : "");
  it->opts[it->ncols] = lm_xstrdup(opts);
  it->desc[it->ncols++] = order;
}

void lm_schema_item_add_col(lm_schema_item *it, const char *col, int desc) {
  lm_schema_item_add_index_part(it, col, NULL, desc ? LM_INDEX_DESC : 0);
}

void lm_schema_item_set_include(lm_schema_item *it, const char *const *cols, int n) {
  free_strv(it->include, it->ninclude);
  it->include = copy_strv((char *const *)cols, n);
  it->ninclude = n > 0 ? n : 0;
}

void lm_schema_item_add_index_col(const lm_schema_table *t, lm_schema_item *it, const char *c) {
  if (t && lm_schema_find_column(t, c)) {
    lm_schema_item_add_col(it, c, 0);
    return;
  }
  char *key, *opts;
  int order;
  lm_norm_index_entry(c, &key, &opts, &order);
  lm_schema_item_add_index_part(it, key, opts, order);
  free(key);
  free(opts);
}

void lm_schema_item_add_ref(lm_schema_item *it, const char *col) {
  it->ref_cols = lm_xrealloc(it->ref_cols, (size_t)(it->nref + 1) * sizeof *it->ref_cols);
  it->ref_cols[it->nref++] = lm_xstrdup(col ? col : "");
}

void lm_schema_item_add_joined(lm_schema_item *it, const char *joined, int ref) {
  if (!joined) return;
  const char *p = joined;
  for (;;) {
    const char *e = strchr(p, '\x1f');
    char *one = lm_xstrndup(p, e ? (size_t)(e - p) : strlen(p));
    if (ref)
      lm_schema_item_add_ref(it, one);
    else
      lm_schema_item_add_col(it, one, 0);
    free(one);
    if (!e) break;
    p = e + 1;
  }
}

void lm_schema_add_trigger(lm_schema_table *t, const char *name, const char *def) {
  (void)list_add(&t->triggers, 0, name, def);
}

void lm_schema_add_object(lm_schema *s, lm_schema_obj_kind kind, const char *name,
                          const char *def) {
  (void)list_add(&s->objects, (int)kind, name, def);
}

/* ---- canonical order --------------------------------------------------------------- */

/* Byte order, not the locale's: the same model sorts the same everywhere. */
static int str_cmp(const char *a, const char *b) { return strcmp(a ? a : "", b ? b : ""); }

static int item_cmp(const void *pa, const void *pb) {
  const lm_schema_item *a = pa, *b = pb;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  int c = str_cmp(a->name, b->name);
  return c ? c : str_cmp(a->def, b->def);
}

static int table_cmp(const void *pa, const void *pb) {
  const lm_schema_table *const *a = pa, *const *b = pb;
  return strcmp((*a)->name, (*b)->name);
}

static void list_sort(lm_schema_list *l) {
  if (l->n > 1) qsort(l->v, (size_t)l->n, sizeof *l->v, item_cmp);
}

void lm_schema_sort(lm_schema *s) {
  if (s->ntables > 1) qsort(s->tables, (size_t)s->ntables, sizeof *s->tables, table_cmp);
  for (int i = 0; i < s->ntables; i++) {
    list_sort(&s->tables[i]->constraints);
    list_sort(&s->tables[i]->indexes);
    list_sort(&s->tables[i]->triggers);
  }
  list_sort(&s->objects);
}

/* ---- rendering ------------------------------------------------------------------- */

/* `"name" type NOT NULL DEFAULT x`: the line of a column, also what the diff
 * shows when a column differs. */
static void put_column(lm_buf *b, const lm_schema_column *c) {
  lm_buf_ident(b, c->name);
  if (c->type && *c->type) lm_buf_printf(b, " %s", c->type);
  if (c->collation) {
    lm_buf_puts(b, " COLLATE ");
    lm_buf_ident(b, c->collation);
  }
  if (c->extra) lm_buf_printf(b, " %s", c->extra);
  if (c->notnull) lm_buf_puts(b, " NOT NULL");
  if (c->def) lm_buf_printf(b, " DEFAULT %s", c->def);
}

static char *column_text(const lm_schema_column *c) {
  lm_buf b;
  lm_buf_init(&b);
  put_column(&b, c);
  if (c->comment) {
    lm_buf_puts(&b, " COMMENT ");
    lm_buf_literal(&b, c->comment, strlen(c->comment));
  }
  return lm_buf_steal(&b);
}

static void put_constraint(lm_buf *b, const lm_schema_item *it) {
  if (it->name) {
    lm_buf_puts(b, "CONSTRAINT ");
    lm_buf_ident(b, it->name);
    lm_buf_putc(b, ' ');
  }
  lm_buf_puts(b, it->def);
}

static void render_table(const lm_schema_table *t, lm_buf *out) {
  lm_buf_puts(out, "CREATE TABLE ");
  lm_buf_ident(out, t->name);
  lm_buf_puts(out, " (");
  int items = t->ncols + t->constraints.n;
  for (int i = 0; i < t->ncols; i++) {
    lm_buf_puts(out, "\n  ");
    put_column(out, &t->cols[i]);
    if (--items) lm_buf_putc(out, ',');
  }
  for (int i = 0; i < t->constraints.n; i++) {
    lm_buf_puts(out, "\n  ");
    put_constraint(out, &t->constraints.v[i]);
    if (--items) lm_buf_putc(out, ',');
  }
  lm_buf_puts(out, t->ncols + t->constraints.n ? "\n);\n" : ");\n");
  for (int i = 0; i < t->indexes.n; i++)
    lm_buf_printf(out, "%s;\n", t->indexes.v[i].def);
  for (int i = 0; i < t->triggers.n; i++)
    lm_buf_printf(out, "%s;\n", t->triggers.v[i].def);
  for (int i = 0; i < t->ncols; i++) {
    const lm_schema_column *c = &t->cols[i];
    if (!c->comment) continue;
    lm_buf_puts(out, "COMMENT ON COLUMN ");
    lm_buf_ident(out, t->name);
    lm_buf_putc(out, '.');
    lm_buf_ident(out, c->name);
    lm_buf_puts(out, " IS ");
    lm_buf_literal(out, c->comment, strlen(c->comment));
    lm_buf_puts(out, ";\n");
  }
}

void lm_schema_render(const lm_schema *s, lm_buf *out) {
  if (s->ntables == 0 && s->objects.n == 0) {
    lm_buf_puts(out, "-- the schema is empty\n");
    return;
  }
  for (int i = 0; i < s->ntables; i++) {
    if (i) lm_buf_putc(out, '\n');
    render_table(s->tables[i], out);
  }
  for (int i = 0; i < s->objects.n; i++) {
    if (i == 0 && s->ntables) lm_buf_putc(out, '\n');
    lm_buf_printf(out, "%s;\n", s->objects.v[i].def);
  }
}

/* ---- diff --------------------------------------------------------------------------- */

typedef struct differ {
  const char *when, *ref;
  char *what;
} differ;

static const char *const CON_WORD[] = {"primary key", "unique constraint", "foreign key",
                                       "check constraint", "exclusion constraint"};
static const char *const OBJ_WORD[] = {"view", "materialized view", "sequence", "type"};

static const char *kind_word(const char *const *words, size_t n, int kind) {
  return kind >= 0 && (size_t)kind < n ? words[kind] : "object";
}

/* The first difference wins: later ones are not looked at. */
static void found(differ *d, const char *table, const char *thing, const char *how) {
  if (d->what) return;
  if (table)
    d->what = lm_xasprintf("table %s: %s %s", table, thing, how);
  else
    d->what = lm_xasprintf("%s %s", thing, how);
}

static void missing(differ *d, const char *table, const char *thing) {
  char *how = lm_xasprintf("is missing %s (it exists %s)", d->when, d->ref);
  found(d, table, thing, how);
  free(how);
}

static void extra(differ *d, const char *table, const char *thing) {
  char *how = lm_xasprintf("is present %s but not %s", d->when, d->ref);
  found(d, table, thing, how);
  free(how);
}

static void differs(differ *d, const char *table, const char *thing, const char *actual,
                    const char *expected) {
  char *how = lm_xasprintf("differs %s: %s; %s: %s", d->when, actual, d->ref, expected);
  found(d, table, thing, how);
  free(how);
}

/* The same column whose default is spelt two ways for one value: a
 * downgrade sets DEFAULT false with op.sql("false") where the table was
 * made with DEFAULT 0 (SQLite's boolean), 'a'::text and 'a', … */
static int same_but_default_spelling(const lm_schema_column *e, const lm_schema_column *a) {
  if (!e->def || !a->def) return 0;
  lm_schema_column x = *e, y = *a;
  x.def = y.def = NULL;
  char *tx = column_text(&x), *ty = column_text(&y);
  int same = strcmp(tx, ty) == 0;
  free(tx);
  free(ty);
  if (!same) return 0;
  char *nt = lm_norm_type(e->type);
  char *dx = lm_norm_default(e->def, nt), *dy = lm_norm_default(a->def, nt);
  same = dx && dy && strcmp(dx, dy) == 0;
  free(nt);
  free(dx);
  free(dy);
  return same;
}

static void diff_columns(differ *d, const lm_schema_table *e, const lm_schema_table *a) {
  for (int i = 0; i < e->ncols && !d->what; i++) {
    const lm_schema_column *ce = &e->cols[i];
    const lm_schema_column *ca = lm_schema_find_column(a, ce->name);
    char *thing = lm_xasprintf("column %s", ce->name);
    if (!ca) {
      missing(d, e->name, thing);
    } else {
      char *te = column_text(ce), *ta = column_text(ca);
      if (strcmp(te, ta) != 0 && !same_but_default_spelling(ce, ca))
        differs(d, e->name, thing, ta, te);
      free(te);
      free(ta);
    }
    free(thing);
  }
  for (int i = 0; i < a->ncols && !d->what; i++) {
    if (lm_schema_find_column(e, a->cols[i].name)) continue;
    char *thing = lm_xasprintf("column %s", a->cols[i].name);
    extra(d, e->name, thing);
    free(thing);
  }
}

/* Items match by name; unnamed ones (SQLite constraints) by kind and text. */
static int same_key(const lm_schema_item *x, const lm_schema_item *y) {
  if (x->name || y->name) return x->name && y->name && strcmp(x->name, y->name) == 0;
  return x->kind == y->kind && strcmp(x->def, y->def) == 0;
}

static const lm_schema_item *find_item(const lm_schema_list *l, const lm_schema_item *key) {
  for (int i = 0; i < l->n; i++)
    if (same_key(&l->v[i], key)) return &l->v[i];
  return NULL;
}

typedef enum item_type { IT_CONSTRAINT, IT_INDEX, IT_TRIGGER, IT_OBJECT } item_type;

/* SQL text with "name" written name where name reads the same bare (lower
 * case letters, digits, _): SQLite's RENAME COLUMN quotes the name it
 * writes into an index or CHECK, the same definition either way. */
static char *unquote_plain(const char *s) {
  lm_buf b;
  lm_buf_init(&b);
  for (const char *p = s; *p;) {
    if (*p == '\'') { /* a string literal, as it is */
      const char *e = p + 1;
      while (*e && !(*e == '\'' && e[1] != '\''))
        e += *e == '\'' ? 2 : 1;
      if (*e) e++;
      lm_buf_put(&b, p, (size_t)(e - p));
      p = e;
      continue;
    }
    if (*p == '"') {
      const char *e = p + 1;
      int plain = (*e >= 'a' && *e <= 'z') || *e == '_';
      while (plain && *e && *e != '"')
        plain = (*e >= 'a' && *e <= 'z') || (*e >= '0' && *e <= '9') || *e == '_', e++;
      if (plain && *e == '"' && e > p + 1) {
        lm_buf_put(&b, p + 1, (size_t)(e - p - 1));
        p = e + 1;
        continue;
      }
    }
    lm_buf_putc(&b, *p++);
  }
  return b.s ? lm_buf_steal(&b) : lm_xstrdup("");
}

/* Two definitions of one item that say the same: the same text, or the
 * same but for quoted plain names; for a CHECK, the same expression
 * (PostgreSQL deparses a CHECK it was given in its own words anew: ANY
 * ((ARRAY[…])::text[]) comes back as ANY (ARRAY[(…)::text, …])). */
static int same_def(const lm_schema_item *a, const lm_schema_item *b, int is_check) {
  if (strcmp(a->def, b->def) == 0) return 1;
  char *x = unquote_plain(a->def), *y = unquote_plain(b->def);
  int eq = strcmp(x, y) == 0;
  free(x);
  free(y);
  return eq || (is_check && lm_expr_same(a->def, b->def));
}

static char *item_thing(item_type type, const lm_schema_item *it) {
  switch (type) {
  case IT_CONSTRAINT:
    if (it->name)
      return lm_xasprintf("constraint %s (%s)", it->name,
                          kind_word(CON_WORD, sizeof CON_WORD / sizeof *CON_WORD, it->kind));
    return lm_xasprintf("constraint %s", it->def);
  case IT_INDEX: return lm_xasprintf("index %s", it->name);
  case IT_TRIGGER: return lm_xasprintf("trigger %s", it->name);
  case IT_OBJECT:
    return lm_xasprintf("%s %s", kind_word(OBJ_WORD, sizeof OBJ_WORD / sizeof *OBJ_WORD, it->kind),
                        it->name);
  }
  return lm_xstrdup("?");
}

static char *item_text(item_type type, const lm_schema_item *it) {
  if (type != IT_CONSTRAINT) return lm_xstrdup(it->def);
  lm_buf b;
  lm_buf_init(&b);
  put_constraint(&b, it);
  return lm_buf_steal(&b);
}

static void diff_items(differ *d, const char *table, item_type type, const lm_schema_list *e,
                       const lm_schema_list *a) {
  for (int i = 0; i < e->n && !d->what; i++) {
    const lm_schema_item *ie = &e->v[i];
    const lm_schema_item *ia = find_item(a, ie);
    char *thing = item_thing(type, ie);
    if (!ia) {
      missing(d, table, thing);
    } else if (ia->kind != ie->kind ||
               !same_def(ia, ie, type == IT_CONSTRAINT && ie->kind == LM_SCON_CHECK)) {
      char *te = item_text(type, ie), *ta = item_text(type, ia);
      differs(d, table, thing, ta, te);
      free(te);
      free(ta);
    }
    free(thing);
  }
  for (int i = 0; i < a->n && !d->what; i++) {
    if (find_item(e, &a->v[i])) continue;
    char *thing = item_thing(type, &a->v[i]);
    extra(d, table, thing);
    free(thing);
  }
}

static void diff_table(differ *d, const lm_schema_table *e, const lm_schema_table *a) {
  diff_columns(d, e, a);
  diff_items(d, e->name, IT_CONSTRAINT, &e->constraints, &a->constraints);
  diff_items(d, e->name, IT_INDEX, &e->indexes, &a->indexes);
  diff_items(d, e->name, IT_TRIGGER, &e->triggers, &a->triggers);
}

int lm_schema_diff(const lm_schema *expected, const lm_schema *actual, const char *when,
                   const char *ref, char **what) {
  differ d = {when ? when : "in the second schema", ref ? ref : "in the first", NULL};
  /* Tables in name order whatever order the models are in, so that "the
   * first difference" is well defined. */
  lm_schema_table **te = lm_xcalloc((size_t)expected->ntables + 1, sizeof *te);
  lm_schema_table **ta = lm_xcalloc((size_t)actual->ntables + 1, sizeof *ta);
  for (int k = 0; k < expected->ntables; k++)
    te[k] = expected->tables[k];
  for (int k = 0; k < actual->ntables; k++)
    ta[k] = actual->tables[k];
  if (expected->ntables > 1) qsort(te, (size_t)expected->ntables, sizeof *te, table_cmp);
  if (actual->ntables > 1) qsort(ta, (size_t)actual->ntables, sizeof *ta, table_cmp);
  int i = 0, j = 0;
  while (!d.what && (i < expected->ntables || j < actual->ntables)) {
    int c = i >= expected->ntables ? 1
            : j >= actual->ntables ? -1
                                   : strcmp(te[i]->name, ta[j]->name);
    if (c < 0) {
      char *thing = lm_xasprintf("table %s", te[i++]->name);
      missing(&d, NULL, thing);
      free(thing);
    } else if (c > 0) {
      char *thing = lm_xasprintf("table %s", ta[j++]->name);
      extra(&d, NULL, thing);
      free(thing);
    } else {
      diff_table(&d, te[i++], ta[j++]);
    }
  }
  free(te);
  free(ta);
  if (!d.what) diff_items(&d, NULL, IT_OBJECT, &expected->objects, &actual->objects);
  *what = d.what;
  return d.what != NULL;
}
