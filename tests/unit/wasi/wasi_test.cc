// Unit tests of the WASI host functions against a fake guest memory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wasi/abi.h"
#include "wasi/errno.h"
#include "wasi/types.h"
#include "wasi/wasi.h"

namespace jinn::wasi {
namespace {

constexpr u32 kSuccess = 0;
constexpr u32 kBadf = 8;
constexpr u32 kFault = 21;
constexpr u32 kInval = 28;
constexpr u32 kNametoolong = 37;
constexpr u32 kNotdir = 54;
constexpr u32 kNotsock = 57;
constexpr u32 kNotsup = 58;
constexpr u32 kPerm = 63;
constexpr u32 kSpipe = 70;

class WasiTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kMemSize = 65536;

  void SetUp() override {
    data_.assign(kMemSize, 0);
    mem_.data = data_.data();
    mem_.pages = 1;
    mem_.max_pages = 1;
    mem_.size = kMemSize;
    ctx_.memory = &mem_;
    ctx_.args = &args_;
    ctx_.env = &env_;
    ctx_.preopens = &preopens_;
    ctx_.stdout_data = &out_;
    ctx_.stderr_data = &err_;
    ctx_.stdout_cap = 1 << 20;
    ctx_.stderr_cap = 1 << 20;
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
  void put32(uint32_t p, uint32_t v) { std::memcpy(&data_[p], &v, 4); }
  void put64(uint32_t p, uint64_t v) { std::memcpy(&data_[p], &v, 8); }
  void putStr(uint32_t p, std::string_view s) { std::memcpy(&data_[p], s.data(), s.size()); }
  std::string strAt(uint32_t p, size_t n) { return std::string(&data_[p], &data_[p] + n); }
  // One iovec at `iov` pointing to `buf` of `len`.
  void iovec(uint32_t iov, uint32_t buf, uint32_t len) {
    put32(iov, buf);
    put32(iov + 4, len);
  }
  u32 write(u32 fd, std::string_view s) {
    putStr(1024, s);
    iovec(16, 1024, static_cast<uint32_t>(s.size()));
    return fd_write(ctx_, fd, 16, 1, 8);
  }

  std::vector<uint8_t> data_;
  wasm_rt_memory_t mem_{};
  std::vector<std::string> args_;
  std::vector<std::string> env_;
  std::vector<Preopen> preopens_;
  std::string out_;
  std::string err_;
  Context ctx_;
};

TEST(GuestMemoryTest, BoundsAndEndianness) {
  std::vector<uint8_t> buf(100, 0);
  wasm_rt_memory_t m{};
  m.data = buf.data();
  m.size = 100;
  GuestMemory mem(&m);
  EXPECT_TRUE(mem.store32(96, 0x11223344));
  EXPECT_EQ(buf[96], 0x44);
  EXPECT_EQ(buf[99], 0x11);
  EXPECT_FALSE(mem.store32(97, 1));
  EXPECT_FALSE(mem.store64(0xFFFFFFFC, 1));  // no 32-bit wrap-around
  EXPECT_FALSE(mem.contains(101, 0));
  EXPECT_TRUE(mem.contains(100, 0));
  uint64_t v = 0;
  ASSERT_TRUE(mem.load64(92, &v));
  EXPECT_EQ(v, 0x1122334400000000ull);
  // The limit is read live: shrinking `size` (as if before a grow) applies at once.
  m.size = 50;
  EXPECT_FALSE(mem.load64(92, &v));
  GuestMemory none(nullptr);
  EXPECT_FALSE(none.contains(0, 0));
}

TEST_F(WasiTest, ArgsLayout) {
  args_ = {"prog", "", "héllo"};
  ASSERT_EQ(args_sizes_get(ctx_, 0, 4), kSuccess);
  EXPECT_EQ(u32At(0), 3u);
  EXPECT_EQ(u32At(4), 5u + 1u + 7u);
  ASSERT_EQ(args_get(ctx_, 100, 200), kSuccess);
  EXPECT_EQ(u32At(100), 200u);
  EXPECT_EQ(u32At(104), 205u);
  EXPECT_EQ(u32At(108), 206u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(&data_[200])), "prog");
  EXPECT_EQ(data_[205], 0);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(&data_[206])), "héllo");
  EXPECT_EQ(args_get(ctx_, kMemSize - 4, 200), kFault);
  EXPECT_EQ(args_get(ctx_, 100, kMemSize - 3), kFault);
  EXPECT_EQ(args_sizes_get(ctx_, kMemSize, 4), kFault);
}

