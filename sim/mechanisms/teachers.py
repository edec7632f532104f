"""Teacher exits (DESIGN §3, mechanism 2): retirement, ageing, voluntary attrition, rural→town drift, the end
of special-post contracts and of dispatch terms.

State is per **section** (the primary or junior part of a school). A teacher stock is an integer array
``(D, S, 9)``: draws in a chunk × sections × 5-year age bands ``20–24, 25–29, …, 60–64``
(:data:`AGE_BAND_LOWER_YEARS`). Contract categories (regular, special-post, …) and, where the engine keeps
them, the two sexes are separate arrays of the same shape. Locations are indexed as in
:data:`sim.baseline.LOCATIONS`: 0 urban (城區), 1 town (鎮區), 2 rural (鄉村).

Every random flow is one binomial or multinomial call over the whole array with the ``rng`` passed in.
Functions never modify their inputs; they return the flows, so the engine can check
``stock(t+1) = stock(t) + entries − exits`` for every draw and section.

Suggested order inside the yearly step (the engine owns it): :func:`age_one_year`, then :func:`retire` with
:func:`retirement_share_by_band` of that year, then :func:`voluntary_attrition`, :func:`rural_to_town_drift`,
:func:`special_post_contract_end` and :func:`dispatch_term_end`. Ageing first makes the top fifth of a band
move up before the retirement share (a conditional hazard, see :func:`retirement_share_by_band`) is applied;
with the pre-reform rule this reproduces exactly one fifth of the 55–59 men retiring each year.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from sim.errors import InputError
from sim.mechanisms import kernels
from sim.mechanisms.students import (
    DriftFlows,
    check_probability,
    check_stock,
    drift_within_county,
    per_draw,
)
from sim.vocabulary import RURAL

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike

N_AGE_BANDS = 9
SPECIAL_POST_CONTRACT_YEARS = 3
"""Special-post (特崗) contracts run three years (DESIGN §2); stocks by contract year have this last axis."""
AGE_BAND_LOWER_YEARS: tuple[int, ...] = tuple(range(20, 65, 5))
"""Lower edge (years) of each 5-year age band: 20, 25, …, 60. The last band, 60–64, has no band above it."""
AGEING_SHARE_PER_YEAR = 0.2
"""Share of a 5-year band reaching the next band in a year (ages uniform within the band: 1/5)."""

RETIREMENT_SCHEDULE_FILE = Path(__file__).resolve().parents[2] / "calibration" / "data" / (
    "retirement_age_reform_2025.csv"
)
"""The statutory retirement-age rule of the 2025 reform, with its source."""

FEMALE_SHARE_RANGE = (0.55, 0.80)
"""Range of the female share of Xinjiang primary and junior full-time teachers (an uncertainty).

