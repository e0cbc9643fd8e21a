// A fixed answer naming its version (JINN_VERSION at build time), so the
// hot reload test can tell two builds of "the same" function apart. Also the
// fast function of the stall test.
#include <stdio.h>

int main(void) {
  printf("{\"status\":200,\"body\":\"version %d\"}\n", JINN_VERSION);
  return 0;
}
