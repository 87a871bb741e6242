/* Op records applied to the schema model, without a database: the tables
 * the model declares (bindings/model.c builds them with
 * lm_schema_apply_create_table) and the schema a chain produces when no
 * scratch database can be had (`revision --autogenerate --offline` or
 * `check` without a reachable PostgreSQL server). Types and defaults are
 * rendered for the dialect, as the model's are, so both compare in the same
 * terms. What op.execute runs cannot be followed: it is counted so the
 * caller can warn. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "compare.h"
#include "normalize.h"
#include "recreate.h"

static char *upper_action(const char *a) {
  if (!a || !*a || strcasecmp(a, "NO ACTION") == 0) return NULL;
  char *s = lm_xstrdup(a);
  for (char *p = s; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
  return s;
}

static void add_column(lm_schema_table *t, const lm_dialect *d, const lm_column *c) {
  lm_buf b;
  lm_buf_init(&b);
  lm_render_type(d, c->type, &b);
  char *type = lm_buf_steal(&b);
  char *def = NULL;
  if (c->server_default.kind != LM_DEF_NONE && c->server_default.kind != LM_DEF_DROP) {
    lm_buf_init(&b);
    lm_render_default_ddl(d, &c->server_default, &b);
    def = lm_buf_steal(&b);
  }
  lm_schema_column *col = lm_schema_add_column(t, c->name, type, !c->nullable, def);
  free(type);
  free(def);
  col->ltype = lm_xstrdup(c->type);
  col->autoincrement = c->autoincrement;
  col->comment = lm_xstrdup(c->comment);
  col->collation = lm_xstrdup(c->collation);
}

/* A column's own constraints and index (unique, references, index). */
static void column_extras(lm_schema_table *t, const lm_column *c) {
  if (c->unique && !c->index) {
    lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_UNIQUE, NULL, "");
    lm_schema_item_add_col(it, c->name, 0);
  }
  if (c->ref_table) {
    lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_FK, NULL, "");
    lm_schema_item_add_col(it, c->name, 0);
    it->ref_table = lm_xstrdup(c->ref_table);
    lm_schema_item_add_ref(it, c->ref_column);
    it->ondelete = upper_action(c->ondelete);
    it->onupdate = upper_action(c->onupdate);
  }
  if (c->index) {
    char *ix = lm_xasprintf("ix_%s_%s", t->name, c->name);
    lm_schema_item *it = lm_schema_add_index(t, ix, "");
    free(ix);
    it->unique = c->unique;
    lm_schema_item_add_col(it, c->name, 0);
  }
}

static lm_schema_item *add_constraint(lm_schema_table *t, const lm_constraint *k,
                                      const char *name) {
  lm_schema_con_kind kind = k->kind == LM_CON_PK       ? LM_SCON_PK
                            : k->kind == LM_CON_UNIQUE ? LM_SCON_UNIQUE
                            : k->kind == LM_CON_FK     ? LM_SCON_FK
                                                       : LM_SCON_CHECK;
  lm_schema_item *it = lm_schema_add_constraint(t, kind, name, "");
  for (int j = 0; j < k->ncols; j++)
    lm_schema_item_add_col(it, k->cols[j], 0);
  if (kind == LM_SCON_CHECK) it->expr = lm_xstrdup(k->expr);
  if (kind == LM_SCON_FK) {
    it->ref_table = lm_xstrdup(k->ref_table);
    for (int j = 0; j < k->nref; j++)
      lm_schema_item_add_ref(it, k->ref_cols[j]);
    it->ondelete = upper_action(k->ondelete);
    it->onupdate = upper_action(k->onupdate);
  }
  if (kind == LM_SCON_PK)
    for (int j = 0; j < it->ncols; j++) {
      lm_schema_column *col = lm_schema_find_column(t, it->cols[j]);
      if (col) col->pk = 1, col->notnull = 1;
    }
  return it;
}

lm_schema_table *lm_schema_apply_create_table(lm_schema *s, const lm_dialect *d, const lm_op *op) {
  lm_schema_table *t = lm_schema_add_table(s, op->table);
  const lm_constraint *pkc = NULL;
  for (int i = 0; i < op->ncons; i++)
    if (op->cons[i].kind == LM_CON_PK) pkc = &op->cons[i];
  for (int i = 0; i < op->ncols; i++)
    add_column(t, d, &op->cols[i]);
  if (pkc) {
    add_constraint(t, pkc, pkc->name);
  } else {
    lm_schema_item *pk = NULL;
    for (int i = 0; i < op->ncols; i++) {
      if (!op->cols[i].primary_key) continue;
      if (!pk) pk = lm_schema_add_constraint(t, LM_SCON_PK, NULL, "");
      lm_schema_item_add_col(pk, op->cols[i].name, 0);
      lm_schema_column *col = lm_schema_find_column(t, op->cols[i].name);
      col->pk = 1, col->notnull = 1;
    }
  }
  for (int i = 0; i < op->ncols; i++)
    column_extras(t, &op->cols[i]);
  for (int i = 0; i < op->ncons; i++)
    if (op->cons[i].kind != LM_CON_PK) add_constraint(t, &op->cons[i], op->cons[i].name);
  return t;
}

