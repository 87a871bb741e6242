/* The `op` object: each function turns its Lua arguments into an lm_op record
 * and hands it to the running sink. No SQL is built here. Strings are copied
 * into an arena owned by a Lua userdata, so a Lua error raised half-way
 * through parsing leaks nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lbind.h"
#include "normalize.h"
#include "recreate.h"

#define MT_ARENA "luamig.arena"
#define MT_COLUMN "luamig.column"
#define MT_CONSTRAINT "luamig.constraint"
#define MT_SQL LM_MT_SQL
#define MT_BATCH "luamig.batch"
#define REG_BATCH "luamig.batch.collecting"
#define MT_ROWS "luamig.rows"

/* ---- arena ------------------------------------------------------------- */

static int arena_gc(lua_State *L) {
  lm_arena_free(luaL_checkudata(L, 1, MT_ARENA));
  return 0;
}

/* Pushes an empty arena, freed when Lua collects it (or by emit). */
static lm_arena *arena_new(lua_State *L) {
  lm_arena *a = lua_newuserdatauv(L, sizeof *a, 0);
  memset(a, 0, sizeof *a);
  luaL_setmetatable(L, MT_ARENA);
  return a;
}

/* Fixes the argument count first, so the arena never poses as an argument. */
static lm_arena *arena_push(lua_State *L, int nargs) {
  lua_settop(L, nargs);
  return arena_new(L);
}

/* ---- errors with the revision's own file and line ------------------------- */

static int op_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lm_lua_push_located(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

/* ---- argument helpers ------------------------------------------------------ */

static const char *check_str(lua_State *L, lm_arena *A, int idx, const char *fn, const char *what) {
  if (lua_type(L, idx) != LUA_TSTRING)
    op_error(L, "op.%s: %s must be a string, got %s", fn, what, luaL_typename(L, idx));
  size_t n;
  const char *s = lua_tolstring(L, idx, &n);
  if (n == 0) op_error(L, "op.%s: %s must not be empty", fn, what);
  return lm_arena_strndup(A, s, n);
}

/* A constraint's name, or nil: Alembic's None, which lets the database
 * choose one (PostgreSQL: table_cols_key, table_cols_fkey, table_pkey,
 * table_col_check). */
static const char *opt_con_name(lua_State *L, lm_arena *A, int idx, const char *fn) {
  if (lua_isnil(L, idx)) return NULL;
  return check_str(L, A, idx, fn, "constraint name");
}

/* A string or a list of strings. */
static const char **str_list(lua_State *L, lm_arena *A, int idx, int *n, const char *fn,
                             const char *what) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char **v = lm_arena_alloc(A, sizeof *v);
    v[0] = check_str(L, A, idx, fn, what);
    *n = 1;
    return v;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    op_error(L, "op.%s: %s must be a string or a list of strings, got %s", fn, what,
             luaL_typename(L, idx));
  int len = (int)lua_rawlen(L, idx);
  if (len == 0) op_error(L, "op.%s: %s must not be empty", fn, what);
  const char **v = lm_arena_alloc(A, sizeof *v * (size_t)len);
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    v[i - 1] = check_str(L, A, -1, fn, what);
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

/* create_index columns: a name or a list of names and op.sql() expressions;
 * *expr marks the expressions (NULL when there is none). */
static const char **index_columns(lua_State *L, lm_arena *A, int idx, int *n,
                                  const unsigned char **expr) {
  idx = lua_absindex(L, idx);
  *expr = NULL;
  const char *one = lm_lua_sql_text(L, idx);
  if (one) {
    const char **v = lm_arena_alloc(A, sizeof *v);
    unsigned char *e = lm_arena_alloc(A, 1);
    v[0] = lm_arena_strndup(A, one, strlen(one));
    e[0] = 1;
    *n = 1;
    *expr = e;
    return v;
  }
  if (lua_type(L, idx) != LUA_TTABLE)
    return str_list(L, A, idx, n, "create_index", "index columns");
  int len = (int)lua_rawlen(L, idx);
  if (len == 0) op_error(L, "op.create_index: index columns must not be empty");
  const char **v = lm_arena_alloc(A, sizeof *v * (size_t)len);
  unsigned char *e = lm_arena_alloc(A, (size_t)len);
  int any = 0;
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    const char *sql = lm_lua_sql_text(L, -1);
    if (sql) {
      v[i - 1] = lm_arena_strndup(A, sql, strlen(sql));
      e[i - 1] = 1;
      any = 1;
    } else {
      if (lua_type(L, -1) != LUA_TSTRING)
        op_error(L,
                 "op.create_index: index columns must be column names or op.sql(...) "
                 "expressions, got %s",
                 luaL_typename(L, -1));
      v[i - 1] = check_str(L, A, -1, "create_index", "index columns");
      e[i - 1] = 0;
    }
    lua_pop(L, 1);
  }
  *n = len;
  if (any) *expr = e;
  return v;
}

/* Pushes opts[key] (nil when opts is absent). */
static int get_opt(lua_State *L, int idx, const char *key) {
  if (lua_type(L, idx) != LUA_TTABLE) {
    lua_pushnil(L);
    return LUA_TNIL;
  }
  return lua_getfield(L, idx, key);
}

static const char *opt_str(lua_State *L, lm_arena *A, int idx, const char *key, const char *fn) {
  const char *v = NULL;
  int t = get_opt(L, idx, key);
  if (t == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, -1, &n);
    v = lm_arena_strndup(A, s, n);
  } else if (t != LUA_TNIL) {
    op_error(L, "op.%s: option %s must be a string, got %s", fn, key, lua_typename(L, t));
  }
  lua_pop(L, 1);
  return v;
}

/* -1 when absent. */
static int opt_bool(lua_State *L, int idx, const char *key, const char *fn) {
  int v = -1;
  int t = get_opt(L, idx, key);
  if (t == LUA_TBOOLEAN)
    v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    op_error(L, "op.%s: option %s must be true or false, got %s", fn, key, lua_typename(L, t));
  lua_pop(L, 1);
  return v;
}

static int first_set(int a, int b) { return a != -1 ? a : b; }

static const char *sql_text(lua_State *L, lm_arena *A, int idx) {
  lua_getfield(L, idx, "text");
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  const char *r = lm_arena_strndup(A, s ? s : "", s ? n : 0);
  lua_pop(L, 1);
  return r;
}

/* A server_default or backfill value: a string is a literal, op.sql() raw. */
static lm_default parse_default(lua_State *L, lm_arena *A, int idx, int false_drops, const char *fn,
                                const char *what) {
  lm_default d = {LM_DEF_NONE, NULL, 0};
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TNIL: break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    d.kind = LM_DEF_LITERAL;
    d.text = lm_arena_strndup(A, s, n);
    break;
  }
  case LUA_TNUMBER: {
    char num[64];
    lm_lua_number_text(L, idx, num, sizeof num);
    d.kind = LM_DEF_NUMBER;
    d.text = lm_arena_strndup(A, num, strlen(num));
    break;
  }
  case LUA_TBOOLEAN:
    if (false_drops && !lua_toboolean(L, idx)) {
      d.kind = LM_DEF_DROP;
    } else {
      d.kind = LM_DEF_BOOL;
      d.b = lua_toboolean(L, idx);
    }
    break;
  default:
    if (lm_lua_is_marked(L, idx, MT_SQL)) {
      d.kind = LM_DEF_SQL;
      d.text = sql_text(L, A, idx);
      break;
    }
    op_error(L, "op.%s: %s must be a string, number, boolean or op.sql(...), got %s", fn, what,
             luaL_typename(L, idx));
  }
  return d;
}

