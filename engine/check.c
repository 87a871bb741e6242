/* `luamig check`: the checksums of applied revisions against their files, and
 * the round trip of every revision (upgrade, downgrade, upgrade) on a scratch
 * database that is always removed afterwards. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"
#include "schema.h"

/* ---- the last error, kept across cleanup work ------------------------------------- */

/* Cleanup (dropping the scratch database) runs after a failure and may fail
 * itself; the error the user needs is the first one. */
typedef struct saved_error {
  int code, line;
  char *message, *file, *revision, *statement, *sqlstate, *db_message;
} saved_error;

static void error_save(saved_error *s) {
  const lm_error *e = lm_error_last();
  s->code = e->code;
  s->line = e->line;
  s->message = lm_xstrdup(e->message);
  s->file = lm_xstrdup(e->file);
  s->revision = lm_xstrdup(e->revision);
  s->statement = lm_xstrdup(e->statement);
  s->sqlstate = lm_xstrdup(e->sqlstate);
  s->db_message = lm_xstrdup(e->db_message);
}

/* Sets the saved error again, with code instead of the saved one. */
static void error_restore(const saved_error *s, int code) {
  lm_error_set(code, "%s", s->message ? s->message : "unknown error");
  lm_error_set_location(s->file, s->line);
  lm_error_set_revision(s->revision);
  lm_error_set_statement(s->statement);
  lm_error_set_db(s->sqlstate, s->db_message);
}

static void error_free(saved_error *s) {
  free(s->message);
  free(s->file);
  free(s->revision);
  free(s->statement);
  free(s->sqlstate);
  free(s->db_message);
}

/* ---- checksums ---------------------------------------------------------------------- */

void lm_checksums_free(lm_checksums *c) {
  free(c->why);
  free(c->changed);
  for (int i = 0; i < c->nunknown; i++)
    free(c->unknown[i]);
  free(c->unknown);
  memset(c, 0, sizeof *c);
}

typedef struct cs_reader {
  lm_project *p;
  lm_checksums *out;
} cs_reader;

static int exists_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(n), LM_UNUSED(names), LM_UNUSED(v);
  *(int *)ud = 1;
  return 1;
}

static int checksum_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  cs_reader *r = ud;
  lm_checksums *out = r->out;
  if (n < 3 || v[0].t != LM_V_TEXT) return 0;
  out->napplied++;
  char *id = lm_xstrndup(v[0].s, v[0].len);
  int i = lm_graph_index(&r->p->graph, id);
  if (i < 0) {
    out->unknown = lm_xrealloc(out->unknown, (size_t)(out->nunknown + 1) * sizeof *out->unknown);
    out->unknown[out->nunknown++] = id;
    return 0;
  }
  free(id);
  if (v[2].t == LM_V_TEXT && !lm_revision_checksum_matches(r->p->graph.revs[i], v[2].s, v[2].len)) {
    out->changed = lm_xrealloc(out->changed, (size_t)(out->nchanged + 1) * sizeof *out->changed);
    out->changed[out->nchanged++] = i;
  }
  return 0;
}

int lm_check_checksums(lm_project *p, lm_checksums *out) {
  memset(out, 0, sizeof *out);
  if (!p->url || !p->dialect) {
    out->status = LM_CS_NO_URL;
    return 0;
  }
  const lm_dialect *d = p->dialect;
  /* Opening a SQLite file that is not there would create it: a check must
   * leave no database behind. */
  if (d->id == LM_SQLITE &&
      (!p->url->path || strcmp(p->url->path, ":memory:") == 0 || access(p->url->path, F_OK) != 0)) {
    out->status = LM_CS_NO_DATABASE;
    return 0;
  }
  lm_conn *c = NULL;
  if (lm_dialect_open(d, &c, p->url)) {
    out->status = LM_CS_UNREACHABLE;
    out->why = lm_xstrdup(lm_error_last()->message);
    lm_error_clear();
    return 0;
  }
  lm_vt vt = {d, d->id == LM_POSTGRESQL ? p->config->version_table_schema : NULL,
              p->config->version_table};
  lm_stmts l = {0};
  int exists = 0;
  lm_vt_exists_query(&vt, &l);
  int rc = lm_dialect_query(d, c, &l.v[0], exists_row, &exists);
  lm_stmts_free(&l);
  if (!rc && !exists) out->status = LM_CS_NO_TABLE;
  if (!rc && exists) {
    cs_reader r = {p, out};
    lm_vt_select(&vt, &l);
    rc = lm_dialect_query(d, c, &l.v[0], checksum_row, &r);
    lm_stmts_free(&l);
  }
  lm_dialect_close(d, c);
  if (rc) lm_error_prefix("cannot read the version table of %s", p->url->masked);
  return rc;
}

