/* Many databases (SPEC §11): expanding `targets`, and running one command on
 * each target in a child process of its own. See fleet.h for the shape. */
#include "lm.h"
#include "luamig/fleet.h"

#include <errno.h>
#include <fnmatch.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NONE SIZE_MAX

/* ---- the list --------------------------------------------------------------- */

typedef struct name_set {
  size_t *slot; /* offset of the name in the arena + 1; 0 empty */
  size_t cap, n;
} name_set;

static unsigned long long hash_str(const char *s) {
  unsigned long long h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

typedef struct lister {
  lm_project *p;
  lm_fleet_list *all;
  name_set names;
  int entry; /* the entry being expanded */
  int rc;
  long row;
} lister;

static size_t arena_put(lm_buf *b, const char *s, size_t n) {
  size_t at = b->len;
  lm_buf_put(b, s, n);
  lm_buf_putc(b, 0);
  return at;
}

static const char *at(const lm_fleet_list *l, size_t off) {
  return off == NONE ? NULL : l->arena.s + off;
}

/* Inserts the name of target i; the offset of a name already there, or NONE. */
static size_t names_add(lister *ls, size_t off) {
  name_set *s = &ls->names;
  if (2 * (s->n + 1) > s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    size_t *slot = lm_xcalloc(cap, sizeof *slot);
    for (size_t i = 0; i < s->cap; i++) {
      if (!s->slot[i]) continue;
      size_t k = hash_str(ls->all->arena.s + s->slot[i] - 1) & (cap - 1);
      while (slot[k])
        k = (k + 1) & (cap - 1);
      slot[k] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
  }
  const char *name = ls->all->arena.s + off;
  size_t k = hash_str(name) & (s->cap - 1);
  while (s->slot[k]) {
    if (strcmp(ls->all->arena.s + s->slot[k] - 1, name) == 0) return s->slot[k] - 1;
    k = (k + 1) & (s->cap - 1);
  }
  s->slot[k] = off + 1;
  s->n++;
  return NONE;
}

static int entry_error(lister *ls, int code, const char *fmt, const char *a, const char *b) {
  const lm_config *c = ls->p->config;
  const lm_fleet_entry *e = &c->targets[ls->entry];
  char *msg = lm_xasprintf(fmt, a, b);
  if (e->line)
    lm_error_set(code, "%s:%d: targets[%d] (%s): %s", c->path, e->line, ls->entry + 1, e->name,
                 msg);
  else
    lm_error_set(code, "%s: targets[%d] (%s): %s", c->path, ls->entry + 1, e->name, msg);
  lm_error_set_location(c->path, e->line);
  free(msg);
  return code;
}

/* Whether a listed name can stand on an output line: printable, no blanks. */
static int good_name(const char *s, size_t n) {
  if (!n) return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f) return 0;
  return 1;
}

static int add_target(lister *ls, const char *name, size_t nlen, const char *url, size_t ulen,
                      const char *schema, size_t slen) {
  lm_fleet_list *l = ls->all;
  const lm_fleet_entry *e = &ls->p->config->targets[ls->entry];
  if (!good_name(name, nlen)) {
    char *shown = lm_xstrndup(name, nlen > 60 ? 60 : nlen);
    for (char *q = shown; *q; q++)
      if ((unsigned char)*q < ' ') *q = '?';
    int rc = entry_error(ls, LM_ECONFIG,
                         "lists a target named '%s'%s: names must be printable, "
                         "without blanks",
                         shown, "");
    free(shown);
    return rc;
  }
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->off = lm_xrealloc(l->off, sizeof *l->off * 4 * (size_t)l->cap);
  }
  size_t *o = l->off + 4 * (size_t)l->n;
  o[0] = arena_put(&l->arena, name, nlen);
  o[1] = arena_put(&l->arena, url, ulen);
  o[2] = schema ? arena_put(&l->arena, schema, slen) : NONE;
  o[3] = e->kind == LM_FLEET_URL ? NONE : arena_put(&l->arena, e->name, strlen(e->name));
  size_t dup = names_add(ls, o[0]);
  if (dup != NONE) {
    l->arena.len = o[0];
    return entry_error(ls, LM_ECONFIG,
                       "the target name '%s' is listed twice%s: names must be "
                       "unique across targets",
                       l->arena.s + dup, "");
  }
  l->n++;
  return 0;
}

