"""Hydra entry points.

`vpsim` runs one scenario: `vpsim population=small seed=3 years=5 burn_in_years=2`;
`vpsim --help` lists the config groups. Outputs go to Hydra's run directory.
"""

from __future__ import annotations

import logging
import re
import shutil
import sys
import time
from dataclasses import fields
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from . import config as _config
from .config import CONFIG_DIR, ConfigError, register, validate

register()

_SCHEMA_CLASSES = {name: cls for name, cls in vars(_config).items()
                   if isinstance(cls, type) and name.endswith(("Config", "Effects"))}

HEADLINE = (
    ("violent_incidents_per_100k_per_year", "violent incidents per 100k a year", "{:,.0f}"),
    ("homicides_per_100k_per_year", "homicides per 100k a year", "{:,.1f}"),
    ("share_victimised_per_year", "share victimised a year", "{:.2%}"),
    ("arrests_per_100k_per_year", "arrests per 100k a year", "{:,.0f}"),
    ("prison_admissions_per_100k_per_year", "prison admissions per 100k a year", "{:,.0f}"),
    ("incarcerated_per_100k", "incarcerated per 100k", "{:,.0f}"),
    ("rearrest_within_1_year", "re-arrest within 1 year", "{:.1%}"),
    ("rearrest_within_3_years", "re-arrest within 3 years", "{:.1%}"),
    ("rearrest_within_5_years", "re-arrest within 5 years", "{:.1%}"),
    ("reincarceration_within_3_years", "re-incarceration within 3 years", "{:.1%}"),
    ("male_share_of_offenders", "male share of violent offences", "{:.1%}"),
    ("community_violence_p90_p10_ratio", "community violence p90/p10", "{:.2f}"),
    ("cost_incarceration_per_year", "incarceration cost a year (USD)", "{:,.0f}"),
    ("cost_programs_per_year", "program cost a year (USD)", "{:,.0f}"),
)


def headline_table(summary: dict) -> str:
    rows = []
    for key, label, fmt in HEADLINE:
        value = summary.get(key)
        rows.append((label, "n/a" if value is None else fmt.format(value)))
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"  {label:<{width}}  {value:>14}" for label, value in rows)


def _discard(run_dir: Path) -> None:
    """Remove a run directory that holds nothing but Hydra's own bookkeeping."""
    ours = [p for p in run_dir.iterdir() if p.name != ".hydra" and not p.name.endswith(".log")]
    if not ours:
        shutil.rmtree(run_dir, ignore_errors=True)
        # and the folders above it that this leaves empty (outputs/<date>/), below the cwd
        cwd = Path.cwd().resolve()
        for parent in run_dir.resolve().parents:
            if cwd not in parent.parents:
                break
            try:
                parent.rmdir()  # only if empty
            except OSError:
                break


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def run(cfg: DictConfig) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        settings = validate(cfg)
    except ConfigError as error:
        if HydraConfig.get().mode == RunMode.MULTIRUN:  # recorded; the sweep goes on
            from .results import write_failure
            write_failure(run_dir, "", error)
            logging.getLogger("vpsim").error("config error: %s", error)
            return {"status": "failed", "error": str(error)}
        _discard(run_dir)
        print(f"vpsim: config error: {error}", file=sys.stderr)
        sys.exit(2)
    from omegaconf import OmegaConf

    from .model import ViolencePreventionModel
    from .results import completed_summary, config_hash, write_failure, write_run

    fingerprint = config_hash(OmegaConf.to_container(OmegaConf.structured(settings),
                                                     resolve=True))
    done = completed_summary(run_dir, fingerprint)
    if done is not None:  # a sweep run again: only what is missing runs
        print(f"vpsim: {run_dir} already holds this run (config {fingerprint}): skipped")
        return done
    started = time.perf_counter()
    try:
        model = ViolencePreventionModel(settings)
        model.run(progress=settings.progress)
        summary = write_run(run_dir, model, figures=settings.figures)
    except Exception as error:
        multirun = HydraConfig.get().mode == RunMode.MULTIRUN
        if isinstance(error, ConfigError) and not multirun:  # e.g. more threads than allowed
            _discard(run_dir)
            print(f"vpsim: config error: {error}", file=sys.stderr)
            sys.exit(2)
        write_failure(run_dir, fingerprint, error)
        if multirun:  # recorded for the report; the other jobs of the sweep go on
            logging.getLogger("vpsim").error("run failed: %s: %s", type(error).__name__, error)
            return {"status": "failed", "error": str(error)}
        raise
    elapsed = time.perf_counter() - started
    print(f"vpsim: {settings.scenario.name} on {settings.population.name} "
          f"({settings.population.size:,} residents), seed {settings.seed}, "
          f"{settings.years} years after {settings.burn_in_years} of burn-in, "
          f"{elapsed:.1f} s")
    print(headline_table(summary))
    print(f"run directory: {run_dir}")
    return summary


try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object


class ReportCallback(Callback):
    """Compile the kernels once before a multirun's jobs start (numba caches them, so jobs
    load instead of each compiling); aggregate and report the sweep when it ends."""

    def on_multirun_start(self, config, **kwargs) -> None:
        from .config import VpsimConfig
        from .model import ViolencePreventionModel

        warm = VpsimConfig()
        warm.population.size, warm.population.communities = 1000, 2
        warm.years, warm.burn_in_years = 1, 0
        ViolencePreventionModel(warm).run(weeks=1)

    def on_multirun_end(self, config, **kwargs) -> None:
        from .report import write_report

        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            table, report = write_report(sweep_dir)
            print(f"vpsim-report: {report}")
        except Exception as error:  # the runs are safe on disk; say why the report is not
            print(f"vpsim-report: no report for {sweep_dir}: {error}", file=sys.stderr)


def _one_line(error: Exception) -> str:
    """Hydra's and OmegaConf's multi-line messages as one line that names the key."""
    chain, e = [], error
    while e is not None and len(chain) < 5:
        chain.append(str(e).strip())
        e = e.__cause__ or e.__context__
    text = "\n".join(chain)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    full_key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")),
                     None)
    head = [ln for ln in lines if not ln.startswith(("full_key:", "reference_type=",
                                                     "object_type=", "Config search path",
                                                     "provider=", "To append"))]
    if "Available options" in text:  # an unknown option of a config group
        options = [ln for ln in lines[lines.index(next(
            ln for ln in lines if ln.startswith("Available options"))) + 1:]
            if not ln.startswith(("Config search path", "provider="))]
        what = head[0].removeprefix("In 'config': ")
        return f"{what}; allowed: {', '.join(options)}"
    junk = ("$VALUE", "None", "invalid literal", "See https")
    detail = [ln for ln in head[1:] if not any(j in ln for j in junk)] or head
    message = detail[0]
    match = re.search(r"not in '(\w+)'", message)
    if match and match.group(1) in _SCHEMA_CLASSES:
        keys = [f.name for f in fields(_SCHEMA_CLASSES[match.group(1)])]
        message += f"; keys: {', '.join(keys)}"
    return f"{full_key}: {message}" if full_key else message


def _check_overrides(argv: list[str]) -> None:
    """Compose a single run's config before Hydra starts, to fail on one clear line."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from .config import load

    try:
        load(argv)
    except ConfigError as error:
        sys.exit(f"vpsim: config error: {error}")
    except (HydraException, OmegaConfBaseException) as error:
        sys.exit(f"vpsim: config error: {_one_line(error)}")


def main() -> None:
    argv = sys.argv[1:]
    if argv and all(not a.startswith(("-", "hydra/")) for a in argv):
        _check_overrides(argv)
    run()
