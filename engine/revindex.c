/* The revision index: what loading each revision file found out (its id,
 * parents, labels, steps and checksum), kept between runs in a cache file per
 * versions folder, so that commands that run no revision code (`current`,
 * `heads`, an `upgrade` with nothing to do) need not compile every file.
 *
 * Each entry also keeps the lines where the file sets revision, down_revision,
 * depends_on and branch_labels, so that a chain read from the index reports a
 * broken link at its line (engine/graph.c) as one read from the files does.
 *
 * An entry is used only when the file's size, inode, mtime and ctime are
 * those recorded, and the same luamig binary wrote it; anything else is a
 * miss, and a miss loads the file as always. An entry is recorded only when
 * the file was last changed at least LM_INDEX_SETTLE seconds before it was
 * read: a file rewritten within the same clock tick as its recorded change
 * would otherwise keep its old times (the "racy clean" problem of every
 * stat-based cache), while a file that old can only change by getting a
 * newer ctime. Revisions whose top level calls require() are never recorded:
 * their fields may come from another file. Each entry also keeps the file
 * compiled (lua_dump, with a checksum and the chunk name it was compiled
 * under), so that a revision served from the index is loaded without
 * parsing its text when it runs. Those chunks, most of the file, are not
 * copied when the index is read: the file stays mapped for the run, and a
 * revision copies its own chunk (lm_revision_chunk) only if it runs, into
 * memory reused from one to the next, checked against its checksum then. A
 * command that runs no revision never copies them, and one that runs a
 * thousand needs neither a megabyte of new memory (on a virtual machine the
 * first touch of each new page costs 10 µs) nor a read() each.
 *
 * Where: $LUAMIG_CACHE_DIR (empty or "off": no index), else
 * $XDG_CACHE_HOME/luamig, else ~/.cache/luamig; one file per versions folder,
 * named by a hash of its real path. A missing, unreadable, unwritable or
 * damaged index is never an error: luamig loads the files instead. The
 * last line holds a checksum of everything before it: a file that does not
 * match it as a whole (a flipped byte anywhere, a torn write) is ignored and
 * rewritten, so a damaged cache costs time and nothing else. The checksum is
 * lm_fast_sum_hex, against damage and not forgery (whoever can write the
 * index can write any checksum): SHA-256 of the megabyte index of a thousand
 * revisions took 7 % of a `luamig heads` over them, with SHA instructions. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lm.h"

#define LM_INDEX_MAGIC "luamig-revindex 7" /* 7: the line of a rename mark */
#define LM_INDEX_SETTLE 2

typedef struct entry {
  char *name;
  long long size, ino, mtime_s, mtime_ns, ctime_s, ctime_ns;
  lm_revision *rev; /* the fields, without path */
  int seen;         /* its file was looked up in this run */
  int dead;         /* replaced by a newer entry appended after the sorted part */
  int lent;         /* rev was handed to the graph, which frees it */
} entry;

struct lm_revindex {
  char *file;   /* the cache file, or NULL when there is no index */
  char *header; /* the first line this binary writes and accepts */
  entry *v;     /* sorted by name after reading; appended to after */
  int n, cap, nread;
  int dirty;
  time_t now;
  struct lm_chunk_file *cf; /* the file read, while open */
};

/* ---- where ------------------------------------------------------------------ */

static char *cache_dir(void) {
  const char *e = getenv("LUAMIG_CACHE_DIR");
  if (e) return *e && strcmp(e, "off") != 0 ? lm_xstrdup(e) : NULL;
  const char *x = getenv("XDG_CACHE_HOME");
  if (x && *x == '/') return lm_xasprintf("%s/luamig", x);
  const char *h = getenv("HOME");
  if (h && *h == '/') return lm_xasprintf("%s/.cache/luamig", h);
  return NULL;
}

/* The running binary's size and mtime: a rebuilt luamig may read revisions
 * (or compile them) differently, so it does not use an older one's cache. */
static char *exe_id(void) {
  static char id[64];
  if (!id[0]) {
    struct stat exe;
    if (stat("/proc/self/exe", &exe) != 0) return NULL;
    snprintf(id, sizeof id, "%lld %lld.%09ld", (long long)exe.st_size,
             (long long)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec);
  }
  return lm_xstrdup(id);
}

/* mkdir -p, private to the user. */
static int make_dirs(const char *dir) {
  char *p = lm_xstrdup(dir);
  int ok = 1;
  for (char *s = p + 1; ok; s++) {
    if (*s != '/' && *s) continue;
    char c = *s;
    *s = 0;
    if (mkdir(p, 0700) != 0 && errno != EEXIST) ok = 0;
    *s = c;
    if (!c) break;
  }
  free(p);
  return ok;
}

