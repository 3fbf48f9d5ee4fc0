"""Identify the chip, its loader and its flash - using only commands each loader knows."""

from __future__ import annotations

from dataclasses import dataclass

from ..chips import BK7231N, BK7231T, BootloaderInfo, ChipProfile, FlashChip, bootloader_by_crc, flash_by_id
from ..errors import ProtocolError
from ..protocol import commands as c
from ..chips.layout import mac_from_tlv
from .ops import chip_crc, read_sector
from .session import Session

CHIP_ID_REG = 0x800000


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

    @property
    def protected(self) -> bool | None:
        if self.status_register is None or self.flash is None:
            return None
        return bool(self.status_register & self.flash.protect_mask)

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
        }


def identify(session: Session) -> ChipInfo:
    """Works on a freshly linked loader; leaves it linked (T: protection re-armed by CheckCRC)."""
    chip_id = _try_chip_id(session)
    chip = BK7231N if chip_id == BK7231N.chip_id else BK7231T
    loader_version = None
    if chip.supports(c.BootVersion):
        loader_version = session.transact(c.BootVersion(), retries=1)
    # bootloader by CRC: N's inclusive end covers 257 bytes, T's block rule 256
    raw = session.transact(c.CheckCrc(0, 256 if chip is BK7231N else 255))
    bl_crc = raw ^ 0xFFFFFFFF  # the peers' tables hold standard CRC-32
    flash_id = flash = sr = None
    if chip.supports(c.FlashGetMID):
        flash_id = session.transact(c.FlashGetMID())
        flash = flash_by_id(flash_id)
        ops = flash.sr_read_ops if flash else (0x05,)
        sr = 0
        for i, op in enumerate(ops[:2]):
            sr |= session.transact(c.FlashReadSR(op)) << (8 * i)
    size = flash.size if flash else (1 << flash_id[2] if flash_id and 18 <= flash_id[2] <= 25 else 0)
    if not size:
        size = _size_by_wraparound(session, chip)
    mac = mac_from_tlv(read_sector(session, chip, chip.mac_tlv)) if size > chip.mac_tlv else None
    return ChipInfo(chip, loader_version, bootloader_by_crc(bl_crc), bl_crc, chip_id, flash_id, flash, size, sr, mac)


def _try_chip_id(session: Session) -> int | None:
    """N's ROM answers ReadReg; T's bootloader ignores it (costs one short timeout)."""
    try:
        return session.transact(c.ReadReg(CHIP_ID_REG), retries=1, timeout=0.15, probe=True)
    except ProtocolError:
        return None


def _size_by_wraparound(session: Session, chip: ChipProfile) -> int:
    """T cannot tell its flash id: the address wraps at the flash size, so compare the
    bootloader's CRC (never blank on T) with the CRC one flash size higher."""
    ref = chip_crc(session, chip, 0, 0x1000)
    for mib in (1, 2, 4, 8, 16):
        size = mib << 20
        if chip_crc(session, chip, size, 0x1000) == ref:
            return size
    raise ProtocolError("Could not determine the flash size", hint="Report this chip; it does not wrap at 1-16 MiB.")

