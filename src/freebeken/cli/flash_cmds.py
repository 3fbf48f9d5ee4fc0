"""backup, flash, restore, verify, read, resume."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import UsageError, VerifyError
from ..families.dispatch import for_families
from ..flasher import operations as ops
from ..flasher.backup import check_backup_target
from ..flasher.safely import ENSURE, SKIP, BackupPolicy, flash_safely
from ..storage import atomic_write
from .base import Context, command_errors
from .options import link_options, parse_baud, settings_from, settings_options


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value, 0)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number (use 0x11000 or 69632)") from None


def _open(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool):
    return ops.open_chip(port, ctx.reporter, baudrate=parse_baud(baud), timeout=timeout, auto_reset=not no_reset)


def _done(ctx: Context, message: str, record: dict) -> None:
    if ctx.json:
        ctx.result({"ok": True, **record})
    else:
        ctx.say(f"[bold green]done:[/] {message}")


@click.command()
@link_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Backup file (never overwritten).")
@click.pass_obj
@command_errors
@for_families("backup")
def backup(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, output: Path | None) -> None:
    """Back up the whole flash, verified by the chip's CRC."""
    if output is not None:
        check_backup_target(output)  # before the chip is touched
    with _open(ctx, port, baud, timeout, no_reset) as io:
        result = ops.backup(io, output)
    _done(
        ctx,
        f"{result.path} ({result.size // 1024} KiB, {result.blank_sectors} blank sectors skipped, {result.seconds:.1f} s)",
        result.as_dict(),
    )


def _backup_policy(ctx: Context, no_backup: bool, assume_yes: bool) -> BackupPolicy:
    """Before the first flash of a chip freebeken has no backup of, one is made (asked first on a terminal)."""
    if no_backup:
        return SKIP
    if assume_yes or ctx.json or not sys.stdin.isatty():
        return ENSURE

    def ask() -> bool:
        ctx.reporter.close()
        return click.confirm("There is no backup of this chip yet. Back it up first (recommended)?", default=True)

    return BackupPolicy(consent=ask)


@click.command()
@link_options
@click.argument("firmware", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--include-bootloader",
    is_flag=True,
    help="Beken chips with a ROM loader (N, M, BK7238, BK7252N) only: also write the bootloader part of a QIO file "
    "(RTL8720CF and LN882H release images hold theirs already).",
)
@click.option("--offset", help="Beken chips: write a raw image at this address instead of recognising the file.")
@click.option("--no-backup", is_flag=True, help="Do not back up a chip that has no backup yet.")
@click.option("--other-device", is_flag=True, help="Beken chips: allow a raw image that carries another device's MAC.")
@click.option("-y", "--yes", "assume_yes", is_flag=True, help="Do not ask questions.")
@click.option(
    "--configure",
    "do_configure",
    is_flag=True,
    help="Then write OpenBeken's configuration (implied by --wifi, --broker, ...): the first boot joins your Wi-Fi and broker "
    "(Beken chips).",
)
@settings_options
@click.pass_obj
@command_errors
@for_families("flash")
def flash(
    ctx: Context,
    port: str,
    baud: str,
    timeout: float,
    no_reset: bool,
    firmware: str,
    include_bootloader: bool,
    offset: str | None,
    no_backup: bool,
    other_device: bool,
    assume_yes: bool,
    do_configure: bool,
    **config_options,
) -> None:
    """Flash an OpenBeken release file: only sectors that differ are written, all verified.
    With --configure (or --wifi, --broker ...) its configuration follows, read back and checked."""
    image = ops.load_firmware(firmware, _int(offset))  # reject a wrong file before touching the chip
    do_configure = do_configure or any(v not in (None, ()) for v in config_options.values())
    if do_configure and image.kind == "raw":
        raise UsageError(
            "--configure goes with an OpenBeken release file, not a raw image",
            hint="Flash the release file, or use `freebeken config write` on a chip that runs OpenBeken.",
        )
    settings = settings_from(**config_options) if do_configure else None  # passwords asked before linking
    with _open(ctx, port, baud, timeout, no_reset) as io:
        outcome = flash_safely(
            io,
            firmware,
            backup_policy=_backup_policy(ctx, no_backup, assume_yes),
            settings=settings,
            include_bootloader=include_bootloader,
            offset=_int(offset),
            other_device=other_device,
        )
    result, record = outcome.write, outcome.write.as_dict()
    if outcome.backup is not None and outcome.backup.made and not ctx.json:
        ctx.say(f"Backup saved: {outcome.backup.path}")
    message = f"{result.written} sectors written, {result.skipped} already right, all verified ({result.seconds:.1f} s)"
    configured = outcome.configured
    if configured is not None:
        record["configure"] = configured.as_dict()
        message += f"; configuration written and read back at 0x{configured.address:X}"
        if configured.no_pins:
            ctx.say(
                f"[yellow]No pins were written ({configured.no_pins}): find them with "
                "`freebeken pins find` once the plug is on your network.[/]"
            )
    _done(ctx, message, record)


