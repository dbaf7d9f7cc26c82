"""Shared fixtures. The helpers they build on live in `helpers.py` (tests import it directly).

Kernel tests build a few residents by hand (`TinyWorld`) and force outcomes through the kernel
parameters. Never assert on a number that depends on the calibrated defaults in `configs/`:
they change.
"""

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
