/* A reader for the subset of Python that Alembic revision files are written
 * in: a tokenizer (INDENT/DEDENT, comments, line continuations, every string
 * form Alembic writes, implicit concatenation, numbers) and a parser into a
 * small syntax tree of statements and expressions.
 *
 * The reader never fails on a statement it does not understand: such a
 * statement (a loop, an `if`, a comprehension, anything outside the subset)
 * becomes a PY_S_OTHER spanning its lines, so the caller can name it. Only a
 * file that cannot be tokenized (an unterminated string, inconsistent
 * indentation, unbalanced brackets) is an error, with its line. */
#ifndef LM_PYREADER_H
#define LM_PYREADER_H

#include <stddef.h>

typedef enum py_kind {
  PY_NAME, /* s: the identifier (True, False and None have kinds of their own) */
  PY_STR,  /* s, len: the decoded value; fstring / bytes flags */
  PY_NUM,  /* s: the number as written */
  PY_TRUE,
  PY_FALSE,
  PY_NONE,
  PY_ATTR,   /* a.s */
  PY_CALL,   /* a(items…), kw[i] names a keyword argument or is NULL */
  PY_LIST,   /* [items…] */
  PY_TUPLE,  /* (items…) */
  PY_DICT,   /* {items[0]: items[1], …}: keys and values alternate */
  PY_SUBSCR, /* a[items[0]] */
  PY_UNARY,  /* s a: "-", "+", "~", "not" */
  PY_BINOP,  /* items[0] s items[1]: arithmetic, comparison, and/or */
  PY_STAR,   /* *a or, with s "**", **a (call arguments, dict items) */
  PY_OTHER   /* parsed but outside the subset: conditional expressions */
} py_kind;

typedef struct py_node {
  py_kind kind;
  int line;
  const char *s;
  size_t len;
  int fstring, bytes; /* PY_STR prefixes */
  int named;          /* PY_STR: holds a \\N{NAME} escape, kept undecoded */
  struct py_node *a;
  struct py_node **items;
  const char **kw;
  int n;
} py_node;

typedef enum py_stmt_kind {
  PY_S_EXPR,   /* value */
  PY_S_ASSIGN, /* target [: annotation] = value; annotation may be NULL; value NULL
                  for a bare annotation */
  PY_S_IMPORT, /* module (dotted, NULL for `import a, b`); names / asnames */
  PY_S_DEF,    /* name, body (the parameters and the return annotation are skipped) */
  PY_S_WITH,   /* value (the context), name (the `as` target, or NULL), body */
  PY_S_PASS,
  PY_S_OTHER /* anything else: lines [line, end_line] of the source */
} py_stmt_kind;

typedef struct py_stmt {
  py_stmt_kind kind;
  int line, end_line;
  py_node *target, *annotation, *value;
  const char *name;
  const char *module;
  const char **names, **asnames;
  int nnames;
  struct py_stmt **body;
  int nbody;
  const char *why; /* PY_S_OTHER: what was not understood, or NULL */
} py_stmt;

struct lm_arena;

typedef struct py_module {
  py_stmt **body;
  int nbody;
  struct lm_arena *arena; /* every node, statement and string of the module */
  const char *src;        /* the source (borrowed) */
  size_t len;
} py_module;

/** Parses src (len bytes, need not be NUL-terminated). On success fills m
 * and returns 0; on a tokenizer error returns -1 with *err_line and err (a
 * static message). The module borrows src. */
int py_parse(const char *src, size_t len, py_module *m, int *err_line, const char **err);
void py_module_free(py_module *m);

/** The text of source line `line` (1-based) without its line break and
 * indentation, into a new string; "" past the end. */
char *py_line_text(const py_module *m, int line);

/** The same, keeping the indentation. */
char *py_line_raw(const py_module *m, int line);

/** Dotted name of a PY_NAME / PY_ATTR chain ("sa.dialects.postgresql.JSONB")
 * as a new string, or NULL when node is anything else. */
char *py_dotted(const py_node *node);

#endif
