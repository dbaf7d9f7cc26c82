"""The parameter catalogue: every parameter's key, default, unit, kind (sourced, fitted,
illustrative, setting), source, allowed range (what the model can run: the schema's) and plausible
range (what the evidence supports: the prior of an uncertainty analysis).

The descriptions live once, in `sim/parameters.yaml`; defaults come from the composed config
(a place and a structure) and allowed ranges from the schema (`sim/config.py`). The inline
comments of `configs/behaviour/default.yaml` and `configs/justice/default.yaml` and the table
`configs/PARAMETERS.md` are generated from it (`vpsim-params --write`); the tests fail when
they drift.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import re
import sys
import typing
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path

import yaml
from omegaconf import ListConfig, OmegaConf

from .catalogue import KINDS, MIN_POLICE_PRESENCE, POLICE_PRESENCE
from .config import (
    CONFIG_DIR,
    MAX_PROGRAM_EFFECT,
    ConfigError,
    ProgramConfig,
    VpsimConfig,
    load,
)

CATALOGUE_FILE = Path(__file__).with_name("parameters.yaml")
KIND_NAMES = ("sourced", "fitted", "illustrative", "setting")
BASES = ("study", "structures", "judgement")
SECTIONS = ("behaviour", "justice", "costs", "population", "programs")
GENERATED_FILES = {"behaviour": CONFIG_DIR / "behaviour" / "default.yaml",
                   "justice": CONFIG_DIR / "justice" / "default.yaml",
                   "costs": CONFIG_DIR / "costs" / "default.yaml"}
TABLE_FILE = CONFIG_DIR / "PARAMETERS.md"
# program keys that are not parameters: what the program is, whom it targets, how it picks
NOT_PARAMETERS = {"kind", "source", "targeting", "priority"}


@dataclass(frozen=True)
class Parameter:
    key: str  # a Hydra override key: behaviour.peer_contagion, scenario.programs.cbt_youth.effect
    section: str
    default: float | int | str | list | None
    unit: str
    kind: str
    source: str
    about: str = ""
    allowed: tuple[float | None, float | None] | None = None  # closed unless allowed_text says
    allowed_text: str = ""
    plausible: tuple[float, float] | None = None
    basis: str = ""
    relative: bool = False  # the catalogue's plausible range is a multiple of the place's value

    @property
    def sampled(self) -> bool:
        """Has a plausible range: an uncertainty analysis can draw it."""
        return self.plausible is not None


@functools.cache
def entries() -> dict[str, dict]:
    """The catalogue file as {override key: entry}; programs under scenario.programs.<kind>."""
    raw = yaml.safe_load(CATALOGUE_FILE.read_text())
    out = {}
    for section in ("behaviour", "justice", "costs", "population"):
        for name, entry in raw[section].items():
            out[f"{section}.{name}"] = {**entry, "section": section}
    for kind, keys in raw["programs"].items():
        for name, entry in keys.items():
            out[f"scenario.programs.{kind}.{name}"] = {**entry, "section": "programs"}
    return out


def _schema_field(key: str):
    """The dataclass field behind an override key (programs: ProgramConfig's)."""
    parts = key.split(".")
    if parts[0] == "scenario":
        schema, parts = ProgramConfig, parts[3:]
    else:
        schema = VpsimConfig
    f = None
    for part in parts:
        if schema is None or not is_dataclass(schema):
            return None
        f = next((x for x in fields(schema) if x.name == part), None)
        if f is None:
            return None
        hint = typing.get_type_hints(schema).get(part)
        schema = hint if is_dataclass(hint) else None
    return f


def _allowed(key: str) -> tuple[tuple | None, str]:
    from .config import _range_text

    if key.startswith("scenario.") and key.endswith(".effect"):
        kind = KINDS[key.split(".")[2]]
        lo = MIN_POLICE_PRESENCE if kind.channel == POLICE_PRESENCE else 0.0
        return (lo, MAX_PROGRAM_EFFECT), _range_text(lo, MAX_PROGRAM_EFFECT, lo == 0.0, False)
    f = _schema_field(key)
    bounds = f.metadata.get("range") if f is not None else None
    if bounds is None:
        return None, ""
    lo, hi, lo_open, hi_open = bounds
    return (lo, hi), _range_text(lo, hi, lo_open, hi_open)


def _value(cfg, key: str):
    node = cfg
    for part in key.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    if isinstance(node, (list, tuple, ListConfig)):
        return list(node)
    return node


@functools.cache
def _config(population: str, structure: str):
    return load([f"population={population}", f"structure={structure}"])


@functools.cache
def _program_config(kind: str) -> ProgramConfig:
    """The program of `scenarios/<kind>.yaml` over the schema's defaults (read, not composed:
    this also runs inside a Hydra app, for `vpsim --help`)."""
    text = yaml.safe_load((CONFIG_DIR / "scenario" / f"{kind}.yaml").read_text())
    (program,) = text["programs"].values()
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(ProgramConfig), program))


