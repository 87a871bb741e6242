/* Normalisation of SQL types, defaults and expressions for the comparison of
 * a model with a database (compare.c). Each dialect spells the same thing
 * its own way — PostgreSQL's format_type says `character varying(255)`
 * where the model renders `VARCHAR(255)`, pg_get_expr adds casts
 * (`'pending'::character varying`) and parentheses, SQLite keeps a DEFAULT
 * as written — and a comparison of the raw texts would report differences
 * that are not there, the commonest complaint about autogenerate tools. The
 * canonical forms here are only compared, never run. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"

static int word_ch(unsigned char c) { return isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

/* Lower case, whitespace runs to one space, none next to ( ) , */
static char *squeeze(const char *t) {
  lm_buf b;
  lm_buf_init(&b);
  int gap = 0;
  for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
    if (isspace(*p)) {
      gap = 1;
      continue;
    }
    if (gap && b.len && b.s[b.len - 1] != '(' && b.s[b.len - 1] != ',' && *p != '(' && *p != ')' &&
        *p != ',')
      lm_buf_putc(&b, ' ');
    gap = 0;
    lm_buf_putc(&b, (char)tolower(*p));
  }
  return lm_buf_steal(&b);
}

static const struct {
  const char *from, *to;
} TYPE_ALIASES[] = {
    {"int", "integer"},
    {"int4", "integer"},
    {"serial", "integer"},
    {"serial4", "integer"},
    {"int8", "bigint"},
    {"bigserial", "bigint"},
    {"serial8", "bigint"},
    {"int2", "smallint"},
    {"smallserial", "smallint"},
    {"serial2", "smallint"},
    {"character varying", "varchar"},
    {"bool", "boolean"},
    {"decimal", "numeric"},
    {"float8", "double precision"},
    {"float4", "real"},
    {"timestamp without time zone", "timestamp"},
    {"datetime", "timestamp"},
    {"timestamp with time zone", "timestamptz"},
    {"time without time zone", "time"},
    {"time with time zone", "timetz"},
    {"character", "char"},
    {"bpchar", "char"},
};

char *lm_norm_type(const char *type) {
  if (!type) return lm_xstrdup("");
  char *s = squeeze(type);
  /* the name and its arguments */
  char *open = strchr(s, '(');
  char *name = open ? lm_xstrndup(s, (size_t)(open - s)) : lm_xstrdup(s);
  const char *args = open ? open : "";
  size_t n = strlen(name);
  while (n && name[n - 1] == ' ')
    name[--n] = 0;
  const char *canon = name;
  for (size_t i = 0; i < sizeof TYPE_ALIASES / sizeof *TYPE_ALIASES; i++)
    if (strcmp(name, TYPE_ALIASES[i].from) == 0) canon = TYPE_ALIASES[i].to;
  /* "timestamp(6) with time zone": the precision sits in the middle */
  char *out;
  const char *close = open ? strchr(open, ')') : NULL;
  if (close &&
      (strcmp(close + 1, " with time zone") == 0 || strcmp(close + 1, " without time zone") == 0)) {
    char *tail = lm_xasprintf("%.*s%s", (int)(open - s), s, close + 1);
    char *inner = lm_norm_type(tail);
    out = lm_xasprintf("%s%.*s", inner, (int)(close - open + 1), open);
    free(tail);
    free(inner);
  } else {
    out = lm_xasprintf("%s%s", canon, args);
  }
  /* numeric(10, 2) and numeric(10,2); char without a length is char(1) */
  if (strcmp(out, "char") == 0) {
    free(out);
    out = lm_xstrdup("char(1)");
  }
  free(name);
  free(s);
  return out;
}

int lm_norm_type_is(const char *ntype, const char *family) {
  if (!ntype) return 0;
  if (strcmp(family, "bool") == 0) return strcmp(ntype, "boolean") == 0;
  if (strcmp(family, "string") == 0)
    return strcmp(ntype, "text") == 0 || strncmp(ntype, "varchar", 7) == 0 ||
           strncmp(ntype, "char(", 5) == 0 || strcmp(ntype, "citext") == 0;
  if (strcmp(family, "number") == 0)
    return strcmp(ntype, "integer") == 0 || strcmp(ntype, "bigint") == 0 ||
           strcmp(ntype, "smallint") == 0 || strncmp(ntype, "numeric", 7) == 0 ||
           strcmp(ntype, "real") == 0 || strcmp(ntype, "double precision") == 0;
  return 0;
}

/* ---- expressions ----------------------------------------------------------------- */

