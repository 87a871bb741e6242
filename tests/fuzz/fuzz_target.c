/* libFuzzer target: command-line targets (lm_target_parse) and FROM:TO
 * ranges (lm_range_split), their resolution on a chain (lm_plan_resolve) and
 * the plans they make (lm_plan_upgrade, lm_plan_downgrade). The first two
 * bytes size the range buffers, so that short buffers are tried too; the
 * rest is the text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t fromsz = 1 + data[0] % 130, tosz = 1 + data[1] % 130;
  char *s = lm_xstrndup((const char *)data + 2, size - 2);

  lm_target t;
  if (lm_target_parse(&t, s) == 0) {
    if (t.kind < LM_T_HEAD || t.kind > LM_T_REV_REL) abort();
    if (!memchr(t.rev, 0, sizeof t.rev) || !memchr(t.label, 0, sizeof t.label)) abort();
    if (t.kind == LM_T_REV && (!t.rev[0] || t.label[0])) abort();
    if (t.kind == LM_T_REV_REL && !t.rev[0] == !t.label[0]) abort(); /* one origin */
    if ((t.kind == LM_T_REL || t.kind == LM_T_REV_REL) && t.n == 0) abort();
  }

  char *from = malloc(fromsz), *to = malloc(tosz);
  if (lm_range_split(s, from, fromsz, to, tosz) == 0) {
    /* an empty TO only as an open range (44f:) */
    if (strlen(from) >= fromsz || strlen(to) >= tosz || (!*to && !strchr(s, ':'))) abort();
    if (*to) lm_target_parse(&t, to);
    if (*from) lm_target_parse(&t, from);
  }
  /* and resolved on a small chain a ─ b ─ c with a applied */
  static lm_graph g;
  static int ready;
  if (!ready) {
    lm_graph_init(&g);
    const char *ids[] = {"a1b2c3", "b2c3d4", "c3d4e5"};
    for (int i = 0; i < 3; i++) {
      lm_revision *r = lm_xcalloc(1, sizeof *r);
      r->id = lm_xstrdup(ids[i]);
      r->path = lm_xstrdup(ids[i]);
      r->nsteps = 1;
      if (i == 1) { /* b carries a label */
        r->labels = lm_xcalloc(1, sizeof *r->labels);
        r->labels[0] = lm_xstrdup("lab");
        r->nlabels = 1;
      }
      if (i) {
        r->down = lm_xcalloc(1, sizeof *r->down);
        r->down[0] = lm_xstrdup(ids[i - 1]);
        r->ndown = 1;
      }
      lm_graph_add(&g, r);
    }
    if (lm_graph_build(&g) != 0) abort();
    ready = 1;
  }
  int state[3] = {1, 0, 0}, idx = -5;
  if (lm_plan_resolve(&g, (size & 1) ? state : NULL, s, &idx) == 0 && (idx < -1 || idx >= g.n))
    abort();
  /* a plan only names revisions of the chain, each step once, in the
   * direction asked */
  if (lm_target_parse(&t, s) == 0) {
    for (int up = 0; up < 2; up++) {
      lm_plan plan;
      int rc = up ? lm_plan_upgrade(&g, state, &t, NULL, &plan)
                  : lm_plan_downgrade(&g, state, &t, &plan);
      int seen[3] = {0};
      for (int k = 0; !rc && k < plan.n; k++) {
        const lm_plan_item *it = &plan.v[k];
        if (it->rev < 0 || it->rev >= g.n || it->up != up || it->step != 0 || seen[it->rev]++)
          abort();
        if (up ? state[it->rev] != 0 : state[it->rev] != 1) abort();
      }
      lm_plan_free(&plan);
    }
  }
  free(from);
  free(to);
  free(s);
  lm_error_clear();
  return 0;
}
