/* Small engine helpers: the arena (engine/util.c lm_arena), the memory
 * files and the spool a --sql script is rendered into (lm_memfile,
 * lm_spool), text buffers (lm_buf) and the fast checksum of the revision
 * index (engine/sha256.c lm_fast_sum_hex). */
#include <fcntl.h>
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

/* Pieces are zeroed, aligned for any type and do not overlap, small ones
 * and ones larger than a block alike; a freed arena is empty and usable. */
static void test_arena(void **state) {
  (void)state;
  lm_arena a = {.block = 256};
  unsigned char *prev = NULL;
  size_t prev_n = 0;
  size_t sizes[] = {1, 3, 16, 17, 255, 256, 1000, 7, 4096, 2};
  for (int round = 0; round < 2; round++) {
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
      unsigned char *p = lm_arena_alloc(&a, sizes[i]);
      assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
      for (size_t k = 0; k < sizes[i]; k++)
        assert_int_equal(p[k], 0);
      memset(p, 0xab, sizes[i]);
      if (prev) /* the previous piece is intact */
        for (size_t k = 0; k < prev_n; k++)
          assert_int_equal(prev[k], 0xab);
      prev = p;
      prev_n = sizes[i];
    }
    char *s = lm_arena_strndup(&a, "hello, world", 5);
    assert_string_equal(s, "hello");
    assert_string_equal(lm_arena_strndup(&a, NULL, 0), "");
    lm_arena_free(&a);
    assert_null(a.head);
    prev = NULL;
  }
}

/* Reads back what lm_spool_copy wrote: to a stream without a file (by hand)
 * and to a file (sendfile). */
static void copy_both_ways(const lm_spool *sp, const unsigned char *want, size_t total) {
  char *got = NULL;
  size_t got_len = 0;
  FILE *out = open_memstream(&got, &got_len);
  assert_int_equal(lm_spool_copy(sp, out), 0);
  assert_int_equal(fclose(out), 0);
  assert_int_equal(got_len, total);
  if (total) assert_memory_equal(got, want, total);
  free(got);
  FILE *file = tmpfile();
  assert_non_null(file);
  fputs("before:", file); /* what out held before stays, the script follows */
  assert_int_equal(lm_spool_copy(sp, file), 0);
  assert_int_equal(fflush(file), 0);
  assert_int_equal(ftell(file) >= 0, 1);
  rewind(file);
  unsigned char *back = malloc(total + 8);
  assert_int_equal(fread(back, 1, total + 8, file), total + 7);
  assert_memory_equal(back, "before:", 7);
  if (total) assert_memory_equal(back + 7, want, total);
  free(back);
  fclose(file);
}

/* Pieces of every size, written through the stream, come back whole and in
 * order, and the spool can be copied more than once. */
static void test_spool_pieces(void **state) {
  (void)state;
  size_t total = 0, sizes[] = {1, 7, 4096, 65535, 1, 65536, 70000, 3, 131072, 12345};
  int n = (int)(sizeof sizes / sizeof sizes[0]);
  for (int i = 0; i < n; i++)
    total += sizes[i];
  unsigned char *want = malloc(total);
  for (size_t i = 0; i < total; i++)
    want[i] = (unsigned char)(i * 131 + i / 251);
  lm_spool sp;
  FILE *f = lm_spool_open(&sp);
  assert_non_null(f);
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    assert_int_equal(fwrite(want + at, 1, sizes[i], f), sizes[i]);
    at += sizes[i];
  }
  assert_int_equal(fclose(f), 0);
  copy_both_ways(&sp, want, total);
  copy_both_ways(&sp, want, total);
  lm_spool_free(&sp);
  assert_int_equal(sp.fd, -1);
  free(want);
}

/* Nothing written: nothing to print. */
static void test_spool_empty(void **state) {
  (void)state;
  lm_spool sp;
  FILE *f = lm_spool_open(&sp);
  assert_non_null(f);
  assert_int_equal(fclose(f), 0);
  copy_both_ways(&sp, (const unsigned char *)"", 0);
  lm_spool_free(&sp);
}

/* Fixed values, computed by an independent implementation (the Python one
 * tests/integration/test_revindex.sh uses to reseal an index): the index
 * written by one build must be read by the next. */
static void test_fast_sum_vectors(void **state) {
  (void)state;
  char sum[65];
  lm_fast_sum_hex("", 0, sum);
  assert_string_equal(sum, "dc2c6c71e189042760d3f7d62ebb307cd4b02db43c1dd4902ec0f526cc91fb2d");
  lm_fast_sum_hex("abc", 3, sum);
  assert_string_equal(sum, "b236e084e81dd71460d3f7d62ebb307ccfc9f078a092fd1fb7cdc6f22e2977ad");
  unsigned char seq[100];
  for (int i = 0; i < 100; i++)
    seq[i] = (unsigned char)i;
  lm_fast_sum_hex(seq, sizeof seq, sum);
  assert_string_equal(sum, "03c1797f512c36a55bbe600c01eaf1cd13be97b7aa2dc14ed4c2242bab033808");
}

