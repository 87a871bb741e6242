/* Revision graph: building, ordering, lookup and the closure walks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lm.h"

/* "a,b" -> {"a", "b"}; NULL -> no entries. */
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

/* A revision as the loader would hand it over: versions/<id>.lua. */
static lm_revision *add(lm_graph *g, const char *id, const char *down) {
  lm_revision *r = lm_xcalloc(1, sizeof *r);
  r->id = lm_xstrdup(id);
  r->path = lm_xasprintf("versions/%s.lua", id);
  r->message = lm_xasprintf("message of %s", id);
  r->down = split(down, &r->ndown);
  r->nsteps = 1;
  lm_graph_add(g, r);
  return r;
}

static void depends(lm_revision *r, const char *list) { r->depends = split(list, &r->ndepends); }
static void labels(lm_revision *r, const char *list) { r->labels = split(list, &r->nlabels); }

/* Indices as ids, space-separated, for readable assertions. */
static char *ids(const lm_graph *g, const int *idx, int n) {
  lm_buf b;
  lm_buf_init(&b);
  for (int i = 0; i < n; i++)
    lm_buf_printf(&b, "%s%s", i ? " " : "", g->revs[idx[i]]->id);
  return lm_buf_steal(&b);
}

static void assert_ids(const lm_graph *g, const int *idx, int n, const char *want) {
  char *s = ids(g, idx, n);
  assert_string_equal(s, want);
  free(s);
}

static void assert_topo(const lm_graph *g, const char *want) {
  assert_ids(g, g->topo, g->n, want);
  for (int k = 0; k < g->n; k++)
    assert_int_equal(g->revs[g->topo[k]]->order, k);
}

static void assert_heads(const lm_graph *g, const char *want) {
  int *h = lm_xmalloc((size_t)g->n * sizeof *h);
  int n = lm_graph_heads(g, h);
  assert_ids(g, h, n, want);
  free(h);
}

/* The marked revisions, in topological order. */
static void assert_marked(const lm_graph *g, const char *mark, const char *want) {
  int *v = lm_xmalloc((size_t)g->n * sizeof *v);
  int n = 0;
  for (int k = 0; k < g->n; k++)
    if (mark[g->topo[k]]) v[n++] = g->topo[k];
  assert_ids(g, v, n, want);
  free(v);
}

static int find(const lm_graph *g, const char *spec) {
  int idx = -1;
  assert_int_equal(lm_graph_find(g, spec, &idx), 0);
  return idx;
}

static void assert_error(int code, const char *msg, const char *file) {
  const lm_error *e = lm_error_last();
  assert_int_equal(e->code, code);
  assert_string_equal(e->message, msg);
  if (file) {
    assert_non_null(e->file);
    assert_string_equal(e->file, file);
  }
}

static void test_empty(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  assert_int_equal(lm_graph_build(&g), 0);
  assert_int_equal(lm_graph_heads(&g, NULL), 0);
  int idx;
  assert_int_equal(lm_graph_find(&g, "a", &idx), LM_EUSAGE);
  assert_error(LM_EUSAGE, "no revision matches 'a'", NULL);
  lm_graph_free(&g);
  lm_graph_free(&g); /* a freed graph is an empty one */
}

static void test_linear(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  /* Added out of order, as files come from a directory listing. */
  add(&g, "c", "b");
  add(&g, "a", NULL);
  add(&g, "b", "a");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_topo(&g, "a b c");
  assert_heads(&g, "c");
  const lm_revision *b = g.revs[find(&g, "b")];
  assert_int_equal(b->nparents, 1);
  assert_string_equal(g.revs[b->parents[0]]->id, "a");
  assert_int_equal(b->nchildren, 1);
  assert_string_equal(g.revs[b->children[0]]->id, "c");
  assert_int_equal(g.revs[find(&g, "a")]->nparents, 0);
  lm_graph_free(&g);
}

static void test_branch(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  add(&g, "b", "a");
  add(&g, "c", "a");
  add(&g, "d", "b");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_topo(&g, "a b c d");
  assert_heads(&g, "c d");
  const lm_revision *a = g.revs[find(&g, "a")];
  assert_ids(&g, a->children, a->nchildren, "b c");
  lm_graph_free(&g);
}

static void test_ties_follow_add_order(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "z", NULL);
  add(&g, "y", "z");
  add(&g, "m", NULL);
  add(&g, "a", "m");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_topo(&g, "z y m a");
  assert_heads(&g, "y a");
  lm_graph_free(&g);
}

