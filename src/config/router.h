// Maps (method, path) to a route. Built once from the config; match() is
// read-only and safe from any number of threads.
//
// Paths: exact ("/api/report"), prefix ("/api/*"), or a pattern whose
// segments may be parameters ("/t/{tenant}/{function}", optionally ending in
// "/*"); a parameter matches one non-empty segment.
//
// Precedence: an exact path beats a pattern, a pattern beats a prefix;
// patterns are tried in file order; among prefixes the longest wins;
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
  // kFound with a pattern route: (name, value) per parameter, in path order;
  // views into the route's config and the matched path.
  std::vector<std::pair<std::string_view, std::string_view>> params;
};

// Whether a route path has {parameter} segments.
bool isPatternPath(std::string_view path);

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
  // Pattern routes in file order, each split into segments.
  struct Pattern {
    const RouteConfig* route;
    std::vector<std::string_view> segments;  // "{name}" marks a parameter
  };
  std::vector<Pattern> patterns_;
};

}  // namespace jinn::config
