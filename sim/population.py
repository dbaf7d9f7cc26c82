"""Residents as a struct of arrays, the synthetic population they start from, and the place.

A resident is a row across these arrays. Each community owns a contiguous block of rows
(`community_start`, `community_size`); within a block residents are ordered by age, so that
age-similar peers are near each other and a slot whose resident ages out (and takes a
10-year-old entrant) lands next to the youngest again.
"""

from typing import NamedTuple

import networkx as nx
import numpy as np

from . import codes, kernels, network
from .codes import (
    AGE_BAND_EDGES,
    LIFE_COURSE_STATES,
    MIN_AGE,
    N_RISK_FACTORS,
    RISK_FACTORS,
    WEEKS_PER_YEAR,
)
from .config import LifeCourseState, VpsimConfig
from .rng import uniforms


class Residents(NamedTuple):
    birth_week: np.ndarray  # int32; age in years = (week - birth_week) // WEEKS_PER_YEAR
    sex: np.ndarray  # int8: 0 female, 1 male
    community: np.ndarray  # int16
    risk_flags: np.ndarray  # uint8: bits codes.RISK_FLAG, the risk factors carried now
    propensity: np.ndarray  # float32: persistent individual propensity (lognormal, mean 1)
    justice_state: np.ndarray  # int8: codes.FREE, INCARCERATED, SUPERVISED, DEAD
    release_week: np.ndarray  # int32 event weeks; codes.NEVER if never
    sentence_end_week: np.ndarray
    supervision_end_week: np.ndarray
    last_arrest_week: np.ndarray
    last_offence_week: np.ndarray
    victimised_week: np.ndarray  # the last victimisation
    grievance_week: np.ndarray  # the last victimisation not mediated: retaliation runs from it
    prior_arrests: np.ndarray  # int16 counts
    convictions: np.ndarray
    victimisations: np.ndarray
    open_spell: np.ndarray  # int32: the recidivism spell followed now, or -1
    exposure: np.ndarray  # float32: recent exposure to violence through peers
    remand_end_week: np.ndarray  # int32: held on remand (pretrial) until this week, or NEVER
    remand_only: np.ndarray  # int8: 1 while held on remand with no prison sentence to follow


RESIDENT_DTYPES = {
    "birth_week": np.int32, "sex": np.int8, "community": np.int16, "risk_flags": np.uint8,
    "propensity": np.float32, "justice_state": np.int8, "release_week": np.int32,
    "sentence_end_week": np.int32, "supervision_end_week": np.int32,
    "last_arrest_week": np.int32, "last_offence_week": np.int32, "victimised_week": np.int32,
    "grievance_week": np.int32,
    "prior_arrests": np.int16,
    "convictions": np.int16, "victimisations": np.int16, "open_spell": np.int32,
    "exposure": np.float32, "remand_end_week": np.int32, "remand_only": np.int8,
}
assert tuple(RESIDENT_DTYPES) == Residents._fields


def allocate(n: int) -> Residents:
    return Residents(**{name: np.zeros(n, dtype) for name, dtype in RESIDENT_DTYPES.items()})


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


def risk_hazard_ratios(cfg: VpsimConfig) -> np.ndarray:
    """Hazard ratio on offending of every combination of risk factors, by `risk_flags`."""
    log_hr = np.array([getattr(cfg.behaviour.risk, name) for name in RISK_FACTORS])
    flags = np.arange(1 << N_RISK_FACTORS)
    carried = (flags[:, None] >> np.arange(N_RISK_FACTORS)) & 1
    return np.exp(carried @ log_hr)


