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

from .codes import GROUP_MEMBER_WEEKS, MIN_AGE, PUPIL_WEEKS, WEEKS_PER_YEAR
from .i18n import text

if TYPE_CHECKING:
    from .config import JusticeConfig, PopulationConfig, ProgramConfig

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
# the group of a covered community, as of the last call-in: its gang members (a few dozen, tied
# to one another: the groups focused deterrence calls in) and the residents tied to them (the
# peers of those called in, whom the message reaches)
GROUPS = "groups"


@dataclass(frozen=True)
class Kind:
    """One kind of program: what its `effect` does, to whom, and how it is sized."""

    name: str
    level: str  # INDIVIDUAL, COMMUNITY or SYSTEM
    channel: str  # what `effect` changes
    effect: str  # what a value of `effect` means, in words
    reach: str | None = None  # community kinds acting on offending: PUPILS or GROUPS
    reach_statistic: int | None = None  # codes index of the resident-weeks reached
    after_release: bool = False  # individual: acts after a release that follows enrolment
    # Reads `clearance_multiplier`: individual kinds on participants while enrolled, community
    # kinds reaching groups on the groups' members (certainty of arrest), system kinds
    # everywhere from their start week.
    raises_certainty: bool = False
    # individual: the targeted communities are sites whose outreach workers each carry a
    # caseload (places = outreach_workers_per_site x caseload per site); sized by sites
    caseloads: bool = False
    mediates: bool = False  # reads `mediation`: interrupters mediate shootings in the sites

    @property
    def label(self) -> str:
        """Its name for people (English; other languages: sim/locales, kind.<name>)."""
        return text(f"kind.{self.name}")

    @property
    def individual(self) -> bool:
        return self.level == INDIVIDUAL

    @property
    def sized_by_communities(self) -> bool:
        """Its size is the number of communities it covers (its sites)."""
        return self.level == COMMUNITY or self.caseloads

    def check(self, key: str, program: ProgramConfig) -> str | None:
        """What is wrong with `program` for this kind (one line naming the key), or None."""
        if self.caseloads:
            for name in ("capacity", "coverage"):
                if getattr(program, name) is not None:
                    return (f"{key}.{name} = {getattr(program, name)!r}: a {self.name} "
                            "program's places are its caseloads (outreach_workers_per_site x "
                            "caseload in each site); allowed null")
        elif self.individual and (program.capacity is None) == (program.coverage is None):
            return (f"{key}: give exactly one of capacity (places) or coverage (share of the "
                    f"eligible) for a {self.name} program")
        if not self.caseloads:
            for name in ("outreach_workers_per_site", "caseload", "interrupters_per_site",
                         "cost_per_worker_week"):
                if getattr(program, name) != 0:
                    readers = ", ".join(k.name for k in KINDS.values() if k.caseloads)
                    return (f"{key}.{name} = {getattr(program, name)!r}: a {self.name} "
                            f"program has no outreach workers (only {readers}); allowed 0")
        if not self.individual and program.effect_low_risk != 1.0:
            return (f"{key}.effect_low_risk = {program.effect_low_risk!r}: a {self.name} "
                    "program has no participants whose risk is assessed; allowed 1")
        if not self.mediates and program.mediation != 0.0:
            return (f"{key}.mediation = {program.mediation!r}: a {self.name} program has no "
                    "interrupters; allowed 0")
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
    Kind("school_education", COMMUNITY, OFFENDING,
         "hazard ratio on offending of pupils of the targeted ages, decaying after they leave "
         "them", reach=PUPILS, reach_statistic=PUPIL_WEEKS),
    Kind("cbt_youth", INDIVIDUAL, VIOLENT_OFFENDING,
         "hazard ratio on violent offending while enrolled, decaying after completion"),
    Kind("violence_interruption", INDIVIDUAL, VIOLENT_OFFENDING,
         "hazard ratio on violent offending of the outreach workers' participants while on a "
         "caseload, decaying after; interrupters mediate a share of the shootings in the sites "
         "(mediation)", caseloads=True, mediates=True),
    Kind("focused_deterrence", COMMUNITY, OFFENDING,
         "hazard ratio on offending of the targeted groups' members (the gang members of the "
         "covered communities and those tied to them, at each round of call-ins) while it "
         "runs; clearance_multiplier on their arrest",
         reach=GROUPS, reach_statistic=GROUP_MEMBER_WEEKS, raises_certainty=True),
    Kind("hotspot_policing", COMMUNITY, POLICE_PRESENCE,
         "multiplier on police presence in the covered communities: it deters there and "
         "raises clearance as presence ^ justice.arrest_presence_elasticity"),
    Kind("prison_rehabilitation", INDIVIDUAL, OFFENDING,
         "hazard ratio on offending after release", after_release=True),
    Kind("reentry_employment", INDIVIDUAL, OFFENDING,
         "hazard ratio on offending while supported, decaying after completion"),
    Kind("community_participation", COMMUNITY, COLLECTIVE_EFFICACY,
         "multiplier on collective efficacy in the covered communities"),
    Kind("institutional_coordination", SYSTEM, PROGRAM_DELIVERY,
         "multiplier on the other programs' uptake and completion; divides their start "
         "delays; clearance_multiplier on clearance everywhere", raises_certainty=True),
)}
"""Every lever of the Plan of Action, by name."""


