/* The Lua state's allocator (bindings/lua_alloc.c): every block keeps its
 * bytes until freed, whatever else is allocated, resized or freed meanwhile,
 * across the size classes, the class boundaries and the blocks from malloc;
 * blocks are aligned; a Lua state runs on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../bindings/lbind.h"

#include <lauxlib.h>

typedef struct block {
  unsigned char *p;
  size_t n;
  unsigned char fill;
} block;

static void check(const block *b) {
  for (size_t i = 0; i < b->n; i++)
    if (b->p[i] != (unsigned char)(b->fill + i))
      fail_msg("block of %zu bytes changed at %zu", b->n, i);
}

static void fill(block *b) {
  for (size_t i = 0; i < b->n; i++)
    b->p[i] = (unsigned char)(b->fill + i);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Sizes around every class edge and past the largest class. */
static size_t some_size(void) {
  switch (next() % 4) {
  case 0: return 1 + next() % 32;
  case 1: return 1 + next() % 512;
  case 2: return 500 + next() % 30; /* the last classes and the first malloc sizes */
  default: return 1 + next() % 5000;
  }
}

static void test_blocks_keep_their_bytes(void **state) {
  (void)state;
  lm_lalloc *a = lm_lalloc_new();
  assert_non_null(a);
  enum { N = 600 };
  block v[N];
  memset(v, 0, sizeof v);
  for (int round = 0; round < 60000; round++) {
    block *b = &v[next() % N];
    if (b->p) check(b);
    int what = (int)(next() % 3);
    if (!b->p || what == 0) { /* new block (the old one freed first) */
      if (b->p) assert_null(lm_lalloc_fn(a, b->p, b->n, 0));
      b->n = some_size();
      b->p = lm_lalloc_fn(a, NULL, 5 /* a Lua type tag, not a size */, b->n);
      assert_non_null(b->p);
      b->fill = (unsigned char)next();
      fill(b);
    } else if (what == 1) { /* resize: the common prefix survives */
      size_t n = some_size(), keep = n < b->n ? n : b->n;
      unsigned char *p = lm_lalloc_fn(a, b->p, b->n, n);
      assert_non_null(p);
      block k = {p, keep, b->fill};
      check(&k);
      b->p = p;
      b->n = n;
      fill(b);
    } else {
      assert_null(lm_lalloc_fn(a, b->p, b->n, 0));
      b->p = NULL;
    }
    if (b->p) assert_int_equal((uintptr_t)b->p % 8, 0);
  }
  for (int i = 0; i < N; i++)
    if (v[i].p) {
      check(&v[i]);
      lm_lalloc_fn(a, v[i].p, v[i].n, 0);
    }
  lm_lalloc_free(a);
}

/* Blocks alive at the same time never overlap, and a freed block of a class
 * is the one its class gives next. */
static void test_no_overlap_and_reuse(void **state) {
  (void)state;
  lm_lalloc *a = lm_lalloc_new();
  enum { N = 5000 };
  unsigned char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = lm_lalloc_fn(a, NULL, 0, 48);
    memset(p[i], i & 0xff, 48);
  }
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 48; k++)
      assert_int_equal(p[i][k], i & 0xff);
  lm_lalloc_fn(a, p[17], 48, 0);
  unsigned char *q = lm_lalloc_fn(a, NULL, 0, 40); /* same class as 48 */
  assert_ptr_equal(q, p[17]);
  /* a resize within the class stays in place */
  assert_ptr_equal(lm_lalloc_fn(a, q, 40, 33), q);
  for (int i = 0; i < N; i++)
    if (i != 17) lm_lalloc_fn(a, p[i], 48, 0);
  lm_lalloc_fn(a, q, 33, 0);
  lm_lalloc_free(a);
}

/* A Lua state on it: a script that makes and drops many tables and strings
 * of all sizes gives the right answer, and closing frees everything (the
 * sanitizer build checks for leaks). */
static void test_lua_state_runs_on_it(void **state) {
  (void)state;
  lua_State *L = lm_lua_new();
  assert_non_null(L);
  const char *script = "local t, n = {}, 0\n"
                       "for i = 1, 20000 do\n"
                       "  local s = string.rep('x', i % 700) .. i\n"
                       "  t[i % 97] = { s = s, i = i, more = { i, i + 1 } }\n"
                       "  n = n + #s\n"
                       "end\n"
                       "collectgarbage()\n"
                       "return n, t[5].i";
  assert_int_equal(luaL_loadstring(L, script), LUA_OK);
  assert_int_equal(lua_pcall(L, 0, 2, 0), LUA_OK);
  long long want = 0;
  for (int i = 1; i <= 20000; i++) {
    char num[16];
    want += i % 700 + snprintf(num, sizeof num, "%d", i);
  }
  assert_int_equal(lua_tointeger(L, -2), want);
  assert_int_equal(lua_tointeger(L, -1), 19987); /* the last i with i % 97 == 5 */
  lm_lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocks_keep_their_bytes),
      cmocka_unit_test(test_no_overlap_and_reuse),
      cmocka_unit_test(test_lua_state_runs_on_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
