// The path_* functions. Every lookup is confined beneath its directory fd by
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): "..", absolute paths and
// symlinks that leave the tree fail in the kernel (EXDEV, reported as
// kErrnoOutside like wasmtime's "a path led outside of the filesystem").
//
// Mutating operations never resolve their last component: they open the
// *parent* directory confined (an O_PATH descriptor, which pins it against
// later renames and symlink swaps) and act on the last name with one *at()
// call that does not follow a symlink there. A read-only tree refuses them
// before touching the host (kErrnoReadOnly).
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "wasi/internal.h"
#include "wasi/wasi.h"

namespace jinn::wasi {
namespace {

using internal::fdTable;
using internal::guarded;
using internal::hostFd;
using internal::memoryOf;

// Reads a path argument: kFault out of bounds, kIlseq if not UTF-8 (wasmtime
// takes paths as strings), kInval with an embedded NUL (no host path can).
Errno readPath(Context& ctx, u32 ptr, u32 len, std::string* out) {
  std::string_view view;
  if (!memoryOf(ctx).view(ptr, len, &view)) return Errno::kFault;
  if (!internal::validUtf8(view)) return Errno::kIlseq;
  if (view.find('\0') != std::string_view::npos) return Errno::kInval;
  out->assign(view);
  return Errno::kSuccess;
}

// The directory entry a path is resolved against (wasmtime's get_dir_fd).
FdEntry* dirEntry(Context& ctx, u32 fd, Errno* err) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr || e->kind != FdKind::kDirectory) {
    *err = Errno::kBadf;
    return nullptr;
  }
  return e;
}

// openat2 confined beneath `dirfd`; returns the new fd or -1 with errno set.
int openBeneath(int dirfd, const char* path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags;
  // openat2 rejects a mode without O_CREAT (unlike openat, which ignores it).
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a concurrent rename raced a ".." step; the kernel asks us to
  // retry. Bounded, so a guest renaming in a loop cannot pin this call.
  constexpr int kMaxRetries = 64;
  long r = -1;
  for (int attempt = 0; attempt < kMaxRetries; ++attempt) {
    r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (r >= 0 || (errno != EINTR && errno != EAGAIN)) break;
  }
  return static_cast<int>(r);
}

// What wasmtime's open_at does with oflags, rights and fdflags, in its order.
Errno pathOpen(Context& ctx, u32 dirfd, u32 dirflags, u32 path_ptr, u32 path_len, u32 oflags,
               uint64_t rights_base, uint32_t fdflags, u32 out) {
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  FdEntry* dir = fdTable(ctx).get(dirfd);
  if (dir == nullptr) return Errno::kBadf;
  if (dir->kind == FdKind::kFile) return Errno::kNotdir;
  if (dir->kind != FdKind::kDirectory) return Errno::kBadf;
  if (!memoryOf(ctx).contains(out, 4)) return Errno::kFault;

  // wasmtime looks at FD_READ and FD_WRITE only; the other rights are
  // accepted and ignored. CREAT and TRUNC open for writing too, and a
  // descriptor not opened for writing is opened for reading.
  const bool write_right = (rights_base & rights::kFdWrite) != 0;
  const bool creat = (oflags & kOflagCreat) != 0;
  const bool trunc = (oflags & kOflagTrunc) != 0;
  const bool want_write = write_right || creat || trunc;
  const bool want_read = (rights_base & rights::kFdRead) != 0 || !write_right;
  // APPEND is refused too (wasmtime would fail at the first write instead).
  if (!dir->tree_writable && (want_write || (fdflags & kFdflagAppend) != 0)) {
    return kErrnoReadOnly;
  }
  if ((oflags & kOflagDirectory) != 0 && (oflags & (kOflagCreat | kOflagExcl | kOflagTrunc)) != 0) {
    return Errno::kInval;
  }

  // O_NONBLOCK so that opening a FIFO cannot hang the call; it has no effect
  // on the regular files and directories that are kept (wasmtime sets it on
  // every file too).
  uint64_t flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  flags |= want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (creat) flags |= O_CREAT;
  if (oflags & kOflagExcl) flags |= O_EXCL;
  if (trunc) flags |= O_TRUNC;
  if (oflags & kOflagDirectory) flags |= O_DIRECTORY;
  if ((dirflags & kLookupSymlinkFollow) == 0) flags |= O_NOFOLLOW;
  if (fdflags & kFdflagAppend) flags |= O_APPEND;
  // Honoured, where wasmtime answers NOTSUP (see README).
  if (fdflags & kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & (kFdflagSync | kFdflagRsync)) flags |= O_SYNC;  // O_RSYNC == O_SYNC on Linux

  int parent = -1;
  if (Errno err = hostFd(ctx, *dir, &parent); err != Errno::kSuccess) return err;
  UniqueFd host(openBeneath(parent, path.c_str(), flags, 0666));
  if (!host.valid()) return errnoFromLookup(errno);
  struct stat st {};
  if (fstat(host.get(), &st) != 0) return errnoFromHost(errno);

  FdEntry entry;
  entry.host = std::move(host);
  entry.tree_writable = dir->tree_writable;
  if (S_ISDIR(st.st_mode)) {
    entry.kind = FdKind::kDirectory;
    entry.readable = true;
    entry.root_known = dir->root_known;
    entry.root_dev = dir->root_dev;
    entry.root_ino = dir->root_ino;
  } else if (S_ISREG(st.st_mode)) {
    entry.kind = FdKind::kFile;
    entry.readable = want_read;
    entry.writable = want_write;
    entry.append = (fdflags & kFdflagAppend) != 0;
    entry.nonblock = (fdflags & kFdflagNonblock) != 0;
    entry.sync_flags = fdflags & (kFdflagDsync | kFdflagRsync | kFdflagSync);
  } else {
    // Devices, FIFOs and sockets are not served (no blocking host I/O here).
    return Errno::kNotsup;
  }
  uint32_t fd = 0;
  if (Errno err = fdTable(ctx).insert(std::move(entry), &fd); err != Errno::kSuccess) return err;
  (void)memoryOf(ctx).store32(out, fd);
  return Errno::kSuccess;
}

