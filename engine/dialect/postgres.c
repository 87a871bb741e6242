/* PostgreSQL connections over libpq, loaded when the first one opens. */
#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "dialect/pq_load.h"
#include "dialect/postgres_render.h"
#include "dialect/session.h"
#include "lm.h"
#include "postgres_catalog.h"

/* Not "pg_conn": libpq already uses that tag for PGconn. */
typedef struct pgsql_conn {
  PGconn *pg;
  PGcancel *cancel;          /* for pg_cancel, made once: PQgetCancel is not signal-safe */
  struct pg_cursor *cursors; /* open cursors, detached when the connection closes */
  unsigned cursor_seq;       /* names server-side cursors uniquely */
  int busy;                  /* a single-row-mode query is being read */
} pgsql_conn;

static void detach_cursors(pgsql_conn *c);
static void pg_cancel(lm_conn *conn);
static int pg_lock_acquire(lm_conn *conn, const lm_url *url, long long key, const lm_lock_wait *w,
                           lm_lock **held);
static void pg_lock_release(lm_lock *held);
static void pg_lock_timeout_sql(lm_buf *out, const char *timeout);

/* Type OIDs from pg_type.h, which is not part of libpq's client headers. */
enum {
  OID_BOOL = 16,
  OID_INT8 = 20,
  OID_INT2 = 21,
  OID_INT4 = 23,
  OID_FLOAT4 = 700,
  OID_FLOAT8 = 701
};

/* libpq messages span lines ("…failed: Connection refused\n\tIs the server
 * running…", "…terminated abnormally\n\tbefore or while…"); the error record
 * holds one line. An indented line that goes on mid-sentence joins with a
 * space, anything else with "; ". */
static char *one_line(const char *m) {
  lm_buf b;
  lm_buf_init(&b);
  const char *p = m ? m : "";
  while (isspace((unsigned char)*p))
    p++;
  while (*p) {
    if (*p == '\n') {
      while (*p == '\n')
        p++;
      int indented = *p == ' ' || *p == '\t';
      while (isspace((unsigned char)*p))
        p++;
      if (*p) lm_buf_puts(&b, indented && !isupper((unsigned char)*p) ? " " : "; ");
      continue;
    }
    lm_buf_putc(&b, *p++);
  }
  while (b.len > 0 && isspace((unsigned char)b.s[b.len - 1]))
    b.s[--b.len] = 0;
  char *s = lm_buf_steal(&b);
  char *masked = lm_url_mask(s);
  free(s);
  return masked;
}

/* For an lm_url built by hand rather than by lm_url_parse. */
static char *describe(const lm_url *u) {
  if (u->masked) return lm_xstrdup(u->masked);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "postgresql://");
  if (u->user) lm_buf_printf(&b, "%s%s@", u->user, u->password ? ":***" : "");
  if (u->host) lm_buf_puts(&b, u->host);
  if (u->port) lm_buf_printf(&b, ":%s", u->port);
  if (u->dbname) lm_buf_printf(&b, "/%s", u->dbname);
  return lm_buf_steal(&b);
}

static void drop_notice(void *arg, const char *msg) {
  LM_UNUSED(arg);
  LM_UNUSED(msg);
}

static int pg_open(lm_conn **out, const lm_url *url) {
  *out = NULL;
  /* Every other function here runs on a connection this one made, so this
   * is the only place that needs to load libpq. */
  const char *missing;
  if (lm_pq_load(&missing)) {
    char *where = describe(url);
    lm_error_set(LM_EDB, "cannot connect to %s: %s", where, missing);
    free(where);
    return LM_EDB;
  }
  size_t cap = (size_t)url->nopts + 8;
  const char **keys = lm_xcalloc(cap, sizeof *keys);
  const char **vals = lm_xcalloc(cap, sizeof *vals);
  size_t n = 0;
#define KV(k, v)                                                                                   \
  do {                                                                                             \
    if (v) keys[n] = (k), vals[n] = (v), n++;                                                      \
  } while (0)
  /* Ours first: libpq lets a later keyword win, so URL options override. */
  KV("fallback_application_name", "luamig");
  KV("client_encoding", "UTF8");
  KV("host", url->host);
  KV("port", url->port);
  KV("user", url->user);
  KV("password", url->password);
  KV("dbname", url->dbname);
  for (int i = 0; i < url->nopts; i++)
    KV(url->opt_keys[i], url->opt_vals[i]);
#undef KV
  keys[n] = vals[n] = NULL;
  /* expand_dbname 0: a database name holding '=' is a name, not conninfo. */
  PGconn *pg = PQconnectdbParams(keys, vals, 0);
  free(keys);
  free(vals);
  if (!pg || PQstatus(pg) != CONNECTION_OK) {
    char *where = describe(url);
    char *why = one_line(pg ? PQerrorMessage(pg) : "out of memory");
    lm_error_set(LM_EDB, "cannot connect to %s: %s", where, why);
    free(where);
    free(why);
    PQfinish(pg);
    return LM_EDB;
  }
  PQsetNoticeProcessor(pg, drop_notice, NULL);
  PGresult *res = PQexec(pg, "SET client_min_messages = warning");
  if (PQresultStatus(res) != PGRES_COMMAND_OK) {
    char *where = describe(url);
    char *why = one_line(PQerrorMessage(pg));
    lm_error_set(LM_EDB, "cannot set up the connection to %s: %s", where, why);
    free(where);
    free(why);
    PQclear(res);
    PQfinish(pg);
    return LM_EDB;
  }
  PQclear(res);
  pgsql_conn *c = lm_xcalloc(1, sizeof *c);
  c->pg = pg;
  c->cancel = PQgetCancel(pg);
  *out = (lm_conn *)c;
  return 0;
}