/* ---- removing things ------------------------------------------------------------------ */

static void list_remove(lm_schema_list *l, int i) {
  lm_schema_item_clear(&l->v[i]);
  memmove(&l->v[i], &l->v[i + 1], sizeof *l->v * (size_t)(l->n - i - 1));
  l->n--;
}

static int uses(const lm_schema_item *it, const char *col) {
  for (int i = 0; i < it->ncols; i++)
    if (strcmp(it->cols[i], col) == 0) return 1;
  return 0;
}

/* Column from of it's table is now to: in its columns, and, as the
 * database rewrites them, in its expressions (a CHECK, a partial index's
 * WHERE, an index entry that is an expression). */
static void rename_in(lm_schema_item *it, const char *from, const char *to) {
  for (int i = 0; i < it->ncols; i++) {
    char *r = strcmp(it->cols[i], from) == 0 ? lm_xstrdup(to)
                                             : lm_norm_rename_column(it->cols[i], from, to);
    if (r) free(it->cols[i]), it->cols[i] = r;
  }
  char **exprs[] = {&it->expr, &it->expr_db};
  for (size_t i = 0; i < sizeof exprs / sizeof *exprs; i++) {
    char *r = lm_norm_rename_column(*exprs[i], from, to);
    if (r) free(*exprs[i]), *exprs[i] = r;
  }
}

/* The names an unnamed constraint answers to (the naming convention). */
static int answers_to(const lm_schema_table *t, const lm_schema_item *k, const char *name) {
  if (k->name) return strcmp(k->name, name) == 0;
  lm_buf b;
  lm_buf_init(&b);
  switch (k->kind) {
  case LM_SCON_PK: lm_buf_printf(&b, "pk_%s", t->name); break;
  case LM_SCON_UNIQUE:
    lm_buf_printf(&b, "uq_%s", t->name);
    for (int i = 0; i < k->ncols; i++)
      lm_buf_printf(&b, "_%s", k->cols[i]);
    break;
  case LM_SCON_FK:
    lm_buf_printf(&b, "fk_%s_%s_%s", t->name, k->ncols ? k->cols[0] : "",
                  k->ref_table ? k->ref_table : "");
    break;
  default: {
    int nth = 0;
    for (int i = 0; i < t->constraints.n; i++) {
      if (t->constraints.v[i].kind == LM_SCON_CHECK && !t->constraints.v[i].name) nth++;
      if (&t->constraints.v[i] == k) break;
    }
    lm_buf_printf(&b, "ck_%s_%d", t->name, nth);
  }
  }
  int eq = b.s && strcmp(b.s, name) == 0;
  lm_buf_free(&b);
  return eq;
}

/* ---- applying ---------------------------------------------------------------------------- */

static int missing(const lm_op *op, const char *what, const char *name) {
  lm_error_set(LM_EMIGRATE, "%s: no %s \"%s\" in the schema the revisions made so far",
               lm_op_name(op->kind), what, name ? name : "");
  if (op->file) lm_error_set_location(op->file, op->line);
  return LM_EMIGRATE;
}