TEST_F(WasiTest, EnvironLayout) {
  env_ = {"A=1", "PATH=/x"};
  ASSERT_EQ(environ_sizes_get(ctx_, 0, 4), kSuccess);
  EXPECT_EQ(u32At(0), 2u);
  EXPECT_EQ(u32At(4), 4u + 8u);
  ASSERT_EQ(environ_get(ctx_, 100, 200), kSuccess);
  EXPECT_EQ(strAt(u32At(100), 4), std::string("A=1\0", 4));
  EXPECT_EQ(strAt(u32At(104), 8), std::string("PATH=/x\0", 8));
  ctx_.env = nullptr;
  ASSERT_EQ(environ_sizes_get(ctx_, 0, 4), kSuccess);
  EXPECT_EQ(u32At(0), 0u);
}

TEST_F(WasiTest, NoMemoryFaults) {
  ctx_.memory = nullptr;
  EXPECT_EQ(args_sizes_get(ctx_, 0, 4), kFault);
  EXPECT_EQ(clock_time_get(ctx_, kClockMonotonic, 0, 0), kFault);
  EXPECT_EQ(fd_write(ctx_, 1, 0, 0, 0), kFault);
}

TEST_F(WasiTest, StdinStdoutRoundTrip) {
  ctx_.stdin_data = "hello world";
  iovec(16, 1000, 5);
  iovec(24, 2000, 3);
  ASSERT_EQ(fd_read(ctx_, 0, 16, 2, 8), kSuccess);
  EXPECT_EQ(u32At(8), 8u);
  EXPECT_EQ(strAt(1000, 5), "hello");
  EXPECT_EQ(strAt(2000, 3), " wo");
  ASSERT_EQ(fd_read(ctx_, 0, 16, 2, 8), kSuccess);
  EXPECT_EQ(u32At(8), 3u);
  ASSERT_EQ(fd_read(ctx_, 0, 16, 2, 8), kSuccess);
  EXPECT_EQ(u32At(8), 0u);  // EOF

  putStr(1000, "hello");
  putStr(2000, " wo");
  iovec(16, 1000, 5);
  iovec(24, 2000, 3);
  iovec(32, 3000, 0);
  ASSERT_EQ(fd_write(ctx_, 1, 16, 3, 8), kSuccess);
  EXPECT_EQ(u32At(8), 8u);
  EXPECT_EQ(out_, "hello wo");
  ASSERT_EQ(write(2, "err"), kSuccess);
  EXPECT_EQ(err_, "err");
  EXPECT_EQ(ctx_.stop, 0);
}

TEST_F(WasiTest, WrongDirectionIsBadf) {
  EXPECT_EQ(write(0, "x"), kBadf);
  iovec(16, 1000, 5);
  EXPECT_EQ(fd_read(ctx_, 1, 16, 1, 8), kBadf);
  EXPECT_EQ(fd_read(ctx_, 2, 16, 1, 8), kBadf);
  EXPECT_EQ(fd_read(ctx_, 3, 16, 1, 8), kBadf);
  EXPECT_EQ(fd_read(ctx_, 99, 16, 1, 8), kBadf);
}

TEST_F(WasiTest, BadIovecsFaultWithoutSideEffects) {
  putStr(1000, "abc");
  iovec(16, 1000, 3);
  iovec(24, kMemSize - 2, 3);  // second buffer out of bounds
  EXPECT_EQ(fd_write(ctx_, 1, 16, 2, 8), kFault);
  EXPECT_EQ(out_, "");
  EXPECT_EQ(fd_write(ctx_, 1, kMemSize - 4, 1, 8), kFault);   // array itself
  EXPECT_EQ(fd_write(ctx_, 1, 16, 1, kMemSize - 2), kFault);  // nwritten
  EXPECT_EQ(fd_write(ctx_, 1, 16, 0x20000000, 8), kFault);    // huge count
  EXPECT_EQ(out_, "");
  ctx_.stdin_data = "zz";
  EXPECT_EQ(fd_read(ctx_, 0, 16, 2, 8), kFault);
  EXPECT_EQ(ctx_.stdin_pos, 0u);
}

