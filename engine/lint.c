/* luamig lint (SPEC §8). Each revision's functions run against a recording
 * sink, exactly as they would run offline, so lint sees the same operations a
 * migration would perform without a second parser of revision files. The
 * records are deep-copied (they only live during the op call) and the rules
 * run on the copies; `-- luamig: allow RULE` comments are applied last, from
 * the files' text, so a rule never needs to know about them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lua.h>

#include "lint.h"

/* ---- small helpers ------------------------------------------------------------ */

static char *dup_or_null(const char *s) { return s ? lm_xstrdup(s) : NULL; }

static int same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

static int blank(const char *s) {
  if (!s) return 1;
  for (; *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return 0;
  return 1;
}

/* ---- the rules, one table ------------------------------------------------------ */

/* Every rule lint or check can report: the id a finding carries, its level,
 * and the texts SARIF's tool.driver.rules, the man page and the docs show.
 * A rule reported anywhere must have its line here (the lint_formats test
 * checks every rule id written in this file against `luamig __rules`). */
const lm_lint_rule lm_lint_rules[] = {
    {"drop-table", LM_LINT_WARNING, LM_RULE_LINT, "A table is dropped with all its rows",
     "op.drop_table deletes the table and every row in it for good. Make sure no deployed code "
     "uses it any more and that its data is kept elsewhere."},
    {"drop-column", LM_LINT_WARNING, LM_RULE_LINT, "A column is dropped with its data",
     "op.drop_column deletes the column's data for good. Deploy code that no longer reads or "
     "writes it first, and keep its data elsewhere."},
    {"drop-then-add", LM_LINT_ERROR, LM_RULE_LINT,
     "A column is dropped and another added on the same table in one revision",
     "A rename written as drop+add loses every value of the column. Rename with "
     "op.alter_column(..., { new_column_name = ... }), or add, backfill and drop in separate "
     "steps (expand/contract)."},
    {"add-not-null-without-default", LM_LINT_ERROR, LM_RULE_LINT,
     "A NOT NULL column is added without a server_default",
     "Adding a NOT NULL column without a default fails on a table with rows and breaks the old "
     "code's INSERTs during a rolling deploy. Add it nullable (or with a server_default), "
     "backfill it, then set nullable = false in a later step."},
    {"alter-column-type", LM_LINT_WARNING, LM_RULE_LINT, "A column's type is changed",
     "Changing a column's type may rewrite the table under an exclusive lock, and the reverse "
     "conversion in the downgrade may fail on real data. Prefer a new column of the new type, a "
     "backfill and a switch-over (expand/contract)."},
    {"rename-column", LM_LINT_WARNING, LM_RULE_LINT, "A column is renamed",
     "Code still running during the deploy uses the old name. Use expand/contract: add the new "
     "column, write to both, backfill, then drop the old one in a later step."},
    {"rename-table", LM_LINT_WARNING, LM_RULE_LINT, "A table is renamed",
     "Code still running during the deploy uses the old name. Use expand/contract: create the "
     "new table, write to both, backfill, then drop the old one in a later revision."},
    {"index-not-concurrent", LM_LINT_WARNING, LM_RULE_LINT,
     "A PostgreSQL index is created without CONCURRENTLY",
     "CREATE INDEX without CONCURRENTLY blocks writes to the table while it builds. Pass "
     "{ concurrently = true } inside op.autocommit_block(function() ... end)."},
    {"set-not-null", LM_LINT_WARNING, LM_RULE_LINT, "A PostgreSQL column is set NOT NULL",
     "SET NOT NULL scans the whole table under an exclusive lock. First add a CHECK "
     "(... IS NOT NULL) with not_valid = true and VALIDATE it in a later step; PostgreSQL 12+ "
     "then sets NOT NULL without the scan."},
    {"foreign-key-validating", LM_LINT_WARNING, LM_RULE_LINT,
     "A foreign key or check constraint is added without not_valid",
     "Validating a new constraint locks the table (both tables for a foreign key) while every "
     "row is checked. Pass { not_valid = true }, then VALIDATE CONSTRAINT in a later step."},
    {"downgrade-missing", LM_LINT_ERROR, LM_RULE_LINT, "A revision has no downgrade",
     "Without a downgrade the revision cannot be reverted. Write downgrade() (or each step's "
     "down function); a revision that cannot be undone raises an error there on purpose."},
    {"downgrade-empty", LM_LINT_ERROR, LM_RULE_LINT,
     "The downgrade does nothing while the upgrade changes something",
     "An empty downgrade records the revision as reverted while its changes stay in the "
     "database. Undo each upgrade operation in reverse order."},
    {"downgrade-not-inverse", LM_LINT_WARNING, LM_RULE_LINT,
     "The downgrade does not undo each upgrade operation in reverse order",
     "After a downgrade the schema should be what it was before the upgrade. Undo each upgrade "
     "operation, in reverse order; luamig check --roundtrip proves it on a scratch database."},
    {"backfill-not-resumable", LM_LINT_WARNING, LM_RULE_LINT,
     "A backfill has no where clause that skips finished rows",
     "An interrupted backfill without a where clause starts over and rewrites every row. Give "
     "it a where clause that selects only the rows still to do."},
    {"backfill-in-transaction", LM_LINT_WARNING, LM_RULE_LINT,
     "A backfill shares its step with other operations",
     "All the batches of a backfill that shares its step with other operations hold one "
     "transaction's locks. Put the backfill in a step of its own."},
    {"credentials-in-config", LM_LINT_ERROR, LM_RULE_LINT, "A password is written into luamig.lua",
     "The configuration ends up in version control. Leave url out and set DATABASE_URL, or read "
     "it: url = os.getenv(\"DATABASE_URL\")."},
    {"ops-before-autocommit", LM_LINT_ERROR, LM_RULE_LINT,
     "Operations run before an autocommit_block in the same step",
     "op.autocommit_block commits what ran before it, so a failure later leaves the step half "
     "applied. Put the operations before the block in a step of their own (steps = { ... })."},
    {"unknown-type", LM_LINT_ERROR, LM_RULE_LINT,
     "A column type is neither a luamig type nor one the database knows",
     "A misspelt type (strng(20)) would be passed to the database verbatim. Use a type of the "
     "op API (integer, string(n), text, boolean, numeric(p,s), timestamp, json, uuid, ...) or "
     "a real SQL type; a type of your own (CREATE TYPE, a domain) is silenced with "
     "-- luamig: allow unknown-type."},
    {"not-converted", LM_LINT_ERROR, LM_RULE_LINT,
     "A statement imported from Alembic was not converted",
     "luamig import alembic left error(\"not converted from Alembic: ...\") where it could not "
     "convert a Python statement. Port it to Lua by hand (op.query, op.rows, op.execute with "
     "params), then delete the line; see 'Coming from Alembic' in the README."},
    {"lint-failed", LM_LINT_ERROR, LM_RULE_LINT, "A revision function stopped with an error",
     "Lint runs revisions without a database (context.offline is true and queries return no "
     "rows), so a function that raises cannot be checked. Guard code that needs data with "
     "`if not context.offline`; a downgrade that refuses on purpose is silenced with "
     "-- luamig: allow lint-failed."},
    /* the findings of luamig check itself */
    {"multiple-heads", LM_LINT_ERROR, LM_RULE_CHECK, "The chain has more than one head",
     "A deploy would not know which head to upgrade to. Merge the heads with "
     "'luamig merge -m MSG REV REV...'."},
    {"checksum-mismatch", LM_LINT_ERROR, LM_RULE_CHECK,
     "An applied revision file changed since it was applied",
     "The database ran a different version of the file. Restore the file, or re-record the "
     "checksums with 'luamig stamp'."},
    {"unknown-revision", LM_LINT_ERROR, LM_RULE_CHECK,
     "The database has a revision applied that no revision file defines",
     "Check that this is the right project and versions folder for the database."},
    {"roundtrip", LM_LINT_ERROR, LM_RULE_CHECK,
     "A revision does not survive upgrade, downgrade, upgrade",
     "luamig check --roundtrip runs each revision's upgrade, downgrade and upgrade again on a "
     "scratch database; the schema after the downgrade must equal the schema before the "
     "upgrade."},
    {"check", LM_LINT_ERROR, LM_RULE_CHECK, "luamig check found a problem",
     "A problem found by luamig check that has no rule of its own; the message says what."},
    {NULL, LM_LINT_WARNING, 0, NULL, NULL}};

const lm_lint_rule *lm_lint_rule_find(const char *id) {
  for (const lm_lint_rule *r = lm_lint_rules; id && r->id; r++)
    if (strcmp(r->id, id) == 0) return r;
  return NULL;
}

/* ---- recording ------------------------------------------------------------------ */

int lm_lint_is_backfill(lm_op_kind k) {
  /* Hook: when op.backfill with a Lua function gets a kind of its own, list
   * it here; every backfill rule goes through this function. */
  return k == LM_OP_BACKFILL_SQL;
}

void lm_lint_fn_record(lm_lint_fn *fn, const lm_op *op) {
  if (fn->n == fn->cap) {
    fn->cap = fn->cap ? fn->cap * 2 : 8;
    fn->ops = lm_xrealloc(fn->ops, (size_t)fn->cap * sizeof *fn->ops);
  }
  lm_lint_op *o = &fn->ops[fn->n++];
  memset(o, 0, sizeof *o);
  o->kind = op->kind;
  o->table = dup_or_null(op->table);
  o->name = dup_or_null(op->name);
  o->new_name = dup_or_null(op->new_name);
  o->type = dup_or_null(op->type);
  o->where = dup_or_null(op->where);
  o->nullable = op->nullable;
  o->concurrently = op->concurrently;
  if ((op->kind == LM_OP_CREATE_FK || op->kind == LM_OP_CREATE_CHECK) && op->ncons > 0)
    o->not_valid = op->cons[0].not_valid;
  if ((op->kind == LM_OP_CREATE_TABLE || op->kind == LM_OP_ADD_COLUMN) && op->ncols > 0) {
    o->cols = lm_xcalloc((size_t)op->ncols, sizeof *o->cols);
    o->ncols = op->ncols;
    for (int i = 0; i < op->ncols; i++) {
      const lm_column *c = &op->cols[i];
      o->cols[i].name = dup_or_null(c->name);
      o->cols[i].type = dup_or_null(c->type);
      o->cols[i].nullable = c->nullable;
      o->cols[i].primary_key = c->primary_key;
      o->cols[i].autoincrement = c->autoincrement;
      o->cols[i].has_default = c->server_default.kind != LM_DEF_NONE;
    }
  }
  o->file = dup_or_null(op->file);
  o->line = op->line;
}

static void op_free(lm_lint_op *o) {
  free(o->table), free(o->name), free(o->new_name), free(o->type), free(o->where);
  for (int i = 0; i < o->ncols; i++)
    free(o->cols[i].name), free(o->cols[i].type);
  free(o->cols);
  free(o->file);
}

void lm_lint_fn_autocommit(lm_lint_fn *fn, const char *file, int line, int begin) {
  if (!begin) {
    fn->block_end = fn->n;
    return;
  }
  int nbefore = fn->n - (fn->block_end > 0 ? fn->block_end : 0);
  fn->block_end = -1;
  if (nbefore <= 0) return;
  fn->blocks = lm_xrealloc(fn->blocks, sizeof *fn->blocks * (size_t)(fn->nblocks + 1));
  fn->blocks[fn->nblocks].file = dup_or_null(file);
  fn->blocks[fn->nblocks].line = line;
  fn->blocks[fn->nblocks].nbefore = nbefore;
  fn->nblocks++;
}

void lm_lint_fn_free(lm_lint_fn *fn) {
  for (int i = 0; i < fn->n; i++)
    op_free(&fn->ops[i]);
  for (int i = 0; i < fn->nblocks; i++)
    free(fn->blocks[i].file);
  free(fn->blocks);
  free(fn->ops);
  memset(fn, 0, sizeof *fn);
}

/* ---- findings -------------------------------------------------------------------- */

/* The rules that concern one dialect only: lint runs every dialect's rules
 * (unless --dialect names one) and tags these findings. */
static const struct {
  const char *rule, *dialect;
} RULE_DIALECT[] = {{"index-not-concurrent", "postgresql"}, {"set-not-null", "postgresql"}};

const char *lm_lint_rule_dialect(const char *rule) {
  for (size_t i = 0; rule && i < sizeof RULE_DIALECT / sizeof RULE_DIALECT[0]; i++)
    if (!strcmp(RULE_DIALECT[i].rule, rule)) return RULE_DIALECT[i].dialect;
  return NULL;
}

void lm_lint_add(lm_lint_findings *f, const char *file, int line, lm_lint_severity sev,
                 const char *rule, const char *hint, const char *fmt, ...) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    f->v = lm_xrealloc(f->v, (size_t)f->cap * sizeof *f->v);
  }
  lm_lint_finding *x = &f->v[f->n];
  x->file = lm_xstrdup(file ? file : "?");
  x->line = line > 0 ? line : 1;
  x->severity = sev;
  x->rule = rule;
  x->hint = lm_xstrdup(hint ? hint : "");
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  x->message = lm_xmalloc((size_t)(n > 0 ? n : 0) + 1);
  va_start(ap, fmt);
  vsnprintf(x->message, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
  va_end(ap);
  x->seq = f->n;
  x->dialect = lm_lint_rule_dialect(rule);
  f->n++;
}

