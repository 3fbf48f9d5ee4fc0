"""Flash-dump level facts: shape (full, rotated, partial), chip, bootloader, firmware, MAC,
plaintext config copies and an OpenBeken config sector. Pure."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from ..chips.layout import mac_from_tlv
from ..chips.profiles import CHIPS, bootloader_by_crc

FLASH = 0x200000
ROTATION = 0x11000
RBL_APP = 0x129F0A
NET_SECTOR = {"BK7231T": 0x1E1000, "BK7231N": 0x1D1000}
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


# ---- OpenBeken configuration sector (reference tuya-storage §7) ----


def tiny_crc8(data: bytes, signed: bool) -> int:
    crc = 0
    for byte in data:
        extract = byte
        for _ in range(8):
            total = (crc ^ extract) & 1
            crc >>= 1
            if total:
                crc ^= 0x8C
            if signed and extract & 0x80:  # arithmetic shift of a negative char keeps the sign bit
                extract = (extract >> 1) | 0x80
            else:
                extract >>= 1
        crc &= 0xFF
    return crc


@dataclass
class ObkConfig:
    version: int
    crc_ok: bool
    short_name: str
    long_name: str
    mqtt_host: str
    mqtt_port: int
    mqtt_client: str
    mqtt_user: str
    roles: list[int]
    channels: list[int]
    startup: str
    flags: int
    wifi_ssid: str
    secrets: dict[str, str]


def _text(sector: bytes, off: int, size: int) -> str:
    return sector[off : off + size].split(b"\x00")[0].decode("utf-8", "replace")


def obk_config(sector: bytes) -> ObkConfig | None:
    if sector[:3] != b"CFG":
        return None
    version = struct.unpack_from("<I", sector, 4)[0]
    length = 2016 if version <= 3 else 3584
    body = sector[4:length]
    crc_ok = sector[3] in (tiny_crc8(body, False), tiny_crc8(body, True))
    flags = struct.unpack_from("<I", sector, 8)[0] | struct.unpack_from("<I", sector, 0x0C)[0] << 32
    return ObkConfig(
        version=version,
        crc_ok=crc_ok,
        short_name=_text(sector, 0x2DE, 32),
        long_name=_text(sector, 0x2FE, 64),
        mqtt_host=_text(sector, 0x94, 256),
        mqtt_port=struct.unpack_from("<i", sector, 0x294)[0],
        mqtt_client=_text(sector, 0x194, 64),
        mqtt_user=_text(sector, 0x1D4, 64),
        roles=list(sector[0x33E : 0x33E + 32]),
        channels=list(sector[0x35E : 0x35E + 32]),
        startup=_text(sector, 0x5E0, 1568),
        flags=flags,
        wifi_ssid=_text(sector, 0x14, 64),
        secrets={"wifi_pass": _text(sector, 0x54, 64), "mqtt_pass": _text(sector, 0x214, 128)},
    )


def build_obk_config(
    roles: dict[int, int], channels: dict[int, int], *, short_name: str = "obk", long_name: str = "OpenBeken",
    mqtt_host: str = "", mqtt_port: int = 1883, mqtt_client: str = "", startup: str = "", flags: int = 1024,
    wifi_ssid: str = "", wifi_pass: str = "",
) -> bytes:  # fmt: skip
    """A CFG sector as OBK writes it (version 5), for tests and the simulator."""
    s = bytearray(0x1000)
    s[:3] = b"CFG"
    struct.pack_into("<IQ", s, 4, 5, flags)

    def put(off: int, size: int, text: str) -> None:
        raw = text.encode()[: size - 1]
        s[off : off + len(raw)] = raw

    put(0x14, 64, wifi_ssid)
    put(0x54, 64, wifi_pass)
    put(0x94, 256, mqtt_host)
    put(0x194, 64, mqtt_client or short_name)
    struct.pack_into("<i", s, 0x294, mqtt_port)
    put(0x2DE, 32, short_name)
    put(0x2FE, 64, long_name)
    for pin, role in roles.items():
        s[0x33E + pin] = role
    for pin, ch in channels.items():
        s[0x35E + pin] = ch
    put(0x5E0, 1568, startup)
    s[3] = tiny_crc8(bytes(s[4:3584]), False)
    return bytes(s)
