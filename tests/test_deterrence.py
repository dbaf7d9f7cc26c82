"""Police presence deters where it is, separately from arrests (issue 13: deterrence).

Kernel level: the week's deterrence terms change who offends exactly as the hazard formula says
(hand-computed expectations over many residents). Model level: at the reference presence the
terms are a no-op, bit for bit, whatever the elasticities; away from it, violent offending
answers more than other offending. City level (slow): a city-wide change of police yields an
elasticity of cost-weighted crime in the published range (Chalfin & McCrary 2018: about -0.5).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import TinyWorld, small_config

from sim.codes import OTHER_OFFENCES, VIOLENT_OFFENCES
from sim.model import ViolencePreventionModel

N = 40_000
HAZARD = 0.2
WEEK = 100


def offences_in_one_week(deter_all: float, deter_violent: float, violent_share: float):
    world = TinyWorld(N, violent_share=violent_share)
    world.set_weekly_hazard(HAZARD)
    world.deter_all[:] = deter_all
    world.deter_violent[:] = deter_violent
    world.step(WEEK)
    return world.count(VIOLENT_OFFENCES), world.count(OTHER_OFFENCES)


def within(count: int, p: float, n: int = N, sds: float = 5.0) -> bool:
    return abs(count - n * p) <= sds * math.sqrt(n * p * (1 - p))


def test_deterrence_of_every_offence_scales_the_hazard():
    violent, other = offences_in_one_week(math.log(0.5), 0.0, violent_share=0.0)
    assert violent == 0
    assert within(other, 1.0 - math.exp(-HAZARD * 0.5))
    assert not within(other, 1.0 - math.exp(-HAZARD))


def test_deterrence_of_violence_changes_the_violent_part_only():
    # violent share 0.5, violent hazard x 0.25: hazard x 0.625, violent share 0.2
    violent, other = offences_in_one_week(0.0, math.log(0.25), violent_share=0.5)
    p_any = 1.0 - math.exp(-HAZARD * 0.625)
    assert within(violent + other, p_any)
    assert within(violent, p_any * 0.2)
    assert within(other, p_any * 0.8)


def _run(**changes):
    cfg = small_config(size=3000, years=2, burn_in_years=1, seed=4)
    for dotted, value in changes.items():
        group, name = dotted.split("__")
        setattr(getattr(cfg, group), name, value)
    model = ViolencePreventionModel(cfg)
    model.run()
    return model


def test_at_the_reference_presence_deterrence_changes_nothing():
    a = _run(behaviour__deterrence_violent=0.0, behaviour__deterrence_other=0.0)
    b = _run(behaviour__deterrence_violent=1.5, behaviour__deterrence_other=0.7)
    assert np.array_equal(a.history, b.history)


def test_more_police_deter_violence_more_than_other_offending():
    weeks = slice(52, None)  # after the burn-in year

    def totals(model):
        h = model.history[weeks]
        return h[:, VIOLENT_OFFENCES].sum(), h[:, OTHER_OFFENCES].sum()

    common = dict(justice__police_presence=2.0, justice__arrest_presence_elasticity=0.0)
    v0, o0 = totals(_run(behaviour__deterrence_violent=0.0, behaviour__deterrence_other=0.0,
                         **common))
    v1, o1 = totals(_run(behaviour__deterrence_violent=1.0, behaviour__deterrence_other=0.2,
                         **common))
    # presence 2: violent hazard x 0.5, other x 0.87, before what contagion adds
    assert v1 < 0.7 * v0
    assert o1 < o0
    assert v1 / v0 < o1 / o0


@pytest.mark.slow
def test_city_wide_police_elasticity_of_cost_weighted_crime_is_in_the_published_range():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))
    import deterrence

    seeds = range(5)
    base = deterrence.runs([], seeds)
    plus = deterrence.runs(["justice.police_presence=1.1"], seeds)
    e = deterrence.elasticities(base, plus, 0.1)
    m, lo, hi = e["cost_weighted_crime"]
    assert -0.7 <= m <= -0.3, (m, lo, hi)  # Chalfin & McCrary 2018: "roughly -0.5"
    assert e["violent_incidents_per_100k_per_year"][0] < e["other_offences_per_100k_per_year"][0]


# -- hot spots that move and spill over ------------------------------------------------------

def _hotspot_model(**program):
    from helpers import program_overrides

    from sim.config import load

    overrides = ["population=small", "progress=false", "figures=false", "burn_in_years=2",
                 "years=2", "seed=3", "scenario=hotspot_policing",
                 *program_overrides("hotspot_policing", **program)]
    return ViolencePreventionModel(load(overrides))


def test_hot_spots_are_chosen_again_by_recent_violence_at_each_interval():
    model = _hotspot_model(targeting__reselect_every_weeks=13,
                           targeting__most_violent_communities=3)
    program = model.programs.by_kind("hotspot_policing")
    chosen = []
    while not model.finished:
        week = model.week
        expected = None
        if week >= program.start and (week - program.start) % 13 == 0:
            expected = set(np.argsort(-model.violence_rate, kind="stable")[:3].tolist())
        before = None if program.covered is None else program.covered.copy()
        model.step()
        assert program.covered is None or program.covered.sum() == 3
        if expected is not None:
            assert set(np.flatnonzero(program.covered).tolist()) == expected, week
            chosen.append(frozenset(expected))
        elif before is not None:
            assert np.array_equal(before, program.covered), week  # only at the interval
    assert len(chosen) >= 7
    assert len(set(chosen)) > 1  # the hot spots moved at least once


def test_deterrence_spills_over_to_adjacent_communities_but_arrests_do_not():
    model = _hotspot_model(spillover=0.4, effect=1.5, targeting__most_violent_communities=1)
    program = model.programs.by_kind("hotspot_policing")
    while program.covered is None:
        model.step()
    beh = model.config.behaviour
    (spot,) = np.flatnonzero(program.covered)
    t = model.tables
    near = set(t.community_adj_idx[t.community_adj_ptr[spot]:t.community_adj_ptr[spot + 1]])
    near.discard(spot)
    assert near
    felt = np.zeros(len(model.police_presence))
    felt[spot] = math.log(1.5)
    felt[list(near)] = 0.4 * math.log(1.5)
    assert np.allclose(model.deter_all, -beh.deterrence_other * felt)
    assert np.allclose(model.deter_violent, (beh.deterrence_other - beh.deterrence_violent) * felt)
    arrests = np.ones(len(felt))
    arrests[spot] = 1.5 ** model.config.justice.arrest_presence_elasticity
    assert np.allclose(model.arrest_multiplier, arrests)


def test_displacement_raises_the_hazard_next_door():
    model = _hotspot_model(spillover=-0.5, effect=1.5, targeting__most_violent_communities=1)
    program = model.programs.by_kind("hotspot_policing")
    while program.covered is None:
        model.step()
    (spot,) = np.flatnonzero(program.covered)
    others = np.flatnonzero(model.deter_all != 0.0)
    assert model.deter_all[spot] < 0.0  # deterred at the spot
    assert all(model.deter_all[c] > 0.0 for c in others if c != spot)  # displaced next door
    assert len(others) > 1


# -- what police cost ----------------------------------------------------------------------

def test_a_city_wide_change_in_police_is_paid_for_in_officers_above_the_reference():
    from sim.api import run_experiment

    params = {"justice.police_presence": 1.5, "justice.officers_per_1000_residents": 2.0,
              "justice.cost_per_officer_year": 100_000.0}
    s = run_experiment(params, population="small", years=2, burn_in_years=1, seed=1)
    officers = 0.5 * 2.0 * s["residents"] / 1000  # half as many again as the reference staffing
    assert s["police_officers_added"] == pytest.approx(officers, rel=1e-12)
    assert s["cost_police"] == pytest.approx(officers * 100_000.0 * 2, rel=1e-12)
    assert officers > 0
    assert s["cost_total"] == pytest.approx(
        s["cost_programs"] + s["cost_police"] + s["cost_incarceration"], rel=1e-12)
    fewer = run_experiment({**params, "justice.police_presence": 0.8}, population="small",
                           years=2, burn_in_years=1, seed=1)
    assert fewer["cost_police"] < 0  # fewer officers than the reference: a saving
