# Declarations for the compiled form of decision.py (Cython "augmenting" .pxd).

cdef class Decision:
    cdef readonly object outcome
    cdef readonly object ip
    cdef readonly object trace
    cdef object _site
    cdef object _request
