from __future__ import annotations

import pytest

from freebeken.sim.line import SimLine
from helpers import make_chip


@pytest.fixture
def t_line() -> SimLine:
    return SimLine(make_chip("bk7231t"), time_scale=0, stay_in_loader=True)


@pytest.fixture
def n_line() -> SimLine:
    return SimLine(make_chip("bk7231n"), time_scale=0, stay_in_loader=True)


@pytest.fixture(autouse=True)
def fast_simulated_devices(monkeypatch):
    """Simulated OpenBeken devices pace their MQTT as the firmware does (one full-state item a
    second, then 3 queued publishes a second); tests run that clock 50 times faster. The slow
    test in test_obk_fidelity.py runs it at real speed."""
    monkeypatch.setenv("FREEBEKEN_SIM_TIME_SCALE", "0.02")
