/* The Python reader of pyreader.h: tokenizer, then a recursive-descent parser
 * over the token array. Everything lives in one arena (lm_arena) freed with
 * the module. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "pyreader.h"

/* ---- tokens ----------------------------------------------------------------------------- */

typedef enum ttype { T_NAME, T_NUM, T_STR, T_OP, T_NEWLINE, T_INDENT, T_DEDENT, T_END } ttype;

typedef struct tok {
  ttype t;
  int line, eline; /* first and last line of the token */
  const char *s;   /* NAME, NUM, OP: in the source; STR: decoded, in the arena */
  size_t len;
  int fstring, bytes;
  int named; /* STR: a \\N{NAME} escape, kept as written */
} tok;

typedef struct toks {
  tok *v;
  int n, cap;
} toks;

static void tpush(toks *k, ttype t, int line, int eline, const char *s, size_t len) {
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 256;
    k->v = lm_xrealloc(k->v, (size_t)k->cap * sizeof *k->v);
  }
  tok *x = &k->v[k->n++];
  memset(x, 0, sizeof *x);
  x->t = t;
  x->line = line;
  x->eline = eline;
  x->s = s;
  x->len = len;
}

typedef struct lexer {
  const char *p, *end;
  int line;
  lm_arena *A;
  toks k;
  const char *err;
  int err_line;
} lexer;

