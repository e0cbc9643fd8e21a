// libFuzzer target for WASI path resolution inside a preopen (src/wasi/path.cc
// and the fd calls that use what it opens), called as the runtime calls it: a
// Context with a fake guest memory, as in tests/unit/wasi.
//
// Two preopens: /ro (fd 3) is a read-only tree full of symlinks, in and out
// of it; /rw (fd 4) is a writable scratch directory, rebuilt for every input.
// Next to them, outside both, lies a directory whose file holds a marker.
// The input is a little program of WASI calls (path_open, path_filestat_get,
// path_readlink, fd_read, fd_readdir, fd_close, the mutating path calls, and
// out-of-bounds pointers) on fds the earlier calls returned.
//
// The property: nothing outside the tree is ever opened or seen. After every
// call, each host descriptor the process gained is resolved through
// /proc/self/fd and must lie beneath the preopen the guest fd descends from;
// no stat result may be one of the outside inodes; no read may return the
// marker. And every descriptor is closed when the Context is.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "invariant.h"
#include "wasi/types.h"
#include "wasi/wasi.h"

namespace {

namespace fs = std::filesystem;
using namespace jinn::wasi;
using jinn::fuzz::check;

constexpr std::string_view kMarker = "OUTSIDE-THE-PREOPEN";
constexpr uint32_t kMemSize = 65536;
// Guest memory layout.
constexpr uint32_t kOut = 16;        // u32 results
constexpr uint32_t kIovec = 32;      // one iovec
constexpr uint32_t kStat = 64;       // a $filestat (64 bytes)
constexpr uint32_t kPath = 1024;     // first path
constexpr uint32_t kPath2 = 2048;    // second path
constexpr uint32_t kBuf = 4096;      // read / readdir / readlink buffer
constexpr uint32_t kBufSize = 8192;

struct Jail {
  fs::path base;     // the parent of all below
  fs::path tree;     // the read-only preopen
  fs::path scratch;  // the writable preopen
  std::set<std::pair<dev_t, ino_t>> outside;  // inodes no call may reach

  Jail() {
    char tmpl[] = "/tmp/jinn-wasi-fuzz-XXXXXX";
    const char* made = mkdtemp(tmpl);
    check(made != nullptr, "cannot create the jail");
    base = fs::canonical(made);
    tree = base / "tree";
    scratch = base / "scratch";
    const fs::path out = base / "outside";
    fs::create_directories(out / "dir");
    std::ofstream(out / "secret") << kMarker;
    std::ofstream(out / "dir" / "secret") << kMarker;

    fs::create_directories(tree / "sub" / "deeper");
    std::ofstream(tree / "file.txt") << "inside";
    std::ofstream(tree / "sub" / "inner.txt") << "inner";
    fs::create_directory_symlink("sub", tree / "link_dir");
    fs::create_symlink("sub/inner.txt", tree / "link_in");
    fs::create_directory_symlink("..", tree / "link_up");
    fs::create_symlink("../outside/secret", tree / "link_out");
    fs::create_directory_symlink("../../outside", tree / "sub" / "link_upup");
    fs::create_symlink(out / "secret", tree / "link_abs");
    fs::create_directory_symlink("/", tree / "link_root");
    fs::create_directory_symlink("/proc/self/root", tree / "link_proc");
    fs::create_symlink("link_loop", tree / "link_loop");
    fs::create_directory_symlink(".", tree / "link_dot");
    fs::create_symlink("sub/../../outside/dir/secret", tree / "link_mixed");
    check(mkfifo((tree / "fifo").c_str(), 0600) == 0, "cannot create a FIFO");

    for (const fs::path& p : {base, out, out / "dir", out / "secret", out / "dir" / "secret",
                              fs::path("/"), fs::path("/etc"), fs::path("/proc")}) {
      struct stat st {};
      check(stat(p.c_str(), &st) == 0, "cannot stat an outside path");
      outside.insert({st.st_dev, st.st_ino});
    }
  }
  ~Jail() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  void resetScratch() const {
    std::error_code ec;
    fs::remove_all(scratch, ec);
    fs::create_directories(scratch / "d");
    std::ofstream(scratch / "f") << "scratch";
    fs::create_directory_symlink("../outside", scratch / "link_out");
    fs::create_directory_symlink("../tree", scratch / "link_tree");
  }
};

const Jail& jail() {
  static const Jail j;
  return j;
}

std::map<int, std::string> openFds() {
  std::map<int, std::string> fds;
  DIR* dir = opendir("/proc/self/fd");
  check(dir != nullptr, "cannot list /proc/self/fd");
  const int own = dirfd(dir);
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char target[4096];
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    fds[fd] = n < 0 ? std::string() : std::string(target, static_cast<size_t>(n));
  }
  closedir(dir);
  return fds;
}

