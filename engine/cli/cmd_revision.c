/* init, revision, merge: the commands that write project files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "luamig/compare.h"

static const char DEFAULT_CONFIG[] =
    "-- luamig project configuration: a Lua chunk returning a table; every key is optional.\n"
    "return {\n"
    "  -- the database; DATABASE_URL or --url override it. Keep passwords out of this file:\n"
    "  -- url = \"postgresql://app@db.internal/app\" with the password in ~/.pgpass or\n"
    "  -- url = os.getenv(\"DATABASE_URL\").\n"
    "  url = \"sqlite:///app.db\",\n"
    "  versions = { \"versions\" },\n"
    "  version_table = \"luamig_version\",\n"
    "  transaction_per_migration = true,\n"
    "  lock_timeout = \"5s\", -- PostgreSQL: how long a migration waits for a table lock\n"
    "  lock_retries = 3,\n"
    "}\n";

/* ${name} placeholders; the *_lua forms are Lua expressions. */
static const char DEFAULT_TEMPLATE[] = "--[[ ${message}\n"
                                       "\n"
                                       "Revision ID: ${revision}\n"
                                       "Revises: ${down_revision}\n"
                                       "Create Date: ${create_date}\n"
                                       "]]\n"
                                       "revision = ${revision_lua}\n"
                                       "down_revision = ${down_revision_lua}\n"
                                       "message = ${message_lua}\n"
                                       "branch_labels = ${branch_labels_lua}\n"
                                       "depends_on = ${depends_on_lua}\n"
                                       "\n"
                                       "${functions}";

static const char PLAIN_FUNCTIONS[] = "function upgrade()\n"
                                      "end\n"
                                      "\n"
                                      "function downgrade()\n"
                                      "end\n";

static int write_new_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return lm_error_set(LM_EIO, "cannot create %s: %s", path, strerror(errno));
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  int bad = w < 0 || (size_t)w != n;
  if (close(fd) != 0) bad = 1;
  if (bad) {
    unlink(path);
    return lm_error_set(LM_EIO, "cannot write %s", path);
  }
  return 0;
}

/* .luarc.json and types/luamig.lua for lua-language-server; files the user
 * already has are left alone. */
static int write_editor_files(const char *pre, const char *sep, int quiet) {
  char *luarc = lm_xasprintf("%s%s.luarc.json", pre, sep);
  char *types = lm_xasprintf("%s%stypes", pre, sep);
  char *meta = lm_xasprintf("%s/luamig.lua", types);
  int rc = 0;
  if (access(luarc, F_OK) != 0) {
    rc = write_new_file(luarc, cli_luarc_json);
    if (!rc && !quiet) printf("Created %s\n", luarc);
  }
  if (!rc && mkdir(types, 0755) != 0 && errno != EEXIST)
    rc = lm_error_set(LM_EIO, "cannot create %s: %s", types, strerror(errno));
  if (!rc && access(meta, F_OK) != 0) {
    rc = write_new_file(meta, cli_luamig_meta);
    if (!rc && !quiet) printf("Created %s\n", meta);
  }
  free(luarc);
  free(types);
  free(meta);
  return rc;
}

