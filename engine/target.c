/* Command-line targets of upgrade, downgrade and stamp (SPEC §7), parsed
 * without looking at the graph: resolving names is the planner's job. */
#include <limits.h>
#include <string.h>

#include "lm.h"

#define ID_MAX 32

static int id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int valid_id(const char *s, size_t n) {
  if (n < 1 || n > ID_MAX) return 0;
  for (size_t i = 0; i < n; i++)
    if (!id_char(s[i])) return 0;
  return 1;
}

/* Branch labels are free text in revision files; '-' and '.' are allowed
 * because names like "feature-x" or "v1.2" are common, but not '+', which
 * would read as REV+N. */
static int valid_label(const char *s, size_t n, size_t max) {
  if (n < 1 || n > max) return 0;
  for (size_t i = 0; i < n; i++)
    if (!id_char(s[i]) && s[i] != '-' && s[i] != '.') return 0;
  return 1;
}

/* N of +N / -N: decimal digits only, at least 1, fitting an int. */
static int parse_count(const char *s, int *out) {
  if (!*s) return 0;
  long long v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (*p - '0');
    if (v > INT_MAX) return 0;
  }
  if (v < 1) return 0;
  *out = (int)v;
  return 1;
}

static int bad_target(const char *s) {
  return lm_error_set(
      LM_EUSAGE,
      "invalid target '%s': use head, heads, base, current, a revision id or prefix, "
      "+N, -N, REV+N, REV-N (REV may be head, current or base), LABEL@head, LABEL@heads, "
      "LABEL@base, LABEL@+N, LABEL@-N or LABEL@head-N",
      s);
}

int lm_target_parse(lm_target *t, const char *s) {
  memset(t, 0, sizeof *t);
  if (!s) s = "";
  if (strcmp(s, "head") == 0) {
    t->kind = LM_T_HEAD;
    return 0;
  }
  if (strcmp(s, "heads") == 0) {
    t->kind = LM_T_HEADS;
    return 0;
  }
  if (strcmp(s, "base") == 0) {
    t->kind = LM_T_BASE;
    return 0;
  }
  if (s[0] == '+' || s[0] == '-') {
    int n;
    if (!parse_count(s + 1, &n)) return bad_target(s);
    t->kind = LM_T_REL;
    t->n = s[0] == '-' ? -n : n;
    return 0;
  }
  const char *at = strchr(s, '@');
  if (at) {
    /* as Alembic: the branch a label names, and where on it */
    size_t len = (size_t)(at - s);
    const char *on = at + 1;
    int n;
    if (!valid_label(s, len, sizeof t->label - 1)) return bad_target(s);
    memcpy(t->label, s, len);
    if (strcmp(on, "head") == 0) {
      t->kind = LM_T_HEAD;
    } else if (strcmp(on, "heads") == 0) {
      t->kind = LM_T_HEADS;
    } else if (strcmp(on, "base") == 0) {
      t->kind = LM_T_BASE;
    } else if ((on[0] == '+' || on[0] == '-') && parse_count(on + 1, &n)) {
      t->kind = LM_T_REL;
      t->n = on[0] == '-' ? -n : n;
    } else if (strncmp(on, "head", 4) == 0 && (on[4] == '+' || on[4] == '-') &&
               parse_count(on + 5, &n)) {
      t->kind = LM_T_REV_REL;
      t->n = on[4] == '-' ? -n : n;
    } else {
      return bad_target(s);
    }
    return 0;
  }
  const char *sign = strpbrk(s, "+-");
  if (sign) {
    size_t len = (size_t)(sign - s);
    int n;
    if (!valid_id(s, len) || !parse_count(sign + 1, &n)) return bad_target(s);
    t->kind = LM_T_REV_REL;
    memcpy(t->rev, s, len);
    t->n = *sign == '-' ? -n : n;
    return 0;
  }
  size_t len = strlen(s);
  if (!valid_id(s, len)) return bad_target(s);
  t->kind = LM_T_REV;
  memcpy(t->rev, s, len);
  return 0;
}

int lm_target_names_one(const lm_target *t) {
  return t->kind == LM_T_REV || t->kind == LM_T_REV_REL || (t->kind == LM_T_HEAD && t->label[0]);
}

int lm_range_split(const char *s, char *from, size_t fromsz, char *to, size_t tosz) {
  if (!s) s = "";
  const char *colon = strchr(s, ':');
  const char *tstart = colon ? colon + 1 : s;
  size_t flen = colon ? (size_t)(colon - s) : 0;
  size_t tlen = strlen(tstart);
  if ((tlen == 0 && !colon) || strchr(tstart, ':') || flen >= fromsz || tlen >= tosz)
    return lm_error_set(LM_EUSAGE, "invalid range '%s': use FROM:TO, for example base:head", s);
  memcpy(from, s, flen);
  from[flen] = 0;
  memcpy(to, tstart, tlen + 1);
  return 0;
}