/* op.null: SQL NULL where Lua's nil cannot stand (a value in a bulk_insert
 * row, which nil would leave out and so give the column its default) */
static const char OP_NULL = 0;

static void to_value(lua_State *L, lm_arena *A, int idx, lm_value *v, const char *fn) {
  memset(v, 0, sizeof *v);
  switch (lua_type(L, idx)) {
  case LUA_TNIL: v->t = LM_V_NULL; break;
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) != &OP_NULL) goto bad;
    v->t = LM_V_NULL;
    break;
  case LUA_TBOOLEAN:
    v->t = LM_V_BOOL;
    v->i = lua_toboolean(L, idx);
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      v->t = LM_V_INT;
      v->i = (long long)lua_tointeger(L, idx);
    } else {
      v->t = LM_V_FLOAT;
      v->f = lua_tonumber(L, idx);
    }
    break;
  case LUA_TSTRING: {
    size_t n;
    const char *s = lua_tolstring(L, idx, &n);
    v->t = LM_V_TEXT;
    v->s = lm_arena_strndup(A, s, n);
    v->len = n;
    break;
  }
  default:
  bad:
    op_error(L, "op.%s: a value must be nil, op.null, a boolean, a number or a string, got %s", fn,
             luaL_typename(L, idx));
  }
}

/* A list of parameters for $1, $2, … */
static lm_value *parse_params(lua_State *L, lm_arena *A, int idx, int *n, const char *fn) {
  *n = 0;
  if (lua_isnoneornil(L, idx)) return NULL;
  if (lua_type(L, idx) != LUA_TTABLE)
    op_error(L, "op.%s: params must be a list, got %s", fn, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  /* nil holes are allowed: the largest integer key counts */
  int len = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 65535)
      op_error(L, "op.%s: params must be a list (positional $1, $2, …), not keyed by name", fn);
    if (lua_tointeger(L, -1) > len) len = (int)lua_tointeger(L, -1);
  }
  lm_value *v = lm_arena_alloc(A, sizeof *v * (size_t)(len ? len : 1));
  for (int i = 1; i <= len; i++) {
    lua_rawgeti(L, idx, i);
    to_value(L, A, -1, &v[i - 1], fn);
    lua_pop(L, 1);
  }
  *n = len;
  return v;
}

static void split_ref(lua_State *L, lm_arena *A, const char *ref, const char **table,
                      const char **col, const char *fn) {
  const char *dot = strrchr(ref, '.');
  if (!dot || dot == ref || !dot[1])
    op_error(L, "op.%s: reference '%s' must read \"table.column\"", fn, ref);
  *table = lm_arena_strndup(A, ref, (size_t)(dot - ref));
  *col = lm_arena_strndup(A, dot + 1, strlen(dot + 1));
}

static const char *const COLUMN_OPTS[] = {
    "nullable", "primary_key", "autoincrement", "unique",   "index",     "server_default",
    "comment",  "references",  "ondelete",      "onupdate", "collation", NULL};

static void parse_column(lua_State *L, lm_arena *A, int idx, lm_column *c, const char *fn) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, idx, "name");
  c->name = check_str(L, A, -1, fn, "column name");
  lua_getfield(L, idx, "type");
  c->type = check_str(L, A, -1, fn, "column type");
  lua_getfield(L, idx, "opts");
  int o = lua_gettop(L);
  c->nullable = first_set(opt_bool(L, o, "nullable", "column"), 1);
  c->primary_key = first_set(opt_bool(L, o, "primary_key", "column"), 0);
  c->unique = first_set(opt_bool(L, o, "unique", "column"), 0);
  c->index = first_set(opt_bool(L, o, "index", "column"), 0);
  c->autoincrement = opt_bool(L, o, "autoincrement", "column");
  get_opt(L, o, "server_default");
  c->server_default = parse_default(L, A, -1, 0, "column", "server_default");
  lua_pop(L, 1);
  c->comment = opt_str(L, A, o, "comment", "column");
  const char *ref = opt_str(L, A, o, "references", "column");
  if (ref) split_ref(L, A, ref, &c->ref_table, &c->ref_column, "column");
  c->ondelete = opt_str(L, A, o, "ondelete", "column");
  c->onupdate = opt_str(L, A, o, "onupdate", "column");
  c->collation = opt_str(L, A, o, "collation", "column"); /* checked by op.column */
  if ((c->ondelete || c->onupdate) && !ref)
    op_error(L, "op.column: ondelete/onupdate need references = \"table.column\"");
  if (c->primary_key) c->nullable = 0;
  lua_pop(L, 3);
}

static void parse_constraint(lua_State *L, lm_arena *A, int idx, lm_constraint *k, const char *fn) {
  idx = lua_absindex(L, idx);
  lua_getfield(L, idx, "kind");
  k->kind = (lm_con_kind)lua_tointeger(L, -1);
  lua_pop(L, 1);
  lua_getfield(L, idx, "opts");
  int o = lua_gettop(L);
  k->name = opt_str(L, A, o, "name", fn);
  k->ondelete = opt_str(L, A, o, "ondelete", fn);
  k->onupdate = opt_str(L, A, o, "onupdate", fn);
  k->not_valid = first_set(opt_bool(L, o, "not_valid", fn), 0);
  if (k->kind == LM_CON_CHECK) {
    lua_getfield(L, idx, "expr");
    k->expr = check_str(L, A, -1, fn, "check condition");
    lua_pop(L, 1);
  } else {
    lua_getfield(L, idx, "cols");
    k->cols = str_list(L, A, -1, &k->ncols, fn, "constraint columns");
    lua_pop(L, 1);
  }
  if (k->kind == LM_CON_FK) {
    lua_getfield(L, idx, "ref_cols");
    const char **refs = str_list(L, A, -1, &k->nref, fn, "referenced columns");
    lua_pop(L, 1);
    if (k->nref != k->ncols)
      op_error(L, "op.%s: foreign key has %d columns but %d referenced columns", fn, k->ncols,
               k->nref);
    k->ref_cols = lm_arena_alloc(A, sizeof *k->ref_cols * (size_t)k->nref);
    for (int i = 0; i < k->nref; i++) {
      const char *t;
      split_ref(L, A, refs[i], &t, &k->ref_cols[i], fn);
      if (k->ref_table && strcmp(k->ref_table, t) != 0)
        op_error(L, "op.%s: all referenced columns must be in one table", fn);
      k->ref_table = t;
    }
  }
  lua_pop(L, 1);
}

/* ---- sending a record to the running migration ----------------------------- */

/* batch_alter_table on SQLite: see l_batch_alter_table. */
typedef struct batch_box {
  lm_rc_batch *ops;
  char *table;
  int closed; /* the batch function has returned */
} batch_box;
static batch_box *collecting(lua_State *L);

/* Records op, then frees A's blocks now rather than at garbage collection:
 * Lua does not see the malloc'd blocks, so it would not hurry to collect
 * them and a long chain would pile up one block per op call. */
