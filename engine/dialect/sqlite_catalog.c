/* SQLite's catalog: the one reader of SQLite's tables, for move-and-copy
 * (sqlite_recreate.c) and for the schema model (`luamig schema`, `check
 * --roundtrip`, autogenerate).
 *
 * SQLite keeps a table's definition only as the text of its CREATE TABLE;
 * CHECK constraints and constraint names exist nowhere else. That text is
 * read here, once, with a tokenizer that follows SQLite's own grammar and a
 * CREATE TABLE parser that keeps every clause as written (move-and-copy
 * rewrites only what an operation touches). Everything else comes from the
 * pragmas (pragma_table_xinfo, index_list, index_xinfo, foreign_key_list),
 * which describe a table the same way however its CREATE TABLE was worded:
 * a table rebuilt by move-and-copy has new text but the same pragmas. The
 * schema model reads them for every table at once: five queries whatever
 * the number of tables (sqlite_master, then each pragma joined to it). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "normalize.h"
#include "sqlite_catalog.h"

/* Locale-independent: a user's LC_CTYPE must not change how SQL is read. */
static int c_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int c_digit(int c) { return c >= '0' && c <= '9'; }
static int c_space(int c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static int c_lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
static int id_start(unsigned char c) { return c_alpha(c) || c == '_' || c >= 0x80; }
static int id_char(unsigned char c) { return id_start(c) || c_digit(c) || c == '$'; }

/* SQLite compares identifiers without regard to ASCII case. */
int lm_sqlite_ieq(const char *a, const char *b) {
  if (!a || !b) return 0;
  for (; *a && *b; a++, b++)
    if (c_lower((unsigned char)*a) != c_lower((unsigned char)*b)) return 0;
  return *a == *b;
}

/* ---- tokens ------------------------------------------------------------------ */

enum { T_ID, T_QID, T_STR, T_NUM, T_BLOB, T_LP, T_RP, T_COMMA, T_DOT, T_SEMI, T_OP, T_VAR };

typedef struct tok {
  int t;
  size_t at, len;
} tok;

typedef struct toks {
  const char *s;
  tok *v;
  int n, cap;
} toks;

/* SQLite's tokenizer, less what DDL cannot hold; blanks and comments go. */
static void tokenize(const char *s, toks *ts) {
  size_t n = strlen(s), i = 0;
  memset(ts, 0, sizeof *ts);
  ts->s = s;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t j = i + 1;
    int t = T_OP;
    if (c_space(c)) {
      while (j < n && c_space((unsigned char)s[j]))
        j++;
      i = j;
      continue;
    }
    if (c == '-' && j < n && s[j] == '-') {
      while (j < n && s[j] != '\n')
        j++;
      i = j;
      continue;
    }
    if (c == '/' && j < n && s[j] == '*') {
      j = i + 2;
      while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '/'))
        j++;
      i = j + 2 > n ? n : j + 2;
      continue;
    }
    if ((c == 'x' || c == 'X') && j < n && s[j] == '\'') {
      j = lm_sql_skip_quoted(s, n, j);
      t = T_BLOB;
    } else if (id_start(c)) {
      while (j < n && id_char((unsigned char)s[j]))
        j++;
      t = T_ID;
    } else if (c == '"' || c == '`' || c == '[') {
      j = lm_sql_skip_quoted(s, n, i);
      t = T_QID;
    } else if (c == '\'') {
      j = lm_sql_skip_quoted(s, n, i);
      t = T_STR;
    } else if (c_digit(c) || (c == '.' && j < n && c_digit((unsigned char)s[j]))) {
      int hex = c == '0' && j < n && (s[j] == 'x' || s[j] == 'X');
      while (j < n) {
        unsigned char d = (unsigned char)s[j];
        int sign = (d == '+' || d == '-') && !hex && (s[j - 1] == 'e' || s[j - 1] == 'E');
        if (!id_char(d) && d != '.' && !sign) break;
        j++;
      }
      t = T_NUM;
    } else if (c == '(') {
      t = T_LP;
    } else if (c == ')') {
      t = T_RP;
    } else if (c == ',') {
      t = T_COMMA;
    } else if (c == '.') {
      t = T_DOT;
    } else if (c == ';') {
      t = T_SEMI;
    } else if (c == '?' || c == ':' || c == '@' || c == '$') {
      while (j < n && id_char((unsigned char)s[j]))
        j++;
      t = T_VAR;
    } else if (j < n && strchr("|<>=!-", c) && strchr("|<>=", s[j])) {
      j++; /* || <= >= == != <> << >> -> */
      if (c == '-' && s[j - 1] == '>' && j < n && s[j] == '>') j++;
    }
    LM_GROW(ts->v, ts->n, ts->cap);
    ts->v[ts->n++] = (tok){t, i, j - i};
    i = j;
  }
}

static void toks_free(toks *ts) { free(ts->v); }

static int kw(const toks *ts, int i, const char *word) {
  if (i < 0 || i >= ts->n || ts->v[i].t != T_ID) return 0;
  size_t n = strlen(word);
  if (ts->v[i].len != n) return 0;
  const char *p = ts->s + ts->v[i].at;
  for (size_t k = 0; k < n; k++)
    if (c_lower((unsigned char)p[k]) != c_lower((unsigned char)word[k])) return 0;
  return 1;
}

static int is_t(const toks *ts, int i, int t) { return i >= 0 && i < ts->n && ts->v[i].t == t; }

/* Identifier text without its quotes ("a""b" is a"b). */
static char *unquote(const toks *ts, int i) {
  const char *p = ts->s + ts->v[i].at;
  size_t n = ts->v[i].len;
  if (ts->v[i].t != T_QID && ts->v[i].t != T_STR) return lm_xstrndup(p, n);
  char close = p[0] == '[' ? ']' : p[0];
  lm_buf b;
  lm_buf_init(&b);
  for (size_t k = 1; k < n; k++) {
    if (p[k] == close) {
      if (close != ']' && k + 1 < n && p[k + 1] == close) {
        lm_buf_putc(&b, close);
        k++;
        continue;
      }
      break;
    }
    lm_buf_putc(&b, p[k]);
  }
  return lm_buf_steal(&b);
}

/* Text of tokens [a, b) as written, comments between them included. */
static char *span(const toks *ts, int a, int b) {
  if (a >= b) return lm_xstrdup("");
  size_t from = ts->v[a].at, to = ts->v[b - 1].at + ts->v[b - 1].len;
  return lm_xstrndup(ts->s + from, to - from);
}

/* Index just past the parenthesised group opening at i. */
static int skip_group(const toks *ts, int i) {
  int depth = 0;
  for (; i < ts->n; i++) {
    if (ts->v[i].t == T_LP) depth++;
    if (ts->v[i].t == T_RP && --depth == 0) return i + 1;
  }
  return ts->n;
}

int lm_rc_mentions(const char *sql, const char *ident) {
  toks ts;
  tokenize(sql ? sql : "", &ts);
  int found = 0, open = 0;
  for (int i = 0; i < ts.n && !found; i++) {
    if (ts.v[i].t == T_LP) open = 1;
    if (!open || (ts.v[i].t != T_ID && ts.v[i].t != T_QID)) continue;
    char *name = unquote(&ts, i);
    found = lm_sqlite_ieq(name, ident);
    free(name);
  }
  toks_free(&ts);
  return found;
}

/* ---- a column default as ALTER TABLE ADD COLUMN sees it -------------------------- */

