/* libFuzzer target: command-line targets (lm_target_parse) and FROM:TO
 * ranges (lm_range_split). The first two bytes size the range buffers, so
 * that short buffers are tried too; the rest is the text. */
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
    if (!memchr(t.rev, 0, sizeof t.rev)) abort();
    if ((t.kind == LM_T_REV || t.kind == LM_T_REV_REL) && !t.rev[0]) abort();
    if ((t.kind == LM_T_REL || t.kind == LM_T_REV_REL) && t.n == 0) abort();
  }

  char *from = malloc(fromsz), *to = malloc(tosz);
  if (lm_range_split(s, from, fromsz, to, tosz) == 0) {
    if (strlen(from) >= fromsz || strlen(to) >= tosz || !*to) abort();
    lm_target_parse(&t, to);
    if (*from) lm_target_parse(&t, from);
  }
  free(from);
  free(to);
  free(s);
  lm_error_clear();
  return 0;
}
