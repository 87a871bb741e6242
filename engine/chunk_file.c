/* The revision index file as the revisions read from it see it: mapped for
 * as long as one of them may still copy its compiled chunk out of it (see
 * engine/revindex.c). Held by the index and by each revision read from it.
 * luamig replaces the file by renaming a new one over it, so the mapping
 * keeps its bytes; a file cut short in place by someone else raises SIGBUS
 * on a read past its new end, which the copy catches (guarded_copy): the
 * revision is then compiled from its text, as without an index. */
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

static sigjmp_buf *volatile bus_jump; /* set while guarded_copy copies */

/* SIGBUS: a mapped page past the end of a file cut short. Inside
 * guarded_copy the copy is abandoned; anywhere else the handler that was
 * there before takes over (the access faults again when this returns). */
static void on_sigbus(int sig) {
  if (bus_jump) siglongjmp(*bus_jump, 1);
  bus_ours = 0;
  sigaction(sig, &bus_old, NULL);
}

/* memcpy from a file mapping; -1 when part of it is gone. */
static int guarded_copy(char *dst, const char *src, size_t n) {
  if (!bus_ours) return -1;
  sigjmp_buf jb;
  if (sigsetjmp(jb, 0)) {
    bus_jump = NULL;
    return -1;
  }
  bus_jump = &jb;
  memcpy(dst, src, n);
  bus_jump = NULL;
  return 0;
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
  if (guarded_copy(f->buf, f->map + r->chunk_off, r->nchunk) != 0)
    return NULL; /* the file was cut short */
  *n = r->nchunk;
  return f->buf;
}