/* From a signal handler: PQcancel is async-signal-safe, and both it (libpq
 * is loaded before any connection opens, and its pointers never change
 * afterwards) and the cancel object are ready before c is watched. */
static void pg_cancel(lm_conn *conn) {
  pgsql_conn *c = (pgsql_conn *)conn;
  char err[256];
  if (c->cancel) PQcancel(c->cancel, err, sizeof err);
}

static void pg_close(lm_conn *conn) {
  pgsql_conn *c = (pgsql_conn *)conn;
  if (!c) return;
  PQfreeCancel(c->cancel);
  detach_cursors(c);
  PQfinish(c->pg);
  free(c);
}

static int pg_fail(pgsql_conn *c, const PGresult *res, const char *sql) {
  const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
  const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
  char *msg;
  if (primary) {
    msg = lm_url_mask(primary);
  } else {
    /* A client-side failure (lost connection, bad protocol state). */
    msg = one_line(res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
    if (!msg[0]) {
      free(msg);
      msg = res ? lm_xasprintf("unexpected result %s", PQresStatus(PQresultStatus(res)))
                : one_line(PQerrorMessage(c->pg));
      if (!msg[0]) {
        free(msg);
        msg = lm_xstrdup("unknown PostgreSQL error");
      }
    }
  }
  lm_buf full;
  lm_buf_init(&full);
  lm_buf_puts(&full, msg);
  if (detail) lm_buf_printf(&full, "\nDETAIL: %s", detail);
  if (hint) lm_buf_printf(&full, "\nHINT: %s", hint);
  char *db = lm_url_mask(full.s);
  lm_buf_free(&full);
  lm_error_set(LM_EDB, "%s", msg);
  lm_error_set_statement(sql);
  lm_error_set_db(state, db);
  free(msg);
  free(db);
  return LM_EDB;
}

/* Shortest of %.15g … %.17g that reads back as the same double: exact, and
 * 0.1 stays "0.1" when the parameter lands in a numeric column. */
static char *float_text(double f) {
  if (isnan(f)) return lm_xstrdup("NaN");
  if (isinf(f)) return lm_xstrdup(f > 0 ? "Infinity" : "-Infinity");
  for (int prec = 15; prec < 17; prec++) {
    char *s = lm_xasprintf("%.*g", prec, f);
    if (strtod(s, NULL) == f) return s;
    free(s);
  }
  return lm_xasprintf("%.17g", f);
}

static void free_params(char **v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Every parameter goes as text and the server infers its type, as it would
 * for a literal in the same place. */
static int params_to_text(const lm_stmt *s, char ***out) {
  *out = NULL;
  if (s->nparams <= 0) return 0;
  char **v = lm_xcalloc((size_t)s->nparams, sizeof *v);
  for (int i = 0; i < s->nparams; i++) {
    const lm_value *p = &s->params[i];
    switch (p->t) {
    case LM_V_NULL: v[i] = NULL; break;
    case LM_V_INT: v[i] = lm_xasprintf("%lld", p->i); break;
    case LM_V_FLOAT: v[i] = float_text(p->f); break;
    case LM_V_BOOL: v[i] = lm_xstrdup(p->i ? "true" : "false"); break;
    case LM_V_TEXT:
      if (p->s && memchr(p->s, 0, p->len)) {
        free_params(v, s->nparams);
        lm_error_set(LM_EDB, "parameter $%d holds a NUL byte, which PostgreSQL text cannot store",
                     i + 1);
        lm_error_set_statement(s->sql);
        return LM_EDB;
      }
      v[i] = p->s ? lm_xstrndup(p->s, p->len) : lm_xstrdup("");
      break;
    }
  }
  *out = v;
  return 0;
}

/* Leaves a COPY the statement started so the connection can go on; the
 * engine has no data stream to feed it or to receive. */
static void end_copy(pgsql_conn *c, ExecStatusType st) {
  if (st == PGRES_COPY_IN) {
    PQputCopyEnd(c->pg, "COPY FROM STDIN is not supported by luamig");
  } else if (st == PGRES_COPY_OUT) {
    char *buf = NULL;
    while (PQgetCopyData(c->pg, &buf, 0) > 0)
      PQfreemem(buf);
  }
}

static int copy_error(const char *sql) {
  lm_error_set(LM_EDB, "COPY … FROM STDIN / TO STDOUT cannot run in a migration; use COPY with a "
                       "server-side file or INSERT");
  lm_error_set_statement(sql);
  return LM_EDB;
}

/* Reads every result left; the first failure is reported unless one was
 * already. */
static int drain(pgsql_conn *c, const char *sql, int rc) {
  PGresult *res;
  while ((res = PQgetResult(c->pg))) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
      end_copy(c, st);
      if (!rc) rc = copy_error(sql);
    } else if (st == PGRES_FATAL_ERROR && !rc) {
      rc = pg_fail(c, res, sql);
    }
    PQclear(res);
  }
  return rc;
}