No Xinjiang figure was found. National 2022 figures (MOE, *Number of full-time teachers of schools by type and
level*, http://en.moe.gov.cn/documents/statistics/2022/national/202401/t20240110_1099533.html): compulsory
education 68.58% female, junior stage 60.80%, hence primary ≈ 73.3% (derived). Assumption: Xinjiang lies in
0.55–0.80, central 0.73 (primary) and 0.61 (junior)."""


# ------------------------------------------------------------------------------------------------------------
# retirement


@dataclass(frozen=True)
class RetirementRule:
    """One row of the 2025 retirement-age reform (see ``calibration/data/retirement_age_reform_2025.csv``).

    The statutory age of a person born in month ``b`` is ``original_age_months + delay`` with
    ``delay = min(max_delay_months, ceil(k / birth_months_per_delay_month))`` and ``k`` the months of birth
    counted from the first affected month (``k = 1`` for that month); ``delay = 0`` for ``k ≤ 0``.
    """

    sex: str
    post: str
    original_age_months: int
    first_birth_month_index: int
    """``12 × year + (month − 1)`` of the first affected month of birth."""
    birth_months_per_delay_month: int
    max_delay_months: int
    source: str


@dataclass(frozen=True)
class RetirementSchedule:
    """The rules of the reform, one per (sex, post)."""

    rules: tuple[RetirementRule, ...]

    def rule(self, sex: str, post: str) -> RetirementRule:
        """The rule for ``sex`` (``"male"``/``"female"``) and ``post`` (``"professional"``/``"worker"``)."""
        for r in self.rules:
            if r.sex == sex and r.post in (post, "any"):
                return r
        valid = sorted({(r.sex, r.post) for r in self.rules})
        raise ValueError(f"no retirement rule for sex={sex!r}, post={post!r}; valid (sex, post): {valid}")


def load_retirement_schedule(path: Path | str | None = None) -> RetirementSchedule:
    """Read the retirement-age schedule of the 2025 reform.

    Parameters
    ----------
    path
        CSV file; default :data:`RETIREMENT_SCHEDULE_FILE`.

    Raises
    ------
    sim.errors.InputError
        A missing column or a non-integer value, naming the file, line and column.

    References
    ----------
    全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13, in force 2025-01-01),
    https://www.gov.cn/yaowen/liebiao/202409/content_6974294.htm
    """
    file = Path(path) if path is not None else RETIREMENT_SCHEDULE_FILE
    ints = (
        "original_age_years",
        "first_birth_year",
        "first_birth_month",
        "birth_months_per_delay_month",
        "max_delay_months",
    )
    rules: list[RetirementRule] = []
    with file.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ("sex", "post", *ints, "source") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"missing columns {missing}", file=str(file), line=1)
        for line, row in enumerate(reader, start=2):
            try:
                v = {c: int(row[c]) for c in ints}
            except (TypeError, ValueError) as exc:
                raise InputError(f"integer expected: {exc}", file=str(file), line=line) from None
            rules.append(
                RetirementRule(
                    sex=row["sex"],
                    post=row["post"],
                    original_age_months=12 * v["original_age_years"],
                    first_birth_month_index=12 * v["first_birth_year"] + v["first_birth_month"] - 1,
                    birth_months_per_delay_month=v["birth_months_per_delay_month"],
                    max_delay_months=v["max_delay_months"],
                    source=row["source"],
                )
            )
    return RetirementSchedule(tuple(rules))


def _retirement_age_from_index(birth_month_index: IntArray, rule: RetirementRule) -> IntArray:
    k = birth_month_index - rule.first_birth_month_index + 1
    step = rule.birth_months_per_delay_month
    delay = np.where(k > 0, -(-k // step), 0)  # ceil(k / step) for k > 0
    return rule.original_age_months + np.minimum(delay, rule.max_delay_months)


def retirement_age_months(
    birth_year: ArrayLike,
    birth_month: ArrayLike,
    sex: str,
    post: str = "professional",
    *,
    schedule: RetirementSchedule | None = None,
) -> IntArray:
    """Statutory retirement age, in months, of a person born in ``birth_year``-``birth_month``.

    Under the 2025 reform men go from 60 to 63 and women in cadre or professional-technical posts (teachers)
    from 55 to 58, one month for every 4 months of birth; women in worker posts from 50 to 55, one month for
    every 2 months of birth. People born before 1965-01 (men), 1970-01 (women, 55) or 1975-01 (women, 50) keep
    the original age. The age depends on the date of birth only, so no calendar year is needed.

    Parameters
    ----------
    birth_year, birth_month
        Year and month (1–12) of birth; scalars or arrays of the same shape.
    sex
        ``"male"`` or ``"female"``.
    post
        ``"professional"`` (cadre and professional-technical posts; original age 55 for women) or ``"worker"``
        (original age 50 for women). Ignored for men.
    schedule
        The rule table; default :func:`load_retirement_schedule`.

    Returns
    -------
    Retirement age in months (e.g. 721 = 60 years 1 month), same shape as the inputs.

    Examples
    --------
    A man born 1965-01 is the first affected: ``k = 1``, delay ``ceil(1/4) = 1`` month, age 60 y 1 m = 721.

    References
    ----------
    全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定 (2024-09-13) and its annexes 1–3,
    https://www.gov.cn/yaowen/liebiao/202409/content_6974294.htm
    """
    rule = (schedule or load_retirement_schedule()).rule(sex, post)
    month = np.asarray(birth_month, dtype=np.int64)
    if np.any((month < 1) | (month > 12)):
        raise ValueError("birth_month must be in 1–12")
    index = 12 * np.asarray(birth_year, dtype=np.int64) + month - 1
    return _retirement_age_from_index(index, rule)


def _sex_hazard_by_band(year: int, rule: RetirementRule, reference_month: int) -> FloatArray:
    """Conditional retirement hazard of each band for one sex; see :func:`retirement_share_by_band`."""
    t = 12 * year + reference_month - 1
    lower = 12 * np.asarray(AGE_BAND_LOWER_YEARS, dtype=np.int64)[:, None]  # (9, 1)
    age_months = lower + np.arange(60, dtype=np.int64)[None, :]  # (9, 60) ages uniform within a band
    # months from t until the month of reaching the statutory age
    retire_after = _retirement_age_from_index(t - age_months, rule) - age_months
    in_service = retire_after >= 1
    retiring = in_service & (retire_after <= 12)
    n_in = in_service.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_in > 0, retiring.sum(axis=1) / np.maximum(n_in, 1), 1.0)


def in_service_share_by_band(year: int, sex: str, *, post: str = "professional", reference_month: int = 9,
                             schedule: RetirementSchedule | None = None) -> FloatArray:
    """``(9,)`` share of each band's ages (uniform over its 60 months) still below the statutory age of ``sex`` at
    the census month ``reference_month`` of ``year``: 1 for a band wholly below it, 0 for a band wholly above.

    >>> in_service_share_by_band(2011, "female")[5:].tolist()  # women retired at 55 before the 2025 reform
    [1.0, 1.0, 0.0, 0.0]
    """
    rule = (schedule or load_retirement_schedule()).rule(sex, post)
    t = 12 * year + reference_month - 1
    lower = 12 * np.asarray(AGE_BAND_LOWER_YEARS, dtype=np.int64)[:, None]
    age_months = lower + np.arange(60, dtype=np.int64)[None, :]
    return np.asarray((_retirement_age_from_index(t - age_months, rule) - age_months >= 1).mean(axis=1),
                      dtype=np.float64)


def start_female_share_by_band(female_share: ArrayLike, year: int, *, post: str = "professional",
                               reference_month: int = 9,
                               schedule: RetirementSchedule | None = None) -> FloatArray:
    """``(D, 9)`` share of women in each age band of a start stock counted in service at the census month of
    ``year``, for a share ``female_share`` ``(D,)`` of women among teachers.

    A teacher in the start registry is in post, hence below the statutory age of their sex (rule of the start
    year, ``calibration/data/retirement_age_reform_2025.csv``; before the 2025 reform women 55, men 60). With
    ages uniform within a band (as everywhere in this module) and a share ``f`` of women among the teachers who
    would be there if no one retired, the women in service are ``f · s_f`` and the men ``(1 − f) · s_m`` (``s``:
    :func:`in_service_share_by_band`), so the band's share of women is ``f s_f / (f s_f + (1 − f) s_m)``. A band
    below both ages keeps ``f``; the 55–59 band before the reform has no women (a woman of 57 is retired, so
    the registry's teachers aged 55–59 are men) instead of retiring them all in the first year (issue 13). A band
    above both ages (60–64 before the reform) keeps ``f``: its teachers retire in the first year whatever their
    sex (the model has no rule for teachers kept past the statutory age).

    >>> start_female_share_by_band(np.array([0.7]), 2011)[0, 5:].round(3).tolist()
    [0.7, 0.7, 0.0, 0.7]
    """
    f = per_draw(np.asarray(female_share, dtype=np.float64), 2)
    check_probability("female_share", f)
    s_f = in_service_share_by_band(year, "female", post=post, reference_month=reference_month, schedule=schedule)
    s_m = in_service_share_by_band(year, "male", post=post, reference_month=reference_month, schedule=schedule)
    women, men = f * s_f[None, :], (1.0 - f) * s_m[None, :]
    total = women + men
    return np.where(total > 0, women / np.where(total > 0, total, 1.0), np.broadcast_to(f, total.shape))


def retirement_share_by_band(
    year: int,
    female_share: ArrayLike,
    *,
    post: str = "professional",
    reference_month: int = 9,
    schedule: RetirementSchedule | None = None,
) -> FloatArray:
    """Expected share of each age band that retires in the school year starting in ``year``.

    The school year runs from the census month ``reference_month`` of ``year`` (default September) to the same
    month of ``year + 1``; a teacher retires in it when the month of reaching the statutory age
    (:func:`retirement_age_months`) falls in months ``t + 1 … t + 12``.

    For one sex the share of band ``[a, a + 5)`` is the **conditional hazard**
    ``#{ages retiring in the year} / #{ages still below the statutory age at t}``, with ages uniform over the
    60 months of the band (assumption: uniform within band, the same approximation as :func:`age_one_year`).
    A band lying wholly above the statutory age gets 1 (anyone left there retires). Example, men before the
    reform (age 60): band 55–59 gives 12/60 = 0.2 and band 60–64 gives 1; men at 63 (born 1977 or later):
    band 60–64 gives 12/36 = 1/3.

    The two sexes are mixed with ``female_share`` applied to every band:
    ``share = f · hazard_female + (1 − f) · hazard_male``. The female share is an uncertainty
    (:data:`FEMALE_SHARE_RANGE`, 0.55–0.80; national 2022: primary ≈ 73%, junior 61%). The same share in every
    band is an assumption; where the engine keeps female and male stocks apart it should call this with
    ``female_share=1.0`` and ``0.0`` for each, which is exact up to the uniform-within-band approximation.

    Parameters
    ----------
    year
        Calendar year in which the school year starts.
    female_share
        Scalar, ``(D,)`` or ``(D, 1)`` in [0, 1].
    post
        Post category of women (``"professional"`` for teachers).
    reference_month
        Month (1–12) of the stock date.
    schedule
        Rule table; default :func:`load_retirement_schedule`.

    Returns
    -------
    ``(9,)`` for a scalar ``female_share``, else ``(D, 9)``; values in [0, 1].
    """
    sched = schedule or load_retirement_schedule()
    f = np.asarray(female_share, dtype=np.float64)
    check_probability("female_share", f)
    h_f = _sex_hazard_by_band(year, sched.rule("female", post), reference_month)
    h_m = _sex_hazard_by_band(year, sched.rule("male", post), reference_month)
    if f.ndim == 0:
        return np.asarray(f * h_f + (1.0 - f) * h_m, dtype=np.float64)
    f2 = per_draw(f, 2)
    return np.asarray(f2 * h_f[None, :] + (1.0 - f2) * h_m[None, :], dtype=np.float64)


def sex_hazards_by_band(
    year: int, *, post: str = "professional", reference_month: int = 9, schedule: RetirementSchedule | None = None
) -> tuple[FloatArray, FloatArray]:
    """``(hazard_female, hazard_male)``, each ``(9,)``: the share of each band's women and of its men that retires
    in the school year starting in ``year`` (the two terms of :func:`retirement_share_by_band`)."""
    sched = schedule or load_retirement_schedule()
    return (_sex_hazard_by_band(year, sched.rule("female", post), reference_month),
            _sex_hazard_by_band(year, sched.rule("male", post), reference_month))


def mixed_retirement_and_ageing(
    female_share: ArrayLike, hazard_female: ArrayLike, hazard_male: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """Retirement share of each band and ageing probability of its survivors, for a band whose share of women is
    ``female_share`` (``(D, 9)``).

    Retirement: ``f · h_f + (1 − f) · h_m``. Ageing (of those still in the band after retirement): each sex ages
    with :func:`ageing_after_retirement` of its own hazard, mixed by the survivors' composition:
    ``[f (1 − h_f) a_f + (1 − f)(1 − h_m) a_m] / [f (1 − h_f) + (1 − f)(1 − h_m)]`` (0 for an empty band).
    Example, before the reform (women 55, men 60), band 50–54 with half women: 0.1 retire (the women turning 55),
    and of the 0.9 left (0.4 women, 0.5 men) only men age on: 0.5 · 0.2 / 0.9 = 1/9.

    >>> share, ageing = mixed_retirement_and_ageing(0.5, 0.2, 0.0)
    >>> round(float(share), 6), round(float(ageing), 6)
    (0.1, 0.111111)
    """
    f = np.asarray(female_share, dtype=np.float64)
    h_f, h_m = np.asarray(hazard_female, dtype=np.float64), np.asarray(hazard_male, dtype=np.float64)
    women, men = f * (1.0 - h_f), (1.0 - f) * (1.0 - h_m)
    left = women + men
    ageing = women * ageing_after_retirement(h_f) + men * ageing_after_retirement(h_m)
    safe = np.where(left > 0, left, 1.0)
    return f * h_f + (1.0 - f) * h_m, np.where(left > 0, ageing / safe, 0.0)


def female_share_after_year(
    female_share: ArrayLike, band_totals: ArrayLike, hazard_female: ArrayLike, hazard_male: ArrayLike
) -> FloatArray:
    """Expected share of women in each band after one year's retirements and ageing (``(D, 9)``).

    The engine does not keep women and men apart; it keeps this share per draw and band (over all sections,
    a mean-field approximation: the composition of a band is taken to be the same in every section). Without
    it, a band whose women have all retired (band 55–59 after the first year, when women retire at 55) would
    keep retiring a share ``f`` of its men as if they were women. Other flows (attrition, recruitment into the
    youngest band, moves) are taken as sex-neutral: new hires join band 20–24 with the initial share and reach
    the retirement bands only after 2035. An empty band keeps its share.

    >>> h_f = np.array([0.0] * 6 + [0.2, 1.0, 1.0]); h_m = np.array([0.0] * 7 + [0.2, 1.0])
    >>> female_share_after_year(np.full((1, 9), 0.5), np.full((1, 9), 100.0), h_f, h_m)[0, 6:].round(4).tolist()
    [0.5, 0.0, 0.5]
    """
    f = np.asarray(female_share, dtype=np.float64)
    n = np.asarray(band_totals, dtype=np.float64)
    h_f, h_m = np.asarray(hazard_female, dtype=np.float64), np.asarray(hazard_male, dtype=np.float64)
    women, men = n * f * (1.0 - h_f), n * (1.0 - f) * (1.0 - h_m)
    women_up, men_up = women * ageing_after_retirement(h_f), men * ageing_after_retirement(h_m)
    women, men = women - women_up, men - men_up
    women[..., 1:] += women_up[..., :-1]
    men[..., 1:] += men_up[..., :-1]
    total = women + men
    return np.where(total > 0, women / np.where(total > 0, total, 1.0), f)


def retire(stock: IntArray, share: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Retirements: ``Binomial(stock, share of the band)``.

    Parameters
    ----------
    stock
        ``(D, S, 9)`` teachers by age band.
    share
        ``(9,)`` or ``(D, 9)`` retirement share by band (:func:`retirement_share_by_band`).
    rng
        Random generator.

    Returns
    -------
    ``(D, S, 9)`` retirements, never above ``stock``.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock, N_AGE_BANDS)
    p = np.asarray(share, dtype=np.float64)
    check_probability("share", p)
    p = p[:, None, :] if p.ndim == 2 else p
    return kernels.binomial(stock, p, rng)


class AgeingFlows(NamedTuple):
    """Flows of :func:`age_one_year`; ``stock − leaving + entering`` is the aged stock."""

    leaving: IntArray
    """``(D, S, 9)`` teachers leaving each band for the next (0 in the last band)."""
    entering: IntArray
    """``(D, S, 9)`` teachers entering each band from the one below (0 in the first band)."""


def ageing_after_retirement(retirement_share: ArrayLike) -> FloatArray:
    """Probability that a teacher still in a band after this year's retirements moves to the next band.

    With ages uniform in a band, the oldest fifth of it (:data:`AGEING_SHARE_PER_YEAR`) reaches the next band
    within the year; when ``h`` of the band retires in that year, the retirees are among that oldest fifth, so
    of the ``1 − h`` left, ``(0.2 − h) / (1 − h)`` still move up (0 when ``h ≥ 0.2``). Use it with retirement
    drawn **before** ageing, so no teacher both ages into a band and retires from the band below.

    >>> ageing_after_retirement(np.array([0.0, 0.2, 1.0])).tolist()
    [0.2, 0.0, 0.0]
    """
    h = np.asarray(retirement_share, dtype=np.float64)
    left = 1.0 - h
    return np.where(left > 0, np.clip((AGEING_SHARE_PER_YEAR - h) / np.where(left > 0, left, 1.0), 0.0, 1.0), 0.0)


def age_one_year(stock: IntArray, rng: np.random.Generator, probability: ArrayLike | None = None) -> AgeingFlows:
    """One year of ageing: ``Binomial(n, p)`` of each band moves to the next band, ``p = 1/5`` by default.

    Assumption: ages are uniform within a 5-year band, so one fifth of a band reaches the next band each year.
    Band 60–64 has no band above; teachers leave it only through :func:`retire` (or other exits).

    Parameters
    ----------
    stock
        ``(D, S, 9)`` teachers by age band.
    rng
        Random generator.
    probability
        Optional per-band probability, ``(9,)`` or ``(D, 9)`` (e.g. :func:`ageing_after_retirement` when
        retirements were drawn first); the last band's entry is ignored.

    Returns
    -------
    :class:`AgeingFlows`; the totals per section are unchanged.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock, N_AGE_BANDS)
    # Binomial(n, p) of the bands below 60–64 (an empty band moves nobody)
    if probability is None:
        p: Any = AGEING_SHARE_PER_YEAR
    else:
        p = np.asarray(probability, dtype=np.float64)[..., :-1]
        p = p[:, None, :] if p.ndim == 2 else p
    moved = kernels.binomial(stock[..., :-1], p, rng)
    leaving = np.zeros(stock.shape, dtype=np.int64)
    leaving[..., :-1] = moved
    entering = np.zeros(stock.shape, dtype=np.int64)
    entering[..., 1:] = leaving[..., :-1]
    return AgeingFlows(leaving, entering)


