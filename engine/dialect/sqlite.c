/* SQLite connections. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include <sqlite3.h>

#include "dialect/sqlite_render.h"
#include "dialect/session.h"
#include "lm.h"
#include "sqlite_catalog.h"
#include "sqlite_recreate.h"

/* A statement kept prepared for the next run of the same text. */
typedef struct kept_stmt {
  sqlite3_stmt *st;
  char *sql;
  int *map; /* per placeholder: the index of its parameter */
  int nparams;
  int busy; /* running now: a query whose rows run another statement */
} kept_stmt;

/* Enough for what a backfill's batch or a revision's transaction runs again
 * and again: BEGIN, COMMIT, the batch's SELECT and UPDATE, the foreign-key
 * check's queries, the version table's statements. */
#define KEPT_MAX 8

/* Named apart from struct lm_conn: every dialect has its own connection
 * record in the same library, and lm_conn stays opaque. */
typedef struct sqlite_conn {
  sqlite3 *db;
  /* the statements run last, the latest first: a backfill's per-row UPDATE
   * finds itself at the first comparison */
  kept_stmt kept[KEPT_MAX];
  int nkept;
  int persisted; /* the journal was switched from DELETE to PERSIST at open */
} sqlite_conn;

#define BUSY_TIMEOUT_MS 30000

static void kept_remove(sqlite_conn *c, int i);

static int sqlite_lock_acquire(lm_conn *conn, const lm_url *url, long long key,
                               const lm_lock_wait *w, lm_lock **held);
static void sqlite_lock_release(lm_lock *held);

static int uri_safe(int c) { return isalnum(c) || strchr("/._~-:+,;!$*()", c) != NULL; }

static void uri_put(lm_buf *b, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (uri_safe(*p))
      lm_buf_putc(b, (char)*p);
    else
      lm_buf_printf(b, "%%%02X", *p);
  }
}

/* URL query options become SQLite URI parameters (mode=ro, cache=shared,
 * immutable=1, …), so the database is opened through a file: URI only when
 * there are any. */
static char *open_name(const lm_url *url, const char *path) {
  if (url->nopts == 0) return lm_xstrdup(path);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "file:");
  /* "file://x" would read x as an authority */
  if (path[0] == '/' && path[1] == '/') {
    lm_buf_puts(&b, "%2F");
    path++;
  }
  uri_put(&b, path);
  for (int i = 0; i < url->nopts; i++) {
    lm_buf_putc(&b, i ? '&' : '?');
    uri_put(&b, url->opt_keys[i]);
    lm_buf_putc(&b, '=');
    uri_put(&b, url->opt_vals[i]);
  }
  return lm_buf_steal(&b);
}

/* A database in the default rollback mode, DELETE, is used with the
 * journal mode PERSIST while luamig has it open, and set back to DELETE at
 * close, which removes the journal file. Both are as durable (at the
 * default synchronous = FULL, PERSIST even syncs its commit point, the
 * zeroed journal header, where DELETE leaves the unlink to the file system):
 * what PERSIST saves is creating and deleting the journal at every commit,
 * and a journal that keeps its size is synced without a file-system
 * journal commit. A backfill commits every batch: 400 batches of 500 rows
 * took the sqlite3 shell 655 ms in DELETE and 566 ms in PERSIST (medians
 * of 7, bench/README.md). The rollback journal modes belong to the
 * connection, not to the database file, so other connections are not
 * changed; WAL and the other modes are left as they are. */
static int persist_journal(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int delete_mode = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *mode = sqlite3_column_text(st, 0);
    delete_mode = mode && strcmp((const char *)mode, "delete") == 0;
  }
  sqlite3_finalize(st);
  return delete_mode &&
         sqlite3_exec(db, "PRAGMA journal_mode = PERSIST", NULL, NULL, NULL) == SQLITE_OK;
}

