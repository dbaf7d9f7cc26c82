"""Scenarios forked from one shared burn-in (issue 14, item 4): bit for bit the results of runs
from scratch; a snapshot is plain arrays, used only for the settings and code that made it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import burn_in
from sim.config import load
from sim.model import ViolencePreventionModel
from sim.outcomes import summary

BASE = ["population=small", "figures=false", "progress=false", "burn_in_years=3", "years=2",
        "seed=7"]
SCENARIOS = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "scenarios")
                   .glob("*.yaml"))


def settings(*more: str):
    return load([*BASE, *more])


def same_run(a: ViolencePreventionModel, b: ViolencePreventionModel) -> bool:
    spells = all(np.array_equal(x, y) for x, y in zip(a.spells, b.spells, strict=True))
    residents = all(np.array_equal(x, y)
                    for x, y in zip(a.residents, b.residents, strict=True))
    return (np.array_equal(a.history, b.history) and spells and residents
            and pd.Series(summary(a)).equals(pd.Series(summary(b))))


@pytest.fixture(scope="module")
def burned():
    model = ViolencePreventionModel(settings())
    model.run(weeks=model.burn_in_weeks)
    return model


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_from_the_shared_burn_in_is_the_run_from_scratch(burned, scenario):
    forked = ViolencePreventionModel(settings(f"scenario={scenario}"),
                                     snapshot=burned.snapshot())
    forked.run()
    scratch = ViolencePreventionModel(settings(f"scenario={scenario}"))
    scratch.run()
    assert same_run(forked, scratch)


def test_a_serial_burn_in_continues_on_the_parallel_kernel_with_the_same_results(burned):
    forked = ViolencePreventionModel(settings("scenario=comprehensive_plan", "threads=2"),
                                     snapshot=burned.snapshot())
    forked.run()
    scratch = ViolencePreventionModel(settings("scenario=comprehensive_plan"))
    scratch.run()
    assert forked.threads == 2 and same_run(forked, scratch)


@pytest.mark.parametrize("override, named", [
    ("seed=8", "seed"), ("behaviour.peer_contagion=0.2", "behaviour"),
    ("population=city", "population"), ("years=3", "years"),
    ("structure=criminogenic_prison", "behaviour, justice, structure"),
])
def test_a_burn_in_is_not_continued_with_other_settings(burned, override, named):
    forked = ViolencePreventionModel(settings(), snapshot=burned.snapshot())
    with pytest.raises(ValueError, match=f"the burn-in differs in {named}"):
        forked.continue_as(settings(override))


def test_a_burned_in_model_continued_as_another_scenario_is_the_run_from_scratch(burned):
    forked = ViolencePreventionModel(settings(), snapshot=burned.snapshot())
    forked.continue_as(settings("scenario=comprehensive_plan"))
    forked.run()
    scratch = ViolencePreventionModel(settings("scenario=comprehensive_plan"))
    scratch.run()
    assert same_run(forked, scratch)


def test_a_restored_model_has_mesas_clock_generators_and_collected_data(burned):
    forked = ViolencePreventionModel(settings(), snapshot=burned.snapshot())
    assert (forked.week, forked.steps, forked.time) == (burned.week, burned.steps, burned.time)
    assert forked.random.getstate() == burned.random.getstate()
    assert forked.rng.bit_generator.state == burned.rng.bit_generator.state
    assert (forked.datacollector.get_model_vars_dataframe()
            .equals(burned.datacollector.get_model_vars_dataframe()))
    forked.run(weeks=1)  # one Mesa step, one week, one row more
    assert (forked.week, forked.steps) == (burned.week + 1, burned.steps + 1)
    assert len(forked.datacollector.model_vars["homicides"]) == burned.week + 2


def test_a_model_whose_programs_started_is_neither_continued_nor_snapshotted():
    model = ViolencePreventionModel(settings("scenario=cbt_youth"))
    model.run(weeks=model.burn_in_weeks + 1)
    with pytest.raises(ValueError, match="past the burn-in"):
        model.continue_as(settings("scenario=baseline"))
    with pytest.raises(ValueError, match="past the burn-in"):
        model.snapshot()


@pytest.mark.parametrize("name, change, refusal", [
    ("residents.propensity", lambda a: a.astype(np.float64), "residents.propensity is float64"),
    ("history", lambda a: a[:-1], r"history is int32\[.*expected int32"),
    ("tallies", None, "no array 'tallies'"),
    ("format", lambda a: np.array(99), "format 99"),
])
def test_a_snapshot_that_does_not_fit_is_refused_naming_the_array(burned, name, change, refusal):
    arrays = burned.snapshot()
    if change is None:
        del arrays[name]
    else:
        arrays[name] = change(arrays[name])
    with pytest.raises(ValueError, match=refusal):
        ViolencePreventionModel(settings(), snapshot=arrays)


def test_the_store_shares_a_burn_in_only_between_runs_it_fits(tmp_path):
    first, shared = burn_in.burned_in(settings("scenario=cbt_youth"), tmp_path)
    assert not shared and first.week == first.burn_in_weeks
    again, shared = burn_in.burned_in(settings("scenario=hotspot_policing"), tmp_path)
    assert shared and again.config.scenario.name == "hotspot_policing"
    other, shared = burn_in.burned_in(settings("seed=9"), tmp_path)
    assert not shared  # another seed: its own burn-in
    assert len(list(tmp_path.glob(f"*{burn_in.SUFFIX}"))) == 2
    assert burn_in.key(settings("threads=2", "progress=true")) == burn_in.key(settings())


class Evil:
    """What a file holding pickled objects could run when read."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_damaged_or_foreign_snapshot_is_computed_again_and_never_run(tmp_path, capsys):
    mine = settings()
    path = tmp_path / f"{burn_in.key(mine)}{burn_in.SUFFIX}"
    path.write_bytes(b"not a snapshot")
    model, shared = burn_in.burned_in(mine, tmp_path)
    assert not shared and "not used" in capsys.readouterr().err
    assert burn_in.load(path, mine) is not None  # written again, by the run that computed it
    # objects in the file are not built: numpy refuses them
    marker = tmp_path / "ran"
    with open(path, "wb") as file:
        np.savez(file, key=np.array(burn_in.key(mine)), evil=np.array([Evil(marker)], object))
    model, shared = burn_in.burned_in(mine, tmp_path)
    assert not shared and not marker.exists()
    assert "allow_pickle=False" in capsys.readouterr().err
    # a sound snapshot of other settings under this key's name
    other = settings("seed=8")
    burn_in.burned_in(other, tmp_path)
    (tmp_path / f"{burn_in.key(other)}{burn_in.SUFFIX}").replace(path)
    model, shared = burn_in.burned_in(mine, tmp_path)
    assert not shared and "made with other settings" in capsys.readouterr().err
    assert model.config.seed == 7


