/* A revision as Alembic prints it (alembic/script/base.py): the one-line
 * form of history, heads, branches and current (Script._head_only) and the
 * full entry of --verbose and show (Script.log_entry). Branch labels are
 * shown where Alembic's RevisionMap puts them: on the labelled revision, on
 * every revision built on it (through down_revision), and on its ancestors
 * down to the preceding branch point or merge point. */
#include <stdlib.h>
#include <string.h>

#include "lm.h"

struct lm_revfmt {
  const lm_graph *g;
  int *ndependents;     /* revisions whose depends_on names this one */
  const char ***labels; /* the labels shown on each revision */
  int *nlabels;
};

static void add_label(lm_revfmt *f, int i, const char *label) {
  for (int k = 0; k < f->nlabels[i]; k++)
    if (strcmp(f->labels[i][k], label) == 0) return;
  f->labels[i] = lm_xrealloc(f->labels[i], (size_t)(f->nlabels[i] + 1) * sizeof *f->labels[i]);
  f->labels[i][f->nlabels[i]++] = label;
}

/* A branch point counting dependents too (Alembic's _is_real_branch_point). */
static int real_branch_point(const lm_revfmt *f, int i) {
  return f->g->revs[i]->nchildren + f->ndependents[i] > 1;
}

lm_revfmt *lm_revfmt_new(const lm_graph *g) {
  lm_revfmt *f = lm_xcalloc(1, sizeof *f);
  int n = g->n ? g->n : 1;
  f->g = g;
  f->ndependents = lm_xcalloc((size_t)n, sizeof *f->ndependents);
  f->labels = lm_xcalloc((size_t)n, sizeof *f->labels);
  f->nlabels = lm_xcalloc((size_t)n, sizeof *f->nlabels);
  for (int i = 0; i < g->n; i++)
    for (int j = 0; j < g->revs[i]->ndeps; j++)
      f->ndependents[g->revs[i]->deps[j]]++;
  /* a revision's own labels first, then those it takes from others */
  for (int i = 0; i < g->n; i++)
    for (int j = 0; j < g->revs[i]->nlabels; j++)
      add_label(f, i, g->revs[i]->labels[j]);
  if (!g->topo) return f;
  char *mark = lm_xcalloc((size_t)n, 1);
  for (int k = 0; k < g->n; k++) {
    int src = g->topo[k];
    const lm_revision *s = g->revs[src];
    if (!s->nlabels) continue;
    memset(mark, 0, (size_t)g->n);
    mark[src] = 1;
    /* descendants through down_revision only, not depends_on */
    for (int m = s->order + 1; m < g->n; m++) {
      const lm_revision *r = g->revs[g->topo[m]];
      for (int j = 0; j < r->nparents; j++)
        if (mark[r->parents[j]]) {
          mark[g->topo[m]] = 1;
          break;
        }
    }
    /* ancestors, down to the preceding branch point or merge point */
    for (int a = src; a >= 0;) {
      if (real_branch_point(f, a) || g->revs[a]->nparents > 1) break;
      mark[a] = 1;
      a = g->revs[a]->nparents == 1 ? g->revs[a]->parents[0] : -1;
    }
    for (int i = 0; i < g->n; i++)
      if (mark[i] && i != src)
        for (int j = 0; j < s->nlabels; j++)
          add_label(f, i, s->labels[j]);
  }
  free(mark);
  return f;
}

void lm_revfmt_free(lm_revfmt *f) {
  if (!f) return;
  for (int i = 0; i < f->g->n; i++)
    free(f->labels[i]);
  free(f->labels);
  free(f->nlabels);
  free(f->ndependents);
  free(f);
}

int lm_revfmt_labels(const lm_revfmt *f, int idx, const char *const **labels) {
  *labels = f->labels[idx];
  return f->nlabels[idx];
}

static void put_list(FILE *out, char *const *v, int n) {
  for (int i = 0; i < n; i++)
    fprintf(out, "%s%s", i ? ", " : "", v[i]);
}

static void put_down(FILE *out, const lm_revision *r) {
  if (r->ndown == 0)
    fputs("<base>", out);
  else
    put_list(out, r->down, r->ndown);
}

void lm_revfmt_line(const lm_revfmt *f, int idx, int flags, FILE *out) {
  const lm_revision *r = f->g->revs[idx];
  if (flags & LM_FMT_PARENTS) {
    put_down(out, r);
    if (r->ndepends) {
      fputs(" (", out);
      put_list(out, r->depends, r->ndepends);
      fputc(')', out);
    }
    fputs(" -> ", out);
  }
  fputs(r->id, out);
  if ((flags & LM_FMT_BRANCHES) && f->nlabels[idx]) {
    fputs(" (", out);
    put_list(out, (char *const *)f->labels[idx], f->nlabels[idx]);
    fputc(')', out);
  }
  if (r->nchildren == 0) fputs(f->ndependents[idx] ? " (effective head)" : " (head)", out);
  if (flags & LM_FMT_CURRENT) fputs(" (current)", out);
  if (flags & LM_FMT_TREE) {
    if (r->nchildren > 1) fputs(" (branchpoint)", out);
    if (r->ndown > 1) fputs(" (mergepoint)", out);
  }
  if (flags & LM_FMT_DOC) fprintf(out, ", %s", r->message);
}

static int py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

void lm_revfmt_entry(const lm_revfmt *f, int idx, int flags, const char *applied, FILE *out) {
  const lm_revision *r = f->g->revs[idx];
  fprintf(out, "Rev: %s", r->id);
  if (r->nchildren == 0) fputs(" (head)", out);
  if (r->nchildren > 1) fputs(" (branchpoint)", out);
  if (r->ndown > 1) fputs(" (mergepoint)", out);
  if (flags & LM_FMT_CURRENT) fputs(" (current)", out);
  fputs(r->ndown > 1 ? "\nMerges: " : "\nParent: ", out);
  put_down(out, r);
  fputc('\n', out);
  if (r->ndepends) {
    fputs("Also depends on: ", out);
    put_list(out, r->depends, r->ndepends);
    fputc('\n', out);
  }
  if (r->nchildren > 1) {
    fputs("Branches into: ", out);
    for (int i = 0; i < r->nchildren; i++)
      fprintf(out, "%s%s", i ? ", " : "", f->g->revs[r->children[i]]->id);
    fputc('\n', out);
  }
  if (f->nlabels[idx]) {
    fputs("Branch names: ", out);
    put_list(out, (char *const *)f->labels[idx], f->nlabels[idx]);
    fputc('\n', out);
  }
  if (r->multistep) {
    fputs("Steps: ", out);
    put_list(out, r->step_names, r->nsteps);
    fputc('\n', out);
  }
  if (applied) fprintf(out, "Applied: %s\n", applied);
  fprintf(out, "Path: %s\n\n", r->path);
  /* the header comment stripped, each of its lines indented by 4 */
  const char *doc = r->doc ? r->doc : r->message ? r->message : "";
  const char *end = doc + strlen(doc);
  while (doc < end && py_space(*doc))
    doc++;
  while (end > doc && py_space(end[-1]))
    end--;
  for (const char *p = doc; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *stop = nl ? nl : end;
    size_t n = (size_t)(stop - p);
    if (n && p[n - 1] == '\r') n--;
    fprintf(out, "%s    %.*s", p == doc ? "" : "\n", (int)n, p);
    p = nl ? nl + 1 : end;
  }
  fputs("\n\n", out);
}
