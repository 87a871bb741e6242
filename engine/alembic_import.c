/* Alembic revision (Python) → luamig revision (Lua). The Python is read by
 * pyreader.c; this file walks its tree and writes Lua text. Every expression
 * is converted completely or not at all: a statement with any part outside
 * the convertible subset becomes an error() line, never a partial call. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "luamig/import.h"
#include "pyreader.h"

/* ---- the conversion context ------------------------------------------------------ */

#define MAX_NAMES 64

/* A CHECK that comes with a column: an sa.Enum's (a VARCHAR whose values
 * the CHECK lists) or an sa.CheckConstraint among the Column's arguments. */
typedef struct enum_check {
  char *column, *name, *expr;
  int own;         /* the Column's own CheckConstraint, not an Enum's */
  char *collation; /* a String or Text type's collation= (a Column's option) */
} enum_check;

typedef struct conv {
  const py_module *m;
  const char *path;
  lm_alembic_rev *out;
  /* what the imports bound: the sqlalchemy module, its postgresql dialect,
   * alembic's op, and names imported from sqlalchemy (local → original) */
  const char *sa[MAX_NAMES], *pg[MAX_NAMES], *op[MAX_NAMES];
  int nsa, npg, nop;
  const char *bare_local[MAX_NAMES], *bare_orig[MAX_NAMES];
  int bare_pg[MAX_NAMES];
  int nbare;
  /* module-level constants (Lua locals of the file) and function-level
   * table handles (sa.table(...) bound to a name) */
  const char *locals[MAX_NAMES];
  int nlocals;
  const char *tables[MAX_NAMES];
  int ntables;
  const char *batch; /* the `as` name of the batch_alter_table being converted */
  /* CHECKs of the columns met while converting the current statement */
  enum_check enums[MAX_NAMES];
  int nenums;
  int line; /* the statement being converted */
  const char *why;
  int converted; /* statements converted so far in the current function */
  /* the function being converted, for what one statement must know of the
   * others (a column added to the table another drops) */
  py_stmt *const *fn_body;
  int fn_nbody;
  const char *batch_table; /* the table of the batch being converted, as Lua */
} conv;

static int failf(conv *C, const char *why) {
  if (!C->why) C->why = why;
  return -1;
}

static int streq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static int in_list(const char *const *v, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (streq(v[i], s)) return 1;
  return 0;
}

static void add_name(const char **v, int *n, const char *s) {
  if (*n < MAX_NAMES && !in_list(v, *n, s)) v[(*n)++] = s;
}

static void enums_clear(conv *C) {
  for (int i = 0; i < C->nenums; i++) {
    free(C->enums[i].column);
    free(C->enums[i].name);
    free(C->enums[i].expr);
  }
  C->nenums = 0;
}

/* ---- Lua output helpers -------------------------------------------------------------- */

static void lua_str(lm_buf *o, const char *s, size_t n) {
  int nl = memchr(s, '\n', n) != NULL;
  if (nl) { /* multi-line SQL reads best as a long string */
    int level = 0;
    for (;;) {
      char close[40];
      int k = snprintf(close, sizeof close, "]%.*s]", level, "==============================");
      int clash = 0;
      for (size_t i = 0; i + (size_t)k <= n && !clash; i++)
        if (memcmp(s + i, close, (size_t)k) == 0) clash = 1;
      if (!clash && (n == 0 || s[n - 1] != ']') && level < 30) break;
      if (level >= 30) {
        nl = 0;
        break;
      }
      level++;
    }
    int clean = 1; /* a long string cannot hold \r or other control bytes faithfully */
    for (size_t i = 0; i < n; i++)
      if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f) clean = 0;
    if (nl && clean) {
      lm_buf_printf(o, "[%.*s[\n", level, "==============================");
      lm_buf_put(o, s, n);
      lm_buf_printf(o, "]%.*s]", level, "==============================");
      return;
    }
  }
  lm_buf_putc(o, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': lm_buf_puts(o, "\\\""); break;
    case '\\': lm_buf_puts(o, "\\\\"); break;
    case '\n': lm_buf_puts(o, "\\n"); break;
    case '\r': lm_buf_puts(o, "\\r"); break;
    case '\t': lm_buf_puts(o, "\\t"); break;
    default:
      if (c < 0x20 || c == 0x7f)
        lm_buf_printf(o, "\\%03u", c);
      else
        lm_buf_putc(o, (char)c);
    }
  }
  lm_buf_putc(o, '"');
}

static void lua_cstr(lm_buf *o, const char *s) { lua_str(o, s, strlen(s)); }

static const char *const LUA_KEYWORDS[] = {
    "and",      "break",  "do",   "else", "elseif", "end",   "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",   "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while", NULL};

static int lua_ident(const char *s, size_t n) {
  if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' ||
          (s[i] >= '0' && s[i] <= '9')))
      return 0;
  for (int i = 0; LUA_KEYWORDS[i]; i++)
    if (strlen(LUA_KEYWORDS[i]) == n && memcmp(LUA_KEYWORDS[i], s, n) == 0) return 0;
  return 1;
}

/* Names a Lua local of the revision must not take: the revision's own
 * globals and the standard library its code calls. */
static int usable_local(const char *s) {
  static const char *const TAKEN[] = {"op",
                                      "context",
                                      "error",
                                      "revision",
                                      "message",
                                      "down_revision",
                                      "branch_labels",
                                      "depends_on",
                                      "upgrade",
                                      "downgrade",
                                      "steps",
                                      "string",
                                      "table",
                                      "math",
                                      "os",
                                      "io",
                                      "print",
                                      "require",
                                      "type",
                                      "pairs",
                                      "ipairs",
                                      "tostring",
                                      "tonumber",
                                      "select",
                                      "next",
                                      "pcall",
                                      "assert",
                                      "utf8",
                                      "load",
                                      "setmetatable",
                                      "getmetatable",
                                      "rawget",
                                      "rawset",
                                      "coroutine",
                                      NULL};
  for (int i = 0; TAKEN[i]; i++)
    if (strcmp(TAKEN[i], s) == 0) return 0;
  return lua_ident(s, strlen(s));
}

/* A table key: name = or ["name"] =. */
static void lua_key(lm_buf *o, const char *s, size_t n) {
  if (lua_ident(s, n)) {
    lm_buf_put(o, s, n);
  } else {
    lm_buf_putc(o, '[');
    lua_str(o, s, n);
    lm_buf_putc(o, ']');
  }
  lm_buf_puts(o, " = ");
}

/* ---- names --------------------------------------------------------------------------- */

typedef enum ns { NS_NONE, NS_SA, NS_PG, NS_OP } ns;

/* What a name or attribute chain refers to: the namespace and the rest of
 * the dotted name inside it ("Column", "func.now", "create_table"). *rest
 * is a new string. */
static ns resolve(conv *C, const py_node *x, char **rest) {
  *rest = NULL;
  char *d = py_dotted(x);
  if (!d) return NS_NONE;
  char *dot = strchr(d, '.');
  char *first = d;
  const char *tail = dot ? dot + 1 : NULL;
  if (dot) *dot = 0;
  ns r = NS_NONE;
  if (in_list(C->op, C->nop, first) && tail) {
    r = NS_OP;
  } else if (in_list(C->pg, C->npg, first) && tail) {
    r = NS_PG;
  } else if (in_list(C->sa, C->nsa, first) && tail) {
    r = NS_SA;
    /* sa.dialects.postgresql.X, sa.sql.expression.X, sa.types.X, sa.schema.X */
    if (strncmp(tail, "dialects.postgresql.", 20) == 0) {
      r = NS_PG;
      tail += 20;
    } else if (strncmp(tail, "sql.expression.", 15) == 0) {
      tail += 15;
    } else if (strncmp(tail, "sql.", 4) == 0 || strncmp(tail, "types.", 6) == 0 ||
               strncmp(tail, "schema.", 7) == 0) {
      tail = strchr(tail, '.') + 1;
    }
  } else if (streq(first, "sqlmodel") && tail && strncmp(tail, "sql.sqltypes.", 13) == 0) {
    r = NS_SA; /* SQLModel's autogenerate writes sqlmodel.sql.sqltypes.AutoString() */
    tail += 13;
  } else {
    for (int i = 0; i < C->nbare; i++)
      if (streq(C->bare_local[i], first)) {
        r = C->bare_pg[i] ? NS_PG : NS_SA;
        *rest = tail ? lm_xasprintf("%s.%s", C->bare_orig[i], tail) : lm_xstrdup(C->bare_orig[i]);
        free(d);
        return r;
      }
  }
  if (r != NS_NONE) *rest = lm_xstrdup(tail);
  free(d);
  return r;
}

static void note_import(conv *C, const py_stmt *s) {
  for (int i = 0; i < s->nnames; i++) {
    const char *name = s->names[i], *as = s->asnames[i];
    const char *bound = as ? as : name;
    if (!s->module) { /* import a.b [as c] */
      if (streq(name, "sqlalchemy"))
        add_name(C->sa, &C->nsa, bound);
      else if (streq(name, "sqlalchemy.dialects.postgresql") && as)
        add_name(C->pg, &C->npg, as);
      else if (streq(name, "alembic.op") && as)
        add_name(C->op, &C->nop, as);
      continue;
    }
    if (streq(s->module, "alembic") && streq(name, "op")) {
      add_name(C->op, &C->nop, bound);
    } else if (streq(s->module, "sqlalchemy.dialects") && streq(name, "postgresql")) {
      add_name(C->pg, &C->npg, bound);
    } else if ((strncmp(s->module, "sqlalchemy", 10) == 0) && !streq(name, "*") &&
               C->nbare < MAX_NAMES) {
      int pg = strncmp(s->module, "sqlalchemy.dialects.postgresql", 30) == 0;
      C->bare_local[C->nbare] = bound;
      C->bare_orig[C->nbare] = name;
      C->bare_pg[C->nbare++] = pg;
    }
  }
}

/* ---- values ------------------------------------------------------------------------------ */

static int value(conv *C, const py_node *x, lm_buf *o);

static int kw_index(const py_node *call, const char *kw) {
  for (int i = 0; i < call->n; i++)
    if (streq(call->kw[i], kw)) return i;
  return -1;
}

static int npositional(const py_node *call) {
  int n = 0;
  for (int i = 0; i < call->n; i++)
    if (!call->kw[i]) n++;
  return n;
}

static const py_node *positional(const py_node *call, int k) {
  for (int i = 0; i < call->n; i++)
    if (!call->kw[i] && k-- == 0) return call->items[i];
  return NULL;
}

