// ElfImage: a compiled module's shared object, mapped from bytes in memory by
// jinn itself rather than by glibc's dlopen.
//
// Why by hand: glibc's loader keeps every loaded object in one list, and
// dlopen (a name search) and dlclose (a sort of the whole list) walk it. With
// a thousand functions loaded that is most of a first hit: measured on the
// 2-core VM, 160 us per dlopen with none loaded, 250 us with 1,000, 110 us
// per dlclose with 2,000 (docs/adr/0003-own-module-loader.md). Our objects are
// the compiler's own output (src/compiler): one position-independent object,
// three relocation kinds, no TLS, no constructors of its own, one exported
// symbol. Loading one is a copy into an anonymous mapping, the relocations,
// and mprotect; its cost does not depend on how many others are loaded.
//
// What it accepts: ELF64, little-endian, ET_DYN, for this machine; PT_LOAD
// segments starting at address 0, none both writable and executable; RELA
// relocations of kind RELATIVE, GLOB_DAT, JUMP_SLOT and 64 (x86-64 and
// AArch64). Undefined symbols are resolved in the process's global scope, as
// dlopen does (the compiler links with -z defs, so they are libc's); an
// undefined weak one that is not there is 0. Anything else is refused with a
// message naming it. The bytes are not trusted to be well formed: every
// offset and size is checked against the buffer or the mapping before use.
//
// Init and fini code is not run. The only such code in our objects is gcc's
// crtstuff (frame_dummy, __do_global_dtors_aux), which registers
// transactional-memory clones and runs __cxa_atexit handlers: there is no
// libitm and there are no handlers, so running it would do nothing.
// Unwind tables are not registered: nothing unwinds through guest frames
// (traps and the kill switch leave by siglongjmp, src/runtime/guest_enter.c).
//
// Profiling: guest code is anonymous memory, so perf cannot name it from a
// file. With JINN_PERF_MAP=1 in the environment, each load appends its
// functions (from the object's .symtab, if it has one) to
// /tmp/perf-<pid>.map, the file perf reads for code it cannot find on disk:
// `JINN_PERF_MAP=1 perf record -g jinn serve ...` then shows w2c_* names. An
// address reused by a later load keeps its earlier lines too (perf maps are
// append-only), so a profile is clearest with the functions kept loaded.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "jinn/jinn.h"

namespace jinn::engine {

class ElfImage {
 public:
  // Maps `bytes` (the whole object). `who` names it in errors.
  static Result<std::unique_ptr<ElfImage>> load(std::string_view bytes, std::string_view who);

  ~ElfImage();
  ElfImage(const ElfImage&) = delete;
  ElfImage& operator=(const ElfImage&) = delete;

  // The address of the defined dynamic symbol `name`, or nullptr.
  const void* symbol(std::string_view name) const;

  // Images mapped now, in the whole process (for tests and diagnostics).
  static size_t live();
  // Where JINN_PERF_MAP=1 makes loads write their symbols.
  static std::string perfMapPath();

  const unsigned char* base() const { return base_; }
  size_t size() const { return size_; }

 private:
  ElfImage(unsigned char* base, size_t size);

  unsigned char* base_;
  size_t size_;
  const void* symtab_ = nullptr;  // Elf64_Sym[symbols_], inside the mapping
  size_t symbols_ = 0;
  const char* strtab_ = nullptr;  // strtab_size_ bytes, inside the mapping
  size_t strtab_size_ = 0;
};

}  // namespace jinn::engine
