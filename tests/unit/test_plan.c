/* Upgrade and downgrade plans over hand-built graphs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lm.h"

static char **split(const char *list, int *n) {
  *n = 0;
  if (!list) return NULL;
  char **v = lm_xcalloc(strlen(list) + 1, sizeof *v);
  const char *p = list;
  for (;;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    v[(*n)++] = lm_xstrndup(p, len);
    if (!c) break;
    p = c + 1;
  }
  return v;
}

/* steps: NULL for a plain revision, else "expand,backfill,contract". */
static lm_revision *add(lm_graph *g, const char *id, const char *down, const char *steps) {
  lm_revision *r = lm_xcalloc(1, sizeof *r);
  r->id = lm_xstrdup(id);
  r->path = lm_xasprintf("versions/%s.lua", id);
  r->down = split(down, &r->ndown);
  r->nsteps = 1;
  if (steps) {
    r->step_names = split(steps, &r->nsteps);
    r->multistep = 1;
  }
  r->has_downgrade = 1;
  lm_graph_add(g, r);
  return r;
}

static int idx_of(const lm_graph *g, const char *id) {
  for (int i = 0; i < g->n; i++)
    if (strcmp(g->revs[i]->id, id) == 0) return i;
  fail_msg("no revision %s", id);
  return -1;
}

/* "a=1 m=2": applied step counts; unnamed revisions are at 0. */
static int *state_of(const lm_graph *g, const char *spec) {
  int *st = lm_xcalloc((size_t)g->n + 1, sizeof *st);
  if (!spec) return st;
  char *copy = lm_xstrdup(spec), *save = NULL;
  for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = 0;
    st[idx_of(g, tok)] = atoi(eq + 1);
  }
  free(copy);
  return st;
}

/* "a0+ m1+ m0-": revision, step, direction. */
static char *plan_str(const lm_graph *g, const lm_plan *p) {
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < p->n; i++)
    lm_buf_printf(&b, "%s%s%d%c", i ? " " : "", g->revs[p->v[i].rev]->id, p->v[i].step,
                  p->v[i].up ? '+' : '-');
  return lm_buf_steal(&b);
}

static void up(const lm_graph *g, const char *state, const char *target, const char *stop_before,
               const char *want) {
  lm_target t;
  assert_int_equal(lm_target_parse(&t, target), 0);
  int *st = state_of(g, state);
  lm_plan p;
  int rc = lm_plan_upgrade(g, st, &t, stop_before, &p);
  if (rc) fail_msg("upgrade %s: %s", target, lm_error_last()->message);
  char *s = plan_str(g, &p);
  assert_string_equal(s, want);
  free(s);
  lm_plan_free(&p);
  free(st);
}

static void down(const lm_graph *g, const char *state, const char *target, const char *want) {
  lm_target t;
  assert_int_equal(lm_target_parse(&t, target), 0);
  int *st = state_of(g, state);
  lm_plan p;
  int rc = lm_plan_downgrade(g, st, &t, &p);
  if (rc) fail_msg("downgrade %s: %s", target, lm_error_last()->message);
  char *s = plan_str(g, &p);
  assert_string_equal(s, want);
  free(s);
  lm_plan_free(&p);
  free(st);
}

static void check_error(int rc, lm_plan *p, const char *msg) {
  assert_int_equal(rc, LM_EUSAGE);
  assert_string_equal(lm_error_last()->message, msg);
  /* A failed plan is empty and safe to free. */
  assert_int_equal(p->n, 0);
  lm_plan_free(p);
}

static void up_error(const lm_graph *g, const char *state, const char *target,
                     const char *stop_before, const char *msg) {
  lm_target t;
  assert_int_equal(lm_target_parse(&t, target), 0);
  int *st = state_of(g, state);
  lm_plan p;
  check_error(lm_plan_upgrade(g, st, &t, stop_before, &p), &p, msg);
  free(st);
}

static void down_error(const lm_graph *g, const char *state, const char *target, const char *msg) {
  lm_target t;
  assert_int_equal(lm_target_parse(&t, target), 0);
  int *st = state_of(g, state);
  lm_plan p;
  check_error(lm_plan_downgrade(g, st, &t, &p), &p, msg);
  free(st);
}