static int has_star(const py_node *call) {
  for (int i = 0; i < call->n; i++)
    if (call->items[i]->kind == PY_STAR) return 1;
  return 0;
}

/* SQLAlchemy's text() reads \\: as a colon that starts no bind parameter:
 * the SQL the database gets has the colon alone. */
static char *text_colons(char *s) {
  char *o = s;
  for (const char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] == ':') continue;
    *o++ = *p;
  }
  *o = 0;
  return s;
}

/* A Python string literal (or sa.text("…") when text_ok) as a C string. */
static char *string_of(conv *C, const py_node *x, int text_ok) {
  if (x && x->kind == PY_STR && !x->bytes) {
    if (x->fstring && (memchr(x->s, '{', x->len) || memchr(x->s, '}', x->len)))
      return failf(C, "an f-string"), NULL;
    if (memchr(x->s, 0, x->len)) return failf(C, "a string with a NUL byte"), NULL;
    if (x->named) return failf(C, "a \\N{...} escape (write the character itself)"), NULL;
    return lm_xstrndup(x->s, x->len);
  }
  if (text_ok && x && x->kind == PY_CALL && x->n == 1 && !x->kw[0]) {
    char *rest;
    ns n = resolve(C, x->a, &rest);
    int is_text = n == NS_SA && (streq(rest, "text") || streq(rest, "literal_column"));
    free(rest);
    if (is_text) return string_of(C, x->items[0], 0);
  }
  failf(C, "a value that is not a plain string");
  return NULL;
}

static int is_int_text(const char *s) {
  if (!*s) return 0;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return 0;
  return 1;
}

