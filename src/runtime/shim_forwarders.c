/* The host forwarders, the same for every module: every wasm_rt_* function
 * and every WASI import the generated code may call, each a call through the
 * jinn_host_api table the host binds after mapping the .so (src/runtime/abi.h).
 *
 * Compiled once per compiler configuration into an object that is linked
 * into every module's .so (src/compiler/README.md): compiling these ~60
 * functions with each module was most of a small module's compile time. All
 * definitions are hidden (-fvisibility=hidden): each .so has its own copy,
 * resolved inside it, and exports none of them.
 */
#include <stdarg.h>

#include "runtime/abi.h"

static const jinn_host_api* jinn_host;

void jinn_shim_bind(const jinn_host_api* host) { jinn_host = host; }

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

