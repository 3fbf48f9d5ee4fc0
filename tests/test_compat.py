"""Unmodified peer tools (bk7231tools, ltchiptool) against the simulator on a pty."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freebeken.sim.config import SimConfig
from freebeken.sim.pty import PtyServer

pytestmark = pytest.mark.compat
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/test (it installs the test dependencies)")
    return path


@pytest.fixture
def serve():
    servers: list[PtyServer] = []

    def start(url: str) -> PtyServer:
        server = PtyServer(SimConfig.from_url(url).build()).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def run(server: PtyServer, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **server.env}
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[:2]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


#: What bk7231tools says of each simulated chip: it knows T, U and BK7238 by bootloader or chip ID,
#: takes an M for an N (same chip ID; it does not read the eFuse), and names BK7252N by its ID only.
PEER_SAYS = {
    "bk7231t": "BK7231S_1.0.5",
    "bk7231u": "BK7231U_1_0_6",
    "bk7231n": "chip: BK7231N",
    "bk7231m": "chip: BK7231N",
    "bk7238": "bootloader: BK7238_T1_2_0_0, chip ID: 0x7238",
    "bk7252n": "chip ID: 0x7252a",
}


@pytest.mark.parametrize("chip", list(PEER_SAYS))
def test_bk7231tools_chip_info_and_read_64k(serve, tmp_path, chip):
    server = serve(f"sim://{chip}?time_scale=0")
    out = run(server, tool("bk7231tools"), "chip_info", "-d", server.path)
    assert PEER_SAYS[chip] in out.stdout + out.stderr, out.stdout + out.stderr
    dest = tmp_path / "read.bin"
    # on T this goes through the +2 MiB wrap-around, so offset 0 is readable
    run(server, tool("bk7231tools"), "read_flash", "-d", server.path, "-s", "0x0", "-l", "0x10000", str(dest))
    assert dest.read_bytes() == server.line.chip.flash.read(0, 0x10000)


@pytest.mark.parametrize("chip", ["bk7231n", "bk7238", "bk7252n"])
def test_bk7231tools_writes_and_verifies_64k_on_rom_chips(serve, tmp_path, chip):
    server = serve(f"sim://{chip}?time_scale=0")
    payload = os.urandom(0x10000)
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    assert server.line.chip.flash.protected  # the peer has to unprotect, as on a stock device
    run(server, tool("bk7231tools"), "write_flash", "-d", server.path, "-s", "0x100000", str(src))
    assert server.line.chip.flash.read(0x100000, 0x10000) == payload


@pytest.mark.parametrize("part,known", [("GD25WQ16E", True), ("P25Q16HB", True), ("jedec:9d6015", False)])
def test_bk7231tools_unprotects_the_simulated_flash_parts_as_real_ones(serve, tmp_path, part, known):
    """The peer's own table drives it: it clears CMP on a two-register part (GD25WQ16E ships with
    CMP alone set here), SR1 only on P25Q16HB (one register in its table), and refuses an id it
    does not know - as freebeken does when that part is protected."""
    server = serve(f"sim://bk7231n?time_scale=0&flash={part}")
    src = tmp_path / "payload.bin"
    src.write_bytes(os.urandom(0x1000))
    args = (tool("bk7231tools"), "write_flash", "-d", server.path, "-s", "0x100000", str(src))
    before = server.line.chip.flash.read(0x100000, 0x1000)
    if known:
        run(server, *args)
        assert server.line.chip.flash.read(0x100000, 0x1000) == src.read_bytes()
    else:
        result = subprocess.run(args, env={**os.environ, **server.env}, capture_output=True, text=True, timeout=120)
        assert result.returncode != 0 and "9d6015" in (result.stdout + result.stderr).lower()
        assert server.line.chip.flash.read(0x100000, 0x1000) == before  # nothing erased


@pytest.mark.parametrize("chip", list(PEER_SAYS))
def test_ltchiptool_reads_flash(serve, tmp_path, chip):
    server = serve(f"sim://{chip}?time_scale=0")
    dest = tmp_path / "lt.bin"
    run(server, tool("ltchiptool"), "flash", "read", "-d", server.path, "-s", "0x0", "-l", "0x20000", "bk72xx", str(dest))
    assert dest.read_bytes() == server.line.chip.flash.read(0, 0x20000)


def test_freebeken_sim_serve_prints_device_and_environment(tmp_path):
    image = tmp_path / "chip.bin"
    proc = subprocess.Popen(
        [tool("freebeken"), "sim", "serve", "--chip", "bk7231n", "--time-scale", "0", "--image", str(image)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        device = proc.stdout.readline().split(": ", 1)[1].strip()
        env_line = proc.stdout.readline().split(": ", 1)[1].strip()
        env = dict(item.split("=", 1) for item in env_line.split(" "))
        assert os.path.exists(device) and "FREEBEKEN_SIM_PTYS" in env
        result = subprocess.run(
            [tool("bk7231tools"), "chip_info", "-d", device],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "BK7231N" in result.stdout, result.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert image.stat().st_size == 0x200000


@pytest.mark.slow
def test_real_timing_read_takes_at_least_wire_time(serve, tmp_path):
    """At real timing 64 KiB at 115200 cannot be faster than the wire (~5.7 s)."""
    server = serve("sim://bk7231n?time_scale=1")
    dest = tmp_path / "read.bin"
    start = time.monotonic()
    run(server, tool("bk7231tools"), "read_flash", "-d", server.path, "-s", "0x11000", "-l", "0x10000", str(dest))
    elapsed = time.monotonic() - start
    wire = 16 * (12 + 4111) * 10 / 115200
    assert elapsed >= wire, elapsed
    assert dest.read_bytes() == server.line.chip.flash.read(0x11000, 0x10000)
