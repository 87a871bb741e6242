/* --all / --target: a migrating command on many databases (SPEC §11). The
 * engine (engine/fleet.c) runs the ordinary single-database command once per
 * target, in a process of its own; this file says what each target did, as
 * it finishes, and sums up. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "luamig/fleet.h"

typedef enum fleet_kind { FK_UPGRADE, FK_DOWNGRADE, FK_STAMP, FK_CURRENT, FK_EACH } fleet_kind;

typedef struct fleet_ui {
  cli *c;
  fleet_kind kind;
  const lm_fleet_list *list;
  int json, quiet, bar;
  int finished, total;
  int changed, unchanged, held, failed, interrupted, not_started;
  const char *shown; /* the target as lines show it: a prefix made a whole id */
  char **elements;   /* --json: each target's element, in the listed order */
  /* current: how many targets are at each set of heads */
  char **revs;
  int *counts;
  int nrevs;
  lm_buf failed_names;
  int (*each)(lm_project *p, void *ud);
  void *each_ud;
} fleet_ui;

int cli_fleet_wanted(const cli *c) {
  return c->all || c->ntargets > 0 || c->jobs || c->canary || c->keep_going;
}

/* ---- output ------------------------------------------------------------------------ */

static void bar_clear(fleet_ui *u) {
  if (!u->bar) return;
  fputs("\r\033[K", stderr);
  fflush(stderr);
}

/* On a terminal only: targets done of total, and the failures. */
static void bar_draw(fleet_ui *u) {
  if (!u->bar) return;
  const int width = 30;
  int fill = u->total ? u->finished * width / u->total : width;
  char cells[32];
  for (int i = 0; i < width; i++)
    cells[i] = i < fill ? '#' : '.';
  cells[width] = 0;
  fprintf(stderr, "\r\033[K[%s] %d/%d targets done, %d failed", cells, u->finished, u->total,
          u->failed);
  fflush(stderr);
}

/* Heads text (one a line) as shown on a line: "a, b", or "base". */
static void put_heads(lm_buf *b, const char *heads) {
  if (!heads || !*heads) {
    lm_buf_puts(b, "base");
    return;
  }
  for (const char *p = heads; *p; p++) {
    if (*p == '\n')
      lm_buf_puts(b, ", ");
    else
      lm_buf_putc(b, *p);
  }
}

static void json_heads(FILE *out, const char *heads) {
  fputc('[', out);
  const char *p = heads ? heads : "";
  int first = 1;
  while (*p) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *one = lm_xstrndup(p, n);
    if (!first) fputs(", ", out);
    lm_json_str(out, one);
    free(one);
    first = 0;
    p += n;
    if (*p) p++;
  }
  fputc(']', out);
}

static const char *past_tense(fleet_kind k) {
  switch (k) {
  case FK_UPGRADE: return "upgraded";
  case FK_DOWNGRADE: return "downgraded";
  case FK_STAMP: return "stamped";
  default: return "ok";
  }
}

static void count_revision(fleet_ui *u, const char *heads) {
  lm_buf b;
  lm_buf_init(&b);
  put_heads(&b, heads);
  for (int i = 0; i < u->nrevs; i++)
    if (strcmp(u->revs[i], b.s) == 0) {
      u->counts[i]++;
      lm_buf_free(&b);
      return;
    }
  u->revs = lm_xrealloc(u->revs, sizeof *u->revs * (size_t)(u->nrevs + 1));
  u->counts = lm_xrealloc(u->counts, sizeof *u->counts * (size_t)(u->nrevs + 1));
  u->revs[u->nrevs] = lm_buf_steal(&b);
  u->counts[u->nrevs++] = 1;
}

/* An upgrade with nothing to run because --stop-before holds back the next
 * step of a revision the target is part way through. */
static int held_back(const fleet_ui *u, const lm_fleet_result *r) {
  if (u->kind != FK_UPGRADE || !u->c->stop_before || r->rep.nrevs != 0 || !r->rep.after) return 0;
  char *needle = lm_xasprintf(", next: %s)", u->c->stop_before);
  int held = strstr(r->rep.after, needle) != NULL;
  free(needle);
  return held;
}

