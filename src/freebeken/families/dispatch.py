"""The one point where the CLI hands a command to a non-Beken family.

``for_families("backup")`` decorates a CLI command (under ``@command_errors``, so errors keep their
messages and exit codes): it adds ``--chip`` and, when the port (``sim://rtl8720cf...``) or ``--chip``
names a non-Beken family, runs the family's operation and prints its result; otherwise the command
runs unchanged (the Beken path).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import events
from ..errors import UsageError
from . import ops
from .base import ChipFamily, FamilySpec
from .images import check_image
from .registry import family_of

CHIP_HELP = "The chip, for chips that cannot be asked before linking (rtl8720cf/WBR3, ln882h); sim:// URLs name it."


def open_family(spec: FamilySpec, port: str, *, baudrate: int | None = None, timeout: float = 15.0) -> ChipFamily:
    if spec.name == "rtl8720cf":
        from .ambz2 import AmbZ2Family

        return AmbZ2Family(port, baudrate=baudrate, timeout=timeout)
    from .ln882h import Ln882hFamily

    return Ln882hFamily(port, baudrate=baudrate, timeout=timeout)


def _baud(value: object) -> int | None:
    if value in (None, "", "auto"):
        return None
    try:
        return int(str(value))
    except ValueError:
        raise UsageError(f"{value!r} is not a baud rate") from None


def _file(value: object) -> tuple[str, bytes]:
    path = Path(str(value))
    try:
        return path.name, path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e


def _unsupported(spec: FamilySpec, kwargs: dict[str, Any], *names: str) -> None:
    for name in names:
        value = kwargs.get(name)
        if value not in (None, False, (), ""):
            raise UsageError(f"--{name.replace('_', '-')} is not available for the {spec.name} yet")


def run(command: str, spec: FamilySpec, port: str, reporter: events.Reporter, kwargs: dict[str, Any]) -> ops.FamilyResult:
    """Run one of backup, flash, restore, verify on a chip of ``spec``; file problems are refused
    before the chip is touched."""
    image: tuple[str, bytes] | None = None
    if command == "flash":
        _unsupported(spec, kwargs, "include_bootloader", "offset", "do_configure", "other_device")
        image = _file(kwargs["firmware"])
        check_image(spec, image[0], image[1], spec.flash_size)
    elif command == "verify":
        _unsupported(spec, kwargs, "offset")
        image = _file(kwargs["file"])
    elif command == "backup" and kwargs.get("output") is not None:
        from ..flasher.backup import check_backup_target

        check_backup_target(Path(kwargs["output"]))
    events.info(reporter, f"{spec.name.upper()} download mode: {spec.download_mode}")
    fam = open_family(spec, port, baudrate=_baud(kwargs.get("baud")), timeout=float(kwargs.get("timeout") or 15.0))
    try:
        if command == "backup":
            return ops.backup(fam, reporter, kwargs.get("output"))
        if command == "flash":
            assert image is not None
            return ops.flash(fam, image[0], image[1], reporter, no_backup=bool(kwargs.get("no_backup")))
        if command == "restore":
            return ops.restore(fam, Path(kwargs["backup_file"]), reporter, other_device=bool(kwargs.get("other_device")))
        assert image is not None
        return ops.verify(fam, image[0], image[1], reporter)
    finally:
        fam.close()


def _message(r: ops.FamilyResult) -> str:
    if r.operation == "backup":
        return f"{r.path} ({r.size // 1024} KiB, every piece {r.proven_by}-proven, {r.seconds:.1f} s)"
    if r.operation == "verify":
        return f"the chip holds it ({r.proven_by}, {r.seconds:.1f} s)"
    extra = f", {r.kept} calibration sectors kept" if r.kept else ""
    proof = f"read back in {r.readback_seconds:.1f} s" if r.proven_by == "readback" else f"{r.proven_by} of the chip"
    return (
        f"{r.written} sectors written, {r.skipped} already right{extra}, all proven ({proof}; {r.seconds:.1f} s). "
        "The chip stays in download mode: power it off, release the boot pin, power it on to start the firmware."
    )


def for_families(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(ctx: Any, *args: Any, chip: str | None = None, **kwargs: Any) -> Any:
            spec = family_of(str(kwargs.get("port", "")), chip)
            if spec is None:
                return func(ctx, *args, **kwargs)
            result = run(command, spec, str(kwargs["port"]), ctx.reporter, kwargs)
            if result.backup and not ctx.json:
                ctx.say(f"Backup saved: {result.backup}")
            if ctx.json:
                ctx.result({"ok": True, **result.as_dict()})
            else:
                ctx.say(f"[bold green]done:[/] {_message(result)}")
            return None

        return click.option("--chip", default=None, help=CHIP_HELP)(wrapper)

    return decorate
