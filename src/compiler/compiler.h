// The compile pipeline: wasm bytes -> validated module -> C (wasm2c, in a
// limited child process) -> shared object (system C compiler, in a limited
// child process), cached by content hash. See README.md in this directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jinn/jinn.h"

namespace jinn::compiler {

// Names the rules of watToWasm and validate: libwabt's version and the
// SHA-256 of validate.cc (which holds all of them), embedded at build time.
std::string validationPolicy();

struct CompilerConfig {
  std::filesystem::path cache_dir;     // content-addressed artifacts live here
  std::string c_compiler = "cc";
  std::string translator = "wasm2c";
  std::chrono::seconds timeout{300};   // wall-clock limit of each child
  uint64_t memory_bytes = 2ull << 30;  // RLIMIT_AS of each child
  uint64_t max_output_bytes = 512ull << 20;  // RLIMIT_FSIZE of each child
  // Part of every cache key. A cached .so exists only because validate()
  // accepted exactly those wasm bytes, so a hit reuses that verdict without
  // validating again; keyed on the rules that gave it, a changed validator
  // never reuses an old one. Leave the default: only a test sets another,
  // to stand for a changed validator.
  std::string validation_policy = validationPolicy();
};

// What the runtime needs to know about a validated module.
struct ModuleInfo {
  bool has_imports = false;     // imports anything (only wasi_snapshot_preview1 functions allowed)
  bool has_start = false;       // exports func "_start" () -> ()
  bool has_initialize = false;  // exports func "_initialize" () -> ()
  bool has_memory = false;      // exports memory "memory"
};

// Text format: converts in-process with libwabt. Errors name the line.
Result<std::string> watToWasm(std::string_view text, std::string_view name);

// True when `bytes` look like the text format rather than a binary module.
bool looksLikeWat(std::string_view bytes);

// Validates with exactly the feature set wasm2c 1.0.32 handles (MVP, mutable
// globals, sign-extension, saturating float-to-int, multi-value, bulk memory,
// reference types). Anything else is an Error naming the feature ("uses the
// 'simd' feature, which jinn does not support"). Imports must be
// wasi_snapshot_preview1 functions with their exact signatures
// (src/wasi/wasi_functions.def); no imported memory, table or global.
Result<ModuleInfo> validate(std::string_view wasm, std::string_view name);

// Hex SHA-256.
std::string sha256Hex(std::string_view bytes);

struct Artifact {
  std::filesystem::path so_path;  // the cached shared object
  std::string wasm_hash;          // hex SHA-256 of the wasm bytes
  // Set when this call validated the module; empty on a cache hit, which
  // reuses the verdict the cached .so stands for (CompilerConfig).
  std::optional<ModuleInfo> info;
};

class Compiler {
 public:
  explicit Compiler(CompilerConfig config);

  // Returns the cached artifact for these wasm bytes (or text), compiling it
  // first if needed. The cache key covers the wasm bytes, the translator's
  // and the C compiler's versions (asked once per executable, remembered in
  // the cache by its identity), the flags, the runtime ABI (shim, abi.h)
  // and the validation policy, so a change of any of them compiles afresh.
  // A hit is found before any parsing or validation: binary input by its
  // SHA-256, text through the alias its first compile recorded (the text's
  // SHA-256 -> the wasm's, `<cache>/wat/`). Concurrent calls (threads or
  // processes) for the same key are safe; a failed or interrupted compile
  // leaves nothing in the cache directory but its own cleaned-up temp dir.
  Result<Artifact> compile(std::string_view wasm, std::string_view name);

  // Where the .so of wasm bytes with this hex SHA-256 is (or would be) cached.
  std::filesystem::path cachePath(std::string_view wasm_hash) const;

  const CompilerConfig& config() const { return config_; }

 private:
  struct Shared;  // in-flight compiles (compiler.cc)

  // Translates and compiles into a private temp dir, then renames into `so_path`.
  std::optional<Error> build(std::string_view wasm, const std::string& wasm_hash,
                             const ModuleInfo& info, const std::string& key,
                             const std::filesystem::path& so_path, std::string_view name) const;

  // The host forwarders (src/runtime/shim_forwarders.c) compiled once per
  // cache and compiler configuration, linked into every module.
  Result<std::filesystem::path> forwarders(std::string_view name) const;

  // Text input: the alias recording which wasm hash this text (by its
  // SHA-256) converts to under this key prefix.
  std::filesystem::path aliasPath(std::string_view text_hash) const;

  CompilerConfig config_;
  std::filesystem::path forwarders_path_;  // <cache>/common/forwarders-<inputs hash>.o
  std::string key_prefix_;  // versions + flags + ABI, hashed into every key
  // Behind a pointer so Compiler stays movable; shared by moved-from copies.
  std::shared_ptr<Shared> shared_;
};

}  // namespace jinn::compiler
