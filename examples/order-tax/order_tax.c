// order-tax: the seed benchmark function. The request body is an order
// {"id": ..., "value": number}; the answer adds a 15 % tax:
// {"id":...,"value":...,"tax":value*0.15,"total":value*1.15}.
//
// Written for speed as a function author would: the response is built in one
// buffer and written with one fwrite. wasi-libc's printf family costs more
// than the rest of this function together (a format parser per call, a
// stdio lock per character through fputc), so it formats only the numbers.
#include "../common/envelope.h"

// The raw JSON token after `"key":` (key given with its quotes, e.g. "\"id\"");
// sets *start and *n. Returns 0 when there is none.
static int json_token(const char* json, const char* quoted_key, const char** start, size_t* n) {
  const size_t key_len = strlen(quoted_key);
  for (const char* p = strstr(json, quoted_key); p; p = strstr(p + 1, quoted_key)) {
    p += key_len;
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

// Appends s (n bytes) as the content of a JSON string; returns the new end.
// The caller leaves room for 6 bytes per input byte.
static char* put_escaped(char* out, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *out++ = '\\';
      *out++ = (char)c;
    } else if (c < 0x20) {
      memcpy(out, "\\u00", 4);
      out[4] = hex[c >> 4];
      out[5] = hex[c & 15];
      out += 6;
    } else {
      *out++ = (char)c;
    }
  }
  return out;
}

static char* put(char* out, const char* text) {
  size_t n = strlen(text);
  memcpy(out, text, n);
  return out + n;
}

static int answer(const char* out, size_t n) {
  fwrite(out, 1, n, stdout);
  return 0;
}

static int fail(const char* why_json_escaped) {
  char out[512];
  char* p = put(out, "{\"status\":400,\"headers\":{\"Content-Type\":[\"text/plain\"]},\"body\":\"");
  p = put(p, why_json_escaped);
  p = put(p, "\\n\"}\n");
  return answer(out, (size_t)(p - out));
}

int main(void) {
  size_t env_len, body_len;
  char* env = read_all_stdin(&env_len);
  if (!env) return 1;
  char* body = envelope_body(env, &body_len);
  if (!body) return fail("body is not valid");

  const char* id = "null";
  size_t id_len = 4;
  json_token(body, "\"id\"", &id, &id_len);  // keeps null when the order has no id
  if (id_len > 256) id_len = 256;
  const char* num = NULL;
  size_t num_len = 0;
  char* end = NULL;
  double value = 0;
  if (json_token(body, "\"value\"", &num, &num_len)) value = strtod(num, &end);
  if (num == NULL || end != num + num_len) return fail("expected {\\\"id\\\": ..., \\\"value\\\": number}");

  // The response body is JSON text inside the JSON string "body": escaped.
  char numbers[128];
  // %.15g: 15 significant digits hide the binary rounding of 0.15 (15, not 15.000000000000002).
  int numbers_len = snprintf(numbers, sizeof numbers, ",\"value\":%.15g,\"tax\":%.15g,\"total\":%.15g}",
                             value, value * 0.15, value * 1.15);
  char out[2048];
  char* p = put(out, "{\"status\":200,\"headers\":{\"Content-Type\":[\"application/json\"]},\"body\":\"");
  p = put_escaped(p, "{\"id\":", 6);
  p = put_escaped(p, id, id_len);
  p = put_escaped(p, numbers, (size_t)numbers_len);
  p = put(p, "\"}\n");
  return answer(out, (size_t)(p - out));
}