static void finding_free(lm_lint_finding *x) { free(x->file), free(x->message), free(x->hint); }

void lm_lint_findings_free(lm_lint_findings *f) {
  for (int i = 0; i < f->n; i++)
    finding_free(&f->v[i]);
  free(f->v);
  memset(f, 0, sizeof *f);
}

void lm_lint_findings_append(lm_lint_findings *to, const lm_lint_findings *from) {
  for (int i = 0; i < from->n; i++) {
    const lm_lint_finding *x = &from->v[i];
    lm_lint_add(to, x->file, x->line, x->severity, x->rule, x->hint, "%s", x->message);
  }
}

static int cmp_finding(const void *a, const void *b) {
  const lm_lint_finding *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  if (c) return c;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int same_finding(const lm_lint_finding *x, const lm_lint_finding *y) {
  return x->line == y->line && x->severity == y->severity && strcmp(x->rule, y->rule) == 0 &&
         strcmp(x->file, y->file) == 0 && strcmp(x->message, y->message) == 0;
}

void lm_lint_sort(lm_lint_findings *f) {
  if (f->n > 1) qsort(f->v, (size_t)f->n, sizeof *f->v, cmp_finding);
  /* An op in a loop or a helper called twice reports the same thing twice. */
  int w = 0;
  for (int i = 0; i < f->n; i++) {
    int dup = 0;
    for (int k = w - 1; k >= 0 && f->v[k].line == f->v[i].line; k--)
      if (same_finding(&f->v[k], &f->v[i])) dup = 1;
    if (dup)
      finding_free(&f->v[i]);
    else
      f->v[w++] = f->v[i];
  }
  f->n = w;
}

void lm_lint_print(const lm_lint_findings *f, int json, FILE *out) {
  if (json) fputc('[', out);
  for (int i = 0; i < f->n; i++) {
    const lm_lint_finding *x = &f->v[i];
    const char *sev = x->severity == LM_LINT_ERROR ? "error" : "warning";
    /* a Lua error message may quote a URL: never print its password */
    char *msg = lm_url_mask(x->message);
    if (json) {
      fputs(i ? ",\n  {\"file\": " : "\n  {\"file\": ", out);
      lm_json_str(out, x->file);
      fprintf(out, ", \"line\": %d, \"severity\": \"%s\", \"rule\": ", x->line, sev);
      lm_json_str(out, x->rule);
      fputs(", \"message\": ", out);
      lm_json_str(out, msg);
      fputs(", \"hint\": ", out);
      lm_json_str(out, x->hint);
      if (x->dialect) fprintf(out, ", \"dialect\": \"%s\"", x->dialect);
      fputc('}', out);
    } else {
      fprintf(out, "%s:%d: %s [%s] %s%s%s%s", x->file, x->line, sev, x->rule, x->dialect ? "[" : "",
              x->dialect ? x->dialect : "", x->dialect ? "] " : "", msg);
      if (*x->hint) fprintf(out, " \xe2\x80\x94 %s", x->hint);
      fputc('\n', out);
    }
    free(msg);
  }
  if (json) fputs(f->n ? "\n]\n" : "]\n", out);
}

/* ---- describing operations in messages --------------------------------------------- */

static void put_q(lm_buf *b, const char *s) { lm_buf_printf(b, "\"%s\"", s ? s : "?"); }

/* Roughly the call that made the record: `op.drop_column("users", "email")`. */
static char *describe(const lm_lint_op *o) {
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_printf(&b, "op.%s(", lm_op_name(o->kind));
  switch (o->kind) {
  case LM_OP_CREATE_TABLE:
    put_q(&b, o->table);
    lm_buf_puts(&b, ", ...");
    break;
  case LM_OP_DROP_TABLE:
  case LM_OP_BULK_INSERT: put_q(&b, o->table); break;
  case LM_OP_RENAME_TABLE:
    put_q(&b, o->table);
    lm_buf_puts(&b, ", ");
    put_q(&b, o->new_name);
    break;
  case LM_OP_ADD_COLUMN:
    put_q(&b, o->table);
    lm_buf_puts(&b, ", op.column(");
    put_q(&b, o->ncols ? o->cols[0].name : NULL);
    lm_buf_puts(&b, ", ...))");
    return lm_buf_steal(&b);
  case LM_OP_DROP_COLUMN:
    put_q(&b, o->table);
    lm_buf_puts(&b, ", ");
    put_q(&b, o->name);
    break;
  case LM_OP_ALTER_COLUMN:
    put_q(&b, o->table);
    lm_buf_puts(&b, ", ");
    put_q(&b, o->name);
    if (o->new_name) {
      lm_buf_puts(&b, ", { new_column_name = ");
      put_q(&b, o->new_name);
      lm_buf_puts(&b, " }");
    } else {
      lm_buf_puts(&b, ", ...");
    }
    break;
  case LM_OP_CREATE_INDEX:
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
    put_q(&b, o->name);
    lm_buf_puts(&b, ", ");
    put_q(&b, o->table);
    lm_buf_puts(&b, ", ...");
    break;
  case LM_OP_DROP_INDEX: put_q(&b, o->name); break;
  case LM_OP_DROP_CONSTRAINT:
    put_q(&b, o->name);
    lm_buf_puts(&b, ", ");
    put_q(&b, o->table);
    break;
  default:
    if (o->table) put_q(&b, o->table);
    lm_buf_puts(&b, o->table ? ", ..." : "...");
    break;
  }
  lm_buf_putc(&b, ')');
  return lm_buf_steal(&b);
}

/* What undoes o, in the same words, for "expected ..." messages. */
static char *describe_inverse(const lm_lint_op *o) {
  lm_lint_op inv = *o;
  inv.cols = NULL;
  inv.ncols = 0;
  lm_lint_column col = {0};
  switch (o->kind) {
  case LM_OP_CREATE_TABLE: inv.kind = LM_OP_DROP_TABLE; break;
  case LM_OP_DROP_TABLE: inv.kind = LM_OP_CREATE_TABLE; break;
  case LM_OP_ADD_COLUMN:
    inv.kind = LM_OP_DROP_COLUMN;
    inv.name = o->ncols ? o->cols[0].name : NULL;
    break;
  case LM_OP_DROP_COLUMN:
    inv.kind = LM_OP_ADD_COLUMN;
    col.name = o->name;
    inv.cols = &col;
    inv.ncols = 1;
    break;
  case LM_OP_CREATE_INDEX: inv.kind = LM_OP_DROP_INDEX; break;
  case LM_OP_DROP_INDEX: inv.kind = LM_OP_CREATE_INDEX; break;
  case LM_OP_RENAME_TABLE:
    inv.table = o->new_name;
    inv.new_name = o->table;
    break;
  case LM_OP_ALTER_COLUMN:
    if (o->new_name) {
      inv.name = o->new_name;
      inv.new_name = o->name;
    }
    break;
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK: inv.kind = LM_OP_DROP_CONSTRAINT; break;
  case LM_OP_DROP_CONSTRAINT: return lm_xasprintf("op.create_...(\"%s\", ...)", o->name);
  default: break;
  }
  return describe(&inv);
}

/* ---- the rules ------------------------------------------------------------------------- */

/* A set of table names (borrowed from the op copies). */
typedef struct names {
  const char **v;
  int n, cap;
} names;

static int names_has(const names *s, const char *t) {
  for (int i = 0; i < s->n; i++)
    if (same(s->v[i], t)) return 1;
  return 0;
}

static void names_add(names *s, const char *t) {
  if (!t || names_has(s, t)) return;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = lm_xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
  }
  s->v[s->n++] = t;
}