static int emit(lua_State *L, lm_arena *A, lm_op *op) {
  lm_run *run = lm_lua_need_run(L, lm_op_name(op->kind));
  lm_lua_caller_location(L, &op->file, &op->line);
  run->nops++;
  batch_box *box = collecting(L);
  if (box) {
    if (!op->table) op->table = box->table; /* batch.drop_index */
    lm_rc_batch_add(box->ops, op);
    lm_arena_free(A);
    return 0;
  }
  lm_error_clear();
  int skip = 0;
  if (lm_journal_op(run, lm_op_name(op->kind), op->table, op->name, op->sql, op->file, op->line,
                    &skip) != 0)
    return lm_lua_raise(L);
  if (!skip && (lm_sink_op(run->sink, op) != 0 || lm_journal_op_done(run) != 0))
    return lm_lua_raise(L);
  lm_arena_free(A);
  return 0;
}

/* ---- constructors ---------------------------------------------------------------- */

/* A column type is written into DDL as given ("numeric(10,2)", "text[]",
 * a quoted custom type): it may hold no statement end, no comment, and
 * only balanced quotes and parentheses, so that it can never end the
 * statement it is part of. */
static void check_type_text(lua_State *L, const char *fn, const char *type) {
  int depth = 0;
  for (const char *p = type; *p; p++) {
    if (*p == '"' || *p == '\'') {
      const char *q = strchr(p + 1, *p);
      if (!q) break;
      p = q;
      continue;
    }
    if (*p == '(') depth++;
    if (*p == ')' && --depth < 0) break;
    if (*p == ';' || (p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*') ||
        (unsigned char)*p < 0x20)
      break;
    if (!p[1] && depth == 0) return;
  }
  if (!*type) op_error(L, "op.%s: empty column type", fn);
  op_error(L,
           "op.%s: '%s' is not a column type (a type holds no ';', comment or control "
           "character, and its quotes and parentheses are balanced)",
           fn, type);
}

static int l_column(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  if (lua_type(L, 2) != LUA_TSTRING)
    return op_error(L, "op.column: type of column '%s' must be a string such as \"integer\"",
                    lua_tostring(L, 1));
  check_type_text(L, "column", lua_tostring(L, 2));
  lm_lua_check_opts(L, 3, "column", COLUMN_OPTS);
  /* a collation's name, written quoted: anything but a double quote */
  if (lua_type(L, 3) == LUA_TTABLE) {
    int t = lua_getfield(L, 3, "collation");
    const char *coll = t == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (t != LUA_TNIL && (!coll || !*coll || strchr(coll, '"')))
      op_error(L,
               "op.column: collation must be a collation's name (\"C\", \"NOCASE\", "
               "\"en_US.utf8\"), got %s%s%s",
               coll ? "'" : "", coll ? coll : luaL_typename(L, -1), coll ? "'" : "");
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "type");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "opts");
  luaL_setmetatable(L, MT_COLUMN);
  return 1;
}

static const char *const CON_OPTS[] = {"name", "ondelete", "onupdate", "not_valid", NULL};

static int make_constraint(lua_State *L, lm_con_kind kind, int opts_idx) {
  lm_lua_check_opts(L, opts_idx, "constraint", CON_OPTS);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, kind);
  lua_setfield(L, -2, "kind");
  if (kind == LM_CON_CHECK) {
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "expr");
  } else {
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "cols");
  }
  if (kind == LM_CON_FK) {
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "ref_cols");
  }
  lua_pushvalue(L, opts_idx);
  lua_setfield(L, -2, "opts");
  luaL_setmetatable(L, MT_CONSTRAINT);
  return 1;
}

static int l_primary_key(lua_State *L) { return make_constraint(L, LM_CON_PK, 2); }
static int l_unique(lua_State *L) { return make_constraint(L, LM_CON_UNIQUE, 2); }
static int l_foreign_key(lua_State *L) { return make_constraint(L, LM_CON_FK, 3); }
static int l_check(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING) return op_error(L, "op.check: condition must be a string");
  return make_constraint(L, LM_CON_CHECK, 2);
}

static int l_sql(lua_State *L) {
  if (lua_type(L, 1) != LUA_TSTRING) return op_error(L, "op.sql: expects a string of SQL");
  lua_createtable(L, 0, 1);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "text");
  luaL_setmetatable(L, MT_SQL);
  return 1;
}

static int l_f(lua_State *L) {
  luaL_checktype(L, 1, LUA_TSTRING);
  lua_settop(L, 1);
  return 1;
}

/* ---- directives --------------------------------------------------------------------- */

static int l_create_table(lua_State *L) {
  int nargs = lua_gettop(L);
  lm_arena *A = arena_push(L, nargs < 1 ? 1 : nargs);
  lm_op op = {.kind = LM_OP_CREATE_TABLE};
  op.table = check_str(L, A, 1, "create_table", "table name");
  int first = 2, last = nargs;
  int list = 0;
  if (nargs == 2 && lua_type(L, 2) == LUA_TTABLE && !lm_lua_is_marked(L, 2, MT_COLUMN) &&
      !lm_lua_is_marked(L, 2, MT_CONSTRAINT)) {
    list = 1;
    first = 1;
    last = (int)lua_rawlen(L, 2);
  }
  int n = last - first + 1;
  if (n <= 0) return op_error(L, "op.create_table: table '%s' needs at least one column", op.table);
  op.cols = lm_arena_alloc(A, sizeof *op.cols * (size_t)n);
  op.cons = lm_arena_alloc(A, sizeof *op.cons * (size_t)n);
  for (int i = first; i <= last; i++) {
    if (list)
      lua_rawgeti(L, 2, i);
    else
      lua_pushvalue(L, i);
    if (lm_lua_is_marked(L, -1, MT_COLUMN))
      parse_column(L, A, -1, &op.cols[op.ncols++], "create_table");
    else if (lm_lua_is_marked(L, -1, MT_CONSTRAINT))
      parse_constraint(L, A, -1, &op.cons[op.ncons++], "create_table");
    else
      return op_error(L, "op.create_table: item %d is not an op.column(...) or a constraint",
                      i - first + 1);
    lua_pop(L, 1);
  }
  if (op.ncols == 0)
    return op_error(L, "op.create_table: table '%s' needs at least one column", op.table);
  return emit(L, A, &op);
}

static int l_drop_table(lua_State *L) {
  lm_arena *A = arena_push(L, 1);
  lm_op op = {.kind = LM_OP_DROP_TABLE};
  op.table = check_str(L, A, 1, "drop_table", "table name");
  return emit(L, A, &op);
}

static int l_rename_table(lua_State *L) {
  lm_arena *A = arena_push(L, 2);
  lm_op op = {.kind = LM_OP_RENAME_TABLE};
  op.table = check_str(L, A, 1, "rename_table", "old table name");
  op.new_name = check_str(L, A, 2, "rename_table", "new table name");
  return emit(L, A, &op);
}

static int l_add_column(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  lm_op op = {.kind = LM_OP_ADD_COLUMN};
  op.table = check_str(L, A, 1, "add_column", "table name");
  if (!lm_lua_is_marked(L, 2, MT_COLUMN))
    return op_error(L, "op.add_column: second argument must be op.column(...)");
  op.cols = lm_arena_alloc(A, sizeof *op.cols);
  op.ncols = 1;
  parse_column(L, A, 2, &op.cols[0], "add_column");
  return emit(L, A, &op);
}

