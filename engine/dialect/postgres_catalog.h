/* PostgreSQL's catalog (engine/dialect/postgres_catalog.c). */
#ifndef LM_POSTGRES_CATALOG_H
#define LM_POSTGRES_CATALOG_H

#include "schema.h"

/** lm_dialect.reflect_schema of PostgreSQL: the current schema. */
int lm_pg_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                         const char *vt_table, lm_schema *out);

/** lm_dialect.canonical_check of PostgreSQL. */
int lm_pg_canonical_check(const lm_dialect *d, lm_conn *c, const char *table, const char *expr,
                          char **out);

/** type_change_needs_cast: a string to another type, boolean to or from a
 * number. */
int lm_pg_type_change_needs_cast(const char *from, const char *to);

#endif
