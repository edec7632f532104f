"""Compiled (numba) sampling kernels of the cohort engine: hypergeometric draws and group splitting.

The cohort engine draws millions of small hypergeometric and multinomial variates a year over
``(draws, sections, …)`` arrays. Done with numpy's vectorised calls, most of the time went to masks, gathers
and scatters around them, and to numpy's per-cell set-up. These kernels loop over the cells in compiled code
and draw from the ``numpy.random.Generator`` passed in (numba shares the generator's state: the numbers
continue the generator's stream, and numpy calls on it afterwards continue from where the kernel stopped).

Laws (exact, up to the floating-point rounding of probabilities, as in numpy):

* :func:`binomial` — ``Binomial(n, p)`` by inversion (algorithm BINV, Kachitvichyanukul & Schmeiser 1988,
  the one numpy uses for small means): one uniform ``u`` per cell, ``X`` the smallest ``k`` with
  ``u < P(X ≤ k)``, the probabilities built from ``P(X = 0) = (1 − p)^n`` (repeated squaring) by
  ``P(X = k + 1) = P(X = k) · (n − k)/(k + 1) · p/(1 − p)`` — no logarithm or exponential per cell, unlike
  numpy's per-cell set-up. ``p > 1/2`` is drawn as ``n − Binomial(n, 1 − p)``; cells with
  ``n · min(p, 1 − p) > 30`` are inverted from the mode (:func:`_binomial_at`). Every cell uses one uniform,
  whatever its count (also ``n = 0``, ``p = 0`` or ``p = 1``), so that a cell's number is fixed by its place and
  a count that changes with a lever moves no other cell's number (issue 16 item 5): the count is the quantile
  of a fixed uniform, monotone in ``n`` and ``p``. (Before 2026-12-06 such cells used no number, and cells
  with a larger mean numpy's BTPE, which uses a variable number of them.)

* :func:`hypergeometric` — ``Hypergeometric(good, bad, sample)`` by drawing the ``min(sample, total − sample)``
  individuals one at a time without replacement (the method numpy uses below 10 draws,
  ``hypergeometric_sample``); each pick is good with probability ``good_left / total_left``, decided by
  ``u · total_left < good_left`` with ``u`` a 53-bit uniform.
* :func:`split_sorted` — a count per (row, group) split among the group's consecutive sections by halving
  the group again and again: ``Binomial(n, W_left / W)`` with replacement (exactly multinomial by the splitting
  property) or ``Hypergeometric(W_left, W_right, n)`` from integer pools without replacement (exactly
  multivariate hypergeometric). With replacement, a node with few units for its sections (at most
  :data:`_UNIT_BY_UNIT` per section) places them one at a time instead, each in section ``j`` with probability
  ``w_j / W`` (a uniform and a binary search in the running sums): the same multinomial law.
* :func:`promote_cells`, :func:`allocate_groups`, :func:`drift_counties` — fused passes of
  :mod:`sim.mechanisms.students` (promotion with dropout; multinomial placement within groups; rural →
  town/urban drift): the binomials above (with per-draw tables of ``(1 − q)^n`` where one probability serves
  a whole draw, :func:`_tabled_inverse`) and the splitting tree of :func:`split_sorted`, without the
  ``(D, S, 9)`` temporaries, gathers and scatters of the numpy versions.

Draws are written out in the kernels' bodies (``rng.random()`` there, handed to helpers that take the uniform:
:func:`_binomial_inverse`, :func:`_tabled_inverse`, :func:`_section_at`, :func:`_guided_section`): in numba, a
call of a helper that takes the generator costs more than the draw itself (reference counting of the generator
on every call), so the helpers that take it (:func:`_binomial_one` for numpy's BTPE, :func:`_split_rows` once
per tree) are called only where a cell needs them.

Order of the random numbers: rows (draws first) in order, and inside a row its cells or groups in order, so
the numbers of the first ``k`` rows never depend on the rows after them (:mod:`sim.rng`: a draw's numbers do
not depend on the number of draws or the chunking).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

IntArray = npt.NDArray[np.int64]

_STACK = 256
"""Depth-first stack of the splitting tree: at most ``2 · ceil(log2 S) + 1`` entries are ever held."""


BINOMIAL_GEOMETRIC_MAX_MEAN = 30.0
"""Above this mean ``n · min(p, 1 − p)`` a cell is drawn by ``Generator.binomial`` (numpy switches to BTPE there)."""


@njit(cache=True)
def _binomial_one(rng: Any, n: int, p: float) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)``: inversion for a mean ``n · min(p, 1 − p)`` up to 30, numpy's BTPE above."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    low = p <= 0.5
    q = p if low else 1.0 - p
    if n * q > BINOMIAL_GEOMETRIC_MAX_MEAN:
        return rng.binomial(n, p)
    return _binomial_inverse(rng.random(), n, p)


@njit(cache=True)
def _by_inversion(n: int, p: float) -> bool:  # pragma: no cover - compiled
    """Whether :func:`_binomial_one` draws ``Binomial(n, p)`` by inversion (one uniform): ``n > 0``,
    ``0 < p < 1`` and a mean ``n · min(p, 1 − p)`` up to 30. Kernels write ``_binomial_inverse(rng.random(), n,
    p) if _by_inversion(n, p) else _binomial_one(rng, n, p)``: the same numbers as :func:`_binomial_one`,
    without a call taking the generator for most cells (a helper taking the generator costs more than the
    draw, for reference counting)."""
    return n > 0 and 0.0 < p < 1.0 and n * min(p, 1.0 - p) <= BINOMIAL_GEOMETRIC_MAX_MEAN


@njit(cache=True)
def _binomial_inverse(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` from the uniform ``u`` by inversion (where :func:`_by_inversion` holds)."""
    low = p <= 0.5
    q = p if low else 1.0 - p
    # the smallest k with u < P(X ≤ k), P(X = 0) = (1 − q)^n by repeated squaring
    pk = (1.0 - q) ** n
    cdf = pk
    ratio = q / (1.0 - q)
    successes = 0
    while u >= cdf and successes < n:
        pk *= (n - successes) / (successes + 1) * ratio
        successes += 1
        cdf += pk
    return successes if low else n - successes


