/* Ctrl-C and SIGTERM: stop the running statement and Lua code so that the
 * runner rolls the transaction back and exits 130. Everything reachable from
 * lm_interrupt() is async-signal-safe: each dialect's cancel method is
 * (PostgreSQL's cancel object is made when the connection opens), and so is
 * the hook the Lua side registers (lua_sethook).
 *
 * Nothing here calls a dialect or the Lua side by name: they hand in the
 * functions to call, so neither depends back on this file's callers. */
#include <signal.h>

#include "lm.h"

volatile sig_atomic_t lm_interrupted;

/* A run may hold several connections (the one that migrates, behind a
 * pooler the one that holds the lock, a scratch database): each is
 * cancelled. A slot's cancel is written before its conn and conn cleared
 * first, so the handler never pairs a connection with another's method. */
#define WATCHED 8
static struct {
  void (*volatile cancel)(lm_conn *c);
  lm_conn *volatile conn;
} watched[WATCHED];
static void (*volatile hook)(void);

void lm_interrupt_watch(void (*cancel)(lm_conn *c), lm_conn *c) {
  int i = 0;
  while (i < WATCHED - 1 && watched[i].conn)
    i++;
  /* when every slot is taken, the newest wins the last one */
  watched[i].conn = NULL;
  watched[i].cancel = cancel;
  watched[i].conn = c;
}

void lm_interrupt_unwatch(lm_conn *c) {
  for (int i = 0; i < WATCHED; i++)
    if (watched[i].conn == c) watched[i].conn = NULL;
}

void lm_interrupt_hook(void (*fn)(void)) { hook = fn; }

void lm_interrupt(void) {
  lm_interrupted = 1;
  for (int i = 0; i < WATCHED; i++) {
    lm_conn *c = watched[i].conn;
    if (c) watched[i].cancel(c);
  }
  void (*fn)(void) = hook;
  if (fn) fn();
}