static int is_id_start(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
static int is_id_char(unsigned char c) { return is_id_start(c) || (c >= '0' && c <= '9'); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A string literal from its quote (the prefix already read). */
static int lex_string(lexer *L, int raw, int bytes, int fstring) {
  const char *p = L->p;
  char q = *p;
  int line = L->line;
  int triple = L->end - p >= 3 && p[1] == q && p[2] == q, named = 0;
  p += triple ? 3 : 1;
  lm_buf b;
  lm_buf_init(&b);
  for (;;) {
    if (p >= L->end) {
      L->err = "unterminated string";
      L->err_line = line;
      lm_buf_free(&b);
      return -1;
    }
    char c = *p;
    if (c == q && (!triple || (L->end - p >= 3 && p[1] == q && p[2] == q))) {
      p += triple ? 3 : 1;
      break;
    }
    if (c == '\n' || (c == '\r' && !triple)) {
      if (!triple) {
        L->err = "unterminated string";
        L->err_line = line;
        lm_buf_free(&b);
        return -1;
      }
      L->line++;
      lm_buf_putc(&b, '\n');
      p++;
      continue;
    }
    if (c == '\r') { /* CRLF or a lone CR inside a triple-quoted string */
      if (p + 1 < L->end && p[1] == '\n') p++;
      L->line++;
      lm_buf_putc(&b, '\n');
      p++;
      continue;
    }
    if (c != '\\' || p + 1 >= L->end) {
      lm_buf_putc(&b, c);
      p++;
      continue;
    }
    char e = p[1];
    if (e == '\n' || e == '\r') { /* a backslash before a line break */
      if (raw) lm_buf_putc(&b, '\\'), lm_buf_putc(&b, '\n');
      p += 2;
      if (e == '\r' && p < L->end && *p == '\n') p++;
      L->line++;
      continue;
    }
    if (raw) {
      lm_buf_putc(&b, '\\');
      lm_buf_putc(&b, e);
      p += 2;
      continue;
    }
    p += 2;
    switch (e) {
    case 'n': lm_buf_putc(&b, '\n'); break;
    case 't': lm_buf_putc(&b, '\t'); break;
    case 'r': lm_buf_putc(&b, '\r'); break;
    case 'a': lm_buf_putc(&b, '\a'); break;
    case 'b': lm_buf_putc(&b, '\b'); break;
    case 'f': lm_buf_putc(&b, '\f'); break;
    case 'v': lm_buf_putc(&b, '\v'); break;
    case '\\':
    case '\'':
    case '"': lm_buf_putc(&b, e); break;
    case 'x':
    case 'u':
    case 'U': {
      int want = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      if (bytes && e != 'x') {
        lm_buf_putc(&b, '\\');
        lm_buf_putc(&b, e);
        break;
      }
      unsigned long cp = 0;
      int k = 0;
      for (; k < want && p < L->end && hexval(*p) >= 0; k++, p++)
        cp = cp * 16 + (unsigned long)hexval(*p);
      if (k < want) {
        L->err = "malformed escape in a string";
        L->err_line = L->line;
        lm_buf_free(&b);
        return -1;
      }
      if (e == 'x' && bytes)
        lm_buf_putc(&b, (char)cp);
      else
        lm_buf_put_utf8(&b, cp);
      break;
    }
    default:
      if (e >= '0' && e <= '7') {
        unsigned v = (unsigned)(e - '0');
        for (int k = 0; k < 2 && p < L->end && *p >= '0' && *p <= '7'; k++, p++)
          v = v * 8 + (unsigned)(*p - '0');
        if (bytes)
          lm_buf_putc(&b, (char)(v & 0xFF));
        else
          lm_buf_put_utf8(&b, v);
      } else { /* unknown escapes (and \N{…}) keep their backslash */
        if (e == 'N' && !bytes) named = 1;
        lm_buf_putc(&b, '\\');
        lm_buf_putc(&b, e);
      }
    }
  }
  tpush(&L->k, T_STR, line, L->line, lm_arena_strndup(L->A, b.s ? b.s : "", b.len), b.len);
  L->k.v[L->k.n - 1].fstring = fstring;
  L->k.v[L->k.n - 1].bytes = bytes;
  L->k.v[L->k.n - 1].named = named;
  lm_buf_free(&b);
  L->p = p;
  return 0;
}

/* A name directly followed by a quote is a string prefix when it is one. */
static int string_prefix(const char *s, size_t n, int *raw, int *bytes, int *fstring) {
  *raw = *bytes = *fstring = 0;
  if (n == 0 || n > 2) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = (char)(s[i] | 0x20);
    if (c == 'r' && !*raw)
      *raw = 1;
    else if (c == 'b' && !*bytes && !*fstring)
      *bytes = 1;
    else if (c == 'f' && !*fstring && !*bytes)
      *fstring = 1;
    else if (c == 'u' && n == 1)
      ;
    else
      return 0;
  }
  return 1;
}

static const char *const OPS3[] = {"**=", "//=", ">>=", "<<=", "...", NULL};
static const char *const OPS2[] = {"**", "//", "->", "==", "!=", "<=", ">=", "<<", ">>", ":=",
                                   "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", NULL};
static const char OPS1[] = "()[]{},:;.+-*/%<>=&|^~@!";

#define MAX_INDENT 100

static int tokenize(lexer *L) {
  int stack[MAX_INDENT];
  int nstack = 1;
  stack[0] = 0;
  int depth = 0, at_start = 1;
  int open_line[MAX_INDENT];
  while (L->p < L->end) {
    if (at_start && depth == 0) {
      int col = 0;
      const char *p = L->p;
      for (; p < L->end; p++) {
        if (*p == ' ')
          col++;
        else if (*p == '\t')
          col = (col / 8 + 1) * 8;
        else if (*p == '\f')
          col = 0;
        else
          break;
      }
      L->p = p;
      if (p >= L->end) break;
      if (*p == '#' || *p == '\n' || *p == '\r') { /* a blank or comment-only line */
        while (L->p < L->end && *L->p != '\n' && *L->p != '\r')
          L->p++;
        if (L->p < L->end && *L->p == '\r') L->p++;
        if (L->p < L->end && *L->p == '\n') L->p++;
        L->line++;
        continue;
      }
      at_start = 0;
      if (col > stack[nstack - 1]) {
        if (nstack == MAX_INDENT) {
          L->err = "too deeply indented";
          L->err_line = L->line;
          return -1;
        }
        stack[nstack++] = col;
        tpush(&L->k, T_INDENT, L->line, L->line, NULL, 0);
      } else {
        while (col < stack[nstack - 1]) {
          nstack--;
          tpush(&L->k, T_DEDENT, L->line, L->line, NULL, 0);
        }
        if (col != stack[nstack - 1]) {
          L->err = "unindent does not match any outer indentation level";
          L->err_line = L->line;
          return -1;
        }
      }
    }
    const char *p = L->p;
    unsigned char c = (unsigned char)*p;
    if (c == ' ' || c == '\t' || c == '\f') {
      L->p++;
      continue;
    }
    if (c == '#') {
      while (L->p < L->end && *L->p != '\n' && *L->p != '\r')
        L->p++;
      continue;
    }
    if (c == '\\') {
      const char *q = p + 1;
      if (q < L->end && *q == '\r') q++;
      if (q < L->end && *q == '\n') q++;
      if (q == p + 1) {
        L->err = "unexpected character after line continuation";
        L->err_line = L->line;
        return -1;
      }
      L->p = q;
      L->line++;
      continue;
    }
    if (c == '\n' || c == '\r') {
      if (depth == 0 && L->k.n > 0 && L->k.v[L->k.n - 1].t != T_NEWLINE &&
          L->k.v[L->k.n - 1].t != T_INDENT && L->k.v[L->k.n - 1].t != T_DEDENT)
        tpush(&L->k, T_NEWLINE, L->line, L->line, NULL, 0);
      if (c == '\r' && p + 1 < L->end && p[1] == '\n') p++;
      L->p = p + 1;
      L->line++;
      if (depth == 0) at_start = 1;
      continue;
    }
    if (is_id_start(c)) {
      const char *s = p;
      while (p < L->end && is_id_char((unsigned char)*p))
        p++;
      int raw, bytes, fstring;
      if (p < L->end && (*p == '\'' || *p == '"') &&
          string_prefix(s, (size_t)(p - s), &raw, &bytes, &fstring)) {
        L->p = p;
        if (lex_string(L, raw, bytes, fstring)) return -1;
        continue;
      }
      tpush(&L->k, T_NAME, L->line, L->line, s, (size_t)(p - s));
      L->p = p;
      continue;
    }
    if (is_digit(c) || (c == '.' && p + 1 < L->end && is_digit((unsigned char)p[1]))) {
      const char *s = p;
      int hex = c == '0' && p + 1 < L->end && (p[1] == 'x' || p[1] == 'X');
      while (p < L->end) {
        char d = *p;
        if (is_id_char((unsigned char)d) || d == '.')
          p++;
        else if ((d == '+' || d == '-') && !hex && (p[-1] == 'e' || p[-1] == 'E'))
          p++;
        else
          break;
      }
      tpush(&L->k, T_NUM, L->line, L->line, s, (size_t)(p - s));
      L->p = p;
      continue;
    }
    if (c == '\'' || c == '"') {
      if (lex_string(L, 0, 0, 0)) return -1;
      continue;
    }
    size_t n = 0;
    for (int i = 0; OPS3[i] && !n; i++)
      if (L->end - p >= 3 && memcmp(p, OPS3[i], 3) == 0) n = 3;
    for (int i = 0; OPS2[i] && !n; i++)
      if (L->end - p >= 2 && memcmp(p, OPS2[i], 2) == 0) n = 2;
    if (!n && c && strchr(OPS1, c)) n = 1;
    if (!n) {
      L->err = "unexpected character";
      L->err_line = L->line;
      return -1;
    }
    if (n == 1 && (c == '(' || c == '[' || c == '{')) {
      if (depth == MAX_INDENT) {
        L->err = "brackets nested too deeply";
        L->err_line = L->line;
        return -1;
      }
      open_line[depth++] = L->line;
    } else if (n == 1 && (c == ')' || c == ']' || c == '}')) {
      if (depth == 0) {
        L->err = "unmatched closing bracket";
        L->err_line = L->line;
        return -1;
      }
      depth--;
    }
    tpush(&L->k, T_OP, L->line, L->line, p, n);
    L->p = p + n;
  }
  if (depth > 0) {
    L->err = "bracket never closed";
    L->err_line = open_line[depth - 1];
    return -1;
  }
  if (L->k.n > 0 && L->k.v[L->k.n - 1].t != T_NEWLINE && L->k.v[L->k.n - 1].t != T_DEDENT &&
      L->k.v[L->k.n - 1].t != T_INDENT)
    tpush(&L->k, T_NEWLINE, L->line, L->line, NULL, 0);
  while (nstack-- > 1)
    tpush(&L->k, T_DEDENT, L->line, L->line, NULL, 0);
  tpush(&L->k, T_END, L->line, L->line, NULL, 0);
  return 0;
}

/* ---- parser --------------------------------------------------------------------------- */

typedef struct parser {
  tok *t;
  int n, i;
  lm_arena *A;
  int depth;
  const char *why; /* set when an expression is outside the subset */
} parser;

#define MAX_DEPTH 200

static tok *cur(parser *P) { return &P->t[P->i]; }

static int is_op(parser *P, const char *op) {
  tok *k = cur(P);
  return k->t == T_OP && k->len == strlen(op) && memcmp(k->s, op, k->len) == 0;
}

static int is_name(parser *P, const char *name) {
  tok *k = cur(P);
  return k->t == T_NAME && k->len == strlen(name) && memcmp(k->s, name, k->len) == 0;
}

static int accept_op(parser *P, const char *op) {
  if (!is_op(P, op)) return 0;
  P->i++;
  return 1;
}

static void *fail(parser *P, const char *why) {
  if (!P->why) P->why = why;
  return NULL;
}

static py_node *node(parser *P, py_kind kind, int line) {
  py_node *x = lm_arena_alloc(P->A, sizeof *x);
  x->kind = kind;
  x->line = line;
  return x;
}

/* Growable item lists built in the arena by doubling. */
typedef struct items {
  py_node **v;
  const char **kw;
  int n, cap;
} items;

static void items_add(parser *P, items *l, py_node *x, const char *kw) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 4;
    py_node **v = lm_arena_alloc(P->A, (size_t)cap * sizeof *v);
    const char **k = lm_arena_alloc(P->A, (size_t)cap * sizeof *k);
    if (l->n) {
      memcpy(v, l->v, (size_t)l->n * sizeof *v);
      memcpy(k, l->kw, (size_t)l->n * sizeof *k);
    }
    l->v = v;
    l->kw = k;
    l->cap = cap;
  }
  l->v[l->n] = x;
  l->kw[l->n++] = kw;
}

