/* libFuzzer target: the scan of op.execute's SQL for transaction-control
 * statements (lm_sql_transaction_control) and for statements that only
 * write rows (lm_sql_writes_rows_only). The input is the SQL text; it
 * need not be NUL-terminated, so the scan must stay within len.
 * The same text as an author's fragment put inside a statement
 * (lm_render_put_sql), in each dialect's lexis: it comes out whole, and
 * what is written after it is never inside a -- comment. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *sql = lm_xmalloc(size ? size : 1);
  memcpy(sql, data, size);
  const char *what = NULL;
  int found = lm_sql_transaction_control(sql, size, &what);
  /* a finding names its keyword, and only a finding does */
  if ((found != 0) != (what != NULL)) abort();
  /* the scan for statements that only write rows stays within len too; a
   * text with transaction control is never only rows */
  int rows = lm_sql_writes_rows_only(sql, size);
  if (rows && found) abort();
  free(sql);

  char *text = lm_xmalloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0; /* a fragment is a C string: it ends at its first NUL */
  size_t len = strlen(text);
  static const char *const dialects[2] = {"sqlite", "postgresql"};
  for (int k = 0; k < 2; k++) {
    const lm_dialect *d = lm_dialect_find(dialects[k]);
    if (!d) abort();
    lm_buf b;
    lm_buf_init(&b);
    lm_render_put_sql(d, &b, text);
    if (b.len < len || memcmp(b.s, text, len) != 0) abort();
    if (b.len != len && !(b.len == len + 1 && b.s[len] == '\n')) abort();
    /* what follows: a fragment of its own that no comment is left open in */
    lm_buf_puts(&b, ")");
    lm_buf after;
    lm_buf_init(&after);
    lm_render_put_sql(d, &after, b.s);
    if (after.len != b.len) abort();
    lm_buf_free(&after);
    lm_buf_free(&b);
  }
  free(text);
  return 0;
}
