/* The model (SPEC §10): schema.lua run in the revision sandbox with the
 * globals table, column, index, primary_key, unique, foreign_key, check, sql
 * and context. The arguments are those of op.create_table and its helpers and
 * are parsed by the same code (lm_lua_parse_table_items); the records are then
 * turned into the schema model (schema.h) with the dialect's own type names,
 * so that the model and a database compare in the same terms. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "compare.h"
#include "lbind.h"
#include "normalize.h"
#include "recreate.h"

#define MT_MINDEX "luamig.model.index"

/* A foreign key to check once every file is loaded: tables may come in any
 * order. */
typedef struct pending_ref {
  char *table, *ref_table, *ref_col, *file;
  int line;
} pending_ref;

typedef struct model_ctx {
  lm_schema *s;
  const lm_dialect *d;
  pending_ref *refs;
  int nrefs, caprefs;
} model_ctx;

static int model_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lm_lua_push_located(L, fmt, ap);
  va_end(ap);
  return lua_error(L);
}

static model_ctx *ctx_of(lua_State *L) { return lua_touserdata(L, lua_upvalueindex(1)); }

/* column(name, type, opts): op.column plus renamed_from. */
static int m_column(lua_State *L) {
  lua_settop(L, 3);
  /* checked here: op.column, called from C, could not name the call or
   * the model's line */
  if (lua_type(L, 1) != LUA_TSTRING)
    return model_error(L, "column: the name must be a string, got %s", luaL_typename(L, 1));
  const char *renamed = NULL;
  if (lua_type(L, 3) == LUA_TTABLE) {
    lua_getfield(L, 3, "renamed_from");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
      return model_error(L, "column: renamed_from must be a string");
    renamed = lua_tostring(L, -1);
    lua_pop(L, 1);
    if (renamed) { /* a copy of the options without it, for op.column */
      lua_newtable(L);
      lua_pushnil(L);
      while (lua_next(L, 3)) {
        if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "renamed_from") == 0) {
          lua_pop(L, 1);
          continue;
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
      }
      lua_replace(L, 3);
    }
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "luamig.optable");
  lua_getfield(L, -1, "column");
  lua_remove(L, -2);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_call(L, 3, 1);
  if (renamed) {
    lua_pushstring(L, renamed);
    lua_setfield(L, -2, "renamed_from");
  }
  /* A type neither luamig nor the database knows is most often a typo
   * ("integr"): said now, where the model names it, rather than by lint on
   * the revision written from it. A type of the user's own (CREATE TYPE, a
   * domain) stays allowed. */
  const char *type = lua_tostring(L, 2);
  if (type && !lm_type_known(ctx_of(L)->d, type)) {
    const char *src = "?";
    int line = 0;
    lm_lua_caller_location(L, &src, &line);
    fprintf(stderr,
            "luamig: warning: %s:%d: column '%s': unknown type \"%s\", neither a luamig type "
            "nor one %s knows (a type of your own is fine: the revision written from it then "
            "needs -- luamig: allow unknown-type)\n",
            src, line, lua_tostring(L, 1), type, lm_dialect_display_name(ctx_of(L)->d));
  }
  return 1;
}

/* Whether index()'s columns (its argument 2: a name or a list) name col. */
static int index_has(lua_State *L, const char *col) {
  if (lua_type(L, 2) == LUA_TSTRING) return strcmp(lua_tostring(L, 2), col) == 0;
  int in = 0;
  for (int i = 1; !in && i <= (int)lua_rawlen(L, 2); i++) {
    in = lua_rawgeti(L, 2, i) == LUA_TSTRING && strcmp(lua_tostring(L, -1), col) == 0;
    lua_pop(L, 1);
  }
  return in;
}

/* Whether the value on top of the stack is a name or a non-empty list of
 * names (postgresql_include). */