# ------------------------------------------------------------------------------------------------------------
# voluntary attrition


YOUNG_ATTRITION_FACTOR_RANGE = (1.5, 3.0)
"""Range of the attrition multiplier of the 20–24 band relative to teachers aged 35+ (an uncertainty).

Assumption: the Yunnan survey of 10,356 rural teachers found the intention to leave strongest under age 30
(SOURCES §4c, Wang & Li 2017); no realised rate by age was found. Central value 2.0."""


def age_multiplier(young_factor: ArrayLike) -> FloatArray:
    """Attrition multiplier by age band, from the multiplier of the youngest band.

    Assumption: the multiplier falls linearly from ``young_factor`` (20–24) to 1 at 35–39 and stays at 1 from
    35 to 64, so the location rates of :func:`voluntary_attrition` are the rates of teachers aged 35 and over.
    Bands: ``[y, (2y + 1)/3, (y + 2)/3, 1, 1, 1, 1, 1, 1]``. Range of ``y``:
    :data:`YOUNG_ATTRITION_FACTOR_RANGE` (1.5–3.0, central 2.0).

    Parameters
    ----------
    young_factor
        Scalar or per draw ``(D,)``/``(D, 1)``, ≥ 1 expected.

    Returns
    -------
    ``(9,)`` for a scalar, else ``(D, 9)``.
    """
    y = np.asarray(young_factor, dtype=np.float64)
    if np.any(y < 0):
        raise ValueError("young_factor must be non-negative")
    ramp = np.array([1.0, 2 / 3, 1 / 3, 0, 0, 0, 0, 0, 0])
    if y.ndim == 0:
        return np.asarray(1.0 + (y - 1.0) * ramp, dtype=np.float64)
    return np.asarray(1.0 + (per_draw(y, 2) - 1.0) * ramp[None, :], dtype=np.float64)