typedef struct ntok {
  char t; /* 'w' word, 's' string, 'n' number, 'i' quoted identifier, 'p' punctuation */
  char *s;
  size_t at, end; /* where the token is in the source text */
} ntok;

typedef struct ntoks {
  ntok *v;
  int n, cap;
} ntoks;

static void push(ntoks *k, char t, const char *s, size_t n) {
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 32;
    k->v = lm_xrealloc(k->v, (size_t)k->cap * sizeof *k->v);
  }
  k->v[k->n].t = t;
  k->v[k->n].s = lm_xstrndup(s, n);
  k->v[k->n].at = k->v[k->n].end = 0;
  k->n++;
}

static void toks_free(ntoks *k) {
  for (int i = 0; i < k->n; i++)
    free(k->v[i].s);
  free(k->v);
}

static size_t skip_quote(const char *s, size_t n, size_t i) {
  char q = s[i];
  for (i++; i < n; i++) {
    if (s[i] != q) continue;
    if (i + 1 < n && s[i + 1] == q) {
      i++;
      continue;
    }
    return i + 1;
  }
  return n;
}

/* Whether the quote at s[i] opens an escape string: E'...' (PostgreSQL),
 * the E not the end of a longer word. */
static int e_string_at(const char *s, size_t i) {
  return i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') &&
         (i < 2 || !word_ch((unsigned char)s[i - 2]));
}

/* The end of the string literal whose quote is s[i]: in an escape string a
 * backslash escapes the next character (\' is a quote inside it). */
static size_t skip_string(const char *s, size_t n, size_t i) {
  if (s[i] != '\'' || !e_string_at(s, i)) return skip_quote(s, n, i);
  for (i++; i < n; i++) {
    if (s[i] == '\\') {
      i++;
      continue;
    }
    if (s[i] != '\'') continue;
    if (i + 1 < n && s[i + 1] == '\'') {
      i++;
      continue;
    }
    return i + 1;
  }
  return n;
}

/* Up to max digits of base at s, their value in *v; how many were read. */
static size_t digits(const char *s, int base, size_t max, unsigned long *v) {
  size_t k = 0;
  *v = 0;
  for (; k < max && s[k]; k++) {
    int c = (unsigned char)s[k], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      break;
    if (d >= base) break;
    *v = *v * (unsigned long)base + (unsigned long)d;
  }
  return k;
}

/* The text of an escape string's body (between its quotes): PostgreSQL's
 * backslash escapes and doubled quotes. */
static void put_e_body(lm_buf *b, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'') {
      lm_buf_putc(b, '\'');
      i++;
      continue;
    }
    if (s[i] != '\\' || i + 1 >= n) {
      lm_buf_putc(b, s[i]);
      continue;
    }
    char c = s[++i];
    unsigned long v;
    size_t k;
    switch (c) {
    case 'b': lm_buf_putc(b, '\b'); break;
    case 'f': lm_buf_putc(b, '\f'); break;
    case 'n': lm_buf_putc(b, '\n'); break;
    case 'r': lm_buf_putc(b, '\r'); break;
    case 't': lm_buf_putc(b, '\t'); break;
    case 'x':
      if ((k = digits(s + i + 1, 16, 2, &v)) > 0) {
        lm_buf_putc(b, (char)v);
        i += k;
      } else {
        lm_buf_putc(b, c);
      }
      break;
    case 'u':
    case 'U':
      if ((k = digits(s + i + 1, 16, c == 'u' ? 4 : 8, &v)) == (c == 'u' ? 4u : 8u)) {
        lm_buf_put_utf8(b, v);
        i += k;
      } else {
        lm_buf_putc(b, c);
      }
      break;
    default:
      if (c >= '0' && c <= '7') {
        k = digits(s + i, 8, 3, &v);
        lm_buf_putc(b, (char)v);
        i += k - 1;
      } else {
        lm_buf_putc(b, c);
      }
    }
  }
}