static const char *const RESERVED[] = {
    "and",    "as",   "assert", "async",  "await",    "break", "class", "continue", "def",
    "del",    "elif", "else",   "except", "finally",  "for",   "from",  "global",   "if",
    "import", "in",   "is",     "lambda", "nonlocal", "not",   "or",    "pass",     "raise",
    "return", "try",  "while",  "with",   "yield",    NULL};

static int reserved(const tok *k) {
  for (int i = 0; RESERVED[i]; i++)
    if (k->len == strlen(RESERVED[i]) && memcmp(k->s, RESERVED[i], k->len) == 0) return 1;
  return 0;
}

static py_node *parse_test(parser *P);
static py_node *parse_or(parser *P);

/* A test, or *expr where starred items are allowed. */
static py_node *parse_item(parser *P) {
  if (is_op(P, "*")) {
    int line = cur(P)->line;
    P->i++;
    py_node *x = node(P, PY_STAR, line);
    x->s = "*";
    x->a = parse_or(P);
    return x->a ? x : NULL;
  }
  return parse_test(P);
}

/* Items up to the closing bracket `close`, which is consumed. Sets *comma
 * when an item was followed by a comma. */
static int parse_seq(parser *P, const char *close, items *l, int *comma) {
  *comma = 0;
  while (!is_op(P, close)) {
    py_node *x = parse_item(P);
    if (!x) return -1;
    if (is_name(P, "for")) return fail(P, "a comprehension"), -1;
    items_add(P, l, x, NULL);
    if (accept_op(P, ",")) {
      *comma = 1;
      continue;
    }
    if (!is_op(P, close)) return fail(P, "a malformed list or tuple"), -1;
  }
  P->i++;
  return 0;
}

