/* What an upgrade or downgrade runs: from the graph, the applied state and a
 * target, the ordered list of (revision, step, direction) to execute.
 * Nothing here touches a database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

void lm_plan_free(lm_plan *p) {
  free(p->v);
  memset(p, 0, sizeof *p);
}

static void push(lm_plan *p, int rev, int step, int up) {
  if (p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 16;
    p->v = lm_xrealloc(p->v, (size_t)p->cap * sizeof *p->v);
  }
  p->v[p->n++] = (lm_plan_item){rev, step, up};
}

int lm_revision_steps(const lm_revision *r) { return r->nsteps > 0 ? r->nsteps : 1; }

/* Applied steps of revision i, clamped: the version table is outside our
 * control and a bad count must not turn into a bad step index. NULL state
 * means an empty database. */
static int applied(const lm_graph *g, const int *state, int i) {
  int s = state ? state[i] : 0;
  if (s < 0) return 0;
  int max = lm_revision_steps(g->revs[i]);
  return s > max ? max : s;
}

static const char *plural(int n) { return n == 1 ? "" : "s"; }

static void list_ids(lm_buf *b, const lm_graph *g, const int *idx, int n) {
  for (int i = 0; i < n; i++)
    lm_buf_printf(b, "%s%s", i ? ", " : "", g->revs[idx[i]]->id);
}

#define TARGET_FORMS                                                                               \
  "head, heads, base, current, a revision id, unique prefix or branch label, +N, -N, REV+N, "      \
  "REV-N (REV may be head, current or base), LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, "      \
  "LABEL@-N or LABEL@head-N"

static int single_head(const lm_graph *g, int *out);
static int branch_head(const lm_graph *g, const char *name, int *out);

/* The branch a label names, as Alembic reads it: the revision that carries
 * the label, what descends from it by its children (not what merely depends
 * on it: a depends_on from another branch does not make that branch part of
 * this one), and its ancestors down to the branch point it starts from (not
 * that point itself, which other branches share). Marks them in `in`; the
 * branch's heads into heads (count in *nheads). */
static int branch_of(const lm_graph *g, const char *label, char *in, int *heads, int *nheads) {
  int idx, rc = lm_graph_find(g, label, &idx);
  if (rc) return rc;
  *nheads = 0;
  in[idx] = 1;
  for (int k = g->revs[idx]->order; k < g->n; k++) {
    int i = g->topo[k];
    const lm_revision *r = g->revs[i];
    for (int j = 0; j < r->nparents && !in[i]; j++)
      in[i] = in[r->parents[j]];
    if (in[i] && r->nchildren == 0) heads[(*nheads)++] = i;
  }
  for (int i = idx; g->revs[i]->nparents == 1;) {
    int parent = g->revs[i]->parents[0];
    if (g->revs[parent]->nchildren != 1) break;
    in[i = parent] = 1;
  }
  return 0;
}

/* Where REV±N counts from: REV, or the head of the label's branch. */
static int rel_origin(const lm_graph *g, const int *state, const lm_target *t, int *out);
static int resolve_name(const lm_graph *g, const int *state, const char *name, int *out);

/* "REV" or "LABEL@head", for messages. */
static const char *rel_name(const lm_target *t, char *buf, size_t n) {
  if (!t->label[0]) return t->rev;
  snprintf(buf, n, "%s@head", t->label);
  return buf;
}

/* One name of a revision: an id, unique prefix or label; head (the single
 * head), base (-1), current (the single applied head, -1 when nothing is
 * applied; it needs the state). */
static int resolve_name(const lm_graph *g, const int *state, const char *name, int *out) {
  if (strcmp(name, "base") == 0) {
    *out = -1;
    return 0;
  }
  if (strcmp(name, "head") == 0) return single_head(g, out);
  if (strcmp(name, "heads") == 0 && lm_graph_index(g, name) < 0)
    return lm_error_set(LM_EUSAGE, "'heads' names every head, not one revision: counting from it "
                                   "needs one, such as head or a revision id");
  if (strcmp(name, "current") == 0 && lm_graph_index(g, name) < 0) {
    if (!state)
      return lm_error_set(LM_EUSAGE, "'current' needs the database's state; it is not "
                                     "available with --sql");
    int *heads = lm_xmalloc((size_t)(g->n ? g->n : 1) * sizeof *heads);
    int nh = lm_plan_applied_heads(g, state, heads), rc = 0;
    *out = nh ? heads[0] : -1;
    if (nh > 1) {
      lm_buf b;
      lm_buf_init(&b);
      list_ids(&b, g, heads, nh);
      rc = lm_error_set(LM_EUSAGE, "'current' is ambiguous: the database is at %s; name one", b.s);
      lm_buf_free(&b);
    }
    free(heads);
    return rc;
  }
  int rc = lm_graph_find(g, name, out);
  if (rc && !strstr(lm_error_last()->message, "ambiguous")) {
    static const char *const words[] = {"head", "heads", "base", "current"};
    const char *near = lm_closest(name, words, 4);
    char *msg =
        near ? lm_xasprintf("%s; did you mean '%s'?", lm_error_last()->message, near)
             : lm_xasprintf("%s; a target is one of " TARGET_FORMS, lm_error_last()->message);
    lm_error_set_message(msg);
    free(msg);
  }
  return rc;
}