/* ---- the scratch database ---------------------------------------------------------- */

typedef struct scratch {
  lm_url *url;   /* where the round trip runs */
  char *path;    /* SQLite: the temporary file */
  char *dbname;  /* PostgreSQL: the temporary database */
  lm_url *admin; /* PostgreSQL: where CREATE / DROP DATABASE run */
  int created;   /* PostgreSQL: the database exists */
} scratch;

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
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "postgresql://");
  if (u->user) lm_buf_printf(&b, "%s%s@", u->user, u->password ? ":***" : "");
  if (u->host) lm_buf_puts(&b, u->host);
  if (u->port) lm_buf_printf(&b, ":%s", u->port);
  if (db) lm_buf_printf(&b, "/%s", db);
  c->masked = lm_buf_steal(&b);
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

static int exec_sql(const lm_dialect *d, lm_conn *c, const char *sql) {
  lm_stmt st = {(char *)sql, NULL, 0};
  return lm_dialect_exec(d, c, &st);
}

static int scratch_sqlite(scratch *sc) {
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !*tmp) tmp = "/tmp";
  sc->path = lm_xasprintf("%s/luamig_check_XXXXXX", tmp);
  int fd = mkstemp(sc->path);
  if (fd < 0) {
    int rc = lm_error_set(LM_EIO, "cannot make a scratch database file in %s", tmp);
    free(sc->path);
    sc->path = NULL;
    return rc;
  }
  close(fd);
  /* An empty file is an empty SQLite database. */
  sc->url = lm_xcalloc(1, sizeof *sc->url);
  sc->url->dialect = lm_xstrdup("sqlite");
  sc->url->path = lm_xstrdup(sc->path);
  sc->url->masked = lm_xasprintf("sqlite:///%s", sc->path);
  return 0;
}

/* The server's maintenance database, for when the configured one does not
 * exist yet. */
static int open_admin(lm_project *p, scratch *sc, lm_conn **c) {
  const lm_dialect *d = p->dialect;
  sc->admin = url_with_db(p->url, p->url->dbname);
  int rc = lm_dialect_open(d, c, sc->admin);
  if (!rc) return 0;
  saved_error first;
  error_save(&first);
  lm_url_free(sc->admin);
  sc->admin = url_with_db(p->url, "postgres");
  if (lm_dialect_open(d, c, sc->admin) == 0) {
    error_free(&first);
    return 0;
  }
  error_restore(&first, first.code);
  error_free(&first);
  return rc;
}

static int scratch_pg(lm_project *p, scratch *sc) {
  const lm_dialect *d = p->dialect;
  lm_conn *c = NULL;
  int rc = open_admin(p, sc, &c);
  if (rc) {
    lm_error_prefix("cannot make a scratch database for the round trip");
    return rc;
  }
  sc->dbname = lm_xasprintf("luamig_check_%ld_%08x", (long)getpid(), random32());
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE DATABASE ");
  lm_buf_ident(&b, sc->dbname);
  rc = exec_sql(d, c, b.s);
  lm_buf_free(&b);
  lm_dialect_close(d, c);
  if (rc) {
    lm_error_prefix("cannot create the scratch database %s on %s", sc->dbname, sc->admin->masked);
    return rc;
  }
  sc->created = 1;
  sc->url = url_with_db(p->url, sc->dbname);
  /* The version table's schema is the user's to create; in the scratch
   * database it is ours. */
  const char *vts = p->config->version_table_schema;
  if (vts && *vts) {
    rc = lm_dialect_open(d, &c, sc->url);
    if (!rc) {
      lm_buf_init(&b);
      lm_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
      lm_buf_ident(&b, vts);
      rc = exec_sql(d, c, b.s);
      lm_buf_free(&b);
      lm_dialect_close(d, c);
    }
  }
  return rc;
}

/* Removes the scratch database; a failure is reported on stderr only, since
 * the error that matters (if any) is the round trip's. Returns 0 when it is
 * gone. */