// An O_PATH handle on the path itself (the link when not following).
Errno openPathHandle(Context& ctx, FdEntry& dir, const std::string& path, bool follow,
                     UniqueFd* out) {
  int parent = -1;
  if (Errno err = hostFd(ctx, dir, &parent); err != Errno::kSuccess) return err;
  uint64_t flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  out->reset(openBeneath(parent, path.c_str(), flags, 0));
  return out->valid() ? Errno::kSuccess : errnoFromLookup(errno);
}

Errno pathFilestatGet(Context& ctx, u32 dirfd, u32 lookup, u32 path_ptr, u32 path_len, u32 out) {
  Errno err = Errno::kSuccess;
  FdEntry* dir = dirEntry(ctx, dirfd, &err);
  if (dir == nullptr) return err;
  std::string path;
  if (err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.contains(out, layout::kFilestatSize)) return Errno::kFault;
  UniqueFd handle;
  if (err = openPathHandle(ctx, *dir, path, (lookup & kLookupSymlinkFollow) != 0, &handle);
      err != Errno::kSuccess) {
    return err;
  }
  struct stat st {};
  if (fstat(handle.get(), &st) != 0) return errnoFromHost(errno);
  return internal::writeFilestat(mem, out, st) ? Errno::kSuccess : Errno::kFault;
}

Errno pathReadlink(Context& ctx, u32 dirfd, u32 path_ptr, u32 path_len, u32 buf, u32 buf_len,
                   u32 used_ptr) {
  Errno err = Errno::kSuccess;
  FdEntry* dir = dirEntry(ctx, dirfd, &err);
  if (dir == nullptr) return err;
  std::string path;
  if (err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.contains(buf, buf_len) || !mem.contains(used_ptr, 4)) return Errno::kFault;
  UniqueFd handle;
  if (err = openPathHandle(ctx, *dir, path, false, &handle); err != Errno::kSuccess) return err;
  struct stat st {};
  if (fstat(handle.get(), &st) != 0) return errnoFromHost(errno);
  if (!S_ISLNK(st.st_mode)) return Errno::kInval;  // readlink(2) on a non-link
  std::string target(4096, '\0');
  for (;;) {
    // An empty path reads the link the O_PATH handle refers to.
    ssize_t n = readlinkat(handle.get(), "", target.data(), target.size());
    if (n < 0) return errnoFromHost(errno);
    if (static_cast<size_t>(n) < target.size()) {
      target.resize(static_cast<size_t>(n));
      break;
    }
    target.resize(target.size() * 2);
  }
  // Truncated to the buffer, like wasmtime.
  size_t n = std::min<size_t>(target.size(), buf_len);
  (void)mem.copyIn(buf, std::string_view(target).substr(0, n));
  (void)mem.store32(used_ptr, static_cast<uint32_t>(n));
  return Errno::kSuccess;
}

