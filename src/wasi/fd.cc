// The fd_* functions. Stdio is served from the Context (stdin bytes, capped
// capture strings); directories and regular files from host descriptors.
// Error choices follow wasmtime's preview1 implementation (wasmtime-wasi
// preview1.rs): e.g. seeking stdio is kSpipe, writing stdin kBadf.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "wasi/internal.h"
#include "wasi/wasi.h"

namespace jinn::wasi {
namespace internal {

Errno hostFd(Context& ctx, FdEntry& entry, int* fd) {
  if (entry.kind != FdKind::kDirectory && entry.kind != FdKind::kFile) return Errno::kBadf;
  if (!entry.host.valid()) {
    if (entry.preopen < 0 || ctx.preopens == nullptr ||
        static_cast<size_t>(entry.preopen) >= ctx.preopens->size()) {
      return Errno::kBadf;
    }
    const Preopen& p = (*ctx.preopens)[entry.preopen];
    UniqueFd host(::open(p.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!host.valid()) return errnoFromHost(errno);
    struct stat st {};
    if (fstat(host.get(), &st) != 0) return errnoFromHost(errno);
    entry.root_known = true;
    entry.root_dev = st.st_dev;
    entry.root_ino = st.st_ino;
    entry.host = std::move(host);
  }
  *fd = entry.host.get();
  return Errno::kSuccess;
}

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

uint8_t filetypeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return kFiletypeRegularFile;
    case S_IFDIR:
      return kFiletypeDirectory;
    case S_IFLNK:
      return kFiletypeSymbolicLink;
    case S_IFCHR:
      return kFiletypeCharacterDevice;
    case S_IFBLK:
      return kFiletypeBlockDevice;
    case S_IFSOCK:
      return kFiletypeSocketStream;
    default:
      return kFiletypeUnknown;  // FIFOs: preview1 has no code for them
  }
}

namespace {
uint64_t nanos(const timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

bool writeFilestat(const GuestMemory& mem, uint32_t ptr, const struct ::stat& st) {
  uint8_t* p = mem.span(ptr, layout::kFilestatSize);
  if (p == nullptr) return false;
  std::memset(p, 0, layout::kFilestatSize);
  return mem.store64(ptr + layout::kFilestatDev, st.st_dev) &&
         mem.store64(ptr + layout::kFilestatIno, st.st_ino) &&
         mem.store8(ptr + layout::kFilestatFiletype, filetypeOf(st.st_mode)) &&
         mem.store64(ptr + layout::kFilestatNlink, st.st_nlink) &&
         mem.store64(ptr + layout::kFilestatSizeField, static_cast<uint64_t>(st.st_size)) &&
         mem.store64(ptr + layout::kFilestatAtim, nanos(st.st_atim)) &&
         mem.store64(ptr + layout::kFilestatMtim, nanos(st.st_mtim)) &&
         mem.store64(ptr + layout::kFilestatCtim, nanos(st.st_ctim));
}

// The rights a write-capable tree allows that a read-only one does not.
constexpr uint64_t kMutatingDirectoryRights =
    rights::kPathCreateDirectory | rights::kPathCreateFile | rights::kPathLinkSource |
    rights::kPathLinkTarget | rights::kPathRenameSource | rights::kPathRenameTarget |
    rights::kPathSymlink | rights::kPathRemoveDirectory | rights::kPathUnlinkFile |
    rights::kPathFilestatSetTimes | rights::kFdFilestatSetTimes;

uint64_t directoryRights(bool writable) {
  // wasmtime's hard-coded preopen set ("expected by many userlands").
  uint64_t r = rights::kPathCreateDirectory | rights::kPathCreateFile | rights::kPathLinkSource |
               rights::kPathLinkTarget | rights::kPathOpen | rights::kFdReaddir |
               rights::kPathReadlink | rights::kPathRenameSource | rights::kPathRenameTarget |
               rights::kPathSymlink | rights::kPathRemoveDirectory | rights::kPathUnlinkFile |
               rights::kPathFilestatGet | rights::kPathFilestatSetTimes | rights::kFdFilestatGet |
               rights::kFdFilestatSetTimes;
  return writable ? r : r & ~kMutatingDirectoryRights;
}

uint64_t directoryInheritingRights(bool writable) {
  // Kept as wasmtime reports it even for read-only trees, FD_WRITE included:
  // wasi-libc's open() asks path_open for `wanted & inheriting`, and keeping
  // FD_WRITE in there makes a write-open of a read-only tree fail at open
  // (kPerm) instead of "succeeding" into an fd that cannot write.
  return directoryRights(writable) | rights::kFdDatasync | rights::kFdRead | rights::kFdSeek |
         rights::kFdFdstatSetFlags | rights::kFdSync | rights::kFdTell | rights::kFdWrite |
         rights::kFdAdvise | rights::kFdAllocate | rights::kFdFilestatGet |
         rights::kFdFilestatSetSize | rights::kFdFilestatSetTimes | rights::kPollFdReadwrite;
}

// $fstflags to a futimens/utimensat timespec: both "set" and "now" is kInval.
Errno timespecFor(bool set, bool now, uint64_t ts, timespec* out) {
  if (set && now) return Errno::kInval;
  if (set) {
    out->tv_sec = static_cast<time_t>(ts / 1'000'000'000);
    out->tv_nsec = static_cast<long>(ts % 1'000'000'000);
  } else {
    out->tv_sec = 0;
    out->tv_nsec = now ? UTIME_NOW : UTIME_OMIT;
  }
  return Errno::kSuccess;
}

}  // namespace internal

namespace {

using internal::fdTable;
using internal::guarded;
using internal::hostFd;
using internal::memoryOf;

// Linux rejects more than IOV_MAX buffers; a short read/write is legal.
constexpr size_t kMaxHostIovecs = 1024;

// Collects up to kMaxHostIovecs non-empty guest buffers as host iovecs, for
// the kernel to fill (`host_writes`: all of each buffer is marked, as the
// count read is known only afterwards) or to read.
size_t hostIovecs(const IovecArray& iovs, bool host_writes, std::array<iovec, kMaxHostIovecs>* out) {
  size_t n = 0;
  auto add = [&](const uint8_t* data, uint32_t len) {
    (*out)[n++] = iovec{const_cast<uint8_t*>(data), len};
    return n < out->size();
  };
  if (host_writes) {
    iovs.forEach(add);
  } else {
    iovs.forEachReadable(add);
  }
  return n;
}

// --- stdio ---

Errno readStdin(Context& ctx, const IovecArray& iovs, uint32_t* nread) {
  uint64_t done = 0;
  iovs.fill([&](uint8_t* data, uint32_t len) {
    size_t left = ctx.stdin_pos < ctx.stdin_data.size() ? ctx.stdin_data.size() - ctx.stdin_pos : 0;
    size_t n = std::min<uint64_t>({left, len, UINT32_MAX - done});
    if (n > 0) std::memcpy(data, ctx.stdin_data.data() + ctx.stdin_pos, n);
    ctx.stdin_pos += n;
    done += n;
    return n;  // a short buffer: EOF, the fill stops
  });
  *nread = static_cast<uint32_t>(done);
  return Errno::kSuccess;
}

// Appends to the captured stdout/stderr up to its cap exactly; past the cap
// the guest is stopped (the runtime unwinds it when we return).
Errno writeCaptured(Context& ctx, FdKind kind, const IovecArray& iovs, uint64_t total,
                    uint32_t* nwritten) {
  std::string* out = kind == FdKind::kStdout ? ctx.stdout_data : ctx.stderr_data;
  const size_t cap = kind == FdKind::kStdout ? ctx.stdout_cap : ctx.stderr_cap;
  const uint64_t want = std::min<uint64_t>(total, UINT32_MAX);
  if (out == nullptr) {  // no capture requested: discard, like /dev/null
    *nwritten = static_cast<uint32_t>(want);
    return Errno::kSuccess;
  }
  const size_t room = cap > out->size() ? cap - out->size() : 0;
  const uint64_t take = std::min<uint64_t>(want, room);
  out->reserve(out->size() + take);
  uint64_t left = take;
  iovs.forEachReadable([&](const uint8_t* data, uint32_t len) {
    size_t n = std::min<uint64_t>(left, len);
    out->append(reinterpret_cast<const char*>(data), n);
    left -= n;
    return left > 0;
  });
  *nwritten = static_cast<uint32_t>(take);
  if (want > room) ctx.stop = JINN_STOP_OUTPUT_LIMIT;
  return Errno::kSuccess;
}

// --- the functions ---

Errno fdRead(Context& ctx, u32 fd, u32 iovs_ptr, u32 iovs_len, u32 nread_ptr, bool at_offset,
             uint64_t offset) {
  GuestMemory mem = memoryOf(ctx);
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStdin && at_offset) return Errno::kSpipe;
  if (e->kind != FdKind::kStdin && !(e->kind == FdKind::kFile && e->readable)) {
    return Errno::kBadf;
  }
  IovecArray iovs(mem, iovs_ptr, iovs_len);
  if (Errno err = iovs.check(nullptr); err != Errno::kSuccess) return err;
  if (!mem.contains(nread_ptr, 4)) return Errno::kFault;
  uint32_t n = 0;
  if (e->kind == FdKind::kStdin) {
    readStdin(ctx, iovs, &n);
  } else {
    std::array<iovec, kMaxHostIovecs> host;
    size_t count = hostIovecs(iovs, true, &host);
    ssize_t r;
    do {
      r = at_offset ? preadv(e->host.get(), host.data(), static_cast<int>(count),
                             static_cast<off_t>(offset))
                    : readv(e->host.get(), host.data(), static_cast<int>(count));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return errnoFromHost(errno);
    n = static_cast<uint32_t>(r);
  }
  (void)mem.store32(nread_ptr, n);
  return Errno::kSuccess;
}

Errno fdWrite(Context& ctx, u32 fd, u32 iovs_ptr, u32 iovs_len, u32 nwritten_ptr, bool at_offset,
              uint64_t offset) {
  GuestMemory mem = memoryOf(ctx);
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  const bool stdio = e->kind == FdKind::kStdout || e->kind == FdKind::kStderr;
  if (stdio && at_offset) return Errno::kSpipe;
  if (!stdio && !(e->kind == FdKind::kFile && e->writable)) return Errno::kBadf;
  IovecArray iovs(mem, iovs_ptr, iovs_len);
  uint64_t total = 0;
  if (Errno err = iovs.check(&total); err != Errno::kSuccess) return err;
  if (!mem.contains(nwritten_ptr, 4)) return Errno::kFault;
  uint32_t n = 0;
  if (stdio) {
    writeCaptured(ctx, e->kind, iovs, total, &n);
  } else {
    std::array<iovec, kMaxHostIovecs> host;
    size_t count = hostIovecs(iovs, false, &host);
    ssize_t r;
    do {
      r = at_offset ? pwritev(e->host.get(), host.data(), static_cast<int>(count),
                              static_cast<off_t>(offset))
                    : writev(e->host.get(), host.data(), static_cast<int>(count));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return errnoFromHost(errno);
    n = static_cast<uint32_t>(r);
  }
  (void)mem.store32(nwritten_ptr, n);
  return Errno::kSuccess;
}

Errno fdSeek(Context& ctx, u32 fd, uint64_t offset, u32 whence, u32 out, bool tell) {
  int host_whence = SEEK_SET;
  switch (whence) {
    case kWhenceSet:
      host_whence = SEEK_SET;
      break;
    case kWhenceCur:
      host_whence = SEEK_CUR;
      break;
    case kWhenceEnd:
      host_whence = SEEK_END;
      break;
    default:
      return Errno::kInval;
  }
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStdin || e->kind == FdKind::kStdout || e->kind == FdKind::kStderr) {
    return Errno::kSpipe;  // pipes cannot seek (wasmtime: the legacy SPIPE)
  }
  if (e->kind != FdKind::kFile) return Errno::kBadf;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.contains(out, 8)) return Errno::kFault;
  off_t pos = tell ? lseek(e->host.get(), 0, SEEK_CUR)
                   : lseek(e->host.get(), static_cast<off_t>(offset), host_whence);
  if (pos < 0) return errnoFromHost(errno);
  (void)mem.store64(out, static_cast<uint64_t>(pos));
  return Errno::kSuccess;
}

Errno fdFdstatGet(Context& ctx, u32 fd, u32 out) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  uint8_t filetype = kFiletypeUnknown;
  uint16_t flags = 0;
  uint64_t base = 0;
  uint64_t inheriting = 0;
  switch (e->kind) {
    // Stdio is a pipe to us, never a terminal: wasmtime then reports
    // filetype unknown, so wasi-libc's isatty() is false and stdout is
    // fully buffered (one fd_write per buffer, not per line).
    case FdKind::kStdin:
      base = inheriting = rights::kFdRead;
      break;
    case FdKind::kStdout:
    case FdKind::kStderr:
      base = inheriting = rights::kFdWrite;
      break;
    case FdKind::kDirectory:
      filetype = kFiletypeDirectory;
      if (e->preopen >= 0) {
        base = internal::directoryRights(e->tree_writable);
        inheriting = internal::directoryInheritingRights(e->tree_writable);
      } else {
        // wasmtime: everything but seeking/resizing, less read rights when
        // not opened for reading; inheriting == base.
        base = rights::kAll & ~(rights::kFdSeek | rights::kFdFilestatSetSize | rights::kFdWrite);
        if (!e->readable) base &= ~(rights::kFdRead | rights::kFdReaddir);
        if (!e->tree_writable) {
          base &= ~internal::directoryRights(true) | internal::directoryRights(false);
        }
        inheriting = base;
      }
      break;
    case FdKind::kFile:
      filetype = kFiletypeRegularFile;
      base = rights::kAll;
      if (!e->readable) base &= ~(rights::kFdRead | rights::kFdReaddir);
      if (!e->writable) base &= ~rights::kFdWrite;
      inheriting = base;
      if (e->append) flags |= kFdflagAppend;
      if (e->nonblock) flags |= kFdflagNonblock;
      flags |= e->sync_flags;
      break;
  }
  GuestMemory mem = memoryOf(ctx);
  uint8_t* p = mem.span(out, layout::kFdstatSize);
  if (p == nullptr) return Errno::kFault;
  std::memset(p, 0, layout::kFdstatSize);
  (void)mem.store8(out + layout::kFdstatFiletype, filetype);
  (void)mem.store16(out + layout::kFdstatFlags, flags);
  (void)mem.store64(out + layout::kFdstatRightsBase, base);
  (void)mem.store64(out + layout::kFdstatRightsInheriting, inheriting);
  return Errno::kSuccess;
}

Errno fdFdstatSetFlags(Context& ctx, u32 fd, u32 flags) {
  FdEntry* e = fdTable(ctx).get(fd);
  // wasmtime: only files can change flags (stdio and directories: kBadf).
  if (e == nullptr || e->kind != FdKind::kFile) return Errno::kBadf;
  if (flags & (kFdflagDsync | kFdflagSync | kFdflagRsync)) return Errno::kInval;
  bool append = (flags & kFdflagAppend) != 0;
  if (append != e->append) {
    int fl = fcntl(e->host.get(), F_GETFL);
    if (fl < 0 || fcntl(e->host.get(), F_SETFL, append ? (fl | O_APPEND) : (fl & ~O_APPEND)) < 0) {
      return errnoFromHost(errno);
    }
    e->append = append;
  }
  // Regular files never block; remembered only to be reported back.
  e->nonblock = (flags & kFdflagNonblock) != 0;
  return Errno::kSuccess;
}

// Directories and files, but not stdio (wasmtime's get_fd).
FdEntry* fsEntry(Context& ctx, u32 fd, Errno* err) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr || (e->kind != FdKind::kDirectory && e->kind != FdKind::kFile)) {
    *err = Errno::kBadf;
    return nullptr;
  }
  return e;
}

// Regular files only (wasmtime's get_file_fd).
FdEntry* fileEntry(Context& ctx, u32 fd, Errno* err) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr || e->kind != FdKind::kFile) {
    *err = Errno::kBadf;
    return nullptr;
  }
  return e;
}

