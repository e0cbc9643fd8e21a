// Front half of the pipeline: text format, validation, import policy, hashing.
// Everything here is in-process (libwabt, OpenSSL) and touches no files.
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "compiler/compiler.h"
#include "compiler/embedded_sources.h"
#include "util/text.h"
#include "wabt/binary-reader-ir.h"
#include "wabt/binary-reader.h"
#include "wabt/binary-writer.h"
#include "wabt/cast.h"
#include "wabt/config.h"
#include "wabt/error.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/resolve-names.h"
#include "wabt/stream.h"
#include "wabt/validator.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"

namespace jinn::compiler {
namespace {

// The largest initial memory the runtime can represent: wasm_rt_memory_t.size
// is 32-bit, so 65,536 pages (4 GiB) would wrap to 0 (ENGINE_NOTES pitfall 8).
constexpr uint64_t kMaxInitialPages = 65535;

constexpr std::string_view kWasiModule = "wasi_snapshot_preview1";

// Exactly what wasm2c 1.0.32 translates. wabt's defaults differ (SIMD is on),
// so every feature is set explicitly rather than trusting them.
wabt::Features supportedFeatures() {
  wabt::Features f;
  f.enable_mutable_globals();
  f.enable_sat_float_to_int();
  f.enable_sign_extension();
  f.enable_multi_value();
  f.enable_bulk_memory();
  f.enable_reference_types();
  f.disable_simd();
  f.disable_threads();
  f.disable_tail_call();
  f.disable_memory64();
  f.disable_exceptions();
  f.disable_multi_memory();
  f.disable_gc();
  f.disable_function_references();
  f.disable_extended_const();
  f.disable_relaxed_simd();
  f.disable_annotations();
  f.disable_code_metadata();
  return f;
}

// The proposals a module may use that jinn rejects, in the order they are
// tried: when one of them alone makes the module valid, the error names it.
struct Unsupported {
  const char* name;  // wabt's flag spelling, which is the proposal's name
  std::function<void(wabt::Features&)> enable;
};

const std::vector<Unsupported>& unsupportedFeatures() {
  static const std::vector<Unsupported> kList = {
      {"simd", [](wabt::Features& f) { f.enable_simd(); }},
      {"threads", [](wabt::Features& f) { f.enable_threads(); }},
      {"tail-call", [](wabt::Features& f) { f.enable_tail_call(); }},
      {"memory64", [](wabt::Features& f) { f.enable_memory64(); }},
      {"exceptions", [](wabt::Features& f) { f.enable_exceptions(); }},
      {"multi-memory", [](wabt::Features& f) { f.enable_multi_memory(); }},
      {"extended-const", [](wabt::Features& f) { f.enable_extended_const(); }},
      {"function-references", [](wabt::Features& f) { f.enable_function_references(); }},
      // Relaxed SIMD extends SIMD, so it is only ever valid together with it.
      {"relaxed-simd",
       [](wabt::Features& f) {
         f.enable_simd();
         f.enable_relaxed_simd();
       }},
      {"gc", [](wabt::Features& f) { f.enable_gc(); }},
  };
  return kList;
}

std::string formatBinaryError(std::string_view name, const wabt::Errors& errors) {
  for (const wabt::Error& e : errors) {
    if (e.error_level != wabt::ErrorLevel::Error) continue;
    char offset[32];
    std::snprintf(offset, sizeof offset, "%#zx", e.loc.offset);
    return std::string(name) + ": " + e.message + " (at byte offset " + offset + ")";
  }
  return std::string(name) + ": invalid module";
}

std::string formatTextError(std::string_view name, const wabt::Errors& errors) {
  for (const wabt::Error& e : errors) {
    if (e.error_level != wabt::ErrorLevel::Error) continue;
    return std::string(name) + ":" + std::to_string(e.loc.line) + ":" +
           std::to_string(e.loc.first_column) + ": " + e.message;
  }
  return std::string(name) + ": invalid text module";
}

// Reads and validates with `features`; true when both pass.
bool readAndValidate(std::string_view wasm, const wabt::Features& features, wabt::Module& module,
                     wabt::Errors& errors) {
  wabt::ReadBinaryOptions options(features, nullptr, /*read_debug_names=*/false,
                                  /*stop_on_first_error=*/true,
                                  /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(wabt::ReadBinaryIr("module", wasm.data(), wasm.size(), options, &errors, &module)))
    return false;
  wabt::ValidateOptions validate_options(features);
  return wabt::Succeeded(wabt::ValidateModule(&module, &errors, validate_options));
}

std::string typeName(wabt::Type type) {
  switch (type) {
    case wabt::Type::I32: return "i32";
    case wabt::Type::I64: return "i64";
    case wabt::Type::F32: return "f32";
    case wabt::Type::F64: return "f64";
    case wabt::Type::V128: return "v128";
    case wabt::Type::FuncRef: return "funcref";
    case wabt::Type::ExternRef: return "externref";
    default: return type.GetName();
  }
}

std::string signatureText(const wabt::FuncSignature& sig) {
  auto list = [](const wabt::TypeVector& types) {
    std::string text = "(";
    for (size_t i = 0; i < types.size(); ++i) text += (i ? ", " : "") + typeName(types[i]);
    return text + ")";
  };
  return list(sig.param_types) + " -> " + list(sig.result_types);
}

// "ii>i" (wasi_functions.def) as a signature text, for messages and comparison.
std::string signatureText(std::string_view def_sig) {
  auto list = [](std::string_view codes) {
    std::string text = "(";
    for (size_t i = 0; i < codes.size(); ++i) text += std::string(i ? ", " : "") + (codes[i] == 'I' ? "i64" : "i32");
    return text + ")";
  };
  size_t arrow = def_sig.find('>');
  return list(def_sig.substr(0, arrow)) + " -> " + list(def_sig.substr(arrow + 1));
}

// The WASI functions a module may import, from the same table the shim and
// the host are generated from.
const std::unordered_map<std::string_view, std::string_view>& wasiSignatures() {
  static const std::unordered_map<std::string_view, std::string_view> kTable = {
#define JINN_WASI_FN(name, sig, ret, params, args) {#name, sig},
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
  };
  return kTable;
}

const wabt::FuncSignature* funcSignature(const wabt::Module& module, const wabt::Func& func) {
  if (func.decl.has_func_type) {
    if (const wabt::FuncType* type = module.GetFuncType(func.decl.type_var)) return &type->sig;
  }
  return &func.decl.sig;
}

std::string kindName(wabt::ExternalKind kind) {
  switch (kind) {
    case wabt::ExternalKind::Func: return "function";
    case wabt::ExternalKind::Table: return "table";
    case wabt::ExternalKind::Memory: return "memory";
    case wabt::ExternalKind::Global: return "global";
    case wabt::ExternalKind::Tag: return "tag";
  }
  return "item";
}

std::optional<Error> checkImports(std::string_view name, const wabt::Module& module) {
  for (const wabt::Import* import : module.imports) {
    std::string what = std::string(name) + ": import \"" + import->module_name + "\".\"" +
                       import->field_name + "\"";
    if (import->kind() != wabt::ExternalKind::Func) {
      return Error{what + " is a " + kindName(import->kind()) +
                   "; jinn modules may import only wasi_snapshot_preview1 functions"};
    }
    if (import->module_name != kWasiModule) {
      return Error{what + ": unknown module \"" + import->module_name +
                   "\"; jinn provides only wasi_snapshot_preview1"};
    }
    auto found = wasiSignatures().find(import->field_name);
    if (found == wasiSignatures().end()) {
      return Error{what + ": not a wasi_snapshot_preview1 function"};
    }
    const auto* func_import = wabt::cast<wabt::FuncImport>(import);
    std::string declared = signatureText(*funcSignature(module, func_import->func));
    std::string expected = signatureText(found->second);
    if (declared != expected) {
      return Error{what + " has type " + declared + ", but wasi_snapshot_preview1." +
                   import->field_name + " is " + expected};
    }
  }
  return std::nullopt;
}

// Checks what the runtime cannot handle even though the validator accepts it.
std::optional<Error> checkMemories(std::string_view name, const wabt::Module& module) {
  if (module.memories.size() > 1) {
    return Error{std::string(name) + ": declares " + std::to_string(module.memories.size()) +
                 " memories; jinn supports at most one"};
  }
  for (const wabt::Memory* memory : module.memories) {
    const wabt::Limits& limits = memory->page_limits;
    if (limits.is_shared) {
      return Error{std::string(name) + ": uses the 'threads' feature (shared memory), which jinn does not support"};
    }
    if (limits.initial > kMaxInitialPages) {
      return Error{std::string(name) + ": initial memory of " + std::to_string(limits.initial) +
                   " pages is too large (at most " + std::to_string(kMaxInitialPages) + " pages)"};
    }
  }
  return std::nullopt;
}

// Looks up export `field` as a () -> () function. An export of that name with
// another type is an error: the runtime would otherwise silently ignore it.
Result<bool> nullaryExport(std::string_view name, const wabt::Module& module, std::string_view field) {
  const wabt::Export* e = module.GetExport(field);
  if (e == nullptr || e->kind != wabt::ExternalKind::Func) return false;
  const wabt::Func* func = module.GetFunc(e->var);
  if (func == nullptr) return false;
  const wabt::FuncSignature* sig = funcSignature(module, *func);
  if (!sig->param_types.empty() || !sig->result_types.empty()) {
    return Error{std::string(name) + ": export \"" + std::string(field) + "\" has type " +
                 signatureText(*sig) + "; it must be () -> ()"};
  }
  return true;
}

Result<ModuleInfo> validateImpl(std::string_view wasm, std::string_view name) {
  auto module = std::make_unique<wabt::Module>();
  wabt::Errors errors;
  if (!readAndValidate(wasm, supportedFeatures(), *module, errors)) {
    // Which single unsupported proposal would make it valid? That is the
    // message users can act on; the validator's own text is not.
    for (const Unsupported& candidate : unsupportedFeatures()) {
      wabt::Features features = supportedFeatures();
      candidate.enable(features);
      wabt::Module trial;
      wabt::Errors trial_errors;
      if (readAndValidate(wasm, features, trial, trial_errors)) {
        return Error{std::string(name) + ": uses the '" + candidate.name +
                     "' feature, which jinn does not support"};
      }
    }
    return Error{formatBinaryError(name, errors)};
  }

  if (auto error = checkMemories(name, *module)) return *error;
  if (auto error = checkImports(name, *module)) return *error;

  ModuleInfo info;
  info.has_imports = !module->imports.empty();
  auto start = nullaryExport(name, *module, "_start");
  if (!start) return start.error();
  info.has_start = start.value();
  auto initialize = nullaryExport(name, *module, "_initialize");
  if (!initialize) return initialize.error();
  info.has_initialize = initialize.value();
  const wabt::Export* memory = module->GetExport("memory");
  info.has_memory = memory != nullptr && memory->kind == wabt::ExternalKind::Memory;
  return info;
}

// Where the text has "(@" (annotation syntax), as 1-based line and column;
// nullopt when it has none. libwabt 1.0.32 mishandles annotations both ways:
// enabled, its parser skips "(@name ..." up to the closing parenthesis
// without stopping at the end of the text, so "(module (@x" loops forever;
// disabled, its "not enabled" error reads the token of "(@x\"\n" with a
// length of -1 and throws, leaking the parser's objects
// (tests/fuzz/corpus/module/regression_annotation_*.wat). So annotations
// never reach libwabt: the two bytes are refused wherever they are, also in
// strings and comments, because telling those apart means lexing exactly as
// wabt does (it continues a string past a newline, for one), and a scanner
// that differs lets an annotation through (found by module_fuzz too). In a
// string, "\28@" is the same bytes.
std::optional<std::pair<size_t, size_t>> findAnnotation(std::string_view text) {
  const size_t at = text.find("(@");
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view before = text.substr(0, at);
  const size_t line_start = before.rfind('\n');
  const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
  return std::make_pair(line, line_start == std::string_view::npos ? at + 1 : at - line_start);
}

Result<std::string> watToWasmImpl(std::string_view text, std::string_view name) {
  if (auto at = findAnnotation(text)) {
    return Error{std::string(name) + ":" + std::to_string(at->first) + ":" +
                 std::to_string(at->second) +
                 ": annotations (\"(@\") are not supported, also not in strings or comments"};
  }
  // Every proposal the text parser knows is enabled: text that uses SIMD
  // must become a binary so validate() can name the feature, not fail here
  // with a parse error. Annotations (text syntax only, nothing a binary
  // carries) stay off as well, in case one gets past findAnnotation.
  wabt::Features features;
  features.EnableAll();
  features.disable_annotations();
  wabt::Errors errors;
  std::string filename(name);
  auto lexer = wabt::WastLexer::CreateBufferLexer(filename, text.data(), text.size(), &errors);
  std::unique_ptr<wabt::Module> module;
  wabt::WastParseOptions parse_options(features);
  if (wabt::Failed(wabt::ParseWatModule(lexer.get(), &module, &errors, &parse_options)) ||
      wabt::Failed(wabt::ResolveNamesModule(module.get(), &errors))) {
    return Error{formatTextError(name, errors)};
  }
  wabt::ValidateOptions validate_options(features);
  if (wabt::Failed(wabt::ValidateModule(module.get(), &errors, validate_options))) {
    return Error{formatTextError(name, errors)};
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(features, /*canonicalize_lebs=*/true,
                                         /*relocatable=*/false, /*write_debug_names=*/false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, module.get(), write_options))) {
    return Error{std::string(name) + ": cannot encode the module as binary"};
  }
  const std::vector<uint8_t>& data = stream.output_buffer().data;
  return std::string(reinterpret_cast<const char*>(data.data()), data.size());
}

// Module bytes reach messages (import and export names, wabt's quotes of
// them), which end up in `jinn check` output and logs: controls are shown as
// \xNN so an error stays one line of text.
Error printable(Error error) {
  error.message = util::printable(error.message);
  return error;
}

}  // namespace