static int names_ok(lua_State *L) {
  if (lua_type(L, -1) == LUA_TSTRING) return lua_rawlen(L, -1) > 0;
  if (lua_type(L, -1) != LUA_TTABLE || lua_rawlen(L, -1) == 0) return 0;
  int ok = 1;
  for (int i = 1; ok && i <= (int)lua_rawlen(L, -1); i++) {
    ok = lua_rawgeti(L, -1, i) == LUA_TSTRING && lua_rawlen(L, -1) > 0;
    lua_pop(L, 1);
  }
  return ok;
}

/* index(name, cols, {unique, where, postgresql_using, postgresql_ops,
 * postgresql_include}) */
static int m_index(lua_State *L) {
  lua_settop(L, 3);
  if (lua_type(L, 1) != LUA_TSTRING) return model_error(L, "index: the name must be a string");
  if (lua_rawlen(L, 1) == 0) return model_error(L, "index: the name must not be empty");
  if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TTABLE)
    return model_error(L, "index '%s': columns must be a name or a list of names",
                       lua_tostring(L, 1));
  static const char *const opts[] = {
      "unique", "where", "postgresql_using", "postgresql_ops", "postgresql_include", NULL};
  lm_lua_check_opts(L, 3, "index", opts);
  if (lua_type(L, 3) == LUA_TTABLE) {
    int tu = lua_getfield(L, 3, "unique");
    lua_pop(L, 1);
    if (tu != LUA_TNIL && tu != LUA_TBOOLEAN)
      return model_error(L, "index '%s': unique must be true or false", lua_tostring(L, 1));
    int tm = lua_getfield(L, 3, "postgresql_using");
    int bad = tm != LUA_TNIL && (tm != LUA_TSTRING || !lm_sql_plain_name(lua_tostring(L, -1), 0));
    lua_pop(L, 1);
    if (bad)
      return model_error(L,
                         "index '%s': postgresql_using must be the name of an index method (gin, "
                         "gist, brin, hash)",
                         lua_tostring(L, 1));
    /* postgresql_ops: { column = "opclass" }, for columns of the index */
    int to = lua_getfield(L, 3, "postgresql_ops");
    bad = to != LUA_TNIL && to != LUA_TTABLE;
    if (to == LUA_TTABLE) {
      lua_pushnil(L);
      while (!bad && lua_next(L, -2)) {
        bad = lua_type(L, -2) != LUA_TSTRING || !index_has(L, lua_tostring(L, -2)) ||
              lua_type(L, -1) != LUA_TSTRING || !lm_sql_plain_name(lua_tostring(L, -1), 1);
        lua_pop(L, 1);
      }
      if (bad) lua_pop(L, 1); /* the key lua_next left */
    }
    lua_pop(L, 1);
    if (bad)
      return model_error(L,
                         "index '%s': postgresql_ops must map columns of the index to operator "
                         "class names (gin_trgm_ops, varchar_pattern_ops, ...)",
                         lua_tostring(L, 1));
    int ti = lua_getfield(L, 3, "postgresql_include");
    bad = ti != LUA_TNIL && !names_ok(L);
    lua_pop(L, 1);
    if (bad)
      return model_error(L,
                         "index '%s': postgresql_include must be a column name or a list of them",
                         lua_tostring(L, 1));
  }
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "name");
  lua_pushvalue(L, 2);
  lua_setfield(L, -2, "cols");
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "opts");
  luaL_setmetatable(L, MT_MINDEX);
  return 1;
}

static int is_index(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || !lua_getmetatable(L, idx)) return 0;
  luaL_getmetatable(L, MT_MINDEX);
  int eq = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return eq;
}

static void add_ref(model_ctx *m, const char *table, const char *rt, const char *rc,
                    const char *file, int line) {
  if (m->nrefs == m->caprefs) {
    m->caprefs = m->caprefs ? m->caprefs * 2 : 16;
    m->refs = lm_xrealloc(m->refs, (size_t)m->caprefs * sizeof *m->refs);
  }
  m->refs[m->nrefs++] =
      (pending_ref){lm_xstrdup(table), lm_xstrdup(rt), lm_xstrdup(rc), lm_xstrdup(file), line};
}

