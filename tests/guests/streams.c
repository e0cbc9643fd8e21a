// Writes one line to each of stdout and stderr and exits 3, so tests can check
// that the two streams are kept apart and that a non-zero code comes back.
#include <stdio.h>

int main(void) {
  fputs("to stdout\n", stdout);
  fputs("to stderr\n", stderr);
  return 3;
}
