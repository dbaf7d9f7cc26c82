"""The configuration schema: structured-config dataclasses, their defaults, ranges and validation.

Hydra composes `configs/` over this schema, so an unknown key or a wrong type fails at start with
the key's full name. Ranges are checked by `validate()`, before anything is written: one line
names the full key, the value and the allowed range.

Defaults here are neutral; the calibrated values, with their units and sources, live in the YAML
files of `configs/`.
"""

from __future__ import annotations

import math
import re
import threading
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from .catalogue import KINDS
from .codes import (
    AGE_BAND_EDGES,
    JUSTICE_STATES,
    LIFE_COURSE_STATES,
    MAX_RUN_WEEKS,
    MIN_AGE,
    RISK_FACTORS,
    SEXES,
    WEEKS_PER_YEAR,
    band_labels,
)
from .config_files import (  # noqa: F401
    CONFIG_DIR,
    NAME_PATTERN,
    NAME_RULE,
    PATH_NAMES,
    ConfigError,
    check_plain_name,
    shown,
)


def bounded(default: Any, lo: float | None = None, hi: float | None = None, *,
            lo_open: bool = False, hi_open: bool = False) -> Any:
    """A field with an allowed range, checked by `validate()`."""
    return field(default=default, metadata={"range": (lo, hi, lo_open, hi_open)})


def probability(default: float) -> Any:
    return bounded(default, 0.0, 1.0)


def positive(default: float) -> Any:
    return bounded(default, 0.0, None, lo_open=True)


def log_hazard_ratio(default: float, hi: float = 5.0) -> Any:
    # exp(+-5) is a 150-fold hazard change: anything beyond is a typo, not a belief.
    return bounded(default, -5.0, hi)


# Runaway ranges. Peer contagion has no ceiling in the kernels (exposure is not capped), so
# above some level of violence the feedback (violence -> peers' exposure -> more violence) runs
# away until prisons fill: behaviour.peer_contagion = 0.6, once inside the range, gave 91,290
# violent incidents per 100,000 a year and 23.7% of residents in prison. Until the kernels
# saturate, the ranges below stop before that region. Each `hi`/`lo` marked "runaway" was
# measured one key at a time, the others at the `city` defaults, on `small` over 30 + 10 years
# with seeds 0-2 (2026-12-02): "ok at" is the highest value that stayed within the bounds of
# tests/test_ranges.py (at most 10% in prison, 25,000 violent incidents and 500 homicides per
# 100,000 a year),
# "runaway at" the lowest that did not; the bound keeps a margin below it. Two keys near their
# bounds at once can still run away (e.g. peer_contagion and exposure_half_life_weeks).


@dataclass
class LifeCourseState:
    """A risk state that residents enter and leave as they age (e.g. gang membership).

    The prevalence by age (linear between `ages`) of men and women, and the exit rate, are the
    inputs: `sim.population.transition_rates` derives the entry rates that reproduce them in a
    cohort. A resident's entry rate is further scaled by community disadvantage and individual
    propensity (`behaviour.state_propensity_gradient`), averaging 1 over the place.
    """

    ages: list[int] = field(default_factory=lambda: [10, 90])  # beyond the last: its values
    prevalence_male: list[float] = field(default_factory=lambda: [0.0, 0.0])
    prevalence_female: list[float] = field(default_factory=lambda: [0.0, 0.0])
    exit_per_year: list[float] = field(default_factory=lambda: [0.5, 0.5])  # hazard, per year
    scale: float = bounded(1.0, 0.0, 20.0)  # place multiplier on the prevalences


@dataclass
class PopulationConfig:
    """A synthetic population: who lives where, and the risk factors they carry."""

    name: str = "city"
    size: int = bounded(100_000, 1_000, 50_000_000)
    communities: int = bounded(49, 1, 32_767)
    max_age: int = bounded(65, 55, 90)  # residents leave at this age (years)
    male_share: float = probability(0.5)
    # Place effect: multiplier on every resident's offending hazard, for what differs between
    # places beyond the risk factors modelled (fitted per calibrated place; 1 elsewhere).
    offending_level: float = bounded(1.0, 0.0, 3.0, lo_open=True)  # see test_ranges
    # Place effect on the chance that a violent offence kills (weapons, intent, trauma care):
    # multiplier on `behaviour.lethality` (fitted only for calibrated places; 1 elsewhere).
    lethality_level: float = bounded(1.0, 0.0, 10.0, lo_open=True)
    # Place effect on the justice system: multiplier on the probability that a violent or other
    # offence leads to an arrest (1: the justice defaults; below 1: impunity). A homicide's is
    # the place's own `justice.clearance_homicide`.
    clearance_level: float = bounded(1.0, 0.0, 1.0, lo_open=True)
    # The residents' ages (10 to max_age - 1) as a share of the place's population of all ages:
    # rates per 100,000 of all ages (as national statistics publish them) are the residents'
    # rates times this, counting no homicide victim or prisoner outside those ages.
    share_of_all_ages: float = bounded(0.715, 0.3, 1.0)
    # Individual propensity: lognormal multiplier on the offending hazard, mean 1.
    propensity_sigma: float = bounded(1.0, 0.0, 3.0)
    # Family adversity: drawn at entry (age 10) and kept; prevalence at average disadvantage.
    family_adversity: float = probability(0.2)
    # Life-course risk states: prevalence by age and sex, and exit rates.
    disengagement: LifeCourseState = field(default_factory=LifeCourseState)
    substance_use: LifeCourseState = field(default_factory=LifeCourseState)
    gang_membership: LifeCourseState = field(default_factory=LifeCourseState)
    firearm_carrying: LifeCourseState = field(default_factory=LifeCourseState)
    # Communities: disadvantage is a z-score; risk factors are likelier where it is high.
    disadvantage_sd: float = bounded(1.0, 0.0, 2.0)  # runaway: ok at 2.72, not 2.73
    # The map of the place (which communities are disadvantaged) is drawn from this seed, not the
    # run's: replicates of one place differ by chance events, not by being another city.
    layout_seed: int = bounded(0, 0, 2**63 - 1)
    disadvantage_risk_slope: float = bounded(0.5, 0.0, 1.5)  # log-odds per SD; runaway: ok at
    # 1.95, not 1.96
    # Peer network.
    peer_ties: int = bounded(3, 0, 5)  # ties each resident makes (degree is about twice this);
    # runaway: ok at 6, not 7 (each tie is a path for contagion)
    peer_ties_within_community: float = probability(0.85)
    peer_age_window_years: float = bounded(4.0, 0.5, 20.0)
    gang_ties: int = bounded(3, 0, 50)  # extra ties each gang member makes to other members


