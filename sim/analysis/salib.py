"""vpsim for SALib (`pip install -e ".[analysis]"`): global sensitivity over the catalogue's
plausible ranges.

    from SALib.sample import sobol as sample
    from SALib.analyze import sobol
    from sim.analysis import salib
    problem = salib.problem(["behaviour.peer_contagion", "justice.clearance_violent"])
    X = sample.sample(problem, 64)
    Y = salib.evaluate(problem, X, "violent_incidents_per_100k_per_year", population="small")
    sobol.analyze(problem, Y)

`evaluate` runs each row on the same seeds (common random numbers), so the output is a
deterministic function of the parameters and a parameter that changes nothing has an index of 0;
chance between seeds is averaged over `seeds`, not counted as sensitivity.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import api
from ..config import ConfigError
from ..parameters import parameters as catalogue


def problem(keys: Sequence[str] | None = None, *, population: str = "small",
            structure: str = "selection", groups: bool = False) -> dict:
    """A SALib problem over `keys` (dotted; default: every parameter with a plausible range
    outside the programs), bounded by their plausible ranges. groups: group the parameters by
    section (behaviour, justice, population) for grouped Sobol indices."""
    if keys is None:
        keys = [p.key for p in catalogue(population, structure)
                if p.plausible is not None and p.section != "programs"]
    ranges = api.plausible_ranges(list(keys), population=population, structure=structure)
    out = {"num_vars": len(ranges), "names": list(ranges),
           "bounds": [list(r) for r in ranges.values()]}
    if groups:
        out["groups"] = [k.split(".")[0] for k in ranges]
    return out


def evaluate(problem: dict, X: np.ndarray, outcomes: str | Sequence[str], *,
             population: str = "small", scenario: str | Sequence[str] = "baseline",
             seeds: int | Sequence[int] = 1, years: int | None = None,
             burn_in_years: int | None = None, structure: str = "selection",
             progress: bool = False) -> np.ndarray:
    """The model at each row of `X` (a SALib sample of `problem`): the mean over `seeds` of
    `outcomes` (one key: shape (n,); several: (n, k)). Integer parameters are rounded."""
    names = problem["names"]
    X = np.asarray(X, float)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ConfigError(f"X has shape {X.shape}: one column per parameter of the problem "
                          f"({len(names)})")
    keys = [outcomes] if isinstance(outcomes, str) else list(outcomes)
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    integer = {p.key for p in catalogue(population, structure) if isinstance(p.default, int)
               and not isinstance(p.default, bool)}
    rows = [{k: (int(round(v)) if k in integer else float(v)) for k, v in zip(names, x)}
            for x in X]
    Y = np.zeros((len(rows), len(keys)))
    batches = [(s, [{**r, "seed": s} for r in rows]) for s in seeds]
    bar = _progress(len(rows) * len(seeds)) if progress else None
    for seed, batch in batches:
        for start in range(0, len(batch), 64):  # a batch at a time: configs, then runs
            part = batch[start:start + 64]
            out = api.run_experiments(part, population=population, scenario=scenario,
                                      seed=seed, years=years, burn_in_years=burn_in_years,
                                      structure=structure)
            missing = [k for k in keys if k not in out[0]]
            if missing:
                raise ConfigError(f"outcomes {missing}: not outcomes of a run")
            Y[start:start + len(part)] += [[o[k] for k in keys] for o in out]
            if bar is not None:
                bar.update(len(part))
    if bar is not None:
        bar.close()
    Y /= len(seeds)
    return Y[:, 0] if isinstance(outcomes, str) else Y


def _progress(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="run", desc="vpsim")
