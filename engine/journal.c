/* The journal of committed progress inside a step (see the table's comment in
 * engine/version_table.c).
 *
 * Every operation a step makes gets an ordinal (1, 2, …) in the order the
 * step function makes it, and a running fingerprint (FNV-1a over each
 * operation's kind, table, name and SQL). Work becomes durable before the
 * step's last transaction in two places only:
 *   - op.autocommit_block commits the step's transaction before its body:
 *     the journal row (ops_done = the ordinal reached) is written in that
 *     same transaction, so it commits exactly with the work it describes;
 *   - inside the block each operation commits on its own: the row records
 *     op_started = N before operation N runs and ops_done = N after it, both
 *     as statements of their own.
 * The step's last transaction deletes the row together with the version-table
 * write. A rerun reads the row and runs the step function again with the
 * first ops_done operations skipped (their fingerprint must match, or the
 * file changed what it does and the run stops). An operation that was running
 * outside a transaction when the run stopped (op_started) runs again, except a
 * PostgreSQL CREATE INDEX CONCURRENTLY that finished (its index is valid);
 * an INVALID index that an interrupted or failed CREATE INDEX CONCURRENTLY
 * left is dropped before the statement runs again.
 *
 * Everything goes through the sink, so --sql prints the same journal writes
 * an online run makes: a script that stops half-way is resumed by an online
 * `luamig upgrade`. */
#include <stdio.h>
#include <string.h>

#include "lm.h"

#define FNV_OFFSET 1469598103934665603ULL

static unsigned long long mix(unsigned long long h, const char *s) {
  if (s)
    for (; *s; s++)
      h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return (h ^ 0xffu) * 1099511628211ULL; /* a separator no text holds */
}

static void hex16(unsigned long long h, char out[17]) { snprintf(out, 17, "%016llx", h); }

void lm_journal_committed(lm_journal *j) {
  if (!j) return;
  j->table_c = j->table_p;
  j->row_c = j->row_p;
  j->done_c = j->done_p;
}

void lm_journal_rolled_back(lm_journal *j) {
  if (!j) return;
  j->table_p = j->table_c;
  j->row_p = j->row_c;
  j->done_p = j->done_c;
}

/* Writes the item's row: ops_done = done with the fingerprint h, op_started
 * = started (0: none). Inside the open transaction, or on its own when none
 * is open (then it is committed at once). */
static int jwrite(lm_journal *j, long long done, unsigned long long h, long long started) {
  lm_sink *s = j->sink;
  lm_stmts l = {0};
  char fp[17];
  hex16(h, fp);
  if (!j->table_p) lm_vt_journal_create(j->vt, &l);
  lm_vt_journal_write(j->vt, !j->row_p, j->r->id, j->direction, j->step, done, started, fp, &l);
  int rc = lm_sink_stmts(s, &l);
  lm_stmts_free(&l);
  if (rc) return rc;
  j->table_p = j->row_p = 1;
  j->done_p = done;
  if (!s->in_tx) {
    lm_journal_committed(j);
    j->started = started;
    memcpy(j->fingerprint_c, fp, sizeof fp);
    if (!started) memcpy(j->where_c, j->where, sizeof j->where_c);
  }
  return 0;
}

static int valid_row(void *ud, int n, const char *const *names, const lm_value *v) {
  LM_UNUSED(names);
  int *state = ud;
  if (n >= 1) *state = (v[0].t == LM_V_BOOL || v[0].t == LM_V_INT) && v[0].i ? 2 : 1;
  return 1;
}

/* Before an index operation runs outside a transaction: 2 when an index of
 * that name is valid, 1 when one is INVALID (PostgreSQL: a CREATE INDEX
 * CONCURRENTLY that failed or was interrupted left it), 0 when none. The
 * dialect's query (lm_dialect_index_valid_sql) asks. */
static int index_state(lm_sink *s, const char *sql, const char *name, int *state) {
  *state = 0;
  lm_value v = {.t = LM_V_TEXT, .s = (char *)name, .len = strlen(name)};
  lm_stmt st = {(char *)sql, &v, 1};
  return s->query(s, &st, valid_row, state);
}

/* "file:line" into where (cut to its size): written for every operation, so
 * by hand rather than with snprintf, which cost ten times as much. */
