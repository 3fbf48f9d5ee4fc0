"""Unmodified ltchiptool against the RTL8720CF and LN882H simulators on a pty: the simulators speak
what ltchiptool's AmebaZ2 and LN882H implementations expect, byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freebeken.sim.families import config_for_url
from freebeken.sim.pty import PtyServer

pytestmark = pytest.mark.compat
BIN = Path(sys.executable).parent
FAMILY = {"rtl8720cf": "realtek-ambz2", "ln882h": "lightning-ln882h"}


def ltchiptool() -> str:
    path = shutil.which("ltchiptool", path=str(BIN)) or shutil.which("ltchiptool")
    if path is None:
        pytest.fail("ltchiptool is not installed: run scripts/test (it installs the test dependencies)")
    return path


@pytest.fixture
def serve():
    servers: list[PtyServer] = []

    def start(url: str) -> PtyServer:
        server = PtyServer(config_for_url(url).build()).start()  # type: ignore[arg-type]  # a TextLine serves as a SimLine
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def run(server: PtyServer, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, **server.env}
    result = subprocess.run([ltchiptool(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[:2]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


@pytest.mark.parametrize("chip", list(FAMILY))
def test_ltchiptool_reads_flash(serve, tmp_path, chip):
    server = serve(f"sim://{chip}?time_scale=0")
    dest = tmp_path / "read.bin"
    run(server, "flash", "read", "-d", server.path, "-s", "0x0", "-l", "0x10000", FAMILY[chip], str(dest))
    assert dest.read_bytes() == server.line.chip.flash.read(0, 0x10000)


def test_ltchiptool_chip_info_reads_the_efuse_mac_on_rtl(serve):
    """ltchiptool loads its eFuse reader into RAM and jumps to it through a ROM console command."""
    server = serve("sim://rtl8720cf?time_scale=0&mac=D4A651A1B2C3")
    out = run(server, "flash", "info", "-d", server.path, "realtek-ambz2")
    text = out.stdout + out.stderr
    assert "D4:A6:51:A1:B2:C3" in text and "RTL87x0CF" in text, text


def test_ltchiptool_chip_info_on_ln882h(serve):
    server = serve("sim://ln882h?time_scale=0&mac=D4A651A1B2C3")
    out = run(server, "flash", "info", "-d", server.path, "lightning-ln882h")
    text = out.stdout + out.stderr
    assert "0xEB6015" in text and "D4:A6:51:A1:B2:C3" in text, text


@pytest.mark.heavy  # LN882H: ltchiptool wants each echo within 20 ms, which a loaded 2-core box misses
@pytest.mark.parametrize("chip", list(FAMILY))
def test_ltchiptool_writes_flash(serve, tmp_path, chip):
    server = serve(f"sim://{chip}?time_scale=0")
    payload = os.urandom(0x8000)
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    run(server, "flash", "write", "-d", server.path, "-f", FAMILY[chip], "-s", "0x100000", str(src))
    assert server.line.chip.flash.read(0x100000, len(payload)) == payload


def test_ltchiptool_rtl_read_on_a_noisy_line_is_caught_by_sha256(serve, tmp_path):
    """A flipped bit that keeps a hex digit valid passes ltchiptool's line parser; its SHA-256 check
    catches it and it stops (it re-reads unparsable lines, not a range whose hash disagrees)."""
    server = serve("sim://rtl8720cf?time_scale=0&corrupt=0.00002&seed=3")
    dest = tmp_path / "read.bin"
    env = {**os.environ, **server.env}
    args = ["flash", "read", "-d", server.path, "-s", "0x0", "-l", "0x20000", "realtek-ambz2", str(dest)]
    result = subprocess.run([ltchiptool(), *args], env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode != 0 and "SHA256 value does not match" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.heavy
@pytest.mark.parametrize("chip", list(FAMILY))
def test_real_timing_read_takes_at_least_wire_time(serve, tmp_path, chip):
    """At real timing the text dump cannot beat the wire: RTL's DB prints ~4.9 characters a byte,
    LN882H's flash_read 2 hex digits a byte, both at 115200 when ltchiptool is not told a faster rate."""
    server = serve(f"sim://{chip}?time_scale=1")
    dest = tmp_path / "read.bin"
    start = time.monotonic()
    run(server, "flash", "read", "-d", server.path, "-s", "0x10000", "-l", "0x4000", FAMILY[chip], str(dest))
    elapsed = time.monotonic() - start
    chars = 0x4000 * (78 / 16 if chip == "rtl8720cf" else 2)
    baud = 115200 if chip == "rtl8720cf" else 1_000_000
    assert elapsed >= chars * 10 / baud, elapsed
    assert dest.read_bytes() == server.line.chip.flash.read(0x10000, 0x4000)
