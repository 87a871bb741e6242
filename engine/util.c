/* Allocation that never returns NULL, growable strings, small helpers. The
 * bottom layer: nothing here calls another part of the engine. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "lm.h"

static void oom(void) {
  fputs("luamig: error: out of memory\n", stderr);
  abort();
}

void *lm_xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom();
  return p;
}

void *lm_xcalloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p) oom();
  return p;
}

void *lm_xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom();
  return q;
}

char *lm_xstrdup(const char *s) { return s ? lm_xstrndup(s, strlen(s)) : NULL; }

char *lm_xstrndup(const char *s, size_t n) {
  char *d = lm_xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

/* fmt with only %s and %% directives, the usual path or message join, made
 * without vsnprintf (about 700 instructions a call; three calls a revision
 * in a run over many), or NULL for any other format. */
static char *join_strings(const char *fmt, va_list ap) {
  size_t n = 0;
  va_list aq;
  va_copy(aq, ap);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      n++;
      continue;
    }
    if (f[1] == '%') {
      n++;
      f++;
    } else if (f[1] == 's') {
      const char *a = va_arg(aq, const char *);
      n += strlen(a ? a : "(null)");
      f++;
    } else {
      va_end(aq);
      return NULL;
    }
  }
  va_end(aq);
  char *s = lm_xmalloc(n + 1), *o = s;
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      *o++ = *f;
    } else if (*++f == '%') {
      *o++ = '%';
    } else {
      const char *a = va_arg(ap, const char *);
      if (!a) a = "(null)";
      size_t k = strlen(a);
      memcpy(o, a, k);
      o += k;
    }
  }
  *o = 0;
  return s;
}

char *lm_xasprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *joined = join_strings(fmt, ap);
  va_end(ap);
  if (joined) return joined;
  /* one formatting pass for the usual short result, two for a long one */
  char small[256];
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *s = lm_xmalloc((size_t)n + 1);
  if ((size_t)n < sizeof small) {
    memcpy(s, small, (size_t)n + 1);
    return s;
  }
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

void lm_buf_init(lm_buf *b) {
  b->s = NULL;
  b->len = b->cap = 0;
}

void lm_buf_free(lm_buf *b) {
  free(b->s);
  lm_buf_init(b);
}

static void grow(lm_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + extra + 1)
    cap *= 2;
  b->s = lm_xrealloc(b->s, cap);
  b->cap = cap;
}

void lm_buf_put(lm_buf *b, const char *s, size_t n) {
  grow(b, n);
  if (n) memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = 0;
}

void lm_buf_puts(lm_buf *b, const char *s) { lm_buf_put(b, s, strlen(s)); }

void lm_buf_putc(lm_buf *b, char c) { lm_buf_put(b, &c, 1); }

void lm_buf_put_utf8(lm_buf *b, unsigned long cp) {
  if (cp > 0x10FFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    lm_buf_putc(b, (char)cp);
  } else if (cp < 0x800) {
    lm_buf_putc(b, (char)(0xC0 | (cp >> 6)));
    lm_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    lm_buf_putc(b, (char)(0xE0 | (cp >> 12)));
    lm_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    lm_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  } else {
    lm_buf_putc(b, (char)(0xF0 | (cp >> 18)));
    lm_buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
    lm_buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
    lm_buf_putc(b, (char)(0x80 | (cp & 0x3F)));
  }
}

