/* A project: its configuration, its database URL and its loaded chain; and the
 * runner that moves a database along the chain, online or as a script. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lm.h"
#include "recreate.h"

int lm_project_open(lm_project **out, const lm_options *opts) {
  *out = NULL;
  lm_error_clear();
  lm_project *p = lm_xcalloc(1, sizeof *p);
  p->opts = *opts;
  p->out = opts->out ? opts->out : stdout;
  p->err = opts->err ? opts->err : stderr;
  lm_graph_init(&p->graph);
  int rc = 0;
  p->L = lm_lua_new();
  if (!p->L) {
    rc = LM_ENOMEM;
    goto done;
  }
  const char *cfg = opts->config_path ? opts->config_path : "luamig.lua";
  if (access(cfg, F_OK) == 0) {
    rc = lm_config_load(&p->config, p->L, cfg);
    if (rc) goto done;
  } else if (opts->config_path) {
    rc = lm_error_set(LM_ECONFIG, "config file %s not found", cfg);
    goto done;
  } else {
    rc = lm_error_set(LM_ECONFIG,
                      "no luamig.lua in the current folder: run 'luamig init' to make a project, "
                      "or pass -c FILE");
    goto done;
  }
  const char *url = opts->url;
  const char *env = getenv("DATABASE_URL");
  if (!url && env && *env) url = env;
  if (!url) url = p->config->url;
  if (url) {
    rc = lm_url_parse(&p->url, url);
    if (rc) goto done;
    p->dialect = lm_dialect_find(p->url->dialect);
  }
  if (opts->dialect) {
    const lm_dialect *d = lm_dialect_find(opts->dialect);
    if (!d) {
      rc = lm_error_set(LM_EUSAGE, "unknown dialect '%s': use sqlite or postgresql", opts->dialect);
      goto done;
    }
    p->dialect = d; /* --dialect is explicit: it wins over the URL's */
  }
  rc = lm_lua_load_revisions(p->L, p->config, &p->graph);
done:
  if (rc) {
    lm_project_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void lm_project_free(lm_project *p) {
  if (!p) return;
  lm_graph_free(&p->graph);
  lm_lua_close(p->L);
  lm_url_free(p->url);
  lm_config_free(p->config);
  free(p);
}

/* ---- a connected session ------------------------------------------------------ */

typedef struct session {
  lm_project *p;
  lm_conn *conn;
  lm_sink sink;
  lm_vt vt;
  int lock_fd;
  int *state;
  int vt_exists;
} session;

static void vt_init(lm_project *p, const lm_dialect *d, lm_vt *vt) {
  vt->d = d;
  vt->schema = d->id == LM_POSTGRESQL ? p->config->version_table_schema : NULL;
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
  if (v[2].t == LM_V_TEXT && v[2].len == 64) memcpy(r->recorded_checksum, v[2].s, 64);
  if (sr->check && v[2].t == LM_V_TEXT && !lm_revision_checksum_matches(r, v[2].s, v[2].len)) {
    lm_buf_printf(&sr->changed, "\n  %s (%s)", r->path, r->id);
    sr->nchanged++;
  }
  return 0;
}

/* Reads the version table into s->state (steps applied per revision). */
static int read_state(session *s, int check_checksums) {
  lm_project *p = s->p;
  lm_stmts l = {0};
  int rc;
  s->vt_exists = 0;
  lm_vt_exists_query(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], exists_row, &s->vt_exists);
  lm_stmts_free(&l);
  if (rc || !s->vt_exists) return rc;
  state_reader sr = {p, s->state, {0}, 0, 0, check_checksums};
  lm_vt_select(&s->vt, &l);
  rc = s->sink.query(&s->sink, &l.v[0], state_row, &sr);
  lm_stmts_free(&l);
  if (!rc) rc = sr.rc;
  if (!rc && sr.nchanged && check_checksums)
    rc = lm_error_set(LM_ECHECK,
                      "%d applied revision file%s changed since %s applied:%s\n"
                      "restore the file%s, or pass --ignore-checksums, or re-record with "
                      "'luamig stamp'",
                      sr.nchanged, sr.nchanged > 1 ? "s" : "",
                      sr.nchanged > 1 ? "they were" : "it was", sr.changed.s,
                      sr.nchanged > 1 ? "s" : "");
  lm_buf_free(&sr.changed);
  return rc;
}

