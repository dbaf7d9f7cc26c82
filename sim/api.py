"""Runs for scripts, notebooks and analysis tools: a config in, outcomes out, nothing written.

`summary_of(overrides)` runs one configuration (Hydra overrides, as on the command line) and
returns its `summary.json` contents as a dict. `run_experiment(params, ...)` is the form analysis
tools want: parameters as a flat dict of dotted keys, outcomes as a flat dict of floats (`nan`
where an outcome is undefined, never None), Mesa's logging quiet while it runs.
A program's size may be given as a lever, `size.<program>`, in a unit that means the same on
every profile (places per 10,000 residents, % of the eligible, % of communities).
`run_experiments(many, ...)` runs a batch in this process, composing the configs once (Hydra's
composition costs more than a small run): each experiment's parameters are merged into the
composed base, checked as every config is, and run. Both take a `structure`
(configs/structure/) and a scenario name or a list of them (their programs run together); a
config asking for `uncertainty.parameters` or `uncertainty.structure` gets its seed's draws
(`sim.uncertainty`), as a sweep's job would.

    from sim.api import run_experiment
    out = run_experiment({"behaviour.peer_contagion": 0.2}, population="small", seed=3)
    out["violent_incidents_per_100k_per_year"], out["rearrest_within_3_years"]

`parameters()` is the parameter catalogue (`vpsim-params --json`): every parameter's key,
default, unit, kind, source, allowed and plausible range, as records; `plausible_ranges()` the
ones an uncertainty analysis can draw, as {key: (low, high)}.

Bad input raises `sim.config.ConfigError` (one line naming the key and its allowed range).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from contextlib import contextmanager

from omegaconf import OmegaConf

from .config import ConfigError, load, one_line, validate


def summary_of(overrides: list[str] | tuple[str, ...]) -> dict:
    """One run of `overrides` (no progress bar, no figures, no files): its summary."""
    return _summary(load([*overrides, "progress=false", "figures=false"]))


def _summary(cfg) -> dict:
    from . import outcomes
    from .model import ViolencePreventionModel
    from .uncertainty import drawn

    model = ViolencePreventionModel(drawn(cfg))
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


SIZE = "size."
"""`size.<program>`: a program's size in its lever's unit (`sim.catalogue.lever`: places per
10,000 residents, % of the eligible, or % of communities, most violent first), the same on
every profile; the scenario file's size is the lever's default."""


def _sized(cfg, sizes: Mapping[str, object]):
    from .catalogue import REFERENCE_PROFILE, lever, sized

    if not sizes:
        return cfg
    reference = load([f"population={REFERENCE_PROFILE}"]).population
    for key, size in sizes.items():
        name = key.removeprefix(SIZE)
        program = cfg.scenario.programs.get(name)
        if program is None:
            allowed = ", ".join(SIZE + p for p in cfg.scenario.programs) or "none"
            raise ConfigError(f"{key}: the scenario {cfg.scenario.name!r} has no program "
                              f"{name!r}; allowed {allowed}")
        unit = lever(program, reference)
        if unit.unit is None:
            raise ConfigError(f"{key}: a {program.kind} program has no size (it acts through "
                              "the other programs)")
        if not isinstance(size, (int, float)) or isinstance(size, bool):
            raise ConfigError(f"{key} = {size!r} is not a number: allowed [1, "
                              f"{unit.max_size}] ({unit.unit})")
        try:
            cfg.scenario.programs[name] = sized(program, unit, int(round(size)), cfg.population)
        except ValueError as error:
            raise ConfigError(f"{key}: {error}") from None
    return validate(cfg)


def _scenario(scenario: str | Sequence[str]) -> str:
    """A scenario name, or several combined (their programs together): [cbt_youth,...]."""
    if isinstance(scenario, str):
        return scenario
    return "[" + ",".join(scenario) + "]"


def _head(population: str, scenario: str | Sequence[str], seed: int, years: int | None,
          burn_in_years: int | None, structure: str | None = None) -> list[str]:
    overrides = [f"population={population}", f"scenario={_scenario(scenario)}", f"seed={seed}"]
    if structure is not None:
        overrides.append(f"structure={structure}")
    if years is not None:
        overrides.append(f"years={years}")
    if burn_in_years is not None:
        overrides.append(f"burn_in_years={burn_in_years}")
    return overrides


@contextmanager
def _quiet_mesa():
    mesa_log = logging.getLogger("MESA")  # Mesa's loggers: MESA.mesa.*
    level = mesa_log.level
    mesa_log.setLevel(logging.WARNING)  # Mesa logs a line a step at INFO
    try:
        yield
    finally:
        mesa_log.setLevel(level)


def run_experiment(params: Mapping[str, object] | None = None, *, population: str = "small",
                   scenario: str | Sequence[str] = "baseline", seed: int = 0,
                   years: int | None = None, burn_in_years: int | None = None,
                   structure: str | None = None) -> dict[str, float]:
    """Outcomes of one run with `params` (dotted keys of the config, e.g.
    {"behaviour.peer_contagion": 0.2, "scenario.programs.cbt_youth.effect": 0.4}) on
    `population` and `scenario` (a name, or a list of names whose programs run together), under
    `structure` (configs/structure/; the default: selection): a flat dict of floats
    (`flatten`)."""
    return run_experiments([params or {}], population=population, scenario=scenario,
                           seed=seed, years=years, burn_in_years=burn_in_years,
                           structure=structure)[0]


def run_experiments(experiments: list[Mapping[str, object]], *, population: str = "small",
                    scenario: str | Sequence[str] = "baseline", seed: int = 0,
                    years: int | None = None, burn_in_years: int | None = None,
                    structure: str | None = None) -> list[dict[str, float]]:
    """`run_experiment` for each parameter dict of `experiments`, in this process, the base
    config composed once; the same outcomes as one call each. An experiment may set `seed`
    (or any key) itself. Every experiment's config is checked before the first runs."""
    base = OmegaConf.structured(load([*_head(population, scenario, seed, years, burn_in_years,
                                             structure),
                                      "progress=false", "figures=false"]))
    configs = []  # every experiment checked before any runs
    for params in experiments:
        params = dict(params or {})
        sizes = {k: params.pop(k) for k in list(params) if k.startswith(SIZE)}
        dotlist = [_override(k, v) for k, v in params.items()]
        try:
            merged = OmegaConf.merge(base, OmegaConf.from_dotlist(dotlist))
        except Exception as error:  # an unknown key, a value of the wrong type
            raise ConfigError(one_line(error)) from None
        configs.append(_sized(validate(merged), sizes))
    with _quiet_mesa():
        return [flatten(_summary(cfg)) for cfg in configs]


