/* Helpers every Lua library of luamig shares: errors located at the
 * revision's own line, the running migration, options checking, values.
 * They depend on nothing of the libraries (op.c, backfill.c, sandbox.c),
 * which all use them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lbind.h"

int lm_lua_error_sentinel;

/* ---- errors with the revision's own file and line ------------------------- */

/* The first Lua frame above us: the revision line that made the call, even
 * when it went through a C closure such as a batch method. */
int lm_lua_caller_location(lua_State *L, const char **src, int *line) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++) {
    if (!lua_getinfo(L, "Sl", &ar)) break;
    if (ar.currentline > 0) {
      *src = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
      *line = ar.currentline;
      return 1;
    }
  }
  return 0;
}

void lm_lua_push_located(lua_State *L, const char *fmt, va_list ap) {
  const char *src;
  int line;
  if (lm_lua_caller_location(L, &src, &line))
    lua_pushfstring(L, "%s:%d: ", src, line);
  else
    lua_pushliteral(L, "");
  lua_pushvfstring(L, fmt, ap);
  lua_concat(L, 2);
}

static void push_located(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lm_lua_push_located(L, fmt, ap);
  va_end(ap);
}

/* Raises fmt located at the caller's line. */
static int located_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lm_lua_push_located(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

int lm_lua_raise(lua_State *L) {
  const char *src;
  int line;
  if (lm_lua_caller_location(L, &src, &line) && !lm_error_last()->file)
    lm_error_set_location(src, line);
  lua_pushlightuserdata(L, &lm_lua_error_sentinel);
  return lua_error(L);
}

/* Message handler: keeps Lua's "file:line: message" and leaves our own
 * structured-error sentinel untouched. */
int lm_lua_msgh(lua_State *L) {
  if (lua_islightuserdata(L, 1)) return 1;
  if (!lua_isstring(L, 1)) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  return 1;
}

/* Splits "path:line: message" produced by Lua into location fields.
 * Returns 1 when the message carried a location. */
int lm_lua_error_from_message(int code, const char *msg) {
  lm_error_set(code, "%s", msg ? msg : "unknown Lua error");
  if (!msg) return 0;
  const char *c = strchr(msg, ':');
  while (c) {
    char *end;
    long line = strtol(c + 1, &end, 10);
    if (end != c + 1 && *end == ':' && line > 0) {
      char *file = lm_xstrndup(msg, (size_t)(c - msg));
      lm_error_set_location(file, (int)line);
      free(file);
      return 1;
    }
    c = strchr(c + 1, ':');
  }
  return 0;
}

/* A Lua error about a file: when Lua gave no position (an error object that
 * is not a string, a binary chunk refused), the file is named all the same. */
int lm_lua_error_in_file(int code, const char *path, const char *msg) {
  if (lm_lua_error_from_message(code, msg)) return code;
  lm_error_set(code, "%s: %s", path, msg ? msg : "unknown Lua error");
  lm_error_set_location(path, 0);
  return code;
}

/* ---- the running migration ----------------------------------------------- */

static lm_run *current_run(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_RUN);
  lm_run *r = lua_touserdata(L, -1);
  lua_pop(L, 1);
  return r;
}

/* Whether the code calling the C function at level 0 runs inside a __gc
 * finalizer (Lua names such a frame's function "__gc", a metamethod). */
static int in_finalizer(lua_State *L) {
  lua_Debug ar;
  for (int level = 1; lua_getstack(L, level, &ar); level++)
    if (lua_getinfo(L, "n", &ar) && ar.namewhat && strcmp(ar.namewhat, "metamethod") == 0 &&
        ar.name && strcmp(ar.name, "__gc") == 0)
      return 1;
  return 0;
}

int lm_lua_take_gc_refused(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "luamig.gcrefused") == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "luamig.gcrefused");
  return 1;
}

