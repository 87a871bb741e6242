/* libpq, loaded with dlopen() on the first PostgreSQL connection rather than
 * linked: linking it makes every command, SQLite ones included, pay the
 * dynamic loader for libpq's dependencies (libssl, libcrypto, Kerberos,
 * LDAP…) at start-up.
 *
 * libpq-fe.h still gives the types and constants. The files that call libpq
 * (postgres.c, interrupt.c) include this header, which turns each PQ…()
 * call into a call through lm_pq, filled by lm_pq_load(). A libpq function
 * used without being listed in LM_PQ_FUNCS is an undefined reference at link
 * time, since nothing links libpq any more. */
#ifndef LM_PQ_LOAD_H
#define LM_PQ_LOAD_H

#include <libpq-fe.h>

/* The soname luamig loads: libpq's ABI has been 5 since PostgreSQL 8.2. */
#define LM_LIBPQ_SONAME "libpq.so.5"

#define LM_PQ_FUNCS(X)                                                                             \
  X(PQbackendPID)                                                                                  \
  X(PQcancel)                                                                                      \
  X(PQclear)                                                                                       \
  X(PQconnectdbParams)                                                                             \
  X(PQerrorMessage)                                                                                \
  X(PQexec)                                                                                        \
  X(PQexecParams)                                                                                  \
  X(PQfinish)                                                                                      \
  X(PQfname)                                                                                       \
  X(PQfreeCancel)                                                                                  \
  X(PQfreemem)                                                                                     \
  X(PQftype)                                                                                       \
  X(PQgetCancel)                                                                                   \
  X(PQgetCopyData)                                                                                 \
  X(PQgetResult)                                                                                   \
  X(PQgetisnull)                                                                                   \
  X(PQgetlength)                                                                                   \
  X(PQgetvalue)                                                                                    \
  X(PQnfields)                                                                                     \
  X(PQntuples)                                                                                     \
  X(PQputCopyEnd)                                                                                  \
  X(PQresStatus)                                                                                   \
  X(PQresultErrorField)                                                                            \
  X(PQresultErrorMessage)                                                                          \
  X(PQresultStatus)                                                                                \
  X(PQsendQueryParams)                                                                             \
  X(PQsetNoticeProcessor)                                                                          \
  X(PQsetSingleRowMode)                                                                            \
  X(PQstatus)                                                                                      \
  X(PQtransactionStatus)

/* One pointer per function, typed from libpq-fe.h's own prototype. */
typedef struct lm_pq_api {
#define LM_PQ_MEMBER(f) __typeof__(f) *f;
  LM_PQ_FUNCS(LM_PQ_MEMBER)
#undef LM_PQ_MEMBER
} lm_pq_api;

/* Every pointer is set once lm_pq_load() has returned 0, and never changes
 * afterwards. */
extern lm_pq_api lm_pq;

/* Loads libpq and resolves every function, the first time; later calls
 * return the first call's result at once. 0 on success; -1 when libpq cannot
 * be loaded or lacks a function, with *why (when why is not NULL) set to a
 * one-line reason that names the fix: "PostgreSQL support needs libpq
 * (libpq.so.5): <dlerror>; install the libpq5 package". libpq is never
 * unloaded. */
int lm_pq_load(const char **why);

/* pq_load.c itself must see the real names. */
#ifndef LM_PQ_LOAD_IMPL
#define PQbackendPID lm_pq.PQbackendPID
#define PQcancel lm_pq.PQcancel
#define PQclear lm_pq.PQclear
#define PQconnectdbParams lm_pq.PQconnectdbParams
#define PQerrorMessage lm_pq.PQerrorMessage
#define PQexec lm_pq.PQexec
#define PQexecParams lm_pq.PQexecParams
#define PQfinish lm_pq.PQfinish
#define PQfname lm_pq.PQfname
#define PQfreeCancel lm_pq.PQfreeCancel
#define PQfreemem lm_pq.PQfreemem
#define PQftype lm_pq.PQftype
#define PQgetCancel lm_pq.PQgetCancel
#define PQgetCopyData lm_pq.PQgetCopyData
#define PQgetResult lm_pq.PQgetResult
#define PQgetisnull lm_pq.PQgetisnull
#define PQgetlength lm_pq.PQgetlength
#define PQgetvalue lm_pq.PQgetvalue
#define PQnfields lm_pq.PQnfields
#define PQntuples lm_pq.PQntuples
#define PQputCopyEnd lm_pq.PQputCopyEnd
#define PQresStatus lm_pq.PQresStatus
#define PQresultErrorField lm_pq.PQresultErrorField
#define PQresultErrorMessage lm_pq.PQresultErrorMessage
#define PQresultStatus lm_pq.PQresultStatus
#define PQsendQueryParams lm_pq.PQsendQueryParams
#define PQsetNoticeProcessor lm_pq.PQsetNoticeProcessor
#define PQsetSingleRowMode lm_pq.PQsetSingleRowMode
#define PQstatus lm_pq.PQstatus
#define PQtransactionStatus lm_pq.PQtransactionStatus
#endif

#endif
