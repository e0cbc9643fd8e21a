// libFuzzer target for module loading and validation, the in-process front
// of the compile pipeline (src/compiler/validate.cc) as Compiler::compile
// runs it: text format converted with watToWasm when looksLikeWat, then
// validate() (libwabt reader and validator with jinn's feature set, the
// memory and import checks). wasm2c and cc are left out: child processes,
// far too slow for a fuzzer.
//
// Besides not crashing: every error starts with the module's name and is one
// line without control characters (module bytes such as import names end up
// in `jinn check` output and logs); text that converts is a binary module;
// validation is deterministic (the compiler memoises it by content hash).
#include <cstdint>
#include <string>
#include <string_view>

#include "compiler/compiler.h"
#include "invariant.h"

namespace {

using namespace jinn::compiler;
using jinn::fuzz::check;

constexpr std::string_view kName = "fuzz.wasm";

void checkError(const jinn::Error& error) {
  const std::string& m = error.message;
  check(m.compare(0, kName.size(), kName) == 0, "error does not start with the module name");
  check(m.size() < 4096, "error is long");
  for (char c : m) {
    check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F, "control character in an error");
  }
}

bool same(const ModuleInfo& a, const ModuleInfo& b) {
  return a.has_imports == b.has_imports && a.has_start == b.has_start &&
         a.has_initialize == b.has_initialize && a.has_memory == b.has_memory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string converted;
  std::string_view wasm = input;
  if (looksLikeWat(input)) {
    jinn::Result<std::string> binary = watToWasm(input, kName);
    if (!binary.ok()) {
      checkError(binary.error());
      return 0;
    }
    converted = std::move(binary.value());
    check(converted.compare(0, 4, std::string_view("\0asm", 4)) == 0, "converted text is not wasm");
    check(!looksLikeWat(converted), "a binary module looks like text");
    wasm = converted;
  }
  jinn::Result<ModuleInfo> info = validate(wasm, kName);
  jinn::Result<ModuleInfo> again = validate(wasm, kName);
  check(info.ok() == again.ok(), "validation is not deterministic");
  if (!info.ok()) {
    checkError(info.error());
    check(info.error().message == again.error().message, "validation error is not deterministic");
    return 0;
  }
  check(same(info.value(), again.value()), "module info is not deterministic");
  check(wasm.compare(0, 4, std::string_view("\0asm", 4)) == 0, "accepted bytes are not wasm");
  return 0;
}