static void lex(const char *s, ntoks *out) {
  memset(out, 0, sizeof *out);
  size_t n = strlen(s), i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    size_t st = i;
    const size_t from = i;
    if (isspace(c)) {
      i++;
      continue;
    }
    if (c == '-' && i + 1 < n && s[i + 1] == '-') {
      while (i < n && s[i] != '\n')
        i++;
      continue;
    }
    if ((c == 'E' || c == 'e') && i + 1 < n && s[i + 1] == '\'') {
      /* E'a\\b' and 'a\b' are the same text: kept in the standard spelling */
      st = ++i;
      i = skip_string(s, n, i);
      lm_buf t, q;
      lm_buf_init(&t);
      lm_buf_init(&q);
      put_e_body(&t, s + st + 1, i - st >= 2 ? i - st - 2 : 0);
      lm_buf_literal(&q, t.s ? t.s : "", t.len);
      push(out, 's', q.s, q.len);
      lm_buf_free(&t);
      lm_buf_free(&q);
    } else if (c == '\'') {
      i = skip_quote(s, n, i);
      push(out, 's', s + st, i - st);
    } else if (c == '"' || c == '`') {
      i = skip_quote(s, n, i);
      /* a quoted identifier stands for its name */
      lm_buf b;
      lm_buf_init(&b);
      for (size_t j = st + 1; j + 1 < i; j++) {
        lm_buf_putc(&b, s[j]);
        if (s[j] == (char)c && s[j + 1] == (char)c) j++;
      }
      push(out, 'i', b.s ? b.s : "", b.len);
      lm_buf_free(&b);
    } else if (isdigit(c) || (c == '.' && i + 1 < n && isdigit((unsigned char)s[i + 1]))) {
      while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.'))
        i++;
      push(out, 'n', s + st, i - st);
    } else if (word_ch(c)) {
      while (i < n && word_ch((unsigned char)s[i]))
        i++;
      char *w = lm_xstrndup(s + st, i - st);
      for (char *p = w; *p; p++)
        *p = (char)tolower((unsigned char)*p);
      push(out, 'w', w, strlen(w));
      free(w);
    } else {
      i++;
      push(out, 'p', s + st, 1);
    }
    out->v[out->n - 1].at = from;
    out->v[out->n - 1].end = i;
  }
}

static int is_p(const ntoks *k, int i, char c) {
  return i >= 0 && i < k->n && k->v[i].t == 'p' && k->v[i].s[0] == c;
}

static int is_w(const ntoks *k, int i, const char *w) {
  return i >= 0 && i < k->n && k->v[i].t == 'w' && strcmp(k->v[i].s, w) == 0;
}

/* The words a type name may go on with: `character varying`, `double
 * precision`, `timestamp without time zone`. */
static int type_word(const char *w) {
  static const char *const more[] = {"varying", "precision", "without", "with",
                                     "time",    "zone",      NULL};
  for (int i = 0; more[i]; i++)
    if (strcmp(w, more[i]) == 0) return 1;
  return 0;
}

static int number_text(const char *s);

/* Marks the tokens of every `::type` cast (and `[]` suffixes) for removal;
 * a number PostgreSQL keeps as a string cast to a number type ('-1'::integer)
 * is that number again. */
static void drop_casts(ntoks *k, char *gone) {
  static const char *const numeric[] = {"integer", "bigint", "smallint", "numeric",
                                        "real",    "double", "int",      NULL};
  for (int i = 0; i + 1 < k->n; i++) {
    if (!(is_p(k, i, ':') && is_p(k, i + 1, ':'))) continue;
    if (i > 0 && k->v[i - 1].t == 's' && i + 2 < k->n && k->v[i + 2].t == 'w') {
      ntok *lit = &k->v[i - 1];
      size_t n = strlen(lit->s);
      for (int t = 0; numeric[t] && n > 2; t++) {
        if (strcmp(k->v[i + 2].s, numeric[t]) != 0) continue;
        char *inner = lm_xstrndup(lit->s + 1, n - 2);
        if (number_text(inner)) {
          free(lit->s);
          lit->s = inner;
          lit->t = 'n';
        } else {
          free(inner);
        }
        break;
      }
    }
    int j = i + 2;
    if (j < k->n && (k->v[j].t == 'w' || k->v[j].t == 'i')) {
      j++;
      while (j < k->n && k->v[j].t == 'w' && type_word(k->v[j].s))
        j++;
      if (is_p(k, j, '(')) {
        int e = j;
        while (e < k->n && !is_p(k, e, ')'))
          e++;
        if (e < k->n) j = e + 1;
      }
      while (is_p(k, j, '[') && is_p(k, j + 1, ']'))
        j += 2;
    }
    for (int m = i; m < j && m < k->n; m++)
      gone[m] = 1;
    i = j - 1;
  }
}

/* interval '1 day', DATE '2020-01-01': a typed literal is the string cast
 * to the type, which PostgreSQL keeps as '1 day'::interval (whose cast
 * drop_casts removes): the type word goes too. */
static void drop_typed_literals(ntoks *k, char *gone) {
  static const char *const types[] = {"interval", "date", "time", "timestamp", "timestamptz", NULL};
  for (int i = 0; i + 1 < k->n; i++) {
    if (k->v[i].t != 'w' || k->v[i + 1].t != 's') continue;
    if (i >= 2 && is_p(k, i - 1, ':') && is_p(k, i - 2, ':')) continue;
    for (int t = 0; types[t]; t++)
      if (strcmp(k->v[i].s, types[t]) == 0) gone[i] = 1;
  }
}

