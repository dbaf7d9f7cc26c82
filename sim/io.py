"""Writing files so that a reader never sees half of one, nor a colleague a file they cannot read.

Each file is written to a temporary name in its folder (`.<name>.<8 hex digits>.tmp`, created
with the user's umask, as any other file), flushed to the disk (fsync) and renamed into place, so
a killed process never leaves a half-written file; the temporary files a killed process leaves
behind are removed by the next attempt in that folder (`remove_stale_temporary_files`). A full
disk is one `DiskFullError` that names the file ("no space left on device writing <path>"). Only
YAML, JSON, Parquet, PNG and (a sweep's shared burn-ins, `sim.burn_in`) numpy's `.npz` of plain
arrays are written: nothing that runs code when read, and no pickle.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import yaml

TEMPORARY = re.compile(r"\..+\.[0-9a-z_]{8}\.tmp")
"""Names of `atomic_path`'s temporary files (and of `tempfile.mkstemp`'s, which it once used)."""


class DiskFullError(OSError):
    """No space left on the device: one line naming the file that could not be written."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.ENOSPC, "no space left on device", str(path))
        self.path = Path(path)

    def __str__(self) -> str:
        return f"no space left on device writing {self.path}"


def is_disk_full(error: BaseException) -> bool:
    """ENOSPC, also as pyarrow and others report it (in the message, without errno)."""
    return isinstance(error, OSError) and (
        error.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(error))


def _fsync(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except OSError:
        if directory:
            return  # some file systems cannot open a folder to sync it
        raise
    try:
        os.fsync(fd)
    except OSError:
        if not directory:
            raise
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; rename it into place only if the block succeeds.

    The file is created with the user's umask (like any file the user creates) and synced to
    the disk before the rename, so after a crash `path` holds either the old or the new content.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
            try:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                break
            except FileExistsError:
                continue
    except OSError as error:
        if is_disk_full(error):
            raise DiskFullError(path) from error
        raise
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
        _fsync(path.parent, directory=True)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if is_disk_full(error) and not isinstance(error, DiskFullError):
            raise DiskFullError(path) from error
        raise


def remove_stale_temporary_files(folder: Path) -> list[Path]:
    """Remove the temporary files a killed writer left in `folder` (only names it makes)."""
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for p in entries:
        if TEMPORARY.fullmatch(p.name) and p.is_file() and not p.is_symlink():
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def json_safe(obj):
    """`obj` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item"):  # numpy scalar
        return json_safe(obj.item())
    return obj


def write_json(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")


def write_yaml(path: Path, data: dict) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
