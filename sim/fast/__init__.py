"""The fast cohort engine: compiled passes of the cohort engine's yearly steps (docs/performance.md, option 2)."""
