/* The Lua state's allocator. Lua allocates and frees small blocks at a high
 * rate (table parts, strings, closures: about 70,000 allocations and as
 * many frees in an `upgrade head --sql` over a thousand revisions, most of
 * the frees by its garbage collector) and tells the allocator
 * the size of every block it frees or resizes. So blocks need no header:
 * those up to LA_MAX bytes come from free lists by size class (LA_STEP
 * bytes apart), refilled from slabs of LA_SLAB bytes carved in order, and
 * larger ones from malloc. A free-list pop or push is a few instructions
 * where glibc's malloc and free, with their bookkeeping, took about 70 a
 * call; memory freed in one class is reused by the same class only, which
 * suits Lua, whose objects come back in the same sizes. Slabs are returned
 * when the state is closed (lm_lalloc_free).
 *
 * Under AddressSanitizer a block on a free list and the uncarved rest of a
 * slab are poisoned, so a use after free inside the Lua heap is still
 * reported. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lbind.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define LA_STEP 16 /* also the alignment of every block: Lua needs 8 */
#define LA_MAX 512
#define LA_CLASSES (LA_MAX / LA_STEP)
/* under 64 KiB with malloc's header: glibc consolidates its whole heap when
 * a chunk of 64 KiB or more is freed (0.7 M instructions at lua_close) */
#define LA_SLAB (64 * 1024 - 256)

typedef struct slab {
  struct slab *next;
  /* LA_STEP-aligned blocks follow the header */
} slab;

#define SLAB_HEADER ((sizeof(slab) + LA_STEP - 1) / LA_STEP * LA_STEP)

struct lm_lalloc {
  void *free_list[LA_CLASSES + 1]; /* by class (1..LA_CLASSES): a block's first word links */
  char *next, *end;                /* the current slab's uncarved part */
  slab *slabs;
};

lm_lalloc *lm_lalloc_new(void) { return calloc(1, sizeof(lm_lalloc)); }

void lm_lalloc_free(lm_lalloc *a) {
  if (!a) return;
  for (slab *s = a->slabs, *n; s; s = n) {
    n = s->next;
    UNPOISON(s, LA_SLAB);
    free(s);
  }
  free(a);
}

/* The class of a block of n bytes (1 <= n <= LA_MAX). */
static size_t class_of(size_t n) { return (n + LA_STEP - 1) / LA_STEP; }

static void *small_alloc(lm_lalloc *a, size_t c, size_t n) {
  void *p = a->free_list[c];
  if (p) {
    UNPOISON(p, c * LA_STEP);
    a->free_list[c] = *(void **)p;
    return p;
  }
  size_t size = c * LA_STEP;
  if ((size_t)(a->end - a->next) < size) {
    /* the rest of the old slab, less than LA_MAX bytes, stays unused */
    slab *s = malloc(LA_SLAB);
    if (!s) return NULL;
    s->next = a->slabs;
    a->slabs = s;
    a->next = (char *)s + SLAB_HEADER;
    a->end = (char *)s + LA_SLAB;
    POISON(a->next, (size_t)(a->end - a->next));
  }
  p = a->next;
  a->next += size;
  UNPOISON(p, n);
  return p;
}

static void small_free(lm_lalloc *a, void *p, size_t c) {
  UNPOISON(p, c * LA_STEP);
  *(void **)p = a->free_list[c];
  a->free_list[c] = p;
  POISON(p, c * LA_STEP);
}

void *lm_lalloc_fn(void *ud, void *ptr, size_t osize, size_t nsize) {
  lm_lalloc *a = ud;
  if (!ptr) osize = 0; /* then osize is the kind of object, not a size */
  size_t oc = osize && osize <= LA_MAX ? class_of(osize) : 0; /* 0: from malloc, or none */
  if (nsize == 0) {
    if (oc)
      small_free(a, ptr, oc);
    else
      free(ptr);
    return NULL;
  }
  size_t nc = nsize <= LA_MAX ? class_of(nsize) : 0;
  if (ptr && oc && oc == nc) { /* the same class: the block already fits */
    UNPOISON(ptr, nsize);
    return ptr;
  }
  if (ptr && !oc && !nc) return realloc(ptr, nsize);
  void *q = nc ? small_alloc(a, nc, nsize) : malloc(nsize);
  if (!q) {
    /* Lua counts on a shrink never failing: the block stays where it is.
     * From then on Lua knows it by its new size, so one from malloc would
     * be taken for a slab's when freed; a shrink only fails with the
     * process out of memory, and then it becomes a block of its new class
     * (its tail unused) until the state is closed, instead of an error. */
    return osize >= nsize ? ptr : NULL;
  }
  if (ptr) {
    memcpy(q, ptr, osize < nsize ? osize : nsize);
    if (oc)
      small_free(a, ptr, oc);
    else
      free(ptr);
  }
  return q;
}