static int pg_exec(lm_conn *conn, const lm_stmt *s) {
  pgsql_conn *c = (pgsql_conn *)conn;
  PGresult *res;
  if (s->nparams <= 0) {
    /* Plain PQexec: the simple protocol runs a whole script of statements. */
    res = PQexec(c->pg, s->sql);
  } else {
    char **v = NULL;
    int rc = params_to_text(s, &v);
    if (rc) return rc;
    res = PQexecParams(c->pg, s->sql, s->nparams, NULL, (const char *const *)v, NULL, NULL, 0);
    free_params(v, s->nparams);
  }
  int rc = 0;
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  switch (st) {
  case PGRES_COMMAND_OK:
  case PGRES_TUPLES_OK:
  case PGRES_EMPTY_QUERY: break;
  case PGRES_COPY_IN:
  case PGRES_COPY_OUT:
    end_copy(c, st);
    rc = drain(c, s->sql, copy_error(s->sql));
    break;
  default: rc = pg_fail(c, res, s->sql); break;
  }
  PQclear(res);
  return rc;
}

static void pg_value(const PGresult *res, int row, int col, lm_value *v) {
  memset(v, 0, sizeof *v);
  if (PQgetisnull(res, row, col)) {
    v->t = LM_V_NULL;
    return;
  }
  char *s = PQgetvalue(res, row, col);
  switch (PQftype(res, col)) {
  case OID_INT2:
  case OID_INT4:
  case OID_INT8:
    v->t = LM_V_INT;
    v->i = strtoll(s, NULL, 10);
    break;
  case OID_FLOAT4:
  case OID_FLOAT8:
    v->t = LM_V_FLOAT;
    v->f = strtod(s, NULL);
    break;
  case OID_BOOL:
    v->t = LM_V_BOOL;
    v->i = s[0] == 't';
    break;
  default:
    v->t = LM_V_TEXT;
    v->s = s;
    v->len = (size_t)PQgetlength(res, row, col);
    break;
  }
}

static void cancel_running(PGconn *pg) {
  PGcancel *cn = PQgetCancel(pg);
  if (!cn) return;
  char err[256];
  PQcancel(cn, err, (int)sizeof err);
  PQfreeCancel(cn);
}

/* True when sql starts with a keyword that only reads (SELECT, VALUES,
 * TABLE, SHOW): stopping such a statement early loses nothing. */
static int starts_with_keyword(const char *sql, const char *const *kw, size_t nkw) {
  const char *p = sql;
  for (;;) {
    while (isspace((unsigned char)*p) || *p == '(')
      p++;
    if (p[0] == '-' && p[1] == '-') {
      p += strcspn(p, "\n");
    } else if (p[0] == '/' && p[1] == '*') {
      const char *e = strstr(p + 2, "*/");
      if (!e) return 0;
      p = e + 2;
    } else {
      break;
    }
  }
  for (size_t i = 0; i < nkw; i++) {
    size_t n = strlen(kw[i]);
    if (strncasecmp(p, kw[i], n) == 0 && !isalnum((unsigned char)p[n]) && p[n] != '_') return 1;
  }
  return 0;
}

static int reads_only(const char *sql) {
  static const char *const kw[] = {"select", "values", "table", "show"};
  return starts_with_keyword(sql, kw, sizeof kw / sizeof *kw);
}

/* Rows read and dropped after the callback stopped before the rest of a
 * read-only statement is cancelled instead. */
#define CANCEL_AFTER_ROWS 1000