# -- evidence ------------------------------------------------------------------------------------
CHECKED = "checked"  # the published range is a target: is the model's effect within it?
DIRECTION = "direction"  # only the direction is sourced: is the model's effect below zero?
ILLUSTRATIVE = "illustrative"  # no published effect: the model's effect is reported, not checked


@dataclass(frozen=True)
class Evidence:
    """What the evaluations a kind's effect comes from found: the published range on the
    study's own estimand (`sim.evaluate` runs that study's design inside the model), its source,
    and what the model's effect is held to (`status`)."""

    status: str  # CHECKED, DIRECTION or ILLUSTRATIVE
    low: float | None
    high: float | None
    published: str  # the published result, in words
    source: str


EVIDENCE: dict[str, Evidence] = {
    "cbt_youth": Evidence(
        CHECKED, low=-0.50, high=-0.45,
        published=text("published.cbt_youth"),
        source="Heller et al. 2017, QJE 132(1) (targets.yaml "
               "program_effects.becoming_a_man_cbt_youth)"),
    "reentry_employment": Evidence(
        CHECKED, low=-0.13, high=-0.07,
        published=text("published.reentry_employment"),
        source="Valentine & Redcross 2015, IZA J Labor Policy 4:16, Table 2 (targets.yaml "
               "program_effects.reentry_employment_ceo_trial)"),
    "violence_interruption": Evidence(
        CHECKED, low=-0.28, high=-0.16,
        published=text("published.violence_interruption"),
        source="Skogan et al. 2009; Webster et al. 2023 (targets.yaml "
               "program_effects.cure_violence)"),
    "hotspot_policing": Evidence(
        CHECKED, low=-0.08, high=-0.04,
        published=text("published.hotspot_policing"),
        source="Braga & Weisburd 2022, JQC 38; Braga et al. 2019, J Exp Criminol 15 "
               "(targets.yaml police_and_deterrence.hot_spots_policing)"),
    "focused_deterrence": Evidence(
        CHECKED, low=-0.23, high=-0.16,
        published=text("published.focused_deterrence"),
        source="Braga, Weisburd & Turchan 2018; Braga, Turchan & Weisburd 2024 update "
               "(targets.yaml program_effects.focused_deterrence)"),
    "school_education": Evidence(
        DIRECTION, low=None, high=0.0,
        published=text("published.school_education"),
        source="Hawkins et al. 2012, Arch Pediatr Adolesc Med 166(2); Oesterle et al. 2015 "
               "(targets.yaml program_effects.communities_that_care)"),
    "prison_rehabilitation": Evidence(
        DIRECTION, low=None, high=0.0,
        published=text("published.prison_rehabilitation"),
        source="Landenberger & Lipsey 2005; Lipsey, Landenberger & Wilson 2007 (Campbell "
               "review)"),
    "community_participation": Evidence(
        ILLUSTRATIVE, low=None, high=None,
        published=text("published.community_participation"),
        source="mechanism only: Sampson, Raudenbush & Earls 1997"),
    "institutional_coordination": Evidence(
        ILLUSTRATIVE, low=None, high=None,
        published=text("published.institutional_coordination"),
        source="OAS Hemispheric Plan of Action on Citizen Security 2012 (institution building)"),
}
"""Per kind, the evidence its virtual evaluation is checked against (evidence notes)."""

assert set(EVIDENCE) == set(KINDS), "every program kind has its evidence"


