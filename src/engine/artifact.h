// Standalone artifacts: a compiled module (.so) in a verifiable envelope, for
// hosts without a C compiler (docs/air-gapped.md). Layout, all integers
// little-endian:
//
//   0  magic "JINNART\0"          8 bytes
//   8  format version (1)         u32
//  12  engine ABI version         u32   (JINN_ABI_VERSION of the writer)
//  16  SHA-256 of the wasm        32 bytes
//  48  SHA-256 of the .so bytes   32 bytes
//  80  size of the .so bytes      u64
//  88  signature size (0 or 64)   u32
//  92  reserved, zero             u32
//  96  signer key id              32 bytes: SHA-256 of the raw Ed25519 public key, or zero
// 128  the .so bytes
//      the Ed25519 signature over bytes [0, 128 + .so size), if any
//
// Nothing here is ever loaded from a path: verify() checks the bytes in
// memory and the engine maps exactly those bytes (src/engine/elf_image.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jinn/jinn.h"

namespace jinn::artifact {

inline constexpr std::string_view kMagic{"JINNART\0", 8};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kHeaderSize = 128;
inline constexpr size_t kSignatureSize = 64;

// True when `bytes` start with the artifact magic (content, not file name, decides).
bool hasMagic(std::string_view bytes);

// An Ed25519 private key loaded from PEM (jinn keygen's NAME.key).
class SigningKey {
 public:
  struct Impl;
  static Result<SigningKey> load(const std::filesystem::path& pem_file);
  const Impl& impl() const { return *impl_; }

 private:
  explicit SigningKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Writes NAME.key (PKCS#8 PEM, mode 0600) and NAME.pub (PEM) for a fresh
// Ed25519 key pair. Refuses to overwrite either file.
Result<bool> generateKeyPair(const std::filesystem::path& base);

// The artifact bytes for a compiled module: `so` is the shared object,
// `wasm_hash_hex` the hex SHA-256 of the wasm it came from. Signed when `key`.
Result<std::string> build(std::string_view so, std::string_view wasm_hash_hex,
                          const SigningKey* key);

// Trusted public keys and allow-listed artifact hashes (EngineConfig). An
// artifact passes when its whole-file SHA-256 is allow-listed, or when it is
// signed by one of the keys.
class TrustPolicy {
 public:
  struct Impl;
  TrustPolicy();  // trusts nothing
  // Reads each PEM public key and the allow-list file (one hex SHA-256 per
  // line, first word, so `sha256sum` output works; blank lines and `#`
  // comments ignored). Empty inputs trust nothing.
  static Result<TrustPolicy> load(const std::vector<std::filesystem::path>& key_files,
                                  const std::filesystem::path& allowlist_file);
  const Impl& impl() const { return *impl_; }

 private:
  explicit TrustPolicy(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

struct Verified {
  std::string_view so;    // inside the verified buffer
  std::string wasm_hash;  // hex
  std::string so_hash;    // hex
  std::string file_hash;  // hex SHA-256 of the whole artifact file
};

// Every check before any byte is executed: magic, format and ABI versions,
// sizes, the .so hash, then trust (allow-list or a trusted signature).
// Messages start with `name` and say which check failed.
Result<Verified> verify(std::string_view file, const TrustPolicy& trust, std::string_view name);

// Hex SHA-256 of the bytes.
std::string sha256Hex(std::string_view bytes);

}  // namespace jinn::artifact
