/* luamig: the command line. A table of commands, each in its own file; global
 * options may stand before or after the command name. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "luamig/lint.h"

/* Many databases (SPEC §11): the options of every migrating command. */
#define FLEET_OPTS " --all --target --jobs --canary --keep-going --json"
#define FLEET_HELP                                                                                 \
  "\n\nMany databases (the targets of luamig.lua):\n"                                              \
  "  --all              every target\n"                                                            \
  "  --target PATTERN   the targets whose name matches (* globs), or a group by its name;\n"       \
  "                     repeatable\n"                                                              \
  "  --jobs N           targets run at once, each in a process of its own (default 4)\n"           \
  "  --canary K         the first K targets run alone, one after another; a failure there\n"       \
  "                     starts nothing else\n"                                                     \
  "  --keep-going       go on with the other targets after a failure (default: start no\n"         \
  "                     new target, let the running ones finish)\n"                                \
  "  --json             the whole report as one JSON document"

static const command COMMANDS[] = {
    {"init", cmd_init, "luamig init [DIR]", "make a new project",
     "Creates luamig.lua, versions/ and script.lua.tmpl in DIR (default: the current folder),\n"
     "and, for lua-language-server, .luarc.json and types/luamig.lua (completion and type\n"
     "checks of op, context and the model globals in revisions and schema.lua). Refuses when\n"
     "a project is already there.",
     "", "luamig init myproject", "0 made, 2 a project is already there or DIR cannot be made"},
    {"revision", cmd_revision,
     "luamig revision -m MSG [--rev-id ID] [--head REV] [--splice] [--depends-on REV] "
     "[--branch-label L] [--steps a,b,c] [--autogenerate [--offline [--dialect NAME]]]",
     "write a new revision file",
     "Writes versions/<id>_<slug>.lua from script.lua.tmpl on top of the single head and\n"
     "prints its path. With several versions folders it goes into its parent's folder.\n"
     "  -m, --message MSG    what the revision does (also its file name's slug)\n"
     "  --rev-id ID          the revision id instead of 12 random hex digits\n"
     "  --head REV           build on REV or LABEL@head instead of the single head;\n"
     "                       --head base starts a new root\n"
     "  --splice             allow --head to name a revision that is not a head (a branch)\n"
     "  --depends-on REV     a revision that must be applied first (another branch's);\n"
     "                       repeat it for several\n"
     "  --branch-label L     a label naming the branch this revision starts (one)\n"
     "  --steps a,b,c        a multi-step revision with these steps (expand/contract)\n"
     "  --autogenerate       write upgrade() and downgrade() from the differences between the\n"
     "                       model (schema.lua) and the database, which must be at head\n"
     "  --offline            with --autogenerate: compare with the schema the chain gives at\n"
     "                       its head, computed on a scratch database, not the configured one\n"
     "  --dialect NAME       with --offline: sqlite or postgresql, when no URL gives it\n"
     "  --scratch-url URL    with --offline: the PostgreSQL server for the scratch database\n"
     "  --json               with --autogenerate: the list of differences as JSON",
     "-m --message --rev-id --head --depends-on --branch-label --steps --splice --autogenerate "
     "--offline --dialect --scratch-url --json",
     "luamig revision -m \"add phone_number to users\"\n"
     "luamig revision --autogenerate -m \"add profile picture\"",
     "0 written, 2 bad options, several heads without --head, or the chain does not load"},
    {"merge", cmd_merge, "luamig merge -m MSG REV REV... | heads", "write a revision merging heads",
     "Writes a revision whose down_revision lists the given revisions (usually the heads;\n"
     "'heads' names them all), in the folder of the first.\n"
     "  -m, --message MSG    what the merge is for\n"
     "  --rev-id ID          the revision id instead of 12 random hex digits\n"
     "  --branch-label L     a label for the merged branch",
     "-m --message --rev-id --branch-label", "luamig merge -m \"merge feature\" heads",
     "0 written, 2 bad arguments or the chain does not load"},
    {"upgrade", cmd_upgrade,
     "luamig upgrade TARGET [--sql] [--stop-before STEP] [--dry-run] [--ignore-checksums]"
     " [--all | --target PATTERN...] [--jobs N] [--canary K] [--keep-going]",
     "apply revisions up to TARGET",
     "TARGET: head, heads, a revision id or unique prefix, +N, REV+N (REV may be head, current\n"
     "or base: head-1, current+2, base+1), LABEL@head, LABEL@heads, LABEL@+N (the next N on\n"
     "the way to its head), LABEL@head-N; with --sql FROM:TO.\n"
     "Each revision runs in its own transaction with its version-table row. A TARGET below\n"
     "the current revision is an error: that is 'luamig downgrade'.\n"
     "  --sql              print the whole SQL script instead of connecting (FROM:TO, e.g.\n"
     "                     base:head; --dialect without a URL); nothing is printed on failure\n"
     "  --stop-before STEP stop multi-step revisions before the step named STEP\n"
     "  --dry-run          run everything in one transaction and roll it back\n"
     "  --ignore-checksums run even when applied revision files were edited\n"
     "  --dialect NAME     with --sql: sqlite or postgresql" FLEET_HELP,
     "--sql --stop-before --dry-run --ignore-checksums --dialect" FLEET_OPTS,
     "luamig upgrade head        luamig upgrade +1        luamig upgrade base:head --sql",
     "0 done or already there, 1 a revision failed (rolled back), 2 bad target, wrong\n"
     "direction, configuration or loading error, 130 interrupted (rolled back)"},
    {"downgrade", cmd_downgrade,
     "luamig downgrade TARGET [--sql] [--dry-run] [--ignore-checksums]"
     " [--all | --target PATTERN...] [--jobs N] [--canary K] [--keep-going]",
     "revert revisions down to TARGET",
     "TARGET: -N, a revision id or unique prefix, base, REV-N (REV may be head or current:\n"
     "current-1), LABEL@-N (the newest N of that branch), LABEL@base (all of that branch),\n"
     "LABEL@head-N; with --sql FROM:TO (e.g. head:base). A TARGET above the current revision\n"
     "is an error: that is 'luamig upgrade'.\n"
     "  --sql              print the whole SQL script instead of connecting (FROM:TO)\n"
     "  --dry-run          run everything in one transaction and roll it back\n"
     "  --ignore-checksums run even when applied revision files were edited\n"
     "  --dialect NAME     with --sql: sqlite or postgresql" FLEET_HELP,
     "--sql --dry-run --ignore-checksums --dialect" FLEET_OPTS,
     "luamig downgrade -1        luamig downgrade base        luamig downgrade head:base --sql",
     "0 done or already there, 1 a revision failed (rolled back), 2 bad target, wrong\n"
     "direction, configuration or loading error, 130 interrupted (rolled back)"},
    {"stamp", cmd_stamp,
     "luamig stamp TARGET [--checksums-only | --purge] [--all | --target PATTERN...] | "
     "--from-alembic",
     "set the version table without running anything",
     "TARGET: a revision, REV+N or REV-N, head, heads, LABEL@head, LABEL@heads or base.\n"
     "As Alembic's stamp, it moves what is applied on the target's branch to the target\n"
     "(recording the files' current checksums) and leaves applied revisions of other\n"
     "branches as they are; base empties the version table.\n"
     "  --checksums-only   re-record the checksum of the applied revision TARGET after its\n"
     "                     file was edited, without changing which revisions are applied\n"
     "  --purge            empty the version table first (Alembic's stamp --purge): it then\n"
     "                     holds the target alone, even where it recorded revisions no file\n"
     "                     defines any more\n"
     "  --from-alembic     record the revision(s) in the database's alembic_version table\n"
     "                     (a database Alembic migrated carries on under luamig)" FLEET_HELP,
     "--checksums-only --purge --from-alembic" FLEET_OPTS,
     "luamig stamp head        luamig stamp --checksums-only 9c3e5f8a1d2b",
     "0 stamped, 1 the database refused, 2 bad target or configuration"},
    {"current", cmd_current, "luamig current [--json] [-v] [--all | --target PATTERN...]",
     "show the applied revisions",
     "Prints each applied head as Alembic does, with (head) when it is the chain's head,\n"
     "(branchpoint) or (mergepoint), and the step of a partly applied multi-step revision. Never "
     "creates a database: a SQLite file that does\n"
     "not exist is an error. With --all / --target: one line per target, then a count per\n"
     "revision.\n"
     "  --json             a JSON array of {revision, head, step}\n"
     "  -v, --verbose      name the database, and print each revision's entry as history\n"
     "                     --verbose does" FLEET_HELP,
     "--json" FLEET_OPTS, "luamig current        luamig current --all",
     "0 shown (empty output: nothing applied), 1 the database cannot "
     "be read, 2 configuration error or no such database"},
    {"history", cmd_history, "luamig history [-r RANGE] [-i] [--verbose] [--json]",
     "show the chain, newest first",
     "Prints each revision as Alembic does, newest first:\n"
     "'PARENT -> REV (head), message', with the revisions it depends on after the parent\n"
     "('PARENT (DEP) -> REV'), its branch labels after it ('REV (label)') and the marks\n"
     "(head), (effective head) (a head that another revision depends on), (current),\n"
     "(branchpoint), (mergepoint).\n"
     "  -r, --rev-range R  FROM:TO with open ends (abc:, :abc), head, base, current, REV+N,\n"
     "                     head-1; a FROM of -N counts back from TO (-3:head)\n"
     "  -i, --indicate-current  mark the applied revisions with (current); reads the database\n"
     "  --verbose          each revision's entry: Rev, Parent (Merges: for a merge point),\n"
     "                     Also depends on, Branches into, Branch names, Path, its comment\n"
     "  --json             a JSON array",
     "-r --rev-range -i --indicate-current --json", "luamig history -r current:head -i",
     "0 shown, 2 bad range, configuration or loading error (or, with current, no such database)"},
    {"heads", cmd_heads, "luamig heads [--verbose] [--json]", "show the chain's heads",
     "Prints the revisions that no other revision builds on, each with its branch labels:\n"
     "'REV (label) (head)'.\n"
     "  --verbose          each one's entry, as history --verbose prints it\n"
     "  --json             a JSON array",
     "--json", "luamig heads", "0 shown, 2 configuration or loading error"},
    {"branches", cmd_branches, "luamig branches [-v]", "show the chain's branch points",
     "Prints each revision with more than one child, newest first, and under it its\n"
     "children ('-> REV (label) (head)').\n"
     "  -v, --verbose      the branch point's entry, and the children's messages",
     "", "luamig branches", "0 shown, 2 configuration or loading error"},
    {"show", cmd_show, "luamig show REV", "show one revision's header and file",
     "REV: a revision id, unique prefix or label, head, current (reads the database), head-1,\n"
     "REV+N, REV-N.",
     "", "luamig show head        luamig show current        luamig show 9c3e",
     "0 shown, 2 no such revision, configuration or loading error"},
    {"lint", cmd_lint, "luamig lint [REV...] [--dialect NAME] [--format text|json|github|sarif]",
     "check revisions for dangerous operations",
     "Runs each revision's upgrade and downgrade against a recorder, without a database, and\n"
     "reports FILE:LINE: error|warning [RULE] message. The rules of every dialect run; a rule\n"
     "that concerns one dialect only is tagged, e.g. [postgresql]. A line\n"
     "`-- luamig: allow RULE` just before an operation, or in the file's header comment,\n"
     "silences RULE there.\n"
     "  --dialect NAME     only the rules that apply to sqlite or postgresql\n"
     "  --json             a JSON array of findings (= --format json)\n"
     "  --format FMT       text (default), json, github (workflow-command annotations) or\n"
     "                     sarif (a SARIF 2.1.0 log for code scanning)",
     "--json --dialect --format", "luamig lint        luamig lint --dialect postgresql 9c3e",
     "0 no error (warnings allowed), 1 an error remains, 2 configuration or loading error"},
    {"check", cmd_check, "luamig check [--roundtrip] [--format text|json|github|sarif]",
     "check the chain, the applied checksums and lint",
     "Passes when the chain loads, has exactly one head, the checksums recorded in the\n"
     "database (when one is configured and reachable) match the files, and lint finds no\n"
     "error, and, when luamig.lua names a model, that the model equals the schema the chain\n"
     "gives at its head ('model differs: ...').\n"
     "  --roundtrip        also run, on a scratch database that is removed afterwards, each\n"
     "                     revision's upgrade, downgrade and upgrade again, and fail at the\n"
     "                     first whose downgrade does not give back the schema from before\n"
     "                     its upgrade (PostgreSQL: a scratch database luamig_check_* on the\n"
     "                     configured server; without a URL, --dialect sqlite uses a\n"
     "                     temporary file)\n"
     "  --drift            compare the live database with the schema the chain gives at the\n"
     "                     database's applied revision, and list each change made by hand\n"
     "  --scratch-url URL  the PostgreSQL server for scratch databases\n"
     "  --all, --target PATTERN  with --drift: every target of luamig.lua, or those matching\n"
     "                     (also --jobs, --canary, --keep-going, --json as for upgrade)\n"
     "  --dialect NAME     the dialect of --roundtrip without a URL\n"
     "  --json             a JSON object with the problems (= --format json)\n"
     "  --format FMT       text (default), json, github or sarif: the lint findings and\n"
     "                     check's own (heads, checksums, round trip)",
     "--roundtrip --dialect --json --format --drift --scratch-url" FLEET_OPTS,
     "luamig check --roundtrip        luamig check --drift",
     "0 passed, 1 a problem was found, 2 configuration or loading error"},
    {"schema", cmd_schema, "luamig schema [--model]", "print the database schema as SQL",
     "Prints the current database schema as deterministic SQL: tables sorted by name with\n"
     "their columns, constraints, indexes and triggers (luamig's version table left out).\n"
     "Two databases migrated the same way print the same text. Never creates a database.\n"
     "  --model            print it as a schema.lua model instead (the way in for an existing\n"
     "                     database: write it, review it, commit it)",
     "--model", "luamig schema > schema.sql        luamig schema --model > schema.lua",
     "0 printed, 1 the database cannot be read, 2 configuration error or no such database"},
    {"import", cmd_import, "luamig import alembic DIR", "convert an Alembic versions folder",
     "Reads each Alembic revision file (*.py) of DIR (an Alembic versions folder, or the folder\n"
     "holding env.py and versions/) and writes one luamig revision per file into the project's\n"
     "versions folder: same id, down_revision, branch_labels, depends_on and message, the\n"
     "upgrade() and downgrade() bodies converted by the porting rule (op.X(a, kw=v) becomes\n"
     "op.X(a, { kw = v }), sa.Column becomes op.column, types become type strings). Prints one\n"
     "line per file written. A statement it cannot convert becomes\n"
     "error(\"not converted from Alembic: <line>\") in place and is listed on stderr as\n"
     "DIR/FILE.py:LINE: not converted: <line>.",
     "", "luamig import alembic ../app/alembic/versions",
     "0 everything converted; 1 files written, some statements not converted; 2 a file cannot\n"
     "be read or converted, or a revision id is already in the project (nothing written)"},
    {"completion", cmd_completion, "luamig completion bash|zsh|fish",
     "print a shell completion script",
     "Prints a completion script for the shell: commands, options, and, from the project in\n"
     "the current folder, revision ids, branch labels and step names.",
     "",
     "source <(luamig completion bash)\n"
     "luamig completion zsh > \"${fpath[1]}/_luamig\"\n"
     "luamig completion fish > ~/.config/fish/completions/luamig.fish",
     "0 printed, 2 unknown shell"},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL}};

