/* luamig.lua: a Lua chunk, run in the sandbox, that returns a table. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "lbind.h"

static const char *const KEYS[] = {"url",
                                   "versions",
                                   "version_table",
                                   "version_table_schema",
                                   "transaction_per_migration",
                                   "lock_timeout",
                                   "lock_retries",
                                   "targets",
                                   "model",
                                   "env",
                                   "revision_timeout",
                                   NULL};

/* A duration: a number of seconds, or a number with ms, s, min or h. */
static long long parse_duration_ms(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0) return -1;
  while (*end == ' ')
    end++;
  double mult = 1000;
  if (strcmp(end, "ms") == 0)
    mult = 1;
  else if (strcmp(end, "min") == 0)
    mult = 60000;
  else if (strcmp(end, "h") == 0)
    mult = 3600000;
  else if (*end && strcmp(end, "s") != 0)
    return -1;
  double ms = v * mult;
  if (ms > 1e12) return -1;
  return (long long)ms;
}

/* A PostgreSQL duration setting as lock_timeout takes it: a number, alone
 * (milliseconds) or with us, ms, s, min, h or d. */
static int pg_duration_ok(const char *s) {
  while (*s == ' ')
    s++;
  const char *d = s;
  while (*s >= '0' && *s <= '9')
    s++;
  if (s == d) return 0;
  if (*s == '.') {
    s++;
    while (*s >= '0' && *s <= '9')
      s++;
  }
  while (*s == ' ')
    s++;
  static const char *const units[] = {"", "us", "ms", "s", "min", "h", "d", NULL};
  size_t n = strcspn(s, " ");
  for (int i = 0; units[i]; i++)
    if (strlen(units[i]) == n && strncmp(s, units[i], n) == 0) {
      s += n;
      while (*s == ' ')
        s++;
      return *s == 0;
    }
  return 0;
}

lm_config *lm_config_default(void) {
  lm_config *c = lm_xcalloc(1, sizeof *c);
  c->dir = lm_xstrdup(".");
  c->versions = lm_xcalloc(1, sizeof *c->versions);
  c->versions_display = lm_xcalloc(1, sizeof *c->versions_display);
  c->versions[0] = lm_xstrdup("versions");
  c->versions_display[0] = lm_xstrdup("versions");
  c->nversions = 1;
  c->version_table = lm_xstrdup("luamig_version");
  c->transaction_per_migration = 1;
  c->lock_timeout = lm_xstrdup("5s");
  c->lock_retries = 3;
  return c;
}

void lm_config_free(lm_config *c) {
  if (!c) return;
  free(c->path);
  free(c->dir);
  free(c->url);
  for (int i = 0; i < c->nversions; i++) {
    free(c->versions[i]);
    free(c->versions_display[i]);
  }
  free(c->versions);
  free(c->versions_display);
  free(c->version_table);
  free(c->version_table_schema);
  free(c->lock_timeout);
  for (int i = 0; i < c->ntargets; i++) {
    free(c->targets[i].name);
    free(c->targets[i].url);
    free(c->targets[i].sql);
    free(c->targets[i].glob);
  }
  free(c->targets);
  for (int i = 0; i < c->nmodel; i++) {
    free(c->model[i]);
    free(c->model_display[i]);
  }
  free(c->model);
  free(c->model_display);
  free(c);
}

/* The line where `key` is first assigned, for messages about that key. */
static int key_line(const char *text, const char *key) {
  int line = 1;
  size_t kl = strlen(key);
  for (const char *p = text; *p; p++) {
    if ((p == text || p[-1] == '\n' || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '{' ||
         p[-1] == ',') &&
        strncmp(p, key, kl) == 0) {
      const char *q = p + kl;
      while (*q == ' ' || *q == '\t')
        q++;
      if (*q == '=') return line;
    }
    if (*p == '\n') line++;
  }
  return 0;
}

static char *join_path(const char *dir, const char *rel) {
  if (rel[0] == '/' || strcmp(dir, ".") == 0) return lm_xstrdup(rel);
  return lm_xasprintf("%s/%s", dir, rel);
}

static int bad(lm_config *c, const char *text, const char *key, const char *fmt, const char *what) {
  int line = key_line(text, key);
  if (line)
    lm_error_set(LM_ECONFIG, "%s:%d: %s %s", c->path, line, key, fmt);
  else
    lm_error_set(LM_ECONFIG, "%s: %s %s", c->path, key, fmt);
  LM_UNUSED(what);
  lm_error_set_location(c->path, line);
  return LM_ECONFIG;
}

