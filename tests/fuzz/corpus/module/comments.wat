;; comment
(; block (; nested ;) ;)
(module)
