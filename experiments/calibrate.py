"""Fit the behaviour to every published target at once, and check the fit.

Usage:
    python experiments/calibrate.py check [--structure selection] [--seeds 5] [overrides ...]
    python experiments/calibrate.py fit   [--structure selection] [--trials 300] [--seeds 2]

The targets, their tolerances and weights are `configs/calibration_targets.yaml` (the entries of
shared/data/targets.yaml that the model reports). A structure is a `configs/structure/` file:
`selection` (the default: prison itself adds nothing lasting) or `criminogenic_prison` (a prison
record multiplies the hazard by 1.3 for life), with the behaviour and justice fitted under it.

`fit` minimises one objective over all targets: the weighted sum of squared errors, each in
units of its tolerance (a range counts as zero inside, distance outside; a shape as one unit per
band off its peak), plus the drift of the yearly series beyond what is allowed. Each trial runs
the `city` profile with `--seeds` replicates; the seeds are the same in every trial (common random
numbers), so the objective is smooth in the parameters. The level targets measured on `nyc` are
fitted on `city` (the same behaviour and justice at a smaller size) and checked on `nyc`. The
search is Optuna's TPE sampler (multivariate), called directly; it prints the best parameters
as YAML to paste into `configs/behaviour/<structure>.yaml` and the other files they belong to.

The places of the Americas are fitted after the behaviour, each to its own published figures,
by `vpsim-place new NAME --from experiments/places/NAME.yaml` (sim/places.py).

`check` prints every target against the mean over replicates with a 95% interval.
The searches are scripts, not tests: they take tens of minutes. The slow tests check the fit.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import yaml

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGETS_FILE = REPO / "configs" / "calibration_targets.yaml"
STRUCTURES = ("selection", "criminogenic_prison")

# The fitted parameters and the ranges searched (log: searched on the log scale).
FITTED = {
    "population.propensity_sigma": (0.8, 2.6, False),
    "behaviour.base_offending_per_year": (0.1, 3.0, True),
    "behaviour.violent_share": (0.05, 0.4, False),
    "behaviour.female_relative_offending": (0.1, 0.5, False),
    "behaviour.state_propensity_gradient": (0.0, 1.5, False),
    "behaviour.post_release": (0.0, math.log(1.5), False),
    "behaviour.post_release_half_life_weeks": (4.0, 26.0, False),
    "behaviour.lethality": (1e-4, 3e-3, True),
    "behaviour.victim_male_lethality": (1.0, 6.0, False),
    "justice.clearance_other": (0.05, 0.8, False),
    "justice.supervision_detection": (1.0, 2.5, False),
    "justice.revocation_per_year": (0.0, 0.6, False),
    # the age curve of offending after the peak (incidence; prevalence must still peak at 15-19)
    "age_curve_relative_30": (0.3, 0.9, False),
    "age_curve_relative_40": (0.15, 0.7, False),
}
AGE_KNOTS = {"age_curve_relative_30": 4, "age_curve_relative_40": 5}  # index in the knot list


def as_overrides(params: dict, base_curve: list[float]) -> list[str]:
    """Hydra overrides for fitted parameters; the age-curve knots become one list."""
    curve = list(base_curve)
    out = []
    for key, v in params.items():
        if key in AGE_KNOTS:
            curve[AGE_KNOTS[key]] = v
        else:
            out.append(f"{key}={v:.6g}")
    if any(k in params for k in AGE_KNOTS):
        out.append("behaviour.age_curve_relative=[" + ",".join(f"{v:.4g}" for v in curve) + "]")
    return out


def targets() -> dict:
    return yaml.safe_load(TARGETS_FILE.read_text())


def lookup(summary: dict, key: str):
    value = summary
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def run_one(args: tuple[list[str], int]) -> dict:
    from sim.api import summary_of

    overrides, seed = args
    return summary_of([*overrides, f"seed={seed}"])


def replicate(overrides: list[str], seeds, workers: int = 1) -> list[dict]:
    jobs = [(overrides, s) for s in seeds]
    if workers == 1:
        return [run_one(job) for job in jobs]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        return list(pool.map(run_one, jobs))


def mean_ci(values) -> tuple[float, float, float]:
    from scipy import stats

    x = np.asarray([v for v in values if v is not None], float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - half, m + half


def loss_terms(by_profile: dict[str, list[dict]], spec: dict, fitting: bool) -> dict[str, float]:
    """Each target's weighted squared error in tolerance units (ranges: distance outside)."""
    terms = {}
    for t in spec["targets"]:
        runs = by_profile.get(t["profile"] if not fitting else "city")
        if runs is None or (fitting and t["weight"] == 0):
            continue
        value = float(np.mean([lookup(s, t["key"]) or math.nan for s in runs]))
        if "range" in t:
            lo, hi = t["range"]
            scale = (hi - lo) / 2
            error = max(lo - value, 0.0, value - hi) / scale
        else:
            error = (value - t["value"]) / t["tolerance"]
        terms[f"{t['profile']}:{t['key']}"] = t["weight"] * (error if math.isfinite(error)
                                                           else 10.0) ** 2
    for peak in spec["peaks"]:
        runs = by_profile.get(peak["profile"])
        if runs is None:
            continue
        bands = list(runs[0][peak["key"]])
        mean = np.mean([[s[peak["key"]][b] or 0.0 for b in bands] for s in runs], axis=0)
        top = bands[int(np.argmax(mean))]
        off = min(abs(bands.index(top) - bands.index(b)) for b in peak["bands"])
        terms[f"peak:{peak['key']}"] = float(off) ** 2
    for drift in spec["drift"]:
        runs = by_profile.get(drift["profile"])
        if runs is None:
            continue
        for key in drift["keys"]:
            slope = abs(float(np.mean([s[key] for s in runs])))
            terms[f"drift:{key}"] = (max(0.0, slope - drift["max"]) / drift["max"]) ** 2
    return terms


