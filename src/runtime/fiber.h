/* Telling AddressSanitizer about the guest stack. Without ASan every function
 * here is an empty inline; with it, stack switches are annotated
 * (__sanitizer_{start,finish}_switch_fiber) so ASan's view of "the current
 * stack" follows the real one, and after a guest is stopped by a long jump the
 * guest stack's shadow is cleared (the frames the jump skipped leave redzones
 * poisoned that the next call's frames would trip over). */
#ifndef JINN_RUNTIME_FIBER_H_
#define JINN_RUNTIME_FIBER_H_

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define JINN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JINN_ASAN 1
#endif
#endif

#ifdef JINN_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jinn_fiber {
  void* guest_bottom; /* lowest usable byte of the guest stack */
  size_t guest_size;
  const void* host_bottom; /* learnt on each entry */
  size_t host_size;
  void* fake_stack;
} jinn_fiber;

/* Host -> guest, before the switch. */
static inline void jinn_fiber_to_guest(jinn_fiber* f) {
#ifdef JINN_ASAN
  __sanitizer_start_switch_fiber(&f->fake_stack, f->guest_bottom, f->guest_size);
#else
  (void)f;
#endif
}
/* First thing on the guest stack. */
static inline void jinn_fiber_on_guest(jinn_fiber* f) {
#ifdef JINN_ASAN
  __sanitizer_finish_switch_fiber(NULL, &f->host_bottom, &f->host_size);
#else
  (void)f;
#endif
}
/* Guest -> host: before returning to the host stack or jumping to it. */
static inline void jinn_fiber_to_host(jinn_fiber* f) {
#ifdef JINN_ASAN
  __sanitizer_start_switch_fiber(NULL, f->host_bottom, f->host_size);
#else
  (void)f;
#endif
}
/* First thing back on the host stack; `jumped`: the guest was stopped by a
 * long jump. */
static inline void jinn_fiber_on_host(jinn_fiber* f, int jumped) {
#ifdef JINN_ASAN
  __sanitizer_finish_switch_fiber(f->fake_stack, NULL, NULL);
  if (jumped) __asan_unpoison_memory_region(f->guest_bottom, f->guest_size);
#else
  (void)f;
  (void)jumped;
#endif
}

#ifdef __cplusplus
}
#endif

#endif /* JINN_RUNTIME_FIBER_H_ */