@dataclass
class RiskEffects:
    """Log hazard ratios of the risk factors on offending, while a resident carries them."""

    # At most a 12-fold hazard (exp 2.5), beyond any risk factor in the literature; runaway:
    # family_adversity ok at 2.88, not 2.92; disengagement ok at 3.56, not 3.59; substance_use
    # ok at 4.51, not 4.54 (gang_membership and firearm carrying stayed within bounds at 5).
    family_adversity: float = log_hazard_ratio(0.4, hi=2.5)
    disengagement: float = log_hazard_ratio(0.5, hi=2.5)
    substance_use: float = log_hazard_ratio(0.5, hi=2.5)
    gang_membership: float = log_hazard_ratio(1.2, hi=2.5)
    firearm_carrying: float = log_hazard_ratio(0.3, hi=2.5)


@dataclass
class BehaviourConfig:
    """Offending, victimisation and contagion."""

    # Offences a year by a male at peak age, with no risk factor, mean propensity, average
    # community; the age curve scales it by age (linear between the listed ages).
    base_offending_per_year: float = bounded(0.2, 0.0, 3.0)
    age_curve_ages: list[int] = field(default_factory=lambda: [10, 15, 18, 22, 30, 40, 50, 65])
    age_curve_relative: list[float] = field(
        default_factory=lambda: [0.1, 0.8, 1.0, 0.85, 0.5, 0.3, 0.15, 0.05])
    female_relative_offending: float = bounded(0.25, 0.0, 1.0)
    violent_share: float = bounded(0.25, 0.0, 0.4)  # share of offences that are violent;
    # runaway: ok at 0.54, not 0.55
    risk: RiskEffects = field(default_factory=RiskEffects)
    # Who enters life-course risk states: entry rates x propensity ** gradient (normalised to
    # average 1), so that the same people carry several risks.
    state_propensity_gradient: float = bounded(0.5, 0.0, 3.0)
    # Contagion (Green, Horel & Papachristos 2017): exposure to violence through peer ties. The
    # log hazard ratio saturates: peer_contagion x E / (1 + E / exposure_saturation).
    peer_contagion: float = log_hazard_ratio(0.3, hi=0.4)  # per unit of exposure
    exposure_saturation: float = bounded(3.0, 0.1, 100.0)  # incidents
    exposure_half_life_weeks: float = bounded(12.4, 0.1, 26.0)
    homicide_exposure_weight: float = bounded(3.0, 0.0, 100.0)
    # Victim-offender overlap: a victim's own hazard rises, then decays.
    retaliation: float = log_hazard_ratio(0.7)
    retaliation_half_life_weeks: float = bounded(8.0, 0.1, 520.0)
    # What prison itself does, bounded by the causal evidence (Loeffler & Nagin 2022; Bhuller et
    # al. 2020: HR 0.8; Gaes & Camp 2009: HR 1.3): a record term (log HR after a release,
    # decaying with its half-life; a half-life of a lifetime or more makes it permanent) and a
    # spike at release (HR at most 1.5). Who goes to prison is selection: propensity and states.
    prior_incarceration: float = bounded(0.0, math.log(0.8), math.log(1.3))
    prior_incarceration_half_life_weeks: float = bounded(156.0, 0.1, 1e6)
    post_release: float = bounded(0.0, 0.0, math.log(1.5))
    post_release_half_life_weeks: float = bounded(13.0, 0.1, 520.0)
    # Deterrence: police presence P in a community (relative to the place's reference, 1)
    # multiplies the hazard of other offences by P ** -deterrence_other and of violent offences
    # by P ** -deterrence_violent, apart from what presence does to the arrest probability.
    deterrence_violent: float = bounded(0.0, 0.0, 2.0)
    deterrence_other: float = bounded(0.0, 0.0, 2.0)
    # Victims.
    victim_among_peers: float = probability(0.3)
    victim_in_own_community: float = probability(0.8)
    victim_female_relative: float = bounded(0.8, 0.0, 1.0)
    victim_age_relative: list[float] = field(
        default_factory=lambda: [0.5, 1.0, 1.0, 0.8, 0.6, 0.4, 0.25])  # one per age band
    # share of violent offences that kill, unarmed offender (fitted: about 0.05%)
    # over 500 homicides per 100,000 a year (tests/test_ranges.py): ok at 0.055, not 0.056
    lethality: float = bounded(0.002, 0.0, 0.05)
    firearm_lethality_ratio: float = bounded(25.0, 1.0, 100.0)  # offender carrying a firearm
    victim_male_lethality: float = bounded(1.0, 1.0, 10.0)  # lethality ratio, male victims
    victim_age_lethality: list[float] = field(
        default_factory=lambda: [1.0] * 7)  # lethality ratio by the victim's age band
    # Communities.
    # per SD of disadvantage; runaway: ok at 1.02, not 1.06; ok at -1.30, not -1.34
    community_disadvantage: float = bounded(0.2, -1.0, 0.75)
    # per unit of relative violence; runaway: ok at 0.54, not 0.58
    community_violence: float = log_hazard_ratio(0.2, hi=0.4)
    # log HR per unit of collective efficacy (0-1) above its baseline: the hazard falls;
    # runaway: ok at 4.72, not 4.75
    efficacy_protection: float = log_hazard_ratio(0.5, hi=3.0)
    violence_half_life_weeks: float = bounded(13.0, 0.1, 520.0)
    spillover: float = probability(0.25)  # weight of neighbouring communities' violence
    efficacy_baseline: float = probability(0.5)
    efficacy_disadvantage_slope: float = bounded(0.1, 0.0, 1.0)  # per SD
    efficacy_violence_erosion: float = bounded(0.05, 0.0, 1.0)  # per unit relative violence
    efficacy_adjustment_per_week: float = probability(0.02)


