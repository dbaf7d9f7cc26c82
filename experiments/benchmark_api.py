"""What an experiment costs through the API, against the bare simulation.

Usage:
    python experiments/benchmark_api.py [--profile small] [--experiments 10] [--years 10]

Prints, per experiment (mean over `--experiments` seeds, after one untimed warm-up run that loads
the compiled kernels): the bare simulation (config already built: build the model, run it,
summarise), `run_experiments` (the batch: configs composed once, each checked, run and
flattened) and `run_experiment` (one Hydra composition a call), and their ratios to the bare
run. Measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> None:
    from sim import api
    from sim.config import load

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="small")
    parser.add_argument("--experiments", type=int, default=10)
    parser.add_argument("--years", type=int, default=10)
    args = parser.parse_args(argv)
    n, head = args.experiments, dict(population=args.profile, years=args.years)
    api.run_experiment({}, **head)  # warm-up: the compiled kernels are loaded once

    configs = [load([f"population={args.profile}", f"years={args.years}", f"seed={s}",
                     "progress=false", "figures=false"]) for s in range(n)]
    started = time.perf_counter()
    for cfg in configs:
        api.flatten(api._summary(cfg))
    bare = (time.perf_counter() - started) / n

    started = time.perf_counter()
    api.run_experiments([{"seed": s} for s in range(n)], **head)
    batch = (time.perf_counter() - started) / n

    started = time.perf_counter()
    for s in range(n):
        api.run_experiment({}, seed=s, **head)
    single = (time.perf_counter() - started) / n

    print(f"{args.profile}, {args.years} years, {n} experiments: seconds per experiment")
    print(f"  bare simulation   {bare:7.3f}")
    print(f"  run_experiments   {batch:7.3f}  ({batch / bare:.2f}x bare)")
    print(f"  run_experiment    {single:7.3f}  ({single / bare:.2f}x bare)")


if __name__ == "__main__":
    main()