static int schema_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  lister *ls = ud;
  const lm_fleet_entry *e = &ls->p->config->targets[ls->entry];
  ls->row++;
  if (n < 1 || v[0].t != LM_V_TEXT) {
    char row[32];
    snprintf(row, sizeof row, "%ld", ls->row);
    ls->rc =
        entry_error(ls, LM_ECONFIG, "row %s of the schemas query has no schema name%s", row, "");
    return 1;
  }
  ls->rc = add_target(ls, v[0].s, v[0].len, e->url, strlen(e->url), v[0].s, v[0].len);
  return ls->rc != 0;
}

/* The column of a query's rows called name, or fallback when none is. */
static int column_named(int n, const char *const *names, const char *name, int fallback) {
  for (int i = 0; names && i < n; i++)
    if (names[i] && strcmp(names[i], name) == 0) return i;
  return fallback;
}

static int query_row(void *ud, int n, const char *const *names, const lm_value *v) {
  lister *ls = ud;
  ls->row++;
  /* columns called name and url, wherever they are; else the first two */
  int in = column_named(n, names, "name", 0), iu = column_named(n, names, "url", 1);
  if (in == iu) iu = in == 0 ? 1 : 0;
  if (n < 2 || v[in].t != LM_V_TEXT || v[iu].t != LM_V_TEXT) {
    char row[32];
    snprintf(row, sizeof row, "%ld", ls->row);
    ls->rc = entry_error(ls, LM_ECONFIG,
                         "row %s of the query is not (name, url) as text%s: the query must "
                         "return two text columns",
                         row, "");
    return 1;
  }
  char *url = lm_xstrndup(v[iu].s, v[iu].len);
  lm_url *u = NULL;
  int rc = lm_url_parse(&u, url);
  lm_url_free(u);
  free(url);
  if (rc) {
    char *name = lm_xstrndup(v[in].s, v[in].len);
    char *why = lm_url_mask(lm_error_last()->message);
    ls->rc = entry_error(ls, LM_ECONFIG, "the URL of '%s' is not valid: %s", name, why);
    free(name);
    free(why);
    return 1;
  }
  ls->rc = add_target(ls, v[in].s, v[in].len, v[iu].s, v[iu].len, NULL, 0);
  return ls->rc != 0;
}

/* Runs an entry's schemas or directory query on its own short connection. */
static int list_by_query(lister *ls) {
  const lm_fleet_entry *e = &ls->p->config->targets[ls->entry];
  lm_url *u = NULL;
  lm_conn *conn = NULL;
  int rc = lm_url_parse(&u, e->url);
  const lm_dialect *d = rc ? NULL : lm_dialect_find(u->dialect);
  if (!rc) rc = lm_dialect_open(d, &conn, u);
  if (!rc) {
    lm_stmt st = {e->sql, NULL, 0};
    ls->row = 0;
    ls->rc = 0;
    rc = lm_dialect_query(d, conn, &st, e->kind == LM_FLEET_SCHEMAS ? schema_row : query_row, ls);
    if (!rc)
      rc = ls->rc;
    else if (!ls->rc)
      lm_error_prefix("%s:%d: targets[%d] (%s): listing the %s failed", ls->p->config->path,
                      e->line, ls->entry + 1, e->name,
                      e->kind == LM_FLEET_SCHEMAS ? "schemas" : "targets");
    lm_dialect_close(d, conn);
  } else {
    lm_error_prefix("%s:%d: targets[%d] (%s): cannot list the %s", ls->p->config->path, e->line,
                    ls->entry + 1, e->name, e->kind == LM_FLEET_SCHEMAS ? "schemas" : "targets");
  }
  lm_url_free(u);
  return rc;
}

/* A path as the path of a sqlite:/// URL: the characters a URL gives a
 * meaning are escaped. */
static void sqlite_url(lm_buf *b, const char *path) {
  lm_buf_puts(b, "sqlite:///");
  for (const char *p = path; *p; p++) {
    if (*p == '%' || *p == '?' || *p == '#')
      lm_buf_printf(b, "%%%02X", (unsigned char)*p);
    else
      lm_buf_putc(b, *p);
  }
}