static void test_merge_and_diamond(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "d", "b,c");
  add(&g, "c", "a");
  add(&g, "b", "a");
  add(&g, "a", NULL);
  assert_int_equal(lm_graph_build(&g), 0);
  assert_topo(&g, "a c b d");
  assert_heads(&g, "d");
  const lm_revision *d = g.revs[find(&g, "d")];
  assert_ids(&g, d->parents, d->nparents, "b c");
  char mark[4] = {0};
  lm_graph_mark_ancestors(&g, find(&g, "d"), mark);
  assert_marked(&g, mark, "a c b d");
  memset(mark, 0, sizeof mark);
  lm_graph_mark_ancestors(&g, find(&g, "b"), mark);
  assert_marked(&g, mark, "a b");
  memset(mark, 0, sizeof mark);
  lm_graph_mark_descendants(&g, find(&g, "c"), mark);
  assert_marked(&g, mark, "c d");
  memset(mark, 0, sizeof mark);
  lm_graph_mark_descendants(&g, find(&g, "a"), mark);
  assert_marked(&g, mark, "a c b d");
  lm_graph_free(&g);
}

static void test_marks_accumulate_without_spreading(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  add(&g, "b", "a");
  add(&g, "c", "b");
  add(&g, "x", NULL);
  add(&g, "y", "x");
  assert_int_equal(lm_graph_build(&g), 0);
  char mark[5] = {0};
  /* x is marked by the caller; marking a's descendants must not add y. */
  mark[find(&g, "x")] = 1;
  lm_graph_mark_descendants(&g, find(&g, "b"), mark);
  assert_marked(&g, mark, "b c x");
  memset(mark, 0, sizeof mark);
  mark[find(&g, "c")] = 1;
  lm_graph_mark_ancestors(&g, find(&g, "y"), mark);
  assert_marked(&g, mark, "c x y");
  lm_graph_free(&g);
}

static void test_repeated_parent_is_one_edge(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  lm_revision *b = add(&g, "b", "a,a");
  depends(b, "a");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_int_equal(b->nparents, 1);
  assert_int_equal(b->ndeps, 0);
  assert_int_equal(g.revs[0]->nchildren, 1);
  assert_topo(&g, "a b");
  lm_graph_free(&g);
}

static void test_cycle(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", "c");
  add(&g, "b", "a");
  add(&g, "c", "b");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD,
               "versions/a.lua: revision cycle: a -> b (versions/b.lua) -> c (versions/c.lua) -> a",
               "versions/a.lua");
  assert_null(g.topo);
  lm_graph_free(&g);
}

static void test_cycle_behind_a_root(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "root", NULL);
  add(&g, "z", "y"); /* waits on the cycle but is not part of it */
  add(&g, "y", "x,root");
  add(&g, "x", "y");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/y.lua: revision cycle: y -> x (versions/x.lua) -> y",
               "versions/y.lua");
  lm_graph_free(&g);
}

static void test_cycle_through_depends(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  lm_revision *b = add(&g, "b", "a");
  depends(b, "c");
  add(&g, "c", "b");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua: revision cycle: b -> c (versions/c.lua) -> b",
               "versions/b.lua");
  lm_graph_free(&g);
}

static void test_self_parent(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  add(&g, "b", "a,b");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua: revision 'b' lists itself as its down_revision",
               "versions/b.lua");
  lm_graph_free(&g);

  lm_graph_init(&g);
  lm_revision *c = add(&g, "c", NULL);
  depends(c, "c");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/c.lua: revision 'c' depends on itself", "versions/c.lua");
  lm_graph_free(&g);
}

static void test_orphan(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  add(&g, "b", "a");
  add(&g, "c", "nope");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/c.lua: down_revision 'nope' names no revision",
               "versions/c.lua");
  lm_graph_free(&g);

  /* A prefix is not enough in a file. */
  lm_graph_init(&g);
  add(&g, "abcdef", NULL);
  add(&g, "b", "abc");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua: down_revision 'abc' names no revision", "versions/b.lua");
  lm_graph_free(&g);

  lm_graph_init(&g);
  add(&g, "a", NULL);
  lm_revision *b = add(&g, "b", "a");
  depends(b, "ghost");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua: depends_on 'ghost' names no revision", "versions/b.lua");
  lm_graph_free(&g);
}

static void test_duplicate_id(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  lm_revision *x = add(&g, "x", NULL);
  lm_revision *a2 = add(&g, "a", NULL);
  lm_revision *x2 = add(&g, "x", "a");
  free(a2->path);
  a2->path = lm_xstrdup("versions/a_again.lua");
  free(x2->path);
  x2->path = lm_xstrdup("versions/x_again.lua");
  (void)x;
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  /* The duplicate found first in load order is the one reported. */
  assert_error(LM_ELOAD,
               "versions/a_again.lua: duplicate revision id 'a': versions/a.lua sets it too",
               "versions/a_again.lua");
  lm_graph_free(&g);
}

