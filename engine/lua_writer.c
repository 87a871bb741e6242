/* A sink of op records that writes Lua: each record as the `op.X(...)` call a
 * person would have written in a revision (autogenerate), or as the model's
 * table(...) declarations (`luamig schema --model`). */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static void q(lm_buf *b, const char *s) {
  lm_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\')
      lm_buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      lm_buf_puts(b, "\\n");
    else if (*p == '\r')
      lm_buf_puts(b, "\\r");
    else if (*p == '\t')
      lm_buf_puts(b, "\\t");
    else if (*p < 0x20 || *p == 0x7f)
      lm_buf_printf(b, "\\%03d", *p);
    else
      lm_buf_putc(b, (char)*p);
  }
  lm_buf_putc(b, '"');
}

/* A constraint's name; nil lets the database name it. */
static void con_name(lm_buf *b, const char *name) {
  if (name)
    q(b, name);
  else
    lm_buf_puts(b, "nil");
}

static void list(lm_buf *b, const char *const *v, int n) {
  lm_buf_puts(b, "{ ");
  for (int i = 0; i < n; i++) {
    if (i) lm_buf_puts(b, ", ");
    q(b, v[i]);
  }
  lm_buf_puts(b, " }");
}

/* Options tables: { a = x, b = y }, or nothing when empty. */
typedef struct opts {
  lm_buf b;
  int n;
} opts;

static void opt_begin(opts *o) {
  lm_buf_init(&o->b);
  o->n = 0;
}

static void opt_key(opts *o, const char *key) {
  lm_buf_puts(&o->b, o->n++ ? ", " : "{ ");
  lm_buf_printf(&o->b, "%s = ", key);
}

static void opt_str(opts *o, const char *key, const char *v) {
  if (!v) return;
  opt_key(o, key);
  q(&o->b, v);
}

static void opt_list(opts *o, const char *key, const char *const *v, int n) {
  if (n <= 0) return;
  opt_key(o, key);
  list(&o->b, v, n);
}

static void opt_bool(opts *o, const char *key, int v) {
  opt_key(o, key);
  lm_buf_puts(&o->b, v ? "true" : "false");
}

/* false_drops: where the call reads `server_default = false` as "drop the
 * default" (alter_column), the literal false is written as SQL. */
static void opt_default(opts *o, const char *key, const lm_default *v, const char *pre,
                        int false_drops) {
  if (v->kind == LM_DEF_NONE) return;
  opt_key(o, key);
  switch (v->kind) {
  case LM_DEF_LITERAL: q(&o->b, v->text); break;
  case LM_DEF_NUMBER: lm_buf_puts(&o->b, v->text); break;
  case LM_DEF_BOOL:
    if (!v->b && false_drops)
      lm_buf_printf(&o->b, "%ssql(\"false\")", pre);
    else
      lm_buf_puts(&o->b, v->b ? "true" : "false");
    break;
  case LM_DEF_SQL:
    lm_buf_printf(&o->b, "%ssql(", pre);
    q(&o->b, v->text);
    lm_buf_putc(&o->b, ')');
    break;
  case LM_DEF_DROP: lm_buf_puts(&o->b, "false"); break;
  case LM_DEF_NONE: break;
  }
}

/* Appends ", { … }" when there are options, and frees them. */
static void opt_end(lm_buf *b, opts *o, int comma) {
  if (o->n) {
    if (comma) lm_buf_puts(b, ", ");
    lm_buf_put(b, o->b.s, o->b.len);
    lm_buf_puts(b, " }");
  }
  lm_buf_free(&o->b);
}

static void column(lm_buf *b, const lm_column *c, const char *pre) {
  lm_buf_printf(b, "%scolumn(", pre);
  q(b, c->name);
  lm_buf_puts(b, ", ");
  q(b, c->type);
  opts o;
  opt_begin(&o);
  if (c->primary_key) opt_bool(&o, "primary_key", 1);
  if (!c->nullable && !c->primary_key) opt_bool(&o, "nullable", 0);
  if (c->autoincrement == 0 || c->autoincrement == 1)
    opt_bool(&o, "autoincrement", c->autoincrement);
  if (c->unique) opt_bool(&o, "unique", 1);
  if (c->index) opt_bool(&o, "index", 1);
  opt_default(&o, "server_default", &c->server_default, pre, 0);
  opt_str(&o, "collation", c->collation);
  if (c->ref_table) {
    char *ref = lm_xasprintf("%s.%s", c->ref_table, c->ref_column ? c->ref_column : "");
    opt_str(&o, "references", ref);
    free(ref);
    opt_str(&o, "ondelete", c->ondelete);
    opt_str(&o, "onupdate", c->onupdate);
  }
  opt_str(&o, "comment", c->comment);
  opt_end(b, &o, 1);
  lm_buf_putc(b, ')');
}

