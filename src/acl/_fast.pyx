# cython: freethreading_compatible = False
"""The compiled decision kernel: first-match decisions over the tables (addresses are parsed
by :mod:`acl._addr`, shared with the log scanners).

Everything here reads the flat arrays that :func:`acl.compiler.build_tables` makes; no rule
kind is looked at. Python wrappers (in :mod:`acl.engine`) check dtypes, shapes and
contiguity and allocate the outputs; the loops below take typed memoryviews, run without
the GIL and cannot raise.

Codes: a compiled rule index (>= 0), or DEFAULT (-1), PRIVATE_ENDPOINT (-2),
PUBLIC_ACCESS_DISABLED (-3), INVALID (-4), SERVICE_ENDPOINT_BLOCKED (-5).
"""

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from acl._addr cimport MAX_TEXT, Addr, parse as _parse
from acl.decision cimport Decision

from acl._addr import parse_address  # no-cython-lint: the Python face of the shared parser

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
    if t.shift >= 16:
        # a root of 16 bits or fewer: a table small enough to stay in the cache, where
        # the lanes' bookkeeping costs more than the misses it overlaps
        for i in range(n):
            code = p.plain4[_range_v4(t, v4[i])]
            out_code[i] = code
            out_action[i] = _plain_action(p, code)
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
    if t4.shift >= 16 and t6.shift >= 45:
        # roots of 16 bits or fewer (19 for IPv6): small tables, as in _plain_v4
        for i in range(n):
            if version[i] == 0:
                out_code[i] = CODE_INVALID
                out_action[i] = 0
            elif p.public_disabled:
                out_code[i] = CODE_PUBLIC_ACCESS_DISABLED
                out_action[i] = 0
            else:
                if version[i] == 4 or (ah[i] == 0 and (al[i] >> 32) == <uint64_t>0xFFFFU):
                    code = p.plain4[_range_v4(t4, <uint32_t>(al[i] & <uint64_t>0xFFFFFFFFU))]
                else:
                    code = p.plain6[_range_v6(t6, ah[i], al[i])]
                out_code[i] = code
                out_action[i] = _plain_action(p, code)
        return
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
