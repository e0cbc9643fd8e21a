// Tenant "acme": its custom pricing rule, 10% off orders over 100, written in
// C with the jinn SDK. Also reports what its sandbox lets it see: another
// tenant's key (only in that tenant's env) and a host file must both be out
// of reach.
#include <stdio.h>
#include <stdlib.h>

#include "jinn.h"

int main(void) {
  jinn_request req;
  if (jinn_request_read(&req) != 0) return 1;
  const char* error = NULL;
  jinn_json* order = jinn_json_parse((const char*)req.body, req.body_len, &error, NULL);
  const jinn_json* amount = jinn_json_get(order, "amount");
  if (!amount || amount->type != JINN_JSON_NUMBER || amount->number < 0) {
    jinn_json_free(order);
    jinn_request_free(&req);
    const char* msg = "{\"error\":\"send {\\\"amount\\\": <number >= 0>}\"}";
    return jinn_respond(400, "application/json", msg, strlen(msg));
  }
  const double total = amount->number > 100 ? amount->number * 0.9 : amount->number;
  FILE* host_file = fopen("/etc/passwd", "r");
  jinn_buf out = {0, 0, 0};
  jinn_buf_printf(&out,
                  "{\"tenant\":\"%s\",\"rule\":\"10%% off over 100\",\"amount\":%.2f,"
                  "\"total\":%.2f,\"sees_other_tenant_key\":%s,\"sees_host_files\":%s}",
                  getenv("TENANT") ? getenv("TENANT") : "?", amount->number, total,
                  getenv("GLOBEX_API_KEY") ? "true" : "false", host_file ? "true" : "false");
  jinn_json_free(order);
  jinn_request_free(&req);
  int rc = jinn_respond(200, "application/json", out.data, out.len);
  jinn_buf_free(&out);
  return rc;
}
