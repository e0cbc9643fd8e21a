// The module loader (src/engine/elf_image.h): a genuine compiled object maps
// with the right protections and exports its descriptor; anything else is
// refused with a reason, and no input (truncated, patched, randomly
// mutated) crashes it or leaves a mapping behind. Code is never run here.
#include "engine/elf_image.h"

#include <elf.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "jinn/jinn.h"
#include "runtime/abi.h"
#include "util/text.h"

namespace fs = std::filesystem;
using jinn::engine::ElfImage;

namespace {

constexpr const char* kWat = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "elf image test\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 15))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
)";

// The protections /proc/self/maps shows for the page holding `address`.
std::string protectionsAt(const void* address) {
  const auto a = reinterpret_cast<uintptr_t>(address);
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    uintptr_t lo = 0, hi = 0;
    char perms[5] = {};
    if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) == 3 && a >= lo && a < hi) {
      return perms;
    }
  }
  return "";
}

class ElfImageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (fs::temp_directory_path() / "jinn_elf_image_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    jinn::EngineConfig config;
    config.cache_dir = root_ / "cache";
    auto engine = jinn::Engine::create(config);
    ASSERT_TRUE(engine.ok()) << engine.error().message;
    auto m = engine.value()->loadBytes(kWat, "elf_image_test");
    ASSERT_TRUE(m.ok()) << m.error().message;
    auto so = jinn::util::readWholeFile(m.value()->artifactPath());
    ASSERT_TRUE(so.ok()) << so.error().message;
    so_ = std::move(so.value());
    ASSERT_GT(so_.size(), sizeof(Elf64_Ehdr));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static Elf64_Ehdr header(const std::string& so) {
    Elf64_Ehdr eh;
    std::memcpy(&eh, so.data(), sizeof eh);
    return eh;
  }
  static Elf64_Phdr phdr(const std::string& so, size_t i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, so.data() + header(so).e_phoff + i * sizeof ph, sizeof ph);
    return ph;
  }
  static void setPhdr(std::string& so, size_t i, const Elf64_Phdr& ph) {
    std::memcpy(so.data() + header(so).e_phoff + i * sizeof ph, &ph, sizeof ph);
  }
  // The index of the first program header of `type`, or -1.
  static int find(const std::string& so, uint32_t type, uint32_t flags_set = 0) {
    for (size_t i = 0; i < header(so).e_phnum; ++i) {
      const Elf64_Phdr ph = phdr(so, i);
      if (ph.p_type == type && (ph.p_flags & flags_set) == flags_set) return static_cast<int>(i);
    }
    return -1;
  }

  // so_ with the first program header of `type` (having `flags_set`) changed by `change`.
  template <typename F>
  static std::string withPhdr(uint32_t type, uint32_t flags_set, F change) {
    const int i = find(so_, type, flags_set);
    EXPECT_GE(i, 0) << "no program header of type " << type;
    std::string s = so_;
    if (i < 0) return s;
    Elf64_Phdr ph = phdr(s, i);
    change(ph);
    setPhdr(s, i, ph);
    return s;
  }

  // `bytes` must be refused with `reason` in a message that names the object.
  static void expectRefused(const std::string& bytes, const std::string& reason) {
    const size_t live = ElfImage::live();
    auto image = ElfImage::load(bytes, "patched.so");
    ASSERT_FALSE(image.ok()) << "accepted; expected: " << reason;
    EXPECT_NE(image.error().message.find(reason), std::string::npos) << image.error().message;
    EXPECT_NE(image.error().message.find("patched.so"), std::string::npos) << image.error().message;
    EXPECT_EQ(ElfImage::live(), live) << "a refused object left its mapping";
  }

  static inline fs::path root_;
  static inline std::string so_;
};