static int sqlite_open(lm_conn **out, const lm_url *url) {
  *out = NULL;
  const char *path = url->path && url->path[0] ? url->path : ":memory:";
  char *name = open_name(url, path);
  sqlite3 *db = NULL;
  /* luamig uses a connection from one thread at a time, so SQLite's own
   * locks are not needed: a backfill calls SQLite for every row, and in
   * serialized mode each call took the connection's mutex and each of
   * SQLite's allocations the allocator's (6 % of a Lua-function backfill's
   * instructions). MEMSTATUS can only change before SQLite is initialised;
   * when something initialised it first, the call fails and changes
   * nothing. */
  static int configured;
  if (!configured) {
    configured = 1;
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  }
  int rc = sqlite3_open_v2(
      name, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
      NULL);
  free(name);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    /* Foreign keys are not enforced while migrating (SQLite's default, and
     * what Alembic users get): a move-and-copy drops a table that others
     * reference, and with enforcement on that DROP would cascade or fail.
     * The pragma cannot change inside a transaction, so it is set for the
     * connection; before_commit checks every foreign key instead, so a
     * migration that leaves a violation is still rolled back.
     * Reading the schema now makes a file that is not a database fail here,
     * with the path in the message, rather than at the first migration. */
    rc = sqlite3_exec(db, "PRAGMA foreign_keys = OFF; SELECT count(*) FROM sqlite_master", NULL,
                      NULL, NULL);
  }
  if (rc == SQLITE_OK) rc = lm_sqlite_backfill_functions(db);
  if (rc != SQLITE_OK) {
    lm_error_set(LM_EDB, "cannot open SQLite database %s: %s", path,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return LM_EDB;
  }
  sqlite_conn *c = lm_xcalloc(1, sizeof *c);
  c->db = db;
  c->persisted = persist_journal(db);
  *out = (lm_conn *)c;
  return 0;
}

/* From a signal handler: sqlite3_interrupt is safe to call from one. */
static void sqlite_cancel(lm_conn *conn) { sqlite3_interrupt(((sqlite_conn *)conn)->db); }

