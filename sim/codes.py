"""The vocabulary every layer shares: time, codes of states, indices of statistics, decay.

The engine's kernels, the reference model, the outcomes and the report all read these names;
nothing here imports numba or the model, so reading a constant is cheap. The kernels take the
integer codes as compile-time constants (numba's cache is keyed on the kernel's own file: after
changing a code here, clear `sim/__pycache__`).
"""

from __future__ import annotations

import math

# -- time ------------------------------------------------------------------------------------
WEEKS_PER_YEAR = 52
"""One step is one week; a year is 52 of them."""

MAX_WEEKS = 2**24
"""A random number's counter packs the week in 24 bits: weeks below this."""

INIT_WEEK = MAX_WEEKS - 1
"""The counter week of the initial population's draws at age 10 (no run reaches it)."""

PREHISTORY_STEP_WEEKS = 4
"""The initial population's past is simulated in steps of this many weeks (`kernels.prehistory`);
the step starting j steps before week 0 draws with counter week INIT_WEEK - j."""

PREHISTORY_YEARS = 25
"""How far back the initial population's past is simulated: a resident older than 10 + this
starts it with the risk states of that age and a clean record (older records matter little)."""

MAX_RUN_WEEKS = MAX_WEEKS - 4096
"""Runs are shorter than this, so that no run week meets a prehistory step's counter week."""

TRANSITION_WEEKS = 13
"""Life-course risk states change once a quarter: resident i in the weeks where
(week + i) % TRANSITION_WEEKS == 0 (staggered, so every week some residents move)."""

NEVER = -(2**30)
"""The week of an event that never happened."""

# -- people ----------------------------------------------------------------------------------
SEXES = ("female", "male")  # codes 0 and 1

AGE_BAND_EDGES = (10, 15, 20, 25, 30, 40, 50)
"""Lower edges of the reporting age bands; the last band runs to `population.max_age`."""

MIN_AGE = AGE_BAND_EDGES[0]
"""Residents enter at this age (the youngest age any program in the catalogue targets)."""

RISK_FACTORS = ("family_adversity", "disengagement", "substance_use", "gang_membership",
                "firearm_carrying")
"""Risk factors a resident may carry; bit k of `risk_flags` is RISK_FACTORS[k]. Family adversity
is drawn at entry and kept; the others are life-course states that residents enter and leave."""

LIFE_COURSE_STATES = RISK_FACTORS[1:]
"""The risk factors that change over the life course (`population.<name>` in the config)."""

RISK_FLAG = {name: 1 << k for k, name in enumerate(RISK_FACTORS)}
FAMILY_ADVERSITY = RISK_FLAG["family_adversity"]
DISENGAGEMENT = RISK_FLAG["disengagement"]
SUBSTANCE_USE = RISK_FLAG["substance_use"]
GANG_MEMBERSHIP = RISK_FLAG["gang_membership"]
FIREARM_CARRYING = RISK_FLAG["firearm_carrying"]
N_RISK_FACTORS = len(RISK_FACTORS)

# -- justice states of a resident --------------------------------------------------------------
FREE = 0
INCARCERATED = 1  # in custody: serving a prison sentence, or held on remand before trial
SUPERVISED = 2  # on parole after release, or on probation
DEAD = 3  # killed this week; the slot takes a new entrant next week

JUSTICE_STATES = ("free", "incarcerated", "released", "any")
"""What a program's `targeting.justice_state` may ask for; the code is the index."""
TARGET_FREE, TARGET_INCARCERATED, TARGET_RELEASED, TARGET_ANY = range(len(JUSTICE_STATES))