const command *cli_find(const char *name) {
  for (const command *c = COMMANDS; c->name; c++)
    if (strcmp(c->name, name) == 0) return c;
  return NULL;
}

static const command HELP_COMMAND = {
    "help",
    NULL,
    "luamig help [COMMAND | options]",
    "help for one command",
    "Prints the usage, options, an example and the exit codes of COMMAND; 'luamig help\n"
    "options' prints the global options and the environment; without COMMAND, the list of\n"
    "commands.",
    "",
    "luamig help upgrade",
    "0 printed, 2 no such command"};

static void print_block(FILE *out, const char *title, const char *text) {
  if (!text || !*text) return;
  fprintf(out, "\n%s:\n", title);
  for (const char *p = text; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    fprintf(out, "  %.*s\n", (int)n, p);
    p += n + (nl ? 1 : 0);
  }
}

void cli_print_help(FILE *out, const command *cmd) {
  if (cmd) {
    fprintf(out, "usage: %s\n\n%s\n", cmd->usage, cmd->summary);
    if (cmd->help && *cmd->help) fprintf(out, "\n%s\n", cmd->help);
    print_block(out, "Example", cmd->example);
    print_block(out, "Exit codes", cmd->exits);
    fputs("\nGlobal options (-c, --url, --dialect, -x, -q, -v, --echo-sql, ...): "
          "'luamig help options'.\n",
          out);
    return;
  }
  fputs("usage: luamig [OPTIONS] COMMAND [ARGS]\n\n"
        "Database schema migrations whose revisions are Lua scripts.\n\nCommands:\n",
        out);
  for (const command *c = COMMANDS; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out, "  %-10s %s\n\n%s", "help", "help for one command (luamig help COMMAND)",
          cli_global_help);
}

