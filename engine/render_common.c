/* Turns lm_op records into SQL for one dialect: the part every dialect
 * shares.
 *
 * An operation is written once, here; where dialects differ, the walk asks
 * the dialect's rendering fields (include/luamig/sys/dialect.h, through the
 * wrappers of engine/dialect/dialect.c): type spellings, literal syntax,
 * column details, what it refuses. Each dialect's own rules live in
 * engine/dialect/<name>_render.c. Rendering is pure (no I/O) so that online
 * runs, --sql and lint all see exactly the same statements.
 *
 * Identifiers are always quoted. Values travel as bound parameters wherever
 * SQL allows one; where it does not (DDL defaults, comments, --sql), they are
 * written as literals that cannot end early, whatever the text holds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "recreate.h"
#include "render_common.h"

/* Limits for one multi-row INSERT: PostgreSQL takes at most 65535 parameters
 * and SQLite 32766 by default, and very long statements cost more to parse
 * than they save in round trips. */
#define INSERT_MAX_ROWS 500
#define INSERT_MAX_PARAMS 30000

/* Locale-independent character classes: a user's LC_CTYPE must not change
 * how SQL is tokenised. */
static int c_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int c_digit(int c) { return c >= '0' && c <= '9'; }
static int c_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int c_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
static int c_upper(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }
static int c_word(int c) { return c_alpha(c) || c_digit(c) || c == '_'; }
/* Bytes that may continue an unquoted identifier in either dialect; a $ or ?
 * inside such a run (foo$1) is part of a name, not a placeholder. */
static int c_ident(unsigned char c) { return c_word(c) || c == '$' || c >= 0x80; }

static void emit(lm_stmts *out, lm_buf *b) { lm_stmts_add(out, lm_buf_steal(b), NULL, 0); }

/* ---- names ------------------------------------------------------------------ */

const char *lm_op_name(lm_op_kind k) {
  switch (k) {
  case LM_OP_CREATE_TABLE: return "create_table";
  case LM_OP_DROP_TABLE: return "drop_table";
  case LM_OP_RENAME_TABLE: return "rename_table";
  case LM_OP_ADD_COLUMN: return "add_column";
  case LM_OP_DROP_COLUMN: return "drop_column";
  case LM_OP_ALTER_COLUMN: return "alter_column";
  case LM_OP_CREATE_INDEX: return "create_index";
  case LM_OP_DROP_INDEX: return "drop_index";
  case LM_OP_CREATE_PK: return "create_primary_key";
  case LM_OP_CREATE_UNIQUE: return "create_unique_constraint";
  case LM_OP_CREATE_FK: return "create_foreign_key";
  case LM_OP_CREATE_CHECK: return "create_check_constraint";
  case LM_OP_DROP_CONSTRAINT: return "drop_constraint";
  case LM_OP_EXECUTE: return "execute";
  case LM_OP_BULK_INSERT: return "bulk_insert";
  case LM_OP_BACKFILL_SQL: return "backfill";
  case LM_OP__COUNT: break;
  }
  return "unknown";
}

void lm_render_table(lm_buf *b, const char *schema, const char *table) {
  if (schema && *schema) {
    lm_buf_ident(b, schema);
    lm_buf_putc(b, '.');
  }
  lm_buf_ident(b, table);
}

/* A table taken from a "table.column" path. A dot left in it can only mean
 * "schema.table", which is how SQLAlchemy reads "schema.table.column". */
static void put_path_table(lm_buf *b, const char *t) {
  const char *dot = strrchr(t, '.');
  if (!dot) {
    lm_buf_ident(b, t);
    return;
  }
  char *schema = lm_xstrndup(t, (size_t)(dot - t));
  lm_render_table(b, schema, dot + 1);
  free(schema);
}

static void put_idents(lm_buf *b, const char **names, int n) {
  for (int i = 0; i < n; i++) {
    if (i) lm_buf_puts(b, ", ");
    lm_buf_ident(b, names[i] ? names[i] : "");
  }
}

/* ---- types --------------------------------------------------------------------- */

/* SPEC §4, plus the SQLAlchemy class names an Alembic user types from habit,
 * with their standard SQL spelling; a dialect spells the others, and may
 * spell these its own way (lm_dialect.type_names). */
static const struct lm_type_pair TYPES[] = {{"integer", "INTEGER"},
                                            {"bigint", "BIGINT"},
                                            {"biginteger", "BIGINT"},
                                            {"smallint", "SMALLINT"},
                                            {"smallinteger", "SMALLINT"},
                                            {"string", "VARCHAR"},
                                            {"varchar", "VARCHAR"},
                                            {"unicode", "VARCHAR"},
                                            {"text", "TEXT"},
                                            {"unicodetext", "TEXT"},
                                            {"boolean", "BOOLEAN"},
                                            {"numeric", "NUMERIC"},
                                            {"float", NULL},
                                            {"date", "DATE"},
                                            {"time", "TIME"},
                                            {"datetime", NULL},
                                            {"timestamp", NULL},
                                            {"timestamptz", NULL},
                                            {"json", NULL},
                                            {"uuid", NULL},
                                            {"binary", NULL},
                                            {"largebinary", NULL},
                                            {NULL, NULL}};

static const struct lm_type_pair *find_type(const char *name) {
  for (const struct lm_type_pair *t = TYPES; t->from; t++)
    if (!strcmp(t->from, name)) return t;
  return NULL;
}

/* How d writes the luamig type name: its own spelling, else the standard one. */
static const char *type_spelling(const lm_dialect *d, const char *name) {
  const struct lm_type_pair *t = find_type(name);
  if (!t) return NULL;
  const char *own = lm_dialect_type_name(d, name);
  return own ? own : t->to;
}

/* Lower-cases and drops whitespace, keeping one space only between two words:
 * " Numeric( 10 , 2 )" becomes "numeric(10,2)" while "double precision" stays
 * two words and so stays unknown. Returns 0 for anything too long to be ours. */
