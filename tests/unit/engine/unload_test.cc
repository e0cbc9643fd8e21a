// Unloading (issue 5): a module's image (src/engine/elf_image.h) is unmapped
// when its last Module goes; a call in flight keeps it mapped. The process's
// mappings, descriptors, module images and loaded objects are counted before
// and after many load / call / drop rounds: they must come back to where they
// were, or the server's RSS grows with every function ever called.
#include <gtest/gtest.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/artifact.h"
#include "engine/elf_image.h"
#include "jinn/jinn.h"
#include "../../guests/slow_wat.h"

namespace fs = std::filesystem;
using jinn::Engine;
using jinn::EngineConfig;
using jinn::Module;
using jinn::Outcome;
using namespace std::chrono_literals;

namespace {

// A module that writes "answer <n>\n": one source, a different constant each,
// so every n is a distinct module with its own compiled code.
std::string answerWat(int n) {
  const std::string text = "answer " + std::to_string(n) + "\n";
  return R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) ")" + text.substr(0, text.size() - 1) + R"(\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const )" + std::to_string(text.size()) + R"())
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
)";
}

struct Census {
  // File-backed lines of /proc/self/maps (a module's are; the allocator's,
  // which a sanitizer's quarantine makes grow, are not).
  int maps = 0;
  int fds = 0;           // entries of /proc/self/fd
  int objects = 0;       // objects known to the dynamic linker
  size_t images = 0;     // module images mapped by the engine
  long rss_kb = 0;
};

Census census() {
  Census c;
  c.images = jinn::engine::ElfImage::live();
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    if (line.find('/') != std::string::npos) ++c.maps;
  }
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    ++c.fds;
  }
  dl_iterate_phdr(
      [](dl_phdr_info*, size_t, void* count) {
        ++*static_cast<int*>(count);
        return 0;
      },
      &c.objects);
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) c.rss_kb = std::stol(line.substr(6));
  }
  return c;
}

// Kept mapped, each distinct module loaded costs ~27 KiB; a few hundred
// loads must not show. Not under AddressSanitizer, whose quarantine keeps
// freed memory resident on purpose.
void expectRssFlat(const Census& before, const Census& after) {
#if defined(__SANITIZE_ADDRESS__)
  std::printf("RSS %ld -> %ld KiB (ASan: not checked)\n", before.rss_kb, after.rss_kb);
#else
  EXPECT_LT(after.rss_kb - before.rss_kb, 1024) << before.rss_kb << " -> " << after.rss_kb;
#endif
}

int mappingsOf(const fs::path& file) {
  std::ifstream maps("/proc/self/maps");
  int n = 0;
  for (std::string line; std::getline(maps, line);) {
    if (line.find(file.string()) != std::string::npos) ++n;
  }
  return n;
}

std::string callOnce(const Module& module) {
  jinn::CallOptions options;
  options.args = {"f"};
  jinn::CallResult r = module.call(options);
  EXPECT_EQ(r.outcome, Outcome::kExited) << r.message;
  return r.stdout_data;
}

class UnloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "jinn_unload_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::shared_ptr<Engine> engine(EngineConfig config = {}) {
    config.cache_dir = root_ / "cache";
    auto e = Engine::create(config);
    EXPECT_TRUE(e.ok()) << e.error().message;
    return e.ok() ? e.value() : nullptr;
  }
  fs::path root_;
};

constexpr int kModules = 4;
constexpr int kRounds = 300;

TEST_F(UnloadTest, DroppedModulesAreUnmappedAndLoadAgain) {
  auto e = engine();
  ASSERT_TRUE(e);
  // Compile every module once and run each once: the cache is warm, the
  // runtime's per-thread state and the allocator's arenas exist.
  std::vector<fs::path> so(kModules);
  const size_t images = jinn::engine::ElfImage::live();
  for (int i = 0; i < kModules; ++i) {
    auto m = e->loadBytes(answerWat(i), "answer" + std::to_string(i));
    ASSERT_TRUE(m.ok()) << m.error().message;
    EXPECT_EQ(callOnce(*m.value()), "answer " + std::to_string(i) + "\n");
    so[i] = m.value()->artifactPath();
    EXPECT_EQ(jinn::engine::ElfImage::live(), images + 1);
    EXPECT_EQ(mappingsOf(so[i]), 0) << "the engine maps a copy, never the file";
  }
  EXPECT_EQ(jinn::engine::ElfImage::live(), images);

  const Census before = census();
  for (int round = 0; round < kRounds; ++round) {
    const int i = round % kModules;
    auto m = e->loadBytes(answerWat(i), "answer" + std::to_string(i));
    ASSERT_TRUE(m.ok()) << m.error().message;
    ASSERT_EQ(callOnce(*m.value()), "answer " + std::to_string(i) + "\n");
  }
  const Census after = census();
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_EQ(after.objects, before.objects);
  EXPECT_EQ(after.images, before.images);
  expectRssFlat(before, after);
}