def parameters(population: str = "city", structure: str = "selection", *,
               config=None) -> list[Parameter]:
    """Every catalogued parameter, with its default on `population` under `structure` (programs:
    as their kind's scenario file sets them); or in `config`, a composed config, when given."""
    cfg = _config(population, structure) if config is None else config
    out = []
    for key, e in entries().items():
        if key.startswith("scenario."):
            kind, name = key.split(".")[2], key.split(".", 3)[3]
            default = _value(_program_config(kind), name)
        else:
            default = _value(cfg, key)
        allowed, text = _allowed(key)
        plausible = tuple(float(v) for v in e["plausible"]) if "plausible" in e else None
        relative = bool(e.get("relative", False))
        if relative and plausible is not None:  # e.g. a place's prevalence scale, x 0.8-1.2
            lo, hi = (float(v) * float(default) for v in plausible)
            if allowed is not None:
                lo = lo if allowed[0] is None else max(lo, allowed[0])
                hi = hi if allowed[1] is None else min(hi, allowed[1])
            plausible = (lo, hi)
        out.append(Parameter(key=key, section=e["section"], default=default, unit=e["unit"],
                             kind=e["kind"], source=e["source"], about=e.get("about", ""),
                             allowed=allowed, allowed_text=text, plausible=plausible,
                             basis=e.get("basis", ""), relative=relative))
    return out


def by_key(population: str = "city", structure: str = "selection") -> dict[str, Parameter]:
    return {p.key: p for p in parameters(population, structure)}


# -- checks ------------------------------------------------------------------------------------

def _schema_keys(schema, prefix: str) -> list[str]:
    keys = []
    for f in fields(schema):
        hint = typing.get_type_hints(schema)[f.name]
        if is_dataclass(hint):
            keys += _schema_keys(hint, f"{prefix}{f.name}.")
        else:
            keys.append(f"{prefix}{f.name}")
    return keys


