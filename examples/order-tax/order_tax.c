// order-tax: the seed benchmark function. The request body is an order
// {"id": ..., "value": number}; the answer adds a 15 % tax:
// {"id":...,"value":...,"tax":value*0.15,"total":value*1.15}.
#include "../common/envelope.h"

// Finds the raw JSON token after `"key":` (a number, a string with its quotes,
// true/false/null); sets *start and *n. Returns 0 when there is none.
static int json_token(const char* json, const char* key, const char** start, size_t* n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  for (const char* p = strstr(json, pat); p; p = strstr(p, pat)) {
    p += strlen(pat);
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
    if (*p != ':') continue;  // it was a string value, not a key
    ++p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') ++p;
    const char* e = p;
    if (*e == '"') {  // a string: up to the closing quote, skipping escapes
      for (++e; *e && *e != '"'; ++e)
        if (*e == '\\' && e[1]) ++e;
      if (*e != '"') return 0;
      ++e;
    } else {  // a scalar: up to the next delimiter
      while (*e && !strchr(",}] \t\r\n", *e)) ++e;
    }
    if (e == p) return 0;
    *start = p;
    *n = (size_t)(e - p);
    return 1;
  }
  return 0;
}

static int fail(const char* why) {
  printf("{\"status\":400,\"headers\":{\"Content-Type\":[\"text/plain\"]},\"body\":\"%s\\n\"}\n", why);
  return 0;
}

int main(void) {
  size_t env_len, body_len;
  char* env = read_all_stdin(&env_len);
  if (!env) return 1;
  char* body = envelope_body(env, &body_len);
  if (!body) return fail("body is not valid");

  const char* id = "null";
  size_t id_len = 4;
  double value;
  json_token(body, "id", &id, &id_len);  // keeps null when the order has no id
  if (!json_number(body, "value", &value)) return fail("expected {\\\"id\\\": ..., \\\"value\\\": number}");

  // The response body is JSON text inside the JSON string "body": escape it.
  char out[512];
  int head = snprintf(out, sizeof out, "{\"id\":");
  printf("{\"status\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},\"body\":\"");
  json_write_escaped(stdout, out, (size_t)head);
  json_write_escaped(stdout, id, id_len > 256 ? 256 : id_len);
  // %.15g: 15 significant digits hide the binary rounding of 0.15 (15, not 15.000000000000002).
  int tail = snprintf(out, sizeof out, ",\"value\":%.15g,\"tax\":%.15g,\"total\":%.15g}",
                      value, value * 0.15, value * 1.15);
  json_write_escaped(stdout, out, (size_t)tail);
  printf("\"}\n");
  return 0;
}
