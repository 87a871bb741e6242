/* The one formatter of lint and check findings (`--format`): text lines and a
 * JSON array (lm_lint_print), GitHub Actions workflow commands, and a SARIF
 * 2.1.0 log for code scanning. Every finding, whoever reports it, is an
 * lm_lint_finding; its rule's texts come from lm_lint_rules. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lint.h"
#include "luamig.h"

int lm_format_parse(const char *s) {
  static const char *const names[] = {"text", "json", "github", "sarif"};
  for (int i = 0; s && i < 4; i++)
    if (strcmp(s, names[i]) == 0) return i;
  return -1;
}

/* file relative to base when it lies below it, else NULL. */
static char *below(const char *base, const char *file) {
  char rb[PATH_MAX], rf[PATH_MAX];
  if (!base || !file || !realpath(base, rb) || !realpath(file, rf)) return NULL;
  size_t n = strlen(rb);
  if (n == 1) n = 0; /* the root folder */
  if (strncmp(rf, rb, n) == 0 && rf[n] == '/') return lm_xstrdup(rf + n + 1);
  return NULL;
}

char *lm_report_relpath(const char *base, const char *file) {
  char *r = below(base, file);
  if (r) return r;
  if (file && strncmp(file, "./", 2) == 0) file += 2;
  return lm_xstrdup(file ? file : "");
}

/* ---- GitHub Actions: ::error file=F,line=N,title=RULE::message -------------------- */

/* Workflow-command escaping: the data after '::' escapes %, CR and LF; a
 * property value also ':' and ','. */
static void gh_escape(FILE *out, const char *s, int property) {
  for (; s && *s; s++) {
    switch (*s) {
    case '%': fputs("%25", out); break;
    case '\r': fputs("%0D", out); break;
    case '\n': fputs("%0A", out); break;
    case ':': property ? fputs("%3A", out) : fputc(':', out); break;
    case ',': property ? fputs("%2C", out) : fputc(',', out); break;
    default: fputc(*s, out);
    }
  }
}

static void print_github(const lm_lint_findings *f, const char *base, FILE *out) {
  for (int i = 0; i < f->n; i++) {
    const lm_lint_finding *x = &f->v[i];
    /* GitHub resolves file= against the repository's checkout: inside a
     * workflow that is GITHUB_WORKSPACE, elsewhere the project folder */
    char *file = below(getenv("GITHUB_WORKSPACE"), x->file);
    if (!file) file = lm_report_relpath(base, x->file);
    char *msg = lm_url_mask(x->message);
    fprintf(out, "::%s ", x->severity == LM_LINT_ERROR ? "error" : "warning");
    if (*file) {
      fputs("file=", out);
      gh_escape(out, file, 1);
      fprintf(out, ",line=%d,", x->line);
    }
    fputs("title=", out);
    gh_escape(out, x->rule, 1);
    fputs("::", out);
    gh_escape(out, msg, 0);
    if (x->hint && *x->hint) {
      fputs(" \xe2\x80\x94 ", out);
      gh_escape(out, x->hint, 0);
    }
    fputc('\n', out);
    free(msg);
    free(file);
  }
}

/* ---- SARIF 2.1.0 ------------------------------------------------------------------- */

/* A rule's position in the log's rules array, or -1 when it has none there. */
static int rule_index(const char *id, int kinds) {
  int k = 0;
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++) {
    if (!(r->kind & kinds)) continue;
    if (strcmp(r->id, id) == 0) return k;
    k++;
  }
  return -1;
}

static void sarif_rule(FILE *out, const char *id, const char *summary, const char *help,
                       lm_lint_severity level, int first) {
  fputs(first ? "\n" : ",\n", out);
  fputs("            {\"id\": ", out);
  lm_json_str(out, id);
  fputs(", \"name\": ", out);
  lm_json_str(out, id);
  fputs(",\n             \"shortDescription\": {\"text\": ", out);
  lm_json_str(out, summary);
  fputs("},\n             \"fullDescription\": {\"text\": ", out);
  lm_json_str(out, help);
  fputs("},\n             \"help\": {\"text\": ", out);
  lm_json_str(out, help);
  fprintf(out,
          "},\n             \"defaultConfiguration\": {\"level\": \"%s\"},\n"
          "             \"helpUri\": \"" LUAMIG_HOMEPAGE "#lint-rules\"}",
          level == LM_LINT_ERROR ? "error" : "warning");
}

