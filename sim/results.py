"""A run's directory: resolved config, weekly Parquet, summary JSON, figures.

Every file is written atomically (`sim.io`). A complete run ends with `complete.json`, written
last: the config hash and the SHA-256 of `summary.json` and `timeseries.parquet`. A rerun (and
the sweep report) trusts a run only while those files match it. An attempt starts by removing
`complete.json` and `failure.json`; a failed one writes `failure.json`: the latest attempt decides
a run's status.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .io import (  # noqa: F401 (re-exported)
    DiskFullError,
    atomic_path,
    is_disk_full,
    json_safe,
    remove_stale_temporary_files,
    write_json,
    write_parquet,
    write_yaml,
)

if TYPE_CHECKING:
    from .model import ViolencePreventionModel

SUMMARY = "summary.json"
TIMESERIES = "timeseries.parquet"
CONFIG = "config.yaml"
FAILURE = "failure.json"
COMPLETE = "complete.json"
# keys that do not change what a run computes
NOT_HASHED = ("progress", "figures", "sweep_name", "threads", "report")


def config_hash(resolved: dict) -> str:
    """A fingerprint of everything that decides a run's results."""
    kept = {k: v for k, v in resolved.items() if k not in NOT_HASHED}
    text = json.dumps(json_safe(kept), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def begin_attempt(run_dir: Path) -> None:
    """A new attempt in `run_dir`: nothing there is complete, or failed, until it ends."""
    run_dir = Path(run_dir)
    (run_dir / COMPLETE).unlink(missing_ok=True)
    (run_dir / FAILURE).unlink(missing_ok=True)
    remove_stale_temporary_files(run_dir)


def run_status(run_dir: Path) -> tuple[str, str | None]:
    """`complete`, `failed`, `damaged` or `incomplete`, and why (None when complete).

    Complete means `complete.json` is there and `summary.json` and `timeseries.parquet` still
    have the digests it recorded; damaged, that it is there and they do not.
    """
    run_dir = Path(run_dir)
    if (run_dir / FAILURE).exists():
        try:
            error = json.loads((run_dir / FAILURE).read_text()).get("error")
        except (OSError, ValueError, AttributeError):
            error = None
        return "failed", str(error or f"{FAILURE} is unreadable")
    marker = run_dir / COMPLETE
    if not marker.exists():
        if (run_dir / SUMMARY).exists():
            return "incomplete", (f"{SUMMARY} without {COMPLETE}: an interrupted attempt (or a "
                                  "run by a vpsim older than complete.json): not trusted")
        return "incomplete", f"no {COMPLETE}: killed or still running"
    try:
        digests = json.loads(marker.read_text())["sha256"]
        assert isinstance(digests, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        return "damaged", f"{COMPLETE} is unreadable"
    for name in (SUMMARY, TIMESERIES):
        try:
            if sha256(run_dir / name) != digests.get(name):
                return "damaged", (f"{name} does not match {COMPLETE} (edited, truncated or "
                                   "replaced since the run wrote it)")
        except OSError:
            return "damaged", f"{name} is missing or unreadable"
    return "complete", None


def completed_summary(run_dir: Path, fingerprint: str) -> dict | None:
    """The summary of a complete, intact run of this very config in `run_dir`, if there is one."""
    run_dir = Path(run_dir)
    if run_status(run_dir)[0] != "complete":
        return None
    try:
        summary = json.loads((run_dir / SUMMARY).read_text())
        recorded = json.loads((run_dir / COMPLETE).read_text()).get("config_hash")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(summary, dict):
        return None
    return summary if summary.get("config_hash") == fingerprint == recorded else None


def write_failure(run_dir: Path, fingerprint: str, error: BaseException) -> None:
    """Record a failed attempt; an earlier complete result in `run_dir` is no longer current."""
    (Path(run_dir) / COMPLETE).unlink(missing_ok=True)
    write_json(Path(run_dir) / FAILURE, {
        "status": "failed", "config_hash": fingerprint,
        "error": f"{type(error).__name__}: {error}"})


def write_run(run_dir: Path, model: ViolencePreventionModel, figures: bool = True) -> dict:
    """Write every output of a finished run into `run_dir`; return the summary.

    `complete.json` is written last, with the digests of `summary.json` and
    `timeseries.parquet` and the config hash, so a sweep run again skips what is complete.
    """
    from . import outcomes

    run_dir = Path(run_dir)
    begin_attempt(run_dir)
    resolved = model.resolved_config()
    fingerprint = config_hash(resolved)
    write_yaml(run_dir / CONFIG, resolved)
    write_parquet(run_dir / TIMESERIES, outcomes.timeseries(model))
    summary = {"config_hash": fingerprint, **outcomes.summary(model)}
    if figures:
        from . import plots
        plots.write_run_figures(run_dir, model, summary)
    write_json(run_dir / SUMMARY, summary)
    write_complete(run_dir, fingerprint)
    return summary


def write_complete(run_dir: Path, fingerprint: str) -> None:
    """The completion record, written last: the config hash and the digests of the results."""
    run_dir = Path(run_dir)
    write_json(run_dir / COMPLETE, {
        "config_hash": fingerprint,
        "sha256": {name: sha256(run_dir / name) for name in (SUMMARY, TIMESERIES)}})


def read_summary(run_dir: Path) -> dict:
    return json.loads((Path(run_dir) / SUMMARY).read_text())