int lm_schema_apply(lm_schema *s, const lm_dialect *d, const lm_op *op, int *untracked) {
  lm_schema_table *t = op->table ? lm_schema_find_table(s, op->table) : NULL;
  switch (op->kind) {
  case LM_OP_CREATE_TABLE:
    if (t) return lm_error_set(LM_EMIGRATE, "create_table: table \"%s\" exists", op->table);
    lm_schema_apply_create_table(s, d, op);
    return 0;
  case LM_OP_EXECUTE:
    if (untracked) (*untracked)++;
    return 0;
  case LM_OP_BULK_INSERT:
  case LM_OP_BACKFILL_SQL: return 0;
  case LM_OP_DROP_INDEX:
    for (int i = 0; i < s->ntables; i++) {
      lm_schema_list *l = &s->tables[i]->indexes;
      for (int j = 0; j < l->n; j++)
        if (l->v[j].name && strcmp(l->v[j].name, op->name) == 0) {
          list_remove(l, j);
          return 0;
        }
    }
    return op->if_exists ? 0 : missing(op, "index", op->name);
  default: break;
  }
  if (!t) return missing(op, "table", op->table);
  switch (op->kind) {
  case LM_OP_DROP_TABLE: {
    lm_schema_drop_table(s, op->table);
    return 0;
  }
  case LM_OP_RENAME_TABLE:
    for (int i = 0; i < s->ntables; i++)
      for (int j = 0; j < s->tables[i]->constraints.n; j++) {
        lm_schema_item *k = &s->tables[i]->constraints.v[j];
        if (k->ref_table && strcmp(k->ref_table, t->name) == 0) {
          free(k->ref_table);
          k->ref_table = lm_xstrdup(op->new_name);
        }
      }
    free(t->name);
    t->name = lm_xstrdup(op->new_name);
    lm_schema_sort(s);
    return 0;
  case LM_OP_ADD_COLUMN:
    for (int i = 0; i < op->ncols; i++) {
      add_column(t, d, &op->cols[i]);
      if (op->cols[i].primary_key) {
        lm_constraint pk = {.kind = LM_CON_PK, .cols = &op->cols[i].name, .ncols = 1};
        add_constraint(t, &pk, NULL);
      }
      column_extras(t, &op->cols[i]);
    }
    return 0;
  case LM_OP_DROP_COLUMN: {
    lm_schema_column *c = lm_schema_find_column(t, op->name);
    if (!c) return missing(op, "column", op->name);
    for (int j = t->constraints.n - 1; j >= 0; j--)
      if (uses(&t->constraints.v[j], op->name)) list_remove(&t->constraints, j);
    for (int j = t->indexes.n - 1; j >= 0; j--)
      if (uses(&t->indexes.v[j], op->name)) list_remove(&t->indexes, j);
    lm_schema_drop_column(t, op->name);
    return 0;
  }
  case LM_OP_ALTER_COLUMN: {
    lm_schema_column *c = lm_schema_find_column(t, op->name);
    if (!c) return missing(op, "column", op->name);
    if (op->type) {
      lm_buf b;
      lm_buf_init(&b);
      lm_render_type(d, op->type, &b);
      free(c->type);
      c->type = lm_buf_steal(&b);
      free(c->ltype);
      c->ltype = lm_xstrdup(op->type);
    }
    if (op->nullable != -1) c->notnull = !op->nullable;
    if (op->server_default.kind == LM_DEF_DROP) {
      free(c->def);
      c->def = NULL;
    } else if (op->server_default.kind != LM_DEF_NONE) {
      lm_buf b;
      lm_buf_init(&b);
      lm_render_default_ddl(d, &op->server_default, &b);
      free(c->def);
      c->def = lm_buf_steal(&b);
    }
    if (op->new_name) {
      for (int j = 0; j < t->constraints.n; j++)
        rename_in(&t->constraints.v[j], op->name, op->new_name);
      for (int j = 0; j < t->indexes.n; j++)
        rename_in(&t->indexes.v[j], op->name, op->new_name);
      for (int i = 0; i < s->ntables; i++)
        for (int j = 0; j < s->tables[i]->constraints.n; j++) {
          lm_schema_item *k = &s->tables[i]->constraints.v[j];
          if (!k->ref_table || strcmp(k->ref_table, t->name) != 0) continue;
          for (int r = 0; r < k->nref; r++)
            if (strcmp(k->ref_cols[r], op->name) == 0) {
              free(k->ref_cols[r]);
              k->ref_cols[r] = lm_xstrdup(op->new_name);
            }
        }
      free(c->name);
      c->name = lm_xstrdup(op->new_name);
    }
    return 0;
  }
  case LM_OP_CREATE_INDEX: {
    lm_schema_item *it = lm_schema_add_index(t, op->name, "");
    it->unique = op->unique;
    it->expr = lm_xstrdup(op->where);
    it->method = lm_norm_index_method(op->method);
    lm_schema_item_set_include(it, op->include, op->ninclude);
    for (int j = 0; j < op->nnames; j++) /* a name is a name, whatever it holds */
      if (op->name_is_expr && op->name_is_expr[j])
        lm_schema_item_add_index_col(t, it, op->names[j]);
      else
        lm_schema_item_add_col(it, op->names[j], 0);
    return 0;
  }
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
    if (op->ncons > 0) add_constraint(t, &op->cons[0], op->name ? op->name : op->cons[0].name);
    return 0;
  case LM_OP_DROP_CONSTRAINT:
    for (int j = 0; j < t->constraints.n; j++)
      if (answers_to(t, &t->constraints.v[j], op->name)) {
        if (t->constraints.v[j].kind == LM_SCON_PK)
          for (int c = 0; c < t->ncols; c++)
            t->cols[c].pk = 0;
        list_remove(&t->constraints, j);
        return 0;
      }
    for (int j = 0; j < t->indexes.n; j++)
      if (t->indexes.v[j].name && strcmp(t->indexes.v[j].name, op->name) == 0) {
        list_remove(&t->indexes, j);
        return 0;
      }
    return missing(op, "constraint", op->name);
  default: return 0;
  }
}