static void sqlite_close(lm_conn *conn) {
  sqlite_conn *c = (sqlite_conn *)conn;
  if (!c) return;
  while (c->nkept > 0)
    kept_remove(c, c->nkept - 1);
  if (c->persisted) {
    /* back to DELETE, which removes the journal (a transaction still open
     * is rolled back first, as closing would); when another connection
     * holds the write lock, the journal stays behind with its header
     * zeroed, which SQLite ignores */
    if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_exec(c->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
  }
  sqlite3_close_v2(c->db);
  free(c);
}

static int fail_db(sqlite3 *db, const char *sql) {
  const char *m = sqlite3_errmsg(db);
  lm_error_set(LM_EDB, "%s", m);
  lm_error_set_statement(sql);
  lm_error_set_db(NULL, m);
  return LM_EDB;
}

static int fail(sqlite_conn *c, const char *sql) { return fail_db(c->db, sql); }

/* Statement text from p, without leading blanks, for error reports. */
static char *trimmed(const char *p) {
  while (isspace((unsigned char)*p))
    p++;
  size_t n = strlen(p);
  while (n > 0 && isspace((unsigned char)p[n - 1]))
    n--;
  return lm_xstrndup(p, n);
}

static int fail_at(sqlite_conn *c, const char *p) {
  char *sql = trimmed(p);
  fail(c, sql);
  free(sql);
  return LM_EDB;
}

/* A value bound SQLITE_STATIC must stay as it is until the statement is
 * reset or its bindings cleared: true of an exec or a query, which do both
 * before they return, not of a cursor. */
static int bind_one(sqlite3_stmt *st, int idx, const lm_value *v, sqlite3_destructor_type how) {
  switch (v->t) {
  case LM_V_NULL: return sqlite3_bind_null(st, idx);
  case LM_V_INT: return sqlite3_bind_int64(st, idx, (sqlite3_int64)v->i);
  case LM_V_FLOAT: return sqlite3_bind_double(st, idx, v->f);
  case LM_V_BOOL: return sqlite3_bind_int(st, idx, v->i != 0);
  case LM_V_TEXT:
    return sqlite3_bind_text64(st, idx, v->s ? v->s : "", v->s ? (sqlite3_uint64)v->len : 0, how,
                               SQLITE_UTF8);
  }
  return sqlite3_bind_null(st, idx);
}

/* Parameter i goes to "$<i+1>" when the text names it so, otherwise to
 * position i+1 (plain ? and ?NNN). A placeholder left without a value is an
 * error, as it is on PostgreSQL, rather than a silent NULL. */
/* One pass over the statement's placeholders: looking each $N up by name
 * would be quadratic, and bulk inserts carry thousands of parameters. */
/* map (when not NULL) receives, per placeholder, the index of its parameter
 * (the caller frees it), so that the same text with new values binds
 * without looking at the placeholders again. */
static int bind_all(sqlite_conn *c, sqlite3_stmt *st, const lm_stmt *s, sqlite3_destructor_type how,
                    int **map) {
  int count = sqlite3_bind_parameter_count(st);
  char *used = lm_xcalloc((size_t)s->nparams + 1, 1);
  int *m = lm_xcalloc((size_t)count + 1, sizeof *m);
  int rc = 0;
  for (int idx = 1; idx <= count && !rc; idx++) {
    const char *pn = sqlite3_bind_parameter_name(st, idx);
    long k = idx; /* an anonymous ? takes the next position */
    if (pn) {
      char *end;
      k = (pn[0] == '$' || pn[0] == '?') ? strtol(pn + 1, &end, 10) : 0;
      if (k <= 0 || *end) {
        lm_error_set(LM_EDB, "placeholder %s is not supported: use $1, $2, … or ?", pn);
        lm_error_set_statement(s->sql);
        rc = LM_EDB;
        break;
      }
    }
    if (k > s->nparams) {
      char pos[24];
      snprintf(pos, sizeof pos, "?%d", idx);
      lm_error_set(LM_EDB, "no value for placeholder %s (%d parameters given)", pn ? pn : pos,
                   s->nparams);
      lm_error_set_statement(s->sql);
      rc = LM_EDB;
      break;
    }
    if (bind_one(st, idx, &s->params[k - 1], how) != SQLITE_OK) rc = fail(c, s->sql);
    used[k] = 1;
    m[idx - 1] = (int)k - 1;
  }
  for (int k = 1; k <= s->nparams && !rc; k++)
    if (!used[k]) {
      lm_error_set(LM_EDB, "%d parameters given but the statement has no placeholder for $%d",
                   s->nparams, k);
      lm_error_set_statement(s->sql);
      rc = LM_EDB;
    }
  free(used);
  if (map && !rc)
    *map = m;
  else
    free(m);
  return rc;
}

/* Only blanks and comments may follow the one statement of a text with
 * parameters: the others would run without their values. */
static int check_single(sqlite_conn *c, const lm_stmt *s, const char *tail) {
  while (*tail) {
    sqlite3_stmt *extra = NULL;
    const char *next = NULL;
    if (sqlite3_prepare_v2(c->db, tail, -1, &extra, &next) != SQLITE_OK) return fail(c, s->sql);
    if (extra) {
      sqlite3_finalize(extra);
      lm_error_set(LM_EDB, "a statement with parameters must be a single statement");
      lm_error_set_statement(s->sql);
      return LM_EDB;
    }
    if (next == tail) break;
    tail = next;
  }
  return 0;
}

static int prepare_one(sqlite_conn *c, const lm_stmt *s, sqlite3_stmt **st,
                       sqlite3_destructor_type how, int **map) {
  const char *tail = NULL;
  *st = NULL;
  if (sqlite3_prepare_v2(c->db, s->sql, -1, st, &tail) != SQLITE_OK) return fail(c, s->sql);
  int rc = 0;
  if (!*st) {
    lm_error_set(LM_EDB, "empty statement");
    lm_error_set_statement(s->sql);
    rc = LM_EDB;
  }
  if (!rc) rc = check_single(c, s, tail);
  if (!rc) rc = bind_all(c, *st, s, how, map);
  if (rc) {
    sqlite3_finalize(*st);
    *st = NULL;
  }
  return rc;
}

static int run_to_end(sqlite_conn *c, sqlite3_stmt *st, const char *sql) {
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  if (rc != SQLITE_DONE) {
    if (sql)
      fail(c, sql);
    else
      fail_at(c, sqlite3_sql(st));
    sqlite3_finalize(st);
    return LM_EDB;
  }
  sqlite3_finalize(st);
  return 0;
}

/* ---- statements kept prepared ----------------------------------------------- */

static void kept_remove(sqlite_conn *c, int i) {
  sqlite3_finalize(c->kept[i].st);
  free(c->kept[i].sql);
  free(c->kept[i].map);
  memmove(&c->kept[i], &c->kept[i + 1], (size_t)(c->nkept - i - 1) * sizeof *c->kept);
  c->nkept--;
}

/* The statement kept for s's text, moved to the front, s's values bound by
 * its map: 1, or 0 when none is kept (or the one kept is running). */
static int kept_take(sqlite_conn *c, const lm_stmt *s, sqlite3_stmt **st, int **map) {
  for (int i = 0; i < c->nkept; i++) {
    kept_stmt *x = &c->kept[i];
    if (x->busy || x->nparams != s->nparams || strcmp(x->sql, s->sql) != 0) continue;
    if (i > 0) {
      kept_stmt t = *x;
      memmove(&c->kept[1], &c->kept[0], (size_t)i * sizeof t);
      c->kept[0] = t;
      x = &c->kept[0];
    }
    int count = sqlite3_bind_parameter_count(x->st);
    for (int idx = 1; idx <= count; idx++)
      if (bind_one(x->st, idx, &s->params[x->map[idx - 1]], SQLITE_STATIC) != SQLITE_OK) {
        int rc = fail(c, s->sql);
        sqlite3_clear_bindings(x->st);
        return rc;
      }
    x->busy = 1;
    *st = x->st;
    *map = x->map;
    return 1;
  }
  return 0;
}

/* s's one statement with its values bound: kept, or prepared now. */
static int take(sqlite_conn *c, const lm_stmt *s, sqlite3_stmt **st, int **map) {
  int rc = kept_take(c, s, st, map);
  if (rc) return rc < 0 ? rc : 0;
  return prepare_one(c, s, st, SQLITE_STATIC, map);
}

/* st ran (to its end, or a query was stopped): reset, and kept at the
 * front for the next run of s's text; the last one not running makes room. */
static void give_back(sqlite_conn *c, const lm_stmt *s, sqlite3_stmt *st, int *map) {
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  for (int i = 0; i < c->nkept; i++)
    if (c->kept[i].st == st) {
      c->kept[i].busy = 0;
      return;
    }
  if (c->nkept == KEPT_MAX) {
    int i = KEPT_MAX - 1;
    while (i >= 0 && c->kept[i].busy)
      i--;
    if (i < 0) {
      sqlite3_finalize(st);
      free(map);
      return;
    }
    kept_remove(c, i);
  }
  memmove(&c->kept[1], &c->kept[0], (size_t)c->nkept * sizeof *c->kept);
  c->kept[0] = (kept_stmt){st, lm_xstrdup(s->sql), map, s->nparams, 0};
  c->nkept++;
}

/* st failed: not kept. */
static void discard(sqlite_conn *c, sqlite3_stmt *st, int *map) {
  for (int i = 0; i < c->nkept; i++)
    if (c->kept[i].st == st) {
      kept_remove(c, i);
      return;
    }
  sqlite3_finalize(st);
  free(map);
}

/* Runs st, taken for s, to its end. */
static int run_taken(sqlite_conn *c, const lm_stmt *s, sqlite3_stmt *st, int *map) {
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
  }
  if (step != SQLITE_DONE) {
    int rc = fail(c, s->sql);
    discard(c, st, map);
    return rc;
  }
  give_back(c, s, st, map);
  return 0;
}