/* Writes path whole or not at all: a new file renamed over the old one, so
 * that a reader never sees half of it. Failures are silent (a cache). */
static void write_atomic(const char *path, const char *data, size_t len) {
  char *dir = lm_xstrdup(path);
  *strrchr(dir, '/') = 0;
  char *tmp = lm_xasprintf("%s.%ld.tmp", path, (long)getpid());
  if (make_dirs(dir)) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      int written = lm_write_all(fd, data, len) == 0;
      if (close(fd) == 0 && written && rename(tmp, path) == 0) tmp[0] = 0;
      if (tmp[0]) unlink(tmp);
    }
  }
  free(tmp);
  free(dir);
}

/* ---- tokens: <length>:<bytes>, ------------------------------------------------ */

static void put_str(lm_buf *b, const char *s) {
  if (!s) {
    lm_buf_puts(b, "-,");
    return;
  }
  lm_buf_printf(b, "%zu:", strlen(s));
  lm_buf_puts(b, s);
  lm_buf_putc(b, ',');
}

static void put_num(lm_buf *b, long long v) { lm_buf_printf(b, "%lld,", v); }

/* Binary data (a compiled chunk) as a token; NULL as "-,". */
static void put_bytes(lm_buf *b, const char *s, size_t n) {
  if (!s) {
    lm_buf_puts(b, "-,");
    return;
  }
  lm_buf_printf(b, "%zu:", n);
  lm_buf_put(b, s, n);
  lm_buf_putc(b, ',');
}

static void put_list(lm_buf *b, char **v, int n) {
  put_num(b, n);
  for (int i = 0; i < n; i++)
    put_str(b, v[i]);
}

typedef struct reader {
  const char *p, *end;
  const char *base;         /* the file's first byte: chunks are kept as offsets */
  struct lm_chunk_file *cf; /* the file itself */
  int bad;
} reader;

static long long get_num(reader *r) {
  long long v = 0;
  int digits = 0, neg = 0;
  if (r->p < r->end && *r->p == '-') {
    neg = 1;
    r->p++;
  }
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && digits < 18) {
    v = v * 10 + (*r->p++ - '0');
    digits++;
  }
  if (!digits || r->p >= r->end || *r->p != ',') {
    r->bad = 1;
    return 0;
  }
  r->p++;
  return neg ? -v : v;
}

/* A token <length>:<bytes>, in place (*n its length), or NULL for "-,". */
static const char *get_span(reader *r, size_t *n) {
  *n = 0;
  if (r->bad) return NULL;
  if (r->end - r->p >= 2 && r->p[0] == '-' && r->p[1] == ',') {
    r->p += 2;
    return NULL;
  }
  size_t len = 0;
  int digits = 0;
  while (r->p < r->end && *r->p >= '0' && *r->p <= '9' && digits < 9) {
    len = len * 10 + (size_t)(*r->p++ - '0');
    digits++;
  }
  if (!digits || r->p >= r->end || *r->p != ':' || (size_t)(r->end - r->p - 1) < len + 1 ||
      r->p[1 + len] != ',') {
    r->bad = 1;
    return NULL;
  }
  const char *s = r->p + 1;
  r->p += len + 2;
  *n = len;
  return s;
}

/* A token <length>:<bytes>, (returned NUL-terminated, *n its length), or
 * NULL for "-,". */
static char *get_bytes(reader *r, size_t *n) {
  const char *span = get_span(r, n);
  if (!span) return NULL;
  char *s = lm_xmalloc(*n + 1);
  memcpy(s, span, *n);
  s[*n] = 0;
  return s;
}

/* A string token, or NULL for "-," (*isnull set); NUL bytes are refused. */
static char *get_str(reader *r, int *isnull) {
  size_t n;
  char *s = get_bytes(r, &n);
  *isnull = !s && !r->bad;
  if (s && memchr(s, 0, n)) {
    free(s);
    r->bad = 1;
    return NULL;
  }
  return s;
}

static char *get_req(reader *r) {
  int isnull;
  char *s = get_str(r, &isnull);
  if (isnull) r->bad = 1;
  return s;
}