/* The constant starting at ts[i], as SQLite's sqlite3ValueFromExpr reads it
 * (parentheses make no node of their own; unary signs and CAST of a
 * constant are constants): 1 and *end past it, *null when its value is
 * NULL; 0 when it is no constant. top: the whole default is this one
 * token, where SQLite reads a bare word as a string. */
static int default_const(const toks *ts, int i, int top, int depth, int *end, int *null) {
  if (i >= ts->n || depth > 64) return 0;
  const tok *k = &ts->v[i];
  const char *p = ts->s + k->at;
  switch (k->t) {
  case T_LP:
    if (!default_const(ts, i + 1, 0, depth + 1, end, null) || !is_t(ts, *end, T_RP)) return 0;
    (*end)++;
    return 1;
  case T_OP:
    if (k->len != 1 || (*p != '+' && *p != '-')) return 0;
    return default_const(ts, i + 1, 0, depth + 1, end, null);
  case T_NUM:
  case T_STR:
  case T_BLOB:
    *null = 0;
    *end = i + 1;
    return 1;
  case T_QID:
    *null = 0;
    *end = i + 1;
    return top && *p == '"';
  case T_ID: break;
  default: return 0;
  }
  if (kw(ts, i, "cast") && is_t(ts, i + 1, T_LP)) {
    /* CAST(constant AS type) */
    int close = skip_group(ts, i + 1), at;
    if (!default_const(ts, i + 2, 0, depth + 1, &at, null) || !kw(ts, at, "as") || at + 2 >= close)
      return 0;
    *end = close;
    return is_t(ts, close - 1, T_RP);
  }
  *end = i + 1;
  *null = kw(ts, i, "null");
  if (*null || kw(ts, i, "true") || kw(ts, i, "false")) return 1;
  if (kw(ts, i, "current_time") || kw(ts, i, "current_date") || kw(ts, i, "current_timestamp"))
    return 0;
  return top; /* DEFAULT word is the string 'word'; inside an expression, a column */
}

lm_sqlite_default_class lm_sqlite_default_class_of(const char *sql) {
  toks ts;
  tokenize(sql ? sql : "", &ts);
  int end = 0, null = 0;
  int ok = default_const(&ts, 0, ts.n == 1, 0, &end, &null) && end == ts.n;
  toks_free(&ts);
  if (!ok) return LM_SQLITE_DEFAULT_EXPR;
  return null ? LM_SQLITE_DEFAULT_NULL : LM_SQLITE_DEFAULT_CONST;
}

/* ---- CREATE TABLE ---------------------------------------------------------------- */

typedef struct parser {
  toks ts;
  const char *table;
  int err;
} parser;

static int parse_error(parser *p, int i, const char *what) {
  if (p->err) return p->err;
  const toks *ts = &p->ts;
  if (i < ts->n)
    p->err = lm_error_set(LM_EMIGRATE,
                          "cannot read the definition of table \"%s\" for a move-and-copy: %s "
                          "near \"%.*s\"",
                          p->table ? p->table : "?", what, (int)ts->v[i].len, ts->s + ts->v[i].at);
  else
    p->err = lm_error_set(LM_EMIGRATE,
                          "cannot read the definition of table \"%s\" for a move-and-copy: %s at "
                          "its end",
                          p->table ? p->table : "?", what);
  return p->err;
}

static int is_name(const toks *ts, int i) {
  return is_t(ts, i, T_ID) || is_t(ts, i, T_QID) || is_t(ts, i, T_STR);
}

/* ON CONFLICT resolution, where the grammar allows one. */
static int conflict_clause(const toks *ts, int i) {
  if (kw(ts, i, "ON") && kw(ts, i + 1, "CONFLICT")) return i + 3;
  return i;
}

/* ( name [COLLATE x] [ASC|DESC], … ): the names. */
static int name_list(parser *p, int i, int end, char ***cols, int *n) {
  const toks *ts = &p->ts;
  *cols = NULL;
  *n = 0;
  if (!is_t(ts, i, T_LP)) return parse_error(p, i, "expected a column list");
  int close = skip_group(ts, i) - 1;
  if (close >= end || !is_t(ts, close, T_RP)) return parse_error(p, i, "unbalanced parentheses");
  int cap = 0, expect_name = 1;
  for (int k = i + 1; k < close; k++) {
    if (ts->v[k].t == T_COMMA) {
      expect_name = 1;
      continue;
    }
    if (ts->v[k].t == T_LP) {
      k = skip_group(ts, k) - 1;
      continue;
    }
    if (expect_name) {
      if (!is_name(ts, k)) return parse_error(p, k, "expected a column name");
      LM_GROW(*cols, *n, cap);
      (*cols)[(*n)++] = unquote(ts, k);
      expect_name = 0;
    }
  }
  if (*n == 0) return parse_error(p, i, "empty column list");
  return close + 1;
}

/* Tokens [a, b) in capitals, one space between them: an FK action as the
 * foreign_key_list pragma spells it. */
