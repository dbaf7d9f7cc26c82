"""The YAML files of `configs/` (and `scenarios/`), read safely before Hydra composes them.

Hydra reads a config file whole and expands every YAML alias into a copy, so a 347-byte file of
nested aliases (an "alias bomb") or a 10 MB scenario hangs composition for minutes, and a syntax
error, a duplicate key or a `!!python/...` tag ends in a traceback. `check_files` reads every file
a composition will use first, and refuses any such file with one line that names it:

- larger than `MAX_FILE_BYTES`;
- more than `MAX_NODES` YAML nodes once aliases are expanded (the biggest file shipped,
  `configs/behaviour/default.yaml`, has under 100);
- not YAML, a duplicate key, a tag that is not plain data;
- a scenario file without a `name:` (an empty one would be labelled `baseline`).

It also holds what bad input is (`ConfigError`) and what a name that becomes part of a path may
be (`check_plain_name`): the config layer builds on both.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


class ConfigError(ValueError):
    """Bad input: a value outside its allowed range, an unknown key, a broken config file.

    The message is one line that names the key or the file, and what is allowed.
    """


NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
NAME_RULE = "1-64 letters, digits, '_', '-' or '.', not starting with '.' or '-'"
PATH_NAMES = ("population.name", "scenario.name", "sweep_name")
"""Values that become parts of folder names (`outputs/..._<scenario>_<population>_seed<N>`,
`multirun/<sweep_name>`): plain names only, so no run writes outside its folder."""


def shown(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut short for a one-line message (a 100,000-digit seed is not echoed)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 25]}... ({len(text)} characters)"


def check_plain_name(key: str, value: Any) -> None:
    """A name that becomes part of a path: letters, digits, `_ - .`; no separator, no `..`."""
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ConfigError(f"{key} = {shown(value)} is not a plain name: allowed {NAME_RULE}")



MAX_FILE_BYTES = 1_000_000
MAX_NODES = 5_000


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader (plain data only), refusing duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key (a list as a key): PyYAML refuses it below
                duplicate = False
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            if not isinstance(key, (list, dict)):
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_nodes(root: yaml.Node) -> int:
    """Nodes of the document with every alias expanded, counted without expanding them."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        sizes[id(node)] = 1  # a node that refers to itself counts once (PyYAML builds a cycle)
        if isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(v) for v in node.value)
        else:
            total = 1
        sizes[id(node)] = min(total, MAX_NODES + 1)
        return sizes[id(node)]

    return size(root)


