"""Output folders: where a run or a sweep may write, and what a failed run may remove.

`hydra.run.dir` and `hydra.sweep.dir` are paths the user chooses (absolute ones included), but not
an empty one, not one with a `..` part, and not the current folder or one above it (the defaults
are `outputs/<date>/<time>_<scenario>_<population>_seed<N>` and `multirun/<sweep_name>`). A
sweep's job folders are one path part each: an override whose value holds a `/` is refused.

`prepare` creates a run's folder before Hydra does and remembers what this process created, so
that `discard` removes a failed run's folder only if the run created it: never a folder, or a
file, that existed before the run started.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .config import ConfigError, shown

NAME_MAX = 255  # bytes in one path part (Linux, macOS)

_created: dict[Path, list[Path]] = {}
"""Folder -> the folders this process created for it, outermost first (the folder itself last)."""


def check_output_dir(key: str, value: Any) -> Path:
    """The folder `value` names, or a ConfigError naming `key`."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} = {shown(value)} is empty: give a folder (the default puts "
                          "each run in a folder of its own)")
    if "\0" in value:
        raise ConfigError(f"{key} = {shown(value)} holds a NUL character")
    path = Path(value)
    if ".." in path.parts:
        raise ConfigError(f"{key} = {shown(value)}: a '..' part is not allowed (give the folder "
                          "without it, as an absolute path if it is elsewhere)")
    if any(len(part.encode()) > NAME_MAX for part in path.parts):
        raise ConfigError(f"{key} = {shown(value)}: a part of it is longer than {NAME_MAX} bytes")
    here = Path.cwd().resolve()
    where = path.resolve() if path.is_absolute() else (here / path).resolve()
    if where == here or where in here.parents:
        raise ConfigError(f"{key} = {shown(value)} is the current folder or one above it: give "
                          "the run a folder of its own")
    return path


def check_job_dir(key: str, subdir: Any) -> None:
    """A sweep job's folder name (made of its overrides): one plain path part."""
    text = str(subdir)
    if not text or text in (".", "..") or "/" in text or os.sep in text or "\0" in text:
        raise ConfigError(f"{key}: a job's folder would be {shown(text)}: an override value "
                          "with '/' (or one that is '.' or '..') would write outside the sweep's "
                          "folder; quote no path in a sweep's overrides")
    if len(text.encode()) > NAME_MAX:
        raise ConfigError(f"{key}: a job's folder name would be {len(text.encode())} bytes "
                          f"(made of its overrides; at most {NAME_MAX}): sweep fewer keys at once")


def _missing(path: Path) -> list[Path]:
    """`path` and those of its parents that do not exist, outermost first."""
    missing = []
    while not os.path.lexists(path) and path != path.parent:
        missing.append(path)
        path = path.parent
    return list(reversed(missing))


def prepare(key: str, value: Any) -> Path:
    """Check the folder, create it (and its parents) and remember what this process created."""
    path = check_output_dir(key, value).absolute()
    missing = _missing(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"{key} = {shown(value)}: cannot create the folder: "
                          f"{error.strerror or error}") from None
    if not path.is_dir():
        raise ConfigError(f"{key} = {shown(value)} is not a folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key} = {shown(value)}: cannot write in the folder")
    _created[path] = missing
    return path


def remember_new(path: Path) -> None:
    """Note that `path` does not exist yet: whatever this process puts there is its own."""
    path = Path(path).absolute()
    if not os.path.lexists(path):
        _created[path] = _missing(path)


def discard(path: Path, only: tuple[str, ...] | None = None) -> bool:
    """Remove `path` if this process created it, and the parents it created that are now empty.

    `only`: remove the folder only if it holds nothing but these names. A folder that existed
    before is left as it is. Returns whether the folder was removed.
    """
    path = Path(path).absolute()
    created = _created.get(path)
    if not created or created[-1] != path or not path.is_dir() or path.is_symlink():
        return False
    if only is not None and any(p.name not in only for p in path.iterdir()):
        return False
    shutil.rmtree(path, ignore_errors=True)
    for parent in reversed(created[:-1]):  # innermost first, only while empty
        try:
            parent.rmdir()
        except OSError:
            break
    del _created[path]
    return not path.exists()
