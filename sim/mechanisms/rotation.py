"""Rotation (交流輪崗): teachers exchanged between schools of a county, towards rural and weak schools.

Mechanism 5 of ``DESIGN.md`` §3. Sources:

* The 2014 opinion of MOE, MOF and MOHRSS on county rotation of principals and teachers, and indicator 11 of
  the government-guarantee items of 教督〔2017〕6號: each year at least 10% of eligible teachers rotate, and
  backbone teachers are at least 20% of those rotated (SOURCES.md §3b, §4c).
* Plan of 2025-01-26, §二(三)2:
  "各縣(市、區)建立校長和骨干教師交流輪崗機制,鼓勵城鎮優秀校長、教師向農村學校流動"; teaching ≥1 year in a
  rural or weak school becomes a condition for a senior title.

Modelling choice: **an exchange with a net transfer of backbone teachers**. The 2014 opinion speaks of
exchanges between schools. In the model the rotated teachers of a county and level are split into

* *outgoing* teachers, drawn from the eligible teachers of the sending (urban/town or strong) sections,
  backbone teachers first, who go to receiving (rural or weak) sections; and
* *returning* teachers, regular (non-backbone) eligible teachers of the receiving sections who go the other
  way, ``return_share`` of them per outgoing teacher (default 1: a one-for-one exchange, so headcounts are
  roughly kept and the effect is a transfer of backbone teachers; 0: a one-way loan that also moves
  headcount).

Both streams count as rotated teachers for the assessment (``rotation_share``, ``backbone_share_of_rotated``).

**Term and return** (lever ``rotation.term_years``, default 1: plan §二(三)2 makes "到鄉村學校或辦學條件薄弱學校任教
1年以上" a condition of a senior title, the one duration the plan gives; the 2014 opinion's own term was not found:
SOURCES.md §3b quotes only its 10% / 20% shares). Both streams are loans: after the term each rotated teacher goes
back to the section that sent them (0: never, the earlier model). The cohort engine keeps no origin–destination
pairs (a ``(D, S, S)`` array); it keeps, per section and years left, the teachers it *hosts* on loan and the
teachers it is *owed* (:class:`Loans`, four ``(D, S, term)`` counts). At the return (:func:`loan_returns`) the due
hosted teachers still in post leave their host (backbone first as recorded, capped by the section's teachers and
backbone), and the county-level's returners go back without replacement among the sections owed teachers of that
cohort, backbone to those that lent backbone. Assumptions: a loaned teacher who left in the meantime is simply
not returned (the debt lapses); the home of each returner is drawn among the lenders of the county and level, so a
section may get back a different teacher of the same kind than it lent. The agent engine carries each rotated
teacher's home section and return year.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sim.mechanisms import kernels
from sim.mechanisms.quota import (
    group_sum,
    hypergeometric_within_groups,
    multinomial_within_groups,
)
from sim.vocabulary import N_LEVELS, PLACEMENT_DIRECTIONS, PLACEMENT_RULES, RURAL, PlacementDirection, PlacementRule

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

Direction = PlacementDirection
DIRECTIONS: tuple[str, ...] = PLACEMENT_DIRECTIONS

MEAN_TENURE_YEARS_RANGE = (8.0, 15.0)
"""Plausible range of the mean time a teacher stays at one school, years (assumption: a 35-year career with
two to four school changes; about half of teachers first posted to rural schools later moved to county or town
schools, SOURCES.md §4c). No Chinese or Xinjiang figure was found."""

ELIGIBILITY_THRESHOLD_YEARS_DEFAULT = 6
"""Years at the same school after which a teacher is eligible for rotation (the 2014 opinion's common local
rule: 6 years in the same school for teachers; assumption, configurable)."""


def eligible_share_from_tenure(
    mean_tenure_years: float | npt.ArrayLike, threshold_years: int = ELIGIBILITY_THRESHOLD_YEARS_DEFAULT
) -> FloatArray:
    """Share of teachers with at least ``threshold_years`` at their current school.

    Assumption: each year a teacher leaves the current school (move or exit) with probability ``1 / T``,
    ``T = mean_tenure_years``; in a steady state the completed years at the current school are geometric and
    the share with ``>= k`` years is ``(1 - 1/T) ** k``. With ``T`` in :data:`MEAN_TENURE_YEARS_RANGE` (8–15)
    and ``k = 6`` this gives 0.45–0.66.

    Parameters
    ----------
    mean_tenure_years
        ``T >= 1``, scalar or ``(D, 1)``.
    threshold_years
        ``k >= 0``.

    Returns
    -------
    numpy.ndarray
        Share in [0, 1], same shape as ``mean_tenure_years``.
    """
    tenure = np.asarray(mean_tenure_years, dtype=np.float64)
    if np.any(tenure < 1) or threshold_years < 0:
        raise ValueError("mean_tenure_years must be >= 1 and threshold_years >= 0")
    return np.asarray((1.0 - 1.0 / tenure) ** threshold_years, dtype=np.float64)


def eligible_teachers(
    stock: npt.ArrayLike, eligible_share: float | npt.ArrayLike, rng: np.random.Generator
) -> IntArray:
    """Teachers eligible for rotation, ``Binomial(stock, eligible_share)`` per section.

    The cohort engine does not track years at the same school; eligibility is approximated by the share from
    :func:`eligible_share_from_tenure`.

    Parameters
    ----------
    stock
        ``(D, S)`` teachers.
    eligible_share
        Scalar, ``(D, 1)`` or ``(S,)``.
    rng
        Random generator.
    """
    s = np.asarray(stock, dtype=np.int64)
    share = np.broadcast_to(np.asarray(eligible_share, dtype=np.float64), s.shape)
    if np.any((share < 0) | (share > 1)):
        raise ValueError("eligible_share must be in [0, 1]")
    return kernels.binomial(s, share, rng)  # one uniform per cell, by the quantile: counts move no other cell


@dataclass(frozen=True)
class RotationFlows:
    """Flows of one rotation round. Section arrays are ``int64 (D, S)``, county arrays ``(D, C)``.

    Attributes
    ----------
    out_backbone, out_regular
        Outgoing teachers leaving sending sections.
    in_backbone, in_regular
        The same teachers arriving at receiving sections.
    return_out, return_in
        Returning regular teachers leaving receiving sections and arriving at sending sections.
    eligible_per_county
        Teachers eligible for rotation.
    rotated_per_county
        Teachers rotated (outgoing plus returning).
    backbone_rotated_per_county
        Backbone teachers among them.
    """

    out_backbone: IntArray
    out_regular: IntArray
    in_backbone: IntArray
    in_regular: IntArray
    return_out: IntArray
    return_in: IntArray
    eligible_per_county: IntArray
    rotated_per_county: IntArray
    backbone_rotated_per_county: IntArray

    @property
    def net_teachers(self) -> IntArray:
        """Change in each section's teachers, ``(D, S)``."""
        return (
            self.in_backbone + self.in_regular + self.return_in - self.out_backbone - self.out_regular - self.return_out
        )

    @property
    def net_backbone(self) -> IntArray:
        """Change in each section's backbone teachers, ``(D, S)``."""
        return self.in_backbone - self.out_backbone

    @property
    def rotation_share(self) -> FloatArray:
        """Rotated / eligible per county, ``(D, C)``; NaN where no teacher is eligible."""
        return _ratio(self.rotated_per_county, self.eligible_per_county)

    @property
    def backbone_share_of_rotated(self) -> FloatArray:
        """Backbone / rotated per county, ``(D, C)``; NaN where nobody rotated."""
        return _ratio(self.backbone_rotated_per_county, self.rotated_per_county)


