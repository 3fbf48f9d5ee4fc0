"""The CRC the chip's CheckCRC returns.

The loader runs the reflected CRC-32 (poly 0xEDB88320) with init 0xFFFFFFFF and *no* final XOR,
i.e. the raw register. That is zlib's CRC-32 with the final inversion undone, so no table here.
"""

from __future__ import annotations

import zlib

_MASK = 0xFFFFFFFF


def beken_crc(data: bytes | bytearray | memoryview, register: int = _MASK) -> int:
    """Raw CRC register after feeding ``data``; chain by passing the previous result."""
    return zlib.crc32(data, register ^ _MASK) ^ _MASK


#: What CheckCRC answers for an erased (all 0xFF) 4 KiB sector.
BLANK_SECTOR_CRC = beken_crc(b"\xff" * 4096)


def blank_crc(length: int) -> int:
    """CheckCRC value of ``length`` erased bytes (cached for the sizes we use)."""
    return _blank_cache.get(length) or _blank_cache.setdefault(length, beken_crc(b"\xff" * length))


_blank_cache: dict[int, int] = {4096: BLANK_SECTOR_CRC}
