"""Residents as a struct of arrays, and the synthetic population they start from.

A resident is a row across these arrays. Each community owns a contiguous block of rows
(`community_start`, `community_size`); within a block residents are ordered by age, so that
age-similar peers are near each other and a slot whose resident ages out (and takes a
10-year-old entrant) lands next to the youngest again.
"""

from typing import NamedTuple

import numpy as np

from . import kernels
from .config import AGE_BAND_EDGES, MIN_AGE, VpsimConfig, band_labels
from .rng import uniforms


class Residents(NamedTuple):
    birth_week: np.ndarray  # int32; age in years = (week - birth_week) // 52
    sex: np.ndarray  # int8: 0 female, 1 male
    community: np.ndarray  # int16
    risk_flags: np.ndarray  # uint8: bits kernels.FAMILY_ADVERSITY ... FIREARM_ACCESS
    static_risk: np.ndarray  # float32: propensity x hazard ratios of risk factors
    justice_state: np.ndarray  # int8: kernels.FREE, INCARCERATED, SUPERVISED, DEAD
    week_released: np.ndarray  # int32 event weeks; kernels.NEVER if never
    week_sentence_ends: np.ndarray
    week_supervision_ends: np.ndarray
    week_last_arrest: np.ndarray
    week_victimised: np.ndarray
    prior_arrests: np.ndarray  # int16 counts
    convictions: np.ndarray
    victimisations: np.ndarray
    open_spell: np.ndarray  # int32: the recidivism spell followed now, or -1
    exposure: np.ndarray  # float32: recent exposure to violence through peers


_DTYPES = {
    "birth_week": np.int32, "sex": np.int8, "community": np.int16, "risk_flags": np.uint8,
    "static_risk": np.float32, "justice_state": np.int8, "week_released": np.int32,
    "week_sentence_ends": np.int32, "week_supervision_ends": np.int32,
    "week_last_arrest": np.int32, "week_victimised": np.int32, "prior_arrests": np.int16,
    "convictions": np.int16, "victimisations": np.int16, "open_spell": np.int32,
    "exposure": np.float32,
}
assert tuple(_DTYPES) == Residents._fields


def allocate(n: int) -> Residents:
    return Residents(**{name: np.zeros(n, dtype) for name, dtype in _DTYPES.items()})


def community_blocks(size: int, communities: int) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous, near-equal blocks: (first resident, residents) per community."""
    sizes = np.full(communities, size // communities, np.int64)
    sizes[: size % communities] += 1
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    return starts, sizes


def band_of_age(max_age: int) -> np.ndarray:
    """Age in years -> reporting age band (ages below MIN_AGE map to the first band)."""
    ages = np.arange(max_age + 1)
    return np.maximum(np.searchsorted(AGE_BAND_EDGES, ages, side="right") - 1, 0).astype(np.int64)


def initial_birth_weeks(key, starts: np.ndarray, sizes: np.ndarray, max_age: int) -> np.ndarray:
    """Ages spread evenly over [MIN_AGE, max_age) within each community, increasing with index."""
    n = int(sizes.sum())
    idx = np.arange(n, dtype=np.int64)
    community = np.repeat(np.arange(len(sizes)), sizes)
    position = idx - starts[community]
    jitter = uniforms(key, kernels.INIT_WEEK, idx, 0)
    span_weeks = 52 * (max_age - MIN_AGE)
    age_weeks = 52 * MIN_AGE + np.floor((position + jitter) * span_weeks / sizes[community])
    return (-age_weeks).astype(np.int32)


def generate(cfg: VpsimConfig, p: kernels.Params, t: kernels.Tables) -> Residents:
    """The initial population: everyone free, with no record (burn-in builds histories)."""
    pop = cfg.population
    r = allocate(pop.size)
    r.community[:] = np.repeat(np.arange(pop.communities), t.community_size)
    birth_week = initial_birth_weeks(p.key, t.community_start, t.community_size, pop.max_age)
    kernels.init_residents(r, p, t, birth_week)
    return r


def nbytes(obj) -> int:
    """Bytes held by the arrays of a NamedTuple of arrays."""
    return int(sum(a.nbytes for a in obj if isinstance(a, np.ndarray)))
