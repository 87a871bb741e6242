/* libFuzzer target: the scan of op.execute's SQL for transaction-control
 * statements (lm_sql_transaction_control) and for statements that only
 * write rows (lm_sql_writes_rows_only). The input is the SQL text; it
 * need not be NUL-terminated, so the scan must stay within len. */
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
  return 0;
}