@njit(cache=True)
def _binomial_at(u: float, n: int, p: float) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` as the quantile of the uniform ``u``, whatever the mean (inverse-CDF coupling).

    The same function of ``u`` as :func:`_binomial_inverse` (``p > 1/2`` as ``n − Binomial(n, 1 − p)``): for a
    mean ``n · min(p, 1 − p)`` up to :data:`BINOMIAL_GEOMETRIC_MAX_MEAN` by that recursion; above it from the
    mode ``m = ⌊(n + 1) q⌋``, ``P(X = m)`` from ``math.lgamma``, ``P(X ≤ m)`` summed down from the mode until
    the terms fall below ``1e-17`` of the sum, then walking down or up the CDF to the smallest ``k`` with
    ``u < P(X ≤ k)``. With a fixed ``u`` the result never falls when ``n`` grows and grows by at most one per
    unit of ``n`` (see :func:`binomial_quantile`): a cell's count follows a lever monotonically.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    low = p <= 0.5
    q = p if low else 1.0 - p
    if n * q <= BINOMIAL_GEOMETRIC_MAX_MEAN:
        return _binomial_inverse(u, n, p)
    ratio = q / (1.0 - q)
    m = min(int((n + 1) * q), n)
    pm = math.exp(math.lgamma(n + 1.0) - math.lgamma(m + 1.0) - math.lgamma(n - m + 1.0)
                  + m * math.log(q) + (n - m) * math.log1p(-q))
    cdf = pm
    t = pm
    j = m
    while j > 0 and t > 1e-17 * cdf:  # P(X ≤ m), the lower tail summed down from the mode
        t *= j / ((n - j + 1) * ratio)
        cdf += t
        j -= 1
    k = m
    t = pm
    if u < cdf:
        while k > 0 and u < cdf - t:  # P(X ≤ k − 1) = P(X ≤ k) − P(X = k)
            cdf -= t
            t *= k / ((n - k + 1) * ratio)
            k -= 1
    else:
        while u >= cdf and k < n:
            t *= (n - k) / (k + 1) * ratio
            k += 1
            cdf += t
    return k if low else n - k


@njit(cache=True)
def _binomial_cells(rng: Any, n: Any, p: Any, out: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n, b_n = n.shape
    for d in range(d_n):
        for s in range(s_n):
            for b in range(b_n):
                # one uniform per cell whatever its count: a cell's number never depends on the others' counts
                out[d, s, b] = _binomial_at(rng.random(), n[d, s, b], p[d, s, b])


def binomial(n: npt.ArrayLike, p: npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """``Binomial(n, p)`` cell by cell, ``p`` broadcast to the shape of ``n``; cells drawn in C order.

    Raises ``ValueError`` for a negative count or a probability outside [0, 1]. ``p`` is never copied to the
    full shape (the kernel reads a broadcast view).

    >>> binomial(np.array([[0, 4], [7, 3]]), np.array([1.0, 0.0]), np.random.default_rng(0)).tolist()
    [[0, 0], [7, 0]]
    """
    counts = np.asarray(n, dtype=np.int64)
    prob = np.asarray(p, dtype=np.float64)
    if counts.size and counts.min() < 0:
        raise ValueError("binomial counts must be non-negative")
    if prob.size and not (prob.min() >= 0.0 and prob.max() <= 1.0):
        raise ValueError(f"binomial probabilities must be in [0, 1], got [{prob.min()}, {prob.max()}]")
    shape = counts.shape
    if counts.ndim == 3:
        n3 = counts
    elif counts.ndim < 3:
        n3 = counts.reshape((1,) * (3 - counts.ndim) + shape)
    else:
        n3 = counts.reshape(shape[0], -1, shape[-1])
    p3 = np.broadcast_to(prob, shape).reshape(n3.shape)  # a view (zero strides) unless ndim > 3
    out = np.zeros(n3.shape, dtype=np.int64)
    _binomial_cells(rng, n3, p3, out)
    return out.reshape(shape)


QUANTILE_TABLE_MIN_PROBABILITY = 1e-280
"""Smallest ``P(X = 0) = (1 − p)^n`` :func:`binomial_quantile` builds its inversion from; below it (far in the
tail of the float range) the cell goes to ``scipy.stats.binom.ppf``."""


@njit(cache=True)
def _quantile_cells(u: Any, n: Any, p: Any, out: Any, rest: Any) -> None:  # pragma: no cover - compiled
    """Inversion ``min{k : u < P(X ≤ k)}`` of ``Binomial(n, p)`` with ``p`` itself (no complement), cell by
    cell; cells with a mean above :data:`BINOMIAL_GEOMETRIC_MAX_MEAN` or a vanishing ``P(X = 0)`` are flagged
    in ``rest`` for the caller."""
    for i in range(u.size):
        k, q = n[i], p[i]
        if k <= 0 or q <= 0.0:
            out[i] = 0
            continue
        if q >= 1.0:
            out[i] = k
            continue
        pk = (1.0 - q) ** k
        if k * q > BINOMIAL_GEOMETRIC_MAX_MEAN or pk < QUANTILE_TABLE_MIN_PROBABILITY:
            rest[i] = True
            continue
        cdf = pk
        ratio = q / (1.0 - q)
        x = 0
        while u[i] >= cdf and x < k:
            pk *= (k - x) / (x + 1) * ratio
            x += 1
            cdf += pk
        out[i] = x


def binomial_quantile(u: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike) -> IntArray:
    """``Binomial(n, p)`` as the quantile of a given uniform ``u`` (inverse-CDF coupling), cell by cell.

    ``X(u; n, p) = min{k : u < P(X ≤ k)}``. With ``u`` uniform on [0, 1) this is exactly ``Binomial(n, p)``,
    and for the same ``u`` it never decreases when ``n`` or ``p`` grows (``Binomial(n + 1, p)`` and
    ``Binomial(n, p′ > p)`` dominate ``Binomial(n, p)`` stochastically, so their quantiles are at least as
    large), and ``X(u; n + 1, p) ≤ X(u; n, p) + 1`` (``Binomial(n + 1, p)`` is ``Binomial(n, p)`` plus a
    Bernoulli). This is what keeps a draw's counts monotone in a lever (issue 16 item 5): the random number of
    a cell is fixed, only the law it is read through changes. Means up to :data:`BINOMIAL_GEOMETRIC_MAX_MEAN`
    are inverted in compiled code (the recursion of :func:`_binomial_inverse`, with ``p`` itself); the rest
    by ``scipy.stats.binom.ppf``. ``u``, ``n`` and ``p`` broadcast together.

    >>> binomial_quantile([0.0, 0.5, 0.999], 10, 0.5).tolist()
    [0, 5, 9]
    """
    uu, counts, prob = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(n, dtype=np.int64),
                                           np.asarray(p, dtype=np.float64))
    if counts.size and counts.min() < 0:
        raise ValueError("binomial counts must be non-negative")
    if prob.size and not (prob.min() >= 0.0 and prob.max() <= 1.0):
        raise ValueError(f"binomial probabilities must be in [0, 1], got [{prob.min()}, {prob.max()}]")
    shape = uu.shape
    flat_u, flat_n, flat_p = (np.ascontiguousarray(a).ravel() for a in (uu, counts, prob))
    out = np.zeros(flat_u.size, dtype=np.int64)
    rest = np.zeros(flat_u.size, dtype=np.bool_)
    _quantile_cells(flat_u, flat_n, flat_p, out, rest)
    if rest.any():
        from scipy.stats import binom

        x = binom.ppf(flat_u[rest], flat_n[rest], flat_p[rest])
        out[rest] = np.clip(np.nan_to_num(x, nan=0.0), 0, flat_n[rest]).astype(np.int64)
    return out.reshape(shape)


@njit(cache=True)
def _multinomial_rows(rng: Any, n: Any, p: Any, out: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_cells = n.shape
    n_slots = p.shape[1]
    for d in range(n_draws):
        for c in range(n_cells):
            left = n[d, c]
            if left <= 0:
                continue
            if left <= n_slots:  # unit by unit: a uniform and a linear search in the cumulative shares
                for _ in range(left):
                    t = rng.random()
                    acc = 0.0
                    chosen = -1
                    for j in range(n_slots):
                        if p[d, j] > 0.0:
                            chosen = j
                            acc += p[d, j]
                            if t < acc:
                                break
                    out[d, c, chosen] += 1
                continue
            rest = 1.0
            for j in range(n_slots - 1):  # conditional binomials, as numpy's multinomial
                share = min(max(p[d, j] / rest if rest > 0.0 else 0.0, 0.0), 1.0)
                x = _binomial_inverse(rng.random(), left, share) if _by_inversion(left, share) else (
                    _binomial_one(rng, left, share))
                out[d, c, j] = x
                left -= x
                rest -= p[d, j]
                if left == 0:
                    break
            out[d, c, n_slots - 1] += left


def multinomial_rows(n: npt.ArrayLike, p: npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """``Multinomial(n[d, c], p[d])`` for every cell: ``(D, C)`` counts, ``(D, B)`` shares summing to 1.

    Small counts (at most ``B``) are placed unit by unit, each in slot ``j`` with probability ``p[d, j]``
    (the last slot of positive share takes the rounding remainder); larger ones by conditional binomials
    ``Binomial(left, p_j / (1 − p_1 − … − p_{j−1}))``. Both are exactly multinomial.
    """
    counts = np.ascontiguousarray(n, dtype=np.int64)
    shares = np.ascontiguousarray(p, dtype=np.float64)
    out = np.zeros((*counts.shape, shares.shape[1]), dtype=np.int64)
    _multinomial_rows(rng, counts, shares, out)
    return out



_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _keyed_uniform(state: Any) -> float:  # pragma: no cover - compiled
    """The next uniform in [0, 1) of a cell's own substream, ``state`` a one-word ``uint64`` array (SplitMix64:
    Steele, Lea and Flood 2014, "Fast splittable pseudorandom number generators", OOPSLA; the generator of
    Java's ``SplittableRandom``). The state is seeded by :func:`cell_keys` from the call's keyed generator, so
    a cell's numbers depend on the seed, the component, the draw and the cell only, however many numbers the
    other cells use."""
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


def cell_keys(rng: np.random.Generator, shape: tuple[int, ...]) -> npt.NDArray[np.uint64]:
    """One 64-bit key per cell of ``shape``, drawn from ``rng`` (a fixed number of draws whatever the counts,
    cells in C order): the seeds of :func:`_keyed_uniform`'s substreams. Kernels whose number of random numbers
    depends on a cell's count draw them from the cell's substream, so one cell's count does not move the
    numbers of another (a county's teachers do not move another county's draws, issue 16 item 5)."""
    return rng.integers(0, np.iinfo(np.uint64).max, size=shape, dtype=np.uint64, endpoint=True)


@njit(cache=True)
def _hypergeometric_one(rng: Any, good: Any, bad: Any, sample: Any) -> Any:  # pragma: no cover - compiled
    if sample <= 0 or good <= 0:
        return 0
    if bad <= 0:
        return sample
    total = good + bad
    flip = sample > total // 2
    picks = total - sample if flip else sample
    left_total = total
    left_good = good
    while picks > 0 and left_good > 0 and left_total > left_good:
        if rng.random() * left_total < left_good:
            left_good -= 1
        left_total -= 1
        picks -= 1
    if left_total == left_good:  # only good ones left: the remaining picks are all good
        left_good -= picks
    return left_good if flip else good - left_good


@njit(cache=True)
def _hypergeometric_cells(rng: Any, good: Any, bad: Any, sample: Any, out: Any) -> None:  # pragma: no cover
    for i in range(sample.size):
        out[i] = _hypergeometric_one(rng, good[i], bad[i], sample[i])


def hypergeometric(good: npt.ArrayLike, bad: npt.ArrayLike, sample: npt.ArrayLike,
                   rng: np.random.Generator) -> IntArray:
    """``Hypergeometric(good, bad, sample)`` cell by cell (arrays of one shape), 0 where ``sample ≤ 0``.

    Cells where the result is certain (no good, no bad, nothing drawn) use no random number.

    >>> hypergeometric(np.array([0, 5, 3]), np.array([4, 0, 3]), np.array([2, 3, 0]),
    ...                np.random.default_rng(0)).tolist()
    [0, 3, 0]
    """
    g = np.ascontiguousarray(good, dtype=np.int64)
    b = np.ascontiguousarray(bad, dtype=np.int64)
    s = np.ascontiguousarray(sample, dtype=np.int64)
    if g.shape != s.shape or b.shape != s.shape:
        raise ValueError(f"good, bad and sample must have one shape, got {g.shape}, {b.shape}, {s.shape}")
    if g.size and (g.min() < 0 or b.min() < 0 or (s > g + b).any()):
        raise ValueError("hypergeometric: good and bad must be non-negative and sample at most good + bad")
    out = np.zeros(s.shape, dtype=np.int64)
    _hypergeometric_cells(rng, g.reshape(-1), b.reshape(-1), s.reshape(-1), out.reshape(-1))
    return out


@njit(cache=True)
def _remove_rows(rng: Any, stock: Any, k: Any, out: Any) -> None:  # pragma: no cover - compiled
    n_rows, n_bands = stock.shape
    for i in range(n_rows):
        remaining = k[i]
        if remaining <= 0:
            continue
        rest = 0
        for b in range(n_bands):
            rest += stock[i, b]
        for b in range(n_bands - 1):
            good = stock[i, b]
            rest -= good
            taken = _hypergeometric_one(rng, good, rest, remaining)
            out[i, b] = taken
            remaining -= taken
            if remaining == 0:
                break
        out[i, n_bands - 1] += remaining


def remove_uniformly(stock: npt.ArrayLike, k: npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """``k[i]`` individuals picked uniformly without replacement among the ``B`` slots of row ``i``.

    ``stock`` is ``(N, B)``, ``k`` is ``(N,)`` with ``0 ≤ k ≤ stock.sum(-1)`` (checked by the caller).
    Multivariate hypergeometric, slot by slot: ``Hypergeometric(slot, rest, remaining)``.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    out = np.zeros(st.shape, dtype=np.int64)
    _remove_rows(rng, st, np.ascontiguousarray(k, dtype=np.int64), out)
    return out


_UNIT_BY_UNIT = 2
"""With replacement, a node holding at most this many units per section places them one by one."""


@njit(cache=True)
def _section_at(cum: Any, r: int, lo: int, hi: int, t: float) -> int:  # pragma: no cover - compiled
    """The section ``j`` of ``lo … hi − 1`` whose slice ``[cum[r, j], cum[r, j + 1])`` holds ``t`` (binary search;
    a section with weight when rounding puts ``t`` at the top)."""
    a = lo  # largest j in [lo, hi) with cum[r, j] <= t
    b = hi - 1
    while a < b:
        m = (a + b + 1) // 2
        if cum[r, m] <= t:
            a = m
        else:
            b = m - 1
    while cum[r, a + 1] == cum[r, a]:  # only by rounding at the top: step down to a section with weight
        a -= 1
    return a


@njit(cache=True)
def _place_units(rng: Any, cum: Any, r: int, lo: int, hi: int, n: int, out: Any) -> None:  # pragma: no cover
    """Each of ``n`` units to section ``j`` of ``lo … hi − 1`` with probability ``w_j / W`` (categorical), by
    :func:`_section_at` of ``cum[r, lo] + u · W`` (the kernels write this loop out)."""
    base = cum[r, lo]
    width = cum[r, hi] - base
    for _ in range(n):
        out[r, _section_at(cum, r, lo, hi, base + rng.random() * width)] += 1


def _stacks() -> IntArray:
    """The depth-first stack of the splitting tree: ``(3, _STACK)`` first sections, ends and counts."""
    return np.empty((3, _STACK), dtype=np.int64)


@njit(cache=True)
def _split_rows(keys: Any, totals: Any, cum: Any, start: Any, size: Any, pools: bool, out: Any,
                stack: Any) -> None:  # pragma: no cover - compiled
    """The tree of :func:`split_sorted` on the scratch ``stack`` of :func:`_stacks`. Every draw is written out
    here (a helper taking the generator costs more than the draw): the binomial by :func:`_binomial_at`,
    the hypergeometric as :func:`_hypergeometric_one`, the units as :func:`_place_units`; each row and group
    from a substream of its own (:func:`cell_keys`), so one group's counts never move another's numbers."""
    n_rows, n_groups = totals.shape
    st_lo = stack[0]
    st_hi = stack[1]
    st_n = stack[2]
    state = np.empty(1, dtype=np.uint64)
    for r in range(n_rows):
        for g in range(n_groups):
            if totals[r, g] <= 0:
                continue
            state[0] = keys[r, g]  # the row and group's own substream
            st_lo[0] = start[g]
            st_hi[0] = start[g] + size[g]
            st_n[0] = totals[r, g]
            top = 1
            while top > 0:
                top -= 1
                lo = st_lo[top]
                hi = st_hi[top]
                n = st_n[top]
                if hi - lo == 1:
                    out[r, lo] = n
                    continue
                mid = (lo + hi) // 2
                w_left = cum[r, mid] - cum[r, lo]
                w_right = cum[r, hi] - cum[r, mid]
                if w_right == 0:
                    left = n
                elif not w_left > 0:
                    left = 0
                elif pools:  # _hypergeometric_one(rng, w_left, w_right, n), written out
                    good = np.int64(w_left)
                    total = good + np.int64(w_right)
                    flip = n > total // 2
                    picks = total - n if flip else n
                    left_total = total
                    left_good = good
                    while picks > 0 and left_good > 0 and left_total > left_good:
                        if _keyed_uniform(state) * left_total < left_good:
                            left_good -= 1
                        left_total -= 1
                        picks -= 1
                    if left_total == left_good:
                        left_good -= picks
                    left = left_good if flip else good - left_good
                elif n <= _UNIT_BY_UNIT * (hi - lo):  # _place_units, written out
                    base = cum[r, lo]
                    width = cum[r, hi] - base
                    for _ in range(n):
                        out[r, _section_at(cum, r, lo, hi, base + _keyed_uniform(state) * width)] += 1
                    continue
                else:
                    p = min(max(w_left / (cum[r, hi] - cum[r, lo]), 0.0), 1.0)
                    left = _binomial_at(_keyed_uniform(state), n, p)  # by its quantile, whatever the mean
                right = n - left
                if right > 0:  # pushed first: the left half is split first
                    st_lo[top] = mid
                    st_hi[top] = hi
                    st_n[top] = right
                    top += 1
                if left > 0:
                    st_lo[top] = lo
                    st_hi[top] = mid
                    st_n[top] = left
                    top += 1


def split_sorted(totals: npt.ArrayLike, cum: npt.ArrayLike, start: npt.ArrayLike, size: npt.ArrayLike,
                 rng: np.random.Generator, *, pools: bool) -> IntArray:
    """Split ``totals[r, g]`` among the consecutive sections ``start[g] … start[g] + size[g] − 1``.

    Parameters
    ----------
    totals
        ``(R, G)`` counts; a group with a positive count must have positive weight (pool at least the count).
    cum
        ``(R, S + 1)`` running sums of the weights (``float64``) or integer pools (``int64``, with
        ``pools=True``) of the sections in group order, ``cum[:, 0] = 0``.
    start, size
        ``(G,)`` first section and number of sections of each group, in that order.
    rng
        Random generator.
    pools
        Without replacement from integer pools (hypergeometric) instead of by weight (binomial).

    Returns
    -------
    ``(R, S)`` counts, sections in group order.
    """
    tot = np.ascontiguousarray(totals, dtype=np.int64)
    c = np.ascontiguousarray(cum, dtype=np.int64 if pools else np.float64)
    out = np.zeros((tot.shape[0], c.shape[1] - 1), dtype=np.int64)
    _split_rows(cell_keys(rng, tot.shape), tot, c, np.ascontiguousarray(start, dtype=np.int64),
                np.ascontiguousarray(size, dtype=np.int64), pools, out, _stacks())
    return out


# ------------------------------------------------------------------------------------------------------------
# Teacher exits and moves (cohort engine, mechanism 2 and the moves between sections)
#
# Fused passes over ``(D, S)``: one call draws, cell by cell, every flow that the engine used to draw in a
# separate vectorised pass (one per age-band flow, per category, per contract year). Rows (draws) are the
# outermost loop, so a row's numbers never depend on the rows after it.

_ERR_NONE = -1


_TABLED = 16
"""In :func:`_exit_cells`, counts below this are drawn from a table of the binomial CDF built once per draw."""


@njit(cache=True)
def _fill_cdf(p: float, cdf: Any, f: int) -> None:  # pragma: no cover - compiled
    """``cdf[f, n, k] = P(Y ≤ k)`` for ``Y ~ Binomial(n, q)``, ``q = min(p, 1 − p)``, ``k < n <`` :data:`_TABLED`,
    built as :func:`_binomial_one` builds it (``P(Y = 0) = (1 − q)^n``, then the ratio recurrence); entries
    ``k ≥ n`` hold 2 (above any uniform)."""
    q = min(p, 1.0 - p)
    if not q > 0.0:
        return
    ratio = q / (1.0 - q)
    for n in range(1, _TABLED):
        pk = (1.0 - q) ** n
        acc = pk
        cdf[f, n, 0] = acc
        for k in range(n - 1):
            pk *= (n - k) / (k + 1) * ratio
            acc += pk
            cdf[f, n, k + 1] = acc


@njit(cache=True)
def _from_table(u: float, n: int, p: float, cdf: Any, f: int) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` (``0 < n <`` :data:`_TABLED`, ``0 < p < 1``) by inversion of the uniform ``u`` as
    :func:`_binomial_one`, the CDF read from :func:`_fill_cdf`'s table: the smallest ``k`` with
    ``u < P(Y ≤ k)`` is the number of table entries ``≤ u`` (counted without branches)."""
    k = 0
    for j in range(_TABLED):
        k += u >= cdf[f, n, j]
    return k if p <= 0.5 else n - k


@njit(cache=True)
def _exit_cells(rng: Any, stock: Any, retirement: Any, ageing: Any, rate: Any, location: Any, multiplier: Any,
                relief: Any, relieved_location: int, retired: Any, moved_up: Any, attrition: Any,
                remaining: Any, leavers: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections, n_bands = stock.shape
    n_locations = rate.shape[1]
    aged = np.empty(n_bands, dtype=np.int64)
    u_leave = np.empty(n_bands)
    # per draw, the probability of each flow: retirement by band, ageing by band, attrition by location and band
    n_flows = (2 + n_locations) * n_bands
    prob = np.zeros(n_flows)
    cdf = np.full((n_flows, _TABLED, _TABLED), 2.0)
    for d in range(n_draws):
        for b in range(n_bands):
            prob[b] = retirement[d, b]
            prob[n_bands + b] = ageing[d, b] if b < n_bands - 1 else 0.0
        for loc in range(n_locations):
            factor = relief[d] if loc == relieved_location else 1.0
            for b in range(n_bands):
                prob[(2 + loc) * n_bands + b] = min(max(rate[d, loc] * multiplier[d, b] * factor, 0.0), 1.0)
        for f in range(n_flows):
            _fill_cdf(prob[f], cdf, f)
        for s in range(n_sections):
            first = (2 + location[s]) * n_bands
            for b in range(n_bands):
                aged[b] = 0
            # each draw written out: a helper taking the generator costs more than the draw (reference counting)
            for b in range(n_bands):
                # three uniforms per (section, band), used or not: a count that changes moves no other number
                u_retire, u_up, u_leave[b] = rng.random(), rng.random(), rng.random()
                n = stock[d, s, b]
                p = prob[b]
                r = 0
                if n > 0 and p > 0.0:
                    r = _from_table(u_retire, n, p, cdf, b) if n < _TABLED and p < 1.0 else (
                        _binomial_at(u_retire, n, p))
                retired[d, s, b] = r
                n -= r
                p = prob[n_bands + b]
                up = 0
                if n > 0 and p > 0.0:
                    up = _from_table(u_up, n, p, cdf, n_bands + b) if n < _TABLED and p < 1.0 else (
                        _binomial_at(u_up, n, p))
                    aged[b + 1] += up
                moved_up[d, s, b] = up
                aged[b] += n - up
            left = 0
            for b in range(n_bands):
                n = aged[b]
                p = prob[first + b]
                a = 0
                if n > 0 and p > 0.0:
                    a = _from_table(u_leave[b], n, p, cdf, first + b) if n < _TABLED and p < 1.0 else (
                        _binomial_at(u_leave[b], n, p))
                attrition[d, s, b] = a
                remaining[d, s, b] = aged[b] - a
                left += retired[d, s, b] + a
            leavers[d, s] = left


def exit_flows(stock: npt.ArrayLike, retirement: npt.ArrayLike, ageing: npt.ArrayLike, rate: npt.ArrayLike,
               location: npt.ArrayLike, multiplier: npt.ArrayLike, relief: npt.ArrayLike, relieved_location: int,
               rng: np.random.Generator) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Retirement, then ageing of those left, then attrition of the aged stock, in one pass over ``(D, S)``.

    For each cell ``(d, s)``, band by band: ``retired ~ Binomial(n, retirement[d, b])``, ``up ~ Binomial(n −
    retired, ageing[d, b])`` to band ``b + 1`` (none from the last band); then on the aged stock ``m``:
    ``attrition ~ Binomial(m, clip(rate[d, location[s]] · multiplier[d, b] · f, 0, 1))`` with ``f =
    relief[d]`` in sections of ``relieved_location`` and 1 elsewhere. All by inversion (:func:`_binomial_at`) of
    three uniforms per ``(d, s, b)``, drawn whatever the counts (retirement, ageing, attrition), so that a count
    that changes with a lever moves no other cell's numbers and each flow is monotone in its count; for counts below
    :data:`_TABLED` the CDF is read from a table built once per draw and flow (:func:`_fill_cdf`).

    Parameters are ``(D, S, B)`` counts, ``(D, B)`` retirement and ageing probabilities, ``(D, L)`` rates by
    location, ``(S,)`` location codes, ``(D, B)`` multipliers and ``(D,)`` relief factors (validated by the
    caller). Returns ``(retired, moved_up, attrition, remaining, leavers)``: three ``(D, S, B)`` flows, the
    ``(D, S, B)`` stock after them and the ``(D, S)`` total of retired and attrition.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    shape = st.shape
    retired = np.empty(shape, dtype=np.int64)
    moved_up = np.empty(shape, dtype=np.int64)
    attrition = np.empty(shape, dtype=np.int64)
    remaining = np.empty(shape, dtype=np.int64)
    leavers = np.empty(shape[:2], dtype=np.int64)
    d = shape[0]

    def rows(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
        a = np.asarray(x, dtype=np.float64)
        return np.ascontiguousarray(np.broadcast_to(a, (d, a.shape[-1])))

    _exit_cells(rng, st, rows(retirement), rows(ageing), rows(rate), np.ascontiguousarray(location, dtype=np.int64),
                rows(multiplier), np.ascontiguousarray(np.broadcast_to(np.asarray(relief, dtype=np.float64), (d,))),
                relieved_location, retired, moved_up, attrition, remaining, leavers)
    return retired, moved_up, attrition, remaining, leavers


@njit(cache=True)
def _remove_cells(keys: Any, stock: Any, k: Any, out: Any) -> int:  # pragma: no cover - compiled
    """``k[i]`` individuals of row ``i`` picked one at a time without replacement, each uniformly among those left
    (slot ``b`` with probability ``left_b / total_left``): multivariate hypergeometric. When more than half the
    row goes, the ones who stay are picked instead. Checks ``0 ≤ k ≤ row total``: returns the first bad row,
    or -1."""
    n_rows, n_bands = stock.shape
    left = np.empty(n_bands, dtype=np.int64)
    picked = np.empty(n_bands, dtype=np.int64)
    state = np.empty(1, dtype=np.uint64)
    for i in range(n_rows):
        remaining = k[i]
        if remaining == 0:
            continue
        total = 0
        for b in range(n_bands):
            left[b] = stock[i, b]
            picked[b] = 0
            total += left[b]
        if remaining < 0 or remaining > total:
            return i
        flip = remaining > total // 2
        picks = total - remaining if flip else remaining
        state[0] = keys[i]
        for _ in range(picks):
            j = min(int(_keyed_uniform(state) * total), total - 1)  # the j-th individual left, 0-based
            b = 0
            acc = left[0]
            while j >= acc:
                b += 1
                acc += left[b]
            left[b] -= 1
            picked[b] += 1
            total -= 1
        for b in range(n_bands):
            out[i, b] = stock[i, b] - picked[b] if flip else picked[b]
    return _ERR_NONE


def remove_checked(stock: npt.ArrayLike, k: npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """``k`` individuals of each row picked uniformly without replacement among its ``B`` slots (multivariate
    hypergeometric, the law of :func:`remove_uniformly`), over ``(…, B)`` stocks and ``(…)`` counts.

    Drawn by :func:`_remove_cells`: one uniform per individual picked (the stayers are picked instead when more
    than half the row goes), rows with ``k = 0`` skipped in the kernel (no gather, no random number).
    ``ValueError`` where ``k`` is negative or above the row's total.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    kk = np.ascontiguousarray(k, dtype=np.int64)
    if kk.shape != st.shape[:-1]:
        raise ValueError(f"k must have shape {st.shape[:-1]}, got {kk.shape}")
    out = np.zeros(st.shape, dtype=np.int64)
    n_bands = st.shape[-1]
    bad = _remove_cells(cell_keys(rng, (kk.size,)), st.reshape(-1, n_bands), kk.reshape(-1), out.reshape(-1, n_bands))
    if bad != _ERR_NONE:
        raise ValueError("k must be between 0 and the section's teachers")
    return out


