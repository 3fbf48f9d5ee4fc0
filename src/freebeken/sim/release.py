"""A stand-in OpenBeken release file for the simulators (no OpenBeken code inside): shaped as the
firmware's build makes the real ones, so that freebeken's content checks see what they would see.

Facts (the SDK's build.sh and the packager's config.json, as OpenBeken's build runs them): the
application is encrypted for address 0x10000 and stored with a CRC-16 after every 32 bytes; the
``_UA_`` file is that stored application alone (written at 0x11000), the ``_QIO_`` file is the
bootloader's 0x11000 bytes followed by it. The code starts with ARM exception vectors and holds the
build's name (``DEVICENAME_PREFIX_FULL``, e.g. "OpenBK7231T") and version as strings.
"""

from __future__ import annotations

import random
from pathlib import Path

from ..chips import appcode
from ..chips.profiles import ChipProfile

VECTORS = bytes.fromhex("0e0000ea") + bytes.fromhex("14f09fe5") * 7  # b 0x40; ldr pc, [pc, #0x14] x 7


def standin_code(chip: ChipProfile, version: str, size: int, seed: int = 0) -> bytes:
    """``size`` bytes of plain 'code': vectors, random words, the build's name and version."""
    code = bytearray(random.Random(f"{chip.name}-{seed}-release").randbytes(size - size % 4))
    code[: len(VECTORS)] = VECTORS
    marker = f"\0Open{chip.obk_platform}\0{version}\0".encode()
    code[0x100 : 0x100 + len(marker)] = marker
    return bytes(code)


def standin_app(chip: ChipProfile, version: str = "1.17.0", size: int = 0x80000, seed: int = 0) -> bytes:
    """The application as a release stores it (what ends up at 0x11000): encrypted, CRC'd."""
    key = appcode.TUYA_KEY if chip.code_key == "tuya" else appcode.ZERO_KEY
    return appcode.add_crc(appcode.Cipher(key).crypt(standin_code(chip, version, size, seed), appcode.APP_MAPPED))


def standin_release(chip: ChipProfile, folder: Path, version: str = "1.17.0", size: int = 0x80000, seed: int = 0) -> Path:
    """Write ``<prefix><version>.bin`` for ``chip`` into ``folder`` (``size`` bytes of code)."""
    stored = standin_app(chip, version, size, seed)
    path = folder / f"{chip.firmware_prefix}{version}.bin"
    folder.mkdir(parents=True, exist_ok=True)
    if chip.is_bim:
        path.write_bytes(stored)
    else:  # a stand-in bootloader, stored as the packager stores one, padded to the application
        boot = appcode.add_crc(b"freebeken simulator - stand-in bootloader, not Beken code".ljust(0x4000, b"\0"))
        path.write_bytes(boot.ljust(appcode.APP_FLASH, b"\xff") + stored)
    return path
