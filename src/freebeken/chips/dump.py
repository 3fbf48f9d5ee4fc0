"""Flash-dump level facts: shape (full, rotated, partial), chip, bootloader, firmware, MAC,
plaintext config copies. Pure. (The OpenBeken config sector is ``firmware.obkconfig``.)"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from . import appcode
from .layout import mac_from_tlv
from .profiles import CHIPS, bootloader_by_crc

FLASH = 0x200000
ROTATION = 0x11000
RBL_APP = 0x129F0A
#: One chip per flash layout (the chips of one layout share these addresses): where the RF
#: calibration / MAC sector is, and the Beken "NET info" sector after it (fast-connect data on
#: stock, the OpenBeken configuration after). Which chip of a layout a dump is: :func:`which_chips`.
TLV = {chip.name: chip.mac_tlv for chip in {c.mac_tlv: c for c in reversed(CHIPS.values())}.values()}
NET_SECTOR = {chip.name: chip.obk_config for chip in {c.obk_config: c for c in reversed(CHIPS.values())}.values()}
#: Where stock firmware keeps the RF/MAC sector instead (Tuya T1: 0x1E3000), and the chips that do.
STOCK_RF = {a: [c.name for c in CHIPS.values() if a in c.stock_rf] for c0 in CHIPS.values() for a in c0.stock_rf}


@dataclass
class Shape:
    kind: str  # "full", "rotated", "partial"
    image: bytes  # flash-aligned for full/rotated; the raw window for partial
    notes: list[str] = field(default_factory=list)


def _marks_at(data: bytes, shift: int) -> bool:
    """Does ``data`` hold a layout landmark (application header, RF TLV) ``shift`` bytes early?"""
    if data[RBL_APP - shift : RBL_APP - shift + 4] == b"RBL\x00":
        return True
    return any(data[a - shift : a - shift + 4] == b"TLV\x00" for a in (*TLV.values(), *STOCK_RF))


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
    """The first chip (T or N) of the layout whose RF calibration sector ``image`` holds: enough
    for addresses, which the chips of one layout share."""
    for chip, address in TLV.items():
        if image[address : address + 4] == b"TLV\x00":
            return chip
    return None


@dataclass
class ChipGuess:
    chips: list[str]  # the chips the content allows, in CHIPS order; empty if it contradicts itself
    evidence: list[str]  # what narrowed it, one phrase each
    conflict: str = ""

    @property
    def name(self) -> str:
        return " or ".join(self.chips)


def which_chips(image: bytes) -> ChipGuess | None:
    """Which chips a flash-ordered whole image can belong to, from what its bytes say: the
    position of its RF calibration sector, a known bootloader, the OpenBeken configuration's
    position, and the key its application is stored under. None: nothing Beken-like in it."""
    clues: list[tuple[str, set[str]]] = []
    for address in sorted(set(TLV.values())):
        if image[address : address + 4] == b"TLV\x00":
            clues.append((f"RF calibration TLV at 0x{address:X}", {c.name for c in CHIPS.values() if c.mac_tlv == address}))
    for address, names in STOCK_RF.items():
        if image[address : address + 4] == b"TLV\x00":
            clues.append((f"RF calibration TLV at 0x{address:X} (stock Tuya T1 layout)", set(names)))
    name, crc = bootloader(image)
    known = bootloader_by_crc(crc) if name else None
    if known:
        clues.append((f"bootloader {known.name}", {known.chip}))
    for address in sorted(set(NET_SECTOR.values())):
        if image[address : address + 3] == b"CFG":
            clues.append(
                (f"OpenBeken configuration at 0x{address:X}", {c.name for c in CHIPS.values() if c.obk_config == address})
            )
    if not clues:
        return None
    key = appcode.stored_key(image[appcode.APP_FLASH : appcode.APP_FLASH + 0x100])
    if key:
        said = "under Tuya's key" if key == "tuya" else "in clear (no key)"
        clues.append((f"application stored {said}", {c.name for c in CHIPS.values() if c.code_key in (key, None)}))
    allowed = {c.name for c in CHIPS.values()}
    for _why, chips in clues:
        if not allowed & chips:
            others = "; ".join(f"{w} suggests {' or '.join(sorted(c))}" for w, c in clues)
            return ChipGuess([], [w for w, _ in clues], f"its content contradicts itself: {others}")
        allowed &= chips
    return ChipGuess([c.name for c in CHIPS.values() if c.name in allowed], [w for w, _ in clues])


def bootloader(image: bytes) -> tuple[str | None, int]:
    """Identify by the CRC-32 of the first 256 bytes (T) or 257 bytes (N), as the peers do."""
    for span in (256, 257):
        crc = zlib.crc32(image[:span])
        known = bootloader_by_crc(crc)
        if known:
            return known.name, crc
    return None, zlib.crc32(image[:256])


def rf_sector(image: bytes, chip: str) -> int | None:
    """Where ``image`` holds the chip's RF calibration / MAC TLV: OpenBeken's place first, then the
    places stock firmware uses (a Tuya T1 keeps it at 0x1E3000). None: in neither."""
    profile = CHIPS.get(chip.lower())
    for address in (profile.mac_tlv, *profile.stock_rf) if profile else ():
        if image[address : address + 4] == b"TLV\x00":
            return address
    return None


def mac(image: bytes, chip: str) -> bytes | None:
    address = rf_sector(image, chip)
    return mac_from_tlv(image[address : address + 0x30]) if address is not None else None


def rf_plan(image: bytes, chip: str) -> str | None:
    """What flashing OpenBeken does about this dump's RF calibration, on chips whose stock firmware
    may keep it elsewhere than OpenBeken reads it; None where nothing needs saying."""
    profile = CHIPS.get(chip.lower())
    if profile is None or not profile.stock_rf:
        return None
    obk = profile.mac_tlv
    stock = [a for a in profile.stock_rf if image[a : a + 4] == b"TLV\x00"]
    if image[obk : obk + 4] == b"TLV\x00":
        return None  # OpenBeken finds it where it looks
    if stock:
        where = " and ".join(f"0x{a:X}" for a in stock)
        blank = image[obk : obk + 0x1000] == b"\xff" * 0x1000
        if not blank:
            return (
                f"stock Tuya T1 layout: the RF calibration and MAC are at {where}, and 0x{obk:X} (where OpenBeken "
                "reads them) holds something else: `freebeken flash` leaves it alone, so OpenBeken would run "
                "uncalibrated with a made-up MAC"
            )
        return (
            f"stock Tuya T1 layout: the RF calibration and MAC are at {where}, OpenBeken reads them at 0x{obk:X}: "
            f"`freebeken flash` copies them there from this chip's backup (verified) and leaves {where} as it is; "
            "`freebeken restore` of this dump puts the stock layout back"
        )
    return (
        f"no RF calibration at 0x{obk:X} nor at "
        + ", ".join(f"0x{a:X}" for a in profile.stock_rf)
        + ": OpenBeken would run uncalibrated with a made-up MAC"
    )


def plaintext_configs(data: bytes) -> dict[str, bytes]:
    """Plain copies of the config that Tuya keeps in its "UF" user files (``oem_cfg``,
    ``user_param_key``, ``json``): found by shape, a sector starting with ``{key:...``."""
    found: dict[str, bytes] = {}
    for off in range(0, len(data) - 0x1000 + 1, 0x1000):
        text = data[off : off + 0x1000].split(b"\x00", 1)[0]
        if text.startswith(b"{") and b"}" in text and any(m in text for m in (b",crc:", b"Jsonver:", b"module:")):
            found[f"plaintext copy at file offset 0x{off:X}"] = text[: text.rindex(b"}") + 1]
    return found
