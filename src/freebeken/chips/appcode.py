"""The Beken application image as it sits in flash: 32-byte blocks each followed by a CRC-16, and the
code encrypted word by word with an address-keyed stream. Pure.

Facts (from Beken's encrypt tool as documented in ltchiptool and bk7231tools, checked here against the
three real dumps): the CRC is CRC-16/CMS (poly 0x8005, init 0xFFFF, not reflected), big-endian after
each block; the application at flash 0x11000 is mapped at 0x10000 (the address without the CRC bytes);
Tuya's modules use the coefficients 510fb093 a3cbeadc 5993a17e c7adeb03. Each 32-bit little-endian
word is XORed with a keystream built from three address scramblers (15, 16 and 32 bits) and a
constant, each of which the fourth coefficient can switch off. The same XOR encrypts and decrypts.
"""

from __future__ import annotations

import array
import sys
from dataclasses import dataclass

APP_FLASH = 0x11000  # where the application's first block is in flash
APP_MAPPED = 0x10000  # the address the code is encrypted for
TUYA_KEY = (0x510FB093, 0xA3CBEADC, 0x5993A17E, 0xC7ADEB03)
BLOCK, STORED = 32, 34


def _crc_table() -> list[int]:
    table = []
    for n in range(256):
        crc = n << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return table


_TABLE = _crc_table()


