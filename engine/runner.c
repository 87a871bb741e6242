/* The runner: moves a project's database along its chain, online or as a
 * script; its sessions, transactions, run lock and version table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lint.h"
#include "lm.h"
#include "recreate.h"

/* ---- a connected session ------------------------------------------------------ */

/* A journal row read at the start of a run: a step left half applied. */
typedef struct journal_row {
  char *rev, *direction, *step, *fingerprint;
  long long done, started;
} journal_row;

typedef struct journal_rows {
  journal_row *v;
  int n;
  int table; /* the journal table exists */
} journal_rows;

typedef struct session {
  lm_project *p;
  lm_conn *conn;
  lm_sink sink;
  lm_vt vt;
  lm_lock *lock; /* what the dialect's run lock holds, or NULL */
  int *state;
  int vt_exists;
  journal_rows journal;
} session;

static void vt_init(lm_project *p, const lm_dialect *d, lm_vt *vt) {
  vt->d = d;
  vt->schema = lm_dialect_has_cap(d, LM_CAP_SCHEMAS) ? p->config->version_table_schema : NULL;
  vt->table = p->config->version_table;
}

static int exists_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(n), LM_UNUSED(names), LM_UNUSED(v);
  *(int *)ud = 1;
  return 1;
}

typedef struct state_reader {
  lm_project *p;
  int *state;
  int lenient; /* rows of revisions or steps the chain has not are passed over */
  lm_buf changed;
  int nchanged;
  int rc;
  int check; /* compare the stored checksums with the files */
} state_reader;

static int state_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  state_reader *sr = ud;
  if (n < 3 || v[0].t != LM_V_TEXT) return 0;
  char *id = lm_xstrndup(v[0].s, v[0].len);
  int i = lm_graph_index(&sr->p->graph, id);
  if (i < 0 && sr->lenient) {
    free(id);
    return 0;
  }
  if (i < 0) {
    sr->rc = lm_error_set(LM_ECONFIG,
                          "the database has revision '%s' applied, but no revision file defines "
                          "it (is this the right project and versions folder?)",
                          id);
    free(id);
    return 1;
  }
  free(id);
  lm_revision *r = sr->p->graph.revs[i];
  if (v[1].t == LM_V_NULL) {
    sr->state[i] = r->nsteps;
  } else {
    char *step = lm_xstrndup(v[1].s, v[1].len);
    int found = -1;
    for (int k = 0; r->multistep && k < r->nsteps; k++)
      if (strcmp(r->step_names[k], step) == 0) found = k;
    if (found < 0 && sr->lenient) {
      free(step);
      return 0;
    }
    if (found < 0) {
      sr->rc = lm_error_set(LM_ECONFIG,
                            "the database records step '%s' of revision %s, which %s has no longer",
                            step, r->id, r->path);
      free(step);
      return 1;
    }
    free(step);
    sr->state[i] = found + 1;
  }
  if (v[2].t == LM_V_TEXT && v[2].len == 64) {
    free(r->recorded_checksum);
    r->recorded_checksum = lm_xstrndup(v[2].s, 64);
  }
  if (sr->check && v[2].t == LM_V_TEXT && !lm_revision_checksum_matches(r, v[2].s, v[2].len)) {
    /* The file's text at apply time is not stored, only its hash: say what
     * can be said (its size now) and how to re-record it. */
    char *text = NULL;
    size_t len = 0;
    long lines = 0;
    if (lm_read_file(r->path, &text, &len) == 0) {
      for (size_t k = 0; k < len; k++)
        lines += text[k] == '\n';
      if (len && text[len - 1] != '\n') lines++;
      free(text);
    }
    lm_buf_printf(&sr->changed,
                  "\n  %s (%s): %ld lines now; compare with the version that was applied "
                  "(git log -p %s)\n    re-record it: luamig stamp --checksums-only %s",
                  r->path, r->id, lines, r->path, r->id);
    sr->nchanged++;
  }
  return 0;
}

static char *value_text(const lm_value *v) {
  return v->t == LM_V_TEXT ? lm_xstrndup(v->s, v->len) : NULL;
}

static int journal_row_read(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  journal_rows *jr = ud;
  if (n < 6 || v[0].t != LM_V_TEXT) return 0;
  jr->v = lm_xrealloc(jr->v, sizeof *jr->v * (size_t)(jr->n + 1));
  journal_row *row = &jr->v[jr->n++];
  row->rev = value_text(&v[0]);
  row->direction = value_text(&v[1]);
  row->step = value_text(&v[2]);
  row->done = v[3].t == LM_V_INT ? v[3].i : v[3].t == LM_V_TEXT ? atoll(v[3].s) : 0;
  row->started = v[4].t == LM_V_INT ? v[4].i : v[4].t == LM_V_TEXT ? atoll(v[4].s) : 0;
  row->fingerprint = value_text(&v[5]);
  return 0;
}

static void journal_rows_free(journal_rows *jr) {
  for (int i = 0; i < jr->n; i++) {
    free(jr->v[i].rev), free(jr->v[i].direction), free(jr->v[i].step);
    free(jr->v[i].fingerprint);
  }
  free(jr->v);
  memset(jr, 0, sizeof *jr);
}

/* The journal beside the version table: the steps left half applied. */
static int read_journal(session *s) {
  lm_stmts l = {0};
  journal_rows_free(&s->journal);
  lm_vt_journal_exists_query(&s->vt, &l);
  int rc = s->sink.query(&s->sink, &l.v[0], exists_row, &s->journal.table);
  lm_stmts_free(&l);
  if (rc || !s->journal.table) return rc;
  lm_vt_journal_select(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], journal_row_read, &s->journal);
  lm_stmts_free(&l);
  return rc;
}

/* Reads the version table into s->state (steps applied per revision);
 * lenient: rows the chain cannot place are passed over, not an error. */
static int read_state_mode(session *s, int check_checksums, int lenient) {
  lm_project *p = s->p;
  lm_stmts l = {0};
  int rc;
  s->vt_exists = 0;
  lm_vt_exists_query(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], exists_row, &s->vt_exists);
  lm_stmts_free(&l);
  if (!rc) rc = read_journal(s);
  if (rc || !s->vt_exists) return rc;
  /* a table of that name that luamig did not make (or an older tool's) */
  int has_revision = 0;
  lm_vt_has_revision_query(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], exists_row, &has_revision);
  lm_stmts_free(&l);
  if (rc) return rc;
  if (!has_revision)
    return lm_error_set(LM_ECONFIG,
                        "the version table %s has no \"revision\" column: it is a legacy or "
                        "foreign table, not luamig's; rename it, or set version_table in "
                        "luamig.lua to another name",
                        s->vt.table && *s->vt.table ? s->vt.table : "luamig_version");
  state_reader sr = {p, s->state, lenient, {0}, 0, 0, check_checksums};
  lm_vt_select(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], state_row, &sr);
  lm_stmts_free(&l);
  if (!rc) rc = sr.rc;
  if (!rc && sr.nchanged && check_checksums)
    rc = lm_error_set(LM_ECHECK,
                      "%d applied revision file%s changed since %s applied:%s\n"
                      "restore the file%s, or pass --ignore-checksums for this run, or re-record "
                      "the checksum%s (the version stays where it is) with the 'luamig stamp "
                      "--checksums-only' command%s above",
                      sr.nchanged, sr.nchanged > 1 ? "s" : "",
                      sr.nchanged > 1 ? "they were" : "it was", sr.changed.s,
                      sr.nchanged > 1 ? "s" : "", sr.nchanged > 1 ? "s" : "",
                      sr.nchanged > 1 ? "s" : "");
  lm_buf_free(&sr.changed);
  return rc;
}

