/* Revision checksums (engine/sha256.c): the NIST vectors, a slow reference
 * over many lengths and alignments, the SHA-NI and portable paths against
 * each other, and the CR/CRLF-normalising variant. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lm.h"

/* ---- a slow, straightforward reference --------------------------------- */

static uint32_t ref_ror(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void ref_block(uint32_t h[8], const unsigned char *p) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
      0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
      0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
      0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
      0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
      0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
      0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
      0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
      0xc67178f2};
  uint32_t w[64], v[8];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++)
    w[i] = w[i - 16] + (ref_ror(w[i - 15], 7) ^ ref_ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) +
           w[i - 7] + (ref_ror(w[i - 2], 17) ^ ref_ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
  memcpy(v, h, sizeof v);
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = v[7] + (ref_ror(v[4], 6) ^ ref_ror(v[4], 11) ^ ref_ror(v[4], 25)) +
                  ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[i] + w[i];
    uint32_t t2 = (ref_ror(v[0], 2) ^ ref_ror(v[0], 13) ^ ref_ror(v[0], 22)) +
                  ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
    memmove(v + 1, v, 7 * sizeof v[0]);
    v[4] += t1;
    v[0] = t1 + t2;
  }
  for (int i = 0; i < 8; i++)
    h[i] += v[i];
}

/* Pads a copy of the whole message, then hashes block by block. */
static void ref_sha256_hex(const unsigned char *data, size_t n, char out[65]) {
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  size_t total = (n + 1 + 8 + 63) / 64 * 64;
  unsigned char *m = calloc(total, 1);
  assert_non_null(m);
  if (n) memcpy(m, data, n);
  m[n] = 0x80;
  for (int i = 0; i < 8; i++)
    m[total - 1 - i] = (unsigned char)(((uint64_t)n * 8) >> (8 * i));
  for (size_t off = 0; off < total; off += 64)
    ref_block(h, m + off);
  free(m);
  for (int i = 0; i < 8; i++)
    snprintf(out + 8 * i, 9, "%08x", (unsigned)h[i]);
}

/* CRLF and lone CR to LF, into a new buffer. */
static unsigned char *normalise(const unsigned char *p, size_t n, size_t *outn) {
  unsigned char *o = malloc(n ? n : 1);
  assert_non_null(o);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\r') {
      o[k++] = '\n';
      if (i + 1 < n && p[i + 1] == '\n') i++;
    } else {
      o[k++] = p[i];
    }
  }
  *outn = k;
  return o;
}

static uint32_t rng = 0x12345678;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

static void fill_random(unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(rnd() >> 24);
}

static int has_shani(void) {
  lm_sha256_force_portable(0);
  return strcmp(lm_sha256_impl(), "sha-ni") == 0;
}

/* Each test runs with every path the machine has: 0 = the default choice,
 * 1 = forced portable. */
static int npaths(void) { return has_shani() ? 2 : 1; }
static void use_path(int k) { lm_sha256_force_portable(k == 1); }

static int reset(void **state) {
  (void)state;
  lm_sha256_force_portable(0);
  return 0;
}

static void expect_hex(const void *data, size_t n, const char *want) {
  char out[65];
  lm_sha256_hex(data, n, out);
  if (strcmp(out, want) != 0)
    fail_msg("%s path, %zu bytes: got %s, want %s", lm_sha256_impl(), n, out, want);
}

/* ---- tests --------------------------------------------------------------- */