static char *upper_words(const toks *ts, int a, int b) {
  lm_buf w;
  lm_buf_init(&w);
  for (int k = a; k < b && k < ts->n; k++) {
    if (k > a) lm_buf_putc(&w, ' ');
    for (size_t j = 0; j < ts->v[k].len; j++) {
      char c = ts->s[ts->v[k].at + j];
      lm_buf_putc(&w, c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
    }
  }
  return lm_buf_steal(&w);
}

/* REFERENCES t [(cols)] [ON DELETE|UPDATE action | MATCH x]
 * [[NOT] DEFERRABLE [INITIALLY DEFERRED|IMMEDIATE]] */
static int fk_clause(parser *p, int i, int end, lm_rc_clause *cl) {
  const toks *ts = &p->ts;
  i++; /* REFERENCES */
  if (!is_name(ts, i) || i >= end) return parse_error(p, i, "expected the referenced table");
  cl->ref_table = unquote(ts, i++);
  if (is_t(ts, i, T_LP) && !is_t(ts, i + 1, T_RP)) {
    i = name_list(p, i, end, &cl->ref_cols, &cl->nref_cols);
    if (p->err) return p->err;
  } else if (is_t(ts, i, T_LP)) {
    i = skip_group(ts, i);
  }
  while (i < end) {
    if (kw(ts, i, "ON") && (kw(ts, i + 1, "DELETE") || kw(ts, i + 1, "UPDATE"))) {
      char **action = kw(ts, i + 1, "DELETE") ? &cl->on_delete : &cl->on_update;
      i += 2;
      int words = kw(ts, i, "SET") || kw(ts, i, "NO") ? 2 : 1;
      free(*action); /* the last one written is the one SQLite keeps */
      *action = upper_words(ts, i, i + words < end ? i + words : end);
      i += words;
    } else if (kw(ts, i, "MATCH")) {
      i += 2;
    } else if (kw(ts, i, "NOT") && kw(ts, i + 1, "DEFERRABLE")) {
      i += 2;
    } else if (kw(ts, i, "DEFERRABLE")) {
      i++;
    } else if (kw(ts, i, "INITIALLY")) {
      i += 2;
    } else {
      break;
    }
  }
  return i > end ? parse_error(p, end, "incomplete REFERENCES clause") : i;
}

static int tcons_start(const toks *ts, int i) {
  return kw(ts, i, "CONSTRAINT") || kw(ts, i, "PRIMARY") || kw(ts, i, "UNIQUE") ||
         kw(ts, i, "CHECK") || kw(ts, i, "FOREIGN");
}

static int ccons_start(const toks *ts, int i) {
  static const char *const words[] = {"CONSTRAINT", "PRIMARY", "NOT",       "NULL",
                                      "UNIQUE",     "CHECK",   "DEFAULT",   "COLLATE",
                                      "REFERENCES", "AS",      "GENERATED", NULL};
  for (int k = 0; words[k]; k++)
    if (kw(ts, i, words[k])) return 1;
  return 0;
}

/* The expression inside the group at i, without its parentheses. */
static char *group_inner(const toks *ts, int i) {
  int close = skip_group(ts, i) - 1;
  return span(ts, i + 1, close);
}

/* One constraint starting at i, of a column (table = 0) or of the table. */
static int parse_clause(parser *p, int i, int end, int table, lm_rc_clause *cl) {
  const toks *ts = &p->ts;
  int start = i;
  memset(cl, 0, sizeof *cl);
  if (kw(ts, i, "CONSTRAINT")) {
    if (!is_name(ts, i + 1) || i + 1 >= end) return parse_error(p, i, "expected a constraint name");
    cl->name = unquote(ts, i + 1);
    i += 2;
  }
  if (kw(ts, i, "PRIMARY") && kw(ts, i + 1, "KEY")) {
    cl->kind = LM_RC_PK;
    i += 2;
    if (table) {
      i = name_list(p, i, end, &cl->cols, &cl->ncols);
      if (p->err) return p->err;
    } else if (kw(ts, i, "ASC") || kw(ts, i, "DESC")) {
      i++;
    }
    i = conflict_clause(ts, i);
    if (kw(ts, i, "AUTOINCREMENT")) cl->autoincrement = 1, i++;
  } else if (kw(ts, i, "UNIQUE")) {
    cl->kind = LM_RC_UNIQUE;
    i++;
    if (table) {
      i = name_list(p, i, end, &cl->cols, &cl->ncols);
      if (p->err) return p->err;
    }
    i = conflict_clause(ts, i);
  } else if (kw(ts, i, "CHECK")) {
    cl->kind = LM_RC_CHECK;
    i++;
    if (!is_t(ts, i, T_LP)) return parse_error(p, i, "expected ( after CHECK");
    cl->expr = group_inner(ts, i);
    i = skip_group(ts, i);
  } else if (table && kw(ts, i, "FOREIGN") && kw(ts, i + 1, "KEY")) {
    cl->kind = LM_RC_FK;
    i = name_list(p, i + 2, end, &cl->cols, &cl->ncols);
    if (p->err) return p->err;
    if (!kw(ts, i, "REFERENCES")) return parse_error(p, i, "expected REFERENCES");
    i = fk_clause(p, i, end, cl);
  } else if (!table && kw(ts, i, "NOT") && kw(ts, i + 1, "NULL")) {
    cl->kind = LM_RC_NOTNULL;
    i = conflict_clause(ts, i + 2);
  } else if (!table && kw(ts, i, "NULL")) {
    cl->kind = LM_RC_NULL;
    i = conflict_clause(ts, i + 1);
  } else if (!table && kw(ts, i, "DEFAULT")) {
    cl->kind = LM_RC_DEFAULT;
    i++;
    int vstart = i;
    if (is_t(ts, i, T_LP))
      i = skip_group(ts, i);
    else if (is_t(ts, i, T_OP) && (ts->s[ts->v[i].at] == '+' || ts->s[ts->v[i].at] == '-'))
      i += 2;
    else
      i++;
    cl->expr = span(ts, vstart, i > ts->n ? ts->n : i);
  } else if (!table && kw(ts, i, "COLLATE")) {
    cl->kind = LM_RC_COLLATE;
    cl->expr = i + 1 < end ? unquote(ts, i + 1) : NULL;
    i += 2;
  } else if (!table && kw(ts, i, "REFERENCES")) {
    cl->kind = LM_RC_FK;
    i = fk_clause(p, i, end, cl);
  } else if (!table && (kw(ts, i, "AS") || (kw(ts, i, "GENERATED") && kw(ts, i + 1, "ALWAYS")))) {
    cl->kind = LM_RC_GENERATED;
    if (kw(ts, i, "GENERATED")) i += 2;
    if (!kw(ts, i, "AS") || !is_t(ts, i + 1, T_LP)) return parse_error(p, i, "expected AS (…)");
    cl->expr = group_inner(ts, i + 1);
    i = skip_group(ts, i + 1);
    if (kw(ts, i, "STORED") || kw(ts, i, "VIRTUAL")) i++;
  } else {
    return parse_error(p, i,
                       table ? "expected a table constraint" : "expected a column constraint");
  }
  if (p->err) return p->err;
  if (i > end) return parse_error(p, end, "incomplete constraint");
  cl->text = span(ts, start, i);
  return i;
}

static void clause_free(lm_rc_clause *cl) {
  free(cl->name);
  free(cl->text);
  for (int i = 0; i < cl->ncols; i++)
    free(cl->cols[i]);
  free(cl->cols);
  free(cl->ref_table);
  for (int i = 0; i < cl->nref_cols; i++)
    free(cl->ref_cols[i]);
  free(cl->ref_cols);
  free(cl->on_delete);
  free(cl->on_update);
  free(cl->expr);
}

static void column_free(lm_rc_column *c) {
  free(c->name);
  free(c->name_sql);
  free(c->type);
  free(c->text);
  for (int i = 0; i < c->nclauses; i++)
    clause_free(&c->clauses[i]);
  free(c->clauses);
}

void lm_rc_create_free(lm_rc_create *c) {
  if (!c) return;
  free(c->table);
  for (int i = 0; i < c->ncols; i++)
    column_free(&c->cols[i]);
  free(c->cols);
  for (int i = 0; i < c->ncons; i++)
    clause_free(&c->cons[i]);
  free(c->cons);
  free(c->options);
  memset(c, 0, sizeof *c);
}

/* One comma-separated item [a, b): a column, or table constraints (which
 * SQLite also accepts one after another without a comma). */
static int parse_item(parser *p, int a, int b, lm_rc_create *out, int *capcols, int *capcons) {
  const toks *ts = &p->ts;
  if (a >= b) return parse_error(p, a, "empty definition");
  if (tcons_start(ts, a)) {
    while (a < b && !p->err) {
      lm_rc_clause cl;
      int next = parse_clause(p, a, b, 1, &cl);
      if (p->err) {
        clause_free(&cl);
        break;
      }
      LM_GROW(out->cons, out->ncons, *capcons);
      out->cons[out->ncons++] = cl;
      a = next;
    }
    return p->err;
  }
  if (!is_name(ts, a)) return parse_error(p, a, "expected a column name");
  LM_GROW(out->cols, out->ncols, *capcols);
  lm_rc_column *c = &out->cols[out->ncols++];
  memset(c, 0, sizeof *c);
  c->name = unquote(ts, a);
  c->name_sql = span(ts, a, a + 1);
  int i = a + 1;
  while (i < b && !ccons_start(ts, i))
    i = is_t(ts, i, T_LP) ? skip_group(ts, i) : i + 1;
  c->type = span(ts, a + 1, i);
  c->text = span(ts, a, b);
  int cap = 0;
  while (i < b && !p->err) {
    lm_rc_clause cl;
    int next = parse_clause(p, i, b, 0, &cl);
    if (p->err) {
      clause_free(&cl);
      break;
    }
    LM_GROW(c->clauses, c->nclauses, cap);
    c->clauses[c->nclauses++] = cl;
    i = next;
  }
  return p->err;
}

int lm_rc_parse_create(const char *sql, lm_rc_create *out) {
  memset(out, 0, sizeof *out);
  parser p;
  memset(&p, 0, sizeof p);
  tokenize(sql ? sql : "", &p.ts);
  const toks *ts = &p.ts;
  int i = 0;
  if (!kw(ts, i, "CREATE")) parse_error(&p, i, "expected CREATE");
  i++;
  if (kw(ts, i, "TEMP") || kw(ts, i, "TEMPORARY")) i++;
  if (!p.err && !kw(ts, i, "TABLE")) parse_error(&p, i, "expected TABLE");
  i++;
  if (kw(ts, i, "IF") && kw(ts, i + 1, "NOT") && kw(ts, i + 2, "EXISTS")) i += 3;
  if (!p.err && is_name(ts, i) && is_t(ts, i + 1, T_DOT)) i += 2; /* schema. */
  if (!p.err && !is_name(ts, i)) parse_error(&p, i, "expected the table name");
  if (!p.err) {
    out->table = unquote(ts, i);
    p.table = out->table;
    i++;
  }
  if (!p.err && !is_t(ts, i, T_LP))
    parse_error(&p, i, "expected ( (CREATE TABLE … AS SELECT is not supported)");
  int close = p.err ? 0 : skip_group(ts, i) - 1;
  if (!p.err && !is_t(ts, close, T_RP)) parse_error(&p, i, "unbalanced parentheses");
  int capcols = 0, capcons = 0;
  if (!p.err) {
    int a = i + 1;
    for (int k = a; k <= close && !p.err; k++) {
      if (is_t(ts, k, T_LP)) {
        k = skip_group(ts, k) - 1;
        continue;
      }
      if (k == close || is_t(ts, k, T_COMMA)) {
        parse_item(&p, a, k, out, &capcols, &capcons);
        a = k + 1;
      }
    }
  }
  if (!p.err && out->ncols == 0) parse_error(&p, close, "no column");
  if (!p.err) {
    int end = ts->n;
    while (end > close + 1 && is_t(ts, end - 1, T_SEMI))
      end--;
    out->options = span(ts, close + 1, end);
  }
  toks_free(&p.ts);
  if (p.err) lm_rc_create_free(out);
  return p.err;
}

/* ---- reflection ---------------------------------------------------------------- */

static int fetch(const lm_dialect *d, lm_conn *c, const char *sql, const char *param, lm_rows *r) {
  int rc = lm_rows_query(d, c, sql, param, r);
  if (rc) lm_error_prefix("reading the table for a move-and-copy");
  return rc;
}

static char **split_unit(const char *s, int *n) {
  char **v = NULL;
  int cap = 0;
  *n = 0;
  if (!s) return NULL;
  for (;;) {
    const char *e = strchr(s, '\x1f');
    LM_GROW(v, *n, cap);
    v[(*n)++] = e ? lm_xstrndup(s, (size_t)(e - s)) : lm_xstrdup(s);
    if (!e) break;
    s = e + 1;
  }
  return v;
}

int lm_rc_table_from_sql(const char *sql, lm_rc_table **out) {
  *out = NULL;
  lm_rc_table *t = lm_xcalloc(1, sizeof *t);
  int rc = lm_rc_parse_create(sql, &t->def);
  if (rc) {
    free(t);
    return rc;
  }
  t->name = lm_xstrdup(t->def.table);
  t->sql = lm_xstrdup(sql);
  t->generated = lm_xcalloc((size_t)t->def.ncols + 1, sizeof *t->generated);
  for (int i = 0; i < t->def.ncols; i++)
    for (int k = 0; k < t->def.cols[i].nclauses; k++)
      if (t->def.cols[i].clauses[k].kind == LM_RC_GENERATED) t->generated[i] = 1;
  *out = t;
  return 0;
}

void lm_rc_table_free(lm_rc_table *t) {
  if (!t) return;
  free(t->name);
  free(t->sql);
  lm_rc_create_free(&t->def);
  free(t->generated);
  for (int i = 0; i < t->nidx; i++) {
    free(t->idx[i].name);
    free(t->idx[i].sql);
    for (int k = 0; k < t->idx[i].ncols; k++)
      free(t->idx[i].cols[k]);
    free(t->idx[i].cols);
  }
  free(t->idx);
  for (int i = 0; i < t->ntrg; i++)
    free(t->trg[i].name), free(t->trg[i].sql);
  free(t->trg);
  for (int i = 0; i < t->nfkin; i++)
    free(t->fkin[i].table), free(t->fkin[i].from), free(t->fkin[i].to);
  free(t->fkin);
  free(t);
}

/* What the parser read must be what SQLite reads: same columns, same order,
 * same generated columns, as many foreign keys. */
static int cross_check(const lm_rc_table *t, const lm_rows *xinfo, const lm_rows *fks) {
  int ok = xinfo->n == t->def.ncols;
  for (int i = 0; ok && i < xinfo->n; i++) {
    const char *hidden = lm_rows_cell(xinfo, i, 1);
    int gen = hidden && (!strcmp(hidden, "2") || !strcmp(hidden, "3"));
    ok = lm_sqlite_ieq(lm_rows_cell(xinfo, i, 0), t->def.cols[i].name) && gen == t->generated[i];
  }
  int nfk = 0;
  for (int i = 0; i < t->def.ncons; i++)
    nfk += t->def.cons[i].kind == LM_RC_FK;
  for (int i = 0; i < t->def.ncols; i++)
    for (int k = 0; k < t->def.cols[i].nclauses; k++)
      nfk += t->def.cols[i].clauses[k].kind == LM_RC_FK;
  if (ok && fks->n > 0 && lm_rows_cell(fks, 0, 0)) ok = nfk == atoi(lm_rows_cell(fks, 0, 0));
  if (!ok)
    return lm_error_set(LM_EMIGRATE,
                        "cannot read the definition of table \"%s\" for a move-and-copy: what "
                        "luamig reads differs from what SQLite reports (pragma_table_xinfo); "
                        "definition: %s",
                        t->name, t->sql);
  return 0;
}

int lm_rc_reflect(const lm_dialect *d, lm_conn *c, const char *table, lm_rc_table **out) {
  *out = NULL;
  lm_rows r;
  int rc = fetch(d, c,
                 "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name = $1 COLLATE "
                 "NOCASE",
                 table, &r);
  if (rc) return rc;
  if (r.n == 0 || !lm_rows_cell(&r, 0, 1)) {
    lm_rows_free(&r);
    return lm_error_set(LM_EMIGRATE, "table \"%s\" does not exist", table);
  }
  lm_rc_table *t = NULL;
  rc = lm_rc_table_from_sql(lm_rows_cell(&r, 0, 1), &t);
  if (!rc) {
    free(t->name);
    t->name = lm_xstrdup(lm_rows_cell(&r, 0, 0));
  }
  lm_rows_free(&r);
  if (rc) return rc;

  lm_rows xinfo = {0}, fks = {0};
  rc = fetch(d, c, "SELECT name, hidden FROM pragma_table_xinfo($1) ORDER BY cid", t->name, &xinfo);
  if (!rc)
    rc = fetch(d, c, "SELECT count(DISTINCT id) FROM pragma_foreign_key_list($1)", t->name, &fks);
  if (!rc) rc = cross_check(t, &xinfo, &fks);
  lm_rows_free(&xinfo);
  lm_rows_free(&fks);

  /* Indexes in the order they were made (sqlite_master's rowid), with their
   * key columns ("" for an expression), unit-separator-joined. */
  if (!rc)
    rc = fetch(d, c,
               "SELECT il.name, il.\"unique\", il.origin, il.partial, m.sql, "
               "(SELECT group_concat(coalesce(x.name, ''), char(31)) FROM "
               "(SELECT name FROM pragma_index_xinfo(il.name) WHERE key = 1 ORDER BY seqno) x) "
               "FROM pragma_index_list($1) il "
               "LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = il.name "
               "ORDER BY m.rowid, il.name",
               t->name, &r);
  if (!rc) {
    t->idx = lm_xcalloc((size_t)r.n + 1, sizeof *t->idx);
    for (int i = 0; i < r.n; i++) {
      lm_rc_index *x = &t->idx[t->nidx++];
      x->name = lm_xstrdup(lm_rows_cell(&r, i, 0) ? lm_rows_cell(&r, i, 0) : "");
      x->unique = lm_rows_cell(&r, i, 1) && atoi(lm_rows_cell(&r, i, 1));
      snprintf(x->origin, sizeof x->origin, "%s",
               lm_rows_cell(&r, i, 2) ? lm_rows_cell(&r, i, 2) : "c");
      x->partial = lm_rows_cell(&r, i, 3) && atoi(lm_rows_cell(&r, i, 3));
      x->sql = lm_rows_cell(&r, i, 4) ? lm_xstrdup(lm_rows_cell(&r, i, 4)) : NULL;
      x->cols = split_unit(lm_rows_cell(&r, i, 5), &x->ncols);
    }
    lm_rows_free(&r);
  }
  if (!rc)
    rc = fetch(d, c,
               "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = $1 "
               "COLLATE NOCASE ORDER BY rowid",
               t->name, &r);
  if (!rc) {
    t->trg = lm_xcalloc((size_t)r.n + 1, sizeof *t->trg);
    for (int i = 0; i < r.n; i++, t->ntrg++) {
      t->trg[i].name = lm_xstrdup(lm_rows_cell(&r, i, 0) ? lm_rows_cell(&r, i, 0) : "");
      t->trg[i].sql = lm_xstrdup(lm_rows_cell(&r, i, 1) ? lm_rows_cell(&r, i, 1) : "");
    }
    lm_rows_free(&r);
  }
  if (!rc)
    rc = fetch(d, c,
               "SELECT m.name, f.\"from\", coalesce(f.\"to\", '') FROM sqlite_master m "
               "JOIN pragma_foreign_key_list(m.name) f "
               "WHERE m.type = 'table' AND f.\"table\" = $1 COLLATE NOCASE "
               "ORDER BY m.name, f.id, f.seq",
               t->name, &r);
  if (!rc) {
    t->fkin = lm_xcalloc((size_t)r.n + 1, sizeof *t->fkin);
    for (int i = 0; i < r.n; i++, t->nfkin++) {
      t->fkin[i].table = lm_xstrdup(lm_rows_cell(&r, i, 0) ? lm_rows_cell(&r, i, 0) : "");
      t->fkin[i].from = lm_xstrdup(lm_rows_cell(&r, i, 1) ? lm_rows_cell(&r, i, 1) : "");
      t->fkin[i].to = lm_xstrdup(lm_rows_cell(&r, i, 2) ? lm_rows_cell(&r, i, 2) : "");
    }
    lm_rows_free(&r);
  }
  if (rc) {
    lm_rc_table_free(t);
    return rc;
  }
  *out = t;
  return 0;
}

/* ---- the schema model ------------------------------------------------------------ */

/* Index of the ')' closing the '(' at token i, or ts->n. */
static int group_close(const toks *ts, int i) {
  int depth = 0;
  for (int j = i; j < ts->n; j++) {
    if (ts->v[j].t == T_LP) depth++;
    if (ts->v[j].t == T_RP && --depth == 0) return j;
  }
  return ts->n;
}

/* "(x)" → "x" as long as the outer parentheses wrap everything: SQLite keeps
 * a DEFAULT as written, and "(0)" and "0" are the same default. */
static void strip_parens(char *s) {
  for (;;) {
    size_t n = strlen(s);
    toks ts;
    tokenize(s, &ts);
    int whole = n >= 2 && ts.n >= 2 && ts.v[0].t == T_LP && ts.v[0].at == 0 &&
                group_close(&ts, 0) == ts.n - 1 && ts.v[ts.n - 1].at == n - 1;
    toks_free(&ts);
    if (!whole) return;
    memmove(s, s + 1, n - 2);
    s[n - 2] = 0;
  }
}

/* SQLite keeps a declared type as written: "varchar (20)" and "VARCHAR(20)"
 * are the same type. */
static char *norm_type(const char *t) {
  char *s = lm_catalog_norm_sql(t, strlen(t));
  size_t w = 0;
  for (size_t i = 0; s[i]; i++) {
    char ch = s[i];
    if (ch == ' ' && (s[i + 1] == '(' || s[i + 1] == ')' || s[i + 1] == ',')) continue;
    if (ch == ' ' && w > 0 && s[w - 1] == ',') continue;
    s[w++] = (char)toupper((unsigned char)ch);
  }
  s[w] = 0;
  return s;
}

/* Tokens [a, b) as written, normalised (lm_catalog_norm_sql). */
static char *norm_span(const toks *ts, int a, int b) {
  char *raw = span(ts, a, b);
  char *out = lm_catalog_norm_sql(raw, strlen(raw));
  free(raw);
  return out;
}

/* ---- what the CREATE TABLE text adds to the pragmas ---------------------------------- */

typedef struct named_con {
  int kind;
  char *name; /* NULL for a CHECK without a name */
  char **cols;
  int ncols;
  char *expr; /* CHECK */
  int used;
} named_con;

/* A foreign key as the CREATE TABLE text writes it, named or not: the
 * foreign_key_list pragma reports them without their names, so the name of
 * each is found by matching the two (fk_name). */
typedef struct fk_text {
  char *name; /* NULL: no CONSTRAINT name */
  char **cols, **ref_cols;
  int ncols, nref_cols;
  char *ref_table;
  const char *on_delete, *on_update; /* as the pragma spells them */
  int used;
} fk_text;

typedef struct col_coll {
  char *col, *coll;
} col_coll;

typedef struct table_text {
  named_con *v;
  int n, cap;
  fk_text *fks; /* in the order of the text */
  int nfks, capfks;
  col_coll *colls; /* the columns' COLLATE clauses */
  int ncolls, capcolls;
} table_text;

static void add_named(table_text *tt, int kind, const char *name, char *const *cols, int ncols,
                      const char *expr) {
  LM_GROW(tt->v, tt->n, tt->cap);
  char **c = lm_xcalloc((size_t)ncols + 1, sizeof *c);
  for (int i = 0; i < ncols; i++)
    c[i] = lm_xstrdup(cols[i]);
  tt->v[tt->n++] = (named_con){kind,
                               name ? lm_xstrdup(name) : NULL,
                               c,
                               ncols,
                               expr ? lm_catalog_norm_sql(expr, strlen(expr)) : NULL,
                               0};
}

static void free_strv(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static char **copy_names(char *const *v, int n) {
  char **c = lm_xcalloc((size_t)n + 1, sizeof *c);
  for (int i = 0; i < n; i++)
    c[i] = lm_xstrdup(v[i]);
  return c;
}

/* The pragma's word for an action (SQLite's own spelling, which the
 * parser's capitals match), NO ACTION when the text gives none. */
static const char *pragma_action(const char *a) {
  static const char *const known[] = {"SET NULL", "SET DEFAULT", "CASCADE",
                                      "RESTRICT", "NO ACTION",   NULL};
  for (int i = 0; a && known[i]; i++)
    if (strcmp(a, known[i]) == 0) return known[i];
  return "NO ACTION";
}

/* cl, a REFERENCES clause of column col or (col NULL) a FOREIGN KEY. */
static void add_fk(table_text *tt, const lm_rc_clause *cl, const char *col) {
  LM_GROW(tt->fks, tt->nfks, tt->capfks);
  fk_text *f = &tt->fks[tt->nfks++];
  memset(f, 0, sizeof *f);
  f->name = cl->name ? lm_xstrdup(cl->name) : NULL;
  if (col) {
    f->cols = copy_names((char *const *)&col, 1);
    f->ncols = 1;
  } else {
    f->cols = copy_names(cl->cols, cl->ncols);
    f->ncols = cl->ncols;
  }
  f->ref_cols = copy_names(cl->ref_cols, cl->nref_cols);
  f->nref_cols = cl->nref_cols;
  f->ref_table = lm_xstrdup(cl->ref_table ? cl->ref_table : "");
  f->on_delete = pragma_action(cl->on_delete);
  f->on_update = pragma_action(cl->on_update);
}

static void table_text_free(table_text *tt) {
  for (int i = 0; i < tt->n; i++) {
    free(tt->v[i].name);
    for (int j = 0; j < tt->v[i].ncols; j++)
      free(tt->v[i].cols[j]);
    free(tt->v[i].cols);
    free(tt->v[i].expr);
  }
  free(tt->v);
  for (int i = 0; i < tt->nfks; i++) {
    fk_text *f = &tt->fks[i];
    free(f->name);
    free_strv(f->cols, f->ncols);
    free_strv(f->ref_cols, f->nref_cols);
    free(f->ref_table);
  }
  free(tt->fks);
  for (int i = 0; i < tt->ncolls; i++) {
    free(tt->colls[i].col);
    free(tt->colls[i].coll);
  }
  free(tt->colls);
}

/* A column's COLLATE in the text, or NULL for the default (BINARY). */
static const char *collation_of(const table_text *tt, const char *col) {
  for (int i = 0; i < tt->ncolls; i++)
    if (strcasecmp(tt->colls[i].col, col) == 0)
      return strcasecmp(tt->colls[i].coll, "BINARY") == 0 ? NULL : tt->colls[i].coll;
  return NULL;
}

static int scon_kind(lm_rc_kind k) {
  return k == LM_RC_PK ? LM_SCON_PK : k == LM_RC_UNIQUE ? LM_SCON_UNIQUE : LM_SCON_FK;
}

/* A constraint as the schema model knows it: every CHECK, and the named
 * primary keys, unique constraints and foreign keys (their columns to find
 * them among what the pragmas report). */
static void add_clause(table_text *tt, const lm_rc_clause *cl, const char *col) {
  if (cl->kind == LM_RC_CHECK) {
    add_named(tt, LM_SCON_CHECK, cl->name, NULL, 0, cl->expr ? cl->expr : "");
  } else if (cl->kind == LM_RC_FK) {
    add_fk(tt, cl, col);
  } else if (cl->kind == LM_RC_COLLATE && col && cl->expr) {
    LM_GROW(tt->colls, tt->ncolls, tt->capcolls);
    tt->colls[tt->ncolls++] = (col_coll){lm_xstrdup(col), lm_xstrdup(cl->expr)};
  } else if ((cl->kind == LM_RC_PK || cl->kind == LM_RC_UNIQUE) && cl->name) {
    if (col)
      add_named(tt, scon_kind(cl->kind), cl->name, (char *const *)&col, 1, NULL);
    else
      add_named(tt, scon_kind(cl->kind), cl->name, cl->cols, cl->ncols, NULL);
  }
}

/* What the text says beyond the pragmas. A definition the parser does not
 * understand adds nothing: the pragmas still describe the table. */
static void parse_create_table(const char *sql, table_text *tt) {
  memset(tt, 0, sizeof *tt);
  if (!sql) return;
  lm_rc_create def;
  lm_error_saved *saved = lm_error_save();
  int rc = lm_rc_parse_create(sql, &def);
  lm_error_restore(saved);
  if (rc) return;
  for (int i = 0; i < def.ncols; i++)
    for (int k = 0; k < def.cols[i].nclauses; k++)
      add_clause(tt, &def.cols[i].clauses[k], def.cols[i].name);
  for (int i = 0; i < def.ncons; i++)
    add_clause(tt, &def.cons[i], NULL);
  lm_rc_create_free(&def);
}

static int same_names(char **a, int na, char **b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (strcasecmp(a[i], b[i]) != 0) return 0;
  return 1;
}

/* The name the CREATE TABLE text gives a constraint the pragmas found. */
static const char *name_of(table_text *tt, int kind, char **cols, int ncols) {
  for (int i = 0; i < tt->n; i++) {
    named_con *c = &tt->v[i];
    if (c->used || c->kind != kind || !same_names(c->cols, c->ncols, cols, ncols)) continue;
    c->used = 1;
    return c->name;
  }
  return NULL;
}

/* Whether f is the foreign key the pragma reports as rows [at, at + n) of r
 * (columns id, table, from, to, on_update, on_delete). */
static int fk_is(const fk_text *f, const lm_rows *r, int at, int n) {
  if (f->used || f->ncols != n || !lm_sqlite_ieq(f->ref_table, lm_rows_cell(r, at, 1)) ||
      strcasecmp(f->on_update, lm_rows_cell(r, at, 4) ? lm_rows_cell(r, at, 4) : "") != 0 ||
      strcasecmp(f->on_delete, lm_rows_cell(r, at, 5) ? lm_rows_cell(r, at, 5) : "") != 0)
    return 0;
  /* no referenced columns written: the pragma's are NULL (the key) */
  if (f->nref_cols != (lm_rows_cell(r, at, 3) ? n : 0)) return 0;
  for (int j = 0; j < n; j++)
    if (!lm_sqlite_ieq(f->cols[j], lm_rows_cell(r, at + j, 2)) ||
        (f->nref_cols && !lm_sqlite_ieq(f->ref_cols[j], lm_rows_cell(r, at + j, 3))))
      return 0;
  return 1;
}

/* The name the CREATE TABLE text gives the foreign key the pragma reports
 * as rows [at, at + n) of r, with id id of nids. SQLite numbers them from
 * the last one written (each is put in front of those before it), so when
 * the text holds as many, id k is the (nids - k)th of the text: two foreign
 * keys alike in everything but their names are told apart by that. Else
 * the first unused one with the same columns, target and actions, from the
 * end of the text as well. */
static const char *fk_name(table_text *tt, const lm_rows *r, int at, int n, int id, int nids) {
  fk_text *f = NULL;
  if (tt->nfks == nids && id >= 0 && id < nids && fk_is(&tt->fks[nids - 1 - id], r, at, n))
    f = &tt->fks[nids - 1 - id];
  for (int i = tt->nfks - 1; i >= 0 && !f; i--)
    if (fk_is(&tt->fks[i], r, at, n)) f = &tt->fks[i];
  if (!f) return NULL;
  f->used = 1;
  return f->name;
}

static void put_col_list(lm_buf *b, char **cols, int n) {
  lm_buf_puts(b, "(");
  for (int i = 0; i < n; i++) {
    if (i) lm_buf_puts(b, ", ");
    lm_buf_ident(b, cols[i]);
  }
  lm_buf_puts(b, ")");
}

/* ---- the whole schema in a constant number of queries --------------------------- */

/* Each of these reads every table at once (a pragma table-valued function
 * joined to sqlite_master), sorted by the table's (or index's) name, which
 * is the last column; find_rows hands one table its rows. */
static const char SQLITE_COLUMNS[] =
    "SELECT p.name, p.type, p.\"notnull\", p.dflt_value, p.pk, p.hidden, m.name "
    "FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p WHERE m.type = 'table' "
    "ORDER BY m.name, p.cid";
static const char SQLITE_INDEX_LIST[] =
    "SELECT il.name, il.\"unique\", il.origin, s.sql, m.name "
    "FROM sqlite_master m JOIN pragma_index_list(m.name) il "
    "LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name "
    "WHERE m.type = 'table' ORDER BY m.name, il.seq";
static const char SQLITE_INDEX_COLUMNS[] =
    "SELECT x.cid, x.name, x.\"desc\", x.coll, il.name "
    "FROM sqlite_master m JOIN pragma_index_list(m.name) il JOIN pragma_index_xinfo(il.name) x "
    "WHERE m.type = 'table' AND x.key = 1 ORDER BY il.name, x.seqno";
static const char SQLITE_FOREIGN_KEYS[] =
    "SELECT f.id, f.\"table\", f.\"from\", f.\"to\", f.on_update, f.on_delete, f.\"match\", m.name "
    "FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' "
    "ORDER BY m.name, f.id, f.seq";

/* The rows of all whose last column is key: a view into all (nothing to
 * free), found by binary search (the rows are sorted by that column, in
 * SQLite's BINARY order, which is strcmp's). */
static lm_rows find_rows(const lm_rows *all, const char *key) {
  int k = all->ncols - 1, lo = 0, hi = all->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(lm_rows_cell(all, mid, k), key) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  int end = lo;
  while (end < all->n && strcmp(lm_rows_cell(all, end, k), key) == 0)
    end++;
  lm_rows v = {all->ncols, end - lo, 0, NULL};
  if (v.n) v.cells = all->cells + (size_t)lo * (size_t)all->ncols;
  return v;
}

typedef struct schema_rows {
  lm_rows cols, indexes, index_cols, fks;
} schema_rows;

static void sqlite_columns(lm_schema_table *t, table_text *tt, const schema_rows *all) {
  lm_rows r = find_rows(&all->cols, t->name);
  char **pk = lm_xcalloc((size_t)r.n + 1, sizeof *pk);
  int npk = 0;
  for (int i = 0; i < r.n; i++) {
    int hidden = lm_rows_int(&r, i, 5);
    if (hidden == 1) continue; /* a virtual table's hidden column */
    char *type = norm_type(lm_rows_cell(&r, i, 1) ? lm_rows_cell(&r, i, 1) : "");
    char *def = NULL;
    if (lm_rows_cell(&r, i, 3)) {
      def = lm_catalog_norm_sql(lm_rows_cell(&r, i, 3), strlen(lm_rows_cell(&r, i, 3)));
      strip_parens(def);
    }
    lm_schema_column *col =
        lm_schema_add_column(t, lm_rows_cell(&r, i, 0), type, lm_rows_int(&r, i, 2), def);
    if (hidden == 2 || hidden == 3)
      col->extra = lm_xstrdup(hidden == 2 ? "GENERATED ALWAYS VIRTUAL" : "GENERATED ALWAYS STORED");
    col->collation = lm_xstrdup(collation_of(tt, col->name));
    free(type);
    free(def);
  }
  /* pk holds each key column's position in the key */
  for (int pos = 1; pos <= r.n; pos++)
    for (int i = 0; i < r.n; i++)
      if (lm_rows_int(&r, i, 4) == pos) pk[npk++] = lm_xstrdup(lm_rows_cell(&r, i, 0));
  if (npk) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "PRIMARY KEY ");
    put_col_list(&b, pk, npk);
    lm_schema_item *it =
        lm_schema_add_constraint(t, LM_SCON_PK, name_of(tt, LM_SCON_PK, pk, npk), b.s);
    for (int i = 0; i < npk; i++)
      lm_schema_item_add_col(it, pk[i], 0);
    lm_buf_free(&b);
    lm_catalog_mark_pk(t, it);
  }
  free_strv(pk, npk);
}

