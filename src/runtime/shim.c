/* The per-module shim, compiled into every module's .so in the same
 * translation unit as the wasm2c output (see src/compiler/README.md):
 *
 *   #include "module.c"          // wasm2c -n m: Z_m_instantiate, Z_mZ__start, ...
 *   #define JINN_HAS_IMPORTS ...  // 0/1 flags the compiler derives from the module
 *   #include "runtime/shim.c"
 *
 * It defines every symbol the generated code needs as a forwarder through the
 * host's jinn_host_api table (see src/runtime/abi.h), and exports one
 * descriptor, so the .so needs nothing from the host binary's symbol table.
 * All definitions here are hidden (the unit is built with -fvisibility=hidden)
 * except the descriptor.
 */
#include <stdarg.h>

#include "runtime/abi.h"

#ifndef JINN_HAS_IMPORTS
#error "the compiler must define JINN_HAS_IMPORTS, JINN_HAS_START, JINN_HAS_INITIALIZE, JINN_HAS_MEMORY, JINN_WASM_HASH"
#endif

static const jinn_host_api* jinn_host;

/* ---- the wasm_rt_* runtime, forwarded ---------------------------------- */

void wasm_rt_init(void) {}
bool wasm_rt_is_initialized(void) { return jinn_host != NULL; }
void wasm_rt_free(void) {}

void wasm_rt_trap(wasm_rt_trap_t code) { jinn_host->trap((int)code); }

const char* wasm_rt_strerror(wasm_rt_trap_t trap) {
  (void)trap;
  return "trap";
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  /* wasm allows up to 1000 params/results per type; the validator enforces it. */
  wasm_rt_type_t types[2000];
  uint32_t n = params + results;
  if (n > 2000) jinn_host->trap(JINN_STOP_HOST_ERROR);
  va_list ap;
  va_start(ap, results);
  for (uint32_t i = 0; i < n; ++i) types[i] = (wasm_rt_type_t)va_arg(ap, int);
  va_end(ap);
  return jinn_host->register_func_type(params, results, types);
}

void wasm_rt_allocate_memory(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages) {
  jinn_host->allocate_memory(mem, initial_pages, max_pages);
}
uint32_t wasm_rt_grow_memory(wasm_rt_memory_t* mem, uint32_t delta) {
  return jinn_host->grow_memory(mem, delta);
}
void wasm_rt_free_memory(wasm_rt_memory_t* mem) { jinn_host->free_memory(mem); }

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t* t, uint32_t elements, uint32_t max) {
  jinn_host->allocate_funcref_table(t, elements, max);
}
void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t* t) { jinn_host->free_funcref_table(t); }
uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t* t, uint32_t delta,
                                    wasm_rt_funcref_t init) {
  return jinn_host->grow_funcref_table(t, delta, init);
}
void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t* t, uint32_t elements,
                                      uint32_t max) {
  jinn_host->allocate_externref_table(t, elements, max);
}
void wasm_rt_free_externref_table(wasm_rt_externref_table_t* t) {
  jinn_host->free_externref_table(t);
}
uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t* t, uint32_t delta,
                                      wasm_rt_externref_t init) {
  return jinn_host->grow_externref_table(t, delta, init);
}

/* ---- WASI imports, forwarded -------------------------------------------- */

struct Z_wasi_snapshot_preview1_instance_t;
#define JINN_WASI_CTX struct Z_wasi_snapshot_preview1_instance_t* ctx
#define JINN_WASI_FN(name, sig, ret, params, args) \
  ret Z_wasi_snapshot_preview1Z_##name params { return jinn_host->wasi_##name args; }
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
#undef JINN_WASI_CTX

/* ---- the descriptor ------------------------------------------------------ */

static void jinn_bind(const jinn_host_api* host) { jinn_host = host; }

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

__attribute__((visibility("default"))) const jinn_module_desc jinn_module_v1 = {
    JINN_ABI_VERSION,
    sizeof(Z_m_instance_t),
    jinn_bind,
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