int cmd_init(cli *c) {
  int rc = cli_args(c, 0, 1);
  if (rc) return rc;
  const char *dir = c->npos ? c->pos[0] : ".";
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return lm_error_set(LM_EUSAGE, "cannot create %s: %s", dir, strerror(errno));
  const char *pre = strcmp(dir, ".") == 0 ? "" : dir;
  const char *sep = *pre ? "/" : "";
  char *cfg = lm_xasprintf("%s%sluamig.lua", pre, sep);
  char *ver = lm_xasprintf("%s%sversions", pre, sep);
  char *tpl = lm_xasprintf("%s%sscript.lua.tmpl", pre, sep);
  if (access(cfg, F_OK) == 0 || access(ver, F_OK) == 0 || access(tpl, F_OK) == 0) {
    rc = lm_error_set(LM_EUSAGE,
                      "%s already holds a luamig project (luamig.lua, versions/ or "
                      "script.lua.tmpl exists); nothing was changed",
                      dir);
  } else if (mkdir(ver, 0755) != 0) {
    rc = lm_error_set(LM_EIO, "cannot create %s: %s", ver, strerror(errno));
  } else {
    lm_buf t;
    lm_buf_init(&t);
    lm_buf_puts(
        &t, "-- Template for 'luamig revision'; lines starting with '-- Template' are left out.\n"
            "-- Template placeholders: ${message}, ${revision}, ${down_revision}, ${create_date};\n"
            "-- Template Lua expressions: ${revision_lua}, ${down_revision_lua}, ${message_lua},\n"
            "-- Template ${branch_labels_lua}, ${depends_on_lua}; ${functions} becomes\n"
            "-- Template upgrade()/downgrade() or the steps of --steps.\n");
    lm_buf_puts(&t, DEFAULT_TEMPLATE);
    rc = write_new_file(cfg, DEFAULT_CONFIG);
    if (!rc) rc = write_new_file(tpl, t.s);
    lm_buf_free(&t);
    if (!rc && !c->quiet) printf("Created %s\nCreated %s/\nCreated %s\n", cfg, ver, tpl);
    if (!rc) rc = write_editor_files(pre, sep, c->quiet);
  }
  free(cfg);
  free(ver);
  free(tpl);
  return rc;
}

static void lua_quote(lm_buf *b, const char *s) {
  lm_buf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      lm_buf_printf(b, "\\%c", *p);
    else if (*p == '\n')
      lm_buf_puts(b, "\\n");
    else if (*p < 0x20)
      lm_buf_printf(b, "\\%d", *p);
    else
      lm_buf_putc(b, (char)*p);
  }
  lm_buf_putc(b, '"');
}

static void lua_list(lm_buf *b, const char *const *v, int n) {
  if (n == 0) {
    lm_buf_puts(b, "nil");
  } else if (n == 1) {
    lua_quote(b, v[0]);
  } else {
    lm_buf_puts(b, "{ ");
    for (int i = 0; i < n; i++) {
      if (i) lm_buf_puts(b, ", ");
      lua_quote(b, v[i]);
    }
    lm_buf_puts(b, " }");
  }
}

static char *slugify(const char *msg) {
  lm_buf b;
  lm_buf_init(&b);
  int sep = 0;
  for (const char *p = msg; *p && b.len < 40; p++) {
    char ch = *p;
    if (ch >= 'A' && ch <= 'Z') ch = (char)(ch - 'A' + 'a');
    if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) {
      if (sep && b.len) lm_buf_putc(&b, '_');
      lm_buf_putc(&b, ch);
      sep = 0;
    } else {
      sep = 1;
    }
  }
  return lm_buf_steal(&b);
}

static int random_id(char out[13]) {
  unsigned char r[6];
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
    if (fd >= 0) close(fd);
    return lm_error_set(LM_EIO, "cannot read /dev/urandom");
  }
  close(fd);
  for (int i = 0; i < 6; i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  return 0;
}

typedef struct newrev {
  const char *message;
  const char *const *down;
  int ndown;
  const char *const *depends; /* --depends-on, resolved */
  int ndepends;
  const char *steps;     /* comma-separated names, or NULL */
  const char *functions; /* autogenerate: upgrade() and downgrade(), or NULL */
} newrev;

