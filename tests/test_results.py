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
