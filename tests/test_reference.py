"""The plain-Mesa reference (`sim.reference`) as the engine's oracle.

Both sides draw the same counter-based random numbers in the same order, so every rule can be
checked exactly: the engine and the reference must give the same weekly record, the same
resident state and the same summary.json, to the last bit. Exact equality is stronger than any
statistical test over replicates: a rule changed on one side alone shows up as a difference,
and `test_a_five_percent_change_on_either_side_is_detected` shows that a 5% change of one rule,
on either side, changes the headline outcomes the comparison reads.

Runs start from a mature population: the engine runs the 30-year burn-in, then the reference
takes over from that state (prisons full, release spells open, programs starting), so the
rules are checked where they matter. One test runs the reference from week 0.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from helpers import REPO, small_config

from sim import outcomes, reference, rng
from sim.codes import NOT_OFFERED
from sim.config import load
from sim.model import ViolencePreventionModel
from sim.reference import ReferenceModel, Resident
from sim.rng import run_key, uniforms

SCENARIOS = sorted(p.stem for p in (REPO / "scenarios").glob("*.yaml"))
HEADLINE = ("violent_incidents_per_100k_per_year", "homicides_per_100k_per_year",
            "incarcerated_per_100k", "rearrest_within_1_year", "rearrest_within_3_years")


def mature_config(scenario: str, years: int, seed: int = 11, extra=()):
    return load([f"scenario={scenario}", "population=small", f"years={years}", f"seed={seed}",
                 "progress=false", "figures=false", *extra])


def engine_run(cfg) -> ViolencePreventionModel:
    model = ViolencePreventionModel(cfg)
    model.run()
    return model


def reference_run(cfg, engine_weeks: int | None = None) -> ReferenceModel:
    """The engine for `engine_weeks` (default: the burn-in), then the reference to the end."""
    if engine_weeks is None:
        engine_weeks = 52 * cfg.burn_in_years
    model = ReferenceModel(cfg, engine_weeks=engine_weeks)
    model.run()
    return model


def summary_json(model) -> str:
    return json.dumps(outcomes.summary(model), sort_keys=True, allow_nan=True)


def differences(engine: ViolencePreventionModel, ref: ReferenceModel) -> list[str]:
    """What differs between two finished runs: weekly record, resident state, release spells,
    program places and counters, community state, summary.json."""
    out = []
    for week in np.flatnonzero((engine.history != ref.history).any(axis=(1, 2, 3)))[:1]:
        stats = np.flatnonzero((engine.history[week] != ref.history[week]).any(axis=(1, 2)))
        out.append(f"weekly record from week {week} (statistics {stats.tolist()})")
    for name, a, b in zip(engine.residents._fields, engine.residents, ref.residents):
        if not np.array_equal(a, b):
            out.append(f"residents.{name}")
    n = int(engine.tallies[0])
    if not np.array_equal(engine.tallies, ref.tallies):
        out.append("tallies")
    for name, a, b in zip(engine.spells._fields, engine.spells, ref.spells):
        if not np.array_equal(a[:n], b[:n]):
            out.append(f"spells.{name}")
    pa, pb = engine.programs.tables, ref.programs.tables
    held = pa.ind_status != NOT_OFFERED
    for name in ("ind_status", "ind_stats", "community_stats"):
        if not np.array_equal(getattr(pa, name), getattr(pb, name)):
            out.append(f"programs.{name}")
    for name in ("ind_start_week", "ind_end_week"):  # meaningful only where a place is held
        if not np.array_equal(getattr(pa, name)[held], getattr(pb, name)[held]):
            out.append(f"programs.{name}")
    for name in ("violence_rate", "collective_efficacy", "police_presence"):
        if not np.array_equal(getattr(engine, name), getattr(ref, name)):
            out.append(f"communities.{name}")
    a, b = outcomes.summary(engine), outcomes.summary(ref)
    out += [f"summary.{key}" for key in sorted(a) if json.dumps(a[key]) != json.dumps(b[key])]
    return out


def test_plain_python_draws_equal_the_engines():
    key = run_key(7)
    residents = np.array([0, 1, 2, 999_999, 2**31 - 1], np.int64)
    for week, stream in ((0, 1), (3, 16), (2**24 - 1, 255), (1234, 128)):
        engine = uniforms(key, week, residents, stream)
        plain = [reference.uniform(int(key), week, int(i), stream) for i in residents]
        assert engine.tolist() == plain


def test_reference_from_week_zero_is_bit_identical_to_the_engine():
    """Everything from the initial population on: entrants, the first prison admissions."""
    cfg = small_config(size=2000, years=2, burn_in_years=1, seed=4)
    engine, ref = engine_run(cfg), reference_run(cfg, engine_weeks=0)
    assert engine.history[:, 3].sum() > 0 and engine.tallies[0] > 0  # offences, releases
    assert differences(engine, ref) == []
    assert summary_json(engine) == summary_json(ref)


def test_residents_are_mesa_agents_that_leave_and_enter():
    cfg = small_config(size=1000, communities=1, years=1, burn_in_years=0, seed=2)
    cfg.population.max_age = 55  # ages spread over 10-55: ~1 in 45 leaves a year
    model = ReferenceModel(cfg)
    first = list(model.slots)
    assert len(model.agents_by_type[Resident]) == 1000
    for _ in range(52):
        model.step()
    assert len(model.agents_by_type[Resident]) == 1000  # who left was removed from Mesa
    replaced = [i for i, (a, b) in enumerate(zip(first, model.slots)) if a is not b]
    assert 10 < len(replaced) < 100
    assert all(model.slots[i].age(model.week) < 12 for i in replaced)  # entrants, aged 10-11
    assert all(r.slot == i for i, r in enumerate(model.slots))


def test_reference_matches_engine_on_a_mature_population_with_pretrial_detention():
    """Four years after the burn-in, every program of the comprehensive plan running (seven
    kinds), including 3-year re-arrest, in a justice system that holds arrested people before
    trial (as most of Latin America's do): held and acquitted, held then on probation, held
    then sentenced (the time held counts), in-prison programs offered to the sentenced only.
    Identical records and summary.json. (Every scenario without pretrial detention: the slow
    test below.)"""
    cfg = mature_config("comprehensive_plan", years=4, seed=3, extra=(
        "justice.pretrial_detention=0.3", "justice.pretrial_median_weeks=20"))
    engine, ref = engine_run(cfg), reference_run(cfg)
    _assert_exercised(engine)
    s = outcomes.summary(engine)
    assert 0.05 < s["pretrial_share_of_prisoners"] < 0.6
    held_only = engine.residents.remand_only == 1
    assert held_only.any() and (engine.residents.justice_state[held_only] == 1).all()
    assert differences(engine, ref) == []
    assert summary_json(engine) == summary_json(ref)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_reference_matches_engine_in_every_scenario(scenario):
    cfg = mature_config(scenario, years=4, seed=5)
    engine, ref = engine_run(cfg), reference_run(cfg)
    _assert_exercised(engine)
    assert differences(engine, ref) == []
    assert summary_json(engine) == summary_json(ref)


def _assert_exercised(engine: ViolencePreventionModel) -> None:
    """The comparison reads outcomes that are there: releases followed three years, and every
    program of the scenario reaching people."""
    s = outcomes.summary(engine)
    assert s["releases"] > 50 and s["rearrest_within_3_years"] is not None
    assert s["violent_incidents_per_100k_per_year"] > 0
    for name, p in s["programs"].items():
        if p["kind"] in ("cbt_youth", "violence_interruption", "prison_rehabilitation",
                         "reentry_employment"):
            assert p["participants"] > 0, name
        if p["kind"] in ("school_education", "focused_deterrence"):
            assert p["participant_weeks"] > 0, name
        if p["kind"] == "violence_interruption":
            assert p["mediations"] > 0, name


@pytest.mark.parametrize("side", ["reference", "engine"])
def test_a_five_percent_change_on_either_side_is_detected(side, monkeypatch):
    """Raise the offending hazard by 5% on one side only: the comparison fails, on the
    headline outcome itself (violence), not only on bits."""
    cfg = mature_config("baseline", years=2, seed=3)
    if side == "reference":
        hazard = Resident.offending_hazard

        def five_percent_higher(self, *args):
            h, violent_share = hazard(self, *args)
            return 1.05 * h, violent_share
        monkeypatch.setattr(Resident, "offending_hazard", five_percent_higher)
        engine = engine_run(cfg)
    else:  # the engine's base hazard 5% higher, the reference's rules untouched
        changed = copy.deepcopy(cfg)
        changed.behaviour.base_offending_per_year *= 1.05
        engine = engine_run(changed)
    ref = reference_run(cfg)
    assert "summary.violent_incidents_per_100k_per_year" in differences(engine, ref)
    a, b = outcomes.summary(engine), outcomes.summary(ref)
    ratio = b["violent_incidents_per_100k_per_year"] / a["violent_incidents_per_100k_per_year"]
    # Same draws on both sides: the 5% shows up as ~5% more (or fewer) incidents, not as noise.
    assert abs(ratio - 1) > 0.02


@pytest.mark.slow
@pytest.mark.parametrize("rule, headline", [
    ("sentence", "incarcerated_per_100k"),
    ("arrest", "rearrest_within_3_years"),
])
def test_a_five_percent_change_of_justice_rules_is_detected(rule, headline, monkeypatch):
    """The same for the reference's justice rules: sentences 5% longer change incarceration;
    arrests 5% likelier change 3-year re-arrest."""
    if rule == "sentence":
        admit = Resident.admit
        monkeypatch.setattr(Resident, "admit",
                            lambda self, week, weeks: admit(self, week, round(1.05 * weeks)))
    else:
        draw = Resident.draw
        monkeypatch.setattr(Resident, "draw", lambda self, week, stream: (
            draw(self, week, stream) / 1.05 if stream == rng.ARREST else draw(self, week, stream)))
    cfg = mature_config("baseline", years=4, seed=3)
    engine, ref = engine_run(cfg), reference_run(cfg)
    assert f"summary.{headline}" in differences(engine, ref)
    a, b = outcomes.summary(engine)[headline], outcomes.summary(ref)[headline]
    assert b > a  # in the direction of the change
