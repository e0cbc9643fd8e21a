// Artifact envelope: build and verify. See artifact.h
// for the layout. Ed25519 and SHA-256 come from OpenSSL's EVP API (libcrypto,
// already a dependency); the envelope itself is 128 bytes of fixed fields, too
// small to warrant a container format.
#include "engine/artifact.h"
#include "util/text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_set>

#include "runtime/abi.h"

namespace jinn::artifact {
namespace {

namespace fs = std::filesystem;

using Digest = std::array<unsigned char, 32>;

// Field offsets (artifact.h).
constexpr size_t kOffFormat = 8;
constexpr size_t kOffAbi = 12;
constexpr size_t kOffWasmHash = 16;
constexpr size_t kOffSoHash = 48;
constexpr size_t kOffSoSize = 80;
constexpr size_t kOffSigSize = 88;
constexpr size_t kOffReserved = 92;
constexpr size_t kOffSigner = 96;

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

Digest sha256(std::string_view bytes) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != d.size()) {
    d.fill(0);  // never matches a real digest of a non-empty header
  }
  return d;
}

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

std::string hex(const Digest& d) { return hex(d.data(), d.size()); }

bool unhex(std::string_view text, Digest* out) {
  if (text.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

void putU32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
void putU64(std::string& s, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t getU32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}
uint64_t getU64(std::string_view s, size_t at) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

int noPassphrase(char*, int, int, void*) { return 0; }

// A key file is a few hundred bytes; anything large is not one.
constexpr uintmax_t kMaxKeyFileBytes = 64u << 10;

Result<std::string> readKeyFile(const fs::path& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size > kMaxKeyFileBytes) return Error{path.string() + ": too large for a key file"};
  return util::readWholeFile(path);
}

// SHA-256 of the raw 32-byte public key: the id written into signed artifacts.
std::optional<Digest> keyId(EVP_PKEY* key) {
  unsigned char raw[32];
  size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key, raw, &len) != 1 || len != sizeof raw) return std::nullopt;
  return sha256(std::string_view(reinterpret_cast<const char*>(raw), len));
}

// Creates `path` exclusively with `mode` and writes the key in PEM.
std::optional<Error> writePem(const fs::path& path, mode_t mode, EVP_PKEY* key, bool secret) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error{path.string() + ": cannot create: " + std::strerror(errno)};
  ::fchmod(fd, mode);  // whatever the umask says
  Bio bio(BIO_new(BIO_s_mem()));
  const int ok =
      secret ? PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
             : PEM_write_bio_PUBKEY(bio.get(), key);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  bool written = ok == 1 && len > 0;
  for (long off = 0; written && off < len;) {
    const ssize_t n = ::write(fd, data + off, static_cast<size_t>(len - off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      written = false;
    else
      off += n;
  }
  const int saved = errno;
  if (::close(fd) != 0) written = false;
  if (!written) {
    fs::remove(path);
    return Error{path.string() + ": cannot write key: " + std::strerror(saved)};
  }
  return std::nullopt;
}

}  // namespace

struct SigningKey::Impl {
  Pkey key;
  Digest id{};
};

struct TrustPolicy::Impl {
  struct Key {
    Pkey key;
    Digest id{};
    std::string file;
  };
  std::vector<Key> keys;
  std::unordered_set<std::string> allowed;  // lower-case hex SHA-256 of whole files
};

bool hasMagic(std::string_view bytes) { return bytes.substr(0, kMagic.size()) == kMagic; }

std::string sha256Hex(std::string_view bytes) { return hex(sha256(bytes)); }

Result<SigningKey> SigningKey::load(const fs::path& pem_file) {
  auto text = readKeyFile(pem_file);
  if (!text.ok()) return text.error();
  Bio bio(BIO_new_mem_buf(text.value().data(), static_cast<int>(text.value().size())));
  auto impl = std::make_shared<Impl>();
  // No passphrase callback: an encrypted key is refused instead of prompting.
  impl->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  if (!impl->key || EVP_PKEY_get_id(impl->key.get()) != EVP_PKEY_ED25519) {
    return Error{pem_file.string() +
                 ": not an unencrypted Ed25519 private key in PEM (see jinn keygen)"};
  }
  auto id = keyId(impl->key.get());
  if (!id) return Error{pem_file.string() + ": cannot read the public half of the key"};
  impl->id = *id;
  return SigningKey(std::move(impl));
}

