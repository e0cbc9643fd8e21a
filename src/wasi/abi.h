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
  // `mark_dirty`: the memory is the runtime's (it has a dirty map below its
  // base, src/runtime/abi.h), and every writable span handed out is marked,
  // so the pool resets what the host writes. Reads (readable(), loads,
  // views) mark nothing: the host changes no byte there.
  explicit GuestMemory(wasm_rt_memory_t* memory, bool mark_dirty = false)
      : memory_(memory), mark_dirty_(mark_dirty) {}

  // Host address of guest bytes [ptr, ptr + len) for the host to write (all
  // of them marked), or nullptr when any of them is outside the memory or
  // there is no memory at all.
  uint8_t* span(uint32_t ptr, uint64_t len) const {
    uint8_t* p = unmarked(ptr, len);
    if (p != nullptr) mark(ptr, len);
    return p;
  }
  // The same for the host to read only.
  const uint8_t* readable(uint32_t ptr, uint64_t len) const { return unmarked(ptr, len); }
  bool contains(uint32_t ptr, uint64_t len) const {
    return memory_ != nullptr && memory_->data != nullptr &&
           static_cast<uint64_t>(ptr) + len <= memory_->size;
  }

  // Little-endian loads and stores; explicit byte order so a big-endian host
  // would still see the wasm layout.
  template <typename T>
  [[nodiscard]] bool load(uint32_t ptr, T* out) const {
    const uint8_t* p = readable(ptr, sizeof(T));
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
    const uint8_t* p = readable(ptr, len);
    if (p == nullptr) return false;
    *out = std::string_view(reinterpret_cast<const char*>(p), len);
    return true;
  }

  // For a writer that learns only afterwards how much it wrote: the span
  // unmarked, then mark() exactly what was written (IovecArray::fill).
  uint8_t* unmarked(uint32_t ptr, uint64_t len) const {
    if (memory_ == nullptr || memory_->data == nullptr) return nullptr;
    if (static_cast<uint64_t>(ptr) + len > memory_->size) return nullptr;
    return memory_->data + ptr;
  }
  void mark(uint32_t ptr, uint64_t len) const {
    if (mark_dirty_) jinn_mark_dirty_range(memory_->data, ptr, len);
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

  // The buffers in order, each non-empty one as fn(data, len), until fn
  // returns false. Only after check() succeeded. forEach is for the host to
  // write them (each marked whole), forEachReadable to read them.
  template <typename Fn>
  void forEach(Fn&& fn) const {
    visit([&](uint32_t buf, uint32_t len) {
      uint8_t* data = memory_.span(buf, len);
      return data != nullptr && fn(data, len);
    });
  }
  template <typename Fn>
  void forEachReadable(Fn&& fn) const {
    visit([&](uint32_t buf, uint32_t len) {
      const uint8_t* data = memory_.readable(buf, len);
      return data != nullptr && fn(data, len);
    });
  }
  // Fills the buffers in order: fn(data, len) writes and returns how many
  // bytes it wrote, which alone are marked; a short buffer ends the fill.
  // (A read of a 300-byte stdin into a 4 KiB buffer dirties 300 bytes.)
  template <typename Fn>
  void fill(Fn&& fn) const {
    visit([&](uint32_t buf, uint32_t len) {
      uint8_t* data = memory_.unmarked(buf, len);
      if (data == nullptr) return false;
      const size_t n = fn(data, len);
      memory_.mark(buf, n);
      return n == len;
    });
  }

  uint32_t count() const { return count_; }

 private:
  template <typename Fn>
  void visit(Fn&& fn) const {
    for (uint32_t i = 0; i < count_; ++i) {
      uint32_t buf = 0;
      uint32_t len = 0;
      entry(i, &buf, &len);
      if (len != 0 && !fn(buf, len)) return;
    }
  }
  void entry(uint32_t i, uint32_t* buf, uint32_t* len) const {
    uint32_t at = ptr_ + i * layout::kIovecSize;
    if (!memory_.load32(at, buf) || !memory_.load32(at + 4, len)) *buf = *len = 0;
  }

  const GuestMemory& memory_;
  uint32_t ptr_;
  uint32_t count_;
};

}  // namespace jinn::wasi