static int set_string(lua_State *L, lm_config *c, const char *text, const char *key, char **dst) {
  int t = lua_getfield(L, -1, key);
  int rc = 0;
  if (t == LUA_TSTRING) {
    free(*dst);
    *dst = lm_xstrdup(lua_tostring(L, -1));
  } else if (t != LUA_TNIL) {
    rc = bad(c, text, key, "must be a string", NULL);
  }
  lua_pop(L, 1);
  return rc;
}

/* ---- targets (SPEC §11) ---------------------------------------------------- */

/* Skips a Lua string or comment starting at p (if one does), counting lines. */
static const char *skip_lua_token(const char *p, int *line) {
  if (p[0] == '-' && p[1] == '-') {
    p += 2;
    if (p[0] == '[' && (p[1] == '[' || p[1] == '=')) {
      const char *e = strstr(p, "]]");
      for (; *p && (!e || p < e + 2); p++)
        if (*p == '\n') (*line)++;
      return p;
    }
    while (*p && *p != '\n')
      p++;
    return p;
  }
  if (*p == '"' || *p == '\'') {
    char q = *p++;
    while (*p && *p != q && *p != '\n') {
      if (*p == '\\' && p[1]) p++;
      p++;
    }
    return *p == q ? p + 1 : p;
  }
  if (p[0] == '[' && p[1] == '[') {
    const char *e = strstr(p, "]]");
    for (; *p && (!e || p < e + 2); p++)
      if (*p == '\n') (*line)++;
    return p;
  }
  return NULL;
}

/* The line of each entry of the `targets = { … }` table constructor: the
 * line of each '{' one level inside it. Entries the text does not show as
 * table constructors get the line of `targets`. */
static void target_lines(const char *text, lm_config *c) {
  int base = key_line(text, "targets");
  for (int i = 0; i < c->ntargets; i++)
    c->targets[i].line = base;
  if (!base) return;
  int line = 1;
  const char *p = text;
  for (; *p && line < base; p++)
    if (*p == '\n') line++;
  p = strstr(p, "targets");
  if (!p) return;
  p = strchr(p, '=');
  if (!p) return;
  int depth = 0, k = 0;
  while (*p) {
    const char *q = skip_lua_token(p, &line);
    if (q) {
      p = q;
      continue;
    }
    if (*p == '\n') line++;
    if (*p == '{') {
      depth++;
      if (depth == 2 && k < c->ntargets) c->targets[k++].line = line;
    } else if (*p == '}') {
      if (--depth == 0) return;
    }
    p++;
  }
}

static int bad_target(lm_config *c, int i, const char *fmt, const char *arg) {
  int line = c->targets[i].line;
  char *msg = lm_xasprintf(fmt, arg ? arg : "");
  if (line)
    lm_error_set(LM_ECONFIG, "%s:%d: targets[%d]: %s", c->path, line, i + 1, msg);
  else
    lm_error_set(LM_ECONFIG, "%s: targets[%d]: %s", c->path, i + 1, msg);
  lm_error_set_location(c->path, line);
  free(msg);
  return LM_ECONFIG;
}

/* A target name is shown on every line of a fleet run and matched by
 * --target: printable, without blanks; only a group's name may hold '*'. */
static int bad_name(const char *s, int group) {
  if (!*s) return 1;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= ' ' || *p == 0x7f || (!group && (*p == '*' || *p == '?'))) return 1;
  return 0;
}

static int entry_string(lua_State *L, lm_config *c, int i, const char *key, char **dst) {
  int t = lua_getfield(L, -1, key);
  int rc = 0;
  if (t == LUA_TSTRING)
    *dst = lm_xstrdup(lua_tostring(L, -1));
  else if (t != LUA_TNIL)
    rc = bad_target(c, i, "%s must be a string", key);
  lua_pop(L, 1);
  if (!rc && *dst && !**dst) rc = bad_target(c, i, "%s must not be empty", key);
  return rc;
}

