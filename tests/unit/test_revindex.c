/* The revision index's kept chunks (engine/revindex.c): a revision read from
 * the index copies its compiled chunk out of the index file, still mapped,
 * only when it runs. These tests check that the copy is the chunk that was
 * recorded, that a new index renamed over the file does not change it, and
 * that a file cut short in place (SIGBUS on the mapping) gives "no chunk"
 * (the revision is then compiled from its text) instead of a crash, and
 * that a file cut short while the index itself is read is ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lm.h"

static char root[] = "/tmp/luamig-test-revindex-XXXXXX";
static char versions[300], cache[300];

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(root)) return -1;
  snprintf(versions, sizeof versions, "%s/versions", root);
  snprintf(cache, sizeof cache, "%s/cache", root);
  if (mkdir(versions, 0700) != 0) return -1;
  setenv("LUAMIG_CACHE_DIR", cache, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  return system(cmd) == 0 ? 0 : -1;
}

/* A file's stat from long ago: the index records only settled files. */
static struct stat old_stat(long long ino) {
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_size = 100;
  st.st_ino = (ino_t)ino;
  st.st_mtim.tv_sec = 1000000000;
  st.st_ctim.tv_sec = 1000000000;
  return st;
}

/* Records one revision, id, with chunk bytes, and saves the index. */
static void record(const char *id, const char *chunk, const struct stat *st) {
  lm_revindex *x = lm_revindex_open(versions);
  lm_revision r;
  memset(&r, 0, sizeof r);
  r.id = (char *)id;
  r.message = (char *)"m";
  r.nsteps = 1;
  memset(r.checksum, 'a', 64);
  r.chunk = (char *)chunk;
  r.nchunk = strlen(chunk);
  r.chunkname = (char *)"@versions/r.lua";
  lm_fast_sum_hex(r.chunk, r.nchunk, r.chunk_sum);
  lm_revindex_put(x, "r.lua", st, &r);
  lm_revindex_close(x, 1);
}

/* The index file itself (the only file in the cache folder). */
static void index_path(char *out, size_t n) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "ls '%s'/*.idx", cache);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_non_null(fgets(out, (int)n, p));
  out[strcspn(out, "\n")] = 0;
  pclose(p);
}

static void test_chunk_read_when_asked(void **state) {
  (void)state;
  struct stat st = old_stat(11);
  record("r1", "first compiled chunk", &st);
  lm_revindex *x = lm_revindex_open(versions);
  lm_revision *r = lm_revindex_get(x, "r.lua", &st);
  assert_non_null(r);
  assert_null(r->chunk); /* not copied when the index was read */
  assert_string_equal(r->chunkname, "@versions/r.lua");
  size_t n;
  const char *c = lm_revision_chunk(r, &n);
  assert_non_null(c);
  assert_int_equal(n, strlen("first compiled chunk"));
  assert_memory_equal(c, "first compiled chunk", n);
  char sum[65];
  lm_fast_sum_hex(c, n, sum);
  assert_string_equal(sum, r->chunk_sum);
  /* the revision outlives the index it came from */
  lm_revindex_close(x, 0);
  c = lm_revision_chunk(r, &n);
  assert_non_null(c);
  assert_memory_equal(c, "first compiled chunk", n);
  lm_revision_free(r);
}

static void test_renamed_over_keeps_bytes(void **state) {
  (void)state;
  struct stat st = old_stat(12);
  record("r1", "the chunk of the first index", &st);
  lm_revindex *x = lm_revindex_open(versions);
  lm_revision *r = lm_revindex_get(x, "r.lua", &st);
  assert_non_null(r);
  lm_revindex_close(x, 0);
  /* another run writes a new index (a new file renamed over the old one) */
  struct stat st2 = old_stat(13);
  record("r1", "another chunk, of another length", &st2);
  size_t n;
  const char *c = lm_revision_chunk(r, &n);
  assert_non_null(c);
  assert_int_equal(n, strlen("the chunk of the first index"));
  assert_memory_equal(c, "the chunk of the first index", n);
  lm_revision_free(r);
}

