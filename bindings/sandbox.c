/* The sandboxed Lua state: one state for the whole project, a shared
 * read-only table of safe globals, and an environment table per file whose
 * __index is that safe table. Revisions see `op`, `context`, the safe standard
 * library and a `require` limited to the project's folders; nothing that runs
 * programs, touches arbitrary files or loads binary chunks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lbind.h"

static const char *const SAFE_BASE[] = {
    "assert",   "error",        "ipairs",       "next",     "pairs",    "pcall",  "select",
    "tonumber", "tostring",     "type",         "xpcall",   "rawequal", "rawget", "rawset",
    "rawlen",   "setmetatable", "getmetatable", "_VERSION", NULL};
static const char *const SAFE_LIBS[] = {"string", "table", "math", "utf8", "coroutine", NULL};
static const char *const SAFE_OS[] = {"time", "date", "clock", "difftime", NULL};

#define REG_ENV_ALLOW "luamig.env"           /* names os.getenv may read in a revision */
#define REG_CTX_XEMPTY "luamig.contextx0"    /* context.x while a file loads: empty */
#define REG_CTX_LOADING "luamig.contextload" /* context's data while a file loads */
#define REG_GC_ARMED "luamig.finalizers"     /* a revision set a __gc metamethod */

static int readonly_newindex(lua_State *L);
static int safe_setmetatable(lua_State *L);
static int coroutine_create(lua_State *L);
static int coroutine_resume(lua_State *L);
static void warn_to_stderr(void *ud, const char *msg, int tocont);
static const char COROUTINE_WRAP[];

/* next() over a read-only proxy's data, reached through the proxy: the data
 * table itself is never handed to the revision, which could write to it. */
static int proxy_next(lua_State *L) {
  lua_settop(L, 2);
  if (!lua_getmetatable(L, 1)) return 0;
  lua_pushliteral(L, "__index");
  if (lua_rawget(L, -2) != LUA_TTABLE) return 0;
  lua_pushvalue(L, 2);
  if (lua_next(L, -2)) return 2;
  lua_pushnil(L);
  return 1;
}

/* pairs() on a read-only proxy walks the table behind it. */
static int proxy_pairs(lua_State *L) {
  lua_pushcfunction(L, proxy_next);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

/* Pushes the metatable of a read-only proxy named name (no __index yet). */
static void push_readonly_mt(lua_State *L, const char *name) {
  lua_createtable(L, 0, 4);
  lua_pushstring(L, name);
  lua_pushcclosure(L, readonly_newindex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, proxy_pairs);
  lua_setfield(L, -2, "__pairs");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
}

/* Replaces the table on the top of the stack by a read-only proxy of it,
 * context.x: made once per run and shared by every call, since nothing can
 * write to it. */
static void push_x_proxy(lua_State *L) {
  lua_newtable(L); /* proxy */
  lua_insert(L, -2);
  push_readonly_mt(L, "context.x");
  lua_insert(L, -2);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

/* os.getenv in a revision: only the variables the config lists in `env`.
 * DATABASE_URL, PGPASSWORD and the like stay out of reach unless listed;
 * the config file itself has the real os.getenv. */
static int sandbox_getenv(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, REG_ENV_ALLOW);
  int ok = lua_istable(L, -1) && lua_getfield(L, -1, name) == LUA_TBOOLEAN;
  if (!ok)
    return luaL_error(L,
                      "os.getenv('%s'): a revision may only read the environment variables listed "
                      "in the config's env setting (env = { \"%s\" })",
                      name, name);
  const char *v = getenv(name);
  if (v)
    lua_pushstring(L, v);
  else
    lua_pushnil(L);
  return 1;
}

void lm_lua_allow_env(lua_State *L, const char *name) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, REG_ENV_ALLOW) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_ENV_ALLOW);
  }
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

/* The config file's environment: a revision's, with the real os.getenv. */
void lm_lua_push_config_env(lua_State *L) {
  lm_lua_push_env(L);
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, "os");
  lua_remove(L, -2);
  for (int i = 0; SAFE_OS[i]; i++) {
    lua_getfield(L, -1, SAFE_OS[i]);
    lua_setfield(L, -3, SAFE_OS[i]);
  }
  lua_getfield(L, -1, "getenv");
  lua_setfield(L, -3, "getenv");
  lua_pop(L, 1);
  lua_pushliteral(L, "os");
  lua_insert(L, -2);
  lua_rawset(L, -3);
}