# -- weekly statistics, counted by sex and age band: counts[stat, sex, band] --------------------
STAT_NAMES = (
    "population", "incarcerated", "supervised", "violent_offences", "other_offences",
    "victimisations", "new_victims", "homicides", "arrests", "violent_arrests",
    "admissions", "releases", "homicide_offenders", "homicide_arrests", "firearm_incidents",
    "new_offenders", "gang_members", "pretrial", "firearm_homicides",
)
(POPULATION, INCARCERATED_STOCK, SUPERVISED_STOCK, VIOLENT_OFFENCES, OTHER_OFFENCES,
 VICTIMISATIONS,
 NEW_VICTIMS,  # first victimisation of this resident in the current year
 HOMICIDES,  # by the victim's sex and age band
 ARRESTS, VIOLENT_ARRESTS, ADMISSIONS, RELEASES,
 HOMICIDE_OFFENDERS,  # by the offender's sex and age band
 HOMICIDE_ARRESTS,
 FIREARM_INCIDENTS,  # violent offences by an offender carrying a firearm, by the offender's
 NEW_OFFENDERS,  # first offence of this resident in the current year
 GANG_MEMBERS,  # stock, free residents
 PRETRIAL,  # stock: in custody and not (yet) sentenced to prison (held on remand)
 FIREARM_HOMICIDES,  # homicides by an offender carrying a firearm, by the victim's sex and band
 ) = range(len(STAT_NAMES))
N_STATS = len(STAT_NAMES)

# -- scalars the kernels keep between weeks: tallies[...] ---------------------------------------
TALLY_SPELLS = 0  # release spells written so far (the next spell's row)
TALLY_INCARCERATED = 1  # residents in prison now
N_TALLIES = 2

# -- programs ----------------------------------------------------------------------------------
# A resident's status in individual program k: ind_status[k, i].
NOT_OFFERED = 0
COMPLETER = 1  # enrolled; completes at its end week
DROPOUT = 2  # enrolled; drops out at its end week
WAITLISTED = 3  # eligible at an intake but not offered a place (the comparison group)
DECLINED = 4  # offered a place and refused it

# Counters of individual program k by sex and age in years, ind_stats[k, sex, age, ...]:
# participants while enrolled, the waiting list until the next intake.
(PARTICIPANT_WEEKS, PARTICIPANT_ARRESTS, PARTICIPANT_VIOLENT_ARRESTS,
 COMPARISON_WEEKS, COMPARISON_ARRESTS, COMPARISON_VIOLENT_ARRESTS) = range(6)
N_PROGRAM_STATS = 6

# Resident-weeks reached by community programs acting on residents, and the shootings that
# interrupters mediated: community_stats[...]
PUPIL_WEEKS = 0  # residents of the targeted ages in covered communities (catalogue.PUPILS)
GROUP_MEMBER_WEEKS = 1  # gang members of the targeted groups (catalogue.GROUPS)
MEDIATIONS = 2  # shootings mediated by interrupters (catalogue.Kind.mediates)
N_COMMUNITY_STATS = 3


# -- decay -------------------------------------------------------------------------------------
NEGLIGIBLE_LOG_HAZARD = 1e-4
"""A decaying log hazard ratio below this changes the hazard by less than 0.01%: dropped."""


def decay_rate(half_life_weeks: float) -> float:
    """Per week: a quantity decaying with this half-life is x exp(-rate x weeks)."""
    return math.log(2.0) / half_life_weeks


def weekly_retention(half_life_weeks: float) -> float:
    """The share of a quantity left after one week of decay with this half-life."""
    return 0.5 ** (1.0 / half_life_weeks)


def horizon(size: float, half_life_weeks: float) -> int:
    """Weeks during which a term of `size` (log hazard) decaying with this half-life stays at
    least NEGLIGIBLE_LOG_HAZARD: counted while weeks since its start < horizon (0: never)."""
    size = abs(size)
    if size <= NEGLIGIBLE_LOG_HAZARD:
        return 0
    return int(math.ceil(math.log(size / NEGLIGIBLE_LOG_HAZARD) / decay_rate(half_life_weeks)))


def age_in_years(week, birth_week):
    """Whole years of age in `week` (works on numbers and arrays)."""
    return (week - birth_week) // WEEKS_PER_YEAR


def band_labels(max_age: int) -> list[str]:
    """Labels of the reporting age bands, e.g. '15-19'; the last runs to max_age - 1."""
    edges = list(AGE_BAND_EDGES) + [max_age]
    return [f"{a}-{b - 1}" for a, b in zip(edges[:-1], edges[1:])]