static int read_state(session *s, int check_checksums) {
  return read_state_mode(s, check_checksums, 0);
}

static unsigned long long fnv1a(const char *s) {
  unsigned long long h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* An interrupt while waiting for the lock: nothing has been done. */
static int lock_interrupted(void) {
  return lm_error_set(
      LM_EINTR, "interrupted while waiting for another luamig run to finish; nothing was done");
}

static int text_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  if (n >= 1 && v[0].t == LM_V_TEXT) *(char **)ud = lm_xstrndup(v[0].s, v[0].len);
  return 1;
}

/* The run lock's key: the version table as the database resolves it, so
 * that `version_table_schema = "public"` and no schema (public by
 * search_path) are one lock. */
static int lock_key(session *s, long long *key) {
  char *schema = NULL;
  const char *current = lm_dialect_current_schema_sql(s->p->dialect);
  if (s->vt.schema && *s->vt.schema) {
    schema = lm_xstrdup(s->vt.schema);
  } else if (current) {
    lm_stmt st = {(char *)current, NULL, 0};
    int rc = s->sink.query(&s->sink, &st, text_row, &schema);
    if (rc) return rc;
  }
  lm_buf name;
  lm_buf_init(&name);
  lm_buf_printf(&name, "luamig:%s.%s", schema ? schema : "",
                s->vt.table && *s->vt.table ? s->vt.table : "luamig_version");
  *key = (long long)fnv1a(name.s);
  lm_buf_free(&name);
  free(schema);
  return 0;
}

static void lock_waiting(void *ud) {
  session *s = ud;
  if (!s->p->opts.quiet)
    fprintf(s->p->err, "luamig: waiting for another luamig run on %s\n", s->p->url->masked);
}

/* --echo-sql shows the lock's statements as the sink shows the others */
static void lock_statement(void *ud, const char *sql) {
  session *s = ud;
  if (s->sink.trace) fprintf(s->sink.trace, "luamig: sql: %s\n", sql);
}

/* One luamig run per database at a time: the dialect's run lock (a
 * PostgreSQL advisory lock, flock() on the SQLite file). An interrupt while
 * waiting exits 130 with nothing done. */
static int take_lock(session *s) {
  lm_project *p = s->p;
  const lm_dialect *d = p->dialect;
  if (lm_interrupted) return lock_interrupted();
  long long key;
  int rc = lock_key(s, &key);
  if (rc) return rc;
  lm_lock_wait w = {lock_waiting, lock_statement, s};
  rc = lm_dialect_lock_acquire(d, s->conn, p->url, key, &w, &s->lock);
  if (rc) return lm_interrupted ? lock_interrupted() : rc;
  if (lm_interrupted) return lock_interrupted();
  /* after the run lock, so that waiting for it is not cut short */
  if (p->config->lock_timeout && *p->config->lock_timeout) {
    lm_buf b;
    lm_buf_init(&b);
    if (lm_dialect_lock_timeout_sql(d, &b, p->config->lock_timeout)) {
      lm_stmt set = {b.s, NULL, 0};
      rc = s->sink.exec(&s->sink, &set);
      if (rc) lm_error_prefix("invalid lock_timeout in %s", p->config->path);
    }
    lm_buf_free(&b);
  }
  return rc;
}

/* A command that only reads must not create the database where a typo in
 * the URL pointed it. */
int lm_project_must_exist(const lm_project *p) {
  if (!p->url || !p->dialect) return 0;
  return lm_dialect_must_exist(p->dialect, p->url);
}

/* readonly: a command that only reads (current, history -i, ...) must not
 * create an empty SQLite database where a typo in the URL pointed it. */
static int session_open(session *s, lm_project *p, int readonly) {
  memset(s, 0, sizeof *s);
  s->p = p;
  if (!p->url)
    return lm_error_set(LM_ECONFIG, "no database URL: set url in luamig.lua, set DATABASE_URL, or "
                                    "pass --url");
  if (readonly) {
    int rc = lm_project_must_exist(p);
    if (rc) return rc;
  }
  int rc = lm_dialect_open(p->dialect, &s->conn, p->url);
  if (rc) return rc;
  lm_sink_online(&s->sink, p->dialect, s->conn);
  if (p->opts.echo_sql) s->sink.trace = p->err;
  vt_init(p, p->dialect, &s->vt);
  s->state = lm_xcalloc((size_t)(p->graph.n ? p->graph.n : 1), sizeof *s->state);
  return 0;
}

static void session_close(session *s) {
  journal_rows_free(&s->journal);
  if (s->lock) lm_dialect_lock_release(s->p->dialect, s->lock);
  if (s->conn) lm_dialect_close(s->p->dialect, s->conn);
  free(s->state);
}

/* ---- running a plan ------------------------------------------------------------- */

/* "A, B" for the parents of r, or "<base>". */
static void parents_text(const lm_revision *r, lm_buf *b) {
  if (r->ndown == 0) lm_buf_puts(b, "<base>");
  for (int i = 0; i < r->ndown; i++) {
    if (i) lm_buf_puts(b, ", ");
    lm_buf_puts(b, r->down[i]);
  }
}

static char *describe(const lm_revision *r, int step, int up) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, up ? "upgrade " : "downgrade ");
  if (up) {
    parents_text(r, &b);
    lm_buf_puts(&b, " -> ");
    lm_buf_puts(&b, r->id);
  } else {
    lm_buf_puts(&b, r->id);
    lm_buf_puts(&b, " -> ");
    parents_text(r, &b);
  }
  if (r->multistep) {
    lm_buf_puts(&b, " [");
    lm_buf_puts(&b, r->step_names[step]);
    lm_buf_putc(&b, ']');
  }
  if (r->message && *r->message) {
    lm_buf_puts(&b, ", ");
    lm_buf_puts(&b, r->message);
  }
  return lm_buf_steal(&b);
}

/* A later step keeps the checksum its row records: under --ignore-checksums
 * the edited file's must not replace it. */
static const char *recorded_or_current(const lm_revision *r) {
  return r->recorded_checksum ? r->recorded_checksum : lm_revision_checksum(r);
}

/* The version-table write that goes with one step, in the same transaction. */
static void vt_write(const lm_vt *vt, const lm_revision *r, int step, int up, long long ms,
                     lm_stmts *out) {
  if (up) {
    const char *st = step == r->nsteps - 1 ? NULL : r->step_names[step];
    if (step == 0)
      lm_vt_insert(vt, r->id, st, lm_revision_checksum(r), ms, out);
    else
      lm_vt_update(vt, r->id, st, recorded_or_current(r), ms, out);
  } else if (step == 0) {
    lm_vt_delete(vt, r->id, out);
  } else {
    lm_vt_update(vt, r->id, r->step_names[step - 1], recorded_or_current(r), ms, out);
  }
}

typedef struct runner {
  lm_project *p;
  lm_sink *sink;
  const lm_vt *vt;
  int offline;
  int create_vt; /* the version table still has to be created */
  int quiet;
  journal_rows *journal; /* online: the half-applied steps found at the start */
  int journal_table;     /* the journal table exists */
  int done;              /* plan items committed */
  int replay;            /* --sql FROM:TO: the revisions up to FROM, into the shadow */
} runner;

