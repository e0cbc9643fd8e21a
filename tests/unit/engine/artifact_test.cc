// Precompiled artifacts (src/engine/artifact.h): built on a "build machine"
// engine that has a compiler, loaded by "host" engines whose compiler and
// translator do not exist. Every refusal is checked for its reason and for
// having mapped nothing: no new module image, no new object in glibc's list.
#include <gtest/gtest.h>
#include <link.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "engine/artifact.h"
#include "engine/elf_image.h"
#include "jinn/jinn.h"
#include "runtime/abi.h"

namespace fs = std::filesystem;
using jinn::Engine;
using jinn::EngineConfig;
using jinn::Module;
namespace artifact = jinn::artifact;

namespace {

fs::path guestPath(const std::string& name) { return fs::path(JINN_GUEST_DIR) / (name + ".wasm"); }

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void writeFile(const fs::path& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// What is loaded in this process: objects known to the dynamic linker, module
// images mapped by the engine, and mappings of files whose path contains
// `needle`.
struct Loaded {
  int objects = 0;
  size_t images = 0;
  int needle_maps = 0;
};

Loaded loadedNow(const std::string& needle) {
  Loaded l;
  l.images = jinn::engine::ElfImage::live();
  dl_iterate_phdr(
      [](dl_phdr_info*, size_t, void* count) {
        ++*static_cast<int*>(count);
        return 0;
      },
      &l.objects);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (!needle.empty() && line.find(needle) != std::string::npos) ++l.needle_maps;
  }
  return l;
}

class ArtifactTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "jinn_artifact_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    // The build machine: a real compiler.
    EngineConfig build;
    build.cache_dir = root_ / "build_cache";
    auto engine = Engine::create(build);
    ASSERT_TRUE(engine.ok()) << engine.error().message;
    for (const char* name : {"hello", "exit_code"}) {
      auto m = engine.value()->loadFile(guestPath(name));
      ASSERT_TRUE(m.ok()) << m.error().message;
      Compiled& c = compiled_[name];
      c.so = readFile(m.value()->artifactPath());
      c.wasm_hash = m.value()->hash();
      ASSERT_FALSE(c.so.empty());
    }
    ASSERT_TRUE(artifact::generateKeyPair(root_ / "ci").ok());
    ASSERT_TRUE(artifact::generateKeyPair(root_ / "stranger").ok());
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  struct Compiled {
    std::string so;
    std::string wasm_hash;
  };

  // The artifact bytes for a guest, signed by `key` ("" for unsigned).
  static std::string build(const std::string& guest, const std::string& key) {
    const Compiled& c = compiled_.at(guest);
    std::optional<artifact::SigningKey> signing;
    if (!key.empty()) {
      auto loaded = artifact::SigningKey::load(root_ / (key + ".key"));
      EXPECT_TRUE(loaded.ok()) << loaded.error().message;
      if (!loaded.ok()) return {};
      signing = std::move(loaded.value());
    }
    auto built = artifact::build(c.so, c.wasm_hash, signing ? &*signing : nullptr);
    EXPECT_TRUE(built.ok()) << built.error().message;
    return built.ok() ? built.value() : std::string();
  }

  static fs::path writeArtifact(const std::string& file, const std::string& bytes) {
    const fs::path path = root_ / file;
    writeFile(path, bytes);
    return path;
  }

  // A host with no compiler and no translator, trusting ci.pub (and the allow-list, if any).
  static std::shared_ptr<Engine> host(const fs::path& allowlist = {},
                                      std::vector<fs::path> keys = {root_ / "ci.pub"}) {
    EngineConfig config;
    config.cache_dir = root_ / "host_cache";
    config.c_compiler = "/nonexistent/cc";
    config.translator = "/nonexistent/wasm2c";
    config.trusted_keys = std::move(keys);
    config.artifact_allowlist = allowlist;
    auto engine = Engine::create(config);
    EXPECT_TRUE(engine.ok()) << engine.error().message;
    return engine.ok() ? engine.value() : nullptr;
  }

  // Loads `bytes` written to `file` on a fresh host and expects a refusal
  // containing `reason`, with nothing new loaded.
  static void expectRefused(const std::string& file, const std::string& bytes,
                            const std::string& reason) {
    const fs::path path = writeArtifact(file, bytes);
    auto engine = host();
    ASSERT_NE(engine, nullptr);
    const Loaded before = loadedNow(path.string());
    for (bool by_content : {true, false}) {
      auto m = by_content ? engine->loadFile(path) : engine->loadArtifact(path);
      ASSERT_FALSE(m.ok()) << file << " was accepted";
      EXPECT_NE(m.error().message.find(reason), std::string::npos)
          << file << ": expected '" << reason << "' in: " << m.error().message;
      EXPECT_NE(m.error().message.find(path.string()), std::string::npos)
          << "the error should name the file: " << m.error().message;
    }
    const Loaded after = loadedNow(path.string());
    EXPECT_EQ(after.objects, before.objects) << file << ": a shared object was loaded";
    EXPECT_EQ(after.images, before.images) << file << ": a module image was mapped";
    EXPECT_EQ(after.needle_maps, 0) << file << " is mapped";
  }