/* Follows single children (n > 0) or single parents (n < 0) from the
 * revision named by t->rev (base: from nothing to the single root).
 * *out = -1 means base: one step below a root. */
static int resolve_relative(const lm_graph *g, const int *state, const lm_target *t, int *out) {
  int cur, rc = rel_origin(g, state, t, &cur);
  if (rc) return rc;
  char nb[80];
  const char *from = rel_name(t, nb, sizeof nb);
  int steps = t->n > 0 ? t->n : -t->n;
  int *roots = lm_xmalloc((size_t)(g->n ? g->n : 1) * sizeof *roots), nroots = 0;
  for (int k = 0; k < g->n; k++)
    if (g->revs[g->topo[k]]->nparents == 0) roots[nroots++] = g->topo[k];
  for (int k = 0; k < steps; k++) {
    const lm_revision *r = cur >= 0 ? g->revs[cur] : NULL;
    int cnt = t->n > 0 ? (r ? r->nchildren : nroots) : (r ? r->nparents : 0);
    const int *next = t->n > 0 ? (r ? r->children : roots) : (r ? r->parents : NULL);
    if (cnt == 1) {
      cur = next[0];
      continue;
    }
    if (cnt == 0 && t->n < 0 && r && k == steps - 1) {
      cur = -1;
      break;
    }
    if (cnt == 0) {
      free(roots);
      return lm_error_set(LM_EUSAGE, "cannot resolve '%s%+d': it goes %s", from, t->n,
                          t->n > 0 ? "past the head" : "below base");
    }
    lm_buf b;
    lm_buf_init(&b);
    list_ids(&b, g, next, cnt);
    lm_error_set(LM_EUSAGE, "cannot resolve '%s%+d': %s is a %s (%s: %s); name a revision instead",
                 from, t->n, r ? r->id : "base", t->n > 0 ? "branch point" : "merge point",
                 t->n > 0 ? (r ? "children" : "roots") : "parents", b.s);
    lm_buf_free(&b);
    free(roots);
    return LM_EUSAGE;
  }
  free(roots);
  *out = cur;
  return 0;
}

static int rel_origin(const lm_graph *g, const int *state, const lm_target *t, int *out) {
  return t->label[0] ? branch_head(g, t->label, out) : resolve_name(g, state, t->rev, out);
}

/* t as the user wrote it, for messages. */
static void put_target(lm_buf *b, const lm_target *t) {
  if (t->label[0]) lm_buf_printf(b, "%s@", t->label);
  switch (t->kind) {
  case LM_T_HEAD: lm_buf_puts(b, "head"); break;
  case LM_T_HEADS: lm_buf_puts(b, "heads"); break;
  case LM_T_BASE: lm_buf_puts(b, "base"); break;
  case LM_T_REV: lm_buf_puts(b, t->rev); break;
  case LM_T_REL: lm_buf_printf(b, "%+d", t->n); break;
  case LM_T_REV_REL: lm_buf_printf(b, "%s%+d", t->label[0] ? "head" : t->rev, t->n); break;
  }
}

