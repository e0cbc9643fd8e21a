// The serve tests' main function. Reads the request envelope and, depending
// on the query string, answers in one of several ways:
//   (default)     200, body = the envelope itself, so the test can check
//                 exactly what the function saw; header X-Echo: yes
//   binary body   200, body_base64 = the request's body_base64, untouched
//   mode=text     plain text on stdout (not JSON)
//   mode=around   a JSON object with text before and after it
//   sleep=N       sleeps N ms first (via poll_oneoff), for graceful stop
//   status=N      status N, header X-Echo: yes, body "a body"
// Always writes one line to stderr, which must reach the server log only.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char* readAll(size_t* len) {
  size_t cap = 65536, n = 0;
  char* buf = malloc(cap);
  for (;;) {
    if (n == cap) buf = realloc(buf, cap *= 2);
    ssize_t r = read(0, buf + n, cap - n);
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf = realloc(buf, n + 1);
  buf[n] = '\0';
  *len = n;
  return buf;
}

// The raw (still escaped) text of a top-level string field, or NULL. The
// envelope's keys are unique and never appear inside other strings in the
// tests' requests, so a search is enough here.
static char* field(const char* json, const char* name) {
  char key[64];
  snprintf(key, sizeof key, "\"%s\":\"", name);
  const char* at = strstr(json, key);
  if (!at) return NULL;
  at += strlen(key);
  const char* end = at;
  while (*end && *end != '"') end += (*end == '\\' && end[1]) ? 2 : 1;
  char* out = malloc((size_t)(end - at) + 1);
  memcpy(out, at, (size_t)(end - at));
  out[end - at] = '\0';
  return out;
}

static void putEscaped(const char* s, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      putchar('\\');
      putchar(c);
    } else if (c < 0x20) {
      printf("\\u%04x", c);
    } else {
      putchar(c);
    }
  }
}

int main(void) {
  size_t len = 0;
  char* in = readAll(&len);
  char* query = field(in, "query");
  const char* q = query ? query : "";
  fprintf(stderr, "echo saw %zu bytes of envelope\n", len);
  const char* sleep = strstr(q, "sleep=");
  if (sleep) usleep((useconds_t)atoi(sleep + 6) * 1000u);
  if (strstr(q, "mode=text")) {
    puts("this is not json");
    return 0;
  }
  if (strstr(q, "mode=around")) {
    puts("log line {\"status\":200} trailing");
    return 0;
  }
  const char* status = strstr(q, "status=");
  if (status) {
    printf("{\"status\":%d,\"headers\":{\"X-Echo\":[\"yes\"]},\"body\":\"a body\"}\n",
           atoi(status + 7));
    return 0;
  }
  char* b64 = field(in, "body_base64");
  if (b64) {
    printf("{\"status\":200,\"headers\":{\"Content-Type\":\"application/octet-stream\"},"
           "\"body_base64\":\"%s\"}\n", b64);
    return 0;
  }
  printf("{\"status\":200,\"headers\":{\"X-Echo\":[\"yes\"],\"Content-Type\":[\"application/json\"]},"
         "\"body\":\"");
  putEscaped(in, len);
  printf("\"}\n");
  return 0;
}
