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

/* A run may hold two connections (the one that migrates and, behind a
 * pooler, the one that holds the lock): each is cancelled. */
#define PG_WATCHED 4
static PGcancel *volatile pg_cancel[PG_WATCHED];
/* libpq's PQcancel, copied here before pg_cancel is set: both are volatile,
 * so the handler never sees a cancel object without the function to use it
 * (libpq is loaded with dlopen, see dialect/pq_load.h). */
static int (*volatile pg_cancel_fn)(PGcancel *, char *, int);
static sqlite3 *volatile sqlite_db;
static lua_State *volatile lua;

void lm_interrupt_watch_pg(void *cancel) {
  pg_cancel_fn = PQcancel;
  for (int i = 0; i < PG_WATCHED; i++)
    if (!pg_cancel[i]) {
      pg_cancel[i] = cancel;
      return;
    }
  pg_cancel[PG_WATCHED - 1] = cancel; /* the newest wins the last slot */
}
void lm_interrupt_unwatch_pg(void *cancel) {
  for (int i = 0; i < PG_WATCHED; i++)
    if (pg_cancel[i] == cancel) pg_cancel[i] = NULL;
}
void lm_interrupt_watch_sqlite(void *db) { sqlite_db = db; }
void lm_interrupt_unwatch_sqlite(void *db) {
  if (sqlite_db == db) sqlite_db = NULL;
}
void lm_interrupt_watch_lua(lua_State *L) { lua = L; }

void lm_interrupt(void) {
  lm_interrupted = 1;
  char err[256];
  int (*cancel_fn)(PGcancel *, char *, int) = pg_cancel_fn;
  for (int i = 0; i < PG_WATCHED; i++) {
    PGcancel *cancel = pg_cancel[i];
    if (cancel && cancel_fn) cancel_fn(cancel, err, sizeof err);
  }
  if (sqlite_db) sqlite3_interrupt(sqlite_db);
  if (lua) lm_lua_interrupt(lua);
}