TEST_F(ElfImageTest, GenuineObjectMapsWithItsProtectionsAndExportsItsDescriptor) {
  const size_t live = ElfImage::live();
  {
    auto image = ElfImage::load(so_, "genuine.so");
    ASSERT_TRUE(image.ok()) << image.error().message;
    EXPECT_EQ(ElfImage::live(), live + 1);
    const ElfImage& im = *image.value();
    const auto* desc = static_cast<const jinn_module_desc*>(im.symbol(JINN_MODULE_SYMBOL));
    ASSERT_NE(desc, nullptr);
    EXPECT_EQ(desc->abi_version, JINN_ABI_VERSION);
    EXPECT_EQ(im.symbol("no_such_symbol"), nullptr);
    EXPECT_EQ(im.symbol(std::string(JINN_MODULE_SYMBOL) + "x"), nullptr);
    // Its relocated pointers point into the image.
    const auto* bind = reinterpret_cast<const unsigned char*>(desc->bind);
    EXPECT_GE(bind, im.base());
    EXPECT_LT(bind, im.base() + im.size());
    // Code is executable and not writable; the descriptor (RELRO) is read-only.
    EXPECT_EQ(protectionsAt(bind).substr(0, 3), "r-x");
    EXPECT_EQ(protectionsAt(desc).substr(0, 3), "r--");
    // No page of it is both writable and executable.
    for (size_t off = 0; off < im.size(); off += 4096) {
      EXPECT_NE(protectionsAt(im.base() + off).substr(0, 3), "rwx") << "page " << off / 4096;
    }
  }
  EXPECT_EQ(ElfImage::live(), live) << "the image is unmapped with its owner";

  // For the record, not asserted (machines differ): a load and an unload.
  constexpr int kLoads = 2000;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kLoads; ++i) ASSERT_TRUE(ElfImage::load(so_, "genuine.so").ok());
  const auto t1 = std::chrono::steady_clock::now();
  std::printf("load + unload of a %zu-byte module: %.1f us\n", so_.size(),
              std::chrono::duration<double, std::micro>(t1 - t0).count() / kLoads);
}

TEST_F(ElfImageTest, PerfMapNamesGuestFunctionsOnlyWhenAsked) {
  const fs::path map = ElfImage::perfMapPath();
  ASSERT_FALSE(fs::exists(map)) << map << " exists already";
  ASSERT_TRUE(ElfImage::load(so_, "quiet.so").ok());
  EXPECT_FALSE(fs::exists(map)) << "written without JINN_PERF_MAP";

  ::setenv("JINN_PERF_MAP", "1", 1);
  auto image = ElfImage::load(so_, "profiled\n.so");
  ::unsetenv("JINN_PERF_MAP");
  ASSERT_TRUE(image.ok()) << image.error().message;
  std::ifstream in(map);
  int inside = 0, lines = 0;
  bool start = false;
  for (std::string line; std::getline(in, line); ++lines) {
    unsigned long addr = 0, size = 0;
    char name[256] = {};
    ASSERT_EQ(std::sscanf(line.c_str(), "%lx %lx %255s", &addr, &size, name), 3) << line;
    const auto* p = reinterpret_cast<const unsigned char*>(addr);
    if (p >= image.value()->base() && p + size <= image.value()->base() + image.value()->size()) {
      ++inside;
    }
    if (std::string(name) == "w2c__start") start = true;
    EXPECT_NE(line.find("[profiled?.so]"), std::string::npos) << "one line per entry: " << line;
  }
  EXPECT_GT(lines, 10);
  EXPECT_EQ(inside, lines) << "every symbol lies inside the image";
  EXPECT_TRUE(start) << "the module's _start is named";
  fs::remove(map);
}