static int blank(const char *p) {
  while (*p && isspace((unsigned char)*p))
    p++;
  return *p == 0;
}

static int sqlite_exec(lm_conn *conn, const lm_stmt *s) {
  sqlite_conn *c = (sqlite_conn *)conn;
  sqlite3_stmt *st = NULL;
  int *map = NULL;
  if (s->nparams > 0) {
    int rc = take(c, s, &st, &map);
    return rc ? rc : run_taken(c, s, st, map);
  }
  int rc = kept_take(c, s, &st, &map);
  if (rc) return rc < 0 ? rc : run_taken(c, s, st, map);
  const char *p = s->sql;
  while (p && *p) {
    const char *next = NULL;
    if (sqlite3_prepare_v2(c->db, p, -1, &st, &next) != SQLITE_OK) return fail_at(c, p);
    if (st && p == s->sql && blank(next) && sqlite3_bind_parameter_count(st) == 0) {
      /* a text of one statement (BEGIN, COMMIT, …) is kept for its next run
       * (one with placeholders and no values runs them as NULL, as before,
       * and is not kept: its map would point at values never given) */
      map = lm_xcalloc(1, sizeof *map);
      return run_taken(c, s, st, map);
    }
    if (st) {
      /* The one statement that failed, not the whole script. */
      rc = run_to_end(c, st, NULL);
      if (rc) return rc;
    }
    if (next == p) break;
    p = next;
  }
  return 0;
}

/* The current row of st as values borrowed from the statement (valid until
 * its next step). */
static void read_row(sqlite3_stmt *st, int ncols, lm_value *vals) {
  for (int i = 0; i < ncols; i++) {
    lm_value *v = &vals[i];
    memset(v, 0, sizeof *v);
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
      v->t = LM_V_INT;
      v->i = sqlite3_column_int64(st, i);
      break;
    case SQLITE_FLOAT:
      v->t = LM_V_FLOAT;
      v->f = sqlite3_column_double(st, i);
      break;
    case SQLITE_NULL: v->t = LM_V_NULL; break;
    default: {
      /* column_text also gives a BLOB a terminating NUL, which callers
       * treating the value as a string rely on. */
      const unsigned char *t = sqlite3_column_text(st, i);
      v->t = LM_V_TEXT;
      v->len = (size_t)sqlite3_column_bytes(st, i);
      v->s = t ? (char *)t : (char *)"";
      if (!t) v->len = 0;
      break;
    }
    }
  }
}

/* Column names, read after the first step: a statement whose plan depends on
 * a bound value (a LIKE against a parameter) is prepared again by that step,
 * which frees the names read before it. */
