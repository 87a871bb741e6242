/* Canonical forms of SQL types, defaults and expressions, for comparing a
 * model with a database (engine/normalize.c). Results are malloc'd. */
#ifndef LM_NORMALIZE_H
#define LM_NORMALIZE_H

#include "lm.h"

/** `character varying(255)`, `VARCHAR(255)` → `varchar(255)`; `int4`,
 * `serial`, `INTEGER` → `integer`; unknown types lower-cased. */
char *lm_norm_type(const char *type);
/** Whether a normalised type is of a family: "bool", "number" or "string". */
int lm_norm_type_is(const char *ntype, const char *family);
/** A column default without casts and outer parentheses; string literals
 * re-quoted, numbers canonical, booleans `true`/`false` on a boolean column,
 * now() = CURRENT_TIMESTAMP; NULL for no default (or DEFAULT NULL). ntype is
 * the column's normalised type (may be NULL). */
char *lm_norm_default(const char *def, const char *ntype);
/** A default without outer parentheses and casts, as written otherwise. */
char *lm_norm_default_raw(const char *def);
/** The text of one SQL string literal ('it''s' → it's), or NULL. */
char *lm_norm_literal(const char *s);
/** Whether s is the text of a number (-1.5e3). */
int lm_norm_is_number(const char *s);
/** An expression (CHECK, partial index WHERE, index expression) without
 * casts, parentheses or spacing, lower-cased outside strings, `= ANY
 * (ARRAY[…])` read as IN. */
char *lm_norm_expr(const char *expr);
/** expr with each reference to column from (bare, any case, or quoted
 * exactly; not a function of that name, nothing inside a string) written
 * as "to" — what the database does to a CHECK, a partial index's WHERE or
 * an index expression when the column is renamed; NULL when expr names no
 * such column. */
char *lm_norm_rename_column(const char *expr, const char *from, const char *to);
/** The same for nr renames at once (a swap of two names stays a swap). */
char *lm_norm_rename_columns(const char *expr, const char *const *from, const char *const *to,
                             int nr);
/** Whether a column name must be quoted to be read as that name: it is not
 * lower-case letters, digits and _, or it is a reserved word. */
int lm_sql_name_needs_quotes(const char *name);
/** Whether s is a plain SQL name: letters, digits and _, not starting with a
 * digit; with dotted set, such names joined by dots (schema.name). */
int lm_sql_plain_name(const char *s, int dotted);
/** Appends name as SQL reads it: bare where it can be, quoted where it must. */
void lm_buf_sql_name(lm_buf *b, const char *name);
/** An index entry's order: DESC, and NULLS FIRST/LAST where it is not
 * the order's default (NULLS LAST for ASC, NULLS FIRST for DESC). */
enum { LM_INDEX_DESC = 1, LM_INDEX_NULLS_OTHER = 2 };
/** The order of desc (0/1) with nulls 0 (default), 'F' or 'L'. */
int lm_norm_index_order(int desc, int nulls);
/** An index access method as compared and kept (malloc'd, lower case), or
 * NULL for none or the default, btree. */
char *lm_norm_index_method(const char *method);
/** An index entry's text, `key [COLLATE c] [opclass] [ASC|DESC] [NULLS
 * FIRST|LAST]`, split: the key as written (a whole quoted name unquoted),
 * COLLATE and operator class as one canonical text or NULL, and the order
 * (LM_INDEX_*). A key is a name or ends in a parenthesis when an operator
 * class follows it. */
void lm_norm_index_entry(const char *entry, char **key, char **opts, int *order);
/** The canonical COLLATE / operator class text (or NULL) of each of the
 * first n key columns of a `CREATE INDEX … USING method (…)` statement,
 * into opts[0..n). */
void lm_norm_index_def_opts(const char *def, char **opts, int n);
/** 1 when two expressions normalise to the same text (both NULL: same). */
int lm_expr_same(const char *a, const char *b);

#endif
