(module
  (memory (export "memory") 100)
  (func (export "_start")))