static py_node *parse_args(parser *P, py_node *fn) {
  py_node *call = node(P, PY_CALL, fn->line);
  call->a = fn;
  items l = {0};
  while (!is_op(P, ")")) {
    py_node *x;
    const char *kw = NULL;
    if (is_op(P, "**") || is_op(P, "*")) {
      int line = cur(P)->line;
      const char *s = is_op(P, "**") ? "**" : "*";
      P->i++;
      x = node(P, PY_STAR, line);
      x->s = s;
      if (!(x->a = parse_test(P))) return NULL;
    } else if (cur(P)->t == T_NAME && P->t[P->i + 1].t == T_OP && P->t[P->i + 1].len == 1 &&
               P->t[P->i + 1].s[0] == '=') {
      kw = lm_arena_strndup(P->A, cur(P)->s, cur(P)->len);
      P->i += 2;
      if (!(x = parse_test(P))) return NULL;
    } else {
      if (!(x = parse_test(P))) return NULL;
      if (is_name(P, "for")) return fail(P, "a generator expression");
    }
    items_add(P, &l, x, kw);
    if (!accept_op(P, ",") && !is_op(P, ")")) return fail(P, "a malformed argument list");
  }
  P->i++;
  call->items = l.v;
  call->kw = l.kw;
  call->n = l.n;
  return call;
}

static py_node *parse_atom(parser *P) {
  tok *k = cur(P);
  int line = k->line;
  if (k->t == T_NAME) {
    if (reserved(k)) return fail(P, "a keyword where a value was expected");
    P->i++;
    if (k->len == 4 && memcmp(k->s, "True", 4) == 0) return node(P, PY_TRUE, line);
    if (k->len == 5 && memcmp(k->s, "False", 5) == 0) return node(P, PY_FALSE, line);
    if (k->len == 4 && memcmp(k->s, "None", 4) == 0) return node(P, PY_NONE, line);
    py_node *x = node(P, PY_NAME, line);
    x->s = lm_arena_strndup(P->A, k->s, k->len);
    x->len = k->len;
    return x;
  }
  if (k->t == T_NUM) {
    P->i++;
    py_node *x = node(P, PY_NUM, line);
    x->s = lm_arena_strndup(P->A, k->s, k->len);
    x->len = k->len;
    return x;
  }
  if (k->t == T_STR) {
    py_node *x = node(P, PY_STR, line);
    if (P->t[P->i + 1].t != T_STR) { /* the usual case: one piece */
      x->s = k->s;
      x->len = k->len;
      x->fstring = k->fstring;
      x->bytes = k->bytes;
      x->named = k->named;
      P->i++;
      return x;
    }
    lm_buf b; /* implicit concatenation */
    lm_buf_init(&b);
    while (cur(P)->t == T_STR) {
      lm_buf_put(&b, cur(P)->s, cur(P)->len);
      x->fstring |= cur(P)->fstring;
      x->bytes |= cur(P)->bytes;
      x->named |= cur(P)->named;
      P->i++;
    }
    x->s = lm_arena_strndup(P->A, b.s ? b.s : "", b.len);
    x->len = b.len;
    lm_buf_free(&b);
    return x;
  }
  if (k->t != T_OP) return fail(P, "an unexpected end of the statement");
  if (accept_op(P, "(")) {
    items l = {0};
    int comma;
    if (parse_seq(P, ")", &l, &comma)) return NULL;
    if (l.n == 1 && !comma && l.v[0]->kind != PY_STAR) return l.v[0];
    py_node *x = node(P, PY_TUPLE, line);
    x->items = l.v;
    x->n = l.n;
    return x;
  }
  if (accept_op(P, "[")) {
    items l = {0};
    int comma;
    if (parse_seq(P, "]", &l, &comma)) return NULL;
    py_node *x = node(P, PY_LIST, line);
    x->items = l.v;
    x->n = l.n;
    return x;
  }
  if (accept_op(P, "{")) {
    py_node *x = node(P, PY_DICT, line);
    items l = {0};
    while (!is_op(P, "}")) {
      if (accept_op(P, "**")) {
        py_node *s = node(P, PY_STAR, cur(P)->line);
        s->s = "**";
        if (!(s->a = parse_or(P))) return NULL;
        items_add(P, &l, s, NULL);
        items_add(P, &l, s, NULL);
      } else {
        py_node *key = parse_test(P);
        if (!key) return NULL;
        if (!accept_op(P, ":")) return fail(P, "a set or a dict comprehension");
        py_node *val = parse_test(P);
        if (!val) return NULL;
        if (is_name(P, "for")) return fail(P, "a dict comprehension");
        items_add(P, &l, key, NULL);
        items_add(P, &l, val, NULL);
      }
      if (!accept_op(P, ",") && !is_op(P, "}")) return fail(P, "a malformed dict");
    }
    P->i++;
    x->items = l.v;
    x->n = l.n;
    return x;
  }
  return fail(P, "an operator where a value was expected");
}

