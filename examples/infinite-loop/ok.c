// A well-behaved neighbour of spin.c: answers 200 at once.
#include <stdio.h>

int main(void) {
  printf("{\"status\":200,\"headers\":{\"Content-Type\":[\"text/plain\"]},\"body\":\"ok\\n\"}\n");
  return 0;
}
