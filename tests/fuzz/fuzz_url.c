/* libFuzzer target: database URLs (lm_url_parse) and the masking of
 * passwords in any text (lm_url_mask). The input is one URL. */
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

/* libpq's PQconninfoOption (libpq is loaded with dlopen, as luamig does). */
typedef struct pq_opt {
  char *keyword, *envvar, *compiled, *val, *label, *dispchar;
  int dispsize;
} pq_opt;

static pq_opt *(*conninfo_parse)(const char *, char **);
static void (*conninfo_free)(pq_opt *);
static void (*pq_freemem)(void *);

static size_t count_in(const char *hay, const char *needle) {
  size_t n = 0, len = strlen(needle);
  for (const char *p = hay; (p = strstr(p, needle)); p += len)
    n++;
  return n;
}

/* Every password libpq's own parser finds in s (values of dispchar "*"
 * options holding "QQ", the seed corpus's secret marker) is gone from the
 * masked text: fewer raw occurrences than in s, none if s held it encoded. */
static void check_libpq_secrets(const char *s, const char *masked) {
  static int tried;
  if (!tried) {
    tried = 1;
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (h) {
      conninfo_parse = (pq_opt * (*)(const char *, char **)) dlsym(h, "PQconninfoParse");
      conninfo_free = (void (*)(pq_opt *))dlsym(h, "PQconninfoFree");
      pq_freemem = (void (*)(void *))dlsym(h, "PQfreemem");
    }
  }
  if (!conninfo_parse || !conninfo_free || !pq_freemem) return;
  char *err = NULL;
  pq_opt *opts = conninfo_parse(s, &err);
  if (err) pq_freemem(err);
  if (!opts) return;
  for (pq_opt *o = opts; o->keyword; o++) {
    if (!o->val || !o->dispchar || strcmp(o->dispchar, "*") != 0 || !strstr(o->val, "QQ")) continue;
    size_t in_s = count_in(s, o->val), in_m = count_in(masked, o->val);
    if (in_s ? in_m >= in_s : in_m > 0) abort();
  }
  conninfo_free(opts);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = lm_xstrndup((const char *)data, size);

  char *masked = lm_url_mask(s);
  if (!masked) abort();
  check_libpq_secrets(s, masked);
  free(masked);

  lm_url *u = NULL;
  int rc = lm_url_parse(&u, s);
  if (rc == 0) {
    /* a parsed URL knows its dialect and how it may be shown */
    if (!u || !u->dialect || !u->masked) abort();
    check_libpq_secrets(s, u->masked);
    if (strcmp(u->dialect, "sqlite") != 0 && strcmp(u->dialect, "postgresql") != 0) abort();
    if (strcmp(u->dialect, "sqlite") == 0 && (!u->path || !*u->path)) abort();
    for (int i = 0; i < u->nopts; i++)
      if (!u->opt_keys[i] || !u->opt_vals[i]) abort();
    lm_url_free(u);
  } else if (u) {
    abort(); /* a failed parse hands nothing back */
  }
  lm_error_clear();
  free(s);
  return 0;
}
