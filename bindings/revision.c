/* Loading revision files into the graph, and calling their functions. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>

#include "lbind.h"

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Line of the first `key =` at the start of a line, for messages. */
static int field_line(const char *text, const char *key) {
  int line = 1;
  size_t kl = strlen(key);
  for (const char *p = text; *p; p++) {
    if ((p == text || p[-1] == '\n') && strncmp(p, key, kl) == 0) {
      const char *q = p + kl;
      while (*q == ' ' || *q == '\t')
        q++;
      if (*q == '=') return line;
    }
    if (*p == '\n') line++;
  }
  return 0;
}

static int load_error(const char *path, const char *text, const char *key, const char *fmt,
                      const char *arg) {
  int line = key ? field_line(text, key) : 0;
  char *msg = lm_xasprintf(fmt, arg ? arg : "");
  if (line)
    lm_error_set(LM_ELOAD, "%s:%d: %s", path, line, msg);
  else
    lm_error_set(LM_ELOAD, "%s: %s", path, msg);
  lm_error_set_location(path, line);
  free(msg);
  return LM_ELOAD;
}

/* Reads t[k] without metamethods: a revision's tables are user data, and a
 * raising __index must not escape protected mode. */
static int rawfield(lua_State *L, int idx, const char *k) {
  idx = lua_absindex(L, idx);
  lua_pushstring(L, k);
  return lua_rawget(L, idx);
}

/* The string at the top, when it holds no NUL byte (which C would cut). */
static const char *clean_str(lua_State *L) {
  size_t n;
  const char *s = lua_tolstring(L, -1, &n);
  return s && strlen(s) == n ? s : NULL;
}

static int valid_id(const char *s) {
  if (!s) return 0;
  size_t n = strlen(s);
  if (n < 1 || n > 32) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          *p == '_'))
      return 0;
  return 1;
}

/* Reads env[key] as nil, a string or a list of strings. */
static int id_list(lua_State *L, int env, const char *key, char ***out, int *n, const char *path,
                   const char *text, int check_ids) {
  *out = NULL;
  *n = 0;
  int t = rawfield(L, env, key);
  int rc = 0;
  if (t == LUA_TNIL) {
  } else if (t == LUA_TSTRING) {
    if (!clean_str(L)) {
      char *v = lm_xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
      rc = load_error(path, text, key,
                      check_ids ? "'%s' is not a valid revision id (it contains a NUL byte)"
                                : "'%s' contains a NUL byte",
                      v);
      free(v);
      return rc;
    }
    *out = lm_xcalloc(1, sizeof **out);
    (*out)[0] = lm_xstrdup(lua_tostring(L, -1));
    *n = 1;
  } else if (t == LUA_TTABLE) {
    int len = (int)lua_rawlen(L, -1);
    *out = lm_xcalloc((size_t)(len ? len : 1), sizeof **out);
    for (int i = 1; i <= len; i++) {
      if (lua_rawgeti(L, -1, i) != LUA_TSTRING || !clean_str(L)) {
        lua_pop(L, 2);
        return load_error(path, text, key, "%s must be a string or a list of strings", key);
      }
      (*out)[(*n)++] = lm_xstrdup(lua_tostring(L, -1));
      lua_pop(L, 1);
    }
  } else {
    rc = load_error(path, text, key, "%s must be a string or a list of strings", key);
  }
  lua_pop(L, 1);
  for (int i = 0; !rc && i < *n; i++)
    for (const unsigned char *q = (const unsigned char *)(*out)[i]; *q; q++)
      if (*q < 0x20 || *q == 0x7f)
        return load_error(path, text, key, "%s holds a control character", key);
  if (!rc && check_ids)
    for (int i = 0; i < *n; i++)
      if (!valid_id((*out)[i]))
        return load_error(path, text, key,
                          "'%s' is not a valid revision id (1-32 letters, digits or _)", (*out)[i]);
  return rc;
}

static char *header_doc(const char *text) {
  const char *p = text;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (strncmp(p, "--[[", 4) != 0) return NULL;
  const char *end = strstr(p + 4, "]]");
  if (!end) return NULL;
  p += 4;
  if (*p == '\n') p++;
  return lm_xstrndup(p, (size_t)(end - p));
}

