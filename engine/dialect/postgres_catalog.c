/* PostgreSQL's catalog: the schema model (engine/schema.h) read from a live
 * database.
 *
 * pg_catalog has it all: format_type, pg_get_expr, pg_get_constraintdef,
 * pg_get_indexdef, each already canonical. Only the schema qualifier and
 * sequence names are taken out, because they differ between two databases
 * migrated the same way. */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "normalize.h"
#include "postgres_catalog.h"

/* Every query covers the whole current schema at once; lm_rows are handed to
 * their table by name. */
#define PG_REL_JOIN                                                                                \
  " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "

static const char PG_COLUMNS[] =
    "SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull, "
    "pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attidentity::text, a.attgenerated::text, "
    "pg_catalog.col_description(a.attrelid, a.attnum), "
    "(SELECT l.collname FROM pg_catalog.pg_collation l JOIN pg_catalog.pg_type y "
    "ON y.oid = a.atttypid WHERE l.oid = a.attcollation AND a.attcollation <> y.typcollation) "
    "FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid "
    "LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum" PG_REL_JOIN
    "AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY c.relname, a.attnum";

/* Column lists come joined by chr(31), in key order. */
#define PG_ATTNAMES(keys, rel)                                                                     \
  "(SELECT string_agg(a.attname, chr(31) ORDER BY u.o) FROM unnest(" keys ") WITH ORDINALITY "     \
  "u(n, o) JOIN pg_catalog.pg_attribute a ON a.attrelid = " rel " AND a.attnum = u.n)"

static const char PG_CONSTRAINTS[] =
    "SELECT c.relname, k.conname, k.contype::text, "
    "pg_catalog.pg_get_constraintdef(k.oid), " PG_ATTNAMES(
        "k.conkey",
        "k.conrelid") ", f.relname, " PG_ATTNAMES("k.confkey",
                                                  "k.confrelid") ", k.confdeltype::text, "
                                                                 "k.confupdtype::text, "
                                                                 "pg_catalog.pg_get_expr(k.conbin, "
                                                                 "k.conrelid) "
                                                                 "FROM pg_catalog.pg_constraint k "
                                                                 "JOIN pg_catalog.pg_class c ON "
                                                                 "c.oid = k.conrelid "
                                                                 "LEFT JOIN pg_catalog.pg_class f "
                                                                 "ON f.oid = "
                                                                 "k.confrelid" PG_REL_JOIN
                                                                 "AND c.relkind IN ('r', 'p') AND "
                                                                 "k.contype IN ('p', 'u', 'f', "
                                                                 "'c', 'x')";

/* Indexes that back a constraint are that constraint. */
static const char PG_INDEXES[] =
    "SELECT c.relname, i.relname, pg_catalog.pg_get_indexdef(x.indexrelid), x.indisunique, "
    "(SELECT string_agg(pg_catalog.pg_get_indexdef(x.indexrelid, k, true), chr(31) ORDER BY k) "
    "FROM generate_series(1, x.indnkeyatts) k), "
    "(SELECT string_agg((x.indoption[k - 1] & 3)::text, chr(31) ORDER BY k) "
    "FROM generate_series(1, x.indnkeyatts) k), pg_catalog.pg_get_expr(x.indpred, x.indrelid), "
    "(SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid = i.relam), "
    "(SELECT string_agg(pg_catalog.pg_get_indexdef(x.indexrelid, k, true), chr(31) ORDER BY k) "
    "FROM generate_series(x.indnkeyatts + 1, x.indnatts) k) "
    "FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid "
    "JOIN pg_catalog.pg_class c ON c.oid = x.indrelid" PG_REL_JOIN
    "AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k "
    "WHERE k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))";

static const char PG_TRIGGERS[] =
    "SELECT c.relname, t.tgname, pg_catalog.pg_get_triggerdef(t.oid) "
    "FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid" PG_REL_JOIN
    "AND NOT t.tgisinternal";