static int normalise_type(const char *t, char *out, size_t cap) {
  size_t n = 0;
  int gap = 0;
  for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
    if (c_space(*p)) {
      gap = 1;
      continue;
    }
    if (gap && n > 0 && c_word((unsigned char)out[n - 1]) && c_word(*p)) {
      if (n + 1 >= cap) return 0;
      out[n++] = ' ';
    }
    gap = 0;
    if (n + 1 >= cap) return 0;
    out[n++] = (char)c_lower(*p);
  }
  out[n] = 0;
  return 1;
}

static int all_digits(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (!c_digit((unsigned char)*s)) return 0;
  return 1;
}

/* Splits "name(args)" in place. Returns 0 when the shape is anything else. */
static int split_args(char *norm, char **args) {
  char *open = strchr(norm, '(');
  *args = NULL;
  if (!open) return 1;
  size_t len = strlen(norm);
  if (norm[len - 1] != ')') return 0;
  norm[len - 1] = 0;
  *open = 0;
  *args = open + 1;
  return !strpbrk(*args, "()");
}

static int render_known_type(const lm_dialect *d, char *norm, lm_buf *b) {
  char *args;
  if (!split_args(norm, &args)) return 0;
  const char *plain = type_spelling(d, norm);
  if (!plain) return 0;
  if (!args) {
    lm_buf_puts(b, plain);
    return 1;
  }
  if (!strcmp(plain, "VARCHAR") && all_digits(args)) {
    lm_buf_printf(b, "VARCHAR(%s)", args);
    return 1;
  }
  if (!strcmp(norm, "numeric")) {
    char *comma = strchr(args, ',');
    if (comma) *comma = 0;
    int ok = all_digits(args) && (!comma || all_digits(comma + 1));
    if (comma) *comma = ',';
    if (!ok) return 0;
    lm_buf_printf(b, "NUMERIC(%s)", args);
    return 1;
  }
  if (!strcmp(norm, "datetime") || !strcmp(norm, "timestamp")) {
    /* datetime(timezone) here, DateTime(timezone=True) in SQLAlchemy. */
    if (!strcmp(args, "timezone") || !strcmp(args, "timezone=true")) {
      const char *tz = type_spelling(d, "timestamptz");
      if (!tz) return 0;
      lm_buf_puts(b, tz);
      return 1;
    }
    if (!strcmp(args, "timezone=false")) {
      lm_buf_puts(b, plain);
      return 1;
    }
  }
  return 0;
}

void lm_render_type(const lm_dialect *d, const char *type, lm_buf *b) {
  char norm[64];
  if (!type) return;
  if (normalise_type(type, norm, sizeof norm) && render_known_type(d, norm, b)) return;
  /* Verbatim, less the padding around it, which would only show up as
   * stray spaces inside a column definition. */
  size_t n = strlen(type);
  while (n > 0 && c_space((unsigned char)type[n - 1]))
    n--;
  while (n > 0 && c_space((unsigned char)*type))
    type++, n--;
  lm_buf_put(b, type, n);
}

int lm_type_base(const char *type, char base[96]) {
  char norm[96];
  if (!type || !normalise_type(type, norm, sizeof norm)) return 1; /* too long to judge */
  /* user-defined types: quoted or schema-qualified names are the user's */
  if (strpbrk(norm, "\".")) return 1;
  size_t n = 0;
  int depth = 0;
  for (const char *p = norm; *p; p++) {
    if (*p == '(') depth++;
    if (!depth && *p != '[' && *p != ']') base[n++] = *p;
    if (*p == ')' && depth && !--depth && p[1] && p[1] != ' ' && p[1] != '[') base[n++] = ' ';
  }
  while (n && base[n - 1] == ' ')
    n--;
  base[n] = 0;
  /* "timestamp(3) with time zone" leaves a double space */
  char *dbl;
  while ((dbl = strstr(base, "  ")))
    memmove(dbl, dbl + 1, strlen(dbl));
  return find_type(base) != NULL;
}

typedef enum int_family { FAM_NONE, FAM_INT, FAM_BIG, FAM_SMALL } int_family;

/* Which types can take their values from SERIAL or the SQLite rowid. */
static int_family integer_family(const char *type) {
  static const struct {
    const char *name;
    int_family fam;
  } fams[] = {
      {"integer", FAM_INT},    {"int", FAM_INT},
      {"int4", FAM_INT},       {"bigint", FAM_BIG},
      {"biginteger", FAM_BIG}, {"int8", FAM_BIG},
      {"smallint", FAM_SMALL}, {"smallinteger", FAM_SMALL},
      {"int2", FAM_SMALL},
  };
  char norm[64];
  if (!type || !normalise_type(type, norm, sizeof norm)) return FAM_NONE;
  for (size_t i = 0; i < sizeof fams / sizeof fams[0]; i++)
    if (!strcmp(norm, fams[i].name)) return fams[i].fam;
  return FAM_NONE;
}

/* ---- literals ----------------------------------------------------------------- */

void lm_render_hex(lm_buf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    lm_buf_putc(b, hex[c >> 4]);
    lm_buf_putc(b, hex[c & 15]);
  }
}

/* Text as the dialect writes a literal: a NUL or a backslash in it is the
 * dialect's business. */
static void put_text_literal(const lm_dialect *d, lm_buf *b, const char *s, size_t n) {
  lm_value v = {.t = LM_V_TEXT, .s = (char *)s, .len = n};
  lm_render_literal(d, &v, b);
}

static void put_bool_literal(const lm_dialect *d, lm_buf *b, int on) {
  lm_value v = {.t = LM_V_BOOL, .i = on};
  lm_render_literal(d, &v, b);
}

static void put_float(double f, lm_buf *b) {
  if (isnan(f) || isinf(f)) {
    lm_buf_puts(b, "NULL");
    return;
  }
  /* The shortest text that reads back as the same double, so a reviewer sees
   * 0.1 and not 0.10000000000000001. */
  char tmp[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, f);
    if (strtod(tmp, NULL) == f) break;
  }
  for (char *p = tmp; *p; p++)
    if (*p == ',') *p = '.'; /* a decimal-comma locale */
  lm_buf_puts(b, tmp);
  /* "1" would read back as an integer. */
  if (!strpbrk(tmp, ".e")) lm_buf_puts(b, ".0");
}

