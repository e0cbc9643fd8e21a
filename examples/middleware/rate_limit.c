// Middleware: fixed-window rate limiting per client, before the upstream.
// The client is its X-Api-Key header (else its address without the port).
// Each client may make RATE_LIMIT requests per RATE_WINDOW_SECONDS; one more
// is answered 429 with Retry-After. Counts live in files under /state, a
// directory the route grants writable (instances are fresh per request, so
// state must live outside them).
//
// Limits of this example: concurrent requests of one client may read the
// same count (WASI preview1 has no file locks), so a burst can pass a few
// over the limit; the state directory is not shared across servers.
#include <time.h>

#include "jinn.h"

static unsigned long long fnv1a(const char* s) {
  unsigned long long h = 1469598103934665603ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static long env_long(const char* name, long fallback) {
  const char* v = getenv(name);
  if (!v || !*v) return fallback;
  char* end;
  long n = strtol(v, &end, 10);
  return *end || n <= 0 ? fallback : n;
}

int main(void) {
  jinn_request req;
  if (jinn_request_read(&req) != 0) return 1;
  const long limit = env_long("RATE_LIMIT", 10);
  const long window = env_long("RATE_WINDOW_SECONDS", 60);
  char client[256];
  const char* key = jinn_request_header(&req, "X-Api-Key");
  if (key && *key) {
    snprintf(client, sizeof client, "key:%s", key);
  } else {
    snprintf(client, sizeof client, "addr:%s", req.remote_addr);
    char* colon = strrchr(client, ':');
    if (colon && colon > client + 5) *colon = '\0';
  }
  char path[64];
  snprintf(path, sizeof path, "/state/%016llx", fnv1a(client));

  // A client's window opens with its first request and lasts `window`
  // seconds; the next request after it opens a new one.
  const long now = (long)time(NULL);
  long start = 0, count = 0;
  FILE* f = fopen(path, "r");
  if (f) {
    if (fscanf(f, "%ld %ld", &start, &count) != 2) start = count = 0;
    fclose(f);
  }
  if (start <= 0 || now >= start + window || start > now) {
    start = now;
    count = 0;
  }
  count++;
  f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "rate_limit: cannot write %s (is /state granted writable?)\n", path);
    return 1;
  }
  fprintf(f, "%ld %ld\n", start, count);
  fclose(f);

  char remaining[32], retry[32], lim[32];
  snprintf(remaining, sizeof remaining, "%ld", count > limit ? 0 : limit - count);
  snprintf(retry, sizeof retry, "%ld", start + window - now);
  snprintf(lim, sizeof lim, "%ld", limit);
  jinn_response* res;
  if (count > limit) {
    res = jinn_response_new(429);
    jinn_response_header(res, "Retry-After", retry);
    jinn_response_header(res, "Content-Type", "text/plain; charset=utf-8");
    jinn_response_text(res, "rate limit exceeded\n");
  } else {
    res = jinn_continue_new();  // these headers go on to the upstream
  }
  jinn_response_header(res, "X-RateLimit-Limit", lim);
  jinn_response_header(res, "X-RateLimit-Remaining", remaining);
  jinn_request_free(&req);
  return jinn_response_send(res);
}