static void names_del(names *s, const char *t) {
  for (int i = 0; i < s->n; i++)
    if (same(s->v[i], t)) s->v[i--] = s->v[--s->n];
}

typedef struct ctx {
  const lm_lint_rev *r;
  int pg;
  lm_lint_findings *out;
} ctx;

static const char *op_file(const ctx *c, const lm_lint_op *o) {
  return o->file ? o->file : c->r->path;
}

/* op.column with an integer primary key that the database numbers itself
 * (SERIAL / identity) fills existing rows, so NOT NULL without a default is
 * fine there. */
static int self_filling(const lm_lint_column *col) {
  if (!col->primary_key || col->autoincrement == 0 || !col->type) return 0;
  const char *t = col->type;
  return strcasecmp(t, "integer") == 0 || strcasecmp(t, "bigint") == 0 ||
         strcasecmp(t, "smallint") == 0 || strcasecmp(t, "int") == 0;
}

typedef struct drop_rec {
  const lm_lint_op *op;
  int reported;
} drop_rec;

/* Rules on one upgrade operation; created and drops carry state across the
 * revision's steps, in order. created: the tables the upgrade has made so far
 * (under their current names); on those, drops lose no data and locks and
 * scans harm nobody, since the table has no rows and no old code uses it. */
static void check_up_op(ctx *c, const lm_lint_op *o, names *created, drop_rec *drops, int *ndrops) {
  lm_lint_findings *out = c->out;
  const char *f = op_file(c, o);
  int fresh = names_has(created, o->table);
  switch (o->kind) {
  case LM_OP_CREATE_TABLE: names_add(created, o->table); break;
  case LM_OP_DROP_TABLE:
    if (!fresh)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "drop-table",
                  "make sure no deployed code uses it any more and its data is kept elsewhere",
                  "drops table \"%s\" and every row in it for good", o->table);
    names_del(created, o->table);
    break;
  case LM_OP_RENAME_TABLE:
    if (!fresh)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "rename-table",
                  "use expand/contract: create the new table, write to both, backfill, then drop "
                  "the old one in a later revision",
                  "renames table \"%s\" to \"%s\": code still running during the deploy uses the "
                  "old name",
                  o->table, o->new_name);
    if (fresh) {
      names_del(created, o->table);
      names_add(created, o->new_name);
    }
    break;
  case LM_OP_DROP_COLUMN:
    if (fresh) break;
    lm_lint_add(out, f, o->line, LM_LINT_WARNING, "drop-column",
                "deploy code that no longer reads or writes it first, and keep its data elsewhere",
                "drops column \"%s\".\"%s\" and its data for good", o->table, o->name);
    drops[(*ndrops)++] = (drop_rec){o, 0};
    break;
  case LM_OP_ADD_COLUMN:
    for (int i = 0; i < o->ncols; i++) {
      const lm_lint_column *col = &o->cols[i];
      if (!col->nullable && !col->has_default && !fresh && !self_filling(col))
        lm_lint_add(out, f, o->line, LM_LINT_ERROR, "add-not-null-without-default",
                    "add it nullable (or with a server_default), backfill it, then set "
                    "nullable = false in a later step",
                    "adds NOT NULL column \"%s\".\"%s\" without a server_default: it fails on a "
                    "table with rows and breaks old code's INSERTs during a rolling deploy",
                    o->table, col->name);
    }
    /* The drop is where the data is lost, so the finding points at it. */
    for (int k = 0; k < *ndrops; k++) {
      drop_rec *d = &drops[k];
      if (d->reported || !same(d->op->table, o->table) || o->ncols < 1) continue;
      d->reported = 1;
      const char *added = o->cols[0].name;
      if (same(d->op->name, added))
        lm_lint_add(out, op_file(c, d->op), d->op->line, LM_LINT_ERROR, "drop-then-add",
                    "change it in place with op.alter_column (type = ...), or add a new column, "
                    "backfill it and drop the old one in a later step",
                    "column \"%s\".\"%s\" is dropped and added again (line %d) in the same "
                    "revision: every value in it is lost",
                    o->table, added, o->line);
      else
        lm_lint_add(out, op_file(c, d->op), d->op->line, LM_LINT_ERROR, "drop-then-add",
                    "rename with op.alter_column(..., { new_column_name = ... }), or add, "
                    "backfill and drop in separate steps (expand/contract)",
                    "column \"%s\".\"%s\" is dropped and \"%s\" added (line %d) in the same "
                    "revision: a rename written as drop+add loses the data",
                    o->table, d->op->name, added, o->line);
    }
    break;
  case LM_OP_ALTER_COLUMN:
    if (fresh) break;
    if (o->new_name)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "rename-column",
                  "use expand/contract: add the new column, write to both, backfill, then drop "
                  "the old one in a later step",
                  "renames column \"%s\".\"%s\" to \"%s\": code still running during the deploy "
                  "uses the old name",
                  o->table, o->name, o->new_name);
    if (o->type)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "alter-column-type",
                  "add a column of the new type, backfill it and switch over (expand/contract); "
                  "check that the downgrade's conversion back works on real data",
                  "changes the type of \"%s\".\"%s\" to %s: the table may be rewritten under an "
                  "exclusive lock, and the reverse conversion may fail",
                  o->table, o->name, o->type);
    if (c->pg && o->nullable == 0)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "set-not-null",
                  "first add a CHECK (... IS NOT NULL) with not_valid = true and VALIDATE it in "
                  "a later step; PostgreSQL 12+ then sets NOT NULL without the scan",
                  "SET NOT NULL on \"%s\".\"%s\" scans the whole table under an exclusive lock",
                  o->table, o->name);
    break;
  case LM_OP_CREATE_INDEX:
    if (c->pg && !o->concurrently && !fresh)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "index-not-concurrent",
                  "pass { concurrently = true } inside op.autocommit_block(function() ... end)",
                  "CREATE INDEX \"%s\" on \"%s\" blocks writes to the table while it builds",
                  o->name, o->table);
    break;
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
    if (!o->not_valid && !fresh)
      lm_lint_add(out, f, o->line, LM_LINT_WARNING, "foreign-key-validating",
                  "pass { not_valid = true }, then VALIDATE CONSTRAINT in a later step "
                  "(op.execute): validating takes a lighter lock",
                  o->kind == LM_OP_CREATE_FK
                      ? "adds foreign key \"%s\" on \"%s\" without not_valid: both tables are "
                        "locked while every row is checked"
                      : "adds check constraint \"%s\" on \"%s\" without not_valid: the table is "
                        "locked while every row is checked",
                  o->name, o->table);
    break;
  default: break;
  }
}

