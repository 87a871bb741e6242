/* history, heads, branches, show: the chain as Alembic prints it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void json_list(FILE *out, const char *name, const char *const *v, int n) {
  fprintf(out, ", \"%s\": [", name);
  for (int i = 0; i < n; i++) {
    if (i) fputs(", ", out);
    cli_json_str(out, v[i]);
  }
  fputc(']', out);
}

static void print_json(FILE *out, const lm_graph *g, const lm_revfmt *f, int idx, int first) {
  const lm_revision *r = g->revs[idx];
  const char *const *labels;
  int nlabels = lm_revfmt_labels(f, idx, &labels);
  fputs(first ? "" : ", ", out);
  fputs("{\"revision\": ", out);
  cli_json_str(out, r->id);
  fputs(", \"down_revision\": [", out);
  for (int i = 0; i < r->ndown; i++) {
    if (i) fputs(", ", out);
    cli_json_str(out, r->down[i]);
  }
  fputs("], \"message\": ", out);
  cli_json_str(out, r->message);
  fputs(", \"path\": ", out);
  cli_json_str(out, r->path);
  fprintf(out, ", \"head\": %s", r->nchildren == 0 ? "true" : "false");
  json_list(out, "depends_on", (const char *const *)r->depends, r->ndepends);
  json_list(out, "branch_labels", labels, nlabels);
  fputs("}", out);
}

/* Resolves one end of -r FROM:TO; empty (and base, heads) means open. */
static int range_end(const lm_graph *g, const int *state, const char *s, int *idx) {
  *idx = -1;
  if (!*s || strcmp(s, "base") == 0 || strcmp(s, "heads") == 0) return 0;
  return lm_plan_resolve(g, state, s, idx);
}

/* history -r FROM:TO as Alembic reads it: a FROM of -N counts back from TO,
 * a TO of +N counts up from FROM. */
static int history_range(const lm_graph *g, const int *state, const char *range, char *keep) {
  char from[128], to[128];
  int a = -1, b = -1, n = g->n ? g->n : 1;
  int rc = lm_range_split(range, from, sizeof from, to, sizeof to);
  if (!rc && !strchr(range, ':'))
    rc = lm_error_set(LM_EUSAGE, "-r needs a range FROM:TO, such as base:head, 44f: or -3:head");
  if (rc) return rc;
  char spec[300];
  if (from[0] == '-' && from[1] >= '0' && from[1] <= '9') {
    snprintf(spec, sizeof spec, "%s%s", *to ? to : "head", from);
    rc = range_end(g, state, spec, &a);
  } else {
    rc = range_end(g, state, from, &a);
  }
  if (!rc && to[0] == '+') {
    snprintf(spec, sizeof spec, "%s%s", *from ? from : "base", to);
    rc = range_end(g, state, spec, &b);
  } else if (!rc) {
    rc = range_end(g, state, to, &b);
  }
  if (rc) return rc;
  char *m = lm_xcalloc((size_t)n, 1);
  if (a >= 0) {
    memset(keep, 0, (size_t)g->n);
    lm_graph_mark_descendants(g, a, keep);
  }
  if (b >= 0) {
    lm_graph_mark_ancestors(g, b, m);
    for (int i = 0; i < g->n; i++)
      keep[i] = keep[i] && m[i];
  }
  free(m);
  return 0;
}

static int names_current(const char *s) { return s && strstr(s, "current") != NULL; }

