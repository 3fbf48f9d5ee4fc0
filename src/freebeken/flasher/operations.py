"""The documented Python API behind ``freebeken backup|flash|restore|verify|read|resume``.

with open_chip("sim://bk7231t?time_scale=0", reporter) as io:
    result = backup(io)                      # -> BackupResult
    flash_firmware(io, "OpenBK7231T_UA_1.17.bin")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from .. import events
from ..chips import bootloader_by_crc
from ..chips.dump import bootloader as bootloader_of
from ..chips.layout import mac_from_tlv
from ..errors import SafetyError, UnsupportedError, UsageError
from ..events import Reporter
from ..families.beken import beken_identity
from ..link import identify, open_linked, read_mac
from ..link.identify import key_kind, read_key_word
from ..protocol import beken_crc
from . import rf
from .backup import BackupResult, backup, find_backups, identity, read_sidecar
from .backup_engine import newest_own_backup
from .baud import choose_baudrate
from .chipio import SECTOR, ChipIO
from .content import BekenContent, ChipFacts, Verdict, judge_image
from .firmware import FirmwareImage, classify, fit_to_chip
from .guard import StrayWrite
from .intent import WriteIntent
from .journal import pending_write_journals, sha256, write_journal_path
from .verdict import admit
from .verify import VerifyResult, read_range, verify
from .write import WriteResult, write_image

__all__ = [
    "open_chip",
    "backup",
    "find_backups",
    "check_firmware",
    "flash_firmware",
    "restore_backup",
    "verify_file",
    "read_range",
    "resume",
    "BackupResult",
    "WriteResult",
    "VerifyResult",
]


@contextlib.contextmanager
def open_chip(
    port: str,
    reporter: Reporter,
    *,
    baudrate: int | None = None,
    timeout: float = 15.0,
    auto_reset: bool = True,
) -> Iterator[ChipIO]:
    """The one way a chip is opened: link (the link doctor says why when it fails), identify,
    pick the baud rate (None = fastest that works), read the MAC. Closes the port after."""
    session = open_linked(port, reporter, timeout=timeout, auto_reset=auto_reset)
    try:
        events.phase(reporter, "Identifying the chip")
        info = identify(session, with_mac=False)
        io = ChipIO(session, info)
        choose_baudrate(io, baudrate)
        info.mac = read_mac(session, info)  # at the chosen rate: 45 ms instead of 360 at 115200
        yield io
    finally:
        session.port.close()


def load_firmware(path: str | Path, offset: int | None = None) -> FirmwareImage:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"Cannot read {path}: {e.strerror}") from e
    return classify(path.name, data, offset)


def existing_backup(io: ChipIO) -> Path | None:
    """The newest backup of this chip whose content matches it (MAC, RF sector, T bootloader); never makes one."""
    return newest_own_backup(beken_identity(io.info), lambda: BekenContent(chip_facts(io)))


def check_firmware(
    io: ChipIO,
    path: str | Path,
    *,
    include_bootloader: bool = False,
    offset: int | None = None,
    other_device: bool = False,
) -> FirmwareImage:
    """The part of ``path`` that would be written to this chip; raises if it does not fit it.
    A raw whole-flash image is judged like a backup; a raw image that reaches the RF/MAC sector
    must not carry another device's MAC."""
    image = load_firmware(path, offset)
    word = read_key_word(io.session, io.info) if image.kind != "raw" and io.chip.code_key else None
    if word is not None and key_kind(word) != io.chip.code_key:
        raise UnsupportedError(
            f"This chip's eFuse code key is {io.info.as_dict()['encryption_key']}, not the one {io.chip.name} firmware "
            f"is stored under: {Path(path).name} would not start on it",
            hint="Nothing was written. Backups and restores of this chip work; report the chip (its key is in "
            "`freebeken info`), since no OpenBeken build is known to fit it.",
        )
    if image.kind == "raw" and image.offset == 0 and len(image.data) == io.size:
        data = judge_backup(io, Path(path), image.data, other_device).image
        image = FirmwareImage(data, 0, image.chip, "raw", image.version)
    elif image.kind == "raw" and image.offset <= io.chip.mac_tlv < image.end:
        _check_raw_mac(io, Path(path).name, image, other_device)
    return fit_to_chip(image, io.chip, io.size, include_bootloader)


def _check_raw_mac(io: ChipIO, name: str, image: FirmwareImage, other_device: bool) -> None:
    mac = mac_from_tlv(image.data[io.chip.mac_tlv - image.offset : io.chip.mac_tlv - image.offset + 0x30])
    if mac and io.info.mac and mac != io.info.mac and not other_device:
        raise SafetyError(
            f"{name} covers the RF/MAC sector (0x{io.chip.mac_tlv:X}) with another device's MAC "
            f"{mac.hex(':').upper()}; this chip's MAC is {io.info.mac.hex(':').upper()}",
            hint="Writing it gives this plug that device's identity. Pass --other-device if you mean it.",
        )


def flash_firmware(
    io: ChipIO,
    path: str | Path,
    *,
    include_bootloader: bool = False,
    offset: int | None = None,
    other_device: bool = False,
) -> WriteResult:
    """Write an OpenBeken release file (or a raw image at ``offset``) - only what differs. The
    front ends call ``safely.flash_safely``, which also makes the backup a chip without one needs."""
    image = check_firmware(io, path, include_bootloader=include_bootloader, offset=offset, other_device=other_device)
    return write_checked(io, image, path, include_bootloader=include_bootloader, offset=offset, other_device=other_device)


