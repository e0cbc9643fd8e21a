(module (func (export "\0a\01evil") (param i32)) (import "wasi_snapshot_preview1" "a\0ab" (func)))
