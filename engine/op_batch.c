/* Op records kept beyond their call: batch_alter_table collects a batch's
 * operations and hands them to the sink together (engine/recreate.h). */
#include <stdlib.h>
#include <string.h>

#include "recreate.h"

#define GROW(v, n, cap)                                                                            \
  do {                                                                                             \
    if ((n) >= (cap)) {                                                                            \
      (cap) = (cap) ? 2 * (cap) : 8;                                                               \
      (v) = lm_xrealloc((v), sizeof *(v) * (size_t)(cap));                                         \
    }                                                                                              \
  } while (0)

/* ---- batches ---------------------------------------------------------------------------- */

struct lm_rc_batch {
  lm_op *ops;
  int n, cap;
  const lm_op **ptrs;
  void **mem;
  int nmem, capmem;
};

lm_rc_batch *lm_rc_batch_new(void) { return lm_xcalloc(1, sizeof(lm_rc_batch)); }

void lm_rc_batch_free(lm_rc_batch *b) {
  if (!b) return;
  for (int i = 0; i < b->nmem; i++)
    free(b->mem[i]);
  free(b->mem);
  free(b->ops);
  free(b->ptrs);
  free(b);
}

static void *bkeep(lm_rc_batch *b, void *p) {
  GROW(b->mem, b->nmem, b->capmem);
  b->mem[b->nmem++] = p;
  return p;
}

static const char *bstr(lm_rc_batch *b, const char *s) {
  return s ? bkeep(b, lm_xstrdup(s)) : NULL;
}

static const char **bstrs(lm_rc_batch *b, const char *const *v, int n) {
  if (!v) return NULL;
  const char **out = bkeep(b, lm_xcalloc((size_t)n + 1, sizeof *out));
  for (int i = 0; i < n; i++)
    out[i] = bstr(b, v[i]);
  return out;
}

static lm_default bdefault(lm_rc_batch *b, lm_default d) {
  d.text = bstr(b, d.text);
  return d;
}

void lm_rc_batch_add(lm_rc_batch *b, const lm_op *op) {
  GROW(b->ops, b->n, b->cap);
  lm_op *o = &b->ops[b->n++];
  *o = *op;
  o->table = bstr(b, op->table);
  o->name = bstr(b, op->name);
  o->new_name = bstr(b, op->new_name);
  if (op->cols) {
    o->cols = bkeep(b, lm_xcalloc((size_t)op->ncols + 1, sizeof *o->cols));
    for (int i = 0; i < op->ncols; i++) {
      lm_column *c = &o->cols[i];
      *c = op->cols[i];
      c->name = bstr(b, c->name);
      c->type = bstr(b, c->type);
      c->server_default = bdefault(b, c->server_default);
      c->comment = bstr(b, c->comment);
      c->ref_table = bstr(b, c->ref_table);
      c->ref_column = bstr(b, c->ref_column);
      c->ondelete = bstr(b, c->ondelete);
      c->onupdate = bstr(b, c->onupdate);
    }
  }
  if (op->cons) {
    o->cons = bkeep(b, lm_xcalloc((size_t)op->ncons + 1, sizeof *o->cons));
    for (int i = 0; i < op->ncons; i++) {
      lm_constraint *c = &o->cons[i];
      *c = op->cons[i];
      c->name = bstr(b, c->name);
      c->cols = bstrs(b, c->cols, c->ncols);
      c->ref_table = bstr(b, c->ref_table);
      c->ref_cols = bstrs(b, c->ref_cols, c->nref);
      c->ondelete = bstr(b, c->ondelete);
      c->onupdate = bstr(b, c->onupdate);
      c->expr = bstr(b, c->expr);
    }
  }
  o->names = bstrs(b, op->names, op->nnames);
  if (op->name_is_expr && op->nnames > 0) {
    unsigned char *e = bkeep(b, lm_xmalloc((size_t)op->nnames));
    memcpy(e, op->name_is_expr, (size_t)op->nnames);
    o->name_is_expr = e;
  }
  o->type = bstr(b, op->type);
  o->existing_type = bstr(b, op->existing_type);
  o->using_expr = bstr(b, op->using_expr);
  o->server_default = bdefault(b, op->server_default);
  o->comment = bstr(b, op->comment);
  o->where = bstr(b, op->where);
  o->method = bstr(b, op->method);
  o->include = bstrs(b, op->include, op->ninclude);
  o->constraint_type = bstr(b, op->constraint_type);
  o->sql = bstr(b, op->sql);
  if (op->params) {
    o->params = bkeep(b, lm_xcalloc((size_t)op->nparams + 1, sizeof *o->params));
    for (int i = 0; i < op->nparams; i++) {
      o->params[i] = op->params[i];
      if (op->params[i].t == LM_V_TEXT && op->params[i].s)
        o->params[i].s = bkeep(b, lm_xstrndup(op->params[i].s, op->params[i].len));
    }
  }
  /* not batch operations: never kept */
  o->rows = NULL;
  o->nrows = 0;
  o->set_cols = NULL;
  o->set_vals = NULL;
  o->nset = 0;
  o->file = bstr(b, op->file);
}

int lm_rc_batch_count(const lm_rc_batch *b) { return b->n; }

const lm_op *const *lm_rc_batch_ops(lm_rc_batch *b) {
  free(b->ptrs);
  b->ptrs = lm_xcalloc((size_t)b->n + 1, sizeof *b->ptrs);
  for (int i = 0; i < b->n; i++)
    b->ptrs[i] = &b->ops[i];
  return b->ptrs;
}