/* The command names, for suggestions. */
static const char *closest_command(const char *name) {
  const char *names[64];
  int n = 0;
  for (const command *c = COMMANDS; c->name && n < 63; c++)
    names[n++] = c->name;
  names[n++] = "help";
  return lm_closest(name, names, n);
}

static int unknown_command(const char *name) {
  const char *near = closest_command(name);
  char *msg = near ? lm_xasprintf("unknown command '%s'; did you mean '%s'?", name, near)
                   : lm_xasprintf("unknown command '%s'", name);
  lm_error_set(LM_EUSAGE, "%s", msg);
  free(msg);
  lm_error_print(stderr);
  fputs("Run 'luamig --help' for the list of commands.\n", stderr);
  return 2;
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

typedef cli_option optdef;

static int option_allowed(const command *cmd, const optdef *o) {
  const char *names[2] = {o->shortname, o->longname};
  for (int k = 0; k < 2; k++) {
    if (!names[k]) continue;
    size_t n = strlen(names[k]);
    for (const char *lists[2] = {cli_global_options, cmd ? cmd->options : ""}, **l = lists;
         l < lists + 2; l++) {
      const char *p = *l;
      while ((p = strstr(p, names[k]))) {
        if ((p == *l || p[-1] == ' ') && (p[n] == ' ' || p[n] == 0)) return 1;
        p += n;
      }
    }
  }
  return 0;
}

/* An unknown option: the closest option this command takes, if any. */
static int unknown_option(const command *cmd, const char *fmt, const char *arg) {
  const char *names[128];
  int n = 0;
  char name[64];
  const char *eq = strchr(arg, '=');
  snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - arg) : 63, arg);
  for (const optdef *o = cli_options; o->longname && n < 126; o++)
    if (option_allowed(cmd, o)) names[n++] = o->longname;
  names[n++] = "--help";
  names[n++] = "--version";
  const char *near = lm_closest(name, names, n);
  char *msg = lm_xasprintf(fmt, name);
  int rc;
  if (near) {
    char *full = lm_xasprintf("%s; did you mean '%s'?", msg, near);
    rc = usage_error("%s", full);
    free(full);
  } else {
    rc = usage_error("%s", msg);
  }
  free(msg);
  return rc;
}

