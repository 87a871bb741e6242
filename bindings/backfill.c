/* op.backfill(table, spec [, fn]): the Lua arguments become an lm_backfill
 * for the engine (engine/backfill.c), and the function form's Lua function is
 * called on each row of a batch inside one protected call per batch, so that
 * nothing the engine holds is skipped by a Lua error. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "backfill.h"
#include "lbind.h"

#define MAX_BATCH_SIZE 1000000

/* Raises "op.backfill: …" located at the revision line of the call. */
static int bf_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const char *msg = lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lm_error_set(LM_EMIGRATE, "op.backfill: %s", msg);
  return lm_lua_raise(L);
}

static const char *const SPEC_KEYS[] = {"set", "columns", "where", "batch_size", NULL};

/* A set value: op.sql(...) raw, a string as a quoted literal, a number or a
 * boolean as that literal. idx is a copy on the stack, where its text stays. */
static lm_default set_value(lua_State *L, int idx, const char *col) {
  lm_default d = {LM_DEF_NONE, NULL, 0};
  const char *sql = lm_lua_sql_text(L, idx);
  switch (lua_type(L, idx)) {
  case LUA_TSTRING:
    d.kind = LM_DEF_LITERAL;
    d.text = lua_tostring(L, idx);
    break;
  case LUA_TNUMBER: {
    char num[64];
    lua_pushstring(L, lm_lua_number_text(L, idx, num, sizeof num));
    lua_replace(L, idx); /* the copy becomes its text; the set table keeps its number */
    d.kind = LM_DEF_NUMBER;
    d.text = lua_tostring(L, idx);
    break;
  }
  case LUA_TBOOLEAN:
    d.kind = LM_DEF_BOOL;
    d.b = lua_toboolean(L, idx);
    break;
  default:
    if (sql) {
      d.kind = LM_DEF_SQL;
      d.text = sql;
      break;
    }
    bf_error(L, "set.%s must be op.sql(...), a string, a number or a boolean, not a %s", col,
             luaL_typename(L, idx));
  }
  return d;
}

typedef struct set_slot {
  const char *name;
  int value; /* stack index */
} set_slot;

static int cmp_slots(const void *a, const void *b) {
  return strcmp(((const set_slot *)a)->name, ((const set_slot *)b)->name);
}

/* ---- the function form: one protected call per batch ----------------------------------- */

/* The returned table's values, as the new values of the row. Stack top: the
 * table. */
static int take_result(lua_State *L, lm_backfill_row *b) {
  int t = lua_type(L, -1);
  if (t == LUA_TNIL || (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))) return 0;
  if (t != LUA_TTABLE)
    return bf_error(L,
                    "the function must return a table of new values, or nil to skip the row, "
                    "not a %s",
                    lua_typename(L, t));
  int res = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, res)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      return bf_error(L, "the function returned a table with a %s key; keys must be column names",
                      luaL_typename(L, -2));
    const char *col = lua_tostring(L, -2);
    lm_value v = {0};
    switch (lua_type(L, -1)) {
    case LUA_TBOOLEAN:
      v.t = LM_V_BOOL;
      v.i = lua_toboolean(L, -1);
      break;
    case LUA_TNUMBER:
      if (lua_isinteger(L, -1)) {
        v.t = LM_V_INT;
        v.i = (long long)lua_tointeger(L, -1);
      } else {
        v.t = LM_V_FLOAT;
        v.f = lua_tonumber(L, -1);
      }
      break;
    case LUA_TSTRING: {
      size_t n;
      v.t = LM_V_TEXT;
      v.s = (char *)lua_tolstring(L, -1, &n);
      v.len = n;
      break;
    }
    default:
      return bf_error(L,
                      "the function returned a %s for column \"%s\"; values must be booleans, "
                      "numbers or strings",
                      luaL_typename(L, -1), col);
    }
    lm_error_clear();
    if (lm_backfill_row_set(b, col, &v) != 0) return lm_lua_raise(L);
    lua_pop(L, 1);
  }
  return 0;
}