static int l_drop_column(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  lm_op op = {.kind = LM_OP_DROP_COLUMN};
  op.table = check_str(L, A, 1, "drop_column", "table name");
  op.name = check_str(L, A, 2, "drop_column", "column name");
  return emit(L, A, &op);
}

static const char *const ALTER_OPTS[] = {"new_column_name",
                                         "type",
                                         "type_",
                                         "existing_type",
                                         "nullable",
                                         "existing_nullable",
                                         "server_default",
                                         "existing_server_default",
                                         "postgresql_using",
                                         "comment",
                                         "existing_comment",
                                         "autoincrement",
                                         "existing_autoincrement",
                                         NULL};

static int l_alter_column(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  lm_op op = {.kind = LM_OP_ALTER_COLUMN};
  op.table = check_str(L, A, 1, "alter_column", "table name");
  op.name = check_str(L, A, 2, "alter_column", "column name");
  lm_lua_check_opts(L, 3, "alter_column", ALTER_OPTS);
  op.new_name = opt_str(L, A, 3, "new_column_name", "alter_column");
  op.type = opt_str(L, A, 3, "type", "alter_column");
  if (!op.type) op.type = opt_str(L, A, 3, "type_", "alter_column");
  op.existing_type = opt_str(L, A, 3, "existing_type", "alter_column");
  if (op.type) check_type_text(L, "alter_column", op.type);
  if (op.existing_type) check_type_text(L, "alter_column", op.existing_type);
  op.using_expr = opt_str(L, A, 3, "postgresql_using", "alter_column");
  op.nullable = opt_bool(L, 3, "nullable", "alter_column");
  op.existing_nullable = opt_bool(L, 3, "existing_nullable", "alter_column");
  get_opt(L, 3, "server_default");
  op.server_default = parse_default(L, A, -1, 1, "alter_column", "server_default");
  lua_pop(L, 1);
  int t = get_opt(L, 3, "comment");
  if (t == LUA_TSTRING) {
    op.has_comment = 1;
    op.comment = lm_arena_strndup(A, lua_tostring(L, -1), lua_rawlen(L, -1));
  } else if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
    op.has_comment = 1; /* comment = false removes it */
  } else if (t != LUA_TNIL) {
    return op_error(L, "op.alter_column: comment must be a string or false");
  }
  lua_pop(L, 1);
  if (op.using_expr && !op.type) return op_error(L, "op.alter_column: postgresql_using needs type");
  if (!op.new_name && !op.type && op.nullable == -1 && op.server_default.kind == LM_DEF_NONE &&
      !op.has_comment)
    return op_error(L,
                    "op.alter_column: nothing to change on column '%s' (give new_column_name, "
                    "type, nullable, server_default or comment)",
                    op.name);
  return emit(L, A, &op);
}

static const char *const INDEX_OPTS[] = {"unique",
                                         "where",
                                         "postgresql_where",
                                         "sqlite_where",
                                         "concurrently",
                                         "postgresql_concurrently",
                                         "if_not_exists",
                                         "postgresql_using",
                                         "postgresql_ops",
                                         "postgresql_include",
                                         NULL};

/* postgresql_ops (key): each column's operator class. Checked always; with
 * apply set, each plain column entry the table names becomes "column
 * opclass", an expression entry. */
static void index_ops(lua_State *L, lm_arena *A, int idx, const char *key, lm_op *op, int apply) {
  int t = get_opt(L, idx, key);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  if (t != LUA_TTABLE)
    op_error(L, "op.create_index: %s must be a table of column = operator class, got %s", key,
             lua_typename(L, t));
  int ops = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, ops)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING ||
        !lm_sql_plain_name(lua_tostring(L, -1), 1))
      op_error(L,
               "op.create_index: %s must map column names to operator class names "
               "(gin_trgm_ops, varchar_pattern_ops, ...)",
               key);
    const char *col = lua_tostring(L, -2);
    int found = 0;
    for (int i = 0; i < op->nnames && !found; i++)
      found = !(op->name_is_expr && op->name_is_expr[i]) && strcmp(op->names[i], col) == 0;
    if (!found)
      op_error(L, "op.create_index: %s names '%s', which is not one of the index's columns", key,
               col);
    lua_pop(L, 1);
  }
  if (apply) {
    unsigned char *e = lm_arena_alloc(A, (size_t)op->nnames + 1);
    for (int i = 0; i < op->nnames; i++) {
      e[i] = op->name_is_expr ? op->name_is_expr[i] : 0;
      if (e[i] || lua_getfield(L, ops, op->names[i]) != LUA_TSTRING) {
        if (!e[i]) lua_pop(L, 1);
        continue;
      }
      lm_buf b;
      lm_buf_init(&b);
      lm_buf_sql_name(&b, op->names[i]);
      lm_buf_printf(&b, " %s", lua_tostring(L, -1));
      lua_pop(L, 1);
      op->names[i] = lm_arena_strndup(A, b.s, b.len);
      lm_buf_free(&b);
      e[i] = 1;
    }
    op->name_is_expr = e;
  }
  lua_pop(L, 1);
}

/* An index access method (postgresql_using): a plain name, written into the
 * statement as it is. */
static const char *index_method(lua_State *L, lm_arena *A, int idx, const char *key,
                                const char *fn) {
  const char *m = opt_str(L, A, idx, key, fn);
  if (!m) return NULL;
  if (!lm_sql_plain_name(m, 0))
    op_error(L, "op.%s: %s must be the name of an index method (gin, gist, brin, hash), got '%s'",
             fn, key, m);
  return m;
}

/* A covering index's INCLUDE columns (postgresql_include): a name or a list
 * of names; NULL when absent. */
static const char **index_include(lua_State *L, lm_arena *A, int idx, const char *key, int *n) {
  *n = 0;
  int t = get_opt(L, idx, key);
  const char **v = NULL;
  if (t != LUA_TNIL) {
    char what[80];
    snprintf(what, sizeof what, "option %s", key);
    v = str_list(L, A, -1, n, "create_index", what);
  }
  lua_pop(L, 1);
  return v;
}

