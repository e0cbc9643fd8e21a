// Linear memories for guest instances, reused across calls.
//
// Slot layout (one per live or idle memory):
//
//   map            base                                 base + accessible    base + kReservation
//   |<- dirty map ->|<-- read/write: the guest's pages -->|<---- PROT_NONE guard ---->|
//     4 MiB, RW      (wasm2c's mem->data)
//
// The generated code (WASM_RT_MEMCHECK_SIGNAL_HANDLER=1) does no bounds
// checks: any address it can form is base + u32 + u32 offset (< 8 GiB), so an
// out-of-bounds access always lands in the guard and faults, and the fault
// handler turns it into a trap. Mapping 8 GiB of address space is cheap;
// mapping, faulting and unmapping it on every call is not (6-12 us measured
// against 2-3 us for a reused slot), hence the pool.
//
// Reset on release, so no byte of one call is visible to the next. Only what
// the call wrote is touched: generated code and the WASI layer mark each
// 1 KiB block they write in the dirty map (src/runtime/abi.h). A marked block
// in the first `keep_resident` bytes is zeroed with memset (it stays
// resident: a small guest costs a memset of the few blocks it wrote, no page
// fault, no syscall); beyond (memory.grow, big heaps), the pages holding
// marked blocks are returned to the kernel with madvise(MADV_DONTNEED) and
// read back as zeros. Clearing 128 KiB with memset costs 3-6 us on this class
// of machine; the order-tax example writes 6 of its 4 KiB pages, but only
// about 10 KiB of them. Protection is adjusted lazily on the next acquire
// (only when the next memory's size differs), so a slot reused by the same
// module costs no syscall at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

namespace jinn::runtime {

class MemoryPool {
 public:
  // Address space of one slot: 8 GiB that generated code can address, plus
  // slack for the widest access straddling the end.
  static constexpr size_t kReservation = (8ull << 30) + (64u << 10);
  static constexpr size_t kBlockBytes = size_t{1} << 10;  // dirty-map granularity

  struct Slot {
    uint8_t* base = nullptr;  // the guest's byte 0; the dirty map lies below
    size_t accessible = 0;  // bytes currently read/write from base
  };

  // `keep_resident_bytes` is rounded down to whole pages.
  MemoryPool(size_t keep_resident_bytes, size_t max_idle_slots);
  ~MemoryPool();
  MemoryPool(const MemoryPool&) = delete;
  MemoryPool& operator=(const MemoryPool&) = delete;

  // A zeroed slot with exactly `bytes` accessible, or nullptr when the
  // address space or protection change is refused. Thread-safe.
  Slot* acquire(size_t bytes);
  // Makes `new_bytes` (> accessible) accessible; false when refused.
  bool grow(Slot* slot, size_t new_bytes);
  // Resets the slot (see above) and keeps it for reuse or unmaps it.
  // `marks_complete` is false when the guest was stopped asynchronously (a
  // fault or the kill switch can land between a store and its mark, which
  // the compiler may also have moved past a faulting access): then every
  // accessible page is reset, as if all were marked.
  void release(Slot* slot, bool marks_complete);

  size_t idleSlots() const;
  size_t liveSlots() const;

 private:
  void reset(Slot* slot);
  void resetAll(Slot* slot);
  static uint8_t* mapStart(Slot* slot);

  const size_t page_bytes_;  // the kernel's, for madvise
  const size_t keep_resident_;
  const size_t max_idle_;
  mutable std::mutex mu_;
  std::vector<Slot*> idle_;  // LIFO: the most recently used slot is the hottest
  size_t live_ = 0;
};

}  // namespace jinn::runtime
