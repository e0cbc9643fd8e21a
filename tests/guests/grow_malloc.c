// The realistic out-of-memory guest: allocates 64 KiB blocks (touching each so
// the memory is really used) until malloc fails, then aborts, which is a trap
// right after a refused memory.grow. Prints the number of blocks to stderr
// first so a test failure shows how far it got.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The blocks are chained and the chain is published through a volatile, or
// the compiler may drop the unused allocations and the loop never ends.
static void* volatile g_chain;

int main(void) {
  unsigned long blocks = 0;
  for (;;) {
    void** p = malloc(65536);
    if (!p) break;
    memset(p, 0xab, 65536);
    *p = g_chain;
    g_chain = p;
    blocks++;
  }
  fprintf(stderr, "blocks %lu\n", blocks);
  abort();
}