static int l_create_index(lua_State *L) {
  lm_arena *A = arena_push(L, 4);
  lm_op op = {.kind = LM_OP_CREATE_INDEX};
  op.name = check_str(L, A, 1, "create_index", "index name");
  op.table = check_str(L, A, 2, "create_index", "table name");
  op.names = index_columns(L, A, 3, &op.nnames, &op.name_is_expr);
  lm_lua_check_opts(L, 4, "create_index", INDEX_OPTS);
  op.unique = first_set(opt_bool(L, 4, "unique", "create_index"), 0);
  op.where = opt_str(L, A, 4, "where", "create_index");
  /* Alembic's <dialect>_where: only on that dialect (a full index on the
   * others); with no dialect known (lint), either */
  const char *dn = lm_lua_context_dialect(L);
  if (!op.where && dn) {
    char key[64];
    snprintf(key, sizeof key, "%s_where", dn);
    op.where = opt_str(L, A, 4, key, "create_index");
  } else if (!op.where) {
    op.where = opt_str(L, A, 4, "postgresql_where", "create_index");
    if (!op.where) op.where = opt_str(L, A, 4, "sqlite_where", "create_index");
  }
  op.concurrently =
      first_set(opt_bool(L, 4, "concurrently", "create_index"),
                first_set(opt_bool(L, 4, "postgresql_concurrently", "create_index"), 0));
  op.if_not_exists = first_set(opt_bool(L, 4, "if_not_exists", "create_index"), 0);
  /* Alembic's postgresql_using: the access method on that dialect, nothing
   * on the others (as <dialect>_where); with no dialect known (lint), kept */
  op.method = index_method(L, A, 4, "postgresql_using", "create_index"); /* checked anyway */
  if (dn) {
    char key[64];
    snprintf(key, sizeof key, "%s_using", dn);
    op.method = index_method(L, A, 4, key, "create_index");
  }
  /* Alembic's postgresql_ops = { column = "opclass" }: on that dialect each
   * named column's entry becomes "column opclass" (as op.sql would write
   * it), on the others the column alone */
  index_ops(L, A, 4, "postgresql_ops", &op, 0);
  if (dn) {
    char key[64];
    snprintf(key, sizeof key, "%s_ops", dn);
    index_ops(L, A, 4, key, &op, 1);
  } else {
    index_ops(L, A, 4, "postgresql_ops", &op, 1);
  }
  /* Alembic's postgresql_include = { "col", ... }: INCLUDE (...) on that
   * dialect, nothing on the others */
  op.include = index_include(L, A, 4, "postgresql_include", &op.ninclude);
  if (dn) {
    char key[64];
    snprintf(key, sizeof key, "%s_include", dn);
    op.include = index_include(L, A, 4, key, &op.ninclude);
  }
  return emit(L, A, &op);
}

static const char *const DROP_INDEX_OPTS[] = {"table_name", "concurrently",
                                              "postgresql_concurrently", "if_exists", NULL};

static int l_drop_index(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  lm_op op = {.kind = LM_OP_DROP_INDEX};
  op.name = check_str(L, A, 1, "drop_index", "index name");
  int o = 2;
  if (lua_type(L, 2) == LUA_TSTRING) { /* Alembic's positional table_name */
    op.table = check_str(L, A, 2, "drop_index", "table name");
    o = 3;
  }
  lm_lua_check_opts(L, o, "drop_index", DROP_INDEX_OPTS);
  if (!op.table) op.table = opt_str(L, A, o, "table_name", "drop_index");
  op.concurrently =
      first_set(opt_bool(L, o, "concurrently", "drop_index"),
                first_set(opt_bool(L, o, "postgresql_concurrently", "drop_index"), 0));
  op.if_exists = first_set(opt_bool(L, o, "if_exists", "drop_index"), 0);
  return emit(L, A, &op);
}

static int l_create_primary_key(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  lm_op op = {.kind = LM_OP_CREATE_PK};
  op.name = opt_con_name(L, A, 1, "create_primary_key");
  op.table = check_str(L, A, 2, "create_primary_key", "table name");
  op.cons = lm_arena_alloc(A, sizeof *op.cons);
  op.ncons = 1;
  op.cons[0].kind = LM_CON_PK;
  op.cons[0].name = op.name;
  op.cons[0].cols = str_list(L, A, 3, &op.cons[0].ncols, "create_primary_key", "columns");
  return emit(L, A, &op);
}

static const char *const UNIQUE_OPTS[] = {"deferrable", "initially", NULL};

static int l_create_unique_constraint(lua_State *L) {
  lm_arena *A = arena_push(L, 4);
  lm_op op = {.kind = LM_OP_CREATE_UNIQUE};
  op.name = opt_con_name(L, A, 1, "create_unique_constraint");
  op.table = check_str(L, A, 2, "create_unique_constraint", "table name");
  lm_lua_check_opts(L, 4, "create_unique_constraint", UNIQUE_OPTS);
  op.cons = lm_arena_alloc(A, sizeof *op.cons);
  op.ncons = 1;
  op.cons[0].kind = LM_CON_UNIQUE;
  op.cons[0].name = op.name;
  op.cons[0].cols = str_list(L, A, 3, &op.cons[0].ncols, "create_unique_constraint", "columns");
  return emit(L, A, &op);
}

static const char *const FK_OPTS[] = {"ondelete", "onupdate", "not_valid", "postgresql_not_valid",
                                      NULL};

static int l_create_foreign_key(lua_State *L) {
  lm_arena *A = arena_push(L, 6);
  const char *fn = "create_foreign_key";
  lm_op op = {.kind = LM_OP_CREATE_FK};
  op.name = opt_con_name(L, A, 1, fn);
  op.table = check_str(L, A, 2, fn, "source table");
  op.cons = lm_arena_alloc(A, sizeof *op.cons);
  op.ncons = 1;
  lm_constraint *k = &op.cons[0];
  k->kind = LM_CON_FK;
  k->name = op.name;
  k->ref_table = check_str(L, A, 3, fn, "referent table");
  k->cols = str_list(L, A, 4, &k->ncols, fn, "local columns");
  k->ref_cols = str_list(L, A, 5, &k->nref, fn, "remote columns");
  if (k->ncols != k->nref)
    return op_error(L, "op.%s: %d local columns but %d remote columns", fn, k->ncols, k->nref);
  lm_lua_check_opts(L, 6, fn, FK_OPTS);
  k->ondelete = opt_str(L, A, 6, "ondelete", fn);
  k->onupdate = opt_str(L, A, 6, "onupdate", fn);
  k->not_valid = first_set(opt_bool(L, 6, "not_valid", fn),
                           first_set(opt_bool(L, 6, "postgresql_not_valid", fn), 0));
  return emit(L, A, &op);
}

static const char *const CHECK_OPTS[] = {"not_valid", "postgresql_not_valid", NULL};

static int l_create_check_constraint(lua_State *L) {
  lm_arena *A = arena_push(L, 4);
  const char *fn = "create_check_constraint";
  lm_op op = {.kind = LM_OP_CREATE_CHECK};
  op.name = opt_con_name(L, A, 1, fn);
  op.table = check_str(L, A, 2, fn, "table name");
  op.cons = lm_arena_alloc(A, sizeof *op.cons);
  op.ncons = 1;
  op.cons[0].kind = LM_CON_CHECK;
  op.cons[0].name = op.name;
  if (lm_lua_is_marked(L, 3, MT_SQL))
    op.cons[0].expr = sql_text(L, A, 3);
  else
    op.cons[0].expr = check_str(L, A, 3, fn, "condition");
  lm_lua_check_opts(L, 4, fn, CHECK_OPTS);
  op.cons[0].not_valid = first_set(opt_bool(L, 4, "not_valid", fn),
                                   first_set(opt_bool(L, 4, "postgresql_not_valid", fn), 0));
  return emit(L, A, &op);
}

static const char *const DROP_CON_OPTS[] = {"type_", "type", NULL};

