/* libFuzzer target: the normalisation of SQL types, defaults and expressions
 * (engine/normalize.c) that autogenerate compares with. The input is a type
 * and a default or expression separated by a NUL byte; every function must
 * return a C string (or NULL for no default) and be idempotent where it
 * promises a canonical form; a column renamed in an expression (the type
 * part names it) leaves no reference behind; an index entry split into key,
 * COLLATE / operator class and order splits the same once written again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "normalize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = lm_xstrndup((const char *)data, size);
  size_t n1 = strlen(buf);
  const char *type = buf;
  const char *text = n1 < size ? (const char *)data + n1 + 1 : "";
  char *text_copy = lm_xstrndup(text, n1 < size ? size - n1 - 1 : 0);

  char *nt = lm_norm_type(type);
  char *nt2 = lm_norm_type(nt);
  if (strcmp(nt, nt2) != 0) abort(); /* canonical: normalising again changes nothing */
  (void)lm_norm_type_is(nt, "bool");

  char *nd = lm_norm_default(text_copy, nt);
  char *raw = lm_norm_default_raw(text_copy);
  char *lit = lm_norm_literal(text_copy);
  (void)lm_norm_is_number(text_copy);
  char *ne = lm_norm_expr(text_copy);
  char *ne2 = lm_norm_expr(ne);
  if (!ne || !ne2) abort();

  /* a column renamed in an expression: the first part names the column;
   * once rewritten, nothing refers to it any more */
  if (*type && strcasecmp(type, "x") != 0) {
    char *rn = lm_norm_rename_column(text_copy, type, "x");
    char *again = rn ? lm_norm_rename_column(rn, type, "x") : NULL;
    if (again) abort();
    free(rn);
  }

  /* an index entry: split, written again from its parts, split the same;
   * a statement's key columns read without harm */
  char *key, *opts;
  int order;
  lm_norm_index_entry(text_copy, &key, &opts, &order);
  if (!lm_sql_name_needs_quotes(key)) {
    char *again = lm_xasprintf(
        "%s%s%s%s%s", key, opts ? " " : "", opts ? opts : "", order & LM_INDEX_DESC ? " DESC" : "",
        order & LM_INDEX_NULLS_OTHER ? (order & LM_INDEX_DESC ? " NULLS LAST" : " NULLS FIRST")
                                     : "");
    char *k2, *o2;
    int ord2;
    lm_norm_index_entry(again, &k2, &o2, &ord2);
    if (strcmp(k2, key) != 0 || strcmp(o2 ? o2 : "", opts ? opts : "") != 0 || ord2 != order)
      abort();
    free(k2);
    free(o2);
    free(again);
  }
  free(key);
  free(opts);
  char *cols[3];
  lm_norm_index_def_opts(text_copy, cols, 3);
  for (int col = 0; col < 3; col++)
    free(cols[col]);

  free(ne2);
  free(ne);
  free(lit);
  free(raw);
  free(nd);
  free(nt2);
  free(nt);
  free(text_copy);
  free(buf);
  return 0;
}