static void put_var(lm_buf *b, const char *name, const char *id, const newrev *nr,
                    const char *labels) {
  if (strcmp(name, "message") == 0) {
    /* inside a --[[ ]] comment: keep the comment closed where we want it */
    for (const char *p = nr->message; *p; p++) {
      if (p[0] == ']' && p[1] == ']') {
        lm_buf_puts(b, "] ");
        continue;
      }
      lm_buf_putc(b, *p);
    }
  } else if (strcmp(name, "revision") == 0 || strcmp(name, "up_revision") == 0) {
    lm_buf_puts(b, id);
  } else if (strcmp(name, "revision_lua") == 0) {
    lua_quote(b, id);
  } else if (strcmp(name, "down_revision") == 0) {
    for (int i = 0; i < nr->ndown; i++)
      lm_buf_printf(b, "%s%s", i ? ", " : "", nr->down[i]);
  } else if (strcmp(name, "down_revision_lua") == 0) {
    lua_list(b, nr->down, nr->ndown);
  } else if (strcmp(name, "message_lua") == 0) {
    lua_quote(b, nr->message);
  } else if (strcmp(name, "branch_labels_lua") == 0) {
    lua_list(b, &labels, labels ? 1 : 0);
  } else if (strcmp(name, "depends_on_lua") == 0) {
    lua_list(b, nr->depends, nr->ndepends);
  } else if (strcmp(name, "create_date") == 0) {
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    lm_buf_puts(b, when);
  } else if (strcmp(name, "functions") == 0) {
    if (nr->functions) {
      lm_buf_puts(b, nr->functions);
      return;
    }
    if (!nr->steps) {
      lm_buf_puts(b, PLAIN_FUNCTIONS);
      return;
    }
    lm_buf_puts(b, "steps = {\n");
    const char *p = nr->steps;
    while (*p) {
      const char *comma = strchr(p, ',');
      size_t n = comma ? (size_t)(comma - p) : strlen(p);
      char *step = lm_xstrndup(p, n);
      lm_buf_puts(b, "  { name = ");
      lua_quote(b, step);
      lm_buf_puts(b, ",\n    up = function()\n    end,\n    down = function()\n    end },\n");
      free(step);
      p += n + (comma ? 1 : 0);
    }
    lm_buf_puts(b, "}\n");
  } else {
    lm_buf_printf(b, "${%s}", name);
  }
}

static int render_template(const char *tmpl, const char *id, const newrev *nr, const char *labels,
                           lm_buf *out) {
  const char *p = tmpl;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
    if (strncmp(p, "-- Template", 11) == 0) {
      p += len;
      continue;
    }
    const char *end = p + len;
    while (p < end) {
      if (p[0] == '$' && p[1] == '{') {
        const char *close = memchr(p, '}', (size_t)(end - p));
        if (close) {
          char *name = lm_xstrndup(p + 2, (size_t)(close - p - 2));
          put_var(out, name, id, nr, labels);
          free(name);
          p = close + 1;
          continue;
        }
      }
      lm_buf_putc(out, *p++);
    }
  }
  return 0;
}

static int valid_id(const char *s) {
  size_t n = strlen(s);
  if (n < 1 || n > 32) return 0;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          *s == '_'))
      return 0;
  return 1;
}

/* The folder of a new revision. With several versions folders it goes
 * beside its (first) parent, as Alembic writes it into its head's folder;
 * a new root goes into the first folder. */
static const char *new_file_dir(const lm_project *p, const newrev *nr) {
  const char *first = lm_project_versions_dir(p);
  int n = lm_project_versions_count(p);
  if (n < 2 || nr->ndown == 0) return first;
  const lm_graph *g = lm_project_graph(p);
  int idx = lm_graph_index(g, nr->down[0]);
  if (idx < 0) return first;
  const char *path = g->revs[idx]->path;
  const char *slash = strrchr(path, '/');
  for (int i = 0; i < n; i++) {
    const char *d = lm_project_versions_dir_at(p, i);
    size_t len = strlen(d);
    if (slash ? (size_t)(slash - path) == len && strncmp(path, d, len) == 0 : strcmp(d, ".") == 0)
      return d;
  }
  return first;
}

