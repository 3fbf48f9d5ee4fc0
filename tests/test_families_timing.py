"""Backup and flash times at real timing, freebeken against ltchiptool in the same run, both on the same
simulated chip served on a pty (as a real adapter would be). Prints the numbers; asserts only what must
hold: neither beats the wire, both deliver the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from freebeken.sim.families import config_for_url
from freebeken.sim.family_images import release_image
from freebeken.sim.pty import PtyServer

pytestmark = [pytest.mark.slow, pytest.mark.compat, pytest.mark.heavy]  # a benchmark at real timing: minutes
BIN = Path(sys.executable).parent
FAMILY = {"rtl8720cf": "realtek-ambz2", "ln882h": "lightning-ln882h"}
BAUD = {"rtl8720cf": "1500000", "ln882h": "1000000"}


FAILED: list[str] = []


def timed(args: list[str], env: dict[str, str], reset=None) -> float:
    """Seconds of the first of three runs that succeeds (ltchiptool's LN882H reader wants each echo within
    20 ms, which a loaded test machine does not always give it; failures are printed)."""
    for _ in range(3):
        start = time.monotonic()
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800)
        if result.returncode == 0:
            return time.monotonic() - start
        said = (result.stdout + result.stderr).strip()[-160:]
        FAILED.append(f"{Path(args[0]).name} {args[3] if len(args) > 3 else ''}: {said}")
        if reset is not None:
            reset()  # as a person would: power-cycle with the boot pin held
    raise AssertionError(result.stdout[-2000:] + result.stderr[-2000:])


@pytest.mark.parametrize("chip", list(FAMILY))
def test_backup_and_flash_times_against_ltchiptool(tmp_path, chip, capsys):
    line = config_for_url(f"sim://{chip}?time_scale=1").build()
    image = tmp_path / ("OpenRTL87X0C_1.18.230.bin" if chip == "rtl8720cf" else "OpenLN882H_1.18.230.bin")
    image.write_bytes(release_image(chip))
    stock = line.chip.flash.read(0, 0x200000)
    with PtyServer(line) as server:  # type: ignore[arg-type]
        env = {**os.environ, **server.env, "FREEBEKEN_HOME": str(tmp_path / "home")}
        fb = [sys.executable, "-m", "freebeken", "--json"]
        lt = [str(BIN / "ltchiptool"), "flash"]
        reset = line.power_on
        times = {
            "ltchiptool backup": timed(
                [*lt, "read", "-d", server.path, "-b", BAUD[chip], FAMILY[chip], str(tmp_path / "lt.bin")], env, reset
            ),
            "freebeken backup": timed([*fb, "backup", "-p", server.path, "--chip", chip, "-o", str(tmp_path / "fb.bin")], env),
        }
        assert (tmp_path / "lt.bin").read_bytes() == stock == (tmp_path / "fb.bin").read_bytes()
        times["freebeken flash"] = timed([*fb, "flash", "-p", server.path, "--chip", chip, str(image)], env)
        line.chip.flash.data[:] = stock  # the same start for both
        times["ltchiptool flash"] = timed(
            [*lt, "write", "-d", server.path, "-b", BAUD[chip], "-f", FAMILY[chip], "-s", "0", str(image)], env, reset
        )
    with capsys.disabled():
        print(f"\n{chip}: " + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()))
        print("\n".join(f"  failed attempt: {f}" for f in FAILED))
    wire = 0x200000 * 2 * 10 / 1_500_000  # at least 2 characters a byte at the fastest rate either uses
    assert min(times["ltchiptool backup"], times["freebeken backup"]) > wire