def attrition_probability(
    section_location: IntArray,
    rate_by_location: ArrayLike,
    age_multiplier_by_band: ArrayLike,
    subsidy_cny_month: ArrayLike,
    elasticity_per_1000cny: ArrayLike,
) -> FloatArray:
    """Yearly probability of voluntary attrition, ``(D, S, 9)``; see :func:`voluntary_attrition`."""
    loc = np.asarray(section_location, dtype=np.int64)
    rate = np.asarray(rate_by_location, dtype=np.float64)
    if rate.ndim == 1:
        rate = rate[None, :]
    check_probability("rate_by_location", rate)
    mult = np.asarray(age_multiplier_by_band, dtype=np.float64)
    if np.any(mult < 0):
        raise ValueError("age_multiplier_by_band must be non-negative")
    mult = mult[:, None, :] if mult.ndim == 2 else mult[None, None, :]
    subsidy = per_draw(subsidy_cny_month, 3)
    elasticity = per_draw(elasticity_per_1000cny, 3)
    if np.any(subsidy < 0) or np.any(elasticity < 0):
        raise ValueError("subsidy_cny_month and elasticity_per_1000cny must be non-negative")
    relief = np.maximum(0.0, 1.0 - elasticity * subsidy / 1000.0)
    factor = np.where((loc == RURAL)[None, :, None], relief, 1.0)
    p = rate[:, loc][:, :, None] * mult * factor
    return np.asarray(np.clip(p, 0.0, 1.0), dtype=np.float64)


