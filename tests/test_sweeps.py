"""Sweeps: aggregation into sweep.parquet, paired intervals, failures, resuming, the report."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from sim import report, stats

VPSIM = str(Path(sys.executable).parent / "vpsim")
SMALL = ["population=small", "years=2", "burn_in_years=1", "figures=false", "progress=false"]


def _sweep(cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run([VPSIM, "-m", *SMALL, *overrides], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_paired_difference_matches_a_hand_computed_t_interval():
    df = pd.DataFrame({
        "scenario": ["baseline"] * 4 + ["program"] * 4,
        "seed": [0, 1, 2, 3] * 2,
        "status": ["complete"] * 8,
        "violence": [100.0, 120.0, 90.0, 110.0, 95.0, 111.0, 86.0, 100.0],
    })
    d = np.array([-5.0, -9.0, -4.0, -10.0])
    half = scipy_stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2.0
    m, lo, hi, n = stats.paired_difference(df, "violence", "program")
    assert n == 4
    assert m == pytest.approx(-7.0)
    assert (lo, hi) == pytest.approx((-7.0 - half, -7.0 + half))


def test_paired_difference_uses_only_seeds_both_scenarios_completed():
    df = pd.DataFrame({"scenario": ["baseline", "baseline", "program", "program"],
                       "seed": [0, 1, 0, 1], "status": ["complete", "complete", "complete",
                                                         "failed"],
                       "violence": [10.0, 20.0, 7.0, math.nan]})
    m, lo, hi, n = stats.paired_difference(df, "violence", "program")
    assert (m, n) == (-3.0, 1)
    assert math.isnan(lo) and math.isnan(hi)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("sweep")
    first = _sweep(cwd, "scenario=baseline,cbt_youth", "seed=0,1,2")
    assert first.returncode == 0, first.stderr
    return cwd, cwd / "multirun" / "sweep", first


def test_a_sweep_aggregates_one_complete_row_per_run(sweep):
    _, sweep_dir, _ = sweep
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    assert len(df) == 6
    assert set(df.status) == {"complete"}
    assert sorted(zip(df.scenario, df.seed)) == sorted(
        (s, k) for s in ("baseline", "cbt_youth") for k in (0, 1, 2))
    assert df.config_hash.nunique() == 6
    assert df.overrides.str.contains("seed=").all()


def test_the_report_holds_the_numbers_of_the_table(sweep):
    _, sweep_dir, _ = sweep
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    text = (sweep_dir / "report.md").read_text()
    key = "violent_incidents_per_100k_per_year"
    m, lo, hi = stats.mean_interval(df[df.scenario == "cbt_youth"][key].tolist())
    d, dlo, dhi, _ = stats.paired_difference(df, key, "cbt_youth")
    section = text.split("## Violent incidents per 100,000 a year")[1].split("##")[0]
    row = next(line for line in section.splitlines() if line.startswith("| cbt_youth |"))
    for number in (m, lo, hi, d, dlo, dhi):
        assert report._fmt(number) in row


def test_running_the_same_sweep_again_skips_every_completed_job(sweep):
    cwd, sweep_dir, _ = sweep
    before = {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("summary.json")}
    again = _sweep(cwd, "scenario=baseline,cbt_youth", "seed=0,1,2")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skipped") == 6
    assert {p: p.stat().st_mtime_ns for p in sweep_dir.rglob("summary.json")} == before


def test_a_failed_job_is_recorded_and_the_rest_still_report(tmp_path):
    result = _sweep(tmp_path, "sweep_name=mixed", "seed=0", "population.size=2000,500")
    assert result.returncode == 0, result.stderr
    df = pd.read_parquet(tmp_path / "multirun" / "mixed" / "sweep.parquet")
    assert sorted(df.status) == ["complete", "failed"]
    failed = df[df.status == "failed"].iloc[0]
    assert "population.size" in failed.error
    out = subprocess.run([str(Path(VPSIM).parent / "vpsim-report"),
                          str(tmp_path / "multirun" / "mixed")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "1 complete" in out.stdout and "1 failed" in out.stdout
    assert "population.size" in out.stdout
    assert "| failed |" in (tmp_path / "multirun" / "mixed" / "report.md").read_text()


def test_a_run_killed_before_its_summary_is_reported_incomplete(tmp_path):
    run = tmp_path / "sweep" / "seed=0"
    (run / ".hydra").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    done = tmp_path / "sweep" / "seed=1"
    done.mkdir()
    (done / "summary.json").write_text(json.dumps({"scenario": "baseline", "seed": 1,
                                                   "config_hash": "x"}))
    df = report.aggregate(tmp_path / "sweep")
    assert dict(zip(df.run_dir, df.status)) == {"seed=0": "incomplete", "seed=1": "complete"}


def test_cost_per_incident_averted_is_extra_cost_over_incidents_averted_paired_by_seed():
    df = pd.DataFrame({
        "scenario": ["baseline", "baseline", "program", "program"], "seed": [0, 1, 0, 1],
        "status": ["complete"] * 4, "residents": [100_000] * 4, "years": [10] * 4,
        "violent_incidents_per_100k_per_year": [2000.0, 2100.0, 1900.0, 1950.0],
        "cost_total": [1e8, 1.1e8, 1.5e8, 1.6e8],
    })
    # averted: (100 + 150) per 100k a year x 1e5 residents x 10 years / 1e5 = 2,500 incidents;
    # extra cost: 0.5e8 + 0.5e8 = 1e8 -> 40,000 USD per incident averted.
    point, lo, hi, averted = report.cost_per_averted(df, "program",
                                                     "violent_incidents_per_100k_per_year")
    assert averted == pytest.approx(2500.0)
    assert point == pytest.approx(40_000.0)
    assert lo <= point <= hi


def test_the_sweep_report_has_its_figures(sweep):
    _, sweep_dir, _ = sweep
    for name in ("weekly_violence.png", "forest_plot.png", "cost_effectiveness.png",
                 "by_sex_and_age.png", "by_community.png"):
        assert (sweep_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in (sweep_dir / "report.md").read_text()


def test_submitit_local_runs_a_two_job_sweep_end_to_end(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                        reason="hydra-submitit-launcher (the cluster extra) is not installed")
    result = _sweep(tmp_path, "hydra/launcher=submitit_local", "sweep_name=local", "seed=0,1")
    assert result.returncode == 0, result.stderr
    df = pd.read_parquet(tmp_path / "multirun" / "local" / "sweep.parquet")
    assert sorted(df.seed) == [0, 1]
    assert set(df.status) == {"complete"}