def crc16_cms(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc


def add_crc(code: bytes) -> bytes:
    """The stored form of ``code``: padded with 0xFF to whole blocks, a CRC after each block."""
    code = code + b"\xff" * (-len(code) % BLOCK)
    out = bytearray()
    for off in range(0, len(code), BLOCK):
        block = code[off : off + BLOCK]
        out += block + crc16_cms(block).to_bytes(2, "big")
    return bytes(out)


def strip_crc(stored: bytes) -> tuple[bytes, int]:
    """The contiguous code of a CRC'd region up to the first blank block (the image's end), and how
    many blocks failed their CRC. A damaged block is kept in place so what follows stays aligned;
    the caller decides what damage means."""
    out = bytearray()
    damaged = 0
    blank = b"\xff" * STORED
    for off in range(0, len(stored) - STORED + 1, STORED):
        chunk = stored[off : off + STORED]
        if chunk == blank:
            break
        block = chunk[:BLOCK]
        if crc16_cms(block) != int.from_bytes(chunk[BLOCK:], "big"):
            damaged += 1
        out += block
    return bytes(out), damaged


def _bit(value: int, n: int) -> int:
    return (value >> n) & 1


def _pn15(a: int) -> int:
    return ((((a & 0x7F) << 9) | ((a >> 7) & 0x1FF)) ^ (0x6371 & (((a >> 5) & 0xF) * 0x1111))) & 0xFFFF


def _pn16(a: int) -> int:
    nib = (_bit(a, 1) << 3) | (_bit(a, 5) << 2) | (_bit(a, 9) << 1) | _bit(a, 13)
    mask = 0x13659 & ((_bit(a, 4) << 16) | nib * 0x1111)
    return ((((a & 0x3FF) << 7) | ((a >> 10) & 0x7F)) ^ mask) & 0x1FFFF


def _pn32(a: int) -> int:
    return ((((a & 0x7FFF) << 17) | (a >> 15)) ^ (0xE519A4F1 & (((a >> 2) & 0xF) * 0x11111111))) & 0xFFFFFFFF


def _rotr(value: int, n: int) -> int:
    return ((value >> n) | (value << (32 - n))) & 0xFFFFFFFF if n else value


@dataclass(frozen=True)
class Cipher:
    coef: tuple[int, int, int, int]

    @property
    def bypass(self) -> bool:
        top = self.coef[3] >> 24
        return top in (0x00, 0xFF) or self.coef[3] & 0xF == 0xF

    def keystream(self, addr: int) -> int:
        c0, c1, c2, c3 = self.coef
        out = 0 if c3 & 8 else c2
        if not c3 & 1:
            b3, b2, b1, b0 = (addr >> 24) & 0xFF, (addr >> 16) & 0xFF, (addr >> 8) & 0xFF, addr & 0xFF
            sel = (c3 >> 5) & 3
            hi = (b2 << 8 | b3) if sel & 2 else (b3 << 8 | b2)
            lo = (b0 << 8 | b1) if sel & 1 else (b1 << 8 | b0)
            out ^= _pn15(hi ^ lo ^ (c1 >> 16)) << 16
        if not c3 & 2:
            sel = (c3 >> 8) & 3
            mix = ((c1 >> 8) & 0xFF) << 9 | _bit(c3, 4) << 8 | (c1 & 0xFF)
            out ^= _pn16(((addr >> sel) & 0x1FFFF) ^ mix) & 0xFFFF
        if not c3 & 4:
            out ^= _pn32(_rotr(addr, 8 * ((c3 >> 11) & 3)) ^ c0)
        return out

    def crypt(self, data: bytes, addr: int) -> bytes:
        """Encrypt or decrypt ``data`` (a multiple of 4 bytes) that is mapped at ``addr``."""
        if self.bypass:
            return bytes(data)
        words = array.array("I", data)  # 'I' is 32 bits on every platform CPython runs on
        if sys.byteorder == "big":
            words.byteswap()
        ks = self.keystream
        out = array.array("I", (w ^ ks(addr + 4 * i) for i, w in enumerate(words)))
        if sys.byteorder == "big":
            out.byteswap()
        return out.tobytes()


_MARKERS = (b"Jsonver:", b"module:", b",crc:")


def find_builtin_config(code: bytes) -> bytes | None:
    """The default ``user_param_key`` compiled into a decrypted application: a NUL-terminated
    ``{key:value,...}`` string holding a marker with a value after it. The firmware's tables of key
    names (``module:\\0cmod:\\0``) hold the same markers with nothing after them, so are passed over."""
    for marker in _MARKERS:
        pos = code.find(marker)
        while pos != -1:
            after = code[pos + len(marker) : pos + len(marker) + 1]
            if after not in (b"", b"\x00"):
                start = code.rfind(b"\x00", 0, pos) + 1
                end = code.find(b"\x00", pos)
                text = code[start : end if end != -1 else len(code)]
                if text.startswith(b"{") and b"}" in text:
                    return text[: text.rindex(b"}") + 1]
            pos = code.find(marker, pos + 1)
    return None


@dataclass
class AppCode:
    code: bytes  # decrypted, CRCs removed, mapped at APP_MAPPED
    damaged_blocks: int
    looks_like_code: bool  # the decrypted start is an ARM vector table: the key was right
    key: tuple[int, int, int, int] | None = None  # the key that gave code; None if none did


ZERO_KEY = (0, 0, 0, 0)  # stored in clear: BK7231M applications (their eFuse key is all zero)


def _vectors(code: bytes) -> bool:
    """Every BK7231 application starts with ARM exception vectors: a branch, then "ldr pc, [pc, #...]"."""
    return code[3:4] == b"\xea" and code[4:8] == b"\x14\xf0\x9f\xe5"


Key = tuple[int, int, int, int]
KEY_NAMES = {TUYA_KEY: "tuya", ZERO_KEY: "zero"}


def _is_stored(first: bytes) -> bool:
    """Is ``first`` (34 bytes) a Beken-stored unit: 32 bytes and their CRC (not blank, not raw)?"""
    return len(first) >= STORED and crc16_cms(first[:BLOCK]) == int.from_bytes(first[BLOCK:STORED], "big")


def _key_of(first: bytes, keys: tuple[Key, ...]) -> Key | None:
    """The first of ``keys`` under which the first unit decrypts to ARM vectors, if any."""
    return next((k for k in keys if _vectors(Cipher(k).crypt(first[:BLOCK], APP_MAPPED))), None)


def read_app(image: bytes, end: int, keys: tuple[Key, ...] = (TUYA_KEY, ZERO_KEY)) -> AppCode | None:
    """Decrypt the application stored from APP_FLASH up to ``end`` in a flash image, with the first
    of ``keys`` under which its start is code (only its first block is tried with each)."""
    first = image[APP_FLASH : APP_FLASH + STORED]
    if not _is_stored(first):
        return None  # not a Beken-stored application (blank, or written without CRCs)
    key = _key_of(first, keys)
    stored, damaged = strip_crc(image[APP_FLASH:end])
    stored = stored[: len(stored) // 4 * 4]
    if key is None:
        return AppCode(stored, damaged, False)
    return AppCode(Cipher(key).crypt(stored, APP_MAPPED), damaged, True, key)


def stored_key(stored: bytes) -> str | None:
    """Under which key the application whose first stored bytes (at least one 34-byte unit, as
    at flash 0x11000 or 0x11000 bytes into a QIO file) were encrypted: "tuya", "zero" (in clear),
    or None (not a Beken-stored application, or another key). What the bytes say about the chip
    they were made for, whatever the file is called."""
    first = stored[:STORED]
    key = _key_of(first, tuple(KEY_NAMES)) if _is_stored(first) else None
    return KEY_NAMES[key] if key else None