static int pg_query(lm_conn *conn, const lm_stmt *s, lm_row_fn fn, void *ud) {
  pgsql_conn *c = (pgsql_conn *)conn;
  char **pv = NULL;
  int rc = params_to_text(s, &pv);
  if (rc) return rc;
  /* When the callback stops early, a long rest is cancelled rather than
   * read, but only where that is harmless: outside a transaction block (inside
   * one the cancel error would abort the caller's transaction) and for a
   * statement that only reads (a cancelled INSERT … RETURNING rolls back).
   * Otherwise the rest is read and dropped row by row. */
  int may_cancel = PQtransactionStatus(c->pg) == PQTRANS_IDLE && reads_only(s->sql);
  int sent = PQsendQueryParams(c->pg, s->sql, s->nparams > 0 ? s->nparams : 0, NULL,
                               (const char *const *)pv, NULL, NULL, 0);
  free_params(pv, s->nparams);
  if (!sent) return pg_fail(c, NULL, s->sql);
  /* One result per row keeps memory flat however large the table. */
  PQsetSingleRowMode(c->pg);
  c->busy = 1;

  const char **names = NULL;
  lm_value *vals = NULL;
  int cap = 0, stopped = 0, cancelled = 0, skipped = 0;
  PGresult *res;
  while ((res = PQgetResult(c->pg))) {
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
      int nf = PQnfields(res), nt = PQntuples(res);
      if (nf > cap) {
        cap = nf;
        names = lm_xrealloc(names, (size_t)cap * sizeof *names);
        vals = lm_xrealloc(vals, (size_t)cap * sizeof *vals);
      }
      for (int i = 0; i < nf; i++)
        names[i] = PQfname(res, i);
      if (stopped) {
        /* A cancel costs a new connection to the server and a wait for it:
         * worth it for a long result, not for the one row an existence
         * check stops after (the rest, if any, is usually read already). */
        skipped += nt;
        if (may_cancel && !cancelled && skipped > CANCEL_AFTER_ROWS) {
          cancel_running(c->pg);
          cancelled = 1;
        }
      }
      for (int r = 0; r < nt && !stopped && !rc; r++) {
        for (int i = 0; i < nf; i++)
          pg_value(res, r, i, &vals[i]);
        int ret = fn(ud, nf, names, vals);
        if (ret) {
          stopped = 1;
          /* A negative return is an LM_E… code the callback has set. */
          if (ret < 0) rc = ret;
        }
      }
    } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
      end_copy(c, st);
      if (!rc) rc = copy_error(s->sql);
    } else if (st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
      /* After a cancel the error is the cancel itself, or comes from rows
       * nobody reads, in a statement whose effects nobody keeps. */
      if (!rc && !cancelled) rc = pg_fail(c, res, s->sql);
    }
    PQclear(res);
  }
  c->busy = 0;
  free(names);
  free(vals);
  return rc;
}

/* ---- streamed reading ------------------------------------------------------- */

/* A cursor is a server-side cursor (DECLARE … CURSOR, then FETCH 1000 at a
 * time), not a single-row-mode query: while single-row results are being
 * read the connection cannot run anything else, and a Lua loop over op.rows
 * may well call op.execute or op.query between two rows. Inside the
 * migration's transaction the cursor lives as long as that transaction;
 * outside one (autocommit_block) it is declared WITH HOLD, which the server
 * materialises when the implicit transaction ends. Either way the client
 * holds at most one FETCH worth of rows. Statements DECLARE cannot take (an
 * INSERT … RETURNING) run at once and their rows are read from memory. */
#define FETCH_ROWS 1000

typedef struct pg_cursor {
  pgsql_conn *c; /* NULL once the connection has closed */
  struct pg_cursor *next;
  char name[32];
  int declared; /* a server-side cursor exists: CLOSE it */
  int done;     /* no more rows to fetch */
  char *sql;    /* for error reports */
  PGresult *res;
  int row, nrows;
  const char **names;
  lm_value *vals;
  int cap;
} pg_cursor;

static void detach_cursors(pgsql_conn *c) {
  for (pg_cursor *cur = c->cursors; cur; cur = cur->next)
    cur->c = NULL;
  c->cursors = NULL;
}

/* What DECLARE … CURSOR FOR accepts. */
static int declarable(const char *sql) {
  static const char *const kw[] = {"select", "values", "table", "with"};
  return starts_with_keyword(sql, kw, sizeof kw / sizeof *kw);
}

/* Runs st and keeps its rows in cur->res, or fails. */
static int cursor_result(pg_cursor *cur, PGresult *res, const char *sql) {
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT) {
    end_copy(cur->c, st);
    PQclear(res);
    return drain(cur->c, sql, copy_error(sql));
  }
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    int rc = pg_fail(cur->c, res, sql);
    PQclear(res);
    return rc;
  }
  PQclear(cur->res);
  cur->res = res;
  cur->row = 0;
  cur->nrows = PQntuples(res);
  return 0;
}