static int number(conv *C, const py_node *x, lm_buf *o) {
  char *t = lm_xmalloc(x->len + 1);
  size_t k = 0;
  for (size_t i = 0; i < x->len; i++)
    if (x->s[i] != '_') t[k++] = x->s[i];
  t[k] = 0;
  int ok = 1;
  if (k >= 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O' || t[1] == 'b' || t[1] == 'B')) ok = 0;
  for (size_t i = 0; i < k; i++)
    if (t[i] == 'j' || t[i] == 'J' || t[i] == 'l' || t[i] == 'L') ok = 0;
  if (ok) lm_buf_puts(o, t);
  free(t);
  return ok ? 0 : failf(C, "a number Lua writes differently");
}

/* sa.text(s), sa.func.X(), sa.literal_column(s), sa.true()/false() → op.sql(…). */
static int sql_expr(conv *C, const py_node *x, const char *rest, lm_buf *o) {
  if (streq(rest, "text") || streq(rest, "literal_column")) {
    if (x->n != 1 || x->kw[0]) return failf(C, "sa.text() with more than its SQL");
    char *s = string_of(C, x->items[0], 0);
    if (!s) return -1;
    if (streq(rest, "text")) text_colons(s);
    lm_buf_puts(o, "op.sql(");
    lua_cstr(o, s);
    lm_buf_putc(o, ')');
    free(s);
    return 0;
  }
  if ((streq(rest, "true") || streq(rest, "false")) && x->n == 0) {
    lm_buf_printf(o, "op.sql(\"%s\")", rest);
    return 0;
  }
  if (strncmp(rest, "func.", 5) == 0 && !strchr(rest + 5, '.')) {
    const char *fn = rest + 5;
    lm_buf sql;
    lm_buf_init(&sql);
    /* now() is PostgreSQL's; CURRENT_TIMESTAMP is what SQLAlchemy renders for
     * func.now() on SQLite and works on both. The ANSI functions are
     * rendered without parentheses, as SQLAlchemy does: current_date() is a
     * syntax error on both databases. */
    static const char *const ansi[] = {"current_date", "current_time", "current_timestamp",
                                       "current_user", "localtime",    "localtimestamp",
                                       "session_user", "user",         NULL};
    int is_ansi = 0;
    for (int i = 0; ansi[i] && !is_ansi; i++)
      is_ansi = streq(fn, ansi[i]);
    if (streq(fn, "now") && x->n == 0) {
      lm_buf_puts(&sql, "CURRENT_TIMESTAMP");
    } else if (is_ansi && x->n == 0) {
      for (const char *c = fn; *c; c++)
        lm_buf_putc(&sql, (char)(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c));
    } else {
      lm_buf_printf(&sql, "%s(", fn);
      for (int i = 0; i < x->n; i++) {
        const py_node *a = x->items[i];
        if (x->kw[i]) return lm_buf_free(&sql), failf(C, "a keyword argument to an SQL function");
        if (i) lm_buf_puts(&sql, ", ");
        if (a->kind == PY_NUM && is_int_text(a->s)) {
          lm_buf_puts(&sql, a->s);
        } else if (a->kind == PY_STR && !a->fstring && !a->bytes && !memchr(a->s, 0, a->len)) {
          lm_buf_literal(&sql, a->s, a->len);
        } else {
          lm_buf_free(&sql);
          return failf(C, "an SQL function with arguments other than literals");
        }
      }
      lm_buf_putc(&sql, ')');
    }
    lm_buf_puts(o, "op.sql(");
    lua_str(o, sql.s, sql.len);
    lm_buf_putc(o, ')');
    lm_buf_free(&sql);
    return 0;
  }
  return failf(C, "an SQLAlchemy expression");
}

/* ---- types ------------------------------------------------------------------------------- */

static int type_kw_ok(const py_node *call, const char *const *allowed) {
  for (int i = 0; i < call->n; i++) {
    if (call->items[i]->kind == PY_STAR) return 0;
    if (!call->kw[i]) continue;
    int found = 0;
    for (int k = 0; allowed[k]; k++)
      if (streq(allowed[k], call->kw[i])) found = 1;
    if (!found) return 0;
  }
  return 1;
}

/* The integer argument at position pos or keyword kw, or -1 (absent), -2 (not an int). */
static long int_arg(const py_node *call, int pos, const char *kw) {
  const py_node *a = NULL;
  if (call && kw && kw_index(call, kw) >= 0) a = call->items[kw_index(call, kw)];
  if (!a && call && pos >= 0) a = positional(call, pos);
  if (!a || a->kind == PY_NONE) return -1;
  if (a->kind != PY_NUM || !is_int_text(a->s) || a->len > 9) return -2;
  return strtol(a->s, NULL, 10);
}

static int truthy(const py_node *call, const char *kw) {
  int i = call ? kw_index(call, kw) : -1;
  return i >= 0 && call->items[i]->kind == PY_TRUE;
}

static const char *const NO_KW[] = {NULL};

/* A String or Text type's collation= into en (a Column's, whose option it
 * becomes); 0, or -1 when it is not a plain string or there is no column
 * to give it to. */
static int type_collation(conv *C, const py_node *call, enum_check *en) {
  int i = call ? kw_index(call, "collation") : -1;
  if (i < 0 || call->items[i]->kind == PY_NONE) return 0;
  if (!en) return failf(C, "a collation outside a Column (luamig's is a column option)");
  char *s = string_of(C, call->items[i], 0);
  if (!s) return -1;
  free(en->collation);
  en->collation = s;
  return 0;
}

/* A SQLAlchemy type (sa.String(50), sa.Integer, postgresql.JSONB(...)) as a
 * luamig type string into o (without quotes). An Enum gives "string(n)" and
 * fills *en (values as an SQL IN list, the enum's name). */
static int type_str(conv *C, const py_node *x, lm_buf *o, enum_check *en) {
  /* T().with_variant(U(), "sqlite"): T, which luamig spells for each
   * dialect itself (a BIGINT key is SQLite's rowid, the usual reason) */
  if (x->kind == PY_CALL && x->a->kind == PY_ATTR && streq(x->a->s, "with_variant") &&
      x->a->a->kind == PY_CALL)
    return type_str(C, x->a->a, o, en);
  const py_node *call = x->kind == PY_CALL ? x : NULL;
  const py_node *fn = call ? x->a : x;
  char *rest;
  ns n = resolve(C, fn, &rest);
  if ((n != NS_SA && n != NS_PG) || !rest || strchr(rest, '.')) {
    free(rest);
    return failf(C, "a type that is not SQLAlchemy's (an application type?)");
  }
  const char *t = rest;
  int rc = 0;
  static const char *const STRING_KW[] = {"length", "collation", NULL};
  static const char *const TEXT_KW[] = {"collation", NULL};
  static const char *const TZ_KW[] = {"timezone", NULL};
  static const char *const NUM_KW[] = {"precision", "scale", "asdecimal", NULL};
  static const char *const FLOAT_KW[] = {"precision", "asdecimal", "decimal_return_scale", NULL};
  static const char *const JSON_KW[] = {"astext_type", "none_as_null", NULL};
  static const char *const UUID_KW[] = {"as_uuid", NULL};
  static const char *const BIN_KW[] = {"length", NULL};
  static const char *const BOOL_KW[] = {"create_constraint", "name", NULL};
  static const char *const ENUM_KW[] = {"name",   "create_type", "native_enum", "create_constraint",
                                        "length", NULL};
#define IS(...)                                                                                    \
  in_list((const char *const[]){__VA_ARGS__},                                                      \
          (int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *)), t)
  if (IS("String", "VARCHAR", "Unicode", "NVARCHAR", "AutoString")) {
    long len = int_arg(call, 0, "length");
    if (len == -2 || (call && (!type_kw_ok(call, STRING_KW) || npositional(call) > 1)))
      rc = failf(C, "a String type with options luamig has not");
    else if (type_collation(C, call, en))
      rc = -1;
    else if (len >= 0)
      lm_buf_printf(o, "string(%ld)", len);
    else
      lm_buf_puts(o, "string");
  } else if (IS("Text", "UnicodeText", "TEXT", "CLOB")) {
    if (call && (!type_kw_ok(call, TEXT_KW) || npositional(call) > 0))
      rc = failf(C, "a Text type with options");
    else if (type_collation(C, call, en))
      rc = -1;
    lm_buf_puts(o, "text");
  } else if (IS("Integer", "INTEGER", "INT")) {
    lm_buf_puts(o, "integer");
  } else if (IS("BigInteger", "BIGINT")) {
    lm_buf_puts(o, "bigint");
  } else if (IS("SmallInteger", "SMALLINT")) {
    lm_buf_puts(o, "smallint");
  } else if (IS("Boolean", "BOOLEAN")) {
    if (call && !type_kw_ok(call, BOOL_KW)) rc = failf(C, "a Boolean type with options");
    lm_buf_puts(o, "boolean");
  } else if (IS("Date", "DATE")) {
    lm_buf_puts(o, "date");
  } else if (IS("Time", "TIME")) {
    if (call && !type_kw_ok(call, TZ_KW)) rc = failf(C, "a Time type with options");
    if (truthy(call, "timezone")) rc = failf(C, "a time with time zone");
    lm_buf_puts(o, "time");
  } else if (IS("DateTime", "DATETIME", "TIMESTAMP")) {
    if (call && (!type_kw_ok(call, TZ_KW) || npositional(call) > (streq(t, "TIMESTAMP") ? 1 : 0)))
      rc = failf(C, "a DateTime type with options");
    if (truthy(call, "timezone") ||
        (call && positional(call, 0) && positional(call, 0)->kind == PY_TRUE))
      lm_buf_puts(o, "timestamptz");
    else
      lm_buf_puts(o, streq(t, "TIMESTAMP") ? "timestamp" : "datetime");
  } else if (IS("Numeric", "NUMERIC", "DECIMAL")) {
    long p = int_arg(call, 0, "precision"), s = int_arg(call, 1, "scale");
    if (p == -2 || s == -2 || (call && !type_kw_ok(call, NUM_KW)))
      rc = failf(C, "a Numeric type with options");
    else if (p >= 0 && s >= 0)
      lm_buf_printf(o, "numeric(%ld,%ld)", p, s);
    else if (p >= 0)
      lm_buf_printf(o, "numeric(%ld)", p);
    else
      lm_buf_puts(o, "numeric");
  } else if (IS("Float", "FLOAT", "REAL", "DOUBLE", "DOUBLE_PRECISION", "Double")) {
    if (call && !type_kw_ok(call, FLOAT_KW)) rc = failf(C, "a Float type with options");
    lm_buf_puts(o, "float");
  } else if (IS("JSON", "JSONB")) {
    if (call && !type_kw_ok(call, JSON_KW)) rc = failf(C, "a JSON type with options");
    lm_buf_puts(o, "json");
  } else if (IS("UUID", "Uuid", "GUID")) {
    if (call && !type_kw_ok(call, UUID_KW)) rc = failf(C, "a UUID type with options");
    lm_buf_puts(o, "uuid");
  } else if (IS("LargeBinary", "BLOB", "BYTEA", "BINARY", "VARBINARY")) {
    if (call && !type_kw_ok(call, BIN_KW)) rc = failf(C, "a binary type with options");
    lm_buf_puts(o, "binary");
  } else if (IS("Interval", "INTERVAL")) {
    if (call && call->n) rc = failf(C, "an Interval type with options");
    lm_buf_puts(o, "interval");
  } else if (IS("Enum", "ENUM")) {
    if (!call || !en || !type_kw_ok(call, ENUM_KW)) {
      rc = failf(C, "an Enum type here");
    } else {
      lm_buf in;
      lm_buf_init(&in);
      size_t longest = 0;
      int nvals = 0;
      for (int i = 0; i < call->n && !rc; i++) {
        const py_node *v = call->items[i];
        if (call->kw[i]) continue;
        if (v->kind != PY_STR || v->fstring || v->bytes || memchr(v->s, 0, v->len)) {
          rc = failf(C, "an Enum of a Python enum class (list its values instead)");
          break;
        }
        if (nvals++) lm_buf_puts(&in, ", ");
        lm_buf_literal(&in, v->s, v->len);
        if (v->len > longest) longest = v->len;
      }
      if (!rc && nvals == 0) rc = failf(C, "an Enum without values");
      int ni = kw_index(call, "name");
      char *name = NULL;
      if (!rc && ni >= 0 && call->items[ni]->kind != PY_NONE &&
          !(name = string_of(C, call->items[ni], 0)))
        rc = -1;
      long length = int_arg(call, -1, "length");
      if (length > (long)longest) longest = (size_t)length;
      if (!rc) {
        lm_buf_printf(o, "string(%zu)", longest);
        en->expr = lm_buf_steal(&in);
        en->name = name;
      } else {
        free(name);
      }
      lm_buf_free(&in);
    }
  } else if (IS("ARRAY")) {
    const py_node *item = call ? positional(call, 0) : NULL;
    lm_buf inner;
    lm_buf_init(&inner);
    if (!item || call->n != 1 || type_str(C, item, &inner, NULL)) {
      rc = failf(C, "an ARRAY type with options");
    } else {
      lm_buf tmp;
      lm_buf_init(&tmp);
      lm_render_type(&lm_dialect_postgresql, inner.s, &tmp);
      lm_buf_printf(o, "%s[]", tmp.s);
      lm_buf_free(&tmp);
    }
    lm_buf_free(&inner);
  } else {
    /* anything else passes through as its SQL name: INET, CITEXT, CHAR(2) */
    for (const char *p = t; *p; p++)
      lm_buf_putc(o, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
    if (call && call->n) {
      lm_buf_putc(o, '(');
      for (int i = 0; i < call->n; i++) {
        const py_node *a = call->items[i];
        if (call->kw[i] && !streq(call->kw[i], "length")) {
          rc = failf(C, "a type with keyword options");
          break;
        }
        if (a->kind != PY_NUM || !is_int_text(a->s)) {
          rc = failf(C, "a type with options other than numbers");
          break;
        }
        lm_buf_printf(o, "%s%s", i ? "," : "", a->s);
      }
      lm_buf_putc(o, ')');
    }
  }
#undef IS
  LM_UNUSED(NO_KW);
  free(rest);
  return rc;
}

/* ---- columns and constraints --------------------------------------------------------------- */

/* Keyword arguments dropped because they never reach the database in
 * Alembic either (Python-side column defaults, documentation) or belong to
 * a dialect luamig does not run on. A Column's onupdate= is Python-side too
 * (column() drops it); a foreign key's onupdate= is ON UPDATE and is kept. */
static int ignored_kw(const char *kw) {
  return streq(kw, "default") || streq(kw, "doc") || streq(kw, "info") ||
         strncmp(kw, "mysql_", 6) == 0 || strncmp(kw, "mariadb_", 8) == 0 ||
         strncmp(kw, "mssql_", 6) == 0 || strncmp(kw, "oracle_", 7) == 0;
}

/* A server_default value: a string literal, or op.sql(...) for an SQL
 * expression. */
static int default_value(conv *C, const py_node *v, lm_buf *o) {
  if (v->kind == PY_STR) {
    char *s = string_of(C, v, 0);
    if (!s) return -1;
    lua_cstr(o, s);
    free(s);
    return 0;
  }
  if (v->kind == PY_CALL) {
    char *rest;
    ns n = resolve(C, v->a, &rest);
    int rc = n == NS_SA ? sql_expr(C, v, rest, o) : failf(C, "a server_default of this kind");
    free(rest);
    return rc;
  }
  if (v->kind == PY_NAME && in_list(C->locals, C->nlocals, v->s)) {
    lm_buf_puts(o, v->s);
    return 0;
  }
  return failf(C, "a server_default of this kind");
}

/* A constraint's name: a string, or op.f("…") (the name as it stands). */
static char *name_of(conv *C, const py_node *x) {
  if (x->kind == PY_CALL && x->n == 1 && !x->kw[0]) {
    char *rest;
    ns n = resolve(C, x->a, &rest);
    int f = n == NS_OP && streq(rest, "f");
    free(rest);
    if (f) return string_of(C, x->items[0], 0);
  }
  return string_of(C, x, 0);
}

/* sa.CheckConstraint("cond", name=…) among a Column's arguments: a CHECK
 * of the table, written where an Enum's goes. */
static int column_check(conv *C, const py_node *name, const py_node *v) {
  char *cond = npositional(v) == 1 ? string_of(C, positional(v, 0), 1) : NULL;
  char *nm = NULL;
  int rc = 0;
  if (!cond) rc = failf(C, "a CheckConstraint whose condition is not SQL text");
  for (int k = 0; k < v->n && !rc; k++) {
    if (!v->kw[k] || v->items[k]->kind == PY_NONE || ignored_kw(v->kw[k])) continue;
    if (!streq(v->kw[k], "name") || !(nm = name_of(C, v->items[k])))
      rc = failf(C, "a CheckConstraint option luamig has not (deferrable, initially, …)");
  }
  if (!rc && (name->kind != PY_STR || C->nenums == MAX_NAMES))
    rc = failf(C, "a CheckConstraint in a Column whose name is not a plain string");
  if (rc) {
    free(cond);
    free(nm);
    return rc;
  }
  enum_check *e = &C->enums[C->nenums++];
  e->column = lm_xstrndup(name->s, name->len);
  e->name = nm;
  e->expr = cond;
  e->own = 1;
  return 0;
}

static int column(conv *C, const py_node *x, lm_buf *o) {
  if (has_star(x)) return failf(C, "a Column with *args or **kwargs");
  const py_node *name = positional(x, 0), *type = positional(x, 1);
  if (!name || !type) return failf(C, "a Column without a name and a type");
  enum_check en = {0};
  lm_buf t, opts;
  lm_buf_init(&t);
  lm_buf_init(&opts);
  int rc = 0, nopts = 0;
  lm_buf_puts(o, "op.column(");
  if (value(C, name, o)) rc = -1;
  if (!rc && type_str(C, type, &t, &en)) rc = -1;
  for (int i = 0; i < x->n && !rc; i++) {
    const char *kw = x->kw[i];
    const py_node *v = x->items[i];
    if (!kw) {
      if (v == name || v == type) continue;
      char *rest = NULL;
      ns n = v->kind == PY_CALL ? resolve(C, v->a, &rest) : NS_NONE;
      if (n == NS_SA && streq(rest, "ForeignKey") && !has_star(v)) {
        char *ref = string_of(C, positional(v, 0), 0);
        if (!ref || npositional(v) != 1) {
          free(ref);
          rc = failf(C, "a ForeignKey to something other than \"table.column\"");
        } else {
          lm_buf_printf(&opts, "%sreferences = ", nopts++ ? ", " : "");
          lua_cstr(&opts, ref);
          free(ref);
          for (int k = 0; k < v->n && !rc; k++) {
            if (!v->kw[k] || v->items[k]->kind == PY_NONE) continue;
            if (!streq(v->kw[k], "ondelete") && !streq(v->kw[k], "onupdate")) {
              rc = failf(C, "a ForeignKey option luamig's column has not (name it with "
                            "sa.ForeignKeyConstraint)");
              break;
            }
            lm_buf_printf(&opts, ", %s = ", v->kw[k]);
            if (value(C, v->items[k], &opts)) rc = -1;
          }
        }
      } else if (n == NS_SA && streq(rest, "CheckConstraint") && !has_star(v)) {
        rc = column_check(C, name, v);
      } else {
        rc = failf(C, "a Column argument luamig has not (Identity, Computed, …)");
      }
      free(rest);
      continue;
    }
    if (ignored_kw(kw) || streq(kw, "onupdate") || (v->kind == PY_NONE && !streq(kw, "nullable")))
      continue;
    if (streq(kw, "autoincrement") && v->kind == PY_STR) continue; /* "auto" is the default */
    if (streq(kw, "server_default")) {
      lm_buf_printf(&opts, "%sserver_default = ", nopts++ ? ", " : "");
      if (default_value(C, v, &opts)) rc = -1;
    } else if (streq(kw, "nullable") || streq(kw, "primary_key") || streq(kw, "autoincrement") ||
               streq(kw, "unique") || streq(kw, "index") || streq(kw, "comment")) {
      lm_buf_printf(&opts, "%s%s = ", nopts++ ? ", " : "", kw);
      if (v->kind == PY_NONE)
        lm_buf_puts(&opts, "true"); /* nullable=None: SQLAlchemy's default */
      else if (value(C, v, &opts))
        rc = -1;
    } else {
      rc = failf(C, "a Column option luamig has not");
    }
  }
  if (!rc && en.collation) {
    lm_buf_printf(&opts, "%scollation = ", nopts++ ? ", " : "");
    lua_cstr(&opts, en.collation);
  }
  if (!rc) {
    lm_buf_puts(o, ", \"");
    lm_buf_puts(o, t.s);
    lm_buf_putc(o, '"');
    if (nopts) lm_buf_printf(o, ", { %s }", opts.s);
    lm_buf_putc(o, ')');
  }
  if (!rc && en.expr) {
    char *col = name->kind == PY_STR ? lm_xstrndup(name->s, name->len) : NULL;
    if (!col || C->nenums == MAX_NAMES) {
      free(col);
      rc = failf(C, "an Enum column whose name is not a plain string");
    } else {
      lm_buf e;
      lm_buf_init(&e);
      lm_buf_ident(&e, col);
      lm_buf_printf(&e, " IN (%s)", en.expr);
      C->enums[C->nenums].column = col;
      C->enums[C->nenums].name = en.name;
      C->enums[C->nenums].own = 0;
      C->enums[C->nenums++].expr = lm_buf_steal(&e);
      en.name = NULL;
    }
  }
  free(en.expr);
  free(en.name);
  free(en.collation);
  lm_buf_free(&t);
  lm_buf_free(&opts);
  return rc;
}

/* A list of column names from positional arguments start.. (a name alone
 * when there is one). */
static int name_list(conv *C, const py_node *x, int start, lm_buf *o) {
  int n = npositional(x) - start;
  if (n <= 0) return failf(C, "a constraint without columns");
  if (n > 1) lm_buf_puts(o, "{ ");
  for (int k = 0; k < n; k++) {
    if (k) lm_buf_puts(o, ", ");
    if (value(C, positional(x, start + k), o)) return -1;
  }
  if (n > 1) lm_buf_puts(o, " }");
  return 0;
}

static int constraint_opts(conv *C, const py_node *x, const char *const *allowed, lm_buf *o) {
  int n = 0;
  for (int i = 0; i < x->n; i++) {
    const char *kw = x->kw[i];
    if (!kw || x->items[i]->kind == PY_NONE || ignored_kw(kw)) continue;
    int ok = 0;
    for (int k = 0; allowed[k]; k++)
      if (streq(allowed[k], kw)) ok = 1;
    if (!ok) return failf(C, "a constraint option luamig has not (deferrable, initially, …)");
    lm_buf_puts(o, n++ ? ", " : ", { ");
    lm_buf_printf(o, "%s = ", kw);
    if (value(C, x->items[i], o)) return -1;
  }
  if (n) lm_buf_puts(o, " }");
  return 0;
}

static int constraint(conv *C, const py_node *x, const char *kind, lm_buf *o) {
  static const char *const NAME[] = {"name", NULL};
  static const char *const FK[] = {"name", "ondelete", "onupdate", NULL};
  if (has_star(x)) return failf(C, "a constraint with *args");
  if (streq(kind, "PrimaryKeyConstraint") || streq(kind, "UniqueConstraint")) {
    lm_buf_puts(o, streq(kind, "UniqueConstraint") ? "op.unique(" : "op.primary_key(");
    if (name_list(C, x, 0, o) || constraint_opts(C, x, NAME, o)) return -1;
  } else if (streq(kind, "ForeignKeyConstraint")) {
    const py_node *a = positional(x, 0), *b = positional(x, 1);
    if (!a || !b || npositional(x) != 2) return failf(C, "a ForeignKeyConstraint of this shape");
    lm_buf_puts(o, "op.foreign_key(");
    if (value(C, a, o)) return -1;
    lm_buf_puts(o, ", ");
    if (value(C, b, o) || constraint_opts(C, x, FK, o)) return -1;
  } else if (streq(kind, "CheckConstraint")) {
    char *s = npositional(x) == 1 ? string_of(C, positional(x, 0), 1) : NULL;
    if (!s) return failf(C, "a CheckConstraint whose condition is not SQL text");
    lm_buf_puts(o, "op.check(");
    lua_cstr(o, s);
    free(s);
    if (constraint_opts(C, x, NAME, o)) return -1;
  } else {
    return failf(C, "a table item luamig has not");
  }
  lm_buf_putc(o, ')');
  return 0;
}

/* ---- values ------------------------------------------------------------------------------ */

static int sequence(conv *C, const py_node *x, lm_buf *o) {
  if (x->n == 0) {
    lm_buf_puts(o, "{}");
    return 0;
  }
  lm_buf_puts(o, "{ ");
  for (int i = 0; i < x->n; i++) {
    if (i) lm_buf_puts(o, ", ");
    if (x->items[i]->kind == PY_NONE) return failf(C, "None inside a list (Lua has no nil items)");
    if (value(C, x->items[i], o)) return -1;
  }
  lm_buf_puts(o, " }");
  return 0;
}

/* A Python literal as json.dumps writes it (", " and ": ", ASCII with
 * \uXXXX): what SQLAlchemy's JSON type stores for a dict or list. */
static int json_of(conv *C, const py_node *x, lm_buf *o) {
  switch (x->kind) {
  case PY_STR: {
    if (x->fstring || x->bytes) return failf(C, "a JSON value that is not a plain string");
    lm_buf_putc(o, '"');
    const unsigned char *p = (const unsigned char *)x->s, *end = p + x->len;
    while (p < end) {
      unsigned c = *p;
      size_t n = lm_utf8_seq(p);
      if (!n || p + n > end) return failf(C, "a JSON string that is not UTF-8");
      if (n > 1) {
        unsigned cp = c & (0x7f >> n);
        for (size_t i = 1; i < n; i++)
          cp = (cp << 6) | (p[i] & 0x3f);
        if (cp >= 0x10000)
          lm_buf_printf(o, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
                        0xdc00 + ((cp - 0x10000) & 0x3ff));
        else
          lm_buf_printf(o, "\\u%04x", cp);
      } else if (c == '"' || c == '\\') {
        lm_buf_printf(o, "\\%c", c);
      } else if (c == '\n') {
        lm_buf_puts(o, "\\n");
      } else if (c == '\r') {
        lm_buf_puts(o, "\\r");
      } else if (c == '\t') {
        lm_buf_puts(o, "\\t");
      } else if (c < 0x20 || c == 0x7f) {
        lm_buf_printf(o, "\\u%04x", c);
      } else {
        lm_buf_putc(o, (char)c);
      }
      p += n;
    }
    lm_buf_putc(o, '"');
    return 0;
  }
  case PY_NUM:
    if (strchr(x->s, '_') || strchr(x->s, 'j') || strchr(x->s, 'J') || strchr(x->s, 'x') ||
        strchr(x->s, 'X') || strchr(x->s, 'o') || strchr(x->s, 'b'))
      return failf(C, "a JSON number written other than in decimal");
    lm_buf_puts(o, x->s);
    return 0;
  case PY_UNARY:
    if (streq(x->s, "-") && x->a->kind == PY_NUM) {
      lm_buf_putc(o, '-');
      return json_of(C, x->a, o);
    }
    return failf(C, "an operator in a JSON value");
  case PY_TRUE: lm_buf_puts(o, "true"); return 0;
  case PY_FALSE: lm_buf_puts(o, "false"); return 0;
  case PY_NONE: lm_buf_puts(o, "null"); return 0;
  case PY_LIST:
  case PY_TUPLE:
    lm_buf_putc(o, '[');
    for (int i = 0; i < x->n; i++) {
      if (i) lm_buf_puts(o, ", ");
      if (json_of(C, x->items[i], o)) return -1;
    }
    lm_buf_putc(o, ']');
    return 0;
  case PY_DICT:
    lm_buf_putc(o, '{');
    for (int i = 0; i + 1 < x->n; i += 2) {
      if (x->items[i]->kind != PY_STR) return failf(C, "a JSON object whose keys are not strings");
      if (i) lm_buf_puts(o, ", ");
      if (json_of(C, x->items[i], o)) return -1;
      lm_buf_puts(o, ": ");
      if (json_of(C, x->items[i + 1], o)) return -1;
    }
    lm_buf_putc(o, '}');
    return 0;
  default: return failf(C, "a JSON value that is not a literal");
  }
}

/* bulk_insert's rows: None is NULL (op.null: a nil would leave the column
 * out, and give it its default), a dict or list a JSON column's text. */
static int bulk_rows(conv *C, const py_node *x, lm_buf *o) {
  lm_buf_puts(o, "{ ");
  for (int r = 0; r < x->n; r++) {
    const py_node *row = x->items[r];
    if (row->kind != PY_DICT) return failf(C, "a bulk_insert row that is not a dict");
    if (r) lm_buf_puts(o, ", ");
    lm_buf_puts(o, "{ ");
    for (int i = 0; i + 1 < row->n; i += 2) {
      const py_node *k = row->items[i], *v = row->items[i + 1];
      if (k->kind != PY_STR || k->fstring || k->bytes || memchr(k->s, 0, k->len))
        return failf(C, "a dict whose keys are not plain strings");
      if (i) lm_buf_puts(o, ", ");
      lua_key(o, k->s, k->len);
      if (v->kind == PY_NONE) {
        lm_buf_puts(o, "op.null");
      } else if (v->kind == PY_DICT || v->kind == PY_LIST || v->kind == PY_TUPLE) {
        lm_buf j;
        lm_buf_init(&j);
        int rc = json_of(C, v, &j);
        if (!rc) lua_str(o, j.s ? j.s : "", j.len);
        lm_buf_free(&j);
        if (rc) return -1;
      } else if (value(C, v, o)) {
        return -1;
      }
    }
    lm_buf_puts(o, " }");
  }
  lm_buf_puts(o, " }");
  return 0;
}

static int value(conv *C, const py_node *x, lm_buf *o) {
  switch (x->kind) {
  case PY_STR: {
    char *s = string_of(C, x, 0);
    if (!s) return -1;
    lua_cstr(o, s);
    free(s);
    return 0;
  }
  case PY_NUM: return number(C, x, o);
  case PY_TRUE: lm_buf_puts(o, "true"); return 0;
  case PY_FALSE: lm_buf_puts(o, "false"); return 0;
  case PY_NONE: lm_buf_puts(o, "nil"); return 0;
  case PY_LIST:
  case PY_TUPLE: return sequence(C, x, o);
  case PY_DICT:
    if (x->n == 0) {
      lm_buf_puts(o, "{}");
      return 0;
    }
    lm_buf_puts(o, "{ ");
    for (int i = 0; i + 1 < x->n; i += 2) {
      const py_node *k = x->items[i];
      if (k->kind != PY_STR || k->fstring || k->bytes || memchr(k->s, 0, k->len))
        return failf(C, "a dict whose keys are not plain strings");
      if (i) lm_buf_puts(o, ", ");
      lua_key(o, k->s, k->len);
      if (value(C, x->items[i + 1], o)) return -1;
    }
    lm_buf_puts(o, " }");
    return 0;
  case PY_UNARY:
    if (streq(x->s, "-") && x->a->kind == PY_NUM) {
      lm_buf_putc(o, '-');
      return number(C, x->a, o);
    }
    return failf(C, "an operator");
  case PY_NAME:
    if (in_list(C->locals, C->nlocals, x->s) || in_list(C->tables, C->ntables, x->s)) {
      lm_buf_puts(o, x->s);
      return 0;
    }
    return failf(C, "a variable");
  case PY_CALL: {
    char *rest;
    ns n = resolve(C, x->a, &rest);
    int rc;
    int batch_f = C->batch && x->a->kind == PY_ATTR && x->a->a->kind == PY_NAME &&
                  streq(x->a->a->s, C->batch) && streq(x->a->s, "f");
    if ((batch_f || (n == NS_OP && streq(rest, "f"))) && x->n == 1 && !x->kw[0] &&
        x->items[0]->kind == PY_STR) {
      lm_buf_puts(o, "op.f(");
      rc = value(C, x->items[0], o);
      lm_buf_putc(o, ')');
    } else if (n == NS_SA && streq(rest, "Column")) {
      rc = column(C, x, o);
    } else if (n == NS_SA &&
               (streq(rest, "PrimaryKeyConstraint") || streq(rest, "UniqueConstraint") ||
                streq(rest, "ForeignKeyConstraint") || streq(rest, "CheckConstraint"))) {
      rc = constraint(C, x, rest, o);
    } else if (n == NS_SA) {
      rc = sql_expr(C, x, rest, o);
    } else {
      rc = failf(C, n == NS_OP ? "an op call that is not a value" : "a call");
    }
    free(rest);
    return rc;
  }
  default: return failf(C, "an expression outside what can be converted");
  }
}

/* ---- directives ---------------------------------------------------------------------------- */

typedef struct dspec {
  const char *name;
  int batch_pos; /* where the table goes among the arguments (-1: no batch method;
                    0: drop_index, whose table is an option) */
  const char *kw[16];
} dspec;

static const dspec DIRECTIVES[] = {
    {"create_table", -1, {NULL}},
    {"drop_table", -1, {NULL}},
    {"rename_table", -1, {NULL}},
    {"add_column", 1, {NULL}},
    {"drop_column", 1, {NULL}},
    {"alter_column",
     1,
     {"new_column_name", "type_", "existing_type", "nullable", "existing_nullable",
      "server_default", "existing_server_default", "postgresql_using", "comment",
      "existing_comment", "autoincrement", "existing_autoincrement", NULL}},
    {"create_index",
     2,
     {"unique", "postgresql_where", "sqlite_where", "postgresql_concurrently", "if_not_exists",
      "postgresql_using", "postgresql_ops", "postgresql_include", NULL}},
    {"drop_index", 0, {"table_name", "postgresql_concurrently", "if_exists", NULL}},
    {"create_primary_key", 2, {NULL}},
    {"create_unique_constraint", 2, {"deferrable", "initially", NULL}},
    {"create_foreign_key", 2, {"ondelete", "onupdate", "postgresql_not_valid", NULL}},
    {"create_check_constraint", 2, {"postgresql_not_valid", NULL}},
    {"drop_constraint", 2, {"type_", NULL}},
    {"execute", -1, {NULL}},
    {"bulk_insert", -1, {NULL}},
    {NULL, 0, {NULL}}};

static const dspec *find_directive(const char *name) {
  for (const dspec *d = DIRECTIVES; d->name; d++)
    if (streq(d->name, name)) return d;
  return NULL;
}

/* Keyword arguments with None as their value mean "not given" in Alembic,
 * except alter_column's server_default, where None drops the default. */
static int directive_kw(conv *C, const dspec *d, const char *kw, const py_node *v, lm_buf *opts,
                        int *nopts) {
  int alter = streq(d->name, "alter_column");
  if (alter && streq(kw, "server_default")) {
    if (v->kind == PY_FALSE) return 0; /* Alembic's "no change" */
    lm_buf_printf(opts, "%sserver_default = ", (*nopts)++ ? ", " : "");
    if (v->kind == PY_NONE) {
      lm_buf_puts(opts, "false");
      return 0;
    }
    return default_value(C, v, opts);
  }
  if (alter && streq(kw, "comment") && v->kind == PY_NONE) {
    /* Alembic's comment=None removes the comment; luamig's comment = false */
    lm_buf_printf(opts, "%scomment = false", (*nopts)++ ? ", " : "");
    return 0;
  }
  /* multiinsert=False makes Alembic insert row by row: the same rows */
  if (streq(d->name, "bulk_insert") && streq(kw, "multiinsert")) return 0;
  if (v->kind == PY_NONE || ignored_kw(kw)) return 0;
  /* autogenerate's drop_index repeats the index's WHERE, method, operator
   * classes and INCLUDE columns: nothing to drop by */
  if (streq(d->name, "drop_index") &&
      (streq(kw, "postgresql_where") || streq(kw, "sqlite_where") ||
       streq(kw, "postgresql_using") || streq(kw, "postgresql_ops") ||
       streq(kw, "postgresql_include")))
    return 0;
  if (alter && (streq(kw, "comment") || streq(kw, "existing_comment")) && v->kind == PY_FALSE)
    return 0;
  if (streq(kw, "schema")) return failf(C, "a schema= argument (luamig uses the search path)");
  int ok = 0;
  for (int k = 0; d->kw[k]; k++)
    if (streq(d->kw[k], kw)) ok = 1;
  if (!ok) return failf(C, "a keyword argument luamig's directive has not");
  if (streq(kw, "existing_comment") || streq(kw, "existing_autoincrement")) return 0;
  const char *key = streq(kw, "type_") && alter ? "type" : kw;
  lm_buf_printf(opts, "%s%s = ", (*nopts)++ ? ", " : "", key);
  if (streq(kw, "type_") && alter) {
    lm_buf t;
    lm_buf_init(&t);
    int rc = type_str(C, v, &t, NULL);
    if (!rc) lm_buf_printf(opts, "\"%s\"", t.s);
    lm_buf_free(&t);
    return rc;
  }
  if (streq(kw, "existing_type")) {
    lm_buf t;
    lm_buf_init(&t);
    enum_check en = {0};
    int rc = type_str(C, v, &t, &en);
    if (!rc) lm_buf_printf(opts, "\"%s\"", t.s);
    free(en.expr);
    free(en.name);
    free(en.collation);
    lm_buf_free(&t);
    return rc;
  }
  if (streq(kw, "existing_server_default")) return default_value(C, v, opts);
  if (streq(kw, "postgresql_where") || streq(kw, "sqlite_where")) {
    char *s = string_of(C, v, 1);
    if (!s) return -1;
    lua_cstr(opts, s);
    free(s);
    return 0;
  }
  return value(C, v, opts);
}

/* Alembic's names of each directive's positional parameters, which a call
 * may also pass by keyword (op.add_column(table_name=..., column=...)). */
static const char *const *param_names(const char *directive) {
  static const struct {
    const char *d;
    const char *p[6];
  } P[] = {
      {"add_column", {"table_name", "column", NULL}},
      {"drop_column", {"table_name", "column_name", NULL}},
      {"alter_column", {"table_name", "column_name", NULL}},
      {"create_index", {"index_name", "table_name", "columns", NULL}},
      {"drop_index", {"index_name", NULL}},
      {"create_table", {"table_name", NULL}},
      {"drop_table", {"table_name", NULL}},
      {"rename_table", {"old_table_name", "new_table_name", NULL}},
      {"create_primary_key", {"constraint_name", "table_name", "columns", NULL}},
      {"create_unique_constraint", {"constraint_name", "table_name", "columns", NULL}},
      {"create_foreign_key",
       {"constraint_name", "source_table", "referent_table", "local_cols", "remote_cols", NULL}},
      {"create_check_constraint", {"constraint_name", "table_name", "condition", NULL}},
      {"drop_constraint", {"constraint_name", "table_name", NULL}},
      {"execute", {"sqltext", NULL}},
      {"bulk_insert", {"table", "rows", NULL}}};
  for (size_t i = 0; i < sizeof P / sizeof *P; i++)
    if (streq(P[i].d, directive)) return P[i].p;
  return NULL;
}

/* x with the positional parameters it passes by keyword put in place, into
 * out (its arrays malloc'd: free them), or 0 when x passes none so. */
static int by_position(const py_node *x, const char *directive, py_node *out) {
  const char *const *names = param_names(directive);
  if (!names || has_star(x)) return 0;
  int npos = npositional(x), moved = 0;
  int *take = lm_xcalloc((size_t)x->n + 1, sizeof *take);
  py_node **items = lm_xcalloc((size_t)x->n + 1, sizeof *items);
  const char **kw = lm_xcalloc((size_t)x->n + 1, sizeof *kw);
  int k = 0;
  for (int i = 0; i < x->n; i++)
    if (!x->kw[i]) items[k] = x->items[i], kw[k++] = NULL;
  int nnames = 0;
  while (names[nnames])
    nnames++;
  for (int p = npos; p < nnames; p++) {
    int found = kw_index(x, names[p]);
    if (found < 0) break;
    items[k] = x->items[found], kw[k++] = NULL, take[found] = 1, moved++;
  }
  for (int i = 0; i < x->n; i++)
    if (x->kw[i] && !take[i]) items[k] = x->items[i], kw[k++] = x->kw[i];
  free(take);
  if (!moved) {
    free(items), free(kw);
    return 0;
  }
  *out = *x;
  out->items = items;
  out->kw = kw;
  return 1;
}

/* The name an Enum's CHECK gets: its own, or, for a second column of the
 * same Enum in one statement, the Enum's name and the column's (two CHECKs
 * of one name cannot stand on one table). NULL: unnamed. */
static char *enum_check_name(const conv *C, int i) {
  const char *nm = C->enums[i].name;
  if (!nm) return NULL;
  if (C->enums[i].own) return lm_xstrdup(nm);
  for (int j = 0; j < i; j++)
    if (C->enums[j].name && streq(C->enums[j].name, nm))
      return lm_xasprintf("%s_%s", nm, C->enums[i].column);
  return lm_xstrdup(nm);
}

/* The table a bulk_insert writes: sa.table("name", …) or a name bound to one. */
static int table_ref(conv *C, const py_node *x, lm_buf *o) {
  if (x->kind == PY_NAME && in_list(C->tables, C->ntables, x->s)) {
    lm_buf_puts(o, x->s);
    return 0;
  }
  if (x->kind == PY_CALL) {
    char *rest;
    ns n = resolve(C, x->a, &rest);
    int ok = n == NS_SA && streq(rest, "table") && positional(x, 0);
    free(rest);
    if (ok) return value(C, positional(x, 0), o);
  }
  return value(C, x, o);
}

/* op.X(...) or, inside a batch, batch.X(...) as Lua into o; multi: one item
 * per line (create_table). */
static int directive(conv *C, const py_node *x, const dspec *d, const char *prefix, int in_batch,
                     lm_buf *o, const char *indent) {
  if (has_star(x)) return failf(C, "a call with *args or **kwargs");
  int create = streq(d->name, "create_table");
  int npos = npositional(x);
  lm_buf opts;
  lm_buf_init(&opts);
  int nopts = 0, rc = 0;
  /* Alembic makes `op.drop_constraint(None, ...)` for a constraint the
   * database named; it cannot run in Alembic either, and only the user
   * knows the name. */
  if (streq(d->name, "drop_constraint") && npos > 0 && positional(x, 0)->kind == PY_NONE)
    return failf(C, "a constraint dropped without its name (None); write the name the "
                    "database gave it");
  lm_buf_printf(o, "%s%s(", prefix, d->name);
  int k = 0;
  for (int i = 0; i < x->n && !rc; i++) {
    const py_node *v = x->items[i];
    if (x->kw[i]) {
      rc = directive_kw(C, d, x->kw[i], v, &opts, &nopts);
      continue;
    }
    if (k) {
      if (create)
        lm_buf_printf(o, ",\n%s  ", indent);
      else
        lm_buf_puts(o, ", ");
    }
    if (streq(d->name, "execute") && k == 0) {
      /* op.execute passes a string through text(), as sa.text is */
      char *s = string_of(C, v, 1);
      if (s) text_colons(s);
      if (!s) {
        rc = -1;
      } else {
        lua_cstr(o, s);
        free(s);
      }
    } else if (streq(d->name, "bulk_insert") && k == 0) {
      rc = table_ref(C, v, o);
    } else if (streq(d->name, "bulk_insert") && k == 1 && v->kind == PY_LIST) {
      rc = bulk_rows(C, v, o);
    } else {
      rc = value(C, v, o);
    }
    k++;
  }
  if (!rc && streq(d->name, "execute") && npos != 1) rc = failf(C, "op.execute with parameters");
  if (!rc && create) { /* the CHECKs of Enum columns */
    for (int i = 0; i < C->nenums; i++) {
      lm_buf_printf(o, ",\n%s  op.check(", indent);
      lua_cstr(o, C->enums[i].expr);
      char *nm = enum_check_name(C, i);
      if (nm) {
        lm_buf_puts(o, ", { name = ");
        lua_cstr(o, nm);
        lm_buf_puts(o, " }");
      }
      free(nm);
      lm_buf_putc(o, ')');
    }
  }
  if (!rc && nopts) lm_buf_printf(o, "%s{ %s }", k ? ", " : "", opts.s);
  lm_buf_putc(o, ')');
  lm_buf_free(&opts);
  LM_UNUSED(in_batch);
  return rc;
}

/* ---- statements -------------------------------------------------------------------------- */

typedef struct out {
  lm_buf *b;
  const char *indent;
} out;

static void emit_unconverted(conv *C, const py_stmt *s, const char *why, lm_buf *b,
                             const char *indent, int in_function) {
  char *line = py_line_text(C->m, s->line);
  lm_buf_printf(&C->out->diag, "%s:%d: not converted: %s\n", C->path, s->line, line);
  C->out->nunconverted++;
  int lines = s->end_line > s->line || !in_function;
  if (why)
    lm_buf_printf(b, "%s-- not converted (%s)%s\n", indent, why, lines ? ":" : "");
  else if (lines)
    lm_buf_printf(b, "%s-- not converted:\n", indent);
  size_t strip = 0; /* the first line's indentation, taken off every line */
  if (lines) {
    char *first = py_line_raw(C->m, s->line);
    while (first[strip] == ' ' || first[strip] == '\t')
      strip++;
    free(first);
  }
  for (int l = s->line; lines && l <= s->end_line; l++) {
    char *t = py_line_raw(C->m, l);
    size_t k = 0;
    while (k < strip && (t[k] == ' ' || t[k] == '\t'))
      k++;
    lm_buf_printf(b, "%s--   %s\n", indent, t + k);
    free(t);
  }
  if (in_function) {
    lm_buf_printf(b, "%serror(", indent);
    char *msg = lm_xasprintf("not converted from Alembic: %s", line);
    lua_cstr(b, msg);
    free(msg);
    lm_buf_puts(b, ")\n");
  }
  free(line);
}

static void body(conv *C, py_stmt *const *v, int n, lm_buf *b, const char *indent);

static int is_docstring(const py_stmt *s) {
  return s->kind == PY_S_EXPR && s->value->kind == PY_STR;
}

/* `with op.batch_alter_table("t", ...) as b:` and
 * `with op.get_context().autocommit_block():`. */
static int with_stmt(conv *C, const py_stmt *s, lm_buf *b, const char *indent) {
  const py_node *x = s->value;
  if (x->kind != PY_CALL) return failf(C, "a with statement");
  char *rest;
  ns n = resolve(C, x->a, &rest);
  int batch = n == NS_OP && streq(rest, "batch_alter_table");
  free(rest);
  char *inner = lm_xasprintf("%s  ", indent);
  int rc = 0;
  if (batch && s->name) {
    if (has_star(x) || !positional(x, 0) || npositional(x) != 1) {
      free(inner);
      return failf(C, "a batch_alter_table of this shape");
    }
    lm_buf opts;
    lm_buf_init(&opts);
    int nopts = 0;
    for (int i = 0; i < x->n && !rc; i++) {
      if (!x->kw[i] || x->items[i]->kind == PY_NONE) continue;
      if (!streq(x->kw[i], "recreate")) {
        rc = failf(C, "a batch_alter_table option luamig has not");
        break;
      }
      lm_buf_printf(&opts, "%srecreate = ", nopts++ ? ", " : "");
      rc = value(C, x->items[i], &opts);
    }
    lm_buf head;
    lm_buf_init(&head);
    if (!rc) rc = value(C, positional(x, 0), &head);
    if (!rc) {
      lm_buf_printf(b, "%sop.batch_alter_table(%s, function(%s)\n", indent, head.s, s->name);
      const char *saved = C->batch, *saved_table = C->batch_table;
      C->batch = s->name;
      C->batch_table = head.s;
      body(C, s->body, s->nbody, b, inner);
      C->batch = saved;
      C->batch_table = saved_table;
      lm_buf_printf(b, "%send%s%s%s)\n", indent, nopts ? ", { " : "", nopts ? opts.s : "",
                    nopts ? " }" : "");
    }
    lm_buf_free(&head);
    lm_buf_free(&opts);
    free(inner);
    return rc;
  }
  /* op.get_context().autocommit_block() */
  const py_node *f = x->a;
  if (!s->name && x->n == 0 && f->kind == PY_ATTR && streq(f->s, "autocommit_block") &&
      f->a->kind == PY_CALL && f->a->n == 0) {
    char *r2;
    ns n2 = resolve(C, f->a->a, &r2);
    int ok = n2 == NS_OP && streq(r2, "get_context");
    free(r2);
    if (ok) {
      /* Alembic commits what ran before the block too; luamig's lint calls
       * that an error, so the file says what it does and keeps Alembic's
       * behaviour rather than failing `luamig check`. */
      if (C->converted > 0)
        lm_buf_printf(b,
                      "%s-- As in Alembic, autocommit_block commits the operations before it;\n"
                      "%s-- a step of their own (steps = { ... }) would keep each part atomic.\n"
                      "%s-- luamig: allow ops-before-autocommit\n",
                      indent, indent, indent);
      lm_buf_printf(b, "%sop.autocommit_block(function()\n", indent);
      body(C, s->body, s->nbody, b, inner);
      lm_buf_printf(b, "%send)\n", indent);
      free(inner);
      return 0;
    }
  }
  free(inner);
  return failf(C, "a with statement other than batch_alter_table");
}

/* An expression statement: a directive call. */
/* Whether the Python statements add a column to table (a Lua string
 * literal, as value() writes it): op.add_column("t", …), or add_column in
 * a batch_alter_table("t") block. */
static int adds_column_to(conv *C, py_stmt *const *v, int n, const char *table, const char *batch,
                          const char *batch_table) {
  for (int i = 0; i < n; i++) {
    const py_stmt *s = v[i];
    if (s->kind == PY_S_WITH && s->value && s->value->kind == PY_CALL && s->name &&
        positional(s->value, 0)) {
      lm_buf t;
      lm_buf_init(&t);
      const char *saved = C->why;
      int bad = value(C, positional(s->value, 0), &t);
      C->why = saved;
      int found = !bad && adds_column_to(C, s->body, s->nbody, table, s->name, t.s);
      lm_buf_free(&t);
      if (found) return 1;
      continue;
    }
    if (s->kind != PY_S_EXPR || !s->value || s->value->kind != PY_CALL) continue;
    const py_node *f = s->value->a;
    if (f->kind != PY_ATTR || !streq(f->s, "add_column")) continue;
    if (batch && f->a->kind == PY_NAME && streq(f->a->s, batch)) {
      if (batch_table && streq(batch_table, table)) return 1;
      continue;
    }
    const py_node *t0 = positional(s->value, 0);
    if (!t0 || t0->kind != PY_STR) continue;
    lm_buf t;
    lm_buf_init(&t);
    lua_str(&t, t0->s, t0->len);
    int same = streq(t.s, table);
    lm_buf_free(&t);
    if (same) return 1;
  }
  return 0;
}

/* The comment lines that keep, in a converted revision, what Alembic ran
 * and luamig's lint calls an error, so that the converted chain passes
 * `luamig check` (SPEC §13) and says why. */
static void keep_alembic(conv *C, const py_node *x, const dspec *d, int in_batch, lm_buf *b,
                         const char *indent) {
  if (streq(d->name, "add_column")) {
    const py_node *col = positional(x, in_batch ? 0 : 1);
    if (!col || col->kind != PY_CALL) return;
    int nn = kw_index(col, "nullable"), sd = kw_index(col, "server_default"),
        pk = kw_index(col, "primary_key");
    if (nn < 0 || col->items[nn]->kind != PY_FALSE) return;
    if (sd >= 0 && col->items[sd]->kind != PY_NONE) return;
    if (pk >= 0 && col->items[pk]->kind == PY_TRUE) return;
    lm_buf_printf(b,
                  "%s-- As in Alembic: a NOT NULL column without a default fails on a table "
                  "with rows.\n%s-- luamig: allow add-not-null-without-default\n",
                  indent, indent);
  } else if (streq(d->name, "drop_column")) {
    lm_buf t;
    lm_buf_init(&t);
    const char *table = NULL;
    if (in_batch) {
      table = C->batch_table;
    } else if (positional(x, 0)) {
      const char *saved = C->why;
      if (value(C, positional(x, 0), &t) == 0) table = t.s;
      C->why = saved;
    }
    if (table && adds_column_to(C, C->fn_body, C->fn_nbody, table, NULL, NULL))
      lm_buf_printf(b,
                    "%s-- As in Alembic: this revision drops a column and adds another to the "
                    "table.\n%s-- luamig: allow drop-then-add\n",
                    indent, indent);
    lm_buf_free(&t);
  }
}

static int call_stmt(conv *C, const py_stmt *s, lm_buf *b, const char *indent) {
  const py_node *x = s->value;
  if (x->kind != PY_CALL) return failf(C, "an expression that is not a call");
  lm_buf line;
  lm_buf_init(&line);
  int rc;
  const dspec *d = NULL;
  const char *prefix = "op.";
  char *batch_prefix = NULL;
  if (C->batch && x->a->kind == PY_ATTR && x->a->a->kind == PY_NAME &&
      streq(x->a->a->s, C->batch)) {
    d = find_directive(x->a->s);
    if (!d || d->batch_pos < 0) {
      lm_buf_free(&line);
      return failf(C, "a batch method luamig has not");
    }
    prefix = batch_prefix = lm_xasprintf("%s.", C->batch);
  } else {
    char *rest;
    ns n = resolve(C, x->a, &rest);
    if (n == NS_OP) d = find_directive(rest);
    if (n == NS_OP && !d) {
      int bind = streq(rest, "get_bind");
      free(rest);
      lm_buf_free(&line);
      return failf(C, bind ? "a query through op.get_bind()" : "an op call luamig has not");
    }
    free(rest);
    if (!d) {
      lm_buf_free(&line);
      return failf(C, "a call of something other than op");
    }
  }
  py_node moved;
  int remapped = !batch_prefix && by_position(x, d->name, &moved);
  if (remapped) x = &moved;
  rc = directive(C, x, d, prefix, batch_prefix != NULL, &line, indent);
  if (!rc && C->nenums && !streq(d->name, "create_table") && !streq(d->name, "add_column"))
    rc = failf(C, C->enums[0].own ? "a Column's CheckConstraint outside create_table and add_column"
                                  : "an Enum type outside create_table and add_column");
  if (!rc) {
    for (int i = 0; i < C->nenums; i++)
      if (!C->enums[i].own)
        lm_buf_printf(b,
                      "%s-- sa.Enum%s%s%s on column \"%s\": a VARCHAR with a CHECK constraint "
                      "(no PostgreSQL enum type)\n",
                      indent, C->enums[i].name ? " \"" : "",
                      C->enums[i].name ? C->enums[i].name : "", C->enums[i].name ? "\"" : "",
                      C->enums[i].column);
    keep_alembic(C, x, d, batch_prefix != NULL, b, indent);
    lm_buf_printf(b, "%s%s\n", indent, line.s);
    /* add_column of an Enum: its CHECK as a constraint of its own */
    if (streq(d->name, "add_column") && C->nenums) {
      char *table = NULL;
      if (!batch_prefix) {
        const py_node *t = positional(x, 0);
        lm_buf tb;
        lm_buf_init(&tb);
        value(C, t, &tb);
        table = lm_buf_steal(&tb);
      }
      for (int i = 0; i < C->nenums; i++) {
        char *nm = enum_check_name(C, i);
        char *gen = nm ? NULL : lm_xasprintf("ck_%s", C->enums[i].column);
        lm_buf_printf(b, "%s%screate_check_constraint(", indent, prefix);
        lua_cstr(b, nm ? nm : gen);
        free(nm);
        if (table) lm_buf_printf(b, ", %s", table);
        lm_buf_puts(b, ", ");
        lua_cstr(b, C->enums[i].expr);
        lm_buf_puts(b, ")\n");
        free(gen);
      }
      free(table);
    }
    for (int i = 0; i < C->nenums; i++)
      if (!C->enums[i].own)
        lm_buf_printf(&C->out->diag,
                      "%s:%d: note: sa.Enum on column \"%s\" became a VARCHAR with a CHECK "
                      "constraint (not a PostgreSQL enum type)\n",
                      C->path, s->line, C->enums[i].column);
  }
  if (remapped) {
    free(moved.items);
    free((void *)moved.kw);
  }
  free(batch_prefix);
  lm_buf_free(&line);
  return rc;
}

/* `t = sa.table("name", sa.column(...))`: the handle bulk_insert takes;
 * `t = op.create_table("name", ...)`, as Alembic's documentation seeds a new
 * table: the table made, and the same handle. */
static int assign_stmt(conv *C, const py_stmt *s, lm_buf *b, const char *indent) {
  if (s->target->kind != PY_NAME || !s->value || s->value->kind != PY_CALL)
    return failf(C, "an assignment: write it in Lua");
  char *rest;
  ns n = resolve(C, s->value->a, &rest);
  int table = n == NS_SA && streq(rest, "table");
  int created = n == NS_OP && streq(rest, "create_table");
  free(rest);
  if (created && usable_local(s->target->s) && positional(s->value, 0) &&
      positional(s->value, 0)->kind == PY_STR) {
    py_stmt call = *s;
    call.kind = PY_S_EXPR;
    call.target = NULL;
    int rc = call_stmt(C, &call, b, indent);
    lm_buf v;
    lm_buf_init(&v);
    if (!rc) rc = value(C, positional(s->value, 0), &v);
    if (!rc) {
      lm_buf_printf(b, "%slocal %s = %s -- a table handle in Alembic: here its name\n", indent,
                    s->target->s, v.s);
      add_name(C->tables, &C->ntables, s->target->s);
    }
    lm_buf_free(&v);
    return rc;
  }
  if (!table || !usable_local(s->target->s)) {
    char *d = s->value->kind == PY_CALL ? py_dotted(s->value->a) : NULL;
    int bind = d && strlen(d) > 9 && strcmp(d + strlen(d) - 9, ".get_bind") == 0;
    free(d);
    return failf(C, bind ? "op.get_bind(): write its queries with op.execute, op.query or op.rows"
                         : "an assignment: write it in Lua");
  }
  lm_buf v;
  lm_buf_init(&v);
  int rc = table_ref(C, s->value, &v);
  if (!rc) {
    lm_buf_printf(b, "%slocal %s = %s -- a table handle in Alembic: here its name\n", indent,
                  s->target->s, v.s);
    add_name(C->tables, &C->ntables, s->target->s);
  }
  lm_buf_free(&v);
  return rc;
}

/* Why a statement of a kind outside the subset was left: by its keyword. */
static const char *other_why(conv *C, const py_stmt *s) {
  char *t = py_line_text(C->m, s->line);
  const char *why = NULL;
  if (strncmp(t, "for ", 4) == 0 || strncmp(t, "while ", 6) == 0)
    why = "a loop: write it in Lua; op.rows iterates over a query";
  else if (strncmp(t, "if ", 3) == 0)
    why = "an if statement: write it in Lua; context.dialect names the dialect";
  else if (strncmp(t, "try", 3) == 0)
    why = "a try statement: write it in Lua (pcall)";
  else if (strncmp(t, "def ", 4) == 0)
    why = "a helper function: write it in Lua";
  free(t);
  return why;
}

static void body(conv *C, py_stmt *const *v, int n, lm_buf *b, const char *indent) {
  for (int i = 0; i < n; i++) {
    const py_stmt *s = v[i];
    C->why = NULL;
    C->line = s->line;
    enums_clear(C);
    lm_buf one;
    lm_buf_init(&one);
    int rc = 0;
    switch (s->kind) {
    case PY_S_PASS:
    case PY_S_IMPORT: break;
    case PY_S_EXPR:
      if (is_docstring(s)) break;
      rc = call_stmt(C, s, &one, indent);
      break;
    case PY_S_WITH: rc = with_stmt(C, s, &one, indent); break;
    case PY_S_ASSIGN: rc = assign_stmt(C, s, &one, indent); break;
    default: rc = failf(C, s->why ? s->why : other_why(C, s)); break;
    }
    if (rc) {
      emit_unconverted(C, s, C->why, b, indent, 1);
    } else {
      lm_buf_put(b, one.s ? one.s : "", one.len);
      if (one.len) C->converted++;
    }
    lm_buf_free(&one);
  }
  enums_clear(C);
}

/* ---- the module ------------------------------------------------------------------------------ */

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 32) return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '_'))
      return 0;
  return 1;
}