static int read_entry(lua_State *L, lm_config *c, int i) {
  static const char *const ENTRY_KEYS[] = {"name", "url", "schemas", "query", "glob", NULL};
  lm_fleet_entry *e = &c->targets[i];
  if (lua_type(L, -1) != LUA_TTABLE)
    return bad_target(c, i, "must be a table such as { name = \"eu\", url = \"...\" }%s", "");
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int k = 0; ENTRY_KEYS[k]; k++)
        if (strcmp(ENTRY_KEYS[k], lua_tostring(L, -1)) == 0) known = 1;
    if (!known) {
      char *k = lm_xstrdup(lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?");
      lua_pop(L, 1);
      int rc = bad_target(c, i, "unknown key '%s' (known: name, url, schemas, query, glob)", k);
      free(k);
      return rc;
    }
  }
  char *glob = NULL;
  int rc = entry_string(L, c, i, "name", &e->name);
  if (!rc) rc = entry_string(L, c, i, "url", &e->url);
  if (!rc) rc = entry_string(L, c, i, "schemas", &e->sql);
  if (!rc && !e->sql) {
    rc = entry_string(L, c, i, "query", &e->sql);
    if (!rc && e->sql) e->kind = LM_FLEET_QUERY;
  } else if (!rc) {
    e->kind = LM_FLEET_SCHEMAS;
    char *q = NULL;
    rc = entry_string(L, c, i, "query", &q);
    if (!rc && q) rc = bad_target(c, i, "has both schemas and query: give one%s", "");
    free(q);
  }
  if (!rc) rc = entry_string(L, c, i, "glob", &glob);
  if (rc) goto done;
  if (!e->name) {
    rc = bad_target(c, i, "has no name%s", "");
    goto done;
  }
  if (glob) {
    if (e->url || e->sql) {
      rc = bad_target(c, i, "glob lists SQLite files: it takes no url, schemas or query%s", "");
      goto done;
    }
    e->kind = LM_FLEET_GLOB;
    e->glob = join_path(c->dir, glob);
  } else if (!e->url) {
    rc = bad_target(c, i, "'%s' has no url (or glob)", e->name);
    goto done;
  }
  if (bad_name(e->name, e->kind != LM_FLEET_URL)) {
    rc = bad_target(c, i,
                    e->kind == LM_FLEET_URL
                        ? "name '%s' must be printable, without blanks, '*' or '?'"
                        : "name '%s' must be printable, without blanks",
                    e->name);
    goto done;
  }
  if (e->url) {
    lm_url *u = NULL;
    rc = lm_url_parse(&u, e->url);
    if (rc) {
      char *why = lm_xstrdup(lm_error_last()->message);
      rc = bad_target(c, i, "%s", why);
      free(why);
    } else if (e->kind == LM_FLEET_SCHEMAS &&
               !lm_dialect_has_cap(lm_dialect_find(u->dialect), LM_CAP_SCHEMAS)) {
      rc = bad_target(c, i, "schemas needs a PostgreSQL url, not %s", u->masked);
    }
    lm_url_free(u);
  }
done:
  free(glob);
  return rc;
}

static int read_targets(lua_State *L, lm_config *c, const char *text) {
  int t = lua_getfield(L, -1, "targets");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    return 0;
  }
  if (t != LUA_TTABLE) {
    lua_pop(L, 1);
    return bad(c, text, "targets",
               "must be a list of tables such as { name = \"eu\", url = \"...\" }", NULL);
  }
  int n = (int)lua_rawlen(L, -1);
  int count = 0;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    count++;
  }
  if (n == 0 || count != n) {
    lua_pop(L, 1);
    return bad(c, text, "targets",
               count != n ? "must be a list (entries 1, 2, 3, ... without other keys)"
                          : "is empty: list at least one { name = ..., url = ... }",
               NULL);
  }
  c->targets = lm_xcalloc((size_t)n, sizeof *c->targets);
  c->ntargets = n;
  target_lines(text, c);
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    lua_rawgeti(L, -1, i + 1);
    rc = read_entry(L, c, i);
    lua_pop(L, 1);
    for (int k = 0; k < i && !rc; k++)
      if (strcmp(c->targets[k].name, c->targets[i].name) == 0) {
        char *msg = lm_xasprintf("'%s' is listed twice (also targets[%d]): names must be unique",
                                 c->targets[i].name, k + 1);
        rc = bad_target(c, i, "%s", msg);
        free(msg);
      }
  }
  lua_pop(L, 1);
  return rc;
}

