// SDK round-trip guest (C++): answers 201 with the request's X-* headers
// (every value, in order), its method and path, and its body bytes.
#include "jinn.hpp"

int main() {
  jinn::Request req;
  if (!jinn::readRequest(req)) return 1;
  jinn::Response res(201);
  res.header("X-Method", req.method).header("X-Path", req.path);
  for (const auto& [name, values] : req.headers) {
    if (name.rfind("X-", 0) != 0) continue;
    for (const auto& v : values) res.header(name, v);
  }
  res.body = req.body;
  return res.send();
}
