/* SQLite's catalog (engine/dialect/sqlite_catalog.c): the one reader of
 * SQLite's tables, for the schema model and for move-and-copy. */
#ifndef LM_SQLITE_CATALOG_H
#define LM_SQLITE_CATALOG_H

#include "schema.h"

/** lm_dialect.reflect_schema of SQLite. */
int lm_sqlite_reflect_schema(lm_conn *c, const char *vt_schema, const char *vt_table,
                             lm_schema *out);

#endif