static char **get_list(reader *r, int *n) {
  long long c = get_num(r);
  *n = 0;
  if (r->bad || c < 0 || c > 10000) {
    r->bad = 1;
    return NULL;
  }
  if (!c) return NULL; /* as copy_list: most revisions have no labels, no depends_on */
  char **v = lm_xcalloc((size_t)c, sizeof *v);
  for (int i = 0; i < c && !r->bad; i++) {
    v[i] = get_req(r);
    if (!r->bad) *n = i + 1;
  }
  return v;
}

static void free_entry(entry *e) {
  free(e->name);
  if (!e->lent) lm_revision_free(e->rev);
}

static int read_entry(reader *r, entry *e) {
  memset(e, 0, sizeof *e);
  lm_revision *v = e->rev = lm_xcalloc(1, sizeof *v);
  v->env_ref = LM_NOT_LOADED;
  int isnull;
  e->name = get_req(r);
  e->size = get_num(r);
  e->ino = get_num(r);
  e->mtime_s = get_num(r);
  e->mtime_ns = get_num(r);
  e->ctime_s = get_num(r);
  e->ctime_ns = get_num(r);
  char *sum = get_req(r);
  if (sum && strlen(sum) == 64)
    memcpy(v->checksum, sum, 65);
  else
    r->bad = 1;
  free(sum);
  v->id = get_req(r);
  v->message = get_req(r);
  v->doc = get_str(r, &isnull);
  v->down = get_list(r, &v->ndown);
  v->depends = get_list(r, &v->ndepends);
  v->labels = get_list(r, &v->nlabels);
  int *lines[] = {&v->revision_line, &v->down_line, &v->depends_line, &v->labels_line};
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
    long long line = get_num(r);
    if (line < 0 || line > INT_MAX) r->bad = 1;
    *lines[i] = r->bad ? 0 : (int)line;
  }
  v->multistep = (int)get_num(r);
  v->has_downgrade = (int)get_num(r);
  long long mark = get_num(r);
  if (mark < 0 || mark > INT_MAX) r->bad = 1;
  v->rename_mark_line = r->bad ? 0 : (int)mark;
  if (v->multistep) {
    v->step_names = get_list(r, &v->nsteps);
    if (v->nsteps < 1) r->bad = 1;
  } else {
    v->nsteps = 1;
  }
  v->chunkname = get_str(r, &isnull);
  char *csum = get_str(r, &isnull);
  if (csum && strlen(csum) == 64)
    memcpy(v->chunk_sum, csum, 65);
  else if (csum)
    r->bad = 1;
  free(csum);
  const char *chunk = get_span(r, &v->nchunk);
  if (chunk) {
    v->chunk_off = chunk - r->base;
    v->chunk_file = lm_chunk_file_hold(r->cf);
  }
  if (!chunk != !v->chunkname || !chunk != !v->chunk_sum[0]) r->bad = 1;
  if (r->p >= r->end || *r->p != '\n')
    r->bad = 1;
  else
    r->p++;
  if (r->bad) {
    free_entry(e);
    memset(e, 0, sizeof *e);
    return -1;
  }
  return 0;
}

static void write_entry(lm_buf *b, const entry *e) {
  const lm_revision *v = e->rev;
  put_str(b, e->name);
  put_num(b, e->size);
  put_num(b, e->ino);
  put_num(b, e->mtime_s);
  put_num(b, e->mtime_ns);
  put_num(b, e->ctime_s);
  put_num(b, e->ctime_ns);
  put_str(b, v->checksum);
  put_str(b, v->id);
  put_str(b, v->message);
  put_str(b, v->doc);
  put_list(b, v->down, v->ndown);
  put_list(b, v->depends, v->ndepends);
  put_list(b, v->labels, v->nlabels);
  put_num(b, v->revision_line);
  put_num(b, v->down_line);
  put_num(b, v->depends_line);
  put_num(b, v->labels_line);
  put_num(b, v->multistep);
  put_num(b, v->has_downgrade);
  put_num(b, v->rename_mark_line);
  if (v->multistep) put_list(b, v->step_names, v->nsteps);
  size_t n = 0;
  const char *bytes = v->chunkname && strlen(v->chunk_sum) == 64 ? lm_revision_chunk(v, &n) : NULL;
  put_str(b, bytes ? v->chunkname : NULL);
  put_str(b, bytes ? v->chunk_sum : NULL);
  put_bytes(b, bytes, n);
  lm_buf_putc(b, '\n');
}