@njit(cache=True)
def _split_pool(state: Any, cum: Any, n: int, k: int, got: Any, st_lo: Any, st_hi: Any,
                st_n: Any) -> None:  # pragma: no cover - compiled
    """``n`` individuals without replacement from ``k`` pools with running sums ``cum[0 … k]`` (``cum[0] = 0``,
    ``n ≤ cum[k]``): ``got[j]`` += picks from pool ``j``, by hypergeometric halving (as :func:`_split_rows`)."""
    st_lo[0] = 0
    st_hi[0] = k
    st_n[0] = n
    top = 1
    while top > 0:
        top -= 1
        lo = st_lo[top]
        hi = st_hi[top]
        m = st_n[top]
        if hi - lo == 1:
            got[lo] += m
            continue
        mid = (lo + hi) // 2
        w_left = cum[mid] - cum[lo]
        w_right = cum[hi] - cum[mid]
        if w_right <= 0:
            left = m
        elif w_left <= 0:
            left = 0
        else:  # _hypergeometric_one(w_left, w_right, m), written out (as in _split_rows)
            total = w_left + w_right
            flip = m > total // 2
            picks = total - m if flip else m
            left_total = total
            left_good = w_left
            while picks > 0 and left_good > 0 and left_total > left_good:
                if _keyed_uniform(state) * left_total < left_good:
                    left_good -= 1
                left_total -= 1
                picks -= 1
            if left_total == left_good:
                left_good -= picks
            left = left_good if flip else w_left - left_good
        right = m - left
        if right > 0:  # pushed first: the left half is split first
            st_lo[top] = mid
            st_hi[top] = hi
            st_n[top] = right
            top += 1
        if left > 0:
            st_lo[top] = lo
            st_hi[top] = mid
            st_n[top] = left
            top += 1