static void pg_cursor_close(lm_cursor *cursor);

static int pg_cursor_open(lm_conn *conn, const lm_stmt *s, lm_cursor **out) {
  pgsql_conn *c = (pgsql_conn *)conn;
  *out = NULL;
  char **pv = NULL;
  int rc = params_to_text(s, &pv);
  if (rc) return rc;
  pg_cursor *cur = lm_xcalloc(1, sizeof *cur);
  cur->c = c;
  cur->sql = lm_xstrdup(s->sql);
  cur->next = c->cursors;
  c->cursors = cur;
  PGresult *res;
  if (declarable(s->sql)) {
    snprintf(cur->name, sizeof cur->name, "luamig_cursor_%u", ++c->cursor_seq);
    int hold = PQtransactionStatus(c->pg) == PQTRANS_IDLE;
    char *sql = lm_xasprintf("DECLARE %s NO SCROLL CURSOR%s FOR %s", cur->name,
                             hold ? " WITH HOLD" : "", s->sql);
    res = PQexecParams(c->pg, sql, s->nparams > 0 ? s->nparams : 0, NULL, (const char *const *)pv,
                       NULL, NULL, 0);
    free(sql);
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
      PQclear(res);
      cur->declared = 1;
      res = NULL;
    }
  } else {
    res = PQexecParams(c->pg, s->sql, s->nparams > 0 ? s->nparams : 0, NULL,
                       (const char *const *)pv, NULL, NULL, 0);
    cur->done = 1;
  }
  free_params(pv, s->nparams);
  if (!cur->declared) rc = cursor_result(cur, res, s->sql);
  if (rc) {
    pg_cursor_close((lm_cursor *)cur);
    return rc;
  }
  *out = (lm_cursor *)cur;
  return 0;
}

static int pg_cursor_next(lm_cursor *cursor, int *ncols, const char *const **names,
                          const lm_value **vals) {
  pg_cursor *cur = (pg_cursor *)cursor;
  if (!cur->c) return lm_error_set(LM_EDB, "the connection of this cursor has closed");
  if (cur->row >= cur->nrows) {
    if (cur->done) return 0;
    char fetch[64];
    snprintf(fetch, sizeof fetch, "FETCH %d FROM %s", FETCH_ROWS, cur->name);
    int rc = cursor_result(cur, PQexec(cur->c->pg, fetch), cur->sql);
    if (rc) {
      cur->done = 1;
      return rc;
    }
    if (cur->nrows < FETCH_ROWS) cur->done = 1;
    if (cur->nrows == 0) return 0;
  }
  int nf = PQnfields(cur->res);
  if (nf > cur->cap) {
    cur->cap = nf;
    cur->names = lm_xrealloc(cur->names, (size_t)nf * sizeof *cur->names);
    cur->vals = lm_xrealloc(cur->vals, (size_t)nf * sizeof *cur->vals);
  }
  for (int i = 0; i < nf; i++) {
    cur->names[i] = PQfname(cur->res, i);
    pg_value(cur->res, cur->row, i, &cur->vals[i]);
  }
  cur->row++;
  *ncols = nf;
  *names = cur->names;
  *vals = cur->vals;
  return 1;
}

static int cursor_exists(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(n), LM_UNUSED(names), LM_UNUSED(v);
  *(int *)ud = 1;
  return 1;
}

/* CLOSE only a cursor that still exists: one declared in a transaction that
 * has ended is gone, and a failing CLOSE would abort the transaction now
 * running. Nothing is sent while another query is being read (a cursor
 * collected by Lua's GC in the middle of it): the cursor then ends with its
 * transaction, or its session. */
static void pg_cursor_close(lm_cursor *cursor) {
  pg_cursor *cur = (pg_cursor *)cursor;
  if (!cur) return;
  pgsql_conn *c = cur->c;
  if (c) {
    for (pg_cursor **pp = &c->cursors; *pp; pp = &(*pp)->next)
      if (*pp == cur) {
        *pp = cur->next;
        break;
      }
    PGTransactionStatusType ts = PQtransactionStatus(c->pg);
    if (cur->declared && !c->busy && (ts == PQTRANS_IDLE || ts == PQTRANS_INTRANS)) {
      lm_value v = {.t = LM_V_TEXT, .s = cur->name, .len = strlen(cur->name)};
      lm_stmt q = {"SELECT 1 FROM pg_catalog.pg_cursors WHERE name = $1", &v, 1};
      int found = 0;
      if (pg_query((lm_conn *)c, &q, cursor_exists, &found) == 0 && found) {
        char sql[64];
        snprintf(sql, sizeof sql, "CLOSE %s", cur->name);
        PQclear(PQexec(c->pg, sql));
      }
    }
  }
  PQclear(cur->res);
  free(cur->sql);
  free(cur->names);
  free(cur->vals);
  free(cur);
}

