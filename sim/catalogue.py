"""The program catalogue: every kind of program vpsim knows, each declared once.

A `Kind` says how the kind reaches people (its level), which channel of the offending hazard or
of the justice system its `effect` acts on, what else of `ProgramConfig` it reads, which
resident-weeks count as reached, and how it is sized on the educators' page. `sim.programs`,
the kernels, the app and the report read these flags and never name a kind: adding a kind is
one entry here, plus, when it needs a new channel, that channel in `sim.programs` (its tables)
and in the kernel stage that applies it (and its plain restatement in `sim.reference`).

The cost rule, sizing on another profile and the page's levers are here too: they follow from
the level, for every kind alike.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .codes import EXPOSED_WEEKS, MIN_AGE, PUPIL_WEEKS, WEEKS_PER_YEAR

if TYPE_CHECKING:
    from .config import PopulationConfig, ProgramConfig

# How a kind reaches people.
INDIVIDUAL = "individual"  # places offered at intakes, within capacity (or to a share: coverage)
COMMUNITY = "community"  # the targeted communities are covered from the start week
SYSTEM = "system"  # acts through the other programs and the justice system

# What `effect` changes.
OFFENDING = "offending"  # hazard ratio on all offending
VIOLENT_OFFENDING = "violent_offending"  # hazard ratio on the violent part of the hazard
POLICE_PRESENCE = "police_presence"  # multiplier on police presence in covered communities
MIN_POLICE_PRESENCE = 0.5  # presence deters as a power of it: no lower than half
COLLECTIVE_EFFICACY = "collective_efficacy"  # multiplier on collective efficacy there
PROGRAM_DELIVERY = "program_delivery"  # multiplier on the other programs' uptake and completion

# Whom a community program's effect on offending reaches in its covered communities.
PUPILS = "pupils"  # residents of the targeted ages; the effect decays after they leave them
EXPOSED = "exposed"  # residents exposed to violence through peers, or victimised in the last year


@dataclass(frozen=True)
class Kind:
    """One kind of program: what its `effect` does, to whom, and how it is sized."""

    name: str
    label: str  # for the page and the report
    level: str  # INDIVIDUAL, COMMUNITY or SYSTEM
    channel: str  # what `effect` changes
    effect: str  # what a value of `effect` means, in words
    reach: str | None = None  # community kinds acting on offending: PUPILS or EXPOSED
    reach_statistic: int | None = None  # codes index of the resident-weeks reached
    after_release: bool = False  # individual: acts after a release that follows enrolment
    # Reads `clearance_multiplier`: individual kinds on participants while enrolled (certainty
    # of arrest), system kinds everywhere from their start week.
    raises_certainty: bool = False

    @property
    def individual(self) -> bool:
        return self.level == INDIVIDUAL

    def check(self, key: str, program: ProgramConfig) -> str | None:
        """What is wrong with `program` for this kind (one line naming the key), or None."""
        if self.individual and (program.capacity is None) == (program.coverage is None):
            return (f"{key}: give exactly one of capacity (places) or coverage (share of the "
                    f"eligible) for a {self.name} program")
        if not self.individual:
            for name in ("capacity", "coverage"):
                if getattr(program, name) is not None:
                    return (f"{key}.{name} = {getattr(program, name)!r}: a {self.name} program "
                            f"has no {name} ({self.level} program: it covers communities"
                            + (")" if self.level == COMMUNITY else " through other programs)"))
        if self.channel == POLICE_PRESENCE and not (MIN_POLICE_PRESENCE <= program.effect):
            return (f"{key}.effect = {program.effect!r} is out of range: allowed "
                    f"[{MIN_POLICE_PRESENCE}, 2] (a multiplier on police presence, which deters "
                    "as a power of it)")
        if self.channel != POLICE_PRESENCE and program.spillover != 0.0:
            return (f"{key}.spillover = {program.spillover!r}: only police presence programs "
                    "spill over to adjacent communities; allowed 0")
        t = program.targeting
        if t.reselect_every_weeks and (self.level != COMMUNITY or self.reach is not None
                                       or not t.most_violent_communities):
            return (f"{key}.targeting.reselect_every_weeks = {t.reselect_every_weeks}: only a "
                    "community program without a reach of residents (hotspot_policing, "
                    "community_participation) targeting most_violent_communities can move; "
                    "allowed 0")
        if not self.raises_certainty and program.clearance_multiplier != 1.0:
            readers = ", ".join(k.name for k in KINDS.values() if k.raises_certainty)
            return (f"{key}.clearance_multiplier = {program.clearance_multiplier!r}: a "
                    f"{self.name} program does not read it (only {readers} do); allowed 1")
        return None


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("school_education", "School education", COMMUNITY, OFFENDING,
         "hazard ratio on offending of pupils of the targeted ages, decaying after they leave "
         "them", reach=PUPILS, reach_statistic=PUPIL_WEEKS),
    Kind("cbt_youth", "CBT for youth", INDIVIDUAL, VIOLENT_OFFENDING,
         "hazard ratio on violent offending while enrolled, decaying after completion"),
    Kind("violence_interruption", "Violence interruption", COMMUNITY, VIOLENT_OFFENDING,
         "hazard ratio on violent offending of residents exposed to violence or recently "
         "victimised (contagion, retaliation)", reach=EXPOSED,
         reach_statistic=EXPOSED_WEEKS),
    Kind("focused_deterrence", "Focused deterrence", INDIVIDUAL, OFFENDING,
         "hazard ratio on offending while enrolled; clearance_multiplier on their arrest",
         raises_certainty=True),
    Kind("hotspot_policing", "Hotspot policing", COMMUNITY, POLICE_PRESENCE,
         "multiplier on police presence in the covered communities: it deters there and "
         "raises clearance as presence ^ justice.arrest_presence_elasticity"),
    Kind("prison_rehabilitation", "Prison rehabilitation", INDIVIDUAL, OFFENDING,
         "hazard ratio on offending after release", after_release=True),
    Kind("reentry_employment", "Reentry employment", INDIVIDUAL, OFFENDING,
         "hazard ratio on offending while supported, decaying after completion"),
    Kind("community_participation", "Community participation", COMMUNITY, COLLECTIVE_EFFICACY,
         "multiplier on collective efficacy in the covered communities"),
    Kind("institutional_coordination", "Institutional coordination", SYSTEM, PROGRAM_DELIVERY,
         "multiplier on the other programs' uptake and completion; divides their start "
         "delays; clearance_multiplier on clearance everywhere", raises_certainty=True),
)}
"""Every lever of the Plan of Action, by name."""


# -- cost ----------------------------------------------------------------------------------------
def program_cost(program: ProgramConfig, participant_weeks: float, community_weeks: float,
                 weeks: float) -> float:
    """USD: participant-weeks, community-weeks and weeks running at the program's unit costs."""
    return float(participant_weeks * program.cost_per_participant_week
                 + community_weeks * program.cost_per_community_week
                 + weeks * program.cost_per_week)