/* The heap on transparent huge pages. On a virtual machine the first touch
 * of each new 4 KiB page costs 10-15 us (a --sql run over a thousand
 * revisions touched about 230 new heap pages: 3 ms of its 22); one 2 MiB
 * huge page costs about 140 us, however much of it is used. Before the
 * first allocation, the break is moved to one page below a huge-page
 * boundary, the heap is created with room to spare (M_TOP_PAD) and the
 * aligned part of it is marked MADV_HUGEPAGE: glibc's first chunk headers
 * take the page below the boundary, and each later 2 MiB of the heap is one
 * fault. Nothing is touched that would not be, so a kernel without huge
 * pages, or with them disabled, only sees an madvise it ignores; a heap
 * that already exists, or an allocator that is not glibc's (sanitizers),
 * is left as it is. A run that only prints its help or version touches a few
 * dozen pages, fewer than the huge page costs (+0.5 ms measured): it keeps
 * the plain heap. */
static void heap_on_huge_pages(int argc, char **argv) {
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE)
  if (argc < 2) return;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
        strcmp(argv[i], "--version") == 0)
      return;
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t huge = 0; /* read without stdio, which would allocate */
  int fd = open("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char text[32];
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    for (ssize_t i = 0; i < n && text[i] >= '0' && text[i] <= '9' && huge < ((uintptr_t)1 << 40);
         i++)
      huge = huge * 10 + (uintptr_t)(text[i] - '0');
  }
  /* 2 MiB with 4 KiB pages; skip sizes whose zeroing costs more than the
   * faults it saves */
  if (huge < 2 * page || huge > ((uintptr_t)4 << 20) || (huge & (huge - 1)) ||
      mallinfo2().arena != 0)
    return;
  void *cur = sbrk(0);
  if (cur == (void *)-1) return;
  uintptr_t first = ((uintptr_t)cur + page + huge - 1) & ~(huge - 1);
  if (sbrk((intptr_t)(first - page - (uintptr_t)cur)) == (void *)-1) return;
  mallopt(M_TOP_PAD, 16 << 20);
  void *volatile probe = malloc(1); /* volatile: the pair is not optimised out */
  free(probe);
  mallopt(M_TOP_PAD, 128 * 1024); /* glibc's default again for later growth */
  uintptr_t end = (uintptr_t)sbrk(0) & ~(huge - 1);
  if (end > first) madvise((void *)first, end - first, MADV_HUGEPAGE);
