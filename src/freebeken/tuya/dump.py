"""Flash-dump level facts: shape (full, rotated, partial), chip, bootloader, firmware, MAC,
plaintext config copies. Pure. (The OpenBeken config sector is ``firmware.obkconfig``.)"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from ..chips.layout import mac_from_tlv
from ..chips.profiles import CHIPS, bootloader_by_crc
from ..firmware.obkconfig import ADDRESS as OBK_CONFIG_AT

FLASH = 0x200000
ROTATION = 0x11000
RBL_APP = 0x129F0A
NET_SECTOR = OBK_CONFIG_AT  # Beken "NET info": fast-connect data on stock, the OpenBeken config after
TLV = {chip.name: chip.mac_tlv for chip in CHIPS.values()}  # RF calibration / MAC sector


@dataclass
class Shape:
    kind: str  # "full", "rotated", "partial"
    image: bytes  # flash-aligned for full/rotated; the raw window for partial
    notes: list[str] = field(default_factory=list)


def _marks_at(data: bytes, shift: int) -> bool:
    """Does ``data`` hold a layout landmark (application header, RF TLV) ``shift`` bytes early?"""
    if data[RBL_APP - shift : RBL_APP - shift + 4] == b"RBL\x00":
        return True
    return any(data[a - shift : a - shift + 4] == b"TLV\x00" for a in TLV.values())


def normalise(data: bytes) -> Shape:
    if len(data) == FLASH:
        if _marks_at(data, 0):
            return Shape("full", data)
        if _marks_at(data, ROTATION):
            fixed = data[FLASH - ROTATION :] + data[: FLASH - ROTATION]
            return Shape("rotated", fixed, ["the dump starts at flash 0x11000 (read by an older tool); rotated back"])
        return Shape("full", data, ["no application header at 0x129F0A; assuming the dump starts at 0x0"])
    return Shape("partial", data, [f"partial dump of {len(data) // 1024} KiB: only the config area can be read"])


@dataclass
class Rbl:
    name: str
    version: str


def rbl_header(image: bytes, offset: int = RBL_APP) -> Rbl | None:
    head = image[offset : offset + 96]
    if len(head) < 96 or head[:4] != b"RBL\x00":
        return None
    return Rbl(_printable(head[12:28]), _printable(head[28:52]))


def _printable(field: bytes) -> str:
    """The leading printable ASCII of a fixed-size text field (they are not always NUL-terminated)."""
    out = bytearray()
    for b in field:
        if not 0x20 <= b < 0x7F:
            break
        out.append(b)
    return out.decode("ascii")


def chip_by_layout(image: bytes) -> str | None:
    for chip, address in TLV.items():
        if image[address : address + 4] == b"TLV\x00":
            return chip
    return None


def family_evidence(image: bytes) -> dict[str, list[str]]:
    """Chip family -> what in a flash-ordered whole image says so (empty: nothing Beken-like)."""
    found: dict[str, list[str]] = {}
    for chip, address in TLV.items():
        if image[address : address + 4] == b"TLV\x00":
            found.setdefault(chip, []).append(f"RF calibration TLV at 0x{address:X}")
    name, crc = bootloader(image)
    known = bootloader_by_crc(crc) if name else None
    if known:
        found.setdefault(known.chip, []).append(f"bootloader {known.name}")
    for chip, address in NET_SECTOR.items():
        if image[address : address + 3] == b"CFG":
            found.setdefault(chip, []).append(f"OpenBeken configuration at 0x{address:X}")
    return found


def bootloader(image: bytes) -> tuple[str | None, int]:
    """Identify by the CRC-32 of the first 256 bytes (T) or 257 bytes (N), as the peers do."""
    for span in (256, 257):
        crc = zlib.crc32(image[:span])
        known = bootloader_by_crc(crc)
        if known:
            return known.name, crc
    return None, zlib.crc32(image[:256])


def mac(image: bytes, chip: str) -> bytes | None:
    return mac_from_tlv(image[TLV[chip] : TLV[chip] + 0x30]) if chip in TLV else None


def plaintext_configs(data: bytes) -> dict[str, bytes]:
    """Plain copies of the config that Tuya keeps in its "UF" user files (``oem_cfg``,
    ``user_param_key``, ``json``): found by shape, a sector starting with ``{key:...``."""
    found: dict[str, bytes] = {}
    for off in range(0, len(data) - 0x1000 + 1, 0x1000):
        text = data[off : off + 0x1000].split(b"\x00", 1)[0]
        if text.startswith(b"{") and b"}" in text and any(m in text for m in (b",crc:", b"Jsonver:", b"module:")):
            found[f"plaintext copy at file offset 0x{off:X}"] = text[: text.rindex(b"}") + 1]
    return found
