"""Dispatched teachers (援疆 / 銀齡講學 / 西部計劃): arrivals, terms and what they count toward.

Mechanism 6 of ``DESIGN.md`` §3. Plan of 2025-01-26, §二(一)3:
"優化拓展'組團式'援疆、銀齡講學計劃、西部計劃志願者
等資源,每年選派5000人左右到中小學任教,重點向南疆地區中小學傾斜". Dispatched teachers serve 1–3 years (DESIGN
§2), are not part of the county's staffing quota stock, and whether they count toward each indicator is an
explicit option (:func:`counted_dispatched`).

Term bookkeeping: dispatched teachers in post are held in a ``(D, S, T)`` array, ``T = MAX_TERM_YEARS``, where
slot ``j`` holds those with ``j + 1`` years left. Arrivals with a term of ``t`` years enter slot ``t - 1``
(:func:`start_terms`); each year :func:`advance_terms` releases slot 0 (they leave) and shifts the others
down. A teacher arriving in year ``y`` with term ``t`` is in post for the years ``y .. y + t - 1``.
The backbone and PE/art sub-counts drawn at arrival (:func:`dispatch_attributes`) go through the same two
functions, in their own term arrays, so they leave with the teachers they belong to.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from sim.errors import suggest
from sim.mechanisms import kernels
from sim.mechanisms.quota import group_sum
from sim.vocabulary import INDICATOR_GROUPS, N_LEVELS

IntArray = npt.NDArray[np.int64]

MAX_TERM_YEARS = 3
"""Longest dispatch term, years (DESIGN §2: teachers sent from outside for 1–3 years)."""

INDICATORS: tuple[str, ...] = INDICATOR_GROUPS
"""Indicators a dispatched teacher may count toward (:data:`sim.vocabulary.INDICATOR_GROUPS`)."""

BACKBONE_SHARE_RANGE = (0.2, 0.5)
"""Plausible share of backbone teachers among dispatched teachers (assumption). In September 2025 the stock
was 3,700 paired-province exchange teachers, 1,000 retired (銀齡) teachers and 4,200 西部計劃 volunteers
(SOURCES.md §4c); if about 70% of the first two groups and none of the volunteers are county-level backbone
teachers, the share is about 0.37."""

PE_ART_SHARE_RANGE = (0.03, 0.12)
"""Plausible share of dispatched teachers who teach PE, music or fine art (assumption: paired-province teams
are mostly core-subject teachers; volunteers include some PE and art graduates). No figure was found."""


def _per_draw(value: float | npt.ArrayLike, n_draws: int, name: str) -> npt.NDArray[np.float64]:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64).reshape(-1, 1), (n_draws, 1))
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must be in [0, 1]")
    return arr


def dispatch_arrivals(
    per_year: int,
    south_share: float,
    junior_share: float,
    arrival_share: float | npt.ArrayLike,
    county_south: npt.ArrayLike,
    section_county: npt.ArrayLike,
    section_level: npt.ArrayLike,
    section_weight: npt.ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Dispatched teachers arriving this year, per section.

    Rule:

    1. Arrivals ``A ~ Binomial(per_year, arrival_share)``: the plan's ~5,000 a year (lever ``per_year``) and
       an uncertain share of planned places actually filled (``arrival_share``, scalar or ``(D, 1)``).
    2. ``A`` is split deterministically among four cells — south/other × primary/junior: the south receives
       ``round(A × south_share)`` (halves up), and each side's junior sections ``round(side × junior_share)``,
       so when ``arrival_share = 1`` the south receives exactly ``per_year * south_share`` rounded, and in
       expectation otherwise. ``south_share`` is a lever (the plan: "重點向南疆傾斜"); a side (or a level of a
       side) with no section of positive weight in a draw is dropped from the split (its share goes to the
       other).
    3. Within a cell, each arrival goes to a section with probability proportional to ``section_weight`` (e.g.
       vacancy, or students; the caller decides and documents it): a multinomial split of the cell's arrivals
       among its sections (the same law as counties ∝ their summed weight, then sections within them).

    Random numbers (issue 16 item 5, monotone in the lever draw by draw): ``A`` is the quantile of one uniform
    of the draw (:func:`sim.mechanisms.kernels.binomial_quantile`), so it never falls when ``per_year`` or
    ``arrival_share`` grows; the rounding of step 2 never gives a cell fewer when ``A`` grows (two-way rounding
    has no Alabama paradox, unlike a largest-remainder split among four); and in step 3 the ``j``-th arrival of a
    cell is placed by the ``j``-th uniform of the cell's own stream (a generator per draw and cell, seeded from
    ``rng``), read through the cumulative weights, so one more arrival adds one teacher to one section and moves
    no other. With the same weights, every section receives at least as many when the lever grows.

    Parameters
    ----------
    per_year
        Planned dispatched teachers per year for the region.
    south_share, junior_share
        Shares in [0, 1] for the 33 southern counties and for junior sections.
    arrival_share
        Share of planned places filled, scalar or ``(D, 1)``.
    county_south
        ``bool[C]``.
    section_county, section_level
        Section layout.
    section_weight
        ``(D, S)`` non-negative weights.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        ``int64 (D, S)`` arrivals.
    """
    if per_year < 0 or not (0 <= south_share <= 1 and 0 <= junior_share <= 1):
        raise ValueError("per_year must be >= 0, south_share and junior_share in [0, 1]")
    w = np.asarray(section_weight, dtype=np.float64)
    if np.any(w < 0):
        raise ValueError("section_weight must be non-negative")
    n_draws, n_sections = w.shape
    south = np.asarray(county_south, dtype=bool)
    cty = np.asarray(section_county, dtype=np.int64)
    lvl = np.asarray(section_level, dtype=np.int64)
    share = _per_draw(arrival_share, n_draws, "arrival_share")[:, 0]

    # one row of numbers per draw (rows in order: a draw's numbers do not depend on the rows after it):
    # the arrivals' uniform, then the seeds of the four cells' placement streams
    numbers = rng.random((n_draws, 1 + 2 * N_LEVELS))
    arrivals = kernels.binomial_quantile(numbers[:, 0], per_year, share)

    # cells: index = south * N_LEVELS + level
    cell = south[cty].astype(np.int64) * N_LEVELS + lvl
    has_weight = group_sum(w, cell, 2 * N_LEVELS) > 0  # (D, 4)
    if np.any(~has_weight.any(axis=1) & (arrivals > 0)):
        raise ValueError("dispatched teachers arrive but no section has a positive weight")
    side_weight: npt.NDArray[np.bool_] = np.any(has_weight.reshape(n_draws, 2, N_LEVELS), axis=2)  # other, south
    to_south = _round_split(arrivals, south_share, side_weight[:, 1], side_weight[:, 0])
    per_cell = np.zeros((n_draws, 2 * N_LEVELS), dtype=np.int64)
    for side, side_total in ((0, arrivals - to_south), (1, to_south)):
        primary, junior = has_weight[:, side * N_LEVELS], has_weight[:, side * N_LEVELS + 1]
        to_junior = _round_split(side_total, junior_share, junior, primary)
        per_cell[:, side * N_LEVELS] = side_total - to_junior
        per_cell[:, side * N_LEVELS + 1] = to_junior

    seeds = (numbers[:, 1:] * 2.0**53).astype(np.int64)
    out = np.zeros((n_draws, n_sections), dtype=np.int64)
    for c in range(2 * N_LEVELS):
        members = np.flatnonzero(cell == c)
        for d in np.flatnonzero(per_cell[:, c]):
            cum = np.cumsum(w[d, members])
            units = np.random.Generator(np.random.PCG64(int(seeds[d, c]))).random(int(per_cell[d, c]))
            picked = np.searchsorted(cum, units * cum[-1], side="right")
            picked = np.minimum(picked, int(np.flatnonzero(w[d, members] > 0)[-1]))  # u · W rounded up to W
            out[d, members] += np.bincount(picked, minlength=members.size)
    return out