TEST_F(WasiTest, OutputCapTruncatesExactlyAndStops) {
  ctx_.stdout_cap = 10;
  ASSERT_EQ(write(1, "123456"), kSuccess);
  EXPECT_EQ(ctx_.stop, 0);
  ASSERT_EQ(write(1, "abcdefgh"), kSuccess);
  EXPECT_EQ(out_, "123456abcd");
  EXPECT_EQ(u32At(8), 4u);
  EXPECT_EQ(ctx_.stop, JINN_STOP_OUTPUT_LIMIT);
}

TEST_F(WasiTest, OutputCapExactFitDoesNotStop) {
  ctx_.stderr_cap = 3;
  ASSERT_EQ(write(2, "abc"), kSuccess);
  EXPECT_EQ(ctx_.stop, 0);
  EXPECT_EQ(err_, "abc");
  ASSERT_EQ(write(2, ""), kSuccess);
  EXPECT_EQ(ctx_.stop, 0);
  ASSERT_EQ(write(2, "d"), kSuccess);
  EXPECT_EQ(err_, "abc");
  EXPECT_EQ(ctx_.stop, JINN_STOP_OUTPUT_LIMIT);
}

TEST_F(WasiTest, StdioSeekAndPositionalIo) {
  EXPECT_EQ(fd_seek(ctx_, 0, 0, kWhenceCur, 8), kSpipe);
  EXPECT_EQ(fd_seek(ctx_, 1, 0, kWhenceSet, 8), kSpipe);
  EXPECT_EQ(fd_tell(ctx_, 2, 8), kSpipe);
  EXPECT_EQ(fd_seek(ctx_, 1, 0, 7, 8), kInval);
  iovec(16, 1000, 1);
  EXPECT_EQ(fd_pread(ctx_, 0, 16, 1, 0, 8), kSpipe);
  EXPECT_EQ(fd_pwrite(ctx_, 1, 16, 1, 0, 8), kSpipe);
  EXPECT_EQ(fd_pwrite(ctx_, 0, 16, 1, 0, 8), kBadf);
  EXPECT_EQ(fd_pread(ctx_, 1, 16, 1, 0, 8), kBadf);
}

TEST_F(WasiTest, StdioFdstatIsNotATerminal) {
  ASSERT_EQ(fd_fdstat_get(ctx_, 1, 64), kSuccess);
  EXPECT_EQ(data_[64], kFiletypeUnknown);
  EXPECT_EQ(u64At(64 + 8), rights::kFdWrite);
  EXPECT_EQ(u64At(64 + 16), rights::kFdWrite);
  ASSERT_EQ(fd_fdstat_get(ctx_, 0, 64), kSuccess);
  EXPECT_EQ(u64At(64 + 8), rights::kFdRead);
  EXPECT_EQ(fd_fdstat_get(ctx_, 1, kMemSize - 10), kFault);
  EXPECT_EQ(fd_fdstat_set_flags(ctx_, 1, kFdflagAppend), kBadf);

  std::memset(&data_[128], 0xAA, 64);
  ASSERT_EQ(fd_filestat_get(ctx_, 2, 128), kSuccess);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(data_[128 + i], 0) << i;
}

TEST_F(WasiTest, CloseThenBadf) {
  ASSERT_EQ(fd_close(ctx_, 1), kSuccess);
  EXPECT_EQ(write(1, "x"), kBadf);
  EXPECT_EQ(fd_close(ctx_, 1), kBadf);
  EXPECT_EQ(fd_fdstat_get(ctx_, 1, 64), kBadf);
  ASSERT_EQ(write(2, "still"), kSuccess);
  EXPECT_EQ(fd_close(ctx_, 12345), kBadf);
}

