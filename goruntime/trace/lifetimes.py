"""Object lifetimes estimated from a trace's frees: the ``death="fit"`` model.

A Go trace reports an object's free when the sweeper reclaims it, after the cycle whose
mark found it dead. Go's mark is a snapshot at the cycle's start (the hybrid write
barrier): an object reachable then is marked. So an object born at ``a`` and freed after
the start ``s_i`` of cycle i (the last cycle begun before the free) died before ``s_i``;
the cycle before still marked it, so it died after ``s_{i-1}`` (or after its birth,
when it was born later). Its lifetime is interval-censored: in
``[max(0, s_{i-1} - a), s_i - a]``. An object never freed in the trace outlived the
mark of the last-but-one cycle (the sweep of a cycle ends before the next one starts):
its lifetime is right-censored at ``max(0, s_{n-2} - a)``.

Objects born at different offsets before a mark carry information about the lifetime
distribution: if most objects born just before a mark are freed by its sweep, lifetimes
are short. `fit_lifetimes` computes the nonparametric maximum-likelihood estimate of that
distribution (Turnbull's self-consistency / EM iteration) on a fixed grid of lifetime
bins (0, then geometric from 64 ns, the trace's clock resolution, to the trace's length,
and one bin for "outlives the trace"), for each type id with enough objects, then each
size class of the rest, then the pooled remainder. Within a bin the mass is taken as
uniform; where the data cannot tell (a region every interval covers whole) the start's
equal mass per bin stays: equal mass per geometric bin, i.e. log-uniform.

`fit_deaths` then places each freed object's death at a deterministic point of its
conditional lifetime distribution given its interval: the quantile at the fraction
``(k * golden ratio) mod 1`` of object row k, the same low-discrepancy fraction
``death="spread"`` uses for a uniform placement. When the fitted distribution has no mass
in an object's interval, and for snapshot objects (born before the trace: age unknown),
the placement is "spread"'s. All numpy over arrays: loops are over EM iterations and
groups, never over objects. Deterministic: the same trace gives the same deaths
everywhere (a Dask worker too).
"""
from __future__ import annotations

import numpy as np

__all__ = ["fit_lifetimes", "fit_deaths", "group_deaths", "Lifetimes", "GOLDEN"]

GOLDEN = 0.6180339887498949          # _parse.GOLDEN: "spread"'s fraction
GRID_START_NS = 64                   # the trace clock's resolution
GRID_PER_DECADE = 16
MIN_GROUP = 2000                     # objects a type or size class needs for its own fit
MIN_CROSS = 64                       # crossers a run needs to count as a batch (group_deaths)
MAX_ITER = 2000
TOL = 1e-9


class Lifetimes:
    """A fitted lifetime distribution per group: ``edges`` (ns, M + 1 finite bin edges,
    ``edges[0] == 0``), ``cdf`` (groups x (M + 1): P(lifetime <= edge); the mass above
    ``cdf[:, -1]`` outlives the trace), ``group`` (each slot object's group, -1 for the
    snapshot), ``names`` (each group's label: ``("type", id)``, ``("sizeclass", c)`` or
    ``("pooled",)``) and ``counts`` (objects fitted per group)."""

    def __init__(self, edges, cdf, group, names, counts, iterations):
        self.edges, self.cdf, self.group = edges, cdf, group
        self.names, self.counts, self.iterations = names, counts, iterations

    def quantile(self, g, q):
        """Lifetime (ns) at probability *q* in group *g* (within the finite grid)."""
        return float(np.interp(q, self.cdf[g], self.edges))

    def mean_below(self, g, t):
        """Mean lifetime of group *g*'s objects that die within *t* ns."""
        e, c = self.edges, self.cdf[g]
        x = np.linspace(0, t, 4097)
        f = np.interp(x, e, c)
        if f[-1] <= 0:
            return 0.0
        return float(np.trapezoid(f[-1] - f, x) / f[-1])


