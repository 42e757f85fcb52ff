# cython: embedsignature=True
"""The ``death="fit"`` model's passes over a trace's rows, typed and ``nogil``
(`goruntime.trace.lifetimes` holds the estimator and says what is estimated).

`censored_lifetimes` turns each slot object into the bins its lifetime is known to lie
in; `place_fitted` places each freed object's death at a quantile of its group's fitted
lifetime distribution given that interval. Both walk the rows of ``tr.initial`` then
``tr.allocs`` (tiny sub-allocations left out), the object order of
``goruntime.trace._parse.object_columns``, and compute an object's cycle interval as its
``place_death`` does.
"""


from goruntime._types cimport int64_t, uint8_t, uint64_t, intp_t
from goruntime.trace._deaths cimport death_interval, golden_fraction

cdef extern from *:
    """
    #include <stdint.h>
    typedef int32_t gr_lt_int32_t;
    """
    ctypedef int gr_lt_int32_t "gr_lt_int32_t"

# a row of goruntime.trace.reader.ALLOC_DTYPE (numpy's packed layout; the module checks
# the size against the dtype on import)
cdef packed struct alloc_rec:
    int64_t time
    uint64_t addr
    uint64_t size
    uint8_t sizeclass
    uint8_t pointerful
    uint8_t tiny
    gr_lt_int32_t type
    uint64_t ptrbytes
    int64_t free_time

ALLOC_REC_SIZE = sizeof(alloc_rec)

cdef inline intp_t fbelow(const double* a, intp_t n, double x) noexcept nogil:
    """How many of the ascending *a* are < *x*."""
    cdef intp_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline intp_t fupto(const double* a, intp_t n, double x) noexcept nogil:
    """How many of the ascending *a* are <= *x*."""
    cdef intp_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline const alloc_rec* row(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                                 intp_t ni, intp_t j) noexcept nogil:
    if j < ni:
        return <const alloc_rec*>&initial[0] + j
    return <const alloc_rec*>&allocs[0] + (j - ni)


