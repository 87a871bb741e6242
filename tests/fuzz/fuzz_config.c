/* libFuzzer target: luamig.lua (lm_config_load). Each input is written to a
 * file and loaded in a fresh sandboxed Lua state, as `luamig` does. The
 * state gets a memory budget and an instruction budget, so that a config
 * that loops or allocates without end is an error rather than a hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "lm.h"

#define MEMORY_BUDGET (64L << 20)
#define INSTRUCTION_BUDGET 2000000L
#define HOOK_EVERY 1000

static char dir[64];
static char path[96];

static void cleanup(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  LM_UNUSED(argc), LM_UNUSED(argv);
  snprintf(dir, sizeof dir, "/tmp/luamig-fuzz-config.XXXXXX");
  if (!mkdtemp(dir)) abort();
  snprintf(path, sizeof path, "%s/luamig.lua", dir);
  atexit(cleanup);
  return 0;
}

typedef struct budget {
  long bytes;
  long instructions;
  lua_Alloc inner; /* the state's own allocator, which every call goes on to */
  void *inner_ud;
} budget;

static budget B;

/* The state's own allocator, which refuses growth beyond the budget: blocks
 * allocated before it was installed are handled alike. */
static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  budget *b = ud;
  size_t old = ptr ? osize : 0;
  if (nsize > old && b->bytes + (long)(nsize - old) > MEMORY_BUDGET) return NULL;
  void *p = b->inner(b->inner_ud, ptr, osize, nsize);
  if (p || nsize == 0) b->bytes += (long)nsize - (long)old;
  return p;
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  LM_UNUSED(ar);
  B.instructions += HOOK_EVERY;
  if (B.instructions > INSTRUCTION_BUDGET) luaL_error(L, "fuzz: instruction budget exhausted");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);

  lua_State *L = lm_lua_new();
  if (!L) abort();
  B.bytes = 0;
  B.instructions = 0;
  B.inner = lua_getallocf(L, &B.inner_ud);
  lua_setallocf(L, limited_alloc, &B);
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);

  lm_config *c = NULL;
  int rc = lm_config_load(&c, L, path);
  if (rc == 0) {
    if (!c || c->nversions < 1 || !c->version_table || !*c->version_table) abort();
    for (int i = 0; i < c->nversions; i++)
      if (!c->versions[i] || !c->versions_display[i]) abort();
    if (c->lock_retries < 0 || c->lock_retries > 1000) abort();
    /* targets (SPEC §11): every entry complete for its kind, names unique */
    if (c->ntargets < 0 || (c->ntargets > 0 && !c->targets)) abort();
    for (int i = 0; i < c->ntargets; i++) {
      const lm_fleet_entry *e = &c->targets[i];
      if (!e->name || !*e->name) abort();
      if (e->kind == LM_FLEET_GLOB ? (!e->glob || e->url || e->sql) : !e->url) abort();
      if ((e->kind == LM_FLEET_SCHEMAS || e->kind == LM_FLEET_QUERY) && !e->sql) abort();
      for (int k = 0; k < i; k++)
        if (strcmp(c->targets[k].name, e->name) == 0) abort();
    }
    lm_config_free(c);
  } else {
    if (c) abort();
    if (!lm_error_last()->message) abort();
  }
  lm_lua_close(L);
  lm_error_clear();
  return 0;
}
