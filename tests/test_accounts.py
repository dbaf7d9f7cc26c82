"""Benefit-cost accounts (issue 15, items 1-2): victim costs from their tables, money restated and
discounted, a run's present values adding up from its own counts, and a scenario's account
against the baseline of the same seed."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim import accounts
from sim.codes import STAT_NAMES
from sim.config import load
from sim.model import ViolencePreventionModel
from sim.outcomes import summary

SMALL = ["population=small", "years=3", "burn_in_years=2", "figures=false", "progress=false"]


def test_the_default_victim_costs_are_composed_from_mccollister_and_the_ncvs_mix():
    costs = load(SMALL).costs
    for key, value in accounts.victim_costs_from_sources().items():
        assert getattr(costs, key) == pytest.approx(value, abs=0.5), key
    # McCollister's totals: victim + justice + career, less the risk-of-homicide slice
    for offence, (tangible, intangible, justice, career, total) in \
            accounts.MCCOLLISTER_2010.items():
        assert total <= tangible + intangible + justice + career, offence
    murder = accounts.MCCOLLISTER_2010["murder"]
    assert murder[1] + murder[2] + murder[3] == murder[4]  # the VSL holds the tangible losses


def test_money_is_restated_with_the_price_index_and_a_missing_year_is_refused():
    assert accounts.restated(100.0, 2015, 2015) == 100.0
    # 2008 -> 2024: x 1.457 (CPI-U 215.303 -> 313.689)
    assert accounts.restated(1.0, 2008, 2024) == pytest.approx(1.45697, abs=1e-5)
    assert accounts.restated(accounts.restated(7.0, 2010, 2020), 2020, 2010) == \
        pytest.approx(7.0)
    with pytest.raises(ValueError, match=r"no price index for 1999: allowed \[2008, 2024\]"):
        accounts.restated(1.0, 1999, 2024)


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, more in (("baseline", []), ("cbt", ["scenario=cbt_youth"]),
                       ("flat", ["costs.discount_rate=0"]),
                       ("tangible", ["costs.intangible=false"])):
        model = ViolencePreventionModel(load([*SMALL, "seed=3", *more]))
        model.run()
        out[name] = (model, summary(model))
    return out


def test_a_runs_present_values_add_up_from_its_own_counts(runs):
    model, s = runs["flat"]  # undiscounted: present values are sums
    c, jus = model.config.costs, model.config.justice
    weeks = model.history[model.burn_in_weeks:].sum(axis=(2, 3))
    names = {n: i for i, n in enumerate(STAT_NAMES)}
    homicides = weeks[:, names["homicides"]].sum()
    violent = weeks[:, names["violent_offences"]].sum() - homicides
    other = weeks[:, names["other_offences"]].sum()
    k = accounts.PRICE_INDEX[2024] / accounts.PRICE_INDEX[2008]
    victims = k * (homicides * c.victim_cost_homicide + violent * c.victim_cost_violent
                   + other * c.victim_cost_other)
    assert s["pv_victims"] == pytest.approx(victims, rel=1e-9)
    prisoner_years = weeks[:, names["incarcerated"]].sum() / 52
    arrests = weeks[:, names["arrests"]].sum()
    supervision = weeks[:, names["supervised"]].sum() / 52
    prison = accounts.restated(jus.cost_per_prisoner_year, 2015, 2024)
    justice = (arrests * c.cost_per_arrest + supervision
               * accounts.restated(c.cost_per_supervision_year, 2008, 2024))
    assert s["pv_justice"] == pytest.approx(
        justice + prisoner_years * prison * jus.marginal_share_of_prison_cost, rel=1e-9)
    assert s["pv_justice_average_prison"] == pytest.approx(justice + prisoner_years * prison,
                                                           rel=1e-9)
    assert s["money"] == "USD of 2024, discounted at 0% a year"


def test_discounting_intangibles_and_program_spending(runs):
    flat, discounted = runs["flat"][1], runs["baseline"][1]
    # the same run (costs change no behaviour), its later years discounted
    assert discounted["violent_incidents_per_100k_per_year"] == \
        flat["violent_incidents_per_100k_per_year"]
    assert flat["pv_victims"] * 1.03 ** -3 < discounted["pv_victims"] < \
        flat["pv_victims"] * 1.03 ** -0.01
    tangible = runs["tangible"][1]
    assert tangible["pv_victims"] == tangible["pv_victims_tangible"] == \
        discounted["pv_victims_tangible"] < discounted["pv_victims"] / 5
    cbt = runs["cbt"][1]
    assert cbt["cost_programs"] > 0 and discounted["pv_programs"] == 0
    mean_factor = np.mean(1.03 ** -((np.arange(3 * 52) + 0.5) / 52))
    assert cbt["pv_programs"] == pytest.approx(
        cbt["cost_programs"] * accounts.restated(1.0, 2017, 2024) * mean_factor, rel=1e-9)


def _sweep(rows):
    return pd.DataFrame(rows, columns=["scenario", "seed", "pv_victims", "pv_justice",
                                       "pv_programs", "pv_police"]).assign(status="complete")


def test_a_scenario_is_accounted_against_the_baseline_of_its_own_seed():
    rows = []
    for seed in range(10):
        rows.append(("baseline", seed, 1000.0 + seed, 500.0, 0.0, 0.0))
        # seeds 0-7: 200 of harm averted for 100 spent and 10 of justice saved; 8-9: nothing
        averted = 200.0 if seed < 8 else 0.0
        rows.append(("program", seed, 1000.0 + seed - averted, 490.0, 100.0, 0.0))
    rows.append(("program", 99, 0.0, 0.0, 0.0, 0.0))  # no baseline of seed 99: not paired
    bc = accounts.benefit_cost(_sweep(rows), "program")
    assert bc["pairs"] == 10
    assert bc["victims"][0] == pytest.approx(160.0) and bc["taxpayers"][0] == pytest.approx(10)
    assert bc["costs"][0] == pytest.approx(100.0)
    assert bc["net_present_value"][0] == pytest.approx(70.0)
    assert bc["benefit_per_dollar"][0] == pytest.approx(1.7)
    share, lo, hi = bc["chance_benefits_exceed_costs"]
    assert share == 0.8 and lo == pytest.approx(0.490, abs=1e-3) and hi == pytest.approx(
        0.943, abs=1e-3)  # Wilson 95% for 8 of 10
    lo, hi = bc["benefit_per_dollar"][1:]
    assert lo < 1.7 < hi


def test_a_scenario_that_costs_nothing_more_has_no_benefit_per_dollar():
    rows = [("baseline", s, 10.0, 5.0, 0.0, 0.0) for s in range(4)]
    rows += [("free", s, 9.0, 5.0, 0.0, 0.0) for s in range(4)]
    bc = accounts.benefit_cost(_sweep(rows), "free")
    assert math.isnan(bc["benefit_per_dollar"][0])
    assert bc["chance_benefits_exceed_costs"][0] == 1.0
