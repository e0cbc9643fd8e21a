// A middleware that verifies X-Signature: hex(HMAC-SHA256(HMAC_SECRET, body))
// over the request body. A bad or missing signature is answered 401 here; a
// good one continues with X-Signature-Verified set. SHA-256 and HMAC are
// written out (FIPS 180-4, RFC 2104) because the guest has no crypto library.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  uint32_t h[8];
  uint8_t block[64];
  size_t used;
  uint64_t total;
} Sha256;

static const uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void shaBlock(Sha256* s, const uint8_t* p) {
  uint32_t w[64];
  for (int i = 0; i < 16; ++i) {
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  }
  for (int i = 16; i < 64; ++i) {
    uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; ++i) {
    uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + kK[i] + w[i];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1;
    d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
  s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void shaInit(Sha256* s) {
  static const uint32_t kInit[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, kInit, sizeof kInit);
  s->used = 0;
  s->total = 0;
}

static void shaUpdate(Sha256* s, const void* data, size_t n) {
  const uint8_t* p = data;
  s->total += n;
  while (n > 0) {
    size_t take = 64 - s->used < n ? 64 - s->used : n;
    memcpy(s->block + s->used, p, take);
    s->used += take;
    p += take;
    n -= take;
    if (s->used == 64) {
      shaBlock(s, s->block);
      s->used = 0;
    }
  }
}

static void shaFinal(Sha256* s, uint8_t out[32]) {
  const uint64_t bits = s->total * 8;
  const uint8_t pad = 0x80, zero = 0;
  shaUpdate(s, &pad, 1);
  while (s->used != 56) shaUpdate(s, &zero, 1);
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = (uint8_t)(bits >> (56 - 8 * i));
  shaUpdate(s, len, 8);
  for (int i = 0; i < 8; ++i) {
    out[4 * i] = (uint8_t)(s->h[i] >> 24);
    out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
    out[4 * i + 3] = (uint8_t)s->h[i];
  }
}

static void hmacSha256(const char* key, size_t key_len, const char* msg, size_t msg_len,
                       uint8_t out[32]) {
  uint8_t k[64] = {0}, ipad[64], opad[64], inner[32];
  Sha256 s;
  if (key_len > 64) {
    shaInit(&s);
    shaUpdate(&s, key, key_len);
    shaFinal(&s, k);
  } else {
    memcpy(k, key, key_len);
  }
  for (int i = 0; i < 64; ++i) {
    ipad[i] = k[i] ^ 0x36;
    opad[i] = k[i] ^ 0x5c;
  }
  shaInit(&s);
  shaUpdate(&s, ipad, 64);
  shaUpdate(&s, msg, msg_len);
  shaFinal(&s, inner);
  shaInit(&s);
  shaUpdate(&s, opad, 64);
  shaUpdate(&s, inner, 32);
  shaFinal(&s, out);
}

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
  hmacSha256(secret, strlen(secret), body, body_len, mac);
  char hex[65];
  for (int i = 0; i < 32; ++i) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
  if (sig_len != 64 || strcmp(hex, sig) != 0) {
    deny("bad signature");
    return 0;
  }
  printf("{\"action\":\"continue\",\"set_headers\":{\"X-Signature-Verified\":[\"yes\"]}}\n");
  return 0;
}
