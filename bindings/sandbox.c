/* The sandboxed Lua state: one state for the whole project, a shared
 * read-only table of safe globals, and an environment table per file whose
 * __index is that safe table. Revisions see `op`, `context`, the safe standard
 * library and a `require` limited to the project's folders; nothing that runs
 * programs, touches arbitrary files or loads binary chunks. */
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lbind.h"

static const char *const SAFE_BASE[] = {
    "assert",   "error",        "ipairs",       "next",     "pairs",    "pcall",  "select",
    "tonumber", "tostring",     "type",         "xpcall",   "rawequal", "rawget", "rawset",
    "rawlen",   "setmetatable", "getmetatable", "_VERSION", NULL};
static const char *const SAFE_LIBS[] = {"string", "table", "math", "utf8", "coroutine", NULL};
static const char *const SAFE_OS[] = {"time", "date", "clock", "getenv", "difftime", NULL};

/* rawset() would get past a read-only proxy's __newindex. */
static int safe_rawset(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) {
    lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_PROXIES);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      if (lua_rawequal(L, -1, -4)) return luaL_error(L, "'%s' is read-only", lua_tostring(L, -2));
      lua_pop(L, 1);
    }
    lua_pop(L, 2);
  }
  luaL_checkany(L, 2);
  luaL_checkany(L, 3);
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 1;
}

/* print goes to stderr: stdout carries the SQL script under --sql. */
static int safe_print(lua_State *L) {
  int n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_tolstring(L, i, &len);
    if (i > 1) fputc('\t', stderr);
    fwrite(s, 1, len, stderr);
    lua_pop(L, 1);
  }
  fputc('\n', stderr);
  return 0;
}

/* Pushes a fresh environment whose unknown names resolve to the safe globals,
 * among them the read-only proxies of op and the libraries, one of each for
 * the whole state (see push_readonly_proxy). */
void lm_lua_push_env(lua_State *L) {
  /* sized for a revision's usual globals: no rehash */
  lua_createtable(L, 0, 8);
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_ENVMT);
  lua_setmetatable(L, -2);
}

/* load() that only accepts text and defaults to a sandboxed environment. */
static int safe_load(lua_State *L) {
  size_t len;
  const char *chunkname = luaL_optstring(L, 2, "=(load)");
  int has_env = !lua_isnone(L, 4);
  int status;
  if (lua_type(L, 1) == LUA_TSTRING) {
    const char *s = lua_tolstring(L, 1, &len);
    status = luaL_loadbufferx(L, s, len, chunkname, "t");
  } else {
    return luaL_error(L, "load: only strings can be loaded in a revision");
  }
  if (status != LUA_OK) {
    luaL_pushfail(L);
    lua_insert(L, -2);
    return 2;
  }
  if (has_env)
    lua_pushvalue(L, 4);
  else
    lm_lua_push_env(L);
  if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  return 1;
}

/* require(name) searches only the project's folders (registry LM_REG_PATH) for
 * name.lua, with dots as folder separators, and loads it as text. */
static int safe_require(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  /* a revision whose top level requires a module is never put in the
   * revision index: its fields may come from the module */
  lua_pushboolean(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_REQUIRED);
  for (const char *p = name; *p; p++)
    if (!(*p == '.' || *p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
          (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
      return luaL_error(L, "require: invalid module name '%s'", name);
  if (name[0] == '.' || strstr(name, ".."))
    return luaL_error(L, "require: invalid module name '%s'", name);
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_LOADED);
  lua_getfield(L, -1, name);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  luaL_Buffer tried;
  luaL_buffinit(L, &tried);
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_PATH);
  int npath = (int)lua_rawlen(L, -1);
  for (int i = 1; i <= npath; i++) {
    lua_rawgeti(L, -1, i);
    const char *dir = lua_tostring(L, -1);
    char *rel = lm_xstrdup(name);
    for (char *q = rel; *q; q++)
      if (*q == '.') *q = '/';
    char *path = lm_xasprintf("%s/%s.lua", dir, rel);
    free(rel);
    lua_pop(L, 1);
    FILE *f = fopen(path, "rb");
    if (!f) {
      lua_pushfstring(L, "\n\tno file '%s'", path);
      free(path);
      luaL_addvalue(&tried);
      continue;
    }
    fclose(f);
    lua_pushfstring(L, "@%s", path);
    int st = luaL_loadfilex(L, path, "t");
    free(path);
    if (st != LUA_OK) return lua_error(L);
    lua_remove(L, -2);
    lm_lua_push_env(L);
    lua_setupvalue(L, -2, 1);
    lua_pushstring(L, name);
    lua_call(L, 1, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, -5, name); /* LM_REG_LOADED[name] */
    return 1;
  }
  luaL_pushresult(&tried);
  return luaL_error(L, "module '%s' not found in the project's folders:%s", name,
                    lua_tostring(L, -1));
}

static int readonly_newindex(lua_State *L) {
  return luaL_error(L, "'%s' is read-only", lua_tostring(L, lua_upvalueindex(1)));
}

/* Wraps the table at the top in a read-only proxy named name. Every
 * environment reaches the same proxy through the safe globals, so nothing
 * may write into it: __newindex refuses assignments (and the table library,
 * which honours it), __metatable hides the metatable, and safe_rawset
 * refuses the tables whose metatable is one of these, remembered in the
 * registry (LM_REG_PROXIES). */
static void push_readonly_proxy(lua_State *L, const char *name) {
  lua_newtable(L); /* proxy */
  lua_newtable(L); /* mt */
  lua_pushvalue(L, -3);
  lua_setfield(L, -2, "__index");
  lua_pushstring(L, name);
  lua_pushcclosure(L, readonly_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  if (lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_PROXIES) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_PROXIES);
  }
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
  lua_setmetatable(L, -2);
  lua_remove(L, -2);
}