/* A lock_timeout is worth retrying: the lock holder is usually a short
 * transaction that will finish. */
static int is_lock_timeout(const lm_dialect *d) {
  const lm_error *e = lm_error_last();
  const char *state = lm_dialect_lock_timeout_sqlstate(d);
  return state && e->sqlstate && strcmp(e->sqlstate, state) == 0;
}

typedef struct lock_holders {
  lm_buf text;
  int n;
} lock_holders;

static int holder_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  lock_holders *h = ud;
  if (n < 4) return 0;
  lm_buf_printf(&h->text, "\n  pid %lld holds %.*s on %.*s: %.*s",
                v[0].t == LM_V_INT ? v[0].i : 0LL, (int)v[1].len, v[1].s ? v[1].s : "",
                (int)v[2].len, v[2].s ? v[2].s : "", (int)(v[3].len > 200 ? 200 : v[3].len),
                v[3].s ? v[3].s : "");
  h->n++;
  return h->n >= 10;
}

/* After the last retry: name the sessions holding locks on tables, which is
 * where a migration's lock_timeout comes from. */
static void name_lock_holders(lm_sink *s) {
  const char *sql = lm_dialect_lock_holders_sql(s->d);
  if (!s->query || !sql) return;
  lock_holders h;
  lm_buf_init(&h.text);
  h.n = 0;
  lm_stmt st = {(char *)sql, NULL, 0};
  lm_error_saved *saved = lm_error_save();
  s->query(s, &st, holder_row, &h);
  lm_error_restore(saved);
  if (h.n) {
    char *msg = lm_xasprintf("%s; blocked by:%s", lm_error_last()->message, h.text.s);
    lm_error_set_message(msg);
    free(msg);
  }
  lm_buf_free(&h.text);
}

/* The journal of the item about to run: what an earlier run committed of it.
 * A half-applied step of this revision in the other direction, or another
 * step, must be finished (or stamped away) first. */
static int journal_start(runner *rn, const lm_plan_item *it, lm_journal *j) {
  const lm_revision *r = rn->p->graph.revs[it->rev];
  memset(j, 0, sizeof *j);
  j->sink = rn->sink;
  j->vt = rn->vt;
  j->r = r;
  j->direction = it->up ? "upgrade" : "downgrade";
  j->step = r->multistep ? r->step_names[it->step] : NULL;
  j->table_c = j->table_p = rn->journal_table;
  if (!rn->journal) return 0;
  for (int i = 0; i < rn->journal->n; i++) {
    const journal_row *row = &rn->journal->v[i];
    if (strcmp(row->rev, r->id) != 0) continue;
    int same_step =
        (!row->step && !j->step) || (row->step && j->step && !strcmp(row->step, j->step));
    if (!row->direction || strcmp(row->direction, j->direction) != 0 || !same_step)
      return lm_error_set(LM_ECHECK,
                          "%s %s%s%s%s is half applied: an earlier run stopped with part of it "
                          "committed (see the journal table beside the version table); run "
                          "'luamig %s' to finish it first, or repair the database by hand and "
                          "record the result with 'luamig stamp'",
                          row->direction ? row->direction : "?", r->id, row->step ? " [" : "",
                          row->step ? row->step : "", row->step ? "]" : "",
                          row->direction && !strcmp(row->direction, "downgrade") ? "downgrade"
                                                                                 : "upgrade");
    j->row_c = j->row_p = 1;
    j->done_c = j->done_p = row->done;
    j->started = row->started;
    snprintf(j->expect, sizeof j->expect, "%s", row->fingerprint ? row->fingerprint : "");
    snprintf(j->fingerprint_c, sizeof j->fingerprint_c, "%s", j->expect);
    snprintf(j->where_c, sizeof j->where_c, "an earlier run");
    if (!rn->quiet && !rn->offline && row->done > 0)
      fprintf(rn->p->err,
              "luamig: resuming %s %s%s%s%s: its first %lld operation%s, committed by an "
              "earlier run, %s skipped\n",
              j->direction, r->id, j->step ? " [" : "", j->step ? j->step : "", j->step ? "]" : "",
              row->done, row->done == 1 ? "" : "s", row->done == 1 ? "is" : "are");
  }
  return 0;
}

static int run_once(runner *rn, const lm_plan_item *it, const char *what, long long *ms,
                    lm_journal *j) {
  lm_project *p = rn->p;
  lm_sink *s = rn->sink;
  const lm_revision *r = p->graph.revs[it->rev];
  lm_run run = {p, s, p->dialect, rn->offline, r, r->multistep ? r->step_names[it->step] : NULL,
                0, j};
  /* a new call of the step function: it skips what is committed */
  j->n = 0;
  j->h = 1469598103934665603ULL;
  j->autocommit = 0;
  j->resume_done = j->done_c;
  j->where[0] = 0;
  lm_stmts l = {0};
  int others = 0; /* another step is half applied: its journal row stays */
  long long t0 = lm_now_ms();
  int rc = s->begin(s);
  if (!rc && rn->create_vt) {
    lm_vt_create(rn->vt, &l);
    rc = lm_sink_stmts(s, &l);
    lm_stmts_free(&l);
  }
  if (!rc) rc = lm_lua_call_step(p->L, &run, r, it->step, it->up);
  *ms = lm_now_ms() - t0;
  if (!rc) {
    vt_write(rn->vt, r, it->step, it->up, rn->offline ? 0 : *ms, &l);
    /* the step is whole: its journal row goes with the version-table write,
     * and the journal table too unless another step is half applied */
    for (int i = 0; rn->journal && i < rn->journal->n; i++)
      if (rn->journal->v[i].rev[0] && strcmp(rn->journal->v[i].rev, r->id) != 0) others = 1;
    if (j->row_p && others) lm_vt_journal_delete(rn->vt, r->id, &l);
    if (j->row_p && !others) lm_vt_journal_drop(rn->vt, &l);
    rc = lm_sink_stmts(s, &l);
    lm_stmts_free(&l);
  }
  if (!rc && lm_interrupted) rc = lm_error_set(LM_EINTR, "interrupted");
  if (!rc) rc = s->commit(s);
  if (!rc) {
    if (j->row_p) j->table_p = others;
    lm_journal_committed(j);
    j->row_c = j->row_p = 0;
    j->done_c = j->done_p = 0;
  }
  if (rc) {
    s->rollback(s);
    lm_journal_rolled_back(j);
    if (j->done_c > 0) {
      /* part of the step is committed: say so, never "rolled back" */
      char *kept = lm_xasprintf(
          "its first %lld operation%s (up to %s) %s committed and stay%s done, the rest was not "
          "committed; run the same command again to resume after the committed part",
          j->done_c, j->done_c == 1 ? "" : "s", j->where_c[0] ? j->where_c : "?",
          j->done_c == 1 ? "was" : "were", j->done_c == 1 ? "s" : "");
      if (lm_interrupted)
        rc = lm_error_set(LM_EINTR, "interrupted: %s stopped half applied: %s", what, kept);
      else
        lm_error_prefix("%s failed half applied: %s", what, kept);
      free(kept);
    } else if (lm_interrupted) {
      rc = lm_error_set(
          LM_EINTR, "interrupted: %s was rolled back; run the same command again to resume", what);
    } else if (rn->replay) {
      lm_error_prefix("%s failed", what);
    } else if (rn->offline) {
      lm_error_prefix("rendering %s failed; --sql printed no script", what);
    } else {
      lm_error_prefix("%s failed and was rolled back", what);
    }
    lm_error_set_revision(r->id);
    if (!lm_error_last()->file) lm_error_set_location(r->path, 0);
  }
  return rc;
}

