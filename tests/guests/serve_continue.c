// A middleware that lets every request through, setting a header and
// replacing the body, so the test can see both arrive at the upstream.
#include <stdio.h>

int main(void) {
  printf("{\"action\":\"continue\",\"set_headers\":{\"X-Middleware\":[\"was-here\"]},"
         "\"remove_headers\":[\"X-Remove-Me\"],\"body\":\"replaced by middleware\"}\n");
  return 0;
}
