/* Introspection: the schema model (schema.h) read from a live database.
 *
 * SQLite keeps most facts in pragmas (pragma_table_xinfo, index_list,
 * index_xinfo, foreign_key_list), which describe a table the same way however
 * its CREATE TABLE was worded (a table rebuilt by move-and-copy has new text
 * but the same pragmas). What the pragmas do not give — CHECK constraints,
 * constraint names, the WHERE of a partial index, expression index columns —
 * is read from the stored SQL with a small tokenizer.
 *
 * PostgreSQL has it all in pg_catalog: format_type, pg_get_expr,
 * pg_get_constraintdef, pg_get_indexdef, each already canonical. Only the
 * schema qualifier and sequence names are taken out, because they differ
 * between two databases migrated the same way. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "schema.h"

/* ---- query results as strings --------------------------------------------------- */

typedef struct rows {
  int ncols, n, cap;
  char **cells; /* n * ncols; NULL for SQL NULL */
} rows;

static int collect(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  LM_UNUSED(names);
  rows *r = ud;
  if (r->n == 0 && r->cap == 0) r->ncols = ncols;
  if (ncols != r->ncols) return 0;
  if (r->n == r->cap) {
    r->cap = r->cap ? r->cap * 2 : 16;
    r->cells = lm_xrealloc(r->cells, (size_t)r->cap * (size_t)(ncols ? ncols : 1) * sizeof(char *));
  }
  char **row = r->cells + (size_t)r->n * (size_t)ncols;
  for (int i = 0; i < ncols; i++) {
    const lm_value *v = &vals[i];
    switch (v->t) {
    case LM_V_NULL: row[i] = NULL; break;
    case LM_V_INT: row[i] = lm_xasprintf("%lld", v->i); break;
    case LM_V_BOOL: row[i] = lm_xstrdup(v->i ? "1" : "0"); break;
    case LM_V_FLOAT: row[i] = lm_xasprintf("%.17g", v->f); break;
    case LM_V_TEXT: row[i] = lm_xstrndup(v->s ? v->s : "", v->s ? v->len : 0); break;
    }
  }
  r->n++;
  return 0;
}

static void rows_free(rows *r) {
  for (size_t i = 0; i < (size_t)r->n * (size_t)r->ncols; i++)
    free(r->cells[i]);
  free(r->cells);
  memset(r, 0, sizeof *r);
}

static const char *cell(const rows *r, int row, int col) {
  return col < r->ncols ? r->cells[(size_t)row * (size_t)r->ncols + (size_t)col] : NULL;
}

static int cell_int(const rows *r, int row, int col) {
  const char *s = cell(r, row, col);
  return s ? atoi(s) : 0;
}

/* Runs sql (with one optional text parameter) and keeps every row. */
static int query_rows(const lm_dialect *d, lm_conn *c, const char *sql, const char *param,
                      rows *out) {
  memset(out, 0, sizeof *out);
  lm_value v = {.t = LM_V_TEXT, .s = (char *)param, .len = param ? strlen(param) : 0};
  lm_stmt st = {(char *)sql, param ? &v : NULL, param ? 1 : 0};
  int rc = lm_dialect_query(d, c, &st, collect, out);
  if (rc) rows_free(out);
  return rc;
}

/* ---- SQL text ---------------------------------------------------------------------- */

/* Index just past the quoted run starting at s[i] (quote char s[i], doubled
 * to escape; '[' closes with ']'). */
static size_t skip_quoted(const char *s, size_t n, size_t i) {
  char close = s[i] == '[' ? ']' : s[i];
  for (i++; i < n; i++) {
    if (s[i] != close) continue;
    if (close != ']' && i + 1 < n && s[i + 1] == close) {
      i++;
      continue;
    }
    return i + 1;
  }
  return n;
}

/* Comments out, whitespace runs to one space, none just inside parentheses
 * or before a comma, no trailing semicolon: two spellings of the same
 * definition compare equal, and the text prints on one line. */
static char *norm_sql(const char *s, size_t n) {
  lm_buf b;
  lm_buf_init(&b);
  int space = 0;
  size_t i = 0;
  while (i < n) {
    char ch = s[i];
    if (ch == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n')
        i++;
      space = 1;
      continue;
    }
    if (ch == '/' && i + 1 < n && s[i + 1] == '*') {
      const char *e = NULL;
      for (size_t k = i + 2; k + 1 < n; k++)
        if (s[k] == '*' && s[k + 1] == '/') {
          e = s + k;
          break;
        }
      i = e ? (size_t)(e - s) + 2 : n;
      space = 1;
      continue;
    }
    if (isspace((unsigned char)ch)) {
      space = 1;
      i++;
      continue;
    }
    if (space && b.len > 0 && b.s[b.len - 1] != '(' && ch != ')' && ch != ',') lm_buf_putc(&b, ' ');
    space = 0;
    if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
      size_t e = skip_quoted(s, n, i);
      lm_buf_put(&b, s + i, e - i);
      i = e;
      continue;
    }
    lm_buf_putc(&b, ch);
    i++;
  }
  while (b.len > 0 && (b.s[b.len - 1] == ';' || b.s[b.len - 1] == ' '))
    b.s[--b.len] = 0;
  return lm_buf_steal(&b);
}

