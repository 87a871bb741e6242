/* libFuzzer target: the revision graph (lm_graph_build), lookups, heads,
 * ancestor walks and upgrade/downgrade plans. The input is text, one item a
 * line:
 *   ID[:PARENT,...][;DEP,...][|LABEL,...][#STEP,...]   a revision
 *   =DIGITS                                            steps applied per revision
 *   >TARGET[/STEP]                                     a target (stop-before STEP)
 * Every built graph is queried with every target, and the results are
 * checked for indices and steps that stay in range. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

#define MAX_REVS 64
#define MAX_TARGETS 16

/* Splits s[0..n) at commas into a fresh list. */
static char **split(const char *s, size_t n, int *count) {
  *count = 0;
  if (n == 0) return NULL;
  char **v = lm_xcalloc(n + 1, sizeof *v);
  size_t start = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == ',') {
      v[(*count)++] = lm_xstrndup(s + start, i - start);
      start = i + 1;
    }
  return v;
}

/* The field of line[0..n) introduced by sep, up to the next separator. */
static const char *field(const char *line, size_t n, char sep, size_t *len) {
  const char *p = memchr(line, sep, n);
  if (!p) return NULL;
  p++;
  size_t k = 0;
  while (p + k < line + n && !strchr(":;|#", p[k]))
    k++;
  *len = k;
  return p;
}

static lm_revision *parse_revision(const char *line, size_t n) {
  lm_revision *r = lm_xcalloc(1, sizeof *r);
  size_t idlen = 0;
  while (idlen < n && !strchr(":;|#", line[idlen]))
    idlen++;
  r->id = lm_xstrndup(line, idlen);
  r->path = lm_xasprintf("versions/%s.lua", r->id);
  r->message = lm_xstrdup("fuzz");
  size_t len;
  const char *f;
  if ((f = field(line, n, ':', &len))) r->down = split(f, len, &r->ndown);
  if ((f = field(line, n, ';', &len))) r->depends = split(f, len, &r->ndepends);
  if ((f = field(line, n, '|', &len))) r->labels = split(f, len, &r->nlabels);
  r->nsteps = 1;
  if ((f = field(line, n, '#', &len)) && len > 0) {
    r->step_names = split(f, len, &r->nsteps);
    r->multistep = 1;
  }
  r->has_downgrade = 1;
  r->env_ref = -1;
  return r;
}

static void check_plan(const lm_graph *g, const lm_plan *p) {
  for (int i = 0; i < p->n; i++) {
    if (p->v[i].rev < 0 || p->v[i].rev >= g->n) abort();
    if (p->v[i].step < 0 || p->v[i].step >= g->revs[p->v[i].rev]->nsteps) abort();
  }
}

static void query(const lm_graph *g, const int *state, char **targets, int ntargets) {
  int n = g->n;
  /* topo is a permutation */
  char *seen = lm_xcalloc((size_t)n + 1, 1);
  for (int k = 0; k < n; k++) {
    if (g->topo[k] < 0 || g->topo[k] >= n || seen[g->topo[k]]) abort();
    seen[g->topo[k]] = 1;
  }
  free(seen);

  int *heads = lm_xcalloc((size_t)n + 1, sizeof *heads);
  int nh = lm_graph_heads(g, heads);
  if (n > 0 && nh < 1) abort();
  char *mark = lm_xcalloc((size_t)n + 1, 1);
  for (int i = 0; i < n; i++) {
    int idx = -1;
    if (lm_graph_find(g, g->revs[i]->id, &idx) == 0 && (idx < 0 || idx >= n)) abort();
    size_t len = strlen(g->revs[i]->id);
    if (len > 1) {
      char *prefix = lm_xstrndup(g->revs[i]->id, len / 2);
      if (lm_graph_find(g, prefix, &idx) == 0 && (idx < 0 || idx >= n)) abort();
      free(prefix);
    }
    memset(mark, 0, (size_t)n);
    lm_graph_mark_ancestors(g, i, mark);
    if (!mark[i]) abort();
    memset(mark, 0, (size_t)n);
    lm_graph_mark_descendants(g, i, mark);
  }
  int nah = lm_plan_applied_heads(g, state, heads);
  for (int k = 0; k < nah; k++)
    if (heads[k] < 0 || heads[k] >= n) abort();
  free(mark);
  free(heads);

  for (int k = 0; k < ntargets; k++) {
    char *spec = lm_xstrdup(targets[k]);
    char *stop = strchr(spec, '/');
    if (stop) *stop++ = 0;
    lm_target t;
    if (lm_target_parse(&t, spec) == 0) {
      lm_plan p;
      if (lm_plan_upgrade(g, state, &t, stop, &p) == 0) check_plan(g, &p);
      lm_plan_free(&p);
      if (lm_plan_downgrade(g, state, &t, &p) == 0) check_plan(g, &p);
      lm_plan_free(&p);
    }
    free(spec);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lm_graph g;
  lm_graph_init(&g);
  char *targets[MAX_TARGETS];
  int ntargets = 0;
  const char *digits = NULL;
  size_t ndigits = 0;
  const char *text = (const char *)data;
  size_t pos = 0;
  while (pos < size) {
    const char *nl = memchr(text + pos, '\n', size - pos);
    size_t n = nl ? (size_t)(nl - (text + pos)) : size - pos;
    const char *line = text + pos;
    pos += n + 1;
    if (n == 0 || memchr(line, 0, n)) continue; /* ids are C strings */
    if (line[0] == '>') {
      if (ntargets < MAX_TARGETS) targets[ntargets++] = lm_xstrndup(line + 1, n - 1);
    } else if (line[0] == '=') {
      digits = line + 1, ndigits = n - 1;
    } else if (g.n < MAX_REVS) {
      lm_graph_add(&g, parse_revision(line, n));
    }
  }

  if (lm_graph_build(&g) == 0) {
    int *state = lm_xcalloc((size_t)g.n + 1, sizeof *state);
    for (int i = 0; i < g.n && (size_t)i < ndigits; i++)
      state[i] = (unsigned char)digits[i] % (g.revs[i]->nsteps + 1);
    query(&g, state, targets, ntargets);
    free(state);
  }
  for (int k = 0; k < ntargets; k++)
    free(targets[k]);
  lm_graph_free(&g);
  lm_error_clear();
  return 0;
}