void lm_render_literal_sql(const lm_value *v, lm_buf *b) {
  switch (v->t) {
  case LM_V_NULL: break;
  case LM_V_INT: lm_buf_printf(b, "%lld", v->i); return;
  case LM_V_FLOAT: put_float(v->f, b); return;
  case LM_V_BOOL: lm_buf_puts(b, v->i ? "TRUE" : "FALSE"); return;
  case LM_V_TEXT:
    if (v->s)
      lm_buf_literal(b, v->s, v->len);
    else
      lm_buf_puts(b, "''");
    return;
  }
  lm_buf_puts(b, "NULL");
}

void lm_render_literal(const lm_dialect *d, const lm_value *v, lm_buf *b) {
  if (!lm_dialect_literal(d, v, b)) lm_render_literal_sql(v, b);
}

/* The text of a Lua number: sign, digits, fraction, exponent. Anything else
 * (inf, nan) is not trusted as SQL. */
static int number_text(const char *s) {
  int digits = 0;
  if (*s == '-' || *s == '+') s++;
  while (c_digit((unsigned char)*s))
    s++, digits++;
  if (*s == '.') {
    s++;
    while (c_digit((unsigned char)*s))
      s++, digits++;
  }
  if (!digits) return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    if (!c_digit((unsigned char)*s)) return 0;
    while (c_digit((unsigned char)*s))
      s++;
  }
  return *s == 0;
}

/* ddl: the value goes after DEFAULT in a column definition. */
static void put_default(const lm_dialect *d, lm_buf *b, const lm_default *v, int ddl) {
  const char *t = v->text ? v->text : "";
  if (v->kind == LM_DEF_SQL) t = lm_dialect_sql_spelling(d, t);
  switch (v->kind) {
  case LM_DEF_LITERAL: put_text_literal(d, b, t, strlen(t)); return;
  case LM_DEF_NUMBER:
    if (number_text(t))
      lm_buf_puts(b, t);
    else
      put_text_literal(d, b, t, strlen(t));
    return;
  case LM_DEF_BOOL: put_bool_literal(d, b, v->b); return;
  case LM_DEF_SQL:
    if (ddl && lm_dialect_default_needs_parens(d, t)) {
      lm_buf_putc(b, '(');
      lm_render_put_sql(d, b, t);
      lm_buf_putc(b, ')');
    } else {
      lm_render_put_sql(d, b, t);
    }
    return;
  case LM_DEF_NONE:
  case LM_DEF_DROP: break;
  }
  lm_buf_puts(b, "NULL");
}

static int has_default(const lm_default *v) {
  return v->kind != LM_DEF_NONE && v->kind != LM_DEF_DROP;
}

/* ---- inline parameters (--sql) --------------------------------------------------- */

/* Index just past a quoted run opened at s[i]. backslash: E'' escapes. */
static size_t skip_quoted(const char *s, size_t n, size_t i, char close, int backslash) {
  for (size_t j = i + 1; j < n; j++) {
    if (backslash && s[j] == '\\') {
      j++;
      continue;
    }
    if (s[j] == close) {
      if (close != ']' && j + 1 < n && s[j + 1] == close) {
        j++;
        continue;
      }
      return j + 1;
    }
  }
  return n;
}

static size_t skip_block_comment(const char *s, size_t n, size_t i, int nests) {
  int depth = 0;
  for (size_t j = i; j + 1 < n; j++) {
    if (s[j] == '/' && s[j + 1] == '*') {
      if (depth == 0 || nests) depth++;
      j++;
    } else if (s[j] == '*' && s[j + 1] == '/') {
      j++;
      if (--depth == 0) return j + 1;
    }
  }
  return n;
}

/* A PostgreSQL dollar quote opening at s[i] ($$ or $tag$): index just past its
 * end, or 0 when s[i] does not open one. */
static size_t skip_dollar_quote(const char *s, size_t n, size_t i) {
  size_t j = i + 1;
  if (j < n && c_digit((unsigned char)s[j])) return 0;
  while (j < n && s[j] != '$' && c_ident((unsigned char)s[j]))
    j++;
  if (j >= n || s[j] != '$') return 0;
  size_t taglen = j - i + 1;
  for (size_t k = j + 1; k + taglen <= n; k++)
    if (!memcmp(s + k, s + i, taglen)) return k + taglen;
  return n;
}

static size_t read_number(const char *s, size_t n, size_t i, long *val) {
  long v = 0;
  while (i < n && c_digit((unsigned char)s[i])) {
    if (v < 1000000) v = v * 10 + (s[i] - '0');
    i++;
  }
  *val = v;
  return i;
}

/* Where the SQL token at s[i] ends (a word or number, a quoted string or
 * name, a comment, a dollar-quoted string; else the one character), as the
 * dialect's lexis reads it. *line_comment: the token is a -- comment. */
static size_t token_end(const char *s, size_t n, size_t i, unsigned lex, int *line_comment) {
  unsigned char c = (unsigned char)s[i];
  size_t j = i + 1;
  *line_comment = 0;
  if (c_alpha(c) || c == '_' || c >= 0x80 || c_digit(c)) {
    while (j < n && c_ident((unsigned char)s[j]))
      j++;
    if ((lex & LM_LEX_E_STRINGS) && j == i + 1 && (c == 'E' || c == 'e') && j < n && s[j] == '\'')
      j = skip_quoted(s, n, j, '\'', 1);
  } else if (c == '\'') {
    j = skip_quoted(s, n, i, '\'', 0);
  } else if (c == '"' || ((lex & LM_LEX_BACKTICKS) && c == '`')) {
    j = skip_quoted(s, n, i, (char)c, 0);
  } else if ((lex & LM_LEX_BRACKETS) && c == '[') {
    j = skip_quoted(s, n, i, ']', 0);
  } else if (c == '-' && j < n && s[j] == '-') {
    while (j < n && s[j] != '\n')
      j++;
    *line_comment = 1;
  } else if (c == '/' && j < n && s[j] == '*') {
    j = skip_block_comment(s, n, i, (lex & LM_LEX_NESTED_COMMENTS) != 0);
  } else if (c == '$' && (lex & LM_LEX_DOLLAR_QUOTES) && !(j < n && c_digit((unsigned char)s[j]))) {
    size_t end = skip_dollar_quote(s, n, i);
    if (end) j = end;
  }
  return j;
}

