"""Sweep aggregation and the comparison report planners read.

`vpsim-report SWEEP_DIR` (also run at the end of every multirun by `ReportCallback`) reads every
run directory under SWEEP_DIR into `sweep.parquet` (one row per run: scenario, seed, overrides,
config hash, status, every summary number) and writes `report.md`: for each outcome, each
scenario's mean with a 95% interval, and its paired difference from `baseline` over the seeds
both ran (common random numbers) with a 95% t-interval.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd
import yaml

from . import plots
from .io import write_parquet, write_text
from .results import FAILURE, SUMMARY
from .stats import cost_per_averted, mean_interval, paired_difference

REPORT_OUTCOMES = (
    ("violent_incidents_per_100k_per_year", "Violent incidents per 100,000 a year"),
    ("homicides_per_100k_per_year", "Homicides per 100,000 a year"),
    ("share_victimised_per_year", "Share of residents victimised a year"),
    ("arrests_per_100k_per_year", "Arrests per 100,000 a year"),
    ("incarcerated_per_100k", "Incarcerated per 100,000"),
    ("rearrest_within_3_years", "Re-arrest within 3 years of release"),
    ("community_violence_p90_p10_ratio", "Spread of violence across communities (p90/p10)"),
    ("cost_programs_per_year", "Program cost a year (USD)"),
    ("cost_total", "Total cost, programs + incarceration (USD)"),
)


def _flatten(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value)
    else:
        out[prefix] = value


def _overrides(run_dir: Path) -> str:
    path = run_dir / ".hydra" / "overrides.yaml"
    if not path.exists():
        return ""
    return ",".join(yaml.safe_load(path.read_text()) or [])


def aggregate(sweep_dir: Path) -> pd.DataFrame:
    """One row per run directory under `sweep_dir` (complete, failed, or incomplete)."""
    rows = []
    for run_dir in sorted(p for p in Path(sweep_dir).rglob("*") if p.is_dir()
                          and ((p / ".hydra").is_dir() or (p / SUMMARY).exists()
                               or (p / FAILURE).exists())):
        row = {"run_dir": str(run_dir.relative_to(sweep_dir)), "overrides": _overrides(run_dir)}
        if (run_dir / SUMMARY).exists():
            summary = json.loads((run_dir / SUMMARY).read_text())
            row["status"] = "complete"
            row["error"] = None
            _flatten("", summary, row)
        elif (run_dir / FAILURE).exists():
            failure = json.loads((run_dir / FAILURE).read_text())
            row.update(status="failed", error=failure.get("error"),
                       config_hash=failure.get("config_hash"))
        else:
            row.update(status="incomplete", error="no summary.json: killed or still running")
        config = run_dir / ".hydra" / "config.yaml"
        if "scenario" not in row and config.exists():
            resolved = yaml.safe_load(config.read_text()) or {}
            row["scenario"] = (resolved.get("scenario") or {}).get("name")
            row["seed"] = resolved.get("seed")
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def report_markdown(df: pd.DataFrame, sweep_dir: Path) -> str:
    done = df[df.status == "complete"]
    failed = df[df.status != "complete"]
    lines = [f"# vpsim sweep report: `{sweep_dir}`", "",
             f"{len(df)} runs: {len(done)} complete, {int((df.status == 'failed').sum())} "
             f"failed, {int((df.status == 'incomplete').sum())} incomplete.", ""]
    if len(failed):
        lines += ["## Runs that did not complete", "", "| run | status | error |", "|---|---|---|"]
        lines += [f"| {r.run_dir} | {r.status} | {r.error} |" for r in failed.itertuples()]
        lines.append("")
    scenarios = sorted(done.scenario.dropna().unique(), key=lambda s: (s != "baseline", s))
    has_baseline = "baseline" in scenarios
    for outcome, title in REPORT_OUTCOMES:
        if outcome not in done:
            continue
        lines += [f"## {title}", "", "Mean over seeds with a 95% interval"
                  + ("; difference from baseline paired by seed (common random numbers)."
                     if has_baseline else "."), "",
                  "| scenario | runs | mean | 95% interval | vs baseline | 95% interval |",
                  "|---|---|---|---|---|---|"]
        for scenario in scenarios:
            values = done[done.scenario == scenario][outcome]
            m, lo, hi = mean_interval(values.tolist())
            if has_baseline and scenario != "baseline":
                d, dlo, dhi, _ = paired_difference(done, outcome, scenario)
                diff = (_fmt(d), f"[{_fmt(dlo)}, {_fmt(dhi)}]")
            else:
                diff = ("", "")
            lines.append(f"| {scenario} | {len(values)} | {_fmt(m)} | [{_fmt(lo)}, {_fmt(hi)}] "
                         f"| {diff[0]} | {diff[1]} |")
        lines.append("")
    if has_baseline and "cost_total" in done:
        lines += ["## Cost per violent incident and per homicide averted", "",
                  "Extra cost (programs + incarceration) against baseline, paired by seed, per "
                  "event averted; 95% bootstrap interval over seeds. n/a: nothing averted "
                  "(the scenario costs more and does no better).", "",
                  "| scenario | incidents averted | USD per incident averted | 95% interval "
                  "| homicides averted | USD per homicide averted | 95% interval |",
                  "|---|---|---|---|---|---|---|"]
        for scenario in scenarios:
            if scenario == "baseline":
                continue
            v, vlo, vhi, vn = cost_per_averted(done, scenario,
                                               "violent_incidents_per_100k_per_year")
            h, hlo, hhi, hn = cost_per_averted(done, scenario, "homicides_per_100k_per_year")
            lines.append(f"| {scenario} | {_fmt(vn)} | {_fmt(v)} | [{_fmt(vlo)}, {_fmt(vhi)}] "
                         f"| {_fmt(hn)} | {_fmt(h)} | [{_fmt(hlo)}, {_fmt(hhi)}] |")
        lines.append("")
    figures = [f for f in ("weekly_violence.png", "forest_plot.png", "cost_effectiveness.png",
                           "by_sex_and_age.png", "by_community.png")
               if (sweep_dir / f).exists()]
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def write_report(sweep_dir: Path) -> tuple[Path, Path]:
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep directory")
    df = aggregate(sweep_dir)
    if df.empty:
        raise ValueError(f"{sweep_dir}: no run directory found under it")
    table = sweep_dir / "sweep.parquet"
    write_parquet(table, df)
    done = df[df.status == "complete"]
    if "baseline" in set(done.get("scenario", [])) and done.scenario.nunique() > 1:
        plots.forest_plot(done, sweep_dir / "forest_plot.png")
        plots.cost_effectiveness_plane(done, sweep_dir / "cost_effectiveness.png")
    if len(done):
        plots.weekly_by_scenario(done, sweep_dir, sweep_dir / "weekly_violence.png")
        plots.by_sex_and_age(done, sweep_dir / "by_sex_and_age.png")
        plots.by_community(done, sweep_dir / "by_community.png")
    report = sweep_dir / "report.md"
    write_text(report, report_markdown(df, sweep_dir))
    return table, report


def comparison_config(scenario: str, population: str, seed: int, overrides=()):
    """A scenario file's config on `population`: its programs, sized for the reference profile
    (`catalogue.REFERENCE_PROFILE`), resized (places with residents, covered communities with
    communities)."""
    from .catalogue import REFERENCE_PROFILE, resized_for
    from .config import load, validate

    reference = load([f"population={REFERENCE_PROFILE}"]).population
    config = load([f"population={population}", f"scenario={scenario}", f"seed={seed}",
                   "progress=false", *overrides])
    config.scenario.programs = {key: resized_for(p, config.population, reference)
                                for key, p in config.scenario.programs.items()}
    return validate(config)


def run_comparison(scenarios, replicates: int, population: str = "small", seed: int = 0,
                   overrides=(), on_run=None) -> pd.DataFrame:
    """Run each scenario in this process with seeds seed .. seed + replicates - 1 (paired
    across scenarios: common random numbers); one row per run, as `aggregate` makes from a
    sweep (for the app's compare panel; a sweep is the way for anything larger)."""
    from .model import ViolencePreventionModel
    from .outcomes import summary

    runs = [(name, seed + k) for name in scenarios for k in range(replicates)]
    rows = []
    for done, (name, run_seed) in enumerate(runs):
        model = ViolencePreventionModel(comparison_config(name, population, run_seed,
                                                          overrides))
        model.run()
        row = pd.json_normalize(summary(model)).iloc[0].to_dict()
        row.update(run_dir=f"{name} seed {run_seed}", status="complete", error=None)
        rows.append(row)
        if on_run is not None:
            on_run(done + 1, len(runs))
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vpsim-report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_dir", type=Path, help="a multirun folder, e.g. multirun/sweep")
    args = parser.parse_args(argv)
    try:
        table, report = write_report(args.sweep_dir)
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"vpsim-report: {error}")
    df = pd.read_parquet(table)
    counts = df.status.value_counts().to_dict()
    print(f"vpsim-report: {len(df)} runs ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    for r in df[df.status == "failed"].itertuples():
        print(f"  failed: {r.run_dir}: {r.error}")
    print(f"table: {table}\nreport: {report}")
