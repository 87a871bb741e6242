/* check and schema: is the chain safe to deploy, and what does the database
 * look like. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "luamig/compare.h"
#include "luamig/lint.h"
#include "luamig/schema.h"

/* ---- luamig schema ------------------------------------------------------------------ */

int cmd_schema(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  if (!lm_project_url(p)) {
    rc = lm_error_set(LM_ECONFIG, "no database URL: set url in luamig.lua, set DATABASE_URL, or "
                                  "pass --url");
  } else {
    /* opening it would create an empty database: a typo would go unnoticed */
    rc = lm_project_must_exist(p);
  }
  lm_schema *s = NULL;
  if (!rc) rc = lm_project_schema(p, &s);
  if (!rc && c->model) {
    char *text = lm_lua_write_model(lm_project_dialect(p), s);
    fputs(text, lm_project_out(p));
    fflush(lm_project_out(p));
    free(text);
  } else if (!rc) {
    lm_buf b;
    lm_buf_init(&b);
    lm_schema_render(s, &b);
    fwrite(b.s, 1, b.len, lm_project_out(p));
    fflush(lm_project_out(p));
    lm_buf_free(&b);
  }
  lm_schema_free(s);
  lm_project_free(p);
  return rc;
}

/* ---- luamig check ------------------------------------------------------------------- */

typedef struct checker {
  cli *c;
  lm_project *p;
  int problems;
  /* check --drift: why the database could not be read or compared (NULL:
   * it was), for a fleet target's line */
  char *drift_failed;
  lm_buf problem_json; /* --json: the problems, as JSON strings */
  lm_buf checked_json; /* --json: revisions that round-tripped */
  int nchecked;
  int annotate;              /* --format github or sarif: findings are collected */
  lm_lint_findings findings; /* ... here, lint's and check's own, printed at the end */
} checker;

/* The file a check finding without a file of its own points at. */
static const char *project_file(const checker *k) {
  return lm_project_config_path(k->p) ? lm_project_config_path(k->p) : "";
}

/* A finding of check itself for --format github|sarif; the message is masked. */
static void finding(checker *k, const char *rule, const char *file, int line, const char *msg) {
  if (!k->annotate) return;
  const lm_lint_rule *r = lm_lint_rule_find(rule);
  char *masked = lm_url_mask(msg);
  lm_lint_add(&k->findings, file ? file : project_file(k), line, LM_LINT_ERROR, rule,
              r ? r->help : "", "%s", masked);
  free(masked);
}

/* Reports the last error as one problem of the check: printed now (a check
 * reports everything it finds, not just the first thing) and counted. rule:
 * the finding's rule for --format github|sarif (NULL: the problem's findings
 * are reported on their own). */
static void report_rule(checker *k, const char *rule) {
  k->problems++;
  const lm_error *e = lm_error_last();
  if (rule) finding(k, rule, e->file, e->file ? e->line : 1, e->message);
  lm_error_print(stderr);
  if (k->c->json) {
    if (k->problem_json.len) lm_buf_puts(&k->problem_json, ", ");
    char *msg = lm_url_mask(lm_error_last()->message);
    char *js = NULL;
    size_t jn = 0;
    FILE *f = open_memstream(&js, &jn);
    cli_json_str(f, msg);
    fclose(f);
    lm_buf_put(&k->problem_json, js, jn);
    free(js);
    free(msg);
  }
  lm_error_clear();
}

static void report(checker *k) { report_rule(k, "check"); }

static void problem_rule(checker *k, const char *rule, const char *fmt, ...) LM_PRINTF(3, 4);
static void problem_rule(checker *k, const char *rule, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = lm_xmalloc((size_t)(n > 0 ? n : 0) + 1);
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
  va_end(ap);
  lm_error_set(LM_ECHECK, "%s", msg);
  free(msg);
  report_rule(k, rule);
}

/* A problem with the generic rule "check": the hook for findings that have
 * no rule of their own yet. */
#define problem(k, ...) problem_rule(k, "check", __VA_ARGS__)

