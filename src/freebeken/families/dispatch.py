"""The one point where the CLI hands a command to a non-Beken family.

``for_families("backup")`` decorates a CLI command (under ``@command_errors``, so errors keep their
messages and exit codes): it adds ``--chip`` and, when the port (``sim://rtl8720cf...``) or ``--chip``
names a non-Beken family, runs the family's handler for that command and prints its outcome; otherwise
the command runs unchanged (the Beken path). Handlers are registered by name with :func:`handles`:
backup, flash, restore and verify here (through :func:`run`, which the web page calls too), info,
read, doctor and resume in :mod:`.commands`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from .. import events
from ..errors import LinkError, UsageError
from . import ops
from .base import ChipFamily, FamilySpec
from .images import check_image
from .registry import FAMILIES, family_of, require, spec_by_chip

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


def open_from(spec: FamilySpec, kwargs: dict[str, Any]) -> ChipFamily:
    """The family on the command's port, at its -b rate and -t timeout."""
    return open_family(
        spec, str(kwargs["port"]), baudrate=_baud(kwargs.get("baud")), timeout=float(kwargs.get("timeout") or 15.0)
    )


def _file(value: object) -> tuple[str, bytes]:
    path = Path(str(value))
    try:
        return path.name, path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e


#: keyword -> the option as typed, for the Beken-only options a family refuses
OPTIONS = {
    "include_bootloader": "--include-bootloader",
    "offset": "--offset",
    "other_device": "--other-device",
    "do_configure": "--configure",
    "wifi_ssid": "--wifi",
    "wifi_password": "--wifi-password",
    "broker": "--broker",
    "name": "--name",
    "template_file": "--template",
    "startup": "--startup",
    "flag_values": "--flag",
}
SETTINGS = ("do_configure", "wifi_ssid", "wifi_password", "broker", "name", "template_file", "startup", "flag_values")


def instead(spec: FamilySpec, command: str, option: str) -> str:
    """What to do instead of a Beken-only option, on this family."""
    release = spec.release_name("<version>")
    chip = spec.name.upper()
    if option in SETTINGS:
        return (
            f"Flash without it, then power the {chip} on without the boot pin, join the access point OpenBeken opens and "
            "set Wi-Fi and MQTT in its web page (http://192.168.4.1): freebeken writes a configuration over the Beken loader only."
        )
    if option == "include_bootloader":
        return (
            f"{release} is a whole-flash image that already holds the bootloader, and the {chip}'s download mode is in mask "
            "ROM (always restorable): flash without --include-bootloader."
        )
    if option == "offset" and command == "verify":
        return (
            "verify compares a whole-flash image at 0x0 or a full backup: drop --offset. For a part, read it "
            f"(`freebeken read -p PORT --chip {spec.name} --start ADDR --length N -o FILE`) and compare the files."
        )
    if option == "offset":
        return (
            f"The {chip} takes OpenBeken's whole-flash image {release} at 0x0, recognised by its bytes: drop --offset. "
            "To put raw bytes back, restore a full backup of this device (`freebeken restore`)."
        )
    return f"A release image for the {chip} carries no device's MAC: drop --other-device (restore takes it, for another device's backup)."


def _unsupported(spec: FamilySpec, command: str, kwargs: dict[str, Any], *names: str) -> None:
    for name in names:
        if kwargs.get(name) not in (None, False, (), ""):
            raise UsageError(f"{OPTIONS[name]} does not apply to the {spec.name.upper()}", hint=instead(spec, command, name))


def run(command: str, spec: FamilySpec, port: str, reporter: events.Reporter, kwargs: dict[str, Any]) -> ops.FamilyResult:
    """Run one of backup, flash, restore, verify on a chip of ``spec``; file problems are refused
    before the chip is touched."""
    image: tuple[str, bytes] | None = None
    if command == "flash":
        _unsupported(spec, command, kwargs, "include_bootloader", "offset", "other_device", *SETTINGS)
        image = _file(kwargs["firmware"])
        check_image(spec, image[0], image[1], spec.flash_size)
    elif command == "verify":
        _unsupported(spec, command, kwargs, "offset")
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
            return ops.flash(
                fam, image[0], image[1], reporter, no_backup=bool(kwargs.get("no_backup")), path=Path(str(kwargs["firmware"]))
            )
        if command == "restore":
            return ops.restore(fam, Path(kwargs["backup_file"]), reporter, other_device=bool(kwargs.get("other_device")))
        assert image is not None
        return ops.verify(fam, image[0], image[1], reporter)
    finally:
        fam.close()


