#include "engine/elf_image.h"

#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace jinn::engine {
namespace {

// A mapping larger than this is refused before it is made: a compiled module
// is kilobytes to a few megabytes.
constexpr uint64_t kMaxImageBytes = uint64_t{1} << 30;

#if defined(__x86_64__)
constexpr uint16_t kMachine = EM_X86_64;
constexpr uint32_t kRelAbs64 = R_X86_64_64;
constexpr uint32_t kRelGlobDat = R_X86_64_GLOB_DAT;
constexpr uint32_t kRelJumpSlot = R_X86_64_JUMP_SLOT;
constexpr uint32_t kRelRelative = R_X86_64_RELATIVE;
#elif defined(__aarch64__)
constexpr uint16_t kMachine = EM_AARCH64;
constexpr uint32_t kRelAbs64 = R_AARCH64_ABS64;
constexpr uint32_t kRelGlobDat = R_AARCH64_GLOB_DAT;
constexpr uint32_t kRelJumpSlot = R_AARCH64_JUMP_SLOT;
constexpr uint32_t kRelRelative = R_AARCH64_RELATIVE;
#else
#error "jinn's module loader knows the relocations of x86-64 and AArch64 only"
#endif

// True when [offset, offset + n) lies inside a buffer of `size` bytes.
bool within(uint64_t offset, uint64_t n, uint64_t size) {
  return offset <= size && n <= size - offset;
}

std::atomic<size_t> live_images{0};

// Reads a T at `offset` of `bytes` (bounds checked by the caller).
template <typename T>
T readAt(std::string_view bytes, uint64_t offset) {
  T out;
  std::memcpy(&out, bytes.data() + offset, sizeof out);
  return out;
}

int protectionOf(uint32_t p_flags) {
  return ((p_flags & PF_R) ? PROT_READ : 0) | ((p_flags & PF_W) ? PROT_WRITE : 0) |
         ((p_flags & PF_X) ? PROT_EXEC : 0);
}

// Everything PT_DYNAMIC says that the loader uses.
struct Dynamic {
  uint64_t rela = 0, rela_size = 0, rela_ent = sizeof(Elf64_Rela);
  uint64_t jmprel = 0, pltrel_size = 0, pltrel = DT_RELA;
  uint64_t symtab = 0, strtab = 0, strtab_size = 0;
  uint64_t hash = 0, gnu_hash = 0;
  bool has_rel = false, textrel = false;
};

// JINN_PERF_MAP=1: appends "START SIZE NAME" for each function symbol of
// `bytes` (its section headers and .symtab, in the file, not mapped) to the
// perf map. Best effort: a malformed or stripped table writes nothing.
void writePerfMap(std::string_view bytes, const unsigned char* base, uint64_t size,
                  std::string_view who) {
  static std::mutex mu;
  if (bytes.size() < sizeof(Elf64_Ehdr)) return;
  const auto eh = readAt<Elf64_Ehdr>(bytes, 0);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) ||
      !within(eh.e_shoff, uint64_t{eh.e_shnum} * sizeof(Elf64_Shdr), bytes.size())) {
    return;
  }
  std::string lines;
  for (size_t i = 0; i < eh.e_shnum; ++i) {
    const auto sh = readAt<Elf64_Shdr>(bytes, eh.e_shoff + i * sizeof(Elf64_Shdr));
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_link >= eh.e_shnum ||
        !within(sh.sh_offset, sh.sh_size, bytes.size())) {
      continue;
    }
    const auto str = readAt<Elf64_Shdr>(bytes, eh.e_shoff + sh.sh_link * sizeof(Elf64_Shdr));
    if (!within(str.sh_offset, str.sh_size, bytes.size())) continue;
    const std::string_view names = bytes.substr(str.sh_offset, str.sh_size);
    for (uint64_t at = 0; at + sizeof(Elf64_Sym) <= sh.sh_size; at += sizeof(Elf64_Sym)) {
      const auto s = readAt<Elf64_Sym>(bytes, sh.sh_offset + at);
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_size == 0 || s.st_name >= names.size() ||
          !within(s.st_value, s.st_size, size)) {
        continue;
      }
      const std::string_view rest = names.substr(s.st_name);
      const std::string_view name = rest.substr(0, rest.find('\0'));
      char head[48];
      std::snprintf(head, sizeof head, "%lx %lx ",
                    static_cast<unsigned long>(reinterpret_cast<uintptr_t>(base) + s.st_value),
                    static_cast<unsigned long>(s.st_size));
      lines.append(head).append(name).append(" [");
      for (char c : who) lines.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
      lines.append("]\n");
    }
  }
  if (lines.empty()) return;
  std::lock_guard<std::mutex> lock(mu);
  if (FILE* f = std::fopen(ElfImage::perfMapPath().c_str(), "ae")) {
    std::fwrite(lines.data(), 1, lines.size(), f);
    std::fclose(f);
  }
}

