/* Entering guest code; see guest_enter.c. */
#ifndef JINN_RUNTIME_GUEST_ENTER_H_
#define JINN_RUNTIME_GUEST_ENTER_H_

#include <setjmp.h>
#include <signal.h>

#include "runtime/fiber.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*jinn_guest_fn)(void* a, void* b);

/* Runs fn(a, b) on the guest stack whose top is `stack_top`, with *in_guest
 * set to 1 while it runs (and a stop instead when *timed_out is already set). Whoever long-jumps to `jump` from the guest stack
 * calls jinn_fiber_to_host(fiber) first. Returns 0 when fn returned, or the non-zero code a
 * trap, fault or the kill switch passed to siglongjmp(*jump, code). *in_guest
 * is 0 again on return either way. */
int jinn_guest_enter(sigjmp_buf* jump, volatile sig_atomic_t* in_guest,
                     volatile sig_atomic_t* timed_out, void* stack_top, jinn_fiber* fiber,
                     jinn_guest_fn fn, void* a, void* b);

#ifdef __cplusplus
}
#endif

#endif /* JINN_RUNTIME_GUEST_ENTER_H_ */
