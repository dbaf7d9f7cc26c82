"""Global sensitivity over the catalogue's plausible ranges (SALib): Morris as the cheap screen,
Sobol on what it keeps.

Every parameter is drawn over its plausible range (sim/parameters.yaml); each point runs on the
same seeds (common random numbers), so chance is averaged, not counted as sensitivity. Writes
`indices.csv` and `indices.png` to --out and prints the table.

    python experiments/sensitivity.py                           # Morris over every parameter
    python experiments/sensitivity.py --method sobol --top 8    # Morris, then Sobol on its top 8
    python experiments/sensitivity.py --method sobol --keys behaviour.peer_contagion \
        behaviour.deterrence_violent justice.clearance_violent --samples 128

Cost (runs): Morris (D + 1) x trajectories; Sobol samples x (D + 2) (first and total order);
each x seeds. A `small` run of 5 + 10 years takes about 0.3 s.
Needs the analysis extra (`pip install -e ".[analysis]"`; `make setup` installs it).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.analysis import salib  # noqa: E402


def morris(problem: dict, run, trajectories: int, seed: int) -> pd.DataFrame:
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    X = sample.sample(problem, trajectories, num_levels=4, seed=seed)
    Y = run(X)
    S = analyze.analyze(problem, X, Y, num_levels=4, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu_star": S["mu_star"],
                         "mu_star_conf": S["mu_star_conf"], "sigma": S["sigma"]}
                        ).sort_values("mu_star", ascending=False, ignore_index=True)


def sobol(problem: dict, run, samples: int, seed: int) -> pd.DataFrame:
    from SALib.analyze import sobol as analyze
    from SALib.sample import sobol as sample

    X = sample.sample(problem, samples, calc_second_order=False, seed=seed)
    Y = run(X)
    S = analyze.analyze(problem, Y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": S["S1"],
                         "S1_conf": S["S1_conf"], "ST": S["ST"], "ST_conf": S["ST_conf"]}
                        ).sort_values("ST", ascending=False, ignore_index=True)


def figure(table: pd.DataFrame, method: str, outcome: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = table.head(20).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.5))
    y = np.arange(len(rows))
    if method == "morris":
        ax.barh(y, rows.mu_star, xerr=rows.mu_star_conf, color="C0", label="mu* (mean |effect|)")
        ax.plot(rows.sigma, y, "o", color="C3", label="sigma (interactions, non-linearity)")
        ax.set_xlabel(f"elementary effect on {outcome}")
    else:
        ax.barh(y + 0.2, rows.ST, height=0.4, xerr=rows.ST_conf, color="C0", label="total (ST)")
        ax.barh(y - 0.2, rows.S1, height=0.4, xerr=rows.S1_conf, color="C1",
                label="first order (S1)")
        ax.set_xlabel(f"share of the variance of {outcome}")
    ax.set_yticks(y, rows.parameter)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"{method.capitalize()} indices over the plausible ranges")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", choices=("morris", "sobol"), default="morris")
    parser.add_argument("--keys", nargs="+", help="parameters (default: every one with a "
                        "plausible range outside the programs)")
    parser.add_argument("--top", type=int, default=0,
                        help="sobol: screen with Morris first and keep the top K")
    parser.add_argument("--trajectories", type=int, default=4, help="Morris trajectories")
    parser.add_argument("--samples", type=int, default=64, help="Sobol base samples (2^k)")
    parser.add_argument("--outcome", default="violent_incidents_per_100k_per_year")
    parser.add_argument("--population", default="small")
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--structure", default="selection")
    parser.add_argument("--seeds", type=int, default=2, help="seeds averaged at each point")
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--burn-in-years", type=int, default=10)
    parser.add_argument("--sample-seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=Path("outputs/sensitivity"))
    args = parser.parse_args(argv)

    problem = salib.problem(args.keys, population=args.population, structure=args.structure)

    def run(X):
        return salib.evaluate(problem, X, args.outcome, population=args.population,
                              scenario=args.scenario, seeds=args.seeds, years=args.years,
                              burn_in_years=args.burn_in_years, structure=args.structure,
                              progress=True)

    start = time.perf_counter()
    method = args.method
    if method == "sobol" and args.top:
        screen = morris(problem, run, args.trajectories, args.sample_seed)
        keep = screen.parameter.head(args.top).tolist()
        print(f"Morris screen over {problem['num_vars']} parameters kept: {', '.join(keep)}")
        problem = salib.problem(keep, population=args.population, structure=args.structure)
    table = (morris(problem, run, args.trajectories, args.sample_seed) if method == "morris"
             else sobol(problem, run, args.samples, args.sample_seed))
    args.out.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out / "indices.csv", index=False)
    figure(table, method, args.outcome, args.out / "indices.png")
    print(f"\n{method} indices of {args.outcome} on {args.population} ({args.seeds} seeds a "
          f"point; {time.perf_counter() - start:.0f} s):")
    print(table.head(20).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nwrote {args.out / 'indices.csv'} and {args.out / 'indices.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
