"""Sweep aggregation and the comparison report planners read.

`vpsim-report SWEEP_DIR` (also run at the end of every multirun by `sim.cli.ReportCallback`)
reads every run directory under SWEEP_DIR into `sweep.parquet` (one row per run: scenario, seed,
overrides, config hash, status, every summary number) and writes `report.md`: for each outcome, each
scenario's mean with a 95% interval, and its paired difference from `baseline` over the seeds
both ran (common random numbers) with a 95% t-interval.

Only complete runs whose files still match their `complete.json` are reported; a failed,
incomplete or damaged run (its `summary.json` or `timeseries.parquet` edited, truncated or
missing) is listed by name with the reason, and the others are reported. Every output of a
pass is written to a staging folder first, then the previous pass's outputs are removed
(`report.md` first) and the new ones moved in (`report.md` last): the folder never holds report
files of two passes.

Exit codes: 0 report written (it lists any run that did not complete); 1 no report (a full disk);
2 bad arguments (not a sweep folder, or one with no run in it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

from . import plots
from .accounts import against, benefit_cost
from .catalogue import CHECKED, DIRECTION, EVIDENCE
from .config_files import CONFIG_DIR
from .io import (
    DiskFullError,
    atomic_path,
    is_disk_full,
    remove_stale_temporary_files,
    write_parquet,
)
from .results import COMPLETE, FAILURE, SUMMARY, run_status
from .stats import cost_per_averted, mean_interval, paired_difference

TABLE = "sweep.parquet"
REPORT = "report.md"
FIGURES = ("weekly_violence.png", "forest_plot.png", "cost_effectiveness.png",
           "net_present_value.png",
           "by_sex_and_age.png", "by_community.png")
OUTPUTS = (REPORT, TABLE, *FIGURES)
STAGING_PREFIX = ".report-"

REPORT_OUTCOMES = (
    ("violent_incidents_per_100k_per_year", "Violent incidents per 100,000 a year"),
    ("homicides_per_100k_per_year", "Homicides per 100,000 a year"),
    ("share_victimised_per_year", "Share of residents victimised a year"),
    ("arrests_per_100k_per_year", "Arrests per 100,000 a year"),
    ("incarcerated_per_100k", "Incarcerated per 100,000"),
    ("rearrest_within_3_years", "Re-arrest within 3 years of release"),
    ("community_violence_p90_p10_ratio", "Spread of violence across communities (p90/p10)"),
    ("cost_programs_per_year", "Program cost a year (USD, {cost_money})"),
    ("cost_total_marginal",
     "Total cost, programs + police + prisons at their marginal cost (USD, {cost_money})"),
    ("cost_total", "Total cost, programs + police + prisons at their average cost "
                   "(USD, {cost_money})"),
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
    try:
        overrides = yaml.safe_load(path.read_text()) if path.exists() else []
        return ",".join(str(o) for o in overrides or [])
    except (OSError, yaml.YAMLError, TypeError):
        return ""


def _run_dirs(sweep_dir: Path) -> list[Path]:
    """Folders under `sweep_dir` that a job wrote (hidden ones, such as staging, left out)."""
    marks = (SUMMARY, FAILURE, COMPLETE)
    found = []
    for p in [sweep_dir, *sorted(sweep_dir.rglob("*"))]:
        if p != sweep_dir and any(part.startswith(".") for part in
                                  p.relative_to(sweep_dir).parts):
            continue
        if p.is_dir() and ((p / ".hydra").is_dir() or any((p / m).exists() for m in marks)):
            found.append(p)
    return found


def aggregate(sweep_dir: Path) -> pd.DataFrame:
    """One row per run directory under `sweep_dir`: complete, failed, damaged or incomplete."""
    sweep_dir = Path(sweep_dir)
    rows = []
    for run_dir in _run_dirs(sweep_dir):
        row = {"run_dir": str(run_dir.relative_to(sweep_dir)), "overrides": _overrides(run_dir)}
        status, why = run_status(run_dir)
        summary = None
        if status == "complete":
            try:
                summary = json.loads((run_dir / SUMMARY).read_text())
                if not isinstance(summary, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as error:
                status, why = "damaged", f"{SUMMARY} is unreadable ({error})"
        if status == "complete":
            row["status"] = "complete"
            row["error"] = None
            _flatten("", summary, row)
            row["status"], row["run_dir"] = "complete", str(run_dir.relative_to(sweep_dir))
        else:
            row.update(status=status, error=why)
            if status == "failed":
                try:
                    row["config_hash"] = json.loads((run_dir / FAILURE).read_text()).get(
                        "config_hash")
                except (OSError, ValueError, AttributeError):
                    pass
        config = run_dir / ".hydra" / "config.yaml"
        if "scenario" not in row and config.exists():
            try:
                resolved = yaml.safe_load(config.read_text()) or {}
                row["scenario"] = (resolved.get("scenario") or {}).get("name")
                row["seed"] = resolved.get("seed")
            except (OSError, yaml.YAMLError, AttributeError):
                pass
        rows.append(row)
    return against_baseline(pd.DataFrame(rows))


def against_baseline(df: pd.DataFrame) -> pd.DataFrame:
    """Each complete run's benefit-cost account against the complete baseline run of its seed
    (`vs_baseline.<taxpayers|victims|benefits|costs|net_present_value>`), where there is exactly
    one such baseline; nan elsewhere."""
    needed = {"status", "scenario", "seed", "pv_victims", "pv_justice", "pv_programs",
              "pv_police"}
    if not needed <= set(df.columns) or df.empty:
        return df
    done = df[df.status == "complete"]
    base = done[done.scenario == "baseline"]
    base = base[~base.seed.duplicated(keep=False)].set_index("seed")
    mine = done[done.seed.isin(base.index)]
    paired = pd.DataFrame(against(mine, base.loc[mine.seed].set_index(mine.index)),
                          index=mine.index)
    for column in paired:
        df[f"vs_baseline.{column}"] = paired[column].reindex(df.index)
    return df


def repeated_seeds(done: pd.DataFrame) -> bool:
    """More than one complete run of a scenario with the same seed (the sweep varies more)."""
    if done.empty or "seed" not in done or "scenario" not in done:
        return False
    return bool(done.duplicated(["scenario", "seed"]).any())


# The keys of a program that set its effect: a run whose program differs from its kind's
# scenario file in any of them is not the program that was checked. (Sizes may differ: the
# evaluation runs the file's program sized for the profile.)
EFFECT_KEYS = ("effect", "effect_female", "effect_by_age_band", "half_life_weeks",
               "clearance_multiplier", "spillover", "mediation", "priority", "duration_weeks",
               "uptake", "completion", "outreach_workers_per_site", "caseload")


def _shipped_program(kind: str) -> dict | None:
    try:
        shipped = yaml.safe_load((CONFIG_DIR / "scenario" / f"{kind}.yaml").read_text())
        return shipped["programs"][kind]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None


def _range(low, high) -> str:
    if low is None:
        return f"below {high:+.0%}"
    return f"{low:+.0%} to {high:+.0%}" if abs(low) < 1 else f"{low:+.2f} to {high:+.2f}"


def evidence_of(kind: str, program: dict) -> str:
    """Whether `program` (a run's, as resolved) is the one whose effect was checked against its
    evaluation, in words."""
    e = EVIDENCE.get(kind)
    if e is None:
        return "unknown kind"
    if e.status not in (CHECKED, DIRECTION):
        return f"illustrative: no published effect to check ({e.source})"
    shipped = _shipped_program(kind)
    if shipped is None:
        return f"not checked: scenarios/{kind}.yaml has no program {kind}"
    changed = [f"{key} {program.get(key)!r} (checked: {shipped[key]!r})" for key in EFFECT_KEYS
               if key in shipped and program.get(key) != shipped[key]]
    if changed:
        return "not checked: changed from the evaluated program: " + ", ".join(changed)
    what = ("checked: its virtual evaluation is within the published "
            if e.status == CHECKED else "direction only: its virtual evaluation is below zero; "
            "published ")
    return (f"{what}{_range(e.low, e.high)} ({e.published}; {e.source}); vpsim-evaluate "
            f"{kind}, configs/CALIBRATION.md")


def program_evidence(sweep_dir: Path, done: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """(scenario, program, kind, evidence) for each program of each scenario, read from the
    first complete run of the scenario (its resolved config)."""
    rows = []
    if "scenario" not in done:
        return rows
    for scenario, runs in done.groupby("scenario"):
        config = Path(sweep_dir) / runs.run_dir.iloc[0] / ".hydra" / "config.yaml"
        try:
            resolved = yaml.safe_load(config.read_text()) or {}
            programs = (resolved.get("scenario") or {}).get("programs") or {}
        except (OSError, yaml.YAMLError, AttributeError):
            continue
        for name, program in sorted(programs.items()):
            kind = (program or {}).get("kind", "")
            rows.append((str(scenario), name, kind, evidence_of(kind, program or {})))
    return rows


def interval_note(done: pd.DataFrame) -> str:
    """Which kind of interval the report shows: what its replicates differ by."""
    labels = (sorted(done["uncertainty"].dropna().unique()) if "uncertainty" in done else [])
    labels = labels or ["chance"]
    if len(labels) > 1:
        return ("**Intervals** mix runs that drew different things (" + "; ".join(
            f"`{x}`" for x in labels) + "): read each scenario's with care.")
    if labels[0] == "chance":
        return ("**Intervals** cover chance only: replicates differ by seed, every parameter "
                "at its default and one structure. Parameter and structural uncertainty: "
                "`uncertainty.parameters=true uncertainty.structure=true`.")
    return (f"**Intervals** cover {labels[0]}: each replicate (seed) drew these, the same for "
            "every scenario of that seed, so differences stay paired.")


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def report_markdown(df: pd.DataFrame, sweep_dir: Path, figures_dir: Path | None = None,
                    notes: list[str] = ()) -> str:
    done = df[df.status == "complete"]
    failed = df[df.status != "complete"]
    counts = ", ".join(f"{int((df.status == s).sum())} {s}" for s in
                       ("failed", "damaged", "incomplete") if s != "damaged"
                       or (df.status == s).any())
    lines = [f"# vpsim sweep report: `{sweep_dir}`", "",
             f"{len(df)} runs: {len(done)} complete, {counts}.", ""]
    if len(failed):
        lines += ["## Runs that did not complete", "",
                  "Not used below. failed: the latest attempt failed; damaged: its files no "
                  "longer match the `complete.json` written with them; incomplete: killed, "
                  "still running, or written by an older vpsim. Run the sweep again to redo "
                  "them.", "", "| run | status | why |", "|---|---|---|"]
        lines += [f"| {_cell(r.run_dir)} | {r.status} | {_cell(r.error)} |"
                  for r in failed.itertuples()]
        lines.append("")
    scenarios = sorted(done.scenario.dropna().unique(), key=lambda s: (s != "baseline", s)) \
        if "scenario" in done else []
    repeated = repeated_seeds(done)
    if repeated:
        lines += ["Some scenario has more than one complete run with the same seed: the sweep "
                  "varies more than scenario and seed. Means are over all of a scenario's "
                  "runs; no difference is paired by seed.", ""]
    lines += [f"{note}" for note in notes] + ([""] if notes else [])
    lines += [interval_note(done), ""]
    evidence = program_evidence(sweep_dir, done)
    if evidence:
        lines += ["## Is each program's effect checked against its evaluation?", "",
                  "Checked: the program, as run here, is the one whose study design was run "
                  "inside the model (a lottery, matched or randomised communities) and gave "
                  "the published effect on the study's own outcome (`city`, seeds 0-4, a slow "
                  "test). Direction only: only the sign is sourced. Illustrative: no published "
                  "effect; read its results as a what-if.", "",
                  "| scenario | program | kind | evidence |", "|---|---|---|---|"]
        lines += [f"| {sc} | {name} | {kind} | {_cell(text)} |"
                  for sc, name, kind, text in evidence]
        lines.append("")
    has_baseline = "baseline" in scenarios and not repeated
    cost_money = (", ".join(sorted(done["cost_money"].dropna().unique())) if "cost_money" in done
                  else "as each unit cost's source states it").removeprefix("USD ")
    for outcome, title in REPORT_OUTCOMES:
        if outcome not in done:
            continue
        title = title.format(cost_money=cost_money)
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
    if has_baseline and "cost_total_marginal" in done:
        lines += ["## Cost per violent incident and per homicide averted", "",
                  "Extra cost (programs + police + incarceration) against baseline, paired by "
                  f"seed, per event averted (USD, {cost_money}); 95% bootstrap interval over "
                  "seeds. Prisons at their "
                  "marginal cost (what a prisoner more or fewer changes soon: "
                  "justice.marginal_share_of_prison_cost of the average) and, in the last "
                  "column, at their average cost (the long run, when housing units close with "
                  "their staff). n/a: nothing averted (the scenario costs more and does no "
                  "better).", "",
                  "| scenario | incidents averted | USD per incident averted | 95% interval "
                  "| homicides averted | USD per homicide averted | 95% interval "
                  "| USD per incident averted, prisons at average cost |",
                  "|---|---|---|---|---|---|---|---|"]
        for scenario in scenarios:
            if scenario == "baseline":
                continue
            v, vlo, vhi, vn = cost_per_averted(done, scenario,
                                               "violent_incidents_per_100k_per_year")
            h, hlo, hhi, hn = cost_per_averted(done, scenario, "homicides_per_100k_per_year")
            va, valo, vahi, _ = cost_per_averted(done, scenario,
                                                 "violent_incidents_per_100k_per_year",
                                                 cost="cost_total")
            lines.append(f"| {scenario} | {_fmt(vn)} | {_fmt(v)} | [{_fmt(vlo)}, {_fmt(vhi)}] "
                         f"| {_fmt(hn)} | {_fmt(h)} | [{_fmt(hlo)}, {_fmt(hhi)}] "
                         f"| {_fmt(va)} [{_fmt(valo)}, {_fmt(vahi)}] |")
        lines.append("")
    if has_baseline and "pv_victims" in done:
        lines += benefit_cost_section(done, scenarios)
    figures = [f for f in FIGURES if (Path(figures_dir or sweep_dir) / f).exists()]
    if figures:
        lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    return "\n".join(lines)


def _interval(m: tuple, scale: float = 1.0, digits: int = 1, percent: bool = False) -> str:
    point, lo, hi = (x * scale for x in m)
    if percent:
        return ("n/a" if math.isnan(point) else
                f"{point:.0%} [{lo:.0%}, {hi:.0%}]" if not math.isnan(lo) else f"{point:.0%}")
    if math.isnan(point):
        return "n/a"
    text = f"{point:,.{digits}f}"
    return text + (f" [{lo:,.{digits}f}, {hi:,.{digits}f}]" if not math.isnan(lo) else "")


def benefit_cost_section(done: pd.DataFrame, scenarios: list[str]) -> list[str]:
    """The WSIPP-style table: benefits by perspective, costs, net present value, benefit per
    dollar and the chance that benefits exceed costs, against the baseline of each seed."""
    money = ", ".join(sorted(done["money"].dropna().unique())) if "money" in done else "USD"
    years = ", ".join(str(int(y)) for y in sorted(done["years"].dropna().unique()))
    lines = ["## Benefit-cost against baseline", "",
             f"Present values in millions ({money}), over the policy period ({years} years), "
             "against the baseline run of the same seed. Benefits: to taxpayers, justice costs "
             "saved (arrests, prisons at their marginal cost, supervision); to victims, the harm "
             "of the offences averted (McCollister, French & Fang 2010, with pain, suffering and "
             "quality of life unless `costs.intangible=false`; non-fatal violence at the NCVS "
             "2012 mix, simple assault unpriced). Costs: programs and police added. Means with "
             "95% intervals over seeds; benefit per dollar: mean benefits over mean costs (95% "
             "bootstrap interval); chance benefits exceed costs: the share of seeds (of seed "
             "and parameter draws when the sweep draws them) with a positive net present value "
             "(95% Wilson interval). Unit costs and their sources: `vpsim-params --section "
             "costs` and configs/PARAMETERS.md.", "",
             "| scenario | seeds | to taxpayers | to victims | benefits | costs "
             "| net present value | benefit per dollar | chance benefits exceed costs |",
             "|---|---|---|---|---|---|---|---|---|"]
    for scenario in scenarios:
        if scenario == "baseline":
            continue
        bc = benefit_cost(done, scenario)
        m = 1e-6
        lines.append(
            f"| {scenario} | {bc['pairs']} | {_interval(bc['taxpayers'], m)} "
            f"| {_interval(bc['victims'], m)} | {_interval(bc['benefits'], m)} "
            f"| {_interval(bc['costs'], m)} | {_interval(bc['net_present_value'], m)} "
            f"| {_interval(bc['benefit_per_dollar'], digits=2)} "
            f"| {_interval(bc['chance_benefits_exceed_costs'], percent=True)} |")
    return lines + [""]


def _draw(figure, *args, notes: list[str]) -> None:
    """One figure of the report; one that cannot be drawn is left out with a note."""
    try:
        figure(*args)
    except DiskFullError:
        raise
    except Exception as error:
        if is_disk_full(error):
            raise DiskFullError(args[-1]) from error
        notes.append(f"Figure {Path(args[-1]).name} could not be drawn: "
                     f"{type(error).__name__}: {error}")


def _swap_in(staging: Path, sweep_dir: Path) -> None:
    """Replace the previous pass's outputs by the staged ones: report.md out first, in last."""
    for name in OUTPUTS:  # the index first: no report.md ever points at another pass's files
        (sweep_dir / name).unlink(missing_ok=True)
    for name in reversed(OUTPUTS):
        if (staging / name).exists():
            os.replace(staging / name, sweep_dir / name)


def remove_stale_staging(sweep_dir: Path) -> None:
    """Staging folders and temporary files a killed report left behind."""
    for p in Path(sweep_dir).glob(f"{STAGING_PREFIX}*.tmp"):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
    remove_stale_temporary_files(sweep_dir)


def write_report(sweep_dir: Path) -> tuple[Path, Path]:
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"{sweep_dir}: no such sweep directory")
    remove_stale_staging(sweep_dir)
    df = aggregate(sweep_dir)
    if df.empty:
        raise ValueError(f"{sweep_dir}: no run directory found under it")
    staging = sweep_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        staging.mkdir()
        write_parquet(staging / TABLE, df)
        done = df[df.status == "complete"]
        notes: list[str] = []
        if len(done):
            if ("baseline" in set(done.scenario) and done.scenario.nunique() > 1
                    and not repeated_seeds(done)):
                _draw(plots.forest_plot, done, staging / "forest_plot.png", notes=notes)
                _draw(plots.cost_effectiveness_plane, done, staging / "cost_effectiveness.png",
                      notes=notes)
                if "pv_victims" in done:
                    _draw(plots.net_present_value, done, staging / "net_present_value.png",
                          notes=notes)
            _draw(plots.weekly_by_scenario, done, sweep_dir, staging / "weekly_violence.png",
                  notes=notes)
            _draw(plots.by_sex_and_age, done, staging / "by_sex_and_age.png", notes=notes)
            _draw(plots.by_community, done, staging / "by_community.png", notes=notes)
        with atomic_path(staging / REPORT) as tmp:
            tmp.write_text(report_markdown(df, sweep_dir, staging, notes))
        _swap_in(staging, sweep_dir)
    except OSError as error:
        if is_disk_full(error):  # named where it was going: the staging folder is gone
            path = Path(getattr(error, "path", None) or getattr(error, "filename", None)
                        or staging)
            raise DiskFullError(sweep_dir / path.name if path.parent == staging
                                else sweep_dir) from error
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sweep_dir / TABLE, sweep_dir / REPORT


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


def print_summary(df: pd.DataFrame, table: Path, report: Path) -> None:
    counts = df.status.value_counts().to_dict()
    print(f"vpsim-report: {len(df)} runs ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    for r in df[df.status != "complete"].itertuples():
        print(f"  {r.status}: {r.run_dir}: {r.error}")
    print(f"table: {table}\nreport: {report}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="vpsim-report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep_dir", type=Path, help="a multirun folder, e.g. multirun/sweep")
    args = parser.parse_args(argv)
    try:
        table, report = write_report(args.sweep_dir)
    except DiskFullError as error:
        print(f"vpsim-report: {error}", file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, ValueError) as error:  # not a sweep folder, or an empty one
        print(f"vpsim-report: {error}", file=sys.stderr)
        sys.exit(2)
    print_summary(pd.read_parquet(table), table, report)
