"""Places: a profile built from a place's published figures, and its place effects fitted.

A figures file (the shipped places' are `experiments/places/<name>.yaml`) holds a place's
published statistics, each with its year and source:

- `settings`: config values taken as published, or derived from a published figure (`basis`
  says how), e.g. `population.share_of_all_ages` from the UN's age structure, or
  `justice.clearance_homicide` from the share of homicides that end in a conviction;
- `targets`: what the place effects are fitted to, each within its relative `tolerance`:

  ========================================  =============================================
  target (summary.json)                     place effect fitted to it
  ========================================  =============================================
  homicides_per_100k_all_ages_per_year      population.offending_level and
                                            population.lethality_level (one factor, half
                                            of its logarithm each: see `HARM_SPLIT`)
  incarcerated_per_100k_all_ages            population.clearance_level
  pretrial_share_of_prisoners               justice.pretrial_detention (beyond
                                            PRETRIAL_CAP, justice.pretrial_median_weeks)
  firearm_share_of_homicides                population.firearm_carrying.scale
  ========================================  =============================================

- `checks`: published, not fitted: shown beside the model in the fit table.

`vpsim-place new NAME --from FILE` reads and checks the file, fits the place effects on the
base profile (each round runs every seed on common random numbers; each effect moves by the
secant of its own target on a log scale; the effects interact, through incapacitation and
lethality, and the next round corrects what one effect's move did to another's target), writes
`configs/population/NAME.yaml` (every value with its source; refused if it exists, unless
`--force`) and prints the fit table. `vpsim-place check NAME` runs a profile and prints the same
table.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .config_files import CONFIG_DIR, ConfigError, check_plain_name, read_file
from .stats import mean_interval

REPO = CONFIG_DIR.parent
FIGURES_DIR = REPO / "experiments" / "places"

HARM_SPLIT = 0.5
"""The homicide rate's place effect, H, is offending_level = H ** HARM_SPLIT times
lethality_level = H ** (1 - HARM_SPLIT): more violence, and deadlier violence, in equal parts.
The homicide rate alone cannot tell them apart (no victimisation survey comparable between the
places was used): the split is illustrative, a structural choice (configs/CALIBRATION.md)."""


@dataclass(frozen=True)
class Effect:
    """A place effect: the config keys it sets and its bounds (it moves on a log scale)."""

    keys: tuple[str, ...]
    low: float
    high: float
    start: float


EFFECTS: dict[str, Effect] = {
    "homicides_per_100k_all_ages_per_year": Effect(
        ("population.offending_level", "population.lethality_level"), 0.05, 9.0, 1.0),
    "incarcerated_per_100k_all_ages": Effect(("population.clearance_level",), 0.0002, 1.0, 0.1),
    "pretrial_share_of_prisoners": Effect(
        ("justice.pretrial_detention", "justice.pretrial_median_weeks"), 0.0005, 40.0,
        0.1),
    "firearm_share_of_homicides": Effect(("population.firearm_carrying.scale",), 0.02, 4.0, 1.0),
}
"""Each target's place effect, in the order they are reported."""


@dataclass(frozen=True)
class Figure:
    value: float
    source: str
    year: str | None = None
    basis: str = ""
    tolerance: float | None = None  # relative, for targets


@dataclass(frozen=True)
class Figures:
    """A place's published figures (a figures file, checked)."""

    name: str
    title: str
    base: str
    settings: dict[str, Figure] = field(default_factory=dict)
    targets: dict[str, Figure] = field(default_factory=dict)
    checks: dict[str, Figure] = field(default_factory=dict)
    path: Path | None = None


def _figure(where: str, raw, target: bool) -> Figure:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a mapping {{value, year, source[, basis"
                          f"{', tolerance' if target else ''}]}}, got {raw!r}")
    allowed = {"value", "year", "source", "basis"} | ({"tolerance"} if target else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r} (allowed: "
                          f"{', '.join(sorted(allowed))})")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}.value: must be a number, got {value!r}")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"{where}.source: say where the figure comes from (or 'illustrative')")
    tolerance = raw.get("tolerance")
    if target:
        tolerance = 0.25 if tolerance is None else tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) \
                or not 0.01 <= tolerance <= 1.0:
            raise ConfigError(f"{where}.tolerance: a share of the value in [0.01, 1], "
                              f"got {tolerance!r}")
    year = raw.get("year")
    return Figure(float(value), source.strip(), None if year is None else str(year),
                  str(raw.get("basis") or ""), None if tolerance is None else float(tolerance))


