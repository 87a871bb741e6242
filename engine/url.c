/* Database URLs: split into the parts the dialects connect with, and masked
 * wherever a URL or connection string may end up in front of a user. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lm.h"

#define URL_HINT "use sqlite:///path.db or postgresql://user@host/db"

/* ---- parsing ----------------------------------------------------------- */

/* Decodes %XX escapes of s[0..n). On a malformed escape or %00 (which cannot
 * live in a C string) returns NULL and stores the escape's offset in *bad. */
static char *pct_decode(const char *s, size_t n, size_t *bad) {
  lm_buf b;
  lm_buf_init(&b);
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%') {
      lm_buf_putc(&b, s[i]);
      continue;
    }
    int hi = i + 1 < n ? lm_hexval((unsigned char)s[i + 1]) : -1;
    int lo = i + 2 < n ? lm_hexval((unsigned char)s[i + 2]) : -1;
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
      *bad = i;
      lm_buf_free(&b);
      return NULL;
    }
    lm_buf_putc(&b, (char)(hi * 16 + lo));
    i += 2;
  }
  return lm_buf_steal(&b);
}

/* Decodes a part, reporting a bad escape in terms of `what`. Secret parts
 * are named but never echoed. */
static int decode_part(const lm_url *u, const char *s, size_t n, const char *what, int secret,
                       char **out) {
  size_t bad = 0;
  *out = pct_decode(s, n, &bad);
  if (*out) return 0;
  if (secret)
    return lm_error_set(LM_ECONFIG, "bad percent-escape in the %s of database URL %s", what,
                        u->masked);
  size_t elen = n - bad < 3 ? n - bad : 3;
  return lm_error_set(LM_ECONFIG,
                      "bad percent-escape '%.*s' in the %s of database URL %s (write a literal "
                      "'%%' as %%25)",
                      (int)elen, s + bad, what, u->masked);
}

static int contains_password(const char *k) {
  for (; *k; k++)
    if (strncasecmp(k, "password", 8) == 0) return 1;
  return 0;
}

static void add_opt(lm_url *u, char *k, char *v) {
  u->opt_keys = lm_xrealloc(u->opt_keys, (size_t)(u->nopts + 1) * sizeof *u->opt_keys);
  u->opt_vals = lm_xrealloc(u->opt_vals, (size_t)(u->nopts + 1) * sizeof *u->opt_vals);
  u->opt_keys[u->nopts] = k;
  u->opt_vals[u->nopts] = v;
  u->nopts++;
}

/* '+' stays a plus: the options go to libpq, which does not read it as a
 * space either. */
static int parse_query(lm_url *u, const char *q) {
  while (*q) {
    size_t len = strcspn(q, "&");
    if (len > 0) {
      const char *eq = memchr(q, '=', len);
      size_t klen = eq ? (size_t)(eq - q) : len;
      if (klen == 0)
        return lm_error_set(LM_ECONFIG, "empty option name in the query of database URL %s",
                            u->masked);
      char *k = NULL, *v = NULL;
      int rc = decode_part(u, q, klen, "query", 0, &k);
      if (rc) return rc;
      const char *vs = eq ? eq + 1 : q + len;
      size_t vlen = (size_t)(q + len - vs);
      char what[96];
      snprintf(what, sizeof what, "option '%s'", k);
      int secret = contains_password(k);
      rc = decode_part(u, vs, vlen, what, secret, &v);
      if (rc) {
        free(k);
        return rc;
      }
      add_opt(u, k, v);
    }
    q += len;
    if (*q == '&') q++;
  }
  return 0;
}

static int parse_sqlite(lm_url *u, const char *rest) {
  const char *q = strchr(rest, '?');
  size_t len = q ? (size_t)(q - rest) : strlen(rest);
  if (len == 0) {
    u->path = lm_xstrdup(":memory:");
  } else if (rest[0] != '/') {
    return lm_error_set(LM_ECONFIG,
                        "SQLite URL %s has a host part; a SQLite URL names a file: "
                        "sqlite:///relative/path.db or sqlite:////absolute/path.db",
                        u->masked);
  } else {
    int rc = decode_part(u, rest + 1, len - 1, "path", 0, &u->path);
    if (rc) return rc;
    if (!u->path[0])
      return lm_error_set(LM_ECONFIG,
                          "empty SQLite path in database URL %s; use sqlite:///file.db or "
                          "sqlite:///:memory:",
                          u->masked);
  }
  return q ? parse_query(u, q + 1) : 0;
}