/* table(name, items..., [{renamed_from}]) — called through table's __call,
 * so argument 1 is the table library itself. */
static int m_table(lua_State *L) {
  model_ctx *m = ctx_of(L);
  lua_remove(L, 1);
  int n = lua_gettop(L);
  if (lua_type(L, 1) != LUA_TSTRING)
    return model_error(L, "table: the first argument must be the table's name");
  const char *name = lua_tostring(L, 1);
  if (!*name) return model_error(L, "table: the name must not be empty");
  const char *src = "?";
  int line = 0;
  lm_lua_caller_location(L, &src, &line);
  const char *renamed = NULL;
  /* table(name, { items... } [, opts]): a single list, as create_table takes */
  if (n >= 2 && lua_type(L, 2) == LUA_TTABLE && !lm_lua_is_column(L, 2) &&
      !lm_lua_is_constraint(L, 2) && !is_index(L, 2) && lua_rawlen(L, 2) > 0) {
    int len = (int)lua_rawlen(L, 2);
    lua_pushvalue(L, 2);
    lua_remove(L, 2);
    for (int i = 1; i <= len; i++) { /* the list stays on top */
      lua_rawgeti(L, -1, i);
      lua_insert(L, 2 + i - 1);
    }
    lua_pop(L, 1);
    n = lua_gettop(L);
  }
  int last = n;
  if (n >= 2 && lua_type(L, n) == LUA_TTABLE && !lm_lua_is_column(L, n) &&
      !lm_lua_is_constraint(L, n) && !is_index(L, n)) {
    static const char *const opts[] = {"renamed_from", NULL};
    lm_lua_check_opts(L, n, "table", opts);
    lua_getfield(L, n, "renamed_from");
    if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
      return model_error(L, "table '%s': renamed_from must be a string", name);
    renamed = lua_tostring(L, -1);
    lua_pop(L, 1);
    last = n - 1;
  }
  if (lm_schema_find_table(m->s, name))
    return model_error(L, "table '%s' is declared twice in the model", name);
  lua_newtable(L); /* columns and constraints */
  int items = lua_gettop(L);
  lua_newtable(L); /* indexes */
  int idxs = lua_gettop(L);
  int ni = 0, nx = 0;
  for (int i = 2; i <= last; i++) {
    if (lm_lua_is_column(L, i) || lm_lua_is_constraint(L, i)) {
      lua_pushvalue(L, i);
      lua_rawseti(L, items, ++ni);
    } else if (is_index(L, i)) {
      lua_pushvalue(L, i);
      lua_rawseti(L, idxs, ++nx);
    } else {
      return model_error(L,
                         "table '%s': argument %d is not a column(...), an index(...) or a "
                         "constraint (primary_key, unique, foreign_key, check)",
                         name, i);
    }
  }
  lm_op op = {.kind = LM_OP_CREATE_TABLE, .table = name};
  lm_lua_parse_table_items(L, items, "table", &op);
  if (op.ncols == 0) return model_error(L, "table '%s' needs at least one column", name);
  for (int i = 0; i < op.ncols; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(op.cols[i].name, op.cols[j].name) == 0)
        return model_error(L, "table '%s': column '%s' is declared twice", name, op.cols[i].name);
  int npk = 0;
  for (int i = 0; i < op.ncons; i++)
    if (op.cons[i].kind == LM_CON_PK) npk++;
  if (npk > 1) return model_error(L, "table '%s' has more than one primary key", name);
  for (int i = 0; i < op.ncons; i++) {
    const lm_constraint *k = &op.cons[i];
    for (int j = 0; j < k->ncols; j++) {
      if (!lm_op_find_column(&op, k->cols[j]))
        return model_error(L, "table '%s': a constraint names column '%s', which the table lacks",
                           name, k->cols[j]);
    }
  }
  /* foreign key actions go into the SQL text: the model says what is wrong
   * now, not the upgrade later */
  for (int i = 0; i < op.ncols + op.ncons; i++) {
    const char *act[2] = {i < op.ncols ? op.cols[i].ondelete : op.cons[i - op.ncols].ondelete,
                          i < op.ncols ? op.cols[i].onupdate : op.cons[i - op.ncols].onupdate};
    for (int a = 0; a < 2; a++)
      if (act[a] && !lm_fk_action_valid(act[a]))
        return model_error(L,
                           "table '%s': %s '%s' is not a foreign key action (CASCADE, SET NULL, "
                           "SET DEFAULT, RESTRICT or NO ACTION)",
                           name, a ? "onupdate" : "ondelete", act[a]);
  }
  /* renamed_from of each column, in column order */
  const char **col_renamed = lua_newuserdatauv(L, sizeof(char *) * (size_t)op.ncols, 0);
  for (int i = 1, c = 0; i <= ni; i++) {
    lua_rawgeti(L, items, i);
    if (lm_lua_is_column(L, -1)) {
      lua_getfield(L, -1, "renamed_from");
      col_renamed[c++] = lua_tostring(L, -1); /* kept alive by the column table */
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  /* indexes: read everything from Lua before building (no Lua error after) */
  typedef struct mindex {
    const char *name, *where, *method;
    const char **ops; /* per column: its operator class, or NULL */
    const char **cols;
    const char **include; /* INCLUDE columns, where the dialect has them */
    int ncols, unique, ninclude;
  } mindex;
  mindex *mx = lua_newuserdatauv(L, sizeof *mx * (size_t)(nx ? nx : 1), 0);
  for (int i = 1; i <= nx; i++) {
    mindex *x = &mx[i - 1];
    lua_rawgeti(L, idxs, i);
    int it = lua_gettop(L);
    lua_getfield(L, it, "name");
    x->name = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, it, "cols");
    /* a name, an sql(...) expression, or a list of them (the strings live
     * in the list and its sql values, which the index table keeps) */
    const char *one = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : lm_lua_sql_text(L, -1);
    int nc = one ? 1 : (int)lua_rawlen(L, -1);
    if (nc == 0) return model_error(L, "index '%s' needs at least one column", x->name);
    x->cols = lua_newuserdatauv(L, sizeof(char *) * (size_t)nc, 0);
    lua_setfield(L, it, "_colsbuf");
    if (one) {
      x->cols[0] = one;
    } else {
      for (int j = 1; j <= nc; j++) {
        lua_rawgeti(L, -1, j);
        const char *e =
            lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : lm_lua_sql_text(L, -1);
        if (!e)
          return model_error(L, "index '%s': columns must be names or sql(...) expressions",
                             x->name);
        x->cols[j - 1] = e;
        lua_pop(L, 1);
      }
    }
    x->ncols = nc;
    lua_pop(L, 1);
    lua_getfield(L, it, "opts");
    x->unique = 0;
    x->where = x->method = NULL;
    x->ops = NULL;
    x->include = NULL;
    x->ninclude = 0;
    if (lua_type(L, -1) == LUA_TTABLE) {
      /* Alembic's postgresql_using (checked by index()): the access method
       * where the model's dialect has them (<dialect>_using), nothing on the
       * others */
      lua_pushfstring(L, "%s_using", m->d->name);
      lua_gettable(L, -2);
      x->method = lua_tostring(L, -1);
      lua_setfield(L, it, "_method"); /* keeps the string alive */
      /* and postgresql_ops likewise (<dialect>_ops); the strings live in
       * the options table, which the index table keeps */
      lua_pushfstring(L, "%s_ops", m->d->name);
      if (lua_gettable(L, -2) == LUA_TTABLE) {
        x->ops = lua_newuserdatauv(L, sizeof(char *) * (size_t)x->ncols, 0);
        lua_setfield(L, it, "_opsbuf");
        for (int j = 0; j < x->ncols; j++) {
          lua_getfield(L, -1, x->cols[j]);
          x->ops[j] = lua_tostring(L, -1);
          lua_pop(L, 1);
        }
      }
      lua_pop(L, 1);
      /* and postgresql_include likewise (<dialect>_include): a name or a
       * list, kept alive by the options table */
      lua_pushfstring(L, "%s_include", m->d->name);
      int ti = lua_gettable(L, -2);
      if (ti == LUA_TSTRING || ti == LUA_TTABLE) {
        int ni = ti == LUA_TSTRING ? 1 : (int)lua_rawlen(L, -1);
        x->include = lua_newuserdatauv(L, sizeof(char *) * (size_t)ni, 0);
        lua_setfield(L, it, "_includebuf");
        for (int j = 0; j < ni; j++) {
          if (ti == LUA_TTABLE) lua_rawgeti(L, -1, j + 1);
          x->include[j] = lua_tostring(L, -1);
          if (ti == LUA_TTABLE) lua_pop(L, 1);
        }
        x->ninclude = ni;
      }
      lua_pop(L, 1);
      lua_getfield(L, -1, "unique");
      x->unique = lua_toboolean(L, -1);
      lua_pop(L, 1);
      lua_getfield(L, -1, "where");
      if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
        return model_error(L, "index '%s': where must be a string of SQL", x->name);
      x->where = lua_tostring(L, -1);
      lua_setfield(L, it, "_where"); /* keeps the string alive */
    }
    lua_pop(L, 1);
    lua_pop(L, 1); /* the index table stays referenced by idxs */
    for (int j = 0; j < i - 1; j++)
      if (strcmp(mx[j].name, x->name) == 0)
        return model_error(L, "table '%s': index '%s' is declared twice", name, x->name);
    /* an index's name is one of its schema's: no other table may use it */
    for (int k = 0; k < m->s->ntables; k++) {
      const lm_schema_table *o = m->s->tables[k];
      for (int j = 0; j < o->indexes.n; j++)
        if (o->indexes.v[j].name && strcmp(o->indexes.v[j].name, x->name) == 0)
          return model_error(L,
                             "table '%s': index '%s' has the name of an index of table '%s' "
                             "(index names are unique in a schema)",
                             name, x->name, o->name);
    }
    /* a plain name must be a column of the table; anything else is an
     * expression (lower(email)), which the database checks */
    for (int j = 0; j < x->ncols; j++) {
      const char *cn = x->cols[j];
      int plain = *cn != 0;
      for (const char *q = cn; *q && plain; q++)
        plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                *q == '_';
      if (plain && !lm_op_find_column(&op, cn))
        return model_error(L, "table '%s': index '%s' names column '%s', which the table lacks",
                           name, x->name, cn);
    }
    for (int j = 0; j < x->ninclude; j++)
      if (!lm_op_find_column(&op, x->include[j]))
        return model_error(L, "table '%s': index '%s' includes column '%s', which the table lacks",
                           name, x->name, x->include[j]);
  }

  /* ---- building: no Lua error from here on ---- */
  lm_schema_table *t = lm_schema_apply_create_table(m->s, m->d, &op);
  t->renamed_from = lm_xstrdup(renamed);
  t->file = lm_xstrdup(src);
  t->line = line;
  for (int i = 0; i < op.ncols; i++) {
    t->cols[i].renamed_from = lm_xstrdup(col_renamed[i]);
    if (op.cols[i].ref_table)
      add_ref(m, name, op.cols[i].ref_table, op.cols[i].ref_column, src, line);
  }
  for (int i = 0; i < op.ncons; i++)
    for (int j = 0; op.cons[i].kind == LM_CON_FK && j < op.cons[i].nref; j++)
      add_ref(m, name, op.cons[i].ref_table, op.cons[i].ref_cols[j], src, line);
  for (int i = 0; i < nx; i++) {
    lm_schema_item *it = lm_schema_add_index(t, mx[i].name, "");
    it->unique = mx[i].unique;
    it->expr = lm_xstrdup(mx[i].where);
    it->method = lm_norm_index_method(mx[i].method);
    lm_schema_item_set_include(it, mx[i].include, mx[i].ninclude);
    for (int j = 0; j < mx[i].ncols; j++) {
      if (!mx[i].ops || !mx[i].ops[j]) {
        lm_schema_item_add_index_col(t, it, mx[i].cols[j]);
        continue;
      }
      lm_buf b; /* "column opclass", as the entry would be written */
      lm_buf_init(&b);
      lm_buf_sql_name(&b, mx[i].cols[j]);
      lm_buf_printf(&b, " %s", mx[i].ops[j]);
      lm_schema_item_add_index_col(t, it, b.s);
      lm_buf_free(&b);
    }
  }
  return 0;
}

/* The helpers of op that the model uses as they are. */
static void copy_op_helper(lua_State *L, int env, const char *name) {
  lua_getfield(L, LUA_REGISTRYINDEX, "luamig.optable");
  lua_getfield(L, -1, name);
  lua_setfield(L, env, name);
  lua_pop(L, 1);
}

static int check_refs(model_ctx *m) {
  for (int i = 0; i < m->nrefs; i++) {
    const pending_ref *r = &m->refs[i];
    lm_schema_table *t = lm_schema_find_table(m->s, r->ref_table);
    const char *why = NULL;
    if (!t)
      why = "no such table in the model";
    else if (r->ref_col && !lm_schema_find_column(t, r->ref_col))
      why = "no such column in the model";
    if (!why) continue;
    lm_error_set(LM_ECONFIG, "%s:%d: table '%s' references %s%s%s: %s", r->file, r->line, r->table,
                 r->ref_table, r->ref_col ? "." : "", r->ref_col ? r->ref_col : "", why);
    lm_error_set_location(r->file, r->line);
    return LM_ECONFIG;
  }
  return 0;
}

static int load_file(lua_State *L, const char *path) {
  int top = lua_gettop(L);
  int st = luaL_loadfilex(L, path, "t");
  if (st == LUA_ERRFILE) {
    lua_settop(L, top);
    lm_error_set(LM_ECONFIG, "cannot read the model file %s", path);
    lm_error_set_location(path, 0);
    return LM_ECONFIG;
  }
  if (st == LUA_OK) {
    lm_lua_push_module_env(L);
    lua_setupvalue(L, -2, 1);
    lua_pushcfunction(L, lm_lua_msgh);
    lua_insert(L, -2);
    st = lua_pcall(L, 0, 0, -2);
  }
  int rc = 0;
  if (st != LUA_OK) {
    if (lua_islightuserdata(L, -1))
      rc = lm_error_code() ? lm_error_code() : LM_ECONFIG;
    else
      rc = lm_lua_error_in_file(LM_ECONFIG, path, lua_tostring(L, -1));
  }
  lua_settop(L, top);
  return rc;
}

/* Pushes the model's globals: table (Lua's table library, callable),
 * column, index and op's constraint helpers. */
static void push_model_globals(lua_State *L, model_ctx *m) {
  lua_newtable(L);
  int g = lua_gettop(L);
  lm_lua_push_env(L); /* reaches the safe table library */
  lua_newtable(L);
  lua_newtable(L);
  lua_getfield(L, -3, "table");
  lua_setfield(L, -2, "__index");
  lua_pushlightuserdata(L, m);
  lua_pushcclosure(L, m_table, 1);
  lua_setfield(L, -2, "__call");
  lua_setmetatable(L, -2);
  lua_setfield(L, g, "table");
  lua_pop(L, 1);
  lua_pushlightuserdata(L, m);
  lua_pushcclosure(L, m_column, 1);
  lua_setfield(L, g, "column");
  lua_pushcfunction(L, m_index);
  lua_setfield(L, g, "index");
  copy_op_helper(L, g, "primary_key");
  copy_op_helper(L, g, "unique");
  copy_op_helper(L, g, "foreign_key");
  copy_op_helper(L, g, "check");
  copy_op_helper(L, g, "sql");
}

/* The registry entries the model runs with instead of a revision's, saved
 * on the stack and put back by sandbox_end. */
static const char *const SWAPPED[] = {LM_REG_PATH, LM_REG_LOADED, LM_REG_REQUIRED,
                                      LM_REG_MODULE_GLOBALS};
#define NSWAPPED ((int)(sizeof SWAPPED / sizeof *SWAPPED))

/* require() from the model searches the folder of each model file first,
 * then the project's folders as from a revision, and gives the modules it
 * loads the model's globals; modules are cached apart from the revisions'
 * (a helper of the same name in versions/ is another file). */
static void sandbox_begin(lua_State *L, const lm_config *c, model_ctx *m) {
  for (int i = 0; i < NSWAPPED; i++)
    lua_getfield(L, LUA_REGISTRYINDEX, SWAPPED[i]);
  int saved_path = lua_gettop(L) - NSWAPPED + 1;
  lua_newtable(L);
  int n = 0;
  for (int i = 0; i < c->nmodel; i++) {
    const char *slash = strrchr(c->model[i], '/');
    if (!slash)
      lua_pushliteral(L, ".");
    else
      lua_pushlstring(L, c->model[i], slash == c->model[i] ? 1 : (size_t)(slash - c->model[i]));
    int seen = 0;
    for (int j = 1; j <= n && !seen; j++) {
      lua_rawgeti(L, -2, j);
      seen = lua_rawequal(L, -1, -2);
      lua_pop(L, 1);
    }
    if (seen)
      lua_pop(L, 1);
    else
      lua_rawseti(L, -2, ++n);
  }
  for (int j = 1; lua_istable(L, saved_path) && j <= (int)lua_rawlen(L, saved_path); j++) {
    lua_rawgeti(L, saved_path, j);
    lua_rawseti(L, -2, ++n);
  }
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_PATH);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_LOADED);
  push_model_globals(L, m);
  lua_setfield(L, LUA_REGISTRYINDEX, LM_REG_MODULE_GLOBALS);
}

