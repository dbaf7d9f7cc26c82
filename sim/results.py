"""A run's directory: resolved config, weekly Parquet, summary JSON, figures.

Every file is written atomically (`sim.io`). `summary.json` is written last: its presence marks
a complete run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .io import json_safe, write_json, write_parquet, write_yaml

if TYPE_CHECKING:
    from .model import ViolencePreventionModel

SUMMARY = "summary.json"
TIMESERIES = "timeseries.parquet"
CONFIG = "config.yaml"
FAILURE = "failure.json"
NOT_HASHED = ("progress", "figures", "sweep_name", "threads")  # do not change what a run computes


def config_hash(resolved: dict) -> str:
    """A fingerprint of everything that decides a run's results."""
    kept = {k: v for k, v in resolved.items() if k not in NOT_HASHED}
    text = json.dumps(json_safe(kept), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def completed_summary(run_dir: Path, fingerprint: str) -> dict | None:
    """The summary of a complete run of this very config in `run_dir`, if there is one."""
    path = Path(run_dir) / SUMMARY
    if not path.exists():
        return None
    try:
        summary = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return summary if summary.get("config_hash") == fingerprint else None


def write_failure(run_dir: Path, fingerprint: str, error: BaseException) -> None:
    write_json(Path(run_dir) / FAILURE, {
        "status": "failed", "config_hash": fingerprint,
        "error": f"{type(error).__name__}: {error}"})


def write_run(run_dir: Path, model: ViolencePreventionModel, figures: bool = True) -> dict:
    """Write every output of a finished run into `run_dir`; return the summary.

    The summary carries `config_hash`, so a sweep run again skips what is already complete.
    """
    from . import outcomes

    run_dir = Path(run_dir)
    resolved = model.resolved_config()
    write_yaml(run_dir / CONFIG, resolved)
    write_parquet(run_dir / TIMESERIES, outcomes.timeseries(model))
    summary = {"config_hash": config_hash(resolved), **outcomes.summary(model)}
    if figures:
        from . import plots
        plots.write_run_figures(run_dir, model, summary)
    write_json(run_dir / SUMMARY, summary)
    (run_dir / FAILURE).unlink(missing_ok=True)
    return summary


def read_summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / SUMMARY).read_text())