/* Damage shows: any one flipped bit, or a byte cut off or added, changes
 * the sum. */
static void test_fast_sum_damage(void **state) {
  (void)state;
  unsigned char buf[97];
  for (int i = 0; i < 97; i++)
    buf[i] = (unsigned char)(i * 37 + 11);
  char base[65], sum[65];
  lm_fast_sum_hex(buf, 96, base);
  for (int i = 0; i < 96; i++)
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (unsigned char)(1u << bit);
      lm_fast_sum_hex(buf, 96, sum);
      assert_string_not_equal(sum, base);
      buf[i] ^= (unsigned char)(1u << bit);
    }
  lm_fast_sum_hex(buf, 95, sum);
  assert_string_not_equal(sum, base);
  lm_fast_sum_hex(buf, 97, sum);
  assert_string_not_equal(sum, base);
  /* trailing zero bytes are not the same as no bytes */
  unsigned char zeros[40] = {0};
  char z[65];
  for (size_t n = 0; n < sizeof zeros; n++) {
    lm_fast_sum_hex(zeros, n, sum);
    lm_fast_sum_hex(zeros, n + 1, z);
    assert_string_not_equal(sum, z);
  }
}

/* Quotes are doubled wherever they fall, other bytes (a NUL too) kept. */
static void test_buf_quoting(void **state) {
  (void)state;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_literal(&b, "it's", 4);
  lm_buf_literal(&b, "", 0);
  lm_buf_literal(&b, "''x'", 4);
  lm_buf_literal(&b, "a\0'b", 4);
  lm_buf_ident(&b, "a\"b\"");
  lm_buf_ident(&b, "plain");
  const char want[] = "'it''s''''''''x''''a\0''b'\"a\"\"b\"\"\"\"plain\"";
  assert_int_equal(b.len, sizeof want - 1);
  assert_memory_equal(b.s, want, sizeof want);
  lm_buf_free(&b);
}

/* Short and long formats, appended to what the buffer holds. */
static void test_buf_printf(void **state) {
  (void)state;
  lm_buf b;
  lm_buf_init(&b);
  lm_buf_printf(&b, "%d-%s", 7, "x");
  char lng[300];
  memset(lng, 'q', sizeof lng - 1);
  lng[sizeof lng - 1] = 0;
  lm_buf_printf(&b, "[%s]", lng);
  lm_buf_printf(&b, "%s", "");
  lm_buf_printf(&b, "%lld", -1234567890123LL);
  assert_int_equal(b.len, 3 + 301 + 14);
  assert_memory_equal(b.s, "7-x[", 4);
  assert_int_equal(b.s[4 + 298], 'q');
  assert_int_equal(b.s[4 + 299], ']');
  assert_string_equal(b.s + 3 + 301, "-1234567890123");
  lm_buf_free(&b);
}

/* A memory file is empty, readable and writable, and not inherited by a
 * program luamig runs. */
static void test_memfile(void **state) {
  (void)state;
  int fd = lm_memfile("luamig-test");
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(lseek(fd, 0, SEEK_END), 0);
  assert_int_equal(write(fd, "abc", 3), 3);
  char b[4] = {0};
  assert_int_equal(pread(fd, b, 3, 0), 3);
  assert_string_equal(b, "abc");
  close(fd);
}

/* lm_xasprintf: the same text as snprintf, on the joining path (only %s
 * and %%) and on the formatting one, short and long. */
static void check_format(const char *want, char *got) {
  assert_string_equal(got, want);
  free(got);
}

static void test_xasprintf(void **state) {
  (void)state;
  char big[700];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = 0;
  char want[1600];
  check_format("versions/r1_a.lua", lm_xasprintf("%s/%s", "versions", "r1_a.lua"));
  check_format("@v/x.lua", lm_xasprintf("@%s", "v/x.lua"));
  check_format("", lm_xasprintf("%s", ""));
  check_format("plain text", lm_xasprintf("plain text"));
  check_format("100% of a and b%", lm_xasprintf("100%% of %s and %s%%", "a", "b"));
  snprintf(want, sizeof want, "[%s|%s]", big, big);
  check_format(want, lm_xasprintf("[%s|%s]", big, big));
  /* other directives go through vsnprintf */
  check_format("7 x  ab", lm_xasprintf("%d %s %3s", 7, "x", "ab"));
  snprintf(want, sizeof want, "%s %d", big, 42);
  check_format(want, lm_xasprintf("%s %d", big, 42));
  check_format("a%s", lm_xasprintf("a%%s"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arena),           cmocka_unit_test(test_spool_pieces),
      cmocka_unit_test(test_spool_empty),     cmocka_unit_test(test_fast_sum_vectors),
      cmocka_unit_test(test_fast_sum_damage), cmocka_unit_test(test_buf_quoting),
      cmocka_unit_test(test_xasprintf),       cmocka_unit_test(test_buf_printf),
      cmocka_unit_test(test_memfile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
