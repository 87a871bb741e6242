/* Ctrl-C and SIGTERM: stop the running statement and Lua code so that the
 * runner rolls the transaction back and exits 130. Everything reachable from
 * lm_interrupt() is async-signal-safe: PQcancel, sqlite3_interrupt and
 * lua_sethook are documented as callable from a signal handler. */
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>

#include "dialect/pq_load.h"
#include "lm.h"

volatile sig_atomic_t lm_interrupted;

static PGcancel *volatile pg_cancel;
/* libpq's PQcancel, copied here before pg_cancel is set: both are volatile,
 * so the handler never sees a cancel object without the function to use it
 * (libpq is loaded with dlopen, see dialect/pq_load.h). */
static int (*volatile pg_cancel_fn)(PGcancel *, char *, int);
static sqlite3 *volatile sqlite_db;
static lua_State *volatile lua;

void lm_interrupt_watch_pg(void *cancel) {
  pg_cancel_fn = PQcancel;
  pg_cancel = cancel;
}
void lm_interrupt_unwatch_pg(void *cancel) {
  if (pg_cancel == cancel) pg_cancel = NULL;
}
void lm_interrupt_watch_sqlite(void *db) { sqlite_db = db; }
void lm_interrupt_unwatch_sqlite(void *db) {
  if (sqlite_db == db) sqlite_db = NULL;
}
void lm_interrupt_watch_lua(lua_State *L) { lua = L; }

void lm_interrupt(void) {
  lm_interrupted = 1;
  char err[256];
  PGcancel *cancel = pg_cancel;
  int (*cancel_fn)(PGcancel *, char *, int) = pg_cancel_fn;
  if (cancel && cancel_fn) cancel_fn(cancel, err, sizeof err);
  if (sqlite_db) sqlite3_interrupt(sqlite_db);
  if (lua) lm_lua_interrupt(lua);
}