static unsigned long long fnv1a(const char *s) {
  unsigned long long h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* One luamig run per database at a time: PostgreSQL's session advisory lock
 * (held across autocommit_block too), flock() on the SQLite file. */
static int take_lock(session *s) {
  lm_project *p = s->p;
  const lm_dialect *d = p->dialect;
  if (d->id == LM_SQLITE) {
    if (strcmp(p->url->path, ":memory:") == 0) return 0;
    s->lock_fd = open(p->url->path, O_RDONLY | O_CLOEXEC);
    if (s->lock_fd < 0) return 0;
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
      if (!p->opts.quiet)
        fprintf(p->err, "luamig: waiting for another luamig run on %s\n", p->url->masked);
      flock(s->lock_fd, LOCK_EX);
    }
    return 0;
  }
  char key[64];
  lm_buf name;
  lm_buf_init(&name);
  lm_buf_printf(&name, "luamig:%s.%s", s->vt.schema ? s->vt.schema : "", s->vt.table);
  snprintf(key, sizeof key, "%lld", (long long)fnv1a(name.s));
  lm_buf_free(&name);
  lm_value v = {.t = LM_V_TEXT, .s = key, .len = strlen(key)};
  lm_stmt st = {"SELECT 1 WHERE pg_try_advisory_lock($1::bigint)", &v, 1};
  int got = 0;
  int rc = s->sink.query(&s->sink, &st, exists_row, &got);
  if (rc) return rc;
  if (!got) {
    if (!p->opts.quiet)
      fprintf(p->err, "luamig: waiting for another luamig run on %s\n", p->url->masked);
    lm_stmt wait = {"SELECT pg_advisory_lock($1::bigint)", &v, 1};
    rc = s->sink.exec(&s->sink, &wait);
    if (rc) return rc;
  }
  /* after the advisory lock, so that waiting for it is not cut short */
  if (p->config->lock_timeout && *p->config->lock_timeout) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "SET lock_timeout = ");
    lm_buf_literal(&b, p->config->lock_timeout, strlen(p->config->lock_timeout));
    lm_stmt set = {b.s, NULL, 0};
    rc = s->sink.exec(&s->sink, &set);
    lm_buf_free(&b);
    if (rc) lm_error_prefix("invalid lock_timeout in %s", p->config->path);
  }
  return rc;
}

static int session_open(session *s, lm_project *p) {
  memset(s, 0, sizeof *s);
  s->p = p;
  s->lock_fd = -1;
  if (!p->url)
    return lm_error_set(LM_ECONFIG, "no database URL: set url in luamig.lua, set DATABASE_URL, or "
                                    "pass --url");
  int rc = p->dialect->open(&s->conn, p->url);
  if (rc) return rc;
  lm_sink_online(&s->sink, p->dialect, s->conn);
  if (p->opts.verbose) s->sink.trace = p->err;
  vt_init(p, p->dialect, &s->vt);
  s->state = lm_xcalloc((size_t)(p->graph.n ? p->graph.n : 1), sizeof *s->state);
  return 0;
}

static void session_close(session *s) {
  if (s->lock_fd >= 0) close(s->lock_fd);
  if (s->conn) s->p->dialect->close(s->conn);
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
    lm_buf_printf(&b, " -> %s", r->id);
  } else {
    lm_buf_printf(&b, "%s -> ", r->id);
    parents_text(r, &b);
  }
  if (r->multistep) lm_buf_printf(&b, " [%s]", r->step_names[step]);
  if (r->message && *r->message) lm_buf_printf(&b, ", %s", r->message);
  return lm_buf_steal(&b);
}

/* A later step keeps the checksum its row records: under --ignore-checksums
 * the edited file's must not replace it. */
static const char *recorded_or_current(const lm_revision *r) {
  return r->recorded_checksum[0] ? r->recorded_checksum : lm_revision_checksum(r);
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
} runner;

/* A PostgreSQL lock_timeout (SQLSTATE 55P03) is worth retrying: the lock
 * holder is usually a short transaction that will finish. */
