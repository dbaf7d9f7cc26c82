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
    # Non-zero when any job failed, after the report (which lists the failure) is written.
    assert result.returncode == 1, result.stderr
    assert "1 of 2 jobs did not complete" in result.stderr
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
    from sim import results

    run = tmp_path / "sweep" / "seed=0"
    (run / ".hydra").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    done = tmp_path / "sweep" / "seed=1"
    done.mkdir()
    (done / "summary.json").write_text(json.dumps({"scenario": "baseline", "seed": 1,
                                                   "config_hash": "x"}))
    pd.DataFrame({"week": [0]}).to_parquet(done / "timeseries.parquet")
    killed = tmp_path / "sweep" / "seed=2"  # killed after summary.json, before complete.json
    killed.mkdir()
    (killed / "summary.json").write_text(json.dumps({"scenario": "baseline", "seed": 2}))
    results.write_complete(done, "x")
    df = report.aggregate(tmp_path / "sweep")
    assert dict(zip(df.run_dir, df.status)) == {"seed=0": "incomplete", "seed=1": "complete",
                                                "seed=2": "incomplete"}


def test_cost_per_incident_averted_is_extra_cost_over_incidents_averted_paired_by_seed():
    df = pd.DataFrame({
        "scenario": ["baseline", "baseline", "program", "program"], "seed": [0, 1, 0, 1],
        "status": ["complete"] * 4, "residents": [100_000] * 4, "years": [10] * 4,
        "violent_incidents_per_100k_per_year": [2000.0, 2100.0, 1900.0, 1950.0],
        "cost_total_marginal": [1e8, 1.1e8, 1.5e8, 1.6e8],
        "cost_total": [2e8, 2.1e8, 2.3e8, 2.4e8],
    })
    # averted: (100 + 150) per 100k a year x 1e5 residents x 10 years / 1e5 = 2,500 incidents;
    # extra cost: 0.5e8 + 0.5e8 = 1e8 -> 40,000 USD per incident averted (prisons at their
    # marginal cost, the default); 0.3e8 + 0.3e8 -> 24,000 at their average cost.
    point, lo, hi, averted = report.cost_per_averted(df, "program",
                                                     "violent_incidents_per_100k_per_year")
    assert averted == pytest.approx(2500.0)
    assert point == pytest.approx(40_000.0)
    assert lo <= point <= hi
    average = report.cost_per_averted(df, "program", "violent_incidents_per_100k_per_year",
                                      cost="cost_total")
    assert average[0] == pytest.approx(24_000.0)


