"""A multirun's jobs, listed and checked before any of them runs.

Hydra's basic sweeper (the one `vpsim -m` uses, whatever the launcher) makes one job per
combination of the sweep's values; `plan` lists them the same way and refuses, with one line:

- a `sweep_name` that is not a plain name, a `hydra.sweep.dir` that is empty, has a `..` part or
  is the current folder (`sim.folders`);
- a job whose folder (`<sweep dir>/<its overrides>`) would not be one plain path part;
- a scenario file that is not safe to read (`sim.config_files`), or two different scenarios
  (files, or `scenario.*` overrides) with the same name: the report labels and pairs runs by
  scenario name and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from . import folders
from .config import ConfigError, check_plain_name, combined_name, scenario_list, shown

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
DEFAULT_SUBDIR = "${hydra.job.override_dirname}"


@dataclass
class Plan:
    sweep_dir: Path
    jobs: list[list[str]] | None  # each job's overrides; None: not Hydra's basic sweeper
    job_dirs: list[Path] | None  # None: the job folders are not the overrides' names


def _jobs(config: DictConfig) -> list[list[str]]:
    """Every job's overrides, as Hydra's basic sweeper will make them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = OmegaConf.select(config, "hydra.sweeper.params") or {}
    arguments = [f"{k}={v}" for k, v in params.items()]
    arguments += list(OmegaConf.to_container(config.hydra.overrides.task, resolve=False))
    loader = (GlobalHydra.instance().config_loader()
              if GlobalHydra.instance().is_initialized() else None)
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    batches = BasicSweeper.split_arguments(parsed, None)
    return [list(job) for batch in batches for job in batch]


def _job_subdir(config: DictConfig, job: list[str]) -> str:
    from hydra._internal.config_loader_impl import get_overrides_dirname
    from hydra.core.override_parser.overrides_parser import OverridesParser

    options = config.hydra.job.config.override_dirname
    parsed = [o for o in OverridesParser.create().parse_overrides(job)
              if not o.is_hydra_override()]
    return get_overrides_dirname(overrides=parsed, exclude_keys=list(options.exclude_keys),
                                 item_sep=options.item_sep, kv_sep=options.kv_sep)


def _value(job: list[str], key: str) -> str | None:
    for text in job:
        name, _, value = text.partition("=")
        if name.lstrip("+") == key:
            return value
    return None


def check_scenario_names(config: DictConfig, jobs: list[list[str]]) -> None:
    """Each scenario name in the sweep labels one scenario (one file, the same overrides)."""
    from .config_files import group_file, options, scenario_name

    default = OmegaConf.select(config, "hydra.runtime.choices.scenario") or "baseline"
    policies: dict[str, set] = {}
    for job in jobs:
        choice = _value(job, "scenario") or default
        name = _value(job, "scenario.name")
        if name is None:
            files = scenario_list(choice)
            for option in files:
                if group_file("scenario", option) is None:
                    raise ConfigError(f"scenario = {option!r}: no such scenario file; "
                                      f"allowed: {', '.join(options('scenario'))}")
            name = (scenario_name(files[0]) if len(files) == 1
                    else combined_name(files))  # programs run together (config.load names)
        name = name.strip("'\"")
        tweaks = tuple(sorted(t for t in job if t.lstrip("+").startswith("scenario.")
                              and not t.lstrip("+").startswith("scenario.name=")))
        policies.setdefault(name, set()).add((choice, tweaks))
    for name, variants in policies.items():
        if len(variants) > 1:
            described = sorted(f"scenarios/{choice}.yaml" + (f" with {' '.join(tweaks)}"
                                                             if tweaks else "")
                               for choice, tweaks in variants)
            raise ConfigError(f"scenario.name: {' and '.join(described[:2])} are both named "
                              f"{name!r}: within a sweep each scenario needs a name of its own "
                              "(the report labels and pairs runs by scenario name and seed)")


def plan(config: DictConfig) -> Plan:
    """The sweep's folder and jobs, or a ConfigError (one line) before any job runs."""
    check_plain_name("sweep_name", OmegaConf.select(config, "sweep_name"))
    sweep_dir = folders.check_output_dir("hydra.sweep.dir",
                                         OmegaConf.select(config, "hydra.sweep.dir"))
    folders.remember_new(sweep_dir)
    if OmegaConf.select(config, "hydra.sweeper._target_") != BASIC_SWEEPER:
        return Plan(sweep_dir, None, None)
    try:
        jobs = _jobs(config)
    except Exception as error:  # a sweep Hydra cannot expand: it says why, on one line later
        from .config import one_line

        raise ConfigError(f"sweep: {one_line(error)}") from None
    check_scenario_names(config, jobs)
    raw_subdir = OmegaConf.to_container(config.hydra.sweep, resolve=False).get("subdir")
    job_dirs = None
    if raw_subdir == DEFAULT_SUBDIR:
        job_dirs = []
        excluded = set(config.hydra.job.config.override_dirname.exclude_keys)
        for job in jobs:
            for text in job:
                key, _, value = text.partition("=")
                if key.lstrip("+~") not in excluded and ("/" in value or "\0" in value):
                    raise ConfigError(f"{key.lstrip('+~')} = {shown(value)}: in a sweep each job's "
                                      "folder is named after its overrides, and a value with "
                                      "'/' would write outside the sweep's folder")
            subdir = _job_subdir(config, job)
            if subdir:  # empty: a sweep of one job with nothing swept writes into the sweep folder
                folders.check_job_dir(f"job {shown(' '.join(job), 120)}", subdir)
            job_dirs.append(sweep_dir / subdir)
    return Plan(sweep_dir, jobs, job_dirs)