@njit(cache=True)
def _pick_within_groups(keys: Any, totals: Any, pool: Any, order: Any, start: Any, size: Any,
                        out: Any) -> int:  # pragma: no cover - compiled
    """``totals[r, g]`` picked without replacement from the pools of group ``g``'s sections (``order[start[g] …
    start[g] + size[g] − 1]``), only sections with a positive pool taking part. Returns the first row whose
    count exceeds its group's pool (or is negative), else -1."""
    n_rows, n_groups = totals.shape
    n_sections = pool.shape[1]
    idx = np.empty(n_sections, dtype=np.int64)
    cum = np.empty(n_sections + 1, dtype=np.int64)
    got = np.empty(n_sections, dtype=np.int64)
    st_lo = np.empty(_STACK, dtype=np.int64)
    st_hi = np.empty(_STACK, dtype=np.int64)
    st_n = np.empty(_STACK, dtype=np.int64)
    state = np.empty(1, dtype=np.uint64)
    for r in range(n_rows):
        for g in range(n_groups):
            n = totals[r, g]
            if n == 0:
                continue
            if n < 0:
                return r
            m = 0
            cum[0] = 0
            for i in range(start[g], start[g] + size[g]):
                sec = order[i]
                w = pool[r, sec]
                if w > 0:
                    idx[m] = sec
                    got[m] = 0
                    cum[m + 1] = cum[m] + w
                    m += 1
            if cum[m] < n:
                return r
            state[0] = keys[r, g]
            _split_pool(state, cum, n, m, got, st_lo, st_hi, st_n)
            for j in range(m):
                out[r, idx[j]] = got[j]
    return _ERR_NONE


