/* libFuzzer target: type names (lm_render_type, lm_type_known) for both dialects. The
 * first byte picks the dialect, the rest is the type as a revision wrote it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const lm_dialect *d = (data[0] & 1) ? &lm_dialect_postgresql : &lm_dialect_sqlite;
  char *type = lm_xstrndup((const char *)data + 1, size - 1);
  lm_buf b;
  lm_buf_init(&b);
  lm_render_type(d, type, &b);
  /* the rendering is a C string no longer than the buffer says */
  if (b.len > 0 && (!b.s || strlen(b.s) != b.len)) abort();
  lm_buf_free(&b);
  /* lint's unknown-type check reads the same text */
  const lm_dialect *const knowers[3] = {NULL, &lm_dialect_postgresql, &lm_dialect_sqlite};
  int known = lm_type_known(knowers[data[0] % 3], type);
  if (known != 0 && known != 1) abort();
  if (known && !lm_type_known(NULL, type)) abort(); /* known to one is known to either */
  free(type);
  lm_error_clear();
  return 0;
}