  static jinn::CallResult run(const Module& m, std::vector<std::string> args = {"g"}) {
    jinn::CallOptions o;
    o.args = std::move(args);
    return m.call(o);
  }

  static inline fs::path root_;
  static inline std::map<std::string, Compiled> compiled_;
};

TEST_F(ArtifactTest, SignedArtifactRunsOnAHostWithoutACompiler) {
  const fs::path path = writeArtifact("hello.jart", build("hello", "ci"));
  auto engine = host();
  ASSERT_NE(engine, nullptr);
  const Loaded before = loadedNow(path.string());
  const auto t0 = std::chrono::steady_clock::now();
  auto m = engine->loadFile(path);
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(m.ok()) << m.error().message;
  // For the record, not asserted (machines differ): read, hash, verify, map.
  std::cout << "load of a signed " << fs::file_size(path) / 1024
            << " KiB artifact: " << std::chrono::duration<double, std::micro>(t1 - t0).count()
            << " us\n";
  EXPECT_EQ(m.value()->hash(), compiled_["hello"].wasm_hash);
  EXPECT_EQ(m.value()->artifactPath(), fs::absolute(path));
  jinn::CallResult r = run(*m.value());
  EXPECT_EQ(r.outcome, jinn::Outcome::kExited) << r.message;
  EXPECT_EQ(r.stdout_data, "hello, world\n");
  // The code runs from the engine's own copy of the verified bytes, never
  // from the file on disk, and glibc's loader is not involved.
  const Loaded after = loadedNow(path.string());
  EXPECT_EQ(after.objects, before.objects);
  EXPECT_EQ(after.images, before.images + 1);
  EXPECT_EQ(after.needle_maps, 0);

  // Changing the file afterwards changes nothing that runs.
  writeFile(path, "overwritten");
  EXPECT_EQ(run(*m.value()).stdout_data, "hello, world\n");
}

TEST_F(ArtifactTest, EachArtifactRunsItsOwnCode) {
  // Two artifacts in turn on one host, and again on a second host: each
  // load must map its own bytes.
  const fs::path hello = writeArtifact("own_hello.jart", build("hello", "ci"));
  const fs::path exit_code = writeArtifact("own_exit.jart", build("exit_code", "ci"));
  for (int round = 0; round < 2; ++round) {
    auto engine = host();
    ASSERT_NE(engine, nullptr);
    auto a = engine->loadArtifact(hello);
    auto b = engine->loadArtifact(exit_code);
    ASSERT_TRUE(a.ok()) << a.error().message;
    ASSERT_TRUE(b.ok()) << b.error().message;
    EXPECT_EQ(run(*a.value()).stdout_data, "hello, world\n");
    jinn::CallResult r = run(*b.value(), {"exit_code", "7"});
    EXPECT_EQ(r.outcome, jinn::Outcome::kExited) << r.message;
    EXPECT_EQ(r.exit_code, 7);
    EXPECT_EQ(b.value()->hash(), compiled_["exit_code"].wasm_hash);
  }
}

TEST_F(ArtifactTest, FlippedByteInTheCodeIsRefused) {
  std::string bytes = build("hello", "ci");
  bytes[artifact::kHeaderSize + compiled_["hello"].so.size() / 2] ^= 0x01;
  expectRefused("flipped_code.jart", bytes, "artifact was modified (hash mismatch");
}

TEST_F(ArtifactTest, FlippedByteInTheHeaderIsRefused) {
  std::string bytes = build("hello", "ci");
  bytes[20] ^= 0x01;  // inside the wasm hash: only the signature can tell
  expectRefused("flipped_header.jart", bytes,
                "artifact was modified (its signature does not verify");
  std::string sig = build("hello", "ci");
  sig[sig.size() - 1] ^= 0x01;
  expectRefused("flipped_signature.jart", sig,
                "artifact was modified (its signature does not verify");
}

TEST_F(ArtifactTest, OtherEngineAbiIsRefused) {
  std::string bytes = build("hello", "ci");
  bytes[12] = static_cast<char>(JINN_ABI_VERSION + 1);
  expectRefused("other_abi.jart", bytes,
                "artifact built for engine ABI v" + std::to_string(JINN_ABI_VERSION + 1) +
                    ", this is v" + std::to_string(JINN_ABI_VERSION));
}

TEST_F(ArtifactTest, UntrustedSignerIsRefused) {
  expectRefused("stranger.jart", build("hello", "stranger"),
                "artifact is not signed by a trusted key");
}

TEST_F(ArtifactTest, UnsignedIsRefusedUnlessAllowListed) {
  const std::string bytes = build("hello", "");
  expectRefused("unsigned.jart", bytes, "artifact is not signed by a trusted key");

  // Allow-listed by its whole-file hash (sha256sum format), it loads.
  const fs::path path = writeArtifact("unsigned_ok.jart", bytes);
  const fs::path list = root_ / "allowed.txt";
  writeFile(list, "# build 42\n\n" + artifact::sha256Hex(bytes) + "  unsigned_ok.jart\n");
  auto engine = host(list, {});
  ASSERT_NE(engine, nullptr);
  auto m = engine->loadFile(path);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(run(*m.value()).stdout_data, "hello, world\n");
  // The allow-list names exact bytes: a signed variant of the same code is
  // not covered by it and there is no trusted key.
  const fs::path signed_path = writeArtifact("signed_not_listed.jart", build("hello", "ci"));
  auto other = engine->loadFile(signed_path);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("not signed by a trusted key"), std::string::npos)
      << other.error().message;
}

