"""``edusim run --precision H``: add draws until every target's probability is known to within ``H``.

After each batch of draws every target is evaluated in every scope it has (region, south, every county: the
rows of the table); the run stops when the half-width of every 95% Wilson interval is at most ``H`` (a
probability: 0.02 is ±2 points), or when the cap of draws is reached. The next batch is not a blind doubling:
for each row, the number of draws ``n`` at which the Wilson half-width at the current estimate ``p`` falls to
``H`` is solved for (:func:`draws_needed`), and the run goes to the largest of them (in whole blocks of
:data:`sim.rng.BLOCK_SIZE`). Since draw ``i`` depends only on the seed and ``i``, the result after ``n`` draws is
identical to that of a plain run with ``--draws n``.

The Wilson half-width is

.. math:: h(p, n) = \\frac{z}{1 + z^2/n} \\sqrt{\\frac{p(1-p)}{n} + \\frac{z^2}{4n^2}},

at most about :math:`z\\sqrt{p(1-p)/n}`, so ``H = 0.02`` needs at most about 2,400 draws (at ``p = 0.5``) and far
fewer for a probability near 0 or 1.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA 22(158).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy import stats

from sim.outcomes import TargetOutcome
from sim.rng import BLOCK_SIZE

Z95 = float(stats.norm.ppf(0.975))
"""Normal quantile of the 95% interval."""
DEFAULT_MAX_DRAWS = 20_000
"""Cap of ``--precision`` runs when ``--max-draws`` is not given."""


def wilson_half_width(p: float, n: float, z: float = Z95) -> float:
    """Half-width of the Wilson score interval of a proportion ``p`` observed over ``n`` draws.

    >>> round(wilson_half_width(0.5, 100), 4)
    0.0962
    """
    return z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))


def draws_needed(p: float, half_width: float, z: float = Z95) -> int:
    """The fewest draws ``n`` with :func:`wilson_half_width` ``(p, n) <= half_width`` (``p`` held fixed).

    >>> draws_needed(0.5, 0.02)  # the normal approximation gives 1.96**2 * 0.25 / 0.02**2 = 2401
    2398
    """
    if not 0 < half_width < 0.5:
        raise ValueError(f"half_width must be in (0, 0.5), got {half_width}")
    lo, hi = 0, 1
    while wilson_half_width(p, hi, z) > half_width:  # the half-width decreases with n
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # invariant: h(lo) > half_width >= h(hi)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if wilson_half_width(p, mid, z) <= half_width else (mid, hi)
    return hi


def half_width(outcome: TargetOutcome) -> float:
    """Half-width of the 95% Wilson interval of a computed outcome."""
    return (outcome.ci_high - outcome.ci_low) / 2


@dataclass
class PrecisionReport:
    """How a ``--precision`` run went: the batches, why it stopped, the widest interval left."""

    half_width: float
    max_draws: int
    batches: list[tuple[int, float]] = field(default_factory=list)
    """``(draws so far, widest half-width)`` after each batch."""
    widest: str = ""
    """The row (``"T3 south"``) of the widest interval after the last batch."""

    @property
    def draws(self) -> int:
        return self.batches[-1][0] if self.batches else 0

    @property
    def widest_half_width(self) -> float:
        return self.batches[-1][1] if self.batches else float("nan")

    @property
    def reached(self) -> bool:
        return bool(self.batches) and self.widest_half_width <= self.half_width

    @property
    def stopped(self) -> str:
        """Why the run stopped, in words."""
        if self.reached:
            return f"every 95% interval's half-width is at most {self.half_width:g}"
        return f"the cap of {self.max_draws} draws was reached (--max-draws)"

    def add(self, outcomes: Sequence[TargetOutcome]) -> None:
        """Record the batch whose evaluation is ``outcomes``."""
        rows = [o for o in outcomes if o.computed]
        draws = outcomes[0].draws if outcomes else 0
        if not rows:
            self.batches.append((draws, 0.0))
            self.widest = ""
            return
        worst = max(rows, key=half_width)
        self.batches.append((draws, half_width(worst)))
        self.widest = f"{worst.target} {worst.scope}"

    def next_draws(self, outcomes: Sequence[TargetOutcome]) -> int | None:
        """Draws to have after the next batch, or ``None`` when the run is done.

        The largest :func:`draws_needed` over the rows at their current estimates, in whole blocks, at least one
        block more than now and at most the cap.
        """
        if self.reached or self.draws >= self.max_draws:
            return None
        needed = max(draws_needed(o.probability, self.half_width) for o in outcomes if o.computed)
        blocks = -(-needed // BLOCK_SIZE) * BLOCK_SIZE
        return min(max(blocks, self.draws + BLOCK_SIZE), self.max_draws)

    def record(self) -> dict:
        """For ``provenance.json``."""
        return {
            "half_width": self.half_width,
            "max_draws": self.max_draws,
            "draws": self.draws,
            "stopped": self.stopped,
            "widest_half_width": round(self.widest_half_width, 6),
            "widest": self.widest,
            "batches": [{"draws": n, "widest_half_width": round(w, 6)} for n, w in self.batches],
        }