/* Backfill rules, for every function (a downgrade may backfill too). */
static void check_backfills(ctx *c, const lm_lint_fn *fn) {
  const char *where = c->r->step_names ? "step" : "function";
  for (int i = 0; i < fn->n; i++) {
    const lm_lint_op *o = &fn->ops[i];
    if (!lm_lint_is_backfill(o->kind)) continue;
    if (blank(o->where))
      lm_lint_add(c->out, op_file(c, o), o->line, LM_LINT_WARNING, "backfill-not-resumable",
                  "add a where clause that only matches unfinished rows, e.g. where = "
                  "\"new_col IS NULL\"",
                  "backfill of \"%s\" has no where: after an interruption it starts over and "
                  "rewrites the rows it already did",
                  o->table);
    if (fn->n > 1)
      lm_lint_add(c->out, op_file(c, o), o->line, LM_LINT_WARNING, "backfill-in-transaction",
                  "give the backfill a step of its own: steps = { ..., { name = \"backfill\", up "
                  "= function() op.backfill(...) end, down = function() end }, ... }",
                  "backfill of \"%s\" shares its %s with %d other operation%s, so all its batches "
                  "run in one transaction and hold its locks to the end",
                  o->table, where, fn->n - 1, fn->n - 1 == 1 ? "" : "s");
  }
}

/* ops-before-autocommit: op.autocommit_block commits the step's transaction
 * before its body, so the operations made before it in the same step are
 * committed with no version row; after a failure later in the step they stay
 * (the journal keeps a rerun from repeating them, but the database is left
 * half migrated). A step of their own keeps each part atomic. */
static void check_autocommit(ctx *c, const lm_lint_fn *fn) {
  const char *where = c->r->step_names ? "step" : "function";
  for (int i = 0; i < fn->nblocks; i++) {
    const struct lm_lint_block *b = &fn->blocks[i];
    lm_lint_add(c->out, b->file ? b->file : c->r->path, b->line, LM_LINT_ERROR,
                "ops-before-autocommit",
                "split into steps: put the operations before the block in a step of their own, "
                "and the autocommit_block in the next one",
                "op.autocommit_block commits the %d operation%s made before it in the same %s: a "
                "failure after it leaves them committed without the revision being applied",
                b->nbefore, b->nbefore == 1 ? "" : "s", where);
  }
}

/* ---- downgrade rules ------------------------------------------------------------------ */

static int invertible(lm_op_kind k) {
  switch (k) {
  case LM_OP_CREATE_TABLE:
  case LM_OP_DROP_TABLE:
  case LM_OP_RENAME_TABLE:
  case LM_OP_ADD_COLUMN:
  case LM_OP_DROP_COLUMN:
  case LM_OP_ALTER_COLUMN:
  case LM_OP_CREATE_INDEX:
  case LM_OP_DROP_INDEX:
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
  case LM_OP_DROP_CONSTRAINT: return 1;
  default: return 0; /* execute, bulk_insert, backfills: what they do is not visible */
  }
}

static int is_create_constraint(lm_op_kind k) {
  return k == LM_OP_CREATE_PK || k == LM_OP_CREATE_UNIQUE || k == LM_OP_CREATE_FK ||
         k == LM_OP_CREATE_CHECK;
}

static const char *first_col(const lm_lint_op *o) { return o->ncols ? o->cols[0].name : NULL; }

/* Whether downgrade operation d undoes upgrade operation u. */
static int undoes(const lm_lint_op *d, const lm_lint_op *u) {
  switch (u->kind) {
  case LM_OP_CREATE_TABLE: return d->kind == LM_OP_DROP_TABLE && same(d->table, u->table);
  case LM_OP_DROP_TABLE: return d->kind == LM_OP_CREATE_TABLE && same(d->table, u->table);
  case LM_OP_ADD_COLUMN:
    return d->kind == LM_OP_DROP_COLUMN && same(d->table, u->table) && same(d->name, first_col(u));
  case LM_OP_DROP_COLUMN:
    return d->kind == LM_OP_ADD_COLUMN && same(d->table, u->table) && same(first_col(d), u->name);
  case LM_OP_CREATE_INDEX: return d->kind == LM_OP_DROP_INDEX && same(d->name, u->name);
  case LM_OP_DROP_INDEX: return d->kind == LM_OP_CREATE_INDEX && same(d->name, u->name);
  case LM_OP_RENAME_TABLE:
    return d->kind == LM_OP_RENAME_TABLE && same(d->table, u->new_name) &&
           same(d->new_name, u->table);
  case LM_OP_ALTER_COLUMN:
    if (d->kind != LM_OP_ALTER_COLUMN || !same(d->table, u->table)) return 0;
    if (u->new_name) return same(d->name, u->new_name) && same(d->new_name, u->name);
    return same(d->name, u->name) && !d->new_name;
  case LM_OP_CREATE_PK:
  case LM_OP_CREATE_UNIQUE:
  case LM_OP_CREATE_FK:
  case LM_OP_CREATE_CHECK:
    return d->kind == LM_OP_DROP_CONSTRAINT && same(d->name, u->name) &&
           (!d->table || same(d->table, u->table));
  case LM_OP_DROP_CONSTRAINT:
    return is_create_constraint(d->kind) && same(d->name, u->name) &&
           (!u->table || same(d->table, u->table));
  default: return 0;
  }
}