static const char *status_word(const fleet_ui *u, const lm_fleet_result *r) {
  switch (r->status) {
  case LM_FLEET_FAILED: return "failed";
  case LM_FLEET_INTERRUPTED: return "interrupted";
  case LM_FLEET_NOT_STARTED: return "not_started";
  default: break;
  }
  if (held_back(u, r)) return "held_back";
  if ((u->kind == FK_UPGRADE || u->kind == FK_DOWNGRADE) && r->rep.nrevs == 0) return "unchanged";
  return past_tense(u->kind);
}

static void json_element(fleet_ui *u, const lm_fleet_target *t, const lm_fleet_result *r,
                         FILE *out) {
  fputs("{\"name\": ", out);
  lm_json_str(out, t->name);
  fputs(", \"group\": ", out);
  if (t->group)
    lm_json_str(out, t->group);
  else
    fputs("null", out);
  fputs(", \"status\": ", out);
  lm_json_str(out, status_word(u, r));
  if (r->status != LM_FLEET_NOT_STARTED && (r->rep.before || r->rep.after)) {
    if (u->kind == FK_CURRENT) {
      fputs(", \"heads\": ", out);
      json_heads(out, r->rep.after);
    } else {
      fputs(", \"from\": ", out);
      json_heads(out, r->rep.before);
      fputs(", \"to\": ", out);
      json_heads(out, r->rep.after);
      fprintf(out, ", \"revisions\": %d", r->rep.nrevs);
    }
  }
  if (r->status != LM_FLEET_NOT_STARTED) fprintf(out, ", \"ms\": %lld", r->ms);
  if (r->rep.dry_run) fputs(", \"dry_run\": true", out);
  fputs(", \"failed_revision\": ", out);
  if (r->revision && r->status != LM_FLEET_DONE)
    lm_json_str(out, r->revision);
  else
    fputs("null", out);
  fputs(", \"error\": ", out);
  if (r->message && r->status != LM_FLEET_DONE)
    lm_json_str(out, r->message);
  else
    fputs("null", out);
  if (r->output) {
    fputs(", \"output\": ", out);
    lm_json_str(out, r->output);
  }
  fputc('}', out);
}

/* +N, -N, REV+N: "already at" would not name a revision. */
static int relative(const char *target) { return strchr(target, '+') || target[0] == '-'; }

static void line_text(fleet_ui *u, const lm_fleet_target *t, const lm_fleet_result *r, lm_buf *b) {
  lm_buf_printf(b, "%s: ", t->name);
  if (r->status == LM_FLEET_FAILED || r->status == LM_FLEET_INTERRUPTED) {
    lm_buf_puts(b, r->status == LM_FLEET_FAILED ? "failed" : "interrupted");
    if (r->revision) lm_buf_printf(b, " at %s", r->revision);
    lm_buf_printf(b, ": %s", r->message ? r->message : "no detail");
    return;
  }
  switch (u->kind) {
  case FK_UPGRADE:
  case FK_DOWNGRADE:
    if (held_back(u, r)) {
      lm_buf_printf(b, "held back by --stop-before %s at ", u->c->stop_before);
      put_heads(b, r->rep.after);
      break;
    }
    if (r->rep.nrevs == 0) {
      if (relative(u->c->pos[0]))
        lm_buf_puts(b, "nothing to do");
      else
        lm_buf_printf(b, "already at %s", u->shown);
      break;
    }
    lm_buf_printf(b, "%s ", past_tense(u->kind));
    put_heads(b, r->rep.before);
    lm_buf_puts(b, " -> ");
    put_heads(b, r->rep.after);
    lm_buf_printf(b, " (%d revision%s, %lld ms%s)", r->rep.nrevs, r->rep.nrevs == 1 ? "" : "s",
                  r->ms, r->rep.dry_run ? "; dry run, rolled back" : "");
    break;
  case FK_STAMP:
    if (u->c->checksums_only) {
      lm_buf_printf(b, "re-recorded the checksum of %s", u->shown);
      break;
    }
    lm_buf_puts(b, "stamped ");
    put_heads(b, r->rep.after);
    lm_buf_puts(b, " (was ");
    put_heads(b, r->rep.before);
    lm_buf_putc(b, ')');
    break;
  case FK_CURRENT: put_heads(b, r->rep.after); break;
  case FK_EACH: lm_buf_puts(b, "ok"); break;
  }
}

