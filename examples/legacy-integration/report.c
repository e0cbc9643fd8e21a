// /api/report, migrated out of the legacy monolith: reads {"sales":[n, ...]}
// from the request body and answers a summary report as JSON:
// {"count":N,"sum":S,"min":A,"max":B,"mean":M}.
#include <math.h>

#include "../common/envelope.h"

static int fail(const char* why) {
  printf("{\"status\":400,\"headers\":{\"Content-Type\":[\"text/plain\"]},\"body\":\"%s\\n\"}\n", why);
  return 0;
}

int main(void) {
  size_t env_len, body_len;
  char* env = read_all_stdin(&env_len);
  if (!env) return 1;
  char* body = envelope_body(env, &body_len);
  const char* p = body ? strstr(body, "\"sales\"") : NULL;
  if (p) p = strchr(p, '[');
  if (!p) return fail("expected a JSON body {\\\"sales\\\": [numbers]}");

  // Walk the array: numbers separated by commas and whitespace, up to ']'.
  long count = 0;
  double sum = 0, min = INFINITY, max = -INFINITY;
  for (++p;;) {
    while (*p == ' ' || *p == ',' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
    if (*p == ']') break;
    char* end;
    double v = strtod(p, &end);
    if (end == p) return fail("sales must be an array of numbers");
    p = end;
    ++count;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (count == 0) min = max = 0;

  char report[256];
  int n = snprintf(report, sizeof report,
                   "{\"count\":%ld,\"sum\":%.15g,\"min\":%.15g,\"max\":%.15g,\"mean\":%.15g}",
                   count, sum, min, max, count ? sum / (double)count : 0.0);
  printf("{\"status\":200,\"headers\":{\"Content-Type\":[\"application/json\"],"
         "\"X-Served-By\":[\"jinn\"]},\"body\":\"");
  json_write_escaped(stdout, report, (size_t)n);
  printf("\"}\n");
  return 0;
}