static int write_revision(cli *c, lm_project *p, const newrev *nr) {
  char idbuf[13];
  const char *id = c->rev_id;
  int rc;
  if (id) {
    if (!valid_id(id))
      return lm_error_set(LM_EUSAGE, "--rev-id '%s' must be 1-32 letters, digits or _", id);
    int dummy;
    for (int i = 0; i < lm_project_graph(p)->n; i++)
      if (strcmp(lm_project_graph(p)->revs[i]->id, id) == 0)
        return lm_error_set(LM_EUSAGE, "revision id %s already exists (%s)", id,
                            lm_project_graph(p)->revs[i]->path);
    LM_UNUSED(dummy);
  } else {
    if ((rc = random_id(idbuf))) return rc;
    id = idbuf;
  }
  if (c->steps) {
    if (!*c->steps || c->steps[0] == ',' || strstr(c->steps, ",,") ||
        c->steps[strlen(c->steps) - 1] == ',')
      return lm_error_set(LM_EUSAGE, "--steps needs names separated by commas, such as "
                                     "expand,backfill,contract");
    /* a name twice: the chain would not load with the file in it */
    for (const char *a = c->steps; *a; a += strcspn(a, ",") + (a[strcspn(a, ",")] ? 1 : 0)) {
      size_t n = strcspn(a, ",");
      for (const char *b = a + n + (a[n] ? 1 : 0); *b;
           b += strcspn(b, ",") + (b[strcspn(b, ",")] ? 1 : 0))
        if (strcspn(b, ",") == n && strncmp(a, b, n) == 0)
          return lm_error_set(LM_EUSAGE,
                              "--steps names '%.*s' twice: each step needs a name of its own",
                              (int)n, a);
    }
  }
  /* Alembic's rule: a branch label belongs to one revision, and is no id */
  if (c->branch_label) {
    const lm_graph *g = lm_project_graph(p);
    for (int i = 0; i < g->n; i++) {
      const lm_revision *r = g->revs[i];
      if (strcmp(r->id, c->branch_label) == 0)
        return lm_error_set(LM_EUSAGE, "--branch-label '%s' is the id of revision %s (%s)",
                            c->branch_label, r->id, r->path);
      for (int j = 0; j < r->nlabels; j++)
        if (strcmp(r->labels[j], c->branch_label) == 0)
          return lm_error_set(LM_EUSAGE,
                              "--branch-label '%s' is already a branch label of revision %s (%s)",
                              c->branch_label, r->id, r->path);
    }
  }
  char *tmpl_path = strcmp(lm_project_dir(p), ".") == 0
                        ? lm_xstrdup("script.lua.tmpl")
                        : lm_xasprintf("%s/script.lua.tmpl", lm_project_dir(p));
  char *tmpl = NULL;
  size_t tlen;
  if (access(tmpl_path, F_OK) == 0) {
    if ((rc = lm_read_file(tmpl_path, &tmpl, &tlen))) {
      free(tmpl_path);
      return rc;
    }
  }
  free(tmpl_path);
  lm_buf out;
  lm_buf_init(&out);
  render_template(tmpl ? tmpl : DEFAULT_TEMPLATE, id, nr, c->branch_label, &out);
  free(tmpl);
  char *slug = slugify(nr->message);
  const char *dir = new_file_dir(p, nr);
  char *path =
      *slug ? lm_xasprintf("%s/%s_%s.lua", dir, id, slug) : lm_xasprintf("%s/%s.lua", dir, id);
  free(slug);
  rc = write_new_file(path, out.s);
  if (!rc && nr->functions && c->json) {
    fputs(", \"path\": ", stdout);
    cli_json_str(stdout, path);
    fputs("}\n", stdout);
  } else if (!rc && nr->functions) {
    if (!c->quiet) printf("Generating %s ... done\n", path);
  } else if (!rc) {
    printf("%s\n", path);
  }
  free(path);
  lm_buf_free(&out);
  return rc;
}