static void on_done(void *ud, const lm_fleet_result *r) {
  fleet_ui *u = ud;
  lm_fleet_target t;
  lm_fleet_list_get(u->list, r->index, &t);
  switch (r->status) {
  case LM_FLEET_DONE:
    if (held_back(u, r))
      u->held++;
    else if ((u->kind == FK_UPGRADE || u->kind == FK_DOWNGRADE) && r->rep.nrevs == 0)
      u->unchanged++;
    else
      u->changed++;
    if (u->kind == FK_CURRENT) count_revision(u, r->rep.after);
    break;
  case LM_FLEET_FAILED:
    u->failed++;
    if (u->failed <= 5) lm_buf_printf(&u->failed_names, "%s%s", u->failed > 1 ? ", " : "", t.name);
    break;
  case LM_FLEET_INTERRUPTED: u->interrupted++; break;
  default: u->not_started++; break;
  }
  if (r->status != LM_FLEET_NOT_STARTED) u->finished++;
  if (u->json) {
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
      json_element(u, &t, r, m);
      fclose(m);
    }
    free(u->elements[r->index]);
    u->elements[r->index] = text;
    return;
  }
  if (r->status == LM_FLEET_NOT_STARTED) return;
  if (u->quiet && r->status == LM_FLEET_DONE) return;
  lm_buf b;
  lm_buf_init(&b);
  line_text(u, &t, r, &b);
  bar_clear(u);
  fprintf(stdout, "%s\n", b.s);
  fflush(stdout);
  lm_buf_free(&b);
  /* the target's own diagnostics, under its name */
  for (const char *p = r->output; p && *p;) {
    const char *e = strchr(p, '\n');
    int n = e ? (int)(e - p) : (int)strlen(p);
    fprintf(stderr, "  %s: %.*s\n", t.name, n, p);
    p += n + (e ? 1 : 0);
  }
  bar_draw(u);
}

static void summary_part(lm_buf *b, int n, const char *what, const char *arg) {
  if (!n) return;
  lm_buf_printf(b, "%s%d ", b->len ? ", " : "", n);
  lm_buf_printf(b, what, arg);
}

static void summary(fleet_ui *u) {
  const char *target = u->kind == FK_UPGRADE || u->kind == FK_DOWNGRADE ? u->shown : "";
  if (u->json) {
    int written = 0;
    for (int i = 0; i < u->total; i++)
      if (u->elements[i]) fprintf(stdout, "%s%s", written++ ? ",\n    " : "\n    ", u->elements[i]);
    fprintf(stdout, "\n  ],\n  \"summary\": {\"targets\": %d, \"%s\": %d", u->total,
            u->kind == FK_CURRENT || u->kind == FK_EACH ? "ok" : past_tense(u->kind), u->changed);
    if (u->kind == FK_UPGRADE || u->kind == FK_DOWNGRADE)
      fprintf(stdout, ", \"unchanged\": %d", u->unchanged);
    if (u->held) fprintf(stdout, ", \"held_back\": %d", u->held);
    fprintf(stdout, ", \"failed\": %d, \"interrupted\": %d, \"not_started\": %d}", u->failed,
            u->interrupted, u->not_started);
    if (u->kind == FK_CURRENT) {
      fputs(",\n  \"revisions\": {", stdout);
      for (int i = 0; i < u->nrevs; i++) {
        if (i) fputs(", ", stdout);
        lm_json_str(stdout, u->revs[i]);
        fprintf(stdout, ": %d", u->counts[i]);
      }
      fputc('}', stdout);
    }
    fputs("\n}\n", stdout);
    fflush(stdout);
    return;
  }
  bar_clear(u);
  if (u->quiet) return;
  if (u->kind == FK_CURRENT)
    for (int i = 0; i < u->nrevs; i++)
      fprintf(stdout, "%s: %d target%s\n", u->revs[i], u->counts[i], u->counts[i] == 1 ? "" : "s");
  lm_buf b;
  lm_buf_init(&b);
  if (u->kind == FK_EACH)
    summary_part(&b, u->changed, "ok%s", "");
  else if (u->kind == FK_CURRENT)
    ; /* the counts per revision above say it */
  else
    summary_part(&b, u->changed, "%s", past_tense(u->kind));
  if (*target && relative(target))
    summary_part(&b, u->unchanged, "with nothing to do%s", "");
  else
    summary_part(&b, u->unchanged, "already at %s", target);
  summary_part(&b, u->held, "held back by --stop-before %s", u->c->stop_before);
  summary_part(&b, u->failed, "failed%s", "");
  summary_part(&b, u->interrupted, "interrupted%s", "");
  summary_part(&b, u->not_started, "not started%s", "");
  fprintf(stdout, "%d target%s%s%s\n", u->total, u->total == 1 ? "" : "s", b.len ? ": " : "",
          b.len ? b.s : "");
  fflush(stdout);
  lm_buf_free(&b);
}