/* CREATE [UNIQUE] INDEX name ON table (cols) [WHERE …]: columns from the
 * pragma, expressions and the WHERE from the stored text. */
static void sqlite_index(lm_schema_table *t, const char *name, int unique, const char *sql,
                         const schema_rows *all) {
  lm_rows r = find_rows(&all->index_cols, name);
  toks k;
  tokenize(sql ? sql : "", &k);
  int open = 0;
  while (open < k.n && !is_t(&k, open, T_LP))
    open++;
  int close = open < k.n ? group_close(&k, open) : k.n;
  /* the source text of each entry, for expressions */
  char **items = lm_xcalloc((size_t)k.n + 1, sizeof *items);
  int nitems = 0, start = open + 1, depth = 0;
  for (int j = open + 1; j <= close && j < k.n; j++) {
    if (j < close && is_t(&k, j, T_LP)) depth++;
    if (j < close && is_t(&k, j, T_RP)) depth--;
    if (j == close || (depth == 0 && is_t(&k, j, T_COMMA))) {
      items[nitems++] = norm_span(&k, start, j);
      start = j + 1;
    }
  }
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
  lm_buf_ident(&b, name);
  lm_buf_puts(&b, " ON ");
  lm_buf_ident(&b, t->name);
  lm_buf_puts(&b, " (");
  for (int i = 0; i < r.n; i++) {
    if (i) lm_buf_puts(&b, ", ");
    if (lm_rows_int(&r, i, 0) == -2 || !lm_rows_cell(&r, i, 1)) {
      lm_buf_puts(&b, i < nitems ? items[i] : "?");
      continue;
    }
    lm_buf_ident(&b, lm_rows_cell(&r, i, 1));
    const char *coll = lm_rows_cell(&r, i, 3);
    if (coll && strcasecmp(coll, "BINARY") != 0) lm_buf_printf(&b, " COLLATE %s", coll);
    if (lm_rows_int(&r, i, 2)) lm_buf_puts(&b, " DESC");
  }
  lm_buf_puts(&b, ")");
  char *where = NULL;
  if (close + 1 < k.n && kw(&k, close + 1, "WHERE")) {
    where = norm_span(&k, close + 2, k.n);
    lm_buf_printf(&b, " WHERE %s", where);
  }
  lm_schema_item *it = lm_schema_add_index(t, name, b.s);
  it->unique = unique;
  it->expr = where;
  for (int i = 0; i < r.n; i++) {
    /* the entry's text gives its COLLATE and order (a column's collation
     * from the table's definition is the column's, not the index's) */
    char *key, *opts;
    int order;
    lm_norm_index_entry(i < nitems ? items[i] : "?", &key, &opts, &order);
    if (lm_rows_int(&r, i, 0) != -2 && lm_rows_cell(&r, i, 1)) { /* a column: the pragma's */
      free(key);
      key = lm_xstrdup(lm_rows_cell(&r, i, 1));
      order = lm_rows_int(&r, i, 2) ? LM_INDEX_DESC : 0;
    }
    lm_schema_item_add_index_part(it, key, opts, order);
    free(key);
    free(opts);
  }
  lm_buf_free(&b);
  free_strv(items, nitems);
  toks_free(&k);
}