/* LIKE is PostgreSQL's ~~ (ILIKE ~~*, NOT LIKE !~~), as it gives them back. */
static void like_to_tilde(ntoks *k, char *gone) {
  for (int i = 0; i < k->n; i++) {
    int ilike = is_w(k, i, "ilike");
    if (!ilike && !is_w(k, i, "like")) continue;
    int neg = i > 0 && is_w(k, i - 1, "not") && !gone[i - 1];
    if (neg) gone[i - 1] = 1;
    free(k->v[i].s);
    k->v[i].t = 'p';
    k->v[i].s = lm_xstrdup(neg ? (ilike ? "!~~*" : "!~~") : (ilike ? "~~*" : "~~"));
  }
}

/* x = ANY (ARRAY[a, b]) is how PostgreSQL keeps x IN (a, b). */
static void any_array_to_in(ntoks *k, char *gone) {
  for (int i = 0; i < k->n; i++) {
    if (!(is_p(k, i, '=') && is_w(k, i + 1, "any"))) continue;
    int j = i + 2;
    while (j < k->n && (is_p(k, j, '(') || gone[j]))
      j++;
    if (!is_w(k, j, "array") || !is_p(k, j + 1, '[')) continue;
    free(k->v[i].s);
    k->v[i].t = 'w';
    k->v[i].s = lm_xstrdup("in");
    gone[i + 1] = 1;
    gone[j] = 1;
    int depth = 0;
    for (int m = j + 1; m < k->n; m++) {
      if (is_p(k, m, '[')) depth++;
      if (is_p(k, m, ']') && --depth == 0) {
        gone[j + 1] = gone[m] = 1;
        break;
      }
    }
  }
}

static int reserved_word(const char *name);

static int is_term(const ntok *t) {
  return t->t == 'w' || t->t == 'i' || t->t == 'n' || t->t == 's';
}

/* Inserts a token before k->v[at]. */
static void insert_tok(ntoks *k, int at, char t, const char *s) {
  push(k, t, s, strlen(s));
  ntok moved = k->v[k->n - 1];
  memmove(&k->v[at + 1], &k->v[at], sizeof *k->v * (size_t)(k->n - 1 - at));
  k->v[at] = moved;
}

/* x BETWEEN a AND b is what PostgreSQL keeps as x >= a AND x <= b (NOT
 * BETWEEN: x < a OR x > b); rewritten so, where x is one term at the start
 * of a condition. k holds no parentheses any more. */
static void between_to_range(ntoks *k) {
  for (int i = 1; i + 1 < k->n; i++) {
    int neg = is_w(k, i, "not") && is_w(k, i + 1, "between");
    if (!neg && !is_w(k, i, "between")) continue;
    const ntok *x = &k->v[i - 1];
    if (!is_term(x) || (x->t == 'w' && reserved_word(x->s))) continue;
    if (i >= 2 && !(k->v[i - 2].t == 'p' || is_w(k, i - 2, "and") || is_w(k, i - 2, "or") ||
                    is_w(k, i - 2, "not") || is_w(k, i - 2, "where")))
      continue;
    int lo = i + 1 + neg, mid = lo; /* x between lo… and (mid) … */
    while (mid < k->n && !is_w(k, mid, "and"))
      mid++;
    if (mid == lo || mid + 1 >= k->n || is_w(k, lo, "symmetric")) continue;
    /* -> x >= lo… and x <= … (NOT: x < lo… or x > …) */
    char xt = x->t, *xs = lm_xstrdup(x->s);
    free(k->v[i].s);
    k->v[i].t = 'p';
    k->v[i].s = lm_xstrdup(neg ? "<" : ">=");
    if (neg) { /* the NOT goes: its place is the operator's */
      free(k->v[i + 1].s);
      memmove(&k->v[i + 1], &k->v[i + 2], sizeof *k->v * (size_t)(k->n - i - 2));
      k->n--;
      mid--;
    }
    free(k->v[mid].s);
    k->v[mid].s = lm_xstrdup(neg ? "or" : "and");
    insert_tok(k, mid + 1, xt, xs);
    insert_tok(k, mid + 2, 'p', neg ? ">" : "<=");
    free(xs);
    i = mid + 2;
  }
}

