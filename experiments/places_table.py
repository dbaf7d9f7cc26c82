"""The places' fit on other seeds, as the Markdown table of configs/CALIBRATION.md (Places).

    python experiments/places_table.py [--seeds 0-4] [--jobs 2] [names ...]

Runs each shipped place (experiments/places/<name>.yaml; its profile configs/population/<name>
.yaml) on the seeds (not the fit's 100-102), and prints every target and check: published,
model mean [95% interval], within tolerance; then each place's fitted values.
"""

from __future__ import annotations

import argparse

import yaml

from sim import places
from sim.config_files import CONFIG_DIR


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*")
    ap.add_argument("--seeds", default="0-4")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    names = args.names or sorted(p.stem for p in places.FIGURES_DIR.glob("*.yaml"))
    seeds = places._seeds(args.seeds)
    print("| place | figure | published (year) | tolerance | model, seeds "
          f"{args.seeds} | fit |\n|---|---|---|---|---|---|")
    fitted = []
    with places.Runner(args.jobs) as run:
        for name in names:
            figures = places.read_figures(places.FIGURES_DIR / f"{name}.yaml")
            rows = places.fit_table(figures, run([f"population={name}"], seeds))
            for r in rows:
                tol = "check" if r["tolerance"] is None else f"±{r['tolerance']:.0%}"
                verdict = "" if r["within"] is None else ("ok" if r["within"] else "MISS")
                print(f"| {name} | {r['key']} | {r['published']:.4g} ({r['year']}) | {tol} | "
                      f"{r['model']:.3g} [{r['low']:.3g}, {r['high']:.3g}] | {verdict} |",
                      flush=True)
            profile = yaml.safe_load((CONFIG_DIR / "population" / f"{name}.yaml").read_text())
            pop, jus = profile["population"], profile.get("justice", {})
            fitted.append((name, pop.get("offending_level"), pop.get("lethality_level"),
                           pop.get("clearance_level"), jus.get("clearance_homicide"),
                           jus.get("pretrial_detention"),
                           (pop.get("firearm_carrying") or {}).get("scale")))
    print("\n| place | offending_level | lethality_level | clearance_level | "
          "clearance_homicide (set) | pretrial_detention | firearm_carrying.scale |\n"
          "|---|---|---|---|---|---|---|")
    for row in fitted:
        print("| " + " | ".join([row[0]] + ["" if v is None else f"{v:.3g}" for v in row[1:]])
              + " |")


if __name__ == "__main__":
    main()
