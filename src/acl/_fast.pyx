# cython: freethreading_compatible = False
"""The compiled kernel: address parsing in C and first-match decisions over the tables.

Everything here reads the flat arrays that :func:`acl.compile.build_tables` makes; no rule
kind is looked at. Python wrappers (in :mod:`acl.engine`) check dtypes, shapes and
contiguity and allocate the outputs; the loops below take typed memoryviews, run without
the GIL and cannot raise.

Codes: a compiled rule index (>= 0), or DEFAULT (-1), PRIVATE_ENDPOINT (-2),
PUBLIC_ACCESS_DISABLED (-3), INVALID (-4), SERVICE_ENDPOINT_BLOCKED (-5).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memchr, memcmp, memcpy

from acl.decision cimport Decision

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)
    bint PyUnicode_Check(object o)
    bint PyBytes_Check(object o)
    char* PyBytes_AS_STRING(object o)
    Py_ssize_t PyBytes_GET_SIZE(object o)

cdef enum:
    ROOT_SHIFT_V4 = 16
    ROOT_SHIFT_V6 = 48
    COND_HEADERS = 1
    COND_ENDPOINT = 2
    COND_SUBNET = 4
    CODE_DEFAULT = -1
    CODE_PRIVATE_ENDPOINT = -2
    CODE_PUBLIC_ACCESS_DISABLED = -3
    CODE_INVALID = -4
    CODE_SERVICE_ENDPOINT_BLOCKED = -5
    MAX_TEXT = 64


# ------------------------------------------------------------------------------- parsing

cdef struct Addr:
    int version        # 0: invalid; 4 or 6
    uint64_t hi
    uint64_t lo


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
    cdef int h, k, d, v
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
    for k in range(skipped):
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


cdef inline Addr _parse(const char* s, Py_ssize_t n) noexcept nogil:
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
    cdef Addr a = _parse(s, n)
    if a.version == 0:
        return (0, 0)
    return (a.version, (int(a.hi) << 64) | int(a.lo))


cdef extern from *:
    """
    #include <string.h>
    #include <stdint.h>
    #define ACL_SPACES 0x2020202020202020ULL
    #define ACL_NEWLINES 0x0A0A0A0A0A0A0A0AULL
    /* 0x80 in each byte of w equal to the byte in `pattern` (all eight bytes alike). */
    static inline uint64_t acl_eq_bytes(uint64_t w, uint64_t pattern) {
        const uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
        uint64_t x = w ^ pattern;
        return ~(((x & low7) + low7) | x | low7);
    }
    /* Eight bytes from p (any alignment), the first in the lowest byte. */
    static inline uint64_t acl_load_le64(const char* p) {
        uint64_t w;
        memcpy(&w, p, 8);
    #if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        w = __builtin_bswap64(w);
    #endif
        return w;
    }
    static inline int acl_lowest_byte(uint64_t mask) {
    #if defined(__GNUC__) || defined(__clang__)
        return __builtin_ctzll(mask) >> 3;
    #else
        int k = 0;
        while (!(mask & 0x80)) { mask >>= 8; k++; }
        return k;
    #endif
    }
    """
    uint64_t acl_eq_bytes(uint64_t w, uint64_t pattern) noexcept nogil
    uint64_t acl_load_le64(const char* p) noexcept nogil
    int acl_lowest_byte(uint64_t mask) noexcept nogil
    const uint64_t ACL_SPACES
    const uint64_t ACL_NEWLINES

cdef enum:
    SPLIT_REUSE = 1       # a value equal to the previous row's is the same object
    SPLIT_DASH_NONE = 2   # "-" and "" are None
    SPLIT_REQUIRED = 4    # a "-" or "" makes the whole call return None
    SPLIT_PLUS = 8        # "+" is read back as a space
    MAX_SLOTS = 16
    JOIN_BUFFER = 256


cdef object _field_text(const char* s, Py_ssize_t n, int flags):
    """The Python value of one field under ``flags`` (REQUIRED is the caller's)."""
    cdef Py_ssize_t k
    cdef char* copy
    if flags & SPLIT_DASH_NONE and (n == 0 or (n == 1 and s[0] == c'-')):
        return None
    if flags & SPLIT_PLUS and memchr(s, c'+', n) != NULL:
        copy = <char*>PyMem_Malloc(n)
        if copy == NULL:
            raise MemoryError()
        try:
            for k in range(n):
                copy[k] = c' ' if s[k] == c'+' else s[k]
            return PyUnicode_DecodeUTF8(copy, n, b"replace")
        finally:
            PyMem_Free(copy)
    return PyUnicode_DecodeUTF8(s, n, b"replace")


def split_columns(str text, int count, tuple wanted, tuple flags=None):
    """Columns of a block of space-separated lines, or None when a line does not fit.

    ``text`` holds whole lines, each ending with a newline; every line must have exactly
    ``count`` fields separated by single spaces. Returns one list per entry of ``wanted``:
    only those fields become Python values (the W3C reader's fast path). An entry is a
    field index, or a pair ``(a, b)`` for the text ``field_a + " " + field_b``.

    ``flags`` (one int per entry, default 0) adjusts the values: 1 reuses the previous
    row's object for an equal value, 2 reads ``-`` and an empty field as None, 4 returns
    None for the whole block when the field is ``-`` or empty, 8 reads ``+`` as a space
    (2 and 4 apply to single fields, not to pairs).

    The block is scanned eight bytes at a time for spaces and newlines.
    """
    cdef Py_ssize_t n, i, base, start = 0, la, lb
    cdef const char* s = PyUnicode_AsUTF8AndSize(text, &n)
    cdef int nw = len(wanted)
    cdef int field = 0, k, slot, at
    cdef int slot_a[MAX_SLOTS]
    cdef int slot_b[MAX_SLOTS]
    cdef int slot_flags[MAX_SLOTS]
    cdef Py_ssize_t fs[512]
    cdef Py_ssize_t fe[512]
    cdef Py_ssize_t prev_s[MAX_SLOTS]
    cdef Py_ssize_t prev_n[MAX_SLOTS]
    cdef Py_ssize_t prev_s2[MAX_SLOTS]
    cdef Py_ssize_t prev_n2[MAX_SLOTS]
    cdef char join[JOIN_BUFFER]
    cdef uint64_t word, mask
    cdef char c
    cdef int required = 0
    cdef bint reuse
    cdef object value
    cdef list column
    cdef list prev = [None] * MAX_SLOTS
    if nw > MAX_SLOTS or count > 512 or count < 1:
        return None
    if flags is not None and len(flags) != nw:
        raise ValueError("flags must have one entry per wanted column")
    for k in range(nw):
        entry = wanted[k]
        if isinstance(entry, tuple):
            if len(entry) != 2:
                raise ValueError("a joined column is a pair of field indexes")
            slot_a[k] = entry[0]
            slot_b[k] = entry[1]
        else:
            slot_a[k] = entry
            slot_b[k] = -1
        if not 0 <= slot_a[k] < count or not -1 <= slot_b[k] < count:
            raise ValueError("wanted column out of range")
        slot_flags[k] = flags[k] if flags is not None else 0
        prev_n[k] = -1
        prev_n2[k] = -1
    outs = [[] for _ in range(nw)]

    base = 0
    while True:
        # The positions of the separators in the next eight bytes (or the tail, bytewise).
        if base + 8 <= n:
            word = acl_load_le64(s + base)
            mask = acl_eq_bytes(word, ACL_SPACES) | acl_eq_bytes(word, ACL_NEWLINES)
        elif base < n:
            mask = 0
            for k in range(<int>(n - base)):
                c = s[base + k]
                if c == c' ' or c == c'\n':
                    mask |= (<uint64_t>0x80) << (8 * k)
        else:
            break
        while mask:
            i = base + acl_lowest_byte(mask)
            mask &= mask - 1
            if field >= count:
                return None
            fs[field] = start
            fe[field] = i
            field += 1
            start = i + 1
            if s[i] != c'\n':
                continue
            if field != count:
                return None
            for k in range(nw):
                at = slot_a[k]
                la = fe[at] - fs[at]
                column = <list>outs[k]
                if slot_flags[k] & SPLIT_REQUIRED and slot_b[k] < 0 and (
                    la == 0 or (la == 1 and s[fs[at]] == c'-')
                ):
                    return None
                if slot_b[k] < 0:
                    reuse = (
                        slot_flags[k] & SPLIT_REUSE and prev_n[k] == la
                        and memcmp(s + prev_s[k], s + fs[at], la) == 0
                    )
                    if not reuse:
                        prev[k] = _field_text(s + fs[at], la, slot_flags[k])
                        prev_s[k] = fs[at]
                        prev_n[k] = la
                    column.append(prev[k])
                    continue
                lb = fe[slot_b[k]] - fs[slot_b[k]]
                reuse = (
                    slot_flags[k] & SPLIT_REUSE and prev_n[k] == la and prev_n2[k] == lb
                    and memcmp(s + prev_s[k], s + fs[at], la) == 0
                    and memcmp(s + prev_s2[k], s + fs[slot_b[k]], lb) == 0
                )
                if not reuse:
                    if la + 1 + lb <= JOIN_BUFFER:
                        memcpy(join, s + fs[at], la)
                        join[la] = c' '
                        memcpy(join + la + 1, s + fs[slot_b[k]], lb)
                        prev[k] = _field_text(join, la + 1 + lb, slot_flags[k] & ~SPLIT_DASH_NONE)
                    else:
                        prev[k] = (
                            _field_text(s + fs[at], la, slot_flags[k] & ~SPLIT_DASH_NONE) + " "
                            + _field_text(s + fs[slot_b[k]], lb, slot_flags[k] & ~SPLIT_DASH_NONE)
                        )
                    prev_s[k] = fs[at]
                    prev_n[k] = la
                    prev_s2[k] = fs[slot_b[k]]
                    prev_n2[k] = lb
                column.append(prev[k])
            field = 0
        base += 8
    if start != n or field != 0:
        return None
    return outs


# ------------------------------------------------------------------- audit log records

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)