def _within(value: float, lo: float | None, hi: float | None) -> bool:
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def problems(population: str = "city", structure: str = "selection") -> list[str]:
    """What is wrong with the catalogue: a parameter of the schema or of a kind's scenario file
    missing, an entry for no parameter, a bad kind or basis, a plausible range outside the
    allowed one, or a default outside its plausible range."""
    out = []
    e = entries()
    from .config import BehaviourConfig, CostsConfig, JusticeConfig, PopulationConfig

    for section, schema in (("behaviour", BehaviourConfig), ("justice", JusticeConfig),
                            ("costs", CostsConfig), ("population", PopulationConfig)):
        for key in _schema_keys(schema, f"{section}."):
            if key not in e:
                out.append(f"{key}: not in the catalogue ({CATALOGUE_FILE.name})")
    for kind in KINDS:
        text = yaml.safe_load((CONFIG_DIR / "scenario" / f"{kind}.yaml").read_text())
        (program,) = text["programs"].values()
        for name in program:
            key = f"scenario.programs.{kind}.{name}"
            if name not in NOT_PARAMETERS and key not in e:
                out.append(f"{key}: set in scenarios/{kind}.yaml but not in the catalogue")
    for p in parameters(population, structure):
        if p.key.startswith("scenario."):
            if _schema_field(p.key) is None:
                out.append(f"{p.key}: not a program key")
        elif _schema_field(p.key) is None:
            out.append(f"{p.key}: not a key of the config")
        if p.kind not in KIND_NAMES:
            out.append(f"{p.key}: kind {p.kind!r}, not one of {', '.join(KIND_NAMES)}")
        if not p.unit or not p.source:
            out.append(f"{p.key}: needs a unit and a source")
        if p.plausible is None:
            if p.basis:
                out.append(f"{p.key}: a basis without a plausible range")
            continue
        if p.kind == "setting":
            out.append(f"{p.key}: a setting has no plausible range")
        if p.basis not in BASES:
            out.append(f"{p.key}: basis {p.basis!r}, not one of {', '.join(BASES)}")
        lo, hi = p.plausible
        if not lo < hi:
            out.append(f"{p.key}: plausible range [{lo}, {hi}] is empty")
        if p.allowed is not None and not (_within(lo, *p.allowed) and _within(hi, *p.allowed)):
            out.append(f"{p.key}: plausible [{lo:g}, {hi:g}] is not within allowed "
                       f"{p.allowed_text}")
        if isinstance(p.default, (int, float)) and not lo <= p.default <= hi:
            out.append(f"{p.key}: default {p.default:g} ({population}, {structure}) is outside "
                       f"its plausible range [{lo:g}, {hi:g}]")
    return out


# -- outputs -----------------------------------------------------------------------------------

def _num(v) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v)
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:,.6g}" if abs(v) >= 1e4 else f"{v:g}"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 1e4 else str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_num(x) for x in v) + "]"
    return str(v)


def _range(r) -> str:
    return "" if r is None else f"[{_num(r[0])}, {_num(r[1])}]"


def as_records(params: list[Parameter]) -> list[dict]:
    """JSON-ready: ranges as [lo, hi] (None for an open end)."""
    out = []
    for p in params:
        d = asdict(p)
        d["allowed"] = None if p.allowed is None else [
            None if v is None or (isinstance(v, float) and math.isinf(v)) else v
            for v in p.allowed]
        d["plausible"] = None if p.plausible is None else list(p.plausible)
        out.append(d)
    return out


def markdown(params: list[Parameter]) -> str:
    lines = ["<!-- generated by `vpsim-params --write` from sim/parameters.yaml: edit that "
             "file, not this one -->", "",
             "# Parameters", "",
             "Every parameter of the model: its default (the `city` profile, the default "
             "structure `selection`; programs as their kind's scenario file sets them), unit, "
             "kind, source, the range the model accepts (allowed) and the range the evidence "
             "supports (plausible: the prior of an uncertainty analysis, with its basis). "
             "Kinds: **sourced** (read from a published figure), **fitted** (fitted to "
             "published figures: the source says which), **illustrative** (no published figure "
             "fixes it), **setting** (what the place or the run is). Bases: **study** (the "
             "cited study's range), **structures** (spans the fits under both shipped "
             "structures), **judgement** (no evidence on the size). Machine-readable: "
             "`vpsim-params --json`, `sim.api.parameters()`.", ""]
    titles = {"behaviour": "Behaviour", "justice": "Justice",
              "costs": "Costs (benefit-cost accounts)", "population": "Population",
              "programs": "Programs (scenario.programs.<kind>.<key>)"}
    for section in SECTIONS:
        rows = [p for p in params if p.section == section]
        lines += [f"## {titles[section]}", "",
                  "| key | default | unit | kind | allowed | plausible (basis) | source |",
                  "|---|---|---|---|---|---|---|"]
        for p in rows:
            key = p.key.split(".", 1)[1] if section != "programs" else p.key.split(".", 2)[2]
            plausible = f"{_range(p.plausible)} ({p.basis})" if p.plausible else ""
            about = f"{p.about}. " if p.about else ""
            lines.append(f"| `{key}` | {_num(p.default)} | {p.unit} | {p.kind} | "
                         f"{p.allowed_text} | {plausible} | {about}{p.source} |"
                         .replace("\n", " "))
        lines.append("")
    return "\n".join(lines)