char *lm_norm_expr(const char *expr) {
  if (!expr) return NULL;
  ntoks all;
  lex(expr, &all);
  char *gone = lm_xcalloc((size_t)all.n + 1, 1);
  drop_casts(&all, gone);
  drop_typed_literals(&all, gone);
  like_to_tilde(&all, gone);
  any_array_to_in(&all, gone);
  /* what is left, without parentheses: they say nothing two spellings
   * agree on (PostgreSQL adds them) */
  ntoks k = {0};
  for (int i = 0; i < all.n; i++) {
    ntok *t = &all.v[i];
    if (gone[i] || (t->t == 'p' && (t->s[0] == '(' || t->s[0] == ')'))) continue;
    push(&k, t->t, t->s, strlen(t->s));
  }
  free(gone);
  toks_free(&all);
  between_to_range(&k);
  lm_buf b;
  lm_buf_init(&b);
  char prev = 0;
  for (int i = 0; i < k.n; i++) {
    ntok *t = &k.v[i];
    int wordish = t->t != 'p';
    if (wordish && prev && prev != 'p') lm_buf_putc(&b, ' ');
    if (t->t == 'p' && t->s[0] == '!' && is_p(&k, i + 1, '=')) {
      lm_buf_puts(&b, "<>");
      i++;
      prev = 'p';
      continue;
    }
    lm_buf_puts(&b, t->s);
    prev = t->t;
  }
  toks_free(&k);
  if (!b.s) return lm_xstrdup("");
  return lm_buf_steal(&b);
}

int lm_expr_same(const char *a, const char *b) {
  if (!a || !b) return !a && !b;
  char *x = lm_norm_expr(a), *y = lm_norm_expr(b);
  int eq = strcmp(x, y) == 0;
  free(x);
  free(y);
  return eq;
}

/* ---- defaults ------------------------------------------------------------------- */

static int number_text(const char *s) {
  int digits = 0;
  if (*s == '-' || *s == '+') s++;
  while (isdigit((unsigned char)*s))
    s++, digits++;
  if (*s == '.') {
    s++;
    while (isdigit((unsigned char)*s))
      s++, digits++;
  }
  if (!digits) return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    if (!isdigit((unsigned char)*s)) return 0;
    while (isdigit((unsigned char)*s))
      s++;
  }
  return *s == 0;
}

int lm_norm_is_number(const char *s) { return s && number_text(s); }

/* 1.50 and 1.5 are the same default; so are +1 and 1. */
static char *canon_number(const char *s) {
  if (*s == '+') s++;
  char *c = lm_xstrdup(s);
  if (strchr(c, '.') && !strpbrk(c, "eE")) {
    size_t n = strlen(c);
    while (n && c[n - 1] == '0')
      c[--n] = 0;
    if (n && c[n - 1] == '.') c[--n] = 0;
    if (!n || strcmp(c, "-") == 0) {
      free(c);
      c = lm_xstrdup("0");
    }
  }
  return c;
}

/* 'it''s' → it's, E'a\\b' → a\b; NULL when s is not exactly one string
 * literal. */
static char *literal_text(const char *s) {
  size_t n = strlen(s);
  lm_buf b;
  lm_buf_init(&b);
  if (n >= 3 && (s[0] == 'E' || s[0] == 'e') && s[1] == '\'') {
    if (skip_string(s, n, 1) != n) return NULL;
    put_e_body(&b, s + 2, n - 3);
    if (!b.s) return lm_xstrdup("");
    return lm_buf_steal(&b);
  }
  if (n < 2 || s[0] != '\'' || skip_quote(s, n, 0) != n) return NULL;
  for (size_t i = 1; i + 1 < n; i++) {
    lm_buf_putc(&b, s[i]);
    if (s[i] == '\'' && s[i + 1] == '\'') i++;
  }
  if (!b.s) return lm_xstrdup("");
  return lm_buf_steal(&b);
}

/* Removes a cast at the top level of a default: `'x'::character varying`,
 * `'{}'::jsonb`, `(0)::numeric`. */
static char *strip_top_cast(const char *s) {
  /* the last cast outside parentheses, when only its type follows it: in
   * '2020-01-01'::date + 1 or 'x'::text || 'y' the cast is part of an
   * expression, not of the whole default */
  size_t n = strlen(s), cut = n;
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\'' || s[i] == '"') {
      i = skip_string(s, n, i) - 1;
      continue;
    }
    if (s[i] == '(') depth++;
    if (s[i] == ')') depth--;
    if (depth == 0 && s[i] == ':' && i + 1 < n && s[i + 1] == ':') cut = i++;
  }
  if (cut < n) {
    /* a type: names, quoted names, dots, (precision, scale), [] */
    for (size_t i = cut + 2; i < n; i++) {
      if (s[i] == '"') {
        i = skip_string(s, n, i) - 1;
        continue;
      }
      if (!isalnum((unsigned char)s[i]) && !strchr("_ .(),[]", s[i])) {
        cut = n;
        break;
      }
    }
  }
  char *r = lm_xstrndup(s, cut);
  size_t m = strlen(r);
  while (m && isspace((unsigned char)r[m - 1]))
    r[--m] = 0;
  return r;
}

