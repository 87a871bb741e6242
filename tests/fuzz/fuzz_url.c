/* libFuzzer target: database URLs (lm_url_parse) and the masking of
 * passwords in any text (lm_url_mask). The input is one URL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = lm_xstrndup((const char *)data, size);

  char *masked = lm_url_mask(s);
  if (!masked) abort();
  free(masked);

  lm_url *u = NULL;
  int rc = lm_url_parse(&u, s);
  if (rc == 0) {
    /* a parsed URL knows its dialect and how it may be shown */
    if (!u || !u->dialect || !u->masked) abort();
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