/* The index file's text: the header line, the live entries, the end mark. */
static void serialize(const lm_revindex *x, lm_buf *b) {
  lm_buf_init(b);
  lm_buf_puts(b, x->header);
  lm_buf_putc(b, '\n');
  for (int i = 0; i < x->n; i++)
    if (!x->v[i].dead) write_entry(b, &x->v[i]);
  char sum[65];
  lm_fast_sum_hex(b->s, b->len, sum);
  lm_buf_printf(b, "end %s\n", sum);
}

#define END_LINE 69 /* "end " + 64 hex digits + "\n" */

/* Whether text ends with the end line and that line's checksum is the one of
 * everything before it. */
static int whole_file_ok(const char *text, size_t len) {
  if (len < END_LINE || memcmp(text + len - END_LINE, "end ", 4) != 0 || text[len - 1] != '\n')
    return 0;
  char sum[65];
  lm_fast_sum_hex(text, len - END_LINE, sum);
  return memcmp(sum, text + len - END_LINE + 4, 64) == 0;
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static void add_entry(lm_revindex *x, entry *e) {
  if (x->n == x->cap) {
    x->cap = x->cap ? x->cap * 2 : 64;
    x->v = lm_xrealloc(x->v, (size_t)x->cap * sizeof *x->v);
  }
  x->v[x->n++] = *e;
}

/* Drops every entry read: the file is ignored and rewritten. */
static void drop_entries(lm_revindex *x) {
  for (int i = 0; i < x->n; i++)
    free_entry(&x->v[i]);
  x->n = 0;
  x->nread = 0;
  x->dirty = 1;
}

/* One parse of a mapped index file. The entry being read lives here, not on
 * parse's stack, so that what it holds can be freed when a SIGBUS stops the
 * parse (lm_map_guarded). */
typedef struct parse_job {
  lm_revindex *x;
  const char *text;
  size_t len;
  entry cur;
} parse_job;

static void parse(void *ud) {
  parse_job *pj = ud;
  lm_revindex *x = pj->x;
  const char *text = pj->text;
  size_t len = pj->len;
  size_t hl = strlen(x->header);
  if (len < hl + 1 + END_LINE || memcmp(text, x->header, hl) != 0 || text[hl] != '\n' ||
      !whole_file_ok(text, len)) {
    x->dirty = len > 0; /* damaged or another binary's: rewritten */
    return;
  }
  reader r = {text + hl + 1, text + len - END_LINE, text, x->cf, 0};
  while (r.p < r.end && !r.bad) {
    if (read_entry(&r, &pj->cur) == 0) add_entry(x, &pj->cur);
    memset(&pj->cur, 0, sizeof pj->cur); /* now x's, or freed */
  }
  if (!r.bad && r.p == r.end) {
    if (x->n > 1) qsort(x->v, (size_t)x->n, sizeof *x->v, cmp_entry);
    x->nread = x->n;
    return;
  }
  /* damaged (a file that matches its checksum and still does not parse) */
  drop_entries(x);
}

/* Reads the index mapped at (map, len), which x then holds. luamig replaces
 * the file by renaming a new one over it, never rewrites it in place, so
 * the mapping keeps its bytes; a file cut short in place by another program
 * while it is read raises SIGBUS, which stops the parse: the index is then
 * ignored and rewritten, as a damaged one. (A string being copied out of the
 * mapping at that moment is lost with the parse: a few bytes, once.) */
static int read_mapped(lm_revindex *x, void *map, size_t len) {
  x->cf = lm_chunk_file_new(map, len);
  parse_job pj = {x, map, len, {0}};
  if (lm_map_guarded(parse, &pj) == 0) return 0;
  free_entry(&pj.cur);
  drop_entries(x);
  return -1;
}

/* Reads the index from fd, which it closes: kept mapped while entries read
 * from it may copy their chunks from it (engine/chunk_file.c).
 *
 * Mapped, not read: parse copies the entries' fields out of it and leaves
 * the chunks where they are, and a mapping of the file's cached pages costs
 * a seventh of reading a megabyte into new memory, whose every page is
 * touched for the first time (3.2 ms against 0.5 ms for a thousand
 * revisions on a virtual machine). A file cut short in place under the
 * read is caught (read_mapped). */
static void read_index(lm_revindex *x, int fd) {
  struct stat st;
  if (fd < 0) return;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
      (unsigned long long)st.st_size <= (1ULL << 30)) {
    size_t len = (size_t)st.st_size;
    void *text = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (text != MAP_FAILED) read_mapped(x, text, len);
  }
  close(fd);
}

/* ---- the interface ------------------------------------------------------------ */

