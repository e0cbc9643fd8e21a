// Shared helpers of the WASI implementation files; not part of the interface.
#pragma once

#include <sys/stat.h>

#include <exception>
#include <new>
#include <string_view>

#include "wasi/abi.h"
#include "wasi/errno.h"
#include "wasi/wasi.h"

namespace jinn::wasi::internal {

// Runs one WASI function body. They are called from generated C code, so no
// exception may escape: allocation failure reads as kNomem, anything else
// unexpected as kIo.
template <typename Fn>
uint32_t guarded(Fn&& fn) noexcept {
  try {
    return toWasm(fn());
  } catch (const std::bad_alloc&) {
    return toWasm(Errno::kNomem);
  } catch (...) {
    return toWasm(Errno::kIo);
  }
}

// The call's fd table, built on first use.
inline FdTable& fdTable(Context& ctx) {
  if (!ctx.fds.initialized()) ctx.fds.init(ctx.preopens);
  return ctx.fds;
}

inline GuestMemory memoryOf(const Context& ctx) { return GuestMemory(ctx.memory, ctx.mark_dirty); }

}  // namespace jinn::wasi::internal

namespace jinn::wasi::internal {

// The host descriptor of a directory or file entry, opening a preopen's
// directory on first use. Stdio has none (kBadf).
Errno hostFd(Context& ctx, FdEntry& entry, int* fd);

// The $filetype of a host st_mode.
uint8_t filetypeOf(mode_t mode);

// Whether `s` is valid UTF-8 (no overlongs, surrogates or values past U+10FFFF).
bool validUtf8(std::string_view s);

// Writes a $filestat for a host stat result.
bool writeFilestat(const GuestMemory& mem, uint32_t ptr, const struct ::stat& st);

// One $fstflags half (set / now) as a utimensat timespec; both is kInval.
Errno timespecFor(bool set, bool now, uint64_t ts, timespec* out);

// Rights a directory reports and that files beneath it inherit.
uint64_t directoryRights(bool writable);
uint64_t directoryInheritingRights(bool writable);

}  // namespace jinn::wasi::internal
