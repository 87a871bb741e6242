/**
 * The chain of a project: its revisions, the graph they form, and the
 * applied state of its database, as `history`, `heads`, `show`, `revision`
 * and `check` read them. The graph is built by lm_project_open() and owned
 * by the project: a client reads it and never changes it.
 */
#ifndef LUAMIG_CHAIN_H
#define LUAMIG_CHAIN_H

#include <stddef.h>
#include <stdio.h>

#include "luamig.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- revisions and the graph --------------------------------------------------- */

/** One revision file. A client reads its header (id to has_downgrade) and
 * its place in the graph (parents to order); the fields between are the
 * engine's bookkeeping of the file. */
typedef struct lm_revision {
  char *id;
  char *path; /* as displayed: relative to the cwd when below it */
  char *message;
  char *doc; /* header comment, or NULL */
  char **down;
  int ndown;
  char **depends;
  int ndepends;
  char **labels;
  int nlabels;
  char **step_names; /* multi-step revisions: names in order; NULL otherwise */
  int nsteps;        /* 1 for a plain upgrade/downgrade revision */
  int multistep;
  int has_downgrade;
  char checksum[65]; /* read it through lm_revision_checksum() */
  /* the file compiled (lua_dump) under chunkname, kept in the revision index;
   * chunk_sum is its checksum (against damage), checked before it is loaded.
   * Its nchunk bytes are in chunk, or, when chunk is NULL, at chunk_off in the
   * index file still open as chunk_file (read with lm_revision_chunk) */
  char *chunk, *chunkname;
  size_t nchunk;
  char chunk_sum[65];
  struct lm_chunk_file *chunk_file;
  long long chunk_off;
  /* the file's own SHA-256 when checksum also covers the files it requires
   * (else NULL): a version-table row written before that is still accepted.
   * Both are rare, so pointers: a thousand revisions are loaded at every
   * start, and each byte of them is memory touched for the first time */
  char *file_checksum;
  /* what the version table records for it, read with the applied state
   * (else NULL): later steps keep it, so that --ignore-checksums never
   * re-records */
  char *recorded_checksum;
  int env_ref; /* Lua registry reference of the file's environment, or
                  LM_NOT_LOADED (its fields came from the revision index) */
  /* lines of the file's `revision =`, `down_revision =`, `depends_on =` and
   * `branch_labels =` (0: not found), for errors found when the graph is
   * built, long after the file's text is gone */
  int revision_line, down_line, depends_line, labels_line;
  /* the line of autogenerate's first "possible rename" mark in the file (0:
   * none): upgrade runs such a revision only once lint's drop-then-add no
   * longer stops it */
  int rename_mark_line;
  /* resolved by lm_graph_build */
  int *parents;
  int nparents;
  int *children;
  int nchildren;
  int *deps;
  int ndeps;
  int order; /* position in topological order */
} lm_revision;

typedef struct lm_graph {
  lm_revision **revs; /* owned */
  int n, cap;
  int *topo;  /* indices, parents before children */
  int *slots; /* open-addressing index of ids (revision index + 1, 0 = empty) */
  int nslots; /* a power of two, or 0 before lm_graph_build */
} lm_graph;

/** The project's chain, loaded and checked by lm_project_open(). */
const lm_graph *lm_project_graph(const lm_project *p);

/** The index of the revision with exactly this id, or -1. */
int lm_graph_index(const lm_graph *g, const char *id);
/** Finds a revision by id, unique prefix or branch label. */
int lm_graph_find(const lm_graph *g, const char *spec, int *idx);
/** Heads (revisions with no children) in topological order. */
int lm_graph_heads(const lm_graph *g, int *out);
/** Marks in mark[] (size n) idx and every ancestor (parents and deps). */
void lm_graph_mark_ancestors(const lm_graph *g, int idx, char *mark);
/** Marks idx and every descendant. */
void lm_graph_mark_descendants(const lm_graph *g, int idx, char *mark);

/* ---- a revision as Alembic prints it ---------------------------------------------- */

/** What the one-line form shows (Alembic's Script._head_only): the parents
 * and dependencies before the id, the branch labels, (current), the tree
 * marks (branchpoint)/(mergepoint), the message. (head) or (effective head)
 * is always shown. */
enum {
  LM_FMT_PARENTS = 1,
  LM_FMT_BRANCHES = 2,
  LM_FMT_CURRENT = 4,
  LM_FMT_TREE = 8,
  LM_FMT_DOC = 16,
};
/** The graph's revisions with what their lines show: labels carried to
 * descendants and ancestors as in Alembic's RevisionMap, dependents. */
typedef struct lm_revfmt lm_revfmt;
lm_revfmt *lm_revfmt_new(const lm_graph *g);
void lm_revfmt_free(lm_revfmt *f);
/** The labels shown on revision idx (its own first); the count. */
int lm_revfmt_labels(const lm_revfmt *f, int idx, const char *const **labels);
/** One line (no newline): `history` is PARENTS|BRANCHES|TREE|DOC, `heads`
 * BRANCHES, `current` TREE. */
void lm_revfmt_line(const lm_revfmt *f, int idx, int flags, FILE *out);
/** The --verbose entry (Alembic's Script.log_entry), ending with its blank
 * line; flags: LM_FMT_CURRENT; applied, when not NULL, the applied steps
 * of a partly applied revision. */
void lm_revfmt_entry(const lm_revfmt *f, int idx, int flags, const char *applied, FILE *out);

/* ---- the applied state and targets --------------------------------------------- */

/** The applied steps of each revision (state[i], graph order) in p's
 * database; all 0 when nothing was applied. */
int lm_project_applied(lm_project *p, int *state);
/** The applied steps per revision (caller frees), read from the database
 * without creating it. */
int lm_read_applied(lm_project *p, int **state);
/** Re-records the checksum of the applied revision spec names (its full id
 * into id); which revisions are applied does not change. */
int lm_stamp_checksums(lm_project *p, const char *spec, char *id, size_t idsz);
/** LM_ECONFIG when the project's database does not exist and opening it would
 * create it (a SQLite file); 0 otherwise. */
int lm_project_must_exist(const lm_project *p);
/** The one revision spec names (*idx = -1 for base): an id, prefix or label,
 * head, base, current (the applied head; needs state, NULL without a
 * database), REV+N, REV-N, LABEL@head. */
int lm_plan_resolve(const lm_graph *g, const int *state, const char *spec, int *idx);
/** Applied heads: applied revisions with no applied child. */
int lm_plan_applied_heads(const lm_graph *g, const int *state, int *out);
/** Splits FROM:TO; without a colon from is empty; with one, either side may
 * be empty (an open end). Returns LM_EUSAGE on
 * a malformed range. */
int lm_range_split(const char *s, char *from, size_t fromsz, char *to, size_t tosz);

#ifdef __cplusplus
}
#endif
#endif