/* rawset() would get past a read-only proxy's __newindex. */
static int safe_rawset(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  if (lua_getmetatable(L, 1)) {
    lua_pushliteral(L, "__newindex");
    lua_rawget(L, -2);
    if (lua_tocfunction(L, -1) == readonly_newindex) {
      lua_getupvalue(L, -1, 1);
      return luaL_error(L, "'%s' is read-only", lua_tostring(L, -1));
    }
    lua_pop(L, 1);
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

/* An environment for a file of the model or a module it requires: the
 * model's globals (table, column, ...) copied in, so that a helper module
 * can declare columns as the model does. Without them, a revision's. */
void lm_lua_push_module_env(lua_State *L) {
  lm_lua_push_env(L);
  if (lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_MODULE_GLOBALS) == LUA_TTABLE) {
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, -5);
    }
  }
  lua_pop(L, 1);
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
    if (access(path, F_OK) != 0) {
      lua_pushfstring(L, "\n\tno file '%s'", path);
      free(path);
      luaL_addvalue(&tried);
      continue;
    }
    /* the revision loader's limits: a regular file of at most 16 MiB */
    char *text;
    size_t len;
    if (lm_read_file(path, &text, &len) != 0) {
      free(path);
      return luaL_error(L, "require '%s': %s", name, lm_error_last()->message);
    }
    lua_pushfstring(L, "@%s", path);
    size_t off = lm_source_start(text, len);
    int st = luaL_loadbufferx(L, text + off, len - off, lua_tostring(L, -1), "t");
    free(text);
    free(path);
    if (st != LUA_OK) return lua_error(L);
    lua_remove(L, -2);
    lm_lua_push_module_env(L);
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
  lua_pushcfunction(L, proxy_pairs); /* pairs(op) lists the directives */
  lua_setfield(L, -2, "__pairs");
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
  lua_pushcfunction(L, sandbox_getenv);
  lua_setfield(L, -2, "getenv");
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

  lm_lua_open_op(L);       /* pushes the op table */
  lm_lua_open_backfill(L); /* op.backfill */
  push_readonly_proxy(L, "op");
  lua_setfield(L, -2, "op");
  /* context: a read-only proxy whose data (registry LM_REG_CONTEXT holds
   * its metatable) is a fresh table for each revision call, see
   * lm_lua_context_begin */
  lua_newtable(L);
  push_readonly_mt(L, "context");
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_CONTEXT);
  lua_setmetatable(L, -2);
  lua_setfield(L, -2, "context");
  lua_newtable(L);
  push_x_proxy(L);
  lua_setfield(L, LUA_REGISTRYINDEX, REG_CTX_XEMPTY);
  lua_newtable(L);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "offline");
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_CTX_BASE);
  /* while a file loads, context is always the same (offline false, x
   * empty): one data table for every load, since no revision can reach it
   * to change it (context is read-only, its metatable hidden) */
  lua_createtable(L, 0, 2);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "offline");
  lua_getfield(L, LUA_REGISTRYINDEX, REG_CTX_XEMPTY);
  lua_setfield(L, -2, "x");
  lua_setfield(L, LUA_REGISTRYINDEX, REG_CTX_LOADING);
  lm_lua_context_begin(L, NULL, NULL, 1);
  lua_pushcfunction(L, safe_setmetatable);
  lua_setfield(L, -2, "setmetatable");
  /* coroutines: interruptible and under revision_timeout like the main
   * thread (see coroutine_resume) */
  lua_getglobal(L, "coroutine");
  lua_pushcfunction(L, coroutine_resume);
  lua_setfield(L, -2, "resume");
  lua_pushcfunction(L, coroutine_create);
  lua_setfield(L, -2, "create");
  lua_pop(L, 1);
  lua_getglobal(L, "coroutine");
  if (luaL_loadstring(L, COROUTINE_WRAP) != LUA_OK) return lua_error(L);
  lua_getfield(L, -2, "create");
  lua_getfield(L, -3, "resume");
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "pack");
  lua_getfield(L, -2, "unpack");
  lua_remove(L, -3);
  lua_call(L, 4, 1);
  lua_setfield(L, -2, "wrap");
  lua_pop(L, 1);
  lua_setwarnf(L, warn_to_stderr, L);

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

static lua_State *volatile interrupted_state; /* what Ctrl-C stops (the newest state) */
static void interrupt_running_lua(void);

/* What luaL_newstate's panic function does: an error outside any protected
 * call cannot be recovered. */
static int panic(lua_State *L) {
  const char *msg =
      lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error object is not a string";
  fprintf(stderr, "luamig: unprotected error in a call to Lua: %s\n", msg);
  return 0; /* Lua aborts */
}

_Static_assert(LUA_EXTRASPACE >= sizeof(lm_lalloc *), "the allocator is kept in the extra space");

