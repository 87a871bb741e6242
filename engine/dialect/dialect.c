/* The registry of dialects, looked up by the name a URL or --dialect gives. */
#include <strings.h>

#include "lm.h"

const lm_dialect *lm_dialect_find(const char *name) {
  if (!name) return NULL;
  if (strcasecmp(name, "sqlite") == 0) return &lm_dialect_sqlite;
  if (strcasecmp(name, "postgresql") == 0 || strcasecmp(name, "postgres") == 0)
    return &lm_dialect_postgresql;
  return NULL;
}
