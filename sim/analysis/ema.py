"""vpsim as an EMA Workbench model (`pip install -e ".[analysis]"`).

`model(...)` returns a `ReplicatorModel` whose uncertainties are the catalogue's plausible ranges
(`sim.parameters`), whose levers are the scenario's program sizes (`size.<program>`, in units
that mean the same on every profile) and whose replications are seeds (common random numbers:
every experiment runs on the same seeds). Each outcome is the mean over the replications.

    from ema_workbench import perform_experiments
    from sim.analysis import ema
    experiments, outcomes = perform_experiments(ema.model(population="small"), scenarios=20)

EMA's names must be Python identifiers: a dotted key is named with '__' for '.'
(`behaviour__peer_contagion`); `outcome_names` and `parameter_names` map them back.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

with warnings.catch_warnings():  # the cluster evaluator's optional dependency, not ours
    warnings.filterwarnings("ignore", message="ipyparallel not installed")
    import ema_workbench  # noqa: F401

from ema_workbench import (
    IntegerParameter,
    RealParameter,
    ReplicatorModel,
    ScalarOutcome,
)

from .. import api
from ..config import ConfigError
from ..parameters import parameters as catalogue
from . import dotted, identifier

OUTCOMES = ("violent_incidents_per_100k_per_year", "homicides_per_100k_per_year",
            "incarcerated_per_100k", "rearrest_within_1_year", "cost_total_marginal")
"""Outcomes by default: violence, homicide, incarceration, recidivism, cost."""


def uncertain_keys(population: str = "small", structure: str = "selection",
                   scenario: str | Sequence[str] = "baseline") -> list[str]:
    """Every catalogued parameter with a plausible range: behaviour, justice and population,
    and those of the programs in `scenario`."""
    programs = _programs(population, scenario)
    return [p.key for p in catalogue(population, structure) if p.plausible is not None
            and (p.section != "programs" or p.key.split(".")[2] in programs)]


def _programs(population: str, scenario: str | Sequence[str]) -> dict:
    from ..config import load

    return dict(load([f"population={population}",
                      f"scenario={api._scenario(scenario)}"]).scenario.programs)


def _lever_parameters(population: str, scenario: str | Sequence[str]) -> list:
    from ..catalogue import REFERENCE_PROFILE, lever
    from ..config import load

    reference = load([f"population={REFERENCE_PROFILE}"]).population
    out = []
    for name, program in _programs(population, scenario).items():
        unit = lever(program, reference)
        if unit.unit is not None:
            out.append(IntegerParameter(identifier(api.SIZE + name), 1, unit.max_size,
                                        default=unit.default_size))
    return out


def model(*, uncertainties: Sequence[str] | None = None, levers: bool = True,
          outcomes: Sequence[str] = OUTCOMES, population: str = "small",
          scenario: str | Sequence[str] = "baseline", seeds: int | Sequence[int] = 3,
          years: int | None = None, burn_in_years: int | None = None,
          structure: str = "selection", name: str = "vpsim") -> ReplicatorModel:
    """An EMA `ReplicatorModel` of vpsim.

    uncertainties: dotted keys (default: `uncertain_keys`), each over its plausible range
    (integers as `IntegerParameter`); levers: the sizes of the scenario's programs; outcomes:
    keys of the flat outcomes (`sim.api.flatten`), the mean over `seeds` (a count: 0..n-1, or
    the seeds themselves). Bad keys are refused now, not in the middle of a batch.
    """
    keys = list(uncertainties) if uncertainties is not None else uncertain_keys(
        population, structure, scenario)
    ranges = api.plausible_ranges(keys, population=population, structure=structure)
    defaults = {p.key: p.default for p in catalogue(population, structure)}
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise ConfigError("seeds: at least one replication")
    probe = api.run_experiment({}, population=population, scenario=scenario, years=1,
                               burn_in_years=0, structure=structure)
    unknown = [o for o in outcomes if o not in probe]
    if unknown:
        raise ConfigError(f"outcomes {unknown}: not outcomes of a run (e.g. "
                          f"{', '.join(OUTCOMES)})")

    run = _Run(population, scenario, years, burn_in_years, structure,
               frozenset(k for k, v in defaults.items() if isinstance(v, int)))
    m = ReplicatorModel(name, function=run)
    m.uncertainties = [
        IntegerParameter(identifier(k), int(lo), int(hi)) if isinstance(defaults[k], int)
        else RealParameter(identifier(k), lo, hi) for k, (lo, hi) in ranges.items()]
    if levers:
        m.levers = _lever_parameters(population, scenario)
    m.outcomes = [ScalarOutcome(identifier(o), variable_name=o, function=np.mean)
                  for o in outcomes]
    m.replications = [{"seed": s} for s in seeds]
    return m


class _Run:
    """One replication: EMA's names back to dotted keys, then `sim.api.run_experiment` (a class,
    not a closure, so that EMA's multiprocessing evaluator can send it to its worker processes)."""

    def __init__(self, population, scenario, years, burn_in_years, structure, integers):
        self.population, self.scenario, self.structure = population, scenario, structure
        self.years, self.burn_in_years, self.integers = years, burn_in_years, integers

    def __call__(self, seed: int, **values) -> dict[str, float]:
        params = {}
        for name, value in values.items():
            key = dotted(name)
            params[key] = int(value) if (key in self.integers or key.startswith(api.SIZE)) \
                else float(value)
        return api.run_experiment(params, population=self.population, scenario=self.scenario,
                                  seed=seed, years=self.years,
                                  burn_in_years=self.burn_in_years, structure=self.structure)


def parameter_names(columns: Sequence[str]) -> dict[str, str]:
    """{EMA column name: dotted key} for the experiments table's parameter columns."""
    return {c: dotted(c) for c in columns if "__" in c}


def outcome_names(outcomes: dict) -> dict[str, str]:
    return {k: dotted(k) for k in outcomes}