static void read_names(sqlite3_stmt *st, int ncols, const char **names) {
  for (int i = 0; i < ncols; i++) {
    names[i] = sqlite3_column_name(st, i);
    if (!names[i]) names[i] = "";
  }
}

static int sqlite_query(lm_conn *conn, const lm_stmt *s, lm_row_fn fn, void *ud) {
  sqlite_conn *c = (sqlite_conn *)conn;
  sqlite3_stmt *st = NULL;
  int *map = NULL;
  int rc = take(c, s, &st, &map);
  if (rc) return rc;
  int ncols = 0, step;
  const char **names = NULL;
  lm_value *vals = NULL;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (!names) {
      /* counted after the first step, which prepares a statement again
       * when the schema changed since it was kept (SELECT * after ADD
       * COLUMN) */
      ncols = sqlite3_column_count(st);
      names = lm_xcalloc((size_t)ncols + 1, sizeof *names);
      vals = lm_xcalloc((size_t)ncols + 1, sizeof *vals);
      read_names(st, ncols, names);
    }
    read_row(st, ncols, vals);
    int r = fn(ud, ncols, names, vals);
    if (r) {
      /* A negative return is an LM_E… code the callback has set: pass it on. */
      rc = r < 0 ? r : 0;
      break;
    }
  }
  if (step != SQLITE_ROW && step != SQLITE_DONE) {
    rc = fail(c, s->sql);
    discard(c, st, map);
  } else {
    give_back(c, s, st, map);
  }
  free(names);
  free(vals);
  return rc;
}

/* ---- streamed reading ------------------------------------------------------- */

/* A cursor is one prepared statement stepped on demand. It keeps the sqlite3
 * handle rather than the connection record: sqlite3_close_v2 leaves a handle
 * with unfinalized statements alive until the last one is finalized, so a
 * cursor that outlives its connection (an abandoned op.rows iterator
 * collected late) still closes safely. Other statements may run on the
 * connection between two rows. */
typedef struct sqlite_cursor {
  sqlite3 *db;
  sqlite3_stmt *st;
  int ncols;
  const char **names; /* read with the first row */
  lm_value *vals;
  int rows, done;
} sqlite_cursor;

static int sqlite_cursor_open(lm_conn *conn, const lm_stmt *s, lm_cursor **out) {
  sqlite_conn *c = (sqlite_conn *)conn;
  sqlite3_stmt *st = NULL;
  *out = NULL;
  int rc = prepare_one(c, s, &st, SQLITE_TRANSIENT, NULL);
  if (rc) return rc;
  sqlite_cursor *cur = lm_xcalloc(1, sizeof *cur);
  cur->db = c->db;
  cur->st = st;
  cur->ncols = sqlite3_column_count(st);
  cur->names = lm_xcalloc((size_t)cur->ncols + 1, sizeof *cur->names);
  cur->vals = lm_xcalloc((size_t)cur->ncols + 1, sizeof *cur->vals);
  *out = (lm_cursor *)cur;
  return 0;
}

static int sqlite_cursor_next(lm_cursor *cursor, int *ncols, const char *const **names,
                              const lm_value **vals) {
  sqlite_cursor *cur = (sqlite_cursor *)cursor;
  if (cur->done) return 0;
  int step = sqlite3_step(cur->st);
  if (step == SQLITE_ROW) {
    if (cur->rows++ == 0) read_names(cur->st, cur->ncols, cur->names);
    read_row(cur->st, cur->ncols, cur->vals);
    *ncols = cur->ncols;
    *names = cur->names;
    *vals = cur->vals;
    return 1;
  }
  cur->done = 1;
  if (step == SQLITE_DONE) return 0;
  return fail_db(cur->db, sqlite3_sql(cur->st));
}

static void sqlite_cursor_close(lm_cursor *cursor) {
  sqlite_cursor *cur = (sqlite_cursor *)cursor;
  if (!cur) return;
  sqlite3_finalize(cur->st);
  free(cur->names);
  free(cur->vals);
  free(cur);
}

/* ---- the foreign-key check before COMMIT ------------------------------------ */

/* A list of names. */
typedef struct names_v {
  char **v;
  int n;
} names_v;

static void names_push(names_v *l, char *s) {
  l->v = lm_xrealloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
  l->v[l->n++] = s;
}