void lm_buf_printf(lm_buf *b, const char *fmt, ...) {
  /* formatted once into the room there is (or a first 64 bytes); a second
   * time only when that was too short */
  grow(b, 64);
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n <= 0) {
    b->s[b->len] = 0;
    return;
  }
  if ((size_t)n >= b->cap - b->len) {
    grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Appends s[0..n) with each `quote` in it doubled. */
static void put_doubling(lm_buf *b, const char *s, size_t n, char quote) {
  const char *end = s + n;
  while (s < end) {
    const char *q = memchr(s, quote, (size_t)(end - s));
    size_t k = q ? (size_t)(q - s) + 1 : (size_t)(end - s);
    lm_buf_put(b, s, k); /* up to and with the quote */
    if (q) lm_buf_putc(b, quote);
    s += k;
  }
}

void lm_buf_ident(lm_buf *b, const char *name) {
  lm_buf_putc(b, '"');
  put_doubling(b, name, strlen(name), '"');
  lm_buf_putc(b, '"');
}

void lm_buf_literal(lm_buf *b, const char *s, size_t n) {
  lm_buf_putc(b, '\'');
  put_doubling(b, s, n, '\'');
  lm_buf_putc(b, '\'');
}

size_t lm_utf8_seq(const unsigned char *s) {
  unsigned c = s[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, min = 0x10000;
  else
    return 0;
  unsigned cp = c & (0x7f >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

void lm_buf_put_printable(lm_buf *b, const char *s) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  while (*p) {
    /* a run of printable ASCII in one piece */
    const unsigned char *q = p;
    while (*q >= 0x20 && *q < 0x7f)
      q++;
    if (q > p) {
      lm_buf_put(b, (const char *)p, (size_t)(q - p));
      p = q;
      continue;
    }
    unsigned c = *p;
    size_t n = lm_utf8_seq(p);
    if (c == '\n')
      lm_buf_puts(b, "\\n");
    else if (c == '\r')
      lm_buf_puts(b, "\\r");
    else if (c == '\t')
      lm_buf_puts(b, "\\t");
    else if (c < 0x20 || c == 0x7f || n == 0)
      lm_buf_printf(b, "\\x%02x", c);
    else if (n == 2 && c == 0xc2 && p[1] < 0xa0) /* C1 controls: CSI and co. */
      lm_buf_printf(b, "\\u%04x", p[1]);
    else {
      lm_buf_put(b, (const char *)p, n);
      p += n;
      continue;
    }
    p += n ? n : 1;
  }
}

struct lm_arena_block {
  lm_arena_block *next;
  size_t used, cap;
  _Alignas(max_align_t) char data[];
};

#define ARENA_BLOCK 4096

/* One freed block of the default size, kept for the next arena: each op
 * call makes and frees an arena, and a fresh 4 KiB malloc between the Lua
 * allocations of a run cost two thousand instructions and often a new page.
 * Per thread, so that no lock is needed. */
static _Thread_local lm_arena_block *arena_spare;

/* n bytes, not zeroed */
static void *arena_take(lm_arena *a, size_t n) {
  size_t align = _Alignof(max_align_t);
  n = (n + align - 1) & ~(align - 1);
  if (!a->head || a->head->cap - a->head->used < n) {
    size_t min = a->block ? a->block : ARENA_BLOCK;
    size_t cap = n > min ? n : min;
    lm_arena_block *b;
    if (cap == ARENA_BLOCK && arena_spare) {
      b = arena_spare;
      arena_spare = NULL;
    } else {
      b = lm_xmalloc(sizeof *b + cap);
    }
    b->next = a->head;
    b->used = 0;
    b->cap = cap;
    a->head = b;
  }
  void *p = a->head->data + a->head->used;
  a->head->used += n;
  return p;
}

void *lm_arena_alloc(lm_arena *a, size_t n) {
  void *p = arena_take(a, n);
  memset(p, 0, n);
  return p;
}

char *lm_arena_strndup(lm_arena *a, const char *s, size_t n) {
  char *d = arena_take(a, n + 1);
  if (n) memcpy(d, s, n);
  d[n] = 0;
  return d;
}

void lm_arena_free(lm_arena *a) {
  while (a->head) {
    lm_arena_block *next = a->head->next;
    if (a->head->cap == ARENA_BLOCK && !arena_spare)
      arena_spare = a->head;
    else
      free(a->head);
    a->head = next;
  }
}

int lm_write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      if (w == 0) errno = EIO;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int lm_memfile(const char *name) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd >= 0) return fd;
  FILE *t = tmpfile(); /* no memfd: an unlinked file in $TMPDIR or /tmp */
  if (!t) return -1;
  fd = fcntl(fileno(t), F_DUPFD_CLOEXEC, 0);
  fclose(t);
  return fd;
}

/* A --sql script of a thousand revisions is 400 KB. Held in new memory,
 * its every page is touched for the first time, which on a virtual machine
 * costs 10 µs or more a page; held in a file in memory, the kernel takes
 * the pages (2 µs a page) and sends them on without copying them through
 * the process. */
FILE *lm_spool_open(lm_spool *sp) {
  memset(sp, 0, sizeof *sp);
  sp->fd = lm_memfile("luamig-script");
  int wfd = sp->fd >= 0 ? fcntl(sp->fd, F_DUPFD_CLOEXEC, 0) : -1;
  FILE *f = wfd >= 0 ? fdopen(wfd, "w") : NULL;
  if (!f && wfd >= 0) close(wfd);
  return f;
}

int lm_spool_copy(const lm_spool *sp, FILE *out) {
  off_t len = sp->fd >= 0 ? lseek(sp->fd, 0, SEEK_END) : -1;
  if (len < 0) return -1;
  off_t off = 0;
  int ofd = fileno(out);
  if (ofd >= 0 && ofd != sp->fd && fflush(out) == 0)
    while (off < len) {
      ssize_t k = sendfile(ofd, sp->fd, &off, (size_t)(len - off));
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break; /* out takes no sendfile (or failed): by hand below */
    }
  char buf[16384];
  while (off < len) {
    ssize_t k = pread(sp->fd, buf, sizeof buf, off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0 || fwrite(buf, 1, (size_t)k, out) != (size_t)k) return -1;
    off += k;
  }
  /* what stdio still holds is written now: a closed or full output fails
   * here for a script shorter than its buffer */
  return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

void lm_spool_free(lm_spool *sp) {
  if (sp->fd >= 0) close(sp->fd);
  sp->fd = -1;
}

char *lm_buf_steal(lm_buf *b) {
  char *s = b->s ? b->s : lm_xstrdup("");
  lm_buf_init(b);
  return s;
}

size_t lm_source_start(const char *text, size_t len) {
  size_t off = 0;
  if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) off = 3;
  if (off < len && text[off] == '#') /* #!/usr/bin/env ...: up to, not past, its newline */
    while (off < len && text[off] != '\n')
      off++;
  return off;
}

long long lm_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- values and statement lists ---- */

void lm_value_copy(lm_value *dst, const lm_value *src) {
  *dst = *src;
  if (src->t == LM_V_TEXT) dst->s = lm_xstrndup(src->s, src->len);
}

void lm_value_clear(lm_value *v) {
  if (v->t == LM_V_TEXT) free(v->s);
  memset(v, 0, sizeof *v);
}

void lm_stmts_add(lm_stmts *l, char *sql, const lm_value *params, int n) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = lm_xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
  }
  lm_stmt *s = &l->v[l->n++];
  s->sql = sql;
  s->nparams = n;
  s->params = NULL;
  if (n > 0) {
    s->params = lm_xcalloc((size_t)n, sizeof *s->params);
    for (int i = 0; i < n; i++)
      lm_value_copy(&s->params[i], &params[i]);
  }
}

