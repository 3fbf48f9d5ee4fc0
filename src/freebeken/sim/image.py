"""A realistic stock-like 2 MiB flash image for the simulator (no Tuya or Beken code inside: its
application is random words behind real exception vectors, stored encrypted and CRC'd as Beken does).

Layout follows the Tuya/Beken flash map (bootloader, encrypted app from 0x11000, blank OTA area,
RF/MAC TLV, NET sector, encrypted Tuya KV store holding the device configuration), about 45 %
blank like a real stock dump.
The bootloader region is filler whose first bytes are tuned so its CRC-32 equals that of a
known bootloader (T: BK7231S 1.0.5; N: BK7231N 1.0.1; U: 1.0.6; BK7238: T1 2.0.0): tools that identify the bootloader by CRC,
ours and the peers', then recognise the simulated chip as they would a real one.
"""

from __future__ import annotations

import functools
import random
import zlib

from ..chips import appcode
from ..chips.layout import mac_tlv_sector
from ..chips.profiles import BK7231T, ChipProfile
from ..tuya.builder import AOYCOCR_U3, CB2S_METERING_PLUG, upk_text, write_config

FLASH_SIZE = 0x200000
#: A known bootloader per chip (docs/chips.md); M and BK7252N have none on record, so theirs is
#: left as it falls out (tools then call it unknown, as they would a real one).
BOOTLOADER_CRC = {"BK7231T": 0xBA54C1B8, "BK7231N": 0xE14191BA, "BK7231U": 0x2739019F, "BK7238": 0xF42F8C32}
APP_END = 0x121000  # ~1 MiB of application
RBL_OFFSET = 0x129F0A


def forge_crc32(data: bytearray, pos: int, target: int) -> None:
    """Set data[pos:pos+4] so that zlib.crc32(data) == target.

    CRC-32 is affine over GF(2): crc(x) = crc(0) ^ L(x). Probe the 32 bit-columns of L and solve.
    """
    data[pos : pos + 4] = b"\x00\x00\x00\x00"
    base = zlib.crc32(data)
    columns = []
    for bit in range(32):
        data[pos + bit // 8] = 1 << (bit % 8)
        columns.append(zlib.crc32(data) ^ base)
        data[pos + bit // 8] = 0
    # Gaussian elimination: rows are (column value, bit-set of input bits producing it)
    rows = [(col, 1 << i) for i, col in enumerate(columns)]
    want = target ^ base
    solution = 0
    pivots: list[tuple[int, int]] = []
    for col, combo in rows:
        for pv, pc in pivots:
            if col ^ pv < col:
                col, combo = col ^ pv, combo ^ pc
        if col:
            pivots.append((col, combo))
            pivots.sort(reverse=True)
    for pv, pc in pivots:
        if want ^ pv < want:
            want, solution = want ^ pv, solution ^ pc
    if want:
        raise ValueError("CRC target not reachable")  # cannot happen: L is invertible
    data[pos : pos + 4] = solution.to_bytes(4, "little")


def build_stock_image(
    chip: ChipProfile = BK7231T,
    seed: int = 0,
    mac: bytes | None = None,
    config: dict[str, object] | None = None,
    builtin: dict[str, object] | None = None,
    stored: bool = True,
) -> bytearray:
    """``config``: the Tuya user_param_key keys to store (default: the seed's U3 plug on T, a
    metering plug on N); ``stored=False`` stores none. ``builtin``: a default config compiled into
    the application, which the firmware uses when none is stored."""
    rng = random.Random(f"{chip.name}-{seed}")
    img = bytearray(b"\xff" * FLASH_SIZE)

    def noise(start: int, end: int) -> None:
        img[start:end] = rng.randbytes(end - start)

    # bootloader: 32 KiB of code-like filler, CRC tuned over 256 (T) or 257 (N, inclusive end) bytes
    noise(0, 0x8000)
    img[0x40:0x80] = b"freebeken simulator - synthetic bootloader, not Beken code".ljust(0x40, b"\x00")
    span = 256 if chip.is_bim else 257  # the peers' tables: ROM chips' CRC covers 257 bytes
    if chip.name in BOOTLOADER_CRC:
        head = bytearray(img[:span])
        forge_crc32(head, 0xF0, BOOTLOADER_CRC[chip.name])
        img[:span] = head
    # application, stored as Beken does (encrypted, a CRC per 32 bytes), then its RBL trailer
    noise(chip.app_start, APP_END)  # keeps the generator's sequence (and so the MAC) as it always was
    key = appcode.TUYA_KEY if chip.code_key == "tuya" else appcode.ZERO_KEY
    img[chip.app_start : APP_END] = _application(chip.name, key, APP_END - chip.app_start, seed, upk_text(builtin or {}))
    img[RBL_OFFSET : RBL_OFFSET + 52] = b"RBL\x00" + bytes(8) + b"app".ljust(16, b"\x00") + b"1.0.5".ljust(24, b"\x00")
    # RF calibration / MAC TLV where the stock firmware keeps it (a Tuya T1: 0x1E3000, with
    # 0x1E0000 left erased); the NET sector after OpenBeken's place stays erased, as in all three real dumps
    mac = mac or bytes([0xC8, 0x47, 0x8C]) + rng.randbytes(3)
    tlv = mac_tlv_sector(mac)
    rf_at = chip.stock_rf[0] if chip.stock_rf else chip.mac_tlv
    img[rf_at : rf_at + len(tlv)] = tlv
    noise(rf_at + 0x100, rf_at + 0x400)
    # Tuya KV store with the device configuration, and the plaintext UF copy
    if config is None:
        config = AOYCOCR_U3 if chip.is_bim else CB2S_METERING_PLUG
    if stored:
        write_config(img, chip.name, config, seed=seed)
    return img


@functools.lru_cache(maxsize=16)
def _application(chip: str, key: tuple[int, int, int, int], size: int, seed: int, builtin: str) -> bytes:
    """Code-like ciphertext: ARM exception vectors first (as every real dump decrypts to), random
    words, and optionally a default ``user_param_key`` string compiled in, as some Tuya firmware
    has. Only the meaningful words are encrypted; random ciphertext decrypts to random anyway."""
    rng = random.Random(f"{chip}-{seed}-application")
    code_size = (size // appcode.STORED) * appcode.BLOCK - 0x1000  # some blank space before the end
    code = bytearray(rng.randbytes(code_size))
    cipher = appcode.Cipher(key)

    def place(offset: int, plain: bytes) -> None:
        plain += b"\x00" * (-len(plain) % 4)
        code[offset : offset + len(plain)] = cipher.crypt(plain, appcode.APP_MAPPED + offset)

    place(0, bytes.fromhex("0e0000ea") + bytes.fromhex("14f09fe5") * 7)
    if builtin != "{}":
        place(code_size * 3 // 4, b"\x00" + builtin.encode() + b"\x00")
    return appcode.add_crc(bytes(code)).ljust(size, b"\xff")
