#include "wasi/fd_table.h"

#include <unistd.h>

#include <algorithm>

namespace jinn::wasi {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(std::exchange(other.fd_, -1));
  return *this;
}

void UniqueFd::reset(int fd) {
  // close() is not retried on EINTR: on Linux the descriptor is gone anyway.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

void DirCloser::operator()(DIR* d) const {
  if (d != nullptr) closedir(d);
}

void FdTable::init(const std::vector<Preopen>* preopens) {
  size_t n = 3 + (preopens != nullptr ? preopens->size() : 0);
  entries_.reserve(n);
  const FdKind stdio[] = {FdKind::kStdin, FdKind::kStdout, FdKind::kStderr};
  for (uint32_t fd = 0; fd < 3; ++fd) {
    FdEntry e;
    e.kind = stdio[fd];
    e.readable = fd == 0;
    e.writable = fd != 0;
    entries_.emplace_back(fd, std::move(e));
  }
  if (preopens != nullptr) {
    for (size_t i = 0; i < preopens->size(); ++i) {
      FdEntry e;
      e.kind = FdKind::kDirectory;
      e.preopen = static_cast<int32_t>(i);
      e.readable = true;
      e.tree_writable = (*preopens)[i].writable;
      entries_.emplace_back(static_cast<uint32_t>(3 + i), std::move(e));
    }
  }
  initial_ = entries_.size();
  initialized_ = true;
}

FdTable::Entries::iterator FdTable::find(uint32_t fd) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), fd,
                             [](const Slot& s, uint32_t f) { return s.first < f; });
  return (it != entries_.end() && it->first == fd) ? it : entries_.end();
}

FdEntry* FdTable::get(uint32_t fd) {
  auto it = find(fd);
  return it == entries_.end() ? nullptr : &it->second;
}

Errno FdTable::insert(FdEntry entry, uint32_t* fd) {
  // Bounding the whole table (not just path_open's) keeps the invariant simple
  // even when the guest closes stdio and opens files in its place.
  if (entries_.size() >= initial_ + kMaxOpenFiles) return Errno::kMfile;
  uint32_t number = 0;
  if (!free_.empty()) {
    auto max = std::max_element(free_.begin(), free_.end());
    number = *max;
    free_.erase(max);
  } else if (!entries_.empty()) {
    if (entries_.back().first == UINT32_MAX) return Errno::kMfile;
    number = entries_.back().first + 1;
  }
  auto pos = std::lower_bound(entries_.begin(), entries_.end(), number,
                              [](const Slot& s, uint32_t f) { return s.first < f; });
  entries_.emplace(pos, number, std::move(entry));
  *fd = number;
  return Errno::kSuccess;
}

Errno FdTable::close(uint32_t fd) {
  auto it = find(fd);
  if (it == entries_.end()) return Errno::kBadf;
  entries_.erase(it);
  release(fd);
  return Errno::kSuccess;
}

Errno FdTable::renumber(uint32_t from, uint32_t to) {
  auto it = find(from);
  if (it == entries_.end()) return Errno::kBadf;
  if (from == to) return Errno::kSuccess;
  FdEntry moved = std::move(it->second);
  entries_.erase(it);
  release(from);
  std::erase(free_, to);
  if (FdEntry* existing = get(to)) {
    *existing = std::move(moved);  // the old `to` host fd is closed here
  } else {
    auto pos = std::lower_bound(entries_.begin(), entries_.end(), to,
                                [](const Slot& s, uint32_t f) { return s.first < f; });
    entries_.emplace(pos, to, std::move(moved));
  }
  return Errno::kSuccess;
}

void FdTable::release(uint32_t fd) {
  if (free_.size() >= kMaxRememberedFree) {
    free_.erase(std::min_element(free_.begin(), free_.end()));
  }
  free_.push_back(fd);
}

}  // namespace jinn::wasi
