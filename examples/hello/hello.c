// The smallest useful jinn function: reads its request from stdin, answers on
// stdout. Under `jinn serve` the request is the JSON envelope of the HTTP
// contract (docs/function-contract.md); under `jinn run` it is whatever
// arrives on stdin.
#include <stdio.h>

int main(void) {
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, stdin);
  buf[n] = '\0';
  printf("{\"status\":200,\"headers\":{\"Content-Type\":[\"text/plain\"]},"
         "\"body\":\"hello from WebAssembly, you sent %zu bytes\"}\n",
         n);
  return 0;
}