TEST_F(UnloadTest, ModulesOfOneFileShareOneLoadUntilTheLastGoes) {
  auto e = engine();
  ASSERT_TRUE(e);
  auto a = e->loadBytes(answerWat(7), "a");
  ASSERT_TRUE(a.ok()) << a.error().message;
  const Census one = census();
  auto b = e->loadBytes(answerWat(7), "b");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(census().images, one.images);  // the same library, not a second copy
  a.value().reset();
  EXPECT_EQ(census().images, one.images);  // b still holds it
  EXPECT_EQ(callOnce(*b.value()), "answer 7\n");
  b.value().reset();
  EXPECT_EQ(census().images, one.images - 1);
}

TEST_F(UnloadTest, CallInFlightKeepsItsModuleUntilItEnds) {
  auto e = engine();
  ASSERT_TRUE(e);
  auto loaded = e->loadBytes(jinn::test::slowWat(300, "done\n"), "slow");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  std::shared_ptr<Module> module = std::move(loaded.value());
  const size_t images = jinn::engine::ElfImage::live();
  std::atomic<bool> started{false};
  std::string out;
  std::thread caller([&, held = module] {
    started = true;
    out = callOnce(*held);
  });
  while (!started) std::this_thread::yield();
  module.reset();  // the engine's user lets go mid-call (the LRU evicts it)
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(jinn::engine::ElfImage::live(), images);  // still running in it
  caller.join();
  EXPECT_EQ(out, "done\n");
  EXPECT_EQ(jinn::engine::ElfImage::live(), images - 1);  // gone with the call's reference
}

class UnloadArtifactTest : public UnloadTest {
 protected:
  // Artifacts of answerWat(n), allow-listed by hash, written under root_.
  std::vector<fs::path> artifacts(int count, EngineConfig* host) {
    auto build = engine();
    std::vector<fs::path> files;
    std::ofstream allow(root_ / "allow.txt");
    for (int i = 0; i < count; ++i) {
      auto m = build->loadBytes(answerWat(100 + i), "artifact");
      EXPECT_TRUE(m.ok()) << m.error().message;
      if (!m.ok()) return {};
      std::ifstream so_in(m.value()->artifactPath(), std::ios::binary);
      const std::string so((std::istreambuf_iterator<char>(so_in)), {});
      auto built = jinn::artifact::build(so, m.value()->hash(), nullptr);
      EXPECT_TRUE(built.ok()) << built.error().message;
      if (!built.ok()) return {};
      const fs::path file = root_ / ("f" + std::to_string(i) + ".jart");
      std::ofstream(file, std::ios::binary) << built.value();
      allow << jinn::artifact::sha256Hex(built.value()) << "\n";
      files.push_back(file);
    }
    host->artifact_allowlist = root_ / "allow.txt";
    return files;
  }
};

TEST_F(UnloadArtifactTest, DroppedArtifactsAreUnmappedAndEachRunsItsOwnCode) {
  EngineConfig host_config;
  host_config.c_compiler = "/nonexistent/cc";  // a host without a compiler
  host_config.translator = "/nonexistent/wasm2c";
  const std::vector<fs::path> files = artifacts(3, &host_config);
  ASSERT_EQ(files.size(), 3u);
  // A second cache dir: nothing of the build engine's cache is visible.
  host_config.cache_dir = root_ / "host_cache";
  auto created = Engine::create(host_config);
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto host = created.value();
  for (const auto& f : files) {  // warm: this thread's guest state, the allocator
    auto m = host->loadFile(f);
    ASSERT_TRUE(m.ok()) << m.error().message;
    callOnce(*m.value());
  }

  const Census before = census();
  for (int round = 0; round < kRounds; ++round) {
    const int i = round % 3;
    auto m = host->loadFile(files[i]);
    ASSERT_TRUE(m.ok()) << m.error().message;
    // A reused address must never hand back an earlier artifact's code.
    ASSERT_EQ(callOnce(*m.value()), "answer " + std::to_string(100 + i) + "\n") << round;
    EXPECT_EQ(census().images, before.images + 1);
  }
  const Census after = census();
  EXPECT_EQ(after.images, before.images);
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.fds, before.fds);
  EXPECT_EQ(after.objects, before.objects);
  expectRssFlat(before, after);
}

}  // namespace