Result<bool> generateKeyPair(const fs::path& base) {
  const fs::path key_file = base.string() + ".key", pub_file = base.string() + ".pub";
  std::error_code ec;
  for (const auto& f : {key_file, pub_file}) {
    if (fs::exists(f, ec)) return Error{f.string() + ": already exists; not overwriting a key"};
  }
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Error{"Ed25519 key generation failed"};
  if (auto e = writePem(key_file, 0600, key.get(), true)) return *e;
  if (auto e = writePem(pub_file, 0644, key.get(), false)) {
    fs::remove(key_file, ec);
    return *e;
  }
  return true;
}

Result<std::string> build(std::string_view so, std::string_view wasm_hash_hex,
                          const SigningKey* key) {
  Digest wasm_hash{};
  if (!unhex(wasm_hash_hex, &wasm_hash))
    return Error{"bad wasm hash '" + std::string(wasm_hash_hex) + "'"};
  std::string out(kHeaderSize, '\0');
  out.replace(0, kMagic.size(), kMagic);
  putU32(out, kOffFormat, kFormatVersion);
  putU32(out, kOffAbi, JINN_ABI_VERSION);
  std::memcpy(out.data() + kOffWasmHash, wasm_hash.data(), 32);
  const Digest so_hash = sha256(so);
  std::memcpy(out.data() + kOffSoHash, so_hash.data(), 32);
  putU64(out, kOffSoSize, so.size());
  putU32(out, kOffSigSize, key != nullptr ? kSignatureSize : 0);
  putU32(out, kOffReserved, 0);
  if (key != nullptr) std::memcpy(out.data() + kOffSigner, key->impl().id.data(), 32);
  out.append(so);
  if (key != nullptr) {
    MdCtx ctx(EVP_MD_CTX_new());
    unsigned char sig[kSignatureSize];
    size_t sig_len = sizeof sig;
    if (!ctx ||
        EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key->impl().key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const unsigned char*>(out.data()),
                       out.size()) != 1 ||
        sig_len != kSignatureSize) {
      return Error{"Ed25519 signing failed"};
    }
    out.append(reinterpret_cast<const char*>(sig), sig_len);
  }
  return out;
}

TrustPolicy::TrustPolicy() : impl_(std::make_shared<Impl>()) {}

Result<TrustPolicy> TrustPolicy::load(const std::vector<fs::path>& key_files,
                                      const fs::path& allowlist_file) {
  auto impl = std::make_shared<Impl>();
  for (const auto& file : key_files) {
    auto text = readKeyFile(file);
    if (!text.ok()) return Error{"trusted key " + text.error().message};
    Bio bio(BIO_new_mem_buf(text.value().data(), static_cast<int>(text.value().size())));
    Impl::Key k;
    k.key.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    if (!k.key || EVP_PKEY_get_id(k.key.get()) != EVP_PKEY_ED25519) {
      return Error{"trusted key " + file.string() +
                   ": not an Ed25519 public key in PEM (jinn keygen's NAME.pub)"};
    }
    auto id = keyId(k.key.get());
    if (!id) return Error{"trusted key " + file.string() + ": unreadable public key"};
    k.id = *id;
    k.file = file.string();
    impl->keys.push_back(std::move(k));
  }
  if (!allowlist_file.empty()) {
    auto text = util::readWholeFile(allowlist_file);
    if (!text.ok()) return Error{"artifact allow-list " + text.error().message};
    std::istringstream lines(text.value());
    std::string line;
    for (int number = 1; std::getline(lines, line); ++number) {
      std::istringstream words(line);
      std::string word;
      if (!(words >> word) || word[0] == '#') continue;
      Digest d{};
      if (!unhex(word, &d)) {
        return Error{allowlist_file.string() + ":" + std::to_string(number) +
                     ": not a hex SHA-256: '" + word + "'"};
      }
      impl->allowed.insert(hex(d));
    }
  }
  return TrustPolicy(std::move(impl));
}

