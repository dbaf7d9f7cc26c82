"""Scenario discovery with the EMA Workbench: under which parameter values is violence high?

A Latin hypercube of experiments over the catalogue's plausible ranges (sim/parameters.yaml),
each run on the same seeds (EMA replications, averaged); PRIM then looks for boxes of parameter
space where violence is in its top quarter, and feature scoring ranks the parameters.

    python experiments/ema_example.py                      # 20 experiments x 3 seeds on small
    python experiments/ema_example.py --experiments 100 --processes 2
    python experiments/ema_example.py --scenario cbt_youth --policies 4   # levers: program sizes

Needs the analysis extra (`pip install -e ".[analysis]"`; `make setup` installs it).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.analysis import ema  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, default=20, help="Latin hypercube size")
    parser.add_argument("--policies", type=int, default=0,
                        help="lever samples (program sizes of the scenario); 0: as in its file")
    parser.add_argument("--seeds", type=int, default=3, help="replications per experiment")
    parser.add_argument("--population", default="small")
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--burn-in-years", type=int, default=10)
    parser.add_argument("--outcome", default="violent_incidents_per_100k_per_year")
    parser.add_argument("--quantile", type=float, default=0.75,
                        help="'high' is at or above this quantile of the outcome")
    parser.add_argument("--processes", type=int, default=1, help="EMA multiprocessing workers")
    parser.add_argument("--sample-seed", type=int, default=2026, help="the hypercube's draw")
    args = parser.parse_args(argv)

    from ema_workbench import MultiprocessingEvaluator, SequentialEvaluator
    from ema_workbench.analysis import feature_scoring, prim

    model = ema.model(population=args.population, scenario=args.scenario, seeds=args.seeds,
                      years=args.years, burn_in_years=args.burn_in_years,
                      outcomes=sorted({args.outcome, *ema.OUTCOMES}))
    print(f"{len(model.uncertainties)} uncertainties over their plausible ranges, "
          f"{len(model.levers)} levers, {args.experiments} experiments x {args.seeds} seeds "
          f"on {args.population}")
    evaluator = (MultiprocessingEvaluator(model, n_processes=args.processes)
                 if args.processes > 1 else SequentialEvaluator(model))
    with evaluator:
        experiments, outcomes = evaluator.perform_experiments(
            scenarios=args.experiments, policies=args.policies,
            uncertainty_sampling_kwargs={"rng": args.sample_seed},
            lever_sampling_kwargs={"rng": args.sample_seed + 1})

    y = outcomes[args.outcome]
    if not np.all(np.isfinite(y)):
        print(f"{args.outcome} is undefined in some experiments (nan): choose another outcome",
              file=sys.stderr)
        return 1
    print(f"\n{args.outcome}: median {np.median(y):,.0f}, range {y.min():,.0f}-{y.max():,.0f}")
    names = [u.name for u in model.uncertainties] + [lv.name for lv in model.levers]
    x = experiments[names]
    high = y >= np.quantile(y, args.quantile)
    print(f"'high': {args.outcome} >= {np.quantile(y, args.quantile):,.0f} "
          f"({high.sum()} of {len(y)} experiments)\n")

    print("== PRIM: boxes of parameter space where the outcome is high ==")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        alg = prim.Prim(x, high, peel_alpha=0.1)
        box = alg.find_box()
        if box is None:
            print("PRIM found no box")
        else:
            # on the peeling trajectory: the most coverage at a density of at least 0.6
            # (the most density if none reaches it)
            t = box.peeling_trajectory
            dense = t[t.density >= 0.6]
            box.select(int(dense.coverage.idxmax() if len(dense) else t.density.idxmax()))
            box.inspect(style="table")

    print("== Feature scoring (extra trees): what the outcomes depend on most ==")
    scores = feature_scoring.get_feature_scores_all(x, {k: v for k, v in outcomes.items()
                                                        if np.all(np.isfinite(v))})
    top = scores[args.outcome].sort_values(ascending=False).head(10)
    print(pd.DataFrame({"parameter": [ema.dotted(n) for n in top.index],
                        "score": top.to_numpy().round(3)}).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