static int run_item(runner *rn, const lm_plan_item *it) {
  lm_project *p = rn->p;
  lm_sink *s = rn->sink;
  const lm_revision *r = p->graph.revs[it->rev];
  char *what = describe(r, it->step, it->up);
  long long ms = 0;
  int rc;
  if (rn->offline) {
    char *c = lm_xasprintf("Running %s", what);
    s->comment(s, c);
    free(c);
  }
  int retries = rn->offline || s->outer_tx ? 0 : p->config->lock_retries;
  lm_journal j;
  rc = journal_start(rn, it, &j);
  if (rc) {
    lm_error_set_revision(r->id);
    free(what);
    return rc;
  }
  for (int attempt = 0;; attempt++) {
    rc = run_once(rn, it, what, &ms, &j);
    if (!rc || attempt >= retries || !is_lock_timeout(p->dialect) || lm_interrupted) break;
    /* growing pauses: 1 s, 2 s, 4 s, … capped at 30 s */
    int pause = 1 << (attempt < 5 ? attempt : 5);
    if (pause > 30) pause = 30;
    if (!p->opts.quiet)
      fprintf(p->err, "luamig: %s hit lock_timeout; retry %d of %d in %d s\n", what, attempt + 1,
              retries, pause);
    for (int t = 0; t < pause * 10 && !lm_interrupted; t++)
      usleep(100000);
  }
  if (rc && is_lock_timeout(p->dialect)) name_lock_holders(s);
  rn->journal_table = j.table_c;
  if (!rc) {
    rn->create_vt = 0;
    rn->done++;
    for (int i = 0; rn->journal && i < rn->journal->n; i++)
      if (strcmp(rn->journal->v[i].rev, r->id) == 0) rn->journal->v[i].rev[0] = 0; /* done */
    if (!rn->offline && !rn->quiet) {
      fprintf(p->out, "Running %s (%lld ms)\n", what, ms);
      fflush(p->out);
    }
  }
  free(what);
  return rc;
}

static int run_plan(runner *rn, const lm_plan *plan, int dry_run) {
  lm_sink *s = rn->sink;
  int rc = 0;
  int one_tx = dry_run || !rn->p->config->transaction_per_migration;
  if (one_tx && plan->n > 0) {
    rc = s->begin(s);
    if (rc) return rc;
    s->outer_tx = 1;
  }
  /* A revision's compiled file is dropped after its last item in the plan,
   * so that memory does not grow with the chain (it is compiled again if
   * anything needs it later). */
  lm_graph *g = &rn->p->graph;
  int *last = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *last);
  for (int i = 0; i < plan->n; i++)
    last[plan->v[i].rev] = i;
  for (int i = 0; i < plan->n && !rc; i++) {
    rc = run_item(rn, &plan->v[i]);
    if (!rc && last[plan->v[i].rev] == i) lm_lua_revision_unload(rn->p->L, g->revs[plan->v[i].rev]);
  }
  free(last);
  if (one_tx && plan->n > 0) {
    s->outer_tx = 0;
    if (rc || dry_run)
      s->rollback(s);
    else
      rc = s->commit(s);
  }
  return rc;
}

/* Marks the ancestors of the heads a head or heads target names (the
 * chain's, or its label's branch's); their number into *nheads. */
static int mark_target_heads(const lm_graph *g, const lm_target *t, char *mark, int *nheads) {
  int *heads = lm_xmalloc((size_t)(g->n ? g->n : 1) * sizeof *heads);
  int rc = lm_plan_target_heads(g, t, heads, nheads);
  for (int k = 0; k < *nheads && !rc; k++)
    lm_graph_mark_ancestors(g, heads[k], mark);
  free(heads);
  return rc;
}

/* Marks every step of target's ancestors as applied (the state after FROM). */
static int state_at(lm_project *p, const char *spec, int *state) {
  memset(state, 0, sizeof *state * (size_t)(p->graph.n ? p->graph.n : 1));
  if (!*spec || strcmp(spec, "base") == 0) return 0;
  lm_target t;
  int rc = lm_target_parse(&t, spec);
  if (rc) return rc;
  char *mark = lm_xcalloc((size_t)(p->graph.n ? p->graph.n : 1), 1);
  if (lm_target_names_one(&t)) {
    int idx;
    rc = lm_plan_resolve_target(&p->graph, NULL, &t, &idx);
    if (!rc && idx >= 0) lm_graph_mark_ancestors(&p->graph, idx, mark);
  } else if (t.kind == LM_T_HEAD || t.kind == LM_T_HEADS) {
    int nh;
    rc = mark_target_heads(&p->graph, &t, mark, &nh);
  } else {
    rc = lm_error_set(LM_EUSAGE, "the FROM of FROM:TO must be a revision, head or base, not '%s'",
                      spec);
  }
  for (int i = 0; i < p->graph.n; i++)
    if (mark[i]) state[i] = p->graph.revs[i]->nsteps;
  free(mark);
  return rc;
}

/* --sql on SQLite: a move-and-copy reads the table it rewrites, so the script
 * also runs, as it is printed, on an in-memory database (the print sink's
 * shadow). For FROM:TO that database must first hold the schema at FROM:
 * every step applied in state runs into it through the replay sink, as it
 * would online on an empty database, printing nothing. PostgreSQL needs no
 * shadow.
 *
 * A revision up to FROM that reads data (op.query, op.rows, op.scalar) has
 * a schema effect no replay can know. That matters only to a move-and-copy
 * in the printed range, as it would to none on PostgreSQL: the shadow is
 * then dropped, *lost says why, and the print sink fails with it only if a
 * move-and-copy asks for the table. */
static int offline_shadow(lm_project *p, const int *state, lm_conn **shadow, lm_stmt_log *pending,
                          char **lost) {
  *shadow = NULL;
  *lost = NULL;
  /* only a dialect that alters columns by move-and-copy reads tables */
  int rc = lm_dialect_shadow_open(p->dialect, shadow);
  if (rc || !*shadow) return rc;
  if (lm_stmt_log_open(pending) != 0)
    return lm_error_set(LM_EIO, "cannot set the script's statements aside: %s", strerror(errno));
  lm_plan plan = {0};
  for (int k = 0; k < p->graph.n; k++) {
    int i = p->graph.topo[k];
    for (int step = 0; step < state[i]; step++) {
      if (plan.n == plan.cap) {
        plan.cap = plan.cap ? 2 * plan.cap : 16;
        plan.v = lm_xrealloc(plan.v, sizeof *plan.v * (size_t)plan.cap);
      }
      plan.v[plan.n++] = (lm_plan_item){i, step, 1};
    }
  }
  if (plan.n > 0) {
    lm_sink replay;
    lm_vt vt;
    lm_sink_replay(&replay, p->dialect, *shadow, pending);
    vt_init(p, p->dialect, &vt);
    runner rn = {p, &replay, &vt, 1, 1, 1, NULL, 0, 0, 1};
    rc = run_plan(&rn, &plan, 0);
    if (rc == LM_EOFFLINE) {
      const lm_error *e = lm_error_last();
      if (e->file)
        *lost = lm_xasprintf("%s (at %s:%d)", e->message, e->file, e->line);
      else
        *lost = lm_xstrdup(e->message);
      lm_error_clear();
      lm_dialect_close(p->dialect, *shadow);
      *shadow = NULL;
      rc = 0;
    }
    if (rc) lm_error_prefix("replaying the revisions up to FROM into the in-memory schema");
  }
  lm_plan_free(&plan);
  return rc;
}