typedef struct fields_ctx {
  const char *path, *text;
  lm_revision *r;
  int rc;
} fields_ctx;

/* The revision's fields, from its environment at index env. */
static int read_fields_body(lua_State *L, int env, const char *path, const char *text,
                            lm_revision *r) {
  int rc;
  int t = lua_getfield(L, env, "revision");
  if (t == LUA_TNIL) {
    lua_settop(L, env - 1);
    return load_error(path, text, NULL, "no revision id: set revision = \"...\"%s", NULL);
  }
  if (t != LUA_TSTRING || !valid_id(clean_str(L))) {
    const char *v = t == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1);
    rc = load_error(path, text, "revision",
                    "revision must be a string of 1-32 letters, digits or _ (got '%s')", v);
    lua_settop(L, env - 1);
    return rc;
  }
  r->id = lm_xstrdup(lua_tostring(L, -1));
  lua_pop(L, 1);
  /* these name positions on the command line, never one revision */
  static const char *const reserved[] = {"head", "heads", "base", "current", NULL};
  for (int i = 0; reserved[i]; i++)
    if (strcasecmp(r->id, reserved[i]) == 0) {
      lua_settop(L, env - 1);
      return load_error(path, text, "revision",
                        "revision id '%s' is reserved (head, heads, base and current name "
                        "positions on the command line): choose another id",
                        reserved[i]);
    }

  /* the graph's checks (engine/graph.c) name these lines */
  r->revision_line = field_line(text, "revision");
  r->down_line = field_line(text, "down_revision");
  r->depends_line = field_line(text, "depends_on");
  r->labels_line = field_line(text, "branch_labels");
  if ((rc = id_list(L, env, "down_revision", &r->down, &r->ndown, path, text, 1)) ||
      (rc = id_list(L, env, "depends_on", &r->depends, &r->ndepends, path, text, 1)) ||
      (rc = id_list(L, env, "branch_labels", &r->labels, &r->nlabels, path, text, 0))) {
    lua_settop(L, env - 1);
    return rc;
  }
  for (int i = 0; i < r->ndown; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(r->down[i], r->down[j]) == 0) {
        lua_settop(L, env - 1);
        return load_error(path, text, "down_revision", "down_revision lists '%s' twice",
                          r->down[i]);
      }
  for (int i = 0; i < r->ndepends; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(r->depends[i], r->depends[j]) == 0) {
        lua_settop(L, env - 1);
        return load_error(path, text, "depends_on", "depends_on lists '%s' twice", r->depends[i]);
      }
  t = lua_getfield(L, env, "message");
  if (t == LUA_TSTRING) {
    /* shown on terminals and in JSON: one line, no control characters
     * (terminal escapes), valid UTF-8 */
    lm_buf mb;
    lm_buf_init(&mb);
    lm_buf_put_printable(&mb, lua_tostring(L, -1));
    r->message = lm_buf_steal(&mb);
  } else if (t == LUA_TNIL)
    r->message = lm_xstrdup("");
  else {
    lua_settop(L, env - 1);
    return load_error(path, text, "message", "message must be a string%s", NULL);
  }
  lua_pop(L, 1);
  r->doc = header_doc(text);
  r->rename_mark_line = lm_rename_mark_line(text);
  if (r->doc) {
    lm_buf db;
    lm_buf_init(&db);
    for (char *line = r->doc, *nl; line; line = nl ? nl + 1 : NULL) {
      nl = strchr(line, '\n');
      if (nl) *nl = 0;
      lm_buf_put_printable(&db, line);
      if (nl) lm_buf_putc(&db, '\n');
    }
    free(r->doc);
    r->doc = lm_buf_steal(&db);
  }

  int tu = lua_getfield(L, env, "upgrade");
  int td = lua_getfield(L, env, "downgrade");
  int ts = lua_getfield(L, env, "steps");
  lua_pop(L, 3);
  if (tu != LUA_TNIL && tu != LUA_TFUNCTION)
    rc = load_error(path, text, "upgrade", "upgrade must be a function%s", NULL);
  else if (td != LUA_TNIL && td != LUA_TFUNCTION)
    rc = load_error(path, text, "downgrade", "downgrade must be a function%s", NULL);
  else if (tu == LUA_TNIL && ts == LUA_TNIL)
    rc = load_error(path, text, NULL,
                    "defines neither upgrade() nor steps: a revision needs one of them%s", NULL);
  else if (tu != LUA_TNIL && ts != LUA_TNIL)
    rc = load_error(path, text, "steps", "defines both upgrade() and steps: use one or the other%s",
                    NULL);
  else if (ts != LUA_TNIL && ts != LUA_TTABLE)
    rc = load_error(path, text, "steps",
                    "steps must be a list of { name = ..., up = function, down = function }%s",
                    NULL);
  if (rc) {
    lua_settop(L, env - 1);
    return rc;
  }
  if (tu == LUA_TFUNCTION) {
    r->nsteps = 1;
    r->has_downgrade = td == LUA_TFUNCTION;
  } else {
    if (td != LUA_TNIL) {
      lua_settop(L, env - 1);
      return load_error(
          path, text, "downgrade",
          "a revision with steps gives each step its own down function, not downgrade()%s", NULL);
    }
    lua_getfield(L, env, "steps");
    int n = (int)lua_rawlen(L, -1);
    if (n == 0) {
      lua_settop(L, env - 1);
      return load_error(path, text, "steps", "steps must not be empty%s", NULL);
    }
    r->multistep = 1;
    r->nsteps = n;
    r->has_downgrade = 1;
    r->step_names = lm_xcalloc((size_t)n, sizeof *r->step_names);
    for (int i = 1; i <= n; i++) {
      if (lua_rawgeti(L, -1, i) != LUA_TTABLE) {
        lua_settop(L, env - 1);
        return load_error(
            path, text, "steps",
            "each step must be a table { name = ..., up = function, down = function }%s", NULL);
      }
      int tn = lua_getfield(L, -1, "name");
      int tup = lua_getfield(L, -2, "up");
      int tdn = lua_getfield(L, -3, "down");
      if (tn != LUA_TSTRING || !*lua_tostring(L, -3) ||
          strlen(lua_tostring(L, -3)) != lua_rawlen(L, -3) || tup != LUA_TFUNCTION ||
          (tdn != LUA_TFUNCTION && tdn != LUA_TNIL)) {
        lua_settop(L, env - 1);
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        return load_error(path, text, "steps",
                          "step %s needs a name (string) and an up function (down: a function)",
                          num);
      }
      for (const unsigned char *q = (const unsigned char *)lua_tostring(L, -3); *q; q++)
        if (*q < 0x20 || *q == 0x7f) {
          lua_settop(L, env - 1);
          char num[16];
          snprintf(num, sizeof num, "%d", i);
          return load_error(path, text, "steps",
                            "the name of step %s holds a control character (a line break, a "
                            "terminal escape): step names are shown and recorded as one line",
                            num);
        }
      if (tdn == LUA_TNIL) r->has_downgrade = 0;
      r->step_names[i - 1] = lm_xstrdup(lua_tostring(L, -3));
      for (int j = 0; j < i - 1; j++)
        if (strcmp(r->step_names[j], r->step_names[i - 1]) == 0) {
          lua_settop(L, env - 1);
          return load_error(path, text, "steps", "two steps are named '%s'", r->step_names[j]);
        }
      lua_pop(L, 4);
    }
    lua_pop(L, 1);
  }
  r->env_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops env */
  lua_settop(L, env - 1);
  return 0;
}

