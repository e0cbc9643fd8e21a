// Unit tests of the WASI file system on preopened directories: every path_*
// and fd_* function against a real host tree, with the error cases, hostile
// paths and races. Each test also checks that nothing outside the writable
// preopen changed: the read-only tree and a sibling "outside" directory are
// snapshotted before and compared after.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "wasi/abi.h"
#include "wasi/errno.h"
#include "wasi/types.h"
#include "wasi/wasi.h"

namespace jinn::wasi {
namespace {

namespace fs = std::filesystem;

constexpr u32 kOk = 0;
constexpr u32 kBadf = toWasm(Errno::kBadf);
constexpr u32 kBusy = toWasm(Errno::kBusy);
constexpr u32 kExist = toWasm(Errno::kExist);
constexpr u32 kFault = toWasm(Errno::kFault);
constexpr u32 kIlseq = toWasm(Errno::kIlseq);
constexpr u32 kInval = toWasm(Errno::kInval);
constexpr u32 kIsdir = toWasm(Errno::kIsdir);
constexpr u32 kLoop = toWasm(Errno::kLoop);
constexpr u32 kMfile = toWasm(Errno::kMfile);
constexpr u32 kNoent = toWasm(Errno::kNoent);
constexpr u32 kNotdir = toWasm(Errno::kNotdir);
constexpr u32 kNotempty = toWasm(Errno::kNotempty);
constexpr u32 kNotsup = toWasm(Errno::kNotsup);
constexpr u32 kPerm = toWasm(Errno::kPerm);

constexpr u32 kRo = 3;  // preopen "/ro", read-only
constexpr u32 kRw = 4;  // preopen "/rw", writable

std::string readHost(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Every entry beneath `root` with its type, size, mtime and link target.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    struct stat st {};
    EXPECT_EQ(lstat(it->path().c_str(), &st), 0) << it->path();
    std::string v = std::to_string(st.st_mode) + "/" + std::to_string(st.st_size) + "/" +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                    "/" + std::to_string(st.st_nlink);
    if (S_ISLNK(st.st_mode)) v += "->" + fs::read_symlink(it->path()).string();
    out[fs::relative(it->path(), root).string()] = v;
  }
  return out;
}

size_t openHostFds() {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

class FsTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kMemSize = 1 << 20;
  static constexpr uint32_t kPathA = 3000;  // first path argument
  static constexpr uint32_t kPathB = 3500;  // second path argument
  static constexpr uint32_t kOut = 8;       // an out-parameter
  static constexpr uint32_t kStat = 128;    // a $filestat / $fdstat

  void SetUp() override {
    data_.assign(kMemSize, 0);
    mem_.data = data_.data();
    mem_.pages = kMemSize / 65536;
    mem_.max_pages = mem_.pages;
    mem_.size = kMemSize;
    ctx_.memory = &mem_;
    ctx_.preopens = &preopens_;
    char tmpl[] = "/tmp/jinn-wasi-fs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ro_ = root_ / "ro";
    rw_ = root_ / "rw";
    outside_ = root_ / "outside";
    fs::create_directories(ro_ / "sub");
    fs::create_directories(rw_ / "dir");
    fs::create_directories(rw_ / "full" / "child");
    fs::create_directories(outside_ / "nested");
    std::ofstream(ro_ / "file.txt") << "read only";
    std::ofstream(rw_ / "existing.txt") << "data";
    std::ofstream(rw_ / "dir" / "inner.txt") << "inner";
    std::ofstream(outside_ / "secret.txt") << "secret";
    std::ofstream(outside_ / "victim") << "keep me";
    fs::create_symlink("file.txt", ro_ / "link");
    fs::create_symlink("../outside", rw_ / "outlink");             // escapes, relative
    fs::create_symlink(outside_ / "secret.txt", rw_ / "abslink");  // escapes, absolute
    fs::create_symlink("../outside/secret.txt", rw_ / "evil");
    preopens_.push_back({ro_, "/ro", false});
    preopens_.push_back({rw_, "/rw", true});
    before_outside_ = snapshot(outside_);
    before_ro_ = snapshot(ro_);
  }

  void TearDown() override {
    // Nothing outside the writable preopen was touched.
    EXPECT_EQ(snapshot(outside_), before_outside_);
    EXPECT_EQ(snapshot(ro_), before_ro_);
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::pair<u32, u32> str(uint32_t at, std::string_view s) {
    std::memcpy(&data_[at], s.data(), s.size());
    return {at, static_cast<u32>(s.size())};
  }
  uint32_t u32At(uint32_t p) {
    uint32_t v;
    std::memcpy(&v, &data_[p], 4);
    return v;
  }
  uint64_t u64At(uint32_t p) {
    uint64_t v;
    std::memcpy(&v, &data_[p], 8);
    return v;
  }

  u32 open(u32 dir, std::string_view path, u32 oflags, uint64_t rights_base, u32 fdflags = 0,
           u32 lookup = kLookupSymlinkFollow) {
    auto [p, n] = str(kPathA, path);
    return path_open(ctx_, dir, lookup, p, n, oflags, rights_base, 0, fdflags, kOut);
  }
  // Opens and returns the fd, failing the test if the open fails.
  u32 openFd(u32 dir, std::string_view path, u32 oflags, uint64_t rights_base, u32 fdflags = 0) {
    u32 r = open(dir, path, oflags, rights_base, fdflags);
    EXPECT_EQ(r, kOk) << path;
    return r == kOk ? u32At(kOut) : UINT32_MAX;
  }
  u32 mkdir(u32 dir, std::string_view path) {
    auto [p, n] = str(kPathA, path);
    return path_create_directory(ctx_, dir, p, n);
  }
  u32 rmdir(u32 dir, std::string_view path) {
    auto [p, n] = str(kPathA, path);
    return path_remove_directory(ctx_, dir, p, n);
  }
  u32 unlink(u32 dir, std::string_view path) {
    auto [p, n] = str(kPathA, path);
    return path_unlink_file(ctx_, dir, p, n);
  }
  u32 rename(u32 from_dir, std::string_view from, u32 to_dir, std::string_view to) {
    auto [p, n] = str(kPathA, from);
    auto [q, m] = str(kPathB, to);
    return path_rename(ctx_, from_dir, p, n, to_dir, q, m);
  }
  u32 link(u32 from_dir, std::string_view from, u32 to_dir, std::string_view to, u32 lookup = 0) {
    auto [p, n] = str(kPathA, from);
    auto [q, m] = str(kPathB, to);
    return path_link(ctx_, from_dir, lookup, p, n, to_dir, q, m);
  }
  u32 symlink(std::string_view target, u32 dir, std::string_view path) {
    auto [p, n] = str(kPathA, target);
    auto [q, m] = str(kPathB, path);
    return path_symlink(ctx_, p, n, dir, q, m);
  }
  u32 setTimes(u32 dir, std::string_view path, uint64_t atim, uint64_t mtim, u32 fst,
               u32 lookup = kLookupSymlinkFollow) {
    auto [p, n] = str(kPathA, path);
    return path_filestat_set_times(ctx_, dir, lookup, p, n, atim, mtim, fst);
  }
  u32 stat(u32 dir, std::string_view path, u32 lookup = 0) {
    auto [p, n] = str(kPathA, path);
    return path_filestat_get(ctx_, dir, lookup, p, n, kStat);
  }
  u32 write(u32 fd, std::string_view s) {
    str(5000, s);
    put32(16, 5000);
    put32(20, static_cast<u32>(s.size()));
    return fd_write(ctx_, fd, 16, 1, kOut);
  }
  // Reads up to 100 bytes; the bytes read, or "<errno N>".
  std::string read(u32 fd) {
    put32(16, 6000);
    put32(20, 100);
    u32 r = fd_read(ctx_, fd, 16, 1, kOut);
    if (r != kOk) return "<errno " + std::to_string(r) + ">";
    return std::string(&data_[6000], &data_[6000] + u32At(kOut));
  }
  void put32(uint32_t p, uint32_t v) { std::memcpy(&data_[p], &v, 4); }

  std::vector<uint8_t> data_;
  wasm_rt_memory_t mem_{};
  std::vector<Preopen> preopens_;
  Context ctx_;
  fs::path root_, ro_, rw_, outside_;
  std::map<std::string, std::string> before_outside_, before_ro_;
};

TEST_F(FsTest, CreateAndRemoveDirectory) {
  EXPECT_EQ(mkdir(kRw, "a"), kOk);
  EXPECT_TRUE(fs::is_directory(rw_ / "a"));
  EXPECT_EQ(mkdir(kRw, "a"), kExist);
  EXPECT_EQ(mkdir(kRw, "a/b/c"), kNoent);
  EXPECT_EQ(mkdir(kRw, "existing.txt/x"), kNotdir);
  EXPECT_EQ(mkdir(kRw, "a//b//"), kOk);  // extra and trailing slashes
  EXPECT_TRUE(fs::is_directory(rw_ / "a" / "b"));
  EXPECT_EQ(mkdir(kRw, ""), kNoent);
  EXPECT_EQ(mkdir(kRw, "."), kExist);
  EXPECT_EQ(mkdir(kRw, "existing.txt"), kExist);
  EXPECT_EQ(rmdir(kRw, "a"), kNotempty);
  EXPECT_EQ(rmdir(kRw, "a/b/"), kOk);
  EXPECT_EQ(rmdir(kRw, "a"), kOk);
  EXPECT_FALSE(fs::exists(rw_ / "a"));
  EXPECT_EQ(rmdir(kRw, "a"), kNoent);
  EXPECT_EQ(rmdir(kRw, "full"), kNotempty);
  EXPECT_EQ(rmdir(kRw, "existing.txt"), kNotdir);
  EXPECT_EQ(rmdir(kRw, "."), kInval);
  EXPECT_EQ(rmdir(kRw, "dir/.."), kNotempty);  // the preopen itself
  EXPECT_EQ(rmdir(kRw, ".."), kPerm);          // the preopen's parent: outside
  EXPECT_EQ(rmdir(kRw, "outlink"), kNotdir);   // a symlink is not followed
  // Not a directory fd, closed, unknown; bad strings.
  u32 file = openFd(kRw, "existing.txt", 0, rights::kFdRead);
  EXPECT_EQ(mkdir(file, "x"), kBadf);
  EXPECT_EQ(mkdir(1, "x"), kBadf);
  EXPECT_EQ(mkdir(99, "x"), kBadf);
  EXPECT_EQ(mkdir(kRw, "\xff"), kIlseq);
  EXPECT_EQ(path_create_directory(ctx_, kRw, kMemSize - 2, 10), kFault);
  EXPECT_EQ(rmdir(kRw, std::string("a\0b", 3)), kInval);
}

TEST_F(FsTest, ReadOnlyPreopenRefusesEveryChange) {
  EXPECT_EQ(mkdir(kRo, "new"), kPerm);
  EXPECT_EQ(rmdir(kRo, "sub"), kPerm);
  EXPECT_EQ(unlink(kRo, "file.txt"), kPerm);
  EXPECT_EQ(rename(kRo, "file.txt", kRo, "moved"), kPerm);
  EXPECT_EQ(rename(kRo, "file.txt", kRw, "moved"), kPerm);
  EXPECT_EQ(rename(kRw, "existing.txt", kRo, "moved"), kPerm);
  EXPECT_EQ(link(kRo, "file.txt", kRw, "hard"), kPerm);
  EXPECT_EQ(link(kRw, "existing.txt", kRo, "hard"), kPerm);
  EXPECT_EQ(symlink("file.txt", kRo, "s"), kPerm);
  EXPECT_EQ(setTimes(kRo, "file.txt", 0, 0, kFstflagMtimNow), kPerm);
  EXPECT_EQ(open(kRo, "new", kOflagCreat, rights::kFdRead), kPerm);
  EXPECT_EQ(open(kRo, "file.txt", kOflagTrunc, rights::kFdRead), kPerm);
  EXPECT_EQ(open(kRo, "file.txt", 0, rights::kFdWrite), kPerm);
  EXPECT_EQ(open(kRo, "file.txt", 0, rights::kFdRead, kFdflagAppend), kPerm);
  EXPECT_EQ(fd_filestat_set_times(ctx_, kRo, 0, 0, kFstflagMtimNow), kPerm);
  // A file and a directory opened from the read-only tree.
  u32 f = openFd(kRo, "file.txt", 0, rights::kFdRead);
  EXPECT_EQ(fd_filestat_set_size(ctx_, f, 0), kPerm);
  EXPECT_EQ(fd_filestat_set_times(ctx_, f, 0, 0, kFstflagMtimNow), kPerm);
  EXPECT_EQ(write(f, "x"), kBadf);
  EXPECT_EQ(fd_pwrite(ctx_, f, 16, 1, 0, kOut), kBadf);
  EXPECT_EQ(read(f), "read only");
  u32 sub = openFd(kRo, "sub", kOflagDirectory, rights::kFdReaddir);
  EXPECT_EQ(mkdir(sub, "x"), kPerm);
  EXPECT_EQ(open(sub, "x", kOflagCreat, rights::kFdWrite), kPerm);
  ASSERT_EQ(fd_fdstat_get(ctx_, sub, kStat), kOk);
  EXPECT_EQ(u64At(kStat + 8) & rights::kPathCreateFile, 0u);
  EXPECT_FALSE(fs::exists(ro_ / "sub" / "x"));
}

TEST_F(FsTest, UnlinkFile) {
  EXPECT_EQ(unlink(kRw, "existing.txt"), kOk);
  EXPECT_FALSE(fs::exists(rw_ / "existing.txt"));
  EXPECT_EQ(unlink(kRw, "existing.txt"), kNoent);
  EXPECT_EQ(unlink(kRw, "dir"), kIsdir);
  EXPECT_EQ(unlink(kRw, "dir/inner.txt/"), kNotdir);
  EXPECT_EQ(unlink(kRw, "."), kIsdir);
  // A symlink pointing outside is removed itself; its target stays.
  EXPECT_EQ(unlink(kRw, "evil"), kOk);
  EXPECT_FALSE(fs::is_symlink(rw_ / "evil"));
  EXPECT_EQ(unlink(kRw, "abslink"), kOk);
  // Leaving the tree, by "..", absolute path or a symlinked parent.
  EXPECT_EQ(unlink(kRw, "../outside/victim"), kPerm);
  EXPECT_EQ(unlink(kRw, "dir/../../outside/victim"), kPerm);
  EXPECT_EQ(unlink(kRw, (outside_ / "victim").string()), kPerm);
  EXPECT_EQ(unlink(kRw, "outlink/victim"), kPerm);
  EXPECT_EQ(unlink(kRw, "/"), kPerm);
  EXPECT_EQ(unlink(kRw, "dir/inner.txt"), kOk);
}

TEST_F(FsTest, RenameWithinAndAcrossDescriptors) {
  EXPECT_EQ(rename(kRw, "existing.txt", kRw, "renamed.txt"), kOk);
  EXPECT_EQ(readHost(rw_ / "renamed.txt"), "data");
  EXPECT_EQ(rename(kRw, "existing.txt", kRw, "x"), kNoent);
  // Across two descriptors: the preopen and a directory opened beneath it.
  u32 dir = openFd(kRw, "dir", kOflagDirectory, rights::kFdReaddir);
  EXPECT_EQ(rename(kRw, "renamed.txt", dir, "moved.txt"), kOk);
  EXPECT_EQ(readHost(rw_ / "dir" / "moved.txt"), "data");
  EXPECT_EQ(rename(dir, "moved.txt", kRw, "back.txt"), kOk);
  // Replacing: a file over a file; refusals by type.
  EXPECT_EQ(rename(kRw, "back.txt", dir, "inner.txt"), kOk);
  EXPECT_EQ(readHost(rw_ / "dir" / "inner.txt"), "data");
  EXPECT_EQ(rename(kRw, "dir", kRw, "full"), kNotempty);
  EXPECT_EQ(rename(dir, "inner.txt", kRw, "full"), kIsdir);
  EXPECT_EQ(rename(kRw, "full", dir, "inner.txt"), kNotdir);
  EXPECT_EQ(rename(kRw, ".", kRw, "x"), kBusy);
  EXPECT_EQ(rename(kRw, "full", kRw, "full/child/x"), kInval);  // into itself
  // A symlink is renamed itself, never its target.
  EXPECT_EQ(rename(kRw, "evil", kRw, "evil2"), kOk);
  EXPECT_TRUE(fs::is_symlink(rw_ / "evil2"));
  // Out of the tree or in from outside.
  EXPECT_EQ(rename(kRw, "full", kRw, "../outside/full"), kPerm);
  EXPECT_EQ(rename(kRw, "../outside/victim", kRw, "stolen"), kPerm);
  EXPECT_EQ(rename(kRw, "outlink/victim", kRw, "stolen"), kPerm);
  EXPECT_EQ(rename(kRw, "full", kRw, "outlink/full"), kPerm);
  EXPECT_EQ(rename(kRw, "full", 1, "x"), kBadf);
  EXPECT_EQ(rename(77, "full", kRw, "x"), kBadf);
  EXPECT_TRUE(fs::exists(rw_ / "full" / "child"));
}

TEST_F(FsTest, HardLinks) {
  EXPECT_EQ(link(kRw, "existing.txt", kRw, "hard"), kOk);
  ASSERT_EQ(stat(kRw, "hard"), kOk);
  EXPECT_EQ(u64At(kStat + 24), 2u);  // nlink
  EXPECT_EQ(link(kRw, "existing.txt", kRw, "hard"), kExist);
  EXPECT_EQ(link(kRw, "existing.txt", kRw, "x", kLookupSymlinkFollow), kInval);  // wasmtime
  EXPECT_EQ(link(kRw, "dir", kRw, "dirlink"), kPerm);  // directories cannot be linked
  EXPECT_EQ(link(kRw, "missing", kRw, "x"), kNoent);
  EXPECT_EQ(link(kRw, "../outside/secret.txt", kRw, "stolen"), kPerm);
  EXPECT_EQ(link(kRw, "outlink/secret.txt", kRw, "stolen"), kPerm);
  EXPECT_EQ(link(kRw, "existing.txt", kRw, "../outside/planted"), kPerm);
  // Linking a symlink that points outside links the symlink, not the secret.
  EXPECT_EQ(link(kRw, "evil", kRw, "evil-hard"), kOk);
  EXPECT_TRUE(fs::is_symlink(rw_ / "evil-hard"));
  u32 dir = openFd(kRw, "dir", kOflagDirectory, rights::kFdReaddir);
  EXPECT_EQ(link(kRw, "existing.txt", dir, "other"), kOk);
  EXPECT_EQ(readHost(rw_ / "dir" / "other"), "data");
}

TEST_F(FsTest, SymlinksStayInside) {
  EXPECT_EQ(symlink("existing.txt", kRw, "s"), kOk);
  EXPECT_EQ(fs::read_symlink(rw_ / "s"), "existing.txt");
  u32 fd = openFd(kRw, "s", 0, rights::kFdRead);
  EXPECT_EQ(read(fd), "data");
  EXPECT_EQ(symlink("existing.txt", kRw, "s"), kExist);
  EXPECT_EQ(symlink("/etc/passwd", kRw, "abs"), kPerm);  // wasmtime: absolute refused
  EXPECT_EQ(symlink("../outside/secret.txt", kRw, "up"), kPerm);
  EXPECT_EQ(symlink("dir/../../outside", kRw, "up"), kPerm);
  EXPECT_EQ(symlink("dir/../existing.txt", kRw, "ok1"), kOk);
  EXPECT_EQ(symlink("../existing.txt", kRw, "dir/ok2"), kOk);  // one level down
  EXPECT_EQ(symlink("../../existing.txt", kRw, "dir/up"), kPerm);
  EXPECT_EQ(symlink("x", kRw, "outlink/planted"), kPerm);  // link placed outside
  EXPECT_EQ(symlink("x", kRw, "../planted"), kPerm);
  EXPECT_EQ(symlink("x", kRw, "."), kExist);
  // From a directory descriptor below the root, depth counts from the root.
  u32 dir = openFd(kRw, "dir", kOflagDirectory, rights::kFdReaddir);
  EXPECT_EQ(symlink("../existing.txt", dir, "ok3"), kOk);
  EXPECT_EQ(symlink("../../secret", dir, "up"), kPerm);
  EXPECT_EQ(read(openFd(kRw, "dir/ok3", 0, rights::kFdRead)), "data");
  EXPECT_EQ(open(dir, "ok3", 0, rights::kFdRead), kPerm);  // above `dir`: outside that fd
  // Dangling and looping links may be made; following them fails cleanly.
  EXPECT_EQ(symlink("loop-b", kRw, "loop-a"), kOk);
  EXPECT_EQ(symlink("loop-a", kRw, "loop-b"), kOk);
  EXPECT_EQ(open(kRw, "loop-a", 0, rights::kFdRead), kLoop);
  EXPECT_EQ(symlink("missing", kRw, "dangling"), kOk);
  EXPECT_EQ(open(kRw, "dangling", 0, rights::kFdRead), kNoent);
  // Reading them back.
  auto [p, n] = str(kPathA, "dir/ok2");
  ASSERT_EQ(path_readlink(ctx_, kRw, p, n, 7000, 100, kOut), kOk);
  EXPECT_EQ(std::string(&data_[7000], &data_[7000] + u32At(kOut)), "../existing.txt");
  ASSERT_EQ(path_readlink(ctx_, kRw, p, n, 7000, 4, kOut), kOk);  // truncated, as wasmtime
  EXPECT_EQ(u32At(kOut), 4u);
  auto [q, m] = str(kPathA, "existing.txt");
  EXPECT_EQ(path_readlink(ctx_, kRw, q, m, 7000, 100, kOut), kInval);
}

TEST_F(FsTest, SetTimesByPath) {
  const uint64_t t = 1'000'000'000ull * 1'500'000'000 + 123'456'789;  // 2017
  EXPECT_EQ(setTimes(kRw, "existing.txt", t, t, kFstflagAtim | kFstflagMtim), kOk);
  struct stat st {};
  ASSERT_EQ(::stat((rw_ / "existing.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123'456'789);
  EXPECT_EQ(st.st_atim.tv_sec, 1'500'000'000);
  // Without following, a symlink's own times change, not its target's.
  ASSERT_EQ(symlink("existing.txt", kRw, "s"), kOk);
  EXPECT_EQ(setTimes(kRw, "s", 0, t + 1'000'000'000, kFstflagMtim, 0), kOk);
  ASSERT_EQ(lstat((rw_ / "s").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'001);
  ASSERT_EQ(::stat((rw_ / "existing.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1'500'000'000);
  EXPECT_EQ(setTimes(kRw, "existing.txt", t, 0, kFstflagAtim | kFstflagAtimNow), kInval);
  EXPECT_EQ(setTimes(kRw, "missing", 0, 0, kFstflagMtimNow), kNoent);
  EXPECT_EQ(setTimes(kRw, "evil", 0, 0, kFstflagMtimNow), kPerm);     // follows outside
  EXPECT_EQ(setTimes(kRw, "abslink", 0, 0, kFstflagMtimNow), kPerm);  // absolute
  EXPECT_EQ(setTimes(kRw, "..", 0, 0, kFstflagMtimNow), kPerm);       // the parent
  EXPECT_EQ(setTimes(kRw, "outlink/secret.txt", 0, 0, kFstflagMtimNow), kPerm);
  EXPECT_EQ(setTimes(kRw, "evil", 0, t, kFstflagMtim, 0), kOk);  // the link itself
  // By descriptor.
  u32 f = openFd(kRw, "existing.txt", 0, rights::kFdRead);
  EXPECT_EQ(fd_filestat_set_times(ctx_, f, 0, t, kFstflagMtim), kOk);
  EXPECT_EQ(fd_filestat_set_times(ctx_, kRw, 0, t, kFstflagMtim), kOk);
  EXPECT_EQ(fd_filestat_set_times(ctx_, f, 0, t, kFstflagMtim | kFstflagMtimNow), kInval);
}

TEST_F(FsTest, PathOpenFlags) {
  // CREAT, EXCL, TRUNC.
  u32 fd = openFd(kRw, "new.txt", kOflagCreat, rights::kFdWrite);
  EXPECT_TRUE(fs::is_regular_file(rw_ / "new.txt"));
  EXPECT_EQ(write(fd, "12345"), kOk);
  EXPECT_EQ(open(kRw, "new.txt", kOflagCreat | kOflagExcl, rights::kFdWrite), kExist);
  EXPECT_EQ(open(kRw, "evil", kOflagCreat | kOflagExcl, rights::kFdWrite), kExist);
  EXPECT_EQ(open(kRw, "evil", kOflagCreat, rights::kFdWrite), kPerm);  // would create outside
  EXPECT_EQ(open(kRw, "outlink/new", kOflagCreat, rights::kFdWrite), kPerm);
  openFd(kRw, "new.txt", kOflagTrunc, rights::kFdRead);
  EXPECT_EQ(fs::file_size(rw_ / "new.txt"), 0u);
  // DIRECTORY.
  EXPECT_EQ(open(kRw, "existing.txt", kOflagDirectory, rights::kFdRead), kNotdir);
  EXPECT_EQ(open(kRw, "d2", kOflagDirectory | kOflagCreat, rights::kFdRead), kInval);
  EXPECT_EQ(open(kRw, "dir", kOflagDirectory | kOflagTrunc, rights::kFdRead), kInval);
  EXPECT_EQ(open(kRw, "dir", 0, rights::kFdWrite), kIsdir);
  u32 dir = openFd(kRw, "dir", 0, rights::kFdRead);  // a directory without O_DIRECTORY
  ASSERT_EQ(fd_fdstat_get(ctx_, dir, kStat), kOk);
  EXPECT_EQ(data_[kStat], kFiletypeDirectory);
  // Not following a symlink in the last component.
  EXPECT_EQ(open(kRw, "evil", 0, rights::kFdRead, 0, 0), kLoop);
  // APPEND: every write lands at the end, also after a seek; reported back.
  u32 app = openFd(kRw, "existing.txt", 0, rights::kFdWrite | rights::kFdRead, kFdflagAppend);
  ASSERT_EQ(fd_seek(ctx_, app, 0, kWhenceSet, kOut), kOk);
  EXPECT_EQ(write(app, "+more"), kOk);
  EXPECT_EQ(readHost(rw_ / "existing.txt"), "data+more");
  ASSERT_EQ(fd_fdstat_get(ctx_, app, kStat), kOk);
  EXPECT_EQ(u32At(kStat) >> 16 & kFdflagAppend, kFdflagAppend);
  ASSERT_EQ(fd_fdstat_set_flags(ctx_, app, 0), kOk);
  ASSERT_EQ(fd_seek(ctx_, app, 0, kWhenceSet, kOut), kOk);
  EXPECT_EQ(write(app, "D"), kOk);
  EXPECT_EQ(readHost(rw_ / "existing.txt"), "Data+more");
  EXPECT_EQ(fd_fdstat_set_flags(ctx_, app, kFdflagSync), kInval);  // wasmtime
  // SYNC flags and NONBLOCK are honoured and reported.
  u32 sync = openFd(kRw, "existing.txt", 0, rights::kFdWrite,
                    kFdflagDsync | kFdflagSync | kFdflagNonblock);
  ASSERT_EQ(fd_fdstat_get(ctx_, sync, kStat), kOk);
  EXPECT_EQ(u32At(kStat) >> 16, u32{kFdflagDsync | kFdflagSync | kFdflagNonblock});
  EXPECT_EQ(write(sync, "d"), kOk);
  // Rights as wasmtime: only FD_READ / FD_WRITE matter; no write means read.
  u32 none = openFd(kRw, "existing.txt", 0, 0);
  EXPECT_EQ(read(none), "data+more");
  EXPECT_EQ(write(none, "x"), kBadf);
  u32 wo = openFd(kRw, "existing.txt", 0, rights::kFdWrite);
  EXPECT_EQ(read(wo), "<errno 8>");
  ASSERT_EQ(fd_fdstat_get(ctx_, wo, kStat), kOk);
  EXPECT_EQ(u64At(kStat + 8) & rights::kFdRead, 0u);
  EXPECT_NE(u64At(kStat + 8) & rights::kFdWrite, 0u);
  u32 creat_ro = openFd(kRw, "c.txt", kOflagCreat, rights::kFdRead);  // CREAT opens for writing
  EXPECT_EQ(write(creat_ro, "c"), kOk);
  EXPECT_EQ(read(openFd(kRw, "c.txt", 0, rights::kFdRead)), "c");
  // Bad descriptors.
  EXPECT_EQ(open(fd, "x", 0, rights::kFdRead), kNotdir);
  EXPECT_EQ(open(0, "x", 0, rights::kFdRead), kBadf);
  EXPECT_EQ(open(123, "x", 0, rights::kFdRead), kBadf);
}

TEST_F(FsTest, FileDescriptorOperations) {
  u32 fd = openFd(kRw, "existing.txt", 0, rights::kFdRead | rights::kFdWrite);
  EXPECT_EQ(fd_allocate(ctx_, fd, 0, 100), kNotsup);  // wasmtime
  EXPECT_EQ(fd_allocate(ctx_, kRw, 0, 100), kBadf);
  EXPECT_EQ(fd_filestat_set_size(ctx_, fd, 10), kOk);
  EXPECT_EQ(fs::file_size(rw_ / "existing.txt"), 10u);
  EXPECT_EQ(fd_filestat_set_size(ctx_, fd, 2), kOk);
  EXPECT_EQ(readHost(rw_ / "existing.txt"), "da");
  EXPECT_EQ(fd_filestat_set_size(ctx_, kRw, 2), kBadf);
  u32 ro = openFd(kRw, "existing.txt", 0, rights::kFdRead);
  EXPECT_EQ(fd_filestat_set_size(ctx_, ro, 0), kInval);  // not open for writing (host)
  EXPECT_EQ(fd_sync(ctx_, fd), kOk);
  EXPECT_EQ(fd_datasync(ctx_, fd), kOk);
  EXPECT_EQ(fd_sync(ctx_, kRw), kBadf);
  EXPECT_EQ(fd_advise(ctx_, fd, 0, 0, 6), kInval);
  EXPECT_EQ(fd_advise(ctx_, fd, 0, 0, 1), kOk);
  // pwrite / pread leave the position alone.
  str(5000, "XY");
  put32(16, 5000);
  put32(20, 2);
  ASSERT_EQ(fd_pwrite(ctx_, fd, 16, 1, 5, kOut), kOk);
  ASSERT_EQ(fd_tell(ctx_, fd, kOut), kOk);
  EXPECT_EQ(u64At(kOut), 0u);
  EXPECT_EQ(readHost(rw_ / "existing.txt"), std::string("da\0\0\0XY", 7));
  // fd_renumber: the replaced descriptor's host fd is closed, numbers move.
  size_t host_before = openHostFds();
  ASSERT_EQ(fd_renumber(ctx_, ro, fd), kOk);
  EXPECT_EQ(openHostFds(), host_before - 1);
  EXPECT_EQ(write(fd, "x"), kBadf);  // fd is now the read-only one
  EXPECT_EQ(read(ro), "<errno 8>");
  ASSERT_EQ(fd_renumber(ctx_, fd, 1000), kOk);  // to an unused number
  EXPECT_EQ(read(1000).substr(0, 2), "da");
  EXPECT_EQ(fd_renumber(ctx_, fd, 1000), kBadf);
  EXPECT_EQ(fd_renumber(ctx_, 1000, kRw), kOk);  // replacing a preopen closes it
  EXPECT_EQ(mkdir(kRw, "x"), kBadf);
  EXPECT_EQ(fd_close(ctx_, kRw), kOk);
  EXPECT_EQ(fd_close(ctx_, kRw), kBadf);
}

// Lists a directory the way wasi-libc's readdir does: a buffer of `size`
// bytes, resume at the cookie of the last whole entry, grow the buffer when
// one entry does not fit, stop at a short read.
std::vector<std::string> listLikeLibc(Context& ctx, std::vector<uint8_t>& data, u32 fd,
                                      uint32_t size, int* calls) {
  std::vector<std::string> names;
  uint64_t cookie = 0;
  const uint32_t buf = 100000;
  for (*calls = 0; *calls < 100000; ++*calls) {
    EXPECT_EQ(fd_readdir(ctx, fd, buf, size, cookie, 8), kOk);
    uint32_t used;
    std::memcpy(&used, &data[8], 4);
    uint32_t at = 0;
    bool progressed = false;
    while (used - at >= layout::kDirentSize) {
      uint64_t next;
      uint32_t namlen;
      std::memcpy(&next, &data[buf + at + layout::kDirentNext], 8);
      std::memcpy(&namlen, &data[buf + at + layout::kDirentNamlen], 4);
      if (used - at < layout::kDirentSize + namlen) break;  // truncated
      names.emplace_back(reinterpret_cast<char*>(&data[buf + at + layout::kDirentSize]), namlen);
      cookie = next;
      at += layout::kDirentSize + namlen;
      progressed = true;
    }
    if (used < size) return names;  // end of the directory
    if (!progressed) size *= 2;     // one entry bigger than the buffer
  }
  ADD_FAILURE() << "readdir did not end";
  return names;
}

TEST_F(FsTest, ReaddirSmallBuffersAndCookies) {
  std::set<std::string> expected = {".",    "..",      "existing.txt", "dir",
                                    "full", "outlink", "abslink",      "evil"};
  for (int i = 0; i < 150; ++i) {
    std::string name = "file-with-a-rather-long-name-" + std::to_string(i);
    std::ofstream(rw_ / name) << i;
    expected.insert(name);
  }
  for (uint32_t size : {1u, 24u, 30u, 64u, 100u, 257u, 4096u, 65536u}) {
    int calls = 0;
    std::vector<std::string> names = listLikeLibc(ctx_, data_, kRw, size, &calls);
    EXPECT_EQ(names.size(), expected.size()) << "buffer " << size;
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), expected) << "buffer " << size;
    EXPECT_EQ(names[0], ".");
    EXPECT_EQ(names[1], "..");
  }
  // A buffer smaller than one header is filled to the byte.
  ASSERT_EQ(fd_readdir(ctx_, kRw, 9000, 10, 0, kOut), kOk);
  EXPECT_EQ(u32At(kOut), 10u);

  // Cookie reuse: the same cookie gives the same entries, again and again,
  // also on another descriptor for the same directory.
  ASSERT_EQ(fd_readdir(ctx_, kRw, 9000, 4096, 0, kOut), kOk);
  const uint32_t at3 = 9000 + 24 + 1 + 24 + 2;  // the third entry (after "." and "..")
  uint64_t cookie3 = u64At(at3);                // d_next of the third entry
  u32 len3 = u32At(at3 + 16);
  std::string third(&data_[at3 + 24], &data_[at3 + 24] + len3);
  ASSERT_EQ(fd_readdir(ctx_, kRw, 20000, 4096, cookie3, kOut), kOk);
  std::vector<uint8_t> first(&data_[20000], &data_[20000] + u32At(kOut));
  ASSERT_EQ(fd_readdir(ctx_, kRw, 20000, 4096, cookie3, kOut), kOk);
  EXPECT_EQ(std::vector<uint8_t>(&data_[20000], &data_[20000] + u32At(kOut)), first);
  u32 again = openFd(kRw, ".", kOflagDirectory, rights::kFdReaddir);
  ASSERT_EQ(fd_readdir(ctx_, again, 20000, 4096, cookie3, kOut), kOk);
  EXPECT_EQ(std::vector<uint8_t>(&data_[20000], &data_[20000] + u32At(kOut)), first);
  // The cookie stays valid when the directory changes before it: deleting
  // the entry the cookie follows, and adding names, keep the next entry.
  uint32_t next_len = u32At(20000 + 16);
  std::string next_name(&data_[20000 + 24], &data_[20000 + 24] + next_len);
  ASSERT_NE(third, ".");
  fs::remove_all(rw_ / third);
  for (int i = 0; i < 20; ++i) std::ofstream(rw_ / ("late-" + std::to_string(i))) << i;
  ASSERT_EQ(fd_readdir(ctx_, kRw, 20000, 4096, cookie3, kOut), kOk);
  EXPECT_EQ(std::string(&data_[20000 + 24], &data_[20000 + 24] + u32At(20000 + 16)), next_name);
  // Cookies 1 and 2 resume after "." and "..".
  ASSERT_EQ(fd_readdir(ctx_, kRw, 20000, 4096, 1, kOut), kOk);
  EXPECT_EQ(std::string(&data_[20000 + 24], &data_[20000 + 26]), "..");
  // A cookie past every entry, a file, a bad buffer.
  ASSERT_EQ(fd_readdir(ctx_, kRw, 20000, 4096, UINT64_MAX, kOut), kOk);
  EXPECT_EQ(u32At(kOut), 0u);
  u32 file = openFd(kRw, "existing.txt", 0, rights::kFdRead);
  EXPECT_EQ(fd_readdir(ctx_, file, 20000, 4096, 0, kOut), kBadf);
  EXPECT_EQ(fd_readdir(ctx_, kRw, kMemSize - 10, 4096, 0, kOut), kFault);
  EXPECT_EQ(fd_readdir(ctx_, 2, 20000, 4096, 0, kOut), kBadf);
}

TEST_F(FsTest, HostilePathsAreRefused) {
  for (const char* p : {"../outside/secret.txt", "dir/../../outside/secret.txt",
                        "dir/../dir/../../outside/secret.txt", "../../../../../../etc/passwd",
                        "/etc/passwd", "outlink/secret.txt", "abslink", "evil", "outlink"}) {
    EXPECT_EQ(open(kRw, p, 0, rights::kFdRead), kPerm) << p;
    EXPECT_EQ(stat(kRw, p, kLookupSymlinkFollow), kPerm) << p;
  }
  EXPECT_EQ(read(openFd(kRw, "dir/../existing.txt", 0, rights::kFdRead)), "data");
  EXPECT_EQ(mkdir(kRw, "outlink/new"), kPerm);
  EXPECT_EQ(mkdir(kRw, "../new"), kPerm);
  // Symlink loops and chains past the kernel's limit.
  fs::create_symlink("self", rw_ / "self");
  EXPECT_EQ(open(kRw, "self", 0, rights::kFdRead), kLoop);
  EXPECT_EQ(mkdir(kRw, "self/x"), kLoop);
  fs::create_symlink("existing.txt", rw_ / "chain0");
  for (int i = 1; i <= 45; ++i) {
    fs::create_symlink("chain" + std::to_string(i - 1), rw_ / ("chain" + std::to_string(i)));
  }
  EXPECT_EQ(open(kRw, "chain30", 0, rights::kFdRead), kOk);
  EXPECT_EQ(open(kRw, "chain45", 0, rights::kFdRead), kLoop);
  // A directory of the read-only tree reached through "..": still read-only.
  EXPECT_EQ(open(kRo, "sub/../file.txt", 0, rights::kFdWrite), kPerm);
}

// /proc's magic links ("root", "cwd", "fd/N") jump anywhere; a preopen that
// contains them must not follow them.
TEST_F(FsTest, MagicLinksAreNotFollowed) {
  preopens_.push_back({"/proc/self", "/proc", false});
  const u32 proc = 5;
  for (const char* p : {"root/etc/passwd", "root", "cwd", "exe", "fd/0"}) {
    u32 r = open(proc, p, 0, rights::kFdRead);
    EXPECT_TRUE(r == kLoop || r == kPerm) << p << ": " << r;
  }
  EXPECT_EQ(stat(proc, "root/etc", kLookupSymlinkFollow) == kOk, false);
  EXPECT_EQ(open(proc, "status", 0, rights::kFdRead), kOk);  // a plain file there is fine
}

// A host thread keeps swapping a symlink between an inside and an outside
// target (atomically, by rename) while lookups go through it: no call may
// ever reach outside, and the outside tree must be unchanged.
TEST_F(FsTest, SymlinkSwappedDuringCalls) {
  std::ofstream(rw_ / "inside.txt") << "inside";
  fs::create_directories(rw_ / "realdir");
  fs::create_symlink("inside.txt", rw_ / "flip");
  fs::create_symlink("realdir", rw_ / "flipdir");
  std::atomic<bool> stop{false};
  std::thread flipper([&] {
    const std::pair<const char*, std::string> targets[] = {
        {"flip", "inside.txt"},
        {"flip", "../outside/secret.txt"},
        {"flip", (outside_ / "secret.txt").string()},
        {"flipdir", "realdir"},
        {"flipdir", "../outside"},
        {"flipdir", outside_.string()}};
    for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      const auto& [name, target] = targets[i % std::size(targets)];
      fs::path tmp = rw_ / (std::string(".tmp-") + name);
      std::error_code ec;
      fs::remove(tmp, ec);
      fs::create_symlink(target, tmp, ec);
      fs::rename(tmp, rw_ / name, ec);
    }
  });
  // Stopped and joined however the test body ends (a failed ASSERT returns).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, flipper};
  int inside = 0;
  int refused = 0;
  // At least 2000 rounds, and on until both outcomes were seen (a loaded
  // machine may starve the flipper for a while), within a generous bound.
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  for (int i = 0;
       (i < 2000 || inside == 0 || refused == 0) && std::chrono::steady_clock::now() < end; ++i) {
    u32 r = open(kRw, "flip", 0, rights::kFdRead);
    if (r == kOk) {
      u32 fd = u32At(kOut);
      std::string got = read(fd);
      EXPECT_EQ(got, "inside");
      inside += got == "inside";
      ASSERT_EQ(fd_close(ctx_, fd), kOk);
    } else {
      EXPECT_TRUE(r == kPerm || r == kNoent) << r;
      ++refused;
    }
    // Mutations through a parent that flips between inside and outside.
    u32 m = mkdir(kRw, "flipdir/new");
    EXPECT_TRUE(m == kOk || m == kPerm) << m;
    if (m == kOk) {
      EXPECT_EQ(rmdir(kRw, "realdir/new"), kOk);
    }
    u32 u = unlink(kRw, "flipdir/victim");
    EXPECT_TRUE(u == kPerm || u == kNoent) << u;
    u32 t = setTimes(kRw, "flipdir/secret.txt", 0, 0, kFstflagMtimNow);
    EXPECT_TRUE(t == kPerm || t == kNoent) << t;
  }
  stop = true;
  flipper.join();
  EXPECT_GT(inside, 0);
  EXPECT_GT(refused, 0);
  // TearDown compares the outside tree with its snapshot.
}

TEST_F(FsTest, OpenLimitAndTeardownCloseEveryHostFd) {
  const size_t before = openHostFds();
  {
    Context ctx;
    ctx.memory = &mem_;
    ctx.preopens = &preopens_;
    str(kPathA, "existing.txt");
    u32 ok = 0;
    for (size_t i = 0; i < FdTable::kMaxOpenFiles + 5; ++i) {
      u32 r = path_open(ctx, kRw, 0, kPathA, 12, 0, rights::kFdRead, 0, 0, kOut);
      if (r == kOk) {
        ++ok;
      } else {
        EXPECT_EQ(r, kMfile);
      }
    }
    EXPECT_EQ(ok, FdTable::kMaxOpenFiles);
    // Directory streams are host descriptors too.
    EXPECT_EQ(fd_readdir(ctx, kRw, 20000, 100, 0, kOut), kOk);
    EXPECT_EQ(fd_readdir(ctx, kRo, 20000, 100, 0, kOut), kOk);
    EXPECT_GE(openHostFds(), before + FdTable::kMaxOpenFiles + 2);
  }
  EXPECT_EQ(openHostFds(), before);
}

TEST_F(FsTest, CallsWithoutFilesBuildNoTable) {
  str(16, "hi");
  put32(32, 16);
  put32(36, 2);
  std::string out;
  ctx_.stdout_data = &out;
  ctx_.stdout_cap = 100;
  ASSERT_EQ(fd_write(ctx_, 1, 32, 1, kOut), kOk);
  EXPECT_EQ(out, "hi");
  // Stdio built the table, but no preopen was opened on the host.
  const size_t before = openHostFds();
  ASSERT_EQ(fd_prestat_get(ctx_, kRw, kStat), kOk);
  EXPECT_EQ(openHostFds(), before);
}

}  // namespace
}  // namespace jinn::wasi
