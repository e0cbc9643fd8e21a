// The order-tax answer written as a constant: a function that reads nothing
// and computes nothing. bench/wrk/run.sh serves it beside order_tax.c, so the
// difference between the two rows is what order_tax.c itself costs (its
// stdin read, JSON scan, strtod and printf), and this row is what jinn costs
// per request around any function: HTTP, envelope, sandbox, response parse.
#include <unistd.h>

int main(void) {
  static const char kAnswer[] =
      "{\"status\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},"
      "\"body\":\"{\\\"id\\\":42,\\\"value\\\":100,\\\"tax\\\":15,\\\"total\\\":115}\"}\n";
  const ssize_t n = (ssize_t)(sizeof kAnswer - 1);
  return write(1, kAnswer, (size_t)n) == n ? 0 : 1;
}
