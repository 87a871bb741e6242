/* Scans of op.execute's SQL text, statement by statement (quotes, dollar
 * quotes, comments, parentheses and the BEGIN … END bodies of CREATE
 * statements hold semicolons that end nothing): transaction control, which
 * op.execute refuses (the runner owns the transaction), and statements that
 * only write rows, which --sql's in-memory schema leaves out (sink.c). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "lm.h"

static int word_is(const char *w, size_t n, const char *kw) {
  return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static int word_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '$'; }

/* Skips blanks and comments from p; returns the new position. */
static size_t skip_space(const char *s, size_t len, size_t p) {
  for (;;) {
    while (p < len && isspace((unsigned char)s[p]))
      p++;
    if (p + 1 < len && s[p] == '-' && s[p + 1] == '-') {
      while (p < len && s[p] != '\n')
        p++;
      continue;
    }
    if (p + 1 < len && s[p] == '/' && s[p + 1] == '*') {
      int depth = 1; /* PostgreSQL nests block comments */
      p += 2;
      while (p < len && depth > 0) {
        if (p + 1 < len && s[p] == '/' && s[p + 1] == '*')
          depth++, p += 2;
        else if (p + 1 < len && s[p] == '*' && s[p + 1] == '/')
          depth--, p += 2;
        else
          p++;
      }
      continue;
    }
    return p;
  }
}

/* The keyword that makes the statement at p transaction control, or NULL. */
static const char *control_word(const char *s, size_t len, size_t p) {
  size_t a = p;
  while (p < len && word_char(s[p]))
    p++;
  const char *w = s + a;
  size_t n = p - a;
  static const char *const always[] = {"BEGIN", "COMMIT",    "ROLLBACK", "END",
                                       "ABORT", "SAVEPOINT", "RELEASE",  NULL};
  for (int i = 0; always[i]; i++)
    if (word_is(w, n, always[i])) return always[i];
  if (word_is(w, n, "START") || word_is(w, n, "PREPARE")) {
    size_t q = skip_space(s, len, p), b = q;
    while (q < len && word_char(s[q]))
      q++;
    if (word_is(s + b, q - b, "TRANSACTION"))
      return word_is(w, n, "START") ? "START TRANSACTION" : "PREPARE TRANSACTION";
  }
  return NULL;
}

/* The end of the statement that starts at p: just past its ';', or len.
 * *verb (when verb is not NULL): the statement's first word outside
 * parentheses and a WITH's common table expressions that says what it
 * does (WITH x AS (…) INSERT … is an INSERT), or NULL. */
static size_t statement_end(const char *s, size_t len, size_t p, const char **verb) {
  static const char *const verbs[] = {"INSERT", "UPDATE", "DELETE", "REPLACE",
                                      "MERGE",  "SELECT", "VALUES", NULL};
  if (verb) *verb = NULL;
  /* quotes, dollar quotes, parentheses and, in CREATE statements (triggers,
   * SQL-standard function bodies), BEGIN … END and CASE … END blocks hold
   * semicolons that end nothing */
  int create = 0, with = 0, depth = 0, paren = 0, first = 1;
  while (p < len) {
    char c = s[p];
    if (c == '\'' || c == '"' || c == '`') {
      p++;
      while (p < len && !(s[p] == c && !(p + 1 < len && s[p + 1] == c)))
        p += s[p] == c ? 2 : 1;
      p++;
      continue;
    }
    if ((c == '-' && p + 1 < len && s[p + 1] == '-') ||
        (c == '/' && p + 1 < len && s[p + 1] == '*')) {
      p = skip_space(s, len, p);
      continue;
    }
    if (c == '$' && (p == 0 || !word_char(s[p - 1]))) {
      size_t q = p + 1;
      while (q < len && (isalnum((unsigned char)s[q]) || s[q] == '_'))
        q++;
      if (q < len && s[q] == '$') {
        size_t tl = q - p + 1;
        const char *tag = s + p;
        p = q + 1;
        while (p < len && !(len - p >= tl && memcmp(s + p, tag, tl) == 0))
          p++;
        p = p < len ? p + tl : len;
        continue;
      }
    }
    if (word_char(c) && (p == 0 || !word_char(s[p - 1]))) {
      size_t q = p;
      while (q < len && word_char(s[q]))
        q++;
      if (first) {
        create = word_is(s + p, q - p, "CREATE");
        with = word_is(s + p, q - p, "WITH");
      }
      if (verb && !*verb && paren == 0 && (first || with))
        for (int i = 0; verbs[i]; i++)
          if (word_is(s + p, q - p, verbs[i])) *verb = verbs[i];
      first = 0;
      if (create) {
        if (word_is(s + p, q - p, "BEGIN") || word_is(s + p, q - p, "CASE")) depth++;
        if (word_is(s + p, q - p, "END") && depth > 0) depth--;
      }
      p = q;
      continue;
    }
    if (c == '(') paren++;
    if (c == ')' && paren > 0) paren--;
    p++;
    if (c == ';' && depth == 0 && paren == 0) break;
  }
  return p;
}

int lm_sql_transaction_control(const char *s, size_t len, const char **what) {
  size_t p = 0;
  *what = NULL;
  while (p < len) {
    p = skip_space(s, len, p);
    if (p >= len) break;
    const char *kw = control_word(s, len, p);
    if (kw) {
      *what = kw;
      return 1;
    }
    p = statement_end(s, len, p, NULL);
  }
  return 0;
}

int lm_sql_writes_rows_only(const char *s, size_t len) {
  size_t p = 0;
  int any = 0;
  while (p < len) {
    p = skip_space(s, len, p);
    if (p >= len || s[p] == ';') {
      p++;
      continue;
    }
    const char *verb;
    p = statement_end(s, len, p, &verb);
    if (!verb || strcmp(verb, "SELECT") == 0 || strcmp(verb, "VALUES") == 0) return 0;
    any = 1;
  }
  return any;
}