/* With the lines the loader found, each error is at FILE:LINE of the
 * assignment that causes it, and names the other file's line where there is
 * another file. */
static void test_errors_at_lines(void **state) {
  (void)state;
  lm_graph g;
  const lm_error *e;

  lm_graph_init(&g);
  add(&g, "a", NULL)->revision_line = 1;
  lm_revision *b = add(&g, "b", "zz");
  b->down_line = 7;
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua:7: down_revision 'zz' names no revision",
               "versions/b.lua");
  assert_int_equal(lm_error_last()->line, 7);
  lm_graph_free(&g);

  lm_graph_init(&g);
  add(&g, "a", NULL);
  b = add(&g, "b", "a");
  b->down_line = 2;
  b->depends_line = 5;
  depends(b, "ghost");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD, "versions/b.lua:5: depends_on 'ghost' names no revision",
               "versions/b.lua");
  assert_int_equal(lm_error_last()->line, 5);
  lm_graph_free(&g);

  lm_graph_init(&g);
  add(&g, "a", NULL)->revision_line = 3;
  lm_revision *a2 = add(&g, "a", NULL);
  a2->revision_line = 9;
  free(a2->path);
  a2->path = lm_xstrdup("versions/a_again.lua");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD,
               "versions/a_again.lua:9: duplicate revision id 'a': versions/a.lua:3 sets it too",
               "versions/a_again.lua");
  assert_int_equal(lm_error_last()->line, 9);
  lm_graph_free(&g);

  lm_graph_init(&g);
  lm_revision *l1 = add(&g, "a", NULL), *l2 = add(&g, "b", "a");
  labels(l1, "x");
  labels(l2, "x");
  l1->labels_line = 4;
  l2->labels_line = 6;
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(
      LM_ELOAD,
      "versions/b.lua:6: branch label 'x' of b is also a branch label of a (versions/a.lua:4)",
      "versions/b.lua");
  lm_graph_free(&g);

  /* a cycle through a down_revision and a depends_on: each member at the
   * assignment that makes it the child of the one before it */
  lm_graph_init(&g);
  lm_revision *ca = add(&g, "a", "b"), *cb = add(&g, "b", "c"), *cc = add(&g, "c", NULL);
  depends(cc, "a");
  ca->down_line = 3;
  cb->down_line = 2;
  cc->down_line = 8; /* no down_revision: the line must not be used */
  cc->depends_line = 4;
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD,
               "versions/a.lua:3: revision cycle: a -> c (versions/c.lua:4) -> b "
               "(versions/b.lua:2) -> a",
               "versions/a.lua");
  e = lm_error_last();
  assert_int_equal(e->line, 3);
  lm_graph_free(&g);
}

static void test_depends_across_branches(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a", NULL);
  add(&g, "b1", "a");
  lm_revision *c1 = add(&g, "c1", "b1");
  lm_revision *b2 = add(&g, "b2", "a");
  depends(c1, "feature");
  labels(b2, "feature");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_ids(&g, c1->deps, c1->ndeps, "b2");
  /* c1 must wait for b2 although b2 was added after it. */
  assert_topo(&g, "a b1 b2 c1");
  /* A dependency does not merge branches: b2 stays a head. */
  assert_heads(&g, "b2 c1");
  assert_int_equal(b2->nchildren, 0);
  char mark[4] = {0};
  lm_graph_mark_ancestors(&g, find(&g, "c1"), mark);
  assert_marked(&g, mark, "a b1 b2 c1");
  memset(mark, 0, sizeof mark);
  lm_graph_mark_descendants(&g, find(&g, "b2"), mark);
  assert_marked(&g, mark, "b2 c1");
  lm_graph_free(&g);
}

static void test_labels(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "a1", NULL);
  lm_revision *b = add(&g, "b1", "a1");
  labels(b, "feature,a");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_int_equal(find(&g, "feature"), 1);
  /* Exact id, then label, then prefix: "a" is b1's label, not a prefix of a1. */
  assert_int_equal(find(&g, "a"), 1);
  assert_int_equal(find(&g, "a1"), 0);
  lm_graph_free(&g);

  lm_graph_init(&g);
  labels(add(&g, "a", NULL), "x");
  labels(add(&g, "b", "a"), "y,x");
  assert_int_equal(lm_graph_build(&g), LM_ELOAD);
  assert_error(LM_ELOAD,
               "versions/b.lua: branch label 'x' of b is also a branch label of a (versions/a.lua)",
               "versions/b.lua");
  lm_graph_free(&g);
}

