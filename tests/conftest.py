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
