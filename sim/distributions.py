"""Uncertainty specifications and their inverse-CDF sampling.

An uncertainty in a scenario is written as a small mapping with a ``dist`` key, e.g.
``{dist: beta, mean: 0.05, sd: 0.015}``. This module turns such a mapping into a frozen, validated
specification and samples it **by inverse CDF from uniforms**, so that the value of a parameter in one draw
is a monotone function of that draw's uniform number. Two scenarios that share the uniforms of a draw
(common random numbers) therefore share the parameter values wherever their specifications agree, and move
them monotonically where they differ.

Supported distributions (parameters, in the units of the parameter they describe):

==================  ==========================  ===========================================================
``dist``            parameters                  notes
==================  ==========================  ===========================================================
``normal``          ``mean``, ``sd``            ``sd > 0``; support is the whole real line
``lognormal``       ``median``, ``sigma``       ``median, sigma > 0``; ``log X ~ N(log median, sigma)``
``beta``            ``mean``, ``sd``            ``0 < mean < 1``, ``0 < sd² < mean (1 − mean)``
``uniform``         ``low``, ``high``           ``low < high``
``triangular``      ``low``, ``mode``, ``high`` ``low < high``, ``low ≤ mode ≤ high``
``truncated_normal`` ``mean``, ``sd``, ``low``,  ``sd > 0``, ``low < high``; normal restricted to [low, high]
                    ``high``
``fixed``           ``value``                   a constant (no uncertainty)
==================  ==========================  ===========================================================

The lognormal is parameterised by its **median and log-scale sigma** (not mean and sd), because that is how
published ranges ("about X, within a factor of e^sigma") are usually read.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from scipy import stats

from sim.errors import InputError, InputErrors, short_repr, suggest

__all__ = [
    "DIST_NAMES",
    "MODELS",
    "Beta",
    "Distribution",
    "Fixed",
    "Lognormal",
    "Normal",
    "Triangular",
    "TruncatedNormal",
    "Uniform",
    "describe",
    "parse_distribution",
    "sample",
    "support",
    "to_scipy",
]

#: A finite float; integers are accepted, booleans and strings are not.
_Real = Annotated[float, Field(strict=True, allow_inf_nan=False)]

#: Smallest sd² / (mean (1 − mean)) of a beta: shape parameters up to 1e12 (beyond, sd² underflows or the
#: quantile function loses all precision).
_MIN_BETA_RELATIVE_VARIANCE = 1e-12

#: Smallest probability mass the truncation interval of a truncated normal may hold.
_MIN_TRUNCATED_MASS = 1e-9


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Normal(_Spec):
    """Normal distribution ``N(mean, sd²)``; unbounded support."""

    dist: Literal["normal"] = "normal"
    mean: _Real = Field(description="mean, in the parameter's units")
    sd: _Real = Field(description="standard deviation, > 0, in the parameter's units")

    @model_validator(mode="after")
    def _check(self) -> Normal:
        if self.sd <= 0:
            raise ValueError(f"sd must be > 0, got {self.sd}")
        return self


class Lognormal(_Spec):
    """Lognormal distribution: ``log X ~ N(log median, sigma²)``; support (0, ∞)."""

    dist: Literal["lognormal"] = "lognormal"
    median: _Real = Field(description="median, > 0, in the parameter's units")
    sigma: _Real = Field(description="standard deviation of log X, > 0 (dimensionless)")

    @model_validator(mode="after")
    def _check(self) -> Lognormal:
        problems = []
        if self.median <= 0:
            problems.append(f"median must be > 0, got {self.median}")
        if self.sigma <= 0:
            problems.append(f"sigma must be > 0, got {self.sigma}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class Beta(_Spec):
    """Beta distribution given by its mean and standard deviation; support (0, 1).

    The shape parameters follow from the method of moments: with ``k = mean (1 − mean) / sd² − 1``,
    ``a = mean k`` and ``b = (1 − mean) k``. A beta with that mean exists only when
    ``sd² < mean (1 − mean)``.
    """

    dist: Literal["beta"] = "beta"
    mean: _Real = Field(description="mean, in (0, 1)")
    sd: _Real = Field(description="standard deviation, 0 < sd < sqrt(mean (1 − mean))")

    @model_validator(mode="after")
    def _check(self) -> Beta:
        if not 0 < self.mean < 1:
            raise ValueError(f"beta mean must be in (0, 1), got {self.mean}")
        if self.sd <= 0:
            raise ValueError(f"sd must be > 0, got {self.sd}")
        limit = math.sqrt(self.mean * (1 - self.mean))
        if (self.sd * self.sd) < self.mean * (1 - self.mean) * _MIN_BETA_RELATIVE_VARIANCE:
            raise ValueError(
                f"sd {self.sd} is too small for a beta with mean {self.mean} (its shape parameters would exceed "
                f"{1 / _MIN_BETA_RELATIVE_VARIANCE:.0e}); use dist: fixed for a constant"
            )
        if self.sd >= limit:
            raise ValueError(
                f"no beta distribution has mean {self.mean} and sd {self.sd}: sd must be < "
                f"sqrt(mean (1 − mean)) = {limit:.4g}"
            )
        return self

    @property
    def shape(self) -> tuple[float, float]:
        """The shape parameters ``(a, b)`` of the method of moments."""
        k = self.mean * (1 - self.mean) / (self.sd * self.sd) - 1
        return self.mean * k, (1 - self.mean) * k


class Uniform(_Spec):
    """Uniform distribution on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: _Real = Field(description="lower end, in the parameter's units")
    high: _Real = Field(description="upper end, > low, in the parameter's units")

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if self.low >= self.high:
            raise ValueError(f"low must be < high, got low={self.low}, high={self.high}")
        return self


