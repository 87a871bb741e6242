/* The revision index file as the revisions read from it see it: mapped for
 * as long as one of them may still copy its compiled chunk out of it (see
 * engine/revindex.c). Held by the index and by each revision read from it.
 * luamig replaces the file by renaming a new one over it, so the mapping
 * keeps its bytes; a file cut short in place by someone else raises SIGBUS
 * on a read past its new end, which the copy catches (lm_map_guarded): the
 * revision is then compiled from its text, as without an index. The index
 * itself is read under the same guard (engine/revindex.c). */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "lm.h"

struct lm_chunk_file {
  char *map;
  size_t len;
  int refs;
  char *buf; /* the last chunk copied */
  size_t cap;
};

static void on_sigbus(int sig);
static struct sigaction bus_old;
static volatile sig_atomic_t bus_ours; /* on_sigbus is in place */

/* Puts on_sigbus in place for SIGBUS, keeping the handler that was there.
 * Once per mapped file, not per copy (a system call each), and again each
 * time: whoever changed the handler since (a test harness) is kept too. */
static void catch_sigbus(void) {
  struct sigaction sa, prev;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigbus;
  sa.sa_flags = SA_NODEFER; /* left by siglongjmp: must not stay blocked */
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGBUS, &sa, &prev) != 0) return;
  if (prev.sa_handler != on_sigbus) bus_old = prev;
  bus_ours = 1;
}

struct lm_chunk_file *lm_chunk_file_new(void *map, size_t len) {
  catch_sigbus();
  struct lm_chunk_file *f = lm_xcalloc(1, sizeof *f);
  f->map = map;
  f->len = len;
  f->refs = 1;
  return f;
}

struct lm_chunk_file *lm_chunk_file_hold(struct lm_chunk_file *f) {
  if (f) f->refs++;
  return f;
}

void lm_chunk_file_release(struct lm_chunk_file *f) {
  if (!f || --f->refs > 0) return;
  munmap(f->map, f->len);
  free(f->buf);
  free(f);
}

static sigjmp_buf *volatile bus_jump; /* set while lm_map_guarded runs fn */

/* SIGBUS: a mapped page past the end of a file cut short. Inside
 * lm_map_guarded the work is abandoned; anywhere else the handler that was
 * there before takes over (the access faults again when this returns). */
static void on_sigbus(int sig) {
  if (bus_jump) siglongjmp(*bus_jump, 1);
  bus_ours = 0;
  sigaction(sig, &bus_old, NULL);
}

int lm_map_guarded(void (*fn)(void *), void *ud) {
  if (!bus_ours) return -1;
  sigjmp_buf jb;
  sigjmp_buf *volatile outer = bus_jump;
  if (sigsetjmp(jb, 0)) {
    bus_jump = outer;
    return -1;
  }
  bus_jump = &jb;
  fn(ud);
  bus_jump = outer;
  return 0;
}

typedef struct copy_job {
  char *dst;
  const char *src;
  size_t n;
} copy_job;

static void copy_run(void *ud) {
  copy_job *c = ud;
  memcpy(c->dst, c->src, c->n);
}

const char *lm_revision_chunk(const lm_revision *r, size_t *n) {
  *n = 0;
  if (r->chunk) {
    *n = r->nchunk;
    return r->chunk;
  }
  struct lm_chunk_file *f = r->chunk_file;
  if (!f || r->chunk_off < 0 || (size_t)r->chunk_off > f->len ||
      f->len - (size_t)r->chunk_off < r->nchunk)
    return NULL;
  if (f->cap < r->nchunk + 1) {
    f->cap = r->nchunk + 1 > 2 * f->cap ? r->nchunk + 1 : 2 * f->cap;
    free(f->buf);
    f->buf = lm_xmalloc(f->cap);
  }
  copy_job c = {f->buf, f->map + r->chunk_off, r->nchunk};
  if (lm_map_guarded(copy_run, &c) != 0) return NULL; /* the file was cut short */
  *n = r->nchunk;
  return f->buf;
}