cdef enum:
    JSON_MAX_DEPTH = 64
    # Top-level fields of an AppServiceIPSecAuditLogs record, then those of its properties.
    F_TIME = 0
    F_TIME_GENERATED = 1
    F_CATEGORY = 2
    F_CATEGORY_LOWER = 3
    F_PROPERTIES = 4
    P_CIP = 5
    P_HOST = 6
    P_XFF = 7
    P_XFH = 8
    P_FDID = 9
    P_PROBE = 10
    P_ENDPOINT = 11
    P_RESULT = 12
    P_DETAILS = 13
    N_FIELDS = 14


cdef struct Span:
    Py_ssize_t start    # the text between the quotes of a string value
    Py_ssize_t length
    int seen            # 0 absent, 1 a plain string (no escape), 2 any other value


cdef inline Py_ssize_t _json_ws(const char* s, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    while i < end and (s[i] == c' ' or s[i] == c'\t' or s[i] == c'\r'):
        i += 1
    return i


cdef Py_ssize_t _json_string(const char* s, Py_ssize_t i, Py_ssize_t end, int* escaped) noexcept nogil:
    """End (after the closing quote) of the string starting at ``s[i] == '"'``, or -1 when
    it is not valid JSON or not plainly ASCII (a ``\\u`` escape included: the general path
    judges those). Sets ``escaped`` when it holds a backslash escape."""
    cdef Py_ssize_t j = i + 1
    cdef char c
    escaped[0] = 0
    while j < end:
        c = s[j]
        if c == c'"':
            return j + 1
        if c == c'\\':
            if j + 1 >= end:
                return -1
            c = s[j + 1]
            if c == c'"' or c == c'\\' or c == c'/' or c == c'b' or c == c'f' or c == c'n' or c == c'r' or c == c't':
                escaped[0] = 1
                j += 2
                continue
            return -1
        if <unsigned char>c < 0x20 or <unsigned char>c >= 0x80:
            return -1
        j += 1
    return -1


cdef Py_ssize_t _json_number(const char* s, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    """End of a JSON number at ``i``, or -1 (also for one with an exponent or longer than
    15 characters, whose value the general path decides)."""
    cdef Py_ssize_t j = i
    if j < end and s[j] == c'-':
        j += 1
    if j >= end or not (c'0' <= s[j] <= c'9'):
        return -1
    if s[j] == c'0':
        j += 1
    else:
        while j < end and c'0' <= s[j] <= c'9':
            j += 1
    if j < end and s[j] == c'.':
        j += 1
        if j >= end or not (c'0' <= s[j] <= c'9'):
            return -1
        while j < end and c'0' <= s[j] <= c'9':
            j += 1
    if j < end and (s[j] == c'e' or s[j] == c'E'):
        return -1  # an exponent may overflow: the general path decides
    if j - i > 15:
        return -1
    return j


cdef Py_ssize_t _json_value(const char* s, Py_ssize_t i, Py_ssize_t end, int depth) noexcept nogil:
    """End of the JSON value at ``i`` (skipped, but checked), or -1."""
    cdef int escaped
    cdef char c
    if i >= end or depth > JSON_MAX_DEPTH:
        return -1
    c = s[i]
    if c == c'"':
        return _json_string(s, i, end, &escaped)
    if c == c'{' or c == c'[':
        i = _json_ws(s, i + 1, end)
        if i < end and s[i] == (c'}' if c == c'{' else c']'):
            return i + 1
        while True:
            if c == c'{':
                if i >= end or s[i] != c'"':
                    return -1
                i = _json_string(s, i, end, &escaped)
                if i < 0:
                    return -1
                i = _json_ws(s, i, end)
                if i >= end or s[i] != c':':
                    return -1
                i = _json_ws(s, i + 1, end)
            i = _json_value(s, i, end, depth + 1)
            if i < 0:
                return -1
            i = _json_ws(s, i, end)
            if i >= end:
                return -1
            if s[i] == c',':
                i = _json_ws(s, i + 1, end)
                continue
            if s[i] == (c'}' if c == c'{' else c']'):
                return i + 1
            return -1
    if c == c't':
        return i + 4 if end - i >= 4 and memcmp(s + i, b"true", 4) == 0 else -1
    if c == c'f':
        return i + 5 if end - i >= 5 and memcmp(s + i, b"false", 5) == 0 else -1
    if c == c'n':
        return i + 4 if end - i >= 4 and memcmp(s + i, b"null", 4) == 0 else -1
    return _json_number(s, i, end)


cdef inline int _key_is(const char* s, Py_ssize_t start, Py_ssize_t length, const char* name, Py_ssize_t n) noexcept nogil:
    return length == n and memcmp(s + start, name, n) == 0


cdef int _audit_field(const char* s, Py_ssize_t start, Py_ssize_t length, int props) noexcept nogil:
    """The field number of a key (top level or in properties), or -1 for any other key."""
    if not props:
        if _key_is(s, start, length, b"time", 4):
            return F_TIME
        if _key_is(s, start, length, b"TimeGenerated", 13):
            return F_TIME_GENERATED
        if _key_is(s, start, length, b"Category", 8):
            return F_CATEGORY
        if _key_is(s, start, length, b"category", 8):
            return F_CATEGORY_LOWER
        if _key_is(s, start, length, b"Properties", 10) or _key_is(s, start, length, b"properties", 10):
            return F_PROPERTIES
        return -1
    if _key_is(s, start, length, b"CIp", 3):
        return P_CIP
    if _key_is(s, start, length, b"CsHost", 6):
        return P_HOST
    if _key_is(s, start, length, b"XForwardedFor", 13):
        return P_XFF
    if _key_is(s, start, length, b"XForwardedHost", 14):
        return P_XFH
    if _key_is(s, start, length, b"XAzureFDID", 10):
        return P_FDID
    if _key_is(s, start, length, b"XFDHealthProbe", 14):
        return P_PROBE
    if _key_is(s, start, length, b"ServiceEndpoint", 15):
        return P_ENDPOINT
    if _key_is(s, start, length, b"Result", 6):
        return P_RESULT
    if _key_is(s, start, length, b"Details", 7):
        return P_DETAILS
    return -1


cdef Py_ssize_t _audit_object(const char* s, Py_ssize_t i, Py_ssize_t end, int props, Span* f) noexcept nogil:
    """Parse the object at ``i`` (the record, or with ``props`` its properties), noting the
    audit fields in ``f``; end of the object, or -1 when the general path must judge it (not
    valid JSON, a field seen twice, an escaped key)."""
    cdef int escaped, k
    cdef Py_ssize_t key, value
    if i >= end or s[i] != c'{':
        return -1
    i = _json_ws(s, i + 1, end)
    if i < end and s[i] == c'}':
        return i + 1
    while True:
        if i >= end or s[i] != c'"':
            return -1
        key = i + 1
        i = _json_string(s, i, end, &escaped)
        if i < 0 or escaped:
            return -1
        k = _audit_field(s, key, i - 1 - key, props)
        i = _json_ws(s, i, end)
        if i >= end or s[i] != c':':
            return -1
        value = _json_ws(s, i + 1, end)
        if k == F_PROPERTIES:
            if f[k].seen:
                return -1
            i = _audit_object(s, value, end, 1, f)
            if i < 0:
                return -1
            f[k].seen = 1
        elif k >= 0:
            if f[k].seen:
                return -1
            if value < end and s[value] == c'"':
                i = _json_string(s, value, end, &escaped)
                if i < 0 or escaped:
                    return -1
                f[k].seen = 1
                f[k].start = value + 1
                f[k].length = i - value - 2
            else:
                i = _json_value(s, value, end, 1)
                f[k].seen = 2
        else:
            i = _json_value(s, value, end, 1)
        if i < 0:
            return -1
        i = _json_ws(s, i, end)
        if i >= end:
            return -1
        if s[i] == c',':
            i = _json_ws(s, i + 1, end)
            continue
        if s[i] == c'}':
            return i + 1
        return -1


cdef inline object _audit_text(const char* s, Span* f, int k, list prev, Span* last):
    """The field's text, the previous row's object when equal."""
    if last[k].seen and last[k].length == f[k].length and memcmp(s + last[k].start, s + f[k].start, f[k].length) == 0:
        return prev[k]
    value = PyUnicode_DecodeUTF8(s + f[k].start, f[k].length, NULL)
    prev[k] = value
    last[k] = f[k]
    return value


def scan_audit(str text):
    """The columns of a block of ``AppServiceIPSecAuditLogs`` resource-log lines, or None.

    ``text`` holds whole lines, each ending with a newline. Every line must be one JSON object
    in the usual shape: ``Category`` (or, without it, ``category``) exactly
    ``AppServiceIPSecAuditLogs``, ``time`` (or
    ``TimeGenerated``) a string or absent, and ``Properties`` (or ``properties``) an object
    whose nine audit fields are all plain strings, ``ServiceEndpoint`` ``True`` or
    ``False``, ``CIp`` not empty. Each line is parsed as JSON whole (every other value
    is checked, not kept). When a line is anything else (a blank line, a reject, another
    shape, an escape in a kept field, non-ASCII text) the block is left to the general path:
    None.

    Returns ``(time, ip, host, x_forwarded_for, x_forwarded_host, x_azure_fdid,
    x_fd_health_probe, service_endpoint, result, details)`` lists, with the values the
    general reader gives: the address without port and brackets, empty host and header
    fields as None, ``ServiceEndpoint`` as a bool.
    """
    cdef Py_ssize_t n, i, line, eol, following, a, b, colons, colon = 0
    cdef const char* s
    cdef Span f[N_FIELDS]
    cdef Span last[N_FIELDS]
    cdef int k
    cdef const char* nl
    if not PyUnicode_IS_ASCII(text):
        return None
    s = PyUnicode_AsUTF8AndSize(text, &n)
    if n == 0 or s[n - 1] != c'\n':
        return None
    cdef list prev = [None] * N_FIELDS
    cdef list times = [], ips = [], hosts = [], xff = [], xfh = [], fdid = [], probe = []
    cdef list endpoint = [], result = [], details = []
    cdef list header_out = [xff, xfh, fdid, probe]
    for k in range(N_FIELDS):
        last[k].seen = 0
    line = 0
    while line < n:
        eol = <const char*>memchr(s + line, c'\n', n - line) - s
        following = eol + 1
        for k in range(N_FIELDS):
            f[k].seen = 0
        i = _audit_object(s, _json_ws(s, line, eol), eol, 0, f)
        if i < 0 or _json_ws(s, i, eol) != eol:
            return None
        k = F_CATEGORY if f[F_CATEGORY].seen else F_CATEGORY_LOWER
        if f[k].seen != 1 or not _key_is(s, f[k].start, f[k].length, b"AppServiceIPSecAuditLogs", 24):
            return None
        if f[F_PROPERTIES].seen != 1 or f[F_TIME].seen == 2 or (f[F_TIME].seen == 0 and f[F_TIME_GENERATED].seen == 2):
            return None
        for k in range(P_CIP, N_FIELDS):
            if f[k].seen != 1:
                return None
        if f[P_CIP].length == 0:
            return None
        if _key_is(s, f[P_ENDPOINT].start, f[P_ENDPOINT].length, b"True", 4):
            endpoint.append(True)
        elif _key_is(s, f[P_ENDPOINT].start, f[P_ENDPOINT].length, b"False", 5):
            endpoint.append(False)
        else:
            return None
        # The address as the general reader cuts it: one colon -> the text before it,
        # "[v6]:port" or "[v6]" -> v6, a bare IPv6 (or anything else) as it is.
        a = f[P_CIP].start
        b = a + f[P_CIP].length
        colons = 0
        for i in range(a, b):
            if s[i] == c':':
                colons += 1
                colon = i
        if colons == 1:
            b = colon
        elif s[a] == c'[':
            nl = <const char*>memchr(s + a, c']', b - a)
            if nl != NULL:
                b = nl - s
                a += 1
        ips.append(PyUnicode_DecodeUTF8(s + a, b - a, NULL))
        k = F_TIME if f[F_TIME].seen else F_TIME_GENERATED
        times.append(PyUnicode_DecodeUTF8(s + f[k].start, f[k].length, NULL) if f[k].seen else None)
        hosts.append(_audit_text(s, f, P_HOST, prev, last) if f[P_HOST].length else None)
        for k in range(P_XFF, P_PROBE + 1):
            (<list>header_out[k - P_XFF]).append(_audit_text(s, f, k, prev, last) if f[k].length else None)
        result.append(_audit_text(s, f, P_RESULT, prev, last))
        details.append(_audit_text(s, f, P_DETAILS, prev, last))
        line = following
    return times, ips, hosts, xff, xfh, fdid, probe, endpoint, result, details


# ------------------------------------------------------------------------------- tables

cdef struct Family:
    const uint32_t* starts32     # IPv4 range starts
    const uint64_t* hi           # IPv6 range starts, high and low halves
    const uint64_t* lo
    const int32_t* ranges
    const uint32_t* root
    int shift                    # address bits below the root's: 32 or 64 minus its width


cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define ACL_PREFETCH(p) __builtin_prefetch((const void*)(p), 0, 0)
    #else
    #define ACL_PREFETCH(p) ((void)0)
    #endif
    """
    void ACL_PREFETCH(const void* p) noexcept nogil


cdef enum:
    LANES = 16                   # lookups in flight at once in the bulk loops


cdef struct Ctx:
    uint8_t endpoint
    int32_t subnet
    const int32_t* sat_off
    const int32_t* sat_ids
    int32_t hv[4]


cdef inline Py_ssize_t _range_v4(const Family* t, uint32_t a) noexcept nogil:
    cdef uint32_t c = a >> t.shift
    return _search_v4(t, a, t.root[c], t.root[c + 1])


cdef inline Py_ssize_t _search_v4(const Family* t, uint32_t a, Py_ssize_t lo,
                                  Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if t.starts32[mid] <= a:
            lo = mid
        else:
            hi = mid - 1
    return lo


cdef inline Py_ssize_t _range_v6(const Family* t, uint64_t ah, uint64_t al) noexcept nogil:
    cdef uint64_t c = ah >> t.shift
    return _search_v6(t, ah, al, t.root[c], t.root[c + 1])


cdef inline Py_ssize_t _search_v6(const Family* t, uint64_t ah, uint64_t al, Py_ssize_t lo,
                                  Py_ssize_t hi) noexcept nogil:
    cdef Py_ssize_t mid
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if t.hi[mid] < ah or (t.hi[mid] == ah and t.lo[mid] <= al):
            lo = mid
        else:
            hi = mid - 1
    return lo


cdef struct Plain:
    const Family* fam4
    const Family* fam6
    const int32_t* plain4        # per range: the code when no condition can hold
    const int32_t* plain6
    const uint8_t* action        # code -> action (codes >= -4)
    uint8_t default_action
    bint public_disabled


cdef inline uint8_t _plain_action(const Plain* p, int32_t code) noexcept nogil:
    return p.action[code] if code != CODE_DEFAULT else p.default_action


cdef void _plain_v4(const Plain* p, const uint32_t* v4, Py_ssize_t n, int32_t* out_code,
                    uint8_t* out_action) noexcept nogil:
    """Plain IPv4 lookups, LANES at a time: each step's loads for the whole group are
    prefetched before any is used, so the cache misses of a group overlap."""
    cdef const Family* t = p.fam4
    cdef Py_ssize_t i = 0, k, m
    cdef Py_ssize_t lo[LANES]
    cdef Py_ssize_t hi[LANES]
    cdef uint32_t c
    cdef int32_t code
    if p.public_disabled:
        for i in range(n):
            out_code[i] = CODE_PUBLIC_ACCESS_DISABLED
            out_action[i] = 0
        return
    while i < n:
        m = n - i if n - i < LANES else LANES
        for k in range(m):
            ACL_PREFETCH(&t.root[v4[i + k] >> t.shift])
        for k in range(m):
            c = v4[i + k] >> t.shift
            lo[k] = t.root[c]
            hi[k] = t.root[c + 1]
            ACL_PREFETCH(&t.starts32[(lo[k] + hi[k] + 1) >> 1])
        for k in range(m):
            lo[k] = _search_v4(t, v4[i + k], lo[k], hi[k])
            ACL_PREFETCH(&p.plain4[lo[k]])
        for k in range(m):
            code = p.plain4[lo[k]]
            out_code[i + k] = code
            out_action[i + k] = _plain_action(p, code)
        i += m


cdef void _plain_mixed(const Plain* p, const uint8_t* version, const uint64_t* ah,
                       const uint64_t* al, Py_ssize_t n, int32_t* out_code,
                       uint8_t* out_action) noexcept nogil:
    """Plain lookups of parsed addresses (IPv4, IPv4-mapped, IPv6 or invalid), LANES at a
    time as in :func:`_plain_v4`."""
    cdef Py_ssize_t i = 0, k, m
    cdef Py_ssize_t lo[LANES]
    cdef Py_ssize_t hi[LANES]
    cdef int kind[LANES]         # 0: decided already; 4 or 6: the family to look up
    cdef uint64_t kh[LANES]
    cdef uint64_t kl[LANES]
    cdef const Family* t4 = p.fam4
    cdef const Family* t6 = p.fam6
    cdef uint64_t c
    cdef int32_t code
    while i < n:
        m = n - i if n - i < LANES else LANES
        for k in range(m):
            kind[k] = 0
            if version[i + k] == 0:
                out_code[i + k] = CODE_INVALID
            elif p.public_disabled:
                out_code[i + k] = CODE_PUBLIC_ACCESS_DISABLED
            elif version[i + k] == 4:
                kind[k] = 4
                kl[k] = al[i + k] & <uint64_t>0xFFFFFFFFU
            elif ah[i + k] == 0 and (al[i + k] >> 32) == <uint64_t>0xFFFFU:
                kind[k] = 4  # an IPv4-mapped address is the IPv4 address
                kl[k] = al[i + k] & <uint64_t>0xFFFFFFFFU
            else:
                kind[k] = 6
                kh[k] = ah[i + k]
                kl[k] = al[i + k]
            if kind[k] == 4:
                ACL_PREFETCH(&t4.root[kl[k] >> t4.shift])
            elif kind[k] == 6:
                ACL_PREFETCH(&t6.root[kh[k] >> t6.shift])
        for k in range(m):
            if kind[k] == 4:
                c = kl[k] >> t4.shift
                lo[k] = t4.root[c]
                hi[k] = t4.root[c + 1]
                ACL_PREFETCH(&t4.starts32[(lo[k] + hi[k] + 1) >> 1])
            elif kind[k] == 6:
                c = kh[k] >> t6.shift
                lo[k] = t6.root[c]
                hi[k] = t6.root[c + 1]
                ACL_PREFETCH(&t6.hi[(lo[k] + hi[k] + 1) >> 1])
                ACL_PREFETCH(&t6.lo[(lo[k] + hi[k] + 1) >> 1])
        for k in range(m):
            if kind[k] == 4:
                lo[k] = _search_v4(t4, <uint32_t>kl[k], lo[k], hi[k])
                ACL_PREFETCH(&p.plain4[lo[k]])
            elif kind[k] == 6:
                lo[k] = _search_v6(t6, kh[k], kl[k], lo[k], hi[k])
                ACL_PREFETCH(&p.plain6[lo[k]])
        for k in range(m):
            if kind[k] == 4:
                code = p.plain4[lo[k]]
            elif kind[k] == 6:
                code = p.plain6[lo[k]]
            else:
                code = out_code[i + k]
            out_code[i + k] = code
            out_action[i + k] = _plain_action(p, code) if kind[k] else 0
        i += m


cdef class Kernel:
    """The compiled tables as raw pointers, and the loops over them."""

    cdef Family fam4[2]
    cdef Family fam6[2]
    cdef const int32_t* list_off
    cdef const int32_t* list_rules
    cdef const uint8_t* r_action
    cdef const uint8_t* r_cond
    cdef const int32_t* r_subnet
    cdef const int32_t* r_foff
    cdef const int32_t* r_filters
    cdef const uint8_t* f_header
    cdef uint8_t defaults[2]
    cdef bint public_disabled
    cdef bint endpoint_blocked   # requests through a service endpoint are denied
    cdef int32_t endpoint_list[2]  # per collection: their candidate list, or -1: by address
    cdef int32_t nrules
    cdef const int32_t* plain4[2]   # per range: the code when no condition can hold
    cdef const int32_t* plain6[2]
    cdef const uint8_t* code_action  # code + 4 -> action, for codes without conditions
    cdef object _keep            # the arrays the pointers point into
    cdef list _outcomes0         # Outcome cache of main and of scm, by code (tables.outcomes)
    cdef list _outcomes1
    cdef object _tables
    cdef object _site
    cdef object _decision
    cdef object _slow
    cdef object _scm_hosts
    cdef object _is_scm_host

    def __cinit__(self, tables, site, decision_type, slow, is_scm_host):
        import numpy as np
        keep = []

        def arr(a, dtype):
            out = np.ascontiguousarray(a, dtype=dtype)
            if out.size == 0:
                out = np.zeros(1, dtype=dtype)
            keep.append(out)
            return out

        cdef const uint32_t[::1] u32
        cdef const uint64_t[::1] u64
        cdef const int32_t[::1] i32
        cdef const uint8_t[::1] u8
        cdef int c
        for c in range(2):
            t4 = tables.family(c, 4)
            u32 = arr(t4.starts_lo, np.uint32)
            self.fam4[c].starts32 = &u32[0]
            i32 = arr(t4.ranges, np.int32)
            self.fam4[c].ranges = &i32[0]
            u32 = arr(t4.root, np.uint32)
            self.fam4[c].root = &u32[0]
            self.fam4[c].shift = 32 - t4.root_bits
            t6 = tables.family(c, 6)
            u64 = arr(t6.starts_hi, np.uint64)
            self.fam6[c].hi = &u64[0]
            u64 = arr(t6.starts_lo, np.uint64)
            self.fam6[c].lo = &u64[0]
            i32 = arr(t6.ranges, np.int32)
            self.fam6[c].ranges = &i32[0]
            u32 = arr(t6.root, np.uint32)
            self.fam6[c].root = &u32[0]
            self.fam6[c].shift = 64 - t6.root_bits
            self.defaults[c] = tables.defaults[c]
        i32 = arr(tables.list_offsets, np.int32)
        self.list_off = &i32[0]
        i32 = arr(tables.list_rules, np.int32)
        self.list_rules = &i32[0]
        u8 = arr(tables.rule_action, np.uint8)
        self.r_action = &u8[0]
        u8 = arr(tables.rule_cond, np.uint8)
        self.r_cond = &u8[0]
        i32 = arr(tables.rule_subnet, np.int32)
        self.r_subnet = &i32[0]
        i32 = arr(tables.rule_filter_offsets, np.int32)
        self.r_foff = &i32[0]
        i32 = arr(tables.rule_filters, np.int32)
        self.r_filters = &i32[0]
        u8 = arr(tables.filter_header, np.uint8)
        self.f_header = &u8[0]
        self.public_disabled = tables.public_disabled
        self.endpoint_blocked = tables.endpoint_blocked
        for c in range(2):
            self.endpoint_list[c] = tables.endpoint_lists[c]
        self.nrules = len(tables.rules)
        # The common bulk case (no headers, endpoints or subnets) needs one lookup per row.
        from acl.compiler import plain_codes
        plain_by_list = plain_codes(tables.list_offsets, tables.list_rules, tables.rule_cond)
        for c in range(2):
            i32 = arr(plain_by_list[np.asarray(tables.family(c, 4).ranges)], np.int32)
            self.plain4[c] = &i32[0]
            i32 = arr(plain_by_list[np.asarray(tables.family(c, 6).ranges)], np.int32)
            self.plain6[c] = &i32[0]
        u8 = arr(np.concatenate([[0, 0, 1, 0], np.asarray(tables.rule_action)]), np.uint8)
        self.code_action = &u8[0]
        self._keep = keep
        self._outcomes0 = tables.outcomes[0]
        self._outcomes1 = tables.outcomes[1]
        self._tables = tables
        self._site = site
        self._decision = decision_type
        self._slow = slow
        self._scm_hosts = {}
        self._is_scm_host = is_scm_host

    def arrays(self):
        """The arrays the kernel reads (some shared with the tables, some its own)."""
        return list(self._keep)

    # ---------------------------------------------------------------- the decision itself

    cdef inline int32_t _resolve(self, int32_t list_id, const Ctx* ctx) noexcept nogil:
        cdef int32_t k, r, m, f, t, vid
        cdef uint8_t cond
        cdef bint ok, found
        for k in range(self.list_off[list_id], self.list_off[list_id + 1]):
            r = self.list_rules[k]
            cond = self.r_cond[r]
            if cond == 0:
                return r
            if (cond & COND_ENDPOINT) and not ctx.endpoint:
                continue
            if (cond & COND_SUBNET) and ctx.subnet != self.r_subnet[r]:
                continue
            if cond & COND_HEADERS:
                ok = True
                for m in range(self.r_foff[r], self.r_foff[r + 1]):
                    f = self.r_filters[m]
                    vid = ctx.hv[self.f_header[f]]
                    found = False
                    for t in range(ctx.sat_off[vid], ctx.sat_off[vid + 1]):
                        if ctx.sat_ids[t] == f:
                            found = True
                            break
                    if not found:
                        ok = False
                        break
                if not ok:
                    continue
            return r
        return CODE_DEFAULT

    cdef inline int32_t _code(self, int version, uint64_t hi, uint64_t lo, int coll,
                              bint private, const Ctx* ctx) noexcept nogil:
        cdef Py_ssize_t idx
        if private:
            return CODE_PRIVATE_ENDPOINT
        if self.public_disabled:
            return CODE_PUBLIC_ACCESS_DISABLED
        if version != 4 and version != 6:
            return CODE_INVALID
        if ctx.endpoint:
            if self.endpoint_blocked:
                return CODE_SERVICE_ENDPOINT_BLOCKED
            if self.endpoint_list[coll] >= 0:
                return self._resolve(self.endpoint_list[coll], ctx)
        if version == 6 and hi == 0 and (lo >> 32) == <uint64_t>0xFFFFU:
            version = 4  # an IPv4-mapped address is the IPv4 address
            lo = lo & <uint64_t>0xFFFFFFFFU
        if version == 4:
            idx = _range_v4(&self.fam4[coll], <uint32_t>lo)
            return self._resolve(self.fam4[coll].ranges[idx], ctx)
        idx = _range_v6(&self.fam6[coll], hi, lo)
        return self._resolve(self.fam6[coll].ranges[idx], ctx)

    cdef inline uint8_t _action(self, int32_t code, int coll) noexcept nogil:
        if code >= 0:
            return self.r_action[code]
        if code == CODE_DEFAULT:
            return self.defaults[coll]
        return 1 if code == CODE_PRIVATE_ENDPOINT else 0

    # ---------------------------------------------------------------- one request

    cdef int _scm(self, host) except -1:
        if host is None:
            return 0
        if len(host) > 300:  # longer than any DNS name and port: decided, never remembered
            return 1 if self._is_scm_host(host) else 0
        cached = self._scm_hosts.get(host)
        if cached is None:
            if len(self._scm_hosts) > 4096:
                self._scm_hosts.clear()
            cached = 1 if self._is_scm_host(host) else 0
            self._scm_hosts[host] = cached
        return cached

    def decide(self, request, *, host=None, headers=None, subnet=None,
               service_endpoint=False, private_endpoint=False, explain=False):
        """Decide one request (see :meth:`acl.Engine.decide`)."""
        cdef Py_ssize_t n
        cdef const char* s
        cdef Addr a
        cdef int32_t code
        cdef int coll
        cdef Decision d
        if (type(request) is str and headers is None and subnet is None
                and not service_endpoint and not private_endpoint and not explain):
            s = PyUnicode_AsUTF8AndSize(request, &n)
            a = _parse(s, n)
            if a.version != 0:
                coll = 0 if host is None else self._scm(host)
                if self.public_disabled:
                    code = CODE_PUBLIC_ACCESS_DISABLED
                elif a.version == 4:
                    code = self.plain4[coll][_range_v4(&self.fam4[coll], <uint32_t>a.lo)]
                else:
                    code = self.plain6[coll][_range_v6(&self.fam6[coll], a.hi, a.lo)]
                outcome = (self._outcomes1 if coll else self._outcomes0)[
                    code if code >= 0 else self.nrules - 1 - code]
                if outcome is None:
                    outcome = self._tables.outcome(coll, code)
                d = Decision.__new__(Decision)
                d.outcome = outcome
                d.ip = request
                d.trace = None
                d._site = self._site
                d._request = host
                return d
        return self._slow(request, host, headers, subnet, service_endpoint, private_endpoint, explain)

    def code_one(self, int version, uint64_t hi, uint64_t lo, int coll, bint endpoint,
                 bint private, int32_t subnet, sat):
        """The code for one parsed request; ``sat`` holds, per header, the ids of the
        filters the request's value satisfies."""
        cdef int32_t offs[6]
        cdef int32_t ids[256]
        cdef Ctx ctx
        cdef int h, total = 0
        offs[0] = 0
        offs[1] = 0
        for h in range(4):
            for f in sat[h]:
                if total == 256:
                    raise ValueError("too many satisfied header filters for one request")
                ids[total] = f
                total += 1
            offs[h + 2] = total
            ctx.hv[h] = h + 1
        ctx.endpoint = endpoint
        ctx.subnet = subnet
        ctx.sat_off = offs
        ctx.sat_ids = ids
        return self._code(version, hi, lo, coll, private, &ctx)

    # ---------------------------------------------------------------- columns

    def codes(self, const uint8_t[::1] version, const uint64_t[::1] hi, const uint64_t[::1] lo,
              const uint32_t[::1] v4, const uint8_t[::1] coll, const uint8_t[::1] endpoint,
              const uint8_t[::1] private, const int32_t[::1] subnet, const int32_t[:, ::1] hv,
              const int32_t[::1] sat_off, const int32_t[::1] sat_ids,
              int32_t[::1] out_code, uint8_t[::1] out_action):
        """Decide a batch. Either ``v4`` (all IPv4) or ``version``/``hi``/``lo`` has the
        batch's length; the other columns have that length or 1 (one value for all)."""
        cdef Py_ssize_t n = out_code.shape[0]
        cdef Py_ssize_t i, j
        cdef bint only_v4 = v4.shape[0] == n and n > 0
        if not only_v4 and (version.shape[0] != n or hi.shape[0] != n or lo.shape[0] != n):
            raise ValueError("address columns do not have the batch's length")
        cdef Py_ssize_t length
        for length in (coll.shape[0], endpoint.shape[0], private.shape[0], subnet.shape[0]):
            if length != n and length != 1:
                raise ValueError("a column has neither the batch's length nor length 1")
        if hv.shape[0] != 4 or (hv.shape[1] != n and hv.shape[1] != 1):
            raise ValueError("header value ids must have shape (4, n) or (4, 1)")
        if out_action.shape[0] != n or sat_off.shape[0] < 1:
            raise ValueError("bad output or header arrays")
        cdef bint per_coll = coll.shape[0] == n
        cdef bint per_ep = endpoint.shape[0] == n
        cdef bint per_pe = private.shape[0] == n
        cdef bint per_sub = subnet.shape[0] == n
        cdef bint per_hv = hv.shape[1] == n
        cdef Ctx ctx
        cdef int c
        cdef int32_t code
        if n == 0:
            return
        ctx.sat_off = &sat_off[0]
        ctx.sat_ids = &sat_ids[0] if sat_ids.shape[0] > 0 else &sat_off[0]
        with nogil:
            for i in range(n):
                j = i if per_hv else 0
                ctx.hv[0] = hv[0, j]
                ctx.hv[1] = hv[1, j]
                ctx.hv[2] = hv[2, j]
                ctx.hv[3] = hv[3, j]
                ctx.endpoint = endpoint[i if per_ep else 0]
                ctx.subnet = subnet[i if per_sub else 0]
                c = coll[i if per_coll else 0]
                if only_v4:
                    code = self._code(4, 0, v4[i], c, private[i if per_pe else 0], &ctx)
                else:
                    code = self._code(version[i], hi[i], lo[i], c, private[i if per_pe else 0], &ctx)
                out_code[i] = code
                out_action[i] = self._action(code, c)

    def codes_plain(self, const uint8_t[::1] version, const uint64_t[::1] hi,
                    const uint64_t[::1] lo, const uint32_t[::1] v4, int coll,
                    int32_t[::1] out_code, uint8_t[::1] out_action):
        """The common case: one collection, no headers, endpoints or subnets. Either ``v4``
        (all IPv4) or ``version``/``hi``/``lo`` has the batch's length."""
        cdef Py_ssize_t n = out_code.shape[0]
        cdef bint only_v4 = v4.shape[0] == n
        if out_action.shape[0] != n:
            raise ValueError("output arrays do not have the batch's length")
        if not only_v4 and (version.shape[0] != n or hi.shape[0] != n or lo.shape[0] != n):
            raise ValueError("address columns do not have the batch's length")
        if coll not in (0, 1):
            raise ValueError("collection must be 0 (main) or 1 (scm)")
        if n == 0:
            return
        cdef Plain p
        p.fam4 = &self.fam4[coll]
        p.fam6 = &self.fam6[coll]
        p.plain4 = self.plain4[coll]
        p.plain6 = self.plain6[coll]
        p.action = self.code_action + 4
        p.default_action = self.defaults[coll]
        p.public_disabled = self.public_disabled
        with nogil:
            if only_v4:
                _plain_v4(&p, &v4[0], n, &out_code[0], &out_action[0])
            else:
                _plain_mixed(&p, &version[0], &hi[0], &lo[0], n, &out_code[0], &out_action[0])

    # ---------------------------------------------------------------- parsing columns

    def parse_objects(self, seq, uint8_t[::1] version, uint64_t[::1] hi, uint64_t[::1] lo):
        """Parse a list of str/bytes (anything else is invalid). Returns the invalid count."""
        cdef Py_ssize_t i = 0, n, bad = 0
        cdef const char* s
        cdef Addr a
        if not isinstance(seq, list):
            seq = list(seq)
        if len(seq) != version.shape[0] or hi.shape[0] != version.shape[0] or lo.shape[0] != version.shape[0]:
            raise ValueError("output arrays do not have the column's length")
        for obj in <list>seq:
            if PyUnicode_Check(obj):
                s = PyUnicode_AsUTF8AndSize(obj, &n)
            elif PyBytes_Check(obj):
                s = PyBytes_AS_STRING(obj)
                n = PyBytes_GET_SIZE(obj)
            else:
                s = NULL
                n = 0
            a = _parse(s, n) if s != NULL else _invalid()
            version[i] = a.version
            hi[i] = a.hi
            lo[i] = a.lo
            bad += a.version == 0
            i += 1
        return bad

    def parse_bytes_matrix(self, const uint8_t[:, ::1] text, uint8_t[::1] version,
                           uint64_t[::1] hi, uint64_t[::1] lo):
        """Parse a fixed-width bytes column (numpy ``S`` dtype viewed as uint8 rows)."""
        cdef Py_ssize_t n = text.shape[0], width = text.shape[1], i, length
        cdef Py_ssize_t bad = 0
        cdef Addr a
        if version.shape[0] != n or hi.shape[0] != n or lo.shape[0] != n:
            raise ValueError("output arrays do not have the column's length")
        with nogil:
            for i in range(n):
                length = width
                while length > 0 and text[i, length - 1] == 0:
                    length -= 1
                a = _parse(<const char*>&text[i, 0], length) if width > 0 else _invalid()
                version[i] = a.version
                hi[i] = a.hi
                lo[i] = a.lo
                bad += a.version == 0
        return bad

    def parse_ucs4_matrix(self, const uint32_t[:, ::1] text, uint8_t[::1] version,
                          uint64_t[::1] hi, uint64_t[::1] lo):
        """Parse a numpy ``U`` column viewed as uint32 code points per row."""
        cdef Py_ssize_t n = text.shape[0], width = text.shape[1], i, k, length
        cdef Py_ssize_t bad = 0
        cdef char buf[MAX_TEXT + 1]
        cdef uint32_t ch
        cdef Addr a
        if version.shape[0] != n or hi.shape[0] != n or lo.shape[0] != n:
            raise ValueError("output arrays do not have the column's length")
        with nogil:
            for i in range(n):
                length = width
                while length > 0 and text[i, length - 1] == 0:
                    length -= 1
                if length > MAX_TEXT:
                    a = _invalid()
                else:
                    a.version = -1
                    for k in range(length):
                        ch = text[i, k]
                        if ch == 0 or ch > 127:
                            a = _invalid()
                            break
                        buf[k] = <char>ch
                    if a.version == -1:
                        a = _parse(buf, length)
                version[i] = a.version
                hi[i] = a.hi
                lo[i] = a.lo
                bad += a.version == 0
        return bad

    def parse_offsets(self, const int64_t[::1] offsets, const uint8_t[::1] data,
                      const uint8_t[::1] valid, uint8_t[::1] version,
                      uint64_t[::1] hi, uint64_t[::1] lo):
        """Parse an Arrow-style string column: ``data[offsets[i]:offsets[i+1]]``."""
        cdef Py_ssize_t n = version.shape[0], i
        cdef Py_ssize_t bad = 0
        cdef int64_t start, stop
        cdef Addr a
        if offsets.shape[0] != n + 1 or valid.shape[0] != n or hi.shape[0] != n or lo.shape[0] != n:
            raise ValueError("offsets, validity and outputs do not match")
        if n and (offsets[0] < 0 or offsets[n] > data.shape[0]):
            raise ValueError("offsets point outside the data buffer")
        with nogil:
            for i in range(n):
                start = offsets[i]
                stop = offsets[i + 1]
                if not valid[i] or stop < start or stop > data.shape[0]:
                    a = _invalid()
                elif stop == start:
                    a = _invalid()
                else:
                    a = _parse(<const char*>&data[start], stop - start)
                version[i] = a.version
                hi[i] = a.hi
                lo[i] = a.lo
                bad += a.version == 0
        return bad


cdef inline Addr _invalid() noexcept nogil:
    cdef Addr a
    a.version = 0
    a.hi = 0
    a.lo = 0
    return a