class Triangular(_Spec):
    """Triangular distribution on [low, high] with its peak at ``mode``."""

    dist: Literal["triangular"] = "triangular"
    low: _Real = Field(description="lower end")
    mode: _Real = Field(description="most likely value, low <= mode <= high")
    high: _Real = Field(description="upper end, > low")

    @model_validator(mode="after")
    def _check(self) -> Triangular:
        if self.low >= self.high:
            raise ValueError(f"low must be < high, got low={self.low}, high={self.high}")
        if not self.low <= self.mode <= self.high:
            raise ValueError(f"mode must be in [low, high] = [{self.low}, {self.high}], got {self.mode}")
        return self


class TruncatedNormal(_Spec):
    """Normal ``N(mean, sd²)`` restricted to [low, high]."""

    dist: Literal["truncated_normal"] = "truncated_normal"
    mean: _Real = Field(description="mean of the untruncated normal")
    sd: _Real = Field(description="sd of the untruncated normal, > 0")
    low: _Real = Field(description="lower truncation point")
    high: _Real = Field(description="upper truncation point, > low")

    @model_validator(mode="after")
    def _check(self) -> TruncatedNormal:
        if self.sd <= 0:
            raise ValueError(f"sd must be > 0, got {self.sd}")
        if self.low >= self.high:
            raise ValueError(f"low must be < high, got low={self.low}, high={self.high}")
        with np.errstate(all="ignore"):  # a subnormal sd overflows (x − mean) / sd to ±∞: the cdf is still right
            mass = stats.norm.cdf(self.high, self.mean, self.sd) - stats.norm.cdf(self.low, self.mean, self.sd)
        if mass < _MIN_TRUNCATED_MASS:
            raise ValueError(
                f"[low, high] = [{self.low}, {self.high}] lies too far from mean {self.mean} "
                f"(holds {mass:.2g} of the normal's probability); move mean or widen the interval"
            )
        return self


class Fixed(_Spec):
    """A constant: the parameter is not uncertain."""

    dist: Literal["fixed"] = "fixed"
    value: _Real = Field(description="the constant value")


#: One uncertainty specification; the ``dist`` key selects the kind.
Distribution = Annotated[
    Normal | Lognormal | Beta | Uniform | Triangular | TruncatedNormal | Fixed, Field(discriminator="dist")
]

#: The specification class of each valid value of ``dist``.
MODELS: Mapping[str, type[_Spec]] = MappingProxyType(
    {
        "normal": Normal,
        "lognormal": Lognormal,
        "beta": Beta,
        "uniform": Uniform,
        "triangular": Triangular,
        "truncated_normal": TruncatedNormal,
        "fixed": Fixed,
    }
)

#: The valid values of ``dist``.
DIST_NAMES: tuple[str, ...] = tuple(MODELS)

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