/* ---- the runner: scratch databases ----------------------------------------- */

/* A copy of a PostgreSQL URL naming another database. Built field by field:
 * the URL text (with its password) is never reassembled. */
static lm_url *url_with_db(const lm_url *u, const char *db) {
  lm_url *c = lm_xcalloc(1, sizeof *c);
  c->dialect = lm_xstrdup(u->dialect);
  c->path = lm_xstrdup(u->path);
  c->user = lm_xstrdup(u->user);
  c->password = lm_xstrdup(u->password);
  c->host = lm_xstrdup(u->host);
  c->port = lm_xstrdup(u->port);
  c->dbname = lm_xstrdup(db); /* NULL: libpq's default, the user's name */
  c->nopts = u->nopts;
  c->opt_keys = lm_xcalloc((size_t)u->nopts + 1, sizeof *c->opt_keys);
  c->opt_vals = lm_xcalloc((size_t)u->nopts + 1, sizeof *c->opt_vals);
  for (int i = 0; i < u->nopts; i++) {
    c->opt_keys[i] = lm_xstrdup(u->opt_keys[i]);
    c->opt_vals[i] = lm_xstrdup(u->opt_vals[i]);
  }
  c->masked = describe(c);
  return c;
}

static unsigned random32(void) {
  unsigned v = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
    v = (unsigned)time(NULL) ^ (unsigned)getpid() * 2654435761u;
  if (fd >= 0) close(fd);
  return v;
}

/* Runs "<verb> <name>" (name quoted as an identifier), and with suffix
 * after it when suffix is not NULL. */
static int exec_named(lm_conn *c, const char *verb, const char *name, const char *suffix) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, verb);
  lm_buf_ident(&b, name);
  if (suffix) lm_buf_puts(&b, suffix);
  lm_stmt st = {b.s, NULL, 0};
  int rc = pg_exec(c, &st);
  lm_buf_free(&b);
  return rc;
}

/* Connects to where CREATE / DROP DATABASE run: the configured database,
 * or the server's maintenance database when that one does not exist yet. */
static int open_home(const lm_url *url, lm_scratch *sc, lm_conn **c) {
  sc->home = url_with_db(url, url->dbname);
  int rc = pg_open(c, sc->home);
  if (!rc) return 0;
  lm_error_saved *first = lm_error_save();
  lm_url_free(sc->home);
  sc->home = url_with_db(url, "postgres");
  int again = pg_open(c, sc->home);
  lm_error_restore(first); /* the first failure is the one to report */
  return again ? rc : 0;
}

