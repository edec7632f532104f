"""The fast cohort engine: the cohort engine's model with one noise term per section, flow and year.

See :mod:`sim.fast.engine` and ``docs/performance.md`` (option 2).
"""
