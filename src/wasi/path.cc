// The path_* functions. Every lookup is confined beneath its directory fd by
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): "..", absolute paths and
// symlinks that leave the tree fail in the kernel (EXDEV, reported as kPerm
// like wasmtime's "path led outside"). Read-only operations are implemented;
// the mutating ones answer kPerm in a read-only tree and kNotsup otherwise
// until the file-system issue implements them.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "wasi/internal.h"
#include "wasi/wasi.h"

namespace jinn::wasi {
namespace {

using internal::fdTable;
using internal::guarded;
using internal::hostFd;
using internal::memoryOf;

bool validUtf8(std::string_view s) {
  static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

// Reads a path argument: kFault out of bounds, kIlseq if not UTF-8 (wasmtime
// takes paths as strings), kInval with an embedded NUL (no host path can).
Errno readPath(Context& ctx, u32 ptr, u32 len, std::string* out) {
  std::string_view view;
  if (!memoryOf(ctx).view(ptr, len, &view)) return Errno::kFault;
  if (!validUtf8(view)) return Errno::kIlseq;
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
int openBeneath(int dirfd, const std::string& path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags;
  // openat2 rejects a mode without O_CREAT (unlike openat, which ignores it).
  how.mode = (flags & O_CREAT) != 0 ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  long r;
  do {
    r = syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  } while (r < 0 && (errno == EINTR || errno == EAGAIN));
  return static_cast<int>(r);
}

// A failed confined lookup: leaving the tree is a permission error.
Errno lookupError(int host_errno) {
  return host_errno == EXDEV ? Errno::kPerm : errnoFromHost(host_errno);
}

Errno pathOpen(Context& ctx, u32 dirfd, u32 dirflags, u32 path_ptr, u32 path_len, u32 oflags,
               uint64_t rights_base, uint32_t fdflags, u32 out) {
  std::string path;
  if (Errno err = readPath(ctx, path_ptr, path_len, &path); err != Errno::kSuccess) return err;
  FdEntry* dir = fdTable(ctx).get(dirfd);
  if (dir == nullptr) return Errno::kBadf;
  if (dir->kind == FdKind::kFile) return Errno::kNotdir;
  if (dir->kind != FdKind::kDirectory) return Errno::kBadf;
  if (!memoryOf(ctx).contains(out, 4)) return Errno::kFault;

  const bool want_read = (rights_base & rights::kFdRead) != 0;
  const bool want_write = (rights_base & rights::kFdWrite) != 0;
  const bool modifies =
      want_write || (oflags & (kOflagCreat | kOflagTrunc)) != 0 || (fdflags & kFdflagAppend) != 0;
  if (modifies && !dir->writable) return Errno::kPerm;

  // O_NONBLOCK so that opening a FIFO cannot hang the call; it has no effect
  // on the regular files and directories that are kept.
  uint64_t flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  flags |= want_write ? (want_read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (oflags & kOflagCreat) flags |= O_CREAT;
  if (oflags & kOflagExcl) flags |= O_EXCL;
  if (oflags & kOflagTrunc) flags |= O_TRUNC;
  if (oflags & kOflagDirectory) flags |= O_DIRECTORY;
  if ((dirflags & kLookupSymlinkFollow) == 0) flags |= O_NOFOLLOW;
  if (fdflags & kFdflagAppend) flags |= O_APPEND;
  if (fdflags & kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & kFdflagSync) flags |= O_SYNC;
  if (fdflags & kFdflagRsync) flags |= O_RSYNC;

  int parent = -1;
  if (Errno err = hostFd(ctx, *dir, &parent); err != Errno::kSuccess) return err;
  const bool tree_writable = dir->writable;
  UniqueFd host(openBeneath(parent, path, flags, 0666));
  if (!host.valid()) return lookupError(errno);
  struct stat st {};
  if (fstat(host.get(), &st) != 0) return errnoFromHost(errno);

  FdEntry entry;
  entry.host = std::move(host);
  entry.writable = want_write;
  entry.readable = want_read;
  entry.append = (fdflags & kFdflagAppend) != 0;
  entry.nonblock = (fdflags & kFdflagNonblock) != 0;
  if (S_ISDIR(st.st_mode)) {
    entry.kind = FdKind::kDirectory;
    entry.readable = true;
    entry.writable = tree_writable;  // for directories: may modify beneath
  } else if (S_ISREG(st.st_mode)) {
    entry.kind = FdKind::kFile;
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
  out->reset(openBeneath(parent, path, flags, 0));
  return out->valid() ? Errno::kSuccess : lookupError(errno);
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

// A mutating path operation before the file-system issue: the fds and paths
// are validated as wasmtime would, then a read-only tree says kPerm and a
// writable one kNotsup.
Errno notYetMutating(Context& ctx, std::initializer_list<u32> dirfds,
                     std::initializer_list<std::pair<u32, u32>> paths) {
  bool writable = true;
  for (u32 fd : dirfds) {
    Errno err = Errno::kSuccess;
    FdEntry* dir = dirEntry(ctx, fd, &err);
    if (dir == nullptr) return err;
    writable = writable && dir->writable;
  }
  for (auto [ptr, len] : paths) {
    std::string path;
    if (Errno err = readPath(ctx, ptr, len, &path); err != Errno::kSuccess) return err;
  }
  return writable ? Errno::kNotsup : Errno::kPerm;
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
  return guarded([&] { return notYetMutating(ctx, {a0}, {{a1, a2}}); });
}
u32 path_filestat_set_times(Context& ctx, u32 a0, u32 /*lookup*/, u32 a2, u32 a3, u64, u64,
                            u32 a6) {
  return guarded([&] {
    bool atim = a6 & kFstflagAtim, atim_now = a6 & kFstflagAtimNow;
    bool mtim = a6 & kFstflagMtim, mtim_now = a6 & kFstflagMtimNow;
    if ((atim && atim_now) || (mtim && mtim_now)) return Errno::kInval;
    return notYetMutating(ctx, {a0}, {{a2, a3}});
  });
}
u32 path_link(Context& ctx, u32 a0, u32 /*lookup*/, u32 a2, u32 a3, u32 a4, u32 a5, u32 a6) {
  return guarded([&] { return notYetMutating(ctx, {a0, a4}, {{a2, a3}, {a5, a6}}); });
}
u32 path_remove_directory(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return notYetMutating(ctx, {a0}, {{a1, a2}}); });
}
u32 path_rename(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4, u32 a5) {
  return guarded([&] { return notYetMutating(ctx, {a0, a3}, {{a1, a2}, {a4, a5}}); });
}
u32 path_symlink(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3, u32 a4) {
  return guarded([&] { return notYetMutating(ctx, {a2}, {{a0, a1}, {a3, a4}}); });
}
u32 path_unlink_file(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return notYetMutating(ctx, {a0}, {{a1, a2}}); });
}

}  // namespace jinn::wasi
