// The guest's file descriptor table for one call: stdio (0-2), the preopened
// directories (3.. in CallOptions::preopens order) and what path_open adds.
//
// Built lazily on first use from the Context inputs, so a call that never
// touches an fd costs nothing. Host descriptors are owned (UniqueFd) and all
// closed when the table is destroyed with its Context.
#pragma once

#include <dirent.h>

#include <boost/container/small_vector.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinn/jinn.h"
#include "wasi/errno.h"

namespace jinn::wasi {

// An owned host file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1);
  // Gives up ownership without closing.
  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

enum class FdKind : uint8_t {
  kStdin,      // reads Context::stdin_data
  kStdout,     // appends to Context::stdout_data
  kStderr,     // appends to Context::stderr_data
  kDirectory,  // a preopen or a directory from path_open
  kFile,       // a regular file from path_open
};

// An owned directory stream (fd_readdir), closed on destruction.
struct DirCloser {
  void operator()(DIR* d) const;
};
using DirStream = std::unique_ptr<DIR, DirCloser>;

struct FdEntry {
  FdKind kind = FdKind::kStdin;
  // Host descriptor for kDirectory/kFile. A preopen's is opened on first use.
  UniqueFd host;
  // Index in Context::preopens for a preopened directory, else -1.
  int32_t preopen = -1;
  // kFile: opened for reading / writing (wasmtime's open mode).
  bool readable = false;
  bool writable = false;
  // Whether this file or directory, and anything beneath a directory, may be
  // created, modified or removed: the writability of the preopen it came from.
  bool tree_writable = false;
  bool append = false;
  bool nonblock = false;
  uint16_t sync_flags = 0;  // kFile: the DSYNC/RSYNC/SYNC fdflags it was opened with
  // kDirectory: identity of the preopen directory this one lies beneath
  // (path_symlink refuses targets that climb above it). Set when known.
  bool root_known = false;
  uint64_t root_dev = 0;
  uint64_t root_ino = 0;
  // kDirectory: the stream fd_readdir reads, opened on first use.
  DirStream dir_stream;
};

class FdTable {
 public:
  // Descriptors that path_open may add on top of stdio and the preopens.
  static constexpr size_t kMaxOpenFiles = 128;
  // Closed numbers remembered for reuse; bounded so a guest renumbering in a
  // loop cannot grow host memory without limit (only reuse order changes).
  static constexpr size_t kMaxRememberedFree = 1024;

  bool initialized() const { return initialized_; }
  // Creates stdio and one directory entry per preopen (host fds not opened).
  void init(const std::vector<Preopen>* preopens);

  // The entry for `fd`, or nullptr if it is not open.
  FdEntry* get(uint32_t fd);
  // Adds an entry under the lowest-cost number (a closed one first, like
  // wasmtime: the highest closed number, else one past the highest in use).
  // kMfile past kMaxOpenFiles.
  Errno insert(FdEntry entry, uint32_t* fd);
  // Closes `fd` (and its host descriptor). kBadf if not open.
  Errno close(uint32_t fd);
  // wasmtime semantics: `from` must be open; it replaces whatever `to` was
  // (closing it) and `from` becomes free. from == to is a no-op.
  Errno renumber(uint32_t from, uint32_t to);

  size_t size() const { return entries_.size(); }

 private:
  using Slot = std::pair<uint32_t, FdEntry>;  // kept sorted by fd
  // Stdio and a preopen or two in place: a table is made for every call, and
  // a heap block for it was one of the call's few allocations.
  using Entries = boost::container::small_vector<Slot, 4>;
  Entries::iterator find(uint32_t fd);

  void release(uint32_t fd);

  Entries entries_;
  std::vector<uint32_t> free_;  // closed numbers, reused before new ones
  size_t initial_ = 0;          // stdio + preopens
  bool initialized_ = false;
};

}  // namespace jinn::wasi
