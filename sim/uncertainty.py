"""Sweeps whose intervals cover what we do not know, not only chance.

With `uncertainty.parameters=true`, each replicate (seed) draws every catalogued parameter of the
chosen kinds (`uncertainty.kinds`: sourced and illustrative by default) uniformly from its
plausible range (`sim.parameters`), the program parameters of the scenario's kinds included;
with `uncertainty.structure=true`, it draws the structure from the shipped alternatives
(`configs/structure/`). A draw depends only on the seed and the parameter's key, so every
scenario of a seed gets the same draws and comparisons stay paired; the intervals over seeds
then cover chance, parameters and structure together.

Fitted parameters stay at their fit by default: drawing them independently of the data they
were fitted to gives models that no longer reproduce it (the plausible box on `small`: violence
from half to twice the default's). Their uncertainty belongs to a calibration ensemble.
"""

from __future__ import annotations

import copy
import functools
import zlib

import numpy as np
import yaml

from .config import CONFIG_DIR, UNCERTAIN_KINDS, ConfigError, VpsimConfig, validate

STREAM = 0x5EED_D2A3  # the draws' own stream: never the residents'


def structures() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in (CONFIG_DIR / "structure").glob("*.yaml")))


def _flat(tree: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


@functools.cache
def _structure_file(name: str) -> dict:
    return {k: v for k, v in _flat(yaml.safe_load((CONFIG_DIR / "structure" / f"{name}.yaml")
                                                  .read_text()) or {}).items()
            if k != "structure"}


@functools.cache
def _group_defaults(population: str) -> dict:
    """The values before any structure: the behaviour, justice and place files."""
    out = {}
    for group, name in (("behaviour", "default"), ("justice", "default"),
                        ("population", population)):
        path = CONFIG_DIR / group / f"{name}.yaml"
        if path.exists():
            out.update(_flat(yaml.safe_load(path.read_text()) or {}, f"{group}."))
    return out


def structure_values(name: str, population: str) -> dict:
    """The values of every key a structure sets, under structure `name`: its file's, or the
    group files' where it sets none."""
    if name not in structures():
        raise ConfigError(f"structure = {name!r}: allowed {', '.join(structures())}")
    keys = set().union(*(_structure_file(s) for s in structures()))
    defaults, mine = _group_defaults(population), _structure_file(name)
    return {k: mine[k] if k in mine else defaults[k] for k in sorted(keys) if k in mine
            or k in defaults}


def _uniform(seed: int, key: str) -> float:
    rng = np.random.default_rng([STREAM, seed, zlib.crc32(key.encode())])
    return float(rng.random())


def _set(cfg, key: str, value) -> None:
    *path, last = key.split(".")
    node = cfg
    for part in path:
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    if isinstance(node, dict):
        node[last] = value
    else:
        setattr(node, last, value)


def draws(settings: VpsimConfig) -> tuple[str, dict]:
    """The structure and the parameter values replicate `settings.seed` draws (nothing when
    `settings.uncertainty` asks for none): (structure, {key: value})."""
    from .parameters import parameters as catalogue

    u = settings.uncertainty
    bad = [k for k in u.kinds if k not in UNCERTAIN_KINDS]
    if bad:
        raise ConfigError(f"uncertainty.kinds = {list(u.kinds)}: each one of "
                          f"{', '.join(UNCERTAIN_KINDS)}")
    structure = settings.structure
    if u.structure:
        names = structures()
        structure = names[min(int(_uniform(settings.seed, "structure") * len(names)),
                              len(names) - 1)]
    if not u.parameters:
        return structure, {}
    kinds_in_scenario = {}
    for name, program in settings.scenario.programs.items():
        kinds_in_scenario.setdefault(program.kind, []).append(name)
    values = {}
    structural = set().union(*(_structure_file(s) for s in structures()))
    for p in catalogue(settings.population.name, structure):
        if p.plausible is None or p.kind not in u.kinds or p.key in structural:
            continue  # what a structure sets is the structure's (drawn with it, or fixed)
        targets = [p.key]
        if p.section == "programs":  # the kind's draw, for every program of that kind
            kind, key = p.key.split(".")[2], p.key.split(".", 3)[3]
            targets = [f"scenario.programs.{n}.{key}" for n in kinds_in_scenario.get(kind, [])]
            if not targets:
                continue
        lo, hi = p.plausible
        x = _uniform(settings.seed, p.key)
        if isinstance(p.default, int) and not isinstance(p.default, bool):
            value = int(lo) + min(int(x * (int(hi) - int(lo) + 1)), int(hi) - int(lo))
        else:
            value = lo + x * (hi - lo)
        for target in targets:
            values[target] = value
    return structure, values


def drawn(settings: VpsimConfig) -> VpsimConfig:
    """`settings` with replicate `settings.seed`'s draws applied (the same when none asked);
    the draws are a function of the seed, so applying them again changes nothing."""
    u = settings.uncertainty
    if not (u.parameters or u.structure):
        return settings
    structure, values = draws(settings)
    out = copy.deepcopy(settings)
    if u.structure:
        for key, value in structure_values(structure, settings.population.name).items():
            _set(out, key, value)
        out.structure = structure
    for key, value in values.items():
        _set(out, key, value)
    return validate(out)


def label(settings: VpsimConfig) -> str:
    """What a replicate's spread covers: chance, and parameters or structure when drawn."""
    u = settings.uncertainty
    parts = ["chance"]
    if u.parameters:
        parts.append(f"parameters ({', '.join(u.kinds)}: plausible ranges)")
    if u.structure:
        parts.append(f"structure ({', '.join(structures())})")
    return "; ".join(parts)