/* `cut` says an '@' follows the authority: a raw '/' or '?' in a password
 * then ended the authority early and the rest of the password landed in the
 * port, so the port is not echoed. */
static int check_port(const lm_url *u, const char *p, size_t n, int cut) {
  unsigned long v = 0;
  size_t i = 0;
  for (; i < n && isdigit((unsigned char)p[i]) && v <= 65535; i++)
    v = v * 10 + (unsigned)(p[i] - '0');
  if (i == n && v >= 1 && v <= 65535) return 0;
  if (cut)
    return lm_error_set(LM_ECONFIG,
                        "bad port in database URL %s; a password holding '/', '?' or '@' must be "
                        "percent-encoded (%%2F, %%3F, %%40)",
                        u->masked);
  return lm_error_set(LM_ECONFIG, "bad port '%.*s' in database URL %s (expected 1-65535)", (int)n,
                      p, u->masked);
}

/* host[:port] or [v6][:port], comma-separated as libpq allows for
 * fail-over; hosts and ports are joined back into libpq's list form. */
static int parse_hosts(lm_url *u, const char *s, size_t n, int cut) {
  lm_buf hosts, ports;
  lm_buf_init(&hosts);
  lm_buf_init(&ports);
  int any_host = 0, any_port = 0, rc = 0;
  size_t i = 0;
  while (i <= n && !rc) {
    size_t e = i;
    while (e < n && s[e] != ',')
      e++;
    const char *h = s + i, *p = NULL;
    size_t hlen = e - i, plen = 0;
    if (hlen > 0 && h[0] == '[') {
      const char *close = memchr(h, ']', hlen);
      if (!close) {
        rc = lm_error_set(LM_ECONFIG, "unclosed '[' in the host of database URL %s", u->masked);
        break;
      }
      const char *after = close + 1;
      if (after < s + e && *after != ':') {
        rc = lm_error_set(LM_ECONFIG, "unexpected text after ']' in the host of database URL %s",
                          u->masked);
        break;
      }
      if (after < s + e) p = after + 1, plen = (size_t)(s + e - p);
      h = h + 1;
      hlen = (size_t)(close - h);
    } else {
      const char *c = memchr(h, ':', hlen);
      if (c) p = c + 1, plen = (size_t)(s + e - p), hlen = (size_t)(c - h);
    }
    char *host = NULL;
    rc = decode_part(u, h, hlen, "host", 0, &host);
    if (rc) break;
    if (plen > 0) rc = check_port(u, p, plen, cut);
    if (!rc) {
      if (i > 0) lm_buf_putc(&hosts, ','), lm_buf_putc(&ports, ',');
      lm_buf_puts(&hosts, host);
      lm_buf_put(&ports, p ? p : "", plen);
      any_host |= host[0] != 0;
      any_port |= plen > 0;
    }
    free(host);
    i = e + 1;
  }
  if (!rc && any_host) u->host = lm_buf_steal(&hosts);
  if (!rc && any_port) u->port = lm_buf_steal(&ports);
  lm_buf_free(&hosts);
  lm_buf_free(&ports);
  return rc;
}

