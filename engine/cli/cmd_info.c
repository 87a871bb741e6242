/* history, heads, branches, show: the chain as Alembic prints it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_parents(FILE *out, const lm_revision *r) {
  if (r->ndown == 0) fputs("<base>", out);
  for (int i = 0; i < r->ndown; i++)
    fprintf(out, "%s%s", i ? ", " : "", r->down[i]);
}

static void print_marks(FILE *out, const lm_revision *r) {
  for (int i = 0; i < r->nlabels; i++)
    fprintf(out, " (%s)", r->labels[i]);
  if (r->nchildren == 0) fputs(" (head)", out);
  if (r->nchildren > 1) fputs(" (branchpoint)", out);
  if (r->ndown > 1) fputs(" (mergepoint)", out);
}

static void print_line(FILE *out, const lm_revision *r) {
  print_parents(out, r);
  fprintf(out, " -> %s", r->id);
  print_marks(out, r);
  fprintf(out, ", %s\n", r->message);
}

static void print_verbose(FILE *out, const lm_revision *r) {
  fprintf(out, "Rev: %s", r->id);
  print_marks(out, r);
  fputs("\nParent: ", out);
  print_parents(out, r);
  fputc('\n', out);
  if (r->nlabels) {
    fputs("Branch names: ", out);
    for (int i = 0; i < r->nlabels; i++)
      fprintf(out, "%s%s", i ? ", " : "", r->labels[i]);
    fputc('\n', out);
  }
  if (r->ndepends) {
    fputs("Also depends on: ", out);
    for (int i = 0; i < r->ndepends; i++)
      fprintf(out, "%s%s", i ? ", " : "", r->depends[i]);
    fputc('\n', out);
  }
  if (r->multistep) {
    fputs("Steps: ", out);
    for (int i = 0; i < r->nsteps; i++)
      fprintf(out, "%s%s", i ? ", " : "", r->step_names[i]);
    fputc('\n', out);
  }
  fprintf(out, "Path: %s\n\n", r->path);
  const char *doc = r->doc ? r->doc : r->message;
  const char *p = doc;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    if (n)
      fprintf(out, "    %.*s\n", (int)n, p);
    else
      fputc('\n', out);
    p += n + (nl ? 1 : 0);
  }
  fputc('\n', out);
}

static void print_json(FILE *out, const lm_revision *r, int first) {
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
  fprintf(out, ", \"head\": %s}", r->nchildren == 0 ? "true" : "false");
}

/* Resolves one end of -r FROM:TO; empty means open. */
static int range_end(const lm_graph *g, const char *s, int *idx) {
  *idx = -1;
  if (!*s || strcmp(s, "base") == 0 || strcmp(s, "head") == 0 || strcmp(s, "heads") == 0) return 0;
  return lm_graph_find(g, s, idx);
}

int cmd_history(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = &p->graph;
  int n = g->n ? g->n : 1;
  char *keep = lm_xcalloc((size_t)n, 1);
  memset(keep, 1, (size_t)g->n);
  if (c->range) {
    char from[128], to[128];
    int a = -1, b = -1;
    rc = lm_range_split(c->range, from, sizeof from, to, sizeof to);
    if (!rc && !strchr(c->range, ':'))
      rc = lm_error_set(LM_EUSAGE, "-r needs a range FROM:TO, such as base:head or abc123:");
    if (!rc) rc = range_end(g, from, &a);
    if (!rc) rc = range_end(g, to, &b);
    if (!rc) {
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
    }
  }
  if (!rc) {
    if (c->json) fputs("[", stdout);
    int first = 1;
    for (int k = g->n - 1; k >= 0; k--) {
      const lm_revision *r = g->revs[g->topo[k]];
      if (!keep[g->topo[k]]) continue;
      if (c->json)
        print_json(stdout, r, first);
      else if (c->verbose)
        print_verbose(stdout, r);
      else
        print_line(stdout, r);
      first = 0;
    }
    if (c->json) fputs("]\n", stdout);
  }
  free(keep);
  lm_project_free(p);
  return rc;
}

int cmd_heads(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = &p->graph;
  int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
  int nh = lm_graph_heads(g, heads);
  if (c->json) fputs("[", stdout);
  for (int i = 0; i < nh; i++) {
    const lm_revision *r = g->revs[heads[i]];
    if (c->json)
      print_json(stdout, r, i == 0);
    else if (c->verbose)
      print_verbose(stdout, r);
    else
      printf("%s (head)\n", r->id);
  }
  if (c->json) fputs("]\n", stdout);
  free(heads);
  lm_project_free(p);
  return 0;
}

int cmd_branches(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = &p->graph;
  for (int k = 0; k < g->n; k++) {
    const lm_revision *r = g->revs[g->topo[k]];
    if (r->nchildren < 2) continue;
    printf("%s (branchpoint), %s\n", r->id, r->message);
    for (int i = 0; i < r->nchildren; i++) {
      const lm_revision *ch = g->revs[r->children[i]];
      printf("    -> %s%s, %s\n", ch->id, ch->nchildren == 0 ? " (head)" : "", ch->message);
    }
  }
  lm_project_free(p);
  return 0;
}

int cmd_show(cli *c) {
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  int idx;
  const lm_graph *g = &p->graph;
  const char *spec = c->pos[0];
  if (strcmp(spec, "head") == 0) {
    int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
    int nh = lm_graph_heads(g, heads);
    if (nh == 1)
      idx = heads[0];
    else
      rc = lm_error_set(LM_EUSAGE, nh ? "several heads: name one revision" : "no revisions yet");
    free(heads);
  } else {
    rc = lm_graph_find(g, spec, &idx);
  }
  if (!rc) {
    const lm_revision *r = g->revs[idx];
    print_verbose(stdout, r);
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
