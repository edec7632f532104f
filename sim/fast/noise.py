"""Section-level noise of the fast cohort engine: one random term per section, flow and year, split over cells.

The exact cohort engine (:mod:`sim.cohort`) draws every flow cell by cell: a binomial per (section, grade) or
(section, age band). That costs about a dozen variates per cell and year, several times the whole budget of the
reference workload (``docs/performance.md``). The fast engine keeps the cells but draws each flow once per
section (option 2 of that note; its premise measured by ``benchmarks/noise_experiment.py``):

* :func:`matched_total` — the section total of a flow whose cells are independent binomials: one
  ``Binomial(n*, p*)`` with the mean ``μ`` and variance ``v`` of their sum (``n* = μ² / (μ − v)`` rounded,
  ``p* = μ / n*``), capped by the section's stock. When the cells share one probability (dropout, drift,
  ageing) this is exactly the law of the sum; otherwise it matches its first two moments (the standard
  binomial approximation of a Poisson-binomial sum). Drawn by inversion of one uniform (means up to
  :data:`INVERSION_MAX_MEAN`) or from the normal approximation above (one uniform through
  :func:`normal_quantile`).
* :func:`systematic_split` — the total over the section's cells in proportion to their expected flows by
  systematic sampling (one uniform): each cell gets the floor or the ceiling of its share, the parts add up to
  the total, and each cell's expected part given the total is exactly its share. A cell never gets more than
  its stock (an excess goes to the next cells with room).
* :func:`cell_flows` — both, for every (draw, section) of a ``(D, S, K)`` stock.
* :func:`place_multinomial` — counts per group (county) placed over the group's sections by successive
  conditional binomials: exactly ``Multinomial(n, w / W)`` (up to the normal approximation of large terms).
* :func:`place_systematic` — counts per (group, cell) placed over the group's sections by systematic sampling:
  conserved per group and cell, the expected arrivals exactly ``n · w / W``, the spread at most one unit.

Random numbers: the callers pass uniforms drawn in bulk from the keyed streams (``Streams.uniforms``, block by
block), one or two per term, so that a draw's numbers depend only on the seed, the stream's name and the draw.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

INVERSION_MAX_MEAN = 30.0
"""Totals with a mean ``n* · min(p*, 1 − p*)`` above this are drawn from the normal approximation."""

# Acklam's rational approximation of the standard normal quantile (relative error below 1.15e-9).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
      -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
      -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
      4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
_P_LOW = 0.02425


@njit(cache=True)
def normal_quantile(u: float) -> float:  # pragma: no cover - compiled
    """Standard normal quantile of ``u`` in (0, 1) (Acklam's algorithm); ±37.5 at the ends."""
    if u <= 0.0:
        return -37.5
    if u >= 1.0:
        return 37.5
    if u < _P_LOW:
        q = math.sqrt(-2.0 * math.log(u))
        return (((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
    if u > 1.0 - _P_LOW:
        q = math.sqrt(-2.0 * math.log1p(-u))
        return -(((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5]) / (
            (((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0)
    q = u - 0.5
    r = q * q
    return (((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q / (
        ((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0)


@njit(cache=True)
def binomial_from_uniform(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` from one uniform: inversion up to a mean of :data:`INVERSION_MAX_MEAN`, else the
    normal approximation ``round(np + sqrt(np(1 − p)) · z)`` clipped to ``0 … n``."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    low = p <= 0.5
    q = p if low else 1.0 - p
    if n * q > INVERSION_MAX_MEAN:
        x = math.floor(n * p + math.sqrt(n * p * (1.0 - p)) * normal_quantile(u) + 0.5)
        return int(min(max(x, 0.0), float(n)))
    pk = math.exp(n * math.log1p(-q))  # (1 − q)^n: exp and log1p cost half a power
    cdf = pk
    ratio = q / (1.0 - q)
    k = 0
    while u >= cdf and k < n:
        pk *= (n - k) / (k + 1) * ratio
        k += 1
        cdf += pk
    return k if low else n - k


@njit(cache=True)
def binomial_small_p(u: float, n: int, p: float, log1m_p: float) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` from one uniform, as :func:`binomial_from_uniform`, with ``P(X = 0)`` from
    ``exp(n · log1m_p)`` (``log1m_p = log(1 − p)``, computed once for many ``n``; unused when ``p > 1/2``)
    instead of a power."""
    if n <= 0 or p <= 0.0:
        return 0
    if p > 0.5 or n * p > INVERSION_MAX_MEAN:
        return binomial_from_uniform(u, n, p)
    pk = math.exp(n * log1m_p)
    cdf = pk
    ratio = p / (1.0 - p)
    k = 0
    while u >= cdf and k < n:
        pk *= (n - k) / (k + 1) * ratio
        k += 1
        cdf += pk
    return k


@njit(cache=True)
def matched_total(u: float, mean: float, var: float, cap: int) -> int:  # pragma: no cover - compiled
    """A section total with mean ``mean`` and variance ``var`` (those of a sum of binomials), at most ``cap``.

    ``Binomial(n*, p*)`` with ``n* = round(mean² / (mean − var))`` (``cap`` when ``var`` is within rounding of
    ``mean``, i.e. rare events), kept in ``ceil(mean) … cap``, and ``p* = mean / n*``.
    """
    if cap <= 0 or mean <= 0.0:
        return 0
    if mean >= cap:
        return cap
    gap = mean - var
    if gap <= mean * 1e-12:
        n = cap
    else:
        n = int(min(mean * mean / gap + 0.5, float(cap)))
        lowest = math.ceil(mean)
        if n < lowest:
            n = lowest
    return binomial_from_uniform(u, n, mean / n)


@njit(cache=True)
def systematic_split(total: int, weights: Any, cap: Any, u: float, out: Any) -> None:  # pragma: no cover
    """``total`` units over the cells in proportion to ``weights`` by systematic sampling with offset ``u``.

    The points ``(u + j) · W / total`` (``j = 0 … total − 1``) fall in the cells' intervals of the running sum of
    the weights; cell ``i`` gets the points in its interval. With no weight the units go to the cells in
    proportion to ``cap``. Parts above ``cap`` give their excess to the next cells with room (then the
    earlier ones); ``total`` must not exceed the sum of ``cap``.
    """
    k = weights.shape[0]
    for i in range(k):
        out[i] = 0
    if total <= 0:
        return
    w_sum = 0.0
    for i in range(k):
        w_sum += weights[i]
    use_cap = w_sum <= 0.0
    if use_cap:
        for i in range(k):
            w_sum += cap[i]
        if w_sum <= 0.0:
            return
    scale = total / w_sum
    run = 0.0
    before = 0
    for i in range(k):
        run += (cap[i] if use_cap else weights[i]) * scale
        upto = math.ceil(run - u) if i < k - 1 else total
        upto = min(max(upto, before), total)
        out[i] = upto - before
        before = upto
    excess = 0
    for i in range(k):
        if out[i] > cap[i]:
            excess += out[i] - cap[i]
            out[i] = cap[i]
    i = 0
    while excess > 0 and i < 2 * k:
        j = i % k
        room = cap[j] - out[j]
        if room > 0:
            moved = min(room, excess)
            out[j] += moved
            excess -= moved
        i += 1


@njit(cache=True)
def _cell_flows(stock: Any, prob: Any, u: Any, out: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n, k_n = stock.shape
    weights = np.empty(k_n)
    cap = np.empty(k_n, np.int64)
    part = np.empty(k_n, np.int64)
    for d in range(d_n):
        for s in range(s_n):
            mean = 0.0
            var = 0.0
            n = 0
            for k in range(k_n):
                c = stock[d, s, k]
                p = prob[d, s, k]
                cap[k] = c
                weights[k] = c * p
                mean += c * p
                var += c * p * (1.0 - p)
                n += c
            if mean <= 0.0:
                for k in range(k_n):
                    out[d, s, k] = 0
                continue
            total = matched_total(u[d, s, 0], mean, var, n)
            systematic_split(total, weights, cap, u[d, s, 1], part)
            for k in range(k_n):
                out[d, s, k] = part[k]


IntArray = npt.NDArray[np.int64]


def cell_flows(stock: npt.ArrayLike, prob: npt.ArrayLike, u: npt.ArrayLike) -> IntArray:
    """Flows out of every cell of a ``(D, S, K)`` stock with probabilities ``prob`` (broadcast to its shape),
    one section total each (:func:`matched_total`, uniform ``u[d, s, 0]``) split by :func:`systematic_split`
    (``u[d, s, 1]``). ``0 ≤ flow ≤ stock``; the expected flow of a cell is ``stock · prob`` when the section's
    cells share one probability, and the section total's mean and variance are those of the cells' binomials.
    """
    n = np.ascontiguousarray(stock, dtype=np.int64)
    if n.ndim != 3:
        raise ValueError(f"stock must be (draws, sections, cells), got shape {n.shape}")
    p = np.broadcast_to(np.asarray(prob, dtype=np.float64), n.shape)
    if p.size and not (p.min() >= 0.0 and p.max() <= 1.0):
        raise ValueError(f"probabilities must be in [0, 1], got [{p.min()}, {p.max()}]")
    uu = np.asarray(u, dtype=np.float64)
    if uu.shape != (*n.shape[:2], 2):
        raise ValueError(f"uniforms must have shape {(*n.shape[:2], 2)}, got {uu.shape}")
    out = np.empty(n.shape, dtype=np.int64)
    _cell_flows(n, p, uu, out)
    return out


@njit(cache=True)
def _place_multinomial(n: Any, weights: Any, members: Any, start: Any, size: Any, u: Any,
                       out: Any) -> None:  # pragma: no cover - compiled
    d_n, g_n = n.shape
    for d in range(d_n):
        for g in range(g_n):
            left = n[d, g]
            k = size[g]
            w_left = 0.0
            for j in range(k):
                w_left += weights[d, members[start[g] + j]]
            for j in range(k):
                s = members[start[g] + j]
                if left <= 0 or w_left <= 0.0:
                    out[d, s] = 0
                    continue
                w = weights[d, s]
                if j == k - 1 or w >= w_left:
                    x = left
                else:
                    x = binomial_from_uniform(u[d, s], left, w / w_left)
                out[d, s] = x
                left -= x
                w_left -= w


def place_multinomial(n_by_group: npt.ArrayLike, weights: npt.ArrayLike, members: IntArray, start: IntArray,
                      size: IntArray, u: npt.ArrayLike) -> IntArray:
    """``(D, G)`` counts placed over each group's sections (``members[start[g]:start[g]+size[g]]``, see
    :func:`sim.mechanisms.students.group_members`) in proportion to ``weights`` ``(D, S)``: successive
    ``Binomial(left, w_j / W_left)``, one uniform ``u[d, s]`` per section. Sections outside every group get 0.
    A group with a positive count must have a positive weight (the caller decides what happens otherwise)."""
    counts = np.ascontiguousarray(n_by_group, dtype=np.int64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    out = np.zeros(w.shape, dtype=np.int64)
    _place_multinomial(counts, w, members, start, size, np.asarray(u, dtype=np.float64), out)
    return out


@njit(cache=True)
def _place_systematic(pool: Any, weights: Any, members: Any, start: Any, size: Any, u: Any,
                      out: Any) -> None:  # pragma: no cover - compiled
    d_n, g_n, k_n = pool.shape
    for d in range(d_n):
        for g in range(g_n):
            for c in range(k_n):
                n = pool[d, g, c]
                if n <= 0:
                    continue
                w_sum = 0.0
                for j in range(size[g]):
                    w_sum += weights[d, members[start[g] + j], c]
                if w_sum <= 0.0:
                    continue
                scale = n / w_sum
                run = 0.0
                before = 0
                for j in range(size[g]):
                    s = members[start[g] + j]
                    run += weights[d, s, c] * scale
                    upto = math.ceil(run - u[d, g, c]) if j < size[g] - 1 else n
                    upto = min(max(upto, before), n)
                    out[d, s, c] += upto - before
                    before = upto


def place_systematic(pool: npt.ArrayLike, weights: npt.ArrayLike, members: IntArray, start: IntArray,
                     size: IntArray, u: npt.ArrayLike) -> IntArray:
    """``(D, G, K)`` counts placed over each group's sections in proportion to ``weights`` ``(D, S, K)`` by
    systematic sampling (offset ``u[d, g, k]``): exactly conserved per (draw, group, cell), each section's
    expected arrivals ``n · w / W``. A (draw, group, cell) without weight places nothing (the caller keeps
    those units)."""
    counts = np.ascontiguousarray(pool, dtype=np.int64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    if counts.ndim != 3 or w.ndim != 3 or w.shape[0] != counts.shape[0] or w.shape[2] != counts.shape[2]:
        raise ValueError(f"pool (D, G, K) and weights (D, S, K) do not match: {counts.shape}, {w.shape}")
    out = np.zeros(w.shape, dtype=np.int64)
    _place_systematic(counts, w, members, start, size, np.asarray(u, dtype=np.float64), out)
    return out


def uniforms(r: Any, name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Uniforms ``(D, *shape)`` of the fast engine's stream ``fast.NAME/YEAR`` for the chunk of ``r`` (a
    :class:`sim.cohort._Random`), drawn block by block: a draw's numbers depend on the seed, the name, the year
    and the draw only."""
    return r.streams.uniforms(f"fast.{name}/{r.year}", r.start, r.stop, shape)


@njit(cache=True)
def hypergeometric_from_uniform(u: float, good: int, total: int, sample: int) -> int:  # pragma: no cover
    """Members of a category (``good`` of ``total``) among ``sample`` taken without replacement, from one
    uniform: ``Hypergeometric(good, total − good, sample)``.

    Reduced by symmetry to a count with mean at most ``sample · good / total`` and support starting at 0 (the
    ``total − sample`` not taken when ``sample > total / 2``; the other category when ``good`` is the larger),
    then drawn by inversion (the probability of 0 as a product, the others by the ratio of successive terms)
    when that mean is at most :data:`INVERSION_MAX_MEAN`; above it, :func:`matched_total` with the
    hypergeometric mean and variance (the normal approximation), shifted to the support.
    """
    if sample <= 0 or good <= 0:
        return 0
    if good >= total:
        return sample
    if sample >= total:
        return good
    k = sample
    flip_sample = 2 * k > total
    if flip_sample:
        k = total - k
    a = good
    other = total - good
    flip_role = other < a
    if flip_role:
        a, other = other, a
    # now a ≤ other, k ≤ total / 2 ≤ other: X ~ Hypergeometric(a, other, k) starts at 0
    mean = k * a / total
    if mean > INVERSION_MAX_MEAN:
        var = mean * (other / total) * (total - k) / (total - 1.0)
        x = matched_total(u, mean, var, min(a, k))
    else:
        p = 1.0
        for i in range(k):
            p *= (other - i) / (total - i)
        cdf = p
        x = 0
        hi = min(a, k)
        while u >= cdf and x < hi:
            p *= (a - x) * (k - x) / ((x + 1.0) * (other - k + x + 1.0))
            x += 1
            cdf += p
    if flip_role:
        x = k - x
    if flip_sample:
        x = good - x
    return x
