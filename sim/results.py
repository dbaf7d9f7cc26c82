"""Run directory I/O: resolved config, weekly Parquet, summary JSON, figures; atomic writes.

Each file is written to a temporary name in the same folder and renamed into place, so a killed
run never leaves a half-written file. `summary.json` is written last: its presence marks a
complete run. Only YAML, JSON, Parquet and PNG are written: nothing that runs code when read.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import yaml

if TYPE_CHECKING:
    from .model import ViolencePreventionModel

SUMMARY = "summary.json"
TIMESERIES = "timeseries.parquet"
CONFIG = "config.yaml"
FAILURE = "failure.json"
NOT_HASHED = ("progress", "figures", "sweep_name", "threads")  # do not change what a run computes


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json_safe(obj):
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):  # numpy scalar
        return _json_safe(obj.item())
    return obj


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_json_safe(data), indent=2, allow_nan=False) + "\n")


def write_yaml(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def config_hash(resolved: dict) -> str:
    """A fingerprint of everything that decides a run's results."""
    kept = {k: v for k, v in resolved.items() if k not in NOT_HASHED}
    text = json.dumps(_json_safe(kept), sort_keys=True, separators=(",", ":"))
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
