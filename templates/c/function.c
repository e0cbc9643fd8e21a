// {{name}}: a jinn function in C. Build with ./build.sh, then try it:
//   jinn call {{name}}.wasm --path '/hello' --body 'some bytes'
// The SDK (jinn.h) reads the request from stdin and writes the response to
// stdout; anything you print for debugging goes to stderr.
#include "jinn.h"

int main(void) {
  jinn_request req;
  if (jinn_request_read(&req) != 0) return 1;

  jinn_response* res = jinn_response_new(200);
  jinn_response_header(res, "Content-Type", "text/plain; charset=utf-8");
  jinn_buf text = {0, 0, 0};
  jinn_buf_printf(&text, "hello from {{name}}: %s %s\n", req.method, req.path);
  if (req.body_len > 0) jinn_buf_printf(&text, "you sent %zu bytes\n", req.body_len);
  jinn_response_append(res, text.data, text.len);
  jinn_buf_free(&text);
  jinn_request_free(&req);
  return jinn_response_send(res);
}