static int l_drop_constraint(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  const char *fn = "drop_constraint";
  lm_op op = {.kind = LM_OP_DROP_CONSTRAINT};
  op.name = check_str(L, A, 1, fn, "constraint name");
  op.table = check_str(L, A, 2, fn, "table name");
  if (lua_type(L, 3) == LUA_TSTRING) {
    /* Alembic's drop_constraint(name, table, type_) takes type_ in place too */
    op.constraint_type = check_str(L, A, 3, fn, "type_");
  } else {
    lm_lua_check_opts(L, 3, fn, DROP_CON_OPTS);
    op.constraint_type = opt_str(L, A, 3, "type_", fn);
    if (!op.constraint_type) op.constraint_type = opt_str(L, A, 3, "type", fn);
  }
  if (op.constraint_type) {
    static const char *const kinds[] = {"foreignkey", "unique", "check", "primary", NULL};
    int ok = 0;
    for (int i = 0; kinds[i]; i++)
      if (strcmp(kinds[i], op.constraint_type) == 0) ok = 1;
    if (!ok)
      return op_error(L, "op.drop_constraint: type_ must be foreignkey, unique, check or primary");
  }
  return emit(L, A, &op);
}

/* luamig runs each step in a transaction of its own and records the step in
 * it: a COMMIT or ROLLBACK from the revision would end that transaction
 * behind its back (work committed that a failure then claims rolled back, or
 * a version row without the work). */
static void refuse_transaction_control(lua_State *L, const char *sql, const char *fn) {
  const char *what;
  if (sql && lm_sql_transaction_control(sql, strlen(sql), &what))
    op_error(L,
             "op.%s: %s is a transaction-control statement, and luamig runs each step in a "
             "transaction of its own: let luamig commit and roll back; put work that must run "
             "outside the transaction in op.autocommit_block, or split it into steps",
             fn, what);
}

static int l_execute(lua_State *L) {
  lm_arena *A = arena_push(L, 2);
  lm_op op = {.kind = LM_OP_EXECUTE};
  if (lm_lua_is_marked(L, 1, MT_SQL))
    op.sql = sql_text(L, A, 1);
  else
    op.sql = check_str(L, A, 1, "execute", "SQL");
  op.params = parse_params(L, A, 2, &op.nparams, "execute");
  refuse_transaction_control(L, op.sql, "execute");
  return emit(L, A, &op);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int l_bulk_insert(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  const char *fn = "bulk_insert";
  lm_op op = {.kind = LM_OP_BULK_INSERT};
  op.table = check_str(L, A, 1, fn, "table name");
  if (lua_type(L, 2) != LUA_TTABLE)
    return op_error(L, "op.bulk_insert: rows must be a list of tables");
  int n = (int)lua_rawlen(L, 2);
  op.rows = lm_arena_alloc(A, sizeof *op.rows * (size_t)(n ? n : 1));
  op.nrows = n;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, i);
    int r = lua_gettop(L);
    if (lua_type(L, r) != LUA_TTABLE)
      return op_error(L, "op.bulk_insert: row %d must be a table keyed by column name", i);
    int nk = 0;
    lua_pushnil(L);
    while (lua_next(L, r)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING)
        return op_error(L, "op.bulk_insert: row %d has a key that is not a column name", i);
      nk++;
    }
    if (nk == 0) return op_error(L, "op.bulk_insert: row %d is empty", i);
    lm_insert_row *row = &op.rows[i - 1];
    row->keys = lm_arena_alloc(A, sizeof *row->keys * (size_t)nk);
    row->vals = lm_arena_alloc(A, sizeof *row->vals * (size_t)nk);
    row->n = nk;
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, r)) {
      lua_pop(L, 1);
      row->keys[k++] = lm_arena_strndup(A, lua_tostring(L, -1), lua_rawlen(L, -1));
    }
    qsort(row->keys, (size_t)nk, sizeof *row->keys, cmp_str);
    for (k = 0; k < nk; k++) {
      lua_getfield(L, r, row->keys[k]);
      to_value(L, A, -1, &row->vals[k], fn);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (n == 0) return 0;
  return emit(L, A, &op);
}

/* ---- batch_alter_table ---------------------------------------------------------- */

/* The batch object's methods call the op functions with the table filled
 * in. On SQLite they do not run there and then: each record is kept (a deep
 * copy, records live only as long as their call) and the whole batch becomes
 * one move-and-copy at its end (engine/recreate.c). Elsewhere, and for lint's
 * record sink, each call runs as the op call it stands for. */

static int batch_gc(lua_State *L) {
  batch_box *box = luaL_checkudata(L, 1, MT_BATCH);
  lm_rc_batch_free(box->ops);
  free(box->table);
  box->ops = NULL;
  box->table = NULL;
  return 0;
}

/* The batch that emit() keeps records in while a batch method runs. */
static batch_box *collecting(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, REG_BATCH);
  batch_box *box = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return box;
}

static int batch_forward(lua_State *L) {
  /* upvalues: op function, table name, table position (0: none, drop_index
   * takes it as an option), the batch_box or nil */
  int pos = (int)lua_tointeger(L, lua_upvalueindex(3));
  batch_box *box = lua_touserdata(L, lua_upvalueindex(4));
  if (box && box->closed)
    return op_error(L, "op.batch_alter_table: a batch object can only be used inside its function");
  int n = lua_gettop(L);
  int nargs = pos ? n + 1 : n;
  lua_pushvalue(L, lua_upvalueindex(1));
  for (int i = 1; i <= nargs; i++) {
    if (i == pos)
      lua_pushvalue(L, lua_upvalueindex(2));
    else
      lua_pushvalue(L, pos && i > pos ? i - 1 : i);
  }
  if (!box) {
    lua_call(L, nargs, 0);
    return 0;
  }
  lua_pushlightuserdata(L, box);
  lua_setfield(L, LUA_REGISTRYINDEX, REG_BATCH);
  int st = lua_pcall(L, nargs, 0, 0);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, REG_BATCH);
  if (st != LUA_OK) return lua_error(L); /* the same error value, passed on */
  return 0;
}

static int op_unknown(lua_State *L);

static const char *const BATCH_OPTS[] = {"recreate", NULL};

static int l_batch_alter_table(lua_State *L) {
  lm_arena *A = arena_push(L, 3);
  const char *fn = "batch_alter_table";
  const char *table = check_str(L, A, 1, fn, "table name");
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lm_lua_check_opts(L, 3, fn, BATCH_OPTS);
  const char *how = opt_str(L, A, 3, "recreate", fn);
  lm_recreate_mode mode = LM_RECREATE_AUTO;
  if (how && strcmp(how, "always") == 0)
    mode = LM_RECREATE_ALWAYS;
  else if (how && strcmp(how, "never") == 0)
    mode = LM_RECREATE_NEVER;
  else if (how && strcmp(how, "auto") != 0)
    return op_error(L, "op.batch_alter_table: recreate must be \"auto\", \"always\" or \"never\"");
  lm_run *run = lm_lua_need_run(L, fn);
  batch_box *box = NULL;
  if (run->sink->batch_collects) {
    box = lua_newuserdatauv(L, sizeof *box, 0);
    memset(box, 0, sizeof *box);
    luaL_setmetatable(L, MT_BATCH);
    box->ops = lm_rc_batch_new();
    box->table = lm_xstrdup(table);
  } else {
    lua_pushnil(L);
  }
  int boxidx = lua_gettop(L);
  static const struct {
    const char *name;
    int pos; /* where the table name goes among the op's arguments */
  } methods[] = {{"add_column", 1},
                 {"drop_column", 1},
                 {"alter_column", 1},
                 {"create_index", 2},
                 {"drop_index", 0},
                 {"create_unique_constraint", 2},
                 {"create_foreign_key", 2},
                 {"create_check_constraint", 2},
                 {"create_primary_key", 2},
                 {"drop_constraint", 2},
                 {NULL, 0}};
  lua_newtable(L);
  int batch = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "luamig.optable");
  int ops = lua_gettop(L);
  for (int i = 0; methods[i].name; i++) {
    lua_getfield(L, ops, methods[i].name);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, methods[i].pos);
    lua_pushvalue(L, boxidx);
    lua_pushcclosure(L, batch_forward, 4);
    lua_setfield(L, batch, methods[i].name);
  }
  lua_pop(L, 1);
  lua_newtable(L); /* batch.X that is no method: the closest one */
  lua_pushstring(L, "batch");
  lua_pushcclosure(L, op_unknown, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, batch);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, batch);
  lua_call(L, 1, 0);
  if (!box) return 0;
  box->closed = 1;
  lm_error_clear();
  int n = lm_rc_batch_count(box->ops);
  const char *src = NULL;
  int line = 0;
  lm_lua_caller_location(L, &src, &line);
  int skip = 0;
  if (lm_journal_op(run, fn, box->table, NULL, NULL, src, line, &skip) != 0) return lm_lua_raise(L);
  if (!skip && (lm_recreate_ops(run->sink, box->table, lm_rc_batch_ops(box->ops), n, mode) != 0 ||
                lm_journal_op_done(run) != 0))
    return lm_lua_raise(L);
  return 0;
}