bool beneath(const std::string& path, const fs::path& root) {
  const std::string r = root.string();
  return path == r || (path.size() > r.size() && path.compare(0, r.size(), r) == 0 &&
                       path[r.size()] == '/');
}

// Reads the input front to back; past the end, zeros.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u16() { return byte() | (uint32_t{byte()} << 8); }
  std::string_view string() {
    const size_t n = std::min<size_t>(byte(), size_ - std::min(pos_, size_));
    std::string_view s(reinterpret_cast<const char*>(data_) + pos_, n);
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class Program {
 public:
  Program() {
    memory_.assign(kMemSize, 0);
    mem_.data = memory_.data();
    mem_.pages = 1;
    mem_.max_pages = 1;
    mem_.size = kMemSize;
    preopens_ = {{jail().tree, "/ro", false}, {jail().scratch, "/rw", true}};
    ctx_.memory = &mem_;
    ctx_.args = &args_;
    ctx_.env = &env_;
    ctx_.preopens = &preopens_;
    ctx_.stdout_data = &out_;
    ctx_.stderr_data = &out_;
    ctx_.stdout_cap = 1 << 16;
    ctx_.stderr_cap = 1 << 16;
    roots_[3] = jail().tree;
    roots_[4] = jail().scratch;
  }

  void run(Input& in, const std::map<int, std::string>& before) {
    for (int step = 0; step < 64 && !in.done(); ++step) {
      const uint8_t op = in.byte();
      const uint32_t fd = pickFd(in.byte());
      switch (op % 9) {
        case 0: open(in, fd); break;
        case 1: filestat(in, fd); break;
        case 2: readlinkAt(in, fd); break;
        case 3: read(fd); break;
        case 4: readdir(fd, in.byte()); break;
        case 5: close(fd); break;
        case 6: mutate(in, fd); break;
        case 7: badPointers(in, fd); break;
        case 8: preopenName(fd, in.byte()); break;
      }
      checkDescriptors(before);
    }
  }

 private:
  // Mostly the preopens and what was opened; sometimes stdio or a stray number.
  uint32_t pickFd(uint8_t b) {
    if (b < 200 && !roots_.empty()) {
      auto it = roots_.begin();
      std::advance(it, b % roots_.size());
      return it->first;
    }
    return b % 16;
  }

  uint32_t putPath(uint32_t at, std::string_view path) {
    std::memcpy(&memory_[at], path.data(), path.size());
    return static_cast<uint32_t>(path.size());
  }

  uint32_t load32(uint32_t at) const {
    uint32_t v;
    std::memcpy(&v, &memory_[at], 4);
    return v;
  }

  void open(Input& in, uint32_t fd) {
    const uint32_t dirflags = in.byte() & 1;
    const uint32_t oflags = in.byte() & 0xF;
    const uint8_t r = in.byte();
    uint64_t rights = rights::kFdReaddir;
    if (r & 1) rights |= rights::kFdRead;
    if (r & 2) rights |= rights::kFdWrite;
    const uint32_t fdflags = in.byte() & 0x1F;
    const uint32_t len = putPath(kPath, in.string());
    const std::map<int, std::string> before = openFds();
    const uint32_t err =
        path_open(ctx_, fd, dirflags, kPath, len, oflags, rights, ~0ull, fdflags, kOut);
    std::map<int, std::string> after = openFds();
    if (err != 0) return;
    // The one new host descriptor (the preopen's may be new too) lies
    // beneath the root the directory fd descends from.
    auto root = roots_.find(fd);
    check(root != roots_.end(), "path_open succeeded on a fd that is no directory");
    for (const auto& [host, path] : after) {
      if (before.count(host) == 0) {
        check(beneath(path, root->second), "path_open opened something outside its preopen");
      }
    }
    // Every opened fd is tried as a directory later (a file must give NOTDIR).
    roots_[load32(kOut)] = root->second;
  }

  void checkStat() {
    uint64_t dev, ino;
    std::memcpy(&dev, &memory_[kStat], 8);
    std::memcpy(&ino, &memory_[kStat + 8], 8);
    check(jail().outside.count({static_cast<dev_t>(dev), static_cast<ino_t>(ino)}) == 0,
          "a stat result is an inode outside the preopen");
  }

  void filestat(Input& in, uint32_t fd) {
    const uint32_t lookup = in.byte() & 1;
    const uint32_t len = putPath(kPath, in.string());
    std::memset(&memory_[kStat], 0, 64);
    if (path_filestat_get(ctx_, fd, lookup, kPath, len, kStat) == 0) checkStat();
  }

  void readlinkAt(Input& in, uint32_t fd) {
    const uint32_t len = putPath(kPath, in.string());
    const uint32_t buf_len = in.u16() % (kBufSize + 16);  // sometimes past the memory
    (void)path_readlink(ctx_, fd, kPath, len, kBuf, buf_len, kOut);
  }

  void read(uint32_t fd) {
    put32(kIovec, kBuf);
    put32(kIovec + 4, kBufSize);
    std::memset(&memory_[kBuf], 0, kBufSize);
    if (fd_read(ctx_, fd, kIovec, 1, kOut) != 0) return;
    const uint32_t n = load32(kOut);
    check(n <= kBufSize, "fd_read reports more than the buffer");
    const std::string_view got(reinterpret_cast<const char*>(&memory_[kBuf]), n);
    check(got.find(kMarker) == std::string_view::npos, "read a file outside the preopen");
    std::memset(&memory_[kStat], 0, 64);
    if (fd_filestat_get(ctx_, fd, kStat) == 0) checkStat();
  }

  void readdir(uint32_t fd, uint8_t cookie) {
    (void)fd_readdir(ctx_, fd, kBuf, kBufSize, cookie % 8, kOut);
  }

  void close(uint32_t fd) {
    if (fd_close(ctx_, fd) == 0) roots_.erase(fd);
  }

  void mutate(Input& in, uint32_t fd) {
    const uint8_t which = in.byte();
    const uint32_t len = putPath(kPath, in.string());
    const uint32_t len2 = putPath(kPath2, in.string());
    switch (which % 4) {
      case 0: (void)path_create_directory(ctx_, fd, kPath, len); break;
      case 1: (void)path_unlink_file(ctx_, fd, kPath, len); break;
      case 2: (void)path_symlink(ctx_, kPath2, len2, fd, kPath, len); break;
      case 3: (void)path_rename(ctx_, fd, kPath, len, fd, kPath2, len2); break;
    }
  }

  void badPointers(Input& in, uint32_t fd) {
    const uint32_t ptr = kMemSize - (in.byte() % 8);
    const uint32_t len = 1 + in.byte() % 16;
    const uint32_t err = path_open(ctx_, fd, 0, ptr, len, 0, rights::kFdRead, 0, 0, kOut);
    check(err != 0, "path_open read a path past the end of memory");
    const uint32_t err2 = path_open(ctx_, fd, 0, kPath, 1, 0, rights::kFdRead, 0, 0, kMemSize - 2);
    check(err2 != 0, "path_open wrote its result past the end of memory");
  }

  void preopenName(uint32_t fd, uint8_t len) {
    (void)fd_prestat_dir_name(ctx_, fd, kBuf, len % 8);
  }

  void put32(uint32_t at, uint32_t v) { std::memcpy(&memory_[at], &v, 4); }

  void checkDescriptors(const std::map<int, std::string>& before) {
    for (const auto& [host, path] : openFds()) {
      if (before.count(host)) continue;
      check(beneath(path, jail().tree) || beneath(path, jail().scratch),
            "a host descriptor points outside both preopens");
    }
  }

  std::vector<uint8_t> memory_;
  wasm_rt_memory_t mem_{};
  std::vector<std::string> args_{"fuzz"};
  std::vector<std::string> env_;
  std::vector<jinn::Preopen> preopens_;
  std::string out_;
  std::map<uint32_t, fs::path> roots_;  // guest fd -> the preopen it descends from
  Context ctx_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  jail().resetScratch();
  const std::map<int, std::string> before = openFds();
  {
    Input in(data, size);
    Program program;
    program.run(in, before);
  }
  check(openFds() == before, "a host descriptor outlived its Context");
  return 0;
}