Errno fdFilestatGet(Context& ctx, u32 fd, u32 out) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  GuestMemory mem = memoryOf(ctx);
  if (e->kind == FdKind::kStdin || e->kind == FdKind::kStdout || e->kind == FdKind::kStderr) {
    // wasmtime: the filetype (unknown for a non-terminal) and zeros.
    uint8_t* p = mem.span(out, layout::kFilestatSize);
    if (p == nullptr) return Errno::kFault;
    std::memset(p, 0, layout::kFilestatSize);
    (void)mem.store8(out + layout::kFilestatFiletype, kFiletypeUnknown);
    return Errno::kSuccess;
  }
  if (!mem.contains(out, layout::kFilestatSize)) return Errno::kFault;
  int host = -1;
  if (Errno err = hostFd(ctx, *e, &host); err != Errno::kSuccess) return err;
  struct stat st {};
  if (fstat(host, &st) != 0) return errnoFromHost(errno);
  return internal::writeFilestat(mem, out, st) ? Errno::kSuccess : Errno::kFault;
}

Errno fdFilestatSetSize(Context& ctx, u32 fd, uint64_t size) {
  Errno err = Errno::kSuccess;
  FdEntry* e = fileEntry(ctx, fd, &err);
  if (e == nullptr) return err;
  // wasmtime checks the tree's permission; a file opened read-only in a
  // writable tree gets what the host says (EINVAL).
  if (!e->tree_writable) return kErrnoReadOnly;
  if (size > static_cast<uint64_t>(INT64_MAX)) return Errno::kFbig;
  if (ftruncate(e->host.get(), static_cast<off_t>(size)) != 0) return errnoFromHost(errno);
  return Errno::kSuccess;
}

