"""Commands that talk to the chip's bootloader."""

from __future__ import annotations

import sys

import click
from rich.table import Table

from ..families.dispatch import for_families
from ..flasher import operations as ops
from ..link.identify import read_key_word
from .base import Context, command_errors
from .options import baud_option, link_options, parse_baud, port_option


@click.command()
@link_options
@click.pass_obj
@command_errors
@for_families("info")
def info(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool) -> None:
    """Link to the chip and show chip, loader, flash and protection state (RTL8720CF, LN882H: MAC, flash map,
    download mode and wiring)."""
    with ops.open_chip(port, ctx.reporter, baudrate=parse_baud(baud), timeout=timeout, auto_reset=not no_reset) as io:
        read_key_word(io.session, io.info)
        data = io.info.as_dict()
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
        "encryption_key": "Code-encryption key",
    }
    for key, label in labels.items():
        value = data.get(key)
        if key == "flash_size":
            shown = f"{int(str(value)) // 1024} KiB"
        elif value is None:
            shown = (
                "[dim]n/a on this loader[/]"
                if key in ("chip_id", "flash_id", "status_register", "protected", "encryption_key")
                else "[dim]unknown[/]"
            )
        else:
            shown = str(value)
        table.add_row(f"[bold]{label}[/]", shown)
    ctx.console.print(table)


@click.command()
@port_option
@baud_option
@click.option("-t", "--timeout", default=6.0, show_default=True, help="Seconds to try linking before listening.")
@click.option("--no-reset", is_flag=True, help="Do not pulse RTS/DTR; reset the chip by hand.")
@click.pass_obj
@command_errors
@for_families("doctor")
def doctor(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool) -> None:
    """Check the wiring: why the chip does not answer, or how fast the adapter can go (-b: test one rate).
    RTL8720CF, LN882H (--chip): does its download mode answer, and if not, what to do."""
    from ..errors import LinkError
    from ..flasher.checkup import checkup

    requested = parse_baud(baud)
    result = checkup(port, ctx.reporter, timeout=timeout, auto_reset=not no_reset, rates=(requested,) if requested else None)
    d = result.diagnosis
    if not result.ok:  # the error names the cause and what to do; the evidence goes with it
        raise LinkError(f"{d.title} (seen: {'; '.join(d.evidence)})", hint=d.advice)
    if ctx.json:
        ctx.result(result.as_dict())
        return
    ctx.reporter.close()
    ctx.console.print(f"[bold]{d.title}[/]: chip {result.chip}")
    for rate, fine in result.rates.items():
        ctx.console.print(f"  {rate:>8} baud: {'works' if fine else 'fails'}")
    ctx.console.print(f"  Best rate: {result.best_rate} baud")
    ctx.console.print(d.advice, markup=False)


@click.command()
@click.pass_obj
@command_errors
def ports(ctx: Context) -> None:
    """List this computer's serial ports, USB adapters first, with the adapter's chip (CH340, CP210x, FTDI...)."""
    from ..link.ports import WHERE, example_port, list_serial

    found = list_serial()
    if ctx.json:
        ctx.result({"ok": True, "ports": [{"port": p.device, "adapter": p.adapter, "description": p.description} for p in found]})
        return
    if not found:
        ctx.console.print(f"No serial ports found. Plug the USB-serial adapter in; a port then appears (e.g. {example_port()}).")
        return
    table = Table(box=None)
    for column in ("Port", "Adapter", "Description"):
        table.add_column(column)
    for p in found:
        table.add_row(p.device, p.adapter or "", p.description)
    ctx.console.print(table)
    tip = WHERE.get(sys.platform)
    if tip:
        ctx.console.print(f"[dim]{tip[0].upper() + tip[1:]}.[/]")