static void check_heads(checker *k, int *heads, int *nheads) {
  const lm_graph *g = lm_project_graph(k->p);
  *nheads = lm_graph_heads(g, heads);
  if (g->n == 0 || *nheads == 1) return;
  lm_buf ids;
  lm_buf_init(&ids);
  for (int i = 0; i < *nheads; i++)
    lm_buf_printf(&ids, "%s%s", i ? " " : "", g->revs[heads[i]]->id);
  lm_buf list;
  lm_buf_init(&list);
  for (int i = 0; i < *nheads; i++)
    lm_buf_printf(&list, "%s%s", i ? ", " : "", g->revs[heads[i]]->id);
  for (int i = 0; i < *nheads; i++) {
    const lm_revision *r = g->revs[heads[i]];
    char *m = lm_xasprintf("revision %s is one of the chain's %d heads (%s); merge them with "
                           "'luamig merge -m MSG %s'",
                           r->id, *nheads, list.s, ids.s);
    finding(k, "multiple-heads", r->path, 1, m);
    free(m);
  }
  problem_rule(k, NULL, "the chain has %d heads: %s; merge them with 'luamig merge -m MSG %s'",
               *nheads, list.s, ids.s);
  lm_buf_free(&list);
  lm_buf_free(&ids);
}

static const char *checksum_status_name(lm_checksum_status s) {
  switch (s) {
  case LM_CS_COMPARED: return "compared";
  case LM_CS_NO_URL: return "no_url";
  case LM_CS_NO_DATABASE: return "no_database";
  case LM_CS_UNREACHABLE: return "unreachable";
  case LM_CS_NO_TABLE: return "no_version_table";
  }
  return "?";
}

static void check_checksums(checker *k, lm_checksums *cs) {
  lm_project *p = k->p;
  if (lm_check_checksums(p, cs)) {
    report(k);
    return;
  }
  if (cs->status == LM_CS_UNREACHABLE && !k->c->quiet)
    fprintf(stderr, "luamig: note: checksums not compared: %s\n", cs->why);
  if (cs->nchanged) {
    lm_buf b;
    lm_buf_init(&b);
    for (int i = 0; i < cs->nchanged; i++) {
      const lm_revision *r = lm_project_graph(p)->revs[cs->changed[i]];
      lm_buf_printf(&b, "\n  %s (%s)", r->path, r->id);
      char *m = lm_xasprintf("revision %s changed since it was applied to %s", r->id,
                             lm_project_url(p) ? lm_project_url(p) : "the database");
      finding(k, "checksum-mismatch", r->path, 1, m);
      free(m);
    }
    problem_rule(k, NULL,
                 "%d applied revision file%s changed since %s applied:%s\n"
                 "restore the file%s, or re-record the checksums with 'luamig stamp'",
                 cs->nchanged, cs->nchanged > 1 ? "s" : "",
                 cs->nchanged > 1 ? "they were" : "it was", b.s, cs->nchanged > 1 ? "s" : "");
    lm_buf_free(&b);
  }
  if (cs->nunknown) {
    lm_buf b;
    lm_buf_init(&b);
    for (int i = 0; i < cs->nunknown; i++)
      lm_buf_printf(&b, "%s%s", i ? ", " : "", cs->unknown[i]);
    problem_rule(k, "unknown-revision",
                 "%s has revision%s applied that no revision file defines: %s (is this the right "
                 "project and versions folder?)",
                 lm_project_url(p), cs->nunknown > 1 ? "s" : "", b.s);
    lm_buf_free(&b);
  }
}

/* Lint's findings go to stdout as `luamig lint` prints them; with --json they
 * are kept and embedded in the report; with -q they show only when one is an
 * error (warnings are not what -q wants to see). */
static void check_lint(checker *k, int *nerr, int *nwarn, char **json) {
  *nerr = *nwarn = 0;
  *json = NULL;
  size_t jn = 0;
  if (k->annotate) {
    int rc = lm_lint_collect(k->p, NULL, 0, &k->findings, nerr, nwarn);
    if (rc)
      report(k);
    else if (*nerr)
      problem_rule(k, NULL, "lint found %d error%s", *nerr, *nerr > 1 ? "s" : "");
    return;
  }
  int keep = k->c->json || k->c->quiet;
  FILE *out = keep ? open_memstream(json, &jn) : lm_project_out(k->p);
  if (!out) out = lm_project_out(k->p);
  int rc = lm_lint(k->p, NULL, 0, k->c->json, out, nerr, nwarn);
  if (out != lm_project_out(k->p)) fclose(out);
  if (!k->c->json && *json) {
    if (*nerr) fputs(*json, lm_project_out(k->p));
    free(*json);
    *json = NULL;
  }
  if (rc) {
    report(k);
    return;
  }
  if (*nerr) problem(k, "lint found %d error%s", *nerr, *nerr > 1 ? "s" : "");
}

