"""RTL8720CF (Realtek AmebaZ2) behind the seam, through ltchiptool's AmbZ2Tool.

Integrity is the ROM's own SHA-256 (``hashq``): every read is proven per 64 KiB piece (a piece whose hash
disagrees is read again - ltchiptool alone stops there), every write by the chip's hash of the range."""

from __future__ import annotations

import hashlib
import io

from ..errors import LinkError
from .base import SECTOR, Identity
from .ltlink import LtFamily, contained, relink_either_rate, retrying
from .specs import RTL8720CF

PIECE = 0x10000
ATTEMPTS = 6


class AmbZ2Family(LtFamily):
    spec = RTL8720CF
    #: backups ask one SHA-256 per 64 KiB (0.25 s at 1.5 Mbaud, most of it the ROM's hash-offset change)
    #: and read only what is not blank (2.3 s per 64 KiB of hex dump)
    backup_unit = PIECE

    def __init__(self, port: str, *, baudrate: int | None = None, timeout: float = 15.0) -> None:
        from ltchiptool.soc.ambz2.util.ambz2tool import AmbZ2Tool

        super().__init__(AmbZ2Tool, port, baudrate, timeout)

    def identify(self) -> Identity:
        if self.identity is not None:
            return self.identity
        from ltchiptool.soc.amb.efuse import efuse_physical_to_logical
        from ltchiptool.soc.ambz2.util.ambz2code import AMBZ2_CODE_EFUSE_READ
        from ltchiptool.soc.ambz2.util.ambz2tool import AMBZ2_CHIP_TYPE, AMBZ2_CODE_ADDR, AMBZ2_DATA_ADDR, AmbZ2FlashMode

        tool = self.tool
        self._link()
        with contained():
            retrying(
                "Changing the baud rate",
                lambda: tool.change_baudrate(self.baudrate),
                ATTEMPTS,
                lambda: relink_either_rate(tool, self.baudrate),
            )
            retrying("Reading the flash mode", lambda: tool.flash_init(configure=False), ATTEMPTS, self._recover)

            def efuse() -> bytes:
                tool.register_write_bytes(AMBZ2_CODE_ADDR, AMBZ2_CODE_EFUSE_READ)
                tool.memory_boot(AMBZ2_CODE_ADDR, force_find=True)
                return b"".join(tool.memory_read(AMBZ2_DATA_ADDR, 512, use_flash=False))

            phys = retrying("Reading the eFuse", efuse, ATTEMPTS, self._recover)
        logical = efuse_physical_to_logical(phys)
        mac = bytes(logical[0x11A : 0x11A + 6])
        size = 0x200000 if tool.flash_mode == AmbZ2FlashMode.RTL8720CF else 0x400000
        chip_type = AMBZ2_CHIP_TYPE.get(phys[0x1F8], f"unknown 0x{phys[0x1F8]:02X}")
        if phys[0x1F8] != 0xFE:
            raise LinkError(f"This is a {chip_type}, not an RTL8720CF", hint="Pick the chip freebeken should flash with --chip.")
        self.identity = Identity(
            self.spec, size, None if mac == b"\xff" * 6 else mac, {"chip type": chip_type, "flash mode": tool.flash_mode.name}
        )
        return self.identity

    def read(self, address: int, length: int) -> bytes:
        self.identify()  # links (and loads the RAM flasher) on first use
        out = bytearray()
        for start in range(address, address + length, PIECE):
            n = min(PIECE, address + length - start)

            def piece(start: int = start, n: int = n) -> bytes:
                with contained():
                    return b"".join(self.tool.memory_read(start, n, use_flash=True, hash_check=True, hash_incremental=False))

            out += retrying(f"Reading 0x{start:06X}", piece, ATTEMPTS, self._recover)
        return bytes(out)

    def read_expecting(self, address: int, length: int, digest: bytes) -> bytes:
        """A range whose SHA-256 the ROM just gave: read without asking it again (no hash-offset change),
        proven by hashing what arrived here; read again when it disagrees, then the ROM-checked way."""
        self.identify()

        def plain() -> bytes:
            with contained():
                return b"".join(self.tool.memory_read(address, length, use_flash=True, hash_check=False))

        for _ in range(2):
            data = retrying(f"Reading 0x{address:06X}", plain, ATTEMPTS, self._recover)
            if hashlib.sha256(data).digest() == digest:
                return data
        return self.read(address, length)  # the digest itself may have been damaged: each piece proven anew

    def digest(self, address: int, length: int) -> bytes | None:
        self.identify()
        with contained():
            return retrying(
                f"Hashing 0x{address:06X}", lambda: self.tool.flash_read_hash(address, length), ATTEMPTS, self._recover
            )

    def write(self, address: int, data: bytes) -> None:
        assert address % SECTOR == 0 and len(data) % SECTOR == 0
        self.identify()

        def send() -> None:
            with contained():
                self.tool.memory_write(address, io.BytesIO(data), use_flash=True, hash_check=True)

        retrying(f"Writing 0x{address:06X}", send, ATTEMPTS, self._recover)
