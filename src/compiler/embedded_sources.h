// The C sources compiled into every module's shared object, embedded at build
// time by embed.cmake (so a installed jinn needs no source tree, and the cache
// key changes whenever one of them does).
#pragma once

#include <string_view>

namespace jinn::compiler::embedded {

std::string_view shimC();            // src/runtime/shim.c
std::string_view forwardersC();      // src/runtime/shim_forwarders.c
std::string_view abiH();             // src/runtime/abi.h
std::string_view wasiFunctionsDef(); // src/wasi/wasi_functions.def
std::string_view validateCcSha256(); // hex SHA-256 of src/compiler/validate.cc

}  // namespace jinn::compiler::embedded