/* The dialect the model is compared in: the project's, SQLite without one
 * (the chain's scratch database is then SQLite too). */
static const lm_dialect *model_dialect(lm_project *p) {
  return lm_project_dialect(p) ? lm_project_dialect(p) : lm_dialect_named("sqlite");
}

/* The model (loaded already: a model that does not load is a loading error,
 * exit 2) against the schema the chain produces at its head, on a scratch
 * database: CI's `alembic check`. */
static void check_model(checker *k, lm_schema *model) {
  lm_project *p = k->p;
  if (!model) return;
  const lm_dialect *d = model_dialect(p);
  lm_schema *chain = NULL;
  if (lm_chain_schema(p, k->c->scratch_url, NULL, &chain)) {
    lm_error_prefix("cannot compare the model with the chain");
    report(k);
    return;
  }
  /* the model's checks as the server would write them, where it rewrites
   * them: without a server to ask, a check is compared by its name only */
  if (lm_project_url(p) && lm_project_canonical_checks(p, model, chain)) lm_error_clear();
  lm_diff diff;
  lm_compare(d, model, chain, &diff);
  for (int i = 0; i < diff.n; i++)
    problem(k, "model differs: %s", diff.v[i].what);
  lm_diff_free(&diff);
  lm_schema_free(chain);
}

/* check --drift could not read or compare: the error is the problem, and
 * the reason a fleet target failed. */
static void drift_failed(checker *k) {
  free(k->drift_failed);
  k->drift_failed = lm_xstrdup(lm_error_last()->message);
  lm_error_prefix("check --drift");
  report(k);
}

/* The live database against the schema the chain produces at the
 * database's applied revision: each change made by hand. */
static void check_drift(checker *k) {
  lm_project *p = k->p;
  if (!lm_project_url(p)) {
    problem(k, "check --drift needs a database URL (set url in luamig.lua, set DATABASE_URL or "
               "pass --url)");
    return;
  }
  /* it only reads: a SQLite file that is not there is not made */
  if (lm_project_must_exist(p)) {
    drift_failed(k);
    return;
  }
  int *state = lm_xcalloc((size_t)lm_project_graph(p)->n + 1, sizeof *state);
  lm_schema *live = NULL, *chain = NULL;
  int rc = lm_project_applied(p, state);
  if (!rc) rc = lm_project_schema(p, &live);
  if (!rc) rc = lm_chain_schema(p, k->c->scratch_url, state, &chain);
  if (!rc) rc = lm_project_canonical_checks(p, chain, live);
  free(state);
  if (rc) {
    drift_failed(k);
    lm_schema_free(live);
    return;
  }
  lm_diff diff;
  lm_compare(lm_project_dialect(p), chain, live, &diff);
  for (int i = 0; i < diff.n; i++) {
    const lm_diff_item *it = &diff.v[i];
    switch (it->change) {
    case LM_CH_ADDED:
      problem(k, "drift: %s exists in the chain but not in the database", it->object);
      break;
    case LM_CH_REMOVED:
      problem(k, "drift: %s exists in the database but not in the chain", it->object);
      break;
    default:
      problem(k, "drift: %s differs: the chain has %s", it->object,
              it->detail ? it->detail : it->what);
      break;
    }
  }
  lm_diff_free(&diff);
  lm_schema_free(live);
  lm_schema_free(chain);
}

/* check --drift --all: one target's drift, in the target's own process; the
 * problems go to stderr, which the fleet shows under the target's line. */
