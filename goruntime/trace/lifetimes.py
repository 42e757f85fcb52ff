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

__all__ = ["fit_lifetimes", "fit_deaths", "Lifetimes", "GOLDEN"]

GOLDEN = 0.6180339887498949          # _parse.GOLDEN: "spread"'s fraction
GRID_START_NS = 64                   # the trace clock's resolution
GRID_PER_DECADE = 16
MIN_GROUP = 2000                     # objects a type or size class needs for its own fit
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


def _slot_rows(tr):
    """Birth (-1: snapshot), recorded free (-1: none), type id and size class of every
    slot object (tiny sub-allocations left out), in the order of
    ``_parse.object_columns``; and how many come from the snapshot."""
    mi, ma = ~tr.initial["tiny"], ~tr.allocs["tiny"]
    n_init = int(np.count_nonzero(mi))
    birth = np.concatenate([np.full(n_init, -1, np.int64),
                            tr.allocs["time"][ma].astype(np.int64)])
    free = np.concatenate([tr.initial["free_time"][mi], tr.allocs["free_time"][ma]]).astype(
        np.int64)
    typ = np.concatenate([tr.initial["type"][mi], tr.allocs["type"][ma]]).astype(np.int64)
    sc = np.concatenate([tr.initial["sizeclass"][mi], tr.allocs["sizeclass"][ma]]).astype(
        np.int64)
    return birth, free, typ, sc, n_init


def _bounds(birth, free, starts, prevs):
    """(earliest, latest) death time of each freed object, as ``_parse.place_death``
    computes them: latest the start of the last cycle begun before its free, earliest
    ``prevs`` of the cycle before; neither before its birth."""
    ns = len(starts)
    i = np.searchsorted(starts, free, side="left") - 1
    at = np.where(i >= 0, starts[np.clip(i, 0, max(ns - 1, 0))] if ns else -1, -1)
    latest = np.maximum(at, birth)
    prev = np.where(i >= 1, prevs[np.clip(i - 1, 0, max(ns - 1, 0))] if ns else -1, -1)
    earliest = np.minimum(np.maximum(prev, birth), latest)
    return earliest, latest


def _groups(typ, sc, fitted, min_group):
    """Each object's fit group: its type id when that type has *min_group* fitted
    objects, else its size class when the rest of that class has, else one pooled
    group. Returns (group per object, -1 where not *fitted*; names)."""
    n = len(typ)
    group = np.full(n, -1, np.int64)
    names = []
    t_ids, t_inv, t_cnt = np.unique(np.where(fitted, typ, -2), return_inverse=True,
                                    return_counts=True)
    big_t = (t_cnt >= min_group) & (t_ids >= 0)
    tmap = np.full(len(t_ids), -1, np.int64)
    tmap[big_t] = np.arange(int(big_t.sum()))
    names += [("type", int(t)) for t in t_ids[big_t]]
    group = np.where(fitted, tmap[t_inv.ravel()], -1)
    rest = fitted & (group < 0)
    s_ids, s_inv, s_cnt = np.unique(np.where(rest, sc, -1), return_inverse=True,
                                    return_counts=True)
    big_s = (s_cnt >= min_group) & (s_ids >= 0)
    smap = np.full(len(s_ids), -1, np.int64)
    smap[big_s] = len(names) + np.arange(int(big_s.sum()))
    names += [("sizeclass", int(s)) for s in s_ids[big_s]]
    group = np.where(rest, smap[s_inv.ravel()], group)
    pooled = fitted & (group < 0)
    if pooled.any() or not names:
        group[pooled] = len(names)
        names.append(("pooled",))
    return group, names


def _grid(span):
    """Finite lifetime bin edges: 0, then geometric from GRID_START_NS past *span*."""
    top = max(float(span), GRID_START_NS * 2.0)
    k = int(np.ceil(np.log10(top / GRID_START_NS) * GRID_PER_DECADE)) + 1
    geo = GRID_START_NS * 10.0 ** (np.arange(k + 1) / GRID_PER_DECADE)
    return np.concatenate([[0.0], geo])