def _ratio(num: IntArray, den: IntArray) -> FloatArray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def weak_sections(weakness: npt.ArrayLike, group: IntArray, n_groups: int) -> npt.NDArray[np.bool_]:
    """Sections weaker than the mean of their county and level (weakness above the group mean)."""
    w = np.asarray(weakness, dtype=np.float64)
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    mean = group_sum(w, group, n_groups) / np.where(count > 0, count, 1.0)
    return np.asarray(w > mean[:, group] + 1e-12)


def rotate(
    stock: npt.ArrayLike,
    backbone: npt.ArrayLike,
    share: float,
    backbone_share: float,
    direction: Direction,
    section_county: npt.ArrayLike,
    section_level: npt.ArrayLike,
    section_location: npt.ArrayLike,
    n_counties: int,
    eligible_share: float | npt.ArrayLike,
    rng: np.random.Generator,
    weakness: npt.ArrayLike | None = None,
    return_share: float = 1.0,
    receiving_weight: npt.ArrayLike | None = None,
    placement: PlacementRule = "proportional",
    failing: npt.ArrayLike | None = None,
    below_backbone: npt.ArrayLike | None = None,
    below_pe_art: npt.ArrayLike | None = None,
    is_open: npt.ArrayLike | None = None,
) -> RotationFlows:
    """One yearly rotation round within each county and level.

    Rule:

    1. Eligible teachers: backbone and regular teachers each thinned binomially by ``eligible_share``
       (:func:`eligible_teachers`). With a scalar or ``(D, 1)`` share only the group totals are drawn and movers
       are picked among all teachers of the sections, which has the same distribution (a uniform pick among a
       binomially thinned pool is a uniform pick among the whole pool) at a fraction of the cost.
    2. Sending and receiving sections by ``direction`` (within the same county and level):
       ``rural`` — from urban/town to rural; ``weak`` — from sections with weakness at or below their
       county-level mean to those above it; ``rural_and_weak`` — to sections that are rural or weak, from the
       others (plan §二(三)2, "到鄉村學校或辦學條件薄弱學校"); ``any`` — every section both sends and receives
       (no returns).
    3. Rotated per county-level ``N ~ Binomial(eligible, share)`` (``share`` lever, the standard asks ≥ 0.10),
       zero where the group has no sending or no receiving section. ``floor(N * r / (1 + r))`` of them are
       returning teachers (``r = return_share``), the rest outgoing.
    4. Backbone first: ``B = min(ceil(backbone_share * N), outgoing, eligible backbone in sending sections)``
       outgoing teachers are backbone (lever, the standard asks ≥ 0.20); the other outgoing teachers are
       regular, topped up with backbone teachers if regular ones run short. So the backbone share of the
       rotated meets the lever whenever enough eligible backbone teachers exist and ``backbone_share <= 1 / (1
       + r)``.
    5. Who moves: without replacement from the eligible teachers of the sending (returning: receiving)
       sections (multivariate hypergeometric), so no section loses more than its eligible teachers.
    6. Where they go: multinomially over the receiving sections by ``receiving_weight`` (default: the
       section's teachers plus one — every teacher is an equally likely exchange partner and an empty section
       can still receive; a caller may pass the gap to the staffing quota or the weakness score instead);
       returning teachers go to the sending sections in proportion to their teachers plus one.
       ``placement`` (lever ``rotation.placement``, :func:`placement_weights`) narrows the receiving sections
       an outgoing teacher may go to; a county and level with no receiving section left by the rule falls back
       to the proportional weights.

    Conservation: for each county and level, ``net_teachers`` and ``net_backbone`` sum to zero.

    Parameters
    ----------
    stock, backbone
        ``(D, S)`` teachers and backbone teachers among them.
    share, backbone_share
        Levers in [0, 1].
    direction
        One of :data:`DIRECTIONS`.
    section_county, section_level, section_location, n_counties
        Section layout.
    eligible_share
        Scalar, ``(D, 1)`` or ``(S,)``; see :func:`eligible_share_from_tenure`.
    rng
        Random generator.
    weakness
        ``(D, S)`` score, higher = weaker; required for ``weak`` and ``rural_and_weak``.
    return_share
        Returning per outgoing teacher, ``>= 0``.
    receiving_weight
        ``(D, S)`` non-negative weights for placing outgoing teachers.
    placement, failing, below_backbone, below_pe_art
        The placement rule and what it reads (:func:`placement_weights`).
    is_open
        ``(D, S)`` bool, sections still open (default: all); a closed section (:mod:`sim.mechanisms.network`)
        neither sends nor receives.
    """
    st = np.asarray(stock, dtype=np.int64)
    bb = np.asarray(backbone, dtype=np.int64)
    if np.any(bb > st) or np.any(bb < 0):
        raise ValueError("backbone must be between 0 and stock")
    if not (0 <= share <= 1 and 0 <= backbone_share <= 1 and return_share >= 0):
        raise ValueError("share and backbone_share must be in [0, 1], return_share >= 0")
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    n_draws, n_sections = st.shape
    cty = np.asarray(section_county, dtype=np.int64)
    grp = cty * N_LEVELS + np.asarray(section_level, dtype=np.int64)
    n_groups = n_counties * N_LEVELS
    loc = np.asarray(section_location, dtype=np.int64)

    rural = np.broadcast_to(loc == RURAL, (n_draws, n_sections))
    if direction in ("weak", "rural_and_weak"):
        if weakness is None:
            raise ValueError(f"direction {direction!r} needs a weakness score")
        weak = weak_sections(weakness, grp, n_groups)
    if direction == "rural":
        receiving = rural
        sending = ~rural
    elif direction == "weak":
        receiving = weak
        sending = ~weak
    elif direction == "rural_and_weak":
        receiving = rural | weak
        sending = ~receiving
    else:
        receiving = np.ones((n_draws, n_sections), dtype=bool)
        sending = receiving
        return_share = 0.0
    if is_open is not None:
        still = np.asarray(is_open, dtype=bool)
        receiving, sending = receiving & still, sending & still

    def gsum(x: npt.ArrayLike) -> IntArray:
        return np.rint(group_sum(x, grp, n_groups)).astype(np.int64)

    reg = st - bb
    per_draw_share = np.asarray(eligible_share, dtype=np.float64)
    if per_draw_share.size == 1 or per_draw_share.shape == (n_draws, 1):
        # Fast path, exact in distribution: eligibility is an independent binomial thinning, so the eligible
        # total of a set of sections is Binomial(their teachers, share), and picking movers uniformly among
        # eligible teachers is picking them uniformly among all teachers of those sections. Movers are then
        # drawn from the teachers themselves and only group totals of the eligible are drawn.
        q = np.broadcast_to(per_draw_share.reshape(-1, 1), (n_draws, 1))
        if np.any((q < 0) | (q > 1)):
            raise ValueError("eligible_share must be in [0, 1]")
        pool_bb, pool_reg = bb, reg
        send_bb_g = kernels.binomial(gsum(bb * sending), q, rng)
        send_reg_g = kernels.binomial(gsum(reg * sending), q, rng)
        if direction == "any":
            recv_reg_g = np.zeros_like(send_reg_g)
            eligible_g = send_bb_g + send_reg_g
        else:  # receiving = not sending
            recv_reg_g = kernels.binomial(gsum(reg * receiving), q, rng)
            eligible_g = send_bb_g + send_reg_g + recv_reg_g + kernels.binomial(gsum(bb * receiving), q, rng)
    else:
        pool_bb = eligible_teachers(bb, eligible_share, rng)
        pool_reg = eligible_teachers(reg, eligible_share, rng)
        eligible_g = gsum(pool_bb + pool_reg)
        send_bb_g = gsum(pool_bb * sending)
        send_reg_g = gsum(pool_reg * sending)
        recv_reg_g = gsum(pool_reg * receiving)
    active = (gsum(receiving) > 0) & (send_bb_g + send_reg_g > 0)
    rotated_g = np.where(active, kernels.binomial(eligible_g, share, rng), 0)
    returning_target = np.floor(rotated_g * return_share / (1.0 + return_share)).astype(np.int64)
    outgoing_target = rotated_g - returning_target

    backbone_wanted = np.ceil(backbone_share * rotated_g - 1e-9).astype(np.int64)
    backbone_g = np.minimum(np.minimum(backbone_wanted, outgoing_target), send_bb_g)
    regular_g = np.minimum(outgoing_target - backbone_g, send_reg_g)
    backbone_g = np.minimum(outgoing_target - regular_g, send_bb_g)
    returning_g = np.minimum(returning_target, recv_reg_g)

    out_backbone = hypergeometric_within_groups(backbone_g, pool_bb * sending, grp, n_groups, rng)
    out_regular = hypergeometric_within_groups(regular_g, pool_reg * sending, grp, n_groups, rng)
    return_out = hypergeometric_within_groups(returning_g, pool_reg * receiving, grp, n_groups, rng)

    def fallback(w: FloatArray) -> FloatArray:
        no_weight = (gsum(w > 0) == 0)[:, grp]
        return np.where(no_weight & receiving, st + 1.0, w)  # fall back rather than lose movers

    base_w = np.asarray(st + 1.0 if receiving_weight is None else receiving_weight, dtype=np.float64)
    w_bb, w_reg = placement_weights(placement, base_w, receiving, grp, n_groups, failing, below_backbone,
                                    below_pe_art)
    recv_w = fallback(w_reg * receiving)
    bb_w = recv_w if w_bb is w_reg else fallback(w_bb * receiving)
    in_backbone = multinomial_within_groups(backbone_g, bb_w, grp, n_groups, rng)
    in_regular = multinomial_within_groups(regular_g, recv_w, grp, n_groups, rng)
    return_in = multinomial_within_groups(returning_g, (st + 1.0) * sending, grp, n_groups, rng)

    def per_county(x: IntArray) -> IntArray:
        return x.reshape(n_draws, n_counties, N_LEVELS).sum(axis=2)

    return RotationFlows(
        out_backbone=out_backbone,
        out_regular=out_regular,
        in_backbone=in_backbone,
        in_regular=in_regular,
        return_out=return_out,
        return_in=return_in,
        eligible_per_county=per_county(eligible_g),
        rotated_per_county=per_county(backbone_g + regular_g + returning_g),
        backbone_rotated_per_county=per_county(backbone_g),
    )


