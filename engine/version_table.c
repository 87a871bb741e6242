/* Statements that read and write the version table (SPEC §5). They are plain
 * statements like any rendered operation, so --sql prints exactly what an
 * online run executes, and every value travels as a parameter. */
#include <stdlib.h>
#include <string.h>

#include "lm.h"

/* The schema the tables go in: where tables live in schemas only (on SQLite
 * a qualifier would name an attached database instead). */
static const char *vt_schema(const lm_vt *vt) {
  return lm_dialect_has_cap(vt->d, LM_CAP_SCHEMAS) ? vt->schema : NULL;
}

static void put_name(lm_buf *b, const lm_vt *vt) {
  lm_render_table(b, vt_schema(vt), vt->table && *vt->table ? vt->table : "luamig_version");
}

/* Two revisions applied in the same second (or, on PostgreSQL, in the same
 * transaction) would tie on a second-resolution now() and fall back to the
 * order of their random ids; the dialect's finer, per-statement clock keeps
 * ORDER BY applied_at in the order they ran. */
static const char *now_sql(const lm_vt *vt) { return lm_dialect_vt_now_sql(vt->d); }

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
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TABLE IF NOT EXISTS ");
  put_name(&b, vt);
  lm_buf_puts(&b, " (\"revision\" VARCHAR(32) NOT NULL PRIMARY KEY, "
                  "\"step\" VARCHAR(255) NULL, "
                  "\"checksum\" VARCHAR(64) NOT NULL, ");
  lm_buf_printf(&b, "\"applied_at\" %s, ", lm_dialect_vt_timestamp_sql(vt->d));
  lm_buf_puts(&b, "\"execution_ms\" BIGINT NOT NULL DEFAULT 0)");
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

/* A catalog query of the dialect's about the table $1 in the schema $2,
 * which is bound only where tables live in schemas. */
static void catalog_query(const lm_vt *vt, const char *table, const char *sql, lm_stmts *out) {
  lm_value p[2] = {text_value(table), text_value(vt->schema)};
  lm_stmts_add(out, lm_xstrdup(sql), p, lm_dialect_has_cap(vt->d, LM_CAP_SCHEMAS) ? 2 : 1);
}

void lm_vt_exists_query(const lm_vt *vt, lm_stmts *out) {
  const char *table = vt->table && *vt->table ? vt->table : "luamig_version";
  catalog_query(vt, table, lm_dialect_vt_exists_sql(vt->d), out);
}

void lm_vt_has_revision_query(const lm_vt *vt, lm_stmts *out) {
  const char *table = vt->table && *vt->table ? vt->table : "luamig_version";
  catalog_query(vt, table, lm_dialect_vt_revision_column_sql(vt->d), out);
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

/* ---- the journal of work committed outside a step's transaction -------------
 *
 * A step that calls op.autocommit_block commits before the block, and each
 * statement inside the block commits on its own, so a step can stop with
 * part of its work committed and no version row. The journal, a table beside
 * the version table (`<version_table>_journal`), records for such a step how
 * many of its operations are committed ("ops_done"), which one was running
 * outside a transaction when the run stopped ("op_started"), and a
 * fingerprint of the committed operations, so that a rerun skips exactly
 * them. It exists only while a step is half applied: made (CREATE TABLE IF
 * NOT EXISTS) the first time a step commits part of its work, dropped by the
 * step's last transaction together with the version-table write (its row
 * only, when another step is half applied too). A table of its own leaves the
 * version table's shape and meaning (one row per applied revision) as every
 * earlier luamig wrote them, and a database migrated without incident has no
 * table more than before. */

static void put_journal_name(lm_buf *b, const lm_vt *vt) {
  char *name = lm_xasprintf("%s_journal", vt->table && *vt->table ? vt->table : "luamig_version");
  lm_render_table(b, vt_schema(vt), name);
  free(name);
}

void lm_vt_journal_create(const lm_vt *vt, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "CREATE TABLE IF NOT EXISTS ");
  put_journal_name(&b, vt);
  lm_buf_puts(&b, " (\"revision\" VARCHAR(32) NOT NULL PRIMARY KEY, "
                  "\"direction\" VARCHAR(9) NOT NULL, "
                  "\"step\" VARCHAR(255) NULL, "
                  "\"ops_done\" BIGINT NOT NULL, "
                  "\"op_started\" BIGINT NULL, "
                  "\"fingerprint\" VARCHAR(16) NOT NULL, ");
  lm_buf_printf(&b, "\"updated_at\" %s)", lm_dialect_vt_timestamp_sql(vt->d));
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

void lm_vt_journal_exists_query(const lm_vt *vt, lm_stmts *out) {
  char *name = lm_xasprintf("%s_journal", vt->table && *vt->table ? vt->table : "luamig_version");
  lm_vt j = *vt;
  j.table = name;
  lm_vt_exists_query(&j, out);
  free(name);
}

void lm_vt_journal_select(const lm_vt *vt, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "SELECT \"revision\", \"direction\", \"step\", \"ops_done\", \"op_started\", "
                  "\"fingerprint\" FROM ");
  put_journal_name(&b, vt);
  lm_buf_puts(&b, " ORDER BY \"revision\"");
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}

void lm_vt_journal_write(const lm_vt *vt, int insert, const char *rev, const char *direction,
                         const char *step, long long done, long long started,
                         const char *fingerprint, lm_stmts *out) {
  lm_value started_v = started > 0 ? int_value(started) : text_value(NULL);
  lm_buf b;
  lm_buf_init(&b);
  if (insert) {
    lm_value p[6] = {text_value(rev), text_value(direction),  text_value(step), int_value(done),
                     started_v,       text_value(fingerprint)};
    lm_buf_puts(&b, "INSERT INTO ");
    put_journal_name(&b, vt);
    lm_buf_puts(&b, " (\"revision\", \"direction\", \"step\", \"ops_done\", \"op_started\", "
                    "\"fingerprint\") VALUES ($1, $2, $3, $4, $5, $6)");
    lm_stmts_add(out, lm_buf_steal(&b), p, 6);
    return;
  }
  lm_value p[4] = {int_value(done), started_v, text_value(fingerprint), text_value(rev)};
  lm_buf_puts(&b, "UPDATE ");
  put_journal_name(&b, vt);
  lm_buf_printf(&b,
                " SET \"ops_done\" = $1, \"op_started\" = $2, \"fingerprint\" = $3, "
                "\"updated_at\" = %s WHERE \"revision\" = $4",
                now_sql(vt));
  lm_stmts_add(out, lm_buf_steal(&b), p, 4);
}

void lm_vt_journal_delete(const lm_vt *vt, const char *rev, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "DELETE FROM ");
  put_journal_name(&b, vt);
  if (rev) {
    lm_value p[1] = {text_value(rev)};
    lm_buf_puts(&b, " WHERE \"revision\" = $1");
    lm_stmts_add(out, lm_buf_steal(&b), p, 1);
  } else {
    lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
  }
}

void lm_vt_journal_drop(const lm_vt *vt, lm_stmts *out) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_puts(&b, "DROP TABLE IF EXISTS ");
  put_journal_name(&b, vt);
  lm_stmts_add(out, lm_buf_steal(&b), NULL, 0);
}