static int list_by_glob(lister *ls) {
  const lm_fleet_entry *e = &ls->p->config->targets[ls->entry];
  glob_t g;
  memset(&g, 0, sizeof g);
  int st = glob(e->glob, 0, NULL, &g);
  if (st == GLOB_NOMATCH) {
    globfree(&g);
    return 0;
  }
  if (st != 0) {
    globfree(&g);
    return entry_error(ls, LM_ECONFIG, "cannot read the files of glob %s%s", e->glob, "");
  }
  int rc = 0;
  lm_buf url;
  lm_buf_init(&url);
  for (size_t i = 0; i < g.gl_pathc && !rc; i++) {
    const char *path = g.gl_pathv[i];
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    url.len = 0;
    sqlite_url(&url, path);
    rc = add_target(ls, base, n, url.s, url.len, NULL, 0);
  }
  lm_buf_free(&url);
  globfree(&g);
  return rc;
}

static int selected(const char *name, const char *group, const char *const *patterns, int np,
                    char *used) {
  int hit = 0;
  for (int k = 0; k < np; k++)
    if ((group && strcmp(patterns[k], group) == 0) || fnmatch(patterns[k], name, 0) == 0)
      hit = used[k] = 1;
  return hit;
}

int lm_fleet_list_load(lm_project *p, const char *const *patterns, int npatterns,
                       lm_fleet_list *out) {
  memset(out, 0, sizeof *out);
  lm_buf_init(&out->arena);
  const lm_config *c = p->config;
  if (!c || c->ntargets == 0)
    return lm_error_set(LM_ECONFIG,
                        "%s lists no targets: add targets = { { name = \"eu\", url = \"...\" }, "
                        "... } (or run without --all / --target)",
                        c && c->path ? c->path : "luamig.lua");
  lister ls;
  memset(&ls, 0, sizeof ls);
  ls.p = p;
  ls.all = out;
  int rc = 0;
  /* the group names, so that a listed name may not take one */
  for (ls.entry = 0; ls.entry < c->ntargets && !rc; ls.entry++) {
    const lm_fleet_entry *e = &c->targets[ls.entry];
    switch (e->kind) {
    case LM_FLEET_URL:
      rc = add_target(&ls, e->name, strlen(e->name), e->url, strlen(e->url), NULL, 0);
      break;
    case LM_FLEET_SCHEMAS:
    case LM_FLEET_QUERY: rc = list_by_query(&ls); break;
    case LM_FLEET_GLOB: rc = list_by_glob(&ls); break;
    }
  }
  free(ls.names.slot);
  if (!rc && out->n == 0)
    rc = lm_error_set(LM_ECONFIG,
                      "the targets of %s list no database (the queries returned no "
                      "rows and the globs matched no file)",
                      c->path);
  if (!rc && npatterns > 0) {
    char *used = lm_xcalloc((size_t)npatterns, 1);
    int kept = 0;
    for (int i = 0; i < out->n; i++) {
      size_t *o = out->off + 4 * (size_t)i;
      if (selected(at(out, o[0]), at(out, o[3]), patterns, npatterns, used)) {
        if (kept != i) memmove(out->off + 4 * (size_t)kept, o, 4 * sizeof *o);
        kept++;
      }
    }
    out->n = kept;
    for (int k = 0; k < npatterns && !rc; k++)
      if (!used[k])
        rc = lm_error_set(LM_EUSAGE, "--target %s selects no target of %s", patterns[k], c->path);
    free(used);
  }
  if (rc) lm_fleet_list_free(out);
  return rc;
}

void lm_fleet_list_get(const lm_fleet_list *l, int i, lm_fleet_target *t) {
  const size_t *o = l->off + 4 * (size_t)i;
  t->name = at(l, o[0]);
  t->url = at(l, o[1]);
  t->schema = at(l, o[2]);
  t->group = at(l, o[3]);
}

void lm_fleet_list_free(lm_fleet_list *l) {
  lm_buf_free(&l->arena);
  free(l->off);
  memset(l, 0, sizeof *l);
}

/* ---- one target ------------------------------------------------------------------ */

/* libpq's `options` takes command-line switches separated by blanks; a blank
 * or backslash inside a value is escaped with a backslash. The schema is
 * double-quoted for search_path, so any name works. */