static void put_where(char *where, size_t size, const char *file, int line) {
  char num[16];
  int k = sizeof num;
  unsigned u = line < 0 ? 0u - (unsigned)line : (unsigned)line;
  do {
    num[--k] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (line < 0) num[--k] = '-';
  size_t fn = strlen(file), nn = sizeof num - (size_t)k;
  if (fn > size - 2 - nn) fn = size > 2 + nn ? size - 2 - nn : 0;
  memcpy(where, file, fn);
  where[fn] = ':';
  memcpy(where + fn + 1, num + k, nn);
  where[fn + 1 + nn] = 0;
}

int lm_journal_op(lm_run *run, const char *kind, const char *table, const char *name,
                  const char *sql, const char *file, int line, int *skip) {
  *skip = 0;
  lm_journal *j = run ? run->journal : NULL;
  if (!j) return 0;
  long long nn = j->n + 1;
  unsigned long long hh = mix(mix(mix(mix(j->h, kind), table), name), sql);
  if (file) put_where(j->where, sizeof j->where, file, line);
  if (nn <= j->resume_done) {
    *skip = 1;
    j->n = nn;
    j->h = hh;
    if (nn == j->resume_done) {
      char fp[17];
      hex16(hh, fp);
      if (strcmp(fp, j->expect) != 0)
        return lm_error_set(
            LM_ECHECK,
            "%s %s stopped earlier with its first %lld operation%s committed (recorded in the "
            "journal beside the version table), but the file no longer makes the same %s first: "
            "restore what it did then and rerun, or finish the work by hand and record it with "
            "'luamig stamp'",
            j->direction, j->r->id, nn, nn == 1 ? "" : "s", nn == 1 ? "one" : "ones");
    }
    return 0;
  }
  j->pending_h = hh;
  lm_sink *s = j->sink;
  if (!j->autocommit || s->in_tx) return 0;
  int creates = strcmp(kind, "create_index") == 0, drops = strcmp(kind, "drop_index") == 0;
  const char *valid_sql = lm_dialect_index_valid_sql(s->d);
  if ((creates || drops) && name && s->query && valid_sql) {
    int state;
    int rc = index_state(s, valid_sql, name, &state);
    if (rc) return rc;
    if (j->started == nn && ((creates && state == 2) || (drops && state == 0))) {
      /* the earlier run stopped between the statement and its journal
       * write: the index shows that the statement finished */
      j->n = nn;
      j->h = hh;
      *skip = 1;
      return jwrite(j, nn, hh, 0);
    }
    if (creates && state == 1) {
      /* the dialect renders the drop, as any op.drop_index */
      lm_op drop = {.kind = LM_OP_DROP_INDEX, .name = name, .concurrently = 1, .if_exists = 1};
      lm_stmts l = {0};
      rc = lm_render(s->d, &drop, &l);
      for (int k = 0; k < l.n && !rc; k++)
        rc = s->exec(s, &l.v[k]);
      lm_stmts_free(&l);
      if (rc) {
        lm_error_prefix("dropping the INVALID index \"%s\" that an earlier CREATE INDEX "
                        "CONCURRENTLY left, before building it again",
                        name);
        return rc;
      }
    }
  }
  return jwrite(j, j->n, j->h, nn);
}

int lm_journal_op_done(lm_run *run) {
  lm_journal *j = run ? run->journal : NULL;
  if (!j) return 0;
  j->n++;
  j->h = j->pending_h;
  if (j->autocommit && !j->sink->in_tx) return jwrite(j, j->n, j->h, 0);
  return 0;
}

int lm_journal_block_begin(lm_run *run) {
  lm_sink *s = run->sink;
  lm_journal *j = run->journal;
  int rc = 0;
  if (s->in_tx) {
    int wrote = j && j->n > j->done_p;
    if (wrote) rc = jwrite(j, j->n, j->h, 0);
    if (!rc) rc = s->commit(s);
    if (!rc && wrote) {
      /* (a resumed run that only skipped keeps what it read: op_started) */
      lm_journal_committed(j);
      j->started = 0;
      hex16(j->h, j->fingerprint_c);
      memcpy(j->where_c, j->where, sizeof j->where_c);
    }
  }
  if (j) j->autocommit = 1;
  return rc;
}

int lm_journal_block_end(lm_run *run) {
  if (run->journal) run->journal->autocommit = 0;
  return run->sink->begin(run->sink);
}
