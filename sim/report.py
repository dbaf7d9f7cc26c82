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
import functools
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
from .i18n import LANGUAGES, bracket, number, signed, text
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

REPORT_OUTCOMES = (  # their titles: sim/locales, outcome.<key>
    "violent_incidents_per_100k_per_year", "homicides_per_100k_per_year",
    "share_victimised_per_year", "arrests_per_100k_per_year", "incarcerated_per_100k",
    "rearrest_within_3_years", "community_violence_p90_p10_ratio", "cost_programs_per_year",
    "cost_total_marginal", "cost_total",
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
    pair = ["population", "seed"] if "population" in done else ["seed"]  # a place's own seeds
    base = done[done.scenario == "baseline"]
    base = base[~base.duplicated(pair, keep=False)].set_index(pair)
    keys = pd.MultiIndex.from_frame(done[pair]) if len(pair) > 1 else pd.Index(done[pair[0]])
    mine = done[keys.isin(base.index)]
    mine_keys = (pd.MultiIndex.from_frame(mine[pair]) if len(pair) > 1
                 else pd.Index(mine[pair[0]]))
    paired = pd.DataFrame(against(mine, base.loc[mine_keys].set_index(mine.index)),
                          index=mine.index)
    for column in paired:
        df[f"vs_baseline.{column}"] = paired[column].reindex(df.index)
    return df


def repeated_seeds(done: pd.DataFrame) -> bool:
    """More than one complete run of a scenario with the same seed at one place (the sweep
    varies more than place, scenario and seed)."""
    if done.empty or "seed" not in done or "scenario" not in done:
        return False
    keys = ["population", "scenario", "seed"] if "population" in done else ["scenario", "seed"]
    return bool(done.duplicated(keys).any())


def places_of(done: pd.DataFrame) -> list[str]:
    """The places (population profiles) of a sweep's complete runs."""
    if done.empty or "population" not in done:
        return []
    return sorted(done.population.dropna().unique())


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


def _range(low, high, lang: str = "en") -> str:
    if low is None:
        return text("evidence.below", lang, high=signed(high, lang, ".0%"))
    if abs(low) < 1:
        return text("evidence.range", lang, low=signed(low, lang, ".0%"),
                    high=signed(high, lang, ".0%"))
    return text("evidence.range", lang, low=signed(low, lang, ",.2f"),
                high=signed(high, lang, ",.2f"))


def evidence_of(kind: str, program: dict, lang: str = "en") -> str:
    """Whether `program` (a run's, as resolved) is the one whose effect was checked against its
    evaluation, in words."""
    e = EVIDENCE.get(kind)
    if e is None:
        return text("evidence.unknown_kind", lang)
    if e.status not in (CHECKED, DIRECTION):
        return text("evidence.illustrative", lang, source=e.source)
    shipped = _shipped_program(kind)
    if shipped is None:
        return text("evidence.no_program", lang, kind=kind)
    changed = [f"{key} {program.get(key)!r} ({text('evidence.checked_value', lang)}: "
               f"{shipped[key]!r})" for key in EFFECT_KEYS
               if key in shipped and program.get(key) != shipped[key]]
    if changed:
        return text("evidence.changed", lang, changes=", ".join(changed))
    key = "evidence.checked" if e.status == CHECKED else "evidence.direction"
    return text(key, lang, range=_range(e.low, e.high, lang),
                published=text(f"published.{kind}", lang), source=e.source, kind=kind)


def program_evidence(sweep_dir: Path, done: pd.DataFrame,
                     lang: str = "en") -> list[tuple[str, str, str, str]]:
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
            rows.append((str(scenario), name, kind, evidence_of(kind, program or {}, lang)))
    return rows


def interval_note(done: pd.DataFrame, lang: str = "en") -> str:
    """Which kind of interval the report shows: what its replicates differ by."""
    labels = (sorted(done["uncertainty"].dropna().unique()) if "uncertainty" in done else [])
    labels = labels or ["chance"]
    if len(labels) > 1:
        return text("report.intervals_mixed", lang,
                    labels="; ".join(f"`{x}`" for x in labels))
    if labels[0] == "chance":
        return text("report.intervals_chance", lang)
    return text("report.intervals_drawn", lang, label=labels[0])


def _fmt(x: float, lang: str = "en") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return text("common.not_available", lang)
    if abs(x) >= 100:
        return number(x, lang, ",.0f")
    return number(x, lang, ".3g")


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(lang: str, *keys: str) -> list[str]:
    return [_row(*(text(k, lang) for k in keys)), "|" + "---|" * len(keys)]


def report_markdown(df: pd.DataFrame, sweep_dir: Path, figures_dir: Path | None = None,
                    notes: list[str] = (), lang: str = "en") -> str:
    done = df[df.status == "complete"]
    failed = df[df.status != "complete"]
    counts = ", ".join(text("report.count", lang, n=int((df.status == s).sum()),
                            status=text(f"status_count.{s}", lang))
                       for s in ("failed", "damaged", "incomplete") if s != "damaged"
                       or (df.status == s).any())
    lines = [text("report.title", lang, sweep=sweep_dir), "",
             text("report.runs", lang, n=len(df), complete=len(done), counts=counts), ""]
    if len(failed):
        lines += [text("report.not_complete_heading", lang), "",
                  text("report.not_complete_text", lang), "",
                  *_header(lang, "column.run", "column.status", "column.why")]
        lines += [_row(_cell(r.run_dir), text(f"status.{r.status}", lang), _cell(r.error))
                  for r in failed.itertuples()]
        lines.append("")
    places = places_of(done)
    repeated = repeated_seeds(done)
    if repeated:
        lines += [text("report.repeated_seeds", lang), ""]
    lines += [f"{note}" for note in notes] + ([""] if notes else [])
    lines += [interval_note(done, lang), ""]
    evidence = program_evidence(sweep_dir, done, lang)
    if evidence:
        lines += [text("report.evidence_heading", lang), "", text("report.evidence_text", lang),
                  "", *_header(lang, "column.scenario", "column.program", "column.kind",
                               "column.evidence")]
        lines += [_row(sc, name, kind, _cell(t)) for sc, name, kind, t in evidence]
        lines.append("")
    if len(places) > 1:
        lines += places_section(done, places, lang)
        for place in places:
            lines += [text("report.place_heading", lang, place=place), ""]
            lines += _scenario_sections(done[done.population == place], repeated, "###", lang)
        lines += [text("report.places_figures", lang), ""]
    else:
        lines += _scenario_sections(done, repeated, "##", lang)
    figures = [f for f in FIGURES if (Path(figures_dir or sweep_dir) / f).exists()]
    if figures:
        lines += [text("report.figures_heading", lang), ""] + [f"![{f}]({f})" for f in figures]
        lines.append("")
    return "\n".join(lines)


def _scenarios(done: pd.DataFrame) -> list[str]:
    return (sorted(done.scenario.dropna().unique(), key=lambda s: (s != "baseline", s))
            if "scenario" in done else [])


def _scenario_sections(done: pd.DataFrame, repeated: bool, h: str, lang: str) -> list[str]:
    """Each outcome's table, costs per event averted and the benefit-cost table, of the runs
    of one place (or of a sweep that does not vary the place)."""
    lines: list[str] = []
    scenarios = _scenarios(done)
    has_baseline = "baseline" in scenarios and not repeated
    cost_money = (", ".join(sorted(done["cost_money"].dropna().unique())) if "cost_money" in done
                  else text("report.money_as_stated", lang)).removeprefix("USD ")
    for outcome in REPORT_OUTCOMES:
        if outcome not in done:
            continue
        title = text(f"outcome.{outcome}", lang, cost_money=cost_money)
        lines += [f"{h} {title}", "", text("report.mean_over_seeds", lang)
                  + (text("report.paired_by_seed", lang) if has_baseline else "."), "",
                  *_header(lang, "column.scenario", "column.runs", "column.mean",
                           "column.interval", "column.vs_baseline", "column.interval")]
        for scenario in scenarios:
            values = done[done.scenario == scenario][outcome]
            m, lo, hi = mean_interval(values.tolist())
            if has_baseline and scenario != "baseline":
                d, dlo, dhi, _ = paired_difference(done, outcome, scenario)
                diff = (_fmt(d, lang), bracket(_fmt(dlo, lang), _fmt(dhi, lang), lang))
            else:
                diff = ("", "")
            lines.append(_row(scenario, len(values), _fmt(m, lang),
                              bracket(_fmt(lo, lang), _fmt(hi, lang), lang), *diff))
        lines.append("")
    if has_baseline and "cost_total_marginal" in done:
        lines += [f"{h} {text('report.cost_per_averted_heading', lang)}", "",
                  text("report.cost_per_averted_text", lang, cost_money=cost_money), "",
                  *_header(lang, "column.scenario", "column.incidents_averted",
                           "column.usd_per_incident", "column.interval",
                           "column.homicides_averted", "column.usd_per_homicide",
                           "column.interval", "column.usd_per_incident_average")]
        for scenario in scenarios:
            if scenario == "baseline":
                continue
            v, vlo, vhi, vn = cost_per_averted(done, scenario,
                                               "violent_incidents_per_100k_per_year")
            hm, hlo, hhi, hn = cost_per_averted(done, scenario, "homicides_per_100k_per_year")
            va, valo, vahi, _ = cost_per_averted(done, scenario,
                                                 "violent_incidents_per_100k_per_year",
                                                 cost="cost_total")
            f = functools.partial(_fmt, lang=lang)
            lines.append(_row(scenario, f(vn), f(v), bracket(f(vlo), f(vhi), lang), f(hn), f(hm),
                              bracket(f(hlo), f(hhi), lang),
                              f"{f(va)} {bracket(f(valo), f(vahi), lang)}"))
        lines.append("")
    if has_baseline and "pv_victims" in done:
        lines += benefit_cost_section(done, scenarios, h, lang)
    return lines


PLACE_OUTCOMES = (  # the comparison of places: as national statistics count them
    ("homicides_per_100k_all_ages_per_year", ",.1f"),
    ("incarcerated_per_100k_all_ages", ",.0f"),
    ("pretrial_share_of_prisoners", ".0%"),
    ("violent_incidents_per_100k_per_year", ",.0f"),
)


PLACE_COLUMNS = {"violent_incidents_per_100k_per_year": "column.violent_incidents"}


def places_section(done: pd.DataFrame, places: list[str], lang: str = "en") -> list[str]:
    """One table comparing the places: each scenario's levels (mean and 95% interval) and, for
    a scenario that is not the baseline, its change in violent incidents and its net present
    value against the place's own baseline, paired by seed."""
    lines = [text("report.places_heading", lang), "", text("report.places_text", lang), "",
             *_header(lang, "column.place", "column.scenario", "column.runs",
                      *(PLACE_COLUMNS.get(k, f"outcome.{k}") for k, _ in PLACE_OUTCOMES),
                      "column.violence_vs_baseline", "column.npv_millions")]
    for place in places:
        runs = done[done.population == place]
        repeated = repeated_seeds(runs)
        for scenario in _scenarios(runs):
            mine = runs[runs.scenario == scenario]
            cells = []
            for key, spec in PLACE_OUTCOMES:
                m = mean_interval(mine[key].tolist()) if key in mine else (math.nan,) * 3
                cells.append(_interval(m, lang=lang, spec=spec))
            change = npv = ""
            if scenario != "baseline" and "baseline" in set(runs.scenario) and not repeated:
                d = paired_difference(runs, "violent_incidents_per_100k_per_year", scenario)
                base = float(runs[runs.scenario == "baseline"][
                    "violent_incidents_per_100k_per_year"].mean())
                change = _interval(tuple(x / base for x in d[:3]), lang=lang, spec=".0%")
                if "pv_victims" in runs:
                    bc = benefit_cost(runs, scenario)
                    npv = _interval(bc["net_present_value"], 1e-6, lang=lang, spec=",.1f")
            lines.append(_row(place, scenario, len(mine), *cells, change, npv))
    return lines + [""]


def _interval(m: tuple, scale: float = 1.0, digits: int = 1, percent: bool = False,
              lang: str = "en", spec: str | None = None) -> str:
    point, lo, hi = (x * scale for x in m)
    spec = spec or (".0%" if percent else f",.{digits}f")
    if math.isnan(point):
        return text("common.not_available", lang)
    out = number(point, lang, spec)
    return out + (" " + bracket(number(lo, lang, spec), number(hi, lang, spec), lang)
                  if not math.isnan(lo) else "")


def benefit_cost_section(done: pd.DataFrame, scenarios: list[str], h: str = "##",
                         lang: str = "en") -> list[str]:
    """The WSIPP-style table: benefits by perspective, costs, net present value, benefit per
    dollar and the chance that benefits exceed costs, against the baseline of each seed."""
    money = ", ".join(sorted(done["money"].dropna().unique())) if "money" in done else "USD"
    years = ", ".join(str(int(y)) for y in sorted(done["years"].dropna().unique()))
    lines = [f"{h} {text('report.benefit_cost_heading', lang)}", "",
             text("report.benefit_cost_text", lang, money=money, years=years), "",
             *_header(lang, "column.scenario", "column.seeds", "column.to_taxpayers",
                      "column.to_victims", "column.benefits", "column.costs",
                      "column.net_present_value", "column.benefit_per_dollar",
                      "column.chance_benefits_exceed_costs")]
    for scenario in scenarios:
        if scenario == "baseline":
            continue
        bc = benefit_cost(done, scenario)
        m = 1e-6
        lines.append(_row(
            scenario, bc["pairs"], _interval(bc["taxpayers"], m, lang=lang),
            _interval(bc["victims"], m, lang=lang), _interval(bc["benefits"], m, lang=lang),
            _interval(bc["costs"], m, lang=lang),
            _interval(bc["net_present_value"], m, lang=lang),
            _interval(bc["benefit_per_dollar"], digits=2, lang=lang),
            _interval(bc["chance_benefits_exceed_costs"], percent=True, lang=lang)))
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


def write_report(sweep_dir: Path, lang: str = "en") -> tuple[Path, Path]:
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
        if len(done) and len(places_of(done)) <= 1:  # figures of several places would mix them
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
            tmp.write_text(report_markdown(df, sweep_dir, staging, notes, lang), encoding="utf-8")
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
    parser.add_argument("--lang", default="en", choices=LANGUAGES,
                        help="the report's language (default en)")
    args = parser.parse_args(argv)
    try:
        table, report = write_report(args.sweep_dir, args.lang)
    except DiskFullError as error:
        print(f"vpsim-report: {error}", file=sys.stderr)
        sys.exit(1)
    except (FileNotFoundError, ValueError) as error:  # not a sweep folder, or an empty one
        print(f"vpsim-report: {error}", file=sys.stderr)
        sys.exit(2)
    print_summary(pd.read_parquet(table), table, report)