static const char PG_VIEWS[] =
    "SELECT c.relname, c.relkind::text, pg_catalog.pg_get_viewdef(c.oid) "
    "FROM pg_catalog.pg_class c" PG_REL_JOIN "AND c.relkind IN ('v', 'm')";

/* Sequences a column owns (SERIAL, identity) are part of that column. */
static const char PG_SEQUENCES[] =
    "SELECT c.relname FROM pg_catalog.pg_class c" PG_REL_JOIN
    "AND c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
    "WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid "
    "AND d.deptype IN ('a', 'i'))";

static const char PG_ENUMS[] =
    "SELECT t.typname, (SELECT string_agg(quote_literal(e.enumlabel), ', ' "
    "ORDER BY e.enumsortorder) FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid) "
    "FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace "
    "WHERE n.nspname = current_schema() AND t.typtype = 'e'";

/* Removes the first "<prefix><qschema>." from s: pg_get_indexdef and
 * pg_get_triggerdef always qualify the table. */
static void unqualify(char *s, const char *prefix, const char *qschema) {
  char *needle = lm_xasprintf("%s%s.", prefix, qschema);
  char *p = strstr(s, needle);
  if (p) {
    size_t skip = strlen(qschema) + 1, keep = strlen(prefix);
    memmove(p + keep, p + keep + skip, strlen(p + keep + skip) + 1);
  }
  free(needle);
}

static void remove_first(char *s, const char *what) {
  char *p = strstr(s, what);
  if (p) memmove(p, p + strlen(what), strlen(p + strlen(what)) + 1);
}

/* nextval('users_id_seq'::regclass) on an integer column is SERIAL: the
 * sequence's name depends on the table's history (a renamed table keeps
 * it), not on the schema. */
static int serial_type(lm_schema_column *col) {
  static const char *const ints[][2] = {
      {"integer", "serial"}, {"bigint", "bigserial"}, {"smallint", "smallserial"}};
  const char *d = col->def;
  size_t n = d ? strlen(d) : 0;
  if (n < 20 || strncmp(d, "nextval('", 9) != 0 || strcmp(d + n - 12, "'::regclass)") != 0)
    return 0;
  for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
    if (strcmp(col->type, ints[i][0]) != 0) continue;
    free(col->type);
    col->type = lm_xstrdup(ints[i][1]);
    free(col->def);
    col->def = NULL;
    return 1;
  }
  return 0;
}

/* confdeltype / confupdtype: NULL for NO ACTION. */
static const char *pg_fk_action(const char *c) {
  if (!c) return NULL;
  switch (*c) {
  case 'r': return "RESTRICT";
  case 'c': return "CASCADE";
  case 'n': return "SET NULL";
  case 'd': return "SET DEFAULT";
  }
  return NULL;
}

/* pg_get_indexdef(oid, k, true) quotes a column name only when it must. */
static void unquote_ident(char *s) {
  size_t n = strlen(s);
  if (n < 2 || s[0] != '"' || s[n - 1] != '"') return;
  size_t w = 0;
  for (size_t i = 1; i + 1 < n; i++) {
    s[w++] = s[i];
    if (s[i] == '"' && s[i + 1] == '"') i++;
  }
  s[w] = 0;
}

static int name_cmp(const void *key, const void *elem) {
  return strcmp(key, (*(lm_schema_table *const *)elem)->name);
}

static lm_schema_table *find_sorted(const lm_schema *s, const char *name) {
  if (!name || s->ntables == 0) return NULL;
  lm_schema_table **t = bsearch(name, s->tables, (size_t)s->ntables, sizeof *s->tables, name_cmp);
  return t ? *t : NULL;
}

/* A table's single integer key column that is neither SERIAL nor an
 * identity numbers nothing itself: autoincrement = false, which the model's
 * "auto" would otherwise turn into SERIAL. */
