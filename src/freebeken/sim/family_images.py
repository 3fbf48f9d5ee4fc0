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


# Where Tuya's firmware keeps its encrypted key-value store (the device's pin configuration) on these
# chips: BK7231GUIFlashTool's usual magic positions (Utils/TuyaConfig.cs: RTLC 1921024, LN882H 2015232).
TUYA_KV_AT = {"rtl8720cf": 0x1D5000, "ln882h": 0x1EC000}
# A plug as Tuya configures it, in the config's own pin numbers: relay, LED, button.
STOCK_CONFIG: dict[str, dict[str, str | int]] = {
    "rtl8720cf": {
        "Jsonver": "1.0.0",
        "module": "WBR3",
        "rl1_pin": 18,
        "rl1_lv": 1,
        "led1_pin": 13,
        "led1_lv": 1,
        "bt1_pin": 14,
        "bt1_lv": 0,
    },
    "ln882h": {
        "Jsonver": "1.0.0",
        "module": "WL2S",
        "rl1_pin": 11,
        "rl1_lv": 1,
        "led1_pin": 10,
        "led1_lv": 0,
        "bt1_pin": 7,
        "bt1_lv": 0,
    },
}


def tuya_store(config: dict[str, str | int], seed: str) -> bytes:
    """Tuya's encrypted key-value store holding ``config`` as its user_param_key."""
    from ..tuya.builder import upk_text
    from ..tuya.kv import encode

    return encode({"user_param_key": upk_text(config).encode()}, _noise(seed + "devkey", 16), blocks=4)


def stock_image(chip: str, seed: int, mac: bytes, config: dict[str, str | int] | None = None) -> bytearray:
    """``config``: the Tuya configuration in the store (None: the chip's plug in STOCK_CONFIG; {}: no store)."""
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
    config = STOCK_CONFIG[chip] if config is None else config
    if config:
        _place(img, TUYA_KV_AT[chip], tuya_store(config, unique))
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