bool perfMapWanted() {
  const char* v = std::getenv("JINN_PERF_MAP");
  return v != nullptr && std::strcmp(v, "1") == 0;
}

}  // namespace

std::string ElfImage::perfMapPath() { return "/tmp/perf-" + std::to_string(::getpid()) + ".map"; }

ElfImage::ElfImage(unsigned char* base, size_t size) : base_(base), size_(size) { ++live_images; }

ElfImage::~ElfImage() {
  ::munmap(base_, size_);
  --live_images;
}

size_t ElfImage::live() { return live_images.load(); }

Result<std::unique_ptr<ElfImage>> ElfImage::load(std::string_view bytes, std::string_view who) {
  const std::string name(who);
  auto refuse = [&](const std::string& why) -> Error {
    return Error{name + ": not a loadable jinn module: " + why};
  };

  // --- The file: header and program headers, checked against the buffer.
  if (bytes.size() < sizeof(Elf64_Ehdr)) return refuse("too short for an ELF header");
  const auto eh = readAt<Elf64_Ehdr>(bytes, 0);
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return refuse("no ELF magic");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB) {
    return refuse("not 64-bit little-endian ELF");
  }
  if (eh.e_type != ET_DYN) return refuse("not a shared object");
  if (eh.e_machine != kMachine) return refuse("built for another machine");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      !within(eh.e_phoff, uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr), bytes.size())) {
    return refuse("program headers out of bounds");
  }
  std::vector<Elf64_Phdr> loads;
  const Elf64_Phdr* dynamic = nullptr;
  std::vector<Elf64_Phdr> phdrs(eh.e_phnum);
  uint64_t span = 0;
  uint64_t relro_start = 0, relro_end = 0;
  for (size_t i = 0; i < eh.e_phnum; ++i) {
    phdrs[i] = readAt<Elf64_Phdr>(bytes, eh.e_phoff + i * sizeof(Elf64_Phdr));
    const Elf64_Phdr& ph = phdrs[i];
    switch (ph.p_type) {
      case PT_LOAD:
        if (ph.p_filesz > ph.p_memsz || !within(ph.p_offset, ph.p_filesz, bytes.size())) {
          return refuse("a segment lies outside the file");
        }
        if (ph.p_memsz > kMaxImageBytes || ph.p_vaddr > kMaxImageBytes - ph.p_memsz) {
          return refuse("a segment is too large");
        }
        if ((ph.p_flags & PF_W) && (ph.p_flags & PF_X)) {
          return refuse("a segment is both writable and executable");
        }
        span = std::max(span, ph.p_vaddr + ph.p_memsz);
        loads.push_back(ph);
        break;
      case PT_DYNAMIC:
        dynamic = &phdrs[i];
        break;
      case PT_GNU_RELRO:
        relro_start = ph.p_vaddr;
        relro_end = ph.p_vaddr + ph.p_memsz;
        break;
      case PT_TLS:
        return refuse("it has thread-local storage");
      case PT_INTERP:
        return refuse("it is an executable (has an interpreter)");
      default:
        break;  // PT_GNU_STACK, PT_GNU_EH_FRAME, PT_NOTE...: nothing to do
    }
  }
  if (loads.empty()) return refuse("no loadable segment");
  if (dynamic == nullptr) return refuse("no dynamic section");

  // --- The mapping: one anonymous read/write region, the segments copied in.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t size = (span + page - 1) / page * page;
  void* mapped = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) return Error{name + ": mmap: " + std::strerror(errno)};
  std::unique_ptr<ElfImage> image(new ElfImage(static_cast<unsigned char*>(mapped), size));
  unsigned char* const base = image->base_;
  for (const Elf64_Phdr& ph : loads) std::memcpy(base + ph.p_vaddr, bytes.data() + ph.p_offset, ph.p_filesz);

  // --- The dynamic section, read from the mapping.
  if (!within(dynamic->p_vaddr, dynamic->p_memsz, size)) return refuse("dynamic section out of bounds");
  Dynamic dyn;
  for (uint64_t at = dynamic->p_vaddr; at + sizeof(Elf64_Dyn) <= dynamic->p_vaddr + dynamic->p_memsz;
       at += sizeof(Elf64_Dyn)) {
    Elf64_Dyn d;
    std::memcpy(&d, base + at, sizeof d);
    if (d.d_tag == DT_NULL) break;
    const uint64_t v = d.d_un.d_val;
    switch (d.d_tag) {
      case DT_RELA: dyn.rela = v; break;
      case DT_RELASZ: dyn.rela_size = v; break;
      case DT_RELAENT: dyn.rela_ent = v; break;
      case DT_JMPREL: dyn.jmprel = v; break;
      case DT_PLTRELSZ: dyn.pltrel_size = v; break;
      case DT_PLTREL: dyn.pltrel = v; break;
      case DT_SYMTAB: dyn.symtab = v; break;
      case DT_STRTAB: dyn.strtab = v; break;
      case DT_STRSZ: dyn.strtab_size = v; break;
      case DT_HASH: dyn.hash = v; break;
      case DT_GNU_HASH: dyn.gnu_hash = v; break;
      case DT_REL: dyn.has_rel = true; break;
      case DT_TEXTREL: dyn.textrel = true; break;
      case DT_FLAGS:
        if (v & DF_TEXTREL) dyn.textrel = true;
        if (v & DF_STATIC_TLS) return refuse("it uses static TLS");
        break;
      default: break;  // DT_NEEDED (libc), DT_INIT/FINI (crtstuff, see the header)...
    }
  }
  if (dyn.has_rel) return refuse("REL relocations (only RELA is known)");
  if (dyn.textrel) return refuse("text relocations");
  if (dyn.pltrel != DT_RELA) return refuse("PLT relocations are not RELA");
  if (dyn.rela_ent != sizeof(Elf64_Rela)) return refuse("unexpected relocation entry size");
  if (!within(dyn.strtab, dyn.strtab_size, size)) return refuse("string table out of bounds");

  // The number of dynamic symbols: from DT_HASH's chain count, or by walking
  // DT_GNU_HASH's buckets and chains to the last symbol.
  size_t symbols = 0;
  auto word = [&](uint64_t at, uint32_t& out) {
    if (!within(at, 4, size)) return false;
    std::memcpy(&out, base + at, 4);
    return true;
  };
  if (dyn.hash != 0) {
    uint32_t nchain = 0;
    if (!word(dyn.hash + 4, nchain)) return refuse("hash table out of bounds");
    symbols = nchain;
  } else if (dyn.gnu_hash != 0) {
    uint32_t nbuckets = 0, symoffset = 0, bloom_size = 0;
    if (!word(dyn.gnu_hash, nbuckets) || !word(dyn.gnu_hash + 4, symoffset) ||
        !word(dyn.gnu_hash + 8, bloom_size)) {
      return refuse("GNU hash table out of bounds");
    }
    const uint64_t buckets = dyn.gnu_hash + 16 + uint64_t{bloom_size} * 8;
    const uint64_t chains = buckets + uint64_t{nbuckets} * 4;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; ++b) {
      uint32_t first = 0;
      if (!word(buckets + uint64_t{b} * 4, first)) return refuse("GNU hash table out of bounds");
      last = std::max(last, first);
    }
    symbols = symoffset;
    if (last >= symoffset) {
      for (uint32_t entry = 0;; ++last) {
        if (!word(chains + uint64_t{last - symoffset} * 4, entry)) {
          return refuse("GNU hash chain out of bounds");
        }
        if (entry & 1) break;
      }
      symbols = size_t{last} + 1;
    }
  } else {
    return refuse("no symbol hash table");
  }
  if (symbols > 0 && !within(dyn.symtab, uint64_t{symbols} * sizeof(Elf64_Sym), size)) {
    return refuse("symbol table out of bounds");
  }
  image->symtab_ = base + dyn.symtab;
  image->symbols_ = symbols;
  image->strtab_ = reinterpret_cast<const char*>(base + dyn.strtab);
  image->strtab_size_ = dyn.strtab_size;

  // --- Relocations. Each target must be 8 bytes inside a writable segment.
  auto writable = [&](uint64_t at) {
    for (const Elf64_Phdr& ph : loads) {
      if ((ph.p_flags & PF_W) && ph.p_memsz >= 8 && at >= ph.p_vaddr &&
          at - ph.p_vaddr <= ph.p_memsz - 8) {
        return true;
      }
    }
    return false;
  };
  auto symbolName = [&](const Elf64_Sym& s) -> const char* {
    if (s.st_name >= dyn.strtab_size) return nullptr;
    const char* n = image->strtab_ + s.st_name;
    return std::memchr(n, '\0', dyn.strtab_size - s.st_name) ? n : nullptr;
  };
  auto relocate = [&](uint64_t table, uint64_t table_size) -> std::optional<Error> {
    if (table_size == 0) return std::nullopt;
    if (table_size % sizeof(Elf64_Rela) != 0 || !within(table, table_size, size)) {
      return refuse("relocation table out of bounds");
    }
    for (uint64_t at = table; at < table + table_size; at += sizeof(Elf64_Rela)) {
      Elf64_Rela r;
      std::memcpy(&r, base + at, sizeof r);
      const uint32_t type = ELF64_R_TYPE(r.r_info);
      const uint64_t index = ELF64_R_SYM(r.r_info);
      if (!writable(r.r_offset)) return refuse("a relocation outside writable data");
      uint64_t value = 0;
      if (type == kRelRelative) {
        value = reinterpret_cast<uint64_t>(base) + static_cast<uint64_t>(r.r_addend);
      } else if (type == kRelGlobDat || type == kRelJumpSlot || type == kRelAbs64) {
        if (index == 0 || index >= symbols) return refuse("a relocation names no symbol");
        Elf64_Sym s;
        std::memcpy(&s, base + dyn.symtab + index * sizeof(Elf64_Sym), sizeof s);
        if (ELF64_ST_TYPE(s.st_info) == STT_GNU_IFUNC || ELF64_ST_TYPE(s.st_info) == STT_TLS) {
          return refuse("a relocation against an indirect or thread-local symbol");
        }
        if (s.st_shndx != SHN_UNDEF) {
          if (s.st_value >= size) return refuse("a symbol outside the image");
          value = reinterpret_cast<uint64_t>(base) + s.st_value;
        } else {
          const char* sym = symbolName(s);
          if (sym == nullptr) return refuse("a symbol name out of bounds");
          void* found = ::dlsym(RTLD_DEFAULT, sym);
          if (found == nullptr && ELF64_ST_BIND(s.st_info) != STB_WEAK) {
            return refuse(std::string("undefined symbol ") + sym);
          }
          value = reinterpret_cast<uint64_t>(found);
        }
        value += static_cast<uint64_t>(r.r_addend);
      } else {
        return refuse("relocation type " + std::to_string(type) + " is not supported");
      }
      std::memcpy(base + r.r_offset, &value, sizeof value);
    }
    return std::nullopt;
  };
  if (auto error = relocate(dyn.rela, dyn.rela_size)) return *error;
  if (auto error = relocate(dyn.jmprel, dyn.pltrel_size)) return *error;

  // --- Protections: each page gets the union of its segments' (none for a
  // gap), then RELRO pages become read-only, as ld.so rounds them: whole
  // pages from the start of the segment's page to the page holding its end.
  const size_t pages = size / page;
  std::vector<int> prot(pages, PROT_NONE);
  for (const Elf64_Phdr& ph : loads) {
    if (ph.p_memsz == 0) continue;
    for (uint64_t p = ph.p_vaddr / page; p <= (ph.p_vaddr + ph.p_memsz - 1) / page; ++p) {
      prot[p] |= protectionOf(ph.p_flags);
    }
  }
  for (size_t p = 0; p < pages; ++p) {
    if ((prot[p] & PROT_WRITE) && (prot[p] & PROT_EXEC)) {
      return refuse("segments share a page that would be writable and executable");
    }
  }
  if (relro_end > relro_start) {
    for (uint64_t p = relro_start / page; p < relro_end / page && p < pages; ++p) prot[p] = PROT_READ;
  }
  for (size_t p = 0; p < pages;) {
    size_t q = p + 1;
    while (q < pages && prot[q] == prot[p]) ++q;
    if (prot[p] != (PROT_READ | PROT_WRITE) &&
        ::mprotect(base + p * page, (q - p) * page, prot[p]) != 0) {
      return Error{name + ": mprotect: " + std::strerror(errno)};
    }
    p = q;
  }
  if (perfMapWanted()) writePerfMap(bytes, base, size, who);
  return image;
}

const void* ElfImage::symbol(std::string_view name) const {
  for (size_t i = 1; i < symbols_; ++i) {
    Elf64_Sym s;
    std::memcpy(&s, static_cast<const unsigned char*>(symtab_) + i * sizeof(Elf64_Sym), sizeof s);
    if (s.st_shndx == SHN_UNDEF || s.st_value >= size_ || s.st_name >= strtab_size_) continue;
    const char* n = strtab_ + s.st_name;
    const size_t room = strtab_size_ - s.st_name;
    if (name.size() < room && std::memcmp(n, name.data(), name.size()) == 0 && n[name.size()] == '\0') {
      return base_ + s.st_value;
    }
  }
  return nullptr;
}

}  // namespace jinn::engine
