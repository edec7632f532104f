"""Design → execute → collect: run a scenario's draws chunk by chunk and collect them in one xarray Dataset.

The Dataset (``results.nc``) has dims ``draw``, ``year``, ``county`` and ``area`` (``region``, ``south``): for
every target metric ``M`` (``sim.targets.METRICS``) the area value ``M`` (draw, year, area) and the county
value ``M_by_county`` (draw, year, county); the counts behind the shares (so every target can be recomputed);
the county status (``quality_balanced``), the seven indicators' county values and coefficients of variation;
and the stocks and flows behind them (students and teachers in all and by level, vacancies, hires, exits,
grade-1 and grade-7 entrants, rotated and dispatched teachers), and what the levers cost (``cost`` by programme
and year, ``cost_total``, ``cost_plan_total``; :mod:`sim.costs`). Every variable has ``units`` and ``long_name``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from sim.cohort import run_chunk
from sim.costs import cost_dataset
from sim.model import Model, prepare
from sim.rng import BLOCK_SIZE, Streams, chunk_bounds
from sim.scenario import Scenario
from sim.targets import METRICS, QUALITY_SCHOOL_METRICS
from sim.vocabulary import AREAS, GUARANTEE_RULES, INDICATORS, QUALITY_SCHOOL_DEFINITIONS

if TYPE_CHECKING:
    from distributed import Client

    from sim.checkpoint import ChunkStore

# (count variable, total variable) behind each share metric
_SHARES = {
    "quality_school_share": ("quality_school_count", "quality_school_total"),
    "quality_school_coverage": ("coverage_count", "coverage_total"),
    "rural_pairing_coverage": ("pairing_count", "pairing_total"),
    "gigabit_coverage": ("gigabit_count", "gigabit_total"),
    "counselling_room_coverage": ("counselling_count", "counselling_total"),
    "standardised_school_share": ("standardised_count", "standardised_total"),
    "disabled_enrolment_rate": ("disabled_enrolled", "disabled_children"),
    "consolidation_rate": ("consolidation_completers", "consolidation_cohort"),
}
# county flags whose area value is the share of counties where the flag holds
_COUNTY_FLAGS = {
    "share_counties_quality_balanced": "quality_balanced",
    "staffing_norm_met": "staffing_norm_met",
}
# values that are the same for every county (per-draw parameters)
_UNIFORM: tuple[str, ...] = ()

_STOCKS = {
    "students": ("pupils", "students enrolled in compulsory education (grades 1–9)"),
    "teachers": ("teachers", "full-time regular teachers (incl. special-post and targeted graduates)"),
    "teachers_counted": ("teachers", "teachers counted for the staffing norm (regular + dispatched if counted)"),
    "staffing_requirement": ("posts", "teachers required by the student:staff norm (1:19 primary, 1:13.5 junior)"),
    "vacancies": ("posts", "posts short of the norm, summed over sections"),
    "dispatched_in_post": ("teachers", "dispatched teachers (援疆, 銀齡, 西部計劃) in post"),
    "rotated": ("teachers", "teachers rotated this year (交流輪崗)"),
    "redeployed": ("teachers", "surplus teachers redeployed this year to short-staffed schools of the county "
                   "(縣管校聘), before hiring"),
    "hires": ("teachers", "teachers recruited this year (special-post, targeted, open recruitment)"),
    "exits": ("teachers", "teachers leaving this year (retirement, attrition, end of special-post contract)"),
    "failing_sections": ("sections", "sections below the school standard (≥6 of 7, rest ≥85%)"),
    "student_entries": ("pupils", "grade-1 entrants this year"),
    "junior_entries": ("pupils", "grade-7 entrants this year (primary completers entering junior secondary)"),
    "students_primary": ("pupils", "students enrolled in primary school (grades 1–6)"),
    "students_junior": ("pupils", "students enrolled in junior secondary school (grades 7–9)"),
    "teachers_primary": ("teachers", "full-time regular teachers of primary sections"),
    "teachers_junior": ("teachers", "full-time regular teachers of junior secondary sections"),
    "student_exits": ("pupils", "pupils leaving this year (dropouts and grade-9 completers)"),
    # classes and schools (sim.mechanisms.classes): class size = students_LEVEL / classes_LEVEL,
    # school size = students / schools
    "classes_primary": ("classes", "classes of primary sections (grades 1–6), formed from pupils and the 45 norm "
                        "within the classrooms"),
    "classes_junior": ("classes", "classes of junior secondary sections (grades 7–9), formed from pupils and the 50 "
                       "norm within the classrooms"),
    "classrooms": ("classrooms", "classrooms in use (the registry's classes in the start year, plus those built)"),
    "classes_short_of_rooms": ("classes", "classes the class-size norm needs beyond the sections' classrooms"),
    "classrooms_started": ("classrooms", "classrooms started this year (in use after the construction lag)"),
    "schools": ("schools", "schools with pupils (a nine-year school counts once)"),
    "schools_primary": ("schools", "schools teaching grades 1–6 (primary sections with pupils, nine-year incl.)"),
    "schools_junior": ("schools", "schools teaching grades 7–9 (junior sections with pupils, nine-year incl.)"),
    "schools_primary_nbs": ("schools", "primary schools as the NBS counts them (普通小学): primary-only schools "
                            "with pupils, teaching points and nine-year schools not counted"),
}
_COUNTS = {
    "quality_school_count": ("schools", "quality schools"),
    "quality_school_total": ("schools", "schools assessed"),
    "coverage_count": ("pupils", "pupils in quality schools"),
    "coverage_total": ("pupils", "pupils in assessed schools"),
    "pairing_count": ("schools", "rural schools paired with a town school"),
    "pairing_total": ("schools", "rural schools"),
    "gigabit_count": ("schools", "schools with gigabit broadband"),
    "gigabit_total": ("schools", "schools with pupils"),
    "counselling_count": ("schools", "urban and township-centre schools with a counselling room"),
    "counselling_total": ("schools", "urban and township-centre schools"),
    "standardised_count": ("schools", "schools meeting the building, equipment, digital and staffing standards"),
    "standardised_total": ("schools", "schools with pupils"),
    **{f"quality_school_count_{r}": ("schools", f"quality schools ({r} reading)")
       for r in QUALITY_SCHOOL_DEFINITIONS},
    **{f"coverage_count_{r}": ("pupils", f"pupils in quality schools ({r} reading)")
       for r in QUALITY_SCHOOL_DEFINITIONS},
    "disabled_children": ("children", "school-age children with disabilities (expected number: pupils × "
                          "disability.children_per_pupil)"),
    "disabled_enrolled": ("children", "children with disabilities enrolled: in a special-education school, an "
                          "inclusive class or taught at home (送教上門)"),
    "special_schools": ("schools", "special-education schools"),
    "special_post_in_post": ("teachers", "special-post (特崗) teachers in their 3-year contract"),
    "targeted_hires": ("teachers", "targeted graduates (優師計劃) placed this year"),
    "retrained": ("teachers", "primary teachers qualified for junior posts this year (retraining passed)"),
    "qualification_upgrades": ("teachers", "teachers upgraded to the required qualification this year"),
    "backbone_cultivated": ("teachers", "teachers newly recognised as backbone this year (before the year's loss)"),
    "consolidation_completers": ("pupils", "grade-9 completers this year (numerator of the consolidation rate)"),
    "consolidation_cohort": ("pupils", "entry cohort of this year's grade-9 completers (grade-1 entrants; before "
                             "the start year, completers ÷ the share the mechanism's hazard leaves)"),
    "resource_rooms": ("rooms", "resource rooms (資源教室) for inclusive classes added since the start year (region-"
                       "wide rooms spread over counties by pupils)"),
}
# the quality-school metrics under each reading of 優質學校 (targets with ``quality_school:``, sim.targets)
_READINGS = {
    f"{metric}_{r}": (f"{count}_{r}", total, metric)
    for metric, (count, total) in _SHARES.items() if metric in QUALITY_SCHOOL_METRICS
    for r in QUALITY_SCHOOL_DEFINITIONS
}
INDICATOR_UNITS = (
    "teachers per 100 pupils", "teachers per 100 pupils", "teachers per 100 pupils", "m2 per pupil",
    "m2 per pupil", "CNY per pupil", "rooms per 100 pupils",
)


def run_draws(model: Model, start: int, stop: int, on_year: Callable[[int], None] | None = None, *,
              client: Client | None = None, store: ChunkStore | None = None) -> dict:
    """Raw arrays of draws ``start … stop-1``, chunk by chunk (chunks of ``scenario.chunk_size``).

    ``start`` must be a multiple of :data:`sim.rng.BLOCK_SIZE`. Whole blocks are always simulated (``stop`` is
    rounded up to a multiple of the block, the extra draws dropped): the mechanisms draw a block's random
    numbers in several passes whose consumption depends on every row, so a draw's numbers are the same only
    if its whole block is simulated. This is what makes a draw independent of how many draws are run.

    With a Dask ``client`` the chunks run on its workers; with a ``store`` (:class:`sim.checkpoint.ChunkStore`)
    finished chunks are written to disk and those already there are loaded (:func:`sim.scaleout.run_chunks`).
    The arrays are the same either way.
    """
    if client is not None or store is not None:
        from sim.scaleout import run_chunks

        return run_chunks(model, start, stop, store=store, client=client, on_year=on_year)
    if start % BLOCK_SIZE:
        raise ValueError(f"start must be a multiple of {BLOCK_SIZE}, got {start}")
    streams = Streams(model.scenario.seed)
    padded = -(-stop // BLOCK_SIZE) * BLOCK_SIZE
    parts = [
        run_chunk(model, streams, a, b, on_year=on_year)
        for a, b in chunk_bounds(padded - start, model.scenario.chunk_size)
        for a, b in [(a + start, b + start)]
    ]
    return {name: np.concatenate([p[name] for p in parts])[: stop - start] for name in parts[0]}


def to_dataset(model: Model, raw: dict[str, np.ndarray], first_draw: int = 0) -> xr.Dataset:
    """The results Dataset from the raw arrays of :func:`run_draws`."""
    s = model.sections
    n_draws = raw["students"].shape[0]
    coords = {
        "draw": np.arange(first_draw, first_draw + n_draws),
        "year": model.years,
        "county": s.county_code,
        "area": list(AREAS),
        "indicator": list(INDICATORS),
        "level": ["primary", "junior"],
    }
    masks = {"region": np.ones(s.n_counties, bool), "south": s.county_south}
    dims3 = ("draw", "year", "county")
    data: dict[str, xr.DataArray] = {}

    def per_area(fn: Callable[..., np.ndarray], *arrays: np.ndarray, where: dict | None = None) -> np.ndarray:
        """``fn`` of the county columns of each area, stacked along a last ``area`` axis."""
        chosen = where or masks
        return np.stack([fn(*(a[..., chosen[area]] for a in arrays)) for area in AREAS], axis=-1)

    for metric, (count, total) in _SHARES.items():
        c, t = raw[count].astype(float), raw[total].astype(float)
        data[f"{metric}_by_county"] = xr.DataArray(_ratio(c, t), dims=dims3)
        data[metric] = xr.DataArray(
            per_area(lambda cc, tt: _ratio(cc.sum(-1), tt.sum(-1)), c, t), dims=("draw", "year", "area")
        )
    for name, (count, total, metric) in _READINGS.items():
        c, t = raw[count].astype(float), raw[total].astype(float)
        unit, text = METRICS[metric].units, f"{METRICS[metric].description} Reading: {name.split(metric + '_')[1]}."
        data[f"{name}_by_county"] = xr.DataArray(_ratio(c, t), dims=dims3,
                                                 attrs={"units": unit, "long_name": f"{text} (per county)"})
        data[name] = xr.DataArray(per_area(lambda cc, tt: _ratio(cc.sum(-1), tt.sum(-1)), c, t),
                                  dims=("draw", "year", "area"), attrs={"units": unit, "long_name": text})
    for metric, flag in _COUNTY_FLAGS.items():
        f = raw[flag].astype(float)
        data[f"{metric}_by_county"] = xr.DataArray(f, dims=dims3)
        data[metric] = xr.DataArray(per_area(_mean, f), dims=("draw", "year", "area"))
    special = raw["special_education_ok"].astype(float)
    large = s.county_population > 200_000
    data["special_education_coverage_by_county"] = xr.DataArray(np.where(large, special, np.nan), dims=dims3)
    data["special_education_coverage"] = xr.DataArray(
        per_area(_mean, special, where={a: masks[a] & large for a in AREAS}), dims=("draw", "year", "area")
    )
    for metric in _UNIFORM:
        v = raw[metric].astype(float)
        data[f"{metric}_by_county"] = xr.DataArray(v, dims=dims3)
        data[metric] = xr.DataArray(per_area(_mean, v), dims=("draw", "year", "area"))
    for name in METRICS:
        unit, text = METRICS[name].units, METRICS[name].description
        data[name].attrs.update(units=unit, long_name=text)
        data[f"{name}_by_county"].attrs.update(units=unit, long_name=f"{text} (per county)")

    data["quality_balanced"] = xr.DataArray(raw["quality_balanced"].astype(np.int8), dims=dims3, attrs={
        "units": "1 = recognised", "long_name": "county recognised as quality-balanced (優質均衡) by this year"})
    data["resource_ready"] = xr.DataArray(raw["resource_ready"].astype(np.int8), dims=dims3, attrs={
        "units": "1 = ready", "long_name": "every school meets the standard and every indicator's CV is within limit"})
    data["guarantee_met"] = xr.DataArray(raw["guarantee_met"].astype(np.int8), dims=dims3, attrs={
        "units": "1 = met", "long_name": "simulated government-guarantee rules met (rotation, class and school size)"})
    for name, (unit, text) in {**_STOCKS, **_COUNTS}.items():
        values = raw[name]
        data[name] = xr.DataArray(values.astype(np.float32), dims=dims3, attrs={"units": unit, "long_name": text})
        data[f"{name}_area"] = xr.DataArray(
            per_area(lambda x: x.sum(-1), values).astype(np.float32), dims=("draw", "year", "area"),
            attrs={"units": unit, "long_name": f"{text}, area total"},
        )
    data["indicator_value"] = xr.DataArray(
        raw["indicator_value"].astype(np.float32), dims=(*dims3, "indicator"),
        attrs={"units": "see indicator_units", "long_name": "county value of each indicator of the 2017 standard "
               "(pupil-weighted mean over assessed sections)"})
    data["indicator_cv"] = xr.DataArray(
        raw["indicator_cv"].astype(np.float32), dims=(*dims3, "level", "indicator"),
        attrs={"units": "1", "long_name": "coefficient of variation of each indicator across the county's "
               "sections (pupil-weighted); limit 0.50 primary, 0.45 junior"})
    data["failing_sections_below"] = xr.DataArray(
        raw["failing_sections_below"].astype(np.int32), dims=(*dims3, "indicator"),
        attrs={"units": "sections", "long_name": "sections failing the school standard that are below the "
               "threshold of this indicator (the binding indicators of a county)"})
    data["cv_over_limit"] = xr.DataArray(
        raw["cv_over_limit"].astype(np.int8), dims=(*dims3, "level", "indicator"),
        attrs={"units": "1 = over", "long_name": "the indicator's coefficient of variation exceeds its limit"})
    data["guarantee_failed"] = xr.DataArray(
        raw["guarantee_failed"].astype(np.int8), dims=(*dims3, "guarantee_rule"),
        attrs={"units": "1 = failed", "long_name": "simulated government-guarantee rule failed"})
    coords["guarantee_rule"] = list(GUARANTEE_RULES)
    ds = xr.Dataset(data, coords=coords)
    ds["indicator_units"] = xr.DataArray(list(INDICATOR_UNITS), dims=("indicator",),
                                         attrs={"long_name": "units of each indicator"})
    ds["county_name"] = xr.DataArray(s.county_name, dims=("county",), attrs={"long_name": "county name (2020)"})
    ds["county_south"] = xr.DataArray(s.county_south.astype(np.int8), dims=("county",),
                                      attrs={"long_name": "1 = one of the four southern prefectures (南疆四地州)"})
    ds["year"].attrs.update(units="school year (autumn)", long_name="school year")
    ds["draw"].attrs.update(long_name="Monte Carlo draw")
    ds["county"].attrs.update(long_name="county code (2020 census)")
    ds["area"].attrs.update(long_name="region = all selected counties; south = the southern prefectures among them")
    return add_costs(model, ds)


def add_costs(model: Model, ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with the cost variables of :func:`sim.costs.cost_dataset` (cost by programme and year, totals)."""
    return ds.merge(cost_dataset(model, ds))


def _mean(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis; NaN where it is empty (an area without such counties)."""
    if values.shape[-1] == 0:
        return np.full(values.shape[:-1], np.nan)
    return values.mean(axis=-1)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def run(scenario: Scenario, on_year: Callable[[int], None] | None = None,
        model: Model | None = None) -> xr.Dataset:
    """Every draw of ``scenario`` as one Dataset (single process)."""
    model = model or prepare(scenario)
    return to_dataset(model, run_draws(model, 0, scenario.draws, on_year))