static void sqlite_indexes(lm_schema_table *t, table_text *tt, const schema_rows *all) {
  lm_rows r = find_rows(&all->indexes, t->name);
  for (int i = 0; i < r.n; i++) {
    const char *name = lm_rows_cell(&r, i, 0), *origin = lm_rows_cell(&r, i, 2);
    if (origin && strcmp(origin, "pk") == 0) continue; /* the table's PRIMARY KEY */
    if (origin && strcmp(origin, "u") == 0) {
      lm_rows ic = find_rows(&all->index_cols, name);
      char **cols = lm_xcalloc((size_t)ic.n + 1, sizeof *cols);
      for (int j = 0; j < ic.n; j++)
        cols[j] = lm_xstrdup(lm_rows_cell(&ic, j, 1) ? lm_rows_cell(&ic, j, 1) : "");
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_puts(&b, "UNIQUE ");
      put_col_list(&b, cols, ic.n);
      lm_schema_item *it =
          lm_schema_add_constraint(t, LM_SCON_UNIQUE, name_of(tt, LM_SCON_UNIQUE, cols, ic.n), b.s);
      for (int j = 0; j < ic.n; j++)
        lm_schema_item_add_col(it, cols[j], 0);
      lm_buf_free(&b);
      free_strv(cols, ic.n);
      continue;
    }
    sqlite_index(t, name, lm_rows_int(&r, i, 1), lm_rows_cell(&r, i, 3), all);
  }
}