Result<Verified> verify(std::string_view file, const TrustPolicy& trust, std::string_view name) {
  const std::string who(name);
  if (!hasMagic(file)) {
    if (file.substr(0, 4) == std::string_view("\0asm", 4)) {
      return Error{who +
                   ": not a jinn artifact (this is a wasm module; build an artifact with "
                   "`jinn compile FILE --output ART --sign-key KEY`)"};
    }
    return Error{who + ": not a jinn artifact"};
  }
  if (file.size() < kHeaderSize) {
    return Error{who + ": artifact is truncated (" + std::to_string(file.size()) + " bytes)"};
  }
  const uint32_t format = getU32(file, kOffFormat);
  if (format != kFormatVersion) {
    return Error{who + ": artifact format v" + std::to_string(format) +
                 " is not supported, this engine reads v" + std::to_string(kFormatVersion)};
  }
  const uint32_t abi = getU32(file, kOffAbi);
  if (abi != JINN_ABI_VERSION) {
    return Error{who + ": artifact built for engine ABI v" + std::to_string(abi) + ", this is v" +
                 std::to_string(JINN_ABI_VERSION)};
  }
  const uint64_t so_size = getU64(file, kOffSoSize);
  const uint32_t sig_size = getU32(file, kOffSigSize);
  if ((sig_size != 0 && sig_size != kSignatureSize) || getU32(file, kOffReserved) != 0 ||
      so_size == 0) {
    return Error{who + ": artifact was modified (invalid header)"};
  }
  const uint64_t body = file.size() - kHeaderSize;
  if (so_size > body || body - so_size < sig_size) {
    return Error{who + ": artifact is truncated (" + std::to_string(file.size()) + " of " +
                 std::to_string(kHeaderSize + so_size + sig_size) + " bytes)"};
  }
  if (body - so_size > sig_size) {
    return Error{who + ": artifact was modified (" + std::to_string(body - so_size - sig_size) +
                 " unexpected trailing bytes)"};
  }
  Verified v;
  v.so = file.substr(kHeaderSize, so_size);
  const Digest so_hash = sha256(v.so);
  if (std::memcmp(so_hash.data(), file.data() + kOffSoHash, 32) != 0) {
    return Error{who + ": artifact was modified (hash mismatch of the compiled code)"};
  }
  v.so_hash = hex(so_hash);
  v.wasm_hash = hex(reinterpret_cast<const unsigned char*>(file.data()) + kOffWasmHash, 32);
  v.file_hash = sha256Hex(file);

  const TrustPolicy::Impl& policy = trust.impl();
  if (policy.allowed.count(v.file_hash) != 0) return v;
  if (sig_size == 0) {
    return Error{who + ": artifact is not signed by a trusted key (it is unsigned and its sha256 " +
                 v.file_hash + " is not in the allow-list)"};
  }
  const std::string_view signer = file.substr(kOffSigner, 32);
  const std::string signer_hex = hex(reinterpret_cast<const unsigned char*>(signer.data()), 16);
  for (const auto& key : policy.keys) {
    if (std::memcmp(key.id.data(), signer.data(), 32) != 0) continue;
    MdCtx ctx(EVP_MD_CTX_new());
    const std::string_view message = file.substr(0, kHeaderSize + so_size);
    const std::string_view sig = file.substr(kHeaderSize + so_size, sig_size);
    const bool ok =
        ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.key.get()) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                         reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1;
    if (!ok) {
      return Error{who + ": artifact was modified (its signature does not verify with " + key.file +
                   ")"};
    }
    return v;
  }
  return Error{who + ": artifact is not signed by a trusted key (signed by key " + signer_hex +
               "..., which is not among the " + std::to_string(policy.keys.size()) +
               " trusted keys)"};
}

}  // namespace jinn::artifact