/* revision / down_revision / branch_labels / depends_on: None, a string, or a
 * tuple or list of strings. Lua text into o; NULL-safe. */
static int id_value(conv *C, const py_node *x, lm_buf *o) {
  if (x->kind == PY_NONE) {
    lm_buf_puts(o, "nil");
    return 0;
  }
  if (x->kind == PY_STR) return value(C, x, o);
  if (x->kind == PY_TUPLE || x->kind == PY_LIST) {
    for (int i = 0; i < x->n; i++)
      if (x->items[i]->kind != PY_STR) return failf(C, "a list of something other than strings");
    if (x->n == 0) {
      lm_buf_puts(o, "nil");
      return 0;
    }
    return sequence(C, x, o);
  }
  return failf(C, "a value other than None, a string or a list of strings");
}

static char *slugify(const char *s) {
  lm_buf b;
  lm_buf_init(&b);
  int us = 0;
  for (; *s && b.len < 40; s++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (us && b.len) lm_buf_putc(&b, '_');
      lm_buf_putc(&b, c);
      us = 0;
    } else {
      us = 1;
    }
  }
  return lm_buf_steal(&b);
}

/* The docstring's "Key: value" line, or NULL. */
static char *doc_field(const char *doc, const char *key) {
  size_t kl = strlen(key);
  for (const char *p = doc; p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && (*p == ' ' || *p == '\t'))
      p++, n--;
    if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == ':') {
      const char *v = p + kl + 1;
      size_t vn = n - kl - 1;
      while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
      while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t' || v[vn - 1] == '\r'))
        vn--;
      return lm_xstrndup(v, vn);
    }
    p = e ? e + 1 : NULL;
  }
  return NULL;
}