int lm_plan_resolve_target(const lm_graph *g, const int *state, const lm_target *t, int *idx) {
  int rc;
  switch (t->kind) {
  case LM_T_BASE:
    if (t->label[0]) break;
    *idx = -1;
    return 0;
  case LM_T_HEAD:
    if (!t->label[0]) {
      rc = single_head(g, idx);
      if (!rc && *idx < 0) rc = lm_error_set(LM_EUSAGE, "there are no revisions yet");
      return rc;
    }
    return branch_head(g, t->label, idx);
  case LM_T_REV: return resolve_name(g, state, t->rev, idx);
  case LM_T_REV_REL: return resolve_relative(g, state, t, idx);
  case LM_T_HEADS:
  case LM_T_REL: break;
  }
  lm_buf b;
  lm_buf_init(&b);
  put_target(&b, t);
  rc = lm_error_set(LM_EUSAGE, "'%s' does not name one revision; use " TARGET_FORMS, b.s);
  lm_buf_free(&b);
  return rc;
}

int lm_plan_resolve(const lm_graph *g, const int *state, const char *spec, int *idx) {
  lm_target t;
  int rc = lm_target_parse(&t, spec);
  return rc ? rc : lm_plan_resolve_target(g, state, &t, idx);
}

int lm_plan_target_heads(const lm_graph *g, const lm_target *t, int *heads, int *nheads) {
  if (!t->label[0]) {
    *nheads = lm_graph_heads(g, heads);
    return 0;
  }
  char *in = lm_xcalloc((size_t)(g->n ? g->n : 1), 1);
  int rc = branch_of(g, t->label, in, heads, nheads);
  free(in);
  return rc;
}

/* The head of the branch the label (or revision) `name` names (branch_of). */
static int branch_head(const lm_graph *g, const char *name, int *out) {
  char *in = lm_xcalloc((size_t)g->n, 1);
  int *heads = lm_xmalloc((size_t)g->n * sizeof *heads);
  int nheads = 0, rc = branch_of(g, name, in, heads, &nheads);
  if (rc) {
  } else if (nheads == 1) {
    *out = heads[0];
  } else {
    lm_buf b;
    lm_buf_init(&b);
    list_ids(&b, g, heads, nheads);
    lm_error_set(LM_EUSAGE, "'%s@head' is ambiguous: the branch has heads %s; name one of them",
                 name, b.s);
    lm_buf_free(&b);
    rc = LM_EUSAGE;
  }
  free(heads);
  free(in);
  return rc;
}

/* The one head of the graph, or -1 for an empty graph. */
static int single_head(const lm_graph *g, int *out) {
  int *heads = lm_xmalloc((size_t)g->n * sizeof *heads);
  int nheads = lm_graph_heads(g, heads), rc = 0;
  *out = nheads ? heads[0] : -1;
  if (nheads > 1) {
    lm_buf b;
    lm_buf_init(&b);
    list_ids(&b, g, heads, nheads);
    rc = lm_error_set(LM_EUSAGE,
                      "multiple heads: %s; upgrade to one of them, to 'heads', or merge them "
                      "with 'luamig merge'",
                      b.s);
    lm_buf_free(&b);
  }
  free(heads);
  return rc;
}

/* LABEL@+N: the next N revisions not yet (fully) applied on the way to the
 * head of the label's branch, in the order they run; marks what they need. */
static int label_up(const lm_graph *g, const int *state, const lm_target *t, char *want) {
  int head, rc = branch_head(g, t->label, &head);
  if (rc) return rc;
  char *path = lm_xcalloc((size_t)g->n, 1);
  lm_graph_mark_ancestors(g, head, path);
  int last = -1, pending = 0;
  for (int k = 0; k < g->n && pending < t->n; k++) {
    int i = g->topo[k];
    if (path[i] && applied(g, state, i) < lm_revision_steps(g->revs[i])) last = i, pending++;
  }
  free(path);
  if (pending < t->n)
    return lm_error_set(LM_EUSAGE, "cannot upgrade %s@+%d: only %d revision%s of that branch %s",
                        t->label, t->n, pending, plural(pending),
                        pending == 1 ? "is pending" : "are pending");
  lm_graph_mark_ancestors(g, last, want);
  return 0;
}

/* LABEL@base and LABEL@-N: every applied revision of the label's branch, or
 * its newest N, go, with what stands on them. */
static int label_down(const lm_graph *g, const int *state, const lm_target *t, char *revert) {
  char *in = lm_xcalloc((size_t)g->n, 1);
  int *heads = lm_xmalloc((size_t)g->n * sizeof *heads), nheads;
  int rc = branch_of(g, t->label, in, heads, &nheads);
  free(heads);
  int want = t->kind == LM_T_BASE ? g->n : -t->n, count = 0;
  for (int k = g->n - 1; k >= 0 && !rc && count < want; k--) {
    int i = g->topo[k];
    if (!in[i] || applied(g, state, i) == 0) continue;
    lm_graph_mark_descendants(g, i, revert);
    count++;
  }
  free(in);
  if (!rc && t->kind == LM_T_REL && count < want)
    rc = lm_error_set(LM_EUSAGE, "cannot downgrade %s@%d: only %d revision%s of that branch %s",
                      t->label, t->n, count, plural(count),
                      count == 1 ? "is applied" : "are applied");
  return rc;
}

