;; Uses a SIMD instruction, which wasm2c 1.0.32 cannot translate: loading it
;; must fail cleanly with an error naming the feature, leaving no artifact.
(module
  (func (export "_start")
    (drop (v128.const i32x4 0 0 0 0))))