@dataclass
class JusticeConfig:
    """Policing, courts, prisons and supervision."""

    clearance_violent: float = probability(0.3)  # arrest probability per violent offence
    clearance_other: float = probability(0.1)
    clearance_homicide: float = probability(0.6)
    # police presence in every community, relative to the place's reference (deterrence and
    # clearance respond to it): half to double
    police_presence: float = bounded(1.0, 0.5, 2.0)
    # elasticity of the arrest probability to police presence: clearance x P ** this
    arrest_presence_elasticity: float = bounded(1.0, 0.0, 1.0)
    supervision_detection: float = bounded(1.5, 1.0, 10.0)  # clearance multiplier when supervised
    conviction_probability: float = probability(0.6)
    prison_probability_violent: float = probability(0.5)
    prison_probability_other: float = probability(0.2)
    prison_prior_conviction_ratio: float = bounded(1.5, 1.0, 10.0)
    sentence_median_weeks_violent: float = bounded(104.0, 1.0, 2600.0)
    # over 10% of residents in prison: ok at 474, not 494 (fitted model, 2026-12-02)
    sentence_median_weeks_other: float = bounded(float(WEEKS_PER_YEAR), 1.0, 450.0)
    sentence_median_weeks_homicide: float = bounded(780.0, 1.0, 2600.0)
    sentence_sigma: float = bounded(0.6, 0.0, 3.0)  # lognormal spread of sentence lengths
    # Pretrial detention: the share of arrests held in custody until the case ends (the court's
    # decision is known at the arrest; a prison sentence counts the time held), and the median
    # time held (lognormal with `sentence_sigma`). 0: nobody held (US-like prisons, jails aside).
    pretrial_detention: float = probability(0.0)
    pretrial_median_weeks: float = bounded(26.0, 1.0, 520.0)
    parole_weeks: int = bounded(156, 0, 1040)
    probation_weeks: int = bounded(104, 0, 1040)
    # technical violations, supervised; over 10% of residents in prison: ok at 0.84, not 0.85
    revocation_per_year: float = bounded(0.1, 0.0, 0.8)
    revocation_weeks: int = bounded(26, 1, 180)  # over 10% in prison: ok at 187, not 191
    cost_per_prisoner_year: float = bounded(33_274.0, 0.0, 1e7)  # average cost
    # what one prisoner more or fewer changes (variable costs), as a share of the average: one
    # at the average cost is the long run, when housing units open or close with staff
    marginal_share_of_prison_cost: float = bounded(0.2, 0.0, 1.0)
    # police staffing at presence 1 and its cost: officers added or taken away by a city-wide
    # change in presence, and the officers of police programs (officers_per_site)
    officers_per_1000_residents: float = bounded(3.0, 0.0, 50.0)
    cost_per_officer_year: float = bounded(169_000.0, 0.0, 1e7)


