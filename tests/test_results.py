"""Atomic writes: a failed or killed write never leaves a half-written (or any new) file."""

import math

import pytest

from sim.io import atomic_path, write_json, write_yaml
from sim.results import read_summary


def test_atomic_path_leaves_no_file_when_the_block_raises(tmp_path):
    target = tmp_path / "summary.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError("killed mid-write")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_the_previous_file_when_the_block_raises(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("previous")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target) as tmp:
            tmp.write_text("new, half written")
            raise KeyboardInterrupt
    assert target.read_text() == "previous"
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_path_renames_into_place_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out" / "timeseries.parquet"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent  # same folder: the rename is atomic
        assert tmp != target
        assert not target.exists()  # nothing visible before the block succeeds
        tmp.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    assert list(target.parent.iterdir()) == [target]


def test_failed_json_write_leaves_no_file(tmp_path):
    target = tmp_path / "summary.json"
    with pytest.raises(TypeError):
        write_json(target, {"fine": 1, "not_json": object()})
    assert list(tmp_path.iterdir()) == []


def test_json_summary_round_trips_with_non_finite_numbers_as_null(tmp_path):
    write_json(tmp_path / "summary.json", {"rate": 1.5, "ratio": math.nan, "bands": {"10-14": 2}})
    assert read_summary(tmp_path) == {"rate": 1.5, "ratio": None, "bands": {"10-14": 2}}
    assert "NaN" not in (tmp_path / "summary.json").read_text()  # strict JSON


def test_yaml_write_is_atomic_too(tmp_path):
    write_yaml(tmp_path / "config.yaml", {"seed": 3})
    assert (tmp_path / "config.yaml").read_text().strip() == "seed: 3"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


# --- issue 10: files a colleague can read, synced, no stale temporary files, a full disk --------

import errno  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import stat  # noqa: E402

import pandas as pd  # noqa: E402

from sim import io, results  # noqa: E402


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_files_are_created_with_the_users_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        write_json(tmp_path / "summary.json", {"a": 1})
        write_yaml(tmp_path / "config.yaml", {"seed": 3})
        io.write_parquet(tmp_path / "timeseries.parquet", pd.DataFrame({"x": [1, 2]}))
    finally:
        os.umask(old)
    for p in tmp_path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask, p.name


def test_a_file_is_synced_to_disk_before_it_is_renamed_into_place(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(src)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_json(tmp_path / "summary.json", {"a": 1})
    renamed = next(i for i, (what, _) in enumerate(events) if what == "replace")
    tmp = events[renamed][1]
    assert ("fsync", tmp) in events[:renamed]  # the temporary file's data, then the rename


def test_temporary_files_a_killed_writer_left_are_removed_by_the_next_attempt(tmp_path):
    stale = [tmp_path / ".summary.json.k3j2_x9a.tmp", tmp_path / ".timeseries.parquet.0a1b2c3d.tmp"]
    for p in stale:
        p.write_text("half written")
    keep = [tmp_path / "notes.tmp", tmp_path / "summary.json", tmp_path / ".hidden.tmp"]
    for p in keep:
        p.write_text("the user's")
    results.begin_attempt(tmp_path)
    assert sorted(tmp_path.iterdir()) == sorted(keep)


def _disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("writer", ["json", "parquet"])
def test_a_full_disk_is_one_line_naming_the_file_and_leaves_nothing(tmp_path, monkeypatch,
                                                                     writer):
    target = tmp_path / "out" / ("summary.json" if writer == "json" else "timeseries.parquet")
    if writer == "json":
        monkeypatch.setattr(json, "dumps", _disk_full)
        call = lambda: write_json(target, {"a": 1})  # noqa: E731
    else:
        monkeypatch.setattr(pd.DataFrame, "to_parquet", _disk_full)
        call = lambda: io.write_parquet(target, pd.DataFrame({"x": [1]}))  # noqa: E731
    with pytest.raises(OSError) as caught:
        call()
    assert str(caught.value) == f"no space left on device writing {target}"
    assert caught.value.errno == errno.ENOSPC
    assert list(target.parent.iterdir()) == []


def _complete_run(run_dir, summary=None):
    """A run folder as `write_run` leaves it, without running a model."""
    write_json(run_dir / "summary.json", summary or {"config_hash": "abc", "seed": 0, "x": 1.5})
    io.write_parquet(run_dir / "timeseries.parquet", pd.DataFrame({"week": [0, 1]}))
    results.write_complete(run_dir, "abc")


def test_a_complete_run_is_trusted_only_while_its_files_match_complete_json(tmp_path):
    _complete_run(tmp_path)
    assert results.run_status(tmp_path) == ("complete", None)
    assert results.completed_summary(tmp_path, "abc")["x"] == 1.5
    assert results.completed_summary(tmp_path, "other") is None
    edited = (tmp_path / "summary.json").read_text().replace("1.5", "0.5")
    (tmp_path / "summary.json").write_text(edited)  # edited by hand
    status, why = results.run_status(tmp_path)
    assert status == "damaged" and "summary.json" in why
    assert results.completed_summary(tmp_path, "abc") is None
    _complete_run(tmp_path)
    with open(tmp_path / "timeseries.parquet", "r+b") as f:  # truncated
        f.truncate(10)
    status, why = results.run_status(tmp_path)
    assert status == "damaged" and "timeseries.parquet" in why
    (tmp_path / "complete.json").unlink()
    assert results.run_status(tmp_path)[0] == "incomplete"


def test_a_later_failure_decides_the_status_and_keeps_the_old_files(tmp_path):
    _complete_run(tmp_path)
    results.write_failure(tmp_path, "abc", ValueError("scenario file became invalid"))
    status, why = results.run_status(tmp_path)
    assert status == "failed" and "became invalid" in why
    assert results.completed_summary(tmp_path, "abc") is None
    assert (tmp_path / "summary.json").exists()  # the user's old numbers are not deleted