TARGET_RANGES = {  # what a published figure of each target can be
    "homicides_per_100k_all_ages_per_year": (0.1, 300.0),
    "incarcerated_per_100k_all_ages": (5.0, 2000.0),
    "pretrial_share_of_prisoners": (0.01, 0.9),
    "firearm_share_of_homicides": (0.05, 0.97),
}


def read_figures(path: str | os.PathLike) -> Figures:
    """A figures file, checked: every field known, every value a number with a source, every
    setting a config key that takes it (validated as a run's config is), every target one the
    place effects can be fitted to, in its range. Bad input raises ConfigError (one line)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--from: no such file: {path}")
    data = read_file(path)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path.name}: must be a mapping with name, base, settings, targets")
    unknown = sorted(set(data) - {"name", "title", "base", "settings", "targets", "checks"})
    if unknown:
        raise ConfigError(f"{path.name}: unknown field {unknown[0]!r} (allowed: name, title, "
                          "base, settings, targets, checks)")
    name = data.get("name")
    check_plain_name("name", name)
    base = data.get("base", "city")
    check_plain_name("base", base)
    if not (CONFIG_DIR / "population" / f"{base}.yaml").is_file():
        raise ConfigError(f"base: no population profile {base!r} in configs/population/")
    sections = {}
    for section in ("settings", "targets", "checks"):
        raw = data.get(section) or {}
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{section}: must be a mapping of key: {{value, year, source}}")
        sections[section] = {str(k): _figure(f"{section}.{k}", v, section == "targets")
                             for k, v in raw.items()}
    if not sections["targets"]:
        raise ConfigError(f"targets: at least one of {', '.join(EFFECTS)}")
    for key, fig in sections["targets"].items():
        if key not in EFFECTS:
            raise ConfigError(f"targets.{key}: not a target a place effect is fitted to "
                              f"(allowed: {', '.join(EFFECTS)})")
        lo, hi = TARGET_RANGES[key]
        if not lo <= fig.value <= hi:
            raise ConfigError(f"targets.{key}.value: {fig.value:g} is outside [{lo:g}, {hi:g}]")
    fitted = {k for key in sections["targets"] for k in EFFECTS[key].keys
              if k != "justice.pretrial_median_weeks"}  # a base the pretrial effect scales
    for key in sections["settings"]:
        if not key.startswith(("population.", "justice.", "costs.")):
            raise ConfigError(f"settings.{key}: a place sets population.*, justice.* or "
                              "costs.* keys")
        if key in fitted:
            raise ConfigError(f"settings.{key}: fitted to a target; it cannot also be set")
    figures = Figures(name, str(data.get("title") or name), base, sections["settings"],
                      sections["targets"], sections["checks"], path)
    from .config import load  # the settings are checked as every config is

    load([f"population={base}", *setting_overrides(figures)])
    return figures


def setting_overrides(figures: Figures) -> list[str]:
    return [f"{key}={fig.value!r}" for key, fig in figures.settings.items()]


PRETRIAL_CAP = 0.8
"""The pretrial effect v is the share of arrests held, up to this; beyond it, the share stays
here and the time held grows: median = the place's setting x v / PRETRIAL_CAP. (A place whose
prisons hold half their people before trial but few people at all, Guatemala, needs long
remands: no published time held was found to set it.)"""


def effect_overrides(effects: Mapping[str, float],
                     figures: Figures | None = None) -> list[str]:
    """Overrides of the fitted place effects ({target: value of its effect})."""
    out = []
    for target, value in effects.items():
        keys = EFFECTS[target].keys
        if target == "homicides_per_100k_all_ages_per_year":  # the harm factor, split
            out.append(f"{keys[0]}={value ** HARM_SPLIT:.6g}")
            out.append(f"{keys[1]}={value ** (1 - HARM_SPLIT):.6g}")
        elif target == "pretrial_share_of_prisoners":
            out.append(f"{keys[0]}={min(value, PRETRIAL_CAP):.6g}")
            if value > PRETRIAL_CAP:
                from .config import JusticeConfig

                weeks = JusticeConfig().pretrial_median_weeks
                if figures is not None and keys[1] in figures.settings:
                    weeks = figures.settings[keys[1]].value
                out.append(f"{keys[1]}={weeks * value / PRETRIAL_CAP:.6g}")
        else:
            out.append(f"{keys[0]}={value:.6g}")
    return out


def lookup(summary: Mapping, key: str) -> float:
    value = summary
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return math.nan if value is None else float(value)


def _run(job: tuple[list[str], int]) -> dict:
    from .api import summary_of

    overrides, seed = job
    return summary_of([*overrides, f"seed={seed}"])


class Runner:
    """Runs a config on several seeds, in `workers` processes kept for the whole fit."""

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, int(workers))
        self.pool = (ProcessPoolExecutor(self.workers, mp_context=get_context("spawn"))
                     if self.workers > 1 else None)

    def __call__(self, overrides: list[str], seeds: Sequence[int]) -> list[dict]:
        jobs = [(overrides, s) for s in seeds]
        if self.pool is None:
            return [_run(job) for job in jobs]
        return list(self.pool.map(_run, jobs))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def base_overrides(figures: Figures, structure: str = "selection") -> list[str]:
    return [f"population={figures.base}", f"structure={structure}", f"population.name="
            f"{figures.name}", *setting_overrides(figures)]


def fit(figures: Figures, *, seeds: Sequence[int] = (100, 101, 102), rounds: int = 10,
        workers: int = 1, extra: Sequence[str] = (), structure: str = "selection",
        log: Callable[[str], None] = print) -> tuple[dict[str, float], list[dict]]:
    """Fit each target's place effect: returns ({target: effect}, the last round's runs).

    Each round runs the place on `seeds` (common random numbers: the same seeds every round),
    then moves each effect by the secant through its last two rounds (its first step assumes
    the target moves in proportion), within its bounds; stops when every target is within a
    fifth of its tolerance, or after `rounds`."""
    targets = figures.targets
    effects = {t: EFFECTS[t].start for t in targets}
    history: dict[str, list[tuple[float, float]]] = {t: [] for t in targets}
    slopes = dict.fromkeys(targets, 1.0)  # d target / d effect, on their scales
    base = [*base_overrides(figures, structure), *extra]
    runs: list[dict] = []
    with Runner(workers) as run:
        for k in range(rounds):
            runs = run([*base, *effect_overrides(effects, figures)], seeds)
            done = True
            parts = []
            for t, fig in targets.items():
                e = EFFECTS[t]
                value = float(np.nanmean([lookup(s, t) for s in runs]))
                parts.append(f"{t.split('_per_')[0]} {value:.4g} (target {fig.value:g}, "
                             f"{e.keys[0].split('.')[-1]} {effects[t]:.4g})")
                if not abs(value / fig.value - 1) <= fig.tolerance / 5:
                    done = False
                if not math.isfinite(value) or value <= 0:
                    history[t].append((math.nan, math.nan))
                else:
                    history[t].append((math.log(effects[t]), math.log(value)))
            log(f"round {k + 1}: " + "; ".join(parts))
            if done or k == rounds - 1:  # the effects returned are the ones run
                break
            for t, fig in targets.items():
                e = EFFECTS[t]
                x, y = history[t][-1]
                if not math.isfinite(y):  # nothing to measure yet: double the effect
                    effects[t] = min(e.high, effects[t] * 2)
                    continue
                # the secant of the last two rounds, once the effect moved enough for the
                # change to be more than noise and the other effects' moves; else 1
                if len(history[t]) > 1:
                    x0, y0 = history[t][-2]
                    if math.isfinite(y0) and abs(x - x0) > 0.1:
                        slopes[t] = min(2.0, max(0.5, (y - y0) / (x - x0)))
                goal = math.log(fig.value)
                step = max(-1.5, min(1.5, (goal - y) / slopes[t]))
                effects[t] = min(e.high, max(e.low, math.exp(x + step)))
    return effects, runs


def fit_table(figures: Figures, runs: Sequence[dict]) -> list[dict]:
    """Published figure against the model (mean and 95% t-interval over the runs)."""
    rows = []
    for kind, figs in (("target", figures.targets), ("check", figures.checks)):
        for key, fig in figs.items():
            m, lo, hi = mean_interval([lookup(s, key) for s in runs])
            within = None if fig.tolerance is None else bool(
                abs(m / fig.value - 1) <= fig.tolerance)
            rows.append({"kind": kind, "key": key, "published": fig.value, "year": fig.year,
                         "tolerance": fig.tolerance, "model": m, "low": lo, "high": hi,
                         "within": within, "source": fig.source})
    return rows


def format_table(rows: Sequence[dict], seeds: int) -> str:
    lines = [f"{'figure':40s} {'published':>10s} {'model (' + str(seeds) + ' seeds)':>26s}  fit",
             "-" * 86]
    for r in rows:
        model = f"{r['model']:.3g} [{r['low']:.3g}, {r['high']:.3g}]"
        verdict = ("-" if r["within"] is None
                   else f"{'ok' if r['within'] else 'MISS'} (+-{r['tolerance']:.0%})")
        label = r["key"] + (" (check)" if r["kind"] == "check" else "")
        lines.append(f"{label:40s} {r['published']:>10.4g} {model:>26s}  {verdict}")
    return "\n".join(lines)


def _short(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split()).replace('"', "'")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def profile_text(figures: Figures, effects: Mapping[str, float], *, seeds: Sequence[int],
                 source_path: str) -> str:
    """The population profile: settings and fitted effects, each with its source."""
    values: dict[str, tuple[float, str]] = {}
    for key, fig in figures.settings.items():
        when = f"{fig.year}; " if fig.year else ""
        note = (f"{fig.basis} " if fig.basis else "") + f"({when}{fig.source})"
        values[key] = (fig.value, note)
    for target, value in effects.items():
        fig = figures.targets[target]
        what = f"fitted: {target} {fig.value:g} ({fig.year})"
        overrides = effect_overrides({target: value}, figures)
        for o in overrides:
            key, v = o.split("=", 1)
            if target == "homicides_per_100k_all_ages_per_year":  # the harm effect, split
                what = (f"fitted: homicides {fig.value:g} per 100,000 ({fig.year}); place "
                        f"effect {value:.4g}, half its log each (sim.places.HARM_SPLIT)")
            elif len(overrides) == 2:  # the share held is at its cap: the time held grew
                what = (f"fitted: pretrial share {fig.value:g} ({fig.year}); effect "
                        f"{value:.4g} beyond the cap (sim.places.PRETRIAL_CAP)")
            values[key] = (float(v), what)
    tree: dict[str, dict] = {}
    for key, item in values.items():
        section, *rest = key.split(".")
        tree.setdefault(section, {})[".".join(rest)] = item
    lines = [
        "# @package _global_",
        f"# {figures.name}: {_short(figures.title, 200)}.",
        f"# Built by `vpsim-place new {figures.name} --from {source_path}` ({date.today()}):",
        "# settings as published; place effects fitted on seeds "
        f"{seeds[0]}-{seeds[-1]} under the default structure; sources in full in that file."
        .replace(f"{seeds[0]}-{seeds[0]}", f"{seeds[0]}"),
        f"# The rest is `{figures.base}`'s. Values and fit: configs/CALIBRATION.md, Places.",
        "defaults:", f"  - {figures.base}", "  - _self_", ""]
    for section in ("population", "justice", "costs"):
        if section not in tree and section != "population":
            continue
        lines.append(f"{section}:")
        if section == "population":
            lines.append(f"  name: {figures.name}")
        nested: dict[str, list[str]] = {}
        for key, (value, note) in tree.get(section, {}).items():
            if "." in key:
                head, tail = key.split(".", 1)
                nested.setdefault(head, []).append(f"    {tail}: {value:.6g}  # {_short(note)}")
            else:
                lines.append(f"  {key}: {value:.6g}  # {_short(note)}")
        for head, items in nested.items():
            lines.append(f"  {head}:")
            lines.extend(items)
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _seeds(text: str) -> list[int]:
    try:
        first, _, last = text.partition("-")
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        seeds = []
    if not seeds or seeds[0] < 0 or len(seeds) > 50:
        raise ConfigError(f"--seeds: {text!r}: a seed or a range such as 100-102 "
                          "(at most 50 seeds, none negative)")
    return seeds


def cmd_new(args) -> int:
    check_plain_name("NAME", args.name)
    out_dir = Path(args.out) if args.out else CONFIG_DIR / "population"
    target = out_dir / f"{args.name}.yaml"
    if target.exists() and not args.force:
        raise ConfigError(f"NAME: {target} exists (a profile is not overwritten without "
                          "--force)")
    seeds = _seeds(args.seeds)
    if not 1 <= args.rounds <= 40:
        raise ConfigError(f"--rounds: {args.rounds}: allowed 1-40")
    if not 1 <= args.jobs <= 64:
        raise ConfigError(f"--jobs: {args.jobs}: allowed 1-64")
    figures = read_figures(args.figures)
    figures = Figures(args.name, figures.title, figures.base, figures.settings, figures.targets,
                      figures.checks, figures.path)
    print(f"fitting {', '.join(figures.targets)} of {args.name} on seeds {args.seeds} "
          f"({len(seeds)} runs a round, at most {args.rounds} rounds)", flush=True)
    effects, runs = fit(figures, seeds=seeds, rounds=args.rounds, workers=args.jobs,
                        extra=args.override, log=lambda s: print(s, flush=True))
    try:
        shown = os.path.relpath(figures.path, REPO)
    except ValueError:
        shown = str(figures.path)
    write_atomically(target, profile_text(figures, effects, seeds=seeds, source_path=shown))
    rows = fit_table(figures, runs)
    print(format_table(rows, len(seeds)))
    print(f"wrote {target}")
    return 0 if all(r["within"] is not False for r in rows) else 1


def cmd_check(args) -> int:
    check_plain_name("NAME", args.name)
    path = Path(args.figures) if args.figures else FIGURES_DIR / f"{args.name}.yaml"
    figures = read_figures(path)
    seeds = _seeds(args.seeds)
    with Runner(args.jobs) as run:
        runs = run([f"population={args.name}", *args.override], seeds)
    rows = fit_table(figures, runs)
    print(format_table(rows, len(seeds)))
    return 0 if all(r["within"] is not False for r in rows) else 1


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="vpsim-place", description=(
        "Build a place's profile from its published figures (new), or compare a profile with "
        "them (check). Figures files: experiments/places/<name>.yaml."))
    sub = ap.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write configs/population/NAME.yaml from a figures file")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--from", dest="figures", required=True, metavar="FILE")
    new.add_argument("--seeds", default="100-102", help="fitting seeds (default 100-102)")
    new.add_argument("--rounds", type=int, default=10, help="at most this many (default 10)")
    new.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    new.add_argument("--out", help="folder to write to (default configs/population)")
    new.add_argument("--force", action="store_true", help="overwrite an existing profile")
    check = sub.add_parser("check", help="a profile against its figures")
    check.add_argument("name", metavar="NAME")
    check.add_argument("--from", dest="figures", metavar="FILE",
                       help="figures file (default experiments/places/NAME.yaml)")
    check.add_argument("--seeds", default="0-4", help="seeds (default 0-4)")
    check.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args, rest = ap.parse_known_args(argv)
    bad = [a for a in rest if "=" not in a or a.startswith("-")]
    if bad:
        ap.error(f"unrecognized arguments: {' '.join(bad)} (config overrides are key=value)")
    args.override = rest  # config overrides for every run (years=..., structure=...)
    try:
        return {"new": cmd_new, "check": cmd_check}[args.command](args)
    except ConfigError as error:
        print(f"vpsim-place: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