/* model = "schema.lua" or a list of files (SPEC §10). */
static int read_model(lua_State *L, lm_config *c, const char *text) {
  int t = lua_getfield(L, -1, "model");
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    /* No key: schema.lua beside luamig.lua is the model when it exists,
     * as the model's usual place (SPEC §10). */
    char *def = join_path(c->dir, "schema.lua");
    struct stat st;
    if (stat(def, &st) == 0 && S_ISREG(st.st_mode)) {
      c->model = lm_xcalloc(1, sizeof *c->model);
      c->model_display = lm_xcalloc(1, sizeof *c->model_display);
      c->model[0] = def;
      c->model_display[0] = lm_xstrdup("schema.lua");
      c->nmodel = 1;
    } else {
      free(def);
    }
    return 0;
  }
  int n = t == LUA_TSTRING ? 1 : t == LUA_TTABLE ? (int)lua_rawlen(L, -1) : 0;
  if (n == 0) return bad(c, text, "model", "must be a file name or a list of file names", NULL);
  c->model = lm_xcalloc((size_t)n, sizeof *c->model);
  c->model_display = lm_xcalloc((size_t)n, sizeof *c->model_display);
  for (int i = 1; i <= n; i++) {
    if (t == LUA_TTABLE) lua_rawgeti(L, -1, i);
    if (lua_type(L, -1) != LUA_TSTRING) {
      if (t == LUA_TTABLE) lua_pop(L, 1);
      return bad(c, text, "model", "must be a file name or a list of file names", NULL);
    }
    c->model_display[c->nmodel] = lm_xstrdup(lua_tostring(L, -1));
    c->model[c->nmodel] = join_path(c->dir, lua_tostring(L, -1));
    c->nmodel++;
    if (t == LUA_TTABLE) lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

static int read_table(lua_State *L, lm_config *c, const char *text) {
  /* unknown keys are most often typos of real ones */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    int known = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (int i = 0; KEYS[i]; i++)
        if (strcmp(KEYS[i], lua_tostring(L, -1)) == 0) known = 1;
    if (!known) {
      const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
      int line = key_line(text, k);
      char *where = line ? lm_xasprintf("%s:%d", c->path, line) : lm_xstrdup(c->path);
      lm_error_set(LM_ECONFIG,
                   "%s: unknown setting '%s' (known: url, versions, version_table, "
                   "version_table_schema, transaction_per_migration, lock_timeout, lock_retries, "
                   "targets, model, env, revision_timeout)",
                   where, k);
      free(where);
      lua_pop(L, 1);
      return LM_ECONFIG;
    }
  }
  if (set_string(L, c, text, "url", &c->url) ||
      set_string(L, c, text, "version_table", &c->version_table) ||
      set_string(L, c, text, "version_table_schema", &c->version_table_schema) ||
      set_string(L, c, text, "lock_timeout", &c->lock_timeout))
    return LM_ECONFIG;
  if (c->version_table && !*c->version_table)
    return bad(c, text, "version_table", "must not be empty", NULL);
  if (c->lock_timeout && !pg_duration_ok(c->lock_timeout))
    return bad(c, text, "lock_timeout",
               "must be a duration such as \"5s\", \"500ms\" or \"1min\" (a bare number is "
               "milliseconds)",
               NULL);
  int t = lua_getfield(L, -1, "transaction_per_migration");
  if (t == LUA_TBOOLEAN)
    c->transaction_per_migration = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    return bad(c, text, "transaction_per_migration", "must be true or false", NULL);
  lua_pop(L, 1);
  t = lua_getfield(L, -1, "lock_retries");
  if (t == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 0 &&
      lua_tointeger(L, -1) <= 1000)
    c->lock_retries = (int)lua_tointeger(L, -1);
  else if (t != LUA_TNIL)
    return bad(c, text, "lock_retries", "must be a whole number from 0 to 1000", NULL);
  lua_pop(L, 1);
  t = lua_getfield(L, -1, "revision_timeout");
  if (t == LUA_TSTRING || t == LUA_TNUMBER) {
    long long ms = parse_duration_ms(lua_tostring(L, -1));
    if (ms <= 0)
      return bad(c, text, "revision_timeout",
                 "must be a duration such as \"30s\", \"500ms\", \"2min\"", NULL);
    lm_lua_revision_timeout_ms = ms;
  } else if (t != LUA_TNIL) {
    return bad(c, text, "revision_timeout", "must be a duration such as \"30s\"", NULL);
  }
  lua_pop(L, 1);
  t = lua_getfield(L, -1, "env");
  if (t == LUA_TTABLE) {
    for (int i = 1; i <= (int)lua_rawlen(L, -1); i++) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING)
        return bad(c, text, "env", "must be a list of environment variable names", NULL);
      lm_lua_allow_env(L, lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    return bad(c, text, "env", "must be a list of environment variable names", NULL);
  }
  lua_pop(L, 1);
  t = lua_getfield(L, -1, "versions");
  if (t == LUA_TSTRING || t == LUA_TTABLE) {
    int n = t == LUA_TSTRING ? 1 : (int)lua_rawlen(L, -1);
    if (n == 0) return bad(c, text, "versions", "must list at least one folder", NULL);
    for (int i = 0; i < c->nversions; i++) {
      free(c->versions[i]);
      free(c->versions_display[i]);
    }
    free(c->versions);
    free(c->versions_display);
    c->versions = lm_xcalloc((size_t)n, sizeof *c->versions);
    c->versions_display = lm_xcalloc((size_t)n, sizeof *c->versions_display);
    c->nversions = 0;
    for (int i = 1; i <= n; i++) {
      if (t == LUA_TTABLE) lua_rawgeti(L, -1, i);
      if (lua_type(L, -1) != LUA_TSTRING) {
        if (t == LUA_TTABLE) lua_pop(L, 1);
        return bad(c, text, "versions", "must be a folder name or a list of folder names", NULL);
      }
      c->versions_display[c->nversions] = lm_xstrdup(lua_tostring(L, -1));
      c->versions[c->nversions] = join_path(c->dir, lua_tostring(L, -1));
      c->nversions++;
      if (t == LUA_TTABLE) lua_pop(L, 1);
    }
  } else if (t != LUA_TNIL) {
    return bad(c, text, "versions", "must be a folder name or a list of folder names", NULL);
  }
  lua_pop(L, 1);
  int rc = read_targets(L, c, text);
  if (rc) return rc;
  return read_model(L, c, text);
}

