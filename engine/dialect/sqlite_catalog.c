/* SQLite's catalog: the schema model (engine/schema.h) read from a live
 * database.
 *
 * SQLite keeps most facts in pragmas (pragma_table_xinfo, index_list,
 * index_xinfo, foreign_key_list), which describe a table the same way however
 * its CREATE TABLE was worded (a table rebuilt by move-and-copy has new text
 * but the same pragmas). What the pragmas do not give — CHECK constraints,
 * constraint names, the WHERE of a partial index, expression index columns —
 * is read from the stored SQL with a small tokenizer. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "sqlite_catalog.h"

static size_t match_paren(const char *s, size_t n, size_t open) {
  int depth = 0;
  for (size_t i = open; i < n; i++) {
    char ch = s[i];
    if (ch == '\'' || ch == '"' || ch == '`' || ch == '[') {
      i = lm_sql_skip_quoted(s, n, i) - 1;
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
      i = lm_sql_skip_quoted(s, n, i);
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
  return lm_catalog_norm_sql(s, (size_t)(e - s));
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

static int sqlite_columns(const lm_dialect *d, lm_conn *c, lm_schema_table *t, table_text *tt) {
  lm_rows r;
  int rc = lm_rows_query(d, c,
                         "SELECT name, type, \"notnull\", dflt_value, pk, hidden "
                         "FROM pragma_table_xinfo($1) ORDER BY cid",
                         t->name, &r);
  if (rc) return rc;
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
  lm_rows_free(&r);
  return 0;
}

/* CREATE [UNIQUE] INDEX name ON table (cols) [WHERE …]: columns from the
 * pragma, expressions and the WHERE from the stored text. */
static int sqlite_index(const lm_dialect *d, lm_conn *c, lm_schema_table *t, const char *name,
                        int unique, const char *sql) {
  lm_rows r;
  int rc = lm_rows_query(d, c,
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
  if (close + 1 < k.n && is_kw(&k, close + 1, "WHERE")) {
    where = tok_text(&k, close + 2, k.n - 1);
    lm_buf_printf(&b, " WHERE %s", where);
  }
  lm_schema_item *it = lm_schema_add_index(t, name, b.s);
  it->unique = unique;
  it->expr = where;
  for (int i = 0; i < r.n; i++) {
    int expr = lm_rows_int(&r, i, 0) == -2 || !lm_rows_cell(&r, i, 1);
    lm_schema_item_add_col(it, expr ? (i < nitems ? items[i] : "?") : lm_rows_cell(&r, i, 1),
                           lm_rows_int(&r, i, 2));
  }
  lm_buf_free(&b);
  free_strv(items, nitems);
  free(k.v);
  lm_rows_free(&r);
  return 0;
}

static int sqlite_indexes(const lm_dialect *d, lm_conn *c, lm_schema_table *t, table_text *tt,
                          const lm_rows *master) {
  lm_rows r;
  int rc = lm_rows_query(d, c, "SELECT name, \"unique\", origin FROM pragma_index_list($1)",
                         t->name, &r);
  for (int i = 0; i < r.n && !rc; i++) {
    const char *name = lm_rows_cell(&r, i, 0), *origin = lm_rows_cell(&r, i, 2);
    if (origin && strcmp(origin, "pk") == 0) continue; /* the table's PRIMARY KEY */
    if (origin && strcmp(origin, "u") == 0) {
      lm_rows ic;
      rc = lm_rows_query(d, c, "SELECT name FROM pragma_index_info($1) ORDER BY seqno", name, &ic);
      if (rc) break;
      char **cols = lm_xcalloc((size_t)ic.n + 1, sizeof *cols);
      for (int j = 0; j < ic.n; j++)
        cols[j] = lm_xstrdup(lm_rows_cell(&ic, j, 0) ? lm_rows_cell(&ic, j, 0) : "");
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
      lm_rows_free(&ic);
      continue;
    }
    const char *sql = NULL;
    for (int j = 0; j < master->n; j++)
      if (strcmp(lm_rows_cell(master, j, 0), "index") == 0 &&
          strcmp(lm_rows_cell(master, j, 1), name) == 0)
        sql = lm_rows_cell(master, j, 3);
    rc = sqlite_index(d, c, t, name, lm_rows_int(&r, i, 1), sql);
  }
  lm_rows_free(&r);
  return rc;
}

static const char *fk_action(const char *a) {
  return a && *a && strcasecmp(a, "NO ACTION") != 0 ? a : NULL;
}

static int sqlite_foreign_keys(const lm_dialect *d, lm_conn *c, lm_schema_table *t,
                               table_text *tt) {
  lm_rows r;
  int rc = lm_rows_query(d, c,
                         "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" "
                         "FROM pragma_foreign_key_list($1) ORDER BY id, seq",
                         t->name, &r);
  if (rc) return rc;
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
        lm_schema_add_constraint(t, LM_SCON_FK, name_of(tt, LM_SCON_FK, from, n), b.s);
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
  lm_rows_free(&r);
  return 0;
}

int lm_sqlite_reflect_schema(lm_conn *c, const char *vt_schema, const char *vt_table,
                             lm_schema *s) {
  LM_UNUSED(vt_schema);
  const lm_dialect *d = &lm_dialect_sqlite;
  lm_rows m;
  int rc = lm_rows_query(d, c,
                         "SELECT type, name, tbl_name, sql FROM sqlite_master "
                         "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                         NULL, &m);
  if (rc) return rc;
  for (int i = 0; i < m.n && !rc; i++) {
    const char *type = lm_rows_cell(&m, i, 0), *name = lm_rows_cell(&m, i, 1),
               *sql = lm_rows_cell(&m, i, 3);
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
  return rc;
}
