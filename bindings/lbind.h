/* Declarations private to the Lua bindings. */
#ifndef LM_LBIND_H
#define LM_LBIND_H

#include <lua.h>

#include <stdarg.h>

#include "lm.h"

#define LM_REG_SAFE "luamig.safe"
#define LM_REG_ENVMT "luamig.envmt"
#define LM_REG_CONTEXT "luamig.context"
#define LM_REG_CTX_BASE "luamig.contextbase" /* dialect, offline, x: set by the run */
#define LM_REG_LOADED "luamig.loaded"
#define LM_REG_PATH "luamig.path"
#define LM_REG_RUN "luamig.run"
#define LM_REG_PROXIES "luamig.proxies"
#define LM_REG_REQUIRED "luamig.required"
/* globals added to the environment of each module require() loads (the
 * model's, while the model runs); nil otherwise */
#define LM_REG_MODULE_GLOBALS "luamig.moduleglobals"
/* metatable of op.sql(...) values */
#define LM_MT_SQL "luamig.sql"

/* Raised (as a light userdata) when the last-error record already holds a
 * structured error, so the caller must not overwrite it. */
extern int lm_lua_error_sentinel;

void lm_lua_open_op(lua_State *L);

/* The allocator of every Lua state luamig makes (bindings/lua_alloc.c). */
typedef struct lm_lalloc lm_lalloc;
lm_lalloc *lm_lalloc_new(void);
/** Frees what the allocator holds: after lua_close of its state. */
void lm_lalloc_free(lm_lalloc *a);
/** A lua_Alloc; ud is the lm_lalloc. */
void *lm_lalloc_fn(void *ud, void *ptr, size_t osize, size_t nsize);
/** Lets revisions read the environment variable name (config `env`). */
void lm_lua_allow_env(lua_State *L, const char *name);
/** Pushes the config file's environment (a revision's, with os.getenv). */
void lm_lua_push_config_env(lua_State *L);
/** Fresh read-only `context` data for one call (or for loading a file). */
void lm_lua_context_begin(lua_State *L, const char *revision, const char *step, int loading);
/** Runaway Lua: after timeout_ms (0: no deadline, hook off), raise fmt made
 * with name (%s) and the revision_timeout (%lld); fmt must outlive the call. */
void lm_lua_deadline(lua_State *L, long long timeout_ms, const char *fmt, const char *name);
/** Whether a __gc metamethod was set since the last call (and forget it). */
int lm_lua_take_gc_armed(lua_State *L);
/** Whether an op call from a finalizer was refused (and forget it); if so,
 * pushes the refusal's message. */
int lm_lua_take_gc_refused(lua_State *L);
/** The revision_timeout of the config, in milliseconds (0: none). */
extern long long lm_lua_revision_timeout_ms;
void lm_lua_push_env(lua_State *L);
/** Pushes a fresh environment holding also the LM_REG_MODULE_GLOBALS. */
void lm_lua_push_module_env(lua_State *L);
void lm_lua_add_path(lua_State *L, const char *dir);
int lm_lua_msgh(lua_State *L);
int lm_lua_error_from_message(int code, const char *msg);
int lm_lua_error_in_file(int code, const char *path, const char *msg);
/** Raises the sentinel after recording the caller's file and line. */
int lm_lua_raise(lua_State *L);
/** The first Lua frame above the running C function: the revision or model
 * line that made the call (also through a C closure). 0 when there is none. */
int lm_lua_caller_location(lua_State *L, const char **src, int *line);
/** Pushes "FILE:LINE: " (of that frame) followed by the formatted message. */
void lm_lua_push_located(lua_State *L, const char *fmt, va_list ap);
/** The running migration; raises an error naming op.<fn> when none runs. */
lm_run *lm_lua_need_run(lua_State *L, const char *fn);
/** Rejects keys of the options table at idx that are not in allowed (NULL-ended). */
void lm_lua_check_opts(lua_State *L, int idx, const char *fn, const char *const *allowed);
/** Pushes a database value: NULL as nil, integers as integers. */
void lm_lua_push_value(lua_State *L, const lm_value *v);
/** 1 when the value at idx is a table whose metatable is registry[mt]. */
int lm_lua_is_marked(lua_State *L, int idx, const char *mt);
/** The text of the op.sql(...) value at idx, or NULL when it is not one. */
const char *lm_lua_sql_text(lua_State *L, int idx);
/** The number at idx as SQL text that reads back as the same number: an
 * integer in full, a float in the fewest digits that round-trip (Lua's own
 * tostring keeps 14, so 2^53 would come out as 9.007199254741e+15). Written
 * into buf (at least 48 bytes); returns buf. */
const char *lm_lua_number_text(lua_State *L, int idx, char *buf, size_t n);
/** 1 when the value at idx is an op.column(...) value / a constraint value. */
int lm_lua_is_column(lua_State *L, int idx);
int lm_lua_is_constraint(lua_State *L, int idx);
/** Parses the list at list_idx of columns and constraints as create_table
 * does, into op->cols and op->cons; the strings live in an arena pushed on
 * the stack and stay valid while it is there. */
void lm_lua_parse_table_items(lua_State *L, int list_idx, const char *fn, lm_op *op);
/** Adds op.backfill to the op table on top of the stack (bindings/backfill.c). */
void lm_lua_open_backfill(lua_State *L);

#endif