static void applied_heads(const lm_graph *g, const char *state, const char *want) {
  int *st = state_of(g, state);
  int *out = lm_xmalloc((size_t)g->n * sizeof *out + sizeof *out);
  int n = lm_plan_applied_heads(g, st, out);
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < n; i++)
    lm_buf_printf(&b, "%s%s", i ? " " : "", g->revs[out[i]]->id);
  assert_string_equal(b.s ? b.s : "", want);
  lm_buf_free(&b);
  free(out);
  free(st);
}

/* ---- fixtures --------------------------------------------------------------- */

static int linear(void **state) {
  lm_graph *g = lm_xmalloc(sizeof *g);
  lm_graph_init(g);
  add(g, "a1", NULL, NULL);
  add(g, "b2", "a1", NULL);
  add(g, "c3", "b2", NULL);
  assert_int_equal(lm_graph_build(g), 0);
  *state = g;
  return 0;
}

/*   a ─ b ─ d
 *    └─ c         b carries the label "feat" */
static int branchy(void **state) {
  lm_graph *g = lm_xmalloc(sizeof *g);
  lm_graph_init(g);
  add(g, "a", NULL, NULL);
  lm_revision *b = add(g, "b", "a", NULL);
  add(g, "c", "a", NULL);
  add(g, "d", "b", NULL);
  b->labels = split("feat", &b->nlabels);
  assert_int_equal(lm_graph_build(g), 0);
  *state = g;
  return 0;
}

/* a ─ m(expand, backfill, contract) ─ c */
static int multistep(void **state) {
  lm_graph *g = lm_xmalloc(sizeof *g);
  lm_graph_init(g);
  add(g, "a", NULL, NULL);
  add(g, "m", "a", "expand,backfill,contract");
  add(g, "c", "m", NULL);
  assert_int_equal(lm_graph_build(g), 0);
  *state = g;
  return 0;
}

static int teardown(void **state) {
  lm_graph_free(*state);
  free(*state);
  return 0;
}

/* ---- linear ------------------------------------------------------------------ */

#define NO_ZZ                                                                                      \
  "no revision matches 'zz'; a target is one of head, heads, base, current, a revision id, "       \
  "unique prefix or branch label, +N, -N, REV+N, REV-N (REV may be head, current or base), "       \
  "LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, LABEL@-N or LABEL@head-N"

static void resolve(const lm_graph *g, const char *state, const char *spec, const char *want) {
  int *st = state ? state_of(g, state) : NULL;
  int idx = 99;
  int rc = lm_plan_resolve(g, st, spec, &idx);
  if (rc) fail_msg("resolve %s: %s", spec, lm_error_last()->message);
  assert_string_equal(idx < 0 ? "base" : g->revs[idx]->id, want);
  free(st);
}

static void resolve_error(const lm_graph *g, const char *state, const char *spec, const char *msg) {
  int *st = state ? state_of(g, state) : NULL;
  int idx;
  assert_int_equal(lm_plan_resolve(g, st, spec, &idx), LM_EUSAGE);
  assert_string_equal(lm_error_last()->message, msg);
  free(st);
}

/* Alembic's spellings: current, head-N, base+N, current+-N. */
static void test_linear_alembic_names(void **state) {
  const lm_graph *g = *state;
  const char *all = "a1=1 b2=1 c3=1";
  up(g, NULL, "base+2", NULL, "a10+ b20+");
  up(g, NULL, "head-1", NULL, "a10+ b20+");
  up(g, "a1=1", "current+1", NULL, "b20+");
  up(g, NULL, "current+1", NULL, "a10+");
  up(g, "a1=1", "current", NULL, "");
  down(g, all, "current-1", "c30-");
  down(g, all, "head-2", "c30- b20-");
  down(g, all, "base+1", "c30- b20-");
  down(g, "a1=1 b2=1", "current", "");
  resolve(g, all, "current", "c3");
  resolve(g, NULL, "head-1", "b2");
  resolve(g, NULL, "base+1", "a1");
  resolve(g, NULL, "base", "base");
  resolve(g, "a1=1", "current-1", "base");
  resolve(g, "a1=1 b2=1", "current", "b2");
  resolve(g, NULL, "head", "c3");
  resolve_error(g, NULL, "current",
                "'current' needs the database's state; it is not available with --sql");
  resolve_error(g, NULL, "heads",
                "'heads' does not name one revision; use head, heads, base, current, a revision "
                "id, unique prefix or branch label, +N, -N, REV+N, REV-N (REV may be head, "
                "current or base), LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, LABEL@-N or "
                "LABEL@head-N");
  resolve_error(g, NULL, "base-1", "cannot resolve 'base-1': it goes below base");
  resolve_error(g, NULL, "zz", NO_ZZ);
}

