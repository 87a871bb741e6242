/**
 * The model and autogenerate (SPEC §10): the model files of a project loaded
 * into the schema model, the comparison of two schemas into the operations
 * that remove each difference, and those operations written as Lua.
 */
#ifndef LUAMIG_COMPARE_H
#define LUAMIG_COMPARE_H

#include "luamig.h"
#include "luamig/schema.h"
#include "luamig/sys/dialect.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the model ------------------------------------------------------------------ */

/** Runs the model files of p's config in the sandbox and builds the schema
 * they declare, in the terms of dialect d (types rendered as d renders
 * them). LM_ECONFIG naming the file and line for a malformed model. */
int lm_model_load(lm_project *p, const lm_dialect *d, lm_schema **out);

/* ---- the comparison -------------------------------------------------------------- */

typedef enum lm_change {
  LM_CH_ADDED,   /* in the wanted schema only */
  LM_CH_REMOVED, /* in the actual schema only */
  LM_CH_CHANGED, /* in both, different */
  LM_CH_RENAMED  /* renamed_from */
} lm_change;

/** One difference and the operations that remove it. */
typedef struct lm_diff_item {
  lm_change change;
  char *object;  /* "column 'users.email'" */
  char *what;    /* Alembic's wording: "added column 'users.email'" */
  char *detail;  /* CHANGED: "VARCHAR(100) -> VARCHAR(200)", or NULL */
  char *comment; /* a line written above the operations, or NULL */
  lm_op *up;     /* upgrade operations, in order */
  int nup;
  lm_op *down; /* their inverse, in the order they run in downgrade() */
  int ndown;
} lm_diff_item;

typedef struct lm_diff {
  lm_diff_item *v;
  int n, cap;
  void *pool; /* the strings and arrays the op records point to */
} lm_diff;

/** Compares want (the model, or the chain's schema) with have (the
 * database) for dialect d: each difference, ordered so that the upgrade
 * operations apply in turn (tables renamed, constraints and indexes
 * dropped, tables created with the referenced ones first, columns added and
 * changed, columns and tables dropped, constraints and indexes created). */
int lm_compare(const lm_dialect *d, const lm_schema *want, const lm_schema *have, lm_diff *out);
void lm_diff_free(lm_diff *diff);

/* ---- writing Lua ------------------------------------------------------------------ */

/** The upgrade() and downgrade() functions of a revision for diff. */
char *lm_lua_write_functions(const lm_diff *diff);
/** A schema as a model file (`luamig schema --model`). */
char *lm_lua_write_model(const lm_dialect *d, const lm_schema *s);

#ifdef __cplusplus
}
#endif
#endif
