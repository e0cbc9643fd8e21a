// Maps (method, path) to a route. Built once from the config; match() is
// read-only and safe from any number of threads.
//
// Precedence: an exact path beats any prefix; among prefixes the longest wins;
// routes whose `methods` exclude the request's method are skipped (a route that
// allows GET also accepts HEAD). If some route's path matched but every such
// route excluded the method, the answer is kMethodNotAllowed with the union of
// their methods, so the server can reply 405 with an Allow header.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"

namespace jinn::config {

struct RouteMatch {
  enum class Kind { kFound, kMethodNotAllowed, kNotFound };
  Kind kind = Kind::kNotFound;
  const RouteConfig* route = nullptr;  // kFound only
  std::string allow;                   // kMethodNotAllowed only: "GET, HEAD, POST"
};

class Router {
 public:
  // Keeps pointers into `routes`, which must outlive the router and not change.
  explicit Router(const std::vector<RouteConfig>& routes);

  // `path` is the request target's path, without the query string, already
  // normalised by the server (the router compares bytes).
  RouteMatch match(std::string_view method, std::string_view path) const;

 private:
  // Routes sharing one written path, in file order.
  using Group = std::vector<const RouteConfig*>;
  // Transparent, so a lookup by string_view does not allocate.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Group, Hash, std::equal_to<>> exact_;
  // (prefix without the '*', group), longest prefix first.
  std::vector<std::pair<std::string, Group>> prefixes_;
};

}  // namespace jinn::config
