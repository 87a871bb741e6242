/* The last-error record: one per thread, filled where a failure happens and
 * printed once by the CLI. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

static _Thread_local struct {
  int code;
  char *message, *file, *revision, *statement, *sqlstate, *db_message;
  int line;
  lm_error pub;
} E;

static void set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? lm_xstrdup(s) : NULL;
}

void lm_error_clear(void) {
  set_str(&E.message, NULL);
  set_str(&E.file, NULL);
  set_str(&E.revision, NULL);
  set_str(&E.statement, NULL);
  set_str(&E.sqlstate, NULL);
  set_str(&E.db_message, NULL);
  E.code = 0;
  E.line = 0;
}

int lm_error_set(int code, const char *fmt, ...) {
  lm_error_clear();
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  E.message = lm_xmalloc((size_t)(n > 0 ? n : 0) + 1);
  va_start(ap, fmt);
  vsnprintf(E.message, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
  va_end(ap);
  E.code = code;
  return code;
}

void lm_error_set_message(const char *msg) { set_str(&E.message, msg); }

void lm_error_set_location(const char *file, int line) {
  set_str(&E.file, file);
  E.line = line;
}

void lm_error_set_revision(const char *rev) { set_str(&E.revision, rev); }
void lm_error_set_statement(const char *sql) { set_str(&E.statement, sql); }

void lm_error_set_db(const char *sqlstate, const char *db_message) {
  set_str(&E.sqlstate, sqlstate && *sqlstate ? sqlstate : NULL);
  set_str(&E.db_message, db_message);
}

void lm_error_prefix(const char *fmt, ...) {
  lm_buf b;
  lm_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *p = lm_xmalloc((size_t)(n > 0 ? n : 0) + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
  va_end(ap);
  lm_buf_puts(&b, p);
  free(p);
  if (E.message) {
    lm_buf_puts(&b, ": ");
    lm_buf_puts(&b, E.message);
  }
  free(E.message);
  E.message = lm_buf_steal(&b);
}

int lm_error_code(void) { return E.code; }

const lm_error *lm_error_last(void) {
  E.pub.code = E.code;
  E.pub.message = E.message ? E.message : (E.code ? "unknown error" : NULL);
  E.pub.file = E.file;
  E.pub.line = E.line;
  E.pub.revision = E.revision;
  E.pub.statement = E.statement;
  E.pub.sqlstate = E.sqlstate;
  E.pub.db_message = E.db_message;
  return &E.pub;
}

void lm_error_print(FILE *out) {
  const lm_error *e = lm_error_last();
  if (!e->code) return;
  char *msg = lm_url_mask(e->message);
  fprintf(out, "luamig: error: %s\n", msg);
  free(msg);
  /* a Lua message already starts with FILE:LINE: say the place once */
  char *where = e->file && e->line > 0 ? lm_xasprintf("%s:%d:", e->file, e->line) : NULL;
  int said = where && strstr(e->message ? e->message : "", where) != NULL;
  free(where);
  if (e->file && e->line > 0 && !said)
    fprintf(out, "  at %s:%d\n", e->file, e->line);
  else if (e->file && !said)
    fprintf(out, "  in %s\n", e->file);
  if (e->statement) fprintf(out, "  statement: %s\n", e->statement);
  if (e->db_message) {
    char *m = lm_url_mask(e->db_message);
    if (e->sqlstate)
      fprintf(out, "  database: [%s] %s\n", e->sqlstate, m);
    else
      fprintf(out, "  database: %s\n", m);
    free(m);
  }
}

int lm_exit_code(int code) {
  switch (code) {
  case LM_OK: return 0;
  case LM_EUSAGE:
  case LM_ECONFIG:
  case LM_ELOAD: return 2;
  case LM_EINTR: return 130;
  default: return 1;
  }
}

struct lm_error_saved {
  int code, line;
  char *message, *file, *revision, *statement, *sqlstate, *db_message;
};

lm_error_saved *lm_error_save(void) {
  lm_error_saved *v = lm_xcalloc(1, sizeof *v);
  v->code = E.code;
  v->line = E.line;
  v->message = E.message ? lm_xstrdup(E.message) : NULL;
  v->file = E.file ? lm_xstrdup(E.file) : NULL;
  v->revision = E.revision ? lm_xstrdup(E.revision) : NULL;
  v->statement = E.statement ? lm_xstrdup(E.statement) : NULL;
  v->sqlstate = E.sqlstate ? lm_xstrdup(E.sqlstate) : NULL;
  v->db_message = E.db_message ? lm_xstrdup(E.db_message) : NULL;
  return v;
}

void lm_error_restore(lm_error_saved *v) {
  lm_error_clear();
  E.code = v->code;
  E.line = v->line;
  E.message = v->message;
  E.file = v->file;
  E.revision = v->revision;
  E.statement = v->statement;
  E.sqlstate = v->sqlstate;
  E.db_message = v->db_message;
  free(v);
}
