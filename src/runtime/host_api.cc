// The functions generated code calls, reached through the shim's forwarders
// (src/runtime/shim.c): traps, function types, memories, tables, and the WASI
// imports.
//
// Every function here that runs while the guest is running first leaves guest
// mode (so the kill switch and the fault handler never jump out of host code
// holding a lock), and re-enters it on return, stopping the guest there if its
// deadline passed meanwhile or the import asked to stop (proc_exit, output
// past its cap). A function that may stop the guest holds no object with a
// destructor at that point: the stop is a siglongjmp back to
// src/runtime/guest_enter.c.
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#include "runtime/call_state.h"
#include "runtime/guest_thread.h"
#include "runtime/runtime.h"
#include "wasi/wasi.h"

namespace jinn::runtime {
namespace {

constexpr uint64_t kPageBytes = 65536;
// wasm_rt_memory_t::size is 32 bits: 65536 pages would read as 0 (pitfall 8).
constexpr uint32_t kMaxPages = 65535;

[[noreturn]] void stopGuest(GuestThread* t, int code) {
  t->in_guest = 0;
  jinn_fiber_to_host(&t->fiber);
  siglongjmp(t->jump, code);
}

GuestThread* leaveGuest() {
  GuestThread* t = runningThread();
  if (t == nullptr || t->call == nullptr) std::abort();  // generated code outside a call
  t->in_guest = 0;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  return t;
}

void enterGuest(GuestThread* t) {
  // Set the flag before looking at timed_out: a timer firing in between then
  // jumps out itself, one firing before has set timed_out.
  t->in_guest = 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  if (t->timed_out) stopGuest(t, JINN_STOP_TIMEOUT);
}

[[noreturn]] void hostTrap(int code) {
  GuestThread* t = runningThread();
  if (t == nullptr || t->call == nullptr) std::abort();
  stopGuest(t, code);
}

// Function types are interned process-wide: each compiled module keeps the ids
// in a static array of its own .so, so ids must mean the same thing for every
// module loaded into the process. Append-only; taken only at module load.
uint32_t registerFuncType(uint32_t params, uint32_t results, const wasm_rt_type_t* types) {
  static std::mutex mu;
  static std::map<std::vector<int>, uint32_t>* registry = new std::map<std::vector<int>, uint32_t>;
  std::vector<int> key;
  key.reserve(params + results + 1);
  key.push_back(static_cast<int>(params));
  for (uint32_t i = 0; i < params + results; ++i) key.push_back(types[i]);
  std::lock_guard<std::mutex> lock(mu);
  auto [it, inserted] = registry->emplace(std::move(key), static_cast<uint32_t>(registry->size()));
  return it->second;
}

void allocateMemory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages) {
  GuestThread* t = leaveGuest();
  CallState* c = t->call;
  const uint64_t bytes = uint64_t{initial_pages} * kPageBytes;
  if (initial_pages > kMaxPages || bytes > c->memory_limit_bytes) {
    c->memory_refused = true;
    stopGuest(t, JINN_STOP_OUT_OF_MEMORY);
  }
  if (c->slot != nullptr) stopGuest(t, JINN_STOP_HOST_ERROR);  // validation allows one memory
  MemoryPool::Slot* slot = c->pool->acquire(bytes);
  if (slot == nullptr) stopGuest(t, JINN_STOP_HOST_ERROR);
  c->slot = slot;
  c->memory = mem;
  c->wasi->memory = mem;  // WASI sees the module's one memory, exported or not
  mem->data = slot->base;
  mem->pages = initial_pages;
  mem->max_pages = max_pages > kMaxPages ? kMaxPages : max_pages;
  c->declared_max_pages = max_pages;
  mem->size = static_cast<uint32_t>(bytes);
  t->mem_lo = reinterpret_cast<uintptr_t>(slot->base);
  t->mem_hi = t->mem_lo + MemoryPool::kReservation;
  enterGuest(t);
}

uint32_t growMemory(wasm_rt_memory_t* mem, uint32_t delta) {
  GuestThread* t = leaveGuest();
  CallState* c = t->call;
  const uint32_t old_pages = mem->pages;
  uint32_t result = old_pages;
  const uint64_t new_pages = uint64_t{old_pages} + delta;
  if (delta != 0) {
    if (new_pages > mem->max_pages || c->slot == nullptr || c->memory != mem) {
      // Past our own cap (kMaxPages) but within the module's maximum: the
      // engine refused memory the module could have had.
      if (new_pages <= c->declared_max_pages) c->memory_refused = true;
      result = UINT32_MAX;
    } else if (new_pages * kPageBytes > c->memory_limit_bytes) {
      c->memory_refused = true;
      result = UINT32_MAX;
    } else if (!c->pool->grow(c->slot, new_pages * kPageBytes)) {
      c->memory_refused = true;
      result = UINT32_MAX;
    } else {
      mem->pages = static_cast<uint32_t>(new_pages);
      mem->size = static_cast<uint32_t>(new_pages * kPageBytes);
    }
  }
  enterGuest(t);
  return result;
}

void freeMemory(wasm_rt_memory_t* mem) {
  // Called by the module's free function from the host (runtime/call.cc),
  // after the guest stopped.
  GuestThread* t = runningThread();
  if (t != nullptr && t->call != nullptr && t->call->memory == mem && t->call->slot != nullptr) {
    t->mem_lo = 0;
    t->mem_hi = 0;
    t->call->pool->release(t->call->slot, t->call->marks_complete);
    t->call->slot = nullptr;
    t->call->memory = nullptr;
  }
  mem->data = nullptr;
  mem->size = 0;
  mem->pages = 0;
}

template <typename Table, typename Elem>
void allocateTable(Table* table, uint32_t elements, uint32_t max) {
  GuestThread* t = leaveGuest();
  if (elements > kMaxTableElements) {
    t->call->memory_refused = true;
    stopGuest(t, JINN_STOP_OUT_OF_MEMORY);
  }
  table->size = elements;
  table->max_size = max;
  table->data = nullptr;
  if (elements > 0) {
    table->data = static_cast<Elem*>(std::calloc(elements, sizeof(Elem)));
    if (table->data == nullptr) stopGuest(t, JINN_STOP_HOST_ERROR);
  }
  enterGuest(t);
}

template <typename Table, typename Elem>
uint32_t growTable(Table* table, uint32_t delta, Elem init) {
  GuestThread* t = leaveGuest();
  const uint32_t old_size = table->size;
  uint32_t result = old_size;
  const uint64_t new_size = uint64_t{old_size} + delta;
  if (delta != 0) {
    if (new_size > table->max_size || new_size > kMaxTableElements) {
      result = UINT32_MAX;
    } else {
      void* grown = std::realloc(table->data, new_size * sizeof(Elem));
      if (grown == nullptr) {
        result = UINT32_MAX;
      } else {
        table->data = static_cast<Elem*>(grown);
        for (uint64_t i = old_size; i < new_size; ++i) table->data[i] = init;
        table->size = static_cast<uint32_t>(new_size);
      }
    }
  }
  enterGuest(t);
  return result;
}

template <typename Table>
void freeTable(Table* table) {
  std::free(table->data);
  table->data = nullptr;
  table->size = 0;
}

// The body of every WASI import: leave guest mode, make sure the host has
// stack to run on, run the behaviour, and stop the guest if asked to.
template <typename F>
auto wasiCall(void* vctx, F&& body) -> decltype(body(std::declval<wasi::Context&>())) {
  GuestThread* t = leaveGuest();
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  if (sp < reinterpret_cast<uintptr_t>(t->stack_low) + GuestThread::kHostHeadroomBytes) {
    stopGuest(t, WASM_RT_TRAP_EXHAUSTION);
  }
  auto& ctx = *static_cast<wasi::Context*>(vctx);
  using R = decltype(body(ctx));
  if constexpr (std::is_void_v<R>) {
    body(ctx);
    if (ctx.stop != 0) stopGuest(t, ctx.stop);
    enterGuest(t);
  } else {
    R r = body(ctx);
    if (ctx.stop != 0) stopGuest(t, ctx.stop);
    enterGuest(t);
    return r;
  }
}

#define JINN_WASI_CTX void* ctx
#define JINN_WASI_FN(name, sig, ret, params, args)                       \
  ret wasi_##name params {                                               \
    return wasiCall(ctx, [&](wasi::Context& ctx) { return wasi::name args; }); \
  }
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
#undef JINN_WASI_CTX

const jinn_host_api kHostApi = {
    JINN_ABI_VERSION,
    hostTrap,
    registerFuncType,
    allocateMemory,
    growMemory,
    freeMemory,
    allocateTable<wasm_rt_funcref_table_t, wasm_rt_funcref_t>,
    freeTable<wasm_rt_funcref_table_t>,
    growTable<wasm_rt_funcref_table_t, wasm_rt_funcref_t>,
    allocateTable<wasm_rt_externref_table_t, wasm_rt_externref_t>,
    freeTable<wasm_rt_externref_table_t>,
    growTable<wasm_rt_externref_table_t, wasm_rt_externref_t>,
#define JINN_WASI_CTX void* ctx
#define JINN_WASI_FN(name, sig, ret, params, args) wasi_##name,
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
#undef JINN_WASI_CTX
};

}  // namespace

const jinn_host_api& hostApi() { return kHostApi; }

}  // namespace jinn::runtime