@click.command()
@link_options
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--other-device", is_flag=True, help="Allow restoring a backup whose content shows another device (clones its MAC)."
)
@click.pass_obj
@command_errors
@for_families("restore")
def restore(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, backup_file: str, other_device: bool) -> None:
    """Write a full backup back, once its content shows it is this chip's (never the BK7231T bootloader)."""
    with _open(ctx, port, baud, timeout, no_reset) as io:
        result = ops.restore_backup(io, backup_file, other_device=other_device)
    _done(ctx, f"restored: {result.written} sectors written, {result.skipped} already right", result.as_dict())


@click.command()
@link_options
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--offset", help="Beken chips: flash address of the file's first byte (default: from the file name, else 0).")
@click.pass_obj
@command_errors
@for_families("verify")
def verify(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, file: str, offset: str | None) -> None:
    """Compare a file with the chip's flash (by CRC; nothing is transferred)."""
    with _open(ctx, port, baud, timeout, no_reset) as io:
        result = ops.verify_file(io, file, _int(offset))
    ranges = [f"0x{a:06X}-0x{b:06X}" for a, b in result.mismatches]
    if not result.ok:
        raise VerifyError(f"The chip differs from {Path(file).name} at {', '.join(ranges)}", hint="Flash or restore it.")
    _done(ctx, f"the chip matches {Path(file).name}", {"matching_sectors": result.matching})


@click.command()
@link_options
@click.option("--start", required=True, help="First address (0x...).")
@click.option("--length", required=True, help="Number of bytes.")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write (never overwritten)."
)
@click.pass_obj
@command_errors
@for_families("read")
def read(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool, start: str, length: str, output: Path) -> None:
    """Read a range of the flash to a file (verified)."""
    if output.exists():
        raise UsageError(f"{output} already exists", hint="Choose another -o name; freebeken does not overwrite files.")
    with _open(ctx, port, baud, timeout, no_reset) as io:
        data = ops.read_range(io, _int(start) or 0, _int(length) or 0)
    atomic_write(output, data)
    _done(ctx, f"{len(data)} bytes written to {output}", {"path": str(output), "length": len(data)})


@click.command()
@link_options
@click.pass_obj
@command_errors
@for_families("resume")
def resume(ctx: Context, port: str, baud: str, timeout: float, no_reset: bool) -> None:
    """Continue an interrupted flash, restore or backup of the connected chip."""
    with _open(ctx, port, baud, timeout, no_reset) as io:
        result = ops.resume(io)
    if result is None:
        _done(ctx, "nothing to resume for this chip", {"resumed": False})
    elif isinstance(result, ops.BackupResult):
        _done(ctx, f"backup finished: {result.path}", {"op": "backup", **result.as_dict()})
    else:
        _done(ctx, f"finished: {result.written} sectors written, all verified", {"op": "write", **result.as_dict()})
