"""USB-serial adapter profiles in the simulator: latency per round trip, and the rates each can make."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from freebeken.cli.main import main
from freebeken.errors import UsageError
from freebeken.events import ListReporter
from freebeken.link import Session, link, open_port
from freebeken.protocol import commands as c
from freebeken.sim.adapters import ADAPTERS
from freebeken.sim.config import SimConfig


@pytest.mark.parametrize(
    "name,works,fails",
    [
        ("ideal", [921600, 1500000, 2000000], []),
        ("ch340", [115200, 921600, 1500000, 2000000], [3000000]),
        ("cp2102", [115200, 460800, 921600], [1500000, 2000000]),  # AN205: a fixed table up to 921600
        ("ftdi", [115200, 921600, 1500000, 2000000], []),
        ("pl2303", [115200, 921600], [1500000, 2000000]),
    ],
)
def test_each_adapter_makes_the_rates_its_datasheet_allows(name, works, fails):
    profile = ADAPTERS[name]
    assert all(profile.on_wire(b) == b for b in works)
    assert all(profile.on_wire(b) != b for b in fails)


@pytest.mark.parametrize("name,best", [("ch340", 2000000), ("cp2102", 921600), ("ftdi", 2000000), ("pl2303", 921600)])
def test_the_doctor_finds_each_adapters_best_rate(name, best):
    import json

    result = CliRunner().invoke(main, ["--json", "doctor", "-p", f"sim://bk7231n?time_scale=0&adapter={name}"])
    record = json.loads(result.output.strip().splitlines()[-1])
    assert result.exit_code == 0 and record["best_rate"] == best


def _round_trip(adapter: str) -> float:
    session = Session(open_port(f"sim://bk7231n?time_scale=1&adapter={adapter}"))
    try:
        link(session, ListReporter(), timeout=3)
        session.drain(0.1)  # the burst's extra replies, still inside the adapter for up to 16 ms
        start = time.monotonic()
        for _ in range(5):
            session.transact(c.LinkCheck())
        return (time.monotonic() - start) / 5
    finally:
        session.port.close()


def test_every_command_pays_the_adapters_latency():
    ideal, ftdi, ch340 = _round_trip("ideal"), _round_trip("ftdi"), _round_trip("ch340")
    assert ftdi >= 0.017 > ideal  # FTDI: the 16 ms latency timer on every short reply, + 1 ms out
    assert 0.003 <= ch340 < 0.012


def test_unknown_adapter_is_a_usage_error():
    with pytest.raises(UsageError, match="ch341x") as err:
        SimConfig.from_url("sim://bk7231t?adapter=ch341x")
    assert "ch340" in err.value.hint
