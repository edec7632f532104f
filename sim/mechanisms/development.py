"""Development: qualification upgrades, backbone cultivation and loss, PE/art retraining.

Mechanism 7 of ``DESIGN.md`` §3 (training throughput levers). Plan of 2025-01-26, §二(一)3
"大力培養一批教育家型教師和優秀骨干教師" and §二(三)3 "深入實施新時代中小學名師培養計劃 …
面向南疆設置教師能力提升 … 培訓項目". The indicators fed are 1–3 of 教督〔2017〕6號 (teachers above the
required qualification, county-level-or-above backbone teachers, PE and art teachers per 100 students;
SOURCES.md §3a).

Every flow is a binomial thinning of the stock it comes from, so it never exceeds that stock; a share of 0
gives no flow. Shares are per year; levers are scalars, uncertainties ``(D, 1)``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.mechanisms import kernels

IntArray = npt.NDArray[np.int64]

BACKBONE_RETENTION_RANGE = (0.85, 0.97)
"""Plausible yearly probability that a backbone teacher keeps the title (assumption: county backbone titles
are re-assessed every 3–5 years and some holders are promoted out of the classroom; no figure was found)."""


def _thin(stock: npt.ArrayLike, share: float | npt.ArrayLike, rng: np.random.Generator, name: str) -> IntArray:
    """``Binomial(stock, share)`` with ``share`` a scalar or per-draw ``(D,)``/``(D, 1)`` probability."""
    s = np.asarray(stock, dtype=np.int64)
    if s.size and s.min() < 0:
        raise ValueError(f"{name}: stock must be non-negative")
    p = np.asarray(share, dtype=np.float64)
    if p.ndim >= 1 and p.size == s.shape[0] and s.ndim > 1:
        p = p.reshape((s.shape[0],) + (1,) * (s.ndim - 1))
    if p.size and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"{name} must be in [0, 1]")
    return kernels.binomial(s, p, rng)


def qualification_upgrade(
    stock_not_qualified: npt.ArrayLike, upgrade_share: float | npt.ArrayLike, rng: np.random.Generator
) -> IntArray:
    """Teachers who reach more than the required qualification this year (in-service degree programmes).

    ``Binomial(not qualified, upgrade_share)``; ``upgrade_share`` is a training-throughput lever (share of the
    not-yet-qualified teachers completing an in-service degree per year; assumption, no figure found).

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``, never above ``stock_not_qualified``.
    """
    return _thin(stock_not_qualified, upgrade_share, rng, "upgrade_share")


def backbone_cultivation(
    stock_non_backbone_qualified: npt.ArrayLike,
    cultivation_share: float | npt.ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Qualified non-backbone teachers recognised as county-level-or-above backbone teachers this year.

    ``Binomial(qualified non-backbone, cultivation_share)``; the share is a lever (名師 / 骨干 training
    programmes). Only teachers above the required qualification are candidates (assumption: recognition
    procedures require it in practice).
    """
    return _thin(stock_non_backbone_qualified, cultivation_share, rng, "cultivation_share")


def backbone_loss(backbone: npt.ArrayLike, retention: float | npt.ArrayLike, rng: np.random.Generator) -> IntArray:
    """Backbone teachers who lose the title this year while staying in post.

    ``Binomial(backbone, 1 - retention)``; ``retention`` is an uncertainty (:data:`BACKBONE_RETENTION_RANGE`).
    Exits from teaching are handled by the teacher-exit mechanism, not here.
    """
    keep = np.asarray(retention, dtype=np.float64)
    if np.any((keep < 0) | (keep > 1)):
        raise ValueError("retention must be in [0, 1]")
    return _thin(backbone, 1.0 - keep, rng, "1 - retention")


def pe_art_shortfall(
    students: npt.ArrayLike,
    pe_art_teachers: npt.ArrayLike,
    section_level: npt.ArrayLike,
    required_per_100_students: npt.ArrayLike = (0.9, 0.9),
) -> IntArray:
    """PE and art teachers missing to reach the threshold, ``ceil(students * rate / 100) - pe_art``, ``>= 0``.

    ``required_per_100_students`` is indicator 3 of 教督〔2017〕6號: 0.9 for primary and junior (SOURCES.md
    §3a; the caller should load it from ``youzhi_junheng_2017_standard.csv``).

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)`` teachers.
    """
    rate = np.asarray(required_per_100_students, dtype=np.float64)
    lvl = np.asarray(section_level, dtype=np.int64)
    need = np.ceil(np.asarray(students, dtype=np.float64) * rate[lvl][None, :] / 100.0 - 1e-9)
    gap = need - np.asarray(pe_art_teachers, dtype=np.float64)
    return np.maximum(gap, 0.0).astype(np.int64)


def pe_art_retraining(
    non_pe_art_teachers: npt.ArrayLike,
    shortfall: npt.ArrayLike,
    retraining_share: float | npt.ArrayLike | None,
    rng: np.random.Generator,
) -> IntArray:
    """Teachers of other subjects trained and assigned to teach PE or art (一專多能 / 轉崗).

    Rule (assumption): only schools short of PE and art teachers retrain; the candidates are
    ``min(other-subject teachers, shortfall)`` and each is retrained with probability ``retraining_share``
    (lever). ``None`` (the lever not used) or 0 gives no flow. A share of 1 closes the shortfall in one year
    where enough teachers exist.

    Parameters
    ----------
    non_pe_art_teachers
        ``(D, S)`` teachers not counted as PE/art.
    shortfall
        ``(D, S)`` from :func:`pe_art_shortfall`.
    retraining_share
        Lever in [0, 1], or ``None``.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)``, at most the shortfall and at most the other-subject teachers.
    """
    teachers = np.asarray(non_pe_art_teachers, dtype=np.int64)
    if retraining_share is None:
        return np.zeros_like(teachers)
    candidates = np.maximum(np.minimum(teachers, np.asarray(shortfall, dtype=np.int64)), 0)
    return _thin(candidates, retraining_share, rng, "retraining_share")