/* --head REV or --head LABEL@head: the revision the new one stands on. A
 * revision that already has children would start a new branch, which takes
 * --splice, as in Alembic. */
static int resolve_head(const lm_graph *g, const char *spec, int splice, int *idx) {
  size_t n = strlen(spec);
  if (n > 5 && strcmp(spec + n - 5, "@head") == 0) {
    char *label = lm_xstrndup(spec, n - 5);
    int start, rc = lm_graph_find(g, label, &start), found = -1, count = 0;
    if (!rc) {
      char *mark = lm_xcalloc((size_t)g->n, 1);
      lm_graph_mark_descendants(g, start, mark);
      for (int i = 0; i < g->n; i++)
        if (mark[i] && g->revs[i]->nchildren == 0) found = i, count++;
      free(mark);
      if (count != 1)
        rc = lm_error_set(LM_EUSAGE, "branch %s has %d heads; name one revision with --head", label,
                          count);
    }
    free(label);
    if (!rc) *idx = found;
    return rc;
  }
  int rc = lm_graph_find(g, spec, idx);
  if (!rc && g->revs[*idx]->nchildren > 0 && !splice)
    rc = lm_error_set(LM_EUSAGE,
                      "%s is not a head: a revision on it would start a new branch; pass "
                      "--splice to do that on purpose",
                      g->revs[*idx]->id);
  return rc;
}

/* ---- autogenerate (SPEC §10) ---------------------------------------------------------- */

static const char *change_word(lm_change ch) {
  switch (ch) {
  case LM_CH_ADDED: return "added";
  case LM_CH_REMOVED: return "removed";
  case LM_CH_CHANGED: return "changed";
  case LM_CH_RENAMED: return "renamed";
  }
  return "?";
}

/* The model against the database at head (or, --offline, against the
 * schema the chain produces on a scratch database), written as a revision. */
static int autogenerate(cli *c, lm_project *p, newrev *nr) {
  /* the dialect: --dialect (--offline only), else the URL's, else the
   * scratch server's */
  const lm_dialect *d = lm_project_dialect(p), *sd = NULL;
  if (c->scratch_url && !c->offline)
    return lm_error_set(LM_EUSAGE, "--scratch-url goes with --offline");
  if (c->dialect && !c->offline)
    return lm_error_set(LM_EUSAGE, "--dialect goes with --offline: without it the dialect is the "
                                   "database's");
  if (c->scratch_url) {
    int rc = lm_url_dialect(c->scratch_url, &sd);
    if (rc) return rc;
    if (!d) d = sd;
    if (sd != d)
      return lm_error_set(LM_EUSAGE,
                          "--scratch-url names a %s server, but the model is compared "
                          "in %s",
                          sd ? sd->name : "?", d->name);
  }
  if (!d && c->offline)
    return lm_error_set(LM_EUSAGE, "revision --autogenerate --offline needs a dialect: pass "
                                   "--dialect sqlite|postgresql, or a database URL with --url");
  if (!d)
    return lm_error_set(LM_ECONFIG, "revision --autogenerate needs a database URL (set url in "
                                    "luamig.lua, set DATABASE_URL or pass --url)");
  lm_schema *model = NULL, *have = NULL;
  int rc = lm_model_load(p, d, &model);
  if (rc) return rc;
  if (c->offline) {
    rc = lm_chain_schema(p, c->scratch_url, NULL, &have);
  } else if ((rc = lm_project_must_exist(p))) {
    /* a SQLite file that is not there: not made by a command that reads.
     * It is at base, which is the head of an empty chain only. */
    if (lm_project_graph(p)->n) {
      lm_error_prefix("target database is not up to date");
    } else {
      lm_error_clear();
      rc = lm_chain_schema(p, NULL, NULL, &have);
    }
  } else {
    int *state = lm_xcalloc((size_t)lm_project_graph(p)->n + 1, sizeof *state);
    rc = lm_project_applied(p, state);
    for (int i = 0; i < lm_project_graph(p)->n && !rc; i++)
      if (state[i] < lm_project_graph(p)->revs[i]->nsteps)
        rc = lm_error_set(LM_EUSAGE, "target database is not up to date (run 'luamig upgrade "
                                     "head' first, or use --offline)");
    free(state);
    if (!rc) rc = lm_project_schema(p, &have);
    if (!rc) rc = lm_project_canonical_checks(p, model, have);
  }
  lm_diff diff = {0};
  if (!rc) rc = lm_compare(d, model, have, &diff);
  if (!rc && diff.n == 0) {
    if (c->json)
      fputs("{\"changes\": [], \"path\": null}\n", stdout);
    else if (!c->quiet)
      puts("No changes in schema detected.");
  } else if (!rc) {
    if (c->json) fputs("{\"changes\": [", stdout);
    for (int i = 0; i < diff.n; i++) {
      const lm_diff_item *it = &diff.v[i];
      if (c->json) {
        fprintf(stdout, "%s{\"change\": \"%s\", \"object\": ", i ? ", " : "",
                change_word(it->change));
        cli_json_str(stdout, it->object);
        fputs(", \"message\": ", stdout);
        cli_json_str(stdout, it->what);
        fputs("}", stdout);
      } else if (!c->quiet) {
        printf("Detected %s\n", it->what);
      }
    }
    if (c->json) fputs("]", stdout);
    char *fn = lm_lua_write_functions(&diff);
    nr->functions = fn;
    rc = write_revision(c, p, nr);
    nr->functions = NULL;
    free(fn);
  }
  fflush(stdout);
  lm_diff_free(&diff);
  lm_schema_free(model);
  lm_schema_free(have);
  return rc;
}

