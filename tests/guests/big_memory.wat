;; Declares 100 pages (6.25 MiB) of initial memory and does nothing else: with a
;; memory limit below that, the module must not even start (kOutOfMemory).
(module
  (memory (export "memory") 100)
  (func (export "_start")))
