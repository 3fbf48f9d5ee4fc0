"""``freebeken demo``: the journey so far on the built-in simulators, no device needed."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from ..chips import chip_by_name
from ..device.client import ObkClient
from ..device.pinfinder import PinFinder
from ..firmware.settings import Settings
from ..flasher import operations as ops
from ..flasher.safely import SKIP, flash_safely
from ..sim.obk.board import board
from ..sim.obk.boot import power_on
from ..sim.obk.person import VirtualPerson
from ..sim.release import standin_release
from ..storage import data_dir
from ..tuya.analyze import analyze_bytes
from .base import Context, command_errors


def demo_firmware(folder: Path, chip: str) -> Path:
    """A stand-in OpenBeken release file, shaped as real ones are (the simulator does not run it)."""
    return standin_release(chip_by_name(chip), folder, version="demo", size=0x80000 // 34 * 32)


DEMO_FILES = ("{chip}.bin", "{chip}-backup.bin", "{chip}-backup.bin.json")


def demo_folder() -> Path:
    """Where the demo's files stay after it ends, for the commands a person tries next: the
    simulated chips' flash images, their backups and the stand-in firmware. Each run starts its
    own files afresh (a backup is never written over); whatever else is there is left alone."""
    folder = data_dir() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    for chip in ("bk7231t", "bk7231n"):
        for name in DEMO_FILES:
            (folder / name.format(chip=chip)).unlink(missing_ok=True)
    return folder


@click.command()
@click.option("--time-scale", type=float, default=0.0, show_default=True, help="1 = real chip timing.")
@click.pass_obj
@command_errors
def demo(ctx: Context, time_scale: float) -> None:
    """Back up, analyse, flash and configure simulated BK7231T and BK7231N plugs, boot one, restore."""
    folder = demo_folder()
    for chip in ("bk7231t", "bk7231n"):
        url = f"sim://{chip}?time_scale={time_scale}&image={folder / (chip + '.bin')}"
        ctx.console.print(f"\n[bold]Simulated {chip.upper()} plug[/]")
        ctx.console.print(f"  {url}", soft_wrap=True, markup=False, highlight=False)  # a path never wraps
        with ops.open_chip(url, ctx.reporter) as io:
            info, size = io.info.as_dict(), io.size
            backup = ops.backup(io, folder / f"{chip}-backup.bin")
            analysis = analyze_bytes(backup.path.read_bytes(), str(backup.path))
            firmware = demo_firmware(folder, chip)
            settings = None
            if analysis.template is not None and chip == "bk7231t":  # the T plug is then booted with it
                settings = Settings(
                    wifi_ssid="DemoWiFi", wifi_password="demo-password", name="Demo Plug", template=analysis.template
                )
            # the demo keeps its backup in its own folder: no second one in the person's backups
            outcome = flash_safely(io, firmware, backup_policy=SKIP, settings=settings)
            flashed, configured = outcome.write, outcome.configured
            verified = ops.verify_file(io, firmware)
            again = flash_safely(io, firmware, backup_policy=SKIP).write
        first_boot = first_boot_of(folder / (chip + ".bin"), analysis.template) if configured else {}
        with ops.open_chip(url, ctx.reporter) as io:
            restored = ops.restore_backup(io, backup.path)
        ctx.reporter.close()
        summary = {
            "chip": info["chip"],
            "loader": info["loader_version"] or info["loader"],
            "flash": f"{info['flash_chip']} {size // 1024} KiB"
            if info["flash_chip"]
            else f"{size // 1024} KiB (this loader cannot name the flash chip)",
            "mac": info["mac"],
            "backup": f"{backup.blank_sectors} blank sectors skipped, sha256 {backup.sha256[:12]}",
            "analyze": f"module {analysis.module}, template {json.dumps(analysis.as_dict()['template']['pins'])}",
            "flash firmware": f"{flashed.written} sectors written and verified",
            "verify": "matches" if verified.ok else "DIFFERS",
            "flash again": f"{again.written} sectors written (identical image skipped)",
            "restore stock": f"{restored.written} sectors written back",
        }
        if configured:
            summary["configure"] = f"Wi-Fi, name and pins written at 0x{configured.address:X} and read back"
            summary.update(first_boot)
        summary["restore stock"] = summary.pop("restore stock")  # the last step, shown last
        summary["files"] = str(folder)
        for key, value in summary.items():
            ctx.console.print(f"  {key:16} {value}", soft_wrap=True, markup=False, highlight=False)
        ctx.result(summary)
    if not ctx.json:
        for line in next_steps(folder):
            ctx.console.print(line, soft_wrap=True, markup=False, highlight=False)


def next_steps(folder: Path) -> list[str]:
    """What to try after the demo: the same steps one at a time, on a simulated plug that keeps its
    flash in a file, with the stand-in firmware the demo left there."""
    port = shlex.quote(f"sim://bk7231t?time_scale=0&image={folder / 'my-plug.bin'}")
    firmware = shlex.quote(str(folder / "OpenBK7231T_UA_demo.bin"))
    return [
        "",
        f"The demo's files (flash images, backups, stand-in firmware) stay in {folder}",
        "Next: the same steps one at a time, on a simulated plug that keeps its flash in a file:",
        f"  freebeken backup -p {port}",
        f"  freebeken flash -p {port} {firmware}",
        "or the whole journey on the local page: freebeken web",
    ]


def first_boot_of(image: Path, template) -> dict[str, str]:
    """Power the flashed plug on: it boots from its configuration sector (no template is sent to
    it), its button must click the relay, and the pin finder must find the pins it booted with."""
    server, boot = power_on(image, board("u3"))
    assert server is not None  # no networks named: it always joins
    try:
        client = ObkClient(server.address)
        server.device.board.take_events()
        server.device.click(8)
        clicked = ("relay", 7, "click on") in server.device.board.take_events()
        found = PinFinder(client, VirtualPerson(server.address), pulse=0).run()
        same = found.template.to_entry()["pins"] == template.to_entry()["pins"]
    finally:
        server.stop()
    return {
        "first boot": f"{boot.why}, as {boot.device.short_name} (web server {server.address})",
        "button test": "pressing the button clicks the relay" if clicked else "BUTTON DID NOT SWITCH THE RELAY",
        "pin finder": "confirms the pins it booted with" if same else f"found {json.dumps(found.template.to_entry()['pins'])}",
    }