/* Outer parentheses that wrap the whole text. */
static char *strip_outer_parens(char *s) {
  for (;;) {
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
      s[--n] = 0;
    size_t lead = 0;
    while (isspace((unsigned char)s[lead]))
      lead++;
    if (lead) memmove(s, s + lead, strlen(s + lead) + 1), n -= lead;
    if (n < 2 || s[0] != '(' || s[n - 1] != ')') return s;
    int depth = 0;
    size_t i;
    for (i = 0; i < n; i++) {
      if (s[i] == '\'' || s[i] == '"') {
        i = skip_string(s, n, i) - 1;
        continue;
      }
      if (s[i] == '(') depth++;
      if (s[i] == ')' && --depth == 0) break;
    }
    if (i != n - 1) return s;
    memmove(s, s + 1, n - 2);
    s[n - 2] = 0;
  }
}

char *lm_norm_default_raw(const char *def) {
  if (!def) return NULL;
  char *s = strip_outer_parens(lm_xstrdup(def));
  /* a cast, possibly in parentheses of its own: ('a'::text)::character varying */
  for (int guard = 0; guard < 8; guard++) {
    char *c = strip_top_cast(s);
    int same = strcmp(c, s) == 0;
    free(s);
    s = strip_outer_parens(c);
    if (same) break;
  }
  return s;
}

char *lm_norm_literal(const char *s) { return literal_text(s); }

char *lm_norm_default(const char *def, const char *ntype) {
  if (!def) return NULL;
  char *s = lm_norm_default_raw(def);
  if (!*s || strcasecmp(s, "null") == 0) {
    free(s);
    return NULL;
  }
  int is_bool = lm_norm_type_is(ntype, "bool"), is_num = lm_norm_type_is(ntype, "number");
  char *lit = literal_text(s);
  char *out = NULL;
  if (lit) {
    if (is_num && number_text(lit)) {
      out = canon_number(lit);
    } else if (is_bool && (!strcasecmp(lit, "t") || !strcasecmp(lit, "true") || !strcmp(lit, "1") ||
                           !strcasecmp(lit, "y") || !strcasecmp(lit, "yes"))) {
      out = lm_xstrdup("true");
    } else if (is_bool && (!strcasecmp(lit, "f") || !strcasecmp(lit, "false") ||
                           !strcmp(lit, "0") || !strcasecmp(lit, "n") || !strcasecmp(lit, "no"))) {
      out = lm_xstrdup("false");
    } else {
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_literal(&b, lit, strlen(lit));
      out = lm_buf_steal(&b);
    }
    free(lit);
  } else if (number_text(s)) {
    out = canon_number(s);
    if (is_bool && strcmp(out, "1") == 0) {
      free(out);
      out = lm_xstrdup("true");
    } else if (is_bool && strcmp(out, "0") == 0) {
      free(out);
      out = lm_xstrdup("false");
    }
  } else {
    out = lm_norm_expr(s);
    /* the same moment, spelt three ways */
    if (!strcmp(out, "current_timestamp") || !strcmp(out, "now") ||
        !strcmp(out, "transaction_timestamp")) {
      free(out);
      out = lm_xstrdup("now");
    }
  }
  free(s);
  return out;
}

char *lm_norm_rename_column(const char *expr, const char *from, const char *to) {
  return lm_norm_rename_columns(expr, &from, &to, 1);
}

/* Which of the nr names from[] the name at expr[st..i) is (quoted: q is its
 * quote, exactly; bare: any case), or -1. */
static int renamed_name(const char *expr, size_t st, size_t i, char q, const char *const *from,
                        int nr) {
  for (int r = 0; r < nr; r++) {
    size_t fl = strlen(from[r]);
    if (!fl) continue;
    if (q ? i - st == fl + 2 && expr[i - 1] == q && memcmp(expr + st + 1, from[r], fl) == 0
          : i - st == fl && strncasecmp(expr + st, from[r], fl) == 0)
      return r;
  }
  return -1;
}

