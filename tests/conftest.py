from __future__ import annotations

import pytest
from hypothesis import settings

from freebeken.chips import CHIPS
from freebeken.sim.line import SimLine
from helpers import all_retained_in, make_chip, releases_stub, require_shared, standin_apps

# Tests are deterministic: property tests draw the same examples on every run and every machine.
settings.register_profile("deterministic", derandomize=True)
settings.load_profile("deterministic")


@pytest.fixture
def t_line() -> SimLine:
    return SimLine(make_chip("bk7231t"), time_scale=0, stay_in_loader=True)


@pytest.fixture
def n_line() -> SimLine:
    return SimLine(make_chip("bk7231n"), time_scale=0, stay_in_loader=True)


@pytest.fixture(autouse=True)
def fast_simulated_devices(monkeypatch):
    """Simulated OpenBeken devices pace their MQTT as the firmware does (one full-state item a
    second, then 3 queued publishes a second); tests run that clock 50 times faster, and the waits
    of ``ha`` that follow the firmware's pacing (ha.pace) shrink with it. The slow test in
    test_obk_fidelity.py runs it at real speed."""
    monkeypatch.setenv("FREEBEKEN_SIM_TIME_SCALE", "0.02")


@pytest.fixture(autouse=True)
def loopback_broker(monkeypatch):
    """The tests' brokers run on this machine: a Session learns that every retained message is in
    from a marker it publishes itself (helpers.all_retained_in) instead of from half a second of
    quiet, and its quiet windows (for live chatter) are a fifth as long."""
    from freebeken.ha.broker import Session

    monkeypatch.setattr(Session, "retained_barrier", staticmethod(lambda session: all_retained_in(session, keep_marker=True)))
    monkeypatch.setattr(Session, "quiet_scale", 0.2)


@pytest.fixture(autouse=True)
def peer_tool_on_an_instant_simulator(monkeypatch):
    """ltchiptool (which drives RTL8720CF and LN882H) ends many reads on a quiet line: 1 s after a
    baud change, 3 s after an upload; and it gives LN882H's RAM code 2 s to start. A simulator at
    time_scale=0 answers at once, so on one these waits are a fifth as long (never below 20 ms;
    shorter ones, such as LN882H's 20 ms echo window, stay as they are). Other speeds: untouched."""
    import time

    from ltchiptool.soc.ln882h.util import ln882htool
    from ltchiptool.util.serialtool import SerialToolBase

    def shorter(seconds: float) -> float:
        return max(min(seconds, 0.02), seconds * 0.2)

    def instant(tool) -> bool:
        return getattr(tool.s, "time_scale", None) == 0

    push, ram_boot = SerialToolBase.push_timeout, ln882htool.LN882hTool.ram_boot

    def push_timeout(self, timeout: float) -> None:
        push(self, shorter(timeout) if instant(self) else timeout)

    def quick_ram_boot(self, *args, **kwargs) -> None:  # it sleeps 2 s for the RAM code to start
        if not instant(self):
            return ram_boot(self, *args, **kwargs)
        ln882htool.sleep = lambda seconds: time.sleep(shorter(seconds))
        try:
            return ram_boot(self, *args, **kwargs)
        finally:
            ln882htool.sleep = time.sleep

    monkeypatch.setattr(SerialToolBase, "push_timeout", push_timeout)
    monkeypatch.setattr(ln882htool.LN882hTool, "ram_boot", quick_ram_boot)


@pytest.fixture(autouse=True)
def quick_rescan(monkeypatch):
    """`device find` scans the network again every 3 s while waiting for a plug; on loopback a
    scan takes milliseconds, so the tests' plugs are looked for every 0.2 s."""
    monkeypatch.setattr("freebeken.device.discover.RESCAN", 0.2)


@pytest.fixture(autouse=True)
def no_public_lists(monkeypatch):
    """The device lists are downloaded from GitHub by default: in tests only 127.0.0.1 is
    reached (a closed port: "offline"), unless a test serves them itself."""
    monkeypatch.setenv("FREEBEKEN_DEVICES_URL", "http://127.0.0.1:9/devices.json")
    monkeypatch.setenv("FREEBEKEN_CLOUDCUTTER_URL", "http://127.0.0.1:9/api")


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """Backups, journals, conversions and caches of a test go to a folder of its own, never the
    user's: ``tmp_path/home``, returned to the tests that look inside it."""
    path = tmp_path / "home"
    monkeypatch.setenv("FREEBEKEN_HOME", str(path))
    return path


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``@pytest.mark.shared("dumps", ...)``: the test reads ../shared/<part>. Outside CI a missing
    part skips it with the reason; in CI it fails, so real-data tests never vanish silently."""
    for mark in item.iter_markers("shared"):
        require_shared(*mark.args)


@pytest.fixture
def releases(monkeypatch):
    """A local server standing in for the GitHub releases API and its downloads: (its URL, a state
    whose "corrupt" damages the downloads)."""
    apps = standin_apps()
    files = {f"{c.firmware_prefix}1.17.600.bin": apps[k] if c.is_bim else b"\xff" * 0x11000 + apps[k] for k, c in CHIPS.items()}
    state = {"corrupt": False}
    server = releases_stub(files, "1.17.600", pre=("1.17.601", {"OpenBK7231T_UA_1.17.601.bin": b"x"}), state=state)
    url = f"{server.base}/releases"
    monkeypatch.setenv("FREEBEKEN_RELEASES_URL", url)
    yield url, state
    server.stop()
