/* The options of the command line and the global help: data that the parser
 * (main.c), the help and the generated completion scripts and man page read. */
#include <stddef.h>

#include "cli.h"

static const char GLOBAL_HELP[] =
    "Global options (before or after the command):\n"
    "  -c, --config FILE  project configuration (default ./luamig.lua)\n"
    "  --url URL          database URL (overrides DATABASE_URL and the config's url)\n"
    "  --dialect NAME     sqlite or postgresql: for --sql without a URL, lint's rules,\n"
    "                     check --roundtrip and revision --autogenerate --offline\n"
    "                     without a URL\n"
    "  -x KEY=VALUE       passed to revisions as context.x.KEY (repeatable)\n"
    "  -q, --quiet        print only errors\n"
    "  -v, --verbose      more detail (backfill batches, history's full entries)\n"
    "  -vv, --echo-sql    also print each SQL statement as it runs (on stderr)\n"
    "  --json             machine-readable output (current, history, heads, lint, check)\n"
    "  --version          print the version\n"
    "  -h, --help         this help; 'luamig help COMMAND' for one command\n"
    "\n"
    "Environment: DATABASE_URL (the database URL unless --url is given; it overrides\n"
    "the config's url); LUAMIG_CACHE_DIR (where the revision index, with each\n"
    "revision compiled, is kept; default $XDG_CACHE_HOME/luamig or ~/.cache/luamig;\n"
    "empty or 'off' for none).\n"
    "\n"
    "Exit codes: 0 success, 1 a migration or check failed (or the output could not\n"
    "be written), 2 usage, configuration or revision-loading error, 130 interrupted.\n";

const char *const cli_global_help = GLOBAL_HELP;

#define F(x) offsetof(cli, x)
static const cli_option OPTS[] = {{"-c", "--config", 1, F(config)},
                                  {NULL, "--url", 1, F(url)},
                                  {NULL, "--dialect", 1, F(dialect)},
                                  {"-q", "--quiet", 0, F(quiet)},
                                  {"-v", "--verbose", 0, F(verbose)},
                                  {NULL, "--echo-sql", 0, F(echo_sql)},
                                  {NULL, "--checksums-only", 0, F(checksums_only)},
                                  {"-i", "--indicate-current", 0, F(indicate_current)},
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
                                  {NULL, "--from-alembic", 0, F(from_alembic)},
                                  {NULL, "--purge", 0, F(purge)},
                                  {NULL, "--format", 1, F(format_name)},
                                  {NULL, "--all", 0, F(all)},
                                  {NULL, "--target", 1, F(target)},
                                  {NULL, "--jobs", 1, F(jobs)},
                                  {NULL, "--canary", 1, F(canary)},
                                  {NULL, "--keep-going", 0, F(keep_going)},
                                  {NULL, "--autogenerate", 0, F(autogenerate)},
                                  {NULL, "--offline", 0, F(offline)},
                                  {NULL, "--scratch-url", 1, F(scratch_url)},
                                  {NULL, "--drift", 0, F(drift)},
                                  {NULL, "--model", 0, F(model)},
                                  {NULL, NULL, 0, 0}};
#undef F
const cli_option *const cli_options = OPTS;

static const char GLOBAL_OPTS[] = "-c --config --url -q --quiet -v -vv --verbose --echo-sql";
const char *const cli_global_options = GLOBAL_OPTS;
