"""``freebeken demo``: the journey so far on the built-in simulators, no device needed."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

import click

from ..flasher import operations as ops
from .main import Context, command_errors


def demo_firmware(folder: Path, chip: str) -> Path:
    """A stand-in OpenBeken release file (random 'code'; the simulator does not execute it)."""
    app = random.Random(chip).randbytes(0x80000)
    if chip == "bk7231t":
        path = folder / "OpenBK7231T_UA_demo.bin"
        path.write_bytes(app)
    else:
        path = folder / "OpenBK7231N_QIO_demo.bin"
        path.write_bytes(b"\xff" * 0x11000 + app)
    return path


@click.command()
@click.option("--time-scale", type=float, default=0.0, show_default=True, help="1 = real chip timing.")
@click.pass_obj
@command_errors
def demo(ctx: Context, time_scale: float) -> None:
    """Back up, flash and verify simulated BK7231T and BK7231N plugs."""
    with tempfile.TemporaryDirectory(prefix="freebeken-demo-") as tmp:
        folder = Path(tmp)
        for chip in ("bk7231t", "bk7231n"):
            url = f"sim://{chip}?time_scale={time_scale}&image={folder / (chip + '.bin')}"
            ctx.console.print(f"\n[bold]Simulated {chip.upper()} plug[/] ({url})")
            with ops.open_chip(url, ctx.reporter) as io:
                info = io.info.as_dict()
                backup = ops.backup(io, folder / f"{chip}-backup.bin")
                firmware = demo_firmware(folder, chip)
                flashed = ops.flash_firmware(io, firmware)
                verified = ops.verify_file(io, firmware)
                again = ops.flash_firmware(io, firmware)
                restored = ops.restore_backup(io, backup.path)
            ctx.reporter.close()
            summary = {
                "chip": info["chip"],
                "loader": info["loader_version"] or info["loader"],
                "flash": f"{info['flash_chip'] or 'unknown'} {info['flash_size'] // 1024} KiB",
                "mac": info["mac"],
                "backup": f"{backup.blank_sectors} blank sectors skipped, sha256 {backup.sha256[:12]}",
                "flash firmware": f"{flashed.written} sectors written and verified",
                "verify": "matches" if verified.ok else "DIFFERS",
                "flash again": f"{again.written} sectors written (identical image skipped)",
                "restore stock": f"{restored.written} sectors written back",
            }
            for key, value in summary.items():
                ctx.console.print(f"  {key:16} {value}")
            ctx.result({"chip": chip, **summary})


def register(group: click.Group) -> None:
    group.add_command(demo)
