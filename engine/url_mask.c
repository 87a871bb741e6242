/* Masking of passwords wherever a URL or connection string may end up in
 * front of a user. Pure string work: the error printer uses it, so it must
 * not set errors itself. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lm.h"

int lm_url_scheme_char(int c) { return isalnum(c) || c == '+' || c == '-' || c == '.'; }

int lm_hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* ---- masking ----------------------------------------------------------- */

/* True when k[i] starts a well-formed %XX escape of k[0..n). */
static int s_hex_ok(const char *k, size_t n, size_t i) {
  return i + 2 < n && lm_hexval((unsigned char)k[i + 1]) >= 0 &&
         lm_hexval((unsigned char)k[i + 2]) >= 0;
}

static int is_word(int c) { return isalnum(c) || c == '_'; }

/* True when s[0..n) is a comma-separated list of host[:port] or [v6][:port]
 * with numeric ports: then a ':' in it separates a port, not a password. */
static int looks_like_hostports(const char *s, size_t n) {
  size_t i = 0;
  while (i <= n) {
    size_t e = i;
    while (e < n && s[e] != ',')
      e++;
    size_t h = i;
    if (h < e && s[h] == '[') {
      while (h < e && s[h] != ']')
        h++;
      if (h == e) return 0;
      h++;
    }
    while (h < e && s[h] != ':')
      h++;
    if (h < e) {
      if (h + 1 == e) return 0;
      for (size_t k = h + 1; k < e; k++)
        if (!isdigit((unsigned char)s[k])) return 0;
    }
    i = e + 1;
  }
  return 1;
}

/* ---- the secrets of one URL ----------------------------------------------
 *
 * mark_secrets() marks in m[] every byte of s[0..n) (a URL, the text after
 * "scheme://" starting at s[0]) that may belong to a password under any of
 * the ways the URL can be read: libpq's own URI parser (conninfo_uri_parse
 * in fe-connect.c: the credentials end at the first '@' before the first
 * '/', the query starts at the first '?' after the hosts), ours (the
 * credentials end at the last '@' before the first '/' or '?'), and, for a
 * URL where the two cannot agree (an '@' after a '/' or '?'), everything from
 * the first ':' to that '@'. In the query, every value of a key that names a
 * password (password, sslpassword, any key holding "password" once its
 * %XX escapes are decoded) is marked: libpq decodes the keys too. */

static int key_is_secret(const char *k, size_t n) {
  char buf[128];
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < sizeof buf; i++) {
    if (k[i] == '%' && s_hex_ok(k, n, i)) {
      buf[o++] =
          (char)(lm_hexval((unsigned char)k[i + 1]) * 16 + lm_hexval((unsigned char)k[i + 2]));
      i += 2;
    } else {
      buf[o++] = k[i];
    }
  }
  buf[o] = 0;
  for (size_t i = 0; i < o; i++)
    if (strncasecmp(buf + i, "password", 8) == 0 || strncasecmp(buf + i, "secret", 6) == 0)
      return 1;
  return 0;
}

/* Marks the value of every secret key=value of the query q[0..n). */
static void mark_query(const char *q, size_t n, unsigned char *m) {
  size_t i = 0;
  while (i < n) {
    size_t e = i;
    while (e < n && q[e] != '&')
      e++;
    const char *eq = memchr(q + i, '=', e - i);
    size_t klen = eq ? (size_t)(eq - (q + i)) : e - i;
    if (key_is_secret(q + i, klen)) {
      /* a key without '=' may be a password that held a raw '&' */
      size_t v = eq ? (size_t)(eq - q) + 1 : i;
      memset(m + v, 1, e - v);
    }
    i = e + 1;
  }
}

/* True when every '&'-separated part of the query q[0..n) is key=value. */
static int query_well_formed(const char *q, size_t n) {
  size_t i = 0;
  while (i <= n) {
    size_t e = i;
    while (e < n && q[e] != '&')
      e++;
    if (!memchr(q + i, '=', e - i)) return 0;
    i = e + 1;
  }
  return 1;
}

static void mark_range(unsigned char *m, size_t a, size_t b) {
  if (b > a) memset(m + a, 1, b - a);
}

