(module
  (import "wasi_snapshot_preview1" "memory" (memory 1))
  (import "wasi_snapshot_preview1" "g" (global i32)))