static void test_linear_upgrade(void **state) {
  const lm_graph *g = *state;
  up(g, NULL, "head", NULL, "a10+ b20+ c30+");
  up(g, "a1=1", "head", NULL, "b20+ c30+");
  up(g, "a1=1 b2=1 c3=1", "head", NULL, "");
  up(g, "a1=1 b2=1 c3=1", "heads", NULL, "");
  up(g, NULL, "heads", NULL, "a10+ b20+ c30+");
  up(g, NULL, "b2", NULL, "a10+ b20+");
  up(g, NULL, "b", NULL, "a10+ b20+");
  up(g, "a1=1 b2=1", "a1", NULL, "");
  up(g, "a1=1 b2=1", "b2", NULL, "");
  up(g, NULL, "base", NULL, "");
  /* A child applied without its parent (a stamp gone wrong): fill the gap. */
  up(g, "b2=1", "head", NULL, "a10+ c30+");
}

static void test_linear_upgrade_relative(void **state) {
  const lm_graph *g = *state;
  up(g, NULL, "+1", NULL, "a10+");
  up(g, NULL, "+2", NULL, "a10+ b20+");
  up(g, "a1=1", "+2", NULL, "b20+ c30+");
  up_error(g, NULL, "+4", NULL, "cannot upgrade +4: only 3 revisions pending");
  up_error(g, "a1=1 b2=1", "+2", NULL, "cannot upgrade +2: only 1 revision pending");
  up_error(g, "a1=1 b2=1 c3=1", "+1", NULL, "cannot upgrade +1: only 0 revisions pending");
  up_error(g, NULL, "-1", NULL, "upgrade target must be head, heads, a revision, +N or REV+N");
  up(g, "a1=1", "a1+1", NULL, "b20+");
  up(g, NULL, "a1+2", NULL, "a10+ b20+ c30+");
  up(g, NULL, "c3-1", NULL, "a10+ b20+");
  up(g, NULL, "a1-1", NULL, "");
  up_error(g, NULL, "a1+3", NULL, "cannot resolve 'a1+3': it goes past the head");
  up_error(g, NULL, "zz+1", NULL, NO_ZZ);
}

static void test_linear_upgrade_errors(void **state) {
  const lm_graph *g = *state;
  up_error(g, NULL, "zz", NULL, NO_ZZ);
  up_error(g, NULL, "zz@head", NULL, "no revision matches 'zz'");
  up_error(g, NULL, "head", "contract",
           "--stop-before 'contract': no revision has a step of that name");
}

static void test_linear_downgrade(void **state) {
  const lm_graph *g = *state;
  const char *all = "a1=1 b2=1 c3=1";
  down(g, all, "base", "c30- b20- a10-");
  down(g, "a1=1", "base", "a10-");
  down(g, NULL, "base", "");
  down(g, all, "a1", "c30- b20-");
  down(g, all, "b", "c30-");
  down(g, all, "c3", "");
  down(g, "a1=1", "c3", ""); /* above the current state: nothing to revert */
  down(g, all, "-1", "c30-");
  down(g, all, "-2", "c30- b20-");
  down(g, all, "-3", "c30- b20- a10-");
  down(g, all, "c3-1", "c30-");
  down(g, all, "c3-2", "c30- b20-");
  down(g, all, "a1-1", "c30- b20- a10-");
  down(g, all, "a1+1", "c30-");
  down_error(g, all, "-4", "cannot downgrade -4: only 3 revisions applied");
  down_error(g, "a1=1", "-2", "cannot downgrade -2: only 1 revision applied");
  down_error(g, all, "a1-2", "cannot resolve 'a1-2': it goes below base");
  down_error(g, all, "head", "downgrade target must be -N, a revision or base");
  down_error(g, all, "heads", "downgrade target must be -N, a revision or base");
  down_error(g, all, "+1", "downgrade target must be -N, a revision or base");
  down_error(g, all, "zz", NO_ZZ);
}