lua_State *lm_lua_new(void) {
  lm_lalloc *A = lm_lalloc_new();
  lua_State *L = A ? lua_newstate(lm_lalloc_fn, A) : NULL;
  if (!L) {
    lm_lalloc_free(A);
    return NULL;
  }
  lua_atpanic(L, panic);
  /* found again by lm_lua_close, whichever allocator is installed then */
  memcpy(lua_getextraspace(L), &A, sizeof A);
  interrupted_state = L;
  lm_interrupt_hook(interrupt_running_lua);
  /* most of what a run allocates (op arguments, arenas) dies young */
  lua_gc(L, LUA_GCGEN, 0, 0);
  lua_pushcfunction(L, init_state);
  if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
    lm_error_set(LM_ENOMEM, "cannot set up Lua: %s", lua_tostring(L, -1));
    lm_lua_close(L);
    return NULL;
  }
  return L;
}

void lm_lua_close(lua_State *L) {
  if (!L) return;
  lm_lalloc *A;
  memcpy(&A, lua_getextraspace(L), sizeof A);
  lua_close(L);
  lm_lalloc_free(A);
}

void lm_lua_add_path(lua_State *L, const char *dir) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_PATH);
  lua_pushstring(L, dir);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  lua_pop(L, 1);
}

void lm_lua_set_context(lua_State *L, const char *dialect, int offline, const char *const *x,
                        int nx) {
  lua_newtable(L);
  if (dialect) {
    lua_pushstring(L, dialect);
    lua_setfield(L, -2, "dialect");
  }
  lua_pushboolean(L, offline);
  lua_setfield(L, -2, "offline");
  lua_newtable(L);
  for (int i = 0; i < nx; i++) {
    const char *eq = strchr(x[i], '=');
    if (!eq) continue;
    lua_pushlstring(L, x[i], (size_t)(eq - x[i]));
    lua_pushstring(L, eq + 1);
    lua_rawset(L, -3);
  }
  push_x_proxy(L);
  lua_setfield(L, -2, "x");
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_CTX_BASE);
}

/* Gives `context` fresh data for one call: the run's dialect, offline and
 * x (read-only, made once by lm_lua_set_context), and revision and step --
 * or, while a file loads (loading), only offline = false and an empty x, so
 * that a file defines the same functions whenever it is loaded. Nothing a
 * call does to `context` (it cannot: it is read-only) reaches another call.
 * Raw accesses only: nothing here can run a revision's metamethod, so
 * nothing can raise. */
void lm_lua_context_begin(lua_State *L, const char *revision, const char *step, int loading) {
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_CONTEXT);
  lua_pushliteral(L, "__index");
  if (loading) { /* the same every time: made once */
    lua_getfield(L, LUA_REGISTRYINDEX, REG_CTX_LOADING);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    return;
  }
  lua_createtable(L, 0, 5); /* data */
  lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_CTX_BASE);
  lua_pushliteral(L, "dialect");
  lua_rawget(L, -2);
  lua_setfield(L, -3, "dialect");
  lua_pushliteral(L, "offline");
  lua_rawget(L, -2);
  lua_setfield(L, -3, "offline");
  lua_pushliteral(L, "x");
  if (lua_rawget(L, -2) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, REG_CTX_XEMPTY);
  }
  lua_setfield(L, -3, "x");
  lua_pop(L, 1);
  if (revision) {
    lua_pushstring(L, revision);
    lua_setfield(L, -2, "revision");
  }
  if (step) {
    lua_pushstring(L, step);
    lua_setfield(L, -2, "step");
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

/* ---- interruption, revision_timeout, coroutines --------------------------------------
 *
 * One count hook serves both: after Ctrl-C it raises "interrupted" on every
 * tick, so a revision that catches the error with pcall meets it again at
 * its next instruction; with a deadline set it raises once the deadline has
 * passed, the same way. Lua gives each coroutine its hook of its own (a new
 * one inherits its creator's): the signal handler sets the hook on the main
 * thread and on the coroutine running at that moment, and resume() sets it
 * on a coroutine it is about to run while an interrupt or a deadline is
 * pending. */

static lua_State *volatile running_co; /* the coroutine resume() runs now */
long long lm_lua_revision_timeout_ms;
static long long deadline_ms; /* 0: no revision_timeout running */
/* what the error says when it passes: a format with the name (%s) then the
 * timeout (%lld), made into a message only then */
static const char *deadline_fmt;
static char deadline_name[512];

#define TICK_INTERRUPTED 1
#define TICK_DEADLINE 1000

static void sandbox_hook(lua_State *L, lua_Debug *ar) {
  LM_UNUSED(ar);
  if (lm_interrupted) {
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, TICK_INTERRUPTED);
    luaL_error(L, "interrupted");
  }
  if (deadline_ms && lm_now_ms() >= deadline_ms) {
    /* from now on every instruction: a pcall loop cannot outrun it */
    lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, TICK_INTERRUPTED);
    char what[700];
    snprintf(what, sizeof what, deadline_fmt, deadline_name, lm_lua_revision_timeout_ms);
    luaL_error(L, "%s", what);
  }
}