static int has_kind(const lm_lint_fn *fn, lm_op_kind k) {
  for (int i = 0; i < fn->n; i++)
    if (fn->ops[i].kind == k) return 1;
  return 0;
}

/* Names of the tables the upgrade function creates (as they are named at its
 * end, after any rename): dropping such a table undoes everything the
 * function did to it, so those operations need no undo of their own. */
static void tables_made(const lm_lint_fn *up, names *made) {
  for (int i = 0; i < up->n; i++) {
    const lm_lint_op *o = &up->ops[i];
    if (o->kind == LM_OP_CREATE_TABLE) names_add(made, o->table);
    if (o->kind == LM_OP_DROP_TABLE) names_del(made, o->table);
    if (o->kind == LM_OP_RENAME_TABLE && names_has(made, o->table)) {
      names_del(made, o->table);
      names_add(made, o->new_name);
    }
  }
}

/* A downgrade operation that undoes no upgrade operation is tolerated when the
 * upgrade may have made its object without a record lint can read: raw SQL,
 * an index or constraint implied by a column's index/unique/references, or
 * anything on a table the upgrade created (an explicit drop before its
 * drop_table is redundant, not wrong). */
static int tolerated_extra(const lm_lint_op *d, const lm_lint_fn *up, const names *made) {
  if (has_kind(up, LM_OP_EXECUTE)) return 1;
  if (d->kind != LM_OP_DROP_INDEX && d->kind != LM_OP_DROP_CONSTRAINT &&
      d->kind != LM_OP_DROP_COLUMN && d->kind != LM_OP_ALTER_COLUMN)
    return 0;
  if (d->table && names_has(made, d->table)) return 1;
  if (d->kind == LM_OP_DROP_COLUMN || d->kind == LM_OP_ALTER_COLUMN) return 0;
  return has_kind(up, LM_OP_CREATE_TABLE) || has_kind(up, LM_OP_ADD_COLUMN);
}

/* One expected undo: the upgrade operation, and for a create_table the name
 * the table has when the upgrade ends (the one its drop_table will use). */
typedef struct expected {
  const lm_lint_op *u;
  const char *table;
} expected;

static int undoes_expected(const lm_lint_op *d, const expected *x) {
  if (x->u->kind == LM_OP_CREATE_TABLE)
    return d->kind == LM_OP_DROP_TABLE && same(d->table, x->table);
  return undoes(d, x->u);
}

static char *describe_expected(const expected *x) {
  if (x->u->kind == LM_OP_CREATE_TABLE) return lm_xasprintf("op.drop_table(\"%s\")", x->table);
  return describe_inverse(x->u);
}

static void check_inverse(ctx *c, const lm_lint_fn *up, const lm_lint_fn *down, const char *fname) {
  names made = {0}, live = {0};
  tables_made(up, &made);
  /* expected: the upgrade's operations, last first, leaving out those on a
   * table the upgrade itself creates */
  expected *e = lm_xcalloc((size_t)up->n + 1, sizeof *e);
  int ne = 0;
  for (int i = 0; i < up->n; i++) {
    const lm_lint_op *o = &up->ops[i];
    int on_new = o->kind != LM_OP_CREATE_TABLE && names_has(&live, o->table);
    if (o->kind == LM_OP_CREATE_TABLE) names_add(&live, o->table);
    if (o->kind == LM_OP_RENAME_TABLE && on_new) {
      names_del(&live, o->table);
      names_add(&live, o->new_name);
    }
    if (!invertible(o->kind) || on_new) continue;
    e[ne++] = (expected){o, o->table};
  }
  /* the final name of each created table, for its drop_table; a table the
   * upgrade drops again (a scratch table) needs no undo at all */
  int kept = 0;
  for (int k = 0; k < ne; k++) {
    const char *t = e[k].u->table;
    int gone = 0;
    if (e[k].u->kind == LM_OP_CREATE_TABLE)
      for (const lm_lint_op *o = e[k].u + 1; o < up->ops + up->n && !gone; o++) {
        if (o->kind == LM_OP_RENAME_TABLE && same(o->table, t)) t = o->new_name;
        if (o->kind == LM_OP_DROP_TABLE && same(o->table, t)) gone = 1;
      }
    if (gone) continue;
    e[kept] = e[k];
    e[kept++].table = t;
  }
  ne = kept;
  for (int a = 0, b = ne - 1; a < b; a++, b--) {
    expected t = e[a];
    e[a] = e[b];
    e[b] = t;
  }
  /* raw SQL in the downgrade may undo any of them, so only the order of the
   * visible operations can be checked then */
  int raw_down = has_kind(down, LM_OP_EXECUTE);
  int i = 0;
  for (int j = 0; j < down->n; j++) {
    const lm_lint_op *d = &down->ops[j];
    if (!invertible(d->kind)) continue;
    if (i < ne && undoes_expected(d, &e[i])) {
      i++;
      continue;
    }
    int later = -1;
    for (int k = i + 1; k < ne && later < 0; k++)
      if (undoes_expected(d, &e[k])) later = k;
    if (later >= 0 && raw_down) {
      i = later + 1;
      continue;
    }
    if (later < 0 && tolerated_extra(d, up, &made)) continue;
    char *found = describe(d);
    if (i < ne) {
      char *want = describe_expected(&e[i]);
      lm_lint_add(c->out, op_file(c, d), d->line, LM_LINT_WARNING, "downgrade-not-inverse",
                  "a downgrade undoes each upgrade operation, the last one first",
                  "%s should undo line %d first: expected %s, found %s", fname, e[i].u->line, want,
                  found);
      free(want);
    } else {
      lm_lint_add(c->out, op_file(c, d), d->line, LM_LINT_WARNING, "downgrade-not-inverse",
                  "a downgrade undoes each upgrade operation, the last one first",
                  "%s runs %s, which undoes no operation of the upgrade", fname, found);
    }
    free(found);
    i = ne + 1; /* reported: one finding per function is enough */
    break;
  }
  if (i < ne && !raw_down) {
    char *want = describe_expected(&e[i]);
    char *what = describe(e[i].u);
    lm_lint_add(c->out, c->r->path, down->line, LM_LINT_WARNING, "downgrade-not-inverse",
                "a downgrade undoes each upgrade operation, the last one first",
                "%s never undoes %s (line %d): expected %s", fname, what, e[i].u->line, want);
    free(want);
    free(what);
  }
  free(e);
  free(made.v);
  free(live.v);
}

static int counts_as_change(const lm_lint_fn *fn) {
  for (int i = 0; i < fn->n; i++)
    if (!lm_lint_is_backfill(fn->ops[i].kind)) return 1;
  return 0;
}

static void check_downgrade(ctx *c, int s) {
  const lm_lint_rev *r = c->r;
  const lm_lint_fn *up = &r->up[s], *down = &r->down[s];
  char *fname = r->step_names ? lm_xasprintf("the down function of step '%s'", r->step_names[s])
                              : lm_xstrdup("downgrade()");
  if (!down->present) {
    if (r->step_names)
      lm_lint_add(c->out, r->path, up->line, LM_LINT_ERROR, "downgrade-missing",
                  "give the step a down = function() ... end that undoes its up",
                  "step '%s' has no down function: revision %s cannot be downgraded",
                  r->step_names[s], r->id);
    else
      lm_lint_add(c->out, r->path, up->line, LM_LINT_ERROR, "downgrade-missing",
                  "define function downgrade() that undoes upgrade(), the last operation first",
                  "revision %s has no downgrade(): it cannot be downgraded", r->id);
  } else if (!up->failed && !down->failed) {
    /* A backfill only fills values its own step added: nothing to undo. */
    if (down->n == 0 && counts_as_change(up))
      lm_lint_add(c->out, r->path, down->line ? down->line : up->line, LM_LINT_ERROR,
                  "downgrade-empty",
                  "undo each upgrade operation, the last one first; when it truly cannot be "
                  "undone, say so with -- luamig: allow downgrade-empty",
                  "%s does nothing, but the upgrade makes %d operation%s", fname, up->n,
                  up->n == 1 ? "" : "s");
    else
      check_inverse(c, up, down, fname);
  }
  free(fname);
}

