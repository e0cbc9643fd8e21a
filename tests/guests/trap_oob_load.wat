;; Loads 4 bytes straddling the end of memory (kTrapOutOfBounds). The value is
;; stored so the compiler cannot drop the load.
;; Without arguments it writes "ok\n" and exits 0, so a test can show that the
;; same module still runs normally right after it trapped. With any argument
;; (argc > 1) it traps.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "ok\n")

  (func $armed (result i32)
    (drop (call $args_sizes_get (i32.const 32) (i32.const 36)))
    (i32.gt_u (i32.load (i32.const 32)) (i32.const 1)))
  (func (export "_start")
    (if (call $armed) (then
      (i32.store (i32.const 16)
        (i32.load (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 2))))
    ))
    ;; iovec at 0: { buf = 64, len = 3 }, bytes written go to 8
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 3))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
