/* libFuzzer target: the revision index file (engine/revindex.c). The input
 * is the file after its header line; a parse must keep only well-formed,
 * sorted entries, and what it writes back must parse to as many. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (lm_revindex_parse_buffer((const char *)data, size) < 0) abort();
  return 0;
}