TEST_F(WasiTest, RenumberMovesAndReplaces) {
  ASSERT_EQ(fd_renumber(ctx_, 2, 1), kSuccess);  // stderr now at 1, old stdout closed
  ASSERT_EQ(write(1, "to-stderr"), kSuccess);
  EXPECT_EQ(err_, "to-stderr");
  EXPECT_EQ(out_, "");
  EXPECT_EQ(write(2, "x"), kBadf);
  EXPECT_EQ(fd_renumber(ctx_, 2, 1), kBadf);
  ASSERT_EQ(fd_renumber(ctx_, 1, 40), kSuccess);
  ASSERT_EQ(write(40, "!"), kSuccess);
  EXPECT_EQ(err_, "to-stderr!");
  EXPECT_EQ(fd_renumber(ctx_, 40, 40), kSuccess);
}

TEST_F(WasiTest, UnknownFdEverywhere) {
  EXPECT_EQ(fd_fdstat_get(ctx_, 77, 64), kBadf);
  EXPECT_EQ(fd_filestat_get(ctx_, 77, 64), kBadf);
  EXPECT_EQ(fd_prestat_get(ctx_, 77, 64), kBadf);
  EXPECT_EQ(fd_prestat_dir_name(ctx_, 77, 64, 10), kBadf);
  EXPECT_EQ(fd_readdir(ctx_, 77, 64, 100, 0, 8), kBadf);
  EXPECT_EQ(fd_sync(ctx_, 77), kBadf);
  EXPECT_EQ(fd_advise(ctx_, 1, 0, 0, 0), kBadf);
  EXPECT_EQ(fd_allocate(ctx_, 1, 0, 0), kBadf);
  EXPECT_EQ(fd_fdstat_set_rights(ctx_, 1, 0, 0), kBadf);
  EXPECT_EQ(sock_accept(ctx_, 77, 0, 8), kBadf);
  EXPECT_EQ(sock_recv(ctx_, 1, 0, 0, 0, 0, 0), kNotsock);
  EXPECT_EQ(sock_send(ctx_, 1, 0, 0, 0, 0), kNotsock);
  EXPECT_EQ(sock_shutdown(ctx_, 0, 0), kNotsock);
}

TEST_F(WasiTest, PathOpenWithoutPreopen) {
  putStr(1000, "etc/passwd");
  EXPECT_EQ(path_open(ctx_, 3, 0, 1000, 10, 0, rights::kFdRead, 0, 0, 8), kBadf);
  EXPECT_EQ(path_open(ctx_, 1, 0, 1000, 10, 0, rights::kFdRead, 0, 0, 8), kBadf);
  EXPECT_EQ(path_open(ctx_, 3, 0, kMemSize - 2, 10, 0, rights::kFdRead, 0, 0, 8), kFault);
  EXPECT_EQ(path_filestat_get(ctx_, 3, 0, 1000, 10, 64), kBadf);
  EXPECT_EQ(path_unlink_file(ctx_, 3, 1000, 10), kBadf);
  EXPECT_EQ(fd_prestat_get(ctx_, 3, 64), kBadf);
}

