"""Beken behind the seam, as a thin adapter over the existing :class:`~freebeken.flasher.chipio.ChipIO`.

The Beken flasher (flasher/*, link/*) keeps doing Beken's work unchanged; this adapter only shows that
its link answers the same questions as the other families'. Moving flasher/operations.py onto the seam
(so backup/flash/restore are written once for every family) is a later step.
"""

from __future__ import annotations

from ..flasher.chipio import ChipIO
from ..protocol.crc import beken_crc
from .base import SECTOR, FamilySpec, Identity, Region


def beken_spec(io: ChipIO) -> FamilySpec:
    chip = io.chip
    return FamilySpec(
        name=chip.name.lower(),
        family="beken-72xx",
        integrity="crc32",
        flash_size=io.size,
        regions=(
            Region("bootloader", 0, chip.app_start, "bootloader", restorable=chip.bootloader_writable),
            Region("application and data", chip.app_start, io.size - chip.app_start, "app"),
        ),
        obk_platform=f"Open{chip.name.upper()}",
        download_mode="None: the loader answers for a moment after every reset (freebeken pulses CEN or asks).",
        wiring=(("RX", "TX1"), ("TX", "RX1"), ("GND", "GND"), ("3.3V", "3.3V")),
    )


class BekenFamily:
    def __init__(self, io: ChipIO) -> None:
        self.io = io
        self.spec = beken_spec(io)

    def identify(self) -> Identity:
        info = self.io.info
        details = {"loader": info.loader_version or "", "flash": info.flash.name if info.flash else ""}
        return Identity(self.spec, info.flash_size, info.mac, details)

    def read(self, address: int, length: int) -> bytes:
        return b"".join(self.io.read(a) for a in range(address, address + length, SECTOR))

    def digest(self, address: int, length: int) -> bytes | None:
        return self.io.crc(address, length).to_bytes(4, "little")

    @staticmethod
    def local_digest(data: bytes) -> bytes:
        """Beken's CheckCRC is not zlib's CRC-32 (no final inversion): its own function."""
        return beken_crc(data).to_bytes(4, "little")

    def write(self, address: int, data: bytes) -> None:
        self.io.prepare_write()
        for a in range(address, address + len(data), SECTOR):
            self.io.erase(a, SECTOR)
            self.io.write(a, data[a - address : a - address + SECTOR])

    def close(self) -> None:
        self.io.finish_write()