/* ---- the commands, once per target ---------------------------------------------------- */

static int one_upgrade(lm_project *p, void *ud) {
  cli *c = ud;
  lm_run_options o = {0, c->dry_run, c->stop_before, c->ignore_checksums};
  return lm_upgrade(p, c->pos[0], &o);
}

static int one_downgrade(lm_project *p, void *ud) {
  cli *c = ud;
  lm_run_options o = {0, c->dry_run, NULL, c->ignore_checksums};
  return lm_downgrade(p, c->pos[0], &o);
}

static int one_stamp(lm_project *p, void *ud) {
  cli *c = ud;
  if (c->checksums_only) {
    char id[64];
    return lm_stamp_checksums(p, c->pos[0], id, sizeof id);
  }
  if (!c->from_alembic) return c->purge ? lm_stamp_purge(p, c->pos[0]) : lm_stamp(p, c->pos[0]);
  char *revs = NULL;
  int rc = lm_stamp_from_alembic(p, &revs);
  free(revs);
  return rc;
}

static int one_current(lm_project *p, void *ud) {
  LM_UNUSED(ud);
  return lm_current(p, 0);
}

static int one_each(lm_project *p, void *ud) {
  fleet_ui *u = ud;
  return u->each(p, u->each_ud);
}

static int parse_count(const char *opt, const char *s, int min, int max, int *out) {
  char *end;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || v < min || v > max)
    return lm_error_set(LM_EUSAGE, "%s needs a whole number from %d to %d, not '%s'", opt, min, max,
                        s ? s : "");
  *out = (int)v;
  return 0;
}