def _where(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_file(path: Path) -> Any:
    """The data of one config file, or a ConfigError that names the file."""
    path = Path(path)
    where = _where(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{where}: {size:,} bytes: a config file may have at most "
                              f"{MAX_FILE_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ConfigError(f"{where}: cannot read it: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is None:
            return None
        if _expanded_nodes(root) > MAX_NODES:
            raise ConfigError(f"{where}: more than {MAX_NODES:,} values once its YAML aliases "
                              "(*name) are expanded: refused (an alias bomb?)")
        loader = _Loader(text)
        try:
            return loader.construct_document(root)
        finally:
            loader.dispose()
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply") from None
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        line = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        if "could not determine a constructor" in problem:
            problem = f"{problem.split('for the tag')[-1].strip()}: only plain data tags allowed"
        raise ConfigError(f"{where}: not valid YAML{line}: {problem}") from None


@functools.lru_cache(maxsize=256)
def _checked(path: str, mtime_ns: int, size: int) -> Any:
    data = read_file(Path(path))
    if Path(path).parent == SCENARIO_DIR:
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(name, str) or not name:
            raise ConfigError(f"{_where(Path(path))}: a scenario file needs a `name:` (and its "
                              "`programs:`); an empty one would be labelled baseline")
    return data


SCENARIO_DIR = CONFIG_DIR / "scenario"


def checked(path: Path) -> Any:
    """`read_file`, cached while the file is unchanged; scenario files must have a name."""
    try:
        stat = os.stat(path)
    except OSError as error:
        raise ConfigError(f"{_where(Path(path))}: cannot read it: {error.strerror}") from None
    return _checked(str(path), stat.st_mtime_ns, stat.st_size)


def options(group: str) -> list[str]:
    """The options of a config group: the stems of its YAML files."""
    folder = CONFIG_DIR / group
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def group_file(group: str, option: str) -> Path | None:
    """`configs/<group>/<option>.yaml`, None if there is no such file; a ConfigError for an
    option that is not a plain file name (it could reach outside `configs/`)."""
    if not NAME_PATTERN.fullmatch(str(option)):
        raise ConfigError(f"{group} = {shown(option)} is not an option of {group}: allowed "
                          f"{', '.join(options(group)) or 'none'}")
    path = CONFIG_DIR / group / f"{option}.yaml"
    return path if path.is_file() else None


def _values(override) -> list[str]:
    """The option(s) an override of a config group selects (every value of a sweep)."""
    from hydra.core.override_parser.types import Glob

    if override.is_delete():
        return []
    if override.is_sweep_override():
        value = override.value()
        if isinstance(value, Glob):
            return value.filter(options(override.key_or_group))
        try:
            values = list(override.sweep_string_iterator())
        except Exception:  # a range or interval over a group: Hydra refuses it later
            return []
        out = []  # a list among the sweep's values runs several files together
        for v in values:
            text = str(v).strip()
            out += ([x.strip().strip("'\"") for x in text[1:-1].split(",") if x.strip()]
                    if text.startswith("[") and text.endswith("]") else [text])
        return out
    value = override.value()
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return []


def _defaults(data: Any) -> list:
    return data.get("defaults", []) if isinstance(data, dict) else []


def selected_files(overrides: Iterable) -> list[Path]:
    """Every file of `configs/` that composing with these (parsed) overrides may read."""
    groups = [p.name for p in CONFIG_DIR.iterdir() if p.is_dir()]
    primary = CONFIG_DIR / "config.yaml"
    chosen: dict[str, list[str]] = {}
    for entry in _defaults(checked(primary)):
        if isinstance(entry, dict):
            for key, value in entry.items():
                key = str(key).removeprefix("override ").strip().lstrip("/")
                if key in groups and isinstance(value, str):
                    chosen[key] = [value]
    from_command_line = {}
    for override in overrides:
        key = override.key_or_group
        if key in groups:
            from_command_line.setdefault(key, []).extend(_values(override))
    chosen.update(from_command_line)
    files = [primary]
    todo = [(g, o) for g, opts in chosen.items() for o in opts]
    seen = set()
    while todo:
        group, option = todo.pop()
        if (group, option) in seen:
            continue
        seen.add((group, option))
        path = group_file(group, option)
        if path is None:
            continue  # Hydra names the missing option and lists the others
        files.append(path)
        data = checked(path)
        for entry in _defaults(data):
            if isinstance(entry, str) and entry != "_self_":  # another option of its group
                todo.append((group, entry))
            elif isinstance(entry, dict):  # an experiment's `override /group: option`
                for key, value in entry.items():
                    key = str(key).removeprefix("override ").strip().lstrip("/")
                    if key in groups and key not in from_command_line and isinstance(value, str):
                        todo.append((key, value))
        params = (((data or {}).get("hydra") or {}).get("sweeper") or {}).get("params") \
            if isinstance(data, dict) else None
        if isinstance(params, dict):  # an experiment's sweep, e.g. scenario: glob(*)
            from hydra.core.override_parser.overrides_parser import OverridesParser

            for key, value in params.items():
                if key in groups and key not in from_command_line:
                    try:
                        parsed = OverridesParser.create().parse_override(f"{key}={value}")
                    except Exception:
                        continue  # Hydra reports it
                    todo.extend((key, o) for o in _values(parsed))
    return files


def check_files(overrides: Iterable) -> None:
    """Read every file the composition will use; a ConfigError names the first bad one."""
    for path in selected_files(overrides):
        checked(path)


def scenario_name(option: str) -> str:
    """The `name:` of scenario file `option` (checked)."""
    return checked(group_file("scenario", option) or SCENARIO_DIR / f"{option}.yaml")["name"]
