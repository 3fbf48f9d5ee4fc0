"""Commands that talk to the chip's bootloader."""

from __future__ import annotations

import click
from rich.table import Table

from ..link import connect
from .base import Context, command_errors

PORT_HELP = "Serial port (/dev/ttyUSB0, COM3) or simulator URL (sim://bk7231t)."


def port_option(func):
    return click.option("-p", "--port", required=True, help=PORT_HELP)(func)


@click.command()
@port_option
@click.option("-t", "--timeout", default=15.0, show_default=True, help="Seconds to keep trying to link.")
@click.option("--no-reset", is_flag=True, help="Do not pulse RTS/DTR to reset the chip (reset it by hand).")
@click.pass_obj
@command_errors
def info(ctx: Context, port: str, timeout: float, no_reset: bool) -> None:
    """Link to the chip and show chip, loader, flash and protection state."""
    session, chip = connect(port, ctx.reporter, timeout=timeout, auto_reset=not no_reset)
    session.port.close()
    data = chip.as_dict()
    if ctx.json:
        ctx.result({"ok": True, **data})
        return
    ctx.reporter.close()
    table = Table(show_header=False, box=None)
    labels = {
        "chip": "Chip",
        "loader": "Loader",
        "loader_version": "Loader version",
        "bootloader": "Bootloader (by CRC)",
        "bootloader_crc": "Bootloader CRC-32",
        "chip_id": "Chip ID",
        "flash_id": "Flash JEDEC ID",
        "flash_chip": "Flash chip",
        "flash_size": "Flash size",
        "status_register": "Flash status register",
        "protected": "Flash write-protected",
        "mac": "MAC address",
    }
    for key, label in labels.items():
        value = data.get(key)
        if key == "flash_size":
            value = f"{value // 1024} KiB"
        elif value is None:
            value = "[dim]n/a on this loader[/]" if key in ("chip_id", "flash_id", "status_register", "protected") else "[dim]unknown[/]"
        table.add_row(f"[bold]{label}[/]", str(value))
    ctx.console.print(table)
