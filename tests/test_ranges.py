"""Every allowed range, at each of its edges, one at a time: the model stays within physical bounds.

Each bounded field of the schema (`sim.config`: population, behaviour, justice, and every field of
a program) is set to its lowest and to its highest allowed value, the others left as they are, and
the `small` profile runs for `BURN_IN_YEARS` + `YEARS` years. Program fields are set on every
program of a scenario holding one program of each kind. A cross-field rule may refuse an edge on
`small` (e.g. 32,767 communities need 655,340 residents): that is a one-line `ConfigError` naming
the key. Otherwise the run must stay within:

- at most `MAX_INCARCERATED_SHARE` of residents in prison (10%: the highest national rate on
  record is El Salvador's, about 1.7% of all residents in 2023; the calibrated `el_salvador`
  profile runs at its 2014 rate, 424 per 100,000 of all ages);
- violent incidents finite and at most `MAX_VIOLENT_PER_100K` a year (25,000 per 100,000: one
  for every four residents a year, three times the calibrated El Salvador profile's 8,500);
- homicides finite, at most `MAX_HOMICIDES_PER_100K` a year (500 per 100,000: five times the
  worst national rate on record, El Salvador 2015's 103).

Before issue 10, `behaviour.peer_contagion=0.6` (inside the range then) gave 91,290 violent
incidents per 100,000 and 23.7% of residents in prison: contagion grows without bound (exposure
is not capped), so the allowed ranges stop before that region (see the comments in
`sim/config.py`). The full sweep of every edge is `slow`; the edges nearest the runaway region
run in the default suite.
"""

from __future__ import annotations

import copy
import math
import typing
from dataclasses import fields, is_dataclass

import pytest

from sim import config
from sim.config import ConfigError, ProgramConfig, VpsimConfig, load, validate
from sim.model import ViolencePreventionModel
from sim.outcomes import summary

BURN_IN_YEARS, YEARS = 5, 5
MAX_INCARCERATED_SHARE = 0.10
MAX_VIOLENT_PER_100K = 25_000
MAX_HOMICIDES_PER_100K = 500
ALL_KINDS = ("comprehensive_plan", "hotspot_policing", "focused_deterrence")
"""Scenarios whose programs together are one of each kind."""


def bounded_fields(schema, prefix: str = ""):
    """(dotted key, (lo, hi, lo_open, hi_open)) of every bounded field, nested ones included."""
    hints = typing.get_type_hints(schema)
    for f in fields(schema):
        if is_dataclass(hints[f.name]):
            yield from bounded_fields(hints[f.name], f"{prefix}{f.name}.")
        elif "range" in f.metadata:
            yield f"{prefix}{f.name}", f.metadata["range"]


def inside(bound: float, other: float | None, is_int: bool, open_: bool) -> float:
    """An edge of a range; an open edge is nudged just inside."""
    if not open_:
        return bound
    if is_int:
        return bound + (1 if other is None or other > bound else -1)
    step = 1e-6 * (abs(other - bound) if other is not None else 1.0)
    return bound + (step if other is None or other > bound else -step)


def edges():
    """Every (key, value) to run: each bounded field at its min and at its max."""
    cases = []
    for prefix, schema in (("", VpsimConfig), ("program.", ProgramConfig)):
        for key, (lo, hi, lo_open, hi_open) in bounded_fields(schema):
            default = _default(schema, key)
            is_int = isinstance(default, int) and not isinstance(default, bool)
            if lo is not None:
                cases.append((prefix + key, _cast(inside(lo, hi, is_int, lo_open), is_int)))
            if hi is not None:
                cases.append((prefix + key, _cast(inside(hi, lo, is_int, hi_open), is_int)))
    # (0, MAX_PROGRAM_EFFECT], checked by the program rules (10 before issue 10)
    cases.append(("program.effect", float(getattr(config, "MAX_PROGRAM_EFFECT", 10.0))))
    cases.append(("program.effect", 1e-6))
    return cases


def _default(schema, dotted: str):
    obj = schema()
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _cast(value, is_int: bool):
    return int(value) if is_int else float(value)


def _set(obj, dotted: str, value) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def edge_config(key: str, value) -> VpsimConfig:
    """`small` with `key` at `value` (a program key: on every program of every kind)."""
    base = ["population=small", "progress=false", "figures=false",
            f"burn_in_years={BURN_IN_YEARS}", f"years={YEARS}"]
    if not key.startswith("program."):
        return load(base + [f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}"])
    cfg = load(base + [f"scenario={ALL_KINDS[0]}"])
    for other in ALL_KINDS[1:]:
        cfg.scenario.programs.update(load(base + [f"scenario={other}"]).scenario.programs)
    for program in cfg.scenario.programs.values():
        _set(program, key.removeprefix("program."), value)
    return validate(copy.deepcopy(cfg))


def run_edge(key: str, value) -> dict | None:
    """The run's summary at this edge; None when a cross-field rule refuses it (one line)."""
    try:
        cfg = edge_config(key, value)
        if key == "population.size" and value > 1_000_000:
            cfg.years, cfg.burn_in_years = 1, 0  # per-capita dynamics do not change with size
            from sim import machine

            machine.check(cfg)  # 50,000,000 residents need about 5.6 GiB: refused where short
        model = ViolencePreventionModel(cfg)
    except ConfigError as error:
        message = str(error)
        assert "\n" not in message and key.removeprefix("program.").split(".")[-1] in message, \
            message
        return None
    model.run()
    return summary(model)


def assert_physical(key: str, value, s: dict) -> None:
    where = f"{key}={value}"
    violence, homicides = s["violent_incidents_per_100k_per_year"], s["homicides_per_100k_per_year"]
    incarcerated = s["incarcerated_per_100k"] / 1e5
    assert violence is not None and math.isfinite(violence), where
    assert homicides is not None and math.isfinite(homicides), where
    assert violence <= MAX_VIOLENT_PER_100K, f"{where}: {violence:,.0f} violent incidents"
    assert homicides <= MAX_HOMICIDES_PER_100K, f"{where}: {homicides:,.1f} homicides"
    assert incarcerated <= MAX_INCARCERATED_SHARE, f"{where}: {incarcerated:.1%} in prison"


FAST = {  # the edges nearest the runaway region: contagion and what feeds it
    "behaviour.peer_contagion", "behaviour.exposure_half_life_weeks",
    "behaviour.homicide_exposure_weight", "behaviour.retaliation",
    "behaviour.base_offending_per_year", "population.offending_level", "population.peer_ties",
    "population.gang_ties",
}
EDGES = edges()


@pytest.mark.parametrize("key, value", [e for e in EDGES if e[0] in FAST],
                         ids=lambda x: str(x))
def test_edges_near_the_runaway_region_stay_physical(key, value):
    s = run_edge(key, value)
    if s is not None:
        assert_physical(key, value, s)


@pytest.mark.slow
@pytest.mark.parametrize("key, value", [e for e in EDGES if e[0] not in FAST],
                         ids=lambda x: str(x))
def test_every_other_edge_stays_physical(key, value):
    s = run_edge(key, value)
    if s is not None:
        assert_physical(key, value, s)


def test_every_bounded_field_has_both_edges_in_the_sweep():
    keys = [k for k, _ in EDGES]
    for prefix, schema in (("", VpsimConfig), ("program.", ProgramConfig)):
        for key, (lo, hi, _, _) in bounded_fields(schema):
            assert keys.count(prefix + key) == (lo is not None) + (hi is not None), key
