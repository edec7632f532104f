"""Options of ``edusim sensitivity`` and their defaults (no imports: the command line reads them cheaply)."""

from __future__ import annotations

METHODS = ("sobol", "morris")
DEFAULT_N = {"sobol": 64, "morris": 10}
"""Default base sample size: Sobol' ``N`` (a power of 2; ``N·(k+2)`` points), Morris trajectories."""
DEFAULT_REPLICATES = 8
"""Draws per design point (the noise variance needs at least two)."""
DEFAULT_LEVER_LEVELS = 4
"""Equally spaced values of each lever."""
AREAS = ("region", "south")
"""Areas whose targets can be analysed."""
CONFIDENCE = 0.95
"""Level of the bootstrap confidence intervals."""
N_RESAMPLES = 1000
"""Bootstrap resamples behind each confidence interval."""