static int scratch_drop(lm_project *p, scratch *sc) {
  int rc = 0;
  if (sc->path) {
    static const char *const suffix[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffix / sizeof *suffix; i++) {
      char *f = lm_xasprintf("%s%s", sc->path, suffix[i]);
      unlink(f);
      free(f);
    }
  }
  if (sc->created) {
    const lm_dialect *d = p->dialect;
    saved_error kept;
    error_save(&kept);
    lm_conn *c = NULL;
    rc = lm_dialect_open(d, &c, sc->admin);
    if (!rc) {
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_puts(&b, "DROP DATABASE IF EXISTS ");
      lm_buf_ident(&b, sc->dbname);
      /* FORCE (PostgreSQL 13+) ends connections a failed migration left */
      char *force = lm_xasprintf("%s WITH (FORCE)", b.s);
      rc = exec_sql(d, c, force);
      if (rc) rc = exec_sql(d, c, b.s);
      free(force);
      lm_buf_free(&b);
      lm_dialect_close(d, c);
    }
    if (rc)
      fprintf(p->err, "luamig: warning: could not drop the scratch database %s on %s: %s\n",
              sc->dbname, sc->admin->masked, lm_error_last()->message);
    if (kept.code)
      error_restore(&kept, kept.code);
    else
      lm_error_clear();
    error_free(&kept);
  }
  lm_url_free(sc->url);
  lm_url_free(sc->admin);
  free(sc->path);
  free(sc->dbname);
  memset(sc, 0, sizeof *sc);
  return rc;
}

/* ---- the round trip ------------------------------------------------------------------- */

/* A failure while round-tripping r, as a check failure naming r and its file
 * (Ctrl-C stays an interruption). */
static int fail_at(const lm_revision *r, const char *what) {
  int code = lm_error_code();
  if (code == LM_EINTR) return code;
  saved_error e;
  error_save(&e);
  char *msg = lm_xasprintf("roundtrip of %s (%s): %s failed: %s", r->id, r->path, what,
                           e.message ? e.message : "unknown error");
  free(e.message);
  e.message = msg;
  if (!e.file) e.file = lm_xstrdup(r->path);
  error_restore(&e, LM_ECHECK);
  lm_error_set_revision(r->id);
  error_free(&e);
  return LM_ECHECK;
}

static int differ_at(const lm_revision *r, const char *what) {
  lm_error_set(LM_ECHECK, "roundtrip of %s (%s) failed: %s", r->id, r->path, what);
  lm_error_set_revision(r->id);
  lm_error_set_location(r->path, 0);
  return LM_ECHECK;
}

static int interrupted(void) { return lm_interrupted ? lm_error_set(LM_EINTR, "interrupted") : 0; }

static int roundtrip_one(lm_project *p, const lm_url *url, const lm_revision *r,
                         lm_schema **before) {
  lm_run_options o = {0};
  lm_schema *after = NULL, *down = NULL, *again = NULL;
  char *what = NULL;
  int rc = lm_upgrade(p, r->id, &o);
  if (rc) return fail_at(r, "upgrade");
  if ((rc = lm_schema_read_url(p, url, &after))) return fail_at(r, "reading the schema");
  if ((rc = interrupted()) || (rc = lm_downgrade(p, "-1", &o))) {
    rc = fail_at(r, "downgrade");
    goto done;
  }
  if ((rc = lm_schema_read_url(p, url, &down))) {
    rc = fail_at(r, "reading the schema");
    goto done;
  }
  if (lm_schema_diff(*before, down, "after downgrade", "before the upgrade", &what)) {
    rc = differ_at(r, what);
    goto done;
  }
  if ((rc = interrupted()) || (rc = lm_upgrade(p, r->id, &o))) {
    rc = fail_at(r, "upgrade after downgrade");
    goto done;
  }
  if ((rc = lm_schema_read_url(p, url, &again))) {
    rc = fail_at(r, "reading the schema");
    goto done;
  }
  if (lm_schema_diff(after, again, "after upgrading again", "after the first upgrade", &what)) {
    rc = differ_at(r, what);
    goto done;
  }
  lm_schema_free(*before);
  *before = again;
  again = NULL;
done:
  free(what);
  lm_schema_free(after);
  lm_schema_free(down);
  lm_schema_free(again);
  return rc ? rc : interrupted();
}