def covered_communities(program: ProgramConfig, population: PopulationConfig) -> int:
    t = program.targeting
    return t.most_violent_communities or len(t.communities) or population.communities


def planned_cost_per_year(program: ProgramConfig, population: PopulationConfig) -> float | None:
    """USD a year with every place filled (the cost rule at full use). A community program's
    participants are the covered residents of the targeted ages (ages are about evenly
    spread). None when the size depends on who is eligible (coverage)."""
    kind = KINDS[program.kind]
    participants = communities = 0.0
    if kind.individual:
        if program.capacity is None:
            return None
        participants = program.capacity
    elif kind.level == COMMUNITY:
        t = program.targeting
        communities = covered_communities(program, population)
        ages = min(t.max_age, population.max_age - 1) - max(t.min_age, MIN_AGE) + 1
        age_share = max(0, ages) / (population.max_age - MIN_AGE)
        participants = population.size * communities / population.communities * age_share
    return program_cost(program, participants, communities, 1) * WEEKS_PER_YEAR


# -- size on another profile, and the page's levers ------------------------------------------------
PER_10K = 10_000
REFERENCE_PROFILE = "city"
"""The population profile the scenario files are sized for."""


def resized_for(program: ProgramConfig, population: PopulationConfig,
                reference: PopulationConfig) -> ProgramConfig:
    """A program sized for the `reference` profile, on `population`: places in proportion to
    residents, covered communities (most violent first) in proportion to communities."""
    program = copy.deepcopy(program)
    if program.capacity is not None:
        program.capacity = max(1, round(program.capacity * population.size / reference.size))
    t = program.targeting
    if t.most_violent_communities:
        t.most_violent_communities = min(population.communities, max(
            1, round(t.most_violent_communities * population.communities
                     / reference.communities)))
    return program


@dataclass(frozen=True)
class Lever:
    """A program kind's control on the page: a switch, and a size in units that mean the same on
    every profile."""

    kind: str
    label: str
    level: str
    unit: str | None  # None: no size (a system program acts through the others)
    default_size: int
    max_size: int


def lever(program: ProgramConfig, reference: PopulationConfig) -> Lever:
    """The lever of `program`'s kind, its default size that of `program` on `reference`."""
    kind = KINDS[program.kind]
    if kind.individual and program.capacity is not None:
        default = round(program.capacity / reference.size * PER_10K)
        return Lever(kind.name, kind.label, kind.level, "places per 10,000 residents", default,
                     max(200, 2 * default))
    if kind.individual:
        return Lever(kind.name, kind.label, kind.level, "% of the eligible enrolled",
                     round(100 * program.coverage), 100)
    if kind.level == COMMUNITY:
        return Lever(kind.name, kind.label, kind.level, "% of communities, most violent first",
                     round(100 * covered_communities(program, reference)
                           / reference.communities), 100)
    return Lever(kind.name, kind.label, kind.level, None, 0, 0)


def sized(program: ProgramConfig, lever: Lever, size: int,
          population: PopulationConfig) -> ProgramConfig:
    """`program` at `size`, in its lever's unit, on `population`."""
    program = copy.deepcopy(program)
    if lever.unit is None:
        return program
    if not 1 <= size <= lever.max_size:
        raise ValueError(f"{lever.kind}_size = {size} is out of range: allowed "
                         f"[1, {lever.max_size}] ({lever.unit})")
    if lever.level == INDIVIDUAL and program.capacity is not None:
        program.capacity = max(1, round(size * population.size / PER_10K))
    elif lever.level == INDIVIDUAL:
        program.coverage = size / 100
    else:
        program.targeting.communities = []
        program.targeting.most_violent_communities = max(
            1, round(size / 100 * population.communities))
    return program


def _check_catalogue() -> None:
    """The kernels apply community programs to residents on two channels, by whom they reach:
    pupils' offending and the exposed's violent offending; one kind each."""
    reaches = [k.reach for k in KINDS.values() if k.reach is not None]
    assert len(reaches) == len(set(reaches)), "one community kind per reach"
    for k in KINDS.values():
        assert k.reach is None or k.level == COMMUNITY, k.name
        assert k.reach != PUPILS or k.channel == OFFENDING, k.name
        assert k.reach != EXPOSED or k.channel == VIOLENT_OFFENDING, k.name
        assert (k.reach is None) == (k.reach_statistic is None), k.name
        assert not k.after_release or k.individual, k.name


_check_catalogue()
