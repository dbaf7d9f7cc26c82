"""Fit program effects to their own evaluations, not to the population outcome.

Usage:
    python experiments/fit_programs.py [KIND ...] [--seeds 5] [--first-seed 100] [--rounds 6]
                                        [--profile city]

For each kind (default: every kind whose effect is fitted, `FITS`) this finds the scenario
file's `effect` by bisection so that the kind's virtual evaluation (`sim.evaluate`: the design of
the study its effect comes from, run inside the model) gives the midpoint of the published range
on the statistic the evaluation checks (`Evaluation.checked_on`: the design's estimate, or the
placebo-paired one where the design is too noisy at city size). Fits run on seeds 100 and up;
the slow tests check on seeds 0-4 (tests/test_program_evaluations.py). Minutes per kind: a
script, not a test. Write the value it prints into `scenarios/<kind>.yaml` by hand, with the
date, and re-run `vpsim-evaluate all`.

What is fitted, and what is held (configs/CALIBRATION.md, "Programs"): one parameter per kind,
its `effect`; the kind's other parameters (caseloads, mediation share, uptake, the clearance
multiplier of focused deterrence) keep the values of its scenario file, sourced or illustrative.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import evaluate as ev  # noqa: E402


@dataclass(frozen=True)
class Fit:
    low: float  # the bracket of `effect`
    high: float
    rises: bool  # the checked statistic rises with `effect` (a hazard ratio) or falls (presence)


FITS = {
    "cbt_youth": Fit(0.3, 0.55, rises=True),
    "reentry_employment": Fit(0.05, 1.0, rises=True),
    "violence_interruption": Fit(0.05, 1.0, rises=True),
    "focused_deterrence": Fit(0.02, 1.0, rises=True),
    "hotspot_policing": Fit(1.0, 2.0, rises=False),
}


def target(kind: str) -> float:
    e = ev.EVALUATIONS[kind]
    return 0.5 * (e.published_low + e.published_high)


def checked(kind: str, effect: float, seeds: int, first_seed: int, profile: str) -> dict:
    overrides = [f"seed={first_seed}", f"scenario.programs.{kind}.effect={effect:.4g}"]
    return ev.evaluate(kind, overrides, seeds=seeds, profile=profile)


def fit(kind: str, seeds: int, first_seed: int, rounds: int, profile: str) -> float:
    f = FITS[kind]
    goal = target(kind)
    # bisection on log(effect): effects are ratios
    lo, hi = math.log(f.low), math.log(f.high)
    best = None
    for k in range(rounds):
        mid = 0.5 * (lo + hi)
        effect = math.exp(mid)
        r = checked(kind, effect, seeds, first_seed, profile)
        value = r["checked_effect"]
        print(f"{kind}: round {k + 1}: effect {effect:.4g} -> {r['checked_on']} "
              f"{value:+.4f} [{r['checked_ci_low']:+.4f}, {r['checked_ci_high']:+.4f}] "
              f"(design {r['model_effect']:+.4f}); target {goal:+.4f}", flush=True)
        if best is None or abs(value - goal) < abs(best[1] - goal):
            best = (effect, value)
        too_weak = value > goal  # not negative enough
        if too_weak == f.rises:
            hi = mid  # a lower hazard ratio (or, for presence, ...) is needed
        else:
            lo = mid
    print(f"{kind}: effect {best[0]:.3g} gives {best[1]:+.4f} (target {goal:+.4f}, "
          f"seeds {first_seed}-{first_seed + seeds - 1}, {profile})", flush=True)
    return best[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kinds", nargs="*", help="kinds to fit (default: " + ", ".join(FITS)
                        + ")")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--profile", default=ev.REFERENCE_PROFILE)
    args = parser.parse_args(argv)
    unknown = [k for k in args.kinds if k not in FITS]
    if unknown:
        parser.error(f"{', '.join(unknown)}: not fitted here; allowed {', '.join(FITS)}")
    for kind in args.kinds or list(FITS):
        fit(kind, args.seeds, args.first_seed, args.rounds, args.profile)


if __name__ == "__main__":
    main()
