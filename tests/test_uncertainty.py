"""Probabilistic sweeps (issue 14, item 5): each replicate draws parameters from their plausible
ranges and the structure from the shipped alternatives, the same for every scenario of a seed;
the report says which kind of interval it shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim import api, uncertainty
from sim.config import ConfigError, load
from sim.parameters import by_key
from sim.report import interval_note

DRAW = ["uncertainty.parameters=true"]


def cfg(*more: str):
    return load(["population=small", *more])


def test_nothing_is_drawn_unless_asked():
    settings = cfg("seed=3")
    assert uncertainty.drawn(settings) is settings
    assert uncertainty.draws(settings) == ("selection", {})
    assert uncertainty.label(settings) == "chance"


def test_a_seed_draws_the_same_values_for_every_scenario_within_their_ranges():
    one, plan = (uncertainty.draws(cfg("seed=3", f"scenario={s}", *DRAW))[1]
                 for s in ("cbt_youth", "comprehensive_plan"))
    catalogue = by_key("small")
    shared = one.keys() & plan.keys()
    assert "scenario.programs.cbt_youth.effect" not in shared  # fitted: kept at its fit
    assert "scenario.programs.cbt_youth.uptake" in shared  # sourced: drawn, for both
    assert all(one[k] == plan[k] for k in shared)
    for key, value in one.items():
        p = catalogue[key]
        assert p.kind in ("sourced", "illustrative"), key
        assert p.plausible[0] <= value <= p.plausible[1], key
    other = uncertainty.draws(cfg("seed=4", "scenario=cbt_youth", *DRAW))[1]
    assert other.keys() == one.keys() and all(other[k] != one[k] for k in one
                                              if isinstance(one[k], float))
    # what a structure sets is never drawn as a parameter; fitted ones only when asked
    assert "behaviour.prior_incarceration" not in one
    assert "behaviour.base_offending_per_year" not in one
    fitted = uncertainty.draws(cfg("seed=3", "uncertainty.parameters=true",
                                   "uncertainty.kinds=[fitted]"))[1]
    assert "behaviour.deterrence_violent" in fitted and "behaviour.retaliation" not in fitted
    assert "behaviour.base_offending_per_year" not in fitted  # the structures refit it


def test_drawn_values_are_applied_once_and_applying_again_changes_nothing():
    settings = cfg("seed=5", *DRAW)
    once = uncertainty.drawn(settings)
    values = uncertainty.draws(settings)[1]
    assert once.behaviour.peer_contagion == values["behaviour.peer_contagion"]
    assert once.justice.clearance_violent == values["justice.clearance_violent"]
    assert settings.behaviour.peer_contagion == 0.3  # the caller's config is not changed
    assert uncertainty.drawn(once) == once


def test_the_structure_is_drawn_per_seed_with_its_fitted_values():
    drawn = {s: uncertainty.drawn(cfg(f"seed={s}", "uncertainty.structure=true",
                                      "structure=criminogenic_prison")) for s in range(12)}
    names = {d.structure for d in drawn.values()}
    assert names == set(uncertainty.structures())
    for d in drawn.values():
        if d.structure == "criminogenic_prison":
            assert d.behaviour.base_offending_per_year == 1.28
            assert d.behaviour.prior_incarceration == pytest.approx(0.2623)
        else:  # back to the group files' values, though composed under the other structure
            assert d.behaviour.base_offending_per_year == 1.05
            assert d.behaviour.prior_incarceration == 0.0
            assert d.justice.clearance_other == 0.70


def test_bad_kinds_are_refused_with_the_key_named():
    with pytest.raises(ConfigError, match=r"uncertainty.kinds = \['guessed'\]"):
        uncertainty.drawn(cfg(*DRAW, "uncertainty.kinds=[guessed]"))


def test_parameter_draws_widen_the_spread_between_replicates():
    """Replicates that draw parameters spread wider than replicates that differ by chance only
    (6 seeds each on small)."""
    seeds = range(6)
    common = dict(population="small", years=2, burn_in_years=5)
    chance = [api.run_experiment({}, seed=s, **common)["violent_incidents_per_100k_per_year"]
              for s in seeds]
    drawn = [api.run_experiment({"uncertainty.parameters": True}, seed=s, **common)
             for s in seeds]
    spread = [d["violent_incidents_per_100k_per_year"] for d in drawn]
    assert np.std(spread) > 3 * np.std(chance)
    assert all("drawn.behaviour.peer_contagion" in d for d in drawn)  # recorded per run


def test_the_report_says_which_kind_of_interval_it_shows():
    only_chance = pd.DataFrame({"uncertainty": ["chance"] * 2})
    assert "cover chance only" in interval_note(only_chance)
    assert "cover chance only" in interval_note(pd.DataFrame({"x": [1]}))  # older runs
    label = uncertainty.label(cfg(*DRAW, "uncertainty.structure=true"))
    both = interval_note(pd.DataFrame({"uncertainty": [label] * 2}))
    assert "parameters (sourced, illustrative" in both and "structure (" in both
    mixed = interval_note(pd.DataFrame({"uncertainty": ["chance", label]}))
    assert mixed.startswith("**Intervals** mix")