void lm_stmt_free(lm_stmt *s) {
  free(s->sql);
  for (int i = 0; i < s->nparams; i++)
    lm_value_clear(&s->params[i]);
  free(s->params);
  s->sql = NULL;
  s->params = NULL;
  s->nparams = 0;
}

void lm_stmts_free(lm_stmts *l) {
  for (int i = 0; i < l->n; i++)
    lm_stmt_free(&l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

void lm_json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(out, "\\%c", *p);
    else if (*p == '\n')
      fputs("\\n", out);
    else if (*p == '\t')
      fputs("\\t", out);
    else if (*p < 0x20)
      fprintf(out, "\\u%04x", *p);
    else
      fputc(*p, out);
  }
  fputc('"', out);
}

/* Edit distance (insert, delete, substitute, swap of neighbours), capped:
 * names are short, so a small table on the stack does. */
static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 63 || m > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= n; i++)
    d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++)
    d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int cost = a[i - 1] != b[j - 1];
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[n][m];
}

const char *lm_closest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
  size_t len = strlen(word);
  /* about a third of the word may be wrong, at least one letter */
  int bestd = len < 3 ? 1 : (int)(len / 3) + 1;
  for (int i = 0; i < n; i++) {
    if (!cands[i]) continue;
    int dist = edit_distance(word, cands[i]);
    if (dist <= bestd && (!best || dist < bestd)) {
      best = cands[i];
      bestd = dist;
    }
  }
  return best;
}

int lm_rename_mark_line(const char *text) {
  const char *m = text ? strstr(text, LM_RENAME_MARK) : NULL;
  if (!m) return 0;
  int line = 1;
  for (const char *s = text; s < m; s++)
    line += *s == '\n';
  return line;
}