static void search_path_option(lm_buf *b, const char *schema) {
  lm_buf_puts(b, "-c search_path=\"");
  for (const char *p = schema; *p; p++) {
    if (*p == '"') lm_buf_putc(b, '"');
    if (*p == ' ' || *p == '\\' || *p == '\t') lm_buf_putc(b, '\\');
    lm_buf_putc(b, *p);
  }
  lm_buf_putc(b, '"');
}

int lm_fleet_retarget(lm_project *p, const lm_fleet_target *t) {
  lm_url *u = NULL;
  int rc = lm_url_parse(&u, t->url);
  if (rc) return rc;
  if (t->schema) {
    /* the schema's own version table, and its objects land in it */
    lm_buf b;
    lm_buf_init(&b);
    int k = 0;
    while (k < u->nopts && strcmp(u->opt_keys[k], "options") != 0)
      k++;
    if (k < u->nopts) {
      lm_buf_puts(&b, u->opt_vals[k]);
      lm_buf_putc(&b, ' ');
      free(u->opt_vals[k]);
    } else {
      u->opt_keys = lm_xrealloc(u->opt_keys, sizeof *u->opt_keys * (size_t)(u->nopts + 1));
      u->opt_vals = lm_xrealloc(u->opt_vals, sizeof *u->opt_vals * (size_t)(u->nopts + 1));
      u->opt_keys[k] = lm_xstrdup("options");
      u->nopts++;
    }
    search_path_option(&b, t->schema);
    u->opt_vals[k] = lm_buf_steal(&b);
    free(p->config->version_table_schema);
    p->config->version_table_schema = lm_xstrdup(t->schema);
  }
  lm_url_free(p->url);
  p->url = u;
  p->dialect = lm_dialect_find(u->dialect);
  return 0;
}

/* ---- running ---------------------------------------------------------------------- */

typedef struct slot {
  pid_t pid;
  int fd;
  int index;
  lm_buf buf;
} slot;

/* Read by the signal handler: the children to pass an interruption on to. */
static volatile sig_atomic_t fleet_stop;
static pid_t fleet_pids[1024];
static volatile sig_atomic_t fleet_npids;

static void fleet_on_signal(int sig) {
  int saved = errno;
  /* a second Ctrl-C gets the default action, as for a single run */
  if (fleet_stop) signal(sig, SIG_DFL);
  fleet_stop = 1;
  for (int i = 0; i < fleet_npids; i++)
    if (fleet_pids[i] > 0) kill(fleet_pids[i], SIGINT);
  errno = saved;
}

/* In a child: an interruption rolls back the running revision (and a second
 * one, from the terminal and the parent both, does no more). */
static void child_on_signal(int sig) {
  LM_UNUSED(sig);
  lm_interrupt();
}

static void put_field(lm_buf *b, const char *s) {
  if (s) lm_buf_puts(b, s);
  lm_buf_putc(b, 0);
}

