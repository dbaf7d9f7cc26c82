"""Shared fixtures. The helpers they build on live in `helpers.py` (tests import it directly).

Kernel tests build a few residents by hand (`TinyWorld`) and force outcomes through the kernel
parameters. Never assert on a number that depends on the calibrated defaults in `configs/`:
they change.
"""

import sys

import pytest
from helpers import TinyWorld, small_config

from sim.config import VpsimConfig


@pytest.fixture
def tiny_world():
    """Factory: `tiny_world(n, ties=[(i, j)], **forced_params)` -> TinyWorld."""
    return TinyWorld


@pytest.fixture
def small_cfg() -> VpsimConfig:
    """Schema defaults at 2,000 residents in 4 communities, 1 + 2 years, seed 0."""
    return small_config()


@pytest.fixture
def in_process(monkeypatch, tmp_path):
    """`vpsim ARGS` run in this process (a monkeypatch reaches it; no interpreter start-up), in
    `cwd` (default: the test's empty folder); returns the exit code."""
    from hydra.core.global_hydra import GlobalHydra

    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)

    def run(*args, cwd=None):
        from sim import cli

        monkeypatch.chdir(cwd or tmp_path)
        GlobalHydra.instance().clear()
        monkeypatch.setattr(sys, "argv", ["vpsim", *args])
        try:
            cli.main()
        except SystemExit as stop:
            return stop.code
        finally:
            GlobalHydra.instance().clear()
        return 0

    return run