def message(r: ops.FamilyResult) -> str:
    """One line saying what a family operation did and how it was proven."""
    if r.operation == "backup":
        return f"{r.path} ({r.size // 1024} KiB, every piece {r.proven_by}-proven, {r.seconds:.1f} s)"
    if r.operation == "verify":
        return f"the chip holds it ({r.proven_by}, {r.seconds:.1f} s)"
    extra = f", {r.kept} calibration sectors kept" if r.kept else ""
    proof = f"read back in {r.readback_seconds:.1f} s" if r.proven_by == "readback" else f"{r.proven_by} of the chip"
    return (
        f"{r.written} sectors written, {r.skipped} already right{extra}, all proven ({proof}; {r.seconds:.1f} s). "
        f"The chip stays in download mode: {start_words(r.chip)} to start the firmware."
    )


def start_words(chip: str) -> str:
    words = require(chip).start_firmware
    return words[0].lower() + words[1:]


@dataclass
class Outcome:
    """What a family command produced: the JSON record, the text line after "done:", lines said before
    it, and (info) a renderer for text mode that replaces the "done:" line."""

    record: dict[str, Any]
    text: str = ""
    notes: list[str] = field(default_factory=list)
    show: Callable[[Any], None] | None = None  # called with the rich Console


Handler = Callable[[FamilySpec, events.Reporter, dict[str, Any]], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(command: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        HANDLERS[command] = func
        return func

    return register


def _operation(command: str) -> Handler:
    def handler(spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
        result = run(command, spec, str(kwargs["port"]), reporter, kwargs)
        notes = [f"Backup saved: {result.backup}"] if result.backup else []
        return Outcome({"ok": True, **result.as_dict()}, message(result), notes)

    return handler


for _command in ("backup", "flash", "restore", "verify"):
    handles(_command)(_operation(_command))


def handle(command: str, spec: FamilySpec, reporter: events.Reporter, kwargs: dict[str, Any]) -> Outcome:
    from . import commands  # noqa: F401  (registers info, read, doctor, resume)

    return HANDLERS[command](spec, reporter, kwargs)


def _agreeing(port: str, chip: str | None) -> None:
    """A sim:// URL names its chip; a --chip that names another one is a mistake, not a choice."""
    parts = urlsplit(port)
    if not chip or parts.scheme != "sim" or not parts.netloc:
        return
    named, given = spec_by_chip(parts.netloc), spec_by_chip(chip)
    if (named.name if named else parts.netloc.lower()) != (given.name if given else chip.lower()):
        raise UsageError(
            f"{port} simulates a {parts.netloc.upper()}, and --chip says {chip}", hint="Drop --chip: a sim:// URL names its chip."
        )


def _chips() -> str:
    return " or ".join(f"--chip {name}" for name in sorted({s.name for s in FAMILIES.values()}))


def for_families(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(ctx: Any, *args: Any, chip: str | None = None, **kwargs: Any) -> Any:
            _agreeing(str(kwargs.get("port", "")), chip)
            spec = family_of(str(kwargs.get("port", "")), chip)
            if spec is None:
                try:
                    return func(ctx, *args, **kwargs)
                except LinkError as e:
                    if not chip and not str(kwargs.get("port", "")).startswith("sim://"):
                        # the Beken loader is the only one that answers unasked: say how to name the others
                        e.hint = f"{e.hint} An RTL8720CF (WBR2/WBR3) or LN882H module is named with {_chips()}.".strip()
                    raise
            outcome = handle(command, spec, ctx.reporter, kwargs)
            if ctx.json:
                ctx.result(outcome.record)
                return None
            for note in outcome.notes:
                ctx.say(note)
            if outcome.show is not None:
                ctx.reporter.close()
                outcome.show(ctx.console)
            else:
                ctx.say(f"[bold green]done:[/] {outcome.text}")
            return None

        return click.option("--chip", default=None, help=CHIP_HELP)(wrapper)

    return decorate