/* The child: one target, the ordinary single-database path, one record. */
static void child_main(lm_project *p, const lm_fleet_list *l, int i, int fd, lm_fleet_fn fn,
                       void *ud, const sigset_t *mask) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = child_on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  fleet_npids = 0;
  sigprocmask(SIG_SETMASK, mask, NULL);
  lm_fleet_target t;
  lm_fleet_list_get(l, i, &t);
  lm_run_report rep;
  memset(&rep, 0, sizeof rep);
  /* per-revision lines and `current`'s text are the parent's to print */
  FILE *devnull = fopen("/dev/null", "w");
  p->out = devnull ? devnull : p->out;
  /* what the command writes to stderr (warnings, findings, -v traces) goes
   * back with the record, so the parent shows it under this target's name
   * instead of mixed with the other targets' */
  FILE *errf = tmpfile();
  if (errf) {
    fflush(stderr);
    dup2(fileno(errf), STDERR_FILENO);
  }
  p->opts.quiet = 1;
  p->report = &rep;
  long long t0 = lm_now_ms();
  lm_error_clear();
  int rc = fleet_stop || lm_interrupted ? lm_error_set(LM_EINTR, "interrupted before it started")
                                        : lm_fleet_retarget(p, &t);
  if (!rc) rc = fn(p, ud);
  long long ms = lm_now_ms() - t0;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_printf(&b, "%d", rc);
  lm_buf_putc(&b, 0);
  lm_buf_printf(&b, "%d", rep.nrevs);
  lm_buf_putc(&b, 0);
  lm_buf_printf(&b, "%lld", ms);
  lm_buf_putc(&b, 0);
  lm_buf_printf(&b, "%d", rep.dry_run);
  lm_buf_putc(&b, 0);
  put_field(&b, rep.before);
  put_field(&b, rep.after);
  const lm_error *e = lm_error_last();
  put_field(&b, rc ? e->revision : NULL);
  char *msg = NULL;
  if (rc) {
    lm_buf m;
    lm_buf_init(&m);
    lm_buf_puts(&m, e->message ? e->message : "failed");
    if (e->db_message && (!e->message || !strstr(e->message, e->db_message)))
      lm_buf_printf(&m, " (database: %s)", e->db_message);
    for (char *q = m.s; q && *q; q++)
      if (*q == '\n' || *q == '\r' || *q == '\t') *q = ' ';
    msg = lm_url_mask(m.s ? m.s : "");
    lm_buf_free(&m);
  }
  put_field(&b, msg);
  free(msg);
  fflush(stderr);
  if (errf) {
    char chunk[4096];
    size_t got;
    rewind(errf);
    lm_buf err;
    lm_buf_init(&err);
    while ((got = fread(chunk, 1, sizeof chunk, errf)) > 0 && err.len < (1u << 20))
      lm_buf_put(&err, chunk, got);
    /* a NUL ends the field; the masking covers any URL the output names */
    for (size_t k = 0; k < err.len; k++)
      if (!err.s[k]) err.s[k] = ' ';
    char *masked = lm_url_mask(err.s ? err.s : "");
    put_field(&b, masked);
    free(masked);
    lm_buf_free(&err);
  } else {
    put_field(&b, NULL);
  }
  lm_write_all(fd, b.s, b.len); /* a parent that is gone reads nothing anyway */
  _exit(0);
}

/* Splits a record into its fields; 0 when it is complete. */
static int parse_record(lm_buf *b, const char *f[9]) {
  size_t pos = 0;
  for (int k = 0; k < 9; k++) {
    if (pos >= b->len) return -1;
    f[k] = b->s + pos;
    const char *z = memchr(b->s + pos, 0, b->len - pos);
    if (!z) return -1;
    pos = (size_t)(z - b->s) + 1;
  }
  return 0;
}