def _rows(tr):
    """The trace's rows as the kernels read them (ALLOC_DTYPE rows as bytes)."""
    from ._lifetimes import ALLOC_REC_SIZE
    from .reader import ALLOC_DTYPE
    if ALLOC_DTYPE.itemsize != ALLOC_REC_SIZE:          # the kernel's row is the dtype's
        raise RuntimeError("goruntime.trace._lifetimes: stale build (row size differs)")
    return (np.ascontiguousarray(tr.initial).view(np.uint8).ravel(),
            np.ascontiguousarray(tr.allocs).view(np.uint8).ravel())


def _n_slot(tr):
    return (len(tr.initial) - int(np.count_nonzero(tr.initial["tiny"]))
            + len(tr.allocs) - int(np.count_nonzero(tr.allocs["tiny"])))


def _groups(lo, hi, typ, sc, ntypes, nbins, min_group):
    """Each object's fit group and the counts of its (group, lo bin, hi bin): its type id
    when that type has *min_group* fitted objects, else its size class when the rest of
    that class has, else one pooled group (three typed passes, ``_lifetimes``).
    Returns (group per object, -1 for the snapshot; counts; names)."""
    from ._lifetimes import group_counts, assign_groups
    tc = np.zeros(ntypes + 1, np.int64)
    sc_count = np.zeros(256, np.int64)
    none = np.zeros(0, np.int32)
    group_counts(lo, typ, sc, none, tc, sc_count)
    big_t = np.flatnonzero(tc >= min_group)
    tmap = np.full(ntypes + 1, -1, np.int32)
    tmap[big_t] = np.arange(len(big_t))
    names = [("type", int(i) - 1) for i in big_t]
    group_counts(lo, typ, sc, tmap, tc, sc_count)
    big_s = np.flatnonzero(sc_count >= min_group)
    smap = np.full(256, -1, np.int32)
    smap[big_s] = len(names) + np.arange(len(big_s))
    names += [("sizeclass", int(i)) for i in big_s]
    rest = int(sc_count.sum()) - int(sc_count[big_s].sum())
    pooled = len(names)
    names.append(("pooled",))               # kept even when empty: one row, no mass
    group = np.empty(len(lo), np.int32)
    counts = np.zeros((len(names), nbins, nbins), np.int64)
    assign_groups(lo, hi, typ, sc, tmap, smap, pooled, group, counts)
    if rest == 0 and len(names) > 1:          # no pooled object: drop its row
        names.pop()
        counts = counts[:-1]
    return group, counts, names


def _grid(span):
    """Finite lifetime bin edges: 0, then geometric from GRID_START_NS past *span*."""
    top = max(float(span), GRID_START_NS * 2.0)
    k = int(np.ceil(np.log10(top / GRID_START_NS) * GRID_PER_DECADE)) + 1
    geo = GRID_START_NS * 10.0 ** (np.arange(k + 1) / GRID_PER_DECADE)
    return np.concatenate([[0.0], geo])


def npmle(counts, max_iter=MAX_ITER, tol=TOL):
    """Turnbull's NPMLE on a grid, for many groups at once. *counts* (groups x bins x
    bins): how many objects of each group have their lifetime in bins ``lo..hi``
    (``counts[g, lo, hi]``). Returns the bin masses (groups x bins) and the iterations
    run; an iteration costs O(distinct (group, lo, hi) + bins)."""
    ngroups, nbins = counts.shape[0], counts.shape[1]
    nb1 = nbins + 1
    g, lo_u, hi_u = np.nonzero(counts)
    w = counts[g, lo_u, hi_u].astype(np.float64)
    tot = np.bincount(g, weights=w, minlength=ngroups)
    p = np.full((ngroups, nbins), 1.0 / nbins)
    it = 0
    while it < max_iter:
        it += 1
        c = np.zeros((ngroups, nb1))
        np.cumsum(p, axis=1, out=c[:, 1:])
        d = c[g, hi_u + 1] - c[g, lo_u]
        r = np.divide(w, d, out=np.zeros_like(w), where=d > 0)
        acc = np.bincount(g * nb1 + lo_u, weights=r, minlength=ngroups * nb1)
        acc -= np.bincount(g * nb1 + hi_u + 1, weights=r, minlength=ngroups * nb1)
        coef = np.cumsum(acc.reshape(ngroups, nb1)[:, :nbins], axis=1)
        new = p * coef / np.maximum(tot, 1.0)[:, None]
        done = np.abs(new - p).max() < tol
        p = new
        if done:
            break
    return p, it


