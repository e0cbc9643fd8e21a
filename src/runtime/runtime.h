// The runtime's entry points: the host table handed to every compiled module,
// and one call = one fresh instance.
#pragma once

#include "jinn/jinn.h"
#include "runtime/abi.h"
#include "runtime/memory_pool.h"

namespace jinn::runtime {

// The table of runtime and WASI functions every module's shim forwards to.
const jinn_host_api& hostApi();

// Runs one fresh instance of `module` (already bound and initialised):
// instantiate, `_start` (or `_initialize`), free, under the limits in
// `options`, with `stdin_data` and `timeout` in place of the options' own.
// Fills `result` (its buffers are reused). Thread-safe.
void runCall(const jinn_module_desc& module, MemoryPool& pool, const CallOptions& options,
             std::string_view stdin_data, std::chrono::microseconds timeout, CallResult& result);

}  // namespace jinn::runtime