static void check_type(const ctx *c, const lm_lint_op *o, const char *type) {
  if (!type || lm_type_known(c->r->dialect, type)) return;
  lm_lint_add(c->out, op_file(c, o), o->line, LM_LINT_ERROR, "unknown-type",
              "use a type of the op API (integer, string(n), text, boolean, numeric(p,s), "
              "timestamp, json, uuid, ...) or one the database knows; a type of your own "
              "(CREATE TYPE, a domain) is silenced with -- luamig: allow unknown-type",
              "unknown type \"%s\" on \"%s\": neither a luamig type nor one %s knows", type,
              o->table ? o->table : "?",
              c->r->dialect ? lm_dialect_display_name(c->r->dialect) : "PostgreSQL or SQLite");
}

static void check_types(const ctx *c, const lm_lint_fn *fn) {
  for (int i = 0; i < fn->n; i++) {
    const lm_lint_op *o = &fn->ops[i];
    for (int k = 0; k < o->ncols; k++)
      check_type(c, o, o->cols[k].type);
    if (o->kind == LM_OP_ALTER_COLUMN) check_type(c, o, o->type);
  }
}

void lm_lint_check_revision(const lm_lint_rev *r, int postgres, lm_lint_findings *out) {
  ctx c = {r, postgres, out};
  for (int s = 0; s < r->nsteps; s++) {
    check_types(&c, &r->up[s]);
    check_types(&c, &r->down[s]);
  }
  names created = {0};
  int total = 0;
  for (int s = 0; s < r->nsteps; s++)
    total += r->up[s].n;
  drop_rec *drops = lm_xcalloc((size_t)total + 1, sizeof *drops);
  int ndrops = 0;
  for (int s = 0; s < r->nsteps; s++)
    for (int i = 0; i < r->up[s].n; i++)
      check_up_op(&c, &r->up[s].ops[i], &created, drops, &ndrops);
  for (int s = 0; s < r->nsteps; s++) {
    check_backfills(&c, &r->up[s]);
    check_backfills(&c, &r->down[s]);
    check_autocommit(&c, &r->up[s]);
    check_autocommit(&c, &r->down[s]);
    check_downgrade(&c, s);
  }
  free(drops);
  free(created.v);
}

/* ---- luamig.lua ---------------------------------------------------------------------- */

static int scheme_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '+' || ch == '-' || ch == '.';
}

static int stops_url(char ch) {
  return ch == 0 || ch == '"' || ch == '\'' || ch == ' ' || ch == '\t' || ch == '\n' ||
         ch == '\r' || ch == ']' || ch == ',' || ch == '}';
}

int lm_lint_password_line(const char *text) {
  for (const char *p = strstr(text, "://"); p; p = strstr(p + 3, "://")) {
    if (p == text || !scheme_char(p[-1])) continue;
    /* userinfo: up to '@', before the host part ends */
    const char *u = p + 3, *colon = NULL, *at = NULL;
    for (const char *q = u; !stops_url(*q) && *q != '/'; q++) {
      if (*q == ':' && !colon) colon = q;
      if (*q == '@') at = q; /* the last '@' ends the userinfo */
    }
    if (!colon || !at || colon > at || colon + 1 == at) continue;
    /* an already masked URL (user:***@) is no password */
    int masked = 1;
    for (const char *q = colon + 1; q < at; q++)
      if (*q != '*') masked = 0;
    if (masked) continue;
    int line = 1;
    for (const char *q = text; q < p; q++)
      if (*q == '\n') line++;
    return line;
  }
  return 0;
}

/* ---- -- luamig: allow RULE ------------------------------------------------------------- */

/* Whether [s, e) (one line, comment markers already skipped) reads
 * `luamig: allow RULE[, RULE...]` naming rule. */
static int directive_names(const char *s, const char *e, const char *rule) {
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  if (e - s < 7 || strncmp(s, "luamig:", 7) != 0) return 0;
  s += 7;
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  if (e - s < 5 || strncmp(s, "allow", 5) != 0) return 0;
  s += 5;
  size_t rl = strlen(rule);
  while (s < e) {
    while (s < e && (*s == ' ' || *s == '\t' || *s == ','))
      s++;
    const char *t = s;
    while (s < e && *s != ' ' && *s != '\t' && *s != ',')
      s++;
    size_t n = (size_t)(s - t);
    /* a one-line header `--[[ luamig: allow x ]]` ends the token list */
    if (n >= 2 && t[n - 1] == ']' && t[n - 2] == ']') n -= 2;
    if (n == rl && strncmp(t, rule, rl) == 0) return 1;
  }
  return 0;
}

/* Skips `--`, any further dashes and an opening long bracket `[[` / `[==[`. */
static const char *skip_comment_start(const char *s, const char *e) {
  while (s < e && *s == '-')
    s++;
  if (s < e && *s == '[') {
    const char *q = s + 1;
    while (q < e && *q == '=')
      q++;
    if (q < e && *q == '[') s = q + 1;
  }
  return s;
}

/* Line [s, e) is a comment line (`--` after indentation) naming rule. */
static int comment_line_allows(const char *s, const char *e, const char *rule) {
  while (s < e && (*s == ' ' || *s == '\t'))
    s++;
  if (e - s < 2 || s[0] != '-' || s[1] != '-') return 0;
  return directive_names(skip_comment_start(s, e), e, rule);
}

static int is_comment_line(const char *s, const char *e) {
  while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
    s++;
  return e - s >= 2 && s[0] == '-' && s[1] == '-';
}

static const char *line_end(const char *s) {
  const char *e = strchr(s, '\n');
  return e ? e : s + strlen(s);
}

/* The header: leading blank lines, `--` lines and long comments before the
 * first line of code. */
static int header_allows(const char *text, const char *rule) {
  const char *p = text;
  if (p[0] == '#' && p[1] == '!') p = *line_end(p) ? line_end(p) + 1 : line_end(p);
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
      p++;
    if (p[0] != '-' || p[1] != '-') return 0;
    const char *e = line_end(p);
    int level = -1;
    if (p[2] == '[') {
      const char *q = p + 3;
      while (*q == '=')
        q++;
      if (*q == '[') level = (int)(q - (p + 3));
    }
    if (level < 0) {
      if (directive_names(skip_comment_start(p, e), e, rule)) return 1;
      p = *e ? e + 1 : e;
      continue;
    }
    /* a long comment: every line inside may carry the directive, with or
     * without its own leading `--` */
    char close[64];
    if (level > 60) return 0;
    close[0] = ']';
    memset(close + 1, '=', (size_t)level);
    close[level + 1] = ']';
    close[level + 2] = 0;
    const char *body = skip_comment_start(p, e);
    const char *end = strstr(body, close);
    const char *stop = end ? end : body + strlen(body);
    for (const char *l = body; l < stop;) {
      const char *le = line_end(l);
      if (le > stop) le = stop;
      const char *s = l;
      while (s < le && (*s == ' ' || *s == '\t'))
        s++;
      if (le - s >= 2 && s[0] == '-' && s[1] == '-') s = skip_comment_start(s, le);
      if (directive_names(s, le, rule)) return 1;
      l = *le == '\n' ? le + 1 : le;
      if (le == stop) break;
    }
    if (!end) return 0;
    p = end + strlen(close);
    /* code after the closing bracket on the same line ends the header */
    const char *rest = p;
    while (*rest == ' ' || *rest == '\t' || *rest == '\r')
      rest++;
    if (*rest && *rest != '\n' && !(rest[0] == '-' && rest[1] == '-')) return 0;
  }
}

