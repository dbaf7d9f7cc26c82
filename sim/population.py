"""Residents as a struct of arrays, the synthetic population they start from, and the place.

A resident is a row across these arrays. Each community owns a contiguous block of rows
(`community_start`, `community_size`); within a block residents are ordered by age, so that
age-similar peers are near each other and a slot whose resident ages out (and takes a
10-year-old entrant) lands next to the youngest again.
"""

from typing import NamedTuple

import networkx as nx
import numpy as np

from . import kernels, network
from .codes import AGE_BAND_EDGES, INIT_WEEK, MIN_AGE, WEEKS_PER_YEAR
from .config import VpsimConfig
from .rng import uniforms


class Residents(NamedTuple):
    birth_week: np.ndarray  # int32; age in years = (week - birth_week) // WEEKS_PER_YEAR
    sex: np.ndarray  # int8: 0 female, 1 male
    community: np.ndarray  # int16
    risk_flags: np.ndarray  # uint8: bits codes.RISK_FLAG
    static_risk: np.ndarray  # float32: propensity x hazard ratios of risk factors
    justice_state: np.ndarray  # int8: codes.FREE, INCARCERATED, SUPERVISED, DEAD
    release_week: np.ndarray  # int32 event weeks; codes.NEVER if never
    sentence_end_week: np.ndarray
    supervision_end_week: np.ndarray
    last_arrest_week: np.ndarray
    victimised_week: np.ndarray  # the last victimisation
    prior_arrests: np.ndarray  # int16 counts
    convictions: np.ndarray
    victimisations: np.ndarray
    open_spell: np.ndarray  # int32: the recidivism spell followed now, or -1
    exposure: np.ndarray  # float32: recent exposure to violence through peers


_DTYPES = {
    "birth_week": np.int32, "sex": np.int8, "community": np.int16, "risk_flags": np.uint8,
    "static_risk": np.float32, "justice_state": np.int8, "release_week": np.int32,
    "sentence_end_week": np.int32, "supervision_end_week": np.int32,
    "last_arrest_week": np.int32, "victimised_week": np.int32, "prior_arrests": np.int16,
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


def community_disadvantage(graph: nx.Graph, pop) -> np.ndarray:
    """Each community's disadvantage (a z-score times `pop.disadvantage_sd`): noise drawn from
    the place's `layout_seed`, smoothed over adjacent communities, standardised."""
    noise = np.random.default_rng(pop.layout_seed).normal(size=pop.communities)
    smoothed = noise + np.array([noise[list(graph.neighbors(c))].sum() for c in graph.nodes])
    smoothed = (smoothed - smoothed.mean()) / (smoothed.std() or 1.0)
    return (pop.disadvantage_sd * smoothed).astype(np.float64)


def band_of_age(max_age: int) -> np.ndarray:
    """Age in years -> reporting age band (ages below MIN_AGE map to the first band)."""
    ages = np.arange(max_age + 1)
    return np.maximum(np.searchsorted(AGE_BAND_EDGES, ages, side="right") - 1, 0).astype(np.int64)


def base_hazard(cfg: VpsimConfig) -> np.ndarray:
    """Weekly offending hazard by [sex, age in years] for a resident with static risk 1."""
    beh = cfg.behaviour
    ages = np.arange(cfg.population.max_age + 1)
    curve = np.interp(ages, beh.age_curve_ages, beh.age_curve_relative)
    weekly = beh.base_offending_per_year * cfg.population.offending_level / WEEKS_PER_YEAR * curve
    return np.stack([weekly * beh.female_relative_offending, weekly]).astype(np.float64)


def victim_weight(cfg: VpsimConfig) -> np.ndarray:
    """Acceptance probability of a candidate victim by [sex, band] (the likeliest is 1)."""
    beh = cfg.behaviour
    by_band = np.asarray(beh.victim_age_relative, np.float64)
    w = np.stack([by_band * beh.victim_female_relative, by_band])
    return w / w.max()


def tables(cfg: VpsimConfig, graph: nx.Graph, disadvantage: np.ndarray) -> kernels.Tables:
    """The place's fixed arrays; the peer network is drawn once the residents exist."""
    pop = cfg.population
    adj_ptr, adj_idx = network.adjacency_csr(graph)
    starts, sizes = community_blocks(pop.size, pop.communities)
    return kernels.Tables(
        base_hazard=base_hazard(cfg),
        band_of_age=band_of_age(pop.max_age),
        victim_weight=victim_weight(cfg),
        community_start=starts,
        community_size=sizes,
        community_disadvantage=disadvantage,
        community_adj_ptr=adj_ptr,
        community_adj_idx=adj_idx,
        peer_ptr=np.zeros(pop.size + 1, np.int64),
        peer_idx=np.zeros(0, np.int32),
    )


def initial_birth_weeks(key, starts: np.ndarray, sizes: np.ndarray, max_age: int) -> np.ndarray:
    """Ages spread evenly over [MIN_AGE, max_age) within each community, increasing with index."""
    n = int(sizes.sum())
    idx = np.arange(n, dtype=np.int64)
    community = np.repeat(np.arange(len(sizes)), sizes)
    position = idx - starts[community]
    jitter = uniforms(key, INIT_WEEK, idx, 0)
    span_weeks = WEEKS_PER_YEAR * (max_age - MIN_AGE)
    age_weeks = WEEKS_PER_YEAR * MIN_AGE + np.floor(
        (position + jitter) * span_weeks / sizes[community])
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