static py_node *parse_trailers(parser *P) {
  py_node *x = parse_atom(P);
  while (x) {
    if (accept_op(P, ".")) {
      if (cur(P)->t != T_NAME) return fail(P, "a malformed attribute");
      py_node *a = node(P, PY_ATTR, x->line);
      a->a = x;
      a->s = lm_arena_strndup(P->A, cur(P)->s, cur(P)->len);
      a->len = cur(P)->len;
      P->i++;
      x = a;
    } else if (accept_op(P, "(")) {
      x = parse_args(P, x);
    } else if (accept_op(P, "[")) {
      py_node *s = node(P, PY_SUBSCR, x->line);
      s->a = x;
      items l = {0};
      int comma;
      if (parse_seq(P, "]", &l, &comma)) return NULL;
      if (l.n != 1 || comma) {
        py_node *t = node(P, PY_TUPLE, x->line);
        t->items = l.v;
        t->n = l.n;
        s->items = lm_arena_alloc(P->A, sizeof *s->items);
        s->items[0] = t;
      } else {
        s->items = l.v;
      }
      s->n = 1;
      x = s;
    } else {
      break;
    }
  }
  return x;
}

static py_node *binop(parser *P, py_node *l, const char *op, py_node *r) {
  if (!l || !r) return NULL;
  py_node *x = node(P, PY_BINOP, l->line);
  x->s = op;
  x->items = lm_arena_alloc(P->A, 2 * sizeof *x->items);
  x->items[0] = l;
  x->items[1] = r;
  x->n = 2;
  return x;
}

static py_node *parse_factor(parser *P);

static py_node *parse_power(parser *P) {
  py_node *x = parse_trailers(P);
  if (x && accept_op(P, "**")) return binop(P, x, "**", parse_factor(P));
  return x;
}

static py_node *parse_factor(parser *P) {
  if (++P->depth > MAX_DEPTH) return fail(P, "an expression nested too deeply");
  py_node *x;
  if (is_op(P, "-") || is_op(P, "+") || is_op(P, "~")) {
    tok *k = cur(P);
    P->i++;
    x = node(P, PY_UNARY, k->line);
    x->s = k->s[0] == '-' ? "-" : k->s[0] == '+' ? "+" : "~";
    x->a = parse_factor(P);
    if (!x->a) x = NULL;
  } else {
    x = parse_power(P);
  }
  P->depth--;
  return x;
}

/* Binary operators by precedence, loosest first. */
static const char *const LEVELS[][6] = {{"|", NULL},      {"^", NULL},
                                        {"&", NULL},      {"<<", ">>", NULL},
                                        {"+", "-", NULL}, {"*", "/", "//", "%", "@", NULL}};
#define NLEVELS ((int)(sizeof LEVELS / sizeof LEVELS[0]))

static py_node *parse_level(parser *P, int lv) {
  if (lv == NLEVELS) return parse_factor(P);
  py_node *x = parse_level(P, lv + 1);
  for (;;) {
    const char *op = NULL;
    for (int i = 0; LEVELS[lv][i]; i++)
      if (is_op(P, LEVELS[lv][i])) op = LEVELS[lv][i];
    if (!op || !x) return x;
    P->i++;
    x = binop(P, x, op, parse_level(P, lv + 1));
  }
}

static const char *const COMPARE[] = {"<", ">", "==", ">=", "<=", "!=", NULL};

static py_node *parse_comparison(parser *P) {
  py_node *x = parse_level(P, 0);
  while (x) {
    const char *op = NULL;
    for (int i = 0; COMPARE[i]; i++)
      if (is_op(P, COMPARE[i])) op = COMPARE[i];
    if (op) {
      P->i++;
    } else if (is_name(P, "in")) {
      op = "in", P->i++;
    } else if (is_name(P, "is")) {
      P->i++;
      op = "is";
      if (is_name(P, "not")) op = "is not", P->i++;
    } else if (is_name(P, "not") && P->t[P->i + 1].t == T_NAME && P->t[P->i + 1].len == 2 &&
               memcmp(P->t[P->i + 1].s, "in", 2) == 0) {
      op = "not in", P->i += 2;
    } else {
      break;
    }
    x = binop(P, x, op, parse_level(P, 0));
  }
  return x;
}