int lm_lint_allowed(const char *text, int line, const char *rule) {
  if (!text) return 0;
  if (header_allows(text, rule)) return 1;
  if (line < 1) return 0;
  /* start of each line up to `line` */
  const char **starts = lm_xcalloc((size_t)line + 1, sizeof *starts);
  const char *p = text;
  int n = 0;
  while (n < line) {
    starts[n++] = p;
    const char *e = strchr(p, '\n');
    if (!e) break;
    p = e + 1;
  }
  int ok = 0;
  if (n == line) {
    /* a trailing comment on the operation's own line */
    const char *s = starts[line - 1], *e = line_end(s);
    for (const char *d = s; d + 1 < e && !ok; d++)
      if (d[0] == '-' && d[1] == '-') ok = directive_names(skip_comment_start(d, e), e, rule);
    /* the comment lines just above it */
    for (int k = line - 2; k >= 0 && !ok; k--) {
      const char *ls = starts[k], *le = line_end(ls);
      if (!is_comment_line(ls, le)) break;
      ok = comment_line_allows(ls, le, rule);
    }
  }
  free(starts);
  return ok;
}

/* ---- running the revisions ------------------------------------------------------------- */

static int record_op(void *ud, const lm_op *op) {
  lm_lint_fn_record(ud, op);
  return 0;
}

static void record_autocommit(void *ud, const char *file, int line, int begin) {
  lm_lint_fn_autocommit(ud, file, line, begin);
}

/* Whether the revision has the function for step/direction, and the line
 * where it is defined. Reads the file's environment without calling anything
 * (the checks on its shape were made when the file was loaded, but a revision
 * may have changed its globals since, so every type is checked again). */
static int function_info(lua_State *L, const lm_revision *r, int step, int up, int *line) {
  int top = lua_gettop(L);
  int present = 0;
  *line = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
  if (lua_type(L, -1) != LUA_TTABLE) goto done;
  if (!r->multistep) {
    lua_pushstring(L, up ? "upgrade" : "downgrade");
    lua_rawget(L, -2);
  } else {
    lua_pushliteral(L, "steps");
    lua_rawget(L, -2);
    if (lua_type(L, -1) != LUA_TTABLE) goto done;
    lua_rawgeti(L, -1, step + 1);
    if (lua_type(L, -1) != LUA_TTABLE) goto done;
    lua_pushstring(L, up ? "up" : "down");
    lua_rawget(L, -2);
  }
  if (lua_type(L, -1) != LUA_TFUNCTION) goto done;
  present = 1;
  lua_Debug ar;
  if (lua_getinfo(L, ">S", &ar) && ar.linedefined > 0) *line = ar.linedefined;
done:
  lua_settop(L, top);
  return present;
}

/* The message without the "file:line: " that Lua put in front of it. */
static const char *strip_location(const char *msg, const char *file, int line) {
  if (!msg || !file) return msg ? msg : "unknown error";
  size_t fl = strlen(file);
  if (strncmp(msg, file, fl) == 0 && msg[fl] == ':') {
    char *end;
    long l = strtol(msg + fl + 1, &end, 10);
    if (l == line && end[0] == ':' && end[1] == ' ') return end + 2;
  }
  return msg;
}

/* A revision written by `luamig import alembic` keeps each statement it could
 * not convert as an error("not converted from Alembic: …") line: each such
 * line is an error of its own, whether or not an earlier one stops the run. */
static const char NOT_CONVERTED[] = "not converted from Alembic: ";

static void not_converted_lines(const lm_revision *r, lm_lint_findings *out) {
  char *text = NULL;
  size_t len = 0, nl = sizeof NOT_CONVERTED - 1;
  if (lm_read_file(r->path, &text, &len) != 0) {
    lm_error_clear();
    return;
  }
  int line = 1;
  for (const char *p = text, *end = text + len; p < end; line++) {
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e) e = end;
    const char *q = p;
    while (q < e && (*q == ' ' || *q == '\t'))
      q++;
    if ((size_t)(e - q) > 7 + nl && memcmp(q, "error(\"", 7) == 0 &&
        memcmp(q + 7, NOT_CONVERTED, nl) == 0) {
      const char *m = q + 7 + nl, *me = e;
      while (me > m && (me[-1] == ' ' || me[-1] == '\r'))
        me--;
      if (me - m >= 2 && me[-1] == ')' && me[-2] == '"') me -= 2;
      lm_buf py; /* the Python line, its Lua escapes undone */
      lm_buf_init(&py);
      for (const char *c = m; c < me; c++) {
        if (*c == '\\' && c + 1 < me && (c[1] == '"' || c[1] == '\\')) c++;
        lm_buf_putc(&py, *c);
      }
      lm_lint_add(out, r->path, line, LM_LINT_ERROR, "not-converted",
                  "port the statement to Lua by hand (the Python is in the comment above it), "
                  "then delete this line; see 'Coming from Alembic' in the README",
                  "statement not converted from Alembic: %s", py.s ? py.s : "");
      lm_buf_free(&py);
    }
    p = e + 1;
  }
  free(text);
}

static void run_function(lm_project *p, const lm_dialect *d, const lm_revision *r, int step, int up,
                         lm_lint_fn *fn, lm_lint_findings *out) {
  /* a revision whose fields came from the revision index is compiled now */
  int loaded = lm_lua_revision_load(p->L, (lm_revision *)r) == 0;
  fn->present = !loaded || function_info(p->L, r, step, up, &fn->line);
  if (!fn->present) return;
  lm_sink sink;
  lm_sink_record(&sink, d, record_op, fn);
  sink.on_autocommit = record_autocommit;
  lm_run run = {p, &sink, d, 1, r, r->multistep ? r->step_names[step] : NULL, 0, NULL};
  if (loaded && lm_lua_call_step(p->L, &run, r, step, up) == 0) return;
  fn->failed = 1;
  const lm_error *e = lm_error_last();
  if (strncmp(strip_location(e->message, e->file, e->line), NOT_CONVERTED,
              sizeof NOT_CONVERTED - 1) == 0) {
    lm_error_clear(); /* reported by not_converted_lines, one finding per line */
    return;
  }
  const char *file = e->file ? e->file : r->path;
  int line = e->file && e->line > 0 ? e->line : fn->line;
  char *what = r->multistep ? lm_xasprintf("the %s function of step '%s'", up ? "up" : "down",
                                           r->step_names[step])
                            : lm_xstrdup(up ? "upgrade()" : "downgrade()");
  /* a downgrade that raises on purpose marks an irreversible revision */
  const char *hint =
      up ? "lint runs revisions without a database (context.offline is true and queries return "
           "no rows): guard code that needs data with `if not context.offline`"
         : "lint runs revisions without a database (context.offline is true and queries return "
           "no rows); a downgrade that refuses on purpose is silenced with "
           "-- luamig: allow lint-failed";
  lm_lint_add(out, file, line, LM_LINT_ERROR, "lint-failed", hint,
              "%s stopped with an error, so it could not be checked: %s", what,
              strip_location(e->message, e->file, e->line));
  free(what);
  lm_error_clear();
}

static void lint_revision(lm_project *p, const lm_dialect *d, int pg, const lm_dialect *known,
                          const lm_revision *r, lm_lint_findings *out) {
  int n = lm_revision_steps(r);
  lm_lint_rev lr = {r->id,
                    r->path,
                    r->multistep ? (const char *const *)r->step_names : NULL,
                    n,
                    lm_xcalloc((size_t)n, sizeof(lm_lint_fn)),
                    lm_xcalloc((size_t)n, sizeof(lm_lint_fn)),
                    known};
  for (int s = 0; s < n; s++)
    run_function(p, d, r, s, 1, &lr.up[s], out);
  for (int s = n - 1; s >= 0; s--)
    run_function(p, d, r, s, 0, &lr.down[s], out);
  lm_lint_check_revision(&lr, pg, out);
  int failed = 0; /* an error() line stops its function: only then is the file read */
  for (int s = 0; s < n; s++)
    failed |= lr.up[s].failed | lr.down[s].failed;
  if (failed) not_converted_lines(r, out);
  for (int s = 0; s < n; s++) {
    lm_lint_fn_free(&lr.up[s]);
    lm_lint_fn_free(&lr.down[s]);
  }
  free(lr.up);
  free(lr.down);
}

