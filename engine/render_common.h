/* What every dialect's rendering shares (engine/render_common.c): the walk
 * over op records and the standard SQL pieces a dialect's hooks fall back on.
 * A dialect's `render` entry (include/luamig/sys/dialect.h) refuses what it
 * cannot do and hands the rest to lm_render_common_op(). */
#ifndef LUAMIG_RENDER_COMMON_H
#define LUAMIG_RENDER_COMMON_H

#include "lm.h"

/** Renders op (its names checked) into out, asking d's rendering fields for
 * every dialect detail through the wrappers of engine/dialect/dialect.c. */
int lm_render_common_op(const lm_dialect *d, const lm_op *op, lm_stmts *out);
/** v as standard SQL: NULL, integers, the shortest text that reads back as
 * the same double (NULL for NaN and the infinities, which standard SQL cannot
 * spell), TRUE/FALSE, text in '' with quotes doubled. */
void lm_render_literal_sql(const lm_value *v, lm_buf *b);
/** s as lower-case hex digits, two per byte. */
void lm_render_hex(lm_buf *b, const char *s, size_t n);
/** For lm_type_known (engine/dialect/registry.c): 1 when type is known
 * whatever the dialect (a luamig type, a user's quoted or qualified name, or
 * too long to judge); else 0 with its base name (lower case, no arguments or
 * []) in base, for the dialects to recognise. */
int lm_type_base(const char *type, char base[96]);

#endif
