"""The RF calibration where OpenBeken reads it, on chips whose stock firmware keeps it elsewhere.

Tuya's T1 modules (BK7238) ship with the RF calibration and MAC sector at 0x1E3000 and 0x1E0000
erased; OpenBeken reads 0x1E0000 (docs/chips.md). Flashed as it is, a T1 would run OpenBeken
uncalibrated (poor Wi-Fi) with a made-up MAC. After OpenBeken is written and verified, the
chip's own sector is copied to 0x1E0000: taken from this chip's backup when one holds exactly
what the chip holds (else read from the chip, CRC-proven), written, and proven by CRC. The
original at 0x1E3000 is never touched, so a restore of the backup gives the stock layout back
byte for byte (it erases the copy again).
"""

from __future__ import annotations

from pathlib import Path

from .. import events
from ..chips.layout import mac_from_tlv
from ..errors import VerifyError
from ..protocol import beken_crc
from ..protocol.crc import BLANK_SECTOR_CRC
from .backup import find_backups
from .chipio import ChipIO
from .firmware import FirmwareImage
from .intent import WriteIntent
from .plan import SECTOR
from .write import write_image

TLV_MAGIC = b"TLV\x00"


def place_calibration(io: ChipIO, image: FirmwareImage) -> int | None:
    """Copy the stock RF/MAC sector to where OpenBeken reads it, if this chip needs it after
    ``image`` (an OpenBeken release) was written. Returns the address copied from, or None."""
    chip = io.chip
    target = chip.mac_tlv
    if not chip.stock_rf or image.kind == "raw" or io.size < target + SECTOR:
        return None
    if image.offset < target + SECTOR and image.end > target:
        return None  # the file itself covers OpenBeken's RF sector: what it holds is what was asked for
    here = io.crc(target, SECTOR)
    stock = [(a, crc) for a in chip.stock_rf if (crc := io.crc(a, SECTOR)) != BLANK_SECTOR_CRC]
    if not stock:
        if here == BLANK_SECTOR_CRC:
            places = ", ".join(f"0x{a:X}" for a in chip.stock_rf)
            events.warning(
                io.reporter,
                f"No RF calibration at 0x{target:X} nor at {places}: OpenBeken will run uncalibrated with a made-up MAC",
            )
        return None  # in OpenBeken's place already, or nothing to copy
    source, crc = stock[0]
    if here == crc:
        return None  # the copy is in place (an earlier flash made it)
    sector, origin = _from_backup(io, source, crc)
    if sector is None:
        sector, origin = io.read(source, crc), "read from the chip"
    if sector[:4] != TLV_MAGIC:
        return None  # not a calibration sector: nothing OpenBeken could use
    if here != BLANK_SECTOR_CRC:
        current = io.read(target, here)
        if not _unfinished_copy(current, sector):
            if current[:4] != TLV_MAGIC:
                events.warning(
                    io.reporter,
                    f"0x{target:X}, where OpenBeken reads the RF calibration, holds something "
                    "else: left as it is; OpenBeken will run uncalibrated with a made-up MAC",
                )
            return None  # a calibration of its own there: never overwritten
        events.info(io.reporter, f"0x{target:X} holds an unfinished copy of the RF calibration (interrupted): copying again")
    write_image(io, FirmwareImage(sector, target, chip.name, "rf"), None, WriteIntent("rf"))
    if io.crc(target, SECTOR) != beken_crc(sector):
        raise VerifyError(
            f"The RF calibration copied to 0x{target:X} does not read back right",
            hint=f"The original at 0x{source:X} is untouched. Run the flash again; if it repeats, restore the backup.",
        )
    mac = mac_from_tlv(sector)
    what = f"RF calibration and MAC {mac.hex(':').upper()}" if mac else "RF calibration"
    events.info(
        io.reporter,
        f"{what} copied from 0x{source:X} ({origin}) to 0x{target:X}, where OpenBeken "
        f"reads it; the original stays at 0x{source:X}",
    )
    return source


def _unfinished_copy(current: bytes, sector: bytes) -> bool:
    """Could ``current`` be ``sector`` half-programmed onto an erased sector? Programming only
    clears bits, so every bit ``sector`` has clear must be clear or still set - never the reverse."""
    want = int.from_bytes(sector, "little")
    return int.from_bytes(current, "little") & want == want


def _from_backup(io: ChipIO, address: int, crc: int) -> tuple[bytes | None, str]:
    """The sector from this chip's newest backup that holds exactly what the chip holds there."""
    for path in reversed(find_backups(io.info)):
        data = _read(path)
        if data is not None and len(data) == io.size:
            sector = data[address : address + SECTOR]
            if beken_crc(sector) == crc:
                return sector, f"from the backup {path.name}"
    return None, ""


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None
