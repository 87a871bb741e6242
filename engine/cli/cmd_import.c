/* import alembic DIR: an Alembic versions folder → luamig revisions (SPEC §13).
 * Every file is read and converted before anything is written, so a file
 * that cannot be read, or an id that is already taken, leaves the versions
 * folder as it was. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luamig/import.h"
#include "cli.h"

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The *.py revision files of dir, sorted by name. */
static int list_py(const char *dir, char ***names, int *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return lm_error_set(LM_EUSAGE, "cannot read the folder %s: %s", dir, strerror(errno));
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 4 || strcmp(e->d_name + l - 3, ".py") != 0 || e->d_name[0] == '.' ||
        strcmp(e->d_name, "__init__.py") == 0)
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 32;
      *names = lm_xrealloc(*names, (size_t)cap * sizeof **names);
    }
    (*names)[(*n)++] = lm_xstrdup(e->d_name);
  }
  closedir(d);
  if (*n) qsort(*names, (size_t)*n, sizeof **names, cmp_names);
  return 0;
}

static void free_names(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* A file of the versions folder that holds revision id already. */
static char *existing_file(const lm_project *p, const char *dir, const char *id) {
  int idx = lm_graph_index(lm_project_graph(p), id);
  if (idx >= 0) return lm_xstrdup(lm_project_graph(p)->revs[idx]->path);
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t il = strlen(id);
  char *found = NULL;
  struct dirent *e;
  while (!found && (e = readdir(d)))
    if (strncmp(e->d_name, id, il) == 0 &&
        (e->d_name[il] == '_' || strcmp(e->d_name + il, ".lua") == 0))
      found = lm_xasprintf("%s/%s", dir, e->d_name);
  closedir(d);
  return found;
}

int cmd_import(cli *c) {
  int rc = cli_args(c, 2, 2);
  if (rc) return rc;
  if (strcmp(c->pos[0], "alembic") != 0)
    return lm_error_set(LM_EUSAGE, "luamig imports from 'alembic' only, not '%s'; usage: %s",
                        c->pos[0], c->cmd->usage);
  const char *dir = c->pos[1];
  if (!is_dir(dir)) return lm_error_set(LM_EUSAGE, "%s is not a folder", dir);
  /* an Alembic project folder (env.py beside versions/) stands for its versions/ */
  char *vdir = NULL;
  {
    char *env = lm_xasprintf("%s/env.py", dir), *sub = lm_xasprintf("%s/versions", dir);
    if (access(env, F_OK) == 0 && is_dir(sub))
      vdir = sub;
    else
      free(sub), vdir = lm_xstrdup(dir);
    free(env);
  }
  size_t vl = strlen(vdir);
  while (vl > 1 && vdir[vl - 1] == '/')
    vdir[--vl] = 0;
  lm_project *p = NULL;
  char **names = NULL;
  int n = 0, nerr = 0, nuncv = 0, nfiles_uncv = 0;
  lm_alembic_rev *revs = NULL;
  if ((rc = cli_open(c, &p))) goto done;
  if ((rc = list_py(vdir, &names, &n))) goto done;
  if (n == 0) {
    rc = lm_error_set(LM_EUSAGE, "no Alembic revision files (*.py) in %s", vdir);
    goto done;
  }
  const char *out_dir = lm_project_versions_dir(p);
  revs = lm_xcalloc((size_t)n, sizeof *revs);
  for (int i = 0; i < n; i++) {
    char *path = lm_xasprintf("%s/%s", vdir, names[i]);
    char *src = NULL;
    size_t len = 0;
    if (lm_read_file(path, &src, &len) != 0) {
      fprintf(stderr, "luamig: error: %s: %s\n", path, lm_error_last()->message);
      lm_error_clear();
      nerr++;
    } else if (lm_alembic_convert(path, names[i], src, len, &revs[i]) != 0) {
      fprintf(stderr, "luamig: error: %s:%d: cannot convert: %s\n", path, revs[i].error_line,
              revs[i].error);
      nerr++;
    }
    free(src);
    free(path);
  }
  /* ids: unique among the files, and not yet in the project */
  for (int i = 0; i < n && !nerr; i++) {
    if (!revs[i].id) continue;
    for (int k = 0; k < i; k++)
      if (revs[k].id && strcmp(revs[k].id, revs[i].id) == 0) {
        fprintf(stderr, "luamig: error: %s/%s and %s/%s both define revision %s\n", vdir, names[k],
                vdir, names[i], revs[i].id);
        nerr++;
      }
    char *ex = existing_file(p, out_dir, revs[i].id);
    if (ex) {
      fprintf(stderr, "luamig: error: revision %s (%s/%s) is already in the project: %s\n",
              revs[i].id, vdir, names[i], ex);
      free(ex);
      nerr++;
    }
  }
  if (nerr) {
    rc = lm_error_set(LM_EUSAGE, "%d problem%s above: nothing was written", nerr,
                      nerr > 1 ? "s" : "");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    char *out = lm_xasprintf("%s/%s", out_dir, revs[i].name);
    FILE *f = fopen(out, "wx");
    if (!f) {
      rc = lm_error_set(LM_EIO, "cannot write %s: %s", out, strerror(errno));
      free(out);
      goto done;
    }
    int bad = fputs(revs[i].lua, f) < 0;
    bad |= fclose(f) != 0;
    if (bad) {
      rc = lm_error_set(LM_EIO, "cannot write %s", out);
      free(out);
      goto done;
    }
    if (!c->quiet) {
      printf("Imported %s/%s -> %s", vdir, names[i], out);
      if (revs[i].nunconverted)
        printf(" (%d statement%s not converted)", revs[i].nunconverted,
               revs[i].nunconverted > 1 ? "s" : "");
      putchar('\n');
    }
    free(out);
    if (revs[i].diag.len) fputs(revs[i].diag.s, stderr);
    nuncv += revs[i].nunconverted;
    nfiles_uncv += revs[i].nunconverted > 0;
  }
  fflush(stdout);
  if (nuncv)
    rc = lm_error_set(LM_ECHECK,
                      "%d statement%s in %d file%s not converted: each is an "
                      "error(\"not converted from Alembic: ...\") line in the written revision; "
                      "port %s by hand (see 'Coming from Alembic' in the README)",
                      nuncv, nuncv > 1 ? "s" : "", nfiles_uncv, nfiles_uncv > 1 ? "s" : "",
                      nuncv > 1 ? "them" : "it");
done:
  for (int i = 0; revs && i < n; i++)
    lm_alembic_rev_free(&revs[i]);
  free(revs);
  free_names(names, n);
  free(vdir);
  lm_project_free(p);
  return rc;
}