static int read_fields(lua_State *L) {
  fields_ctx *x = lua_touserdata(L, 1);
  x->rc = read_fields_body(L, 2, x->path, x->text, x->r);
  return 0;
}

static int dump_writer(lua_State *L, const void *p, size_t n, void *ud) {
  (void)L;
  lm_buf_put(ud, p, n);
  return 0;
}

#define NO_CHUNK (-1) /* compile(): no usable kept chunk, and no text given */

/* Compiles a revision file: from src's kept chunk (the revision index's)
 * when it was compiled under this chunk name and still has its SHA-256,
 * else from the text. Without text, only a kept chunk will do: NO_CHUNK.
 * With keep set, a chunk compiled from the text is dumped into keep for the
 * index. */
static int compile(lua_State *L, const char *path, const char *text, size_t len,
                   const lm_revision *src, lm_revision *keep) {
  char *name = lm_xasprintf("@%s", path);
  int st = NO_CHUNK;
  size_t n;
  const char *chunk = src && src->chunkname && strcmp(src->chunkname, name) == 0
                          ? lm_revision_chunk(src, &n)
                          : NULL;
  if (chunk) {
    char sum[65];
    lm_fast_sum_hex(chunk, n, sum);
    if (strcmp(sum, src->chunk_sum) == 0) {
      st = luaL_loadbufferx(L, chunk, n, name, "b");
      if (st != LUA_OK) {
        lua_pop(L, 1);
        st = NO_CHUNK;
      }
    }
  }
  if (st == NO_CHUNK && text) {
    size_t off = lm_source_start(text, len);
    st = luaL_loadbufferx(L, text + off, len - off, name, "t");
    if (st == LUA_OK && keep) {
      lm_buf b;
      lm_buf_init(&b);
      lua_dump(L, dump_writer, &b, 0); /* with line numbers, for messages */
      keep->nchunk = b.len;
      keep->chunk = lm_buf_steal(&b);
      keep->chunkname = name;
      name = NULL;
      lm_fast_sum_hex(keep->chunk, keep->nchunk, keep->chunk_sum);
    }
  }
  free(name);
  return st;
}

