/* libFuzzer target: the revision index file (engine/revindex.c). The input
 * is the file after its header line; a parse must keep only well-formed,
 * sorted entries, and what it writes back must parse to as many. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char head[] = "luamig-revindex 1 fuzz\n";
  char *text = malloc(sizeof head - 1 + size);
  memcpy(text, head, sizeof head - 1);
  memcpy(text + sizeof head - 1, data, size);
  if (lm_revindex_parse_buffer(text, sizeof head - 1 + size) < 0) abort();
  free(text);
  return 0;
}