static void print_sarif(const lm_lint_findings *f, const char *base, int kinds, FILE *out) {
  fputs("{\n"
        "  \"$schema\": "
        "\"https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
        "sarif-schema-2.1.0.json\",\n"
        "  \"version\": \"2.1.0\",\n"
        "  \"runs\": [\n"
        "    {\n"
        "      \"tool\": {\n"
        "        \"driver\": {\n"
        "          \"name\": \"luamig\",\n"
        "          \"version\": \"" LUAMIG_VERSION "\",\n"
        "          \"semanticVersion\": \"" LUAMIG_VERSION "\",\n"
        "          \"informationUri\": \"" LUAMIG_HOMEPAGE "\",\n"
        "          \"rules\": [",
        out);
  int first = 1;
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++) {
    if (!(r->kind & kinds)) continue;
    sarif_rule(out, r->id, r->summary, r->help, r->level, first);
    first = 0;
  }
  /* a finding of a rule missing from the table still gets a descriptor, so
   * the log stays valid; the lint_formats test keeps the table complete */
  const char **extra = lm_xcalloc((size_t)f->n + 1, sizeof *extra);
  int nextra = 0;
  for (int i = 0; i < f->n; i++) {
    const char *id = f->v[i].rule;
    if (rule_index(id, kinds) >= 0) continue;
    int seen = 0;
    for (int k = 0; k < nextra; k++)
      seen |= strcmp(extra[k], id) == 0;
    if (seen) continue;
    const lm_lint_rule *r = lm_lint_rule_find(id);
    extra[nextra++] = id;
    sarif_rule(out, id, r ? r->summary : id, r ? r->help : id, f->v[i].severity, first);
    first = 0;
  }
  int ntable = 0;
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++)
    ntable += (r->kind & kinds) != 0;
  fputs("\n          ]\n        }\n      },\n", out);
  char *root = NULL;
  char rb[PATH_MAX];
  if (base && realpath(base, rb)) {
    root = lm_xasprintf("file://%s%s", rb, rb[1] ? "/" : "");
    fputs("      \"originalUriBaseIds\": {\"PROJECTROOT\": {\"uri\": ", out);
    lm_json_str(out, root);
    fputs("}},\n", out);
  }
  fputs("      \"results\": [", out);
  for (int i = 0; i < f->n; i++) {
    const lm_lint_finding *x = &f->v[i];
    int idx = rule_index(x->rule, kinds);
    for (int k = 0; idx < 0 && k < nextra; k++)
      if (strcmp(extra[k], x->rule) == 0) idx = ntable + k;
    char *msg = lm_url_mask(x->message);
    char *text =
        x->hint && *x->hint ? lm_xasprintf("%s \xe2\x80\x94 %s", msg, x->hint) : lm_xstrdup(msg);
    fputs(i ? ",\n        {\"ruleId\": " : "\n        {\"ruleId\": ", out);
    lm_json_str(out, x->rule);
    fprintf(out, ", \"ruleIndex\": %d, \"level\": \"%s\",\n         \"message\": {\"text\": ", idx,
            x->severity == LM_LINT_ERROR ? "error" : "warning");
    lm_json_str(out, text);
    fputc('}', out);
    char *file = lm_report_relpath(base, x->file);
    if (*file) {
      /* a URI reference: percent-encode what may not stand in one */
      lm_buf u;
      lm_buf_init(&u);
      for (const unsigned char *p = (const unsigned char *)file; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~/!$&'()*+,;=:@", *p))
          lm_buf_printf(&u, "%c", *p);
        else
          lm_buf_printf(&u, "%%%02X", *p);
      }
      fputs(",\n         \"locations\": [{\"physicalLocation\": {\"artifactLocation\": {\"uri\": ",
            out);
      lm_json_str(out, u.s ? u.s : "");
      if (root && file[0] != '/') fputs(", \"uriBaseId\": \"PROJECTROOT\"", out);
      fprintf(out, "}, \"region\": {\"startLine\": %d}}}]", x->line > 0 ? x->line : 1);
      lm_buf_free(&u);
    }
    fputc('}', out);
    free(file);
    free(text);
    free(msg);
  }
  fputs(f->n ? "\n      ]\n    }\n  ]\n}\n" : "]\n    }\n  ]\n}\n", out);
  free(root);
  free(extra);
}

void lm_report_print(const lm_lint_findings *f, lm_format format, const char *base, int kinds,
                     FILE *out) {
  switch (format) {
  case LM_FORMAT_GITHUB: print_github(f, base, out); break;
  case LM_FORMAT_SARIF: print_sarif(f, base, kinds, out); break;
  case LM_FORMAT_JSON: lm_lint_print(f, 1, out); break;
  default: lm_lint_print(f, 0, out); break;
  }
}

/* lint's collection, printed: the reporter sits above lint, never below it. */
int lm_lint(lm_project *p, const char *const *revs, int nrevs, int format, FILE *out, int *nerrors,
            int *nwarnings) {
  lm_lint_findings f = {0};
  int rc = lm_lint_collect(p, revs, nrevs, &f, nerrors, nwarnings);
  if (!rc) {
    lm_report_print(&f, (lm_format)format, p->config ? p->config->dir : NULL, LM_RULE_LINT, out);
    fflush(out);
  }
  lm_lint_findings_free(&f);
  return rc;
}