static int pg_scratch_create(const lm_url *url, const char *schema, lm_scratch *sc) {
  if (!url) return lm_error_set(LM_ECONFIG, "no database URL");
  lm_conn *c = NULL;
  int rc = open_home(url, sc, &c);
  if (rc) {
    lm_error_prefix("cannot make a scratch database for the round trip");
    return rc;
  }
  /* named after the database it stands in for, so that one left behind
   * (a killed run) says whose it was */
  char tag[25];
  int k = 0;
  for (const char *q = url->dbname ? url->dbname : ""; *q && k < 24; q++) {
    unsigned char ch = (unsigned char)*q;
    tag[k++] = (char)((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ? ch
                      : ch >= 'A' && ch <= 'Z'                             ? ch - 'A' + 'a'
                                                                           : '_');
  }
  tag[k] = 0;
  char *name =
      lm_xasprintf("luamig_check_%s%s%ld_%08x", tag, k ? "_" : "", (long)getpid(), random32());
  rc = exec_named(c, "CREATE DATABASE ", name, NULL);
  pg_close(c);
  if (rc) {
    lm_error_prefix("cannot create the scratch database %s on %s", name, sc->home->masked);
    free(name);
    return rc;
  }
  sc->name = name;
  sc->url = url_with_db(url, name);
  /* The version table's schema is the user's to create; in the scratch
   * database it is ours. */
  if (schema && *schema) {
    rc = pg_open(&c, sc->url);
    if (!rc) {
      rc = exec_named(c, "CREATE SCHEMA IF NOT EXISTS ", schema, NULL);
      pg_close(c);
    }
  }
  return rc;
}

static int pg_scratch_drop(lm_scratch *sc) {
  lm_conn *c = NULL;
  int rc = pg_open(&c, sc->home);
  if (!rc) {
    /* FORCE (PostgreSQL 13+) ends connections a failed migration left */
    rc = exec_named(c, "DROP DATABASE IF EXISTS ", sc->name, " WITH (FORCE)");
    if (rc) rc = exec_named(c, "DROP DATABASE IF EXISTS ", sc->name, NULL);
    pg_close(c);
  }
  if (rc)
    lm_error_prefix("could not drop the scratch database %s on %s", sc->name, sc->home->masked);
  return rc;
}

/* Catalog lookups by name ($1; the schema is the expression that follows),
 * straight from pg_class and pg_attribute: the pg_tables, pg_indexes and
 * information_schema.columns views they replace took 3–20 ms to plan in a
 * new session, most of a short command's time on the server. The kinds are
 * those the views list: tables plain and partitioned; indexes; columns of
 * tables, views and foreign tables. */
#define PG_RELATION_NAMED(kinds)                                                                   \
  "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "  \
  "WHERE c.relkind IN " kinds " AND c.relname = $1 AND n.nspname = "
#define PG_TABLE_NAMED PG_RELATION_NAMED("('r', 'p')")
#define PG_INDEX_NAMED PG_RELATION_NAMED("('i', 'I')")
#define PG_COLUMN_NAMED                                                                            \
  "SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "      \
  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v', 'f', "   \
  "'p') AND a.attnum > 0 AND NOT a.attisdropped AND c.relname = $1 AND n.nspname = "

const lm_dialect lm_dialect_postgresql = {
    .version = LM_DIALECT_VERSION,
    .name = "postgresql",
    .caps = LM_CAP_TRANSACTIONAL_DDL | LM_CAP_ADVISORY_LOCK | LM_CAP_CONCURRENT_INDEX |
            LM_CAP_SCHEMAS | LM_CAP_ALTER_COLUMN,
    .begin_sql = "BEGIN",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .query = pg_query,
    .cursor_open = pg_cursor_open,
    .cursor_next = pg_cursor_next,
    .cursor_close = pg_cursor_close,
    .table_exists_sql = "SELECT 1 WHERE to_regclass(quote_ident($1)) IS NOT NULL",
    /* the runner: version table, journal, scratch databases */
    .vt_timestamp_sql = "TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT clock_timestamp()",
    .vt_now_sql = "clock_timestamp()",
    .vt_exists_sql = PG_TABLE_NAMED "COALESCE($2, current_schema())",
    .vt_revision_column_sql = PG_COLUMN_NAMED "COALESCE($2, current_schema()) AND "
                                              "a.attname = 'revision'",
    .index_valid_sql = "SELECT i.indisvalid FROM pg_catalog.pg_index i "
                       "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
                       "WHERE c.relname = $1 AND pg_catalog.pg_table_is_visible(c.oid)",
    .scratch_server = "PostgreSQL",
    .scratch_create = pg_scratch_create,
    .scratch_drop = pg_scratch_drop,
    /* the runner: run lock, cancelling */
    .lock_acquire = pg_lock_acquire,
    .lock_release = pg_lock_release,
    .current_schema_sql = "SELECT current_schema()::text",
    .lock_timeout_sql = pg_lock_timeout_sql,
    .lock_timeout_sqlstate = "55P03",
    .lock_holders_sql =
        "SELECT l.pid::bigint, l.mode, l.relation::regclass::text, "
        "coalesce(a.query, '') || ' (' || coalesce(a.state, '?') || ')' "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "ORDER BY l.pid",
    .cancel = pg_cancel,
    /* ---- rendering (postgres_render.c) ---- */
    .display_name = "PostgreSQL",
    .render = lm_pg_render,
    .literal = lm_pg_literal,
    .type_names = lm_pg_type_names,
    .known_types = lm_pg_known_types,
    .reflected_types = lm_pg_reflected_types,
    .auto_types = {"SERIAL", "BIGSERIAL", "SMALLSERIAL"},
    .render_flags = LM_RENDER_ADD_UNIQUE | LM_RENDER_COMMENTS,
    .lexis = LM_LEX_E_STRINGS | LM_LEX_DOLLAR_QUOTES | LM_LEX_NESTED_COMMENTS,
    .has_sql = {PG_TABLE_NAMED "current_schema()",
                PG_COLUMN_NAMED "current_schema() AND a.attname = $2",
                PG_INDEX_NAMED "current_schema()"},
    /* sessions: streaming, batches, autocommit */
    .backfill_columns = lm_pg_backfill_columns,
    .write_rows = lm_pg_write_rows,
    /* reflection and move-and-copy */
    .reflect_schema = lm_pg_reflect_schema,

    /* comparison (version 3) */
    .canonical_check = lm_pg_canonical_check,

    /* comparison (version 4) */
    .type_change_needs_cast = lm_pg_type_change_needs_cast,
};

/* ---- the run lock ------------------------------------------------------------ */

static int got_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(n), LM_UNUSED(names), LM_UNUSED(v);
  *(int *)ud = 1;
  return 1;
}