def text(params: list[Parameter]) -> str:
    width = max(len(p.key) for p in params)
    lines = [f"{'key':<{width}}  {'default':>12}  {'kind':<12}  {'plausible':<22}  unit"]
    for p in params:
        default = _num(p.default)
        if len(default) > 12:
            default = "(list)"
        lines.append(f"{p.key:<{width}}  {default:>12}  {p.kind:<12}  "
                     f"{_range(p.plausible):<22}  {p.unit}")
    return "\n".join(lines)


def comment(p: Parameter) -> str:
    """The generated inline comment of a config key."""
    parts = [f"{p.about} ({p.unit})" if p.about else p.unit, f"{p.kind}: {p.source}"]
    if p.plausible:
        parts.append(f"plausible {_range(p.plausible)}, {p.basis}")
    return "; ".join(parts)


_LINE = re.compile(r"^(?P<indent> *)(?P<name>[a-z_]+):(?P<rest>[^#]*?)(?P<gap>\s*)(?:#.*)?$")
COMMENT_COLUMN = 33


def with_comments(path: Path, section: str) -> str:
    """The config file with each catalogued key's inline comment generated; other lines (block
    comments, mappings) as they are."""
    params = by_key()
    out, parents = [], []
    for line in path.read_text().splitlines():
        m = _LINE.match(line)
        if m is None or line.lstrip().startswith("#"):
            out.append(line)
            continue
        depth = len(m["indent"]) // 2
        parents = parents[:depth] + [m["name"]]
        value = m["rest"].rstrip()  # as written (aligned lists stay aligned)
        key = f"{section}." + ".".join(parents)
        if not value.strip() or key not in params:
            out.append(line)
            continue
        head = f"{m['indent']}{m['name']}:{value}"
        out.append(f"{head:<{COMMENT_COLUMN - 1}} # {comment(params[key])}")
    return "\n".join(out) + "\n"


def write() -> list[Path]:
    """Regenerate the configs' inline comments and configs/PARAMETERS.md; the files changed."""
    changed = []
    targets = {path: with_comments(path, section) for section, path in GENERATED_FILES.items()}
    targets[TABLE_FILE] = markdown(parameters()) + "\n"
    for path, content in targets.items():
        if not path.exists() or path.read_text() != content:
            tmp = path.with_suffix(path.suffix + ".tmp")
            tmp.write_text(content)
            tmp.replace(path)  # atomic: a reader never sees half a file
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="vpsim-params",
        description="The parameter catalogue: default, unit, kind, source, allowed and "
                    "plausible range of every parameter (sim/parameters.yaml).")
    parser.add_argument("--json", action="store_true", help="machine-readable, one record each")
    parser.add_argument("--markdown", action="store_true", help="the table of PARAMETERS.md")
    parser.add_argument("--population", default="city", help="place for defaults (city)")
    parser.add_argument("--structure", default="selection",
                        help="structure for defaults (selection, criminogenic_prison)")
    parser.add_argument("--kind", choices=KIND_NAMES, help="only parameters of this kind")
    parser.add_argument("--section", choices=SECTIONS, help="only this section")
    parser.add_argument("--write", action="store_true",
                        help="regenerate the configs' inline comments and configs/PARAMETERS.md")
    args = parser.parse_args(argv)
    try:
        if args.write:
            for path in write():
                print(f"wrote {path}")
            return 0
        params = [p for p in parameters(args.population, args.structure)
                  if (args.kind is None or p.kind == args.kind)
                  and (args.section is None or p.section == args.section)]
    except ConfigError as error:
        print(f"vpsim-params: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(as_records(params), indent=1))
    elif args.markdown:
        print(markdown(params))
    else:
        print(text(params))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