static int parse_postgres(lm_url *u, const char *rest) {
  /* As Python's urllib does: the authority ends at the first '/' or '?', and
   * the credentials at its last '@', so a raw '@' in a password still works. */
  size_t nl = strcspn(rest, "/?");
  const char *at = NULL;
  for (const char *p = rest; p < rest + nl; p++)
    if (*p == '@') at = p;
  int rc;
  if (at) {
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    size_t ulen = colon ? (size_t)(colon - rest) : (size_t)(at - rest);
    if (ulen > 0 && (rc = decode_part(u, rest, ulen, "user name", 0, &u->user))) return rc;
    if (colon && colon + 1 < at &&
        (rc = decode_part(u, colon + 1, (size_t)(at - colon - 1), "password", 1, &u->password)))
      return rc;
  }
  const char *hp = at ? at + 1 : rest;
  /* with more than one '@' before the first '/', libpq ends the
   * credentials at the first, we at the last: the port is not echoed, it
   * may be a piece of the password as libpq reads it */
  int ats = 0;
  for (const char *q = rest; *q && *q != '/'; q++)
    ats += *q == '@';
  if ((rc =
           parse_hosts(u, hp, (size_t)(rest + nl - hp), strchr(rest + nl, '@') != NULL || ats > 1)))
    return rc;
  const char *p = rest + nl;
  /* "user:pa/ss@host": libpq reads host "user", port "pa", database
   * "ss@host" -- and would show half the password in its errors */
  if (memchr(p, '@', strcspn(p, "?")))
    return lm_error_set(LM_ECONFIG,
                        "raw '@' after the host in database URL %s; percent-encode '/', '?' "
                        "and '@' in a password (%%2F, %%3F, %%40) and '@' in a database name",
                        u->masked);
  if (*p == '/') {
    p++;
    size_t dlen = strcspn(p, "?");
    if (dlen > 0 && (rc = decode_part(u, p, dlen, "database name", 0, &u->dbname))) return rc;
    p += dlen;
  }
  return *p == '?' ? parse_query(u, p + 1) : 0;
}

static int parse(lm_url *u, const char *text) {
  const char *sep = strstr(text, "://");
  int scheme_ok = sep && sep > text && isalpha((unsigned char)text[0]);
  for (const char *p = text; scheme_ok && p < sep; p++)
    if (!lm_url_scheme_char((unsigned char)*p)) scheme_ok = 0;
  if (!scheme_ok) {
    if (!strchr(text, ':') && !strchr(text, '='))
      return lm_error_set(LM_ECONFIG,
                          "database URL '%s' has no scheme://; did you mean sqlite:///%s?",
                          u->masked, u->masked);
    if (strchr(text, '=') && !strstr(text, "://"))
      return lm_error_set(LM_ECONFIG,
                          "database URL '%s' has no scheme://; key=value connection strings are "
                          "not accepted, write postgresql://user@host/db",
                          u->masked);
    return lm_error_set(LM_ECONFIG, "database URL '%s' has no scheme://; " URL_HINT, u->masked);
  }
  size_t slen = (size_t)(sep - text);
  size_t blen = strcspn(text, "+");
  if (blen > slen) blen = slen;
  const char *rest = sep + 3;
  if (blen == 6 && strncasecmp(text, "sqlite", 6) == 0) {
    u->dialect = lm_xstrdup("sqlite");
    return parse_sqlite(u, rest);
  }
  if ((blen == 10 && strncasecmp(text, "postgresql", 10) == 0) ||
      (blen == 8 && strncasecmp(text, "postgres", 8) == 0)) {
    u->dialect = lm_xstrdup("postgresql");
    return parse_postgres(u, rest);
  }
  return lm_error_set(LM_ECONFIG,
                      "unsupported database URL scheme '%.*s' in %s; use sqlite:/// or "
                      "postgresql://",
                      (int)slen, text, u->masked);
}

int lm_url_parse(lm_url **out, const char *s) {
  *out = NULL;
  if (!s) s = "";
  /* A URL pasted into an environment variable often brings a newline. */
  while (isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  if (n == 0) return lm_error_set(LM_ECONFIG, "empty database URL; " URL_HINT);
  char *text = lm_xstrndup(s, n);
  lm_url *u = lm_xcalloc(1, sizeof *u);
  u->masked = lm_url_mask_whole(text);
  int rc = parse(u, text);
  free(text);
  if (rc) {
    lm_url_free(u);
    return rc;
  }
  *out = u;
  return 0;
}

void lm_url_free(lm_url *u) {
  if (!u) return;
  free(u->dialect);
  free(u->path);
  free(u->user);
  free(u->password);
  free(u->host);
  free(u->port);
  free(u->dbname);
  for (int i = 0; i < u->nopts; i++) {
    free(u->opt_keys[i]);
    free(u->opt_vals[i]);
  }
  free(u->opt_keys);
  free(u->opt_vals);
  free(u->masked);
  free(u);
}