lm_run *lm_lua_need_run(lua_State *L, const char *fn) {
  /* a finalizer runs whenever the collector gets to it: inside another
   * revision's call, its transaction, or none */
  if (in_finalizer(L)) {
    push_located(L,
                 "op.%s was called from a __gc finalizer: refused (op calls belong in the "
                 "revision's own upgrade(), downgrade() or step function)",
                 fn);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, "luamig.gcrefused");
    return lua_error(L), NULL;
  }
  lm_run *r = current_run(L);
  if (!r)
    located_error(
        L,
        "op.%s can only be called while a migration runs (inside upgrade(), downgrade() or "
        "a step function), not when the file is loaded",
        fn);
  return r;
}

/* ---- arguments and values ------------------------------------------------- */

int lm_lua_is_marked(lua_State *L, int idx, const char *mt) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, mt);
  int eq = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return eq;
}

const char *lm_lua_number_text(lua_State *L, int idx, char *buf, size_t n) {
  if (lua_isinteger(L, idx)) {
    snprintf(buf, n, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
    return buf;
  }
  lua_Number v = lua_tonumber(L, idx);
  for (int digits = 14; digits <= 17; digits++) {
    snprintf(buf, n, "%.*g", digits, (double)v);
    if (v != v || strtod(buf, NULL) == v) break;
  }
  /* as Lua writes a float: 3.0, not 3 */
  if (buf[strspn(buf, "-0123456789")] == '\0') {
    size_t len = strlen(buf);
    if (len + 3 <= n) memcpy(buf + len, ".0", 3);
  }
  return buf;
}

const char *lm_lua_sql_text(lua_State *L, int idx) {
  if (!lm_lua_is_marked(L, idx, LM_MT_SQL)) return NULL;
  lua_getfield(L, idx, "text");
  const char *s = lua_tostring(L, -1); /* still referenced by the op.sql table */
  lua_pop(L, 1);
  return s;
}

/* Rejects option names the directive does not know: a misspelt option that
 * were silently ignored would change a migration's meaning. */
void lm_lua_check_opts(lua_State *L, int idx, const char *fn, const char *const *allowed) {
  if (lua_isnoneornil(L, idx)) return;
  if (lua_type(L, idx) != LUA_TTABLE)
    located_error(L, "op.%s: options must be a table, got %s", fn, luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING) located_error(L, "op.%s: option names must be strings", fn);
    const char *k = lua_tostring(L, -1);
    int ok = 0;
    for (int i = 0; allowed[i]; i++)
      if (strcmp(allowed[i], k) == 0) ok = 1;
    if (!ok) {
      if (strcmp(k, "default") == 0)
        located_error(
            L, "op.%s: unknown option 'default' (a client-side default; use server_default)", fn);
      lua_pushstring(L, allowed[0] ? allowed[0] : "");
      for (int i = 1; allowed[i]; i++)
        lua_pushfstring(L, "%s, %s", lua_tostring(L, -1), allowed[i]), lua_remove(L, -2);
      located_error(L, "op.%s: unknown option '%s' (known: %s)", fn, k, lua_tostring(L, -1));
    }
  }
}

void lm_lua_push_value(lua_State *L, const lm_value *v) {
  switch (v->t) {
  case LM_V_NULL: lua_pushnil(L); break;
  case LM_V_INT: lua_pushinteger(L, (lua_Integer)v->i); break;
  case LM_V_FLOAT: lua_pushnumber(L, v->f); break;
  case LM_V_BOOL: lua_pushboolean(L, (int)v->i); break;
  case LM_V_TEXT: lua_pushlstring(L, v->s, v->len); break;
  }
}

/* The dialect lm_lua_set_context (sandbox.c) gave the run. */
const char *lm_lua_context_dialect(lua_State *L) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_CTX_BASE);
  const char *d = NULL;
  if (lua_type(L, -1) == LUA_TTABLE && lua_getfield(L, -1, "dialect") == LUA_TSTRING) {
    d = lua_tostring(L, -1); /* the string is kept by the context table */
    lua_pop(L, 1);
  } else if (lua_type(L, -1) == LUA_TTABLE) {
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return d;
}