def fit_lifetimes(tr, min_group=MIN_GROUP):
    """The fitted lifetime distributions of trace *tr* (`Lifetimes`), from the recorded
    frees and cycle starts (the module docstring)."""
    from .simulate import _cycle_times
    from ._lifetimes import censored_lifetimes
    initial, allocs = _rows(tr)
    starts = np.ascontiguousarray(_cycle_times(tr)[0], dtype=np.int64)
    n = _n_slot(tr)
    span = 1 + max(int(tr.allocs["time"].max(initial=0)),
                   int(tr.allocs["free_time"].max(initial=0)),
                   int(tr.initial["free_time"].max(initial=0)), int(starts.max(initial=0)))
    edges = _grid(span)
    m = len(edges) - 1                       # finite bins; bin m: outlives the trace
    lo, hi, typ = (np.empty(n, np.int32) for _ in range(3))
    sc = np.empty(n, np.uint8)
    censored_lifetimes(initial, allocs, starts, edges, lo, hi, typ, sc)
    # lo < 0: the snapshot, whose ages are unknown (not fitted)
    group, counts, names = _groups(lo, hi, typ, sc, int(typ.max(initial=-1)) + 1, m + 1,
                                   min_group)
    ng = len(names)
    p, it = npmle(counts)
    cdf = np.zeros((ng, m + 1))
    np.cumsum(p[:, :m], axis=1, out=cdf[:, 1:])
    return Lifetimes(edges, cdf, group, names, counts.sum(axis=(1, 2)), it)


def fit_deaths(tr, cycles="pacer", lifetimes=None):
    """``(birth, death)`` of every slot object of *tr* (the order of
    ``_parse.object_columns``; birth -1: the snapshot, death -1: never) under
    ``death="fit"``: each freed object's death at the golden-fraction quantile of its
    fitted lifetime distribution given its interval, clamped to the interval the frees
    allow under *cycles* ("recorded": after the end of the cycle before)."""
    from .simulate import _cycle_times
    from ._lifetimes import place_fitted
    lt = lifetimes if lifetimes is not None else fit_lifetimes(tr)
    starts, ends = _cycle_times(tr)
    prevs = ends + 1 if cycles == "recorded" else starts
    initial, allocs = _rows(tr)
    n = len(lt.group)
    birth = np.empty(n, np.int64)
    death = np.empty(n, np.int64)
    place_fitted(initial, allocs, np.ascontiguousarray(starts, dtype=np.int64),
                 np.ascontiguousarray(prevs, dtype=np.int64), lt.group, lt.edges,
                 np.ascontiguousarray(lt.cdf), birth, death)
    return birth, death


def group_deaths(tr, cycles="pacer", lifetimes=None, min_cross=MIN_CROSS):
    """``(birth, death)`` as `fit_deaths`, under ``death="group"``: the fitted deaths,
    except that objects which die together share one death time. A run of consecutive
    allocations of one type (in allocation order, other types' objects in between left
    out) freed by one cycle's sweep, at least *min_cross* of which outlived the
    mark of the cycle before (a map, a request's tree, a cache generation dropped at
    once), is one batch: its members born by a shared time T, the middle of the
    interval the frees allow all its crossers, die at T (``_lifetimes.group_deaths``:
    a typed pass over the rows and one over the runs). Deterministic as the fit."""
    from .simulate import _cycle_times
    from ._lifetimes import group_deaths as group_pass
    birth, death = fit_deaths(tr, cycles, lifetimes)
    starts, ends = _cycle_times(tr)
    prevs = ends + 1 if cycles == "recorded" else starts
    initial, allocs = _rows(tr)
    group_pass(initial, allocs, np.ascontiguousarray(starts, dtype=np.int64),
               np.ascontiguousarray(prevs, dtype=np.int64), birth, death, int(min_cross))
    return birth, death