def test_the_sweep_report_has_its_figures(sweep):
    _, sweep_dir, _ = sweep
    for name in ("weekly_violence.png", "forest_plot.png", "cost_effectiveness.png",
                 "net_present_value.png", "by_sex_and_age.png", "by_community.png"):
        assert (sweep_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in (sweep_dir / "report.md").read_text()


def test_the_report_has_a_benefit_cost_table_with_money_and_chances(sweep):
    _, sweep_dir, _ = sweep
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    text = (sweep_dir / "report.md").read_text()
    table = text.split("## Benefit-cost against baseline")[1].split("\n## ")[0]
    assert "USD of 2024, discounted at 3% a year" in table
    done = df[df.status == "complete"]
    for scenario in sorted(set(done.scenario) - {"baseline"}):
        bc = report.benefit_cost(done, scenario)
        (row,) = [line for line in table.splitlines() if line.startswith(f"| {scenario} |")]
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == str(bc["pairs"])
        assert cells[6].startswith(f"{bc['net_present_value'][0] / 1e6:,.1f}")
        assert cells[8].startswith(f"{bc['chance_benefits_exceed_costs'][0]:.0%}")
        # and each run's own account against its seed's baseline, in sweep.parquet
        runs = done[done.scenario == scenario].set_index("seed")
        assert runs["vs_baseline.net_present_value"].mean() == pytest.approx(
            bc["net_present_value"][0])
    assert (done[done.scenario == "baseline"]["vs_baseline.net_present_value"] == 0).all()


def test_submitit_local_runs_a_two_job_sweep_end_to_end(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                        reason="hydra-submitit-launcher (the cluster extra) is not installed")
    result = _sweep(tmp_path, "hydra/launcher=submitit_local", "sweep_name=local", "seed=0,1")
    assert result.returncode == 0, result.stderr
    df = pd.read_parquet(tmp_path / "multirun" / "local" / "sweep.parquet")
    assert sorted(df.seed) == [0, 1]
    assert set(df.status) == {"complete"}


# --- issue 10: nothing stale trusted, nothing refused too late, no report from two passes -------

def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    return subprocess.run([VPSIM, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


ONE_YEAR = ["population=small", "years=1", "burn_in_years=0", "figures=false", "progress=false",
            "hydra/launcher=basic"]  # jobs in the sweep's own process: no worker start-up


@pytest.fixture
def scenario_file():
    """Write scenarios/<unique>.yaml; removed after the test."""
    import uuid

    from sim.config import CONFIG_DIR

    made = []

    def write(text: str, name: str | None = None) -> str:
        name = name or f"zz_test_{uuid.uuid4().hex[:8]}"
        path = CONFIG_DIR / "scenario" / f"{name}.yaml"
        path.write_text(text)
        made.append(path)
        return name

    yield write
    for path in made:
        path.unlink(missing_ok=True)


REFUSED_SWEEPS = ["empty-sweep-name", "escaping-sweep-name", "empty-sweep-dir", "same-name",
                  "empty-scenario-file", "slash-in-a-value", "a-value-of-a-job"]


def _refused_sweep(case: str, scenario_file) -> tuple[list[str], str]:
    """A sweep's overrides and the key (or file) its one-line refusal must name."""
    if case == "empty-sweep-name":
        args, key = ["sweep_name=", "seed=0,1"], "sweep_name"
    elif case == "escaping-sweep-name":
        args, key = ["sweep_name=../../etc", "seed=0,1"], "sweep_name"
    elif case == "empty-sweep-dir":
        args, key = ["hydra.sweep.dir=", "seed=0,1"], "hydra.sweep.dir"
    elif case == "same-name":
        twin = scenario_file("name: baseline\nprograms: {}\n")
        args, key = [f"scenario=baseline,{twin}"], "both named 'baseline'"
    elif case == "empty-scenario-file":
        empty = scenario_file("")
        args, key = [f"scenario=baseline,{empty}"], f"{empty}.yaml"
    elif case == "slash-in-a-value":
        args, key = ["population.name=a/../../../../x", "seed=0,1"], "population.name"
    else:  # Hydra finds it when it composes each job, after making the sweep's folder
        args, key = ["seed=0,abc"], "seed"
    return args, key


def _assert_refused(code, stderr, key, tmp_path):
    assert code == 2, stderr[-3000:]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and key in lines[0], stderr[-3000:]
    assert lines[0].startswith("vpsim: config error: ")
    assert list(tmp_path.rglob("*")) == []  # not even multirun/


@pytest.mark.parametrize("case", REFUSED_SWEEPS)
def test_a_sweep_that_would_mislabel_or_escape_is_refused_before_any_job(
        in_process, capsys, tmp_path, scenario_file, case):
    args, key = _refused_sweep(case, scenario_file)
    code = in_process("-m", *ONE_YEAR, *args)
    _assert_refused(code, capsys.readouterr().err, key, tmp_path)


@pytest.mark.parametrize("case", ["same-name", "a-value-of-a-job"])
def test_the_vpsim_command_refuses_such_a_sweep_too(tmp_path, scenario_file, case):
    args, key = _refused_sweep(case, scenario_file)
    done = _cli(tmp_path, "-m", *ONE_YEAR, *args)
    _assert_refused(done.returncode, done.stderr, key, tmp_path)


def _value(run_dir: Path, key: str = "violent_incidents_per_100k_per_year") -> float:
    return json.loads((run_dir / "summary.json").read_text())[key]


def test_a_rerun_does_not_trust_a_summary_edited_by_hand(tmp_path):
    first = _cli(tmp_path, "-m", *ONE_YEAR, "sweep_name=trust", "seed=0,1")
    assert first.returncode == 0, first.stderr[-3000:]
    sweep_dir = tmp_path / "multirun" / "trust"
    edited, untouched = sorted(p.parent for p in sweep_dir.rglob("summary.json"))
    true_value = _value(edited)
    text = (edited / "summary.json").read_text()
    (edited / "summary.json").write_text(text.replace(f"{true_value}", "1.0", 1))
    assert _value(edited) == 1.0
    again = _cli(tmp_path, "-m", *ONE_YEAR, "sweep_name=trust", "seed=0,1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("skipped") == 1  # the untouched job only
    assert f"{edited}: summary.json does not match complete.json" in again.stderr
    assert _value(edited) == true_value  # run again: the model's number, not the edited one
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    assert set(df.status) == {"complete"}
    assert sorted(df.violent_incidents_per_100k_per_year) == sorted(
        [true_value, _value(untouched)])


def test_the_latest_attempt_decides_a_jobs_status(tmp_path, scenario_file):
    good = ("name: later_broken\nprograms:\n  cbt_youth:\n    kind: cbt_youth\n"
            "    capacity: 40\n    effect: 0.5\n")
    name = scenario_file(good)
    args = ["-m", *ONE_YEAR, "sweep_name=latest", f"scenario={name}", "seed=0"]
    assert _cli(tmp_path, *args).returncode == 0
    sweep_dir = tmp_path / "multirun" / "latest"
    (job,) = [p.parent for p in sweep_dir.rglob("summary.json")]
    old_summary = (job / "summary.json").read_text()
    scenario_file(good.replace("effect: 0.5", "effect: 50"), name)  # the file became invalid
    again = _cli(tmp_path, *args)
    assert again.returncode == 1, again.stderr[-3000:]
    assert "1 of 1 jobs did not complete" in again.stderr
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    assert list(df.status) == ["failed"]
    assert "scenario.programs.cbt_youth.effect = 50" in df.error.iloc[0]
    report_text = (sweep_dir / "report.md").read_text()
    assert "0 complete" in report_text and "| failed |" in report_text
    assert (job / "summary.json").read_text() == old_summary  # the old numbers are kept...
    assert not (job / "complete.json").exists()  # ...but no longer count as this job's result


@pytest.fixture
def damaged_sweep(sweep, tmp_path):
    """A copy of the module's sweep with one summary.json and one timeseries.parquet cut short."""
    import shutil

    _, sweep_dir, _ = sweep
    copy = tmp_path / "sweep"
    shutil.copytree(sweep_dir, copy)
    jobs = sorted(p.parent for p in copy.rglob("summary.json"))
    summary, timeseries = jobs[0] / "summary.json", jobs[3] / "timeseries.parquet"
    summary.write_text(summary.read_text()[:100])
    with open(timeseries, "r+b") as f:
        f.truncate(timeseries.stat().st_size // 2)
    return copy, summary, timeseries


def test_the_report_names_damaged_files_and_reports_the_rest(damaged_sweep):
    copy, summary, timeseries = damaged_sweep
    done = subprocess.run([str(Path(VPSIM).parent / "vpsim-report"), str(copy)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for damaged in (summary, timeseries):
        job = damaged.parent.name
        assert f"damaged: {job}: {damaged.name} does not match complete.json" in done.stdout
    df = pd.read_parquet(copy / "sweep.parquet")
    assert sorted(df.status) == ["complete"] * 4 + ["damaged"] * 2
    text = (copy / "report.md").read_text()
    assert "6 runs: 4 complete, 0 failed, 2 damaged, 0 incomplete." in text
    assert f"| {summary.parent.name} | damaged | summary.json does not match" in text
    section = text.split("## Violent incidents per 100,000 a year")[1].split("##")[0]
    assert sum(int(row.split("|")[2]) for row in section.splitlines()
               if row.startswith("| baseline") or row.startswith("| cbt_youth")) == 4


def test_a_report_pass_that_fails_leaves_the_previous_pass_whole(damaged_sweep, monkeypatch):
    import errno

    from sim import plots

    copy, _, _ = damaged_sweep
    report.write_report(copy)  # the first pass
    outputs = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()
               and p.name in report.OUTPUTS}
    assert {"report.md", "sweep.parquet", "weekly_violence.png"} <= set(outputs)
    (sorted(copy.rglob("complete.json"))[1]).unlink()  # the next pass would differ

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(plots, "by_community", disk_full)  # the last figure: after the table
    with pytest.raises(OSError, match="no space left on device writing"):
        report.write_report(copy)
    after = {p.name: p.read_bytes() for p in copy.iterdir() if p.is_file()
             and p.name in report.OUTPUTS}
    assert after == outputs  # every file of the first pass, and nothing of the second
    assert not [p for p in copy.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    report.write_report(copy)  # a pass that ends swaps every output
    df = pd.read_parquet(copy / "sweep.parquet")
    assert (df.status == "incomplete").sum() == 1
    assert "1 incomplete" in (copy / "report.md").read_text()


def test_the_report_says_whether_each_programs_effect_was_checked(sweep):
    _, sweep_dir, _ = sweep
    text = (sweep_dir / "report.md").read_text()
    section = text.split("## Is each program's effect checked against its evaluation?")[1] \
        .split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 1  # the baseline runs no program
    assert rows[0].startswith("| cbt_youth | cbt_youth | cbt_youth | checked: ")
    assert "Heller et al. 2017" in rows[0]


def test_a_program_changed_from_its_evaluated_values_is_not_called_checked():
    shipped = report._shipped_program("focused_deterrence")
    assert report.evidence_of("focused_deterrence", shipped).startswith("checked: ")
    stronger = {**shipped, "effect": shipped["effect"] / 2}
    text = report.evidence_of("focused_deterrence", stronger)
    assert text.startswith("not checked: ") and "effect" in text
    assert report.evidence_of("prison_rehabilitation", report._shipped_program(
        "prison_rehabilitation")).startswith("direction only: ")
    assert report.evidence_of("community_participation", report._shipped_program(
        "community_participation")).startswith("illustrative: ")


def test_the_report_in_spanish_has_spanish_words_and_numbers(sweep):
    from sim.i18n import number

    _, sweep_dir, _ = sweep
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    text = report.report_markdown(df, sweep_dir, lang="es")
    assert text.startswith("# Informe del barrido de vpsim")
    assert "## Beneficio-costo frente a la línea de base" in text
    for english in ("Mean over seeds", "Benefit-cost", "runs:", "net present value"):
        assert english not in text
    done = df[df.status == "complete"]
    bc = report.benefit_cost(done, "cbt_youth")
    table = text.split("## Beneficio-costo frente a la línea de base")[1].split("\n## ")[0]
    (row,) = [line for line in table.splitlines() if line.startswith("| cbt_youth |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6].startswith(number(bc["net_present_value"][0] / 1e6, "es", ",.1f"))
    m = done[done.scenario == "baseline"]["violent_incidents_per_100k_per_year"].mean()
    assert f"| baseline | 3 | {number(m, 'es', ',.0f')} |" in text


def test_a_sweep_of_places_compares_each_place_with_its_own_baseline(sweep):
    """Two places whose every outcome differs by a factor of 2: each place's differences are
    taken against its own baseline (so the second's are twice the first's, and the relative
    change the same), never across places."""
    _, sweep_dir, _ = sweep
    df = pd.read_parquet(sweep_dir / "sweep.parquet")
    a = df.assign(population="a")
    b = df.assign(population="b")
    numeric = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])
               and not c.startswith("drawn.")]
    b[numeric] = b[numeric] * 2
    both = report.against_baseline(pd.concat([a, b], ignore_index=True))
    text = report.report_markdown(both, sweep_dir)
    assert "## Places compared" in text and "\n## a\n" in text and "\n## b\n" in text
    assert "no difference is paired" not in text
    rows = {}
    for line in text.split("## Places compared")[1].split("\n## ")[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) > 2 and cells[1] == "cbt_youth":
            rows[cells[0]] = cells
    change_a, change_b = rows["a"][-2], rows["b"][-2]
    assert change_a == change_b and change_a.endswith("]")
    npv_a = float(rows["a"][-1].split()[0].replace(",", ""))
    npv_b = float(rows["b"][-1].split()[0].replace(",", ""))
    assert npv_b == pytest.approx(2 * npv_a, abs=0.1)
    vs = both[both.scenario == "cbt_youth"].groupby("population")[
        "vs_baseline.net_present_value"].mean()
    assert vs["b"] == pytest.approx(2 * vs["a"])
