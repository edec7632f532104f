"""Random streams: every random number of a run derives from one ``numpy.random.SeedSequence``.

A stream is keyed by a **stable component name** (``"students.dropout/2027"``, ``"uncertainty/attrition.rural_rate"``)
and by **where in the ensemble** it is used:

- :meth:`Streams.block_generator` gives the generator of one *block* of :data:`BLOCK_SIZE` consecutive draws
  (draws ``block*BLOCK_SIZE … (block+1)*BLOCK_SIZE-1``). The cohort engine, vectorised over draws, makes one call
  per block, component and year and always generates the full block, then keeps the rows it needs. Draw ``i``'s
  numbers are row ``i % BLOCK_SIZE`` of block ``i // BLOCK_SIZE``: they depend on the seed, the component and
  ``i`` only, never on the number of draws, the chunk size (always a multiple of the block) or the workers.
- :meth:`Streams.draw_generator` gives the generator of a single draw, for code that runs one draw at a time
  (the agent engine).

Keys are turned into ``SeedSequence.spawn_key`` words through ``hashlib`` (BLAKE2b), never ``hash()`` (salted
per process) nor ``seed + i`` (overlapping streams). The two kinds of key live in separate name spaces, so a
block stream and a draw stream never coincide.

Because streams are keyed by component name and not by the order of calls, two scenarios that differ in a
lever share the random numbers of each draw (common random numbers): a lever that changes nothing gives a
bit-identical result.

References
----------
NumPy, "Parallel random number generation" (SeedSequence spawning):
https://numpy.org/doc/stable/reference/random/parallel.html
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

BLOCK_SIZE = 64
"""Draws per random block. Chunk sizes must be multiples of it (validated in the scenario)."""

_BLOCK_SPACE = 1
_DRAW_SPACE = 2


def component_key(component: str) -> tuple[int, ...]:
    """Four 32-bit words from the BLAKE2b digest of a component name (stable across runs and platforms).

    >>> component_key("students.dropout") == component_key("students.dropout")
    True
    """
    if not component:
        raise ValueError("component name must be a non-empty string")
    digest = hashlib.blake2b(component.encode("utf-8"), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


@dataclass(frozen=True)
class Streams:
    """All random streams of one run, derived from ``seed``.

    Parameters
    ----------
    seed
        The scenario's seed (a non-negative integer). Same seed → same numbers.
    """

    seed: int

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    def _sequence(self, space: int, index: int, component: str) -> np.random.SeedSequence:
        if index < 0:
            raise ValueError(f"index must be non-negative, got {index}")
        return np.random.SeedSequence(int(self.seed), spawn_key=(space, *component_key(component), int(index)))

    def block_generator(self, block: int, component: str) -> np.random.Generator:
        """Generator for draws ``block*BLOCK_SIZE … (block+1)*BLOCK_SIZE-1`` of ``component``."""
        return np.random.Generator(np.random.PCG64(self._sequence(_BLOCK_SPACE, block, component)))

    def draw_generator(self, draw: int, component: str) -> np.random.Generator:
        """Generator for a single draw of ``component`` (for engines that run one draw at a time)."""
        return np.random.Generator(np.random.PCG64(self._sequence(_DRAW_SPACE, draw, component)))

    def chunk_generators(self, component: str, start: int, stop: int) -> list[tuple[slice, np.random.Generator]]:
        """One generator per block of draws ``start … stop-1``, with the rows of the chunk that block fills.

        ``start`` must be a multiple of :data:`BLOCK_SIZE`. A vectorised mechanism draws a block's rows with one
        call, rows in order: numpy fills arrays in C order, so the first ``k`` rows of a block are the same
        whether ``k`` or all :data:`BLOCK_SIZE` rows are drawn. Draw ``i``'s numbers therefore do not depend on
        the chunk size, the number of draws or the workers.
        """
        if start % BLOCK_SIZE:
            raise ValueError(f"chunk start must be a multiple of {BLOCK_SIZE}, got {start}")
        return [
            (
                slice(block * BLOCK_SIZE + lo - start, block * BLOCK_SIZE + hi - start),
                self.block_generator(block, component),
            )
            for block, lo, hi in block_slices(start, stop)
        ]

    def uniforms(self, component: str, start: int, stop: int, shape: tuple[int, ...] = ()) -> np.ndarray:
        """Uniforms in [0, 1) for draws ``start … stop-1``, shape ``(stop - start, *shape)``.

        Row ``i - start`` depends only on (seed, component, draw ``i``), whatever ``start`` and ``stop`` are.
        """
        out = np.empty((stop - start, *shape))
        for block, lo, hi in block_slices(start, stop):
            rows = self.block_generator(block, component).random((BLOCK_SIZE, *shape))[lo:hi]
            out[block * BLOCK_SIZE + lo - start : block * BLOCK_SIZE + hi - start] = rows
        return out


def block_slices(start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """Blocks covering draws ``start … stop-1``: ``(block, lo, hi)`` with rows ``lo:hi`` of each block.

    >>> list(block_slices(60, 130))
    [(0, 60, 64), (1, 0, 64), (2, 0, 2)]
    """
    if start < 0 or stop < start:
        raise ValueError(f"need 0 <= start <= stop, got {start}, {stop}")
    draw = start
    while draw < stop:
        block = draw // BLOCK_SIZE
        lo = draw - block * BLOCK_SIZE
        hi = min(stop - block * BLOCK_SIZE, BLOCK_SIZE)
        yield block, lo, hi
        draw = block * BLOCK_SIZE + hi


def chunk_bounds(draws: int, chunk_size: int) -> list[tuple[int, int]]:
    """Split ``draws`` into consecutive ``(start, stop)`` chunks of ``chunk_size`` (a multiple of the block).

    >>> chunk_bounds(200, 128)
    [(0, 128), (128, 200)]
    """
    if draws <= 0:
        raise ValueError(f"draws must be positive, got {draws}")
    if chunk_size <= 0 or chunk_size % BLOCK_SIZE:
        raise ValueError(f"chunk_size must be a positive multiple of {BLOCK_SIZE}, got {chunk_size}")
    return [(s, min(s + chunk_size, draws)) for s in range(0, draws, chunk_size)]