@dataclass
class CostsConfig:
    """Money in the benefit-cost accounts (sim/accounts.py): the currency and year every figure
    is restated in, the discount rate, the harm of offences to their victims, and the justice
    unit costs beside those of `justice`. Each unit cost is in its source's year and is restated
    with the price index (`accounts.PRICE_INDEX`). Costs change no simulated behaviour."""

    currency: str = "USD"
    base_year: int = bounded(2024, 2008, 2024)  # the year of the account's money
    discount_rate: float = bounded(0.03, 0.0, 0.2)  # a year, real
    intangible: bool = True  # victims' pain, suffering and quality of life; false: tangible only
    # victim cost per offence: McCollister, French & Fang 2010 (accounts.MCCOLLISTER_2010)
    victim_cost_homicide: float = bounded(8_442_000.0, 0.0, 1e9)
    victim_cost_homicide_tangible: float = bounded(737_517.0, 0.0, 1e9)
    victim_cost_violent: float = bounded(26_826.0, 0.0, 1e8)  # a non-fatal violent offence
    victim_cost_violent_tangible: float = bounded(1_897.0, 0.0, 1e8)
    victim_cost_other: float = bounded(490.0, 0.0, 1e7)  # a non-violent offence
    victim_cost_other_tangible: float = bounded(480.0, 0.0, 1e7)
    victim_cost_year: int = bounded(2008, 2008, 2024)
    # justice beside prisons (justice.cost_per_prisoner_year) and police
    cost_per_arrest: float = bounded(3_000.0, 0.0, 1e6)  # police, prosecution and court
    arrest_cost_year: int = bounded(2024, 2008, 2024)
    cost_per_supervision_year: float = bounded(1_248.0, 0.0, 1e6)  # probation or parole
    supervision_cost_year: int = bounded(2008, 2008, 2024)
    prison_cost_year: int = bounded(2015, 2008, 2024)  # of justice.cost_per_prisoner_year
    officer_cost_year: int = bounded(2020, 2008, 2024)  # of justice.cost_per_officer_year
    program_cost_year: int = bounded(2017, 2008, 2024)  # of the programs' unit costs


MAX_PROGRAM_EFFECT = 2.0
"""A program at most doubles what it acts on (a hazard, police presence, efficacy, uptake).
Runaway: a violence_interruption program with effect 3 (tripling the hazard of those exposed
to violence) gave 21,000 violent incidents per 100,000 a year (2.5: 4,800; 2: 2,400); every
program at once ran away at 4.3 (see the runaway note above)."""


@dataclass
class Targeting:
    """Who is eligible: all conditions must hold."""

    min_age: int = bounded(10, 0, 120)
    max_age: int = bounded(120, 0, 120)
    sexes: list[str] = field(default_factory=lambda: ["female", "male"])
    min_risk: float = bounded(0.0, 0.0, None)  # risk score: propensity x HR of risk factors
    # above this percentile of the risk score among all residents (every age and state)
    risk_percentile: float = bounded(0.0, 0.0, 100.0, hi_open=True)
    risk_factors: list[str] = field(default_factory=list)  # must carry each of these
    communities: list[int] = field(default_factory=list)  # community indices; empty: all
    most_violent_communities: int = bounded(0, 0, 32_767)  # N most violent at start; 0: off
    # choose the most violent communities again every this many weeks, by their recent violence
    # (hot spots move); 0: once, at the start
    reselect_every_weeks: int = bounded(0, 0, 520)
    justice_state: str = "free"  # free (incl. supervised) | incarcerated | released | any
    released_within_weeks: int = bounded(WEEKS_PER_YEAR, 1, 5200)  # for justice_state=released


PRIORITIES = ("risk", "random", "current_risk")
"""Who an individual program offers its places to first (`ProgramConfig.priority`)."""


@dataclass
class ProgramConfig:
    """A program: what it does (kind, effect), to whom (targeting), how much, and its cost."""

    kind: str = "baseline"
    description: str = ""
    targeting: Targeting = field(default_factory=Targeting)
    capacity: int | None = None  # individual programs: places at once
    coverage: float | None = None  # share of the eligible enrolled (individual programs)
    # who gets a place first: highest static risk (propensity x risk factors) | random |
    # current_risk (the offending hazard now: risk factors, recent victimisation, exposure to
    # violence through peers, recent release; how outreach workers choose their caseload)
    priority: str = "risk"
    start_week: int = bounded(0, 0, None)  # weeks after burn-in
    duration_weeks: int = bounded(WEEKS_PER_YEAR, 1, 5200)  # per participant
    intake_interval_weeks: int = bounded(4, 1, 520)
    uptake: float = probability(1.0)  # an offered place is taken
    completion: float = probability(1.0)  # a participant completes (else drops out midway)
    effect: float = 1.0  # its meaning: its kind in sim.catalogue; allowed (0, MAX_PROGRAM_EFFECT]
    # the effect's decay after completion
    half_life_weeks: float = bounded(float(WEEKS_PER_YEAR), 0.1, 5200.0)
    effect_female: float = bounded(1.0, 0.0, 10.0)  # scales log(effect) for women
    effect_by_age_band: dict[str, float] = field(default_factory=dict)  # scales log(effect)
    # scales log(effect) for participants whose risk score (propensity x risk factors) was below
    # the median of the program's eligible at their intake: the risk principle (larger effects
    # for higher-risk participants); 1: the same effect for all. Individual programs.
    effect_low_risk: float = bounded(1.0, 0.0, 1.0)
    # on arrest probability; read by the kinds that raise certainty (sim.catalogue)
    clearance_multiplier: float = bounded(1.0, 0.1, 10.0)
    # police presence programs: the share of their deterrence felt in adjacent communities
    # (positive: diffusion of benefits; negative: displacement of crime)
    spillover: float = bounded(0.0, -1.0, 1.0)
    # outreach kinds (sim.catalogue: caseloads): each targeted community is a site with this
    # many outreach workers, each with a caseload of this many participants, and interrupters
    outreach_workers_per_site: int = bounded(0, 0, 100)
    caseload: int = bounded(0, 0, 200)  # participants per outreach worker
    interrupters_per_site: int = bounded(0, 0, 100)
    # mediating kinds: the share of shootings with a victim living in a site that interrupters
    # mediate (the victim's retaliation and the exposure of the victim's ties are averted)
    mediation: float = probability(0.0)
    cost_per_participant_week: float = bounded(0.0, 0.0, None)
    cost_per_community_week: float = bounded(0.0, 0.0, None)
    cost_per_worker_week: float = bounded(0.0, 0.0, None)  # outreach workers and interrupters
    # police programs: officers deployed per covered community, at justice.cost_per_officer_year
    officers_per_site: float = bounded(0.0, 0.0, 1000.0)
    cost_per_week: float = bounded(0.0, 0.0, None)
    source: str = ""


