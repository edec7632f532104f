"""Compiled (numba) group sums and deterministic allocations of the cohort engine.

The engine sums ``(D, S)`` and ``(D, S, K)`` arrays over the sections of each county, school or
(county, level) pair hundreds of times a year. Done with ``np.bincount`` each sum built a flattened
(draw, group) index and a float copy of the values; these kernels loop over the cells once, in compiled code,
without temporaries.

Exactness: every kernel adds the values of a group **in section order, starting from 0.0**, as
``np.bincount(index, weights=…)`` does, and performs the same floating-point operations in the same order as
the numpy code it replaces (no ``fastmath``), so its results are bit-identical to that code (tests compare them
exactly). Integer counts below ``2**53`` add exactly in any order anyway.

Nothing here is random: the kernels take no generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def check_groups(group: npt.ArrayLike, n_groups: int, n_sections: int | None = None, name: str = "group") -> IntArray:
    """A 1-D group index as ``int64``, checked to lie in ``[0, n_groups)`` (the kernels index with it); ``name``
    is the argument's name in the error messages."""
    grp = np.asarray(group)
    if grp.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one entry per section), got shape {grp.shape}")
    if grp.size and not np.issubdtype(grp.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {grp.dtype}")
    grp = grp.astype(np.int64, copy=False)
    if n_sections is not None and grp.size != n_sections:
        raise ValueError(f"{name} has {grp.size} entries for {n_sections} sections")
    if grp.size and (grp.min() < 0 or grp.max() >= n_groups):
        raise ValueError(f"{name} indices must be in [0, {n_groups}), got {grp.min()}..{grp.max()}")
    return grp


# ------------------------------------------------------------------------------------------------------------
# sums


@njit(cache=True)
def _scatter_add(values: Any, group: Any, out: Any) -> None:  # pragma: no cover - compiled
    """``out[d, group[s], k] += values[d, s, k]`` in section order, summing runs of one group in a register.

    The running sum of a group is taken up where it stopped (``out``), so the additions are exactly those of a
    plain scatter in section order whatever the grouping; sections sorted by group make one run per group.
    """
    n_draws, n_sections, n_k = values.shape
    if n_sections == 0:
        return
    for d in range(n_draws):
        for k in range(n_k):
            g = group[0]
            acc = out[d, g, k]
            for s in range(n_sections):
                h = group[s]
                if h != g:
                    out[d, g, k] = acc
                    g = h
                    acc = out[d, g, k]
                acc += values[d, s, k]
            out[d, g, k] = acc


def group_sum3(values: npt.ArrayLike, group: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Sum ``values (D, S, *tail)`` over the sections of each group: ``float64 (D, n_groups, *tail)``.

    Floating-point values are added in section order from 0.0, so the result equals ``np.bincount`` over the
    flattened (draw, group) index bit for bit; integer and bool values are summed exactly in ``int64`` (the
    same numbers as float sums while they stay below ``2**53``). ``values`` may be a broadcast view (numeric
    values are never copied).
    """
    v = np.asarray(values)
    if v.ndim < 2:
        raise ValueError(f"values must have shape (D, S, ...), got {v.shape}")
    n_draws, n_sections = v.shape[0], v.shape[1]
    grp = check_groups(group, n_groups, n_sections)
    tail = v.shape[2:]
    v3 = v.reshape(n_draws, n_sections, -1) if v.ndim != 3 else v
    if v3.dtype == np.bool_:
        v3 = v3.view(np.uint8)
    if v3.dtype.kind in "iu":  # counts: exact int64 sums (the same floats below 2**53), faster than floats
        counts = np.zeros((n_draws, n_groups, v3.shape[2]), dtype=np.int64)
        if v3.size:
            _scatter_add(v3, grp, counts)
        return counts.astype(np.float64).reshape((n_draws, n_groups, *tail))
    out = np.zeros((n_draws, n_groups, v3.shape[2]), dtype=np.float64)
    if v3.size:
        _scatter_add(v3.astype(np.float64, copy=False), grp, out)
    return out.reshape((n_draws, n_groups, *tail))


def group_sum(values: npt.ArrayLike, group: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Sum ``(D, S)`` values over the sections of each group: ``float64 (D, n_groups)`` (see :func:`group_sum3`)."""
    v = np.asarray(values)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (D, S), got {v.shape}")
    return group_sum3(v[:, :, None], group, n_groups)[:, :, 0]


@njit(cache=True)
def _last_axis_sum(values: Any, out: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections, n_k = values.shape
    for d in range(n_draws):
        for s in range(n_sections):
            acc = values[d, s, 0]
            for k in range(1, n_k):
                acc += values[d, s, k]
            out[d, s] = acc


def last_axis_sum(values: npt.NDArray[np.int64]) -> IntArray:
    """``int64 (D, S, K)`` → its sum over the last axis, ``int64 (D, S)`` (exact)."""
    v = np.asarray(values)
    if v.ndim != 3 or v.dtype != np.int64:
        raise ValueError(f"values must be int64 (D, S, K), got {v.dtype} {v.shape}")
    if v.shape[2] == 0:
        return np.zeros(v.shape[:2], dtype=np.int64)
    out = np.empty(v.shape[:2], dtype=np.int64)
    _last_axis_sum(v, out)
    return out


# ------------------------------------------------------------------------------------------------------------
# coefficient of variation


@njit(cache=True, inline="always")
def _cv_weight(w: Any, include: Any, weighted: bool, d: int, s: int) -> float:  # pragma: no cover - compiled
    """Weight of section ``s`` of draw ``d`` in its group's CV: 0 when it is not included (or, weighted, when its
    weight is not positive), else its weight (1 unweighted). Both passes of :func:`_cv_rows` use it."""
    if not include[d, s]:
        return 0.0
    wi = w[d, s] if weighted else 1.0
    return wi if wi > 0.0 else 0.0


@njit(cache=True)
def _cv_rows(x: Any, w: Any, include: Any, group: Any, n_groups: int, weighted: bool,
             cv: Any, n_included: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections, n_k = x.shape
    total = np.zeros(n_groups)
    sums = np.zeros((n_groups, n_k))
    mean = np.zeros((n_groups, n_k))
    square = np.zeros((n_groups, n_k))
    for d in range(n_draws):
        total[:] = 0.0
        sums[:, :] = 0.0
        square[:, :] = 0.0
        for s in range(n_sections):
            wi = _cv_weight(w, include, weighted, d, s)
            if wi == 0.0:
                continue
            g = group[s]
            n_included[d, g] += 1
            total[g] += wi
            for k in range(n_k):
                sums[g, k] += wi * x[d, s, k]
        for g in range(n_groups):
            if total[g] > 0.0:
                for k in range(n_k):
                    mean[g, k] = sums[g, k] / total[g]
        for s in range(n_sections):
            wi = _cv_weight(w, include, weighted, d, s)
            if wi == 0.0:
                continue
            g = group[s]
            for k in range(n_k):
                deviation = x[d, s, k] - mean[g, k]
                deviation *= deviation
                deviation *= wi
                square[g, k] += deviation
        for g in range(n_groups):
            n = n_included[d, g]
            if n == 0:
                continue  # NaN, set by the caller
            for k in range(n_k):
                cv[d, g, k] = 0.0
                if n < 2 or not total[g] > 0.0:
                    continue
                sd = np.sqrt(square[g, k] / total[g])
                if sd > 0.0:
                    m = mean[g, k]
                    cv[d, g, k] = sd / m if m != 0.0 else np.inf


def weighted_cv(x: npt.NDArray[np.float64], weights: npt.NDArray[np.float64] | None,
                include: npt.NDArray[np.bool_], group: IntArray, n_groups: int) -> tuple[FloatArray, IntArray]:
    """Weighted CV of ``x (D, S, K)`` over the included sections of each group: ``(D, G, K)``, and counts.

    ``include (D, S)`` must leave out sections with non-finite values; with ``weights (D, S)`` sections of
    weight ≤ 0 are left out too, without weights every included section weighs 1. The group mean is
    ``Σ w x / Σ w``, the variance ``Σ w (x − mean)² / Σ w``; CV = sd / mean, 0 for a group of one section or
    no spread, ``inf`` for spread around a zero mean, NaN for a group with no included section.
    """
    n_draws = x.shape[0]
    cv = np.full((n_draws, n_groups, x.shape[2]), np.nan)
    n_included = np.zeros((n_draws, n_groups), dtype=np.int64)
    w = np.zeros((1, 1)) if weights is None else weights
    _cv_rows(x, w, include, group, n_groups, weights is not None, cv, n_included)
    return cv, n_included


# ------------------------------------------------------------------------------------------------------------
# largest remainder


@njit(cache=True)
def _group_order(group: Any, n_groups: int) -> tuple[Any, Any]:  # pragma: no cover - compiled
    """Sections in group order (stable counting sort) and the start of each group in it (``G + 1`` entries)."""
    start = np.zeros(n_groups + 1, dtype=np.int64)
    for s in range(group.size):
        start[group[s] + 1] += 1
    for g in range(n_groups):
        start[g + 1] += start[g]
    fill = start[:-1].copy()
    order = np.empty(group.size, dtype=np.int64)
    for s in range(group.size):
        g = group[s]
        order[fill[g]] = s
        fill[g] += 1
    return order, start


_INSERTION_SORT_MAX = 48
"""Groups with at most this many candidates for a left-over unit are sorted by insertion (no allocation)."""


@njit(cache=True)
def _largest_remainder_rows(tot: Any, w: Any, group: Any, n_groups: int, out: Any) -> None:  # pragma: no cover
    n_draws, n_sections = w.shape
    order, start = _group_order(group, n_groups)
    w_group = np.zeros(n_groups)
    base_group = np.zeros(n_groups)
    frac = np.empty(n_sections)
    keys = np.empty(n_sections)
    candidates = np.empty(n_sections, dtype=np.int64)
    for d in range(n_draws):
        w_group[:] = 0.0
        base_group[:] = 0.0
        for s in range(n_sections):
            w_group[group[s]] += w[d, s]
        for s in range(n_sections):
            g = group[s]
            denom = w_group[g] if w_group[g] > 0.0 else 1.0
            exact = tot[d, g] * w[d, s] / denom
            base = np.floor(exact)
            out[d, s] = np.int64(base)
            base_group[g] += base
            # key of the numpy version: group * 4 − fractional part (−1 for a zero weight), stable ascending
            frac[s] = np.float64(g) * 4.0 - ((exact - base) if w[d, s] > 0.0 else -1.0)
        for g in range(n_groups):
            left = tot[d, g] - np.int64(np.rint(base_group[g]))
            if left <= 0:
                continue
            # Only sections with a positive fractional part (key below 4 g) can come first; when they are
            # at least ``left``, sorting them alone gives the same first ``left`` as sorting the whole group.
            n_candidates = 0
            for j in range(start[g], start[g + 1]):
                if frac[order[j]] < g * 4.0:
                    candidates[n_candidates] = order[j]
                    n_candidates += 1
            if n_candidates < left:
                n_candidates = start[g + 1] - start[g]
                candidates[:n_candidates] = order[start[g]:start[g + 1]]
            if n_candidates <= _INSERTION_SORT_MAX:  # stable insertion sort of the few candidates
                for j in range(1, n_candidates):
                    c = candidates[j]
                    key = frac[c]
                    i = j - 1
                    while i >= 0 and frac[candidates[i]] > key:
                        candidates[i + 1] = candidates[i]
                        i -= 1
                    candidates[i + 1] = c
                for j in range(min(left, n_candidates)):
                    out[d, candidates[j]] += 1
                continue
            for j in range(n_candidates):
                keys[j] = frac[candidates[j]]
            ranked = np.argsort(keys[:n_candidates], kind="mergesort")  # stable: ties by section order
            for j in range(min(left, n_candidates)):
                out[d, candidates[ranked[j]]] += 1


def largest_remainder(tot: IntArray, w: FloatArray, group: IntArray, n_groups: int) -> IntArray:
    """Largest-remainder split of ``tot (D, G)`` by ``w (D, S)`` (checked by the caller): ``int64 (D, S)``.

    The rule and the tie-breaking of :func:`sim.mechanisms.quota.allocate_largest_remainder`, computed
    draw by draw; only the groups with left-over units are sorted.
    """
    out = np.empty(w.shape, dtype=np.int64)  # every cell written by the kernel
    if w.size:
        _largest_remainder_rows(np.ascontiguousarray(tot), w, group, n_groups, out)
    return out


# ------------------------------------------------------------------------------------------------------------
# running sums in group order


@njit(cache=True)
def _running_sums(w: Any, order: Any, running: Any) -> None:  # pragma: no cover - compiled
    n_rows = w.shape[0]
    for r in range(n_rows):
        acc = running[r, 0]
        for j in range(order.size):
            acc += w[r, order[j]]
            running[r, j + 1] = acc


def group_layout(group: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """Sections in group order (stable) and the start of each group in that order (``G + 1`` entries)."""
    return _group_order(group, n_groups)


def running_sums(weights: npt.NDArray[Any], order: IntArray) -> npt.NDArray[Any]:
    """``(R, S + 1)`` running sums of ``weights (R, S)`` taken in ``order``, starting at 0, in its dtype.

    The same numbers as ``np.cumsum(weights[:, order], axis=1)`` (sequential additions), without the gathered
    copy.
    """
    running = np.empty((weights.shape[0], order.size + 1), dtype=weights.dtype)
    running[:, 0] = 0
    _running_sums(weights, order, running)
    return running


@njit(cache=True)
def _scatter_columns(values: Any, order: Any, out: Any) -> None:  # pragma: no cover - compiled
    for r in range(values.shape[0]):
        for j in range(order.size):
            out[r, order[j]] = values[r, j]


def scatter_columns(values: IntArray, order: IntArray) -> IntArray:
    """``out[:, order] = values``: columns given in ``order`` back to section order."""
    out = np.empty_like(values)
    _scatter_columns(values, order, out)
    return out


# ------------------------------------------------------------------------------------------------------------
# construction pipeline


@njit(cache=True)
def _advance_pipeline(spend: Any, pipe: Any, lag: Any, construction: Any, arrived: Any,
                      advanced: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections, n_items, n_slots = pipe.shape
    for d in range(n_draws):
        for s in range(n_sections):
            for i in range(n_items):
                slot = lag[d] if construction[i] else 0
                add = spend[d, s, i]
                v0 = pipe[d, s, i, 0]
                arrived[d, s, i] = v0 + add if slot == 0 else v0
                for j in range(1, n_slots):
                    v = pipe[d, s, i, j]
                    advanced[d, s, i, j - 1] = v + add if j == slot else v
                advanced[d, s, i, n_slots - 1] = 0.0


def advance_pipeline(spend: FloatArray, pipe: FloatArray, lag: IntArray,
                     construction: npt.NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """Add ``spend (D, S, I)`` at slot ``lag[d]`` (items with ``construction``) or 0, deliver slot 0, shift.

    Returns ``(arrived (D, S, I), advanced (D, S, I, L))``; ``pipe`` is not modified.
    """
    arrived = np.empty(spend.shape, dtype=np.float64)
    advanced = np.empty(pipe.shape, dtype=np.float64)
    _advance_pipeline(spend, pipe, lag, construction, arrived, advanced)
    return arrived, advanced


# ------------------------------------------------------------------------------------------------------------
# maxima


@njit(cache=True)
def _scatter_max(values: Any, group: Any, out: Any) -> None:  # pragma: no cover - compiled
    n_draws, n_sections = values.shape
    for d in range(n_draws):
        for s in range(n_sections):
            g = group[s]
            v = values[d, s]
            if v != v or v > out[d, g]:  # NaN propagates, as in np.maximum
                out[d, g] = v


def group_max(values: npt.ArrayLike, group: npt.ArrayLike, n_groups: int) -> FloatArray:
    """Largest of ``values (D, S)`` over the sections of each group: ``float64 (D, n_groups)``, ``-inf`` for an
    empty group, NaN for a group with a NaN value (as ``np.maximum.at`` on ``-inf``)."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (D, S), got {v.shape}")
    grp = check_groups(group, n_groups, v.shape[1])
    out = np.full((v.shape[0], n_groups), -np.inf)
    _scatter_max(v, grp, out)
    return out
