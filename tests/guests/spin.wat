;; Spins forever in a loop that has no calls, no memory access and no way out:
;; only the engine's kill switch (Limits::timeout) can stop it. The C that
;; wasm2c makes from this is a goto loop, which a C compiler may not remove.
(module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $forever
      (br $forever))))
