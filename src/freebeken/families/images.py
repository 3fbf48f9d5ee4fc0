"""Which family a firmware file is for, from its bytes (names are witnesses only).

* AmebaZ2 whole-flash images (OpenRTL87X0C_*.bin = the SDK's flash_is.bin) start with the 16-byte
  flash calibration pattern the ROM looks for (ltchiptool soc/ambz2/parse_partition.py).
* LN882H whole-flash images (OpenLN882H_*.bin = the SDK's flashimage.bin) start with a boot header whose
  last word is the CRC-32 of the 20 bytes before it, and hold the partition table at 0x6000: 16-byte
  entries (type, start, size, CRC-32 of those 12 bytes) (ltchiptool soc/ln882h/util/models).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from ..errors import SafetyError, UsageError
from ..flasher.verdict import Verdict
from .base import FamilySpec, Region

RTL_PATTERN = bytes.fromhex("999996963FCC66FCC033CC03E5DC3162")


def _ln882h(data: bytes) -> bool:
    if len(data) < 0x6010 or struct.unpack_from("<I", data, 20)[0] != zlib.crc32(data[:20]):
        return False
    kind, start, size, crc = struct.unpack_from("<4I", data, 0x6000)
    return crc == zlib.crc32(data[0x6000:0x600C]) and kind <= 8


def image_family(data: bytes) -> str | None:
    if data[:16] == RTL_PATTERN:
        return "rtl8720cf"
    if _ln882h(data):
        return "ln882h"
    if data[:4] in (b"\x2f\x07\x79\x09",) or data[:3] == b"RBL" or b"BK7231" in data[:0x1000]:
        return "beken"
    return None


def check_image(spec: FamilySpec, name: str, data: bytes, flash_size: int) -> None:
    """Refuse, before anything is written, a file that is not a whole-flash image for this chip."""
    found = image_family(data)
    if found != spec.name:
        what = f"an image for {found}" if found else "not an image freebeken recognises"
        raise SafetyError(
            f"{name} is {what}, and this chip is an {spec.name.upper()}",
            hint=f"Use OpenBeken's {spec.release_name('<version>')} for this chip (`freebeken firmware list`).",
        )
    if len(data) > flash_size:
        raise UsageError(f"{name} is {len(data)} bytes, larger than the {flash_size // 1024} KiB flash")


class FamilyContent:
    """The hook of a family that keeps its device-unique data in flash regions (``Region.keep``) for
    the rules every family shares (flasher/verdict.py). ``kept`` holds what the chip has in each such
    region, as ``comparable`` turns bytes into (a digest, or the bytes themselves on a readback
    family)."""

    def __init__(
        self, spec: FamilySpec, mac: bytes | None, kept: dict[Region, bytes | None], comparable: Callable[[bytes], bytes | None]
    ) -> None:
        self.spec, self.mac, self.kept, self.comparable = spec, mac, kept, comparable
        self.chip_name = spec.name

    def recognise(self, verdict: Verdict) -> None:
        found = image_family(verdict.image)
        verdict.chip = found
        if found != self.spec.name:
            what = f"it holds an image for {found}" if found else f"its first bytes are no {self.spec.name} layout"
            verdict.refusal = f"it is not a backup of an {self.spec.name.upper()} ({what})"
            verdict.hint = "Restore the backup freebeken made of this device."

    def same_device(self, verdict: Verdict) -> None:
        for region, ours in self.kept.items():
            theirs = self.comparable(verdict.image[region.start : region.end])
            blank = self.comparable(b"\xff" * region.size)
            if theirs != ours and blank not in (theirs, ours):
                verdict.other_device.append(f"its {region.name} (0x{region.start:X}) differs from this chip's")
