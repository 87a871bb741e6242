/* Statements set aside in order, to be run later: --sql keeps what its
 * script has run so far for the in-memory shadow database, which needs it
 * only if a move-and-copy comes (engine/sink.c). A thousand revisions make
 * 400 KB of statements; held in the process's own new memory they cost 150
 * first-touched pages (10-15 us each on a virtual machine), so they are
 * written to a file in memory instead, and read back only when replayed.
 *
 * A record, in the machine's own layout (the file lives and dies with the
 * process): the SQL's length, the parameter count, the SQL and a NUL, then
 * per parameter its value (type, integer, float, length) and, for text,
 * its bytes and a NUL. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lm.h"

typedef struct rec_head {
  uint64_t sql_len;
  int64_t nparams;
} rec_head;

typedef struct rec_value {
  int64_t t, i;
  double f;
  uint64_t len;
} rec_value;

int lm_stmt_log_open(lm_stmt_log *g) {
  memset(g, 0, sizeof *g);
  int fd = lm_memfile("luamig-statements");
  g->f = fd >= 0 ? fdopen(fd, "w+") : NULL;
  if (!g->f && fd >= 0) close(fd);
  return g->f ? 0 : -1;
}

void lm_stmt_log_add(lm_stmt_log *g, const lm_stmt *st) {
  const char *sql = st->sql ? st->sql : "";
  rec_head h = {strlen(sql), st->nparams > 0 ? st->nparams : 0};
  int ok =
      fwrite(&h, sizeof h, 1, g->f) == 1 && fwrite(sql, 1, h.sql_len + 1, g->f) == h.sql_len + 1;
  for (int64_t k = 0; ok && k < h.nparams; k++) {
    const lm_value *v = &st->params[k];
    rec_value r = {v->t, v->i, v->f, v->t == LM_V_TEXT ? v->len : 0};
    ok = fwrite(&r, sizeof r, 1, g->f) == 1;
    if (ok && v->t == LM_V_TEXT) {
      ok = (!r.len || fwrite(v->s, 1, r.len, g->f) == r.len) && fputc(0, g->f) != EOF;
    }
  }
  if (!ok) g->bad = errno ? errno : EIO;
  g->n++;
}

int lm_stmt_log_replay(lm_stmt_log *g, int (*fn)(void *ud, const lm_stmt *st), void *ud) {
  if (!g->n) return 0;
  if (g->bad || fflush(g->f) != 0)
    return lm_error_set(LM_EIO, "cannot keep the statements of the script aside: %s",
                        strerror(g->bad ? g->bad : errno));
  long size = ftell(g->f);
  char *buf = size > 0 ? malloc((size_t)size) : NULL;
  long got = 0;
  while (buf && got < size) {
    ssize_t k = pread(fileno(g->f), buf + got, (size_t)(size - got), got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    got += k;
  }
  if (!buf || got < size) {
    free(buf);
    return lm_error_set(LM_EIO, "cannot read back the statements of the script set aside");
  }
  int rc = 0;
  lm_value *params = NULL;
  int64_t cap = 0;
  for (size_t at = 0; !rc && at < (size_t)size;) {
    rec_head h;
    memcpy(&h, buf + at, sizeof h);
    at += sizeof h;
    lm_stmt st = {buf + at, NULL, (int)h.nparams};
    at += h.sql_len + 1;
    if (h.nparams > cap) {
      cap = h.nparams;
      free(params);
      params = lm_xcalloc((size_t)cap, sizeof *params);
    }
    for (int64_t k = 0; k < h.nparams; k++) {
      rec_value r;
      memcpy(&r, buf + at, sizeof r);
      at += sizeof r;
      params[k] = (lm_value){(lm_vtype)r.t, r.i, r.f, NULL, r.len};
      if (r.t == LM_V_TEXT) {
        params[k].s = buf + at;
        at += r.len + 1;
      }
    }
    st.params = h.nparams ? params : NULL;
    rc = fn(ud, &st);
  }
  free(params);
  free(buf);
  /* replayed: the log starts again empty */
  g->n = 0;
  if (fseek(g->f, 0, SEEK_SET) != 0 || ftruncate(fileno(g->f), 0) != 0)
    g->bad = errno ? errno : EIO;
  return rc;
}

void lm_stmt_log_close(lm_stmt_log *g) {
  if (g->f) fclose(g->f);
  memset(g, 0, sizeof *g);
}