static void test_linear_applied_heads(void **state) {
  const lm_graph *g = *state;
  applied_heads(g, NULL, "");
  applied_heads(g, "a1=1", "a1");
  applied_heads(g, "a1=1 b2=1 c3=1", "c3");
}

/* ---- branches ---------------------------------------------------------------- */

static void test_branchy_upgrade(void **state) {
  const lm_graph *g = *state;
  up_error(g, NULL, "head", NULL,
           "multiple heads: c, d; upgrade to one of them, to 'heads', or merge them with "
           "'luamig merge'");
  up(g, NULL, "heads", NULL, "a0+ b0+ c0+ d0+");
  up(g, NULL, "d", NULL, "a0+ b0+ d0+");
  up(g, "a=1 b=1 d=1", "c", NULL, "c0+");
  up(g, "a=1 b=1 d=1", "heads", NULL, "c0+");
  up(g, NULL, "feat@head", NULL, "a0+ b0+ d0+");
  up(g, NULL, "b@head", NULL, "a0+ b0+ d0+");
  up(g, NULL, "c@head", NULL, "a0+ c0+");
  up_error(g, NULL, "a@head", NULL,
           "'a@head' is ambiguous: the branch has heads c, d; name one of them");
  up(g, NULL, "b+1", NULL, "a0+ b0+ d0+");
  up(g, NULL, "feat+1", NULL, "a0+ b0+ d0+");
  up_error(g, NULL, "a+1", NULL,
           "cannot resolve 'a+1': a is a branch point (children: b, c); name a revision instead");
  up(g, NULL, "+2", NULL, "a0+ b0+");
  up(g, "a=1 b=1", "+2", NULL, "c0+ d0+");
  /* the other forms of a label: its branch is b ─ d (a is the branch point,
   * shared with c) */
  up(g, NULL, "feat@heads", NULL, "a0+ b0+ d0+");
  up(g, NULL, "feat@+1", NULL, "a0+"); /* counted along the way to its head */
  up(g, NULL, "feat@+2", NULL, "a0+ b0+");
  up(g, "a=1 c=1", "feat@+2", NULL, "b0+ d0+");
  up(g, "a=1 b=1", "feat@+1", NULL, "d0+");
  up_error(g, "a=1 b=1", "feat@+2", NULL,
           "cannot upgrade feat@+2: only 1 revision of that branch is pending");
  up(g, NULL, "feat@head-1", NULL, "a0+ b0+");
  up(g, NULL, "feat@base", NULL, "");
  up_error(g, NULL, "feat@-1", NULL, "upgrade target must be head, heads, a revision, +N or REV+N");
  resolve(g, NULL, "feat@head", "d");
  resolve(g, NULL, "feat@head-1", "b");
  resolve(g, NULL, "feat@head-2", "a");
  resolve_error(g, NULL, "feat@+1",
                "'feat@+1' does not name one revision; use head, heads, base, current, a revision "
                "id, unique prefix or branch label, +N, -N, REV+N, REV-N (REV may be head, "
                "current or base), LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, LABEL@-N or "
                "LABEL@head-N");
  resolve_error(g, NULL, "feat@head+1", "cannot resolve 'feat@head+1': it goes past the head");
}