def structure_overrides(structure: str) -> list[str]:
    if structure not in STRUCTURES:
        sys.exit(f"calibrate: --structure {structure!r}: allowed {', '.join(STRUCTURES)}")
    return [f"structure={structure}"]


def cmd_fit(args) -> None:
    try:
        import optuna
    except ImportError:
        sys.exit("calibrate fit needs Optuna: .venv/bin/pip install -e '.[calibration]'")
    from sim.config import load

    spec = targets()
    base = structure_overrides(args.structure) + ["population=city", *args.overrides]
    base_curve = list(load(base).behaviour.age_curve_relative)
    seeds = list(range(100, 100 + args.seeds))  # not the slow tests' seeds (0-4)
    log = open(args.log, "a") if args.log else None  # noqa: SIM115 (open for the whole search)

    def objective(trial: optuna.Trial) -> float:
        params = {k: trial.suggest_float(k, lo, hi, log=is_log)
                  for k, (lo, hi, is_log) in FITTED.items()}
        overrides = base + as_overrides(params, base_curve)
        runs = replicate(overrides, seeds)
        terms = loss_terms({"city": runs}, spec, fitting=True)
        loss = float(sum(terms.values()))
        for k, v in terms.items():
            trial.set_user_attr(k, v)
        if log:
            log.write(json.dumps({"trial": trial.number, "loss": loss, "params": params,
                                  "terms": terms}) + "\n")
            log.flush()
        return loss

    storage = f"sqlite:///{args.study}" if args.study else None
    name = args.structure
    if args.refine:  # a local search (CMA-ES) around the best trial of the first search
        first = optuna.load_study(study_name=args.structure, storage=storage)
        x0 = first.best_trial.params
        sampler = optuna.samplers.CmaEsSampler(x0=x0, sigma0=0.08, seed=args.sampler_seed,
                                               n_startup_trials=0)
        name = f"{args.structure}-refine"
    else:
        sampler = optuna.samplers.TPESampler(seed=args.sampler_seed, multivariate=True,
                                             n_startup_trials=min(40, args.trials // 4))
    study = optuna.create_study(direction="minimize", sampler=sampler, storage=storage,
                                study_name=name, load_if_exists=True)
    if args.refine and not study.trials:
        study.enqueue_trial(x0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    study.optimize(objective, n_trials=args.trials,
                   callbacks=[lambda s, t: print(f"trial {t.number}: {t.value:.3f} (best "
                                                 f"{s.best_value:.3f}) "
                                                 f"{time.perf_counter() - started:.0f} s",
                                                 flush=True)])
    best = study.best_trial
    print(f"\nbest trial {best.number}: loss {best.value:.3f}")
    for k, v in sorted(best.user_attrs.items(), key=lambda kv: -kv[1]):
        print(f"  {k:55s} {v:8.3f}")
    print("\n# fitted (experiments/calibrate.py fit --structure "
          f"{args.structure}, {len(study.trials)} trials x {args.seeds} seeds), as overrides:")
    print(" ".join(as_overrides(best.params, base_curve)))


def cmd_check(args) -> None:
    spec = targets()
    profiles = args.profiles or sorted({t["profile"] for t in spec["targets"]})
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    base = structure_overrides(args.structure)
    by_profile = {}
    for profile in profiles:
        by_profile[profile] = replicate(base + [f"population={profile}", *args.overrides],
                                        seeds, workers=args.workers)
    print(f"structure {args.structure}, {args.seeds} seeds; mean [95% interval]")
    for t in spec["targets"]:
        if t["profile"] not in by_profile:
            continue
        m, lo, hi = mean_ci([lookup(s, t["key"]) for s in by_profile[t["profile"]]])
        want = t.get("range", t.get("value"))
        print(f"  {t['profile']:17s} {t['key']:40s} {m:10.4g} [{lo:.4g}, {hi:.4g}]  "
              f"target {want}")
    if "city" in by_profile:  # what the fit sees: the other places' levels, measured on city
        for t in spec["targets"]:
            if t["profile"] not in by_profile and t["weight"] > 0:
                m, lo, hi = mean_ci([lookup(s, t["key"]) for s in by_profile["city"]])
                print(f"  city (as {t['profile']:5s})  {t['key']:40s} {m:10.4g} "
                      f"[{lo:.4g}, {hi:.4g}]  target {t.get('range', t.get('value'))}")
    for peak in spec["peaks"]:
        runs = by_profile.get(peak["profile"])
        if runs:
            bands = list(runs[0][peak["key"]])
            mean = np.mean([[s[peak["key"]][b] or 0.0 for b in bands] for s in runs], axis=0)
            print(f"  {peak['profile']:17s} {peak['key']:40s} peak {bands[int(np.argmax(mean))]}"
                  f"  target {peak['bands']}")
    for drift in spec["drift"]:
        for key in drift["keys"]:
            runs = by_profile.get(drift["profile"])
            if runs:
                m, lo, hi = mean_ci([s[key] for s in runs])
                print(f"  {drift['profile']:17s} {key:40s} {m:+10.4f} [{lo:+.4f}, {hi:+.4f}]"
                      f"  |target| <= {drift['max']}")
    terms = loss_terms(by_profile, spec, fitting=False)
    print(f"  loss {sum(terms.values()):.3f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("check", "fit"):
        p = sub.add_parser(name)
        p.add_argument("--structure", default="selection", help=", ".join(STRUCTURES))
        p.add_argument("--seeds", type=int, default={"check": 5, "fit": 2}[name])
        p.add_argument("--workers", type=int, default=2)
        if name == "check":
            p.add_argument("--profiles", nargs="*")
        if name == "check":  # fitting uses seeds 100 and up; the slow tests 0-4
            p.add_argument("--first-seed", type=int, default=0)
        if name == "fit":
            p.add_argument("--trials", type=int, default=300)
            p.add_argument("--study", help="an SQLite file to keep the study in (resumable)")
            p.add_argument("--log", help="a JSON-lines file of every trial")
            p.add_argument("--sampler-seed", type=int, default=0)
            p.add_argument("--refine", action="store_true",
                           help="CMA-ES around the best trial of --study's first search")
        p.add_argument("overrides", nargs="*", help="Hydra overrides for every run")
    args = ap.parse_args(argv)
    {"check": cmd_check, "fit": cmd_fit}[args.command](args)


if __name__ == "__main__":
    main()
