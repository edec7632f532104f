"""一縣一策 targeting: each county aims its instruments at the schools and indicators that fail its assessment.

Source: plan of 2025-01-26, §二(一)1: "各地(州、市)政府(行署)加強統籌協調,'一縣一策'明確短板弱項" — each county
identifies its shortfalls. The plan does not say how a county aims its instruments; the lever
``levers.targeting.enabled`` (default off) applies this documented priority rule (assumption):

1. **Teacher indicators get teacher instruments, facility indicators get capital.** A section's failing
   indicators are those below their threshold of 教督〔2017〕6號 (:func:`sim.steps.shortfalls`).
2. **PE/art teachers** (indicator 3): a county's new hires placed in a section below the PE/art threshold are
   PE/art teachers up to the section's shortfall (teachers needed to reach the threshold), the others PE/art at
   the usual share (:func:`pe_art_hires`). Hires are not added: only their subject changes.
3. **Backbone cultivation** (indicator 2): the number of teachers a county and level cultivate is unchanged
   (``Binomial(candidates, share)``), but they are picked first among the candidates of sections below the
   backbone threshold, the rest among the others (:func:`aimed_cultivation`).
4. **Rotation** goes by ``missing_indicator`` (:func:`sim.mechanisms.rotation.placement_weights`) whatever
   ``rotation.placement`` says.
5. **Capital** goes ``weakest_first`` (:func:`sim.mechanisms.facilities.allocate`) whatever
   ``funding.allocation`` says.

Nothing is added to a county's budget, hires or cultivations: targeting moves the same means.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sim.mechanisms.quota import group_sum, hypergeometric_within_groups

IntArray = npt.NDArray[np.int64]


def pe_art_shortfall(pupils: npt.ArrayLike, pe_art: npt.ArrayLike, threshold_per_100: npt.ArrayLike) -> IntArray:
    """PE/art teachers a section lacks to reach ``threshold_per_100`` teachers per 100 pupils, ``>= 0``."""
    need = np.ceil(np.asarray(threshold_per_100, dtype=np.float64) * np.asarray(pupils, dtype=np.float64) / 100.0
                   - 1e-9)
    return np.maximum(need.astype(np.int64) - np.asarray(pe_art, dtype=np.int64), 0)


def pe_art_hires(hires: npt.ArrayLike, shortfall: npt.ArrayLike, share: npt.ArrayLike,
                 rng: np.random.Generator) -> IntArray:
    """PE/art teachers among ``hires``: ``min(hires, shortfall) + Binomial(rest, share)`` per section."""
    h = np.asarray(hires, dtype=np.int64)
    aimed = np.minimum(h, np.asarray(shortfall, dtype=np.int64))
    return aimed + rng.binomial(h - aimed, np.broadcast_to(np.asarray(share, dtype=np.float64), h.shape))


def aimed_cultivation(candidates: npt.ArrayLike, below: npt.ArrayLike, share: float, group: npt.ArrayLike,
                      n_groups: int, rng: np.random.Generator) -> IntArray:
    """Newly cultivated backbone teachers per section, ``(D, S)``.

    Per group (county and level) ``N ~ Binomial(candidates, share)``; ``min(N, candidates in sections below the
    threshold)`` are picked without replacement there, the rest among the other candidates. Each section gets at
    most its candidates; the group's total is the untargeted one in distribution.
    """
    c = np.asarray(candidates, dtype=np.int64)
    g = np.asarray(group, dtype=np.int64)
    total = rng.binomial(np.rint(group_sum(c, g, n_groups)).astype(np.int64), share)
    pool = c * np.asarray(below, dtype=bool)
    first = np.minimum(total, np.rint(group_sum(pool, g, n_groups)).astype(np.int64))
    picked = hypergeometric_within_groups(first, pool, g, n_groups, rng)
    return picked + hypergeometric_within_groups(total - first, c - picked, g, n_groups, rng)