static int drift_one(lm_project *p, void *ud) {
  checker *k = ud;
  k->p = p;
  int before = k->problems;
  check_drift(k);
  int n = k->problems - before;
  if (k->drift_failed) { /* not drift: why the target could not be checked */
    lm_error_set(LM_ECHECK, "%s", k->drift_failed);
    free(k->drift_failed);
    k->drift_failed = NULL;
    return LM_ECHECK;
  }
  if (n) return lm_error_set(LM_ECHECK, "%d change%s made outside the chain", n, n == 1 ? "" : "s");
  return 0;
}

/* check --drift on the targets of luamig.lua (SPEC §11). */
static int check_drift_fleet(cli *c) {
  if (!c->drift) return lm_error_set(LM_EUSAGE, "check takes --all and --target only with --drift");
  if (c->roundtrip) return lm_error_set(LM_EUSAGE, "--roundtrip does not combine with --all");
  lm_project *p;
  int rc = cli_open(c, &p);
  if (rc) return rc;
  checker k;
  memset(&k, 0, sizeof k);
  k.c = c;
  k.p = p;
  rc = cli_fleet_each(c, p, drift_one, &k);
  lm_buf_free(&k.problem_json);
  free(k.drift_failed);
  lm_buf_free(&k.checked_json);
  lm_lint_findings_free(&k.findings);
  lm_project_free(p);
  return rc;
}

static void on_roundtrip_ok(void *ud, const lm_revision *r) {
  checker *k = ud;
  k->nchecked++;
  if (k->c->json) {
    if (k->checked_json.len) lm_buf_puts(&k->checked_json, ", ");
    lm_buf_printf(&k->checked_json, "\"%s\"", r->id);
  } else if (!k->c->quiet && k->c->format != LM_FORMAT_SARIF) {
    fprintf(lm_project_out(k->p), "roundtrip ok: %s %s\n", r->id, r->message ? r->message : "");
    fflush(lm_project_out(k->p));
  }
}

static void print_json(checker *k, const int *heads, int nheads, const lm_checksums *cs, int nerr,
                       int nwarn, const char *lint_json, int roundtrip_rc) {
  FILE *o = lm_project_out(k->p);
  const lm_graph *g = lm_project_graph(k->p);
  fprintf(o, "{\"ok\": %s, \"revisions\": %d, \"heads\": [", k->problems ? "false" : "true", g->n);
  for (int i = 0; i < nheads; i++)
    fprintf(o, "%s\"%s\"", i ? ", " : "", g->revs[heads[i]]->id);
  fprintf(o, "], \"checksums\": {\"status\": \"%s\", \"applied\": %d, \"changed\": [",
          checksum_status_name(cs->status), cs->napplied);
  for (int i = 0; i < cs->nchanged; i++) {
    const lm_revision *r = g->revs[cs->changed[i]];
    fprintf(o, "%s{\"revision\": \"%s\", \"path\": ", i ? ", " : "", r->id);
    cli_json_str(o, r->path);
    fputs("}", o);
  }
  fputs("], \"unknown\": [", o);
  for (int i = 0; i < cs->nunknown; i++) {
    fputs(i ? ", " : "", o);
    cli_json_str(o, cs->unknown[i]);
  }
  /* lint's own JSON, trimmed of its final newline */
  size_t ln = lint_json ? strlen(lint_json) : 0;
  while (ln && (lint_json[ln - 1] == '\n' || lint_json[ln - 1] == ' '))
    ln--;
  fprintf(o, "]}, \"lint\": {\"errors\": %d, \"warnings\": %d, \"findings\": %.*s}", nerr, nwarn,
          ln ? (int)ln : 2, ln ? lint_json : "[]");
  if (k->c->roundtrip)
    fprintf(o, ", \"roundtrip\": {\"ok\": %s, \"checked\": [%s]}", roundtrip_rc ? "false" : "true",
            k->checked_json.s ? k->checked_json.s : "");
  fprintf(o, ", \"problems\": [%s]}\n", k->problem_json.s ? k->problem_json.s : "");
  fflush(o);
}

