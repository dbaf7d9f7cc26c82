"""Hydra entry points.

`vpsim` runs one scenario: `vpsim population=small seed=3 years=5 burn_in_years=2`;
`vpsim --help` lists the config groups. Outputs go to Hydra's run directory.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from .config import CONFIG_DIR, ConfigError, register, validate

register()

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


def _check_overrides(argv: list[str]) -> None:
    """Compose a single run's config before Hydra starts, to fail on one clear line."""
    from .config import load

    try:
        load(argv)  # any bad input is a ConfigError (one line naming the key or file)
    except ConfigError as error:
        sys.exit(f"vpsim: config error: {error}")


def main() -> None:
    argv = sys.argv[1:]
    if argv and all(not a.startswith(("-", "hydra/")) for a in argv):
        _check_overrides(argv)
    run()