static const char *fk_action(const char *a) {
  return a && *a && strcasecmp(a, "NO ACTION") != 0 ? a : NULL;
}

static void sqlite_foreign_keys(lm_schema_table *t, table_text *tt, const schema_rows *all) {
  lm_rows r = find_rows(&all->fks, t->name);
  int nids = 0;
  for (int i = 0; i < r.n; i++)
    nids += i == 0 || lm_rows_int(&r, i, 0) != lm_rows_int(&r, i - 1, 0);
  for (int i = 0; i < r.n;) {
    int id = lm_rows_int(&r, i, 0), end = i;
    while (end < r.n && lm_rows_int(&r, end, 0) == id)
      end++;
    int n = end - i, implicit = 0;
    char **from = lm_xcalloc((size_t)n, sizeof *from), **to = lm_xcalloc((size_t)n, sizeof *to);
    for (int j = 0; j < n; j++) {
      from[j] = lm_xstrdup(lm_rows_cell(&r, i + j, 2) ? lm_rows_cell(&r, i + j, 2) : "");
      to[j] = lm_xstrdup(lm_rows_cell(&r, i + j, 3) ? lm_rows_cell(&r, i + j, 3) : "");
      implicit |= lm_rows_cell(&r, i + j, 3) == NULL;
    }
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "FOREIGN KEY ");
    put_col_list(&b, from, n);
    lm_buf_puts(&b, " REFERENCES ");
    lm_buf_ident(&b, lm_rows_cell(&r, i, 1) ? lm_rows_cell(&r, i, 1) : "");
    if (!implicit) {
      lm_buf_putc(&b, ' ');
      put_col_list(&b, to, n);
    }
    const char *m = lm_rows_cell(&r, i, 6);
    if (m && *m && strcasecmp(m, "NONE") != 0) lm_buf_printf(&b, " MATCH %s", m);
    if (fk_action(lm_rows_cell(&r, i, 5)))
      lm_buf_printf(&b, " ON DELETE %s", lm_rows_cell(&r, i, 5));
    if (fk_action(lm_rows_cell(&r, i, 4)))
      lm_buf_printf(&b, " ON UPDATE %s", lm_rows_cell(&r, i, 4));
    lm_schema_item *it =
        lm_schema_add_constraint(t, LM_SCON_FK, fk_name(tt, &r, i, n, id, nids), b.s);
    it->ref_table = lm_xstrdup(lm_rows_cell(&r, i, 1));
    for (int j = 0; j < n; j++) {
      lm_schema_item_add_col(it, from[j], 0);
      if (!implicit) lm_schema_item_add_ref(it, to[j]);
    }
    it->ondelete = lm_xstrdup(fk_action(lm_rows_cell(&r, i, 5)));
    it->onupdate = lm_xstrdup(fk_action(lm_rows_cell(&r, i, 4)));
    lm_buf_free(&b);
    free_strv(from, n);
    free_strv(to, n);
    i = end;
  }
}

