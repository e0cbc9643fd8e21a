// HMAC-SHA256 request signing, checked in front of the upstream.
// The client sends `X-Signature: hex(HMAC-SHA256(HMAC_SECRET, body))`. A
// missing or wrong signature is answered 401 here; a good one lets the request
// continue to the upstream with `X-Signature-Verified: true`.
// SHA-256 and HMAC come from examples/common/sha256.h.
#include <stdint.h>

#include "../common/envelope.h"

#include "../common/sha256.h"

static int reject(const char* why) {
  printf("{\"action\":\"respond\",\"status\":401,\"headers\":{\"Content-Type\":[\"text/plain\"],"
         "\"WWW-Authenticate\":[\"HMAC-SHA256 header=X-Signature\"]},\"body\":\"%s\\n\"}\n", why);
  return 0;
}

int main(void) {
  const char* secret = getenv("HMAC_SECRET");
  if (!secret || !*secret) {
    fprintf(stderr, "verify_hmac: HMAC_SECRET is not set\n");
    return 1;  // a configuration error: the client gets 500, never a pass
  }
  size_t env_len, body_len;
  char* env = read_all_stdin(&env_len);
  char* body = env ? envelope_body(env, &body_len) : NULL;
  if (!body) return 1;
  char* sig = envelope_header(env, "X-Signature");
  if (!sig) return reject("missing X-Signature");

  uint8_t mac[32];
  hmac_sha256(secret, strlen(secret), body, body_len, mac);
  char want[65];
  for (int i = 0; i < 32; ++i) snprintf(want + 2 * i, 3, "%02x", mac[i]);

  // Compare every byte (no early exit), case-insensitively for hex digits.
  unsigned diff = strlen(sig) != 64;
  for (int i = 0; i < 64 && sig[i]; ++i) diff |= (unsigned)((sig[i] | 0x20) ^ want[i]);
  if (diff) return reject("bad signature");

  printf("{\"action\":\"continue\",\"set_headers\":{\"X-Signature-Verified\":[\"true\"]}}\n");
  return 0;
}