static void arm_thread(lua_State *co) {
  if (lm_interrupted)
    lua_sethook(co, sandbox_hook, LUA_MASKCOUNT, TICK_INTERRUPTED);
  else if (deadline_ms)
    lua_sethook(co, sandbox_hook, LUA_MASKCOUNT, TICK_DEADLINE);
}

/* On lm_interrupt(), from a signal handler: running Lua code raises
 * "interrupted" (lua_sethook is async-signal-safe). */
static void interrupt_running_lua(void) {
  lua_State *L = interrupted_state;
  if (!L) return;
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, TICK_INTERRUPTED);
  lua_State *co = running_co;
  if (co) lua_sethook(co, sandbox_hook, LUA_MASKCOUNT, TICK_INTERRUPTED);
}

void lm_lua_deadline(lua_State *L, long long timeout_ms, const char *fmt, const char *name) {
  if (lm_interrupted) return;
  if (timeout_ms <= 0) {
    deadline_ms = 0;
    lua_sethook(L, NULL, 0, 0);
    return;
  }
  /* once per revision run: copied, not formatted (the message is made only
   * when the deadline passes) */
  deadline_fmt = fmt;
  size_t n = strlen(name);
  if (n >= sizeof deadline_name) n = sizeof deadline_name - 1;
  memcpy(deadline_name, name, n);
  deadline_name[n] = 0;
  deadline_ms = lm_now_ms() + timeout_ms;
  lua_sethook(L, sandbox_hook, LUA_MASKCOUNT, TICK_DEADLINE);
}

/* coroutine.create and coroutine.resume as in lcorolib.c, plus the hook.
 * Written out rather than wrapped so that argument errors keep the
 * revision's line. */
static int coroutine_create(lua_State *L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  lua_State *co = lua_newthread(L);
  lua_pushvalue(L, 1);
  lua_xmove(L, co, 1);
  arm_thread(co);
  return 1;
}

static int coroutine_resume(lua_State *L) {
  lua_State *co = lua_tothread(L, 1);
  luaL_argexpected(L, co, 1, "coroutine");
  int narg = lua_gettop(L) - 1, nres;
  if (!lua_checkstack(co, narg)) {
    lua_pushboolean(L, 0);
    lua_pushliteral(L, "too many arguments to resume");
    return 2;
  }
  arm_thread(co);
  lua_xmove(L, co, narg);
  lua_State *prev = running_co;
  running_co = co;
  int st = lua_resume(co, L, narg, &nres);
  running_co = prev;
  if (lm_interrupted) arm_thread(L);
  if (st == LUA_OK || st == LUA_YIELD) {
    if (!lua_checkstack(L, nres + 1)) {
      lua_pop(co, nres);
      lua_pushboolean(L, 0);
      lua_pushliteral(L, "too many results to resume");
      return 2;
    }
    lua_pushboolean(L, 1);
    lua_xmove(co, L, nres);
    return nres + 1;
  }
  lua_pushboolean(L, 0);
  lua_xmove(co, L, 1);
  return 2;
}

/* coroutine.wrap over the wrapped create and resume (upvalues: create,
 * resume, table.pack, table.unpack). */
static const char COROUTINE_WRAP[] = "local create, resume, pack, unpack = ...\n"
                                     "return function(f)\n"
                                     "  local co = create(f)\n"
                                     "  return function(...)\n"
                                     "    local r = pack(resume(co, ...))\n"
                                     "    if r[1] then return unpack(r, 2, r.n) end\n"
                                     "    error(r[2], 0)\n"
                                     "  end\n"
                                     "end\n";

/* setmetatable() noting a __gc metamethod: the runner then collects garbage
 * after the call, so that the finalizer runs while the same revision is
 * current (op calls from finalizers are refused, see bindings/op.c). */
static int safe_setmetatable(lua_State *L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  if (t == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      lua_pushboolean(L, 1);
      lua_setfield(L, LUA_REGISTRYINDEX, REG_GC_ARMED);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

int lm_lua_take_gc_armed(lua_State *L) {
  int armed = lua_getfield(L, LUA_REGISTRYINDEX, REG_GC_ARMED) != LUA_TNIL;
  lua_pop(L, 1);
  if (armed) {
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, REG_GC_ARMED);
  }
  return armed;
}

/* Lua reports an error in a finalizer as a warning: print it. */
static void warn_to_stderr(void *ud, const char *msg, int tocont) {
  static int cont;
  LM_UNUSED(ud);
  if (!cont && msg[0] == '@') return; /* control messages */
  if (!cont) fputs("luamig: warning: ", stderr);
  fputs(msg, stderr);
  if (!tocont) fputc('\n', stderr);
  cont = tocont;
}
