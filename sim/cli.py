"""Hydra entry points.

`vpsim` runs one scenario: `vpsim population=small seed=3 years=5 burn_in_years=2`;
`vpsim --help` lists the config groups. Outputs go to Hydra's run directory.

Exit codes: 0 done (also a run skipped because its folder holds it complete); 2 bad input,
refused before anything is written (a config key, value or file, a folder name, more memory than
the machine has); 1 a run failed while running (a full disk included), or a multirun in which
any job did not complete (after its report is written).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from . import folders
from .config import CONFIG_DIR, ConfigError, combined_scenario, one_line, register, validate
from .io import DiskFullError, is_disk_full

try:
    from hydra.experimental.callback import Callback
except ImportError:  # pragma: no cover
    Callback = object

register()


def _parameter_table(*, _root_: DictConfig) -> str:
    """`vpsim --help`: the parameter catalogue at the composed config's defaults."""
    from .parameters import parameters, text

    return text(parameters(config=_root_))


OmegaConf.register_new_resolver("vpsim_parameters", _parameter_table, replace=True)

EXIT_FAILED = 1
EXIT_CONFIG = 2

HEADLINE = (
    # rates per 100k residents (aged 10-64) unless said
    ("violent_incidents_per_100k_per_year", "violent incidents per 100k a year", "{:,.0f}"),
    ("homicides_per_100k_per_year", "homicides per 100k a year", "{:,.1f}"),
    ("homicides_per_100k_all_ages_per_year", "  per 100k of all ages (national)", "{:,.1f}"),
    ("share_victimised_per_year", "share victimised a year", "{:.2%}"),
    ("arrests_per_100k_per_year", "arrests per 100k a year", "{:,.0f}"),
    ("prison_admissions_per_100k_per_year", "prison admissions per 100k a year", "{:,.0f}"),
    ("incarcerated_per_100k", "incarcerated per 100k", "{:,.0f}"),
    ("incarcerated_per_100k_all_ages", "  per 100k of all ages (national)", "{:,.0f}"),
    ("pretrial_share_of_prisoners", "  held before trial", "{:.1%}"),
    ("rearrest_within_1_year", "re-arrest within 1 year", "{:.1%}"),
    ("rearrest_within_3_years", "re-arrest within 3 years", "{:.1%}"),
    ("rearrest_within_5_years", "re-arrest within 5 years", "{:.1%}"),
    ("reincarceration_within_3_years", "re-incarceration within 3 years", "{:.1%}"),
    ("male_share_of_offenders", "male share of violent offences", "{:.1%}"),
    ("community_violence_p90_p10_ratio", "community violence p90/p10", "{:.2f}"),
    ("cost_incarceration_per_year", "incarceration cost a year (average cost)", "{:,.0f}"),
    ("cost_programs_per_year", "program cost a year", "{:,.0f}"),
    ("pv_victims", "harm to victims, present value", "{:,.0f}"),
    ("pv_justice", "justice costs, present value", "{:,.0f}"),
)
MONEY_NOTE = ("  costs: {cost_money}\n"
              "  present values: {money} (victims: McCollister et al. 2010; "
              "vpsim-params --section costs)")


def headline_table(summary: dict) -> str:
    rows = []
    for key, label, fmt in HEADLINE:
        value = summary.get(key)
        rows.append((label, "n/a" if value is None else fmt.format(value)))
    width = max(len(label) for label, _ in rows)
    table = "\n".join(f"  {label:<{width}}  {value:>14}" for label, value in rows)
    if "money" in summary and "cost_money" in summary:
        table += "\n" + MONEY_NOTE.format(**summary)
    return table


def refuse(error: BaseException | str) -> None:
    """Bad input: one line, exit 2."""
    print(f"vpsim: config error: {error}", file=sys.stderr)
    sys.exit(EXIT_CONFIG)


def fail(message: str) -> None:
    """A run that failed while running: one line, exit 1."""
    print(f"vpsim: {message}", file=sys.stderr)
    sys.exit(EXIT_FAILED)