static int pid_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  if (n >= 1 && v[0].t == LM_V_INT) *(long long *)ud = v[0].i;
  return 1;
}

/* Whether the connection goes through a pooler (PgBouncer): the server
 * process differs from the one libpq was told of. */
static int behind_pooler(lm_conn *conn, int *pooled) {
  pgsql_conn *c = (pgsql_conn *)conn;
  *pooled = 0;
  long long server = -1;
  lm_stmt st = {"SELECT pg_backend_pid()::bigint", NULL, 0};
  int rc = pg_query(conn, &st, pid_row, &server);
  if (rc) return rc;
  /* A pooler (PgBouncer) hands the client a cancel key of its own, so the
   * process id libpq got at start-up is not the server process's. */
  *pooled = server != (long long)PQbackendPID(c->pg);
  return 0;
}

/* What holds the lock behind a pooler: a second connection. */
typedef struct pg_lock {
  lm_conn *conn;
} pg_lock;

static int lock_stopped(void) { return lm_error_set(LM_EINTR, "interrupted"); }

/* Behind a pooler a session advisory lock does not hold: with transaction
 * pooling each transaction may run on another server connection, and a
 * session lock left on a pooled server connection would outlive the run. The
 * lock is then held by a second connection inside an open transaction
 * (pg_advisory_xact_lock), which keeps one server connection for as long as
 * the run lasts in both pooling modes and is released by the server when the
 * run ends or dies. Waiting polls with short transactions, so that waiting
 * runs do not hold server connections the pool needs for the running one. */
static int pooled_lock(pg_lock *k, const lm_url *url, lm_value *key, const lm_lock_wait *w) {
  int rc = pg_open(&k->conn, url);
  if (rc) return rc;
  lm_interrupt_watch(pg_cancel, k->conn);
  lm_stmt begin = {"BEGIN", NULL, 0}, rollback = {"ROLLBACK", NULL, 0};
  lm_stmt keep = {"SET LOCAL idle_in_transaction_session_timeout = 0", NULL, 0};
  lm_stmt try = {"SELECT 1 WHERE pg_try_advisory_xact_lock($1::bigint)", key, 1};
  int said = 0;
  for (;;) {
    if (lm_interrupted) return lock_stopped();
    int got = 0;
    rc = pg_exec(k->conn, &begin);
    if (!rc) rc = pg_query(k->conn, &try, got_row, &got);
    /* a statement of the simple protocol after it also drops the finished
     * SELECT's portal, whose snapshot would otherwise stay registered and
     * make this run's own CREATE INDEX CONCURRENTLY wait for this transaction */
    if (!rc) rc = pg_exec(k->conn, &keep);
    if (rc || got) return rc;
    pg_exec(k->conn, &rollback);
    if (!said) w->waiting(w->ud);
    said = 1;
    for (int t = 0; t < 4 && !lm_interrupted; t++)
      usleep(50000);
  }
}

/* A session advisory lock, held across autocommit_block too and released
 * when the connection closes; behind a pooler see pooled_lock. */
static int pg_lock_acquire(lm_conn *conn, const lm_url *url, long long key, const lm_lock_wait *w,
                           lm_lock **held) {
  char text[32];
  snprintf(text, sizeof text, "%lld", key);
  lm_value v = {.t = LM_V_TEXT, .s = text, .len = strlen(text)};
  int pooled = 0;
  int rc = behind_pooler(conn, &pooled);
  if (rc) return rc;
  if (pooled) {
    pg_lock *k = lm_xcalloc(1, sizeof *k);
    *held = (lm_lock *)k;
    return pooled_lock(k, url, &v, w);
  }
  lm_stmt st = {"SELECT 1 WHERE pg_try_advisory_lock($1::bigint)", &v, 1};
  int got = 0;
  w->statement(w->ud, st.sql);
  rc = pg_query(conn, &st, got_row, &got);
  if (rc || got) return rc;
  w->waiting(w->ud);
  if (lm_interrupted) return lock_stopped();
  lm_stmt wait = {"SELECT pg_advisory_lock($1::bigint)", &v, 1};
  w->statement(w->ud, wait.sql);
  return pg_exec(conn, &wait);
}

static void pg_lock_release(lm_lock *held) {
  pg_lock *k = (pg_lock *)held;
  if (k->conn) {
    lm_interrupt_unwatch(k->conn);
    pg_close(k->conn); /* ends its transaction: unlocks */
  }
  free(k);
}

static void pg_lock_timeout_sql(lm_buf *out, const char *timeout) {
  lm_buf_puts(out, "SET lock_timeout = ");
  lm_buf_literal(out, timeout, strlen(timeout));
}