TEST_F(WasiTest, ClocksAndRandom) {
  ASSERT_EQ(clock_time_get(ctx_, kClockRealtime, 0, 8), kSuccess);
  uint64_t now = u64At(8);
  auto host = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  EXPECT_LT(std::llabs(static_cast<long long>(now) - host), 1'000'000'000LL);
  ASSERT_EQ(clock_time_get(ctx_, kClockMonotonic, 0, 8), kSuccess);
  uint64_t m1 = u64At(8);
  ASSERT_EQ(clock_time_get(ctx_, kClockMonotonic, 0, 8), kSuccess);
  EXPECT_GE(u64At(8), m1);
  ASSERT_EQ(clock_res_get(ctx_, kClockMonotonic, 8), kSuccess);
  EXPECT_GE(u64At(8), 1u);
  EXPECT_EQ(clock_time_get(ctx_, kClockProcessCputime, 0, 8), kBadf);  // as wasmtime
  EXPECT_EQ(clock_res_get(ctx_, kClockThreadCputime, 8), kBadf);
  EXPECT_EQ(clock_time_get(ctx_, 4, 0, 8), kInval);
  EXPECT_EQ(clock_time_get(ctx_, kClockRealtime, 0, kMemSize - 4), kFault);

  ASSERT_EQ(random_get(ctx_, 1000, 64), kSuccess);
  int nonzero = 0;
  for (int i = 0; i < 64; ++i) nonzero += data_[1000 + i] != 0;
  EXPECT_GT(nonzero, 32);
  EXPECT_EQ(random_get(ctx_, kMemSize - 10, 11), kFault);
  EXPECT_EQ(random_get(ctx_, kMemSize, 0), kSuccess);
}

TEST_F(WasiTest, ProcFunctions) {
  proc_exit(ctx_, 42);
  EXPECT_EQ(ctx_.stop, JINN_STOP_EXIT);
  EXPECT_EQ(ctx_.exit_code, 42u);
  EXPECT_EQ(proc_raise(ctx_, 6), kNotsup);
  EXPECT_EQ(sched_yield(ctx_), kSuccess);
}

// poll_oneoff helpers: subscriptions at 4096, events at 8192, nevents at 8.
void clockSub(WasiTest* t, std::vector<uint8_t>& d, uint32_t i, uint64_t userdata, uint32_t id,
              uint64_t timeout, uint16_t flags) {
  uint32_t at = 4096 + i * 48;
  std::memset(&d[at], 0, 48);
  std::memcpy(&d[at], &userdata, 8);
  d[at + 8] = kEventtypeClock;
  std::memcpy(&d[at + 16], &id, 4);
  std::memcpy(&d[at + 24], &timeout, 8);
  std::memcpy(&d[at + 40], &flags, 2);
}
void fdSub(std::vector<uint8_t>& d, uint32_t i, uint64_t userdata, uint8_t type, uint32_t fd) {
  uint32_t at = 4096 + i * 48;
  std::memset(&d[at], 0, 48);
  std::memcpy(&d[at], &userdata, 8);
  d[at + 8] = type;
  std::memcpy(&d[at + 16], &fd, 4);
}

TEST_F(WasiTest, PollClockSleeps) {
  clockSub(this, data_, 0, 0xABCD, kClockMonotonic, 20'000'000, 0);  // 20 ms relative
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kSuccess);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(elapsed, std::chrono::milliseconds(20));
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
  EXPECT_EQ(u32At(8), 1u);
  EXPECT_EQ(u64At(8192), 0xABCDu);
  EXPECT_EQ(data_[8192 + 8], 0);
  EXPECT_EQ(data_[8192 + 10], kEventtypeClock);
}

TEST_F(WasiTest, PollEarliestOfTwoClocksAndAbsolute) {
  // Absolute realtime 10 ms from now, relative monotonic 5 s: only the first fires.
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  clockSub(this, data_, 0, 1, kClockMonotonic, 5'000'000'000ull, 0);
  clockSub(this, data_, 1, 2, kClockRealtime, static_cast<uint64_t>(now) + 10'000'000,
           kSubclockAbstime);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(poll_oneoff(ctx_, 4096, 8192, 2, 8), kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(u32At(8), 1u);
  EXPECT_EQ(u64At(8192), 2u);
}

TEST_F(WasiTest, PollNeverSleepsPastDeadline) {
  ctx_.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  clockSub(this, data_, 0, 1, kClockMonotonic, 10'000'000'000ull, 0);  // 10 s
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kSuccess);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(elapsed, std::chrono::milliseconds(1000));
  EXPECT_GE(elapsed, std::chrono::milliseconds(25));
  EXPECT_EQ(u32At(8), 0u);
}

TEST_F(WasiTest, PollStdioIsReady) {
  ctx_.stdin_data = "12345";
  clockSub(this, data_, 0, 1, kClockMonotonic, 10'000'000'000ull, 0);
  fdSub(data_, 1, 2, kEventtypeFdRead, 0);
  fdSub(data_, 2, 3, kEventtypeFdWrite, 1);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(poll_oneoff(ctx_, 4096, 8192, 3, 8), kSuccess);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  ASSERT_EQ(u32At(8), 2u);
  EXPECT_EQ(u64At(8192), 2u);
  EXPECT_EQ(data_[8192 + 10], kEventtypeFdRead);
  EXPECT_EQ(u64At(8192 + 16), 5u);
  EXPECT_EQ(u64At(8192 + 32), 3u);
  EXPECT_EQ(data_[8192 + 32 + 10], kEventtypeFdWrite);
}

TEST_F(WasiTest, PollErrors) {
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 0, 8), kInval);
  fdSub(data_, 0, 1, kEventtypeFdRead, 1);  // stdout is not readable
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kBadf);
  fdSub(data_, 0, 1, kEventtypeFdWrite, 42);
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kBadf);
  clockSub(this, data_, 0, 1, kClockProcessCputime, 0, 0);
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kInval);
  fdSub(data_, 0, 1, 9, 0);
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 1, 8), kInval);
  EXPECT_EQ(poll_oneoff(ctx_, kMemSize - 40, 8192, 1, 8), kFault);
  EXPECT_EQ(poll_oneoff(ctx_, 4096, kMemSize - 16, 1, 8), kFault);
  EXPECT_EQ(poll_oneoff(ctx_, 4096, 8192, 0x10000000, 8), kFault);
}