def voluntary_attrition(
    stock: IntArray,
    section_location: IntArray,
    rate_by_location: ArrayLike,
    age_multiplier_by_band: ArrayLike,
    subsidy_cny_month: ArrayLike,
    elasticity_per_1000cny: ArrayLike,
    rng: np.random.Generator,
) -> IntArray:
    """Teachers leaving the profession or the region: ``Binomial(stock, p)``.

    ``p = rate[location] × age_multiplier[band] × max(0, 1 − elasticity × subsidy / 1000)`` for rural sections
    and ``rate[location] × age_multiplier[band]`` elsewhere (the retention subsidy is paid in rural schools
    only), clipped to [0, 1]. The rates and the elasticity are uncertainties (``attrition.*`` in
    :mod:`sim.parameters`; no Xinjiang attrition figure exists, SOURCES §6 item 7); the elasticity is the
    relative cut of the rate per 1,000 CNY/month (assumption, 0.05–0.30). The multiplier is an assumption
    (:func:`age_multiplier`). A higher subsidy never raises the probability and never makes it negative.

    Parameters
    ----------
    stock
        ``(D, S, 9)`` teachers by age band.
    section_location
        ``(S,)`` location code (0 urban, 1 town, 2 rural).
    rate_by_location
        ``(D, 3)`` (or ``(3,)``) yearly attrition rate of teachers aged 35+ by location.
    age_multiplier_by_band
        ``(9,)`` or ``(D, 9)``.
    subsidy_cny_month
        Extra rural subsidy, CNY per month; scalar or per draw.
    elasticity_per_1000cny
        Scalar, ``(D,)`` or ``(D, 1)``.
    rng
        Random generator.

    Returns
    -------
    ``(D, S, 9)`` leavers.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock, N_AGE_BANDS)
    p = attrition_probability(
        section_location, rate_by_location, age_multiplier_by_band, subsidy_cny_month, elasticity_per_1000cny
    )
    return kernels.binomial(stock, p, rng)


class ExitFlows(NamedTuple):
    """Flows of :func:`retire_age_and_leave`, each ``(D, S, 9)`` unless stated."""

    retired: IntArray
    """Retirements (drawn first, from the stock at the start of the year)."""
    moved_up: IntArray
    """Teachers of each band moving to the next band (drawn among those who did not retire; 0 in the last band)."""
    attrition: IntArray
    """Voluntary leavers, drawn from the aged stock."""
    remaining: IntArray
    """The stock after the three flows: ``stock − retired − moved_up + moved_up (of the band below) − attrition``."""
    leavers: IntArray
    """``(D, S)`` retirements and voluntary leavers of each section."""


def retire_age_and_leave(
    stock: IntArray,
    retirement_share: ArrayLike,
    ageing_probability: ArrayLike,
    section_location: IntArray,
    rate_by_location: ArrayLike,
    age_multiplier_by_band: ArrayLike,
    subsidy_cny_month: ArrayLike,
    elasticity_per_1000cny: ArrayLike,
    rng: np.random.Generator,
) -> ExitFlows:
    """:func:`retire`, then :func:`age_one_year` of those left, then :func:`voluntary_attrition` of the aged
    stock, drawn together in one compiled pass over the sections (:func:`sim.mechanisms.kernels.exit_flows`).

    The laws are those of the three functions: ``Binomial(stock, share)`` retire; of the ``stock − retired``
    left, ``Binomial(·, ageing_probability)`` move to the next band; of the aged stock,
    ``Binomial(·, p)`` leave with ``p`` of :func:`attrition_probability`. The random numbers are drawn cell by
    cell (draw, section) from the one generator, so they differ from three separate calls.

    Parameters
    ----------
    stock
        ``(D, S, 9)`` teachers by age band.
    retirement_share, ageing_probability
        ``(9,)`` or ``(D, 9)`` probabilities (:func:`mixed_retirement_and_ageing`); the last band's ageing
        probability is ignored.
    section_location, rate_by_location, age_multiplier_by_band, subsidy_cny_month, elasticity_per_1000cny
        As in :func:`voluntary_attrition`.
    rng
        Random generator.

    Returns
    -------
    :class:`ExitFlows`.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock, N_AGE_BANDS)
    d = stock.shape[0]
    share = np.asarray(retirement_share, dtype=np.float64)
    check_probability("retirement_share", share)
    ageing = np.asarray(ageing_probability, dtype=np.float64)
    check_probability("ageing_probability", ageing)
    loc = np.asarray(section_location, dtype=np.int64)
    if loc.shape != stock.shape[1:2]:
        raise ValueError(f"section_location must have shape ({stock.shape[1]},), got {loc.shape}")
    rate = np.asarray(rate_by_location, dtype=np.float64)
    rate = rate[None, :] if rate.ndim == 1 else rate
    check_probability("rate_by_location", rate)
    if loc.size and (loc.min() < 0 or loc.max() >= rate.shape[1]):
        raise ValueError(f"section_location must be in [0, {rate.shape[1]})")
    mult = np.asarray(age_multiplier_by_band, dtype=np.float64)
    if np.any(mult < 0):
        raise ValueError("age_multiplier_by_band must be non-negative")
    subsidy = per_draw(subsidy_cny_month, 1)
    elasticity = per_draw(elasticity_per_1000cny, 1)
    if np.any(subsidy < 0) or np.any(elasticity < 0):
        raise ValueError("subsidy_cny_month and elasticity_per_1000cny must be non-negative")
    relief = np.broadcast_to(np.maximum(0.0, 1.0 - elasticity * subsidy / 1000.0), (d,))
    flows = kernels.exit_flows(stock, share, ageing, rate, loc, mult, relief, RURAL, rng)
    return ExitFlows(*flows)