static void test_cut_short_is_no_chunk(void **state) {
  (void)state;
  struct stat st = old_stat(14);
  /* a chunk past the first page, so that cutting the file to one page
   * leaves its mapped page with nothing behind it */
  char big[9000];
  memset(big, 'c', sizeof big - 1);
  big[sizeof big - 1] = 0;
  record("r1", big, &st);
  lm_revindex *x = lm_revindex_open(versions);
  lm_revision *r = lm_revindex_get(x, "r.lua", &st);
  assert_non_null(r);
  char path[600];
  index_path(path, sizeof path);
  assert_int_equal(truncate(path, 100), 0); /* in place: not how luamig writes */
  size_t n = 1;
  assert_null(lm_revision_chunk(r, &n));
  assert_int_equal(n, 0);
  /* and again: the handler is still in place after the first catch */
  assert_null(lm_revision_chunk(r, &n));
  lm_revindex_close(x, 0);
  lm_revision_free(r);
}

/* The lines of a revision's fields come back from the index: a chain read
 * from it reports a broken link at its line, as one read from the files. */
static void test_field_lines_kept(void **state) {
  (void)state;
  struct stat st = old_stat(15);
  lm_revindex *x = lm_revindex_open(versions);
  lm_revision r;
  memset(&r, 0, sizeof r);
  r.id = (char *)"r1";
  r.message = (char *)"m";
  r.nsteps = 1;
  memset(r.checksum, 'a', 64);
  r.revision_line = 3;
  r.down_line = 4;
  r.depends_line = 12;
  r.labels_line = 7;
  r.rename_mark_line = 19;
  lm_revindex_put(x, "lines.lua", &st, &r);
  lm_revindex_close(x, 1);
  x = lm_revindex_open(versions);
  lm_revision *got = lm_revindex_get(x, "lines.lua", &st);
  assert_non_null(got);
  assert_string_equal(got->id, "r1");
  assert_int_equal(got->revision_line, 3);
  assert_int_equal(got->down_line, 4);
  assert_int_equal(got->depends_line, 12);
  assert_int_equal(got->labels_line, 7);
  assert_int_equal(got->rename_mark_line, 19);
  lm_revindex_close(x, 0);
  lm_revision_free(got);
}

/* maps a file of len bytes of text, cut to cut bytes after it is mapped */
static void *map_cut(size_t len, off_t cut) {
  char path[600];
  snprintf(path, sizeof path, "%s/mapped.idx", root);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  char *text = malloc(len);
  assert_non_null(text);
  memset(text, 'x', len);
  memcpy(text, "luamig-revindex 0 other\n", 24);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  free(text);
  void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
  assert_true(map != MAP_FAILED);
  assert_int_equal(ftruncate(fd, cut), 0); /* in place, as luamig never writes */
  close(fd);
  return map;
}

static void test_index_cut_short_while_read(void **state) {
  (void)state;
  /* whole: read (another header, so no entries), not stopped */
  assert_int_equal(lm_revindex_parse_map(map_cut(9000, 9000), 9000), 0);
  /* cut to nothing after the mapping: the first read faults */
  assert_int_equal(lm_revindex_parse_map(map_cut(9000, 0), 9000), -2);
  /* and again: the handler is still in place after the first catch */
  assert_int_equal(lm_revindex_parse_map(map_cut(9000, 0), 9000), -2);
  /* a chunk copy is still guarded after a stopped parse */
  test_cut_short_is_no_chunk(state);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chunk_read_when_asked),
      cmocka_unit_test(test_renamed_over_keeps_bytes),
      cmocka_unit_test(test_cut_short_is_no_chunk),
      cmocka_unit_test(test_field_lines_kept),
      cmocka_unit_test(test_index_cut_short_while_read),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