static int step_index(const lm_revision *r, const char *name) {
  if (!r->step_names) return -1;
  for (int k = 0; k < r->nsteps; k++)
    if (r->step_names[k] && strcmp(r->step_names[k], name) == 0) return k;
  return -1;
}

int lm_plan_upgrade(const lm_graph *g, const int *state, const lm_target *t,
                    const char *stop_before, lm_plan *out) {
  memset(out, 0, sizeof *out);
  int n = g->n, rc = 0, idx, limit = -1;
  char *want = lm_xcalloc((size_t)n, 1);
  switch (t->kind) {
  case LM_T_BASE: break;
  case LM_T_REV:
    rc = resolve_name(g, state, t->rev, &idx);
    if (!rc && idx >= 0) lm_graph_mark_ancestors(g, idx, want);
    break;
  case LM_T_REV_REL:
    rc = resolve_relative(g, state, t, &idx);
    if (!rc && idx >= 0) lm_graph_mark_ancestors(g, idx, want);
    break;
  case LM_T_HEAD:
    if (t->label[0]) {
      rc = branch_head(g, t->label, &idx);
      if (!rc) lm_graph_mark_ancestors(g, idx, want);
      break;
    }
    rc = single_head(g, &idx);
    if (!rc && idx >= 0) lm_graph_mark_ancestors(g, idx, want);
    break;
  case LM_T_REL:
    if (t->n < 1) {
      rc = lm_error_set(LM_EUSAGE, "upgrade target must be head, heads, a revision, +N or REV+N");
      break;
    }
    if (t->label[0]) {
      rc = label_up(g, state, t, want);
      break;
    }
    /* +N counts along the plan to every head. */
    limit = t->n;
    memset(want, 1, (size_t)n);
    break;
  case LM_T_HEADS:
    if (t->label[0]) {
      int *heads = lm_xmalloc((size_t)(n ? n : 1) * sizeof *heads), nh = 0;
      rc = lm_plan_target_heads(g, t, heads, &nh);
      for (int k = 0; k < nh && !rc; k++)
        lm_graph_mark_ancestors(g, heads[k], want);
      free(heads);
      break;
    }
    /* Following children from any revision ends at some head, so the
     * ancestors of all heads are simply all revisions. */
    memset(want, 1, (size_t)n);
    break;
  }
  if (!rc && stop_before) {
    int known = 0;
    for (int i = 0; i < n && !known; i++)
      known = step_index(g->revs[i], stop_before) >= 0;
    /* A misspelt step name would otherwise run the very step the user meant
     * to hold back (typically a destructive contract step). */
    if (!known)
      rc = lm_error_set(LM_EUSAGE, "--stop-before '%s': no revision has a step of that name",
                        stop_before);
  }
  if (!rc && limit > 0) {
    int pending = 0;
    for (int i = 0; i < n; i++)
      pending += applied(g, state, i) < lm_revision_steps(g->revs[i]);
    if (pending < limit)
      rc = lm_error_set(LM_EUSAGE, "cannot upgrade +%d: only %d revision%s pending", limit, pending,
                        plural(pending));
  }
  if (rc) {
    free(want);
    return rc;
  }
  /* done[i]: revision i is fully applied once the plan has run. A revision
   * runs only when everything it needs is done, which is how revisions after
   * one held back by stop_before wait. */
  char *done = lm_xcalloc((size_t)n, 1);
  int taken = 0;
  for (int k = 0; k < n; k++) {
    int i = g->topo[k];
    const lm_revision *r = g->revs[i];
    int s = applied(g, state, i), ns = lm_revision_steps(r);
    if (s >= ns) {
      done[i] = 1;
      continue;
    }
    if (!want[i]) continue;
    if (limit > 0 && taken++ >= limit) continue;
    int ready = 1;
    for (int j = 0; j < r->nparents && ready; j++)
      ready = done[r->parents[j]];
    for (int j = 0; j < r->ndeps && ready; j++)
      ready = done[r->deps[j]];
    if (!ready) continue;
    int end = ns;
    if (stop_before) {
      int sb = step_index(r, stop_before);
      /* Past the named step already: its later steps are held back too. */
      if (sb >= 0) end = sb > s ? sb : s;
    }
    for (int step = s; step < end; step++)
      push(out, i, step, 1);
    done[i] = end == ns;
  }
  free(done);
  free(want);
  return 0;
}

