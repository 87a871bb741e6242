/* libFuzzer target: SQLite's one CREATE TABLE parser (engine/dialect/
 * sqlite_catalog.c), which move-and-copy, `luamig schema`, `check
 * --roundtrip` and introspection all read sqlite_master's text with, and
 * the move-and-copy renderer fed with what it reads. The input is the
 * CREATE TABLE text. Whatever it is, the parser either refuses it with an
 * error or gives a table with columns; the renderer either refuses an
 * operation or renders a copy that starts with CREATE TABLE. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dialect/sqlite_recreate.h"

static lm_op mkop(lm_op_kind kind, const char *table, const char *name) {
  lm_op op;
  memset(&op, 0, sizeof op);
  op.kind = kind;
  op.table = table;
  op.name = name;
  op.nullable = -1;
  op.existing_nullable = -1;
  return op;
}

static void render(const lm_rc_table *t, const lm_op *op) {
  const lm_op *ops[1] = {op};
  lm_stmts l = {0};
  if (lm_rc_render(&lm_dialect_sqlite, t, ops, 1, &l) == 0) {
    if (l.n < 1 || strncmp(l.v[0].sql, "CREATE TABLE ", 13) != 0) abort();
  } else if (l.n != 0) {
    abort(); /* all or nothing */
  }
  lm_stmts_free(&l);
  (void)lm_rc_needs(t, op);
  lm_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *sql = lm_xstrndup((const char *)data, size);
  lm_rc_table *t = NULL;
  if (lm_rc_table_from_sql(sql, &t) == 0) {
    if (!t || t->def.ncols < 1 || !t->name) abort();
    for (int i = 0; i < t->def.ncols; i++)
      if (!t->def.cols[i].name || !t->def.cols[i].text || !t->def.cols[i].type) abort();
    const char *first = t->def.cols[0].name;
    (void)lm_rc_mentions(sql, first);
    lm_op drop = mkop(LM_OP_DROP_COLUMN, t->name, first);
    render(t, &drop);
    lm_op alter = mkop(LM_OP_ALTER_COLUMN, t->name, first);
    alter.nullable = 0;
    render(t, &alter);
    lm_op dropc = mkop(LM_OP_DROP_CONSTRAINT, t->name, "pk");
    render(t, &dropc);
    lm_rc_table_free(t);
  } else if (t) {
    abort();
  }
  lm_error_clear();
  free(sql);
  return 0;
}
