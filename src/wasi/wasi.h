// WASI preview1 for one call: the per-call context and the 46 functions.
// The functions here are the behaviour; guest-pointer handling (bounds, iovecs)
// lives in abi.h. The runtime calls these from its import entry points between
// "leave guest" and "enter guest" (src/runtime/host_calls.cc); they never jump
// out themselves: to stop the guest (proc_exit, output past its cap) they set
// Context::stop and return, and the runtime stops it on return.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jinn/jinn.h"
#include "runtime/abi.h"
#include "wasi/fd_table.h"

namespace jinn::wasi {

struct Context {
  // Inputs, set by the runtime before the guest runs.
  wasm_rt_memory_t* memory = nullptr;  // the guest's exported memory (may be null)
  std::string_view stdin_data;
  size_t stdin_pos = 0;
  const std::vector<std::string>* args = nullptr;
  const std::vector<std::string>* env = nullptr;   // "K=V" entries
  const std::vector<Preopen>* preopens = nullptr;  // fds 3.. in order
  std::string* stdout_data = nullptr;              // captured output (cleared by the runtime)
  std::string* stderr_data = nullptr;
  size_t stdout_cap = 0;
  size_t stderr_cap = 0;
  std::chrono::steady_clock::time_point deadline;  // poll_oneoff never sleeps past it
  bool mark_dirty = false;  // `memory` has the runtime's dirty-page map (see wasi/abi.h)

  // Outputs.
  int stop = 0;  // 0, JINN_STOP_EXIT or JINN_STOP_OUTPUT_LIMIT
  uint32_t exit_code = 0;

  // State of the WASI side (owned by src/wasi). The fd table is built from the
  // inputs above on the first fd call and closes every host descriptor it
  // opened when the Context is destroyed; so a Context serves one call and
  // is move-only.
  FdTable fds;
};

#define JINN_WASI_CTX Context& ctx
#define JINN_WASI_FN(name, sig, ret, params, args) ret name params;
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
#undef JINN_WASI_CTX

}  // namespace jinn::wasi