static void plain_integer_keys(lm_schema *s) {
  for (int i = 0; i < s->ntables; i++) {
    lm_schema_table *t = s->tables[i];
    const lm_schema_item *pk = lm_schema_pk(t);
    lm_schema_column *col = pk && pk->ncols == 1 ? lm_schema_find_column(t, pk->cols[0]) : NULL;
    if (col && !col->extra && col->type &&
        (!strcmp(col->type, "integer") || !strcmp(col->type, "bigint") ||
         !strcmp(col->type, "smallint")))
      col->autoincrement = 0;
  }
}

int lm_pg_reflect_schema(const lm_dialect *d, lm_conn *c, const char *vt_schema,
                         const char *vt_table, lm_schema *s) {
  lm_rows r;
  int rc = lm_rows_query(d, c, "SELECT current_schema(), quote_ident(current_schema())", NULL, &r);
  if (rc) return rc;
  if (r.n != 1 || !lm_rows_cell(&r, 0, 0)) {
    lm_rows_free(&r);
    return lm_error_set(LM_EDB, "the connection has no current schema (check search_path)");
  }
  char *schema = lm_xstrdup(lm_rows_cell(&r, 0, 0)), *qschema = lm_xstrdup(lm_rows_cell(&r, 0, 1));
  lm_rows_free(&r);
  /* the version table is luamig's, when it lives in this schema */
  const char *skip = !vt_schema || strcmp(vt_schema, schema) == 0 ? vt_table : NULL;

  rc = lm_rows_query(
      d, c, "SELECT c.relname FROM pg_catalog.pg_class c" PG_REL_JOIN "AND c.relkind IN ('r', 'p')",
      NULL, &r);
  for (int i = 0; !rc && i < r.n; i++)
    if (!skip || strcmp(lm_rows_cell(&r, i, 0), skip) != 0)
      lm_schema_add_table(s, lm_rows_cell(&r, i, 0));
  lm_rows_free(&r);
  /* every row below is handed to its table by name: sorted once, searched often */
  lm_schema_sort(s);

  if (!rc) rc = lm_rows_query(d, c, PG_COLUMNS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, lm_rows_cell(&r, i, 0));
    if (!t) continue;
    lm_schema_column *col = lm_schema_add_column(t, lm_rows_cell(&r, i, 1), lm_rows_cell(&r, i, 2),
                                                 lm_rows_int(&r, i, 3), lm_rows_cell(&r, i, 4));
    const char *identity = lm_rows_cell(&r, i, 5), *generated = lm_rows_cell(&r, i, 6);
    if (identity && *identity == 'a') col->extra = lm_xstrdup("GENERATED ALWAYS AS IDENTITY");
    if (identity && *identity == 'd') col->extra = lm_xstrdup("GENERATED BY DEFAULT AS IDENTITY");
    if (generated && *generated == 's' && col->def) {
      col->extra = lm_xasprintf("GENERATED ALWAYS AS (%s) STORED", col->def);
      free(col->def);
      col->def = NULL;
    }
    if (!col->extra) serial_type(col);
    col->comment = lm_xstrdup(lm_rows_cell(&r, i, 7));
    col->collation = lm_xstrdup(lm_rows_cell(&r, i, 8));
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_CONSTRAINTS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, lm_rows_cell(&r, i, 0));
    const char *type = lm_rows_cell(&r, i, 2);
    int kind = !type          ? LM_SCON_CHECK
               : *type == 'p' ? LM_SCON_PK
               : *type == 'u' ? LM_SCON_UNIQUE
               : *type == 'f' ? LM_SCON_FK
               : *type == 'x' ? LM_SCON_EXCLUDE
                              : LM_SCON_CHECK;
    if (!t) continue;
    lm_schema_item *it =
        lm_schema_add_constraint(t, kind, lm_rows_cell(&r, i, 1), lm_rows_cell(&r, i, 3));
    lm_schema_item_add_joined(it, lm_rows_cell(&r, i, 4), 0);
    if (kind == LM_SCON_FK) {
      it->ref_table = lm_xstrdup(lm_rows_cell(&r, i, 5));
      lm_schema_item_add_joined(it, lm_rows_cell(&r, i, 6), 1);
      it->ondelete = lm_xstrdup(pg_fk_action(lm_rows_cell(&r, i, 7)));
      it->onupdate = lm_xstrdup(pg_fk_action(lm_rows_cell(&r, i, 8)));
    }
    if (kind == LM_SCON_CHECK) it->expr = lm_xstrdup(lm_rows_cell(&r, i, 9));
    if (kind == LM_SCON_PK) lm_catalog_mark_pk(t, it);
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_INDEXES, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, lm_rows_cell(&r, i, 0));
    if (!t) continue;
    const char *full = lm_rows_cell(&r, i, 2) ? lm_rows_cell(&r, i, 2) : "";
    char *def = lm_xstrdup(full);
    unqualify(def, " ON ONLY ", qschema);
    unqualify(def, " ON ", qschema);
    remove_first(def, " USING btree");
    lm_schema_item *it = lm_schema_add_index(t, lm_rows_cell(&r, i, 1), def);
    free(def);
    const char *u = lm_rows_cell(&r, i, 3);
    it->unique = u && (*u == 't' || *u == '1');
    lm_schema_item_add_joined(it, lm_rows_cell(&r, i, 4), 0);
    /* indoption: 1 DESC, 2 NULLS FIRST */
    const char *opt = lm_rows_cell(&r, i, 5);
    for (int k = 0; opt && k < it->ncols; k++) {
      int o = *opt - '0';
      it->desc[k] = lm_norm_index_order(o & 1, o & 2 ? 'F' : 'L');
      opt = strchr(opt, '\x1f');
      if (opt) opt++;
    }
    /* what pg_get_indexdef shows: not the defaults */
    lm_norm_index_def_opts(full, it->opts, it->ncols);
    for (int k = 0; k < it->ncols; k++)
      unquote_ident(it->cols[k]);
    it->expr = lm_xstrdup(lm_rows_cell(&r, i, 6));
    it->method = lm_norm_index_method(lm_rows_cell(&r, i, 7));
    /* a covering index's INCLUDE columns, names as the key's are */
    lm_schema_item inc = {0};
    lm_schema_item_add_joined(&inc, lm_rows_cell(&r, i, 8), 0);
    for (int k = 0; k < inc.ncols; k++)
      unquote_ident(inc.cols[k]);
    lm_schema_item_set_include(it, (const char *const *)inc.cols, inc.ncols);
    lm_schema_item_clear(&inc);
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_TRIGGERS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_schema_table *t = find_sorted(s, lm_rows_cell(&r, i, 0));
    if (!t) continue;
    char *def = lm_xstrdup(lm_rows_cell(&r, i, 2) ? lm_rows_cell(&r, i, 2) : "");
    unqualify(def, " ON ", qschema);
    lm_schema_add_trigger(t, lm_rows_cell(&r, i, 1), def);
    free(def);
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_VIEWS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    const char *body = lm_rows_cell(&r, i, 2) ? lm_rows_cell(&r, i, 2) : "";
    int mat = lm_rows_cell(&r, i, 1) && *lm_rows_cell(&r, i, 1) == 'm';
    char *text = lm_catalog_norm_sql(body, strlen(body));
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, mat ? "CREATE MATERIALIZED VIEW " : "CREATE VIEW ");
    lm_buf_ident(&b, lm_rows_cell(&r, i, 0));
    lm_buf_printf(&b, " AS %s", text);
    lm_schema_add_object(s, mat ? LM_SOBJ_MATVIEW : LM_SOBJ_VIEW, lm_rows_cell(&r, i, 0), b.s);
    lm_buf_free(&b);
    free(text);
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_SEQUENCES, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "CREATE SEQUENCE ");
    lm_buf_ident(&b, lm_rows_cell(&r, i, 0));
    lm_schema_add_object(s, LM_SOBJ_SEQUENCE, lm_rows_cell(&r, i, 0), b.s);
    lm_buf_free(&b);
  }
  lm_rows_free(&r);

  if (!rc) rc = lm_rows_query(d, c, PG_ENUMS, NULL, &r);
  for (int i = 0; !rc && i < r.n; i++) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_puts(&b, "CREATE TYPE ");
    lm_buf_ident(&b, lm_rows_cell(&r, i, 0));
    lm_buf_printf(&b, " AS ENUM (%s)", lm_rows_cell(&r, i, 1) ? lm_rows_cell(&r, i, 1) : "");
    lm_schema_add_object(s, LM_SOBJ_TYPE, lm_rows_cell(&r, i, 0), b.s);
    lm_buf_free(&b);
  }
  lm_rows_free(&r);
  free(schema);
  free(qschema);
  if (!rc) plain_integer_keys(s);
  return rc;
}