TEST_F(ElfImageTest, RefusesWhatIsNotALoadableModule) {
  expectRefused("", "too short");
  expectRefused("hello, I am not an ELF file at all, but I am long enough to pass the size "
                "check of a header",
                "no ELF magic");
  expectRefused(so_.substr(0, 40), "too short");
  {
    std::string s = so_;
    s[EI_CLASS] = ELFCLASS32;
    expectRefused(s, "64-bit");
  }
  {
    std::string s = so_;
    Elf64_Ehdr eh = header(s);
    eh.e_type = ET_EXEC;
    std::memcpy(s.data(), &eh, sizeof eh);
    expectRefused(s, "not a shared object");
  }
  {
    std::string s = so_;
    Elf64_Ehdr eh = header(s);
    eh.e_machine = eh.e_machine == EM_X86_64 ? EM_AARCH64 : EM_X86_64;
    std::memcpy(s.data(), &eh, sizeof eh);
    expectRefused(s, "another machine");
  }
  {
    std::string s = so_;
    Elf64_Ehdr eh = header(s);
    eh.e_phoff = s.size() - 8;
    std::memcpy(s.data(), &eh, sizeof eh);
    expectRefused(s, "program headers out of bounds");
  }
  expectRefused(withPhdr(PT_LOAD, 0, [](Elf64_Phdr& ph) { ph.p_filesz = ph.p_memsz + 1; }),
                "outside the file");
  expectRefused(withPhdr(PT_LOAD, 0, [](Elf64_Phdr& ph) { ph.p_memsz = uint64_t{1} << 40; }),
                "too large");
  expectRefused(withPhdr(PT_LOAD, PF_W, [](Elf64_Phdr& ph) { ph.p_flags |= PF_X; }),
                "both writable and executable");
  expectRefused(withPhdr(PT_GNU_STACK, 0, [](Elf64_Phdr& ph) { ph.p_type = PT_TLS; }),
                "thread-local storage");
  expectRefused(withPhdr(PT_DYNAMIC, 0, [](Elf64_Phdr& ph) { ph.p_type = PT_NOTE; }),
                "no dynamic section");
}

TEST_F(ElfImageTest, AnUndefinedSymbolIsNamedAndAMissingWeakOneIsNull) {
  // The object calls libc's __assert_fail (a strong reference) and may name
  // __cxa_finalize (weak). Renaming them in the string table: the strong one
  // must be found or refused by name, the weak one resolves to null.
  const size_t at = so_.find(std::string("__assert_fail") + '\0');
  ASSERT_NE(at, std::string::npos);
  std::string s = so_;
  s[at + 12] = 'X';
  expectRefused(s, "undefined symbol __assert_faiX");

  const size_t weak = so_.find(std::string("__cxa_finalize") + '\0');
  if (weak != std::string::npos) {
    std::string w = so_;
    w[weak + 13] = 'X';
    auto image = ElfImage::load(w, "weak.so");
    EXPECT_TRUE(image.ok()) << image.error().message;
  }
}

TEST_F(ElfImageTest, TruncatedOrMutatedObjectsNeverCrashOrLeak) {
  const size_t live = ElfImage::live();
  for (size_t n = 0; n < so_.size(); n += 61) {
    auto image = ElfImage::load(so_.substr(0, n), "truncated.so");
    // A prefix that still holds every segment may load; most must not.
    if (!image.ok()) {
      EXPECT_FALSE(image.error().message.empty());
    }
  }
  std::mt19937_64 rng(20261202);  // fixed: a failure is reproducible
  size_t refused = 0, loaded = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string s = so_;
    const int flips = 1 + static_cast<int>(rng() % 8);
    // Mostly the headers and dynamic data (the first 4 KiB and the last
    // page), where a wrong value changes what the loader does.
    for (int f = 0; f < flips; ++f) {
      size_t at = rng() % s.size();
      if (rng() % 4 != 0) at = (rng() % 2 == 0) ? rng() % std::min<size_t>(4096, s.size())
                                                : s.size() - 1 - rng() % std::min<size_t>(4096, s.size());
      s[at] = static_cast<char>(rng());
    }
    auto image = ElfImage::load(s, "mutated.so");
    image.ok() ? ++loaded : ++refused;
  }
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(ElfImage::live(), live) << "every image is unmapped when dropped";
  std::printf("mutations: %zu refused, %zu loaded (not run)\n", refused, loaded);
}

}  // namespace