__all__ = ["summary_of", "flatten", "run_experiment", "run_experiments", "parameters",
           "plausible_ranges"]


def parameters(population: str = "city", structure: str = "selection", *,
               kind: str | None = None) -> list[dict]:
    """The parameter catalogue as records (`vpsim-params --json`), defaults on `population`
    under `structure`; only one `kind` (sourced, fitted, illustrative, setting) when given."""
    from .parameters import KIND_NAMES, as_records
    from .parameters import parameters as catalogue

    if kind is not None and kind not in KIND_NAMES:
        raise ConfigError(f"kind = {kind!r}: allowed {', '.join(KIND_NAMES)}")
    return as_records([p for p in catalogue(population, structure)
                       if kind is None or p.kind == kind])


def plausible_ranges(keys: list[str] | None = None, *, population: str = "city",
                     structure: str = "selection") -> dict[str, tuple[float, float]]:
    """{key: (low, high)}: the plausible range of each parameter that has one (all of them, or
    `keys`, in their order); a key without one is refused, naming it."""
    from .parameters import by_key

    catalogue = by_key(population, structure)
    if keys is None:
        return {k: p.plausible for k, p in catalogue.items() if p.plausible is not None}
    out = {}
    for key in keys:
        p = catalogue.get(key)
        if p is None:
            raise ConfigError(f"{key}: not in the parameter catalogue (vpsim-params lists it)")
        if p.plausible is None:
            raise ConfigError(f"{key}: has no plausible range (kind {p.kind}): it is not drawn")
        out[key] = p.plausible
    return out
