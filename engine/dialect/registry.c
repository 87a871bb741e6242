/* The registry of dialects: finding one by name, and the questions asked of
 * all of them. Kept apart from the wrappers (dialect.c), which the dialects'
 * own code calls back into: the registry refers to every dialect's table,
 * the wrappers to none, so no file depends on itself through the other. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lm.h"
#include "render_common.h"

static const lm_dialect *const registry[] = {&lm_dialect_sqlite, &lm_dialect_postgresql};

static int usable(const lm_dialect *d) {
  return d->version >= LM_DIALECT_VERSION_MIN && d->version <= LM_DIALECT_VERSION;
}

const lm_dialect *lm_dialect_find(const char *name) {
  if (!name) return NULL;
  if (strcasecmp(name, "postgres") == 0) name = "postgresql";
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (strcasecmp(name, registry[i]->name) == 0) return usable(registry[i]) ? registry[i] : NULL;
  return NULL;
}

int lm_dialect_names(const char **names, int max) {
  int n = (int)(sizeof registry / sizeof registry[0]);
  for (int i = 0; i < n && i < max; i++)
    names[i] = registry[i]->name;
  return n;
}

const lm_dialect *lm_dialect_with_cap(unsigned cap) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (usable(registry[i]) && lm_dialect_has_cap(registry[i], cap)) return registry[i];
  return NULL;
}

const lm_dialect *lm_dialect_default(void) { return registry[0]; }

int lm_type_known(const lm_dialect *d, const char *type) {
  char base[96];
  if (lm_type_base(type, base)) return 1;
  if (d) return lm_dialect_knows_type(d, base);
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (usable(registry[i]) && lm_dialect_knows_type(registry[i], base)) return 1;
  return 0;
}