static void mark_secrets(const char *s, size_t n, unsigned char *m) {
  /* libpq: credentials up to the first '@' before any '/' */
  size_t p = 0;
  while (p < n && s[p] != '@' && s[p] != '/')
    p++;
  size_t host = 0;
  if (p < n && s[p] == '@') {
    size_t c = 0;
    while (c < p && s[c] != ':')
      c++;
    if (c < p) mark_range(m, c + 1, p);
    host = p + 1;
  }
  /* libpq: hosts end at '/' or '?', the database name at '?' */
  size_t h = host;
  while (h < n && s[h] != '/' && s[h] != '?')
    h++;
  if (h < n && s[h] == '/')
    while (h < n && s[h] != '?')
      h++;
  if (h < n) mark_query(s + h + 1, n - h - 1, m + h + 1);

  /* ours: credentials up to the last '@' before the first '/' or '?' */
  size_t net = strcspn(s, "/?");
  if (net > n) net = n;
  size_t at = n;
  for (size_t k = 0; k < net; k++)
    if (s[k] == '@') at = k;
  if (at < n) {
    size_t c = 0;
    while (c < at && s[c] != ':')
      c++;
    if (c < at) mark_range(m, c + 1, at);
  }
  size_t q = net;
  if (q < n && s[q] == '/')
    while (q < n && s[q] != '?')
      q++;
  if (q < n) mark_query(s + q + 1, n - q - 1, m + q + 1);

  /* an '@' after the path or query starts: a raw '/' or '?' in a password
   * (with or without a raw '@' before it) cut the credentials short, so
   * everything from the first ':' to the last such '@' may be password */
  size_t after = at < n ? at + 1 : 0;
  int hostports = looks_like_hostports(s + after, net - after);
  size_t last = n;
  for (size_t k = net; k < n; k++) {
    /* a plain URL: an '@' in a well-formed query is a value */
    if (hostports && s[k] == '?' && query_well_formed(s + k + 1, n - k - 1)) break;
    if (s[k] == '@') last = k;
  }
  size_t lim = at < n ? at : net, c = 0; /* the ':' of the credentials */
  while (c < lim && s[c] != ':')
    c++;
  if (last < n && c < lim) mark_range(m, c + 1, last);
}

/* Appends s[0..n) with every marked run replaced by "***". */
static void put_masked(lm_buf *b, const char *s, size_t n, const unsigned char *m) {
  for (size_t i = 0; i < n;) {
    if (!m[i]) {
      lm_buf_putc(b, s[i++]);
      continue;
    }
    lm_buf_puts(b, "***");
    while (i < n && m[i])
      i++;
  }
}

/* The masked form of one whole URL: every byte is part of it. */
char *lm_url_mask_whole(const char *s) {
  const char *sep = strstr(s, "://");
  if (!sep) return lm_url_mask(s);
  size_t pre = (size_t)(sep + 3 - s), n = strlen(sep + 3);
  unsigned char *m = lm_xcalloc(n + 1, 1);
  mark_secrets(sep + 3, n, m);
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_put(&b, s, pre);
  put_masked(&b, sep + 3, n, m);
  free(m);
  char *out = lm_buf_steal(&b);
  /* and key=value text, should the URL hold any */
  char *again = lm_url_mask(out);
  free(out);
  return again;
}

/* At s[i] == ':' of "scheme://" in free text: appends the URL with its
 * secrets masked and returns where copying resumes (0 when nothing was
 * masked). The URL ends at whitespace -- unless its credentials are still
 * open there (a ':' and no '@' yet, "user:pa ss@host"): then at the end of
 * the text, since a password may hold a raw space or newline. */
static size_t mask_userinfo(const char *s, size_t i, size_t n, lm_buf *b) {
  size_t start = i + 3;
  size_t tok = start;
  while (tok < n && !isspace((unsigned char)s[tok]))
    tok++;
  size_t net = start;
  while (net < tok && s[net] != '/' && s[net] != '?')
    net++;
  if (tok < n && !memchr(s + start, '@', tok - start)) {
    /* the credentials may run past the whitespace: as libpq reads them (to
     * the first '@' before a '/') or as we do (to the last '@' before the
     * first '/' or '?') */
    size_t e = start, ext = tok;
    while (e < n && s[e] != '@' && s[e] != '/')
      e++;
    if (e < n && s[e] == '@' && memchr(s + start, ':', e - start)) ext = e + 1;
    size_t f = start, last = 0;
    while (f < n && s[f] != '/' && s[f] != '?') {
      if (s[f] == '@') last = f;
      f++;
    }
    if (last && memchr(s + start, ':', last - start) && last + 1 > ext) ext = last + 1;
    if (ext > tok) {
      tok = ext;
      while (tok < n && !isspace((unsigned char)s[tok]))
        tok++;
    }
  }
  /* a query's last value runs, as libpq reads it, to the next '&': past
   * whitespace and newlines, when it belongs to a secret key */
  if (tok < n && memchr(s + start, '?', tok - start)) {
    size_t q = tok;
    while (q > start && s[q - 1] != '&' && s[q - 1] != '?')
      q--;
    const char *eq = memchr(s + q, '=', tok - q);
    if (eq && key_is_secret(s + q, (size_t)(eq - (s + q))))
      while (tok < n && s[tok] != '&' && s[tok] != '#')
        tok++;
  }
  unsigned char *m = lm_xcalloc(tok - start + 1, 1);
  mark_secrets(s + start, tok - start, m);
  int any = 0;
  for (size_t k = 0; k < tok - start && !any; k++)
    any = m[k];
  if (!any) {
    free(m);
    return 0;
  }
  lm_buf_put(b, s + i, 3);
  put_masked(b, s + start, tok - start, m);
  free(m);
  return tok;
}

