#include "runtime/memory_pool.h"

#include "runtime/abi.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace jinn::runtime {

namespace {
constexpr size_t kMapBytes = JINN_DIRTY_MAP_BYTES;
static_assert((size_t{1} << JINN_DIRTY_BLOCK_SHIFT) == MemoryPool::kBlockBytes);
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "reset() reads the marks as words");

size_t kernelPageBytes() {
  const long page = sysconf(_SC_PAGESIZE);
  // A block never spans two pages, and a page is whole blocks.
  return page >= static_cast<long>(MemoryPool::kBlockBytes) ? static_cast<size_t>(page) : 4096;
}
}  // namespace

MemoryPool::MemoryPool(size_t keep_resident_bytes, size_t max_idle_slots)
    : page_bytes_(kernelPageBytes()),
      keep_resident_(keep_resident_bytes / page_bytes_ * page_bytes_),
      max_idle_(max_idle_slots) {}

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
  // Block b's mark is base[-1 - b]: the map for blocks [0, n) is the n bytes
  // just below base, in reverse order. Scan it a word (8 blocks) at a time.
  uint8_t* const base = slot->base;
  const size_t blocks = slot->accessible / kBlockBytes;
  const size_t resident_blocks = keep_resident_ / kBlockBytes;  // whole pages
  const size_t blocks_per_page = page_bytes_ / kBlockBytes;
  // Neighbouring marked blocks are cleared by one memset: per block, 12 rep
  // stos starts for the order-tax example cost more than its 4 KiB pages did
  // (teardown p50 0.28 us against 0.19); in runs, 0.14 us (`jinn bench`).
  size_t zero_start = 0, zero_end = 0;  // pending memset run of blocks, below
  size_t drop_start = 0, drop_end = 0;  // pending madvise run of blocks, beyond
  auto flushZero = [&] {
    if (zero_end == 0) return;
    std::memset(base + zero_start * kBlockBytes, 0, (zero_end - zero_start) * kBlockBytes);
    zero_end = 0;
  };
  auto flushDrop = [&] {
    if (drop_end == 0) return;
    // Whole pages: the unmarked blocks they also cover are zero already.
    const size_t first = drop_start / blocks_per_page * blocks_per_page;
    const size_t last = (drop_end + blocks_per_page - 1) / blocks_per_page * blocks_per_page;
    madvise(base + first * kBlockBytes, (last - first) * kBlockBytes, MADV_DONTNEED);
    drop_end = 0;
  };
  for (size_t group = 0; group < blocks; group += 8) {
    // The marks of blocks group + n - 1 down to group, in address order.
    const size_t n = std::min<size_t>(8, blocks - group);
    uint8_t* const marks = base - group - n;
    uint64_t word = 0;
    std::memcpy(&word, marks, n);
    if (word == 0) continue;
    std::memset(marks, 0, n);
    while (word != 0) {  // the highest marked byte is the lowest block
      const int byte = (63 - __builtin_clzll(word)) / 8;
      word &= ~(uint64_t{0xFF} << (8 * byte));
      const size_t b = group + n - 1 - static_cast<size_t>(byte);
      if (b < resident_blocks) {
        if (zero_end > 0 && zero_end == b) {
          zero_end = b + 1;
        } else {
          flushZero();
          zero_start = b;
          zero_end = b + 1;
        }
      } else if (drop_end > 0 && b / blocks_per_page <= (drop_end - 1) / blocks_per_page + 1) {
        drop_end = b + 1;  // the same page as the run's last block, or the next
      } else {
        flushDrop();
        drop_start = b;
        drop_end = b + 1;
      }
    }
  }
  flushZero();
  flushDrop();
}

void MemoryPool::resetAll(Slot* slot) {
  const size_t blocks = slot->accessible / kBlockBytes;
  std::memset(slot->base - blocks, 0, blocks);
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