static void refs(lm_buf *b, const lm_constraint *k) {
  lm_buf_puts(b, "{ ");
  for (int i = 0; i < k->nref; i++) {
    char *r = lm_xasprintf("%s.%s", k->ref_table ? k->ref_table : "", k->ref_cols[i]);
    if (i) lm_buf_puts(b, ", ");
    q(b, r);
    free(r);
  }
  lm_buf_puts(b, " }");
}

static void constraint(lm_buf *b, const lm_constraint *k, const char *pre) {
  opts o;
  opt_begin(&o);
  switch (k->kind) {
  case LM_CON_PK: lm_buf_printf(b, "%sprimary_key(", pre); break;
  case LM_CON_UNIQUE: lm_buf_printf(b, "%sunique(", pre); break;
  case LM_CON_FK: lm_buf_printf(b, "%sforeign_key(", pre); break;
  case LM_CON_CHECK: lm_buf_printf(b, "%scheck(", pre); break;
  }
  if (k->kind == LM_CON_CHECK) {
    q(b, k->expr);
  } else {
    list(b, k->cols, k->ncols);
  }
  if (k->kind == LM_CON_FK) {
    lm_buf_puts(b, ", ");
    refs(b, k);
  }
  opt_str(&o, "name", k->name);
  if (k->kind == LM_CON_FK) {
    opt_str(&o, "ondelete", k->ondelete);
    opt_str(&o, "onupdate", k->onupdate);
  }
  opt_end(b, &o, 1);
  lm_buf_putc(b, ')');
}

static void index_opts(lm_buf *b, const lm_op *op) {
  opts o;
  opt_begin(&o);
  if (op->unique) opt_bool(&o, "unique", 1);
  opt_str(&o, "where", op->where);
  opt_str(&o, "postgresql_using", op->method);
  opt_list(&o, "postgresql_include", op->include, op->ninclude);
  opt_end(b, &o, 1);
}

/* create_table: one item per line, the closing parenthesis on the last. */
/* extra: the diff's items, whose foreign keys made apart (a cycle of
 * references) belong in op's table of a model; NULL in a revision */
static void create_table(lm_buf *b, const lm_op *op, const char *indent, const char *pre,
                         const lm_op *indexes, int nindexes, const lm_diff *extra) {
  lm_buf_printf(b, "%s%s(", pre[0] ? "op.create_table" : "table", "");
  q(b, op->table);
  int n = op->ncols + op->ncons + nindexes, k = 0;
  for (int i = 0; i < op->ncols; i++) {
    lm_buf_printf(b, ",\n%s  ", indent);
    column(b, &op->cols[i], pre);
    k++;
  }
  for (int i = 0; i < op->ncons; i++) {
    lm_buf_printf(b, ",\n%s  ", indent);
    constraint(b, &op->cons[i], pre);
    k++;
  }
  for (int i = 0; extra && i < extra->n; i++) {
    const lm_diff_item *it = &extra->v[i];
    if (it->nup < 1 || it->up[0].kind != LM_OP_CREATE_FK || it->up[0].ncons < 1 ||
        strcmp(it->up[0].table, op->table) != 0)
      continue;
    lm_buf_printf(b, ",\n%s  ", indent);
    constraint(b, &it->up[0].cons[0], pre);
    k++;
  }
  for (int i = 0; i < nindexes; i++) {
    lm_buf_printf(b, ",\n%s  index(", indent);
    q(b, indexes[i].name);
    lm_buf_puts(b, ", ");
    list(b, indexes[i].names, indexes[i].nnames);
    index_opts(b, &indexes[i]);
    lm_buf_putc(b, ')');
    k++;
  }
  LM_UNUSED(n);
  lm_buf_puts(b, ")\n");
}

static const char *con_type(const lm_op *op) { return op->constraint_type; }