def _logit(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(p) - np.log1p(-p)


def transition_rates(state: LifeCourseState, max_age: int) -> tuple[np.ndarray, np.ndarray]:
    """Weekly entry hazards by [sex, age] and exit hazards by [age] of a life-course state.

    Entry rates are derived so that a cohort, starting at age 10 with the state's prevalence
    then, follows its prevalence by age: from dP/da = j (1 - P) - e P year by year,
    j(a) = (P(a+1) - P(a) + e(a) P) / (1 - P) with P the mean over the year (never below 0:
    where the prevalence falls faster than exits allow, nobody enters).
    """
    ages = np.arange(max_age + 1)
    exit_rate = np.interp(ages, state.ages, state.exit_per_year)
    entry = np.zeros((2, max_age + 1))
    for sex, column in enumerate((state.prevalence_female, state.prevalence_male)):
        prevalence = np.interp(np.arange(max_age + 2), state.ages,
                               np.asarray(column) * state.scale)
        mean = 0.5 * (prevalence[:-1] + prevalence[1:])
        entry[sex] = np.maximum(0.0, (np.diff(prevalence) + exit_rate * mean) / (1.0 - mean))
    return entry / WEEKS_PER_YEAR, exit_rate / WEEKS_PER_YEAR


def state_tables(cfg: VpsimConfig, disadvantage: np.ndarray,
                 sizes: np.ndarray) -> dict[str, np.ndarray]:
    """The `Tables` fields of the risk factors: hazard ratios, log-odds of carrying each by sex
    and age (at entry, and for the initial population), transition hazards of the life-course
    states, and each community's multiplier of entry.

    The multiplier of a resident's entry into a state is exp(slope x disadvantage) x
    propensity ** gradient, divided by its mean over the place's residents, so that the place's
    prevalences are the configured ones on average.
    """
    pop, beh = cfg.population, cfg.behaviour
    n_ages = pop.max_age + 1
    initial = np.zeros((N_RISK_FACTORS, 2, n_ages))
    initial[0] = _logit(np.full((2, n_ages), pop.family_adversity))
    entry = np.zeros((N_RISK_FACTORS, 2, n_ages))
    exit_ = np.zeros((N_RISK_FACTORS, n_ages))
    for name in LIFE_COURSE_STATES:
        k = RISK_FACTORS.index(name)
        state = getattr(pop, name)
        initial[k] = _logit(np.stack([
            np.interp(np.arange(n_ages), state.ages, column) * state.scale
            for column in (state.prevalence_female, state.prevalence_male)]))
        entry[k], exit_[k] = transition_rates(state, pop.max_age)
    community = pop.disadvantage_risk_slope * disadvantage
    community_mean = np.log(np.average(np.exp(community), weights=sizes))
    sigma, gradient = pop.propensity_sigma, beh.state_propensity_gradient
    propensity_mean = 0.5 * sigma * sigma * gradient * (gradient - 1.0)  # log E[propensity^g]
    return {"risk_hr": risk_hazard_ratios(cfg), "initial_logit": initial,
            "state_entry": entry, "state_exit": exit_,
            "entry_log_shift": community - community_mean - propensity_mean}


def community_hazard_at_rest(cfg: VpsimConfig, disadvantage: np.ndarray) -> np.ndarray:
    """Each community's multiplier of the offending hazard with its violence at the place's
    mean and collective efficacy at its resting level (the start of a run)."""
    beh = cfg.behaviour
    efficacy = np.clip(beh.efficacy_baseline - beh.efficacy_disadvantage_slope * disadvantage,
                       0.0, 1.0)
    return np.exp(beh.community_disadvantage * disadvantage
                  - beh.efficacy_protection * (efficacy - beh.efficacy_baseline))


def victim_lethality(cfg: VpsimConfig) -> np.ndarray:
    """Lethality ratio of a violent offence by the victim's [sex, band]."""
    beh = cfg.behaviour
    by_band = np.asarray(beh.victim_age_lethality, np.float64)
    return np.stack([by_band, by_band * beh.victim_male_lethality])


def tables(cfg: VpsimConfig, graph: nx.Graph, disadvantage: np.ndarray) -> kernels.Tables:
    """The place's fixed arrays; the peer network is drawn once the residents exist."""
    pop = cfg.population
    adj_ptr, adj_idx = network.adjacency_csr(graph)
    starts, sizes = community_blocks(pop.size, pop.communities)
    return kernels.Tables(
        base_hazard=base_hazard(cfg),
        band_of_age=band_of_age(pop.max_age),
        victim_weight=victim_weight(cfg),
        victim_lethality=victim_lethality(cfg),
        community_start=starts,
        community_size=sizes,
        community_disadvantage=disadvantage,
        community_adj_ptr=adj_ptr,
        community_adj_idx=adj_idx,
        peer_ptr=np.zeros(pop.size + 1, np.int64),
        peer_idx=np.zeros(0, np.int32),
        **state_tables(cfg, disadvantage, sizes),
    )


def initial_birth_weeks(key, starts: np.ndarray, sizes: np.ndarray, max_age: int) -> np.ndarray:
    """Ages spread evenly over [MIN_AGE, max_age) within each community, increasing with index."""
    n = int(sizes.sum())
    idx = np.arange(n, dtype=np.int64)
    community = np.repeat(np.arange(len(sizes)), sizes)
    position = idx - starts[community]
    jitter = uniforms(key, codes.INIT_WEEK, idx, 0)
    span_weeks = WEEKS_PER_YEAR * (max_age - MIN_AGE)
    age_weeks = WEEKS_PER_YEAR * MIN_AGE + np.floor(
        (position + jitter) * span_weeks / sizes[community])
    return (-age_weeks).astype(np.int32)


def generate(cfg: VpsimConfig, p: kernels.Params, t: kernels.Tables) -> Residents:
    """The initial population at week 0: each resident drawn at entry (age 10) and then living
    their past alone (`kernels.prehistory`): risk states, records, prison and parole."""
    pop = cfg.population
    r = allocate(pop.size)
    r.community[:] = np.repeat(np.arange(pop.communities), t.community_size)
    birth_week = initial_birth_weeks(p.key, t.community_start, t.community_size, pop.max_age)
    kernels.init_residents(r, p, t, birth_week,
                           community_hazard_at_rest(cfg, t.community_disadvantage))
    return r


def risk_score(r: Residents, risk_hr: np.ndarray) -> np.ndarray:
    """Each resident's offending risk from who they are now: propensity x the hazard ratio of
    the risk factors they carry (what programs target by `min_risk`, `risk_percentile`, and
    `priority: risk`)."""
    return r.propensity.astype(np.float64) * risk_hr[r.risk_flags]


def nbytes(obj) -> int:
    """Bytes held by the arrays of a NamedTuple of arrays."""
    return int(sum(a.nbytes for a in obj if isinstance(a, np.ndarray)))
