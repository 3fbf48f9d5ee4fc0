"""Issue 30, a newcomer's first hour: each simulated plug is a plug of its own, and the command
line's smaller rough edges (progress after Ctrl-C, paths at 80 columns, the demo's files and next
step, a mistyped simulator option, a device without pins, the licence)."""

from __future__ import annotations

import io
import re
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from freebeken.chips import dump
from freebeken.cli.main import main
from freebeken.cli.render import RichReporter
from freebeken.cli.sim_cmds import device_mac
from freebeken.errors import UsageError
from freebeken.events import Event, NullReporter
from freebeken.flasher import operations as ops
from freebeken.sim.config import KEYS, SimConfig, mac_for
from freebeken.sim.obk.board import board
from freebeken.sim.obk.boot import boot_image
from freebeken.sim.obk.device import ObkDevice
from freebeken.sim.obk.server import DeviceServer
from helpers import firmware_file

ROOT = Path(__file__).resolve().parent.parent


def mac_of(url: str) -> bytes | None:
    image = SimConfig.from_url(url).load_image()
    return dump.mac(bytes(image), "BK7231T")


def test_two_simulated_plugs_do_not_share_a_mac(tmp_path):
    """Each image file is a plug of its own (its MAC derived from its path, then kept in the file);
    a seed or mac= chooses one; the plain URL stays the one default chip tests rely on."""
    a, b = (f"sim://bk7231t?time_scale=0&image={tmp_path / n}" for n in ("a.bin", "b.bin"))
    assert mac_of(a) != mac_of(b)
    assert mac_of(a) == mac_for(str((tmp_path / "a.bin").resolve())) == mac_of(a)  # kept: the file holds it now
    assert mac_of("sim://bk7231t?seed=1") != mac_of("sim://bk7231t?seed=2")
    assert mac_of("sim://bk7231t?mac=C8:47:8C:00:00:07") == bytes.fromhex("c8478c000007")
    assert mac_of("sim://bk7231t") == bytes.fromhex("c8478c43f310")
    # booted, the two plugs have their own names (and so their own MQTT topics and HA configs)
    with ops.open_chip(a, NullReporter()), ops.open_chip(b, NullReporter()):
        pass
    names = {boot_image((tmp_path / n).read_bytes(), board("u3")).device.mac for n in ("a.bin", "b.bin")}
    assert len(names) == 2
    # `sim device`: a MAC of its own on each run, or the one asked for
    assert device_mac(None) != device_mac(None) and device_mac("c8-47-8c-00-00-09") == bytes.fromhex("c8478c000009")
    with pytest.raises(UsageError, match="Not a MAC"):
        device_mac("c8:47")


def test_an_unknown_simulator_option_gets_a_did_you_mean():
    with pytest.raises(UsageError, match=r"'timescale'.*did you mean 'time_scale'\?") as caught:
        SimConfig.from_url("sim://bk7231t?timescale=0")
    assert "time_scale=" in caught.value.hint
    with pytest.raises(UsageError) as caught:
        SimConfig.from_url("sim://bk7231t?zzz=1")
    assert "did you mean" not in str(caught.value) and "power_cut_after" in caught.value.hint
    values = {
        "image": "/nonexistent/x.bin",
        "mac": "c8478c000001",
        "flash": "TH25Q16HB",
        "adapter": "ch340",
        "efuse": "zero",
        "boot_version": "none",
        "wiring": "ok",
        "reset": "wired",
        "power": "on",
        "chip_id": "0x7236",
    }
    for key in KEYS:  # every key the hint names is one the simulator takes
        SimConfig.from_url(f"sim://bk7231t?{key}={values.get(key, '1')}")


def reporter_output(events: list[Event], width: int = 80) -> str:
    out = io.StringIO()
    reporter = RichReporter(Console(file=out, width=width, force_terminal=False, color_system=None))
    for event in events:
        reporter.emit(event)
    reporter.close()
    return out.getvalue()


