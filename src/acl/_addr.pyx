# cython: freethreading_compatible = False
"""Address parsing in C: strict IPv4 dotted quads and IPv6 text exactly as Python's
:mod:`ipaddress` accepts it (no zone), checked against :mod:`acl.addresses` by Hypothesis.

The C function :c:func:`parse` is declared in ``_addr.pxd`` and cimported by the decision
kernel (:mod:`acl._fast`) and the log scanners (:mod:`acl.logs._scan`); :func:`parse_address`
is its Python face (tests, and :mod:`acl._fast` re-exports it).
"""

from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memchr

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    char* PyBytes_AS_STRING(object o)
    Py_ssize_t PyBytes_GET_SIZE(object o)


cdef inline int _parse_v4(const char* s, Py_ssize_t n, uint32_t* out) noexcept nogil:
    """Strict dotted quad: four decimal octets, no leading zeros. 1 on success."""
    cdef const char* p = s
    cdef const char* end = s + n
    cdef uint32_t value = 0
    cdef uint32_t octet
    cdef unsigned int d
    cdef int part
    for part in range(4):
        if p >= end:
            return 0
        d = <unsigned char>p[0] - 48
        if d > 9:
            return 0
        octet = d
        p += 1
        # A leading zero stands alone: "0" is an octet, "01" is not.
        if d != 0 and p < end:
            d = <unsigned char>p[0] - 48
            if d <= 9:
                octet = octet * 10 + d
                p += 1
                if p < end:
                    d = <unsigned char>p[0] - 48
                    if d <= 9:
                        octet = octet * 10 + d
                        p += 1
                        if octet > 255:
                            return 0
        value = (value << 8) | octet
        if part < 3:
            if p >= end or p[0] != c'.':
                return 0
            p += 1
    if p != end:
        return 0
    out[0] = value
    return 1


cdef inline int _hex(char c) noexcept nogil:
    if c'0' <= c <= c'9':
        return c - c'0'
    if c'a' <= c <= c'f':
        return c - c'a' + 10
    if c'A' <= c <= c'F':
        return c - c'A' + 10
    return -1


cdef int _parse_v6(const char* s, Py_ssize_t n, uint64_t* hi, uint64_t* lo) noexcept nogil:
    """IPv6 text exactly as Python's ipaddress accepts it (no zone). 1 on success."""
    cdef Py_ssize_t starts[11]
    cdef Py_ssize_t lens[11]
    cdef int count = 0
    cdef Py_ssize_t i, begin = 0
    cdef int h, k, d, _k
    cdef uint32_t v4
    cdef int values[10]
    cdef int empty[10]
    if n == 0:
        return 0
    for i in range(n + 1):
        if i == n or s[i] == c':':
            if count == 10:
                return 0
            starts[count] = begin
            lens[count] = i - begin
            count += 1
            begin = i + 1
    if count < 3:
        return 0
    # Parse every part: empty, a hextet, or (last) an embedded IPv4 address.
    for k in range(count):
        empty[k] = lens[k] == 0
        values[k] = 0
        if k == count - 1 and memchr(s + starts[k], c'.', <size_t>lens[k]) != NULL:
            if not _parse_v4(s + starts[k], lens[k], &v4):
                return 0
            if count == 10:
                return 0
            values[k] = <int>(v4 >> 16)
            values[k + 1] = <int>(v4 & 0xFFFF)
            empty[k + 1] = 0
            count += 1
            break
        if lens[k] > 4:
            for d in range(lens[k]):
                if _hex(s[starts[k] + d]) < 0:
                    return 0
            return 0
        for d in range(lens[k]):
            h = _hex(s[starts[k] + d])
            if h < 0:
                return 0
            values[k] = (values[k] << 4) | h
    if count > 9:
        return 0
    cdef int skip = -1
    for k in range(1, count - 1):
        if empty[k]:
            if skip != -1:
                return 0
            skip = k
    cdef int parts_hi, parts_lo, skipped
    if skip != -1:
        parts_hi = skip
        parts_lo = count - skip - 1
        if empty[0]:
            parts_hi -= 1
            if parts_hi:
                return 0
        if empty[count - 1]:
            parts_lo -= 1
            if parts_lo:
                return 0
        skipped = 8 - (parts_hi + parts_lo)
        if skipped < 1:
            return 0
    else:
        if count != 8 or empty[0] or empty[count - 1]:
            return 0
        parts_hi = 8
        parts_lo = 0
        skipped = 0
    cdef int hextets[8]
    cdef int pos = 0
    for k in range(parts_hi):
        if empty[k]:
            return 0
        hextets[pos] = values[k]
        pos += 1
    for _k in range(skipped):
        hextets[pos] = 0
        pos += 1
    for k in range(count - parts_lo, count):
        if empty[k]:
            return 0
        hextets[pos] = values[k]
        pos += 1
    cdef uint64_t a = 0, b = 0
    for k in range(4):
        a = (a << 16) | <uint64_t>hextets[k]
        b = (b << 16) | <uint64_t>hextets[k + 4]
    hi[0] = a
    lo[0] = b
    return 1


cdef Addr parse(const char* s, Py_ssize_t n) noexcept nogil:
    """Parse an address; IPv4-mapped IPv6 becomes IPv4. version 0 when invalid."""
    cdef Addr out
    cdef uint32_t v4
    out.version = 0
    out.hi = 0
    out.lo = 0
    if n <= 0 or n > MAX_TEXT:
        return out
    if _parse_v4(s, n, &v4):
        out.version = 4
        out.lo = v4
        return out
    if _parse_v6(s, n, &out.hi, &out.lo):
        if out.hi == 0 and (out.lo >> 32) == <uint64_t>0xFFFFU:
            out.version = 4
            out.lo = out.lo & <uint64_t>0xFFFFFFFFU
        else:
            out.version = 6
    return out


def parse_address(text):
    """``(version, value)`` of an address string, or ``(0, 0)`` when invalid (for tests)."""
    cdef Py_ssize_t n
    cdef const char* s
    if isinstance(text, str):
        s = PyUnicode_AsUTF8AndSize(text, &n)
    elif isinstance(text, bytes):
        s = PyBytes_AS_STRING(text)
        n = PyBytes_GET_SIZE(text)
    else:
        return (0, 0)
    cdef Addr a = parse(s, n)
    if a.version == 0:
        return (0, 0)
    return (a.version, (int(a.hi) << 64) | int(a.lo))