def group_layout(group: npt.ArrayLike, n_groups: int) -> tuple[IntArray, IntArray, IntArray]:
    """``(order, start, size)``: sections sorted by group (stable), where each group starts in ``order`` and
    its number of sections. ``ValueError`` for a group index outside ``[0, n_groups)``."""
    grp = np.asarray(group, dtype=np.int64)
    if grp.size and (grp.min() < 0 or grp.max() >= n_groups):
        raise ValueError(f"group indices must be in [0, {n_groups}), got {grp.min()}..{grp.max()}")
    size = np.bincount(grp, minlength=n_groups).astype(np.int64)
    start = np.zeros(n_groups, dtype=np.int64)
    np.cumsum(size[:-1], out=start[1:])
    if grp.size < 2 or bool(np.all(grp[1:] >= grp[:-1])):
        order = np.arange(grp.size, dtype=np.int64)  # the engine's layout: already sorted
    else:
        order = np.argsort(grp, kind="stable").astype(np.int64)
    return order, start, size


def pick_within_groups(totals: npt.ArrayLike, pool: npt.ArrayLike, group: npt.ArrayLike, n_groups: int,
                       rng: np.random.Generator) -> IntArray:
    """``totals[r, g]`` individuals picked uniformly without replacement from the ``(R, S)`` integer pools of the
    sections of group ``g`` (multivariate hypergeometric), by hypergeometric halving over the group's sections
    with a positive pool. ``ValueError`` for a negative pool or count, or a count above its group's pool."""
    tot = np.ascontiguousarray(totals, dtype=np.int64)
    pl = np.ascontiguousarray(pool, dtype=np.int64)
    if pl.size and pl.min() < 0:
        raise ValueError("totals and pool must be non-negative")
    order, start, size = group_layout(group, n_groups)
    out = np.zeros((tot.shape[0], order.size), dtype=np.int64)
    bad = _pick_within_groups(cell_keys(rng, (tot.shape[0], n_groups)), tot, pl, order, start, size, out)
    if bad != _ERR_NONE:
        if tot[bad].min() < 0:
            raise ValueError("totals and pool must be non-negative")
        raise ValueError("cannot pick more individuals than a group holds")
    return out


@njit(cache=True)
def _move_attributes(keys: Any, group_keys: Any, before: Any, out: Any, into: Any, independent: Any,
                     exclusive: Any, group: Any,
                     order: Any, start: Any, size: Any, place: bool, ind_out: Any,
                     exc_out: Any) -> int:  # pragma: no cover - compiled
    n_draws, n_sections = before.shape
    n_ind = independent.shape[2]
    n_exc = exclusive.shape[2]
    n_groups = start.size
    moving_ind = np.zeros((n_groups, n_ind), dtype=np.int64)
    moving_exc = np.zeros((n_groups, n_exc), dtype=np.int64)
    idx = np.empty(n_sections, dtype=np.int64)
    left = np.empty(n_sections, dtype=np.int64)
    cum = np.empty(n_sections + 1, dtype=np.int64)
    got = np.empty(n_sections, dtype=np.int64)
    st_lo = np.empty(_STACK, dtype=np.int64)
    st_hi = np.empty(_STACK, dtype=np.int64)
    st_n = np.empty(_STACK, dtype=np.int64)
    state = np.empty(1, dtype=np.uint64)
    for d in range(n_draws):
        # the movers' attributes, section by section: without replacement among the section's teachers
        any_moving = False
        for s in range(n_sections):
            b = before[d, s]
            k = out[d, s]
            if b < 0 or k < 0 or k > b:
                return d
            g = group[s]
            state[0] = keys[d, s]
            picks = min(k, b - k)
            for a in range(n_ind):
                have = min(independent[d, s, a], b)
                lost = 0
                if k > 0 and have > 0:
                    if have == b:
                        lost = k
                    else:
                        # Hypergeometric(have, b − have, k) as _hypergeometric_one, its draws written out
                        flip = k > b // 2
                        left_total = b
                        left_good = have
                        todo = picks
                        while todo > 0 and left_good > 0 and left_total > left_good:
                            if _keyed_uniform(state) * left_total < left_good:
                                left_good -= 1
                            left_total -= 1
                            todo -= 1
                        if left_total == left_good:
                            left_good -= todo
                        lost = left_good if flip else have - left_good
                ind_out[d, s, a] = have - lost
                if lost > 0:
                    moving_ind[g, a] += lost
                    any_moving = True
            room = b
            rest = b
            taken = k
            for j in range(n_exc):
                slot = min(exclusive[d, s, j], room)
                room -= slot
                lost = 0
                if taken > 0 and slot > 0:
                    if slot == rest:
                        lost = taken
                    else:
                        # Hypergeometric(slot, rest − slot, taken), written out likewise
                        flip = taken > rest // 2
                        left_total = rest
                        left_good = slot
                        todo = min(taken, rest - taken)
                        while todo > 0 and left_good > 0 and left_total > left_good:
                            if _keyed_uniform(state) * left_total < left_good:
                                left_good -= 1
                            left_total -= 1
                            todo -= 1
                        if left_total == left_good:
                            left_good -= todo
                        lost = left_good if flip else slot - left_good
                rest -= slot
                taken -= lost
                exc_out[d, s, j] = slot - lost
                if lost > 0:
                    moving_exc[g, j] += lost
                    any_moving = True
        if not place or not any_moving:
            continue
        # placed among the arrivals of the group, without replacement
        for g in range(n_groups):
            busy = False
            for a in range(n_ind):
                busy = busy or moving_ind[g, a] > 0
            for j in range(n_exc):
                busy = busy or moving_exc[g, j] > 0
            if not busy:
                continue
            state[0] = group_keys[d, g]
            m = 0
            cum[0] = 0
            for i in range(start[g], start[g] + size[g]):
                sec = order[i]
                w = into[d, sec]
                if w < 0:
                    return d
                if w > 0:
                    idx[m] = sec
                    left[m] = w
                    cum[m + 1] = cum[m] + w
                    m += 1
            for a in range(n_ind):
                n = moving_ind[g, a]
                if n == 0:
                    continue
                if n > cum[m]:
                    return d
                for j in range(m):
                    got[j] = 0
                _split_pool(state, cum, n, m, got, st_lo, st_hi, st_n)
                for j in range(m):
                    ind_out[d, idx[j], a] += got[j]
                moving_ind[g, a] = 0
            for c in range(n_exc):  # contract years share the arrivals: each year's picks leave the pool
                n = moving_exc[g, c]
                if n == 0:
                    continue
                for j in range(m):
                    got[j] = 0
                    cum[j + 1] = cum[j] + left[j]
                if n > cum[m]:
                    return d
                _split_pool(state, cum, n, m, got, st_lo, st_hi, st_n)
                for j in range(m):
                    exc_out[d, idx[j], c] += got[j]
                    left[j] -= got[j]
                moving_exc[g, c] = 0
    return _ERR_NONE