def write_checked(
    io: ChipIO,
    image: FirmwareImage,
    path: str | Path,
    *,
    include_bootloader: bool = False,
    offset: int | None = None,
    other_device: bool = False,
    backup_first: bool = False,
) -> WriteResult:
    """Write an image ``check_firmware`` returned for ``path``, journaled so that `resume` can finish it."""
    intent = flash_intent(
        path, include_bootloader=include_bootloader, offset=offset, other_device=other_device, backup_first=backup_first
    )
    result = write_guarded(io, image, intent, bootloader=include_bootloader)
    rf.place_calibration(io, image)  # a Tuya T1: its calibration where OpenBeken reads it (flasher/rf.py)
    return result


def flash_intent(
    path: str | Path,
    *,
    include_bootloader: bool = False,
    offset: int | None = None,
    other_device: bool = False,
    backup_first: bool = False,
) -> WriteIntent:
    """What a flash of ``path`` was asked to do, as its journal keeps it for `resume`."""
    return WriteIntent("flash", str(Path(path).resolve()), include_bootloader, offset, other_device, backup_first=backup_first)


def write_guarded(
    io: ChipIO, image: FirmwareImage, intent: WriteIntent, *, journaled: bool = True, bootloader: bool = False
) -> WriteResult:
    """Write through the journal; once done, older interrupted writes of this chip are obsolete
    (the chip now holds this image), so their journals go too - `resume` must not replay them.
    Not ``journaled``: a small write whose content must not be stored (it is redone instead).
    ``bootloader``: this write may cover the bootloader (only where the chip lets UART write it)."""
    ident = identity(io.info)
    path = write_journal_path(ident, sha256(image.data)) if journaled else None
    try:
        result = write_image(io, image, path, intent, bootloader=bootloader)
    except StrayWrite as stray:
        _repair(io, stray)  # raises when there is nothing to repair from
        result = write_image(io, image, path, intent, bootloader=bootloader)
    if journaled:
        for journal in pending_write_journals(ident):
            journal.remove()
    return result


def _repair(io: ChipIO, stray: StrayWrite) -> None:
    """Put back what a damaged command changed outside the image, from a backup of this chip
    whose content there is what the chip held before (the CRCs this run started from: never older
    content, see guard.outside_baseline)."""
    for path in reversed(find_backups(io.info)):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if len(data) != io.size or any(beken_crc(data[a : a + n]) != crc for (a, n), crc in stray.before.items()):
            continue
        events.warning(io.reporter, f"{stray}; putting those blocks back from {path.name}")
        for a, n in stray.spans:  # N: may be below 0x11000
            write_image(
                io,
                FirmwareImage(data[a : a + n], a, io.chip.name, "repair"),
                None,
                WriteIntent("repair", str(path)),
                bootloader=True,
            )
        return
    raise stray


def chip_facts(io: ChipIO) -> ChipFacts:
    """What the chip holds that identifies it: two CRCs, no transfer."""
    chip = io.chip
    tlv = io.crc(chip.mac_tlv, SECTOR) if io.size >= chip.mac_tlv + SECTOR else None
    boot = io.crc(0, chip.app_start) if not chip.bootloader_writable else None
    return ChipFacts(chip, io.size, io.info.mac, tlv, boot)


def judge_backup(io: ChipIO, path: Path, data: bytes, other_device: bool) -> Verdict:
    """Refuse (SafetyError) a whole-flash image this chip must not get; its ``image`` is what to write."""
    verdict = judge_image(data, chip_facts(io), read_sidecar(path))
    admit(verdict, path.name, other_device, io.reporter)  # the rules every family shares (flasher/verdict.py)
    return verdict


def restore_backup(io: ChipIO, path: str | Path, *, other_device: bool = False) -> WriteResult:
    """Put a full backup back, once its content shows it belongs on this chip. On T and U the
    bootloader region is compared, never written; on the ROM chips another device's bootloader is
    written only when it is a known one of this chip (the ROM would boot anything; a wrong one bricks)."""
    path = Path(path)
    verdict = judge_backup(io, path, load_firmware(path, 0).data, other_device)
    data = verdict.image
    keep = io.chip.app_start if not io.chip.bootloader_writable or _foreign_bootloader(io, verdict) else 0
    if keep:
        if io.crc(0, keep) != beken_crc(data[:keep]):
            events.warning(
                io.reporter,
                f"The bootloader region (below 0x{keep:X}) differs from the backup; it is left as it is "
                "(rewriting it over UART would brick the plug).",
            )
    image = FirmwareImage(data[keep:], keep, io.chip.name, "backup")
    return write_guarded(io, image, WriteIntent("restore", str(path.resolve()), other_device=other_device), bootloader=keep == 0)


def _foreign_bootloader(io: ChipIO, verdict: Verdict) -> bool:
    if not verdict.other_device:
        return False  # this chip's own backup: its bootloader goes back, whatever it is
    name, crc = bootloader_of(verdict.image)
    known = bootloader_by_crc(crc) if name else None
    return not (known and known.chip == io.chip.name)


def verify_file(io: ChipIO, path: str | Path, offset: int | None = None, *, include_bootloader: bool = False) -> VerifyResult:
    """Compare with what ``flash`` would write (an OpenBeken file), or a raw file at ``offset``
    (default 0, e.g. a backup)."""
    try:
        image = load_firmware(path, offset)
    except UsageError:
        image = load_firmware(path, 0)
    if image.kind != "raw":
        image = fit_to_chip(image, io.chip, io.size, include_bootloader)
    return verify(io, image.data, image.offset)


def resume(io: ChipIO) -> WriteResult | BackupResult | None:
    """Continue the interrupted operation of this chip (see flasher/resume.py); None if nothing is pending."""
    from .resume import resume as replay  # resume.py calls back into this module

    return replay(io)