/* Index of the parenthesis closing the one at s[open], or n. */
static size_t match_paren(const char *s, size_t n, size_t open) {
  int depth = 0;
  for (size_t i = open; i < n; i++) {
    char ch = s[i];
    if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
      i = skip_quoted(s, n, i) - 1;
    } else if (ch == '(') {
      depth++;
    } else if (ch == ')' && --depth == 0) {
      return i;
    }
  }
  return n;
}

/* "(x)" → "x" as long as the outer parentheses wrap everything: SQLite keeps
 * a DEFAULT as written, and "(0)" and "0" are the same default. */
static void strip_parens(char *s) {
  size_t n = strlen(s);
  while (n >= 2 && s[0] == '(' && match_paren(s, n, 0) == n - 1) {
    memmove(s, s + 1, n - 2);
    n -= 2;
    s[n] = 0;
  }
}

/* SQLite keeps a declared type as written: "varchar (20)" and "VARCHAR(20)"
 * are the same type. */
static char *norm_type(const char *t) {
  char *s = norm_sql(t, strlen(t));
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

/* ---- a small SQLite tokenizer ------------------------------------------------------ */

typedef struct tok {
  char t; /* 'w' word, 'i' quoted identifier, 's' string, 'p' punctuation */
  const char *s;
  size_t n;
} tok;

typedef struct toks {
  tok *v;
  int n, cap;
} toks;

static int word_char(unsigned char c) { return isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

static void tokenize(const char *s, toks *out) {
  memset(out, 0, sizeof *out);
  size_t n = strlen(s), i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t start = i;
    char t;
    if (isspace(c)) {
      i++;
      continue;
    }
    if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n')
        i++;
      continue;
    }
    if (c == '/' && i + 1 < n && s[i + 1] == '*') {
      i += 2;
      while (i + 1 < n && !(s[i] == '*' && s[i + 1] == '/'))
        i++;
      i = i + 2 < n ? i + 2 : n;
      continue;
    }
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
      i = skip_quoted(s, n, i);
      t = c == '\'' ? 's' : 'i';
    } else if (word_char(c)) {
      while (i < n && word_char((unsigned char)s[i]))
        i++;
      t = 'w';
    } else {
      i++;
      t = 'p';
    }
    if (out->n == out->cap) {
      out->cap = out->cap ? out->cap * 2 : 64;
      out->v = lm_xrealloc(out->v, (size_t)out->cap * sizeof *out->v);
    }
    out->v[out->n++] = (tok){t, s + start, i - start};
  }
}

static int is_kw(const toks *k, int i, const char *kw) {
  return i < k->n && k->v[i].t == 'w' && k->v[i].n == strlen(kw) &&
         strncasecmp(k->v[i].s, kw, k->v[i].n) == 0;
}

static int is_punct(const toks *k, int i, char p) {
  return i < k->n && k->v[i].t == 'p' && k->v[i].s[0] == p;
}

/* The name a token stands for: quotes removed, doubled quotes undone. */
static char *tok_ident(const toks *k, int i) {
  if (i >= k->n) return lm_xstrdup("");
  const tok *t = &k->v[i];
  if (t->t != 'i' || t->n < 2) return lm_xstrndup(t->s, t->n);
  char q = t->s[0], close = q == '[' ? ']' : q;
  lm_buf b;
  lm_buf_init(&b);
  for (size_t j = 1; j + 1 < t->n; j++) {
    lm_buf_putc(&b, t->s[j]);
    if (t->s[j] == close && close != ']' && j + 2 < t->n && t->s[j + 1] == close) j++;
  }
  return lm_buf_steal(&b);
}

/* Index of the ')' closing the '(' at token i, or k->n. */
static int tok_close(const toks *k, int i) {
  int depth = 0;
  for (int j = i; j < k->n; j++) {
    if (is_punct(k, j, '('))
      depth++;
    else if (is_punct(k, j, ')') && --depth == 0)
      return j;
  }
  return k->n;
}