char *lm_render_inline(const lm_dialect *d, const lm_stmt *st) {
  const char *s = st->sql ? st->sql : "";
  if (st->nparams <= 0) return lm_xstrdup(s);
  const unsigned lex = lm_dialect_lexis(d);
  const size_t n = strlen(s);
  long highest = 0; /* SQLite: a bare ? takes the highest index so far + 1 */
  lm_buf b;
  lm_buf_init(&b);
  size_t i = 0, copied = 0; /* s[copied..i) is still to be appended, in one piece */
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t j = i + 1;
    long idx = 0;
    int comment;
    if (c == '$' && j < n && c_digit((unsigned char)s[j])) {
      j = read_number(s, n, j, &idx);
    } else if (c == '?' && (lex & LM_LEX_QMARK)) {
      if (j < n && c_digit((unsigned char)s[j]))
        j = read_number(s, n, j, &idx);
      else
        idx = highest + 1;
    } else {
      j = token_end(s, n, i, lex, &comment);
    }
    if (idx > 0) {
      if (idx > highest) highest = idx;
      if (idx <= st->nparams) {
        lm_buf_put(&b, s + copied, i - copied);
        lm_render_literal(d, &st->params[idx - 1], &b);
        i = copied = j;
        continue;
      }
    }
    i = j;
  }
  lm_buf_put(&b, s + copied, n - copied);
  return lm_buf_steal(&b);
}

int lm_render_ends_in_comment(const lm_dialect *d, const char *sql, size_t n) {
  const unsigned lex = lm_dialect_lexis(d);
  int comment = 0;
  for (size_t i = 0; i < n;)
    i = token_end(sql, n, i, lex, &comment);
  return comment;
}

void lm_render_put_sql(const lm_dialect *d, lm_buf *b, const char *sql) {
  const size_t n = strlen(sql);
  lm_buf_put(b, sql, n);
  /* what follows must not be commented out */
  if (lm_render_ends_in_comment(d, sql, n)) lm_buf_putc(b, '\n');
}

/* ---- constraints ---------------------------------------------------------------- */

static const char *const FK_ACTIONS[] = {"CASCADE", "SET NULL", "SET DEFAULT", "RESTRICT",
                                         "NO ACTION"};

static int action_is(const char *v, const char *canon) {
  while (c_space((unsigned char)*v))
    v++;
  for (const char *c = canon; *c; c++) {
    if (*c == ' ') {
      if (!c_space((unsigned char)*v)) return 0;
      while (c_space((unsigned char)*v))
        v++;
    } else if (c_upper((unsigned char)*v) != *c) {
      return 0;
    } else {
      v++;
    }
  }
  while (c_space((unsigned char)*v))
    v++;
  return *v == 0;
}

/* The canonical spelling of the action v, or NULL. */
static const char *fk_action(const char *v) {
  for (size_t k = 0; k < sizeof FK_ACTIONS / sizeof FK_ACTIONS[0]; k++)
    if (action_is(v, FK_ACTIONS[k])) return FK_ACTIONS[k];
  return NULL;
}

int lm_fk_action_valid(const char *v) { return fk_action(v) != NULL; }

/* Checked against a fixed list because these words go into the SQL text. */
static int put_fk_actions(lm_buf *b, const char *ondelete, const char *onupdate) {
  const char *vals[2] = {ondelete, onupdate};
  static const char *const opt[2] = {"ondelete", "onupdate"};
  static const char *const sql[2] = {" ON DELETE ", " ON UPDATE "};
  for (int i = 0; i < 2; i++) {
    if (!vals[i]) continue;
    const char *canon = fk_action(vals[i]);
    if (!canon)
      return lm_error_set(LM_EUSAGE,
                          "invalid %s value '%s'; use CASCADE, SET NULL, SET DEFAULT, RESTRICT "
                          "or NO ACTION",
                          opt[i], vals[i]);
    lm_buf_puts(b, sql[i]);
    lm_buf_puts(b, canon);
  }
  return 0;
}

/* FOREIGN KEY (…) REFERENCES …. Without c->ref_table, ref_cols are
 * "table.column" paths (op.foreign_key's form) that must agree on the table. */
static int put_foreign_key(lm_buf *b, const lm_constraint *c, const char *table) {
  if (c->ncols < 1 || c->ncols != c->nref)
    return lm_error_set(LM_EUSAGE,
                        "foreign key on table \"%s\" has %d local and %d referenced columns", table,
                        c->ncols, c->nref);
  const char **cols = lm_xcalloc((size_t)c->nref, sizeof *cols);
  char *path_table = NULL;
  int rc = 0;
  for (int i = 0; i < c->nref && !rc; i++) {
    const char *r = c->ref_cols[i] ? c->ref_cols[i] : "";
    if (c->ref_table) {
      cols[i] = r;
      continue;
    }
    const char *dot = strrchr(r, '.');
    if (!dot || dot == r || !dot[1]) {
      rc = lm_error_set(LM_EUSAGE,
                        "foreign key on table \"%s\": reference '%s' is not \"table.column\"",
                        table, r);
      break;
    }
    size_t tl = (size_t)(dot - r);
    if (!path_table)
      path_table = lm_xstrndup(r, tl);
    else if (strlen(path_table) != tl || memcmp(path_table, r, tl))
      rc = lm_error_set(LM_EUSAGE,
                        "foreign key on table \"%s\" references both '%s' and '%.*s'; one "
                        "foreign key points at one table",
                        table, path_table, (int)tl, r);
    cols[i] = dot + 1;
  }
  if (!rc) {
    lm_buf_puts(b, "FOREIGN KEY (");
    put_idents(b, c->cols, c->ncols);
    lm_buf_puts(b, ") REFERENCES ");
    if (c->ref_table)
      lm_buf_ident(b, c->ref_table);
    else
      put_path_table(b, path_table);
    lm_buf_puts(b, " (");
    put_idents(b, cols, c->nref);
    lm_buf_putc(b, ')');
    rc = put_fk_actions(b, c->ondelete, c->onupdate);
  }
  free(path_table);
  free(cols);
  return rc;
}