// --- preopens and the read-only file system ---

class PreopenTest : public WasiTest {
 protected:
  void SetUp() override {
    WasiTest::SetUp();
    char tmpl[] = "/tmp/jinn-wasi-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    std::filesystem::create_directories(root_ / "data" / "sub");
    std::filesystem::create_directories(root_ / "secret");
    std::ofstream(root_ / "data" / "hello.txt") << "hello, file";
    std::ofstream(root_ / "secret" / "key") << "nope";
    std::filesystem::create_symlink("../secret/key", root_ / "data" / "escape");
    std::filesystem::create_symlink("hello.txt", root_ / "data" / "link");
    preopens_.push_back({root_ / "data", "/data", false});
    preopens_.push_back({root_ / "data", "/rw", true});
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  u32 open(u32 dirfd, std::string_view path, uint64_t rights_base, u32 oflags = 0,
           u32 lookup = kLookupSymlinkFollow) {
    putStr(3000, path);
    return path_open(ctx_, dirfd, lookup, 3000, static_cast<u32>(path.size()), oflags, rights_base,
                     0, 0, 8);
  }

  std::filesystem::path root_;
};

TEST_F(PreopenTest, PrestatListing) {
  ASSERT_EQ(fd_prestat_get(ctx_, 3, 64), kSuccess);
  EXPECT_EQ(data_[64], kPreopentypeDir);
  EXPECT_EQ(u32At(68), 5u);
  ASSERT_EQ(fd_prestat_dir_name(ctx_, 3, 100, 5), kSuccess);
  EXPECT_EQ(strAt(100, 5), "/data");
  EXPECT_EQ(fd_prestat_dir_name(ctx_, 3, 100, 4), kNametoolong);
  EXPECT_EQ(fd_prestat_dir_name(ctx_, 3, kMemSize - 2, 5), kFault);
  ASSERT_EQ(fd_prestat_get(ctx_, 4, 64), kSuccess);
  EXPECT_EQ(u32At(68), 3u);
  EXPECT_EQ(fd_prestat_get(ctx_, 5, 64), kBadf);  // end of the list
  EXPECT_EQ(fd_prestat_get(ctx_, 1, 64), kBadf);
  EXPECT_EQ(fd_prestat_dir_name(ctx_, 1, 100, 10), kNotdir);
}

TEST_F(PreopenTest, PreopenFdstatRights) {
  ASSERT_EQ(fd_fdstat_get(ctx_, 3, 64), kSuccess);
  EXPECT_EQ(data_[64], kFiletypeDirectory);
  uint64_t ro = u64At(72);
  EXPECT_TRUE(ro & rights::kPathOpen);
  EXPECT_TRUE(ro & rights::kFdReaddir);
  EXPECT_FALSE(ro & rights::kPathCreateFile);
  EXPECT_FALSE(ro & rights::kPathUnlinkFile);
  ASSERT_EQ(fd_fdstat_get(ctx_, 4, 64), kSuccess);
  EXPECT_TRUE(u64At(72) & rights::kPathCreateFile);
  EXPECT_TRUE(u64At(80) & rights::kFdWrite);
  EXPECT_EQ(fd_fdstat_set_flags(ctx_, 3, 0), kBadf);
  EXPECT_EQ(fd_seek(ctx_, 3, 0, kWhenceSet, 8), kBadf);
  EXPECT_EQ(fd_fdstat_set_rights(ctx_, 3, 0, 0), kSuccess);
  ASSERT_EQ(fd_filestat_get(ctx_, 3, 128), kSuccess);
  EXPECT_EQ(data_[128 + 16], kFiletypeDirectory);
}

TEST_F(PreopenTest, ReadOnlyOpenReadSeekClose) {
  ASSERT_EQ(open(3, "hello.txt", rights::kFdRead | rights::kFdSeek), kSuccess);
  u32 fd = u32At(8);
  EXPECT_EQ(fd, 5u);
  iovec(16, 1000, 5);
  ASSERT_EQ(fd_read(ctx_, fd, 16, 1, 8), kSuccess);
  EXPECT_EQ(u32At(8), 5u);
  EXPECT_EQ(strAt(1000, 5), "hello");
  ASSERT_EQ(fd_tell(ctx_, fd, 40), kSuccess);
  EXPECT_EQ(u64At(40), 5u);
  ASSERT_EQ(fd_seek(ctx_, fd, static_cast<uint64_t>(-4), kWhenceEnd, 40), kSuccess);
  EXPECT_EQ(u64At(40), 7u);
  ASSERT_EQ(fd_read(ctx_, fd, 16, 1, 8), kSuccess);
  EXPECT_EQ(strAt(1000, 4), "file");
  ASSERT_EQ(fd_pread(ctx_, fd, 16, 1, 7, 8), kSuccess);
  EXPECT_EQ(strAt(1000, 4), "file");
  ASSERT_EQ(fd_filestat_get(ctx_, fd, 128), kSuccess);
  EXPECT_EQ(data_[128 + 16], kFiletypeRegularFile);
  EXPECT_EQ(u64At(128 + 32), 11u);
  ASSERT_EQ(fd_fdstat_get(ctx_, fd, 64), kSuccess);
  EXPECT_EQ(data_[64], kFiletypeRegularFile);
  EXPECT_FALSE(u64At(72) & rights::kFdWrite);
  EXPECT_EQ(write(fd, "x"), kBadf);
  EXPECT_EQ(open(fd, "x", rights::kFdRead), kNotdir);
  ASSERT_EQ(fd_close(ctx_, fd), kSuccess);
  EXPECT_EQ(fd_read(ctx_, fd, 16, 1, 8), kBadf);
}

TEST_F(PreopenTest, ConfinementAndReadOnly) {
  EXPECT_EQ(open(3, "../secret/key", rights::kFdRead), kPerm);
  EXPECT_EQ(open(3, "/etc/passwd", rights::kFdRead), kPerm);
  EXPECT_EQ(open(3, "escape", rights::kFdRead), kPerm);
  EXPECT_EQ(open(3, "missing", rights::kFdRead), 44u);       // NOENT
  EXPECT_EQ(open(3, "link", rights::kFdRead, 0, 0), 32u);    // LOOP: not following
  EXPECT_EQ(open(3, "link", rights::kFdRead), kSuccess);     // following
  EXPECT_EQ(open(3, "hello.txt", rights::kFdWrite), kPerm);  // read-only preopen
  EXPECT_EQ(open(3, "new", rights::kFdRead, kOflagCreat), kPerm);
  EXPECT_EQ(open(3, "hello.txt", rights::kFdRead, kOflagDirectory), kNotdir);
  putStr(3000, "\xff");
  EXPECT_EQ(path_open(ctx_, 3, 0, 3000, 1, 0, rights::kFdRead, 0, 0, 8), 25u);  // ILSEQ
  putStr(3000, "new");
  EXPECT_EQ(path_create_directory(ctx_, 3, 3000, 3), kPerm);
  EXPECT_EQ(path_create_directory(ctx_, 4, 3000, 3), kSuccess);  // same tree, writable
  EXPECT_TRUE(std::filesystem::is_directory(root_ / "data" / "new"));
  EXPECT_EQ(path_unlink_file(ctx_, 3, 3000, 3), kPerm);
  EXPECT_EQ(path_rename(ctx_, 3, 3000, 3, 4, 3000, 3), kPerm);
  EXPECT_EQ(path_remove_directory(ctx_, 1, 3000, 3), kBadf);
}

TEST_F(PreopenTest, WritablePreopenWrites) {
  ASSERT_EQ(open(4, "out.txt", rights::kFdWrite | rights::kFdRead, kOflagCreat | kOflagTrunc),
            kSuccess);
  u32 fd = u32At(8);
  ASSERT_EQ(write(fd, "written"), kSuccess);
  ASSERT_EQ(fd_close(ctx_, fd), kSuccess);
  std::ifstream in(root_ / "data" / "out.txt");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(s, "written");
}

TEST_F(PreopenTest, DirectoriesStatReadlinkReaddir) {
  putStr(3000, "link");
  ASSERT_EQ(path_filestat_get(ctx_, 3, 0, 3000, 4, 128), kSuccess);
  EXPECT_EQ(data_[128 + 16], kFiletypeSymbolicLink);
  ASSERT_EQ(path_filestat_get(ctx_, 3, kLookupSymlinkFollow, 3000, 4, 128), kSuccess);
  EXPECT_EQ(data_[128 + 16], kFiletypeRegularFile);
  ASSERT_EQ(path_readlink(ctx_, 3, 3000, 4, 5000, 100, 8), kSuccess);
  EXPECT_EQ(u32At(8), 9u);
  EXPECT_EQ(strAt(5000, 9), "hello.txt");

  ASSERT_EQ(open(3, "sub", rights::kFdReaddir, kOflagDirectory), kSuccess);
  u32 sub = u32At(8);
  ASSERT_EQ(fd_fdstat_get(ctx_, sub, 64), kSuccess);
  EXPECT_EQ(data_[64], kFiletypeDirectory);
  EXPECT_EQ(open(sub, "../hello.txt", rights::kFdRead), kPerm);  // beneath `sub` now

  ASSERT_EQ(fd_readdir(ctx_, 3, 6000, 4000, 0, 8), kSuccess);
  u32 used = u32At(8);
  std::vector<std::string> names;
  for (u32 at = 6000; at < 6000 + used;) {
    u32 len = u32At(at + 16);
    names.push_back(strAt(at + 24, len));
    at += 24 + len;
  }
  std::sort(names.begin() + 2, names.end());
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "escape", "hello.txt", "link", "sub"}));
  // A small buffer is filled completely; the cookie resumes after an entry.
  ASSERT_EQ(fd_readdir(ctx_, 3, 6000, 30, 0, 8), kSuccess);
  EXPECT_EQ(u32At(8), 30u);
  // Cookie 2 resumes after ".." at the first host entry.
  const u32 third = 6000 + 24 + 1 + 24 + 2;
  std::string third_name = strAt(third + 24, u32At(third + 16));
  ASSERT_EQ(fd_readdir(ctx_, 3, 9000, 4000, 2, 8), kSuccess);
  EXPECT_EQ(strAt(9000 + 24, u32At(9000 + 16)), third_name);
}