/* --depends-on, repeatable as in Alembic: each names one revision (an id,
 * a unique prefix or a branch label); a label is written as given, an id
 * or prefix as the full id. */
static int resolve_depends(const cli *c, const lm_graph *g, const char **out, int *n) {
  *n = 0;
  for (int i = 0; i < c->ndepends; i++) {
    const char *spec = c->depends[i];
    if (strchr(spec, ','))
      return lm_error_set(LM_EUSAGE,
                          "--depends-on takes one revision ('%s'); repeat it for several: "
                          "--depends-on A --depends-on B",
                          spec);
    int idx, rc = lm_graph_find(g, spec, &idx);
    if (rc) return rc;
    const lm_revision *r = g->revs[idx];
    const char *name = r->id;
    for (int j = 0; j < r->nlabels; j++)
      if (strcmp(r->labels[j], spec) == 0) name = r->labels[j];
    int dup = 0;
    for (int j = 0; j < *n; j++)
      dup |= strcmp(out[j], name) == 0;
    if (!dup) out[(*n)++] = name;
  }
  return 0;
}

/* Alembic's --branch-label takes one label. */
static int one_branch_label(const cli *c) {
  if (c->nbranch_labels > 1)
    return lm_error_set(LM_EUSAGE, "--branch-label given %d times: a new revision takes one label",
                        c->nbranch_labels);
  return 0;
}

