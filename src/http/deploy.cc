// The deploy API of the admin listener ([deploy] in the config):
//
//   PUT    /v1/functions/<path>.wasm   body: the module; validated and compiled
//                                      before it goes live, then renamed into
//                                      place (201 new, 200 replaced)
//   DELETE /v1/functions/<path>.wasm   204; 404 when there is no such file
//   GET    /v1/functions               every .wasm under the root, with its
//                                      SHA-256, size, and calls when loaded
//
// <path> is relative to [deploy] root: segments of letters, digits, '-', '_'
// and '.', none starting with '.'. Every request needs
// `Authorization: Bearer <token>`; anything else is 401 and changes nothing.
#include "http/deploy.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/post.hpp>

#include "http/app.h"
#include "http/request_checks.h"

namespace jinn::http {
namespace {

constexpr std::string_view kPrefix = "/v1/functions";

std::string sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &n, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

bool tokenMatches(std::string_view header, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() != kBearer.size() + token.size() || header.substr(0, 7) != kBearer) {
    return false;
  }
  return CRYPTO_memcmp(header.data() + kBearer.size(), token.data(), token.size()) == 0;
}

// "tenant/fn.wasm" → true when every segment is a safe file name.
bool safeRelativePath(std::string_view rel) {
  if (rel.empty() || rel.size() > 512 || !rel.ends_with(".wasm")) return false;
  size_t at = 0;
  while (at <= rel.size()) {
    const size_t slash = rel.find('/', at);
    const std::string_view seg =
        rel.substr(at, slash == std::string_view::npos ? std::string_view::npos : slash - at);
    if (seg.empty() || seg.front() == '.') return false;
    for (char c : seg) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.';
      if (!ok) return false;
    }
    if (slash == std::string_view::npos) break;
    at = slash + 1;
  }
  return true;
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Response json(unsigned status, std::string body, unsigned version) {
  Response res{static_cast<bhttp::status>(status), version};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// Writes `bytes` to `file` so that readers see the old file or the new one,
// never part of it: a temporary file in the same directory, fsync, rename.
std::optional<std::string> writeAtomically(const std::filesystem::path& file,
                                           std::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return "cannot create " + file.parent_path().string() + ": " + ec.message();
  std::string tmp = file.string() + ".deploy-XXXXXX";
  const int fd = mkstemp(tmp.data());
  if (fd < 0) return "cannot write " + file.string();
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == bytes.size() && ::fchmod(fd, 0644) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return "cannot write " + file.string();
  }
  return std::nullopt;
}

// Runs `fn` on a thread of its own and resumes on this executor: compiling
// an upload takes seconds and must not hold the admin I/O thread.
template <class Fn>
asio::awaitable<void> offThread(Fn fn) {
  auto executor = co_await asio::this_coro::executor;
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        std::thread([fn = std::move(fn), handler = std::move(handler), executor]() mutable {
          fn();
          asio::post(executor, std::move(handler));
        }).detach();
      },
      asio::use_awaitable);
}

}  // namespace

asio::awaitable<std::optional<Response>> handleDeploy(App& app, Exchange& ex) {
  const std::string_view target(ex.request.target().data(), ex.request.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (path != kPrefix && !path.starts_with(std::string(kPrefix) + "/")) co_return std::nullopt;
  const unsigned version = ex.request.version();
  auto state = app.state();
  if (!state->config.deploy) co_return textResponse(404, "deploy API not configured", version);
  const config::DeployConfig& deploy = *state->config.deploy;

  auto auth = ex.request.find(bhttp::field::authorization);
  if (auth == ex.request.end() ||
      !tokenMatches(std::string_view(auth->value().data(), auth->value().size()), deploy.token)) {
    Response res = textResponse(401, "missing or wrong deploy token", version);
    res.set(bhttp::field::www_authenticate, "Bearer");
    co_return res;
  }

  const auto method = ex.request.method();
  if (path == kPrefix) {
    if (method != bhttp::verb::get) {
      Response res = textResponse(405, "method not allowed", version);
      res.set(bhttp::field::allow, "GET");
      co_return res;
    }
    std::string body = "[";
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(deploy.root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file() || it->path().extension() != ".wasm") continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      const std::string rel = std::filesystem::relative(it->path(), deploy.root).string();
      if (body.size() > 1) body += ",";
      body += "{\"path\":\"" + jsonEscape(rel) + "\",\"sha256\":\"" + sha256Hex(bytes.str()) +
              "\",\"bytes\":" + std::to_string(bytes.str().size()) + "}";
    }
    body += "]\n";
    co_return json(200, std::move(body), version);
  }

  const std::string rel(path.substr(kPrefix.size() + 1));
  if (!safeRelativePath(rel)) {
    co_return textResponse(400, "bad function path (segments of [A-Za-z0-9._-], ending in .wasm)",
                           version);
  }
  const std::filesystem::path file = deploy.root / rel;

  if (method == bhttp::verb::delete_) {
    std::error_code ec;
    if (!std::filesystem::remove(file, ec)) {
      co_return textResponse(ec ? 500 : 404, ec ? "cannot remove" : "no such function", version);
    }
    app.deployed(file, nullptr);
    co_return Response{bhttp::status::no_content, version};
  }
  if (method != bhttp::verb::put) {
    Response res = textResponse(405, "method not allowed", version);
    res.set(bhttp::field::allow, "PUT, DELETE");
    co_return res;
  }
  const std::string& bytes = ex.request.body();
  if (bytes.size() > deploy.max_upload) {
    co_return textResponse(413, "module too large (limit " + std::to_string(deploy.max_upload) +
                                    " bytes)", version);
  }
  // Validated and compiled before anything changes on disk.
  Result<std::shared_ptr<Module>> module = Error{""};
  co_await offThread([&] { module = app.engine().loadBytes(bytes, rel); });
  if (!module.ok()) co_return textResponse(400, module.error().message, version);
  std::error_code ec;
  const bool existed = std::filesystem::exists(file, ec);
  if (auto why = writeAtomically(file, bytes)) co_return textResponse(500, *why, version);
  app.deployed(file, module.value());
  co_return json(existed ? 200 : 201,
                 "{\"path\":\"" + jsonEscape(rel) + "\",\"sha256\":\"" + sha256Hex(bytes) +
                     "\",\"bytes\":" + std::to_string(bytes.size()) + "}\n",
                 version);
}

}  // namespace jinn::http