@dataclass
class ScenarioConfig:
    """A named policy: a bundle of programs, keyed by name."""

    name: str = "baseline"
    description: str = ""
    programs: dict[str, ProgramConfig] = field(default_factory=dict)


UNCERTAIN_KINDS = ("sourced", "illustrative", "fitted")


@dataclass
class ReportConfig:
    """The sweep's report.md (and the planner's plan.md): what it is written in."""

    lang: str = "en"  # en or es (sim/i18n.py, sim/locales/)


@dataclass
class UncertaintyConfig:
    """What a replicate draws besides its chance events (`sim.uncertainty`): parameters of
    these kinds from their plausible ranges, and the structure, per seed."""

    parameters: bool = False
    kinds: list[str] = field(default_factory=lambda: ["sourced", "illustrative"])
    structure: bool = False


@dataclass
class VpsimConfig:
    seed: int = bounded(0, 0, 2**63 - 1)
    years: int = bounded(10, 1, 200)  # simulated after burn-in
    burn_in_years: int = bounded(10, 0, 100)  # simulated first, discarded from every outcome
    progress: bool = True
    figures: bool = True
    # numba threads for the resident kernel: 1 runs the serial kernel (a sweep already runs one
    # job per core); more runs the parallel kernel, with bit-identical results
    threads: int = bounded(1, 1, 256)
    sweep_name: str = "sweep"  # multirun folder: multirun/<sweep_name>; run it again to resume
    # the model's structure (configs/structure/): what prison itself does, with the behaviour and
    # justice parameters fitted under it (configs/CALIBRATION.md)
    structure: str = "selection"
    uncertainty: UncertaintyConfig = field(default_factory=UncertaintyConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    population: PopulationConfig = field(default_factory=PopulationConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    justice: JusticeConfig = field(default_factory=JusticeConfig)
    costs: CostsConfig = field(default_factory=CostsConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)


def register() -> None:
    """Register the schema so `configs/config.yaml` can build on it."""
    ConfigStore.instance().store(name="vpsim_schema", node=VpsimConfig)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _range_text(lo, hi, lo_open, hi_open) -> str:
    if hi is None:
        return f"{'>' if lo_open else '>='} {_fmt(lo)}"
    if lo is None:
        return f"{'<' if hi_open else '<='} {_fmt(hi)}"
    return f"{'(' if lo_open else '['}{_fmt(lo)}, {_fmt(hi)}{')' if hi_open else ']'}"


def _check_ranges(schema, node, prefix: str) -> None:
    for f in fields(schema):
        key = f"{prefix}{f.name}"
        value = getattr(node, f.name)
        if is_dataclass(value):
            _check_ranges(type(value), value, key + ".")
            continue
        bounds = f.metadata.get("range")
        if bounds is None or isinstance(value, bool):
            continue
        lo, hi, lo_open, hi_open = bounds
        allowed = _range_text(lo, hi, lo_open, hi_open)
        if not isinstance(value, (int, float)):
            raise ConfigError(f"{key} = {shown(value)} is not a number: allowed {allowed}")
        bad = ((isinstance(value, float) and not math.isfinite(value))  # ints of any size are fine
               or (lo is not None and (value <= lo if lo_open else value < lo))
               or (hi is not None and (value >= hi if hi_open else value > hi)))
        if bad:
            raise ConfigError(f"{key} = {shown(value)} is out of range: allowed {allowed}")


def _check_keys(schema, node: Any, prefix: str) -> None:
    """Every key of the composed config is a field of the schema, and every field is there.

    Hydra lets `+key=value` add a key the schema does not have (`+population.szie=1000` would be
    ignored) and `~key` remove one (its default would come back silently): both are refused.
    """
    if not isinstance(node, dict):  # an interpolation or a wrong type: OmegaConf says which
        return
    names = [f.name for f in fields(schema)]
    where = prefix.rstrip(".") or "the config"
    for key in node:
        if key not in names:
            raise ConfigError(f"{prefix}{key}: unknown key; keys of {where}: {', '.join(names)}")
    hints = typing.get_type_hints(schema)
    for name in names:
        if name not in node:
            raise ConfigError(f"{prefix}{name}: missing (removed with ~{prefix}{name}?): every "
                              "key of the schema needs a value")
        hint, child = hints[name], node[name]
        if is_dataclass(hint):
            _check_keys(hint, child, f"{prefix}{name}.")
        elif typing.get_origin(hint) is dict and is_dataclass(typing.get_args(hint)[1]):
            if isinstance(child, dict):
                for key, item in child.items():
                    _check_keys(typing.get_args(hint)[1], item, f"{prefix}{name}.{key}.")


def _check_program(name: str, p: ProgramConfig, cfg: VpsimConfig) -> None:
    key = f"scenario.programs.{name}"

    def fail(field_name: str, value, allowed: str):
        raise ConfigError(f"{key}.{field_name} = {value!r} is out of range: allowed {allowed}")

    if p.kind not in KINDS:
        fail("kind", p.kind, ", ".join(KINDS))
    if not (0.0 < p.effect <= MAX_PROGRAM_EFFECT):
        fail("effect", p.effect, f"(0, {_fmt(MAX_PROGRAM_EFFECT)}]")
    problem = KINDS[p.kind].check(key, p)
    if problem:
        raise ConfigError(problem)
    if p.capacity is not None and p.capacity < 0:
        fail("capacity", p.capacity, ">= 0")
    if p.coverage is not None and not (0.0 <= p.coverage <= 1.0):
        fail("coverage", p.coverage, "[0, 1]")
    if p.priority not in PRIORITIES:
        fail("priority", p.priority, ", ".join(PRIORITIES))
    t = p.targeting
    lo, hi = max(t.min_age, MIN_AGE), min(t.max_age, cfg.population.max_age - 1)
    if lo > hi:
        raise ConfigError(f"{key}.targeting.min_age, max_age = [{t.min_age}, {t.max_age}] "
                          f"include no resident: residents are aged [{MIN_AGE}, "
                          f"{cfg.population.max_age - 1}]")
    for sex in t.sexes:
        if sex not in SEXES:
            fail("targeting.sexes", list(t.sexes), "a list of female, male")
    if not t.sexes:
        fail("targeting.sexes", [], "at least one of female, male")
    for factor in t.risk_factors:
        if factor not in RISK_FACTORS:
            fail("targeting.risk_factors", list(t.risk_factors),
                 "a list of " + ", ".join(RISK_FACTORS))
    n_communities = cfg.population.communities
    for c in t.communities:
        if not (0 <= c < n_communities):
            raise ConfigError(f"{key}.targeting.communities: community {c} does not exist: "
                              f"allowed [0, {n_communities - 1}]")
    if t.most_violent_communities > n_communities:
        fail("targeting.most_violent_communities", t.most_violent_communities,
             f"[0, {n_communities}]")
    if t.justice_state not in JUSTICE_STATES:
        fail("targeting.justice_state", t.justice_state, ", ".join(JUSTICE_STATES))
    bands = band_labels(cfg.population.max_age)
    for band, scale in p.effect_by_age_band.items():
        if band not in bands:
            fail("effect_by_age_band", band, ", ".join(bands))
        if not (0.0 <= scale <= 10.0):
            fail(f"effect_by_age_band.{band}", scale, "[0, 10]")
    if p.start_week >= WEEKS_PER_YEAR * cfg.years:
        fail("start_week", p.start_week, f"[0, {WEEKS_PER_YEAR * cfg.years - 1}] (weeks after "
             f"burn-in; the run ends after {cfg.years} years)")


def _check_life_course_state(key: str, state: LifeCourseState) -> None:
    ages = list(state.ages)
    columns = {"prevalence_male": state.prevalence_male,
               "prevalence_female": state.prevalence_female,
               "exit_per_year": state.exit_per_year}
    if len(ages) < 2 or any(len(v) != len(ages) for v in columns.values()):
        raise ConfigError(f"{key}: ages, prevalence_male, prevalence_female and exit_per_year "
                          f"need one value per age, at least 2 (ages has {len(ages)})")
    if any(b <= a for a, b in zip(ages, ages[1:])) or ages[0] > MIN_AGE:
        raise ConfigError(f"{key}.ages = {ages} must increase and start at {MIN_AGE} or below "
                          "(beyond the last age, its values hold)")
    for column in ("prevalence_male", "prevalence_female"):
        values = [v * state.scale for v in columns[column]]
        if any(not (0.0 <= v <= 0.9) for v in values):
            raise ConfigError(f"{key}.{column} = {list(columns[column])} (x scale "
                              f"{state.scale:g}): each allowed [0, 0.9]")
    if any(not (0.0 <= v <= 10.0) for v in state.exit_per_year):
        raise ConfigError(f"{key}.exit_per_year = {list(state.exit_per_year)}: each allowed "
                          "[0, 10] (a hazard per year: spells of five weeks or more)")


def validate(cfg: DictConfig | VpsimConfig) -> VpsimConfig:
    """Check every key, range and cross-field rule; return the config as a typed object.

    Raises ConfigError with one line naming the full key and the allowed range.
    """
    if isinstance(cfg, DictConfig):
        _check_keys(VpsimConfig, OmegaConf.to_container(cfg, resolve=False), "")
        try:
            obj = OmegaConf.to_object(cfg)
        except Exception as error:  # a missing value, an interpolation that does not resolve
            raise ConfigError(one_line(error)) from None
    elif isinstance(cfg, VpsimConfig):
        obj = cfg
    else:
        raise ConfigError(f"a config is a VpsimConfig or a DictConfig, not {type(cfg).__name__}")
    _check_ranges(VpsimConfig, obj, "")
    for key in PATH_NAMES:
        check_plain_name(key, _attribute(obj, key))
    from .i18n import check_language

    check_language(obj.report.lang, "report.lang")
    pop, beh = obj.population, obj.behaviour
    if pop.communities > pop.size // 20:
        raise ConfigError(f"population.communities = {pop.communities} is out of range: allowed "
                          f"[1, {pop.size // 20}] (at least 20 residents a community)")
    ages, rel = beh.age_curve_ages, beh.age_curve_relative
    if len(ages) < 2 or len(ages) != len(rel):
        raise ConfigError(f"behaviour.age_curve_ages has {len(ages)} ages and "
                          f"behaviour.age_curve_relative {len(rel)} values: need the same "
                          "number, at least 2")
    if any(b <= a for a, b in zip(ages, ages[1:])) or ages[0] > MIN_AGE or ages[-1] < pop.max_age:
        raise ConfigError(f"behaviour.age_curve_ages = {list(ages)} must increase and cover "
                          f"ages [{MIN_AGE}, {pop.max_age}] (population.max_age = {pop.max_age})")
    if any(not (0.0 <= r <= 10.0) for r in rel):
        raise ConfigError(f"behaviour.age_curve_relative = {list(rel)}: each value allowed "
                          "[0, 10]")
    n_bands = len(AGE_BAND_EDGES)
    if len(beh.victim_age_relative) != n_bands or any(
            not (0.0 <= w <= 1.0) for w in beh.victim_age_relative):
        raise ConfigError(f"behaviour.victim_age_relative = {list(beh.victim_age_relative)}: "
                          f"need {n_bands} values (one per age band), each allowed [0, 1]")
    if max(beh.victim_age_relative) == 0.0:
        raise ConfigError("behaviour.victim_age_relative: at least one band must be > 0")
    if len(beh.victim_age_lethality) != n_bands or any(
            not (0.0 <= w <= 10.0) for w in beh.victim_age_lethality):
        raise ConfigError(f"behaviour.victim_age_lethality = {list(beh.victim_age_lethality)}: "
                          f"need {n_bands} values (one per age band), each allowed [0, 10]")
    for name in LIFE_COURSE_STATES:
        _check_life_course_state(f"population.{name}", getattr(pop, name))
    kinds: dict[str, str] = {}
    for name, program in obj.scenario.programs.items():
        _check_ranges(ProgramConfig, program, f"scenario.programs.{name}.")
        _check_program(name, program, obj)
        if program.kind in kinds:
            raise ConfigError(f"scenario.programs.{name}.kind = {program.kind!r}: "
                              f"scenario.programs.{kinds[program.kind]} is {program.kind} "
                              "too; allowed: at most one program of each kind per scenario")
        kinds[program.kind] = name
    weeks = WEEKS_PER_YEAR * (obj.years + obj.burn_in_years)
    if weeks >= MAX_RUN_WEEKS:
        raise ConfigError(f"years + burn_in_years = {weeks // WEEKS_PER_YEAR} is out of range: "
                          f"allowed <= {MAX_RUN_WEEKS // WEEKS_PER_YEAR - 1}")
    return obj


_HYDRA = threading.Lock()


def _attribute(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


_SCHEMA_CLASSES = {cls.__name__: cls for cls in (
    PopulationConfig, RiskEffects, BehaviourConfig, JusticeConfig, Targeting, ProgramConfig,
    ScenarioConfig, VpsimConfig)}


def one_line(error: BaseException) -> str:
    """Hydra's and OmegaConf's multi-line messages as one line that names the key."""
    chain, e = [], error
    while e is not None and len(chain) < 5:
        chain.append(str(e).strip() or type(e).__name__)
        e = e.__cause__ or e.__context__
    text = "\n".join(chain)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    full_key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")),
                    None)
    head = [ln for ln in lines if not ln.startswith(("full_key:", "reference_type=",
                                                     "object_type=", "Config search path",
                                                     "provider=", "To append"))] or lines
    if "Available options" in text:  # an unknown option of a config group
        options = [ln for ln in lines[lines.index(next(
            ln for ln in lines if ln.startswith("Available options"))) + 1:]
            if not ln.startswith(("Config search path", "provider="))]
        what = head[0].removeprefix("In 'config': ")
        return f"{what}; allowed: {', '.join(options)}"
    junk = ("$VALUE", "None", "invalid literal", "See https")
    detail = [ln for ln in head[1:] if not any(j in ln for j in junk)] or head
    message = detail[0]
    match = re.search(r"not in '(\w+)'", message)
    if match and match.group(1) in _SCHEMA_CLASSES:
        keys = [f.name for f in fields(_SCHEMA_CLASSES[match.group(1)])]
        message += f"; keys: {', '.join(keys)}"
    return f"{full_key}: {message}" if full_key else message


def override_key(text: str) -> str:
    """The key (or config group) an override sets: `+population.size=3` -> `population.size`."""
    return text.split("=", 1)[0].lstrip("+~").split("@", 1)[0].strip()


def combined_scenario(cfg: DictConfig, overrides: list[str]) -> None:
    """`scenario=[a,b]` runs the programs of a and b together; Hydra keeps the last file's name,
    so the run is named after all of them (`a-b`), unless `scenario.name` is given."""
    keys = [override_key(o) for o in overrides]
    if "scenario.name" in keys:
        return
    for o in overrides:
        if override_key(o) == "scenario" and "=" in o:
            value = o.split("=", 1)[1].strip()
            names = scenario_list(value)
            if len(names) > 1:
                cfg.scenario.name = combined_name(names)


def scenario_list(choice: str) -> list[str]:
    """The scenario files of a `scenario` choice: `a` or `[a,b]`."""
    choice = str(choice).strip()
    if choice.startswith("[") and choice.endswith("]"):
        return [n.strip().strip("'\"") for n in choice[1:-1].split(",") if n.strip()]
    return [choice]


def combined_name(names: list[str]) -> str:
    """The name of scenarios run together: `a-b` (a plain name: at most 64 characters)."""
    name = "-".join(names)
    return name if len(name) <= 64 else f"{names[0][:40]}-and-{len(names) - 1}-more"


def parse_overrides(overrides: Any, *, sweeps: bool = False) -> list:
    """Hydra's parse of each override, or a ConfigError that names the override.

    A single run takes no sweep (`seed=1,2` is one for `vpsim -m`); no key of the schema may be
    removed (`~seed`): only a program of the scenario (`~scenario.programs.cbt_youth`).
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    if isinstance(overrides, (str, bytes)) or not isinstance(overrides, (list, tuple)):
        raise ConfigError(f"overrides are a list of strings such as ['seed=3'], not "
                          f"{type(overrides).__name__} {shown(overrides)}")
    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        if not isinstance(text, str):
            raise ConfigError(f"override {shown(text)} is a {type(text).__name__}: overrides "
                              "are strings such as 'seed=3'")
        key = override_key(text)
        if not key:
            raise ConfigError(f"override {shown(text)} names no key: write key=value")
        try:
            override = parser.parse_override(text)
        except Exception as error:  # Hydra's grammar errors; ValueError for a huge integer
            reason = " ".join(ln.strip() for ln in str(error).splitlines()
                              if ln.strip() and "See https" not in ln and set(ln.strip()) != {"^"})
            raise ConfigError(f"{key}: cannot read the override {shown(text)} "
                              f"({reason[:120]}); write key=value, and quote a value with "
                              "spaces or other characters than letters, digits and _-./: "
                              "key='...'") from None
        if override.is_sweep_override() and not sweeps:
            raise ConfigError(f"{key}: {shown(text)} is a sweep over several values: run it "
                              f"with vpsim -m; a list value is written {key}=[a,b]")
        if override.is_delete() and not override.is_hydra_override() \
                and not re.fullmatch(r"scenario\.programs\.[^.]+", key):
            raise ConfigError(f"{key}: removing a key (~{key}) is not allowed: every key of the "
                              f"schema needs a value; set it instead ({key}=...)")
        parsed.append(override)
    return parsed


def _compose(overrides: list[str]) -> DictConfig:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    register()
    with _HYDRA:  # Hydra's compose is global state (the app composes from several threads)
        if GlobalHydra.instance().is_initialized():
            GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(overrides))


def _culprit(overrides: list[str]) -> str | None:
    """The first override that makes composition fail (for messages that name no key)."""
    for i in range(1, len(overrides) + 1):
        try:
            _compose(overrides[:i])
        except Exception:
            return overrides[i - 1]
    return None


def load(overrides: list[str] | tuple[str, ...] = ()) -> VpsimConfig:
    """Compose `configs/` with Hydra overrides (as on the command line) and validate.

    For scripts, tests and notebooks: `load(["population=small", "seed=3"])`. Bad input of any
    kind raises `ConfigError` (one line naming the key or file), never another exception.
    """
    from .config_files import check_files

    parsed = parse_overrides(overrides)
    check_files(parsed)  # every YAML file composition will read: size, aliases, syntax
    overrides = list(overrides)
    try:
        cfg = _compose(overrides)
    except Exception as error:  # Hydra's and OmegaConf's many kinds: all about the input
        message = one_line(error)
        if not any(override_key(o) and override_key(o) in message for o in overrides):
            culprit = _culprit(overrides)
            if culprit is not None:
                message = f"{override_key(culprit)}: {shown(culprit)}: {message}"
        raise ConfigError(message) from None
    combined_scenario(cfg, overrides)
    return validate(cfg)