# ------------------------------------------------------------------------------------------------------------
# rural → town drift


def rural_to_town_drift(
    stock: IntArray,
    section_location: IntArray,
    section_county: IntArray,
    rate: ArrayLike,
    receiving_weights: ArrayLike,
    rng: np.random.Generator,
) -> DriftFlows:
    """Rural teachers moving to town or urban sections of the same county.

    Movers: ``Binomial(stock, rate)`` in rural sections. The movers of each (county, age band) are placed by
    one multinomial over the county's town and urban sections with a positive receiving weight, in proportion
    to the weights; they keep their age band. In a county with no such section nobody moves (the movers drawn
    there are cancelled). Source of the rate: ``drift.rural_to_town_rate`` in :mod:`sim.parameters` (about
    half of teachers first posted to rural schools later moved to county or town schools, SOURCES §4c).

    Parameters
    ----------
    stock
        ``(D, S, 9)`` teachers by age band.
    section_location, section_county
        ``(S,)`` location code and county index.
    rate
        Scalar, ``(D,)`` or ``(D, 1)`` yearly share of rural teachers who move.
    receiving_weights
        ``(S,)`` or ``(D, S)`` non-negative weights of the receiving sections (e.g. quota vacancies or current
        teachers); weights of rural sections are ignored.
    rng
        Random generator.

    Returns
    -------
    :class:`DriftFlows`; per county, draw and band, ``moved_out`` and ``moved_in`` have the same total.
    """
    stock = np.asarray(stock, dtype=np.int64)
    check_stock("stock", stock)
    return drift_within_county(stock, section_location, section_county, rate, receiving_weights, rng)