static void names_free(names_v *l) {
  for (int i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* One foreign-key column pair: child.from references parent.to (to is NULL
 * when the key names no columns: the parent's primary key). */
typedef struct fk_edge {
  char *child, *parent, *from, *to;
} fk_edge;

typedef struct fk_edges {
  fk_edge *v;
  int n, cap;
} fk_edges;

static char *text_of(const lm_value *v) {
  return v->t == LM_V_NULL ? NULL : lm_xstrndup(v->s ? v->s : "", v->s ? v->len : 0);
}

static int edge_row(void *ud, int ncols, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  fk_edges *e = ud;
  if (ncols < 4) return 0;
  if (e->n == e->cap) {
    e->cap = e->cap ? e->cap * 2 : 16;
    e->v = lm_xrealloc(e->v, (size_t)e->cap * sizeof *e->v);
  }
  fk_edge *x = &e->v[e->n++];
  x->child = text_of(&v[0]);
  x->parent = text_of(&v[1]);
  x->from = text_of(&v[2]);
  x->to = text_of(&v[3]);
  if (!x->child || !x->parent) {
    free(x->child), free(x->parent), free(x->from), free(x->to);
    e->n--;
  }
  return 0;
}

static void edges_free(fk_edges *e) {
  for (int i = 0; i < e->n; i++)
    free(e->v[i].child), free(e->v[i].parent), free(e->v[i].from), free(e->v[i].to);
  free(e->v);
}

/* Every foreign key of the database. Only tables whose text says REFERENCES
 * can have one, so the schema is read once and the key lists of those
 * tables alone: the cost follows the tables with foreign keys, not the rows. */
static int load_edges(lm_conn *conn, fk_edges *e) {
  lm_stmt st = {"SELECT m.name, f.\"table\", f.\"from\", f.\"to\" FROM sqlite_master m, "
                "pragma_foreign_key_list(m.name) f "
                "WHERE m.type = 'table' AND m.sql LIKE '%references%'",
                NULL, 0};
  return sqlite_query(conn, &st, edge_row, e);
}

static int name_row(void *ud, int ncols, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  names_v *out = ud;
  if (ncols >= 1 && v[0].t == LM_V_TEXT) names_push(out, lm_xstrndup(v[0].s, v[0].len));
  return 0;
}

static int has_col(char *const *cols, int n, const char *name) {
  for (int i = 0; name && i < n; i++)
    if (strcasecmp(cols[i], name) == 0) return 1;
  return 0;
}

/* Does updating cols of parent change the key edge x references? */
static int key_updated(lm_conn *conn, const fk_edge *x, char *const *cols, int ncols) {
  if (x->to) return has_col(cols, ncols, x->to);
  /* the parent's primary key: any of its columns (none declared: check) */
  names_v pk = {0};
  lm_value v = {.t = LM_V_TEXT, .s = x->parent, .len = strlen(x->parent)};
  lm_stmt st = {"SELECT name FROM pragma_table_info($1) WHERE pk > 0", &v, 1};
  int hit = sqlite_query(conn, &st, name_row, &pk) != 0 || pk.n == 0;
  for (int i = 0; i < pk.n && !hit; i++)
    hit = has_col(cols, ncols, pk.v[i]);
  names_free(&pk);
  lm_error_clear();
  return hit;
}

static void add_table(names_v *t, const char *name) {
  for (int i = 0; i < t->n; i++)
    if (strcasecmp(t->v[i], name) == 0) return;
  names_push(t, lm_xstrdup(name));
}

/* The tables whose rows the transaction may have left without a parent:
 * those it gave rows or keys (OWN), those whose parent lost rows or keys
 * (REFERENCED), and for columns updated in place, the tables whose foreign
 * keys use them, on either side. */
static int tables_to_check(lm_conn *conn, const lm_fk_scope *scope, names_v *out) {
  int need_edges = 0;
  for (int i = 0; i < scope->n; i++)
    need_edges |= (scope->v[i].what & LM_FK_REFERENCED) || scope->v[i].ncols > 0;
  fk_edges e = {0};
  int rc = need_edges ? load_edges(conn, &e) : 0;
  for (int i = 0; i < scope->n && !rc; i++) {
    const lm_fk_touch *t = &scope->v[i];
    if (t->what & LM_FK_OWN) add_table(out, t->table);
    for (int k = 0; k < e.n; k++) {
      const fk_edge *x = &e.v[k];
      if (strcasecmp(x->parent, t->table) == 0 &&
          ((t->what & LM_FK_REFERENCED) || key_updated(conn, x, t->cols, t->ncols)))
        add_table(out, x->child);
      if (strcasecmp(x->child, t->table) == 0 && has_col(t->cols, t->ncols, x->from))
        add_table(out, x->child);
    }
  }
  edges_free(&e);
  return rc;
}

/* Up to this many violations are named in the error. */
#define FK_SHOWN 5

typedef struct fk_report {
  lm_buf text;
  int n;
} fk_report;

static int fk_row(void *ud, int ncols, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  fk_report *r = ud;
  if (ncols < 4) return 0;
  if (r->n++ >= FK_SHOWN) return 0;
  lm_buf_puts(&r->text, "\n  table \"");
  lm_buf_put(&r->text, v[0].s ? v[0].s : "", v[0].s ? v[0].len : 0);
  lm_buf_puts(&r->text, "\" ");
  if (v[1].t == LM_V_INT)
    lm_buf_printf(&r->text, "rowid %lld", v[1].i);
  else
    lm_buf_puts(&r->text, "(a WITHOUT ROWID row)");
  lm_buf_puts(&r->text, " has no parent row in \"");
  lm_buf_put(&r->text, v[2].s ? v[2].s : "", v[2].s ? v[2].len : 0);
  lm_buf_printf(&r->text, "\" (foreign key %lld)", v[3].i);
  return 0;
}

static int exists_row(void *ud, int ncols, const char *const *names, const lm_value *v) {
  LM_UNUSED(ncols), LM_UNUSED(names), LM_UNUSED(v);
  *(int *)ud = 1;
  return 1;
}

/* Foreign keys are not enforced during migrations (see sqlite_open), so a
 * transaction that changed something may only commit when the rows it could
 * have orphaned all have their parent: `PRAGMA foreign_key_check(t)` of the
 * tables scope names (the sink's record of what the transaction changed,
 * engine/sink.c), or of every table when scope is NULL. */
static int sqlite_before_commit(lm_conn *conn, const lm_fk_scope *scope) {
  fk_report r;
  lm_buf_init(&r.text);
  r.n = 0;
  names_v tables = {0};
  int rc = scope ? tables_to_check(conn, scope, &tables) : 0;
  char *failed = NULL;
  if (!scope) {
    lm_stmt st = {"PRAGMA foreign_key_check", NULL, 0};
    rc = sqlite_query(conn, &st, fk_row, &r);
    if (r.n) failed = lm_xstrdup(st.sql);
  }
  for (int i = 0; i < tables.n && !rc; i++) {
    lm_value v = {.t = LM_V_TEXT, .s = tables.v[i], .len = strlen(tables.v[i])};
    /* a table the transaction made and dropped again has nothing to check */
    int exists = 0;
    lm_stmt ex = {"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1 COLLATE NOCASE",
                  &v, 1};
    rc = sqlite_query(conn, &ex, exists_row, &exists);
    if (rc || !exists) continue;
    int before = r.n;
    lm_stmt st = {"SELECT * FROM pragma_foreign_key_check($1)", &v, 1};
    rc = sqlite_query(conn, &st, fk_row, &r);
    if (!rc && r.n > before && !failed) {
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_puts(&b, "PRAGMA foreign_key_check(");
      lm_buf_ident(&b, tables.v[i]);
      lm_buf_putc(&b, ')');
      failed = lm_buf_steal(&b);
    }
  }
  if (!rc && r.n > 0) {
    rc = lm_error_set(LM_EDB, "%d row%s violate%s a foreign key:%s%s", r.n, r.n > 1 ? "s" : "",
                      r.n > 1 ? "" : "s", r.text.s, r.n > FK_SHOWN ? "\n  …" : "");
    lm_error_set_statement(failed);
  }
  free(failed);
  names_free(&tables);
  lm_buf_free(&r.text);
  return rc;
}

/* ---- the runner: a database that is not there, scratch databases ---------- */

static int sqlite_database_state(const lm_url *url) {
  /* sqlite_open makes a missing file, and an unnamed one is :memory: */
  if (!url->path || strcmp(url->path, ":memory:") == 0) return LM_DB_EPHEMERAL;
  return access(url->path, F_OK) == 0 ? LM_DB_EXISTS : LM_DB_MISSING;
}

/* A temporary file: an empty file is an empty SQLite database. Tables do not
 * live in schemas here, so schema is not used. */
static int sqlite_scratch_create(const lm_url *url, const char *schema, lm_scratch *sc) {
  LM_UNUSED(url), LM_UNUSED(schema);
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  char *path = lm_xasprintf("%s/luamig_check_XXXXXX", tmp);
  int fd = mkstemp(path);
  if (fd < 0) {
    int rc = lm_error_set(LM_EIO, "cannot make a scratch database file in %s", tmp);
    free(path);
    return rc;
  }
  close(fd);
  sc->name = path;
  sc->url = lm_xcalloc(1, sizeof *sc->url);
  sc->url->dialect = lm_xstrdup("sqlite");
  sc->url->path = lm_xstrdup(path);
  sc->url->masked = lm_xasprintf("sqlite:///%s", path);
  return 0;
}

static int sqlite_scratch_drop(lm_scratch *sc) {
  static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
  for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
    char *f = lm_xasprintf("%s%s", sc->name, suffix[i]);
    unlink(f);
    free(f);
  }
  return 0;
}

const lm_dialect lm_dialect_sqlite = {
    .version = LM_DIALECT_VERSION,
    .name = "sqlite",
    .caps = LM_CAP_TRANSACTIONAL_DDL | LM_CAP_CHECK_AS_WRITTEN,
    .begin_sql = "BEGIN IMMEDIATE",
    .open = sqlite_open,
    .close = sqlite_close,
    .exec = sqlite_exec,
    .query = sqlite_query,
    .cursor_open = sqlite_cursor_open,
    .cursor_next = sqlite_cursor_next,
    .cursor_close = sqlite_cursor_close,
    .before_commit = sqlite_before_commit,
    .table_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
    /* the runner: version table, journal, scratch databases */
    .vt_timestamp_sql = "TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now'))",
    .vt_now_sql = "strftime('%Y-%m-%d %H:%M:%f', 'now')",
    .vt_exists_sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
    .vt_revision_column_sql = "SELECT 1 FROM pragma_table_info($1) WHERE name = 'revision'",
    .index_valid_sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = $1",
    .database_state = sqlite_database_state,
    .scratch_create = sqlite_scratch_create,
    .scratch_drop = sqlite_scratch_drop,
    /* the runner: run lock, cancelling */
    .lock_acquire = sqlite_lock_acquire,
    .lock_release = sqlite_lock_release,
    .cancel = sqlite_cancel,
    /* ---- rendering (sqlite_render.c) ---- */
    .display_name = "SQLite",
    .render = lm_sqlite_render,
    .literal = lm_sqlite_literal,
    .default_needs_parens = lm_sqlite_default_needs_parens,
    .type_names = lm_sqlite_type_names,
    .known_types = lm_sqlite_known_types,
    .reflected_types = lm_sqlite_reflected_types,
    /* only the exact type name INTEGER makes the key an alias of the rowid */
    .auto_types = {"INTEGER", "INTEGER", "INTEGER"},
    .autoincrement = "AUTOINCREMENT",
    .render_flags = LM_RENDER_INLINE_AUTO_PK,
    .lexis = LM_LEX_BACKTICKS | LM_LEX_BRACKETS | LM_LEX_QMARK,
    .has_sql = {"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1",
                "SELECT 1 FROM pragma_table_info($1) WHERE name = $2",
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = $1"},
    /* sessions: streaming, batches, autocommit */
    .backfill_columns = lm_sqlite_backfill_columns,
    .rowid_aliases = lm_sqlite_rowid_aliases,
    .write_rows = lm_sqlite_write_rows,
    /* reflection and move-and-copy */
    .reflect_schema = lm_sqlite_reflect_schema,
    .recreate_wanted = lm_sqlite_recreate_wanted,
    .recreate = lm_sqlite_recreate,
    .shadow_open = lm_sqlite_shadow_open,
    .shadow_preamble = "-- a move-and-copy drops tables that others reference: no cascades "
                       "meanwhile\nPRAGMA foreign_keys = OFF;\n\n",
    /* rendering, version 3 */
    .sql_spellings = lm_sqlite_sql_spellings,
};

/* ---- the run lock and the database file ------------------------------------ */

/* The run lock is flock() on the database file. */
typedef struct file_lock {
  int fd;
} file_lock;

static int sqlite_lock_acquire(lm_conn *conn, const lm_url *url, long long key,
                               const lm_lock_wait *w, lm_lock **held) {
  LM_UNUSED(conn), LM_UNUSED(key);
  const char *path = url->path;
  if (!path || strcmp(path, ":memory:") == 0) return 0;
  file_lock *l = lm_xmalloc(sizeof *l);
  *held = (lm_lock *)l;
  l->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (l->fd < 0)
    return lm_error_set(LM_EDB, "cannot open %s to lock it: %s", path, strerror(errno));
  if (flock(l->fd, LOCK_EX | LOCK_NB) == 0) return 0;
  if (errno != EWOULDBLOCK && errno != EINTR)
    return lm_error_set(LM_EDB, "cannot lock %s: %s", path, strerror(errno));
  w->waiting(w->ud);
  /* SIGINT and SIGTERM are installed without SA_RESTART, so that they end
   * this wait; another signal resumes it */
  while (flock(l->fd, LOCK_EX) != 0) {
    if (lm_interrupted) return lm_error_set(LM_EINTR, "interrupted");
    if (errno != EINTR) return lm_error_set(LM_EDB, "cannot lock %s: %s", path, strerror(errno));
  }
  return 0;
}

static void sqlite_lock_release(lm_lock *held) {
  file_lock *l = (file_lock *)held;
  if (l->fd >= 0) close(l->fd);
  free(l);
}
