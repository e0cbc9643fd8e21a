(module
  (memory (export "memory") 0)
  (table 2 funcref)
  (global (mut i32) (i32.const 0))
  (func (export "_initialize"))
  (func (export "_start") (param i32)))