def parse_distribution(raw: Any, *, key: str = "", file: str | None = None) -> Distribution:
    """Validate a mapping such as ``{dist: beta, mean: 0.05, sd: 0.015}``.

    Parameters
    ----------
    raw
        The mapping read from YAML.
    key
        Key path of the mapping, used in error messages.
    file
        File the mapping came from, used in error messages.

    Returns
    -------
    Distribution
        The frozen specification.

    Raises
    ------
    InputErrors
        Every problem found, each naming the key and what is allowed.
    """
    prefix = f"{key}." if key else ""
    if not isinstance(raw, dict):
        raise InputErrors(
            [InputError(f"must be a mapping with a 'dist' key, got {short_repr(raw)}", file=file, key=key or None)]
        )
    if "dist" not in raw:
        raise InputErrors(
            [InputError(f"missing 'dist'; valid: {', '.join(DIST_NAMES)}", file=file, key=key or None)]
        )
    if raw["dist"] not in DIST_NAMES:
        raise InputErrors(
            [
                InputError(
                    f"unknown distribution {short_repr(raw['dist'])}; {suggest(str(raw['dist']), DIST_NAMES)}",
                    file=file,
                    key=f"{prefix}dist",
                )
            ]
        )
    try:
        return _ADAPTER.validate_python(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"][1:]]  # drop the discriminator tag
            sub = ".".join(loc)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = f"unknown key; {suggest(loc[-1], MODELS[raw['dist']].model_fields)}"
            elif err["type"] == "missing":
                message = "required key missing"
            elif "input" in err and err["type"] != "value_error":
                message += f", got {short_repr(err['input'])}"
            errors.append(InputError(message, file=file, key=(prefix + sub) if sub else (key or None)))
        raise InputErrors(errors) from None


def to_scipy(spec: Distribution) -> Any:
    """The frozen :mod:`scipy.stats` distribution of a specification.

    Raises
    ------
    TypeError
        For ``fixed``, which has no scipy counterpart (scipy has no point mass); :func:`sample` handles it.
    """
    if isinstance(spec, Normal):
        return stats.norm(loc=spec.mean, scale=spec.sd)
    if isinstance(spec, Lognormal):
        return stats.lognorm(s=spec.sigma, scale=spec.median)
    if isinstance(spec, Beta):
        a, b = spec.shape
        return stats.beta(a, b)
    if isinstance(spec, Uniform):
        return stats.uniform(loc=spec.low, scale=spec.high - spec.low)
    if isinstance(spec, Triangular):
        width = spec.high - spec.low
        return stats.triang(c=(spec.mode - spec.low) / width, loc=spec.low, scale=width)
    if isinstance(spec, TruncatedNormal):
        a = (spec.low - spec.mean) / spec.sd
        b = (spec.high - spec.mean) / spec.sd
        return stats.truncnorm(a, b, loc=spec.mean, scale=spec.sd)
    if isinstance(spec, Fixed):
        raise TypeError("fixed has no scipy distribution; use sample()")
    raise TypeError(f"not a distribution specification: {spec!r}")


def support(spec: Distribution) -> tuple[float, float]:
    """The closed hull ``(lower, upper)`` of the values the distribution can take (may be infinite)."""
    if isinstance(spec, Normal):
        return -math.inf, math.inf
    if isinstance(spec, Lognormal):
        return 0.0, math.inf
    if isinstance(spec, Beta):
        return 0.0, 1.0
    if isinstance(spec, Uniform | Triangular | TruncatedNormal):
        return spec.low, spec.high
    if isinstance(spec, Fixed):
        return spec.value, spec.value
    raise TypeError(f"not a distribution specification: {spec!r}")


def sample(spec: Distribution, u: ArrayLike) -> NDArray[np.float64]:
    """Values of the parameter for uniforms ``u`` by inverse CDF.

    Parameters
    ----------
    spec
        The distribution.
    u
        Uniform numbers in [0, 1], one per draw (any shape). The value for ``u`` is the ``u``-quantile of the
        distribution, so it is non-decreasing in ``u``: common random numbers carry across scenarios.
        ``u`` is clipped to [2⁻⁵³, 1 − 2⁻⁵³] so that unbounded distributions give finite values.

    Returns
    -------
    numpy.ndarray
        Float array with the shape of ``u``.

    Raises
    ------
    ValueError
        When ``u`` has values outside [0, 1] or NaN (a programming error, not an input error).
    """
    u_arr = np.asarray(u, dtype=np.float64)
    if np.isnan(u_arr).any() or (u_arr < 0).any() or (u_arr > 1).any():
        raise ValueError("uniforms must lie in [0, 1]")
    if isinstance(spec, Fixed):
        return np.full(u_arr.shape, spec.value, dtype=np.float64)
    eps = 2.0**-53
    clipped = np.clip(u_arr, eps, 1.0 - eps)
    return np.asarray(to_scipy(spec).ppf(clipped), dtype=np.float64)


def describe(spec: Distribution) -> str:
    """A short human-readable form, e.g. ``beta(mean=0.05, sd=0.015)``."""
    params = ", ".join(f"{k}={v:g}" for k, v in spec.model_dump().items() if k != "dist")
    return f"{spec.dist}({params})"