static py_node *parse_not(parser *P) {
  if (is_name(P, "not")) {
    if (++P->depth > MAX_DEPTH) return fail(P, "an expression nested too deeply");
    py_node *x = node(P, PY_UNARY, cur(P)->line);
    P->i++;
    x->s = "not";
    x->a = parse_not(P);
    P->depth--;
    return x->a ? x : NULL;
  }
  return parse_comparison(P);
}

static py_node *parse_and(parser *P) {
  py_node *x = parse_not(P);
  while (x && is_name(P, "and")) {
    P->i++;
    x = binop(P, x, "and", parse_not(P));
  }
  return x;
}

static py_node *parse_or(parser *P) {
  py_node *x = parse_and(P);
  while (x && is_name(P, "or")) {
    P->i++;
    x = binop(P, x, "or", parse_and(P));
  }
  return x;
}

static py_node *parse_test(parser *P) {
  if (++P->depth > MAX_DEPTH) return fail(P, "an expression nested too deeply");
  if (is_name(P, "lambda")) return fail(P, "a lambda");
  py_node *x = parse_or(P);
  if (x && is_name(P, "if")) { /* a if b else c */
    P->i++;
    py_node *c = parse_or(P);
    if (!c || !is_name(P, "else")) return fail(P, "a malformed conditional expression");
    P->i++;
    py_node *e = parse_test(P);
    if (!e) return NULL;
    py_node *o = node(P, PY_OTHER, x->line);
    o->s = "a conditional expression";
    x = o;
  }
  P->depth--;
  return x;
}

/* An expression list: one item, or a tuple without brackets. */
static py_node *parse_exprlist(parser *P) {
  py_node *x = parse_item(P);
  if (!x || !is_op(P, ",")) return x;
  items l = {0};
  items_add(P, &l, x, NULL);
  while (accept_op(P, ",")) {
    if (cur(P)->t == T_NEWLINE || is_op(P, "=") || is_op(P, ":") || is_op(P, ")")) break;
    py_node *y = parse_item(P);
    if (!y) return NULL;
    items_add(P, &l, y, NULL);
  }
  py_node *t = node(P, PY_TUPLE, x->line);
  t->items = l.v;
  t->n = l.n;
  return t;
}

/* ---- statements ------------------------------------------------------------------------ */

typedef struct stmts {
  py_stmt **v;
  int n, cap;
} stmts;

static void stmts_add(parser *P, stmts *l, py_stmt *s) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 8;
    py_stmt **v = lm_arena_alloc(P->A, (size_t)cap * sizeof *v);
    if (l->n) memcpy(v, l->v, (size_t)l->n * sizeof *v);
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n++] = s;
}

static py_stmt *stmt_new(parser *P, py_stmt_kind kind, int line) {
  py_stmt *s = lm_arena_alloc(P->A, sizeof *s);
  s->kind = kind;
  s->line = s->end_line = line;
  return s;
}

/* The last line of the tokens before index i. */
static int last_line_before(parser *P, int i, int from) {
  int line = P->t[from].line;
  for (int k = from; k < i; k++)
    if (P->t[k].t != T_NEWLINE && P->t[k].t != T_DEDENT && P->t[k].t != T_INDENT &&
        P->t[k].eline > line)
      line = P->t[k].eline;
  return line;
}

/* Skips one logical line and the indented block after it. */
static void skip_line_and_block(parser *P) {
  while (cur(P)->t != T_NEWLINE && cur(P)->t != T_END)
    P->i++;
  if (cur(P)->t == T_NEWLINE) P->i++;
  if (cur(P)->t == T_INDENT) {
    int d = 0;
    do {
      if (cur(P)->t == T_INDENT) d++;
      if (cur(P)->t == T_DEDENT) d--;
      P->i++;
    } while (d > 0 && cur(P)->t != T_END);
  }
}

static int clause_keyword(parser *P) {
  return is_name(P, "elif") || is_name(P, "else") || is_name(P, "except") || is_name(P, "finally");
}

/* A statement outside the subset, from token `start`: its line, the
 * indented block after it and, for if/for/while/try, the clauses that belong
 * to it. */
static py_stmt *other(parser *P, int start, const char *why) {
  P->i = start;
  if (cur(P)->t == T_INDENT) { /* a block indented for no reason */
    int d = 0;
    do {
      if (cur(P)->t == T_INDENT) d++;
      if (cur(P)->t == T_DEDENT) d--;
      P->i++;
    } while (d > 0 && cur(P)->t != T_END);
    py_stmt *s = stmt_new(P, PY_S_OTHER, P->t[start].line);
    s->end_line = last_line_before(P, P->i, start);
    s->why = why;
    return s;
  }
  int compound = is_name(P, "if") || is_name(P, "for") || is_name(P, "while") ||
                 is_name(P, "try") || is_name(P, "async");
  skip_line_and_block(P);
  while (compound && clause_keyword(P))
    skip_line_and_block(P);
  py_stmt *s = stmt_new(P, PY_S_OTHER, P->t[start].line);
  s->end_line = last_line_before(P, P->i, start);
  s->why = why;
  P->why = NULL;
  return s;
}

