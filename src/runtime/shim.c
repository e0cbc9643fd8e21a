/* The per-module shim, compiled into every module's .so in the same
 * translation unit as the wasm2c output (see src/compiler/README.md):
 *
 *   #include "module.c"          // wasm2c -n m: Z_m_instantiate, Z_mZ__start, ...
 *   #define JINN_HAS_IMPORTS ...  // 0/1 flags the compiler derives from the module
 *   #include "runtime/shim.c"
 *
 * It exports one descriptor, the module's entry points for the host. Every
 * symbol the generated code needs from outside is defined by
 * src/runtime/shim_forwarders.c (linked into the same .so) as a forwarder
 * through the host's jinn_host_api table (see src/runtime/abi.h), so the .so
 * needs nothing from the host binary's symbol table. All definitions here are
 * hidden (the unit is built with -fvisibility=hidden) except the descriptor.
 */
#include "runtime/abi.h"

#ifndef JINN_HAS_IMPORTS
#error "the compiler must define JINN_HAS_IMPORTS, JINN_HAS_START, JINN_HAS_INITIALIZE, JINN_HAS_MEMORY, JINN_WASM_HASH"
#endif

/* In shim_forwarders.c: keeps the host table for the forwarders. */
void jinn_shim_bind(const jinn_host_api* host);

/* ---- the descriptor ------------------------------------------------------ */

static void jinn_instantiate(void* instance, void* wasi_ctx) {
#if JINN_HAS_IMPORTS
  Z_m_instantiate((Z_m_instance_t*)instance, (struct Z_wasi_snapshot_preview1_instance_t*)wasi_ctx);
#else
  (void)wasi_ctx;
  Z_m_instantiate((Z_m_instance_t*)instance);
#endif
}

static void jinn_free_instance(void* instance) { Z_m_free((Z_m_instance_t*)instance); }

#if JINN_HAS_START
static void jinn_start(void* instance) { Z_mZ__start((Z_m_instance_t*)instance); }
#endif
#if JINN_HAS_INITIALIZE
static void jinn_initialize(void* instance) { Z_mZ__initialize((Z_m_instance_t*)instance); }
#endif
#if JINN_HAS_MEMORY
static wasm_rt_memory_t* jinn_memory(void* instance) {
  return Z_mZ_memory((Z_m_instance_t*)instance);
}
#endif

__attribute__((visibility("default"))) const jinn_module_desc jinn_module_v2 = {
    JINN_ABI_VERSION,
    sizeof(Z_m_instance_t),
    jinn_shim_bind,
    Z_m_init_module,
    jinn_instantiate,
    jinn_free_instance,
#if JINN_HAS_START
    jinn_start,
#else
    NULL,
#endif
#if JINN_HAS_INITIALIZE
    jinn_initialize,
#else
    NULL,
#endif
#if JINN_HAS_MEMORY
    jinn_memory,
#else
    NULL,
#endif
    JINN_WASM_HASH,
};