/* Compiles (see compile(); keep: dump the chunk into r) and runs one
 * revision file and reads its fields into r; with fields 0, only takes its
 * environment (r->env_ref), for a file whose fields are known already.
 * *pure (when not NULL) tells whether its top level stayed within the file
 * (called no require()), so that the fields depend on its text alone. */
static int read_revision(lua_State *L, const char *path, const char *text, size_t len,
                         const lm_revision *src, lm_revision *r, int *pure, int keep, int fields) {
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_REQUIRED);
  int st = compile(L, path, text, len, src, keep ? r : NULL);
  if (st == NO_CHUNK) return NO_CHUNK;
  if (!text) text = ""; /* from a kept chunk: the file's text was checked when it was kept */
  if (st != LUA_OK) {
    lm_lua_error_in_file(LM_ELOAD, path, lua_tostring(L, -1));
    lua_pop(L, 1);
    return LM_ELOAD;
  }
  lm_lua_push_env(L);
  lua_pushvalue(L, -1);
  int env = lua_gettop(L);
  lua_insert(L, -3); /* env, chunk, env */
  lua_setupvalue(L, -2, 1);
  lua_pushcfunction(L, lm_lua_msgh);
  lua_insert(L, -2);
  lm_lua_deadline(L, lm_lua_revision_timeout_ms,
                  "%s: loading ran longer than revision_timeout (%lld ms): stopped", path);
  int lst = lua_pcall(L, 0, 0, -2);
  lm_lua_deadline(L, 0, NULL, NULL);
  if (lst != LUA_OK) {
    /* op calls raise plain messages while loading: no run is active */
    lm_lua_error_in_file(LM_ELOAD, path,
                         lua_isstring(L, -1) ? lua_tostring(L, -1) : "error while loading");
    lua_settop(L, env - 1);
    return LM_ELOAD;
  }
  lua_pop(L, 1); /* msgh */
  if (pure) {
    *pure = lua_getfield(L, LUA_REGISTRYINDEX, LM_REG_REQUIRED) == LUA_TNIL;
    lua_pop(L, 1);
  }
  env = lua_gettop(L);
  if (!fields) {
    r->env_ref = luaL_ref(L, LUA_REGISTRYINDEX); /* pops env */
    lua_settop(L, env - 1);
    return 0;
  }
  /* reading the fields may run the revision's metamethods: protected */
  fields_ctx x = {path, text, r, 0};
  lua_pushcfunction(L, lm_lua_msgh);
  lua_pushcfunction(L, read_fields);
  lua_pushlightuserdata(L, &x);
  lua_pushvalue(L, env);
  if (lua_pcall(L, 2, 0, env + 1) != LUA_OK) {
    lm_lua_error_in_file(LM_ELOAD, path,
                         lua_isstring(L, -1) ? lua_tostring(L, -1) : "error while reading fields");
    x.rc = LM_ELOAD;
  }
  lua_settop(L, env - 1);
  return x.rc;
}

