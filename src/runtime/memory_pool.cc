#include "runtime/memory_pool.h"

#include "runtime/abi.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace jinn::runtime {

MemoryPool::MemoryPool(size_t keep_resident_bytes, size_t max_idle_slots)
    : keep_resident_(keep_resident_bytes), max_idle_(max_idle_slots) {}

namespace {
constexpr size_t kMapBytes = JINN_DIRTY_MAP_BYTES;
static_assert((size_t{1} << JINN_DIRTY_PAGE_SHIFT) == MemoryPool::kPageBytes);
}  // namespace

uint8_t* MemoryPool::mapStart(Slot* slot) { return slot->base - kMapBytes; }

MemoryPool::~MemoryPool() {
  for (Slot* s : idle_) {
    munmap(mapStart(s), kMapBytes + kReservation);
    delete s;
  }
}

MemoryPool::Slot* MemoryPool::acquire(size_t bytes) {
  Slot* slot = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      slot = idle_.back();
      idle_.pop_back();
    }
    ++live_;
  }
  if (slot == nullptr) {
    void* p = mmap(nullptr, kMapBytes + kReservation, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED && mprotect(p, kMapBytes, PROT_READ | PROT_WRITE) != 0) {
      munmap(p, kMapBytes + kReservation);
      p = MAP_FAILED;
    }
    if (p == MAP_FAILED) {
      std::lock_guard<std::mutex> lock(mu_);
      --live_;
      return nullptr;
    }
    slot = new Slot{static_cast<uint8_t*>(p) + kMapBytes, 0};
  }
  // An idle slot is all zeros up to `accessible` (reset on release), and
  // PROT_NONE pages beyond are zero once made accessible again.
  bool ok = true;
  if (slot->accessible > bytes) {
    ok = mprotect(slot->base + bytes, slot->accessible - bytes, PROT_NONE) == 0;
  } else if (slot->accessible < bytes) {
    ok = mprotect(slot->base + slot->accessible, bytes - slot->accessible,
                  PROT_READ | PROT_WRITE) == 0;
  }
  if (!ok) {
    munmap(mapStart(slot), kMapBytes + kReservation);
    delete slot;
    std::lock_guard<std::mutex> lock(mu_);
    --live_;
    return nullptr;
  }
  slot->accessible = bytes;
  return slot;
}

bool MemoryPool::grow(Slot* slot, size_t new_bytes) {
  if (new_bytes <= slot->accessible) return true;
  if (new_bytes > kReservation) return false;
  if (mprotect(slot->base + slot->accessible, new_bytes - slot->accessible,
               PROT_READ | PROT_WRITE) != 0) {
    return false;
  }
  slot->accessible = new_bytes;
  return true;
}

void MemoryPool::reset(Slot* slot) {
  // Page p's mark is base[-1 - p]: the map for pages [0, n) is the n bytes
  // just below base, in reverse order. Scan it a word (8 pages) at a time.
  uint8_t* const base = slot->base;
  const size_t pages = slot->accessible / kPageBytes;
  const size_t resident_pages = keep_resident_ / kPageBytes;
  size_t run_start = 0, run_len = 0;  // pending madvise run, beyond resident_pages
  auto flushRun = [&] {
    if (run_len > 0) madvise(base + run_start * kPageBytes, run_len * kPageBytes, MADV_DONTNEED);
    run_len = 0;
  };
  for (size_t group = 0; group < pages; group += 8) {
    const size_t n = std::min<size_t>(8, pages - group);
    uint64_t word = 0;
    std::memcpy(&word, base - group - n, n);
    if (word == 0) continue;
    for (size_t p = group; p < group + n; ++p) {
      uint8_t& mark = base[-1 - static_cast<ptrdiff_t>(p)];
      if (mark == 0) continue;
      mark = 0;
      if (p < resident_pages) {
        std::memset(base + p * kPageBytes, 0, kPageBytes);
      } else if (run_len > 0 && run_start + run_len == p) {
        ++run_len;
      } else {
        flushRun();
        run_start = p;
        run_len = 1;
      }
    }
  }
  flushRun();
}

void MemoryPool::resetAll(Slot* slot) {
  const size_t pages = slot->accessible / kPageBytes;
  std::memset(slot->base - pages, 0, pages);
  const size_t zero = std::min(slot->accessible, keep_resident_);
  std::memset(slot->base, 0, zero);
  if (slot->accessible > zero) {
    madvise(slot->base + zero, slot->accessible - zero, MADV_DONTNEED);
  }
}

void MemoryPool::release(Slot* slot, bool marks_complete) {
  if (slot == nullptr) return;
  if (marks_complete) {
    reset(slot);
  } else {
    resetAll(slot);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --live_;
    if (idle_.size() < max_idle_) {
      idle_.push_back(slot);
      return;
    }
  }
  munmap(mapStart(slot), kMapBytes + kReservation);
  delete slot;
}

size_t MemoryPool::idleSlots() const {
  std::lock_guard<std::mutex> lock(mu_);
  return idle_.size();
}

size_t MemoryPool::liveSlots() const {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

}  // namespace jinn::runtime