Errno fdFilestatSetTimes(Context& ctx, u32 fd, uint64_t atim, uint64_t mtim, u32 fst) {
  timespec times[2];
  if (Errno err = internal::timespecFor(fst & kFstflagAtim, fst & kFstflagAtimNow, atim, &times[0]);
      err != Errno::kSuccess) {
    return err;
  }
  if (Errno err = internal::timespecFor(fst & kFstflagMtim, fst & kFstflagMtimNow, mtim, &times[1]);
      err != Errno::kSuccess) {
    return err;
  }
  Errno err = Errno::kSuccess;
  FdEntry* e = fsEntry(ctx, fd, &err);
  if (e == nullptr) return err;
  if (!e->tree_writable) return kErrnoReadOnly;
  int host = -1;
  if (err = hostFd(ctx, *e, &host); err != Errno::kSuccess) return err;
  if (futimens(host, times) != 0) return errnoFromHost(errno);
  return Errno::kSuccess;
}

Errno fdPrestatGet(Context& ctx, u32 fd, u32 out) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr || e->kind != FdKind::kDirectory || e->preopen < 0) return Errno::kBadf;
  const std::string& name = (*ctx.preopens)[e->preopen].guest_path;
  if (name.size() > UINT32_MAX) return Errno::kOverflow;
  GuestMemory mem = memoryOf(ctx);
  uint8_t* p = mem.span(out, layout::kPrestatSize);
  if (p == nullptr) return Errno::kFault;
  std::memset(p, 0, layout::kPrestatSize);
  (void)mem.store8(out + layout::kPrestatTag, kPreopentypeDir);
  (void)mem.store32(out + layout::kPrestatNameLen, static_cast<uint32_t>(name.size()));
  return Errno::kSuccess;
}