class Attributes(NamedTuple):
    """Attribute counts of :func:`move_attributes`."""

    independent: IntArray
    """``(D, S, A)``"""
    exclusive: IntArray
    """``(D, S, J)``"""


def move_attributes(before: npt.ArrayLike, out: npt.ArrayLike, independent: npt.ArrayLike,
                    exclusive: npt.ArrayLike, rng: np.random.Generator, *, into: npt.ArrayLike | None = None,
                    group: npt.ArrayLike | None = None, n_groups: int = 0) -> Attributes:
    """Attributes of the ``out`` teachers leaving each section, and (with ``into``) their placement.

    Parameters
    ----------
    before
        ``(D, S)`` teachers of each section before the departures.
    out
        ``(D, S)`` teachers leaving, ``0 ≤ out ≤ before``.
    independent
        ``(D, S, A)`` counts of attributes a teacher may have several of (qualified, backbone, …), each capped
        at ``before``. The leavers of attribute ``a``: ``Hypergeometric(have, before − have, out)``, attribute
        by attribute (each marginal is exact; the attributes are drawn independently of one another).
    exclusive
        ``(D, S, J)`` counts of mutually exclusive slots (contract years), capped at ``before`` earliest slot
        first. The leavers by slot: one multivariate hypergeometric draw, slot by slot
        (``Hypergeometric(slot, rest, remaining)``).
    rng
        Random generator.
    into, group, n_groups
        If given: ``(D, S)`` arrivals, ``(S,)`` group (county) of each section. Each group's leavers of an
        independent attribute are placed among the group's arrivals without replacement (multivariate
        hypergeometric over the ``into`` pools); the exclusive slots one after the other among the arrivals
        not yet given a slot (one multivariate hypergeometric assignment of slots to arrivals). A group's
        arrivals must be at least its leavers.

    Returns
    -------
    :class:`Attributes`: ``independent`` and ``exclusive`` after the departures (and arrivals). Cells are
    visited draw by draw, section by section; then the groups of the draw.
    """
    bf = np.ascontiguousarray(before, dtype=np.int64)
    o = np.ascontiguousarray(out, dtype=np.int64)
    ind = np.ascontiguousarray(independent, dtype=np.int64)
    exc = np.ascontiguousarray(exclusive, dtype=np.int64)
    if o.shape != bf.shape or ind.shape[:2] != bf.shape or exc.shape[:2] != bf.shape:
        raise ValueError(f"before, out, independent and exclusive must share (D, S), got {bf.shape}, {o.shape}, "
                         f"{ind.shape}, {exc.shape}")
    if (ind.size and ind.min() < 0) or (exc.size and exc.min() < 0):
        raise ValueError("attribute counts must be non-negative")
    place = into is not None
    if place:
        if group is None:
            raise ValueError("placing the movers needs the group of each section")
        arrivals = np.ascontiguousarray(into, dtype=np.int64)
        if arrivals.shape != bf.shape:
            raise ValueError(f"into must have shape {bf.shape}, got {arrivals.shape}")
        order, start, size = group_layout(group, n_groups)
        grp = np.ascontiguousarray(group, dtype=np.int64)
    else:
        arrivals = bf
        grp = np.zeros(bf.shape[1], dtype=np.int64)
        order, start, size = group_layout(grp, 1)
    ind_out = np.empty(ind.shape, dtype=np.int64)
    exc_out = np.empty(exc.shape, dtype=np.int64)
    keys = cell_keys(rng, bf.shape)
    group_keys = cell_keys(rng, (bf.shape[0], start.size))
    bad = _move_attributes(keys, group_keys, bf, o, arrivals, ind, exc, grp, order, start, size, place, ind_out,
                           exc_out)
    if bad != _ERR_NONE:
        raise ValueError("movers must be between 0 and the section's teachers, and a group's arrivals at least "
                         "its leavers")
    return Attributes(ind_out, exc_out)


@njit(cache=True)
def _move_rows(keys_out: Any, keys_in: Any, stock: Any, out: Any, into: Any, group: Any, n_groups: int,
               fallback: int, new: Any) -> int:  # pragma: no cover - compiled
    n_draws, n_sections, n_bands = stock.shape
    left = np.empty(n_bands, dtype=np.int64)
    picked = np.empty(n_bands, dtype=np.int64)
    mix = np.empty((n_groups, n_bands), dtype=np.int64)
    pool = np.empty(n_groups, dtype=np.int64)
    state = np.empty(1, dtype=np.uint64)
    for d in range(n_draws):
        # leavers: picked one at a time among the section's teachers (the stayers when more than half go),
        # from the section's own substream
        for g in range(n_groups):
            for b in range(n_bands):
                mix[g, b] = 0
        for s in range(n_sections):
            total = 0
            for b in range(n_bands):
                new[d, s, b] = stock[d, s, b]
                left[b] = stock[d, s, b]
                picked[b] = 0
                total += left[b]
            k = out[d, s]
            if k == 0:
                continue
            if k < 0 or k > total:
                return d
            state[0] = keys_out[d, s]
            flip = k > total // 2
            for _ in range(total - k if flip else k):
                j = min(int(_keyed_uniform(state) * total), total - 1)
                b = 0
                acc = left[0]
                while j >= acc:
                    b += 1
                    acc += left[b]
                left[b] -= 1
                picked[b] += 1
                total -= 1
            for b in range(n_bands):
                gone = stock[d, s, b] - picked[b] if flip else picked[b]
                new[d, s, b] -= gone
                mix[group[s], b] += gone
        # arrivals: Multinomial(into, mix / mix total) of the section's group, everyone in the fallback band if
        # nobody left the group
        for g in range(n_groups):
            pool[g] = 0
            for b in range(n_bands):
                pool[g] += mix[g, b]
            if pool[g] == 0:
                mix[g, fallback] = 1
                pool[g] = 1
        for s in range(n_sections):
            k = into[d, s]
            if k == 0:
                continue
            if k < 0:
                return d
            g = group[s]
            state[0] = keys_in[d, s]
            if k <= n_bands:  # one by one: band b with probability mix_b / pool
                for _ in range(k):
                    j = min(int(_keyed_uniform(state) * pool[g]), pool[g] - 1)
                    b = 0
                    acc = mix[g, 0]
                    while j >= acc:
                        b += 1
                        acc += mix[g, b]
                    new[d, s, b] += 1
                continue
            rest = pool[g]
            for b in range(n_bands - 1):  # conditional binomials, each by its quantile
                if mix[g, b] > 0:
                    q = min(mix[g, b] / rest, 1.0)
                    x = _binomial_at(_keyed_uniform(state), k, q)
                    new[d, s, b] += x
                    k -= x
                rest -= mix[g, b]
                if k == 0 or rest == 0:
                    break
            if k > 0:  # the remainder goes to the last band with leavers
                last = n_bands - 1
                while mix[g, last] == 0:
                    last -= 1
                new[d, s, last] += k
    return _ERR_NONE