def censored_lifetimes(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                       const int64_t[::1] starts, const double[::1] edges,
                       gr_lt_int32_t[::1] lo, gr_lt_int32_t[::1] hi,
                       gr_lt_int32_t[::1] typ, uint8_t[::1] sizeclass):
    """Per slot object, the lifetime bins it is known to lie in: ``lo[k]..hi[k]`` of the
    bins ``[edges[j], edges[j+1])`` (bin ``len(edges) - 1``: outlives the trace), its type
    id and size class. A freed object died after the start of the cycle before the one
    whose sweep freed it (or after its birth) and before that one's start; an object
    never freed outlived the last-but-one cycle's start. Snapshot objects (age unknown)
    get ``lo = -1``. *starts*: the cycle starts, ascending. Returns the number of objects."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t ns = starts.shape[0], m = edges.shape[0] - 1, n = lo.shape[0], k = 0, j
    cdef intp_t a, c
    cdef const alloc_rec* r
    cdef int64_t b, f, e0, e1, last = -1
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("censored_lifetimes: the inputs are not whole rows")
    if m < 1:
        raise ValueError("censored_lifetimes: need at least one finite bin")
    if hi.shape[0] != n or typ.shape[0] != n or sizeclass.shape[0] != n:
        raise ValueError("censored_lifetimes: output columns differ in length")
    if ns >= 2:
        last = starts[ns - 2]
    with nogil:
        for j in range(ni + na):
            r = row(initial, allocs, ni, j)
            if r.tiny:
                continue
            if k >= n:
                break
            typ[k] = r.type
            sizeclass[k] = r.sizeclass
            if j < ni:
                lo[k] = -1
                hi[k] = -1
                k += 1
                continue
            b = r.time
            f = r.free_time
            if f >= 0:
                death_interval(f, b, &starts[0] if ns else NULL, &starts[0] if ns else NULL, ns,
                       &e0, &e1)
                e0 -= b
                e1 -= b
                c = fbelow(&edges[0], m + 1, <double>e1) - 1   # the bin that holds e1
            else:
                e0 = last - b if last > b else 0
                c = m
            a = fupto(&edges[0], m + 1, <double>e0) - 1        # the bin that holds e0
            if c < 0:
                c = 0
            if c > m:
                c = m
            if a < 0:
                a = 0
            if a > c:
                a = c
            lo[k] = <gr_lt_int32_t>a
            hi[k] = <gr_lt_int32_t>c
            k += 1
    if k != n:
        raise ValueError("censored_lifetimes: the outputs need one row per slot object")
    return k


def place_fitted(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                 const int64_t[::1] starts, const int64_t[::1] prevs,
                 const gr_lt_int32_t[::1] group, const double[::1] edges,
                 const double[:, ::1] cdf, int64_t[::1] birth, int64_t[::1] death):
    """Birth (-1: snapshot) and death (-1: never) of every slot object: a freed object of
    fitted group ``g = group[k] >= 0`` dies at the quantile ``(k * golden) mod 1`` of
    group g's lifetime distribution (``cdf[g]`` at *edges*, linear within a bin) given
    its interval (``place_death``'s, from *starts* and *prevs*), clamped to the interval;
    others, and objects whose interval holds no fitted mass, where "spread" puts them,
    though never before time 0. Returns the number of objects."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t ns = starts.shape[0], m = edges.shape[0] - 1, n = birth.shape[0], k = 0, j
    cdef intp_t ng = cdf.shape[0], jj
    cdef gr_lt_int32_t g
    cdef const alloc_rec* r
    cdef const double* c
    cdef const double* e = &edges[0]
    cdef int64_t b, f, early, late, sp, d
    cdef double frac, lo_t, hi_t, fl, fh, t, x, df
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("place_fitted: the inputs are not whole rows")
    if prevs.shape[0] != ns:
        raise ValueError("place_fitted: starts and prevs differ in length")
    if m < 1 or cdf.shape[1] != m + 1:
        raise ValueError("place_fitted: cdf needs one column per edge")
    if group.shape[0] != n or death.shape[0] != n:
        raise ValueError("place_fitted: columns differ in length")
    with nogil:
        for j in range(ni + na):
            r = row(initial, allocs, ni, j)
            if r.tiny:
                continue
            if k >= n:
                break
            b = -1 if j < ni else r.time
            birth[k] = b
            f = r.free_time
            if f < 0:
                death[k] = -1
                k += 1
                continue
            death_interval(f, b, &starts[0] if ns else NULL, &prevs[0] if ns else NULL, ns,
                   &early, &late)
            frac = golden_fraction(k)
            sp = early + <int64_t>(<double>(late - early) * frac)
            d = sp if sp > b else b             # spread's place (_parse.place_death)
            g = group[k]
            if b >= 0 and 0 <= g < ng:
                c = &cdf[g, 0]
                lo_t = <double>(early - b)
                hi_t = <double>(late - b)
                fl = cdf_at(e, c, m, lo_t)
                fh = cdf_at(e, c, m, hi_t)
                if fh - fl > 1e-12:
                    t = fl + frac * (fh - fl)
                    jj = fupto(c, m + 1, t) - 1
                    if jj < 0:
                        jj = 0
                    if jj > m - 1:
                        jj = m - 1
                    df = c[jj + 1] - c[jj]
                    x = e[jj] + ((t - c[jj]) * (e[jj + 1] - e[jj]) / df if df > 0 else 0.0)
                    if x < lo_t:
                        x = lo_t
                    if x > hi_t:
                        x = hi_t
                    d = b + <int64_t>x
                    if d < early:
                        d = early
                    if d > late:
                        d = late
            death[k] = d
            k += 1
    if k != n:
        raise ValueError("place_fitted: the outputs need one row per slot object")
    return k


cdef inline double cdf_at(const double* e, const double* c, intp_t m, double x) noexcept nogil:
    """The CDF *c* (at edges *e*, linear within a bin) at *x*."""
    cdef intp_t j = fupto(e, m + 1, x) - 1
    cdef double w
    if j < 0:
        return c[0]
    if j > m - 1:
        return c[m]
    w = (x - e[j]) / (e[j + 1] - e[j])
    if w > 1.0:
        w = 1.0
    return c[j] + (c[j + 1] - c[j]) * w


def group_counts(const gr_lt_int32_t[::1] lo, const gr_lt_int32_t[::1] typ,
                 const uint8_t[::1] sizeclass, const gr_lt_int32_t[::1] tmap,
                 int64_t[::1] tcount, int64_t[::1] scount):
    """Count the fitted objects (``lo >= 0``) by type id (``tcount[type + 1]``; ids outside
    it are not counted) when *tmap* is empty, else, by size class, those whose type has
    no group in *tmap* (``tmap[type + 1] < 0``)."""
    cdef intp_t n = lo.shape[0], k, t, nt = tcount.shape[0], nm = tmap.shape[0]
    if typ.shape[0] != n or sizeclass.shape[0] != n or scount.shape[0] < 256:
        raise ValueError("group_counts: columns differ in length")
    with nogil:
        for k in range(n):
            if lo[k] < 0:
                continue
            t = <intp_t>typ[k] + 1
            if nm == 0:
                if 0 < t < nt:
                    tcount[t] += 1
            elif t <= 0 or t >= nm or tmap[t] < 0:
                scount[sizeclass[k]] += 1


def assign_groups(const gr_lt_int32_t[::1] lo, const gr_lt_int32_t[::1] hi,
                  const gr_lt_int32_t[::1] typ, const uint8_t[::1] sizeclass,
                  const gr_lt_int32_t[::1] tmap, const gr_lt_int32_t[::1] smap,
                  gr_lt_int32_t pooled, gr_lt_int32_t[::1] group, int64_t[:, :, ::1] counts):
    """Each fitted object's group (its type's in *tmap*, else its size class's in *smap*,
    else *pooled*; -1 for the snapshot) into *group*, and ``counts[g, lo, hi] += 1``."""
    cdef intp_t n = lo.shape[0], k, t, nm = tmap.shape[0]
    cdef intp_t ng = counts.shape[0], nb = counts.shape[1]
    cdef gr_lt_int32_t g
    if (hi.shape[0] != n or typ.shape[0] != n or sizeclass.shape[0] != n
            or group.shape[0] != n or smap.shape[0] < 256 or counts.shape[2] != nb):
        raise ValueError("assign_groups: columns differ in length")
    with nogil:
        for k in range(n):
            if lo[k] < 0:
                group[k] = -1
                continue
            t = <intp_t>typ[k] + 1
            g = tmap[t] if 0 < t < nm else -1
            if g < 0:
                g = smap[sizeclass[k]]
            if g < 0:
                g = pooled
            group[k] = g
            if 0 <= g < ng and 0 <= lo[k] <= hi[k] < nb:
                counts[g, lo[k], hi[k]] += 1



cdef extern from "stdlib.h" nogil:
    void* malloc(size_t n)
    void* realloc(void* p, size_t n)
    void free(void* p)


def group_deaths(const uint8_t[::1] initial, const uint8_t[::1] allocs,
                 const int64_t[::1] starts, const int64_t[::1] prevs,
                 const int64_t[::1] birth, int64_t[::1] death, intp_t min_cross):
    """The ``death="group"`` rule over deaths already placed (*death*, by the "fit"
    model): objects that die together get one shared death time.

    A run is a maximal stretch of consecutive objects of one type (of one size class
    when Go wrote no type), in allocation order, freed by the sweep of one cycle: other
    types' objects in between (a temporary per node) do not break it. Its *crossers* are
    the members that outlived the mark of the cycle before (born before that cycle's
    start). A run with at least *min_cross* crossers is a batch dropped at once (a
    request's objects, a map or slice dropped whole, a cache generation): it died at one
    time T, the middle of the interval the frees allow all its crossers (from the latest
    of their earliest deaths, the cycle before's start, to their own cycle's start): the
    trace says nothing more of when in it, and the middle is the time "spread" puts
    them at on average. Every member born by T dies at T; those born later keep their
    placed death (a batch cannot hold an object born after it died). Temporaries do not form
    batches: few of them outlive a mark together. Returns the number of batches."""
    cdef intp_t ni = initial.shape[0] // sizeof(alloc_rec)
    cdef intp_t na = allocs.shape[0] // sizeof(alloc_rec)
    cdef intp_t ns = starts.shape[0], n = birth.shape[0], k = 0, j, q, nkeys = 1, key
    cdef intp_t nruns = 0, cap = 0, nbatch = 0
    cdef const alloc_rec* r
    cdef int64_t early, late, t
    cdef int64_t* run_lo = NULL            # per run: the latest crosser interval start
    cdef int64_t* run_hi = NULL            # its cycle's start (the latest death)
    cdef intp_t* run_cross = NULL          # its crossers
    cdef intp_t* key_run = NULL            # per key: its open run (-1: none)
    cdef intp_t* rid = NULL                # per object: its run (-1: never freed)
    cdef void* p
    cdef bint nomem = False
    if initial.shape[0] % sizeof(alloc_rec) or allocs.shape[0] % sizeof(alloc_rec):
        raise ValueError("group_deaths: the inputs are not whole rows")
    if prevs.shape[0] != ns:
        raise ValueError("group_deaths: starts and prevs differ in length")
    if death.shape[0] != n:
        raise ValueError("group_deaths: columns differ in length")
    if min_cross < 1:
        raise ValueError("group_deaths: min_cross must be at least 1")
    with nogil:
        for j in range(ni + na):             # the keys: type ids, then the size classes
            r = row(initial, allocs, ni, j)
            if r.tiny:
                continue
            k += 1
            if r.type + 1 > nkeys:
                nkeys = r.type + 1
    if k != n:
        raise ValueError("group_deaths: the inputs need one row per slot object")
    k = 0
    with nogil:
        key_run = <intp_t*>malloc((nkeys + 256) * sizeof(intp_t))
        rid = <intp_t*>malloc((n if n > 0 else 1) * sizeof(intp_t))
        nomem = key_run == NULL or rid == NULL
        if not nomem:
            for key in range(nkeys + 256):
                key_run[key] = -1
            for j in range(ni + na):         # the runs
                r = row(initial, allocs, ni, j)
                if r.tiny:
                    continue
                if k >= n:
                    break
                rid[k] = -1
                if r.free_time >= 0 and ns:
                    death_interval(r.free_time, birth[k], &starts[0], &prevs[0], ns,
                                   &early, &late)
                    key = r.type if r.type >= 0 else nkeys + r.sizeclass
                    q = key_run[key]
                    if q < 0 or run_hi[q] != late:
                        if nruns == cap:
                            cap = 2 * cap + 1024
                            p = realloc(run_lo, cap * sizeof(int64_t))
                            if p == NULL:
                                nomem = True
                                break
                            run_lo = <int64_t*>p
                            p = realloc(run_hi, cap * sizeof(int64_t))
                            if p == NULL:
                                nomem = True
                                break
                            run_hi = <int64_t*>p
                            p = realloc(run_cross, cap * sizeof(intp_t))
                            if p == NULL:
                                nomem = True
                                break
                            run_cross = <intp_t*>p
                        q = nruns
                        nruns += 1
                        run_lo[q] = -1
                        run_hi[q] = late
                        run_cross[q] = 0
                        key_run[key] = q
                    rid[k] = q
                    if early > birth[k] and early > 0 and early < late:
                        run_cross[q] += 1        # alive at the mark of the cycle before
                        if early > run_lo[q]:
                            run_lo[q] = early
                k += 1
        if not nomem and k == n:
            for q in range(nruns):           # each batch's time; run_lo: T, or -1
                if run_cross[q] >= min_cross:
                    run_lo[q] += (run_hi[q] - run_lo[q]) >> 1
                    nbatch += 1
                else:
                    run_lo[q] = -1
            for j in range(n):
                q = rid[j]
                if q >= 0:
                    t = run_lo[q]
                    if t >= 0 and birth[j] <= t:
                        death[j] = t
        free(run_lo)
        free(run_hi)
        free(run_cross)
        free(key_run)
        free(rid)
    if nomem:
        raise MemoryError("group_deaths: no memory for the runs")
    if k != n:
        raise ValueError("group_deaths: the inputs need one row per slot object")
    return nbatch