# -- cost ----------------------------------------------------------------------------------------
def workers_per_site(program: ProgramConfig) -> int:
    """Outreach workers and interrupters in each site of an outreach program."""
    return program.outreach_workers_per_site + program.interrupters_per_site


def cost_per_officer_week(justice: JusticeConfig) -> float:
    return justice.cost_per_officer_year / WEEKS_PER_YEAR


def program_cost(program: ProgramConfig, participant_weeks: float, community_weeks: float,
                 weeks: float, justice: JusticeConfig) -> float:
    """USD: participant-weeks, community-weeks (site-weeks), worker-weeks (workers per site x
    site-weeks), officer-weeks (officers per site x site-weeks, at the justice system's cost per
    officer) and weeks running at the program's unit costs."""
    return float(participant_weeks * program.cost_per_participant_week
                 + community_weeks * program.cost_per_community_week
                 + community_weeks * workers_per_site(program) * program.cost_per_worker_week
                 + community_weeks * program.officers_per_site * cost_per_officer_week(justice)
                 + weeks * program.cost_per_week)


def covered_communities(program: ProgramConfig, population: PopulationConfig) -> int:
    t = program.targeting
    return t.most_violent_communities or len(t.communities) or population.communities


def planned_cost_per_year(program: ProgramConfig, population: PopulationConfig,
                          justice: JusticeConfig) -> float | None:
    """USD a year with every place filled (the cost rule at full use). A community program's
    participants are the covered residents of the targeted ages (ages are about evenly
    spread). None when the size depends on who is eligible (coverage)."""
    kind = KINDS[program.kind]
    participants = communities = 0.0
    if kind.caseloads:
        communities = covered_communities(program, population)
        participants = communities * program.outreach_workers_per_site * program.caseload
    elif kind.individual:
        if program.capacity is None:
            return None
        participants = program.capacity
    elif kind.level == COMMUNITY:
        t = program.targeting
        communities = covered_communities(program, population)
        ages = min(t.max_age, population.max_age - 1) - max(t.min_age, MIN_AGE) + 1
        age_share = max(0, ages) / (population.max_age - MIN_AGE)
        participants = population.size * communities / population.communities * age_share
    return program_cost(program, participants, communities, 1, justice) * WEEKS_PER_YEAR


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
    unit_key: str | None  # sim/locales unit.<key>; None: no size (a system program acts
    default_size: int     # through the others)
    max_size: int

    @property
    def unit(self) -> str | None:
        """Its size's unit in words (English)."""
        return None if self.unit_key is None else text(f"unit.{self.unit_key}")


def lever(program: ProgramConfig, reference: PopulationConfig) -> Lever:
    """The lever of `program`'s kind, its default size that of `program` on `reference`."""
    kind = KINDS[program.kind]
    if kind.sized_by_communities:
        return Lever(kind.name, kind.label, kind.level, "communities",
                     round(100 * covered_communities(program, reference)
                           / reference.communities), 100)
    if kind.individual and program.capacity is not None:
        default = round(program.capacity / reference.size * PER_10K)
        return Lever(kind.name, kind.label, kind.level, "places", default,
                     max(200, 2 * default))
    if kind.individual:
        return Lever(kind.name, kind.label, kind.level, "eligible",
                     round(100 * program.coverage), 100)
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
    if KINDS[program.kind].sized_by_communities:
        program.targeting.communities = []
        program.targeting.most_violent_communities = max(
            1, round(size / 100 * population.communities))
    elif program.capacity is not None:
        program.capacity = max(1, round(size * population.size / PER_10K))
    else:
        program.coverage = size / 100
    return program


def _check_catalogue() -> None:
    """The kernels apply community programs to residents on two channels, by whom they reach:
    pupils' offending and group members' offending; one kind each."""
    reaches = [k.reach for k in KINDS.values() if k.reach is not None]
    assert len(reaches) == len(set(reaches)), "one community kind per reach"
    for k in KINDS.values():
        assert k.reach is None or k.level == COMMUNITY, k.name
        assert k.reach != PUPILS or k.channel == OFFENDING, k.name
        assert k.reach != GROUPS or k.channel == OFFENDING, k.name
        assert not k.caseloads or k.individual, k.name
        assert not k.mediates or k.caseloads, k.name  # mediation happens in the sites
        assert (k.reach is None) == (k.reach_statistic is None), k.name
        assert not k.after_release or k.individual, k.name


_check_catalogue()
