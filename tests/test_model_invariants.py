"""Invariants of whole runs on random configurations: what must hold whatever the parameters.

Every week: the population is conserved; no count is negative; nobody in prison offends; the
prison tally matches the residents in prison and the week's admissions and releases; releases
never outrun admissions (nobody starts in prison); the dead are exactly this week's homicide
victims; each open recidivism spell belongs to its resident. At the end: spell events never
precede their release, and the spells are the releases; each week's re-arrests are among its
arrests.
"""


import math
from dataclasses import fields

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import codes, outcomes
from sim.codes import (
    ADMISSIONS,
    ARRESTS,
    DEAD,
    FIREARM_CARRYING,
    FIREARM_INCIDENTS,
    GANG_MEMBERS,
    HOMICIDE_ARRESTS,
    HOMICIDE_OFFENDERS,
    HOMICIDES,
    INCARCERATED,
    INCARCERATED_STOCK,
    LIFE_COURSE_STATES,
    NEW_OFFENDERS,
    NEW_VICTIMS,
    OTHER_OFFENCES,
    POPULATION,
    RELEASES,
    SUPERVISED,
    TALLY_INCARCERATED,
    TALLY_SPELLS,
    VICTIMISATIONS,
    VIOLENT_ARRESTS,
    VIOLENT_OFFENCES,
)
from sim.config import (
    BehaviourConfig,
    JusticeConfig,
    LifeCourseState,
    PopulationConfig,
    VpsimConfig,
    validate,
)
from sim.model import ViolencePreventionModel
from sim.rng import run_key


def unit():
    return st.floats(0.0, 1.0)


def upper(schema, name: str):
    """The top of a field's allowed range (the ranges stop before the runaway region)."""
    return next(f for f in fields(schema) if f.name == name).metadata["range"][1]


@st.composite
def random_configs(draw) -> VpsimConfig:
    cfg = VpsimConfig()
    cfg.seed = draw(st.integers(0, 2**32 - 1))
    cfg.years = draw(st.integers(1, 3))
    cfg.burn_in_years = draw(st.integers(0, 1))
    cfg.progress = cfg.figures = False
    pop = cfg.population
    pop.size = draw(st.integers(1000, 3000))
    pop.communities = draw(st.integers(1, 30))
    pop.max_age = draw(st.integers(55, 90))
    pop.peer_ties = draw(st.integers(0, upper(PopulationConfig, "peer_ties")))
    pop.gang_ties = draw(st.integers(0, 5))
    for name in LIFE_COURSE_STATES:
        prevalence = draw(st.floats(0.0, 0.3))
        setattr(pop, name, LifeCourseState(
            ages=[10, 30, 90], prevalence_male=[prevalence / 2, prevalence, prevalence / 3],
            prevalence_female=[prevalence / 4] * 3, exit_per_year=[draw(st.floats(0.0, 2.0))] * 3))
    beh = cfg.behaviour
    ages = list(beh.age_curve_ages)
    ages[-1] = max(ages[-1], pop.max_age)
    beh.age_curve_ages = ages
    beh.base_offending_per_year = draw(st.floats(0.05, upper(BehaviourConfig,
                                                             "base_offending_per_year")))
    beh.violent_share = draw(st.floats(0.0, upper(BehaviourConfig, "violent_share")))
    beh.peer_contagion = draw(st.floats(-1.0, upper(BehaviourConfig, "peer_contagion")))
    beh.retaliation = draw(st.floats(-1.0, 2.0))
    beh.prior_incarceration = draw(st.floats(math.log(0.8), math.log(1.3)))
    beh.post_release = draw(st.floats(0.0, math.log(1.5)))
    beh.deterrence_violent = draw(st.floats(0.0, 2.0))
    beh.deterrence_other = draw(st.floats(0.0, 2.0))
    beh.state_propensity_gradient = draw(st.floats(0.0, 2.0))
    beh.exposure_saturation = draw(st.floats(0.1, 10.0))
    beh.lethality = draw(st.floats(0.0, min(0.01, upper(BehaviourConfig, "lethality"))))
    beh.firearm_lethality_ratio = draw(st.floats(1.0, 30.0))
    beh.victim_male_lethality = draw(st.floats(1.0, 4.0))
    beh.victim_among_peers = draw(unit())
    beh.victim_in_own_community = draw(unit())
    jus = cfg.justice
    jus.clearance_violent, jus.clearance_other, jus.clearance_homicide = (
        draw(unit()), draw(unit()), draw(unit()))
    jus.police_presence = draw(st.floats(0.5, 2.0))
    jus.arrest_presence_elasticity = draw(unit())
    jus.supervision_detection = draw(st.floats(1.0, 3.0))
    jus.conviction_probability = draw(unit())
    jus.prison_probability_violent = draw(unit())
    jus.prison_probability_other = draw(unit())
    jus.prison_prior_conviction_ratio = draw(st.floats(1.0, 3.0))
    jus.sentence_median_weeks_violent = draw(st.floats(1.0, 150.0))
    jus.sentence_median_weeks_other = draw(st.floats(1.0, 150.0))
    jus.sentence_median_weeks_homicide = draw(st.floats(1.0, 400.0))
    jus.sentence_sigma = draw(st.floats(0.0, 1.5))
    jus.parole_weeks = draw(st.integers(0, 200))
    jus.probation_weeks = draw(st.integers(0, 200))
    jus.revocation_per_year = draw(st.floats(0.0, upper(JusticeConfig, "revocation_per_year")))
    jus.revocation_weeks = draw(st.integers(1, 52))
    return validate(cfg)