static void test_find_prefix(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  add(&g, "ab34", NULL);
  add(&g, "ab12", NULL);
  add(&g, "cd56", "ab12");
  add(&g, "ab", "cd56");
  assert_int_equal(lm_graph_build(&g), 0);
  assert_int_equal(find(&g, "cd"), 2);
  assert_int_equal(find(&g, "cd56"), 2);
  assert_int_equal(find(&g, "ab1"), 1);
  assert_int_equal(find(&g, "ab"), 3); /* an exact id wins over prefixes */
  int idx = -1;
  assert_int_equal(lm_graph_find(&g, "a", &idx), LM_EUSAGE);
  assert_error(LM_EUSAGE, "'a' is ambiguous: it matches ab34, ab12, ab", NULL);
  assert_int_equal(idx, -1);
  assert_int_equal(lm_graph_find(&g, "zz", &idx), LM_EUSAGE);
  assert_error(LM_EUSAGE, "no revision matches 'zz'", NULL);
  assert_int_equal(lm_graph_find(&g, "ab345", &idx), LM_EUSAGE);
  assert_int_equal(lm_graph_find(&g, "", &idx), LM_EUSAGE);
  lm_graph_free(&g);
}

static void test_ambiguous_list_is_capped(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  char id[8];
  for (int i = 0; i < 13; i++) {
    snprintf(id, sizeof id, "f%02d", i);
    add(&g, id, NULL);
  }
  assert_int_equal(lm_graph_build(&g), 0);
  int idx;
  assert_int_equal(lm_graph_find(&g, "f", &idx), LM_EUSAGE);
  assert_error(LM_EUSAGE,
               "'f' is ambiguous: it matches f00, f01, f02, f03, f04, f05, f06, f07, f08, f09 "
               "and 3 more",
               NULL);
  lm_graph_free(&g);
}

static void test_revision_free_owns_everything(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  lm_revision *a = add(&g, "a", NULL);
  a->doc = lm_xstrdup("doc");
  labels(a, "one,two");
  lm_revision *m = add(&g, "m", "a");
  depends(m, "a");
  int n;
  free(m->step_names);
  m->step_names = split("expand,backfill,contract", &n);
  m->nsteps = n;
  m->multistep = 1;
  assert_int_equal(lm_graph_build(&g), 0);
  /* Rebuilding must not leak or duplicate the resolved links. */
  assert_int_equal(lm_graph_build(&g), 0);
  assert_int_equal(a->nchildren, 1);
  assert_topo(&g, "a m");
  lm_graph_free(&g);
  lm_revision_free(NULL);
}

/* The id index after a build: every id found at its own index, prefixes and
 * absent ids not, on a graph large enough for collisions and rehash sizes. */
static void test_index_exact_ids(void **state) {
  (void)state;
  lm_graph g;
  lm_graph_init(&g);
  char prev[16] = "", id[16];
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "r%04d", i);
    add(&g, id, i ? prev : NULL);
    memcpy(prev, id, sizeof id);
  }
  assert_int_equal(lm_graph_index(&g, "r0001"), 1); /* unbuilt: a scan */
  assert_int_equal(lm_graph_build(&g), 0);
  for (int i = 0; i < 1000; i++) {
    snprintf(id, sizeof id, "r%04d", i);
    assert_int_equal(lm_graph_index(&g, id), i);
    int idx = -1;
    assert_int_equal(lm_graph_find(&g, id, &idx), 0);
    assert_int_equal(idx, i);
  }
  assert_int_equal(lm_graph_index(&g, "r"), -1);
  assert_int_equal(lm_graph_index(&g, "r1000"), -1);
  assert_int_equal(lm_graph_index(&g, ""), -1);
  int idx = -1;
  assert_int_equal(lm_graph_find(&g, "r099", &idx), LM_EUSAGE); /* r0990 .. r0999 */
  lm_graph_free(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_linear),
      cmocka_unit_test(test_branch),
      cmocka_unit_test(test_ties_follow_add_order),
      cmocka_unit_test(test_merge_and_diamond),
      cmocka_unit_test(test_marks_accumulate_without_spreading),
      cmocka_unit_test(test_repeated_parent_is_one_edge),
      cmocka_unit_test(test_cycle),
      cmocka_unit_test(test_cycle_behind_a_root),
      cmocka_unit_test(test_cycle_through_depends),
      cmocka_unit_test(test_self_parent),
      cmocka_unit_test(test_orphan),
      cmocka_unit_test(test_duplicate_id),
      cmocka_unit_test(test_errors_at_lines),
      cmocka_unit_test(test_depends_across_branches),
      cmocka_unit_test(test_labels),
      cmocka_unit_test(test_find_prefix),
      cmocka_unit_test(test_ambiguous_list_is_capped),
      cmocka_unit_test(test_revision_free_owns_everything),
      cmocka_unit_test(test_index_exact_ids),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
