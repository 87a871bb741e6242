/* How SQLite's SQL differs from what engine/render_common.c writes: its type
 * names, its literals, its column DEFAULT rule, and the operations it cannot
 * do in place (move-and-copy, engine/recreate.c, does those). */
#include <math.h>
#include <string.h>

#include "lm.h"
#include "render_common.h"
#include "dialect/sqlite_render.h"

/* The SPEC §4 types SQLite spells its own way (the rest: standard SQL). */
const struct lm_type_pair lm_sqlite_type_names[] = {
    {"float", "REAL"},           {"datetime", "DATETIME"}, {"timestamp", "DATETIME"},
    {"timestamptz", "DATETIME"}, {"json", "JSON"},         {"uuid", "CHAR(36)"},
    {"binary", "BLOB"},          {"largebinary", "BLOB"},  {NULL, NULL}};

/* SQLite has no now(): the moment a row is written is CURRENT_TIMESTAMP
 * (as SQLAlchemy writes func.now() there), so the model of SPEC §10,
 * server_default = sql("now()"), makes a table that takes rows. */
const struct lm_type_pair lm_sqlite_sql_spellings[] = {{"now()", "CURRENT_TIMESTAMP"},
                                                       {NULL, NULL}};

/* Type names SQLite's affinity rules take that SPEC §4 does not list. */
const char *const lm_sqlite_known_types[] = {"int",
                                             "tinyint",
                                             "mediumint",
                                             "unsigned big int",
                                             "int2",
                                             "int8",
                                             "character",
                                             "varying character",
                                             "nchar",
                                             "native character",
                                             "nvarchar",
                                             "char",
                                             "clob",
                                             "blob",
                                             "real",
                                             "double",
                                             "double precision",
                                             "decimal",
                                             "any",
                                             NULL};

/* What SQLite reflects for the luamig types it alone spells so. */
const struct lm_type_pair lm_sqlite_reflected_types[] = {
    {"real", "float"}, {"json", "json"}, {"blob", "binary"}, {NULL, NULL}};

void lm_sqlite_literal(const lm_dialect *d, const lm_value *v, lm_buf *b) {
  LM_UNUSED(d);
  switch (v->t) {
  case LM_V_FLOAT:
    /* SQLite stores a bound NaN as NULL: print what online would store. */
    if (isnan(v->f)) {
      lm_buf_puts(b, "NULL");
      return;
    }
    /* SQLite reads an overflowing literal as infinity */
    if (isinf(v->f)) {
      lm_buf_puts(b, v->f > 0 ? "9e999" : "-9e999");
      return;
    }
    break;
  case LM_V_BOOL: lm_buf_puts(b, v->i ? "1" : "0"); return;
  case LM_V_TEXT:
    if (v->s && memchr(v->s, 0, v->len)) {
      /* A NUL cannot sit inside a quoted literal (the statement is a C
       * string); spelled in hex, the database gets the value binding would
       * have given it. */
      lm_buf_puts(b, "CAST(X'");
      lm_render_hex(b, v->s, v->len);
      lm_buf_puts(b, "' AS TEXT)");
      return;
    }
    break;
  default: break;
  }
  lm_render_literal_sql(v, b);
}

static int c_word(int c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* SQLite's column DEFAULT takes only a literal, a signed number or a
 * parenthesised expression; the test is SQLAlchemy's, so what works there
 * works here. */
int lm_sqlite_default_needs_parens(const char *s) {
  if (*s == '\'' || *s == '"' || *s == '(') {
    /* one literal, or one parenthesised group, and nothing after it:
     * 'a' || 'b' starts like a literal but is an expression */
    char close = *s == '(' ? ')' : *s;
    int depth = 0;
    const char *p = s;
    for (; *p; p++) {
      if (close != ')') {
        if (p > s && *p == close) {
          if (p[1] == close) {
            p++;
            continue;
          }
          break;
        }
      } else if (*p == '\'') {
        for (p++; *p && !(*p == '\'' && p[1] != '\''); p += *p == '\'' ? 2 : 1) {
        }
        if (!*p) break;
      } else if (*p == '(') {
        depth++;
      } else if (*p == ')' && --depth == 0) {
        break;
      }
    }
    return !*p || p[1] != 0;
  }
  for (; *s; s++)
    if (!c_word((unsigned char)*s)) return 1;
  return 0;
}

/* SQLite's ALTER TABLE renames and adds columns, nothing more: what needs a
 * new table is refused here (move-and-copy handles it before rendering). */
int lm_sqlite_render(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  switch (op->kind) {
  case LM_OP_ALTER_COLUMN:
    if (op->type || op->nullable != -1 || op->server_default.kind != LM_DEF_NONE)
      return lm_error_set(LM_ENOTSUP,
                          "alter_column changing a column's type, nullability or default is not "
                          "supported on SQLite yet (move-and-copy is planned); table \"%s\", "
                          "column \"%s\"",
                          op->table, op->name);
    break;
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
    return lm_error_set(LM_ENOTSUP, "%s is not supported on SQLite yet (move-and-copy is planned)",
                        lm_op_name(op->kind));
  case LM_OP_DROP_CONSTRAINT:
    return lm_error_set(LM_ENOTSUP,
                        "drop_constraint is not supported on SQLite yet (move-and-copy is "
                        "planned)");
  default: break;
  }
  return lm_render_common_op(d, op, out);
}
