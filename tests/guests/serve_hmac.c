// A middleware that verifies X-Signature: hex(HMAC-SHA256(HMAC_SECRET, body))
// over the request body. A bad or missing signature is answered 401 here; a
// good one continues with X-Signature-Verified set. SHA-256 and HMAC: the
// examples' examples/common/sha256.h.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../examples/common/sha256.h"

// Finds `"key":` + `prefix` and unescapes the JSON string that follows into a
// new buffer. Handles the escapes the server writes for ASCII text; \u
// escapes above 0x7f are not needed by the tests and are refused.
static char* jsonString(const char* json, const char* key, size_t* len) {
  const char* at = strstr(json, key);
  if (!at) return NULL;
  at += strlen(key);
  char* out = malloc(strlen(at) + 1);
  size_t n = 0;
  for (; *at && *at != '"'; ++at) {
    if (*at != '\\') {
      out[n++] = *at;
      continue;
    }
    ++at;
    switch (*at) {
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'u': {
        char hex[5] = {0};
        memcpy(hex, at + 1, 4);
        long v = strtol(hex, NULL, 16);
        if (v > 0x7f) { free(out); return NULL; }
        out[n++] = (char)v;
        at += 4;
        break;
      }
      case '\0': free(out); return NULL;
      default: out[n++] = *at; break;
    }
  }
  out[n] = '\0';
  *len = n;
  return out;
}

static void deny(const char* why) {
  fprintf(stderr, "hmac: %s\n", why);
  printf("{\"action\":\"respond\",\"status\":401,\"headers\":{\"WWW-Authenticate\":[\"HMAC\"]},"
         "\"body\":\"%s\"}\n", why);
}

int main(void) {
  static char in[1 << 20];
  size_t n = 0;
  for (ssize_t r; n < sizeof in - 1 && (r = read(0, in + n, sizeof in - 1 - n)) > 0;) n += (size_t)r;
  in[n] = '\0';
  const char* secret = getenv("HMAC_SECRET");
  if (!secret || !*secret) {
    deny("no secret configured");
    return 0;
  }
  size_t body_len = 0, sig_len = 0;
  char* body = jsonString(in, "\"body\":\"", &body_len);
  char* sig = jsonString(in, "\"X-Signature\":[\"", &sig_len);
  if (!sig) {
    deny("missing signature");
    return 0;
  }
  if (!body) {
    deny("unreadable body");
    return 0;
  }
  uint8_t mac[32];
  hmac_sha256(secret, strlen(secret), body, body_len, mac);
  char hex[65];
  for (int i = 0; i < 32; ++i) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  if (sig_len != 64 || strcmp(hex, sig) != 0) {
    deny("bad signature");
    return 0;
  }
  printf("{\"action\":\"continue\",\"set_headers\":{\"X-Signature-Verified\":[\"yes\"]}}\n");
  return 0;
}