/* Everything that must go for `idx` to be the newest applied revision of its
 * branch: its children and all that descends from or depends on them. Not
 * idx's own dependents: idx stays, so they may stay. */
static void mark_above(const lm_graph *g, int idx, char *mark) {
  const lm_revision *r = g->revs[idx];
  for (int j = 0; j < r->nchildren; j++)
    lm_graph_mark_descendants(g, r->children[j], mark);
}

int lm_plan_downgrade(const lm_graph *g, const int *state, const lm_target *t, lm_plan *out) {
  memset(out, 0, sizeof *out);
  int n = g->n, rc = 0, idx;
  char *revert = lm_xcalloc((size_t)n, 1);
  switch (t->kind) {
  case LM_T_HEAD:
  case LM_T_HEADS:
    rc = lm_error_set(LM_EUSAGE, "downgrade target must be -N, a revision or base");
    break;
  case LM_T_BASE:
    if (t->label[0])
      rc = label_down(g, state, t, revert);
    else
      memset(revert, 1, (size_t)n);
    break;
  case LM_T_REV:
    rc = resolve_name(g, state, t->rev, &idx);
    if (!rc && idx < 0) memset(revert, 1, (size_t)n);
    if (!rc && idx >= 0) mark_above(g, idx, revert);
    break;
  case LM_T_REV_REL: {
    rc = resolve_relative(g, state, t, &idx);
    int src;
    if (rc || t->n >= 0 || rel_origin(g, state, t, &src) != 0 || src < 0) {
      if (!rc && idx < 0) memset(revert, 1, (size_t)n);
      if (!rc && idx >= 0) mark_above(g, idx, revert);
      break;
    }
    /* REV-N walks down REV's own branch: only the revisions between REV and
     * the target (and what stands on them) go, not a sibling branch that
     * shares the target as its branch point. (Alembic reverts every branch
     * above the target here; downgrading to the target itself still does.) */
    char *path = lm_xcalloc((size_t)n, 1), *below = lm_xcalloc((size_t)n, 1);
    lm_graph_mark_ancestors(g, src, path);
    if (idx >= 0) lm_graph_mark_ancestors(g, idx, below);
    for (int i = 0; i < n; i++)
      if (path[i] && !below[i]) lm_graph_mark_descendants(g, i, revert);
    free(path);
    free(below);
    break;
  }
  case LM_T_REL: {
    if (t->n > -1) {
      rc = lm_error_set(LM_EUSAGE, "downgrade target must be -N, a revision or base");
      break;
    }
    if (t->label[0]) {
      rc = label_down(g, state, t, revert);
      break;
    }
    int want = -t->n, count = 0;
    for (int i = 0; i < n; i++)
      count += applied(g, state, i) > 0;
    if (count < want) {
      rc = lm_error_set(LM_EUSAGE, "cannot downgrade %d: only %d revision%s applied", t->n, count,
                        plural(count));
      break;
    }
    /* The latest applied revisions in topological order: nothing applied
     * comes after them, so reverting them leaves a consistent state. */
    for (int k = n - 1; k >= 0 && want > 0; k--)
      if (applied(g, state, g->topo[k]) > 0) {
        revert[g->topo[k]] = 1;
        want--;
      }
    break;
  }
  }
  if (!rc)
    for (int k = n - 1; k >= 0; k--) {
      int i = g->topo[k];
      if (!revert[i]) continue;
      for (int step = applied(g, state, i) - 1; step >= 0; step--)
        push(out, i, step, 0);
    }
  free(revert);
  return rc;
}

int lm_plan_applied_heads(const lm_graph *g, const int *state, int *out) {
  int cnt = 0;
  for (int k = 0; k < g->n; k++) {
    int i = g->topo[k];
    const lm_revision *r = g->revs[i];
    if (applied(g, state, i) == 0) continue;
    int child_applied = 0;
    for (int j = 0; j < r->nchildren && !child_applied; j++)
      child_applied = applied(g, state, r->children[j]) > 0;
    if (!child_applied) out[cnt++] = i;
  }
  return cnt;
}