# ------------------------------------------------------------------------------------------------------------
# contracts and terms


class SpecialPostFlows(NamedTuple):
    """Flows of :func:`special_post_contract_end`."""

    converted_to_regular: IntArray
    """``(D, S)`` special-post teachers whose 3-year contract ended and who take a regular post."""
    leaving: IntArray
    """``(D, S)`` those whose contract ended and who leave."""
    continuing: IntArray
    """``(D, S, 3)`` the special-post stock one year on, by contract year; year 1 is empty (new recruits go
    there)."""


def special_post_by_contract_year(special_post: ArrayLike) -> IntArray:
    """Special-post teachers of the registry split by contract year: ``(…, 3)``.

    Recruitment is taken as steady (assumption: no year-by-year intake is published), so each contract year holds
    a third; the remainder goes to the first year. Totals are kept exactly.

    >>> special_post_by_contract_year(np.array([7, 2])).tolist()
    [[3, 2, 2], [2, 0, 0]]
    """
    n = np.asarray(special_post, dtype=np.int64)
    third = n // SPECIAL_POST_CONTRACT_YEARS
    out = np.repeat(third[..., None], SPECIAL_POST_CONTRACT_YEARS, axis=-1)
    out[..., 0] += n % SPECIAL_POST_CONTRACT_YEARS
    return out


def special_post_contract_end(
    special_stock_by_year_of_contract: IntArray,
    retention_share: ArrayLike,
    rng: np.random.Generator,
) -> SpecialPostFlows:
    """End of special-post (特崗) contracts after 3 years.

    Teachers in their 3rd contract year finish it: ``Binomial(n, retention_share)`` convert to regular posts
    (usually in the same county), the rest leave. Teachers in years 1 and 2 move to years 2 and 3.
    ``retention_share`` is an uncertainty (``special_post.retention_share``: only the Hainan 2015 cohort's
    94.2%, described as above the national average, was found, SOURCES §4c).

    Parameters
    ----------
    special_stock_by_year_of_contract
        ``(D, S, 3)``: index 0 = first contract year, 2 = third (last).
    retention_share
        Scalar, ``(D,)`` or ``(D, 1)``.
    rng
        Random generator.

    Returns
    -------
    :class:`SpecialPostFlows`, with ``stock.sum(-1) = continuing.sum(-1) + converted + leaving``.
    """
    stock = np.asarray(special_stock_by_year_of_contract, dtype=np.int64)
    check_stock("special_stock_by_year_of_contract", stock, 3)
    p = per_draw(retention_share, 2)
    check_probability("retention_share", p)
    ending = stock[..., 2]
    converted = kernels.binomial(ending, p, rng)
    continuing = np.zeros_like(stock)
    continuing[..., 1:] = stock[..., :-1]
    return SpecialPostFlows(converted, ending - converted, continuing)


