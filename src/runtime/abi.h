/* The binary contract between the jinn host and a compiled module (.so).
 *
 * A compiled module is the wasm2c output for one .wasm plus src/runtime/shim.c,
 * built as one translation unit with -fvisibility=hidden, linked with the
 * host forwarders of src/runtime/shim_forwarders.c (compiled once). It exports exactly one
 * symbol, `jinn_module_v<JINN_ABI_VERSION>`, a `jinn_module_desc`. Everything the
 * generated code needs from outside (the wasm_rt_* runtime and the WASI imports)
 * is resolved inside the .so by shim forwarders that call through the
 * `jinn_host_api` table the host hands to `bind` right after mapping the .so
 * (src/engine/elf_image.h). So the .so has no undefined symbols but
 * libc/libm, needs no -rdynamic host, and cannot be interposed by (or
 * interpose) anything in the host process.
 *
 * Plain C: included by the shim (compiled by the system C compiler at load
 * time) and by the C++ host. Changing anything here means bumping
 * JINN_ABI_VERSION, which is part of every cache key.
 */
#ifndef JINN_RUNTIME_ABI_H_
#define JINN_RUNTIME_ABI_H_

#include <stddef.h>
#include <stdint.h>

#include "wasm-rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define JINN_ABI_VERSION 2
#define JINN_MODULE_SYMBOL "jinn_module_v2"

typedef uint32_t u32;
typedef uint64_t u64;

/* Trap codes beyond wasm_rt_trap_t, used as the long-jump value when the host
 * stops a guest. Kept apart from wasm_rt's enum so both fit one int. */
enum {
  JINN_STOP_EXIT = 100,          /* proc_exit: the exit code is in the WASI context */
  JINN_STOP_TIMEOUT = 101,       /* the kill switch fired */
  JINN_STOP_OUT_OF_MEMORY = 102, /* initial memory or table larger than the limit */
  JINN_STOP_OUTPUT_LIMIT = 103,  /* stdout/stderr past its cap */
  JINN_STOP_HOST_ERROR = 104,    /* the host could not serve a runtime request */
};

/* Dirty map. Every linear memory the runtime allocates has, just below its
 * base, one byte per 1 KiB block: the byte for block b is data[-1 - b]. The
 * compiler instruments every store, bulk-memory operation and data-segment
 * copy in the generated code to set it (after the access itself, which has
 * already faulted if it was out of bounds, so b < 2^22), and the WASI layer
 * marks what the host writes. On release, the pool zeroes only the blocks
 * marked (src/runtime/memory_pool.h). Blocks, not 4 KiB pages: a small guest
 * writes a few hundred bytes here and there (stack top, stdio buffers, heap
 * headers), and zeroing whole 4 KiB pages for them (ABI 1) was the largest
 * single host-side cost of a call: 3,460 of 46,000 instructions for the
 * order-tax example served over HTTP. */
#define JINN_DIRTY_BLOCK_SHIFT 10
#define JINN_DIRTY_MAP_BYTES (1u << 22)

static inline void jinn_mark_dirty_range(uint8_t* data, uint64_t addr, uint64_t n) {
  if (n == 0) return;
  const uint64_t last = (addr + n - 1) >> JINN_DIRTY_BLOCK_SHIFT;
  for (uint64_t b = addr >> JINN_DIRTY_BLOCK_SHIFT; b <= last; ++b) data[-1 - (int64_t)b] = 1;
}
/* For single stores of 1..8 bytes: two byte stores, no branch. */
#define JINN_MARK_DIRTY_STORE(mem, addr, n)                                        \
  do {                                                                             \
    (mem)->data[-1 - (int64_t)((uint64_t)(addr) >> JINN_DIRTY_BLOCK_SHIFT)] = 1;         \
    (mem)->data[-1 - (int64_t)(((uint64_t)(addr) + (n)-1) >> JINN_DIRTY_BLOCK_SHIFT)] = 1; \
  } while (0)
#define JINN_MARK_DIRTY(mem, addr, n) jinn_mark_dirty_range((mem)->data, (addr), (n))

typedef struct jinn_host_api {
  uint32_t abi_version;
  void (*trap)(int code) WASM_RT_NO_RETURN;
  uint32_t (*register_func_type)(uint32_t params, uint32_t results, const wasm_rt_type_t* types);
  void (*allocate_memory)(wasm_rt_memory_t* mem, uint32_t initial_pages, uint32_t max_pages);
  uint32_t (*grow_memory)(wasm_rt_memory_t* mem, uint32_t delta);
  void (*free_memory)(wasm_rt_memory_t* mem);
  void (*allocate_funcref_table)(wasm_rt_funcref_table_t* t, uint32_t elements, uint32_t max);
  void (*free_funcref_table)(wasm_rt_funcref_table_t* t);
  uint32_t (*grow_funcref_table)(wasm_rt_funcref_table_t* t, uint32_t delta, wasm_rt_funcref_t init);
  void (*allocate_externref_table)(wasm_rt_externref_table_t* t, uint32_t elements, uint32_t max);
  void (*free_externref_table)(wasm_rt_externref_table_t* t);
  uint32_t (*grow_externref_table)(wasm_rt_externref_table_t* t, uint32_t delta,
                                   wasm_rt_externref_t init);
  /* WASI preview1 imports; the context is the per-call wasi context. */
#define JINN_WASI_CTX void* ctx
#define JINN_WASI_FN(name, sig, ret, params, args) ret(*wasi_##name) params;
#include "wasi/wasi_functions.def"
#undef JINN_WASI_FN
#undef JINN_WASI_CTX
} jinn_host_api;

typedef struct jinn_module_desc {
  uint32_t abi_version;
  size_t instance_size;                /* sizeof the generated instance struct */
  void (*bind)(const jinn_host_api* host);
  void (*init_module)(void);           /* once per load, after bind */
  void (*instantiate)(void* instance, void* wasi_ctx);
  void (*free_instance)(void* instance);
  void (*start)(void* instance);       /* `_start`, or NULL */
  void (*initialize)(void* instance);  /* `_initialize` (reactor), or NULL */
  wasm_rt_memory_t* (*memory)(void* instance); /* exported "memory", or NULL */
  const char* wasm_hash;               /* hex SHA-256 of the wasm it was compiled from */
} jinn_module_desc;

#ifdef __cplusplus
}
#endif

#endif /* JINN_RUNTIME_ABI_H_ */
