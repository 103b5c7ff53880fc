"""Address parsing in C, shared by the decision kernel (acl._fast) and the log scanners
(acl.logs._scan): ``cimport`` it; the Python-visible function is in _addr.pyx."""

from libc.stdint cimport uint64_t

cdef enum:
    MAX_TEXT = 64  # longer text is never an address (the longest IPv6 spelling is 45)


cdef struct Addr:
    int version        # 0: invalid; 4 or 6
    uint64_t hi
    uint64_t lo


# Parse an address; IPv4-mapped IPv6 becomes IPv4. version 0 when invalid.
cdef Addr parse(const char* s, Py_ssize_t n) noexcept nogil
