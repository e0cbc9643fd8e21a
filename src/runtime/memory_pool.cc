#include "runtime/memory_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

namespace jinn::runtime {

MemoryPool::MemoryPool(size_t keep_resident_bytes, size_t max_idle_slots)
    : keep_resident_(keep_resident_bytes), max_idle_(max_idle_slots) {}

MemoryPool::~MemoryPool() {
  for (Slot* s : idle_) {
    munmap(s->base, kReservation);
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
    void* p = mmap(nullptr, kReservation, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED) {
      std::lock_guard<std::mutex> lock(mu_);
      --live_;
      return nullptr;
    }
    slot = new Slot{static_cast<uint8_t*>(p), 0};
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
    munmap(slot->base, kReservation);
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
  const size_t dirty = slot->accessible;
  const size_t zero = std::min(dirty, keep_resident_);
  std::memset(slot->base, 0, zero);
  if (dirty > zero) {
    // Pages past the resident part: give them back. They read as zero when
    // touched again, and the slot keeps no RSS for a guest that grew once.
    madvise(slot->base + zero, dirty - zero, MADV_DONTNEED);
  }
}

void MemoryPool::release(Slot* slot) {
  if (slot == nullptr) return;
  reset(slot);
  {
    std::lock_guard<std::mutex> lock(mu_);
    --live_;
    if (idle_.size() < max_idle_) {
      idle_.push_back(slot);
      return;
    }
  }
  munmap(slot->base, kReservation);
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