Errno fdPrestatDirName(Context& ctx, u32 fd, u32 buf, u32 len) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr) return Errno::kBadf;
  // wasmtime (legacy behaviour): an open fd that is not a preopen is NOTDIR.
  if (e->kind != FdKind::kDirectory || e->preopen < 0) return Errno::kNotdir;
  const std::string& name = (*ctx.preopens)[e->preopen].guest_path;
  if (name.size() > len) return Errno::kNametoolong;
  // No NUL terminator: the guest knows the length from fd_prestat_get.
  return memoryOf(ctx).copyIn(buf, name) ? Errno::kSuccess : Errno::kFault;
}

uint8_t direntType(const dirent& d, int dir_fd) {
  switch (d.d_type) {
    case DT_REG:
      return kFiletypeRegularFile;
    case DT_DIR:
      return kFiletypeDirectory;
    case DT_LNK:
      return kFiletypeSymbolicLink;
    case DT_CHR:
      return kFiletypeCharacterDevice;
    case DT_BLK:
      return kFiletypeBlockDevice;
    case DT_SOCK:
      return kFiletypeSocketStream;
    case DT_UNKNOWN: {
      // Some file systems do not fill d_type; ask (wasmtime stats every entry).
      struct stat st {};
      if (fstatat(dir_fd, d.d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) return kFiletypeUnknown;
      return internal::filetypeOf(st.st_mode);
    }
    default:
      return kFiletypeUnknown;  // FIFOs
  }
}

// Cookies: 0 is the start, 1 is after ".", 2 after ".."; a host entry's
// cookie is its directory offset (d_off, what telldir() gives) plus 2. Host
// offsets are positions the kernel keeps valid while the directory changes
// (ext4 uses name hashes), so a cookie stays good for a later call, and
// resuming costs one seek instead of rereading the directory.
constexpr uint64_t kCookieFirstHost = 2;

Errno fdReaddir(Context& ctx, u32 fd, u32 buf, u32 buf_len, uint64_t cookie, u32 used_ptr) {
  FdEntry* e = fdTable(ctx).get(fd);
  if (e == nullptr || e->kind != FdKind::kDirectory) return Errno::kBadf;
  GuestMemory mem = memoryOf(ctx);
  if (!mem.contains(buf, buf_len) || !mem.contains(used_ptr, 4)) return Errno::kFault;
  int host = -1;
  if (Errno err = hostFd(ctx, *e, &host); err != Errno::kSuccess) return err;
  if (!e->dir_stream) {
    // A descriptor of its own: its position is the stream's, and closedir()
    // must not close the entry's descriptor.
    UniqueFd dup_fd(openat(host, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dup_fd.valid()) return errnoFromHost(errno);
    DIR* d = fdopendir(dup_fd.get());
    if (d == nullptr) return errnoFromHost(errno);
    (void)dup_fd.release();  // owned by the DIR now
    e->dir_stream.reset(d);
  }
  DIR* dir = e->dir_stream.get();

  // Entries that do not fit are truncated: the guest sees used == buf_len
  // and asks again with a larger buffer or the cookie of the last whole
  // entry (wasi-libc's readdir does both).
  uint32_t used = 0;
  bool full = false;
  auto emit = [&](uint64_t next, uint64_t ino, uint8_t type, std::string_view name) {
    uint8_t header[layout::kDirentSize] = {};
    for (int i = 0; i < 8; ++i) {
      header[layout::kDirentNext + i] = static_cast<uint8_t>(next >> (8 * i));
      header[layout::kDirentIno + i] = static_cast<uint8_t>(ino >> (8 * i));
    }
    for (int i = 0; i < 4; ++i) {
      header[layout::kDirentNamlen + i] = static_cast<uint8_t>(name.size() >> (8 * i));
    }
    header[layout::kDirentType] = type;
    for (std::string_view part :
         {std::string_view(reinterpret_cast<const char*>(header), sizeof header), name}) {
      size_t n = std::min<size_t>(part.size(), buf_len - used);
      (void)mem.copyIn(buf + used, part.substr(0, n));
      used += static_cast<uint32_t>(n);
      if (used == buf_len) {
        full = true;
        return;
      }
    }
  };
  if (cookie < kCookieFirstHost) {
    // "." and ".." first, as wasmtime synthesizes them (both with the
    // directory's own inode, as wasmtime does).
    struct stat self {};
    if (fstat(host, &self) != 0) return errnoFromHost(errno);
    if (cookie == 0) emit(1, self.st_ino, kFiletypeDirectory, ".");
    if (!full) emit(2, self.st_ino, kFiletypeDirectory, "..");
  }
  if (!full) {
    const uint64_t pos = cookie < kCookieFirstHost ? 0 : cookie - kCookieFirstHost;
    if (pos > static_cast<uint64_t>(INT64_MAX)) {
      // No host offset is this large: past the end.
      (void)mem.store32(used_ptr, used);
      return Errno::kSuccess;
    }
    if (pos == 0) {
      rewinddir(dir);
    } else {
      seekdir(dir, static_cast<long>(pos));
    }
    for (;;) {
      errno = 0;
      dirent* d = readdir(dir);
      if (d == nullptr) {
        if (errno != 0) return errnoFromHost(errno);
        break;
      }
      std::string_view name(d->d_name);
      if (name == "." || name == "..") continue;
      // wasmtime reads names as strings: a non-UTF-8 name fails the listing.
      if (!internal::validUtf8(name)) return Errno::kIlseq;
      emit(static_cast<uint64_t>(d->d_off) + kCookieFirstHost, d->d_ino,
           direntType(*d, ::dirfd(dir)), name);
      if (full) break;
    }
  }
  (void)mem.store32(used_ptr, used);
  return Errno::kSuccess;
}

Errno fileSync(Context& ctx, u32 fd, bool data_only) {
  Errno err = Errno::kSuccess;
  FdEntry* e = fileEntry(ctx, fd, &err);
  if (e == nullptr) return err;
  int rc = data_only ? fdatasync(e->host.get()) : fsync(e->host.get());
  return rc == 0 ? Errno::kSuccess : errnoFromHost(errno);
}

Errno fdAdvise(Context& ctx, u32 fd, uint64_t offset, uint64_t len, u32 advice) {
  static constexpr int kAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                                    POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  if (advice >= std::size(kAdvice)) return Errno::kInval;
  Errno err = Errno::kSuccess;
  FdEntry* e = fileEntry(ctx, fd, &err);
  if (e == nullptr) return err;
  int rc = posix_fadvise(e->host.get(), static_cast<off_t>(offset), static_cast<off_t>(len),
                         kAdvice[advice]);
  return rc == 0 ? Errno::kSuccess : errnoFromHost(rc);
}

}  // namespace

u32 fd_advise(Context& ctx, u32 a0, u64 a1, u64 a2, u32 a3) {
  return guarded([&] { return fdAdvise(ctx, a0, a1, a2, a3); });
}
u32 fd_allocate(Context& ctx, u32 a0, u64, u64) {
  // wasmtime: valid file, but allocation is not supported.
  return guarded([&] {
    Errno err = Errno::kSuccess;
    return fileEntry(ctx, a0, &err) == nullptr ? err : Errno::kNotsup;
  });
}
u32 fd_close(Context& ctx, u32 a0) {
  return guarded([&] { return fdTable(ctx).close(a0); });
}
u32 fd_datasync(Context& ctx, u32 a0) {
  return guarded([&] { return fileSync(ctx, a0, true); });
}
u32 fd_sync(Context& ctx, u32 a0) {
  return guarded([&] { return fileSync(ctx, a0, false); });
}
u32 fd_fdstat_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdFdstatGet(ctx, a0, a1); });
}
u32 fd_fdstat_set_flags(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdFdstatSetFlags(ctx, a0, a1); });
}
u32 fd_fdstat_set_rights(Context& ctx, u32 a0, u64, u64) {
  // wasmtime: a no-op on directories and files, kBadf otherwise.
  return guarded([&] {
    Errno err = Errno::kSuccess;
    return fsEntry(ctx, a0, &err) == nullptr ? err : Errno::kSuccess;
  });
}
u32 fd_filestat_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdFilestatGet(ctx, a0, a1); });
}
u32 fd_filestat_set_size(Context& ctx, u32 a0, u64 a1) {
  return guarded([&] { return fdFilestatSetSize(ctx, a0, a1); });
}
u32 fd_filestat_set_times(Context& ctx, u32 a0, u64 a1, u64 a2, u32 a3) {
  return guarded([&] { return fdFilestatSetTimes(ctx, a0, a1, a2, a3); });
}
u32 fd_pread(Context& ctx, u32 a0, u32 a1, u32 a2, u64 a3, u32 a4) {
  return guarded([&] { return fdRead(ctx, a0, a1, a2, a4, true, a3); });
}
u32 fd_pwrite(Context& ctx, u32 a0, u32 a1, u32 a2, u64 a3, u32 a4) {
  return guarded([&] { return fdWrite(ctx, a0, a1, a2, a4, true, a3); });
}
u32 fd_read(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3) {
  return guarded([&] { return fdRead(ctx, a0, a1, a2, a3, false, 0); });
}
u32 fd_write(Context& ctx, u32 a0, u32 a1, u32 a2, u32 a3) {
  return guarded([&] { return fdWrite(ctx, a0, a1, a2, a3, false, 0); });
}
u32 fd_prestat_get(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdPrestatGet(ctx, a0, a1); });
}
u32 fd_prestat_dir_name(Context& ctx, u32 a0, u32 a1, u32 a2) {
  return guarded([&] { return fdPrestatDirName(ctx, a0, a1, a2); });
}
u32 fd_readdir(Context& ctx, u32 a0, u32 a1, u32 a2, u64 a3, u32 a4) {
  return guarded([&] { return fdReaddir(ctx, a0, a1, a2, a3, a4); });
}
u32 fd_renumber(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdTable(ctx).renumber(a0, a1); });
}
u32 fd_seek(Context& ctx, u32 a0, u64 a1, u32 a2, u32 a3) {
  return guarded([&] { return fdSeek(ctx, a0, a1, a2, a3, false); });
}
u32 fd_tell(Context& ctx, u32 a0, u32 a1) {
  return guarded([&] { return fdSeek(ctx, a0, 0, kWhenceCur, a1, true); });
}

}  // namespace jinn::wasi
