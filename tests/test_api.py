"""The experiment API: a flat dict of parameters in, a flat dict of floats out, nothing left
behind (no Hydra state, no files, Mesa's logging as it was)."""

import logging
import math

import pytest

from sim.api import flatten, run_experiment, run_experiments, summary_of
from sim.config import ConfigError

SHORT = dict(population="small", years=2, burn_in_years=1)


@pytest.fixture(scope="module")
def outcomes():
    return run_experiment({}, scenario="cbt_youth", seed=4, **SHORT)


def test_outcomes_are_floats_under_dotted_keys_and_nan_where_undefined(outcomes):
    assert outcomes and all(type(v) is float for v in outcomes.values())
    assert outcomes["violent_incidents_per_100k_per_year"] > 0
    assert outcomes["programs.cbt_youth.participants"] > 0  # nested entries, flattened
    # a 2-year run cannot follow releases for 3 years: undefined, as nan (never None)
    assert math.isnan(outcomes["rearrest_within_3_years"])


def test_parameters_reach_the_run_and_the_same_ones_give_the_same_outcomes(outcomes):
    again = run_experiment({}, scenario="cbt_youth", seed=4, **SHORT)
    assert again.keys() == outcomes.keys()
    assert all(math.isnan(v) and math.isnan(again[k]) or v == again[k]
               for k, v in outcomes.items())
    none = run_experiment({"scenario.programs.cbt_youth.capacity": 0}, scenario="cbt_youth",
                          seed=4, **SHORT)
    assert none["programs.cbt_youth.participants"] == 0


@pytest.mark.parametrize("params, names", [
    ({"behaviour.peer_contagoin": 0.2}, "behaviour.peer_contagoin"),
    ({"behaviour.peer_contagion": 99.0}, "behaviour.peer_contagion = 99.0 is out of range"),
    ({"bad=key": 1}, "parameter 'bad=key'"),
])
def test_bad_parameters_are_refused_with_the_key_named(params, names):
    with pytest.raises(ConfigError, match=names.replace("(", r"\(").replace(".", r"\.")):
        run_experiment(params, **SHORT)


def test_a_run_leaves_no_hydra_state_and_mesa_logging_as_it_was(caplog):
    from hydra.core.global_hydra import GlobalHydra

    mesa_log = logging.getLogger("MESA")  # Mesa's loggers are MESA.mesa.*

    def chatter() -> int:
        return len([r for r in caplog.records if r.name.startswith("MESA")
                    and r.levelno < logging.WARNING])

    mesa_log.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="MESA"):
            summary_of(["population=small", "years=1", "burn_in_years=0"])
            assert chatter() > 52  # without the API: a line a week at least
            caplog.clear()
            run_experiment({}, seed=1, **SHORT)
            assert chatter() == 0
        assert mesa_log.level == logging.DEBUG
    finally:
        mesa_log.setLevel(logging.NOTSET)
    assert not GlobalHydra.instance().is_initialized()


def test_flatten_keeps_numbers_and_turns_none_into_nan():
    flat = flatten({"a": 1, "b": {"c": None, "d": True, "e": "text"}, "f": 2.5})
    assert flat["a"] == 1.0 and flat["f"] == 2.5 and flat["b.d"] == 1.0
    assert math.isnan(flat["b.c"]) and "b.e" not in flat


def test_a_batch_gives_each_experiments_own_outcomes_as_single_calls_do():
    experiments = [{}, {"behaviour.peer_contagion": 0.2, "seed": 5},
                   {"scenario.programs.cbt_youth.effect": 1.0}]
    batch = run_experiments(experiments, scenario="cbt_youth", seed=4, **SHORT)
    single = [run_experiment(p, scenario="cbt_youth", seed=4, **SHORT) for p in experiments]
    for b, s in zip(batch, single, strict=True):
        assert b.keys() == s.keys()
        assert all(math.isnan(v) and math.isnan(s[k]) or v == s[k] for k, v in b.items())
    assert batch[0] != batch[1]  # the parameters reached the runs
    # the batch merges parameters into one composed config: the same as Hydra composing each
    hydra = flatten(summary_of(["population=small", "years=2", "burn_in_years=1",
                                "scenario=cbt_youth", "seed=5", "behaviour.peer_contagion=0.2"]))
    assert all(math.isnan(v) and math.isnan(batch[1][k]) or v == batch[1][k]
               for k, v in hydra.items())


@pytest.mark.parametrize("params, names", [
    ({"behaviour.peer_contagoin": 0.2}, "peer_contagoin"),
    ({"behaviour.peer_contagion": 99.0}, "behaviour.peer_contagion = 99.0 is out of range"),
    ({"behaviour.peer_contagion": "lots"}, "peer_contagion"),
])
def test_a_batch_refuses_bad_parameters_with_the_key_named(params, names):
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        run_experiments([{}, params], **SHORT)


def test_a_program_size_given_as_a_lever_means_the_same_on_every_profile():
    from sim.api import _sized
    from sim.config import load

    for profile, residents in (("small", 10_000), ("city", 100_000)):
        cfg = load([f"population={profile}", "scenario=reentry_employment"])
        sized = _sized(cfg, {"size.reentry_employment": 30})  # places per 10,000 residents
        assert sized.scenario.programs["reentry_employment"].capacity == 30 * residents // 10_000
    cfg = load(["population=small", "scenario=violence_interruption"])
    sites = _sized(cfg, {"size.violence_interruption": 25})  # % of communities
    assert sites.scenario.programs["violence_interruption"].targeting \
        .most_violent_communities == 4  # of 16


def test_more_places_as_a_lever_enrol_more_people():
    few, many = run_experiments([{"size.cbt_youth": 5}, {"size.cbt_youth": 60}],
                                scenario="cbt_youth", seed=2, **SHORT)
    assert few["programs.cbt_youth.participants"] < many["programs.cbt_youth.participants"]


@pytest.mark.parametrize("params, names", [
    ({"size.cbt_yout": 10}, "size.cbt_yout: the scenario 'cbt_youth' has no program"),
    ({"size.cbt_youth": 0}, "size.cbt_youth: cbt_youth_size = 0 is out of range"),
    ({"size.cbt_youth": "many"}, "size.cbt_youth = 'many' is not a number"),
])
def test_bad_levers_are_refused_with_the_key_named(params, names):
    with pytest.raises(ConfigError, match=names.replace(".", r"\.")):
        run_experiment(params, scenario="cbt_youth", **SHORT)