lm_revindex *lm_revindex_open(const char *versions_dir) {
  lm_revindex *x = lm_xcalloc(1, sizeof *x);
  x->now = time(NULL);
  char *dir = cache_dir();
  char real[PATH_MAX];
  char *exe = exe_id();
  if (!dir || !exe || !realpath(versions_dir, real)) {
    free(dir);
    free(exe);
    return x;
  }
  char hash[65];
  lm_sha256_hex(real, strlen(real), hash);
  hash[32] = 0;
  x->file = lm_xasprintf("%s/%s.idx", dir, hash);
  free(dir);
  /* The binary's size and times: a rebuilt luamig may read revisions
   * differently, so it starts a new index. The folder is in the header so
   * that a hash collision is a miss too. */
  x->header = lm_xasprintf(LM_INDEX_MAGIC " %s %s", exe, real);
  free(exe);
  if (strchr(real, '\n')) { /* a header must stay one line */
    free(x->file);
    x->file = NULL;
    return x;
  }
  read_index(x, open(x->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  return x;
}

static char **copy_list(char **v, int n) {
  if (!n) return NULL;
  char **c = lm_xcalloc((size_t)n, sizeof *c);
  for (int i = 0; i < n; i++)
    c[i] = lm_xstrdup(v[i]);
  return c;
}

static lm_revision *copy_revision(const lm_revision *s) {
  lm_revision *r = lm_xcalloc(1, sizeof *r);
  r->id = lm_xstrdup(s->id);
  r->message = lm_xstrdup(s->message);
  r->doc = s->doc ? lm_xstrdup(s->doc) : NULL;
  r->down = copy_list(s->down, r->ndown = s->ndown);
  r->depends = copy_list(s->depends, r->ndepends = s->ndepends);
  r->labels = copy_list(s->labels, r->nlabels = s->nlabels);
  r->revision_line = s->revision_line;
  r->down_line = s->down_line;
  r->depends_line = s->depends_line;
  r->labels_line = s->labels_line;
  r->step_names = copy_list(s->step_names, s->multistep ? s->nsteps : 0);
  r->nsteps = s->nsteps;
  r->multistep = s->multistep;
  r->has_downgrade = s->has_downgrade;
  r->rename_mark_line = s->rename_mark_line;
  memcpy(r->checksum, s->checksum, sizeof r->checksum);
  if (s->chunk && s->chunkname) {
    r->chunk = lm_xmalloc(s->nchunk ? s->nchunk : 1);
    memcpy(r->chunk, s->chunk, s->nchunk);
    r->nchunk = s->nchunk;
    r->chunkname = lm_xstrdup(s->chunkname);
    memcpy(r->chunk_sum, s->chunk_sum, sizeof r->chunk_sum);
  }
  r->env_ref = LM_NOT_LOADED;
  return r;
}

static int same_file(const entry *e, const struct stat *st) {
  return e->size == (long long)st->st_size && e->ino == (long long)st->st_ino &&
         e->mtime_s == (long long)st->st_mtim.tv_sec && e->mtime_ns == st->st_mtim.tv_nsec &&
         e->ctime_s == (long long)st->st_ctim.tv_sec && e->ctime_ns == st->st_ctim.tv_nsec;
}

/* The entry read from the file for name, or NULL. */
static entry *find(lm_revindex *x, const char *name) {
  int lo = 0, hi = x->nread;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(x->v[mid].name, name);
    if (c == 0) return &x->v[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

lm_revision *lm_revindex_get(lm_revindex *x, const char *name, const struct stat *st) {
  if (!x->file) return NULL;
  entry *e = find(x, name);
  if (!e) return NULL;
  e->seen = 1;
  if (!same_file(e, st) || e->lent) return NULL;
  /* the graph takes the entry's revision; the index still reads it when it
   * is saved, which happens before the graph can be freed */
  e->lent = 1;
  return e->rev;
}

int lm_revindex_wants(const lm_revindex *x, const struct stat *st) {
  return x->file && st->st_mtim.tv_sec <= x->now - LM_INDEX_SETTLE &&
         st->st_ctim.tv_sec <= x->now - LM_INDEX_SETTLE;
}

void lm_revindex_put(lm_revindex *x, const char *name, const struct stat *st,
                     const lm_revision *r) {
  if (!lm_revindex_wants(x, st) || strlen(r->checksum) != 64) return;
  entry e = {.name = lm_xstrdup(name),
             .size = (long long)st->st_size,
             .ino = (long long)st->st_ino,
             .mtime_s = (long long)st->st_mtim.tv_sec,
             .mtime_ns = st->st_mtim.tv_nsec,
             .ctime_s = (long long)st->st_ctim.tv_sec,
             .ctime_ns = st->st_ctim.tv_nsec,
             .rev = copy_revision(r),
             .seen = 1};
  entry *old = find(x, name);
  if (old) old->dead = 1;
  add_entry(x, &e);
  x->dirty = 1;
}

/* Writes the index if save is set and it changed (a new file replaces the old one at once,
 * so a reader never sees half of it), then frees it. */
void lm_revindex_close(lm_revindex *x, int save) {
  if (!x) return;
  if (!save) x->dirty = 0;
  /* entries of files that are gone are dropped */
  for (int i = 0; i < x->nread && save; i++)
    if (!x->v[i].seen && !x->v[i].dead) {
      x->v[i].dead = 1;
      x->dirty = 1;
    }
  if (x->file && x->dirty) {
    lm_buf b;
    serialize(x, &b);
    write_atomic(x->file, b.s, b.len);
    lm_buf_free(&b);
  }
  for (int i = 0; i < x->n; i++)
    free_entry(&x->v[i]);
  free(x->v);
  lm_chunk_file_release(x->cf);
  free(x->file);
  free(x->header);
  free(x);
}

int lm_revindex_parse_map(void *map, size_t len) {
  lm_revindex *x = lm_xcalloc(1, sizeof *x);
  x->header = lm_xstrdup(LM_INDEX_MAGIC " fuzz");
  int n = read_mapped(x, map, len) == 0 ? x->nread : -2;
  lm_revindex_close(x, 0);
  return n;
}

/* For the fuzz target: text read as an index file from a file in memory. */
static void read_text(lm_revindex *x, const char *text, size_t len) {
  int fd = lm_memfile("luamig-revindex");
  if (fd >= 0 && lm_write_all(fd, text, len) != 0) {
    close(fd);
    fd = -1;
  }
  read_index(x, fd);
}

/* For the fuzz target (tests/fuzz/fuzz_revindex.c): parses body as an index
 * after its header line, checks what it kept and writes it back; returns the
 * number of entries, or -1 when an invariant is broken. */
int lm_revindex_parse_buffer(const char *body, size_t len) {
  lm_revindex *x = lm_xcalloc(1, sizeof *x);
  x->header = lm_xstrdup(LM_INDEX_MAGIC " fuzz");
  size_t hl = strlen(x->header);
  char *text = lm_xmalloc(hl + 1 + len);
  memcpy(text, x->header, hl);
  text[hl] = '\n';
  memcpy(text + hl + 1, body, len);
  /* a body ending in a bare "end\n" gets its checksum, so that the fuzzer
   * reaches the entries; anything else must be rejected whole */
  size_t tl = hl + 1 + len;
  if (len >= 4 && memcmp(body + len - 4, "end\n", 4) == 0) {
    char sum[65];
    lm_fast_sum_hex(text, tl - 4, sum);
    text = lm_xrealloc(text, tl - 4 + END_LINE);
    memcpy(text + tl - 4, "end ", 4);
    memcpy(text + tl, sum, 64);
    text[tl + 64] = '\n';
    tl = tl - 4 + END_LINE;
  }
  read_text(x, text, tl);
  free(text);
  int n = x->nread, bad = 0;
  for (int i = 0; i < n && !bad; i++) {
    const lm_revision *r = x->v[i].rev;
    bad = !x->v[i].name || !r || !r->id || !r->message || strlen(r->checksum) != 64 ||
          r->nsteps < 1 || (r->multistep && !r->step_names) || r->revision_line < 0 ||
          r->down_line < 0 || r->depends_line < 0 || r->labels_line < 0 ||
          (i && strcmp(x->v[i - 1].name, x->v[i].name) > 0);
    if (!bad && find(x, x->v[i].name) == NULL) bad = 1;
    if (!bad && r->chunkname) { /* a kept chunk reads back whole */
      size_t cn;
      const char *c = lm_revision_chunk(r, &cn);
      bad = !c || cn != r->nchunk;
    }
  }
  if (!bad && n) { /* what is written back parses to the same entries */
    lm_buf b;
    serialize(x, &b);
    lm_revindex *y = lm_xcalloc(1, sizeof *y);
    y->header = lm_xstrdup(x->header);
    read_text(y, b.s, b.len);
    if (y->nread != n) bad = 1;
    lm_revindex_close(y, 0);
    lm_buf_free(&b);
  }
  lm_revindex_close(x, 0);
  return bad ? -1 : n;
}