static int load_dir(lua_State *L, const char *dir, const char *display, lm_graph *g) {
  DIR *d = opendir(dir);
  if (!d)
    return lm_error_set(LM_ECONFIG, "cannot open versions folder %s: %s", display, strerror(errno));
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    /* files starting with _ are helpers for require(), not revisions */
    if (len < 5 || e->d_name[0] == '.' || e->d_name[0] == '_' ||
        strcmp(e->d_name + len - 4, ".lua") != 0)
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      names = lm_xrealloc(names, (size_t)cap * sizeof *names);
    }
    names[n++] = lm_xstrdup(e->d_name);
  }
  closedir(d);
  if (n > 1) qsort(names, (size_t)n, sizeof *names, cmp_names);
  lm_revindex *x = lm_revindex_open(dir);
  int rc = 0;
  for (int i = 0; i < n && !rc; i++) {
    char *path =
        strcmp(dir, ".") == 0 ? lm_xstrdup(names[i]) : lm_xasprintf("%s/%s", dir, names[i]);
    /* stat before reading: a file changed after this is a miss next time */
    struct stat st;
    int have_st = stat(path, &st) == 0;
    lm_revision *r = have_st ? lm_revindex_get(x, names[i], &st) : NULL;
    if (r) {
      r->path = path;
      lm_graph_add(g, r);
      continue;
    }
    char *text;
    size_t len;
    rc = lm_read_file(path, &text, &len);
    if (rc) {
      rc = LM_ELOAD;
      free(path);
      break;
    }
    r = lm_xcalloc(1, sizeof *r);
    r->env_ref = LUA_NOREF;
    r->path = path;
    int pure = 0, wanted = have_st && lm_revindex_wants(x, &st);
    if (wanted) {
      char file[65];
      lm_revision_sums(text, len, r->checksum, file);
      /* a file that requires others is never kept in the index: its
       * checksum covers files the index does not watch */
      if (strcmp(r->checksum, file) != 0) {
        r->file_checksum = lm_xstrdup(file);
        wanted = 0;
      }
    }
    rc = read_revision(L, path, text, len, NULL, r, &pure, wanted, 1);
    if (!rc && pure && wanted) lm_revindex_put(x, names[i], &st, r);
    /* the index has its copy; this revision is compiled already */
    free(r->chunk);
    free(r->chunkname);
    r->chunk = r->chunkname = NULL;
    r->nchunk = 0;
    free(text);
    if (rc)
      lm_revision_free(r);
    else
      lm_graph_add(g, r);
  }
  lm_revindex_close(x, rc == 0);
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
  return rc;
}

void lm_lua_revision_unload(lua_State *L, lm_revision *r) {
  if (r->env_ref == LM_NOT_LOADED || r->env_ref == LUA_REFNIL || strlen(r->checksum) != 64) return;
  luaL_unref(L, LUA_REGISTRYINDEX, r->env_ref);
  r->env_ref = LM_NOT_LOADED;
}

/* Runs the top level of r's file -- from its kept compiled chunk when it has
 * a usable one; with text NULL, only then -- as it runs when every file is
 * loaded at start-up, before the run has set context: the same file defines
 * the same functions whether or not its fields came from the index. Its
 * fields are not read again: they are those of the same text, read when it
 * was indexed (push_step_fn copes with a top level that differs this time). */
static int run_file(lua_State *L, lm_revision *r, const char *text, size_t len) {
  lm_lua_context_begin(L, NULL, NULL, 1);
  lm_revision t = {.env_ref = LUA_NOREF};
  int rc = read_revision(L, r->path, text, len, r, &t, NULL, 0, 0);
  if (!rc) r->env_ref = t.env_ref;
  return rc;
}

