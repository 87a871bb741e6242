/**
 * luamig — database schema migrations whose revisions are Lua scripts.
 *
 * The public C API. The `luamig` command is a thin client of it: open a
 * project, load its chain, move the database to a target (or render the SQL
 * that would), read the current state. Every function returns 0 or a negative
 * LM_E… code; the details of the last error (message, revision file and line,
 * SQL statement, database message) are read with lm_error_last().
 */
#ifndef LUAMIG_H
#define LUAMIG_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LUAMIG_VERSION "0.1.0"

/** Error codes. The CLI maps them to exit codes with lm_exit_code(). */
enum {
  LM_OK = 0,
  LM_EUSAGE = -1,    /**< bad command line or target (exit 2) */
  LM_ECONFIG = -2,   /**< bad luamig.lua, URL or option (exit 2) */
  LM_ELOAD = -3,     /**< a revision file or the chain is invalid (exit 2) */
  LM_EMIGRATE = -4,  /**< a migration failed and was rolled back (exit 1) */
  LM_EDB = -5,       /**< the database refused something (exit 1) */
  LM_ECHECK = -6,    /**< a check or lint failed (exit 1) */
  LM_EINTR = -7,     /**< interrupted by a signal (exit 130) */
  LM_ENOMEM = -8,    /**< out of memory (exit 1) */
  LM_EIO = -9,       /**< a file could not be read or written (exit 1) */
  LM_ENOTSUP = -10,  /**< the dialect cannot do this yet (exit 1) */
  LM_EOFFLINE = -11, /**< needs a live database, not available with --sql */
};

/** The last error of this thread. Borrowed; valid until the next call. */
typedef struct lm_error {
  int code;
  const char *message;    /**< one line, never NULL when code != 0 */
  const char *file;       /**< revision file, or NULL */
  int line;               /**< line in file, or 0 */
  const char *revision;   /**< revision id, or NULL */
  const char *statement;  /**< failing SQL statement, or NULL */
  const char *sqlstate;   /**< SQLSTATE (PostgreSQL) or NULL */
  const char *db_message; /**< what the database said, or NULL */
} lm_error;

const lm_error *lm_error_last(void);
/** Prints the last error as `luamig: error: …` plus its detail lines. */
void lm_error_print(FILE *out);
/** Maps an LM_E… code to the exit code of SPEC §7 (0, 1, 2 or 130). */
int lm_exit_code(int code);

typedef struct lm_project lm_project;

/** How a project is opened. Zero-initialise, then set what you need. */
typedef struct lm_options {
  const char *config_path; /**< default "luamig.lua" */
  const char *url;         /**< --url; overrides DATABASE_URL and the config */
  const char *dialect;     /**< --dialect for --sql without a URL */
  const char *const *x;    /**< -x KEY=VALUE strings */
  int nx;
  int quiet;    /**< no per-revision lines */
  int verbose;  /**< more detail (backfill batches, current's URL) */
  FILE *out;    /**< normal output (default stdout) */
  FILE *err;    /**< diagnostics (default stderr) */
  int echo_sql; /**< print each statement as it runs, on err */
} lm_options;

/** Reads the config and loads and validates the whole chain. */
int lm_project_open(lm_project **out, const lm_options *opts);
void lm_project_free(lm_project *p);

/** Options of one upgrade or downgrade. */
typedef struct lm_run_options {
  int sql;                 /**< render the script instead of connecting */
  int dry_run;             /**< run in one transaction and roll it back */
  const char *stop_before; /**< step name (multi-step revisions) */
  int ignore_checksums;    /**< run even if applied files changed */
} lm_run_options;

int lm_upgrade(lm_project *p, const char *target, const lm_run_options *o);
int lm_downgrade(lm_project *p, const char *target, const lm_run_options *o);
/** Checks, without a database, that target (and stop_before, for an
 * upgrade) can be planned for command ("upgrade", "downgrade", "stamp"):
 * an LM_EUSAGE error when it names no revision or cannot apply to any
 * database; 0 when only a database can tell. */
int lm_check_target(lm_project *p, const char *command, const char *target,
                    const char *stop_before);
/** Sets the version table to target without running any revision, as
 * Alembic's stamp: what is applied on the target's line becomes the target,
 * applied revisions of other branches stay. */
int lm_stamp(lm_project *p, const char *target);
/** lm_stamp after emptying the version table (Alembic's stamp --purge):
 * the table then holds the target alone, whatever was recorded before,
 * even revisions no file defines any more. */
int lm_stamp_purge(lm_project *p, const char *target);
/** Records in the version table the revisions listed in the database's
 * alembic_version table (and their ancestors), without running anything.
 * *stamped: those revisions, comma-separated ("base" for none); free it.
 * When luamig's version table is already at or past them (the database was
 * adopted before), nothing is written and *stamped is NULL. */
int lm_stamp_from_alembic(lm_project *p, char **stamped);
/** Prints the applied heads (`REV (head)`), as `luamig current` does. */
int lm_current(lm_project *p, int json);

/** Asks the running migration to stop: the current statement is cancelled,
 * its transaction rolled back, and the call returns LM_EINTR. Safe to call
 * from a signal handler. */
void lm_interrupt(void);

#ifdef __cplusplus
}
#endif
#endif