/* File texts for the allow comments, read once each. */
typedef struct text_cache {
  char **paths, **texts;
  int n, cap;
} text_cache;

static const char *cached_text(text_cache *tc, const char *path) {
  for (int i = 0; i < tc->n; i++)
    if (strcmp(tc->paths[i], path) == 0) return tc->texts[i];
  if (tc->n == tc->cap) {
    tc->cap = tc->cap ? tc->cap * 2 : 16;
    tc->paths = lm_xrealloc(tc->paths, (size_t)tc->cap * sizeof *tc->paths);
    tc->texts = lm_xrealloc(tc->texts, (size_t)tc->cap * sizeof *tc->texts);
  }
  char *text = NULL;
  size_t len;
  /* an unreadable file silences nothing; the finding stays */
  if (lm_read_file(path, &text, &len) != 0) {
    text = NULL;
    lm_error_clear();
  }
  tc->paths[tc->n] = lm_xstrdup(path);
  tc->texts[tc->n] = text;
  return tc->texts[tc->n++];
}

static void text_cache_free(text_cache *tc) {
  for (int i = 0; i < tc->n; i++)
    free(tc->paths[i]), free(tc->texts[i]);
  free(tc->paths);
  free(tc->texts);
}

/* The entry of `targets` (SPEC §11) that holds line, or -1. */
static int target_at_line(const lm_config *cfg, int line) {
  int found = -1;
  for (int i = 0; i < cfg->ntargets; i++)
    if (cfg->targets[i].line && cfg->targets[i].line <= line) found = i;
  return found;
}

/* The URLs of targets, as evaluated: a password written in the file but
 * split across a concatenation escapes the text scan. A password the file
 * reads from elsewhere (os.getenv) does not appear in its text: no finding. */
static void check_target_urls(const lm_config *cfg, const char *text, lm_lint_findings *out) {
  for (int i = 0; i < cfg->ntargets; i++) {
    const lm_fleet_entry *e = &cfg->targets[i];
    lm_url *u = NULL;
    if (!e->url || lm_url_parse(&u, e->url) != 0) {
      lm_error_clear();
      continue;
    }
    if (u->password && *u->password && strstr(text, u->password))
      lm_lint_add(out, cfg->path, e->line, LM_LINT_ERROR, "credentials-in-config",
                  "leave the password out of the target's url: it comes from PGPASSWORD, "
                  "~/.pgpass or the PG* variables",
                  "the url of target '%s' (targets[%d]) holds a literal password: it ends up in "
                  "version control",
                  e->name, i + 1);
    lm_url_free(u);
  }
}

static void check_config(const lm_config *cfg, lm_lint_findings *out, text_cache *tc) {
  if (!cfg || !cfg->path) return;
  const char *text = cached_text(tc, cfg->path);
  int line = text ? lm_lint_password_line(text) : 0;
  if (text && !line) check_target_urls(cfg, text, out);
  if (!line) return;
  int t = target_at_line(cfg, line);
  if (t >= 0) {
    lm_lint_add(out, cfg->path, line, LM_LINT_ERROR, "credentials-in-config",
                "leave the password out of the target's url: it comes from PGPASSWORD, "
                "~/.pgpass or the PG* variables",
                "the url of target '%s' (targets[%d]) holds a literal password: it ends up in "
                "version control",
                cfg->targets[t].name, t + 1);
    return;
  }
  lm_lint_add(out, cfg->path, line, LM_LINT_ERROR, "credentials-in-config",
              "leave url out and set DATABASE_URL, or read it: url = os.getenv(\"DATABASE_URL\")",
              "%s holds a database URL with a literal password: it ends up in version control",
              cfg->path);
}

int lm_lint_collect(lm_project *p, const char *const *revs, int nrevs, lm_lint_findings *out,
                    int *nerrors, int *nwarnings) {
  *nerrors = *nwarnings = 0;
  const lm_graph *g = &p->graph;
  char *chosen = lm_xcalloc((size_t)g->n + 1, 1);
  for (int i = 0; i < nrevs; i++) {
    int idx;
    int rc = lm_graph_find(g, revs[i], &idx);
    if (rc) {
      free(chosen);
      return rc;
    }
    chosen[idx] = 1;
  }
  /* Lint is the same whatever the URL: every dialect's rules (the ones of
   * one dialect tagged), the revisions run as for a dialect that builds
   * indexes concurrently, whose rule set is the stricter. --dialect names
   * one dialect: only its rules. */
  const lm_dialect *d = lm_dialect_with_cap(LM_CAP_CONCURRENT_INDEX);
  const lm_dialect *known = NULL; /* whose types count as known: every dialect's */
  if (p->opts.dialect && p->dialect) {
    d = p->dialect;
    known = d;
  }
  /* the lock rules (index-not-concurrent, set-not-null) are for a database
   * that can build an index without blocking writes */
  int pg = lm_dialect_has_cap(d, LM_CAP_CONCURRENT_INDEX);
  lm_lua_set_context(p->L, d->name, 1, p->opts.x, p->opts.nx);

  lm_lint_findings f = {0};
  text_cache tc = {0};
  for (int k = 0; k < g->n; k++) {
    int i = g->topo ? g->topo[k] : k;
    if (nrevs && !chosen[i]) continue;
    lint_revision(p, d, pg, known, g->revs[i], &f);
  }
  /* the configuration belongs to the whole chain, not to a named revision */
  if (!nrevs) check_config(p->config, &f, &tc);
  free(chosen);

  int w = 0;
  for (int i = 0; i < f.n; i++) {
    if (lm_lint_allowed(cached_text(&tc, f.v[i].file), f.v[i].line, f.v[i].rule))
      finding_free(&f.v[i]);
    else
      f.v[w++] = f.v[i];
  }
  f.n = w;
  text_cache_free(&tc);
  lm_lint_sort(&f);
  for (int i = 0; i < f.n; i++) {
    if (f.v[i].severity == LM_LINT_ERROR)
      (*nerrors)++;
    else
      (*nwarnings)++;
  }
  lm_lint_findings_append(out, &f);
  lm_lint_findings_free(&f);
  return 0;
}

/* ---- upgrade and autogenerate's rename mark (SPEC §10) ----------------------- */

int lm_lint_refuse_marked(lm_project *p, const lm_plan *plan) {
  const lm_graph *g = &p->graph;
  for (int i = 0; i < plan->n; i++) {
    const lm_revision *r = g->revs[plan->v[i].rev];
    if (!plan->v[i].up || !r->rename_mark_line) continue;
    /* a revision with steps is in the plan once per step: lint it once */
    int seen = 0;
    for (int j = 0; j < i && !seen; j++)
      seen = plan->v[j].rev == plan->v[i].rev;
    if (seen) continue;
    lm_lint_findings f = {0};
    int nerr, nwarn;
    const char *id = r->id;
    int rc = lm_lint_collect(p, &id, 1, &f, &nerr, &nwarn);
    const lm_lint_finding *hit = NULL;
    for (int k = 0; !rc && k < f.n && !hit; k++)
      if (f.v[k].severity == LM_LINT_ERROR && strcmp(f.v[k].rule, "drop-then-add") == 0)
        hit = &f.v[k];
    if (hit)
      rc = lm_error_set(LM_ECHECK,
                        "%s:%d: error [drop-then-add] %s — not run: autogenerate marked this "
                        "pair as a possible rename (line %d). Add renamed_from to the model and "
                        "generate the revision again, or put \"-- luamig: allow drop-then-add\" "
                        "above the pair to drop and add on purpose",
                        hit->file, hit->line, hit->message, r->rename_mark_line);
    lm_lint_findings_free(&f);
    if (rc) return rc;
  }
  return 0;
}
