"""Backup and flash at real timing: freebeken vs bk7231tools vs ltchiptool, same run, same line.

Every tool talks to the same simulated chip on a pty (time_scale=1: real UART and flash timing)
as an external process, through the same shim. Not part of CI; run:

    .venv/bin/python benchmarks/bench_flash.py [--chip bk7231n|bk7231t|both] [--baud 921600]
                                               [--adapter ideal,ch340,cp2102,ftdi,pl2303]

Per adapter profile (sim/adapters.py, docs/adapters.md) it also prints how many commands each tool
sent and the physical limit: the wire time of the bytes that must cross, the flash's own erase and
program time (datasheet figures of the simulated part), and one adapter round trip per command
that cannot be avoided.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from freebeken.chips import chip_by_name, flash_by_name
from freebeken.protocol import BLANK_SECTOR_CRC, beken_crc
from freebeken.sim.adapters import AdapterProfile, adapter_by_name
from freebeken.sim.chip import CRC_BYTES_PER_S
from freebeken.sim.config import SimConfig
from freebeken.sim.image import build_stock_image
from freebeken.sim.pty import PtyServer
from freebeken.sim.release import standin_app

BIN = Path(sys.executable).parent
APP_SIZE = 0x100000 - 0x11000  # a ~1 MiB OpenBeken-like application


def tool(name: str) -> str:
    return shutil.which(name, path=str(BIN)) or name


def timed(server: PtyServer, args: list[str], out: dict | None = None) -> float:
    """Seconds the process took; ``out`` receives freebeken's --json result record."""
    start = time.monotonic()
    result = subprocess.run(args, env={**os.environ, **server.env}, capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    if out is not None:
        records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        out.update(next(r for r in reversed(records) if r.get("ok")))
    return elapsed


def wire(nbytes: int, baud: int) -> float:
    return nbytes * 10 / baud


def limits(stock: bytes, chip: str, baud: int, adapter: AdapterProfile) -> dict[str, float]:
    """Seconds no tool can beat on this line (see the module docstring)."""
    rtt = adapter.rx_latency + adapter.tx_latency
    sectors = [stock[a : a + 4096] != b"\xff" * 4096 for a in range(0, len(stock), 4096)]
    nonblank = sum(sectors)
    blank_runs = sum(1 for i, used in enumerate(sectors) if not used and (i == 0 or sectors[i - 1]))
    blank_bytes = (len(sectors) - nonblank) * 4096
    part = flash_by_name("TH25Q16HB")
    app_sectors = (APP_SIZE + 4095) // 4096
    blocks = (APP_SIZE + 0xFFFF) // 0x10000
    return {
        "backup 2 MiB": wire(nonblank * (12 + 4111), baud) + (nonblank + blank_runs) * rtt + blank_bytes / CRC_BYTES_PER_S,
        "flash ~1 MiB": wire(app_sectors * (4108 + 15), baud)
        + blocks * part.t_erase_64k
        + app_sectors * 16 * part.t_page
        + (app_sectors + blocks) * rtt,
        "re-flash identical": APP_SIZE / CRC_BYTES_PER_S + rtt,
    }


def run_chip(chip: str, baud: int, work: Path, adapter: str = "ideal") -> list[tuple[str, str, float, str]]:
    profile = chip_by_name(chip)
    stock = build_stock_image(profile, seed=42)
    nonblank = sum(beken_crc(stock[a : a + 4096]) != BLANK_SECTOR_CRC for a in range(0, len(stock), 4096))
    app = standin_app(profile, size=APP_SIZE // 34 * 32, seed=7)  # shaped as a release (content is checked)
    app_file = work / "app.bin"
    app_file.write_bytes(app)
    if chip == "bk7231t":
        fw = work / "OpenBK7231T_UA_1.17.999.bin"
        fw.write_bytes(app)
    else:
        fw = work / "OpenBK7231N_QIO_1.17.999.bin"
        fw.write_bytes(bytes(stock[:0x11000]) + app)
    line = SimConfig.from_url(f"sim://{chip}?time_scale=1&adapter={adapter}").build()
    flash = line.chip.flash

    def reset_flash() -> None:
        flash.data[:] = stock
        flash.protect()

    rows: list[tuple[str, str, float, str]] = []
    with PtyServer(line) as server:
        dev = server.path
        backup_wire = wire(nonblank * (12 + 4111), baud)
        outputs = {
            "freebeken": (
                [tool("freebeken"), "--json", "backup", "-p", dev, "-b", str(baud), "-o", str(work / "fb.bin")],
                work / "fb.bin",
            ),
            "bk7231tools": (
                [
                    tool("bk7231tools"),
                    "read_flash",
                    "-d",
                    dev,
                    "-b",
                    str(baud),
                    "-s",
                    "0",
                    "-l",
                    "0x200000",
                    str(work / "bt.bin"),
                ],
                work / "bt.bin",
            ),
            "ltchiptool": (
                [tool("ltchiptool"), "flash", "read", "-d", dev, "-b", str(baud), "bk72xx", str(work / "lt.bin")],
                work / "lt.bin",
            ),
        }
        fb_result: dict = {}
        for name, (args, out) in outputs.items():
            reset_flash()
            before = line.chip.commands
            seconds = timed(server, args, fb_result if name == "freebeken" else None)
            ok = out.read_bytes() == bytes(stock)
            rows.append(("backup 2 MiB", name, seconds, f"{'ok' if ok else 'WRONG DATA'}, {line.chip.commands - before} cmds"))
        app_sectors = (APP_SIZE + 4095) // 4096
        flash_wire = wire(app_sectors * (4108 + 15), baud)
        writers = {
            "freebeken": [tool("freebeken"), "flash", "-p", dev, "-b", str(baud), "--no-backup", str(fw)],
            "bk7231tools": [tool("bk7231tools"), "write_flash", "-d", dev, "-b", str(baud), "-s", "0x11000", str(app_file)],
            "ltchiptool": [
                tool("ltchiptool"),
                "flash",
                "write",
                "-d",
                dev,
                "-b",
                str(baud),
                "-f",
                chip,
                "-s",
                "0x11000",
                str(app_file),
            ],
        }
        for name, args in writers.items():
            reset_flash()
            before = line.chip.commands
            seconds = timed(server, args)
            ok = bytes(flash.data[0x11000 : 0x11000 + APP_SIZE]) == app
            rows.append(("flash ~1 MiB", name, seconds, f"{'ok' if ok else 'WRONG DATA'}, {line.chip.commands - before} cmds"))
        before = line.chip.commands
        seconds = timed(server, writers["freebeken"])  # the chip already holds this image
        rows.append(("re-flash identical", "freebeken", seconds, f"ok, {line.chip.commands - before} cmds"))
    read_wire = wire(fb_result["read_sectors"] * (12 + 4111), baud)
    rows.append(("backup: non-blank sector reads", "freebeken", fb_result["read_seconds"], f"wire {read_wire:.1f} s"))
    return rows, backup_wire, flash_wire, nonblank


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chip", default="both", choices=["bk7231n", "bk7231t", "both"])
    parser.add_argument("--baud", type=int, default=921600)
    parser.add_argument("--adapter", default="ideal", help="comma-separated adapter profiles")
    args = parser.parse_args()
    chips = ["bk7231n", "bk7231t"] if args.chip == "both" else [args.chip]
    for adapter in args.adapter.split(","):
        for chip in chips:
            run_one(chip, args.baud, adapter_by_name(adapter))


def run_one(chip: str, baud: int, adapter: AdapterProfile) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["FREEBEKEN_HOME"] = str(home)
        rows, backup_wire, flash_wire, nonblank = run_chip(chip, baud, Path(tmp), adapter.name)
    limit = limits(bytes(build_stock_image(chip_by_name(chip), seed=42)), chip, baud, adapter)
    print(f"\n## {chip.upper()} at {baud} baud, adapter {adapter.name}, real timing ({nonblank}/512 sectors hold data)\n")
    print("| task | tool | seconds | result |")
    print("|---|---|---:|---|")
    for task, name, seconds, status in rows:
        print(f"| {task} | {name} | {seconds:.1f} | {status} |")
    times = {(t, n): s for t, n, s, _ in rows}
    fb_backup = times[("backup 2 MiB", "freebeken")]
    fb_flash = times[("flash ~1 MiB", "freebeken")]
    best_backup_peer = min(times[("backup 2 MiB", p)] for p in ("bk7231tools", "ltchiptool"))
    print()
    print(f"- backup: wire limit of the data needed {backup_wire:.1f} s; freebeken / wire = {fb_backup / backup_wire:.2f}")
    for peer in ("bk7231tools", "ltchiptool"):
        print(f"- backup: {peer} / freebeken = {times[('backup 2 MiB', peer)] / fb_backup:.2f}x")
    print(f"- backup: faster peer / freebeken = {best_backup_peer / fb_backup:.2f}x (target >= 1.3)")
    reads = times[("backup: non-blank sector reads", "freebeken")]
    print(
        f"- backup: non-blank sector reads / their wire time = {reads / (nonblank * (12 + 4111) * 10 / baud):.3f} (target <= 1.05)"
    )
    print(f"- flash: wire limit {flash_wire:.1f} s; freebeken / wire = {fb_flash / flash_wire:.2f}")
    for peer in ("bk7231tools", "ltchiptool"):
        print(f"- flash: {peer} / freebeken = {times[('flash ~1 MiB', peer)] / fb_flash:.2f}x")
    reflash = times[("re-flash identical", "freebeken")]
    print(f"- re-flash identical: {reflash:.1f} s = {100 * reflash / fb_flash:.1f} % of a full write (target < 5 %)")
    for task, seconds in limit.items():
        print(f"- limit {task}: {seconds:.1f} s; freebeken / limit = {times[(task, 'freebeken')] / seconds:.2f}")


if __name__ == "__main__":
    main()
