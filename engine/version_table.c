/* Statements that read and write the version table (SPEC §5). They are plain
 * statements like any rendered operation, so --sql prints exactly what an
 * online run executes, and every value travels as a parameter. */
#include <string.h>

#include "lm.h"

static void put_name(lm_buf *b, const lm_vt *vt) {
  /* version_table_schema is a PostgreSQL schema; on SQLite a qualifier would
   * name an attached database instead. */
  const char *schema = vt->d->id == LM_POSTGRESQL ? vt->schema : NULL;
  lm_render_table(b, schema, vt->table && *vt->table ? vt->table : "luamig_version");
}

/* Two revisions applied in the same second (or, on PostgreSQL, in the same
 * transaction) would tie on a second-resolution now() and fall back to the
 * order of their random ids; a finer, per-statement clock keeps
 * ORDER BY applied_at in the order they ran. */
static const char *now_sql(const lm_vt *vt) {
  return vt->d->id == LM_POSTGRESQL ? "clock_timestamp()" : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
}

static lm_value text_value(const char *s) {
  lm_value v = {0};
  if (!s) return v; /* LM_V_NULL */
  v.t = LM_V_TEXT;
  v.s = (char *)s; /* lm_stmts_add copies; nothing writes through it */
  v.len = strlen(s);
  return v;
}

static lm_value int_value(long long i) {
  lm_value v = {0};
  v.t = LM_V_INT;
  v.i = i;
  return v;
}

void lm_vt_create(const lm_vt *vt, lm_stmts *out) {
  const int pg = vt->d->id == LM_POSTGRESQL;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TABLE IF NOT EXISTS ");
  put_name(&b, vt);
  lm_buf_puts(&b, " (\"revision\" VARCHAR(32) NOT NULL PRIMARY KEY, "
                  "\"step\" VARCHAR(255) NULL, "
                  "\"checksum\" VARCHAR(64) NOT NULL, ");
  if (pg)
    lm_buf_printf(&b, "\"applied_at\" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT %s, ", now_sql(vt));
  else
    lm_buf_printf(&b, "\"applied_at\" TIMESTAMP NOT NULL DEFAULT (%s), ", now_sql(vt));
  lm_buf_puts(&b, "\"execution_ms\" BIGINT NOT NULL DEFAULT 0)");
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

void lm_vt_exists_query(const lm_vt *vt, lm_stmts *out) {
  const char *table = vt->table && *vt->table ? vt->table : "luamig_version";
  lm_value p[2] = {text_value(table), text_value(vt->schema)};
  if (vt->d->id == LM_POSTGRESQL)
    lm_stmts_add(out,
                 lm_xstrdup("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = $1 AND "
                            "schemaname = COALESCE($2, current_schema())"),
                 p, 2);
  else
    lm_stmts_add(out, lm_xstrdup("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1"),
                 p, 1);
}

void lm_vt_select(const lm_vt *vt, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "SELECT \"revision\", \"step\", \"checksum\" FROM ");
  put_name(&b, vt);
  lm_buf_puts(&b, " ORDER BY \"applied_at\", \"revision\"");
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

void lm_vt_insert(const lm_vt *vt, const char *rev, const char *step, const char *checksum,
                  long long ms, lm_stmts *out) {
  lm_value p[4] = {text_value(rev), text_value(step), text_value(checksum), int_value(ms)};
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "INSERT INTO ");
  put_name(&b, vt);
  lm_buf_puts(&b, " (\"revision\", \"step\", \"checksum\", \"execution_ms\") "
                  "VALUES ($1, $2, $3, $4)");
  lm_stmts_add(out, lm_buf_steal(&b), p, 4);
}

void lm_vt_update(const lm_vt *vt, const char *rev, const char *step, const char *checksum,
                  long long ms, lm_stmts *out) {
  /* Parameters are numbered in the order they appear, so a binder that
   * counts positions and one that reads the numbers agree. */
  lm_value p[4] = {text_value(step), text_value(checksum), int_value(ms), text_value(rev)};
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  put_name(&b, vt);
  lm_buf_printf(&b,
                " SET \"step\" = $1, \"checksum\" = $2, \"execution_ms\" = $3, "
                "\"applied_at\" = %s WHERE \"revision\" = $4",
                now_sql(vt));
  lm_stmts_add(out, lm_buf_steal(&b), p, 4);
}

void lm_vt_delete(const lm_vt *vt, const char *rev, lm_stmts *out) {
  lm_value p[1] = {text_value(rev)};
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "DELETE FROM ");
  put_name(&b, vt);
  lm_buf_puts(&b, " WHERE \"revision\" = $1");
  lm_stmts_add(out, lm_buf_steal(&b), p, 1);
}

void lm_vt_delete_all(const lm_vt *vt, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "DELETE FROM ");
  put_name(&b, vt);
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

void lm_vt_set_checksum(const lm_vt *vt, const char *rev, const char *checksum, lm_stmts *out) {
  lm_value p[2] = {text_value(checksum), text_value(rev)};
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "UPDATE ");
  put_name(&b, vt);
  lm_buf_puts(&b, " SET \"checksum\" = $1 WHERE \"revision\" = $2");
  lm_stmts_add(out, lm_buf_steal(&b), p, 2);
}