static void sandbox_end(lua_State *L) {
  for (int i = NSWAPPED - 1; i >= 0; i--)
    lua_setfield(L, LUA_REGISTRYINDEX, SWAPPED[i]);
}

int lm_model_load(lm_project *p, const lm_dialect *d, lm_schema **out) {
  *out = NULL;
  const lm_config *c = p->config;
  if (!c || c->nmodel == 0)
    return lm_error_set(LM_ECONFIG,
                        "no model: set model = \"schema.lua\" in %s (SPEC: the "
                        "model and autogenerate)",
                        c && c->path ? c->path : "luamig.lua");
  lua_State *L = p->L;
  int top = lua_gettop(L);
  luaL_newmetatable(L, MT_MINDEX);
  lua_pop(L, 1);
  /* The model always sees the dialect it is compared in, and a context of
   * its own: nothing left from the revisions that ran before it (lint's,
   * the chain's on a scratch database). */
  lm_lua_set_context(L, d->name, 0, p->opts.x, p->opts.nx);
  lm_lua_context_begin(L, NULL, NULL, 0);
  model_ctx m = {lm_schema_new(), d, NULL, 0, 0};
  sandbox_begin(L, c, &m);
  int rc = 0;
  for (int i = 0; i < c->nmodel && !rc; i++)
    rc = load_file(L, c->model[i]);
  sandbox_end(L);
  lua_settop(L, top);
  /* now, while m lives: a finalizer of the model may still call table() */
  lua_gc(L, LUA_GCCOLLECT);
  if (!rc) rc = check_refs(&m);
  for (int i = 0; i < m.nrefs; i++) {
    free(m.refs[i].table);
    free(m.refs[i].ref_table);
    free(m.refs[i].ref_col);
    free(m.refs[i].file);
  }
  free(m.refs);
  if (rc) {
    lm_schema_free(m.s);
    return rc;
  }
  lm_schema_sort(m.s);
  *out = m.s;
  return 0;
}