def move_teachers(stock: npt.ArrayLike, out: npt.ArrayLike, into: npt.ArrayLike, rng: np.random.Generator, *,
                  fallback_band: int, group: npt.ArrayLike | None = None, n_groups: int = 1) -> IntArray:
    """``stock`` after ``out`` teachers leave each section and ``into`` arrive, by band, in one pass per draw.

    Leavers: picked uniformly without replacement among the section's teachers, one at a time (multivariate
    hypergeometric over the bands, as :func:`remove_checked`). Arrivals: ``Multinomial(into, mix / total)``
    over the bands with ``mix`` the leavers of the draw by band in the section's ``group`` (all sections when
    ``group`` is not given), one at a time for at most ``B`` arrivals, else by conditional binomials (each by its
    quantile, :func:`_binomial_at`); everyone in ``fallback_band`` if nobody left the group in the draw. Each
    section draws its leavers and its arrivals from substreams of its own (:func:`cell_keys`), so the counts of
    one section never move another's numbers. ``ValueError`` for a negative count or more leavers than a
    section holds.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    o = np.ascontiguousarray(out, dtype=np.int64)
    i = np.ascontiguousarray(into, dtype=np.int64)
    if st.ndim != 3 or o.shape != st.shape[:2] or i.shape != st.shape[:2]:
        raise ValueError(f"stock must be (D, S, B) and out, into (D, S); got {st.shape}, {o.shape}, {i.shape}")
    if not 0 <= fallback_band < st.shape[2]:
        raise ValueError(f"fallback_band must be in [0, {st.shape[2]}), got {fallback_band}")
    if group is None:
        grp = np.zeros(st.shape[1], dtype=np.int64)
        n_groups = 1
    else:
        grp = np.ascontiguousarray(group, dtype=np.int64)
        if grp.shape != (st.shape[1],) or (grp.size and (grp.min() < 0 or grp.max() >= n_groups)):
            raise ValueError(f"group must be ({st.shape[1]},) with values in [0, {n_groups})")
    keys_out = cell_keys(rng, o.shape)
    keys_in = cell_keys(rng, o.shape)
    new = np.empty(st.shape, dtype=np.int64)
    if _move_rows(keys_out, keys_in, st, o, i, grp, n_groups, fallback_band, new) != _ERR_NONE:
        raise ValueError("out and into must be non-negative, out at most the section's teachers")
    return new


# students: promotion, placement within groups, rural → town/urban drift (fused, for sim.mechanisms.students)


_TABLE_MAX = 4096
"""Largest count whose ``(1 − q)^n`` a per-draw binomial table holds (:func:`_binomial_table`)."""


@njit(cache=True)
def _binomial_table(p: float, tab: Any, inv: Any) -> int:  # pragma: no cover - compiled
    """Tables of the inversion of :func:`_binomial_one` for one probability ``p`` shared by many cells.

    With ``q = min(p, 1 − p)``: ``tab[n] = (1 − q)^n`` (by repeated multiplication) and ``inv[k] = q / (1 − q)
    / (k + 1)``, for ``n, k ≤ top``; returns ``top`` (``min(30 / q, len − 1)``, so every tabulated count has a
    mean ``n · q ≤ 30``), or ``−1`` for ``p`` equal to 0 or 1 (no table needed).
    """
    q = min(p, 1.0 - p)
    if not q > 0.0:
        return -1
    top = min(int(BINOMIAL_GEOMETRIC_MAX_MEAN / q), tab.size - 1)
    ratio = q / (1.0 - q)
    tab[0] = 1.0
    inv[0] = ratio
    for k in range(1, top + 1):
        tab[k] = tab[k - 1] * (1.0 - q)
        inv[k] = ratio / (k + 1)
    return top


@njit(cache=True)
def _tabled_inverse(u: float, n: int, p: float, tab: Any, inv: Any) -> int:  # pragma: no cover - compiled
    """``Binomial(n, p)`` from the uniform ``u`` by the inversion of :func:`_binomial_one`, with ``P(X = 0)``
    and the ratios read from the tables of :func:`_binomial_table` instead of a power and a division per
    cell. For ``0 < n ≤ top`` and ``0 < p < 1``; kernels write ``_tabled_inverse(rng.random(), n, p, tab, inv)
    if n <= top else _binomial_one(rng, n, p)`` for ``n, p > 0`` (``top`` is −1 for ``p = 1``), so that no
    call takes the generator for most cells (a helper taking the generator costs more than the draw)."""
    pk = tab[n]
    cdf = pk
    successes = 0
    while u >= cdf and successes < n:
        pk *= (n - successes) * inv[successes]
        successes += 1
        cdf += pk
    return successes if p <= 0.5 else n - successes


@njit(cache=True)
def _promote_cells(rng: Any, stock: Any, p_drop: Any, level: Any, last_primary: int, last: int, promoted: Any,
                   dropouts: Any, graduates: Any) -> None:  # pragma: no cover - compiled
    d_n, s_n, g_n = stock.shape
    l_n = p_drop.shape[2]
    tab = np.empty((l_n, _TABLE_MAX + 1), dtype=np.float64)
    inv = np.empty((l_n, _TABLE_MAX + 1), dtype=np.float64)
    p = np.empty(l_n, dtype=np.float64)
    top = np.empty(l_n, dtype=np.int64)
    for d in range(d_n):
        p[:] = -1.0
        top[:] = -1
        for s in range(s_n):
            for lv in range(l_n):  # a new table only where a level's probability changes (sections of one county)
                if p_drop[d, s, lv] != p[lv]:
                    p[lv] = p_drop[d, s, lv]
                    top[lv] = _binomial_table(p[lv], tab[lv], inv[lv])
            for g in range(g_n):
                n = stock[d, s, g]
                if n == 0:
                    continue
                lv = level[g]
                pg = p[lv]
                x = 0
                if g != last and pg > 0.0:
                    x = (_tabled_inverse(rng.random(), n, pg, tab[lv], inv[lv]) if n <= top[lv]
                         else _binomial_one(rng, n, pg))
                dropouts[d, s, g] = x
                if g == last_primary or g == last:
                    graduates[d, s, g] = n - x
                else:
                    promoted[d, s, g + 1] = n - x


def promote_cells(stock: npt.ArrayLike, p_drop: npt.ArrayLike, last_primary: int, last: int,
                  rng: np.random.Generator, level_of_grade: npt.ArrayLike | None = None,
                  ) -> tuple[IntArray, IntArray, IntArray]:
    """One school year of ``(D, S, G)`` pupils in one pass: ``(promoted, dropouts, graduates)``.

    Dropouts ``Binomial(n, p_drop[d, s])`` (``p_drop`` ``(D,)`` per draw or ``(D, S)`` per section; or
    ``(D, S, L)`` per section and level, grade ``g`` reading level ``level_of_grade[g]``) cell by cell
    in C order (grade ``last`` drops nobody), by the inversion
    of :func:`binomial` with per-draw tables, one per level (:func:`_tabled_inverse`); survivors of grades
    ``last_primary`` and ``last`` are ``graduates``, the others are ``promoted`` into the next grade. Empty
    cells use no random number. ``stock`` must be non-negative and ``p_drop`` in [0, 1] (checked by the
    caller). With one level the random numbers are those of a single probability per section.
    """
    st = np.ascontiguousarray(stock, dtype=np.int64)
    promoted = np.zeros(st.shape, dtype=np.int64)
    dropouts = np.zeros(st.shape, dtype=np.int64)
    graduates = np.zeros(st.shape, dtype=np.int64)
    p = np.asarray(p_drop, dtype=np.float64)
    if level_of_grade is None:
        if p.ndim == 3:
            raise ValueError("a (D, S, L) p_drop needs level_of_grade")
        level = np.zeros(st.shape[2], dtype=np.int64)
        p = np.broadcast_to(p if p.ndim == 2 else p.reshape(-1)[:, None], st.shape[:2])[..., None]
    else:
        level = np.ascontiguousarray(level_of_grade, dtype=np.int64)
        if p.ndim != 3 or level.shape != (st.shape[2],) or level.min() < 0 or level.max() >= p.shape[2]:
            raise ValueError(f"p_drop by level must be (D, S, L) with level_of_grade ({st.shape[2]},) in 0 … L − 1")
        p = np.broadcast_to(p, (*st.shape[:2], p.shape[2]))
    p = np.array(p, order="C")  # writable, contiguous
    _promote_cells(rng, st, p, level, last_primary, last, promoted, dropouts, graduates)
    return promoted, dropouts, graduates


@njit(cache=True)
def _place_units_guided(rng: Any, cum: Any, k: int, n: int, guide: Any, out: Any) -> None:  # pragma: no cover
    """:func:`_place_units` on sections ``0 … k − 1`` of row 0, each unit to the same section for the same
    uniform, found by a guide table (Chen & Asau 1974) instead of a binary search: ``guide[i]`` is the section
    where the ``i``-th of ``k`` equal slices of ``[0, W)`` starts, so a unit needs a step or two of linear
    search from the guide of its slice."""
    _fill_guide(cum, k, guide)
    for _ in range(n):
        out[0, _guided_section(rng.random(), cum, k, guide)] += 1


@njit(cache=True)
def _fill_guide(cum: Any, k: int, guide: Any) -> None:  # pragma: no cover - compiled
    """The guide table of :func:`_place_units_guided` for sections ``0 … k − 1`` of row 0 of ``cum``."""
    base = cum[0, 0]
    width = cum[0, k] - base
    j = 0
    for i in range(k):
        threshold = base + width * i / k
        while j < k - 1 and cum[0, j + 1] <= threshold:
            j += 1
        guide[i] = j


@njit(cache=True)
def _guided_section(u: float, cum: Any, k: int, guide: Any) -> int:  # pragma: no cover - compiled
    """The section of the uniform ``u`` in :func:`_place_units_guided` (guide table of :func:`_fill_guide`)."""
    base = cum[0, 0]
    width = cum[0, k] - base
    t = base + u * width
    a = guide[min(int(u * k), k - 1)]
    while a < k - 1 and cum[0, a + 1] <= t:  # largest a with cum[a] <= t, as in _place_units
        a += 1
    while a > 0 and cum[0, a] > t:  # only if rounding put t below its slice's start
        a -= 1
    while cum[0, a + 1] == cum[0, a]:  # only by rounding at the top: step down to a section with weight
        a -= 1
    return a


@njit(cache=True)
def _split_weighted(rng: Any, count: int, w: Any, d: int, b: int, sections: Any, lo: int, k: int, tot: Any,
                    cum: Any, start: Any, size: Any, local: Any, guide: Any, stack: Any,
                    out: Any) -> bool:  # pragma: no cover - compiled
    """``Multinomial(count, w[d, sections[lo : lo + k], b] / W)`` added to ``out[d, sections[…], b]`` by the
    tree of :func:`_split_rows` on scratch arrays; ``False`` (nothing placed) when ``W`` is not positive."""
    cum[0, 0] = 0.0
    for j in range(k):
        cum[0, j + 1] = cum[0, j] + w[d, sections[lo + j], b]
        local[0, j] = 0
    if not cum[0, k] > 0.0:
        return False
    if k == 1:
        local[0, 0] = count
    elif count <= _UNIT_BY_UNIT * k:  # what _split_rows does at the root: _place_units_guided, written out
        _fill_guide(cum, k, guide)
        for _ in range(count):
            local[0, _guided_section(rng.random(), cum, k, guide)] += 1
    else:
        tot[0, 0] = count
        size[0] = k
        key = np.empty((1, 1), dtype=np.uint64)  # the tree's substream, seeded by one number of rng
        key[0, 0] = np.uint64(rng.random() * 9007199254740992.0)
        _split_rows(key, tot, cum, start, size, False, local, stack)
    for j in range(k):
        out[d, sections[lo + j], b] += local[0, j]
    return True


def _group_scratch(largest: int) -> tuple[IntArray, npt.NDArray[np.float64], IntArray, IntArray, IntArray,
                                          IntArray, IntArray]:
    """Scratch arrays of :func:`_split_weighted` for groups of at most ``largest`` sections."""
    return (np.zeros((1, 1), np.int64), np.zeros((1, largest + 1), np.float64), np.zeros(1, np.int64),
            np.zeros(1, np.int64), np.zeros((1, max(largest, 1)), np.int64), np.zeros(max(largest, 1), np.int64),
            _stacks())


@njit(cache=True)
def _allocate_groups(rng: Any, n: Any, w: Any, sections: Any, start: Any, size: Any, tot: Any, cum: Any,
                     st0: Any, sz: Any, local: Any, guide: Any, stack: Any,
                     out: Any) -> int:  # pragma: no cover - compiled
    d_n, g_n, b_n = n.shape
    for d in range(d_n):
        for g in range(g_n):
            for b in range(b_n):
                if n[d, g, b] <= 0:
                    continue
                if not _split_weighted(rng, n[d, g, b], w, d, b, sections, start[g], size[g], tot, cum, st0,
                                       sz, local, guide, stack, out):
                    return g
    return -1


def allocate_groups(n: npt.ArrayLike, weights: npt.ArrayLike, sections: npt.ArrayLike, start: npt.ArrayLike,
                    size: npt.ArrayLike, rng: np.random.Generator) -> tuple[IntArray, int]:
    """``Multinomial(n[d, g, b], w[d, members of g, b] / W)`` over the members of every group, added up in a
    ``(D, S, B)`` array.

    Parameters
    ----------
    n
        ``(D, G, B)`` counts to place.
    weights
        ``(D, S, B)`` non-negative weights (a broadcast view is read as is, never copied).
    sections, start, size
        Members of the groups: ``sections[start[g] : start[g] + size[g]]`` are the sections of group ``g``.
    rng
        Random generator.

    Returns
    -------
    The ``(D, S, B)`` placements, and ``-1``, or the first group with a positive count and no positive weight
    (then the placement stopped there). Random numbers: draw by draw, then group by group and slot by slot,
    only where something is placed; each by binomial splitting down a tree of the group's sections
    (:func:`_split_rows`: exactly multinomial).
    """
    counts = np.asarray(n, dtype=np.int64)
    w = np.asarray(weights, dtype=np.float64)
    members = np.ascontiguousarray(sections, dtype=np.int64)
    first = np.ascontiguousarray(start, dtype=np.int64)
    count = np.ascontiguousarray(size, dtype=np.int64)
    out = np.zeros(w.shape, dtype=np.int64)
    tot, cum, st0, sz, local, guide, stack = _group_scratch(int(count.max()) if count.size else 0)
    bad = _allocate_groups(rng, counts, w, members, first, count, tot, cum, st0, sz, local, guide, stack, out)
    return out, int(bad)


@njit(cache=True)
def _drift_counties(rng: Any, stock: Any, p: Any, w: Any, rural: Any, rural_start: Any, rural_size: Any,
                    receiving: Any, receiving_start: Any, receiving_size: Any, cum: Any, tot: Any, start: Any,
                    size: Any, local: Any, stack: Any, moved_out: Any,
                    moved_in: Any) -> None:  # pragma: no cover - compiled
    """The kernel of :func:`drift_counties`. Per draw and county, one pass over the receiving sections builds
    the running sums of their weights for every slot at once (``cum[b]``, the slot's total ``W`` in
    ``cum[b, k]``); each slot's movers are then placed as :func:`_split_weighted` places them (unit by unit,
    each by a binary search in ``cum[b]`` that finds the section of the guide table, or down the tree of
    :func:`_split_rows` on row ``b``), with the same random numbers."""
    d_n = stock.shape[0]
    b_n = stock.shape[2]
    movers = np.zeros(b_n, dtype=np.int64)
    tab = np.empty(_TABLE_MAX + 1, dtype=np.float64)
    inv = np.empty(_TABLE_MAX + 1, dtype=np.float64)
    for d in range(d_n):
        rate = p[d]
        if rate <= 0.0:
            continue
        top = _binomial_table(rate, tab, inv)
        for c in range(rural_start.size):
            k = receiving_size[c]
            first = receiving_start[c]
            if rural_size[c] == 0 or k == 0:
                continue
            for b in range(b_n):
                cum[b, 0] = 0.0
            for j in range(k):
                s = receiving[first + j]
                for b in range(b_n):
                    cum[b, j + 1] = cum[b, j] + w[d, s, b]
            movers[:] = 0
            for j in range(rural_start[c], rural_start[c] + rural_size[c]):
                s = rural[j]
                for b in range(b_n):
                    u = rng.random()  # one per rural cell, used or not: counts move no other cell's number
                    n = stock[d, s, b]
                    if n > 0 and cum[b, k] > 0.0:
                        x = _tabled_inverse(u, n, rate, tab, inv) if n <= top else _binomial_at(u, n, rate)
                        moved_out[d, s, b] = x
                        movers[b] += x
            for b in range(b_n):
                # sequential conditional binomials, one uniform per receiving section, used or not: each
                # section's share never falls when the slot's movers grow (quantile coupling)
                count = movers[b]
                width = cum[b, k]
                for j in range(k):
                    u = rng.random()
                    if count == 0 or width <= 0.0:
                        continue
                    rest = width - cum[b, j]
                    after = width - cum[b, j + 1]
                    if after <= 1e-12 * width:
                        x = count
                    else:
                        x = _binomial_at(u, count, min((cum[b, j + 1] - cum[b, j]) / rest, 1.0))
                    moved_in[d, receiving[first + j], b] += x
                    count -= x


def drift_counties(stock: npt.ArrayLike, rate: npt.ArrayLike, weights: npt.ArrayLike, rural: npt.ArrayLike,
                   rural_start: npt.ArrayLike, rural_size: npt.ArrayLike, receiving: npt.ArrayLike,
                   receiving_start: npt.ArrayLike, receiving_size: npt.ArrayLike,
                   rng: np.random.Generator) -> tuple[IntArray, IntArray]:
    """Moves from the rural sections of each county to its receiving sections: ``(moved_out, moved_in)``.

    For every draw ``d`` and county ``c`` (the members of county ``c`` are ``rural[rural_start[c] : … +
    rural_size[c]]`` and likewise ``receiving``), and every slot ``b`` where the receiving weights
    ``w[d, receiving sections, b]`` have a positive sum ``W``: each rural cell moves ``Binomial(stock, rate[d])``
    (cell by cell, sections then slots; :func:`_tabled_inverse`), and the movers of the slot are placed by
    ``Multinomial(movers, w / W)`` over the receiving sections, as successive binomials: section ``j`` takes
    ``Binomial(left, w_j / (W − w_0 − … − w_{j−1}))`` of the movers not yet placed. Every rural cell and every
    (slot, receiving section) reads one uniform through the binomial quantile (:func:`_binomial_at`), whatever
    the counts, so more teachers in a rural cell never give fewer movers, nor a receiving section fewer arrivals
    (issue 16 item 5; until 2026-12-06 empty cells used no number and the placement a splitting tree or unit
    by unit, so a count that changed moved every later number). Counties without rural or receiving sections
    use no random number.
    Arguments are checked by the caller: counts non-negative, ``rate`` ``(D,)`` in [0, 1], weights ``(D, S, B)``
    non-negative (a broadcast view is fine; integers are read as such, without a float copy). Random numbers:
    draw by draw, county by county.
    """
    st = np.asarray(stock, dtype=np.int64)
    w = np.asarray(weights)
    w = w.astype(np.int64 if w.dtype.kind in "biu" else np.float64, copy=False)
    p = np.ascontiguousarray(rate, dtype=np.float64)
    recv_size = np.ascontiguousarray(receiving_size, dtype=np.int64)
    moved_out = np.zeros(st.shape, dtype=np.int64)
    moved_in = np.zeros(st.shape, dtype=np.int64)
    largest = int(recv_size.max()) if recv_size.size else 0
    n_slots = st.shape[2]
    _drift_counties(rng, st, p, w, np.ascontiguousarray(rural, dtype=np.int64),
                    np.ascontiguousarray(rural_start, dtype=np.int64),
                    np.ascontiguousarray(rural_size, dtype=np.int64),
                    np.ascontiguousarray(receiving, dtype=np.int64),
                    np.ascontiguousarray(receiving_start, dtype=np.int64), recv_size,
                    np.zeros((n_slots, largest + 1)), np.zeros((n_slots, 1), np.int64), np.zeros(1, np.int64),
                    np.zeros(1, np.int64), np.zeros((n_slots, max(largest, 1)), np.int64), _stacks(), moved_out,
                    moved_in)
    return moved_out, moved_in