def test_progress_after_ctrl_c_says_how_far_it_got():
    phase = Event("phase", "Backup: reading the flash", total=0x200000)
    text = reporter_output([phase, Event("progress", done=0x5A000, total=0x200000)])
    assert "stopped after 0.35 MiB of 2.00 MiB" in text and "2.00 MiB in" not in text
    done = reporter_output([phase, Event("progress", done=0x200000, total=0x200000)])
    assert "Backup: reading the flash: 2.00 MiB in" in done


def test_ctrl_c_in_a_flash_shows_what_was_written(tmp_path, monkeypatch):
    fw, _ = firmware_file(tmp_path, "bk7231n")
    calls = {"n": 0}
    real = ops.ChipIO.write

    def write(self, address, data):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return real(self, address, data)

    monkeypatch.setattr(ops.ChipIO, "write", write)
    port = f"sim://bk7231n?time_scale=0&image={tmp_path / 'c.bin'}"
    result = CliRunner().invoke(main, ["flash", "-p", port, "--no-backup", str(fw)])
    assert result.exit_code == 130, result.output
    assert re.search(r"Flash: writing: stopped after 0\.15 MiB of 0\.\d\d MiB", result.output), result.output
    assert not re.search(r"Flash: writing: [\d.]+ MiB in", result.output)


def test_a_path_is_never_broken_at_80_columns(tmp_path):
    path = "/home/someone/a-rather-long-folder-name/freebeken/backups/BK7231T-C8478C43F310-2026-12-06T22-01-05.bin"
    text = reporter_output(
        [
            Event("info", f"Resuming the interrupted backup to {path}"),
            Event("warning", f"{path}: the sidecar describes other content"),
        ]
    )
    assert text.count(path) == 2, text


def test_the_demo_leaves_its_files_and_says_what_to_do_next(tmp_path, monkeypatch):
    home = tmp_path / "a-home-folder-whose-name-is-long-enough-to-reach-beyond-eighty-columns"
    monkeypatch.setenv("FREEBEKEN_HOME", str(home))
    mine = home / "demo" / "my-plug.bin"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"a plug of the person's own")
    result = CliRunner().invoke(main, ["demo"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    folder = home / "demo"
    for name in ("bk7231t.bin", "bk7231n.bin", "bk7231t-backup.bin", "OpenBK7231T_UA_demo.bin", "OpenBK7231N_QIO_demo.bin"):
        assert (folder / name).exists(), name  # the paths printed still exist once the demo is over
    assert mine.read_bytes() == b"a plug of the person's own"  # a later run leaves the person's files alone
    urls = [line.strip() for line in result.output.splitlines() if "sim://" in line]
    assert f"sim://bk7231t?time_scale=0.0&image={folder / 'bk7231t.bin'}" in urls  # whole, on one line
    lines = result.output.rstrip().splitlines()
    assert any(line.startswith("Next:") for line in lines[-5:]) and "freebeken flash -p" in result.output
    assert CliRunner().invoke(main, ["demo"]).exit_code == 0  # run again: it starts its own files afresh
    macs = re.findall(r"mac\s+([0-9A-F:]{17})", result.output)
    assert len(set(macs)) == 2


def test_device_pins_with_no_pins_says_so():
    server = DeviceServer(ObkDevice(board("u3"))).start()
    try:
        result = CliRunner().invoke(main, ["device", "pins", server.address])
    finally:
        server.stop()
    assert result.exit_code == 0 and "No pins are configured" in result.output and "pins find" in result.output


def test_the_licence_matches_the_metadata():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    text = (ROOT / "LICENSE").read_text()
    assert meta["license"]["text"] == "MIT" and text.startswith("MIT License")
    assert "Copyright (c) 2026 the freebeken authors" in text


def test_a_saved_backups_path_is_printed_whole(tmp_path, monkeypatch):
    home = tmp_path / "a-home-folder-whose-name-is-long-enough-to-reach-beyond-eighty-columns"
    monkeypatch.setenv("FREEBEKEN_HOME", str(home))
    result = CliRunner().invoke(main, ["backup", "-p", "sim://bk7231t?time_scale=0"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    [saved] = home.glob("backups/*.bin")
    assert str(saved) in result.output, result.output