/* REFERENCES t without a column list references t's primary key: the
 * foreign key gets those columns, as the model and PostgreSQL name them. */
static void implicit_references(lm_schema *s) {
  for (int i = 0; i < s->ntables; i++) {
    lm_schema_list *l = &s->tables[i]->constraints;
    for (int j = 0; j < l->n; j++) {
      lm_schema_item *k = &l->v[j];
      if (k->kind != LM_SCON_FK || k->nref || !k->ref_table) continue;
      const lm_schema_table *rt = lm_schema_find_table(s, k->ref_table);
      const lm_schema_item *pk = rt ? lm_schema_pk(rt) : NULL;
      for (int x = 0; pk && pk->ncols == k->ncols && x < pk->ncols; x++)
        lm_schema_item_add_ref(k, pk->cols[x]);
    }
  }
}

int lm_sqlite_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                             const char *vt_table, lm_schema *s) {
  LM_UNUSED(vt_schema);
  lm_rows m;
  int rc = lm_rows_query(d, c,
                         "SELECT type, name, tbl_name, sql FROM sqlite_master "
                         "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                         NULL, &m);
  if (rc) return rc;
  schema_rows all = {{0}, {0}, {0}, {0}};
  rc = lm_rows_query(d, c, SQLITE_COLUMNS, NULL, &all.cols);
  if (!rc) rc = lm_rows_query(d, c, SQLITE_INDEX_LIST, NULL, &all.indexes);
  if (!rc) rc = lm_rows_query(d, c, SQLITE_INDEX_COLUMNS, NULL, &all.index_cols);
  if (!rc) rc = lm_rows_query(d, c, SQLITE_FOREIGN_KEYS, NULL, &all.fks);
  for (int i = 0; i < m.n && !rc; i++) {
    const char *type = lm_rows_cell(&m, i, 0), *name = lm_rows_cell(&m, i, 1),
               *sql = lm_rows_cell(&m, i, 3);
    if (strcmp(type, "table") != 0 || strcmp(name, vt_table) == 0) continue;
    lm_schema_table *t = lm_schema_add_table(s, name);
    table_text tt;
    parse_create_table(sql, &tt);
    sqlite_columns(t, &tt, &all);
    sqlite_indexes(t, &tt, &all);
    sqlite_foreign_keys(t, &tt, &all);
    for (int j = 0; j < tt.n && !rc; j++) {
      if (tt.v[j].kind != LM_SCON_CHECK) continue;
      char *def = lm_xasprintf("CHECK (%s)", tt.v[j].expr);
      lm_schema_item *it = lm_schema_add_constraint(t, LM_SCON_CHECK, tt.v[j].name, def);
      it->expr = lm_xstrdup(tt.v[j].expr);
      free(def);
    }
    table_text_free(&tt);
  }
  for (int i = 0; i < m.n && !rc; i++) {
    const char *type = lm_rows_cell(&m, i, 0), *name = lm_rows_cell(&m, i, 1),
               *sql = lm_rows_cell(&m, i, 3);
    if (!sql) continue;
    char *def = lm_catalog_norm_sql(sql, strlen(sql));
    if (strcmp(type, "trigger") == 0) {
      lm_schema_table *t = lm_schema_find_table(s, lm_rows_cell(&m, i, 2));
      if (t) lm_schema_add_trigger(t, name, def);
    } else if (strcmp(type, "view") == 0) {
      lm_schema_add_object(s, LM_SOBJ_VIEW, name, def);
    }
    free(def);
  }
  lm_rows_free(&m);
  lm_rows_free(&all.cols);
  lm_rows_free(&all.indexes);
  lm_rows_free(&all.index_cols);
  lm_rows_free(&all.fks);
  if (!rc) implicit_references(s);
  return rc;
}
