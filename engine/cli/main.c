/* luamig: the command line. A table of commands, each in its own file; global
 * options may stand before or after the command name. */
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const command COMMANDS[] = {
    {"init", cmd_init, "luamig init [DIR]", "make a new project",
     "Creates luamig.lua, versions/ and script.lua.tmpl in DIR (default: the current folder).\n"
     "Refuses when a project is already there.",
     ""},
    {"revision", cmd_revision,
     "luamig revision -m MSG [--rev-id ID] [--head REV] [--depends-on REV] [--branch-label L] "
     "[--steps a,b,c]",
     "write a new revision file",
     "Writes versions/<id>_<slug>.lua from script.lua.tmpl on top of the single head (or\n"
     "--head REV or LABEL@head; --head base starts a new root; --splice branches from a\n"
     "revision that is not a head) and prints its path. --steps writes a\n"
     "multi-step revision with the named steps (expand/contract across deploys).",
     "-m --message --rev-id --head --depends-on --branch-label --steps --splice --autogenerate "
     "--offline --scratch-url"},
    {"merge", cmd_merge, "luamig merge -m MSG REV REV...", "write a revision merging heads",
     "Writes a revision whose down_revision lists the given revisions (usually the heads).",
     "-m --message --rev-id --branch-label"},
    {"upgrade", cmd_upgrade,
     "luamig upgrade TARGET [--sql] [--stop-before STEP] [--dry-run] [--ignore-checksums]",
     "apply revisions up to TARGET",
     "TARGET: head, heads, a revision id or unique prefix, +N, REV+N; with --sql also FROM:TO.\n"
     "Each revision runs in its own transaction with its version-table row.\n"
     "  --sql              print the SQL script instead of connecting (--dialect without a URL)\n"
     "  --stop-before STEP stop multi-step revisions before the step named STEP\n"
     "  --dry-run          run everything in one transaction and roll it back\n"
     "  --ignore-checksums run even when applied revision files were edited",
     "--sql --stop-before --dry-run --ignore-checksums --dialect"},
    {"downgrade", cmd_downgrade, "luamig downgrade TARGET [--sql] [--dry-run] [--ignore-checksums]",
     "revert revisions down to TARGET",
     "TARGET: -N, a revision id or unique prefix, base; with --sql FROM:TO (e.g. head:base).",
     "--sql --dry-run --ignore-checksums --dialect"},
    {"stamp", cmd_stamp, "luamig stamp TARGET", "set the version table without running anything",
     "TARGET: a revision, head, heads or base. Records the files' current checksums.", ""},
    {"current", cmd_current, "luamig current [--json] [-v]", "show the applied revisions",
     "Prints each applied head, with (head) when it is the chain's head, and the step of a\n"
     "partly applied multi-step revision.",
     ""},
    {"history", cmd_history, "luamig history [-r FROM:TO] [--verbose] [--json]",
     "show the chain, newest first", "", "-r --rev-range"},
    {"heads", cmd_heads, "luamig heads [--verbose] [--json]", "show the chain's heads", "", ""},
    {"branches", cmd_branches, "luamig branches", "show the chain's branch points", "", ""},
    {"show", cmd_show, "luamig show REV", "show one revision's header and file", "", ""},
    {"lint", cmd_lint, "luamig lint [REV...] [--json]", "check revisions for dangerous operations",
     "Runs each revision's upgrade and downgrade against a recorder, without a database, and\n"
     "reports FILE:LINE: error|warning [RULE] message. A line `-- luamig: allow RULE` just\n"
     "before an operation, or in the file's header comment, silences RULE there.\n"
     "Exit 1 when an error remains. --json prints a JSON array of findings.",
     ""},
    {"check", cmd_check, "luamig check [--roundtrip] [--json]",
     "check the chain, the applied checksums and lint",
     "Passes when the chain loads, has exactly one head, the checksums recorded in the\n"
     "database (when one is configured and reachable) match the files, and lint finds no\n"
     "error. --roundtrip also runs, on a scratch database that is removed afterwards, each\n"
     "revision's upgrade, downgrade and upgrade again, and fails at the first revision whose\n"
     "downgrade does not give back the schema from before its upgrade (on PostgreSQL the\n"
     "scratch database luamig_check_* is made on the configured server; without a URL,\n"
     "--dialect sqlite runs it on a temporary file). Exit 1 on failure.",
     "--roundtrip --dialect --drift --scratch-url"},
    {"schema", cmd_schema, "luamig schema", "print the database schema as SQL",
     "Prints the current database schema as deterministic SQL: tables sorted by name with\n"
     "their columns, constraints, indexes and triggers (luamig's version table left out).\n"
     "Two databases migrated the same way print the same text.",
     "--model"},
    {NULL, NULL, NULL, NULL, NULL, NULL}};

