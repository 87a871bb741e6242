/**
 * Memory, growable strings and small helpers: what the engine and any client
 * of the library (the `luamig` command) build their text with. Nothing here
 * calls another part of luamig except lm_read_file, which sets the error.
 */
#ifndef LUAMIG_UTIL_H
#define LUAMIG_UTIL_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LM_UNUSED(x) ((void)(x))
#define LM_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- memory: these never return NULL (out of memory aborts)
 * ---------------------------------------------------------- */

void *lm_xmalloc(size_t n);
void *lm_xcalloc(size_t n, size_t size);
void *lm_xrealloc(void *p, size_t n);
char *lm_xstrdup(const char *s);
char *lm_xstrndup(const char *s, size_t n);
char *lm_xasprintf(const char *fmt, ...) LM_PRINTF(1, 2);

/* ---- growable string buffer --------------------------------------------- */

typedef struct lm_buf {
  char *s;
  size_t len, cap;
} lm_buf;

void lm_buf_init(lm_buf *b);
void lm_buf_free(lm_buf *b);
void lm_buf_put(lm_buf *b, const char *s, size_t n);
void lm_buf_puts(lm_buf *b, const char *s);
void lm_buf_putc(lm_buf *b, char c);
void lm_buf_printf(lm_buf *b, const char *fmt, ...) LM_PRINTF(2, 3);
/** Appends code point cp as UTF-8 (U+FFFD for one past U+10FFFF). */
void lm_buf_put_utf8(lm_buf *b, unsigned long cp);
/** Appends "name" with embedded double quotes doubled. */
void lm_buf_ident(lm_buf *b, const char *name);
/** Appends 'text' with embedded single quotes doubled. */
void lm_buf_literal(lm_buf *b, const char *s, size_t n);
/** Appends s as one line of printable text: control characters (C0, DEL,
 * C1, so also terminal escapes) and bytes that are not UTF-8 become \n, \t,
 * \r or \xNN. For comments in --sql scripts and for text shown to a user. */
void lm_buf_put_printable(lm_buf *b, const char *s);
/** The length of the valid UTF-8 sequence at s (1-4), 0 when there is none. */
size_t lm_utf8_seq(const unsigned char *s);
/** Returns the string (never NULL) and leaves the buffer empty. */
char *lm_buf_steal(lm_buf *b);
/** Memory handed out in pieces and freed all at once: pieces are zeroed and
 * aligned for any type, from blocks of at least `block` bytes (4096 when
 * 0). A zeroed lm_arena is empty. */
typedef struct lm_arena_block lm_arena_block;
typedef struct lm_arena {
  lm_arena_block *head;
  size_t block;
} lm_arena;

void *lm_arena_alloc(lm_arena *a, size_t n);
/** A NUL-terminated copy of the n bytes at s. */
char *lm_arena_strndup(lm_arena *a, const char *s, size_t n);
/** Frees every block; the arena is empty and can be used again. */
void lm_arena_free(lm_arena *a);

/** A new, empty file in memory (a memfd named name), or an unlinked
 * temporary file where there is none: its descriptor (close-on-exec), or
 * -1 with errno set. */
int lm_memfile(const char *name);

/** Writes all n bytes of data to fd, again after a short write or EINTR: 0,
 * or -1 (errno set) when a write failed. */
int lm_write_all(int fd, const void *data, size_t n);

/** Text held aside until it is whole, in a file in memory (see lm_spool_open). */
typedef struct lm_spool {
  int fd; /* -1 once freed */
} lm_spool;

/** A new, empty sp and a stream appending to it (read after fflush or
 * fclose), or NULL when there is nowhere to hold it; sp is freed with
 * lm_spool_free either way. */
FILE *lm_spool_open(lm_spool *sp);
/** Writes what sp holds to out and flushes out: 0, or -1 when a write
 * failed. */
int lm_spool_copy(const lm_spool *sp, FILE *out);
void lm_spool_free(lm_spool *sp);

/* ---- files and text ------------------------------------------------------------ */

/** The largest revision, config, model or module file luamig reads. */
#define LM_MAX_SOURCE ((size_t)16 << 20)
/** Reads a regular file of at most LM_MAX_SOURCE bytes (else an error). */
int lm_read_file(const char *path, char **data, size_t *len);
/** The candidate closest to word (a likely misspelling of it), or NULL. */
const char *lm_closest(const char *word, const char *const *cands, int n);
/** Writes s as a JSON string literal. */
void lm_json_str(FILE *out, const char *s);

#ifdef __cplusplus
}
#endif
#endif