static void test_nist_vectors(void **state) {
  (void)state;
  static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  static const char m896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
                             "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  size_t mil = 1000000;
  char *a = malloc(mil);
  assert_non_null(a);
  memset(a, 'a', mil);
  for (int k = 0; k < npaths(); k++) {
    use_path(k);
    expect_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_hex(m448, strlen(m448),
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect_hex(m896, strlen(m896),
               "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    expect_hex(a, mil, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* the normalised variant on text without CR is the plain hash */
    char out[65];
    lm_sha256_hex_normalised(m896, strlen(m896), out);
    assert_string_equal(out, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  }
  free(a);
  char out[65];
  lm_sha256_hex(NULL, 0, out);
  assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  lm_sha256_hex_normalised(NULL, 0, out);
  assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Lengths 0..200 at every alignment mod 8 (the block code loads from
 * unaligned input), and some large lengths, against the reference. */
static void test_against_reference(void **state) {
  (void)state;
  static const size_t big[] = {255,  256,   257,   1000,  4095,          4096,
                               4097, 65535, 65536, 65601, (1 << 20) + 7, 3 * (1 << 20) + 61};
  size_t cap = 3 * (1 << 20) + 64 + 8;
  unsigned char *buf = malloc(cap);
  assert_non_null(buf);
  fill_random(buf, cap);
  char want[65], got[65];
  for (int k = 0; k < npaths(); k++) {
    use_path(k);
    for (size_t n = 0; n <= 200; n++)
      for (size_t off = 0; off < 8; off++) {
        ref_sha256_hex(buf + off, n, want);
        lm_sha256_hex(buf + off, n, got);
        if (strcmp(got, want) != 0)
          fail_msg("%s path, %zu bytes at +%zu: %s, want %s", lm_sha256_impl(), n, off, got, want);
      }
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
      ref_sha256_hex(buf + 3, big[i], want);
      lm_sha256_hex(buf + 3, big[i], got);
      if (strcmp(got, want) != 0)
        fail_msg("%s path, %zu bytes: %s, want %s", lm_sha256_impl(), big[i], got, want);
    }
  }
  free(buf);
}

/* The SHA-NI and portable block code agree on random inputs. */
static void test_shani_matches_portable(void **state) {
  (void)state;
  if (!has_shani()) {
    print_message("no SHA-NI on this machine (or not x86-64): one path only\n");
    skip();
  }
  size_t cap = 20000;
  unsigned char *buf = malloc(cap);
  assert_non_null(buf);
  char a[65], b[65];
  for (int iter = 0; iter < 3000; iter++) {
    size_t n = iter < 1000 ? (size_t)iter : rnd() % (cap - 16);
    size_t off = rnd() % 16;
    fill_random(buf + off, n);
    lm_sha256_force_portable(0);
    lm_sha256_hex(buf + off, n, a);
    lm_sha256_force_portable(1);
    lm_sha256_hex(buf + off, n, b);
    if (strcmp(a, b) != 0) fail_msg("%zu bytes at +%zu: sha-ni %s, portable %s", n, off, a, b);
    /* and through the normalised variant's piecewise updates */
    for (size_t i = 0; i < n; i += 1 + rnd() % 97)
      buf[off + i] = '\r';
    lm_sha256_force_portable(0);
    lm_sha256_hex_normalised(buf + off, n, a);
    lm_sha256_force_portable(1);
    lm_sha256_hex_normalised(buf + off, n, b);
    if (strcmp(a, b) != 0)
      fail_msg("normalised, %zu bytes at +%zu: sha-ni %s, portable %s", n, off, a, b);
  }
  free(buf);
}

static void expect_normalised(const unsigned char *p, size_t n) {
  size_t m;
  unsigned char *copy = normalise(p, n, &m);
  char want[65], got[65], plain[65];
  ref_sha256_hex(copy, m, want);
  lm_sha256_hex(copy, m, plain);
  lm_sha256_hex_normalised(p, n, got);
  free(copy);
  assert_string_equal(plain, want);
  if (strcmp(got, want) != 0)
    fail_msg("%s path, normalised, %zu bytes: %s, want %s", lm_sha256_impl(), n, got, want);
}

static void expect_normalised_str(const char *s) {
  expect_normalised((const unsigned char *)s, strlen(s));
}

static void test_normalised(void **state) {
  (void)state;
  static const char *cases[] = {"",
                                "\r",
                                "\n",
                                "\r\n",
                                "\n\r",
                                "\r\r",
                                "\r\r\n",
                                "\r\n\r\n",
                                "\r\n\n\r",
                                "a\r\nb",
                                "a\rb",
                                "abc\r",
                                "abc\r\n",
                                "\rabc",
                                "\r\nabc",
                                "a\r\r\nb\r\rc",
                                "x\n\r\n\ry",
                                "line 1\r\nline 2\r\n",
                                "a\r\n\r",
                                "\r\r\r\r\r",
                                "mixed\rold\nunix\r\ndos\r"};
  for (int k = 0; k < npaths(); k++) {
    use_path(k);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
      expect_normalised_str(cases[i]);

    /* a CR, CRLF, CR CR LF and LF CR at every position of a 300-byte
     * text: each run boundary lands at every offset within a block */
    static const char *marks[] = {"\r", "\r\n", "\r\r\n", "\n\r"};
    unsigned char text[304];
    for (size_t mk = 0; mk < sizeof marks / sizeof marks[0]; mk++) {
      size_t ml = strlen(marks[mk]);
      for (size_t pos = 0; pos + ml <= 300; pos++) {
        for (size_t i = 0; i < 300; i++)
          text[i] = (unsigned char)('a' + i % 26);
        memcpy(text + pos, marks[mk], ml);
        expect_normalised(text, 300);
        expect_normalised(text, pos + ml); /* the mark at the very end */
      }
    }

    /* random texts dense in CR and LF, of many lengths */
    unsigned char *buf = malloc(5000);
    assert_non_null(buf);
    for (int iter = 0; iter < 400; iter++) {
      size_t n = iter < 200 ? (size_t)iter : rnd() % 5000;
      unsigned density = 2 + rnd() % 60;
      for (size_t i = 0; i < n; i++) {
        uint32_t r = rnd();
        buf[i] = r % density == 0 ? '\r' : r % density == 1 ? '\n' : (unsigned char)(r >> 24);
      }
      expect_normalised(buf, n);
    }
    free(buf);
  }
}

/* Agrees with coreutils' sha256sum, when it is installed. */
static void test_sha256sum(void **state) {
  (void)state;
  if (system("command -v sha256sum >/dev/null 2>&1") != 0) {
    print_message("sha256sum not found\n");
    skip();
  }
  static const size_t lens[] = {0, 1, 64, 1000, 123457};
  unsigned char *buf = malloc(123457);
  assert_non_null(buf);
  for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
    char path[] = "/tmp/lm_sha256_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fill_random(buf, lens[i]);
    assert_int_equal(write(fd, buf, lens[i]), (ssize_t)lens[i]);
    close(fd);
    char cmd[64], line[128];
    snprintf(cmd, sizeof cmd, "sha256sum %s", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    unlink(path);
    line[64] = 0;
    for (int k = 0; k < npaths(); k++) {
      use_path(k);
      expect_hex(buf, lens[i], line);
    }
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_nist_vectors, reset),
      cmocka_unit_test_teardown(test_against_reference, reset),
      cmocka_unit_test_teardown(test_shani_matches_portable, reset),
      cmocka_unit_test_teardown(test_normalised, reset),
      cmocka_unit_test_teardown(test_sha256sum, reset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
