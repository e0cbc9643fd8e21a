// WASI preview1 errno values (witx `$errno`, u16 on the wire) and the single
// place where host errno values are translated into them.
#pragma once

#include <cstdint>

namespace jinn::wasi {

enum class Errno : uint16_t {
  kSuccess = 0,
  k2big = 1,
  kAcces = 2,
  kAddrinuse = 3,
  kAddrnotavail = 4,
  kAfnosupport = 5,
  kAgain = 6,
  kAlready = 7,
  kBadf = 8,
  kBadmsg = 9,
  kBusy = 10,
  kCanceled = 11,
  kChild = 12,
  kConnaborted = 13,
  kConnrefused = 14,
  kConnreset = 15,
  kDeadlk = 16,
  kDestaddrreq = 17,
  kDom = 18,
  kDquot = 19,
  kExist = 20,
  kFault = 21,
  kFbig = 22,
  kHostunreach = 23,
  kIdrm = 24,
  kIlseq = 25,
  kInprogress = 26,
  kIntr = 27,
  kInval = 28,
  kIo = 29,
  kIsconn = 30,
  kIsdir = 31,
  kLoop = 32,
  kMfile = 33,
  kMlink = 34,
  kMsgsize = 35,
  kMultihop = 36,
  kNametoolong = 37,
  kNetdown = 38,
  kNetreset = 39,
  kNetunreach = 40,
  kNfile = 41,
  kNobufs = 42,
  kNodev = 43,
  kNoent = 44,
  kNoexec = 45,
  kNolck = 46,
  kNolink = 47,
  kNomem = 48,
  kNomsg = 49,
  kNoprotoopt = 50,
  kNospc = 51,
  kNosys = 52,
  kNotconn = 53,
  kNotdir = 54,
  kNotempty = 55,
  kNotrecoverable = 56,
  kNotsock = 57,
  kNotsup = 58,
  kNotty = 59,
  kNxio = 60,
  kOverflow = 61,
  kOwnerdead = 62,
  kPerm = 63,
  kPipe = 64,
  kProto = 65,
  kProtonosupport = 66,
  kPrototype = 67,
  kRange = 68,
  kRofs = 69,
  kSpipe = 70,
  kSrch = 71,
  kStale = 72,
  kTimedout = 73,
  kTxtbsy = 74,
  kXdev = 75,
  kNotcapable = 76,
};

// Translates a host (Linux) errno value. Anything without a WASI counterpart
// becomes kIo, so a host surprise never reads as success.
Errno errnoFromHost(int host_errno);

// The errno of a failed confined lookup (openat2 with RESOLVE_BENEATH): a path
// that leaves its preopen (EXDEV from the kernel) is kErrnoOutside, anything
// else as errnoFromHost. Only for lookups: EXDEV from rename/link is a real
// cross-device error.
Errno errnoFromLookup(int host_errno);

// wasmtime answers both "this path leads outside the preopen" and "this
// preopen is read-only" with NotPermitted, i.e. PERM. Named once here so the
// choice lives in one place.
inline constexpr Errno kErrnoOutside = Errno::kPerm;
inline constexpr Errno kErrnoReadOnly = Errno::kPerm;

// The value a WASI function returns to generated code.
constexpr uint32_t toWasm(Errno e) { return static_cast<uint32_t>(e); }

}  // namespace jinn::wasi
