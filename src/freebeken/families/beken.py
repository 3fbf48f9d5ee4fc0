"""Beken behind the seam: an adapter over :class:`~freebeken.flasher.chipio.ChipIO`.

The Beken link (flasher/chipio.py, link/*) keeps doing Beken's work - relinking a BK7231T after a CRC,
lifting and restoring SR protection, stepping the baud rate down on a bad line; this adapter gives the
operations written once over the seam (the backup engine, flasher/backup_engine.py) what they ask of
every family, plus the optional capabilities Beken's speed depends on: a read that reuses the CRC just
asked, the line's round trip (block-wise blank checks behind a slow adapter) and its retry count (a
blank run is confirmed twice once the line showed errors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..chips import ChipProfile
from ..link.identify import ChipInfo
from ..protocol.crc import beken_crc
from .base import SECTOR, FamilySpec, Identity, LinkStats, Region

if TYPE_CHECKING:  # flasher/chipio.py takes Beken's regions from here
    from ..flasher.chipio import ChipIO


def beken_spec(chip: ChipProfile, size: int) -> FamilySpec:
    return FamilySpec(
        name=chip.name.lower(),
        family="beken-72xx",
        integrity="crc32",
        flash_size=size,
        regions=(
            Region("bootloader", 0, chip.app_start, "bootloader", restorable=chip.bootloader_writable),
            Region("application and data", chip.app_start, size - chip.app_start, "app"),
        ),
        obk_platform=f"Open{chip.name.upper()}",
        download_mode="None: the loader answers for a moment after every reset (freebeken pulses CEN or asks).",
        wiring=(("RX", "TX1"), ("TX", "RX1"), ("GND", "GND"), ("3.3V", "3.3V")),
    )


def beken_identity(info: ChipInfo) -> Identity:
    """A Beken chip as the seam names it. Its key is the one Beken backups and journals always had:
    ``BK7231N-<MAC>``, else a fingerprint of its own content, else its bootloader's CRC."""
    if info.fingerprint is not None:
        fallback = f"FP{info.fingerprint:08X}"
    else:
        fallback = f"BL{info.bootloader_crc:08X}"
    tag = info.mac.hex().upper() if info.mac else fallback
    flash = info.flash.name if info.flash else f"{info.flash_size // 0x100000}MiB"
    details = {"loader": info.loader_version or "", "flash": info.flash.name if info.flash else ""}
    return Identity(
        beken_spec(info.chip, info.flash_size),
        info.flash_size,
        info.mac,
        details,
        fallback_tag=fallback,
        chip_name=info.chip.name,
        stem=f"{info.chip.name}-{flash}-{tag}",
        facts=info.as_dict(),
    )


class BekenFamily:
    def __init__(self, io: ChipIO) -> None:
        self.io = io
        self.spec = beken_spec(io.chip, io.size)
        self.reporter = io.reporter

    def identify(self) -> Identity:
        return beken_identity(self.io.info)

    def read(self, address: int, length: int) -> bytes:
        return b"".join(self.io.read(a) for a in range(address, address + length, SECTOR))

    def read_expecting(self, address: int, length: int, digest: bytes) -> bytes:
        """One sector whose CRC was just asked: ChipIO proves the read against it without asking again."""
        if length != SECTOR:
            data = self.read(address, length)
            if self.local_digest(data) == digest:
                return data
            return self.read(address, length)  # the content changed since: what is there now, proven per sector
        return self.io.read(address, int.from_bytes(digest, "little"))

    def digest(self, address: int, length: int) -> bytes | None:
        return self.io.crc(address, length).to_bytes(4, "little")

    @staticmethod
    def local_digest(data: bytes) -> bytes:
        """Beken's CheckCRC is not zlib's CRC-32 (no final inversion): its own function."""
        return beken_crc(data).to_bytes(4, "little")

    def link_stats(self) -> LinkStats:
        return LinkStats(self.io.session.baudrate, self.io.session.retries_used)

    def round_trip(self) -> float:
        return self.io.session.round_trip()

    def write(self, address: int, data: bytes) -> None:
        self.io.prepare_write()
        for a in range(address, address + len(data), SECTOR):
            self.io.erase(a, SECTOR)
            self.io.write(a, data[a - address : a - address + SECTOR])

    def close(self) -> None:
        self.io.finish_write()