/* The part after CONSTRAINT "name", shared by create_table and the
 * create_* directives. */
static int put_constraint_body(const lm_dialect *d, lm_buf *b, lm_con_kind kind,
                               const lm_constraint *c, const char *table) {
  switch (kind) {
  case LM_CON_PK:
  case LM_CON_UNIQUE:
    lm_buf_puts(b, kind == LM_CON_PK ? "PRIMARY KEY (" : "UNIQUE (");
    put_idents(b, c->cols, c->ncols);
    lm_buf_putc(b, ')');
    return 0;
  case LM_CON_FK: return put_foreign_key(b, c, table);
  case LM_CON_CHECK:
    lm_buf_puts(b, "CHECK (");
    lm_render_put_sql(d, b, c->expr ? c->expr : "");
    lm_buf_putc(b, ')');
    return 0;
  }
  return lm_error_set(LM_EUSAGE, "unknown constraint kind %d", (int)kind);
}

static void put_constraint_name(lm_buf *b, const char *name) {
  if (!name) return;
  lm_buf_puts(b, "CONSTRAINT ");
  lm_buf_ident(b, name);
  lm_buf_putc(b, ' ');
}

/* ---- columns ------------------------------------------------------------------- */

typedef struct col_ctx {
  int pk;              /* part of the primary key: NOT NULL */
  int auto_pk;         /* the single integer key, its values from the database */
  int inline_pk;       /* PRIMARY KEY written in the column itself */
  const char *pk_name; /* for the inline key */
  int inline_unique;
  int inline_ref;
} col_ctx;

/* Alembic's "auto": an integer key counts itself unless a default or a
 * foreign key says its values come from elsewhere. */
static int auto_increments(const lm_column *c) {
  if (!integer_family(c->type)) return 0;
  if (c->autoincrement == 1) return 1;
  return c->autoincrement == -1 && !has_default(&c->server_default) && !c->ref_table;
}

/* Whether a table-level foreign key of create_table op takes in column col:
 * then, as for a column's own references, its values come from elsewhere. */
static int fk_covers(const lm_op *op, const char *col) {
  for (int i = 0; i < op->ncons; i++)
    if (op->cons[i].kind == LM_CON_FK)
      for (int j = 0; j < op->cons[i].ncols; j++)
        if (op->cons[i].cols[j] && strcmp(op->cons[i].cols[j], col) == 0) return 1;
  return 0;
}

/* REFERENCES "t" ("c") ON …, from a column's references = "table.column". */
static int put_column_references(lm_buf *b, const lm_column *c) {
  lm_buf_puts(b, "REFERENCES ");
  put_path_table(b, c->ref_table);
  if (c->ref_column) {
    lm_buf_puts(b, " (");
    lm_buf_ident(b, c->ref_column);
    lm_buf_putc(b, ')');
  }
  return put_fk_actions(b, c->ondelete, c->onupdate);
}

static int put_column(const lm_dialect *d, lm_buf *b, const lm_column *c, const col_ctx *x,
                      const char *table) {
  if (!c->name) return lm_error_set(LM_EUSAGE, "a column of table \"%s\" has no name", table);
  lm_buf_ident(b, c->name);
  if (x->auto_pk) {
    lm_buf_putc(b, ' ');
    lm_buf_puts(b, lm_dialect_auto_type(d, (int)integer_family(c->type) - 1));
  } else if (c->type && *c->type) {
    lm_buf_putc(b, ' ');
    lm_render_type(d, c->type, b);
  }
  if (c->collation) {
    lm_buf_puts(b, " COLLATE ");
    lm_buf_ident(b, c->collation);
  }
  if (!c->nullable || x->pk) lm_buf_puts(b, " NOT NULL");
  if (has_default(&c->server_default)) {
    lm_buf_puts(b, " DEFAULT ");
    put_default(d, b, &c->server_default, 1);
  }
  if (x->inline_pk) {
    lm_buf_putc(b, ' ');
    put_constraint_name(b, x->pk_name);
    lm_buf_puts(b, "PRIMARY KEY");
    const char *autoinc = lm_dialect_autoincrement(d);
    if (autoinc && x->auto_pk && c->autoincrement == 1) {
      lm_buf_putc(b, ' ');
      lm_buf_puts(b, autoinc);
    }
  }
  if (x->inline_unique) lm_buf_puts(b, " UNIQUE");
  if (x->inline_ref && c->ref_table) {
    lm_buf_putc(b, ' ');
    return put_column_references(b, c);
  }
  return 0;
}

static void add_comment(const lm_dialect *d, const char *table, const char *col,
                        const char *comment, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "COMMENT ON COLUMN ");
  lm_buf_ident(&b, table);
  lm_buf_putc(&b, '.');
  lm_buf_ident(&b, col);
  lm_buf_puts(&b, " IS ");
  if (comment)
    put_text_literal(d, &b, comment, strlen(comment));
  else
    lm_buf_puts(&b, "NULL");
  emit(out, &b);
}

