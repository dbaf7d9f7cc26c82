"""One burn-in per seed, shared by every scenario of a sweep.

A run's burn-in does not depend on its scenario: programs start after it and residents' draws are
counter-based. So a sweep burns in once per (place, seed, structure, every other key but the
scenario) and each scenario continues from that state (`ViolencePreventionModel.continue_as`),
with the results, bit for bit, of a run from scratch (tests/test_burn_in.py).

The burned-in model is kept in `<sweep folder>/.burn_in/<key>.pickle`, written atomically by the
first job that needs it while the others of that key wait on a lock; the key covers the config
(`burn_in_identity`), the package's source and the versions of the libraries whose objects it
holds, so a snapshot from other code or other settings is never used. It is read back with a
restricted unpickler that builds only the objects a snapshot holds (the model's own classes,
numpy arrays, Mesa's and networkx's containers): a file that asks for anything else is refused
and the burn-in computed again. The folder is removed once every job of the sweep is complete.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import json
import pickle
import sys
from pathlib import Path

from .io import atomic_path, json_safe
from .model import ViolencePreventionModel, burn_in_identity

FOLDER = ".burn_in"
SUFFIX = ".pickle"

# (module, name) of every global a snapshot refers to; nothing else is built when one is read
SNAPSHOT_GLOBALS = frozenset({
    ("builtins", "getattr"), ("builtins", "list"), ("collections", "defaultdict"),
    ("functools", "partial"), ("random", "Random"),
    ("numpy", "dtype"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy.random._pcg64", "PCG64"), ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random.bit_generator", "SeedSequence"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("networkx.classes.graph", "Graph"), ("networkx.classes.reportviews", "NodeView"),
    ("scipy.spatial._kdtree", "KDTree"),
    ("mesa.agentset", "_HardKeyAgentSet"), ("mesa.datacollection", "DataCollector"),
    ("mesa.discrete_space.cell", "Cell"), ("mesa.discrete_space.cell_collection", "CellCollection"),
    ("mesa.discrete_space.network", "Network"),
    ("mesa.experimental.data_collection.dataset", "DataRegistry"),
    ("mesa.experimental.scenarios.scenario", "Scenario"),
    ("mesa.time.events", "Event"), ("mesa.time.events", "EventGenerator"),
    ("mesa.time.events", "EventList"), ("mesa.time.events", "Priority"),
    ("mesa.time.events", "Schedule"),
    # and any class of MODEL_MODULES (configs, kernel bundles, the model, its programs)
    ("sim.model", "_incarcerated"), ("sim.model", "_week_total_of"),
})


MODEL_MODULES = frozenset(f"sim.{m}" for m in ("catalogue", "codes", "config", "kernels",
                                                "model", "network", "population", "programs",
                                                "reference"))
"""Modules whose classes a snapshot may build (plain state: configs, arrays, the model)."""


def _getattr(obj, name: str):
    """`getattr` for bound methods (a Mesa event's `model.step`), never a dunder: no path from
    a snapshot's objects to their modules' globals."""
    if not isinstance(name, str) or name.startswith("__"):
        raise pickle.UnpicklingError(f"a burn-in snapshot may not read attribute {name!r}")
    return getattr(obj, name)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module in MODEL_MODULES and "." not in name:  # the model's own classes
            obj = super().find_class(module, name)
            if isinstance(obj, type) and obj.__module__ == module:
                return obj
        if (module, name) not in SNAPSHOT_GLOBALS:
            raise pickle.UnpicklingError(f"a burn-in snapshot may hold only the model's own "
                                         f"objects: {module}.{name} refused")
        if (module, name) == ("builtins", "getattr"):
            return _getattr
        return super().find_class(module, name)


@functools.cache
def code_version() -> str:
    """The package's source and the versions of what a snapshot holds: a snapshot made by
    other code is not used."""
    import mesa
    import networkx
    import numba
    import numpy

    digest = hashlib.sha256()
    for path in sorted(Path(__file__).resolve().parent.rglob("*.py")):
        digest.update(path.read_bytes())
    for module in (numpy, numba, mesa, networkx):
        digest.update(f"{module.__name__}={module.__version__};".encode())
    digest.update(f"python={sys.version_info[:3]}".encode())
    return digest.hexdigest()


def key(settings) -> str:
    """What a burn-in depends on, as a file name."""
    text = json.dumps(json_safe(burn_in_identity(settings)), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256((text + code_version()).encode()).hexdigest()[:20]


def save(model: ViolencePreventionModel, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL))


def load(path: Path) -> ViolencePreventionModel | None:
    """The burned-in model in `path`; None when there is none, or it cannot be read back as
    a snapshot (damaged, or holding anything but the model's own objects)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return None
    try:
        model = _Unpickler(io.BytesIO(data)).load()
    except Exception as error:  # a damaged or foreign file: computed again, not trusted
        print(f"vpsim: burn-in snapshot {path} not used ({type(error).__name__}: {error})",
              file=sys.stderr)
        return None
    return model if isinstance(model, ViolencePreventionModel) else None


def burned_in(settings, folder: Path,
              model_class: type[ViolencePreventionModel] = ViolencePreventionModel,
              ) -> tuple[ViolencePreventionModel, bool]:
    """A model of `settings` at the end of its burn-in, and whether the burn-in was shared (read
    from `folder`) rather than computed here (and then kept there for the other scenarios)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = key(settings)
    path = folder / f"{name}{SUFFIX}"
    with open(folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a job of the same seed waits, then reads
        model = load(path)
        if model is None or type(model) is not model_class or model.week != model.burn_in_weeks:
            model = model_class(settings)
            model.run(weeks=model.burn_in_weeks)
            save(model, path)
            return model, False
    model.continue_as(settings)
    return model, True