static void set_error(lm_alembic_rev *out, int line, const char *fmt, const char *arg) {
  free(out->error);
  out->error = lm_xasprintf(fmt, arg);
  out->error_line = line;
}

int lm_alembic_convert(const char *path, const char *file_name, const char *src, size_t len,
                       lm_alembic_rev *out) {
  memset(out, 0, sizeof *out);
  lm_buf_init(&out->diag);
  py_module m;
  int eline;
  const char *err;
  if (py_parse(src, len, &m, &eline, &err)) {
    set_error(out, eline, "%s", err);
    return -1;
  }
  conv *C = lm_xcalloc(1, sizeof *C);
  C->m = &m;
  C->path = path;
  C->out = out;
  C->sa[C->nsa++] = "sa";
  C->sa[C->nsa++] = "sqlalchemy";
  C->pg[C->npg++] = "postgresql";
  C->op[C->nop++] = "op";

  const char *doc = NULL;
  size_t doclen = 0;
  const py_node *rev = NULL, *down = NULL, *labels = NULL, *depends = NULL;
  int rev_line = 0;
  const py_stmt *up = NULL, *dn = NULL;
  lm_buf locals, skipped;
  lm_buf_init(&locals);
  lm_buf_init(&skipped);
  for (int i = 0; i < m.nbody; i++) {
    const py_stmt *s = m.body[i];
    C->why = NULL;
    if (i == 0 && is_docstring(s)) {
      doc = s->value->s;
      doclen = s->value->len;
      continue;
    }
    if (s->kind == PY_S_IMPORT) {
      note_import(C, s);
      continue;
    }
    if (s->kind == PY_S_DEF && streq(s->name, "upgrade") && !up) {
      up = s;
      continue;
    }
    if (s->kind == PY_S_DEF && streq(s->name, "downgrade") && !dn) {
      dn = s;
      continue;
    }
    if (s->kind == PY_S_ASSIGN && s->target->kind == PY_NAME) {
      const char *t = s->target->s;
      const py_node **slot = streq(t, "revision")        ? &rev
                             : streq(t, "down_revision") ? &down
                             : streq(t, "branch_labels") ? &labels
                             : streq(t, "depends_on")    ? &depends
                                                         : NULL;
      if (slot && s->value) {
        *slot = s->value;
        if (slot == &rev) rev_line = s->line;
        continue;
      }
      /* a module-level constant becomes a local of the Lua file */
      lm_buf v;
      lm_buf_init(&v);
      if (s->value && usable_local(t) && value(C, s->value, &v) == 0) {
        lm_buf_printf(&locals, "local %s = %s\n", t, v.s);
        add_name(C->locals, &C->nlocals, t);
        lm_buf_free(&v);
        continue;
      }
      lm_buf_free(&v);
    }
    if (is_docstring(s)) continue;
    /* anything else at module level: listed, and kept as a comment (an
     * error() here would stop the whole chain from loading) */
    emit_unconverted(C, s, C->why ? C->why : s->why ? s->why : other_why(C, s), &skipped, "", 0);
  }

  char *id = NULL;
  if (!rev) {
    char *docid = doc ? doc_field(doc, "Revision ID") : NULL;
    if (!docid) {
      set_error(out, 1, "%s", "no 'revision = \"…\"' assignment and no 'Revision ID:' line");
      goto fail;
    }
    id = docid;
  } else if (rev->kind != PY_STR) {
    set_error(out, rev_line, "%s", "revision is not a string");
    goto fail;
  } else {
    id = lm_xstrndup(rev->s, rev->len);
  }
  if (!valid_id(id)) {
    set_error(out, rev_line ? rev_line : 1,
              "revision id '%s' is not 1-32 characters of letters, digits and _", id);
    free(id);
    goto fail;
  }
  out->id = id;

  /* message: the docstring's first line */
  char *docs = doc ? lm_xstrndup(doc, doclen) : lm_xstrdup("");
  char *msg;
  {
    const char *p = docs;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
      p++;
    const char *e = p;
    while (*e && *e != '\n' && *e != '\r')
      e++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    msg = lm_xstrndup(p, (size_t)(e - p));
  }

  /* the file name: the Python file's, when it starts with the id */
  {
    char *stem = lm_xstrdup(file_name);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = 0;
    size_t il = strlen(id);
    char *slug = NULL;
    if (strncmp(stem, id, il) == 0 && stem[il] == '_' && stem[il + 1])
      slug = slugify(stem + il + 1);
    else
      slug = slugify(msg);
    out->name = *slug ? lm_xasprintf("%s_%s.lua", id, slug) : lm_xasprintf("%s.lua", id);
    free(slug);
    free(stem);
  }

  lm_buf L;
  lm_buf_init(&L);
  /* the header comment: the docstring as Alembic wrote it */
  {
    lm_buf hd;
    lm_buf_init(&hd);
    const char *p = docs;
    while (*p == '\n' || *p == '\r')
      p++;
    lm_buf_puts(&hd, p);
    while (hd.len && (hd.s[hd.len - 1] == '\n' || hd.s[hd.len - 1] == ' '))
      hd.s[--hd.len] = 0;
    if (!doc) lm_buf_printf(&hd, "Revision ID: %s", id);
    lm_buf_printf(&hd, "\n\nImported from Alembic: %s", path);
    int level = 0;
    for (;;) {
      char close[40];
      snprintf(close, sizeof close, "]%.*s]", level, "==========");
      if (!strstr(hd.s, close) || level == 10) break;
      level++;
    }
    lm_buf_printf(&L, "--[%.*s[ %s\n]%.*s]\n", level, "==========", hd.s, level, "==========");
    lm_buf_free(&hd);
  }
  lm_buf_printf(&L, "revision = \"%s\"\n", id);
  lm_buf_puts(&L, "down_revision = ");
  if (!down || id_value(C, down, &L)) {
    char *rv = doc && !down ? doc_field(doc, "Revises") : NULL;
    if (down && C->why) {
      lm_buf_puts(&L, "nil");
      lm_buf_printf(&out->diag, "%s:%d: not converted: down_revision (%s)\n", path, down->line,
                    C->why);
      out->nunconverted++;
      C->why = NULL;
    } else if (rv && *rv) {
      lua_cstr(&L, rv);
    } else {
      lm_buf_puts(&L, "nil");
    }
    free(rv);
  }
  lm_buf_puts(&L, "\nmessage = ");
  lua_cstr(&L, msg);
  lm_buf_putc(&L, '\n');
  const py_node *extra[2] = {labels, depends};
  const char *extra_name[2] = {"branch_labels", "depends_on"};
  for (int k = 0; k < 2; k++) {
    if (!extra[k] || extra[k]->kind == PY_NONE) continue;
    lm_buf v;
    lm_buf_init(&v);
    C->why = NULL;
    if (id_value(C, extra[k], &v) == 0) {
      lm_buf_printf(&L, "%s = %s\n", extra_name[k], v.s);
    } else {
      lm_buf_printf(&out->diag, "%s:%d: not converted: %s (%s)\n", path, extra[k]->line,
                    extra_name[k], C->why);
      out->nunconverted++;
    }
    lm_buf_free(&v);
  }
  if (locals.len) lm_buf_printf(&L, "\n%s", locals.s);
  if (skipped.len) lm_buf_printf(&L, "\n%s", skipped.s);
  const py_stmt *fns[2] = {up, dn};
  int up_converted = 0;
  for (int k = 0; k < 2; k++) {
    const char *fname = k ? "downgrade" : "upgrade";
    if (!fns[k] && k == 1) {
      /* Alembic cannot go down through a file without downgrade(): nor
       * can luamig, saying why */
      lm_buf_puts(&L,
                  "\n-- The Alembic file has no downgrade(): as there, this revision cannot be\n"
                  "-- undone.\n"
                  "function downgrade()\n"
                  "  -- luamig: allow lint-failed\n"
                  "  error(\"this revision cannot be downgraded: its Alembic file has no "
                  "downgrade()\")\n"
                  "end\n");
      continue;
    }
    if (!fns[k]) {
      lm_buf_printf(&L, "\nfunction upgrade()\nend\n");
      continue;
    }
    lm_buf fb;
    lm_buf_init(&fb);
    C->ntables = 0;
    C->batch = NULL;
    C->batch_table = NULL;
    C->converted = 0;
    C->fn_body = fns[k]->body;
    C->fn_nbody = fns[k]->nbody;
    body(C, fns[k]->body, fns[k]->nbody, &fb, "  ");
    /* `def downgrade(): pass` under an upgrade that does something */
    if (k == 1 && C->converted == 0 && up_converted > 0)
      lm_buf_puts(&L, "\n-- As in Alembic, the downgrade does nothing.\n"
                      "-- luamig: allow downgrade-empty");
    if (k == 0) up_converted = C->converted;
    lm_buf_printf(&L, "\nfunction %s()\n%send\n", fname, fb.s ? fb.s : "");
    lm_buf_free(&fb);
  }
  out->lua = lm_buf_steal(&L);
  free(msg);
  free(docs);
  lm_buf_free(&locals);
  lm_buf_free(&skipped);
  enums_clear(C);
  free(C);
  py_module_free(&m);
  return 0;
fail:
  lm_buf_free(&locals);
  lm_buf_free(&skipped);
  enums_clear(C);
  free(C);
  py_module_free(&m);
  return -1;
}

void lm_alembic_rev_free(lm_alembic_rev *r) {
  if (!r) return;
  free(r->id);
  free(r->name);
  free(r->lua);
  free(r->error);
  lm_buf_free(&r->diag);
  memset(r, 0, sizeof *r);
}