def _round_split(total: IntArray, share: float, first: npt.NDArray[np.bool_],
                 second: npt.NDArray[np.bool_]) -> IntArray:
    """``round(total × share)`` (halves up) for the first of two parts, ``total`` or 0 where only one of them
    can receive (``first``, ``second``: ``(D,)`` whether each has a section of positive weight). Never
    decreases, nor does its complement, when ``total`` grows."""
    rounded = np.floor(total * share + 0.5).astype(np.int64)
    return np.where(first & second, rounded, np.where(first, total, 0))


def dispatch_attributes(
    arrivals: npt.ArrayLike,
    backbone_share: float | npt.ArrayLike,
    pe_art_share: float | npt.ArrayLike,
    rng: np.random.Generator,
) -> tuple[IntArray, IntArray]:
    """Backbone and PE/art teachers among arrivals, drawn once at arrival and kept for the term.

    ``Binomial(arrivals, backbone_share)`` and ``Binomial(arrivals, pe_art_share)``, independently; shares are
    uncertainties (:data:`BACKBONE_SHARE_RANGE`, :data:`PE_ART_SHARE_RANGE`). All dispatched teachers are
    assumed to hold more than the required qualification (assumption: exchange teachers are serving teachers
    from eastern provinces, 銀齡 teachers experienced retirees, volunteers university graduates), so no draw
    is needed for qualification.

    Each cell and attribute reads its own uniform (``rng.random((*arrivals.shape, 2))``, drawn whatever the
    counts) through the binomial quantile (:func:`sim.mechanisms.kernels.binomial_quantile`): more arrivals in
    a section, or a higher share, never give fewer backbone or PE/art teachers there, and a change in one
    section or one attribute leaves the others' numbers unchanged (issue 16 item 5).

    Returns
    -------
    (backbone, pe_art)
        ``int64`` arrays shaped like ``arrivals``.
    """
    a = np.asarray(arrivals, dtype=np.int64)
    shape = (a.shape[0],) + (1,) * (a.ndim - 1)
    bb = _per_draw(backbone_share, a.shape[0], "backbone_share").reshape(shape)
    pa = _per_draw(pe_art_share, a.shape[0], "pe_art_share").reshape(shape)
    u = rng.random((*a.shape, 2))
    backbone = kernels.binomial_quantile(u[..., 0], a, bb)
    pe_art = kernels.binomial_quantile(u[..., 1], a, pa)
    return backbone, pe_art