TEST_F(ArtifactTest, TruncatedAndPaddedFilesAreRefused) {
  const std::string bytes = build("hello", "ci");
  expectRefused("cut_signature.jart", bytes.substr(0, bytes.size() - 10), "artifact is truncated");
  expectRefused("cut_code.jart", bytes.substr(0, artifact::kHeaderSize + 1000),
                "artifact is truncated");
  expectRefused("cut_header.jart", bytes.substr(0, 40), "artifact is truncated");
  expectRefused("padded.jart", bytes + "x", "artifact was modified");
}

TEST_F(ArtifactTest, NonArtifactsAreRefused) {
  // A wasm renamed to .jart: loadArtifact refuses it by content; the
  // extension means nothing (loadFile would compile it, and this host can't).
  const fs::path renamed = writeArtifact("renamed.jart", readFile(guestPath("hello")));
  auto engine = host();
  ASSERT_NE(engine, nullptr);
  auto m = engine->loadArtifact(renamed);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("not a jinn artifact"), std::string::npos) << m.error().message;
  auto compiled = engine->loadFile(renamed);
  EXPECT_FALSE(compiled.ok()) << "no compiler on this host";

  // A bare shared object, even a genuine one, is never loaded.
  const Loaded before = loadedNow("bare.so");
  const fs::path bare = writeArtifact("bare.so", compiled_["hello"].so);
  for (auto result : {engine->loadFile(bare), engine->loadArtifact(bare)}) {
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.error().message.find("bare.so"), std::string::npos) << result.error().message;
  }
  EXPECT_EQ(loadedNow("bare.so").objects, before.objects);
  EXPECT_EQ(loadedNow("bare.so").images, before.images);
  EXPECT_EQ(loadedNow("bare.so").needle_maps, 0);
}

TEST_F(ArtifactTest, BadTrustInputsFailEngineCreation) {
  EngineConfig config;
  config.cache_dir = root_ / "host_cache";
  config.trusted_keys = {root_ / "ci.key"};  // a private key is not a public key
  auto e = Engine::create(config);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("ci.key"), std::string::npos) << e.error().message;

  config.trusted_keys = {root_ / "missing.pub"};
  e = Engine::create(config);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("missing.pub"), std::string::npos) << e.error().message;

  config.trusted_keys = {};
  const fs::path list = root_ / "bad_allowed.txt";
  writeFile(list, "# ok\nnot-a-hash\n");
  config.artifact_allowlist = list;
  e = Engine::create(config);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("bad_allowed.txt:2"), std::string::npos) << e.error().message;
}

TEST_F(ArtifactTest, KeygenWritesAPrivateKeyOnlyItsOwnerReads) {
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "ci.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(readFile(root_ / "ci.pub").find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_NE(readFile(root_ / "ci.key").find("BEGIN PRIVATE KEY"), std::string::npos);
  // Never overwrites a key.
  const std::string before = readFile(root_ / "ci.key");
  auto again = artifact::generateKeyPair(root_ / "ci");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("already exists"), std::string::npos);
  EXPECT_EQ(readFile(root_ / "ci.key"), before);
}

TEST_F(ArtifactTest, SigningKeyMustBeAnUnencryptedEd25519PrivateKey) {
  // A public key, an encrypted private key (refused, never a passphrase
  // prompt), and an RSA key.
  auto pub = artifact::SigningKey::load(root_ / "ci.pub");
  ASSERT_FALSE(pub.ok());
  EXPECT_NE(pub.error().message.find("ci.pub"), std::string::npos) << pub.error().message;

  EVP_PKEY* ed = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  ASSERT_NE(ed, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  static char pass[] = "secret";
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, ed, EVP_aes_256_cbc(), nullptr, 0, nullptr, pass), 1);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  writeFile(root_ / "encrypted.key", std::string(data, static_cast<size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(ed);
  auto encrypted = artifact::SigningKey::load(root_ / "encrypted.key");
  ASSERT_FALSE(encrypted.ok());
  EXPECT_NE(encrypted.error().message.find("unencrypted Ed25519"), std::string::npos)
      << encrypted.error().message;

  EVP_PKEY* rsa = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  ASSERT_NE(rsa, nullptr);
  bio = BIO_new(BIO_s_mem());
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio, rsa, nullptr, nullptr, 0, nullptr, nullptr), 1);
  len = BIO_get_mem_data(bio, &data);
  writeFile(root_ / "rsa.key", std::string(data, static_cast<size_t>(len)));
  BIO_free(bio);
  EVP_PKEY_free(rsa);
  EXPECT_FALSE(artifact::SigningKey::load(root_ / "rsa.key").ok());
}

}  // namespace