static void finish(slot *s, int status, lm_fleet_done_fn done, void *done_ud,
                   lm_fleet_summary *sum) {
  lm_fleet_result r;
  memset(&r, 0, sizeof r);
  r.index = s->index;
  const char *f[9];
  char crash[96];
  if ((s->buf.len == 0 || s->buf.s[s->buf.len - 1] != 0 || parse_record(&s->buf, f) != 0)) {
    r.status = LM_FLEET_FAILED;
    r.code = LM_EMIGRATE;
    if (WIFSIGNALED(status))
      snprintf(crash, sizeof crash, "the process running it was killed by signal %d",
               WTERMSIG(status));
    else
      snprintf(crash, sizeof crash, "the process running it ended without a result (exit %d)",
               WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    r.message = crash;
  } else {
    r.code = atoi(f[0]);
    r.rep.nrevs = atoi(f[1]);
    r.ms = atoll(f[2]);
    r.rep.dry_run = atoi(f[3]);
    r.rep.before = (char *)f[4];
    r.rep.after = (char *)f[5];
    r.revision = *f[6] ? f[6] : NULL;
    r.message = *f[7] ? f[7] : NULL;
    r.output = *f[8] ? f[8] : NULL;
    r.status = r.code == 0          ? LM_FLEET_DONE
               : r.code == LM_EINTR ? LM_FLEET_INTERRUPTED
                                    : LM_FLEET_FAILED;
  }
  if (r.status == LM_FLEET_DONE)
    sum->done++;
  else if (r.status == LM_FLEET_INTERRUPTED)
    sum->interrupted++;
  else
    sum->failed++;
  done(done_ud, &r);
}

int lm_fleet_run(lm_project *p, const lm_fleet_list *l, const lm_fleet_options *o, lm_fleet_fn fn,
                 void *ud, lm_fleet_done_fn done, void *done_ud, lm_fleet_summary *sum) {
  memset(sum, 0, sizeof *sum);
  sum->total = l->n;
  int jobs = o->jobs < 1 ? 1 : o->jobs > 1024 ? 1024 : o->jobs;
  int canary = o->canary < 0 ? 0 : o->canary;
  /* compiled once, here: the children inherit the compiled chain */
  for (int i = 0; i < p->graph.n; i++) {
    int rc = lm_lua_revision_load(p->L, p->graph.revs[i]);
    if (rc) return rc;
  }
  slot *slots = lm_xcalloc((size_t)jobs, sizeof *slots);
  struct pollfd *pfd = lm_xcalloc((size_t)jobs, sizeof *pfd);
  int *which = lm_xcalloc((size_t)jobs, sizeof *which);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fleet_on_signal;
  fleet_stop = lm_interrupted; /* Ctrl-C while the targets were listed */
  fleet_npids = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int next = 0, nrun = 0, stop = 0;
  for (;;) {
    /* start what may start */
    while (!stop && !fleet_stop && next < l->n) {
      int canary_phase = canary > 0 && next <= canary;
      if (canary_phase ? nrun > 0 : nrun >= jobs) break;
      int k = 0;
      while (slots[k].pid)
        k++;
      int fds[2];
      if (pipe(fds) != 0) {
        stop = 1;
        break;
      }
      fflush(NULL);
      sigprocmask(SIG_BLOCK, &block, &old);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        for (int j = 0; j < jobs; j++)
          if (slots[j].pid) close(slots[j].fd);
        child_main(p, l, next, fds[1], fn, ud, &old);
      }
      close(fds[1]);
      if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(fds[0]);
        slot failed = {0, -1, next, {0}};
        next++;
        finish(&failed, 0, done, done_ud, sum);
        if (!o->keep_going) stop = 1;
        continue;
      }
      slots[k].pid = pid;
      slots[k].fd = fds[0];
      slots[k].index = next++;
      lm_buf_init(&slots[k].buf);
      fleet_pids[k] = pid;
      if (k + 1 > fleet_npids) fleet_npids = k + 1;
      nrun++;
      sigprocmask(SIG_SETMASK, &old, NULL);
      /* the interruption may have come just before the fork */
      if (fleet_stop) kill(pid, SIGINT);
    }
    if (nrun == 0) break;
    int np = 0;
    for (int k = 0; k < jobs; k++)
      if (slots[k].pid) {
        pfd[np].fd = slots[k].fd;
        pfd[np].events = POLLIN;
        pfd[np].revents = 0;
        which[np++] = k;
      }
    int r = poll(pfd, (nfds_t)np, -1);
    if (r < 0) continue; /* EINTR: fleet_stop is set */
    for (int j = 0; j < np; j++) {
      if (!pfd[j].revents) continue;
      slot *s = &slots[which[j]];
      char chunk[4096];
      ssize_t got = read(s->fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        lm_buf_put(&s->buf, chunk, (size_t)got);
        continue;
      }
      close(s->fd);
      int status = 0;
      while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR) {
      }
      sigprocmask(SIG_BLOCK, &block, &old);
      fleet_pids[which[j]] = 0;
      sigprocmask(SIG_SETMASK, &old, NULL);
      s->pid = 0;
      nrun--;
      int before_failed = sum->failed;
      finish(s, status, done, done_ud, sum);
      lm_buf_free(&s->buf);
      if (sum->failed > before_failed && (!o->keep_going || s->index < canary)) stop = 1;
    }
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  for (; next < l->n; next++) {
    lm_fleet_result r;
    memset(&r, 0, sizeof r);
    r.index = next;
    r.status = LM_FLEET_NOT_STARTED;
    sum->not_started++;
    done(done_ud, &r);
  }
  free(slots);
  free(pfd);
  free(which);
  int interrupted = fleet_stop;
  fleet_npids = 0;
  if (interrupted) return lm_error_set(LM_EINTR, "interrupted");
  if (sum->failed || sum->not_started || sum->interrupted)
    return lm_error_set(LM_EMIGRATE, "failed");
  return 0;
}