static void add_column_index(const char *prefix, int unique, const char *table, const char *col,
                             lm_stmts *out) {
  lm_buf b, name;
  lm_buf_init(&b);
  lm_buf_init(&name);
  lm_buf_printf(&name, "%s_%s_%s", prefix, table, col);
  lm_buf_puts(&b, unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
  lm_buf_ident(&b, name.s);
  lm_buf_puts(&b, " ON ");
  lm_buf_ident(&b, table);
  lm_buf_puts(&b, " (");
  lm_buf_ident(&b, col);
  lm_buf_putc(&b, ')');
  lm_buf_free(&name);
  emit(out, &b);
}

/* The statements a column asks for beyond its definition, in Alembic's
 * order: indexes, then comments. index + unique is one unique index, as in
 * SQLAlchemy. added: the columns come by ADD COLUMN, which on a dialect
 * without LM_RENDER_ADD_UNIQUE (SQLite) refuses UNIQUE, so there the
 * constraint becomes a unique index. */
static void add_column_extras(const lm_dialect *d, const char *table, const lm_column *cols, int n,
                              int added, lm_stmts *out) {
  int add_unique = lm_dialect_render_flag(d, LM_RENDER_ADD_UNIQUE);
  for (int i = 0; i < n; i++) {
    if (cols[i].index)
      add_column_index("ix", cols[i].unique, table, cols[i].name, out);
    else if (cols[i].unique && added && !add_unique)
      add_column_index("uq", 1, table, cols[i].name, out);
  }
  if (!lm_dialect_render_flag(d, LM_RENDER_COMMENTS)) return; /* SQLite has no column comments */
  for (int i = 0; i < n; i++)
    if (cols[i].comment) add_comment(d, table, cols[i].name, cols[i].comment, out);
}

/* ---- operations ----------------------------------------------------------------- */

const lm_column *lm_op_find_column(const lm_op *op, const char *name) {
  for (int i = 0; i < op->ncols; i++)
    if (op->cols[i].name && !strcmp(op->cols[i].name, name)) return &op->cols[i];
  return NULL;
}

static int in_list(const char **names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (names[i] && name && !strcmp(names[i], name)) return 1;
  return 0;
}

static void next_item(lm_buf *b, int *items) {
  if ((*items)++) lm_buf_puts(b, ", ");
}

static int render_create_table(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  const lm_constraint *pkc = NULL;
  for (int i = 0; i < op->ncons; i++) {
    if (op->cons[i].kind != LM_CON_PK) continue;
    if (pkc)
      return lm_error_set(LM_EUSAGE, "create_table \"%s\" has more than one primary key",
                          op->table);
    pkc = &op->cons[i];
  }
  /* An explicit primary_key constraint wins over the columns' flags: it may
   * name the key and set the column order. */
  int cap = op->ncols + (pkc ? pkc->ncols : 0) + 1;
  const char **pk = lm_xcalloc((size_t)cap, sizeof *pk);
  int npk = 0;
  const char *pk_name = NULL;
  if (pkc) {
    for (int i = 0; i < pkc->ncols; i++)
      pk[npk++] = pkc->cols[i];
    pk_name = pkc->name;
  } else {
    for (int i = 0; i < op->ncols; i++)
      if (op->cols[i].primary_key) pk[npk++] = op->cols[i].name;
  }
  const lm_column *auto_col = NULL;
  if (npk == 1 && pk[0]) {
    const lm_column *c = lm_op_find_column(op, pk[0]);
    if (c && auto_increments(c) && !(c->autoincrement == -1 && fk_covers(op, c->name)))
      auto_col = c;
  }
  /* SQLite's rowid alias and AUTOINCREMENT need the key inside the column. */
  int inline_pk = auto_col && lm_dialect_render_flag(d, LM_RENDER_INLINE_AUTO_PK);

  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TABLE ");
  lm_buf_ident(&b, op->table);
  lm_buf_puts(&b, " (");
  int rc = 0, items = 0;
  for (int i = 0; i < op->ncols && !rc; i++) {
    const lm_column *c = &op->cols[i];
    col_ctx x = {0};
    x.pk = in_list(pk, npk, c->name);
    x.auto_pk = c == auto_col;
    x.inline_pk = x.auto_pk && inline_pk;
    x.pk_name = pk_name;
    next_item(&b, &items);
    rc = put_column(d, &b, c, &x, op->table);
  }
  if (!rc && npk > 0 && !inline_pk) {
    next_item(&b, &items);
    put_constraint_name(&b, pk_name);
    lm_buf_puts(&b, "PRIMARY KEY (");
    put_idents(&b, pk, npk);
    lm_buf_putc(&b, ')');
  }
  for (int i = 0; i < op->ncols && !rc; i++) {
    const lm_column *c = &op->cols[i];
    if (c->unique && !c->index) {
      next_item(&b, &items);
      lm_buf_puts(&b, "UNIQUE (");
      lm_buf_ident(&b, c->name);
      lm_buf_putc(&b, ')');
    }
    if (c->ref_table) {
      next_item(&b, &items);
      lm_buf_puts(&b, "FOREIGN KEY (");
      lm_buf_ident(&b, c->name);
      lm_buf_puts(&b, ") ");
      rc = put_column_references(&b, c);
    }
  }
  for (int i = 0; i < op->ncons && !rc; i++) {
    const lm_constraint *c = &op->cons[i];
    if (c->kind == LM_CON_PK) continue;
    next_item(&b, &items);
    put_constraint_name(&b, c->name);
    rc = put_constraint_body(d, &b, c->kind, c, op->table);
  }
  free(pk);
  if (rc) {
    lm_buf_free(&b);
    return rc;
  }
  lm_buf_putc(&b, ')');
  emit(out, &b);
  add_column_extras(d, op->table, op->cols, op->ncols, 0, out);
  return 0;
}

static void begin_alter(lm_buf *b, const char *table) {
  lm_buf_init(b);
  lm_buf_puts(b, "ALTER TABLE ");
  lm_buf_ident(b, table);
  lm_buf_putc(b, ' ');
}

static int render_add_column(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  if (op->ncols != 1)
    return lm_error_set(LM_EUSAGE, "add_column on table \"%s\" needs exactly one column",
                        op->table);
  const lm_column *c = &op->cols[0];
  col_ctx x = {0};
  x.pk = x.inline_pk = c->primary_key;
  x.auto_pk = c->primary_key && auto_increments(c);
  x.inline_unique = c->unique && !c->index && lm_dialect_render_flag(d, LM_RENDER_ADD_UNIQUE);
  x.inline_ref = 1;
  lm_buf b;
  begin_alter(&b, op->table);
  lm_buf_puts(&b, "ADD COLUMN ");
  int rc = put_column(d, &b, c, &x, op->table);
  if (rc) {
    lm_buf_free(&b);
    return rc;
  }
  emit(out, &b);
  add_column_extras(d, op->table, c, 1, 1, out);
  return 0;
}

static void add_rename_column(const lm_op *op, lm_stmts *out) {
  lm_buf b;
  begin_alter(&b, op->table);
  lm_buf_puts(&b, "RENAME COLUMN ");
  lm_buf_ident(&b, op->name);
  lm_buf_puts(&b, " TO ");
  lm_buf_ident(&b, op->new_name);
  emit(out, &b);
}

static void begin_alter_column(lm_buf *b, const lm_op *op) {
  begin_alter(b, op->table);
  lm_buf_puts(b, "ALTER COLUMN ");
  lm_buf_ident(b, op->name);
  lm_buf_putc(b, ' ');
}

static int render_alter_column(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  lm_buf b;
  if (op->type) {
    begin_alter_column(&b, op);
    lm_buf_puts(&b, "TYPE ");
    lm_render_type(d, op->type, &b);
    if (op->using_expr) {
      lm_buf_puts(&b, " USING ");
      lm_render_put_sql(d, &b, op->using_expr);
    }
    emit(out, &b);
  }
  if (op->nullable != -1) {
    begin_alter_column(&b, op);
    lm_buf_puts(&b, op->nullable ? "DROP NOT NULL" : "SET NOT NULL");
    emit(out, &b);
  }
  if (op->server_default.kind != LM_DEF_NONE) {
    begin_alter_column(&b, op);
    if (op->server_default.kind == LM_DEF_DROP) {
      lm_buf_puts(&b, "DROP DEFAULT");
    } else {
      lm_buf_puts(&b, "SET DEFAULT ");
      put_default(d, &b, &op->server_default, 1);
    }
    emit(out, &b);
  }
  if (op->has_comment && lm_dialect_render_flag(d, LM_RENDER_COMMENTS))
    add_comment(d, op->table, op->name, op->comment, out);
  if (op->new_name) add_rename_column(op, out);
  return 0;
}

/* Index entries given as op.sql() (lower(email), name DESC) are the
 * author's SQL; every other entry is a column name, quoted whatever it holds
 * ("first name", "id); DROP TABLE x; --"). */
static void put_index_columns(const lm_dialect *d, lm_buf *b, const char **names,
                              const unsigned char *expr, int n) {
  for (int i = 0; i < n; i++) {
    const char *c = names[i] ? names[i] : "";
    if (i) lm_buf_puts(b, ", ");
    if (expr && expr[i])
      lm_render_put_sql(d, b, c);
    else
      lm_buf_ident(b, c);
  }
}

static void render_create_index(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, op->unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
  if (op->concurrently && lm_dialect_has_cap(d, LM_CAP_CONCURRENT_INDEX))
    lm_buf_puts(&b, "CONCURRENTLY ");
  if (op->if_not_exists) lm_buf_puts(&b, "IF NOT EXISTS ");
  if (op->name) {
    lm_buf_ident(&b, op->name);
    lm_buf_putc(&b, ' ');
  }
  lm_buf_puts(&b, "ON ");
  lm_buf_ident(&b, op->table);
  if (op->method) lm_buf_printf(&b, " USING %s", op->method);
  lm_buf_puts(&b, " (");
  put_index_columns(d, &b, op->names, op->name_is_expr, op->nnames);
  lm_buf_putc(&b, ')');
  for (int i = 0; i < op->ninclude; i++) {
    lm_buf_puts(&b, i ? ", " : " INCLUDE (");
    lm_buf_ident(&b, op->include[i]);
    if (i == op->ninclude - 1) lm_buf_putc(&b, ')');
  }
  if (op->where) {
    lm_buf_puts(&b, " WHERE ");
    lm_render_put_sql(d, &b, op->where);
  }
  emit(out, &b);
}

static void render_drop_index(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "DROP INDEX ");
  if (op->concurrently && lm_dialect_has_cap(d, LM_CAP_CONCURRENT_INDEX))
    lm_buf_puts(&b, "CONCURRENTLY ");
  if (op->if_exists) lm_buf_puts(&b, "IF EXISTS ");
  lm_buf_ident(&b, op->name);
  emit(out, &b);
}

