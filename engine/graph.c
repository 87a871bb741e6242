/* The revision graph: revisions as loaded from their files, linked by
 * down_revision (parents) and depends_on (deps), and ordered so that every
 * revision comes after everything it needs. */
#include <stdlib.h>
#include <unistd.h>
#include <ctype.h>
#include <string.h>

#include "lm.h"

static const char *rpath(const lm_revision *r) { return r->path ? r->path : "<unknown file>"; }

void lm_graph_init(lm_graph *g) { memset(g, 0, sizeof *g); }

void lm_graph_free(lm_graph *g) {
  for (int i = 0; i < g->n; i++)
    lm_revision_free(g->revs[i]);
  free(g->revs);
  free(g->topo);
  free(g->slots);
  lm_graph_init(g);
}

void lm_graph_add(lm_graph *g, lm_revision *r) {
  if (g->n == g->cap) {
    g->cap = g->cap ? g->cap * 2 : 16;
    g->revs = lm_xrealloc(g->revs, (size_t)g->cap * sizeof *g->revs);
  }
  g->revs[g->n++] = r;
}

static void free_strv(char **v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void lm_revision_free(lm_revision *r) {
  if (!r) return;
  free(r->id);
  free(r->path);
  free(r->message);
  free(r->doc);
  free(r->chunk);
  free(r->chunkname);
  free(r->file_checksum);
  free(r->recorded_checksum);
  lm_chunk_file_release(r->chunk_file);
  free_strv(r->down, r->ndown);
  free_strv(r->depends, r->ndepends);
  free_strv(r->labels, r->nlabels);
  /* step_names is only meaningful for multi-step revisions, but free it
   * whenever present so a half-filled struct from a failed load is safe. */
  free_strv(r->step_names, r->nsteps);
  free(r->parents);
  free(r->children);
  free(r->deps);
  free(r);
}

/* ---- name lookup --------------------------------------------------------- */

/* A (name, revision) pair; sorted by name, then by the order revisions were
 * added, so that lookups and duplicate reports do not depend on qsort. */
typedef struct key {
  const char *s;
  int idx;
} key;

static int key_cmp(const void *a, const void *b) {
  const key *x = a, *y = b;
  int c = strcmp(x->s, y->s);
  if (c) return c;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

/* First entry named s, or -1. */
static int key_find(const key *k, int n, const char *s) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (strcmp(k[mid].s, s) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && strcmp(k[lo].s, s) == 0 ? lo : -1;
}

/* ---- building ------------------------------------------------------------ */

static int contains(const int *v, int n, int x) {
  for (int i = 0; i < n; i++)
    if (v[i] == x) return 1;
  return 0;
}

/* "FILE:LINE" of r's assignment on line, or "FILE" when the line is unknown
 * (an assignment the loader could not find in the text, a test's revision). */
static char *place(const lm_revision *r, int line) {
  return line > 0 ? lm_xasprintf("%s:%d", rpath(r), line) : lm_xstrdup(rpath(r));
}

/* Makes the error set before it "FILE:LINE: message", the way
 * bindings/revision.c words what it finds in one file, at r's assignment on
 * line (the one that causes the error). */
static int load_error(const lm_revision *r, int line) {
  char *at = place(r, line);
  lm_error_prefix("%s", at);
  free(at);
  lm_error_set_location(rpath(r), line > 0 ? line : 0);
  return LM_ELOAD;
}

/* Ready revisions waiting in Kahn's algorithm; a min-heap on the add index
 * makes the topological order a function of the input alone. */
typedef struct heap {
  int *v;
  int n;
} heap;

static void heap_push(heap *h, int x) {
  int i = h->n++;
  h->v[i] = x;
  while (i > 0 && h->v[(i - 1) / 2] > h->v[i]) {
    int p = (i - 1) / 2, t = h->v[p];
    h->v[p] = h->v[i];
    h->v[i] = t;
    i = p;
  }
}

static int heap_pop(heap *h) {
  int top = h->v[0];
  h->v[0] = h->v[--h->n];
  for (int i = 0;;) {
    int l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && h->v[l] < h->v[m]) m = l;
    if (r < h->n && h->v[r] < h->v[m]) m = r;
    if (m == i) break;
    int t = h->v[m];
    h->v[m] = h->v[i];
    h->v[i] = t;
    i = m;
  }
  return top;
}

/* Called when Kahn's algorithm leaves revisions unplaced: each of them still
 * waits for an unplaced parent or dep, so walking those edges backwards
 * from any of them must come round to a revision seen before. */
static int report_cycle(const lm_graph *g, const int *indeg) {
  int start = -1;
  for (int i = 0; i < g->n && start < 0; i++)
    if (indeg[i] > 0) start = i;
  int *seen_at = lm_xmalloc((size_t)g->n * sizeof *seen_at);
  int *walk = lm_xmalloc((size_t)g->n * sizeof *walk);
  /* the line of the assignment that made each step of the walk: the
   * down_revision or depends_on naming the next revision */
  int *line = lm_xmalloc((size_t)g->n * sizeof *line);
  for (int i = 0; i < g->n; i++)
    seen_at[i] = -1;
  int len = 0, v = start;
  while (seen_at[v] < 0) {
    seen_at[v] = len;
    walk[len] = v;
    const lm_revision *r = g->revs[v];
    int next = -1;
    for (int i = 0; i < r->nparents && next < 0; i++)
      if (indeg[r->parents[i]] > 0) next = r->parents[i];
    line[len] = r->down_line;
    for (int i = 0; i < r->ndeps && next < 0; i++)
      if (indeg[r->deps[i]] > 0) {
        next = r->deps[i];
        line[len] = r->depends_line;
      }
    len++;
    v = next;
  }
  /* walk[seen_at[v] .. len-1] is the cycle, each entry a child of the next;
   * print it parent-first, as upgrades read, from its earliest-added member,
   * each with the place of the assignment that makes it a child of the one
   * printed before it (the first one's is the error's own place). */
  int first = seen_at[v], clen = len - first, lowest = 0;
  for (int i = 1; i < clen; i++)
    if (walk[first + i] < walk[first + lowest]) lowest = i;
  lm_buf b;
  lm_buf_init(&b);
  for (int k = 0; k <= clen; k++) {
    int pos = ((lowest - k) % clen + clen) % clen;
    const lm_revision *r = g->revs[walk[first + pos]];
    if (k) lm_buf_puts(&b, " -> ");
    lm_buf_puts(&b, r->id);
    if (k && k < clen) {
      char *at = place(r, line[first + pos]);
      lm_buf_printf(&b, " (%s)", at);
      free(at);
    }
  }
  const lm_revision *at = g->revs[walk[first + lowest]];
  int at_line = line[first + lowest];
  lm_error_set(LM_ELOAD, "revision cycle: %s", b.s);
  lm_buf_free(&b);
  free(seen_at);
  free(walk);
  free(line);
  return load_error(at, at_line);
}

/* Resolves one depends_on entry: a revision id, else a branch label. Prefixes
 * are not accepted here: a file that loads today must not become ambiguous
 * when someone adds a revision tomorrow. */
static int resolve_dep(const key *ids, int nids, const key *labels, int nlabels, const char *s) {
  int k = key_find(ids, nids, s);
  if (k >= 0) return ids[k].idx;
  k = key_find(labels, nlabels, s);
  return k >= 0 ? labels[k].idx : -1;
}

static int topo_sort(lm_graph *g) {
  int n = g->n;
  int *indeg = lm_xcalloc((size_t)n, sizeof *indeg);
  /* Successors (children and dependents) as one flat array per revision. */
  int *start = lm_xcalloc((size_t)n + 1, sizeof *start);
  for (int i = 0; i < n; i++) {
    const lm_revision *r = g->revs[i];
    indeg[i] = r->nparents + r->ndeps;
    for (int j = 0; j < r->nparents; j++)
      start[r->parents[j] + 1]++;
    for (int j = 0; j < r->ndeps; j++)
      start[r->deps[j] + 1]++;
  }
  for (int i = 0; i < n; i++)
    start[i + 1] += start[i];
  int *succ = lm_xmalloc((size_t)start[n] * sizeof *succ);
  int *fill = lm_xmalloc((size_t)n * sizeof *fill);
  memcpy(fill, start, (size_t)n * sizeof *fill);
  for (int i = 0; i < n; i++) {
    const lm_revision *r = g->revs[i];
    for (int j = 0; j < r->nparents; j++)
      succ[fill[r->parents[j]]++] = i;
    for (int j = 0; j < r->ndeps; j++)
      succ[fill[r->deps[j]]++] = i;
  }
  heap h = {lm_xmalloc((size_t)n * sizeof(int)), 0};
  for (int i = 0; i < n; i++)
    if (!indeg[i]) heap_push(&h, i);
  g->topo = lm_xmalloc((size_t)n * sizeof *g->topo);
  int placed = 0;
  while (h.n) {
    int v = heap_pop(&h);
    g->revs[v]->order = placed;
    g->topo[placed++] = v;
    for (int k = start[v]; k < start[v + 1]; k++)
      if (--indeg[succ[k]] == 0) heap_push(&h, succ[k]);
  }
  int rc = 0;
  if (placed < n) {
    rc = report_cycle(g, indeg);
    free(g->topo);
    g->topo = NULL;
  }
  free(h.v);
  free(fill);
  free(succ);
  free(start);
  free(indeg);
  return rc;
}

static int resolve(lm_graph *g, const key *ids, const key *labels, int nlabels) {
  int n = g->n;
  for (int i = 0; i < n; i++) {
    lm_revision *r = g->revs[i];
    /* nothing allocated for no edges: most revisions depend on nothing */
    r->parents = r->ndown ? lm_xmalloc((size_t)r->ndown * sizeof *r->parents) : NULL;
    for (int j = 0; j < r->ndown; j++) {
      int k = key_find(ids, n, r->down[j]);
      if (k < 0) {
        lm_error_set(LM_ELOAD, "down_revision '%s' names no revision", r->down[j]);
        return load_error(r, r->down_line);
      }
      int p = ids[k].idx;
      if (p == i) {
        lm_error_set(LM_ELOAD, "revision '%s' lists itself as its down_revision", r->id);
        return load_error(r, r->down_line);
      }
      /* {"a", "a"} is one parent: a repeated edge would be counted twice
       * when ordering and listed twice as a child. */
      if (!contains(r->parents, r->nparents, p)) r->parents[r->nparents++] = p;
    }
    r->deps = r->ndepends ? lm_xmalloc((size_t)r->ndepends * sizeof *r->deps) : NULL;
    for (int j = 0; j < r->ndepends; j++) {
      int d = resolve_dep(ids, n, labels, nlabels, r->depends[j]);
      if (d < 0) {
        lm_error_set(LM_ELOAD, "depends_on '%s' names no revision", r->depends[j]);
        return load_error(r, r->depends_line);
      }
      if (d == i) {
        lm_error_set(LM_ELOAD, "revision '%s' depends on itself", r->id);
        return load_error(r, r->depends_line);
      }
      /* A dependency that is also a parent adds nothing. */
      if (!contains(r->parents, r->nparents, d) && !contains(r->deps, r->ndeps, d))
        r->deps[r->ndeps++] = d;
    }
  }
  for (int i = 0; i < n; i++) {
    const lm_revision *r = g->revs[i];
    for (int j = 0; j < r->nparents; j++)
      g->revs[r->parents[j]]->nchildren++;
  }
  for (int i = 0; i < n; i++) {
    lm_revision *r = g->revs[i];
    r->children = r->nchildren ? lm_xmalloc((size_t)r->nchildren * sizeof *r->children) : NULL;
    r->nchildren = 0;
  }
  /* Filling in add order keeps every children[] sorted by add index. */
  for (int i = 0; i < n; i++) {
    const lm_revision *r = g->revs[i];
    for (int j = 0; j < r->nparents; j++) {
      lm_revision *p = g->revs[r->parents[j]];
      p->children[p->nchildren++] = i;
    }
  }
  return 0;
}

/* Reports the duplicate whose second occurrence was added first, naming the
 * first occurrence, so the message is the same on every run. */
static int check_duplicates(const lm_graph *g, const key *k, int nk, int labels) {
  int best = -1;
  for (int i = 1; i < nk; i++)
    if (strcmp(k[i].s, k[i - 1].s) == 0 && (best < 0 || k[i].idx < k[best].idx)) best = i;
  if (best < 0) return 0;
  int first = best;
  while (first > 0 && strcmp(k[first - 1].s, k[best].s) == 0)
    first--;
  const lm_revision *a = g->revs[k[first].idx], *b = g->revs[k[best].idx];
  /* reported at b's assignment, naming a's */
  char *at_a = place(a, labels ? a->labels_line : a->revision_line);
  if (labels)
    lm_error_set(LM_ELOAD, "branch label '%s' of %s is also a branch label of %s (%s)", k[best].s,
                 b->id, a->id, at_a);
  else
    lm_error_set(LM_ELOAD, "duplicate revision id '%s': %s sets it too", k[best].s, at_a);
  free(at_a);
  return load_error(b, labels ? b->labels_line : b->revision_line);
}

/* ---- the id index ----------------------------------------------------------
 * Exact-id lookups (every version-table row, every target) go through an
 * open-addressing table built once per build: a linear scan per row made
 * reading the state of N revisions O(N^2). */

static unsigned id_hash(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

static void index_ids(lm_graph *g) {
  int cap = 16;
  while (cap < 2 * g->n)
    cap *= 2;
  g->slots = lm_xcalloc((size_t)cap, sizeof *g->slots);
  g->nslots = cap;
  for (int i = 0; i < g->n; i++) {
    unsigned k = id_hash(g->revs[i]->id ? g->revs[i]->id : "") & (unsigned)(cap - 1);
    while (g->slots[k])
      k = (k + 1) & (unsigned)(cap - 1);
    g->slots[k] = i + 1;
  }
}

int lm_graph_build(lm_graph *g) {
  int n = g->n;
  /* Start from a clean slate so that a failed or repeated build never leaves
   * stale links behind. */
  free(g->topo);
  g->topo = NULL;
  free(g->slots);
  g->slots = NULL;
  g->nslots = 0;
  for (int i = 0; i < n; i++) {
    lm_revision *r = g->revs[i];
    free(r->parents);
    free(r->children);
    free(r->deps);
    r->parents = r->children = r->deps = NULL;
    r->nparents = r->nchildren = r->ndeps = 0;
    r->order = 0;
  }
  if (n == 0) {
    g->topo = lm_xmalloc(1);
    return 0;
  }
  key *ids = lm_xmalloc((size_t)n * sizeof *ids);
  int nlabels = 0;
  for (int i = 0; i < n; i++) {
    ids[i].s = g->revs[i]->id ? g->revs[i]->id : "";
    ids[i].idx = i;
    nlabels += g->revs[i]->nlabels;
  }
  key *labels = lm_xmalloc((size_t)nlabels * sizeof *labels);
  nlabels = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < g->revs[i]->nlabels; j++) {
      labels[nlabels].s = g->revs[i]->labels[j];
      labels[nlabels++].idx = i;
    }
  qsort(ids, (size_t)n, sizeof *ids, key_cmp);
  qsort(labels, (size_t)nlabels, sizeof *labels, key_cmp);
  int rc = check_duplicates(g, ids, n, 0);
  if (!rc) rc = check_duplicates(g, labels, nlabels, 1);
  if (!rc) rc = resolve(g, ids, labels, nlabels);
  if (!rc) rc = topo_sort(g);
  if (!rc) index_ids(g);
  free(labels);
  free(ids);
  return rc;
}

/* ---- queries --------------------------------------------------------------- */

static int has_label(const lm_revision *r, const char *s) {
  for (int j = 0; j < r->nlabels; j++)
    if (strcmp(r->labels[j], s) == 0) return 1;
  return 0;
}

/* Candidates are listed in topological order when the graph is built. */
static int nth(const lm_graph *g, int k) { return g->topo ? g->topo[k] : k; }

#define AMBIGUOUS_LIST_MAX 10

static int ambiguous(const lm_graph *g, const char *spec, int by_label) {
  lm_buf b;
  lm_buf_init(&b);
  size_t len = strlen(spec);
  int count = 0;
  for (int k = 0; k < g->n; k++) {
    const lm_revision *r = g->revs[nth(g, k)];
    int hit = by_label ? has_label(r, spec) : r->id && strncmp(r->id, spec, len) == 0;
    if (!hit) continue;
    if (count < AMBIGUOUS_LIST_MAX) lm_buf_printf(&b, "%s%s", count ? ", " : "", r->id);
    count++;
  }
  if (count > AMBIGUOUS_LIST_MAX) lm_buf_printf(&b, " and %d more", count - AMBIGUOUS_LIST_MAX);
  lm_error_set(LM_EUSAGE, "'%s' is ambiguous: it matches %s", spec, b.s);
  lm_buf_free(&b);
  return LM_EUSAGE;
}

int lm_graph_find(const lm_graph *g, const char *spec, int *idx) {
  if (!spec || !*spec) return lm_error_set(LM_EUSAGE, "no revision matches ''");
  int found = lm_graph_index(g, spec), count = 0;
  if (found >= 0) {
    *idx = found;
    return 0;
  }
  for (int i = 0; i < g->n; i++)
    if (has_label(g->revs[i], spec)) {
      if (!count++) found = i;
    }
  if (count == 1) {
    *idx = found;
    return 0;
  }
  /* lm_graph_build rejects a label used twice; this guards unbuilt graphs. */
  if (count > 1) return ambiguous(g, spec, 1);
  size_t len = strlen(spec);
  for (int i = 0; i < g->n; i++)
    if (g->revs[i]->id && strncmp(g->revs[i]->id, spec, len) == 0) {
      if (!count++) found = i;
    }
  if (count == 1) {
    *idx = found;
    return 0;
  }
  if (count > 1) return ambiguous(g, spec, 0);
  return lm_error_set(LM_EUSAGE, "no revision matches '%s'", spec);
}

int lm_graph_heads(const lm_graph *g, int *out) {
  int n = 0;
  for (int k = 0; k < g->n; k++) {
    int i = nth(g, k);
    if (g->revs[i]->nchildren == 0) {
      if (out) out[n] = i;
      n++;
    }
  }
  return n;
}

/* Both walks go through topological order, where everything a revision
 * needs comes before it, so one pass finds the whole closure. They work on a
 * scratch array so that marks already in mark[] (a caller building a union)
 * do not spread. */

void lm_graph_mark_ancestors(const lm_graph *g, int idx, char *mark) {
  if (idx < 0 || idx >= g->n || !g->topo) return;
  char *seen = lm_xcalloc((size_t)g->n, 1);
  seen[idx] = 1;
  for (int k = g->revs[idx]->order; k >= 0; k--) {
    const lm_revision *r = g->revs[g->topo[k]];
    if (!seen[g->topo[k]]) continue;
    for (int j = 0; j < r->nparents; j++)
      seen[r->parents[j]] = 1;
    for (int j = 0; j < r->ndeps; j++)
      seen[r->deps[j]] = 1;
  }
  for (int i = 0; i < g->n; i++)
    if (seen[i]) mark[i] = 1;
  free(seen);
}

void lm_graph_mark_descendants(const lm_graph *g, int idx, char *mark) {
  if (idx < 0 || idx >= g->n || !g->topo) return;
  char *seen = lm_xcalloc((size_t)g->n, 1);
  seen[idx] = 1;
  for (int k = g->revs[idx]->order + 1; k < g->n; k++) {
    const lm_revision *r = g->revs[g->topo[k]];
    int hit = 0;
    for (int j = 0; j < r->nparents && !hit; j++)
      hit = seen[r->parents[j]];
    for (int j = 0; j < r->ndeps && !hit; j++)
      hit = seen[r->deps[j]];
    if (hit) seen[g->topo[k]] = 1;
  }
  for (int i = 0; i < g->n; i++)
    if (seen[i]) mark[i] = 1;
  free(seen);
}

/* ---- checksums ------------------------------------------------------------ */

static char **module_dirs;
static int nmodule_dirs;

void lm_revision_set_module_dirs(char *const *dirs, int n) {
  for (int i = 0; i < nmodule_dirs; i++)
    free(module_dirs[i]);
  free(module_dirs);
  module_dirs = n ? lm_xcalloc((size_t)n, sizeof *module_dirs) : NULL;
  for (int i = 0; i < n; i++)
    module_dirs[i] = lm_xstrdup(dirs[i]);
  nmodule_dirs = n;
}

static int module_char(int c) { return isalnum(c) || c == '_' || c == '-' || c == '.'; }

/* Appends to names (unless there) every module a text requires by a literal
 * name: require "m", require 'm', require("m"), require [[m]]. A mention in
 * a comment counts too: at worst one more file in the checksum. */
static void scan_requires(const char *t, size_t n, char ***names, int *nn) {
  for (size_t i = 0; i + 7 <= n; i++) {
    if (memcmp(t + i, "require", 7) != 0) continue;
    if (i > 0 && (isalnum((unsigned char)t[i - 1]) || t[i - 1] == '_')) continue;
    size_t k = i + 7;
    while (k < n && isspace((unsigned char)t[k]))
      k++;
    if (k < n && t[k] == '(') {
      k++;
      while (k < n && isspace((unsigned char)t[k]))
        k++;
    }
    if (k >= n) break;
    size_t open = 1;
    if (t[k] == '[' && k + 1 < n && t[k + 1] == '[')
      open = 2;
    else if (t[k] != '"' && t[k] != '\'')
      continue;
    size_t s = k + open, e = s;
    while (e < n && module_char((unsigned char)t[e]))
      e++;
    if (e == s || e - s > 200 || e >= n) continue;
    char *name = lm_xstrndup(t + s, e - s);
    int dup = 0;
    for (int j = 0; j < *nn && !dup; j++)
      dup = strcmp((*names)[j], name) == 0;
    if (dup || *nn >= 256) {
      free(name);
      continue;
    }
    *names = lm_xrealloc(*names, (size_t)(*nn + 1) * sizeof **names);
    (*names)[(*nn)++] = name;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

void lm_revision_sums(const char *text, size_t len, char sum[65], char file[65]) {
  lm_sha256_hex_normalised(text, len, file);
  char **names = NULL;
  int nn = 0;
  scan_requires(text, len, &names, &nn);
  if (!nn) {
    memcpy(sum, file, 65);
    return;
  }
  lm_buf acc;
  lm_buf_init(&acc);
  lm_buf_printf(&acc, "%s\n", file);
  lm_error_saved *saved = lm_error_save();
  /* names grows while the modules' own requires are followed */
  for (int i = 0; i < nn; i++) {
    char *rel = lm_xstrdup(names[i]);
    for (char *q = rel; *q; q++)
      if (*q == '.') *q = '/';
    int found = 0;
    for (int d = 0; d < nmodule_dirs && !found; d++) {
      char *path = lm_xasprintf("%s/%s.lua", module_dirs[d], rel);
      char *mt;
      size_t ml;
      if (access(path, F_OK) == 0 && lm_read_file(path, &mt, &ml) == 0) {
        found = 1;
        scan_requires(mt, ml, &names, &nn);
        free(mt);
      }
      free(path);
    }
    free(rel);
    if (!found) lm_error_clear();
  }
  qsort(names, (size_t)nn, sizeof *names, cmp_str);
  for (int i = 0; i < nn; i++) {
    char *rel = lm_xstrdup(names[i]);
    for (char *q = rel; *q; q++)
      if (*q == '.') *q = '/';
    char msum[65] = "missing";
    for (int d = 0; d < nmodule_dirs; d++) {
      char *path = lm_xasprintf("%s/%s.lua", module_dirs[d], rel);
      char *mt;
      size_t ml;
      int ok = access(path, F_OK) == 0 && lm_read_file(path, &mt, &ml) == 0;
      free(path);
      if (ok) {
        lm_sha256_hex_normalised(mt, ml, msum);
        free(mt);
        break;
      }
    }
    lm_buf_printf(&acc, "%s=%s\n", names[i], msum);
    free(rel);
    free(names[i]);
  }
  free(names);
  lm_error_restore(saved);
  lm_sha256_hex(acc.s, acc.len, sum);
  lm_buf_free(&acc);
}

/* The checksum is computed when first needed: history, heads and current
 * never need it, and hashing every file is a tenth of their start-up. */
const char *lm_revision_checksum(const lm_revision *r) {
  lm_revision *w = (lm_revision *)r;
  if (!w->checksum[0]) {
    char *text;
    size_t len;
    lm_error_saved *saved = lm_error_save();
    if (lm_read_file(w->path, &text, &len) == 0) {
      char file[65];
      lm_revision_sums(text, len, w->checksum, file);
      if (strcmp(w->checksum, file) != 0 && !w->file_checksum) w->file_checksum = lm_xstrdup(file);
      free(text);
    } else {
      /* unreadable since it was loaded: a value no file hashes to */
      memset(w->checksum, '-', 64);
      w->checksum[64] = 0;
    }
    lm_error_restore(saved);
  }
  return w->checksum;
}

int lm_revision_checksum_matches(const lm_revision *r, const char *sum, size_t len) {
  if (len != 64) return 0;
  if (memcmp(sum, lm_revision_checksum(r), 64) == 0) return 1;
  /* recorded by a luamig that hashed the file alone */
  return r->file_checksum && memcmp(sum, r->file_checksum, 64) == 0;
}

int lm_graph_index(const lm_graph *g, const char *id) {
  if (!g->slots) { /* not built (or its build failed): scan */
    for (int i = 0; i < g->n; i++)
      if (g->revs[i]->id && strcmp(g->revs[i]->id, id) == 0) return i;
    return -1;
  }
  unsigned mask = (unsigned)(g->nslots - 1);
  for (unsigned k = id_hash(id) & mask; g->slots[k]; k = (k + 1) & mask)
    if (g->revs[g->slots[k] - 1]->id && strcmp(g->revs[g->slots[k] - 1]->id, id) == 0)
      return g->slots[k] - 1;
  return -1;
}
