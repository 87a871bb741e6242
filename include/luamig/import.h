/* Converting one Alembic revision file (Python) into a luamig revision (Lua)
 * by the porting rule of SPEC §4: `op.X(a, b, kw=v)` → `op.X(a, b, { kw = v })`,
 * `sa.Column(...)` → `op.column(...)`, SQLAlchemy types → type strings.
 * A statement outside what can be converted becomes
 * `error("not converted from Alembic: <the Python line>")` at its place. */
#ifndef LUAMIG_IMPORT_H
#define LUAMIG_IMPORT_H

#include <stddef.h>

#include "luamig/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_alembic_rev {
  char *id;   /* the revision id, or NULL when the file could not be read */
  char *name; /* the Lua file name: <id>_<slug>.lua */
  char *lua;  /* the revision file's text */
  /* lines for stderr: "PATH:LINE: not converted: …" and notes */
  lm_buf diag;
  int nunconverted;
  /* a file that cannot be converted at all: message and line (0: none) */
  char *error;
  int error_line;
} lm_alembic_rev;

/** Converts the Alembic revision file src (len bytes) that is shown as
 * path (and named file_name, its base name). Returns 0, or -1 with
 * out->error set (the file cannot be read as Python, has no revision id, or
 * an id luamig cannot use). Statements that were not converted are counted
 * in out->nunconverted and listed in out->diag either way. */
int lm_alembic_convert(const char *path, const char *file_name, const char *src, size_t len,
                       lm_alembic_rev *out);
void lm_alembic_rev_free(lm_alembic_rev *r);

#ifdef __cplusplus
}
#endif
#endif
