// The deploy API on the admin listener: PUT, DELETE and GET of .wasm files
// under [deploy] root, behind a bearer token. See deploy.cc for the routes.
#pragma once

#include <optional>

#include "http/http_types.h"

namespace jinn::http {

class App;

// The answer when `exchange` is a deploy API request (under /v1/functions),
// else nullopt.
asio::awaitable<std::optional<Response>> handleDeploy(App& app, Exchange& exchange);

}  // namespace jinn::http