/* Stack: 1 the user's function, 2 the batch. Calls the function on each row
 * of the batch in turn. */
static int call_batch(lua_State *L) {
  lm_backfill_row *b = lua_touserdata(L, 2);
  int ncols, r;
  const char *const *names;
  const lm_value *vals;
  lua_settop(L, 2);
  while ((r = lm_backfill_next(b, &ncols, &names, &vals)) > 0) {
    lua_pushvalue(L, 1);
    lua_createtable(L, 0, ncols);
    for (int i = 0; i < ncols; i++) {
      lm_lua_push_value(L, &vals[i]);
      lua_setfield(L, -2, names[i]);
    }
    lua_call(L, 1, 1);
    take_result(L, b);
    lua_settop(L, 2);
  }
  if (r < 0) return lm_lua_raise(L);
  return 0;
}

typedef struct fn_ctx {
  lua_State *L;
  int fn; /* stack index of the function in l_backfill's frame */
} fn_ctx;

static int batch_fn(void *ud, lm_backfill_row *b) {
  fn_ctx *c = ud;
  lua_State *L = c->L;
  int top = lua_gettop(L);
  lua_pushcfunction(L, lm_lua_msgh);
  lua_pushcfunction(L, call_batch);
  lua_pushvalue(L, c->fn);
  lua_pushlightuserdata(L, b);
  lm_error_clear();
  int st = lua_pcall(L, 2, 0, top + 1);
  int code = 0;
  if (st != LUA_OK) {
    if (lua_islightuserdata(L, -1) && lua_touserdata(L, -1) == &lm_lua_error_sentinel) {
      code = lm_error_code() ? lm_error_code() : LM_EMIGRATE;
    } else {
      lm_lua_error_from_message(LM_EMIGRATE, lua_tostring(L, -1));
      code = LM_EMIGRATE;
    }
  }
  lua_settop(L, top);
  return code;
}

/* ---- op.backfill ------------------------------------------------------------------------ */