int lm_check_roundtrip(lm_project *p, lm_roundtrip_fn fn, void *ud, int *nchecked) {
  *nchecked = 0;
  if (!p->dialect)
    return lm_error_set(LM_ECONFIG,
                        "check --roundtrip needs a database URL (set url in luamig.lua, "
                        "set DATABASE_URL or pass --url), or --dialect sqlite");
  if (p->dialect->id == LM_POSTGRESQL && !p->url)
    return lm_error_set(LM_ECONFIG, "check --roundtrip on PostgreSQL needs a database URL: the "
                                    "scratch database is made on that server");
  scratch sc;
  memset(&sc, 0, sizeof sc);
  int rc = p->dialect->id == LM_POSTGRESQL ? scratch_pg(p, &sc) : scratch_sqlite(&sc);
  if (rc) {
    scratch_drop(p, &sc);
    return rc;
  }
  /* The runner works on p->url; it points at the scratch database for the
   * duration, and the per-revision "Running …" lines are not wanted. */
  lm_url *saved_url = p->url;
  int saved_quiet = p->opts.quiet;
  p->url = sc.url;
  p->opts.quiet = 1;
  lm_schema *before = NULL;
  rc = lm_schema_read_url(p, sc.url, &before);
  for (int k = 0; k < p->graph.n && !rc; k++) {
    /* Invariant: exactly the revisions before k in topological order are
     * applied, so the upgrade runs this revision alone and "-1" reverts it. */
    const lm_revision *r = p->graph.revs[p->graph.topo[k]];
    rc = roundtrip_one(p, sc.url, r, &before);
    if (!rc) {
      (*nchecked)++;
      if (fn) fn(ud, r);
    }
  }
  lm_schema_free(before);
  p->url = saved_url;
  p->opts.quiet = saved_quiet;
  int drop = scratch_drop(p, &sc);
  if (!rc && drop)
    rc =
        lm_error_set(LM_EDB, "the round trip passed but its scratch database could not be dropped");
  return rc;
}

/* ---- the chain's schema ------------------------------------------------------------------- */

int lm_chain_schema(lm_project *p, const char *scratch_url, const int *state, lm_schema **out) {
  *out = NULL;
  lm_url *given = NULL;
  int rc = 0;
  if (scratch_url && (rc = lm_url_parse(&given, scratch_url))) return rc;
  lm_url *saved_url = p->url;
  const lm_dialect *saved_d = p->dialect;
  if (given) {
    p->url = given;
    p->dialect = lm_dialect_find(given->dialect);
  }
  if (!p->dialect) p->dialect = &lm_dialect_sqlite;
  scratch sc;
  memset(&sc, 0, sizeof sc);
  if (p->dialect->id == LM_POSTGRESQL) {
    rc = p->url ? scratch_pg(p, &sc) : lm_error_set(LM_ECONFIG, "no database URL");
    /* no server to run the chain on: the op records applied in memory */
    if (rc && !state && rc != LM_EINTR) {
      fprintf(p->err,
              "luamig: note: no PostgreSQL server for a scratch database (%s): the chain's "
              "schema is computed in memory\n",
              lm_error_last()->message);
      lm_error_clear();
      const lm_dialect *d = p->dialect;
      scratch_drop(p, &sc);
      p->url = saved_url;
      p->dialect = saved_d;
      lm_url_free(given);
      return lm_chain_schema_memory(p, d, out);
    }
  } else {
    rc = scratch_sqlite(&sc);
  }
  int saved_quiet = p->opts.quiet;
  if (!rc) {
    p->url = sc.url;
    p->opts.quiet = 1;
    lm_run_options o = {0};
    if (!state) {
      if (p->graph.n) rc = lm_upgrade(p, "heads", &o);
    } else {
      int *heads = lm_xcalloc((size_t)p->graph.n + 1, sizeof *heads);
      int nh = lm_plan_applied_heads(&p->graph, state, heads);
      for (int k = 0; k < nh && !rc; k++) {
        const lm_revision *r = p->graph.revs[heads[k]];
        o.stop_before = state[heads[k]] < r->nsteps ? r->step_names[state[heads[k]]] : NULL;
        rc = lm_upgrade(p, r->id, &o);
      }
      free(heads);
    }
    if (rc && rc != LM_EINTR) lm_error_prefix("running the chain on a scratch database");
    if (!rc) rc = lm_schema_read_url(p, sc.url, out);
  }
  p->url = given ? given : saved_url;
  p->opts.quiet = saved_quiet;
  scratch_drop(p, &sc);
  p->url = saved_url;
  p->dialect = saved_d;
  lm_url_free(given);
  if (rc) {
    lm_schema_free(*out);
    *out = NULL;
  }
  return rc;
}