int cmd_history(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = lm_project_graph(p);
  int n = g->n ? g->n : 1;
  char *keep = lm_xcalloc((size_t)n, 1);
  memset(keep, 1, (size_t)g->n);
  int *state = NULL;
  /* the database is read only when asked for: history works without one */
  if (c->indicate_current || names_current(c->range)) rc = lm_read_applied(p, &state);
  char *current = lm_xcalloc((size_t)n, 1);
  if (!rc && state) {
    int *heads = lm_xcalloc((size_t)n, sizeof *heads);
    int nh = lm_plan_applied_heads(g, state, heads);
    for (int k = 0; k < nh; k++)
      current[heads[k]] = 1;
    free(heads);
  }
  if (!rc && c->range) rc = history_range(g, state, c->range, keep);
  if (!rc) {
    lm_revfmt *f = lm_revfmt_new(g);
    if (c->json) fputs("[", stdout);
    int first = 1;
    for (int k = g->n - 1; k >= 0; k--) {
      int i = g->topo[k];
      if (!keep[i]) continue;
      int mark = c->indicate_current && current[i] ? LM_FMT_CURRENT : 0;
      if (c->json) {
        print_json(stdout, g, f, i, first);
      } else if (c->verbose) {
        lm_revfmt_entry(f, i, mark, NULL, stdout);
      } else {
        lm_revfmt_line(f, i, LM_FMT_PARENTS | LM_FMT_BRANCHES | LM_FMT_TREE | LM_FMT_DOC | mark,
                       stdout);
        fputc('\n', stdout);
      }
      first = 0;
    }
    if (c->json) fputs("]\n", stdout);
    lm_revfmt_free(f);
  }
  free(current);
  free(state);
  free(keep);
  lm_project_free(p);
  return rc;
}

int cmd_heads(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = lm_project_graph(p);
  int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
  int nh = lm_graph_heads(g, heads);
  lm_revfmt *f = lm_revfmt_new(g);
  if (c->json) fputs("[", stdout);
  for (int i = 0; i < nh; i++) {
    if (c->json) {
      print_json(stdout, g, f, heads[i], i == 0);
    } else if (c->verbose) {
      lm_revfmt_entry(f, heads[i], 0, NULL, stdout);
    } else {
      lm_revfmt_line(f, heads[i], LM_FMT_BRANCHES, stdout);
      fputc('\n', stdout);
    }
  }
  if (c->json) fputs("]\n", stdout);
  lm_revfmt_free(f);
  free(heads);
  lm_project_free(p);
  return 0;
}

int cmd_branches(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = lm_project_graph(p);
  lm_revfmt *f = lm_revfmt_new(g);
  /* as `alembic branches`: newest first, each branch point then its
   * children under it; -v gives the branch point's full entry and the
   * children's messages */
  for (int k = g->n - 1; k >= 0; k--) {
    int i = g->topo[k];
    const lm_revision *r = g->revs[i];
    if (r->nchildren < 2) continue;
    if (c->verbose) {
      lm_revfmt_entry(f, i, 0, NULL, stdout);
    } else {
      lm_revfmt_line(f, i, LM_FMT_BRANCHES | LM_FMT_TREE, stdout);
      fputc('\n', stdout);
    }
    for (int j = 0; j < r->nchildren; j++) {
      fprintf(stdout, "%*s -> ", (int)strlen(r->id), "");
      lm_revfmt_line(f, r->children[j],
                     LM_FMT_BRANCHES | LM_FMT_TREE | (c->verbose ? LM_FMT_DOC : 0), stdout);
      fputc('\n', stdout);
    }
    fputc('\n', stdout);
  }
  lm_revfmt_free(f);
  lm_project_free(p);
  return 0;
}

int cmd_show(cli *c) {
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  int idx;
  const lm_graph *g = lm_project_graph(p);
  const char *spec = c->pos[0];
  int *state = NULL;
  if (strcmp(spec, "head") == 0) {
    int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
    int nh = lm_graph_heads(g, heads);
    if (nh == 1)
      idx = heads[0];
    else
      rc = lm_error_set(LM_EUSAGE, nh ? "several heads: name one revision" : "no revisions yet");
    free(heads);
  } else {
    if (names_current(spec)) rc = lm_read_applied(p, &state);
    if (!rc) rc = lm_plan_resolve(g, state, spec, &idx);
    if (!rc && idx < 0)
      rc = lm_error_set(LM_EUSAGE, "'%s' is base: nothing is applied there to show", spec);
    free(state);
  }
  if (!rc) {
    const lm_revision *r = g->revs[idx];
    lm_revfmt *f = lm_revfmt_new(g);
    lm_revfmt_entry(f, idx, 0, NULL, stdout);
    lm_revfmt_free(f);
    char *text;
    size_t len;
    if (lm_read_file(r->path, &text, &len) == 0) {
      fputs("---\n", stdout);
      fwrite(text, 1, len, stdout);
      if (len && text[len - 1] != '\n') fputc('\n', stdout);
      free(text);
    }
  }
  lm_project_free(p);
  return rc;
}