class DispatchFlows(NamedTuple):
    """Flows of :func:`dispatch_term_end`."""

    remaining: IntArray
    """``(D, S, T)`` dispatched teachers one year on, by remaining years (index 0 = one year left)."""
    departing: IntArray
    """``(D, S)`` dispatched teachers whose term ends this year."""


def dispatch_term_end(dispatched_by_remaining_years: IntArray) -> DispatchFlows:
    """End of dispatch terms (援疆, 銀齡, 西部計劃): deterministic.

    Index ``i`` of the last axis holds teachers with ``i + 1`` years of term left at the start of the year.
    Those with one year left depart; the others move down one index.

    Parameters
    ----------
    dispatched_by_remaining_years
        ``(D, S, T)``.

    Returns
    -------
    :class:`DispatchFlows`, with ``stock.sum(-1) = remaining.sum(-1) + departing``.
    """
    stock = np.asarray(dispatched_by_remaining_years, dtype=np.int64)
    check_stock("dispatched_by_remaining_years", stock)
    remaining = np.zeros_like(stock)
    remaining[..., :-1] = stock[..., 1:]
    return DispatchFlows(remaining, stock[..., 0].copy())


# ------------------------------------------------------------------------------------------------------------
# moving teachers between sections: which age bands they come from and go to


def remove_from_bands(stock: IntArray, k: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Pick ``k`` teachers of each section uniformly among its teachers, whatever their age band.

    A multivariate hypergeometric draw, done band by band (``Hypergeometric(band, rest, remaining)``, in
    compiled code: :func:`sim.mechanisms.kernels.remove_checked`, sections with ``k = 0`` skipped), so no band
    loses more teachers than it holds. ``ValueError`` if ``k`` is negative or above a section's teachers.

    Parameters
    ----------
    stock
        ``(D, S, B)`` teachers by age band.
    k
        ``(D, S)`` teachers to remove, ``0 ≤ k ≤ stock.sum(-1)``.
    rng
        Random generator.

    Returns
    -------
    ``(D, S, B)`` removed teachers by band; its sum over bands equals ``k``.
    """
    return kernels.remove_checked(np.asarray(stock, dtype=np.int64), np.asarray(k, dtype=np.int64), rng)


def add_by_composition(k: ArrayLike, composition: ArrayLike, rng: np.random.Generator) -> IntArray:
    """Spread ``k`` arriving teachers of each section over age bands with probabilities ``composition``.

    One multinomial per section where teachers arrive, drawn in compiled code
    (:func:`sim.mechanisms.kernels.multinomial_rows`).

    Parameters
    ----------
    k
        ``(D, S)`` arriving teachers.
    composition
        ``(D, B)`` or ``(B,)`` band probabilities (e.g. the age mix of the teachers who left their sections
        this year, for a move between sections), rows summing to 1 (zero rows put everyone in the last band
        used as a fallback: band 4, ages 40–44, the national median band of junior teachers, SOURCES §4c).

    Returns
    -------
    ``(D, S, B)`` arrivals by band; its sum over bands equals ``k``.
    """
    n = np.asarray(k, dtype=np.int64)
    p = np.asarray(composition, dtype=np.float64)
    d = n.shape[0]
    p = np.broadcast_to(p, (d, p.shape[-1])).copy()
    empty = p.sum(axis=1) <= 0
    p[empty] = 0.0
    p[empty, 4] = 1.0
    p /= p.sum(axis=1, keepdims=True)
    return kernels.multinomial_rows(n, p, rng)


FALLBACK_BAND = 4
"""Band of arrivals whose age mix is unknown (nobody left in the draw): 40–44, the national median band of junior
teachers (SOURCES §4c)."""


def move_between_sections(stock: IntArray, out: ArrayLike, into: ArrayLike, rng: np.random.Generator, *,
                          section_county: ArrayLike | None = None) -> IntArray:
    """Teachers by band after ``out`` leave each section and ``into`` arrive (a move between sections).

    :func:`remove_from_bands` of the leavers, then :func:`add_by_composition` of the arrivals with the age mix of
    the draw's leavers in the section's county (all sections without ``section_county``; :data:`FALLBACK_BAND`
    if nobody left), drawn in one compiled pass per draw
    (:func:`sim.mechanisms.kernels.move_teachers`): the same laws, without the intermediate arrays.

    Parameters
    ----------
    stock
        ``(D, S, B)`` teachers by age band.
    out, into
        ``(D, S)`` leavers (``0 ≤ out ≤ stock.sum(-1)``) and arrivals.
    rng
        Random generator.

    Returns
    -------
    ``(D, S, B)`` teachers after the move.
    """
    if section_county is None:
        return kernels.move_teachers(stock, out, into, rng, fallback_band=FALLBACK_BAND)
    county = np.asarray(section_county, dtype=np.int64)
    return kernels.move_teachers(stock, out, into, rng, fallback_band=FALLBACK_BAND, group=county,
                                 n_groups=int(county.max()) + 1 if county.size else 1)
