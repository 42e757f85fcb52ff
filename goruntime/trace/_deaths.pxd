# The death-interval rule both death placements share: `_parse.place_death` (the
# "early", "gc", "spread" models) and `_lifetimes.place_fitted` ("fit", and its fallback
# to spread's place). One rule, so the models bracket each other by construction.
from goruntime._types cimport int64_t, intp_t


cdef inline intp_t count_below(const int64_t* a, intp_t n, int64_t x) noexcept nogil:
    """How many of the ascending *a* are < *x* (numpy's searchsorted, side="left")."""
    cdef intp_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline void death_interval(int64_t f, int64_t b, const int64_t* starts,
                                const int64_t* prevs, intp_t ns, int64_t* earliest,
                                int64_t* latest) noexcept nogil:
    """When an object born at *b* (-1: in the snapshot) and freed by the sweep at *f* died:
    at the latest at the start of the last cycle begun before *f* (its mark found it dead),
    at the earliest after *prevs* of the cycle before (that one found it alive) or its
    birth; never before the trace's start, time 0 (a snapshot object freed by the first
    cycle dies too)."""
    cdef intp_t i = count_below(starts, ns, f) - 1
    cdef int64_t at = starts[i] if i >= 0 else -1
    cdef int64_t prev = prevs[i - 1] if i >= 1 else -1
    cdef int64_t hi = at if at > b else b
    cdef int64_t lo = prev if prev > b else b
    if hi < 0:
        hi = 0
    if lo < 0:
        lo = 0
    if lo > hi:
        lo = hi
    earliest[0] = lo
    latest[0] = hi


cdef inline double golden_fraction(intp_t k) noexcept nogil:
    """"spread"'s fraction for object *k* >= 0: (k x golden ratio) mod 1, a fixed
    low-discrepancy sequence."""
    cdef double frac = <double>k * 0.6180339887498949
    return frac - <double><int64_t>frac       # floor: frac >= 0, below 2**63