def npmle(group, lo, hi, ngroups, nbins, max_iter=MAX_ITER, tol=TOL):
    """Turnbull's NPMLE on a grid, for *ngroups* groups at once: each observation puts
    its object's lifetime in bins ``lo..hi`` (inclusive) of *nbins*. Returns the bin
    masses (ngroups x nbins) and the iterations run. The observations are first reduced
    to distinct (group, lo, hi) with counts, so an iteration costs O(distinct + bins)."""
    nb1 = nbins + 1
    code = (group * nbins + lo) * nbins + hi
    u, w = np.unique(code, return_counts=True)
    g = u // (nbins * nbins)
    lo_u = (u // nbins) % nbins
    hi_u = u % nbins
    w = w.astype(np.float64)
    tot = np.bincount(g, weights=w, minlength=ngroups)
    p = np.full((ngroups, nbins), 1.0 / nbins)
    it = 0
    for it in range(1, max_iter + 1):
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
    birth, free, typ, sc, n_init = _slot_rows(tr)
    starts, _ = _cycle_times(tr)
    return _fit(birth, free, typ, sc, starts, min_group)


def _fit(birth, free, typ, sc, starts, min_group):
    ns = len(starts)
    born = birth >= 0                         # the snapshot's ages are unknown
    freed = free >= 0
    early, late = _bounds(birth, free, starts, starts)
    low = np.where(freed, early - birth, 0)
    if ns >= 2:                              # never freed: outlived the last-but-one mark
        low = np.where(freed, low, np.maximum(starts[ns - 2] - birth, 0))
    span = max(int(birth.max(initial=0)), int(free.max(initial=0)),
               int(starts.max(initial=0))) + 1
    edges = _grid(span)
    m = len(edges) - 1                       # finite bins; bin m: outlives the trace
    nbins = m + 1
    group, names = _groups(typ, sc, born, min_group)
    fit = born
    lo = np.searchsorted(edges, low[fit], side="right") - 1
    hi = np.where(freed[fit],
                  np.searchsorted(edges, (late - birth)[fit], side="left") - 1, m)
    hi = np.maximum(hi, 0)
    lo = np.minimum(np.clip(lo, 0, m), hi)
    gf = group[fit]
    ng = len(names)
    p, it = npmle(gf, lo, hi, ng, nbins)
    cdf = np.zeros((ng, m + 1))
    np.cumsum(p[:, :m], axis=1, out=cdf[:, 1:])
    counts = np.bincount(gf, minlength=ng)
    return Lifetimes(edges, cdf, group, names, counts, it)


def _golden(n):
    frac = np.arange(n, dtype=np.float64) * GOLDEN
    frac -= np.floor(frac)                    # as _parse.place_death: k * GOLDEN mod 1
    return frac


def fit_deaths(tr, cycles="pacer", lifetimes=None):
    """``(birth, death)`` of every slot object of *tr* (the order of
    ``_parse.object_columns``; death -1: never) under ``death="fit"``: each freed
    object's death at the golden-fraction quantile of its fitted lifetime distribution
    given its interval, clamped to the interval the frees allow under *cycles*
    ("recorded": after the end of the cycle before)."""
    from .simulate import _cycle_times
    birth, free, typ, sc, n_init = _slot_rows(tr)
    starts, ends = _cycle_times(tr)
    lt = lifetimes if lifetimes is not None else _fit(birth, free, typ, sc, starts,
                                                     MIN_GROUP)
    prevs = ends + 1 if cycles == "recorded" else starts
    return birth, place(lt, birth, free, starts, prevs)


def place(lt, birth, free, starts, prevs):
    """The death times of `fit_deaths` for fitted distributions *lt*."""
    n = len(birth)
    freed = free >= 0
    early, late = _bounds(birth, free, starts, prevs)
    u = _golden(n)
    span = late - early
    spread = early + (span.astype(np.float64) * u).astype(np.int64)
    # never before the birth, nor before time 0: a snapshot object (born at -1) freed by
    # the first cycle dies, where -1 would mean "never" to the replay
    spread = np.maximum(spread, np.maximum(birth, 0))
    dt = np.where(freed, spread, -1)
    idx = np.flatnonzero(freed & (lt.group >= 0))
    if not len(idx):
        return dt
    g = lt.group[idx]
    b = birth[idx]
    e = lt.edges
    m = len(e) - 1
    cdf = lt.cdf
    lo_t = (early[idx] - b).astype(np.float64)
    hi_t = (late[idx] - b).astype(np.float64)

    def cdf_at(x):
        j = np.clip(np.searchsorted(e, x, side="right") - 1, 0, m - 1)
        f0, f1 = cdf[g, j], cdf[g, j + 1]
        return f0 + (f1 - f0) * np.clip((x - e[j]) / (e[j + 1] - e[j]), 0.0, 1.0)

    fl, fh = cdf_at(lo_t), cdf_at(hi_t)
    target = fl + u[idx] * (fh - fl)
    # invert the CDF row by row at once: rows offset by 2 * group are one ascending array
    flat = (cdf + 2.0 * np.arange(len(cdf))[:, None]).ravel()
    pos = np.searchsorted(flat, target + 2.0 * g, side="right") - 1
    j = np.clip(pos - g * (m + 1), 0, m - 1)
    f0, f1 = cdf[g, j], cdf[g, j + 1]
    df = f1 - f0
    x = e[j] + np.divide((target - f0) * (e[j + 1] - e[j]), df, out=np.zeros_like(df),
                         where=df > 0)
    x = np.clip(x, lo_t, hi_t)
    fitted = b + x.astype(np.int64)
    ok = fh - fl > 1e-12                      # mass in the interval: else "spread"'s
    d = np.where(ok, fitted, spread[idx])
    dt[idx] = np.clip(d, early[idx], late[idx])
    return dt