def start_terms(arrivals: npt.ArrayLike, term_years: int) -> IntArray:
    """Place arrivals in the term array, ``(D, S, MAX_TERM_YEARS)``, slot ``term_years - 1``.

    ``term_years`` is a lever in ``1..MAX_TERM_YEARS``. Add the result to the running term array.
    """
    if not 1 <= term_years <= MAX_TERM_YEARS:
        raise ValueError(f"term_years must be in 1..{MAX_TERM_YEARS}, got {term_years}")
    a = np.asarray(arrivals, dtype=np.int64)
    terms = np.zeros((*a.shape, MAX_TERM_YEARS), dtype=np.int64)
    terms[..., term_years - 1] = a
    return terms


def advance_terms(terms: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """One year passes: teachers in slot 0 leave, the others have one year less to serve.

    Returns
    -------
    (leavers, next_terms)
        ``leavers`` ``(D, S)`` (their term ended) and the new term array; ``next_terms.sum(-1) =
        terms.sum(-1) - leavers``.
    """
    t = np.asarray(terms, dtype=np.int64)
    leavers = t[..., 0].copy()
    next_terms = np.zeros_like(t)
    next_terms[..., :-1] = t[..., 1:]
    return leavers, next_terms


def counted_dispatched(
    in_post: npt.ArrayLike,
    backbone: npt.ArrayLike,
    pe_art: npt.ArrayLike,
    counts_toward: Iterable[str],
) -> dict[str, IntArray]:
    """What dispatched teachers in post add to each indicator, under the stated option.

    Parameters
    ----------
    in_post
        ``(D, S)`` dispatched teachers in post (``terms.sum(-1)``).
    backbone, pe_art
        ``(D, S)`` backbone and PE/art teachers among them.
    counts_toward
        Subset of :data:`INDICATORS`. ``staffing``: they count toward the staffing norm (T5);
        ``qualification``: toward teachers above the required qualification (all of them, see
        :func:`dispatch_attributes`); ``backbone``: their backbone teachers count as county-level-or-above
        backbone teachers; ``pe_art``: their PE and art teachers count. The 2017 assessment counts full-time
        teachers of the school, so the conservative choice is the empty set; the plan's framing
        ("到中小學任教") supports counting them.

    Returns
    -------
    dict
        One ``int64 (D, S)`` array per indicator of :data:`INDICATORS`, zero for indicators not counted.
    """
    chosen = set(counts_toward)
    unknown = sorted(chosen - set(INDICATORS))
    if unknown:
        raise ValueError(f"unknown indicator {unknown[0]!r}: {suggest(unknown[0], INDICATORS)}")
    n = np.asarray(in_post, dtype=np.int64)
    values = {
        "staffing": n,
        "qualification": n,
        "backbone": np.asarray(backbone, dtype=np.int64),
        "pe_art": np.asarray(pe_art, dtype=np.int64),
    }
    return {k: (values[k].copy() if k in chosen else np.zeros_like(n)) for k in INDICATORS}
