/* Throughput of the revision-file checksum (engine/sha256.c). Not part of the
 * test suite; build it on demand:
 *
 *   cmake --build build --target bench_sha256
 *   build/bench_sha256 [-p] [-n] [-s SIZE] [-i ITERS]
 *
 *   -p        force the portable path (default: the fastest the CPU has)
 *   -n        lm_sha256_hex_normalised instead of lm_sha256_hex
 *   -s SIZE   bytes per hash (default 4096, about a revision file)
 *   -i ITERS  hashes to run (default: as many as fit in about one second)
 *
 * Prints the MB/s (10^6 bytes): with -i, of one round of ITERS hashes;
 * without, of the best of five rounds of about 0.2 s each. For
 * instructions per byte, run a fixed count under callgrind, e.g.
 * `valgrind --tool=callgrind build/bench_sha256 -p -s 1048576 -i 16`, and
 * divide the Ir of lm_sha256_hex (inclusive) by 16 MiB; valgrind hides the
 * SHA extensions from the program, so it always measures the portable path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lm.h"

/* Weak so the program also links against an engine without the hook. */
extern void lm_sha256_force_portable(int on) __attribute__((weak));
extern const char *lm_sha256_impl(void) __attribute__((weak));

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int portable = 0, normalised = 0, opt;
  size_t size = 4096;
  long iters = 0;
  while ((opt = getopt(argc, argv, "pns:i:")) != -1) {
    switch (opt) {
    case 'p': portable = 1; break;
    case 'n': normalised = 1; break;
    case 's': size = strtoul(optarg, NULL, 10); break;
    case 'i': iters = strtol(optarg, NULL, 10); break;
    default: fprintf(stderr, "usage: %s [-p] [-n] [-s SIZE] [-i ITERS]\n", argv[0]); return 2;
    }
  }
  if (portable) {
    if (!lm_sha256_force_portable) {
      fprintf(stderr, "this engine has no lm_sha256_force_portable\n");
      return 2;
    }
    lm_sha256_force_portable(1);
  }
  void (*hash)(const void *, size_t, char[65]) =
      normalised ? lm_sha256_hex_normalised : lm_sha256_hex;

  /* Text-like bytes without CR, as revision files usually are. */
  unsigned char *buf = malloc(size ? size : 1);
  uint32_t x = 12345;
  for (size_t i = 0; i < size; i++) {
    x = x * 1103515245 + 12345;
    buf[i] = (unsigned char)(' ' + (x >> 16) % 95);
    if ((x >> 8) % 40 == 0) buf[i] = '\n';
  }

  char out[65];
  int rounds = iters > 0 ? 1 : 5;
  if (iters <= 0) { /* calibrate to about 0.2 s per round */
    iters = 1;
    for (;;) {
      double t = now();
      for (long k = 0; k < iters; k++)
        hash(buf, size, out);
      if (now() - t > 0.05) {
        iters = (long)((double)iters * 0.2 / (now() - t)) + 1;
        break;
      }
      iters *= 2;
    }
  }
  double best = 1e30;
  for (int round = 0; round < rounds; round++) {
    double t = now();
    for (long k = 0; k < iters; k++)
      hash(buf, size, out);
    t = now() - t;
    if (t < best) best = t;
  }
  printf("%s %s size=%zu iters=%ld: %.1f MB/s (%.2f ns/byte) %s\n",
         lm_sha256_impl ? lm_sha256_impl() : "(one path)", normalised ? "normalised" : "plain",
         size, iters, (double)size * (double)iters / best / 1e6,
         best * 1e9 / ((double)size * (double)iters), out);
  free(buf);
  return 0;
}