static int is_lock_timeout(void) {
  const lm_error *e = lm_error_last();
  return e->sqlstate && strcmp(e->sqlstate, "55P03") == 0;
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
  if (!s->query || s->d->id != LM_POSTGRESQL) return;
  lock_holders h;
  lm_buf_init(&h.text);
  h.n = 0;
  lm_stmt st = {"SELECT l.pid::bigint, l.mode, l.relation::regclass::text, "
                "coalesce(a.query, '') || ' (' || coalesce(a.state, '?') || ')' "
                "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.granted AND l.locktype = 'relation' AND l.pid <> pg_backend_pid() "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "ORDER BY l.pid",
                NULL, 0};
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

static int run_once(runner *rn, const lm_plan_item *it, const char *what, long long *ms) {
  lm_project *p = rn->p;
  lm_sink *s = rn->sink;
  const lm_revision *r = p->graph.revs[it->rev];
  lm_run run = {p, s, p->dialect, rn->offline, r, r->multistep ? r->step_names[it->step] : NULL, 0};
  lm_stmts l = {0};
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
    rc = lm_sink_stmts(s, &l);
    lm_stmts_free(&l);
  }
  if (!rc && lm_interrupted) rc = lm_error_set(LM_EINTR, "interrupted");
  if (!rc) rc = s->commit(s);
  if (rc) {
    s->rollback(s);
    if (lm_interrupted) {
      rc = lm_error_set(
          LM_EINTR, "interrupted: %s was rolled back; run the same command again to resume", what);
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
  for (int attempt = 0;; attempt++) {
    rc = run_once(rn, it, what, &ms);
    if (!rc || attempt >= retries || !is_lock_timeout() || lm_interrupted) break;
    /* growing pauses: 1 s, 2 s, 4 s, … capped at 30 s */
    int pause = 1 << (attempt < 5 ? attempt : 5);
    if (pause > 30) pause = 30;
    if (!p->opts.quiet)
      fprintf(p->err, "luamig: %s hit lock_timeout; retry %d of %d in %d s\n", what, attempt + 1,
              retries, pause);
    for (int t = 0; t < pause * 10 && !lm_interrupted; t++)
      usleep(100000);
  }
  if (rc && is_lock_timeout()) name_lock_holders(s);
  if (!rc) {
    rn->create_vt = 0;
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

/* Marks every step of target's ancestors as applied (the state after FROM). */
static int state_at(lm_project *p, const char *spec, int *state) {
  memset(state, 0, sizeof *state * (size_t)(p->graph.n ? p->graph.n : 1));
  if (!*spec || strcmp(spec, "base") == 0) return 0;
  lm_target t;
  int rc = lm_target_parse(&t, spec);
  if (rc) return rc;
  char *mark = lm_xcalloc((size_t)(p->graph.n ? p->graph.n : 1), 1);
  if (t.kind == LM_T_REV) {
    int idx;
    rc = lm_graph_find(&p->graph, t.rev, &idx);
    if (!rc) lm_graph_mark_ancestors(&p->graph, idx, mark);
  } else if (t.kind == LM_T_HEAD || t.kind == LM_T_HEADS) {
    memset(mark, 1, (size_t)p->graph.n);
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
 * every step applied in state runs into it through a print sink that prints
 * nothing. PostgreSQL needs no shadow. */
static int offline_shadow(lm_project *p, const int *state, lm_conn **shadow, lm_stmts *pending) {
  *shadow = NULL;
  if (p->dialect->id != LM_SQLITE) return 0;
  int rc = lm_recreate_shadow_open(shadow);
  if (rc) return rc;
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
    lm_sink quiet;
    lm_vt vt;
    lm_sink_print(&quiet, p->dialect, NULL);
    quiet.shadow = *shadow;
    quiet.shadow_pending = pending;
    vt_init(p, p->dialect, &vt);
    runner rn = {p, &quiet, &vt, 1, 1, 1};
    rc = run_plan(&rn, &plan, 0);
    if (rc) lm_error_prefix("replaying the revisions up to FROM into the in-memory schema");
  }
  lm_plan_free(&plan);
  return rc;
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
    rc = lm_target_parse(&t, to);
    if (rc) return rc;
    int *state = lm_xcalloc((size_t)n, sizeof *state);
    rc = state_at(p, from, state);
    if (!rc)
      rc = up ? lm_plan_upgrade(&p->graph, state, &t, o->stop_before, &plan)
              : lm_plan_downgrade(&p->graph, state, &t, &plan);
    if (!rc) {
      lm_sink sink;
      lm_vt vt;
      lm_sink_print(&sink, p->dialect, p->out);
      vt_init(p, p->dialect, &vt);
      lm_lua_set_context(p->L, p->dialect->name, 1, p->opts.x, p->opts.nx);
      lm_conn *shadow = NULL;
      lm_stmts pending = {0};
      rc = offline_shadow(p, state, &shadow, &pending);
      sink.shadow = shadow;
      sink.shadow_pending = &pending;
      int fresh = up && (!*from || strcmp(from, "base") == 0);
      fprintf(p->out, "-- luamig %s script for %s, generated by luamig %s\n\n",
              up ? "upgrade" : "downgrade", p->dialect->name, LUAMIG_VERSION);
      if (shadow)
        fputs("-- a move-and-copy drops tables that others reference: no cascades meanwhile\n"
              "PRAGMA foreign_keys = OFF;\n\n",
              p->out);
      if (fresh && !rc) {
        lm_stmts l = {0};
        lm_vt_create(&vt, &l);
        lm_sink_stmts(&sink, &l);
        lm_stmts_free(&l);
      }
      runner rn = {p, &sink, &vt, 1, 0, 1};
      if (!rc) rc = run_plan(&rn, &plan, 0);
      fflush(p->out);
      if (shadow) p->dialect->close(shadow);
      lm_stmts_free(&pending);
    }
    free(state);
    lm_plan_free(&plan);
    return rc;
  }
  rc = lm_target_parse(&t, target);
  if (rc) return rc;
  /* a target naming no revision is a usage error: say so before touching
   * (or, for SQLite, creating) the database */
  if ((t.kind == LM_T_REV || t.kind == LM_T_REV_REL || (t.kind == LM_T_HEAD && t.rev[0]))) {
    int idx;
    rc = lm_graph_find(&p->graph, t.rev, &idx);
    if (rc) return rc;
  }
  session s;
  rc = session_open(&s, p);
  if (!rc) rc = take_lock(&s);
  if (!rc) rc = read_state(&s, !o->ignore_checksums);
  if (!rc)
    rc = up ? lm_plan_upgrade(&p->graph, s.state, &t, o->stop_before, &plan)
            : lm_plan_downgrade(&p->graph, s.state, &t, &plan);
  if (!rc && plan.n > 0) {
    lm_lua_set_context(p->L, p->dialect->name, 0, p->opts.x, p->opts.nx);
    runner rn = {p, &s.sink, &s.vt, 0, !s.vt_exists, p->opts.quiet};
    rc = run_plan(&rn, &plan, o->dry_run);
    if (!rc && o->dry_run && !p->opts.quiet)
      fprintf(p->err, "luamig: dry run: every change was rolled back\n");
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

int lm_stamp(lm_project *p, const char *target) {
  lm_error_clear();
  lm_target t;
  int rc = lm_target_parse(&t, target);
  if (rc) return rc;
  int n = p->graph.n ? p->graph.n : 1;
  char *mark = lm_xcalloc((size_t)n, 1);
  if (t.kind == LM_T_REV || (t.kind == LM_T_HEAD && t.rev[0])) {
    int idx;
    rc = lm_graph_find(&p->graph, t.rev, &idx);
    if (!rc) lm_graph_mark_ancestors(&p->graph, idx, mark);
  } else if (t.kind == LM_T_HEAD || t.kind == LM_T_HEADS) {
    int *heads = lm_xcalloc((size_t)n, sizeof *heads);
    int nh = lm_graph_heads(&p->graph, heads);
    if (t.kind == LM_T_HEAD && nh > 1)
      rc = lm_error_set(LM_EUSAGE, "multiple heads: stamp one of them, or 'heads'");
    for (int i = 0; i < nh && !rc; i++)
      lm_graph_mark_ancestors(&p->graph, heads[i], mark);
    free(heads);
  } else if (t.kind != LM_T_BASE) {
    rc = lm_error_set(LM_EUSAGE, "stamp target must be a revision, head, heads or base");
  }
  session s;
  if (!rc)
    rc = session_open(&s, p);
  else
    memset(&s, 0, sizeof s), s.lock_fd = -1;
  if (!rc) rc = take_lock(&s);
  if (!rc) rc = read_state(&s, 0);
  if (!rc) {
    lm_stmts l = {0};
    rc = s.sink.begin(&s.sink);
    if (!s.vt_exists) lm_vt_create(&s.vt, &l);
    lm_vt_delete_all(&s.vt, &l);
    for (int k = 0; k < p->graph.n; k++) {
      int i = p->graph.topo[k];
      if (mark[i])
        lm_vt_insert(&s.vt, p->graph.revs[i]->id, NULL, lm_revision_checksum(p->graph.revs[i]), 0,
                     &l);
    }
    if (!rc) rc = lm_sink_stmts(&s.sink, &l);
    if (!rc) rc = s.sink.commit(&s.sink);
    if (rc) s.sink.rollback(&s.sink);
    lm_stmts_free(&l);
  }
  session_close(&s);
  free(mark);
  return rc;
}

int lm_current(lm_project *p, int json) {
  lm_error_clear();
  session s;
  int rc = session_open(&s, p);
  if (!rc) rc = read_state(&s, 0);
  if (!rc) {
    int n = p->graph.n ? p->graph.n : 1;
    int *heads = lm_xcalloc((size_t)n, sizeof *heads);
    int nh = lm_plan_applied_heads(&p->graph, s.state, heads);
    if (p->opts.verbose && !json) fprintf(p->out, "Current revision(s) for %s:\n", p->url->masked);
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
      fputs(r->id, p->out);
      if (step)
        fprintf(p->out, " (%s, next: %s)", step, next);
      else if (is_head)
        fputs(" (head)", p->out);
      fputc('\n', p->out);
    }
    if (json) fputs("]\n", p->out);
    free(heads);
  }
  session_close(&s);
  return rc;
}