char *lm_norm_rename_columns(const char *expr, const char *const *from, const char *const *to,
                             int nr) {
  if (!expr || nr < 1) return NULL;
  size_t n = strlen(expr), i = 0, done = 0;
  lm_buf b;
  lm_buf_init(&b);
  int hits = 0;
  while (i < n) {
    unsigned char c = (unsigned char)expr[i];
    size_t st = i;
    int which = -1;
    if (c == '-' && i + 1 < n && expr[i + 1] == '-') {
      while (i < n && expr[i] != '\n')
        i++;
      continue;
    }
    if (c == '\'') {
      i = skip_string(expr, n, i);
      continue;
    }
    if (isdigit(c)) {
      while (i < n && (isalnum((unsigned char)expr[i]) || expr[i] == '.'))
        i++;
      continue;
    }
    if (c == '"' || c == '`') {
      i = skip_quote(expr, n, i);
      /* "from" names it exactly (no doubled quotes in a column's name here) */
      which = renamed_name(expr, st, i, (char)c, from, nr);
    } else if (word_ch(c)) {
      while (i < n && word_ch((unsigned char)expr[i]))
        i++;
      /* a bare word folds case; one followed by ( is a function */
      size_t j = i;
      while (j < n && isspace((unsigned char)expr[j]))
        j++;
      if (j >= n || expr[j] != '(') which = renamed_name(expr, st, i, 0, from, nr);
    } else {
      i++;
      continue;
    }
    /* t.from names the column too; x.from of another table is rare in a
     * table's own CHECK or index, and read the same way */
    if (which < 0) continue;
    lm_buf_put(&b, expr + done, st - done);
    lm_buf_putc(&b, '"');
    for (const char *p = to[which]; *p; p++) {
      if (*p == '"') lm_buf_putc(&b, '"');
      lm_buf_putc(&b, *p);
    }
    lm_buf_putc(&b, '"');
    done = i;
    hits++;
  }
  if (!hits) {
    lm_buf_free(&b);
    return NULL;
  }
  lm_buf_put(&b, expr + done, n - done);
  return lm_buf_steal(&b);
}

/* Whether a lower-case word is reserved: PostgreSQL's reserved words and
 * the words SQLite cannot take as a name. */
static int reserved_word(const char *name) {
  if (!*name) return 0;
  /* each between blanks */
  static const char words[] =
      " all analyse analyze and any array as asc asymmetric authorization binary "
      "both case cast check collate collation column concurrently constraint create "
      "cross current_catalog current_date current_role current_schema current_time "
      "current_timestamp current_user default deferrable delete desc distinct do "
      "drop else end escape except exists false fetch for foreign freeze from full "
      "grant group having ilike in index initially inner insert intersect into is "
      "isnull join lateral leading left like limit localtime localtimestamp natural "
      "not nothing notnull null offset on only or order outer overlaps placing "
      "primary references returning right select session_user set similar some "
      "symmetric system_user table tablesample then to trailing transaction true "
      "union unique update user using values variadic verbose when where window with ";
  size_t n = strlen(name);
  for (const char *w = strstr(words, name); w; w = strstr(w + 1, name))
    if (w[-1] == ' ' && w[n] == ' ') return 1;
  return 0;
}

int lm_sql_name_needs_quotes(const char *name) {
  if (!name || !((*name >= 'a' && *name <= 'z') || *name == '_')) return 1;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) return 1;
  return reserved_word(name);
}

int lm_sql_plain_name(const char *s, int dotted) {
  if (!s || !*s || (*s >= '0' && *s <= '9')) return 0;
  for (const char *q = s; *q; q++)
    if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
          *q == '_' ||
          (dotted && *q == '.' && q[1] && q[1] != '.' && !(q[1] >= '0' && q[1] <= '9'))))
      return 0;
  return 1;
}

void lm_buf_sql_name(lm_buf *b, const char *name) {
  if (lm_sql_name_needs_quotes(name))
    lm_buf_ident(b, name);
  else
    lm_buf_puts(b, name);
}

/* ---- index entries ---------------------------------------------------------------- */

static int name_tok(const ntoks *k, int i) {
  return i >= 0 && i < k->n && (k->v[i].t == 'w' || k->v[i].t == 'i');
}

/* Whether tokens [lo, hi) can be an index key on their own: one name, or
 * ending in a parenthesis (a call, a parenthesised expression), either
 * perhaps followed by COLLATE name. */
static int whole_key(const ntoks *k, int lo, int hi) {
  if (hi - lo >= 3 && is_w(k, hi - 2, "collate") && name_tok(k, hi - 1)) hi -= 2;
  if (hi - lo == 1) return name_tok(k, lo);
  return hi - lo > 1 && is_p(k, hi - 1, ')');
}

