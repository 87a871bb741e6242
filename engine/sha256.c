/* SHA-256 (FIPS 180-4) for revision checksums. */
#include <stdint.h>
#include <string.h>

#include "lm.h"

typedef struct {
  uint32_t h[8];
  uint64_t bits;
  unsigned char blk[64];
  size_t used;
} sha256;

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void block(sha256 *c, const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
           (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5],
           g = c->h[6], h = c->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = cc;
    cc = b;
    b = a;
    a = t1 + t2;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
  c->h[4] += e;
  c->h[5] += f;
  c->h[6] += g;
  c->h[7] += h;
}

static void init(sha256 *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof h0);
  c->bits = 0;
  c->used = 0;
}

static void update(sha256 *c, const unsigned char *p, size_t n) {
  c->bits += (uint64_t)n * 8;
  while (n > 0) {
    size_t take = 64 - c->used;
    if (take > n) take = n;
    memcpy(c->blk + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      block(c, c->blk);
      c->used = 0;
    }
  }
}

static void final(sha256 *c, char out[65]) {
  uint64_t bits = c->bits;
  unsigned char pad = 0x80, zero = 0, len[8];
  update(c, &pad, 1);
  while (c->used != 56)
    update(c, &zero, 1);
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)(bits >> (56 - 8 * i));
  update(c, len, 8);
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) {
      unsigned v = (c->h[i] >> (24 - 8 * j)) & 0xff;
      out[i * 8 + j * 2] = hex[v >> 4];
      out[i * 8 + j * 2 + 1] = hex[v & 15];
    }
  out[64] = 0;
}

void lm_sha256_hex(const void *data, size_t n, char out[65]) {
  sha256 c;
  init(&c);
  update(&c, data, n);
  final(&c, out);
}

void lm_sha256_hex_normalised(const void *data, size_t n, char out[65]) {
  sha256 c;
  const unsigned char *p = data;
  const unsigned char lf = '\n';
  size_t start = 0;
  init(&c);
  for (size_t i = 0; i < n; i++) {
    if (p[i] != '\r') continue;
    update(&c, p + start, i - start);
    update(&c, &lf, 1);
    if (i + 1 < n && p[i + 1] == '\n') i++;
    start = i + 1;
  }
  update(&c, p + start, n - start);
  final(&c, out);
}