static int render_add_constraint(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  if (op->ncons < 1)
    return lm_error_set(LM_EUSAGE, "%s on table \"%s\" has no constraint", lm_op_name(op->kind),
                        op->table);
  const lm_constraint *c = &op->cons[0];
  lm_con_kind kind = op->kind == LM_OP_CREATE_PK       ? LM_CON_PK
                     : op->kind == LM_OP_CREATE_UNIQUE ? LM_CON_UNIQUE
                     : op->kind == LM_OP_CREATE_FK     ? LM_CON_FK
                                                       : LM_CON_CHECK;
  lm_buf b;
  begin_alter(&b, op->table);
  lm_buf_puts(&b, "ADD ");
  put_constraint_name(&b, op->name ? op->name : c->name);
  int rc = put_constraint_body(d, &b, kind, c, op->table);
  if (rc) {
    lm_buf_free(&b);
    return rc;
  }
  if (c->not_valid && (kind == LM_CON_FK || kind == LM_CON_CHECK)) lm_buf_puts(&b, " NOT VALID");
  emit(out, &b);
  return 0;
}

static int same_keys(const lm_insert_row *a, const lm_insert_row *b) {
  if (a->n != b->n) return 0;
  for (int i = 0; i < a->n; i++)
    if (strcmp(a->keys[i], b->keys[i])) return 0;
  return 1;
}

/* Rows are grouped by key set only where they are adjacent: reordering them
 * would hand out SERIAL/rowid values in an order the author did not write. */
static void render_bulk_insert(const lm_op *op, lm_stmts *out) {
  int i = 0;
  while (i < op->nrows) {
    const lm_insert_row *first = &op->rows[i];
    int end = i + 1;
    while (end < op->nrows && same_keys(first, &op->rows[end]))
      end++;
    int ncols = first->n;
    int per = ncols > 0 ? INSERT_MAX_PARAMS / ncols : 1;
    if (per > INSERT_MAX_ROWS) per = INSERT_MAX_ROWS;
    if (per < 1) per = 1;
    for (int k = i; k < end; k += per) {
      int m = end - k < per ? end - k : per;
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_puts(&b, "INSERT INTO ");
      lm_buf_ident(&b, op->table);
      if (ncols == 0) {
        /* a row given as {}: every column takes its default */
        lm_buf_puts(&b, " DEFAULT VALUES");
        emit(out, &b);
        continue;
      }
      lm_buf_puts(&b, " (");
      put_idents(&b, first->keys, ncols);
      lm_buf_puts(&b, ") VALUES ");
      lm_value *params = lm_xcalloc((size_t)m * (size_t)ncols, sizeof *params);
      int np = 0;
      for (int r = 0; r < m; r++) {
        lm_buf_puts(&b, r ? ", (" : "(");
        for (int col = 0; col < ncols; col++) {
          params[np] = op->rows[k + r].vals[col];
          lm_buf_printf(&b, col ? ", $%d" : "$%d", ++np);
        }
        lm_buf_putc(&b, ')');
      }
      lm_stmts_add(out, lm_buf_steal(&b), params, np);
      free(params); /* shallow copies: lm_stmts_add made its own */
    }
    i = end;
  }
}

