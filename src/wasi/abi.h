// The guest-memory side of the WASI ABI: bounds-checked, little-endian access
// to a guest's linear memory through 32-bit guest addresses, and the (c)iovec
// arrays WASI passes around. No WASI behaviour lives here.
//
// Bounds are checked against memory->size on every access, never cached:
// memory.grow moves the limit (and with explicit bounds checks, the data).
// Every accessor fails (false / nullptr) instead of touching host memory
// outside [data, data + size); callers turn that into Errno::kFault.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "runtime/abi.h"
#include "wasi/errno.h"
#include "wasi/types.h"

namespace jinn::wasi {

class GuestMemory {
 public:
  // `mark_dirty`: the memory is the runtime's (it has a dirty-page map below
  // its base, src/runtime/abi.h), and every span handed out is marked, so
  // the pool resets what the host writes. Conservative: reads mark too, which
  // costs at most a page memset, never a missed reset.
  explicit GuestMemory(wasm_rt_memory_t* memory, bool mark_dirty = false)
      : memory_(memory), mark_dirty_(mark_dirty) {}

  // Host address of guest bytes [ptr, ptr + len), or nullptr when any of
  // them is outside the memory or there is no memory at all.
  uint8_t* span(uint32_t ptr, uint64_t len) const {
    if (memory_ == nullptr || memory_->data == nullptr) return nullptr;
    if (static_cast<uint64_t>(ptr) + len > memory_->size) return nullptr;
    if (mark_dirty_) jinn_mark_dirty_range(memory_->data, ptr, len);
    return memory_->data + ptr;
  }
  bool contains(uint32_t ptr, uint64_t len) const {
    return memory_ != nullptr && memory_->data != nullptr &&
           static_cast<uint64_t>(ptr) + len <= memory_->size;
  }

  // Little-endian loads and stores; explicit byte order so a big-endian host
  // would still see the wasm layout.
  template <typename T>
  [[nodiscard]] bool load(uint32_t ptr, T* out) const {
    const uint8_t* p = span(ptr, sizeof(T));
    if (p == nullptr) return false;
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(static_cast<T>(p[i]) << (8 * i));
    *out = v;
    return true;
  }
  template <typename T>
  [[nodiscard]] bool store(uint32_t ptr, T value) const {
    uint8_t* p = span(ptr, sizeof(T));
    if (p == nullptr) return false;
    for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
    return true;
  }
  [[nodiscard]] bool load8(uint32_t ptr, uint8_t* out) const { return load(ptr, out); }
  [[nodiscard]] bool load16(uint32_t ptr, uint16_t* out) const { return load(ptr, out); }
  [[nodiscard]] bool load32(uint32_t ptr, uint32_t* out) const { return load(ptr, out); }
  [[nodiscard]] bool load64(uint32_t ptr, uint64_t* out) const { return load(ptr, out); }
  [[nodiscard]] bool store8(uint32_t ptr, uint8_t v) const { return store(ptr, v); }
  [[nodiscard]] bool store16(uint32_t ptr, uint16_t v) const { return store(ptr, v); }
  [[nodiscard]] bool store32(uint32_t ptr, uint32_t v) const { return store(ptr, v); }
  [[nodiscard]] bool store64(uint32_t ptr, uint64_t v) const { return store(ptr, v); }

  // Copies host bytes into the guest at ptr (all or nothing).
  [[nodiscard]] bool copyIn(uint32_t ptr, std::string_view bytes) const {
    uint8_t* p = span(ptr, bytes.size());
    if (p == nullptr) return false;
    if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
    return true;
  }
  // A view of guest bytes [ptr, ptr + len); valid until the guest runs again.
  [[nodiscard]] bool view(uint32_t ptr, uint32_t len, std::string_view* out) const {
    const uint8_t* p = span(ptr, len);
    if (p == nullptr) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p), len);
    return true;
  }

 private:
  wasm_rt_memory_t* memory_;
  bool mark_dirty_;
};

// A guest (c)iovec array: `count` entries of {buf u32, buf_len u32} at `ptr`.
// check() validates the array and every buffer it names before anything is
// read or written, so an operation either faults up front or runs whole.
// Iteration is lazy: a guest can name millions of entries and nothing here
// allocates per entry.
class IovecArray {
 public:
  IovecArray(const GuestMemory& memory, uint32_t ptr, uint32_t count)
      : memory_(memory), ptr_(ptr), count_(count) {}

  // kSuccess, or kFault if the array or any buffer is out of bounds.
  // `total` gets the sum of the buffer lengths (64-bit: entries may overlap).
  Errno check(uint64_t* total) const {
    if (!memory_.contains(ptr_, static_cast<uint64_t>(count_) * layout::kIovecSize)) {
      return Errno::kFault;
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < count_; ++i) {
      uint32_t buf = 0;
      uint32_t len = 0;
      entry(i, &buf, &len);
      if (!memory_.contains(buf, len)) return Errno::kFault;
      sum += len;
    }
    if (total != nullptr) *total = sum;
    return Errno::kSuccess;
  }

  // Calls fn(uint8_t* data, uint32_t len) for each non-empty buffer in order
  // until fn returns false. Only after check() succeeded.
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (uint32_t i = 0; i < count_; ++i) {
      uint32_t buf = 0;
      uint32_t len = 0;
      entry(i, &buf, &len);
      if (len == 0) continue;
      uint8_t* data = memory_.span(buf, len);
      if (data == nullptr || !fn(data, len)) return;
    }
  }

  uint32_t count() const { return count_; }

 private:
  void entry(uint32_t i, uint32_t* buf, uint32_t* len) const {
    uint32_t at = ptr_ + i * layout::kIovecSize;
    if (!memory_.load32(at, buf) || !memory_.load32(at + 4, len)) *buf = *len = 0;
  }

  const GuestMemory& memory_;
  uint32_t ptr_;
  uint32_t count_;
};

}  // namespace jinn::wasi
