"""The analysis adapters on `small` (issue 14, item 3): EMA Workbench and SALib drive vpsim
through the catalogue's plausible ranges and the experiment API, with the same outcomes as
direct runs; the examples in experiments/ run end to end."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from sim import api
from sim.config import ConfigError

pytest.importorskip("ema_workbench", reason="the analysis extra: pip install -e '.[analysis]'")
pytest.importorskip("SALib", reason="the analysis extra: pip install -e '.[analysis]'")

from sim.analysis import ema, salib  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"
SHORT = dict(population="small", years=2, burn_in_years=3)
KEYS = ["behaviour.peer_contagion", "justice.clearance_violent", "population.peer_ties"]


def test_ema_uncertainties_are_the_catalogue_plausible_ranges_under_identifier_names():
    model = ema.model(uncertainties=KEYS, seeds=2, **SHORT)
    ranges = api.plausible_ranges(KEYS, population="small")
    got = {u.name: u for u in model.uncertainties}
    assert list(got) == ["behaviour__peer_contagion", "justice__clearance_violent",
                         "population__peer_ties"]
    for key, (lo, hi) in ranges.items():
        u = got[ema.identifier(key)]
        assert (u.lower_bound, u.upper_bound) == (pytest.approx(lo), pytest.approx(hi))
    assert type(got["population__peer_ties"]).__name__ == "IntegerParameter"
    assert [r["seed"] for r in model.replications] == [0, 1]
    default = ema.model(**SHORT)  # every plausible range outside the programs by default
    assert len(default.uncertainties) == len(ema.uncertain_keys("small")) > 50


def test_an_ema_experiment_gives_the_mean_of_direct_runs_on_its_seeds():
    from ema_workbench import perform_experiments

    model = ema.model(uncertainties=KEYS, seeds=2, outcomes=["incarcerated_per_100k"],
                      **SHORT)
    experiments, outcomes = perform_experiments(model, scenarios=2)
    for i, row in experiments.iterrows():
        params = {k: row[ema.identifier(k)] for k in KEYS}
        params["population.peer_ties"] = int(params["population.peer_ties"])
        direct = [api.run_experiment(params, seed=s, **SHORT)["incarcerated_per_100k"]
                  for s in (0, 1)]
        assert outcomes["incarcerated_per_100k"][i] == np.mean(direct)


def test_ema_levers_are_program_sizes_and_bad_outcomes_are_refused():
    model = ema.model(uncertainties=KEYS[:1], scenario=["cbt_youth", "hotspot_policing"],
                      seeds=1, **SHORT)
    levers = {lv.name: lv for lv in model.levers}
    assert set(levers) == {"size__cbt_youth", "size__hotspot_policing"}
    assert levers["size__hotspot_policing"].upper_bound == 100  # % of communities
    with pytest.raises(ConfigError, match="violent_incidnets"):
        ema.model(uncertainties=KEYS[:1], outcomes=["violent_incidnets"], **SHORT)
    with pytest.raises(ConfigError, match="population.size: has no plausible range"):
        ema.model(uncertainties=["population.size"], **SHORT)


def test_salib_problem_is_bounded_by_the_plausible_ranges():
    problem = salib.problem(KEYS, groups=True)
    assert problem["names"] == KEYS and problem["num_vars"] == 3
    assert problem["bounds"] == [list(r) for r in api.plausible_ranges(KEYS).values()]
    assert problem["groups"] == ["behaviour", "justice", "population"]
    with pytest.raises(ConfigError, match="X has shape"):
        salib.evaluate(problem, np.zeros((2, 2)), "violent_incidents_per_100k_per_year")


def test_sobol_gives_no_share_to_a_parameter_that_changes_nothing():
    """The average cost of a prisoner-year prices prisons and changes no behaviour: with common
    random numbers its Sobol indices on violence are exactly 0, while the offending level takes
    most of the variance; on the incarceration cost it is the other way round."""
    from SALib.analyze import sobol
    from SALib.sample import sobol as sample

    problem = salib.problem(["behaviour.base_offending_per_year",
                             "justice.cost_per_prisoner_year"])
    X = sample.sample(problem, 8, calc_second_order=False, seed=3)
    Y = salib.evaluate(problem, X, ["violent_incidents_per_100k_per_year",
                                    "cost_incarceration"], **SHORT)
    assert Y.shape == (len(X), 2)
    violence = sobol.analyze(problem, Y[:, 0], calc_second_order=False, seed=3)
    assert violence["S1"][1] == 0 and violence["ST"][1] == 0
    assert violence["ST"][0] > 0.5
    cost = sobol.analyze(problem, Y[:, 1], calc_second_order=False, seed=3)
    assert cost["ST"][1] > cost["ST"][0]


def _example(name: str):
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(EXPERIMENTS))


def test_the_ema_example_prints_prim_boxes_and_feature_scores(capsys):
    example = _example("ema_example")
    assert example.main(["--experiments", "12", "--seeds", "1", "--years", "1",
                         "--burn-in-years", "3"]) == 0
    out = capsys.readouterr().out
    assert "== PRIM" in out and "coverage" in out and "density" in out
    assert "== Feature scoring" in out and "behaviour." in out


def test_the_sensitivity_example_writes_indices_and_a_figure(tmp_path, capsys):
    example = _example("sensitivity")
    assert example.main(["--keys", "behaviour.base_offending_per_year",
                         "justice.cost_per_prisoner_year", "--trajectories", "2",
                         "--seeds", "1", "--years", "1", "--burn-in-years", "3",
                         "--out", str(tmp_path)]) == 0
    import pandas as pd

    table = pd.read_csv(tmp_path / "indices.csv")
    assert table.parameter.iloc[0] == "behaviour.base_offending_per_year"  # ranked first
    assert table.set_index("parameter").mu_star["justice.cost_per_prisoner_year"] == 0
    assert (tmp_path / "indices.png").read_bytes()[:4] == b"\x89PNG"
    assert "morris indices" in capsys.readouterr().out
