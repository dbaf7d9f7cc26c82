"""One burn-in per seed, shared by every scenario of a sweep.

A run's burn-in does not depend on its scenario: programs start after it and residents' draws are
counter-based. So a sweep burns in once per (place, seed, structure, every other key but the
scenario) and each scenario continues from that state, with the results, bit for bit, of a run
from scratch (tests/test_burn_in.py).

The burned-in state is kept in `<sweep folder>/.burn_in/<key>.npz`: the arrays of
`ViolencePreventionModel.snapshot()` (numbers only; read with `allow_pickle=False`, so a file
can hold nothing that runs code), written atomically by the first job that needs it while the
others of that key wait on a lock. The key covers the config (`burn_in_identity`), the package's
source and the versions of the libraries whose state it holds, and is stored in the file too: a
snapshot from other code or other settings is never used. A file that cannot be read back (or
does not fit) is reported and the burn-in computed again. The folder is removed once every job
of the sweep is complete.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from .io import atomic_path, json_safe
from .model import ViolencePreventionModel, burn_in_identity

FOLDER = ".burn_in"
SUFFIX = ".npz"


@functools.cache
def code_version() -> str:
    """The package's source and the versions of what a snapshot holds: a snapshot made by
    other code is not used."""
    import mesa
    import networkx
    import numba

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    for module in (np, numba, mesa, networkx):
        digest.update(f"{module.__name__}={module.__version__};".encode())
    digest.update(f"python={sys.version_info[:3]}".encode())
    return digest.hexdigest()


def key(settings) -> str:
    """What a burn-in depends on, as a file name."""
    text = json.dumps(json_safe(burn_in_identity(settings)), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256((text + code_version()).encode()).hexdigest()[:20]


def save(model: ViolencePreventionModel, path: Path) -> None:
    """`model`'s snapshot, with the key of its settings, into `path` (atomically)."""
    arrays = model.snapshot()
    arrays["key"] = np.array(key(model.config))
    with atomic_path(path) as tmp, open(tmp, "wb") as file:
        np.savez(file, **arrays)  # uncompressed: written once, read by every scenario


def load(path: Path, settings) -> ViolencePreventionModel | None:
    """A model of `settings` continuing from the snapshot in `path`; None when there is none,
    or it cannot be read back as a snapshot of these settings (damaged, foreign, other code)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        if str(arrays.get("key")) != key(settings):
            raise ValueError("made with other settings or other code")
        return ViolencePreventionModel(settings, snapshot=arrays)
    except Exception as error:  # a damaged or foreign file: computed again, not trusted
        print(f"vpsim: burn-in snapshot {path} not used ({type(error).__name__}: {error})",
              file=sys.stderr)
        return None


def burned_in(settings, folder: Path) -> tuple[ViolencePreventionModel, bool]:
    """A model of `settings` at the end of its burn-in, and whether the burn-in was shared (read
    from `folder`) rather than computed here (and then kept there for the other scenarios)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = key(settings)
    path = folder / f"{name}{SUFFIX}"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a job of the same seed waits, then reads
        model = load(path, settings)
        if model is None or model.week != model.burn_in_weeks:
            model = ViolencePreventionModel(settings)
            model.run(weeks=model.burn_in_weeks)
            save(model, path)
            return model, False
    return model, True
