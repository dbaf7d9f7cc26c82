"""Benchmark a sweep: 10 scenarios x 10 seeds on `small`, 5 years after a 2-year burn-in.

Usage: .venv/bin/python experiments/benchmark_sweep.py [--seeds 10] [--out benchmark_sweep.json]
       .venv/bin/python experiments/benchmark_sweep.py --experiment compare_programs \
           [--code /path/to/another/checkout]    # a named experiment, e.g. against older code

Runs the multirun in a fresh temporary folder (joblib launcher, every core), then prints the
wall time against the 2-minute target and splits the work: time inside each job (building the
model, simulating, writing its outputs: printed by each job) against the rest of the core time
(Hydra's per-job set-up and composition, process start, the report). A second identical command
measures resuming: every job skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VPSIM = str(Path(sys.executable).parent / "vpsim")
SCENARIOS = ("baseline", "cbt_youth", "school_education", "violence_interruption",
             "focused_deterrence", "hotspot_policing", "prison_rehabilitation",
             "reentry_employment", "community_participation", "comprehensive_plan")
TARGET_S = 120.0


def _sweep(cwd: Path, seeds: int, experiment: str | None = None,
           code: Path | None = None) -> tuple[float, str]:
    if experiment:
        command = [VPSIM, "-m", f"+experiment={experiment}", "sweep_name=bench"]
    else:
        command = [VPSIM, "-m", f"scenario={','.join(SCENARIOS)}", f"seed=range(0,{seeds})",
                   "population=small", "years=5", "burn_in_years=2", "figures=false",
                   "progress=false", "sweep_name=bench"]
    env = dict(os.environ)
    if code is not None:  # another checkout's package (and configs) with this environment
        env["PYTHONPATH"] = str(code.resolve())
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"benchmark_sweep: the sweep failed:\n{result.stderr[-2000:]}")
    return wall, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmark_sweep.json"))
    parser.add_argument("--experiment", help="a named experiment instead (configs/experiment/)")
    parser.add_argument("--code", type=Path, help="run another checkout's code (PYTHONPATH)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="vpsim-sweep-") as tmp:
        cwd = Path(tmp)
        wall, out = _sweep(cwd, args.seeds, args.experiment, args.code)
        in_job = [float(x) for x in re.findall(r"of burn-in(?: \(shared\))?, ([0-9.]+) s",
                                               out)]
        shared = out.count("(shared)")
        resume_wall, resume_out = _sweep(cwd, args.seeds, args.experiment, args.code)
        skipped = resume_out.count("skipped")
    jobs = len(in_job)
    overhead = (wall * cores - sum(in_job)) / max(jobs, 1)
    figures = {
        "jobs": jobs, "cores": cores, "wall_s": wall, "target_wall_s": TARGET_S,
        "in_job_s_mean": sum(in_job) / max(jobs, 1),
        "per_job_overhead_core_s": overhead,
        "resume_wall_s": resume_wall, "resume_skipped": skipped, "shared_burn_in": shared,
        "experiment": args.experiment, "code": str(args.code or REPO),
    }
    what = (f"+experiment={args.experiment}" if args.experiment
            else f"10 scenarios x {args.seeds} seeds, small, 2 + 5 years")
    print(f"sweep: {jobs} jobs ({what}) on {cores} cores, code {args.code or REPO}")
    target = "" if args.experiment else (f"   target < {TARGET_S:.0f} s: "
                                          f"{'PASS' if wall < TARGET_S else 'MISS'}")
    print(f"  wall time                        {wall:8.1f} s{target}")
    print(f"  in each job (build, run, write)  {figures['in_job_s_mean']:8.2f} s mean; "
          f"{shared} jobs continued a shared burn-in")
    print(f"  per-job overhead (core time)     {overhead:8.2f} s "
          "(Hydra set-up, composition, process, report)")
    print(f"  the same command again           {resume_wall:8.1f} s, {skipped} of {jobs} "
          "jobs skipped")
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
