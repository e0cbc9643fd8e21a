// Rewrites of wasm2c's generated C that the runtime depends on.
#pragma once

#include <string>

#include "jinn/jinn.h"

namespace jinn::compiler {

// Adds the dirty-page marks (src/runtime/abi.h, JINN_MARK_DIRTY*) after every
// store, memory.fill, memory.copy and data-segment copy in wasm2c 1.0.32's
// output. Each rewrite must match exactly once: a translator whose output
// differs fails here, loudly, rather than producing a module whose memory
// reset would miss pages.
Result<std::string> instrumentGeneratedC(std::string source);

}  // namespace jinn::compiler
