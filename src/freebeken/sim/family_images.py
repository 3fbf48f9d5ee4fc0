"""Flash contents for the non-Beken simulators: a stock-like Tuya flash (shared firmware and bootloader,
device-unique calibration and key-value data) and OpenBeken-like release images with the structure
freebeken recognises (families/images.py). Deterministic from the seed; never real firmware."""

from __future__ import annotations

import random
import struct
import zlib

SIZE = 0x200000
RTL_PATTERN = bytes.fromhex("999996963FCC66FCC033CC03E5DC3162")


def _noise(tag: str, n: int) -> bytes:
    return random.Random(tag).randbytes(n)


def ln_boot_header(length: int) -> bytes:
    """LN882H boot header: target address, length, CRC offset, CRC, vector, CRP flag, header CRC-32."""
    head = struct.pack("<I2H3I", 0x20000000, length, 0, 0, 0x20000100, 0)
    return head + struct.pack("<I", zlib.crc32(head))


def ln_partition_table(entries: list[tuple[int, int, int]]) -> bytes:
    out = bytearray()
    for kind, start, size in entries:
        head = struct.pack("<3I", kind, start, size)
        out += head + struct.pack("<I", zlib.crc32(head))
    return bytes(out)


LN_TABLE = [(8, 0x6000, 0x1000), (0, 0x7000, 0x12C000), (1, 0x133000, 0xAA000), (3, 0x1DD000, 0x3000), (2, 0x1E0000, 0x4000)]


def _place(img: bytearray, address: int, data: bytes) -> None:
    img[address : address + len(data)] = data


def stock_image(chip: str, seed: int, mac: bytes) -> bytearray:
    img = bytearray(b"\xff" * SIZE)
    unique = f"{chip}-{seed}-{mac.hex()}"
    if chip == "rtl8720cf":
        _place(img, 0x0, RTL_PATTERN + _noise("rtl-ptable", 0x1F0))
        _place(img, 0x1000, _noise("rtl-system", 0x40))
        _place(img, 0x2000, _noise(unique + "cal", 0x200))
        _place(img, 0x4000, _noise("rtl-tuya-boot", 0x6800))
        _place(img, 0xC000, _noise("rtl-tuya-app", 0xB0000))
        _place(img, 0x1FC000, mac + _noise(unique + "kv", 0x800))
    else:
        _place(img, 0x0, ln_boot_header(0x5000) + _noise("ln-tuya-boot", 0x5000))
        _place(img, 0x6000, ln_partition_table(LN_TABLE))
        _place(img, 0x7000, _noise("ln-tuya-app", 0xC0000))
        _place(img, 0x1DD000, _noise(unique + "nvds", 0x300))
        _place(img, 0x1E0000, mac + _noise(unique + "kv", 0x600))
    return img


def release_image(chip: str, version: str = "1.18.230") -> bytes:
    """An OpenBeken-like whole-flash release file (what {platform}_{version}.bin holds, in shape)."""
    if chip == "rtl8720cf":
        img = bytearray(b"\xff" * 0xD0000)
        _place(img, 0x0, RTL_PATTERN + _noise("obk-rtl-ptable", 0x1F0))
        _place(img, 0x4000, _noise("obk-rtl-boot", 0x6000))
        _place(img, 0xC000, _noise(f"obk-rtl-app-{version}", 0xC0000))
        return bytes(img)
    img = bytearray(b"\xff" * 0xE0000)
    _place(img, 0x0, ln_boot_header(0x5000) + _noise("obk-ln-boot", 0x5000))
    _place(img, 0x6000, ln_partition_table(LN_TABLE))
    _place(img, 0x7000, _noise(f"obk-ln-app-{version}", 0xD0000))
    return bytes(img)