int cmd_revision(cli *c) {
  int rc = cli_args(c, 0, 0);
  if (!rc) rc = one_branch_label(c);
  if (rc) return rc;
  if (!c->message)
    return lm_error_set(LM_EUSAGE, "revision needs a message: luamig revision -m \"what it does\"");
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = lm_project_graph(p);
  const char *down[1];
  const char *deps[CLI_MAX_POS];
  newrev nr = {c->message, down, 0, deps, 0, c->steps, NULL};
  if ((rc = resolve_depends(c, g, deps, &nr.ndepends))) goto done;
  if (c->head) {
    if (strcmp(c->head, "base") != 0) {
      int idx;
      if ((rc = resolve_head(g, c->head, c->splice, &idx))) goto done;
      down[0] = g->revs[idx]->id;
      nr.ndown = 1;
    }
  } else {
    int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
    int nh = lm_graph_heads(g, heads);
    if (nh > 1) {
      lm_buf b;
      lm_buf_init(&b);
      lm_buf ids;
      lm_buf_init(&ids);
      for (int i = 0; i < nh; i++) {
        lm_buf_printf(&b, "%s%s", i ? ", " : "", g->revs[heads[i]]->id);
        lm_buf_printf(&ids, " %s", g->revs[heads[i]]->id);
      }
      rc = lm_error_set(LM_EUSAGE,
                        "the chain has several heads (%s): pass --head REV to choose one, or "
                        "join them first with 'luamig merge -m MSG%s' (or 'luamig merge -m MSG "
                        "heads')",
                        b.s, ids.s);
      lm_buf_free(&b);
      lm_buf_free(&ids);
    } else if (nh == 1) {
      down[0] = g->revs[heads[0]]->id;
      nr.ndown = 1;
    }
    free(heads);
    if (rc) goto done;
  }
  if (c->autogenerate) {
    if (c->steps) {
      rc = lm_error_set(LM_EUSAGE, "--autogenerate writes upgrade() and downgrade(); it does "
                                   "not take --steps");
      goto done;
    }
    rc = autogenerate(c, p, &nr);
    goto done;
  }
  if (c->offline || c->scratch_url || c->dialect) {
    rc = lm_error_set(LM_EUSAGE, "--offline, --dialect and --scratch-url go with --autogenerate");
    goto done;
  }
  rc = write_revision(c, p, &nr);
done:
  lm_project_free(p);
  return rc;
}

/* merge REV REV... or merge heads (every head, as `alembic merge heads`). */
int cmd_merge(cli *c) {
  int all_heads = c->npos == 1 && strcmp(c->pos[0], "heads") == 0;
  int rc = cli_args(c, all_heads ? 1 : 2, CLI_MAX_POS);
  if (!rc) rc = one_branch_label(c);
  if (rc) return rc;
  if (!c->message)
    return lm_error_set(LM_EUSAGE, "merge needs a message: luamig merge -m MSG REV REV... (or "
                                   "heads)");
  lm_project *p;
  if ((rc = cli_open(c, &p))) return rc;
  const lm_graph *g = lm_project_graph(p);
  int n = 0, cap = c->npos + g->n;
  const char **down = lm_xcalloc((size_t)(cap ? cap : 1), sizeof *down);
  int *heads = lm_xcalloc((size_t)(g->n ? g->n : 1), sizeof *heads);
  for (int i = 0; i < c->npos && !rc; i++) {
    if (strcmp(c->pos[i], "heads") == 0) {
      int nh = lm_graph_heads(g, heads);
      if (all_heads && nh < 2) {
        rc = nh ? lm_error_set(LM_EUSAGE, "the chain has one head (%s): nothing to merge",
                               g->revs[heads[0]]->id)
                : lm_error_set(LM_EUSAGE, "the chain has no revisions: nothing to merge");
        break;
      }
      for (int k = 0; k < nh; k++)
        down[n++] = g->revs[heads[k]]->id;
      continue;
    }
    int idx;
    rc = lm_graph_find(g, c->pos[i], &idx);
    if (!rc) down[n++] = g->revs[idx]->id;
  }
  for (int i = 0; i < n && !rc; i++)
    for (int j = 0; j < i && !rc; j++)
      if (strcmp(down[i], down[j]) == 0)
        rc = lm_error_set(LM_EUSAGE,
                          "revision %s is named twice: a merge joins different "
                          "revisions",
                          down[i]);
  if (!rc) {
    newrev nr = {c->message, down, n, NULL, 0, NULL, NULL};
    rc = write_revision(c, p, &nr);
  }
  free(heads);
  free(down);
  lm_project_free(p);
  return rc;
}