/* "a, b" of the applied heads, or "base". */
static char *applied_text(const lm_graph *g, const int *state, int *all_heads) {
  int *heads = lm_xmalloc((size_t)(g->n ? g->n : 1) * sizeof *heads);
  int nh = lm_plan_applied_heads(g, state, heads);
  lm_buf b;
  lm_buf_init(&b);
  *all_heads = nh > 0;
  for (int k = 0; k < nh; k++) {
    const lm_revision *r = g->revs[heads[k]];
    lm_buf_printf(&b, "%s%s", k ? ", " : "", r->id);
    if (r->nchildren || state[heads[k]] < lm_revision_steps(r)) *all_heads = 0;
  }
  if (!nh) lm_buf_puts(&b, "base");
  free(heads);
  return lm_buf_steal(&b);
}

/* ---- what a run did, for reports over many databases ----------------------- */

/* The applied heads of state, one a line, as `luamig current` shows them. */
static char *heads_text(const lm_project *p, const int *state, int mark_head) {
  int n = p->graph.n ? p->graph.n : 1;
  int *heads = lm_xcalloc((size_t)n, sizeof *heads);
  int nh = lm_plan_applied_heads(&p->graph, state, heads);
  lm_buf b;
  lm_buf_init(&b);
  for (int k = 0; k < nh; k++) {
    const lm_revision *r = p->graph.revs[heads[k]];
    int st = state[heads[k]];
    if (k) lm_buf_putc(&b, '\n');
    lm_buf_puts(&b, r->id);
    if (st < r->nsteps)
      lm_buf_printf(&b, " (%s, next: %s)", r->step_names[st - 1], r->step_names[st]);
    else if (mark_head && r->nchildren == 0)
      lm_buf_puts(&b, " (head)");
  }
  free(heads);
  return lm_buf_steal(&b);
}

/* An empty plan: either the database is already at the target (one line on
 * stderr, unless -q; stdout stays empty for scripts) or the target lies the
 * other way, which is a usage error naming the command that goes there. */
static int nothing_to_do(lm_project *p, int up, const lm_target *t, const char *spec,
                         const int *state, const char *stop_before, int offline) {
  const lm_graph *g = &p->graph;
  int rc = 0, idx = -2, all_heads;
  char *at = applied_text(g, state, &all_heads);
  const char *where = offline ? "the script's starting point" : "the current revision";
  if (t->kind == LM_T_BASE && !t->label[0])
    idx = -1;
  else if (lm_target_names_one(t))
    if (lm_plan_resolve(g, state, spec, &idx)) idx = -2, lm_error_clear();
  const char *name = idx >= 0 ? g->revs[idx]->id : "base";
  if (up && idx != -2 && strcmp(at, "base") != 0) {
    int below = idx == -1;
    if (idx >= 0) {
      int *heads = lm_xmalloc((size_t)(g->n ? g->n : 1) * sizeof *heads);
      int nh = lm_plan_applied_heads(g, state, heads), is_head = 0;
      for (int k = 0; k < nh; k++)
        is_head |= heads[k] == idx;
      below = !is_head && state[idx] > 0;
      free(heads);
    }
    if (below)
      rc = lm_error_set(LM_EUSAGE,
                        "upgrade only goes up, and %s is below %s %s: to go down to it, run "
                        "'luamig downgrade %s'",
                        name, where, at, name);
  }
  if (!up && idx >= 0 && state[idx] == 0)
    rc = lm_error_set(LM_EUSAGE,
                      "downgrade only goes down, and %s is not applied (%s is %s): to go up to "
                      "it, run 'luamig upgrade %s'",
                      name, where, at, name);
  if (!rc && !p->opts.quiet) {
    int pending = 0;
    for (int i = 0; i < g->n; i++)
      pending += state[i] < lm_revision_steps(g->revs[i]);
    if (up && stop_before && pending)
      fprintf(p->err, "Nothing to run: the next step is held back by --stop-before %s (at %s).\n",
              stop_before, at);
    else if (up && (t->kind == LM_T_HEAD || t->kind == LM_T_HEADS) && all_heads)
      fprintf(p->err, "Already at head %s.\n", at);
    else
      fprintf(p->err, "Already at %s.\n", at);
  }
  free(at);
  return rc;
}

static int refuse_alembic_db(session *s);

/* Fills p->report from the state before a run and the plan items done. */
static void report_run(lm_project *p, const int *state, const lm_plan *plan, int done,
                       int dry_run) {
  lm_run_report *rep = p->report;
  if (!rep) return;
  int n = p->graph.n ? p->graph.n : 1;
  free(rep->before);
  free(rep->after);
  rep->before = heads_text(p, state, 0);
  int *after = lm_xcalloc((size_t)n, sizeof *after);
  char *seen = lm_xcalloc((size_t)n, 1);
  memcpy(after, state, sizeof *after * (size_t)n);
  rep->nrevs = 0;
  for (int i = 0; plan && i < done && i < plan->n; i++) {
    const lm_plan_item *it = &plan->v[i];
    after[it->rev] = it->up ? it->step + 1 : it->step;
    if (!seen[it->rev]) seen[it->rev] = 1, rep->nrevs++;
  }
  rep->dry_run = dry_run;
  rep->after = heads_text(p, dry_run ? state : after, 0);
  free(after);
  free(seen);
}

