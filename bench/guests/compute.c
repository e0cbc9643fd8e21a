// compute: a CPU-bound program for the compute-speed scenario, built twice
// from this one source: as wasm32-wasi (run by `jinn run`) and natively
// (the system cc). It times its own kernels with the monotonic clock, so the
// figures exclude process start and module load:
//   sort: merge sort of COUNT pseudo-random 32-bit numbers (no libc qsort,
//         so both builds run the same code);
//   hash: SHA-256 (examples/common/sha256.h) over the sorted array, ROUNDS times.
// Prints one JSON line; the digest must be the same for both builds.
// Usage: compute [COUNT [ROUNDS]]   (defaults 1000000 and 16)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../examples/common/sha256.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

// Bottom-up merge sort of a[0..n) using tmp (n elements).
static void merge_sort(uint32_t* a, uint32_t* tmp, size_t n) {
  uint32_t* src = a;
  uint32_t* dst = tmp;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = src[i] <= src[j] ? src[i++] : src[j++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    uint32_t* t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
}

int main(int argc, char** argv) {
  size_t count = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
  int rounds = argc > 2 ? atoi(argv[2]) : 16;
  uint32_t* a = malloc(count * sizeof *a);
  uint32_t* tmp = malloc(count * sizeof *tmp);
  if (!a || !tmp || count == 0) return 1;
  uint32_t x = 2463534242u;  // xorshift32
  for (size_t i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    a[i] = x;
  }

  memset(tmp, 0, count * sizeof *tmp);  // first touch outside the timed part, in both builds
  double t0 = now_ms();
  merge_sort(a, tmp, count);
  double t1 = now_ms();
  uint8_t digest[32] = {0};
  for (int r = 0; r < rounds; ++r) {
    Sha256 s;
    sha256_init(&s);
    sha256_update(&s, digest, sizeof digest);
    sha256_update(&s, a, count * sizeof *a);
    sha256_final(&s, digest);
  }
  double t2 = now_ms();

  for (size_t i = 1; i < count; ++i)
    if (a[i - 1] > a[i]) return 2;
  printf("{\"count\":%zu,\"rounds\":%d,\"sort_ms\":%.3f,\"hash_ms\":%.3f,\"digest\":\"", count,
         rounds, t1 - t0, t2 - t1);
  for (int i = 0; i < 8; ++i) printf("%02x", digest[i]);
  printf("\"}\n");
  free(a);
  free(tmp);
  return 0;
}