static void parse_block(parser *P, stmts *out, int until_dedent);
static py_stmt *parse_stmt(parser *P);

/* The body after a ':': an indented block, or one simple statement. */
static int parse_suite(parser *P, py_stmt *s) {
  stmts body = {0};
  if (cur(P)->t == T_NEWLINE) {
    P->i++;
    if (cur(P)->t != T_INDENT) return -1;
    P->i++;
    parse_block(P, &body, 1);
  } else {
    stmts_add(P, &body, parse_stmt(P));
  }
  s->body = body.v;
  s->nbody = body.n;
  return 0;
}

static char *dotted_name(parser *P) {
  lm_buf b;
  lm_buf_init(&b);
  while (is_op(P, ".") || is_op(P, "...")) {
    lm_buf_put(&b, cur(P)->s, cur(P)->len);
    P->i++;
  }
  for (;;) {
    if (cur(P)->t != T_NAME || reserved(cur(P))) break;
    lm_buf_put(&b, cur(P)->s, cur(P)->len);
    P->i++;
    if (!is_op(P, ".")) break;
    lm_buf_putc(&b, '.');
    P->i++;
  }
  char *r = b.len ? lm_arena_strndup(P->A, b.s, b.len) : NULL;
  lm_buf_free(&b);
  return r;
}

static py_stmt *parse_import(parser *P, int start) {
  py_stmt *s = stmt_new(P, PY_S_IMPORT, cur(P)->line);
  items l = {0};
  int from = is_name(P, "from");
  P->i++;
  if (from) {
    if (!(s->module = dotted_name(P)) || !is_name(P, "import")) return other(P, start, NULL);
    P->i++;
  }
  int paren = from && accept_op(P, "(");
  for (;;) {
    const char *name = NULL, *as = NULL;
    if (from && is_op(P, "*")) {
      name = "*";
      P->i++;
    } else if (!(name = from ? (cur(P)->t == T_NAME ? lm_arena_strndup(P->A, cur(P)->s, cur(P)->len)
                                                    : NULL)
                             : dotted_name(P))) {
      return other(P, start, NULL);
    } else if (from) {
      P->i++;
    }
    if (is_name(P, "as")) {
      P->i++;
      if (cur(P)->t != T_NAME) return other(P, start, NULL);
      as = lm_arena_strndup(P->A, cur(P)->s, cur(P)->len);
      P->i++;
    }
    items_add(P, &l, (py_node *)name, as);
    if (!accept_op(P, ",")) break;
    if (paren && is_op(P, ")")) break;
  }
  if (paren && !accept_op(P, ")")) return other(P, start, NULL);
  if (cur(P)->t != T_NEWLINE) return other(P, start, NULL);
  P->i++;
  s->names = (const char **)l.v;
  s->asnames = l.kw;
  s->nnames = l.n;
  s->end_line = last_line_before(P, P->i, start);
  return s;
}

static py_stmt *parse_def(parser *P, int start) {
  P->i++;
  if (cur(P)->t != T_NAME) return other(P, start, NULL);
  py_stmt *s = stmt_new(P, PY_S_DEF, P->t[start].line);
  s->name = lm_arena_strndup(P->A, cur(P)->s, cur(P)->len);
  P->i++;
  if (!accept_op(P, "(")) return other(P, start, NULL);
  for (int d = 1; d > 0; P->i++) { /* the tokenizer balanced the brackets */
    if (cur(P)->t == T_END) return other(P, start, NULL);
    if (is_op(P, "(") || is_op(P, "[") || is_op(P, "{")) d++;
    if (is_op(P, ")") || is_op(P, "]") || is_op(P, "}")) d--;
  }
  if (accept_op(P, "->") && !parse_test(P)) return other(P, start, NULL);
  if (!accept_op(P, ":")) return other(P, start, NULL);
  if (parse_suite(P, s)) return other(P, start, NULL);
  s->end_line = last_line_before(P, P->i, start);
  return s;
}

static py_stmt *parse_with(parser *P, int start) {
  P->i++;
  py_stmt *s = stmt_new(P, PY_S_WITH, P->t[start].line);
  if (!(s->value = parse_test(P))) return other(P, start, P->why);
  if (is_name(P, "as")) {
    P->i++;
    if (cur(P)->t != T_NAME || reserved(cur(P))) return other(P, start, "a with statement");
    s->name = lm_arena_strndup(P->A, cur(P)->s, cur(P)->len);
    P->i++;
  }
  if (!accept_op(P, ":")) return other(P, start, "a with statement of several items");
  if (parse_suite(P, s)) return other(P, start, NULL);
  s->end_line = last_line_before(P, P->i, start);
  return s;
}

