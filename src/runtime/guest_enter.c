/* The one place where the host jumps into guest code and where traps land.
 *
 * Written in C on purpose (ENGINE_NOTES pitfall 6): between the sigsetjmp
 * below and any siglongjmp back to it, no C++ object with a destructor may be
 * alive in the frames being skipped. Those frames are this function's callee
 * chain: the guest stack switch, generated code, and host imports that are
 * written to hold nothing with a destructor when they may jump
 * (src/runtime/host_api.cc).
 *
 * The guest runs on its own stack (GuestThread::stack_*), so stack overflow in
 * a guest hits a large PROT_NONE guard that the fault handler recognises, and
 * never the thread's own stack.
 */
#include "runtime/guest_enter.h"

#include "runtime/abi.h"

#include <signal.h>

/* jinn_call_on_stack(stack_top, fn, a, b): call fn(a, b) with the stack
 * pointer at stack_top (16-byte aligned), then return on the caller's stack.
 * The frame pointer chain and CFI let debuggers and unwinders walk from guest
 * frames back to host frames. */
void jinn_call_on_stack(void* stack_top, jinn_guest_fn fn, void* a, void* b);

#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl jinn_call_on_stack\n"
    ".hidden jinn_call_on_stack\n"
    ".type jinn_call_on_stack,@function\n"
    "jinn_call_on_stack:\n"
    "  .cfi_startproc\n"
    "  pushq %rbp\n"
    "  .cfi_def_cfa_offset 16\n"
    "  .cfi_offset %rbp, -16\n"
    "  movq %rsp, %rbp\n"
    "  .cfi_def_cfa_register %rbp\n"
    "  movq %rsi, %rax\n"
    "  movq %rdi, %rsp\n"
    "  movq %rdx, %rdi\n"
    "  movq %rcx, %rsi\n"
    "  callq *%rax\n"
    "  movq %rbp, %rsp\n"
    "  popq %rbp\n"
    "  .cfi_def_cfa %rsp, 8\n"
    "  ret\n"
    "  .cfi_endproc\n"
    ".size jinn_call_on_stack, .-jinn_call_on_stack\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl jinn_call_on_stack\n"
    ".hidden jinn_call_on_stack\n"
    ".type jinn_call_on_stack,%function\n"
    "jinn_call_on_stack:\n"
    "  .cfi_startproc\n"
    "  stp x29, x30, [sp, #-16]!\n"
    "  .cfi_def_cfa_offset 16\n"
    "  .cfi_offset x29, -16\n"
    "  .cfi_offset x30, -8\n"
    "  mov x29, sp\n"
    "  .cfi_def_cfa_register x29\n"
    "  mov x16, x1\n"
    "  mov sp, x0\n"
    "  mov x0, x2\n"
    "  mov x1, x3\n"
    "  blr x16\n"
    "  mov sp, x29\n"
    "  ldp x29, x30, [sp], #16\n"
    "  .cfi_def_cfa sp, 0\n"
    "  ret\n"
    "  .cfi_endproc\n"
    ".size jinn_call_on_stack, .-jinn_call_on_stack\n");
#else
#error "jinn_call_on_stack is written for x86-64 and aarch64 only"
#endif

struct jinn_guest_call {
  sigjmp_buf* jump;
  volatile sig_atomic_t* in_guest;
  volatile sig_atomic_t* timed_out;
  jinn_fiber* fiber;
  jinn_guest_fn fn;
  void* a;
  void* b;
};

/* The first frame on the guest stack. `in_guest` is set only here, once the
 * stack switch (and, under ASan, its bookkeeping, which takes locks) is
 * done, and cleared before switching back: the kill switch may jump out of
 * exactly the code in between. A deadline that passed before the flag was
 * set left `timed_out` behind instead: check it once the flag is up. */
static void jinn_guest_entry(void* call_ptr, void* unused) {
  (void)unused;
  struct jinn_guest_call* call = (struct jinn_guest_call*)call_ptr;
  jinn_fiber_on_guest(call->fiber);
  *call->in_guest = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (*call->timed_out) {
    *call->in_guest = 0;
    jinn_fiber_to_host(call->fiber);
    siglongjmp(*call->jump, JINN_STOP_TIMEOUT);
  }
  call->fn(call->a, call->b);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  *call->in_guest = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  jinn_fiber_to_host(call->fiber);
}

int jinn_guest_enter(sigjmp_buf* jump, volatile sig_atomic_t* in_guest,
                     volatile sig_atomic_t* timed_out, void* stack_top, jinn_fiber* fiber,
                     jinn_guest_fn fn, void* a, void* b) {
  /* savesigs = 0: saving the mask costs a syscall per call. Handlers that
   * jump here unblock their own signal first (GuestThread's handlers). */
  int code = sigsetjmp(*jump, 0);
  if (code != 0) {
    *in_guest = 0;
    jinn_fiber_on_host(fiber, 1);
    return code;
  }
  struct jinn_guest_call call = {jump, in_guest, timed_out, fiber, fn, a, b};
  jinn_fiber_to_guest(fiber);
  jinn_call_on_stack(stack_top, jinn_guest_entry, &call, NULL);
  jinn_fiber_on_host(fiber, 0);
  return 0;
}