static int migrate(lm_project *p, int up, const char *target, const lm_run_options *o) {
  const lm_run_options none = {0};
  if (!o) o = &none;
  lm_error_clear();
  if (!p->dialect)
    return lm_error_set(LM_ECONFIG,
                        "no database URL%s: set url in luamig.lua, set DATABASE_URL, "
                        "or pass --url%s",
                        o->sql ? " or dialect" : "", o->sql ? " or --dialect" : "");
  lm_plan plan = {0};
  lm_target t;
  int rc;
  int n = p->graph.n ? p->graph.n : 1;
  if (o->sql) {
    char from[128], to[128];
    rc = lm_range_split(target, from, sizeof from, to, sizeof to);
    if (rc) return rc;
    if (!up && !*from)
      return lm_error_set(LM_EUSAGE, "downgrade --sql needs a range FROM:TO, such as head:base");
    if (!*to)
      return lm_error_set(LM_EUSAGE, "%s --sql needs the TO of FROM:TO, such as %s:%s",
                          up ? "upgrade" : "downgrade", from, up ? "head" : "base");
    rc = lm_target_parse(&t, to);
    if (rc) return rc;
    int *state = lm_xcalloc((size_t)n, sizeof *state);
    rc = state_at(p, from, state);
    if (!rc)
      rc = up ? lm_plan_upgrade(&p->graph, state, &t, o->stop_before, &plan)
              : lm_plan_downgrade(&p->graph, state, &t, &plan);
    if (!rc && plan.n == 0) rc = nothing_to_do(p, up, &t, to, state, o->stop_before, 1);
    if (!rc && up) rc = lm_lint_refuse_marked(p, &plan);
    if (!rc) {
      /* The script is rendered into memory and printed only once it is
       * whole: a failure half way prints nothing a DBA could run by mistake. */
      lm_spool script;
      FILE *mem = lm_spool_open(&script);
      if (!mem) {
        rc = lm_error_set(LM_EIO, "cannot hold the script until it is whole: %s", strerror(errno));
        lm_spool_free(&script);
        free(state);
        lm_plan_free(&plan);
        return rc;
      }
      lm_sink sink;
      lm_vt vt;
      lm_sink_print(&sink, p->dialect, mem);
      vt_init(p, p->dialect, &vt);
      lm_lua_set_context(p->L, p->dialect->name, 1, p->opts.x, p->opts.nx);
      lm_conn *shadow = NULL;
      lm_stmt_log pending = {0}; /* opened with the shadow, when there is one */
      char *lost = NULL;
      rc = offline_shadow(p, state, &shadow, &pending, &lost);
      sink.shadow = shadow;
      sink.shadow_pending = shadow ? &pending : NULL;
      sink.shadow_lost = lost;
      int fresh = up && (!*from || strcmp(from, "base") == 0);
      fprintf(mem, "-- luamig %s script for %s, generated by luamig %s\n\n",
              up ? "upgrade" : "downgrade", p->dialect->name, LUAMIG_VERSION);
      const char *preamble = lm_dialect_shadow_preamble(p->dialect);
      if ((shadow || lost) && preamble) fputs(preamble, mem);
      if (fresh && !rc) {
        lm_stmts l = {0};
        lm_vt_create(&vt, &l);
        lm_sink_stmts(&sink, &l);
        lm_stmts_free(&l);
      }
      runner rn = {p, &sink, &vt, 1, 0, 1, NULL, 0, 0, 0};
      if (!rc) rc = run_plan(&rn, &plan, 0);
      fclose(mem);
      if (!rc && lm_spool_copy(&script, p->out) != 0)
        rc = lm_error_set(LM_EIO, "writing the script failed");
      fflush(p->out);
      lm_spool_free(&script);
      if (shadow) lm_dialect_close(p->dialect, shadow);
      lm_stmt_log_close(&pending);
      free(lost);
    }
    free(state);
    lm_plan_free(&plan);
    return rc;
  }
  rc = lm_target_parse(&t, target);
  if (rc) return rc;
  /* a target naming no revision is a usage error: say so before touching
   * (or, for SQLite, creating) the database ('current' needs the database) */
  if (lm_target_names_one(&t) && strcmp(t.rev, "current") != 0) {
    int idx;
    rc = lm_plan_resolve_target(&p->graph, NULL, &t, &idx);
    if (rc) return rc;
  }
  session s;
  rc = session_open(&s, p, 0);
  if (!rc) rc = take_lock(&s);
  if (!rc) rc = read_state(&s, !o->ignore_checksums);
  if (!rc && up && !s.vt_exists) rc = refuse_alembic_db(&s);
  if (!rc)
    rc = up ? lm_plan_upgrade(&p->graph, s.state, &t, o->stop_before, &plan)
            : lm_plan_downgrade(&p->graph, s.state, &t, &plan);
  if (!rc && plan.n == 0) rc = nothing_to_do(p, up, &t, target, s.state, o->stop_before, 0);
  if (!rc && up) rc = lm_lint_refuse_marked(p, &plan);
  if (!rc && plan.n > 0) {
    lm_lua_set_context(p->L, p->dialect->name, 0, p->opts.x, p->opts.nx);
    runner rn = {.p = p,
                 .sink = &s.sink,
                 .vt = &s.vt,
                 .create_vt = !s.vt_exists,
                 .quiet = p->opts.quiet,
                 .journal = &s.journal,
                 .journal_table = s.journal.table};
    rc = run_plan(&rn, &plan, o->dry_run);
    if (!rc && o->dry_run && !p->opts.quiet)
      fprintf(p->err, "luamig: dry run: every change was rolled back\n");
    /* one transaction for the whole run: a failure took everything back */
    report_run(p, s.state, &plan, rc && !p->config->transaction_per_migration ? 0 : rn.done,
               o->dry_run);
  } else if (!rc) {
    report_run(p, s.state, NULL, 0, 0);
  }
  lm_plan_free(&plan);
  session_close(&s);
  return rc;
}

int lm_upgrade(lm_project *p, const char *target, const lm_run_options *o) {
  return migrate(p, 1, target, o);
}

int lm_downgrade(lm_project *p, const char *target, const lm_run_options *o) {
  return migrate(p, 0, target, o);
}

/* As Alembic's stamp: what the target's lineage holds moves to the target,
 * applied revisions of other branches stay. mark: STAMP_AT for the
 * revisions the target records (its ancestors); set here to STAMP_KEEP for
 * the applied revisions that are neither those nor above the target (they
 * keep their rows as they are). base records nothing and keeps nothing. */
enum { STAMP_AT = 1, STAMP_KEEP = 2 };

static void stamp_keep(const lm_graph *g, const int *state, char *mark) {
  int n = g->n, any = 0;
  for (int i = 0; i < n; i++)
    any |= mark[i] == STAMP_AT;
  if (!any) return; /* base */
  char *above = lm_xcalloc((size_t)(n ? n : 1), 1);
  for (int i = 0; i < n; i++) {
    if (mark[i] != STAMP_AT) continue;
    /* the target itself: a marked revision with nothing marked above it */
    char *desc = lm_xcalloc((size_t)n, 1);
    lm_graph_mark_descendants(g, i, desc);
    int top = 1;
    for (int k = 0; k < n && top; k++)
      top = k == i || !desc[k] || mark[k] != STAMP_AT;
    for (int k = 0; top && k < n; k++)
      above[k] |= desc[k];
    free(desc);
  }
  for (int i = 0; i < n; i++)
    if (!mark[i] && !above[i] && state[i] > 0) mark[i] = STAMP_KEEP;
  free(above);
}

/* Writes the stamp: the rows of applied revisions neither marked nor kept
 * go, the STAMP_AT ones are recorded anew (every step applied, the files'
 * checksums), the STAMP_KEEP ones stay as they are. */
static int stamp_marked(lm_project *p, const char *mark, session *s, int purge) {
  lm_stmts l = {0};
  int rc = s->sink.begin(&s->sink), partial_kept = 0;
  if (!s->vt_exists) lm_vt_create(&s->vt, &l);
  if (purge) lm_vt_delete_all(&s->vt, &l);
  for (int i = 0; i < p->graph.n && !purge; i++) {
    if (s->state[i] > 0 && mark[i] != STAMP_KEEP) lm_vt_delete(&s->vt, p->graph.revs[i]->id, &l);
    partial_kept |= mark[i] == STAMP_KEEP && s->state[i] < lm_revision_steps(p->graph.revs[i]);
  }
  /* the database is declared to be at the target: no step is half applied
   * (unless one on another branch, which stays as it is) */
  if (s->journal.table && !partial_kept) lm_vt_journal_drop(&s->vt, &l);
  for (int k = 0; k < p->graph.n; k++) {
    int i = p->graph.topo[k];
    if (mark[i] == STAMP_AT)
      lm_vt_insert(&s->vt, p->graph.revs[i]->id, NULL, lm_revision_checksum(p->graph.revs[i]), 0,
                   &l);
  }
  if (!rc) rc = lm_sink_stmts(&s->sink, &l);
  if (!rc) rc = s->sink.commit(&s->sink);
  if (rc) s->sink.rollback(&s->sink);
  lm_stmts_free(&l);
  return rc;
}