#else
  (void)argc;
  (void)argv;
#endif
}

static void on_signal(int sig) {
  /* a second Ctrl-C gets the default action */
  signal(sig, SIG_DFL);
  lm_interrupt();
}

int main(int argc, char **argv) {
  /* A standard stream the caller closed (luamig ... >&-) stays unusable
   * instead of free: the next file opened would take its number, and what
   * is meant for stdout or stderr would go into it (the --sql script into
   * its own memory file, a message into a database). /dev/null opened
   * read-only takes the slot, so a write there fails as on a closed one. */
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && open("/dev/null", O_RDONLY) != fd) break;
  /* Memory freed stays in the heap for the next allocation instead of going
   * back to the system: a run frees blocks and allocates as much again, and
   * on a virtual machine the first touch of a new page costs about 10 us
   * (measured when a --sql run over a thousand revisions still read the
   * index and held the script in the heap: 1,100 page faults, 200 fewer
   * with this). 32 MiB is glibc's largest mmap threshold. */
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
  heap_on_huge_pages(argc, argv);
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
    const optdef *o = cli_options;
    for (; o->longname; o++)
      if ((o->shortname && strcmp(o->shortname, name) == 0) || strcmp(o->longname, name) == 0)
        break;
    if (!o->longname) {
      if (strcmp(name, "-vv") == 0) {
        c.verbose += 2;
        continue;
      }
      if (!pending_error) pending_error = "unknown option '%s'", pending_arg = a;
      continue;
    }
    if (o->has_arg) {
      if (!val) {
        if (i + 1 >= argc) return usage_error("option %s needs a value", name);
        val = argv[++i];
      }
      *(const char **)((char *)&c + o->field) = val;
      if (o->field == offsetof(cli, depends_on)) {
        if (c.ndepends == CLI_MAX_POS) return usage_error("too many --depends-on options%s", "");
        c.depends[c.ndepends++] = val;
      }
      if (o->field == offsetof(cli, branch_label)) c.nbranch_labels++;
      if (o->field == offsetof(cli, target)) {
        if (c.ntargets == CLI_MAX_TARGETS) return usage_error("too many --target options%s", "");
        c.targets[c.ntargets++] = val;
      }
    } else {
      if (val) return usage_error("option %s takes no value", name);
      *(int *)((char *)&c + o->field) += 1; /* -v -v counts */
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
    if (strcmp(c.pos[0], "options") == 0) {
      fputs(cli_global_help, stdout);
      return 0;
    }
    const command *cmd = strcmp(c.pos[0], "help") == 0 ? &HELP_COMMAND : cli_find(c.pos[0]);
    if (!cmd) return unknown_command(c.pos[0]);
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
  if (!cmd) cmd = cli_find_hidden(c.command);
  if (!cmd) return unknown_command(c.command);
  if (want_help) {
    cli_print_help(stdout, cmd);
    return 0;
  }
  if (pending_error) return unknown_option(cmd, pending_error, pending_arg);
  /* reject options that the command does not take */
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] != '-' || is_negative_number(argv[i]) || strcmp(argv[i], "--") == 0) continue;
    if (strncmp(argv[i], "-x", 2) == 0) continue;
    char name[64];
    const char *eq = strchr(argv[i], '=');
    snprintf(name, sizeof name, "%.*s", eq && argv[i][1] == '-' ? (int)(eq - argv[i]) : 63,
             argv[i]);
    for (const optdef *o = cli_options; o->longname; o++) {
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
  if (c.format_name) {
    c.format = lm_format_parse(c.format_name);
    if (c.format < 0)
      return usage_error("unknown --format '%s': use text, json, github or sarif", c.format_name);
    if (c.json && c.format != LM_FORMAT_JSON)
      return usage_error("--json contradicts --format %s", c.format_name);
    c.json = c.format == LM_FORMAT_JSON;
  } else if (c.json) {
    c.format = LM_FORMAT_JSON;
  }
  c.cmd = cmd;
  c.commands = COMMANDS;
  int rc = cmd->run(&c);
  if (rc) {
    lm_error_print(stderr);
    return lm_exit_code(rc);
  }
  /* output that could not be written (a full disk, a closed stdout) is a
   * failure, not a success that printed nothing */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "luamig: error: writing to standard output failed: %s\n",
            strerror(errno ? errno : EIO));
    return lm_exit_code(LM_EIO);
  }
  return 0;
}
