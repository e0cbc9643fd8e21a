(module
  (import "env" "abort" (func))
  (import "wasi_snapshot_preview1" "no_such_fn" (func)))