/* ---- a chain into memory ------------------------------------------------------------------ */

typedef struct applier {
  lm_schema *s;
  const lm_dialect *d;
  int untracked;
  const char *first_file;
  int first_line;
  char *where; /* file:line of the first op.execute */
} applier;

static int apply_op(void *ud, const lm_op *op) {
  applier *a = ud;
  if (op->kind == LM_OP_EXECUTE && !a->untracked) {
    a->first_file = op->file;
    a->first_line = op->line;
  }
  return lm_schema_apply(a->s, a->d, op, &a->untracked);
}

/* Runs the revisions on a recording sink into a->s: all of them, or (state)
 * each revision's first state[i] steps. strict: the run must be what a real
 * one does: context.offline is false and a read of data (op.scalar, op.rows,
 * op.query) is an error instead of an empty answer. */
static int apply_chain(lm_project *p, applier *a, const int *state, int strict) {
  lm_lua_set_context(p->L, a->d->name, !strict, p->opts.x, p->opts.nx);
  int rc = 0;
  for (int k = 0; k < p->graph.n && !rc; k++) {
    int idx = p->graph.topo[k];
    const lm_revision *r = p->graph.revs[idx];
    int nsteps = state ? state[idx] : r->nsteps;
    for (int step = 0; step < nsteps && step < r->nsteps && !rc; step++) {
      lm_sink sink;
      lm_sink_record(&sink, a->d, apply_op, a);
      if (strict) sink.query = sink.inspect = NULL;
      lm_run run = {p, &sink, a->d, 1, r, r->multistep ? r->step_names[step] : NULL, 0, NULL};
      rc = lm_lua_call_step(p->L, &run, r, step, 1);
      if (a->untracked && !a->where)
        a->where = lm_xasprintf("%s:%d", a->first_file ? a->first_file : r->path, a->first_line);
    }
  }
  return rc;
}

int lm_chain_schema_memory(lm_project *p, const lm_dialect *d, lm_schema **out) {
  *out = NULL;
  applier a = {lm_schema_new(), d, 0, NULL, 0, NULL};
  int rc = apply_chain(p, &a, NULL, 0);
  if (!rc && a.untracked)
    fprintf(p->err,
            "luamig: warning: %d op.execute call%s (the first at %s) could not be followed "
            "without a database: the schema compared may miss what %s\n",
            a.untracked, a.untracked > 1 ? "s" : "", a.where,
            a.untracked > 1 ? "they do" : "it does");
  free(a.where);
  if (rc) {
    lm_error_prefix("applying the revisions to the schema in memory");
    lm_schema_free(a.s);
    return rc;
  }
  lm_schema_sort(a.s);
  *out = a.s;
  return 0;
}

int lm_chain_schema_memory_exact(lm_project *p, const lm_dialect *d, const int *state,
                                 lm_schema **out, char **why) {
  *out = NULL;
  *why = NULL;
  applier a = {lm_schema_new(), d, 0, NULL, 0, NULL};
  int rc = apply_chain(p, &a, state, 1);
  const lm_error *e = lm_error_last();
  if (a.untracked && rc != LM_EINTR)
    *why = lm_xasprintf("the chain runs op.execute (at %s)", a.where ? a.where : "?");
  else if (rc == LM_EOFFLINE && e->file) /* a read of data, refused in memory */
    *why = lm_xasprintf("the chain reads data (at %s:%d)", e->file, e->line);
  else if (rc && rc != LM_EINTR)
    *why = lm_xasprintf("in memory, %s", e->message);
  free(a.where);
  if (rc || a.untracked) {
    lm_schema_free(a.s);
    if (rc == LM_EINTR) return rc;
    lm_error_clear();
    return 0;
  }
  lm_schema_sort(a.s);
  *out = a.s;
  return 0;
}