TEST_F(PreopenTest, MissingHostDirectory) {
  preopens_[0].host_path = root_ / "does-not-exist";
  EXPECT_EQ(open(3, "x", rights::kFdRead), 44u);
  ASSERT_EQ(fd_prestat_get(ctx_, 3, 64), kSuccess);  // listing still works
}

TEST_F(PreopenTest, OpenLimit) {
  u32 last = 0;
  for (size_t i = 0; i < FdTable::kMaxOpenFiles; ++i) {
    ASSERT_EQ(open(3, "hello.txt", rights::kFdRead), kSuccess) << i;
    last = u32At(8);
  }
  EXPECT_EQ(open(3, "hello.txt", rights::kFdRead), 33u);  // MFILE
  ASSERT_EQ(fd_close(ctx_, last - 3), kSuccess);
  ASSERT_EQ(open(3, "hello.txt", rights::kFdRead), kSuccess);
  EXPECT_EQ(u32At(8), last - 3);  // the closed number is reused
}

TEST(ErrnoTest, HostMapping) {
  EXPECT_EQ(errnoFromHost(ENOENT), Errno::kNoent);
  EXPECT_EQ(errnoFromHost(EXDEV), Errno::kXdev);
  EXPECT_EQ(errnoFromHost(ESPIPE), Errno::kSpipe);
  EXPECT_EQ(errnoFromHost(EOPNOTSUPP), Errno::kNotsup);
  EXPECT_EQ(errnoFromHost(0), Errno::kSuccess);
  EXPECT_EQ(errnoFromHost(99999), Errno::kIo);
  EXPECT_EQ(toWasm(Errno::kNotcapable), 76u);
}

}  // namespace
}  // namespace jinn::wasi