static int render_backfill(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  if (op->nset < 1)
    return lm_error_set(LM_EUSAGE, "backfill of table \"%s\" sets no column", op->table);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  lm_buf_ident(&b, op->table);
  lm_buf_puts(&b, " SET ");
  for (int i = 0; i < op->nset; i++) {
    if (i) lm_buf_puts(&b, ", ");
    lm_buf_ident(&b, op->set_cols[i] ? op->set_cols[i] : "");
    lm_buf_puts(&b, " = ");
    put_default(d, &b, &op->set_vals[i], 0);
  }
  if (op->where) {
    lm_buf_puts(&b, " WHERE ");
    lm_render_put_sql(d, &b, op->where);
  }
  emit(out, &b);
  return 0;
}

/* The record comes from Lua bindings; a missing name must be an error, not
 * a NULL dereference. */
static int check_fields(const lm_op *op) {
  const char *missing = NULL;
  int needs_table = op->kind != LM_OP_DROP_INDEX && op->kind != LM_OP_EXECUTE;
  if (needs_table && !op->table) missing = "table name";
  switch (op->kind) {
  case LM_OP_RENAME_TABLE:
    if (!op->new_name) missing = "new table name";
    break;
  case LM_OP_DROP_COLUMN:
  case LM_OP_ALTER_COLUMN:
    if (!op->name) missing = "column name";
    break;
  case LM_OP_DROP_INDEX:
    if (!op->name) missing = "index name";
    break;
  case LM_OP_DROP_CONSTRAINT:
    if (!op->name) missing = "constraint name";
    break;
  case LM_OP_EXECUTE:
    if (!op->sql) missing = "SQL text";
    break;
  default: break;
  }
  if (missing) return lm_error_set(LM_EUSAGE, "%s: missing %s", lm_op_name(op->kind), missing);
  if (op->kind == LM_OP_ALTER_COLUMN && op->using_expr && !op->type)
    return lm_error_set(LM_EUSAGE,
                        "alter_column on table \"%s\", column \"%s\": postgresql_using needs "
                        "a new type",
                        op->table, op->name);
  return 0;
}

int lm_render_common_op(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  lm_buf b;
  switch (op->kind) {
  case LM_OP_CREATE_TABLE: return render_create_table(d, op, out);
  case LM_OP_DROP_TABLE:
    lm_buf_init(&b);
    lm_buf_puts(&b, "DROP TABLE ");
    lm_buf_ident(&b, op->table);
    emit(out, &b);
    return 0;
  case LM_OP_RENAME_TABLE:
    begin_alter(&b, op->table);
    lm_buf_puts(&b, "RENAME TO ");
    lm_buf_ident(&b, op->new_name);
    emit(out, &b);
    return 0;
  case LM_OP_ADD_COLUMN: return render_add_column(d, op, out);
  case LM_OP_DROP_COLUMN:
    begin_alter(&b, op->table);
    lm_buf_puts(&b, "DROP COLUMN ");
    lm_buf_ident(&b, op->name);
    emit(out, &b);
    return 0;
  case LM_OP_ALTER_COLUMN: return render_alter_column(d, op, out);
  case LM_OP_CREATE_INDEX: render_create_index(d, op, out); return 0;
  case LM_OP_DROP_INDEX: render_drop_index(d, op, out); return 0;
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK: return render_add_constraint(d, op, out);
  case LM_OP_DROP_CONSTRAINT:
    begin_alter(&b, op->table);
    lm_buf_puts(&b, "DROP CONSTRAINT ");
    lm_buf_ident(&b, op->name);
    emit(out, &b);
    return 0;
  case LM_OP_EXECUTE: lm_stmts_add(out, lm_xstrdup(op->sql), op->params, op->nparams); return 0;
  case LM_OP_BULK_INSERT: render_bulk_insert(op, out); return 0;
  case LM_OP_BACKFILL_SQL: return render_backfill(d, op, out);
  case LM_OP__COUNT: break;
  }
  return lm_error_set(LM_EUSAGE, "unknown operation %d", (int)op->kind);
}

int lm_render(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  int n0 = out->n;
  int rc = check_fields(op);
  if (!rc) rc = lm_dialect_render(d, op, out);
  /* All or nothing: a caller never runs half of an operation. */
  if (rc)
    while (out->n > n0)
      lm_stmt_free(&out->v[--out->n]);
  return rc;
}

/* ---- pieces for move-and-copy (engine/recreate.c) ------------------------------ */

/* Move-and-copy writes new column and constraint definitions into a CREATE
 * TABLE of its own; they come from here so that they read exactly as
 * create_table and add_column would have written them. */

int lm_render_column_sql(const lm_dialect *d, const lm_column *c, const char *table, lm_buf *b) {
  col_ctx x = {0};
  x.pk = x.inline_pk = c->primary_key;
  x.auto_pk = c->primary_key && auto_increments(c);
  x.inline_ref = 1;
  return put_column(d, b, c, &x, table);
}

int lm_render_constraint_sql(const lm_dialect *d, lm_con_kind kind, const lm_constraint *c,
                             const char *name, const char *table, lm_buf *b) {
  put_constraint_name(b, name);
  return put_constraint_body(d, b, kind, c, table);
}

void lm_render_default_ddl(const lm_dialect *d, const lm_default *v, lm_buf *b) {
  put_default(d, b, v, 1);
}
