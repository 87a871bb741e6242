/* Loads libpq on demand (see pq_load.h). */
#define LM_PQ_LOAD_IMPL
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dialect/pq_load.h"

lm_pq_api lm_pq;

/* luamig runs one thread: no lock around the first load. */
static int state; /* 0 not tried yet, 1 loaded, -1 failed */
static char failure[512];

static void fail(const char *why) {
  snprintf(failure, sizeof failure,
           "PostgreSQL support needs libpq (" LM_LIBPQ_SONAME "): %s; install the libpq5 package",
           why && *why ? why : "unknown dlopen error");
  memset(&lm_pq, 0, sizeof lm_pq);
  state = -1;
}

int lm_pq_load(const char **why) {
  if (state == 0) {
    /* Never dlclose()d: the pointers stay valid for the whole run, and
     * sanitizer reports can still name libpq's frames at exit. */
    void *h = dlopen(LM_LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fail(dlerror());
    } else {
      state = 1;
#define LM_PQ_RESOLVE(f)                                                                           \
  if (state == 1) {                                                                                \
    dlerror();                                                                                     \
    void *sym = dlsym(h, #f);                                                                      \
    if (sym) {                                                                                     \
      lm_pq.f = (__typeof__(lm_pq.f))sym;                                                          \
    } else {                                                                                       \
      const char *e = dlerror();                                                                   \
      fail(e ? e : "no symbol " #f);                                                               \
    }                                                                                              \
  }
      LM_PQ_FUNCS(LM_PQ_RESOLVE)
#undef LM_PQ_RESOLVE
    }
  }
  if (why) *why = state == 1 ? NULL : failure;
  return state == 1 ? 0 : -1;
}