/* The source text from token a to token b (inclusive), normalised. */
static char *tok_text(const toks *k, int a, int b) {
  if (a > b || a >= k->n) return lm_xstrdup("");
  const char *s = k->v[a].s, *e = k->v[b].s + k->v[b].n;
  return norm_sql(s, (size_t)(e - s));
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

typedef struct table_text {
  named_con *v;
  int n, cap;
} table_text;

static void add_named(table_text *tt, int kind, char *name, char **cols, int ncols, char *expr) {
  if (tt->n == tt->cap) {
    tt->cap = tt->cap ? tt->cap * 2 : 8;
    tt->v = lm_xrealloc(tt->v, (size_t)tt->cap * sizeof *tt->v);
  }
  tt->v[tt->n++] = (named_con){kind, name, cols, ncols, expr, 0};
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
}

/* The first name of each comma-separated entry of the group at token open. */
static int group_names(const toks *k, int open, char ***cols) {
  int close = tok_close(k, open), n = 0, depth = 0, first = 1;
  *cols = lm_xcalloc((size_t)(close - open + 1), sizeof **cols);
  for (int j = open + 1; j < close; j++) {
    if (is_punct(k, j, '(')) depth++;
    if (is_punct(k, j, ')')) depth--;
    if (depth == 0 && is_punct(k, j, ',')) {
      first = 1;
      continue;
    }
    if (first && depth == 0) (*cols)[n++] = tok_ident(k, j);
    first = 0;
  }
  return n;
}

static char **one_col(const char *col) {
  char **v = lm_xcalloc(1, sizeof *v);
  v[0] = lm_xstrdup(col);
  return v;
}

/* CHECK ( expr ) at token i: adds it; returns the token after it. */
static int take_check(const toks *k, int i, char *name, table_text *tt) {
  if (!is_punct(k, i + 1, '(')) {
    free(name);
    return i + 1;
  }
  int close = tok_close(k, i + 1);
  add_named(tt, LM_SCON_CHECK, name, NULL, 0, tok_text(k, i + 2, close - 1));
  return close + 1;
}

/* A table constraint (optionally CONSTRAINT name) in tokens [a, b). */
static void table_constraint(const toks *k, int a, int b, table_text *tt) {
  char *name = NULL;
  int i = a;
  if (is_kw(k, i, "CONSTRAINT")) {
    name = tok_ident(k, i + 1);
    i += 2;
  }
  int kind = is_kw(k, i, "PRIMARY")   ? LM_SCON_PK
             : is_kw(k, i, "UNIQUE")  ? LM_SCON_UNIQUE
             : is_kw(k, i, "FOREIGN") ? LM_SCON_FK
             : is_kw(k, i, "CHECK")   ? LM_SCON_CHECK
                                      : -1;
  if (kind == LM_SCON_CHECK) {
    take_check(k, i, name, tt);
    return;
  }
  int open = i + 1;
  while (open < b && !is_punct(k, open, '('))
    open++;
  if (kind < 0 || open >= b || !name) {
    free(name);
    return;
  }
  char **cols;
  int n = group_names(k, open, &cols);
  add_named(tt, kind, name, cols, n, NULL);
}

/* A column definition in tokens [a, b): its inline constraints. */
static void column_constraints(const toks *k, int a, int b, table_text *tt) {
  char *col = tok_ident(k, a), *pending = NULL;
  int i = a + 1;
  while (i < b) {
    if (is_punct(k, i, '(')) {
      i = tok_close(k, i) + 1;
    } else if (is_kw(k, i, "CONSTRAINT")) {
      free(pending);
      pending = tok_ident(k, i + 1);
      i += 2;
    } else if (is_kw(k, i, "CHECK")) {
      i = take_check(k, i, pending, tt);
      pending = NULL;
    } else if (is_kw(k, i, "PRIMARY") || is_kw(k, i, "UNIQUE") || is_kw(k, i, "REFERENCES")) {
      int kind = is_kw(k, i, "PRIMARY")  ? LM_SCON_PK
                 : is_kw(k, i, "UNIQUE") ? LM_SCON_UNIQUE
                                         : LM_SCON_FK;
      if (pending) add_named(tt, kind, pending, one_col(col), 1, NULL);
      pending = NULL;
      i++;
    } else {
      /* NOT NULL, DEFAULT, COLLATE, GENERATED: a pending name was theirs */
      if (k->v[i].t == 'w' && pending) {
        free(pending);
        pending = NULL;
      }
      i++;
    }
  }
  free(pending);
  free(col);
}

static void parse_create_table(const char *sql, table_text *tt) {
  memset(tt, 0, sizeof *tt);
  if (!sql) return;
  toks k;
  tokenize(sql, &k);
  int open = 0;
  while (open < k.n && !is_punct(&k, open, '('))
    open++;
  int close = tok_close(&k, open);
  int start = open + 1, depth = 0;
  for (int j = open + 1; j <= close && j < k.n; j++) {
    if (j < close && is_punct(&k, j, '(')) depth++;
    if (j < close && is_punct(&k, j, ')')) depth--;
    if (j == close || (depth == 0 && is_punct(&k, j, ','))) {
      if (start < j) {
        if (is_kw(&k, start, "CONSTRAINT") || is_kw(&k, start, "PRIMARY") ||
            is_kw(&k, start, "UNIQUE") || is_kw(&k, start, "CHECK") || is_kw(&k, start, "FOREIGN"))
          table_constraint(&k, start, j, tt);
        else
          column_constraints(&k, start, j, tt);
      }
      start = j + 1;
    }
  }
  free(k.v);
}

static int same_cols(char **a, int na, char **b, int nb) {
  if (na != nb) return 0;
  for (int i = 0; i < na; i++)
    if (strcasecmp(a[i], b[i]) != 0) return 0;
  return 1;
}

/* The name the CREATE TABLE text gives a constraint the pragmas found. */
static const char *name_of(table_text *tt, int kind, char **cols, int ncols) {
  for (int i = 0; i < tt->n; i++) {
    named_con *c = &tt->v[i];
    if (c->used || c->kind != kind || !same_cols(c->cols, c->ncols, cols, ncols)) continue;
    c->used = 1;
    return c->name;
  }
  return NULL;
}

/* ---- SQLite --------------------------------------------------------------------------- */

static void put_col_list(lm_buf *b, char **cols, int n) {
  lm_buf_puts(b, "(");
  for (int i = 0; i < n; i++) {
    if (i) lm_buf_puts(b, ", ");
    lm_buf_ident(b, cols[i]);
  }
  lm_buf_puts(b, ")");
}

static void free_strv(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* The columns of a primary key know they are part of it. */
static void mark_pk(lm_schema_table *t, const lm_schema_item *pk) {
  for (int i = 0; i < pk->ncols; i++)
    for (int j = 0; j < t->ncols; j++)
      if (strcmp(t->cols[j].name, pk->cols[i]) == 0) t->cols[j].pk = 1;
}

static int sqlite_columns(const lm_dialect *d, lm_conn *c, lm_schema_table *t, table_text *tt) {
  rows r;
  int rc = query_rows(d, c,
                      "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                      "FROM pragma_table_xinfo($1) ORDER BY cid",
                      t->name, &r);
  if (rc) return rc;
  char **pk = lm_xcalloc((size_t)r.n + 1, sizeof *pk);
  int npk = 0;
  for (int i = 0; i < r.n; i++) {
    int hidden = cell_int(&r, i, 5);
    if (hidden == 1) continue; /* a virtual table's hidden column */
    char *type = norm_type(cell(&r, i, 1) ? cell(&r, i, 1) : "");
    char *def = NULL;
    if (cell(&r, i, 3)) {
      def = norm_sql(cell(&r, i, 3), strlen(cell(&r, i, 3)));
      strip_parens(def);
    }
    lm_schema_column *col = lm_schema_add_column(t, cell(&r, i, 0), type, cell_int(&r, i, 2), def);
    if (hidden == 2 || hidden == 3)
      col->extra = lm_xstrdup(hidden == 2 ? "GENERATED ALWAYS VIRTUAL" : "GENERATED ALWAYS STORED");
    free(type);
    free(def);
  }
  /* pk holds each key column's position in the key */
  for (int pos = 1; pos <= r.n; pos++)
    for (int i = 0; i < r.n; i++)
      if (cell_int(&r, i, 4) == pos) pk[npk++] = lm_xstrdup(cell(&r, i, 0));
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
    mark_pk(t, it);
  }
  free_strv(pk, npk);
  rows_free(&r);
  return 0;
}

/* CREATE [UNIQUE] INDEX name ON table (cols) [WHERE …]: columns from the
 * pragma, expressions and the WHERE from the stored text. */
static int sqlite_index(const lm_dialect *d, lm_conn *c, lm_schema_table *t, const char *name,
                        int unique, const char *sql) {
  rows r;
  int rc = query_rows(d, c,
                      "SELECT cid, name, \"desc\", coll FROM pragma_index_xinfo($1) "
                      "WHERE key = 1 ORDER BY seqno",
                      name, &r);
  if (rc) return rc;
  toks k;
  tokenize(sql ? sql : "", &k);
  int open = 0;
  while (open < k.n && !is_punct(&k, open, '('))
    open++;
  int close = tok_close(&k, open);
  /* the source text of each entry, for expressions */
  char **items = lm_xcalloc((size_t)k.n + 1, sizeof *items);
  int nitems = 0, start = open + 1, depth = 0;
  for (int j = open + 1; j <= close && j < k.n; j++) {
    if (j < close && is_punct(&k, j, '(')) depth++;
    if (j < close && is_punct(&k, j, ')')) depth--;
    if (j == close || (depth == 0 && is_punct(&k, j, ','))) {
      items[nitems++] = tok_text(&k, start, j - 1);
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
    if (cell_int(&r, i, 0) == -2 || !cell(&r, i, 1)) {
      lm_buf_puts(&b, i < nitems ? items[i] : "?");
      continue;
    }
    lm_buf_ident(&b, cell(&r, i, 1));
    const char *coll = cell(&r, i, 3);
    if (coll && strcasecmp(coll, "BINARY") != 0) lm_buf_printf(&b, " COLLATE %s", coll);
    if (cell_int(&r, i, 2)) lm_buf_puts(&b, " DESC");
  }
  lm_buf_puts(&b, ")");
  char *where = NULL;
  if (close + 1 < k.n && is_kw(&k, close + 1, "WHERE")) {
    where = tok_text(&k, close + 2, k.n - 1);
    lm_buf_printf(&b, " WHERE %s", where);
  }
  lm_schema_item *it = lm_schema_add_index(t, name, b.s);
  it->unique = unique;
  it->expr = where;
  for (int i = 0; i < r.n; i++) {
    int expr = cell_int(&r, i, 0) == -2 || !cell(&r, i, 1);
    lm_schema_item_add_col(it, expr ? (i < nitems ? items[i] : "?") : cell(&r, i, 1),
                           cell_int(&r, i, 2));
  }
  lm_buf_free(&b);
  free_strv(items, nitems);
  free(k.v);
  rows_free(&r);
  return 0;
}

static int sqlite_indexes(const lm_dialect *d, lm_conn *c, lm_schema_table *t, table_text *tt,
                          const rows *master) {
  rows r;
  int rc =
      query_rows(d, c, "SELECT name, \"unique\", origin FROM pragma_index_list($1)", t->name, &r);
  for (int i = 0; i < r.n && !rc; i++) {
    const char *name = cell(&r, i, 0), *origin = cell(&r, i, 2);
    if (origin && strcmp(origin, "pk") == 0) continue; /* the table's PRIMARY KEY */
    if (origin && strcmp(origin, "u") == 0) {
      rows ic;
      rc = query_rows(d, c, "SELECT name FROM pragma_index_info($1) ORDER BY seqno", name, &ic);
      if (rc) break;
      char **cols = lm_xcalloc((size_t)ic.n + 1, sizeof *cols);
      for (int j = 0; j < ic.n; j++)
        cols[j] = lm_xstrdup(cell(&ic, j, 0) ? cell(&ic, j, 0) : "");
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
      rows_free(&ic);
      continue;
    }
    const char *sql = NULL;
    for (int j = 0; j < master->n; j++)
      if (strcmp(cell(master, j, 0), "index") == 0 && strcmp(cell(master, j, 1), name) == 0)
        sql = cell(master, j, 3);
    rc = sqlite_index(d, c, t, name, cell_int(&r, i, 1), sql);
  }
  rows_free(&r);
  return rc;
}

static const char *fk_action(const char *a) {
  return a && *a && strcasecmp(a, "NO ACTION") != 0 ? a : NULL;
}

static int sqlite_foreign_keys(const lm_dialect *d, lm_conn *c, lm_schema_table *t,
                               table_text *tt) {
  rows r;
  int rc = query_rows(d, c,
                      "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" "
                      "FROM pragma_foreign_key_list($1) ORDER BY id, seq",
                      t->name, &r);
  if (rc) return rc;
  for (int i = 0; i < r.n;) {
    int id = cell_int(&r, i, 0), end = i;
    while (end < r.n && cell_int(&r, end, 0) == id)
      end++;
    int n = end - i, implicit = 0;
    char **from = lm_xcalloc((size_t)n, sizeof *from), **to = lm_xcalloc((size_t)n, sizeof *to);
    for (int j = 0; j < n; j++) {
      from[j] = lm_xstrdup(cell(&r, i + j, 2) ? cell(&r, i + j, 2) : "");
      to[j] = lm_xstrdup(cell(&r, i + j, 3) ? cell(&r, i + j, 3) : "");
      implicit |= cell(&r, i + j, 3) == NULL;
    }
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "FOREIGN KEY ");
    put_col_list(&b, from, n);
    lm_buf_puts(&b, " REFERENCES ");
    lm_buf_ident(&b, cell(&r, i, 1) ? cell(&r, i, 1) : "");
    if (!implicit) {
      lm_buf_putc(&b, ' ');
      put_col_list(&b, to, n);
    }
    const char *m = cell(&r, i, 6);
    if (m && *m && strcasecmp(m, "NONE") != 0) lm_buf_printf(&b, " MATCH %s", m);
    if (fk_action(cell(&r, i, 5))) lm_buf_printf(&b, " ON DELETE %s", cell(&r, i, 5));
    if (fk_action(cell(&r, i, 4))) lm_buf_printf(&b, " ON UPDATE %s", cell(&r, i, 4));
    lm_schema_item *it =
        lm_schema_add_constraint(t, LM_SCON_FK, name_of(tt, LM_SCON_FK, from, n), b.s);
    it->ref_table = lm_xstrdup(cell(&r, i, 1));
    for (int j = 0; j < n; j++) {
      lm_schema_item_add_col(it, from[j], 0);
      if (!implicit) lm_schema_item_add_ref(it, to[j]);
    }
    it->ondelete = lm_xstrdup(fk_action(cell(&r, i, 5)));
    it->onupdate = lm_xstrdup(fk_action(cell(&r, i, 4)));
    lm_buf_free(&b);
    free_strv(from, n);
    free_strv(to, n);
    i = end;
  }
  rows_free(&r);
  return 0;
}

static int read_sqlite(const lm_dialect *d, lm_conn *c, const char *vt_table, lm_schema *s) {
  rows m;
  int rc = query_rows(d, c,
                      "SELECT type, name, tbl_name, sql FROM sqlite_master "
                      "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                      NULL, &m);
  if (rc) return rc;
  for (int i = 0; i < m.n && !rc; i++) {
    const char *type = cell(&m, i, 0), *name = cell(&m, i, 1), *sql = cell(&m, i, 3);
    if (strcmp(type, "table") != 0 || strcmp(name, vt_table) == 0) continue;
    lm_schema_table *t = lm_schema_add_table(s, name);
    table_text tt;
    parse_create_table(sql, &tt);
    rc = sqlite_columns(d, c, t, &tt);
    if (!rc) rc = sqlite_indexes(d, c, t, &tt, &m);
    if (!rc) rc = sqlite_foreign_keys(d, c, t, &tt);
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
    const char *type = cell(&m, i, 0), *name = cell(&m, i, 1), *sql = cell(&m, i, 3);
    if (!sql) continue;
    char *def = norm_sql(sql, strlen(sql));
    if (strcmp(type, "trigger") == 0) {
      lm_schema_table *t = lm_schema_find_table(s, cell(&m, i, 2));
      if (t) lm_schema_add_trigger(t, name, def);
    } else if (strcmp(type, "view") == 0) {
      lm_schema_add_object(s, LM_SOBJ_VIEW, name, def);
    }
    free(def);
  }
  rows_free(&m);
  return rc;
}

/* ---- PostgreSQL --------------------------------------------------------------------- */

/* Every query covers the whole current schema at once; rows are handed to
 * their table by name. */
#define PG_REL_JOIN                                                                                \
  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "

static const char PG_COLUMNS[] =
    "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, "
    "pg_catalog.col_description(a.attrelid, a.attnum) "
    "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum" PG_REL_JOIN
    "AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY c.relname, a.attnum";

/* Column lists come joined by chr(31), in key order. */
#define PG_ATTNAMES(keys, rel)                                                                     \
  "(SELECT string_agg(a.attname, chr(31) ORDER BY u.o) FROM unnest(" keys ") WITH ORDINALITY "     \
  "u(n, o) JOIN pg_catalog.pg_attribute a ON a.attrelid = " rel " AND a.attnum = u.n)"

static const char PG_CONSTRAINTS[] =
    "SELECT c.relname, k.conname, k.contype::text, "
    "pg_catalog.pg_get_constraintdef(k.oid), " PG_ATTNAMES(
        "k.conkey",
        "k.conrelid") ", f.relname, " PG_ATTNAMES("k.confkey",
                                                  "k.confrelid") ", k.confdeltype::text, "
                                                                 "k.confupdtype::text, "
                                                                 "pg_catalog.pg_get_expr(k.conbin, "
                                                                 "k.conrelid) "
                                                                 "FROM pg_catalog.pg_constraint k "
                                                                 "JOIN pg_catalog.pg_class c ON "
                                                                 "c.oid = k.conrelid "
                                                                 "LEFT JOIN pg_catalog.pg_class f "
                                                                 "ON f.oid = "
                                                                 "k.confrelid" PG_REL_JOIN
                                                                 "AND c.relkind IN ('r', 'p') AND "
                                                                 "k.contype IN ('p', 'u', 'f', "
                                                                 "'c', 'x')";

/* Indexes that back a constraint are that constraint. */
static const char PG_INDEXES[] =
    "SELECT c.relname, i.relname, pg_catalog.pg_get_indexdef(x.indexrelid), x.indisunique, "
    "(SELECT string_agg(pg_catalog.pg_get_indexdef(x.indexrelid, k, true), chr(31) ORDER BY k) "
    "FROM generate_series(1, x.indnkeyatts) k), "
    "(SELECT string_agg((x.indoption[k - 1] & 1)::text, chr(31) ORDER BY k) "
    "FROM generate_series(1, x.indnkeyatts) k), pg_catalog.pg_get_expr(x.indpred, x.indrelid) "
    "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid "
    "JOIN pg_catalog.pg_class c ON c.oid = x.indrelid" PG_REL_JOIN
    "AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k "
    "WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))";

static const char PG_TRIGGERS[] =
    "SELECT c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid) "
    "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid" PG_REL_JOIN
    "AND NOT t.tgisinternal";

static const char PG_VIEWS[] =
    "SELECT c.relname, c.relkind::text, pg_catalog.pg_get_viewdef(c.oid) "
    "FROM pg_catalog.pg_class c" PG_REL_JOIN "AND c.relkind IN ('v', 'm')";

/* Sequences a column owns (SERIAL, identity) are part of that column. */
static const char PG_SEQUENCES[] =
    "SELECT c.relname FROM pg_catalog.pg_class c" PG_REL_JOIN
    "AND c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
    "WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid "
    "AND d.deptype IN ('a', 'i'))";

static const char PG_ENUMS[] =
    "SELECT t.typname, (SELECT string_agg(quote_literal(e.enumlabel), ', ' "
    "ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) "
    "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = current_schema() AND t.typtype = 'e'";

/* Removes the first "<prefix><qschema>." from s: pg_get_indexdef and
 * pg_get_triggerdef always qualify the table. */
static void unqualify(char *s, const char *prefix, const char *qschema) {
  char *needle = lm_xasprintf("%s%s.", prefix, qschema);
  char *p = strstr(s, needle);
  if (p) {
    size_t skip = strlen(qschema) + 1, keep = strlen(prefix);
    memmove(p + keep, p + keep + skip, strlen(p + keep + skip) + 1);
  }
  free(needle);
}

static void remove_first(char *s, const char *what) {
  char *p = strstr(s, what);
  if (p) memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
}

/* nextval('users_id_seq'::regclass) on an integer column is SERIAL: the
 * sequence's name depends on the table's history (a renamed table keeps
 * it), not on the schema. */
static int serial_type(lm_schema_column *col) {
  static const char *const ints[][2] = {
      {"integer", "serial"}, {"bigint", "bigserial"}, {"smallint", "smallserial"}};
  const char *d = col->def;
  size_t n = d ? strlen(d) : 0;
  if (n < 20 || strncmp(d, "nextval('", 9) != 0 || strcmp(d + n - 12, "'::regclass)") != 0)
    return 0;
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    if (strcmp(col->type, ints[i][0]) != 0) continue;
    free(col->type);
    col->type = lm_xstrdup(ints[i][1]);
    free(col->def);
    col->def = NULL;
    return 1;
  }
  return 0;
}

/* confdeltype / confupdtype: NULL for NO ACTION. */
static const char *pg_fk_action(const char *c) {
  if (!c) return NULL;
  switch (*c) {
  case 'r': return "RESTRICT";
  case 'c': return "CASCADE";
  case 'n': return "SET NULL";
  case 'd': return "SET DEFAULT";
  }
  return NULL;
}

/* pg_get_indexdef(oid, k, true) quotes a column name only when it must. */
static void unquote_ident(char *s) {
  size_t n = strlen(s);
  if (n < 2 || s[0] != '"' || s[n - 1] != '"') return;
  size_t w = 0;
  for (size_t i = 1; i + 1 < n; i++) {
    s[w++] = s[i];
    if (s[i] == '"' && s[i + 1] == '"') i++;
  }
  s[w] = 0;
}

static int name_cmp(const void *key, const void *elem) {
  return strcmp(key, (*(lm_schema_table *const *)elem)->name);
}

static lm_schema_table *find_sorted(const lm_schema *s, const char *name) {
  if (!name || s->ntables == 0) return NULL;
  lm_schema_table **t = bsearch(name, s->tables, (size_t)s->ntables, sizeof *s->tables, name_cmp);
  return t ? *t : NULL;
}

static int read_pg(const lm_dialect *d, lm_conn *c, const char *vt_schema, const char *vt_table,
                   lm_schema *s) {
  rows r;
  int rc = query_rows(d, c, "SELECT current_schema(), quote_ident(current_schema())", NULL, &r);
  if (rc) return rc;
  if (r.n != 1 || !cell(&r, 0, 0)) {
    rows_free(&r);
    return lm_error_set(LM_EDB, "the connection has no current schema (check search_path)");
  }
  char *schema = lm_xstrdup(cell(&r, 0, 0)), *qschema = lm_xstrdup(cell(&r, 0, 1));
  rows_free(&r);
  /* the version table is luamig's, when it lives in this schema */
  const char *skip = !vt_schema || strcmp(vt_schema, schema) == 0 ? vt_table : NULL;

  rc = query_rows(
      d, c, "SELECT c.relname FROM pg_catalog.pg_class c" PG_REL_JOIN "AND c.relkind IN ('r', 'p')",
      NULL, &r);
  for (int i = 0; !rc && i < r.n; i++)
    if (!skip || strcmp(cell(&r, i, 0), skip) != 0) lm_schema_add_table(s, cell(&r, i, 0));
  rows_free(&r);
  /* every row below is handed to its table by name: sorted once, searched often */
  lm_schema_sort(s);

  if (!rc) rc = query_rows(d, c, PG_COLUMNS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, cell(&r, i, 0));
    if (!t) continue;
    lm_schema_column *col =
        lm_schema_add_column(t, cell(&r, i, 1), cell(&r, i, 2), cell_int(&r, i, 3), cell(&r, i, 4));
    const char *identity = cell(&r, i, 5), *generated = cell(&r, i, 6);
    if (identity && *identity == 'a') col->extra = lm_xstrdup("GENERATED ALWAYS AS IDENTITY");
    if (identity && *identity == 'd') col->extra = lm_xstrdup("GENERATED BY DEFAULT AS IDENTITY");
    if (generated && *generated == 's' && col->def) {
      col->extra = lm_xasprintf("GENERATED ALWAYS AS (%s) STORED", col->def);
      free(col->def);
      col->def = NULL;
    }
    if (!col->extra) serial_type(col);
    col->comment = lm_xstrdup(cell(&r, i, 7));
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_CONSTRAINTS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, cell(&r, i, 0));
    const char *type = cell(&r, i, 2);
    int kind = !type          ? LM_SCON_CHECK
               : *type == 'p' ? LM_SCON_PK
               : *type == 'u' ? LM_SCON_UNIQUE
               : *type == 'f' ? LM_SCON_FK
               : *type == 'x' ? LM_SCON_EXCLUDE
                              : LM_SCON_CHECK;
    if (!t) continue;
    lm_schema_item *it = lm_schema_add_constraint(t, kind, cell(&r, i, 1), cell(&r, i, 3));
    lm_schema_item_add_joined(it, cell(&r, i, 4), 0);
    if (kind == LM_SCON_FK) {
      it->ref_table = lm_xstrdup(cell(&r, i, 5));
      lm_schema_item_add_joined(it, cell(&r, i, 6), 1);
      it->ondelete = lm_xstrdup(pg_fk_action(cell(&r, i, 7)));
      it->onupdate = lm_xstrdup(pg_fk_action(cell(&r, i, 8)));
    }
    if (kind == LM_SCON_CHECK) it->expr = lm_xstrdup(cell(&r, i, 9));
    if (kind == LM_SCON_PK) mark_pk(t, it);
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_INDEXES, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, cell(&r, i, 0));
    if (!t) continue;
    char *def = lm_xstrdup(cell(&r, i, 2) ? cell(&r, i, 2) : "");
    unqualify(def, " ON ONLY ", qschema);
    unqualify(def, " ON ", qschema);
    remove_first(def, " USING btree");
    lm_schema_item *it = lm_schema_add_index(t, cell(&r, i, 1), def);
    free(def);
    const char *u = cell(&r, i, 3);
    it->unique = u && (*u == 't' || *u == '1');
    lm_schema_item_add_joined(it, cell(&r, i, 4), 0);
    const char *desc = cell(&r, i, 5);
    for (int k = 0; desc && k < it->ncols; k++) {
      it->desc[k] = *desc == '1';
      desc = strchr(desc, '\x1f');
      if (desc) desc++;
    }
    for (int k = 0; k < it->ncols; k++)
      unquote_ident(it->cols[k]);
    it->expr = lm_xstrdup(cell(&r, i, 6));
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_TRIGGERS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, cell(&r, i, 0));
    if (!t) continue;
    char *def = lm_xstrdup(cell(&r, i, 2) ? cell(&r, i, 2) : "");
    unqualify(def, " ON ", qschema);
    lm_schema_add_trigger(t, cell(&r, i, 1), def);
    free(def);
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_VIEWS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    const char *body = cell(&r, i, 2) ? cell(&r, i, 2) : "";
    int mat = cell(&r, i, 1) && *cell(&r, i, 1) == 'm';
    char *text = norm_sql(body, strlen(body));
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, mat ? "CREATE MATERIALIZED VIEW " : "CREATE VIEW ");
    lm_buf_ident(&b, cell(&r, i, 0));
    lm_buf_printf(&b, " AS %s", text);
    lm_schema_add_object(s, mat ? LM_SOBJ_MATVIEW : LM_SOBJ_VIEW, cell(&r, i, 0), b.s);
    lm_buf_free(&b);
    free(text);
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_SEQUENCES, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "CREATE SEQUENCE ");
    lm_buf_ident(&b, cell(&r, i, 0));
    lm_schema_add_object(s, LM_SOBJ_SEQUENCE, cell(&r, i, 0), b.s);
    lm_buf_free(&b);
  }
  rows_free(&r);

  if (!rc) rc = query_rows(d, c, PG_ENUMS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "CREATE TYPE ");
    lm_buf_ident(&b, cell(&r, i, 0));
    lm_buf_printf(&b, " AS ENUM (%s)", cell(&r, i, 1) ? cell(&r, i, 1) : "");
    lm_schema_add_object(s, LM_SOBJ_TYPE, cell(&r, i, 0), b.s);
    lm_buf_free(&b);
  }
  rows_free(&r);
  free(schema);
  free(qschema);
  return rc;
}