static int l_autocommit_block(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lm_run *run = lm_lua_need_run(L, "autocommit_block");
  lm_sink *s = run->sink;
  if (s->outer_tx)
    return op_error(L, "op.autocommit_block cannot run inside one transaction for the whole run "
                       "(--dry-run or transaction_per_migration = false)");
  lm_error_clear();
  const char *src = NULL;
  int line = 0;
  lm_lua_caller_location(L, &src, &line);
  s->autocommit_begin(s, src, line);
  if (lm_journal_block_begin(run) != 0) return lm_lua_raise(L);
  lua_pushvalue(L, 1);
  lua_call(L, 0, 0);
  s->autocommit_end(s);
  if (lm_journal_block_end(run) != 0) return lm_lua_raise(L);
  return 0;
}

/* ---- reading data ------------------------------------------------------------------ */

/* LM_EOFFLINE, so that the replay of --sql FROM:TO knows a read of data
 * from any other failure. */
static int offline_error(lua_State *L, const char *fn) {
  lm_error_set(LM_EOFFLINE, "op.%s needs a live database; it is not available with --sql", fn);
  return lm_lua_raise(L);
}

static lm_sink *need_live(lua_State *L, const char *fn) {
  lm_run *run = lm_lua_need_run(L, fn);
  if (!run->sink->query || run->sink->refuse_reads) offline_error(L, fn);
  return run->sink;
}

/* op.has_* asks only the schema, which a sink without data may know. */
static lm_sink *need_schema(lua_State *L, const char *fn) {
  lm_run *run = lm_lua_need_run(L, fn);
  if (!run->sink->inspect) offline_error(L, fn);
  return run->sink;
}

typedef struct collect {
  lua_State *L;
  int list; /* stack index of the result list */
  int n;
  int max;
} collect;

static int collect_row(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  collect *c = ud;
  lua_State *L = c->L;
  lua_checkstack(L, 4);
  lua_createtable(L, 0, ncols);
  for (int i = 0; i < ncols; i++) {
    lm_lua_push_value(L, &vals[i]);
    lua_setfield(L, -2, names[i]);
  }
  lua_rawseti(L, c->list, ++c->n);
  return c->max > 0 && c->n >= c->max;
}

static int collect_first(void *ud, int ncols, const char *const *names, const lm_value *vals) {
  LM_UNUSED(names);
  collect *c = ud;
  if (ncols > 0) lm_lua_push_value(c->L, &vals[0]);
  c->n = 1;
  return 1;
}

static int run_query(lua_State *L, const char *fn, lm_row_fn rowfn, collect *c, const char *sql,
                     lm_value *params, int nparams) {
  lm_sink *s = need_live(L, fn);
  lm_stmt st = {(char *)sql, params, nparams};
  lm_error_clear();
  if (s->query(s, &st, rowfn, c) != 0) return lm_lua_raise(L);
  return 0;
}

static int l_query(lua_State *L) {
  lm_arena *A = arena_push(L, 2);
  need_live(L, "query");
  const char *sql = check_str(L, A, 1, "query", "SQL");
  refuse_transaction_control(L, sql, "query");
  int np;
  lm_value *p = parse_params(L, A, 2, &np, "query");
  lua_newtable(L);
  collect c = {L, lua_gettop(L), 0, 0};
  run_query(L, "query", collect_row, &c, sql, p, np);
  return 1;
}

/* op.rows: a sink's cursor owned by a userdata, read one row per call of
 * the iterator. `for row in op.rows(...)` closes it when the loop ends, by
 * break or error too (the userdata is the loop's to-be-closed value); an
 * iterator dropped half-way is closed when it is collected. Other op calls
 * may run between two rows (PostgreSQL reads a server-side cursor, see
 * postgres.c). PostgreSQL's cursor reads a snapshot; SQLite's statement may
 * also visit rows the loop itself inserts into the table it reads. */
typedef struct rows_iter {
  lm_sink_cursor cur; /* no rows when exhausted, closed or never opened */
} rows_iter;

static void rows_close(rows_iter *it) { lm_sink_cursor_close(&it->cur); }

static int rows_gc(lua_State *L) {
  rows_close(luaL_checkudata(L, 1, MT_ROWS));
  return 0;
}

static int rows_next(lua_State *L) {
  rows_iter *it = lua_touserdata(L, lua_upvalueindex(1));
  int ncols = 0;
  const char *const *names = NULL;
  const lm_value *vals = NULL;
  lm_error_clear();
  int rc = lm_sink_cursor_next(&it->cur, &ncols, &names, &vals);
  if (rc <= 0) {
    rows_close(it);
    if (rc < 0) return lm_lua_raise(L);
    return 0;
  }
  lua_createtable(L, 0, ncols);
  for (int i = 0; i < ncols; i++) {
    lm_lua_push_value(L, &vals[i]);
    lua_setfield(L, -2, names[i]);
  }
  return 1;
}

static int l_rows(lua_State *L) {
  lm_arena *A = arena_push(L, 2);
  lm_sink *s = need_live(L, "rows");
  const char *sql = check_str(L, A, 1, "rows", "SQL");
  refuse_transaction_control(L, sql, "rows");
  int np;
  lm_value *p = parse_params(L, A, 2, &np, "rows");
  rows_iter *it = lua_newuserdatauv(L, sizeof *it, 0);
  memset(it, 0, sizeof *it);
  luaL_setmetatable(L, MT_ROWS);
  /* the record sink (lint, plans) yields no rows, as its query */
  lm_stmt st = {(char *)sql, p, np};
  lm_error_clear();
  if (s->cursor_open(s, &st, &it->cur) != 0) return lm_lua_raise(L);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, rows_next, 1);
  lua_pushnil(L);
  lua_pushnil(L);
  lua_pushvalue(L, -4); /* closing value of the generic for */
  return 4;
}