static void test_branchy_downgrade(void **state) {
  const lm_graph *g = *state;
  const char *all = "a=1 b=1 c=1 d=1";
  down(g, all, "a", "d0- c0- b0-");
  down(g, all, "b", "d0-");
  down(g, all, "c", ""); /* d and b are on the other branch */
  down(g, all, "-1", "d0-");
  down(g, all, "-2", "d0- c0-");
  down(g, all, "base", "d0- c0- b0- a0-");
  down(g, all, "d-1", "d0-");
  /* a label's branch goes alone; a (the branch point) stays for c */
  down(g, all, "feat@base", "d0- b0-");
  down(g, all, "feat@-1", "d0-");
  down(g, all, "feat@-2", "d0- b0-");
  down(g, "a=1 b=1 c=1", "feat@-1", "b0-");
  down_error(g, all, "feat@-3",
             "cannot downgrade feat@-3: only 2 revisions of that branch are applied");
  down(g, all, "feat@head-1", "d0-");
  down(g, "a=1 c=1", "feat@base", "");
  down_error(g, all, "feat@head", "downgrade target must be -N, a revision or base");
  down_error(g, all, "feat@heads", "downgrade target must be -N, a revision or base");
  down_error(g, all, "feat@+1", "downgrade target must be -N, a revision or base");
  applied_heads(g, all, "c d");
  applied_heads(g, "a=1 b=1", "b");
  applied_heads(g, "a=1 c=1", "c");
}

static void test_merge_point(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL, NULL);
  add(&g, "b", "a", NULL);
  add(&g, "c", "a", NULL);
  add(&g, "m", "b,c", NULL);
  add(&g, "n", "m", NULL);
  assert_int_equal(lm_graph_build(&g), 0);
  up(&g, NULL, "head", NULL, "a0+ b0+ c0+ m0+ n0+");
  up(&g, "a=1 b=1", "head", NULL, "c0+ m0+ n0+");
  up(&g, NULL, "n-1", NULL, "a0+ b0+ c0+ m0+");
  const char *all = "a=1 b=1 c=1 m=1 n=1";
  down(&g, all, "b", "n0- m0-");
  down(&g, all, "n-1", "n0-");
  down_error(&g, all, "m-1",
             "cannot resolve 'm-1': m is a merge point (parents: b, c); name a revision instead");
  applied_heads(&g, all, "n");
  applied_heads(&g, "a=1 b=1 c=1", "b c");
  lm_graph_free(&g);
}

/* x ─ y, where y also depends on b of the other branch a ─ b. */
static void test_depends_on(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL, NULL);
  add(&g, "b", "a", NULL);
  add(&g, "x", NULL, NULL);
  lm_revision *y = add(&g, "y", "x", NULL);
  y->depends = split("b", &y->ndepends);
  assert_int_equal(lm_graph_build(&g), 0);
  up(&g, NULL, "y", NULL, "a0+ b0+ x0+ y0+");
  up(&g, NULL, "b", NULL, "a0+ b0+");
  /* Two heads: a dependency does not merge the branches. */
  up_error(&g, NULL, "head", NULL,
           "multiple heads: b, y; upgrade to one of them, to 'heads', or merge them with "
           "'luamig merge'");
  const char *all = "a=1 b=1 x=1 y=1";
  down(&g, all, "a", "y0- b0-");
  down(&g, all, "x", "y0-");
  down(&g, all, "b", ""); /* b stays, so what needs it may stay */
  down(&g, all, "-1", "y0-");
  lm_graph_free(&g);
}

/* ---- multi-step --------------------------------------------------------------- */

static void test_multistep_upgrade(void **state) {
  const lm_graph *g = *state;
  up(g, NULL, "head", NULL, "a0+ m0+ m1+ m2+ c0+");
  up(g, NULL, "head", "contract", "a0+ m0+ m1+");
  up(g, NULL, "head", "expand", "a0+");
  up(g, NULL, "m", "backfill", "a0+ m0+");
  up(g, "a=1 m=1", "head", NULL, "m1+ m2+ c0+");
  up(g, "a=1 m=2", "head", "contract", "");
  up(g, "a=1 m=3", "head", "contract", "c0+");
  /* Already past the named step: the later steps are held back as well. */
  up(g, "a=1 m=2", "head", "backfill", "");
  up(g, "a=1 m=1", "+1", NULL, "m1+ m2+");
  up(g, "a=1 m=1", "+1", "contract", "m1+");
  up(g, "a=1", "m", NULL, "m0+ m1+ m2+");
  up_error(g, NULL, "head", "contarct",
           "--stop-before 'contarct': no revision has a step of that name");
  /* Out-of-range counts from a damaged version table are clamped. */
  up(g, "a=5 m=-1", "head", NULL, "m0+ m1+ m2+ c0+");
}