def check_run(cfg: VpsimConfig) -> None:
    # The kernels must see the run key as a uint64: a seed whose key numba types as int64 draws
    # from [0, 0.5) and breaks later seeds in the same process (test_rng.py::
    # test_numba_sees_every_run_key_as_uint64). Checked first, before any kernel compiles.
    assert numba.typeof(run_key(cfg.seed)) == numba.types.uint64, (
        f"numba types the run key of seed {cfg.seed} as {numba.typeof(run_key(cfg.seed))}")

    queued = []  # per week: (justice state before the week, slot recycled this week) of offenders
    size = cfg.population.size
    model = ViolencePreventionModel(cfg)
    live_week = model._live_week

    def recording_live_week(week):
        """The residents stage, recording who it queued as offenders."""
        r = model.residents
        state_before, born_before = r.justice_state.copy(), r.birth_week.copy()
        live_week(week)
        queue = model._week_buffers.offences[:model._n_offences]
        who = np.where(queue >= 0, queue, ~queue)
        queued.append((state_before[who], born_before[who] != r.birth_week[who]))

    model._live_week = recording_live_week
    r = model.residents
    # The run starts with the prison population its simulated past left.
    incarcerated_before = int((r.justice_state == INCARCERATED).sum())
    assert model.tallies[TALLY_INCARCERATED] == incarcerated_before
    admitted, released, rearrests = incarcerated_before, 0, 0
    while not model.finished:
        model.step()
        w = model.week - 1
        h = model.history[w].astype(np.int64)
        week = {stat: int(h[stat].sum()) for stat in range(codes.N_STATS)}
        assert week[POPULATION] == size, w
        assert (h >= 0).all(), w

        state_before, recycled = queued[-1]
        assert not np.any((state_before == INCARCERATED) & ~recycled), \
            f"week {w}: a resident in prison offended"
        counted = week[VIOLENT_OFFENCES] + week[OTHER_OFFENCES]
        # Offenders killed earlier in the week lose their offence; nobody else does.
        assert len(state_before) - week[HOMICIDES] <= counted <= len(state_before), w
        assert week[HOMICIDES] <= week[VICTIMISATIONS] <= week[VIOLENT_OFFENCES], w
        assert week[NEW_VICTIMS] <= week[VICTIMISATIONS], w
        assert week[NEW_OFFENDERS] <= counted, w
        assert week[HOMICIDE_OFFENDERS] == week[HOMICIDES], w
        assert week[HOMICIDE_ARRESTS] <= min(week[VIOLENT_ARRESTS], week[HOMICIDES]), w
        assert week[FIREARM_INCIDENTS] <= week[VIOLENT_OFFENCES], w
        assert week[GANG_MEMBERS] <= week[POPULATION], w
        assert not np.any((r.justice_state == INCARCERATED)
                          & (r.risk_flags & FIREARM_CARRYING > 0)), w  # guns are taken
        assert week[VIOLENT_ARRESTS] <= week[ARRESTS] <= counted, w
        # A re-arrest (first arrest after a release) is one of the week's arrests.
        rearrests += model.rearrests_between(w, w + 1)
        assert model.rearrests_between(w, w + 1) <= week[ARRESTS], w

        incarcerated = int((r.justice_state == INCARCERATED).sum())
        assert model.tallies[TALLY_INCARCERATED] == incarcerated, w
        assert incarcerated == (week[INCARCERATED_STOCK] - week[RELEASES]
                                + week[ADMISSIONS]), w
        assert week[INCARCERATED_STOCK] <= incarcerated_before, w  # some may age out
        incarcerated_before = incarcerated
        admitted += week[ADMISSIONS]
        released += week[RELEASES]
        assert released <= admitted, w
        assert (r.sentence_end_week[r.justice_state == INCARCERATED] > w).all(), w
        assert (r.supervision_end_week[r.justice_state == SUPERVISED] > w).all(), w
        assert int((r.justice_state == DEAD).sum()) == week[HOMICIDES], w

        n_spells = int(model.tallies[TALLY_SPELLS])
        assert n_spells <= model.spells.resident.shape[0]
        holders = np.flatnonzero(r.open_spell >= 0)
        open_spells = r.open_spell[holders]
        assert np.array_equal(model.spells.resident[open_spells], holders), w
        assert np.array_equal(np.sort(open_spells),
                              np.flatnonzero(model.spells.end_week[:n_spells] == -1)), w

    s = model.spells
    n = int(model.tallies[TALLY_SPELLS])
    assert n == int(model.history[:, RELEASES].sum())  # one spell per release
    release = s.release_week[:n]
    assert ((release >= 0) & (release < model.week)).all()
    for events in (s.rearrest_week[:n], s.reincarceration_week[:n], s.end_week[:n]):
        assert ((events == -1) | (events >= release)).all()
    back = s.reincarceration_week[:n] >= 0
    assert np.array_equal(s.end_week[:n][back], s.reincarceration_week[:n][back])
    both = (s.rearrest_week[:n] >= 0) & (s.end_week[:n] >= 0)
    assert (s.rearrest_week[:n][both] <= s.end_week[:n][both]).all()
    assert rearrests == model.rearrests_between(0, model.week) == int(
        (s.rearrest_week[:n] >= 0).sum())
    ages = s.age_at_release[:n]
    assert ((ages >= 10) & (ages < cfg.population.max_age)).all()

    summary = outcomes.summary(model)
    within = [summary[f"rearrest_within_{k}"] for k in ("1_year", "3_years", "5_years")]
    defined = [x for x in within if x is not None]
    assert all(0.0 <= x <= 1.0 for x in defined)
    assert defined == sorted(defined)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=random_configs())
def test_invariants_hold_every_week_on_random_configs(cfg):
    check_run(cfg)


@pytest.mark.slow
@settings(deadline=None, max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=random_configs())
def test_invariants_hold_every_week_on_many_random_configs(cfg):
    check_run(cfg)