typedef struct config_ctx {
  lm_config *c;
  const char *text;
  int rc;
} config_ctx;

static int read_table_protected(lua_State *L) {
  config_ctx *x = lua_touserdata(L, 1);
  x->rc = read_table(L, x->c, x->text);
  return 0;
}

int lm_config_load(lm_config **out, lua_State *L, const char *path) {
  *out = NULL;
  char *text;
  size_t len;
  if (lm_read_file(path, &text, &len) != 0) {
    char *why = lm_xstrdup(lm_error_last()->message);
    lm_error_set(LM_ECONFIG, "cannot read config file %s (%s)", path, why);
    free(why);
    return LM_ECONFIG;
  }
  lm_config *c = lm_config_default();
  c->path = lm_xstrdup(path);
  const char *slash = strrchr(path, '/');
  free(c->dir);
  c->dir =
      slash ? lm_xstrndup(path, (size_t)((slash - path) ? (slash - path) : 1)) : lm_xstrdup(".");
  free(c->versions[0]);
  c->versions[0] = join_path(c->dir, "versions");
  int top = lua_gettop(L);
  char *chunk = lm_xasprintf("@%s", path);
  int rc = 0;
  size_t off = lm_source_start(text, len);
  int st = luaL_loadbufferx(L, text + off, len - off, chunk, "t");
  free(chunk);
  if (st == LUA_OK) {
    lm_lua_push_config_env(L);
    lua_setupvalue(L, -2, 1);
    lua_pushcfunction(L, lm_lua_msgh);
    lua_insert(L, -2);
    st = lua_pcall(L, 0, 1, -2);
  }
  if (st != LUA_OK) {
    lm_lua_error_in_file(LM_ECONFIG, path, lua_tostring(L, -1));
    rc = LM_ECONFIG;
  } else if (lua_type(L, -1) != LUA_TTABLE) {
    rc = lm_error_set(LM_ECONFIG, "%s: must return a table of settings (return { url = ... })",
                      path);
    lm_error_set_location(path, 0);
  } else {
    /* reading the settings may run the table's metamethods: protected */
    config_ctx x = {c, text, 0};
    int tbl = lua_gettop(L);
    lua_pushcfunction(L, lm_lua_msgh);
    lua_pushcfunction(L, read_table_protected);
    lua_pushlightuserdata(L, &x);
    lua_pushvalue(L, tbl);
    if (lua_pcall(L, 2, 0, tbl + 1) != LUA_OK)
      x.rc = lm_lua_error_in_file(LM_ECONFIG, path,
                                  lua_isstring(L, -1) ? lua_tostring(L, -1) : "error in settings");
    rc = x.rc;
  }
  lua_settop(L, top);
  free(text);
  if (rc) {
    lm_config_free(c);
    return rc;
  }
  *out = c;
  return 0;
}