static void test_multistep_downgrade(void **state) {
  const lm_graph *g = *state;
  down(g, "a=1 m=2", "-1", "m1- m0-");
  down(g, "a=1 m=3 c=1", "-2", "c0- m2- m1- m0-");
  down(g, "a=1 m=2", "base", "m1- m0- a0-");
  down(g, "a=1 m=2", "a", "m1- m0-");
  down(g, "a=1 m=2", "m", ""); /* a partly applied target is left alone */
  down(g, "a=1 m=3 c=1", "m", "c0-");
  applied_heads(g, "a=1 m=2", "m");
  applied_heads(g, "a=1 m=3 c=1", "c");
}

/* stop_before holds back what descends from the held revision, not its
 * siblings:  a ─ m(expand, contract) ─ after
 *             ├─ side
 *             └─ dep (depends_on m) */
static void test_stop_before_branches(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL, NULL);
  add(&g, "m", "a", "expand,contract");
  add(&g, "after", "m", NULL);
  add(&g, "side", "a", NULL);
  lm_revision *dep = add(&g, "dep", "a", NULL);
  dep->depends = split("m", &dep->ndepends);
  assert_int_equal(lm_graph_build(&g), 0);
  up(&g, NULL, "heads", "contract", "a0+ m0+ side0+");
  up(&g, NULL, "heads", NULL, "a0+ m0+ m1+ after0+ side0+ dep0+");
  up(&g, "a=1 m=1 side=1", "heads", NULL, "m1+ after0+ dep0+");
  lm_graph_free(&g);
}

static void test_empty_graph(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  assert_int_equal(lm_graph_build(&g), 0);
  up(&g, NULL, "head", NULL, "");
  up(&g, NULL, "heads", NULL, "");
  up(&g, NULL, "base", NULL, "");
  down(&g, NULL, "base", "");
  up_error(&g, NULL, "+1", NULL, "cannot upgrade +1: only 0 revisions pending");
  down_error(&g, NULL, "-1", "cannot downgrade -1: only 0 revisions applied");
  up_error(&g, NULL, "abc", NULL,
           "no revision matches 'abc'; a target is one of head, heads, base, current, a "
           "revision id, unique prefix or branch label, +N, -N, REV+N, REV-N (REV may be head, "
           "current or base), LABEL@head, LABEL@heads, LABEL@base, LABEL@+N, LABEL@-N or "
           "LABEL@head-N");
  applied_heads(&g, NULL, "");
  lm_plan p = {0};
  lm_plan_free(&p);
  lm_graph_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_linear_upgrade, linear, teardown),
      cmocka_unit_test_setup_teardown(test_linear_upgrade_relative, linear, teardown),
      cmocka_unit_test_setup_teardown(test_linear_upgrade_errors, linear, teardown),
      cmocka_unit_test_setup_teardown(test_linear_alembic_names, linear, teardown),
      cmocka_unit_test_setup_teardown(test_linear_downgrade, linear, teardown),
      cmocka_unit_test_setup_teardown(test_linear_applied_heads, linear, teardown),
      cmocka_unit_test_setup_teardown(test_branchy_upgrade, branchy, teardown),
      cmocka_unit_test_setup_teardown(test_branchy_downgrade, branchy, teardown),
      cmocka_unit_test(test_merge_point),
      cmocka_unit_test(test_depends_on),
      cmocka_unit_test_setup_teardown(test_multistep_upgrade, multistep, teardown),
      cmocka_unit_test_setup_teardown(test_multistep_downgrade, multistep, teardown),
      cmocka_unit_test(test_stop_before_branches),
      cmocka_unit_test(test_empty_graph),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
