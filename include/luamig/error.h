/**
 * Setting the error that lm_error_last() reads and lm_error_print() prints:
 * for the engine, and for a client that reports its own failures the same
 * way (the `luamig` command's usage errors).
 */
#ifndef LUAMIG_ERROR_H
#define LUAMIG_ERROR_H

#include "luamig.h"
#include "luamig/util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors -------------------------------------------------------------- */

void lm_error_clear(void);
/** Sets code and message; clears the detail fields. Returns code. */
int lm_error_set(int code, const char *fmt, ...) LM_PRINTF(2, 3);
/** Replaces the message, keeping details. */
void lm_error_set_message(const char *msg);
void lm_error_set_location(const char *file, int line);
void lm_error_set_revision(const char *rev);
void lm_error_set_statement(const char *sql);
void lm_error_set_db(const char *sqlstate, const char *db_message);
/** Prefixes the message with "prefix: ". */
void lm_error_prefix(const char *fmt, ...) LM_PRINTF(1, 2);
int lm_error_code(void);
/** A copy of the last error, to keep it across a call that may fail too
 * (a ROLLBACK, a diagnostic query); restore frees the copy. */
typedef struct lm_error_saved lm_error_saved;
lm_error_saved *lm_error_save(void);
void lm_error_restore(lm_error_saved *saved);

/** Masks any password in a URL-looking string for display. Never fails. */
char *lm_url_mask(const char *s);

#ifdef __cplusplus
}
#endif
#endif
