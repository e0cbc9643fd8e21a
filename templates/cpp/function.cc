// {{name}}: a jinn function in C++. Build with ./build.sh, then try it:
//   jinn call {{name}}.wasm --path '/hello' --body 'some bytes'
// The SDK (jinn.hpp) reads the request from stdin and writes the response
// to stdout; anything you print for debugging goes to stderr.
#include <string>

#include "jinn.hpp"

int main() {
  jinn::Request req;
  if (!jinn::readRequest(req)) return 1;

  jinn::Response res(200);
  res.header("Content-Type", "text/plain; charset=utf-8");
  res.body = "hello from {{name}}: " + req.method + " " + req.path + "\n";
  if (!req.body.empty()) res.body += "you sent " + std::to_string(req.body.size()) + " bytes\n";
  return res.send();
}