class RunDirCallback(Callback):
    """Check and create a single run's folder before Hydra writes into it, and remember whether
    it existed: a failed run removes only a folder it created itself."""

    def on_run_start(self, config: DictConfig, **kwargs) -> None:
        try:
            folders.prepare("hydra.run.dir", OmegaConf.select(config, "hydra.run.dir"))
        except ConfigError as error:
            refuse(error)


def _record_failure(run_dir: Path, fingerprint: str, error: BaseException) -> None:
    """failure.json, unless the disk is full (then the missing complete.json says enough)."""
    from .results import COMPLETE, write_failure

    try:
        write_failure(run_dir, fingerprint, error)
    except OSError:
        (run_dir / COMPLETE).unlink(missing_ok=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def run(cfg: DictConfig) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    log = logging.getLogger("vpsim")
    try:
        from . import machine
        from .uncertainty import drawn

        combined_scenario(cfg, list(HydraConfig.get().overrides.task))
        settings = drawn(validate(cfg))  # a replicate's parameter and structure draws, if asked
        machine.check(settings)
    except ConfigError as error:
        if multirun:  # recorded; the sweep goes on
            _record_failure(run_dir, "", error)
            log.error("config error: %s", error)
            return {"status": "failed", "error": str(error)}
        folders.discard(run_dir)
        refuse(error)

    from .model import ViolencePreventionModel
    from .results import begin_attempt, completed_summary, config_hash, run_status, write_run

    fingerprint = config_hash(OmegaConf.to_container(OmegaConf.structured(settings),
                                                     resolve=True))
    done = completed_summary(run_dir, fingerprint)
    if done is not None:  # a sweep run again: only what is missing runs
        print(f"vpsim: {run_dir} already holds this run (config {fingerprint}): skipped")
        return done
    status, why = run_status(run_dir)
    if status == "damaged":
        print(f"vpsim: {run_dir}: {why}: not trusted, running it again", file=sys.stderr)
    started = time.perf_counter()
    try:
        begin_attempt(run_dir)  # from here until complete.json, nothing here is complete
        shared = False
        if multirun and settings.burn_in_years > 0:  # one burn-in per seed for every scenario
            from .burn_in import FOLDER, burned_in

            model, shared = burned_in(settings, Path(HydraConfig.get().sweep.dir) / FOLDER)
        else:
            model = ViolencePreventionModel(settings)
        model.run(progress=settings.progress)
        summary = write_run(run_dir, model, figures=settings.figures)
    except Exception as error:
        if isinstance(error, ConfigError) and not multirun:  # e.g. more threads than allowed
            folders.discard(run_dir)
            refuse(error)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            error = DiskFullError(getattr(error, "filename", None) or run_dir)
        _record_failure(run_dir, fingerprint, error)
        if multirun:  # recorded for the report; the other jobs of the sweep go on
            log.error("run failed: %s: %s", type(error).__name__, error)
            return {"status": "failed", "error": str(error)}
        if isinstance(error, DiskFullError):
            folders.discard(run_dir)
            fail(str(error))
        if isinstance(error, MemoryError):
            folders.discard(run_dir)
            fail(f"out of memory: {error or 'the run needs more than this machine has'}")
        raise
    elapsed = time.perf_counter() - started
    print(f"vpsim: {settings.scenario.name} on {settings.population.name} "
          f"({settings.population.size:,} residents), structure {settings.structure}, "
          f"seed {settings.seed}, "
          f"{settings.years} years after {settings.burn_in_years} of burn-in"
          f"{' (shared)' if shared else ''}, {elapsed:.1f} s")
    print(headline_table(summary))
    print(f"run directory: {run_dir}")
    return summary


_sweep_dir: Path | None = None


def discard_new_sweep_dir() -> None:
    """After a multirun refused before any job ran: remove its folder if it made it."""
    global _sweep_dir
    if _sweep_dir is not None:
        folders.discard(_sweep_dir, only=("multirun.yaml",))
    _sweep_dir = None


class ReportCallback(Callback):
    """Check a multirun's jobs before any runs and compile the kernels once (numba caches them,
    so jobs load instead of each compiling); when it ends, aggregate and report the sweep, and
    exit 1 if any of its jobs did not complete."""

    def __init__(self) -> None:
        self.plan = None

    def on_multirun_start(self, config, **kwargs) -> None:
        global _sweep_dir
        from .config import VpsimConfig
        from .model import ViolencePreventionModel
        from .sweeps import plan

        try:
            self.plan = plan(config)
        except ConfigError as error:
            refuse(error)
        _sweep_dir = self.plan.sweep_dir
        warm = VpsimConfig()
        warm.population.size, warm.population.communities = 1000, 2
        warm.years, warm.burn_in_years = 1, 0
        ViolencePreventionModel(warm).run(weeks=1)

    def on_multirun_end(self, config, **kwargs) -> None:
        import pandas as pd

        from .report import write_report
        from .results import run_status

        global _sweep_dir
        _sweep_dir = None  # its jobs ran: nothing of it is to be discarded
        sweep_dir = Path(config.hydra.sweep.dir)
        df = None
        try:
            table, report = write_report(sweep_dir, lang=config.report.lang)
            df = pd.read_parquet(table)
            print(f"vpsim-report: {report}")
        except DiskFullError as error:
            print(f"vpsim: {error}", file=sys.stderr)
        except Exception as error:  # the runs are safe on disk; say why the report is not
            print(f"vpsim-report: no report for {sweep_dir}: {error}", file=sys.stderr)
        job_dirs = self.plan.job_dirs if self.plan is not None else None
        if job_dirs is not None:
            statuses = {d: run_status(d)[0] for d in job_dirs}
            bad = [d for d, status in statuses.items() if status != "complete"]
            total = len(statuses)
        else:
            bad = [] if df is None else list(df[df.status != "complete"].run_dir)
            total = 0 if df is None else len(df)
        if bad:
            print(f"vpsim: {len(bad)} of {total} jobs did not complete (see the report): "
                  + ", ".join(str(Path(d).name) for d in bad[:5])
                  + (", ..." if len(bad) > 5 else ""), file=sys.stderr)
            sys.exit(1)
        if df is None:
            sys.exit(1)
        # every job is complete: the shared burn-ins are not needed again
        import shutil

        from .burn_in import FOLDER

        shutil.rmtree(sweep_dir / FOLDER, ignore_errors=True)


_STOPS = ("help", "hydra_help", "info", "shell_completion", "config_path", "config_name",
          "config_dir", "experimental_rerun")


def precheck(argv: list[str]) -> None:
    """Check the overrides before Hydra starts, to refuse bad input on one line.

    A single run is composed and validated whole, and its memory estimated; a multirun's
    overrides are parsed and every config file its jobs may read is checked (its jobs are
    checked when it starts: `ReportCallback`).
    """
    from hydra._internal.utils import get_args_parser

    from . import machine
    from .config import load, parse_overrides
    from .config_files import check_files

    parser = get_args_parser()  # Hydra's own options

    def error(message: str):
        raise ConfigError(f"{message} (see vpsim --help)")

    parser.error = error
    args = parser.parse_args(argv)
    if any(getattr(args, name, None) for name in _STOPS):
        return
    if args.multirun:
        check_files(parse_overrides(args.overrides, sweeps=True))
    else:
        machine.check(load(args.overrides))


def main() -> None:
    try:
        precheck(sys.argv[1:])
    except ConfigError as error:
        refuse(error)
    # Hydra prints its own errors (compose, callbacks) as tracebacks; let them reach us instead,
    # unless the user asked for Hydra's full errors.
    users_full_error = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        run()
    except Exception as error:
        if users_full_error == "1":
            raise
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException

        if isinstance(error, (ConfigError, HydraException, OmegaConfBaseException)):
            discard_new_sweep_dir()
            refuse(error if isinstance(error, ConfigError) else one_line(error))
        if is_disk_full(error):
            fail(str(error if isinstance(error, DiskFullError)
                     else DiskFullError(getattr(error, "filename", None) or "the output folder")))
        raise
    finally:
        if users_full_error is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = users_full_error
