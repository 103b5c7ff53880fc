# cython: freethreading_compatible = False
"""The log scanners in C: a block of lines in one call, Python values of the wanted fields
only, no Python code per line (the readers in :mod:`acl.logs.w3c` and :mod:`acl.logs.azure`
call them through :mod:`acl.logs.scanners`, which falls back to the pure-Python twins).

- :func:`split_columns`: space-separated lines (W3C), eight bytes at a time;
- :func:`scan_audit`: ``AppServiceIPSecAuditLogs`` JSON lines, each parsed whole.

A scanner returns None for a block it does not take whole; the reader then reads that
block line by line, with the same values and the rejects.
"""

from libc.stdint cimport uint64_t
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.string cimport memchr, memcmp, memcpy

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object s, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)


# ------------------------------------------------------------------- space-separated lines

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
    cdef int field = 0, k, at
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
    cdef bint reuse
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


def scan_audit(str text, Py_ssize_t start=0):
    """The columns of the ``AppServiceIPSecAuditLogs`` resource-log lines of a block from
    ``start``, up to the first line that is not in the usual shape: ``(columns, stop)``, or
    None when the block is not ASCII or does not end with a newline.

    ``text`` holds whole lines, each ending with a newline; ``start`` is the start of one
    of them. A line is taken when it is one JSON object in the usual shape: ``Category``
    (or, without it, ``category``) exactly ``AppServiceIPSecAuditLogs``, ``time`` (or
    ``TimeGenerated``) a string or absent, and ``Properties`` (or ``properties``) an object
    whose nine audit fields are all plain strings, ``ServiceEndpoint`` ``True`` or
    ``False``, ``CIp`` not empty. Each line is parsed as JSON whole (every other value is
    checked, not kept). ``stop`` is the start of the first line not taken (a blank line, a
    reject, another shape, an escape in a kept field), ``len(text)`` when every line was:
    the reader gives that one line to the general path and scans on after it.

    ``columns`` are ``(time, ip, host, x_forwarded_for, x_forwarded_host, x_azure_fdid,
    x_fd_health_probe, service_endpoint, result, details)`` lists, one entry per line
    taken, with the values the general reader gives: the address without port and
    brackets, empty host and header fields as None, ``ServiceEndpoint`` as a bool.
    """
    cdef Py_ssize_t n, i, line, eol, following, a, b, colons, colon = 0
    cdef const char* s
    cdef Span f[N_FIELDS]
    cdef Span last[N_FIELDS]
    cdef int k
    cdef bint value
    cdef const char* nl
    if not PyUnicode_IS_ASCII(text):
        return None
    s = PyUnicode_AsUTF8AndSize(text, &n)
    if n == 0 or s[n - 1] != c'\n':
        return None
    if start < 0 or start > n or (start > 0 and s[start - 1] != c'\n'):
        raise ValueError(f"start {start} is not the start of a line of the block")
    cdef list prev = [None] * N_FIELDS
    cdef list times = [], ips = [], hosts = [], xff = [], xfh = [], fdid = [], probe = []
    cdef list endpoint = [], result = [], details = []
    cdef list header_out = [xff, xfh, fdid, probe]
    cdef tuple columns = (times, ips, hosts, xff, xfh, fdid, probe, endpoint, result, details)
    for k in range(N_FIELDS):
        last[k].seen = 0
    line = start
    while line < n:
        eol = <const char*>memchr(s + line, c'\n', n - line) - s
        following = eol + 1
        for k in range(N_FIELDS):
            f[k].seen = 0
        i = _audit_object(s, _json_ws(s, line, eol), eol, 0, f)
        if i < 0 or _json_ws(s, i, eol) != eol:
            return columns, line
        k = F_CATEGORY if f[F_CATEGORY].seen else F_CATEGORY_LOWER
        if f[k].seen != 1 or not _key_is(s, f[k].start, f[k].length, b"AppServiceIPSecAuditLogs", 24):
            return columns, line
        if f[F_PROPERTIES].seen != 1 or f[F_TIME].seen == 2 or (f[F_TIME].seen == 0 and f[F_TIME_GENERATED].seen == 2):
            return columns, line
        for k in range(P_CIP, N_FIELDS):
            if f[k].seen != 1:
                return columns, line
        if f[P_CIP].length == 0:
            return columns, line
        if _key_is(s, f[P_ENDPOINT].start, f[P_ENDPOINT].length, b"True", 4):
            value = True
        elif _key_is(s, f[P_ENDPOINT].start, f[P_ENDPOINT].length, b"False", 5):
            value = False
        else:
            return columns, line
        endpoint.append(value)
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
    return columns, n