static int run_fleet(cli *c, lm_project *given, fleet_kind kind, int (*each)(lm_project *, void *),
                     void *each_ud) {
  if (!c->all && c->ntargets == 0)
    return lm_error_set(LM_EUSAGE, "--jobs, --canary and --keep-going need --all or --target");
  if (c->all && c->ntargets)
    return lm_error_set(LM_EUSAGE, "--all and --target exclude each other");
  if (c->url)
    return lm_error_set(LM_EUSAGE, "--url names one database: --all and --target use the targets "
                                   "of luamig.lua");
  if (c->sql)
    return lm_error_set(LM_EUSAGE, "--sql renders one script: it does not combine with --all or "
                                   "--target");
  if (c->dialect) return lm_error_set(LM_EUSAGE, "--dialect applies only with --sql");
  if (c->stop_before && kind != FK_UPGRADE)
    return lm_error_set(LM_EUSAGE, "--stop-before applies to upgrade only");
  /* reading each target's state: one that cannot be read does not keep the
   * others from being shown */
  lm_fleet_options o = {4, 0, c->keep_going || kind == FK_CURRENT || kind == FK_EACH};
  int rc = 0;
  if (c->jobs) rc = parse_count("--jobs", c->jobs, 1, 1024, &o.jobs);
  if (!rc && c->canary) rc = parse_count("--canary", c->canary, 0, 1000000, &o.canary);
  if (rc) return rc;
  lm_project *p = given;
  if (!p && (rc = cli_open(c, &p))) return rc;
  /* a target no database can reach is a usage error, said once before any
   * target is listed or opened */
  int targeted =
      kind == FK_UPGRADE || kind == FK_DOWNGRADE || (kind == FK_STAMP && !c->from_alembic);
  if (targeted && (rc = lm_check_target(p, c->command, c->pos[0], c->stop_before))) {
    if (!given) lm_project_free(p);
    return rc;
  }
  const char *shown = targeted ? c->pos[0] : "";
  const lm_graph *g = lm_project_graph(p);
  int idx;
  if (targeted && !relative(shown) && strcmp(shown, "head") != 0 && strcmp(shown, "heads") != 0 &&
      strcmp(shown, "base") != 0 && lm_graph_find(g, shown, &idx) == 0 && idx >= 0)
    shown = g->revs[idx]->id;
  lm_error_clear();
  lm_fleet_list list;
  rc = lm_fleet_list_load(p, c->targets, c->ntargets, &list);
  if (rc) {
    if (!given) lm_project_free(p);
    return rc;
  }
  fleet_ui u;
  memset(&u, 0, sizeof u);
  u.c = c;
  u.kind = kind;
  u.list = &list;
  u.json = c->json;
  u.quiet = c->quiet;
  u.total = list.n;
  u.bar = !c->json && !c->quiet && isatty(STDERR_FILENO);
  u.each = each;
  u.each_ud = each_ud;
  u.shown = shown;
  u.elements = lm_xcalloc((size_t)(list.n > 0 ? list.n : 1), sizeof *u.elements);
  lm_buf_init(&u.failed_names);
  if (u.json) {
    fputs("{\n  \"command\": ", stdout);
    lm_json_str(stdout, c->command);
    fputs(", \"target\": ", stdout);
    if (targeted)
      lm_json_str(stdout, c->pos[0]);
    else
      fputs("null", stdout);
    fputs(",\n  \"targets\": [", stdout);
  }
  bar_draw(&u);
  static int (*const FNS[])(lm_project *, void *) = {one_upgrade, one_downgrade, one_stamp,
                                                     one_current, one_each};
  lm_fleet_summary sum;
  rc = lm_fleet_run(p, &list, &o, FNS[kind], kind == FK_EACH ? (void *)&u : (void *)c, on_done, &u,
                    &sum);
  summary(&u);
  if (rc == LM_EINTR) {
    rc = lm_error_set(LM_EINTR,
                      "interrupted: %d of %d targets finished, %d interrupted (rolled back), %d "
                      "not started; run the same command again to resume",
                      u.finished - u.interrupted, u.total, u.interrupted, u.not_started);
  } else if (rc == LM_EMIGRATE) {
    if (u.failed)
      rc = lm_error_set(LM_EMIGRATE, "%d of %d targets failed: %s%s%s", u.failed, u.total,
                        u.failed_names.s ? u.failed_names.s : "", u.failed > 5 ? ", ..." : "",
                        !u.not_started  ? ""
                        : c->keep_going ? "; the others were not started: a --canary target failed"
                                        : "; the others were not started (--keep-going goes on)");
    else
      rc = lm_error_set(LM_EMIGRATE, "%d of %d targets did not finish",
                        u.total - u.changed - u.unchanged, u.total);
  }
  for (int i = 0; i < list.n; i++)
    free(u.elements[i]);
  free(u.elements);
  for (int i = 0; i < u.nrevs; i++)
    free(u.revs[i]);
  free(u.revs);
  free(u.counts);
  lm_buf_free(&u.failed_names);
  lm_fleet_list_free(&list);
  if (!given) lm_project_free(p);
  return rc;
}

int cli_fleet_migrate(cli *c) {
  fleet_kind k = strcmp(c->command, "upgrade") == 0     ? FK_UPGRADE
                 : strcmp(c->command, "downgrade") == 0 ? FK_DOWNGRADE
                 : strcmp(c->command, "stamp") == 0     ? FK_STAMP
                                                        : FK_CURRENT;
  int npos = k == FK_CURRENT || (k == FK_STAMP && c->from_alembic) ? 0 : 1;
  int rc = cli_args(c, npos, npos);
  if (rc) return rc;
  return run_fleet(c, NULL, k, NULL, NULL);
}

int cli_fleet_each(cli *c, lm_project *p, int (*fn)(lm_project *p, void *ud), void *ud) {
  return run_fleet(c, p, FK_EACH, fn, ud);
}
