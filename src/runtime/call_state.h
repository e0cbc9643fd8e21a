// What the runtime's host functions need to know about the running call.
// Reached through GuestThread::call (generated code passes no context to
// wasm_rt_* functions).
#pragma once

#include <cstdint>

#include "runtime/abi.h"
#include "runtime/memory_pool.h"
#include "wasi/wasi.h"

namespace jinn::runtime {

struct CallState {
  MemoryPool* pool = nullptr;
  uint64_t memory_limit_bytes = 0;
  wasm_rt_memory_t* memory = nullptr;  // the instance's one linear memory
  MemoryPool::Slot* slot = nullptr;    // backing `memory`
  uint32_t declared_max_pages = 0;     // the module's own maximum (before our cap)
  bool memory_refused = false;         // the limit refused an allocation or a grow
  bool marks_complete = true;          // see MemoryPool::release
  wasi::Context* wasi = nullptr;
};

// Tables beyond this many elements are refused (out of memory): a table is
// host-allocated, so the guest's memory limit does not cover it.
constexpr uint32_t kMaxTableElements = 1u << 20;

}  // namespace jinn::runtime