int cmd_check(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  if (c->dialect && !c->roundtrip)
    return lm_error_set(LM_EUSAGE, "--dialect applies to check only with --roundtrip");
  if (cli_fleet_wanted(c)) return check_drift_fleet(c);
  /* the chain loads: a loading error is exit 2, as for every command */
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  /* so does the model, before anything runs; and --drift only reads: a
   * database that is not there is not made (exit 2, as for current) */
  lm_schema *model = NULL;
  if (!c->drift && lm_project_has_model(p))
    rc = lm_model_load(p, model_dialect(p), &model);
  else if (c->drift && (rc = lm_project_must_exist(p)))
    lm_error_prefix("check --drift");
  if (rc) {
    lm_project_free(p);
    return rc;
  }
  checker k;
  memset(&k, 0, sizeof k);
  k.c = c;
  k.p = p;
  k.annotate = c->format == LM_FORMAT_GITHUB || c->format == LM_FORMAT_SARIF;
  int *heads = lm_xcalloc((size_t)lm_project_graph(p)->n + 1, sizeof *heads), nheads = 0;
  check_heads(&k, heads, &nheads);
  lm_checksums cs;
  check_checksums(&k, &cs);
  int nerr = 0, nwarn = 0;
  char *lint_json = NULL;
  check_lint(&k, &nerr, &nwarn, &lint_json);
  if (c->drift)
    check_drift(&k);
  else
    check_model(&k, model);
  int roundtrip_rc = 0;
  if (c->roundtrip) {
    int n = 0;
    roundtrip_rc = lm_check_roundtrip(p, on_roundtrip_ok, &k, &n);
    /* interrupted, or nowhere to run: not a finding about the chain */
    if (roundtrip_rc == LM_EINTR || roundtrip_rc == LM_ECONFIG) {
      rc = roundtrip_rc;
      goto done;
    }
    if (roundtrip_rc) {
      /* the finding points at the revision that failed */
      const lm_error *e = lm_error_last();
      int idx = e->revision ? lm_graph_index(lm_project_graph(p), e->revision) : -1;
      if (!e->file && idx >= 0)
        finding(&k, "roundtrip", lm_project_graph(p)->revs[idx]->path, 1, e->message);
      report_rule(&k, e->file || idx < 0 ? "roundtrip" : NULL);
    }
  }
  if (k.annotate)
    lm_report_print(&k.findings, (lm_format)c->format, lm_project_dir(p),
                    LM_RULE_LINT | LM_RULE_CHECK, lm_project_out(p));
  if (c->format == LM_FORMAT_SARIF) {
    fflush(lm_project_out(p));
  } else if (c->json) {
    print_json(&k, heads, nheads, &cs, nerr, nwarn, lint_json, roundtrip_rc);
  } else if (!c->quiet && !k.problems) {
    fprintf(lm_project_out(p), "check ok: %d revision%s", lm_project_graph(p)->n,
            lm_project_graph(p)->n == 1 ? "" : "s");
    if (nheads == 1)
      fprintf(lm_project_out(p), ", head %s", lm_project_graph(p)->revs[heads[0]]->id);
    switch (cs.status) {
    case LM_CS_COMPARED:
      fprintf(lm_project_out(p), ", checksums match (%d applied)", cs.napplied);
      break;
    case LM_CS_NO_TABLE: fputs(", nothing applied yet", lm_project_out(p)); break;
    case LM_CS_NO_URL: fputs(", no database configured", lm_project_out(p)); break;
    case LM_CS_NO_DATABASE: fputs(", no database yet", lm_project_out(p)); break;
    case LM_CS_UNREACHABLE: fputs(", checksums not compared", lm_project_out(p)); break;
    }
    fprintf(lm_project_out(p), ", lint: %d warning%s", nwarn, nwarn == 1 ? "" : "s");
    if (c->roundtrip) fprintf(lm_project_out(p), ", every revision round-trips");
    fputc('\n', lm_project_out(p));
  }
  if (k.problems > 1) {
    rc = lm_error_set(LM_ECHECK, "check failed: %d problems", k.problems);
  } else if (k.problems) {
    /* The one problem is printed already; a cleared error makes the caller
     * print nothing more (lm_error_print prints only a set error). */
    lm_error_clear();
    rc = LM_ECHECK;
  }
done:
  lm_schema_free(model);
  lm_lint_findings_free(&k.findings);
  free(lint_json);
  lm_checksums_free(&cs);
  lm_buf_free(&k.problem_json);
  free(k.drift_failed);
  lm_buf_free(&k.checked_json);
  free(heads);
  lm_project_free(p);
  return rc;
}