const command *cli_find(const char *name) {
  for (const command *c = COMMANDS; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

static const char GLOBAL_HELP[] =
    "Global options:\n"
    "  -c, --config FILE  project configuration (default ./luamig.lua)\n"
    "  --url URL          database URL (overrides DATABASE_URL and the config's url)\n"
    "  -x KEY=VALUE       passed to revisions as context.x.KEY (repeatable)\n"
    "  -q, --quiet        print only errors\n"
    "  -v, --verbose      print each SQL statement as it runs\n"
    "  --json             machine-readable output (current, history, heads, lint, check)\n"
    "  --version          print the version\n"
    "  -h, --help         this help; 'luamig help COMMAND' for one command\n"
    "\n"
    "Environment: DATABASE_URL (the database URL unless --url is given; it overrides\n"
    "the config's url); LUAMIG_CACHE_DIR (where the revision index, with each\n"
    "revision compiled, is kept; default $XDG_CACHE_HOME/luamig or ~/.cache/luamig;\n"
    "empty or 'off' for none).\n"
    "\n"
    "Exit codes: 0 success, 1 a migration or check failed, 2 usage, configuration or\n"
    "revision-loading error, 130 interrupted.\n";

void cli_print_help(FILE *out, const command *cmd) {
  if (cmd) {
    fprintf(out, "usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->help && *cmd->help) fprintf(out, "\n%s\n", cmd->help);
    fprintf(out, "\n%s", GLOBAL_HELP);
    return;
  }
  fputs("usage: luamig [OPTIONS] COMMAND [ARGS]\n\n"
        "Database schema migrations whose revisions are Lua scripts.\n\nCommands:\n",
        out);
  for (const command *c = COMMANDS; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out, "  %-10s %s\n\n%s", "help", "help for one command", GLOBAL_HELP);
}

static int usage_error(const char *fmt, const char *arg) {
  lm_error_set(LM_EUSAGE, fmt, arg);
  lm_error_print(stderr);
  fputs("Run 'luamig --help' for usage.\n", stderr);
  return 2;
}

/* A token such as -1 or -12 is a relative downgrade target, not an option. */
static int is_negative_number(const char *s) {
  if (s[0] != '-' || !s[1]) return 0;
  for (const char *p = s + 1; *p; p++)
    if (*p < '0' || *p > '9') return 0;
  return 1;
}

typedef struct optdef {
  const char *shortname, *longname;
  int has_arg;
  size_t field; /* offset of a const char* or int in cli */
} optdef;

#define F(x) offsetof(cli, x)
static const optdef OPTS[] = {{"-c", "--config", 1, F(config)},
                              {NULL, "--url", 1, F(url)},
                              {NULL, "--dialect", 1, F(dialect)},
                              {"-q", "--quiet", 0, F(quiet)},
                              {"-v", "--verbose", 0, F(verbose)},
                              {NULL, "--json", 0, F(json)},
                              {"-m", "--message", 1, F(message)},
                              {NULL, "--rev-id", 1, F(rev_id)},
                              {NULL, "--head", 1, F(head)},
                              {NULL, "--depends-on", 1, F(depends_on)},
                              {NULL, "--branch-label", 1, F(branch_label)},
                              {NULL, "--steps", 1, F(steps)},
                              {NULL, "--stop-before", 1, F(stop_before)},
                              {"-r", "--rev-range", 1, F(range)},
                              {NULL, "--sql", 0, F(sql)},
                              {NULL, "--dry-run", 0, F(dry_run)},
                              {NULL, "--ignore-checksums", 0, F(ignore_checksums)},
                              {NULL, "--splice", 0, F(splice)},
                              {NULL, "--roundtrip", 0, F(roundtrip)},
                              {NULL, "--autogenerate", 0, F(autogenerate)},
                              {NULL, "--offline", 0, F(offline)},
                              {NULL, "--scratch-url", 1, F(scratch_url)},
                              {NULL, "--drift", 0, F(drift)},
                              {NULL, "--model", 0, F(model)},
                              {NULL, NULL, 0, 0}};
#undef F

static const char *const GLOBAL_OPTS = "-c --config --url -q --quiet -v --verbose --json";

static int option_allowed(const command *cmd, const optdef *o) {
  const char *names[2] = {o->shortname, o->longname};
  for (int k = 0; k < 2; k++) {
    if (!names[k]) continue;
    size_t n = strlen(names[k]);
    for (const char *lists[2] = {GLOBAL_OPTS, cmd ? cmd->options : ""}, **l = lists; l < lists + 2;
         l++) {
      const char *p = *l;
      while ((p = strstr(p, names[k]))) {
        if ((p == *l || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
        p += n;
      }
    }
  }
  return 0;
}

static void on_signal(int sig) {
  /* a second Ctrl-C gets the default action */
  signal(sig, SIG_DFL);
  lm_interrupt();
}

int main(int argc, char **argv) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  cli c;
  memset(&c, 0, sizeof c);
  int want_help = 0, want_version = 0, only_pos = 0;
  const char *pending_error = NULL, *pending_arg = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || !a[1] || is_negative_number(a)) {
      if (!c.command)
        c.command = a;
      else if (c.npos < CLI_MAX_POS)
        c.pos[c.npos++] = a;
      else
        return usage_error("too many arguments%s", "");
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      want_help = 1;
      continue;
    }
    if (strcmp(a, "--version") == 0) {
      want_version = 1;
      continue;
    }
    if (strcmp(a, "-x") == 0 || strncmp(a, "-x", 2) == 0) {
      const char *kv = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : NULL);
      if (!kv) return usage_error("-x needs KEY=VALUE%s", "");
      const char *eq = strchr(kv, '=');
      if (!eq || eq == kv) return usage_error("-x needs KEY=VALUE, got '%s'", kv);
      if (c.nx == CLI_MAX_X) return usage_error("too many -x options%s", "");
      c.x[c.nx++] = kv;
      continue;
    }
    char name[64];
    const char *val = NULL;
    const char *eq = strchr(a, '=');
    if (a[1] == '-' && eq) {
      snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
      val = eq + 1;
    } else {
      snprintf(name, sizeof name, "%s", a);
    }
    const optdef *o = OPTS;
    for (; o->longname; o++)
      if ((o->shortname && strcmp(o->shortname, name) == 0) || strcmp(o->longname, name) == 0)
        break;
    if (!o->longname) {
      if (!pending_error) pending_error = "unknown option '%s'", pending_arg = a;
      continue;
    }
    if (o->has_arg) {
      if (!val) {
        if (i + 1 >= argc) return usage_error("option %s needs a value", name);
        val = argv[++i];
      }
      *(const char **)((char *)&c + o->field) = val;
    } else {
      if (val) return usage_error("option %s takes no value", name);
      *(int *)((char *)&c + o->field) = 1;
    }
  }
  if (want_version) {
    printf("luamig %s\n", LUAMIG_VERSION);
    return 0;
  }
  if (c.command && strcmp(c.command, "help") == 0) {
    if (c.npos == 0) {
      cli_print_help(stdout, NULL);
      return 0;
    }
    const command *cmd = cli_find(c.pos[0]);
    if (!cmd) return usage_error("unknown command '%s'", c.pos[0]);
    cli_print_help(stdout, cmd);
    return 0;
  }
  if (!c.command) {
    if (want_help) {
      cli_print_help(stdout, NULL);
      return 0;
    }
    cli_print_help(stderr, NULL);
    return 2;
  }
  const command *cmd = cli_find(c.command);
  if (!cmd) return usage_error("unknown command '%s'", c.command);
  if (want_help) {
    cli_print_help(stdout, cmd);
    return 0;
  }
  if (pending_error) return usage_error(pending_error, pending_arg);
  /* reject options that the command does not take */
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-' || is_negative_number(argv[i]) || strcmp(argv[i], "--") == 0) continue;
    if (strncmp(argv[i], "-x", 2) == 0) continue;
    char name[64];
    const char *eq = strchr(argv[i], '=');
    snprintf(name, sizeof name, "%.*s", eq && argv[i][1] == '-' ? (int)(eq - argv[i]) : 63,
             argv[i]);
    for (const optdef *o = OPTS; o->longname; o++) {
      if (!((o->shortname && strcmp(o->shortname, name) == 0) || strcmp(o->longname, name) == 0))
        continue;
      if (!option_allowed(cmd, o)) {
        char *msg = lm_xasprintf("option %s does not apply to '%s'", name, cmd->name);
        int r = usage_error("%s", msg);
        free(msg);
        return r;
      }
      if (o->has_arg && !eq) i++;
    }
  }
  int rc = cmd->run(&c);
  if (rc) {
    lm_error_print(stderr);
    return lm_exit_code(rc);
  }
  return 0;
}
