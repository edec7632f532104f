"""edusim: Monte Carlo policy scenario simulator for basic education in Xinjiang.

See ``DESIGN`` in the README for the model; the package layout follows the dependency direction
``cli`` → analysis → engines → mechanisms → ``scenario``, ``baseline``, ``rng``.
"""

__version__ = "0.1.0"
