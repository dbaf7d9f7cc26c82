"""The residents' weekly rules: numba kernels over struct-of-arrays state.

The order of a week is `sim.model` (`STAGES`); this module holds the two stages that touch every
resident, and the rules they apply:

- `step_residents` (stage "residents"), one pass over residents: demography (a resident killed
  last week or at `max_age` leaves; an entrant takes the slot, `enter_resident`); peer exposure
  fades (half-life `exposure_half_life_weeks`); release at the end of a sentence, onto parole,
  opening a recidivism spell (`open_spells`, after the pass, in resident order); offending with
  the weekly hazard h = base(age, sex) x static risk x community multiplier x exp(peer contagion
  x exposure + prison-record term + post-release term + retaliation term + program terms), the
  record, release and retaliation terms decaying since the event (retaliation since the last
  victimisation that interrupters did not mediate) (`offending_hazard`,
  `individual_program_terms`, community programs inline); P(offend) = 1 - exp(-h), violent with
  probability `violent_share`; the offence is queued; supervision ends, or a technical
  violation sends the resident back.
- `process_offences` (stage "offences"), each queued offence in order: a victim (`pick_victim`:
  a peer, or the own or an adjacent community, weighted by age and sex); lethality (more with
  firearm access); interrupters may mediate a shooting in their sites (no retaliation, the
  victim's ties not exposed); the peers of victim and offender exposed; arrest (clearance x
  police presence, more when supervised or in a group under focused deterrence), conviction,
  prison (sentence length) or probation.

A sentence starting this week ends in a later week, so releasing before the offences are
resolved is the same as releasing after. Each kernel takes named bundles: `r` (`Residents`),
`p` (`Params`), `t` (`Tables`), `pt` (`programs.ProgramTables`), `w` (`Week`: this week's
conditions, counters and queues) and `rec` (`Records`: spells and tallies).

Every random number is `rng.uniform(key, week, resident, stream)`: no generator state.
So `step_residents_parallel` (threads > 1: blocks of residents under numba's prange, each with
its own counters and queue range, merged in resident order) gives the serial kernel's results
bit for bit. `sim/reference.py` is these rules in plain Python, one `mesa.Agent` at a time.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numba import njit, prange

from . import rng
from .codes import (
    ADMISSIONS,
    ARRESTS,
    COMPARISON_ARRESTS,
    COMPARISON_VIOLENT_ARRESTS,
    COMPARISON_WEEKS,
    COMPLETER,
    DEAD,
    DROPOUT,
    FAMILY_ADVERSITY,
    FIREARM_CARRYING,
    FIREARM_HOMICIDES,
    FIREARM_INCIDENTS,
    FREE,
    GANG_MEMBERS,
    GANG_MEMBERSHIP,
    GROUP_MEMBER_WEEKS,
    HOMICIDE_ARRESTS,
    HOMICIDE_OFFENDERS,
    HOMICIDES,
    INCARCERATED,
    INCARCERATED_STOCK,
    INIT_WEEK,
    MEDIATIONS,
    MIN_AGE,
    N_COMMUNITY_STATS,
    N_RISK_FACTORS,
    N_TALLIES,
    NEVER,
    NEW_OFFENDERS,
    NEW_VICTIMS,
    NOT_OFFERED,
    OTHER_OFFENCES,
    PARTICIPANT_ARRESTS,
    PARTICIPANT_VIOLENT_ARRESTS,
    PARTICIPANT_WEEKS,
    POPULATION,
    PREHISTORY_STEP_WEEKS,
    PREHISTORY_YEARS,
    PRETRIAL,
    PUPIL_WEEKS,
    RELEASES,
    SUPERVISED,
    SUPERVISED_STOCK,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    TRANSITION_WEEKS,
    VICTIMISATIONS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
    WAITLISTED,
    WEEKS_PER_YEAR,
    decay_rate,
    horizon,
    weekly_retention,
)
from .rng import normal, uniform

if TYPE_CHECKING:
    from .config import VpsimConfig

EXPOSURE_FLOOR = 0.05  # peer exposure below this is rounded to none


class Params(NamedTuple):
    """Scalar parameters of the kernels, derived from the config by `params_from_config`."""

    key: np.uint64
    min_age_weeks: int
    max_age_weeks: int
    male_share: float
    propensity_sigma: float
    disadvantage_risk_slope: float  # log-odds of family adversity per SD of disadvantage
    state_propensity_gradient: float  # entry into risk states x propensity ** this
    violent_share: float
    peer_contagion: float
    exposure_saturation: float
    hazard_bound: float  # >= exp(largest sum of the hazard's exp terms), programs aside
    exposure_decay: float  # weekly multiplier
    homicide_exposure_weight: float
    retaliation: float
    retaliation_rate: float  # per week
    retaliation_horizon: int  # weeks after which the term is negligible
    prior_incarceration: float  # log HR of a prison record, decaying ("redemption")
    prior_incarceration_rate: float
    prior_incarceration_horizon: int
    post_release: float
    post_release_rate: float
    post_release_horizon: int
    victim_among_peers: float
    victim_in_own_community: float
    lethality: float
    firearm_lethality_ratio: float
    clearance_violent: float
    clearance_other: float
    clearance_homicide: float
    supervision_detection: float
    conviction_probability: float
    prison_probability_violent: float
    prison_probability_other: float
    prison_prior_conviction_ratio: float
    sentence_median_weeks_violent: float
    sentence_median_weeks_other: float
    sentence_median_weeks_homicide: float
    sentence_sigma: float
    parole_weeks: int
    probation_weeks: int
    revocation_probability: float  # weekly
    revocation_weeks: int
    pretrial_detention: float
    pretrial_median_weeks: float


def params_from_config(cfg: VpsimConfig, key: np.uint64) -> Params:
    """The kernels' scalars from a validated config and the run's key."""
    pop, beh, jus = cfg.population, cfg.behaviour, cfg.justice
    return Params(
        key=key,
        min_age_weeks=WEEKS_PER_YEAR * MIN_AGE,
        max_age_weeks=WEEKS_PER_YEAR * pop.max_age,
        male_share=pop.male_share,
        propensity_sigma=pop.propensity_sigma,
        disadvantage_risk_slope=pop.disadvantage_risk_slope,
        state_propensity_gradient=beh.state_propensity_gradient,
        violent_share=beh.violent_share,
        peer_contagion=beh.peer_contagion,
        exposure_saturation=beh.exposure_saturation,
        hazard_bound=hazard_bound(beh),
        exposure_decay=weekly_retention(beh.exposure_half_life_weeks),
        homicide_exposure_weight=beh.homicide_exposure_weight,
        retaliation=beh.retaliation,
        retaliation_rate=decay_rate(beh.retaliation_half_life_weeks),
        retaliation_horizon=horizon(beh.retaliation, beh.retaliation_half_life_weeks),
        prior_incarceration=beh.prior_incarceration,
        prior_incarceration_rate=decay_rate(beh.prior_incarceration_half_life_weeks),
        prior_incarceration_horizon=horizon(beh.prior_incarceration,
                                            beh.prior_incarceration_half_life_weeks),
        post_release=beh.post_release,
        post_release_rate=decay_rate(beh.post_release_half_life_weeks),
        post_release_horizon=horizon(beh.post_release, beh.post_release_half_life_weeks),
        victim_among_peers=beh.victim_among_peers,
        victim_in_own_community=beh.victim_in_own_community,
        lethality=beh.lethality * pop.lethality_level,
        firearm_lethality_ratio=beh.firearm_lethality_ratio,
        clearance_violent=jus.clearance_violent * pop.clearance_level,
        clearance_other=jus.clearance_other * pop.clearance_level,
        clearance_homicide=jus.clearance_homicide,
        supervision_detection=jus.supervision_detection,
        conviction_probability=jus.conviction_probability,
        prison_probability_violent=jus.prison_probability_violent,
        prison_probability_other=jus.prison_probability_other,
        prison_prior_conviction_ratio=jus.prison_prior_conviction_ratio,
        sentence_median_weeks_violent=jus.sentence_median_weeks_violent,
        sentence_median_weeks_other=jus.sentence_median_weeks_other,
        sentence_median_weeks_homicide=jus.sentence_median_weeks_homicide,
        sentence_sigma=jus.sentence_sigma,
        parole_weeks=int(jus.parole_weeks),
        probation_weeks=int(jus.probation_weeks),
        revocation_probability=-math.expm1(-jus.revocation_per_year / WEEKS_PER_YEAR),
        revocation_weeks=int(jus.revocation_weeks),
        pretrial_detention=jus.pretrial_detention,
        pretrial_median_weeks=jus.pretrial_median_weeks,
    )


class Tables(NamedTuple):
    """Arrays that do not change during a run."""

    base_hazard: np.ndarray  # [sex, age in years] weekly hazard, float64
    band_of_age: np.ndarray  # [age in years] -> age band, int64
    victim_weight: np.ndarray  # [sex, band] acceptance probability, float64
    victim_lethality: np.ndarray  # [sex, band] lethality ratio of a victim, float64
    community_start: np.ndarray  # [community] first resident, int64
    community_size: np.ndarray  # [community] residents, int64
    community_disadvantage: np.ndarray  # [community] z-score, float64
    community_adj_ptr: np.ndarray  # CSR of adjacent communities
    community_adj_idx: np.ndarray
    peer_ptr: np.ndarray  # CSR of the peer network over residents, int64
    peer_idx: np.ndarray  # int32
    risk_hr: np.ndarray  # [risk_flags] hazard ratio of the risk factors carried, float64
    initial_logit: np.ndarray  # [risk factor, sex, age] log-odds of carrying it at that age
    state_entry: np.ndarray  # [risk factor, sex, age in years] weekly entry hazard
    state_exit: np.ndarray  # [risk factor, age in years] weekly exit hazard
    entry_log_shift: np.ndarray  # [community] log multiplier of entry (disadvantage), float64


class Spells(NamedTuple):
    """One row per release from prison: the recidivism follow-up (NEVER-free: -1 = no event)."""

    resident: np.ndarray  # int32: the slot
    birth_week: np.ndarray  # int32: with the slot, who (a slot is reused by new entrants)
    release_week: np.ndarray  # int32
    age_at_release: np.ndarray  # int16, years
    rearrest_week: np.ndarray  # int32, first arrest after release, or -1
    reincarceration_week: np.ndarray  # int32, first admission after release, or -1
    end_week: np.ndarray  # int32, spell closed (admission, exit from the population), or -1


class Week(NamedTuple):
    """One week's conditions by community, and what the week counts and queues.

    The model sets the conditions before the resident stages; the kernels write the counters
    and the queues.
    """

    community_hazard: np.ndarray  # [community] offending multiplier (disadvantage, violence,
    #                               collective efficacy), float64
    arrest_multiplier: np.ndarray  # [community] multiplier on clearance (police presence ^
    #                                arrest elasticity x system programs' certainty), float64
    deter_all: np.ndarray  # [community] log HR of every offence: police presence deters
    deter_violent: np.ndarray  # [community] log HR of violent offences beyond deter_all
    counts: np.ndarray  # [statistic, sex, band] int64 (codes.STAT_NAMES)
    incidents: np.ndarray  # [community] violent incidents, by the victim's community, int64
    offences: np.ndarray  # queue: offender i (violent offence) or ~i (other), int32
    released: np.ndarray  # queue of this week's releases, int32


class Records(NamedTuple):
    """What the kernels keep from week to week beside the residents' own state."""

    spells: Spells
    tallies: np.ndarray  # [N_TALLIES] int64: codes.TALLY_SPELLS, TALLY_INCARCERATED