static int l_scalar(lua_State *L) {
  lm_arena *A = arena_push(L, 2);
  need_live(L, "scalar");
  const char *sql = check_str(L, A, 1, "scalar", "SQL");
  refuse_transaction_control(L, sql, "scalar");
  int np;
  lm_value *p = parse_params(L, A, 2, &np, "scalar");
  int top = lua_gettop(L);
  collect c = {L, 0, 0, 1};
  run_query(L, "scalar", collect_first, &c, sql, p, np);
  if (lua_gettop(L) == top) lua_pushnil(L);
  return 1;
}

int lm_lua_is_column(lua_State *L, int idx) { return lm_lua_is_marked(L, idx, MT_COLUMN); }
int lm_lua_is_constraint(lua_State *L, int idx) { return lm_lua_is_marked(L, idx, MT_CONSTRAINT); }

/* The model (bindings/model.c) declares tables with the arguments of
 * create_table: the same parsing gives the same records. */
void lm_lua_parse_table_items(lua_State *L, int list_idx, const char *fn, lm_op *op) {
  list_idx = lua_absindex(L, list_idx);
  int n = (int)lua_rawlen(L, list_idx);
  lm_arena *A = arena_new(L);
  op->cols = lm_arena_alloc(A, sizeof *op->cols * (size_t)(n ? n : 1));
  op->cons = lm_arena_alloc(A, sizeof *op->cons * (size_t)(n ? n : 1));
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, list_idx, i);
    if (lm_lua_is_marked(L, -1, MT_COLUMN))
      parse_column(L, A, -1, &op->cols[op->ncols++], fn);
    else if (lm_lua_is_marked(L, -1, MT_CONSTRAINT))
      parse_constraint(L, A, -1, &op->cons[op->ncons++], fn);
    lua_pop(L, 1);
  }
}

static int introspect(lua_State *L, const char *fn, lm_introspect kind, int nargs) {
  lm_arena *A = arena_push(L, nargs);
  lm_sink *s = need_schema(L, fn);
  const char *a = check_str(L, A, 1, fn, nargs == 2 ? "table name" : "name");
  const char *b = nargs == 2 ? check_str(L, A, 2, fn, "column name") : NULL;
  lm_stmts l = {0};
  lm_introspect_render(s->d, kind, a, b, &l);
  int top = lua_gettop(L);
  collect c = {L, 0, 0, 1};
  lm_error_clear();
  int rc = s->inspect(s, &l.v[0], collect_first, &c);
  lm_stmts_free(&l);
  if (rc != 0) return lm_lua_raise(L);
  lua_settop(L, top);
  lua_pushboolean(L, c.n > 0);
  return 1;
}

static int l_has_table(lua_State *L) { return introspect(L, "has_table", LM_HAS_TABLE, 1); }
static int l_has_column(lua_State *L) { return introspect(L, "has_column", LM_HAS_COLUMN, 2); }
static int l_has_index(lua_State *L) { return introspect(L, "has_index", LM_HAS_INDEX, 1); }

static const luaL_Reg OPS[] = {{"column", l_column},
                               {"primary_key", l_primary_key},
                               {"unique", l_unique},
                               {"foreign_key", l_foreign_key},
                               {"check", l_check},
                               {"sql", l_sql},
                               {"f", l_f},
                               {"create_table", l_create_table},
                               {"drop_table", l_drop_table},
                               {"rename_table", l_rename_table},
                               {"add_column", l_add_column},
                               {"drop_column", l_drop_column},
                               {"alter_column", l_alter_column},
                               {"create_index", l_create_index},
                               {"drop_index", l_drop_index},
                               {"create_primary_key", l_create_primary_key},
                               {"create_unique_constraint", l_create_unique_constraint},
                               {"create_foreign_key", l_create_foreign_key},
                               {"create_check_constraint", l_create_check_constraint},
                               {"drop_constraint", l_drop_constraint},
                               {"execute", l_execute},
                               {"bulk_insert", l_bulk_insert},
                               {"batch_alter_table", l_batch_alter_table},
                               {"autocommit_block", l_autocommit_block},
                               {"query", l_query},
                               {"rows", l_rows},
                               {"scalar", l_scalar},
                               {"has_table", l_has_table},
                               {"has_column", l_has_column},
                               {"has_index", l_has_index},
                               {NULL, NULL}};

/* __index of the op table: a name that is no directive is a mistake in the
 * revision, not a nil to call ("attempt to call a nil value"). The error
 * names the caller's file and line and the closest directive. */
static int op_unknown(lua_State *L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  const char *name = lua_tostring(L, 2);
  const char *what =
      lua_isstring(L, lua_upvalueindex(1)) ? lua_tostring(L, lua_upvalueindex(1)) : "op";
  const char *names[128];
  int n = 0;
  lua_pushnil(L);
  while (n < 128 && lua_next(L, 1)) {
    if (lua_type(L, -2) == LUA_TSTRING) names[n++] = lua_tostring(L, -2);
    lua_pop(L, 1);
  }
  const char *near = lm_closest(name, names, n);
  luaL_where(L, 1); /* the revision's line that indexed op */
  if (near)
    lua_pushfstring(L, "%sno %s.%s; did you mean %s.%s?", lua_tostring(L, -1), what, name, what,
                    near);
  else
    lua_pushfstring(L, "%sno %s.%s: see the op API (SPEC section 4) for the directives",
                    lua_tostring(L, -1), what, name);
  return lua_error(L);
}

/* The fields the bindings read back from their own tables (op.column's,
 * op.sql's, a constraint's). */
static const char *const FIELDS[] = {"name", "type", "opts",     "kind", "text",
                                     "expr", "cols", "ref_cols", NULL};

/* Every option and field name the bindings look up, held by the registry for
 * the state's life. lua_getfield interns its key, and a name no live table
 * holds (an option the revision did not set: most of them, at each call)
 * was created, then collected, again at lookups: 1.3 M of the 104 M
 * instructions of an upgrade --sql over a thousand revisions. */
static void keep_names(lua_State *L) {
  static const char *const *const lists[] = {COLUMN_OPTS,     CON_OPTS,    ALTER_OPTS, INDEX_OPTS,
                                             DROP_INDEX_OPTS, UNIQUE_OPTS, FK_OPTS,    CHECK_OPTS,
                                             DROP_CON_OPTS,   BATCH_OPTS,  FIELDS};
  lua_createtable(L, 96, 0);
  int n = 0;
  for (size_t l = 0; l < sizeof lists / sizeof *lists; l++)
    for (int i = 0; lists[l][i]; i++) {
      lua_pushstring(L, lists[l][i]);
      lua_rawseti(L, -2, ++n);
    }
  lua_setfield(L, LUA_REGISTRYINDEX, "luamig.names");
}

void lm_lua_open_op(lua_State *L) {
  keep_names(L);
  luaL_newmetatable(L, MT_ARENA);
  lua_pushcfunction(L, arena_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_COLUMN);
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_CONSTRAINT);
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_SQL);
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_BATCH);
  lua_pushcfunction(L, batch_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  luaL_newmetatable(L, MT_ROWS);
  lua_pushcfunction(L, rows_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, rows_gc);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  luaL_newlib(L, OPS);
  lua_pushlightuserdata(L, (void *)&OP_NULL);
  lua_setfield(L, -2, "null");
  lua_newtable(L);
  lua_pushcfunction(L, op_unknown);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "luamig.optable");
}