int lm_lua_revision_load(lua_State *L, lm_revision *r) {
  if (r->env_ref != LM_NOT_LOADED) return 0;
  /* The chunk kept in the index is the code of exactly the text whose
   * checksum it recorded, so the file need not be read at all. */
  int rc = run_file(L, r, NULL, 0);
  if (rc != NO_CHUNK) return rc;
  char *text;
  size_t len;
  if (lm_read_file(r->path, &text, &len)) return LM_ELOAD;
  char sum[65], file_sum[65];
  lm_revision_sums(text, len, sum, file_sum);
  if (strcmp(sum, lm_revision_checksum(r)) != 0) {
    rc = lm_error_set(LM_ELOAD, "%s changed while luamig was running: run the command again",
                      r->path);
    lm_error_set_location(r->path, 0);
  } else {
    rc = run_file(L, r, text, len);
  }
  free(text);
  return rc;
}

int lm_lua_load_revisions(lua_State *L, const lm_config *c, lm_graph *g) {
  lm_revision_set_module_dirs(c->versions, c->nversions);
  for (int i = 0; i < c->nversions; i++)
    lm_lua_add_path(L, c->versions[i]);
  for (int i = 0; i < c->nversions; i++) {
    int rc = load_dir(L, c->versions[i], c->versions_display[i], g);
    if (rc) return rc;
  }
  return lm_graph_build(g);
}

/* Pushes the function that runs step `step` of r upward or downward, or
 * nil when the revision has none (no downgrade, or a step without down), or
 * when its top level made something else this time than when its fields
 * were read (a file that branches on math.random, say). */
static void push_step_fn(lua_State *L, const lm_revision *r, int step, int up) {
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, r->env_ref);
  if (!r->multistep) {
    rawfield(L, -1, up ? "upgrade" : "downgrade");
  } else if (rawfield(L, -1, "steps") == LUA_TTABLE && lua_rawgeti(L, -1, step + 1) == LUA_TTABLE) {
    rawfield(L, -1, up ? "up" : "down");
  } else {
    lua_pushnil(L);
  }
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    lua_pushnil(L);
  }
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
}

int lm_lua_call_step(lua_State *L, lm_run *run, const lm_revision *r, int step, int up) {
  int rc = lm_lua_revision_load(L, (lm_revision *)r);
  if (rc) return rc;
  int top = lua_gettop(L);
  lm_lua_context_begin(L, r->id, r->multistep ? r->step_names[step] : NULL, 0);

  lua_pushcfunction(L, lm_lua_msgh);
  push_step_fn(L, r, step, up);
  if (lua_isnil(L, -1)) {
    lua_settop(L, top);
    if (r->multistep)
      return lm_error_set(LM_EMIGRATE, "step '%s' of revision %s has no %s function",
                          r->step_names[step], r->id, up ? "up" : "down");
    return lm_error_set(LM_EMIGRATE, "revision %s (%s) has no %s()", r->id, r->path,
                        up ? "upgrade" : "downgrade");
  }
  lua_pushlightuserdata(L, run);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_RUN);
  lm_error_clear();
  lm_lua_deadline(L, lm_lua_revision_timeout_ms,
                  "revision %s ran longer than revision_timeout (%lld ms): stopped", r->id);
  int st = lua_pcall(L, 0, 0, top + 1);
  /* finalizers of what this call made run now, while it is still current:
   * an op call from one is refused (bindings/op.c) and fails this call */
  if (lm_lua_take_gc_armed(L)) {
    lua_gc(L, LUA_GCCOLLECT);
  }
  if (lm_lua_take_gc_refused(L)) {
    if (st == LUA_OK)
      st = LUA_ERRRUN; /* its message is on the stack */
    else
      lua_pop(L, 1);
  }
  lm_lua_deadline(L, 0, NULL, NULL);
  if (st != LUA_OK) {
    if (lua_islightuserdata(L, -1) && lua_touserdata(L, -1) == &lm_lua_error_sentinel) {
      rc = lm_error_code() ? lm_error_code() : LM_EMIGRATE;
    } else {
      lm_lua_error_from_message(LM_EMIGRATE, lua_tostring(L, -1));
      rc = LM_EMIGRATE;
    }
  }
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_RUN);
  lua_settop(L, top);
  return rc;
}