// --- mutating operations ---

// A path split for a mutating operation: the confined parent directory (an
// O_PATH descriptor) and the last component, passed to one *at() call.
struct ParentAndName {
  UniqueFd parent;
  std::string last;                // the last component, trailing slashes kept ("d/" -> "d/")
  std::string_view name() const {  // without its trailing slashes
    return std::string_view(last).substr(0, last.find('/'));
  }
  bool dot() const { return name() == "."; }
  bool dotdot() const { return name() == ".."; }
};

// Resolves everything but the last component of `path` beneath `dir`.
// Symlinks in the leading components are followed (confined); the last is
// left to the caller, who must not follow it. An empty path is kNoent
// (wasmtime); an absolute one leaves the tree.
Errno resolveParent(Context& ctx, FdEntry& dir, const std::string& path, ParentAndName* out) {
  const size_t end = path.find_last_not_of('/');
  if (end == std::string::npos) return path.empty() ? Errno::kNoent : kErrnoOutside;
  const size_t slash = path.rfind('/', end);
  std::string parent;
  if (slash == std::string::npos) {
    parent = ".";
    out->last = path;
  } else {
    out->last = path.substr(slash + 1);
    const size_t parent_end = path.find_last_not_of('/', slash);
    if (parent_end == std::string::npos) return kErrnoOutside;  // "/name"
    parent = path.substr(0, parent_end + 1);
  }
  int base = -1;
  if (Errno err = hostFd(ctx, dir, &base); err != Errno::kSuccess) return err;
  out->parent.reset(openBeneath(base, parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
  if (!out->parent.valid()) return errnoFromLookup(errno);
  if (out->dotdot()) {
    // "x/.." names a directory that may be the tree's own parent: refuse
    // that as outside before any operation-specific answer.
    UniqueFd up(openBeneath(base, path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC, 0));
    if (!up.valid()) return errnoFromLookup(errno);
  }
  return Errno::kSuccess;
}

// The directory argument of a path operation, as an Errno-returning step.
Errno dirArg(Context& ctx, u32 fd, FdEntry** out) {
  Errno err = Errno::kSuccess;
  *out = dirEntry(ctx, fd, &err);
  return err;
}

Errno hostResult(int rc) { return rc == 0 ? Errno::kSuccess : errnoFromHost(errno); }

Errno pathCreateDirectory(Context& ctx, u32 fd, u32 path_ptr, u32 path_len) {
  FdEntry* dir = nullptr;
  if (Errno err = dirArg(ctx, fd, &dir); err != Errno::kSuccess) return err;
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  if (!dir->tree_writable) return kErrnoReadOnly;
  ParentAndName at;
  if (Errno err = resolveParent(ctx, *dir, path, &at); err != Errno::kSuccess) return err;
  if (at.dot() || at.dotdot()) return Errno::kExist;
  return hostResult(mkdirat(at.parent.get(), at.last.c_str(), 0777));
}

Errno pathRemoveDirectory(Context& ctx, u32 fd, u32 path_ptr, u32 path_len) {
  FdEntry* dir = nullptr;
  if (Errno err = dirArg(ctx, fd, &dir); err != Errno::kSuccess) return err;
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  if (!dir->tree_writable) return kErrnoReadOnly;
  ParentAndName at;
  if (Errno err = resolveParent(ctx, *dir, path, &at); err != Errno::kSuccess) return err;
  if (at.dot()) return Errno::kInval;        // rmdir(".") on Linux
  if (at.dotdot()) return Errno::kNotempty;  // rmdir("..") on Linux
  return hostResult(unlinkat(at.parent.get(), at.last.c_str(), AT_REMOVEDIR));
}

Errno pathUnlinkFile(Context& ctx, u32 fd, u32 path_ptr, u32 path_len) {
  FdEntry* dir = nullptr;
  if (Errno err = dirArg(ctx, fd, &dir); err != Errno::kSuccess) return err;
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  if (!dir->tree_writable) return kErrnoReadOnly;
  ParentAndName at;
  if (Errno err = resolveParent(ctx, *dir, path, &at); err != Errno::kSuccess) return err;
  if (at.dot() || at.dotdot()) return Errno::kIsdir;
  // A symlink is removed itself, never its target; a directory is kIsdir.
  return hostResult(unlinkat(at.parent.get(), at.last.c_str(), 0));
}

Errno pathRename(Context& ctx, u32 old_fd, u32 old_ptr, u32 old_len, u32 new_fd, u32 new_ptr,
                 u32 new_len) {
  FdEntry* old_dir = nullptr;
  FdEntry* new_dir = nullptr;
  if (Errno err = dirArg(ctx, old_fd, &old_dir); err != Errno::kSuccess) return err;
  if (Errno err = dirArg(ctx, new_fd, &new_dir); err != Errno::kSuccess) return err;
  std::string old_path;
  std::string new_path;
  if (Errno err = readPath(ctx, old_ptr, old_len, &old_path); err != Errno::kSuccess) return err;
  if (Errno err = readPath(ctx, new_ptr, new_len, &new_path); err != Errno::kSuccess) return err;
  if (!old_dir->tree_writable || !new_dir->tree_writable) return kErrnoReadOnly;
  ParentAndName from;
  ParentAndName to;
  if (Errno err = resolveParent(ctx, *old_dir, old_path, &from); err != Errno::kSuccess) return err;
  if (Errno err = resolveParent(ctx, *new_dir, new_path, &to); err != Errno::kSuccess) return err;
  if (from.dot() || from.dotdot() || to.dot() || to.dotdot()) return Errno::kBusy;  // Linux
  return hostResult(
      renameat(from.parent.get(), from.last.c_str(), to.parent.get(), to.last.c_str()));
}

Errno pathLink(Context& ctx, u32 old_fd, u32 lookup, u32 old_ptr, u32 old_len, u32 new_fd,
               u32 new_ptr, u32 new_len) {
  FdEntry* old_dir = nullptr;
  FdEntry* new_dir = nullptr;
  if (Errno err = dirArg(ctx, old_fd, &old_dir); err != Errno::kSuccess) return err;
  if (Errno err = dirArg(ctx, new_fd, &new_dir); err != Errno::kSuccess) return err;
  std::string old_path;
  std::string new_path;
  if (Errno err = readPath(ctx, old_ptr, old_len, &old_path); err != Errno::kSuccess) return err;
  if (Errno err = readPath(ctx, new_ptr, new_len, &new_path); err != Errno::kSuccess) return err;
  if (!old_dir->tree_writable || !new_dir->tree_writable) return kErrnoReadOnly;
  // wasmtime: following a symlink source is not supported.
  if (lookup & kLookupSymlinkFollow) return Errno::kInval;
  ParentAndName from;
  ParentAndName to;
  if (Errno err = resolveParent(ctx, *old_dir, old_path, &from); err != Errno::kSuccess) return err;
  if (Errno err = resolveParent(ctx, *new_dir, new_path, &to); err != Errno::kSuccess) return err;
  if (from.dot() || from.dotdot()) return Errno::kPerm;  // a directory: link(2) says EPERM
  if (to.dot() || to.dotdot()) return Errno::kExist;
  // No AT_SYMLINK_FOLLOW: a symlink source is linked itself.
  return hostResult(
      linkat(from.parent.get(), from.last.c_str(), to.parent.get(), to.last.c_str(), 0));
}

// How many directories `fd` (a directory) lies below the root of its tree,
// by walking ".." up to the root's identity; -1 if the root is not found
// above it (then nothing can be proven about escaping, so callers refuse).
int depthBelowRoot(const FdEntry& dir, int fd) {
  if (!dir.root_known) return -1;
  // A path is at most PATH_MAX bytes, so no tree is deeper than this.
  constexpr int kMaxDepth = PATH_MAX / 2;
  UniqueFd owned;
  int cur = fd;
  for (int depth = 0; depth <= kMaxDepth; ++depth) {
    struct stat st {};
    if (fstat(cur, &st) != 0) return -1;
    if (st.st_dev == dir.root_dev && st.st_ino == dir.root_ino) return depth;
    UniqueFd up(openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!up.valid()) return -1;
    struct stat up_st {};
    if (fstat(up.get(), &up_st) != 0) return -1;
    if (up_st.st_dev == st.st_dev && up_st.st_ino == st.st_ino) return -1;  // reached "/"
    owned = std::move(up);
    cur = owned.get();
  }
  return -1;
}

// Whether a relative symlink target, read from a directory `depth` levels
// below the root, stays inside the tree as far as its text says ("..").
// Symlinks the target passes through are confined when followed anyway.
bool targetStaysInside(std::string_view target, int depth) {
  size_t i = 0;
  while (i < target.size()) {
    size_t next = target.find('/', i);
    if (next == std::string_view::npos) next = target.size();
    std::string_view part = target.substr(i, next - i);
    if (part == "..") {
      if (--depth < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    i = next + 1;
  }
  return true;
}

Errno pathSymlink(Context& ctx, u32 target_ptr, u32 target_len, u32 fd, u32 path_ptr,
                  u32 path_len) {
  FdEntry* dir = nullptr;
  if (Errno err = dirArg(ctx, fd, &dir); err != Errno::kSuccess) return err;
  std::string target;
  std::string path;
  if (Errno err = readPath(ctx, target_ptr, target_len, &target); err != Errno::kSuccess) {
    return err;
  }
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  if (!dir->tree_writable) return kErrnoReadOnly;
  // wasmtime (cap-std) refuses absolute targets so that no other program
  // following the link is led outside; we also refuse relative ones that
  // climb above the preopen.
  if (!target.empty() && target[0] == '/') return kErrnoOutside;
  ParentAndName at;
  if (Errno err = resolveParent(ctx, *dir, path, &at); err != Errno::kSuccess) return err;
  if (at.dot() || at.dotdot()) return Errno::kExist;
  if (target.find("..") != std::string::npos) {
    int depth = depthBelowRoot(*dir, at.parent.get());
    if (depth < 0 || !targetStaysInside(target, depth)) return kErrnoOutside;
  }
  return hostResult(symlinkat(target.c_str(), at.parent.get(), at.last.c_str()));
}

Errno pathFilestatSetTimes(Context& ctx, u32 fd, u32 lookup, u32 path_ptr, u32 path_len,
                           uint64_t atim, uint64_t mtim, u32 fst) {
  timespec times[2];
  if (Errno err = internal::timespecFor(fst & kFstflagAtim, fst & kFstflagAtimNow, atim, &times[0]);
      err != Errno::kSuccess) {
    return err;
  }
  if (Errno err = internal::timespecFor(fst & kFstflagMtim, fst & kFstflagMtimNow, mtim, &times[1]);
      err != Errno::kSuccess) {
    return err;
  }
  FdEntry* dir = nullptr;
  if (Errno err = dirArg(ctx, fd, &dir); err != Errno::kSuccess) return err;
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  if (!dir->tree_writable) return kErrnoReadOnly;
  // The whole path resolves confined (following the last component or
  // not), then the handle itself is changed: no second lookup to race.
  const bool follow = (lookup & kLookupSymlinkFollow) != 0;
  UniqueFd handle;
  if (Errno err = openPathHandle(ctx, *dir, path, follow, &handle); err != Errno::kSuccess) {
    return err;
  }
  return hostResult(
      utimensat(handle.get(), "", times, AT_EMPTY_PATH | (follow ? 0 : AT_SYMLINK_NOFOLLOW)));
}

}  // namespace

u32 path_open(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u64 a5, u64 /*inheriting*/,
              u32 a7, u32 a8) {
  return guarded([&] { return pathOpen(ctx, a0, a1, a2, a3, a4, a5, a7, a8); });
}
u32 path_filestat_get(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4) {
  return guarded([&] { return pathFilestatGet(ctx, a0, a1, a2, a3, a4); });
}
u32 path_readlink(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5) {
  return guarded([&] { return pathReadlink(ctx, a0, a1, a2, a3, a4, a5); });
}
u32 path_create_directory(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return pathCreateDirectory(ctx, a0, a1, a2); });
}
u32 path_filestat_set_times(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u64 a4, u64 a5, u32 a6) {
  return guarded([&] { return pathFilestatSetTimes(ctx, a0, a1, a2, a3, a4, a5, a6); });
}
u32 path_link(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5, u32 a6) {
  return guarded([&] { return pathLink(ctx, a0, a1, a2, a3, a4, a5, a6); });
}
u32 path_remove_directory(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return pathRemoveDirectory(ctx, a0, a1, a2); });
}
u32 path_rename(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5) {
  return guarded([&] { return pathRename(ctx, a0, a1, a2, a3, a4, a5); });
}
u32 path_symlink(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4) {
  return guarded([&] { return pathSymlink(ctx, a0, a1, a2, a3, a4); });
}
u32 path_unlink_file(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return pathUnlinkFile(ctx, a0, a1, a2); });
}

}  // namespace jinn::wasi
