"""A results baseline: the default `small` run's summary, without and with programs.

The reference model keeps the resident rules honest; this keeps everything else honest too: the
code that the engine and the reference share (parameters and their derivation, the population,
the community update, programs' bookkeeping, outcomes). Any change of a number fails here and
shows in review as a diff of `tests/baseline/*.json`.

After an intended change of results: `make update-baseline` (or
`.venv/bin/python tests/test_baseline.py --update`), and say in the commit what moved and why.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

BASELINE = Path(__file__).resolve().parent / "baseline"
RUNS = {"small_baseline": ["population=small"],
        "small_comprehensive_plan": ["population=small", "scenario=comprehensive_plan"]}
NOT_COMPARED = ("config_hash",)  # follows the config's key names, not the results


def flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list):
        out = {}
        for k, v in enumerate(value):
            out.update(flat(v, f"{prefix}[{k}]"))
        return out
    return {prefix: value}


def current(overrides: list[str]) -> dict:
    from sim.config import load
    from sim.io import json_safe
    from sim.model import ViolencePreventionModel
    from sim.outcomes import summary

    model = ViolencePreventionModel(load([*overrides, "progress=false", "figures=false"]))
    model.run()
    numbers = flat(json_safe(summary(model)))
    return {k: v for k, v in numbers.items() if k.split(".")[0] not in NOT_COMPARED}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("name", list(RUNS))
def test_the_default_small_run_matches_its_baseline(name):
    stored = json.loads((BASELINE / f"{name}.json").read_text())
    now = current(RUNS[name])
    assert set(now) == set(stored), (
        f"outputs added {sorted(set(now) - set(stored))[:10]} or removed "
        f"{sorted(set(stored) - set(now))[:10]}: update the baseline if intended")
    moved = {k: (stored[k], now[k]) for k in stored if not same(now[k], stored[k])}
    assert not moved, (f"{len(moved)} numbers moved (baseline, now), e.g. "
                       f"{dict(list(moved.items())[:8])}; update the baseline if intended")


def update() -> None:
    BASELINE.mkdir(exist_ok=True)
    for name, overrides in RUNS.items():
        path = BASELINE / f"{name}.json"
        path.write_text(json.dumps(current(overrides), indent=1, sort_keys=True) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_baseline.py --update")
    update()
