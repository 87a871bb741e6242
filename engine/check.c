/* `luamig check`: the checksums of applied revisions against their files, and
 * the round trip of every revision (upgrade, downgrade, upgrade) on a scratch
 * database that is always removed afterwards. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* The version table's schema, where tables live in schemas. */
static const char *vt_schema(const lm_project *p, const lm_dialect *d) {
  return lm_dialect_has_cap(d, LM_CAP_SCHEMAS) ? p->config->version_table_schema : NULL;
}

int lm_check_checksums(lm_project *p, lm_checksums *out) {
  memset(out, 0, sizeof *out);
  if (!p->url || !p->dialect) {
    out->status = LM_CS_NO_URL;
    return 0;
  }
  const lm_dialect *d = p->dialect;
  /* A check must leave no database behind (opening a SQLite file that is
   * not there would create it). */
  if (lm_dialect_creates_on_open(d, p->url)) {
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
  lm_vt vt = {d, vt_schema(p, d), p->config->version_table};
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

/* Made by the dialect beside p's database (SQLite: a temporary file;
 * PostgreSQL: a temporary database on p's server), with the version table's
 * schema in it. */
static int scratch_create(lm_project *p, lm_scratch *sc) {
  return lm_dialect_scratch_create(p->dialect, p->url, vt_schema(p, p->dialect), sc);
}

/* Removes the scratch database; a failure is reported on stderr only, since
 * the error that matters (if any) is the round trip's. Returns 0 when it is
 * gone. */
static int scratch_drop(lm_project *p, lm_scratch *sc) {
  int kept_code = lm_error_code();
  lm_error_saved *kept = lm_error_save();
  int rc = lm_dialect_scratch_drop(p->dialect, sc);
  if (rc) fprintf(p->err, "luamig: warning: %s\n", lm_error_last()->message);
  lm_error_restore(kept);
  if (!kept_code) lm_error_clear();
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

/* The round trip reads the scratch database's schema after each of its
 * runs, on one connection it keeps for that (each run makes its own): it
 * only reads the catalog, outside any transaction, so it holds no lock a
 * run waits for. */
typedef struct schema_reader {
  lm_project *p;
  const lm_dialect *d;
  lm_conn *c;
} schema_reader;

static int read_schema(const schema_reader *rd, lm_schema **out) {
  return lm_schema_read(rd->d, rd->c, rd->p->config->version_table_schema,
                        rd->p->config->version_table, out);
}

static int roundtrip_one(lm_project *p, const schema_reader *rd, const lm_revision *r,
                         lm_schema **before) {
  lm_run_options o = {0};
  lm_schema *after = NULL, *down = NULL, *again = NULL;
  char *what = NULL;
  int rc = lm_upgrade(p, r->id, &o);
  if (rc) return fail_at(r, "upgrade");
  if ((rc = read_schema(rd, &after))) return fail_at(r, "reading the schema");
  if ((rc = interrupted()) || (rc = lm_downgrade(p, "-1", &o))) {
    rc = fail_at(r, "downgrade");
    goto done;
  }
  if ((rc = read_schema(rd, &down))) {
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
  if ((rc = read_schema(rd, &again))) {
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
  const char *server = lm_dialect_scratch_server(p->dialect);
  if (server && !p->url)
    return lm_error_set(LM_ECONFIG,
                        "check --roundtrip on %s needs a database URL: the scratch database is "
                        "made on that server",
                        server);
  lm_scratch sc;
  int rc = scratch_create(p, &sc);
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
  schema_reader rd = {p, p->dialect, NULL};
  rc = lm_dialect_open(rd.d, &rd.c, sc.url);
  if (!rc) rc = read_schema(&rd, &before);
  for (int k = 0; k < p->graph.n && !rc; k++) {
    /* Invariant: exactly the revisions before k in topological order are
     * applied, so the upgrade runs this revision alone and "-1" reverts it. */
    const lm_revision *r = p->graph.revs[p->graph.topo[k]];
    rc = roundtrip_one(p, &rd, r, &before);
    if (!rc) {
      (*nchecked)++;
      if (fn) fn(ud, r);
    }
  }
  lm_schema_free(before);
  if (rd.c) lm_dialect_close(rd.d, rd.c);
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
  } else if (p->url && p->dialect && lm_dialect_find(p->url->dialect) != p->dialect) {
    /* --dialect named another dialect than the URL's: that database is no
     * server for this dialect's scratch database */
    p->url = NULL;
  }
  if (!p->dialect) p->dialect = lm_dialect_default();
  /* The schema at the applied revisions (check --drift): when the op
   * records alone make it (no op.execute, no read of data), applying them
   * in memory gives what a scratch database would, without running the
   * chain's DDL (on PostgreSQL, the most of the time). */
  if (state) {
    char *why = NULL;
    rc = lm_chain_schema_memory_exact(p, p->dialect, state, out, &why);
    if (*out && p->opts.verbose)
      fprintf(p->err, "luamig: the chain's schema at the applied revisions is computed in memory "
                      "from its op records\n");
    if (!rc && !*out && p->opts.verbose)
      fprintf(p->err,
              "luamig: %s: the chain's schema at the applied revisions is computed on a "
              "scratch database\n",
              why ? why : "the op records do not make it");
    free(why);
    if (rc || *out) {
      p->dialect = saved_d;
      p->url = saved_url;
      lm_url_free(given);
      return rc;
    }
  }
  lm_scratch sc;
  const char *server = lm_dialect_scratch_server(p->dialect);
  rc = scratch_create(p, &sc);
  if (server) {
    /* no server to run the chain on: the op records applied in memory */
    if (rc && !state && rc != LM_EINTR) {
      fprintf(p->err,
              "luamig: note: no %s server for a scratch database (%s): the chain's "
              "schema is computed in memory\n",
              server, lm_error_last()->message);
      lm_error_clear();
      const lm_dialect *d = p->dialect;
      scratch_drop(p, &sc);
      p->url = saved_url;
      p->dialect = saved_d;
      lm_url_free(given);
      return lm_chain_schema_memory(p, d, out);
    }
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
