// SDK round-trip guest (C): answers 201 with the request's X-* headers (every
// value, in order), its method and path, and its body bytes.
#include <strings.h>

#include "jinn.h"

int main(void) {
  jinn_request req;
  if (jinn_request_read(&req) != 0) return 1;
  jinn_response* res = jinn_response_new(201);
  jinn_response_header(res, "X-Method", req.method);
  jinn_response_header(res, "X-Path", req.path);
  for (size_t i = 0; i < req.headers->count; i++) {
    if (strncasecmp(req.headers->keys[i], "X-", 2) != 0) continue;
    const jinn_json* values = &req.headers->items[i];
    for (size_t j = 0; j < values->count; j++) {
      jinn_response_header(res, req.headers->keys[i], values->items[j].string);
    }
  }
  jinn_response_append(res, req.body, req.body_len);
  jinn_request_free(&req);
  return jinn_response_send(res);
}