/* For a fleet's line: the heads before a stamp (s's state) and after it
 * (the marked revisions, every step applied). */
static void report_stamp(lm_project *p, session *s, const char *mark) {
  if (!p->report) return;
  report_run(p, s->state, NULL, 0, 0);
  for (int i = 0; i < p->graph.n; i++)
    s->state[i] = mark[i] == STAMP_AT     ? lm_revision_steps(p->graph.revs[i])
                  : mark[i] == STAMP_KEEP ? s->state[i]
                                          : 0;
  free(p->report->after);
  p->report->after = heads_text(p, s->state, 0);
}

/* The revisions a stamp to t records (marked in mark), or a usage error:
 * none of it depends on the database. */
static int stamp_mark(lm_project *p, const lm_target *t, char *mark) {
  int rc = 0;
  if (t->kind == LM_T_REV) {
    int idx;
    rc = lm_graph_find(&p->graph, t->rev, &idx);
    if (!rc) lm_graph_mark_ancestors(&p->graph, idx, mark);
  } else if (lm_target_names_one(t)) {
    /* head-1, REV+N, LABEL@head (the head of the branch, not the revision
     * that carries the label), LABEL@head-N; base when it counts below the
     * roots */
    int idx;
    rc = lm_plan_resolve_target(&p->graph, NULL, t, &idx);
    if (!rc && idx >= 0) lm_graph_mark_ancestors(&p->graph, idx, mark);
  } else if (t->kind == LM_T_HEAD || t->kind == LM_T_HEADS) {
    int nh; /* the chain's heads, or those of the label's branch */
    rc = mark_target_heads(&p->graph, t, mark, &nh);
    if (!rc && t->kind == LM_T_HEAD && nh > 1)
      rc = lm_error_set(LM_EUSAGE, "multiple heads: stamp one of them, or 'heads'");
  } else if (t->kind != LM_T_BASE || t->label[0]) {
    rc = lm_error_set(LM_EUSAGE, "stamp target must be a revision, REV+N or REV-N, head, heads, "
                                 "LABEL@head, LABEL@heads or base");
  }
  return rc;
}

int lm_check_target(lm_project *p, const char *command, const char *target,
                    const char *stop_before) {
  lm_error_clear();
  lm_target t;
  int rc = lm_target_parse(&t, target);
  if (rc) return rc;
  int n = p->graph.n ? p->graph.n : 1;
  if (strcmp(command, "stamp") == 0) {
    char *mark = lm_xcalloc((size_t)n, 1);
    rc = stamp_mark(p, &t, mark);
    free(mark);
    return rc;
  }
  int up = strcmp(command, "upgrade") == 0;
  if (!up && strcmp(command, "downgrade") != 0) return 0;
  /* Planned from an empty database (upgrade) or a fully applied one
   * (downgrade): what fails there for a reason of its own naming fails on
   * every database; what depends on the database's state is left to it. */
  int *state = lm_xcalloc((size_t)n, sizeof *state);
  for (int i = 0; !up && i < p->graph.n; i++)
    state[i] = lm_revision_steps(p->graph.revs[i]);
  lm_plan plan;
  rc = up ? lm_plan_upgrade(&p->graph, state, &t, stop_before, &plan)
          : lm_plan_downgrade(&p->graph, state, &t, &plan);
  lm_plan_free(&plan);
  free(state);
  if (rc && rc != LM_EUSAGE) {
    lm_error_clear();
    rc = 0;
  }
  return rc;
}

static int stamp(lm_project *p, const char *target, int purge) {
  lm_error_clear();
  lm_target t;
  int rc = lm_target_parse(&t, target);
  if (rc) return rc;
  int n = p->graph.n ? p->graph.n : 1;
  char *mark = lm_xcalloc((size_t)n, 1);
  rc = stamp_mark(p, &t, mark);
  session s;
  if (!rc)
    rc = session_open(&s, p, 0);
  else
    memset(&s, 0, sizeof s);
  if (!rc) rc = take_lock(&s);
  /* --purge: whatever the table holds goes, even revisions no file defines */
  if (!rc) rc = read_state_mode(&s, 0, purge);
  if (!rc && !purge) stamp_keep(&p->graph, s.state, mark);
  if (!rc) rc = stamp_marked(p, mark, &s, purge);
  if (!rc) report_stamp(p, &s, mark);
  session_close(&s);
  free(mark);
  return rc;
}

int lm_stamp(lm_project *p, const char *target) { return stamp(p, target, 0); }
int lm_stamp_purge(lm_project *p, const char *target) { return stamp(p, target, 1); }

int lm_stamp_checksums(lm_project *p, const char *spec, char *id, size_t idsz) {
  lm_error_clear();
  session s;
  int idx = -1;
  int rc = session_open(&s, p, 1);
  if (!rc) rc = take_lock(&s);
  if (!rc) rc = read_state(&s, 0);
  if (!rc) rc = lm_plan_resolve(&p->graph, s.state, spec, &idx);
  if (!rc && (idx < 0 || s.state[idx] == 0))
    rc = lm_error_set(LM_EUSAGE,
                      "stamp --checksums-only: %s is not applied; it re-records the checksums of "
                      "applied revisions only",
                      idx < 0 ? spec : p->graph.revs[idx]->id);
  if (!rc) {
    const lm_revision *r = p->graph.revs[idx];
    lm_stmts l = {0};
    lm_vt_set_checksum(&s.vt, r->id, lm_revision_checksum(r), &l);
    rc = s.sink.begin(&s.sink);
    if (!rc) rc = lm_sink_stmts(&s.sink, &l);
    if (!rc) rc = s.sink.commit(&s.sink);
    if (rc) s.sink.rollback(&s.sink);
    lm_stmts_free(&l);
    snprintf(id, idsz, "%s", r->id);
  }
  session_close(&s);
  return rc;
}

/* ---- a database Alembic migrated (SPEC §13) ------------------------------------------ */

typedef struct alembic_rows {
  char **ids;
  int n;
} alembic_rows;

static int alembic_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  alembic_rows *a = ud;
  if (n < 1 || v[0].t != LM_V_TEXT) return 0;
  a->ids = lm_xrealloc(a->ids, (size_t)(a->n + 1) * sizeof *a->ids);
  a->ids[a->n++] = lm_xstrndup(v[0].s, v[0].len);
  return 0;
}

static void alembic_rows_free(alembic_rows *a) {
  for (int i = 0; i < a->n; i++)
    free(a->ids[i]);
  free(a->ids);
}

/* Whether the database has Alembic's version table, and its rows. */
static int read_alembic(session *s, int *exists, alembic_rows *rows) {
  *exists = 0;
  lm_value name = {.t = LM_V_TEXT, .s = (char *)"alembic_version", .len = 15};
  lm_stmt q = {(char *)lm_dialect_table_exists_sql(s->p->dialect), &name, 1};
  int rc = s->sink.query(&s->sink, &q, exists_row, exists);
  if (rc || !*exists) return rc;
  lm_stmt sel = {"SELECT version_num FROM alembic_version ORDER BY version_num", NULL, 0};
  return s->sink.query(&s->sink, &sel, alembic_row, rows);
}