static int init_state(lua_State *L) {
  luaL_openlibs(L);
  /* string.dump makes binary chunks; nothing in a revision needs it. */
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  /* getmetatable("") would hand out the real string library to change */
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_newtable(L); /* safe globals */
  for (int i = 0; SAFE_BASE[i]; i++) {
    lua_getglobal(L, SAFE_BASE[i]);
    lua_setfield(L, -2, SAFE_BASE[i]);
  }
  for (int i = 0; SAFE_LIBS[i]; i++) {
    lua_getglobal(L, SAFE_LIBS[i]);
    push_readonly_proxy(L, SAFE_LIBS[i]);
    lua_setfield(L, -2, SAFE_LIBS[i]);
  }
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "unpack");
  lua_setfield(L, -3, "unpack");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_getglobal(L, "os");
  for (int i = 0; SAFE_OS[i]; i++) {
    lua_getfield(L, -1, SAFE_OS[i]);
    lua_setfield(L, -3, SAFE_OS[i]);
  }
  lua_pop(L, 1);
  push_readonly_proxy(L, "os");
  lua_setfield(L, -2, "os");
  lua_pushcfunction(L, safe_print);
  lua_setfield(L, -2, "print");
  lua_pushcfunction(L, safe_rawset);
  lua_setfield(L, -2, "rawset");
  lua_pushcfunction(L, safe_load);
  lua_setfield(L, -2, "load");
  lua_pushcfunction(L, safe_require);
  lua_setfield(L, -2, "require");

  lm_lua_open_op(L); /* pushes the op table */
  push_readonly_proxy(L, "op");
  lua_setfield(L, -2, "op");
  lua_newtable(L); /* context */
  lua_newtable(L);
  lua_setfield(L, -2, "x");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "offline");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_CONTEXT);
  lua_setfield(L, -2, "context");

  lua_newtable(L); /* metatable of every environment */
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_ENVMT);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_SAFE);

  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_LOADED);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_PATH);
  return 0;
}

lua_State *lm_lua_new(void) {
  lua_State *L = luaL_newstate();
  if (!L) return NULL;
  lm_interrupt_watch_lua(L);
  /* most of what a run allocates (op arguments, arenas) dies young */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_pushcfunction(L, init_state);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lm_error_set(LM_ENOMEM, "cannot set up Lua: %s", lua_tostring(L, -1));
    lua_close(L);
    return NULL;
  }
  return L;
}

void lm_lua_close(lua_State *L) {
  if (L) lua_close(L);
}

void lm_lua_add_path(lua_State *L, const char *dir) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_PATH);
  lua_pushstring(L, dir);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

void lm_lua_set_context(lua_State *L, const char *dialect, int offline, const char *const *x,
                        int nx) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_CONTEXT);
  if (dialect)
    lua_pushstring(L, dialect);
  else
    lua_pushnil(L);
  lua_setfield(L, -2, "dialect");
  lua_pushboolean(L, offline);
  lua_setfield(L, -2, "offline");
  lua_newtable(L);
  for (int i = 0; i < nx; i++) {
    const char *eq = strchr(x[i], '=');
    if (!eq) continue;
    lua_pushlstring(L, x[i], (size_t)(eq - x[i]));
    lua_pushstring(L, eq + 1);
    lua_settable(L, -3);
  }
  lua_setfield(L, -2, "x");
  lua_pop(L, 1);
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

static void interrupt_hook(lua_State *L, lua_Debug *ar) {
  LM_UNUSED(ar);
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted");
}

void lm_lua_interrupt(lua_State *L) {
  lua_sethook(L, interrupt_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}