bool looksLikeWat(std::string_view bytes) {
  if (bytes.substr(0, 4) == std::string_view("\0asm", 4)) return false;
  size_t i = 0;
  while (i < bytes.size()) {
    char c = bytes[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (bytes.substr(i, 2) == ";;") {
      size_t end = bytes.find('\n', i);
      if (end == std::string_view::npos) return false;
      i = end + 1;
    } else if (bytes.substr(i, 2) == "(;") {
      // Block comments nest in the text format.
      int depth = 0;
      while (i < bytes.size()) {
        if (bytes.substr(i, 2) == "(;") {
          ++depth;
          i += 2;
        } else if (bytes.substr(i, 2) == ";)") {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
      if (depth != 0) return false;
    } else {
      return c == '(';
    }
  }
  return false;
}

std::string validationPolicy() {
  // Every rule (features, import policy, limits, the text conversion) is in
  // this file, so its hash changes with any of them; the import table
  // (wasi_functions.def) is in the cache key on its own.
  return std::string("libwabt ") + WABT_VERSION_STRING + "; validate.cc " +
         std::string(embedded::validateCcSha256());
}

Result<std::string> watToWasm(std::string_view text, std::string_view name) {
  try {
    Result<std::string> wasm = watToWasmImpl(text, name);
    if (!wasm) return printable(wasm.error());
    return wasm;
  } catch (const std::exception& e) {
    return printable(Error{std::string(name) + ": " + e.what()});
  }
}

Result<ModuleInfo> validate(std::string_view wasm, std::string_view name) {
  try {
    Result<ModuleInfo> info = validateImpl(wasm, name);
    if (!info) return printable(info.error());
    return info;
  } catch (const std::exception& e) {
    return printable(Error{std::string(name) + ": " + e.what()});
  }
}

std::string sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // One-shot EVP_Digest: no context to leak, safe from any thread.
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace jinn::compiler