static int l_backfill(lua_State *L) {
  lua_settop(L, 3);
  lm_run *run = lm_lua_need_run(L, "backfill");
  if (lua_type(L, 1) != LUA_TSTRING || lua_rawlen(L, 1) == 0)
    return bf_error(L, "table name must be a non-empty string, got %s", luaL_typename(L, 1));
  if (lua_type(L, 2) != LUA_TTABLE)
    return bf_error(L, "spec must be a table such as { set = {...}, where = \"...\" }, got %s",
                    luaL_typename(L, 2));
  if (!lua_isnil(L, 3) && lua_type(L, 3) != LUA_TFUNCTION)
    return bf_error(L, "the third argument must be a function(row), got %s", luaL_typename(L, 3));
  lm_lua_check_opts(L, 2, "backfill", SPEC_KEYS);
  lm_backfill bf = {0};
  bf.table = lua_tostring(L, 1);

  /* where: 4 */
  lua_getfield(L, 2, "where");
  if (lm_lua_sql_text(L, 4)) {
    bf.where = lm_lua_sql_text(L, 4);
  } else if (lua_type(L, 4) == LUA_TSTRING) {
    bf.where = lua_tostring(L, 4);
  } else if (!lua_isnil(L, 4)) {
    return bf_error(L, "where must be a string of SQL, got %s", luaL_typename(L, 4));
  }
  if (bf.where && !*bf.where) bf.where = NULL;

  /* batch_size: 5 */
  lua_getfield(L, 2, "batch_size");
  if (!lua_isnil(L, 5)) {
    if (!lua_isinteger(L, 5) || lua_tointeger(L, 5) < 1 || lua_tointeger(L, 5) > MAX_BATCH_SIZE)
      return bf_error(L, "batch_size must be an integer from 1 to %d", MAX_BATCH_SIZE);
    bf.batch_size = (int)lua_tointeger(L, 5);
  }

  /* set: 6 */
  lua_getfield(L, 2, "set");
  /* columns: 7 */
  lua_getfield(L, 2, "columns");
  int has_fn = !lua_isnil(L, 3);
  if (!lua_isnil(L, 6) && has_fn)
    return bf_error(L, "give either spec.set or a function, not both");
  if (lua_isnil(L, 6) && !has_fn)
    return bf_error(L, "needs spec.set = { column = value, ... } or a function(row) returning the "
                       "new values");
  if (!lua_isnil(L, 7) && !has_fn)
    return bf_error(L, "spec.columns lists what the function reads; with spec.set, use SQL");

  if (!has_fn) {
    if (lua_type(L, 6) != LUA_TTABLE)
      return bf_error(L, "spec.set must be a table of column = value, got %s", luaL_typename(L, 6));
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, 6)) {
      lua_pop(L, 1);
      if (lua_type(L, -1) != LUA_TSTRING) return bf_error(L, "spec.set keys must be column names");
      n++;
    }
    if (n == 0) return bf_error(L, "spec.set sets no column");
    luaL_checkstack(L, 2 * n + 8, "op.backfill: too many columns");
    /* keys and values go on the stack, where they stay alive */
    int base = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, 6))
      lua_pushvalue(L, -2); /* keeps key and value, and the key for lua_next */
    /* stack after base: k1 v1 k2 v2 …; sorted by name, so that --sql output
     * does not depend on Lua's table order */
    set_slot *slots = lua_newuserdatauv(L, sizeof *slots * (size_t)n, 0);
    for (int i = 0; i < n; i++) {
      slots[i].name = lua_tostring(L, base + 1 + 2 * i);
      slots[i].value = base + 2 + 2 * i;
    }
    qsort(slots, (size_t)n, sizeof *slots, cmp_slots);
    const char **scols = lua_newuserdatauv(L, sizeof *scols * (size_t)n, 0);
    lm_default *vals = lua_newuserdatauv(L, sizeof *vals * (size_t)n, 0);
    for (int i = 0; i < n; i++) {
      scols[i] = slots[i].name;
      vals[i] = set_value(L, slots[i].value, scols[i]);
    }
    bf.set_cols = scols;
    bf.set_vals = vals;
    bf.nset = n;
  } else {
    if (lua_type(L, 7) == LUA_TSTRING) {
      lua_createtable(L, 1, 0);
      lua_pushvalue(L, 7);
      lua_rawseti(L, -2, 1);
      lua_replace(L, 7);
    } else if (!lua_isnil(L, 7) && lua_type(L, 7) != LUA_TTABLE) {
      return bf_error(L, "spec.columns must be a column name or a list of them, got %s",
                      luaL_typename(L, 7));
    }
    int n = lua_isnil(L, 7) ? 0 : (int)lua_rawlen(L, 7);
    luaL_checkstack(L, n + 8, "op.backfill: too many columns");
    const char **cols = lua_newuserdatauv(L, sizeof *cols * (size_t)(n ? n : 1), 0);
    for (int i = 1; i <= n; i++) {
      if (lua_rawgeti(L, 7, i) != LUA_TSTRING || lua_rawlen(L, -1) == 0)
        return bf_error(L, "spec.columns[%d] must be a column name", i);
      cols[i - 1] = lua_tostring(L, -1); /* stays on the stack */
    }
    bf.columns = cols;
    bf.ncolumns = n;
  }

  fn_ctx ctx = {L, 3};
  if (has_fn) {
    bf.fn = batch_fn;
    bf.ud = &ctx;
  }
  lua_Debug ar;
  const char *file = NULL;
  int line = 0;
  if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
    file = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
    line = ar.currentline;
  }
  lm_error_clear();
  int skip = 0;
  if (lm_journal_op(run, "backfill", bf.table, NULL, bf.where, file, line, &skip) != 0)
    return lm_lua_raise(L);
  if (!skip && (lm_backfill_run(run, &bf, file, line) != 0 || lm_journal_op_done(run) != 0))
    return lm_lua_raise(L);
  return 0;
}

void lm_lua_open_backfill(lua_State *L) {
  lua_pushcfunction(L, l_backfill);
  lua_setfield(L, -2, "backfill");
}