/* ---- a CHECK as the catalog gives it back ------------------------------------------- */

static int pg_exec(const lm_dialect *d, lm_conn *c, const char *sql) {
  lm_stmt st = {(char *)sql, NULL, 0};
  return lm_dialect_exec(d, c, &st);
}

/* PostgreSQL rewrites a CHECK (IN becomes = ANY (ARRAY[...]), casts appear):
 * the model's expression is added, NOT VALID, to an empty temporary copy of
 * the table's columns and read back with pg_get_expr, as the schema reader
 * reads it, in a transaction that is rolled back. */
int lm_pg_canonical_check(const lm_dialect *d, lm_conn *c, const char *table, const char *expr,
                          char **out) {
  *out = NULL;
  int rc = pg_exec(d, c, "BEGIN");
  if (rc) return rc;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TEMPORARY TABLE luamig_canonical_check (LIKE ");
  lm_buf_ident(&b, table);
  lm_buf_puts(&b, ") ON COMMIT DROP");
  rc = pg_exec(d, c, b.s);
  if (!rc) {
    b.len = 0;
    lm_buf_puts(&b,
                "ALTER TABLE pg_temp.luamig_canonical_check ADD CONSTRAINT luamig_check CHECK (");
    lm_buf_puts(&b, expr);
    lm_buf_puts(&b, ") NOT VALID");
    rc = pg_exec(d, c, b.s);
  }
  lm_rows r = {0};
  if (!rc)
    rc = lm_rows_query(d, c,
                       "SELECT pg_catalog.pg_get_expr(k.conbin, k.conrelid) "
                       "FROM pg_catalog.pg_constraint k "
                       "WHERE k.conrelid = 'pg_temp.luamig_canonical_check'::regclass "
                       "AND k.conname = 'luamig_check'",
                       NULL, &r);
  if (!rc && r.n == 1 && lm_rows_cell(&r, 0, 0)) *out = lm_xstrdup(lm_rows_cell(&r, 0, 0));
  lm_rows_free(&r);
  free(b.s);
  lm_error_saved *saved = lm_error_save();
  int rb = pg_exec(d, c, "ROLLBACK");
  lm_error_restore(saved);
  return rc ? rc : rb;
}

/* ---- a column's type change ---------------------------------------------------------- */

/* ALTER COLUMN … TYPE converts the rows by an assignment cast; none exists
 * from a string to anything but a string (jsonb, integer, uuid, a date), nor
 * between boolean and a number. */
int lm_pg_type_change_needs_cast(const char *from, const char *to) {
  if (lm_norm_type_is(from, "string")) return !lm_norm_type_is(to, "string");
  return (lm_norm_type_is(from, "bool") && lm_norm_type_is(to, "number")) ||
         (lm_norm_type_is(from, "number") && lm_norm_type_is(to, "bool"));
}
