/* How PostgreSQL's SQL differs from what engine/render_common.c writes: its
 * type names and its literals. It renders every operation in place. */
#include <math.h>
#include <string.h>

#include "lm.h"
#include "dialect/postgres_render.h"
#include "render_common.h"

/* The SPEC §4 types PostgreSQL spells its own way (the rest: standard SQL). */
const struct lm_type_pair lm_pg_type_names[] = {{"float", "DOUBLE PRECISION"},
                                                {"datetime", "TIMESTAMP WITHOUT TIME ZONE"},
                                                {"timestamp", "TIMESTAMP WITHOUT TIME ZONE"},
                                                {"timestamptz", "TIMESTAMP WITH TIME ZONE"},
                                                {"json", "JSONB"},
                                                {"uuid", "UUID"},
                                                {"binary", "BYTEA"},
                                                {"largebinary", "BYTEA"},
                                                {NULL, NULL}};

/* Types PostgreSQL (and its common extensions) knows that SPEC §4 does not
 * list: base names, lower case, arguments and [] left out. */
const char *const lm_pg_known_types[] = {"int",
                                         "int2",
                                         "int4",
                                         "int8",
                                         "serial",
                                         "serial2",
                                         "serial4",
                                         "serial8",
                                         "smallserial",
                                         "bigserial",
                                         "real",
                                         "float4",
                                         "float8",
                                         "double precision",
                                         "decimal",
                                         "money",
                                         "char",
                                         "character",
                                         "character varying",
                                         "bpchar",
                                         "citext",
                                         "bytea",
                                         "bool",
                                         "timetz",
                                         "time with time zone",
                                         "time without time zone",
                                         "timestamp with time zone",
                                         "timestamp without time zone",
                                         "interval",
                                         "jsonb",
                                         "jsonpath",
                                         "xml",
                                         "inet",
                                         "cidr",
                                         "macaddr",
                                         "macaddr8",
                                         "tsvector",
                                         "tsquery",
                                         "point",
                                         "line",
                                         "lseg",
                                         "box",
                                         "path",
                                         "polygon",
                                         "circle",
                                         "bit",
                                         "bit varying",
                                         "varbit",
                                         "int4range",
                                         "int8range",
                                         "numrange",
                                         "tsrange",
                                         "tstzrange",
                                         "daterange",
                                         "int4multirange",
                                         "int8multirange",
                                         "nummultirange",
                                         "tsmultirange",
                                         "tstzmultirange",
                                         "datemultirange",
                                         "oid",
                                         "regclass",
                                         "regtype",
                                         "name",
                                         "hstore",
                                         "ltree",
                                         "geometry",
                                         "geography",
                                         "pg_lsn",
                                         "txid_snapshot",
                                         "vector",
                                         NULL};

/* What PostgreSQL reflects for the luamig types it alone spells so. */
const struct lm_type_pair lm_pg_reflected_types[] = {
    {"double precision", "float"}, {"jsonb", "json"}, {"bytea", "binary"}, {NULL, NULL}};

void lm_pg_literal(const lm_dialect *d, const lm_value *v, lm_buf *b) {
  LM_UNUSED(d);
  if (v->t == LM_V_FLOAT && isnan(v->f)) {
    lm_buf_puts(b, "'NaN'");
    return;
  }
  if (v->t == LM_V_FLOAT && isinf(v->f)) {
    lm_buf_puts(b, v->f > 0 ? "'Infinity'" : "'-Infinity'");
    return;
  }
  if (v->t == LM_V_TEXT && v->s && memchr(v->s, 0, v->len)) {
    /* A NUL cannot sit inside a quoted literal (the statement is a C
     * string); spelled in hex, PostgreSQL refuses it just as it refuses the
     * bound value. */
    lm_buf_puts(b, "convert_from(decode('");
    lm_render_hex(b, v->s, v->len);
    lm_buf_puts(b, "', 'hex'), 'UTF8')");
    return;
  }
  if (v->t == LM_V_TEXT && v->s && memchr(v->s, '\\', v->len)) {
    /* E'' reads the same whatever standard_conforming_strings is, so a
     * trailing backslash can never swallow the closing quote. */
    lm_buf_puts(b, "E'");
    for (size_t i = 0; i < v->len; i++) {
      if (v->s[i] == '\'' || v->s[i] == '\\') lm_buf_putc(b, v->s[i]);
      lm_buf_putc(b, v->s[i]);
    }
    lm_buf_putc(b, '\'');
    return;
  }
  lm_render_literal_sql(v, b);
}

/* PostgreSQL does every operation in place. */
int lm_pg_render(const lm_dialect *d, const lm_op *op, lm_stmts *out) {
  return lm_render_common_op(d, op, out);
}
