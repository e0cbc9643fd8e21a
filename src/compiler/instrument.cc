#include "compiler/instrument.h"

#include <string_view>

namespace jinn::compiler {
namespace {

struct Rewrite {
  std::string_view from;
  std::string_view to;
};

// The little-endian helpers wasm2c 1.0.32 emits at the top of every module.
constexpr Rewrite kRewrites[] = {
    {"    wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));            \\\n",
     "    wasm_rt_memcpy(&mem->data[addr], &wrapped, sizeof(t1));            \\\n"
     "    JINN_MARK_DIRTY_STORE(mem, addr, sizeof(t1));                      \\\n"},
    {"    load_data(&(m.data[o]), i, s); \\\n",
     "    load_data(&(m.data[o]), i, s); \\\n"
     "    JINN_MARK_DIRTY((&m), o, s);   \\\n"},
    {"  memset(mem->data + d, val, n);\n",
     "  memset(mem->data + d, val, n);\n"
     "  JINN_MARK_DIRTY(mem, d, n);\n"},
    {"  memmove(dest->data + dest_addr, src->data + src_addr, n);\n",
     "  memmove(dest->data + dest_addr, src->data + src_addr, n);\n"
     "  JINN_MARK_DIRTY(dest, dest_addr, n);\n"},
};

}  // namespace

Result<std::string> instrumentGeneratedC(std::string source) {
  for (const Rewrite& r : kRewrites) {
    const size_t at = source.find(r.from);
    if (at == std::string::npos || source.find(r.from, at + 1) != std::string::npos) {
      return Error{"unexpected wasm2c output: cannot instrument '" +
                   std::string(r.from.substr(0, r.from.find('('))) +
                   "' (is this wasm2c 1.0.32?)"};
    }
    source.replace(at, r.from.size(), r.to);
  }
  return source;
}

}  // namespace jinn::compiler