typedef struct index_mods {
  const ntok *collation, *opclass;
  int desc, nulls; /* nulls: 0 as the order's default, 'F', 'L' as written */
} index_mods;

/* Takes the modifiers off the end of the entry in tokens [lo, *hi):
 * key [COLLATE c] [opclass] [ASC | DESC] [NULLS FIRST | LAST]. */
static void take_mods(const ntoks *k, int lo, int *hi, index_mods *m) {
  int n = *hi;
  memset(m, 0, sizeof *m);
  if (n - lo >= 3 && is_w(k, n - 2, "nulls") &&
      (is_w(k, n - 1, "first") || is_w(k, n - 1, "last"))) {
    m->nulls = is_w(k, n - 1, "first") ? 'F' : 'L';
    n -= 2;
  }
  if (n - lo >= 2 && (is_w(k, n - 1, "asc") || is_w(k, n - 1, "desc"))) {
    m->desc = is_w(k, n - 1, "desc");
    n--;
  }
  if (n - lo >= 2 && name_tok(k, n - 1) && !is_w(k, n - 2, "collate") &&
      !(k->v[n - 1].t == 'w' && reserved_word(k->v[n - 1].s)) && whole_key(k, lo, n - 1)) {
    m->opclass = &k->v[n - 1];
    n--;
  }
  if (n - lo >= 3 && is_w(k, n - 2, "collate") && name_tok(k, n - 1)) {
    m->collation = &k->v[n - 1];
    n -= 2;
  }
  *hi = n;
}

/* COLLATE c and the operator class, as one canonical text, or NULL. */
static char *mods_text(const index_mods *m) {
  if (!m->collation && !m->opclass) return NULL;
  lm_buf b;
  lm_buf_init(&b);
  if (m->collation) {
    lm_buf_puts(&b, "COLLATE ");
    lm_buf_sql_name(&b, m->collation->s);
  }
  if (m->opclass) {
    if (b.len) lm_buf_putc(&b, ' ');
    lm_buf_sql_name(&b, m->opclass->s);
  }
  return lm_buf_steal(&b);
}

int lm_norm_index_order(int desc, int nulls) {
  int other = desc ? nulls == 'L' : nulls == 'F';
  return (desc ? LM_INDEX_DESC : 0) | (other ? LM_INDEX_NULLS_OTHER : 0);
}

char *lm_norm_index_method(const char *method) {
  if (!method || !*method || strcasecmp(method, "btree") == 0) return NULL;
  char *m = lm_xstrdup(method);
  for (char *q = m; *q; q++)
    *q = (char)tolower((unsigned char)*q);
  return m;
}

void lm_norm_index_entry(const char *entry, char **key, char **opts, int *order) {
  ntoks k;
  lex(entry ? entry : "", &k);
  int hi = k.n;
  index_mods m;
  take_mods(&k, 0, &hi, &m);
  if (hi == 0) { /* only modifiers: not an entry this reads, kept whole */
    hi = k.n;
    memset(&m, 0, sizeof m);
  }
  if (hi == 1 && k.v[0].t == 'i')
    *key = lm_xstrdup(k.v[0].s); /* "Name": the column Name */
  else if (hi > 0)
    *key = lm_xstrndup(entry + k.v[0].at, k.v[hi - 1].end - k.v[0].at);
  else
    *key = lm_xstrdup(entry ? entry : "");
  *opts = mods_text(&m);
  *order = lm_norm_index_order(m.desc, m.nulls);
  toks_free(&k);
}

void lm_norm_index_def_opts(const char *def, char **opts, int n) {
  for (int i = 0; i < n; i++)
    opts[i] = NULL;
  ntoks k;
  lex(def ? def : "", &k);
  int i = 0;
  while (i + 2 < k.n && !(is_w(&k, i, "using") && k.v[i + 1].t == 'w' && is_p(&k, i + 2, '(')))
    i++;
  /* the entries of the list after USING method, split at its top-level commas */
  int depth = 0, lo = i + 3, nth = 0;
  for (int j = lo; i + 2 < k.n && j < k.n && nth < n; j++) {
    if (!(depth == 0 && (is_p(&k, j, ',') || is_p(&k, j, ')')))) {
      if (is_p(&k, j, '(')) depth++;
      if (is_p(&k, j, ')')) depth--;
      continue;
    }
    int hi = j;
    index_mods m;
    take_mods(&k, lo, &hi, &m);
    if (hi > lo) opts[nth] = mods_text(&m);
    nth++;
    if (is_p(&k, j, ')')) break;
    lo = j + 1;
  }
  toks_free(&k);
}