def placement_weights(
    placement: PlacementRule,
    weight: FloatArray,
    receiving: npt.NDArray[np.bool_],
    group: IntArray,
    n_groups: int,
    failing: npt.ArrayLike | None = None,
    below_backbone: npt.ArrayLike | None = None,
    below_pe_art: npt.ArrayLike | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Weights of the receiving sections for outgoing backbone and regular teachers, ``(D, S)`` each.

    Rules (lever ``rotation.placement``; the plan's text does not choose one, docs/findings.md 2026-12-06):

    * ``proportional``: ``weight`` (the teachers plus one) for both: every teacher of a receiving section an
      equally likely exchange partner (the model before issue 15).
    * ``weakest_first``: only the receiving sections of a county and level with the most indicators failing
      the county assessment (``failing``, 0–7: indicators below their threshold of 教督〔2017〕6號) get
      teachers, in proportion to ``weight`` among them; the whole round goes to the weakest tier.
    * ``missing_indicator``: backbone teachers to the receiving sections below the backbone threshold
      (``below_backbone``), the other outgoing teachers to those below the PE/art threshold (``below_pe_art``),
      each in proportion to ``weight``. Approximation: the cohort engine does not pick PE/art teachers as movers
      (they move with the regular teachers in the sending sections' proportion), so the rule sends the regular
      movers where PE/art is missing.

    A county and level in which the rule leaves no receiving section falls back to ``weight`` in
    :func:`rotate`.
    """
    if placement not in PLACEMENT_RULES:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENT_RULES)}, got {placement!r}")
    if placement == "proportional":
        return weight, weight
    if placement == "weakest_first":
        if failing is None:
            raise ValueError("placement 'weakest_first' needs the failing-indicator count of each section")
        f = np.where(receiving, np.asarray(failing, dtype=np.int64), -1)
        n_draws = f.shape[0]
        cell = (np.arange(n_draws)[:, None] * n_groups + group[None, :]).ravel()
        top = np.full(n_draws * n_groups, -1, dtype=np.int64)
        np.maximum.at(top, cell, f.ravel())
        w = np.where(f == top[cell].reshape(f.shape), weight, 0.0)
        return w, w
    if below_backbone is None or below_pe_art is None:
        raise ValueError("placement 'missing_indicator' needs the sections below the backbone and PE/art thresholds")
    return (np.where(np.asarray(below_backbone, dtype=bool), weight, 0.0),
            np.where(np.asarray(below_pe_art, dtype=bool), weight, 0.0))


def max_backbone_share(return_share: float) -> float:
    """Largest backbone share of the rotated that the exchange can deliver, ``1 / (1 + return_share)``.

    Returning teachers are regular, so with a one-for-one exchange at most half the rotated can be backbone.
    """
    if return_share < 0 or not math.isfinite(return_share):
        raise ValueError("return_share must be a finite number >= 0")
    return 1.0 / (1.0 + return_share)


@dataclass(frozen=True)
class Loans:
    """Teachers on loan by rotation, ``int64 (D, S, L)``; the last axis is years left of the term (slot 0 returns
    at the next round).

    Attributes
    ----------
    host, host_backbone
        Teachers a section hosts on loan (backbone among them).
    home, home_backbone
        Teachers on loan that a section is owed (backbone among them).
    """

    host: IntArray
    host_backbone: IntArray
    home: IntArray
    home_backbone: IntArray

    def __iter__(self) -> Iterator[IntArray]:
        return iter((self.host, self.host_backbone, self.home, self.home_backbone))

    @classmethod
    def empty(cls, n_draws: int, n_sections: int, slots: int) -> Loans:
        """No loans; ``slots`` is the longest term the run uses (0: loans are not kept)."""
        return cls(*(np.zeros((n_draws, n_sections, slots), dtype=np.int64) for _ in range(4)))

    def advance(self) -> tuple[Loans, Loans]:
        """One year passes: ``(due, rest)``, the loans of slot 0 as ``(D, S, 1)`` and the others moved down."""
        due, rest = [], []
        for a in (self.host, self.host_backbone, self.home, self.home_backbone):
            nxt = np.zeros_like(a)
            nxt[..., :-1] = a[..., 1:]
            due.append(a[..., :1].copy())
            rest.append(nxt)
        return Loans(*due), Loans(*rest)

    def add(self, flows: RotationFlows, term_years: int) -> Loans:
        """These loans plus the round's ``flows`` returning after ``term_years`` (``>= 1``, ``<= L``)."""
        if not 1 <= term_years <= self.host.shape[2]:
            raise ValueError(f"term_years must be in [1, {self.host.shape[2]}], got {term_years}")
        k = term_years - 1
        out = Loans(*(a.copy() for a in (self.host, self.host_backbone, self.home, self.home_backbone)))
        out.host[..., k] += flows.in_backbone + flows.in_regular + flows.return_in
        out.host_backbone[..., k] += flows.in_backbone
        out.home[..., k] += flows.out_backbone + flows.out_regular + flows.return_out
        out.home_backbone[..., k] += flows.out_backbone
        return out


@dataclass(frozen=True)
class LoanReturn:
    """Teachers going back at the end of their term, ``int64 (D, S)``: ``out`` leave their host section
    (``out_backbone`` of them backbone) and ``into`` arrive at their home section (``into_backbone`` backbone)."""

    out: IntArray
    out_backbone: IntArray
    into: IntArray
    into_backbone: IntArray


def loan_returns(
    due_host: npt.ArrayLike,
    due_host_backbone: npt.ArrayLike,
    due_home: npt.ArrayLike,
    due_home_backbone: npt.ArrayLike,
    stock: npt.ArrayLike,
    backbone: npt.ArrayLike,
    section_county: npt.ArrayLike,
    section_level: npt.ArrayLike,
    n_counties: int,
    rng: np.random.Generator,
) -> LoanReturn:
    """The return of the loans whose term ends (module docstring, "Term and return").

    Rule: per section ``out = min(due_host, stock)`` and ``out_backbone = min(due_host_backbone, backbone,
    out)``; per county and level the returning backbone teachers go to the sections owed backbone
    (``due_home_backbone``), the other returners to the sections owed teachers, net of the backbone placed, both
    without replacement (multivariate hypergeometric). Since the loans of a cohort were recorded with equal host
    and home totals per county and level, and ``out`` never exceeds ``due_host``, every returner has a home.

    Conservation: per county and level ``out.sum() == into.sum()`` and ``out_backbone.sum() ==
    into_backbone.sum()``; no section loses more teachers or backbone teachers than it has.

    Parameters
    ----------
    due_host, due_host_backbone, due_home, due_home_backbone
        ``(D, S)`` loans of the cohort due now (:meth:`Loans.advance`, last axis dropped).
    stock, backbone
        ``(D, S)`` teachers and backbone teachers now.
    section_county, section_level, n_counties
        Section layout.
    rng
        Random generator.
    """
    st = np.asarray(stock, dtype=np.int64)
    bb = np.minimum(np.asarray(backbone, dtype=np.int64), st)
    grp = np.asarray(section_county, dtype=np.int64) * N_LEVELS + np.asarray(section_level, dtype=np.int64)
    n_groups = n_counties * N_LEVELS
    out = np.minimum(np.asarray(due_host, dtype=np.int64), st)
    out_bb = np.minimum(np.minimum(np.asarray(due_host_backbone, dtype=np.int64), bb), out)
    home = np.asarray(due_home, dtype=np.int64)
    home_bb = np.minimum(np.asarray(due_home_backbone, dtype=np.int64), home)
    total_bb = np.rint(group_sum(out_bb, grp, n_groups)).astype(np.int64)
    total = np.rint(group_sum(out, grp, n_groups)).astype(np.int64)
    if np.any(total > np.rint(group_sum(home, grp, n_groups))) or np.any(
            total_bb > np.rint(group_sum(home_bb, grp, n_groups))):
        raise ValueError("more teachers returning than owed in a county and level: host and home loans disagree")
    into_bb = hypergeometric_within_groups(total_bb, home_bb, grp, n_groups, rng)
    into_reg = hypergeometric_within_groups(total - total_bb, home - into_bb, grp, n_groups, rng)
    return LoanReturn(out=out, out_backbone=out_bb, into=into_bb + into_reg, into_backbone=into_bb)
