/**
 * The schema of a database as a plain, deterministic model (what `luamig
 * schema` prints), and the checks of `luamig check` on a project: the
 * checksums recorded in its database, the round trip of every revision, the
 * schema its chain produces.
 */
#ifndef LUAMIG_SCHEMA_H
#define LUAMIG_SCHEMA_H

#include "luamig.h"
#include "luamig/chain.h"
#include "luamig/util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lm_schema lm_schema;

/** Reads the schema of p's database, luamig's version table left out. */
int lm_project_schema(lm_project *p, lm_schema **out);
/** Where want and have (the database p's URL names) hold a CHECK under one
 * name with texts that differ, asks the database to rewrite want's
 * expression as its catalog shows expressions (PostgreSQL rewrites them;
 * SQLite keeps the text, so there nothing is asked), so that lm_compare
 * can tell a changed check from a rewritten one. An expression the
 * database refuses is left as it is (compared by name only). */
int lm_project_canonical_checks(lm_project *p, lm_schema *want, const lm_schema *have);
void lm_schema_free(lm_schema *s);

/** Appends the schema as SQL: one CREATE TABLE per table (sorted by name)
 * with its columns, constraints, then its indexes and triggers, then the
 * other objects. The same model always gives the same text. */
void lm_schema_render(const lm_schema *s, lm_buf *out);

/* ---- `luamig check` ---------------------------------------------------------- */

typedef enum lm_checksum_status {
  LM_CS_COMPARED,    /* the version table was read and compared */
  LM_CS_NO_URL,      /* no database configured */
  LM_CS_NO_DATABASE, /* the SQLite file does not exist (yet) */
  LM_CS_UNREACHABLE, /* cannot connect: why says so */
  LM_CS_NO_TABLE     /* connected, but nothing was ever applied */
} lm_checksum_status;

typedef struct lm_checksums {
  lm_checksum_status status;
  char *why;    /* LM_CS_UNREACHABLE: the connection error (masked) */
  int napplied; /* rows of the version table */
  int *changed; /* graph indices of applied revisions whose file changed */
  int nchanged;
  char **unknown; /* applied revision ids that no file defines */
  int nunknown;
} lm_checksums;

/** Compares the checksums recorded in p's database with the files. A
 * database that is not configured, does not exist or cannot be reached is
 * not an error: the status says so. */
int lm_check_checksums(lm_project *p, lm_checksums *out);
void lm_checksums_free(lm_checksums *c);

/** Called after each revision that round-trips cleanly. */
typedef void (*lm_roundtrip_fn)(void *ud, const lm_revision *r);

/** On a scratch database (a temporary SQLite file, or a temporary PostgreSQL
 * database on p's server, always removed afterwards), for each revision in
 * topological order: upgrade to it, downgrade one revision, compare the
 * schema with the one before the upgrade, upgrade again and compare with the
 * one after the first upgrade. The first difference is LM_ECHECK naming the
 * revision, its file and what differs. Without a URL, p->dialect (from
 * --dialect) must be SQLite. *nchecked counts the revisions that passed. */
int lm_check_roundtrip(lm_project *p, lm_roundtrip_fn fn, void *ud, int *nchecked);

/** The schema p's chain produces, on a scratch database made and removed
 * here (SQLite: a temporary file; PostgreSQL: a temporary database on
 * scratch_url or p's server): every revision when state is NULL, otherwise
 * the steps state[i] of each revision (the applied state of a database). */
int lm_chain_schema(lm_project *p, const char *scratch_url, const int *state, lm_schema **out);

#ifdef __cplusplus
}
#endif
#endif