void lm_lua_write_op(lm_buf *b, const lm_op *op, const char *indent) {
  opts o;
  if (op->kind == LM_OP_DROP_CONSTRAINT && !op->name) {
    lm_buf_printf(b,
                  "%s-- luamig: the %s constraint of \"%s\" has no name to drop it by: drop it by "
                  "hand (batch_alter_table)\n",
                  indent, con_type(op) ? con_type(op) : "", op->table);
    return;
  }
  lm_buf_puts(b, indent);
  switch (op->kind) {
  case LM_OP_CREATE_TABLE: create_table(b, op, indent, "op.", NULL, 0, NULL); return;
  case LM_OP_DROP_TABLE:
    lm_buf_puts(b, "op.drop_table(");
    q(b, op->table);
    break;
  case LM_OP_RENAME_TABLE:
    lm_buf_puts(b, "op.rename_table(");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    q(b, op->new_name);
    break;
  case LM_OP_ADD_COLUMN:
    lm_buf_puts(b, "op.add_column(");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    column(b, &op->cols[0], "op.");
    break;
  case LM_OP_DROP_COLUMN:
    lm_buf_puts(b, "op.drop_column(");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    q(b, op->name);
    break;
  case LM_OP_ALTER_COLUMN:
    lm_buf_puts(b, "op.alter_column(");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    q(b, op->name);
    opt_begin(&o);
    opt_str(&o, "new_column_name", op->new_name);
    opt_str(&o, "type", op->type);
    if (op->nullable != -1) opt_bool(&o, "nullable", op->nullable);
    opt_default(&o, "server_default", &op->server_default, "op.", 1);
    opt_str(&o, "existing_type", op->existing_type);
    if (op->existing_nullable != -1) opt_bool(&o, "existing_nullable", op->existing_nullable);
    opt_str(&o, "postgresql_using", op->using_expr);
    opt_end(b, &o, 1);
    break;
  case LM_OP_CREATE_INDEX:
    lm_buf_puts(b, "op.create_index(");
    q(b, op->name);
    lm_buf_puts(b, ", ");
    q(b, op->table);
    lm_buf_puts(b, ", { ");
    for (int i = 0; i < op->nnames; i++) {
      if (i) lm_buf_puts(b, ", ");
      /* an expression entry is the author's SQL, as op.create_index takes it */
      if (op->name_is_expr && op->name_is_expr[i]) lm_buf_puts(b, "op.sql(");
      q(b, op->names[i]);
      if (op->name_is_expr && op->name_is_expr[i]) lm_buf_putc(b, ')');
    }
    lm_buf_puts(b, " }");
    index_opts(b, op);
    break;
  case LM_OP_DROP_INDEX:
    lm_buf_puts(b, "op.drop_index(");
    q(b, op->name);
    lm_buf_puts(b, ", { table_name = ");
    q(b, op->table);
    lm_buf_puts(b, " }");
    break;
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
    lm_buf_puts(b, op->kind == LM_OP_CREATE_PK ? "op.create_primary_key("
                                               : "op.create_unique_constraint(");
    con_name(b, op->name);
    lm_buf_puts(b, ", ");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    list(b, op->cons[0].cols, op->cons[0].ncols);
    break;
  case LM_OP_CREATE_FK:
    lm_buf_puts(b, "op.create_foreign_key(");
    con_name(b, op->name);
    lm_buf_puts(b, ", ");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    q(b, op->cons[0].ref_table);
    lm_buf_puts(b, ", ");
    list(b, op->cons[0].cols, op->cons[0].ncols);
    lm_buf_puts(b, ", ");
    list(b, op->cons[0].ref_cols, op->cons[0].nref);
    opt_begin(&o);
    opt_str(&o, "ondelete", op->cons[0].ondelete);
    opt_str(&o, "onupdate", op->cons[0].onupdate);
    opt_end(b, &o, 1);
    break;
  case LM_OP_CREATE_CHECK:
    lm_buf_puts(b, "op.create_check_constraint(");
    con_name(b, op->name);
    lm_buf_puts(b, ", ");
    q(b, op->table);
    lm_buf_puts(b, ", ");
    q(b, op->cons[0].expr);
    break;
  case LM_OP_DROP_CONSTRAINT:
    lm_buf_puts(b, "op.drop_constraint(");
    q(b, op->name);
    lm_buf_puts(b, ", ");
    q(b, op->table);
    opt_begin(&o);
    opt_str(&o, "type_", op->constraint_type);
    opt_end(b, &o, 1);
    break;
  case LM_OP_EXECUTE:
    lm_buf_puts(b, "op.execute(");
    q(b, op->sql);
    break;
  default: lm_buf_printf(b, "-- luamig: %s cannot be written", lm_op_name(op->kind)); break;
  }
  lm_buf_puts(b, ")\n");
}

char *lm_lua_write_functions(const lm_diff *diff) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "function upgrade()\n");
  for (int i = 0; i < diff->n; i++) {
    const lm_diff_item *it = &diff->v[i];
    if (it->comment) lm_buf_printf(&b, "  %s\n", it->comment);
    for (int k = 0; k < it->nup; k++)
      lm_lua_write_op(&b, &it->up[k], "  ");
  }
  lm_buf_puts(&b, "end\n\nfunction downgrade()\n");
  for (int i = diff->n - 1; i >= 0; i--) {
    const lm_diff_item *it = &diff->v[i];
    for (int k = 0; k < it->ndown; k++)
      lm_lua_write_op(&b, &it->down[k], "  ");
  }
  lm_buf_puts(&b, "end\n");
  return lm_buf_steal(&b);
}

char *lm_lua_write_model(const lm_dialect *d, const lm_schema *s) {
  lm_schema *empty = lm_schema_new();
  lm_diff diff;
  lm_compare(d, s, empty, &diff);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_printf(&b,
                "-- The model of the database (luamig schema --model, %s). Review it and\n"
                "-- keep it as schema.lua beside luamig.lua (another file: model = ... there).\n",
                d->name);
  for (int i = 0; i < diff.n; i++) {
    const lm_diff_item *it = &diff.v[i];
    if (it->nup < 1 || it->up[0].kind != LM_OP_CREATE_TABLE) continue;
    lm_buf_putc(&b, '\n');
    create_table(&b, &it->up[0], "", "", it->up + 1, it->nup - 1, &diff);
  }
  lm_diff_free(&diff);
  lm_schema_free(empty);
  return lm_buf_steal(&b);
}
