"""Adapters to analysis tools (the `analysis` extra): `sim.analysis.ema` (EMA Workbench: scenario
discovery, PRIM, feature scoring) and `sim.analysis.salib` (SALib: Sobol, Morris). Both take their
ranges from the parameter catalogue (`sim.parameters`) and run through `sim.api`."""

from __future__ import annotations


def identifier(key: str) -> str:
    """A dotted config key as a Python identifier (EMA's names must be): '.' -> '__'."""
    return key.replace(".", "__")


def dotted(name: str) -> str:
    return name.replace("__", ".")
