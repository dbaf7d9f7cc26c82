"""Runs for scripts, notebooks and analysis tools: a config in, outcomes out, nothing written.

`summary_of(overrides)` runs one configuration (Hydra overrides, as on the command line) and
returns its `summary.json` contents as a dict. `run_experiment(params, ...)` is the form analysis
tools want: parameters as a flat dict of dotted keys, outcomes as a flat dict of floats (`nan`
where an outcome is undefined, never None), Mesa's logging quiet while it runs.

    from sim.api import run_experiment
    out = run_experiment({"behaviour.peer_contagion": 0.2}, population="small", seed=3)
    out["violent_incidents_per_100k_per_year"], out["rearrest_within_3_years"]

Bad input raises `sim.config.ConfigError` (one line naming the key and its allowed range).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from .config import ConfigError, load


def summary_of(overrides: list[str] | tuple[str, ...]) -> dict:
    """One run of `overrides` (no progress bar, no figures, no files): its summary."""
    from . import outcomes
    from .model import ViolencePreventionModel

    model = ViolencePreventionModel(load([*overrides, "progress=false", "figures=false"]))
    model.run()
    return outcomes.summary(model)


def flatten(summary: Mapping, prefix: str = "") -> dict[str, float]:
    """Every number of a (nested) summary under its dotted key, as a float; None (an outcome
    the run cannot define, e.g. 3-year re-arrest in a 2-year run) becomes nan; text is left
    out."""
    out: dict[str, float] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif value is None:
            out[name] = math.nan
        elif isinstance(value, (bool, int, float)):
            out[name] = float(value)
    return out


def _override(key: str, value) -> str:
    if not isinstance(key, str) or not key or "=" in key:
        raise ConfigError(f"parameter {key!r}: a dotted key such as behaviour.peer_contagion")
    if isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (list, tuple)):
        text = "[" + ",".join(str(v) for v in value) + "]"
    else:
        text = str(value)
    return f"{key}={text}"


def run_experiment(params: Mapping[str, object] | None = None, *, population: str = "small",
                   scenario: str = "baseline", seed: int = 0, years: int | None = None,
                   burn_in_years: int | None = None) -> dict[str, float]:
    """Outcomes of one run with `params` (dotted keys of the config, e.g.
    {"behaviour.peer_contagion": 0.2, "scenario.programs.cbt_youth.effect": 0.4}) on
    `population` and `scenario`: a flat dict of floats (`flatten`)."""
    overrides = [f"population={population}", f"scenario={scenario}", f"seed={seed}"]
    if years is not None:
        overrides.append(f"years={years}")
    if burn_in_years is not None:
        overrides.append(f"burn_in_years={burn_in_years}")
    overrides += [_override(k, v) for k, v in (params or {}).items()]
    mesa_log = logging.getLogger("MESA")  # Mesa's loggers: MESA.mesa.*
    level = mesa_log.level
    mesa_log.setLevel(logging.WARNING)  # Mesa logs a line a step at INFO
    try:
        return flatten(summary_of(overrides))
    finally:
        mesa_log.setLevel(level)


__all__ = ["summary_of", "flatten", "run_experiment"]