/* At s[i], the first letter of "password" (or of a key ending in it, such
 * as PGPASSWORD): appends key=*** and returns where copying resumes, or 0. */
static size_t mask_password_kv(const char *s, size_t i, size_t n, lm_buf *b) {
  if (n - i < 8 || strncasecmp(s + i, "password", 8) != 0) return 0;
  size_t k = i + 8;
  if (k < n && is_word((unsigned char)s[k])) return 0;
  while (k < n && (s[k] == ' ' || s[k] == '\t'))
    k++;
  if (k >= n || s[k] != '=') return 0;
  k++;
  while (k < n && (s[k] == ' ' || s[k] == '\t'))
    k++;
  size_t v = k;
  if (v < n && s[v] == '\'') {
    /* conninfo quoting: backslash escapes, a quote ends the value */
    v++;
    while (v < n && s[v] != '\'')
      v += (s[v] == '\\' && v + 1 < n) ? 2 : 1;
    if (v < n) v++;
  } else {
    size_t key = i;
    while (key > 0 && is_word((unsigned char)s[key - 1]))
      key--;
    int in_query = key > 0 && (s[key - 1] == '?' || s[key - 1] == '&');
    /* libpq reads a query value up to the next '&', raw whitespace and
     * newlines included: so does the mask, even if it hides more text */
    if (in_query)
      while (v < n && s[v] != '&' && s[v] != '#')
        v++;
    else
      while (v < n && !isspace((unsigned char)s[v]))
        v++;
  }
  if (v == k) return 0;
  lm_buf_put(b, s + i, k - i);
  lm_buf_puts(b, "***");
  return v;
}

/* At s[i], the start of a key spelled with %XX escapes ("pass%77ord=..."):
 * libpq decodes query keys, so a key that decodes to one ending in
 * "password" hides its value like the plain spelling. */
static size_t mask_encoded_kv(const char *s, size_t i, size_t n, lm_buf *b) {
  size_t k = i;
  int pct = 0;
  while (k < n && (is_word((unsigned char)s[k]) || s[k] == '%'))
    pct |= s[k++] == '%';
  if (!pct || k - i < 8 || !key_is_secret(s + i, k - i)) return 0;
  char dec[128];
  size_t o = 0;
  for (size_t j = i; j < k && o + 1 < sizeof dec; j++) {
    if (s[j] == '%' && s_hex_ok(s, k, j)) {
      dec[o++] =
          (char)(lm_hexval((unsigned char)s[j + 1]) * 16 + lm_hexval((unsigned char)s[j + 2]));
      j += 2;
    } else {
      dec[o++] = s[j];
    }
  }
  if (o < 8 || strncasecmp(dec + o - 8, "password", 8) != 0) return 0;
  size_t v = k;
  while (v < n && (s[v] == ' ' || s[v] == '\t'))
    v++;
  if (v >= n || s[v] != '=') return 0;
  v++;
  size_t e = v; /* a query value, as libpq reads it: up to the next '&' */
  while (e < n && s[e] != '&' && s[e] != '#')
    e++;
  lm_buf_put(b, s + i, v - i);
  lm_buf_puts(b, "***");
  return e;
}

char *lm_url_mask(const char *s) {
  if (!s) return lm_xstrdup("");
  lm_buf b;
  lm_buf_init(&b);
  size_t n = strlen(s), i = 0;
  while (i < n) {
    size_t next = 0;
    if (s[i] == ':' && i > 0 && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/' &&
        lm_url_scheme_char((unsigned char)s[i - 1]))
      next = mask_userinfo(s, i, n, &b);
    else if ((i == 0 || (!is_word((unsigned char)s[i - 1]) && s[i - 1] != '%')) &&
             (next = mask_encoded_kv(s, i, n, &b)))
      ;
    else if (s[i] == 'p' || s[i] == 'P')
      next = mask_password_kv(s, i, n, &b);
    if (next) {
      i = next;
    } else {
      lm_buf_putc(&b, s[i]);
      i++;
    }
  }
  return lm_buf_steal(&b);
}