static void join_ids(lm_buf *b, const alembic_rows *a) {
  for (int i = 0; i < a->n; i++)
    lm_buf_printf(b, "%s%s", i ? ", " : "", a->ids[i]);
}

int lm_stamp_from_alembic(lm_project *p, char **stamped) {
  lm_error_clear();
  *stamped = NULL;
  session s;
  int rc = session_open(&s, p, 0);
  if (!rc) rc = take_lock(&s);
  if (!rc) rc = read_state(&s, 0);
  int exists = 0;
  alembic_rows rows = {0};
  if (!rc) rc = read_alembic(&s, &exists, &rows);
  if (!rc && !exists)
    rc = lm_error_set(LM_ECONFIG, "%s has no alembic_version table: Alembic never migrated it",
                      p->url->masked);
  int n = p->graph.n ? p->graph.n : 1;
  char *mark = lm_xcalloc((size_t)n, 1);
  for (int i = 0; !rc && i < rows.n; i++) {
    int idx = lm_graph_index(&p->graph, rows.ids[i]);
    if (idx < 0) {
      rc = lm_error_set(LM_ECONFIG,
                        "alembic_version records revision '%s', which no revision file defines: "
                        "import the Alembic versions folder first (luamig import alembic DIR)",
                        rows.ids[i]);
      break;
    }
    lm_graph_mark_ancestors(&p->graph, idx, mark);
  }
  /* Adopting a database is done once. After luamig has migrated it further,
   * alembic_version (which luamig leaves alone) is behind: stamping from it
   * again would take applied revisions off the version table, so a version
   * table at or past alembic_version's revisions is left as it is, and one
   * on another branch is refused. */
  int behind = 0, ahead = 0;
  for (int i = 0; !rc && i < p->graph.n; i++) {
    if (s.state[i] > 0 && !mark[i]) ahead = 1;
    if (mark[i] && s.state[i] <= 0) behind = 1;
  }
  if (!rc && ahead) {
    char *now = heads_text(p, s.state, 0);
    for (char *q = now; q && *q; q++)
      if (*q == '\n') *q = ',';
    if (behind)
      rc = lm_error_set(LM_ECONFIG,
                        "luamig's version table records %s, which is not on the way to what "
                        "alembic_version says; set it by hand with 'luamig stamp REV'",
                        now);
    free(now);
    if (!rc) {
      if (p->report) report_run(p, s.state, NULL, 0, 0);
      free(mark);
      alembic_rows_free(&rows);
      session_close(&s);
      return 0; /* *stamped stays NULL: nothing to do */
    }
  }
  if (!rc) rc = stamp_marked(p, mark, &s, 0);
  if (!rc) report_stamp(p, &s, mark);
  if (!rc) {
    lm_buf b;
    lm_buf_init(&b);
    if (rows.n)
      join_ids(&b, &rows);
    else
      lm_buf_puts(&b, "base");
    *stamped = lm_buf_steal(&b);
  }
  free(mark);
  alembic_rows_free(&rows);
  session_close(&s);
  return rc;
}

/* upgrade on a database that Alembic migrated and luamig never did: stop
 * before anything runs twice. */
static int refuse_alembic_db(session *s) {
  int exists = 0;
  alembic_rows rows = {0};
  int rc = read_alembic(s, &exists, &rows);
  if (!rc && exists) {
    lm_buf b;
    lm_buf_init(&b);
    if (rows.n)
      join_ids(&b, &rows);
    else
      lm_buf_puts(&b, "base");
    rc = lm_error_set(LM_ECONFIG,
                      "this database was migrated by Alembic (alembic_version is at %s); run "
                      "'luamig stamp --from-alembic' first",
                      b.s);
    lm_buf_free(&b);
  }
  alembic_rows_free(&rows);
  return rc;
}

int lm_current(lm_project *p, int json) {
  lm_error_clear();
  session s;
  int rc = session_open(&s, p, 1);
  if (!rc) rc = read_state(&s, 0);
  if (!rc && p->report) {
    report_run(p, s.state, NULL, 0, 0);
    free(p->report->after);
    p->report->after = heads_text(p, s.state, 1);
  }
  if (!rc) {
    int n = p->graph.n ? p->graph.n : 1;
    int *heads = lm_xcalloc((size_t)n, sizeof *heads);
    int nh = lm_plan_applied_heads(&p->graph, s.state, heads);
    if (p->opts.verbose && !json) fprintf(p->out, "Current revision(s) for %s:\n", p->url->masked);
    lm_revfmt *f = json ? NULL : lm_revfmt_new(&p->graph);
    if (json) fputs("[", p->out);
    for (int k = 0; k < nh; k++) {
      const lm_revision *r = p->graph.revs[heads[k]];
      int st = s.state[heads[k]];
      int is_head = r->nchildren == 0;
      const char *step = st < r->nsteps ? r->step_names[st - 1] : NULL;
      const char *next = st < r->nsteps ? r->step_names[st] : NULL;
      if (json) {
        fprintf(p->out, "%s{\"revision\": \"%s\", \"head\": %s, \"step\": ", k ? ", " : "", r->id,
                is_head ? "true" : "false");
        if (step) {
          lm_json_str(p->out, step);
          fputs(", \"next\": ", p->out);
          lm_json_str(p->out, next);
          fputs("}", p->out);
        } else {
          fputs("null}", p->out);
        }
        continue;
      }
      /* as `alembic current` (-v: each revision's full entry); a partly
       * applied revision shows its step instead of the marks */
      if (p->opts.verbose) {
        char *applied = step ? lm_xasprintf("%s (next: %s)", step, next) : NULL;
        lm_revfmt_entry(f, heads[k], 0, applied, p->out);
        free(applied);
      } else if (step) {
        fprintf(p->out, "%s (%s, next: %s)\n", r->id, step, next);
      } else {
        /* `REV (head)` for a head of the chain, as SPEC §7 words it (no
         * branch or merge marks: a deploy script reads this line) */
        fprintf(p->out, "%s%s\n", r->id, r->nchildren == 0 ? " (head)" : "");
      }
    }
    if (json) fputs("]\n", p->out);
    lm_revfmt_free(f);
    free(heads);
  }
  session_close(&s);
  return rc;
}

/* The applied state of p's database; readonly: a SQLite file that does not
 * exist is an error instead of being created. */
static int read_applied(lm_project *p, int readonly, int **state) {
  lm_error_clear();
  *state = NULL;
  session s;
  int rc = session_open(&s, p, readonly);
  if (!rc) rc = read_state(&s, 0);
  if (!rc) {
    *state = s.state;
    s.state = NULL;
  }
  session_close(&s);
  return rc;
}

int lm_read_applied(lm_project *p, int **state) { return read_applied(p, 1, state); }

int lm_project_applied(lm_project *p, int *state) {
  memset(state, 0, sizeof *state * (size_t)(p->graph.n ? p->graph.n : 1));
  int *st = NULL;
  int rc = read_applied(p, 0, &st);
  if (!rc && st) memcpy(state, st, sizeof *state * (size_t)p->graph.n);
  free(st);
  return rc;
}