def test_a_sweep_burns_in_once_per_seed_and_matches_single_runs(tmp_path):
    vpsim = str(Path(sys.executable).with_name("vpsim"))
    common = ["population=small", "years=1", "burn_in_years=2", "figures=false",
              "progress=false", "hydra/launcher=basic"]
    result = subprocess.run([vpsim, "-m", "scenario=baseline,cbt_youth", "seed=0,1",
                             "sweep_name=fork", *common], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [x for x in result.stdout.splitlines() if x.startswith("vpsim: ")]
    assert sum("(shared)" in x for x in lines) == 2  # cbt_youth reuses each seed's burn-in
    sweep = tmp_path / "multirun" / "fork"
    assert not (sweep / burn_in.FOLDER).exists()  # every job complete: removed
    df = pd.read_parquet(sweep / "sweep.parquet").set_index(["scenario", "seed"])
    for seed in (0, 1):
        single = ViolencePreventionModel(load([*common[:-1], "scenario=cbt_youth",
                                               f"seed={seed}"]))
        single.run()
        s = summary(single)
        assert df.loc[("cbt_youth", seed), "violent_incidents_per_100k_per_year"] == \
            s["violent_incidents_per_100k_per_year"]
        assert df.loc[("cbt_youth", seed), "rearrest_within_1_year"] == \
            s["rearrest_within_1_year"]
