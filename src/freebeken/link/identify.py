"""Identify the chip, its loader and its flash - using only commands each loader knows."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

from .. import events
from ..chips import BootloaderInfo, ChipProfile, FlashChip, appcode, bootloader_by_crc
from ..chips.flash_chips import flash_for_id
from ..chips.layout import mac_from_tlv
from ..chips.profiles import (
    BK7231M,
    BK7231N,
    BK7231T,
    BK7231U,
    CHIPS,
    NOT_FLASHED,
    OTHER_CHIP_IDS,
    SCTRL_CHIP_ID,
    SCTRL_EFUSE_CTRL,
    SCTRL_EFUSE_OPTR,
)
from ..errors import ProtocolError, RepliesDisagree, UnsupportedError
from ..protocol import commands as c
from ..protocol.crc import blank_crc
from .ops import chip_crc, read_sector
from .session import Session


@dataclass
class ChipInfo:
    chip: ChipProfile
    loader_version: str | None
    bootloader: BootloaderInfo | None
    bootloader_crc: int
    chip_id: int | None
    flash_id: bytes | None
    flash: FlashChip | None
    flash_size: int
    status_register: int | None
    mac: bytes | None
    #: When there is no MAC: CRCs of what is unique to this plug (see :func:`fingerprint`).
    fingerprint: int | None = None
    #: First word of the eFuse code-encryption key (ROMs only; see :func:`read_key_word`): Tuya's
    #: modules hold 0x510FB093; a BK7231M holds zeros, and N firmware does not start on it.
    key_word: int | None = None
    #: Where the MAC was found: ``chip.mac_tlv`` (OpenBeken's place) or a stock one (``chip.stock_rf``).
    rf_sector: int | None = None

    @property
    def zero_key(self) -> bool:
        return self.key_word == 0

    @property
    def protected(self) -> bool | None:
        if self.status_register is None or self.flash is None:
            return None
        return bool(self.status_register & self.flash.mask)

    def as_dict(self) -> dict[str, object]:
        return {
            "chip": self.chip.name,
            "loader": self.chip.loader,
            "loader_version": self.loader_version,
            "bootloader": self.bootloader.name if self.bootloader else None,
            "bootloader_crc": f"0x{self.bootloader_crc:08X}",
            "chip_id": None if self.chip_id is None else f"0x{self.chip_id:X}",
            "flash_id": self.flash_id.hex() if self.flash_id else None,
            "flash_chip": self.flash.name if self.flash else None,
            "flash_size": self.flash_size,
            "status_register": None if self.status_register is None else f"0x{self.status_register:04X}",
            "protected": self.protected,
            "mac": self.mac.hex(":").upper() if self.mac else None,
            "fingerprint": None if self.fingerprint is None else f"0x{self.fingerprint:08X}",
            "rf_sector": None if self.rf_sector is None else f"0x{self.rf_sector:X}",
            "encryption_key": _key_name(self.key_word),
        }


def identify(session: Session, *, with_mac: bool = True) -> ChipInfo:
    """Works on a freshly linked loader; leaves it linked (T: protection re-armed by CheckCRC).

    ``with_mac=False`` skips the one 4 KiB read (0.36 s at 115200); callers that switch to a
    faster rate first fill ``mac`` afterwards with :func:`read_mac`."""
    chip, chip_id, loader_version, bl_crc, key_word = _which_loader(session)
    flash_id = flash = sr = None
    if chip.supports(c.FlashGetMID):
        flash_id = session.transact(c.FlashGetMID())
        flash = flash_for_id(flash_id)  # a part no table knows is read the JEDEC way (SR1 0x05, SR2 0x35)
        sr = 0
        for i, op in enumerate(flash.read_ops):
            sr |= session.transact(c.FlashReadSR(op)) << (8 * i)
    size = flash.size if flash else (1 << flash_id[2] if flash_id and 18 <= flash_id[2] <= 25 else 0)
    if not size:
        size = _size_by_wraparound(session, chip)
        events.info(
            session.reporter,
            f"Flash size {size // 1024} KiB: this loader cannot name the flash chip, so it was "
            "found by where addresses wrap around",
        )
    info = ChipInfo(
        chip, loader_version, bootloader_by_crc(bl_crc), bl_crc, chip_id, flash_id, flash, size, sr, None, key_word=key_word
    )
    if with_mac:
        info.mac = read_mac(session, info)
    return info


def read_mac(session: Session, info: ChipInfo) -> bytes | None:
    """The MAC from the RF/MAC TLV sector (None on a blank or foreign layout). Without one,
    ``info.fingerprint`` is filled instead, so that this plug is still told apart from others."""
    chip = info.chip
    mac = None
    for address in (chip.mac_tlv, *chip.stock_rf):  # OpenBeken's place, then where stock firmware keeps it
        if info.flash_size > address and (mac := mac_from_tlv(read_sector(session, chip, address))):
            info.rf_sector = address
            if address != chip.mac_tlv:
                events.info(
                    session.reporter,
                    f"MAC and RF calibration are at 0x{address:X} (stock Tuya layout); "
                    f"OpenBeken reads them at 0x{chip.mac_tlv:X}",
                )
            break
    if mac is None:
        info.fingerprint = fingerprint(session, info)
    return mac


def fingerprint(session: Session, info: ChipInfo) -> int:
    """What tells one plug from another when its MAC cannot be read: the chip's CRCs over its RF
    calibration sector, the Tuya storage at the end of the flash and its bootloader region. A
    flash or restore of OpenBeken writes none of them, so an interrupted one is found again."""
    chip, size = info.chip, info.flash_size
    regions = [(chip.mac_tlv, 0x1000), (size - 0x12000, 0x12000), (0, chip.app_start)]
    crcs = [chip_crc(session, chip, a, n) for a, n in regions if 0 <= a and a + n <= size]
    return zlib.crc32(b"".join(c.to_bytes(4, "little") for c in crcs))


def _which_loader(session: Session) -> tuple[ChipProfile, int | None, str | None, int, int | None]:
    """-> (chip, chip id, loader version, bootloader CRC, eFuse key word if read) from quick answers.

    The loaders count CheckCRC ranges differently: the mask ROMs cover bytes up to an inclusive
    end, the flash bootloaders (T, U) whole 256-byte blocks. So [0, 255] and [0, 256] give one CRC
    on a bootloader and two on a ROM (one more byte always changes a CRC-32). Only then is the
    ROM's chip-ID register asked: a bootloader ignores that command, and waiting out its silence
    used to cost a third of a second on every T."""
    crc_256 = session.transact(c.CheckCrc(0, 255))
    crc_257 = session.transact(c.CheckCrc(0, 256))
    chip_id = _probe(session, c.ReadReg(SCTRL_CHIP_ID)) if crc_256 != crc_257 else None
    if chip_id is not None:  # a ROM; the peers' tables hold standard CRC-32 over 257 bytes for these
        chip_id = agreed(lambda: _probe(session, c.ReadReg(SCTRL_CHIP_ID)), "chip ID register", first=chip_id)
    if chip_id is not None:
        chip = ROM_BY_ID.get(chip_id)
        if chip is None:
            _refuse(OTHER_CHIP_IDS.get(chip_id), f"chip ID 0x{chip_id:X}")
        key = None
        if chip is BK7231N and _first_key_byte(session) == 0:  # Tuya's key starts 0x93: 4 commands decide
            key = _efuse_key_word(session)
            chip = BK7231M if key == 0 else chip
        return chip, chip_id, None, crc_257 ^ 0xFFFFFFFF, key
    if crc_256 != crc_257:  # no ROM answered: a bootloader, whose two CRCs should have been one
        crc_256 = agreed(lambda: session.transact(c.CheckCrc(0, 255)), "bootloader CRC", first=crc_256)
    bl_crc = crc_256 ^ 0xFFFFFFFF
    known = bootloader_by_crc(bl_crc)
    if known and known.chip in NOT_FLASHED:
        _refuse(known.chip, f"bootloader {known.name}")
    if known and known.chip == BK7231U.name:  # a plain Beken bootloader: no BootVersion to wait for
        return BK7231U, None, None, bl_crc, None
    version = _probe(session, c.BootVersion())  # Tuya's T bootloaders answer; plain Beken ones do not
    if version is not None or known:
        return BK7231T, None, version, bl_crc, None
    # An unknown plain Beken bootloader: a T or a U. Their layouts are one; their code keys are not,
    # so the application the chip holds tells which one it was made for.
    sector = read_sector(session, BK7231T, BK7231T.app_start)
    stored = appcode.stored_key(sector)
    said = {"tuya": "stored under Tuya's key, as on a BK7231T", "zero": "stored in clear, as on a BK7231U"}
    events.warning(
        session.reporter,
        f"Unknown bootloader (CRC 0x{bl_crc:08X}) without a version: its application is "
        + said.get(stored or "", "not readable as code either, so it is taken for a BK7231T"),
    )
    return (BK7231U if stored == "zero" else BK7231T), None, version, bl_crc, None


#: The first chip of each chip ID (N before M): chips that share an ID are told apart by their key.
ROM_BY_ID: dict[int, ChipProfile] = {}
for _p in CHIPS.values():
    if _p.chip_id is not None:
        ROM_BY_ID.setdefault(_p.chip_id, _p)


T = TypeVar("T")
AGREE_READS = 5  # reads of one value before the line is named as the cause


def agreed(read: Callable[[], T], what: str, first: T | None = None) -> T:
    """A value that carries no checksum (a register, a CRC), read until two copies agree: one
    flipped bit in a reply must not refuse a good chip (an eFuse key word read 0x511FB093 instead
    of Tuya's 0x510FB093). Copies that never agree name the line as the cause."""
    seen: list[T] = [] if first is None else [first]
    while len(seen) < AGREE_READS:
        value = read()
        if value in seen:
            return value
        seen.append(value)
    shown = ", ".join("none" if v is None else f"0x{v:X}" if isinstance(v, int) else str(v) for v in seen)
    raise RepliesDisagree(
        f"The {what} read differently {len(seen)} times ({shown}): the serial line damages the chip's replies, so "
        "nothing is decided from them",
        hint="Nothing was written. Use shorter wires, connect GND directly, a better 3.3 V supply, then try again.",
    )


def _first_key_byte(session: Session) -> int | None:
    def once() -> int | None:
        try:
            return _efuse_byte(session, 0)
        except ProtocolError:
            return None  # a ROM that does not play along: nothing says M

    return agreed(once, "first eFuse key byte")


def _refuse(name: str | None, evidence: str) -> NoReturn:
    reason = NOT_FLASHED.get(name or "", "freebeken knows nothing about it")
    raise UnsupportedError(
        f"This chip is {'a ' + name if name else 'not one freebeken knows'} ({evidence}): {reason}, so freebeken "
        "stops before touching it",
        hint=f"Nothing was written. freebeken reads and flashes {', '.join(p.name for p in CHIPS.values())}; "
        "BK7231GUIFlashTool supports more Beken chips.",
    )


TUYA_KEY_WORD = 0x510FB093


def key_kind(word: int | None) -> str | None:
    """What an eFuse key word says about the code the chip runs, in ChipProfile.code_key's terms:
    "tuya", "zero" (code in clear), "other", or None when the key was not read."""
    return None if word is None else {TUYA_KEY_WORD: "tuya", 0: "zero"}.get(word, "other")


def _key_name(word: int | None) -> str | None:
    names = {"tuya": "Tuya's", "zero": "all zero (a BK7231M, or unreadable)"}
    return None if word is None else names.get(key_kind(word) or "", f"other (0x{word:08X}...)")


def read_key_word(session: Session, info: ChipInfo) -> int | None:
    """Fill ``info.key_word`` (once; 16 commands): asked only where it matters - before firmware is
    written, and by ``info`` - not by every backup, restore and verify."""
    if info.key_word is None and info.chip.efuse_readable:
        info.key_word = _efuse_key_word(session)
    return info.key_word


def _efuse_key_word(session: Session) -> int | None:
    """Read eFuse bytes 0..3 through the system controller: set the byte index and the start bit in
    CTRL, wait for the bit to clear, take the byte from OPTR (bit 8 = valid). The register protocol
    is the one BK7231GUIFlashTool uses; None when the chip does not play along. The value has no
    checksum and decides whether firmware is refused: read until two copies agree."""

    def once() -> int | None:
        word = 0
        try:
            for index in range(4):
                value = _efuse_byte(session, index)
                if value is None:
                    return None
                word |= value << (8 * index)
        except ProtocolError:
            return None
        return word

    return agreed(once, "eFuse code key")


def _efuse_byte(session: Session, index: int) -> int | None:
    ctrl = session.transact(c.ReadReg(SCTRL_EFUSE_CTRL))
    session.transact(c.WriteReg(SCTRL_EFUSE_CTRL, (ctrl & ~0x1F02) | index << 8 | 1))
    for _ in range(10):  # the start bit clears when the read is done
        if not session.transact(c.ReadReg(SCTRL_EFUSE_CTRL)) & 1:
            value = session.transact(c.ReadReg(SCTRL_EFUSE_OPTR))
            return value & 0xFF if value & 0x100 else None
    return None


def _probe(session: Session, cmd: c.Command) -> Any:
    """A command the loader may lack: silence (a short timeout) means None."""
    try:
        return session.transact(cmd, retries=1, timeout=0.15, probe=True)
    except ProtocolError:
        return None


def _size_by_wraparound(session: Session, chip: ChipProfile) -> int:
    """T cannot tell its flash id, but addresses wrap at the flash size: CRCs one flash size
    higher equal those at the start. One comparison is not enough - a blank region matches any
    other blank region, and a stale or foreign reply (another program on the port) can match by
    accident - so two regions of real content must both agree, asked twice."""
    refs = [(a, n, chip_crc(session, chip, a, n)) for a, n in ((0, 0x10000), (0x10000, 0x1000))]
    refs = [(a, n, crc) for a, n, crc in refs if crc != blank_crc(n)]  # the bootloader's code, normally
    if not refs:
        raise ProtocolError(
            "Could not determine the flash size: the bootloader region reads as blank",
            hint="That cannot be on a working BK7231T. Check the wiring and the supply, then try again.",
        )
    for mib in (1, 2, 4, 8, 16):
        size = mib << 20
        if all(chip_crc(session, chip, size + a, n) == crc for a, n, crc in refs):
            if all(chip_crc(session, chip, size + a, n) == crc and chip_crc(session, chip, a, n) == crc for a, n, crc in refs):
                return size
    raise ProtocolError("Could not determine the flash size", hint="Report this chip; it does not wrap at 1-16 MiB.")
