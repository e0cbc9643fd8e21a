#include "config/router.h"

#include <algorithm>
#include <map>

namespace jinn::config {
namespace {

bool allows(const RouteConfig& route, std::string_view method) {
  if (route.methods.empty()) return true;
  for (const std::string& m : route.methods) {
    if (m == method || (method == "HEAD" && m == "GET")) return true;
  }
  return false;
}

std::vector<std::string_view> splitSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t at = 1;  // after the leading '/'
  while (at <= path.size()) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string_view::npos ? path.size() : slash;
    out.push_back(path.substr(at, end - at));
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return out;
}

bool isParam(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

bool isPatternPath(std::string_view path) { return path.find('{') != std::string_view::npos; }

Router::Router(const std::vector<RouteConfig>& routes) {
  std::map<std::string, Group> prefixes;
  for (const RouteConfig& route : routes) {
    if (isPatternPath(route.path)) {
      std::string_view path = route.path;
      if (route.prefix) path.remove_suffix(2);  // "/*"
      patterns_.push_back(Pattern{&route, splitSegments(path)});
    } else if (route.prefix) {
      // "/api/*" -> "/api/"; "/*" -> "/".
      prefixes[route.path.substr(0, route.path.size() - 1)].push_back(&route);
    } else {
      exact_[route.path].push_back(&route);
    }
  }
  for (auto& [prefix, group] : prefixes) prefixes_.emplace_back(prefix, std::move(group));
  std::stable_sort(prefixes_.begin(), prefixes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  std::vector<std::string_view> allowed;
  bool path_matched = false;
  auto tryGroup = [&](const Group& group) -> const RouteConfig* {
    path_matched = true;
    for (const RouteConfig* route : group) {
      if (allows(*route, method)) return route;
      allowed.insert(allowed.end(), route->methods.begin(), route->methods.end());
    }
    return nullptr;
  };

  if (auto it = exact_.find(path); it != exact_.end()) {
    if (const RouteConfig* route = tryGroup(it->second)) return {RouteMatch::Kind::kFound, route, {}, {}};
  }
  if (!patterns_.empty()) {
    const std::vector<std::string_view> segments = splitSegments(path);
    for (const Pattern& pattern : patterns_) {
      const bool prefix = pattern.route->prefix;
      if (segments.size() < pattern.segments.size() ||
          (!prefix && segments.size() != pattern.segments.size())) {
        continue;
      }
      RouteMatch found{RouteMatch::Kind::kFound, pattern.route, {}, {}};
      bool hit = true;
      for (size_t i = 0; i < pattern.segments.size() && hit; ++i) {
        const std::string_view want = pattern.segments[i];
        if (isParam(want)) {
          hit = !segments[i].empty();
          found.params.emplace_back(want.substr(1, want.size() - 2), segments[i]);
        } else {
          hit = want == segments[i];
        }
      }
      if (!hit) continue;
      Group one{pattern.route};
      if (tryGroup(one) != nullptr) return found;
    }
  }
  for (const auto& [prefix, group] : prefixes_) {
    // "/api/" also covers "/api" itself.
    const bool hit = path.substr(0, prefix.size()) == prefix ||
                     (prefix.size() > 1 && path == std::string_view(prefix).substr(0, prefix.size() - 1));
    if (!hit) continue;
    if (const RouteConfig* route = tryGroup(group)) return {RouteMatch::Kind::kFound, route, {}, {}};
  }
  if (!path_matched) return {};

  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end()) allowed.push_back("HEAD");
  std::sort(allowed.begin(), allowed.end());
  allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
  RouteMatch result;
  result.kind = RouteMatch::Kind::kMethodNotAllowed;
  for (std::string_view m : allowed) {
    if (!result.allow.empty()) result.allow += ", ";
    result.allow += m;
  }
  return result;
}

}  // namespace jinn::config
