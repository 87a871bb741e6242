/* Shell completion scripts and the man page, both generated from the command
 * table (the command table, cli_options, the global help), so what the shell
 * offers, what `luamig help` prints and what `man luamig` shows cannot drift
 * apart. Also the hidden helpers they call back into:
 *   luamig __complete revisions|labels|steps|commands   words, one a line
 *   luamig __man                                        the roff page
 *   luamig __rules                                      the lint and check rules */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "luamig/lint.h"

static const command HIDDEN[] = {
    {"__complete", cli_complete, "luamig __complete revisions|labels|steps|commands",
     "words for the completion scripts", "", "", NULL, NULL},
    {"__man", cli_man, "luamig __man", "the man page, in roff", "", "", NULL, NULL},
    {"__rules", cli_rules, "luamig __rules", "the lint and check rules", "", "", NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

/* The command table, as main hands it to the command running. */
static const command *c_table;

const command *cli_find_hidden(const char *name) {
  for (const command *c = HIDDEN; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

/* ---- what the table says about arguments ------------------------------------------- */

/* What a value or a positional argument is, read from the placeholder words
 * of the usage lines (TARGET, REV, STEP, FILE, DIR, a|b|c). */
typedef enum argkind {
  ARG_NONE,    /* free text: a message, a URL */
  ARG_TARGET,  /* a revision or head, heads, base */
  ARG_REV,     /* a revision id or label */
  ARG_STEP,    /* a step name */
  ARG_LABEL,   /* a branch label */
  ARG_FILE,    /* a file */
  ARG_DIR,     /* a folder */
  ARG_CHOICE,  /* one of the words of a|b|c */
  ARG_COMMAND, /* a command name (help) */
  ARG_DIALECT, /* a dialect name */
} argkind;

/* The placeholder [s, s+n) stripped of brackets and dots, as a kind; choice
 * receives the a|b|c words (space separated) for ARG_CHOICE. */
static argkind placeholder_kind(const char *s, size_t n, lm_buf *choice) {
  while (n && (*s == '['))
    s++, n--;
  while (n && (s[n - 1] == ']' || s[n - 1] == '.'))
    n--;
  if (!n) return ARG_NONE;
  if (memchr(s, '|', n)) {
    if (choice) {
      for (size_t i = 0; i < n; i++)
        lm_buf_printf(choice, "%c", s[i] == '|' ? ' ' : s[i]);
    }
    return ARG_CHOICE;
  }
#define IS(w) (n == strlen(w) && strncmp(s, w, n) == 0)
  if (IS("TARGET")) return ARG_TARGET;
  if (IS("REV")) return ARG_REV;
  if (IS("STEP")) return ARG_STEP;
  if (IS("L") || IS("LABEL")) return ARG_LABEL;
  if (IS("FILE")) return ARG_FILE;
  if (IS("DIR")) return ARG_DIR;
  if (IS("COMMAND")) return ARG_COMMAND;
#undef IS
  return ARG_NONE;
}

/* Finds option name as a word of text followed by a placeholder. */
static int find_placeholder(const char *text, const char *name, const char **ph, size_t *n) {
  size_t len = strlen(name);
  for (const char *p = text; p && (p = strstr(p, name)); p += len) {
    int starts = p == text || p[-1] == ' ' || p[-1] == '[' || p[-1] == '\n';
    if (!starts || p[len] != ' ') continue;
    const char *v = p + len + 1;
    if (*v == '-' || *v == ' ') continue;
    *ph = v;
    *n = strcspn(v, " \n");
    return 1;
  }
  return 0;
}

/* The kind of the value of an option that takes one. */
static argkind option_value_kind(const cli_option *o, lm_buf *choice) {
  if (strcmp(o->longname, "--dialect") == 0) return ARG_DIALECT;
  const char *ph;
  size_t n;
  const char *names[2] = {o->longname, o->shortname};
  for (int k = 0; k < 2; k++) {
    if (!names[k]) continue;
    for (const command *c = c_table; c->name; c++)
      if (find_placeholder(c->usage, names[k], &ph, &n)) return placeholder_kind(ph, n, choice);
    if (find_placeholder(cli_global_help, names[k], &ph, &n))
      return placeholder_kind(ph, n, choice);
  }
  return ARG_NONE;
}

static const cli_option *option_named(const char *s, size_t n) {
  for (const cli_option *o = cli_options; o->longname; o++)
    if ((strlen(o->longname) == n && strncmp(o->longname, s, n) == 0) ||
        (o->shortname && strlen(o->shortname) == n && strncmp(o->shortname, s, n) == 0))
      return o;
  return NULL;
}

/* The kind of a command's first positional argument, from its usage line. */
static argkind positional_kind(const command *c, lm_buf *choice) {
  const char *p = c->usage;
  for (int words = 0; *p && words < 2; words++) { /* "luamig NAME" */
    p += strcspn(p, " ");
    p += strspn(p, " ");
  }
  while (*p) {
    size_t n = strcspn(p, " ");
    const char *w = p;
    p += n;
    p += strspn(p, " ");
    if (w[0] == '[' && w[1] == '-') w++, n--;
    if (w[0] != '-') return placeholder_kind(w, n, choice);
    int closed = w[n - 1] == ']';
    const cli_option *o = option_named(w, closed ? n - 1 : n);
    if (o && o->has_arg && !closed) { /* "-m MSG", "[--head REV]": skip the placeholder */
      p += strcspn(p, " ");
      p += strspn(p, " ");
    }
  }
  return ARG_NONE;
}

/* Every option a command takes, its own and the global ones, space separated. */
static void command_options(const command *c, lm_buf *b) {
  lm_buf_printf(b, "%s %s -x -h --help", cli_global_options, c->options ? c->options : "");
}

/* ---- luamig __complete --------------------------------------------------------------- */

int cli_complete(cli *c) {
  c_table = c->commands;
  /* completion must never print an error into the user's command line */
  if (!freopen("/dev/null", "w", stderr)) return 0;
  const char *what = c->npos ? c->pos[0] : "";
  if (strcmp(what, "commands") == 0) {
    for (const command *k = c_table; k->name; k++)
      printf("%s\n", k->name);
    printf("help\n");
    return 0;
  }
  lm_project *p = NULL;
  c->quiet = 1;
  if (cli_open(c, &p)) {
    lm_error_clear();
    return 0;
  }
  const lm_graph *g = lm_project_graph(p);
  for (int k = 0; k < g->n; k++) {
    const lm_revision *r = g->revs[g->topo ? g->topo[k] : k];
    if (strcmp(what, "revisions") == 0) printf("%s\n", r->id);
    if (strcmp(what, "labels") == 0)
      for (int i = 0; i < r->nlabels; i++)
        printf("%s\n", r->labels[i]);
    if (strcmp(what, "steps") == 0)
      for (int i = 0; r->multistep && i < r->nsteps; i++) {
        int seen = 0; /* each step name once, in chain order */
        for (int j = 0; j < k && !seen; j++) {
          const lm_revision *q = g->revs[g->topo ? g->topo[j] : j];
          for (int m = 0; q->multistep && m < q->nsteps; m++)
            seen |= strcmp(q->step_names[m], r->step_names[i]) == 0;
        }
        for (int m = 0; m < i; m++)
          seen |= strcmp(r->step_names[m], r->step_names[i]) == 0;
        if (!seen) printf("%s\n", r->step_names[i]);
      }
  }
  lm_project_free(p);
  return 0;
}

/* ---- the scripts ------------------------------------------------------------------- */

typedef enum shell { SH_BASH, SH_ZSH, SH_FISH } shell;

/* The words of the options that take a value, space separated, as a shell
 * pattern list a|b|c for case. */
static void value_options_pattern(lm_buf *b) {
  lm_buf_puts(b, "-x");
  for (const cli_option *o = cli_options; o->longname; o++) {
    if (!o->has_arg || strcmp(o->longname, "--config") == 0) continue;
    if (o->shortname) lm_buf_printf(b, "|%s", o->shortname);
    lm_buf_printf(b, "|%s", o->longname);
  }
}

/* The shell code (bash and zsh share it) that sets the array `w` to the words
 * of a kind (_luamig_q appends the words luamig __complete prints), or sets
 * files / dirs when the shell should complete those. */
/* The dialect names, separated by spaces. */
static void put_dialects(FILE *out) {
  const char *names[8];
  int n = lm_dialect_names(names, 8);
  for (int i = 0; i < n && i < 8; i++)
    fprintf(out, "%s%s", i ? " " : "", names[i]);
}

static void emit_words(FILE *out, argkind k, const char *choice) {
  switch (k) {
  case ARG_TARGET: fputs("w=(head heads base); _luamig_q revisions; _luamig_q labels", out); break;
  case ARG_REV: fputs("_luamig_q revisions; _luamig_q labels", out); break;
  case ARG_STEP: fputs("_luamig_q steps", out); break;
  case ARG_LABEL: fputs("_luamig_q labels", out); break;
  case ARG_COMMAND: fputs("_luamig_q commands", out); break;
  case ARG_DIALECT:
    fputs("w=(", out);
    put_dialects(out);
    fputs(")", out);
    break;
  case ARG_CHOICE: fprintf(out, "w=(%s)", choice); break;
  case ARG_FILE: fputs("files=1", out); break;
  case ARG_DIR: fputs("dirs=1", out); break;
  case ARG_NONE: fputs("w=()", out); break;
  }
}

/* zsh and fish quote with '...': a quote inside becomes '\'' (zsh) or \' (fish). */
static void put_squoted(FILE *out, const char *s, shell sh) {
  fputc('\'', out);
  for (; *s; s++) {
    if (*s == '\'')
      fputs(sh == SH_FISH ? "\\'" : "'\\''", out);
    else if (*s == '\\' && sh == SH_FISH)
      fputs("\\\\", out);
    else
      fputc(*s, out);
  }
  fputc('\'', out);
}

/* The body both bash and zsh run: find the command and the -c option among
 * the words before the cursor, then the words to offer in `w`. */
static void emit_sh_body(FILE *out, shell sh) {
  lm_buf pat, choice;
  lm_buf_init(&pat);
  value_options_pattern(&pat);
  if (sh == SH_BASH)
    fputs("  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"\" cmd=\"\" i files=0 dirs=0\n"
          "  local lm=\"${COMP_WORDS[0]}\"\n"
          "  local -a w=() cfg=()\n"
          "  [ \"$COMP_CWORD\" -gt 0 ] && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "    case \"${COMP_WORDS[i]}\" in\n",
          out);
  else
    fputs(
        "  local cur=\"${words[CURRENT]}\" prev=\"${words[CURRENT-1]}\" cmd=\"\" i files=0 dirs=0\n"
        "  local lm=\"${words[1]}\"\n"
        "  local -a w cfg\n"
        "  w=() cfg=()\n"
        "  for ((i = 2; i < CURRENT; i++)); do\n"
        "    case \"${words[i]}\" in\n",
        out);
  const char *wi = sh == SH_BASH ? "COMP_WORDS" : "words";
  fprintf(out,
          "    -c|--config) cfg=(-c \"${%s[i+1]}\"); i=$((i + 1)) ;;\n"
          "    %s) i=$((i + 1)) ;;\n"
          "    -*) ;;\n"
          "    *) [ -z \"$cmd\" ] && cmd=\"${%s[i]}\" ;;\n"
          "    esac\n"
          "  done\n",
          wi, pat.s, wi);
  /* the value of an option */
  fputs("  case \"$prev\" in\n", out);
  for (const cli_option *o = cli_options; o->longname; o++) {
    if (!o->has_arg) continue;
    lm_buf_init(&choice);
    argkind k = option_value_kind(o, &choice);
    fprintf(out, "  %s%s%s) ", o->shortname ? o->shortname : "", o->shortname ? "|" : "",
            o->longname);
    emit_words(out, k, choice.s ? choice.s : "");
    fputs(" ;;\n", out);
    lm_buf_free(&choice);
  }
  fputs("  -x) w=() ;;\n  *)\n", out);
  /* an option, or the command's positional argument */
  fputs("    if [ -z \"$cmd\" ]; then\n"
        "      case \"$cur\" in\n",
        out);
  fprintf(out, "      -*) w=(%s -x --version -h --help) ;;\n", cli_global_options);
  fputs("      *) w=(", out);
  for (const command *c = c_table; c->name; c++)
    fprintf(out, "%s ", c->name);
  fputs("help) ;;\n      esac\n    else\n      case \"$cur\" in\n      -*)\n        case \"$cmd\" "
        "in\n",
        out);
  for (const command *c = c_table; c->name; c++) {
    lm_buf b;
    lm_buf_init(&b);
    command_options(c, &b);
    fprintf(out, "        %s) w=(%s) ;;\n", c->name, b.s);
    lm_buf_free(&b);
  }
  fprintf(
      out,
      "        *) w=(%s -x -h --help) ;;\n        esac ;;\n      *)\n        case \"$cmd\" in\n",
      cli_global_options);
  for (const command *c = c_table; c->name; c++) {
    lm_buf_init(&choice);
    argkind k = positional_kind(c, &choice);
    if (k != ARG_NONE) {
      fprintf(out, "        %s) ", c->name);
      emit_words(out, k, choice.s ? choice.s : "");
      fputs(" ;;\n", out);
    }
    lm_buf_free(&choice);
  }
  fputs("        help) ", out);
  emit_words(out, ARG_COMMAND, "");
  fputs(" ;;\n        esac ;;\n      esac\n    fi ;;\n  esac\n", out);
  lm_buf_free(&pat);
}

static void emit_bash(FILE *out) {
  fputs("# bash completion for luamig, generated by `luamig completion bash`.\n"
        "# Load it with: source <(luamig completion bash)\n"
        "_luamig_q() {\n"
        "  local l\n"
        "  while IFS= read -r l; do w+=(\"$l\"); done < <(\"$lm\" \"${cfg[@]}\" __complete \"$1\" "
        "2>/dev/null)\n"
        "}\n"
        "_luamig() {\n",
        out);
  emit_sh_body(out, SH_BASH);
  fputs("  COMPREPLY=()\n"
        "  if [ \"$files\" = 1 ]; then\n"
        "    mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
        "  elif [ \"$dirs\" = 1 ]; then\n"
        "    mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n"
        "  elif [ \"${#w[@]}\" -gt 0 ]; then\n"
        "    mapfile -t COMPREPLY < <(compgen -W \"${w[*]}\" -- \"$cur\")\n"
        "  fi\n"
        "}\n"
        "complete -F _luamig luamig\n",
        out);
}

static void emit_zsh(FILE *out) {
  fputs("#compdef luamig\n"
        "# zsh completion for luamig, generated by `luamig completion zsh`.\n"
        "# Install it as _luamig in a folder of $fpath, or: source <(luamig completion zsh)\n"
        "_luamig_q() {\n"
        "  local l\n"
        "  while IFS= read -r l; do w+=(\"$l\"); done < <(\"$lm\" \"${cfg[@]}\" __complete \"$1\" "
        "2>/dev/null)\n"
        "}\n"
        "_luamig() {\n",
        out);
  emit_sh_body(out, SH_ZSH);
  fputs("  if [ \"$files\" = 1 ]; then\n"
        "    _files\n"
        "  elif [ \"$dirs\" = 1 ]; then\n"
        "    _files -/\n"
        "  elif [ -z \"$cmd\" ] && [[ \"$cur\" != -* ]]; then\n"
        "    local -a described\n"
        "    described=(\n",
        out);
  for (const command *c = c_table; c->name; c++) {
    lm_buf b;
    lm_buf_init(&b);
    lm_buf_printf(&b, "%s:%s", c->name, c->summary);
    fputs("      ", out);
    put_squoted(out, b.s, SH_ZSH);
    fputc('\n', out);
    lm_buf_free(&b);
  }
  fputs("      'help:help for one command'\n"
        "    )\n"
        "    _describe -t commands 'luamig command' described\n"
        "  else\n"
        "    compadd -- \"${w[@]}\"\n"
        "  fi\n"
        "}\n"
        "if [ \"${funcstack[1]}\" = _luamig ]; then\n"
        "  _luamig \"$@\"\n"
        "else\n"
        "  compdef _luamig luamig\n"
        "fi\n",
        out);
}

static void emit_fish_words(FILE *out, argkind k, const char *choice) {
  switch (k) {
  case ARG_TARGET:
    fputs(" -x -a 'head heads base (luamig __complete revisions 2>/dev/null) (luamig __complete "
          "labels 2>/dev/null)'",
          out);
    break;
  case ARG_REV:
    fputs(" -x -a '(luamig __complete revisions 2>/dev/null) (luamig __complete labels "
          "2>/dev/null)'",
          out);
    break;
  case ARG_STEP: fputs(" -x -a '(luamig __complete steps 2>/dev/null)'", out); break;
  case ARG_LABEL: fputs(" -x -a '(luamig __complete labels 2>/dev/null)'", out); break;
  case ARG_COMMAND: fputs(" -x -a '(luamig __complete commands 2>/dev/null)'", out); break;
  case ARG_DIALECT:
    fputs(" -x -a '", out);
    put_dialects(out);
    fputs("'", out);
    break;
  case ARG_CHOICE: fprintf(out, " -x -a '%s'", choice); break;
  case ARG_FILE: fputs(" -r -F", out); break;
  case ARG_DIR: fputs(" -x -a '(__fish_complete_directories)'", out); break;
  case ARG_NONE: fputs(" -x", out); break;
  }
}

/* Whether the space separated list holds name as a word. */
static int has_word(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p && (p = strstr(p, name)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n])) return 1;
  return 0;
}

static void emit_fish(FILE *out) {
  fputs("# fish completion for luamig, generated by `luamig completion fish`.\n"
        "# Install it as ~/.config/fish/completions/luamig.fish\n"
        "complete -c luamig -f\n",
        out);
  fputs("set -l luamig_commands", out);
  for (const command *c = c_table; c->name; c++)
    fprintf(out, " %s", c->name);
  fputs(" help\n", out);
  for (const command *c = c_table; c->name; c++) {
    fprintf(out,
            "complete -c luamig -n \"not __fish_seen_subcommand_from $luamig_commands\" -a %s -d ",
            c->name);
    put_squoted(out, c->summary, SH_FISH);
    fputc('\n', out);
  }
  fputs("complete -c luamig -n \"not __fish_seen_subcommand_from $luamig_commands\" -a help -d "
        "'help for one command'\n",
        out);
  lm_buf choice;
  for (const cli_option *o = cli_options; o->longname; o++) {
    /* the commands that take it; global options everywhere */
    lm_buf cond;
    lm_buf_init(&cond);
    int global = has_word(cli_global_options, o->longname);
    if (!global) {
      for (const command *c = c_table; c->name; c++)
        if (has_word(c->options, o->longname) ||
            (o->shortname && has_word(c->options, o->shortname)))
          lm_buf_printf(&cond, " %s", c->name);
      if (!cond.len) {
        lm_buf_free(&cond);
        continue;
      }
    }
    fputs("complete -c luamig", out);
    if (!global) fprintf(out, " -n '__fish_seen_subcommand_from%s'", cond.s);
    if (o->shortname) fprintf(out, " -s %s", o->shortname + 1);
    fprintf(out, " -l %s", o->longname + 2);
    if (o->has_arg) {
      lm_buf_init(&choice);
      argkind k = option_value_kind(o, &choice);
      emit_fish_words(out, k, choice.s ? choice.s : "");
      lm_buf_free(&choice);
    }
    fputc('\n', out);
    lm_buf_free(&cond);
  }
  fputs("complete -c luamig -s x -x -d 'KEY=VALUE passed to revisions as context.x'\n"
        "complete -c luamig -l version -d 'print the version'\n"
        "complete -c luamig -s h -l help -d 'help'\n",
        out);
  for (const command *c = c_table; c->name; c++) {
    lm_buf_init(&choice);
    argkind k = positional_kind(c, &choice);
    if (k != ARG_NONE) {
      fprintf(out, "complete -c luamig -n '__fish_seen_subcommand_from %s'", c->name);
      emit_fish_words(out, k, choice.s ? choice.s : "");
      fputc('\n', out);
    }
    lm_buf_free(&choice);
  }
  fputs("complete -c luamig -n '__fish_seen_subcommand_from help'", out);
  emit_fish_words(out, ARG_COMMAND, "");
  fputc('\n', out);
}

int cmd_completion(cli *c) {
  c_table = c->commands;
  int rc = cli_args(c, 1, 1);
  if (rc) return rc;
  const char *sh = c->pos[0];
  if (strcmp(sh, "bash") == 0)
    emit_bash(stdout);
  else if (strcmp(sh, "zsh") == 0)
    emit_zsh(stdout);
  else if (strcmp(sh, "fish") == 0)
    emit_fish(stdout);
  else
    return lm_error_set(LM_EUSAGE, "unknown shell '%s': use bash, zsh or fish", sh);
  fflush(stdout);
  return 0;
}

/* ---- the man page ------------------------------------------------------------------ */

/* Text as roff: backslashes escaped, '-' as \- (options stay searchable and
 * copy-pasteable), a leading '.' or '\'' guarded. */
static void roff_text(FILE *out, const char *s, size_t n) {
  if (n && (s[0] == '.' || s[0] == '\'')) fputs("\\&", out);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\')
      fputs("\\e", out);
    else if (s[i] == '-')
      fputs("\\-", out);
    else
      fputc(s[i], out);
  }
}

/* A help text: its lines indented by two spaces (option lists, examples)
 * verbatim, the others as filled paragraphs. */
static void roff_help(FILE *out, const char *text) {
  int verbatim = 0;
  for (const char *p = text; p && *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    int indented = n >= 2 && p[0] == ' ' && p[1] == ' ';
    if (n == 0) {
      if (verbatim) fputs(".fi\n", out), verbatim = 0;
      fputs(".PP\n", out);
    } else {
      if (indented && !verbatim) fputs(".nf\n", out), verbatim = 1;
      if (!indented && verbatim) fputs(".fi\n", out), verbatim = 0;
      roff_text(out, p, n);
      fputc('\n', out);
    }
    p = nl ? nl + 1 : p + n;
  }
  if (verbatim) fputs(".fi\n", out);
}

/* The paragraph of the global help that starts with prefix, without it. */
static int global_paragraph(const char *prefix, const char **s, size_t *n) {
  const char *p = strstr(cli_global_help, prefix);
  if (!p) return 0;
  p += strlen(prefix);
  p += strspn(p, " "); /* "Exit codes: 0 ..." */
  if (*p == '\n') p++; /* "Global options:\n  -c ...": keep the indentation */
  const char *e = strstr(p, "\n\n");
  *s = p;
  *n = e ? (size_t)(e - p) : strlen(p);
  return 1;
}

int cli_man(cli *c) {
  c_table = c->commands;
  LM_UNUSED(c);
  FILE *out = stdout;
  fputs(".\\\" luamig(1), generated by `luamig __man` from the command table that\n"
        ".\\\" `luamig help` prints: edit engine/cli/main.c, not this file.\n",
        out);
  fprintf(out, ".TH LUAMIG 1 \"\" \"luamig %s\" \"User Commands\"\n", LUAMIG_VERSION);
  fputs(".nh\n.ad l\n", out); /* option names are not hyphenated or stretched */
  fputs(".SH NAME\nluamig \\- database schema migrations whose revisions are Lua scripts\n"
        ".SH SYNOPSIS\n.B luamig\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]\n"
        ".SH DESCRIPTION\n"
        "luamig evolves a database schema through a chain of revision files written in Lua.\n"
        "It loads the chain, works out what must run, renders each operation to the SQL of\n"
        "the database (PostgreSQL or SQLite) and runs it, or prints the SQL for a reviewer.\n"
        "Each command below also has its help: \\fBluamig help\\fR \\fICOMMAND\\fR.\n"
        ".SH COMMANDS\n",
        out);
  for (const command *k = c_table; k->name; k++) {
    fputs(".SS ", out);
    roff_text(out, k->name, strlen(k->name));
    fputs("\n.B ", out);
    roff_text(out, k->usage, strlen(k->usage));
    fputs("\n.PP\n", out);
    roff_text(out, k->summary, strlen(k->summary));
    fputs(".\n", out);
    if (k->help && *k->help) {
      fputs(".PP\n", out);
      roff_help(out, k->help);
    }
    if (k->example && *k->example) {
      fputs(".PP\nExample:\n.nf\n", out);
      roff_text(out, k->example, strlen(k->example));
      fputs("\n.fi\n", out);
    }
    if (k->exits && *k->exits) {
      fputs(".PP\nExit status: ", out);
      roff_text(out, k->exits, strlen(k->exits));
      fputs(".\n", out);
    }
  }
  fputs(".SS help\n.B luamig help [COMMAND | options]\n.PP\nhelp for one command.\n", out);
  const char *s;
  size_t n;
  if (global_paragraph("Global options:", &s, &n)) {
    fputs(".SH OPTIONS\n", out);
    char *t = lm_xstrndup(s, n);
    fputs(".nf\n", out);
    roff_text(out, t, n);
    fputs("\n.fi\n", out);
    free(t);
  }
  if (global_paragraph("Environment:", &s, &n)) {
    fputs(".SH ENVIRONMENT\n", out);
    roff_text(out, s, n);
    fputc('\n', out);
  }
  if (global_paragraph("Exit codes:", &s, &n)) {
    fputs(".SH EXIT STATUS\n", out);
    roff_text(out, s, n);
    fputc('\n', out);
  }
  fputs(".SH LINT RULES\n"
        "Findings of \\fBluamig lint\\fR and \\fBluamig check\\fR, with their usual level.\n"
        "A line \\fB\\-\\-\\ luamig:\\ allow\\ \\fIRULE\\fR just before an operation, or in the\n"
        "file's header comment, silences a lint rule there.\n",
        out);
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++) {
    fputs(".TP\n.B ", out);
    roff_text(out, r->id, strlen(r->id));
    fprintf(out, "\n(%s%s) ", r->level == LM_LINT_ERROR ? "error" : "warning",
            r->kind == LM_RULE_CHECK ? ", check" : "");
    roff_text(out, r->summary, strlen(r->summary));
    fputs(". ", out);
    roff_text(out, r->help, strlen(r->help));
    fputc('\n', out);
  }
  fputs(".SH FILES\n"
        ".TP\n.I luamig.lua\nthe project configuration\n"
        ".TP\n.I versions/\nthe revision files\n"
        ".TP\n.I script.lua.tmpl\nthe template of \\fBluamig revision\\fR\n"
        ".SH SEE ALSO\n\\fBsqlite3\\fR(1), \\fBpsql\\fR(1)\n",
        out);
  fflush(out);
  return 0;
}

int cli_rules(cli *c) {
  LM_UNUSED(c);
  for (const lm_lint_rule *r = lm_lint_rules; r->id; r++)
    printf("%s\t%s\t%s\t%s\n", r->id, r->level == LM_LINT_ERROR ? "error" : "warning",
           r->kind == LM_RULE_CHECK ? "check" : "lint", r->summary);
  return 0;
}
