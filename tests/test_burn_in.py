"""Scenarios forked from one shared burn-in (issue 14, item 4): bit for bit the results of runs
from scratch; a snapshot is used only for the settings and code that made it, and read back
only as the model's own objects."""

from __future__ import annotations

import os
import pickle
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
    return pickle.dumps(model)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_from_the_shared_burn_in_is_the_run_from_scratch(burned, scenario):
    forked = pickle.loads(burned)
    forked.continue_as(settings(f"scenario={scenario}"))
    forked.run()
    scratch = ViolencePreventionModel(settings(f"scenario={scenario}"))
    scratch.run()
    assert same_run(forked, scratch)


def test_a_serial_burn_in_continues_on_the_parallel_kernel_with_the_same_results(burned):
    forked = pickle.loads(burned)
    forked.continue_as(settings("scenario=comprehensive_plan", "threads=2"))
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
    forked = pickle.loads(burned)
    with pytest.raises(ValueError, match=f"the burn-in differs in {named}"):
        forked.continue_as(settings(override))


def test_a_model_whose_programs_started_is_not_continued_as_another_scenario():
    model = ViolencePreventionModel(settings("scenario=cbt_youth"))
    model.run(weeks=model.burn_in_weeks + 1)
    with pytest.raises(ValueError, match="past the burn-in"):
        model.continue_as(settings("scenario=baseline"))


def test_the_store_shares_a_burn_in_only_between_runs_it_fits(tmp_path):
    first, shared = burn_in.burned_in(settings("scenario=cbt_youth"), tmp_path)
    assert not shared and first.week == first.burn_in_weeks
    again, shared = burn_in.burned_in(settings("scenario=hotspot_policing"), tmp_path)
    assert shared and again.config.scenario.name == "hotspot_policing"
    other, shared = burn_in.burned_in(settings("seed=9"), tmp_path)
    assert not shared  # another seed: its own burn-in
    assert len(list(tmp_path.glob(f"*{burn_in.SUFFIX}"))) == 2
    assert burn_in.key(settings("threads=2", "progress=true")) == burn_in.key(settings())


def test_a_damaged_or_foreign_snapshot_is_computed_again_and_never_run(tmp_path, capsys):
    path = tmp_path / f"{burn_in.key(settings())}{burn_in.SUFFIX}"
    path.write_bytes(b"not a pickle")
    model, shared = burn_in.burned_in(settings(), tmp_path)
    assert not shared and "not used" in capsys.readouterr().err
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps(Evil()))
    model, shared = burn_in.burned_in(settings(), tmp_path)
    assert not shared and not marker.exists()
    assert "posix.system refused" in capsys.readouterr().err
    assert burn_in.load(path) is not None  # written again, by the run that computed it


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