static const char *const SIMPLE_OTHER[] = {"return", "raise",    "del",   "global",   "assert",
                                           "break",  "continue", "yield", "nonlocal", NULL};
static const char *const COMPOUND_OTHER[] = {"if",   "for",  "while",  "try",     "class", "async",
                                             "elif", "else", "except", "finally", NULL};

static py_stmt *parse_stmt(parser *P) {
  int start = P->i;
  int line = cur(P)->line;
  P->why = NULL;
  P->depth = 0;
  if (cur(P)->t == T_INDENT) return other(P, start, "an unexpected indent");
  if (cur(P)->t == T_NAME) {
    if (is_name(P, "import") || is_name(P, "from")) return parse_import(P, start);
    if (is_name(P, "def")) return parse_def(P, start);
    if (is_name(P, "with")) return parse_with(P, start);
    if (is_name(P, "pass") && P->t[P->i + 1].t == T_NEWLINE) {
      P->i += 2;
      return stmt_new(P, PY_S_PASS, line);
    }
    for (int i = 0; COMPOUND_OTHER[i]; i++)
      if (is_name(P, COMPOUND_OTHER[i])) return other(P, start, NULL);
    for (int i = 0; SIMPLE_OTHER[i]; i++)
      if (is_name(P, SIMPLE_OTHER[i])) return other(P, start, NULL);
  }
  if (is_op(P, "@")) return other(P, start, "a decorator");
  py_node *x = parse_exprlist(P);
  if (!x) return other(P, start, P->why);
  py_stmt *s;
  if (accept_op(P, ":")) {
    s = stmt_new(P, PY_S_ASSIGN, line);
    s->target = x;
    if (!(s->annotation = parse_test(P))) return other(P, start, P->why);
    if (accept_op(P, "=") && !(s->value = parse_exprlist(P))) return other(P, start, P->why);
  } else if (accept_op(P, "=")) {
    s = stmt_new(P, PY_S_ASSIGN, line);
    s->target = x;
    if (!(s->value = parse_exprlist(P))) return other(P, start, P->why);
    if (is_op(P, "=")) return other(P, start, "a chained assignment");
  } else {
    s = stmt_new(P, PY_S_EXPR, line);
    s->value = x;
  }
  if (cur(P)->t != T_NEWLINE) return other(P, start, NULL);
  P->i++;
  s->end_line = last_line_before(P, P->i, start);
  return s;
}

static void parse_block(parser *P, stmts *out, int until_dedent) {
  for (;;) {
    tok *k = cur(P);
    if (k->t == T_END) return;
    if (k->t == T_DEDENT) {
      P->i++;
      if (until_dedent) return;
      continue;
    }
    if (k->t == T_NEWLINE) {
      P->i++;
      continue;
    }
    stmts_add(P, out, parse_stmt(P));
  }
}

int py_parse(const char *src, size_t len, py_module *m, int *err_line, const char **err) {
  memset(m, 0, sizeof *m);
  *err_line = 0;
  *err = NULL;
  lm_arena *A = lm_xcalloc(1, sizeof *A);
  A->block = 16384;
  lexer L = {src, src + len, 1, A, {0}, NULL, 0};
  /* a UTF-8 byte order mark */
  if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0) L.p += 3;
  if (tokenize(&L)) {
    *err_line = L.err_line;
    *err = L.err;
    free(L.k.v);
    lm_arena_free(A);
    free(A);
    return -1;
  }
  parser P = {L.k.v, L.k.n, 0, A, 0, NULL};
  stmts body = {0};
  parse_block(&P, &body, 0);
  free(L.k.v);
  m->body = body.v;
  m->nbody = body.n;
  m->arena = A;
  m->src = src;
  m->len = len;
  return 0;
}

void py_module_free(py_module *m) {
  if (!m) return;
  if (m->arena) lm_arena_free(m->arena);
  free(m->arena);
  memset(m, 0, sizeof *m);
}

static char *line_text(const py_module *m, int line, int strip) {
  const char *p = m->src, *end = m->src + m->len;
  for (int l = 1; l < line && p < end; p++)
    if (*p == '\n') l++;
  while (strip && p < end && (*p == ' ' || *p == '\t'))
    p++;
  const char *e = p;
  while (e < end && *e != '\n' && *e != '\r')
    e++;
  while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  return lm_xstrndup(p, (size_t)(e - p));
}

char *py_line_text(const py_module *m, int line) { return line_text(m, line, 1); }
char *py_line_raw(const py_module *m, int line) { return line_text(m, line, 0); }

char *py_dotted(const py_node *x) {
  if (!x) return NULL;
  if (x->kind == PY_NAME) return lm_xstrdup(x->s);
  if (x->kind != PY_ATTR) return NULL;
  char *base = py_dotted(x->a);
  if (!base) return NULL;
  char *r = lm_xasprintf("%s.%s", base, x->s);
  free(base);
  return r;
}