def empty_spells(capacity: int) -> Spells:
    return Spells(
        resident=np.zeros(capacity, np.int32),
        birth_week=np.zeros(capacity, np.int32),
        release_week=np.zeros(capacity, np.int32),
        age_at_release=np.zeros(capacity, np.int16),
        rearrest_week=np.full(capacity, -1, np.int32),
        reincarceration_week=np.full(capacity, -1, np.int32),
        end_week=np.full(capacity, -1, np.int32),
    )


def grow_spells(spells: Spells, capacity: int) -> Spells:
    grown = empty_spells(capacity)
    n = spells.resident.shape[0]
    for old, new in zip(spells, grown):
        new[:n] = old
    return grown


@njit(inline="always", cache=True)
def _bernoulli_logit(u, logit):
    return u < 1.0 / (1.0 + np.exp(-logit))


@njit(cache=True)
def enter_resident(r, p, t, i, week, birth_week, age=MIN_AGE):
    """Make slot `i` a new resident born in `birth_week`: sex, propensity, the risk factors
    carried at `age` (entry: 10), a clean record.

    Propensity is lognormal with mean 1. Family adversity is likelier in disadvantaged
    communities (a shift of its log-odds); entry into the life-course states is likelier there
    and for the more prone (`entry_log_shift`, `state_propensity_gradient`).
    """
    key = p.key
    c = r.community[i]
    male = uniform(key, week, i, rng.ENTRANT) < p.male_share
    sex = 1 if male else 0
    sigma = p.propensity_sigma
    log_propensity = sigma * normal(key, week, i, rng.ENTRANT + 1) - 0.5 * sigma * sigma
    propensity = np.float32(np.exp(log_propensity))  # stored in single precision
    flags = 0
    if _bernoulli_logit(uniform(key, week, i, rng.ENTRANT + 3), t.initial_logit[0, sex, age]
                        + p.disadvantage_risk_slope * t.community_disadvantage[c]):
        flags |= FAMILY_ADVERSITY
    shift = t.entry_log_shift[c] + p.state_propensity_gradient * np.log(np.float64(propensity))
    for k in range(1, N_RISK_FACTORS):
        if _bernoulli_logit(uniform(key, week, i, rng.ENTRANT + 3 + k),
                            t.initial_logit[k, sex, age] + shift):
            flags |= 1 << k
    r.sex[i] = sex
    r.birth_week[i] = birth_week
    r.risk_flags[i] = flags
    r.propensity[i] = propensity
    r.justice_state[i] = FREE
    r.release_week[i] = NEVER
    r.sentence_end_week[i] = NEVER
    r.supervision_end_week[i] = NEVER
    r.last_arrest_week[i] = NEVER
    r.last_offence_week[i] = NEVER
    r.victimised_week[i] = NEVER
    r.grievance_week[i] = NEVER
    r.prior_arrests[i] = 0
    r.convictions[i] = 0
    r.victimisations[i] = 0
    r.open_spell[i] = -1
    r.exposure[i] = 0.0
    r.remand_end_week[i] = NEVER
    r.remand_only[i] = 0


