/* libFuzzer target: the Python reader (engine/pyreader.c) and the Alembic
 * converter on top of it (engine/alembic_import.c). Any input either fails
 * to tokenize with a line inside the text, or converts to Lua text that is a
 * C string of its own length; every unconverted statement is listed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lm.h"
#include "luamig/import.h"
#include "pyreader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *src = (const char *)data;
  py_module m;
  int line;
  const char *err;
  if (py_parse(src, size, &m, &line, &err) == 0) {
    for (int i = 0; i < m.nbody; i++) {
      if (m.body[i]->line < 1 || m.body[i]->end_line < m.body[i]->line) abort();
      free(py_line_text(&m, m.body[i]->line));
    }
    py_module_free(&m);
  } else if (!err || line < 1) {
    abort();
  }
  lm_alembic_rev r;
  if (lm_alembic_convert("v/f.py", "f.py", src, size, &r) == 0) {
    if (!r.lua || !r.name || !r.id) abort();
    int listed = 0; /* lines "v/f.py:N: not converted: …" (others are notes) */
    for (const char *p = r.diag.s; p && *p;) {
      if (strncmp(p, "v/f.py:", 7) != 0) abort();
      const char *q = p + 7;
      while (*q >= '0' && *q <= '9')
        q++;
      if (strncmp(q, ": not converted: ", 17) == 0)
        listed++;
      else if (strncmp(q, ": note: ", 8) != 0)
        abort();
      p = strchr(p, '\n');
      if (p) p++;
    }
    if (listed != r.nunconverted) abort();
  } else if (!r.error) {
    abort();
  }
  lm_alembic_rev_free(&r);
  lm_error_clear();
  return 0;
}