/* ---- entry points --------------------------------------------------------------------- */

int lm_schema_read(const lm_dialect *d, lm_conn *c, const char *vt_schema, const char *vt_table,
                   lm_schema **out) {
  *out = NULL;
  lm_schema *s = lm_schema_new();
  const char *vt = vt_table && *vt_table ? vt_table : "luamig_version";
  int rc = d->id == LM_POSTGRESQL ? read_pg(d, c, vt_schema, vt, s) : read_sqlite(d, c, vt, s);
  if (rc) {
    lm_error_prefix("cannot read the database schema");
    lm_schema_free(s);
    return rc;
  }
  lm_schema_sort(s);
  *out = s;
  return 0;
}

int lm_schema_read_url(lm_project *p, const lm_url *url, lm_schema **out) {
  *out = NULL;
  const lm_dialect *d = lm_dialect_find(url->dialect);
  if (!d) return lm_error_set(LM_ECONFIG, "no dialect for %s", url->masked);
  lm_conn *c = NULL;
  int rc = lm_dialect_open(d, &c, url);
  if (rc) return rc;
  const char *vts = d->id == LM_POSTGRESQL ? p->config->version_table_schema : NULL;
  rc = lm_schema_read(d, c, vts, p->config->version_table, out);
  lm_dialect_close(d, c);
  return rc;
}