@njit(inline="always", cache=True)
def change_states(r, p, t, i, counter_week, age, weeks):
    """Life-course risk states of resident `i` over `weeks`: each state is left with its exit
    hazard, or entered with its entry hazard x the resident's multiplier (disadvantage,
    propensity). Family adversity does not change."""
    flags = r.risk_flags[i]
    m = np.exp(t.entry_log_shift[r.community[i]]
               + p.state_propensity_gradient * np.log(np.float64(r.propensity[i])))
    sex = r.sex[i]
    for k in range(1, N_RISK_FACTORS):
        bit = 1 << k
        u = uniform(p.key, counter_week, i, rng.STATE + k)
        if flags & bit:
            if u < -np.expm1(-weeks * t.state_exit[k, age]):
                flags -= bit
        elif u < -np.expm1(-weeks * t.state_entry[k, sex, age] * m):
            flags += bit
    r.risk_flags[i] = flags


@njit(cache=True)
def init_residents(r, p, t, birth_week, comm_hazard):
    """Draw every resident of the initial population (birth weeks given) as they were when
    their simulated past starts (entry at 10, or PREHISTORY_YEARS before week 0), then live
    that past up to week 0 (`prehistory`)."""
    for i in range(r.birth_week.shape[0]):
        age = max(MIN_AGE, (0 - birth_week[i]) // WEEKS_PER_YEAR - PREHISTORY_YEARS)
        enter_resident(r, p, t, i, INIT_WEEK, birth_week[i], age)
    prehistory(r, p, t, comm_hazard)


@njit(inline="always", cache=True)
def _close_spell(r, spells, i, week):
    s = r.open_spell[i]
    if s >= 0:
        spells.end_week[s] = week
        r.open_spell[i] = -1


@njit(inline="always", cache=True)
def _imprison(r, i, week, weeks):
    """Into prison until `week + weeks`; a firearm carried is taken."""
    r.justice_state[i] = INCARCERATED
    r.sentence_end_week[i] = week + weeks
    if r.risk_flags[i] & FIREARM_CARRYING:
        r.risk_flags[i] -= FIREARM_CARRYING


@njit(inline="always", cache=True)
def _admit(r, spells, tallies, i, week, weeks):
    _imprison(r, i, week, weeks)
    tallies[TALLY_INCARCERATED] += 1
    s = r.open_spell[i]
    if s >= 0:
        spells.reincarceration_week[s] = week
        spells.end_week[s] = week
        r.open_spell[i] = -1


@njit(inline="always", cache=True)
def _go_free(r, p, i, week):
    """Out of prison onto parole (or free, without parole)."""
    r.release_week[i] = week
    if p.parole_weeks > 0:
        r.justice_state[i] = SUPERVISED
        r.supervision_end_week[i] = week + p.parole_weeks
    else:
        r.justice_state[i] = FREE


@njit(inline="always", cache=True)
def _hold(r, tallies, i, week, weeks):
    """Held on remand until `week + weeks`, with no prison sentence to follow."""
    _imprison(r, i, week, weeks)
    r.remand_end_week[i] = week + weeks
    r.remand_only[i] = 1
    tallies[TALLY_INCARCERATED] += 1


@njit(inline="always", cache=True)
def _leave_remand(r, i, week):
    """Out of pretrial custody with no prison sentence: onto the probation the court gave, if
    it has not run out, or free. Not a release from prison (no parole, no recidivism spell)."""
    r.remand_only[i] = 0
    if r.supervision_end_week[i] > week:
        r.justice_state[i] = SUPERVISED
    else:
        r.justice_state[i] = FREE


@njit(inline="always", cache=True)
def _on_remand(r, i, week):
    """In custody and not (yet) serving a prison sentence."""
    return r.remand_only[i] != 0 or week < r.remand_end_week[i]


@njit(inline="always", cache=True)
def _release(r, p, tallies, i, week):
    """Out of prison onto parole; the spell it opens is written by `open_spells`."""
    tallies[TALLY_INCARCERATED] -= 1
    _go_free(r, p, i, week)


@njit(cache=True)
def open_spells(week, released, n_released, r, spells, tallies):
    """A recidivism spell for each resident released this week, in resident order."""
    for k in range(n_released):
        i = released[k]
        s = tallies[TALLY_SPELLS]
        tallies[TALLY_SPELLS] = s + 1
        spells.resident[s] = i
        spells.birth_week[s] = r.birth_week[i]
        spells.release_week[s] = week
        spells.age_at_release[s] = (week - r.birth_week[i]) // WEEKS_PER_YEAR
        spells.rearrest_week[s] = -1
        spells.reincarceration_week[s] = -1
        spells.end_week[s] = -1
        r.open_spell[i] = s


def hazard_bound(beh) -> float:
    """An upper bound of exp(x) in `offending_hazard` (contagion saturates at peer_contagion x
    exposure_saturation; the decaying terms are largest at their event), with a margin for
    rounding: a resident whose draw is above base x this cannot offend."""
    largest = (max(beh.peer_contagion, 0.0) * beh.exposure_saturation
               + max(beh.prior_incarceration, 0.0) + max(beh.post_release, 0.0)
               + max(beh.retaliation, 0.0))
    return math.exp(largest) * (1.0 + 1e-9)


@njit(inline="always", cache=True)
def offending_hazard(r, p, t, comm_hazard, i, week, age):
    """Weekly offending hazard of free resident `i` (stage 3)."""
    h = (t.base_hazard[r.sex[i], age] * r.propensity[i] * t.risk_hr[r.risk_flags[i]]
         * comm_hazard[r.community[i]])
    x = 0.0
    e = r.exposure[i]
    if e != 0.0:  # contagion, saturating
        x = p.peer_contagion * e / (1.0 + e / p.exposure_saturation)
    dt = week - r.release_week[i]
    if dt < p.prior_incarceration_horizon:
        x += p.prior_incarceration * np.exp(-p.prior_incarceration_rate * dt)
    if dt < p.post_release_horizon:
        x += p.post_release * np.exp(-p.post_release_rate * dt)
    dv = week - r.grievance_week[i]
    if dv < p.retaliation_horizon:
        x += p.retaliation * np.exp(-p.retaliation_rate * dv)
    if x != 0.0:
        h *= np.exp(x)
    return h


@njit(cache=True)
def current_risk(week, r, p, t, comm_hazard, who, out):
    """The offending hazard now (before programs and deterrence) of residents `who`, into
    `out`: how outreach workers rank whom to take on (`priority: current_risk`)."""
    for j in range(who.shape[0]):
        i = who[j]
        out[j] = offending_hazard(r, p, t, comm_hazard, i, week,
                                  (week - r.birth_week[i]) // WEEKS_PER_YEAR)


@njit(inline="always", cache=True)
def _comparable(weeks_waiting, intake_interval, age, min_age, max_age):
    """A waitlisted resident counts as comparison until the next intake (and while of eligible
    age): not being offered a place at an intake is as good as a lottery, but those who stay
    on the list longest are those who became ineligible (e.g. went to prison).

    Takes scalars: an inlined function taking the program tuple cost ~1 microsecond a call.
    """
    return weeks_waiting < intake_interval and min_age <= age <= max_age


@njit(cache=True)
def individual_program_terms(r, pt, stats, i, week, age, sex, band):
    """Log hazard ratios from individual programs on (all, violent) offending of free resident
    i, who has a status in at least one; counts participant- and comparison-weeks in `stats`
    (`pt.ind_stats`, or a block's own copy).

    Called only for such residents, and not inlined: inlining functions that take the program
    tuple cost about a microsecond per resident per week.
    """
    x_all = 0.0
    x_violent = 0.0
    for k in range(pt.ind_status.shape[0]):
        s = pt.ind_status[k, i]
        if s == COMPLETER or s == DROPOUT:
            start = pt.ind_start_week[k, i]
            end = pt.ind_end_week[k, i]
            if week < end:
                stats[k, sex, age, PARTICIPANT_WEEKS] += 1
            if pt.ind_after_release[k] and r.release_week[i] < start:
                continue  # in-prison programs act after a release that follows enrolment
            log_effect = pt.ind_log_effect[k, sex, band]
            if pt.ind_low_risk[k, i]:  # the risk principle
                log_effect *= pt.ind_low_risk_scale[k]
            x = 0.0
            if week < end:
                x = log_effect
            elif s == COMPLETER:
                since = end
                if pt.ind_after_release[k] and r.release_week[i] > since:
                    since = r.release_week[i]
                dt = week - since
                if dt < pt.ind_horizon[k]:
                    x = log_effect * np.exp(-pt.ind_rate[k] * dt)
            if pt.ind_violent_only[k]:
                x_violent += x
            else:
                x_all += x
        elif s == WAITLISTED and _comparable(week - pt.ind_start_week[k, i],
                                             pt.ind_intake_interval[k], age,
                                             pt.ind_min_age[k], pt.ind_max_age[k]):
            stats[k, sex, age, COMPARISON_WEEKS] += 1
    return x_all, x_violent


@njit(cache=True)
def step_block(lo, hi, week, r, p, t, pt, comm_hazard, deter_all, deter_violent, counts,
               offences, released, ind_stats, community_stats, spells, tallies):
    """Stages 1, 3, 5 (supervision) and 6 for residents lo..hi-1.

    Queues offences at `offences[lo:]` (the offender's index for a violent offence, its bitwise
    complement ~i for any other) and releases at `released[lo:]`; returns how many of each.
    Writes only these residents' state and the counters passed in (`counts`, `ind_stats`,
    `community_stats`, `tallies[TALLY_INCARCERATED]`), so blocks can run on separate threads, each
    with its own counters. `spells` is written only at rows these residents hold.
    """
    key = p.key
    n_offences = 0
    n_released = 0
    has_programs = pt.acts_on_residents != 0
    deterring = False  # police presence away from the reference somewhere this week
    for c in range(deter_all.shape[0]):
        if deter_all[c] != 0.0 or deter_violent[c] != 0.0:
            deterring = True
            break
    ind_status = pt.ind_status
    n_individual = ind_status.shape[0]
    community_covered = pt.community_covered
    pupils_since = pt.pupils_since
    pupils_min_age = pt.pupils_min_age
    pupils_max_age = pt.pupils_max_age
    pupils_log_effect = pt.pupils_log_effect
    pupils_rate = pt.pupils_rate
    pupils_horizon = pt.pupils_horizon
    group_member = pt.group_member
    group_log_effect = pt.group_log_effect
    for i in range(lo, hi):
        state = r.justice_state[i]
        # 1. demography
        if state == DEAD or week - r.birth_week[i] >= p.max_age_weeks:
            _close_spell(r, spells, i, week)  # censored: left the population
            if state == INCARCERATED:
                tallies[TALLY_INCARCERATED] -= 1
            enter_resident(r, p, t, i, week, week - p.min_age_weeks)
            for k in range(n_individual):  # a new resident holds no program place
                ind_status[k, i] = NOT_OFFERED
                pt.ind_start_week[k, i] = 0
                pt.ind_end_week[k, i] = 0
                pt.ind_low_risk[k, i] = 0
            group_member[i] = 0  # nor a group's call-in
            state = FREE
        age = (week - r.birth_week[i]) // WEEKS_PER_YEAR
        sex = r.sex[i]
        band = t.band_of_age[age]
        counts[POPULATION, sex, band] += 1
        if r.risk_flags[i] & GANG_MEMBERSHIP:
            counts[GANG_MEMBERS, sex, band] += 1
        # Below EXPOSURE_FLOOR the term changes the hazard by < 2%: drop it (and the exp).
        # Branch-free: a third of residents carry some exposure at the fitted violence, and a
        # branch on it is mispredicted often; 0 stays 0.
        e = r.exposure[i] * p.exposure_decay
        r.exposure[i] = e if e > EXPOSURE_FLOOR else 0.0
        if state == INCARCERATED:
            counts[INCARCERATED_STOCK, sex, band] += 1
            if _on_remand(r, i, week):
                counts[PRETRIAL, sex, band] += 1
            # 6. release
            if week >= r.sentence_end_week[i]:
                if r.remand_only[i] != 0:
                    tallies[TALLY_INCARCERATED] -= 1
                    _leave_remand(r, i, week)
                else:
                    _release(r, p, tallies, i, week)
                    released[lo + n_released] = i
                    n_released += 1
                    counts[RELEASES, sex, band] += 1
            continue
        # life-course risk states change once a quarter, staggered over residents
        if (week + i) % TRANSITION_WEEKS == 0:
            change_states(r, p, t, i, week, age, TRANSITION_WEEKS)
        # 3. offending
        u = uniform(key, week, i, rng.OFFEND)
        # Programs and deterrence first (their counters count whether or not the resident
        # could offend); then most residents are ruled out by the hazard before its exp terms
        # times their largest possible factor, times the programs' and deterrence's own.
        x_all = 0.0
        x_violent = 0.0
        c = 0
        if has_programs or deterring:
            c = r.community[i]
        if has_programs:
            # Stage 2's effects. Community programs inline, over local arrays; individual
            # programs only for residents who have a status in one.
            for k in range(n_individual):
                if ind_status[k, i] != NOT_OFFERED:
                    x_all, x_violent = individual_program_terms(r, pt, ind_stats, i, week, age,
                                                                sex, band)
                    break
            if community_covered[c]:
                since = pupils_since[c]
                if since != NEVER:
                    if pupils_min_age <= age <= pupils_max_age:
                        x_all += pupils_log_effect[sex, band]
                        community_stats[PUPIL_WEEKS] += 1
                    elif age > pupils_max_age:
                        left_ages = r.birth_week[i] + WEEKS_PER_YEAR * (pupils_max_age + 1)
                        dt = week - left_ages
                        if left_ages > since and dt < pupils_horizon:
                            x_all += pupils_log_effect[sex, band] * np.exp(-pupils_rate * dt)
                if group_member[i] != 0:
                    x_all += group_log_effect[sex, band]
                    community_stats[GROUP_MEMBER_WEEKS] += 1
        if deterring:  # police presence deters where it is (0 at the reference), after programs
            x_all += deter_all[c]
            x_violent += deter_violent[c]
        bound = (t.base_hazard[r.sex[i], age] * r.propensity[i] * t.risk_hr[r.risk_flags[i]]
                 * comm_hazard[r.community[i]] * p.hazard_bound)
        if x_all != 0.0 or x_violent != 0.0:  # the violent part scales by at most exp(x_violent)
            bound *= np.exp(x_all + max(x_violent, 0.0)) * (1.0 + 1e-9)
        if u < bound:
            h = offending_hazard(r, p, t, comm_hazard, i, week, age)
            violent_share = p.violent_share
            if x_all != 0.0:
                h *= np.exp(x_all)
            if x_violent != 0.0:  # only the violent part of the hazard changes
                v = violent_share * np.exp(x_violent)
                h *= v + 1.0 - violent_share
                violent_share = v / (v + 1.0 - violent_share)
            if u < h and u < 1.0 - np.exp(-h):  # 1 - exp(-h) <= h: skip the exp mostly
                if uniform(key, week, i, rng.OFFENCE_TYPE) < violent_share:
                    offences[lo + n_offences] = i
                else:
                    offences[lo + n_offences] = ~i
                n_offences += 1
        # 5. supervision: its term ends, or a technical violation sends the resident back
        if state == SUPERVISED:
            counts[SUPERVISED_STOCK, sex, band] += 1
            if week >= r.supervision_end_week[i]:
                r.justice_state[i] = FREE
            elif uniform(key, week, i, rng.REVOCATION) < p.revocation_probability:
                _admit(r, spells, tallies, i, week, p.revocation_weeks)
                counts[ADMISSIONS, sex, band] += 1
    return n_offences, n_released


@njit(cache=True)
def step_residents(week, r, p, t, pt, w, rec):
    """Stages 1, 3, 5 (supervision) and 6 for every resident, in one pass; opens the spells of
    this week's releases. Returns the number of offences queued in `w.offences`."""
    n_offences, n_released = step_block(0, r.birth_week.shape[0], week, r, p, t, pt,
                                        w.community_hazard, w.deter_all, w.deter_violent,
                                        w.counts, w.offences, w.released, pt.ind_stats,
                                        pt.community_stats, rec.spells, rec.tallies)
    open_spells(week, w.released, n_released, r, rec.spells, rec.tallies)
    return n_offences


@njit(cache=True, parallel=True)
def _step_blocks(week, r, p, t, pt, comm_hazard, deter_all, deter_violent, offences, released,
                 spells, blocks):
    """`step_block` over the blocks of `blocks`, on numba's threads; each block counts into its
    own rows of `blocks` and queues in its own range of `offences` and `released`.

    Takes arrays, not the `Week`/`Records` bundles: a tuple unpacked outside a prange body and
    used inside it does not compile, and tuple fields written inside one lose their writes.
    """
    n = r.birth_week.shape[0]
    block_counts = blocks.counts
    block_ind_stats = blocks.ind_stats
    block_community_stats = blocks.community_stats
    block_tallies = blocks.tallies
    queued = blocks.queued
    n_blocks = block_counts.shape[0]
    for b in prange(n_blocks):
        lo = b * n // n_blocks
        hi = (b + 1) * n // n_blocks
        block_counts[b][:] = 0
        block_ind_stats[b][:] = 0
        block_community_stats[b][:] = 0
        block_tallies[b][:] = 0
        n_off, n_rel = step_block(lo, hi, week, r, p, t, pt, comm_hazard, deter_all,
                                  deter_violent, block_counts[b], offences, released,
                                  block_ind_stats[b],
                                  block_community_stats[b], spells, block_tallies[b])
        queued[b, 0] = n_off
        queued[b, 1] = n_rel


@njit(cache=True)
def step_residents_parallel(week, r, p, t, pt, w, rec, blocks):
    """`step_residents` over blocks of residents on numba's threads, bit-identical to it.

    Each block counts into its own rows of `blocks` (a `Blocks`) and queues its offences and
    releases in its own range of the buffers; then, in block order, the queues are closed up
    and the counters summed (integers: the same whatever the order), so the offence queue and
    the spells come out in resident order, as in one pass.
    """
    _step_blocks(week, r, p, t, pt, w.community_hazard, w.deter_all, w.deter_violent,
                 w.offences, w.released, rec.spells, blocks)
    n = r.birth_week.shape[0]
    n_blocks = blocks.counts.shape[0]
    offences = w.offences
    released = w.released
    counts = w.counts  # locals: `w.counts += x` would assign to the tuple's field
    ind_stats = pt.ind_stats
    community_stats = pt.community_stats
    n_offences = 0
    n_released = 0
    for b in range(n_blocks):
        lo = b * n // n_blocks
        for k in range(blocks.queued[b, 0]):  # close up: never overwrites an unread entry
            offences[n_offences] = offences[lo + k]
            n_offences += 1
        for k in range(blocks.queued[b, 1]):
            released[n_released] = released[lo + k]
            n_released += 1
        counts += blocks.counts[b]
        ind_stats += blocks.ind_stats[b]
        community_stats += blocks.community_stats[b]
        rec.tallies[TALLY_INCARCERATED] += blocks.tallies[b, TALLY_INCARCERATED]
    open_spells(week, released, n_released, r, rec.spells, rec.tallies)
    return n_offences


class Blocks(NamedTuple):
    """Per-block counters of `step_residents_parallel`."""

    counts: np.ndarray  # [block, N_STATS, sex, band]
    ind_stats: np.ndarray  # [block, K, sex, age, N_PROGRAM_STATS]
    community_stats: np.ndarray  # [block, N_COMMUNITY_STATS]
    tallies: np.ndarray  # [block, N_TALLIES]
    queued: np.ndarray  # [block, 2]: offences, releases


def empty_blocks(n_blocks: int, counts: np.ndarray, ind_stats: np.ndarray) -> Blocks:
    return Blocks(counts=np.zeros((n_blocks, *counts.shape), np.int64),
                  ind_stats=np.zeros((n_blocks, *ind_stats.shape), np.int64),
                  community_stats=np.zeros((n_blocks, N_COMMUNITY_STATS), np.int64),
                  tallies=np.zeros((n_blocks, N_TALLIES), np.int64),
                  queued=np.zeros((n_blocks, 2), np.int64))


@njit(inline="always", cache=True)
def _can_be_victim(r, j, offender):
    s = r.justice_state[j]
    return j != offender and s != INCARCERATED and s != DEAD


@njit(cache=True)
def pick_victim(r, p, t, i, week):
    """A victim for a violent offence by `i`, or -1 if none was found (stage 4)."""
    key = p.key
    lo = t.peer_ptr[i]
    deg = t.peer_ptr[i + 1] - lo
    if deg > 0 and uniform(key, week, i, rng.VICTIM_SOURCE) < p.victim_among_peers:
        j = t.peer_idx[lo + np.int64(uniform(key, week, i, rng.VICTIM_TRY) * deg)]
        if _can_be_victim(r, j, i):
            return j
    c = r.community[i]
    if uniform(key, week, i, rng.VICTIM_COMMUNITY) >= p.victim_in_own_community:
        a0 = t.community_adj_ptr[c]
        na = t.community_adj_ptr[c + 1] - a0
        if na > 0:
            c = t.community_adj_idx[a0 + np.int64(uniform(key, week, i, rng.VICTIM_TRY + 1) * na)]
    start = t.community_start[c]
    size = t.community_size[c]
    for attempt in range(7):
        j = start + np.int64(uniform(key, week, i, rng.VICTIM_TRY + 2 + 2 * attempt) * size)
        if not _can_be_victim(r, j, i):
            continue
        age = (week - r.birth_week[j]) // WEEKS_PER_YEAR
        w = t.victim_weight[r.sex[j], t.band_of_age[age]]
        if attempt == 6 or uniform(key, week, i, rng.VICTIM_TRY + 3 + 2 * attempt) < w:
            return j
    return -1


@njit(inline="always", cache=True)
def _expose_peers(r, t, i, weight):
    for k in range(t.peer_ptr[i], t.peer_ptr[i + 1]):
        j = t.peer_idx[k]
        r.exposure[j] += weight


@njit(cache=True)
def process_offences(week, n_offences, r, p, t, pt, w, rec):
    """Stages 4 (victimisation), 5 (justice) and 7 (peer exposure) for this week's offences,
    the first `n_offences` of `w.offences`, in queue order."""
    year_start_week = week - week % WEEKS_PER_YEAR
    offences = w.offences
    police = w.arrest_multiplier
    counts = w.counts
    community_incidents = w.incidents
    spells = rec.spells
    tallies = rec.tallies
    key = p.key
    for k in range(n_offences):
        code = offences[k]
        violent = code >= 0
        i = code if violent else ~code
        state = r.justice_state[i]
        if state == DEAD:  # killed by an offence processed earlier this week
            continue
        age = (week - r.birth_week[i]) // WEEKS_PER_YEAR
        sex = r.sex[i]
        band = t.band_of_age[age]
        c = r.community[i]
        homicide = False
        if r.last_offence_week[i] < year_start_week:
            counts[NEW_OFFENDERS, sex, band] += 1
        r.last_offence_week[i] = week
        # 4. victimisation
        if violent:
            counts[VIOLENT_OFFENCES, sex, band] += 1
            armed = (r.risk_flags[i] & FIREARM_CARRYING) != 0
            if armed:
                counts[FIREARM_INCIDENTS, sex, band] += 1
            v = pick_victim(r, p, t, i, week)
            if v >= 0:
                community_incidents[r.community[v]] += 1
                vsex = r.sex[v]
                vband = t.band_of_age[(week - r.birth_week[v]) // WEEKS_PER_YEAR]
                counts[VICTIMISATIONS, vsex, vband] += 1
                if r.victimised_week[v] < year_start_week:
                    counts[NEW_VICTIMS, vsex, vband] += 1
                r.victimised_week[v] = week
                # interrupters mediate a shooting whose victim lives in their site
                mediated = False
                if armed and pt.mediation_cover[r.community[v]] != 0:
                    mediated = uniform(key, week, i, rng.MEDIATION) < pt.mediation
                if mediated:
                    pt.community_stats[MEDIATIONS] += 1
                else:
                    r.grievance_week[v] = week
                if r.victimisations[v] < 32767:
                    r.victimisations[v] += 1
                lethality = p.lethality
                if armed:
                    lethality *= p.firearm_lethality_ratio
                lethality *= t.victim_lethality[vsex, vband]
                weight = 1.0
                if uniform(key, week, i, rng.LETHAL) < lethality:
                    homicide = True
                    counts[HOMICIDES, vsex, vband] += 1
                    counts[HOMICIDE_OFFENDERS, sex, band] += 1
                    if armed:
                        counts[FIREARM_HOMICIDES, vsex, vband] += 1
                    r.justice_state[v] = DEAD
                    weight = p.homicide_exposure_weight
                # 7. contagion: the peers of victim and offender are exposed
                if not mediated:
                    _expose_peers(r, t, v, weight)
                _expose_peers(r, t, i, weight)
            else:
                community_incidents[c] += 1
        else:
            counts[OTHER_OFFENCES, sex, band] += 1
        # 5. justice
        p_arrest = _clearance(p, violent, homicide) * police[c]
        if state == SUPERVISED:
            p_arrest *= p.supervision_detection
        for k in range(pt.ind_status.shape[0]):  # participants' certainty of arrest
            s = pt.ind_status[k, i]
            if (s == COMPLETER or s == DROPOUT) and week < pt.ind_end_week[k, i]:
                p_arrest *= pt.ind_clearance[k]
        # focused deterrence: credible enforcement on the targeted groups' members
        if pt.group_member[i] != 0:
            p_arrest *= pt.group_clearance
        if uniform(key, week, i, rng.ARREST) >= p_arrest:
            continue
        for k in range(pt.ind_status.shape[0]):  # outcomes of participants and comparison
            s = pt.ind_status[k, i]
            if (s == COMPLETER or s == DROPOUT) and week < pt.ind_end_week[k, i]:
                pt.ind_stats[k, sex, age, PARTICIPANT_ARRESTS] += 1
                if violent:
                    pt.ind_stats[k, sex, age, PARTICIPANT_VIOLENT_ARRESTS] += 1
            elif s == WAITLISTED and _comparable(week - pt.ind_start_week[k, i],
                                             pt.ind_intake_interval[k], age,
                                             pt.ind_min_age[k], pt.ind_max_age[k]):
                pt.ind_stats[k, sex, age, COMPARISON_ARRESTS] += 1
                if violent:
                    pt.ind_stats[k, sex, age, COMPARISON_VIOLENT_ARRESTS] += 1
        if r.prior_arrests[i] < 32767:
            r.prior_arrests[i] += 1
        r.last_arrest_week[i] = week
        counts[ARRESTS, sex, band] += 1
        if violent:
            counts[VIOLENT_ARRESTS, sex, band] += 1
        if homicide:
            counts[HOMICIDE_ARRESTS, sex, band] += 1
        s = r.open_spell[i]
        if s >= 0 and spells.rearrest_week[s] < 0:
            spells.rearrest_week[s] = week
        if state == INCARCERATED:  # supervision revoked earlier this week
            continue
        weeks = _court(p, key, week, i, violent, homicide, r.convictions[i])
        remand = _remand(p, key, week, i)
        if weeks < 0:
            if remand > 0:
                _hold(r, tallies, i, week, remand)
            continue
        if r.convictions[i] < 32767:
            r.convictions[i] += 1
        if weeks > 0:  # the time held on remand counts towards the sentence
            _admit(r, spells, tallies, i, week, max(weeks, remand))
            r.remand_end_week[i] = week + remand
            counts[ADMISSIONS, sex, band] += 1
        else:
            _probation(r, p, i, week)
            if remand > 0:
                _hold(r, tallies, i, week, remand)


@njit(inline="always", cache=True)
def _clearance(p, violent, homicide):
    """Arrest probability of an offence at police presence 1."""
    if homicide:
        return p.clearance_homicide
    if violent:
        return p.clearance_violent
    return p.clearance_other


@njit(inline="always", cache=True)
def _court(p, key, week, i, violent, homicide, prior_convictions):
    """After an arrest: -1 if not convicted; else a prison sentence in weeks, or 0 (probation).

    Prison is likelier after an earlier conviction; sentences are lognormal around the offence's
    median, in whole weeks, at least one."""
    if uniform(key, week, i, rng.CONVICT) >= p.conviction_probability:
        return -1
    if homicide:
        p_prison = 1.0
        median = p.sentence_median_weeks_homicide
    elif violent:
        p_prison = p.prison_probability_violent
        median = p.sentence_median_weeks_violent
    else:
        p_prison = p.prison_probability_other
        median = p.sentence_median_weeks_other
    if prior_convictions > 0:
        p_prison = min(1.0, p_prison * p.prison_prior_conviction_ratio)
    if uniform(key, week, i, rng.PRISON) < p_prison:
        length = median * np.exp(p.sentence_sigma * normal(key, week, i, rng.SENTENCE_A))
        return max(1, np.int64(length + 0.5))
    return 0


@njit(inline="always", cache=True)
def _remand(p, key, week, i):
    """After an arrest: the weeks held in custody before trial, or 0 if not held. Lognormal
    around the median, in whole weeks, at least one."""
    if p.pretrial_detention <= 0.0 or uniform(key, week, i, rng.REMAND) >= p.pretrial_detention:
        return 0
    length = p.pretrial_median_weeks * np.exp(
        p.sentence_sigma * normal(key, week, i, rng.REMAND_LENGTH))
    return max(1, np.int64(length + 0.5))


@njit(inline="always", cache=True)
def _probation(r, p, i, week):
    if p.probation_weeks > 0:
        r.justice_state[i] = SUPERVISED
        r.supervision_end_week[i] = max(r.supervision_end_week[i], week + p.probation_weeks)


@njit(cache=True)
def prehistory(r, p, t, comm_hazard):
    """Each resident's past, from entry at age 10 up to week 0, alone: what the run starts from.

    The weekly rules of a free resident and the justice system, in steps of
    PREHISTORY_STEP_WEEKS and without the interactions that need the others (victims, peer
    exposure, retaliation, community violence, programs): life-course states change; an offence
    (at most one a step) may be violent and, with the mean lethality of a victim, a homicide;
    arrest at police presence 1, conviction, prison or probation; releases onto parole, the end
    of supervision, revocations. So the run starts with records, people in prison and the
    recently released in the numbers and hands that these rules give, not from an empty justice
    system; the burn-in settles what the interactions add.
    """
    key = p.key
    L = PREHISTORY_STEP_WEEKS
    TRANSITION_STEPS = 3  # life-course states change every third step (12 weeks)
    revocation = -np.expm1(L * np.log1p(-p.revocation_probability))
    victim_factor = t.victim_lethality.mean()  # of a victim of any sex and age
    window = PREHISTORY_YEARS * WEEKS_PER_YEAR // L
    for i in range(r.birth_week.shape[0]):
        steps = min(window, -(r.birth_week[i] + p.min_age_weeks) // L)
        for j in range(steps, 0, -1):
            week = -L * j  # this step covers [week, week + L)
            counter = INIT_WEEK - j  # its draws: a week no run reaches
            state = r.justice_state[i]
            if state == INCARCERATED:
                if r.sentence_end_week[i] >= week + L:
                    continue
                if r.remand_only[i] != 0:
                    _leave_remand(r, i, r.sentence_end_week[i])
                else:
                    _go_free(r, p, i, r.sentence_end_week[i])
                state = r.justice_state[i]
            if state == SUPERVISED:
                if r.supervision_end_week[i] < week + L:
                    r.justice_state[i] = FREE
                    state = FREE
                elif uniform(key, counter, i, rng.REVOCATION) < revocation:
                    _imprison(r, i, week, p.revocation_weeks)
                    continue
            age = (week - r.birth_week[i]) // WEEKS_PER_YEAR
            if j % TRANSITION_STEPS == 0:
                change_states(r, p, t, i, counter, age, TRANSITION_STEPS * L)
            h = offending_hazard(r, p, t, comm_hazard, i, week, age)
            if uniform(key, counter, i, rng.OFFEND) >= -np.expm1(-L * h):
                continue
            violent = uniform(key, counter, i, rng.OFFENCE_TYPE) < p.violent_share
            homicide = False
            if violent:
                lethality = p.lethality * victim_factor
                if r.risk_flags[i] & FIREARM_CARRYING:
                    lethality *= p.firearm_lethality_ratio
                homicide = uniform(key, counter, i, rng.LETHAL) < lethality
            r.last_offence_week[i] = week
            p_arrest = _clearance(p, violent, homicide)
            if state == SUPERVISED:
                p_arrest *= p.supervision_detection
            if uniform(key, counter, i, rng.ARREST) >= p_arrest:
                continue
            if r.prior_arrests[i] < 32767:
                r.prior_arrests[i] += 1
            r.last_arrest_week[i] = week
            weeks = _court(p, key, counter, i, violent, homicide, r.convictions[i])
            remand = _remand(p, key, counter, i)
            if weeks < 0:
                if remand > 0:
                    _imprison(r, i, week, remand)
                    r.remand_end_week[i] = week + remand
                    r.remand_only[i] = 1
                continue
            if r.convictions[i] < 32767:
                r.convictions[i] += 1
            if weeks > 0:
                _imprison(r, i, week, max(weeks, remand))
                r.remand_end_week[i] = week + remand
            else:
                _probation(r, p, i, week)
                if remand > 0:
                    _imprison(r, i, week, remand)
                    r.remand_end_week[i] = week + remand
                    r.remand_only[i] = 1
